"""A customer's bucket in moto, and a record of which access key signed each request that reached it.

moto (in-process) does not check credentials, so tests prove *which* keys pixelport used by reading
the SigV4 `Authorization` header of every request moto receives for the customer's bucket.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.core.botocore_stubber import BotocoreStubber
from PIL import Image

CUSTOMER_BUCKET = "customer-bucket"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/")


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str
    access_key: str | None
    session_token: bool


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def customer_bucket(*objects: tuple[str, bytes]) -> Any:
    """The customer's bucket with `objects` (key, bytes), made with the test's own (moto) client."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=CUSTOMER_BUCKET)
    for key, body in objects:
        s3.put_object(Bucket=CUSTOMER_BUCKET, Key=key, Body=body)
    return s3


@pytest.fixture
def signed_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SignedRequest]]:
    """Every request moto receives, with the access key that signed it."""
    seen: list[SignedRequest] = []
    original = BotocoreStubber.__call__

    def recording(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else str(auth)
        found = _CREDENTIAL.search(auth)
        seen.append(
            SignedRequest(
                method=request.method,
                url=request.url,
                access_key=found.group(1) if found else None,
                session_token="X-Amz-Security-Token" in request.headers,
            )
        )
        return original(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", recording)
    yield seen


def to_customer_bucket(requests: list[SignedRequest]) -> list[SignedRequest]:
    return [r for r in requests if f"/{CUSTOMER_BUCKET}" in r.url or f"//{CUSTOMER_BUCKET}." in r.url]
