"""Rate limits through ApiFunction's handler: fixed windows per account, counted in the template's
RateCountersTable, reported in RateLimit-* headers; the clock is the test's."""

from __future__ import annotations

from collections.abc import Callable

import boto3

from local.resources import LocalNames
from pixelport.ratelimit import RateCounter, RatePolicy
from tests.support.clock import Clock
from tests.support.keys import gate_on, get_unknown_task, new_key
from tests.support.lambdas import response_json

DEFAULT_LIMIT = "120, 120;w=60, 4;w=1"


def test_every_answer_of_an_image_route_carries_the_default_rate_limit_headers(
    aws: LocalNames, clock: Clock
) -> None:
    gate_on(clock)
    key = new_key(aws, "plain")
    headers = get_unknown_task(key.key)["headers"]
    assert headers["RateLimit-Limit"] == DEFAULT_LIMIT
    assert headers["RateLimit-Remaining"] == "3"  # the second's quota is the nearest to running out
    assert headers["RateLimit-Reset"] == "1"


def test_the_121st_request_of_a_minute_is_429_with_remaining_minus_one(aws: LocalNames, clock: Clock) -> None:
    gate_on(clock)
    key = new_key(aws, "busy", limits="120;w=60, 1000;w=1")  # the minute's quota alone decides
    answers = []
    for _ in range(130):
        answers.append(get_unknown_task(key.key))
        clock.advance(0.1)  # 13 s: one fixed minute

    assert [a["statusCode"] for a in answers] == [404] * 120 + [429] * 10
    assert [a["headers"]["RateLimit-Remaining"] for a in answers[:120]] == [
        str(n) for n in range(119, -1, -1)
    ]
    refused = answers[120]
    assert refused["headers"]["RateLimit-Remaining"] == "-1"
    assert refused["headers"]["RateLimit-Limit"] == "120, 120;w=60, 1000;w=1"
    assert refused["headers"]["RateLimit-Reset"] == str(60 - 12)  # 12.25 s into the minute
    body = response_json(refused)
    assert set(body) == {"detail"}
    assert body["detail"]["error_code"] == "2001"
    assert body["detail"]["error_type"] == "general"

    clock.advance(60)
    assert get_unknown_task(key.key)["statusCode"] == 404  # the next minute starts afresh


def test_the_5th_request_in_one_second_is_429_and_another_account_is_unaffected(
    aws: LocalNames, clock: Clock
) -> None:
    gate_on(clock)
    first, second = new_key(aws, "first"), new_key(aws, "second")
    answers = [get_unknown_task(first.key) for _ in range(5)]
    assert [a["statusCode"] for a in answers] == [404, 404, 404, 404, 429]
    assert answers[4]["headers"]["RateLimit-Remaining"] == "-1"
    assert answers[4]["headers"]["RateLimit-Reset"] == "1"

    other = get_unknown_task(second.key)
    assert other["statusCode"] == 404
    assert other["headers"]["RateLimit-Remaining"] == "3"

    clock.advance(1)
    assert get_unknown_task(first.key)["statusCode"] == 404


def test_a_request_refused_by_the_second_does_not_use_up_the_minute(aws: LocalNames, clock: Clock) -> None:
    gate_on(clock)
    key = new_key(aws, "bursty", limits="10;w=60, 2;w=1")
    statuses = [get_unknown_task(key.key)["statusCode"] for _ in range(6)]
    assert statuses == [404, 404, 429, 429, 429, 429]
    minute = boto3.client("dynamodb").get_item(
        TableName=aws.table("RateCountersTable"),
        Key={"id": {"S": f"bursty|60|{int(clock.at // 60 * 60)}"}},
    )["Item"]
    assert minute["hits"] == {"N": "2"}


def test_an_accounts_new_limits_apply_within_the_key_cache_time(
    aws: LocalNames, clock: Clock, set_limits: Callable[..., None]
) -> None:
    set_limits(key_cache_seconds=5)
    gate_on(clock)
    key = new_key(aws, "upgraded")
    assert get_unknown_task(key.key)["headers"]["RateLimit-Limit"] == DEFAULT_LIMIT
    from tests.support.keys import account_store

    account_store(aws).set_limits("upgraded", RatePolicy.parse("600;w=60, 20;w=1"))
    clock.advance(5.1)
    assert get_unknown_task(key.key)["headers"]["RateLimit-Limit"] == "600, 600;w=60, 20;w=1"


def test_the_deployment_defaults_are_configurable(
    aws: LocalNames, clock: Clock, set_limits: Callable[..., None]
) -> None:
    set_limits(rate_limit_per_minute=50, rate_limit_per_second=2)
    gate_on(clock)
    key = new_key(aws, "configured")
    assert get_unknown_task(key.key)["headers"]["RateLimit-Limit"] == "50, 50;w=60, 2;w=1"


def test_two_counters_on_one_table_share_the_count_and_windows_expire_by_ttl(
    aws: LocalNames, clock: Clock
) -> None:
    """Two API function instances are two counters on the same table: the count is the table's."""
    clock.at = 1_800_000_000.5
    table = aws.table("RateCountersTable")
    one, two = (RateCounter(boto3.client("dynamodb"), table, clock) for _ in range(2))
    policy = RatePolicy.parse("3;w=60, 100;w=1")
    verdicts = [counter.hit("shared", policy) for counter in (one, two, one, two)]
    assert [v.remaining for v in verdicts] == [2, 1, 0, -1]

    item = boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "shared|60|1800000000"}})[
        "Item"
    ]
    assert item["hits"] == {"N": "3"}
    assert int(item["expires_at"]["N"]) > 1_800_000_060  # after its window, so TTL never ends a live one
