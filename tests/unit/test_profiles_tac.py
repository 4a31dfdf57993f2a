"""The four bundled CMYK print profiles keep total ink within their press's limit (TAC) when the
product converts sRGB with them, and say what they were built from.

The profiles are built by tools/profiles/build.sh (ArgyllCMS colprof from Debian's free
characterisation data); this test needs only the committed .icc files, Pillow and numpy.
The product converts with ``ImageCms.buildTransform(srgb, cmyk, "RGB", "CMYK",
renderingIntent=...)``: both the perceptual and the relative colorimetric intent are checked.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageCms

PROFILES_DIR = Path(__file__).resolve().parents[2] / "layers/core/pixelport/imaging/profiles"

# Allowed overshoot of the ink limit, in percentage points: 8-bit rounding of four channels
# (each up to half a code value = 0.2 points) plus LittleCMS's interpolation.
TOLERANCE = 2.0

# name -> (total ink limit in %, what the description must name)
PROFILES: dict[str, tuple[int, tuple[str, ...]]] = {
    "ISO_Coated": (330, ("Coated FOGRA39 (ISO 12647-2:2004)",)),
    "ISO_Uncoated": (300, ("Uncoated FOGRA29 (ISO 12647-2:2004)",)),
    "USWeb_Coated": (300, ("SWOP2006 Coated3 (CGATS TR003)",)),
    "USWeb_Uncoated": (
        260,
        (
            "approximation",
            "Uncoated FOGRA29",
            "260% ink limit",
            "GRACoL 2013 Uncoated (CGATS21-2-CRPC3)",
        ),
    ),
}

INTENTS = {
    "perceptual": ImageCms.Intent.PERCEPTUAL,
    "relative-colorimetric": ImageCms.Intent.RELATIVE_COLORIMETRIC,
}

Array = npt.NDArray[Any]


def saturated_chart() -> Array:
    """sRGB test colours, as an (n, 3) uint8 array: the eight cube corners, a 33-level grid of the
    whole cube, a fine grid of the dark third (dark saturated colours are where ink piles up), and
    the colours where the worst overshoot was found while building the profiles."""
    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)])
    levels = np.unique(np.r_[np.arange(0, 256, 8), 255])
    whole = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    dark_levels = np.arange(0, 97, 3)
    dark = np.stack(np.meshgrid(dark_levels, dark_levels, dark_levels, indexing="ij"), axis=-1).reshape(-1, 3)
    known_worst = np.array([[32, 8, 8], [60, 36, 48], [0, 24, 15], [18, 42, 6], [44, 28, 12], [88, 40, 0]])
    return np.concatenate([corners, whole, dark, known_worst]).astype(np.uint8)


@pytest.fixture(scope="module")
def chart() -> Image.Image:
    return Image.fromarray(saturated_chart()[None])


def profile_path(name: str) -> Path:
    return PROFILES_DIR / f"{name}.icc"


def open_profile(name: str) -> ImageCms.ImageCmsProfile:
    return ImageCms.getOpenProfile(str(profile_path(name)))


def total_ink(chart: Image.Image, name: str, intent: ImageCms.Intent) -> Array:
    """C + M + Y + K in percent (each channel 0..255 -> 0..100 %) per chart colour."""
    transform = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), open_profile(name), "RGB", "CMYK", renderingIntent=intent
    )
    cmyk = ImageCms.applyTransform(chart, transform)
    assert cmyk is not None
    ink: Array = np.asarray(cmyk).reshape(-1, 4).sum(axis=1, dtype=np.int64) * (100 / 255)
    return ink


def tags(data: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack_from(">I", data, 128)
    out = {}
    for i in range(count):
        sig, offset, size = struct.unpack_from(">4sII", data, 132 + 12 * i)
        out[sig] = data[offset : offset + size]
    return out


def b2a_output_curves(table: bytes) -> Array:
    """The per-channel output curves of a lut16Type ('mft2') B2A table, shape (channels, entries)."""
    assert table[:4] == b"mft2"
    n_in, n_out, grid = table[8], table[9], table[10]
    in_entries, out_entries = struct.unpack_from(">HH", table, 48)
    start = 52 + 2 * n_in * in_entries + 2 * grid**n_in * n_out
    curves = np.frombuffer(table, dtype=">u2", count=n_out * out_entries, offset=start)
    return curves.reshape(n_out, out_entries).astype(np.int64)


@pytest.mark.parametrize("intent", INTENTS.values(), ids=INTENTS.keys())
@pytest.mark.parametrize("name", PROFILES)
def test_srgb_to_cmyk_never_exceeds_the_total_ink_limit(
    chart: Image.Image, name: str, intent: ImageCms.Intent
) -> None:
    tac, _ = PROFILES[name]
    ink = total_ink(chart, name, intent)
    worst = int(ink.argmax())
    colour = saturated_chart()[worst].tolist()
    assert ink.max() <= tac + TOLERANCE, f"sRGB {colour} needs {ink.max():.1f}% ink, limit {tac}%"


@pytest.mark.parametrize("intent", INTENTS.values(), ids=INTENTS.keys())
@pytest.mark.parametrize("name", PROFILES)
def test_srgb_black_uses_nearly_all_the_allowed_ink(name: str, intent: ImageCms.Intent) -> None:
    """The limit is not met by starving the shadows: sRGB black gets a rich black close to the TAC."""
    tac, _ = PROFILES[name]
    ink = total_ink(Image.new("RGB", (1, 1), (0, 0, 0)), name, intent)
    assert tac * 0.85 <= ink[0] <= tac + TOLERANCE


@pytest.mark.parametrize("name", PROFILES)
def test_description_names_the_characterisation_data(name: str) -> None:
    description = ImageCms.getProfileDescription(open_profile(name))
    for phrase in PROFILES[name][1]:
        assert phrase in description


@pytest.mark.parametrize("name", PROFILES)
def test_profile_is_an_output_class_cmyk_profile(name: str) -> None:
    profile = open_profile(name).profile
    assert profile.device_class == "prtr"
    assert profile.xcolor_space == "CMYK"
    assert profile.connection_space == "Lab "
    data = profile_path(name).read_bytes()
    assert data[12:16] == b"prtr" and data[16:20] == b"CMYK"
    assert {b"A2B0", b"A2B1", b"B2A0", b"B2A1", b"B2A2", b"wtpt", b"desc", b"cprt"} <= set(tags(data))


@pytest.mark.parametrize("name", PROFILES)
def test_perceptual_table_is_gamut_mapped_not_a_copy_of_colorimetric(name: str) -> None:
    table = tags(profile_path(name).read_bytes())
    assert table[b"B2A0"] != table[b"B2A1"]


@pytest.mark.parametrize("name", PROFILES)
def test_b2a_tables_end_in_identity_curves_so_interpolation_cannot_overshoot_the_limit(name: str) -> None:
    """build.sh folds colprof's per-channel output curves into the cLUT: with identity curves every
    interpolated CMYK value is a convex mix of cLUT nodes, which colprof keeps within the limit."""
    table = tags(profile_path(name).read_bytes())
    for sig in (b"B2A0", b"B2A1", b"B2A2"):
        curves = b2a_output_curves(table[sig])
        identity = np.rint(np.linspace(0, 65535, curves.shape[1])).astype(np.int64)
        assert np.array_equal(curves, np.broadcast_to(identity, curves.shape)), sig


@pytest.mark.parametrize("name", PROFILES)
def test_profile_is_small_enough_to_embed_in_every_output(name: str) -> None:
    assert profile_path(name).stat().st_size < 1_500_000
