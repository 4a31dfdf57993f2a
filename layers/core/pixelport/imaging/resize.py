"""The resize step: scale the image to the layout's size and keep its window, in one resampling.

Only the window's part of the input is resampled (Pillow's `box`), so a crop never scales pixels it
throws away. Downscaling takes Pillow's fast paths: a JPEG is decoded at the smallest DCT scale (1/2,
1/4, 1/8) that keeps at least `DRAFT_GAP` times the size it is scaled to (see `decode_size`), and
`reduce` then averages whole blocks of pixels until `REDUCING_GAP` times the target is left for
LANCZOS. Upscaling is LANCZOS interpolation: it adds pixels, not detail (that is the `upscale`
restoration, which needs a model).
"""

from __future__ import annotations

from PIL import Image

from pixelport.imaging.context import Context
from pixelport.imaging.geometry import Layout, Size
from pixelport.imaging.smartcrop import window_origin

# Chosen against the quality floor, SSIM >= 0.98 to a LANCZOS resize of the fully decoded image
# (tests/unit/test_fast_downscale.py): on a noisy 24 MP photo scaled to 2048 the DCT scaling alone
# costs 0.011 SSIM at a gap of 1 and saves half the time; reduce() at 2 or 3 changes nothing measurable.
DRAFT_GAP = 1.0
REDUCING_GAP = 2.0


def decode_size(layout: Layout) -> Size | None:
    """The smallest upright size the input may be decoded at for `layout`, or None for full size."""
    (w, h), (sw, sh) = layout.source, layout.scaled
    wanted = (int(sw * DRAFT_GAP), int(sh * DRAFT_GAP))
    if wanted[0] >= w or wanted[1] >= h:
        return None
    return wanted


def resize(image: Image.Image, ctx: Context) -> Image.Image:
    """Scale to `layout.scaled` and keep `layout.window` of it (centred, or by content when smart)."""
    layout = ctx.layout
    if not layout.resamples and image.size == layout.source:
        return image
    (sw, sh), (ww, wh) = layout.scaled, layout.window
    if layout.crop == "smart":
        x, y = window_origin(image, layout.scaled, layout.window)
    else:
        x, y = (sw - ww) / 2, (sh - wh) / 2
    # `image` may be smaller than the input (JPEG draft): map the window through the actual size.
    fx, fy = image.width / sw, image.height / sh
    box = (x * fx, y * fy, (x + ww) * fx, (y + wh) * fy)
    if image.size == layout.window and box == (0, 0, *image.size):
        return image
    return image.resize(layout.window, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP)
