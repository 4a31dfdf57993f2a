"""ProcessorFunction: S3 ObjectCreated events on the ingest bucket -> the core pipeline."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from pixelport import aws, settings
from pixelport.observability import count_failure, record_processed
from pixelport.processing import Processor
from pixelport.storage.registry import deployed_registry
from pixelport.tasks import TaskStore

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def processor() -> Processor:
    return Processor(
        store=TaskStore(aws.dynamodb(), settings.tasks_table()),
        s3=aws.s3(),
        results_bucket=settings.results_bucket(),
        results_base_url=settings.results_base_url(),
        storages=deployed_registry(),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="StagedInputEvents", unit=MetricUnit.Count, value=len(list(event.records)))
    handled = []
    for record in event.records:
        outcome = processor().handle(record.s3.bucket.name, record.s3.get_object.key)
        if outcome.status == "done" and outcome.output_format:
            record_processed(
                output_format=outcome.output_format,
                bytes_in=outcome.bytes_in,
                bytes_out=outcome.bytes_out,
                seconds=outcome.seconds,
            )
        elif outcome.status == "error" and outcome.error_code:
            count_failure(outcome.error_code, "processor")
        handled.append({"task_id": outcome.task_id, "status": outcome.status})
    return {"handled": handled}
