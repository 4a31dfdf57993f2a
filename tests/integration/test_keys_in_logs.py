"""No API key appears in any log line: every line the handlers write while keys are used, refused,
rate-limited and revoked is collected and searched for the keys and their hashes."""

from __future__ import annotations

import hashlib
import logging

import pytest

from local.resources import LocalNames
from tests.support.clock import Clock
from tests.support.keys import account_store, gate_on, get_unknown_task, new_key
from tests.support.lambdas import api_event, call_api


def test_no_key_or_its_hash_is_in_any_log_line(
    aws: LocalNames, clock: Clock, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="pixelport")
    gate_on(clock)
    full, storage_only = new_key(aws, "logged"), new_key(aws, "logged-too", scopes="storage")
    unknown = "pxp_unknown-key-never-created-0123456789"
    for _ in range(6):  # accepted, then rate-limited
        get_unknown_task(full.key)
    call_api(api_event({"input": "https://x.test/a.png", "operations": {}}, key=storage_only.key))
    get_unknown_task(unknown)
    clock.advance(1)
    call_api(api_event({"input": 3}, path="/v1/image/edit/async", key=full.key))  # a 422
    account_store(aws).revoke_key(full.key_id)
    clock.advance(60)
    get_unknown_task(full.key)

    out, err = capfd.readouterr()
    # Every record with all its fields (Powertools puts `extra=` values on the record, not the message).
    logs = out + err + "\n".join(repr(vars(record)) for record in caplog.records)
    for code in ("111", "112", "2001", "9000"):  # every answer's lines were collected
        assert f'"error_code":"{code}"' in logs.replace(" ", "")
    for key in (full.key, storage_only.key, unknown):
        assert key not in logs
        assert hashlib.sha256(key.encode()).hexdigest() not in logs
