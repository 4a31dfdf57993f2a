"""`make bench`'s workloads: W1-W6 (bench/workloads.py) on the generated corpus (bench/corpus.py) through
(a) the pipeline in process, (b) the local stack end to end over HTTP and (c) the bare-Pillow reference
(bench/reference.py); with --peers (`make bench-peers`) also pyvips and thumbor, all in one run.

(a), (c) and pyvips run each workload in a fresh interpreter (bench/measure.py), so each peak RSS is
that workload's own. (b) starts the local stack as the e2e tests do (free ports, loopback sources
allowed), serves the corpus from a loopback HTTP server, and times POST /v1/image/edit with the URL
input plus the GET of the result's tmp_url, until the bytes are in hand. thumbor is timed the same
way: one GET of its unsafe URL, which fetches the source from the same loopback server.

Every implementation gets one warm-up request, then ROUNDS timed ones (default 5: --rounds or the
ROUNDS environment variable). The implementations are measured workload by workload, and (b) and
thumbor with both servers up, their requests alternated round by round, so that load elsewhere on a
shared machine falls on what is compared alike. Times are medians and p90 (nearest rank) per image;
the machines are shared, so the ratios against (c), measured in the same run, are what to compare.

Run: python -m bench.harness [--rounds N] [--peers --thumbor .venv-thumbor/bin/thumbor]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import corpus as corpus_module
from bench import sizing
from bench.workloads import Workload, workloads

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROUNDS = 5
LOCAL_KEY = "pixelport-local-development-key"  # `make run`'s public development default
HTTP_TIMEOUT = 120.0

# Column keys, in table order, and their headings.
PILLOW, PIPELINE, HTTP, PYVIPS, THUMBOR = "pillow", "pipeline", "http", "pyvips", "thumbor"
HEADINGS = {
    PILLOW: "(c) bare Pillow",
    PIPELINE: "(a) pipeline in-process",
    HTTP: "(b) pixelport over HTTP",
    PYVIPS: "pyvips",
    THUMBOR: "thumbor",
}


@dataclass(frozen=True)
class Measurement:
    impl: str
    workload: str
    seconds: list[float]
    bytes: int
    peak_rss: int | None = None  # bytes; None where not measured (the servers)
    cpu_seconds: list[float] | None = None  # every thread's, per round; None where not measured

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else None

    @property
    def p90(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


# --- (a), (c), pyvips: a fresh interpreter per workload ---------------------------------------------


def measure_in_process(
    impl: str, workload: Workload, corpus: corpus_module.Corpus, rounds: int
) -> Measurement:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core")])
    args = [impl, workload.name, str(corpus.directory), str(corpus.scale), str(rounds)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.measure", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{impl} {workload.name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Measurement(
        impl, workload.name, result["seconds"], result["bytes"], result["peak_rss"], result.get("cpu_seconds")
    )


# --- (b) and thumbor: requests over loopback HTTP ----------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """`directory` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _http(method: str, url: str, body: dict[str, Any] | None = None, key: str | None = None) -> bytes:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        if response.status != 200:
            raise RuntimeError(f"{method} {url}: HTTP {response.status}: {response.read()[:500]!r}")
        return bytes(response.read())


def interleaved_rounds(
    workload: Workload, onces: dict[str, Callable[[], bytes]], rounds: int
) -> list[Measurement]:
    """Each implementation's warm-up, then ROUNDS rounds in which every implementation is timed once, in
    an order reversed every other round: a burst of load elsewhere falls on all of them alike."""
    outputs = {impl: once() for impl, once in onces.items()}  # warm-ups
    seconds: dict[str, list[float]] = {impl: [] for impl in onces}
    order = list(onces)
    for _ in range(rounds):
        for impl in order:
            start = time.perf_counter()
            outputs[impl] = onces[impl]()
            seconds[impl].append(time.perf_counter() - start)
        order.reverse()
    return [Measurement(impl, workload.name, seconds[impl], len(outputs[impl])) for impl in onces]


