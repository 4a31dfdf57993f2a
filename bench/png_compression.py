"""PNG compression efforts (fast / optimal / best) on synthetic 2 MP photographs: size and encode time.

    python -m bench.png_compression [--repeat N] [--size WxH]

from the repository root. Runs pixelport's real `encode()` for each effort on three photo-like
images (tests.support.structure.synthetic_photo: low, typical and high noise) and prints a markdown
table: size in bytes and relative to `fast`, median CPU time of N runs in ms (all threads: `optimal`
writes photographs on every core, the others use one) and relative to `fast`, and the median wall
time, all measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import version
from pathlib import Path

try:
    import pixelport  # noqa: F401
except ImportError:  # run from the repository root without PYTHONPATH: the layer is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core"))

from PIL import Image

from pixelport.contract import OutputOptions, parse_edit_request
from pixelport.imaging.encode import encode
from tests.support.structure import synthetic_photo

EFFORTS = ("fast", "optimal", "best")
PHOTOS = {  # name: (seed, sensor noise sigma, texture amplitude)
    "clean": (104, 0.5, 1.0),
    "typical": (101, 2.0, 6.0),
    "noisy": (100, 3.0, 10.0),
}


def png_options(compression: str) -> OutputOptions:
    output = {"format": {"type": "png", "compression": compression}}
    request = parse_edit_request({"input": "https://example.com/in.png", "operations": {}, "output": output})
    return request.output


Measured = tuple[int, float, float]  # size in bytes, median CPU ms, median wall ms


def measure(image: Image.Image, compression: str, repeat: int) -> Measured:
    options = png_options(compression)
    return _timed(lambda: len(encode(image, options, dpi=None).data), repeat)


def measure_zlib6(image: Image.Image, repeat: int) -> Measured:
    """The reference: bare Pillow's PNG default (zlib-ng level 6, adaptive filters)."""

    def save() -> int:
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=6)
        return len(buffer.getvalue())

    return _timed(save, repeat)


def _timed(write: Callable[[], int], repeat: int) -> Measured:
    cpu: list[float] = []
    wall: list[float] = []
    size = 0
    for _ in range(repeat):
        # CPU time is the load-independent figure on these shared machines; wall time is what a
        # Lambda bills, and shows what the threads gain.
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        size = write()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return size, statistics.median(cpu) * 1000.0, statistics.median(wall) * 1000.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median is shown)")
    parser.add_argument("--size", default="1600x1200", help="photo size, WxH (default 1600x1200 = 1.92 MP)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    zlib_ng = getattr(import_module("PIL._imaging"), "zlib_ng_version", "?")
    print(
        f"Pillow {version('pillow')} (zlib-ng {zlib_ng}), "
        f"pyoxipng {version('pyoxipng')}, zlib-ng (Python) {version('zlib-ng')}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"{width}x{height} = {width * height / 1e6:.2f} MP, median of {args.repeat} runs\n"
    )
    print("| photo | effort | size (bytes) | size / fast | CPU time (ms) | CPU / fast | wall (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, (seed, noise, texture) in PHOTOS.items():
        image = synthetic_photo(width, height, seed, noise=noise, texture=texture)
        results = {effort: measure(image, effort, args.repeat) for effort in EFFORTS}
        results["zlib 6 (bare Pillow)"] = measure_zlib6(image, args.repeat)
        base_size, base_ms, _ = results["fast"]
        for effort, (size, ms, wall_ms) in results.items():
            print(
                f"| {name} | {effort} | {size:,} | {size / base_size:.3f} | {ms:,.0f} | {ms / base_ms:.1f} "
                f"| {wall_ms:,.0f} |"
            )
        sizes = [results[e][0] for e in EFFORTS]
        if results["optimal"][0] >= results["zlib 6 (bare Pillow)"][0]:
            print(f"| {name} | **optimal not smaller than zlib 6** | | | | | |")
        if not sizes[0] > sizes[1] > sizes[2]:
            print(f"| {name} | **not strictly ordered** | | | | | |")


if __name__ == "__main__":
    main()
