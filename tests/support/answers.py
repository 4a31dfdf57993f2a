"""Every answer a test gets from ApiFunction is checked against the OpenAPI document it serves.

`call_api` runs this on each answer, so the whole integration suite checks that the answer models of
`pixelport.contract.answers` describe what the routes really answer (status codes included)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator


@cache
def document() -> dict[str, Any]:
    from functions.api import app as api
    from pixelport.api_document import openapi_json

    parsed: dict[str, Any] = json.loads(openapi_json(api.app, ""))
    return parsed


def operation_of(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The document's path template and operation for a request, or None when it names no route."""
    for template, item in document()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    return None


@cache
def validator(template: str, method: str, status: str) -> Draft202012Validator:
    operation = document()["paths"][template][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document()["components"]})


def check_answer(event: dict[str, Any], response: dict[str, Any]) -> None:
    found = operation_of(event["httpMethod"], event["path"])
    if found is None:
        return  # a path outside the API: the 404 envelope, checked by its own tests
    template, operation = found
    status = str(response["statusCode"])
    assert status in operation["responses"], (
        f"{event['httpMethod']} {template} answered {status}, which its OpenAPI document does not list"
    )
    body = json.loads(response["body"])
    errors = sorted(validator(template, event["httpMethod"].lower(), status).iter_errors(body), key=str)
    assert not errors, f"{event['httpMethod']} {template} {status}: {errors[0].message} in {body}"
