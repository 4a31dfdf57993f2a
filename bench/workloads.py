"""The workloads W1-W6 of the performance issue, defined once. Each is a source picture of the corpus,
a target size and an encoding; from those come the pixelport request body (`body`), thumbor's URL
(`thumbor_path`), and what the Pillow reference (bench/reference.py) and pyvips (bench/peers.py) do.

`scale` shrinks the target boxes with the corpus (bench/corpus.py), so a tiny corpus runs the same
workloads at the same ratios.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from bench import corpus

Format = Literal["jpeg", "png", "webp", "avif"]


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    source: str  # a corpus file name
    # Fit inside (width, height); None on one side: any size there; None: no resize.
    box: tuple[int | None, int | None] | None
    format: Format
    quality: int | None = None  # JPEG, WEBP and AVIF (lossy)
    progressive: bool = True  # JPEG
    flatten: str | None = None  # "#rrggbb": flatten alpha onto it (JPEG output of an RGBA source)

    def body(self, url: str) -> dict[str, Any]:
        """The pixelport request (SPEC 2.1) doing this workload on `url`."""
        operations: dict[str, Any] = {}
        if self.box is not None:
            width, height = self.box
            operations["resizing"] = {"width": width or "auto", "height": height or "auto", "fit": "bounds"}
        if self.flatten is not None:
            operations["background"] = {"color": self.flatten}
        fmt: dict[str, Any] = {"type": self.format}
        if self.format == "jpeg":
            fmt |= {"quality": self.quality, "progressive": self.progressive}
        elif self.format in ("webp", "avif"):
            fmt["compression"] = {"type": "lossy", "quality": self.quality}
        else:
            fmt["compression"] = "optimal"  # the default, said explicitly
        return {"input": url, "operations": operations, "output": {"format": fmt}}

    def thumbor_path(self, url: str) -> str:
        """thumbor's unsafe URL path for this workload on `url`. thumbor keeps the aspect ratio with
        `fit-in` (both sides) or a 0 side; `background_color` fills transparency when writing JPEG.
        Progressive JPEG is thumbor's PROGRESSIVE_JPEG setting (bench/peers.py sets it)."""
        parts = ["unsafe"]
        if self.box is not None:
            width, height = self.box
            if width and height:
                parts.append("fit-in")
            parts.append(f"{width or 0}x{height or 0}")
        filters = []
        if self.flatten is not None:
            filters.append(f"background_color({self.flatten.lstrip('#')})")
        if self.quality is not None:
            filters.append(f"quality({self.quality})")
        filters.append(f"format({self.format})")
        parts.append("filters:" + ":".join(filters))
        parts.append(quote(url, safe="/"))
        return "/" + "/".join(parts)

    def output_size(self, source: tuple[int, int]) -> tuple[int, int]:
        """The output's size for a `source` of that size (pixelport's rounding: nearest, halves up)."""
        if self.box is None:
            return source
        w, h = source
        bw, bh = self.box
        scale = min(bw / w if bw else math.inf, bh / h if bh else math.inf)
        return max(1, math.floor(w * scale + 0.5)), max(1, math.floor(h * scale + 0.5))


def _box(width: int | None, height: int | None, scale: float) -> tuple[int | None, int | None]:
    return (
        None if width is None else max(1, round(width * scale)),
        None if height is None else max(1, round(height * scale)),
    )


def workloads(scale: float = 1.0) -> list[Workload]:
    """W1-W6 as the issue lists them, boxes scaled by `scale`."""
    return [
        Workload(
            "W1",
            "12 MP JPEG -> fit inside 1024x1024 -> JPEG q85 progressive",
            corpus.PHOTO_12MP_JPEG,
            _box(1024, 1024, scale),
            "jpeg",
            quality=85,
        ),
        Workload(
            "W2",
            "12 MP JPEG -> 1920 wide -> WEBP lossy q75",
            corpus.PHOTO_12MP_JPEG,
            _box(1920, None, scale),
            "webp",
            quality=75,
        ),
        Workload(
            "W3",
            "12 MP JPEG -> 1024 wide -> AVIF q50",
            corpus.PHOTO_12MP_JPEG,
            _box(1024, None, scale),
            "avif",
            quality=50,
        ),
        Workload(
            "W4",
            "RGBA PNG 1600x1200 -> JPEG q85 flattened on white, no resize",
            corpus.ALPHA_PNG,
            None,
            "jpeg",
            quality=85,
            flatten="#ffffff",
        ),
        Workload(
            "W5",
            "24 MP JPEG -> fit inside 2048x2048 -> JPEG q85",
            corpus.PHOTO_24MP_JPEG,
            _box(2048, 2048, scale),
            "jpeg",
            quality=85,
        ),
        Workload(
            "W6",
            "12 MP JPEG -> full size -> PNG (optimal, the default)",
            corpus.PHOTO_12MP_JPEG,
            None,
            "png",
        ),
    ]


def by_name(name: str, scale: float = 1.0) -> Workload:
    for workload in workloads(scale):
        if workload.name == name:
            return workload
    raise KeyError(name)
