"""The local moto server's DynamoDB serializer (local/moto_dynamodb_json.py) gives the answers moto's
own serializer gives: items with every kind of attribute value, through every operation that returns
items, compared byte for byte."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import moto_dynamodb_json
from local.moto_dynamodb_json import plain

TABLE = "tasks"
ITEM: dict[str, Any] = {
    "id": {"N": "17"},
    "status": {"S": "DONE"},
    "empty": {"S": ""},
    "done": {"BOOL": True},
    "nothing": {"NULL": True},
    "names": {"SS": ["a", "b"]},
    "sizes": {"NS": ["1", "2.5"]},
    "history": {"L": [{"M": {"status": {"S": "ACCEPTED"}, "at": {"N": "1.5"}}}, {"L": []}, {"NULL": True}]},
    "request": {"M": {"input": {"S": "https://example.com/a.jpg"}, "ops": {"M": {}}, "n": {"N": "-3"}}},
    "unicode": {"S": "caf\u00e9 \u2603"},
}
BINARY_ITEM: dict[str, Any] = {
    "id": {"N": "18"},
    "blob": {"B": b"\x00\x01binary"},
    "blobs": {"BS": [b"x", b"y"]},
    "nested": {"M": {"blob": {"B": b"\xff"}, "s": {"S": "t"}}},
}


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST",
        )
        db.put_item(TableName=TABLE, Item=ITEM)
        db.put_item(TableName=TABLE, Item=BINARY_ITEM)
        yield db
    moto_dynamodb_json.uninstall()


def raw_body(db: Any, call: Callable[[], Any]) -> bytes:
    """The HTTP body moto answered `call` with."""
    bodies: list[bytes] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    db.meta.events.register("after-call", keep, unique_id="raw-body")
    try:
        call()
    finally:
        db.meta.events.unregister("after-call", unique_id="raw-body")
    return bodies[-1]


def answers(db: Any) -> dict[str, Any]:
    calls: dict[str, Callable[[], Any]] = {
        "get": lambda: db.get_item(TableName=TABLE, Key={"id": {"N": "17"}}, ConsistentRead=True),
        "get binary": lambda: db.get_item(TableName=TABLE, Key={"id": {"N": "18"}}),
        "update all new": lambda: db.update_item(
            TableName=TABLE,
            Key={"id": {"N": "17"}},
            UpdateExpression="SET history = list_append(history, :e)",
            ExpressionAttributeValues={":e": {"L": [{"M": {"status": {"S": "PROCESSING"}}}]}},
            ReturnValues="ALL_NEW",
        ),
        "query": lambda: db.query(
            TableName=TABLE,
            KeyConditionExpression="id = :id",
            ExpressionAttributeValues={":id": {"N": "17"}},
        ),
        "scan": lambda: db.scan(TableName=TABLE),
        "batch get": lambda: db.batch_get_item(
            RequestItems={TABLE: {"Keys": [{"id": {"N": "17"}}, {"id": {"N": "18"}}]}}
        ),
        "describe": lambda: db.describe_table(TableName=TABLE),
    }
    out = {}
    for name, call in calls.items():
        body = json.loads(raw_body(db, call))
        body.get("Table", {}).pop("CreationDateTime", None)
        out[name] = body
    return out


def test_answers_are_moto_own(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    moto_dynamodb_json.uninstall()
    own = answers(client)
    client.put_item(TableName=TABLE, Item=ITEM)  # the update appends again: the same item each way
    copied = []

    def counted(value: Any) -> dict[str, Any] | None:
        copied.append(result := plain(value))
        return result

    monkeypatch.setattr(moto_dynamodb_json, "plain", counted)
    moto_dynamodb_json.install()
    fast = answers(client)
    assert fast == own
    assert any(c is not None for c in copied)  # the copy was taken, not only moto's path


def test_binary_values_take_moto_own_path() -> None:
    assert plain({"B": "AAE="}) is None
    assert plain({"M": {"x": {"BS": ["AAE="]}}}) is None


def test_plain_values_are_copied() -> None:
    assert plain({"M": {"a": {"L": [{"N": "1"}, {"BOOL": False}]}}}) == {
        "M": {"a": {"L": [{"N": "1"}, {"BOOL": False}]}}
    }


def test_unexpected_shapes_take_moto_own_path() -> None:
    assert plain({"S": Decimal(1)}) is None
    assert plain({"S": "a", "N": "1"}) is None
    assert plain("S") is None
