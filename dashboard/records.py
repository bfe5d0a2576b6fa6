"""The app's one door to stored records: read once per store revision, shared read-only.

Callbacks ask :class:`RecordCache` for the current records; it asks the store
for its revision (the id of the latest import, one cheap query) and reloads
only when an import has landed since. The frames it hands out are marked
read-only, so no callback can change what another one sees.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.config import Settings
from geo.ingest import DEMO_SOURCE
from geo.store import RECORD_TABLES, Store, StoreError, open_store
from layers.reporting import reported_figures

__all__ = ["INCIDENT_COLUMNS", "RecordCache", "Records"]

#: Spine columns of the store the app does not read: how a record named its commune and
#: was placed, its hash and its import.
_UNREAD = frozenset({"commune_code", "commune", "district", "resolved_by", "content_hash",
                     "import_id"})


def _read_columns(kind: str) -> list[str]:
    """The columns of ``kind`` the app reads: its key, its own fields (the store's, from
    :data:`geo.kinds.KINDS`) and its communes in both unit sets; population, which names
    the 2025 communes and is keyed by them, its 2025 code and its own fields."""
    names = [c.name for c in RECORD_TABLES[kind] if c.name not in _UNREAD]
    if kind == "population":
        return ["new_code", *(n for n in names if n not in ("source", "record_id", "new_code",
                                                             "old_code"))]
    return names


INCIDENT_COLUMNS = _read_columns("incidents")
_OTHER_COLUMNS = {kind: _read_columns(kind) for kind in ("outreach", "models", "population")}


@dataclass(frozen=True)
class Records:
    """One consistent view of the store: its incidents and what they are."""

    revision: int
    incidents: pd.DataFrame
    outreach: pd.DataFrame
    models: pd.DataFrame
    population: pd.DataFrame
    synthetic: bool  # the records are the synthetic demo
    sources: tuple[str, ...]
    counts: dict[str, int]
    #: The figures each agency reported, and when (:func:`layers.reporting.reported_figures`).
    reports: pd.DataFrame = field(default_factory=pd.DataFrame)


def _read_only(frame: pd.DataFrame) -> pd.DataFrame:
    for col in frame.columns:
        values = frame[col].values
        if isinstance(values, np.ndarray):
            values.flags.writeable = False
    return frame


class RecordCache:
    """Records of the store ``settings`` names, reloaded when an import lands."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._current: Records | None = None
        self._store: Store | None = None
        self._listeners: list = []

    def on_change(self, callback) -> None:
        """Call ``callback()`` each time :meth:`current` loads a new revision of the store
        (an import has landed), after the load, in the caller's thread: it must be quick
        (the forecasts' worker only queues its builds)."""
        with self._lock:
            self._listeners.append(callback)

    def current(self) -> Records:
        """The records as of the store's latest import.

        One connection is kept for the app's life (reads never wait for an
        import in progress: they see the store as of its last commit); it is
        opened again after a failure (at once, and once more on the next call), so
        the first request after the database comes back is served.
        """
        with self._lock:
            for attempt in (1, 2):  # a connection the database dropped is opened again once
                try:
                    store = self._open()
                    revision = store.revision()
                    changed = self._current is not None and self._current.revision != revision
                    if self._current is None or changed:
                        self._current = self._kept(store, revision)
                    current, listeners = self._current, list(self._listeners) if changed else []
                    break
                except StoreError:
                    self._close()
                    if attempt == 2:
                        raise
        for callback in listeners:
            try:
                callback()
            except Exception:  # noqa: BLE001 — a listener never fails a read
                import logging

                logging.getLogger("borderwatch").exception("records listener failed")
        return current

    def _open(self) -> Store:
        if self._store is None:
            self._store = open_store(self._settings)
        return self._store

    def _close(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            finally:
                self._store = None

    def last_known(self) -> Records | None:
        """The records last read, without asking the store (None before the first read)."""
        return self._current

    def _kept(self, store, revision: int) -> Records:
        """The records of ``revision``, read from the store once and kept on disk.

        Reading a million records out of the store is most of a national server's start
        (some 20 s: one Python tuple per row, then the frames); the frames of the same
        revision, pickled in the server's cache folder beside the release plans
        (:mod:`dashboard.plan_cache`), load in about a second, for every worker and every
        restart. The key holds the store, its revision (the latest import), the number of
        records of each kind and source, and the source of the code that reads and types
        them: an import, or a change to that code, makes a new snapshot.
        """
        import hashlib

        from dashboard.plan_cache import cached, code_digest

        folder = self._settings.cache_dir
        if folder is None:
            return self._load(store, revision)
        counts = {kind: store.count(kind) for kind in RECORD_TABLES}
        digest = hashlib.sha256(repr((store.describe(), revision, sorted(counts.items()),
                                      sorted(store.sources().items()))).encode())
        digest.update(code_digest(("dashboard.records", "geo.store", "geo.kinds",
                                   "layers.reporting")))
        kept = cached(folder, digest.hexdigest()[:24], lambda: self._load(store, revision),
                      kind="records", keep=2)
        for frame in (kept.incidents, kept.outreach, kept.models, kept.population,
                      kept.reports):
            _read_only(frame)  # a pickled array comes back writeable
        return kept

    @staticmethod
    def _load(store, revision: int) -> Records:
        sources = store.sources()
        incidents = store.read("incidents", INCIDENT_COLUMNS)
        counts = {kind: store.count(kind) for kind in ("incidents", "outreach", "models",
                                                        "population")}
        other = {kind: _read_only(store.read(kind, cols)) for kind, cols in _OTHER_COLUMNS.items()}
        return Records(
            revision=revision,
            incidents=_read_only(incidents),
            outreach=other["outreach"],
            models=other["models"],
            population=other["population"],
            synthetic=DEMO_SOURCE in sources,
            sources=tuple(sorted(sources)),
            counts=counts,
            reports=_read_only(_reports(store)),
        )



def _reports(store) -> pd.DataFrame:
    """What each agency reported: the dates of the records each import brought (incidents,
    outreach by their date, models by their start), joined to the imports naming an agency."""
    dates = pd.concat([
        store.read(kind, ["import_id", column]).rename(columns={column: "date"})
        for kind, column in (("incidents", "date"), ("outreach", "date"),
                             ("models", "start_date"))
    ], ignore_index=True)
    return reported_figures(store.imports(), dates)
