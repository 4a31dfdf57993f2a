"""A sync edit reaches the processor by a direct invocation, not an S3 notification: run while the API
waits (RequestResponse), and queued (Event) whenever that run does not end the task. A second delivery
of the same input is harmless, and an invocation Lambda refuses, that fails, that outlasts the API's
wait or that fails on every attempt never loses the task."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from functions.failures import app as failures
from functions.processor import app as processor
from local.resources import LocalNames
from pixelport import handover, processing
from pixelport.handover import direct_event
from pixelport.imaging.pipeline import render
from pixelport.tasks import TaskStore
from tests.conftest import TEST_ACCOUNT
from tests.integration.conftest import Invocation, serving_direct_invocations
from tests.support.http_server import LocalHTTPServer
from tests.support.images import flat_png
from tests.support.lambdas import (
    api_event,
    call_api,
    failure_destination_event,
    get_task,
    invoke,
    response_json,
    s3_event,
)

pytestmark = pytest.mark.usefixtures("aws", "allow_loopback")


def staged_keys(names: LocalNames) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=names.bucket("IngestBucket"))
    return sorted(o["Key"] for o in listing.get("Contents", []))


def sync_edit(images: LocalHTTPServer) -> dict[str, Any]:
    body = {"input": images.url("/cat.png"), "operations": {}, "output": {"format": "png"}}
    response = call_api(api_event(body))
    assert response["statusCode"] == 200, response["body"]
    data: dict[str, Any] = response_json(response)["data"]
    return data


def task_id_of(invocation: Invocation) -> int:
    return int(invocation[1]["pixelport_staged_input"]["key"].rsplit("/", 1)[1])


def history(names: LocalNames, task_id: int) -> list[str]:
    item = boto3.client("dynamodb").get_item(
        TableName=names.table("TasksTable"), Key={"id": {"N": str(task_id)}}, ConsistentRead=True
    )["Item"]
    return [entry["M"]["status"]["S"] for entry in item["history"]["L"]]


def test_a_sync_edit_is_staged_under_direct_and_the_processor_run_on_it_while_the_api_waits(
    aws: LocalNames, images: LocalHTTPServer, direct_invocations: list[Invocation]
) -> None:
    sync_edit(images)
    assert len(direct_invocations) == 1
    task_id = task_id_of(direct_invocations[0])
    event = direct_event(aws.bucket("IngestBucket"), f"direct/{task_id}")
    # Run, not queued: the run ended the task, so nothing else was invoked.
    assert direct_invocations == [("RequestResponse", event)]
    # direct/ is in no S3 notification's filter: this object invokes nothing by itself.
    assert staged_keys(aws) == [f"direct/{task_id}"]
    assert get_task(task_id)["status"] == "DONE"


def test_a_second_delivery_direct_or_by_s3_leaves_the_task_done_once(
    aws: LocalNames, images: LocalHTTPServer, direct_invocations: list[Invocation]
) -> None:
    output = sync_edit(images)["output"]
    task_id = task_id_of(direct_invocations[0])
    ingest = aws.bucket("IngestBucket")
    # The S3 path too, as when the API fell back after an invocation Lambda had taken after all.
    boto3.client("s3").put_object(Bucket=ingest, Key=f"inputs/{task_id}", Body=flat_png())
    again = invoke(processor.lambda_handler, direct_event(ingest, f"direct/{task_id}"))
    by_s3 = invoke(processor.lambda_handler, s3_event(ingest, f"inputs/{task_id}"))
    skipped = {"handled": [{"task_id": task_id, "status": "skipped"}]}
    assert again == skipped and by_s3 == skipped
    statuses = history(aws, task_id)
    assert statuses.count("DONE") == 1 and statuses.count("PROCESSING") == 1
    item = boto3.client("dynamodb").get_item(
        TableName=aws.table("TasksTable"), Key={"id": {"N": str(task_id)}}, ConsistentRead=True
    )["Item"]
    assert json.loads(item["result"]["S"])["output"]["tmp_url"] == output["tmp_url"]


def test_when_lambda_refuses_the_invocation_the_input_reaches_the_processor_through_s3(
    aws: LocalNames,
    images: LocalHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    s3_notifications: Callable[[], int],
    direct_invocations: list[Invocation],
) -> None:
    monkeypatch.setenv("PROCESSOR_FUNCTION", "NoSuchFunction")  # Lambda answers ResourceNotFound
    output = sync_edit(images)["output"]
    assert output["format"] == "PNG"
    assert direct_invocations == [] and s3_notifications() == 1
    (direct_key, input_key) = staged_keys(aws)
    assert direct_key.startswith("direct/") and input_key == f"inputs/{direct_key.split('/')[1]}"


def test_a_run_that_fails_queues_the_input_and_the_queued_invocation_ends_the_task_done(
    aws: LocalNames, images: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = 0

    def render_failing_once(data: bytes, request: Any) -> Any:
        nonlocal renders
        renders += 1
        if renders == 1:
            raise RuntimeError("simulated crash in the first run")
        return render(data, request)

    monkeypatch.setattr(processing, "render", render_failing_once)
    with serving_direct_invocations(
        lambda event: invoke(processor.lambda_handler, event, timeout=300), monkeypatch
    ) as invoked:
        output = sync_edit(images)["output"]
    assert output["format"] == "PNG" and renders == 2
    # The run's function error (the handler gave the task back), then Lambda's queue, with its retries.
    assert [kind for kind, _ in invoked] == ["RequestResponse", "Event"]
    assert invoked[0][1] == invoked[1][1]
    given_back_then_done = ["ACCEPTED", "PROCESSING", "ACCEPTED", "PROCESSING", "DONE"]
    assert history(aws, task_id_of(invoked[0])) == given_back_then_done


def test_a_run_that_outlasts_the_apis_wait_for_its_answer_is_queued_too_and_the_task_ends_done_once(
    aws: LocalNames, images: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The API waits 0.5 s for a run's answer; this run starts its work only once the sync edit was
    # answered (by the queued invocation), so it outlasts that wait whatever the machine's speed.
    monkeypatch.setattr(handover, "run_seconds", lambda: 0.5)
    answered, late_ended = threading.Event(), threading.Event()
    late: list[dict[str, Any]] = []

    def deliver(event: dict[str, Any]) -> Any:
        if late:  # the queued invocation, at once
            return invoke(processor.lambda_handler, event, timeout=300)
        late.append(event)
        answered.wait(60)
        late[0] = invoke(processor.lambda_handler, event, timeout=300)
        late_ended.set()
        return late[0]

    with serving_direct_invocations(deliver, monkeypatch) as invoked:
        try:
            output = sync_edit(images)["output"]
        finally:
            answered.set()
        assert output["format"] == "PNG"
        task_id = task_id_of(invoked[0])
        assert [kind for kind, _ in invoked] == ["RequestResponse", "Event"]
        assert late_ended.wait(60)
    # The late run found the task ended and left it so.
    assert late[0] == {"handled": [{"task_id": task_id, "status": "skipped"}]}
    assert history(aws, task_id) == ["ACCEPTED", "PROCESSING", "DONE"]


def test_a_direct_invocation_that_failed_every_attempt_ends_its_task_error(
    aws: LocalNames, store: TaskStore
) -> None:
    task = store.create(
        account=TEST_ACCOUNT, request={"input": "https://example.com/a.png"}, source_name="a.png"
    )
    event = direct_event(aws.bucket("IngestBucket"), f"direct/{task.id}")
    record = failure_destination_event(event, error_message="simulated outage", error_type="RuntimeError")
    assert invoke(failures.lambda_handler, record) == {"batchItemFailures": []}
    data = get_task(task.id)
    assert data["status"] == "ERROR"
    assert "processing failed on every attempt (3)" in data["errors"][0]["error"]
