"""decode(): every accepted input format and mode, frames, orientation, bit depths, DPI and errors."""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from io import BytesIO
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageCms, TiffImagePlugin

from pixelport.contract.limits import limits
from pixelport.errors import INPUT_CORRUPT, INPUT_NOT_IMAGE, INPUT_TOO_MANY_PIXELS, PixelportError
from pixelport.formats import INPUT_FORMATS
from pixelport.imaging.color import cmyk_profile_path
from pixelport.imaging.decode import decode, float_to_l
from pixelport.imaging.model import WORKING_MODES
from pixelport.sniff import sniff
from tests.support.images import (
    INPUT_CASES,
    LOSSLESS_FORMATS,
    PATCHES,
    huge_png_header,
    make_image,
    patch_inner,
    png_bytes,
    source_array,
    source_image,
    split_case,
    strip_jpeg_segment,
    tiff16_bytes,
)

SIZE = (64, 48)
ACCEPTED_LIST = "BMP, GIF, JPEG, PNG, TIFF, WEBP, AVIF, HEIC"

Array = npt.NDArray[Any]


def pixels(image: Image.Image) -> Array:
    return np.asarray(image).astype(np.int16)


def srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def intent_for(profile: bytes) -> ImageCms.Intent:
    """The decided intent, computed here from the tag table: perceptual iff there is an A2B0 table."""
    count = int.from_bytes(profile[128:132], "big")
    tags = {profile[132 + 12 * i : 136 + 12 * i] for i in range(count)}
    return ImageCms.Intent.PERCEPTUAL if b"A2B0" in tags else ImageCms.Intent.RELATIVE_COLORIMETRIC


def cmyk_reference(cmyk: Image.Image, profile: bytes | None = None) -> Image.Image:
    """CMYK -> sRGB straight through ImageCms, with ISO_Coated unless a profile is given."""
    if profile is None:
        profile = cmyk_profile_path().read_bytes()
    source = ImageCms.ImageCmsProfile(BytesIO(profile))
    out = ImageCms.profileToProfile(
        cmyk,
        source,
        srgb_profile(),
        renderingIntent=intent_for(profile),
        outputMode="RGB",
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )
    assert out is not None
    return out


def expected(fmt: str, case_mode: str, size: tuple[int, int] = SIZE) -> tuple[str, Array]:
    """The working mode and 8-bit pixels a case must decode to, computed without the decoder."""
    mode, _ = split_case(case_mode)
    if mode in ("I;16", "I;16B", "I"):
        return "L", np.rint(source_array(mode, size).astype(np.float64) * 255 / 65535)
    if mode == "F":
        return "L", np.rint(source_array(mode, size).astype(np.float64) * 255)
    if mode in ("RGB;16", "RGBA;16", "LA;16"):
        target = {"RGB;16": "RGB", "RGBA;16": "RGBA", "LA;16": "LA"}[mode]
        return target, np.rint(source_array(mode, size).astype(np.float64) * 255 / 65535)
    src = source_image(mode, size, 0, fmt)
    if mode == "CMYK":
        return "RGB", pixels(cmyk_reference(src))
    if mode == "LAB":
        lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
        rgb = ImageCms.profileToProfile(src, lab, srgb_profile(), outputMode="RGB")
        assert rgb is not None
        return "RGB", pixels(rgb)
    target = {
        "1": "L",
        "L": "L",
        "LA": "LA",
        "P": "RGB",
        "PT": "RGBA",
        "PA": "RGBA",
        "RGB": "RGB",
        "RGBA": "RGBA",
        "YCbCr": "RGB",
    }[mode]
    return target, pixels(src.convert(target))


def test_input_cases_cover_every_format() -> None:
    assert {fmt for fmt, _ in INPUT_CASES} == set(INPUT_FORMATS)


