"""Where a `storage://name/<path>` lands: the storage's prefix joined with the path, checked again after
the join so that no path, however it was parsed, reaches a key or URL outside the prefix."""

from __future__ import annotations

import posixpath
from urllib.parse import quote

from pixelport.contract.storage import storage_path_problem


class OutsidePrefix(ValueError):
    """A path that would leave its storage's prefix (a bug upstream: the contract refuses them)."""


def object_key(prefix: str, path: str) -> str:
    """The bucket key of `path` under `prefix` (both percent-decoded; `prefix` without a trailing '/')."""
    for part, what in ((prefix, "prefix"), (path, "path")):
        problem = storage_path_problem(part)
        if problem:
            raise OutsidePrefix(f"storage {what} {problem}")
    key = f"{prefix}/{path}" if prefix and path else prefix or path
    # Belt and braces: a key that is its own normal form has no '..', '.' or empty segment, so
    # "<prefix>/<path>" lies under the prefix.
    normal = posixpath.normpath("/" + key).lstrip("/") if key else ""
    if normal != key.removesuffix("/"):
        raise OutsidePrefix("storage path leaves its prefix")
    return key


def folder_url(base_url: str, path: str) -> str:
    """The URL of `path` in a web folder: every character that could change the URL's meaning
    ('?', '#', '%', ';', ...) is percent-encoded, so the URL stays under `base_url`."""
    problem = storage_path_problem(path)
    if problem:
        raise OutsidePrefix(f"storage path {problem}")
    base = base_url if base_url.endswith("/") else base_url + "/"
    url = base + quote(path, safe="/")
    if not url.startswith(base):
        raise OutsidePrefix("storage path leaves its base URL")
    return url
