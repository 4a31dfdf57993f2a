"""Connected-storage helpers: bodies of the /v1/storage routes, a customer's bucket with its own keys,
and two accounts behind two keys."""

from __future__ import annotations

from typing import Any

from local.keys import register_local_key
from local.resources import LocalNames
from tests.support.log_scan import remember_secret

# Two accounts for isolation tests: each key maps to its own account.
ACCOUNT_KEYS = {"key-of-account-a": "account-a", "key-of-account-b": "account-b"}
KEY_A, KEY_B = ACCOUNT_KEYS


def bucket_body(
    name: str = "storage-name",
    *,
    kind: str = "s3",
    bucket: str = "customer-bucket",
    path: str = "",
    access_key: str = "AKIACUSTOMER0001",
    secret: str = "customer-secret-0001/abcdefghijklmnopqrstuvwxyz",
) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "parameters": {
            "bucket": bucket,
            "path": path,
            "credentials": {"access_key": access_key, "secret_access_key": remember_secret(secret)},
        },
    }


def web_folder_body(name: str, base_url: str) -> dict[str, Any]:
    return {"name": name, "type": "web_folder", "parameters": {"base_url": base_url}}


def two_accounts(names: LocalNames) -> None:
    """KEY_A and KEY_B registered as keys of two accounts, with both scopes, in the `aws` fixture's
    accounts table."""
    import boto3

    from pixelport.ratelimit import RatePolicy
    from tests.support.running_stack import GENEROUS_RATE_LIMITS

    for key, account in ACCOUNT_KEYS.items():
        register_local_key(
            boto3.client("dynamodb"),
            names.table("AccountsTable"),
            key,
            RatePolicy.parse(GENEROUS_RATE_LIMITS),
            account,
        )
