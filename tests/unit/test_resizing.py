"""`resizing` and `padding` (SPEC 4, notes 5.4.2 and 5.4.5): the output sizes the rules give, and
where the pixels go (canvas and padding colours at the borders, the smart-crop window)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixelport.contract import parse_edit_request
from pixelport.errors import PixelportError, ValidationFailed
from pixelport.imaging.geometry import plan
from pixelport.imaging.pipeline import render
from tests.support.images import make_image

LANDSCAPE, PORTRAIT, SQUARE, PANORAMA = (120, 80), (80, 120), (100, 100), (300, 10)
SMART = {"type": "crop", "crop": "smart"}


def request(operations: dict[str, Any], output: Any = "png") -> Any:
    return parse_edit_request(
        {"input": "https://example.test/in.png", "operations": operations, "output": {"format": output}}
    )


def rendered(data: bytes, operations: dict[str, Any], output: Any = "png") -> Image.Image:
    image = Image.open(io.BytesIO(render(data, request(operations, output)).data))
    image.load()
    return image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# Written from the rules, before the code: pixels, percentages and "auto"; every fit; landscape,
# portrait and square inputs. crop: one side given keeps the other side, both given cover then crop.
# cover: cover the box, one side may be larger. bounds: fit inside, one side may be smaller. canvas:
# exactly the box. Other fits with one side: the other side follows the aspect ratio. A percentage
# scales both sides. Sizes round to the nearest pixel, halves up.
SIZES = [
    (LANDSCAPE, {"width": 60}, (60, 80)),
    (PORTRAIT, {"width": 60}, (60, 120)),
    (SQUARE, {"height": 50}, (100, 50)),
    (LANDSCAPE, {"width": 150}, (150, 80)),
    (LANDSCAPE, {"width": "auto", "height": 50, "fit": "crop"}, (120, 50)),
    (LANDSCAPE, {"width": 30, "fit": {"type": "crop", "crop": "smart"}}, (30, 80)),
    (LANDSCAPE, {"width": 60, "height": 60}, (60, 60)),
    (PORTRAIT, {"width": 60, "height": 60}, (60, 60)),
    (SQUARE, {"width": 30, "height": 60}, (30, 60)),
    (SQUARE, {"width": 240, "height": 120}, (240, 120)),
    (PORTRAIT, {"width": 7, "height": 3}, (7, 3)),
    (LANDSCAPE, {"width": 1, "height": 1}, (1, 1)),
    (LANDSCAPE, {"width": 60, "height": 60, "fit": "cover"}, (90, 60)),
    (PORTRAIT, {"width": 60, "height": 60, "fit": "cover"}, (60, 90)),
    (SQUARE, {"width": 30, "height": 60, "fit": "cover"}, (60, 60)),
    (LANDSCAPE, {"width": 100, "height": 99, "fit": "cover"}, (149, 99)),
    (LANDSCAPE, {"height": 60, "fit": "cover"}, (90, 60)),
    (LANDSCAPE, {"width": 60, "height": 60, "fit": "bounds"}, (60, 40)),
    (PORTRAIT, {"width": 60, "height": 60, "fit": "bounds"}, (40, 60)),
    (SQUARE, {"width": 30, "height": 60, "fit": "bounds"}, (30, 30)),
    (LANDSCAPE, {"width": 200, "height": 200, "fit": "bounds"}, (200, 133)),
    (SQUARE, {"width": 1000, "height": 10, "fit": "bounds"}, (10, 10)),
    (LANDSCAPE, {"width": 60, "fit": "bounds"}, (60, 40)),
    (LANDSCAPE, {"height": 40, "fit": {"type": "bounds"}}, (60, 40)),
    (PORTRAIT, {"height": 30, "fit": "bounds"}, (20, 30)),
    (PANORAMA, {"width": 30, "fit": "bounds"}, (30, 1)),
    (LANDSCAPE, {"width": 60, "height": 60, "fit": "canvas"}, (60, 60)),
    (PORTRAIT, {"width": 60, "height": 60, "fit": "canvas"}, (60, 60)),
    (SQUARE, {"width": 30, "height": 60, "fit": "canvas"}, (30, 60)),
    (SQUARE, {"width": 1000, "height": 10, "fit": "canvas"}, (1000, 10)),
    (PORTRAIT, {"width": 60, "fit": "canvas"}, (60, 90)),
    (LANDSCAPE, {"width": "50%"}, (60, 40)),
    (PORTRAIT, {"height": "50%"}, (40, 60)),
    (PORTRAIT, {"width": "150%", "height": "150%"}, (120, 180)),
    (LANDSCAPE, {"width": "33%"}, (40, 26)),
    (SQUARE, {"width": "25%", "height": "25%", "fit": "canvas"}, (25, 25)),
    (LANDSCAPE, {"width": "200%", "fit": "bounds"}, (240, 160)),
    (PORTRAIT, {"width": "10%", "fit": "cover"}, (8, 12)),
    (SQUARE, {}, (100, 100)),
    (LANDSCAPE, {"fit": "canvas"}, (120, 80)),
]


@pytest.mark.parametrize(("source", "resizing", "size"), SIZES)
def test_the_output_has_the_size_the_resizing_rules_give(
    source: tuple[int, int], resizing: dict[str, Any], size: tuple[int, int]
) -> None:
    assert rendered(make_image("PNG", "RGB", source), {"resizing": resizing}).size == size


# padding: percentages of the output size on each side of an axis ("vertical horizontal"); without a
# size the output keeps the input's size and the image shrinks into the room left; with crop it is
# cropped to fill that room, with the other fits it fits inside it.
PADDED = [
    (LANDSCAPE, None, "10%", (120, 80), (96, 64)),
    (PORTRAIT, None, "10% 25%", (80, 120), (40, 60)),
    (SQUARE, None, "0%", (100, 100), (100, 100)),
    (SQUARE, None, "50%", (100, 100), (1, 1)),
    (LANDSCAPE, {"width": 60, "height": 60}, "5%", (60, 60), (54, 54)),
    (LANDSCAPE, {"width": 60, "height": 60, "fit": "bounds"}, "20%", (60, 40), (36, 24)),
    (PORTRAIT, {"width": 60, "height": 60, "fit": "canvas"}, "25% 0%", (60, 60), (20, 30)),
    (SQUARE, {"width": "50%"}, "10%", (50, 50), (40, 40)),
]


@pytest.mark.parametrize(("source", "resizing", "padding", "size", "image"), PADDED)
def test_padding_keeps_the_output_size_and_leaves_the_image_the_room_inside(
    source: tuple[int, int],
    resizing: dict[str, Any] | None,
    padding: str,
    size: tuple[int, int],
    image: tuple[int, int],
) -> None:
    ops = request({"resizing": resizing, "padding": padding}).operations
    assert plan(source, ops.resizing, ops.padding).window == image
    # a black image on the default white: the black box is the image, and it is centred
    result = rendered(png(Image.new("RGB", source, (0, 0, 0))), {"resizing": resizing, "padding": padding})
    assert result.size == size
    dark = np.argwhere(np.asarray(result.convert("L")) < 128)
    top, left = dark.min(axis=0)
    bottom, right = dark.max(axis=0) + 1
    assert (right - left, bottom - top) == image
    assert (left, top) == ((size[0] - image[0]) // 2, (size[1] - image[1]) // 2)


def test_canvas_and_padding_are_the_background_colour_at_every_border() -> None:
    data = png(Image.new("RGB", LANDSCAPE, (0, 0, 255)))
    for operations, sides in (
        ({"resizing": {"width": 80, "height": 80, "fit": "canvas"}}, "top bottom"),
        ({"resizing": {"width": 300, "height": 80, "fit": "canvas"}}, "left right"),
        ({"padding": "20%"}, "top bottom left right"),
        ({"resizing": {"width": 80, "height": 80}, "padding": "10% 20%"}, "top bottom left right"),
    ):
        result = np.asarray(rendered(data, {**operations, "background": {"color": "#ff8000"}}).convert("RGB"))
        borders = {"top": result[0], "bottom": result[-1], "left": result[:, 0], "right": result[:, -1]}
        for side, border in borders.items():
            assert (border == (255, 128, 0)).all() == (side in sides), (operations, side)
        h, w = result.shape[:2]
        assert tuple(result[h // 2, w // 2]) == (0, 0, 255)


def test_the_fill_is_white_by_default_and_for_transparent_on_jpeg() -> None:
    data = png(Image.new("RGB", SQUARE, (0, 0, 0)))
    for background in ({}, {"color": "transparent"}):
        result = rendered(data, {"padding": "20%", "background": background}, "jpeg").convert("RGB")
        assert result.getpixel((1, 1)) == (255, 255, 255)


def test_transparent_fill_is_kept_by_formats_with_alpha_even_for_an_opaque_input() -> None:
    data = png(Image.new("RGB", SQUARE, (0, 0, 0)))
    result = rendered(data, {"padding": "20%", "background": {"color": "transparent"}}, "png")
    assert result.has_transparency_data
    pixels = np.asarray(result.convert("RGBA"))
    assert pixels[1, 1, 3] == 0 and tuple(pixels[50, 50]) == (0, 0, 0, 255)


def test_an_input_with_alpha_gets_a_transparent_fill_by_default_where_the_format_keeps_it() -> None:
    data = png(Image.new("RGBA", SQUARE, (0, 0, 0, 255)))
    assert np.asarray(rendered(data, {"padding": "20%"}, "webp").convert("RGBA"))[1, 1, 3] == 0
    assert rendered(data, {"padding": "20%"}, "jpeg").convert("RGB").getpixel((1, 1)) == (255, 255, 255)


def test_a_grey_image_stays_grey_on_white_and_becomes_colour_on_a_colour() -> None:
    data = png(Image.new("L", SQUARE, 0))
    grey = rendered(data, {"padding": "10%"}, "tiff")
    assert grey.mode == "L" and grey.getpixel((0, 0)) == 255
    coloured = rendered(data, {"padding": "10%", "background": {"color": "#00ff00"}}, "tiff")
    assert coloured.mode == "RGB" and coloured.getpixel((0, 0)) == (0, 255, 0)


def test_without_operations_the_pixels_are_the_inputs() -> None:
    source = Image.merge("RGB", [Image.effect_noise(LANDSCAPE, 40 + 10 * k) for k in range(3)])
    assert np.array_equal(np.asarray(rendered(png(source), {}).convert("RGB")), np.asarray(source))


def test_a_center_crop_keeps_the_middle() -> None:
    # columns numbered by their grey level: a 40-wide centre crop of 120 keeps columns 40..79
    source = Image.fromarray(np.tile(np.arange(120, dtype=np.uint8) * 2, (80, 1)))
    result = np.asarray(rendered(png(source), {"resizing": {"width": 40}}, "tiff"))
    assert result.shape == (80, 40)
    assert (result[0, 0], result[0, -1]) == (80, 158)


def off_centre_subject(size: tuple[int, int] = (300, 100), centre_x: int = 40) -> Image.Image:
    """A flat grey field with a detailed subject (a checkerboard patch) far left of the centre."""
    arr = np.full((size[1], size[0], 3), 128, np.uint8)
    y, x = np.mgrid[0:60, 0:60]
    board = np.where(((x // 6) + (y // 6)) % 2 == 0, 20, 235).astype(np.uint8)
    arr[20:80, centre_x - 30 : centre_x + 30] = board[..., None]
    return Image.fromarray(arr)


def subject_share(result: Image.Image) -> float:
    """Share of the checkerboard's contrast visible: fraction of pixels far from the flat grey."""
    return float((np.abs(np.asarray(result.convert("L"), dtype=np.int16) - 128) > 60).mean())


