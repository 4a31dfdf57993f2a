"""encode() and flatten(): what is in the bytes of every output format (markers, chunks, tags, boxes)
and what the pixels decode to. Parsers: tests/support/structure.py (no outside tools)."""

from __future__ import annotations

from fractions import Fraction
from io import BytesIO
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixelport.contract import OutputOptions, parse_edit_request
from pixelport.imaging.color import profile_bytes
from pixelport.imaging.encode import encode
from pixelport.imaging.model import Encoded
from pixelport.imaging.steps import flatten
from tests.support.structure import (
    IJG_CHROMINANCE,
    SOF0,
    SOF2,
    VP8X_ALPHA,
    VP8X_EXIF,
    adobe_transform,
    av1c_chroma,
    avif_exif,
    avif_nclx,
    avif_property_boxes,
    exif_ifd0,
    ftyp,
    icc_description,
    ijg_quality_estimate,
    jfif_density,
    jpeg_frame,
    jpeg_icc_profile,
    jpeg_quant_tables,
    max_channel_error,
    pixels,
    png_chunk,
    png_ihdr,
    png_phys,
    psnr,
    riff_chunks,
    synthetic_graphic,
    synthetic_photo,
    tiff_ifd0,
    with_alpha,
)

SMALL = (96, 64)


def options(fmt: Any = None, *, dpi: int | None = None, color_space: Any = None) -> OutputOptions:
    """Real, parsed output options (the contract fills in every default)."""
    output: dict[str, Any] = {}
    if fmt is not None:
        output["format"] = fmt
    metadata: dict[str, Any] = {}
    if dpi is not None:
        metadata["dpi"] = dpi
    if color_space is not None:
        metadata["color_space"] = color_space
    if metadata:
        output["metadata"] = metadata
    request = parse_edit_request({"input": "https://example.com/in.png", "operations": {}, "output": output})
    return request.output


def run(image: Image.Image, fmt: Any, dpi: float | None = None, **kw: Any) -> Encoded:
    return encode(image, options(fmt, **kw), dpi=None if dpi is None else (dpi, dpi))


