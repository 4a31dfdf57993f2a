"""Calling the Lambda handlers in-process the way Lambda does: events from events/*.json, a context."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.resources import LocalNames

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


@dataclass
class FakeContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    timeout: float = 30.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "test"
    started: float = field(default_factory=time.time)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout - time.time()) * 1000))


def invoke(handler: Callable[..., Any], event: dict[str, Any], *, timeout: float = 30.0) -> dict[str, Any]:
    """Call a handler as Lambda does, with a context whose remaining time counts down from `timeout`."""
    result = handler(event, FakeContext(timeout=timeout))
    assert isinstance(result, dict)
    return result


def load_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def api_event(
    body: Any = None,
    *,
    method: str = "POST",
    path: str = "/v1/image/edit",
    resource: str | None = None,
    key: str | None = "test-key-0123456789",
    raw_body: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """events/api-edit.json with the method, path, key and body of a test."""
    event = copy.deepcopy(load_event("api-edit.json"))
    event["httpMethod"] = method
    event["path"] = path
    event["resource"] = resource or path
    event["requestContext"]["path"] = f"/prod{path}"
    event["requestContext"]["httpMethod"] = method
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    event["pathParameters"] = path_parameters
    headers = {k: v for k, v in event["headers"].items() if k != "Authorization"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    event["body"] = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    return event


def async_get_event(task_id: int | str) -> dict[str, Any]:
    """The event of `GET /v1/image/edit/async/{task_id}`, the task's id as the client wrote it."""
    return api_event(
        None,
        method="GET",
        path=f"/v1/image/edit/async/{task_id}",
        resource="/v1/image/edit/async/{task_id}",
        path_parameters={"task_id": str(task_id)},
    )


def s3_event(bucket: str, key: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("s3-put.json"))
    event["Records"][0]["s3"]["bucket"]["name"] = bucket
    event["Records"][0]["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
    event["Records"][0]["s3"]["object"]["key"] = key
    return event


def staged_input_event(names: LocalNames, task_id: int) -> dict[str, Any]:
    """S3's notification for an async task: requests/{task_id} in IngestBucket (the processor fetches)."""
    return s3_event(names.bucket("IngestBucket"), f"requests/{task_id}")


def failure_destination_event(
    request_payload: dict[str, Any],
    *,
    request_id: str = "req-1",
    error_message: str = "Runtime exited",
    error_type: str = "Runtime.ExitError",
    receive_count: int = 1,
) -> dict[str, Any]:
    """Lambda's on-failure destination record for `request_payload` after its three attempts, as the
    SQS event source hands it to FailedEventsFunction: one message, "m1", received `receive_count` times."""
    record = {
        "requestContext": {
            "requestId": request_id,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": request_payload,
        "responsePayload": {"errorMessage": error_message, "errorType": error_type},
    }
    return {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "r1",
                "body": json.dumps(record),
                "attributes": {"ApproximateReceiveCount": str(receive_count)},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:failures",
                "awsRegion": "us-east-1",
            }
        ]
    }


def reset_handler_caches() -> None:
    """Lambda environments are fresh per deployment; tests get fresh clients per moto mock."""
    from pixelport import aws

    aws.s3.cache_clear()
    aws.dynamodb.cache_clear()
    aws.kms.cache_clear()
    aws.sqs.cache_clear()
    aws.lambda_.cache_clear()
    aws.lambda_runner.cache_clear()
    aws.session.cache_clear()  # a Lambda environment's session reads its credentials once
    import sys

    from pixelport import ended

    ended.deployed_store.cache_clear()

    for name in (
        "functions.api.app",
        "functions.processor.app",
        "functions.failures.app",
        "functions.sweeper.app",
        "functions.batch.app",
        "functions.webhook.app",
    ):
        module = sys.modules.get(name)
        for attr in (
            "service",
            "processor",
            "store",
            "storages",
            "gate",
            "batches",
            "webhooks",
            "lister",
            "sender",
        ):
            cached = getattr(module, attr, None)
            if cached is not None and hasattr(cached, "cache_clear"):
                cached.cache_clear()


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


# The handlers are imported when first called: tests/conftest.py imports this module before it sets
# the environment that the handler modules read at import.


def call_api(event: dict[str, Any]) -> dict[str, Any]:
    """ApiFunction's handler, with API Gateway's 29 seconds."""
    from functions.api import app as api
    from tests.support.answers import check_answer

    response = invoke(api.lambda_handler, event, timeout=29)
    check_answer(event, response)
    return response


def submit_async(url: str) -> int:
    """The id of a task created by `POST /v1/image/edit/async` for `url` with no operations."""
    body = {"input": url, "operations": {}}
    response = call_api(api_event(body, path="/v1/image/edit/async"))
    assert response["statusCode"] == 200, response["body"]
    return int(response_json(response)["data"]["id"])


def get_task(task_id: int) -> dict[str, Any]:
    """The `data` of the task, as `GET /v1/image/edit/async/{task_id}` answers it."""
    response = call_api(async_get_event(task_id))
    assert response["statusCode"] == 200, response["body"]
    return dict(response_json(response)["data"])


def process(names: LocalNames, task_id: int) -> dict[str, Any]:
    """ProcessorFunction's handler, with its 300 s, told by S3 that the task's input is staged."""
    from functions.processor import app as processor

    return invoke(processor.lambda_handler, staged_input_event(names, task_id), timeout=300)
