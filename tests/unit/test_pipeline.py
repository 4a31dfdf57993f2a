"""The image path of one edit (decode -> steps -> encode), as a pure function of (bytes, request)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

from pixelport.contract import parse_edit_request
from pixelport.errors import PixelportError
from pixelport.imaging.color import profile_bytes
from pixelport.imaging.pipeline import render
from tests.support.color_difference import ciede2000
from tests.support.icc import display_p3_profile
from tests.support.images import make_image
from tests.support.structure import jpeg_icc_profile


def request(output: Any = None, operations: dict[str, Any] | None = None) -> Any:
    body: dict[str, Any] = {"input": "https://example.test/in.png", "operations": operations or {}}
    if output is not None:
        body["output"] = output
    return parse_edit_request(body)


def encoded(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_metadata_describes_the_input_and_the_output() -> None:
    rendered = render(make_image("PNG", "RGB", (300, 200)), request({"format": "webp"}))
    assert rendered.input == {
        "ext": "png",
        "mps": 0.06,
        "mime": "image/png",
        "format": "PNG",
        "width": 300,
        "height": 200,
    }
    assert rendered.output == {
        "ext": "webp",
        "mps": 0.06,
        "mime": "image/webp",
        "format": "WEBP",
        "width": 300,
        "height": 200,
    }
    assert opened(rendered.data).format == "WEBP"


def test_input_dimensions_are_reported_upright() -> None:
    rendered = render(make_image("JPEG", "RGB", (40, 20), exif_orientation=6), request())
    assert (rendered.input["width"], rendered.input["height"]) == (20, 40)
    assert opened(rendered.data).size == (20, 40)


def test_the_inputs_dpi_is_kept_and_an_explicit_dpi_wins() -> None:
    data = make_image("PNG", "RGB", (32, 32), dpi=150)
    assert opened(render(data, request({"format": "tiff"})).data).info["dpi"] == (150, 150)
    assert opened(render(data, request({"format": "jpeg", "metadata": {"dpi": 300}})).data).info["dpi"] == (
        300,
        300,
    )


def test_an_input_without_dpi_gets_none_written() -> None:
    assert (
        "dpi" not in opened(render(make_image("PNG", "RGB", (16, 16)), request({"format": "png"})).data).info
    )


@pytest.mark.parametrize(
    ("fmt", "keeps"), [("png", True), ("webp", True), ("avif", True), ("tiff", True), ("jpeg", False)]
)
def test_alpha_is_kept_by_formats_that_hold_it_and_flattened_on_white_for_jpeg(fmt: str, keeps: bool) -> None:
    half = Image.new("RGBA", (16, 16), (0, 0, 0, 128))
    result = opened(render(encoded(half, "PNG"), request({"format": fmt})).data)
    assert result.has_transparency_data == keeps
    if not keeps:
        assert abs(int(np.asarray(result.convert("L")).mean()) - 127) <= 3  # 50 % black over white


def test_an_explicit_background_colour_flattens_even_formats_with_alpha() -> None:
    clear = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    result = opened(
        render(encoded(clear, "PNG"), request({"format": "png"}, {"background": {"color": "#ff0000"}})).data
    )
    assert not result.has_transparency_data
    assert result.convert("RGB").getpixel((4, 4)) == (255, 0, 0)


def test_cmyk_output_flattens_alpha_and_embeds_the_profile() -> None:
    half = Image.new("RGBA", (8, 8), (0, 0, 255, 0))
    result = opened(render(encoded(half, "PNG"), request({"metadata": {"color_space": "CMYK"}})).data)
    assert result.mode == "CMYK" and "icc_profile" in result.info
    assert result.getpixel((4, 4)) == (0, 0, 0, 0)  # transparent over white: no ink


def test_output_larger_than_the_megapixel_limit_is_413(set_limits: Callable[..., None]) -> None:
    set_limits(max_output_megapixels=0.001, max_input_megapixels=1)
    with pytest.raises(PixelportError) as caught:
        render(make_image("PNG", "RGB", (64, 48)), request())
    assert (caught.value.status, caught.value.kind.code) == (413, "4132")


def _lab(image: Image.Image, profile: bytes | None) -> np.ndarray[Any, Any]:
    """CIELAB of 8-bit RGB pixels interpreted through `profile` (sRGB when None), in double precision."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile)) if profile else ImageCms.createProfile("sRGB")
    transform = ImageCms.buildTransform(source, ImageCms.createProfile("LAB"), "RGB", "LAB")
    lab = ImageCms.applyTransform(image.convert("RGB"), transform)
    assert lab is not None
    arr = np.asarray(lab)
    return np.stack(
        [arr[..., 0] * 100 / 255, arr[..., 1].view(np.int8), arr[..., 2].view(np.int8)], axis=-1
    ).astype(float)


