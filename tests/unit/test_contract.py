"""The pydantic contract: defaults, short forms, limits and the 422 paths (SPEC sections 2-4)."""

from __future__ import annotations

from typing import Any

import pytest

from pixelport.contract import parse_edit_request
from pixelport.contract.output import AvifLossy, CmykColorSpace, Lossless, TiffLossy, WebpLossy
from pixelport.errors import ValidationFailed

URL = "https://images.example.com/photos/burger.jpg"


def parse(**fields: Any) -> Any:
    return parse_edit_request({"input": URL, "operations": {}, **fields})


def refusal(body: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_edit_request(body)
    assert caught.value.status == 422
    assert caught.value.envelope()["error_code"] == "9000"
    return caught.value.details


def test_output_omitted_means_temporary_bucket_and_jpeg_85_progressive() -> None:
    out = parse().output
    assert out.destination is None
    assert out.format.model_dump() == {"type": "jpeg", "quality": 85, "progressive": True}
    assert out.metadata.dpi is None and out.metadata.color_space is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("png", {"type": "png", "compression": "optimal"}),
        ("webp", {"type": "webp", "compression": {"type": "lossy", "quality": 75}}),
        ("avif", {"type": "avif", "compression": {"type": "lossy", "quality": 50}}),
        ("tiff", {"type": "tiff", "compression": {"type": "lossless"}}),
        (
            {"type": "tiff", "compression": "lossy"},
            {"type": "tiff", "compression": {"type": "lossy", "quality": 75}},
        ),
        ({"type": "webp", "compression": "lossless"}, {"type": "webp", "compression": {"type": "lossless"}}),
        (
            {"type": "avif", "compression": {"type": "lossy"}},
            {"type": "avif", "compression": {"type": "lossy", "quality": 50}},
        ),
        ({"type": "jpeg", "progressive": False}, {"type": "jpeg", "quality": 85, "progressive": False}),
    ],
)
def test_format_short_and_object_forms_get_the_published_defaults(
    given: Any, expected: dict[str, Any]
) -> None:
    assert parse(output={"format": given}).output.format.model_dump() == expected


def test_compression_models_carry_their_format_defaults() -> None:
    assert (WebpLossy().quality, AvifLossy().quality, TiffLossy().quality) == (75, 50, 75)
    assert Lossless().type == "lossless"


def test_output_string_is_the_destination_and_its_extension_decides_the_format() -> None:
    out = parse(output="storage://shop/results/burger.webp").output
    assert out.destination == "storage://shop/results/burger.webp"
    assert out.format.type == "webp"


def test_folder_destination_keeps_the_default_format() -> None:
    out = parse(output={"destination": "storage://shop/results/"}).output
    assert out.destination_ref is not None and out.destination_ref.is_folder
    assert out.format.type == "jpeg"


def test_conflicting_format_and_extension_is_422_on_the_destination() -> None:
    details = refusal(
        {"input": URL, "operations": {}, "output": {"destination": "storage://s/a.png", "format": "jpeg"}}
    )
    assert list(details) == ["output.destination"]
    assert "conflicts with format 'jpeg'" in details["output.destination"][0]


def test_destination_naming_an_unwritable_image_format_is_422() -> None:
    details = refusal({"input": URL, "operations": {}, "output": "storage://s/out/a.gif"})
    assert "does not write" in details["output.destination"][0]


def test_destination_must_be_a_storage_reference() -> None:
    details = refusal({"input": URL, "operations": {}, "output": "https://example.com/out.jpg"})
    assert "storage://" in details["output.destination"][0]


@pytest.mark.parametrize(
    "destination",
    [
        "storage://s/../etc/a.jpg",
        "storage://s/a//b.jpg",
        "storage://s/a\\b.jpg",
        "storage://s/%2e%2e/a.jpg",
        "storage:///a.jpg",
    ],
)
def test_storage_paths_that_could_escape_are_422(destination: str) -> None:
    details = refusal({"input": URL, "operations": {}, "output": destination})
    assert "output.destination" in details


