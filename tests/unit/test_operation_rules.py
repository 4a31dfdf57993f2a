"""The operations this deployment does without a model (resizing, padding, adjustments, background
colour): what the contract refuses with the field named, and what the deployment now accepts."""

from __future__ import annotations

from typing import Any

import pytest

from pixelport.capabilities import NO_MODEL, unsupported
from pixelport.contract import parse_edit_request
from pixelport.editing import validate_edit
from pixelport.errors import ValidationFailed

URL = "https://images.example.com/photos/burger.jpg"
BOTH_AUTO = 'width and height cannot both be "auto"; leave both out for no resize'
SAME_PERCENT = 'a percentage on one side needs the same percentage or "auto" on the other'
EQUAL_PERCENT = "width and height percentages must be equal"
OVER_HALF = "padding cannot be more than 50% of a side"


def refusal(operations: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        validate_edit({"input": URL, "operations": operations})
    assert (caught.value.status, caught.value.kind.code) == (422, "9000")
    return caught.value.details


@pytest.mark.parametrize(
    ("operations", "details"),
    [
        ({"resizing": {"width": "50%", "height": "40%"}}, {"operations.resizing": [EQUAL_PERCENT]}),
        ({"resizing": {"width": 300, "height": "40%"}}, {"operations.resizing": [SAME_PERCENT]}),
        ({"resizing": {"width": "auto", "height": "auto"}}, {"operations.resizing": [BOTH_AUTO]}),
        ({"resizing": {"width": "auto", "fit": "bounds"}}, {"operations.resizing": [BOTH_AUTO]}),
        ({"resizing": {"height": "auto"}}, {"operations.resizing": [BOTH_AUTO]}),
        ({"padding": "51%"}, {"operations.padding": [OVER_HALF]}),
        ({"padding": "5% 50.5%"}, {"operations.padding": [OVER_HALF]}),
        ({"resizing": {"width": 0}}, {"operations.resizing.width": [
            'must be a positive integer (pixels), "auto", or a percentage such as "50%"']}),
        ({"adjustments": {"exposure": -101}}, {"operations.adjustments.exposure": [
            "ensure this value is greater than or equal to -100"]}),
        ({"adjustments": {"saturation": 101}}, {"operations.adjustments.saturation": [
            "ensure this value is less than or equal to 100"]}),
        ({"adjustments": {"contrast": -101}}, {"operations.adjustments.contrast": [
            "ensure this value is greater than or equal to -100"]}),
        ({"adjustments": {"sharpness": 101}}, {"operations.adjustments.sharpness": [
            "ensure this value is less than or equal to 100"]}),
        ({"adjustments": {"sharpness": -5}}, {"operations.adjustments.sharpness": [
            "ensure this value is greater than or equal to 0"]}),
        ({"background": {"color": "#fff"}}, {"operations.background.color": [
            'string does not match regex "^(#[0-9a-fA-F]{6}|transparent)$"']}),
    ],
)  # fmt: skip
def test_each_invalid_combination_is_422_naming_its_field(
    operations: dict[str, Any], details: dict[str, list[str]]
) -> None:
    assert refusal(operations) == details


def test_every_invalid_field_of_one_request_is_named_in_one_answer() -> None:
    details = refusal(
        {
            "resizing": {"width": "10%", "height": "20%"},
            "padding": "70%",
            "adjustments": {"contrast": 300, "hdr": 10},
        }
    )
    assert set(details) == {"operations.resizing", "operations.padding", "operations.adjustments.contrast"}


@pytest.mark.parametrize(
    "operations",
    [
        {"resizing": {}},
        {"resizing": {"fit": "canvas"}},
        {"resizing": {"width": "50%", "height": "auto"}},
        {"resizing": {"width": "50%", "height": "50%", "fit": "cover"}},
        {"resizing": {"width": 1024, "height": 1024, "fit": {"type": "crop", "crop": "smart"}}},
        {"resizing": {"height": 300, "fit": "bounds"}},
        {"padding": "50%"},
        {"padding": "5% 25%"},
        {"adjustments": {"exposure": -100, "saturation": 100, "contrast": 40, "sharpness": 100}},
        {"background": {"color": "transparent"}},
        {"background": {"color": "#A0b0C0"}},
    ],
)
def test_operations_needing_no_model_are_accepted(operations: dict[str, Any]) -> None:
    request = validate_edit({"input": URL, "operations": operations})
    assert unsupported(request.operations) == {}


@pytest.mark.parametrize(
    ("operations", "path"),
    [
        ({"adjustments": {"hdr": 100, "exposure": 10}}, "operations.adjustments.hdr"),
        ({"resizing": {"width": 100, "height": 100, "fit": {"type": "outpaint"}}}, "operations.resizing.fit"),
        (
            {"restorations": {"upscale": "photo"}, "resizing": {"width": "2%"}},
            "operations.restorations.upscale",
        ),
        ({"background": {"remove": True, "color": "#ffffff"}}, "operations.background.remove"),
    ],
)
def test_operations_needing_a_model_are_still_422_no_model(operations: dict[str, Any], path: str) -> None:
    assert refusal(operations) == {path: [NO_MODEL]}


def test_an_empty_resizing_block_means_no_resize() -> None:
    ops = parse_edit_request({"input": URL, "operations": {"resizing": {"fit": "bounds"}}}).operations
    assert ops.resizing is not None and ops.resizing.is_identity
