"""schemathesis's `st` command, with one CPython bug stepped around.

On CPython before 3.11.8 (this machine has 3.11.7), `ast.parse` can raise "SystemError: AST constructor
recursion depth mismatch" (python/cpython#106905) when Hypothesis describes a lambda deep inside
schemathesis's generators, which aborts a whole phase of an operation. The description only names
a strategy in messages, so a failed one becomes Hypothesis's own "unknown" placeholder."""

from __future__ import annotations

import sys
from typing import Any

import hypothesis.internal.lambda_sources as lambda_sources
from schemathesis.cli import schemathesis

_describe = lambda_sources._lambda_description


def _described(f: Any, *args: Any, **kwargs: Any) -> str:
    try:
        return str(_describe(f, *args, **kwargs))  # type: ignore[no-untyped-call]
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _described

if __name__ == "__main__":
    sys.exit(schemathesis())
