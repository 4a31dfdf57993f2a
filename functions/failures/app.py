"""FailedEventsFunction: processor events that ran out of retries (the on-failure destination's SQS
queue) mark their task ERROR, and batch images and listings that did (the batch queues' dead letters)
end theirs, so no task or batch is left ACCEPTED or PROCESSING for ever."""

from __future__ import annotations

# First of all: Python's garbage collector paused while this module imports (pixelport/init_gc.py).
from pixelport import init_gc  # isort: skip

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pixelport import aws, settings
from pixelport.batches import resend_unsent
from pixelport.ended import deployed_store
from pixelport.failures import settle_dead_batch_item, settle_dead_batch_listing, settle_exhausted
from pixelport.observability import count_failure
from pixelport.tasks import Task, TaskStore
from pixelport.tracing import new_tracer

logger = Logger()
tracer = new_tracer()
metrics = Metrics()
# Records not settled yet are reported one by one, never as a failed invocation: that is expected.
batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def store() -> TaskStore:
    return deployed_store()


def requeue(batch: Task) -> None:
    """A listed page whose messages were never sent: its images still belong to the batch."""
    resend_unsent(store(), aws.sqs(), settings.batch_items_queue_url(), batch)


def settle(record: SQSRecord) -> None:
    # Lambda hands SQS's own attribute names through (ApproximateReceiveCount), not camelCase ones.
    receives = int(record.attributes.get("ApproximateReceiveCount") or 1)
    body = json.loads(record.body)
    # Three sources: Lambda's on-failure records of S3 events, and the dead-letter queues of batch
    # images ({"task_id": ...}) and of batch listings ({"batch_id": ...}).
    if "task_id" in body:
        settled = settle_dead_batch_item(store(), body)
    elif "batch_id" in body:
        settled = settle_dead_batch_listing(store(), body, requeue)
    else:
        settled = settle_exhausted(store(), body, receive_count=receives)
    for code in settled:
        count_failure(code, "retries-exhausted")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="ExhaustedEvents", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return dict(
        process_partial_response(event=event, record_handler=settle, processor=batch, context=context)
    )


init_gc.resume()  # the last statement: what the import made frozen, the collector on again
