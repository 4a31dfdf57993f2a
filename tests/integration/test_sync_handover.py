"""A sync edit reaches the processor by a direct asynchronous invocation, not an S3 notification; a
second delivery of the same input is harmless, and an invocation Lambda refuses or that fails on every
attempt never loses the task."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from functions.failures import app as failures
from functions.processor import app as processor
from local.resources import LocalNames
from pixelport.handover import direct_event
from pixelport.tasks import TaskStore
from tests.conftest import TEST_ACCOUNT
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


def task_id_of(event: dict[str, Any]) -> int:
    return int(event["pixelport_staged_input"]["key"].rsplit("/", 1)[1])


def test_a_sync_edit_is_staged_under_direct_and_the_processor_invoked_with_it(
    aws: LocalNames, images: LocalHTTPServer, direct_invocations: list[dict[str, Any]]
) -> None:
    sync_edit(images)
    assert len(direct_invocations) == 1
    task_id = task_id_of(direct_invocations[0])
    assert direct_invocations == [direct_event(aws.bucket("IngestBucket"), f"direct/{task_id}")]
    # direct/ is in no S3 notification's filter: this object invokes nothing by itself.
    assert staged_keys(aws) == [f"direct/{task_id}"]
    assert get_task(task_id)["status"] == "DONE"


def test_a_second_delivery_direct_or_by_s3_leaves_the_task_done_once(
    aws: LocalNames, images: LocalHTTPServer, direct_invocations: list[dict[str, Any]]
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
    item = boto3.client("dynamodb").get_item(
        TableName=aws.table("TasksTable"), Key={"id": {"N": str(task_id)}}, ConsistentRead=True
    )["Item"]
    statuses = [entry["M"]["status"]["S"] for entry in item["history"]["L"]]
    assert statuses.count("DONE") == 1 and statuses.count("PROCESSING") == 1
    assert json.loads(item["result"]["S"])["output"]["tmp_url"] == output["tmp_url"]


def test_when_lambda_refuses_the_invocation_the_input_reaches_the_processor_through_s3(
    aws: LocalNames,
    images: LocalHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    s3_notifications: Callable[[], int],
    direct_invocations: list[dict[str, Any]],
) -> None:
    monkeypatch.setenv("PROCESSOR_FUNCTION", "NoSuchFunction")  # Lambda answers ResourceNotFound
    output = sync_edit(images)["output"]
    assert output["format"] == "PNG"
    assert direct_invocations == [] and s3_notifications() == 1
    (direct_key, input_key) = staged_keys(aws)
    assert direct_key.startswith("direct/") and input_key == f"inputs/{direct_key.split('/')[1]}"


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
