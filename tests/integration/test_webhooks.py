"""Webhooks (SPEC 2.2, extension) through the handlers with moto: the account routes, the signed
delivery of an ended async task and batch, and the backoff of a failed delivery."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.resources import LocalNames
from tests.support.lambdas import api_event, call_api, invoke, response_json
from tests.support.queues import deliver_once, queued, sqs_record
from tests.support.webhook_receiver import WebhookReceiver, valid

pytestmark = pytest.mark.usefixtures("aws")

SECRET = "a-webhook-secret-of-32-characters"


def webhook(method: str, body: Any = None) -> dict[str, Any]:
    return call_api(api_event(body, method=method, path="/v1/account/webhook"))


def test_the_webhook_is_set_read_without_its_secret_replaced_and_removed() -> None:
    assert webhook("GET")["statusCode"] == 404
    set_ = webhook("PUT", {"url": "https://hooks.example.com/a", "secret": SECRET})
    assert set_["statusCode"] == 200, set_["body"]
    assert SECRET not in set_["body"]
    shown = webhook("GET")
    assert response_json(shown)["data"]["url"] == "https://hooks.example.com/a"
    assert SECRET not in shown["body"]
    webhook("PUT", {"url": "https://hooks.example.com/b", "secret": SECRET})
    assert response_json(webhook("GET"))["data"]["url"] == "https://hooks.example.com/b"
    assert response_json(webhook("DELETE"))["data"]["url"] == "https://hooks.example.com/b"
    assert webhook("GET")["statusCode"] == 404
    assert webhook("DELETE")["statusCode"] == 404


def test_the_secret_is_stored_sealed_not_as_written(aws: LocalNames) -> None:
    webhook("PUT", {"url": "https://hooks.example.com/a", "secret": SECRET})
    items = boto3.client("dynamodb").scan(TableName=aws.table("AccountsTable"))["Items"]
    assert SECRET not in json.dumps(items)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"url": "ftp://example.com/x", "secret": SECRET}, {"url"}),
        ({"url": "https://example.com/x", "secret": "short"}, {"secret"}),
        ({"url": "https://example.com/x"}, {"secret"}),
        ({"url": "https://example.com/x", "secret": SECRET, "events": ["DONE"]}, {"events"}),
        ({"url": 5, "secret": 7}, {"url", "secret"}),
    ],
)
def test_a_bad_webhook_is_422_naming_every_field(body: dict[str, Any], fields: set[str]) -> None:
    answer = webhook("PUT", body)
    assert answer["statusCode"] == 422, answer["body"]
    assert set(response_json(answer)["error_details"]) == fields


def deliver_webhooks(names: LocalNames) -> list[dict[str, Any]]:
    """Each WebhookQueue message handed to WebhookFunction once; answers its batchItemFailures."""
    from functions.webhook import app as webhook_function

    failures = []
    for message in queued(names, "WebhookQueue"):
        arn = names.queue_arn(names.queue("WebhookQueue"))
        answer = invoke(webhook_function.lambda_handler, {"Records": [sqs_record(message, arn)]})
        failures += answer["batchItemFailures"]
    return failures


@pytest.mark.usefixtures("allow_loopback")
def test_an_ended_async_task_is_posted_signed_and_a_failed_delivery_waits_a_doubling_backoff(
    aws: LocalNames, set_limits: Any
) -> None:
    from tests.support.customer_s3 import png_bytes
    from tests.support.http_server import LocalHTTPServer
    from tests.support.lambdas import process

    set_limits(webhook_retry_base_seconds=7)
    with LocalHTTPServer() as images, WebhookReceiver(SECRET, fail_first=1) as receiver:
        images.add("/a.png", body=png_bytes())
        webhook("PUT", {"url": receiver.url, "secret": SECRET})
        accepted = call_api(
            api_event({"input": images.url("/a.png"), "operations": {}}, path="/v1/image/edit/async")
        )
        task_id = response_json(accepted)["data"]["id"]
        process(aws, task_id)
        assert len(queued(aws, "WebhookQueue")) == 1
        failures = deliver_webhooks(aws)  # the receiver answers 500 the first time
        assert len(failures) == 1
        assert queued(aws, "WebhookQueue") == []  # hidden for the backoff, not lost
        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=aws.queue("WebhookQueue"))["QueueUrl"]
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )
        assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert receiver.refused == 1 and receiver.bad_signatures == 0


def test_the_backoff_doubles_from_the_configured_base(set_limits: Any) -> None:
    from pixelport.webhooks import backoff_seconds

    set_limits(webhook_retry_base_seconds=30)
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(40) == 12 * 3600


def test_the_readme_verification_accepts_a_delivery_and_refuses_a_changed_body() -> None:
    from pixelport.webhook_signing import signature_headers

    body = b'{"data":{"id":1,"status":"DONE"}}'
    headers = signature_headers(body, SECRET, 1_800_000_000)
    assert valid(SECRET, body, headers)
    assert not valid(SECRET, body.replace(b"DONE", b"ERROR"), headers)
    assert not valid("another-secret-of-some-length!!", body, headers)
    assert not valid(SECRET, body, {**headers, "X-Pixelport-Timestamp": "1800000001"})


def readme_verify() -> Any:
    """The `verify` function of the README's Webhooks section, as a reader would paste it."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### Webhooks") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    code = code[: code.index("```")]
    assert len(code.strip().splitlines()) <= 12
    scope: dict[str, Any] = {}
    exec(code, scope)
    return scope["verify"]


