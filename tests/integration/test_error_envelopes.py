"""Each error of the catalogue that a request can meet, answered through ApiFunction's handler with
its status and envelope (SPEC section 1), including those the processor decides."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from functions.api import app as api
from functions.failures import app as failures
from local.resources import LocalNames
from tests.integration.conftest import delivering_s3_notifications
from tests.support.http_server import LocalHTTPServer
from tests.support.images import flat_png
from tests.support.lambdas import api_event, call_api, failure_destination_event, invoke, response_json

pytestmark = pytest.mark.usefixtures("aws", "allow_loopback")


@pytest.fixture
def images() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        server.add("/small.png", body=flat_png((40, 30)))
        server.add("/big.png", body=flat_png((400, 300)))
        for hop in range(8):
            server.add_redirect(f"/loop{hop}", f"/loop{hop + 1}")
        yield server


def edit(body: dict[str, Any] | None = None, *, raw_body: str | None = None) -> dict[str, Any]:
    return call_api(api_event(body, raw_body=raw_body))


def envelope(response: dict[str, Any], status: int, code: str, type_: str) -> dict[str, Any]:
    assert response["statusCode"] == status, response["body"]
    body: dict[str, Any] = response_json(response)
    assert body == {
        "error_code": code,
        "error_type": type_,
        "error_message": body["error_message"],
        "error_details": body["error_details"],
    }
    assert body["error_message"] and isinstance(body["error_details"], dict)
    assert response["headers"]["x-request-id"]
    return body


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_4001_an_unreachable_input_url() -> None:
    url = f"http://127.0.0.1:{closed_port()}/x.png"
    envelope(edit({"input": url, "operations": {}}), 400, "4001", "image")


def test_4004_an_input_url_redirecting_too_many_times(images: LocalHTTPServer) -> None:
    envelope(edit({"input": images.url("/loop0"), "operations": {}}), 400, "4004", "image")


def test_4130_an_input_over_the_byte_limit(images: LocalHTTPServer, set_limits: Callable[..., None]) -> None:
    set_limits(max_input_bytes=len(flat_png((40, 30))) - 1)
    body = envelope(edit({"input": images.url("/small.png"), "operations": {}}), 413, "4130", "image")
    assert str(len(flat_png((40, 30))) - 1) in body["error_message"]


def test_4133_a_request_body_over_its_limit() -> None:
    raw = json.dumps({"input": "https://example.com/x.png", "operations": {}, "pad": "x" * 70_000})
    envelope(edit(raw_body=raw), 413, "4133", "validation")


def test_5000_a_bug_is_500_with_an_id_to_quote_and_no_internals(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(*_: Any, **__: Any) -> Any:
        raise KeyError("secret internal detail")

    monkeypatch.setattr(api.service(), "submit", bug)
    body = envelope(edit({"input": "https://example.com/x.png", "operations": {}}), 500, "5000", "general")
    assert "secret" not in body["error_message"] and "x-request-id" in body["error_message"]


@pytest.mark.usefixtures("s3_notifications")
def test_4131_an_input_over_the_pixel_limit_decided_by_the_processor(
    images: LocalHTTPServer, set_limits: Callable[..., None]
) -> None:
    set_limits(max_input_megapixels=0.1)
    body = envelope(edit({"input": images.url("/big.png"), "operations": {}}), 413, "4131", "image")
    assert "0.12" in body["error_message"] and "0.1 megapixels" in body["error_message"]


@pytest.mark.usefixtures("s3_notifications")
def test_4132_an_output_over_the_pixel_limit_decided_by_the_processor(
    images: LocalHTTPServer, set_limits: Callable[..., None]
) -> None:
    set_limits(max_output_megapixels=0.1)
    envelope(edit({"input": images.url("/big.png"), "operations": {}}), 413, "4132", "image")


def test_5001_processing_failed_on_every_attempt_answered_on_the_sync_route(
    aws: LocalNames, images: LocalHTTPServer
) -> None:
    def retries_exhausted(event: dict[str, Any]) -> None:
        """The processor failed on every attempt: Lambda's on-failure record reaches the consumer."""
        record = failure_destination_event(
            event, request_id="req-9", error_message="boom", error_type="RuntimeError"
        )
        invoke(failures.lambda_handler, record)

    with delivering_s3_notifications(retries_exhausted):
        body = envelope(edit({"input": images.url("/small.png"), "operations": {}}), 500, "5001", "general")
    assert "processing failed on every attempt (3)" in body["error_message"]
    assert "req-9" in body["error_message"]
