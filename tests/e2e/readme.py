"""The README's marked shell examples, run as a reader would against a test stack."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.e2e.conftest import ROOT, RunningStack


def run_readme_block(
    marker: str,
    stack: RunningStack,
    cwd: Path,
    *,
    replacements: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> str:
    """Run the ```bash block after `<!-- marker -->` verbatim but for the test stack's port, the
    venv's place and `replacements`; background jobs are stopped at its end. Answers its stdout."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(rf"<!-- {re.escape(marker)} -->\n```bash\n(.*?)```", readme, re.S)
    assert block, f"README lacks the marked block <!-- {marker} -->"
    script = block.group(1).replace("127.0.0.1:3000", f"127.0.0.1:{stack.port}")
    script = script.replace(".venv/bin/", f"{ROOT}/.venv/bin/")
    for old, new in (replacements or {}).items():
        script = script.replace(old, new)
    result = subprocess.run(
        ["bash", "-c", "set -e\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
