"""What every step of the pipeline reads besides the image: the request, the decoded input and the
layout planned from them, plus the background decisions SPEC 3 and 4 make once for all steps."""

from __future__ import annotations

from dataclasses import dataclass

from pixelport.contract.edit import Edit
from pixelport.contract.output import CmykColorSpace
from pixelport.formats import OutputFormatName
from pixelport.imaging.geometry import Layout
from pixelport.imaging.model import Decoded
from pixelport.imaging.steps import parse_color

RGBA = tuple[int, int, int, int]
TRANSPARENT: RGBA = (0, 0, 0, 0)


@dataclass(frozen=True)
class Context:
    request: Edit
    decoded: Decoded
    layout: Layout

    @property
    def output_format(self) -> OutputFormatName:
        assert self.request.output.format is not None  # settled by parse_edit_request
        return self.request.output.format.type

    @property
    def background_color(self) -> str | None:
        background = self.request.operations.background
        return background.color if background else None

    @property
    def keeps_alpha(self) -> bool:
        """SPEC 3: JPEG (and CMYK, which is JPEG only) cannot hold transparency; the others keep it."""
        return self.output_format != "jpeg" and not isinstance(
            self.request.output.metadata.color_space, CmykColorSpace
        )

    def fill(self, has_alpha: bool) -> RGBA:
        """The colour of canvas and padding (SPEC 4 `background.color`): the colour asked for; else
        transparent where the output keeps alpha and either "transparent" was asked for or the image
        has alpha; else white."""
        color = self.background_color
        if color not in (None, "transparent"):
            return (*parse_color(color), 255)
        if self.keeps_alpha and (color == "transparent" or has_alpha):
            return TRANSPARENT
        return (*parse_color(None), 255)