@pytest.mark.parametrize("output", ["png", "tiff", {"type": "webp", "compression": "lossless"}, "jpeg"])
def test_a_display_p3_image_looks_the_same_after_the_round_trip(output: Any) -> None:
    """Colour-managed reference: the input read through its P3 profile; the output read as sRGB."""
    # Smooth moderate colours, inside both gamuts, so a difference is an error and not gamut clipping
    # (nor JPEG's chroma subsampling at hard edges).
    y, x = np.mgrid[0:128, 0:192] / np.array([128.0, 192.0])[:, None, None]
    pixels = (40 + 160 * np.stack([x, y, (x + y) / 2], axis=-1)).astype(np.uint8)
    p3 = display_p3_profile()
    source = Image.fromarray(pixels, "RGB")
    result = opened(render(encoded(source, "PNG", icc_profile=p3), request({"format": output})).data)
    difference = ciede2000(_lab(source, p3), _lab(result, result.info.get("icc_profile")))
    assert float(difference.mean()) < 1.0
    # and the profile mattered: the same numbers read as sRGB would be visibly off
    assert float(ciede2000(_lab(source, p3), _lab(source, None)).mean()) > 1.5


# --- the input's colour space is kept by default (SPEC 3 metadata) ---


def cmyk_input() -> Image.Image:
    return Image.fromarray(
        np.random.default_rng(6).integers(0, 256, (24, 32, 4), dtype=np.uint8), "CMYK"
    ).resize((64, 48))


def test_cmyk_jpeg_with_its_profile_stays_cmyk_in_that_profile_unconverted() -> None:
    source = cmyk_input()
    usweb = profile_bytes("USWeb_Coated")
    data = encoded(source, "JPEG", quality=95, icc_profile=usweb, subsampling=0)
    out = render(data, request({"format": {"type": "jpeg", "quality": 95}}))
    result = opened(out.data)
    assert result.mode == "CMYK"
    assert jpeg_icc_profile(out.data) == usweb
    # the pixels are the input's, re-encoded at the same quality: no sRGB round trip
    assert np.abs(np.asarray(result, dtype=np.int16) - np.asarray(opened(data), dtype=np.int16)).mean() < 1.5


def test_cmyk_jpeg_without_a_profile_stays_cmyk_labelled_iso_coated() -> None:
    source = cmyk_input()
    data = encoded(source, "JPEG", quality=95, subsampling=0)
    out = render(data, request({"format": {"type": "jpeg", "quality": 95}}))
    result = opened(out.data)
    assert result.mode == "CMYK"
    assert jpeg_icc_profile(out.data) == profile_bytes("ISO_Coated")
    assert np.abs(np.asarray(result, dtype=np.int16) - np.asarray(opened(data), dtype=np.int16)).mean() < 1.5


def test_cmyk_input_to_formats_without_cmyk_or_with_rgb_asked_is_srgb() -> None:
    data = encoded(cmyk_input(), "JPEG", quality=95, icc_profile=profile_bytes("USWeb_Coated"))
    assert opened(render(data, request({"format": "png"})).data).mode == "RGB"
    assert opened(render(data, request({"format": {"type": "tiff"}})).data).mode == "RGB"
    rgb = render(data, request({"format": "jpeg", "metadata": {"color_space": {"type": "RGB"}}}))
    assert opened(rgb.data).mode == "RGB" and jpeg_icc_profile(rgb.data) is None


def test_cmyk_input_with_an_explicit_cmyk_profile_is_converted_to_it() -> None:
    data = encoded(cmyk_input(), "JPEG", quality=95, icc_profile=profile_bytes("USWeb_Coated"))
    space = {"type": "CMYK", "color_profile": "ISO_Uncoated"}
    out = render(data, request({"format": "jpeg", "metadata": {"color_space": space}}))
    assert opened(out.data).mode == "CMYK"
    assert jpeg_icc_profile(out.data) == profile_bytes("ISO_Uncoated")
