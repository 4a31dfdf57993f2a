"""Write the result image in the requested output format (SPEC section 3).

`encode(image, options, dpi=...)` takes an 8-bit sRGB image in mode L, LA, RGB or RGBA and returns
an `EncodedImage` (an `Encoded` that also says how exact the bytes are, see `max_channel_error`).

Decisions, per format (numbers measured with Pillow 13.0 wheels on a 2-core machine; the PNG ones are
reproduced by ``python -m bench.png_compression``):

JPEG
    quality as requested (default 85); progressive (default) writes SOF2, baseline SOF0; Huffman
    tables are always optimised (``optimize=True``: smaller, lossless, costs a few ms).
    Chroma subsampling 4:2:0 below quality 90 and 4:4:4 from 90: at ordinary qualities the eye does
    not see the halved chroma resolution and 4:2:0 saves 16-25 % (measured on 2 MP photos);
    someone asking for 90+ wants fidelity, and 4:2:0 then becomes the dominant error (red/blue
    edges, coloured text).
    Alpha cannot be stored: LA/RGBA are flattened onto white (the pipeline flattens onto the
    requested background before calling us; this is the safety net). L stays a 1-component JPEG.
    CMYK (``metadata.color_space``): converted through the chosen print profile
    (`print_color.to_cmyk`), written with the profile embedded (APP2 ICC_PROFILE) and libjpeg's
    Adobe APP14 marker (transform 0 = no colour transform) with inverted samples, which is the
    convention Photoshop writes and every CMYK-aware reader expects. CMYK is never chroma-subsampled
    (K carries the detail; Photoshop writes 1x1 for all four components).
    DPI: JFIF APP0 density with unit 1 (dots per inch); without a DPI the JFIF unit is 0 (aspect
    ratio only, "no resolution").

PNG (always lossless; three efforts, strictly ordered fast > optimal > best on photographs)
    fast    -- zlib level 1 (zlib-ng's quick deflate) over Pillow's adaptive (min-sum) row filters.
    optimal -- the same filtered rows re-deflated by oxipng with libdeflate level 6, plus oxipng's
               lossless reductions (palette / grey / bit depth when the pixels allow it). About 2x
               the time of `fast`, 10-20 % smaller. zlib level 6 is no alternative: with zlib-ng it
               is slower and, on low-noise photos, larger than this (even larger than Huffman-only).
    best    -- oxipng preset 2: per-image filter search (None, Sub, Entropy, Bigrams) and
               libdeflate level 11 (near-optimal parsing). 2-17 % smaller than `optimal`,
               0.6-2.3 s for a 2 MP photo. Higher oxipng presets (3-6: brute-force filters, no fast
               evaluation, libdeflate 12) were measured at 2-5x that time for < 0.02 % on photos,
               and zopfli was both slower and larger, so `best` stops at preset 2.
    Nothing is stripped (pHYs, iCCP, ... are kept); transparent pixels keep their colour
    (``optimize_alpha=False``). The reductions can change the PNG colour type (an opaque RGBA
    image becomes RGB, <= 256 colours become a palette) but never a pixel value; L/LA stay grey.
    DPI: pHYs in pixels per metre, rounded to nearest (300 dpi -> 11811).

WEBP
    lossy: quality as requested (default 75), alpha (ALPH) lossless, method 6: libwebp's slowest
    method adds trellis quantisation; measured +25-60 % encode time over method 4 (about
    +25-70 ms for 2 MP) for the same size at +0.03-0.17 dB, worth it for an image encoded once
    and served many times.
    Opaque images give a plain VP8 chunk, alpha gives VP8X + ALPH (lossless alpha) + VP8.
    lossless: VP8L, libwebp effort (quality) 80 and method 4 (method 6 measured +20-60 % time for
    < 1 %), ``exact=True`` so RGB under fully transparent pixels survives: pixel-identical RGBA.
    DPI: EXIF IFD0 XResolution / YResolution / ResolutionUnit=2 in the EXIF chunk (inside VP8X).

AVIF (libavif 1.x through Pillow, AV1 by libaom)
    lossy: quality as requested (default 50), speed 6 (libavif's default; speed 4 was 7-13 %
    smaller at 7-8x the time, speed 8 3-5 % larger at 1/4 the time); chroma 4:2:0 below quality
    90 and 4:4:4 from 90 (same rule as JPEG); grey images are coded 4:0:0 (monochrome).
    Alpha is always coded losslessly (libaom ``alpha:lossless=1`` through Pillow's ``advanced``),
    as lossy WEBP does (ALPH is lossless at alpha_quality 100): transparency is usually a cut-out
    mask, where errors show as halos and holes, and the requested quality is about the colours.
    Without it alpha came back up to 4 levels off at quality 50; with it a smooth alpha ramp
    costs ~45 % more bytes, a cut-out mask very little.
    "lossless": Pillow 13 has no lossless switch, and it hard-codes the YCbCr matrix to BT.601
    (matrixCoefficients 6) at 8 bits, so libavif's real lossless route (identity matrix, MC = 0)
    is out of reach; ``advanced`` codec options (e.g. aom ``lossless=1``) are accepted but change
    nothing, because the AV1 stream is already lossless at quality 100. The closest honest
    setting: quality 100 (AV1 lossless quantiser), 4:4:4, full range. Colour pixels then come back
    within AVIF_LOSSLESS_MAX_ERROR = 3 per channel (measured over all 2^24 RGB colours: 7.6 %
    exact, 66.6 % off by 1, 24.9 % by 2, 1.0 % by 3), which is the 8-bit RGB -> YCbCr -> RGB
    rounding. Grey pixels (R = G = B) and the alpha plane are exact. `EncodedImage.max_channel_error`
    reports the bound so the caller never claims "lossless" where it is not.
    DPI: EXIF (as WEBP), in the AVIF Exif item.

TIFF
    lossless: LZW (compression 5) with the horizontal differencing predictor (317 = 2), ~40 %
    smaller than LZW alone on photos, read back pixel-identical. Keeps alpha (ExtraSamples =
    2, unassociated).
    lossy: JPEG inside TIFF (compression 7) at the requested quality (default 75; Pillow passes it
    to libtiff's JPEGQUALITY, visible in the JPEGTables' quantisation tables). Photometric stays RGB
    (no YCbCr colour transform, no chroma subsampling): files are about twice the YCbCr size, but
    the YCbCr route through Pillow/libtiff measurably shifted colours (mean -1.2 red, -1.3 blue).
    Alpha is kept: libtiff JPEG-compresses the alpha as a 4th (2nd for LA) component with
    ExtraSamples = unassociated (so the alpha is lossy too). libtiff and Pillow read it back
    correctly; ImageMagick 6.9 shows such files with premultiplied colours (its bug).
    DPI: XResolution / YResolution with ResolutionUnit = 2 (inch).

No format gets a DPI field when `dpi` is None.

Colour: RGB outputs embed no ICC profile. The pixels are sRGB, and an untagged image is sRGB for
browsers, operating systems and CSS; AVIF is tagged sRGB anyway by its CICP/nclx box (BT.709
primaries, sRGB transfer). An embedded sRGB profile costs 0.5-3 KB per file (10-50 % of a small
thumbnail) and forces WEBP into the extended VP8X layout, for the benefit of the rare colour-managed
application configured to assume another space for untagged images. CMYK outputs always embed
their profile: CMYK numbers mean nothing without one.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any, Final

import oxipng
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
from pixelport.imaging.model import WORKING_MODES, Encoded
from pixelport.imaging.print_color import to_cmyk
from pixelport.imaging.steps import flatten

# JPEG and AVIF: chroma is subsampled 4:2:0 below this quality, kept 4:4:4 from it.
FULL_CHROMA_QUALITY: Final = 90
# Largest per-channel difference of the "lossless" AVIF for colour pixels (see the module docstring).
AVIF_LOSSLESS_MAX_ERROR: Final = 3
AVIF_SPEED: Final = 6
WEBP_LOSSY_METHOD: Final = 6
WEBP_LOSSLESS_METHOD: Final = 4
WEBP_LOSSLESS_EFFORT: Final = 80
PNG_FAST_ZLIB_LEVEL: Final = 1
PNG_OPTIMAL_LIBDEFLATE_LEVEL: Final = 6
PNG_BEST_OXIPNG_PRESET: Final = 2
# Input resolutions above this are garbage (the contract allows 1-10000 for metadata.dpi).
MAX_DPI: Final = 1_000_000
# JFIF density is an unsigned 16-bit field.
_JFIF_MAX_DENSITY: Final = 65535


@dataclass
class EncodedImage(Encoded):
    """An `Encoded` that also says how faithful the pixels are.

    `max_channel_error`: the largest difference, in 8-bit levels, between any channel of the
    decoded output and of the encoder's input: 0 = pixel-identical (lossless PNG, TIFF LZW, WEBP
    lossless, and AVIF "lossless" of a grey image); a positive number = a guaranteed bound (AVIF
    "lossless" of a colour image); None = lossy, no bound (JPEG, lossy WEBP/AVIF/TIFF).
    """

    max_channel_error: int | None = None

    @property
    def exact(self) -> bool:
        return self.max_channel_error == 0


def encode(image: Image.Image, options: OutputOptions, *, dpi: tuple[float, float] | None) -> EncodedImage:
    """Encode `image` (L, LA, RGB or RGBA, 8-bit sRGB) as `options.format` says, writing `dpi`
    (dots per inch, x and y) in the format's own resolution field, or no resolution when None."""
    fmt = options.format
    if fmt is None:
        raise ValueError("output format is not settled; parse the request with parse_edit_request")
    image = _working_mode(image)
    density = _clean_dpi(dpi)
    color_space = options.metadata.color_space
    if isinstance(color_space, CmykColorSpace) and not isinstance(fmt, JpegFormat):
        raise ValueError(f"CMYK output is only possible as JPEG, not {fmt.type}")

    error: int | None
    if isinstance(fmt, JpegFormat):
        profile = color_space.color_profile if isinstance(color_space, CmykColorSpace) else None
        data, error = _jpeg(image, fmt, profile, density), None
    elif isinstance(fmt, PngFormat):
        data, error = _png(image, fmt, density), 0
    elif isinstance(fmt, WebpFormat):
        data, error = _webp(image, fmt, density)
    elif isinstance(fmt, AvifFormat):
        data, error = _avif(image, fmt, density)
    elif isinstance(fmt, TiffFormat):
        data, error = _tiff(image, fmt, density)
    else:  # pragma: no cover - the contract allows no other format
        raise ValueError(f"unknown output format {fmt!r}")
    name: OutputFormatName = fmt.type
    return EncodedImage(data, name, image.width, image.height, max_channel_error=error)


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
    image = flatten(image, None)  # no-op for L/RGB; white under LA/RGBA
    params: dict[str, Any] = {"quality": fmt.quality, "progressive": fmt.progressive, "optimize": True}
    if cmyk_profile is not None:
        image, profile = to_cmyk(image, cmyk_profile)
        params["icc_profile"] = profile
        params["subsampling"] = "4:4:4"
    elif image.mode == "RGB":
        params["subsampling"] = _subsampling(fmt.quality)
    if dpi is not None:
        params["dpi"] = tuple(min(max(round(v), 1), _JFIF_MAX_DENSITY) for v in dpi)
    return _save(image, "JPEG", **params)


