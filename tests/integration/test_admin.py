"""`python -m pixelport.admin` against the template's accounts table (moto): the key printed once,
listed without secrets, revoked; an account's limits set and dropped."""

from __future__ import annotations

import re

import pytest

from local.resources import LocalNames
from pixelport.admin import main
from tests.support.keys import account_store, get_unknown_task


def admin(aws: LocalNames, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--table", aws.table("AccountsTable"), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_created_key_is_printed_once_and_opens_its_scopes(
    aws: LocalNames, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = admin(
        aws, capsys, "keys", "create", "--account", "acme", "--scopes", "image_editing", "--name", "ci"
    )
    assert code == 0
    key = re.search(r"^key: (\S+)$", out, re.MULTILINE)
    assert key is not None
    assert get_unknown_task(key.group(1))["statusCode"] == 404  # authenticated, no such task

    code, listed, _ = admin(aws, capsys, "keys", "list", "--account", "acme")
    assert code == 0
    assert key.group(1) not in listed
    pattern = r"^key_[0-9a-f]{16}  account=acme  name=ci  scopes=image_editing  created \S+$"
    assert re.search(pattern, listed, re.MULTILINE)


def test_revoke_by_key_id_marks_the_key_revoked(aws: LocalNames, capsys: pytest.CaptureFixture[str]) -> None:
    admin(aws, capsys, "keys", "create", "--account", "acme", "--scopes", "storage")
    key_id = account_store(aws).keys("acme")[0].key_id
    code, out, _ = admin(aws, capsys, "keys", "revoke", key_id)
    assert code == 0 and "revoked" in out
    assert account_store(aws).keys("acme")[0].revoked
    _, listed, _ = admin(aws, capsys, "keys", "list")
    assert re.search(rf"^{key_id} .* revoked \S+$", listed, re.MULTILINE)


@pytest.mark.parametrize(
    "argv",
    [
        ("keys", "revoke", "key_0000000000000000"),
        ("keys", "create", "--account", "acme", "--scopes", "admin"),
        ("keys", "create", "--account", "no spaces", "--scopes", "storage"),
        ("accounts", "set-limits", "--account", "acme", "--limits", "120 per minute"),
    ],
    ids=["unknown-key-id", "unknown-scope", "bad-account", "bad-limits"],
)
def test_a_bad_request_is_an_error_message_and_exit_code_2(
    aws: LocalNames, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, _, err = admin(aws, capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err


def test_an_accounts_limits_are_set_listed_and_dropped(
    aws: LocalNames, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = admin(
        aws, capsys, "accounts", "set-limits", "--account", "acme", "--limits", "20;w=1, 600;w=60"
    )
    assert code == 0
    _, listed, _ = admin(aws, capsys, "accounts", "list")
    assert "acme: 600;w=60, 20;w=1" in listed
    admin(aws, capsys, "accounts", "set-limits", "--account", "acme", "--default")
    assert account_store(aws).limits_of("acme") is None
