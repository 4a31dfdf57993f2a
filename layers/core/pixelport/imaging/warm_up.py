"""Small edits the processor renders in its warm-up (pixelport/init_ahead.py), before a SnapStart
snapshot or provisioned concurrency's first request: each decoder and encoder library loaded and its
first-use setup done (Pillow's plugins, libjpeg, zlib and the PNG writer's workers, libwebp, libavif,
libtiff, LittleCMS with the print profile, numpy for the adjustments), so that no client's request
pays for it. Images of a few pixels: a warm-up renders them in milliseconds."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from pixelport.contract.edit import parse_edit_request
from pixelport.imaging.pipeline import render

SOURCE_URL = "https://warm-up.invalid/sample"  # validated as the contract says, never fetched
EDITS: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...] = (
    # (source format, operations, output)
    ("PNG", {"resizing": {"width": 32, "height": "auto"}}, {"format": "jpeg"}),
    ("JPEG", {"resizing": {"width": 32, "height": 32, "fit": "bounds"}}, {"format": "png"}),
    ("JPEG", {}, {"format": {"type": "webp", "compression": {"type": "lossy", "quality": 75}}}),
    ("JPEG", {}, {"format": {"type": "avif", "compression": {"type": "lossy", "quality": 50}}}),
    (
        "PNG",
        {"adjustments": {"exposure": 10, "contrast": 10, "saturation": 10, "sharpness": 10}},
        {"format": "tiff"},
    ),
    (
        "JPEG",
        {},
        {"format": "jpeg", "metadata": {"color_space": {"type": "CMYK", "color_profile": "ISO_Coated"}}},
    ),
)


def sample(source_format: str) -> bytes:
    """A 64x48 picture in `source_format` (PNG with a soft alpha edge, so flattening runs too)."""
    image = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    if source_format == "PNG":
        image.putalpha(Image.radial_gradient("L").resize((64, 48)))
    out = io.BytesIO()
    image.save(out, source_format)
    return out.getvalue()


def render_samples() -> int:
    """Render every edit of EDITS; answers how many bytes they wrote (so nothing is optimised away)."""
    sources = {fmt: sample(fmt) for fmt in {fmt for fmt, _, _ in EDITS}}
    written = 0
    for fmt, operations, output in EDITS:
        request = parse_edit_request(
            {"input": f"{SOURCE_URL}.{fmt.lower()}", "operations": operations, "output": output}
        )
        written += len(render(sources[fmt], request).data)
    return written
