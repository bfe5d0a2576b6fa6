"""The release plan built in a process of its own (dashboard/release_worker.py): the serving
process never solves the table, roles below commander see nothing until the plan is on
disk, a failing or killed build is said (not awaited), no lock is left behind, and no
process outlives its server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import layers.suppression
from dashboard.analysis import Analyses
from dashboard.context import build_context
from dashboard.i18n import translate
from dashboard.plan_cache import being_built, elect, failure
from dashboard.release_worker import KIND, build_release
from dashboard.released import NotReady, Released, analyses_for, unavailable_text, waiting
from geo.config import Settings
from geo.units import NEW
from tests.cache import demo_data

ROOT = Path(__file__).resolve().parents[1]
#: The file whose existence lets :func:`gated` build (named in the environment, which the
#: process inherits).
GATE = "BORDERWATCH_TEST_RELEASE_GATE"
Q3 = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))


# -- what the process may run instead of build_release (module-level: sent by name) -------

def gated(incidents, registry, threshold, year):
    """The real plan, once the gate file exists."""
    gate = Path(os.environ[GATE])
    while not gate.exists():
        time.sleep(0.1)
    return build_release(incidents, registry, threshold, year)


def broken(incidents, registry, threshold, year):
    raise RuntimeError(f"cannot protect 3 small counts of {len(incidents)} records: "
                       "nothing left to hide")


def endless(incidents, registry, threshold, year):
    time.sleep(3600)


def tiny(incidents, registry, threshold, year):
    return {"plan": f"plan of {len(incidents)} records", "indicators": "indicators"}


def _never_solved(*args, **kwargs):
    raise AssertionError("the serving process solved the table itself")


def _until(condition, seconds: float = 600.0):
    """Poll ``condition`` until it is true (a deadline on a shared machine, not a timing)."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.2)
    return found


def _children() -> list:
    return [p for p in multiprocessing.active_children() if p.name == "borderwatch-release"]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: it only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _fresh(settings: Settings, folder: Path) -> Analyses:
    """A worker over ``settings``' store with its own (empty) cache folder."""
    import dataclasses

    settings = dataclasses.replace(settings, cache_dir=folder)
    an = Analyses(build_context(settings))
    an.releases.nice = 0  # a shared test machine: the process must not starve
    return an


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Settings:
    folder = tmp_path_factory.mktemp("release-worker")
    settings = Settings(data_dir=folder / "var", cache_dir=folder / "cache")
    demo_data(settings)
    return settings


@pytest.fixture(scope="module")
def built(store, tmp_path_factory):
    """A worker whose process built the demo's plan behind a gate: what a viewer got while
    the gate was shut, then the worker with its plan."""
    patch = pytest.MonkeyPatch()
    patch.setattr(layers.suppression, "release_plan", _never_solved)
    gate = tmp_path_factory.mktemp("gate") / "open"
    patch.setenv(GATE, str(gate))
    try:
        an = _fresh(store, store.cache_dir)
        an.releases.build = gated
        before = {"plan": an.release_plan(wait=1.0), "waiting": waiting(an, "viewer"),
                  "text": unavailable_text(an, "vi"), "failed": an.release_failed()}
        try:
            analyses_for(an, "viewer", wait=0.5)
        except NotReady as err:
            before["not_ready"] = err
        before["process"] = _until(_children, 300)[0].pid
        key = an.releases.key(60)  # the process holds the key's lock while it builds
        before["lock_held"] = _until(lambda: being_built(store.cache_dir, key, kind=KIND), 300)
        gate.touch()
        plan = an.release_plan(wait=900)
        yield an, plan, before
    finally:
        patch.undo()


def test_below_commander_sees_nothing_until_the_process_has_built_the_plan(built):
    an, plan, before = built
    assert before["plan"] is None and before["failed"] is None
    assert before["waiting"] and before["text"] == translate("suppress.preparing", "vi")
    assert isinstance(before["not_ready"], NotReady) and before["not_ready"].failed is None
    assert before["lock_held"]  # the process held the key's lock while it built
    assert before["process"] != os.getpid()
    # built there, read here (the table was never solved in this process)
    assert plan is not None and an.releases.built == 1 and an.release_failed() is None
    assert an.indicator_release() is not None
    assert int(plan.suppression.suppressed.sum()) > 0  # the demo has small counts to hide
    view = analyses_for(an, "viewer")
    assert isinstance(view, Released)
    full = an.layer("counts", unit_set=NEW, types=("victim",), start=Q3[0], end=Q3[1])
    shown = view.layer("counts", unit_set=NEW, types=("victim",), start=Q3[0], end=Q3[1])
    counts, released = full.frame["count"], shown.frame["count"]
    assert released.isna().any() and (released.dropna() == counts[released.notna()]).all()
    assert not ((released > 0) & (released < 5)).any()  # nothing small is left to read
    assert not waiting(an, "viewer")
    _until(lambda: not _children(), 60)  # the process ended once it had built


