"""`pixelport`: the command-line client (console script, or `python -m pixelport_cli`).

    pixelport edit INPUT [--format webp --quality 80 --cmyk ISO_Coated --dpi 300 ...] [-o out.webp]
    pixelport batch DIR -o OUTDIR [same options] [--concurrency 4]

INPUT is an http(s) URL (sent as `input`) or a local file (sent to POST /v1/image/edit/upload as
multipart). The key and the API come from PIXELPORT_API_KEY and PIXELPORT_API_URL, by default the
`make run` stack and its public development key. A top-level package, not part of the core layer: it
needs rich (batch's progress bar, imported when `batch` runs), which no function needs, and nothing
of it ships to Lambda. It talks HTTP only and imports nothing of pixelport's.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "http://127.0.0.1:3000"
DEFAULT_API_KEY = "pixelport-local-development-key"  # make run's public development key
FORMATS = ("jpeg", "png", "webp", "avif", "tiff")
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif", "tiff": "tiff"}
CMYK_PROFILES = ("ISO_Coated", "ISO_Uncoated", "USWeb_Coated", "USWeb_Uncoated")
RETRIED_STATUSES = frozenset({429, 503})
MAX_WAIT_SECONDS = 60.0


class ApiError(Exception):
    """An answer other than 200, with the envelope's message (and the fields it names)."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None):
        fields = "; ".join(f"{path}: {' '.join(map(str, msgs))}" for path, msgs in (details or {}).items())
        super().__init__(
            f"HTTP {status}: {message}" + (f" ({fields})" if fields and fields not in message else "")
        )
        self.status = status
        self.details = details or {}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def envelope_error(self) -> ApiError:
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return ApiError(self.status, self.body[:200].decode(errors="replace").strip() or "no body")
        parsed = parsed.get("detail", parsed) if isinstance(parsed, dict) else {}
        if not isinstance(parsed, dict):
            return ApiError(self.status, str(parsed))
        details = parsed.get("error_details")
        return ApiError(
            self.status,
            str(parsed.get("error_message") or parsed.get("message") or "error"),
            details if isinstance(details, dict) else None,
        )


@dataclass
class Client:
    base_url: str = DEFAULT_API_URL
    key: str = DEFAULT_API_KEY
    timeout: float = 120.0
    retries: int = 5
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Client:
        env = os.environ if environ is None else environ
        return cls(
            base_url=(env.get("PIXELPORT_API_URL") or DEFAULT_API_URL).rstrip("/"),
            key=env.get("PIXELPORT_API_KEY") or DEFAULT_API_KEY,
        )

    def edit(self, source: str, output: dict[str, Any], operations: dict[str, Any]) -> dict[str, Any]:
        """The edit's `data` (SPEC 2.1): a URL is sent as `input`, a local file as an upload."""
        if source.startswith(("http://", "https://", "storage://")):
            body = json.dumps({"input": source, "operations": operations, "output": output}).encode()
            answer = self.send("POST", "/v1/image/edit", body, "application/json")
        else:
            path = Path(source)
            data = json.dumps({"operations": operations, "output": output})
            body, content_type = multipart(path.name, path.read_bytes(), data)
            answer = self.send("POST", "/v1/image/edit/upload", body, content_type)
        if answer.status != 200:
            raise answer.envelope_error()
        result: dict[str, Any] = json.loads(answer.body)["data"]
        return result

    def download(self, url: str) -> bytes:
        answer = self.send("GET", url, None, None, authorised=False)
        if answer.status != 200:
            raise ApiError(answer.status, f"the result could not be read from {url}")
        return answer.body

    def send(
        self,
        method: str,
        target: str,
        body: bytes | None,
        content_type: str | None,
        *,
        authorised: bool = True,
    ) -> Answer:
        """One request; a 429 (or 503) is retried after RateLimit-Reset (or Retry-After) seconds."""
        url = target if "://" in target else f"{self.base_url}{target}"
        if not url.startswith(("http://", "https://")):
            raise ApiError(0, f"not an http(s) URL: {url}")
        headers = {"Content-Type": content_type} if content_type else {}
        if authorised:
            headers["Authorization"] = f"Bearer {self.key}"
        for attempt in range(self.retries + 1):
            answer = _urlopen(
                urllib.request.Request(url, data=body, method=method, headers=headers),  # noqa: S310
                self.timeout,
            )
            if answer.status not in RETRIED_STATUSES or attempt == self.retries:
                return answer
            self.sleep(wait_seconds(answer.headers, attempt))
        raise AssertionError("unreachable")


