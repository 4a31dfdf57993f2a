"""pixelport: the core package shared by every Lambda function (contract, sources, tasks, imaging)."""
