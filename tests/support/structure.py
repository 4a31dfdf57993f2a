"""Byte-level readers for the files pixelport writes, so tests assert on what is actually in a file
(markers, chunks, tags, boxes) instead of on "Pillow could open it".

Independent of the encoder: nothing here calls Pillow to parse. Also: the IJG quality estimate for
JPEG quantisation tables, an ICC profile description reader, PSNR, and the synthetic photographs the
encoder tests and ``bench/png_compression.py`` use.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

# --- JPEG ----------------------------------------------------------------------------------------

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
SOF0, SOF1, SOF2 = 0xC0, 0xC1, 0xC2
DQT, APP0, APP2, APP14 = 0xDB, 0xE0, 0xE2, 0xEE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}

# Position k of a zigzag-ordered table holds the coefficient at this natural (row-major) index.
ZIGZAG_TO_NATURAL = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip

# The IJG (libjpeg) base tables, natural order: ITU-T T.81 Annex K, tables K.1 and K.2.
IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
IJG_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    *(99,) * 32,
)  # fmt: skip


@dataclass(frozen=True)
class Segment:
    marker: int  # the byte after 0xFF: 0xC0 = SOF0, 0xDB = DQT, ...
    payload: bytes  # without the marker and the length field
    offset: int  # of the 0xFF byte


def jpeg_segments(data: bytes) -> list[Segment]:
    """Every marker segment of a JPEG (or an abbreviated table-only stream such as TIFF JPEGTables),
    in file order; entropy-coded data between SOS and the next marker is skipped."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG stream: no SOI")
    segments: list[Segment] = []
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"expected a marker at {pos}")
        start = pos
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == EOI:
            break
        if marker in _STANDALONE:
            continue
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        segments.append(Segment(marker, data[pos + 2 : pos + length], start))
        pos += length
        if marker == SOS:
            # Entropy-coded data: ends at 0xFF followed by neither a stuffed 0x00 nor an RSTn.
            while pos < len(data) - 1:
                if data[pos] == 0xFF and data[pos + 1] != 0x00 and not 0xD0 <= data[pos + 1] <= 0xD7:
                    break
                pos += 1
    return segments


@dataclass(frozen=True)
class FrameHeader:
    marker: int  # 0xC0 baseline, 0xC2 progressive
    precision: int
    height: int
    width: int
    components: tuple[tuple[int, int, int, int], ...]  # (id, h sampling, v sampling, table)


def jpeg_frame(data: bytes) -> FrameHeader:
    for seg in jpeg_segments(data):
        if 0xC0 <= seg.marker <= 0xCF and seg.marker not in (0xC4, 0xC8, 0xCC):
            p = seg.payload
            precision, height, width, count = struct.unpack(">BHHB", p[:6])
            comps = tuple(
                (p[6 + 3 * i], p[7 + 3 * i] >> 4, p[7 + 3 * i] & 15, p[8 + 3 * i]) for i in range(count)
            )
            return FrameHeader(seg.marker, precision, height, width, comps)
    raise ValueError("no SOF segment")


def jpeg_quant_tables(data: bytes) -> dict[int, tuple[int, ...]]:
    """Quantisation tables by id (0 = luminance for IJG encoders), in natural (row-major) order."""
    tables: dict[int, tuple[int, ...]] = {}
    for seg in jpeg_segments(data):
        if seg.marker != DQT:
            continue
        p, pos = seg.payload, 0
        while pos < len(p):
            precision, table_id = p[pos] >> 4, p[pos] & 15
            pos += 1
            size = 2 if precision else 1
            zigzag = [int.from_bytes(p[pos + size * k : pos + size * (k + 1)], "big") for k in range(64)]
            pos += 64 * size
            natural = [0] * 64
            for k, value in enumerate(zigzag):
                natural[ZIGZAG_TO_NATURAL[k]] = value
            tables[table_id] = tuple(natural)
    return tables


