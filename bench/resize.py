"""Downscaling through the pipeline (JPEG draft + reduce + LANCZOS on the window) against the plain
way (decode every pixel, one LANCZOS resize of the full image), same encoder, same run; with the SSIM
of our pixels to the plain ones (the quality floor is 0.98).

Run: python -m bench.resize  (or `make bench`)
"""

from __future__ import annotations

import io
import sys
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from bench.pipeline import median_seconds, photo
from pixelport.contract import parse_edit_request
from pixelport.imaging.encode import encode
from pixelport.imaging.pipeline import render

# W1 and W5 of the performance issue: a 12 MP JPEG to fit inside 1024x1024, a 24 MP one inside 2048.
CASES = (("W1", (4000, 3000), 1024), ("W5", (6000, 4000), 2048))
ROUNDS = 3


def plain(data: bytes, size: tuple[int, int]) -> Image.Image:
    """Every pixel decoded, one LANCZOS resize of the full image."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.resize(size, Image.Resampling.LANCZOS)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support, when run alone
    from tests.support.ssim import ssim

    print(f"median of {ROUNDS} rounds; both sides end with the same JPEG q85 progressive encoder\n")
    print("| case | input | output | pipeline ms | plain LANCZOS ms | time / plain | SSIM (PNG out) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name, size, side in CASES:
        data = photo(size)
        operations = {"resizing": {"width": side, "height": side, "fit": "bounds"}}
        body = {"input": "https://bench.example/photo.jpg", "operations": operations}
        jpeg = parse_edit_request({**body, "output": {"format": {"type": "jpeg", "quality": 85}}})
        lossless = parse_edit_request({**body, "output": {"format": "png"}})
        out_size = (side, round(side * size[1] / size[0]))

        def reference(data: bytes = data, out_size: tuple[int, int] = out_size, request: Any = jpeg) -> bytes:
            return encode(plain(data, out_size), request.output, dpi=None).data

        ours = median_seconds(partial(render, data, jpeg), ROUNDS)
        theirs = median_seconds(reference, ROUNDS)
        with Image.open(io.BytesIO(render(data, lossless).data)) as result:
            score = ssim(plain(data, out_size), result)
        print(
            f"| {name} | {size[0]}x{size[1]} JPEG | {out_size[0]}x{out_size[1]} | {ours * 1000:.0f} "
            f"| {theirs * 1000:.0f} | {ours / theirs:.2f}x | {score:.4f} |"
        )


if __name__ == "__main__":
    main()
