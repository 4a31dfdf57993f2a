"""Image I/O through the running service: every input format in each mode to every output format,
and every output example of the published Image I/O page."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

from tests.e2e.client import Answer, edit, fetch
from tests.e2e.conftest import RunningStack
from tests.support.http_server import LocalHTTPServer
from tests.support.images import (
    INPUT_CASES,
    alpha_float,
    grey_float,
    make_image,
    rgb_float,
    source_image,
    split_case,
)
from tests.support.structure import ijg_quality_estimate, jpeg_frame, jpeg_quant_tables

pytestmark = pytest.mark.e2e

SIZE = (64, 48)
OUTPUTS = ("jpeg", "png", "webp", "avif", "tiff")
SIGNATURES = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "tiff": "TIFF"}
EXT = {"jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif", "tiff": "tiff"}
MIME = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
    "tiff": "image/tiff",
}


def has_alpha(mode: str) -> bool:
    return split_case(mode)[0] in {"LA", "RGBA", "PA", "PT", "LA;16", "RGBA;16"}


def expected_rgba(fmt: str, mode: str) -> np.ndarray[Any, Any] | None:
    """What the first frame should look like, computed from the generator, not from our decoder."""
    base, _ = split_case(mode)
    alpha = alpha_float(SIZE)
    if base in ("CMYK",):
        return None  # goes through an ICC profile: covered by the unit tests of input colour
    if base in ("RGB;16", "RGBA;16", "LAB"):
        rgb = rgb_float(SIZE)
        a = alpha if base == "RGBA;16" else np.full(rgb.shape[:2], 255.0)
        return np.dstack([rgb, a])
    if base in ("I;16", "I;16B", "I", "F", "LA;16"):
        grey = grey_float(SIZE)
        a = alpha if base == "LA;16" else np.full(grey.shape, 255.0)
        return np.dstack([grey, grey, grey, a])
    return np.asarray(source_image(base, SIZE, fmt=fmt).convert("RGBA"), dtype=np.float64)


def on_white(rgba: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    a = rgba[..., 3:4] / 255.0
    return rgba[..., :3] * a + 255.0 * (1 - a)


def srgb_of(image: Image.Image) -> Image.Image:
    if image.mode == "CMYK":
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        out = ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
        assert out is not None
        return out
    return image.convert("RGBA")


@pytest.mark.parametrize(("fmt", "mode"), INPUT_CASES, ids=[f"{f}-{m}" for f, m in INPUT_CASES])
def test_every_input_format_and_mode_reaches_every_output_format(
    stack: RunningStack, image_server: LocalHTTPServer, fmt: str, mode: str
) -> None:
    name = f"/inputs/{fmt}-{mode.replace(';', '_').replace('+', '_')}.img"
    image_server.add(
        name, body=make_image(fmt, mode, SIZE), headers={"Content-Type": "application/octet-stream"}
    )

    def one(out: str) -> tuple[str, Answer]:
        return out, edit(
            stack.base_url, {"input": image_server.url(name), "operations": {}, "output": {"format": out}}
        )

    with ThreadPoolExecutor(len(OUTPUTS)) as pool:
        answers = dict(pool.map(one, OUTPUTS))
    expected = expected_rgba(fmt, mode)
    for out, answer in answers.items():
        assert answer.status == 200, (out, answer.body)
        data = answer.json()["data"]
        assert data["input"]["format"] == fmt and (data["input"]["width"], data["input"]["height"]) == SIZE
        meta = data["output"]
        assert (meta["format"], meta["ext"], meta["mime"]) == (SIGNATURES[out], EXT[out], MIME[out])
        assert (meta["width"], meta["height"], meta["mps"]) == (*SIZE, SIZE[0] * SIZE[1] / 1e6)
        assert meta["tmp_url"].endswith(f".{EXT[out]}")
        with Image.open(io.BytesIO(fetch(meta["tmp_url"]))) as result:
            assert result.format == SIGNATURES[out] and result.size == SIZE
            result.load()
            keeps_alpha = has_alpha(mode) and out != "jpeg"
            assert result.has_transparency_data == keeps_alpha, (out, result.mode)
            if expected is not None:
                got = np.asarray(srgb_of(result), dtype=np.float64)
                error = float(np.abs(on_white(got) - on_white(expected)).mean())
                assert error < 12, f"{out}: mean error {error:.1f} levels against the source"


# --- the published Image I/O examples (without a storage destination, which cannot be connected yet)


@pytest.fixture(scope="module")
def photo_url(image_server: LocalHTTPServer) -> str:
    image_server.add("/examples/burger.jpg", body=make_image("JPEG", "RGB", (320, 240), dpi=72))
    return image_server.url("/examples/burger.jpg")


def run_example(stack: RunningStack, url: str, output: Any) -> tuple[dict[str, Any], bytes]:
    answer = edit(stack.base_url, {"input": url, "operations": {}, "output": output})
    assert answer.status == 200, answer.body
    data: dict[str, Any] = answer.json()["data"]
    return data, fetch(data["output"]["tmp_url"])


def test_seed_example_cmyk_iso_coated_at_300_dpi(stack: RunningStack, photo_url: str) -> None:
    output = {
        "format": "jpeg",
        "metadata": {"dpi": 300, "color_space": {"type": "CMYK", "color_profile": "ISO_Coated"}},
    }
    _, data = run_example(stack, photo_url, output)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "CMYK" and image.info["dpi"] == (300, 300)
        description = ImageCms.getProfileDescription(
            ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        )
        assert "FOGRA39" in description


def test_seed_example_jpeg_quality_85_progressive(stack: RunningStack, photo_url: str) -> None:
    _, data = run_example(stack, photo_url, {"format": {"type": "jpeg", "quality": 85, "progressive": True}})
    assert jpeg_frame(data).marker == 0xC2  # SOF2: progressive
    assert abs(ijg_quality_estimate(jpeg_quant_tables(data)[0]) - 85) <= 2


def test_seed_example_rgb_color_space(stack: RunningStack, photo_url: str) -> None:
    meta, data = run_example(stack, photo_url, {"metadata": {"color_space": "RGB"}})
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB" and meta["output"]["format"] == "JPEG"
        assert image.info["dpi"] == (72, 72)  # the input's DPI is kept


def test_seed_example_storage_destination_needs_a_connected_storage(
    stack: RunningStack, photo_url: str
) -> None:
    answer = edit(
        stack.base_url,
        {"input": photo_url, "operations": {}, "output": "storage://storage-name/result-path/image-name.jpg"},
    )
    assert answer.status == 422
    assert answer.json()["error_details"] == {
        "output.destination": ["storage 'storage-name' is not connected to this account"]
    }


@pytest.mark.parametrize(
    ("output", "fmt"),
    [
        ({"format": {"type": "png", "compression": "fast"}}, "PNG"),
        ({"format": {"type": "png", "compression": "best"}}, "PNG"),
        ({"format": {"type": "tiff", "compression": "lossless"}}, "TIFF"),
        ({"format": {"type": "tiff", "compression": {"type": "lossy", "quality": 75}}}, "TIFF"),
        ({"format": {"type": "avif", "compression": "lossless"}}, "AVIF"),
        ({"format": {"type": "avif", "compression": {"type": "lossy", "quality": 50}}}, "AVIF"),
        ({"format": {"type": "webp", "compression": "lossless"}}, "WEBP"),
        ({"format": {"type": "webp", "compression": {"type": "lossy", "quality": 75}}}, "WEBP"),
    ],
)
def test_seed_example_format_options(stack: RunningStack, photo_url: str, output: Any, fmt: str) -> None:
    meta, data = run_example(stack, photo_url, output)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == fmt and meta["output"]["format"] == fmt
