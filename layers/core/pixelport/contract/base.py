"""Building blocks of the contract models: strict objects, `type`-tagged unions, and the 422 translation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Discriminator, ValidationError

from pixelport.errors import Details

# Union members are tagged "@<type>" so that the tags can be dropped from error paths: clients see
# "output.format.quality", never pydantic's "output.format.@jpeg.quality".
TAG = "@"


class StrictModel(BaseModel):
    """Every request object rejects unknown keys (the published API's additionalProperties: false), and
    every value must have its JSON type: `true` is not 1, `"300"` is not 300 (SPEC 1, decided)."""

    model_config = ConfigDict(extra="forbid", validate_default=True, strict=True, defer_build=True)


def _type_tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return TAG + str(getattr(value, "type", ""))
    if isinstance(value, dict):
        kind = value.get("type")
        return TAG + kind if isinstance(kind, str) else None
    return None


def by_type(choices: str) -> Discriminator:
    """Discriminate a union of objects by their `type` key; `choices` lists them for the message."""
    return Discriminator(
        _type_tag,
        custom_error_type="invalid_type_tag",
        custom_error_message=f"value is not a valid choice; permitted: {choices}",
    )


def name_to_object(value: Any) -> Any:
    """The short forms of the contract ("jpeg", "lossless", "CMYK", "crop") mean {"type": <name>}."""
    return {"type": value} if isinstance(value, str) else value


# pydantic 2 words its errors differently from the API we follow (FastAPI on pydantic 1); clients
# and their tests read these messages, so the published wording is kept.
_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda c: "field required",
    "extra_forbidden": lambda c: "extra fields not permitted",
    "less_than_equal": lambda c: f"ensure this value is less than or equal to {c['le']}",
    "greater_than_equal": lambda c: f"ensure this value is greater than or equal to {c['ge']}",
    "less_than": lambda c: f"ensure this value is less than {c['lt']}",
    "greater_than": lambda c: f"ensure this value is greater than {c['gt']}",
    "string_too_long": lambda c: f"ensure this value has at most {c['max_length']} characters",
    "string_too_short": lambda c: f"ensure this value has at least {c['min_length']} characters",
    "too_short": lambda c: f"ensure this value has at least {c['min_length']} items",
    # The strict types' wording (StrictInt, StrictFloat, StrictBool): strict models never parse strings.
    "int_type": lambda c: "value is not a valid integer",
    "float_type": lambda c: "value is not a valid float",
    "bool_type": lambda c: "value is not a valid boolean",
    "string_type": lambda c: "str type expected",
    "string_unicode": lambda c: "value is not valid text (it contains an unpaired surrogate)",
    "dict_type": lambda c: "value is not a valid dict",
    "model_type": lambda c: "value is not a valid dict",
    "model_attributes_type": lambda c: "value is not a valid dict",
    "list_type": lambda c: "value is not a valid list",
    "literal_error": lambda c: f"unexpected value; permitted: {c['expected']}",
    "string_pattern_mismatch": lambda c: f'string does not match regex "{c["pattern"]}"',
}


def dotted_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith(TAG))]
    return ".".join(parts)


def details_from(error: ValidationError, prefix: str = "") -> Details:
    details: Details = {}
    for item in error.errors(include_url=False):
        path = dotted_path(tuple(item["loc"]))
        path = ".".join(p for p in (prefix, path) if p) or "body"
        word = _MESSAGES.get(item["type"])
        if word is not None:
            message = word(item.get("ctx") or {})
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            if not message[:2].isupper():  # "URL ..." keeps its capitals
                message = message[:1].lower() + message[1:]
        if message not in details.setdefault(path, []):
            details[path].append(message)
    return details
