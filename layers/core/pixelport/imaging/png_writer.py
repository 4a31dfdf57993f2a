"""Write an 8-bit PNG on every core: row filters in numpy, deflate by zlib-ng, band by band (pigz's way).

A PNG's pixels are one zlib stream of filtered rows. Pillow (and libpng) filter and deflate it on one
thread; here the image is cut into bands of rows that are filtered and deflated at the same time on
a thread pool (numpy and zlib-ng release the GIL), each band's deflate primed with the 32 KiB of
filtered bytes before it (`zdict`) so that it finds the same matches a single stream would, and
ended by a sync flush so that the pieces join into one valid stream. The zlib trailer's Adler-32 is
combined from the bands' own. Only one band per worker (and its five filter candidates) is in memory
beside the image, never a copy of the whole picture.

Row filters: for each row, the one of the five PNG filters whose output has the smallest sum of
absolute values (as signed bytes), the heuristic of libpng and of Pillow's own encoder.

Why `fast` and `optimal` use it, and their levels, with figures: docs/image-io.md (PNG).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Final

from PIL import Image

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# Filtered bytes per band: large enough that the sync flush between bands costs nothing measurable
# (12 MP photo: 16,365,234 bytes with 256 KiB bands, 16,360,848 with 1 MiB ones), small enough that
# the work arrays of the bands being filtered stay small (peak RSS 22 MB lower than with 1 MiB).
BAND_BYTES: Final = 1 << 18
# Deflate's window: the dictionary each band is primed with.
_WINDOW: Final = 32 * 1024
_ADLER_MOD: Final = 65521
_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# PNG colour type and bytes per pixel of each 8-bit mode written here.
_COLOR_TYPE: Final = {"L": 0, "LA": 4, "RGB": 2, "RGBA": 6}
_BYTES_PER_PIXEL: Final = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
_NONE, _SUB, _UP, _AVERAGE, _PAETH = range(5)


def write_png(
    image: Image.Image,
    *,
    level: int,
    extra_chunks: tuple[tuple[bytes, bytes], ...] = (),
    workers: int | None = None,
) -> bytes:
    """The PNG of `image` (L, LA, RGB or RGBA): IHDR, `extra_chunks` (type, data) in order, IDAT, IEND,
    deflated at zlib-ng `level` on `workers` threads (default: the CPUs this process may use)."""
    if image.mode not in _COLOR_TYPE:
        raise ValueError(f"write_png takes L, LA, RGB or RGBA, not {image.mode}")
    width, height = image.size
    if width == 0 or height == 0:
        raise ValueError("a PNG has at least one pixel")
    image.load()  # the workers only read the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[image.mode], 0, 0, 0)
    out = io.BytesIO()  # getvalue() hands over its buffer: no second copy of the file at the end
    out.write(_SIGNATURE + _chunk(b"IHDR", header))
    for kind, data in extra_chunks:
        out.write(_chunk(kind, data))
    for piece in _idat_chunks(image, level, workers or _cpus()):
        out.write(piece)
    out.write(_chunk(b"IEND", b""))
    return out.getvalue()


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def _idat_chunks(image: Image.Image, level: int, workers: int) -> Iterator[bytes]:
    """One IDAT per band: the zlib header in the first, the Adler-32 trailer after the last band."""
    width, height = image.size
    stride = width * _BYTES_PER_PIXEL[image.mode]
    rows = max(1, BAND_BYTES // (stride + 1))
    bands = [(top, min(top + rows, height)) for top in range(0, height, rows)]
    yield _chunk(b"IDAT", b"\x78\xda")  # deflate, 32 KiB window, "maximum compression" flag; no dictionary
    adler = 1
    if len(bands) == 1 or workers == 1:  # no thread to start
        for index, (top, bottom) in enumerate(bands):
            adler, piece = _joined(_deflate_band(image, top, bottom, level, index == len(bands) - 1), adler)
            yield piece
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            # At most two bands a worker are in flight: memory stays bounded whatever the image's size.
            pending: list[Future[tuple[bytes, int, int]]] = []
            for index, (top, bottom) in enumerate(bands):
                last = index == len(bands) - 1
                pending.append(pool.submit(_deflate_band, image, top, bottom, level, last))
                if len(pending) >= 2 * workers:
                    adler, piece = _joined(pending.pop(0).result(), adler)
                    yield piece
            for future in pending:
                adler, piece = _joined(future.result(), adler)
                yield piece
    yield _chunk(b"IDAT", struct.pack(">I", adler))


def _joined(band: tuple[bytes, int, int], adler: int) -> tuple[int, bytes]:
    """The stream's Adler-32 with `band` (deflated bytes, Adler-32, length) after it, and its IDAT."""
    deflated, band_adler, length = band
    return _adler32_combine(adler, band_adler, length), _chunk(b"IDAT", deflated)