@pytest.mark.parametrize(("fmt", "mode"), INPUT_CASES, ids=[f"{f}-{m}" for f, m in INPUT_CASES])
def test_every_input_case_decodes_to_the_expected_pixels(fmt: str, mode: str) -> None:
    result = decode(make_image(fmt, mode))
    assert result.format == fmt
    assert result.image.size == SIZE
    assert result.image.mode in WORKING_MODES
    assert result.image.info.get("icc_profile") is None
    want_mode, want = expected(fmt, mode)
    assert result.image.mode == want_mode
    got = pixels(result.image)
    assert got.shape == want.shape
    diff = np.abs(got - want)
    if fmt in LOSSLESS_FORMATS:
        assert diff.max() == 0, f"{fmt} {mode}: lossless input must decode exactly"
        return
    # lossy: small on average, and every colour patch clearly its own colour
    assert diff.mean() < 6
    for name in PATCHES:
        rows, cols = patch_inner(name, SIZE)
        assert diff[rows, cols].max() <= 24, name


@pytest.mark.parametrize(
    "case",
    [
        ("GIF", "P+animated"),
        ("PNG", "RGBA+animated"),
        ("TIFF", "RGB+multipage"),
        ("WEBP", "RGBA+animated"),
        ("AVIF", "RGB+animated"),
    ],
    ids=lambda c: f"{c[0]}-{c[1]}",
)
def test_first_frame_of_animations_and_multipage(case: tuple[str, str]) -> None:
    data = make_image(*case)
    with Image.open(BytesIO(data)) as im:
        assert getattr(im, "n_frames", 1) == 3  # really several frames
    result = decode(data)
    rows, cols = patch_inner("red", SIZE)
    red = pixels(result.image)[rows, cols, :3].mean(axis=(0, 1))
    assert red[0] > 220 and red[1] < 35 and red[2] < 35  # frame 0: red; frame 1 would be cyan
    rows, cols = patch_inner("white", SIZE)
    assert pixels(result.image)[rows, cols, :3].min() > 220  # frame 1 would be black there


def test_mpo_is_a_jpeg_and_gives_its_first_picture() -> None:
    frames = [source_image("RGB", SIZE, k) for k in range(2)]
    out = BytesIO()
    frames[0].save(out, "MPO", save_all=True, append_images=frames[1:], quality=95)
    with Image.open(BytesIO(out.getvalue())) as im:
        assert im.format == "MPO"
    result = decode(out.getvalue())
    assert result.format == "JPEG"
    rows, cols = patch_inner("red", SIZE)
    assert pixels(result.image)[rows, cols, 0].mean() > 220


def test_multi_image_heic_returns_the_primary_image() -> None:
    frames = [source_image("RGB", SIZE, k) for k in range(2)]
    out = BytesIO()
    frames[0].save(out, "HEIF", save_all=True, append_images=frames[1:], quality=90)
    result = decode(out.getvalue())
    rows, cols = patch_inner("red", SIZE)
    assert pixels(result.image)[rows, cols, 0].mean() > 220


# --- orientation ---


def test_jpeg_exif_orientation_6_is_applied() -> None:
    data = make_image("JPEG", "RGB", (40, 20), exif_orientation=6)
    result = decode(data)
    assert result.image.size == (20, 40)
    # stored top-left (red) is displayed top-right after a quarter turn clockwise
    top_right = pixels(result.image)[1, -2]
    assert top_right[0] > 200 and top_right[1] < 60 and top_right[2] < 60
    assert "exif" not in result.image.info
    assert 0x0112 not in result.image.getexif()


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "WEBP", "AVIF", "HEIC"])
def test_exif_orientation_is_applied_in_every_format_that_stores_it(fmt: str) -> None:
    result = decode(make_image(fmt, "RGB", (40, 20), exif_orientation=6))
    assert result.image.size == (20, 40)
    top_right = pixels(result.image)[1, -2]
    assert top_right[0] > 200 and top_right[1] < 60 and top_right[2] < 60


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_the_transposed_source(orientation: int) -> None:
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    source = source_image("RGB", (40, 20))
    want = source.transpose(method) if method is not None else source
    result = decode(make_image("PNG", "RGB", (40, 20), exif_orientation=orientation))
    assert np.array_equal(pixels(result.image), pixels(want))


