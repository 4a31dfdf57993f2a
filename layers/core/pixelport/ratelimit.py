"""Per-account rate limits (SPEC 6): quotas on fixed windows, counted in DynamoDB so that every API
function instance shares one count, and the RateLimit-* headers that report them.

A quota is written as in the RateLimit-Limit header: `120;w=60` is 120 requests per 60-second window.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from pixelport.contract.limits import limits
from pixelport.errors import RATE_LIMITED, PixelportError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_QUOTA = re.compile(r"\s*([0-9]{1,9})\s*;\s*w\s*=\s*([0-9]{1,5})\s*")
MAX_WINDOW_SECONDS = 86_400
# A counter outlives its window by this much before DynamoDB's TTL may delete it (TTL deletes lazily,
# and a window's item is never read once the window is over).
COUNTER_GRACE_SECONDS = 60


class InvalidPolicy(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Quota:
    window: int  # seconds
    limit: int  # requests per window

    def notation(self) -> str:
        return f"{self.limit};w={self.window}"


@dataclass(frozen=True)
class RatePolicy:
    """An account's quotas, longest window first."""

    quotas: tuple[Quota, ...]

    @classmethod
    def of(cls, quotas: list[Quota]) -> RatePolicy:
        windows = [q.window for q in quotas]
        if not quotas or len(set(windows)) != len(windows):
            raise InvalidPolicy("give at least one quota, and each window once")
        for quota in quotas:
            if not 1 <= quota.window <= MAX_WINDOW_SECONDS or quota.limit < 1:
                raise InvalidPolicy(
                    f"{quota.notation()}: limit at least 1, window 1 to {MAX_WINDOW_SECONDS} s"
                )
        return cls(tuple(sorted(quotas, reverse=True)))

    @classmethod
    def parse(cls, text: str) -> RatePolicy:
        """`100000;w=60, 10000;w=1`: the notation of the RateLimit-Limit header's quota policies."""
        quotas = []
        for part in text.split(","):
            found = _QUOTA.fullmatch(part)
            if found is None:
                raise InvalidPolicy(f"{part.strip()!r} is not LIMIT;w=SECONDS (e.g. 120;w=60, 4;w=1)")
            quotas.append(Quota(window=int(found.group(2)), limit=int(found.group(1))))
        return cls.of(quotas)

    @classmethod
    def default(cls) -> RatePolicy:
        configured = limits()
        return cls.of(
            [
                Quota(window=60, limit=configured.rate_limit_per_minute),
                Quota(window=1, limit=configured.rate_limit_per_second),
            ]
        )

    def notation(self) -> str:
        return ", ".join(q.notation() for q in self.quotas)

    def limit_header(self) -> str:
        """`120, 120;w=60, 4;w=1`: the longest window's limit, then every quota policy."""
        return f"{self.quotas[0].limit}, {self.notation()}"


@dataclass(frozen=True)
class Verdict:
    """The answer of one counted request: allowed or not, and what its headers say."""

    policy: RatePolicy
    remaining: int  # -1 when refused
    reset: int  # seconds until the window that decided `remaining` starts again

    @property
    def allowed(self) -> bool:
        return self.remaining >= 0

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": self.policy.limit_header(),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }

    def refusal(self) -> PixelportError:
        return PixelportError(
            RATE_LIMITED,
            f"Too Many Requests. Rate limit exceeded ({self.policy.notation()}); retry in {self.reset} s.",
        )


class RateCounter:
    """Fixed windows counted with one atomic UpdateItem each; items expire by the table's TTL."""

    def __init__(self, client: DynamoDBClient, table: str, now: Callable[[], float] = time.time):
        self.client = client
        self.table = table
        self.now = now

    def hit(self, account: str, policy: RatePolicy) -> Verdict:
        """Count one request of `account`: the shortest window first, so a request refused by a
        short window does not use up the longer one."""
        at = self.now()
        remaining: list[tuple[int, int]] = []  # (remaining, reset)
        for quota in sorted(policy.quotas):
            start = math.floor(at / quota.window) * quota.window
            reset = max(1, math.ceil(start + quota.window - at))
            count = self._add(account, quota, start)
            if count is None:
                return Verdict(policy, -1, reset)
            remaining.append((quota.limit - count, reset))
        left, reset = min(remaining)
        return Verdict(policy, left, reset)

    def _add(self, account: str, quota: Quota, start: int) -> int | None:
        """The window's count after this request; None when it is full (and then left unchanged)."""
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": f"{account}|{quota.window}|{start}"}},
                UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(quota.limit)},
                    ":expires": {"N": str(start + quota.window + COUNTER_GRACE_SECONDS)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        return int(answer["Attributes"]["hits"]["N"])
