"""What the Lambda Python runtime does with SnapStart's hooks (snapshot_restore_py), for the tests and
bench.cold_start: the before-snapshot hooks in reverse order of registration, the after-restore
hooks in order."""

from __future__ import annotations

import snapshot_restore_py


def take_snapshot() -> int:
    """Run the before-snapshot hooks; answers how many ran."""
    hooks = snapshot_restore_py.get_before_snapshot()
    for func, args, kwargs in reversed(hooks):
        func(*args, **kwargs)
    return len(hooks)


def restore() -> int:
    """Run the after-restore hooks; answers how many ran."""
    hooks = snapshot_restore_py.get_after_restore()
    for func, args, kwargs in hooks:
        func(*args, **kwargs)
    return len(hooks)
