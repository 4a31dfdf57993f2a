"""`EditRequest`, the body of POST /v1/image/edit (and /async), and its single parse entry point."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator

from pixelport.contract.base import StrictModel, validation_failed
from pixelport.contract.operations import Operations, operation_rule_errors
from pixelport.contract.output import Output, OutputOptions, output_rule_errors
from pixelport.contract.references import StorageRef, UrlRef, parse_input
from pixelport.errors import ValidationFailed


class EditRequest(StrictModel):
    input: str = Field(min_length=1)
    operations: Operations
    output: Output = OutputOptions()

    @field_validator("input")
    @classmethod
    def _input_reference(cls, value: str) -> str:
        parse_input(value)
        return value

    @property
    def source(self) -> UrlRef | StorageRef:
        return parse_input(self.input)


def parse_edit_request(body: Any) -> EditRequest:
    """Validate a decoded JSON body; raises `ValidationFailed` (422, code 9000) naming every bad field."""
    try:
        request = EditRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_failed(exc) from None
    errors = output_rule_errors(request.output) | operation_rule_errors(request.operations)
    if errors:
        raise ValidationFailed(errors)
    return request
