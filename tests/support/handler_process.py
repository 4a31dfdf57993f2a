"""A handler module imported in a fresh interpreter as Lambda imports it: the template's environment
for the function (its resources named as `make run` names them, at an endpoint that answers nothing)
and its code and layers on the path."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from local.resources import LocalNames
from local.template import ROOT, FunctionSpec, Template

NOWHERE = "http://127.0.0.1:9"  # the discard port: a request sent there fails at once
# Every child's base. Tracing as it runs everywhere but on AWS (make run, the tests); on AWS Tracing:
# Active imports the X-Ray SDK in every function (README "Cold start" says what that costs).
BASE_ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def handler_environment(
    names: LocalNames, spec: FunctionSpec, endpoint: str
) -> tuple[dict[str, str], list[str]]:
    """The environment of the function `spec` (the template's, its resources named as `make run` names
    them, its services at `endpoint`) and the folders its handler is imported from."""
    resolver = names.resolver(endpoint)
    env = {k: str(resolver.resolve(v)) for k, v in spec.environment.items()}
    env.update(BASE_ENV, AWS_ENDPOINT_URL=endpoint, AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(spec.memory))
    paths = [str(spec.code_uri), *(str(names.template.layer_dir(layer)) for layer in spec.layers)]
    return env, paths


def run_handler_child(function: str, child: str, **environment: str) -> tuple[dict[str, Any], str]:
    """Runs `child`, a str.format template (`{paths!r}` is the function's code and layer folders, other
    braces doubled), with the environment of `function` ("api", "processor", ...: its folder under
    functions/), its services nowhere, and `environment`; answers the JSON object its last line
    prints, and all it printed."""
    template = Template()
    spec = next(s for s in template.functions().values() if s.code_uri == ROOT / "functions" / function)
    env, paths = handler_environment(LocalNames(template), spec, NOWHERE)
    env.update(environment)
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
