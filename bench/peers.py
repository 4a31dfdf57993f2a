"""The peers of `make bench-peers`: pyvips (libvips from the pyvips-binary wheel, in .venv) in process,
and thumbor (its own venv, .venv-thumbor: it needs Pillow < 13) as a server on loopback.

Settings are matched to pixelport's where the tool has them (bench/reference.py lists pixelport's):
- pyvips: `thumbnail_buffer` (shrink-on-load, libvips's `draft`), JPEG `optimize_coding` and
  `interlace` (progressive), chroma subsampled automatically below Q 90 as pixelport does; WEBP
  `effort=4` (= method 4); AVIF through libheif with `effort=2` (libvips's speed = 9 - effort, so aom
  speed 7); PNG `compression=6` (zlib level 6, like the reference) with adaptive filters.
- thumbor 7.8 (Pillow engine): AVIF codec aom at speed 7, PNG level 6 (its default), progressive JPEG,
  optimize=True (its own). Its WEBP uses Pillow's default method 4 (thumbor has no setting for it),
  which is pixelport's too.
  No result storage and no source storage (`no_storage`): every request fetches and renders again,
  as pixelport's (b) does.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.workloads import Workload

VIPS_AVIF_EFFORT = 2  # libvips: speed = 9 - effort; pixelport's aom speed is 7
VIPS_WEBP_EFFORT = 4  # = Pillow's method 4
VIPS_PNG_COMPRESSION = 6
HUGE = 10_000_000  # libvips's idiom for "no limit on this side" in thumbnail


def pyvips_render(data: bytes, workload: Workload) -> bytes:
    import pyvips  # only the pyvips peer needs it

    if workload.box is not None:
        width, height = workload.box
        image = pyvips.Image.thumbnail_buffer(data, width or HUGE, height=height or HUGE)
    else:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential")
    if workload.format == "jpeg" and image.hasalpha():
        color = workload.flatten or "#ffffff"
        image = image.flatten(background=[int(color[i : i + 2], 16) for i in (1, 3, 5)])
    options: dict[str, Any]
    if workload.format == "jpeg":
        options = {"Q": workload.quality, "optimize_coding": True, "interlace": workload.progressive}
        return bytes(image.jpegsave_buffer(**options))
    if workload.format == "webp":
        return bytes(image.webpsave_buffer(Q=workload.quality, effort=VIPS_WEBP_EFFORT))
    if workload.format == "avif":
        options = {"Q": workload.quality, "compression": "av1", "effort": VIPS_AVIF_EFFORT}
        return bytes(image.heifsave_buffer(**options))
    # filter="all": adaptive row filters as libpng (and so Pillow) choose by default; libvips's default,
    # no filter, writes a 12 MP photo half as large again (25.7 MB against 16.5 MB) in a third the time.
    return bytes(image.pngsave_buffer(compression=VIPS_PNG_COMPRESSION, filter="all"))


THUMBOR_CONF = """\
ALLOW_UNSAFE_URL = True
ALLOWED_SOURCES = []
LOADER = 'thumbor.loaders.http_loader'
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
PROGRESSIVE_JPEG = True
PNG_COMPRESSION_LEVEL = 6
AVIF_CODEC = 'aom'
AVIF_SPEED = 7
RESPECT_ORIENTATION = True
MAX_PIXELS = 100e6
HTTP_LOADER_REQUEST_TIMEOUT = 120
"""


def start_thumbor(
    executable: Path, workdir: Path, port: int, timeout: float = 60.0
) -> tuple[subprocess.Popen[bytes], str]:
    """thumbor on loopback `port`, configured as above; (process, base URL) once it answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "thumbor.conf"
    conf.write_text(THUMBOR_CONF)
    log = (workdir / "thumbor.log").open("wb")
    process = subprocess.Popen(
        [
            str(executable.absolute()),
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--conf",
            str(conf),
            "-l",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"thumbor exited: {(workdir / 'thumbor.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("thumbor did not start listening")
