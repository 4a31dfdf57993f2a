"""The Storages table: an account's connected storages, one item each, keyed (account, name).

Every read names the account in the key, so another account's storage cannot be reached by name or id:
it does not exist for the caller. Names are unique per account by the key itself; the `ById` local
index finds a storage by its id within the account. Secrets are stored sealed (`sealing.SecretBox`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from pixelport.contract.storage import (
    BUCKET_TYPES,
    BucketParameters,
    BucketParametersChange,
    Credentials,
    StorageChange,
    StorageSpec,
    StorageType,
    WebFolderParameters,
    WebFolderParametersChange,
)
from pixelport.errors import STORAGE_NAME_TAKEN, STORAGE_NOT_FOUND, PixelportError
from pixelport.storage.sealing import SecretBox
from pixelport.tasks import iso_timestamp, new_task_id, now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

BY_ID_INDEX = "ById"


@dataclass(frozen=True)
class StorageRecord:
    id: int
    account: str
    name: str
    type: StorageType
    parameters: dict[str, str]  # bucket and path, or base_url: never credentials
    created_at: str
    access_key: str | None = None
    sealed_secret: bytes | None = None


def _name_taken(name: str) -> PixelportError:
    return PixelportError(
        STORAGE_NAME_TAKEN, f"a storage named '{name}' already exists in this account", {"name": ["taken"]}
    )


def not_found() -> PixelportError:
    return PixelportError(STORAGE_NOT_FOUND, "Storage not found.")


class StorageRegistry:
    def __init__(self, client: DynamoDBClient, table: str, secrets: SecretBox):
        self._db = client
        self._table = table
        self._secrets = secrets

    # -- reading ---------------------------------------------------------------------------------
    def list(self, account: str) -> list[StorageRecord]:
        found: list[StorageRecord] = []
        for page in self._db.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=BY_ID_INDEX,
            KeyConditionExpression="account = :a",
            ExpressionAttributeValues={":a": {"S": account}},
            ConsistentRead=True,  # a local index reads its writes: a new storage is listed at once
        ):
            found += [_record(item) for item in page.get("Items", [])]
        return found

    def by_name(self, account: str, name: str) -> StorageRecord | None:
        item = self._db.get_item(TableName=self._table, Key=_key(account, name), ConsistentRead=True).get(
            "Item"
        )
        return _record(item) if item else None

    def by_id(self, account: str, storage_id: int) -> StorageRecord | None:
        items = self._db.query(
            TableName=self._table,
            IndexName=BY_ID_INDEX,
            KeyConditionExpression="account = :a AND id = :id",
            ExpressionAttributeValues={":a": {"S": account}, ":id": {"N": str(storage_id)}},
            ConsistentRead=True,
        ).get("Items", [])
        return _record(items[0]) if items else None

    def secret(self, record: StorageRecord) -> str:
        """The decrypted secret of a bucket storage: call only where it is used, never log it."""
        if record.sealed_secret is None:
            raise ValueError(f"storage {record.id} has no secret")
        return self._secrets.open(record.sealed_secret, account=record.account, storage_id=record.id)

    # -- writing ---------------------------------------------------------------------------------
    def create(self, account: str, spec: StorageSpec) -> StorageRecord:
        storage_id = new_task_id()
        record = StorageRecord(
            id=storage_id,
            account=account,
            name=spec.name,
            type=spec.type,
            parameters={},
            created_at=iso_timestamp(now()),
        )
        record = self._with_parameters(record, spec.parameters)
        try:
            self._db.put_item(
                TableName=self._table,
                Item=_item(record),
                ConditionExpression="attribute_not_exists(account)",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise _name_taken(spec.name) from None
            raise
        return record

    def change(self, current: StorageRecord, change: StorageChange) -> StorageRecord:
        record = current
        if change.type is not None and change.type != current.type:
            record = replace(record, type=change.type, parameters={}, access_key=None, sealed_secret=None)
        if change.parameters is not None:
            record = self._with_parameters(record, change.parameters)
        if change.name is not None:
            record = replace(record, name=change.name)
        if record.name == current.name:
            self._replace_same_name(record)
        else:
            self._rename(current, record)
        return record

    def delete(self, record: StorageRecord) -> None:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=_key(record.account, record.name),
                ConditionExpression="id = :id",
                ExpressionAttributeValues={":id": {"N": str(record.id)}},
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise not_found() from None
            raise

    def _replace_same_name(self, record: StorageRecord) -> None:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=_item(record),
                ConditionExpression="id = :id",
                ExpressionAttributeValues={":id": {"N": str(record.id)}},
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise not_found() from None  # deleted meanwhile
            raise

    def _rename(self, current: StorageRecord, record: StorageRecord) -> None:
        """The name is the key: delete the old item and put the new one in one transaction."""
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _key(current.account, current.name),
                            "ConditionExpression": "id = :id",
                            "ExpressionAttributeValues": {":id": {"N": str(current.id)}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _item(record),
                            "ConditionExpression": "attribute_not_exists(account)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in cast(Any, exc.response).get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise _name_taken(record.name) from None
            raise not_found() from None

    def _with_parameters(self, record: StorageRecord, parameters: Any) -> StorageRecord:
        """`record` with full or partial parameters applied; a new secret is sealed here."""
        params = dict(record.parameters)
        access_key, sealed = record.access_key, record.sealed_secret
        credentials: Credentials | None = None
        if isinstance(parameters, BucketParameters | BucketParametersChange):
            for field in ("bucket", "path"):
                value = getattr(parameters, field)
                if value is not None:
                    params[field] = value
            params.setdefault("path", "")
            credentials = parameters.credentials
        elif (
            isinstance(parameters, WebFolderParameters | WebFolderParametersChange)
            and parameters.base_url is not None
        ):
            params["base_url"] = parameters.base_url
        if credentials is not None:
            access_key = credentials.access_key
            sealed = self._secrets.seal(
                credentials.secret_access_key, account=record.account, storage_id=record.id
            )
        if record.type not in BUCKET_TYPES:
            access_key, sealed = None, None
        return replace(record, parameters=params, access_key=access_key, sealed_secret=sealed)


def deployed_registry() -> StorageRegistry:
    """The registry of this deployment: the template's table and KMS key, the function's clients (the
    KMS one made when a secret is first sealed or opened: most requests name no storage)."""
    from pixelport import aws, settings

    secrets = SecretBox(aws.on_first_use(aws.kms), settings.storage_secrets_key())
    return StorageRegistry(aws.dynamodb(), settings.storages_table(), secrets)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _key(account: str, name: str) -> dict[str, AttributeValueTypeDef]:
    return {"account": {"S": account}, "name": {"S": name}}


def _item(record: StorageRecord) -> dict[str, AttributeValueTypeDef]:
    item: dict[str, AttributeValueTypeDef] = {
        **_key(record.account, record.name),
        "id": {"N": str(record.id)},
        "type": {"S": record.type},
        "parameters": {"S": json.dumps(record.parameters, separators=(",", ":"))},
        "created_at": {"S": record.created_at},
    }
    if record.access_key is not None:
        item["access_key"] = {"S": record.access_key}
    if record.sealed_secret is not None:
        item["secret"] = {"B": record.sealed_secret}
    return item


def _record(item: Mapping[str, Any]) -> StorageRecord:
    return StorageRecord(
        id=int(item["id"]["N"]),
        account=item["account"]["S"],
        name=item["name"]["S"],
        type=item["type"]["S"],
        parameters=json.loads(item["parameters"]["S"]),
        created_at=item["created_at"]["S"],
        access_key=item["access_key"]["S"] if "access_key" in item else None,
        sealed_secret=bytes(item["secret"]["B"]) if "secret" in item else None,
    )