def test_corrupt_exif_does_not_fail_the_image() -> None:
    out = BytesIO()
    source_image("RGB", SIZE).save(out, "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff")
    result = decode(out.getvalue())
    assert result.image.size == SIZE


# --- bit depths ---


def ramp16(width: int = 1024, height: int = 4) -> npt.NDArray[np.uint16]:
    return np.broadcast_to(np.linspace(0, 65535, width).round().astype(np.uint16), (height, width)).copy()


def rounded16(values: Array) -> Array:
    return np.rint(values.astype(np.float64) * 255 / 65535)


def assert_smooth_gradient(row: Array, reference16: Array) -> None:
    assert np.all(np.diff(row) >= 0), "monotonic"
    assert len(np.unique(row)) == 256, "every 8-bit level, not clipped"
    assert row[0] == 0 and row[-1] == 255
    assert np.array_equal(row, rounded16(reference16))


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grey_gradient_stays_a_smooth_gradient(fmt: str) -> None:
    ramp = ramp16()
    if fmt == "PNG":
        data = png_bytes(ramp, 0)
    else:
        out = BytesIO()
        Image.frombytes("I;16", (ramp.shape[1], ramp.shape[0]), ramp.astype("<u2").tobytes()).save(
            out, "TIFF"
        )
        data = out.getvalue()
    result = decode(data)
    assert result.source_mode.startswith("I;16")
    assert result.image.mode == "L"
    row = pixels(result.image)[0]
    assert_smooth_gradient(row, ramp[0])


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_rgb_gradient_stays_a_smooth_gradient(fmt: str) -> None:
    ramp = ramp16()
    rgb = np.stack([ramp, ramp[:, ::-1], ramp // 2], axis=-1)
    data = png_bytes(rgb, 2) if fmt == "PNG" else tiff16_bytes(rgb)
    result = decode(data)
    assert result.image.mode == "RGB"
    got = pixels(result.image)[0]
    assert_smooth_gradient(got[:, 0], rgb[0, :, 0])
    assert_smooth_gradient(got[::-1, 1], rgb[0, ::-1, 1])
    assert np.array_equal(got[:, 2], rounded16(rgb[0, :, 2]))


def test_16_bit_rgb_tiff_through_libtiff_is_rounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TiffImagePlugin, "READ_LIBTIFF", True)  # the path of compressed TIFFs
    ramp = ramp16(512, 2)
    rgba = np.stack([ramp, ramp[:, ::-1], ramp // 3, ramp], axis=-1)
    result = decode(tiff16_bytes(rgba, alpha=True))
    assert result.image.mode == "RGBA"
    assert np.array_equal(pixels(result.image), rounded16(rgba))


def test_16_bit_grey_png_with_transparent_value() -> None:
    ramp = ramp16(256, 2)
    data = png_bytes(ramp, 0, extra_chunks=[(b"tRNS", struct.pack(">H", int(ramp[0, 10])))])
    result = decode(data)
    assert result.image.mode == "LA"
    alpha = pixels(result.image)[..., 1]
    assert alpha[0, 10] == 0 and (alpha == 0).sum() == np.count_nonzero(ramp == ramp[0, 10])


def float_tiff(values: list[float]) -> bytes:
    arr = np.array([values], dtype=np.float32)
    out = BytesIO()
    Image.frombytes("F", (arr.shape[1], 1), arr.tobytes()).save(out, "TIFF")
    return out.getvalue()


def test_float_within_0_to_1_is_scaled_by_255() -> None:
    result = decode(float_tiff([0.0, 0.25, 0.5, 1.0]))
    assert result.source_mode == "F"
    assert pixels(result.image)[0].tolist() == [0, 64, 128, 255]


def test_float_outside_0_to_1_is_clipped_to_0_255() -> None:
    result = decode(float_tiff([-5.0, 0.4, 100.6, 254.5, 300.0, float("nan"), float("inf")]))
    assert pixels(result.image)[0].tolist() == [0, 0, 101, 254, 255, 0, 255]


def test_float_rule_on_an_empty_range() -> None:
    assert pixels(float_to_l(Image.new("F", (3, 1), 0.0)))[0].tolist() == [0, 0, 0]


def test_32_bit_integer_is_read_on_the_16_bit_scale() -> None:
    arr = np.array([[-10, 0, 257 * 100, 65535, 70000]], dtype=np.int32)
    out = BytesIO()
    Image.frombytes("I", (5, 1), arr.astype("<i4").tobytes()).save(out, "TIFF")
    result = decode(out.getvalue())
    assert result.source_mode == "I"
    assert pixels(result.image)[0].tolist() == [0, 0, 100, 255, 255]


@pytest.mark.parametrize(
    ("lab", "rgb"),
    [
        ((128, 0, 0), (119, 119, 119)),
        ((128, 60, 0), (206, 63, 122)),
        ((128, -60, 0), (0, 143, 117)),
        ((128, 0, 60), (138, 118, 0)),
    ],
)
def test_cielab_tiff_pixels_are_absolute_lab(lab: tuple[int, int, int], rgb: tuple[int, int, int]) -> None:
    # TIFF CIELab: L* scaled to 0..255, a* and b* signed bytes; references from the CIE formulas
    # (D50 Lab -> Bradford -> sRGB), to +-2 for 8-bit rounding
    raw = bytes([lab[0], lab[1] & 0xFF, lab[2] & 0xFF])
    out = BytesIO()
    Image.frombytes("LAB", (1, 1), raw).save(out, "TIFF")
    got = pixels(decode(out.getvalue()).image)[0, 0]
    assert np.abs(got - np.array(rgb)).max() <= 2


def test_grey_palette_stays_grey() -> None:
    grey = source_image("L", SIZE).convert("P")  # a palette of greys
    out = BytesIO()
    grey.save(out, "PNG")
    result = decode(out.getvalue())
    assert result.image.mode == "L"
    assert np.array_equal(pixels(result.image), pixels(source_image("L", SIZE)))


# --- CMYK ---


def jpeg_cmyk_samples_as_stored(data: bytes) -> Array:
    """The CMYK samples exactly as stored in the file (Pillow's reader inverts them: undo that)."""
    with Image.open(BytesIO(data)) as im:
        im.tile = [im.tile[0]._replace(args=("CMYK", ""))]
        im.load()
        return pixels(im)


def test_cmyk_jpeg_is_adobe_inverted_and_decodes_to_the_right_colours() -> None:
    data = make_image("JPEG", "CMYK")
    app14 = data.index(b"\xff\xee")
    assert data[app14 + 4 : app14 + 9] == b"Adobe"  # the APP14 marker Photoshop writes
    rows, cols = patch_inner("cyan", SIZE)
    stored = jpeg_cmyk_samples_as_stored(data)[rows, cols].mean(axis=(0, 1))
    assert stored[0] < 15 and min(stored[1:]) > 240  # pure cyan ink stored inverted: 0, 255, 255, 255
    result = decode(data)
    cyan = pixels(result.image)[rows, cols].mean(axis=(0, 1))
    assert cyan[0] < 60 and cyan[1] > 120 and cyan[2] > 180, "cyan ink must look cyan, not red"
    want = pixels(cmyk_reference(source_image("CMYK", SIZE)))
    assert np.abs(pixels(result.image) - want)[rows, cols].max() <= 16


def test_cmyk_without_profile_goes_through_iso_coated() -> None:
    result = decode(make_image("TIFF", "CMYK"))
    assert result.source_mode == "CMYK"
    want = pixels(cmyk_reference(source_image("CMYK", SIZE)))
    assert np.array_equal(pixels(result.image), want)
    for name in ("cyan", "yellow", "magenta"):
        rows, cols = patch_inner(name, SIZE)
        naive = np.asarray(PATCHES[name][0])
        # colour-managed, not the naive complement of the channels
        assert np.abs(pixels(result.image)[rows, cols][0, 0] - naive).max() > 10, name


# --- DPI ---


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "AVIF", "HEIC", "BMP"])
def test_dpi_is_read_back(fmt: str) -> None:
    assert decode(make_image(fmt, "RGB", dpi=300)).dpi == (300.0, 300.0)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "AVIF", "HEIC", "GIF"])
