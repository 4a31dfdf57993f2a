"""Where the API stages an input for the processor: s3://<ingest bucket>/inputs/<task id>."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

INPUTS_PREFIX = "inputs/"
_INPUT_KEY = re.compile(r"^inputs/(\d{1,20})$")


def input_key(task_id: int) -> str:
    return f"{INPUTS_PREFIX}{task_id}"


def task_id_from_key(key: str) -> int | None:
    """The task of a staged input; S3 event keys arrive URL-encoded."""
    match = _INPUT_KEY.match(unquote_plus(key))
    return int(match.group(1)) if match else None
