"""Where results go: the temporary results bucket (24 h lifecycle, public URL through CloudFront)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

TMP_PREFIX = "tmp/"


def store_tmp(
    s3: S3Client, *, bucket: str, base_url: str, name: str, data: bytes, mime: str
) -> dict[str, Any]:
    """Write under an unguessable key (128 random bits) and answer with the public `tmp_url`."""
    key = f"{TMP_PREFIX}{secrets.token_urlsafe(16)}/{name}"
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType=mime,
        # The key never changes content and the object is deleted after a day.
        CacheControl="public, max-age=86400, immutable",
        ContentDisposition=f'inline; filename="{name}"',
    )
    return {"tmp_url": f"{base_url}/{quote(key)}"}
