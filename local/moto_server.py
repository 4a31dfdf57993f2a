"""moto's server as `make run` needs it: S3's POST policy check in front (local/s3_post_policy.py),
DynamoDB requests one at a time, HTTP/1.1 keep-alive (local/moto_http.py), and moto's per-request
costs that `make run` can avoid avoided (local/moto_dispatch.py, local/moto_dynamodb_json.py).

moto's DynamoDB is not thread-safe: a read that serialises an item while another request updates it
fails with "dictionary changed size during iteration" (an HTTP 500 and a traceback), and a
conditional write can interleave with another. DynamoDB makes every single-item operation atomic, so
serialising them here is what the real service promises, not a slower imitation of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import create_backend_app
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.sqs.models import sqs_backends
from werkzeug.serving import make_server

from local import moto_dispatch, moto_dynamodb_json, moto_transactions
from local.moto_dispatch import CachedDispatcher
from local.moto_http import KeepAliveMotoHandler
from local.s3_post_policy import PostPolicyEnforcer
from local.wsgi import WsgiApp


class SerializedDynamoDB:
    """WSGI middleware: DynamoDB requests (X-Amz-Target DynamoDB_*) run one at a time, to completion."""

    def __init__(self, app: WsgiApp):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            # The body is produced inside the lock: moto serialises the item while it is iterated.
            return list(self.app(environ, start_response))


def send_in_process(account: str, region: str, queue_name: str, body: str) -> None:
    """A message into one of this process's moto queues without an HTTP round trip, as moto's own S3
    notifications are sent (moto.s3.notifications): the same backend, the same message."""
    sqs_backends[account][region].send_message(queue_name, body)


def read_in_process(account: str, bucket: str, key: str) -> tuple[bytes, dict[str, str]] | None:
    """An object of this process's moto S3 without an HTTP round trip: its bytes and the headers stored
    with it (content-type, cache-control, expires, content-disposition, ..., names in lower case);
    None when the bucket or the key does not exist."""
    try:
        found = s3_backends[account]["aws"].get_object(bucket, key)
    except MissingBucket:
        return None
    if found is None:
        return None
    return found.value, {name.lower(): str(value) for name, value in found.metadata.items()}


class LocalMotoServer(ThreadedMotoServer):
    def __init__(self, ip_address: str, port: int, secrets: dict[str, str]):
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self._secrets = secrets

    def _server_entry(self) -> None:
        # Safe here only: this server runs DynamoDB requests one at a time (SerializedDynamoDB).
        moto_transactions.install()
        moto_dynamodb_json.install()  # answers as moto's, without its per-value model walk
        moto_dispatch.install()  # and its per-request lookups done once
        moto = CachedDispatcher(create_backend_app)
        app = SerializedDynamoDB(PostPolicyEnforcer(moto, self._secrets))
        # Kept-alive connections without Nagle's delay (local/moto_http.py).
        self._server = make_server(
            self._ip_address, self._port, app, threaded=True, request_handler=KeepAliveMotoHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
