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
    type: Literal["crop"] = Field(
        "crop", description="scaled to cover the size, then cut to it; with one side given, the other stays"
    )
    crop: Literal["center", "smart"] = Field(
        "center",
        description="which part is kept: the middle, or the window with the most detail (edge energy)",
    )


class CoverFit(StrictModel):
    type: Literal["cover"] = Field(
        "cover", description="scaled to cover the size: one side equals it, the other may be larger"
    )


class BoundsFit(StrictModel):
    type: Literal["bounds"] = Field(
        "bounds", description="scaled to fit inside the size: one side equals it, the other may be smaller"
    )


class CanvasFit(StrictModel):
    type: Literal["canvas"] = Field(
        "canvas",
        description="scaled to fit inside, centred on a canvas of exactly the size in background.color",
    )


class OutpaintFit(StrictModel):
    type: Literal["outpaint"] = Field(
        "outpaint",
        description="the extra room generated as background; needs a model: this deployment answers 422",
    )
    feathering: Annotated[str, Field(pattern=r"^[1-9][0-9]+%$|^[0-9]%$")] = Field(
        "15%", description="how far the generated part blends into the image, a percentage"
    )
    outpaint_by: Annotated[str, Field(pattern=r"^\d+(\.\d+)?(px|%)( \d+(\.\d+)?(px|%))?$")] | None = Field(
        None,
        description='room to generate, in px or %: one value for both sides or "width height"; '
        "none: in one direction only, from the target width and height",
    )


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


_DIMENSION = (
    'pixels (an integer), "auto", or a percentage of the input greater than 0% and at most '
    f'{MAX_PERCENT}% ("50%"); a percentage on one side needs the same percentage or "auto" on the other'
)


class Resizing(StrictModel):
    width: Dimension = Field("auto", description=f"the output width: {_DIMENSION}")
    height: Dimension = Field("auto", description=f"the output height: {_DIMENSION}")
    fit: Fit = Field(
        CropFit(),
        description="how the image meets the size: crop, cover, bounds or canvas (outpaint needs a "
        "model); no fit ever distorts",
    )

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
    type: Literal["photo"] = Field(description="the model for phone and camera photos")
    version: Literal["1", "2", "3"] = Field(
        description='"1" deprecated; "2" restores phone and camera photos; "3" the same, more aggressively'
    )


UpscaleName = Literal["smart_enhance", "smart_resize", "faces", "digital_art", "photo"]
Upscale = Annotated[
    Annotated[UpscaleName, Tag("@name")] | Annotated[UpscalePhoto, Tag("@object")],
    by_kind('a model name or {"type": "photo", "version": ...}'),
]


_NEEDS_A_MODEL = "needs a model: this deployment answers 422 unless it is left out"


class Restorations(StrictModel):
    decompress: Literal["moderate", "strong", "auto"] | None = Field(
        None,
        description="remove JPEG artefacts: moderate, strong, or auto (only when found); " + _NEEDS_A_MODEL,
    )
    upscale: Upscale | None = Field(
        None,
        description="a model that adds detail when the image is enlarged (resizing alone interpolates); "
        + _NEEDS_A_MODEL,
    )
    polish: bool = Field(
        False, description="the published API's polish restoration; needs a model (422 if true)"
    )


class HdrOptions(StrictModel):
    intensity: Annotated[int, Field(ge=0, le=100)] = Field(100, description="strength of the effect")
    stitching: bool = Field(False, description="the image is a stitched 360-degree photo")


Signed = Annotated[int, Field(ge=-100, le=100)]
Hdr = Annotated[
    Annotated[Annotated[int, Field(ge=0, le=100)], Tag("@number")] | Annotated[HdrOptions, Tag("@object")],
    by_kind("an integer 0..100 or an object"),
]


class Adjustments(StrictModel):
    """Relative to the image; 0 leaves it unchanged (README "adjustments" gives each curve)."""

    hdr: Hdr = Field(
        0,
        description="colour and light balance by a model, an intensity or an object; needs a model: "
        "this deployment answers 422 unless it is 0",
    )
    exposure: Signed = Field(
        0, description="brightness: linear light times 2^(v/50), so the ends are two stops down or up"
    )
    saturation: Signed = Field(
        0, description="colourfulness: each pixel moved from its grey by 1 + v/100 (the lowest: greyscale)"
    )
    contrast: Signed = Field(
        0, description="each channel moved from the image's mean grey by 1 + v/100 (the lowest: flat grey)"
    )
    sharpness: Annotated[int, Field(ge=0, le=100)] = Field(
        0, description="unsharp mask, radius 2 px, amount 2 x v percent; sharpens only"
    )


class Selective(StrictModel):
    object_to_keep: Annotated[str, Field(min_length=3, max_length=128)] = Field(
        description="the object to keep, in words"
    )


Category = Literal["general", "cars", "products"]


