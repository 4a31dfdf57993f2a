"""CORS on the function's answers: a page on another origin can read every answer, errors included."""

from __future__ import annotations

from typing import Any

import pytest

from pixelport.cors import EXPOSE_HEADERS
from tests.support.lambdas import api_event, call_api

pytestmark = pytest.mark.usefixtures("aws")

PAGE = "https://page.example.net"


def from_page(**kwargs: Any) -> dict[str, Any]:
    event = api_event(**kwargs)
    event["headers"]["Origin"] = PAGE
    event["multiValueHeaders"]["Origin"] = [PAGE]
    return event


def header(response: dict[str, Any], name: str) -> str | None:
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name.lower():
            return ", ".join(values)
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def exposed(response: dict[str, Any]) -> set[str]:
    return {h.strip().lower() for h in (header(response, "Access-Control-Expose-Headers") or "").split(",")}


@pytest.mark.parametrize(
    ("method", "path", "key", "status"),
    [
        ("GET", "/v1/storage/storage-types", "default", 200),
        ("GET", "/v1/storage/storages", None, 401),
        ("POST", "/v1/image/edit", "default", 422),
        ("GET", "/v1/no-such-route", "default", 404),
        ("GET", "/v1/openapi.json", None, 200),
    ],
)
def test_every_answer_allows_the_configured_origin_and_exposes_the_rate_limit_and_request_id(
    method: str, path: str, key: str | None, status: int
) -> None:
    kwargs: dict[str, Any] = {"method": method, "path": path, "body": {"input": "nope"}}
    if key is None:
        kwargs["key"] = None
    response = call_api(from_page(**kwargs))
    assert response["statusCode"] == status
    # The template's default, "*": keys are bearer tokens, never cookies.
    assert header(response, "Access-Control-Allow-Origin") == "*"
    assert header(response, "Access-Control-Allow-Credentials") is None
    assert {h.lower() for h in EXPOSE_HEADERS} <= exposed(response)
    assert {"ratelimit-reset", "retry-after", "x-request-id"} <= exposed(response)


def test_a_preflight_that_reaches_the_function_is_answered_without_a_key() -> None:
    event = from_page(method="OPTIONS", path="/v1/image/edit", key=None)
    event["headers"]["Access-Control-Request-Method"] = "POST"
    event["headers"]["Access-Control-Request-Headers"] = "authorization,content-type"
    response = call_api(event)
    assert response["statusCode"] == 204
    assert header(response, "Access-Control-Allow-Origin") == "*"
    allowed = {h.strip().lower() for h in (header(response, "Access-Control-Allow-Headers") or "").split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in (header(response, "Access-Control-Allow-Methods") or "")


def test_a_configured_origin_is_allowed_and_another_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.api import app as api
    from pixelport import settings
    from pixelport.cors import cors_config

    monkeypatch.setenv("PIXELPORT_CORS_ALLOW_ORIGIN", PAGE)
    monkeypatch.setattr(api.app, "_cors", cors_config(settings.cors_allow_origin()))
    allowed = call_api(from_page(method="GET", path="/v1/storage/storage-types"))
    assert header(allowed, "Access-Control-Allow-Origin") == PAGE
    other = api_event(method="GET", path="/v1/storage/storage-types")
    other["headers"]["Origin"] = "https://elsewhere.example.org"
    assert header(call_api(other), "Access-Control-Allow-Origin") is None
