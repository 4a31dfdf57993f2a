"""The benchmark corpus, generated in code from the photographs scikit-image ships in its wheel, so every
run on every machine measures the same pixels without a single image file in git.

Each picture is a mosaic of those photographs at their native resolution (never resampled): the
photos are cut into horizontal bands `BAND` rows high, and the bands are laid left to right, row
after row, the last one of a row cut at the edge. Files (cached under .cache/bench-corpus, keyed by
`VERSION` and the scale):

- `photo-12mp.jpg` 4000x3000 and `photo-24mp.jpg` 6000x4000, JPEG quality 90
- `alpha-1600x1200.png`, RGBA with a soft elliptical alpha edge (opaque middle, transparent corners)
- `photo-12mp.png` 4000x3000 PNG

`scale` shrinks every size (the unit tests use a tiny corpus); the default 1 is the issue's corpus.

Run: python -m bench.corpus  (prints where the files are)
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench-corpus"
VERSION = 1  # bump when the way the pictures are made changes
BAND = 300  # rows per band: chelsea, the smallest photo, is 300 rows high
BANDS_PER_PHOTO = 2
ROW_STEP = 3  # coprime with the pool's 10 bands: ten rows, ten different starts
JPEG_QUALITY = 90
ALPHA_FEATHER = 0.12  # the soft edge, as a share of the ellipse's radius

PHOTOGRAPHS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "retina",
    "immunohistochemistry",
)  # and the left view of stereo_motorcycle
PHOTO_12MP_JPEG = "photo-12mp.jpg"
PHOTO_24MP_JPEG = "photo-24mp.jpg"
ALPHA_PNG = "alpha-1600x1200.png"
PHOTO_12MP_PNG = "photo-12mp.png"
SIZES: dict[str, tuple[int, int]] = {
    PHOTO_12MP_JPEG: (4000, 3000),
    PHOTO_24MP_JPEG: (6000, 4000),
    ALPHA_PNG: (1600, 1200),
    PHOTO_12MP_PNG: (4000, 3000),
}


def photographs() -> list[np.ndarray]:
    """The colour photographs of `skimage.data` that ship in its wheel (no download), as RGB uint8."""
    from skimage import data  # imported here: only the corpus needs scikit-image

    photos = [getattr(data, name)() for name in PHOTOGRAPHS]
    photos.append(data.stereo_motorcycle()[0])  # type: ignore[no-untyped-call]  # (left, right, disparity)
    return [np.asarray(p, dtype=np.uint8) for p in photos]


def bands(photos: list[np.ndarray]) -> list[np.ndarray]:
    """Up to `BANDS_PER_PHOTO` whole `BAND`-row bands of every photo, taken from the middle down,
    interleaved (first band of each photo, then the second of those that have one) so neighbouring
    tiles come from different photos and no large photo fills most of the mosaic."""
    per_photo = []
    for p in photos:
        count = min(BANDS_PER_PHOTO, p.shape[0] // BAND)
        first = (p.shape[0] - count * BAND) // 2
        per_photo.append([p[first + i * BAND : first + (i + 1) * BAND] for i in range(count)])
    return [band for group in itertools.zip_longest(*per_photo) for band in group if band is not None]


def mosaic(size: tuple[int, int], pool: list[np.ndarray]) -> np.ndarray:
    """A `size` (width, height) RGB picture tiled from `pool`'s bands, row r starting at band
    `r * ROW_STEP` of the pool, so neither rows nor columns repeat in a short period."""
    width, height = size
    rows = []
    for row in range(math.ceil(height / BAND)):
        start = row * ROW_STEP % len(pool)
        source: Iterator[np.ndarray] = itertools.cycle(pool[start:] + pool[:start])
        tiles, filled = [], 0
        while filled < width:
            tile = next(source)[:, : width - filled]
            tiles.append(tile)
            filled += tile.shape[1]
        rows.append(np.concatenate(tiles, axis=1))
    return np.ascontiguousarray(np.concatenate(rows, axis=0)[:height])


def soft_alpha(size: tuple[int, int]) -> np.ndarray:
    """An alpha plane: 255 inside an ellipse filling the picture, falling smoothly to 0 over the outer
    `ALPHA_FEATHER` of its radius, 0 in the corners."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    radius = np.hypot((x + 0.5 - width / 2) / (width / 2), (y + 0.5 - height / 2) / (height / 2))
    ramp = np.clip((1.0 - radius) / ALPHA_FEATHER, 0.0, 1.0)
    smooth = ramp * ramp * (3 - 2 * ramp)  # smoothstep: no visible kink where the edge starts
    return np.asarray(np.round(smooth * 255), dtype=np.uint8)


def scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _encode(pixels: np.ndarray, name: str) -> bytes:
    out = io.BytesIO()
    if name.endswith(".jpg"):
        Image.fromarray(pixels).save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        Image.fromarray(pixels).save(out, "PNG", compress_level=1)  # an input: fast to write
    return out.getvalue()


@dataclass(frozen=True)
class Corpus:
    directory: Path
    scale: float

    def path(self, name: str) -> Path:
        return self.directory / name

    def size(self, name: str) -> tuple[int, int]:
        return scaled(SIZES[name], self.scale)


def build(directory: Path | None = None, scale: float = 1.0) -> Corpus:
    """The corpus in `directory` (default: the cache folder for this version and scale), made if a
    file is missing. Deterministic: the same photographs, bands and encoder settings every time."""
    if directory is None:
        directory = CACHE / f"v{VERSION}-scale{scale:g}"
    corpus = Corpus(directory, scale)
    missing = [name for name in SIZES if not corpus.path(name).is_file()]
    if not missing:
        return corpus
    directory.mkdir(parents=True, exist_ok=True)
    pool = bands(photographs())
    for name in missing:
        size = corpus.size(name)
        pixels = mosaic(size, pool)
        if name == ALPHA_PNG:
            pixels = np.dstack([pixels, soft_alpha(size)])
        partial = corpus.path(name + ".partial")
        partial.write_bytes(_encode(pixels, name))
        partial.replace(corpus.path(name))  # never a half-written file under the real name
    return corpus


def main() -> None:
    corpus = build()
    for name in SIZES:
        path = corpus.path(name)
        print(f"{path}  {corpus.size(name)[0]}x{corpus.size(name)[1]}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
