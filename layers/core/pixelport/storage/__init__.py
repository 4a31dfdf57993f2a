"""Connected storages (SPEC 5): the registry of an account's storages and their connectors."""
