"""/v1/docs in a real browser, under its Content-Security-Policy and Subresource Integrity.

The CDN is not reachable from tests (loopback only): the browser's requests to it are answered from a
local copy of the pinned swagger-ui-dist (`npm pack swagger-ui-dist@<version>`, unpacked; its `package`
folder named by PIXELPORT_SWAGGER_UI_DIST). Without that copy these tests are skipped; the hashes
themselves are checked against the copy in tests/integration/test_openapi_document.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pixelport.docs_page import SWAGGER_UI_CDN
from tests.e2e.conftest import RunningStack
from tests.e2e.test_playground import CHROMIUM, browser_api

pytestmark = pytest.mark.e2e


def swagger_ui_dist() -> Path:
    folder = os.environ.get("PIXELPORT_SWAGGER_UI_DIST")
    if not folder or not (Path(folder) / "swagger-ui-bundle.js").exists():
        pytest.skip(
            "PIXELPORT_SWAGGER_UI_DIST is not a swagger-ui-dist folder (npm pack swagger-ui-dist@<pinned "
            "version>; tar xzf it; point the variable at its package/ folder)"
        )
    return Path(folder)


def open_docs(stack: RunningStack, dist: Path, tamper: bool = False) -> tuple[Any, list[str]]:
    """The page after Swagger UI had its chance to render, and the browser's console messages."""
    sync_api = browser_api()
    messages: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda message: messages.append(message.text))

            def from_local_copy(route: Any) -> None:
                name = route.request.url.removeprefix(SWAGGER_UI_CDN + "/")
                body = (dist / name).read_bytes()
                if tamper:
                    body += b"\n/* changed on the way */\n"
                content_type = "text/css" if name.endswith(".css") else "application/javascript"
                route.fulfill(
                    status=200,
                    body=body,
                    headers={"Content-Type": content_type, "Access-Control-Allow-Origin": "*"},
                )

            page.route(f"{SWAGGER_UI_CDN}/**", from_local_copy)
            page.goto(f"{stack.base_url}/v1/docs")
            rendered = True
            try:
                page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
            except sync_api.TimeoutError:
                rendered = False
            title = page.inner_text(".swagger-ui .info .title") if rendered else None
            operations = page.locator(".opblock").count() if rendered else 0
        finally:
            browser.close()
    return (title, operations), messages


def test_swagger_ui_renders_the_document_under_the_pages_csp_and_sri(stack: RunningStack) -> None:
    (title, operations), messages = open_docs(stack, swagger_ui_dist())
    assert title is not None and "pixelport" in title
    assert operations > 10
    assert [m for m in messages if "Content Security Policy" in m or "integrity" in m] == []


def test_a_changed_file_from_the_cdn_is_refused_by_the_browser(stack: RunningStack) -> None:
    (title, _), messages = open_docs(stack, swagger_ui_dist(), tamper=True)
    assert title is None
    assert any("integrity" in m for m in messages), messages
