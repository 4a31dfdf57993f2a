"""Write the README's before/after pictures (docs/examples/) by running the pipeline in-process on a
picture generated here: every "after" is what the service answers for the request shown beside it.

Run: make readme-examples  (PYTHONPATH=layers/core .venv/bin/python scripts/make_readme_examples.py)
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "examples"
SIZE = (480, 320)

# name -> operations; every output is a JPEG at quality 80 (small files for the README)
EXAMPLES: dict[str, dict[str, Any]] = {
    "crop-center": {"resizing": {"width": 200, "height": 200}},
    "crop-smart": {"resizing": {"width": 200, "height": 200, "fit": {"type": "crop", "crop": "smart"}}},
    "cover": {"resizing": {"width": 200, "height": 200, "fit": "cover"}},
    "bounds": {"resizing": {"width": 200, "height": 200, "fit": "bounds"}},
    "canvas": {
        "resizing": {"width": 200, "height": 200, "fit": "canvas"},
        "background": {"color": "#203040"},
    },
    "percent": {"resizing": {"width": "50%"}},
    "padding": {"padding": "10% 20%", "background": {"color": "#f0e6d2"}},
    "exposure": {"adjustments": {"exposure": 50}},
    "contrast": {"adjustments": {"contrast": 60}},
    "saturation": {"adjustments": {"saturation": -80}},
    "sharpness": {"adjustments": {"sharpness": 100}},
}
OUTPUT = {"format": {"type": "jpeg", "quality": 80}}


def scene(size: tuple[int, int] = SIZE) -> Image.Image:
    """A still life, off-centre on purpose: sky gradient, a table with a checked cloth, a shaded ball
    left of the centre, a box and fine texture, so every operation has something to show."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    sky = np.stack([120 + 60 * y / h, 160 + 50 * y / h, 220 - 20 * y / h], axis=-1)
    table = y > h * 0.62
    checks = ((x // 16 + (y - h * 0.62) // 10) % 2 == 0) & table
    img = np.where(table[..., None], np.array([150.0, 110.0, 80.0]), sky)
    img[checks] = (230, 225, 215)
    cx, cy, r = w * 0.28, h * 0.5, h * 0.2
    dist = np.hypot(x - cx, y - cy)
    ball = dist < r
    light = np.clip(1.1 - np.hypot(x - cx + r / 3, y - cy + r / 3) / (1.4 * r), 0.25, 1.0)
    img[ball] = np.array([210.0, 40.0, 40.0]) * light[ball][:, None]
    rng = np.random.default_rng(11)
    img += rng.normal(0, 3, img.shape)
    picture = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((int(w * 0.62), int(h * 0.36), int(w * 0.8), int(h * 0.7)), fill=(40, 90, 170))
    draw.rectangle((int(w * 0.62), int(h * 0.36), int(w * 0.8), int(h * 0.42)), fill=(230, 190, 40))
    return picture


def source_bytes() -> bytes:
    out = io.BytesIO()
    scene().save(out, "JPEG", quality=85)
    return out.getvalue()


def rendered(operations: dict[str, Any], data: bytes | None = None) -> bytes:
    from pixelport.contract import parse_edit_request
    from pixelport.imaging.pipeline import render

    body = {"input": "http://127.0.0.1:8000/before.jpg", "operations": operations, "output": OUTPUT}
    return render(source_bytes() if data is None else data, parse_edit_request(body)).data


def main(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = source_bytes()
    written = [out / "before.jpg"]
    written[0].write_bytes(data)
    for name, operations in EXAMPLES.items():
        path = out / f"{name}.jpg"
        path.write_bytes(rendered(operations, data))
        written.append(path)
    return written


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "layers" / "core"))
    for path in main():
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")
