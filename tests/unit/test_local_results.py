"""The gateway's /tmp/... answers (CloudFront's stand-in) read the results bucket from moto in the
stack's own process: the bytes, and the headers S3 would answer with, as the processor stored them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import boto3
import pytest
from moto import mock_aws

from local.stack import Stack
from local.template import Template

BUCKET = "results"
RANDOM = "A" * 22  # the random path segment of a result key


@pytest.fixture
def stack(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        running = Stack(port=0, api_key="test", template=template)
        running.results_bucket = BUCKET
        yield running


def test_a_result_is_answered_with_its_stored_headers(stack: Stack) -> None:
    expiry = int(time.time()) + 3600
    key = f"tmp/{expiry}/{RANDOM}/photo.jpg"
    expires = datetime.fromtimestamp(expiry, UTC)
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=BUCKET,
        Key=key,
        Body=b"jpeg bytes",
        ContentType="image/jpeg",
        CacheControl="public, immutable",
        Expires=expires,
        ContentDisposition='inline; filename="photo.jpg"',
    )
    answer = stack._serve_result(key)
    assert (answer.status, answer.body) == (200, b"jpeg bytes")
    assert answer.headers["Content-Type"] == "image/jpeg"
    assert answer.headers["Cache-Control"] == "public, immutable"
    assert answer.headers["Content-Disposition"] == 'inline; filename="photo.jpg"'
    assert answer.headers["Expires"] == format_datetime(expires, usegmt=True)
    assert set(stack.results_headers) <= set(answer.headers)  # the distribution's policy headers too


def test_a_missing_result_is_404(stack: Stack) -> None:
    answer = stack._serve_result(f"tmp/{int(time.time()) + 3600}/{RANDOM}/none.jpg")
    assert answer.status == 404


def test_a_missing_bucket_is_404(stack: Stack) -> None:
    stack.results_bucket = "no-such-bucket"
    assert stack._serve_result(f"tmp/{int(time.time()) + 3600}/{RANDOM}/x.jpg").status == 404


def test_an_expired_result_is_410_before_any_read(stack: Stack) -> None:
    assert stack._serve_result(f"tmp/1000000000/{RANDOM}/old.jpg").status == 410