def test_dpi_is_none_when_absent(fmt: str) -> None:
    assert decode(make_image(fmt, "RGB" if fmt != "GIF" else "P")).dpi is None


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "RGB;16"), ("TIFF", "RGB;16"), ("PNG", "I;16")])
def test_dpi_of_hand_written_16_bit_files(fmt: str, mode: str) -> None:
    assert decode(make_image(fmt, mode, dpi=150)).dpi == (150.0, 150.0)


def test_jpeg_jfif_aspect_only_density_is_no_dpi() -> None:
    data = make_image("JPEG", "RGB")
    with Image.open(BytesIO(data)) as im:
        assert im.info["jfif_unit"] == 0 and im.info["jfif_density"] == (1, 1)
    assert decode(data).dpi is None


def test_jpeg_with_exif_but_no_resolution_is_no_dpi() -> None:
    data = make_image("JPEG", "RGB", exif_orientation=1)
    with Image.open(BytesIO(data)) as im:
        assert im.info.get("dpi") == (72, 72)  # Pillow's invention
    assert decode(data).dpi is None


def test_jpeg_dpi_from_exif_when_jfif_has_no_unit() -> None:
    exif = Image.Exif()
    exif[0x011A], exif[0x011B], exif[0x0128] = 240.0, 240.0, 2
    out = BytesIO()
    source_image("RGB", SIZE).save(out, "JPEG", exif=exif.tobytes())
    assert decode(out.getvalue()).dpi == (240.0, 240.0)


