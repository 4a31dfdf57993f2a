"""WebhookFunction: WebhookQueue messages (a task or batch that ended) -> a signed POST to the account's
webhook; a failed delivery comes back after a doubling backoff (the message's visibility)."""

from __future__ import annotations

# First of all: Python's garbage collector paused while this module imports (pixelport/init_gc.py).
from pixelport import init_gc  # isort: skip

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pixelport import aws, settings
from pixelport.tasks import TaskStore
from pixelport.tracing import new_tracer
from pixelport.webhook_store import WebhookStore
from pixelport.webhooks import DeliveryFailed, WebhookSender, backoff_seconds

logger = Logger()
tracer = new_tracer()
metrics = Metrics()


@cache
def sender() -> WebhookSender:
    return WebhookSender(
        store=TaskStore(aws.dynamodb(), settings.tasks_table()),
        webhooks=WebhookStore(
            aws.dynamodb(), settings.accounts_table(), aws.kms(), settings.storage_secrets_key()
        ),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        task_id = json.loads(record["body"]).get("task_id")
        try:
            outcome = sender().deliver(int(task_id))
            logger.info("webhook message handled", extra={"task_id": task_id, "outcome": outcome})
        except DeliveryFailed as exc:
            receives = int(record.get("attributes", {}).get("ApproximateReceiveCount") or 1)
            delay = backoff_seconds(receives)
            logger.warning(str(exc), extra={"task_id": task_id, "attempt": receives, "retry_in": delay})
            metrics.add_metric(name="WebhookFailures", unit=MetricUnit.Count, value=1)
            aws.sqs().change_message_visibility(
                QueueUrl=settings.webhook_queue_url(),
                ReceiptHandle=record["receiptHandle"],
                VisibilityTimeout=delay,
            )
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


init_gc.resume()  # the last statement: what the import made frozen, the collector on again