def test_cmyk_defaults_to_iso_coated() -> None:
    space = parse(output={"metadata": {"color_space": "CMYK"}}).output.metadata.color_space
    assert isinstance(space, CmykColorSpace) and space.color_profile == "ISO_Coated"


@pytest.mark.parametrize("fmt", ["png", "webp", "avif", "tiff"])
def test_cmyk_with_a_format_other_than_jpeg_is_422_on_color_space(fmt: str) -> None:
    details = refusal(
        {"input": URL, "operations": {}, "output": {"format": fmt, "metadata": {"color_space": "CMYK"}}}
    )
    assert details == {"output.metadata.color_space": [f"CMYK is only supported with jpeg output, not {fmt}"]}


@pytest.mark.parametrize(
    ("output", "path", "message"),
    [
        (
            {"format": {"type": "jpeg", "quality": 101}},
            "output.format.quality",
            "ensure this value is less than or equal to 100",
        ),
        (
            {"format": {"type": "jpeg", "quality": 0}},
            "output.format.quality",
            "ensure this value is greater than or equal to 1",
        ),
        (
            {"format": {"type": "webp", "compression": {"type": "lossy", "quality": 101}}},
            "output.format.compression.quality",
            "ensure this value is less than or equal to 100",
        ),
        (
            {"format": {"type": "png", "compression": "max"}},
            "output.format.compression",
            "unexpected value; permitted: 'fast', 'optimal' or 'best'",
        ),
        (
            {"format": "gif"},
            "output.format",
            "value is not a valid choice; permitted: 'jpeg', 'png', 'webp', 'avif', 'tiff'",
        ),
        (
            {"format": {"type": "avif", "compression": "zip"}},
            "output.format.compression",
            "value is not a valid choice; permitted: 'lossy', 'lossless'",
        ),
        ({"metadata": {"dpi": 0}}, "output.metadata.dpi", "ensure this value is greater than or equal to 1"),
        (
            {"metadata": {"dpi": 10001}},
            "output.metadata.dpi",
            "ensure this value is less than or equal to 10000",
        ),
        (
            {"metadata": {"color_space": {"type": "CMYK", "color_profile": "FOGRA51"}}},
            "output.metadata.color_space.color_profile",
            "unexpected value; permitted: 'ISO_Coated', 'ISO_Uncoated', 'USWeb_Coated' or 'USWeb_Uncoated'",
        ),
        (
            {"metadata": {"color_space": "LAB"}},
            "output.metadata.color_space",
            "value is not a valid choice; permitted: 'RGB', 'CMYK'",
        ),
    ],
)
def test_out_of_range_output_options_are_422_with_the_dotted_path(
    output: Any, path: str, message: str
) -> None:
    assert refusal({"input": URL, "operations": {}, "output": output}) == {path: [message]}


def test_error_message_joins_every_reason_as_sentences() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_edit_request(
            {"input": URL, "operations": {"zoom": 1}, "output": {"format": {"type": "jpeg", "quality": 101}}}
        )
    assert caught.value.message == (
        "operations.zoom: extra fields not permitted. "
        "output.format.quality: ensure this value is less than or equal to 100."
    )


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"operations": {}}, {"input": ["field required"]}),
        ({"input": URL}, {"operations": ["field required"]}),
        ({"input": "", "operations": {}}, {"input": ["ensure this value has at least 1 characters"]}),
        ({"input": 5, "operations": {}}, {"input": ["str type expected"]}),
        ({"input": URL, "operations": None}, {"operations": ["value is not a valid dict"]}),
        (
            {"input": "images/a.jpg", "operations": {}},
            {"input": ["must be an http(s):// URL or a storage://<name>/<path> reference"]},
        ),
        (
            {"input": "https://user:pw@example.com/a.jpg", "operations": {}},
            {"input": ["credentials in the URL are not accepted"]},
        ),
        (
            {"input": "storage://shop/folder/", "operations": {}},
            {"input": ["must name a file, not a folder"]},
        ),
    ],
)
def test_input_and_operations_are_required_and_checked(
    body: dict[str, Any], details: dict[str, list[str]]
) -> None:
    assert refusal(body) == details


