"""A batch whose listing fails on every delivery still ends: BatchQueue dead-letters its message after
five receives, FailedEventsFunction (BatchDeadLetterQueue's consumer) ends the listing there, the images
listed before still count, the batch carries an error naming its input, and the webhook hears the end."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.resources import LocalNames
from local.template import Template
from pixelport import batches
from pixelport.tasks import Claimed, Status, TaskStore
from tests.integration.test_batches import connect, get_batch, output_keys, post_batch
from tests.integration.test_webhooks import SECRET, deliver_webhooks, webhook
from tests.support.customer_s3 import customer_bucket, png_bytes
from tests.support.lambdas import invoke
from tests.support.queues import deliver_once, sqs_record
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.usefixtures("aws")


def break_listing_after(monkeypatch: pytest.MonkeyPatch, pages: int) -> None:
    """Pages of two images; the storage lists `pages` of them, then fails on every call."""
    monkeypatch.setattr(batches, "PAGE_SIZE", 2)
    real = batches.Lister._list
    calls = [0]

    def failing(self: batches.Lister, *args: Any) -> tuple[list[str], str]:
        calls[0] += 1
        if calls[0] > pages:
            raise ConnectionError("the storage stopped answering")
        return real(self, *args)

    monkeypatch.setattr(batches.Lister, "_list", failing)


def list_until_dead_lettered(names: LocalNames) -> int:
    """BatchQueue to BatchFunction, each failed delivery visible again at once, until SQS moves the
    message to BatchDeadLetterQueue (maxReceiveCount 5); answers the deliveries that failed."""
    from functions.batch import app as batch_function

    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=names.queue("BatchQueue"))["QueueUrl"]
    arn = names.queue_arn(names.queue("BatchQueue"))
    for failed in range(10):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return failed
        answer = invoke(batch_function.lambda_handler, {"Records": [sqs_record(messages[0], arn)]})
        assert answer["batchItemFailures"], "the listing was meant to fail"
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
        )
    raise AssertionError("BatchQueue never dead-lettered the listing")


def settle_dead_listings(names: LocalNames) -> int:
    from functions.failures import app as failures

    settled = 0
    while deliver_once(names, "BatchDeadLetterQueue", failures.lambda_handler):
        settled += 1
    return settled


def process_items(names: LocalNames) -> None:
    from functions.processor import app as processor

    while deliver_once(names, "BatchItemsQueue", processor.lambda_handler):
        pass


def test_the_batch_dead_letter_queue_is_consumed_by_failed_events_function(template: Template) -> None:
    mappings = template.functions()["FailedEventsFunction"].events
    queues = {e["Properties"]["Queue"]["Fn::GetAtt"][0] for e in mappings.values() if e["Type"] == "SQS"}
    assert "BatchDeadLetterQueue" in queues


@pytest.mark.usefixtures("allow_loopback")
def test_a_batch_whose_listing_dead_letters_ends_done_with_what_was_listed_and_an_error_naming_the_folder(
    aws: LocalNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_bucket(*((f"in/img{n}.png", png_bytes((8, 8))) for n in range(5)))
    connect()
    break_listing_after(monkeypatch, pages=1)
    with WebhookReceiver(SECRET) as receiver:
        webhook("PUT", {"url": receiver.url, "secret": SECRET})
        status, body = post_batch(
            {"input": "storage://storage-name/in/", "output": "storage://storage-name/out/"}
        )
        assert status == 200, body
        batch_id = body["data"]["id"]
        assert list_until_dead_lettered(aws) == 5
        process_items(aws)
        assert get_batch(batch_id)["status"] == "PROCESSING"  # before: waiting for ever on its listing
        assert settle_dead_listings(aws) == 1
        batch = get_batch(batch_id)
        assert batch["status"] == "DONE", batch
        assert deliver_webhooks(aws) == []
        assert receiver.statuses == {batch_id: "DONE"}
        assert receiver.payloads[batch_id] == batch
    assert [r["input_object"]["object_uri"] for r in batch["results"]] == [
        "storage://storage-name/in/img0.png",
        "storage://storage-name/in/img1.png",
    ]
    assert batch["progress"] == {"images": 2, "done": 2, "failed": 0, "listing_complete": False}
    (error,) = batch["errors"]
    assert error["input_object"] == {"object_uri": "storage://storage-name/in/"}
    assert "listing" in error["error"] and "in/img1.png" in error["error"], error
    assert error["created_at"]
    assert output_keys() == ["out/img0.jpg", "out/img1.jpg"]


def test_a_batch_whose_listing_fails_before_any_image_ends_error_naming_the_folder(
    aws: LocalNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer_bucket(("in/a.png", png_bytes()))
    connect()
    break_listing_after(monkeypatch, pages=0)
    status, body = post_batch({"input": {"source": "storage://storage-name/in/", "recursive": True}})
    assert status == 200, body
    list_until_dead_lettered(aws)
    assert settle_dead_listings(aws) == 1
    batch = get_batch(body["data"]["id"])
    assert batch["status"] == "ERROR", batch
    assert batch["results"] == []
    (error,) = batch["errors"]
    assert error["input_object"] == {"object_uri": "storage://storage-name/in/"}
    assert "from its start" in error["error"]


def test_a_list_batch_whose_listing_dead_letters_names_the_items_not_started(
    aws: LocalNames, store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = [f"https://images.example.com/{n}.png" for n in range(5)]
    status, body = post_batch({"input": urls})
    assert status == 200, body
    batch_id = body["data"]["id"]
    # The first page is written, then SQS refuses its messages on every attempt: its images were listed
    # but never queued, so the dead-letter consumer queues them (they count) before ending the listing.
    monkeypatch.setattr(batches, "PAGE_SIZE", 2)

    def refused(*args: Any) -> None:
        raise RuntimeError("SQS refused 2 messages")

    with monkeypatch.context() as patched:
        patched.setattr(batches, "send_children", refused)
        list_until_dead_lettered(aws)
    batch = store.get(batch_id)
    assert batch is not None and (batch.page, batch.sent) == (1, 0)
    assert settle_dead_listings(aws) == 1
    queued_ids = {
        json.loads(m["Body"])["task_id"]
        for m in boto3.client("sqs").receive_message(
            QueueUrl=boto3.client("sqs").get_queue_url(QueueName=aws.queue("BatchItemsQueue"))["QueueUrl"],
            MaxNumberOfMessages=10,
        )["Messages"]
    }
    children, _ = store.children(batch_id)
    assert queued_ids == {c.id for c in children} and len(children) == 2
    answer = get_batch(batch_id)
    assert answer["status"] == "PROCESSING"  # its two images are still to be edited
    (error,) = answer["errors"]
    assert error["input_object"] == {"list": "input"}
    assert "input.2 to input.4" in error["error"]
    # A second delivery of the dead letter changes nothing.
    first = store.get(batch_id)
    assert first is not None and first.listing_error is not None
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.queue("BatchDeadLetterQueue"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"batch_id": batch_id}))
    assert settle_dead_listings(aws) == 1
    again = store.get(batch_id)
    assert again is not None and again.listing_error == first.listing_error
    for child in children:
        claimed = store.claim(child.id, lease_seconds=45)
        assert isinstance(claimed, Claimed)
        store.complete(claimed.task, {"input": {}, "output": {}})
    ended = store.get(batch_id)
    assert ended is not None and ended.status is Status.DONE
