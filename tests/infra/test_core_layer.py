"""The core layer's Makefile build (layers/core/Makefile) against the code and the template: the
botocore service models it keeps are the ones the functions make clients for, for the runtime the
template names."""

from __future__ import annotations

import re
from pathlib import Path

from local.template import Template

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "layers/core/Makefile").read_text()
# Run by operators from the repository with their own boto3 (README "Keys, scopes and rate limits"),
# never in a function: its CloudFormation client needs no model in the layer.
NOT_IN_FUNCTIONS = {ROOT / "layers/core/pixelport/admin.py"}


def make_variable(name: str) -> str:
    found = re.search(rf"^{name}\s*[:?]?=\s*(.*)$", MAKEFILE, re.MULTILINE)
    assert found, f"no {name} in layers/core/Makefile"
    return found.group(1).strip()


def services_the_functions_use() -> set[str]:
    sources = [
        path
        for folder in (ROOT / "layers/core/pixelport", ROOT / "functions")
        for path in folder.rglob("*.py")
        if path not in NOT_IN_FUNCTIONS
    ]
    # boto3-style `.client("s3")`, botocore's `create_client("s3")` and pixelport.aws's `_client("s3")`.
    client = re.compile(r"(?:\.client|create_client|\b_client)\(\s*[\"']([a-z0-9-]+)[\"']")
    return {name for path in sources for name in client.findall(path.read_text())}


def test_the_layer_keeps_the_model_of_every_service_the_functions_call() -> None:
    used = services_the_functions_use()
    assert {"s3", "dynamodb", "sqs", "kms"} <= used  # the scan finds the clients of pixelport/aws.py
    assert used <= set(make_variable("KEEP_SERVICES").split())


def test_the_layer_is_built_for_the_functions_runtime_and_architecture() -> None:
    template = Template()
    layer = template.resources["CoreLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    runtime = template.data["Globals"]["Function"]["Runtime"]
    assert runtime == f"python{make_variable('PYTHON_VERSION')}"
    assert template.data["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert all(p.endswith("_aarch64") for p in make_variable("PLATFORMS").split())
    assert "build-CoreLayer:" in MAKEFILE


def test_the_layer_ships_pixelport_and_bytecode_for_the_runtime() -> None:
    # Without the .pyc files every cold start compiles the layer's modules again (/opt is read-only).
    assert "pixelport" in MAKEFILE and "-r requirements.txt" in MAKEFILE
    assert "$(RUNTIME_PYTHON) -m compileall" in MAKEFILE and "unchecked-hash" in MAKEFILE
    assert make_variable("RUNTIME_PYTHON") == "python$(PYTHON_VERSION)"
