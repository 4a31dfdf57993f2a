"""Deterministic test images of every input format pixelport accepts, generated in code.

`make_image(fmt, mode)` returns the bytes of a file; `source_image` / `source_array` return the
pixels that were written into it, so a test can compute the expected decoded pixels independently of
the decoder. `INPUT_CASES` lists every (format, mode) combination the formats can actually store.

Case modes are Pillow modes, with a few extras:

- ``"PT"``: palette with transparency (GIF: one transparent index; PNG: a tRNS table of alphas);
- ``"RGB;16"``, ``"RGBA;16"``, ``"LA;16"``: 16 bits per channel (PNG and TIFF written by hand,
  Pillow cannot write them);
- a ``"+animated"`` / ``"+multipage"`` suffix: three frames (the same as ``frames=3``); frame k > 0
  is the colour negative of frame 0, so the first frame is easy to tell apart.

Content: a smooth colour gradient with colour patches (`PATCHES`) at known places, and for alpha
modes a horizontal alpha ramp from 255 down to 95.
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms
from pillow_heif import register_heif_opener

register_heif_opener()

FORMATS = ("BMP", "GIF", "JPEG", "PNG", "TIFF", "WEBP", "AVIF", "HEIC")

INPUT_CASES: list[tuple[str, str]] = [
    ("BMP", "1"),
    ("BMP", "L"),
    ("BMP", "P"),
    ("BMP", "RGB"),
    ("BMP", "RGBA"),  # 32-bit BITMAPV4HEADER with an alpha mask (Pillow writes RGBA BMPs it reads as RGB)
    ("GIF", "L"),
    ("GIF", "P"),
    ("GIF", "PT"),
    ("GIF", "P+animated"),
    ("JPEG", "L"),
    ("JPEG", "RGB"),
    ("JPEG", "CMYK"),  # Adobe APP14 marker, inverted samples: what Photoshop (and Pillow) write
    ("PNG", "1"),
    ("PNG", "L"),
    ("PNG", "LA"),
    ("PNG", "P"),
    ("PNG", "PT"),
    ("PNG", "RGB"),
    ("PNG", "RGBA"),
    ("PNG", "I;16"),
    ("PNG", "LA;16"),
    ("PNG", "RGB;16"),
    ("PNG", "RGBA;16"),
    ("PNG", "RGBA+animated"),
    ("TIFF", "1"),
    ("TIFF", "L"),
    ("TIFF", "LA"),
    ("TIFF", "P"),
    ("TIFF", "PA"),
    ("TIFF", "RGB"),
    ("TIFF", "RGBA"),
    ("TIFF", "CMYK"),
    ("TIFF", "YCbCr"),
    ("TIFF", "LAB"),
    ("TIFF", "I;16"),
    ("TIFF", "I;16B"),
    ("TIFF", "I"),
    ("TIFF", "F"),
    ("TIFF", "RGB;16"),
    ("TIFF", "RGB+multipage"),
    ("WEBP", "RGB"),
    ("WEBP", "RGBA"),
    ("WEBP", "RGBA+animated"),
    ("AVIF", "L"),
    ("AVIF", "RGB"),
    ("AVIF", "RGBA"),
    ("AVIF", "RGB+animated"),
    ("HEIC", "L"),
    ("HEIC", "RGB"),
    ("HEIC", "RGBA"),
]

LOSSLESS_FORMATS = frozenset({"BMP", "GIF", "PNG", "TIFF"})

# Colour patches: name -> (RGB colour, centre as fractions of (width, height)).
PATCHES: dict[str, tuple[tuple[int, int, int], tuple[float, float]]] = {
    "red": ((255, 0, 0), (0.0, 0.0)),  # top-left corner
    "green": ((0, 255, 0), (1.0, 0.0)),  # top-right corner
    "blue": ((0, 0, 255), (0.0, 1.0)),  # bottom-left corner
    "white": ((255, 255, 255), (1.0, 1.0)),  # bottom-right corner
    "cyan": ((0, 255, 255), (0.25, 0.5)),
    "yellow": ((255, 255, 0), (0.5, 0.5)),
    "magenta": ((255, 0, 255), (0.75, 0.5)),
    "black": ((0, 0, 0), (0.5, 0.0)),
}

_ANIMATED_SUFFIXES = ("+animated", "+multipage")


def split_case(mode: str) -> tuple[str, int]:
    """'P+animated' -> ('P', 3); 'RGB' -> ('RGB', 1)."""
    for suffix in _ANIMATED_SUFFIXES:
        if mode.endswith(suffix):
            return mode.removesuffix(suffix), 3
    return mode, 1


def patch_side(size: tuple[int, int]) -> int:
    return max(2, min(size) // 6)


def patch_box(name: str, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a patch, clamped inside the image."""
    w, h = size
    side = patch_side(size)
    _, (fx, fy) = PATCHES[name]
    left = min(max(round(fx * w - side / 2), 0), w - side)
    top = min(max(round(fy * h - side / 2), 0), h - side)
    return left, top, left + side, top + side


