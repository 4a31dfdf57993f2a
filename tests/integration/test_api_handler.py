"""ApiFunction's handler called with events/api-edit.json against moto built from the template."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from PIL import Image

from functions.api import app as api
from local.resources import LocalNames
from tests.support.http_server import LocalHTTPServer
from tests.support.lambdas import api_event, async_get_event, call_api, response_json

pytestmark = pytest.mark.usefixtures("aws")


def png_bytes(size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def all_tasks(names: LocalNames) -> list[dict[str, Any]]:
    table = names.table("TasksTable")
    return list(boto3.client("dynamodb").scan(TableName=table)["Items"])


def staged_inputs(names: LocalNames) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=names.bucket("IngestBucket"), Prefix="inputs/")
    return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def images() -> Any:
    with LocalHTTPServer() as server:
        server.add("/photo.png", body=png_bytes())
        server.add("/notes.txt", body=b"this is not an image\n" * 10)
        server.add("/gone.png", status=404)
        yield server


def assert_envelope(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["statusCode"] == status, response["body"]
    body: dict[str, Any] = response_json(response)
    assert set(body) == {"error_code", "error_type", "error_message", "error_details"}
    assert body["error_code"] == code
    assert response["headers"]["x-request-id"]
    return body


# --- auth -------------------------------------------------------------------------------------------
def test_missing_key_is_401_code_111() -> None:
    body = assert_envelope(
        call_api(api_event({"input": "https://x.test/a.png", "operations": {}}, key=None)), 401, "111"
    )
    assert body == {
        "error_code": "111",
        "error_type": "auth",
        "error_message": "Authorization is required.",
        "error_details": {},
    }


def test_wrong_key_is_401_code_111() -> None:
    assert_envelope(
        call_api(api_event({"input": "https://x.test/a.png", "operations": {}}, key="nope")), 401, "111"
    )


def test_every_response_carries_the_gateway_request_id() -> None:
    event = api_event({"input": "ftp://x.test/a.png", "operations": {}})
    response = call_api(event)
    assert response["headers"]["x-request-id"] == event["requestContext"]["requestId"]


def test_unknown_route_is_404_in_the_envelope() -> None:
    assert_envelope(
        call_api(api_event(None, method="GET", path="/v1/nothing/here", resource="/{proxy+}")), 404, "4044"
    )


# --- bad input: refused before any task exists ---------------------------------------------------
def test_body_that_is_not_json_is_400_code_4000(aws: LocalNames) -> None:
    body = assert_envelope(call_api(api_event(raw_body="{not json")), 400, "4000")
    assert body["error_type"] == "validation"
    assert all_tasks(aws) == []


def test_json_nested_too_deeply_is_400_not_a_crash(aws: LocalNames) -> None:
    body = assert_envelope(call_api(api_event(raw_body="[" * 20000)), 400, "4000")
    assert body["error_message"] == "request body is nested too deeply"
    assert all_tasks(aws) == []


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"input": "https://x.test/a.png", "operations": {}, "extra": 1}, "extra"),
        (
            {"input": "https://x.test/a.png", "operations": {"resizing": {"width": 10, "zoom": 2}}},
            "operations.resizing.zoom",
        ),
        (
            {
                "input": "https://x.test/a.png",
                "operations": {},
                "output": {"format": {"type": "jpeg", "dpi": 3}},
            },
            "output.format.dpi",
        ),
        (
            {
                "input": "https://x.test/a.png",
                "operations": {},
                "output": {"metadata": {"color_space": {"type": "CMYK", "icc": 1}}},
            },
            "output.metadata.color_space.icc",
        ),
    ],
)
def test_unknown_key_anywhere_is_422_naming_its_path(
    aws: LocalNames, body: dict[str, Any], path: str
) -> None:
    answer = assert_envelope(call_api(api_event(body)), 422, "9000")
    assert answer["error_details"] == {path: ["extra fields not permitted"]}
    assert answer["error_message"] == f"{path}: extra fields not permitted."
    assert all_tasks(aws) == []


def test_input_longer_than_512_characters_is_422(aws: LocalNames) -> None:
    answer = assert_envelope(
        call_api(api_event({"input": "https://x.test/" + "a" * 500, "operations": {}})), 422, "9000"
    )
    assert answer["error_details"] == {"input": ["ensure this value has at most 512 characters"]}


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://x/1"])
def test_non_http_schemes_are_422(aws: LocalNames, url: str) -> None:
    answer = assert_envelope(call_api(api_event({"input": url, "operations": {}})), 422, "9000")
    assert "unsupported scheme" in answer["error_details"]["input"][0]


def test_loopback_input_without_the_opt_in_is_refused_without_connecting(
    aws: LocalNames, images: LocalHTTPServer
) -> None:
    answer = assert_envelope(
        call_api(api_event({"input": images.url("/photo.png"), "operations": {}})), 400, "4002"
    )
    assert "loopback" in answer["error_message"]
    assert "PIXELPORT_ALLOWED_SOURCE_NETWORKS" in answer["error_message"]
    assert images.connection_count == 0
    assert all_tasks(aws) == []


@pytest.mark.usefixtures("allow_loopback")
def test_private_address_outside_the_opened_networks_is_refused(aws: LocalNames) -> None:
    answer = assert_envelope(
        call_api(api_event({"input": "http://10.1.2.3/a.png", "operations": {}})), 400, "4002"
    )
    assert "private" in answer["error_message"]


@pytest.mark.usefixtures("allow_loopback")
def test_url_answering_404_is_400(aws: LocalNames, images: LocalHTTPServer) -> None:
    answer = assert_envelope(
        call_api(api_event({"input": images.url("/gone.png"), "operations": {}})), 400, "4003"
    )
    assert "404" in answer["error_message"]
    assert all_tasks(aws) == []


@pytest.mark.usefixtures("allow_loopback")
def test_bytes_that_are_not_an_image_are_400_naming_the_formats(
    aws: LocalNames, images: LocalHTTPServer
) -> None:
    answer = assert_envelope(
        call_api(api_event({"input": images.url("/notes.txt"), "operations": {}})), 400, "4005"
    )
    assert "BMP, GIF, JPEG, PNG, TIFF, WEBP, AVIF, HEIC" in answer["error_message"]
    assert all_tasks(aws) == []


def test_storage_input_of_an_unconnected_storage_is_422(aws: LocalNames) -> None:
    answer = assert_envelope(
        call_api(api_event({"input": "storage://mine/a/b.jpg", "operations": {}})), 422, "9000"
    )
    assert answer["error_details"] == {"input": ["storage 'mine' is not connected to this account"]}


def test_operation_needing_a_model_is_422_saying_so(aws: LocalNames) -> None:
    body = {"input": "https://x.test/a.png", "operations": {"restorations": {"upscale": "faces"}}}
    answer = assert_envelope(call_api(api_event(body)), 422, "9000")
    assert answer["error_details"] == {
        "operations.restorations.upscale": ["this deployment provides no model for this operation"]
    }


# --- accepted requests ---------------------------------------------------------------------------
@pytest.mark.usefixtures("allow_loopback")
def test_async_edit_creates_an_accepted_task_and_leaves_the_fetch_to_the_processor(
    aws: LocalNames, images: LocalHTTPServer
) -> None:
    body = {"input": images.url("/photo.png"), "operations": {}}
    response = call_api(api_event(body, path="/v1/image/edit/async"))
    assert response["statusCode"] == 200, response["body"]
    data = response_json(response)["data"]
    assert data["status"] == "ACCEPTED"
    assert isinstance(data["id"], int) and data["id"] < 2**53
    assert data["request"] == body
    assert data["result_url"] == (
        f"https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod/v1/image/edit/async/{data['id']}"
    )
    assert staged_inputs(aws) == []
    assert images.requests == []  # SPEC 2.2 (decided): the answer comes before any fetch
    staged = boto3.client("s3").get_object(Bucket=aws.bucket("IngestBucket"), Key=f"requests/{data['id']}")
    assert staged["Body"].read() == b""


@pytest.mark.usefixtures("allow_loopback")
def test_sync_edit_answers_202_with_the_async_payload_when_the_window_closes(
    aws: LocalNames, images: LocalHTTPServer, set_limits: Callable[..., None]
) -> None:
    set_limits(sync_wait_seconds=0.3)  # nothing processes the input in this test
    response = call_api(api_event({"input": images.url("/photo.png"), "operations": {}}))
    assert response["statusCode"] == 202, response["body"]
    data = response_json(response)["data"]
    assert data["status"] == "ACCEPTED"
    assert data["result_url"].endswith(f"/v1/image/edit/async/{data['id']}")


def test_unknown_task_id_is_404() -> None:
    assert_envelope(call_api(async_get_event(12345)), 404, "4040")


@pytest.mark.parametrize("function", ["api", "failures", "sweeper"])
def test_functions_without_the_pillow_layer_never_import_it(function: str) -> None:
    """Cold start matters, and on AWS these functions have only the core layer."""
    code = (
        f"import sys; sys.path[:0] = ['functions/{function}', 'layers/core'];"
        "import app;"
        "heavy = sorted(m for m in sys.modules"
        "               if m.split('.')[0] in {'PIL', 'pillow_heif', 'oxipng', 'numpy'});"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    root = Path(api.__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("task_id", ["²", "١٢٣", "\uff11\uff12", "12a", "-1", "1" * 19, " 12"])
def test_a_task_id_that_is_not_ascii_digits_is_404_not_a_crash(task_id: str) -> None:
    assert_envelope(call_api(async_get_event(task_id)), 404, "4040")
