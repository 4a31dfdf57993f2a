"""The local stand-in for S3's POST policy check (moto stores any POST): what S3 refuses is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.s3_post_policy import PolicyRefused, check

SECRETS = {"local": "local"}
NOW = datetime.now(UTC)  # before any policy made by a test expires


def presigned(**conditions: Any) -> dict[str, str]:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(signature_version="s3v4"),
    )
    post = s3.generate_presigned_post(
        Bucket="ingest",
        Key="uploads/1",
        Fields={"Content-Type": "image/png"},
        Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, 100]],
        ExpiresIn=900,
    )
    return {k.lower(): str(v) for k, v in post["fields"].items()}


def refused(
    fields: dict[str, str], size: int = 50, *, now: datetime = NOW, bucket: str = "ingest"
) -> PolicyRefused:
    with pytest.raises(PolicyRefused) as caught:
        check(fields, size, bucket, secrets=SECRETS, now=now)
    return caught.value


def test_a_post_within_its_policy_passes() -> None:
    check(presigned(), 100, "ingest", secrets=SECRETS, now=NOW)


def test_a_file_over_the_range_is_entity_too_large() -> None:
    assert refused(presigned(), 101).code == "EntityTooLarge"


def test_an_empty_file_is_below_the_range() -> None:
    assert refused(presigned(), 0).code == "EntityTooSmall"


def test_no_file_is_refused() -> None:
    assert refused(presigned(), -1).code == "InvalidArgument"


def test_an_expired_policy_is_refused() -> None:
    fields = presigned()
    assert "expired" in refused(fields, now=datetime.now(UTC) + timedelta(minutes=15, seconds=1)).message


def test_a_changed_field_fails_its_condition() -> None:
    fields = presigned() | {"content-type": "text/html"}
    assert "Policy Condition failed" in refused(fields).message


def test_another_bucket_fails_the_bucket_condition() -> None:
    assert refused(presigned(), bucket="other").code == "AccessDenied"


def test_a_field_no_condition_covers_is_refused() -> None:
    assert "Extra input fields: acl" in refused(presigned() | {"acl": "public-read"}).message


def test_a_rewritten_policy_does_not_match_its_signature() -> None:
    fields = presigned()
    policy = json.loads(base64.b64decode(fields["policy"]))
    policy["conditions"] = [c for c in policy["conditions"] if not isinstance(c, list)]  # drop the size range
    fields["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    assert refused(fields, 10_000).code == "SignatureDoesNotMatch"
