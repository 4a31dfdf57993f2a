"""BatchFunction: BatchQueue messages -> a batch's images listed into child tasks, page by page."""

from __future__ import annotations

# First of all: Python's garbage collector paused while this module imports (pixelport/init_gc.py).
from pixelport import init_gc  # isort: skip

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pixelport import aws, settings
from pixelport.batches import Lister
from pixelport.ended import deployed_store
from pixelport.storage.registry import deployed_registry
from pixelport.tracing import new_tracer

logger = Logger()
tracer = new_tracer()
metrics = Metrics()
batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
current: dict[str, LambdaContext] = {}


@cache
def lister() -> Lister:
    return Lister(
        store=deployed_store(),
        sqs=aws.sqs(),
        batch_queue_url=settings.batch_queue_url(),
        items_queue_url=settings.batch_items_queue_url(),
        storages=deployed_registry(),
    )


def list_batch(record: SQSRecord) -> None:
    context = current["context"]
    batch_id = int(json.loads(record.body)["batch_id"])
    outcome = lister().run(batch_id, remaining=lambda: context.get_remaining_time_in_millis() / 1000)
    logger.info("batch listed", extra={"batch_id": batch_id, "outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    current["context"] = context
    return dict(
        process_partial_response(event=event, record_handler=list_batch, processor=batch, context=context)
    )


init_gc.resume()  # the last statement: what the import made frozen, the collector on again
