"""Peak memory of render() at the input limits, per output format and kind of input (8- and 16-bit,
with and without alpha): the figures behind the processor's memory rule (imaging/memory.py, README
"Memory"). Each case runs in a fresh process and reports that process's peak resident set.

Run: PYTHONPATH=layers/core python -m bench.memory [--megapixels 100]   (minutes; not part of make test)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

# (label, bits per channel, alpha)
INPUTS: tuple[tuple[str, int, bool], ...] = (
    ("8-bit RGB", 8, False),
    ("8-bit RGBA", 8, True),
    ("16-bit RGB", 16, False),
    ("16-bit RGBA", 16, True),
)
OUTPUTS: dict[str, Any] = {
    "jpeg": "jpeg",
    "jpeg CMYK": None,  # output below: JPEG with metadata.color_space CMYK
    "png": "png",
    "webp": "webp",
    "avif": "avif",
    "tiff": "tiff",
}


def _output(label: str) -> dict[str, Any]:
    if label == "jpeg CMYK":
        return {"format": "jpeg", "metadata": {"color_space": "CMYK"}}
    return {"format": OUTPUTS[label]}


def write_png(path: Path, width: int, height: int, bits: int, alpha: bool) -> None:
    """A smooth, banded picture written row by row (PNG "Up" filter, so the file stays a few MB)."""
    channels = 4 if alpha else 3
    dtype = np.dtype(">u2") if bits == 16 else np.dtype(np.uint8)
    top = 65535 if bits == 16 else 255
    x = np.arange(width, dtype=np.float64)
    comp = zlib.compressobj(6)
    chunks = []
    band = 500
    for y0 in range(0, height, band):
        rows = min(band, height - y0)
        row = np.empty((width, channels), dtype=np.float64)
        row[:, 0] = 0.5 + 0.45 * np.sin(x / 311.0 + y0 / 700.0)
        row[:, 1] = 0.5 + 0.45 * np.cos(x / 523.0 - y0 / 900.0)
        row[:, 2] = (x + y0) % 4096 / 4096.0
        if alpha:
            row[:, 3] = 0.6 + 0.4 * np.sin(x / 97.0)
        line = (row * top).astype(dtype).tobytes()
        first = b"\x00" + line  # the band's first row as it is, the rest equal to the row above
        rest = b"\x02" + bytes(len(line))
        chunks.append(comp.compress(first + rest * (rows - 1)))
    chunks.append(comp.flush())
    data = b"".join(chunks)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    color_type = 6 if alpha else 2
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([bits, color_type, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def one(path: Path | None, label: str) -> dict[str, Any]:
    """In the child process: render one case and report its peak."""
    from pixelport.contract import parse_edit_request
    from pixelport.imaging.pipeline import render

    if path is None:  # the baseline: everything imported, nothing decoded
        return {"peak_mb": _peak_mb(), "seconds": 0.0, "bytes": 0}
    data = path.read_bytes()
    body = {"input": "https://bench.example/in.png", "operations": {}, "output": _output(label)}
    start = time.perf_counter()
    size = len(render(data, parse_edit_request(body)).data)
    return {"peak_mb": _peak_mb(), "seconds": time.perf_counter() - start, "bytes": size}


def _run_child(path: Path | None, label: str) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.memory", "--child", label]
    if path is not None:
        args += ["--input", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megapixels", type=float, default=100.0)
    parser.add_argument("--child")
    parser.add_argument("--input", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.input, args.child)))
        return
    side = int((args.megapixels * 1_000_000) ** 0.5)
    baseline = _run_child(None, "jpeg")["peak_mb"]
    print(f"input: {side}x{side} PNG ({side * side / 1e6:.1f} MP); each case in a fresh process")
    print(f"baseline (pixelport and Pillow imported, nothing decoded): {baseline:.0f} MB\n")
    print("| input | output | peak MB | (peak - baseline) bytes/pixel | s (context) | input bytes |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, bits, alpha in INPUTS:
            path = Path(tmp) / f"{bits}-{alpha}.png"
            write_png(path, side, side, bits, alpha)
            for output in OUTPUTS:
                r = _run_child(path, output)
                per_pixel = (r["peak_mb"] - baseline) * 1024 * 1024 / (side * side)
                print(
                    f"| {label} | {output} | {r['peak_mb']:.0f} | {per_pixel:.1f} | {r['seconds']:.0f} "
                    f"| {path.stat().st_size} |",
                    flush=True,
                )
            path.unlink()


if __name__ == "__main__":
    main()
