"""A handler's warm-up, run where its init is paid ahead of any request: before a SnapStart snapshot,
or in a provisioned-concurrency init; on demand, never (README "Cold start").

Lambda names the init in AWS_LAMBDA_INITIALIZATION_TYPE. A warm-up calls no service (botocore reads
Lambda's credentials endpoint), and one that raises is logged: the requests then do its work.
"""

from __future__ import annotations

import gc
import os
import random
from collections.abc import Callable, Iterable

from aws_lambda_powertools import Logger
from pydantic import BaseModel

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
        try:
            # Shipped in Lambda's Python runtimes; runs the hooks just before the snapshot, after a restore.
            from snapshot_restore_py import register_after_restore, register_before_snapshot
        except ImportError:  # a runtime without it (a container image): the init is in the snapshot too
            logger.warning("snapshot_restore_py is missing: warming up in the init, random not reseeded")
            _warm_up(warm)
        else:
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
    collect_and_freeze()


def collect_and_freeze() -> None:
    """Ahead of requests a full collection costs nobody: the garbage of the import and the warm-up
    collected (a snapshot holds none), what is left frozen, so that the requests' collections scan
    only their own objects. Here, not in pixelport/init_gc.py: importing that pauses the collector."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def reseed() -> None:
    """After a restore: environments restored from one snapshot would draw the same numbers from
    `random` (the retries' jitter). Ids and tokens come from `secrets`/`uuid4`: the kernel's."""
    random.seed()


def build_models(models: Iterable[type[BaseModel]]) -> None:
    """Each pydantic model's validator built (the contract's models defer it to first use)."""
    for model in models:
        model.model_rebuild()
