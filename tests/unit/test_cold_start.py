"""What a handler's import leaves out (README "Cold start"): each module named here cost 0.1-0.35 s of
every cold start when it was imported with the handler. Each import runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_lambda_powertools import Tracer

from pixelport.tracing import NoTracing, new_tracer, tracing_disabled

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
# What the template sets that a handler reads at import (tests/conftest.py puts the template's parameter
# defaults in this process's environment before collection).
ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "PIXELPORT_CORS_ALLOW_ORIGIN": os.environ["PIXELPORT_CORS_ALLOW_ORIGIN"],
}
XRAY = "aws_xray_sdk.core"
OPENAPI_MODELS = "aws_lambda_powertools.event_handler.openapi.models"
POWERTOOLS_EVENT_CLASSES = "aws_lambda_powertools.utilities.data_classes"


def modules_after_import(function: str, env: dict[str, str] = ENV) -> set[str]:
    code = (
        "import json, sys\n"
        f"sys.path[:0] = ['functions/{function}', 'layers/core']\n"
        "import app\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_api_handler_imports_neither_xray_nor_pillow_nor_the_openapi_models() -> None:
    loaded = modules_after_import("api")
    assert "app" in loaded and "pixelport.contract.edit" in loaded  # the import did run
    assert XRAY not in loaded
    assert OPENAPI_MODELS not in loaded
    # Its clients are botocore's: boto3's resource layer and s3transfer are not imported.
    assert not {m for m in loaded if m.split(".")[0] in ("boto3", "s3transfer")}
    assert not {m for m in loaded if m == "PIL" or m.startswith(("PIL.", "pixelport.imaging"))}


def test_the_processor_handler_imports_neither_boto3_nor_what_only_some_requests_need() -> None:
    # numpy: adjustments, 16-bit and float decoding, smart crops; pillow-heif: HEIF and AVIF inputs;
    # oxipng: PNG graphics and `best`.
    loaded = modules_after_import("processor")
    assert "app" in loaded and "pixelport.imaging.pipeline" in loaded  # the import did run
    lazy = ("numpy", "pillow_heif", "_pillow_heif", "oxipng", "boto3", "s3transfer")
    assert not {m for m in loaded if m.split(".")[0] in lazy}
    assert POWERTOOLS_EVENT_CLASSES not in loaded  # S3's notifications are read without them


def test_a_heic_input_decodes_where_nothing_else_registered_pillow_heif() -> None:
    # The tests' own image helpers register pillow-heif at import: here nothing does but the decoder.
    code = (
        "import io, sys\n"
        "sys.path[:0] = ['layers/core']\n"
        "import pillow_heif\n"
        "from PIL import Image\n"
        "heic = io.BytesIO()\n"
        "pillow_heif.from_pillow(Image.new('RGB', (16, 12), (9, 9, 9))).save(heic, quality=80)\n"
        "assert 'HEIF' not in Image.OPEN\n"
        "from pixelport.imaging.decode import decode\n"
        "decoded = decode(heic.getvalue())\n"
        "print(decoded.format, decoded.size)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "HEIC (16, 12)"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_handler_imports_the_xray_sdk_when_tracing_is_off(function: str) -> None:
    assert XRAY not in modules_after_import(function)


def test_outside_lambda_tracing_is_off_even_unasked() -> None:
    env = {k: v for k, v in ENV.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    assert XRAY not in modules_after_import("sweeper", env)


def test_on_lambda_the_handlers_still_trace_with_xray(tmp_path: Path) -> None:
    # As Lambda runs them with the template's Tracing: Active.
    env = {k: v for k, v in ENV.items() if k != "POWERTOOLS_TRACE_DISABLED"} | {
        "LAMBDA_TASK_ROOT": str(tmp_path)
    }
    assert XRAY in modules_after_import("sweeper", env)


@pytest.mark.parametrize(
    ("environ", "disabled"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, True),
        ({}, True),
    ],
)
def test_tracing_is_off_where_powertools_turns_it_off(environ: dict[str, str], disabled: bool) -> None:
    assert tracing_disabled(environ) is disabled
    # The same judgement as Powertools' own, so nothing traced on AWS is lost.
    with pytest.MonkeyPatch.context() as mp:
        for name in (
            "LAMBDA_TASK_ROOT",
            "POWERTOOLS_TRACE_DISABLED",
            "AWS_SAM_LOCAL",
            "AWS_CHALICE_CLI_MODE",
        ):
            mp.delenv(name, raising=False)
        for name, value in environ.items():
            mp.setenv(name, value)
        assert bool(Tracer._is_tracer_disabled()) is disabled


def test_a_handler_under_the_untraced_tracer_runs_and_returns_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setattr(Tracer, "_config", dict(Tracer._default_config))  # Powertools shares it
    tracer = new_tracer()
    assert isinstance(tracer.provider, NoTracing)

    @tracer.capture_method
    def double(x: int) -> int:
        return 2 * x

    @tracer.capture_lambda_handler
    def handler(event: dict[str, int], context: object) -> dict[str, int]:
        tracer.put_annotation("k", "v")
        return {"answer": double(event["x"])}

    assert handler({"x": 21}, None) == {"answer": 42}