def decoded(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    image.load()
    return image


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return synthetic_photo(*SMALL, seed=3)


@pytest.fixture(scope="module")
def big_photo() -> Image.Image:
    """The photo for compression ratios and PSNR: at 512x512 the synthetic photo has the detail
    density of a real one (squeezed into 96x64 it is all edges and noise)."""
    return synthetic_photo(512, 512, seed=7)


@pytest.fixture(scope="module")
def graphic() -> Image.Image:
    return synthetic_graphic(*SMALL)


@pytest.fixture(scope="module")
def mode_images(photo: Image.Image) -> dict[str, Image.Image]:
    grey = photo.convert("L")
    return {"RGB": photo, "RGBA": with_alpha(photo), "L": grey, "LA": with_alpha(grey)}


def test_result_carries_format_and_size(photo: Image.Image) -> None:
    result = run(photo, "png")
    assert (result.format, result.width, result.height) == ("png", *SMALL)
    assert max_channel_error(photo, decoded(result.data)) == 0


# --- JPEG ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("progressive", "marker"), [(True, SOF2), (False, SOF0)])
def test_jpeg_progressive_is_sof2_baseline_is_sof0(
    photo: Image.Image, progressive: bool, marker: int
) -> None:
    data = run(photo, {"type": "jpeg", "progressive": progressive}).data
    frame = jpeg_frame(data)
    assert frame.marker == marker
    assert (frame.width, frame.height) == SMALL


def test_jpeg_default_is_progressive(photo: Image.Image) -> None:
    assert jpeg_frame(run(photo, "jpeg").data).marker == SOF2


@pytest.mark.parametrize("quality", [50, 75, 85, 95])
def test_jpeg_quality_read_back_from_quantisation_tables(photo: Image.Image, quality: int) -> None:
    tables = jpeg_quant_tables(run(photo, {"type": "jpeg", "quality": quality}).data)
    assert abs(ijg_quality_estimate(tables[0]) - quality) <= 2
    assert abs(ijg_quality_estimate(tables[1], IJG_CHROMINANCE) - quality) <= 2


@pytest.mark.parametrize(
    ("quality", "luma_sampling"), [(50, (2, 2)), (89, (2, 2)), (90, (1, 1)), (100, (1, 1))]
)
def test_jpeg_chroma_subsampling_420_below_90_444_from_90(
    photo: Image.Image, quality: int, luma_sampling: tuple[int, int]
) -> None:
    components = jpeg_frame(run(photo, {"type": "jpeg", "quality": quality}).data).components
    assert len(components) == 3
    assert components[0][1:3] == luma_sampling
    assert all(c[1:3] == (1, 1) for c in components[1:])


def test_jpeg_grey_stays_one_component(mode_images: dict[str, Image.Image]) -> None:
    data = run(mode_images["L"], "jpeg").data
    assert len(jpeg_frame(data).components) == 1
    assert decoded(data).mode == "L"
    assert psnr(mode_images["L"], decoded(data)) >= 30


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_jpeg_refuses_alpha_because_the_pipeline_decides_the_background(mode: str) -> None:
    # SPEC 3 "Alpha (decided)" lives in pipeline.flatten_alpha (tests/unit/test_pipeline.py)
    with pytest.raises(ValueError, match="flatten"):
        run(Image.new(mode, (8, 8)), "jpeg")


def test_jpeg_from_rgba_flattened_onto_the_background_colour() -> None:
    image = Image.new("RGBA", (64, 32), (0, 0, 0, 0))
    image.paste((200, 30, 40, 255), (32, 0, 64, 32))
    out = pixels(decoded(run(flatten(image, "#3366cc"), "jpeg").data))
    assert np.abs(out[8:24, 4:24] - np.array([0x33, 0x66, 0xCC])).max() <= 4


def test_jpeg_from_la_is_grey_on_white(mode_images: dict[str, Image.Image]) -> None:
    la = mode_images["LA"]
    out = decoded(run(flatten(la, None), "jpeg").data)
    assert out.mode == "L"
    assert psnr(flatten(la, None), out) >= 30


# --- JPEG CMYK ---------------------------------------------------------------------------------


CMYK_CHARACTERISATION = {
    "ISO_Coated": "FOGRA39",
    "ISO_Uncoated": "FOGRA29",
    "USWeb_Coated": "SWOP2006",
    "USWeb_Uncoated": "GRACoL 2013 Uncoated",
}


def cmyk_chart() -> Image.Image:
    """16x16 patches: cyan, magenta, yellow, black, white, red (sRGB)."""
    colours = [(0, 255, 255), (255, 0, 255), (255, 255, 0), (0, 0, 0), (255, 255, 255), (255, 0, 0)]
    image = Image.new("RGB", (16 * len(colours), 16))
    for i, colour in enumerate(colours):
        image.paste(colour, (16 * i, 0, 16 * i + 16, 16))
    return image


@pytest.mark.parametrize("profile", list(CMYK_CHARACTERISATION))
def test_cmyk_jpeg_structure_and_embedded_profile(profile: str) -> None:
    result = run(cmyk_chart(), "jpeg", dpi=300, color_space={"type": "CMYK", "color_profile": profile})
    data = result.data
    frame = jpeg_frame(data)
    assert len(frame.components) == 4
    assert all(c[1:3] == (1, 1) for c in frame.components)  # CMYK is never subsampled
    assert adobe_transform(data) == 0  # Adobe APP14, no colour transform: plain (inverted) CMYK
    icc = jpeg_icc_profile(data)
    assert icc == profile_bytes(profile)
    assert CMYK_CHARACTERISATION[profile] in icc_description(icc)
    assert jfif_density(data) == (1, 300, 300)


def test_cmyk_jpeg_colours_in_the_adobe_convention() -> None:
    data = run(cmyk_chart(), "jpeg", color_space="CMYK").data
    image = decoded(data)  # Pillow reads Adobe CMYK JPEGs as inverted samples, as Photoshop writes them
    assert image.mode == "CMYK"
    cyan, magenta, yellow, black, white, red = (image.getpixel((16 * i + 8, 8)) for i in range(6))
    assert isinstance(cyan, tuple) and isinstance(white, tuple) and isinstance(black, tuple)
    c, m, y, k = cyan
    assert c > 90 and c > 2 * max(m, y, k) and m < 10 and k < 10
    assert isinstance(magenta, tuple) and magenta[1] > 2 * max(magenta[0], magenta[2], magenta[3])
    assert isinstance(yellow, tuple) and yellow[2] > 4 * max(yellow[0], yellow[1], yellow[3])
    assert max(white) <= 3  # paper: no ink
    assert black[3] >= 250  # full K in the black
    assert isinstance(red, tuple) and min(red[1], red[2]) > 200 and red[0] < 10


def test_cmyk_jpeg_honours_progressive_and_quality() -> None:
    space = {"type": "CMYK", "color_profile": "ISO_Coated"}
    progressive = run(cmyk_chart(), {"type": "jpeg", "quality": 60}, color_space=space).data
    baseline = run(
        cmyk_chart(), {"type": "jpeg", "quality": 95, "progressive": False}, color_space=space
    ).data
    assert jpeg_frame(progressive).marker == SOF2 and jpeg_frame(baseline).marker == SOF0
    assert abs(ijg_quality_estimate(jpeg_quant_tables(progressive)[0]) - 60) <= 2
    assert abs(ijg_quality_estimate(jpeg_quant_tables(baseline)[0]) - 95) <= 2


def test_cmyk_jpeg_from_flattened_rgba_and_grey(mode_images: dict[str, Image.Image]) -> None:
    for mode in ("RGBA", "L", "LA"):
        data = run(flatten(mode_images[mode], None), "jpeg", color_space="CMYK").data
        assert len(jpeg_frame(data).components) == 4
        assert decoded(data).mode == "CMYK"


def test_rgb_output_embeds_no_profile(photo: Image.Image) -> None:
    assert jpeg_icc_profile(run(photo, "jpeg").data) is None
    assert png_chunk(run(photo, "png").data, b"iCCP") is None
    assert b"ICCP" not in [kind for kind, _ in riff_chunks(run(photo, "webp").data)]


# --- PNG ---------------------------------------------------------------------------------------


def test_png_efforts_strictly_ordered_on_a_photo(big_photo: Image.Image) -> None:
    sizes = {
        c: len(run(big_photo, {"type": "png", "compression": c}).data) for c in ("fast", "optimal", "best")
    }
    assert sizes["fast"] > sizes["optimal"] > sizes["best"], sizes
    assert all(sizes[c] < 512 * 512 * 3 for c in sizes)


@pytest.mark.parametrize("compression", ["fast", "optimal", "best"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_png_is_pixel_identical(mode_images: dict[str, Image.Image], mode: str, compression: str) -> None:
    image = mode_images[mode]
    data = run(image, {"type": "png", "compression": compression}).data
    out = decoded(data)
    assert max_channel_error(image, out) == 0
    if mode == "RGBA":  # the colour under fully transparent pixels survives too
        assert (pixels(image)[..., 3] == 0).any()
    if mode in ("L", "LA"):
        assert png_ihdr(data)["color_type"] in (0, 4)  # grey, grey + alpha


def test_png_optimal_is_smaller_than_pillows_zlib_level_6_on_a_photo(big_photo: Image.Image) -> None:
    zlib6 = BytesIO()
    big_photo.save(zlib6, "PNG", compress_level=6)  # bare Pillow's default
    optimal = run(big_photo, {"type": "png", "compression": "optimal"}).data
    assert len(optimal) < len(zlib6.getvalue())


def test_png_optimal_drops_an_alpha_channel_that_is_opaque_everywhere(photo: Image.Image) -> None:
    opaque = photo.convert("RGBA")
    data = run(opaque, {"type": "png", "compression": "optimal"}).data
    assert png_ihdr(data)["color_type"] == 2  # RGB: oxipng's reduction
    assert max_channel_error(photo, decoded(data).convert("RGB")) == 0


def test_png_optimal_writes_a_photo_with_alpha_as_rgba(mode_images: dict[str, Image.Image]) -> None:
    data = run(mode_images["RGBA"], {"type": "png", "compression": "optimal"}).data
    assert png_ihdr(data)["color_type"] == 6
    assert max_channel_error(mode_images["RGBA"], decoded(data)) == 0


def test_png_graphic_lossless_with_reductions(graphic: Image.Image) -> None:
    for compression in ("optimal", "best"):
        data = run(graphic, {"type": "png", "compression": compression}).data
        assert max_channel_error(graphic, decoded(data)) == 0


# --- TIFF --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_tiff_lossless_is_lzw_with_predictor_and_pixel_identical(
    mode_images: dict[str, Image.Image], mode: str
) -> None:
    image = mode_images[mode]
    data = run(image, "tiff").data  # lossless is the default
    tags = tiff_ifd0(data)
    assert tags[259] == (5,)  # Compression: LZW
    assert tags[317] == (2,)  # Predictor: horizontal differencing
    if mode in ("RGBA", "LA"):
        assert tags[338] == (2,)  # ExtraSamples: unassociated alpha
    out = decoded(data)
    assert out.mode == mode
    assert max_channel_error(image, out) == 0


@pytest.mark.parametrize("quality", [50, 75, 95])
def test_tiff_lossy_is_jpeg_with_the_requested_quality(photo: Image.Image, quality: int) -> None:
    data = run(photo, {"type": "tiff", "compression": {"type": "lossy", "quality": quality}}).data
    tags = tiff_ifd0(data)
    assert tags[259] == (7,)  # Compression: JPEG (TIFF technote 2)
    tables = tags[347]  # JPEGTables: an abbreviated JPEG stream holding the DQT
    assert isinstance(tables, bytes)
    assert abs(ijg_quality_estimate(jpeg_quant_tables(tables)[0]) - quality) <= 2


def test_tiff_lossy_keeps_alpha(mode_images: dict[str, Image.Image]) -> None:
    image = mode_images["RGBA"]
    data = run(image, {"type": "tiff", "compression": "lossy"}).data
    tags = tiff_ifd0(data)
    assert tags[259] == (7,) and tags[277] == (4,) and tags[338] == (2,)
    out = decoded(data)
    assert out.mode == "RGBA"
    assert psnr(image, out) >= 30


# --- WEBP --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_webp_lossless_is_vp8l_and_pixel_identical(mode_images: dict[str, Image.Image], mode: str) -> None:
    image = mode_images[mode]
    result = run(image, {"type": "webp", "compression": "lossless"})
    kinds = [kind for kind, _ in riff_chunks(result.data)]
    assert b"VP8L" in kinds and b"VP8 " not in kinds
    out = decoded(result.data)
    assert max_channel_error(image, out) == 0  # RGBA: alpha and the RGB under transparent pixels


def test_webp_lossless_grey_is_exact(mode_images: dict[str, Image.Image]) -> None:
    for mode in ("L", "LA"):
        image = mode_images[mode]
        assert (
            max_channel_error(image, decoded(run(image, {"type": "webp", "compression": "lossless"}).data))
            == 0
        )


def test_webp_lossy_opaque_is_a_plain_vp8_chunk(photo: Image.Image) -> None:
    chunks = riff_chunks(run(photo, "webp").data)
    assert [kind for kind, _ in chunks] == [b"VP8 "]


def test_webp_lossy_with_alpha_is_vp8x_alph_vp8(mode_images: dict[str, Image.Image]) -> None:
    image = mode_images["RGBA"]
    data = run(image, {"type": "webp", "compression": {"type": "lossy", "quality": 80}}).data
    chunks = riff_chunks(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds == [b"VP8X", b"ALPH", b"VP8 "]
    assert chunks[0][1][0] & VP8X_ALPHA
    out = decoded(data)
    assert out.mode == "RGBA"
    assert np.array_equal(pixels(out)[..., 3], pixels(image)[..., 3])  # alpha is coded losslessly


# --- AVIF --------------------------------------------------------------------------------------

# The documented bound of "lossless" AVIF for colour pixels (docs/image-io.md): 8-bit YCbCr rounding.
AVIF_LOSSLESS_MAX_ERROR = 3


def test_avif_lossy_brand_chroma_and_quality(big_photo: Image.Image) -> None:
    result = run(big_photo, "avif")
    major, compatible = ftyp(result.data)
    assert major == b"avif" and b"mif1" in compatible
    assert [av1c_chroma(box) for box in avif_property_boxes(result.data, b"av1C")] == [(False, 1, 1)]
    assert psnr(big_photo, decoded(result.data)) >= 30


def test_avif_lossy_from_90_keeps_full_chroma(photo: Image.Image) -> None:
    data = run(photo, {"type": "avif", "compression": {"type": "lossy", "quality": 90}}).data
    assert [av1c_chroma(box) for box in avif_property_boxes(data, b"av1C")] == [(False, 0, 0)]


def test_avif_lossless_within_the_documented_bound(photo: Image.Image, graphic: Image.Image) -> None:
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    for image in (photo, graphic, noise):
        result = run(image, {"type": "avif", "compression": "lossless"})
        assert ftyp(result.data)[0] == b"avif"
        assert [av1c_chroma(b) for b in avif_property_boxes(result.data, b"av1C")] == [(False, 0, 0)]
        assert avif_nclx(result.data) == (1, 13, 6, True)  # BT.709, sRGB, BT.601 matrix, full range
        assert 0 < max_channel_error(image, decoded(result.data)) <= AVIF_LOSSLESS_MAX_ERROR


def test_avif_lossless_grey_and_alpha_are_exact(mode_images: dict[str, Image.Image]) -> None:
    neutral = mode_images["L"].convert("RGB")
    for image in (mode_images["L"], mode_images["LA"], neutral):
        result = run(image, {"type": "avif", "compression": "lossless"})
        assert max_channel_error(image, decoded(result.data)) == 0
    rgba = mode_images["RGBA"]
    out = decoded(run(rgba, {"type": "avif", "compression": "lossless"}).data)
    assert out.mode == "RGBA"
    assert np.array_equal(pixels(out)[..., 3], pixels(rgba)[..., 3])
    assert max_channel_error(rgba, out) <= AVIF_LOSSLESS_MAX_ERROR


def test_avif_lossy_keeps_alpha(mode_images: dict[str, Image.Image]) -> None:
    image = mode_images["RGBA"]
    data = run(image, "avif").data
    assert len(avif_property_boxes(data, b"av1C")) == 2  # colour + alpha auxiliary image
    assert any(b"auxiliary:alpha" in box for box in avif_property_boxes(data, b"auxC"))
    out = decoded(data)
    assert out.mode == "RGBA"
    assert np.array_equal(pixels(out)[..., 3], pixels(image)[..., 3])  # alpha is coded losslessly


def test_avif_grey_is_monochrome(mode_images: dict[str, Image.Image]) -> None:
    data = run(mode_images["L"], "avif").data
    assert [av1c_chroma(b) for b in avif_property_boxes(data, b"av1C")] == [(True, 1, 1)]


# --- every lossy format at its default quality -----------------------------------------------------


@pytest.mark.parametrize(
    "fmt",
    ["jpeg", "webp", "avif", {"type": "tiff", "compression": "lossy"}],
    ids=["jpeg", "webp", "avif", "tiff"],
)
def test_lossy_default_quality_psnr_at_least_30db(big_photo: Image.Image, fmt: Any) -> None:
    result = run(big_photo, fmt)
    assert psnr(big_photo, decoded(result.data)) >= 30


# --- DPI -------------------------------------------------------------------------------------------


def exif_resolution(blob: bytes | None) -> tuple[Any, Any, Any] | None:
    if blob is None:
        return None
    tags = exif_ifd0(blob)
    return tags.get(282), tags.get(283), tags.get(296)


def written_dpi(fmt: str, data: bytes) -> Any:
    """The resolution as the format's own field holds it."""
    if fmt == "jpeg":
        return jfif_density(data)
    if fmt == "png":
        return png_phys(data)
    if fmt == "tiff":
        tags = tiff_ifd0(data)
        return (tags[282], tags[283], tags[296]) if 282 in tags else None
    if fmt == "webp":
        return exif_resolution(next((body for kind, body in riff_chunks(data) if kind == b"EXIF"), None))
    return exif_resolution(avif_exif(data))


def expected_dpi(fmt: str, dpi: int | None) -> Any:
    if fmt == "jpeg":
        return (1, dpi, dpi) if dpi else (0, 1, 1)  # unit 0: aspect ratio only
    if fmt == "png":
        return None if dpi is None else (round(dpi / 0.0254), round(dpi / 0.0254), 1)
    if dpi is None:
        return None
    return ((Fraction(dpi),), (Fraction(dpi),), (2,))


@pytest.mark.parametrize("dpi", [72, 300, None])
@pytest.mark.parametrize("fmt", ["jpeg", "png", "tiff", "webp", "avif"])
def test_dpi_in_the_formats_own_field(photo: Image.Image, fmt: str, dpi: int | None) -> None:
    data = run(photo, fmt, dpi=dpi).data
    assert written_dpi(fmt, data) == expected_dpi(fmt, dpi)


def test_png_phys_values() -> None:
    image = Image.new("RGB", (8, 8))
    assert png_phys(run(image, "png", dpi=300).data) == (11811, 11811, 1)
    assert png_phys(run(image, "png", dpi=72).data) == (2835, 2835, 1)
    assert png_phys(run(image, {"type": "png", "compression": "best"}, dpi=300).data) == (11811, 11811, 1)


def test_dpi_from_options_metadata_via_contract(photo: Image.Image) -> None:
    opts = options("webp", dpi=300)
    assert opts.metadata.dpi == 300
    result = encode(photo, opts, dpi=(float(opts.metadata.dpi), float(opts.metadata.dpi)))
    chunks = riff_chunks(result.data)
    assert chunks[0][0] == b"VP8X" and chunks[0][1][0] & VP8X_EXIF


def test_unusable_dpi_writes_none(photo: Image.Image) -> None:
    assert jfif_density(encode(photo, options("jpeg"), dpi=(0.0, 0.0)).data) == (0, 1, 1)
    assert png_phys(encode(photo, options("png"), dpi=(float("nan"), 72.0)).data) is None


def test_jpeg_dpi_rounded_and_clamped(photo: Image.Image) -> None:
    assert jfif_density(encode(photo, options("jpeg"), dpi=(299.6, 72.4)).data) == (1, 300, 72)
    assert jfif_density(encode(photo, options("jpeg"), dpi=(70000.0, 0.2)).data) == (1, 65535, 1)
    assert jfif_density(encode(photo, options("jpeg"), dpi=(1e12, 300.0)).data) == (0, 1, 1)
    assert png_phys(encode(photo, options("png"), dpi=(1e12, 300.0)).data) is None


# --- flatten -----------------------------------------------------------------------------------


def test_flatten_half_black_over_white_is_mid_grey() -> None:
    image = Image.new("LA", (2, 1))
    image.putpixel((0, 0), (0, 128))
    image.putpixel((1, 0), (0, 127))
    out = flatten(image, None)
    assert out.mode == "L"
    assert [out.getpixel((0, 0)), out.getpixel((1, 0))] == [127, 128]


def test_flatten_matches_straight_alpha_maths() -> None:
    rng = np.random.default_rng(5)
    arr = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    arr[0, :, 3] = 0
    arr[1, :, 3] = 255
    image = Image.fromarray(arr)
    bg = np.array([0x33, 0x66, 0xCC], dtype=np.float64)
    a = arr[..., 3:].astype(np.float64) / 255
    expected = np.floor(arr[..., :3] * a + bg * (1 - a) + 0.5)
    out = flatten(image, "#3366cc")
    assert out.mode == "RGB"
    assert np.array_equal(pixels(out), expected.astype(np.int16))
    assert (pixels(out)[0] == bg.astype(np.int16)).all()  # transparent: exactly the background
    assert (pixels(out)[1] == arr[1, :, :3]).all()  # opaque: exactly the pixel


def test_flatten_rounds_every_foreground_alpha_and_background_value_as_the_formula() -> None:
    fg = np.repeat(np.arange(256, dtype=np.uint8)[None, :], 256, axis=0)  # column: foreground
    alpha = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 256, axis=1)  # row: alpha
    la = Image.fromarray(np.stack([fg, alpha], axis=-1), "LA")
    rgba = Image.fromarray(np.stack([fg, 255 - fg, fg, alpha], axis=-1), "RGBA")
    a = alpha.astype(np.int64)

    def expected(channel: np.ndarray, bg: int) -> np.ndarray:
        return (channel.astype(np.int64) * a + bg * (255 - a) + 127) // 255

    for bg in range(256):  # grey: every background value
        assert np.array_equal(np.asarray(flatten(la, f"#{bg:02x}{bg:02x}{bg:02x}")), expected(fg, bg)), bg
    for r, g, b in [(0, 255, 1), (127, 128, 254), (0x33, 0x66, 0xCC), (255, 0, 128)]:
        out = np.asarray(flatten(rgba, f"#{r:02x}{g:02x}{b:02x}"))
        assert np.array_equal(out[..., 0], expected(fg, r))
        assert np.array_equal(out[..., 1], expected(255 - fg, g))
        assert np.array_equal(out[..., 2], expected(fg, b))
        coloured = np.asarray(flatten(la, f"#{r:02x}{g:02x}{b:02x}"))  # LA on a colour: RGB
        assert all(np.array_equal(coloured[..., i], expected(fg, bg)) for i, bg in enumerate((r, g, b)))


def test_flatten_defaults_and_modes() -> None:
    rgba = Image.new("RGBA", (1, 1), (10, 20, 30, 0))
    assert flatten(rgba, None).getpixel((0, 0)) == (255, 255, 255)
    assert flatten(rgba, "transparent").getpixel((0, 0)) == (255, 255, 255)
    la = Image.new("LA", (1, 1), (0, 0))
    assert flatten(la, "#808080").mode == "L"
    coloured = flatten(la, "#ff0000")
    assert coloured.mode == "RGB" and coloured.getpixel((0, 0)) == (255, 0, 0)
    rgb = Image.new("RGB", (1, 1))
    assert flatten(rgb, "#ff0000") is rgb
    with pytest.raises(ValueError, match="#rrggbb"):
        flatten(rgba, "red")
