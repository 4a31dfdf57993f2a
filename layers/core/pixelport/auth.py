"""Who is calling: `Authorization: Bearer <key>` checked against the one configured key.

Until per-account keys land, the deployment has one key (its SHA-256 is a template parameter; the
local stack derives it from PIXELPORT_LOCAL_API_KEY) and one account.
"""

from __future__ import annotations

import hashlib
import hmac

from pixelport import settings
from pixelport.errors import AUTH_REQUIRED, PixelportError

DEFAULT_ACCOUNT = "default"


def authenticate(authorization: str | None) -> str:
    """The account of a valid bearer key; 401 code 111 otherwise."""
    scheme, _, key = (authorization or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise PixelportError(AUTH_REQUIRED, "Authorization is required.")
    digest = hashlib.sha256(key.encode()).hexdigest()
    if not hmac.compare_digest(digest, settings.api_key_sha256()):
        raise PixelportError(AUTH_REQUIRED, "Authorization is required.")
    return DEFAULT_ACCOUNT
