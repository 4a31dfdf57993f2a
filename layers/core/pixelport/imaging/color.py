"""ICC colour management, the one owner of the bundled profiles, the sRGB profile and the transform
cache: input profiles to sRGB (`to_srgb`, every decoded image leaves the decoder in sRGB) and sRGB to
a print profile (`to_cmyk`, SPEC section 3 `metadata.color_space` CMYK).

Why each choice was made, with measurements: docs/image-io.md#input-colour-management and
docs/image-io.md#encoding-outputs (JPEG CMYK).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Final, Literal, TypeAlias

from PIL import Image, ImageChops, ImageCms

from pixelport.errors import INTERNAL, PixelportError

ProfileStatus = Literal["none", "srgb", "converted", "invalid"]

PROFILES_DIR = Path(__file__).with_name("profiles")
DEFAULT_CMYK_PROFILE = "ISO_Coated"
TRANSFORM_CACHE_SIZE = 32
# A profile whose conversion to sRGB moves no probe value by more than this is treated as sRGB.
SRGB_LIKE_TOLERANCE = 1

_ICC_SPACE = {"L": b"GRAY", "LA": b"GRAY", "RGB": b"RGB ", "RGBA": b"RGB ", "CMYK": b"CMYK"}


@dataclass(frozen=True)
class ColorResult:
    image: Image.Image  # L, LA, RGB or RGBA, colours in sRGB
    # "none": no embedded profile; "srgb": an sRGB-like profile, pixels untouched; "converted": converted
    # through the embedded profile (CMYK and Lab: always "converted" unless the profile was invalid);
    # "invalid": an embedded profile was unusable and ignored.
    profile_status: ProfileStatus


class _UnusableProfileError(Exception):
    """The embedded profile cannot be used for these pixels."""


# Total area coverage (sum of C, M, Y, K in percent) each print profile's press allows: SPEC section 3.
TAC: Final[dict[str, int]] = {
    "ISO_Coated": 330,
    "ISO_Uncoated": 300,
    "USWeb_Coated": 300,
    "USWeb_Uncoated": 260,
}
# sRGB -> CMYK: perceptual keeps total ink within each profile's TAC (+ 2 points of 8-bit rounding)
# on a saturated chart for all four profiles (tests/unit/test_print_color.py measures it).
CMYK_INTENT: Final = ImageCms.Intent.PERCEPTUAL


def cmyk_profile_path(name: str = DEFAULT_CMYK_PROFILE) -> Path:
    if name not in TAC:
        raise ValueError(f"unknown CMYK profile {name!r}; expected one of {', '.join(TAC)}")
    return PROFILES_DIR / f"{name}.icc"


def profile_bytes(name: str) -> bytes:
    """The bundled print profile `name` as stored (the exact bytes embedded in CMYK outputs)."""
    return _read_profile(cmyk_profile_path(name))


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@cache
def _lab() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))


def default_cmyk_profile_bytes() -> bytes:
    path = cmyk_profile_path()
    try:
        return _read_profile(path)
    except OSError as e:
        raise PixelportError(INTERNAL, f"the {DEFAULT_CMYK_PROFILE} CMYK profile is missing") from e


@cache
def _read_profile(path: Path) -> bytes:
    return path.read_bytes()


def icc_tags(profile: bytes) -> set[bytes]:
    """The tag signatures of an ICC profile (empty when the tag table cannot be read)."""
    if len(profile) < 132:
        return set()
    count = int.from_bytes(profile[128:132], "big")
    if count > 1000 or 132 + 12 * count > len(profile):
        return set()
    return {profile[132 + 12 * i : 136 + 12 * i] for i in range(count)}


def rendering_intent(profile: bytes) -> ImageCms.Intent:
    """Perceptual when the profile has a perceptual table (A2B0), else relative colorimetric."""
    if b"A2B0" in icc_tags(profile):
        return ImageCms.Intent.PERCEPTUAL
    return ImageCms.Intent.RELATIVE_COLORIMETRIC


def profile_color_space(profile: bytes) -> bytes | None:
    """The ICC header's data colour space (b"RGB ", b"GRAY", b"CMYK", ...), None if not an ICC profile."""
    if len(profile) < 128 or profile[36:40] != b"acsp":
        return None
    return profile[16:20]


