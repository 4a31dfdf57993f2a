"""Batches and webhooks against `make run` (`python -m local`) over HTTP: the template's queues and
functions driven by the local stack the way Lambda drives them, the customer's bucket in the stack's
moto, image and webhook receivers on loopback."""

from __future__ import annotations

import io
import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from PIL import Image

from tests.e2e.client import Answer, request
from tests.e2e.conftest import RunningStack
from tests.support.http_server import LocalHTTPServer
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

CUSTOMER_KEYS = {"aws_access_key_id": "AKIABATCHLOCAL", "aws_secret_access_key": "batch-local-secret"}


def png(size: tuple[int, int] = (24, 16), colour: tuple[int, int, int] = (20, 90, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def data(answer: Answer) -> Any:
    assert answer.status == 200, answer.body
    return answer.json()["data"]


def customer_s3(stack: RunningStack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=CUSTOMER_KEYS["aws_access_key_id"],
        aws_secret_access_key=CUSTOMER_KEYS["aws_secret_access_key"],
    )


def connect_bucket(stack: RunningStack, bucket: str) -> str:
    """A new bucket connected as a storage of a new name; answers the name."""
    name = f"b{uuid.uuid4().hex[:10]}"
    customer_s3(stack).create_bucket(Bucket=bucket)
    credentials = {
        "access_key": CUSTOMER_KEYS["aws_access_key_id"],
        "secret_access_key": CUSTOMER_KEYS["aws_secret_access_key"],
    }
    body = {
        "name": name,
        "type": "s3",
        "parameters": {"bucket": bucket, "path": "", "credentials": credentials},
    }
    data(request("POST", f"{stack.base_url}/v1/storage/storages", body))
    return name


def submit(stack: RunningStack, body: dict[str, Any]) -> dict[str, Any]:
    return dict(data(request("POST", f"{stack.base_url}/v1/image/edit/batch", {"operations": {}, **body})))


def wait_ended(url: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        found = dict(data(request("GET", url)))
        if found["status"] in ("DONE", "ERROR") or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def every_page(first: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    results, errors, page = list(first["results"]), list(first["errors"]), first
    while page["next_url"]:
        page = dict(data(request("GET", page["next_url"])))
        results += page["results"]
        errors += page["errors"]
    return results, errors


def keys(stack: RunningStack, bucket: str, prefix: str) -> list[str]:
    s3 = customer_s3(stack)
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [obj["Key"] for obj in page.get("Contents", [])]
    return sorted(found)


@pytest.fixture
def catalogue(stack: RunningStack) -> Iterator[tuple[str, str]]:
    """12 images at the top of catalogue/, 3 more in subfolders; answers (bucket, storage name)."""
    bucket = f"cat-{uuid.uuid4().hex[:8]}"
    name = connect_bucket(stack, bucket)
    s3 = customer_s3(stack)
    for n in range(12):
        s3.put_object(Bucket=bucket, Key=f"catalogue/item {n:02d}.png", Body=png((20 + n, 16)))
    for key in ("catalogue/shoes/red.png", "catalogue/shoes/blue.png", "catalogue/bags/2026/tote.png"):
        s3.put_object(Bucket=bucket, Key=key, Body=png())
    yield bucket, name


def test_a_folder_batch_without_recursive_writes_the_12_top_images(
    stack: RunningStack, catalogue: tuple[str, str]
) -> None:
    bucket, name = catalogue
    accepted = submit(stack, {"input": f"storage://{name}/catalogue/", "output": f"storage://{name}/flat/"})
    assert accepted["status"] == "ACCEPTED"
    ended = wait_ended(accepted["result_url"], 90)
    assert ended["status"] == "DONE", ended
    assert keys(stack, bucket, "flat/") == [f"flat/item {n:02d}.jpg" for n in range(12)]
    assert len(ended["results"]) == 12 and ended["errors"] == []


def test_a_recursive_folder_batch_writes_all_15_keeping_their_paths(
    stack: RunningStack, catalogue: tuple[str, str]
) -> None:
    bucket, name = catalogue
    accepted = submit(
        stack,
        {
            "input": {"source": f"storage://{name}/catalogue/", "recursive": True},
            "output": {"destination": f"storage://{name}/deep/", "format": "webp"},
        },
    )
    ended = wait_ended(accepted["result_url"], 90)
    assert ended["status"] == "DONE", ended
    assert keys(stack, bucket, "deep/") == sorted(
        [f"deep/item {n:02d}.webp" for n in range(12)]
        + ["deep/shoes/red.webp", "deep/shoes/blue.webp", "deep/bags/2026/tote.webp"]
    )


def test_a_list_of_urls_with_one_corrupt_image_is_done_with_one_error_naming_it(stack: RunningStack) -> None:
    with LocalHTTPServer() as images:
        for n in range(4):
            images.add(f"/list/ok{n}.png", body=png((10 + n, 12)))
        images.add("/list/corrupt.png", body=b"\x89PNG\r\n\x1a\n" + b"not really" * 20)
        urls = [images.url(f"/list/ok{n}.png") for n in range(4)] + [images.url("/list/corrupt.png")]
        accepted = submit(stack, {"input": urls})
        ended = wait_ended(accepted["result_url"], 90)
    assert ended["status"] == "DONE", ended
    assert sorted(r["input_object"]["width"] for r in ended["results"]) == [10, 11, 12, 13]
    assert len(ended["errors"]) == 1
    assert ended["errors"][0]["input_object"] == {"url": images.url("/list/corrupt.png")}
    for result in ended["results"]:
        assert request("GET", result["output_object"]["tmp_url"], key=None).status == 200


def test_a_batch_naming_a_missing_folder_is_refused_clearly(stack: RunningStack) -> None:
    name = connect_bucket(stack, f"empty-{uuid.uuid4().hex[:8]}")
    answer = request(
        "POST",
        f"{stack.base_url}/v1/image/edit/batch",
        {"input": f"storage://{name}/nope/", "operations": {}},
    )
    assert answer.status == 400, answer.body
    assert answer.json()["error_code"] == "4025"
    assert f"storage://{name}/nope/" in answer.json()["error_message"]
    unknown = request(
        "POST", f"{stack.base_url}/v1/image/edit/batch", {"input": "storage://no-such/x/", "operations": {}}
    )
    assert unknown.status == 422, unknown.body


def test_a_hundred_image_batch_ends_with_every_output_once(stack: RunningStack) -> None:
    bucket = f"hundred-{uuid.uuid4().hex[:8]}"
    name = connect_bucket(stack, bucket)
    s3 = customer_s3(stack)
    for n in range(100):
        s3.put_object(Bucket=bucket, Key=f"in/{n:04d}.png", Body=png((8, 8), (n, 2 * n, 255 - n)))
    accepted = submit(stack, {"input": f"storage://{name}/in/", "output": f"storage://{name}/out/"})
    ended = wait_ended(accepted["result_url"], 240)
    assert ended["status"] == "DONE", ended["progress"]
    results, errors = every_page(ended)
    assert errors == []
    assert sorted(r["input_object"]["object_uri"] for r in results) == [
        f"storage://{name}/in/{n:04d}.png" for n in range(100)
    ]
    assert keys(stack, bucket, "out/") == [f"out/{n:04d}.jpg" for n in range(100)]


def test_a_webhook_is_set_shown_without_its_secret_and_removed(stack: RunningStack) -> None:
    url = f"{stack.base_url}/v1/account/webhook"
    shown = data(request("PUT", url, {"url": "https://hooks.example.com/pixelport", "secret": "s" * 32}))
    assert shown["url"] == "https://hooks.example.com/pixelport"
    got = request("GET", url)
    assert "secret" not in got.body.decode() and "s" * 32 not in got.body.decode()
    assert data(request("DELETE", url))["url"] == shown["url"]
    assert request("GET", url).status == 404
    refused = request("PUT", url, {"url": "ftp://example.com", "secret": "short"})
    assert refused.status == 422 and set(refused.json()["error_details"]) == {"url", "secret"}


def test_two_hundred_async_edits_all_end_done_and_reach_a_receiver_that_fails_twice_first(
    stack: RunningStack,
) -> None:
    secret = "webhook-secret-for-e2e-0123456789"
    with LocalHTTPServer() as images, WebhookReceiver(secret, fail_first=2) as receiver:
        images.add("/one.png", body=png((16, 16)))
        data(request("PUT", f"{stack.base_url}/v1/account/webhook", {"url": receiver.url, "secret": secret}))
        try:

            def submit_one(_: int) -> int:
                body = {"input": images.url("/one.png"), "operations": {}}
                return int(data(request("POST", f"{stack.base_url}/v1/image/edit/async", body))["id"])

            with ThreadPoolExecutor(max_workers=20) as pool:  # 200 submissions, 20 at a time
                ids = set(pool.map(submit_one, range(200)))
            assert len(ids) == 200
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not ids <= receiver.delivered_ids():
                time.sleep(0.5)
        finally:
            request("DELETE", f"{stack.base_url}/v1/account/webhook")
        assert ids <= receiver.delivered_ids(), f"{len(ids - receiver.delivered_ids())} never delivered"
        assert receiver.bad_signatures == 0
        assert receiver.refused == 2
        assert all(receiver.statuses[i] == "DONE" for i in ids)


def test_a_batch_whose_processors_are_killed_midway_still_ends_done_with_every_output(
    stack: RunningStack,
) -> None:
    from tests.e2e.test_every_task_ends import noisy_png, pillow_processes

    bucket = f"killed-{uuid.uuid4().hex[:8]}"
    name = connect_bucket(stack, bucket)
    s3 = customer_s3(stack)
    image = noisy_png((900, 700))  # slow enough to encode that the kill lands mid-image
    for n in range(24):
        s3.put_object(Bucket=bucket, Key=f"in/{n:02d}.png", Body=image)
    accepted = submit(
        stack,
        {
            "input": f"storage://{name}/in/",
            "output": {
                "destination": f"storage://{name}/out/",
                "format": {"type": "png", "compression": "best"},
            },
        },
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = data(request("GET", accepted["result_url"]))["progress"]
        if progress["done"] >= 2:
            break
        time.sleep(0.2)
    assert progress["done"] < 24, "the batch ended before the kill"
    killed = pillow_processes(stack)
    assert killed, "no processor environment found to kill"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    # A killed image's message comes back within a minute (its visibility is its lease's), and the
    # retry takes the image over once the lease has run out.
    ended = wait_ended(accepted["result_url"], 300)
    assert ended["status"] == "DONE", ended["progress"]
    results, errors = every_page(ended)
    assert errors == []
    assert len(results) == 24
    assert keys(stack, bucket, "out/") == [f"out/{n:02d}.png" for n in range(24)]
