"""The clients a function's common requests never call are made by the first request that calls one
(README "Cold start"): making a client reads its service model, which a new environment's first
request would otherwise pay for nothing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.session import Session

from local.resources import LocalNames
from pixelport import aws as aws_clients
from tests.integration.conftest import Invocation
from tests.support.http_server import LocalHTTPServer
from tests.support.lambdas import api_event, call_api, get_task, process, reset_handler_caches, submit_async

pytestmark = pytest.mark.usefixtures("aws", "allow_loopback")


MAKERS = {
    "s3": aws_clients.s3,
    "dynamodb": aws_clients.dynamodb,
    "kms": aws_clients.kms,
    "sqs": aws_clients.sqs,
    "lambda": aws_clients.lambda_,
    "lambda runner": aws_clients.lambda_runner,
}


def clients_made() -> set[str]:
    return {name for name, make in MAKERS.items() if make.cache_info().currsize}


def test_polling_a_task_makes_the_dynamodb_client_only(images: LocalHTTPServer) -> None:
    task_id = submit_async(images.url("/cat.png"))
    reset_handler_caches()  # a new environment of the API
    assert get_task(task_id)["id"] == task_id
    assert clients_made() == {"dynamodb"}


def test_an_edit_naming_no_storage_is_processed_without_the_kms_client(
    aws: LocalNames, images: LocalHTTPServer
) -> None:
    task_id = submit_async(images.url("/cat.png"))
    reset_handler_caches()  # a new environment of the processor
    assert process(aws, task_id) == {"handled": [{"task_id": task_id, "status": "done"}]}
    assert clients_made() == {"dynamodb", "s3", "sqs"}  # SQS: the webhook queue hears of every end


def test_a_client_made_on_first_use_is_the_functions_own() -> None:
    queue = aws_clients.on_first_use(aws_clients.sqs)
    assert "sqs" not in clients_made()
    assert queue.list_queues()["QueueUrls"]  # the template's queues
    assert "sqs" in clients_made()
    assert queue.meta is aws_clients.sqs().meta


def test_a_warmed_up_environment_serves_its_requests_without_making_a_client(
    aws: LocalNames,
    images: LocalHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    direct_invocations: list[Invocation],
) -> None:
    # What SnapStart's snapshot holds (pixelport/init_ahead.py), then the requests a client sends.
    from functions.api import app as api
    from functions.processor import app as processor

    reset_handler_caches()
    api.warm()
    processor.warm()
    assert clients_made() == set(MAKERS)
    made: list[str] = []
    create_client = Session.create_client

    def counted(self: Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service_name)
        return create_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(Session, "create_client", counted)
    # A sync edit (the API runs the processor: its Lambda runner), an async one, their reads.
    edited = call_api(api_event({"input": images.url("/cat.png"), "operations": {}}))
    assert edited["statusCode"] == 200, edited["body"]
    assert [kind for kind, _ in direct_invocations] == ["RequestResponse"]
    task_id = submit_async(images.url("/cat.png"))
    assert process(aws, task_id) == {"handled": [{"task_id": task_id, "status": "done"}]}
    assert get_task(task_id)["status"] == "DONE"
    assert made == []
