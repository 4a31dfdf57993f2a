"""`BatchRequest`, the body of POST /v1/image/edit/batch (SPEC 2.3): a storage folder, or a list of URLs
and storage objects, edited one by one with the same operations into one output folder."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Discriminator, Field, Tag, ValidationError, field_validator

from pixelport.contract.base import TAG, StrictModel, details_from
from pixelport.contract.limits import limits
from pixelport.contract.operations import Operations, operation_rule_errors
from pixelport.contract.output import Output, OutputOptions, output_rule_errors
from pixelport.contract.references import STORAGE_SCHEME, StorageRef, UrlRef, parse_input, parse_storage
from pixelport.errors import Details


def parse_folder(value: str) -> StorageRef:
    """A batch's folder: `storage://<name>/<folder>/` (or `storage://<name>/`, the storage's root)."""
    if not value.lower().startswith(f"{STORAGE_SCHEME}://"):
        raise ValueError("a folder to batch must be storage://<name>/<folder>/")
    ref = parse_storage(value, folder_allowed=True)
    if not ref.is_folder:
        raise ValueError("a folder to batch ends with '/': storage://<name>/<folder>/")
    return ref


class BatchFolder(StrictModel):
    source: str = Field(min_length=1, description="storage://<name>/<folder>/")
    recursive: bool = Field(False, description="also every subfolder; output keeps the relative paths")

    @field_validator("source")
    @classmethod
    def _folder(cls, value: str) -> str:
        parse_folder(value)
        return value


def _batch_item(value: str) -> str:
    parse_input(value)
    return value


# One image of a list: its problems are named by its place, input.<n>, like every other field path.
BatchItem = Annotated[str, AfterValidator(_batch_item)]


def _items_limit(schema: dict[str, Any]) -> None:
    for choice in schema.get("anyOf", []):
        if choice.get("type") == "array":
            choice.update(minItems=1, maxItems=limits().max_batch_items)


def _input_shape(value: Any) -> str | None:
    if isinstance(value, str):
        return f"{TAG}folder"
    if isinstance(value, dict | BatchFolder):
        return f"{TAG}object"
    if isinstance(value, list):
        return f"{TAG}list"
    return None


BatchInput = Annotated[
    Annotated[str, Tag(f"{TAG}folder")]
    | Annotated[BatchFolder, Tag(f"{TAG}object")]
    | Annotated[list[BatchItem], Tag(f"{TAG}list")],
    Discriminator(
        _input_shape,
        custom_error_type="invalid_batch_input",
        custom_error_message="must be a folder storage://<name>/<folder>/, {source, recursive} or a list",
    ),
]


class BatchRequest(StrictModel):
    input: BatchInput = Field(
        description="a folder storage://<name>/<folder>/ (that folder only), "
        '{"source": <folder>, "recursive": true}, or a list of http(s) URLs and storage:// objects',
        json_schema_extra=_items_limit,
    )
    operations: Operations = Field(description="what to do to every image; {} for none")
    output: Output = Field(
        OutputOptions(),
        description="a destination folder storage://<name>/<folder>/ (file names keep the inputs' "
        "names, with the output format's extension), or an object; none: the temporary bucket, JPEG",
    )

    @field_validator("input")
    @classmethod
    def _input(cls, value: str | BatchFolder | list[str]) -> str | BatchFolder | list[str]:
        if isinstance(value, str):
            parse_folder(value)
        elif isinstance(value, list):
            if not value:
                raise ValueError("ensure this value has at least 1 items")
            if len(value) > (most := limits().max_batch_items):
                raise ValueError(f"ensure this value has at most {most} items")
        return value

    @property
    def folder(self) -> tuple[StorageRef, bool] | None:
        """The folder to list and whether to descend, or None for a list."""
        if isinstance(self.input, str):
            return parse_folder(self.input), False
        if isinstance(self.input, BatchFolder):
            return parse_folder(self.input.source), self.input.recursive
        return None

    @property
    def items(self) -> list[UrlRef | StorageRef]:
        return [parse_input(item) for item in self.input] if isinstance(self.input, list) else []


@dataclass(frozen=True)
class BatchCheck:
    request: BatchRequest | None
    errors: Details
    operations: tuple[Operations, ...]
    storage_refs: dict[str, StorageRef]  # by field path


def check_batch_request(body: Any) -> BatchCheck:
    try:
        request = BatchRequest.model_validate(body)
    except ValidationError as exc:
        ops: tuple[Operations, ...] = ()
        if isinstance(body, dict):
            with suppress(ValidationError):
                ops = (Operations.model_validate(body.get("operations")),)
        return BatchCheck(None, details_from(exc), ops, {})
    errors = output_rule_errors(request.output) | operation_rule_errors(request.operations)
    destination = request.output.destination_ref
    if destination is not None and not destination.is_folder:
        errors.setdefault("output.destination", []).append(
            "a batch writes into a folder: end the destination with '/'"
        )
    refs: dict[str, StorageRef] = {}
    if (folder := request.folder) is not None:
        refs["input"] = folder[0]
    for index, item in enumerate(request.items):
        if isinstance(item, StorageRef):
            refs[f"input.{index}"] = item
    if destination is not None:
        refs["output.destination"] = destination
    return BatchCheck(None if errors else request, errors, (request.operations,), refs)
