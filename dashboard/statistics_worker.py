"""The statistics of the commander's common filter states, ready before they are asked (issue 18).

Gi* with 9,999 permutations, the emerging hot spots over every quarter, the Local
Moran's I of the panel, the density surface: 0.2–2 CPU-seconds each per new filter
state on the demo, far more at national scale. Memoised in each worker alone, every
worker paid for every state it was asked, and under load the first look at a state
took seconds. Two things make them a lookup:

- **one disk cache for every worker.** :class:`dashboard.analysis.Analyses` keeps the
  costly layers (:data:`ON_DISK`) and questions (:data:`MEMOS_ON_DISK`) in the cache
  folder (``Settings.cache_dir``, :mod:`dashboard.plan_cache`), keyed by
  :func:`statistics_key` — everything they depend on: the records' content, the
  boundaries, gates and border, the caveats, the permutations and seed, the source of
  ``layers/`` and of the code that builds them — and by the filters the result depends
  on. A state outside any grid is computed once, by whichever worker is asked first
  (another one asking meanwhile waits for it), and kept for all and for the next start.
- **the grid computed ahead.** At the server's start and after each import, one worker
  (a lock file in the cache folder elects it) starts a background process (``spawn``,
  ``nice`` 10, ended with the server: :mod:`dashboard.niced_process`, as the forecasts'
  and the release plan's) over the same store and settings, which computes :func:`grid_jobs` — the page's period presets and
  every calendar quarter, half-year and year of the records × every choice of incident
  types × both unit sets, the commander's default state first — through its own
  :class:`~dashboard.analysis.Analyses`, so into the same files by the same code: a
  precomputed result is the one a worker would compute. It stops when the records
  change (the next revision starts its own) and leaves a mark when the grid is done, so
  that a restart does not walk it again. ``Settings.precompute_statistics`` (default on;
  ``BORDERWATCH_STATISTICS_PRECOMPUTE=0``) turns the grid off; the shared disk cache
  stays.

The cache folder holds figures of the records: it is as confidential as the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import shapely

from dashboard import niced_process
from dashboard.plan_cache import cached, code_digest, elect, prunable, want

__all__ = ["CODE", "DONE", "KEEP_FILES", "KEEP_VERSIONS", "KIND", "MEMOS_ON_DISK", "ON_DISK",
           "GridJob", "StatisticsWorker", "compute", "grid_jobs", "statistics_key"]

#: The code the kept results come from: a change in any makes every key new.
CODE = ("layers", "dashboard.analysis", "dashboard.geometry", "dashboard.statistics_worker")
#: The cache's folder prefix (``<cache_dir>/statistics-<key>/<kind>/``).
KIND = "statistics"
#: The layer kinds kept on disk: those whose build costs (permutations, the quarters of
#: the emerging hot spots, a kernel surface, hexagons, the comparison, the key-area score
#: built from them all); the counts and rates read the cube in milliseconds.
ON_DISK = ("gi", "gi_rate", "emerging", "change", "density", "hexagons", "key_areas",
           "gaps", "reach")
#: The other memoised questions kept on disk: the key-area evidence (the ranked table),
#: the planner's gap evidence (risk × coverage: the key-area score of every type and the
#: reach, per agencies), the distance and catchment shares, the Local Moran's I of the
#: commune panel.
MEMOS_ON_DISK = ("evidence", "gap_evidence", "summary", "lisa")
#: Files kept per kind and version of the records (more than the grid holds).
KEEP_FILES = 20_000
#: Versions of the records whose statistics are kept (older folders are removed).
KEEP_VERSIONS = 2
#: The mark left in a version's folder once its whole grid is computed.
DONE = "grid-done"
#: The process's niceness increment: the serving workers come first.
NICE = 10
#: The density surface's bandwidth the commander's page opens with, in km.
_BANDWIDTH_KM = 5.0
_LOG = logging.getLogger("borderwatch")


def statistics_key(an) -> str:
    """The key of everything the kept statistics of ``an``'s current records depend on,
    but the filters: the records' content (not their revision: two stores with the same
    records share their statistics), the unit sets' boundaries and names, the gates and
    the border, the caveats, the permutations and seed, and the source of :data:`CODE`."""
    ctx, rec = an.ctx, an.ctx.records.current()
    digest = hashlib.sha256(code_digest(CODE))
    for name in ("incidents", "population", "outreach", "models"):
        frame = getattr(rec, name)
        digest.update(f"{name}:{','.join(map(str, frame.columns))}:{len(frame)}".encode())
        if len(frame):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    for name, frame in [*sorted(ctx.communes.items()), ("gates", ctx.gates),
                        ("border", ctx.border)]:
        digest.update(name.encode())
        digest.update("\x00".join(map(str, frame.index)).encode())
        digest.update(b"".join(shapely.to_wkb(frame.geometry.values)))
        plain = frame.drop(columns=frame.geometry.name).astype("string")
        if len(plain.columns):
            digest.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
    digest.update(repr((tuple(c.value for c in ctx.caveats), an.permutations,
                        an.gi_permutations, an.seed, an.density_cell_km)).encode())
    return digest.hexdigest()[:24]


def _file_key(key: tuple) -> str:
    """A memo key (a kind and its filters: strings, tuples, dates, numbers) as a file key."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