def _deflate_band(
    image: Image.Image, top: int, bottom: int, level: int, last: bool
) -> tuple[bytes, int, int]:
    """The band's rows filtered and deflated (raw deflate, primed with the filtered bytes before it),
    its Adler-32 and its length."""
    from zlib_ng import zlib_ng

    # The band and, in one pass, the rows before it whose filtered bytes are the dictionary (a row's
    # filter depends only on it and the row above, so they are the bytes the band before wrote).
    line = image.width * _BYTES_PER_PIXEL[image.mode] + 1
    start = max(0, top - -(-_WINDOW // line))
    rows = memoryview(_filtered_rows(image, start, bottom))
    before, filtered = rows[: (top - start) * line], rows[(top - start) * line :]
    settings = (level, zlib.DEFLATED, -15, 9, zlib.Z_FILTERED)
    if top == 0:
        compressor = zlib_ng.compressobj(*settings)
    else:
        compressor = zlib_ng.compressobj(*settings, bytes(before[-_WINDOW:]))
    deflated = compressor.compress(filtered) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    return deflated, zlib.adler32(filtered), len(filtered)


def _filtered_rows(image: Image.Image, top: int, bottom: int) -> bytes:
    """Rows top..bottom-1 of `image` as PNG filtered scanlines (filter type byte, then the row)."""
    import numpy as np

    bpp = _BYTES_PER_PIXEL[image.mode]
    stride = image.width * bpp
    # The row above the band is read with it: the filters of the band's first row look at it.
    above = 1 if top > 0 else 0
    raw = np.frombuffer(image.crop((0, top - above, image.width, bottom)).tobytes(), np.uint8)
    raw = raw.reshape(bottom - top + above, stride)
    current = raw[above:]
    up = raw[:-1] if above else np.vstack((np.zeros((1, stride), np.uint8), raw[:-1]))
    return _choose_filters(current, up, bpp).tobytes()


def _choose_filters(x: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8], bpp: int) -> npt.NDArray[np.uint8]:
    """PNG filter of each row of `x` (whose rows above are `b`): the candidate with the least sum of
    absolute values as signed bytes. Returns the rows with their filter-type byte in front."""
    import numpy as np

    count, stride = x.shape
    a = np.zeros_like(x)  # the byte bpp to the left (0 before the row's first pixel)
    a[:, bpp:] = x[:, :-bpp]
    c = np.zeros_like(x)  # the byte above that one
    c[:, bpp:] = b[:, :-bpp]
    candidates = np.empty((5, count, stride), np.uint8)
    candidates[_NONE] = x
    np.subtract(x, a, out=candidates[_SUB])
    np.subtract(x, b, out=candidates[_UP])
    np.subtract(x, (a >> 1) + (b >> 1) + (a & b & 1), out=candidates[_AVERAGE])  # floor((a + b) / 2)
    np.subtract(x, _paeth_predictor(a, b, c), out=candidates[_PAETH])
    magnitude = np.abs(candidates.view(np.int8)).view(np.uint8)  # |-128| is 128 as unsigned
    choice = magnitude.sum(axis=2, dtype=np.uint32).argmin(axis=0)  # the first of equals, as libpng
    out = np.empty((count, stride + 1), np.uint8)
    out[:, 0] = choice
    out[:, 1:] = candidates[choice, np.arange(count)]
    return out


def _paeth_predictor(
    a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8], c: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """PNG's Paeth predictor of each byte: whichever of left (a), above (b), upper-left (c) is nearest
    to a + b - c, ties going to a, then b. Which one wins depends only on a - c and b - c, so a table
    of the predictor minus c, indexed by the two differences, turns it into one gather (2.0x faster
    than comparing the three distances in numpy, measured on the bench's 12 MP photo)."""
    import numpy as np

    index = np.multiply(a, _DIFFERENCES, dtype=np.int32)
    index += b
    index -= np.multiply(c, _DIFFERENCES + 1, dtype=np.int32)
    index += 255 * _DIFFERENCES + 255
    predictor = _paeth_offsets().take(index)
    predictor += c  # modulo 256, as the filter's own arithmetic
    return predictor


_DIFFERENCES: Final = 511  # a - c and b - c each lie in -255..255


@cache
def _paeth_offsets() -> npt.NDArray[np.uint8]:
    """Predictor minus c (modulo 256) for every (a - c, b - c), row-major from (-255, -255): 255 KB."""
    import numpy as np

    da = np.arange(-255, 256, dtype=np.int32)[:, None]
    db = np.arange(-255, 256, dtype=np.int32)[None, :]
    pa, pb, pc = np.abs(db), np.abs(da), np.abs(da + db)  # |p - a|, |p - b|, |p - c| for p = a + b - c
    offset = np.where((pa <= pb) & (pa <= pc), da, np.where(pb <= pc, db, 0))
    return (offset & 0xFF).astype(np.uint8).ravel()


def _adler32_combine(adler1: int, adler2: int, length2: int) -> int:
    """Adler-32 of A + B from Adler-32 of A, of B, and B's length (zlib's adler32_combine)."""
    rem = length2 % _ADLER_MOD
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % _ADLER_MOD
    sum1 += (adler2 & 0xFFFF) + _ADLER_MOD - 1
    sum2 += ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + _ADLER_MOD - rem
    if sum1 >= _ADLER_MOD:
        sum1 -= _ADLER_MOD
    if sum1 >= _ADLER_MOD:
        sum1 -= _ADLER_MOD
    if sum2 >= (_ADLER_MOD << 1):
        sum2 -= _ADLER_MOD << 1
    if sum2 >= _ADLER_MOD:
        sum2 -= _ADLER_MOD
    return sum1 | (sum2 << 16)
