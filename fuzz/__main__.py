"""`make fuzz`: start `make run`'s stack on free ports, fire schemathesis and Pillow's test images at it,
check that it is still alive and stops cleanly, and print the figures. Exits 1 on any 5xx, answer out of
the envelope, answer slower than the deadline, failed schemathesis check, or a stack that died."""

from __future__ import annotations

import argparse
import io
import json
import random
import signal
import sys
import time

from PIL import Image

from fuzz.api_contract import run_schemathesis
from fuzz.pillow_corpus import pillow_test_images, send_corpus, upload
from local.stack import DEFAULT_LOCAL_API_KEY
from pixelport.contract.limits import Limits
from tests.support.running_stack import ROOT, TRACEBACK, around_traceback, start_stack, stop_stack

CACHE = ROOT / ".cache" / "fuzz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, default=100, help="schemathesis cases per route and phase")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis seed (printed when random)")
    parser.add_argument("--skip-contract", action="store_true", help="no schemathesis")
    parser.add_argument("--skip-corpus", action="store_true", help="no Pillow test images")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    # The sync route answers 202 after sync_wait_seconds; anything slower missed its deadline.
    deadline = Limits.from_env().sync_wait_seconds + 3.0
    problems: list[str] = []
    figures: dict[str, object] = {"seed": seed, "deadline_seconds": deadline}

    # Killed or interrupted, the stack it started is still stopped (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = start_stack({"PIXELPORT_ALLOWED_SOURCE_NETWORKS": "127.0.0.0/8"})
    key = DEFAULT_LOCAL_API_KEY
    print(f"fuzz: stack on {stack.base_url} (started in {stack.started_in:.1f} s), seed {seed}", flush=True)
    try:
        # Pillow's images first: schemathesis leaves async tasks behind (inputs on hosts that do not
        # answer) that keep the local processor's two workers busy for a while after it ends.
        if not args.skip_corpus:
            started = time.monotonic()
            files = pillow_test_images(CACHE)
            corpus = send_corpus(stack.base_url, key, files)
            slow = corpus.slower_than(deadline)
            figures["pillow_corpus"] = {
                "files": corpus.files,
                "requests": len(corpus.sent),
                "statuses": dict(sorted(corpus.statuses.items())),
                "server_errors": sum(n for s, n in corpus.statuses.items() if s >= 500 or s == 0),
                "slowest_seconds": round(max((s.seconds for s in corpus.sent), default=0.0), 2),
                "slower_than_deadline": len(slow),
                "seconds": round(time.monotonic() - started, 1),
            }
            problems += corpus.problems
            problems += [f"{s.route} {s.name}: {s.seconds:.1f} s, over the deadline" for s in slow]
        if not args.skip_contract:
            started = time.monotonic()
            contract = run_schemathesis(
                stack.base_url, key, max_examples=args.examples, seed=seed, max_seconds=deadline,
                report_dir=CACHE / "report",
            )  # fmt: skip
            figures["schemathesis"] = {
                "requests": contract.requests,
                "statuses": dict(sorted(contract.statuses.items())),
                "server_errors": contract.server_errors,
                "failed_checks": len(contract.failures),
                "tool_errors": len(contract.tool_errors),
                "seconds": round(time.monotonic() - started, 1),
            }
            problems += [f"schemathesis check failed: {f}" for f in contract.failures]
            problems += [f"schemathesis: {p}" for p in contract.envelope_problems]
            if contract.server_errors:
                problems.append(f"schemathesis: {contract.server_errors} answers were 5xx")
            for error in contract.tool_errors:  # schemathesis itself could not build a case: not ours
                print(f"fuzz: note: schemathesis could not generate a case: {error}", flush=True)
        problems += still_alive(stack.base_url, key)
    finally:
        code = stop_stack(stack)
    output = "".join(stack.output)
    if code != 0:
        problems.append(f"the stack exited {code} on Ctrl-C")
    if TRACEBACK in output:
        problems.append("the stack printed a traceback:\n" + around_traceback(output))
    figures["problems"] = len(problems)
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    for problem in problems[:50]:
        print(f"FUZZ PROBLEM: {problem}")
    print(f"fuzz: {'FAILED, ' + str(len(problems)) + ' problems' if problems else 'passed'}; "
          f"figures in {CACHE / 'figures.json'}")  # fmt: skip
    return 1 if problems else 0


def still_alive(base_url: str, key: str) -> list[str]:
    """After the fuzzing, a plain edit still works."""
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "PNG")
    probe = CACHE / "alive.png"
    probe.write_bytes(out.getvalue())
    sent = upload(base_url, key, probe, "webp")
    if sent.status not in (200, 202):  # 202: alive, its workers still busy with the fuzzers' async tasks
        return [f"the stack no longer edits: a plain upload answered {sent.status} {sent.code}"]
    return []


if __name__ == "__main__":
    sys.exit(main())
