"""The OpenAPI document of the API: made by Powertools' generator from the routes and the contract models.

The handlers read their bodies themselves (`parse_body` and the contract's one 422 of SPEC 1), so
Powertools' request validation, which answers in its own shape, stays off. `takes_body` declares a
route's body for the generator alone: it gives the handler a signature with the body parameter, which
the generator reads and the resolver, calling handlers with their path parameters only, never passes.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from pixelport.contract.answers import ErrorAnswer, RateLimitedAnswer

F = TypeVar("F", bound=Callable[..., Any])

TITLE = "pixelport"
VERSION = "1.0.0"
DESCRIPTION = (
    "Image editing over HTTPS: fetch an image by URL, from connected storage or as an upload, apply "
    "operations, and write the result to connected storage or a temporary bucket (links stop working "
    '24 hours after they were written). Every answer is `{"data": ...}` or the error envelope; the '
    "README lists every error code and limit."
)
SECURITY_SCHEME = "apiKey"
# The routes' path parameters, as the document describes them.
TaskId = Annotated[str, Path(description="the `id` the accepting POST answered (digits)")]
StorageId = Annotated[str, Path(description="the storage's `id`, as GET /v1/storage/storages answers it")]
_REFERENCE = re.compile(r'"#/components/schemas/([^"]+)"')

ERROR_REASONS = {
    400: "the body is not JSON, or the input cannot be fetched or decoded",
    401: "no key, or an unknown or revoked key (code 111)",
    403: "the key lacks the route's scope (code 112)",
    404: "no such task or storage in this account",
    409: "a storage of this name exists in this account",
    413: "the input or the body is larger than the limits",
    422: "the request fails validation: every problem of it, by field path (code 9000)",
    429: "over the account's rate limit (code 2001, nested under `detail`)",
    500: "a bug, never bad input (code 5000): quote the x-request-id to support",
}


def takes_body(model: Any, description: str, media_type: str = "application/json") -> Callable[[F], F]:
    """Declares the request body, `model` (a model or a union of models), for the document."""

    def declare(handler: F) -> F:
        signature = inspect.signature(handler)
        path_params = [
            p.replace(
                annotation=str if p.annotation is inspect.Parameter.empty else p.annotation,
                kind=inspect.Parameter.KEYWORD_ONLY,
            )
            for p in signature.parameters.values()
        ]
        body = inspect.Parameter(
            "body",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[model, Body(description=description, media_type=media_type)],
        )
        handler.__signature__ = inspect.Signature([*path_params, body])  # type: ignore[attr-defined]
        return handler

    return declare


def answers(
    ok: type[BaseModel],
    summary: str,
    *,
    errors: Iterable[int],
    accepted: type[BaseModel] | None = None,
) -> dict[int, OpenAPIResponse]:
    """The `responses` of a route: its 200 (and 202), and the error envelopes it can answer."""
    documented: dict[int, OpenAPIResponse] = {
        200: {"description": summary, "content": {"application/json": {"model": ok}}}
    }
    if accepted is not None:
        documented[202] = {
            "description": "not finished within the sync window: poll result_url",
            "content": {"application/json": {"model": accepted}},
        }
    for status in (401, *errors, 500):
        model = RateLimitedAnswer if status == 429 else ErrorAnswer
        documented[status] = {
            "description": ERROR_REASONS[status],
            "content": {"application/json": {"model": model}},
        }
    return documented


def openapi_json(app: APIGatewayRestResolver, base_path: str) -> str:
    """The document, its server the API's base (the stage prefix on AWS: "/prod"; "" locally)."""
    # Powertools' OpenAPI models take 0.1-0.2 s to build: imported by the one route that needs them.
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

    document = app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[Server(url=base_path or "/")],
        security_schemes={SECURITY_SCHEME: HTTPBearer(description="Authorization: Bearer <key>")},
        security=[{SECURITY_SCHEME: []}],
    )
    return without_unused_schemas(document)


def without_unused_schemas(document: str) -> str:
    """The document without the component schemas nothing refers to: Powertools always adds the shapes
    of its own request validation (HTTPValidationError, ...), which this API never answers (its 422 is
    the error envelope)."""
    parsed: dict[str, Any] = json.loads(document)
    schemas: dict[str, Any] = parsed.get("components", {}).get("schemas", {})
    while True:
        used = set(_REFERENCE.findall(json.dumps(parsed)))
        unused = [name for name in schemas if name not in used]
        if not unused:
            return json.dumps(parsed, indent=2)
        for name in unused:
            del schemas[name]
