"""The task state machine in DynamoDB (moto): ids, exactly-once claims, leases, guarded transitions."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from local.resources import LocalNames
from pixelport.contract.limits import limits
from pixelport.errors import INPUT_CORRUPT, PixelportError
from pixelport.tasks import Claimed, NotClaimable, Status, TaskStore, new_task_id
from tests.support.clock import Clock


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


# -- the state machine's guards ------------------------------------------------------------------
def _item(store_table: str, task_id: int) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=store_table, Key={"id": {"N": str(task_id)}})
    return dict(item["Item"])


def test_complete_fail_and_release_refuse_a_task_that_was_never_claimed(store: TaskStore) -> None:
    task = store.create(account="a", request={}, source_name="")
    error = PixelportError(INPUT_CORRUPT, "x")
    assert not store.complete(task, {"input": {}, "output": {}})
    assert not store.fail(task, error)
    assert not store.release(task)
    again = store.get(task.id)
    assert again is not None and again.status is Status.ACCEPTED


def test_a_holder_whose_lease_was_taken_over_can_neither_fail_nor_release(
    store: TaskStore, clock: Clock
) -> None:
    task = store.create(account="a", request={}, source_name="")
    old = store.claim(task.id, lease_seconds=45)
    clock.advance(46)
    new = store.claim(task.id, lease_seconds=45)
    assert isinstance(old, Claimed) and isinstance(new, Claimed)
    assert not store.fail(old.task, PixelportError(INPUT_CORRUPT, "x"))
    assert not store.release(old.task)
    assert not store.renew(old.task, lease_seconds=45)
    current = store.get(task.id)
    assert current is not None and current.status is Status.PROCESSING
    assert current.claim_token == new.task.claim_token


def test_a_lease_that_has_not_run_out_is_not_taken_over(store: TaskStore, clock: Clock) -> None:
    task = store.create(account="a", request={}, source_name="")
    assert isinstance(store.claim(task.id, lease_seconds=45), Claimed)
    clock.advance(44)
    busy = store.claim(task.id, lease_seconds=45)
    assert isinstance(busy, NotClaimable) and busy.reason == "busy"


def test_a_renewed_lease_keeps_the_task_from_being_taken_over(store: TaskStore, clock: Clock) -> None:
    task = store.create(account="a", request={}, source_name="")
    claim = store.claim(task.id, lease_seconds=45)
    assert isinstance(claim, Claimed)
    for _ in range(10):  # 300 s of work, renewed every 30 s
        clock.advance(30)
        assert store.renew(claim.task, lease_seconds=45)
        assert isinstance(store.claim(task.id, lease_seconds=45), NotClaimable)
    assert store.complete(claim.task, {"input": {}, "output": {}})


@pytest.fixture
def atomic_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request to an item atomically; moto does not between threads (a request
    copies an item while another changes it), so each whole DynamoDB request is given that guarantee
    here, as make run's moto server does (local/moto_server.py). A claim that read, checked and then
    wrote in separate requests would still race under this lock."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def locked(self: Any) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", locked)


@pytest.mark.usefixtures("atomic_writes")
def test_two_claims_racing_in_threads_give_one_holder(store: TaskStore) -> None:
    for _ in range(5):
        task = store.create(account="a", request={}, source_name="")
        start = threading.Barrier(8)

        def claim(_: int, task_id: int = task.id, start: threading.Barrier = start) -> Claimed | NotClaimable:
            start.wait()
            return store.claim(task_id, lease_seconds=45)

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(claim, range(8)))
        assert sum(isinstance(o, Claimed) for o in outcomes) == 1
        assert {o.reason for o in outcomes if isinstance(o, NotClaimable)} == {"busy"}
        final = store.get(task.id)
        assert final is not None and final.attempts == 1


def test_created_at_always_has_microseconds_and_the_utc_offset(store: TaskStore, clock: Clock) -> None:
    clock.at = 1_800_000_000.0  # a whole second: isoformat() alone would drop the microseconds
    task = store.create(account="a", request={}, source_name="")
    assert task.created_at == "2027-01-15T08:00:00.000000+00:00"
    claim = store.claim(task.id, lease_seconds=45)
    assert isinstance(claim, Claimed) and store.fail(claim.task, PixelportError(INPUT_CORRUPT, "x"))
    failed = store.get(task.id)
    assert failed is not None and failed.error is not None
    assert failed.error["created_at"] == "2027-01-15T08:00:00.000000+00:00"


# -- the sparse index of unfinished tasks and the deadline --------------------------------------
def test_only_unfinished_tasks_are_in_the_unfinished_index(store: TaskStore, aws: LocalNames) -> None:
    table = aws.table("TasksTable")
    error = PixelportError(INPUT_CORRUPT, "x")
    waiting = store.create(account="a", request={}, source_name="")
    ends = {}
    for how in ("complete", "fail", "fail_unfinished", "release"):
        task = store.create(account="a", request={}, source_name="")
        claim = store.claim(task.id, lease_seconds=0 if how == "fail_unfinished" else 45)
        assert isinstance(claim, Claimed)
        if how == "complete":
            assert store.complete(claim.task, {"input": {}, "output": {}})
        elif how == "fail":
            assert store.fail(claim.task, error)
        elif how == "fail_unfinished":
            time.sleep(0.01)
            assert store.fail_unfinished(task.id, error)
        else:
            assert store.release(claim.task)
        ends[how] = task.id
    assert "open_shard" in _item(table, waiting.id) and "settle_by" in _item(table, waiting.id)
    assert "open_shard" in _item(table, ends["release"])  # given back: still unfinished
    for how in ("complete", "fail", "fail_unfinished"):
        assert "open_shard" not in _item(table, ends[how]), how


def test_overdue_lists_unfinished_tasks_past_their_deadline_only(store: TaskStore, clock: Clock) -> None:
    deadline = limits().task_deadline_seconds
    early = store.create(account="a", request={}, source_name="")
    clock.advance(10)
    late = store.create(account="a", request={}, source_name="")
    done = store.create(account="a", request={}, source_name="")
    claim = store.claim(done.id, lease_seconds=45)
    assert isinstance(claim, Claimed) and store.complete(claim.task, {"input": {}, "output": {}})
    assert set(store.overdue(clock() + deadline - 11)) == set()
    assert set(store.overdue(clock() + deadline - 9)) == {early.id}
    assert set(store.overdue(clock() + deadline + 1)) == {early.id, late.id}


def test_expire_ends_a_task_past_its_deadline_even_while_it_is_held(store: TaskStore, clock: Clock) -> None:
    error = PixelportError(INPUT_CORRUPT, "x")
    held = store.create(account="a", request={}, source_name="")
    claim = store.claim(held.id, lease_seconds=45)
    assert isinstance(claim, Claimed)
    waiting = store.create(account="a", request={}, source_name="")
    assert not store.expire(held.id, error)  # before the deadline: left alone
    assert not store.expire(waiting.id, error)
    clock.advance(limits().task_deadline_seconds + 1)
    assert store.renew(claim.task, lease_seconds=45)  # the holder is alive...
    assert store.expire(held.id, error)  # ...and is still ended: the bound is a promise
    assert store.expire(waiting.id, error)
    assert not store.expire(waiting.id, error)  # already ended
    assert not store.complete(claim.task, {"input": {}, "output": {}})  # the late result is discarded
    assert not store.renew(claim.task, lease_seconds=45)
    for task_id in (held.id, waiting.id):
        ended = store.get(task_id)
        assert ended is not None and ended.status is Status.ERROR
