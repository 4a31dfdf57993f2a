"""Keeping a claimed task's lease alive while the processor works on it.

The lease is short (45 s) and renewed every 15 s, so a processor that dies (out of memory, a
runtime exit, Lambda's timeout) holds its task for at most 45 s: less than the minute Lambda waits
before its first retry, which then takes the task over instead of finding it busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from aws_lambda_powertools import Logger

from pixelport.tasks import Task, TaskStore

logger = Logger(child=True)

LEASE_SECONDS = 45.0
RENEW_EVERY_SECONDS = 15.0


class LeaseKeeper:
    """A background thread renewing the lease until the `with` block ends or the lease is lost."""

    def __init__(
        self,
        store: TaskStore,
        task: Task,
        *,
        lease_seconds: float = LEASE_SECONDS,
        every: float = RENEW_EVERY_SECONDS,
        on_renew: Callable[[], None] | None = None,
    ):
        self._on_renew = on_renew
        self._store = store
        self._task = task
        self._lease_seconds = lease_seconds
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{task.id}", daemon=True)
        self.lost = False

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                renewed = self._store.renew(self._task, lease_seconds=self._lease_seconds)
            except Exception:
                # A DynamoDB hiccup: the lease still has two periods to run; try again next period.
                logger.exception("lease renewal failed", extra={"task_id": self._task.id})
                continue
            if not renewed:
                # Taken over or ended by the sweeper: our result will be discarded at completion.
                self.lost = True
                logger.warning("lease lost", extra={"task_id": self._task.id})
                return
            if self._on_renew is not None:
                try:
                    self._on_renew()
                except Exception:
                    logger.exception("heartbeat failed", extra={"task_id": self._task.id})