# -- the grid ------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridJob:
    """One filter state of the grid, and what of it to compute: ``"map"`` (the map layers,
    the ranked table, the shares) or ``"panel"`` (the Local Moran's I a commune's panel
    shows)."""

    unit_set: str
    types: tuple[str, ...]
    start: dt.date
    end: dt.date
    part: str = "map"


def calendar_periods(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Every calendar quarter, half-year and year that holds a day of ``first``–``last``,
    newest first: a year's quarters from the last, each after the half-year it ends (or
    begins) if that is new, then the year. The campaign window 01/7–30/9 is the third quarter.

    Examples
    --------
    >>> [f"{a:%d/%m}–{b:%d/%m}" for a, b in calendar_periods(dt.date(2025, 5, 2),
    ...                                                   dt.date(2025, 8, 1))]
    ['01/07–31/12', '01/07–30/09', '01/01–30/06', '01/04–30/06', '01/01–31/12']
    """
    periods: list[tuple[dt.date, dt.date]] = []
    for year in range(last.year, first.year - 1, -1):
        for month in (10, 7, 4, 1):
            quarter = (dt.date(year, month, 1),
                       (pd.Timestamp(year, month, 1) + pd.offsets.QuarterEnd(0)).date())
            half = (dt.date(year, 1 if month < 7 else 7, 1),
                    dt.date(year, 6, 30) if month < 7 else dt.date(year, 12, 31))
            for start, end in (half, quarter):
                if start <= last and end >= first and (start, end) not in periods:
                    periods.append((start, end))
        periods.append((dt.date(year, 1, 1), dt.date(year, 12, 31)))
    return periods


def grid_jobs(an) -> list[GridJob]:
    """The filter states to compute ahead, in the order they are computed.

    First the commander's default view (the latest quarter, every type, the settings'
    unit set) with its panel; then the period presets the pages offer (quarter, six
    months, year, campaign, all: :func:`layers.periods.preset_period` of the records'
    span) × every type together, each type alone, the other choices of types × both unit
    sets; their panels; then every calendar quarter, half-year and year of the records
    (newest first) the same way. Types are in the page's order (as the page sends them).
    """
    from dashboard.period_filter import data_period
    from geo.units import NEW, OLD
    from layers.counts import INCIDENT_TYPES
    from layers.periods import PRESETS, preset_period

    if not len(an.ctx.records.current().incidents):
        return []
    first, last = data_period(an.ctx)
    presets = list(dict.fromkeys(preset_period(p, last, first) for p in PRESETS))
    calendar = [p for p in calendar_periods(first, last) if p not in presets]
    own = an.ctx.settings.unit_set
    units = (own, OLD if own == NEW else NEW)
    every = tuple(INCIDENT_TYPES)
    singles = [(t,) for t in every] if len(every) > 1 else []
    others = [c for size in range(len(every) - 1, 1, -1)
              for c in itertools.combinations(every, size)]
    tiers = [([presets[0]], [every], units[:1], ("map", "panel"))]
    for periods in (presets, calendar):
        tiers += [(periods, [every], units, ("map",)), (periods, singles, units, ("map",)),
                  (periods, others, units, ("map",)), (periods, [every], units, ("panel",))]
    jobs = (GridJob(u, types, start, end, part)
            for periods, choices, unit_sets, parts in tiers for start, end in periods
            for types in choices for part in parts for u in unit_sets)
    return list(dict.fromkeys(jobs))


def compute(an, job: GridJob) -> None:
    """Compute what the pages ask of ``job``'s state through ``an`` (into its memo and the
    disk cache): the map's layers, the ranked table's evidence and the shares (and, for
    every type together, the planner's gap evidence and gap map), or the panel's Local
    Moran's I."""
    from layers.catalogue import kinds
    from layers.counts import INCIDENT_TYPES

    filters = {"unit_set": job.unit_set, "types": job.types, "start": job.start,
               "end": job.end}
    if job.part == "panel":
        an.lisa(**filters)
        return
    an.evidence(**filters)  # counts, rates, gi, gi_rate, emerging, change
    an.summary(**filters)
    for kind in (k for k in kinds(page="commander") if k in ON_DISK):  # the commander's menu
        an.layer(kind, **filters, bandwidth_km=_BANDWIDTH_KM)
    if set(job.types) == set(INCIDENT_TYPES):  # the planner's risk reads every type
        period = {k: filters[k] for k in ("unit_set", "start", "end")}
        an.gap_evidence(**period)  # every agency (the planner's default)
        an.planner_layer("gaps", **period)


# -- the worker ------------------------------------------------------------------------------

class StatisticsWorker:
    """The shared disk cache of one :class:`dashboard.analysis.Analyses`'s costly results,
    and the background process that fills it with the grid (thread-safe).

    Parameters
    ----------
    an : Analyses
        Whose records, boundaries and options the statistics are of. The process builds
        its own (``type(an)(build_context(an.ctx.settings), …)``): the same store and
        settings, so the same records.
    """

    def __init__(self, an) -> None:
        self.an = an
        self.folder = Path(an.ctx.settings.cache_dir)
        self._cond = threading.Condition()
        self._bases: dict[int, str] = {}
        self._thread: threading.Thread | None = None
        self._process = None
        self._wanted = False
        self._want = None  # the open file by which this worker wants its version's folder
        self._closed = False
        self._owner = os.getpid()
        #: The process's niceness increment (tests on a busy machine may lower it).
        self.nice = NICE
        #: Compute only the first this many jobs of the grid (tests, the bench); None: all.
        self.limit: int | None = None
        #: (revision, seconds the process ran, its exit code) of each run of this worker's
        #: processes, for tests and the bench.
        self.history: list[tuple[int, float, int | None]] = []

    # -- the disk cache --------------------------------------------------------------------

    def base(self, revision: int | None = None) -> str | None:
        """:func:`statistics_key` of the current records (computed once per revision); None
        when ``revision`` is given and the records have changed since."""
        rec = self.an.ctx.records.current()
        if revision is not None and revision != rec.revision:
            return None
        with self._cond:
            if rec.revision in self._bases:
                return self._bases[rec.revision]
        base = statistics_key(self.an)
        wanted = want(self.folder, f"{KIND}-{base}")  # not pruned by another store's grid
        with self._cond:
            self._bases = {rec.revision: base}  # one version of the records at a time
            self._want, wanted = wanted, self._want
        if wanted is not None:
            wanted.close()
        return base

    def version_folder(self, base: str) -> Path:
        """Where the statistics of the records of ``base`` are kept."""
        return self.folder / f"{KIND}-{base}"

    def kept(self, key: tuple, build, revision: int):
        """The result of memo ``key`` (``("layer", kind, query)`` or a question's name and
        filters) over the records of ``revision``: read from the disk cache, else built
        (once across workers: a second one waits for the first) and written there. The
        records having changed since ``revision``, it is built and not kept."""
        base = self.base(revision)
        if base is None:
            return build()
        name = key[1] if key[0] == "layer" else key[0]
        return cached(self.version_folder(base) / name, _file_key(key), build, kind=name,
                      keep=KEEP_FILES)

    def is_done(self, base: str) -> bool:
        """Whether the whole grid of ``base``'s records has been computed."""
        return (self.version_folder(base) / DONE).exists()

    # -- the precompute ----------------------------------------------------------------------

    def precompute(self) -> bool:
        """Have the grid of the current records computed in the background (unless
        ``Settings.precompute_statistics`` is off); True when asked. Called at the app's
        start and after each import (a process of an older version is stopped)."""
        if not self.an.ctx.settings.precompute_statistics:
            return False
        with self._cond:
            if self._closed:
                return False
            if self._owner != os.getpid():  # forked: the parent's thread is not ours
                self._owner, self._thread, self._process = os.getpid(), None, None
            self._wanted = True
            self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, daemon=True,
                                                name="statistics-worker")
                self._thread.start()
        return True

    def running(self) -> bool:
        """Whether this worker's thread is computing (or about to compute) a grid."""
        with self._cond:
            return self._thread is not None

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for this worker's precompute to end; True if it
        has (for tests and the bench)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._thread is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
        return True

    def _serve(self) -> None:
        try:
            while True:
                with self._cond:
                    if self._closed or not self._wanted:
                        return
                    self._wanted = False
                try:
                    self._run()
                except niced_process.Exiting:
                    return  # the server is leaving
                except Exception:  # noqa: BLE001 — the server goes on; the log keeps it
                    _LOG.exception("statistics worker failed")
        finally:
            with self._cond:
                self._thread = None
                self._cond.notify_all()

    def _run(self) -> None:
        """Compute the grid of the current records in a process, if no other worker does
        and it is not done yet; stop it when the records change or the worker closes."""
        revision = self.an.ctx.records.current().revision
        base = self.base(revision)
        if base is None or self.is_done(base):
            return
        leader = elect(self.folder, f"{KIND}-precompute-{base}")
        if leader is None:
            return  # another worker computes these records' grid
        try:
            _prune_versions(self.folder, self.version_folder(base))
            an = self.an
            options = {"permutations": an.permutations,
                       "gi_permutations": an.gi_permutations, "seed": an.seed}
            jobs = grid_jobs(an)
            complete = self.limit is None or self.limit >= len(jobs)
            started = time.monotonic()
            process, conn = niced_process.start(
                _child, (type(an), an.ctx.settings, options, revision, jobs[:self.limit],
                         complete), name="borderwatch-statistics", nice=self.nice)
            with self._cond:
                self._process = process
            try:
                while process.is_alive():
                    process.join(0.5)
                    with self._cond:
                        if self._closed or self._wanted:  # closing, or new records
                            break
            finally:
                niced_process.stop(process, conn)  # between two jobs, or terminated
            self.history.append((revision, time.monotonic() - started, process.exitcode))
        finally:
            with self._cond:
                self._process = None
            leader.close()

    def close(self) -> None:
        """End the process (killed if it computes) and the thread; wait for them."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread, process = self._thread, self._process
            wanted, self._want = self._want, None
        if process is not None and process.is_alive():
            process.terminate()
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)
        if wanted is not None:
            wanted.close()


def _prune_versions(folder: Path, current: Path) -> None:
    """Remove the statistics of all but the :data:`KEEP_VERSIONS` newest versions of the
    records (``current`` always kept), but for a version in use: recent, or the current one
    of a live worker of another store sharing the folder
    (:func:`dashboard.plan_cache.prunable`)."""
    folder.mkdir(parents=True, exist_ok=True)
    current.mkdir(parents=True, exist_ok=True)
    current.touch()
    versions = sorted((p for p in folder.glob(f"{KIND}-*") if p.is_dir() and p != current),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    for old in versions[KEEP_VERSIONS - 1:]:
        claim = prunable(folder, old.name, old)
        if claim is None:
            continue
        try:
            shutil.rmtree(old, ignore_errors=True)
            (folder / f"{KIND}-precompute-{old.name[len(KIND) + 1:]}.lock").unlink(
                missing_ok=True)
            (folder / f"{old.name}.want").unlink(missing_ok=True)
        finally:
            claim.close()


def _child(conn, cls, settings, options: dict, revision: int, jobs: list[GridJob],
           complete: bool) -> None:
    """The process (:func:`dashboard.niced_process.start`): its own analyses over the same
    store; computes ``jobs`` (:func:`grid_jobs`) in order while the records stay those of
    ``revision`` and the server sends nothing (``None``: stop), then marks the grid done if
    they were all of it."""
    from dashboard.context import build_context

    an = cls(build_context(settings), **options)
    records = an.ctx.records
    base = an.statistics.base(revision)
    if base is None:
        return
    for job in jobs:
        if records.current().revision != revision:
            return  # new records: the server starts their own grid
        if conn.poll():
            return  # the server stops it (closing, or new records)
        try:
            compute(an, job)
        except Exception:  # noqa: BLE001 — one state that cannot be computed is not the grid
            _LOG.exception("statistics of %s failed", job)
    if complete:
        (an.statistics.version_folder(base) / DONE).touch()