def patch_inner(name: str, size: tuple[int, int], margin: int = 2) -> tuple[slice, slice]:
    """Row and column slices of a patch's interior (away from lossy-codec edge ringing)."""
    left, top, right, bottom = patch_box(name, size)
    m = min(margin, (right - left - 1) // 2)
    return slice(top + m, bottom - m), slice(left + m, right - m)


def rgb_float(size: tuple[int, int], frame: int = 0) -> npt.NDArray[np.float64]:
    """The colour content as floats 0..255, shape (h, w, 3)."""
    w, h = size
    x = np.linspace(0.0, 1.0, w)[None, :]
    y = np.linspace(0.0, 1.0, h)[:, None]
    out = np.empty((h, w, 3))
    out[..., 0] = 40 + 180 * x + 0 * y
    out[..., 1] = 30 + 190 * y + 0 * x
    out[..., 2] = 200 - 120 * x * y
    for name, (colour, _) in PATCHES.items():
        left, top, right, bottom = patch_box(name, size)
        out[top:bottom, left:right] = colour
    if frame % 2:
        out = 255.0 - out
    return out


def alpha_float(size: tuple[int, int]) -> npt.NDArray[np.float64]:
    w, h = size
    return np.broadcast_to(np.linspace(255.0, 95.0, w)[None, :], (h, w)).copy()


def grey_float(size: tuple[int, int], frame: int = 0) -> npt.NDArray[np.float64]:
    """Luminance of the colour content (ITU-R 601 weights, as Pillow's convert('L')), 0..255."""
    rgb = rgb_float(size, frame)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _u8(a: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    out: npt.NDArray[np.uint8] = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return out


def source_array(mode: str, size: tuple[int, int] = (64, 48), frame: int = 0) -> npt.NDArray[Any]:
    """Samples of the high-bit-depth and float modes as written: uint16 for 'I;16*', 'RGB;16',
    'RGBA;16', 'LA;16'; int32 for 'I' (on the 16-bit scale); float32 0..1 for 'F'."""
    grey16 = np.rint(grey_float(size, frame) * 257.0)
    if mode in ("I;16", "I;16B", "I;16L"):
        return grey16.astype(np.uint16)
    if mode == "I":
        return grey16.astype(np.int32)
    if mode == "F":
        return (grey_float(size, frame) / 255.0).astype(np.float32)
    alpha16 = np.rint(alpha_float(size) * 257.0)
    if mode == "LA;16":
        return np.stack([grey16, alpha16], axis=-1).astype(np.uint16)
    rgb16 = np.rint(rgb_float(size, frame) * 257.0)
    if mode == "RGB;16":
        return rgb16.astype(np.uint16)
    if mode == "RGBA;16":
        return np.concatenate([rgb16, alpha16[..., None]], axis=-1).astype(np.uint16)
    raise ValueError(f"no array source for mode {mode}")


def _palette_image(size: tuple[int, int], frame: int, colours: int = 64) -> Image.Image:
    rgb = Image.fromarray(_u8(rgb_float(size, frame)), "RGB")
    return rgb.quantize(colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def transparent_index_image(size: tuple[int, int], frame: int = 0) -> Image.Image:
    """P image whose index 63 (painted over the 'white' patch) is the transparent one."""
    p = _palette_image(size, frame, 63)
    palette = p.getpalette() or []
    palette = (palette + [0] * 768)[:768]
    palette[63 * 3 : 63 * 3 + 3] = [10, 20, 30]
    p.putpalette(palette)
    left, top, right, bottom = patch_box("white", size)
    p.paste(63, (left, top, right, bottom))
    p.info["transparency"] = 63
    return p


def png_trns_table() -> bytes:
    """Alpha per palette entry for the PNG 'PT' case: a ramp, index 0 fully transparent."""
    return bytes(min(255, 4 * i) for i in range(64))


def source_image(mode: str, size: tuple[int, int] = (64, 48), frame: int = 0, fmt: str = "") -> Image.Image:
    """The Pillow image written for an 8-bit case mode (PT: with info['transparency'])."""
    rgb = Image.fromarray(_u8(rgb_float(size, frame)), "RGB")
    alpha = Image.fromarray(_u8(alpha_float(size)), "L")
    grey = Image.fromarray(_u8(grey_float(size, frame)), "L")
    if mode == "RGB":
        return rgb
    if mode == "RGBA":
        rgba = rgb.copy()
        rgba.putalpha(alpha)
        return rgba
    if mode == "L":
        return grey
    if mode == "LA":
        la = grey.copy()
        la.putalpha(alpha)
        return la
    if mode == "1":
        return grey.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    if mode == "P":
        return _palette_image(size, frame)
    if mode == "PT":
        if fmt == "PNG":
            p = _palette_image(size, frame)
            p.info["transparency"] = png_trns_table()
            return p
        return transparent_index_image(size, frame)
    if mode == "PA":
        pa = _palette_image(size, frame).convert("PA")
        pa.putalpha(alpha)
        return pa
    if mode == "CMYK":
        # naive complement: the cyan patch becomes pure cyan ink (255, 0, 0, 0)
        return rgb.convert("CMYK")
    if mode == "YCbCr":
        return rgb.convert("YCbCr")
    if mode == "LAB":
        srgb = ImageCms.createProfile("sRGB")
        lab = ImageCms.createProfile("LAB")
        transform = ImageCms.buildTransform(srgb, lab, "RGB", "LAB")
        return ImageCms.applyTransform(rgb, transform) or rgb
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = source_array(mode, size, frame)
        if mode == "F":
            return Image.fromarray(arr, "F")
        if mode == "I":
            return Image.fromarray(arr, "I")
        dtype = ">u2" if mode == "I;16B" else "<u2"
        return Image.frombytes(mode, size, arr.astype(dtype).tobytes())
    raise ValueError(f"no source image for mode {mode}")


# --- hand-written files (what Pillow cannot write) ---


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(
    samples: npt.NDArray[Any],
    color_type: int,
    bit_depth: int = 16,
    *,
    dpi: int | None = None,
    extra_chunks: list[tuple[bytes, bytes]] | None = None,
) -> bytes:
    """A PNG from samples (h, w[, c]), without filtering: colour type 0 grey, 2 RGB, 4 LA, 6 RGBA."""
    h, w = samples.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    rows = np.ascontiguousarray(samples.astype(dtype)).reshape(h, -1).view(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    chunks = [_png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))]
    if dpi:
        ppm = round(dpi / 0.0254)
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)))
    for kind, data in extra_chunks or []:
        chunks.append(_png_chunk(kind, data))
    chunks += [_png_chunk(b"IDAT", zlib.compress(raw)), _png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def tiff16_bytes(samples: npt.NDArray[np.uint16], *, alpha: bool = False, dpi: int | None = None) -> bytes:
    """An uncompressed little-endian 16-bit RGB(A) TIFF, one strip."""
    h, w, c = samples.shape
    pixel_data = np.ascontiguousarray(samples.astype("<u2")).tobytes()
    bits = struct.pack("<" + "H" * c, *([16] * c))
    entries: list[tuple[int, int, int, int | bytes]] = [  # tag, type, count, value or data
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, c, bits),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, 0),  # patched below
        (277, 3, 1, c),
        (278, 4, 1, h),
        (279, 4, 1, len(pixel_data)),
        (284, 3, 1, 1),
    ]
    if alpha:
        entries.append((338, 3, 1, 2))  # extra sample: unassociated alpha
    if dpi:
        resolution = struct.pack("<II", dpi, 1)
        entries += [(282, 5, 1, resolution), (283, 5, 1, resolution), (296, 3, 1, 2)]
    entries.sort()
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    extra_offset = ifd_offset + ifd_size
    extra = b""
    resolved: list[tuple[int, int, int, bytes]] = []
    for tag, typ, count, value in entries:
        if isinstance(value, bytes):
            if len(value) <= 4:
                field = value.ljust(4, b"\x00")
            else:
                field = struct.pack("<I", extra_offset + len(extra))
                extra += value
        elif typ == 3:
            field = struct.pack("<HH", value, 0)
        else:
            field = struct.pack("<I", value)
        resolved.append((tag, typ, count, field))
    data_offset = extra_offset + len(extra)
    ifd = struct.pack("<H", len(resolved))
    for tag, typ, count, field in resolved:
        if tag == 273:
            field = struct.pack("<I", data_offset)
        ifd += struct.pack("<HHI", tag, typ, count) + field
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + extra + pixel_data


