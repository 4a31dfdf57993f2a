"""Input colour management: embedded profiles are honoured, everything leaves in sRGB."""

from __future__ import annotations

import struct
from io import BytesIO
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageCms

from pixelport.imaging import color
from pixelport.imaging.color import (
    TRANSFORM_CACHE_SIZE,
    TRANSFORMS,
    cmyk_profile_path,
    grey_lut_for,
    rendering_intent,
    to_srgb,
    transform_for,
)
from pixelport.imaging.decode import decode
from tests.support.color_difference import ciede2000
from tests.support.icc import display_p3_profile
from tests.support.images import make_image, patch_inner, rgb_float, source_image

SIZE = (64, 48)
Array = npt.NDArray[Any]


def pixels(image: Image.Image) -> Array:
    return np.asarray(image).astype(np.int16)


def srgb_bytes() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def lab(image: Image.Image, profile: bytes) -> Array:
    """Float CIELAB (D50) of RGB pixels interpreted through `profile`, via ImageCms (8-bit Lab)."""
    transform = ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(BytesIO(profile)),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")),
        "RGB",
        "LAB",
        ImageCms.Intent.RELATIVE_COLORIMETRIC,
    )
    out = ImageCms.applyTransform(image.convert("RGB"), transform)
    assert out is not None
    # Pillow keeps LAB as L* * 255 / 100 and signed 8-bit a*, b* (getpixel shows them offset by 128)
    arr = np.asarray(out)
    light = arr[..., 0].astype(np.float64) * 100 / 255
    a, b = (arr[..., i].view(np.int8).astype(np.float64) for i in (1, 2))
    return np.stack([light, a, b], axis=-1)


def test_lab_helper_knows_pillows_lab_layout() -> None:
    green = lab(Image.new("RGB", (1, 1), (0, 255, 0)), srgb_bytes())[0, 0]
    assert abs(green[0] - 87.8) < 0.5 and abs(green[1] + 79.3) < 1.5 and abs(green[2] - 81.0) < 1.5


def mean_delta_e(a: Image.Image, profile_a: bytes, b: Image.Image, profile_b: bytes) -> float:
    return float(np.mean(ciede2000(lab(a, profile_a), lab(b, profile_b))))


