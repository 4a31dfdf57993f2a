"""The task state machine in DynamoDB (moto): ids, exactly-once claims, leases, guarded transitions."""

from __future__ import annotations

import time

import boto3
import pytest

from local.resources import LocalNames
from pixelport.errors import INPUT_CORRUPT, PixelportError
from pixelport.tasks import Claimed, NotClaimable, Status, TaskStore, new_task_id


@pytest.fixture
def store(aws: LocalNames) -> TaskStore:
    return TaskStore(boto3.client("dynamodb"), aws.table("TasksTable"))


def test_task_ids_are_integers_below_2_53_and_time_ordered() -> None:
    earlier = new_task_id(now_ms=1_800_000_000_000)
    later = new_task_id(now_ms=1_800_000_000_001)
    assert earlier < later < 2**53
    assert new_task_id(now_ms=3_900_000_000_000) < 2**53  # still safe in 2093


def test_a_new_task_is_accepted_with_its_request(store: TaskStore) -> None:
    task = store.create(account="a", request={"input": "x"}, source_name="cat.png")
    again = store.get(task.id)
    assert again is not None
    assert (again.status, again.request, again.source_name) == (Status.ACCEPTED, {"input": "x"}, "cat.png")
    assert [h["status"] for h in again.history] == ["ACCEPTED"]


def test_a_task_is_claimed_once(store: TaskStore) -> None:
    task = store.create(account="a", request={}, source_name="")
    first = store.claim(task.id, lease_seconds=60)
    second = store.claim(task.id, lease_seconds=60)
    assert isinstance(first, Claimed)
    assert isinstance(second, NotClaimable) and second.reason == "busy"


def test_a_finished_task_cannot_be_claimed_again(store: TaskStore) -> None:
    task = store.create(account="a", request={}, source_name="")
    claim = store.claim(task.id, lease_seconds=60)
    assert isinstance(claim, Claimed)
    assert store.complete(claim.task, {"input": {}, "output": {}})
    again = store.claim(task.id, lease_seconds=60)
    assert isinstance(again, NotClaimable) and again.reason == "finished"
    done = store.get(task.id)
    assert done is not None and [h["status"] for h in done.history] == ["ACCEPTED", "PROCESSING", "DONE"]


def test_a_missing_task_is_not_claimable(store: TaskStore) -> None:
    claim = store.claim(123, lease_seconds=60)
    assert isinstance(claim, NotClaimable) and claim.reason == "missing"


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_finish(store: TaskStore) -> None:
    task = store.create(account="a", request={}, source_name="")
    old = store.claim(task.id, lease_seconds=0.01)
    time.sleep(0.05)
    new = store.claim(task.id, lease_seconds=60)
    assert isinstance(old, Claimed) and isinstance(new, Claimed)
    assert not store.complete(old.task, {"input": {}, "output": {}})
    assert store.fail(new.task, PixelportError(INPUT_CORRUPT, "broken"))
    final = store.get(task.id)
    assert final is not None and final.status is Status.ERROR
    assert final.failure() is not None and final.failure().kind is INPUT_CORRUPT  # type: ignore[union-attr]
    assert final.attempts == 2


def test_a_released_task_can_be_claimed_again(store: TaskStore) -> None:
    task = store.create(account="a", request={}, source_name="")
    claim = store.claim(task.id, lease_seconds=60)
    assert isinstance(claim, Claimed) and store.release(claim.task)
    assert isinstance(store.claim(task.id, lease_seconds=60), Claimed)


def test_fail_unfinished_leaves_running_and_finished_tasks_alone(store: TaskStore) -> None:
    error = PixelportError(INPUT_CORRUPT, "x")
    running = store.create(account="a", request={}, source_name="")
    assert isinstance(store.claim(running.id, lease_seconds=60), Claimed)
    assert not store.fail_unfinished(running.id, error)
    waiting = store.create(account="a", request={}, source_name="")
    assert store.fail_unfinished(waiting.id, error)
    assert not store.fail_unfinished(waiting.id, error)  # already ERROR