def test_another_worker_reads_the_plan_and_starts_no_process(built, store, monkeypatch):
    an, plan, _ = built
    monkeypatch.setattr(layers.suppression, "release_plan", _never_solved)
    other = _fresh(store, store.cache_dir)
    other.releases.build = broken  # would fail if it were run
    again = other.release_plan(wait=120)
    assert again is not None and other.releases.built == 0 and not _children()
    assert again.suppression.status.equals(plan.suppression.status)


def test_a_failing_build_is_said_and_logged_not_awaited(store, tmp_path, caplog):
    an = _fresh(store, tmp_path / "cache")
    an.releases.build = broken
    with caplog.at_level(logging.ERROR, logger="borderwatch"):
        assert an.release_plan(wait=600) is None
    reason = an.release_failed()
    assert reason == (f"RuntimeError: cannot protect 3 small counts of {len(an.ctx.incidents)}"
                      " records: nothing left to hide")
    with pytest.raises(NotReady) as raised:
        analyses_for(an, "viewer")
    assert raised.value.failed == reason
    assert unavailable_text(an, "vi") == translate("suppress.failed", "vi")
    assert not waiting(an, "viewer") and analyses_for(an, "commander") is an
    # the server's log has the process's traceback; the folder has the reason, no plan
    assert any("Traceback" in r.getMessage() and "nothing left to hide" in r.getMessage()
               for r in caplog.records)
    key = an.releases.key()
    assert failure(tmp_path / "cache", key, kind=KIND) == reason
    assert not list((tmp_path / "cache").glob("release-plan-*.pickle"))
    _until(lambda: not _children(), 60)


def test_a_killed_build_is_a_failure_and_leaves_no_lock(store, tmp_path):
    folder = tmp_path / "cache"
    an = _fresh(store, folder)
    an.releases.build = endless
    assert an.release_plan() is None
    child = _until(_children, 300)[0]
    key = an.releases.key(60)
    _until(lambda: being_built(folder, key, kind=KIND), 300)
    os.kill(child.pid, signal.SIGKILL)
    assert an.release_plan(wait=120) is None
    assert an.release_failed() == "the release process ended (exit code -9)"
    assert not being_built(folder, key, kind=KIND)  # the kernel let its locks go
    lead = elect(folder, f"{KIND}-{key}.build")
    assert lead is not None
    lead.close()
    # the next start of a server tries again, and is not blocked
    again = _fresh(store, folder)
    again.releases.build = tiny
    count = len(again.ctx.incidents)
    assert again.release_plan(wait=600) == f"plan of {count} records"
    assert again.release_failed() is None and failure(folder, key, kind=KIND) is None


def test_no_process_is_left_when_the_server_is_killed(store, tmp_path):
    """A server killed by a signal runs no exit handler: its release process notices that
    its parent is gone and leaves, and its lock goes with it."""
    folder = tmp_path / "cache"
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing, time
        from dashboard.analysis import Analyses
        from dashboard.context import build_context
        from geo.config import Settings
        from tests.test_release_worker import endless

        if __name__ == "__main__":
            settings = Settings(data_dir={str(store.data_dir)!r}, cache_dir={str(folder)!r})
            an = Analyses(build_context(settings))
            an.releases.nice = 0
            an.releases.build = endless
            an.release_plan()
            while not multiprocessing.active_children():
                time.sleep(0.1)
            print(multiprocessing.active_children()[0].pid, an.releases.key(60), flush=True)
            time.sleep(600)
    """))
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        pid, key = server.stdout.readline().split()
        child = int(pid)
        assert _alive(child)
        _until(lambda: being_built(folder, key, kind=KIND), 300)
        server.send_signal(signal.SIGKILL)
        server.wait(30)
        _until(lambda: not _alive(child), 60)
        # its lock goes with it (a loaded machine may take a moment to close a dead
        # process's files: it was seen held just after the process was gone)
        _until(lambda: not being_built(folder, key, kind=KIND), 30)
        assert elect(folder, f"{KIND}-{key}.build") is not None
    finally:
        server.kill()
        server.wait()


def test_one_worker_of_several_builds_the_others_read_its_failure(store, tmp_path):
    """A worker that finds another one's process building starts none of its own, and
    reports that build's failure when it ends (here the other worker is the test)."""
    from dashboard.plan_cache import plan_key, record_failure
    from dashboard.release_worker import CODE

    folder = tmp_path / "cache"
    second = _fresh(store, folder)
    second.releases.build = tiny  # would succeed, if it were (wrongly) run
    key = plan_key(second.ctx.incidents, second.ctx.registry.composition,
                   store.small_count, modules=CODE)
    lead = elect(folder, f"{KIND}-{key}.build")  # the other worker's build
    assert lead is not None
    assert second.release_plan(wait=2.0) is None and second.release_failed() is None
    assert second.releases.key() == key and not _children()
    record_failure(folder, key, "RuntimeError: the other worker's build failed", kind=KIND)
    lead.close()
    assert second.release_plan(wait=120) is None
    assert second.release_failed() == "RuntimeError: the other worker's build failed"
    assert second.releases.built == 0 and not _children()


