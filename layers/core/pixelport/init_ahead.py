"""Work a function does at init only when its init is paid ahead of any request (README "Cold start").

Under Lambda SnapStart (the template's `SnapStart` parameter) the init runs when a version is
published, and new environments are restored from a snapshot taken after it; with provisioned
concurrency it runs before the environment takes requests. Either way nobody waits for the init, so
a handler's warm-up (its clients made, its request models built, its codecs loaded) belongs there:
the first request then starts from what it would find in a warm environment. On an on-demand cold
start the init is part of what the first client waits for, so nothing is done ahead: each request
makes what it needs, as before.

Lambda names the kind of init in AWS_LAMBDA_INITIALIZATION_TYPE: on-demand, provisioned-concurrency
or snap-start. Under snap-start the warm-up is registered with the runtime's own library
(`snapshot_restore_py`, part of the Python managed runtimes), which runs it just before the snapshot;
a second hook runs after every restore.

A warm-up makes no network call: a connection in a snapshot would be stale in every environment
restored from it. It never fails the init either: a warm-up that raises is logged and the requests
do the work themselves, as on demand.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(child=True)

INIT_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"
SNAP_START = "snap-start"
PROVISIONED = "provisioned-concurrency"


def init_type() -> str:
    return os.environ.get(INIT_TYPE, "on-demand")


def prepare(warm: Callable[[], None]) -> str:
    """Run `warm` ahead of the first request where the init is paid ahead; answers the init's kind."""
    kind = init_type()
    if kind == SNAP_START:
        from snapshot_restore_py import register_after_restore, register_before_snapshot

        register_before_snapshot(_warm_up, warm)
        register_after_restore(reseed)
    elif kind == PROVISIONED:
        _warm_up(warm)
    return kind


def _warm_up(warm: Callable[[], None]) -> None:
    try:
        warm()
    except Exception:
        logger.exception("the warm-up failed: requests will make what it would have")


def reseed() -> None:
    """After a restore: every environment restored from one snapshot would draw the same numbers from
    `random` (the retries' jitter) as its siblings. Tokens and ids come from `secrets`/`uuid4`, which
    read the kernel's generator and need nothing."""
    random.seed()


def make_clients(*makers: Callable[[], object]) -> None:
    """Each client made (pixelport.aws: its service model and endpoint rules read; no request sent)."""
    for make in makers:
        make()


def build_models(models: Iterable[Any]) -> None:
    """Each pydantic model's validator built (the contract's models defer it to first use)."""
    for model in models:
        model.model_rebuild()
