"""The local stack (`make run`'s `python -m local`) started in a subprocess on free ports: used by the
e2e tests and by `make fuzz`."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from local.stack import free_port

# The e2e tests send many requests quickly with the one local key: generous limits unless told otherwise.
GENEROUS_RATE_LIMITS = "1000000;w=60, 100000;w=1"
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
TRACEBACK = "Traceback (most recent call last)"
# Every stack started in this process: the test run's log scan reads their whole output at the end.
STARTED: list[RunningStack] = []


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    base_url: str
    port: int
    output: list[str]
    started_in: float
    moto_endpoint: str = ""  # where `make run` serves moto (customers' buckets are made there)
    own_group: bool = False  # started in a process group of its own (make and its children)


def start_stack(
    env_extra: dict[str, str], command: list[str] | None = None, checkout: Path = ROOT
) -> RunningStack:
    """`command` (default `python -m local`) runs in `checkout` (default this one), in a process group
    of its own when given, and is stopped like a terminal's Ctrl-C stops `make run`: SIGINT to the
    whole group."""
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
            # Every line on stdout (the tests read the functions' log lines there) unless told otherwise.
            "PIXELPORT_LOCAL_VERBOSE": "1",
        }
    )
    env.update(env_extra)
    started = time.monotonic()
    process = subprocess.Popen(
        command or [sys.executable, "-m", "local"],
        cwd=checkout,
        start_new_session=command is not None,
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
            running = RunningStack(
                process,
                f"http://127.0.0.1:{port}",
                port,
                output,
                time.monotonic() - started,
                moto_endpoint=f"http://127.0.0.1:{env['PIXELPORT_MOTO_PORT']}",
                own_group=command is not None,
            )
            STARTED.append(running)
            return running
    if command is not None:
        os.killpg(process.pid, signal.SIGKILL)
    process.kill()
    raise AssertionError("local stack did not start:\n" + "".join(output[-60:]))


def around_traceback(output: str) -> str:
    """The lines of the first traceback in a stack's output, without the access-log noise around it."""
    start = output.find(TRACEBACK)
    lines = output[max(0, start - 500) : start + 6000].splitlines()
    return "\n".join(line for line in lines if '" 200 -' not in line and "CloudWatchMetrics" not in line)


def stop_stack(stack: RunningStack) -> int:
    if stack.own_group:
        os.killpg(stack.process.pid, signal.SIGINT)
    else:
        stack.process.send_signal(signal.SIGINT)
    try:
        return stack.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        raise
