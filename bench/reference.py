"""(c) The reference: a minimal best-practice Pillow script doing a workload, what a careful developer
would write by hand. Open, `draft` a JPEG to the smallest DCT scale still at least the target size,
`exif_transpose`, LANCZOS with `reducing_gap`, flatten with Pillow's own compositing, save.

The encoder settings are pixelport's (layers/core/pixelport/imaging/encode.py), so the comparison is
of the work around the encoder, not of encoder efforts:
- JPEG: `optimize=True`, chroma 4:2:0 below quality 90 and 4:4:4 from it, `progressive` as asked.
- WEBP lossy: `method=4` (encode.WEBP_LOSSY_METHOD), `alpha_quality=100`.
- AVIF: `codec="aom"`, `speed=7` (encode.AVIF_SPEED), `range="full"`, the same subsampling rule.
- PNG differs: pixelport's `optimal` filters and deflates a photograph's rows in bands on every core
  (imaging/png_writer.py: zlib-ng level 7, Z_FILTERED), which plain Pillow cannot; the reference
  writes Pillow's default, zlib level 6, the "bare Pillow" PNG the issue compares `optimal` against.
tests/unit/test_bench_harness.py checks these constants against encode.py's.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageOps

from bench.workloads import Workload

REDUCING_GAP = 2.0  # Pillow's own default for thumbnail(): reduce() to 2x the target, then LANCZOS
FULL_CHROMA_QUALITY = 90  # as encode.FULL_CHROMA_QUALITY
WEBP_METHOD = 4  # as encode.WEBP_LOSSY_METHOD
AVIF_SPEED = 7  # as encode.AVIF_SPEED
PNG_COMPRESS_LEVEL = 6  # zlib's default (see the module docstring)
_TRANSPOSED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def render(data: bytes, workload: Workload) -> bytes:
    with Image.open(io.BytesIO(data)) as opened:
        image: Image.Image = opened
        if workload.box is not None and image.format == "JPEG":
            upright = workload.output_size(_upright_size(image))
            wanted = upright[::-1] if _orientation(image) in _TRANSPOSED else upright
            image.draft("RGB", wanted)  # DCT scaling: decode at 1/2, 1/4 or 1/8 while still >= wanted
        image = ImageOps.exif_transpose(image)  # loads the pixels
        if workload.box is not None:
            size = workload.output_size(image.size)
            if size != image.size:
                image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        if workload.format == "jpeg" and image.mode in ("RGBA", "LA"):
            image = _flatten(image, workload.flatten or "#ffffff")
        return _save(image, workload)


def _orientation(image: Image.Image) -> int:
    return int(image.getexif().get(0x0112, 1))


def _upright_size(image: Image.Image) -> tuple[int, int]:
    w, h = image.size
    return (h, w) if _orientation(image) in _TRANSPOSED else (w, h)


def _flatten(image: Image.Image, color: str) -> Image.Image:
    """Pillow's compositing: the picture over an opaque background of `color`."""
    background = Image.new("RGBA", image.size, color)
    background.alpha_composite(image.convert("RGBA"))
    return background.convert("RGB")


def _save(image: Image.Image, workload: Workload) -> bytes:
    quality = workload.quality
    params: dict[str, Any]
    if workload.format == "jpeg":
        assert quality is not None
        params = {"quality": quality, "optimize": True, "progressive": workload.progressive}
        params["subsampling"] = "4:4:4" if quality >= FULL_CHROMA_QUALITY else "4:2:0"
    elif workload.format == "webp":
        params = {"quality": quality, "method": WEBP_METHOD, "alpha_quality": 100}
    elif workload.format == "avif":
        assert quality is not None
        params = {"quality": quality, "codec": "aom", "speed": AVIF_SPEED, "range": "full"}
        params["subsampling"] = "4:4:4" if quality >= FULL_CHROMA_QUALITY else "4:2:0"
    else:
        params = {"compress_level": PNG_COMPRESS_LEVEL}
    out = io.BytesIO()
    image.save(out, workload.format.upper(), **params)
    return out.getvalue()
