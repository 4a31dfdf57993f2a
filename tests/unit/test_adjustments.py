"""`adjustments` (SPEC 4): each moves its measure monotonically with its value and 0 changes nothing."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from pixelport.contract import parse_edit_request
from pixelport.imaging.adjust import exposure_curve
from pixelport.imaging.pipeline import render
from tests.support.structure import synthetic_photo, with_alpha


def adjusted(image: Image.Image, adjustments: dict[str, Any]) -> Image.Image:
    source = io.BytesIO()
    image.save(source, "PNG")
    body = {"input": "https://example.test/in.png", "operations": {"adjustments": adjustments}}
    request = parse_edit_request({**body, "output": {"format": "png"}})
    result = Image.open(io.BytesIO(render(source.getvalue(), request).data))
    result.load()
    return result.convert(image.mode)


def luma(image: Image.Image) -> npt.NDArray[np.float64]:
    return np.asarray(image.convert("L"), dtype=np.float64)


def mean_luminance(image: Image.Image) -> float:
    return float(luma(image).mean())


def rms_contrast(image: Image.Image) -> float:
    return float(luma(image).std())


def chroma(image: Image.Image) -> float:
    """Mean HSV chroma: max(R, G, B) - min(R, G, B)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    return float((rgb.max(axis=-1) - rgb.min(axis=-1)).mean())


def edge_energy(image: Image.Image) -> float:
    grey = luma(image)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


PHOTO = synthetic_photo(96, 72, seed=3)

MEASURES: list[tuple[str, Callable[[Image.Image], float], list[int]]] = [
    ("exposure", mean_luminance, [-100, -60, -20, 0, 20, 60, 100]),
    ("contrast", rms_contrast, [-90, -60, -20, 0, 20, 60, 100]),
    ("saturation", chroma, [-100, -60, -20, 0, 20, 60, 100]),
    ("sharpness", edge_energy, [0, 10, 30, 60, 100]),
]


@pytest.mark.parametrize(("name", "measure", "values"), MEASURES, ids=[m[0] for m in MEASURES])
def test_each_adjustment_moves_its_measure_strictly_with_its_value(
    name: str, measure: Callable[[Image.Image], float], values: list[int]
) -> None:
    measured = [measure(adjusted(PHOTO, {name: value})) for value in values]
    assert all(a < b for a, b in itertools.pairwise(measured)), measured


@pytest.mark.parametrize("name", ["exposure", "contrast", "saturation", "sharpness"])
def test_an_adjustment_of_0_leaves_every_pixel_as_it_was(name: str) -> None:
    assert np.array_equal(np.asarray(adjusted(PHOTO, {name: 0})), np.asarray(PHOTO))


def test_all_adjustments_at_0_together_leave_every_pixel_as_it_was() -> None:
    zero = {"exposure": 0, "contrast": 0, "saturation": 0, "sharpness": 0, "hdr": 0}
    assert np.array_equal(np.asarray(adjusted(PHOTO, zero)), np.asarray(PHOTO))


def test_the_ends_of_the_scales_do_what_the_readme_says() -> None:
    assert chroma(adjusted(PHOTO, {"saturation": -100})) <= 1.0  # greyscale, up to rounding
    assert rms_contrast(adjusted(PHOTO, {"contrast": -100})) <= 0.5  # flat grey
    # +100 exposure is 4x the light: sRGB 50 (linear 0.0319) becomes linear 0.1277, sRGB 100
    assert exposure_curve(100)[50] == 100 and exposure_curve(-100)[100] == 50
    assert exposure_curve(0) == tuple(range(256))


def test_adjustments_leave_alpha_alone() -> None:
    source = with_alpha(PHOTO)
    result = adjusted(source, {"exposure": 40, "contrast": 30, "saturation": -50, "sharpness": 80})
    assert np.array_equal(np.asarray(result)[..., 3], np.asarray(source)[..., 3])


def test_a_grey_image_stays_grey_whatever_the_saturation() -> None:
    grey = PHOTO.convert("L")
    assert np.array_equal(np.asarray(adjusted(grey, {"saturation": 100})), np.asarray(grey))


def test_canvas_and_padding_keep_exactly_the_background_colour_when_the_picture_is_adjusted() -> None:
    source = io.BytesIO()
    PHOTO.save(source, "PNG")
    operations = {
        "padding": "10%",
        "background": {"color": "#336699"},
        "adjustments": {"exposure": 60, "contrast": -40, "saturation": 50, "sharpness": 100},
    }
    request = parse_edit_request(
        {"input": "https://example.test/in.png", "operations": operations, "output": {"format": "png"}}
    )
    result = np.asarray(Image.open(io.BytesIO(render(source.getvalue(), request).data)).convert("RGB"))
    assert (result[:7] == (0x33, 0x66, 0x99)).all() and (result[:, :9] == (0x33, 0x66, 0x99)).all()
    assert (result[-7:] == (0x33, 0x66, 0x99)).all() and (result[:, -9:] == (0x33, 0x66, 0x99)).all()
    inside = result[8:-8, 10:-10].astype(np.float64)
    assert inside.mean() > np.asarray(PHOTO, dtype=np.float64).mean() + 10  # the picture did brighten
