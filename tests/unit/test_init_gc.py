"""Python's garbage collector is paused while a handler imports and runs again, with the import's
objects frozen, once it has (pixelport/init_gc.py; README "Cold start"); where the init is paid
ahead of requests, the warm-up's garbage is collected before the freeze (pixelport/init_ahead.py)."""

from __future__ import annotations

import ast
import gc
import weakref
from pathlib import Path

import pytest

from local.template import ROOT
from pixelport import init_ahead
from tests.support.handler_process import run_handler_child

HANDLERS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
CHILD = """
import gc, json, py_compile, sys
sys.path[:0] = {paths!r}
# Compiled first (its .pyc written), as the layers ship theirs: compiling runs before the module's
# first statement, so it is not the pause's to cover.
py_compile.compile(sys.path[0] + "/app.py", doraise=True)
gc.collect()  # every generation's count from zero
before = [g["collections"] for g in gc.get_stats()]
import app
after = [g["collections"] for g in gc.get_stats()]
print(json.dumps({{
    "collections_during_import": [b - a for a, b in zip(before, after)],
    "enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
}}))
"""


def test_there_are_six_handlers() -> None:
    assert HANDLERS == ["api", "batch", "failures", "processor", "sweeper", "webhook"]


@pytest.mark.parametrize("function", HANDLERS)
def test_a_handler_pauses_the_collector_before_its_first_import_and_resumes_it_last(function: str) -> None:
    module = ast.parse((ROOT / "functions" / function / "app.py").read_text())
    imports = [n for n in module.body if isinstance(n, ast.Import | ast.ImportFrom)]
    first = next(n for n in imports if not (isinstance(n, ast.ImportFrom) and n.module == "__future__"))
    assert isinstance(first, ast.ImportFrom) and (first.module, [a.name for a in first.names]) == (
        "pixelport",
        ["init_gc"],
    )
    assert ast.unparse(module.body[-1]) == "init_gc.resume()"


@pytest.mark.parametrize("function", HANDLERS)
def test_a_handler_imports_without_a_collection_and_leaves_the_collector_on(function: str) -> None:
    found, _ = run_handler_child(function, CHILD)
    # At most one young collection, while Python finds the pause's module; before the pause, a
    # handler's import ran about a hundred of them, eleven of the middle generation and a full one.
    young, middle, old = found["collections_during_import"]
    assert (young <= 1, middle, old) == (True, 0, 0)
    assert found["enabled"]
    assert found["frozen"] > 10_000  # the import's objects, never scanned again


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_warm_up_ahead_of_requests_collects_its_garbage_then_freezes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(init_ahead.INIT_TYPE, init_ahead.PROVISIONED)
    garbage: list[weakref.ref[Cycle]] = []

    def warm() -> None:
        garbage.append(weakref.ref(Cycle()))  # unreachable once warm() returns, but for its cycle

    was_enabled = gc.isenabled()
    gc.disable()  # as during a handler's import: only an explicit collection frees the cycle
    gc.unfreeze()  # a handler imported earlier in this process froze its heap
    try:
        init_ahead.prepare(warm)
        assert garbage[0]() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _imports_init_gc(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (
            node.module == "pixelport.init_gc"
            or (node.module == "pixelport" and any(a.name == "init_gc" for a in node.names))
        ):
            return True
        if isinstance(node, ast.Import) and any(a.name == "pixelport.init_gc" for a in node.names):
            return True
    return False


def test_the_pause_is_imported_by_handlers_only() -> None:
    # Imported anywhere else (a library module, the local stack, a bench, a test), it would pause the
    # collector of that process for good.
    folders = [
        p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "functions"
    ]
    importers = [
        str(path.relative_to(ROOT))
        for folder in folders
        for path in folder.rglob("*.py")
        if _imports_init_gc(path)
    ]
    assert importers == []
    assert all(_imports_init_gc(ROOT / "functions" / f / "app.py") for f in HANDLERS)
