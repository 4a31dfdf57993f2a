"""tests/support/icc: the Display P3 profile generated in code is a valid, correct ICC profile.

Checked against the Debian/ArgyllCMS reference DisplayP3.icm when this was written (not at test
time): P3 -> Lab and P3 -> sRGB through LittleCMS differ by at most 0.03 CIEDE2000.
"""

from __future__ import annotations

import hashlib
import struct
from io import BytesIO
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageCms

from tests.support.icc import (
    D50_XYZ,
    D65_XY,
    DISPLAY_P3_PRIMARIES,
    SRGB_PRIMARIES,
    display_p3_profile,
    rgb_matrix_profile,
)

Array = npt.NDArray[Any]


def cms(data: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(BytesIO(data))


def convert(pixels: Array, source: bytes, target: ImageCms.ImageCmsProfile, mode: str) -> Array:
    transform = ImageCms.buildTransform(
        cms(source), target, "RGB", mode, ImageCms.Intent.RELATIVE_COLORIMETRIC
    )
    out = ImageCms.applyTransform(Image.fromarray(pixels.astype(np.uint8)[None]), transform)
    assert out is not None
    pixels_out: Array = np.asarray(out)[0]
    return pixels_out


def to_srgb(pixels: Array, source: bytes) -> Array:
    return convert(pixels, source, ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")), "RGB")


def to_lab(pixels: Array, source: bytes) -> Array:
    """CIELAB (D50) floats; Pillow's 8-bit LAB mode stores a* and b* as signed bytes."""
    raw = convert(pixels, source, ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")), "LAB")
    signed = raw.astype(np.uint8).view(np.int8).astype(np.float64)
    return np.stack([raw[:, 0].astype(np.float64) * 100 / 255, signed[:, 1], signed[:, 2]], axis=-1)


def tags(data: bytes) -> dict[bytes, tuple[int, int]]:
    (count,) = struct.unpack_from(">I", data, 128)
    table = (struct.unpack_from(">4sII", data, 132 + 12 * i) for i in range(count))
    return {sig: (offset, size) for sig, offset, size in table}


def srgb_decode(v: Array) -> Array:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_encode(v: Array) -> Array:
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(np.maximum(v, 0), 1 / 2.4) - 0.055)


def rgb_to_xyz(primaries: Any, white: tuple[float, float]) -> Array:
    """Independent numpy derivation of linear RGB -> XYZ (own white)."""
    xyz = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries]).T
    w = np.array([white[0] / white[1], 1.0, (1 - white[0] - white[1]) / white[1]])
    return np.asarray(xyz * np.linalg.solve(xyz, w))


def cube(step: int) -> Array:
    v = np.arange(0, 256, step)
    return np.stack(np.meshgrid(v, v, v, indexing="ij"), axis=-1).reshape(-1, 3)


@pytest.fixture(scope="module")
def p3() -> bytes:
    return display_p3_profile()


def test_generated_p3_loads_in_littlecms_as_a_v4_rgb_display_matrix_profile(p3: bytes) -> None:
    profile = cms(p3).profile
    assert profile.version == pytest.approx(4.4)
    assert (profile.device_class, profile.xcolor_space, profile.connection_space) == ("mntr", "RGB ", "XYZ ")
    assert profile.is_matrix_shaper
    assert ImageCms.getProfileDescription(cms(p3)).strip() == "Display P3"
    assert profile.chromatic_adaptation is not None  # v4 requires chad for a non-D50 white


