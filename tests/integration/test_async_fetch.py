"""SPEC 2.2 (decided): the async route answers after validating the body only; the processor fetches
the source, and a source that fails ends the task ERROR with the code and message the sync route
gives for it."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PIL import Image

from local.resources import LocalNames
from tests.support.http_server import LocalHTTPServer
from tests.support.lambdas import api_event, call_api, get_task, process, response_json

pytestmark = pytest.mark.usefixtures("aws", "allow_loopback")


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), "olive").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def images() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        server.add("/slow/photo.png", body=png(), delay=3.0)
        server.add("/missing.png", status=404, body=b"not here")
        server.add("/page.png", body=b"<html>not an image</html>", headers={"Content-Type": "image/png"})
        for hop in range(8):
            server.add_redirect(f"/loop{hop}", f"/loop{hop + 1}")
        yield server


def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
    return call_api(api_event(body, path=path))


def test_async_answers_before_a_slow_source_does_and_the_task_ends_done(
    aws: LocalNames, images: LocalHTTPServer
) -> None:
    response = call("/v1/image/edit/async", {"input": images.url("/slow/photo.png"), "operations": {}})
    assert response["statusCode"] == 200, response["body"]
    # Answered without waiting on the source (3 s to answer): the API never asked it; the processor does.
    assert [r for r in images.requests if r.target == "/slow/photo.png"] == []
    task_id = int(response_json(response)["data"]["id"])
    assert process(aws, task_id)["handled"] == [{"task_id": task_id, "status": "done"}]
    data = get_task(task_id)
    assert data["status"] == "DONE"
    assert data["result"]["output_object"]["tmp_url"].endswith("/photo.jpg")  # named from the URL


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/missing.png", 400, "4003"), ("/page.png", 400, "4005"), ("/loop0", 400, "4004")],
)
def test_a_failing_source_ends_the_async_task_with_the_sync_routes_code_and_message(
    aws: LocalNames, images: LocalHTTPServer, path: str, status: int, code: str
) -> None:
    sync = call("/v1/image/edit", {"input": images.url(path), "operations": {}})
    assert sync["statusCode"] == status
    sync_error = response_json(sync)
    assert sync_error["error_code"] == code

    accepted = call("/v1/image/edit/async", {"input": images.url(path), "operations": {}})
    assert accepted["statusCode"] == 200, accepted["body"]
    task_id = int(response_json(accepted)["data"]["id"])
    assert process(aws, task_id)["handled"] == [{"task_id": task_id, "status": "error"}]
    data = get_task(task_id)
    assert data["status"] == "ERROR"
    assert [e["error"] for e in data["errors"]] == [sync_error["error_message"]]


def test_an_unreachable_source_ends_4001_like_the_sync_route(
    aws: LocalNames, closed_port_url: Callable[[], str]
) -> None:
    url = closed_port_url()
    sync = response_json(call("/v1/image/edit", {"input": url, "operations": {}}))
    assert sync["error_code"] == "4001"
    task_id = int(response_json(call("/v1/image/edit/async", {"input": url, "operations": {}}))["data"]["id"])
    process(aws, task_id)
    data = get_task(task_id)
    assert data["status"] == "ERROR"
    assert [e["error"] for e in data["errors"]] == [sync["error_message"]]


@pytest.fixture
def closed_port_url() -> Callable[[], str]:
    def make() -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        return f"http://127.0.0.1:{port}/photo.png"

    return make


def test_an_invalid_async_body_is_still_refused_at_once(images: LocalHTTPServer) -> None:
    response = call("/v1/image/edit/async", {"input": images.url("/missing.png"), "operations": {"nope": 1}})
    assert response["statusCode"] == 422
    assert images.requests == []
