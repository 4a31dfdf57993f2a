"""File names of results: SPEC section 3 (the input's name with the output format's extension)."""

from __future__ import annotations

import re

from pixelport.formats import OUTPUT_FORMATS, OutputFormatName

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DEFAULT_STEM = "image"


def stem(name: str) -> str:
    """The input name without its extension, reduced to characters safe in any URL and key."""
    base = name.rsplit("/", 1)[-1]
    base = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    safe = _UNSAFE.sub("_", base).strip("._-")
    return safe[:120] or _DEFAULT_STEM


def output_name(source_name: str, fmt: OutputFormatName) -> str:
    return f"{stem(source_name)}.{OUTPUT_FORMATS[fmt].ext}"


_UNSAFE_IN_KEY = re.compile(r"[\x00-\x1f\x7f\\/]")


def exact_output_name(source_name: str, fmt: OutputFormatName) -> str:
    """For a customer's storage (SPEC 3 folders): the input's own name, Unicode included, with the output
    format's extension; only characters no object key may hold (separators, control characters) change."""
    base = source_name.rsplit("/", 1)[-1]
    base = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    base = _UNSAFE_IN_KEY.sub("_", base)
    return f"{base or _DEFAULT_STEM}.{OUTPUT_FORMATS[fmt].ext}"
