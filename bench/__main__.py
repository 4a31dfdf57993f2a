"""`make bench`: every benchmark, each reporting ratios against a reference measured in the same run
(the machines are shared and noisy: absolute times are printed for context only)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("bench.cold_start", "bench.pipeline", "bench.png_compression", "bench.resize")


def main() -> int:
    for name in BENCHMARKS:
        print(f"\n## {name}\n", flush=True)
        module = importlib.import_module(name)
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
