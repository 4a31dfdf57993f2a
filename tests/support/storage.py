"""Connected-storage helpers: bodies of the /v1/storage routes, a customer's bucket with its own keys,
and two accounts behind two keys (until per-account keys land, auth knows one)."""

from __future__ import annotations

from typing import Any

import pytest

from pixelport.errors import AUTH_REQUIRED, PixelportError

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
            "credentials": {"access_key": access_key, "secret_access_key": secret},
        },
    }


def web_folder_body(name: str, base_url: str) -> dict[str, Any]:
    return {"name": name, "type": "web_folder", "parameters": {"base_url": base_url}}


def two_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API handler authenticates KEY_A and KEY_B as two different accounts."""
    from functions.api import app as api

    def authenticate(authorization: str | None) -> str:
        key = (authorization or "").partition(" ")[2].strip()
        if key not in ACCOUNT_KEYS:
            raise PixelportError(AUTH_REQUIRED, "Authorization is required.")
        return ACCOUNT_KEYS[key]

    monkeypatch.setattr(api, "authenticate", authenticate)
