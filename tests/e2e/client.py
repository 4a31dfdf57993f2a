"""A tiny HTTP client for the end-to-end tests (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

DEFAULT_KEY = "pixelport-local-development-key"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    body: Any = None,
    *,
    key: str | None = DEFAULT_KEY,
    raw: bytes | None = None,
    timeout: float = 60,
) -> Answer:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Answer(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def edit(base_url: str, body: Any, **kwargs: Any) -> Answer:
    return request("POST", f"{base_url}/v1/image/edit", body, **kwargs)


def fetch(url: str) -> bytes:
    return request("GET", url, key=None).body


__all__ = ["Answer", "edit", "fetch", "request"]
