"""Imported first by every handler module: Python's cyclic garbage collector paused while the handler
imports (it kept scanning the libraries' long-lived objects); `resume()`, the module's last statement,
freezes what the import made and turns the collector back on (README "Cold start")."""

from __future__ import annotations

import gc

gc.disable()


def resume() -> None:
    """The end of the handler's import: what it made frozen, the collector running again."""
    gc.freeze()
    gc.enable()
