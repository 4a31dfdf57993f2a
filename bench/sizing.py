"""Lambda sizing from measured per-image times and peak memory: the memory to give the processor for a
workload and what 1,000 images cost at Lambda's arm64 prices.

The model, stated so it can be checked: Lambda gives a function CPU in proportion to its memory, one
full vCPU at 1,769 MB. Most of the pipeline's work is one thread (libjpeg, libwebp, Pillow's
resampling); the PNG writer and the AVIF encoder use every CPU they are given. So an image needs its
CPU time (every thread's, measured) spread over memory / 1,769 vCPUs, and never less than the wall
time measured here on 2 cores: seconds at M MB = max(wall, CPU x 1,769 / M). Single-threaded work
(CPU = wall) then takes 1,769 / M times longer below 1,769 MB for the same GB-seconds, and no less
time above it for more; work on two threads costs about the same GB-seconds at 1,769 and 3,008 MB
and takes less time at 3,008. The recommendation is 1,769 MB, unless the peak (with the processor's
libraries and a margin) needs more; then that much. The times are this machine's: a Graviton core
differs, so measure on Lambda before trusting the cents.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# us-east-1 arm64 list prices, as published on aws.amazon.com/lambda/pricing (first 7.5 billion GB-s a
# month; read from public copies of that page, December 2026: check it before relying on the cents).
# Since August 2025 the init phase of on-demand functions is billed at the same rate.
PRICE_PER_GB_SECOND = 0.0000133334
PRICE_PER_REQUEST = 0.20 / 1_000_000
FULL_VCPU_MB = 1769
# What the processor holds besides the pipeline's own peak (boto3, Powertools, the result's bytes on
# their way to S3), and the margin on top: content the bench did not try.
PROCESSOR_EXTRA_MB = 64
HEADROOM = 1.25
CONFIGURED_MB = 3008  # template.yaml's ProcessorFunction today, for the cost comparison


@dataclass(frozen=True)
class Measured:
    workload: str
    seconds: float  # median wall time per image, this machine (2 cores)
    peak_mb: float  # peak RSS of a fresh interpreter running the pipeline on it
    cpu_seconds: float | None = None  # median CPU time per image, every thread's; None: as `seconds`


@dataclass(frozen=True)
class Sizing:
    workload: str
    memory_mb: int
    seconds: float  # at that memory
    cost_per_1000: float  # dollars
    cost_per_1000_configured: float  # at CONFIGURED_MB


def _cost(memory_mb: int, seconds: float) -> float:
    return 1000 * (memory_mb / 1024 * seconds * PRICE_PER_GB_SECOND + PRICE_PER_REQUEST)


def _seconds_at(memory_mb: int, measured: Measured) -> float:
    cpu = measured.seconds if measured.cpu_seconds is None else measured.cpu_seconds
    return max(measured.seconds, cpu * FULL_VCPU_MB / memory_mb)


def size(measured: Measured) -> Sizing:
    needed = math.ceil((measured.peak_mb + PROCESSOR_EXTRA_MB) * HEADROOM)
    memory = max(FULL_VCPU_MB, needed)
    seconds = _seconds_at(memory, measured)
    return Sizing(
        workload=measured.workload,
        memory_mb=memory,
        seconds=seconds,
        cost_per_1000=_cost(memory, seconds),
        cost_per_1000_configured=_cost(CONFIGURED_MB, _seconds_at(CONFIGURED_MB, measured)),
    )


def table(rows: Sequence[Measured]) -> str:
    lines = [
        f"Lambda sizing (arm64, ${PRICE_PER_GB_SECOND} per GB-s and "
        f"${PRICE_PER_REQUEST * 1e6:.2f} per million requests, us-east-1; per-image wall and CPU time "
        "measured here; bench/sizing.py states the model):",
        "",
        "| workload | peak RSS (pipeline) | CPU / wall here | recommended memory | s per image there "
        f"| $ per 1,000 images | s per image at {CONFIGURED_MB} MB | $ per 1,000 at {CONFIGURED_MB} MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in rows:
        s = size(m)
        threads = (m.seconds if m.cpu_seconds is None else m.cpu_seconds) / m.seconds
        configured = _seconds_at(CONFIGURED_MB, m)
        lines.append(
            f"| {m.workload} | {m.peak_mb:.0f} MB | {threads:.2f} | {s.memory_mb} MB | {s.seconds:.3f} | "
            f"{s.cost_per_1000:.4f} | {configured:.3f} | {s.cost_per_1000_configured:.4f} |"
        )
    return "\n".join(lines)
