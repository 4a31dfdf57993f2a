"""No secret in any log line: a storage created, used (input and output), rotated, used, refused and
deleted, with every line the handlers print and every logging record captured: pixelport's own loggers
at DEBUG, every other logger (boto3, botocore, urllib3, moto) at INFO.

(botocore's DEBUG wire log prints request and response bodies, KMS's base64 plaintext included, as it
prints every request's: it must never be switched on in a deployment.)"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import quote

import pytest

from functions.api import app as api
from tests.support.customer_s3 import customer_bucket, png_bytes
from tests.support.lambdas import api_event, invoke, response_json
from tests.support.log_scan import remember_secret
from tests.support.storage import bucket_body

pytestmark = pytest.mark.usefixtures("aws", "s3_notifications")

FIRST_SECRET = remember_secret("first-secret-Zq8vW3nK5pL0x9")
SECOND_SECRET = remember_secret("second-secret-Hy7tR2mB4cD1s6")


def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = invoke(api.lambda_handler, api_event(body, method=method, path=path), timeout=29)
    return response


def forms(secret: str) -> list[str]:
    """The secret as it could appear in a log: raw, base64 (as KMS requests carry it), URL-encoded."""
    return [secret, base64.b64encode(secret.encode()).decode(), quote(secret, safe="")]


def test_no_log_line_of_a_create_use_rotate_delete_cycle_holds_a_secret(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="pixelport")
    customer_bucket(("in/a.png", png_bytes()))
    created = call("POST", "/v1/storage/storages", bucket_body(secret=FIRST_SECRET))
    assert created["statusCode"] == 200
    storage_id = response_json(created)["data"]["id"]
    edit = {
        "input": "storage://storage-name/in/a.png",
        "operations": {},
        "output": "storage://storage-name/out/",
    }
    assert call("POST", "/v1/image/edit", edit)["statusCode"] == 200
    rotated = {"parameters": {"credentials": {"access_key": "AKIANEW", "secret_access_key": SECOND_SECRET}}}
    assert call("PATCH", f"/v1/storage/storages/{storage_id}", rotated)["statusCode"] == 200
    assert call("POST", "/v1/image/edit", edit)["statusCode"] == 200
    missing = {**edit, "input": "storage://storage-name/in/missing.png"}
    assert call("POST", "/v1/image/edit", missing)["statusCode"] == 400
    bad = {"parameters": {"credentials": {"access_key": "", "secret_access_key": SECOND_SECRET * 20}}}
    assert call("PATCH", f"/v1/storage/storages/{storage_id}", bad)["statusCode"] == 422
    assert call("GET", f"/v1/storage/storages/{storage_id}")["statusCode"] == 200
    assert call("DELETE", f"/v1/storage/storages/{storage_id}")["statusCode"] == 200

    printed = capsys.readouterr()
    lines = [*printed.out.splitlines(), *printed.err.splitlines()]
    lines += [record.getMessage() + " " + str(record.__dict__) for record in caplog.records]
    assert any("storage connected" in line for line in lines)  # the capture does see the handlers' logs
    assert any("storage changed" in line for line in lines)
    assert any("storage disconnected" in line for line in lines)
    for secret in (FIRST_SECRET, SECOND_SECRET):
        for form in forms(secret):
            leaked = [line for line in lines if form in line]
            assert leaked == [], f"{form!r} logged"
