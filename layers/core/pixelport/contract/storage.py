"""Bodies of the /v1/storage routes (SPEC 5): a storage's name, type and per-type parameters.

The rules of a storage's `path` (the prefix every `storage://name/<p>` resolves under) live here once;
`pixelport.storage.paths` checks the joined key again, so a reference cannot leave the prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args
from urllib.parse import unquote

from pydantic import AfterValidator, Field, ValidationError

from pixelport.contract.base import StrictModel, details_from
from pixelport.contract.source_url import MAX_URL_LENGTH, check_source_url
from pixelport.errors import Details, ValidationFailed, merge_details

StorageType = Literal["web_folder", "s3", "gcs"]
# SPEC 5's answer of GET /v1/storage/storage-types, in its order.
STORAGE_TYPES: tuple[StorageType, ...] = get_args(StorageType)
BUCKET_TYPES: frozenset[str] = frozenset({"s3", "gcs"})

MAX_NAME_LENGTH = 50
MAX_PATH_LENGTH = 1024  # S3 and GCS keys are at most 1024 bytes
# S3's bucket rules, widened to GCS's (underscores, and up to 222 characters with dots).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
# A name is the first segment of storage://<name>/<path>: no separators, escapes or blanks in it.
_NAME_REFUSED = re.compile(r"[/\\%\s\x00-\x1f\x7f]")


def _check_name(value: str) -> str:
    if _NAME_REFUSED.search(value):
        raise ValueError("storage name must not contain '/', '\\', '%', spaces or control characters")
    return value


def _check_bucket(value: str) -> str:
    if not _BUCKET.fullmatch(value) or ".." in value:
        raise ValueError(
            "bucket name must be 3-222 lower-case letters, digits, '.', '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return value


def storage_path_problem(path: str) -> str | None:
    """Why a (percent-decoded) storage path may not be used, or None. A trailing '/' is allowed."""
    if "\\" in path:
        return "must not contain backslashes"
    if path.startswith("/"):
        return "must be relative: no leading '/'"
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        return "must not contain control characters"
    segments = path.removesuffix("/").split("/") if path else []
    if any(s in {".", ".."} for s in segments):
        return "must not contain '.' or '..' segments"
    if any(s == "" for s in segments):
        return "must not contain empty segments ('//')"
    return None


def percent_decoded(value: str) -> str:
    """SPEC 5: storage paths are percent-decoded first; bytes that are not UTF-8 are refused rather than
    silently replaced."""
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise ValueError("path is not valid percent-encoded UTF-8") from None


def normalise_prefix(value: str) -> str:
    """A storage's `path`: percent-decoded first (SPEC 5), checked, kept without a trailing '/'."""
    path = percent_decoded(value)
    problem = storage_path_problem(path)
    if problem:
        raise ValueError(f"path {problem}")
    return path.removesuffix("/")


def _check_base_url(value: str) -> str:
    url = check_source_url(value, max_length=MAX_URL_LENGTH)
    if url.query or "#" in value:
        raise ValueError("base_url must not carry a query or a fragment; paths are appended to it")
    return value if value.endswith("/") else value + "/"


StorageName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(_check_name)]
BucketName = Annotated[str, AfterValidator(_check_bucket)]
StoragePrefix = Annotated[str, Field(max_length=MAX_PATH_LENGTH), AfterValidator(normalise_prefix)]
BaseUrl = Annotated[str, Field(min_length=1), AfterValidator(_check_base_url)]


_BUCKET_DESCRIPTION = (
    "the bucket's name: lower-case letters, digits, '.', '-' and '_', starting and ending with a "
    "letter or digit"
)
_PATH_DESCRIPTION = (
    "the prefix under which every storage://<name>/<p> resolves, relative (no leading '/'), "
    "percent-decoded first; no '.', '..' or empty segments, backslashes or control characters"
)
_BASE_URL_DESCRIPTION = (
    "an http(s) URL on a public address, without query or fragment; storage://<name>/<p> reads base_url + p"
)
_UNCHANGED = "left out: unchanged"


class Credentials(StrictModel):
    access_key: str = Field(
        min_length=1, max_length=128, description="the access key id (gcs: an HMAC key's access id)"
    )
    secret_access_key: str = Field(
        min_length=1,
        max_length=256,
        description="the secret (gcs: the HMAC key's secret); stored encrypted, never answered or logged",
    )


class BucketParameters(StrictModel):
    """s3 and gcs (gcs with HMAC interoperability keys)."""

    bucket: BucketName = Field(description=_BUCKET_DESCRIPTION)
    path: StoragePrefix = Field("", description=_PATH_DESCRIPTION)
    credentials: Credentials = Field(description="keys that can read and write the bucket")


class WebFolderParameters(StrictModel):
    """A read-only source: GET base_url + path."""

    base_url: BaseUrl = Field(description=_BASE_URL_DESCRIPTION)


class BucketParametersChange(StrictModel):
    bucket: BucketName | None = Field(None, description=f"{_BUCKET_DESCRIPTION}; {_UNCHANGED}")
    path: StoragePrefix | None = Field(None, description=f"{_PATH_DESCRIPTION}; {_UNCHANGED}")
    credentials: Credentials | None = Field(None, description=f"both keys, to rotate them; {_UNCHANGED}")


