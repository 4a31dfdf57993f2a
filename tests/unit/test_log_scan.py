"""The run-wide log scan (tests/support/log_scan.py) finds what it is there to find, and nothing else."""

from __future__ import annotations

import base64
import json

from pixelport.accounts import new_key
from tests.support.log_scan import LogScan, leak_in, remember_secret


def test_a_generated_api_key_in_a_log_line_is_a_leak() -> None:
    line = json.dumps({"level": "INFO", "message": "request refused", "key": new_key()})
    assert leak_in(line) == "an API key"


def test_a_bearer_token_is_a_leak_but_the_public_development_key_is_not() -> None:
    assert leak_in("headers: {'Authorization': 'Bearer some-customer-token-1234'}") == "a bearer token"
    assert leak_in("curl -H 'Authorization: Bearer pixelport-local-development-key'") is None
    assert leak_in('curl -H "Authorization: Bearer $PIXELPORT_LOCAL_API_KEY"') is None


def test_a_credential_field_with_its_value_is_a_leak_but_a_masked_one_is_not() -> None:
    assert leak_in('{"secret_access_key": "wJalrXUtnFEMI/K7MDENG"}') == "a secret_access_key value"
    assert leak_in("SecretAccessKey='abcdefgh1234'") == "a SecretAccessKey value"
    assert leak_in('{"secret_access_key": "****"}') is None
    assert leak_in('{"message": "storage connected", "storage": "images"}') is None


def test_a_remembered_secret_is_found_raw_base64_and_url_encoded() -> None:
    secret = remember_secret("remembered/secret+value-42")
    scan = LogScan()
    scan.scan("a", f"plain {secret}")
    scan.scan("b", "kms " + base64.b64encode(secret.encode()).decode())
    scan.scan("c", "url remembered%2Fsecret%2Bvalue-42")
    scan.scan("d", "nothing here\nnor here")
    assert [leak.split(":")[0] for leak in scan.leaks] == ["a", "b", "c"]
    assert (scan.lines, scan.sources) == (5, 4)