# --- PNG -------------------------------------------------------------------------------------------


def _png(image: Image.Image, fmt: PngFormat, dpi: tuple[float, float] | None) -> bytes:
    params: dict[str, Any] = {"compress_level": PNG_FAST_ZLIB_LEVEL}
    if dpi is not None:
        params["dpi"] = dpi
    fast = _save(image, "PNG", **params)
    if fmt.compression == "fast":
        return fast
    common: dict[str, Any] = {
        "strip": oxipng.StripChunks.none(),
        "optimize_alpha": False,
        "interlace": None,
    }
    if fmt.compression == "optimal":
        # Preset 1 with no filter list keeps Pillow's row filters and only re-deflates (+ reductions).
        return oxipng.optimize_from_memory(
            fast, level=1, deflate=oxipng.Deflaters.libdeflater(PNG_OPTIMAL_LIBDEFLATE_LEVEL), **common
        )
    return oxipng.optimize_from_memory(fast, level=PNG_BEST_OXIPNG_PRESET, **common)


# --- WEBP ------------------------------------------------------------------------------------------


def _webp(image: Image.Image, fmt: WebpFormat, dpi: tuple[float, float] | None) -> tuple[bytes, int | None]:
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
        return _save(image, "WEBP", **params), 0
    params |= {"quality": fmt.compression.quality, "method": WEBP_LOSSY_METHOD, "alpha_quality": 100}
    return _save(image, "WEBP", **params), None


