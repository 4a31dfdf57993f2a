"""ProcessorFunction: S3 ObjectCreated events on the ingest bucket, direct invocations by the sync
routes (pixelport/handover.py), and BatchItemsQueue messages (one image of a batch each) -> the core
pipeline."""

from __future__ import annotations

# First of all: Python's garbage collector paused while this module imports (pixelport/init_gc.py).
from pixelport import init_gc  # isort: skip

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pixelport import aws, init_ahead, settings
from pixelport.batch_items import ItemMessage, handle_items
from pixelport.contract.edit import EditRequest, UploadEdit
from pixelport.ended import deployed_store
from pixelport.handover import staged_input_of
from pixelport.imaging.warm_up import render_samples
from pixelport.observability import count_failure, record_processed
from pixelport.processing import Outcome, Processor
from pixelport.staging import notified_objects
from pixelport.storage.registry import deployed_registry
from pixelport.tracing import new_tracer

logger = Logger()
tracer = new_tracer()
metrics = Metrics()


@cache
def processor() -> Processor:
    return Processor(
        store=deployed_store(),
        s3=aws.s3(),
        results_bucket=settings.results_bucket(),
        results_base_url=settings.results_base_url(),
        storages=deployed_registry(),
    )


def warm() -> None:
    """What a SnapStart snapshot or provisioned concurrency's init holds (pixelport/init_ahead.py)."""
    processor()
    aws.kms()  # storage:// inputs and outputs open their secrets with it
    init_ahead.build_models((EditRequest, UploadEdit))
    render_samples()


init_ahead.prepare(warm)


def record(outcome: Outcome) -> None:
    if outcome.status == "done" and outcome.output_format:
        record_processed(
            output_format=outcome.output_format,
            bytes_in=outcome.bytes_in,
            bytes_out=outcome.bytes_out,
            seconds=outcome.seconds,
        )
    elif outcome.status == "error" and outcome.error_code:
        count_failure(outcome.error_code, "processor")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    if records and records[0].get("eventSource") == "aws:sqs":
        metrics.add_metric(name="BatchItemEvents", unit=MetricUnit.Count, value=len(records))
        messages = [
            ItemMessage(r["messageId"], r["receiptHandle"], json.loads(r["body"]), r["eventSourceARN"])
            for r in records
        ]
        failures = handle_items(processor(), aws.sqs(), messages, record)
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}
    if (staged := staged_input_of(event)) is not None:
        metrics.add_metric(name="DirectInputEvents", unit=MetricUnit.Count, value=1)
        outcome = processor().handle(*staged)
        record(outcome)
        return {"handled": [{"task_id": outcome.task_id, "status": outcome.status}]}
    metrics.add_metric(name="StagedInputEvents", unit=MetricUnit.Count, value=len(event["Records"]))
    handled = []
    for bucket, key in notified_objects(event):
        outcome = processor().handle(bucket, key)
        record(outcome)
        handled.append({"task_id": outcome.task_id, "status": outcome.status})
    return {"handled": handled}


init_gc.resume()  # the last statement: what the import made frozen, the collector on again
