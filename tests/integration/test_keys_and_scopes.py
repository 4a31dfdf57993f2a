"""Keys through ApiFunction's handler: the account a key belongs to, its scopes, revocation within
the cache time, and the 401/403 answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local.resources import LocalNames
from tests.support.clock import Clock
from tests.support.keys import account_store, gate_on, get_unknown_task, new_key
from tests.support.lambdas import api_event, async_get_event, call_api, response_json


def submit(key: str) -> int:
    body = {"input": "https://images.example.test/cat.png", "operations": {}}
    response = call_api(api_event(body, path="/v1/image/edit/async", key=key))
    assert response["statusCode"] == 200, response["body"]
    return int(response_json(response)["data"]["id"])


def read_task(task_id: int, key: str) -> dict[str, Any]:
    event = async_get_event(task_id)
    event["headers"]["Authorization"] = event["multiValueHeaders"]["Authorization"][0] = f"Bearer {key}"
    return call_api(event)


def assert_unauthorized(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 401, response["body"]
    assert response_json(response) == {
        "error_code": "111",
        "error_type": "auth",
        "error_message": "Authorization is required.",
        "error_details": {},
    }
    assert response["headers"]["x-request-id"]


def test_each_account_sees_only_its_own_tasks(aws: LocalNames) -> None:
    alice, bob = new_key(aws, "alice"), new_key(aws, "bob")
    alices, bobs = submit(alice.key), submit(bob.key)

    assert read_task(alices, alice.key)["statusCode"] == 200
    assert read_task(bobs, bob.key)["statusCode"] == 200
    for task_id, stranger in ((alices, bob.key), (bobs, alice.key)):
        answer = read_task(task_id, stranger)
        assert answer["statusCode"] == 404
        assert response_json(answer)["error_code"] == "4040"


def test_a_storage_only_key_is_403_code_112_on_the_image_routes(aws: LocalNames) -> None:
    storage_only = new_key(aws, "archiver", scopes="storage")
    response = call_api(api_event({"input": "https://x.test/a.png", "operations": {}}, key=storage_only.key))
    assert response["statusCode"] == 403
    body = response_json(response)
    assert (body["error_code"], body["error_type"]) == ("112", "auth")
    assert "image_editing" in body["error_message"]


def test_an_image_only_key_is_403_on_the_storage_routes(aws: LocalNames) -> None:
    image_only = new_key(aws, "editor", scopes="image_editing")
    event = api_event(None, method="GET", path="/v1/storage/storages", key=image_only.key)
    response = call_api(event)
    assert response["statusCode"] == 403
    assert response_json(response)["error_code"] == "112"


def test_a_key_with_both_scopes_opens_the_image_routes(aws: LocalNames) -> None:
    both = new_key(aws, "full")
    assert get_unknown_task(both.key)["statusCode"] == 404  # past the gate: the task is unknown


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer pxp_never-created", "Basic dXNlcjpwYXNz", "test-key-0123456789"],
    ids=["missing", "empty", "unknown", "basic", "no-scheme"],
)
def test_a_missing_or_unknown_key_is_401_code_111_without_rate_limit_headers(
    aws: LocalNames, authorization: str | None
) -> None:
    event = api_event(None, method="GET", path="/v1/image/edit/async/1", key=None)
    if authorization is not None:
        event["headers"]["Authorization"] = authorization
    response = call_api(event)
    assert_unauthorized(response)
    assert not any(name.lower().startswith("ratelimit") for name in response["headers"])


def test_a_revoked_key_is_401_once_the_key_cache_time_has_passed(
    aws: LocalNames, clock: Clock, set_limits: Callable[..., None]
) -> None:
    set_limits(key_cache_seconds=5)
    gate_on(clock)
    key = new_key(aws, "leaver")
    assert get_unknown_task(key.key)["statusCode"] == 404

    account_store(aws).revoke_key(key.key_id)
    clock.advance(4.9)
    assert get_unknown_task(key.key)["statusCode"] == 404  # still trusted by this warm function
    clock.advance(0.2)
    assert_unauthorized(get_unknown_task(key.key))


def test_a_revoked_key_is_refused_by_a_cold_function_at_once(aws: LocalNames) -> None:
    key = new_key(aws, "leaver")
    account_store(aws).revoke_key(key.key_id)
    assert_unauthorized(get_unknown_task(key.key))


def test_a_new_key_works_at_once_after_being_refused(aws: LocalNames, clock: Clock) -> None:
    gate_on(clock)
    store = account_store(aws)
    from pixelport.accounts import Scope

    assert_unauthorized(get_unknown_task("pxp_made-a-moment-later"))
    store.create_key("late", frozenset(Scope), key="pxp_made-a-moment-later")
    assert get_unknown_task("pxp_made-a-moment-later")["statusCode"] == 404


def test_only_the_keys_sha256_is_stored(aws: LocalNames) -> None:
    import hashlib

    import boto3

    key = new_key(aws, "hashed")
    items = boto3.client("dynamodb").scan(TableName=aws.table("AccountsTable"))["Items"]
    assert key.key not in repr(items)
    digest = hashlib.sha256(key.key.encode()).hexdigest()
    assert {"S": f"key#{digest}"} in [item["pk"] for item in items]
