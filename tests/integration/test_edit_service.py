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
from pixelport.editing import EditService
from pixelport.errors import ValidationFailed
from pixelport.handover import run_seconds
from pixelport.sources.url import Fetched
from pixelport.staging import input_key
from pixelport.tasks import TaskStore

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
    """The processor as the edit service sees it; this one records and ends nothing."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    run_returns: bool = True

    def queue(self, bucket: str, key: str) -> None:
        self.calls.append(("queue", key))

    def run(self, bucket: str, key: str) -> bool:
        self.calls.append(("run", key))
        return self.run_returns


def handing_over(names: LocalNames, handover: RecordingHandover) -> EditService:
    fetched = Fetched(data=image_bytes("PNG"), url=URL, content_type="image/png", name="photo")
    return replace(service(names, fetched), processor=handover)


def test_with_too_little_of_the_sync_window_left_for_a_run_the_input_is_only_queued(
    aws: LocalNames,
) -> None:
    recorded = RecordingHandover()
    deadline = time.monotonic() + run_seconds() - 1
    body = {"input": URL, "operations": {}}
    task = handing_over(aws, recorded).submit(body, account="a", deadline=deadline)
    assert recorded.calls == [("queue", f"direct/{task.id}")]


@pytest.mark.parametrize("run_returns", [True, False], ids=["returned", "function error"])
def test_a_run_that_did_not_end_the_task_is_followed_by_a_queued_invocation(
    aws: LocalNames, run_returns: bool
) -> None:
    recorded = RecordingHandover(run_returns=run_returns)
    deadline = time.monotonic() + run_seconds() + 1
    body = {"input": URL, "operations": {}}
    task = handing_over(aws, recorded).submit(body, account="a", deadline=deadline)
    assert recorded.calls == [("run", f"direct/{task.id}"), ("queue", f"direct/{task.id}")]
    assert task.status == "ACCEPTED"