def test_input_of_exactly_512_characters_is_accepted() -> None:
    url = "https://x.test/" + "a" * (512 - len("https://x.test/"))
    assert parse_edit_request({"input": url, "operations": {}}).input == url


def test_null_operation_blocks_mean_absent() -> None:
    ops = parse_edit_request(
        {
            "input": URL,
            "operations": {
                k: None
                for k in (
                    "restorations",
                    "resizing",
                    "adjustments",
                    "background",
                    "padding",
                    "privacy",
                    "generative",
                )
            },
        }
    ).operations
    assert ops.model_dump() == dict.fromkeys(ops.model_dump())


@pytest.mark.parametrize(
    ("operations", "path"),
    [
        ({"resizing": {"width": "50%", "height": 100}}, "operations.resizing"),
        ({"resizing": {"width": "50%", "height": "40%"}}, "operations.resizing"),
        ({"resizing": {"width": -1}}, "operations.resizing.width"),
        ({"resizing": {"width": "wide"}}, "operations.resizing.width"),
        ({"resizing": {"fit": {"type": "crop", "crop": "left"}}}, "operations.resizing.fit.crop"),
        ({"resizing": {"fit": "stretch"}}, "operations.resizing.fit"),
        ({"padding": "60%"}, "operations.padding"),
        ({"padding": "10px"}, "operations.padding"),
        ({"adjustments": {"exposure": 101}}, "operations.adjustments.exposure"),
        ({"adjustments": {"sharpness": -1}}, "operations.adjustments.sharpness"),
        ({"background": {"color": "red"}}, "operations.background.color"),
        (
            {"background": {"remove": {"selective": {"object_to_keep": "cup"}, "category": "products"}}},
            "operations.background.remove",
        ),
        (
            {"restorations": {"upscale": {"type": "photo", "version": 4}}},
            "operations.restorations.upscale.version",
        ),
    ],
)
def test_operation_rules_are_422_with_their_path(operations: dict[str, Any], path: str) -> None:
    assert path in refusal({"input": URL, "operations": operations})


def test_valid_operations_parse_with_their_defaults() -> None:
    ops = parse_edit_request(
        {
            "input": URL,
            "operations": {
                "resizing": {"width": "50%"},
                "background": {"color": "#00ff00"},
                "padding": "5% 25%",
            },
        }
    ).operations
    assert ops.resizing is not None and ops.resizing.height == "auto" and ops.resizing.fit.type == "crop"
    assert ops.background is not None and ops.background.remove is False and ops.background.color == "#00ff00"


# --- strict types (SPEC 1: a boolean is not a number, a string is neither) -------------------------


def _nest(path: str, value: Any, around: dict[str, Any]) -> dict[str, Any]:
    """A body with `value` at the dotted `path`; `around` gives the sibling keys each object needs."""
    body: dict[str, Any] = {"input": URL, "operations": {}}
    node = body
    keys = path.split(".")
    for depth, key in enumerate(keys[:-1]):
        prefix = ".".join(keys[: depth + 1])
        node = node.setdefault(key, dict(around.get(prefix, {})))
    node[keys[-1]] = value
    return body


