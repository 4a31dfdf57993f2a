"""POST /v1/image/edit/upload (SPEC 2.4): a multipart body with `file` and `data`, answered as the
sync route; every malformed body a 4xx in the envelope naming the part."""

from __future__ import annotations

import base64
import copy
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from urllib3 import encode_multipart_formdata

from functions.api import app as api
from local.resources import LocalNames
from tests.conftest import TEST_API_KEY
from tests.support.lambdas import invoke, load_event, response_json

pytestmark = pytest.mark.usefixtures("aws")

Field = tuple[str, Any]


def rgba_png(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGBA", size, (200, 30, 30, 255))
    image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))  # the left half transparent
    image.save(out, "PNG")
    return out.getvalue()


def upload_event(
    fields: list[Field] | None = None, *, body: bytes | None = None, content_type: str | None = None
) -> dict[str, Any]:
    """events/api-upload.json with a body encoded as API Gateway passes a binary media type."""
    if fields is not None:
        body, content_type = encode_multipart_formdata(fields)
    event = copy.deepcopy(load_event("api-upload.json"))
    event["headers"].update({"Content-Type": content_type, "Authorization": f"Bearer {TEST_API_KEY}"})
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["body"] = base64.b64encode(body or b"").decode()
    return event


def post(event: dict[str, Any]) -> dict[str, Any]:
    return invoke(api.lambda_handler, event, timeout=29)


def error(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["statusCode"] == status, response["body"]
    body: dict[str, Any] = response_json(response)
    assert body["error_code"] == code
    return body


def file_part(data: bytes | None = None, name: str = "photo.png") -> Field:
    return ("file", (name, rgba_png() if data is None else data, "image/png"))


def data_part(data: Any, *, json_header: bool = False) -> Field:
    text = data if isinstance(data, str) else json.dumps(data)
    return ("data", (None, text, "application/json")) if json_header else ("data", text)


@pytest.mark.usefixtures("s3_notifications")
@pytest.mark.parametrize("json_header", [False, True])
def test_an_rgba_png_uploaded_comes_back_as_webp_with_its_alpha(aws: LocalNames, json_header: bool) -> None:
    data = {"operations": {}, "output": {"format": "webp"}}
    response = post(
        upload_event([file_part(name="product shot.png"), data_part(data, json_header=json_header)])
    )
    assert response["statusCode"] == 200, response["body"]
    output = response_json(response)["data"]["output"]
    assert (output["format"], output["width"], output["height"]) == ("WEBP", 40, 30)
    assert output["tmp_url"].endswith("/product_shot.webp")


@pytest.mark.usefixtures("s3_notifications")
def test_a_unicode_file_name_names_the_output() -> None:
    response = post(upload_event([file_part(name="café crème.png"), data_part({"operations": {}})]))
    assert response["statusCode"] == 200, response["body"]
    assert response_json(response)["data"]["output"]["tmp_url"].endswith("/caf_cr_me.jpg")


def test_the_stored_request_is_the_data_part_as_sent(set_limits: Callable[..., None]) -> None:
    set_limits(sync_wait_seconds=0.2)  # nothing processes here: the answer is the 202 async payload
    data = {"operations": {}, "output": {"format": "png"}}
    response = post(upload_event([file_part(), data_part(data)]))
    assert response["statusCode"] == 202, response["body"]
    assert response_json(response)["data"]["request"] == data


@pytest.mark.parametrize(
    ("fields", "details"),
    [
        ([data_part({"operations": {}})], {"file": ["field required"]}),
        ([file_part()], {"data": ["field required"]}),
        (
            [file_part(), data_part({"operations": {}}), ("extra", "1")],
            {"extra": ["unexpected part; an upload has exactly 'file' and 'data'"]},
        ),
        ([file_part(), file_part(), data_part({"operations": {}})], {"file": ["sent more than once"]}),
        ([file_part(), data_part("{not json")], {"data": ["is not valid JSON"]}),
        (
            [file_part(), data_part("[1, 2]")],
            {"data": ["must be a JSON object: the edit request without 'input'"]},
        ),
        ([file_part(b""), data_part({"operations": {}})], {"file": ["is empty"]}),
    ],
)
def test_a_malformed_upload_is_422_naming_the_part(
    fields: list[Field], details: dict[str, list[str]]
) -> None:
    assert error(post(upload_event(fields)), 422, "9000")["error_details"] == details


def test_data_with_an_input_is_422_naming_data_input() -> None:
    data = {"input": "https://example.com/a.jpg", "operations": {}}
    body = error(post(upload_event([file_part(), data_part(data)])), 422, "9000")
    assert body["error_details"] == {"data.input": ["not accepted in an upload: the file part is the input"]}


def test_every_problem_of_data_is_named_under_data() -> None:
    data = {"operations": {"resizing": {"width": True}}, "output": {"format": "gif"}}
    details = error(post(upload_event([file_part(), data_part(data)])), 422, "9000")["error_details"]
    assert set(details) == {"data.operations.resizing.width", "data.output.format"}


def test_a_file_that_is_not_an_image_is_4005() -> None:
    error(
        post(upload_event([file_part(b"%PDF-1.7 not an image"), data_part({"operations": {}})])), 400, "4005"
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"operations": {}}', "application/json"),
        (b"--X\r\nContent-Disposition: form-data; name=file\r\n\r\nabc", "multipart/form-data"),
        (b"--X\r\nContent-Disposition: form-data; name=file\r\n\r\nabc", "multipart/form-data; boundary=X"),
    ],
    ids=["not-multipart", "no-boundary", "never-closed"],
)
def test_a_body_that_is_not_a_whole_multipart_form_is_400(body: bytes, content_type: str) -> None:
    error(post(upload_event(body=body, content_type=content_type)), 400, "4000")


def test_a_body_over_the_upload_limit_is_413_naming_the_presigned_route(
    set_limits: Callable[..., None],
) -> None:
    set_limits(max_upload_body_bytes=2048)
    body = error(
        post(upload_event([file_part(b"\x89PNG" + b"0" * 4096), data_part({"operations": {}})])), 413, "4133"
    )
    assert "POST /v1/image/edit/upload/url" in body["error_message"]


def test_a_body_that_is_not_base64_is_400() -> None:
    event = upload_event([file_part(), data_part({"operations": {}})])
    event["body"] = "not base64!"
    error(post(event), 400, "4000")
