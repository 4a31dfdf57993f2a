"""The error envelope of SPEC section 1."""

from __future__ import annotations

from pixelport.errors import (
    CATALOGUE,
    INPUT_CORRUPT,
    RATE_LIMITED,
    VALIDATION,
    PixelportError,
    ValidationFailed,
    join_messages,
    merge_details,
)


def test_envelope_has_exactly_the_four_fields_and_a_string_code() -> None:
    body = PixelportError(INPUT_CORRUPT, "input cannot be decoded").envelope()
    assert body == {
        "error_code": "4006",
        "error_type": "image",
        "error_message": "input cannot be decoded",
        "error_details": {},
    }


def test_rate_limit_errors_nest_the_envelope_under_detail() -> None:
    body = PixelportError(RATE_LIMITED, "Too Many Requests. Rate limit exceeded.").envelope()
    assert body["detail"]["error_code"] == "2001"
    assert set(body) == {"detail"}


def test_validation_failures_are_422_9000_with_joined_sentences() -> None:
    error = ValidationFailed({"a.b": ["field required"], "c": ["too big", "not even"]})
    assert (error.status, error.kind) == (422, VALIDATION)
    assert error.message == "a.b: field required. c: too big. c: not even."


def test_join_messages_of_nothing_is_empty() -> None:
    assert join_messages({}) == ""


def test_every_code_is_unique_and_every_status_is_an_error() -> None:
    codes = [kind.code for kind in CATALOGUE]
    assert len(codes) == len(set(codes))
    assert all(400 <= kind.status < 600 for kind in CATALOGUE)


def test_a_stored_error_comes_back_with_its_kind_and_details() -> None:
    original = ValidationFailed({"output.format": ["nope"]})
    again = PixelportError.from_record(original.to_record())
    assert (again.kind, again.message, again.details) == (original.kind, original.message, original.details)


def test_merged_details_keep_their_order_and_list_each_message_once_per_path() -> None:
    merged = merge_details({"a": ["x"], "b": ["y"]}, {"c": ["z"], "a": ["x", "w"]}, {})
    assert merged == {"a": ["x", "w"], "b": ["y"], "c": ["z"]}
    assert list(merged) == ["a", "b", "c"]
