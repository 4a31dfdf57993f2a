"""SPEC 3: a temporary result's link ends 24 hours after it was written. The template's CloudFront
Function (run here with node, as CloudFront's runtime would) and make run's /tmp/ route judge every
key the same way, at the same instants."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.cloudfront import expired
from local.stack import Stack
from local.template import Template
from pixelport import results

WRITTEN_AT = 1_796_000_000.0
EXPIRES = int(WRITTEN_AT) + results.TMP_LIFETIME_SECONDS
TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
KEYS = [
    f"tmp/{EXPIRES}/{TOKEN}/photo.jpg",
    f"tmp/{EXPIRES}/{TOKEN}/caf%C3%A9.webp",
    f"tmp/{TOKEN}/photo.jpg",  # written before expiries were in keys: left to the lifecycle rule
    f"tmp/{EXPIRES}/{TOKEN}/a/b.jpg",  # not a key this service writes
    "tmp/soon/x/photo.jpg",
]
MOMENTS = [WRITTEN_AT, EXPIRES - 1, EXPIRES - 0.001, EXPIRES, EXPIRES + 3600]


def function_code() -> str:
    props = Template().resources["ResultsExpiryFunction"]["Properties"]
    assert props["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    return str(props["FunctionCode"])


def run_function(uri: str, now: float) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is needed to run the template's CloudFront Function"
    harness = (
        function_code()
        + f"\nDate.now = function () {{ return {now * 1000!r}; }};\n"
        + f"console.log(JSON.stringify(handler({{request: {{uri: {json.dumps(uri)}, headers: {{}}}}}})));\n"
    )
    out = subprocess.run([node, "-e", harness], capture_output=True, text=True, check=True, timeout=30)
    answer: dict[str, Any] = json.loads(out.stdout)
    return answer


@pytest.mark.parametrize("key", KEYS)
def test_the_cloudfront_function_and_make_run_agree_on_every_key_at_every_instant(key: str) -> None:
    for now in MOMENTS:
        answer = run_function("/" + key, now)
        gone = answer.get("statusCode") == 410
        assert gone == expired(key, now), (key, now, answer)
        if not gone:
            assert answer == {"uri": "/" + key, "headers": {}}  # the request goes on unchanged


def test_a_link_works_until_24_hours_after_writing_and_not_after() -> None:
    key = results.tmp_key("photo.jpg", written_at=WRITTEN_AT)
    assert not expired(key, WRITTEN_AT + results.TMP_LIFETIME_SECONDS - 1)
    assert expired(key, WRITTEN_AT + results.TMP_LIFETIME_SECONDS)
    assert run_function("/" + key, WRITTEN_AT + results.TMP_LIFETIME_SECONDS)["statusCode"] == 410


def test_the_lifecycle_rule_cleans_up_no_earlier_than_the_links_end() -> None:
    bucket = Template().resources["ResultsBucket"]["Properties"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Prefix"] == results.TMP_PREFIX
    assert rule["ExpirationInDays"] * 86400 >= results.TMP_LIFETIME_SECONDS


@mock_aws
def test_make_runs_tmp_route_serves_a_result_until_its_expiry_then_410() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="results")
    clock = [WRITTEN_AT]
    stack = Stack(port=0, api_key="k", clock=lambda: clock[0])
    stack.s3, stack.results_bucket = s3, "results"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(results, "now", lambda: WRITTEN_AT)
        url = results.store_tmp(
            s3, bucket="results", base_url="http://x", name="photo.jpg", data=b"jpeg", mime="image/jpeg"
        )["tmp_url"]
    key = url.removeprefix("http://x/")
    served = stack._serve_result(key)
    assert served.status == 200 and served.body == b"jpeg"
    assert served.headers["Expires"] == "Tue, 01 Dec 2026 00:53:20 GMT"  # no cache keeps it longer
    # As the distribution's response headers policy: a page on another origin may read the bytes.
    assert served.headers["Access-Control-Allow-Origin"] == "*"
    clock[0] = EXPIRES
    assert stack._serve_result(key).status == 410