def test_jpeg_dots_per_centimetre() -> None:
    data = bytearray(make_image("JPEG", "RGB"))
    at = data.index(b"JFIF\x00")
    data[at + 7 : at + 12] = struct.pack(">BHH", 2, 100, 50)
    assert decode(bytes(data)).dpi == (254.0, 127.0)


def test_tiff_resolution_in_centimetres_and_without_unit() -> None:
    out = BytesIO()
    source_image("RGB", SIZE).save(out, "TIFF", resolution_unit=3, x_resolution=100, y_resolution=100)
    assert decode(out.getvalue()).dpi == (254.0, 254.0)
    out = BytesIO()
    source_image("RGB", SIZE).save(out, "TIFF", resolution_unit=1, x_resolution=3, y_resolution=2)
    assert decode(out.getvalue()).dpi is None
    plain = make_image("TIFF", "RGB")
    with Image.open(BytesIO(plain)) as im:
        assert im.info.get("dpi") == (1, 1)  # Pillow's default when the tags are absent
    assert decode(plain).dpi is None


def test_png_metric_resolution_is_snapped() -> None:
    data = make_image("PNG", "RGB", dpi=72)
    with Image.open(BytesIO(data)) as im:
        assert im.info["dpi"] != (72, 72)  # 2835 px/m is 72.009 dpi
    assert decode(data).dpi == (72.0, 72.0)


def test_png_pixel_aspect_without_unit_is_no_dpi() -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    data = png_bytes(rgb, 2, 8, extra_chunks=[(b"pHYs", struct.pack(">IIB", 2, 1, 0))])
    assert decode(data).dpi is None


# --- errors ---


def assert_error(data: bytes, kind_code: str) -> PixelportError:
    with pytest.raises(PixelportError) as info:
        decode(data)
    assert info.value.kind.code == kind_code, info.value.message
    return info.value


def zip_bytes() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "hello")
    return out.getvalue()


