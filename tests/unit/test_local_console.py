"""`make run`'s log file is shared: the stack writes its lines, the functions' processes append theirs."""

from __future__ import annotations

import os
from pathlib import Path

from local.console import Console


def append_as_a_function_does(path: Path, line: str) -> None:
    """local/runtime.py points a function's stdout at the file with O_APPEND."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def test_the_stacks_lines_never_overwrite_the_lines_a_function_appended(tmp_path: Path) -> None:
    log = tmp_path / "stack.log"
    log.write_text("a previous run's line\n")
    console = Console(log)
    try:
        console.detail("moto: PUT /bucket 200")
        append_as_a_function_does(log, '{"_aws": {"CloudWatchMetrics": []}, "StagedInputEvents": [1]}')
        console.detail("moto: POST / 200")
        append_as_a_function_does(log, '{"message": "task done"}')
        console.detail("gateway: POST /v1/image/edit 200")
    finally:
        console.close()
    assert log.read_text().splitlines() == [
        "moto: PUT /bucket 200",
        '{"_aws": {"CloudWatchMetrics": []}, "StagedInputEvents": [1]}',
        "moto: POST / 200",
        '{"message": "task done"}',
        "gateway: POST /v1/image/edit 200",
    ]
