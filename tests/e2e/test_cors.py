"""CORS through the local gateway: the preflight API Gateway answers itself, the errors it answers
itself, and the function's answers, as a browser page on another origin sees them."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from local.template import Template
from pixelport.cors import ALLOW_HEADERS, EXPOSE_HEADERS
from tests.e2e.client import DEFAULT_KEY
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

PAGE = "https://page.example.net"


def send(stack: RunningStack, method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(urlsplit(stack.base_url).netloc, timeout=30)
    connection.request(method, path, headers={"Origin": PAGE, **headers})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def names(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def test_the_preflight_is_answered_without_a_key_for_the_routes_a_page_calls(stack: RunningStack) -> None:
    origin = Template().parameter_default("CorsAllowOrigin")
    for path in ("/v1/image/edit", "/v1/image/edit/upload", "/v1/storage/storages/12", "/v1/openapi.json"):
        answer = send(
            stack,
            "OPTIONS",
            path,
            {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert answer.status == 200, path
        assert answer.getheader("Access-Control-Allow-Origin") == origin == "*"
        assert {h.lower() for h in ALLOW_HEADERS} <= names(answer.getheader("Access-Control-Allow-Headers"))
        assert {"get", "post", "patch", "delete", "put"} <= names(
            answer.getheader("Access-Control-Allow-Methods")
        )


def test_errors_the_gateway_answers_itself_carry_the_cors_headers(stack: RunningStack) -> None:
    # Declared larger than API Gateway accepts: refused on the header, before any body or function.
    answer = send(stack, "POST", "/v1/image/edit", {"Content-Length": str(11 * 1024 * 1024)})
    assert answer.status == 413
    assert answer.getheader("Access-Control-Allow-Origin") == "*"
    assert {h.lower() for h in EXPOSE_HEADERS} <= names(answer.getheader("Access-Control-Expose-Headers"))


def test_the_functions_errors_carry_the_cors_headers_and_expose_the_rate_limit(stack: RunningStack) -> None:
    unauthorised = send(stack, "GET", "/v1/storage/storages", {})
    assert unauthorised.status == 401
    assert unauthorised.getheader("Access-Control-Allow-Origin") == "*"
    refused = send(stack, "POST", "/v1/image/edit", {"Authorization": f"Bearer {DEFAULT_KEY}"})
    assert refused.status == 400
    assert refused.getheader("Access-Control-Allow-Origin") == "*"
    assert refused.getheader("RateLimit-Reset") is not None
    assert {"ratelimit-reset", "x-request-id"} <= names(refused.getheader("Access-Control-Expose-Headers"))
