"""How a sync route waits for its task: tightly while most edits end, then ever less often, bounded."""

from __future__ import annotations

import itertools

from pixelport.contract.limits import limits
from pixelport.editing import POLL_FIRST_SECONDS, POLL_MAX_SECONDS, poll_delays


def reads_within(seconds: float) -> int:
    """Each pause is followed by one read of the task."""
    waited = 0.0
    for reads, delay in enumerate(poll_delays()):
        waited += delay
        if waited > seconds:
            return reads
    raise AssertionError("unreachable")


def test_the_first_second_is_read_every_25_ms() -> None:
    first = list(itertools.islice(poll_delays(), 40))
    assert first == [POLL_FIRST_SECONDS] * 40 and POLL_FIRST_SECONDS == 0.025


def test_then_the_pauses_grow_to_half_a_second_and_stay_there() -> None:
    later = list(itertools.islice(poll_delays(), 40, 60))
    assert later == sorted(later) and later[0] > POLL_FIRST_SECONDS
    assert later[-1] == POLL_MAX_SECONDS


def test_a_sync_window_costs_at_most_100_reads_of_the_task() -> None:
    assert reads_within(limits().sync_wait_seconds) <= 100
    assert reads_within(1.001) == 40
