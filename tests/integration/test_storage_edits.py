"""storage:// as input and output of POST /v1/image/edit: the API reads the input with the storage's
keys, the processor (reached through moto's S3 notifications) writes the result with them."""

from __future__ import annotations

import io
import time
from typing import Any

import boto3
import pytest
from PIL import Image

from functions.api import app as api
from local.resources import LocalNames
from tests.support.customer_s3 import (
    CUSTOMER_BUCKET,
    SignedRequest,
    customer_bucket,
    png_bytes,
    signed_requests,
    to_customer_bucket,
)
from tests.support.lambdas import api_event, get_task, invoke, response_json
from tests.support.storage import bucket_body

__all__ = ["signed_requests"]  # the fixture, used by name

pytestmark = pytest.mark.usefixtures("aws", "s3_notifications")

CUSTOMER_KEY = "AKIACUSTOMER0001"


def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
    return invoke(api.lambda_handler, api_event(body, method=method, path=path), timeout=29)


def connect(**kwargs: Any) -> dict[str, Any]:
    response = call("POST", "/v1/storage/storages", bucket_body(**kwargs))
    assert response["statusCode"] == 200, response["body"]
    return dict(response_json(response)["data"])


def edit(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = call("POST", "/v1/image/edit", {"operations": {}, **body})
    return response["statusCode"], response_json(response)


def stored(key: str) -> Image.Image:
    data = boto3.client("s3").get_object(Bucket=CUSTOMER_BUCKET, Key=key)["Body"].read()
    return Image.open(io.BytesIO(data))


def test_input_and_folder_output_in_the_customers_bucket_keep_the_unicode_name() -> None:
    customer_bucket(("catalogue/2026/shoes/Rote Schühe 1.png", png_bytes((40, 30))))
    connect(path="catalogue/2026")
    status, body = edit(
        {"input": "storage://storage-name/shoes/Rote Schühe 1.png", "output": "storage://storage-name/out/"}
    )
    assert status == 200, body
    output = body["data"]["output"]
    assert "tmp_url" not in output
    assert {k: output[k] for k in ("object_key", "object_bucket", "object_uri")} == {
        "object_key": "catalogue/2026/out/Rote Schühe 1.jpg",
        "object_bucket": CUSTOMER_BUCKET,
        "object_uri": "storage://storage-name/out/Rote Schühe 1.jpg",
    }
    assert body["data"]["input"]["format"] == "PNG"
    image = stored("catalogue/2026/out/Rote Schühe 1.jpg")
    assert (image.format, image.size) == ("JPEG", (40, 30))


def test_a_file_destination_writes_that_object_in_the_format_its_extension_names() -> None:
    customer_bucket(("in/a.png", png_bytes()))
    connect()
    status, body = edit(
        {"input": "storage://storage-name/in/a.png", "output": "storage://storage-name/r/b.webp"}
    )
    assert status == 200, body
    assert body["data"]["output"]["object_key"] == "r/b.webp"
    head = boto3.client("s3").head_object(Bucket=CUSTOMER_BUCKET, Key="r/b.webp")
    assert head["ContentType"] == "image/webp"
    assert stored("r/b.webp").format == "WEBP"


def test_a_url_input_written_to_a_storage_folder_keeps_the_urls_name() -> None:
    customer_bucket()
    connect()
    from tests.support.http_server import LocalHTTPServer

    with LocalHTTPServer() as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELPORT_ALLOWED_SOURCE_NETWORKS", "127.0.0.0/8")
        server.add("/pics/café.png", body=png_bytes())
        status, body = edit({"input": server.url("/pics/caf%C3%A9.png"), "output": "storage://storage-name/"})
    assert status == 200, body
    assert body["data"]["output"]["object_key"] == "café.jpg"


def test_the_customers_bucket_is_reached_with_the_storages_keys_only(
    signed_requests: list[SignedRequest],
) -> None:
    customer_bucket(("a.png", png_bytes()))
    connect()
    signed_requests.clear()  # the test's own setup signed with the test's keys
    status, body = edit({"input": "storage://storage-name/a.png", "output": "storage://storage-name/out/"})
    assert status == 200, body
    reached = to_customer_bucket(signed_requests)
    assert {r.method for r in reached} == {"GET", "PUT"}  # the API read, the processor wrote
    assert {r.access_key for r in reached} == {CUSTOMER_KEY}
    assert not any(r.session_token for r in reached)  # nothing of the function's role rides along
    own = [r for r in signed_requests if r not in reached]
    # The stack's own calls (tasks, staging, results) keep the function's role and its session token.
    assert own and CUSTOMER_KEY not in {r.access_key for r in own} and all(r.session_token for r in own)


def test_after_rotation_the_new_keys_sign(signed_requests: list[SignedRequest]) -> None:
    customer_bucket(("a.png", png_bytes()))
    created = connect()
    rotated = {"credentials": {"access_key": "AKIAROTATED0002", "secret_access_key": "s2"}}
    response = call("PATCH", f"/v1/storage/storages/{created['id']}", {"parameters": rotated})
    assert response["statusCode"] == 200
    signed_requests.clear()
    status, body = edit({"input": "storage://storage-name/a.png", "output": "storage://storage-name/o.png"})
    assert status == 200, body
    assert {r.access_key for r in to_customer_bucket(signed_requests)} == {"AKIAROTATED0002"}


# -- errors: clear 4xx, free of secrets ------------------------------------------------------------
def test_a_missing_object_is_400_naming_storage_and_path() -> None:
    customer_bucket()
    connect()
    status, body = edit({"input": "storage://storage-name/nope/a.png"})
    assert (status, body["error_code"], body["error_type"]) == (400, "4020", "storage")
    assert body["error_message"] == "storage 'storage-name' has no object 'nope/a.png'"


def test_a_missing_bucket_is_400() -> None:
    connect(bucket="no-such-bucket")
    status, body = edit({"input": "storage://storage-name/a.png"})
    assert (status, body["error_code"]) == (400, "4022")
    assert "no-such-bucket" in body["error_message"]


def test_a_bucket_gone_before_the_processor_writes_ends_the_task_with_400() -> None:
    customer_bucket(("a.png", png_bytes()))
    connect()
    response = call("POST", "/v1/storage/storages", bucket_body("elsewhere", bucket="gone-bucket"))
    assert response["statusCode"] == 200
    status, body = edit({"input": "storage://storage-name/a.png", "output": "storage://elsewhere/out/"})
    assert (status, body["error_code"]) == (400, "4022")


def test_an_input_too_large_is_413_before_it_is_read(set_limits: Any) -> None:
    customer_bucket(("big.png", png_bytes((400, 300))))
    connect()
    set_limits(max_input_bytes=1000)
    status, body = edit({"input": "storage://storage-name/big.png"})
    assert (status, body["error_code"]) == (413, "4130")


def test_an_object_that_is_not_an_image_is_400() -> None:
    customer_bucket(("notes.png", b"not an image at all" * 10))
    connect()
    status, body = edit({"input": "storage://storage-name/notes.png"})
    assert (status, body["error_code"]) == (400, "4005")


@pytest.mark.parametrize(
    ("reference", "field"),
    [
        ("storage://storage-name/../outside.png", "input"),
        ("storage://storage-name/%2e%2e/outside.png", "input"),
        ("storage://storage-name/a/..%2F..%2Foutside.png", "input"),
        ("storage://storage-name//outside.png", "input"),
        ("storage://storage-name/a\\..\\outside.png", "input"),
    ],
)
def test_a_reference_that_would_leave_the_prefix_is_422_naming_the_field(reference: str, field: str) -> None:
    customer_bucket(("outside.png", png_bytes()), ("inside/a/x.png", png_bytes()))
    connect(path="inside")
    status, body = edit({"input": reference})
    assert (status, body["error_code"]) == (422, "9000"), body
    assert list(body["error_details"]) == [field]
    status, body = edit({"input": "storage://storage-name/a/x.png", "output": reference.replace(".png", "/")})
    assert (status, body["error_code"]) == (422, "9000"), body
    assert list(body["error_details"]) == ["output.destination"]


def test_a_deleted_storage_in_a_request_is_422(aws: LocalNames) -> None:
    customer_bucket(("a.png", png_bytes()))
    created = connect()
    assert call("DELETE", f"/v1/storage/storages/{created['id']}")["statusCode"] == 200
    status, body = edit({"input": "storage://storage-name/a.png"})
    assert (status, body["error_details"]) == (
        422,
        {"input": ["storage 'storage-name' is not connected to this account"]},
    )
    assert CUSTOMER_BUCKET in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]


def test_an_async_edit_reads_its_storage_input_in_the_processor_and_writes_the_folder() -> None:
    customer_bucket(("catalogue/photos/Façade.png", png_bytes((24, 18))))
    connect(path="catalogue")
    accepted = call(
        "POST",
        "/v1/image/edit/async",
        {
            "input": "storage://storage-name/photos/Façade.png",
            "operations": {},
            "output": "storage://storage-name/out/",
        },
    )
    assert accepted["statusCode"] == 200, accepted["body"]
    task_id = int(response_json(accepted)["data"]["id"])
    deadline = time.monotonic() + 30
    while (data := get_task(task_id))["status"] not in ("DONE", "ERROR") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert data["status"] == "DONE", data
    assert data["result"]["output_object"]["object_key"] == "catalogue/out/Façade.jpg"
    assert stored("catalogue/out/Façade.jpg").size == (24, 18)
