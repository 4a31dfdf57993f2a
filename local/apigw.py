"""API Gateway's REST proxy integration, played locally: routes from the template, proxy events in,
proxy responses out, and the gateway's own error responses rendered from the template."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.template import Template

# API Gateway's own limit on a request payload.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# API Gateway's default integration timeout for REST APIs.
INTEGRATION_TIMEOUT_SECONDS = 29.0


@dataclass(frozen=True)
class Route:
    function: str
    method: str  # "ANY" or upper case
    path: str  # template form: /v1/image/edit/async/{task_id}
    pattern: re.Pattern[str]
    greedy: bool

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def _route(function: str, method: str, path: str) -> Route:
    regex = ""
    for segment in path.strip("/").split("/"):
        if segment.endswith("+}"):
            regex += rf"/(?P<{segment[1:-2]}>.+)"
        elif segment.startswith("{"):
            regex += rf"/(?P<{segment[1:-1]}>[^/]+)"
        else:
            regex += "/" + re.escape(segment)
    return Route(function, method.upper(), path, re.compile(regex or "/"), greedy="+}" in path)


def routes_from(template: Template) -> list[Route]:
    found = [
        _route(fn.logical_id, ev["Properties"]["Method"], ev["Properties"]["Path"])
        for fn in template.functions().values()
        for ev in fn.events.values()
        if ev.get("Type") == "Api"
    ]
    # API Gateway prefers the most specific resource: literal paths before {param}, greedy last.
    return sorted(found, key=lambda r: (r.greedy, r.path.count("{"), -len(r.path)))


def binary_media_types(template: Template) -> list[str]:
    """The REST API's BinaryMediaTypes ("~1" is how a "/" is written there)."""
    found: list[str] = []
    for api in template.of_type("AWS::Serverless::Api").values():
        found += [str(t).replace("~1", "/") for t in api.get("Properties", {}).get("BinaryMediaTypes", [])]
    return found


def is_binary(content_type: str | None, binary_types: list[str]) -> bool:
    """As API Gateway decides: the request's media type against the list, `*` matching any part."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not media:
        return False
    kind, _, sub = media.partition("/")
    for pattern in binary_types:
        p_kind, _, p_sub = pattern.lower().partition("/")
        if p_kind in ("*", kind) and p_sub in ("*", sub):
            return True
    return False


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        params = route.matches(method, path)
        if params is not None:
            return route, params
    return None


def proxy_event(
    *,
    route: Route,
    params: dict[str, str],
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: dict[str, list[str]],
    body: bytes,
    host: str,
    source_ip: str,
    binary: bool = False,
) -> dict[str, Any]:
    request_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    text: str | None
    if not body:
        text = None
    elif binary:
        text = base64.b64encode(body).decode()
    else:
        text = body.decode("utf-8", errors="replace")
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in headers.items()} or None,
        "multiValueHeaders": headers or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            # No stage prefix: locally the API is reached like a custom domain.
            "path": path,
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "local",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request_id,
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", [""])[-1]},
            "domainName": host,
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": binary and bool(body),
    }


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def _api_properties(template: Template) -> dict[str, Any]:
    api = next(iter(template.of_type("AWS::Serverless::Api").values()), {})
    properties: dict[str, Any] = api.get("Properties", {})
    return properties


_PARAMETER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


def header_value(template: Template, value: Any) -> str:
    """A header value as API Gateway's mappings write it: a quoted literal ("'1'"), perhaps through a
    !Sub of the template's parameters (at their defaults, as the local stack deploys them)."""
    if isinstance(value, dict) and list(value) == ["Fn::Sub"] and isinstance(value["Fn::Sub"], str):
        value = _PARAMETER.sub(lambda m: str(template.parameter_default(m.group(1))), value["Fn::Sub"])
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def gateway_response(template: Template, kind: str, status: int, message: str) -> GatewayAnswer:
    """API Gateway's answer of type `kind` (THROTTLED, DEFAULT_5XX, ...) as the template shapes it."""
    responses = _api_properties(template).get("GatewayResponses", {})
    family = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
    shaped = responses.get(kind) or responses.get(family) or {}
    body = shaped.get("ResponseTemplates", {}).get("application/json") or json.dumps({"message": message})
    body = body.replace("$context.error.messageString", json.dumps(message))
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
    for name, value in shaped.get("ResponseParameters", {}).get("Headers", {}).items():
        headers[name] = header_value(template, value)
    return GatewayAnswer(status=int(shaped.get("StatusCode", status)), headers=headers, body=body.encode())


def cors_preflight(template: Template) -> GatewayAnswer | None:
    """The answer to an OPTIONS request when the API has `Cors`: SAM's mock integration, added to every
    path, which answers 200 and the CORS headers without the function or a key. None without `Cors`."""
    cors = _api_properties(template).get("Cors")
    if cors is None:
        return None
    if not isinstance(cors, dict):  # the short form: the origin alone
        cors = {"AllowOrigin": cors}
    headers = {"Content-Type": "application/json"}
    for field_name, header in (
        ("AllowOrigin", "Access-Control-Allow-Origin"),
        ("AllowHeaders", "Access-Control-Allow-Headers"),
        ("AllowMethods", "Access-Control-Allow-Methods"),
        ("MaxAge", "Access-Control-Max-Age"),
    ):
        if field_name in cors:
            headers[header] = header_value(template, cors[field_name])
    return GatewayAnswer(200, headers, b"{}\n")


def proxy_answer(response: Any) -> GatewayAnswer | None:
    """The HTTP answer of a proxy integration response, or None when it is malformed (502)."""
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        return None
    headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
    return GatewayAnswer(response["statusCode"], headers, body)
