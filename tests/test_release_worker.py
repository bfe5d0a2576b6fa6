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

import pandas as pd
import pytest

import layers.suppression
from dashboard import niced_process
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
#: The folder where the processes of :func:`pooled`'s pool write their pids.
POOL = "BORDERWATCH_TEST_RELEASE_POOL"
Q3 = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))


# -- what the process may run instead of build_release (module-level: sent by name) -------

def gated(incidents, registry, threshold, year, processes):
    """The real plan, once the gate file exists."""
    gate = Path(os.environ[GATE])
    while not gate.exists():
        time.sleep(0.1)
    return build_release(incidents, registry, threshold, year, processes)


def broken(incidents, registry, threshold, year, processes):
    raise RuntimeError(f"cannot protect 3 small counts of {len(incidents)} records: "
                       "nothing left to hide")


def endless(incidents, registry, threshold, year, processes):
    time.sleep(3600)


def tiny(incidents, registry, threshold, year, processes):
    return {"plan": f"plan of {len(incidents)} records", "indicators": "indicators"}


def counted(incidents, registry, threshold, year, processes):
    """The real plan, and the CPU seconds of the processes the build started and ended
    (``children_cpu``: 0 when it started none)."""
    import resource

    built = build_release(incidents, registry, threshold, year, processes)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {**built, "children_cpu": usage.ru_utime + usage.ru_stime}


def pooled(incidents, registry, threshold, year, processes):
    """A pool of ``processes`` processes started as :func:`build_release` starts the national
    plan's (spawned, :func:`niced_process.watching` first), each of which writes its pid into
    the folder named by :data:`POOL` and sleeps: they never finish."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                             initializer=niced_process.watching()) as pool:
        list(pool.map(_pool_worker, [os.environ[POOL]] * processes))


def _pool_worker(folder: str) -> None:
    (Path(folder) / str(os.getpid())).touch()
    time.sleep(3600)


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


def _server(store: Settings, folder: Path, tmp_path: Path, build: str, *, processes: int = 1,
            nice: int = 0, leave: bool = False):
    """A server (a fresh interpreter) whose worker starts the release process, with
    ``build`` of this module, ``processes`` and ``nice``; it prints the process's pid and
    the plan's key, then sleeps (or, with ``leave``, once :data:`POOL`'s folder holds
    ``processes`` pids, exits as a server does at its end: its exit handlers run)."""
    pool = tmp_path / "pool"
    pool.mkdir()
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing, os, sys, time
        from dashboard.analysis import Analyses
        from dashboard.context import build_context
        from geo.config import Settings
        from tests.test_release_worker import {build}

        if __name__ == "__main__":
            settings = Settings(data_dir={str(store.data_dir)!r}, cache_dir={str(folder)!r})
            an = Analyses(build_context(settings))
            an.releases.nice = {nice}
            an.releases.processes = {processes}
            an.releases.build = {build}
            an.release_plan()
            while not multiprocessing.active_children():
                time.sleep(0.1)
            print(multiprocessing.active_children()[0].pid, an.releases.key(60), flush=True)
            if {leave}:
                while len(os.listdir({str(pool)!r})) < {processes}:
                    time.sleep(0.1)
                sys.exit(0)
            time.sleep(600)
    """))
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE if leave else None, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT), POOL: str(pool)})
    return server, pool


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command's name: [1] the parent's pid,
    [16] the niceness."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _pool(folder: Path, processes: int) -> list[int]:
    """The pids the processes of :func:`pooled` wrote, once all ``processes`` have."""
    return _until(lambda: [int(p.name) for p in folder.iterdir()] if
                  len(list(folder.iterdir())) == processes else None, 300)


def test_no_process_is_left_when_the_server_is_killed(store, tmp_path):
    """A server killed by a signal runs no exit handler: its release process notices that
    its parent is gone and leaves, and its lock goes with it."""
    folder = tmp_path / "cache"
    server, _ = _server(store, folder, tmp_path, "endless")
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


def test_the_build_s_pool_runs_niced_holds_no_lock_and_goes_when_the_server_is_killed(
        store, tmp_path):
    """A build with a pool of two processes (a national plan's): they are the build's
    children, at its lowered priority, hold no file of the cache folder (its lock is the
    build's alone); the server killed by SIGKILL, the build and both leave within seconds."""
    folder = tmp_path / "cache"
    server, pool = _server(store, folder, tmp_path, "pooled", processes=2, nice=3)
    try:
        pid, key = server.stdout.readline().split()
        build = int(pid)
        workers = _pool(pool, 2)
        _until(lambda: being_built(folder, key, kind=KIND), 300)
        ours = int(_stat(os.getpid())[16])
        assert int(_stat(server.pid)[16]) == ours
        assert int(_stat(build)[16]) == min(19, ours + 3)
        for worker in workers:
            assert int(_stat(worker)[1]) == build  # the build's own children
            assert int(_stat(worker)[16]) == min(19, ours + 3)  # niced as the build is
            opened = [os.readlink(f) for f in Path(f"/proc/{worker}/fd").iterdir()]
            assert not [f for f in opened if f.startswith(str(folder))]
        server.send_signal(signal.SIGKILL)
        server.wait(30)
        # the build's watch looks every PARENT_CHECK_SECONDS, its pool's too: seconds
        _until(lambda: not any(_alive(p) for p in (build, *workers)), 10)
        _until(lambda: not being_built(folder, key, kind=KIND), 30)
    finally:
        server.kill()
        server.wait()


