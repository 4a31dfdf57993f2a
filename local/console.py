"""What `make run` prints: one line per request and one per processed task on the terminal; the rest
(moto's access log, the functions' log lines and metrics, the gateway's own access log) in a log file
named in the banner. PIXELPORT_LOCAL_VERBOSE=1 prints everything on the terminal instead."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

VERBOSE_ENV = "PIXELPORT_LOCAL_VERBOSE"
LOG_ENV = "PIXELPORT_LOCAL_LOG"
# moto's server logs each request through werkzeug's logger.
ACCESS_LOGGERS = ("werkzeug",)
# Answers larger than this are not parsed for a task id (results, images).
TASK_ID_SCAN_BYTES = 65536
SHOWN_PATH_CHARACTERS = 100


def is_verbose(environ: Mapping[str, str]) -> bool:
    return environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def default_log_path(environ: Mapping[str, str]) -> Path:
    if named := environ.get(LOG_ENV):
        return Path(named)
    return Path(tempfile.gettempdir()) / f"pixelport-local-{environ.get('PORT', '3000')}.log"


class Console:
    """The terminal (stdout) for the lines a person reads; `detail` for the rest."""

    def __init__(self, log_path: Path | None = None):
        self.log_path = log_path
        self._lock = threading.Lock()
        self._log: TextIO | None = None
        if log_path is not None:
            # Emptied, then appended to: the functions' processes append to the same file (runtime.py),
            # and a writer at its own offset would write over their lines.
            log_path.write_text("", encoding="utf-8")
            self._log = log_path.open("a", encoding="utf-8", buffering=1)
            handler = logging.StreamHandler(self._log)
            for name in ACCESS_LOGGERS:
                access = logging.getLogger(name)
                access.addHandler(handler)  # werkzeug adds its own stderr handler only when it has none
                access.setLevel(logging.INFO)
                access.propagate = False

    @property
    def verbose(self) -> bool:
        return self._log is None

    def say(self, line: str) -> None:
        with self._lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def detail(self, line: str) -> None:
        with self._lock:
            if self._log is None:
                sys.stderr.write(line + "\n")
            else:
                self._log.write(line + "\n")

    def request(self, method: str, path: str, status: int, milliseconds: float, body: bytes) -> None:
        shown = path if len(path) <= SHOWN_PATH_CHARACTERS else path[: SHOWN_PATH_CHARACTERS - 3] + "..."
        task = task_id_in(body)
        suffix = f"  task {task}" if task is not None else ""
        self.say(f"{method:<6} {shown} {status} {milliseconds:.0f} ms{suffix}")

    def task_outcomes(self, function: str, payload: Any) -> None:
        """The processor's answer ({"handled": [{"task_id", "status"}]}): one line per task."""
        handled = payload.get("handled") if isinstance(payload, dict) else None
        for item in handled if isinstance(handled, list) else []:
            if isinstance(item, dict) and item.get("task_id") is not None:
                self.say(f"{function}: task {item['task_id']} {item.get('status')}")

    def close(self) -> None:
        if self._log is not None:
            with self._lock:
                self._log.close()


def task_id_in(body: bytes) -> int | None:
    """The task id of an answer that names one ({"data": {"id": 17, "status": ...}})."""
    if not body.startswith(b'{"data"') or len(body) > TASK_ID_SCAN_BYTES:
        return None
    try:
        data = json.loads(body).get("data")
    except ValueError:
        return None
    task = data.get("id") if isinstance(data, dict) and "status" in data else None
    return task if isinstance(task, int) and not isinstance(task, bool) else None


def open_console(environ: Mapping[str, str] = os.environ) -> Console:
    return Console(None if is_verbose(environ) else default_log_path(environ))
