"""What the /v1/storage routes do, for one account at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from pixelport.contract.storage import STORAGE_TYPES, parse_storage_change, parse_storage_create
from pixelport.storage.registry import StorageRecord, StorageRegistry, not_found
from pixelport.storage.views import detail, summary

logger = Logger(child=True)

# Ids are ASCII digits below 2**53 (str.isdigit would also take "²").
_STORAGE_ID = re.compile(r"[0-9]{1,18}")


@dataclass
class StorageService:
    registry: StorageRegistry

    def types(self) -> list[str]:
        return list(STORAGE_TYPES)

    def list(self, account: str) -> list[dict[str, Any]]:
        return [summary(record) for record in self.registry.list(account)]

    def create(self, account: str, body: Any) -> dict[str, Any]:
        record = self.registry.create(account, parse_storage_create(body))
        logger.info("storage connected", extra={"storage_id": record.id, "storage_type": record.type})
        return detail(record)

    def get(self, account: str, storage_id: str) -> dict[str, Any]:
        return detail(self._find(account, storage_id))

    def change(self, account: str, storage_id: str, body: Any) -> dict[str, Any]:
        current = self._find(account, storage_id)
        record = self.registry.change(current, parse_storage_change(body, current_type=current.type))
        logger.info("storage changed", extra={"storage_id": record.id, "storage_type": record.type})
        return detail(record)

    def delete(self, account: str, storage_id: str) -> dict[str, Any]:
        record = self._find(account, storage_id)
        self.registry.delete(record)
        logger.info("storage disconnected", extra={"storage_id": record.id})
        return detail(record)

    def _find(self, account: str, storage_id: str) -> StorageRecord:
        record = self.registry.by_id(account, int(storage_id)) if _STORAGE_ID.fullmatch(storage_id) else None
        if record is None:
            raise not_found()
        return record
