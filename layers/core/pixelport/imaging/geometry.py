"""Where `resizing` and `padding` put the image (SPEC 4; the rules of notes 5.4.2 and 5.4.5): from the
input's size and the request to every size the steps produce, before a pixel is touched.

Sizes are rounded to the nearest pixel (halves up) and are never below 1. The image is only ever
scaled uniformly: a fit crops, leaves room, or lets one side differ from the box, never distorts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pixelport.contract.operations import CropFit, Resizing, padding_percentages, percent

Size = tuple[int, int]


@dataclass(frozen=True)
class Layout:
    """The image (upright input of `source` size) is scaled as a whole to `scaled`; the `window` of it
    (centred, or placed by content for a smart crop) is kept and drawn on a `canvas` filled with the
    background colour, centred. Without cropping `window == scaled`; without room `canvas == window`."""

    source: Size
    scaled: Size
    window: Size
    canvas: Size
    crop: Literal["center", "smart"] = "center"

    @property
    def offset(self) -> Size:
        """Top-left corner of the window on the canvas."""
        return (self.canvas[0] - self.window[0]) // 2, (self.canvas[1] - self.window[1]) // 2

    @property
    def resamples(self) -> bool:
        return self.scaled != self.source or self.window != self.scaled

    @property
    def pads(self) -> bool:
        return self.canvas != self.window


def nearest(value: float) -> int:
    """Nearest whole pixel, halves up, at least 1."""
    return max(1, math.floor(value + 0.5))


def cover(source: Size, box: Size) -> Size:
    """`source` scaled uniformly to the smallest size that covers `box` (at least `box` on both sides)."""
    (w, h), (bw, bh) = source, box
    scale = max(bw / w, bh / h)
    return max(bw, nearest(w * scale)), max(bh, nearest(h * scale))


def contain(source: Size, box: Size) -> Size:
    """`source` scaled uniformly to the largest size that fits inside `box` (at most `box` on both sides)."""
    (w, h), (bw, bh) = source, box
    scale = min(bw / w, bh / h)
    return min(bw, nearest(w * scale)), min(bh, nearest(h * scale))


def inner_box(canvas: Size, padding: str) -> Size:
    """The part of `canvas` left to the image by `padding`: `"10%"` or `"5% 25%"` (top and bottom, then
    left and right) of the canvas's height and width, on both sides of each axis as CSS's two-value
    padding; at least one pixel each way."""
    vertical, horizontal = padding_percentages(padding)
    w, h = canvas
    return (
        max(1, w - 2 * math.floor(w * horizontal / 100 + 0.5)),
        max(1, h - 2 * math.floor(h * vertical / 100 + 0.5)),
    )


def _sized(source: Size, resizing: Resizing) -> tuple[Size, Size] | None:
    """(scaled, canvas) that `resizing` alone asks for, or None when it sets no size."""
    w, h = source
    width, height = resizing.width, resizing.height
    if width == "auto" and height == "auto":
        return None
    share = percent(width) if percent(width) is not None else percent(height)
    if share is not None:  # the contract allows only one percentage, the other side "auto" or equal
        size = (nearest(w * share / 100), nearest(h * share / 100))
        return size, size
    fit = resizing.fit.type
    if isinstance(width, int) and isinstance(height, int):
        box = (width, height)
        if fit == "crop":
            return cover(source, box), box
        if fit == "cover":
            return cover(source, box), cover(source, box)
        if fit == "bounds":
            return contain(source, box), contain(source, box)
        return contain(source, box), box  # canvas
    # one side given in pixels, the other "auto"
    if fit == "crop":  # the other side stays as it is
        box = (width, h) if isinstance(width, int) else (w, int(height))
        return cover(source, box), box
    if isinstance(width, int):  # any other fit: the other side follows the aspect ratio
        size = (width, nearest(h * width / w))
    else:
        size = (nearest(w * int(height) / h), int(height))
    return size, size


def plan(source: Size, resizing: Resizing | None, padding: str | None) -> Layout:
    """The layout of an input of upright size `source` under `resizing` and `padding`."""
    sized = _sized(source, resizing) if resizing is not None else None
    fit = resizing.fit if resizing is not None else CropFit()
    mode: Literal["center", "smart"] = fit.crop if isinstance(fit, CropFit) else "center"
    if sized is None:
        scaled, canvas = source, source
    else:
        scaled, canvas = sized
    if padding is not None:
        box = inner_box(canvas, padding)
        if sized is not None and isinstance(fit, CropFit):
            scaled, window = cover(source, box), box  # crop fills the room left by the padding
        else:
            scaled = window = contain(source, box)  # the image shrinks to make room
        return Layout(source, scaled, window, canvas, mode)
    window = (min(scaled[0], canvas[0]), min(scaled[1], canvas[1]))
    return Layout(source, scaled, window, canvas, mode)
