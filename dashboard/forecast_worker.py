"""The forecasts, built in a background process and kept on disk for every worker (issue 18).

A forecast (:mod:`dashboard.forecast_build`) takes half a minute on the demo and
one to two minutes on a loaded machine; built in a thread of the serving
process it would hold the interpreter's lock all that time, and every other
request of that worker would crawl. So it is built in a separate process
(``spawn``, at a lower scheduling priority: ``nice`` 10) which reads the same
store and settings, and written to the shared cache folder
(:mod:`dashboard.plan_cache`, kind ``forecast``), keyed by what it depends on:
the records, the population, the boundaries and gates, the analyses' options, the
source of ``layers/`` and of the build, and the state (unit set, types, origin).
Every worker, and the next start, reads it from there.

After each import (a new store revision) and at the app's start, the
:func:`dashboard.forecast_build.default_states` are queued — by one worker only
(a lock file elects it) — unless ``Settings.precompute_forecasts`` is off. A
state the page asks outside them is queued before them, and kept the same
way. A page asking meanwhile is told it is being prepared; the quarterly
report waits a bounded time for it.

The process serves the queue, then lingers a little for more and ends. It ends
with the server (:mod:`dashboard.niced_process`, the process's one home with the
release plan's: ended by the server's exit handler, and leaving by itself when its
parent is gone).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import shapely

from dashboard import niced_process
from dashboard.forecast_build import ForecastState, build, default_states, failed_layer
from dashboard.plan_cache import REBUILDS, being_built, cached, elect, plan_key, stored, vanished

__all__ = ["CODE", "KEEP_FILES", "KIND", "LINGER_SECONDS", "NICE", "ForecastWorker", "base_key",
           "forecast_key"]

#: What a forecast's code is: every layer (the baselines read Gi*, key areas, emerging
#: hot spots, KDE, …) and the build itself; a change in any makes every key new.
CODE = ("layers", "dashboard.forecast_build")
#: The cache files' kind (:func:`dashboard.plan_cache.cached`), and how many are kept:
#: four versions of the records × the default states and a few asked ones.
KIND, KEEP_FILES = "forecast", 64
#: How long the process waits for another state once its queue is empty, in seconds.
LINGER_SECONDS = 20.0
#: The process's niceness increment: the serving workers come first.
NICE = 10
#: Results kept in memory per worker (a forecast layer is a few kilobytes per commune).
_KEPT = 48
_LOG = logging.getLogger("borderwatch")


def base_key(an) -> str:
    """The key of everything every forecast of ``an``'s current records depends on,
    but the state: records, population, boundaries, gates, caveats, options, code."""
    ctx, rec = an.ctx, an.ctx.records.current()
    digest = hashlib.sha256(plan_key(rec.incidents, ctx.registry.composition, 0,
                                     modules=CODE).encode())
    if len(rec.population):
        digest.update(pd.util.hash_pandas_object(
            rec.population.astype("string"), index=False).sort_values().to_numpy().tobytes())
    for name, frame in [*sorted(ctx.communes.items()), ("gates", ctx.gates),
                        ("border", ctx.border)]:
        digest.update(name.encode())
        digest.update("\x00".join(map(str, frame.index)).encode())
        digest.update(b"".join(shapely.to_wkb(frame.geometry.values)))
    digest.update(repr((tuple(c.value for c in ctx.caveats), an.permutations,
                        an.gi_permutations, an.seed)).encode())
    return digest.hexdigest()[:24]


def forecast_key(base: str, state: ForecastState) -> str:
    """The cache key of ``state``'s forecast over the records of ``base``."""
    return hashlib.sha256(f"{base}|{state.name}".encode()).hexdigest()[:24]


@dataclass(order=True)
class _Job:
    priority: int  # 0: asked by a page or a report; 1: precomputed
    seq: int
    state: ForecastState = field(compare=False)
    revision: int = field(compare=False)


