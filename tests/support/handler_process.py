"""A handler module imported in a fresh interpreter as Lambda imports it: the template's environment
for the function (its resources named as `make run` names them, at an endpoint that answers nothing)
and its code and layers on the path."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from local.resources import LocalNames
from local.template import ROOT, Template

NOWHERE = "http://127.0.0.1:9"  # the discard port: a request sent there fails at once


def run_handler_child(function: str, child: str, **environment: str) -> tuple[dict[str, Any], str]:
    """Runs `child`, a str.format template (`{paths!r}` is the function's code and layer folders, other
    braces doubled), with the environment of `function` ("api", "processor", ...: its folder under
    functions/) and `environment`; answers the JSON object its last line prints, and all it printed."""
    template = Template()
    spec = next(s for s in template.functions().values() if s.code_uri == ROOT / "functions" / function)
    resolver = LocalNames(template).resolver(NOWHERE)
    env = {k: str(resolver.resolve(v)) for k, v in spec.environment.items()}
    env.update(
        PATH="/usr/bin:/bin",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=NOWHERE,
        POWERTOOLS_TRACE_DISABLED="true",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory),
    )
    env.update(environment)
    paths = [str(spec.code_uri), *(str(template.layer_dir(layer)) for layer in spec.layers)]
    done = subprocess.run(
        [sys.executable, "-c", child.format(paths=paths)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr
