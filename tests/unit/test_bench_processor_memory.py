"""bench/processor_memory.py on a tiny corpus: the processor function, in a fresh interpreter, really
handles the staged workload against moto on loopback and reports its own peak memory. No figure is
asserted beyond being that process's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench import corpus, processor_memory
from bench.cold_start import Moto
from bench.workloads import by_name

SCALE = 0.05


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    server = Moto()
    yield server
    server.stop()


def test_processor_finishes_the_workload_and_reports_its_peak_rss(
    moto: Moto, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tiny = corpus.build(tmp_path_factory.mktemp("corpus"), scale=SCALE)
    workload = by_name("W5", SCALE)
    peak = processor_memory.processor_peak(moto, workload, tiny.path(workload.source).read_bytes())
    # A Python process that imported boto3 and Pillow and decoded a JPEG holds tens of MB; the
    # figure is the child's own (VmHWM), not this test process's.
    assert 20 * 2**20 < peak < 2**31


def test_a_workload_the_processor_cannot_finish_is_an_error_not_a_figure(
    moto: Moto, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tiny = corpus.build(tmp_path_factory.mktemp("corpus"), scale=SCALE)
    workload = by_name("W5", SCALE)
    truncated = tiny.path(workload.source).read_bytes()[:300]  # a JPEG's start: accepted, undecodable
    with pytest.raises(RuntimeError, match="did not finish W5"):
        processor_memory.processor_peak(moto, workload, truncated)


def test_a_second_moto_in_the_same_process_starts_empty(moto: Moto) -> None:
    # make bench measures the cold start, then the processor's memory, in one process
    again = Moto()
    try:
        assert again.account
    finally:
        again.stop()