NUMERIC_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("output.format.quality", {"output.format": {"type": "jpeg"}}),
    (
        "output.format.compression.quality",
        {"output.format": {"type": "webp"}, "output.format.compression": {"type": "lossy"}},
    ),
    (
        "output.format.compression.quality",
        {"output.format": {"type": "avif"}, "output.format.compression": {"type": "lossy"}},
    ),
    (
        "output.format.compression.quality",
        {"output.format": {"type": "tiff"}, "output.format.compression": {"type": "lossy"}},
    ),
    ("output.metadata.dpi", {}),
    ("operations.resizing.width", {}),
    ("operations.resizing.height", {}),
    ("operations.adjustments.hdr", {}),
    ("operations.adjustments.hdr.intensity", {}),
    ("operations.adjustments.exposure", {}),
    ("operations.adjustments.saturation", {}),
    ("operations.adjustments.contrast", {}),
    ("operations.adjustments.sharpness", {}),
    (
        "operations.generative.style_transfer.depth_strength",
        {"operations.generative.style_transfer": {"style_reference_image": URL}},
    ),
    (
        "operations.generative.style_transfer.denoising_strength",
        {"operations.generative.style_transfer": {"style_reference_image": URL}},
    ),
    (
        "operations.generative.style_transfer.style_strength",
        {"operations.generative.style_transfer": {"style_reference_image": URL}},
    ),
]
BOOLEAN_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("output.format.progressive", {"output.format": {"type": "jpeg"}}),
    ("operations.restorations.polish", {}),
    ("operations.adjustments.hdr.stitching", {}),
    ("operations.background.remove", {}),
    ("operations.background.remove.clipping", {}),
    ("operations.background.blur", {}),
    ("operations.privacy.blur_car_plate", {}),
    ("operations.privacy.identity_crop", {}),
]


@pytest.mark.parametrize("value", [True, False, "300", "0.5"], ids=["true", "false", "str-int", "str-float"])
@pytest.mark.parametrize(
    ("path", "around"), NUMERIC_FIELDS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(NUMERIC_FIELDS)]
)
def test_a_boolean_or_a_string_is_not_a_number_anywhere(
    path: str, around: dict[str, Any], value: Any
) -> None:
    details = refusal(_nest(path, value, around))
    assert list(details) == [path], details


@pytest.mark.parametrize("value", ["true", "false", 1, 0], ids=["str-true", "str-false", "one", "zero"])
@pytest.mark.parametrize(("path", "around"), BOOLEAN_FIELDS, ids=[p for p, _ in BOOLEAN_FIELDS])
def test_a_string_or_a_number_is_not_a_boolean_anywhere(
    path: str, around: dict[str, Any], value: Any
) -> None:
    details = refusal(_nest(path, value, around))
    assert list(details) == [path], details


@pytest.mark.parametrize(
    ("path", "around", "value", "message"),
    [
        ("output.metadata.dpi", {}, True, "value is not a valid integer"),
        ("output.format.quality", {"output.format": {"type": "jpeg"}}, "90", "value is not a valid integer"),
        ("operations.adjustments.exposure", {}, 10.0, "value is not a valid integer"),
        (
            "operations.generative.style_transfer.style_strength",
            {"operations.generative.style_transfer": {"style_reference_image": URL}},
            "0.5",
            "value is not a valid float",
        ),
        (
            "output.format.progressive",
            {"output.format": {"type": "jpeg"}},
            "true",
            "value is not a valid boolean",
        ),
    ],
)
def test_wrong_types_are_worded_as_the_published_api_words_them(
    path: str, around: dict[str, Any], value: Any, message: str
) -> None:
    assert refusal(_nest(path, value, around)) == {path: [message]}


def test_whole_numbers_are_accepted_where_a_fraction_is_allowed() -> None:
    body = _nest(
        "operations.generative.style_transfer.style_strength",
        1,
        {"operations.generative.style_transfer": {"style_reference_image": URL}},
    )
    ops = parse_edit_request(body).operations
    assert ops.generative is not None and ops.generative.style_transfer is not None
    assert ops.generative.style_transfer.style_strength == 1.0


# --- percentages -------------------------------------------------------------------------------------

