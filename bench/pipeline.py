"""The image path of one edit, per output format, against plain Pillow doing the least it could
(open + save as JPEG quality 85) on the same photo in the same run.

Run: python -m bench.pipeline  (or `make bench`)
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np
from PIL import Image

from pixelport.contract import parse_edit_request
from pixelport.imaging.pipeline import render

SIZE = (1600, 1200)  # 1.92 MP
ROUNDS = 5


def photo(size: tuple[int, int] = SIZE, seed: int = 7) -> bytes:
    """A photo-like JPEG: smooth gradients, texture noise and hard edges."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack(
        [
            128 + 90 * np.sin(x / 97.0) * np.cos(y / 131.0),
            128 + 80 * np.cos((x + y) / 157.0),
            128 + 70 * np.sin(np.hypot(x - w / 2, y - h / 2) / 61.0),
        ],
        axis=-1,
    )
    base += rng.normal(0, 9, base.shape)
    base[(x // 200 + y // 150) % 5 == 0] *= 0.55
    out = io.BytesIO()
    Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=92)
    return out.getvalue()


def median_seconds(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    fn()  # warm caches and lazy imports
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    data = photo()

    def reference() -> bytes:
        out = io.BytesIO()
        with Image.open(io.BytesIO(data)) as im:
            im.convert("RGB").save(out, "JPEG", quality=85)
        return out.getvalue()

    ref = median_seconds(reference)
    cases = {
        "jpeg (default: q85 progressive)": {"format": "jpeg"},
        "png optimal": {"format": "png"},
        "webp lossy 75": {"format": "webp"},
        "webp lossless": {"format": {"type": "webp", "compression": "lossless"}},
        "avif lossy 50": {"format": "avif"},
        "tiff lossless (LZW)": {"format": "tiff"},
        "tiff lossy (JPEG q75)": {"format": {"type": "tiff", "compression": "lossy"}},
        "jpeg CMYK ISO_Coated": {"format": "jpeg", "metadata": {"color_space": "CMYK"}},
    }
    print(f"input: {SIZE[0]}x{SIZE[1]} photo-like JPEG, {len(data)} bytes; median of {ROUNDS} rounds")
    print(f"reference: Pillow open + save JPEG q85 = {ref * 1000:.0f} ms\n")
    print("| output | time / reference | ms (context) | bytes |")
    print("|---|---:|---:|---:|")
    for label, output in cases.items():
        body = {"input": "https://bench.example/photo.jpg", "operations": {}, "output": output}
        request = parse_edit_request(body)
        size = len(render(data, request).data)
        seconds = median_seconds(partial(render, data, request))
        print(f"| {label} | {seconds / ref:.2f}x | {seconds * 1000:.0f} | {size} |")


if __name__ == "__main__":
    main()
