"""The body of POST /v1/image/edit/upload/url (SPEC 2.4 extension): the file the client will upload
straight to S3, and `data`, the edit request without `input` (validated as an upload's `data`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, Json, field_validator

from pixelport.contract.base import StrictModel
from pixelport.contract.edit import UploadEdit
from pixelport.contract.limits import limits
from pixelport.formats import ACCEPTED_INPUT_NAMES, INPUT_FORMATS, ImageFormat


def format_of_name(name: str) -> ImageFormat | None:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return next((fmt for fmt in INPUT_FORMATS.values() if ext in fmt.extensions), None)


class UploadFile(StrictModel):
    name: str = Field(
        min_length=1,
        max_length=255,
        description="the file's name, ending with the extension of an accepted input format; it becomes "
        "the output's name",
    )
    size: int = Field(
        ge=1,
        description="the file's size in bytes",
        json_schema_extra=lambda schema: schema.update(maximum=limits().max_input_bytes),
    )

    @field_validator("name")
    @classmethod
    def _image_name(cls, value: str) -> str:
        if any(ord(c) < 0x20 or c in "/\\\x7f" for c in value):
            raise ValueError("must be a file name, without slashes or control characters")
        if format_of_name(value) is None:
            raise ValueError(f"must end with the extension of an accepted format ({ACCEPTED_INPUT_NAMES})")
        return value

    @field_validator("size")
    @classmethod
    def _within_limit(cls, value: int) -> int:
        if value > limits().max_input_bytes:
            raise ValueError(f"ensure this value is at most {limits().max_input_bytes} (bytes)")
        return value

    @property
    def format(self) -> ImageFormat:
        found = format_of_name(self.name)
        assert found is not None  # checked by the validator
        return found


class UploadSlotRequest(StrictModel):
    file: UploadFile
    data: dict[str, Any]  # an upload's `data`: checked by editing.validate_upload_data


class UploadForm(BaseModel):
    """POST /v1/image/edit/upload (SPEC 2.4), as the OpenAPI document shows it; `uploads.read_upload`
    reads the multipart body itself."""

    file: bytes = Field(description="the image; its file name becomes the output's name")
    data: Json[UploadEdit] = Field(description="the edit request without `input`, as a JSON string")


class UploadSlotBody(StrictModel):
    """POST /v1/image/edit/upload/url as the OpenAPI document shows it (`data` is checked as an upload's)."""

    file: UploadFile = Field(description="the file that will be uploaded")
    data: UploadEdit = Field(description="the edit request without `input` (the uploaded file is the input)")
