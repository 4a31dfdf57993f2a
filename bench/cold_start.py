"""Cold start of every function, in a fresh interpreter per measure, against importing boto3 alone in
the same run: (1) the handler module's import (Lambda's init phase, the part of a cold start the code
controls), and (2) import + one first request, which is what a client waits for.

The first requests are real ones, served by the function's own code against moto on loopback (the
resources created from template.yaml, as `make run` does; no network): the API answers
GET /v1/image/edit/async/1 with a valid key (the gate reads the key and counts the rate in DynamoDB,
then a 404), the processor edits a 64x48 PNG upload to JPEG for real, the others handle one message
that finds nothing to do. Moving an import from (1) into the first request only moves its cost, so
(2) is the honest figure; both are printed. CPU seconds (user + system of the child) are printed too:
on a shared machine they wobble much less than wall time.

Run: python -m bench.cold_start  (or `make bench`)
"""

from __future__ import annotations

import io
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support.handler_process import BASE_ENV, handler_environment

if TYPE_CHECKING:
    from local.moto_server import LocalMotoServer
    from local.resources import LocalNames

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("COLD_START_ROUNDS", "7"))
KEY = "cold-start-bench-key-0123456789"
# The handler's import and its first request, timed inside the child; the last line it prints.
CHILD = """
import json, os, sys, time
snap_start = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"
if snap_start:  # imported before the timing starts (it imports pytest)
    from tests.support.snapstart import restore, take_snapshot
started = time.perf_counter()
sys.path[:0] = {paths!r}
import app
imported = time.perf_counter()
cpu_imported = time.process_time()
if snap_start:
    # What Lambda runs before it takes the snapshot, then after a restore (pixelport/init_ahead.py).
    take_snapshot()
    restore()
warmed = time.perf_counter()
cpu_warmed = time.process_time()
event = json.loads(sys.stdin.read() or "null")
if event is not None:
    class Context:
        function_name = "cold-start"
        memory_limit_in_mb = {memory}
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cold-start"
        aws_request_id = "cold-start-request"
        deadline = time.time() + 30
        def get_remaining_time_in_millis(self):
            return int((self.deadline - time.time()) * 1000)
    answer = app.lambda_handler(event, Context())
else:
    answer = None
served = time.perf_counter()
print(json.dumps({{
    "import": imported - started,
    "warm": warmed - imported,
    "warm_cpu": cpu_warmed - cpu_imported,
    "request": served - warmed,
    "request_cpu": time.process_time() - cpu_warmed,
    "answer": answer,
}}))
"""
# The functions with SnapStart in the template (its `SnapStart` parameter): their first request is
# also measured after the warm-up that a snapshot holds.
SNAPSTART = ("api", "processor")


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    answer: Any = None


def run(code: str, env: dict[str, str], stdin: str = "") -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"the child failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = done.stdout.strip().splitlines()
    answer = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return Run(wall, cpu, answer)


@dataclass(frozen=True)
class Function:
    name: str  # the folder under functions/
    code: str
    env: dict[str, str]
    event: Callable[[], dict[str, Any]]  # a new first request each round
    expect: Callable[[Any], bool]  # the answer is the one the event should get


class Moto:
    """moto on loopback with the template's resources and one API key, as `make run` has them."""

    def __init__(self) -> None:
        sys.path[:0] = [str(ROOT / "layers" / "core")]
        import boto3

        from local.keys import register_local_key
        from local.moto_server import LocalMotoServer
        from local.resources import REGION, LocalNames, create_resources
        from local.stack import FAKE_CREDENTIALS, free_port
        from local.template import Template

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request lines
        port = free_port()
        access, secret = FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"], FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        self.server: LocalMotoServer = LocalMotoServer("127.0.0.1", port, {access: secret})
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        # moto keeps its state per process, not per server: start from nothing, as `make run` does,
        # whatever an earlier Moto of this process (make bench runs several) left.
        reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset).close()
        self.credentials = dict(FAKE_CREDENTIALS)
        session = boto3.Session(aws_access_key_id=access, aws_secret_access_key=secret, region_name=REGION)
        self.template = Template()
        self.names: LocalNames = LocalNames(self.template)
        create_resources(session, self.names, self.endpoint)
        self.dynamodb = session.client("dynamodb", endpoint_url=self.endpoint)
        self.s3 = session.client("s3", endpoint_url=self.endpoint)
        self.account = register_local_key(self.dynamodb, self.names.table("AccountsTable"), KEY, None).account

    def functions(self) -> list[Function]:
        found = []
        for spec in self.template.functions().values():
            if spec.code_uri.parent != ROOT / "functions":
                continue
            env, paths = handler_environment(self.names, spec, self.endpoint)
            env.update(self.credentials)
            name = spec.code_uri.name
            event, expect = self.first_request(name)
            found.append(Function(name, CHILD.format(paths=paths, memory=spec.memory), env, event, expect))
        order = ["api", "processor", "batch", "webhook", "sweeper", "failures"]
        return sorted(found, key=lambda f: order.index(f.name) if f.name in order else len(order))

    def first_request(self, name: str) -> tuple[Callable[[], dict[str, Any]], Callable[[Any], bool]]:
        from tests.support.lambdas import async_get_event, load_event, s3_event

        def status(code: int) -> Callable[[Any], bool]:
            return lambda answer: isinstance(answer, dict) and answer.get("statusCode") == code

        def no_failures(answer: Any) -> bool:
            return isinstance(answer, dict) and answer.get("batchItemFailures") == []

        if name == "api":
            return lambda: _with_key(async_get_event(1)), status(404)
        if name == "processor":
            return lambda: s3_event(*self.staged_upload()), _processed
        if name == "sweeper":
            return lambda: load_event("schedule.json"), lambda answer: "expired" in answer
        body = {"batch": {"batch_id": 1}, "webhook": {"task_id": 1}, "failures": {"task_id": 1}}[name]
        return lambda: _sqs_event(body), no_failures

    def staged_upload(self) -> tuple[str, str]:
        """A task as POST /v1/image/edit/upload leaves it: its input staged, the processor's to do."""
        from PIL import Image

        from pixelport.editing import EditService
        from pixelport.staging import input_key
        from pixelport.tasks import TaskStore
        from pixelport.uploads import Upload

        image = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 120, 40)).save(image, "PNG")
        bucket = self.names.bucket("IngestBucket")
        service = EditService(TaskStore(self.dynamodb, self.names.table("TasksTable")), self.s3, bucket)
        upload = Upload(data={"operations": {}}, file=image.getvalue(), filename="small.png")
        task = service.submit_upload(upload, account=self.account)
        return bucket, input_key(task.id)

    def stop(self) -> None:
        self.server.stop()


