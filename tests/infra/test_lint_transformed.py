"""The stack that deploys, linted: template.yaml through the SAM transform, then cfn-lint (0 errors,
0 warnings). The untransformed lint stays in test_template.py; this one sees what it cannot."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from local.template import ROOT

SCRIPT = ROOT / "scripts" / "lint_transformed.py"


def _lint_transformed(template: Path) -> subprocess.CompletedProcess[str]:
    # samtranslator ships with the SAM CLI: the translator `sam deploy` itself runs.
    python = ROOT / ".venv-sam" / "bin" / "python"
    assert python.exists(), "SAM CLI venv not found: `make test` installs it into .venv-sam"
    return subprocess.run(
        [str(python), str(SCRIPT), str(template)], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_the_transformed_template_lints_without_errors_or_warnings() -> None:
    result = _lint_transformed(ROOT / "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors or warnings" in result.stdout


@pytest.mark.parametrize(
    ("case", "old", "new", "finding"),
    [
        # The processor naming the bucket whose notification names the processor.
        (
            "cycle",
            "RESULTS_BUCKET: !Ref ResultsBucket",
            "RESULTS_BUCKET: !Ref ResultsBucket\n          INGEST_BUCKET: !Ref IngestBucket",
            "E3004",
        ),
        # A Lambda timeout above Lambda's 900 s.
        ("timeout", "Timeout: 300", "Timeout: 1000", "E3717"),
    ],
)
def test_a_broken_template_fails_the_transformed_lint(
    tmp_path: Path, case: str, old: str, new: str, finding: str
) -> None:
    source = (ROOT / "template.yaml").read_text()
    assert source.count(old) == 1, case
    broken = tmp_path / "template.yaml"
    broken.write_text(source.replace(old, new))
    result = _lint_transformed(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert finding in result.stdout, result.stdout
