"""The values passed between the imaging steps."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from pixelport.formats import OutputFormatName

# Every decoded image is handed to the steps in one of these modes, 8 bits per channel, upright,
# first frame only, colours in sRGB (grey images: neutral grey on the sRGB tone curve).
WORKING_MODES = ("L", "LA", "RGB", "RGBA")


@dataclass(frozen=True)
class CmykSource:
    """The input's own CMYK pixels (upright, unconverted) and the profile they are in: the embedded
    one when usable, else ISO_Coated, the profile the decoder read them with."""

    image: Image.Image  # mode CMYK
    profile: bytes


@dataclass
class Decoded:
    image: Image.Image  # mode in WORKING_MODES; smaller than `size` when decoded at a reduced scale
    format: str  # key of pixelport.formats.INPUT_FORMATS: "JPEG", "HEIC", ...
    dpi: tuple[float, float] | None  # the input's resolution, when it declares one
    source_mode: str  # Pillow's mode of the file as decoded, before normalisation ("CMYK", "I;16", ...)
    size: tuple[int, int]  # the input's upright size at full resolution, whatever size `image` has
    cmyk: CmykSource | None = None  # set for CMYK inputs, so the pipeline can keep their colour space


@dataclass
class Encoded:
    data: bytes
    format: OutputFormatName
    width: int
    height: int
