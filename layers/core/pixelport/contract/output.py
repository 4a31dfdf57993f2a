"""`output` of an edit request (SPEC section 3): destination, format with its options, metadata."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, Tag, field_validator

from pixelport.contract.base import StrictModel, by_type, name_to_object
from pixelport.contract.limits import limits, text_limit
from pixelport.contract.references import STORAGE_SCHEME, StorageRef, parse_storage
from pixelport.formats import OutputFormatName, is_image_extension, output_format_for_extension

Quality = Annotated[int, Field(ge=1, le=100, description="encoder quality, 1 (smallest) to 100 (best)")]


class Lossless(StrictModel):
    type: Literal["lossless"] = Field("lossless", description="every pixel kept exactly")


class WebpLossy(StrictModel):
    type: Literal["lossy"] = Field("lossy", description="smaller files; `quality` sets the trade-off")
    quality: Quality = 75


class AvifLossy(StrictModel):
    type: Literal["lossy"] = Field("lossy", description="smaller files; `quality` sets the trade-off")
    quality: Quality = 50


class TiffLossy(StrictModel):
    type: Literal["lossy"] = Field("lossy", description="smaller files; `quality` sets the trade-off")
    quality: Quality = 75


_COMPRESSIONS = "'lossy', 'lossless'"
CompressionName = Literal["lossy", "lossless"]
WebpCompression = Annotated[
    Annotated[WebpLossy, Tag("@lossy")] | Annotated[Lossless, Tag("@lossless")],
    by_type(_COMPRESSIONS),
    BeforeValidator(name_to_object, json_schema_input_type=CompressionName | WebpLossy | Lossless),
]
AvifCompression = Annotated[
    Annotated[AvifLossy, Tag("@lossy")] | Annotated[Lossless, Tag("@lossless")],
    by_type(_COMPRESSIONS),
    BeforeValidator(name_to_object, json_schema_input_type=CompressionName | AvifLossy | Lossless),
]
TiffCompression = Annotated[
    Annotated[TiffLossy, Tag("@lossy")] | Annotated[Lossless, Tag("@lossless")],
    by_type(_COMPRESSIONS),
    BeforeValidator(name_to_object, json_schema_input_type=CompressionName | TiffLossy | Lossless),
]


class JpegFormat(StrictModel):
    type: Literal["jpeg"] = Field("jpeg", description="JPEG (the only format that takes CMYK)")
    quality: Quality = 85
    progressive: bool = Field(True, description="progressive (interlaced) JPEG: a coarse picture shows first")


class PngFormat(StrictModel):
    type: Literal["png"] = Field("png", description="PNG, always lossless")
    compression: Literal["fast", "optimal", "best"] = Field(
        "optimal",
        description="how hard the encoder works: the pixels are the same, only size and time differ",
    )


class WebpFormat(StrictModel):
    type: Literal["webp"] = Field("webp", description="WebP")
    compression: WebpCompression = Field(WebpLossy(), description="'lossy' (quality 75) or 'lossless'")


class AvifFormat(StrictModel):
    type: Literal["avif"] = Field("avif", description="AVIF")
    compression: AvifCompression = Field(AvifLossy(), description="'lossy' (quality 50) or 'lossless'")


class TiffFormat(StrictModel):
    type: Literal["tiff"] = Field("tiff", description="TIFF")
    compression: TiffCompression = Field(
        Lossless(), description="'lossless' or 'lossy' (JPEG in TIFF, quality 75)"
    )


FormatOptions = Annotated[
    Annotated[JpegFormat, Tag("@jpeg")]
    | Annotated[PngFormat, Tag("@png")]
    | Annotated[WebpFormat, Tag("@webp")]
    | Annotated[AvifFormat, Tag("@avif")]
    | Annotated[TiffFormat, Tag("@tiff")],
    by_type("'jpeg', 'png', 'webp', 'avif', 'tiff'"),
    BeforeValidator(
        name_to_object,
        json_schema_input_type=OutputFormatName
        | JpegFormat
        | PngFormat
        | WebpFormat
        | AvifFormat
        | TiffFormat,
    ),
]

FORMAT_MODELS: dict[OutputFormatName, type[StrictModel]] = {
    "jpeg": JpegFormat,
    "png": PngFormat,
    "webp": WebpFormat,
    "avif": AvifFormat,
    "tiff": TiffFormat,
}

CmykProfile = Literal["ISO_Coated", "ISO_Uncoated", "USWeb_Coated", "USWeb_Uncoated"]


class RgbColorSpace(StrictModel):
    type: Literal["RGB"] = Field("RGB", description="sRGB (an input with another profile is converted)")


class CmykColorSpace(StrictModel):
    # (decided) the published description says ISO_Coated is the default; its schema says USWeb_Coated.
    type: Literal["CMYK"] = Field("CMYK", description="print CMYK with an embedded ICC profile; jpeg only")
    color_profile: CmykProfile = Field(
        "ISO_Coated", description="the press condition the colours are made for"
    )


ColorSpace = Annotated[
    Annotated[RgbColorSpace, Tag("@RGB")] | Annotated[CmykColorSpace, Tag("@CMYK")],
    by_type("'RGB', 'CMYK'"),
    BeforeValidator(
        name_to_object, json_schema_input_type=Literal["RGB", "CMYK"] | RgbColorSpace | CmykColorSpace
    ),
]


class Metadata(StrictModel):
    dpi: Annotated[int, Field(ge=1, le=10000)] | None = Field(
        None, description="dots per inch written in the file; none: the input's"
    )
    color_space: ColorSpace | None = Field(
        None, description="'RGB', 'CMYK' or an object with a CMYK profile; none: the input's colour space"
    )


def parse_destination(value: str) -> StorageRef:
    """`output.destination`: a file or folder of a storage; `ValueError` with the client's message."""
    if len(value) > (most := text_limit(limits().max_destination_length)):
        raise ValueError(f"ensure this value has at most {most} characters")
    if not value.lower().startswith(f"{STORAGE_SCHEME}://"):
        raise ValueError(
            "must be a connected storage: storage://<name>/<path>/<file> or a folder storage://<name>/<path>/"
        )
    return parse_storage(value, folder_allowed=True)


