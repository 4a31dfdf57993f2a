"""Where a `smart` crop puts its window: over the most detail, measured as edge energy.

Edge energy is the sum of absolute luminance differences between neighbouring pixels (horizontal plus
vertical), computed on a copy at most `ANALYSIS_SIDE` pixels long. Of all window positions the one
holding the most energy wins; positions within `TIE` of the best count as equal and the one nearest
the centre is taken, so a flat or evenly textured image is cropped in the centre, as `center` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

ANALYSIS_SIDE = 256
TIE = 1e-6  # relative: energy sums are floats of many terms


def edge_energy(image: Image.Image) -> npt.NDArray[np.float64]:
    """Per-pixel edge energy of `image`'s luminance (alpha ignored), same height and width."""
    import numpy as np

    grey = np.asarray(image.convert("L"), dtype=np.float64)
    energy = np.zeros_like(grey)
    dx = np.abs(np.diff(grey, axis=1))
    dy = np.abs(np.diff(grey, axis=0))
    energy[:, 1:] += dx
    energy[:, :-1] += dx
    energy[1:, :] += dy
    energy[:-1, :] += dy
    return energy


def _best(sums: npt.NDArray[np.float64]) -> tuple[int, int]:
    """(row, column) of the largest entry of `sums`, nearest the centre among (near-)equal ones."""
    import numpy as np

    top = float(sums.max())
    rows, cols = np.nonzero(sums >= top - abs(top) * TIE)
    centre_r, centre_c = (sums.shape[0] - 1) / 2, (sums.shape[1] - 1) / 2
    nearest = int(np.argmin((rows - centre_r) ** 2 + (cols - centre_c) ** 2))
    return int(rows[nearest]), int(cols[nearest])


def window_origin(
    image: Image.Image, scaled: tuple[int, int], window: tuple[int, int]
) -> tuple[float, float]:
    """Top-left corner, in the coordinates of `image` scaled to `scaled`, of the `window`-sized part
    with the most edge energy."""
    (sw, sh), (ww, wh) = scaled, window
    if (ww, wh) == (sw, sh):
        return 0.0, 0.0
    # numpy costs every cold start about 0.1 s: imported by the requests that crop smart only.
    import numpy as np

    ratio = min(1.0, ANALYSIS_SIDE / max(image.size))
    small_size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    small = image.resize(small_size, Image.Resampling.BOX, reducing_gap=2.0) if ratio < 1 else image
    energy = edge_energy(small)
    th, tw = energy.shape
    # the window in analysis pixels (at least one, at most the whole copy)
    kw = min(tw, max(1, round(ww * tw / sw)))
    kh = min(th, max(1, round(wh * th / sh)))
    integral = np.zeros((th + 1, tw + 1))
    integral[1:, 1:] = energy.cumsum(axis=0).cumsum(axis=1)
    sums = integral[kh:, kw:] - integral[:-kh, kw:] - integral[kh:, :-kw] + integral[:-kh, :-kw]
    row, col = _best(sums)
    x = min(max(col * sw / tw, 0.0), float(sw - ww))
    y = min(max(row * sh / th, 0.0), float(sh - wh))
    # A free axis the analysis cannot resolve (one analysis pixel of slack) stays centred.
    if sums.shape[1] == 1:
        x = (sw - ww) / 2
    if sums.shape[0] == 1:
        y = (sh - wh) / 2
    return x, y
