"""Write the result image in the requested output format (SPEC section 3).

Why each choice was made, with measurements: docs/image-io.md#encoding-outputs.
"""

from __future__ import annotations

import io
import math
from typing import Any, Final

from PIL import ExifTags, Image

from pixelport.contract.output import (
    AvifFormat,
    CmykColorSpace,
    JpegFormat,
    Lossless,
    OutputOptions,
    PngFormat,
    TiffFormat,
    WebpFormat,
)
from pixelport.formats import OutputFormatName
from pixelport.imaging.color import to_cmyk
from pixelport.imaging.model import WORKING_MODES, Encoded
from pixelport.imaging.png_writer import write_png

# JPEG and AVIF: chroma is subsampled 4:2:0 below this quality, kept 4:4:4 from it.
FULL_CHROMA_QUALITY: Final = 90
AVIF_SPEED: Final = 7
WEBP_LOSSY_METHOD: Final = 4
WEBP_LOSSLESS_METHOD: Final = 4
WEBP_LOSSLESS_EFFORT: Final = 80
PNG_FAST_ZLIB_LEVEL: Final = 2
PNG_OPTIMAL_ZLIB_LEVEL: Final = 7
PNG_REDUCIBLE_LIBDEFLATE_LEVEL: Final = 8
PNG_REDUCIBLE_FILTER: Final = "Entropy"  # an oxipng.RowFilter
PNG_BEST_OXIPNG_PRESET: Final = 2
# Input resolutions above this are garbage (the contract allows 1-10000 for metadata.dpi).
MAX_DPI: Final = 1_000_000
# JFIF density is an unsigned 16-bit field.
_JFIF_MAX_DENSITY: Final = 65535


def encode(
    image: Image.Image,
    options: OutputOptions,
    *,
    dpi: tuple[float, float] | None,
    cmyk_profile: bytes | None = None,
) -> Encoded:
    """Encode `image` (L, LA, RGB or RGBA, 8-bit sRGB) as `options.format` says, writing `dpi`
    (dots per inch, x and y) in the format's own resolution field, or no resolution when None.

    A CMYK `image` (the input's own CMYK pixels, kept by the pipeline) is written as a CMYK JPEG as it
    is, with `cmyk_profile`, the profile those pixels are in, embedded."""
    fmt = options.format
    if fmt is None:
        raise ValueError("output format is not settled; parse the request with parse_edit_request")
    if image.mode == "CMYK":
        if not isinstance(fmt, JpegFormat) or cmyk_profile is None:
            raise ValueError("CMYK pixels are written only as JPEG, with the profile they are in")
        data = _jpeg_cmyk(image, fmt, cmyk_profile, _clean_dpi(dpi))
        return Encoded(data, fmt.type, image.width, image.height)
    image = _working_mode(image)
    density = _clean_dpi(dpi)
    color_space = options.metadata.color_space
    if isinstance(color_space, CmykColorSpace) and not isinstance(fmt, JpegFormat):
        raise ValueError(f"CMYK output is only possible as JPEG, not {fmt.type}")

    if isinstance(fmt, JpegFormat):
        profile = color_space.color_profile if isinstance(color_space, CmykColorSpace) else None
        data = _jpeg(image, fmt, profile, density)
    elif isinstance(fmt, PngFormat):
        data = _png(image, fmt, density)
    elif isinstance(fmt, WebpFormat):
        data = _webp(image, fmt, density)
    elif isinstance(fmt, AvifFormat):
        data = _avif(image, fmt, density)
    elif isinstance(fmt, TiffFormat):
        data = _tiff(image, fmt, density)
    else:  # pragma: no cover - the contract allows no other format
        raise ValueError(f"unknown output format {fmt!r}")
    name: OutputFormatName = fmt.type
    return Encoded(data, name, image.width, image.height)


def _working_mode(image: Image.Image) -> Image.Image:
    if image.mode in WORKING_MODES:
        return image
    # Not expected (the decoder normalises), but never write a surprising mode.
    if image.mode in ("1", "P", "PA"):
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    raise ValueError(f"cannot encode mode {image.mode}; expected one of {', '.join(WORKING_MODES)}")


