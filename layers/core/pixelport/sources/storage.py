"""storage://<name>/<path> inputs: read with the storage's own connector (bucket keys, or the guarded
URL fetch for a web folder)."""

from __future__ import annotations

from collections.abc import Callable

from pixelport.contract.references import StorageRef
from pixelport.errors import ValidationFailed
from pixelport.sources.url import Fetched
from pixelport.storage.connect import connector
from pixelport.storage.paths import OutsidePrefix
from pixelport.storage.registry import StorageRecord, StorageRegistry


def read_input(
    registry: StorageRegistry,
    record: StorageRecord,
    source: StorageRef,
    *,
    fetcher: Callable[[str], Fetched] | None = None,
) -> Fetched:
    try:
        return connector(record, registry, fetcher=fetcher).read(source.path)
    except OutsidePrefix as exc:
        raise ValidationFailed({"input": [str(exc)]}) from None
