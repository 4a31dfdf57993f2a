"""`EditRequest`, the body of POST /v1/image/edit (and /async); `UploadEdit`, the `data` part of an
upload (SPEC 2.4); and their single parse entry point."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field, JsonValue, ValidationError, field_validator

from pixelport.contract.base import StrictModel, details_from
from pixelport.contract.limits import accepted_request, limits
from pixelport.contract.operations import Operations, operation_rule_errors
from pixelport.contract.output import Output, OutputOptions, output_rule_errors, parse_destination
from pixelport.contract.references import StorageRef, UrlRef, parse_input
from pixelport.errors import Details, ValidationFailed

# The schemes parse_input takes, case-insensitive as URL schemes are (for the OpenAPI document only).
INPUT_PATTERN = "^([hH][tT][tT][pP][sS]?|[sS][tT][oO][rR][aA][gG][eE])://"

# The published Image I/O examples (README "Output options"), shown in the OpenAPI document.
EXAMPLE_INPUT = "https://example.com/photos/burger.jpg"
EXAMPLE_OUTPUTS: list[JsonValue] = [
    {
        "format": "jpeg",
        "metadata": {"dpi": 300, "color_space": {"type": "CMYK", "color_profile": "ISO_Coated"}},
    },
    {"format": {"type": "jpeg", "quality": 85, "progressive": True}},
    {"metadata": {"color_space": "RGB"}},
    {"format": {"type": "png", "compression": "best"}},
    {"format": {"type": "tiff", "compression": {"type": "lossy", "quality": 75}}, "metadata": {"dpi": 300}},
    {"format": {"type": "webp", "compression": "lossless"}},
    {"format": {"type": "avif", "compression": {"type": "lossy", "quality": 50}}},
    "storage://storage-name/result-path/image-name.jpg",
]
EDIT_EXAMPLES: list[JsonValue] = [
    {"input": EXAMPLE_INPUT, "operations": {}},
    *({"input": EXAMPLE_INPUT, "operations": {}, "output": output} for output in EXAMPLE_OUTPUTS),
]


class EditRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": EDIT_EXAMPLES})

    input: str = Field(
        min_length=1,
        description="an http(s) URL or storage://<storage-name>/<path>",
        json_schema_extra=lambda schema: schema.update(
            maxLength=limits().max_input_url_length, pattern=INPUT_PATTERN
        ),
    )
    operations: Operations = Field(description="what to do to the image; {} for none")
    output: Output = Field(
        OutputOptions(), description="a destination, or an object; none: the temporary bucket, JPEG"
    )

    @field_validator("input")
    @classmethod
    def _input_reference(cls, value: str) -> str:
        parse_input(value)
        return value

    @property
    def source(self) -> UrlRef | StorageRef:
        return parse_input(self.input)


class UploadEdit(StrictModel):
    """An upload's `data` part: an edit request without `input` (the uploaded file is the input)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {k: v for k, v in e.items() if k != "input"} for e in EDIT_EXAMPLES if isinstance(e, dict)
            ]
        }
    )

    operations: Operations = Field(description="what to do to the image; {} for none")
    output: Output = Field(
        OutputOptions(), description="a destination, or an object; none: the temporary bucket, JPEG"
    )


Edit = EditRequest | UploadEdit


@dataclass(frozen=True)
class EditCheck:
    """A body checked against the contract.

    Besides the request (None when anything is wrong) and the contract's errors, it holds the parts that
    are valid on their own, so that the deployment's own checks (operations it cannot do, storages the
    account does not have) run on them even when another part failed: SPEC 1 wants every problem of a
    request in the one 422.
    """

    request: Edit | None
    errors: Details
    operations: tuple[Operations, ...]  # the whole block, or each of its blocks that is valid alone
    storage_refs: dict[str, StorageRef]  # by field path: "input", "output.destination"


def check_edit_request(body: Any, model: type[Edit] = EditRequest) -> EditCheck:
    try:
        request: Edit = model.model_validate(body)
    except ValidationError as exc:
        raw = body if isinstance(body, dict) else {}
        return EditCheck(None, details_from(exc), _valid_blocks(raw.get("operations")), _valid_refs(raw))
    errors = output_rule_errors(request.output) | operation_rule_errors(request.operations)
    refs: dict[str, UrlRef | StorageRef | None] = {"output.destination": request.output.destination_ref}
    if isinstance(request, EditRequest):
        refs = {"input": request.source, **refs}
    return EditCheck(
        request=None if errors else request,
        errors=errors,
        operations=(request.operations,),
        storage_refs={path: ref for path, ref in refs.items() if isinstance(ref, StorageRef)},
    )


def parse_edit_request(body: Any) -> EditRequest:
    """Validate a decoded JSON body; raises `ValidationFailed` (422, code 9000) naming every bad field."""
    check = check_edit_request(body)
    if not isinstance(check.request, EditRequest):
        raise ValidationFailed(check.errors)
    return check.request


def parse_accepted_request(body: Any) -> Edit:
    """A request this service accepted earlier (a stored task) read back: an edit request, or an
    upload's `data` (which never has `input`). Configurable length limits, which a deploy may have
    lowered since, are not applied again; `ValidationFailed` now means the contract itself changed."""
    model: type[Edit] = EditRequest if isinstance(body, dict) and "input" in body else UploadEdit
    with accepted_request():
        check = check_edit_request(body, model)
    if check.request is None:
        raise ValidationFailed(check.errors)
    return check.request


def _valid_blocks(operations: Any) -> tuple[Operations, ...]:
    if not isinstance(operations, dict):
        return ()
    blocks: list[Operations] = []
    for name, value in operations.items():
        if name in Operations.model_fields:
            with suppress(ValidationError):  # already among the errors
                blocks.append(Operations.model_validate({name: value}))
    return tuple(blocks)


def _valid_refs(body: dict[str, Any]) -> dict[str, StorageRef]:
    refs: dict[str, StorageRef] = {}
    source, output = body.get("input"), body.get("output")
    if isinstance(source, str):
        with suppress(ValueError):  # already among the errors
            ref = parse_input(source)
            if isinstance(ref, StorageRef):
                refs["input"] = ref
    destination = output.get("destination") if isinstance(output, dict) else output
    if isinstance(destination, str):
        with suppress(ValueError):
            refs["output.destination"] = parse_destination(destination)
    return refs
