"""Keys, scopes and rate limits over HTTP against `make run`'s stack, with keys made by the admin tool
(`python -m pixelport.admin --local`): two accounts, a storage-only key, revocation within the key
cache time, the default limits shared by the API function's processes; and no key in any log line."""

from __future__ import annotations

import io
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.client import DEFAULT_KEY, Answer, request
from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.support.http_server import LocalHTTPServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
KEY_CACHE_SECONDS = 1.0
UNKNOWN_TASK = "/v1/image/edit/async/1"  # an image route that answers at once: 404 past the gate
CREATED_KEYS: list[str] = []


@pytest.fixture(scope="module")
def keyed() -> Iterator[RunningStack]:
    """A stack of its own: the default rate limits, a 1 s key cache; at the end, its whole output is
    searched for every key used."""
    running = start_stack(
        {
            "PIXELPORT_ALLOWED_SOURCE_NETWORKS": "127.0.0.0/8",
            "PIXELPORT_LOCAL_RATE_LIMITS": "",
            "PIXELPORT_KEY_CACHE_SECONDS": str(KEY_CACHE_SECONDS),
        }
    )
    try:
        yield running
    finally:
        code = stop_stack(running)
    assert code == 0
    assert CREATED_KEYS, "the tests made keys"
    # make run prints its own key in its banner, by design; no log line holds any key.
    lines = [line for line in running.output if not line.lstrip().startswith(("API key:", "try:"))]
    assert any("request refused" in line for line in lines), "the functions' log lines were collected"
    for key in [*CREATED_KEYS, DEFAULT_KEY]:
        leaking = [line for line in lines if key in line]
        assert not leaking, leaking[:3]


def admin(stack: RunningStack, *argv: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "layers" / "core"),
        "PIXELPORT_MOTO_PORT": stack.moto_endpoint.rsplit(":", 1)[-1],
    }
    done = subprocess.run(
        [sys.executable, "-m", "pixelport.admin", "--local", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def create_key(stack: RunningStack, account: str, scopes: str = "image_editing,storage") -> tuple[str, str]:
    """(key, key id) of a new key made by the admin tool."""
    out = admin(stack, "keys", "create", "--account", account, "--scopes", scopes)
    key = re.search(r"^key: (\S+)$", out, re.MULTILINE)
    key_id = re.search(r"^(key_[0-9a-f]+) ", out, re.MULTILINE)
    assert key and key_id, out
    CREATED_KEYS.append(key.group(1))
    return key.group(1), key_id.group(1)


def get_unknown_task(stack: RunningStack, key: str) -> Answer:
    return request("GET", f"{stack.base_url}{UNKNOWN_TASK}", key=key)


def at_least_left_in_minute(seconds: float) -> None:
    """Wait for the next minute when fewer than `seconds` are left in this one (fixed windows)."""
    now = time.time()
    if 60 - now % 60 < seconds:
        time.sleep(60 - now % 60 + 0.05)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), "orange").save(out, "PNG")
    return out.getvalue()


def test_two_accounts_each_see_only_their_own_tasks(keyed: RunningStack) -> None:
    (alice, _), (bob, _) = create_key(keyed, "alice"), create_key(keyed, "bob")
    ids = {}
    for name, key in (("alice", alice), ("bob", bob)):
        body = {"input": "https://images.example.test/a.png", "operations": {}}
        answer = request("POST", f"{keyed.base_url}/v1/image/edit/async", body, key=key)
        assert answer.status == 200, answer.body
        ids[name] = answer.json()["data"]["id"]

    def read(task_id: int, key: str) -> int:
        return request("GET", f"{keyed.base_url}/v1/image/edit/async/{task_id}", key=key).status

    assert (read(ids["alice"], alice), read(ids["bob"], bob)) == (200, 200)
    assert (read(ids["alice"], bob), read(ids["bob"], alice)) == (404, 404)


