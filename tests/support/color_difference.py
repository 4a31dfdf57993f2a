"""CIEDE2000 colour difference (CIE 142-2001), vectorised with numpy.

Follows Sharma, Wu and Dalal, "The CIEDE2000 Color-Difference Formula: Implementation Notes,
Supplementary Test Data, and Mathematical Observations", Color Res. Appl. 30 (2005), including
their notes on hue angles of neutral colours and the mean hue across the 0/360 degree wrap.
tests/unit/test_color_difference.py checks it against the paper's published test pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

_25_POW_7 = 25.0**7


def ciede2000(
    lab1: npt.ArrayLike, lab2: npt.ArrayLike, k_l: float = 1.0, k_c: float = 1.0, k_h: float = 1.0
) -> npt.NDArray[np.float64]:
    """dE00 between CIELAB colours; the last axis holds (L*, a*, b*); other axes broadcast."""
    x = np.asarray(lab1, dtype=np.float64)
    y = np.asarray(lab2, dtype=np.float64)
    if x.shape[-1:] != (3,) or y.shape[-1:] != (3,):
        raise ValueError("the last axis must hold L*, a*, b*")
    l1, a1, b1 = x[..., 0], x[..., 1], x[..., 2]
    l2, a2, b2 = y[..., 0], y[..., 1], y[..., 2]

    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + _25_POW_7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    # hue angles in degrees, [0, 360); atan2(0, 0) = 0 as the paper prescribes for neutrals
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    chroma_product = c1p * c2p
    neutral = chroma_product == 0

    d_lp = l2 - l1
    d_cp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(neutral, 0.0, dh)
    d_hp = 2 * np.sqrt(chroma_product) * np.sin(np.radians(dh / 2))

    l_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(
        np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)
    )
    h_mean = np.where(neutral, h_sum, h_mean)

    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    d_theta = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + _25_POW_7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c

    dl = d_lp / (k_l * s_l)
    dc = d_cp / (k_c * s_c)
    dhh = d_hp / (k_h * s_h)
    result: npt.NDArray[Any] = np.sqrt(dl**2 + dc**2 + dhh**2 + r_t * dc * dhh)
    return result.astype(np.float64)