def _urlopen(request: urllib.request.Request, timeout: float) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - http(s) only
            return Answer(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def wait_seconds(headers: dict[str, str], attempt: int) -> float:
    """RateLimit-Reset (seconds until the window resets), else Retry-After, else a doubling backoff."""
    for name in ("ratelimit-reset", "retry-after"):
        value = headers.get(name, "").strip()
        if value.isascii() and value.isdigit():
            return min(float(value), MAX_WAIT_SECONDS) or 0.5
    return min(0.5 * 2.0**attempt, MAX_WAIT_SECONDS)


def multipart(filename: str, data: bytes, edit_json: str) -> tuple[bytes, str]:
    """multipart/form-data with the upload route's two parts: `data` (JSON) and `file`."""
    boundary = f"pixelport-{uuid.uuid4().hex}"
    mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    safe_name = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="data"\r\n'
            f"Content-Type: application/json\r\n\r\n{edit_json}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
            f"Content-Type: {mime}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def output_of(args: argparse.Namespace) -> dict[str, Any]:
    """The request's `output` from the command line's options."""
    fmt: dict[str, Any] = {"type": args.format}
    if args.format == "jpeg":
        if args.quality is not None:
            fmt["quality"] = args.quality
        if args.progressive is not None:
            fmt["progressive"] = args.progressive
    elif args.format == "png":
        if args.compression is not None:
            fmt["compression"] = args.compression
    elif args.lossless:
        fmt["compression"] = "lossless"
    elif args.quality is not None:
        fmt["compression"] = {"type": "lossy", "quality": args.quality}
    metadata: dict[str, Any] = {}
    if args.dpi is not None:
        metadata["dpi"] = args.dpi
    if args.cmyk:
        metadata["color_space"] = {"type": "CMYK", "color_profile": args.cmyk}
    elif args.rgb:
        metadata["color_space"] = "RGB"
    output: dict[str, Any] = {"format": fmt}
    if metadata:
        output["metadata"] = metadata
    return output


def out_name(source: str, fmt: str) -> str:
    stem = Path(source.split("?", 1)[0].rstrip("/")).stem or "image"
    return f"{stem}.{EXTENSIONS[fmt]}"


def describe(info: dict[str, Any]) -> str:
    return f"{info.get('width')}x{info.get('height')} {info.get('format')}"


def edit_one(client: Client, source: str, target: Path, args: argparse.Namespace) -> dict[str, Any]:
    data = client.edit(source, output_of(args), json.loads(args.operations))
    tmp_url = data["output"].get("tmp_url")
    if tmp_url:
        target.write_bytes(client.download(tmp_url))
    return data


def command_edit(client: Client, args: argparse.Namespace) -> int:
    target = Path(args.output or out_name(args.input, args.format))
    try:
        data = edit_one(client, args.input, target, args)
    except (ApiError, OSError) as exc:
        print(f"pixelport: {args.input}: {exc}", file=sys.stderr)
        return 1
    where = target if data["output"].get("tmp_url") else data["output"].get("object_uri")
    print(f"{args.input} ({describe(data['input'])}) -> {where} ({describe(data['output'])})")
    return 0


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def command_batch(client: Client, args: argparse.Namespace) -> int:
    from rich.progress import Progress  # only here: the rest of the client is stdlib

    sources = sorted(p for p in Path(args.directory).iterdir() if p.is_file() and not p.name.startswith("."))
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BatchReport()
    with Progress(transient=False, disable=args.quiet) as progress:
        bar = progress.add_task(f"editing {len(sources)} images", total=len(sources))
        with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
            futures = {
                pool.submit(edit_one, client, str(p), out_dir / out_name(p.name, args.format), args): p
                for p in sources
            }
            for future in as_completed(futures):
                source = futures[future]
                try:
                    future.result()
                    report.written.append(out_dir / out_name(source.name, args.format))
                except (ApiError, OSError) as exc:
                    report.failed.append((source.name, str(exc)))
                progress.advance(bar)
    print(f"{len(report.written)} written to {out_dir}, {len(report.failed)} failed")
    for name, reason in sorted(report.failed):
        print(f"  failed: {name}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="pixelport",
        description="Edit images with the pixelport API (PIXELPORT_API_URL, PIXELPORT_API_KEY).",
    )
    commands = top.add_subparsers(dest="command", required=True)
    edit = commands.add_parser("edit", help="edit one file or URL")
    edit.add_argument("input", help="a local file (uploaded) or an http(s) URL")
    edit.add_argument("-o", "--output", help="where to write the result (default: NAME.EXT here)")
    batch = commands.add_parser("batch", help="edit every file of a folder")
    batch.add_argument("directory")
    batch.add_argument("-o", "--output", required=True, help="the folder the results are written to")
    batch.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    for sub in (edit, batch):
        sub.add_argument("--format", choices=FORMATS, default="jpeg")
        sub.add_argument("--quality", type=int, help="1-100 (jpeg, and lossy webp/avif/tiff)")
        sub.add_argument("--lossless", action="store_true", help="webp/avif/tiff: lossless")
        sub.add_argument("--compression", choices=("fast", "optimal", "best"), help="png")
        sub.add_argument("--progressive", action=argparse.BooleanOptionalAction, default=None, help="jpeg")
        sub.add_argument("--dpi", type=int)
        space = sub.add_mutually_exclusive_group()
        space.add_argument("--cmyk", choices=CMYK_PROFILES, help="CMYK with this profile (jpeg only)")
        space.add_argument("--rgb", action="store_true", help="convert to sRGB")
        sub.add_argument("--operations", default="{}", help='the operations object as JSON (default "{}")')
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        operations = json.loads(args.operations)
    except ValueError as exc:
        print(f"pixelport: --operations is not JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(operations, dict):
        print("pixelport: --operations must be a JSON object", file=sys.stderr)
        return 2
    client = Client.from_environment()
    if args.command == "edit":
        return command_edit(client, args)
    return command_batch(client, args)


if __name__ == "__main__":
    sys.exit(main())
