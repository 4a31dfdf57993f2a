"""Per-account rate limits (SPEC 6): quotas on fixed windows, counted in DynamoDB so that every API
function instance shares one count, and the RateLimit-* headers that report them.

A quota is written as in the RateLimit-Limit header: `120;w=60` is 120 requests per 60-second window.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pixelport.contract.limits import limits
from pixelport.errors import RATE_LIMITED, PixelportError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(child=True)

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
    """Fixed windows counted with one atomic UpdateItem each, all sent at once; items expire by the
    table's TTL."""

    def __init__(self, client: DynamoDBClient, table: str, now: Callable[[], float] = time.time):
        self.client = client
        self.table = table
        self.now = now
        self._pool: ThreadPoolExecutor | None = None  # for the second window on; made on first need

    def hit(self, account: str, policy: RatePolicy) -> Verdict:
        """Count one request of `account` in every window at once (one round trip, not one per window).
        Refused by any window: the request uses up none of them (the windows that counted it are given
        it back), and Reset is the time until every refusing window has started again."""
        at = self.now()
        windows = [(quota, math.floor(at / quota.window) * quota.window) for quota in policy.quotas]
        counts = self._add_all(account, windows)
        resets = [max(1, math.ceil(start + quota.window - at)) for quota, start in windows]
        refused = [reset for count, reset in zip(counts, resets, strict=True) if count is None]
        if refused:
            counted = [w for w, count in zip(windows, counts, strict=True) if count is not None]
            self._give_back(account, counted)
            return Verdict(policy, -1, max(refused))
        left, reset = min(
            (quota.limit - (count or 0), reset)
            for (quota, _), count, reset in zip(windows, counts, resets, strict=True)
        )
        return Verdict(policy, left, reset)

    def _add_all(self, account: str, windows: list[tuple[Quota, int]]) -> list[int | None]:
        """Every window's count after this request (None: full), the first one on this thread."""
        if len(windows) == 1:
            return [self._add(account, *windows[0])]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="rate-count")
        others = [self._pool.submit(self._add, account, quota, start) for quota, start in windows[1:]]
        first = self._add(account, *windows[0])
        return [first, *(other.result() for other in others)]

    def _add(self, account: str, quota: Quota, start: int) -> int | None:
        """The window's count after this request; None when it is full (and then left unchanged)."""
        try:
            answer = self.client.update_item(
                TableName=self.table,
                Key={"id": {"S": _counter_id(account, quota, start)}},
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

    def _give_back(self, account: str, counted: list[tuple[Quota, int]]) -> None:
        """A refused request leaves the windows that counted it as they were (a refusal's slow path).
        Until then, a concurrent request may find one of them one fuller than it is: at worst a
        refusal at the very edge of a window's limit. Failing to give back leaves one request too
        many counted: logged, never the client's error."""
        for quota, start in counted:
            try:
                self.client.update_item(
                    TableName=self.table,
                    Key={"id": {"S": _counter_id(account, quota, start)}},
                    UpdateExpression="ADD hits :minus",
                    ConditionExpression="attribute_exists(hits)",
                    ExpressionAttributeValues={":minus": {"N": "-1"}},
                )
            except Exception as exc:  # the refusal stands whatever happens here
                logger.warning(
                    "a refused request's count was not given back",
                    extra={"window": quota.window, "reason": f"{type(exc).__name__}: {exc}"},
                )


def _counter_id(account: str, quota: Quota, start: int) -> str:
    return f"{account}|{quota.window}|{start}"
