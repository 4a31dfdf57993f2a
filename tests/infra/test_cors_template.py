"""CORS in template.yaml: one origin parameter, read by the function and used by API Gateway's own
answers (the preflight and its gateway responses), with the header lists of pixelport/cors.py."""

from __future__ import annotations

from typing import Any

from local.apigw import header_value
from local.template import Template
from pixelport.cors import ALLOW_HEADERS, EXPOSE_HEADERS, PREFLIGHT_MAX_AGE_SECONDS

ORIGIN = {"Fn::Sub": "'${CorsAllowOrigin}'"}


def api(template: Template) -> dict[str, Any]:
    (found,) = template.of_type("AWS::Serverless::Api").values()
    properties: dict[str, Any] = found["Properties"]
    return properties


def listed(template: Template, value: Any) -> list[str]:
    return [part.strip() for part in header_value(template, value).split(",")]


def test_the_allowed_origin_is_a_parameter_defaulting_to_any_origin(template: Template) -> None:
    assert template.parameter_default("CorsAllowOrigin") == "*"
    environment = template.functions()["ApiFunction"].environment
    assert environment["PIXELPORT_CORS_ALLOW_ORIGIN"] == {"Ref": "CorsAllowOrigin"}


def test_the_preflight_allows_the_origin_the_key_header_and_the_body_type(template: Template) -> None:
    cors = api(template)["Cors"]
    assert cors["AllowOrigin"] == ORIGIN
    assert listed(template, cors["AllowHeaders"]) == list(ALLOW_HEADERS)
    assert int(header_value(template, cors["MaxAge"])) == PREFLIGHT_MAX_AGE_SECONDS
    methods = {e["Properties"]["Method"] for e in template.functions()["ApiFunction"].events.values()}
    assert methods - {"ANY"} <= set(listed(template, cors["AllowMethods"]))


def test_every_gateway_response_allows_the_origin_and_exposes_the_functions_headers(
    template: Template,
) -> None:
    for kind, response in api(template)["GatewayResponses"].items():
        headers = response.get("ResponseParameters", {}).get("Headers", {})
        assert headers.get("Access-Control-Allow-Origin") == ORIGIN, kind
        assert listed(template, headers.get("Access-Control-Expose-Headers")) == list(EXPOSE_HEADERS), kind


def test_results_can_be_read_by_a_page_on_another_origin_and_make_run_adds_the_same_headers(
    template: Template,
) -> None:
    from local.cloudfront import response_headers

    (distribution,) = template.of_type("AWS::CloudFront::Distribution").values()
    headers = response_headers(distribution)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_playground_is_a_route_of_the_api_function(template: Template) -> None:
    routes = {
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for e in template.functions()["ApiFunction"].events.values()
    }
    assert ("GET", "/playground") in routes
