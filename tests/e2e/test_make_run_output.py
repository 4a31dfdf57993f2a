"""`make run` talks like a tool: one line per request and per task, the noise in a log file, a clean stop."""

from __future__ import annotations

import io
import re
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.client import edit, request
from tests.e2e.conftest import TRACEBACK, start_stack, stop_stack
from tests.support.http_server import LocalHTTPServer

pytestmark = pytest.mark.e2e

# `make run` as a person types it; -o: the venv is the one this test runs in, never reinstalled here.
MAKE_RUN = ["make", "--no-print-directory", "-o", ".venv/.run-installed", "run"]
BANNER_END = "Ctrl-C stops everything."
REQUEST_LINE = re.compile(r"^(GET|POST)\s+(/\S*) (\d{3}) \d+ ms(  task (\d+))?$")


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_make_run_prints_a_line_per_request_and_task_and_stops_without_a_traceback(
    image_server: LocalHTTPServer, tmp_path: Path
) -> None:
    log_file = tmp_path / "make-run.log"
    image_server.add("/quiet.png", body=png((48, 32)))
    url = image_server.url("/quiet.png")
    running = start_stack(
        {
            "PIXELPORT_ALLOWED_SOURCE_NETWORKS": "127.0.0.0/8",
            "PIXELPORT_LOCAL_VERBOSE": "",
            "PIXELPORT_LOCAL_LOG": str(log_file),
        },
        command=MAKE_RUN,
    )
    try:
        statuses = [edit(running.base_url, {"input": url, "operations": {}}).status for _ in range(6)]
        accepted = [
            request("POST", f"{running.base_url}/v1/image/edit/async", {"input": url, "operations": {}})
            for _ in range(2)
        ]
        statuses += [answer.status for answer in accepted]
        statuses.append(request("GET", f"{running.base_url}/v1/openapi.json", key=None).status)
        statuses.append(edit(running.base_url, None, raw=b"{not json").status)
        assert statuses == [200] * 9 + [400]
        task_ids = [answer.json()["data"]["id"] for answer in accepted]
        # The processor's outcome is printed as its invocation ends, just after the task is DONE; a
        # request's line just after its answer is sent, and a function's metrics as its handler
        # returns, from its own process: the last of each may still be on its way.
        deadline = time.monotonic() + 60

        def all_printed() -> bool:
            output = "".join(running.output)
            lines = sum(1 for line in output.splitlines() if REQUEST_LINE.match(line))
            logged = log_file.read_text() if log_file.exists() else ""
            return (
                lines >= len(statuses)
                and all(f"task {task} done" in output for task in task_ids)
                and "CloudWatchMetrics" in logged
            )

        while not all_printed():
            assert time.monotonic() < deadline, "".join(running.output)
            time.sleep(0.2)
    finally:
        code = stop_stack(running)
    output = "".join(running.output)
    # make, Ctrl-C'd with its recipe, ends by the signal as a shell expects; python itself exits 0.
    assert code in (0, -signal.SIGINT), output
    assert TRACEBACK not in output, output
    assert f"log file:       {log_file}" in output
    after_banner = output[output.index(BANNER_END) + len(BANNER_END) :].strip().splitlines()
    requests = [m for line in after_banner if (m := REQUEST_LINE.match(line))]
    assert [(m[1], m[2], m[3]) for m in requests] == [
        *[("POST", "/v1/image/edit", "200")] * 6,
        *[("POST", "/v1/image/edit/async", "200")] * 2,
        ("GET", "/v1/openapi.json", "200"),
        ("POST", "/v1/image/edit", "400"),
    ]
    assert [int(m[5]) for m in requests if m[5]] == task_ids
    assert sum("task" in line and line.endswith(" done") for line in after_banner) == 8
    assert len(after_banner) <= 3 * len(statuses), output
    assert '"POST / HTTP/1.1"' not in output and "CloudWatchMetrics" not in output
    logged = log_file.read_text()
    assert '"POST / HTTP/1.1" 200' in logged and "CloudWatchMetrics" in logged
