"""Every batch ends: its children's ends are counted once, a child whose every delivery failed is ended
by the dead-letter consumer, and the sweeper settles a batch whose last child's process died before it
could, while it leaves a running batch to run (throttling slows a batch, it never fails it)."""

from __future__ import annotations

import json

import pytest

from local.resources import LocalNames
from pixelport.errors import INPUT_CORRUPT, PixelportError
from pixelport.lease import LEASE_SECONDS
from pixelport.sweeper import sweep
from pixelport.tasks import Claimed, Status, Task, TaskStore, task_item
from tests.support.clock import Clock
from tests.support.lambdas import invoke

pytestmark = pytest.mark.usefixtures("aws")


def batch_with_children(store: TaskStore, count: int) -> tuple[Task, list[int]]:
    batch = store.create(account="acct", request={"input": []}, source_name="", kind="batch")
    children = [
        task_item(
            account="acct",
            request={"input": f"https://example.com/{n}.png"},
            source_name="",
            batch=(batch.id, n),
        )
        for n in range(count)
    ]
    assert store.add_children(batch, children, "")
    reread = store.get(batch.id)
    assert reread is not None
    return reread, [int(c["id"]["N"]) for c in children]


def end_child(store: TaskStore, child_id: int, *, ok: bool) -> bool:
    claim = store.claim(child_id, lease_seconds=LEASE_SECONDS)
    assert isinstance(claim, Claimed)
    if ok:
        return store.complete(claim.task, {"input": {}, "output": {}})
    return store.fail(claim.task, PixelportError(INPUT_CORRUPT, "broken"))


def test_a_batch_ends_done_when_its_last_child_ends_and_counts_each_child_once(store: TaskStore) -> None:
    batch, children = batch_with_children(store, 3)
    assert end_child(store, children[0], ok=True)
    assert end_child(store, children[1], ok=False)
    assert store.get(batch.id).status is Status.PROCESSING  # type: ignore[union-attr]
    assert isinstance(store.claim(children[0], lease_seconds=LEASE_SECONDS), Claimed) is False
    assert end_child(store, children[2], ok=True)
    ended = store.get(batch.id)
    assert ended is not None
    assert (ended.status, ended.pending, ended.succeeded, ended.failed) == (Status.DONE, 0, 2, 1)


def test_a_batch_whose_every_child_failed_is_error(store: TaskStore) -> None:
    batch, children = batch_with_children(store, 2)
    for child in children:
        end_child(store, child, ok=False)
    assert store.get(batch.id).status is Status.ERROR  # type: ignore[union-attr]


def test_a_child_whose_every_delivery_failed_is_ended_by_the_dead_letter_consumer(
    aws: LocalNames, store: TaskStore
) -> None:
    from functions.failures import app as failures

    batch, children = batch_with_children(store, 1)
    record = {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": json.dumps({"task_id": children[0]}),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": aws.queue_arn(aws.queue("BatchItemsDeadLetterQueue")),
        "awsRegion": "us-east-1",
    }
    assert invoke(failures.lambda_handler, {"Records": [record]})["batchItemFailures"] == []
    child = store.get(children[0])
    assert child is not None and child.status is Status.ERROR
    assert child.error is not None and child.error["code"] == "5001"
    assert store.get(batch.id).status is Status.ERROR  # type: ignore[union-attr]


def test_the_sweeper_settles_a_batch_whose_children_all_ended_and_extends_a_running_one(
    store: TaskStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished, (only,) = batch_with_children(store, 1)
    running, waiting = batch_with_children(store, 2)
    # The last child ends, but its process dies before it settles the batch.
    with monkeypatch.context() as patched:
        patched.setattr(TaskStore, "settle_batch", lambda self, batch_id: False)
        end_child(store, only, ok=True)
    assert store.get(finished.id).status is Status.PROCESSING  # type: ignore[union-attr]
    clock.advance(20 * 60)
    sweep(store)
    assert store.get(finished.id).status is Status.DONE  # type: ignore[union-attr]
    # Its children still wait in their queue (a throttled batch): neither they nor it are failed.
    assert store.get(running.id).status is Status.PROCESSING  # type: ignore[union-attr]
    assert all(store.get(c).status is Status.ACCEPTED for c in waiting)  # type: ignore[union-attr]
    for child in waiting:
        end_child(store, child, ok=True)
    assert store.get(running.id).status is Status.DONE  # type: ignore[union-attr]
