"""An account's webhook (URL and secret) in AccountsTable, `webhook#<account>`; the secret sealed with
KMS, never answered or logged."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pixelport.tasks import iso_timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from pixelport.storage.sealing import KmsClient


@dataclass(frozen=True)
class WebhookRecord:
    account: str
    url: str
    created_at: str
    sealed_secret: bytes

    def shown(self) -> dict[str, str]:
        return {"url": self.url, "created_at": self.created_at}


def _pk(account: str) -> str:
    return f"webhook#{account}"


def _context(account: str) -> dict[str, str]:
    return {"account": account, "purpose": "webhook"}


class WebhookStore:
    def __init__(self, client: DynamoDBClient, table: str, kms: KmsClient, key_id: str):
        self._db = client
        self._table = table
        self._kms = kms
        self._key_id = key_id

    def put(self, account: str, url: str, secret: str) -> WebhookRecord:
        sealed = self._kms.encrypt(
            KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext=_context(account)
        )
        record = WebhookRecord(account, url, iso_timestamp(), bytes(sealed["CiphertextBlob"]))
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": _pk(account)},
                "url": {"S": url},
                "created_at": {"S": record.created_at},
                "secret": {"S": base64.b64encode(record.sealed_secret).decode()},
            },
        )
        return record

    def get(self, account: str) -> WebhookRecord | None:
        item = self._db.get_item(TableName=self._table, Key={"pk": {"S": _pk(account)}}, ConsistentRead=True)
        found = item.get("Item")
        if found is None:
            return None
        return WebhookRecord(
            account, found["url"]["S"], found["created_at"]["S"], base64.b64decode(found["secret"]["S"])
        )

    def delete(self, account: str) -> WebhookRecord | None:
        answer = self._db.delete_item(
            TableName=self._table, Key={"pk": {"S": _pk(account)}}, ReturnValues="ALL_OLD"
        )
        old = answer.get("Attributes")
        if old is None:
            return None
        return WebhookRecord(account, old["url"]["S"], old["created_at"]["S"], b"")

    def secret(self, record: WebhookRecord) -> str:
        opened = self._kms.decrypt(
            CiphertextBlob=record.sealed_secret, EncryptionContext=_context(record.account)
        )
        return bytes(opened["Plaintext"]).decode()
