"""The whole test run's log lines searched for keys, secrets and storage credentials.

`tests/conftest.py` feeds it what every test printed and logged (pytest's capture of each test) and
the whole output of every local stack the e2e tests started, and fails the run on a leak. It looks for:
- every API key pixelport makes (`pxp_` + 43 characters) and every value a test remembered as secret
  (`remember_secret`: test keys, storage credentials, webhook secrets), raw, base64 and URL-encoded;
- a bearer token or a credential field written with its value.
The development key of `make run` is public (README) and is printed in its banner by design."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from local.stack import DEFAULT_LOCAL_API_KEY

GENERATED_KEY = re.compile(r"pxp_[A-Za-z0-9_-]{40,}")
BEARER = re.compile(r"Bearer\s+([A-Za-z0-9._~+/=-]{8,})")
CREDENTIAL_FIELD = re.compile(
    r"""["']?(secret_access_key|SecretAccessKey|aws_secret_access_key|webhook_secret|private_key)["']?"""
    r"""\s*[:=]\s*["']([^"'*\s][^"']{3,})["']"""
)
PUBLIC = frozenset({DEFAULT_LOCAL_API_KEY})
_remembered: set[str] = set()


def remember_secret(value: str) -> str:
    """Marks `value` as a secret no log line may hold; returns it."""
    if len(value) >= 6:  # shorter values ("s2") would match innocent text
        _remembered.add(value)
    return value


def forms(secret: str) -> list[str]:
    """The secret as it could appear in a log: raw, base64 (as KMS requests carry it), URL-encoded."""
    return [secret, base64.b64encode(secret.encode()).decode(), quote(secret, safe="")]


@dataclass
class LogScan:
    lines: int = 0
    sources: int = 0
    leaks: list[str] = field(default_factory=list)

    def scan(self, source: str, text: str, extra_secrets: Iterable[str] = ()) -> None:
        if not text:
            return
        self.sources += 1
        needles = [form for secret in (*_remembered, *extra_secrets) for form in forms(secret)]
        for line in text.splitlines():
            self.lines += 1
            found = leak_in(line, needles)
            if found:
                self.leaks.append(f"{source}: {found}: {line[:300]}")


def leak_in(line: str, needles: Iterable[str] = ()) -> str | None:
    """What secret the line holds, named by kind (never the value), or None."""
    if GENERATED_KEY.search(line):
        return "an API key"
    bearer = BEARER.search(line)
    if bearer and bearer.group(1) not in PUBLIC and "$" not in bearer.group(1):
        return "a bearer token"
    field_match = CREDENTIAL_FIELD.search(line)
    if field_match and field_match.group(2) not in PUBLIC:
        return f"a {field_match.group(1)} value"
    for needle in needles:
        if needle in line:
            return "a remembered secret"
    return None
