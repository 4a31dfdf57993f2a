"""Tiny edits the processor's warm-up renders (pixelport/init_ahead.py): every codec's library loaded
and set up (PNG's writer, CMYK's print profile, numpy for the adjustments) before any client's request."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from pixelport.contract.edit import parse_edit_request
from pixelport.imaging.decode import register_heif
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
    """Render every edit of EDITS, HEIF's decoder registered too; answers the bytes they wrote."""
    register_heif()
    sources = {fmt: sample(fmt) for fmt in {fmt for fmt, _, _ in EDITS}}
    written = 0
    for fmt, operations, output in EDITS:
        body = {"input": f"{SOURCE_URL}.{fmt.lower()}", "operations": operations, "output": output}
        written += len(render(sources[fmt], parse_edit_request(body)).data)
    return written
