"""CloudFront, played by the local gateway under /tmp/: the results bucket, and the rule of the
template's ResultsExpiryFunction (a CloudFront Function) that a result's link ends when the expiry
time in its key passes. tests/infra runs that function's JavaScript against this rule."""

from __future__ import annotations

import re
from typing import Any

# tmp/<expiry, unix seconds>/<22 url-safe characters: 128 random bits>/<name>
_EXPIRING = re.compile(r"^/?tmp/([0-9]{10})/[A-Za-z0-9_-]{22}/[^/]+$")


def expired(key: str, now: float) -> bool:
    """True once the key's expiry has passed; keys without one are left to the lifecycle rule."""
    found = _EXPIRING.match(key)
    return found is not None and now >= int(found.group(1))


# What CloudFront's managed response headers policies add, by the id the template names them with
# (AWS's "Use managed response headers policies" page).
_SECURITY_HEADERS = {
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "X-XSS-Protection": "1; mode=block",
}
MANAGED_RESPONSE_HEADERS = {
    "67f7725c-6f97-4210-82d7-5512b31e9d03": _SECURITY_HEADERS,  # SecurityHeadersPolicy
    "e61eb60c-9c35-4d20-a928-2b84e02af89c": {  # CORS-and-SecurityHeadersPolicy
        "Access-Control-Allow-Origin": "*",
        **_SECURITY_HEADERS,
    },
}


def response_headers(distribution: dict[str, Any]) -> dict[str, str]:
    """The headers the distribution's default behaviour adds to every answer (its managed policy)."""
    behaviour = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    policy = behaviour.get("ResponseHeadersPolicyId")
    if isinstance(policy, str) and policy in MANAGED_RESPONSE_HEADERS:
        return dict(MANAGED_RESPONSE_HEADERS[policy])
    return {}
