"""The resize step: scale the image to the layout's size and keep its window, in one resampling.

Only the window's part of the input is resampled (Pillow's `box`), so a crop never scales pixels it
throws away. Downscaling takes Pillow's fast paths: a JPEG is decoded at a DCT scale of at most
`1 / DRAFT_GAP` of the way down (see `decode_size`), and `reduce` then averages whole blocks of
pixels until `REDUCING_GAP` times the target is left for LANCZOS. Upscaling is LANCZOS interpolation:
it adds pixels, not detail (that is the `upscale` restoration, which needs a model).
"""

from __future__ import annotations

from PIL import Image

from pixelport.imaging.context import Context
from pixelport.imaging.geometry import Layout, Size
from pixelport.imaging.smartcrop import window_origin

# The JPEG decoder may scale by 1/2, 1/4 or 1/8 while keeping at least DRAFT_GAP times the size the
# image is scaled to; reduce() leaves at least REDUCING_GAP times for the final LANCZOS pass. Both
# were chosen by the SSIM floor against a LANCZOS resize of the full image (tests/unit/test_resize.py).
DRAFT_GAP = 2.0
REDUCING_GAP = 3.0


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