class ForecastWorker:
    """The forecasts of one :class:`dashboard.analysis.Analyses`: in memory, on disk, or
    being built by this worker's background process (thread-safe).

    Parameters
    ----------
    an : Analyses
        Whose records, boundaries and options the forecasts are of. The process builds
        its own (``type(an)(build_context(an.ctx.settings), …)``): the same store and
        settings, so the same records at the same revision.
    """

    def __init__(self, an) -> None:
        self.an = an
        self.folder = Path(an.ctx.settings.cache_dir)
        self._cond = threading.Condition()
        self._bases: dict[int, str] = {}
        self._kept: OrderedDict[str, dict] = OrderedDict()
        self._failed: dict[str, str] = {}
        self._queue: list[_Job] = []
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._process = None
        self._conn = None
        self._leader = None  # the open lock file of the precompute this worker leads
        self._closed = False
        self._owner = os.getpid()  # a fork (gunicorn --preload) inherits no thread
        #: How many forecasts this worker's processes built — for tests and the bench.
        self.built = 0
        #: The process's niceness increment (tests on a busy machine may lower it).
        self.nice = NICE
        #: (state name, seconds to start the process or 0, seconds the build took) of each
        #: build by this worker's processes, for the bench.
        self.history: list[tuple[str, float, float]] = []

    # -- the keys ------------------------------------------------------------------------

    def base(self, revision: int | None = None) -> str:
        """:func:`base_key` of the current records (computed once per revision)."""
        rec = self.an.ctx.records.current()
        if revision is not None and revision != rec.revision:
            raise _Stale
        with self._cond:
            if rec.revision in self._bases:
                return self._bases[rec.revision]
        base = base_key(self.an)
        with self._cond:
            self._bases = {rec.revision: base}  # one version of the records at a time
        return base

    def _known_base(self) -> str | None:
        revision = self.an.ctx.records.current().revision
        with self._cond:
            return self._bases.get(revision)

    # -- reading -------------------------------------------------------------------------

    def result(self, state: ForecastState) -> dict:
        """The forecast of ``state`` (``{"layer", "parts"}``), built in the caller's thread
        when neither memory nor disk has it (and kept on disk); waits for a process that is
        building it instead of building it twice. For scripts and tests; pages and reports
        use :meth:`ready`."""
        key = forecast_key(self.base(), state)
        found = self._memory(key)
        if found is None:
            found = cached(self.folder, key, lambda: build(self.an, state), kind=KIND,
                           keep=KEEP_FILES)
            found = self._keep(key, found)
        return found

    def ready(self, state: ForecastState, *, wait: float = 0.0) -> dict | None:
        """The forecast of ``state`` if it is built (in memory or on disk), else None and its
        build queued; waits up to ``wait`` seconds for it. A build that failed gives a
        layer saying so (``forecast.failed``)."""
        deadline = time.monotonic() + wait
        asked = False
        while True:
            found = self._look(state)
            if found is not None:
                return found
            if not asked:
                self._ask(state)
                asked = True
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))

    def _look(self, state: ForecastState) -> dict | None:
        base = self._known_base()
        if base is None:
            return None
        key = forecast_key(base, state)
        found = self._memory(key)
        if found is None:
            found = stored(self.folder, key, kind=KIND)
            if found is not None:
                found = self._keep(key, found)
        if found is None:
            with self._cond:
                problem = self._failed.get(key)
            if problem is not None:
                return {"layer": failed_layer(self.an, state.unit_set, freq=state.freq),
                        "parts": {"problem": "forecast.failed", "fit": None, "track": None,
                                  "error": problem}}
        return found

    def _memory(self, key: str) -> dict | None:
        with self._cond:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def _keep(self, key: str, value: dict) -> dict:
        with self._cond:
            value = self._kept.setdefault(key, value)  # the first one read, for everyone
            self._kept.move_to_end(key)
            while len(self._kept) > _KEPT:
                self._kept.popitem(last=False)
            return value

    # -- queueing ------------------------------------------------------------------------

    def _ask(self, state: ForecastState) -> None:
        revision = self.an.ctx.records.current().revision
        with self._cond:
            # the latest state asked is built first; earlier asks are forgotten (a user
            # clicking through filters, or a fuzzer, queues at most one)
            self._queue = [j for j in self._queue if j.priority != 0]
            self._push(_Job(0, self._next_seq(), state, revision))

    def precompute(self) -> bool:
        """Queue :func:`dashboard.forecast_build.default_states` of the current records
        (after the asked ones), unless ``Settings.precompute_forecasts`` is off; True when
        queued. Called at the app's start and after each import."""
        if not self.an.ctx.settings.precompute_forecasts:
            return False
        rec = self.an.ctx.records.current()
        states = default_states(self.an)
        with self._cond:
            queued = {(j.state, j.revision) for j in self._queue}
            for state in states:
                if (state, rec.revision) not in queued:
                    self._push(_Job(1, self._next_seq(), state, rec.revision))
        return bool(states)

    def pending(self) -> list[ForecastState]:
        """The states queued (not the one being built)."""
        with self._cond:
            return [j.state for j in sorted(self._queue)]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _push(self, job: _Job) -> None:
        """Queue ``job`` and start the thread that serves the queue (under the lock)."""
        if self._closed:
            return
        if self._owner != os.getpid():  # forked: the parent's thread and process are not ours
            self._owner, self._thread, self._process, self._conn = os.getpid(), None, None, None
            self._leader = None
        self._queue.append(job)
        self._cond.notify_all()
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, daemon=True,
                                            name="forecast-worker")
            self._thread.start()

    def _take(self) -> _Job | None:
        """The next job; None (and the thread's end) once the queue stayed empty for
        :data:`LINGER_SECONDS` with a process open, at once without one."""
        with self._cond:
            deadline = time.monotonic() + (LINGER_SECONDS if self._process else 0.0)
            while not self._queue and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._closed or not self._queue:
                self._thread = None
                return None
            self._queue.sort()
            return self._queue.pop(0)

    # -- the thread that serves the queue --------------------------------------------------

    def _serve(self) -> None:
        try:
            while (job := self._take()) is not None:
                try:
                    self._do(job)
                except _Stale:
                    continue  # the records changed: the new revision queues its own
                except niced_process.Exiting:
                    return  # the server is leaving
                except Exception:  # noqa: BLE001 — the worker goes on; the log keeps it
                    _LOG.exception("forecast worker: %s failed", job.state.name)
        finally:
            self._stop_process()
            self._lead(None)

    def _do(self, job: _Job) -> None:
        base = self.base(job.revision)
        key = forecast_key(base, job.state)
        if self._memory(key) is not None:
            return
        with self._cond:
            if key in self._failed:  # said failed: a job queued twice is not built again
                return
        found = stored(self.folder, key, kind=KIND)
        if found is not None:
            self._keep(key, found)
            return
        if job.priority == 1 and not self._lead(base):
            return  # another worker precomputes these records
        if job.priority == 0 and being_built(self.folder, key, kind=KIND):
            return  # another worker's process builds it: the page finds it on disk
        for gone in range(REBUILDS + 1):  # built, and gone before it was read: built again
            reply = self._in_process(job, key)
            if reply[0] != "done":
                break
            found = stored(self.folder, key, kind=KIND)
            if found is not None:
                self._keep(key, found)
                self.built += 1
                return
            _LOG.warning("forecast %s gone from %s after its build (%d)", job.state.name,
                         self.folder, gone + 1)
        else:
            reply = ("failed", key, vanished("forecast", REBUILDS + 1))
        if reply[0] == "failed":
            _LOG.error("forecast %s failed: %s", job.state.name, reply[2])
            with self._cond:
                self._failed[key] = reply[2]

    def _lead(self, base: str | None) -> bool:
        """Hold the lock of the precompute of ``base`` (False: another worker holds it);
        ``None`` lets it go."""
        if self._leader is not None and self._leader[0] == base:
            return True
        if self._leader is not None:
            self._leader[1].close()  # closing the file releases its lock
            self._leader = None
        if base is None:
            return False
        lock = elect(self.folder, f"{KIND}-precompute-{base}")
        if lock is None:
            return False
        self._leader = (base, lock)
        return True

    # -- the process -----------------------------------------------------------------------

    def _in_process(self, job: _Job, key: str) -> tuple:
        """Have the process build ``job`` (started if need be); its reply."""
        for attempt in (1, 2):  # a process that died is started again once
            try:
                started = time.perf_counter()
                if self._process is None:
                    self._start_process()
                sent = time.perf_counter()
                self._conn.send((job.state, key, job.revision))
                reply = self._conn.recv()
                self.history.append((job.state.name, sent - started,
                                     time.perf_counter() - sent))
                return reply
            except (EOFError, OSError, BrokenPipeError) as err:
                code = self._process.exitcode if self._process is not None else None
                self._stop_process()
                if self._closed or attempt == 2:
                    return ("failed", key, f"the forecast process ended ({code}): {err}")
        raise AssertionError("unreachable")

    def _start_process(self) -> None:
        an = self.an
        options = {"permutations": an.permutations, "gi_permutations": an.gi_permutations,
                   "seed": an.seed}
        self._process, self._conn = niced_process.start(
            _child, (type(an), an.ctx.settings, options), name="borderwatch-forecast",
            nice=self.nice)
        reply = self._conn.recv()  # ("ready",) once the process has its context
        if reply[0] != "ready":
            raise OSError(f"forecast process: {reply}")

    def _stop_process(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        niced_process.stop(process, conn)

    def close(self) -> None:
        """End the queue, the process (killed if it builds) and the thread; wait for them."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
            thread, process = self._thread, self._process
        if process is not None and process.is_alive():
            process.terminate()  # a build in progress is not waited for
        if thread is not None:
            thread.join(30)


class _Stale(Exception):
    """The records changed since the job was queued."""


def _child(conn, cls, settings, options: dict) -> None:
    """The process (:func:`dashboard.niced_process.start`): its own analyses over the same
    store; builds what it is sent, one state at a time, into the cache folder, and replies
    ("done"/"failed"/"stale")."""
    from dashboard.context import build_context

    an = cls(build_context(settings), **options)
    folder = Path(settings.cache_dir)
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        state, key, revision = message
        if an.ctx.records.current().revision != revision:
            conn.send(("stale", key, None))
            continue
        try:
            cached(folder, key, lambda state=state: build(an, state), kind=KIND,
                   keep=KEEP_FILES)
            conn.send(("done", key, None))
        except Exception as err:  # noqa: BLE001 — told to the server, which logs it
            conn.send(("failed", key, f"{type(err).__name__}: {err}"[:300]))
