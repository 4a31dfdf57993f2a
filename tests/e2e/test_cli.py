"""`pixelport` (python -m pixelport_cli) against the running stack: one file, and a folder in a batch."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import ROOT, RunningStack

pytestmark = pytest.mark.e2e

BATCH_SIZE = 50


def pixelport(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXELPORT_API_URL": stack.base_url}
    env.pop("PIXELPORT_API_KEY", None)  # the stack's development key, the client's default
    return subprocess.run(
        [sys.executable, "-m", "pixelport_cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def write_png(path: Path, size: tuple[int, int], shade: int) -> None:
    out = io.BytesIO()
    Image.new("RGB", size, (shade, 255 - shade, 128)).save(out, "PNG")
    path.write_bytes(out.getvalue())


def test_edit_uploads_a_local_file_and_writes_the_result(stack: RunningStack, tmp_path: Path) -> None:
    write_png(tmp_path / "one.png", (120, 80), 10)
    target = tmp_path / "one.webp"
    done = pixelport(
        stack, "edit", str(tmp_path / "one.png"), "--format", "webp", "--quality", "60", "-o", str(target)
    )
    assert done.returncode == 0, done.stderr
    assert "120x80 PNG" in done.stdout and "120x80 WEBP" in done.stdout
    with Image.open(target) as image:
        assert (image.format, image.size) == ("WEBP", (120, 80))


def test_batch_writes_every_image_of_a_folder(stack: RunningStack, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(BATCH_SIZE):
        write_png(folder / f"image-{i:02}.png", (40 + i, 30), i * 5)
    done = pixelport(stack, "batch", str(folder), "-o", str(tmp_path / "out"), "--format", "webp", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    outputs = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in outputs] == [f"image-{i:02}.webp" for i in range(BATCH_SIZE)]
    with Image.open(outputs[-1]) as image:
        assert (image.format, image.size) == ("WEBP", (40 + BATCH_SIZE - 1, 30))


def test_batch_with_a_corrupt_file_writes_the_rest_names_it_and_exits_non_zero(
    stack: RunningStack, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(BATCH_SIZE - 1):
        write_png(folder / f"image-{i:02}.png", (32, 32), i * 5)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    done = pixelport(stack, "batch", str(folder), "-o", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(list((tmp_path / "out").iterdir())) == BATCH_SIZE - 1
    assert f"{BATCH_SIZE - 1} written" in done.stdout and "1 failed" in done.stdout
    assert "failed: corrupt.png: HTTP 400" in done.stderr
