"""Where results go: the temporary results bucket, with a public URL through CloudFront.

SPEC 3: a temporary result is gone 24 hours after it was written. The key carries its own expiry
(`tmp/<unix seconds>/<128 random bits>/<name>`), which a CloudFront Function (template.yaml,
ResultsExpiryFunction) checks on every request, so a link stops working on time; the bucket's
lifecycle rule, which runs about once a day, only cleans up behind it.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TMP_PREFIX = "tmp/"
TMP_LIFETIME_SECONDS = 24 * 3600


def now() -> float:
    return time.time()


def tmp_key(name: str, *, written_at: float) -> str:
    expires = int(written_at) + TMP_LIFETIME_SECONDS
    return f"{TMP_PREFIX}{expires}/{secrets.token_urlsafe(16)}/{name}"


def store_tmp(
    s3: S3Client, *, bucket: str, base_url: str, name: str, data: bytes, mime: str
) -> dict[str, Any]:
    """Write under an unguessable key that expires in 24 hours and answer with the public `tmp_url`."""
    written_at = now()
    key = tmp_key(name, written_at=written_at)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=mime,
        # The key never changes content; no cache may keep it past the link's end.
        CacheControl="public, immutable",
        Expires=datetime.fromtimestamp(int(written_at) + TMP_LIFETIME_SECONDS, UTC),
        ContentDisposition=f'inline; filename="{name}"',
    )
    return {"tmp_url": f"{base_url}/{quote(key)}"}
