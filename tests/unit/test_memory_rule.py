"""The processor's memory rule (imaging/memory.py): a job whose estimated peak exceeds the function's
memory is refused before a pixel is decoded (413, code 4134), and the estimate covers every peak
bench/memory.py measured (the README's table), so an admitted input is not killed for memory."""

from __future__ import annotations

import re
import zlib

import pytest
from PIL import ImageFile

from local.template import ROOT, Template
from pixelport.contract import parse_edit_request
from pixelport.errors import INPUT_NEEDS_TOO_MUCH_MEMORY, PixelportError
from pixelport.imaging.memory import (
    MEMORY_VARIABLE,
    Job,
    admit,
    estimated_peak_mb,
    function_memory_mb,
    largest_megapixels,
)
from pixelport.imaging.pipeline import render
from tests.support.images import flat_png


def _png_header_only(width: int, height: int, bits: int, alpha: bool) -> bytes:
    """A PNG whose header declares width x height but whose data holds one row: decoding it fails."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([bits, 6 if alpha else 2, 0, 0, 0])
    row = bytes(1 + width * (4 if alpha else 3) * bits // 8)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row)) + chunk(b"IEND", b"")
    )


def _request(output: object = "jpeg") -> object:
    return parse_edit_request(
        {"input": "https://example.com/a.png", "operations": {}, "output": {"format": output}}
    )


def _processor_memory() -> int:
    return Template().functions()["ProcessorFunction"].memory


def test_a_job_the_memory_cannot_hold_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _png_header_only(9000, 9000, 16, alpha=True)  # 81 MP: inside the 100 MP limit
    monkeypatch.setenv(MEMORY_VARIABLE, str(_processor_memory()))

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded before the memory rule refused the job")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(PixelportError) as refused:
        render(data, _request())  # type: ignore[arg-type]
    assert refused.value.kind is INPUT_NEEDS_TOO_MUCH_MEMORY
    assert refused.value.kind.status == 413
    assert "9000x9000" in str(refused.value) and f"{_processor_memory()} MB" in str(refused.value)


def test_an_ordinary_job_is_admitted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_VARIABLE, str(_processor_memory()))
    for output in ("jpeg", "png", "webp", "avif", "tiff"):
        assert render(flat_png((400, 300)), _request(output)).data  # type: ignore[arg-type]


def _job(pixels: int, bits: int, alpha: bool, output: str) -> Job:
    return Job(1, 1, decoded_pixels=pixels, output_pixels=pixels, bits=bits, alpha=alpha, output=output)


@pytest.mark.parametrize("output", ["jpeg", "jpeg-cmyk", "png", "webp", "avif", "tiff"])
@pytest.mark.parametrize(("bits", "alpha"), [(8, False), (8, True), (16, False), (16, True)])
def test_the_largest_admitted_job_is_the_readme_rule(bits: int, alpha: bool, output: str) -> None:
    memory = _processor_memory()
    fits = int(largest_megapixels(memory, bits, alpha, output) * 1e6)
    env = {MEMORY_VARIABLE: str(memory)}
    admit(_job(fits, bits, alpha, output), env)
    with pytest.raises(PixelportError):
        admit(_job(fits + 10_000, bits, alpha, output), env)


def test_the_output_size_counts_when_it_is_the_larger() -> None:
    small_in = Job(
        1000, 1000, decoded_pixels=10**6, output_pixels=90 * 10**6, bits=8, alpha=False, output="avif"
    )
    assert estimated_peak_mb(small_in) == estimated_peak_mb(_job(90 * 10**6, 8, False, "avif"))


def test_the_memory_variable_is_read_as_lambda_sets_it() -> None:
    assert function_memory_mb({MEMORY_VARIABLE: "3008"}) == 3008
    assert function_memory_mb({}) is None
    admit(_job(10**9, 16, True, "avif"), {})  # outside Lambda (tests, bench): no refusal


_ROW = re.compile(r"^\| (8|16)-bit (RGBA?) \| (jpeg CMYK|jpeg|png|webp|avif|tiff) \| (\d+) \|", re.M)


def test_the_estimate_covers_every_peak_the_bench_measured() -> None:
    """The README's table is bench/memory.py's output at 100 MP; each peak is under the estimate."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Memory", 1)[1].split("\n## ", 1)[0]
    side = int(re.search(r"input: (\d+)x\1 PNG", section).group(1))  # type: ignore[union-attr]
    rows = _ROW.findall(section)
    assert len(rows) == 24, rows
    for bits, kind, output, peak in rows:
        job = _job(side * side, int(bits), kind == "RGBA", output.replace("jpeg CMYK", "jpeg-cmyk"))
        assert estimated_peak_mb(job) >= int(peak), (bits, kind, output, peak)
    # ...and the README's table of the rule is what memory.py admits at the template's memory.
    memory = _processor_memory()
    assert f"{memory} MB" in section
    outputs = ["jpeg", "jpeg-cmyk", "png", "webp", "avif", "tiff"]
    rule = re.findall(r"^\| (8|16)-bit (RGBA?) \| ((?:[^|]+\|){6})$", section, re.M)
    assert len(rule) == 4, rule
    for bits, kind, cells in rule:
        for output, cell in zip(outputs, cells.split("|"), strict=False):
            fits = largest_megapixels(memory, int(bits), kind == "RGBA", output)
            expected = "100 (the limit)" if fits >= 100 else f"{fits:.0f}"
            assert cell.strip() == expected, (bits, kind, output)
