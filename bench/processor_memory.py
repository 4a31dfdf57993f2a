"""Peak memory of the whole processor function doing one workload, as Lambda would run it: a fresh
interpreter imports the handler (functions/processor/app.py with its layers), then handles the S3
event of an upload staged in moto on loopback (the workload's request and its corpus file), so the
figure holds the runtime, botocore, the input's bytes read from S3, the decode, the work, the encode and
the result's put. Beside it, in the same run, bare Pillow (c) and the pipeline in-process (a) doing
the same workload in a fresh interpreter each (bench/measure.py).

Run: python -m bench.processor_memory [--workloads W5] [--rounds 3]   (`make bench` runs it for all)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench import corpus
from bench.cold_start import ROOT, Moto, run
from bench.workloads import Workload, by_name, workloads

# Appended to the handler's child (bench.cold_start.CHILD): its peak resident set after the request
# (VmHWM, this process's high-water mark), printed last, so that it is the line `run` reads.
PEAK_LINE = """
peak = [l for l in open("/proc/self/status").read().splitlines() if l.startswith("VmHWM:")]
print(json.dumps({"peak_rss": int(peak[0].split()[1]) * 1024, "answer": answer}))
"""


def staged_workload(moto: Moto, workload: Workload, data: bytes) -> tuple[str, str]:
    """The workload's request staged as POST /v1/image/edit/upload leaves it, for the processor."""
    from pixelport.editing import EditService
    from pixelport.staging import input_key
    from pixelport.tasks import TaskStore
    from pixelport.uploads import Upload

    body = workload.body("https://bench.example/" + workload.source)
    bucket = moto.names.bucket("IngestBucket")
    service = EditService(TaskStore(moto.dynamodb, moto.names.table("TasksTable")), moto.s3, bucket)
    upload = Upload(
        data={"operations": body["operations"], "output": body["output"]},
        file=data,
        filename=workload.source,
    )
    task = service.submit_upload(upload, account=moto.account)
    return bucket, input_key(task.id)


def processor_peak(moto: Moto, workload: Workload, data: bytes) -> int:
    from tests.support.lambdas import s3_event

    processor = next(f for f in moto.functions() if f.name == "processor")
    event = s3_event(*staged_workload(moto, workload, data))
    done = run(processor.code + PEAK_LINE, processor.env, json.dumps(event))
    answer = done.answer
    handled = [h["status"] for h in answer["answer"].get("handled", [])] if answer else []
    if handled != ["done"]:
        raise RuntimeError(f"the processor did not finish {workload.name}: {answer}")
    return int(answer["peak_rss"])


def measured_peak(impl: str, workload: Workload, corpus_dir: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "bench.measure", impl, workload.name, str(corpus_dir), "1", "1"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'core'}"},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(done.stdout.strip().splitlines()[-1])["peak_rss"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(w.name for w in workloads()))
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per figure (median shown)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    corpus_dir = corpus.build().directory
    moto = Moto()
    try:
        print("Peak RSS (VmHWM) of a fresh process, median of", args.rounds, "rounds; ratio to (c)'s.\n")
        print("| workload | (c) bare Pillow | (a) pipeline in-process | processor (handler, botocore, S3) |")
        print("|---|---:|---:|---:|")
        for name in args.workloads.split(","):
            workload = by_name(name)
            data = (corpus_dir / workload.source).read_bytes()
            reference = statistics.median(
                measured_peak("pillow", workload, corpus_dir) for _ in range(args.rounds)
            )
            pipeline = statistics.median(
                measured_peak("pipeline", workload, corpus_dir) for _ in range(args.rounds)
            )
            processor = statistics.median(processor_peak(moto, workload, data) for _ in range(args.rounds))
            mb = {k: v / 2**20 for k, v in {"c": reference, "a": pipeline, "p": processor}.items()}
            print(
                f"| {name} | {mb['c']:.0f} MB | {mb['a']:.0f} MB, {pipeline / reference:.2f}x "
                f"| {mb['p']:.0f} MB, {processor / reference:.2f}x |"
            )
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
