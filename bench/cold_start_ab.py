"""The API's and the processor's cold start, this checkout against another one, in the same rounds:
bench/cold_start.py's measures (a fresh interpreter per import, then per import + first request, CPU
ratios to `import boto3`), each round running both checkouts' handlers back to back in alternating
order, so the shared machine's load falls on both alike.

Run: python -m bench.cold_start_ab BEFORE_DIR [--rounds 11]
  (e.g. `git worktree add --detach ../before main`; the other checkout needs no venv of its own)

The other checkout's handlers run with this checkout's environment for them, less the variables its
own template.yaml does not name. Not part of `make bench`: it needs a second checkout.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

from bench import cold_start
from tests.support.handler_process import BASE_ENV

MEASURED = ("api", "processor")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start_ab", description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    before_root = args.before.resolve()
    before_template = (before_root / "template.yaml").read_text()
    moto = cold_start.Moto()
    try:
        after = [f for f in moto.functions() if f.name in MEASURED]
        before = [
            replace(
                f,
                code=f.code.replace(f"{cold_start.ROOT}/", f"{before_root}/"),
                env={
                    k: v
                    for k, v in f.env.items()
                    if k in BASE_ENV or k.startswith("AWS_") or k in before_template
                },
            )
            for f in after
        ]
        sides = {"before": before, "after": after}
        reference: list[cold_start.Run] = []
        runs: dict[tuple[str, str, str], list[cold_start.Run]] = {
            (side, f.name, kind): [] for side in sides for f in after for kind in ("import", "request")
        }
        for round_ in range(args.rounds):
            reference.append(cold_start.run("import boto3", BASE_ENV))
            for side in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
                for f in sides[side]:
                    runs[(side, f.name, "import")].append(cold_start.run(f.code, f.env))
                    first = cold_start.run(f.code, f.env, json.dumps(f.event()))
                    if not f.expect(first.answer and first.answer["answer"]):
                        raise RuntimeError(f"{side} {f.name}: unexpected first answer {first.answer}")
                    runs[(side, f.name, "request")].append(first)
    finally:
        moto.stop()
    boto3_cpu = statistics.median(r.cpu for r in reference)
    print(f"`import boto3`: {boto3_cpu * 1000:.0f} ms of CPU (median of {args.rounds} rounds, interleaved)\n")
    print("| function | import, before | import, after | import + first request, before | after |")
    print("|---|---:|---:|---:|---:|")
    for name in MEASURED:
        ratios = [
            statistics.median(r.cpu for r in runs[(side, name, kind)]) / boto3_cpu
            for kind in ("import", "request")
            for side in ("before", "after")
        ]
        print(f"| {name} | " + " | ".join(f"{ratio:.2f}x" for ratio in ratios) + " |")


if __name__ == "__main__":
    main()
