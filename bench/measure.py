"""One implementation doing one workload, in the fresh interpreter this module runs in, so the peak RSS
it reports (VmHWM of this process: imports, decode, work and encode) belongs to that workload alone.

Run by bench/harness.py as
    python -m bench.measure IMPL WORKLOAD CORPUS_DIR SCALE ROUNDS
with IMPL one of pipeline (a), pillow (c), pyvips; prints one JSON object: the seconds (wall, and CPU of
all threads) of each round
(after one warm-up round that loads lazy imports and caches), the output bytes, the output itself
written to CORPUS_DIR/out/IMPL-WORKLOAD.<format> for inspection, and the peak RSS in bytes.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.workloads import Workload, by_name

IMPLEMENTATIONS = ("pipeline", "pillow", "pyvips")


def renderer(impl: str, workload: Workload) -> Callable[[bytes], bytes]:
    """A function from the source bytes to the output bytes; request parsing stays outside it."""
    if impl == "pipeline":
        from pixelport.contract import parse_edit_request
        from pixelport.imaging.pipeline import render

        request = parse_edit_request(workload.body("https://bench.example/" + workload.source))
        return lambda data: render(data, request).data
    if impl == "pillow":
        from bench import reference

        return lambda data: reference.render(data, workload)
    if impl == "pyvips":
        from bench import peers

        return lambda data: peers.pyvips_render(data, workload)
    raise ValueError(f"unknown implementation {impl!r}; expected one of {', '.join(IMPLEMENTATIONS)}")


def run(impl: str, workload: Workload, corpus_dir: Path, rounds: int) -> dict[str, object]:
    data = (corpus_dir / workload.source).read_bytes()
    render = renderer(impl, workload)
    output = render(data)  # warm-up
    seconds = []
    cpu_seconds = []  # every thread's: the PNG writer works on every core
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        output = render(data)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - start_cpu)
    out_dir = corpus_dir / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{impl}-{workload.name}.{workload.format}").write_bytes(output)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "bytes": len(output), "peak_rss": peak_rss()}


def peak_rss() -> int:
    """This process's peak resident set in bytes: VmHWM, the high-water mark of this program's own
    memory. Not ru_maxrss: Linux carries that across exec from the parent, so a child of a large
    harness would report the harness's size."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux, elsewhere a guess


def main(argv: list[str]) -> int:
    impl, name, corpus_dir, scale, rounds = argv
    result = run(impl, by_name(name, float(scale)), Path(corpus_dir), int(rounds))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
