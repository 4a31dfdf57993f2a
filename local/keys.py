"""`make run`'s one API key: registered in the local accounts table at start, with both scopes, and
the rate limits PIXELPORT_LOCAL_RATE_LIMITS gives its account (the deployment's defaults otherwise)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pixelport.accounts import AccountStore, ApiKey, Scope
from pixelport.ratelimit import InvalidPolicy, RatePolicy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOCAL_ACCOUNT = "local"
RATE_LIMITS_VARIABLE = "PIXELPORT_LOCAL_RATE_LIMITS"


class LocalKeyError(ValueError):
    pass


def local_rate_limits(environ: Mapping[str, str]) -> RatePolicy | None:
    """The local account's quotas in the RateLimit header's notation, e.g. `100000;w=60, 10000;w=1`."""
    text = environ.get(RATE_LIMITS_VARIABLE, "").strip()
    if not text:
        return None
    try:
        return RatePolicy.parse(text)
    except InvalidPolicy as exc:
        raise LocalKeyError(f"{RATE_LIMITS_VARIABLE}: {exc}") from None


def register_local_key(
    client: DynamoDBClient, table: str, key: str, limits: RatePolicy | None, account: str = LOCAL_ACCOUNT
) -> ApiKey:
    store = AccountStore(client, table)
    _, record = store.create_key(account, frozenset(Scope), "make run", key=key)
    if limits is not None:
        store.set_limits(account, limits)
    return record
