"""schemathesis over every route of the served OpenAPI document, with the local key.

Checks: no 5xx, every status and content type documented, every body as its schema says, no answer
slower than the deadline. Not `positive_data_acceptance`: the document's strings (an input URL, a
storage path) admit values the API rightly refuses (a private address, a path that escapes)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fuzz.envelope import envelope_problem

ROOT = Path(__file__).resolve().parents[1]

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@dataclass
class ContractFigures:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # checks that failed: pixelport's bugs
    tool_errors: list[str] = field(default_factory=list)  # schemathesis could not generate a case
    envelope_problems: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.envelope_problems and self.server_errors == 0


def run_schemathesis(
    base_url: str, key: str, *, max_examples: int, seed: int, max_seconds: float, report_dir: Path
) -> ContractFigures:
    report_dir.mkdir(parents=True, exist_ok=True)
    har, report = report_dir / "schemathesis.har.json", report_dir / "schemathesis.json"
    command = [
        sys.executable,
        "-m",
        "fuzz.schemathesis_cli",
        "run",
        f"{base_url}/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        CHECKS,
        "--max-response-time",
        str(max_seconds),
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "2",
        "--report",
        "har,json",
        "--report-har-path",
        str(har),
        "--report-json-path",
        str(report),
        "--output-truncate",
        "true",
    ]
    subprocess.run(command, check=False, cwd=ROOT)  # its own output is the readable log; the reports decide
    return read_reports(har, report, base_url)


def read_reports(har: Path, report: Path, base_url: str) -> ContractFigures:
    figures = ContractFigures()
    origin = urlsplit(base_url).netloc
    for entry in json.loads(har.read_text())["log"]["entries"]:
        request, response = entry["request"], entry["response"]
        if urlsplit(request["url"]).netloc != origin:
            continue
        figures.requests += 1
        status = int(response["status"])
        figures.statuses[status] += 1
        body = str(response.get("content", {}).get("text") or "").encode()
        problem = envelope_problem(status, body)
        if problem and status < 500:  # 5xx already count as server errors
            figures.envelope_problems.append(f"{request['method']} {request['url']}: {problem}")
    summary: dict[str, Any] = json.loads(report.read_text())
    figures.failures = [describe(failure) for failure in summary.get("failures", [])]
    figures.tool_errors = [describe(error) for error in summary.get("errors", [])]
    return figures


def describe(item: Any) -> str:
    text = json.dumps(item) if not isinstance(item, str) else item
    return text[:400]
