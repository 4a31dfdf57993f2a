"""The local event sources: S3 events played as Lambda's asynchronous invocations (retries, on-failure
destination), and pumps that survive errors and stop without a trace."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from moto import mock_aws

from local.events import AsyncInvoker, SqsPoller
from local.resources import REGION
from local.runtime import FunctionError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:Fake"
S3_EVENT = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "inputs/1"}}}]}


class FakeRuntime:
    """Stands in for FunctionRuntime: records events; raises what `fail` says for each one."""

    function_arn = FUNCTION_ARN

    def __init__(self, fail: Callable[[Any], BaseException | None] = lambda _event: None):
        self.fail = fail
        self.events: list[Any] = []

    def invoke(self, event: Any, timeout: float | None = None) -> Any:
        self.events.append(event)
        error = self.fail(event)
        if error is not None:
            raise error
        return None


class ScriptedSqs:
    """An SQS client whose receive_message plays a script (exceptions are raised), then waits empty."""

    def __init__(self, script: list[list[dict[str, Any]] | Exception]):
        self.script = script
        self.deleted: list[str] = []

    def receive_message(self, **_: Any) -> dict[str, Any]:
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return {"Messages": step}
        time.sleep(0.02)  # long polling that finds nothing
        return {}

    def delete_message(self, **kwargs: str) -> None:
        self.deleted.append(kwargs["ReceiptHandle"])

    def change_message_visibility(self, **_: Any) -> None:
        pass


def message(n: int, body: Any = S3_EVENT) -> dict[str, Any]:
    return {
        "MessageId": f"m{n}",
        "ReceiptHandle": f"r{n}",
        "Body": json.dumps(body),
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


def invoker(
    sqs: Any,
    runtime: FakeRuntime,
    stop: threading.Event,
    *,
    queue_url: str = "queue",
    on_failure_queue_url: str | None = None,
    retry_delay: float = 0.1,
) -> AsyncInvoker:
    return AsyncInvoker(
        "Fake-Event",
        cast("SQSClient", sqs),
        queue_url,
        runtime,
        stop,
        max_retries=2,
        on_failure_queue_url=on_failure_queue_url,
        retry_delay=retry_delay,
        concurrency=2,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


# -- stopping --------------------------------------------------------------------------------------


def test_a_stopped_invoker_leaves_no_thread_behind_and_prints_no_traceback(
    capsys: pytest.CaptureFixture[str], stop: threading.Event
) -> None:
    pump = invoker(ScriptedSqs([]), FakeRuntime(), stop)
    pump.start()
    time.sleep(0.1)
    stop.set()
    pump.join(5)
    assert [t for t in threading.enumerate() if t.name == "Fake-Event"] == []
    assert "Traceback" not in capsys.readouterr().err


# -- errors are logged and the pumps go on ---------------------------------------------------------


def test_the_invoker_logs_a_receive_error_and_goes_on_to_invoke_the_next_message(
    capsys: pytest.CaptureFixture[str], stop: threading.Event
) -> None:
    runtime = FakeRuntime()
    sqs = ScriptedSqs([ConnectionError("moto went away"), [message(1)]])
    invoker(sqs, runtime, stop).start()
    wait_for(lambda: sqs.deleted == ["r1"])
    assert runtime.events == [S3_EVENT]
    err = capsys.readouterr().err
    assert "Fake-Event" in err and "ConnectionError: moto went away" in err
    assert "Traceback" not in err


def test_an_exception_inside_an_invocation_is_logged_and_the_next_message_is_still_invoked(
    capsys: pytest.CaptureFixture[str], stop: threading.Event
) -> None:
    runtime = FakeRuntime(lambda e: RuntimeError("broken invoker") if e == {"n": 1} else None)
    sqs = ScriptedSqs([[message(1, {"n": 1})], [message(2, {"n": 2})]])
    invoker(sqs, runtime, stop).start()
    wait_for(lambda: sqs.deleted == ["r2"])
    assert runtime.events == [{"n": 1}, {"n": 2}]
    # The done-callback may run just after the pump moved on.
    err: list[str] = []

    def logged() -> bool:
        err.append(capsys.readouterr().err)
        return "RuntimeError: broken invoker" in "".join(err)

    wait_for(logged)
    assert "Fake-Event" in "".join(err)


def sqs_poller(
    sqs: ScriptedSqs, runtime: FakeRuntime, stop: threading.Event, *, report_failures: bool = False
) -> SqsPoller:
    return SqsPoller(
        "Fake-Queue",
        cast("SQSClient", sqs),
        "queue",
        "arn:aws:sqs:us-east-1:123456789012:q",
        runtime,
        stop,
        batch_size=10,
        report_failures=report_failures,
    )


def test_the_sqs_poller_logs_a_receive_error_and_goes_on_to_invoke_the_next_batch(
    capsys: pytest.CaptureFixture[str], stop: threading.Event
) -> None:
    runtime = FakeRuntime()
    sqs = ScriptedSqs([ConnectionError("moto went away"), [message(1)]])
    poller = sqs_poller(sqs, runtime, stop)
    poller.start()
    wait_for(lambda: sqs.deleted == ["r1"])
    assert [r["messageId"] for r in runtime.events[0]["Records"]] == ["m1"]
    err = capsys.readouterr().err
    assert "Fake-Queue" in err and "ConnectionError: moto went away" in err


class ReportingRuntime(FakeRuntime):
    """Answers that the first message of its batch failed, as a partial response."""

    def invoke(self, event: Any, timeout: float | None = None) -> Any:
        super().invoke(event, timeout)
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


# Both cases wait for a deletion, so the poller has acted on the answer when the assertion runs.
@pytest.mark.parametrize(("report_failures", "deleted"), [(True, ["r2"]), (False, ["r1", "r2"])])
def test_a_partial_response_keeps_its_messages_only_when_the_mapping_reports_failures(
    stop: threading.Event, report_failures: bool, deleted: list[str]
) -> None:
    runtime = ReportingRuntime()
    sqs = ScriptedSqs([[message(1), message(2)]])
    poller = sqs_poller(sqs, runtime, stop, report_failures=report_failures)
    poller.start()
    wait_for(lambda: len(sqs.deleted) == len(deleted))
    time.sleep(0.1)  # a wrongly deleted kept message would show now
    assert sorted(sqs.deleted) == deleted


# -- Lambda's asynchronous invocation, against moto's SQS -------------------------------------------


class VisibilitySpy:
    """An SQS client that records the visibility timeouts it is asked for."""

    def __init__(self, client: SQSClient):
        self.client = client
        self.visibility: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def change_message_visibility(self, **kwargs: Any) -> Any:
        self.visibility.append(kwargs["VisibilityTimeout"])
        return self.client.change_message_visibility(**kwargs)


@pytest.fixture
def sqs() -> Iterator[SQSClient]:
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def queue(sqs: SQSClient, name: str) -> str:
    # The local stack gives S3 event queues the function's timeout; a short one keeps tests quick.
    return sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]


def messages_left(sqs: SQSClient, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_a_failing_invocation_is_retried_with_doubling_delays_then_sent_to_the_on_failure_queue(
    sqs: SQSClient, stop: threading.Event
) -> None:
    events, failures = queue(sqs, "events"), queue(sqs, "failures")
    runtime = FakeRuntime(
        lambda _event: FunctionError(
            {"errorType": "ValueError", "errorMessage": "bad pixels", "stackTrace": []}
        )
    )
    spy = VisibilitySpy(sqs)
    invoker(spy, runtime, stop, queue_url=events, on_failure_queue_url=failures, retry_delay=1).start()
    sqs.send_message(QueueUrl=events, MessageBody=json.dumps(S3_EVENT))

    answer = sqs.receive_message(QueueUrl=failures, WaitTimeSeconds=15)
    assert len(answer.get("Messages", [])) == 1
    record = json.loads(answer["Messages"][0]["Body"])
    assert len(runtime.events) == 3  # the first attempt and MaximumRetryAttempts (2) retries
    assert spy.visibility == [1, 2]  # retry_delay, then doubled
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"] == f"{FUNCTION_ARN}:$LATEST"
    assert record["requestPayload"] == S3_EVENT
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {"errorMessage": "bad pixels", "errorType": "ValueError"}
    wait_for(lambda: messages_left(sqs, events) == 0)


def test_a_succeeding_invocation_deletes_its_message(sqs: SQSClient, stop: threading.Event) -> None:
    events = queue(sqs, "events")
    runtime = FakeRuntime()
    invoker(sqs, runtime, stop, queue_url=events).start()
    sqs.send_message(QueueUrl=events, MessageBody=json.dumps(S3_EVENT))
    wait_for(lambda: len(runtime.events) == 1 and messages_left(sqs, events) == 0)
    assert runtime.events == [S3_EVENT]


def test_the_s3_test_event_is_deleted_without_an_invocation(sqs: SQSClient, stop: threading.Event) -> None:
    events = queue(sqs, "events")
    runtime = FakeRuntime()
    invoker(sqs, runtime, stop, queue_url=events).start()
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}
    sqs.send_message(QueueUrl=events, MessageBody=json.dumps(test_event))
    wait_for(lambda: messages_left(sqs, events) == 0)
    time.sleep(0.2)
    assert runtime.events == []