def test_generated_p3_is_well_formed_icc(p3: bytes) -> None:
    assert struct.unpack_from(">I", p3)[0] == len(p3)
    assert p3[36:40] == b"acsp"
    found = tags(p3)
    required = {b"desc", b"cprt", b"wtpt", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC", b"chad"}
    assert required <= set(found)
    for offset, size in found.values():
        assert offset % 4 == 0 and offset + size <= len(p3)
    # v4 profile ID: MD5 over the profile with flags, rendering intent and the ID zeroed
    zeroed = bytearray(p3)
    zeroed[44:48], zeroed[64:68], zeroed[84:100] = b"\0" * 4, b"\0" * 4, b"\0" * 16
    assert p3[84:100] == hashlib.md5(bytes(zeroed), usedforsecurity=False).digest()
    # the same inputs give the same bytes
    assert display_p3_profile() == p3


def test_colorants_add_up_to_the_d50_white_exactly(p3: bytes) -> None:
    def xyz(sig: bytes) -> tuple[int, int, int]:
        offset, _ = tags(p3)[sig]
        x, y, z = struct.unpack_from(">3i", p3, offset + 8)
        return x, y, z

    total = np.sum([xyz(b"rXYZ"), xyz(b"gXYZ"), xyz(b"bXYZ")], axis=0)
    assert total.tolist() == [round(v * 65536) for v in D50_XYZ]
    assert xyz(b"wtpt") == tuple(round(v * 65536) for v in D50_XYZ)


def test_pure_p3_red_is_out_of_srgb_gamut_and_clips_to_srgb_red(p3: bytes) -> None:
    red = to_srgb(np.array([[255, 0, 0]]), p3)[0]
    assert red[0] == 255
    assert red[1] <= 2 and red[2] <= 2
    # and is really outside sRGB: its exact sRGB linear value has a negative green and blue
    p3_to_srgb = np.linalg.solve(rgb_to_xyz(SRGB_PRIMARIES, D65_XY), rgb_to_xyz(DISPLAY_P3_PRIMARIES, D65_XY))
    exact = p3_to_srgb @ np.array([1.0, 0.0, 0.0])
    assert exact[0] > 1.2 and exact[1] < 0 and exact[2] < 0


def test_neutral_greys_stay_neutral_in_lab(p3: bytes) -> None:
    greys = np.repeat(np.arange(0, 256, 5)[:, None], 3, axis=1)
    lab = to_lab(greys, p3)
    assert np.abs(lab[:, 1:]).max() <= 1  # one 8-bit a*/b* step
    assert np.all(np.diff(lab[:, 0]) >= 0) and lab[0, 0] == 0 and lab[-1, 0] == 100


def test_p3_to_srgb_matches_the_analytic_conversion(p3: bytes) -> None:
    rgb = cube(15)
    p3_to_srgb = np.linalg.solve(rgb_to_xyz(SRGB_PRIMARIES, D65_XY), rgb_to_xyz(DISPLAY_P3_PRIMARIES, D65_XY))
    linear = srgb_decode(rgb / 255) @ p3_to_srgb.T
    inside = np.all((linear >= 0) & (linear <= 1), axis=1)
    expected = np.rint(255 * srgb_encode(np.clip(linear, 0, 1)))
    got = to_srgb(rgb, p3).astype(np.float64)
    assert inside.sum() > 1000
    assert np.abs(got[inside] - expected[inside]).max() <= 1
    # out-of-gamut colours clip: each channel stays within a code value or two of the clipped value
    assert np.abs(got - expected).max() <= 2


def test_v2_variant_loads_and_agrees_with_v4(p3: bytes) -> None:
    v2 = display_p3_profile(version=2)
    assert cms(v2).profile.version == pytest.approx(2.4)
    assert {b"desc", b"cprt", b"wtpt", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC"} <= set(tags(v2))
    rgb = cube(17)
    assert np.abs(to_srgb(rgb, v2).astype(int) - to_srgb(rgb, p3)).max() <= 1


def test_generic_helper_with_srgb_primaries_reproduces_srgb() -> None:
    generated = rgb_matrix_profile(SRGB_PRIMARIES, D65_XY, "sRGB (generated)")
    rgb = cube(17)
    assert np.abs(to_srgb(rgb, generated).astype(int) - rgb).max() <= 1


def test_helper_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="version"):
        rgb_matrix_profile(SRGB_PRIMARIES, D65_XY, "x", version=3)
    with pytest.raises(ValueError, match="three primaries"):
        rgb_matrix_profile(SRGB_PRIMARIES[:2], D65_XY, "x")
