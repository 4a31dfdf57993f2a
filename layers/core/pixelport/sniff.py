"""Which accepted image format a byte string is, from its signature alone (no Pillow).

The API refuses non-images with it before a task exists; the processor's decoder uses it to pick
the only Pillow decoders allowed to look at the bytes.
"""

from __future__ import annotations

from pixelport.errors import INPUT_NOT_IMAGE, PixelportError
from pixelport.formats import ACCEPTED_INPUT_NAMES, INPUT_FORMATS

_TIFF_PREFIXES = (b"MM\x00\x2a", b"II\x2a\x00", b"MM\x2a\x00", b"II\x00\x2a", b"MM\x00\x2b", b"II\x2b\x00")
_BMP_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)
_AVIF_BRANDS = (b"avif", b"avis")
_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs")
_HEIF_BRANDS = (b"mif1", b"msf1", b"mif2", b"miaf")


def _ftyp_brands(data: bytes) -> list[bytes]:
    """Major and compatible brands of an ISO BMFF "ftyp" box at the start of the data."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        return []
    box_size = int.from_bytes(data[0:4], "big")
    end = min(len(data), box_size if 16 <= box_size <= 4096 else 16)
    return [data[8:12]] + [data[i : i + 4] for i in range(16, end - 3, 4)]


def sniff(data: bytes) -> str | None:
    """The key of pixelport.formats.INPUT_FORMATS the bytes claim to be; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] in _TIFF_PREFIXES:
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:2] == b"BM" and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    brands = _ftyp_brands(data)
    if any(b in _AVIF_BRANDS for b in brands):
        return "AVIF"
    if any(b in _HEIC_BRANDS or b in _HEIF_BRANDS for b in brands):
        return "HEIC"
    return None


def not_an_image() -> PixelportError:
    return PixelportError(
        INPUT_NOT_IMAGE, f"input is not an image of an accepted format ({ACCEPTED_INPUT_NAMES})"
    )


def require_image(data: bytes) -> str:
    """The format key of the bytes; 400 code 4005 naming the accepted formats when there is none."""
    key = sniff(data)
    if key is None:
        raise not_an_image()
    return key


def media_type(data: bytes) -> str:
    """The media type of the accepted format the bytes are (4005 when none): what a stored copy is
    labelled with, whatever Content-Type a remote server claimed."""
    return INPUT_FORMATS[require_image(data)].mime
