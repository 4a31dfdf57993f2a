"""S3 notifications and direct asynchronous invocations delivered to a handler while a test calls the
API, as the local stack does."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from functions.processor import app as processor
from local.lambda_api import LambdaInvokeServer
from local.resources import LocalNames, s3_event_queue
from local.template import Template
from tests.support.http_server import LocalHTTPServer
from tests.support.images import flat_png
from tests.support.lambdas import invoke


@contextlib.contextmanager
def delivering_s3_notifications(deliver: Callable[[dict[str, Any]], Any]) -> Iterator[Callable[[], int]]:
    """Polls moto's S3->SQS notification queues (one per S3 event of ProcessorFunction in the
    template: inputs/, requests/, uploads/) and hands each event to `deliver`; yields a count."""
    sqs = boto3.client("sqs")
    processor_events = Template().functions()["ProcessorFunction"].events
    urls = [
        sqs.get_queue_url(QueueName=s3_event_queue("ProcessorFunction", event_id))["QueueUrl"]
        for event_id, event in processor_events.items()
        if event["Type"] == "S3"
    ]
    stop = threading.Event()
    delivered = [0]

    def pump() -> None:
        while not stop.is_set():
            for url in urls:
                for message in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []):
                    event = json.loads(message["Body"])
                    if "Records" in event:
                        # counted as handed over: the processor marks the task DONE before
                        # `deliver` returns, and a test may read the count in between
                        delivered[0] += 1
                        deliver(event)
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            stop.wait(0.05)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield lambda: delivered[0]
    finally:
        stop.set()
        thread.join(timeout=5)


# One direct invocation of the processor by a sync route: its InvocationType and event.
Invocation = tuple[str, dict[str, Any]]


@contextlib.contextmanager
def serving_direct_invocations(
    deliver: Callable[[dict[str, Any]], Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Invocation]]:
    """make run's Lambda Invoke API (local/lambda_api.py) on loopback for the handlers' Lambda clients:
    a RequestResponse invocation of ProcessorFunction is handed to `deliver` on the request's thread and
    answered with what it returns, an Event one on a thread of its own, as Lambda runs them; yields the
    invocations, in the order they were made."""
    from pixelport import aws as aws_clients

    invoked: list[Invocation] = []
    threads: list[threading.Thread] = []

    def enqueue(function: str, event: Any) -> None:
        assert function == "ProcessorFunction", function
        invoked.append(("Event", event))
        thread = threading.Thread(target=deliver, args=(event,), daemon=True)
        threads.append(thread)
        thread.start()

    def run(function: str, event: Any) -> Any:
        assert function == "ProcessorFunction", function
        invoked.append(("RequestResponse", event))
        return deliver(event)

    server = LambdaInvokeServer(frozenset({"ProcessorFunction"}), enqueue, run, lambda line: None)
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)
    aws_clients.lambda_.cache_clear()
    aws_clients.lambda_runner.cache_clear()
    try:
        yield invoked
    finally:
        server.stop()
        for thread in threads:
            thread.join(timeout=30)
        aws_clients.lambda_.cache_clear()
        aws_clients.lambda_runner.cache_clear()


@pytest.fixture
def direct_invocations(aws: LocalNames, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Invocation]]:
    """The processor handler invoked directly by the sync routes; the invocations made."""
    with serving_direct_invocations(
        lambda event: invoke(processor.lambda_handler, event, timeout=300), monkeypatch
    ) as invoked:
        yield invoked


@pytest.fixture
def s3_notifications(aws: LocalNames, direct_invocations: list[Invocation]) -> Iterator[Callable[[], int]]:
    """Delivers moto's S3->SQS notifications to the processor handler, and the sync routes' direct
    invocations as `direct_invocations` does; answers how many S3 notifications were delivered."""
    with delivering_s3_notifications(
        lambda event: invoke(processor.lambda_handler, event, timeout=300)
    ) as count:
        yield count


@pytest.fixture
def images() -> Iterator[LocalHTTPServer]:
    """A loopback server of source images: /cat.png (a module that needs others defines its own `images`)."""
    with LocalHTTPServer() as server:
        server.add("/cat.png", body=flat_png())
        yield server
