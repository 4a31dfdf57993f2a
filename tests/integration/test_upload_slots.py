"""POST /v1/image/edit/upload/url (SPEC 2.4 extension): a task waiting for its upload, a presigned
POST limited to the declared file, and the upload itself triggering the processor."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import pytest
from PIL import Image

from functions.api import app as api
from functions.processor import app as processor
from functions.sweeper import app as sweeper
from local.resources import LocalNames
from pixelport.contract.limits import limits
from pixelport.upload_slots import UPLOAD_SLOT_SECONDS
from tests.support.lambdas import api_event, get_task, invoke, load_event, response_json

pytestmark = pytest.mark.usefixtures("aws")

ROUTE = "/v1/image/edit/upload/url"


def png(size: tuple[int, int] = (50, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "purple").save(out, "PNG")
    return out.getvalue()


def open_slot(body: Any) -> dict[str, Any]:
    return invoke(api.lambda_handler, api_event(body, path=ROUTE), timeout=29)


def slot_for(name: str, size: int, data: dict[str, Any] | None = None) -> dict[str, Any]:
    response = open_slot({"file": {"name": name, "size": size}, "data": data or {"operations": {}}})
    assert response["statusCode"] == 200, response["body"]
    return dict(response_json(response)["data"])


def upload(aws: LocalNames, slot: dict[str, Any], body: bytes) -> None:
    """What S3 stores for a POST within the policy (moto, in process, takes a put instead)."""
    fields = slot["upload"]["fields"]
    metadata = {k.removeprefix("x-amz-meta-"): v for k, v in fields.items() if k.startswith("x-amz-meta-")}
    boto3.client("s3").put_object(
        Bucket=aws.bucket("IngestBucket"),
        Key=fields["key"],
        Body=body,
        ContentType=fields["Content-Type"],
        Metadata=metadata,
    )


def process(aws: LocalNames, key: str) -> dict[str, Any]:
    """events/s3-upload.json: the notification of a presigned POST into uploads/."""
    event = load_event("s3-upload.json")
    record = event["Records"][0]
    assert record["eventName"] == "ObjectCreated:Post"
    assert record["s3"]["object"]["key"].startswith("uploads/")
    record["s3"]["bucket"]["name"] = aws.bucket("IngestBucket")
    record["s3"]["object"]["key"] = key
    return invoke(processor.lambda_handler, event, timeout=300)


def test_a_slot_is_an_accepted_task_and_a_post_policy_limited_to_the_declared_file(aws: LocalNames) -> None:
    before = time.time()
    data = slot_for("Villa Façade.heic", 20 * 1024 * 1024, {"operations": {}, "output": {"format": "webp"}})
    assert data["status"] == "ACCEPTED" and data["request"] == {
        "operations": {},
        "output": {"format": "webp"},
    }
    fields = data["upload"]["fields"]
    assert fields["key"] == f"uploads/{data['id']}"
    assert fields["Content-Type"] == "image/heic"
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV2 is refused by buckets made since 2020
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"bucket": aws.bucket("IngestBucket")} in conditions
    assert {"key": f"uploads/{data['id']}"} in conditions
    assert {"Content-Type": "image/heic"} in conditions
    assert {"x-amz-meta-declared-size": str(20 * 1024 * 1024)} in conditions
    assert ["content-length-range", 1, 20 * 1024 * 1024] in conditions
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")).timestamp()
    assert before + UPLOAD_SLOT_SECONDS - 5 <= expires <= time.time() + UPLOAD_SLOT_SECONDS + 5
    assert datetime.fromisoformat(data["upload"]["expires_at"]).timestamp() == pytest.approx(expires, abs=5)


def test_the_upload_triggers_processing_and_names_the_output(aws: LocalNames) -> None:
    image = png()
    slot = slot_for("Front view.png", len(image), {"operations": {}, "output": {"format": "webp"}})
    upload(aws, slot, image)
    assert process(aws, slot["upload"]["fields"]["key"])["handled"][0]["status"] == "done"
    task = get_task(slot["id"])
    assert task["status"] == "DONE"
    assert task["result"]["output_object"]["tmp_url"].endswith("/Front_view.webp")
    assert task["result"]["input_object"]["width"] == 50


def test_an_upload_that_is_not_an_image_ends_4005(aws: LocalNames) -> None:
    slot = slot_for("photo.jpg", 100)
    upload(aws, slot, b"<html>" + b"x" * 50)
    process(aws, slot["upload"]["fields"]["key"])
    task = get_task(slot["id"])
    assert task["status"] == "ERROR"
    assert "not" in task["errors"][0]["error"] and "JPEG" in task["errors"][0]["error"]


def test_an_upload_larger_than_declared_ends_4130(aws: LocalNames) -> None:
    image = png((200, 200))
    slot = slot_for("photo.png", 100)
    upload(aws, slot, image)
    process(aws, slot["upload"]["fields"]["key"])
    task = get_task(slot["id"])
    assert task["status"] == "ERROR"
    assert task["errors"][0]["error"] == f"the upload is {len(image)} bytes, more than the 100 declared"


def test_an_upload_that_never_comes_ends_error_at_the_task_deadline(
    aws: LocalNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    slot = slot_for("photo.png", 1000)
    assert limits().task_deadline_seconds > UPLOAD_SLOT_SECONDS
    later = time.time() + limits().task_deadline_seconds + 1
    monkeypatch.setattr("pixelport.tasks.now", lambda: later)
    invoke(sweeper.lambda_handler, load_event("schedule.json"), timeout=60)
    task = get_task(slot["id"])
    assert task["status"] == "ERROR"
    assert "never reached the processor" in task["errors"][0]["error"]


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"data": {"operations": {}}}, {"file"}),
        ({"file": {"name": "photo.png", "size": 10}}, {"data"}),
        ({"file": {"name": "notes.txt", "size": 10}, "data": {"operations": {}}}, {"file.name"}),
        ({"file": {"name": "a/b.png", "size": 10}, "data": {"operations": {}}}, {"file.name"}),
        ({"file": {"name": "photo.png", "size": 0}, "data": {"operations": {}}}, {"file.size"}),
        ({"file": {"name": "photo.png", "size": "10"}, "data": {"operations": {}}}, {"file.size"}),
        (
            {
                "file": {"name": "photo.png", "size": 10},
                "data": {"input": "https://e.com/a.png", "operations": {}},
            },
            {"data.input"},
        ),
        (
            {"file": {"name": "x.doc", "size": -1}, "data": {"operations": {"resizing": {"width": True}}}},
            {"file.name", "file.size", "data.operations.resizing.width"},
        ),
    ],
)
def test_a_bad_slot_request_is_one_422_naming_every_field(body: dict[str, Any], paths: set[str]) -> None:
    response = open_slot(body)
    assert response["statusCode"] == 422, response["body"]
    assert set(response_json(response)["error_details"]) == paths


def test_a_declared_size_over_the_input_limit_is_422(set_limits: Callable[..., None]) -> None:
    set_limits(max_input_bytes=1000)
    response = open_slot({"file": {"name": "photo.png", "size": 1001}, "data": {"operations": {}}})
    assert response["statusCode"] == 422
    assert response_json(response)["error_details"] == {
        "file.size": ["ensure this value is at most 1000 (bytes)"]
    }