def _with_key(event: dict[str, Any]) -> dict[str, Any]:
    event["headers"]["Authorization"] = f"Bearer {KEY}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {KEY}"]
    return event


def _processed(answer: Any) -> bool:
    return isinstance(answer, dict) and [h["status"] for h in answer.get("handled", [])] == ["done"]


def _sqs_event(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "r1",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cold-start",
                "awsRegion": "us-east-1",
            }
        ]
    }


def median_of(runs: list[Run]) -> tuple[float, float]:
    return statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs)


def main() -> None:
    moto = Moto()
    try:
        functions = moto.functions()
        reference: list[Run] = []
        imports: dict[str, list[Run]] = {f.name: [] for f in functions}
        served: dict[str, list[Run]] = {f.name: [] for f in functions}
        restored: dict[str, list[Run]] = {f.name: [] for f in functions if f.name in SNAPSTART}
        # Rounds interleave everything, so a burst of load elsewhere hits every column alike.
        for _ in range(ROUNDS):
            reference.append(run("import boto3", BASE_ENV))
            for f in functions:
                imports[f.name].append(run(f.code, f.env))
                first = run(f.code, f.env, json.dumps(f.event()))
                if not f.expect(first.answer and first.answer["answer"]):
                    raise RuntimeError(f"{f.name}: unexpected first answer {first.answer}")
                served[f.name].append(first)
                if f.name in restored:
                    snap = run(
                        f.code,
                        {**f.env, "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"},
                        json.dumps(f.event()),
                    )
                    if not f.expect(snap.answer and snap.answer["answer"]):
                        raise RuntimeError(f"{f.name}: unexpected first answer after a warm-up {snap.answer}")
                    restored[f.name].append(snap)
    finally:
        moto.stop()
    ref_wall, ref_cpu = median_of(reference)
    print(
        f"reference: a fresh interpreter importing boto3 = {ref_wall * 1000:.0f} ms wall, "
        f"{ref_cpu * 1000:.0f} ms CPU (medians of {ROUNDS}; os.cpu_count() = {os.cpu_count()})\n"
    )
    print(
        "| function | import / reference (wall) | (CPU) | import + first request / reference (wall) | (CPU) "
        "| ms: import, + request (wall, context) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for f in functions:
        i_wall, i_cpu = median_of(imports[f.name])
        s_wall, s_cpu = median_of(served[f.name])
        print(
            f"| {f.name} | {i_wall / ref_wall:.2f}x | {i_cpu / ref_cpu:.2f}x | {s_wall / ref_wall:.2f}x "
            f"| {s_cpu / ref_cpu:.2f}x | {i_wall * 1000:.0f}, {s_wall * 1000:.0f} |"
        )
    print(
        "\nThe first request alone (timed inside the child, after its import), on demand and after the "
        "warm-up a SnapStart snapshot holds (pixelport/init_ahead.py; the warm-up itself runs before the "
        "snapshot, nobody waits for it; a restore's own time is AWS's and not in this figure):\n"
    )
    print(
        "| function | first request, on demand: ms wall, ms CPU, CPU / reference | after the warm-up "
        "| warm-up before the snapshot: ms wall, ms CPU |"
    )
    print("|---|---:|---:|---:|")

    def ms(answers: list[dict[str, Any]], key: str) -> float:
        return statistics.median(float(a[key]) for a in answers) * 1000

    for name, runs in restored.items():
        on_demand = [r.answer for r in served[name]]
        warmed = [r.answer for r in runs]
        print(
            f"| {name} | {ms(on_demand, 'request'):.0f}, {ms(on_demand, 'request_cpu'):.0f}, "
            f"{ms(on_demand, 'request_cpu') / 1000 / ref_cpu:.2f}x "
            f"| {ms(warmed, 'request'):.0f}, {ms(warmed, 'request_cpu'):.0f}, "
            f"{ms(warmed, 'request_cpu') / 1000 / ref_cpu:.2f}x "
            f"| {ms(warmed, 'warm'):.0f}, {ms(warmed, 'warm_cpu'):.0f} |"
        )


if __name__ == "__main__":
    main()
