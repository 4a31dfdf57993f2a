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


def test_the_table_has_a_row_per_workload() -> None:
    text = table([Measured("W1", 0.2, 120), Measured("W6", 1.5, 300)])
    assert text.count("\n| W") == 2 and f"{CONFIGURED_MB} MB" in text
