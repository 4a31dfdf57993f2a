"""The image path of one edit: decode, run the steps, encode. Pure: bytes and a request in, bytes
and metadata out, so it is tested without any AWS emulation.

Each step is a function of (image, context) with one job; adding an operation means adding a step.
The order is fixed: orient (done by decode), resize, pad, adjust, flatten, colour (CMYK kept or
converted, `kept_cmyk` and encode), encode. The geometry of resize and pad is planned before decoding
(imaging/geometry.py), so a JPEG is decoded no larger than needed and a too large output is refused
before any pixel is resampled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from pixelport.contract.edit import Edit
from pixelport.contract.limits import limits
from pixelport.contract.output import CmykColorSpace
from pixelport.errors import OUTPUT_TOO_MANY_PIXELS, PixelportError
from pixelport.formats import INPUT_FORMATS, OUTPUT_FORMATS, ImageFormat, OutputFormatName
from pixelport.imaging.adjust import adjust
from pixelport.imaging.color import to_cmyk_with
from pixelport.imaging.context import Context
from pixelport.imaging.decode import Declared, decode
from pixelport.imaging.encode import encode
from pixelport.imaging.geometry import Layout, Size, plan
from pixelport.imaging.memory import Job, admit
from pixelport.imaging.model import Decoded
from pixelport.imaging.pad import pad
from pixelport.imaging.resize import decode_size, resize
from pixelport.imaging.steps import flatten

Step = Callable[[Image.Image, Context], Image.Image]


def flatten_alpha(image: Image.Image, ctx: Context) -> Image.Image:
    """SPEC 3 and 4: JPEG (and CMYK) cannot keep alpha; an explicit background colour replaces it."""
    if image.mode not in ("LA", "RGBA"):
        return image
    color = ctx.background_color
    if ctx.keeps_alpha and color in (None, "transparent"):
        return image
    return flatten(image, color)


def refuse_too_many_pixels(size: Size) -> None:
    width, height = size
    if width * height > limits().max_output_megapixels * 1_000_000:
        raise PixelportError(
            OUTPUT_TOO_MANY_PIXELS,
            f"output would be {width}x{height}, more than {limits().max_output_megapixels:g} megapixels",
        )


def check_output_size(image: Image.Image, ctx: Context) -> Image.Image:
    refuse_too_many_pixels(image.size)
    return image


STEPS: tuple[Step, ...] = (resize, pad, adjust, flatten_alpha, check_output_size)


def image_info(fmt: ImageFormat, width: int, height: int) -> dict[str, Any]:
    return {
        "ext": fmt.ext,
        "mps": round(width * height / 1_000_000, 6),
        "mime": fmt.mime,
        "format": fmt.name,
        "width": width,
        "height": height,
    }


@dataclass(frozen=True)
class Rendered:
    data: bytes
    format: OutputFormatName
    input: dict[str, Any]  # SPEC 2.1 "input" metadata
    output: dict[str, Any]  # SPEC 2.1 "output" metadata, before the location is known


def kept_cmyk(decoded: Decoded, result: Image.Image, ctx: Context) -> tuple[Image.Image, bytes] | None:
    """SPEC 3: with no `color_space` asked for, the output keeps the input's colour space. A CMYK input
    written as JPEG (the only format that holds CMYK) stays CMYK in the profile it was in; while no
    step changed the pixels they are the input's own, unconverted (no sRGB round trip), otherwise the
    result is converted into that profile."""
    cmyk = decoded.cmyk
    if cmyk is None or ctx.output_format != "jpeg" or ctx.request.output.metadata.color_space is not None:
        return None
    if result is decoded.image:
        return cmyk.image, cmyk.profile
    return to_cmyk_with(result, cmyk.profile), cmyk.profile


def layout_for(request: Edit, size: Size) -> Layout:
    ops = request.operations
    layout = plan(size, ops.resizing, ops.padding)
    refuse_too_many_pixels(layout.canvas)
    return layout


def memory_job(request: Edit, declared: Declared) -> Job:
    """The memory rule's view of one render (imaging/memory.py)."""
    canvas = layout_for(request, declared.size).canvas
    assert request.output.format is not None  # settled by parse_edit_request
    fmt = request.output.format.type
    color_space = request.output.metadata.color_space
    kept = declared.cmyk and color_space is None  # kept_cmyk: a CMYK input written as JPEG stays CMYK
    cmyk = fmt == "jpeg" and (isinstance(color_space, CmykColorSpace) or kept)
    return Job(
        width=declared.size[0],
        height=declared.size[1],
        decoded_pixels=declared.decoded_pixels,
        output_pixels=canvas[0] * canvas[1],
        bits=declared.bits,
        alpha=declared.alpha,
        output="jpeg-cmyk" if cmyk else fmt,
    )


def render(data: bytes, request: Edit) -> Rendered:
    decoded = decode(
        data,
        lambda size: decode_size(layout_for(request, size)),
        admit=lambda declared: admit(memory_job(request, declared)),
    )
    ctx = Context(request, decoded, layout_for(request, decoded.size))
    image = decoded.image
    for step in STEPS:
        image = step(image, ctx)
    dpi = request.output.metadata.dpi
    density = (float(dpi), float(dpi)) if dpi else decoded.dpi
    keep = kept_cmyk(decoded, image, ctx)
    if keep is not None:
        encoded = encode(keep[0], request.output, dpi=density, cmyk_profile=keep[1])
    else:
        encoded = encode(image, request.output, dpi=density)
    return Rendered(
        data=encoded.data,
        format=encoded.format,
        input=image_info(INPUT_FORMATS[decoded.format], *decoded.size),
        output=image_info(OUTPUT_FORMATS[encoded.format], encoded.width, encoded.height),
    )
