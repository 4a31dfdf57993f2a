"""Connected storage against `make run` (`python -m local`) over HTTP.

Stand-ins, all on loopback:
- the customer's S3 bucket: a bucket in the stack's own moto (127.0.0.1:$PIXELPORT_MOTO_PORT), made with
  the customer's own access keys, as the README's walk-through does. That moto does not check keys.
- the GCS-compatible endpoint: a second moto server, started with IAM authentication on, so it checks
  every request's HMAC signature against the keys the customer created there: wrong or deleted keys are
  refused, as GCS would refuse them. moto speaks S3's XML API, which is GCS's interoperability API.
- the web folder: a loopback HTTP server (the stack opens 127.0.0.0/8 for it).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from PIL import Image

from local.stack import free_port
from tests.e2e.client import Answer, edit, request
from tests.e2e.conftest import TRACEBACK, RunningStack, start_stack, stop_stack
from tests.e2e.readme import run_readme_block
from tests.support.http_server import LocalHTTPServer
from tests.support.log_scan import remember_secret

pytestmark = pytest.mark.e2e

CUSTOMER_S3_KEYS = {
    "aws_access_key_id": "AKIACUSTOMERLOCAL",
    "aws_secret_access_key": remember_secret("customer-local-secret"),
}
# Requests moto answers before it starts checking keys: the customer's IAM user, its policy, its key.
SETUP_ACTIONS = 3


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.radial_gradient("L").resize(size).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (30, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@dataclass
class CustomerCloud:
    """The GCS-compatible endpoint and the customer's user there."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def client(self, service: str, keys: dict[str, str]) -> Any:
        client: Any = boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys["aws_access_key_id"],
            aws_secret_access_key=keys["aws_secret_access_key"],
        )
        return client

    def new_key(self, keys: dict[str, str]) -> dict[str, str]:
        made = self.client("iam", keys).create_access_key(UserName="customer")["AccessKey"]
        secret = remember_secret(made["SecretAccessKey"])
        return {"aws_access_key_id": made["AccessKeyId"], "aws_secret_access_key": secret}


@pytest.fixture(scope="module")
def cloud() -> Iterator[tuple[CustomerCloud, dict[str, str]]]:
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_ACTIONS)}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cloud = CustomerCloud(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                request("GET", f"{cloud.endpoint}/moto-api/", key=None, timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        anonymous = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
        iam = cloud.client("iam", anonymous)
        iam.create_user(UserName="customer")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="customer", PolicyName="all", PolicyDocument=json.dumps(policy))
        made = iam.create_access_key(UserName="customer")["AccessKey"]
        secret = remember_secret(made["SecretAccessKey"])
        keys = {"aws_access_key_id": made["AccessKeyId"], "aws_secret_access_key": secret}
        gcs = cloud.client("s3", keys)
        gcs.create_bucket(Bucket="gcs-bucket")
        gcs.put_object(Bucket="gcs-bucket", Key="assets/in/a.png", Body=png())
        yield cloud, keys
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def storage_stack(cloud: tuple[CustomerCloud, dict[str, str]]) -> Iterator[RunningStack]:
    running = start_stack(
        {"PIXELPORT_ALLOWED_SOURCE_NETWORKS": "127.0.0.0/8", "PIXELPORT_GCS_ENDPOINT": cloud[0].endpoint}
    )
    yield running
    assert stop_stack(running) == 0, "".join(running.output[-40:])
    assert TRACEBACK not in "".join(running.output), "".join(running.output[-80:])


def customer_s3(stack: RunningStack) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=stack.moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=CUSTOMER_S3_KEYS["aws_access_key_id"],
        aws_secret_access_key=CUSTOMER_S3_KEYS["aws_secret_access_key"],
    )


def data(answer: Answer) -> Any:
    assert answer.status == 200, answer.body
    return answer.json()["data"]


def connect(stack: RunningStack, body: dict[str, Any]) -> dict[str, Any]:
    return dict(data(request("POST", f"{stack.base_url}/v1/storage/storages", body)))


def bucket_storage(name: str, kind: str, bucket: str, path: str, keys: dict[str, str]) -> dict[str, Any]:
    credentials = {
        "access_key": keys["aws_access_key_id"],
        "secret_access_key": keys["aws_secret_access_key"],
    }
    return {
        "name": name,
        "type": kind,
        "parameters": {"bucket": bucket, "path": path, "credentials": credentials},
    }


