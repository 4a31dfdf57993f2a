"""The local stack (`make run`'s `python -m local`) started in a subprocess, and a loopback image server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.http_server import LocalHTTPServer
from tests.support.running_stack import (
    ROOT,
    TRACEBACK,
    RunningStack,
    around_traceback,
    start_stack,
    stop_stack,
)

__all__ = ["ROOT", "TRACEBACK", "RunningStack", "start_stack", "stop_stack"]


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    """One stack for the e2e session; loopback opened so it can fetch the test image server."""
    # Webhook retries after 1, 2, 4 ... seconds instead of 30, 60, 120 ...: the tests' receivers fail on
    # purpose and should not wait minutes.
    running = start_stack(
        {"PIXELPORT_ALLOWED_SOURCE_NETWORKS": "127.0.0.0/8", "PIXELPORT_WEBHOOK_RETRY_BASE_SECONDS": "1"}
    )
    yield running
    code = stop_stack(running)
    assert code == 0, "".join(running.output[-40:])
    output = "".join(running.output)
    assert TRACEBACK not in output, around_traceback(output)


@pytest.fixture(scope="session")
def image_server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as server:
        yield server