def test_a_smart_crop_keeps_an_off_centre_subject_that_a_centre_crop_cuts_away() -> None:
    data = png(off_centre_subject())
    smart = rendered(data, {"resizing": {"width": 100, "height": 100, "fit": SMART}})
    centre = rendered(data, {"resizing": {"width": 100, "height": 100}})
    assert smart.size == centre.size == (100, 100)
    assert subject_share(centre) == 0.0
    # the whole 60x60 subject (of 100x100) is inside the smart window
    assert subject_share(smart) == pytest.approx(0.36, abs=0.02)


def test_a_smart_crop_follows_the_subject_along_a_vertical_axis_too() -> None:
    data = png(off_centre_subject().transpose(Image.Transpose.ROTATE_270))  # subject near the bottom
    smart = rendered(data, {"resizing": {"width": 50, "height": 50, "fit": SMART}})
    assert smart.size == (50, 50)
    assert subject_share(smart) == pytest.approx(0.36, abs=0.03)


def test_a_smart_crop_of_a_featureless_image_is_the_centre_crop() -> None:
    source = Image.fromarray(np.tile(np.arange(120, dtype=np.uint8) * 2, (80, 1)))
    smart = rendered(png(source), {"resizing": {"width": 40, "fit": SMART}})
    centre = rendered(png(source), {"resizing": {"width": 40}})
    assert np.array_equal(np.asarray(smart), np.asarray(centre))


