"""The processor side of an edit: one staged input object in, one result and one finished task out."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from pixelport.contract.edit import parse_edit_request
from pixelport.contract.limits import limits
from pixelport.errors import INPUT_TOO_LARGE, PixelportError
from pixelport.formats import OUTPUT_FORMATS
from pixelport.imaging.pipeline import render
from pixelport.lease import LEASE_SECONDS, LeaseKeeper
from pixelport.naming import output_name
from pixelport.results import store_tmp
from pixelport.staging import task_id_from_key
from pixelport.storage.output import write_result
from pixelport.storage.registry import StorageRegistry
from pixelport.tasks import Claimed, Task, TaskStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = Logger(child=True)


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
    storages: StorageRegistry | None = None  # None: storage:// outputs cannot be written

    def handle(self, bucket: str, key: str) -> Outcome:
        task_id = task_id_from_key(key)
        if task_id is None:
            logger.warning("ignoring an object that is not a staged input", extra={"key": key})
            return Outcome(None, "skipped")
        claim = self.store.claim(task_id, lease_seconds=LEASE_SECONDS)
        if not isinstance(claim, Claimed):
            if claim.reason == "busy":
                raise TaskBusy(f"task {task_id} is being processed by another invocation")
            logger.info("task not claimable", extra={"task_id": task_id, "reason": claim.reason})
            return Outcome(task_id, "skipped")
        task = claim.task
        # Log lines of the processor carry the id of the API request the client saw (x-request-id).
        logger.set_correlation_id(task.request_id or None)
        logger.append_keys(task_id=task.id)
        started = time.monotonic()
        try:
            with LeaseKeeper(self.store, task):
                return self._run(task, bucket, unquote_plus(key), started)
        except PixelportError as exc:
            self.store.fail(task, exc)
            logger.info("task failed", extra={"task_id": task_id, "error_code": exc.kind.code})
            return Outcome(task_id, "error", seconds=time.monotonic() - started, error_code=exc.kind.code)
        except Exception:
            # Unknown failure (a bug, or an AWS outage): give the task back and let Lambda retry the
            # event; when retries run out, the on-failure destination marks the task ERROR.
            self.store.release(task)
            raise

    def _run(self, task: Task, bucket: str, key: str, started: float) -> Outcome:
        obj = self.s3.get_object(Bucket=bucket, Key=key)
        if obj["ContentLength"] > limits().max_input_bytes:
            raise PixelportError(INPUT_TOO_LARGE, f"input is larger than {limits().max_input_bytes} bytes")
        data = obj["Body"].read()
        request = parse_edit_request(task.request)
        rendered = render(data, request)
        destination = request.output.destination_ref
        if destination is not None:
            if self.storages is None:
                raise RuntimeError("a storage:// destination needs the storages registry")
            location = write_result(
                self.storages,
                task.account,
                destination,
                source_name=task.source_name,
                fmt=rendered.format,
                data=rendered.data,
            )
        else:
            location = store_tmp(
                self.s3,
                bucket=self.results_bucket,
                base_url=self.results_base_url,
                name=output_name(task.source_name, rendered.format),
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
