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


def pad(image: Image.Image, ctx: Context) -> Image.Image:
    layout = ctx.layout
    if not layout.pads:
        return image
    fill = ctx.fill(has_alpha=image.mode in ("LA", "RGBA"))
    mode = canvas_mode(image.mode, fill)
    colour = (fill[0], fill[3]) if mode == "LA" else fill[0] if mode == "L" else fill[: len(mode)]
    canvas = Image.new(mode, layout.canvas, colour)
    # Pasted, not composited: the image keeps its own alpha, which flatten_alpha resolves later.
    canvas.paste(image.convert(mode), layout.offset)
    return canvas
