"""Decode the input bytes into a `Decoded`: 8-bit L/LA/RGB/RGBA, upright, first frame, sRGB.

Why each choice was made, with measurements: docs/image-io.md#decoding-inputs.
"""

from __future__ import annotations

import math
import struct
import sys
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageFile, ImageOps

from pixelport.contract.limits import limits
from pixelport.errors import INPUT_CORRUPT, INPUT_TOO_MANY_PIXELS, PixelportError
from pixelport.formats import INPUT_FORMATS
from pixelport.imaging.color import default_cmyk_profile_bytes, to_srgb
from pixelport.imaging.model import CmykSource, Decoded
from pixelport.sniff import require_image

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# Pillow's own bomb check is off, once, for the whole process: decode() compares the size the header
# declares with our configured limit (which may change between calls) before any pixel is loaded, so
# Pillow's check would only answer first with its own message, or need a global write on every call.
Image.MAX_IMAGE_PIXELS = None

# What Pillow's plugins (and pillow-heif) raise for a file they cannot read: the client's fault (4006).
# Anything else, MemoryError or a bug in our own code included, propagates so the processor retries.
_FILE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    RuntimeError,  # the AVIF plugin and pillow-heif: "Failed to decode image: ..."
)

# Pillow decoders tried for each sniffed format, in order. Files in the HEIF container (ISO BMFF with
# an "ftyp" box) go to Pillow's own AVIF plugin first: it claims the avif/avis/mif1/msf1 major brands
# and, for a generic mif1 file that turns out to hold HEVC, gives up with a SyntaxError so Pillow moves
# on to pillow-heif. The reverse order fails: pillow-heif 1.x accepts mif1 files but can no longer
# decode AV1, and only says so when the pixels are loaded.
_DECODERS: dict[str, list[str]] = {
    "BMP": ["BMP"],
    "GIF": ["GIF"],
    "JPEG": ["JPEG"],
    "PNG": ["PNG"],
    "TIFF": ["TIFF"],
    "WEBP": ["WEBP"],
    "AVIF": ["AVIF", "HEIF"],
    "HEIC": ["AVIF", "HEIF"],
}
# Pillow's format name -> our key of INPUT_FORMATS.
_FORMAT_KEYS = {"BMP": "BMP", "GIF": "GIF", "JPEG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WEBP"}
_FORMAT_KEYS |= {"AVIF": "AVIF", "HEIF": "HEIC", "MPO": "JPEG"}  # MPO: a JPEG with more pictures after it
assert set(_DECODERS) == set(INPUT_FORMATS) == set(_FORMAT_KEYS.values())


@cache
def register_heif() -> None:
    """pillow-heif's HEIF plugin for Pillow, registered by the first input that may need it: importing
    pillow-heif costs every cold start about 12 ms of CPU, and most inputs are not HEIF files."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


_ORIENTATION = 0x0112
_TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height
_TRANSPOSED = (2, 3, 4, *_TURNED)  # EXIF orientations exif_transpose applies
# Formats whose decoded image may be kept as the file's own image object (no copy): Pillow's own
# single-image plugins, which hold nothing but the pixels after load. Not HEIF/AVIF (their plugins keep
# the decoder's context) nor GIF (frames).
_KEEPABLE = ("JPEG", "PNG", "BMP", "WEBP", "TIFF")
_X_RESOLUTION, _Y_RESOLUTION, _RESOLUTION_UNIT = 0x011A, 0x011B, 0x0128
_DPI_SNAP = 0.0127  # half a pixel per metre, in dpi: the rounding of resolutions stored per metre


@cache
def _lut16() -> npt.NDArray[np.uint8]:
    """round(v * 255 / 65535) for every 16-bit value (v / 257 never ends in exactly .5: no ties)."""
    # numpy costs every cold start about 0.1 s: 16-bit and float inputs import it, 8-bit ones never do.
    import numpy as np

    return np.rint(np.arange(65536, dtype=np.float64) * 255.0 / 65535.0).astype(np.uint8)


def corrupt(fmt: str) -> PixelportError:
    return PixelportError(INPUT_CORRUPT, f"input looks like a {fmt} image but is truncated or corrupt")


def too_many_pixels(limit_mp: float, width: int | None = None, height: int | None = None) -> PixelportError:
    if width is None or height is None:
        return PixelportError(
            INPUT_TOO_MANY_PIXELS, f"input is larger than the limit of {limit_mp:g} megapixels"
        )
    return PixelportError(
        INPUT_TOO_MANY_PIXELS,
        f"input is {width}x{height} ({width * height / 1e6:.3g} megapixels), "
        f"more than the limit of {limit_mp:g} megapixels",
    )


# Given the input's upright size, the smallest upright size the steps need it at (None: full size).
SizeHint = Callable[[tuple[int, int]], tuple[int, int] | None]


@dataclass(frozen=True)
class Declared:
    """What the header says, before any pixel is decoded."""

    size: tuple[int, int]  # upright, full size
    decoded_pixels: int  # what decoding will hold (a JPEG may be decoded scaled down)
    bits: int  # 8 or 16 per channel
    alpha: bool
    cmyk: bool


# Called with the header's facts before decoding; raises to refuse the input (the memory rule).
Admit = Callable[[Declared], None]
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")


def decode(data: bytes, smallest: SizeHint | None = None, admit: Admit | None = None) -> Decoded:
    """Decode input bytes. A file that cannot be read raises `PixelportError` (4005, 4006, 4131; 5000
    for a missing bundled profile); any other failure (memory, our own code) propagates as it is.

    With `smallest`, a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that is still at least
    the size it answers, which is several times faster than decoding every pixel; `Decoded.size` stays
    the full size. With `admit`, the header's facts are passed to it before any pixel is decoded."""
    key = require_image(data)
    limit_mp = limits().max_input_megapixels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's warnings about odd files (EXIF, palettes) are no news
        return _decode(data, key, limit_mp, smallest, admit)


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) else 1


