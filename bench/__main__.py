"""`make bench`: every benchmark, each reporting ratios against a reference measured in the same run
(the machines are shared and noisy: absolute times are printed for context only).

    python -m bench [--rounds N] [--peers] [--thumbor PATH]

runs the cold start, the workloads W1-W6 (bench/harness.py: (a) pipeline, (b) over HTTP, (c) bare
Pillow; with --peers, `make bench-peers`, also pyvips and thumbor), the processor function's peak memory
per workload (bench/processor_memory.py), then the older focused benchmarks.
"""

from __future__ import annotations

import importlib
import sys

from bench import harness

BEFORE = ("bench.cold_start",)
AFTER = ("bench.processor_memory", "bench.pipeline", "bench.png_compression", "bench.resize")


def run_module(name: str) -> None:
    print(f"\n## {name}\n", flush=True)
    importlib.import_module(name).main()


def main(argv: list[str]) -> int:
    del sys.argv[1:]  # the older benchmarks read sys.argv: they run with their defaults
    for name in BEFORE:
        run_module(name)
    print("\n## bench.harness (workloads W1-W6)\n", flush=True)
    harness.main(argv)
    for name in AFTER:
        run_module(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