def test_a_server_that_exits_ends_its_build_and_its_pool(store, tmp_path):
    """A server's end (its exit handlers run) is not held by a build that is not a daemon
    process: the build is terminated, its pool leaves with it, and the worker takes that
    end as no failure (it starts no other build, logs nothing)."""
    folder = tmp_path / "cache"
    server, pool = _server(store, folder, tmp_path, "pooled", processes=2, leave=True)
    try:
        pid, key = server.stdout.readline().split()
        build = int(pid)
        workers = _pool(pool, 2)
        _, err = server.communicate(timeout=60)  # not joined for the hour the build takes
        assert server.returncode == 0
        assert "Traceback" not in err and "failed" not in err and "Exiting" not in err
        _until(lambda: not any(_alive(p) for p in (build, *workers)), 10)
        assert not being_built(folder, key, kind=KIND)
        assert failure(folder, key, kind=KIND) is None
    finally:
        server.kill()
        server.wait()


def test_a_killed_build_s_pool_leaves_with_it(store, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    pool = tmp_path / "pool"
    pool.mkdir()
    monkeypatch.setenv(POOL, str(pool))
    an = _fresh(store, folder)
    an.releases.build = pooled
    an.releases.processes = 2
    assert an.release_plan() is None
    build = _until(_children, 300)[0]
    workers = _pool(pool, 2)
    os.kill(build.pid, signal.SIGKILL)
    assert an.release_plan(wait=120) is None
    assert an.release_failed() == "the release process ended (exit code -9)"
    _until(lambda: not any(_alive(p) for p in workers), 10)
    assert not being_built(folder, an.releases.key(), kind=KIND)


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


# -- a national registry: the provinces in a pool of the build ----------------------------

@pytest.fixture(scope="module")
def two_provinces(tmp_path_factory) -> Settings:
    """A store of two provinces' records (Tây Ninh's and Lai Châu's, :func:`tests.cache.two_provinces`)."""
    from geo.ingest import import_file
    from geo.store import open_store
    from tests.cache import two_provinces as data

    settings, path, frame = data(tmp_path_factory.mktemp("two-provinces"))
    ctx = build_context(settings)
    with open_store(settings) as opened:
        report = import_file(path, "incidents", opened, ctx.places)
    assert report.accepted == len(frame) > 300
    return settings


def test_a_national_plan_built_in_two_processes_is_the_one_built_in_one(two_provinces,
                                                                        tmp_path):
    """The server's build of a registry of two provinces, with a pool of two processes
    (which a daemon process could not start): the same cells and statuses as one at a
    time, and the provinces' work done in other processes (their CPU is the build's
    children's)."""
    from dashboard.plan_cache import stored

    plans, children = {}, {}
    for processes in (1, 2):
        an = _fresh(two_provinces, tmp_path / f"cache-{processes}")
        an.releases.build = counted
        an.releases.processes = processes
        plans[processes] = an.release_plan(wait=900)
        assert plans[processes] is not None, an.release_failed()
        children[processes] = stored(an.releases.folder, an.releases.key(),
                                     kind=KIND)["children_cpu"]
        an.releases.close()
    one, two = plans[1].national, plans[2].national
    assert one.provinces == two.provinces == ("12", "80")
    pd.testing.assert_frame_equal(one.cells, two.cells)
    assert one.linked == two.linked and one.joint == two.joint
    assert (one.cells["status"] != "published").sum() > 0  # small counts were hidden
    assert children[1] == 0.0 and children[2] > 0.0
    assert two.work.loc[["12", "80"], "cpu_seconds"].sum() <= children[2]


def test_the_build_s_pool_watches_the_build(monkeypatch):
    """:func:`build_release` hands the plan its ``processes`` and, for each process of the
    pool, a watch of the process that builds (this one here)."""
    import functools

    import layers.suppression as suppression
    from dashboard.release_worker import build_release

    seen = {}

    def plan(incidents, registry, **options):
        seen.update(options)
        return "plan"

    monkeypatch.setattr(suppression, "release_plan", plan)
    monkeypatch.setattr(suppression, "indicator_release", lambda incidents, plan: "indicators")
    frame = pd.DataFrame({"date": pd.to_datetime(["2025-01-02"]), "type": ["victim"]})
    assert build_release(frame, None, 5, 2025, 3) == {"plan": "plan",
                                                       "indicators": "indicators"}
    watch = seen["initializer"]
    assert seen["processes"] == 3 and seen["threshold"] == 5
    assert isinstance(watch, functools.partial)
    assert watch.func is niced_process.watch_parent and watch.args == (os.getpid(),)


def test_the_provinces_built_at_once_are_a_setting_every_core_up_to_eight(monkeypatch):
    from geo.config import RELEASE_PROCESSES_MAX, default_release_processes

    for cores, expected in ((1, 1), (2, 2), (6, 6), (64, RELEASE_PROCESSES_MAX)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=cores: set(range(n)))
        assert default_release_processes() == expected
        assert Settings().release_processes == expected
        assert Settings.from_env({}).release_processes == expected
    assert RELEASE_PROCESSES_MAX == 8
    assert Settings.from_env({"BORDERWATCH_RELEASE_PROCESSES": "3"}).release_processes == 3
    assert Settings.from_env({"BORDERWATCH_RELEASE_PROCESSES": ""}).release_processes == 8
    for bad in (0, -2):
        with pytest.raises(ValueError, match="release processes must be 1 or more"):
            Settings(release_processes=bad)


def test_the_worker_builds_with_the_setting_s_processes(store, tmp_path):
    settings = dataclasses.replace(store, release_processes=3)
    assert _fresh(settings, tmp_path / "cache").releases.processes == 3
