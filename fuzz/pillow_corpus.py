"""Pillow's own test images (`Tests/images` of the Pillow sdist pinned for the layer) through the API.

Each file is sent twice: as a multipart upload (POST /v1/image/edit/upload) and as a URL on a loopback
server (POST /v1/image/edit), each asking for one of the output formats in turn, so every decoder and
encoder meets the truncated, malformed and hostile files Pillow keeps for its own tests."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote

from urllib3 import encode_multipart_formdata

from fuzz.envelope import envelope_problem
from tests.support.http_server import LocalHTTPServer

OUTPUT_FORMATS = ("jpeg", "png", "webp", "avif", "tiff")
IMAGES_DIR = "Tests/images/"
SLOW_SECONDS = 5.0  # printed as they come: the run's log shows which inputs cost time


@dataclass
class Sent:
    route: str
    name: str
    status: int
    seconds: float
    code: str
    problem: str | None


@dataclass
class CorpusFigures:
    files: int = 0
    sent: list[Sent] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(s.status for s in self.sent)

    @property
    def problems(self) -> list[str]:
        return [f"{s.route} {s.name}: {s.problem}" for s in self.sent if s.problem]

    def slower_than(self, seconds: float) -> list[Sent]:
        return [s for s in self.sent if s.seconds > seconds]


def pillow_test_images(cache: Path) -> list[Path]:
    """The sdist's Tests/images files, downloaded once into `cache` and extracted there."""
    pinned = version("pillow")
    target = cache / f"pillow-{pinned}-images"
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-binary", ":all:", "--no-deps", f"pillow=={pinned}", "--dest", str(cache)],
            check=True,
        )  # fmt: skip
        sdist = cache / f"pillow-{pinned}.tar.gz"
        partial = target.with_suffix(".partial")
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.isfile() and IMAGES_DIR in m.name]
            archive.extractall(partial, members=members, filter="data")
        partial.rename(target)
    return sorted(p for p in target.rglob("*") if p.is_file())


def send_corpus(base_url: str, key: str, files: list[Path], *, workers: int = 4) -> CorpusFigures:
    figures = CorpusFigures(files=len(files))
    with LocalHTTPServer() as server:
        jobs: list[Callable[[], Sent]] = []
        for index, path in enumerate(files):
            served = f"/{index}/{quote(path.name)}"
            server.add(served, body=path.read_bytes(), headers={"Content-Type": "application/octet-stream"})
            output = OUTPUT_FORMATS[index % len(OUTPUT_FORMATS)]
            jobs.append(partial(upload, base_url, key, path, output))
            url_output = OUTPUT_FORMATS[(index + 2) % len(OUTPUT_FORMATS)]
            jobs.append(partial(by_url, base_url, key, path, server.url(served), url_output))
        with ThreadPoolExecutor(workers) as pool:
            for done, sent in enumerate(pool.map(lambda job: job(), jobs), 1):
                figures.sent.append(sent)
                if sent.seconds > SLOW_SECONDS or sent.problem:
                    print(
                        f"  {sent.route} {sent.name}: {sent.status} {sent.code} in {sent.seconds:.1f} s",
                        flush=True,
                    )
                if done % 200 == 0:
                    print(f"  pillow corpus: {done}/{len(jobs)} requests", flush=True)
    return figures


def upload(base_url: str, key: str, path: Path, output: str) -> Sent:
    data = json.dumps({"operations": {}, "output": {"format": output}})
    body, content_type = encode_multipart_formdata(
        [("file", (path.name, path.read_bytes(), "application/octet-stream")), ("data", data)]
    )
    return post("upload", path.name, f"{base_url}/v1/image/edit/upload", key, body, content_type)


def by_url(base_url: str, key: str, path: Path, url: str, output: str) -> Sent:
    body = json.dumps({"input": url, "operations": {}, "output": {"format": output}}).encode()
    return post("url", path.name, f"{base_url}/v1/image/edit", key, body, "application/json")


def post(route: str, name: str, url: str, key: str, body: bytes, content_type: str) -> Sent:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {key}"}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    except OSError as error:  # no answer at all is the worst answer
        return Sent(route, name, 0, time.monotonic() - started, "", f"no answer: {error}")
    seconds = time.monotonic() - started
    code = ""
    if status >= 400:
        try:
            parsed = json.loads(answer)
            code = str((parsed.get("detail") or parsed).get("error_code", ""))
        except (ValueError, AttributeError):
            pass
    return Sent(route, name, status, seconds, code, envelope_problem(status, answer))
