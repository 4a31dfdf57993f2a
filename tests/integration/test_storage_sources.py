"""web_folder and gcs storages as inputs (and gcs as output), and a customer's storage that refuses
access or does not answer: each a clear 400, within the fetch deadline.

The GCS-compatible endpoint here is a moto server on loopback: moto speaks S3's XML API, which is what
GCS's interoperability API is; PIXELPORT_GCS_ENDPOINT aims the gcs connector at it. Refusals and
silence come from a programmable loopback HTTP server standing in for the endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from functions.api import app as api
from local.stack import free_port
from tests.support.customer_s3 import png_bytes
from tests.support.http_server import LocalHTTPServer
from tests.support.lambdas import api_event, invoke, response_json
from tests.support.storage import bucket_body, web_folder_body

pytestmark = pytest.mark.usefixtures("aws", "s3_notifications")

XML_ERROR = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
)


def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
    return invoke(api.lambda_handler, api_event(body, method=method, path=path), timeout=29)


def connect(body: dict[str, Any]) -> dict[str, Any]:
    response = call("POST", "/v1/storage/storages", body)
    assert response["statusCode"] == 200, response["body"]
    return dict(response_json(response)["data"])


def edit(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = call("POST", "/v1/image/edit", {"operations": {}, **body})
    return response["statusCode"], response_json(response)


# -- web folders ------------------------------------------------------------------------------------
@pytest.fixture
def folder() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        server.add("/shop/pics/ü 1.png", body=png_bytes((20, 10)))
        yield server


@pytest.mark.usefixtures("allow_loopback")
def test_a_web_folder_input_is_a_guarded_get_of_base_url_plus_path(folder: LocalHTTPServer) -> None:
    connect(web_folder_body("pics", folder.url("/shop")))
    status, body = edit({"input": "storage://pics/pics/ü 1.png"})
    assert status == 200, body
    assert body["data"]["input"]["width"] == 20
    assert [r.target for r in folder.requests] == ["/shop/pics/%C3%BC%201.png"]


def test_a_web_folder_on_a_refused_network_is_400_like_a_url_input(folder: LocalHTTPServer) -> None:
    connect(web_folder_body("pics", folder.url("/shop")))
    status, body = edit({"input": "storage://pics/pics/ü 1.png"})
    assert (status, body["error_code"]) == (400, "4002")
    assert folder.requests == []


@pytest.mark.usefixtures("allow_loopback")
def test_a_missing_web_folder_object_is_400(folder: LocalHTTPServer) -> None:
    connect(web_folder_body("pics", folder.url("/shop")))
    status, body = edit({"input": "storage://pics/nope.png"})
    assert (status, body["error_code"]) == (400, "4003")


# -- gcs through its S3-interoperable API ------------------------------------------------------------
@pytest.fixture
def gcs_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PIXELPORT_GCS_ENDPOINT", endpoint)
    try:
        yield endpoint
    finally:
        server.stop()


def test_a_gcs_storage_is_read_and_written_with_its_hmac_keys(gcs_endpoint: str) -> None:
    gcs = boto3.client("s3", endpoint_url=gcs_endpoint, region_name="us-east-1")
    gcs.create_bucket(Bucket="gcs-bucket")
    gcs.put_object(Bucket="gcs-bucket", Key="assets/in/a.png", Body=png_bytes())
    connect(
        bucket_body("gcs-store", kind="gcs", bucket="gcs-bucket", path="assets", access_key="GOOG1EXAMPLE")
    )
    status, body = edit({"input": "storage://gcs-store/in/a.png", "output": "storage://gcs-store/out/"})
    assert status == 200, body
    assert body["data"]["output"]["object_uri"] == "storage://gcs-store/out/a.jpg"
    head = gcs.head_object(Bucket="gcs-bucket", Key="assets/out/a.jpg")
    assert head["ContentType"] == "image/jpeg"


# -- refusals and silence --------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"])
def test_a_storage_refusing_the_keys_is_400_saying_so_without_secrets(
    code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LocalHTTPServer() as endpoint:
        endpoint.add(
            "/gcs-bucket/a.png", status=403, body=XML_ERROR.format(code=code, message="GOOG1X").encode()
        )
        monkeypatch.setenv("PIXELPORT_GCS_ENDPOINT", endpoint.url(""))
        connect(bucket_body("g", kind="gcs", bucket="gcs-bucket", secret="top-secret-value"))
        status, body = edit({"input": "storage://g/a.png"})
    assert (status, body["error_code"], body["error_type"]) == (400, "4021", "storage")
    assert body["error_message"].startswith("storage 'g' refused access to 'a.png'")
    assert "top-secret-value" not in str(body) and "GOOG1X" not in str(body)


def test_a_storage_that_does_not_answer_is_400_after_the_fetch_deadline(
    monkeypatch: pytest.MonkeyPatch, set_limits: Any
) -> None:
    set_limits(fetch_timeout_seconds=1)
    with LocalHTTPServer() as endpoint:
        endpoint.add("/gcs-bucket/a.png", body=png_bytes(), delay=10)
        monkeypatch.setenv("PIXELPORT_GCS_ENDPOINT", endpoint.url(""))
        connect(bucket_body("g", kind="gcs", bucket="gcs-bucket"))
        started = time.monotonic()
        status, body = edit({"input": "storage://g/a.png"})
        elapsed = time.monotonic() - started
    assert (status, body["error_code"]) == (400, "4023")
    assert "could not be reached within 1 s" in body["error_message"]
    assert elapsed < 8  # well before the endpoint answers (10 s); the margin is for a loaded machine


def test_a_storage_endpoint_refusing_connections_is_400() -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELPORT_GCS_ENDPOINT", f"http://127.0.0.1:{free_port()}")
        connect(bucket_body("g", kind="gcs", bucket="gcs-bucket"))
        status, body = edit({"input": "storage://g/a.png"})
    assert (status, body["error_code"]) == (400, "4023")