def pillow_bytes(fmt: str, **params: Any) -> bytes:
    out = BytesIO()
    source_image("RGB", SIZE).save(out, fmt, **params)
    return out.getvalue()


NOT_IMAGES = {
    "empty": b"",
    "text": b"hello, this is not an image\n",
    "json": b'{"input": "x.jpg"}',
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
    "html": b"<!doctype html><html><body>404</body></html>",
    "zip": zip_bytes(),
    "psd": b"8BPS\x00\x01" + b"\x00" * 6 + b"\x00\x03\x00\x00\x00\x10\x00\x00\x00\x10\x00\x08\x00\x03",
    "mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 32,
    "bmp-like text": b"BMW is a car maker, not a bitmap",
    "riff wave": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32,
    "one byte": b"\xff",
}


@pytest.mark.parametrize("name", list(NOT_IMAGES))
def test_non_images_are_4005_naming_the_accepted_formats(name: str) -> None:
    error = assert_error(NOT_IMAGES[name], INPUT_NOT_IMAGE.code)
    assert ACCEPTED_LIST in error.message
    assert error.status == 400


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("JPEG2000", {}),
        ("ICO", {}),
        ("TGA", {}),
        ("PPM", {}),
        ("PCX", {}),
        ("EPS", {}),
        ("PDF", {}),
        ("SGI", {}),
    ],
)
def test_real_images_of_other_formats_are_4005(fmt: str, params: dict[str, Any]) -> None:
    try:
        data = pillow_bytes(fmt, **params)
    except (OSError, KeyError) as e:  # a missing writer would silently drop this format's check
        pytest.fail(f"this Pillow build cannot write {fmt}, so the test cannot prove it is refused: {e}")
    assert sniff(data) is None
    assert ACCEPTED_LIST in assert_error(data, INPUT_NOT_IMAGE.code).message


@pytest.mark.parametrize("fmt", sorted(INPUT_FORMATS))
def test_truncated_files_are_4006(fmt: str) -> None:
    data = make_image(fmt, "RGB" if fmt != "GIF" else "P")
    for fraction in (0.05, 0.3, 0.6):
        error = assert_error(data[: max(20, int(len(data) * fraction))], INPUT_CORRUPT.code)
        assert fmt in error.message


def test_png_signature_followed_by_garbage_is_4006() -> None:
    assert_error(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, INPUT_CORRUPT.code)


def test_png_with_broken_pixel_data_is_4006() -> None:
    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"not zlib at all") + chunk(b"IEND", b"")
    )
    assert_error(data, INPUT_CORRUPT.code)


def test_12_bit_jpeg_is_4006() -> None:
    data = bytearray(make_image("JPEG", "L"))
    sof = data.index(b"\xff\xc0")
    data[sof + 4] = 12  # sample precision
    assert_error(bytes(data), INPUT_CORRUPT.code)


def test_huge_declared_png_is_4131_without_decoding() -> None:
    error = assert_error(huge_png_header(20000, 20000), INPUT_TOO_MANY_PIXELS.code)
    assert "20000x20000" in error.message or "megapixels" in error.message
    assert error.status == 413


def test_size_between_our_limit_and_pillows_bomb_error_is_4131_with_our_message() -> None:
    # 120 MP: above the 100 MP limit, below twice it (where Pillow's own bomb error starts)
    error = assert_error(huge_png_header(12000, 10000), INPUT_TOO_MANY_PIXELS.code)
    assert error.message == "input is 12000x10000 (120 megapixels), more than the limit of 100 megapixels"


def test_pixel_limit_follows_the_configured_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELPORT_MAX_INPUT_MEGAPIXELS", "0.003")
    limits.cache_clear()
    try:
        assert_error(make_image("PNG", "RGB"), INPUT_TOO_MANY_PIXELS.code)  # 3072 px > 3000
        assert decode(make_image("PNG", "RGB", (50, 50))).image.size == (50, 50)
    finally:
        monkeypatch.delenv("PIXELPORT_MAX_INPUT_MEGAPIXELS")
        limits.cache_clear()


