"""The local stack's TransactWriteItems (local/moto_transactions.py): all or nothing, DynamoDB's reasons."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local import moto_transactions


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_transactions.transact_write_items)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="t", Item={"id": {"N": "1"}, "count": {"N": "0"}})
        client.put_item(TableName="t", Item={"id": {"N": "5"}})
        yield client


def bump(condition_value: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "t",
            "Key": {"id": {"N": "1"}},
            "UpdateExpression": "ADD #c :one",
            "ConditionExpression": "#c = :expected",
            "ExpressionAttributeNames": {"#c": "count"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":expected": {"N": condition_value}},
        }
    }


def put(item_id: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": "t",
            "Item": {"id": {"N": item_id}},
            "ConditionExpression": "attribute_not_exists(id)",
        }
    }


def test_a_transaction_whose_conditions_hold_writes_every_item(table: Any) -> None:
    table.transact_write_items(TransactItems=[bump("0"), put("2"), put("3")])
    assert table.get_item(TableName="t", Key={"id": {"N": "1"}})["Item"]["count"] == {"N": "1"}
    assert "Item" in table.get_item(TableName="t", Key={"id": {"N": "3"}})


def test_a_failed_condition_writes_nothing_and_names_the_item_that_failed(table: Any) -> None:
    with pytest.raises(ClientError) as raised:
        table.transact_write_items(TransactItems=[bump("0"), put("2"), put("5")])
    reasons = [r["Code"] for r in raised.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert table.get_item(TableName="t", Key={"id": {"N": "1"}})["Item"]["count"] == {"N": "0"}
    assert "Item" not in table.get_item(TableName="t", Key={"id": {"N": "2"}})


def test_one_item_twice_in_a_transaction_is_refused(table: Any) -> None:
    with pytest.raises(ClientError):
        table.transact_write_items(TransactItems=[put("2"), put("2")])
    assert "Item" not in table.get_item(TableName="t", Key={"id": {"N": "2"}})
