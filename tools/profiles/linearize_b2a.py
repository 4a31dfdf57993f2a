#!/usr/bin/env python3
"""Fold the per-channel device output curves of an ICC profile's B2A tables
into the cLUT, leaving identity output curves.  Used by build.sh.

Why: colprof keeps every B2A cLUT node within the total ink limit (-l), but
its B2A tables end in non-linear per-channel output curves.  A CMM
interpolates *before* those curves, so between two nodes that both sit on the
ink limit (typical of the clipped, out-of-gamut dark region) the sum
C+M+Y+K after the curves can overshoot the limit: up to 8.8 points for the
FOGRA29 300 % profile (sRGB -> CMYK, relative colorimetric, LittleCMS).
With identity output curves every interpolated value is a convex mix of node
values, so it can never exceed the largest node sum.  Node values themselves
are unchanged (to within 16-bit rounding).

Only lut16Type ('mft2') B2A0/B2A1/B2A2 tags are touched; the tag sizes do not
change, the profile has no Profile ID (MD5) to update.  Pure standard
library, deterministic.

usage: linearize_b2a.py PROFILE.icc   (rewritten in place)
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path


def _interp(table: list[int], value: int) -> int:
    """Evaluate a lut16 1-D table (linear interpolation) at a 16-bit value."""
    n = len(table)
    pos = value * (n - 1) / 65535.0
    i = min(int(pos), n - 2)
    f = pos - i
    return min(65535, max(0, round(table[i] + (table[i + 1] - table[i]) * f)))


def linearize(data: bytearray) -> list[str]:
    if data[36:40] != b"acsp":
        raise ValueError("not an ICC profile")
    changed = []
    (count,) = struct.unpack_from(">I", data, 128)
    for k in range(count):
        sig, off, _size = struct.unpack_from(">4sII", data, 132 + 12 * k)
        if sig not in (b"B2A0", b"B2A1", b"B2A2"):
            continue
        if data[off : off + 4] != b"mft2":
            raise ValueError(f"{sig.decode()} is not lut16Type (mft2)")
        n_in, n_out, grid = data[off + 8], data[off + 9], data[off + 10]
        in_entries, out_entries = struct.unpack_from(">HH", data, off + 48)
        clut_off = off + 52 + 2 * n_in * in_entries
        n_clut = grid**n_in * n_out
        curves_off = clut_off + 2 * n_clut
        curves = [
            list(struct.unpack_from(f">{out_entries}H", data, curves_off + 2 * c * out_entries))
            for c in range(n_out)
        ]
        clut = list(struct.unpack_from(f">{n_clut}H", data, clut_off))
        new = [_interp(curves[i % n_out], v) for i, v in enumerate(clut)]
        struct.pack_into(f">{n_clut}H", data, clut_off, *new)
        identity = [round(j * 65535 / (out_entries - 1)) for j in range(out_entries)]
        for c in range(n_out):
            struct.pack_into(f">{out_entries}H", data, curves_off + 2 * c * out_entries, *identity)
        changed.append(sig.decode())
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    path = Path(argv[1])
    data = bytearray(path.read_bytes())
    if not linearize(data):
        print(f"{path}: no lut16 B2A tables found", file=sys.stderr)
        return 1
    path.write_bytes(bytes(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
