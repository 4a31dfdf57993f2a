"""bench/sizing.py: the Lambda memory recommended for a workload and its cost per 1,000 images follow
the stated model (one full vCPU at 1,769 MB; single-threaded work gains nothing above it)."""

from __future__ import annotations

import pytest

from bench.sizing import (
    CONFIGURED_MB,
    FULL_VCPU_MB,
    PRICE_PER_GB_SECOND,
    PRICE_PER_REQUEST,
    Measured,
    size,
    table,
)


def test_a_small_job_gets_one_full_vcpu_and_costs_its_gb_seconds() -> None:
    s = size(Measured("W1", seconds=0.2, peak_mb=120))
    assert s.memory_mb == FULL_VCPU_MB
    assert s.seconds == pytest.approx(0.2)
    assert s.cost_per_1000 == pytest.approx(
        1000 * (FULL_VCPU_MB / 1024 * 0.2 * PRICE_PER_GB_SECOND + PRICE_PER_REQUEST)
    )
    # the configured 3008 MB buys no speed for one thread, so it costs 3008/1769 as much in GB-s
    assert s.cost_per_1000_configured > s.cost_per_1000 * 1.6


def test_a_job_whose_peak_needs_more_memory_gets_it() -> None:
    s = size(Measured("big", seconds=2.0, peak_mb=2000))
    assert s.memory_mb >= 2000 and s.memory_mb > FULL_VCPU_MB
    assert s.seconds == pytest.approx(2.0)


def test_work_on_two_threads_needs_its_cpu_time_on_one_vcpu_and_about_the_same_gb_seconds_on_more() -> None:
    two_threads = Measured("W6", seconds=1.0, peak_mb=150, cpu_seconds=1.9)
    s = size(two_threads)
    assert s.memory_mb == FULL_VCPU_MB
    assert s.seconds == pytest.approx(1.9)  # one vCPU does all of the CPU time
    # at 3008 MB (1.7 vCPUs) it takes 1.9 / 1.7 s: the same GB-seconds, less time
    assert s.cost_per_1000_configured == pytest.approx(s.cost_per_1000, rel=0.01)


def test_never_faster_than_measured_here() -> None:
    s = size(Measured("W6", seconds=1.0, peak_mb=150, cpu_seconds=1.2))
    assert s.seconds == pytest.approx(1.2)
    assert size(Measured("W6", seconds=1.0, peak_mb=5000, cpu_seconds=1.2)).seconds == pytest.approx(1.0)


def test_the_table_has_a_row_per_workload() -> None:
    text = table([Measured("W1", 0.2, 120), Measured("W6", 1.5, 300)])
    assert text.count("\n| W") == 2 and f"{CONFIGURED_MB} MB" in text
