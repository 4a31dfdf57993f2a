"""Uploads and the async route against `make run`, over HTTP as a client sends them: multipart,
presigned POSTs straight to the local S3 (which trigger the processor as on AWS), and async edits
that answer before their source does."""

from __future__ import annotations

import io
import json
import os
import time
import urllib.request
from typing import Any

import pytest
from PIL import Image
from urllib3 import encode_multipart_formdata

from tests.e2e.client import DEFAULT_KEY, Answer, edit, fetch, request
from tests.e2e.conftest import RunningStack
from tests.support.http_server import LocalHTTPServer

pytestmark = pytest.mark.e2e


def rgba_png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGBA", size, (20, 160, 90, 255))
    image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    image.save(out, "PNG")
    return out.getvalue()


def post_multipart(
    url: str, fields: list[tuple[str, Any]], *, key: str | None = DEFAULT_KEY, chunked: bool = False
) -> Answer:
    """Given `chunked`, the body is streamed as a client writing to a stream sends it: in chunks of
    64 KiB with Transfer-Encoding: chunked and no Content-Length (urllib's way with an iterable)."""
    body, content_type = encode_multipart_formdata(fields)
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data: Any = body
    if chunked:
        data = (body[at : at + 65536] for at in range(0, len(body), 65536))
    req = urllib.request.Request(url, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return Answer(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def poll(url: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        data: dict[str, Any] = request("GET", url).json()["data"]
        if data["status"] in ("DONE", "ERROR") or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


@pytest.mark.parametrize("json_part", [False, True], ids=["data-plain", "data-json-part"])
def test_a_multipart_upload_of_a_transparent_png_comes_back_as_webp_with_its_alpha(
    stack: RunningStack, json_part: bool
) -> None:
    data = json.dumps({"operations": {}, "output": {"format": "webp"}})
    part = ("data", (None, data, "application/json")) if json_part else ("data", data)
    answer = post_multipart(
        f"{stack.base_url}/v1/image/edit/upload",
        [("file", ("façade à louer.png", rgba_png(), "image/png")), part],
    )
    assert answer.status == 200, answer.body
    output = answer.json()["data"]["output"]
    assert output["tmp_url"].endswith("/fa_ade_louer.webp")
    with Image.open(io.BytesIO(fetch(output["tmp_url"]))) as result:
        assert (result.format, result.mode, result.size) == ("WEBP", "RGBA", (64, 48))
        assert result.getchannel("A").getpixel((5, 5)) == 0
        assert result.getchannel("A").getpixel((60, 5)) == 255


def test_a_multipart_upload_streamed_in_chunks_is_read_whole(stack: RunningStack) -> None:
    # `curl -T -` and clients writing to a stream send Transfer-Encoding: chunked, no Content-Length.
    picture = Image.effect_noise((400, 300), 64).convert("RGB")  # incompressible: several chunks
    png = io.BytesIO()
    picture.save(png, "PNG")
    assert len(png.getvalue()) > 2 * 65536
    answer = post_multipart(
        f"{stack.base_url}/v1/image/edit/upload",
        [
            ("file", ("noise.png", png.getvalue(), "image/png")),
            ("data", '{"operations": {}, "output": {"format": "png"}}'),
        ],
        chunked=True,
    )
    assert answer.status == 200, answer.body
    with Image.open(io.BytesIO(fetch(answer.json()["data"]["output"]["tmp_url"]))) as result:
        assert result.size == (400, 300)
        assert result.convert("RGB").tobytes() == picture.tobytes()


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ([("data", "{}")], 422, "9000"),
        ([("file", ("a.png", rgba_png(), "image/png"))], 422, "9000"),
        ([("file", ("a.png", rgba_png(), "image/png")), ("data", "nope")], 422, "9000"),
        (
            [("file", ("a.png", rgba_png(), "image/png")), ("data", '{"input": "https://e.com/a.png"}')],
            422,
            "9000",
        ),
        ([("file", ("a.txt", b"hello", "text/plain")), ("data", '{"operations": {}}')], 400, "4005"),
        (
            [("file", ("a.png", rgba_png(), "image/png")), ("data", '{"operations": {}}'), ("x", "1")],
            422,
            "9000",
        ),
        ([("file", ("a.png", rgba_png(), "image/png"))] * 2 + [("data", '{"operations": {}}')], 422, "9000"),
    ],
    ids=[
        "no-file",
        "no-data",
        "data-not-json",
        "data-with-input",
        "not-an-image",
        "extra-part",
        "file-twice",
    ],
)
def test_malformed_uploads_get_their_envelope_over_http(
    stack: RunningStack, fields: list[tuple[str, Any]], status: int, code: str
) -> None:
    answer = post_multipart(f"{stack.base_url}/v1/image/edit/upload", fields)
    assert answer.status == status, answer.body
    assert answer.json()["error_code"] == code


def open_slot(stack: RunningStack, name: str, size: int, data: dict[str, Any]) -> dict[str, Any]:
    answer = request(
        "POST",
        f"{stack.base_url}/v1/image/edit/upload/url",
        {"file": {"name": name, "size": size}, "data": data},
    )
    assert answer.status == 200, answer.body
    return dict(answer.json()["data"])


def upload_answer(slot: dict[str, Any], name: str, body: bytes) -> tuple[int, bytes]:
    """The presigned POST, as `curl -F` sends it: the fields, then the file last."""
    fields: list[tuple[str, Any]] = list(slot["upload"]["fields"].items())
    fields.append(("file", (name, body, slot["upload"]["fields"]["Content-Type"])))
    answer = post_multipart(slot["upload"]["url"], fields, key=None)
    return answer.status, answer.body


def upload_to(slot: dict[str, Any], name: str, body: bytes) -> int:
    return upload_answer(slot, name, body)[0]


def test_a_20_mb_upload_through_a_presigned_post_ends_done(stack: RunningStack) -> None:
    size = (2600, 2600)
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "PNG", compress_level=0)
    image = out.getvalue()
    assert len(image) > 20 * 1000 * 1000
    slot = open_slot(stack, "big scan.png", len(image), {"operations": {}, "output": {"format": "jpeg"}})
    assert upload_to(slot, "big scan.png", image) in (200, 201, 204)
    data = poll(slot["result_url"], 120)
    assert data["status"] == "DONE", data
    assert data["result"]["output_object"]["width"] == 2600
    assert data["result"]["output_object"]["tmp_url"].endswith("/big_scan.jpg")