def test_upscaling_interpolates_without_distortion() -> None:
    source = Image.new("RGB", (40, 20), (200, 10, 10))
    result = rendered(png(source), {"resizing": {"width": "300%"}}).convert("RGB")
    assert result.size == (120, 60)
    assert (np.asarray(result) == (200, 10, 10)).all()


def test_alpha_survives_resizing_without_dark_fringes() -> None:
    source = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    source.paste((255, 255, 255, 255), (16, 16, 48, 48))
    result = np.asarray(rendered(png(source), {"resizing": {"width": 30, "fit": "bounds"}}).convert("RGBA"))
    visible = result[result[..., 3] > 0]
    assert visible[:, :3].min() >= 250  # colour under transparent pixels does not bleed in


def test_the_output_limit_is_checked_on_the_final_size_before_resampling(set_limits: Any) -> None:
    set_limits(max_output_megapixels=0.01, max_input_megapixels=1)
    for data in (make_image("PNG", "RGB", (64, 48)), make_image("JPEG", "RGB", (64, 48))):
        for resizing in ({"width": 200, "height": 100, "fit": "canvas"}, {"width": "500%"}):
            with pytest.raises(PixelportError) as caught:
                render(data, request({"resizing": resizing}))
            assert (caught.value.status, caught.value.kind.code) == (413, "4132")
            assert "megapixels" in str(caught.value)
        assert rendered(data, {"resizing": {"width": 100, "height": 100, "fit": "canvas"}}).size == (100, 100)