def _clean_dpi(dpi: tuple[float, float] | None) -> tuple[float, float] | None:
    """None unless both values are finite, positive and at most MAX_DPI (a broken input resolution
    writes none rather than overflowing a format's field)."""
    if dpi is None:
        return None
    x, y = (float(v) for v in dpi)
    if not all(math.isfinite(v) and 0 < v <= MAX_DPI for v in (x, y)):
        return None
    return x, y


def _save(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _exif_resolution(dpi: tuple[float, float] | None) -> bytes:
    """An EXIF block with IFD0 XResolution, YResolution and ResolutionUnit = 2 (inch), or b""."""
    if dpi is None:
        return b""
    exif = Image.Exif()
    exif[ExifTags.Base.XResolution] = dpi[0]
    exif[ExifTags.Base.YResolution] = dpi[1]
    exif[ExifTags.Base.ResolutionUnit] = 2
    return exif.tobytes()


def _subsampling(quality: int) -> str:
    return "4:4:4" if quality >= FULL_CHROMA_QUALITY else "4:2:0"


# --- JPEG ------------------------------------------------------------------------------------------


def _jpeg(
    image: Image.Image, fmt: JpegFormat, cmyk_profile: str | None, dpi: tuple[float, float] | None
) -> bytes:
    if image.mode in ("LA", "RGBA"):  # the pipeline's flatten_alpha decides the background, once
        raise ValueError(f"JPEG cannot hold alpha: flatten the {image.mode} image before encoding")
    if cmyk_profile is not None:
        cmyk, profile = to_cmyk(image, cmyk_profile)
        return _jpeg_cmyk(cmyk, fmt, profile, dpi)
    params = _jpeg_params(fmt, dpi)
    if image.mode == "RGB":
        params["subsampling"] = _subsampling(fmt.quality)
    return _save(image, "JPEG", **params)


def _jpeg_cmyk(cmyk: Image.Image, fmt: JpegFormat, profile: bytes, dpi: tuple[float, float] | None) -> bytes:
    params = _jpeg_params(fmt, dpi) | {"icc_profile": profile, "subsampling": "4:4:4"}
    return _save(cmyk, "JPEG", **params)


def _jpeg_params(fmt: JpegFormat, dpi: tuple[float, float] | None) -> dict[str, Any]:
    params: dict[str, Any] = {"quality": fmt.quality, "progressive": fmt.progressive, "optimize": True}
    if dpi is not None:
        params["dpi"] = tuple(min(max(round(v), 1), _JFIF_MAX_DENSITY) for v in dpi)
    return params


# --- PNG -------------------------------------------------------------------------------------------


_PNG_COLOR_TYPES: Final = {"L": "grayscale", "LA": "grayscale_alpha", "RGB": "rgb", "RGBA": "rgba"}


def _png(image: Image.Image, fmt: PngFormat, dpi: tuple[float, float] | None) -> bytes:
    phys = ((b"pHYs", _png_phys(dpi)),) if dpi is not None else ()
    if fmt.compression == "fast":
        return write_png(image, level=PNG_FAST_ZLIB_LEVEL, extra_chunks=phys)
    if fmt.compression == "optimal" and not _png_reducible(image):
        # Photographs: every core filters and deflates a band of rows (png_writer).
        return write_png(image, level=PNG_OPTIMAL_ZLIB_LEVEL, extra_chunks=phys)
    # oxipng filters and deflates the pixels itself: no zlib pass by Pillow to be undone first. Imported
    # here: photographs never need it (about 1.5 MB resident, and 1.5 ms, of every other render).
    import oxipng

    color_type = getattr(oxipng.ColorType, _PNG_COLOR_TYPES[image.mode])()
    raw = oxipng.RawImage(image.tobytes(), image.width, image.height, color_type=color_type, bit_depth=8)
    if dpi is not None:
        raw.add_png_chunk(b"pHYs", _png_phys(dpi))
    common: dict[str, Any] = {
        "strip": oxipng.StripChunks.none(),
        "optimize_alpha": False,
        "interlace": None,
    }
    if fmt.compression == "optimal":
        return bytes(
            raw.create_optimized_png(
                level=1,
                filter=[getattr(oxipng.RowFilter, PNG_REDUCIBLE_FILTER)],
                deflate=oxipng.Deflaters.libdeflater(PNG_REDUCIBLE_LIBDEFLATE_LEVEL),
                **common,
            )
        )
    return bytes(raw.create_optimized_png(level=PNG_BEST_OXIPNG_PRESET, **common))


def _png_reducible(image: Image.Image) -> bool:
    """Whether oxipng's lossless reductions would change the colour type or bit depth: an alpha channel
    that is opaque everywhere, at most 256 colours (a palette; grey RGB has at most 256), or a grey image
    of at most 16 levels (fewer bits per pixel). Each check stops at the first pixel that rules it out,
    so a photograph costs microseconds (the alpha's extrema: one pass over one channel)."""
    if image.mode in ("LA", "RGBA") and image.getchannel("A").getextrema() == (255, 255):
        return True
    return image.getcolors(16 if image.mode == "L" else 256) is not None


def _png_phys(dpi: tuple[float, float]) -> bytes:
    """pHYs: pixels per metre, rounded to nearest as Pillow writes it, unit 1 (metre)."""
    x, y = (int(v / 0.0254 + 0.5) for v in dpi)
    return x.to_bytes(4, "big") + y.to_bytes(4, "big") + b"\x01"


# --- WEBP ------------------------------------------------------------------------------------------


def _webp(image: Image.Image, fmt: WebpFormat, dpi: tuple[float, float] | None) -> bytes:
    if image.mode == "LA":
        image = image.convert("RGBA")  # WEBP has no grey: same values in R, G, B
    elif image.mode == "L":
        image = image.convert("RGB")
    params: dict[str, Any] = {"exif": _exif_resolution(dpi)}
    if isinstance(fmt.compression, Lossless):
        params |= {
            "lossless": True,
            "quality": WEBP_LOSSLESS_EFFORT,
            "method": WEBP_LOSSLESS_METHOD,
            "exact": True,
        }
        return _save(image, "WEBP", **params)
    params |= {"quality": fmt.compression.quality, "method": WEBP_LOSSY_METHOD, "alpha_quality": 100}
    return _save(image, "WEBP", **params)


# --- AVIF ------------------------------------------------------------------------------------------


def _avif(image: Image.Image, fmt: AvifFormat, dpi: tuple[float, float] | None) -> bytes:
    grey = image.mode in ("L", "LA")
    params: dict[str, Any] = {
        "codec": "aom",
        "speed": AVIF_SPEED,
        "range": "full",
        "exif": _exif_resolution(dpi),
    }
    if image.mode in ("LA", "RGBA"):
        # libaom option for the alpha plane only: code it losslessly at every quality.
        params["advanced"] = {"alpha:lossless": "1"}
    if isinstance(fmt.compression, Lossless):
        params |= {"quality": 100, "subsampling": "4:0:0" if grey else "4:4:4"}
        return _save(image, "AVIF", **params)
    quality = fmt.compression.quality
    params |= {"quality": quality, "subsampling": "4:0:0" if grey else _subsampling(quality)}
    return _save(image, "AVIF", **params)


# --- TIFF ------------------------------------------------------------------------------------------


def _tiff(image: Image.Image, fmt: TiffFormat, dpi: tuple[float, float] | None) -> bytes:
    params: dict[str, Any] = {}
    if dpi is not None:
        params["dpi"] = dpi
    if isinstance(fmt.compression, Lossless):
        params |= {"compression": "tiff_lzw", "tiffinfo": {317: 2}}  # 317 = Predictor, 2 = horizontal
        return _save(image, "TIFF", **params)
    params |= {"compression": "jpeg", "quality": fmt.compression.quality}
    return _save(image, "TIFF", **params)
