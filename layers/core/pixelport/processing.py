"""The processor side of an edit: one staged input object in, one result and one finished task out."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from pixelport.contract.edit import Edit, parse_accepted_request
from pixelport.contract.limits import accepted_request
from pixelport.contract.references import StorageRef, parse_input
from pixelport.errors import PROCESSING_FAILED, PixelportError, ValidationFailed
from pixelport.formats import OUTPUT_FORMATS
from pixelport.imaging.pipeline import render
from pixelport.lease import LEASE_SECONDS, LeaseKeeper
from pixelport.naming import output_name
from pixelport.observability import count_task_busy
from pixelport.results import store_tmp
from pixelport.sources.staged import read_input
from pixelport.sources.storage import read_input as read_storage_input
from pixelport.sources.url import Fetched, fetch_input
from pixelport.staging import Staged, StagedKey, parse_staged_key
from pixelport.storage.output import write_result
from pixelport.storage.registry import StorageRegistry
from pixelport.tasks import Claimed, Task, TaskStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

logger = Logger(child=True)
# Opens staged objects while their tasks are being claimed (Processor._open_early); threads start on
# first use.
_EARLY_OPENS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="early-open")


class TaskBusy(Exception):
    """Another invocation holds the task's lease: raise so Lambda retries this event later (by then
    the holder has finished, or died and its short lease has run out)."""


@dataclass(frozen=True)
class Outcome:
    task_id: int | None
    status: str  # "done", "error" or "skipped"
    output_format: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    error_code: str | None = None


@dataclass
class Processor:
    store: TaskStore
    s3: S3Client
    results_bucket: str
    results_base_url: str
    storages: StorageRegistry | None = None  # None: storage:// inputs and outputs cannot be reached

    def handle(self, bucket: str, key: str) -> Outcome:
        staged = parse_staged_key(key)
        if staged is None:
            logger.warning("ignoring an object that is not a staged input", extra={"key": key})
            return Outcome(None, "skipped")
        return self._handle(bucket, staged)

    def handle_child(self, task_id: int, *, heartbeat: Callable[[], None] | None = None) -> Outcome:
        """One image of a batch (a BatchItemsQueue message): fetched here, as the async route's are.
        `heartbeat` runs with every lease renewal (it keeps the message hidden while we work)."""
        return self._handle("", StagedKey(Staged.REQUEST, task_id), heartbeat)

    def _handle(self, bucket: str, staged: StagedKey, heartbeat: Callable[[], None] | None = None) -> Outcome:
        opened = self._open_early(bucket, staged)
        try:
            return self._claimed(bucket, staged, opened, heartbeat)
        finally:
            if opened is not None:
                _close_opened(opened)

    def _open_early(self, bucket: str, staged: StagedKey) -> Future[GetObjectOutputTypeDef] | None:
        """The staged object's GetObject, sent while the task is being claimed: its first byte (tens of
        ms from S3) and the claim's write come back together. Its body is read once the task is ours,
        and closed unread otherwise. The async route's and batches' inputs are fetched, not staged."""
        if staged.kind is Staged.REQUEST:
            return None
        return _EARLY_OPENS.submit(self.s3.get_object, Bucket=bucket, Key=staged.key)

    def _claimed(
        self,
        bucket: str,
        staged: StagedKey,
        opened: Future[GetObjectOutputTypeDef] | None,
        heartbeat: Callable[[], None] | None,
    ) -> Outcome:
        task_id = staged.task_id
        claim = self.store.claim(task_id, lease_seconds=LEASE_SECONDS)
        if not isinstance(claim, Claimed):
            if claim.reason == "busy":
                count_task_busy()
                raise TaskBusy(f"task {task_id} is being processed by another invocation")
            logger.info("task not claimable", extra={"task_id": task_id, "reason": claim.reason})
            return Outcome(task_id, "skipped")
        task = claim.task
        # Log lines of the processor carry the id of the API request the client saw (x-request-id).
        logger.set_correlation_id(task.request_id or None)
        logger.append_keys(task_id=task.id)
        started = time.monotonic()
        try:
            with LeaseKeeper(self.store, task, on_renew=heartbeat):
                return self._run(task, bucket, staged, started, opened)
        except PixelportError as exc:
            self.store.fail(task, exc)
            logger.info("task failed", extra={"task_id": task_id, "error_code": exc.kind.code})
            return Outcome(task_id, "error", seconds=time.monotonic() - started, error_code=exc.kind.code)
        except Exception:
            # Unknown failure (a bug, or an AWS outage): give the task back and let Lambda retry the
            # event; when retries run out, the on-failure destination marks the task ERROR.
            self.store.release(task)
            raise

    @staticmethod
    def _stored_request(task: Task) -> Edit:
        try:
            return parse_accepted_request(task.request)
        except ValidationFailed as exc:
            # Accepted by an earlier version whose contract this one no longer reads: our doing, not
            # the client's, so not a 422; retrying cannot help either.
            logger.error(
                "stored request no longer parses", extra={"task_id": task.id, "details": exc.details}
            )
            raise PixelportError(
                PROCESSING_FAILED,
                "this task was accepted by an earlier version of the service and cannot be read by this "
                "one; please submit it again",
            ) from None

    def _registry(self) -> StorageRegistry:
        if self.storages is None:
            raise RuntimeError("a storage:// reference needs the storages registry")
        return self.storages

    def _fetch_source(self, account: str, reference: str) -> Fetched:
        """The async route's source, fetched here: a URL through the guard, or the account's storage
        object with its own credentials (a storage disconnected since acceptance is the client's 422)."""
        with accepted_request():
            source = parse_input(reference)
            if not isinstance(source, StorageRef):
                return fetch_input(reference)
        record = self._registry().by_name(account, source.storage)
        if record is None:
            missing = f"storage '{source.storage}' is not connected to this account"
            raise ValidationFailed({"input": [missing]})
        return read_storage_input(self._registry(), record, source)

    def _run(
        self,
        task: Task,
        bucket: str,
        staged: StagedKey,
        started: float,
        opened: Future[GetObjectOutputTypeDef] | None,
    ) -> Outcome:
        request = self._stored_request(task)
        source = read_input(
            self.s3,
            bucket,
            staged,
            source_url=str(task.request.get("input", "")),
            fetcher=lambda reference: self._fetch_source(task.account, reference),
            opened=opened.result if opened is not None else None,
        )
        data = source.data
        source_name = source.name or task.source_name
        rendered = render(data, request)
        destination = request.output.destination_ref
        if destination is not None:
            location = write_result(
                self._registry(),
                task.account,
                destination,
                source_name=source_name,
                fmt=rendered.format,
                data=rendered.data,
            )
        else:
            location = store_tmp(
                self.s3,
                bucket=self.results_bucket,
                base_url=self.results_base_url,
                name=output_name(source_name, rendered.format),
                data=rendered.data,
                mime=OUTPUT_FORMATS[rendered.format].mime,
            )
        result = {"input": rendered.input, "output": {**rendered.output, **location}}
        if not self.store.complete(task, result):
            logger.warning("lease lost before completion; result discarded", extra={"task_id": task.id})
            return Outcome(task.id, "skipped")
        return Outcome(
            task.id,
            "done",
            output_format=rendered.format,
            bytes_in=len(data),
            bytes_out=len(rendered.data),
            seconds=time.monotonic() - started,
        )


def _close_opened(opened: Future[GetObjectOutputTypeDef]) -> None:
    """Before the handler returns: no GetObject left in flight (Lambda would freeze it, and the next
    invocation's open would queue behind it) and its connection given back (a no-op once the body was
    read). A GetObject not yet sent is cancelled; one in flight is awaited, with the client's timeouts."""
    if opened.cancel():
        return
    try:
        opened.result()["Body"].close()
    except Exception:  # its failure was the run's to report, or nobody's: the task was not ours
        return
