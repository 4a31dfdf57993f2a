"""Under SnapStart the API's and the processor's warm-ups run before the snapshot, not in the import,
and leave what their first requests would otherwise make (README "Cold start"): the clients, the
request models and, in the processor, every codec. They call no service (a connection in a snapshot
would be stale in every environment restored from it); botocore reads Lambda's credentials endpoint.
Each handler runs in a fresh interpreter with the template's environment, its hooks run as the
Lambda runtime runs them."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from tests.support.handler_process import run_handler_child

CHILD = """
import http.server, json, os, socket, sys, threading
sys.path[:0] = {paths!r}

class Credentials(http.server.BaseHTTPRequestHandler):
    # Lambda's credentials endpoint for SnapStart functions (instead of keys in the environment).
    def do_GET(self):
        assert self.headers["Authorization"] == "snapstart-token"
        body = json.dumps({{"AccessKeyId": "local", "SecretAccessKey": "local", "Token": "local",
                            "Expiration": "2099-01-01T00:00:00Z"}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

endpoint = http.server.HTTPServer(("127.0.0.1", 0), Credentials)
threading.Thread(target=endpoint.serve_forever, daemon=True).start()
os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = f"http://127.0.0.1:{{endpoint.server_port}}/credentials"
os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "snapstart-token"
connects, credential_reads = [], []
connect = socket.socket.connect
def refuse(self, address):
    if address == ("127.0.0.1", endpoint.server_port):
        credential_reads.append(address)
        return connect(self, address)
    connects.append(repr(address))
    raise OSError("no connection may be made before a snapshot")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
import app
imported = sorted(sys.modules)
import snapshot_restore_py
from tests.support.snapstart import take_snapshot
hooks = take_snapshot()
from pixelport import aws
from pixelport.contract.edit import EditRequest, UploadEdit
makers = ("s3", "dynamodb", "kms", "sqs", "lambda_", "lambda_runner")
print(json.dumps({{
    "hooks": hooks,
    "imported": imported,
    "warmed": sorted(sys.modules),
    "clients": [n for n in makers if getattr(aws, n).cache_info().currsize],
    "models_built": EditRequest.__pydantic_complete__ and UploadEdit.__pydantic_complete__,
    "after_restore": len(snapshot_restore_py.get_after_restore()),
    "connects": connects,
    "credential_reads": len(credential_reads),
}}))
"""
# Loaded by the processor's first request of some kind, and by its warm-up before the snapshot.
CODECS = {
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
    "PIL.WebPImagePlugin",
    "PIL.AvifImagePlugin",
    "PIL.TiffImagePlugin",
    "PIL.ImageCms",
    "pixelport.imaging.png_writer",
    "numpy",
    "pillow_heif",
}


@cache
def warmed_under_snapstart(function: str) -> tuple[dict[str, Any], str]:
    return run_handler_child(function, CHILD, AWS_LAMBDA_INITIALIZATION_TYPE="snap-start")


@pytest.mark.parametrize("function", ["api", "processor"])
def test_the_warm_up_is_registered_for_the_snapshot_and_left_out_of_the_import(function: str) -> None:
    found, _ = warmed_under_snapstart(function)
    assert found["hooks"] == 1 and found["after_restore"] == 1
    assert not {m for m in found["imported"] if m.split(".")[0] in ("numpy", "oxipng")}
    assert "PIL.AvifImagePlugin" not in found["imported"]


@pytest.mark.parametrize("function", ["api", "processor"])
def test_the_warm_up_calls_no_service_and_does_not_fail(function: str) -> None:
    found, output = warmed_under_snapstart(function)
    assert found["connects"] == []
    # botocore reads the credentials once, from Lambda's own endpoint, for every client it makes.
    assert found["credential_reads"] == 1
    assert "the warm-up failed" not in output


def test_the_api_warm_up_makes_its_clients_and_models_and_still_never_imports_pillow() -> None:
    found, _ = warmed_under_snapstart("api")
    assert found["clients"] == ["s3", "dynamodb", "kms", "sqs", "lambda_", "lambda_runner"]
    assert found["models_built"]
    assert not {m for m in found["warmed"] if m == "PIL" or m.startswith(("PIL.", "pixelport.imaging"))}


def test_the_processor_warm_up_makes_its_clients_and_models_and_loads_every_codec() -> None:
    found, _ = warmed_under_snapstart("processor")
    assert found["clients"] == ["s3", "dynamodb", "kms", "sqs"]
    assert found["models_built"]
    assert set(found["warmed"]) >= CODECS
