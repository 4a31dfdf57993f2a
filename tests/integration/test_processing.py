"""The processor and the failure handler called with events/s3-put.json against moto, and the sync
route answered once S3's notification (moto's S3->SQS) has reached the processor."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from PIL import Image

from functions.failures import app as failures
from functions.processor import app as processor
from local.resources import LocalNames
from pixelport.processing import Processor, TaskBusy
from pixelport.tasks import Task, TaskStore
from tests.conftest import TEST_ACCOUNT
from tests.integration.conftest import Invocation
from tests.support.http_server import LocalHTTPServer
from tests.support.images import flat_png
from tests.support.lambdas import (
    api_event,
    call_api,
    failure_destination_event,
    get_task,
    invoke,
    process,
    response_json,
    s3_event,
    staged_input_event,
    submit_async,
)

pytestmark = pytest.mark.usefixtures("aws", "allow_loopback")


@pytest.fixture
def images() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        server.add("/cat.png", body=flat_png())
        server.add("/broken.jpg", body=b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"garbage" * 20)
        yield server


def result_objects(names: LocalNames) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=names.bucket("ResultsBucket"), Prefix="tmp/")
    return [o["Key"] for o in listing.get("Contents", [])]


def read_result(names: LocalNames, tmp_url: str) -> bytes:
    key = tmp_url.removeprefix("https://results.example.test/")
    return boto3.client("s3").get_object(Bucket=names.bucket("ResultsBucket"), Key=key)["Body"].read()


def test_a_staged_input_becomes_a_result_and_a_done_task(aws: LocalNames, images: LocalHTTPServer) -> None:
    task_id = submit_async(images.url("/cat.png"))
    assert process(aws, task_id) == {"handled": [{"task_id": task_id, "status": "done"}]}
    data = get_task(task_id)
    assert data["status"] == "DONE" and data["errors"] == []
    assert data["result"]["input_object"] == {
        "ext": "png",
        "mps": 0.0012,
        "mime": "image/png",
        "format": "PNG",
        "width": 40,
        "height": 30,
    }
    output = data["result"]["output_object"]
    assert {k: output[k] for k in ("ext", "mime", "format", "width", "height")} == {
        "ext": "jpg",
        "mime": "image/jpeg",
        "format": "JPEG",
        "width": 40,
        "height": 30,
    }
    assert output["tmp_url"].startswith("https://results.example.test/tmp/")
    assert output["tmp_url"].endswith("/cat.jpg")
    with Image.open(io.BytesIO(read_result(aws, output["tmp_url"]))) as result:
        assert (result.format, result.size) == ("JPEG", (40, 30))


def test_the_same_s3_event_twice_gives_one_result_and_one_done(
    aws: LocalNames, images: LocalHTTPServer
) -> None:
    task_id = submit_async(images.url("/cat.png"))
    first = process(aws, task_id)
    second = process(aws, task_id)
    assert first["handled"][0]["status"] == "done"
    assert second["handled"][0]["status"] == "skipped"
    assert len(result_objects(aws)) == 1
    item = boto3.client("dynamodb").get_item(
        TableName=aws.table("TasksTable"), Key={"id": {"N": str(task_id)}}
    )
    history = [entry["M"]["status"]["S"] for entry in item["Item"]["history"]["L"]]
    assert history == ["ACCEPTED", "PROCESSING", "DONE"]


def test_an_event_for_a_task_held_by_another_invocation_is_retried_and_counted_as_busy_not_failed(
    aws: LocalNames, images: LocalHTTPServer, store: TaskStore, capsys: pytest.CaptureFixture[str]
) -> None:
    task_id = submit_async(images.url("/cat.png"))
    store.claim(task_id, lease_seconds=300)
    capsys.readouterr()
    with pytest.raises(TaskBusy):
        process(aws, task_id)
    assert result_objects(aws) == []
    # ProcessorErrorsAlarm subtracts these from the function's Errors (template.yaml).
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    busy = [
        (r["TaskBusy"], r["service"], r["_aws"]["CloudWatchMetrics"][0]["Namespace"])
        for r in records
        if "TaskBusy" in r
    ]
    assert busy == [([1.0], "pixelport", "pixelport")]


def test_an_object_that_is_not_a_staged_input_is_ignored(aws: LocalNames) -> None:
    event = s3_event(aws.bucket("IngestBucket"), "inputs/not-a-task")
    assert invoke(processor.lambda_handler, event)["handled"] == [{"task_id": None, "status": "skipped"}]


def test_a_corrupt_image_ends_the_task_in_error_4006(
    aws: LocalNames, images: LocalHTTPServer, store: TaskStore
) -> None:
    task_id = submit_async(images.url("/broken.jpg"))
    assert process(aws, task_id)["handled"][0]["status"] == "error"
    data = get_task(task_id)
    assert data["status"] == "ERROR"
    assert data["result"] == {}
    stored = store.get(task_id)
    failure = stored.failure() if stored else None
    assert failure is not None and (failure.kind.code, failure.status) == ("4006", 400)
    assert data["errors"] == [{"error": failure.message, "created_at": stored.error["created_at"]}]  # type: ignore[union-attr, index]


def test_an_unexpected_failure_is_retried_then_settled_as_error_by_the_failure_destination(
    aws: LocalNames, images: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = submit_async(images.url("/cat.png"))

    def explode(*_: Any) -> Any:
        raise RuntimeError("simulated outage")

    monkeypatch.setattr("pixelport.processing.render", explode)
    for _ in range(3):  # the first invocation and Lambda's two retries
        with pytest.raises(RuntimeError):
            process(aws, task_id)
        assert get_task(task_id)["status"] == "ACCEPTED"  # given back, never stuck in PROCESSING
    sqs_event = failure_destination_event(
        staged_input_event(aws, task_id), error_message="simulated outage", error_type="RuntimeError"
    )
    assert invoke(failures.lambda_handler, sqs_event) == {"batchItemFailures": []}
    data = get_task(task_id)
    assert data["status"] == "ERROR"
    assert "processing failed on every attempt (3)" in data["errors"][0]["error"]


def test_sync_edit_answers_200_once_the_processor_invoked_directly_ended_it(
    images: LocalHTTPServer, s3_notifications: Callable[[], int], direct_invocations: list[Invocation]
) -> None:
    body = {"input": images.url("/cat.png"), "operations": {}, "output": {"format": "png"}}
    response = call_api(api_event(body))
    assert response["statusCode"] == 200, response["body"]
    data = response_json(response)["data"]
    assert data["output"]["format"] == "PNG" and data["output"]["tmp_url"].endswith("/cat.png")
    assert [kind for kind, _ in direct_invocations] == ["RequestResponse"] and s3_notifications() == 0


def test_sync_edit_of_a_corrupt_image_answers_400_with_the_processors_error(
    images: LocalHTTPServer, s3_notifications: Callable[[], int]
) -> None:
    response = call_api(api_event({"input": images.url("/broken.jpg"), "operations": {}}))
    assert response["statusCode"] == 400, response["body"]
    assert response_json(response)["error_code"] == "4006"


def test_processor_log_lines_carry_the_api_request_id(aws: LocalNames, images: LocalHTTPServer) -> None:
    import logging

    event = api_event({"input": images.url("/broken.jpg"), "operations": {}}, path="/v1/image/edit/async")
    task_id = response_json(call_api(event))["data"]["id"]
    handler = logging.getLogger("pixelport").handlers[0]  # Powertools' JSON handler for the service
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    try:
        process(aws, task_id)
    finally:
        handler.setStream(original)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    failed = [line for line in lines if line["message"] == "task failed"]
    assert failed and failed[0]["correlation_id"] == event["requestContext"]["requestId"]
    assert failed[0]["task_id"] == task_id


def emitted_failures(stdout: str) -> list[dict[str, Any]]:
    """The `Failures` metric records (CloudWatch embedded metric format) printed by the handlers."""
    records = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"')]
    return [r for r in records if "Failures" in r]


def test_a_processor_error_answered_through_the_sync_route_is_counted_once(
    images: LocalHTTPServer, s3_notifications: Callable[[], int], capsys: pytest.CaptureFixture[str]
) -> None:
    response = call_api(api_event({"input": images.url("/broken.jpg"), "operations": {}}))
    assert response["statusCode"] == 400, response["body"]
    # The API counts synchronously, before it answers; the processor (another thread here) writes the
    # task ERROR, which the API's poll may see, before it flushes its metrics: wait for its line.
    output = capsys.readouterr().out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "processor" not in [f["stage"] for f in emitted_failures(output)]:
        time.sleep(0.05)
        output += capsys.readouterr().out
    failures_counted = emitted_failures(output)
    assert [(f["stage"], f["error_code"]) for f in failures_counted] == [("processor", "4006")]


class SpyingS3:
    """The real (moto) S3 client, recording when each GetObject was sent and whether its body closed."""

    def __init__(self) -> None:
        self._s3 = boto3.client("s3")
        self.opened = threading.Event()
        self.bodies: list[SpiedBody] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def get_object(self, **kwargs: Any) -> Any:
        self.opened.set()
        answer: dict[str, Any] = dict(self._s3.get_object(**kwargs))
        body = SpiedBody(answer["Body"])
        self.bodies.append(body)
        return {**answer, "Body": body}


class SpiedBody:
    """A GetObject body that tells whether it was read and closed."""

    def __init__(self, body: Any) -> None:
        self._body = body
        self.read_bytes = 0
        self.closed = False

    def read(self, *args: Any) -> bytes:
        data: bytes = self._body.read(*args)
        self.read_bytes += len(data)
        return data

    def close(self) -> None:
        self.closed = True
        self._body.close()


class ClaimSeeingTheOpen(TaskStore):
    """The tasks table; its claim waits (up to 5 s) until the staged object's GetObject was sent."""

    def __init__(self, names: LocalNames, spy: SpyingS3) -> None:
        super().__init__(boto3.client("dynamodb"), names.table("TasksTable"))
        self.spy = spy
        self.open_before_claim_answered: list[bool] = []

    def claim(self, task_id: int, *, lease_seconds: float) -> Any:
        answer = super().claim(task_id, lease_seconds=lease_seconds)
        self.open_before_claim_answered.append(self.spy.opened.wait(5))
        return answer


