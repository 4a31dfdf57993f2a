"""The API side of an edit: validate, fetch the input, create the task, stage the bytes, wait.

Runs in the API function, which never imports Pillow: the input is only sniffed here; the
processor decodes it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pixelport.capabilities import unsupported
from pixelport.contract.edit import EditRequest, check_edit_request
from pixelport.contract.limits import limits
from pixelport.contract.references import StorageRef
from pixelport.errors import (
    BODY_NOT_JSON,
    BODY_TOO_LARGE,
    INTERNAL,
    Details,
    PixelportError,
    ValidationFailed,
    merge_details,
)
from pixelport.sniff import media_type, require_image
from pixelport.sources.network_guard import policy_from_env
from pixelport.sources.storage import read_input
from pixelport.sources.url import Fetched, fetch
from pixelport.staging import input_key
from pixelport.storage.registry import StorageRecord, StorageRegistry
from pixelport.storage.web_folder import read_only_message
from pixelport.tasks import Task, TaskStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def parse_body(body: str | bytes | None) -> Any:
    raw = body.encode() if isinstance(body, str) else (body or b"")
    if len(raw) > limits().max_request_body_bytes:
        raise PixelportError(
            BODY_TOO_LARGE, f"request body is larger than {limits().max_request_body_bytes} bytes"
        )
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise PixelportError(BODY_NOT_JSON, "request body is not valid JSON") from None
    except RecursionError:
        raise PixelportError(BODY_NOT_JSON, "request body is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise PixelportError(BODY_NOT_JSON, "request body must be a JSON object")
    return parsed


# The account's storage of a name, or None: another account's storages are not found (SPEC 5).
StorageLookup = Callable[[str], StorageRecord | None]


def _storage_problems(refs: Mapping[str, StorageRef], lookup: StorageLookup | None) -> Details:
    """SPEC 1: an edit naming a storage the account does not have is 422; so is writing to a web folder."""
    problems: Details = {}
    for path, ref in refs.items():
        record = lookup(ref.storage) if lookup is not None else None
        if record is None:
            problems[path] = [f"storage '{ref.storage}' is not connected to this account"]
        elif path == "output.destination" and record.type == "web_folder":
            problems[path] = [read_only_message(ref.storage)]
    return problems


def validate_edit(body: Any, *, storages: StorageLookup | None = None) -> EditRequest:
    """The request, or one 422 listing every problem of it (SPEC 1): the contract's, the operations this
    deployment cannot do, and the storages the account does not have (none without `storages`)."""
    check = check_edit_request(body)
    problems = merge_details(
        check.errors,
        *(unsupported(block) for block in check.operations),
        _storage_problems(check.storage_refs, storages),
    )
    if problems:
        raise ValidationFailed(problems)
    assert check.request is not None
    return check.request


@dataclass
class EditService:
    store: TaskStore
    s3: S3Client
    ingest_bucket: str
    fetcher: Callable[[str], Fetched] | None = None
    storages: StorageRegistry | None = None  # None: no storage is connected

    def _fetch(self, url: str) -> Fetched:
        if self.fetcher is not None:
            return self.fetcher(url)
        return fetch(url, policy=policy_from_env(), limits=limits())

    def _lookup(self, account: str) -> StorageLookup | None:
        registry = self.storages
        if registry is None:
            return None
        found: dict[str, StorageRecord | None] = {}

        def lookup(name: str) -> StorageRecord | None:
            if name not in found:
                found[name] = registry.by_name(account, name)
            return found[name]

        return lookup

    def submit(self, body: dict[str, Any], *, account: str, request_id: str = "") -> Task:
        """Everything that can be refused is refused here, before a task exists."""
        lookup = self._lookup(account)
        request = validate_edit(body, storages=lookup)
        source = request.source
        if isinstance(source, StorageRef):
            assert lookup is not None and self.storages is not None
            record = lookup(source.storage)
            assert record is not None  # validate_edit refused unknown storages
            fetched = read_input(self.storages, record, source, fetcher=self.fetcher)
        else:
            fetched = self._fetch(source.url)
        require_image(fetched.data)
        task = self.store.create(
            account=account, request=body, source_name=fetched.name, request_id=request_id
        )
        try:
            self.s3.put_object(
                Bucket=self.ingest_bucket,
                Key=input_key(task.id),
                Body=fetched.data,
                ContentType=media_type(fetched.data),
            )
        except Exception:
            self.store.fail_unfinished(task.id, PixelportError(INTERNAL, "the input could not be staged"))
            raise
        return task

    def wait(self, task: Task, *, deadline: float) -> Task:
        """Poll the task until it ends or the deadline passes; answers the latest state."""
        delay = 0.05
        while not task.finished and time.monotonic() < deadline:
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, 0.5)
            task = self.store.get(task.id) or task
        return task

    def get(self, task_id: int, *, account: str) -> Task | None:
        task = self.store.get(task_id)
        return task if task is not None and task.account == account else None