def opened(client: Any, bucket: str, key: str) -> Image.Image:
    return Image.open(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_make_run_prints_its_moto_endpoint(storage_stack: RunningStack) -> None:
    deadline = time.monotonic() + 5
    while not any(storage_stack.moto_endpoint in line for line in storage_stack.output):
        assert time.monotonic() < deadline, "".join(storage_stack.output)
        time.sleep(0.1)


def test_each_storage_type_connected_used_renamed_rotated_and_deleted(
    storage_stack: RunningStack, cloud: tuple[CustomerCloud, dict[str, str]]
) -> None:
    stack, (customer_cloud, gcs_keys) = storage_stack, cloud
    base = f"{stack.base_url}/v1/storage/storages"
    s3 = customer_s3(stack)
    s3.create_bucket(Bucket="customer-bucket")
    s3.put_object(Bucket="customer-bucket", Key="catalogue/in/Photo ü.jpg", Body=jpeg())
    assert data(request("GET", f"{stack.base_url}/v1/storage/storage-types")) == ["web_folder", "s3", "gcs"]

    with LocalHTTPServer() as web:
        web.add("/web/pics/w.png", body=png((12, 8)))
        shop = connect(stack, bucket_storage("shop", "s3", "customer-bucket", "catalogue", CUSTOMER_S3_KEYS))
        gstore = connect(stack, bucket_storage("gstore", "gcs", "gcs-bucket", "assets", gcs_keys))
        folder = connect(
            stack, {"name": "web", "type": "web_folder", "parameters": {"base_url": web.url("/web")}}
        )

        # Inputs from each type; outputs to S3 and GCS, as a folder and as a file.
        out = data(
            edit(
                stack.base_url,
                {"input": "storage://shop/in/Photo ü.jpg", "operations": {}, "output": "storage://shop/out/"},
            )
        )
        assert out["output"]["object_key"] == "catalogue/out/Photo ü.jpg"
        assert opened(s3, "customer-bucket", "catalogue/out/Photo ü.jpg").size == (64, 48)
        out = data(
            edit(
                stack.base_url,
                {
                    "input": "storage://shop/in/Photo ü.jpg",
                    "operations": {},
                    "output": "storage://shop/out/x.png",
                },
            )
        )
        assert opened(s3, "customer-bucket", "catalogue/out/x.png").format == "PNG"
        gcs = customer_cloud.client("s3", gcs_keys)
        out = data(
            edit(
                stack.base_url,
                {"input": "storage://gstore/in/a.png", "operations": {}, "output": "storage://gstore/out/"},
            )
        )
        assert out["output"]["object_uri"] == "storage://gstore/out/a.jpg"
        assert opened(gcs, "gcs-bucket", "assets/out/a.jpg").format == "JPEG"
        data(
            edit(
                stack.base_url,
                {
                    "input": "storage://gstore/in/a.png",
                    "operations": {},
                    "output": "storage://gstore/out/b.webp",
                },
            )
        )
        assert opened(gcs, "gcs-bucket", "assets/out/b.webp").format == "WEBP"
        out = data(
            edit(
                stack.base_url,
                {"input": "storage://web/pics/w.png", "operations": {}, "output": "storage://shop/from-web/"},
            )
        )
        assert out["input"]["width"] == 12 and out["output"]["object_key"] == "catalogue/from-web/w.jpg"
        read_only = edit(
            stack.base_url,
            {"input": "storage://web/pics/w.png", "operations": {}, "output": "storage://web/x/"},
        )
        assert read_only.status == 422 and "output.destination" in read_only.json()["error_details"]

    # List: no credentials at all; the detailed form shows the access key only.
    listing = request("GET", base)
    assert sorted(s["name"] for s in data(listing)) == ["gstore", "shop", "web"]
    assert b"credentials" not in listing.body and b"customer-local-secret" not in listing.body
    shown = data(request("GET", f"{base}/{gstore['id']}"))
    assert shown["parameters"]["credentials"] == {"access_key": gcs_keys["aws_access_key_id"]}

    # Rename.
    renamed = data(request("PATCH", f"{base}/{shop['id']}", {"name": "shop2"}))
    assert renamed["name"] == "shop2"
    assert edit(stack.base_url, {"input": "storage://shop/in/Photo ü.jpg", "operations": {}}).status == 422
    data(edit(stack.base_url, {"input": "storage://shop2/in/Photo ü.jpg", "operations": {}}))

    # Rotate: the customer makes a new key and deletes the old one, which then stops working.
    new_keys = customer_cloud.new_key(gcs_keys)
    customer_cloud.client("iam", new_keys).delete_access_key(
        UserName="customer", AccessKeyId=gcs_keys["aws_access_key_id"]
    )
    refused = edit(stack.base_url, {"input": "storage://gstore/in/a.png", "operations": {}})
    assert (refused.status, refused.json()["error_code"]) == (400, "4021")
    assert gcs_keys["aws_secret_access_key"] not in refused.body.decode()
    rotated = {
        "access_key": new_keys["aws_access_key_id"],
        "secret_access_key": new_keys["aws_secret_access_key"],
    }
    data(request("PATCH", f"{base}/{gstore['id']}", {"parameters": {"credentials": rotated}}))
    data(
        edit(
            stack.base_url,
            {
                "input": "storage://gstore/in/a.png",
                "operations": {},
                "output": "storage://gstore/rotated.png",
            },
        )
    )
    assert opened(customer_cloud.client("s3", new_keys), "gcs-bucket", "assets/rotated.png").format == "PNG"

    # Delete: disconnected, the buckets untouched; a request naming a deleted storage is 422.
    for storage in (renamed, gstore, folder):
        data(request("DELETE", f"{base}/{storage['id']}"))
    assert data(request("GET", base)) == []
    gone = edit(stack.base_url, {"input": "storage://gstore/in/a.png", "operations": {}})
    assert (gone.status, gone.json()["error_code"]) == (422, "9000")
    assert gone.json()["error_details"] == {"input": ["storage 'gstore' is not connected to this account"]}
    assert s3.head_object(Bucket="customer-bucket", Key="catalogue/out/x.png")["ContentLength"] > 0


# The seed page's examples, verbatim: its input, and each of its outputs naming storage-name.
SEED_INPUT = "storage://storage-name/path/image-name.jpg"
SEED_OUTPUTS: list[Any] = [
    "storage://storage-name/result-path/image-name.jpg",
    {
        "destination": "storage://storage-name/result-path/image-name.jpg",
        "format": "jpeg",
        "metadata": {"dpi": 300, "color_space": {"type": "CMYK", "color_profile": "ISO_Coated"}},
    },
    {
        "destination": "storage://storage-name/result-path/image-name.jpg",
        "format": {"type": "jpeg", "quality": 85, "progressive": True},
    },
    {"destination": "storage://storage-name/result-path/image-name.jpg", "metadata": {"color_space": "RGB"}},
    {
        "destination": "storage://storage-name/result-path/image-name.jpg",
        "metadata": {"color_space": {"type": "CMYK", "color_profile": "ISO_Coated"}},
    },
]


def test_every_seed_example_naming_storage_name_works_verbatim(storage_stack: RunningStack) -> None:
    stack = storage_stack
    s3 = customer_s3(stack)
    s3.create_bucket(Bucket="my-images")
    s3.put_object(Bucket="my-images", Key="path/image-name.jpg", Body=jpeg((80, 60)))
    storage = connect(stack, bucket_storage("storage-name", "s3", "my-images", "", CUSTOMER_S3_KEYS))
    try:
        modes = []
        for output in SEED_OUTPUTS:
            out = data(edit(stack.base_url, {"input": SEED_INPUT, "operations": {}, "output": output}))
            assert out["output"]["object_uri"] == "storage://storage-name/result-path/image-name.jpg"
            assert (out["output"]["object_bucket"], out["output"]["object_key"]) == (
                "my-images",
                "result-path/image-name.jpg",
            )
            image = opened(s3, "my-images", "result-path/image-name.jpg")
            assert (image.format, image.size) == ("JPEG", (80, 60))
            modes.append(image.mode)
        assert modes == ["RGB", "CMYK", "RGB", "RGB", "CMYK"]
    finally:
        data(request("DELETE", f"{stack.base_url}/v1/storage/storages/{storage['id']}"))


def test_the_readme_storage_walk_through_runs_verbatim(stack: RunningStack, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    stdout = run_readme_block(
        "storage-walkthrough",
        stack,
        tmp_path,
        replacements={"http://127.0.0.1:5000": stack.moto_endpoint},
        env=env,
        timeout=120,
    )
    connected, edited, content_type = stdout.strip().splitlines()
    storage = json.loads(connected)["data"]
    try:
        assert storage["parameters"]["credentials"] == {"access_key": "customer-key"}
        assert json.loads(edited)["data"]["output"]["object_uri"] == (
            "storage://storage-name/result-path/image-name.jpg"
        )
        assert content_type == "image/jpeg"
    finally:
        data(request("DELETE", f"{stack.base_url}/v1/storage/storages/{storage['id']}"))
