"""A webhook receiver on loopback: checks both signatures of every delivery (as the README explains),
records each delivered task's status, and can refuse its first deliveries with HTTP 500."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


def valid(secret: str, body: bytes, headers: Any) -> bool:
    """The README's verification: either signature, compared in constant time."""
    key = secret.encode()
    by_body = hmac.new(key, body, hashlib.sha256).hexdigest()
    timestamp = headers.get("X-Pixelport-Timestamp", "")
    by_time = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(by_body, headers.get("X-Pixelport-Hmac-SHA256", "")) and hmac.compare_digest(
        by_time, headers.get("X-Pixelport-Signature", "")
    )


class WebhookReceiver:
    def __init__(self, secret: str, *, fail_first: int = 0):
        self.secret = secret
        self.fail_first = fail_first
        self.refused = 0
        self.bad_signatures = 0
        self.deliveries = 0
        self.statuses: dict[int, str] = {}
        self.payloads: dict[int, dict[str, Any]] = {}
        # (X-Pixelport-Delivery, the body's id) of every delivery, refused ones included, in order.
        self.delivery_ids: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._take(body, self.headers)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _take(self, body: bytes, headers: Any) -> int:
        with self.lock:
            self.deliveries += 1
            event_id = int(json.loads(body)["data"]["id"])
            self.delivery_ids.append((headers.get("X-Pixelport-Delivery", ""), event_id))
            if self.refused < self.fail_first:
                self.refused += 1
                return 500
            if not valid(self.secret, body, headers):
                self.bad_signatures += 1
                return 401
            payload = json.loads(body)["data"]
            self.statuses[int(payload["id"])] = str(payload["status"])
            self.payloads[int(payload["id"])] = payload
            return 204

    def delivered_ids(self) -> set[int]:
        with self.lock:
            return set(self.statuses)

    def __enter__(self) -> WebhookReceiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
