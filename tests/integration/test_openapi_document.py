"""GET /v1/openapi.json: the OpenAPI document Powertools generates from the routes and contract models."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from local.template import Template
from pixelport.contract.references import parse_input
from tests.support.lambdas import api_event, call_api, response_json

pytestmark = pytest.mark.usefixtures("aws")

OPENAPI = "/v1/openapi.json"
DOCS = "/v1/docs"
PLAYGROUND = "/playground"
# Routes the document does not describe: itself, Swagger UI over it, and the playground page.
UNDOCUMENTED = {("get", OPENAPI), ("get", DOCS), ("get", PLAYGROUND)}
CATCH_ALL = "/{proxy+}"


def served_document(key: str | None = None) -> dict[str, Any]:
    response = call_api(api_event(method="GET", path=OPENAPI, key=key))
    assert response["statusCode"] == 200, response["body"]
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    parsed: dict[str, Any] = response_json(response)
    return parsed


def template_routes(template: Template) -> set[tuple[str, str]]:
    events = template.functions()["ApiFunction"].events.values()
    return {
        (e["Properties"]["Method"].lower(), e["Properties"]["Path"])
        for e in events
        if e["Type"] == "Api" and e["Properties"]["Path"] != CATCH_ALL
    }


def test_the_document_is_served_without_a_key_and_is_valid_openapi() -> None:
    document = served_document(key=None)
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["security"] == [{"apiKey": []}]


def test_routes_still_need_a_key_when_the_document_does_not() -> None:
    response = call_api(api_event(method="GET", path="/v1/storage/storages", key=None))
    assert response["statusCode"] == 401


def test_every_route_of_the_template_is_in_the_document_and_nothing_else(template: Template) -> None:
    document = served_document()
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert template_routes(template) - UNDOCUMENTED == documented


def test_the_server_is_the_stage_the_client_called() -> None:
    # api_event's requestContext.path is "/prod/..." as on the execute-api host.
    assert served_document()["servers"] == [{"url": "/prod"}]


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("https://images.example.com/a.jpg", True),
        ("HTTP://images.example.com/a.jpg", True),
        ("storage://storage-name/in/a.png", True),
        ("StOrAgE://storage-name/in/a.png", True),
        ("ftp://images.example.com/a.jpg", False),
        ("images.example.com/a.jpg", False),
        ("file:///etc/passwd", False),
    ],
)
def test_the_documented_input_pattern_admits_the_schemes_the_contract_takes(
    value: str, accepted: bool
) -> None:
    pattern = schema(served_document(), "EditRequest")["properties"]["input"]["pattern"]
    assert bool(re.match(pattern, value)) is accepted
    try:
        parse_input(value)
        parsed = True
    except ValueError:
        parsed = False
    assert parsed is accepted


def test_fields_defaults_and_ranges_come_from_the_contract_models() -> None:
    document = served_document()
    edit = document["paths"]["/v1/image/edit"]["post"]["requestBody"]["content"]["application/json"]
    assert edit["schema"]["$ref"] == "#/components/schemas/EditRequest"
    request = schema(document, "EditRequest")
    assert request["required"] == ["input", "operations"]
    assert request["additionalProperties"] is False
    jpeg = schema(document, "JpegFormat")["properties"]
    assert (jpeg["quality"]["minimum"], jpeg["quality"]["maximum"], jpeg["quality"]["default"]) == (
        1,
        100,
        85,
    )
    assert jpeg["progressive"]["default"] is True
    cmyk = schema(document, "CmykColorSpace")["properties"]["color_profile"]
    assert cmyk["default"] == "ISO_Coated"
    assert set(cmyk["enum"]) == {"ISO_Coated", "ISO_Uncoated", "USWeb_Coated", "USWeb_Uncoated"}
    dpi = schema(document, "Metadata")["properties"]["dpi"]["anyOf"][0]
    assert (dpi["minimum"], dpi["maximum"]) == (1, 10000)


def test_short_forms_are_in_the_document() -> None:
    document = served_document()
    output = schema(document, "EditRequest")["properties"]["output"]["anyOf"]
    assert {"type": "string", "description": "the destination alone"} in output
    formats = schema(document, "OutputOptions")["properties"]["format"]["anyOf"]
    assert {"type": "string", "enum": ["jpeg", "png", "webp", "avif", "tiff"]} in formats


def test_configured_limits_are_the_documents_ranges(set_limits: Any) -> None:
    from functions.api import app as api

    set_limits(max_input_url_length=300, max_input_bytes=1234)
    api.api_document.cache_clear()
    try:
        document = served_document()
    finally:
        api.api_document.cache_clear()
    assert schema(document, "EditRequest")["properties"]["input"]["maxLength"] == 300
    assert schema(document, "UploadFile")["properties"]["size"]["maximum"] == 1234


def test_the_upload_route_documents_a_multipart_body() -> None:
    document = served_document()
    body = document["paths"]["/v1/image/edit/upload"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    form = schema(document, "UploadForm")["properties"]
    assert form["file"]["format"] == "binary"
    assert form["data"]["contentSchema"] == {"$ref": "#/components/schemas/UploadEdit"}


def test_every_error_answer_is_documented_as_the_envelope() -> None:
    document = served_document()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            assert {"200", "401", "500"} <= set(answers), (method, path)
            for status, answer in answers.items():
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                if status == "429":
                    assert ref.endswith("/RateLimitedAnswer")
                elif int(status) >= 400:
                    assert ref.endswith("/ErrorAnswer"), (method, path, status)


def test_swagger_ui_is_served_without_a_key_and_loads_the_document_of_the_stage_called() -> None:
    response = call_api(api_event(method="GET", path=DOCS, key=None))
    assert response["statusCode"] == 200, response["body"]
    assert response["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    page = response["body"]
    assert 'url: "/prod/v1/openapi.json"' in page
    assert "swagger-ui-bundle.js" in page and "SwaggerUIBundle(" in page


def test_the_edit_request_carries_the_published_examples_and_each_is_a_valid_request() -> None:
    from pixelport.contract.edit import parse_edit_request

    examples = schema(served_document(), "EditRequest")["examples"]
    assert {"format": {"type": "png", "compression": "best"}} in [e.get("output") for e in examples]
    for example in examples:
        assert parse_edit_request(example).input == example["input"]


def undescribed(node: Any, where: str) -> list[str]:
    """Every property of every object schema under `node` without a description, by its place."""
    found: list[str] = []
    if isinstance(node, dict):
        for name, spec in (node.get("properties") or {}).items():
            if isinstance(spec, dict) and not spec.get("description"):
                found.append(f"{where}.{name}")
        for key, value in node.items():
            found += undescribed(value, f"{where}/{key}" if key != "properties" else where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += undescribed(value, f"{where}[{index}]")
    return found


def test_every_field_parameter_and_body_of_the_document_is_described() -> None:
    document = served_document()
    missing = undescribed(document["components"], "components")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            place = f"{method.upper()} {path}"
            missing += [
                f"{place} parameter {p['name']}"
                for p in operation.get("parameters", [])
                if not p.get("description")
            ]
            body = operation.get("requestBody")
            if body is not None and not body.get("description"):
                missing.append(f"{place} body")
            missing += undescribed(operation, place)
    assert missing == []


def test_the_document_has_no_schema_that_nothing_refers_to() -> None:
    # Powertools adds the shapes of its own request validation, which this API never answers.
    document = served_document()
    text = json.dumps({k: v for k, v in document.items() if k != "components"})
    schemas = document["components"]["schemas"]
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', text + json.dumps(schemas)))
    assert set(schemas) <= referenced
    assert "HTTPValidationError" not in schemas


def test_limits_named_in_descriptions_are_the_models_own() -> None:
    from pixelport.contract.operations import MAX_PADDING_PERCENT, MAX_PERCENT

    document = served_document()
    operations = schema(document, "Operations")["properties"]
    assert f"at most {MAX_PADDING_PERCENT}%" in operations["padding"]["description"]
    resizing = schema(document, "Resizing")["properties"]
    assert f"at most {MAX_PERCENT}%" in resizing["width"]["description"]


def test_the_playground_page_is_served_by_the_api_function_without_a_key() -> None:
    from pixelport.playground_page import PLAYGROUND as PAGE

    response = call_api(api_event(method="GET", path=PLAYGROUND, key=None))
    assert response["statusCode"] == 200, response["body"]
    assert response["multiValueHeaders"]["Content-Type"] == ["text/html; charset=utf-8"]
    assert response["body"] == PAGE.read_text(encoding="utf-8")


# swagger-ui-dist 5.17.14 as npm publishes it. docs_page.py says how to recompute these after a version
# change; the test below recomputes them from a local copy when PIXELPORT_SWAGGER_UI_DIST names one.
RECORDED_INTEGRITY = {
    "swagger-ui.css": "sha384-wxLW6kwyHktdDGr6Pv1zgm/VGJh99lfUbzSn6HNHBENZlCN7W602k9VkGdxuFvPn",
    "swagger-ui-bundle.js": "sha384-wmyclcVGX/WhUkdkATwhaK1X1JtiNrr2EoYJ+diV3vj4v6OC5yCeSu+yW13SYJep",
}


def docs_answer() -> tuple[str, str]:
    response = call_api(api_event(method="GET", path=DOCS, key=None))
    assert response["statusCode"] == 200
    (policy,) = response["multiValueHeaders"]["Content-Security-Policy"]
    return str(response["body"]), str(policy)


def test_each_cdn_file_of_the_docs_page_carries_its_recorded_integrity_hash() -> None:
    from pixelport.docs_page import SWAGGER_UI_CDN, SWAGGER_UI_VERSION

    assert SWAGGER_UI_VERSION == "5.17.14", "a new version needs new hashes: see docs_page.py"
    page, _ = docs_answer()
    tags = re.findall(
        r"<(?:script|link)\b[^>]*\b(?:src|href)=\"" + re.escape(SWAGGER_UI_CDN) + r"[^>]*>", page
    )
    assert len(tags) == len(RECORDED_INTEGRITY)
    for tag in tags:
        name = re.search(r'(?:src|href)="[^"]*/([^/"]+)"', tag).group(1)  # type: ignore[union-attr]
        assert f'integrity="{RECORDED_INTEGRITY[name]}"' in tag, tag
        assert 'crossorigin="anonymous"' in tag, tag


def test_the_recorded_hashes_are_those_of_the_published_files() -> None:
    import base64
    import hashlib
    import os
    from pathlib import Path

    folder = os.environ.get("PIXELPORT_SWAGGER_UI_DIST")
    if not folder:
        pytest.skip("PIXELPORT_SWAGGER_UI_DIST names no unpacked `npm pack swagger-ui-dist@5.17.14`")
    for name, recorded in RECORDED_INTEGRITY.items():
        digest = hashlib.sha384((Path(folder) / name).read_bytes()).digest()
        assert recorded == "sha384-" + base64.b64encode(digest).decode()


def test_the_docs_page_allows_scripts_and_styles_only_from_the_pinned_release_and_its_own_script() -> None:
    import base64
    import hashlib

    from pixelport.docs_page import SWAGGER_UI_CDN

    page, policy = docs_answer()
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    (inline,) = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert directives["script-src"].split() == [f"{SWAGGER_UI_CDN}/", f"'sha256-{digest}'"]
    assert directives["style-src"].split() == [f"{SWAGGER_UI_CDN}/"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy


def test_the_docs_page_names_its_icon_so_the_browser_never_asks_favicon_ico() -> None:
    page, _ = docs_answer()
    assert '<link rel="icon" href="data:,">' in page
