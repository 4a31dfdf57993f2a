"""`operations` of an edit request (SPEC section 4): every block parsed and checked, `null` = absent."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, PlainValidator, Tag, model_validator

from pixelport.contract.base import StrictModel, by_type, name_to_object

_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
# A 100x upscale turns a 100-pixel side into 10,000, where the output megapixel limit starts; the bound
# also keeps the arithmetic on a percentage finite.
MAX_PERCENT = 10_000


def _kind_tag(value: Any) -> str | None:
    if isinstance(value, bool):
        return "@flag"
    if isinstance(value, str):
        return "@name"
    if isinstance(value, int | float):
        return "@number"
    if isinstance(value, dict):
        return "@object"
    return None


def by_kind(expected: str) -> Discriminator:
    """Discriminate a union by the JSON kind of its value (bool, string, number, object)."""
    return Discriminator(
        _kind_tag,
        custom_error_type="invalid_kind",
        custom_error_message=f"value must be {expected}",
    )


def _dimension(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return int(value)
    if value == "auto":
        return "auto"
    match = _PERCENT.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError('must be a positive integer (pixels), "auto", or a percentage such as "50%"')
    if not 0 < float(match.group(1)) <= MAX_PERCENT:
        raise ValueError(f"a percentage must be greater than 0% and at most {MAX_PERCENT}%")
    return str(value)


Dimension = Annotated[
    int | str,
    PlainValidator(
        _dimension,
        json_schema_input_type=Annotated[int, Field(ge=1)]
        | Annotated[str, Field(pattern=r"^(auto|\d+(\.\d+)?%)$", description='"auto" or a percentage')],
    ),
]


def percent(value: int | str) -> float | None:
    """The percentage a dimension names, or None for pixels and "auto"."""
    match = _PERCENT.match(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


class CropFit(StrictModel):
    type: Literal["crop"] = "crop"
    crop: Literal["center", "smart"] = "center"


class CoverFit(StrictModel):
    type: Literal["cover"] = "cover"


class BoundsFit(StrictModel):
    type: Literal["bounds"] = "bounds"


class CanvasFit(StrictModel):
    type: Literal["canvas"] = "canvas"


class OutpaintFit(StrictModel):
    type: Literal["outpaint"] = "outpaint"
    feathering: Annotated[str, Field(pattern=r"^[1-9][0-9]+%$|^[0-9]%$")] = "15%"
    outpaint_by: Annotated[str, Field(pattern=r"^\d+(\.\d+)?(px|%)( \d+(\.\d+)?(px|%))?$")] | None = None


Fit = Annotated[
    Annotated[CropFit, Tag("@crop")]
    | Annotated[CoverFit, Tag("@cover")]
    | Annotated[BoundsFit, Tag("@bounds")]
    | Annotated[CanvasFit, Tag("@canvas")]
    | Annotated[OutpaintFit, Tag("@outpaint")],
    by_type("'crop', 'cover', 'bounds', 'canvas', 'outpaint'"),
    BeforeValidator(
        name_to_object,
        json_schema_input_type=Literal["crop", "cover", "bounds", "canvas", "outpaint"]
        | CropFit
        | CoverFit
        | BoundsFit
        | CanvasFit
        | OutpaintFit,
    ),
]


class Resizing(StrictModel):
    width: Dimension = "auto"
    height: Dimension = "auto"
    fit: Fit = CropFit()

    @model_validator(mode="after")
    def _percentages_agree(self) -> Resizing:
        w, h = percent(self.width), percent(self.height)
        if (w is not None or h is not None) and w != h:
            for side, other in (("width", self.height), ("height", self.width)):
                if percent(getattr(self, side)) is not None and other != "auto" and percent(other) is None:
                    raise ValueError(
                        'a percentage on one side needs the same percentage or "auto" on the other'
                    )
            if w is not None and h is not None:
                raise ValueError("width and height percentages must be equal")
        if self.is_identity and self.model_fields_set & {"width", "height"}:
            # An explicit "auto" follows the other side, which must then be given. Leaving both out
            # (the published default, both auto) means no resize.
            raise ValueError('width and height cannot both be "auto"; leave both out for no resize')
        return self

    @property
    def is_identity(self) -> bool:
        return self.width == "auto" and self.height == "auto"


class UpscalePhoto(StrictModel):
    type: Literal["photo"]
    version: Literal["1", "2", "3"]


UpscaleName = Literal["smart_enhance", "smart_resize", "faces", "digital_art", "photo"]
Upscale = Annotated[
    Annotated[UpscaleName, Tag("@name")] | Annotated[UpscalePhoto, Tag("@object")],
    by_kind('a model name or {"type": "photo", "version": ...}'),
]


class Restorations(StrictModel):
    decompress: Literal["moderate", "strong", "auto"] | None = None
    upscale: Upscale | None = None
    polish: bool = False


class HdrOptions(StrictModel):
    intensity: Annotated[int, Field(ge=0, le=100)] = 100
    stitching: bool = False


Signed = Annotated[int, Field(ge=-100, le=100)]
Hdr = Annotated[
    Annotated[Annotated[int, Field(ge=0, le=100)], Tag("@number")] | Annotated[HdrOptions, Tag("@object")],
    by_kind("an integer 0..100 or an object"),
]


class Adjustments(StrictModel):
    hdr: Hdr = 0
    exposure: Signed = 0
    saturation: Signed = 0
    contrast: Signed = 0
    sharpness: Annotated[int, Field(ge=0, le=100)] = 0


class Selective(StrictModel):
    object_to_keep: Annotated[str, Field(min_length=3, max_length=128)]


Category = Literal["general", "cars", "products"]


class _Targeted(StrictModel):
    selective: Selective | None = None
    category: Category | None = None

    @model_validator(mode="after")
    def _not_both(self) -> _Targeted:
        if self.selective is not None and self.category is not None:
            raise ValueError("selective and category cannot be combined")
        return self


class RemovalOptions(_Targeted):
    clipping: bool = False


class BlurOptions(_Targeted):
    type: Literal["regular", "lens"] = "regular"
    level: Literal["low", "medium", "high"] = "medium"


Removal = Annotated[
    Annotated[bool, Tag("@flag")] | Annotated[RemovalOptions, Tag("@object")],
    by_kind("a boolean or an object"),
]
Blur = Annotated[
    Annotated[bool, Tag("@flag")] | Annotated[BlurOptions, Tag("@object")],
    by_kind("a boolean or an object"),
]
Color = Annotated[str, Field(pattern=r"^(#[0-9a-fA-F]{6}|transparent)$")]


class Background(StrictModel):
    remove: Removal = False
    # None: white, or transparent when the input has alpha and the output format keeps it (SPEC 4).
    color: Color | None = None
    blur: Blur = False


_PADDING = re.compile(r"^(\d+(?:\.\d+)?)%(?: (\d+(?:\.\d+)?)%)?$")


def _padding(value: Any) -> str:
    match = _PADDING.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError('must be a percentage, or two ("height width"), such as "10%" or "5% 25%"')
    if any(float(g) > 50 for g in match.groups() if g is not None):
        raise ValueError("padding cannot be more than 50% of a side")
    return str(value)


Padding = Annotated[str, PlainValidator(_padding)]


def padding_percentages(value: str) -> tuple[float, float]:
    """A valid `padding` as (vertical, horizontal) percentages; one value is both."""
    match = _PADDING.match(value)
    if not match:
        raise ValueError(f"not a valid padding: {value!r}")
    vertical, horizontal = match.groups()
    return float(vertical), float(horizontal if horizontal is not None else vertical)


class Privacy(StrictModel):
    blur_car_plate: bool = False
    identity_crop: bool = False


Strength = Annotated[float, Field(ge=0, le=1)]


class StyleTransfer(StrictModel):
    style_reference_image: Annotated[str, Field(min_length=1, max_length=4096)]
    prompt: Annotated[str, Field(min_length=3, max_length=1024)] | None = None
    depth_strength: Strength = 1.0
    denoising_strength: Strength = 0.75
    style_strength: Strength = 0.75


class Generative(StrictModel):
    style_transfer: StyleTransfer | None = None


class Operations(StrictModel):
    restorations: Restorations | None = None
    resizing: Resizing | None = None
    adjustments: Adjustments | None = None
    background: Background | None = None
    padding: Padding | None = None
    privacy: Privacy | None = None
    generative: Generative | None = None


def operation_rule_errors(ops: Operations) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    bg = ops.background
    if ops.generative and ops.generative.style_transfer and bg and (bg.remove or bg.blur):
        errors["operations.generative.style_transfer"] = [
            "style transfer cannot be combined with background remove or blur"
        ]
    return errors
