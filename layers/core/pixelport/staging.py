"""The ingest bucket's keys: how a task's input reaches the processor. All but `direct/` trigger it
(template.yaml: one S3 notification per prefix).

- `direct/<task id>`: bytes a sync route (edit, multipart upload) fetched or received; the API invokes
  the processor itself (handover.py), so no S3 notification names this prefix.
- `inputs/<task id>`: the same bytes when that invocation could not be made (or no function name is
  configured): the S3 notification hands them over instead.
- `requests/<task id>`: an empty object asking the processor to fetch the task's input URL itself
  (the async route, which answers before any fetch).
- `uploads/<task id>`: bytes the client uploaded with a presigned POST.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus


class Staged(StrEnum):
    DIRECT = "direct"
    INPUT = "inputs"
    REQUEST = "requests"
    UPLOAD = "uploads"


INPUTS_PREFIX = f"{Staged.INPUT}/"
_KEY = re.compile(r"^(direct|inputs|requests|uploads)/([0-9]{1,20})$")


@dataclass(frozen=True)
class StagedKey:
    kind: Staged
    task_id: int

    @property
    def key(self) -> str:
        return staged_key(self.kind, self.task_id)


def staged_key(kind: Staged, task_id: int) -> str:
    return f"{kind}/{task_id}"


def input_key(task_id: int) -> str:
    return staged_key(Staged.INPUT, task_id)


def parse_staged_key(key: str) -> StagedKey | None:
    """What an ingest object is; S3 event keys arrive URL-encoded."""
    match = _KEY.match(unquote_plus(key))
    return StagedKey(Staged(match.group(1)), int(match.group(2))) if match else None


def notified_objects(event: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(bucket, key) of each record of an S3 notification, the key as S3 sends it (URL-encoded), read
    as Powertools' `S3Event` reads them: importing that class imports every event class Powertools
    has, about 20 ms of CPU of every processor cold start."""
    for record in event["Records"]:
        s3 = record["s3"]
        yield s3["bucket"]["name"], (s3.get("get_object") or s3["object"])["key"]


def task_id_from_key(key: str) -> int | None:
    staged = parse_staged_key(key)
    return staged.task_id if staged else None
