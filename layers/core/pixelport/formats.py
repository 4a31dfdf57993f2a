"""Facts about the image formats pixelport reads and writes: names, extensions, media types.

Pure data, no Pillow: the API functions use it to name files and sniff inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OutputFormatName = Literal["jpeg", "png", "webp", "avif", "tiff"]


@dataclass(frozen=True)
class ImageFormat:
    name: str  # upper case, as reported in responses ("JPEG")
    ext: str  # canonical extension without a dot
    mime: str
    extensions: tuple[str, ...]  # every extension that names this format


INPUT_FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        ImageFormat("BMP", "bmp", "image/bmp", ("bmp", "dib")),
        ImageFormat("GIF", "gif", "image/gif", ("gif",)),
        ImageFormat("JPEG", "jpg", "image/jpeg", ("jpg", "jpeg", "jpe", "jfif")),
        ImageFormat("PNG", "png", "image/png", ("png",)),
        ImageFormat("TIFF", "tiff", "image/tiff", ("tiff", "tif")),
        ImageFormat("WEBP", "webp", "image/webp", ("webp",)),
        ImageFormat("AVIF", "avif", "image/avif", ("avif",)),
        ImageFormat("HEIC", "heic", "image/heic", ("heic", "heif", "hif")),
    )
}

OUTPUT_FORMATS: dict[OutputFormatName, ImageFormat] = {
    "jpeg": INPUT_FORMATS["JPEG"],
    "png": INPUT_FORMATS["PNG"],
    "webp": INPUT_FORMATS["WEBP"],
    "avif": INPUT_FORMATS["AVIF"],
    "tiff": INPUT_FORMATS["TIFF"],
}

ACCEPTED_INPUT_NAMES = ", ".join(INPUT_FORMATS)


def output_format_for_extension(ext: str) -> OutputFormatName | None:
    """The output format a file extension names, or None when it names none we write."""
    ext = ext.lower()
    for name, fmt in OUTPUT_FORMATS.items():
        if ext in fmt.extensions:
            return name
    return None


def is_image_extension(ext: str) -> bool:
    """True when the extension names an image format we know (readable or writable)."""
    ext = ext.lower()
    return any(ext in f.extensions for f in INPUT_FORMATS.values()) or ext in {
        "jp2",
        "j2k",
        "jxl",
        "ico",
        "psd",
        "svg",
        "pdf",
        "eps",
        "tga",
        "dds",
    }
