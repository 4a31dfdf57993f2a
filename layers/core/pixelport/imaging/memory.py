"""How much memory one render needs at most, from what the input's header declares, so the processor
refuses (413, code 4134) a job its function's memory cannot hold before decoding a pixel, instead of
being killed for it and retried into a 5001 minutes later. Pure arithmetic, no Pillow.

The figures are bench/memory.py's, measured at 100 MP (README "Memory"): the peak resident set of a
fresh process running render(), less the process's baseline, per pixel.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pixelport.errors import INPUT_NEEDS_TOO_MUCH_MEMORY, PixelportError

# Peak bytes per pixel above the baseline, by input kind (bits per channel, alpha) and output, rounded
# up from the measurement. "jpeg-cmyk" is JPEG written in CMYK (asked for, or a CMYK input kept).
# The larger of the input's decoded pixels and the output's is what they multiply.
BYTES_PER_PIXEL: dict[tuple[int, bool], dict[str, float]] = {
    (8, False): {"jpeg": 8.5, "jpeg-cmyk": 16.5, "png": 10.5, "webp": 10.0, "avif": 27.5, "tiff": 8.5},
    (8, True): {"jpeg": 15.5, "jpeg-cmyk": 20.5, "png": 12.5, "webp": 34.0, "avif": 30.5, "tiff": 8.5},
    (16, False): {"jpeg": 30.5, "jpeg-cmyk": 30.5, "png": 30.5, "webp": 30.5, "avif": 30.5, "tiff": 30.5},
    (16, True): {"jpeg": 36.5, "jpeg-cmyk": 36.5, "png": 36.5, "webp": 36.5, "avif": 36.5, "tiff": 36.5},
}
# What is not pixels: the runtime and the imported libraries (53 MB measured), the input's bytes (up to
# the 50 MB input limit) and the encoded result, with room for Lambda's own processes.
RESERVED_MB = 200
# On the per-pixel part: content and encoder settings the bench did not try (its picture is smooth).
HEADROOM = 1.25
MEMORY_VARIABLE = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"  # set by Lambda, and by make run from the template


@dataclass(frozen=True)
class Job:
    """What the header and the request say about one render."""

    width: int
    height: int
    decoded_pixels: int  # the pixels decode will hold (a JPEG may be decoded scaled down)
    output_pixels: int  # the planned canvas
    bits: int  # 8 or 16 per channel
    alpha: bool
    output: str  # an OutputFormatName, or "jpeg-cmyk"


def estimated_peak_mb(job: Job) -> float:
    per_pixel = BYTES_PER_PIXEL[(16 if job.bits > 8 else 8, job.alpha)][job.output]
    pixels = max(job.decoded_pixels, job.output_pixels)
    return RESERVED_MB + HEADROOM * per_pixel * pixels / (1024 * 1024)


def function_memory_mb(environ: Mapping[str, str] | None = None) -> int | None:
    """The function's memory, as Lambda sets it; None outside Lambda (no refusal then)."""
    value = (os.environ if environ is None else environ).get(MEMORY_VARIABLE, "")
    return int(value) if value.isdigit() else None


def largest_megapixels(memory_mb: int, bits: int, alpha: bool, output: str) -> float:
    """The most pixels `memory_mb` holds for this kind of job: the README's table of the rule."""
    per_pixel = BYTES_PER_PIXEL[(16 if bits > 8 else 8, alpha)][output]
    return max(0.0, (memory_mb - RESERVED_MB) * 1024 * 1024 / (HEADROOM * per_pixel) / 1e6)


def admit(job: Job, environ: Mapping[str, str] | None = None) -> None:
    """Refuse, before decoding, a job whose estimated peak exceeds the function's memory."""
    memory = function_memory_mb(environ)
    if memory is None:
        return
    need = estimated_peak_mb(job)
    if need <= memory:
        return
    kind = f"{job.bits}-bit {'with' if job.alpha else 'without'} alpha"
    fits = largest_megapixels(memory, job.bits, job.alpha, job.output)
    raise PixelportError(
        INPUT_NEEDS_TOO_MUCH_MEMORY,
        f"a {job.width}x{job.height} input ({kind}) written as {job.output} needs about {need:.0f} MB, "
        f"more than the {memory} MB this deployment processes with; at most {fits:.0f} megapixels "
        "of such an input or output fit (a smaller output, or another output format, may fit)",
    )
