"""The /v1/storage routes (SPEC 5) through ApiFunction's handler, against moto built from template.yaml
(DynamoDB for the registry, KMS for the secrets)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from functions.api import app as api
from local.resources import LocalNames
from pixelport.storage.registry import deployed_registry
from tests.support.lambdas import api_event, invoke, response_json
from tests.support.log_scan import remember_secret
from tests.support.storage import KEY_A, KEY_B, bucket_body, two_accounts, web_folder_body

SECRET = "customer-secret-0001/abcdefghijklmnopqrstuvwxyz"
ISO_MICROSECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


@pytest.fixture(autouse=True)
def _accounts(aws: LocalNames) -> None:
    two_accounts(aws)


def call(method: str, path: str, body: Any = None, *, key: str = KEY_A) -> dict[str, Any]:
    return invoke(api.lambda_handler, api_event(body, method=method, path=path, key=key), timeout=29)


def ok(response: dict[str, Any]) -> Any:
    assert response["statusCode"] == 200, response["body"]
    return response_json(response)["data"]


def refused(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["statusCode"] == status, response["body"]
    body: dict[str, Any] = response_json(response)
    assert set(body) == {"error_code", "error_type", "error_message", "error_details"}
    assert body["error_code"] == code
    return body


def create(body: dict[str, Any], *, key: str = KEY_A) -> dict[str, Any]:
    data: dict[str, Any] = ok(call("POST", "/v1/storage/storages", body, key=key))
    return data


def test_storage_types_are_the_three_of_the_spec() -> None:
    assert ok(call("GET", "/v1/storage/storage-types")) == ["web_folder", "s3", "gcs"]


def test_create_answers_the_detailed_form_with_the_access_key_only() -> None:
    response = call("POST", "/v1/storage/storages", bucket_body(path="catalogue/2026/"))
    created = ok(response)
    assert isinstance(created["id"], int)
    assert ISO_MICROSECONDS.fullmatch(created["created_at"])
    assert {k: v for k, v in created.items() if k not in ("id", "created_at")} == {
        "name": "storage-name",
        "type": "s3",
        "parameters": {
            "bucket": "customer-bucket",
            "path": "catalogue/2026",
            "credentials": {"access_key": "AKIACUSTOMER0001"},
        },
    }
    assert SECRET not in response["body"]


def test_list_shows_no_credentials_and_get_shows_the_access_key_only() -> None:
    s3 = create(bucket_body("one"))
    web = create(web_folder_body("two", "https://images.example.com/shop"))
    listed = call("GET", "/v1/storage/storages")
    assert ok(listed) == [
        {k: v for k, v in s3.items() if k != "parameters"}
        | {"parameters": {"bucket": "customer-bucket", "path": ""}},
        web,
    ]
    assert "AKIACUSTOMER0001" not in listed["body"] and SECRET not in listed["body"]
    assert web["parameters"] == {"base_url": "https://images.example.com/shop/"}
    shown = call("GET", f"/v1/storage/storages/{s3['id']}")
    assert ok(shown) == s3
    assert SECRET not in shown["body"]


def test_the_secret_is_stored_sealed_by_kms_and_bound_to_its_account(aws: LocalNames) -> None:
    created = create(bucket_body())
    (item,) = boto3.client("dynamodb").scan(TableName=aws.table("StoragesTable"))["Items"]
    assert SECRET not in json.dumps(item, default=str)
    sealed = item["secret"]["B"]
    assert SECRET.encode() not in sealed
    context = {"pixelport:account": "account-a", "pixelport:storage": str(created["id"])}
    kms = boto3.client("kms")
    assert kms.decrypt(CiphertextBlob=sealed, EncryptionContext=context)["Plaintext"] == SECRET.encode()
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=sealed, EncryptionContext={**context, "pixelport:account": "account-b"})


def test_a_name_taken_in_the_account_is_409_and_free_in_another() -> None:
    create(bucket_body("shop"))
    body = refused(call("POST", "/v1/storage/storages", bucket_body("shop")), 409, "4090")
    assert body["error_type"] == "storage" and "'shop'" in body["error_message"]
    assert create(bucket_body("shop"), key=KEY_B)["name"] == "shop"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (bucket_body("x" * 51), "name", "ensure this value has at most 50 characters"),
        (bucket_body("a/b"), "name", "storage name must not contain"),
        ({**bucket_body(), "type": "ftp"}, "type", "unexpected value"),
        ({"name": "n", "type": "s3", "parameters": {"bucket": "b-1"}}, "parameters.credentials", "field"),
        (bucket_body(bucket="Not_A_Bucket!"), "parameters.bucket", "bucket name must be"),
        (
            {"name": "n", "type": "web_folder", "parameters": {"base_url": "ftp://x/"}},
            "parameters.base_url",
            "unsupported scheme",
        ),
        (
            {"name": "n", "type": "web_folder", "parameters": {"base_url": "https://x/", "bucket": "b"}},
            "parameters.bucket",
            "extra fields not permitted",
        ),
        ({**bucket_body(), "extra": 1}, "extra", "extra fields not permitted"),
        ({**bucket_body(), "name": 5}, "name", "str type expected"),
    ],
    ids=[
        "long-name",
        "slash-name",
        "type",
        "no-credentials",
        "bucket",
        "base-url",
        "web-folder-bucket",
        "unknown-key",
        "name-type",
    ],
)
def test_a_bad_storage_body_is_422_naming_the_field(body: dict[str, Any], field: str, message: str) -> None:
    answer = refused(call("POST", "/v1/storage/storages", body), 422, "9000")
    assert field in answer["error_details"], answer
    assert any(message in m for m in answer["error_details"][field]), answer


@pytest.mark.parametrize(
    "path",
    ["../other", "a/../../b", "a//b", "a\\b", "%2e%2e/other", "a/%2E%2E/b", "/absolute", ".", "a/./b"],
)
def test_a_storage_path_that_could_escape_is_422_naming_parameters_path(path: str) -> None:
    answer = refused(call("POST", "/v1/storage/storages", bucket_body(path=path)), 422, "9000")
    assert list(answer["error_details"]) == ["parameters.path"]


def test_a_body_that_is_not_json_is_400() -> None:
    event = api_event(method="POST", path="/v1/storage/storages", key=KEY_A, raw_body="{nope")
    refused(invoke(api.lambda_handler, event), 400, "4000")


def test_patch_renames_and_a_taken_name_is_409() -> None:
    first = create(bucket_body("first"))
    create(bucket_body("second"))
    renamed = ok(call("PATCH", f"/v1/storage/storages/{first['id']}", {"name": "renamed"}))
    assert renamed == {**first, "name": "renamed"}
    names = [s["name"] for s in ok(call("GET", "/v1/storage/storages"))]
    assert sorted(names) == ["renamed", "second"]
    refused(call("PATCH", f"/v1/storage/storages/{first['id']}", {"name": "second"}), 409, "4090")
    assert ok(call("GET", f"/v1/storage/storages/{first['id']}"))["name"] == "renamed"


def test_patch_rotates_credentials_and_keeps_the_rest() -> None:
    created = create(bucket_body(path="in"))
    new = {"access_key": "AKIAROTATED0002", "secret_access_key": remember_secret("rotated-secret-0002")}
    changed = ok(call("PATCH", f"/v1/storage/storages/{created['id']}", {"parameters": {"credentials": new}}))
    assert changed["parameters"] == {
        "bucket": "customer-bucket",
        "path": "in",
        "credentials": {"access_key": "AKIAROTATED0002"},
    }
    record = deployed_registry().by_id("account-a", created["id"])
    assert record is not None and deployed_registry().secret(record) == "rotated-secret-0002"
    moved = ok(call("PATCH", f"/v1/storage/storages/{created['id']}", {"parameters": {"path": "out/"}}))
    assert moved["parameters"]["path"] == "out"
    again = deployed_registry().by_id("account-a", created["id"])
    assert again is not None and deployed_registry().secret(again) == "rotated-secret-0002"


def test_patch_to_another_type_needs_its_parameters_whole() -> None:
    created = create(bucket_body())
    answer = refused(
        call("PATCH", f"/v1/storage/storages/{created['id']}", {"type": "web_folder"}), 422, "9000"
    )
    assert list(answer["error_details"]) == ["parameters"]
    body = {"type": "web_folder", "parameters": {"base_url": "https://example.com/img"}}
    changed = ok(call("PATCH", f"/v1/storage/storages/{created['id']}", body))
    assert changed["type"] == "web_folder"
    assert changed["parameters"] == {"base_url": "https://example.com/img/"}
    record = deployed_registry().by_id("account-a", created["id"])
    assert record is not None and record.sealed_secret is None and record.access_key is None


def test_an_empty_patch_is_422() -> None:
    created = create(bucket_body())
    refused(call("PATCH", f"/v1/storage/storages/{created['id']}", {}), 422, "9000")


def test_delete_disconnects_then_the_storage_is_404_and_an_edit_naming_it_is_422() -> None:
    created = create(bucket_body())
    assert ok(call("DELETE", f"/v1/storage/storages/{created['id']}")) == created
    refused(call("GET", f"/v1/storage/storages/{created['id']}"), 404, "4041")
    refused(call("DELETE", f"/v1/storage/storages/{created['id']}"), 404, "4041")
    assert ok(call("GET", "/v1/storage/storages")) == []
    edit = {"input": "https://example.com/a.jpg", "operations": {}, "output": "storage://storage-name/x/"}
    answer = refused(call("POST", "/v1/image/edit", edit), 422, "9000")
    assert answer["error_details"] == {
        "output.destination": ["storage 'storage-name' is not connected to this account"]
    }


@pytest.mark.parametrize("storage_id", ["123", "abc", "1e3", "²", "9" * 40])
def test_an_unknown_or_malformed_id_is_404(storage_id: str) -> None:
    body = refused(call("GET", f"/v1/storage/storages/{storage_id}"), 404, "4041")
    assert body["error_type"] == "user"


# -- account isolation ---------------------------------------------------------------------------
def test_another_accounts_storage_is_404_on_every_route_and_untouched() -> None:
    theirs = create(bucket_body("theirs"))
    path = f"/v1/storage/storages/{theirs['id']}"
    assert ok(call("GET", "/v1/storage/storages", key=KEY_B)) == []
    refused(call("GET", path, key=KEY_B), 404, "4041")
    refused(call("PATCH", path, {"name": "stolen"}, key=KEY_B), 404, "4041")
    refused(call("DELETE", path, key=KEY_B), 404, "4041")
    assert ok(call("GET", path)) == theirs


def test_an_edit_naming_another_accounts_storage_is_422() -> None:
    create(bucket_body("theirs"))
    edit = {"input": "storage://theirs/a.jpg", "operations": {}, "output": "storage://theirs/out/"}
    answer = refused(call("POST", "/v1/image/edit", edit, key=KEY_B), 422, "9000")
    assert answer["error_details"] == {
        "input": ["storage 'theirs' is not connected to this account"],
        "output.destination": ["storage 'theirs' is not connected to this account"],
    }


def test_a_web_folder_as_output_is_422_read_only() -> None:
    create(web_folder_body("pics", "https://images.example.com/"))
    edit = {"input": "https://example.com/a.jpg", "operations": {}, "output": "storage://pics/out/"}
    answer = refused(call("POST", "/v1/image/edit", edit), 422, "9000")
    assert list(answer["error_details"]) == ["output.destination"]
    assert "read-only" in answer["error_details"]["output.destination"][0]
