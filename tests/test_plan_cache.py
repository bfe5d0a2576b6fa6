"""The release plan's disk cache: keyed by what the plan depends on, built once across
processes, never trusting a damaged file."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from pathlib import Path

import pandas as pd
import pytest

from dashboard.plan_cache import FRESH_SECONDS, KEEP, cached, plan_key, want


def _age(folder: Path, pattern: str = "*.pickle") -> None:
    """Make the files of ``folder`` older than :data:`FRESH_SECONDS` (pruning may take them),
    each keeping its order."""
    for path in folder.glob(pattern):
        mtime = path.stat().st_mtime - FRESH_SECONDS - 60
        os.utime(path, (mtime, mtime))


def _incidents(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({
        "date": pd.to_datetime(["2025-01-05"] * n),
        "type": ["victim"] * n,
        "status": ["received"] * n,
        "new_code": [f"2{i:04d}" for i in range(n)],
        "old_code": [f"1{i:04d}" for i in range(n)],
        "record_id": range(n),
    })


_COMPOSITION = pd.DataFrame({"old_code": ["10000"], "new_code": ["20000"], "split": [False]})


def test_key_follows_content_not_row_order_or_ids():
    a = _incidents()
    shuffled = a.iloc[::-1].reset_index(drop=True).assign(record_id=range(100, 106))
    assert plan_key(a, _COMPOSITION, 5) == plan_key(shuffled, _COMPOSITION, 5)
    moved = a.copy()
    moved.loc[0, "date"] = pd.Timestamp("2025-04-05")  # one record into the next quarter
    assert plan_key(moved, _COMPOSITION, 5) != plan_key(a, _COMPOSITION, 5)
    assert plan_key(a, _COMPOSITION, 10) != plan_key(a, _COMPOSITION, 5)
    assert plan_key(a.iloc[:5], _COMPOSITION, 5) != plan_key(a, _COMPOSITION, 5)
    other = _COMPOSITION.assign(split=[True])
    assert plan_key(a, other, 5) != plan_key(a, _COMPOSITION, 5)
    assert plan_key(a.iloc[:0], _COMPOSITION, 5) != plan_key(a, _COMPOSITION, 5)


def test_key_changes_with_the_suppression_code():
    a = _incidents()
    assert (plan_key(a, _COMPOSITION, 5, modules=("layers.suppression",))
            != plan_key(a, _COMPOSITION, 5, modules=("layers.suppression", "layers.counts")))



def test_key_changes_with_any_module_of_a_package(tmp_path: Path, monkeypatch):
    # the suppression rules are a package: a change in a submodule must change the key
    package = tmp_path / "rulespkg"
    package.mkdir()
    (package / "__init__.py").write_text("from rulespkg.rule import LIMIT\n")
    (package / "rule.py").write_text("LIMIT = 5\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    a = _incidents()
    before = plan_key(a, _COMPOSITION, 5, modules=("rulespkg",))
    (package / "rule.py").write_text("LIMIT = 6\n")
    assert plan_key(a, _COMPOSITION, 5, modules=("rulespkg",)) != before

def test_built_once_then_read(tmp_path: Path):
    calls = []

    def build():
        calls.append(1)
        return {"plan": len(calls)}

    assert cached(tmp_path, "k1", build) == {"plan": 1}
    assert cached(tmp_path, "k1", build) == {"plan": 1}
    assert len(calls) == 1
    assert cached(tmp_path, "k2", build) == {"plan": 2}


def test_damaged_file_is_rebuilt(tmp_path: Path):
    cached(tmp_path, "k", lambda: "good")
    (tmp_path / "release-plan-k.pickle").write_bytes(b"\x80\x05not a pickle")
    assert cached(tmp_path, "k", lambda: "rebuilt") == "rebuilt"
    assert pickle.loads((tmp_path / "release-plan-k.pickle").read_bytes()) == "rebuilt"


def test_a_failed_build_leaves_nothing(tmp_path: Path):
    def fail():
        raise RuntimeError("cannot protect")

    with pytest.raises(RuntimeError):
        cached(tmp_path, "k", fail)
    assert not list(tmp_path.glob("*.pickle")) and not list(tmp_path.glob("*.tmp*"))


def test_old_versions_are_pruned(tmp_path: Path):
    for i in range(KEEP + 3):
        cached(tmp_path, f"k{i}", lambda i=i: i)
        _age(tmp_path)
        time.sleep(0.01)
    kept = sorted(p.stem for p in tmp_path.glob("*.pickle"))
    assert len(kept) == KEEP
    assert f"release-plan-k{KEEP + 2}" in kept and "release-plan-k0" not in kept
    assert not (tmp_path / "release-plan-k0.lock").exists()  # its companions go with it


def test_a_fresh_file_is_never_pruned(tmp_path: Path):
    """Another store sharing the folder may write many plans at once: a plan younger than
    FRESH_SECONDS stays (its server may not have read it yet), whatever their count."""
    for i in range(KEEP + 3):
        cached(tmp_path, f"k{i}", lambda i=i: i)
    assert len(list(tmp_path.glob("*.pickle"))) == KEEP + 3
    _age(tmp_path)
    cached(tmp_path, "newest", lambda: "n")
    kept = {p.stem for p in tmp_path.glob("*.pickle")}
    assert len(kept) == KEEP and "release-plan-newest" in kept


def test_two_stores_sharing_a_folder_never_prune_a_wanted_plan(tmp_path: Path):
    """Store A's server wants its plan (its release worker holds the want while its records
    last); store B then writes many newer plans into the same folder: A's stays, however
    old, until A lets it go; then it is pruned like any other."""
    from dashboard.plan_cache import stored

    cached(tmp_path, "store-a", lambda: "plan of A")
    a = want(tmp_path, "release-plan-store-a")
    for i in range(KEEP + 2):  # store B's imports, each a new plan
        _age(tmp_path)
        cached(tmp_path, f"store-b{i}", lambda i=i: f"plan {i} of B")
    assert stored(tmp_path, "store-a") == "plan of A"
    b_kept = sorted(p.stem for p in tmp_path.glob("release-plan-store-b*.pickle"))
    assert b_kept == [f"release-plan-store-b{i}" for i in range(2, KEEP + 2)]  # its own KEEP newest
    twice = want(tmp_path, "release-plan-store-a")  # a second worker of A wants it too
    a.close()
    _age(tmp_path)
    cached(tmp_path, "store-b-next", lambda: "next of B")
    assert stored(tmp_path, "store-a") == "plan of A"  # still wanted by the second worker
    twice.close()
    _age(tmp_path)
    cached(tmp_path, "store-b-last", lambda: "last of B")
    assert stored(tmp_path, "store-a") is None
    assert not (tmp_path / "release-plan-store-a.want").exists()


def test_a_plan_being_built_is_not_pruned(tmp_path: Path):
    """A key whose lock is held (a process builds or rebuilds it) is not pruned under it."""
    import fcntl

    cached(tmp_path, "old", lambda: "old plan")
    with open(tmp_path / "release-plan-old.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for i in range(KEEP + 1):
            _age(tmp_path)
            cached(tmp_path, f"k{i}", lambda i=i: i)
        assert (tmp_path / "release-plan-old.pickle").exists()
    _age(tmp_path)
    cached(tmp_path, "after", lambda: "a")
    assert not (tmp_path / "release-plan-old.pickle").exists()


def _slow_build(folder: str, marks: str) -> None:
    def build():
        with open(marks, "a") as fh:
            fh.write("built\n")
        time.sleep(1.0)
        return "plan"
    assert cached(Path(folder), "shared", build) == "plan"


def test_two_processes_build_it_once(tmp_path: Path):
    marks = tmp_path / "marks.txt"
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_slow_build, args=(str(tmp_path / "cache"), str(marks)))
               for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert marks.read_text().count("built") == 1


def test_kinds_are_kept_and_pruned_apart(tmp_path: Path):
    """The forecasts share the folder: each kind keeps its own newest files, and a look
    that never builds (``stored``) finds only what is there."""
    from dashboard.plan_cache import stored

    cached(tmp_path, "p", lambda: "plan")
    for i in range(5):
        cached(tmp_path, f"f{i}", lambda i=i: i, kind="forecast", keep=3)
        _age(tmp_path)
        time.sleep(0.01)
    assert sorted(p.stem for p in tmp_path.glob("forecast-*.pickle")) == [
        "forecast-f2", "forecast-f3", "forecast-f4"]
    assert stored(tmp_path, "p") == "plan"  # the plan is not pruned by the forecasts
    assert stored(tmp_path, "f4", kind="forecast") == 4
    assert stored(tmp_path, "f0", kind="forecast") is None
    assert stored(tmp_path, "p", kind="forecast") is None
    (tmp_path / "forecast-f3.pickle").write_bytes(b"\x80\x05not a pickle")
    assert stored(tmp_path, "f3", kind="forecast") is None  # damaged: not trusted


def _hold(folder: str, started, release) -> None:
    def build():
        started.set()
        release.wait(60)
        return "built"
    cached(Path(folder), "held", build, kind="forecast")


def test_being_built_while_another_process_holds_the_key(tmp_path: Path):
    from dashboard.plan_cache import being_built

    assert not being_built(tmp_path, "held", kind="forecast")
    spawn = multiprocessing.get_context("spawn")
    started, release = spawn.Event(), spawn.Event()
    other = spawn.Process(target=_hold, args=(str(tmp_path), started, release))
    other.start()
    try:
        assert started.wait(120)
        assert being_built(tmp_path, "held", kind="forecast")
        assert not being_built(tmp_path, "other", kind="forecast")
    finally:
        release.set()
        other.join(120)
    assert other.exitcode == 0
    assert not being_built(tmp_path, "held", kind="forecast")