def pixelport_over_http(base_url: str, workload: Workload, source_url: str) -> bytes:
    """One sync edit: POST with the URL input, then GET the result; the result's bytes."""
    answer = json.loads(_http("POST", f"{base_url}/v1/image/edit", workload.body(source_url), key=LOCAL_KEY))
    return _http("GET", answer["data"]["output"]["tmp_url"])


@contextmanager
def pixelport_stack(workdir: Path) -> Iterator[str]:
    """`make run`'s stack on free ports, loopback sources allowed; yields its base URL."""
    from tests.support.running_stack import around_traceback, start_stack, stop_stack

    stack = start_stack(
        {
            "PIXELPORT_ALLOWED_SOURCE_NETWORKS": "127.0.0.0/8",
            "PIXELPORT_LOCAL_VERBOSE": "0",  # as `make run`: the detail goes to a log file
            "PIXELPORT_LOCAL_LOG": str(workdir / "local-stack.log"),
        }
    )
    try:
        yield stack.base_url
    except Exception:
        print(around_traceback("".join(stack.output)) or "".join(stack.output[-40:]), file=sys.stderr)
        raise
    finally:
        stop_stack(stack)


@contextmanager
def thumbor_server(executable: Path, workdir: Path) -> Iterator[str]:
    from bench.peers import start_thumbor
    from local.stack import free_port

    process, base_url = start_thumbor(executable, workdir / "thumbor", free_port())
    try:
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure_remote(
    items: Sequence[Workload],
    corpus_url: str,
    rounds: int,
    workdir: Path,
    impls: Sequence[str],
    thumbor: Path | None,
) -> list[Measurement]:
    """(b) and thumbor, both servers up, their requests interleaved round by round per workload."""
    results: list[Measurement] = []
    with ExitStack() as servers:
        requests: dict[str, Callable[[Workload], Callable[[], bytes]]] = {}
        if HTTP in impls:
            base = servers.enter_context(pixelport_stack(workdir))
            requests[HTTP] = lambda w: functools.partial(
                pixelport_over_http, base, w, f"{corpus_url}/{w.source}"
            )
        if THUMBOR in impls:
            if thumbor is None:
                raise ValueError("thumbor's executable is needed to measure thumbor")
            thumbor_url = servers.enter_context(thumbor_server(thumbor, workdir))
            requests[THUMBOR] = lambda w: functools.partial(
                _http, "GET", thumbor_url + w.thumbor_path(f"{corpus_url}/{w.source}")
            )
        for w in items:
            print(f"  {' and '.join(requests)} {w.name} ...", file=sys.stderr, flush=True)
            results += interleaved_rounds(w, {impl: request(w) for impl, request in requests.items()}, rounds)
    return results


# --- the run and its tables -----------------------------------------------------------------------


def run(
    corpus: corpus_module.Corpus,
    items: Sequence[Workload],
    rounds: int,
    impls: Sequence[str],
    thumbor: Path | None = None,
) -> list[Measurement]:
    """Every implementation of `impls` on every workload of `items`; progress on stderr. Workload by
    workload, so that the implementations compared are measured minutes apart at most."""
    results: list[Measurement] = []
    for w in items:
        for impl in (PILLOW, PIPELINE, PYVIPS):
            if impl in impls:
                print(f"  {impl} {w.name} ...", file=sys.stderr, flush=True)
                results.append(measure_in_process(impl, w, corpus, rounds))
    if any(impl in impls for impl in (HTTP, THUMBOR)):
        with tempfile.TemporaryDirectory(prefix="pixelport-bench-") as tmp, serve(corpus.directory) as url:
            results += measure_remote(items, url, rounds, Path(tmp), impls, thumbor)
    return results


def _seconds(m: Measurement, reference: Measurement | None) -> str:
    cell = f"{m.median:.3f} s (p90 {m.p90:.3f})"
    if reference is not None and m is not reference:
        cell += f", {m.median / reference.median:.2f}x"
    return cell


