"""The processor's lease is renewed while it works, and given up when the work ends."""

from __future__ import annotations

import time

from pixelport.lease import LEASE_SECONDS, RENEW_EVERY_SECONDS, LeaseKeeper
from pixelport.tasks import Claimed, NotClaimable, TaskStore


def test_the_lease_runs_out_well_before_lambdas_first_retry_and_is_renewed_twice_within_it() -> None:
    assert LEASE_SECONDS <= 45 < 60  # Lambda retries a failed asynchronous invocation after ~1 minute
    assert RENEW_EVERY_SECONDS * 3 <= LEASE_SECONDS  # one lost renewal does not lose the lease


def test_a_working_holder_keeps_its_task_and_a_dead_one_loses_it_when_the_lease_runs_out(
    store: TaskStore,
) -> None:
    task = store.create(account="a", request={}, source_name="")
    claim = store.claim(task.id, lease_seconds=0.6)
    assert isinstance(claim, Claimed)
    with LeaseKeeper(store, claim.task, lease_seconds=0.6, every=0.1) as keeper:
        time.sleep(1.5)  # well past the first lease: only renewals keep it
        busy = store.claim(task.id, lease_seconds=0.6)
        assert isinstance(busy, NotClaimable) and busy.reason == "busy"
    assert not keeper.lost
    time.sleep(0.8)  # no renewals any more, as after the processor died
    assert isinstance(store.claim(task.id, lease_seconds=0.6), Claimed)


def test_a_holder_taken_over_learns_that_its_lease_is_lost(store: TaskStore) -> None:
    task = store.create(account="a", request={}, source_name="")
    claim = store.claim(task.id, lease_seconds=0.6)
    assert isinstance(claim, Claimed)
    with LeaseKeeper(store, claim.task, lease_seconds=0.6, every=0.1) as keeper:
        assert store.release(claim.task)  # the task changed hands under the keeper
        assert isinstance(store.claim(task.id, lease_seconds=30), Claimed)
        time.sleep(0.4)
    assert keeper.lost
