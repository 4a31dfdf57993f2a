"""POST and GET /v1/image/edit/batch (SPEC 2.3) through the handlers, with the template's queues driven
as Lambda's pollers drive them (tests/support/queues.py) and moto for S3, DynamoDB and SQS."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from local.resources import LocalNames
from tests.support.customer_s3 import CUSTOMER_BUCKET, customer_bucket, png_bytes
from tests.support.http_server import LocalHTTPServer
from tests.support.lambdas import api_event, call_api, response_json
from tests.support.queues import deliver_once, queued, run_batches
from tests.support.storage import bucket_body

pytestmark = pytest.mark.usefixtures("aws")

CATALOGUE = [f"catalogue/shoe {n:02d}.png" for n in range(12)] + [
    "catalogue/summer/a.png",
    "catalogue/summer/b.png",
    "catalogue/winter/deep/c.png",
]


def connect(name: str = "storage-name") -> None:
    response = call_api(api_event(bucket_body(name), path="/v1/storage/storages"))
    assert response["statusCode"] == 200, response["body"]


def post_batch(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = call_api(api_event({"operations": {}, **body}, path="/v1/image/edit/batch"))
    return response["statusCode"], response_json(response)


def get_batch(batch_id: int, after: str | None = None) -> dict[str, Any]:
    path = f"/v1/image/edit/batch/{batch_id}"
    event = api_event(None, method="GET", path=path, resource="/v1/image/edit/batch/{task_id}")
    event["pathParameters"] = {"task_id": str(batch_id)}
    if after is not None:
        event["queryStringParameters"] = {"after": after}
        event["multiValueQueryStringParameters"] = {"after": [after]}
    response = call_api(event)
    assert response["statusCode"] == 200, response["body"]
    return dict(response_json(response)["data"])


def output_keys(prefix: str = "out/") -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=CUSTOMER_BUCKET, Prefix=prefix)
    return sorted(obj["Key"] for obj in listed.get("Contents", []))


def catalogue() -> None:
    customer_bucket(*((key, png_bytes((24, 16))) for key in CATALOGUE))
    connect()


def test_a_folder_batch_edits_the_folders_own_images_into_the_output_folder_keeping_their_names(
    aws: LocalNames,
) -> None:
    catalogue()
    status, body = post_batch(
        {"input": "storage://storage-name/catalogue/", "output": "storage://storage-name/out/"}
    )
    assert status == 200, body
    assert body["data"]["status"] == "ACCEPTED"
    assert body["data"]["result_url"].endswith(f"/v1/image/edit/batch/{body['data']['id']}")
    run_batches(aws)
    batch = get_batch(body["data"]["id"])
    assert batch["status"] == "DONE", batch
    assert output_keys() == [f"out/shoe {n:02d}.jpg" for n in range(12)]
    assert len(batch["results"]) == 12 and batch["errors"] == []
    assert batch["progress"] == {"images": 12, "done": 12, "failed": 0, "listing_complete": True}
    first = batch["results"][0]
    assert first["input_object"]["object_uri"] == "storage://storage-name/catalogue/shoe%2000.png"
    assert first["output_object"]["object_uri"] == "storage://storage-name/out/shoe 00.jpg"


def test_a_recursive_batch_keeps_each_images_path_under_the_folder(aws: LocalNames) -> None:
    catalogue()
    status, body = post_batch(
        {
            "input": {"source": "storage://storage-name/catalogue/", "recursive": True},
            "output": {"destination": "storage://storage-name/out/", "format": "png"},
        }
    )
    assert status == 200, body
    run_batches(aws)
    batch = get_batch(body["data"]["id"])
    assert batch["status"] == "DONE", batch
    assert output_keys() == sorted(
        [f"out/shoe {n:02d}.png" for n in range(12)]
        + ["out/summer/a.png", "out/summer/b.png", "out/winter/deep/c.png"]
    )


def test_a_corrupt_image_among_good_ones_is_one_error_naming_it_and_the_batch_is_done(
    aws: LocalNames,
) -> None:
    customer_bucket(
        ("in/good 1.png", png_bytes()),
        ("in/broken.png", png_bytes()[:60]),
        ("in/good 2.png", png_bytes()),
    )
    connect()
    status, body = post_batch(
        {"input": "storage://storage-name/in/", "output": "storage://storage-name/out/"}
    )
    assert status == 200, body
    run_batches(aws)
    batch = get_batch(body["data"]["id"])
    assert batch["status"] == "DONE", batch
    assert len(batch["results"]) == 2
    assert len(batch["errors"]) == 1
    error = batch["errors"][0]
    assert error["input_object"] == {"object_uri": "storage://storage-name/in/broken.png"}
    assert error["error"] and error["created_at"]
    assert output_keys() == ["out/good 1.jpg", "out/good 2.jpg"]


def test_a_batch_whose_every_image_fails_is_error(aws: LocalNames) -> None:
    customer_bucket(("in/a.png", b"not an image"), ("in/b.png", b"nor this"))
    connect()
    status, body = post_batch({"input": "storage://storage-name/in/"})
    assert status == 200, body
    run_batches(aws)
    batch = get_batch(body["data"]["id"])
    assert batch["status"] == "ERROR", batch
    assert {e["input_object"]["object_uri"] for e in batch["errors"]} == {
        "storage://storage-name/in/a.png",
        "storage://storage-name/in/b.png",
    }


@pytest.mark.usefixtures("allow_loopback")
def test_a_list_of_urls_goes_to_the_temporary_bucket_when_no_output_is_given(aws: LocalNames) -> None:
    with LocalHTTPServer() as images:
        for n in range(3):
            images.add(f"/p/photo{n}.png", body=png_bytes((10 + n, 10)))
        status, body = post_batch({"input": [images.url(f"/p/photo{n}.png") for n in range(3)]})
        assert status == 200, body
        run_batches(aws)
    batch = get_batch(body["data"]["id"])
    assert batch["status"] == "DONE", batch
    widths = sorted(r["input_object"]["width"] for r in batch["results"])
    assert widths == [10, 11, 12]
    assert all(r["output_object"]["tmp_url"].endswith(".jpg") for r in batch["results"])
    assert {r["input_object"]["url"].rsplit("/", 1)[-1] for r in batch["results"]} == {
        "photo0.png",
        "photo1.png",
        "photo2.png",
    }


def test_a_missing_folder_is_a_clear_400_and_no_batch() -> None:
    customer_bucket(("elsewhere/a.png", png_bytes()))
    connect()
    status, body = post_batch({"input": "storage://storage-name/nothing-here/"})
    assert status == 400, body
    assert body["error_code"] == "4025"
    assert "storage://storage-name/nothing-here/" in body["error_message"]


def test_a_folder_of_subfolders_only_without_recursive_says_so() -> None:
    customer_bucket(("top/sub/a.png", png_bytes()))
    connect()
    status, body = post_batch({"input": "storage://storage-name/top/"})
    assert status == 400, body
    assert "recursive" in body["error_message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": []}, "input"),
        ({"input": "storage://storage-name/a.png"}, "input"),
        ({"input": "https://example.com/folder/"}, "input"),
        ({"input": {"source": "storage://storage-name/x/", "recursive": 1}}, "input.recursive"),
        ({"input": ["ftp://example.com/a.png"]}, "input.0"),
        (
            {"input": "storage://storage-name/x/", "output": "storage://storage-name/out.png"},
            "output.destination",
        ),
        ({"input": "storage://unknown/x/"}, "input"),
        ({"input": "storage://storage-name/x/", "extra": 1}, "extra"),
    ],
)
def test_bad_batch_requests_are_422_naming_the_field(body: dict[str, Any], field: str) -> None:
    connect()
    status, answer = post_batch(body)
    assert status == 422, answer
    assert answer["error_code"] == "9000"
    assert field in answer["error_details"], answer


def test_every_invalid_item_of_a_list_is_named_by_its_field_path() -> None:
    status, answer = post_batch(
        {"input": ["https://example.com/a.png", "ftp://example.com/b.png", "b.png", 7, "https://x.example/c"]}
    )
    assert status == 422, answer
    assert set(answer["error_details"]) == {"input.1", "input.2", "input.3"}
    assert "unsupported scheme 'ftp'" in answer["error_details"]["input.1"][0]
    assert "input.1: unsupported scheme 'ftp'" in answer["error_message"]
    assert "item " not in answer["error_message"]


def test_a_batch_is_not_read_as_an_async_task() -> None:
    from tests.support.lambdas import async_get_event

    customer_bucket(("in/a.png", png_bytes()))
    connect()
    status, body = post_batch({"input": "storage://storage-name/in/"})
    assert status == 200, body
    assert call_api(async_get_event(body["data"]["id"]))["statusCode"] == 404


def test_an_unknown_batch_or_a_plain_task_id_is_404() -> None:
    for batch_id in ("12345", "not-a-number"):
        event = api_event(
            None,
            method="GET",
            path=f"/v1/image/edit/batch/{batch_id}",
            resource="/v1/image/edit/batch/{task_id}",
        )
        event["pathParameters"] = {"task_id": batch_id}
        response = call_api(event)
        assert response["statusCode"] == 404, response["body"]


def test_a_duplicate_delivery_of_an_image_makes_one_output_and_one_done(aws: LocalNames) -> None:
    from functions.batch import app as batch_function
    from functions.processor import app as processor

    customer_bucket(("in/a.png", png_bytes()), ("in/b.png", png_bytes()))
    connect()
    status, body = post_batch(
        {"input": "storage://storage-name/in/", "output": "storage://storage-name/out/"}
    )
    assert status == 200, body
    assert deliver_once(aws, "BatchQueue", batch_function.lambda_handler) == 1
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.queue("BatchItemsQueue"))["QueueUrl"]
    waiting = queued(aws, "BatchItemsQueue")
    assert len(waiting) == 2
    for message in waiting:  # SQS delivers at least once: send each a second time
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
        sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
    while deliver_once(aws, "BatchItemsQueue", processor.lambda_handler):
        pass
    batch = get_batch(body["data"]["id"])
    assert batch["status"] == "DONE"
    assert batch["progress"] == {"images": 2, "done": 2, "failed": 0, "listing_complete": True}
    assert len(batch["results"]) == 2
    versions = boto3.client("s3").list_objects_v2(Bucket=CUSTOMER_BUCKET, Prefix="out/")["KeyCount"]
    assert versions == 2


def test_a_long_listing_continues_in_follow_up_invocations_and_pages_its_answer(
    aws: LocalNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.batch import app as batch_function
    from pixelport import batches

    keys = [f"big/img{n:04d}.png" for n in range(250)]
    customer_bucket(*((key, png_bytes((8, 8))) for key in keys))
    connect()
    status, body = post_batch(
        {"input": "storage://storage-name/big/", "output": "storage://storage-name/out/"}
    )
    assert status == 200, body
    batch_id = body["data"]["id"]
    # An invocation with time for one page only: it writes one, then hands on to a new message.
    clock = iter([100.0, 0.0])
    outcome = batch_function.lister().run(batch_id, remaining=lambda: next(clock))
    assert outcome == "continued"
    assert get_batch(batch_id)["progress"] == {
        "images": 99,
        "done": 0,
        "failed": 0,
        "listing_complete": False,
    }
    assert len(queued(aws, "BatchQueue")) == 2  # the original message (not deleted here) and the follow-up
    monkeypatch.setattr(batches, "ANSWER_PAGE", 100)
    run_batches(aws)
    first = get_batch(batch_id)
    assert first["status"] == "DONE"
    assert first["progress"]["done"] == 250
    assert len(first["results"]) == 100
    seen = [r["input_object"]["object_uri"] for r in first["results"]]
    next_url = first["next_url"]
    while next_url:
        page = get_batch(batch_id, after=next_url.rsplit("after=", 1)[1])
        seen += [r["input_object"]["object_uri"] for r in page["results"]]
        next_url = page["next_url"]
    assert seen == [f"storage://storage-name/{key}" for key in keys]
    assert len(output_keys()) == 250
