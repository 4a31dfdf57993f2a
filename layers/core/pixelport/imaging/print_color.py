"""sRGB -> CMYK for print output (SPEC section 3, `metadata.color_space` CMYK).

`to_cmyk(image, profile_name)` converts an 8-bit sRGB image through one of the four print profiles
in ``profiles/<name>.icc`` and returns the CMYK image plus the profile bytes to embed in the file.

- Alpha is not handled here: the pipeline flattens it (onto the background colour, white paper by
  default) before any CMYK conversion, so an LA/RGBA image is refused.
- Grey (L) is converted to RGB first: sRGB grey is R = G = B, and the profile decides how much
  K and CMY a neutral gets (rather than putting the grey in K alone, which prints too light
  and flat).
- Rendering intent: INTENT, chosen because it keeps total ink (C + M + Y + K) within the profile's
  TAC (+ 2 points of 8-bit rounding) on a saturated test chart for all four profiles; see
  tests/unit/test_print_color.py, which checks it for every profile.
- Transforms are built once per (profile, mode) and kept for the life of the process (a Lambda
  container converts many images with the same few profiles; building one costs tens of ms).
"""

from __future__ import annotations

import threading
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Final

from PIL import Image, ImageCms

PROFILES_DIR: Final = Path(__file__).with_name("profiles")

# Total area coverage (sum of C, M, Y, K in percent) each profile's press allows: SPEC section 3.
TAC: Final[dict[str, int]] = {
    "ISO_Coated": 330,
    "ISO_Uncoated": 300,
    "USWeb_Coated": 300,
    "USWeb_Uncoated": 260,
}

INTENT: Final = ImageCms.Intent.PERCEPTUAL
FLAGS: Final = ImageCms.Flags.NONE

_transforms: dict[tuple[str, str], ImageCms.ImageCmsTransform] = {}
_lock = threading.Lock()


def profile_path(name: str) -> Path:
    if name not in TAC:
        raise ValueError(f"unknown CMYK profile {name!r}; expected one of {', '.join(TAC)}")
    return PROFILES_DIR / f"{name}.icc"


@cache
def profile_bytes(name: str) -> bytes:
    """The ICC profile `name` as stored (the exact bytes embedded in CMYK outputs)."""
    return profile_path(name).read_bytes()


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _transform(name: str, mode: str) -> ImageCms.ImageCmsTransform:
    key = (name, mode)
    with _lock:
        cached = _transforms.get(key)
    if cached is not None:
        return cached
    target = ImageCms.ImageCmsProfile(BytesIO(profile_bytes(name)))
    built = ImageCms.buildTransform(_srgb(), target, mode, "CMYK", renderingIntent=INTENT, flags=FLAGS)
    with _lock:
        return _transforms.setdefault(key, built)


def to_cmyk(image: Image.Image, profile_name: str) -> tuple[Image.Image, bytes]:
    """Convert an opaque 8-bit sRGB image (L or RGB) to CMYK through `profile_name`; returns the
    CMYK image and the profile's bytes, to embed in the output."""
    profile = profile_bytes(profile_name)
    if image.mode == "L":
        image = image.convert("RGB")
    if image.mode != "RGB":
        raise ValueError(f"cannot convert mode {image.mode} to CMYK; expected L or RGB (flatten alpha first)")
    cmyk = ImageCms.applyTransform(image, _transform(profile_name, image.mode))
    assert cmyk is not None  # applyTransform returns None only with inPlace=True
    return cmyk, profile
