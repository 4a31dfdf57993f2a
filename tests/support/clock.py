"""A clock that tests move by hand; the `clock` fixture (tests/conftest.py) installs one."""

from __future__ import annotations

import time


class Clock:
    """Stands in for `pixelport.tasks.now`, so leases and deadlines pass without waiting."""

    def __init__(self) -> None:
        self.at = time.time()

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds
