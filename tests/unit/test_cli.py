"""The command-line client's own logic: the request it builds and how it waits out a rate limit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pixelport.contract.edit import UploadEdit
from pixelport_cli import client as cli
from pixelport_cli.client import Answer, ApiError, Client, multipart, output_of, parser


def test_a_429_is_retried_after_the_seconds_ratelimit_reset_names(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [Answer(429, {"ratelimit-reset": "7"}, b"{}"), Answer(200, {}, b'{"data": {}}')]
    monkeypatch.setattr(cli, "_urlopen", lambda request, timeout: answers.pop(0))
    slept: list[float] = []
    answer = Client(sleep=slept.append).send("GET", "/v1/openapi.json", None, None)
    assert (answer.status, slept) == (200, [7.0])


def test_retries_end_with_the_last_429(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_urlopen", lambda request, timeout: Answer(429, {}, b"{}"))
    slept: list[float] = []
    assert Client(retries=2, sleep=slept.append).send("GET", "/x", None, None).status == 429
    assert len(slept) == 2


def test_the_envelope_message_and_the_fields_it_names_make_the_error() -> None:
    body = {
        "error_code": "9000",
        "error_type": "validation",
        "error_message": "bad quality",
        "error_details": {"output.format.quality": ["ensure this value is less than or equal to 100"]},
    }
    error = Answer(422, {}, json.dumps(body).encode()).envelope_error()
    assert isinstance(error, ApiError)
    assert "HTTP 422: bad quality" in str(error) and "output.format.quality" in str(error)


@pytest.mark.parametrize(
    ("argv", "output"),
    [
        (
            ["--format", "webp", "--quality", "80"],
            {"format": {"type": "webp", "compression": {"type": "lossy", "quality": 80}}},
        ),
        (
            ["--format", "jpeg", "--cmyk", "ISO_Coated", "--dpi", "300", "--no-progressive"],
            {
                "format": {"type": "jpeg", "progressive": False},
                "metadata": {"dpi": 300, "color_space": {"type": "CMYK", "color_profile": "ISO_Coated"}},
            },
        ),
        (["--format", "avif", "--lossless"], {"format": {"type": "avif", "compression": "lossless"}}),
        (
            ["--format", "png", "--compression", "best", "--rgb"],
            {"format": {"type": "png", "compression": "best"}, "metadata": {"color_space": "RGB"}},
        ),
    ],
)
def test_options_become_a_valid_output(argv: list[str], output: dict[str, Any]) -> None:
    built = output_of(parser().parse_args(["edit", "in.png", *argv]))
    assert built == output
    UploadEdit.model_validate({"operations": {}, "output": built})


def test_the_upload_body_has_the_data_and_file_parts() -> None:
    body, content_type = multipart('a"b.png', b"\x89PNG", '{"operations": {}}')
    boundary = content_type.split("boundary=", 1)[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'name="data"' in body and b'name="file"; filename="a_b.png"' in body and b"\x89PNG" in body
