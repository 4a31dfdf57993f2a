"""Where an image comes from or goes to: http(s) URLs and `storage://<name>/<path>` references."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from pixelport.contract.limits import limits, text_limit
from pixelport.contract.source_url import DEFAULT_PORTS, check_source_url

STORAGE_SCHEME = "storage"


@dataclass(frozen=True)
class UrlRef:
    url: str


@dataclass(frozen=True)
class StorageRef:
    storage: str  # the storage's name in the account
    path: str  # percent-decoded; ends with "/" for a folder

    @property
    def is_folder(self) -> bool:
        return self.path == "" or self.path.endswith("/")

    @property
    def basename(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1] if not self.is_folder else ""


def parse_storage(value: str, *, folder_allowed: bool) -> StorageRef:
    """Parse `storage://name/path`, refusing paths that could escape the storage's prefix (SPEC 5)."""
    rest = value[len(STORAGE_SCHEME) + 3 :]
    name, sep, raw_path = rest.partition("/")
    if not name:
        raise ValueError("storage reference needs a storage name: storage://<name>/<path>")
    if not sep:
        raise ValueError("storage reference needs a path after the storage name: storage://<name>/<path>")
    try:
        path = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        raise ValueError("storage path is not valid percent-encoded UTF-8") from None
    segments = path.split("/")
    if "\\" in path:
        raise ValueError("storage path must not contain backslashes")
    if any(s in {".", ".."} for s in segments):
        raise ValueError("storage path must not contain '.' or '..' segments")
    inner = segments[:-1] if path.endswith("/") else segments
    if path and any(s == "" for s in inner):
        raise ValueError("storage path must not contain empty segments")
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        raise ValueError("storage path must not contain control characters")
    ref = StorageRef(name, path)
    if ref.is_folder and not folder_allowed:
        raise ValueError("must name a file, not a folder")
    return ref


def parse_url(value: str) -> UrlRef:
    check_source_url(value, max_length=text_limit(limits().max_input_url_length))
    return UrlRef(value)


def parse_input(value: str) -> UrlRef | StorageRef:
    if len(value) > (most := text_limit(limits().max_input_url_length)):
        raise ValueError(f"ensure this value has at most {most} characters")
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme == STORAGE_SCHEME:
        return parse_storage(value, folder_allowed=False)
    if not scheme:
        raise ValueError("must be an http(s):// URL or a storage://<name>/<path> reference")
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"unsupported scheme '{scheme}'; use http://, https:// or storage://")
    return parse_url(value)
