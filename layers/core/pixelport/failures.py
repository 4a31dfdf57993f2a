"""Settling what ran out of retries: processor events (Lambda's on-failure destination record), batch
images (the batch items' dead-letter queue) and batch listings (the batch queue's dead-letter queue)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from pixelport.batches import listing_failed
from pixelport.errors import PROCESSING_FAILED, PixelportError
from pixelport.handover import staged_input_of
from pixelport.staging import task_id_from_key
from pixelport.tasks import Task, TaskStore

logger = Logger(child=True)

# A failure record can arrive while the task's lease is still held: by the invocation that just died
# (its 45 s lease has not run out yet), or by a live one (this record came from a duplicate delivery
# that found the task busy). The record is looked at again after the queue's visibility timeout (60 s)
# up to this many receives: a dead holder's lease has run out by then; a live holder ends the task
# itself (or, if it dies, the sweeper does), so the record is dropped rather than dead-lettered.
RECEIVES_WHILE_HELD = 3


class LeaseStillHeld(Exception):
    """The task's lease has not run out yet; the record is looked at again later."""


def exhausted_error(attempts: int, request_id: str) -> PixelportError:
    # The cause stays in the logs (it may name internals); the client gets an id to quote.
    return PixelportError(
        PROCESSING_FAILED,
        f"processing failed on every attempt ({attempts}); "
        f"quote processor request id {request_id} to support",
    )


def settle_exhausted(
    store: TaskStore, destination_record: Mapping[str, Any], *, receive_count: int = 1
) -> list[str]:
    """Mark the task of every staged input in the failed invocation (its S3 records, or the direct
    event of a sync route) ERROR; answers the codes set."""
    context = destination_record.get("requestContext", {})
    attempts = int(context.get("approximateInvokeCount", 0))
    request_id = str(context.get("requestId", "unknown"))
    logger.error(
        "processor event ran out of retries",
        extra={"condition": context.get("condition"), "response": destination_record.get("responsePayload")},
    )
    codes = []
    for key in _staged_keys(destination_record.get("requestPayload", {})):
        task_id = task_id_from_key(key)
        if task_id is None:
            continue
        error = exhausted_error(attempts, request_id)
        if store.fail_unfinished(task_id, error):
            codes.append(error.kind.code)
            continue
        task = store.get(task_id)
        if task is not None and not task.finished:
            if receive_count < RECEIVES_WHILE_HELD:
                raise LeaseStillHeld(f"task {task_id} is still leased")
            logger.info("task still held by a live invocation", extra={"task_id": task_id})
    return codes


def _staged_keys(payload: Mapping[str, Any]) -> list[str]:
    """The ingest keys an invocation was about: a direct event's one, or its S3 records'."""
    if (staged := staged_input_of(payload)) is not None:
        return [staged[1]]
    return [record.get("s3", {}).get("object", {}).get("key", "") for record in payload.get("Records", [])]


def settle_dead_batch_item(store: TaskStore, message: Mapping[str, Any]) -> list[str]:
    """A batch image whose message was delivered to the processor maxReceiveCount times (the batch items'
    dead-letter queue): its task ends ERROR, so its batch can end."""
    task_id = message.get("task_id")
    if not isinstance(task_id, int):
        return []
    logger.error("batch item ran out of deliveries", extra={"task_id": task_id})
    error = PixelportError(
        PROCESSING_FAILED, "processing failed on every delivery of this image; quote the batch id to support"
    )
    return [error.kind.code] if store.fail_unfinished(task_id, error) else []


def settle_dead_batch_listing(
    store: TaskStore, message: Mapping[str, Any], requeue: Callable[[Task], None]
) -> list[str]:
    """A batch whose listing message was delivered to BatchFunction maxReceiveCount times (BatchQueue's
    dead-letter queue): what was listed is the batch, `requeue` sends any listed child never queued,
    and the batch carries an error naming the input it could not list; it ends when its children do."""
    batch_id = message.get("batch_id")
    if not isinstance(batch_id, int):
        return []
    for _ in range(5):
        batch = store.get(batch_id)
        if batch is None or batch.kind != "batch" or batch.finished:
            return []
        if batch.listed:  # the listing finished after all; its last step may not have settled it
            store.settle_batch(batch_id)
            return []
        requeue(batch)
        error = listing_failed(batch)
        if store.end_listing(batch, error):
            logger.error("batch listing ran out of deliveries", extra={"batch_id": batch_id})
            store.settle_batch(batch_id)
            return [error.kind.code]
    raise RuntimeError(f"batch {batch_id} is still being listed; the record is looked at again later")