class WebFolderParametersChange(StrictModel):
    base_url: BaseUrl | None = Field(None, description=f"{_BASE_URL_DESCRIPTION}; {_UNCHANGED}")


Parameters = BucketParameters | WebFolderParameters
ParametersChange = BucketParametersChange | WebFolderParametersChange


def _parameters_model(kind: str, *, change: bool) -> type[StrictModel]:
    if kind in BUCKET_TYPES:
        return BucketParametersChange if change else BucketParameters
    return WebFolderParametersChange if change else WebFolderParameters


class _Create(StrictModel):
    name: StorageName
    type: StorageType
    parameters: dict[str, Any]


class _Change(StrictModel):
    name: StorageName | None = None
    type: StorageType | None = None
    parameters: dict[str, Any] | None = None


_NAME_DESCRIPTION = (
    "the <name> of storage://<name>/<path>, unique in the account; no '/', '\\', '%', spaces or "
    "control characters"
)


class BucketStorageBody(StrictModel):
    """POST /v1/storage/storages for an s3 or gcs bucket (the document's view of `parse_storage_create`)."""

    name: StorageName = Field(description=_NAME_DESCRIPTION)
    type: Literal["s3", "gcs"] = Field(description="an Amazon S3 bucket, or a Google Cloud Storage bucket")
    parameters: BucketParameters = Field(description="the bucket, a path prefix in it, and its keys")


class WebFolderStorageBody(StrictModel):
    """POST /v1/storage/storages for a read-only web folder."""

    name: StorageName = Field(description=_NAME_DESCRIPTION)
    type: Literal["web_folder"] = Field(description="a read-only source of images over http(s)")
    parameters: WebFolderParameters = Field(description="the folder's base URL")


StorageCreateBody = Annotated[BucketStorageBody | WebFolderStorageBody, Field(discriminator="type")]


class StorageChangeBody(StrictModel):
    """PATCH /v1/storage/storages/{id}: any of name, type, parameters (at least one). With the type
    unchanged, `parameters` changes only the keys it names; a new type needs its parameters whole."""

    name: StorageName | None = Field(None, description=f"{_NAME_DESCRIPTION}; {_UNCHANGED}")
    type: StorageType | None = Field(
        None, description=f"a new type, which needs its parameters whole; {_UNCHANGED}"
    )
    parameters: BucketParametersChange | WebFolderParametersChange | None = Field(
        None,
        description="with the type unchanged, only the keys given change; with a new type, all of "
        f"them; {_UNCHANGED}",
    )


@dataclass(frozen=True)
class StorageSpec:
    """A valid POST body."""

    name: str
    type: StorageType
    parameters: Parameters


@dataclass(frozen=True)
class StorageChange:
    """A valid PATCH body: `parameters` is complete when `type` changes, partial otherwise."""

    name: str | None
    type: StorageType | None
    parameters: Parameters | ParametersChange | None


def _validate_parameters(kind: Any, raw: Any, *, change: bool) -> tuple[Any, Details]:
    if kind not in STORAGE_TYPES or not isinstance(raw, dict):
        return None, {}
    try:
        return _parameters_model(kind, change=change).model_validate(raw), {}
    except ValidationError as exc:
        return None, details_from(exc, prefix="parameters")


def parse_storage_create(body: Any) -> StorageSpec:
    """POST /v1/storage/storages; one 422 naming every bad field (parameters checked per type)."""
    raw = body if isinstance(body, dict) else {}
    errors: Details = {}
    try:
        top: _Create | None = _Create.model_validate(body)
    except ValidationError as exc:
        top, errors = None, details_from(exc)
    parameters, problems = _validate_parameters(raw.get("type"), raw.get("parameters"), change=False)
    errors = merge_details(errors, problems)
    if errors or top is None:
        raise ValidationFailed(errors)
    return StorageSpec(top.name, top.type, parameters)


def parse_storage_change(body: Any, *, current_type: str) -> StorageChange:
    """PATCH /v1/storage/storages/{id}: any of name, type, parameters.

    (decided) With the type unchanged, `parameters` changes only the keys it names (so a rotation sends
    just `credentials`, a move just `path`); a new type needs its parameters whole.
    """
    raw = body if isinstance(body, dict) else {}
    errors: Details = {}
    try:
        top: _Change | None = _Change.model_validate(body)
    except ValidationError as exc:
        top, errors = None, details_from(exc)
    if top is not None and not top.model_fields_set:
        errors = {"body": ["give at least one of name, type, parameters"]}
    kind = raw.get("type", current_type)
    new_type = kind != current_type
    if new_type and kind in STORAGE_TYPES and "parameters" not in raw:
        errors = merge_details(errors, {"parameters": [f"field required when the type changes to {kind}"]})
    parameters, problems = _validate_parameters(kind, raw.get("parameters"), change=not new_type)
    errors = merge_details(errors, problems)
    if errors or top is None:
        raise ValidationFailed(errors)
    return StorageChange(top.name, top.type, parameters)
