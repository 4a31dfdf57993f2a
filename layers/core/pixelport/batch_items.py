"""The processor's side of BatchItemsQueue: one message per image of a batch.

A message is hidden for the queue's visibility timeout (above the function's timeout, as Lambda
requires) when it is received; the handler shortens that at once to a little more than the task's
lease, and every lease renewal hides it that long again. So a worker killed mid-image gives its
message back about a minute later, when its lease has run out too, and the retry takes the image over;
a live worker keeps both. A second delivery of a message finds the task busy (it comes back later) or
finished (dropped): one output and one DONE per image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pixelport import settings
from pixelport.lease import LEASE_SECONDS
from pixelport.processing import Outcome, Processor, TaskBusy

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(child=True)

HIDDEN_SECONDS = int(LEASE_SECONDS) + 15


@dataclass(frozen=True)
class ItemMessage:
    message_id: str
    receipt_handle: str
    body: Any
    queue_arn: str


def handle_items(
    processor: Processor, sqs: SQSClient, messages: list[ItemMessage], record: Callable[[Outcome], None]
) -> list[str]:
    """Process each message's image; answers the ids of the messages to deliver again."""
    failed: list[str] = []
    queue_url = settings.batch_items_queue_url()
    for message in messages:
        task_id = message.body.get("task_id") if isinstance(message.body, dict) else None
        if not isinstance(task_id, int):
            logger.error("dropping a batch item message without a task id", extra={"body": message.body})
            continue

        def hide(handle: str = message.receipt_handle) -> None:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=HIDDEN_SECONDS
            )

        try:
            hide()
            record(processor.handle_child(task_id, heartbeat=hide))
        except TaskBusy:
            logger.info("batch item busy elsewhere; it comes back later", extra={"task_id": task_id})
            failed.append(message.message_id)
        except Exception:
            logger.exception("batch item failed; it comes back later", extra={"task_id": task_id})
            failed.append(message.message_id)
    return failed
