"""Downscaling takes Pillow's fast paths (JPEG DCT scaling, reduce) and stays within the quality floor:
SSIM >= 0.98 against a LANCZOS resize of the fully decoded image."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bench.pipeline import photo
from pixelport.contract import parse_edit_request
from pixelport.imaging.color import profile_bytes
from pixelport.imaging.decode import decode
from pixelport.imaging.pipeline import render
from tests.support.ssim import ssim

FLOOR = 0.98


def request(resizing: dict[str, Any], output: Any = "png") -> Any:
    return parse_edit_request(
        {
            "input": "https://example.test/in.jpg",
            "operations": {"resizing": resizing},
            "output": {"format": output},
        }
    )


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def reference(
    data: bytes, size: tuple[int, int], box: tuple[float, float, float, float] | None = None
) -> Image.Image:
    """The input decoded in full, upright, then one LANCZOS resize."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        upright = im.transpose(Image.Transpose.ROTATE_270) if im.getexif().get(0x0112) == 6 else im.copy()
    return upright.resize(size, Image.Resampling.LANCZOS, box=box)


def test_a_jpeg_is_decoded_at_the_smallest_dct_scale_that_keeps_the_size_asked() -> None:
    data = photo((1600, 1200))
    asked: list[tuple[int, int]] = []

    def smallest(size: tuple[int, int]) -> tuple[int, int]:
        asked.append(size)
        return (390, 290)

    decoded = decode(data, smallest)
    assert asked == [(1600, 1200)]
    assert decoded.image.size == (400, 300)  # 1/4: 1/8 would be smaller than asked
    assert decoded.size == (1600, 1200)  # the input's own size is still reported


def test_a_turned_jpeg_is_asked_for_and_reported_upright() -> None:
    source = Image.open(io.BytesIO(photo((1600, 1200))))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    source.save(out, "JPEG", quality=92, exif=exif.tobytes())
    asked: list[tuple[int, int]] = []

    def smallest(size: tuple[int, int]) -> tuple[int, int]:
        asked.append(size)
        return (290, 390)

    decoded = decode(out.getvalue(), smallest)
    assert asked == [(1200, 1600)]
    assert decoded.size == (1200, 1600) and decoded.image.size == (300, 400)
    result = render(out.getvalue(), request({"width": 300, "height": 300, "fit": "bounds"}))
    assert result.input["width"] == 1200 and result.input["height"] == 1600
    output = opened(result.data)
    assert output.size == (225, 300)
    assert ssim(reference(out.getvalue(), (225, 300)), output) >= FLOOR


def test_a_turned_jpeg_whose_orientation_cannot_be_applied_is_reported_as_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = Image.open(io.BytesIO(photo((1600, 1200))))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    source.save(out, "JPEG", quality=92, exif=exif.tobytes())
    monkeypatch.setattr("pixelport.imaging.decode._upright", lambda im, **_: im.copy())  # EXIF unreadable
    decoded = decode(out.getvalue(), lambda size: (size[0] // 4, size[1] // 4))
    assert decoded.image.size == (400, 300) and decoded.size == (1600, 1200)


@pytest.mark.parametrize(
    ("size", "resizing", "out", "box"),
    [
        ((4000, 3000), {"width": 1024, "height": 1024, "fit": "bounds"}, (1024, 768), None),  # W1, 12 MP
        ((3000, 2000), {"width": "20%"}, (600, 400), None),
        # crop: only the window is resampled, the centre square of the 750x500 scaled image
        ((3000, 2000), {"width": 500, "height": 500}, (500, 500), (500, 0, 2500, 2000)),
    ],
)
def test_downscaling_a_jpeg_stays_above_the_ssim_floor_against_a_full_lanczos_resize(
    size: tuple[int, int],
    resizing: dict[str, Any],
    out: tuple[int, int],
    box: tuple[float, float, float, float] | None,
) -> None:
    data = photo(size)
    output = opened(render(data, request(resizing)).data)
    assert output.size == out
    assert ssim(reference(data, out, box), output) >= FLOOR


def test_downscaling_a_png_uses_reduce_and_stays_above_the_floor() -> None:
    source = opened(photo((2400, 1800)))
    data = io.BytesIO()
    source.save(data, "PNG", compress_level=1)
    output = opened(render(data.getvalue(), request({"width": 300, "fit": "bounds"})).data)
    assert output.size == (300, 225)
    assert ssim(source.resize((300, 225), Image.Resampling.LANCZOS), output) >= FLOOR


def test_a_cmyk_jpeg_downscaled_stays_cmyk_in_its_profile() -> None:
    rng = np.random.default_rng(4)
    cmyk = Image.fromarray(rng.integers(0, 256, (60, 80, 4), dtype=np.uint8), "CMYK").resize((1600, 1200))
    data = io.BytesIO()
    cmyk.save(data, "JPEG", quality=95, icc_profile=profile_bytes("USWeb_Coated"))
    result = render(data.getvalue(), request({"width": 200, "fit": "bounds"}, "jpeg"))
    output = opened(result.data)
    assert output.mode == "CMYK" and output.size == (200, 150)
    assert output.info.get("icc_profile") == profile_bytes("USWeb_Coated")
    assert (result.input["width"], result.input["height"]) == (1600, 1200)


def test_ssim_helper_falls_as_noise_grows() -> None:
    image = opened(photo((160, 120)))
    rng = np.random.default_rng(1)
    grey = np.asarray(image.convert("L"), dtype=np.float64)
    scores = [
        ssim(
            image, Image.fromarray(np.clip(grey + rng.normal(0, sigma, grey.shape), 0, 255).astype(np.uint8))
        )
        for sigma in (0, 3, 10, 40)
    ]
    assert scores[0] == pytest.approx(1.0)
    assert scores == sorted(scores, reverse=True) and scores[-1] < 0.5
