"""Telling the webhook queue that a task or batch ended: one message, never in the way of processing."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from pixelport import aws, settings
from pixelport.tasks import Notifier, TaskStore

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(child=True)


def queue_notifier(sqs: SQSClient, queue_url: str) -> Notifier:
    def notify(task_id: int) -> None:
        try:
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"task_id": task_id}))
        except Exception:
            # The task's state is written and stays readable by GET; only the push is missed.
            logger.exception("webhook notification could not be queued", extra={"task_id": task_id})

    return notify


@cache
def deployed_store() -> TaskStore:
    """The tasks table, telling the webhook queue when a task or batch it ends asked to be heard of."""
    return TaskStore(
        aws.dynamodb(),
        settings.tasks_table(),
        notifier=queue_notifier(aws.sqs(), settings.webhook_queue_url()),
    )
