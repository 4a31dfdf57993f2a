"""The local stack (`make run`'s `python -m local`) started in a subprocess, and a loopback image server."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.stack import free_port
from tests.conftest import GENEROUS_RATE_LIMITS
from tests.support.http_server import LocalHTTPServer

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    base_url: str
    port: int
    output: list[str]
    started_in: float
    moto_endpoint: str = ""  # where `make run` serves moto (customers' buckets are made there)


def start_stack(env_extra: dict[str, str]) -> RunningStack:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIXELPORT_", "AWS_"))}
    # moto's port is fixed in `make run` (5000); two stacks of one test session each need their own.
    # The e2e tests send many requests quickly with the one local key: generous limits unless a test
    # says otherwise (PIXELPORT_LOCAL_RATE_LIMITS="" for the defaults, as test_keys_and_limits.py does).
    env.update(
        {
            "PORT": str(port),
            "PIXELPORT_MOTO_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
            "PIXELPORT_LOCAL_RATE_LIMITS": GENEROUS_RATE_LIMITS,
        }
    )
    env.update(env_extra)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = started + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if "listening on" in line:
            return RunningStack(
                process,
                f"http://127.0.0.1:{port}",
                port,
                output,
                time.monotonic() - started,
                moto_endpoint=f"http://127.0.0.1:{env['PIXELPORT_MOTO_PORT']}",
            )
    process.kill()
    raise AssertionError("local stack did not start:\n" + "".join(output[-60:]))


def around_traceback(output: str) -> str:
    """The lines of the first traceback in a stack's output, without the access-log noise around it."""
    start = output.find(TRACEBACK)
    lines = output[max(0, start - 500) : start + 6000].splitlines()
    return "\n".join(line for line in lines if '" 200 -' not in line and "CloudWatchMetrics" not in line)


def stop_stack(stack: RunningStack) -> int:
    stack.process.send_signal(signal.SIGINT)
    try:
        return stack.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        raise


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """One stack for the e2e session; loopback opened so it can fetch the test image server."""
    # Webhook retries after 1, 2, 4 ... seconds instead of 30, 60, 120 ...: the tests' receivers fail on
    # purpose and should not wait minutes.
    running = start_stack(
        {"PIXELPORT_ALLOWED_SOURCE_NETWORKS": "127.0.0.0/8", "PIXELPORT_WEBHOOK_RETRY_BASE_SECONDS": "1"}
    )
    yield running
    code = stop_stack(running)
    assert code == 0, "".join(running.output[-40:])
    output = "".join(running.output)
    assert TRACEBACK not in output, around_traceback(output)


@pytest.fixture(scope="session")
def image_server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server
