"""The functions' Tracer: X-Ray where traces are sent (on Lambda, unless POWERTOOLS_TRACE_DISABLED),
and otherwise a provider that does nothing, so the X-Ray SDK is not imported at all.

Powertools' Tracer imports `aws_xray_sdk.core` even when tracing is disabled, and outside Lambda that
import builds X-Ray's sampler with two botocore clients: about 0.35 s of every cold start of
`make run`, the tests and the benchmarks, for traces nobody sends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

# Powertools' own rules (Tracer._is_tracer_disabled): off when told, and off outside Lambda or under
# SAM CLI / Chalice's local emulators, where no X-Ray daemon listens.
_TRUTHY = frozenset({"1", "true", "yes", "on", "y", "t"})


def tracing_disabled(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUTHY:
        return True
    in_lambda = bool(environ.get("LAMBDA_TASK_ROOT"))
    emulated = bool(environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE"))
    return not in_lambda or emulated


class _NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class NoTracing(BaseProvider):
    """A tracing provider that records nothing (the Tracer's decorators still run, and are cheap)."""

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(
        self, name: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[BaseSegment, None]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


def new_tracer() -> Tracer:
    """The handler module's Tracer. Powertools shares one configuration between every Tracer of a
    process; the first one made decides the provider."""
    if tracing_disabled():
        return Tracer(disabled=True, provider=NoTracing())
    return Tracer()