def test_the_readme_example_verifies_a_fresh_delivery_and_refuses_a_changed_or_stale_one() -> None:
    import time

    from pixelport.webhook_signing import signature_headers

    verify = readme_verify()
    body = b'{"data":{"id":1,"status":"DONE"}}'
    now = int(time.time())
    assert verify(SECRET, body, signature_headers(body, SECRET, now))
    assert not verify(SECRET, body + b" ", signature_headers(body, SECRET, now))
    assert not verify(SECRET, body, signature_headers(body, SECRET, now - 3600))
    assert not verify("another-secret-of-some-length!!", body, signature_headers(body, SECRET, now))


@pytest.mark.usefixtures("allow_loopback")
def test_an_ended_batch_is_posted_with_what_its_get_answers(aws: LocalNames) -> None:
    from tests.integration.test_batches import connect, get_batch, post_batch
    from tests.support.customer_s3 import customer_bucket, png_bytes
    from tests.support.queues import run_batches

    customer_bucket(("in/a.png", png_bytes()), ("in/b.png", b"broken"))
    connect()
    with WebhookReceiver(SECRET) as receiver:
        webhook("PUT", {"url": receiver.url, "secret": SECRET})
        status, body = post_batch(
            {"input": "storage://storage-name/in/", "output": "storage://storage-name/out/"}
        )
        assert status == 200, body
        run_batches(aws)
        assert deliver_webhooks(aws) == []
        batch_id = body["data"]["id"]
        assert receiver.statuses == {batch_id: "DONE"}
        assert receiver.payloads[batch_id] == get_batch(batch_id)


def only_delivery(receiver: WebhookReceiver) -> tuple[int, dict[str, Any]]:
    (task_id, status), *others = receiver.statuses.items()
    assert not others and status == "DONE", receiver.statuses
    return task_id, receiver.payloads[task_id]


@pytest.mark.usefixtures("allow_loopback", "s3_notifications")
def test_a_task_of_the_multipart_upload_route_is_posted_when_it_ends(aws: LocalNames) -> None:
    from tests.integration.test_upload_route import data_part, file_part, post, upload_event

    with WebhookReceiver(SECRET) as receiver:
        webhook("PUT", {"url": receiver.url, "secret": SECRET})
        response = post(upload_event([file_part(name="shot.png"), data_part({"operations": {}})]))
        assert response["statusCode"] == 200, response["body"]
        assert deliver_webhooks(aws) == []
    task_id, payload = only_delivery(receiver)
    assert payload["result_url"].endswith(f"/v1/image/edit/async/{task_id}")
    assert payload["result"]["output_object"] == response_json(response)["data"]["output"]


@pytest.mark.usefixtures("allow_loopback")
def test_a_task_of_the_presigned_upload_route_is_posted_when_it_ends(aws: LocalNames) -> None:
    from tests.integration.test_upload_slots import png, process, slot_for, upload

    image = png()
    with WebhookReceiver(SECRET) as receiver:
        webhook("PUT", {"url": receiver.url, "secret": SECRET})
        slot = slot_for("front.png", len(image))
        upload(aws, slot, image)
        process(aws, slot["upload"]["fields"]["key"])
        assert deliver_webhooks(aws) == []
    task_id, payload = only_delivery(receiver)
    assert task_id == slot["id"]
    assert payload["result_url"] == slot["result_url"]


@pytest.mark.usefixtures("allow_loopback", "s3_notifications")
def test_a_task_of_the_sync_route_is_posted_when_it_ends_as_every_task_is(aws: LocalNames) -> None:
    from tests.support.customer_s3 import png_bytes
    from tests.support.http_server import LocalHTTPServer

    with LocalHTTPServer() as images, WebhookReceiver(SECRET) as receiver:
        images.add("/a.png", body=png_bytes())
        webhook("PUT", {"url": receiver.url, "secret": SECRET})
        response = call_api(api_event({"input": images.url("/a.png"), "operations": {}}))
        assert response["statusCode"] == 200, response["body"]
        assert deliver_webhooks(aws) == []
    _, payload = only_delivery(receiver)
    assert payload["result"]["output_object"] == response_json(response)["data"]["output"]


@pytest.mark.usefixtures("allow_loopback")
def test_a_retried_delivery_carries_the_same_delivery_id_and_another_event_another(
    aws: LocalNames, set_limits: Any
) -> None:
    import time

    from functions.webhook import app as webhook_function
    from tests.support.customer_s3 import png_bytes
    from tests.support.http_server import LocalHTTPServer
    from tests.support.lambdas import process

    with LocalHTTPServer() as images, WebhookReceiver(SECRET, fail_first=1) as receiver:
        images.add("/a.png", body=png_bytes())
        webhook("PUT", {"url": receiver.url, "secret": SECRET})
        ids = []
        for _ in range(2):
            accepted = call_api(
                api_event({"input": images.url("/a.png"), "operations": {}}, path="/v1/image/edit/async")
            )
            ids.append(response_json(accepted)["data"]["id"])
        set_limits(webhook_retry_base_seconds=1)
        process(aws, ids[0])
        # As Lambda's poller: a message is deleted once delivered, kept (hidden) while refused.
        assert deliver_once(aws, "WebhookQueue", webhook_function.lambda_handler) == 1  # refused
        time.sleep(1.2)  # the backoff
        assert deliver_once(aws, "WebhookQueue", webhook_function.lambda_handler) == 1  # taken
        process(aws, ids[1])
        assert deliver_once(aws, "WebhookQueue", webhook_function.lambda_handler) == 1
        assert queued(aws, "WebhookQueue") == []
    (first, retried, other) = receiver.delivery_ids
    assert first[1] == retried[1] == ids[0] and other[1] == ids[1]
    assert first[0] == retried[0] and first[0] != other[0]
    assert all(len(delivery) == 36 for delivery, _ in receiver.delivery_ids)  # a UUID
