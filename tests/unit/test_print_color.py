"""to_cmyk(): ink limits per profile, the embedded profile, alpha and grey handling, transform cache."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from pixelport.imaging import color
from pixelport.imaging.color import TAC, profile_bytes, to_cmyk
from tests.support.structure import icc_description, icc_header

TOLERANCE = 2  # percentage points: 8-bit rounding of four channels

# SPEC section 3's table, written here rather than imported, so a changed or dropped limit in the code
# is caught by measuring the ink the conversion actually lays down.
SPEC_TAC = {"ISO_Coated": 330, "ISO_Uncoated": 300, "USWeb_Coated": 300, "USWeb_Uncoated": 260}


def saturated_chart() -> Image.Image:
    """Every combination of 0, 17, 34, ... 255 per channel (4096 colours): the cube's corners (pure
    primaries, secondaries, black), its saturated faces and dark saturated colours, where the
    total ink is highest."""
    levels = np.arange(0, 256, 17, dtype=np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1)
    return Image.fromarray(grid.reshape(64, 64, 3))


def total_ink(cmyk: Image.Image) -> npt.NDArray[np.float64]:
    """C + M + Y + K in percent per pixel (Pillow's CMYK: 0 = no ink, 255 = 100 %)."""
    channels: npt.NDArray[np.float64] = np.asarray(cmyk, dtype=np.float64).reshape(-1, 4)
    ink: npt.NDArray[np.float64] = channels.sum(axis=1) * (100.0 / 255.0)
    return ink


@pytest.mark.parametrize(("profile", "tac"), list(SPEC_TAC.items()))
def test_measured_ink_of_a_saturated_and_dark_chart_stays_within_the_spec_tac(profile: str, tac: int) -> None:
    cmyk, _ = to_cmyk(saturated_chart(), profile)
    assert cmyk.mode == "CMYK"
    ink = total_ink(cmyk)
    assert ink.max() <= tac + TOLERANCE, f"{profile}: {ink.max():.1f} % > {tac} %"
    assert ink.max() >= tac - 80  # a real rich black, not a washed-out conversion


def test_every_spec_profile_is_offered_and_no_other() -> None:
    assert sorted(TAC) == sorted(SPEC_TAC)


@pytest.mark.parametrize("profile", list(TAC))
def test_returns_the_profile_file_bytes(profile: str) -> None:
    _, icc = to_cmyk(Image.new("RGB", (2, 2)), profile)
    assert icc == (color.PROFILES_DIR / f"{profile}.icc").read_bytes()
    header = icc_header(icc)
    assert header["signature"] == b"acsp"
    assert header["class"] == b"prtr" and header["color_space"] == b"CMYK"
    assert header["size"] == len(icc)
    assert icc_description(icc)


def test_primaries_and_paper() -> None:
    colours = [(0, 255, 255), (255, 0, 255), (255, 255, 0), (255, 255, 255), (0, 0, 0)]
    image = Image.new("RGB", (len(colours), 1))
    for i, colour in enumerate(colours):
        image.putpixel((i, 0), colour)
    for profile in TAC:
        cmyk, _ = to_cmyk(image, profile)
        cyan, magenta, yellow, white, black = (cmyk.getpixel((i, 0)) for i in range(len(colours)))
        # sRGB cyan is lighter than process cyan: mostly C, a little Y, no M or K.
        assert isinstance(cyan, tuple) and cyan[0] > 2 * max(cyan[1:]) and cyan[1] < 10 and cyan[3] < 10
        assert isinstance(magenta, tuple) and magenta[1] > 2 * max(magenta[0], magenta[2], magenta[3])
        assert isinstance(yellow, tuple) and yellow[2] > 4 * max(yellow[0], yellow[1], yellow[3])
        assert white == (0, 0, 0, 0)
        assert isinstance(black, tuple) and black[3] == 255


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_is_refused_because_the_pipeline_decides_the_background(mode: str) -> None:
    with pytest.raises(ValueError, match="flatten alpha first"):
        to_cmyk(Image.new(mode, (2, 1)), "ISO_Coated")


def test_grey_converts_like_neutral_rgb() -> None:
    ramp = Image.linear_gradient("L").resize((16, 16))
    from_grey, _ = to_cmyk(ramp, "USWeb_Coated")
    from_rgb, _ = to_cmyk(ramp.convert("RGB"), "USWeb_Coated")
    assert np.array_equal(np.asarray(from_grey), np.asarray(from_rgb))


def test_transforms_are_cached_per_profile_in_the_one_colour_cache() -> None:
    to_cmyk(Image.new("RGB", (1, 1)), "ISO_Uncoated")
    first = color._cmyk_transform(profile_bytes("ISO_Uncoated"))
    assert color._cmyk_transform(profile_bytes("ISO_Uncoated")) is first
    assert color._cmyk_transform(profile_bytes("ISO_Coated")) is not first


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown CMYK profile"):
        to_cmyk(Image.new("RGB", (1, 1)), "../../etc/passwd")
    with pytest.raises(ValueError, match="unknown CMYK profile"):
        profile_bytes("Coated_GRACoL")
