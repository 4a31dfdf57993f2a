"""The benchmark harness (bench/harness.py) on a tiny corpus: it measures (a) the pipeline and (c) the
bare-Pillow reference per workload and reports what it measured. No time is asserted."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bench import corpus, harness
from bench.workloads import workloads
from pixelport.contract import parse_edit_request

SCALE = 0.05  # 200x150 and 300x200 mosaics, an 80x60 RGBA PNG
ROUNDS = 2
PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> corpus.Corpus:
    return corpus.build(tmp_path_factory.mktemp("corpus"), scale=SCALE)


@pytest.fixture(scope="module")
def measured(tiny: corpus.Corpus) -> list[harness.Measurement]:
    return harness.run(tiny, workloads(SCALE), ROUNDS, [harness.PILLOW, harness.PIPELINE])


def test_corpus_is_the_same_bytes_every_time_it_is_built(tiny: corpus.Corpus, tmp_path: Path) -> None:
    again = corpus.build(tmp_path, scale=SCALE)
    for name in corpus.SIZES:
        assert again.path(name).read_bytes() == tiny.path(name).read_bytes(), name


def test_corpus_files_have_their_sizes_and_the_png_a_soft_alpha_edge(tiny: corpus.Corpus) -> None:
    for name in corpus.SIZES:
        with Image.open(tiny.path(name)) as image:
            assert image.size == tiny.size(name)
            assert image.mode == ("RGBA" if name == corpus.ALPHA_PNG else "RGB")
    with Image.open(tiny.path(corpus.ALPHA_PNG)) as image:
        alpha = image.getchannel("A")
        w, h = image.size
        assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((w // 2, h // 2)) == 255
        assert sum(1 for count in alpha.histogram() if count) > 10  # a gradual edge, not a hard cut-out


def test_every_workload_body_is_a_valid_edit_request() -> None:
    for workload in workloads():
        request = parse_edit_request(workload.body("https://bench.example/" + workload.source))
        assert request.output.format is not None and request.output.format.type == workload.format


def test_thumbor_url_of_w1_fits_in_with_quality_and_format() -> None:
    w1 = workloads()[0]
    assert w1.thumbor_path("http://127.0.0.1:8000/photo-12mp.jpg") == (
        "/unsafe/fit-in/1024x1024/filters:quality(85):format(jpeg)/http%3A//127.0.0.1%3A8000/photo-12mp.jpg"
    )


def test_harness_measures_every_workload_with_pipeline_and_reference(
    measured: list[harness.Measurement],
) -> None:
    pairs = sorted((m.impl, m.workload) for m in measured)
    names = [w.name for w in workloads(SCALE)]
    assert pairs == sorted((impl, n) for impl in (harness.PILLOW, harness.PIPELINE) for n in names)
    for m in measured:
        assert len(m.seconds) == ROUNDS and all(s > 0 for s in m.seconds)
        assert 0 < m.median <= m.p90
        assert m.bytes > 0
        assert m.peak_rss is not None and m.peak_rss > 10 * 2**20  # an interpreter with Pillow loaded


def test_pipeline_outputs_decode_to_the_workloads_size_and_format(
    tiny: corpus.Corpus, measured: list[harness.Measurement]
) -> None:
    for workload in workloads(SCALE):
        out = tiny.directory / "out" / f"pipeline-{workload.name}.{workload.format}"
        data = out.read_bytes()
        sizes = [m.bytes for m in measured if (m.impl, m.workload) == (harness.PIPELINE, workload.name)]
        assert sizes == [len(data)]
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == PILLOW_FORMATS[workload.format], workload.name
            assert image.size == workload.output_size(tiny.size(workload.source)), workload.name
            assert image.mode == "RGB", workload.name  # W4's alpha flattened; no other input has alpha


def test_tables_have_a_row_per_workload_and_ratios_against_the_reference(
    measured: list[harness.Measurement],
) -> None:
    text = harness.tables(workloads(SCALE), measured, ROUNDS)
    for workload in workloads(SCALE):
        rows = [line for line in text.splitlines() if line.startswith(f"| {workload.name}")]
        assert len(rows) == 4, workload.name  # time, peak RSS, output bytes, Lambda sizing
        assert rows[0].count("x |") == 1  # (a)'s ratio to (c); (c) has none
    assert "(c) bare Pillow" in text and "(a) pipeline in-process" in text


def test_peak_rss_is_the_childs_own_not_the_harness_process_size(tiny: corpus.Corpus) -> None:
    ballast = b"\x01" * (300 * 2**20)  # the harness process holds 300 MB while the child runs
    m = harness.measure_in_process(harness.PILLOW, workloads(SCALE)[3], tiny, rounds=1)
    assert len(ballast) and m.peak_rss is not None
    assert m.peak_rss < 200 * 2**20  # ru_maxrss would report more than 300 MB here


def test_the_reference_encodes_with_pixelports_encoder_settings() -> None:
    from bench import reference
    from pixelport.imaging import encode

    assert reference.WEBP_METHOD == encode.WEBP_LOSSY_METHOD
    assert reference.AVIF_SPEED == encode.AVIF_SPEED
    assert reference.FULL_CHROMA_QUALITY == encode.FULL_CHROMA_QUALITY


def test_compared_implementations_take_turns_round_by_round_in_alternating_order() -> None:
    calls: list[str] = []

    def once(name: str) -> bytes:
        calls.append(name)
        return name.encode() * 2

    (w1,) = [w for w in workloads(SCALE) if w.name == "W1"]
    found = harness.interleaved_rounds(w1, {"b": lambda: once("b"), "t": lambda: once("t")}, rounds=3)
    assert calls == ["b", "t", "b", "t", "t", "b", "b", "t"]  # warm-ups, then b t, t b, b t
    assert [(m.impl, m.workload, len(m.seconds), m.bytes) for m in found] == [
        ("b", "W1", 3, 2),
        ("t", "W1", 3, 2),
    ]