def processor_spying(names: LocalNames) -> tuple[Processor, ClaimSeeingTheOpen, SpyingS3]:
    spy = SpyingS3()
    store = ClaimSeeingTheOpen(names, spy)
    results = names.bucket("ResultsBucket")
    built = Processor(store, spy, results, "http://127.0.0.1/tmp")  # type: ignore[arg-type]
    return built, store, spy


def staged_direct_task(names: LocalNames, store: TaskStore) -> Task:
    """A task whose input the sync route staged under direct/."""
    task = store.create(
        account=TEST_ACCOUNT,
        request={"input": "https://example.com/a.png", "operations": {}},
        source_name="a.png",
    )
    put = boto3.client("s3").put_object
    put(Bucket=names.bucket("IngestBucket"), Key=f"direct/{task.id}", Body=flat_png())
    return task


def test_the_staged_input_is_opened_while_the_task_is_claimed_and_read_once_it_is_ours(
    aws: LocalNames, store: TaskStore
) -> None:
    ingest, task = aws.bucket("IngestBucket"), staged_direct_task(aws, store)
    built, spying_store, spy = processor_spying(aws)
    outcome = built.handle(ingest, f"direct/{task.id}")
    assert outcome.status == "done" and outcome.bytes_in == len(flat_png())
    assert spying_store.open_before_claim_answered == [True]
    (body,) = spy.bodies
    assert body.read_bytes == len(flat_png()) and body.closed


def test_a_staged_input_opened_for_a_task_that_is_not_ours_is_closed_unread(
    aws: LocalNames, store: TaskStore
) -> None:
    ingest, task = aws.bucket("IngestBucket"), staged_direct_task(aws, store)
    first, _, _ = processor_spying(aws)
    assert first.handle(ingest, f"direct/{task.id}").status == "done"
    again, _, spy = processor_spying(aws)
    assert again.handle(ingest, f"direct/{task.id}").status == "skipped"
    # Closed before the handler returned: nothing left in flight when Lambda freezes the environment.
    (body,) = spy.bodies
    assert body.closed and body.read_bytes == 0
