"""The shapes of SPEC 5: a list shows no credentials, the detailed form `credentials.access_key` only."""

from __future__ import annotations

from typing import Any

from pixelport.storage.registry import StorageRecord


def summary(record: StorageRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "type": record.type,
        "parameters": dict(record.parameters),
        "created_at": record.created_at,
    }


def detail(record: StorageRecord) -> dict[str, Any]:
    shown = summary(record)
    if record.access_key is not None:
        shown["parameters"]["credentials"] = {"access_key": record.access_key}
    return shown