def test_a_storage_only_key_is_403_on_image_edit_and_opens_the_storage_routes(keyed: RunningStack) -> None:
    key, _ = create_key(keyed, "archiver", scopes="storage")
    refused = request("POST", f"{keyed.base_url}/v1/image/edit", {"input": "https://x.test/a.png"}, key=key)
    assert refused.status == 403
    assert refused.json()["error_code"] == "112"
    assert refused.headers["x-request-id"]
    assert request("GET", f"{keyed.base_url}/v1/storage/storages", key=key).status == 200


def test_a_revoked_key_is_401_within_the_key_cache_time(keyed: RunningStack) -> None:
    key, key_id = create_key(keyed, "leaver")
    assert get_unknown_task(keyed, key).status == 404
    admin(keyed, "keys", "revoke", key_id)
    revoked_at = time.monotonic()
    while (answer := get_unknown_task(keyed, key)).status != 401:
        assert time.monotonic() - revoked_at < KEY_CACHE_SECONDS + 2, answer.status
        time.sleep(0.3)  # within the default 4 per second
    assert answer.json()["error_code"] == "111"
    assert "ratelimit-remaining" not in answer.headers


def test_the_121st_request_of_a_minute_is_429_with_remaining_minus_one(keyed: RunningStack) -> None:
    key, _ = create_key(keyed, "busy")
    admin(keyed, "accounts", "set-limits", "--account", "busy", "--limits", "120;w=60, 1000;w=1")
    at_least_left_in_minute(30)
    started = time.time()
    answers = [get_unknown_task(keyed, key) for _ in range(130)]
    assert math.floor(started / 60) == math.floor(time.time() / 60), "the requests spanned two minutes"

    assert [a.status for a in answers] == [404] * 120 + [429] * 10
    assert answers[119].headers["ratelimit-remaining"] == "0"
    refused = answers[120]
    assert refused.headers["ratelimit-remaining"] == "-1"
    assert refused.headers["ratelimit-limit"] == "120, 120;w=60, 1000;w=1"
    assert 1 <= int(refused.headers["ratelimit-reset"]) <= 60
    assert refused.json()["detail"]["error_code"] == "2001"


def test_the_5th_request_in_one_second_is_429_and_another_account_is_unaffected(keyed: RunningStack) -> None:
    (first, _), (second, _) = create_key(keyed, "first"), create_key(keyed, "second")
    for _attempt in range(5):
        time.sleep(1 - time.time() % 1 + 0.01)  # at the start of a second
        started = time.time()
        answers = [get_unknown_task(keyed, first) for _ in range(5)]
        other = get_unknown_task(keyed, second)
        if math.floor(time.time()) == math.floor(started):
            break
        time.sleep(1.1)  # the burst spanned two seconds: try again in fresh windows
    else:
        pytest.fail("five requests never fitted in one second")
    assert [a.status for a in answers] == [404, 404, 404, 404, 429]
    assert answers[4].headers["ratelimit-limit"] == "120, 120;w=60, 4;w=1"
    assert answers[4].headers["ratelimit-remaining"] == "-1"
    assert other.status == 404
    assert other.headers["ratelimit-remaining"] == "3"


def test_the_count_is_shared_by_concurrent_api_function_processes(keyed: RunningStack) -> None:
    """Three requests allowed of four sent together, the three running at the same time: an
    environment serves one invocation at a time, so they ran in three processes, and one count."""
    key, _ = create_key(keyed, "shared")
    admin(keyed, "accounts", "set-limits", "--account", "shared", "--limits", "3;w=60, 1000;w=1")
    with LocalHTTPServer() as images:
        images.add("/slow.png", body=png(), delay=2.0)
        body = {"input": images.url("/slow.png"), "operations": {}}

        def timed() -> tuple[float, float, Answer]:
            start = time.monotonic()
            answer = request("POST", f"{keyed.base_url}/v1/image/edit", body, key=key)
            return start, time.monotonic(), answer

        at_least_left_in_minute(20)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: timed(), range(4)))

    statuses = sorted(answer.status for _, _, answer in results)
    assert statuses == [200, 200, 200, 429], [a.body[:200] for _, _, a in results]
    allowed = [(start, end) for start, end, answer in results if answer.status == 200]
    assert max(start for start, _ in allowed) < min(end for _, end in allowed), "they did not overlap"
    assert images.request_count == 3