class OutputOptions(StrictModel):
    destination: str | None = Field(
        None,
        min_length=1,
        description="storage://<name>/<path>/<file> or a folder storage://<name>/<path>/; "
        "none: the temporary bucket",
        json_schema_extra=lambda schema: schema.update(maxLength=limits().max_destination_length),
    )
    format: FormatOptions | None = Field(
        None,
        description="a format name or an object with its options; none: the destination file's "
        "extension, else jpeg",
    )
    metadata: Metadata = Field(Metadata(), description="DPI and colour space of the result")

    @field_validator("destination")
    @classmethod
    def _destination_is_storage(cls, value: str | None) -> str | None:
        if value is not None:
            parse_destination(value)
        return value

    @property
    def destination_ref(self) -> StorageRef | None:
        return parse_storage(self.destination, folder_allowed=True) if self.destination else None


def _output_object(value: object) -> object:
    # The short form: output is the destination.
    return {"destination": value} if isinstance(value, str) else value


Output = Annotated[
    OutputOptions,
    BeforeValidator(
        _output_object,
        json_schema_input_type=Annotated[str, Field(description="the destination alone")] | OutputOptions,
    ),
]


def destination_extension(ref: StorageRef | None) -> str:
    if ref is None or ref.is_folder or "." not in ref.basename:
        return ""
    return ref.basename.rsplit(".", 1)[-1]


def output_rule_errors(output: OutputOptions) -> dict[str, list[str]]:
    """The rules of SPEC section 3 that tie fields together; settles `format` when it was left out."""
    errors: dict[str, list[str]] = {}
    ext = destination_extension(output.destination_ref)
    by_ext = output_format_for_extension(ext) if ext else None
    if ext and by_ext is None and is_image_extension(ext):
        errors["output.destination"] = [
            f"extension '.{ext}' names a format pixelport does not write; "
            "use .jpg, .png, .webp, .avif or .tiff"
        ]
    if output.format is None:
        output.format = FORMAT_MODELS[by_ext or "jpeg"]()  # type: ignore[assignment]
    fmt = output.format.type if output.format is not None else "jpeg"
    if by_ext is not None and by_ext != fmt:
        errors["output.destination"] = [
            f"extension '.{ext}' conflicts with format '{fmt}'; make them agree or drop one"
        ]
    space = output.metadata.color_space
    if isinstance(space, CmykColorSpace) and fmt != "jpeg":
        errors["output.metadata.color_space"] = [f"CMYK is only supported with jpeg output, not {fmt}"]
    return errors
