"""Python's cyclic garbage collector during a handler's init (README "Cold start").

A handler module imports this module before anything else, which pauses the collector. Importing
a handler's libraries (botocore, Powertools, pydantic, the contract) makes a few hundred thousand
objects that live as long as the environment. The collector runs every 700 net allocations, and
each full pass scanned all of them again: a fifth of the handler's import time, measured.

`resume()` is the handler module's last statement. It freezes what the import made (`gc.freeze`:
never scanned again, so the requests' collections scan only their own objects) and turns the
collector back on. The few cycles of garbage the import left are kept, about 0.4 MB. Where the init
is paid ahead of requests (a SnapStart snapshot, provisioned concurrency), init_ahead collects them
before it freezes.
"""

from __future__ import annotations

import gc

gc.disable()


def resume() -> None:
    """The end of the handler's import: what it made frozen, the collector running again."""
    gc.freeze()
    gc.enable()
