"""Driving the template's SQS event sources in-process, as Lambda's pollers would: each message of a
queue handed to its function's handler, deleted unless the handler reports it failed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import boto3

from local.resources import LocalNames
from tests.support.lambdas import invoke

Handler = Callable[[dict[str, Any], Any], Any]


def sqs_record(message: Mapping[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "us-east-1",
    }


def deliver_once(names: LocalNames, queue: str, handler: Handler) -> int:
    """One receive of `queue` (a logical id) handed to `handler`; answers how many messages."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=names.queue(queue))["QueueUrl"]
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    if not messages:
        return 0
    answer = invoke(
        handler, {"Records": [sqs_record(m, names.queue_arn(names.queue(queue))) for m in messages]}
    )
    failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


def run_batches(names: LocalNames, *, limit: int = 10_000) -> int:
    """BatchQueue to BatchFunction and BatchItemsQueue to ProcessorFunction until both are empty."""
    from functions.batch import app as batch
    from functions.processor import app as processor

    handled = 0
    while handled < limit:
        got = deliver_once(names, "BatchQueue", batch.lambda_handler)
        got += deliver_once(names, "BatchItemsQueue", processor.lambda_handler)
        if not got:
            return handled
        handled += got
    raise AssertionError("the queues never emptied")


def queued(names: LocalNames, queue: str) -> list[dict[str, Any]]:
    """Every message waiting in `queue`, looked at and made visible again at once."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=names.queue(queue))["QueueUrl"]
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found.extend(dict(m) for m in messages)
    for message in found:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return found
