"""`make fuzz`: the contract under fire against `make run` (schemathesis over /v1/openapi.json, and
Pillow's own test images through the API)."""