_CacheKey: TypeAlias = tuple[bytes, str, str]  # (SHA-256 of the profile, input mode, output mode)
# a transform, a grey lookup table, None for "sRGB-like: leave the pixels alone", or why the profile
# cannot be used
_Built: TypeAlias = "ImageCms.ImageCmsTransform | list[int] | None"
_Cached: TypeAlias = "_Built | _UnusableProfileError"


class _TransformCache:
    """A small thread-safe LRU of built transforms; None entries mean "identity" (sRGB-like)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[_CacheKey, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _CacheKey) -> tuple[bool, _Cached]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return True, self._items[key]
        return False, None

    def put(self, key: _CacheKey, value: _Cached) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


TRANSFORMS = _TransformCache(TRANSFORM_CACHE_SIZE)


def _build(
    profile: bytes, in_mode: str, out_mode: str, flags: ImageCms.Flags = ImageCms.Flags.NONE
) -> ImageCms.ImageCmsTransform:
    if in_mode == "LAB":
        source = _lab()
    else:
        if profile_color_space(profile) != _ICC_SPACE[in_mode]:
            raise _UnusableProfileError("profile colour space does not match the pixels")
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(profile))
        except (OSError, ValueError, TypeError, ImageCms.PyCMSError) as e:
            raise _UnusableProfileError(str(e)) from e
    intent = ImageCms.Intent.RELATIVE_COLORIMETRIC if in_mode == "LAB" else rendering_intent(profile)
    try:
        return ImageCms.buildTransform(
            source, _srgb(), in_mode, out_mode, intent, ImageCms.Flags.BLACKPOINTCOMPENSATION | flags
        )
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError) as e:
        raise _UnusableProfileError(str(e)) from e


def _rgb_probe() -> Image.Image:
    """Every (r, g, b) of 18 levels a channel (0 and 255 included) in one row, blue varying fastest."""
    levels = range(0, 256, 15)
    grid = bytes(itertools.chain.from_iterable(itertools.product(levels, repeat=3)))
    return Image.frombytes("RGB", (len(levels) ** 3, 1), grid)


def _is_identity(transform: ImageCms.ImageCmsTransform) -> bool:
    # In Pillow, not numpy: photos often carry an RGB profile, and numpy would cost their cold start 0.1 s.
    probe = _rgb_probe()
    moved = ImageChops.difference(transform.apply(probe), probe).tobytes()  # |got - probe|, per sample
    return max(moved) <= SRGB_LIKE_TOLERANCE


def _cached(key: _CacheKey, build: Callable[[], _Built]) -> _Built:
    found, value = TRANSFORMS.get(key)
    if not found:
        try:
            value = build()
        except _UnusableProfileError as e:
            value = e
        TRANSFORMS.put(key, value)
    if isinstance(value, _UnusableProfileError):
        raise _UnusableProfileError(str(value))
    return value


def transform_for(profile: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform | None:
    """The cached transform from `profile` (RGB, CMYK; ignored for LAB) to sRGB, or None when an RGB
    profile is sRGB-like. Raises `_UnusableProfileError` for a profile unusable for `in_mode` pixels.
    """

    def build() -> _Built:
        built = _build(profile, in_mode, out_mode)
        return None if in_mode == "RGB" and _is_identity(built) else built  # CMYK, Lab: never sRGB

    value = _cached((hashlib.sha256(profile).digest(), in_mode, out_mode), build)
    assert not isinstance(value, list)
    return value


def grey_lut_for(profile: bytes) -> list[int] | None:
    """The 256-entry table taking grey through `profile` to sRGB grey, None when it is sRGB-like."""

    def build() -> _Built:
        transform = _build(profile, "L", "RGB", ImageCms.Flags.NOOPTIMIZE)
        levels = Image.frombytes("L", (256, 1), bytes(range(256)))
        lut = list(transform.apply(levels).convert("L").tobytes())  # neutral: R = G = B (+-1)
        return None if max(abs(v - i) for i, v in enumerate(lut)) <= SRGB_LIKE_TOLERANCE else lut

    value = _cached((hashlib.sha256(profile).digest(), "L", "L"), build)
    assert value is None or isinstance(value, list)
    return value


def _apply(transform: ImageCms.ImageCmsTransform, image: Image.Image) -> Image.Image:
    out = transform.apply(image)
    out.info.pop("icc_profile", None)
    return out


def _grey_to_srgb(image: Image.Image, profile: bytes) -> ColorResult:
    lut = grey_lut_for(profile)
    if lut is None:
        return ColorResult(image, "srgb")
    if image.mode == "LA":
        return ColorResult(image.point(lut + list(range(256))), "converted")  # alpha unchanged
    return ColorResult(image.point(lut), "converted")


def _rgb_to_srgb(image: Image.Image, profile: bytes) -> ColorResult:
    transform = transform_for(profile, "RGB", "RGB")
    if transform is None:
        return ColorResult(image, "srgb")
    if image.mode == "RGBA":
        alpha = image.getchannel("A")
        converted = _apply(transform, image.convert("RGB"))
        converted.putalpha(alpha)
        return ColorResult(converted, "converted")
    return ColorResult(_apply(transform, image), "converted")


def cmyk_to_srgb(image: Image.Image, profile: bytes | None) -> ColorResult:
    """CMYK through its embedded profile, or ISO_Coated when it has none or an unusable one."""
    if profile is not None:
        try:
            transform = transform_for(profile, "CMYK", "RGB")
            assert transform is not None
            return ColorResult(_apply(transform, image), "converted")
        except _UnusableProfileError:
            pass
    fallback = transform_for(default_cmyk_profile_bytes(), "CMYK", "RGB")
    assert fallback is not None
    return ColorResult(_apply(fallback, image), "none" if profile is None else "invalid")


def lab_to_srgb(image: Image.Image) -> ColorResult:
    transform = transform_for(b"", "LAB", "RGB")
    assert transform is not None
    return ColorResult(_apply(transform, image), "converted")


def to_srgb(image: Image.Image, profile: bytes | None) -> ColorResult:
    """Convert an L, LA, RGB, RGBA, CMYK or LAB image with its embedded ICC profile to sRGB.

    Returns an L/LA image for grey input, RGB/RGBA otherwise; never raises for a bad profile.
    """
    if image.mode == "CMYK":
        return cmyk_to_srgb(image, profile or None)
    if image.mode == "LAB":
        return lab_to_srgb(image)
    if image.mode not in ("L", "LA", "RGB", "RGBA"):
        raise ValueError(f"to_srgb: unexpected mode {image.mode}")
    if not profile:
        return ColorResult(image, "none")
    try:
        if image.mode in ("L", "LA"):
            return _grey_to_srgb(image, profile)
        return _rgb_to_srgb(image, profile)
    except _UnusableProfileError:
        return ColorResult(image, "invalid")


def _cmyk_transform(profile: bytes) -> ImageCms.ImageCmsTransform:
    def build() -> _Built:
        target = ImageCms.ImageCmsProfile(BytesIO(profile))
        return ImageCms.buildTransform(_srgb(), target, "RGB", "CMYK", renderingIntent=CMYK_INTENT)

    value = _cached((hashlib.sha256(profile).digest(), "RGB", "CMYK"), build)
    assert isinstance(value, ImageCms.ImageCmsTransform)
    return value


def to_cmyk(image: Image.Image, profile_name: str) -> tuple[Image.Image, bytes]:
    """Convert an opaque 8-bit sRGB image (L or RGB) to CMYK through the bundled `profile_name`;
    returns the CMYK image and the profile's bytes, to embed in the output.

    Grey goes through RGB (R = G = B), so the profile decides how much K and CMY a neutral gets
    (K alone prints too light and flat). Alpha is not handled here: the pipeline flattens it first.
    """
    profile = profile_bytes(profile_name)
    return to_cmyk_with(image, profile), profile


def to_cmyk_with(image: Image.Image, profile: bytes) -> Image.Image:
    """`to_cmyk` through any CMYK profile given as bytes (an input's own embedded one)."""
    if image.mode == "L":
        image = image.convert("RGB")
    if image.mode != "RGB":
        raise ValueError(f"cannot convert mode {image.mode} to CMYK; expected L or RGB (flatten alpha first)")
    return _apply(_cmyk_transform(profile), image)
