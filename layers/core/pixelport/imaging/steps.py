"""Small pixel steps shared by the pipeline and the encoders."""

from __future__ import annotations

import numpy as np
from PIL import Image

WHITE = (255, 255, 255)


def parse_color(color: str | None) -> tuple[int, int, int]:
    """`#rrggbb` as an (r, g, b) tuple; None and "transparent" mean white (the formats that need
    a background have no transparency to show)."""
    if color is None or color == "transparent":
        return WHITE
    if len(color) != 7 or not color.startswith("#"):
        raise ValueError(f"background colour must be #rrggbb or 'transparent', not {color!r}")
    value = int(color[1:], 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


_FLATTEN_ROWS = 256


def flatten(image: Image.Image, color: str | None) -> Image.Image:
    """Composite an LA/RGBA image onto an opaque background colour; L/RGB come back unchanged.

    Straight (unassociated) alpha, which is what Pillow's LA/RGBA hold:
    ``out = fg * a + bg * (1 - a)`` with ``a = A / 255``, rounded to nearest in integer arithmetic
    (``(fg * A + bg * (255 - A) + 127) // 255``), so 50 % black (A = 128) over white is 127 and
    A = 127 gives 128; A = 255 keeps the pixel exactly, A = 0 gives exactly the background.

    The result is L when the input is LA and the background is neutral (r == g == b, white by
    default), so grey images stay one channel; an LA image on a coloured background becomes RGB,
    because the colour shows through the transparent parts.
    """
    if image.mode not in ("LA", "RGBA"):
        return image
    background = parse_color(color)
    grey = image.mode == "LA" and background[0] == background[1] == background[2]

    source = np.asarray(image)  # uint8, no copy of the pixels
    channels = 1 if grey else 3
    bg = np.array(background[:channels], dtype=np.uint32)
    out = np.empty((image.height, image.width, channels), dtype=np.uint8)
    # In bands of rows: the uint32 arithmetic of a whole 100 MP image would need 16 bytes a pixel at
    # once (bench/memory.py measured 4.6 GB for RGBA to JPEG); a band keeps it to a few MB.
    for top in range(0, image.height, _FLATTEN_ROWS):
        pixels = source[top : top + _FLATTEN_ROWS].astype(np.uint32)
        alpha = pixels[..., -1:]
        if grey or image.mode == "RGBA":
            colour = pixels[..., :channels]
        else:
            colour = pixels[..., :1].repeat(3, axis=-1)
        out[top : top + _FLATTEN_ROWS] = (colour * alpha + bg * (255 - alpha) + 127) // 255
    result = Image.fromarray(out[..., 0]) if grey else Image.fromarray(out)
    result.info = {k: v for k, v in image.info.items() if k != "transparency"}
    return result
