"""The pad step: draw the image centred on the layout's canvas (the `canvas` fit and `padding`), the
rest filled with the background colour (`Context.fill`)."""

from __future__ import annotations

from PIL import Image

from pixelport.imaging.context import Context


def canvas_mode(mode: str, fill: tuple[int, int, int, int]) -> str:
    """The mode that holds both `mode`'s pixels and `fill`: grey stays grey on a neutral opaque fill."""
    r, g, b, a = fill
    alpha = mode in ("LA", "RGBA") or a < 255
    grey = mode in ("L", "LA") and r == g == b
    return ("LA" if alpha else "L") if grey else ("RGBA" if alpha else "RGB")


def in_mode(fill: tuple[int, int, int, int], mode: str) -> tuple[int, ...]:
    """`fill` (RGBA) as a pixel of `mode`, which `canvas_mode` chose to hold it."""
    r, g, b, a = fill
    return {"L": (r,), "LA": (r, a), "RGB": (r, g, b), "RGBA": fill}[mode]


def pad(image: Image.Image, ctx: Context) -> Image.Image:
    layout = ctx.layout
    if not layout.pads:
        return image
    fill = ctx.fill(has_alpha=image.mode in ("LA", "RGBA"))
    mode = canvas_mode(image.mode, fill)
    canvas = Image.new(mode, layout.canvas, in_mode(fill, mode))
    # Pasted, not composited: the image keeps its own alpha, which flatten_alpha resolves later.
    canvas.paste(image.convert(mode), layout.offset)
    return canvas
