"""The release plan of the current records, built in a process of its own (issue 18).

Building the small-count suppression (:func:`layers.suppression.release_plan`) and the
plan indicators' release (:func:`layers.suppression.indicator_release`) solves the whole
incident table once: ten seconds on the demo, many minutes and gigabytes on a national
store. Built in a thread of the serving process it held the interpreter's lock and that
memory while every request waited. So it is built in a spawned process at a lower
priority (:mod:`dashboard.niced_process`, as the forecasts are), which reads the same
store, solves the table and writes the plan into the cache folder
(:mod:`dashboard.plan_cache`); the serving process only reads the finished plan from
there, and never builds the table itself. A national registry's plan is built province
by province, ``Settings.release_processes`` provinces at once (by default every core, up
to 8), in a pool of that process (the same plan as one at a time, about 1,900 CPU-s at
1,000,000 incidents spread over the cores); its pool's processes are niced and watch
it as it watches the server (:func:`dashboard.niced_process.watching`), so that none
outlives it. A registry of one province (the demo) is one table, built in the process
itself.

Each serving process follows the plan of its current records in a thread: the plan on
disk is read at once; else one worker of several (a lock file elects it) starts the
process and the others look at the disk until the plan is there. Until it is ready, roles
below commander see no count at all (fail closed); if it cannot be built, they see none
either, and a message saying so (:meth:`ReleaseWorker.failed`): the process's error is
written to the server log and kept beside the key for the other workers. A process that
dies (killed, out of memory) counts as failed; its locks go with it, and the next start
of a server tries again.

Several stores may share one cache folder: a worker wants its current plan
(:func:`dashboard.plan_cache.want`) from before its build to the next revision, so that
another store's newer plans never prune it; a plan still gone from the disk when its
process said it was done is built again (:data:`dashboard.plan_cache.REBUILDS` times), then
said failed, never waited for without end.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import traceback
from pathlib import Path

from dashboard import niced_process
from dashboard.context import AppContext
from dashboard.plan_cache import (REBUILDS, cached, elect, failure, plan_key, record_failure,
                                  stored, vanished, want)

__all__ = ["CODE", "KIND", "NICE", "POLL_SECONDS", "ReleaseWorker", "build_release"]

#: The code a plan is made by: a change in it makes every key new.
CODE = ("layers.suppression", "layers.targets")
#: The cache files' kind (:func:`dashboard.plan_cache.cached`).
KIND = "release-plan"
#: The process's niceness increment: the serving workers come first
#: (``BORDERWATCH_RELEASE_NICE`` sets another: the test run, whose tests wait for the plan
#: beside busy test workers, sets 0).
NICE = 10
#: How often a worker that does not build looks for the plan on disk, in seconds.
POLL_SECONDS = 0.5
_LOG = logging.getLogger("borderwatch")
#: Set when the interpreter exits: the processes it then ends did not fail. (Registered
#: after :mod:`dashboard.niced_process`'s exit handler, so it runs before that one ends
#: them.)
_EXITING = threading.Event()
atexit.register(_EXITING.set)


def build_release(incidents, registry, threshold: int, year: int, processes: int = 1) -> dict:
    """The release plan and the plan indicators' release of ``incidents``:
    ``{"plan", "indicators"}``. With no record yet (a new installation) every count is 0,
    over the year ``year`` (the extraction's). ``processes``: how many provinces of a
    national registry are suppressed at once, in a pool of processes that watch this one
    (:func:`dashboard.niced_process.watching`); one province's is built here alone."""
    from layers.suppression import indicator_release, release_plan

    years = {} if len(incidents) else {"first_year": year, "last_year": year}
    plan = release_plan(incidents, registry, threshold=threshold, processes=processes,
                        initializer=niced_process.watching(), **years)
    return {"plan": plan, "indicators": indicator_release(incidents, plan)}


class ReleaseWorker:
    """The release of the current records of ``ctx``: read from the cache folder, built by
    a process of one worker per store revision (thread-safe).

    Attributes
    ----------
    build : callable
        What the process runs to make the plan (:func:`build_release`); a module-level
        function, for it is sent to the process by name.
    nice : int
        The process's niceness increment (:data:`NICE`, or ``BORDERWATCH_RELEASE_NICE``).
    processes : int
        How many provinces of a national registry the process suppresses at once
        (``Settings.release_processes``; no matter for a registry of one province).
    built : int
        How many plans this worker's processes built (for tests and the bench).
    """

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.folder = Path(ctx.settings.cache_dir)
        self.build = build_release
        self.nice = int(os.environ.get("BORDERWATCH_RELEASE_NICE", NICE))
        self.processes = ctx.settings.release_processes
        self.built = 0
        self._lock = threading.Lock()
        self._state: dict | None = None
        self._owner = os.getpid()  # a fork inherits no thread: it follows the plan anew
        self._closed = False

    def plan(self, wait: float = 0.0):
        """The :class:`layers.suppression.ReleasePlan`, or ``None`` while it is built
        (waiting up to ``wait`` seconds for it)."""
        return self._current(wait)["plan"]

    def indicators(self, wait: float = 0.0):
        """The :class:`layers.suppression.IndicatorRelease`, or ``None`` until built."""
        return self._current(wait)["indicators"]

    def failed(self) -> str | None:
        """Why the release of the current records could not be built (its error, one
        line), or None while it builds or once it is built."""
        return self._current(0.0)["error"]

    def key(self, wait: float = 0.0) -> str | None:
        """The cache key of the current records' plan, or None while it is computed."""
        state = self._current(0.0)
        state["keyed"].wait(wait)
        return state["key"]

    def close(self) -> None:
        """Stop following the plan: a process building it is ended (the plan is not
        waited for); for tests and the server's end."""
        with self._lock:
            self._closed = True
            state, self._state = self._state, None
        if state is not None:
            with self._lock:
                _drop(state)
            thread = state["thread"]
            if thread is not None and thread is not threading.current_thread():
                thread.join(30)

    # -- the state of one revision --------------------------------------------------------

    def _current(self, wait: float) -> dict:
        records = self.ctx.records.current()
        with self._lock:
            if self._owner != os.getpid():  # forked: the parent's thread is not ours
                self._owner, self._state = os.getpid(), None
            state = self._state
            if state is None or state["revision"] != records.revision:
                if state is not None:
                    _drop(state)  # the records changed: its plan is of no use
                state = {"revision": records.revision, "key": None, "plan": None,
                         "indicators": None, "error": None, "done": threading.Event(),
                         "keyed": threading.Event(), "stop": threading.Event(),
                         "thread": None, "stale": False, "want": None}
                if not self._closed:
                    self._state = state
                    state["thread"] = threading.Thread(
                        target=self._follow, args=(state, records), daemon=True,
                        name="release-plan")
                    state["thread"].start()
                else:  # closed: nothing is followed any more
                    state["keyed"].set()
                    state["done"].set()
        state["done"].wait(wait)
        return state

    def _follow(self, state: dict, records) -> None:
        """Until the plan of ``records`` is read (or failed): read it from disk, or start
        its process if elected, or look again after :data:`POLL_SECONDS`."""
        try:
            key = plan_key(records.incidents, self.ctx.registry.composition,
                           self.ctx.settings.small_count, modules=CODE)
            state["key"] = key
            handle = want(self.folder, f"{KIND}-{key}")  # not pruned while this revision lasts
            with self._lock:
                if state["stop"].is_set():
                    handle.close()
                else:
                    state["want"] = handle
            state["keyed"].set()
            first = True  # a plan failed before this look is tried again (a new start)
            gone = 0  # builds said done whose plan was not on disk
            while not state["stop"].is_set():
                if self._read(state, key):
                    return
                lead = elect(self.folder, f"{KIND}-{key}.build")
                if lead is None:  # another worker's process builds it: look again soon
                    first = False
                    state["stop"].wait(POLL_SECONDS)
                    continue
                try:
                    if self._read(state, key):
                        return
                    reason = None if first else failure(self.folder, key, kind=KIND)
                    if reason is not None:  # the build just awaited failed: said, not redone
                        state["error"] = reason
                        return
                    first = False
                    if self._build(state, key, records.revision):
                        if self._read(state, key):
                            return
                        gone += 1  # built, and gone before it was read: built again
                        _LOG.warning("release plan %s gone from %s after its build (%d)",
                                     key, self.folder, gone)
                        if gone > REBUILDS:
                            state["error"] = vanished("release plan", gone)
                            record_failure(self.folder, key, state["error"], kind=KIND)
                finally:
                    lead.close()
                if state["error"] is not None or state["stale"] or _EXITING.is_set():
                    return  # (the server leaving ended the build: nothing more to follow)
        except Exception as err:  # noqa: BLE001 — kept for the log; callers stay closed
            state["error"] = f"{type(err).__name__}: {err}"[:300]
            _LOG.exception("release plan failed")
        finally:
            state["keyed"].set()
            state["done"].set()

    def _read(self, state: dict, key: str) -> bool:
        """Whether the plan of ``key`` is on disk (then read into ``state``)."""
        found = stored(self.folder, key, kind=KIND)
        if found is None:
            return False
        state["plan"], state["indicators"] = found["plan"], found["indicators"]
        return True

    def _build(self, state: dict, key: str, revision: int) -> bool:
        """Start the process that builds ``key`` and wait for its end (or the state's);
        whether it said it was done (the plan then on disk, unless removed since)."""
        if _EXITING.is_set():
            return False  # the server is leaving: no build now
        record_failure(self.folder, key, None, kind=KIND)  # a new attempt
        ctx = self.ctx
        try:
            process, conn = niced_process.start(
                _child, (self.build, ctx.settings, ctx.registry, key, revision,
                         ctx.extracted.year, self.processes), name="borderwatch-release",
                nice=self.nice)
        except niced_process.Exiting:
            return False
        try:
            reply = None
            while not state["stop"].is_set():
                try:
                    if conn.poll(POLL_SECONDS):
                        reply = conn.recv()
                        break
                except (EOFError, OSError):
                    break  # the process died without a word
                if not process.is_alive() and not conn.poll(0):
                    break
        finally:
            if state["stop"].is_set():
                process.terminate()  # of no use now: let its memory go
            niced_process.stop(process, conn)
        if state["stop"].is_set() or _EXITING.is_set():
            return False  # ended on purpose: the records changed, or the server is leaving
        if reply is None:
            reason = f"the release process ended (exit code {process.exitcode})"
        elif reply[0] == "done":
            self.built += 1
            return True
        elif reply[0] == "stale":  # the records changed under it: the next read follows them
            state["stale"] = True
            return False
        else:
            reason, trace = reply[1], reply[2]
            _LOG.error("release plan failed in its process:\n%s", trace)
        _LOG.error("release plan failed: %s", reason)
        record_failure(self.folder, key, reason, kind=KIND)
        state["error"] = reason
        return False


def _drop(state: dict) -> None:
    """Stop following ``state`` and stop wanting its plan (under the worker's lock)."""
    state["stop"].set()
    handle, state["want"] = state["want"], None
    if handle is not None:
        handle.close()


def _child(conn, build, settings, registry, key: str, revision: int, year: int,
           processes: int) -> None:
    """The process (:func:`dashboard.niced_process.start`): read the store's records, build
    the plan of ``key`` into the cache folder (``processes`` provinces at once), and say so
    ("done"), or why not ("failed", with the traceback for the server's log), or that the
    records are no longer those of ``revision`` ("stale")."""
    try:
        from dashboard.records import RecordCache

        records = RecordCache(settings).current()
        if records.revision != revision:
            conn.send(("stale", None, None))
            return
        incidents = records.incidents
        cached(settings.cache_dir, key,
               lambda: build(incidents, registry, settings.small_count, year, processes),
               kind=KIND)
        conn.send(("done", None, None))
    except Exception as err:  # noqa: BLE001 — told to the server, which logs it
        conn.send(("failed", f"{type(err).__name__}: {err}"[:300], traceback.format_exc()))
    finally:
        conn.close()