PERCENT_RANGE = "a percentage must be greater than 0% and at most 10000%"


@pytest.mark.parametrize("value", ["1000%", "10000%", "250%", "12.5%", "0.5%"])
def test_resizing_percentages_up_to_10000_are_accepted(value: str) -> None:
    ops = parse(operations={"resizing": {"width": value}}).operations
    assert ops.resizing is not None and ops.resizing.width == value


@pytest.mark.parametrize("value", ["10001%", "0%", "0.0%", "99999999999999999999%"])
def test_resizing_percentages_out_of_range_are_422_stating_the_range(value: str) -> None:
    details = refusal({"input": URL, "operations": {"resizing": {"width": value}}})
    assert details == {"operations.resizing.width": [PERCENT_RANGE]}


@pytest.mark.parametrize("value", ["60%", "100%", "1000%", "10% 75%"])
def test_padding_over_half_a_side_says_so_whatever_the_number_of_digits(value: str) -> None:
    details = refusal({"input": URL, "operations": {"padding": value}})
    assert details == {"operations.padding": ["padding cannot be more than 50% of a side"]}


# --- the source URL: one validator for the input and for every redirect (see test_url_fetch) ----------

# (URL, the message the contract and the fetcher both give). test_url_fetch redirects to each of these.
SOURCE_URL_RULES: list[tuple[str, str]] = [
    ("https://user:pw@x.test/a.png", "credentials in the URL are not accepted"),
    ("https://user@x.test/a.png", "credentials in the URL are not accepted"),
    ("https://@x.test/a.png", "credentials in the URL are not accepted"),
    ("https://x.test/a b.png", "URL must not contain spaces or control characters; percent-encode them"),
    ("https://x.test/a\tb.png", "URL must not contain spaces or control characters; percent-encode them"),
    ("https://x.test/a\x7fb.png", "URL must not contain spaces or control characters; percent-encode them"),
    ("https:///a.png", "URL needs a host"),
    ("https://x.test:99999/a.png", "URL has an invalid port"),
    ("https://x.test:port/a.png", "URL has an invalid port"),
    ("http://exa..mple.test/a.png", "URL has an invalid host name 'exa..mple.test'"),
    ("http://" + "a" * 70 + ".test/", "URL has an invalid host name '" + "a" * 70 + ".test'"),
    ("http://[fe80::1%25eth0]/a.png", "URL host must not carry an IPv6 zone id"),
    *(
        (
            f"http://{host}/a.png",
            f"URL host '{host}' is not a valid IPv4 address; "
            "write it as four decimal numbers, such as 192.0.2.1",
        )
        for host in ("2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "0x7f000001")
    ),
]


@pytest.mark.parametrize(("url", "message"), SOURCE_URL_RULES)
def test_input_url_breaking_a_rule_is_422_naming_the_rule(url: str, message: str) -> None:
    assert refusal({"input": url, "operations": {}}) == {"input": [message]}


def test_input_url_of_513_characters_is_422() -> None:
    url = "https://x.test/" + "a" * (513 - len("https://x.test/"))
    assert refusal({"input": url, "operations": {}}) == {
        "input": ["ensure this value has at most 512 characters"]
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://Bücher.test/a.png",
        "http://[2001:4860:4860::8888]:8080/a.png",
        "https://93.184.216.34/a.png",
        "https://cdn.example.com/a%20b.png?w=100%&x=ü",
    ],
)
def test_input_urls_the_fetcher_can_fetch_are_accepted(url: str) -> None:
    assert parse_edit_request({"input": url, "operations": {}}).input == url


def test_input_with_an_unpaired_surrogate_is_422_not_a_crash() -> None:
    # json.loads turns "\\ud800" into a lone surrogate, which no URL can carry.
    details = refusal({"input": "http://x.test/\ud800.png", "operations": {}})
    assert details == {"input": ["value is not valid text (it contains an unpaired surrogate)"]}
