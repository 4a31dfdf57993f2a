"""Accounts' API keys and rate limits in the AccountsTable (template.yaml).

A key is stored only as its SHA-256 (`key#<hex digest>`), with its id, account, name, scopes, created
and revoked times; an account's own limits are one item beside its keys (`account#<id>`). The key
itself exists only in the answer of `create`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pixelport.ratelimit import RatePolicy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KEY_PREFIX = "pxp_"
BY_KEY_ID = "ByKeyId"


class Scope(StrEnum):
    IMAGE_EDITING = "image_editing"
    STORAGE = "storage"


class AccountsError(ValueError):
    """A request of the admin tool that cannot be done (unknown key id, bad account id, ...)."""


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """256 random bits: a SHA-256 of it needs no salt or stretching to be safe to store."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def parse_scopes(text: str | Iterable[str]) -> frozenset[Scope]:
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    known = {scope.value for scope in Scope}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise AccountsError(f"scopes are one or more of {', '.join(sorted(known))}; got {text!r}")
    return frozenset(Scope(name) for name in names)


def check_account(account: str) -> str:
    if not ACCOUNT_ID.fullmatch(account):
        raise AccountsError(
            f"account ids are 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit): {account!r}"
        )
    return account


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    account: str
    name: str
    scopes: frozenset[Scope]
    created_at: float
    revoked_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ApiKey:
        return cls(
            key_id=item["key_id"]["S"],
            account=item["account"]["S"],
            name=item.get("name", {}).get("S", ""),
            scopes=frozenset(Scope(s) for s in item["scopes"]["SS"] if s in Scope._value2member_map_),
            created_at=float(item["created_at"]["N"]),
            revoked_at=float(item["revoked_at"]["N"]) if "revoked_at" in item else None,
        )


class AccountStore:
    def __init__(self, client: DynamoDBClient, table: str, now: Callable[[], float] = time.time):
        self.client = client
        self.table = table
        self.now = now

    # -- keys --------------------------------------------------------------------------------------
    def create_key(
        self, account: str, scopes: frozenset[Scope], name: str = "", *, key: str | None = None
    ) -> tuple[str, ApiKey]:
        """A new key (or `key`, for make run's configured one) and its record; the key is not stored."""
        if not scopes:
            raise AccountsError("a key needs at least one scope")
        secret = key or new_key()
        record = ApiKey(new_key_id(), check_account(account), name, scopes, round(self.now(), 3))
        item: dict[str, Any] = {
            "pk": {"S": f"key#{key_digest(secret)}"},
            "kind": {"S": "key"},
            "key_id": {"S": record.key_id},
            "account": {"S": record.account},
            "scopes": {"SS": sorted(scopes)},
            "created_at": {"N": str(record.created_at)},
        }
        if name:
            item["name"] = {"S": name}
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise AccountsError("that key is already registered") from None
            raise
        return secret, record

    def find_key(self, key: str) -> ApiKey | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": f"key#{key_digest(key)}"}}, ConsistentRead=True
        ).get("Item")
        return ApiKey.from_item(item) if item and item.get("kind", {}).get("S") == "key" else None

    def keys(self, account: str | None = None) -> list[ApiKey]:
        found = [ApiKey.from_item(item) for item in self._scan_kind("key")]
        return sorted(
            (k for k in found if account is None or k.account == account), key=lambda k: k.created_at
        )

    def revoke_key(self, key_id: str) -> ApiKey:
        answer = self.client.query(
            TableName=self.table,
            IndexName=BY_KEY_ID,
            KeyConditionExpression="key_id = :id",
            ExpressionAttributeValues={":id": {"S": key_id}},
        )
        if not answer.get("Items"):
            raise AccountsError(f"no key {key_id!r}")
        pk = answer["Items"][0]["pk"]
        updated = self.client.update_item(
            TableName=self.table,
            Key={"pk": pk},
            # Revoking again keeps the first time.
            UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at)",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":at": {"N": str(round(self.now(), 3))}},
            ReturnValues="ALL_NEW",
        )
        return ApiKey.from_item(updated["Attributes"])

    # -- limits ------------------------------------------------------------------------------------
    def set_limits(self, account: str, policy: RatePolicy | None) -> None:
        """An account's own quotas; None returns it to the deployment's defaults."""
        key = {"pk": {"S": f"account#{check_account(account)}"}}
        if policy is None:
            self.client.delete_item(TableName=self.table, Key=key)
            return
        self.client.put_item(
            TableName=self.table,
            Item={**key, "kind": {"S": "account"}, "rate_limits": {"S": policy.notation()}},
        )

    def limits_of(self, account: str) -> RatePolicy | None:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": f"account#{account}"}}, ConsistentRead=True
        ).get("Item")
        return RatePolicy.parse(item["rate_limits"]["S"]) if item and "rate_limits" in item else None

    def accounts_with_limits(self) -> dict[str, RatePolicy]:
        return {
            item["pk"]["S"].removeprefix("account#"): RatePolicy.parse(item["rate_limits"]["S"])
            for item in self._scan_kind("account")
        }

    def _scan_kind(self, kind: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table,
            FilterExpression="kind = :kind",
            ExpressionAttributeValues={":kind": {"S": kind}},
            ConsistentRead=True,
        ):
            yield from page.get("Items", [])
