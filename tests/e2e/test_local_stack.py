"""The local stack over HTTP: what `make run` and the README promise."""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from PIL import Image

from local.stack import free_port
from tests.e2e.client import edit, fetch, request
from tests.e2e.conftest import ROOT, TRACEBACK, RunningStack, start_stack, stop_stack
from tests.e2e.readme import run_readme_block
from tests.support.http_server import LocalHTTPServer

pytestmark = pytest.mark.e2e
INGEST_BUCKET = "pixelport-local-ingestbucket"  # local/resources.py's name for IngestBucket


def jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.radial_gradient("L").resize(size).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def test_edit_answers_200_and_the_tmp_url_serves_a_jpeg_of_the_input_size(
    stack: RunningStack, image_server: LocalHTTPServer
) -> None:
    image_server.add("/photos/burger.png", body=_png((320, 200)))
    answer = edit(stack.base_url, {"input": image_server.url("/photos/burger.png"), "operations": {}})
    assert answer.status == 200, answer.body
    assert re.fullmatch(r"[0-9a-f-]{36}", answer.headers["x-request-id"])
    data = answer.json()["data"]
    assert data["input"] == {
        "ext": "png",
        "mps": 0.064,
        "mime": "image/png",
        "format": "PNG",
        "width": 320,
        "height": 200,
    }
    tmp_url = data["output"]["tmp_url"]
    assert tmp_url.startswith(f"{stack.base_url}/tmp/") and tmp_url.endswith("/burger.jpg")
    with Image.open(io.BytesIO(fetch(tmp_url))) as result:
        assert (result.format, result.size) == ("JPEG", (320, 200))


def test_a_sync_edit_reaches_the_processor_by_a_direct_invocation_not_by_s3(
    stack: RunningStack, image_server: LocalHTTPServer
) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    def staged(prefix: str) -> set[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=INGEST_BUCKET, Prefix=prefix)
        return {o["Key"] for page in pages for o in page.get("Contents", [])}

    direct, inputs = staged("direct/"), staged("inputs/")
    image_server.add("/direct.png", body=_png((40, 30)))
    answer = edit(stack.base_url, {"input": image_server.url("/direct.png"), "operations": {}})
    assert answer.status == 200, answer.body
    # Staged where no S3 notification looks, so the processor ran because the API invoked it.
    assert len(staged("direct/") - direct) == 1 and staged("inputs/") == inputs


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_async_edit_is_polled_to_done(stack: RunningStack, image_server: LocalHTTPServer) -> None:
    image_server.add("/async.png", body=_png((64, 64)))
    accepted = request(
        "POST",
        f"{stack.base_url}/v1/image/edit/async",
        {"input": image_server.url("/async.png"), "operations": {}},
    )
    assert accepted.status == 200, accepted.body
    data = accepted.json()["data"]
    assert data["status"] == "ACCEPTED"
    assert data["result_url"] == f"{stack.base_url}/v1/image/edit/async/{data['id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        polled = request("GET", data["result_url"]).json()["data"]
        if polled["status"] in ("DONE", "ERROR"):
            break
        time.sleep(0.2)
    assert polled["status"] == "DONE", polled
    assert polled["result"]["output_object"]["width"] == 64


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "4000"),
        ({"input": "https://example.com/a.jpg", "operations": {}, "surprise": True}, 422, "9000"),
        ({"input": "ftp://example.com/a.jpg", "operations": {}}, 422, "9000"),
        ({"input": "http://10.0.0.1/a.jpg", "operations": {}}, 400, "4002"),
        ({"input": "http://169.254.169.254/latest/meta-data/", "operations": {}}, 400, "4002"),
    ],
)
def test_bad_requests_get_their_envelope_over_http(
    stack: RunningStack, body: object, status: int, code: str
) -> None:
    answer = edit(
        stack.base_url,
        None if isinstance(body, bytes) else body,
        raw=body if isinstance(body, bytes) else None,
    )
    assert answer.status == status, answer.body
    assert answer.json()["error_code"] == code
    assert answer.headers["x-request-id"]


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "BREW"])
def test_a_method_api_gateway_does_not_route_gets_405_in_the_envelope(
    stack: RunningStack, method: str
) -> None:
    answer = request(method, f"{stack.base_url}/v1/image/edit", {"input": "https://example.com/a.jpg"})
    assert answer.status == 405, answer.body
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error_message"] == "Method Not Allowed"


def test_missing_key_is_401(stack: RunningStack) -> None:
    answer = edit(stack.base_url, {"input": "https://example.com/a.jpg", "operations": {}}, key=None)
    assert (answer.status, answer.json()["error_code"]) == (401, "111")


def test_url_answering_404_and_non_images_are_400(stack: RunningStack, image_server: LocalHTTPServer) -> None:
    image_server.add("/text.txt", body=b"hello world, not an image")
    missing = edit(stack.base_url, {"input": image_server.url("/nothing.jpg"), "operations": {}})
    not_image = edit(stack.base_url, {"input": image_server.url("/text.txt"), "operations": {}})
    assert (missing.status, missing.json()["error_code"]) == (400, "4003")
    assert (not_image.status, not_image.json()["error_code"]) == (400, "4005")


def test_the_readme_curl_example_answers_200_with_a_tmp_url(stack: RunningStack, tmp_path: Path) -> None:
    # The image server's port is a free one, and it gets a second to start.
    stdout = run_readme_block(
        "curl-example", stack, tmp_path, replacements={"8000": str(free_port()), "&\n": "&\nsleep 1\n"}
    )
    answer = stdout[stdout.index('{"data"') :]  # http.server prints a banner first
    data = json.loads(answer)["data"]
    with Image.open(io.BytesIO(fetch(data["output"]["tmp_url"]))) as image:
        assert image.format == "JPEG" and image.size == (data["input"]["width"], data["input"]["height"])


def test_the_readme_operations_example_answers_the_smart_crop_picture_it_shows(
    stack: RunningStack, tmp_path: Path
) -> None:
    replacements = {
        "8000": str(free_port()),
        "--directory docs/": f"--directory {ROOT}/docs/",
        "&\n": "&\nsleep 1\n",
    }
    stdout = run_readme_block("curl-operations-example", stack, tmp_path, replacements=replacements)
    data = json.loads(stdout[stdout.index('{"data"') :])["data"]
    assert (data["output"]["width"], data["output"]["height"]) == (200, 200)
    assert fetch(data["output"]["tmp_url"]) == (ROOT / "docs/examples/crop-smart.jpg").read_bytes()


def test_ctrl_c_stops_every_process_the_stack_started() -> None:
    running = start_stack({})
    assert running.started_in < 60
    children = _descendants(running.process.pid)
    assert children, "the stack should run its Lambda environments as child processes"
    assert stop_stack(running) == 0
    output = "".join(running.output)
    assert "stopping" in output
    assert TRACEBACK not in output, output
    # multiprocessing's resource tracker leaves on its own once it reads EOF from the stack: a
    # moment after the stack's exit, not before it.
    deadline = time.monotonic() + 3.0
    while (still := _alive(children)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert still == []


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"]


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True, check=True).stdout
    parents: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(x) for x in line.split())
        parents.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return "Z"