def bmp_rgba_bytes(image: Image.Image) -> bytes:
    """A 32-bit BMP with a BITMAPV4HEADER and BI_BITFIELDS masks including alpha (as GIMP writes)."""
    rgba = np.asarray(image.convert("RGBA"))
    h, w = rgba.shape[:2]
    bgra = rgba[::-1, :, [2, 1, 0, 3]].tobytes()  # bottom-up rows
    header_size = 108
    offset = 14 + header_size
    file_header = b"BM" + struct.pack("<IHHI", offset + len(bgra), 0, 0, offset)
    info = struct.pack(
        "<IiiHHIIiiII",
        header_size,
        w,
        h,
        1,
        32,
        3,  # BI_BITFIELDS
        len(bgra),
        2835,
        2835,
        0,
        0,
    )
    info += struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
    info += b"BGRs" + b"\x00" * 36 + b"\x00" * 12  # colour space type, endpoints, gammas
    assert len(info) == header_size
    return file_header + info + bgra


# --- the generator ---


def _exif(exif_orientation: int | None, dpi: int | None) -> Image.Exif | None:
    if exif_orientation is None and dpi is None:
        return None
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    if dpi is not None:
        exif[0x011A] = float(dpi)
        exif[0x011B] = float(dpi)
        exif[0x0128] = 2
    return exif


