"""Properties of the contract models, for any input Hypothesis can think of: every body is either a
request or one 422 naming fields (never another exception, so never a 500); what the service accepted
reads back as the same request; no storage path leaves its storage; any multipart body is an upload or
a 4xx."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelport.contract.edit import EditRequest, parse_accepted_request, parse_edit_request
from pixelport.contract.references import StorageRef, parse_input
from pixelport.contract.storage import parse_storage_change, parse_storage_create
from pixelport.errors import PixelportError, ValidationFailed
from pixelport.uploads import read_upload

PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.sampled_from(
    [
        "input",
        "operations",
        "output",
        "resizing",
        "width",
        "height",
        "fit",
        "type",
        "format",
        "quality",
        "destination",
        "metadata",
        "dpi",
        "color_space",
        "adjustments",
        "background",
        "padding",
        "color",
        "compression",
        "name",
        "parameters",
        "bucket",
        "path",
        "credentials",
    ]
) | st.text(max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["auto", "50%", "jpeg", "webp", "lossless", "CMYK", "crop", "storage://s/a.png"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
URL = st.sampled_from(["https://img.test/a.jpg", "http://img.test/p/b.png", "storage://photos/in/c.webp"])


def edit_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Bodies shaped like edit requests, with any value in any place."""
    return st.fixed_dictionaries(
        {"input": URL | JSON, "operations": st.dictionaries(KEYS, JSON, max_size=3)},
        optional={"output": JSON, "extra": JSON},
    )


def assert_refused_by_field(error: ValidationFailed) -> None:
    assert error.status == 422 and error.kind.code == "9000"
    assert error.details, "a 422 names the fields to blame"
    assert all(isinstance(path, str) and messages for path, messages in error.details.items())
    assert all(isinstance(m, str) and m for messages in error.details.values() for m in messages)


@PROPERTIES
@given(JSON | edit_bodies())
def test_any_body_is_a_request_or_one_422_naming_fields(body: Any) -> None:
    try:
        parse_edit_request(body)
    except ValidationFailed as error:
        assert_refused_by_field(error)


def valid_requests() -> st.SearchStrategy[dict[str, Any]]:
    side = st.integers(1, 5000) | st.sampled_from(["auto"])
    resizing = st.fixed_dictionaries(
        {"width": st.integers(1, 5000), "height": side},
        optional={"fit": st.sampled_from(["crop", "cover", "bounds", "canvas"])},
    )
    adjustments = st.fixed_dictionaries(
        {},
        optional={
            "exposure": st.integers(-100, 100),
            "contrast": st.integers(-100, 100),
            "sharpness": st.integers(0, 100),
        },
    )
    fmt = st.sampled_from(["jpeg", "png", "webp", "avif", "tiff"]) | st.builds(
        lambda q, p: {"type": "jpeg", "quality": q, "progressive": p}, st.integers(1, 100), st.booleans()
    )
    output = st.fixed_dictionaries(
        {},
        optional={
            "format": fmt,
            "metadata": st.fixed_dictionaries({}, optional={"dpi": st.integers(1, 10000)}),
        },
    )
    return st.fixed_dictionaries(
        {
            "input": URL,
            "operations": st.fixed_dictionaries(
                {}, optional={"resizing": resizing, "adjustments": adjustments}
            ),
        },
        optional={"output": output},
    )


@PROPERTIES
@given(valid_requests())
def test_an_accepted_request_reads_back_as_the_same_request(body: dict[str, Any]) -> None:
    accepted = parse_edit_request(body)
    stored = accepted.model_dump(mode="json")
    again = parse_accepted_request(stored)
    assert isinstance(again, EditRequest)
    assert again == accepted
    # ...and the request as sent reads back too (the async route stores it as sent).
    assert parse_accepted_request(body) == accepted


@PROPERTIES
@given(valid_requests(), st.sampled_from(["quality", "dpi"]), st.sampled_from([True, False, "90", 90.0]))
def test_a_boolean_string_or_float_is_never_an_integer(body: dict[str, Any], field: str, value: Any) -> None:
    body = {**body, "output": {"format": {"type": "jpeg", "quality": 80}, "metadata": {"dpi": 72}}}
    if field == "quality":
        body["output"]["format"]["quality"] = value
        blamed = "output.format.quality"
    else:
        body["output"]["metadata"]["dpi"] = value
        blamed = "output.metadata.dpi"
    try:
        parse_edit_request(body)
    except ValidationFailed as error:
        assert_refused_by_field(error)
        assert blamed in error.details
    else:
        raise AssertionError(f"{value!r} was taken for {blamed}")


SEGMENTS = st.sampled_from(
    ["a", "b.png", "..", ".", "", "%2e%2e", "%2E.", "%2f", "%5c", "x%00", "%c3%a9", "%ff"]
)


@PROPERTIES
@given(st.lists(SEGMENTS, min_size=1, max_size=6), st.booleans())
def test_no_storage_reference_leaves_its_storage(segments: list[str], folder: bool) -> None:
    reference = "storage://photos/" + "/".join(segments) + ("/" if folder else "")
    try:
        ref = parse_input(reference)
    except ValueError:
        return
    assert isinstance(ref, StorageRef)
    parts = ref.path.split("/")
    assert ".." not in parts and "." not in parts
    assert "\\" not in ref.path and not ref.path.startswith("/")


@PROPERTIES
@given(JSON | st.fixed_dictionaries({"name": JSON, "type": JSON, "parameters": JSON}))
def test_any_storage_body_is_a_storage_or_one_422(body: Any) -> None:
    for parse in (parse_storage_create, lambda b: parse_storage_change(b, current_type="s3")):
        try:
            parse(body)
        except ValidationFailed as error:
            assert_refused_by_field(error)


BOUNDARY = "pp-boundary"
PART_HEADERS = st.sampled_from(
    [
        'Content-Disposition: form-data; name="file"; filename="a.png"',
        'Content-Disposition: form-data; name="data"',
        "Content-Disposition: form-data; name*=UTF-8''d%C3%A1ta",
        "Content-Type: application/json",
        "Content-Disposition: attachment",
        "X: y",
    ]
)


def multipart_bodies() -> st.SearchStrategy[bytes]:
    part = st.builds(
        lambda headers, payload: "\r\n".join(headers).encode() + b"\r\n\r\n" + payload,
        st.lists(PART_HEADERS, max_size=3),
        st.binary(max_size=64) | st.just(b'{"operations": {}}'),
    )
    return st.builds(
        lambda parts, tail: b"".join(f"--{BOUNDARY}\r\n".encode() + p + b"\r\n" for p in parts) + tail,
        st.lists(part, max_size=4),
        st.sampled_from([f"--{BOUNDARY}--\r\n".encode(), b"", b"--", f"--{BOUNDARY}".encode()]),
    )


@PROPERTIES
@given(
    multipart_bodies() | st.binary(max_size=200),
    st.sampled_from(
        [f"multipart/form-data; boundary={BOUNDARY}", "multipart/form-data", "application/json", None, ""]
    ),
)
def test_any_upload_body_is_an_upload_or_a_4xx(body: bytes, content_type: str | None) -> None:
    try:
        read_upload(body, content_type)
    except PixelportError as error:
        assert 400 <= error.status < 500, error.message
