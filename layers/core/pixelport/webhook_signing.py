"""The signatures of a webhook delivery (SPEC 2.2): over the raw body, and over `<timestamp>.<body>`."""

from __future__ import annotations

import hashlib
import hmac

BODY_SIGNATURE = "X-Pixelport-Hmac-SHA256"
TIMESTAMP = "X-Pixelport-Timestamp"
SIGNATURE = "X-Pixelport-Signature"


def signature_headers(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    key = secret.encode("utf-8")
    signed = f"{timestamp}.".encode() + body
    return {
        "Content-Type": "application/json",
        BODY_SIGNATURE: hmac.new(key, body, hashlib.sha256).hexdigest(),
        TIMESTAMP: str(timestamp),
        SIGNATURE: hmac.new(key, signed, hashlib.sha256).hexdigest(),
    }