@pytest.mark.parametrize("source", [LANDSCAPE, PORTRAIT, SQUARE, PANORAMA, (4000, 3000), (7, 1999)])
def test_no_fit_ever_distorts_and_the_window_always_fits(source: tuple[int, int]) -> None:
    sides: list[Any] = [1, 13, 64, 500, 3000, "auto", "7%", "250%"]
    fits: list[Any] = ["crop", SMART, "cover", "bounds", "canvas"]
    for width in sides:
        for height in sides:
            for fit in fits:
                for padding in (None, "10% 30%"):
                    body = {"resizing": {"width": width, "height": height, "fit": fit}, "padding": padding}
                    try:
                        ops = request(body).operations
                    except ValidationFailed:  # mixed percentages, both "auto": refused by the contract
                        continue
                    layout = plan(source, ops.resizing, ops.padding)
                    (w, h), (sw, sh) = source, layout.scaled
                    (ww, wh), (cw, ch) = layout.window, layout.canvas
                    assert ww <= sw and wh <= sh and ww <= cw and wh <= ch, body
                    assert min(ww, wh, cw, ch) >= 1, body
                    # uniform scaling: sw = w * s and sh = h * s, each rounded (by at most half a
                    # pixel), unless a side would be under one pixel and is held at one
                    if min(w, h) * min(sw / w, sh / h) >= 1:
                        assert abs(sw * h - sh * w) <= 0.5 * (w + h) + 1e-9, body