def test_decode_leaves_pillows_global_pixel_limit_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = 10**12  # above any size tested, so Pillow's own check (if on) stays quiet
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", sentinel)
    assert decode(make_image("PNG", "RGB", (50, 50))).image.size == (50, 50)
    error = assert_error(huge_png_header(30000, 30000), INPUT_TOO_MANY_PIXELS.code)
    assert error.message.startswith("input is 30000x30000 (900 megapixels)")
    assert sentinel == Image.MAX_IMAGE_PIXELS


class InjectedBug(Exception):
    pass


def test_a_bug_in_our_colour_conversion_propagates_instead_of_4006(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(image: Image.Image, profile: bytes | None) -> Any:
        raise InjectedBug("colour conversion bug")

    monkeypatch.setattr("pixelport.imaging.decode.to_srgb", broken)
    with pytest.raises(InjectedBug):
        decode(make_image("JPEG", "CMYK"))


def test_memory_error_while_loading_propagates_instead_of_4006(monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_memory(self: Image.Image) -> Any:
        raise MemoryError

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", out_of_memory)
    with pytest.raises(MemoryError):
        decode(make_image("PNG", "RGB"))


def test_a_corrupt_file_is_still_4006_with_the_narrowed_error_handling() -> None:
    data = make_image("PNG", "RGB")
    error = assert_error(data[: len(data) // 2], INPUT_CORRUPT.code)
    assert error.status == 400


def test_huge_declared_sizes_in_other_formats_are_4131() -> None:
    data = bytearray(make_image("GIF", "P"))
    data[6:10] = struct.pack("<HH", 30000, 30000)  # logical screen
    assert_error(bytes(data), INPUT_TOO_MANY_PIXELS.code)
    data = bytearray(make_image("BMP", "RGB"))
    data[18:26] = struct.pack("<ii", 40000, 40000)
    assert_error(bytes(data), INPUT_TOO_MANY_PIXELS.code)


# --- fuzz-ish: whatever the bytes, only PixelportError ---


def decode_or_error(data: bytes) -> str:
    try:
        result = decode(data)
    except PixelportError as e:
        assert e.kind.code in (INPUT_NOT_IMAGE.code, INPUT_CORRUPT.code, INPUT_TOO_MANY_PIXELS.code)
        return e.kind.code
    assert result.image.mode in WORKING_MODES
    return "ok"


def test_random_bytes_never_raise_anything_but_pixelport_errors() -> None:
    rng = random.Random(1234)
    prefixes = [
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"GIF89a",
        b"II*\x00",
        b"MM\x00*",
        b"RIFF\x00\x10\x00\x00WEBPVP8 ",
        b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
        b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00avifmif1",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    ]
    for prefix in prefixes:
        for length in (0, 1, 7, 64, 700):
            decode_or_error(prefix + rng.randbytes(length))


def test_truncated_and_mutated_files_of_every_case_never_escape() -> None:
    rng = random.Random(99)
    for fmt, mode in INPUT_CASES:
        data = make_image(fmt, mode, (24, 16))
        cuts = sorted(
            {1, 4, 12, 30, len(data) // 3, len(data) // 2, len(data) - 1, *rng.sample(range(len(data)), 3)}
        )
        for cut in cuts:
            decode_or_error(data[:cut])
        for _ in range(4):
            mutated = bytearray(data)
            for _ in range(8):
                mutated[rng.randrange(16, len(mutated))] = rng.randrange(256)
            decode_or_error(bytes(mutated))


def test_cmyk_jpeg_without_adobe_marker_still_decodes() -> None:
    # Pillow (like browsers) reads every CMYK JPEG with Adobe's inverted convention
    data = strip_jpeg_segment(make_image("JPEG", "CMYK"), 0xEE)
    assert b"Adobe" not in data
    assert decode(data).image.mode == "RGB"
