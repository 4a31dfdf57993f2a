"""A connected storage's reader and writer, built from its registry record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pixelport.contract.limits import limits
from pixelport.sources.network_guard import policy_from_env
from pixelport.sources.url import Fetched, fetch
from pixelport.storage.buckets import BucketStorage, bucket_client
from pixelport.storage.registry import StorageRecord, StorageRegistry
from pixelport.storage.web_folder import WebFolderStorage


class Connector(Protocol):
    def read(self, path: str) -> Fetched: ...

    def write(self, path: str, data: bytes, mime: str) -> dict[str, str]: ...


def guarded_fetch(url: str) -> Fetched:
    return fetch(url, policy=policy_from_env(), limits=limits())


def connector(
    record: StorageRecord, registry: StorageRegistry, *, fetcher: Callable[[str], Fetched] | None = None
) -> Connector:
    if record.type == "web_folder":
        return WebFolderStorage(record.name, record.parameters["base_url"], fetcher or guarded_fetch)
    assert record.access_key is not None
    client = bucket_client(record.type, record.access_key, registry.secret(record))
    return BucketStorage(record.name, client, record.parameters["bucket"], record.parameters.get("path", ""))
