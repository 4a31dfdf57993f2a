"""The banded, multi-threaded PNG writer: a valid stream, exact pixels, libpng's filter choice."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from pixelport.imaging import png_writer
from pixelport.imaging.png_writer import write_png
from tests.support.structure import synthetic_photo

MODES = ("L", "LA", "RGB", "RGBA")


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        found.append((kind, body))
        pos += 12 + length
    return found


def image_of(mode: str, width: int = 53, height: int = 41) -> Image.Image:
    photo = synthetic_photo(width, height, seed=3)
    if mode in ("L", "LA"):
        photo = photo.convert("L")
    if mode in ("LA", "RGBA"):
        alpha = Image.linear_gradient("L").resize((width, height))
        photo = Image.merge(mode, (*photo.split(), alpha))
    return photo


def reference_filtered(image: Image.Image) -> bytes:
    """libpng's heuristic written out row by row, byte by byte: the least sum of |signed byte|."""
    bpp = len(image.mode)
    stride = image.width * bpp
    raw = image.tobytes()
    out = bytearray()
    previous = bytes(stride)
    for y in range(image.height):
        row = raw[y * stride : (y + 1) * stride]
        candidates = []
        for kind in range(5):
            line = bytearray()
            for i, x in enumerate(row):
                a = row[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                if kind == 0:
                    predictor = 0
                elif kind == 1:
                    predictor = a
                elif kind == 2:
                    predictor = b
                elif kind == 3:
                    predictor = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line.append((x - predictor) & 0xFF)
            candidates.append(line)
        sums = [sum(v if v < 128 else 256 - v for v in line) for line in candidates]
        best = sums.index(min(sums))
        out += bytes([best]) + candidates[best]
        previous = row
    return bytes(out)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("workers", [1, 3])
def test_many_bands_join_into_one_valid_zlib_stream_with_exact_pixels(
    monkeypatch: pytest.MonkeyPatch, mode: str, workers: int
) -> None:
    monkeypatch.setattr(png_writer, "BAND_BYTES", 500)  # a band of 2-10 rows: 5-20 bands
    image = image_of(mode)
    data = write_png(image, level=7, workers=workers)
    found = chunks(data)
    assert [kind for kind, _ in found if kind != b"IDAT"] == [b"IHDR", b"IEND"]
    assert len([kind for kind, _ in found if kind == b"IDAT"]) > 5
    stream = b"".join(body for kind, body in found if kind == b"IDAT")
    # zlib checks the header and the combined Adler-32; the filtered rows are libpng's choice.
    assert zlib.decompress(stream) == reference_filtered(image)
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == mode and decoded.size == image.size
    assert decoded.tobytes() == image.tobytes()


def test_one_band_and_one_pixel_images_are_valid() -> None:
    rng = np.random.default_rng(5)
    for width, height in ((1, 1), (1, 7), (9, 1)):
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        data = write_png(image, level=7)
        assert Image.open(io.BytesIO(data)).tobytes() == image.tobytes()


def test_extra_chunks_come_between_the_header_and_the_pixels() -> None:
    phys = struct.pack(">IIB", 11811, 11811, 1)
    data = write_png(image_of("RGB"), level=7, extra_chunks=((b"pHYs", phys),))
    kinds = [kind for kind, _ in chunks(data)]
    assert kinds[:3] == [b"IHDR", b"pHYs", b"IDAT"] and kinds[-1] == b"IEND"
    assert Image.open(io.BytesIO(data)).info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_other_modes_are_refused() -> None:
    with pytest.raises(ValueError, match="L, LA, RGB or RGBA"):
        write_png(Image.new("CMYK", (4, 4)), level=7)


def test_paeth_table_agrees_with_the_definition_for_every_byte_triple() -> None:
    values = np.arange(256, dtype=np.uint8)
    b, c = (grid.astype(np.uint8) for grid in np.meshgrid(values, values, indexing="ij"))
    for a_value in range(256):
        a = np.full_like(b, a_value)
        expected = paeth_by_definition(a, b, c)
        assert np.array_equal(png_writer._paeth_predictor(a, b, c), expected), a_value


def paeth_by_definition(
    a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8], c: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    a16, b16, c16 = (v.astype(np.int16) for v in (a, b, c))
    p = a16 + b16 - c16
    pa, pb, pc = np.abs(p - a16), np.abs(p - b16), np.abs(p - c16)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


@pytest.mark.parametrize("lengths", [(0, 5), (5, 0), (1, 1), (70_000, 3), (3, 200_000), (65_521, 65_521)])
def test_adler32_combine_matches_the_checksum_of_the_joined_bytes(lengths: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(lengths))
    first, second = (rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in lengths)
    combined = png_writer._adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)
