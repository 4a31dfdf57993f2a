"""The playground page in a real browser: headless Chromium from the system's packages, driven by
Playwright (never a downloaded browser), against the running stack."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pixelport.playground_page import PLAYGROUND
from tests.e2e.conftest import ROOT, RunningStack
from tests.support.http_server import LocalHTTPServer

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("PIXELPORT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# A test artefact (CI keeps it); PIXELPORT_UPDATE_SCREENSHOT=1 also refreshes the README's picture.
ARTEFACT = ROOT / ".artifacts" / "playground.png"
README_SCREENSHOT = ROOT / "docs" / "playground.png"
SIZE = (320, 240)


def shown_metadata(page: Any, table: str) -> dict[str, str]:
    cells = page.locator(f"#{table} [data-meta]")
    return {cells.nth(i).get_attribute("data-meta"): cells.nth(i).inner_text() for i in range(cells.count())}


def test_the_playground_uploads_a_png_and_shows_the_webp_result_and_its_metadata(
    stack: RunningStack, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (requirements/dev.txt)"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does) or set PIXELPORT_CHROMIUM"
        )
    source = tmp_path / "gradient.png"
    Image.radial_gradient("L").resize(SIZE).convert("RGB").save(source, "PNG")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{stack.base_url}/playground")
            page.set_input_files("#file", str(source))
            page.select_option("#format", "webp")
            page.fill("#quality", "60")
            with page.expect_response(lambda r: r.url.endswith("/v1/image/edit/upload")) as answered:
                page.click("#submit")
            answer = answered.value
            assert answer.status == 200, answer.text()
            data = answer.json()["data"]
            page.wait_for_function("document.getElementById('output-image').naturalWidth > 0", timeout=60_000)
            natural = page.eval_on_selector("#output-image", "img => [img.naturalWidth, img.naturalHeight]")
            assert tuple(natural) == SIZE
            sent = json.loads(page.inner_text("#request-json"))
            assert sent["output"]["format"] == {
                "type": "webp",
                "compression": {"type": "lossy", "quality": 60},
            }
            output = shown_metadata(page, "output-meta")
            result = stack_result(data["output"]["tmp_url"])
            assert output == {
                "bytes": str(len(result)),
                "dimensions": f"{data['output']['width']}x{data['output']['height']}",
                "format": data["output"]["format"],
                "mps": str(data["output"]["mps"]),
            }
            assert (
                data["output"]["format"] == "WEBP"
                and (data["output"]["width"], data["output"]["height"]) == SIZE
            )
            assert shown_metadata(page, "input-meta")["bytes"] == str(source.stat().st_size)
            assert "curl -s -X POST" in page.inner_text("#curl")
            ARTEFACT.parent.mkdir(exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTEFACT))
            if os.environ.get("PIXELPORT_UPDATE_SCREENSHOT") == "1":
                with Image.open(ARTEFACT) as shot:
                    shot.convert("P", palette=Image.Palette.ADAPTIVE, colors=128).save(
                        README_SCREENSHOT, optimize=True
                    )
        finally:
            browser.close()


def test_the_playground_shows_the_envelope_message_next_to_the_field_it_names(stack: RunningStack) -> None:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (requirements/dev.txt)"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does) or set PIXELPORT_CHROMIUM"
        )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{stack.base_url}/playground")
            page.fill("#url", "https://example.com/photo.jpg")
            page.select_option("#format", "jpeg")
            page.fill("#quality", "101")
            with page.expect_response(lambda r: r.url.endswith("/v1/image/edit")) as answered:
                page.click("#submit")
            assert answered.value.status == 422
            quality_error = page.locator('.error[data-field="output.format.quality"]')
            quality_error.wait_for()
            assert "less than or equal to 100" in quality_error.inner_text()
        finally:
            browser.close()


def stack_result(url: str) -> bytes:
    from tests.e2e.client import fetch

    data = fetch(url)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "WEBP"
    return data


def browser_api() -> Any:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (requirements/dev.txt)"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does) or set PIXELPORT_CHROMIUM"
        )
    return sync_api


def test_the_page_as_a_static_object_on_another_origin_edits_through_the_api_named_by_its_api_parameter(
    stack: RunningStack, tmp_path: Path
) -> None:
    """The file on any static host (here another port: another origin): every call is cross-origin, with
    a CORS preflight for the key's header, and the result is read from /tmp/ (CloudFront on AWS)."""
    sync_api = browser_api()
    source = tmp_path / "gradient.png"
    Image.radial_gradient("L").resize(SIZE).convert("RGB").save(source, "PNG")
    with LocalHTTPServer() as static_host, sync_api.sync_playwright() as playwright:
        static_host.add("/playground.html", body=PLAYGROUND.read_bytes())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{static_host.url('/playground.html')}?api={stack.base_url}")
            assert page.input_value("#api-url") == stack.base_url
            assert page.get_attribute("#docs-link", "href") == f"{stack.base_url}/v1/docs"
            page.set_input_files("#file", str(source))
            page.select_option("#format", "webp")
            with page.expect_response(
                lambda r: r.url == f"{stack.base_url}/v1/image/edit/upload"
            ) as answered:
                page.click("#submit")
            assert answered.value.status == 200, answered.value.text()
            page.wait_for_function("document.getElementById('output-image').naturalWidth > 0", timeout=60_000)
            output = shown_metadata(page, "output-meta")
            assert output["bytes"] != "?" and output["dimensions"] == f"{SIZE[0]}x{SIZE[1]}"
            assert page.inner_text("#error").strip() == ""
        finally:
            browser.close()


def test_the_page_served_under_a_stage_calls_the_api_of_that_stage() -> None:
    # On AWS the API function serves it at https://<api>.execute-api.<region>.amazonaws.com/prod/playground.
    sync_api = browser_api()
    with LocalHTTPServer() as api_host, sync_api.sync_playwright() as playwright:
        api_host.add("/prod/playground", body=PLAYGROUND.read_bytes(), headers={"Content-Type": "text/html"})
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(api_host.url("/prod/playground"))
            assert page.evaluate("apiBase()") == api_host.url("/prod")
            assert page.get_attribute("#docs-link", "href") == api_host.url("/prod/v1/docs")
        finally:
            browser.close()
