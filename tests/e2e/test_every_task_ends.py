"""`make run` keeps the README's promise that every task ends: a processor killed mid-task (as an
out-of-memory kill would) leaves its task to the sweeper, which the local stack runs on the
template's schedule, and the stack goes on serving."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.client import edit, request
from tests.e2e.conftest import TRACEBACK, RunningStack, start_stack, stop_stack
from tests.e2e.test_local_stack import _descendants
from tests.support.http_server import LocalHTTPServer

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = 8


def noisy_png(size: tuple[int, int]) -> bytes:
    """Noise that the slowest PNG effort takes seconds over, so the kill lands mid-task."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "PNG", compress_level=1)
    return out.getvalue()


def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(out, "PNG")
    return out.getvalue()


def pillow_processes(stack: RunningStack) -> list[int]:
    """The stack's processes that loaded Pillow: the processor's environments (the API never does)."""
    found = []
    for pid in _descendants(stack.process.pid):
        try:
            if "PIL/_imaging" in Path(f"/proc/{pid}/maps").read_text():
                found.append(pid)
        except OSError:
            continue
    return found


def poll(url: str, until: set[str], seconds: float) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        data: dict[str, object] = request("GET", url).json()["data"]
        if data["status"] in until or time.monotonic() > deadline:
            return data
        time.sleep(0.1)


def test_a_processor_killed_mid_task_leaves_a_task_the_local_sweeper_ends_on_time() -> None:
    running = start_stack(
        {
            "PIXELPORT_ALLOWED_SOURCE_NETWORKS": "127.0.0.0/8",
            "PIXELPORT_TASK_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
            "PIXELPORT_LOCAL_SCHEDULE_SECONDS": "1",
        }
    )
    try:
        with LocalHTTPServer() as images:
            images.add("/noise.png", body=noisy_png((2400, 1800)))
            images.add("/small.png", body=small_png())
            accepted = request(
                "POST",
                f"{running.base_url}/v1/image/edit/async",
                {
                    "input": images.url("/noise.png"),
                    "operations": {},
                    "output": {"format": {"type": "png", "compression": "best"}},
                },
            )
            assert accepted.status == 200, accepted.body
            url = str(accepted.json()["data"]["result_url"])
            assert poll(url, {"PROCESSING", "DONE", "ERROR"}, 30)["status"] == "PROCESSING"
            killed = pillow_processes(running)
            assert killed, "no processor environment found to kill"
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

            ended = poll(url, {"DONE", "ERROR"}, DEADLINE_SECONDS + 20)
            assert ended["status"] == "ERROR", ended
            assert f"processing did not finish within {DEADLINE_SECONDS} seconds" in str(ended["errors"]), (
                ended
            )

            after = edit(running.base_url, {"input": images.url("/small.png"), "operations": {}})
            assert after.status == 200, after.body
    finally:
        code = stop_stack(running)
    output = "".join(running.output)
    assert code == 0, output[-4000:]
    assert TRACEBACK not in output, output[-4000:]
    assert "schedule:       SweeperFunction every 1s" in output