def _draft(im: Image.Image, smallest: SizeHint) -> tuple[int, int] | None:
    """Let the JPEG decoder scale `im` down as far as `smallest` allows; the full upright size if it did."""
    turned = _orientation(im) in _TURNED
    width, height = im.size
    upright = (height, width) if turned else (width, height)
    wanted = smallest(upright)
    if wanted is None:
        return None
    file_wanted = (wanted[1], wanted[0]) if turned else wanted
    im.draft(None, (max(1, file_wanted[0]), max(1, file_wanted[1])))
    return upright if im.size != (width, height) else None


def _declared(im: Image.Image, rawmode: str | None, full: tuple[int, int]) -> Declared:
    """`im` opened, maybe drafted, not loaded; `full` its size in the file."""
    turned = _orientation(im) in _TURNED
    sixteen = (rawmode is not None and ";16" in rawmode) or im.mode in ("I", "I;16", "I;16B", "F")
    return Declared(
        size=(full[1], full[0]) if turned else full,
        decoded_pixels=im.width * im.height,
        bits=16 if sixteen else 8,
        alpha=im.mode in _ALPHA_MODES or "transparency" in im.info,
        cmyk=im.mode == "CMYK",
    )


def _decode(
    data: bytes, key: str, limit_mp: float, smallest: SizeHint | None = None, admit: Admit | None = None
) -> Decoded:
    fmt = key
    if "HEIF" in _DECODERS[key]:
        register_heif()
    try:
        with ExitStack() as opened:
            im = opened.enter_context(Image.open(BytesIO(data), formats=_DECODERS[key]))  # the header only
            fmt = _FORMAT_KEYS.get(str(im.format), key)
            width, height = im.size
            if width * height > limit_mp * 1_000_000:  # as the output check of the pipeline
                raise too_many_pixels(limit_mp, width, height)
            if width <= 0 or height <= 0:
                raise corrupt(fmt)
            # First frame (HEIF: the primary image, which pillow-heif selects on open).
            if im.format != "HEIF" and im.tell() != 0:
                im.seek(0)
            source_mode = im.mode
            full_size = _draft(im, smallest) if smallest is not None and fmt == "JPEG" else None
            rawmode = _rawmode(im.tile[0]) if im.tile else None
            if admit is not None:
                admit(_declared(im, rawmode, (width, height)))
            im.load()
            icc = im.info.get("icc_profile") or None
            dpi = read_dpi(im, fmt)
            loaded: Image.Image = im
            if rawmode is not None and rawmode[:-1].endswith(";16"):
                loaded = _rounded_16_bit(data, _DECODERS[key], im, rawmode) or im
            upright = _upright(loaded, keep=loaded is im and fmt in _KEEPABLE)
            if upright is im:
                opened.pop_all()  # handed on as it is: closing it would free the pixels
            if fmt == "PNG" and rawmode is not None and rawmode.startswith("LA;16"):
                upright = upright.convert("LA")  # 16-bit grey+alpha: Pillow unpacks it as RGBA, R = G = B
            normal = _normalise(upright, keep_palette_colour=icc is not None)
    except Image.DecompressionBombError:  # not raised with the check off; kept should a plugin do it
        raise too_many_pixels(limit_mp) from None
    except _FILE_ERRORS as e:
        raise corrupt(fmt) from e
    converted = to_srgb(normal, icc)  # our colour management: a failure here is ours, not the file's
    image = converted.image
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        raise corrupt(fmt)
    image.info = {}
    cmyk = None
    if normal.mode == "CMYK":
        used = icc if icc is not None and converted.profile_status == "converted" else None
        cmyk = CmykSource(normal, used or default_cmyk_profile_bytes())
    size = full_size or image.size
    if (size[0] - size[1]) * (image.width - image.height) < 0:  # EXIF said turned, but it was not applied
        size = (size[1], size[0])
    return Decoded(image=image, format=fmt, dpi=dpi, source_mode=source_mode, size=size, cmyk=cmyk)