def moderate_rgb(size: tuple[int, int] = SIZE) -> Image.Image:
    """Colourful but inside sRGB when read as Display P3 (no patches at full saturation)."""
    arr = np.clip(np.rint(rgb_float(size) * 0.55 + 60), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = BytesIO()
    image.save(out, {"HEIC": "HEIF"}.get(fmt, fmt), **params)
    return out.getvalue()


# --- hand-made grey ICC profiles (ICC v2, monitor class, GRAY data, XYZ PCS) ---


def s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def grey_profile(trc: bytes) -> bytes:
    desc_text = b"pixelport test grey\x00"
    desc = b"desc" + b"\x00" * 4 + struct.pack(">I", len(desc_text)) + desc_text
    desc += b"\x00" * 8 + b"\x00" * 3 + b"\x00" * 67
    wtpt = b"XYZ " + b"\x00" * 4 + s15(0.9642) + s15(1.0) + s15(0.8249)
    tags = [(b"desc", desc), (b"wtpt", wtpt), (b"kTRC", trc)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\x00" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + b"GRAY" + b"XYZ "
    header += b"\x00" * 12 + b"acsp" + b"\x00" * 24 + struct.pack(">I", 0)
    header += s15(0.9642) + s15(1.0) + s15(0.8249) + b"\x00" * 48
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def gamma_curve(gamma: float) -> bytes:
    return b"curv" + b"\x00" * 4 + struct.pack(">IH", 1, round(gamma * 256))


def srgb_curve() -> bytes:
    params = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    return b"para" + b"\x00" * 4 + struct.pack(">HH", 3, 0) + b"".join(s15(p) for p in params)


def srgb_encode(linear: Array) -> Array:
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


# --- RGB ---


@pytest.fixture(scope="module")
def p3() -> bytes:
    return display_p3_profile()


def test_display_p3_png_is_converted_to_srgb_colorimetrically(p3: bytes) -> None:
    source = moderate_rgb()
    result = decode(encode(source, "PNG", icc_profile=p3))
    assert result.image.mode == "RGB"
    assert mean_delta_e(source, p3, result.image, srgb_bytes()) < 1.0
    # and it really was converted: read as sRGB, the same numbers are visibly different colours
    assert mean_delta_e(source, p3, source, srgb_bytes()) > 1.5
    assert not np.array_equal(pixels(result.image), pixels(source))


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF", "WEBP", "AVIF", "HEIC"])
def test_display_p3_is_honoured_in_every_format_that_embeds_icc(fmt: str, p3: bytes) -> None:
    source = moderate_rgb()
    params: dict[str, Any] = {"icc_profile": p3}
    if fmt in ("JPEG", "WEBP", "AVIF", "HEIC"):
        params["quality"] = 95
    if fmt == "JPEG":
        params["subsampling"] = 0
    data = encode(source, fmt, **params)
    with Image.open(BytesIO(data)) as im:
        assert im.info.get("icc_profile") == p3
    result = decode(data)
    # the codec's own loss is not the point: the reference is the same file decoded without
    # colour management, its numbers read as Display P3
    params.pop("icc_profile")
    as_stored = decode(encode(source, fmt, **params)).image
    assert mean_delta_e(as_stored, p3, result.image, srgb_bytes()) < 1.0


def test_p3_alpha_is_kept_untouched(p3: bytes) -> None:
    source = moderate_rgb().convert("RGBA")
    alpha = source_image("RGBA", SIZE).getchannel("A")
    source.putalpha(alpha)
    result = decode(encode(source, "PNG", icc_profile=p3))
    assert result.image.mode == "RGBA"
    assert np.array_equal(pixels(result.image.getchannel("A")), pixels(alpha))
    assert mean_delta_e(source, p3, result.image, srgb_bytes()) < 1.0


def test_p3_palette_png_is_converted(p3: bytes) -> None:
    source = moderate_rgb().quantize(64, dither=Image.Dither.NONE)
    result = decode(encode(source, "PNG", icc_profile=p3))
    assert result.image.mode == "RGB"
    assert mean_delta_e(source.convert("RGB"), p3, result.image, srgb_bytes()) < 1.0


def test_out_of_gamut_p3_red_is_clipped_to_srgb_red(p3: bytes) -> None:
    source = Image.new("RGB", (8, 8), (255, 0, 0))
    red = pixels(decode(encode(source, "PNG", icc_profile=p3)).image)[4, 4]
    assert red[0] == 255 and red[1] < 40 and red[2] < 40


def test_rgb_without_profile_is_untouched() -> None:
    source = source_image("RGB", SIZE)
    assert to_srgb(source, None).profile_status == "none"
    assert np.array_equal(pixels(decode(encode(source, "PNG")).image), pixels(source))


def test_embedded_srgb_profile_leaves_pixels_exact() -> None:
    source = source_image("RGB", SIZE)
    converted = to_srgb(source, srgb_bytes())
    assert converted.profile_status == "srgb"
    assert np.array_equal(
        pixels(decode(encode(source, "PNG", icc_profile=srgb_bytes())).image), pixels(source)
    )


@pytest.mark.parametrize(
    "profile",
    [b"not a profile at all", b"\x00" * 600, "truncated", "grey-on-rgb"],
    ids=["garbage", "zeros", "truncated", "wrong-colour-space"],
)
def test_broken_profile_falls_back_to_srgb(profile: bytes | str, p3: bytes) -> None:
    if profile == "truncated":
        profile = p3[: len(p3) // 2]
    elif profile == "grey-on-rgb":
        profile = grey_profile(gamma_curve(1.0))
    assert isinstance(profile, bytes)
    source = source_image("RGBA", SIZE)
    assert to_srgb(source, profile).profile_status == "invalid"
    result = decode(encode(source, "PNG", icc_profile=profile))
    assert np.array_equal(pixels(result.image), pixels(source))


# --- grey ---


def test_grey_with_linear_profile_is_converted_to_srgb_grey() -> None:
    source = Image.frombytes("L", (256, 1), bytes(range(256)))
    result = decode(encode(source, "PNG", icc_profile=grey_profile(gamma_curve(1.0))))
    assert result.image.mode == "L"  # grey stays grey
    want = np.rint(255 * srgb_encode(np.arange(256) / 255))
    assert np.abs(pixels(result.image)[0] - want).max() <= 1


def test_grey_alpha_with_gamma_profile_keeps_alpha() -> None:
    source = source_image("LA", SIZE)
    result = decode(encode(source, "PNG", icc_profile=grey_profile(gamma_curve(1.8))))
    assert result.image.mode == "LA"
    assert np.array_equal(pixels(result.image)[..., 1], pixels(source)[..., 1])
    # gamma 1.8 data is brighter than the same numbers in sRGB (about gamma 2.2): converted, they rise
    want = np.rint(255 * srgb_encode((pixels(source)[..., 0] / 255) ** 1.8))
    assert np.abs(pixels(result.image)[..., 0] - want).max() <= 1
    assert pixels(result.image)[..., 0].mean() > pixels(source)[..., 0].mean() + 10


def test_grey_with_srgb_curve_profile_is_untouched() -> None:
    profile = grey_profile(srgb_curve())
    source = source_image("L", SIZE)
    assert to_srgb(source, profile).profile_status == "srgb"
    assert np.array_equal(pixels(decode(encode(source, "PNG", icc_profile=profile)).image), pixels(source))


def test_rgb_profile_on_grey_image_is_ignored(p3: bytes) -> None:
    source = source_image("L", SIZE)
    assert to_srgb(source, p3).profile_status == "invalid"
    result = decode(encode(source, "PNG", icc_profile=p3))
    assert result.image.mode == "L"
    assert np.array_equal(pixels(result.image), pixels(source))


# --- CMYK ---


def iso_coated() -> bytes:
    return cmyk_profile_path().read_bytes()


def through(cmyk: Image.Image, profile: bytes) -> Array:
    out = ImageCms.profileToProfile(
        cmyk,
        ImageCms.ImageCmsProfile(BytesIO(profile)),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
        renderingIntent=rendering_intent(profile),
        outputMode="RGB",
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )
    assert out is not None
    return pixels(out)


def test_cmyk_without_profile_uses_iso_coated_for_a_patch() -> None:
    cmyk = source_image("CMYK", SIZE)
    result = decode(make_image("TIFF", "CMYK"))
    rows, cols = patch_inner("cyan", SIZE)
    assert pixels(cmyk)[rows, cols][0, 0].tolist() == [255, 0, 0, 0]  # pure cyan ink
    want = through(cmyk, iso_coated())
    assert np.array_equal(pixels(result.image)[rows, cols], want[rows, cols])
    got = pixels(result.image)[rows, cols][0, 0]
    assert got[0] < 60 and got[1] > 120 and got[2] > 180


def test_cmyk_embedded_profile_is_honoured() -> None:
    others = [p for p in sorted(cmyk_profile_path().parent.glob("*.icc")) if p.stem != "ISO_Coated"]
    assert others, "the bundled CMYK profiles besides ISO_Coated are missing from imaging/profiles"
    embedded = others[0].read_bytes()
    cmyk = source_image("CMYK", SIZE)
    result = decode(encode(cmyk, "TIFF", icc_profile=embedded))
    assert np.array_equal(pixels(result.image), through(cmyk, embedded))
    assert not np.array_equal(pixels(result.image), through(cmyk, iso_coated()))


def test_cmyk_jpeg_embedded_profile_is_honoured() -> None:
    cmyk = source_image("CMYK", SIZE)
    result = decode(encode(cmyk, "JPEG", icc_profile=iso_coated(), quality=95))
    want = through(cmyk, iso_coated())
    assert np.abs(pixels(result.image) - want).mean() < 4


def test_cmyk_with_broken_profile_falls_back_to_iso_coated() -> None:
    cmyk = source_image("CMYK", SIZE)
    assert to_srgb(cmyk, b"\x00" * 300).profile_status == "invalid"
    result = decode(encode(cmyk, "TIFF", icc_profile=b"\x00" * 300))
    assert np.array_equal(pixels(result.image), through(cmyk, iso_coated()))


def test_cmyk_with_rgb_profile_falls_back_to_iso_coated(p3: bytes) -> None:
    cmyk = source_image("CMYK", SIZE)
    converted = to_srgb(cmyk, p3)
    assert converted.profile_status == "invalid"
    assert np.array_equal(pixels(converted.image), through(cmyk, iso_coated()))


# --- intents and cache ---


@pytest.mark.parametrize("name", ["p3", "ISO_Coated", "ISO_Uncoated", "USWeb_Coated", "USWeb_Uncoated"])
def test_rendering_intent_is_perceptual_only_with_a_perceptual_table(name: str, p3: bytes) -> None:
    data = p3 if name == "p3" else cmyk_profile_path(name).read_bytes()
    # LittleCMS's own view: is there a LUT (not a matrix/shaper) for the perceptual intent, input side?
    clut = ImageCms.ImageCmsProfile(BytesIO(data)).profile.clut
    assert clut is not None
    has_table = clut[ImageCms.Intent.PERCEPTUAL][0]
    want = ImageCms.Intent.PERCEPTUAL if has_table else ImageCms.Intent.RELATIVE_COLORIMETRIC
    assert rendering_intent(data) == want
    assert (name == "p3") == (want == ImageCms.Intent.RELATIVE_COLORIMETRIC)


def test_transforms_are_cached(p3: bytes) -> None:
    first = transform_for(p3, "RGB", "RGB")
    assert first is not None
    assert transform_for(bytes(p3), "RGB", "RGB") is first  # keyed by content, not identity
    assert transform_for(srgb_bytes(), "RGB", "RGB") is None  # sRGB-like: cached as "identity"


def test_transform_cache_is_bounded() -> None:
    for i in range(TRANSFORM_CACHE_SIZE + 5):
        assert grey_lut_for(grey_profile(gamma_curve(1.0 + i / 64))) is not None
    assert len(TRANSFORMS) == TRANSFORM_CACHE_SIZE


def test_missing_default_cmyk_profile_is_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from pixelport.errors import INTERNAL, PixelportError

    monkeypatch.setattr(color, "PROFILES_DIR", tmp_path)
    color._read_profile.cache_clear()
    TRANSFORMS.clear()
    try:
        with pytest.raises(PixelportError) as info:
            decode(make_image("TIFF", "CMYK"))
        assert info.value.kind is INTERNAL
    finally:
        color._read_profile.cache_clear()
