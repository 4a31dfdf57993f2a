"""Every problem of an edit request in one 422 (SPEC 1): the contract's, the operations this deployment
cannot do (capabilities) and the storages the account does not have, joined as sentences."""

from __future__ import annotations

from typing import Any

import pytest

from pixelport.capabilities import NO_MODEL
from pixelport.editing import validate_edit
from pixelport.errors import ValidationFailed

URL = "https://images.example.com/burger.jpg"
NOT_CONNECTED = "storage 'shop' is not connected to this account"


def problems(body: dict[str, Any]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        validate_edit(body)
    assert (caught.value.status, caught.value.kind.code) == (422, "9000")
    return caught.value


def test_a_contract_error_an_unsupported_operation_and_a_missing_storage_come_in_one_answer() -> None:
    error = problems(
        {
            "input": URL,
            "operations": {"adjustments": {"hdr": 10}},
            "output": {
                "destination": "storage://shop/out/burger.jpg",
                "format": {"type": "jpeg", "quality": 101},
            },
        }
    )
    assert error.details == {
        "output.format.quality": ["ensure this value is less than or equal to 100"],
        "operations.adjustments.hdr": [NO_MODEL],
        "output.destination": [NOT_CONNECTED],
    }
    assert error.message == (
        "output.format.quality: ensure this value is less than or equal to 100. "
        f"operations.adjustments.hdr: {NO_MODEL}. "
        f"output.destination: {NOT_CONNECTED}."
    )


def test_a_valid_request_lists_both_an_unsupported_operation_and_a_missing_storage() -> None:
    error = problems(
        {"input": "storage://shop/in/burger.jpg", "operations": {"privacy": {"blur_car_plate": True}}}
    )
    assert error.details == {"operations.privacy": [NO_MODEL], "input": [NOT_CONNECTED]}


def test_an_operation_block_that_is_valid_is_checked_for_support_when_another_block_is_not() -> None:
    error = problems({"input": URL, "operations": {"padding": "60%", "adjustments": {"hdr": 20}}})
    assert error.details == {
        "operations.padding": ["padding cannot be more than 50% of a side"],
        "operations.adjustments.hdr": [NO_MODEL],
    }


def test_a_storage_input_is_reported_missing_alongside_errors_elsewhere_in_the_body() -> None:
    error = problems({"input": "storage://shop/in/burger.jpg", "operations": {"zoom": 2}, "extra": 1})
    assert error.details == {
        "operations.zoom": ["extra fields not permitted"],
        "extra": ["extra fields not permitted"],
        "input": [NOT_CONNECTED],
    }


def test_a_destination_given_as_the_short_string_form_is_reported_missing_alongside_errors() -> None:
    error = problems(
        {"input": URL, "operations": {"resizing": {"width": True}}, "output": "storage://shop/out/"}
    )
    assert list(error.details) == ["operations.resizing.width", "output.destination"]


def test_a_request_without_problems_is_returned_with_its_format_settled() -> None:
    request = validate_edit({"input": URL, "operations": {}, "output": {"format": "png"}})
    assert request.output.format is not None and request.output.format.type == "png"