def _rawmode(tile: ImageFile._Tile) -> str | None:
    args = tile.args
    if isinstance(args, tuple) and args:
        args = args[0]
    return args if isinstance(args, str) else None


def _with_rawmode(tile: ImageFile._Tile, rawmode: str) -> ImageFile._Tile:
    args = tile.args
    if isinstance(args, tuple) and args:
        return tile._replace(args=(rawmode, *args[1:]))
    return tile._replace(args=rawmode)


def _low_byte_rawmode(rawmode: str) -> str | None:
    """A rawmode that unpacks the low bytes of 16-bit samples where `rawmode` unpacks the high ones."""
    base, _, order = rawmode.partition(";16")
    if base in ("RGB", "RGBA", "RGBX") and order in ("B", "L", "N"):
        if order == "N":
            order = "L" if sys.byteorder == "little" else "B"
        return f"{base};16{'L' if order == 'B' else 'B'}"
    return None


def _rounded_16_bit(data: bytes, formats: list[str], im: Image.Image, rawmode: str) -> Image.Image | None:
    """16-bit RGB(A) and grey+alpha samples rounded to 8 bits (round(v * 255 / 65535)), as I;16 is.

    Pillow keeps only the high byte of 16-bit colour samples (it has no 16-bit colour modes). The
    file is decoded a second time, unpacking the bytes the first pass dropped, and both are combined
    into the 16-bit values. None (keep Pillow's high bytes, at most 1 off) if that is not possible.
    """
    low_rawmode = _low_byte_rawmode(rawmode)
    if low_rawmode is None and not (rawmode == "LA;16B" and im.mode == "RGBA"):
        return None
    import numpy as np

    try:
        with Image.open(BytesIO(data), formats=formats) as again:
            if again.tell() != 0:
                again.seek(0)
            if low_rawmode is not None:
                again.tile = [_with_rawmode(t, low_rawmode) for t in again.tile]
            else:  # PNG grey+alpha: 4 bytes a pixel, read as 8-bit RGBA = L high, L low, A high, A low
                again.tile = [_with_rawmode(t, "RGBA") for t in again.tile]
            again.load()
            other = np.asarray(again).astype(np.uint16)
    except Exception:
        return None
    high = np.asarray(im).astype(np.uint16)
    if other.shape != high.shape:
        return None
    if low_rawmode is not None:
        samples = _lut16()[(high << 8) | other]
    else:
        grey, alpha = (other[..., 0] << 8) | other[..., 1], (other[..., 2] << 8) | other[..., 3]
        samples = _lut16()[np.stack([grey, grey, grey, alpha], axis=-1)]
    out = Image.frombytes(im.mode, im.size, np.ascontiguousarray(samples).tobytes())
    out.info = dict(im.info)
    return out


def _upright(im: Image.Image, *, keep: bool = False) -> Image.Image:
    """A standalone copy with the EXIF orientation applied (and removed); unreadable EXIF is ignored.
    With `keep`, an image that is upright already comes back as it is: copying every pixel only to
    close the file would cost the time and, while both exist, the memory of a second image.

    Pillow already applies TIFF orientation on load, and pillow-heif applies HEIF's irot/imir
    transforms and reports orientation 1; for the other formats this is where it happens.
    """
    if keep and _orientation(im) not in _TRANSPOSED:
        return im
    try:
        return ImageOps.exif_transpose(im)
    except Exception:
        return im.copy()


def _palette_is_grey(im: Image.Image) -> bool:
    palette = im.getpalette("RGB") or []
    counts = im.histogram()[:256]
    for index, count in enumerate(counts):
        if count and 3 * index + 2 < len(palette):
            r, g, b = palette[3 * index : 3 * index + 3]
            if not r == g == b:
                return False
    return True


def _from_u8(arr: npt.NDArray[np.uint8]) -> Image.Image:
    import numpy as np

    return Image.frombytes("L", (arr.shape[1], arr.shape[0]), np.ascontiguousarray(arr).tobytes())