def tables(items: Sequence[Workload], results: Sequence[Measurement], rounds: int) -> str:
    """Three markdown tables: time per image, peak RSS, output bytes; a row per workload, a column per
    implementation measured; times with their ratio to (c)."""
    found = {(m.impl, m.workload): m for m in results}
    impls = [impl for impl in HEADINGS if any(m.impl == impl for m in results)]
    both = PIPELINE in impls and HTTP in impls
    lines = [
        f"Time per image: median (p90) of {rounds} rounds after one warm-up, and the ratio of the median "
        "to (c)'s" + ("; (b)-(a) is what end to end adds to the pipeline's median." if both else "."),
        "",
        "| workload | " + " | ".join(HEADINGS[i] for i in impls) + (" | (b)-(a) |" if both else " |"),
        "|---|" + "---:|" * (len(impls) + both),
    ]
    for w in items:
        reference = found.get((PILLOW, w.name))
        cells = [_seconds(found[(i, w.name)], reference) for i in impls]
        if both:
            added = found[(HTTP, w.name)].median - found[(PIPELINE, w.name)].median
            cells.append(f"{added * 1000:+.0f} ms")
        lines.append(f"| {w.name} {w.title} | " + " | ".join(cells) + " |")
    rss = [i for i in impls if all(found[(i, w.name)].peak_rss is not None for w in items)]
    lines += [
        "",
        "Peak RSS (VmHWM) of a fresh interpreter doing one workload (imports included); ratio to (c)'s.",
        "",
        "| workload | " + " | ".join(HEADINGS[i] for i in rss) + " |",
        "|---|" + "---:|" * len(rss),
    ]
    for w in items:
        ref_rss = found[(PILLOW, w.name)].peak_rss if (PILLOW, w.name) in found else None
        cells = []
        for i in rss:
            peak = found[(i, w.name)].peak_rss
            assert peak is not None
            cell = f"{peak / 2**20:.0f} MB"
            if ref_rss and i != PILLOW:
                cell += f", {peak / ref_rss:.2f}x"
            cells.append(cell)
        lines.append(f"| {w.name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Output bytes.",
        "",
        "| workload | " + " | ".join(HEADINGS[i] for i in impls) + " |",
        "|---|" + "---:|" * len(impls),
    ]
    for w in items:
        lines.append(f"| {w.name} | " + " | ".join(f"{found[(i, w.name)].bytes:,}" for i in impls) + " |")
    measured = [found[(PIPELINE, w.name)] for w in items if (PIPELINE, w.name) in found]
    if measured and all(m.peak_rss is not None for m in measured):
        rows = [
            sizing.Measured(m.workload, m.median, (m.peak_rss or 0) / 2**20, m.cpu_median) for m in measured
        ]
        lines += ["", sizing.table(rows)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS") or DEFAULT_ROUNDS))
    parser.add_argument("--peers", action="store_true", help="also pyvips and thumbor")
    parser.add_argument("--thumbor", type=Path, default=ROOT / ".venv-thumbor" / "bin" / "thumbor")
    parser.add_argument("--workloads", default="", help="comma-separated names, e.g. W1,W4 (default: all)")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the corpus (a quick check)")
    args = parser.parse_args(argv)
    chosen = {n.strip().upper() for n in args.workloads.split(",") if n.strip()}
    items = [w for w in workloads(args.scale) if not chosen or w.name in chosen]
    corpus = corpus_module.build(scale=args.scale)
    impls = [PILLOW, PIPELINE, HTTP] + ([PYVIPS, THUMBOR] if args.peers else [])
    thumbor = args.thumbor.absolute()  # thumbor runs in a folder of its own
    if args.peers and not thumbor.is_file():
        parser.error(f"no thumbor at {thumbor}: `make bench-peers` installs it in .venv-thumbor")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"corpus: {corpus.directory}; {started}; load average before: {load_average()}", flush=True)
    results = run(corpus, items, args.rounds, impls, thumbor if args.peers else None)
    print(tables(items, results, args.rounds))
    print(f"\nload average after: {load_average()}")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (a shared machine's noise), or "?" off Linux."""
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


if __name__ == "__main__":
    main()
