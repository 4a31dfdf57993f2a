"""The processor reads back a request the API already accepted: a deploy in between (a lower
configurable limit, a contract that changed) must not fail the task as the client's mistake."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import boto3
import pytest
from PIL import Image

from functions.api import app as api
from local.resources import LocalNames
from pixelport.contract.limits import limits
from pixelport.tasks import Status, TaskStore
from tests.support.http_server import LocalHTTPServer
from tests.support.lambdas import api_event, invoke, process, response_json, submit_async

pytestmark = pytest.mark.usefixtures("aws", "allow_loopback")

LONG_PATH = "/" + "a" * 580 + ".png"  # a URL of about 600 characters


@pytest.fixture
def images() -> Iterator[LocalHTTPServer]:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), "navy").save(out, "PNG")
    with LocalHTTPServer() as server:
        server.add(LONG_PATH, body=out.getvalue())
        server.add("/cat.png", body=out.getvalue())
        yield server


def set_url_limit(monkeypatch: pytest.MonkeyPatch, length: int) -> None:
    monkeypatch.setenv("PIXELPORT_MAX_INPUT_URL_LENGTH", str(length))
    limits.cache_clear()


@pytest.fixture(autouse=True)
def fresh_limits() -> Iterator[None]:
    limits.cache_clear()
    yield
    limits.cache_clear()


def test_a_task_accepted_under_a_higher_url_limit_still_finishes_after_the_limit_is_lowered(
    aws: LocalNames, images: LocalHTTPServer, store: TaskStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_url_limit(monkeypatch, 1000)
    url = images.url(LONG_PATH)
    assert 512 < len(url) <= 1000
    task_id = submit_async(url)
    set_url_limit(monkeypatch, 512)  # the deploy that lowered it
    assert process(aws, task_id)["handled"] == [{"task_id": task_id, "status": "done"}]
    task = store.get(task_id)
    assert task is not None and task.status is Status.DONE


def test_the_lowered_limit_still_refuses_new_requests(
    images: LocalHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_url_limit(monkeypatch, 512)
    response = invoke(
        api.lambda_handler,
        api_event({"input": images.url(LONG_PATH), "operations": {}}, path="/v1/image/edit/async"),
        timeout=29,
    )
    assert response["statusCode"] == 422
    assert "at most 512 characters" in response_json(response)["error_message"]


def test_a_stored_request_this_version_cannot_read_ends_5001_not_a_422_for_the_client(
    aws: LocalNames, images: LocalHTTPServer, store: TaskStore
) -> None:
    task_id = submit_async(images.url("/cat.png"))
    stored = {"input": images.url("/cat.png"), "operations": {"retired_operation": {}}}
    boto3.client("dynamodb").update_item(
        TableName=aws.table("TasksTable"),
        Key={"id": {"N": str(task_id)}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "request"},
        ExpressionAttributeValues={":r": {"S": json.dumps(stored)}},
    )
    assert process(aws, task_id)["handled"][0]["status"] == "error"
    task = store.get(task_id)
    assert task is not None and task.status is Status.ERROR
    failure = task.failure()
    assert failure is not None and failure.kind.code == "5001"
    assert "earlier version" in failure.message
