"""Import time of each function's handler module in a fresh interpreter (the part of a Lambda cold
start the code controls), against importing boto3 alone, measured in the same run.

Run: python -m bench.cold_start  (or `make bench`)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 7
ENV = {
    "POWERTOOLS_SERVICE_NAME": "pixelport",
    "POWERTOOLS_METRICS_NAMESPACE": "pixelport",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
    "PATH": "/usr/bin:/bin",
}


def seconds(code: str) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    reference = seconds("import boto3")
    print(
        f"reference: a fresh interpreter importing boto3 = {reference * 1000:.0f} ms (median of {ROUNDS})\n"
    )
    print("| function | import time / reference | ms (context) |")
    print("|---|---:|---:|")
    for function in ("api", "processor", "failures", "sweeper"):
        took = seconds(f"import sys; sys.path[:0] = ['functions/{function}', 'layers/core']; import app")
        print(f"| {function} | {took / reference:.2f}x | {took * 1000:.0f} |")


if __name__ == "__main__":
    main()
