"""s3 and gcs storages: objects in a customer's bucket, reached with the storage's own credentials.

GCS is spoken to through its S3-interoperable XML API with HMAC keys: the same boto3 client, aimed at
`settings.gcs_endpoint()`. Each client carries only the storage's keys, never the function's role.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session

from pixelport import settings
from pixelport.contract.limits import limits
from pixelport.errors import (
    INPUT_TOO_LARGE,
    STORAGE_ACCESS_REFUSED,
    STORAGE_BUCKET_MISSING,
    STORAGE_FAILED,
    STORAGE_OBJECT_MISSING,
    STORAGE_UNREACHABLE,
    PixelportError,
)
from pixelport.sources.url import Fetched
from pixelport.storage.paths import object_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_READ_CHUNK = 256 * 1024
_ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "InvalidSecurity",
        "SignatureDoesNotMatch",
        "AccountProblem",
        "InvalidToken",
        "ExpiredToken",
        "403",
        "401",
    }
)
# Sorts after every key under a prefix (S3 orders keys by their UTF-8 bytes).
_LAST_CHARACTER = "\U0010ffff"
_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def bucket_client(kind: str, access_key: str, secret_key: str) -> S3Client:
    """A client signing with these keys only; for gcs aimed at the GCS endpoint."""
    fetch = limits().fetch_timeout_seconds
    endpoint = settings.gcs_endpoint() if kind == "gcs" else None
    connect = min(limits().connect_timeout_seconds, fetch / 2)
    return _client(kind, access_key, secret_key, endpoint, connect, fetch / 2)


@lru_cache(maxsize=32)
def _client(
    kind: str, access_key: str, secret_key: str, endpoint: str | None, connect: float, read: float
) -> S3Client:
    config = Config(
        connect_timeout=connect,
        read_timeout=read,
        retries={"mode": "standard", "total_max_attempts": 2},
        # GCS's XML API does not take the CRC trailers boto3 adds by default.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"} if kind == "gcs" else {},
    )
    extra: dict[str, Any] = {}
    if endpoint is not None:
        extra = {"endpoint_url": endpoint, "region_name": "auto"}
    # A session of its own: explicit keys and no session token, whatever the function's role holds.
    client = Session().create_client(
        "s3",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=None,
        config=config,
        **extra,
    )
    return cast("S3Client", client)


@dataclass(frozen=True)
class BucketStorage:
    name: str  # the storage's name, for messages and object_uri
    client: S3Client
    bucket: str
    prefix: str

    def read(self, path: str) -> Fetched:
        key = object_key(self.prefix, path)
        deadline = time.monotonic() + limits().fetch_timeout_seconds
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=key)
            if obj["ContentLength"] > limits().max_input_bytes:
                obj["Body"].close()
                raise PixelportError(
                    INPUT_TOO_LARGE, f"input is larger than {limits().max_input_bytes} bytes"
                )
            chunks: list[bytes] = []
            while chunk := obj["Body"].read(_READ_CHUNK):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    obj["Body"].close()
                    raise PixelportError(
                        STORAGE_UNREACHABLE,
                        f"storage '{self.name}' did not deliver '{path}' within "
                        f"{limits().fetch_timeout_seconds:g} s",
                    )
        except (ClientError, BotoCoreError) as exc:
            raise self._refused(exc, path) from None
        return Fetched(
            data=b"".join(chunks),
            url=f"storage://{self.name}/{path}",
            content_type=None,
            name=path.rsplit("/", 1)[-1],
        )

    def list_folder(
        self, folder: str, *, recursive: bool, start_after: str = "", limit: int = 1000
    ) -> tuple[list[str], str | None]:
        """Up to `limit` object paths (storage paths, not keys) under `folder` in key order, after the
        bucket key `start_after`; and the key the next page starts after, None at the end. Folder
        markers (keys ending in '/') are skipped; without `recursive`, so is every subfolder."""
        base = object_key(self.prefix, folder) if folder else (f"{self.prefix}/" if self.prefix else "")
        strip = f"{self.prefix}/" if self.prefix else ""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": base, "MaxKeys": limit}
        if not recursive:
            kwargs["Delimiter"] = "/"
        if start_after:
            kwargs["StartAfter"] = start_after
        try:
            page = self.client.list_objects_v2(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self._refused(exc, folder) from None
        keys = [obj["Key"] for obj in page.get("Contents", [])]
        # A subfolder rolled up under the delimiter is passed over whole: resume after its last key.
        skipped = [p["Prefix"] + _LAST_CHARACTER for p in page.get("CommonPrefixes", [])]
        paths = [key[len(strip) :] for key in keys if not key.endswith("/")]
        seen = max([*keys, *skipped], default=None)
        return paths, seen if page.get("IsTruncated") and seen is not None else None

    def write(self, path: str, data: bytes, mime: str) -> dict[str, str]:
        key = object_key(self.prefix, path)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=mime)
        except (ClientError, BotoCoreError) as exc:
            raise self._refused(exc, path) from None
        return {
            "object_key": key,
            "object_bucket": self.bucket,
            "object_uri": f"storage://{self.name}/{path}",
        }

    def _refused(self, exc: ClientError | BotoCoreError, path: str) -> PixelportError:
        """A clear 400 that names the storage and the path, never the keys or the server's text."""
        where = f"storage '{self.name}'"
        if not isinstance(exc, ClientError):
            return PixelportError(
                STORAGE_UNREACHABLE,
                f"{where} could not be reached within {limits().fetch_timeout_seconds:g} s "
                f"({type(exc).__name__})",
            )
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "NoSuchBucket":
            return PixelportError(STORAGE_BUCKET_MISSING, f"{where}: bucket '{self.bucket}' does not exist")
        if code in _ACCESS_CODES:
            return PixelportError(
                STORAGE_ACCESS_REFUSED,
                f"{where} refused access to '{path}' ({code}); check the storage's credentials and "
                "the permissions they grant",
            )
        if code in _MISSING_OBJECT_CODES:
            return PixelportError(STORAGE_OBJECT_MISSING, f"{where} has no object '{path}'")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return PixelportError(STORAGE_FAILED, f"{where} answered {code or 'an error'} (HTTP {status})")