def _int_to_l(im: Image.Image) -> Image.Image:
    """16-bit (and 32-bit integer, on the 16-bit scale) grey to 8-bit, with a 16-bit tRNS as alpha."""
    import numpy as np

    arr = np.asarray(im)
    if arr.dtype.kind == "i" or arr.dtype.itemsize > 2:
        arr16 = np.clip(arr, 0, 65535).astype(np.uint16)
    else:
        arr16 = arr.astype(np.uint16, copy=False)
    grey = _from_u8(_lut16()[arr16])
    trns = im.info.get("transparency")
    if isinstance(trns, int):
        alpha = _from_u8(np.where(arr == trns, 0, 255).astype(np.uint8))
        return Image.merge("LA", (grey, alpha))
    return grey


def float_to_l(im: Image.Image) -> Image.Image:
    """F to L: values all within 0..1 are scaled by 255, otherwise clipped to 0..255; NaN is 0."""
    import numpy as np

    arr = np.array(im, dtype=np.float32)
    np.nan_to_num(arr, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    if arr.size and float(arr.min()) >= 0.0 and float(arr.max()) <= 1.0:
        arr *= 255.0
    np.rint(arr, out=arr)
    np.clip(arr, 0.0, 255.0, out=arr)
    return _from_u8(arr.astype(np.uint8))


def _normalise(im: Image.Image, *, keep_palette_colour: bool) -> Image.Image:
    """Any decoded mode to L, LA, RGB, RGBA, or CMYK / LAB (left for colour management)."""
    mode = im.mode
    has_trns = im.info.get("transparency") is not None
    if mode == "1":
        im = im.convert("L")
        mode = "L"
    if mode == "L":
        return im.convert("LA") if has_trns else im
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or has_trns or (im.palette is not None and im.palette.mode == "RGBA")
        grey = not keep_palette_colour and _palette_is_grey(im)
        if grey:
            return im.convert("LA" if has_alpha else "L")
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode == "RGB":
        return im.convert("RGBA") if has_trns else im
    if mode in ("LA", "RGBA", "CMYK", "LAB"):
        return im
    if mode == "F":
        return float_to_l(im)
    if mode == "I" or mode.startswith("I;"):
        return _int_to_l(im)
    if mode in ("La", "RGBa"):
        return im.convert(mode.upper())
    bands = im.getbands()
    return im.convert("RGBA" if "A" in bands or "a" in bands else "RGB")  # YCbCr, HSV, RGBX, ...


def _number(value: Any) -> float | None:
    try:
        if isinstance(value, tuple):
            if len(value) == 2:
                return float(value[0]) / float(value[1])
            value = value[0]
        out = float(value)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    return out


def _dpi_pair(x: Any, y: Any, scale: float = 1.0) -> tuple[float, float] | None:
    xs, ys = _number(x), _number(y)
    if xs is None or ys is None:
        return None
    pair = []
    for v in (xs * scale, ys * scale):
        if not math.isfinite(v) or v <= 0:
            return None
        nearest = round(v)
        pair.append(float(nearest) if abs(v - nearest) <= _DPI_SNAP else v)
    return pair[0], pair[1]


def _exif_dpi(im: Image.Image) -> tuple[float, float] | None:
    exif = im.getexif()
    if _X_RESOLUTION not in exif:
        return None
    x = exif[_X_RESOLUTION]
    y = exif.get(_Y_RESOLUTION, x)
    unit = exif.get(_RESOLUTION_UNIT, 2)  # EXIF and TIFF default: inches
    if unit == 2:
        return _dpi_pair(x, y)
    if unit == 3:
        return _dpi_pair(x, y, 2.54)
    return None  # 1: no absolute unit


def read_dpi(im: Image.Image, fmt: str) -> tuple[float, float] | None:
    """The resolution the file declares, in dots per inch, or None (see the module docstring)."""
    try:
        info = im.info
        if fmt == "JPEG":
            unit, density = info.get("jfif_unit"), info.get("jfif_density")
            if unit in (1, 2) and isinstance(density, tuple) and len(density) == 2:
                found = _dpi_pair(density[0], density[1], 2.54 if unit == 2 else 1.0)
                if found:
                    return found
            # Pillow answers (72, 72) for EXIF without resolution tags: read EXIF ourselves.
            return _exif_dpi(im)
        if fmt in ("PNG", "BMP"):
            dpi = info.get("dpi")  # PNG pHYs with the metre unit, BMP pixels per metre (0 = none)
            if isinstance(dpi, tuple) and len(dpi) == 2:
                found = _dpi_pair(dpi[0], dpi[1])
                if found:
                    return found
            return _exif_dpi(im) if fmt == "PNG" else None
        if fmt == "GIF":
            return None
        # TIFF (Pillow reports (1, 1) when the tags are absent: read them), WEBP, AVIF, HEIC: EXIF.
        return _exif_dpi(im)
    except Exception:
        return None
