"""Format sniffing (API side, no Pillow) and result file names."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pixelport.errors import INPUT_NOT_IMAGE, PixelportError
from pixelport.naming import output_name, stem
from pixelport.sniff import media_type, sniff


def encoded(fmt: str, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (8, 8), 0).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "key"),
    [
        ("BMP", "BMP"),
        ("GIF", "GIF"),
        ("JPEG", "JPEG"),
        ("PNG", "PNG"),
        ("TIFF", "TIFF"),
        ("WEBP", "WEBP"),
        ("AVIF", "AVIF"),
    ],
)
def test_sniff_recognises_each_accepted_format_from_its_bytes(fmt: str, key: str) -> None:
    assert sniff(encoded(fmt)) == key


def test_sniff_recognises_heic() -> None:
    import pillow_heif

    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (16, 16), (9, 9, 9))).save(out, quality=80)
    assert sniff(out.getvalue()) == "HEIC"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"%PDF-1.7\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"PK\x03\x04" + b"\0" * 40,
        b"\x00\x00\x00\x0cjP  \r\n\x87\n",
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    ],
)
def test_sniff_refuses_what_is_not_an_accepted_image(data: bytes) -> None:
    assert sniff(data) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("burger.jpg", "burger"),
        ("my photo (1).png", "my_photo_1"),
        ("archive.tar.gz", "archive.tar"),
        ("", "image"),
        (".hidden", "hidden"),
        ("../../etc/passwd", "passwd"),
        ("ünïcødé.jpg", "n_c_d"),
    ],
)
def test_stem_keeps_the_input_name_safe_for_urls_and_keys(name: str, expected: str) -> None:
    assert stem(name) == expected


def test_output_name_takes_the_output_formats_extension() -> None:
    assert output_name("burger.jpg", "webp") == "burger.webp"
    assert output_name("scan.TIF", "jpeg") == "scan.jpg"


def test_media_type_is_the_sniffed_formats_and_refuses_what_is_no_accepted_image() -> None:
    assert media_type(b"\x89PNG\r\n\x1a\n" + b"\0" * 16) == "image/png"
    assert media_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    with pytest.raises(PixelportError) as caught:
        media_type(b"<html>")
    assert caught.value.kind is INPUT_NOT_IMAGE
