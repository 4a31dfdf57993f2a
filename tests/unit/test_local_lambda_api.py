"""make run's Lambda Invoke API, spoken to by boto3's own Lambda client as the functions speak to it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.lambda_api import LambdaInvokeServer, function_name
from local.runtime import FunctionError


def run_echoing(name: str, event: Any) -> Any:
    """The function run synchronously: echoes its event, raises as Lambda's runtime reports it."""
    if event.get("fail") == "handler":
        raise FunctionError({"errorMessage": "it broke", "errorType": "RuntimeError", "stackTrace": []})
    if event.get("fail") == "in process":
        raise ValueError("raised by a handler run in process")
    return {"ran": name, "event": event}


@pytest.fixture
def server() -> Iterator[tuple[LambdaInvokeServer, list[tuple[str, Any]]]]:
    queued: list[tuple[str, Any]] = []
    running = LambdaInvokeServer(
        frozenset({"ProcessorFunction"}),
        lambda name, event: queued.append((name, event)),
        run_echoing,
        lambda _: None,
    )
    running.start()
    yield running, queued
    running.stop()


def client(endpoint: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}),
    )


def test_an_event_invocation_is_queued_and_answered_202(
    server: tuple[LambdaInvokeServer, list[tuple[str, Any]]],
) -> None:
    running, queued = server
    answer = client(running.endpoint).invoke(
        FunctionName="ProcessorFunction", InvocationType="Event", Payload=json.dumps({"a": 1}).encode()
    )
    assert answer["StatusCode"] == 202
    assert queued == [("ProcessorFunction", {"a": 1})]


def test_an_unknown_function_is_resource_not_found_and_nothing_is_queued(
    server: tuple[LambdaInvokeServer, list[tuple[str, Any]]],
) -> None:
    running, queued = server
    lambda_client = client(running.endpoint)
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName="NoSuchFunction", InvocationType="Event", Payload=b"{}")
    assert queued == []


def test_a_request_response_invocation_runs_now_and_answers_the_functions_payload(
    server: tuple[LambdaInvokeServer, list[tuple[str, Any]]],
) -> None:
    running, queued = server
    answer = client(running.endpoint).invoke(
        FunctionName="ProcessorFunction", InvocationType="RequestResponse", Payload=b'{"a": 1}'
    )
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"ran": "ProcessorFunction", "event": {"a": 1}}
    assert queued == []


@pytest.mark.parametrize(("fail", "error_type"), [("handler", "RuntimeError"), ("in process", "ValueError")])
def test_a_run_that_fails_is_answered_200_with_lambdas_unhandled_function_error(
    server: tuple[LambdaInvokeServer, list[tuple[str, Any]]], fail: str, error_type: str
) -> None:
    running, queued = server
    answer = client(running.endpoint).invoke(
        FunctionName="ProcessorFunction", Payload=json.dumps({"fail": fail}).encode()
    )
    assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == error_type
    assert queued == []


def test_a_dry_run_is_refused_not_played_as_a_run_or_an_event(
    server: tuple[LambdaInvokeServer, list[tuple[str, Any]]],
) -> None:
    running, queued = server
    lambda_client = client(running.endpoint)
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.invoke(FunctionName="ProcessorFunction", InvocationType="DryRun", Payload=b"{}")
    assert queued == []


@pytest.mark.parametrize(
    "given",
    [
        "ProcessorFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:ProcessorFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:ProcessorFunction:$LATEST",
        "123456789012:function:ProcessorFunction",
    ],
)
def test_a_function_is_named_by_its_name_or_arn(given: str) -> None:
    assert function_name(given) == "ProcessorFunction"


def test_nagle_is_off_on_the_servers_side(
    server: tuple[LambdaInvokeServer, list[tuple[str, Any]]],
) -> None:
    running, queued = server
    seen: list[int] = []

    class Probe(running.RequestHandlerClass):  # type: ignore[misc, name-defined]
        def setup(self) -> None:
            super().setup()
            seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    running.RequestHandlerClass = Probe
    client(running.endpoint).invoke(FunctionName="ProcessorFunction", InvocationType="Event", Payload=b"{}")
    assert queued == [("ProcessorFunction", {})]
    assert seen and seen[0] != 0
