"""The adjust step: `exposure`, `contrast`, `saturation`, `sharpness` (SPEC 4), in that order, each
relative to the image and skipped at 0, so 0 leaves every pixel as it was. The curves (v is the value):

- exposure (-100..100): every colour channel is multiplied by 2 ** (v / 50) in linear light (sRGB
  decoded, scaled, clipped, encoded again): +-2 stops at the ends, +100 = 4x the light.
- contrast (-100..100): every channel is moved away from (or towards) the image's mean grey by the
  factor 1 + v / 100: -100 is flat grey, +100 doubles each pixel's distance from the mean.
- saturation (-100..100): every pixel is moved away from (or towards) its own grey (ITU-R 601 luma) by
  the factor 1 + v / 100: -100 is greyscale, +100 doubles the chroma. Grey images are left alone.
- sharpness (0..100): unsharp mask of radius `SHARPEN_RADIUS` pixels adding 2 * v percent of the
  detail (+100 adds twice the difference between the image and its Gaussian blur).

Results are clipped to 0..255. Alpha is never touched, nor are canvas and padding: they keep exactly
the background colour.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from PIL import Image, ImageEnhance, ImageFilter

from pixelport.imaging.context import Context

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SHARPEN_RADIUS = 2.0


def _srgb_to_linear(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    import numpy as np

    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    import numpy as np

    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


@cache
def exposure_curve(value: int) -> tuple[int, ...]:
    """The 8-bit sRGB lookup table of `exposure` = `value`."""
    # numpy costs every cold start about 0.1 s: imported by the requests that adjust exposure only.
    import numpy as np

    levels = np.arange(256) / 255.0
    light = np.clip(_srgb_to_linear(levels) * 2.0 ** (value / 50), 0.0, 1.0)
    return tuple(int(v) for v in np.rint(_linear_to_srgb(light) * 255.0))


def exposure(image: Image.Image, value: int) -> Image.Image:
    return image.point(list(exposure_curve(value)) * len(image.getbands()))


def contrast(image: Image.Image, value: int) -> Image.Image:
    return ImageEnhance.Contrast(image).enhance(1 + value / 100)


def saturation(image: Image.Image, value: int) -> Image.Image:
    if image.mode == "L":
        return image
    return ImageEnhance.Color(image).enhance(1 + value / 100)


def sharpness(image: Image.Image, value: int) -> Image.Image:
    return image.filter(ImageFilter.UnsharpMask(radius=SHARPEN_RADIUS, percent=2 * value, threshold=0))


Adjustment = Callable[[Image.Image, int], Image.Image]
ADJUSTMENTS: tuple[tuple[str, Adjustment], ...] = (
    ("exposure", exposure),
    ("contrast", contrast),
    ("saturation", saturation),
    ("sharpness", sharpness),
)


def adjusted(image: Image.Image, todo: list[tuple[Adjustment, int]]) -> Image.Image:
    """`image` with every adjustment of `todo` applied to its colour channels, alpha as it was."""
    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    colour = image.convert(image.mode[:-1]) if alpha is not None else image
    for fn, value in todo:
        colour = fn(colour, value)
    if alpha is None:
        return colour
    out = colour.convert(image.mode)
    out.putalpha(alpha)
    return out


def adjust(image: Image.Image, ctx: Context) -> Image.Image:
    """The adjustments, on the picture only: canvas and padding keep exactly the background colour
    (and do not weigh in the mean grey that contrast pivots on)."""
    asked = ctx.request.operations.adjustments
    if asked is None:
        return image
    todo = [(fn, getattr(asked, name)) for name, fn in ADJUSTMENTS if getattr(asked, name) != 0]
    if not todo:
        return image
    layout = ctx.layout
    if not layout.pads:
        return adjusted(image, todo)
    (x, y), (w, h) = layout.offset, layout.window
    out = image.copy()
    out.paste(adjusted(image.crop((x, y, x + w, y + h)), todo), (x, y))
    return out
