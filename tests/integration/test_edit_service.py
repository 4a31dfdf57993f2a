"""EditService.submit against moto built from the template, with the URL fetch stubbed."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from PIL import Image

from local.resources import LocalNames
from pixelport.capabilities import NO_MODEL
from pixelport.contract.limits import limits
from pixelport.editing import EditService
from pixelport.errors import ValidationFailed
from pixelport.handover import (
    AFTER_RUN_SECONDS,
    QUEUE_ANSWER_SECONDS,
    QUEUE_CONNECT_SECONDS,
    QUEUE_TRIES,
    RUN_CONNECT_SECONDS,
    may_run,
    run_seconds,
)
from pixelport.sources.url import Fetched
from pixelport.staging import input_key
from pixelport.tasks import Claimed, TaskStore

URL = "https://images.example.com/photo"


def image_bytes(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def service(names: LocalNames, fetched: Fetched) -> EditService:
    return EditService(
        store=TaskStore(boto3.client("dynamodb"), names.table("TasksTable")),
        s3=boto3.client("s3"),
        ingest_bucket=names.bucket("IngestBucket"),
        fetcher=lambda url: fetched,
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html; charset=" + "x" * 5000,
        "image/pngé",
        "image/jpeg",  # a lie: the bytes say otherwise
        "application/octet-stream",
        None,
    ],
    ids=["long", "non-ascii", "wrong", "generic", "absent"],
)
@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")]
)
def test_the_staged_input_is_typed_by_its_sniffed_format_never_by_the_remote_header(
    aws: LocalNames, content_type: str | None, fmt: str, mime: str
) -> None:
    fetched = Fetched(data=image_bytes(fmt), url=URL, content_type=content_type, name="photo")
    task = service(aws, fetched).submit({"input": URL, "operations": {}}, account="a")
    staged = boto3.client("s3").head_object(Bucket=aws.bucket("IngestBucket"), Key=input_key(task.id))
    assert staged["ContentType"] == mime


def test_every_problem_of_a_request_is_refused_in_one_422_before_any_task_exists(aws: LocalNames) -> None:
    body: dict[str, Any] = {
        "input": URL,
        "operations": {"adjustments": {"hdr": 10}},
        "output": {"destination": "storage://shop/out/", "format": {"type": "jpeg", "quality": 101}},
    }
    fetched = Fetched(data=image_bytes("PNG"), url=URL, content_type="image/png", name="photo")
    with pytest.raises(ValidationFailed) as caught:
        service(aws, fetched).submit(body, account="a")
    assert caught.value.details == {
        "output.format.quality": ["ensure this value is less than or equal to 100"],
        "operations.adjustments.hdr": [NO_MODEL],
        "output.destination": ["storage 'shop' is not connected to this account"],
    }
    assert boto3.client("dynamodb").scan(TableName=aws.table("TasksTable"))["Items"] == []


@dataclass
class RecordingHandover:
    """The processor as the edit service sees it; this one records, and its run ends the task (claimed,
    then DONE) only given `store`."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    run_returns: bool = True
    store: TaskStore | None = None

    def queue(self, bucket: str, key: str) -> None:
        self.calls.append(("queue", key))

    def run(self, bucket: str, key: str) -> bool:
        self.calls.append(("run", key))
        if self.store is not None:
            claim = self.store.claim(int(key.rsplit("/", 1)[1]), lease_seconds=45)
            assert isinstance(claim, Claimed)
            assert self.store.complete(claim.task, {"output": {"format": "PNG"}})
        return self.run_returns


def handing_over(names: LocalNames, handover: RecordingHandover) -> EditService:
    fetched = Fetched(data=image_bytes("PNG"), url=URL, content_type="image/png", name="photo")
    return replace(service(names, fetched), processor=handover)


# A run needs its own wait, then room to queue the input should it fail, before the deadline.
NEEDED_FOR_A_RUN = run_seconds() + RUN_CONNECT_SECONDS + AFTER_RUN_SECONDS


def test_a_run_starts_only_if_queueing_after_its_timeout_still_fits_before_the_deadline() -> None:
    assert run_seconds() > 0 and limits().sync_wait_seconds > NEEDED_FOR_A_RUN
    assert may_run(NEEDED_FOR_A_RUN) and not may_run(NEEDED_FOR_A_RUN - 0.01)
    # The API function's own time (template: 27 s) bounds the deadline too (functions/api/app.py).
    assert AFTER_RUN_SECONDS >= QUEUE_TRIES * (QUEUE_CONNECT_SECONDS + QUEUE_ANSWER_SECONDS)


def test_with_too_little_of_the_sync_window_left_for_a_run_the_input_is_only_queued(
    aws: LocalNames,
) -> None:
    recorded = RecordingHandover()
    deadline = time.monotonic() + NEEDED_FOR_A_RUN - 1
    body = {"input": URL, "operations": {}}
    task = handing_over(aws, recorded).submit(body, account="a", deadline=deadline)
    assert recorded.calls == [("queue", f"direct/{task.id}")]


@pytest.mark.parametrize("run_returns", [True, False], ids=["returned", "function error"])
def test_a_run_that_did_not_end_the_task_is_followed_by_a_queued_invocation(
    aws: LocalNames, run_returns: bool
) -> None:
    recorded = RecordingHandover(run_returns=run_returns)
    deadline = time.monotonic() + NEEDED_FOR_A_RUN + 1
    body = {"input": URL, "operations": {}}
    task = handing_over(aws, recorded).submit(body, account="a", deadline=deadline)
    assert recorded.calls == [("run", f"direct/{task.id}"), ("queue", f"direct/{task.id}")]
    assert task.status == "ACCEPTED"


@pytest.mark.parametrize("run_returns", [True, False], ids=["returned", "function error after the end"])
def test_a_run_that_ended_the_task_answers_it_as_ended_and_queues_nothing(
    aws: LocalNames, run_returns: bool
) -> None:
    store = TaskStore(boto3.client("dynamodb"), aws.table("TasksTable"))
    recorded = RecordingHandover(run_returns=run_returns, store=store)
    deadline = time.monotonic() + NEEDED_FOR_A_RUN + 1
    body = {"input": URL, "operations": {}}
    task = handing_over(aws, recorded).submit(body, account="a", deadline=deadline)
    assert recorded.calls == [("run", f"direct/{task.id}")]
    assert task.status == "DONE" and task.result == {"output": {"format": "PNG"}}