# --- AVIF ------------------------------------------------------------------------------------------


def _avif(image: Image.Image, fmt: AvifFormat, dpi: tuple[float, float] | None) -> tuple[bytes, int | None]:
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
        error = 0 if grey or _is_neutral(image) else AVIF_LOSSLESS_MAX_ERROR
        return _save(image, "AVIF", **params), error
    quality = fmt.compression.quality
    params |= {"quality": quality, "subsampling": "4:0:0" if grey else _subsampling(quality)}
    return _save(image, "AVIF", **params), None


def _is_neutral(image: Image.Image) -> bool:
    """True when every pixel has R == G == B (such pixels survive BT.601 YCbCr exactly)."""
    r, g, b = image.split()[:3]
    return r.tobytes() == g.tobytes() == b.tobytes()


# --- TIFF ------------------------------------------------------------------------------------------


def _tiff(image: Image.Image, fmt: TiffFormat, dpi: tuple[float, float] | None) -> tuple[bytes, int | None]:
    params: dict[str, Any] = {}
    if dpi is not None:
        params["dpi"] = dpi
    if isinstance(fmt.compression, Lossless):
        params |= {"compression": "tiff_lzw", "tiffinfo": {317: 2}}  # 317 = Predictor, 2 = horizontal
        return _save(image, "TIFF", **params), 0
    params |= {"compression": "jpeg", "quality": fmt.compression.quality}
    return _save(image, "TIFF", **params), None
