"""S3 notifications delivered to a handler while a test calls the API, as the local stack does."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from functions.processor import app as processor
from local.resources import LocalNames, s3_event_queue
from tests.support.lambdas import invoke


@contextlib.contextmanager
def delivering_s3_notifications(deliver: Callable[[dict[str, Any]], Any]) -> Iterator[Callable[[], int]]:
    """Polls moto's S3->SQS notification queue and hands each event to `deliver`; yields a count."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=s3_event_queue("ProcessorFunction", "StagedInput"))["QueueUrl"]
    stop = threading.Event()
    delivered = [0]

    def pump() -> None:
        while not stop.is_set():
            for message in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []):
                event = json.loads(message["Body"])
                if "Records" in event:
                    deliver(event)
                    delivered[0] += 1
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            stop.wait(0.05)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield lambda: delivered[0]
    finally:
        stop.set()
        thread.join(timeout=5)


@pytest.fixture
def s3_notifications(aws: LocalNames) -> Iterator[Callable[[], int]]:
    """Delivers moto's S3->SQS notifications to the processor handler; answers how many were."""
    with delivering_s3_notifications(
        lambda event: invoke(processor.lambda_handler, event, timeout=300)
    ) as count:
        yield count
