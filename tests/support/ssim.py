"""SSIM (Wang et al. 2004) of two images' luminance, as scikit-image computes it by default: 7x7
uniform windows, sample covariances, K1 = 0.01, K2 = 0.03, data range 255, mean over the windows that
fit inside the image."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

WINDOW = 7
K1, K2, RANGE = 0.01, 0.03, 255.0


def _window_means(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Mean of every WINDOW x WINDOW block that fits (valid positions only), by summed-area table."""
    s = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    s[1:, 1:] = a.cumsum(axis=0).cumsum(axis=1)
    w = WINDOW
    sums = s[w:, w:] - s[:-w, w:] - s[w:, :-w] + s[:-w, :-w]
    return sums / (w * w)


def ssim(reference: Image.Image, test: Image.Image) -> float:
    if reference.size != test.size:
        raise ValueError(f"sizes differ: {reference.size} and {test.size}")
    x = np.asarray(reference.convert("L"), dtype=np.float64)
    y = np.asarray(test.convert("L"), dtype=np.float64)
    n = WINDOW * WINDOW
    ux, uy = _window_means(x), _window_means(y)
    cov = n / (n - 1)  # sample (not population) covariance, as scikit-image
    vx = (_window_means(x * x) - ux * ux) * cov
    vy = (_window_means(y * y) - uy * uy) * cov
    vxy = (_window_means(x * y) - ux * uy) * cov
    c1, c2 = (K1 * RANGE) ** 2, (K2 * RANGE) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s.mean())