def ijg_table(quality: int, base: tuple[int, ...] = IJG_LUMINANCE) -> tuple[int, ...]:
    """The table libjpeg's jpeg_set_quality(quality, force_baseline=TRUE) derives from `base`."""
    quality = min(max(quality, 1), 100)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(max((b * scale + 50) // 100, 1), 255) for b in base)


def ijg_quality_estimate(table: tuple[int, ...], base: tuple[int, ...] = IJG_LUMINANCE) -> float:
    """Invert IJG scaling: the scale factor (percent) is the least-squares ratio table/base over the
    entries that are not clamped, and quality = 5000 / scale below 50, (200 - scale) / 2 from 50
    (scale 100 <-> quality 50)."""
    t = np.asarray(table, dtype=np.float64)
    b = np.asarray(base, dtype=np.float64)
    # Entries clamped to 1 (very high quality) or 255 (very low) carry no scale information.
    informative = (t > 1) & (t < 255)
    if informative.sum() >= 8:
        t, b = t[informative], b[informative]
    scale = float(100.0 * (t @ b) / (b @ b))
    if scale <= 100.0:
        return (200.0 - scale) / 2.0
    return 5000.0 / scale


def jfif_density(data: bytes) -> tuple[int, int, int] | None:
    """(unit, x density, y density) of the JFIF APP0 segment; unit 0 = aspect only, 1 = dpi, 2 = dpcm."""
    for seg in jpeg_segments(data):
        if seg.marker == APP0 and seg.payload.startswith(b"JFIF\x00"):
            unit, x, y = struct.unpack(">BHH", seg.payload[7:12])
            return unit, x, y
    return None


def adobe_transform(data: bytes) -> int | None:
    """The transform byte of the Adobe APP14 segment (0 = none/CMYK, 1 = YCbCr, 2 = YCCK), None if absent."""
    for seg in jpeg_segments(data):
        if seg.marker == APP14 and seg.payload.startswith(b"Adobe"):
            return seg.payload[11]
    return None


def jpeg_icc_profile(data: bytes) -> bytes | None:
    """The ICC profile carried in APP2 ICC_PROFILE segments, reassembled in sequence order."""
    chunks: dict[int, bytes] = {}
    for seg in jpeg_segments(data):
        if seg.marker == APP2 and seg.payload.startswith(b"ICC_PROFILE\x00"):
            chunks[seg.payload[12]] = seg.payload[14:]
    return b"".join(chunks[k] for k in sorted(chunks)) if chunks else None


# --- ICC -----------------------------------------------------------------------------------------


def icc_tag(profile: bytes, signature: bytes) -> bytes | None:
    (count,) = struct.unpack(">I", profile[128:132])
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", profile[132 + 12 * i : 144 + 12 * i])
        if sig == signature:
            return profile[offset : offset + size]
    return None


def icc_description(profile: bytes) -> str:
    """The profile description ('desc' tag: ICC v2 textDescriptionType or v4 multiLocalizedUnicode)."""
    tag = icc_tag(profile, b"desc")
    if tag is None:
        raise ValueError("profile has no desc tag")
    if tag[:4] == b"desc":
        (length,) = struct.unpack(">I", tag[8:12])
        return tag[12 : 12 + length].split(b"\x00", 1)[0].decode("latin-1")
    if tag[:4] == b"mluc":
        length, offset = struct.unpack(">II", tag[20:28])
        return tag[offset : offset + length].decode("utf-16-be")
    raise ValueError(f"unknown desc tag type {tag[:4]!r}")


def icc_header(profile: bytes) -> dict[str, Any]:
    return {
        "size": struct.unpack(">I", profile[:4])[0],
        "class": profile[12:16],
        "color_space": profile[16:20],
        "pcs": profile[20:24],
        "signature": profile[36:40],
    }


# --- PNG -----------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, CRCs checked."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    chunks: list[tuple[bytes, bytes]] = []
    pos = len(PNG_SIGNATURE)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        chunks.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def png_chunk(data: bytes, kind: bytes) -> bytes | None:
    return next((body for k, body in png_chunks(data) if k == kind), None)


def png_ihdr(data: bytes) -> dict[str, int]:
    body = png_chunk(data, b"IHDR")
    assert body is not None
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
    return {
        "width": width,
        "height": height,
        "bit_depth": depth,
        "color_type": color_type,
        "interlace": interlace,
    }


def png_phys(data: bytes) -> tuple[int, int, int] | None:
    """(x pixels per unit, y pixels per unit, unit) of pHYs; unit 1 = metre."""
    body = png_chunk(data, b"pHYs")
    return None if body is None else struct.unpack(">IIB", body)


# --- TIFF and EXIF -------------------------------------------------------------------------------

_TIFF_TYPES: dict[int, tuple[str, int]] = {
    1: ("B", 1),  # BYTE
    2: ("s", 1),  # ASCII
    3: ("H", 2),  # SHORT
    4: ("I", 4),  # LONG
    5: ("II", 8),  # RATIONAL
    6: ("b", 1),  # SBYTE
    7: ("s", 1),  # UNDEFINED
    8: ("h", 2),  # SSHORT
    9: ("i", 4),  # SLONG
    10: ("ii", 8),  # SRATIONAL
    11: ("f", 4),  # FLOAT
    12: ("d", 8),  # DOUBLE
    13: ("I", 4),  # IFD
}

TiffValue = tuple[Any, ...] | bytes | str


def tiff_ifd0(data: bytes) -> dict[int, TiffValue]:
    """The first IFD of a classic TIFF structure (a .tif file or an EXIF block without the
    "Exif\\0\\0" prefix): tag -> tuple of values (RATIONALs as Fractions), bytes for BYTE/UNDEFINED,
    str for ASCII."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        raise ValueError("not a TIFF structure")
    magic, offset = struct.unpack(order + "HI", data[2:8])
    if magic != 42:
        raise ValueError(f"TIFF magic {magic} (BigTIFF is not read here)")
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    tags: dict[int, TiffValue] = {}
    for i in range(count):
        entry = data[offset + 2 + 12 * i : offset + 14 + 12 * i]
        tag, kind, n = struct.unpack(order + "HHI", entry[:8])
        if kind not in _TIFF_TYPES:
            continue
        code, size = _TIFF_TYPES[kind]
        total = size * n
        if total <= 4:
            raw = entry[8 : 8 + total]
        else:
            (where,) = struct.unpack(order + "I", entry[8:12])
            raw = data[where : where + total]
        if kind in (1, 7):
            tags[tag] = bytes(raw)
        elif kind == 2:
            tags[tag] = raw.rstrip(b"\x00").decode("latin-1")
        elif kind in (5, 10):
            pairs = struct.unpack(order + code[0] * (2 * n), raw)
            tags[tag] = tuple(Fraction(pairs[2 * j], pairs[2 * j + 1]) for j in range(n))
        else:
            tags[tag] = struct.unpack(order + code * n, raw)
    return tags


def exif_ifd0(blob: bytes) -> dict[int, TiffValue]:
    """IFD0 of an EXIF block, with or without the JPEG-style "Exif\\0\\0" prefix."""
    return tiff_ifd0(blob[6:] if blob.startswith(b"Exif\x00\x00") else blob)


# --- WEBP (RIFF) ---------------------------------------------------------------------------------


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(fourcc, payload) of the top-level chunks of a RIFF WEBP file (VP8X, ALPH, VP8, VP8L, EXIF...)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a RIFF WEBP file")
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 != len(data):
        raise ValueError("RIFF size does not match the file size")
    chunks: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        chunks.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks


VP8X_ICC, VP8X_ALPHA, VP8X_EXIF, VP8X_XMP, VP8X_ANIMATION = 0x20, 0x10, 0x08, 0x04, 0x02


# --- AVIF (ISOBMFF / HEIF) -----------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    kind: bytes
    payload: bytes  # after the box header (for full boxes: including version and flags)
    offset: int  # of the box in the file


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[Box]:
    end = len(data) if end is None else end
    out: list[Box] = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        out.append(Box(kind, data[pos + header : pos + size], pos))
        pos += size
    return out


def _child(parent: bytes, kind: bytes, skip: int = 0) -> Box:
    for box in boxes(parent, skip):
        if box.kind == kind:
            return box
    raise ValueError(f"no {kind!r} box")


def ftyp(data: bytes) -> tuple[bytes, list[bytes]]:
    """(major brand, compatible brands) of the leading ftyp box."""
    first = boxes(data)[0]
    if first.kind != b"ftyp":
        raise ValueError("file does not start with ftyp")
    p = first.payload
    return p[:4], [p[i : i + 4] for i in range(8, len(p), 4)]


def _meta(data: bytes) -> bytes:
    return _child(data, b"meta").payload  # a full box: version/flags in the first 4 bytes


def avif_item_types(data: bytes) -> dict[int, bytes]:
    """item_ID -> item_type from iinf (b"av01", b"Exif", ...)."""
    meta = _meta(data)
    iinf = _child(meta, b"iinf", 4).payload
    version = iinf[0]
    skip = 4 + (2 if version == 0 else 4)
    items: dict[int, bytes] = {}
    for infe in boxes(iinf, skip):
        if infe.kind != b"infe":
            continue
        p = infe.payload
        if p[0] == 2:
            (item_id,) = struct.unpack(">H", p[4:6])
            items[item_id] = p[8:12]
        elif p[0] == 3:
            (item_id,) = struct.unpack(">I", p[4:8])
            items[item_id] = p[10:14]
    return items


def avif_item_data(data: bytes, item_id: int) -> bytes:
    """The bytes of an item, from iloc (construction method 0: file offsets)."""
    p = _child(_meta(data), b"iloc", 4).payload
    version = p[0]
    offset_size, length_size = p[4] >> 4, p[4] & 15
    base_size, index_size = p[5] >> 4, (p[5] & 15 if version in (1, 2) else 0)
    pos = 6

    def read(n: int) -> int:
        nonlocal pos
        value = int.from_bytes(p[pos : pos + n], "big") if n else 0
        pos += n
        return value

    count = read(2 if version < 2 else 4)
    for _ in range(count):
        this_id = read(2 if version < 2 else 4)
        method = read(2) & 15 if version in (1, 2) else 0
        read(2)  # data_reference_index
        base = read(base_size)
        extents = []
        for _ in range(read(2)):
            read(index_size)
            extents.append((read(offset_size), read(length_size)))
        if this_id == item_id:
            if method != 0:
                raise ValueError("only file-offset items are read here")
            return b"".join(data[base + off : base + off + length] for off, length in extents)
    raise ValueError(f"no item {item_id}")


def avif_exif(data: bytes) -> bytes | None:
    """The EXIF TIFF structure of the Exif item (after its 4-byte header offset), None if absent."""
    for item_id, kind in avif_item_types(data).items():
        if kind == b"Exif":
            payload = avif_item_data(data, item_id)
            (skip,) = struct.unpack(">I", payload[:4])
            return payload[4 + skip :]
    return None


def avif_property_boxes(data: bytes, kind: bytes) -> list[bytes]:
    """Payloads of every `kind` property (b"av1C", b"colr", b"ispe", b"auxC"...) in iprp/ipco."""
    iprp = _child(_meta(data), b"iprp", 4).payload
    ipco = _child(iprp, b"ipco").payload
    return [box.payload for box in boxes(ipco) if box.kind == kind]


def av1c_chroma(av1c: bytes) -> tuple[bool, int, int]:
    """(monochrome, chroma_subsampling_x, chroma_subsampling_y) of an av1C box:
    (False, 1, 1) = 4:2:0, (False, 0, 0) = 4:4:4, (True, 1, 1) = 4:0:0."""
    flags = av1c[2]
    return bool(flags & 0x10), (flags >> 3) & 1, (flags >> 2) & 1


def avif_nclx(data: bytes) -> tuple[int, int, int, bool] | None:
    """(colour primaries, transfer characteristics, matrix coefficients, full range) of the first
    nclx colr property."""
    for colr in avif_property_boxes(data, b"colr"):
        if colr[:4] == b"nclx":
            primaries, transfer, matrix = struct.unpack(">HHH", colr[4:10])
            return primaries, transfer, matrix, bool(colr[10] & 0x80)
    return None


# --- pixels --------------------------------------------------------------------------------------


def pixels(image: Image.Image, mode: str | None = None) -> npt.NDArray[np.int16]:
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    return np.asarray(image, dtype=np.int16)


def max_channel_error(a: Image.Image, b: Image.Image) -> int:
    return int(np.abs(pixels(a, a.mode) - pixels(b, a.mode)).max())


def psnr(reference: Image.Image, test: Image.Image) -> float:
    """PSNR in dB over all channels of `reference`'s mode (8-bit peak 255); inf when identical."""
    ref = pixels(reference).astype(np.float64)
    out = pixels(test, reference.mode).astype(np.float64)
    mse = float(np.mean((ref - out) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def synthetic_photo(
    width: int = 512,
    height: int = 512,
    seed: int = 0,
    *,
    noise: float = 2.0,
    texture: float = 6.0,
) -> Image.Image:
    """A deterministic photograph-like RGB image: smooth lighting gradients, a dozen shaded objects
    with hard edges, fine texture (blurred noise) and sensor noise of `noise` levels (sigma).
    PNG compresses it to roughly 40-60 % of the raw size, like real photos (a flat colour or a
    clean gradient would make every compression effort look the same)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x /= width
    y /= height
    img = np.zeros((height, width, 3), np.float32)
    for c in range(3):
        top, bottom = rng.uniform(40, 200, 2)
        img[..., c] = top + (bottom - top) * y
        for _ in range(4):
            fx, fy, phase = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 2 * np.pi)
            img[..., c] += rng.uniform(5, 25) * np.sin(2 * np.pi * (fx * x + fy * y) + phase)
    for _ in range(12):
        colour = rng.uniform(0, 255, 3)
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.04, 0.2)
        if rng.random() < 0.5:
            mask = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        else:
            mask = (np.abs(x - cx) < r) & (np.abs(y - cy) < r * rng.uniform(0.3, 1.5))
        shade = 0.7 + 0.3 * np.cos(6 * (x - cx) + 4 * (y - cy))
        img[mask] = colour[None, :] * shade[mask][:, None]
    coarse = rng.normal(0, 1, (height // 4 + 1, width // 4 + 1)).astype(np.float32)
    tex = np.kron(coarse, np.ones((4, 4), np.float32))[:height, :width]
    kernel = np.ones(5, np.float32) / 5
    tex = np.apply_along_axis(lambda row: np.convolve(row, kernel, "same"), 1, tex)
    img += texture * tex[..., None]
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))


def synthetic_graphic(width: int = 256, height: int = 256) -> Image.Image:
    """A flat-colour graphic: saturated primaries/secondaries, black, white, greys and hard
    1-pixel lines: the worst case for YCbCr rounding."""
    colours = [
        (255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 255, 255), (255, 0, 255), (255, 255, 0),
        (0, 0, 0), (255, 255, 255), (128, 128, 128), (10, 200, 30), (250, 128, 114), (75, 0, 130),
    ]  # fmt: skip
    arr = np.zeros((height, width, 3), np.uint8)
    band = max(width // len(colours), 1)
    for i, colour in enumerate(colours):
        arr[:, i * band : (i + 1) * band] = colour
    arr[::7, :] = (255, 255, 255)
    arr[:, ::11] = (0, 0, 0)
    return Image.fromarray(arr)


def with_alpha(image: Image.Image) -> Image.Image:
    """`image` (L or RGB) plus a diagonal alpha ramp that includes fully transparent (0) and fully
    opaque (255) pixels; the colour under transparent pixels is kept as it was."""
    w, h = image.size
    ramp = np.add.outer(np.arange(h), np.arange(w)) * 255.0 / max(w + h - 2, 1)
    alpha = np.clip(np.rint(ramp * 1.4 - 50), 0, 255).astype(np.uint8)
    out = image.convert("LA" if image.mode == "L" else "RGBA")
    out.putalpha(Image.fromarray(alpha))
    return out
