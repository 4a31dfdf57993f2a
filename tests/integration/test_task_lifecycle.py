"""Every task ends: processors and the API killed at each step, Lambda's retries, the failure
destination and the sweeper, with time moved instead of waited for.

A kill is a `Killed` raised at the chosen point: a BaseException, so none of the handler's own
`except Exception` clean-up runs, as when Lambda's runtime dies (out of memory, timeout, exit).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from functions.api import app as api
from functions.failures import app as failures
from functions.sweeper import app as sweeper
from local.resources import LocalNames
from pixelport.contract.limits import limits
from pixelport.lease import LEASE_SECONDS
from pixelport.tasks import Claimed, Status, TaskStore
from tests.support.clock import Clock
from tests.support.http_server import LocalHTTPServer
from tests.support.lambdas import (
    failure_destination_event,
    get_task,
    invoke,
    load_event,
    process,
    staged_input_event,
    submit_async,
)

pytestmark = pytest.mark.usefixtures("aws", "allow_loopback")

# Lambda waits about a minute before its first retry of a failed asynchronous invocation.
LAMBDA_FIRST_RETRY_DELAY = 60.0


class Killed(BaseException):
    """The runtime died here: nothing after this line of the handler runs."""


def kill_processor_at(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    def die(*_: Any, **__: Any) -> Any:
        raise Killed(target)

    monkeypatch.setattr(target, die)


def kill_processor_on_every_attempt(
    names: LocalNames, task_id: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor killed in render on the first invocation and on Lambda's two retries, a minute
    or two apart; the clock is left a retry delay after the last attempt."""
    kill_processor_at(monkeypatch, "pixelport.processing.render")
    for _ in range(3):
        with pytest.raises(Killed):
            process(names, task_id)
        clock.advance(LAMBDA_FIRST_RETRY_DELAY)


def sweep() -> dict[str, Any]:
    return invoke(sweeper.lambda_handler, load_event("schedule.json"), timeout=60)


def failure_record(names: LocalNames, task_id: int, *, receive_count: int) -> dict[str, Any]:
    """The on-failure destination record of the task's processor, killed on each of its attempts."""
    return failure_destination_event(staged_input_event(names, task_id), receive_count=receive_count)


def test_a_processor_killed_after_its_claim_is_taken_over_by_lambdas_first_retry(
    aws: LocalNames, images: LocalHTTPServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = submit_async(images.url("/cat.png"))
    with monkeypatch.context() as patch:
        kill_processor_at(patch, "pixelport.processing.render")
        with pytest.raises(Killed):
            process(aws, task_id)
    assert get_task(task_id)["status"] == "PROCESSING"
    assert LEASE_SECONDS < LAMBDA_FIRST_RETRY_DELAY
    clock.advance(LAMBDA_FIRST_RETRY_DELAY)
    assert process(aws, task_id)["handled"] == [{"task_id": task_id, "status": "done"}]
    assert get_task(task_id)["status"] == "DONE"


def test_a_processor_killed_after_writing_its_result_but_before_completing_ends_done_on_retry(
    aws: LocalNames, images: LocalHTTPServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = submit_async(images.url("/cat.png"))
    with monkeypatch.context() as patch:
        kill_processor_at(patch, "pixelport.tasks.TaskStore.complete")
        with pytest.raises(Killed):
            process(aws, task_id)
    written = boto3.client("s3").list_objects_v2(Bucket=aws.bucket("ResultsBucket"), Prefix="tmp/")
    assert written["KeyCount"] == 1  # the result was written; the task does not know it yet
    clock.advance(LAMBDA_FIRST_RETRY_DELAY)
    assert process(aws, task_id)["handled"][0]["status"] == "done"
    data = get_task(task_id)
    assert data["status"] == "DONE"
    assert data["result"]["output_object"]["tmp_url"].endswith("/cat.jpg")


def test_a_processor_killed_on_every_attempt_is_ended_5001_by_the_failure_destination(
    aws: LocalNames, images: LocalHTTPServer, store: TaskStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = submit_async(images.url("/cat.png"))
    kill_processor_on_every_attempt(aws, task_id, clock, monkeypatch)
    clock.at -= LAMBDA_FIRST_RETRY_DELAY  # the record arrives as the last attempt dies: lease held
    answer = invoke(failures.lambda_handler, failure_record(aws, task_id, receive_count=1))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}  # looked at again later
    clock.advance(LEASE_SECONDS + 1)  # the queue's visibility timeout (60 s) is longer than a lease
    answer = invoke(failures.lambda_handler, failure_record(aws, task_id, receive_count=2))
    assert answer == {"batchItemFailures": []}
    task = store.get(task_id)
    assert task is not None and task.status is Status.ERROR and task.attempts == 3
    assert task.failure() is not None and task.failure().kind.code == "5001"  # type: ignore[union-attr]


def test_a_failure_record_for_a_task_a_live_invocation_holds_is_dropped_not_dead_lettered(
    aws: LocalNames, images: LocalHTTPServer, store: TaskStore
) -> None:
    task_id = submit_async(images.url("/cat.png"))
    assert isinstance(store.claim(task_id, lease_seconds=LEASE_SECONDS), Claimed)  # a live holder
    for receive in (1, 2):  # looked at again after the queue's visibility timeout
        answer = invoke(failures.lambda_handler, failure_record(aws, task_id, receive_count=receive))
        assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    answer = invoke(failures.lambda_handler, failure_record(aws, task_id, receive_count=3))
    assert answer == {"batchItemFailures": []}  # not sent on towards the dead-letter queue
    assert get_task(task_id)["status"] == "PROCESSING"  # the holder decides


def test_a_processor_killed_on_every_attempt_with_its_failure_record_lost_is_ended_by_the_sweeper(
    aws: LocalNames, images: LocalHTTPServer, store: TaskStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = clock()
    task_id = submit_async(images.url("/cat.png"))
    kill_processor_on_every_attempt(aws, task_id, clock, monkeypatch)
    clock.at = created + limits().task_deadline_seconds - 1
    assert sweep() == {"expired": {}}
    assert get_task(task_id)["status"] == "PROCESSING"
    clock.at = created + limits().task_deadline_seconds + 1
    assert sweep() == {"expired": {"PROCESSING": 1}}
    data = get_task(task_id)
    assert data["status"] == "ERROR"
    assert "processing did not finish within 19 minutes (3 attempts)" in data["errors"][0]["error"]
    task = store.get(task_id)
    assert task is not None and task.failure() is not None
    assert task.failure().kind.code == "5002"  # type: ignore[union-attr]
    assert sweep() == {"expired": {}}  # ended once


def test_an_api_killed_between_creating_the_task_and_staging_its_input_is_ended_by_the_sweeper(
    aws: LocalNames, images: LocalHTTPServer, store: TaskStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = clock()

    def die(**_: Any) -> Any:
        raise Killed("put_object")

    monkeypatch.setattr(api.service().s3, "put_object", die)
    with pytest.raises(Killed):
        submit_async(images.url("/cat.png"))
    overdue = list(store.overdue(created + limits().task_deadline_seconds + 1))
    assert len(overdue) == 1
    (task_id,) = overdue
    assert get_task(task_id)["status"] == "ACCEPTED"
    clock.at = created + limits().task_deadline_seconds + 1
    assert sweep() == {"expired": {"ACCEPTED": 1}}
    data = get_task(task_id)
    assert data["status"] == "ERROR"
    assert data["errors"][0]["error"].startswith("the input never reached the processor within 19 minutes")
    assert data["errors"][0]["created_at"].endswith("+00:00") and "." in data["errors"][0]["created_at"]
