"""Accounts and keys for the tests of keys, scopes and rate limits: registered in the `aws` fixture's
accounts table, and the API handler's gate on a clock the test moves."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import boto3

from local.resources import LocalNames
from pixelport.accounts import AccountStore, parse_scopes
from pixelport.ratelimit import RatePolicy
from tests.support.clock import Clock
from tests.support.lambdas import api_event, call_api
from tests.support.log_scan import remember_secret

UNKNOWN_TASK = "/v1/image/edit/async/1"  # an image route that answers at once (404: no such task)


def account_store(names: LocalNames) -> AccountStore:
    return AccountStore(boto3.client("dynamodb"), names.table("AccountsTable"))


@dataclass(frozen=True)
class TestKey:
    __test__ = False  # not a test class for pytest
    key: str
    key_id: str
    account: str


def new_key(
    names: LocalNames,
    account: str,
    scopes: str | Iterable[str] = "image_editing,storage",
    limits: str | None = None,
) -> TestKey:
    store = account_store(names)
    secret, record = store.create_key(account, parse_scopes(scopes), f"{account} test key")
    if limits is not None:
        store.set_limits(account, RatePolicy.parse(limits))
    return TestKey(remember_secret(secret), record.key_id, account)


def gate_on(clock: Clock) -> None:
    """ApiFunction's gate (its caches and its rate counter) reads `clock`, set at the start of a minute."""
    from functions.api import app as api

    clock.at = math.floor(clock.at / 60) * 60 + 60.25
    api.gate().now = clock
    api.gate().counter.now = clock


def get_unknown_task(key: str | None) -> dict[str, Any]:
    return call_api(
        api_event(
            None,
            method="GET",
            path=UNKNOWN_TASK,
            resource="/v1/image/edit/async/{task_id}",
            path_parameters={"task_id": "1"},
            key=key,
        )
    )