def _vanishing(an, times: int):
    """Remove the plan file each of the first ``times`` times the process says it built it,
    before the worker reads it (as another store's pruning did in a shared folder)."""
    worker, build = an.releases, an.releases._build
    removed = []

    def build_then_remove(state, key, revision):
        done = build(state, key, revision)
        if done and len(removed) < times:
            path = worker.folder / f"{KIND}-{key}.pickle"
            assert path.exists()  # the process did write it
            path.unlink()
            removed.append(key)
        return done
    worker._build = build_then_remove
    return removed


def test_a_plan_gone_after_its_build_is_built_again(store, tmp_path, caplog):
    an = _fresh(store, tmp_path / "cache")
    an.releases.build = tiny
    removed = _vanishing(an, 1)
    with caplog.at_level(logging.WARNING, logger="borderwatch"):
        plan = an.release_plan(wait=600)
    assert plan == f"plan of {len(an.ctx.incidents)} records"
    assert removed == [an.releases.key()] and an.releases.built == 2
    assert an.release_failed() is None
    assert any("gone from" in r.getMessage() for r in caplog.records)
    _until(lambda: not _children(), 60)


def test_a_plan_gone_after_every_build_is_a_failure_not_an_endless_wait(store, tmp_path):
    from dashboard.plan_cache import REBUILDS, vanished

    folder = tmp_path / "cache"
    an = _fresh(store, folder)
    an.releases.build = tiny
    _vanishing(an, 100)
    assert an.release_plan(wait=900) is None
    reason = vanished("release plan", REBUILDS + 1)
    assert an.release_failed() == reason and an.releases.built == REBUILDS + 1
    assert failure(folder, an.releases.key(), kind=KIND) == reason  # for the other workers
    with pytest.raises(NotReady) as raised:
        analyses_for(an, "viewer")
    assert raised.value.failed == reason
    _until(lambda: not _children(), 60)


def test_two_stores_in_one_folder_keep_each_its_plan(store, tmp_path, monkeypatch):
    """Two servers of different records (here: thresholds, so different plan keys) share
    one cache folder; the second one's many newer plans never prune the plan the first
    one follows, even past FRESH_SECONDS; once the first one lets go, they may."""
    import dashboard.plan_cache as plan_cache
    from dashboard.plan_cache import KEEP, cached, stored

    folder = tmp_path / "cache"
    first = _fresh(store, folder)
    first.releases.build = tiny
    assert first.release_plan(wait=600) is not None
    key = first.releases.key()
    monkeypatch.setattr(plan_cache, "FRESH_SECONDS", 0.0)  # every file old enough to prune
    others = []
    for threshold in range(6, 6 + KEEP + 2):  # the other store's plans, each newer
        other = _fresh(dataclasses.replace(store, small_count=threshold), folder)
        other.releases.build = tiny
        assert other.release_plan(wait=600) is not None
        others.append(other.releases.key())
        other.releases.close()  # that server moves on: its plan may go
        time.sleep(0.01)
    assert len(set(others) | {key}) == KEEP + 3
    # (the processes pruned with the true FRESH_SECONDS: nothing was old enough; here it is)
    cached(folder, "newest", lambda: "n", kind=KIND)
    assert stored(folder, key, kind=KIND)["plan"] == first.release_plan()  # still there
    assert stored(folder, others[0], kind=KIND) is None  # the other store's oldest pruned
    again = _fresh(store, folder)  # another worker of the first server reads it, builds none
    again.releases.build = broken
    assert again.release_plan(wait=120) is not None and again.releases.built == 0
    first.releases.close()
    again.releases.close()
    cached(folder, "last", lambda: "n", kind=KIND)
    assert stored(folder, key, kind=KIND) is None  # wanted by no one now
    _until(lambda: not _children(), 60)
