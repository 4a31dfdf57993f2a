"""CORS for browser pages on other origins (the playground as a static object, a customer's own page).

API Gateway answers the OPTIONS preflight itself (template.yaml, Api's `Cors`) and adds the same
headers to the errors it answers itself (its GatewayResponses); this is the function's share: the
headers on every answer it gives. The origin is the template's CorsAllowOrigin parameter, read from
the environment; the header lists are the API's own and tests/infra checks the template against them.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import CORSConfig

# What a page may send: the key and the JSON or multipart body.
ALLOW_HEADERS = ("Authorization", "Content-Type")
# What a page may read of an answer besides the CORS-safelisted headers.
EXPOSE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After", "x-request-id")
# How long a browser may keep a preflight's answer.
PREFLIGHT_MAX_AGE_SECONDS = 600


def cors_config(allow_origin: str) -> CORSConfig:
    """Keys are bearer tokens, never cookies: credentials mode stays off, whatever the origin."""
    return CORSConfig(
        allow_origin=allow_origin,
        allow_headers=list(ALLOW_HEADERS),
        expose_headers=list(EXPOSE_HEADERS),
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
        allow_credentials=False,
    )