class _Targeted(StrictModel):
    selective: Selective | None = Field(None, description="keep the object named in words; not with category")
    category: Category | None = Field(None, description="the kind of picture; not with selective")

    @model_validator(mode="after")
    def _not_both(self) -> _Targeted:
        if self.selective is not None and self.category is not None:
            raise ValueError("selective and category cannot be combined")
        return self


class RemovalOptions(_Targeted):
    clipping: bool = Field(False, description="crop to the edges of the foreground object")


class BlurOptions(_Targeted):
    type: Literal["regular", "lens"] = Field(
        "regular", description="Gaussian blur, or lens blur with a linear focus"
    )
    level: Literal["low", "medium", "high"] = Field("medium", description="how strong the blur is")


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
    remove: Removal = Field(
        False,
        description="remove the background, true or an object of options; needs a model: this "
        "deployment answers 422 unless it is false",
    )
    # None: white, or transparent when the input has alpha and the output format keeps it (SPEC 4).
    color: Color | None = Field(
        None,
        description='"#rrggbb" or "transparent": fills canvas and padding and flattens transparency; '
        "none: white, or transparent when the input has alpha and the output format keeps it",
    )
    blur: Blur = Field(
        False,
        description="blur the background, true or an object of options; needs a model: this "
        "deployment answers 422 unless it is false",
    )


_PADDING = re.compile(r"^(\d+(?:\.\d+)?)%(?: (\d+(?:\.\d+)?)%)?$")
MAX_PADDING_PERCENT = 50


def _padding(value: Any) -> str:
    match = _PADDING.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError('must be a percentage, or two ("height width"), such as "10%" or "5% 25%"')
    if any(float(g) > MAX_PADDING_PERCENT for g in match.groups() if g is not None):
        raise ValueError(f"padding cannot be more than {MAX_PADDING_PERCENT}% of a side")
    return str(value)


Padding = Annotated[
    str, PlainValidator(_padding, json_schema_input_type=Annotated[str, Field(pattern=_PADDING.pattern)])
]


def padding_percentages(value: str) -> tuple[float, float]:
    """A valid `padding` as (vertical, horizontal) percentages; one value is both."""
    match = _PADDING.match(value)
    if not match:
        raise ValueError(f"not a valid padding: {value!r}")
    vertical, horizontal = match.groups()
    return float(vertical), float(horizontal if horizontal is not None else vertical)


class Privacy(StrictModel):
    blur_car_plate: bool = Field(
        False, description="blur the licence plates found; needs a model (422 if true)"
    )
    identity_crop: bool = Field(
        False,
        description="cut away everything above the line between nose and lips; needs a model (422 if true)",
    )


Strength = Annotated[float, Field(ge=0, le=1)]


class StyleTransfer(StrictModel):
    style_reference_image: Annotated[str, Field(min_length=1, max_length=4096)] = Field(
        description="the picture whose style is applied: a URL or storage://<name>/<path>"
    )
    prompt: Annotated[str, Field(min_length=3, max_length=1024)] | None = Field(
        None, description="the style, in words"
    )
    depth_strength: Strength = Field(1.0, description="how much of the composition and shapes is kept")
    denoising_strength: Strength = Field(0.75, description="how much colour and texture change")
    style_strength: Strength = Field(0.75, description="how strongly the style is applied")


class Generative(StrictModel):
    style_transfer: StyleTransfer | None = Field(
        None,
        description="restyle the image after a reference picture; not with background remove or blur; "
        + _NEEDS_A_MODEL,
    )


_ABSENT = "null or left out: none"


class Operations(StrictModel):
    """The steps run in a fixed order, whatever the order of the keys (README "Operations")."""

    restorations: Restorations | None = Field(
        None, description=f"model-based repair and upscaling (each needs a model); {_ABSENT}"
    )
    resizing: Resizing | None = Field(
        None, description=f"the output size and how the image fits it; {_ABSENT}"
    )
    adjustments: Adjustments | None = Field(
        None, description=f"exposure, saturation, contrast and sharpness; {_ABSENT}"
    )
    background: Background | None = Field(
        None, description=f"the colour for transparency, canvas and padding; {_ABSENT}"
    )
    padding: Padding | None = Field(
        None,
        description='room left on each side, a percentage of the output\'s height and width: "10%" for '
        f'every side or "5% 25%" (height, width), each at most {MAX_PADDING_PERCENT}%; the image shrinks '
        f"into the room, in background.color; {_ABSENT}",
    )
    privacy: Privacy | None = Field(
        None, description=f"licence plates and faces (each needs a model); {_ABSENT}"
    )
    generative: Generative | None = Field(None, description=f"style transfer (needs a model); {_ABSENT}")


def operation_rule_errors(ops: Operations) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    bg = ops.background
    if ops.generative and ops.generative.style_transfer and bg and (bg.remove or bg.blur):
        errors["operations.generative.style_transfer"] = [
            "style transfer cannot be combined with background remove or blur"
        ]
    return errors
