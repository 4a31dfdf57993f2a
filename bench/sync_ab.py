"""The sync path of two checkouts side by side: each one's `python -m local` started from its own folder
(its own venv, moto and ports), sync edits alternated between them request by request, so the shared
machine's load drifts over both alike. Prints medians, p90 and the median of the paired differences
(before - after) per edit: a small one that is all overhead (64x48 PNG -> JPEG), W1 and W4.

Run: python -m bench.sync_ab BEFORE_DIR AFTER_DIR [--rounds 80]
  (e.g. `git worktree add --detach ../before main` and `ln -s "$PWD/.venv" ../before/.venv`)

Not part of `make bench`: it needs a second checkout.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bench import corpus as corpus_module
from bench.harness import LOCAL_KEY, _http, load_average, serve
from bench.workloads import workloads
from tests.support.running_stack import RunningStack, start_stack, stop_stack

EDITS = ("small", "W1", "W4")
WARM_UP = 3


def start(checkout: Path, log: Path) -> RunningStack:
    """`python -m local` of `checkout`, with its own venv, as the e2e tests start one."""
    env = {"PIXELPORT_LOCAL_VERBOSE": "0", "PIXELPORT_LOCAL_LOG": str(log)}
    env["PIXELPORT_ALLOWED_SOURCE_NETWORKS"] = "127.0.0.0/8"
    python = str(checkout / ".venv" / "bin" / "python")
    return start_stack(env, command=[python, "-m", "local"], checkout=checkout)


def p90(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(0.9 * len(values)))]


def edit_body(edit: str, small_url: str, corpus_url: str) -> dict[str, Any]:
    if edit == "small":
        return {"input": small_url, "operations": {}, "output": {"format": "jpeg"}}
    workload = next(w for w in workloads(1.0) if w.name == edit)
    return workload.body(f"{corpus_url}/{workload.source}")


def timed_edit(base_url: str, body: dict[str, Any]) -> float:
    """One sync edit, its result fetched; seconds."""
    started = time.perf_counter()
    answer = json.loads(_http("POST", f"{base_url}/v1/image/edit", body, key=LOCAL_KEY))
    _http("GET", answer["data"]["output"]["tmp_url"])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_ab", description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=80)
    args = parser.parse_args()
    corpus = corpus_module.build(scale=1.0)
    with tempfile.TemporaryDirectory() as scratch:
        small = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 30, 30)).save(small, "PNG")
        (Path(scratch) / "small.png").write_bytes(small.getvalue())
        stacks = {
            name: start(checkout.resolve(), Path(scratch) / f"{name}.log")
            for name, checkout in (("before", args.before), ("after", args.after))
        }
        times: dict[tuple[str, str], list[float]] = {(s, e): [] for s in stacks for e in EDITS}
        try:
            with serve(Path(corpus.directory)) as corpus_url, serve(Path(scratch)) as scratch_url:
                bodies = {e: edit_body(e, f"{scratch_url}/small.png", corpus_url) for e in EDITS}
                for edit in EDITS:
                    for stack in stacks.values():
                        for _ in range(WARM_UP):
                            timed_edit(stack.base_url, bodies[edit])
                for round_ in range(args.rounds):
                    order = list(stacks) if round_ % 2 == 0 else list(reversed(stacks))
                    for edit in EDITS:
                        for name in order:
                            times[(name, edit)].append(timed_edit(stacks[name].base_url, bodies[edit]))
        finally:
            for stack in stacks.values():
                stop_stack(stack)
    print(f"{args.rounds} rounds after {WARM_UP} warm-ups, alternated; load average {load_average()}")
    print("\n| edit | before | after | paired saving |\n|---|---:|---:|---:|")
    for edit in EDITS:
        before, after = times[("before", edit)], times[("after", edit)]
        saving = statistics.median(b - a for b, a in zip(before, after, strict=True))
        print(
            f"| {edit} | {statistics.median(before) * 1000:.0f} ms ({p90(before) * 1000:.0f}) "
            f"| {statistics.median(after) * 1000:.0f} ms ({p90(after) * 1000:.0f}) | {saving * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
