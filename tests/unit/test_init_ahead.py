"""A warm-up runs where the init is paid ahead (SnapStart's snapshot, provisioned concurrency) and
nowhere else (README "Cold start"). The hooks are registered with the library the Lambda runtimes
ship, and run here as the runtime runs them."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator

import pytest
import snapshot_restore_py

from pixelport import init_ahead
from tests.support.snapstart import restore, take_snapshot


@pytest.fixture(autouse=True)
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The library keeps its registries at module level: each test starts from none.
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])
    yield


def test_an_on_demand_init_warms_nothing_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(init_ahead.INIT_TYPE, raising=False)
    warmed: list[str] = []
    assert init_ahead.prepare(lambda: warmed.append("up")) == "on-demand"
    take_snapshot()
    assert warmed == []


def test_provisioned_concurrency_warms_up_during_the_init(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(init_ahead.INIT_TYPE, "provisioned-concurrency")
    warmed: list[str] = []
    init_ahead.prepare(lambda: warmed.append("up"))
    assert warmed == ["up"]
    assert snapshot_restore_py.get_before_snapshot() == []


def test_snapstart_warms_up_just_before_the_snapshot_not_during_the_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(init_ahead.INIT_TYPE, "snap-start")
    warmed: list[str] = []
    assert init_ahead.prepare(lambda: warmed.append("up")) == "snap-start"
    assert warmed == []
    take_snapshot()
    assert warmed == ["up"]


def test_environments_restored_from_one_snapshot_draw_different_random_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(init_ahead.INIT_TYPE, "snap-start")
    init_ahead.prepare(lambda: None)
    snapshot = random.getstate()
    draws = []
    for _ in range(2):  # two environments restored from the same memory
        random.setstate(snapshot)
        restore()
        draws.append([random.random() for _ in range(4)])
    assert draws[0] != draws[1]
    # Without the hook, both would have drawn the same.
    random.setstate(snapshot)
    first = random.random()
    random.setstate(snapshot)
    assert random.random() == first


def test_a_failing_warm_up_is_logged_and_leaves_the_work_to_the_requests(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("no such table")

    monkeypatch.setenv(init_ahead.INIT_TYPE, "provisioned-concurrency")
    init_ahead.prepare(broken)  # does not raise: the function still serves, as on demand
    monkeypatch.setenv(init_ahead.INIT_TYPE, "snap-start")
    init_ahead.prepare(broken)
    take_snapshot()  # a publish is not failed by it either
    failed = [r for r in caplog.records if "the warm-up failed" in r.getMessage()]
    assert len(failed) == 2
    assert all(r.exc_info and "no such table" in str(r.exc_info[1]) for r in failed)


def test_without_the_runtimes_hook_library_snapstart_warms_up_in_the_init(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A container image's runtime may lack it; the snapshot is taken after the init, so it holds the
    # warm-up all the same.
    monkeypatch.setenv(init_ahead.INIT_TYPE, "snap-start")
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails
    warmed: list[str] = []
    init_ahead.prepare(lambda: warmed.append("up"))
    assert warmed == ["up"]
