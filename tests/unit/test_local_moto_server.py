"""The local moto server's DynamoDB runs one request at a time, as each DynamoDB item operation is
atomic (moto alone races: a read serialising an item while an update changes it fails with a 500)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from local.moto_server import SerializedDynamoDB


class SlowApp:
    """A WSGI app that takes a while per request and records how many ran at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            start_response("200 OK", [])
            time.sleep(0.05)
            yield b"{}"  # produced lazily, as moto's body is
        finally:
            with self.lock:
                self.running -= 1


def run_concurrently(app: Callable[..., Iterable[bytes]], target: str, count: int = 6) -> None:
    def one() -> None:
        list(app({"HTTP_X_AMZ_TARGET": target}, lambda *_: None))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_dynamodb_requests_run_one_at_a_time_body_included() -> None:
    inner = SlowApp()
    run_concurrently(SerializedDynamoDB(inner), "DynamoDB_20120810.GetItem")
    assert inner.most == 1


def test_other_services_are_not_serialised() -> None:
    inner = SlowApp()
    run_concurrently(SerializedDynamoDB(inner), "AmazonSQS.ReceiveMessage")
    assert inner.most > 1
