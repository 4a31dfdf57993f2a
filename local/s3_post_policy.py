"""S3's browser-POST policy, enforced in front of moto, which stores any POST it gets.

The presigned upload route relies on S3 refusing an upload that breaks its policy (larger than
declared, another key or media type, expired, or a tampered policy). moto does not check policies,
so the local stack wraps moto's WSGI app with this check, as S3 documents it: the policy's signature
(SigV4, for the stack's own credentials), its expiration, every condition (exact match, starts-with,
content-length-range), and every form field covered by a condition. Only `make run` uses it; on AWS,
S3 does this itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from local.wsgi import WsgiApp

# Fields S3 does not require a condition for.
_UNCONDITIONED = {"policy", "x-amz-signature", "file", "awsaccesskeyid", "signature"}


class PolicyRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def read_form(body: bytes, boundary: bytes) -> tuple[dict[str, str], int]:
    """The form's text fields (in order, names lower-cased as S3 compares them) and the file's size."""
    fields: dict[str, str] = {}
    current: dict[str, Any] = {"headers": b"", "data": []}
    file_size = [-1]

    def on_header_field(data: bytes, start: int, end: int) -> None:
        current["headers"] += data[start:end] + b":"

    def on_header_value(data: bytes, start: int, end: int) -> None:
        current["headers"] += data[start:end] + b"\n"

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current["data"].append(data[start:end])

    def on_part_end() -> None:
        name = b""
        for line in current["headers"].split(b"\n"):
            key, _, value = line.partition(b":")
            if key.strip().lower() == b"content-disposition":
                name = parse_options_header(value)[1].get(b"name", b"")
        value = b"".join(current["data"])
        if name.lower() == b"file":
            file_size[0] = len(value)
        else:
            fields[name.decode("utf-8", "replace").lower()] = value.decode("utf-8", "replace")
        current["headers"], current["data"] = b"", []

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    parser.write(body)
    parser.finalize()
    return fields, file_size[0]


def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _denied(message: str) -> PolicyRefused:
    return PolicyRefused(403, "AccessDenied", f"Invalid according to Policy: {message}")


def _check_signature(fields: dict[str, str], encoded: str, secrets: dict[str, str]) -> None:
    """Only for credentials this stack knows; any other key is moto's business (it checks none)."""
    credential = fields.get("x-amz-credential", "").split("/")
    if len(credential) != 5 or credential[0] not in secrets:
        return
    key = _signing_key(secrets[credential[0]], credential[1], credential[2])
    expected = hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        raise PolicyRefused(
            403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
        )


def _check_size(low: int, high: int, file_size: int) -> None:
    if file_size > high:
        raise PolicyRefused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    if file_size < low:
        raise PolicyRefused(
            400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
        )


def check(
    fields: dict[str, str], file_size: int, bucket: str, *, secrets: dict[str, str], now: datetime
) -> None:
    """Raise `PolicyRefused` as S3 would answer a POST that breaks its policy."""
    if file_size < 0:
        raise PolicyRefused(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    encoded = fields.get("policy")
    if encoded is None:
        return  # an unsigned POST: the bucket's own permissions decide (moto's concern)
    _check_signature(fields, encoded, secrets)
    try:
        policy = json.loads(base64.b64decode(encoded))
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions = list(policy["conditions"])
    except (ValueError, KeyError, TypeError):
        raise PolicyRefused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if expiration <= now:
        raise _denied("Policy expired.")
    values = {**fields, "bucket": bucket}
    covered = set()
    for condition in conditions:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            op = "eq"
        else:
            op, name, expected = str(condition[0]).lower(), condition[1], condition[2]
        if op == "content-length-range":
            _check_size(int(name), int(expected), file_size)
            continue
        field = str(name).lstrip("$").lower()
        covered.add(field)
        actual = values.get(field, "")
        if not (actual == expected if op == "eq" else actual.startswith(str(expected))):
            raise _denied(f"Policy Condition failed: {json.dumps(condition)}")
    extra = sorted(f for f in fields if f not in covered | _UNCONDITIONED and not f.startswith("x-ignore-"))
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")


class PostPolicyEnforcer:
    """WSGI middleware: browser POSTs to a bucket are checked against their policy before moto sees them."""

    def __init__(
        self, app: WsgiApp, secrets: dict[str, str], clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ):
        self.app = app
        self.secrets = secrets
        self.clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        kind, params = parse_options_header(environ.get("CONTENT_TYPE", ""))
        path = environ.get("PATH_INFO", "").strip("/")
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or kind != b"multipart/form-data"
            or not path
            or "/" in path
        ):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            fields, size = read_form(body, params.get(b"boundary", b""))
            check(fields, size, path, secrets=self.secrets, now=self.clock())
        except MultipartParseError:
            return self._error(
                start_response,
                PolicyRefused(
                    400, "MalformedPOSTRequest", "The body is not well-formed multipart/form-data."
                ),
            )
        except PolicyRefused as refused:
            return self._error(start_response, refused)
        return self.app(environ, start_response)

    @staticmethod
    def _error(start_response: Callable[..., Any], refused: PolicyRefused) -> Iterable[bytes]:
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{refused.code}</Code>'
            f"<Message>{escape(refused.message)}</Message></Error>"
        ).encode()
        reasons = {400: "Bad Request", 403: "Forbidden"}
        start_response(
            f"{refused.status} {reasons[refused.status]}",
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
        )
        return [body]