def test_a_presigned_upload_of_a_non_image_ends_error(stack: RunningStack) -> None:
    body = b"%PDF-1.7 " + b"0" * 1000
    slot = open_slot(stack, "scan.jpg", len(body), {"operations": {}})
    assert upload_to(slot, "scan.jpg", body) in (200, 201, 204)
    data = poll(slot["result_url"])
    assert data["status"] == "ERROR" and "JPEG" in data["errors"][0]["error"]


def test_an_upload_larger_than_declared_is_refused_by_the_local_s3_as_by_s3(stack: RunningStack) -> None:
    image = rgba_png()
    slot = open_slot(stack, "small.png", len(image) - 1, {"operations": {}})
    status, body = upload_answer(slot, "small.png", image)
    assert status == 400 and b"<Code>EntityTooLarge</Code>" in body
    assert request("GET", slot["result_url"]).json()["data"]["status"] == "ACCEPTED"  # nothing arrived


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", "uploads/1"),
        ("Content-Type", "text/html"),
        ("x-amz-meta-declared-size", "999999999"),
        ("policy", "e30="),
    ],
)
def test_an_upload_with_a_field_changed_is_refused(stack: RunningStack, field: str, value: str) -> None:
    image = rgba_png()
    slot = open_slot(stack, "small.png", len(image), {"operations": {}})
    slot["upload"]["fields"][field] = value
    status, _ = upload_answer(slot, "small.png", image)
    assert status == 403


def test_async_answers_in_under_a_second_while_its_source_takes_ten(
    stack: RunningStack, image_server: LocalHTTPServer
) -> None:
    image_server.add("/slow/harbour.png", body=rgba_png(), delay=10.0)
    started = time.monotonic()
    accepted = request(
        "POST",
        f"{stack.base_url}/v1/image/edit/async",
        {"input": image_server.url("/slow/harbour.png"), "operations": {}},
    )
    assert time.monotonic() - started < 1.0
    assert accepted.status == 200, accepted.body
    data = poll(accepted.json()["data"]["result_url"], 60)
    assert data["status"] == "DONE", data
    assert data["result"]["output_object"]["tmp_url"].endswith("/harbour.jpg")


def test_a_missing_source_ends_the_async_task_4003_as_the_sync_route_answers(
    stack: RunningStack, image_server: LocalHTTPServer
) -> None:
    image_server.add("/gone.png", status=404, body=b"gone")
    sync = edit(stack.base_url, {"input": image_server.url("/gone.png"), "operations": {}})
    assert (sync.status, sync.json()["error_code"]) == (400, "4003")
    accepted = request(
        "POST",
        f"{stack.base_url}/v1/image/edit/async",
        {"input": image_server.url("/gone.png"), "operations": {}},
    )
    data = poll(accepted.json()["data"]["result_url"])
    assert data["status"] == "ERROR"
    assert data["errors"][0]["error"] == sync.json()["error_message"]
