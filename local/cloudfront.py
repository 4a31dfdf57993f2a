"""CloudFront, played by the local gateway under /tmp/: the results bucket, and the rule of the
template's ResultsExpiryFunction (a CloudFront Function) that a result's link ends when the expiry
time in its key passes. tests/infra runs that function's JavaScript against this rule."""

from __future__ import annotations

import re

# tmp/<expiry, unix seconds>/<22 url-safe characters: 128 random bits>/<name>
_EXPIRING = re.compile(r"^/?tmp/([0-9]{10})/[A-Za-z0-9_-]{22}/[^/]+$")


def expired(key: str, now: float) -> bool:
    """True once the key's expiry has passed; keys without one are left to the lifecycle rule."""
    found = _EXPIRING.match(key)
    return found is not None and now >= int(found.group(1))
