"""Lambda-like execution environments: one process per environment, one invocation at a time, the
handler module imported once (warm starts), environment variables of the function only.

A process per environment keeps what Lambda keeps apart apart: module state, Powertools' logger and
metrics, and the API function's promise never to import Pillow.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from local.template import FunctionSpec

_SPAWN = multiprocessing.get_context("spawn")


class Invocable(Protocol):
    """What an event source needs of a function (FunctionRuntime; a fake in tests)."""

    @property
    def function_arn(self) -> str: ...

    def invoke(self, event: Any, timeout: float | None = None) -> Any: ...


class FunctionError(Exception):
    """The handler raised (Lambda's "Unhandled" function error), timed out, or its process died."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


def _serve(conn: Connection, spec: dict[str, Any]) -> None:
    """The body of an environment process: import the handler once, then invoke it per message."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    if spec.get("log_path"):
        _write_output_to(spec["log_path"])
    os.environ.update(spec["environment"])
    sys.path[:0] = [spec["code_dir"], *spec["layer_dirs"]]
    module_name, func_name = spec["handler"].rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
    except Exception as exc:
        conn.send(("init_error", _error_payload(exc, "Runtime.ImportModuleError")))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        event, context = message
        try:
            conn.send(("ok", handler(event, LocalContext(**context))))
        except Exception as exc:
            conn.send(("error", _error_payload(exc, type(exc).__name__)))


def _write_output_to(path: str) -> None:
    """The handler's log lines and metrics (print()ed JSON) go to the stack's log file."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)


def _error_payload(exc: BaseException, error_type: str) -> dict[str, Any]:
    return {
        "errorType": error_type,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


class _Environment:
    def __init__(self, spec: dict[str, Any]):
        self.conn, child = _SPAWN.Pipe()
        self.process = _SPAWN.Process(target=_serve, args=(child, spec), daemon=True)
        self.process.start()
        child.close()
        status, payload = self.conn.recv()
        if status != "ready":
            self.stop()
            raise FunctionError(payload)

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2)


class FunctionRuntime:
    """Invokes one function; grows to `concurrency` environments, like Lambda's scaling."""

    def __init__(
        self,
        spec: FunctionSpec,
        environment: dict[str, str],
        layer_dirs: list[str],
        concurrency: int,
        *,
        log_path: str | None = None,
    ):
        self.spec = spec
        self._child_spec = {
            "environment": environment,
            "code_dir": str(spec.code_uri),
            "layer_dirs": layer_dirs,
            "handler": spec.handler,
            "log_path": log_path,  # None: the handler's output goes where the stack's does
        }
        self._idle: queue.LifoQueue[_Environment] = queue.LifoQueue()
        self._slots = threading.Semaphore(concurrency)
        self._all: set[_Environment] = set()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.spec.logical_id}"

    def warm(self) -> None:
        """Start one environment now, so the first request does not pay the cold start."""
        self._idle.put(self._spawn())

    def _spawn(self) -> _Environment:
        env = _Environment(self._child_spec)
        with self._lock:
            closed = self._closed
            if not closed:
                self._all.add(env)
        if closed:
            # Closed while it started: nobody would stop it, and an invocation waiting on it would
            # hold the interpreter's exit until the function's timeout.
            env.stop()
            raise FunctionError({"errorType": "Runtime.Shutdown", "errorMessage": "stack is stopping"})
        return env

    def _discard(self, env: _Environment) -> None:
        with self._lock:
            self._all.discard(env)
        env.stop()

    def invoke(self, event: Any, timeout: float | None = None) -> Any:
        """Run the handler; raises FunctionError when it raises, times out or dies."""
        if self._closed:
            raise FunctionError({"errorType": "Runtime.Shutdown", "errorMessage": "stack is stopping"})
        limit = self.spec.timeout if timeout is None else min(timeout, self.spec.timeout)
        with self._slots:
            if self._closed:  # closed while this invocation waited for a slot: start nothing new
                raise FunctionError({"errorType": "Runtime.Shutdown", "errorMessage": "stack is stopping"})
            try:
                env = self._idle.get_nowait()
            except queue.Empty:
                env = self._spawn()
            context = {
                "function_name": self.spec.logical_id,
                "memory_limit_in_mb": self.spec.memory,
                "aws_request_id": str(uuid.uuid4()),
                "deadline": time.time() + limit,
            }
            try:
                env.conn.send((event, context))
                if not env.conn.poll(limit):
                    self._discard(env)  # Lambda stops a timed-out environment
                    raise FunctionError(
                        {
                            "errorType": "Sandbox.Timedout",
                            "errorMessage": f"Task timed out after {limit:.2f} seconds",
                        }
                    )
                status, payload = env.conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self._discard(env)
                raise FunctionError({"errorType": "Runtime.ExitError", "errorMessage": str(exc)}) from None
            self._idle.put(env)
        if status == "error":
            raise FunctionError(payload)
        return payload

    def close(self) -> None:
        self._closed = True
        with self._lock:
            envs = list(self._all)
            self._all.clear()
        for env in envs:
            env.stop()
