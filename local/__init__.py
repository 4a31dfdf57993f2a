"""The local stack behind `make run`: moto for S3/DynamoDB/SQS, a gateway and Lambda-like runtimes
that call the very handlers Lambda calls, all configured from template.yaml."""

import sys
from pathlib import Path

# The stack registers make run's key with the core layer's own code (pixelport.accounts), as the admin
# tool does; `python -m local` runs from the repository root, where the layer is not on the path.
_CORE_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "core")
if _CORE_LAYER not in sys.path:
    sys.path.append(_CORE_LAYER)
