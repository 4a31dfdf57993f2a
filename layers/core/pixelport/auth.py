"""Who is calling and may they: `Authorization: Bearer <key>` -> account and scopes (401 code 111),
the account's rate limit on the image routes (429 code 2001), the route's scope (403 code 112).

Lookups are cached in the warm function for `limits().key_cache_seconds`: a revoked key is refused,
and an account's new limits apply, within that many seconds. Unknown keys are not cached, so a key
works as soon as it is created.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pixelport.accounts import AccountStore, ApiKey, Scope, key_digest
from pixelport.contract.limits import limits
from pixelport.errors import AUTH_REQUIRED, SCOPE_MISSING, PixelportError
from pixelport.ratelimit import RateCounter, RatePolicy, Verdict

# The routes each scope opens (SPEC 1); any other path needs only a valid key.
SCOPED_PREFIXES = {"/v1/image/": Scope.IMAGE_EDITING, "/v1/storage/": Scope.STORAGE}
# The routes whose answers are counted and carry RateLimit-* headers (SPEC 6).
RATE_LIMITED_PREFIX = "/v1/image/"
CACHE_ENTRIES = 1024

T = TypeVar("T")


class TimedCache(Generic[T]):
    """The last few lookups, each trusted for `ttl()` seconds."""

    def __init__(self, ttl: Callable[[], float], now: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.now = now
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def get(self, key: str, load: Callable[[], T]) -> T:
        at = self.now()
        if (entry := self._entries.get(key)) is not None and entry[0] > at:
            return entry[1]
        value = load()
        self._entries[key] = (at + self.ttl(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > CACHE_ENTRIES:
            self._entries.popitem(last=False)
        return value

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)


def unauthorized() -> PixelportError:
    return PixelportError(AUTH_REQUIRED, "Authorization is required.")


def bearer_key(authorization: str | None) -> str:
    scheme, _, key = (authorization or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise unauthorized()
    return key


def required_scope(path: str) -> Scope | None:
    return next((scope for prefix, scope in SCOPED_PREFIXES.items() if path.startswith(prefix)), None)


@dataclass
class Admission:
    """A request let in: its account, and the headers every answer to it carries."""

    account: str
    headers: dict[str, str] = field(default_factory=dict)


class Gate:
    def __init__(self, store: AccountStore, counter: RateCounter, now: Callable[[], float] = time.monotonic):
        self.store = store
        self.counter = counter
        self.now = now  # the caches' clock (tests move it)
        ttl = lambda: limits().key_cache_seconds  # noqa: E731 - read per lookup: tests change it
        self._keys: TimedCache[ApiKey | None] = TimedCache(ttl, lambda: self.now())
        self._policies: TimedCache[RatePolicy] = TimedCache(ttl, lambda: self.now())

    def admit(self, path: str, authorization: str | None, headers: dict[str, str]) -> str:
        """The caller's account; `headers` receives the RateLimit-* headers as soon as they are known,
        so a refusal after the count carries them too."""
        key = self.key(bearer_key(authorization))
        if path.startswith(RATE_LIMITED_PREFIX):
            verdict = self.count(key.account)
            headers.update(verdict.headers())
            if not verdict.allowed:
                raise verdict.refusal()
        scope = required_scope(path)
        if scope is not None and scope not in key.scopes:
            raise PixelportError(SCOPE_MISSING, f"This key lacks the '{scope}' scope this route needs.")
        return key.account

    def key(self, secret: str) -> ApiKey:
        digest = key_digest(secret)
        found = self._keys.get(digest, lambda: self.store.find_key(secret))
        if found is None:
            self._keys.forget(digest)  # a key created a moment later works at once
            raise unauthorized()
        if found.revoked:
            raise unauthorized()
        return found

    def count(self, account: str) -> Verdict:
        policy = self._policies.get(account, lambda: self.store.limits_of(account) or RatePolicy.default())
        return self.counter.hit(account, policy)