def make_image(
    fmt: str,
    mode: str,
    size: tuple[int, int] = (64, 48),
    *,
    icc: bytes | None = None,
    dpi: int | None = None,
    exif_orientation: int | None = None,
    frames: int = 1,
    quality: int = 92,
) -> bytes:
    """The bytes of a `fmt` file ("HEIC" for HEIF/HEVC) holding `mode` content (see module doc).

    `dpi` is written in the format's own resolution field (JFIF, pHYs, TIFF tags, BMP) and as EXIF
    resolution for WEBP, AVIF and HEIC. `exif_orientation` is written as an EXIF tag.
    """
    mode, case_frames = split_case(mode)
    frames = max(frames, case_frames)
    if mode in ("RGB;16", "RGBA;16", "LA;16") or (fmt == "PNG" and mode in ("I;16", "I;16B")):
        if frames != 1 or icc or exif_orientation:
            raise ValueError(f"{fmt} {mode} is written by hand: one frame, no ICC or EXIF")
        arr = source_array(mode, size)
        if fmt == "PNG":
            color_type = {"RGB;16": 2, "RGBA;16": 6, "LA;16": 4, "I;16": 0, "I;16B": 0}[mode]
            return png_bytes(arr, color_type, dpi=dpi)
        if fmt == "TIFF" and mode in ("RGB;16", "RGBA;16"):
            return tiff16_bytes(arr, alpha=mode == "RGBA;16", dpi=dpi)
        raise ValueError(f"{fmt} cannot store {mode}")
    if fmt == "BMP" and mode == "RGBA":
        if frames != 1 or icc or dpi or exif_orientation:
            raise ValueError("hand-written BMP RGBA: no options")
        return bmp_rgba_bytes(source_image("RGBA", size))

    images = [source_image(mode, size, k, fmt) for k in range(frames)]
    first = images[0]
    params: dict[str, Any] = {}
    if icc is not None:
        params["icc_profile"] = icc
    pillow_fmt = {"HEIC": "HEIF"}.get(fmt, fmt)
    exif = _exif(exif_orientation, dpi if fmt in ("WEBP", "AVIF", "HEIC") else None)
    if exif is not None:
        params["exif"] = exif.tobytes()
    if dpi is not None and fmt in ("JPEG", "PNG", "TIFF", "BMP"):
        params["dpi"] = (dpi, dpi)
    if "transparency" in first.info:
        params["transparency"] = first.info["transparency"]
    if fmt in ("JPEG", "WEBP", "AVIF", "HEIC"):
        params["quality"] = quality
    if fmt == "JPEG":
        params["subsampling"] = 0  # 4:4:4 keeps small colour patches exact enough to compare
    if fmt == "AVIF":
        params["subsampling"] = "4:4:4" if mode != "L" else "4:0:0"
    if fmt == "WEBP" and mode in ("RGBA", "LA", "PA", "PT"):
        params["exact"] = True
    if frames > 1:
        params["save_all"] = True
        params["append_images"] = images[1:]
        if fmt in ("GIF", "WEBP", "AVIF", "PNG"):
            params["duration"] = 100
            params["loop"] = 0
    if fmt == "GIF" and mode == "L":
        params["optimize"] = False
    out = BytesIO()
    first.save(out, pillow_fmt, **params)
    return out.getvalue()


def flat_png(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    """An RGB PNG of one colour: the input an integration test's URL serves."""
    out = BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def huge_png_header(width: int, height: int) -> bytes:
    """A valid-looking PNG declaring width x height with a tiny (wrong) IDAT: tests the pixel limit."""
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    idat = _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat + _png_chunk(b"IEND", b"")


def strip_jpeg_segment(data: bytes, marker: int) -> bytes:
    """Remove every segment with the given marker (e.g. 0xEE for Adobe APP14) from a JPEG header."""
    out = bytearray(data[:2])
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        kind = data[pos + 1]
        if kind == 0xDA:  # start of scan: the rest is entropy-coded data
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if kind != marker:
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    out += data[pos:]
    return bytes(out)
