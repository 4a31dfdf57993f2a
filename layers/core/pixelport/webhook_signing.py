"""The headers of a webhook delivery: the signatures (SPEC 2.2), over the raw body and over
`<timestamp>.<body>`, and the delivery id a receiver de-duplicates on."""

from __future__ import annotations

import hashlib
import hmac
import uuid

BODY_SIGNATURE = "X-Pixelport-Hmac-SHA256"
TIMESTAMP = "X-Pixelport-Timestamp"
SIGNATURE = "X-Pixelport-Signature"
DELIVERY = "X-Pixelport-Delivery"

_DELIVERIES = uuid.UUID("5b0d4c1e-8f0a-4e6b-9d39-6a1f2c7e0b52")


def delivery_id(task_id: int, status: str, ended_at: str) -> str:
    """One id per event (a task or batch that ended), the same on every retry or duplicate of it:
    derived from what ended and when, never drawn at random per attempt."""
    return str(uuid.uuid5(_DELIVERIES, f"{task_id}/{status}/{ended_at}"))


def signature_headers(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    key = secret.encode("utf-8")
    signed = f"{timestamp}.".encode() + body
    return {
        "Content-Type": "application/json",
        BODY_SIGNATURE: hmac.new(key, body, hashlib.sha256).hexdigest(),
        TIMESTAMP: str(timestamp),
        SIGNATURE: hmac.new(key, signed, hashlib.sha256).hexdigest(),
    }
