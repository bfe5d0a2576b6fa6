"""The app's one door to stored records: read once per store revision, shared read-only.

Callbacks ask :class:`RecordCache` for the current records; it asks the store
for its revision (the id of the latest import, one cheap query) and reloads
only when an import has landed since. The frames it hands out are marked
read-only, so no callback can change what another one sees.

The records of a revision are kept on disk (:meth:`RecordCache.current`), and an import
writes them as soon as it commits (:func:`keep_records`): a server started after it
loads them in about a second instead of reading every record out of the store.
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

__all__ = ["INCIDENT_COLUMNS", "RecordCache", "Records", "keep_records", "snapshot_key"]

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

    def __reduce__(self):
        """Pickled with each text column as codes into its distinct values
        (:func:`_packed`): a million records' snapshot loads in under a second, where one
        pickled Python string per cell took several."""
        frames = {name: _packed(getattr(self, name)) for name in _FRAMES}
        others = {name: getattr(self, name) for name in ("revision", "synthetic", "sources",
                                                         "counts")}
        return _unpacked_records, (frames, others)


#: The frames a :class:`Records` holds.
_FRAMES = ("incidents", "outreach", "models", "population", "reports")


def _text_column(column: pd.Series) -> object:
    """The missing value of a column of text (a string dtype, or objects that are all text
    or None), or ``False`` when the column is not one."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.dtype.na_value
    if column.dtype == object and all(v is None or isinstance(v, str) for v in column):
        return None
    return False


def _packed(frame: pd.DataFrame) -> tuple:
    """``frame`` as (index, attrs, columns), each text column as ``(name, dtype, missing,
    codes, distinct values)``, any other as ``(name, dtype, None, values, None)``."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        missing = _text_column(column)
        if missing is False:
            columns.append((name, column.dtype, None, column.array, None))
            continue
        codes, distinct = pd.factorize(column.array, use_na_sentinel=True)
        columns.append((name, column.dtype, missing, codes.astype(np.int32, copy=False),
                        list(distinct)))
    return frame.index, dict(frame.attrs), columns


def _unpacked(packed: tuple) -> pd.DataFrame:
    """The frame :func:`_packed` packed: the same columns, dtypes and values."""
    index, attrs, columns = packed
    data = {}
    for name, dtype, missing, values, distinct in columns:
        if distinct is not None:  # the code -1 (missing) takes the last item
            values = np.array([*distinct, missing], dtype=object).take(values)
        # the dtype given: text in an object column would otherwise be read as a string dtype
        data[name] = pd.Series(values, index=index, dtype=dtype, copy=False)
    frame = pd.DataFrame(data, index=index, copy=False)
    frame.attrs.update(attrs)
    return frame


def _unpacked_records(frames: dict, others: dict) -> Records:
    return Records(**others, **{name: _unpacked(packed) for name, packed in frames.items()})


class _Moved(Exception):
    """The store's revision changed while its records were read: they are not kept."""


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

    def close(self) -> None:
        """Close the store connection (the next :meth:`current` opens it again)."""
        with self._lock:
            self._close()

    def _kept(self, store, revision: int) -> Records:
        """The records of ``revision``, read from the store once and kept on disk.

        Reading a million records out of the store is most of a national server's start
        (some 20 s: one Python tuple per row, then the frames); the frames of the same
        revision, pickled in the server's cache folder beside the release plans
        (:mod:`dashboard.plan_cache`), load in about a second, for every worker and every
        restart. An import writes them as soon as it commits (:func:`keep_records`), so
        the first start after it reads the file too. The key is :func:`snapshot_key`;
        records read while another import committed (each read sees the latest commit) are
        not kept under it, but read again as of the new revision.
        """
        from dashboard.plan_cache import cached

        folder = self._settings.cache_dir
        if folder is None:
            return self._load(store, revision)

        def read() -> Records:
            records = self._load(store, revision)
            if store.revision() != revision:  # an import committed while they were read
                raise _Moved
            return records

        while True:  # the records of one revision, never a mix kept under its key
            try:
                kept = cached(folder, snapshot_key(self._settings, store, revision), read,
                              kind="records", keep=2)
                break
            except _Moved:
                revision = store.revision()
        for frame in (kept.incidents, kept.outreach, kept.models, kept.population,
                      kept.reports):
            _read_only(frame)  # a pickled array comes back writeable
        return kept

    @staticmethod
    def _load(store, revision: int) -> Records:
        sources = store.sources()
        incidents = _shared_text(store.read("incidents", INCIDENT_COLUMNS))
        counts = {kind: store.count(kind) for kind in ("incidents", "outreach", "models",
                                                        "population")}
        other = {kind: _read_only(_shared_text(store.read(kind, cols)))
                 for kind, cols in _OTHER_COLUMNS.items()}
        return Records(
            revision=revision,
            incidents=_read_only(incidents),
            outreach=other["outreach"],
            models=other["models"],
            population=other["population"],
            synthetic=DEMO_SOURCE in sources,
            sources=tuple(sorted(sources)),
            counts=counts,
            reports=_read_only(_shared_text(_reports(store))),
        )


def _shared_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text column holding one string object per distinct value, as a
    kept snapshot loads (:func:`_unpacked`): the same values and dtypes, but a million
    records read out of the store no longer hold a million copies of each commune code,
    type and source (one Python string per cell: some 50 bytes each, hundreds of MB at
    national scale, where the shared values cost the 8 bytes of a pointer)."""
    return _unpacked(_packed(frame))



def _reports(store) -> pd.DataFrame:
    """What each agency reported: the dates of the records each import brought (incidents,
    outreach by their date, models by their start), joined to the imports naming an agency."""
    dates = pd.concat([
        store.read(kind, ["import_id", column]).rename(columns={column: "date"})
        for kind, column in (("incidents", "date"), ("outreach", "date"),
                             ("models", "start_date"))
    ], ignore_index=True)
    return reported_figures(store.imports(), dates)


def snapshot_key(settings: Settings, store: Store, revision: int) -> str:
    """The key of the kept records of ``revision`` of ``store`` (:meth:`RecordCache._kept`).

    It holds what the records depend on: the store (its file's full path, or the database's
    address without its password), the revision (the latest import), every import the store
    remembers (id, kind, source, file checksum, times, rows accepted, status: a store rebuilt
    with as many imports and records is still told apart by them), the number of records of
    each kind, the count of writes to the record tables that the database keeps itself
    (:meth:`geo.store.base.Store.edits`: an ``UPDATE``, ``DELETE`` or ``INSERT`` typed by
    hand in ``sqlite3`` or ``psql``, which no import records), and the source of the code
    that reads and types them. An import, an edit by hand, or a change to that code, makes a
    new key: a snapshot of other records is never read. Cheap to ask at every start (a count
    per kind, the imports' table and one row, not a pass over the records).
    """
    import hashlib

    from dashboard.plan_cache import code_digest
    from geo.store import store_path

    where = store.describe() if settings.database_url else str(store_path(settings).resolve())
    imports = store.imports()
    history = imports[[c for c in ("id", "kind", "source", "checksum", "started_at",
                                   "finished_at", "accepted", "status") if c in imports.columns]]
    counts = {kind: store.count(kind) for kind in RECORD_TABLES}
    digest = hashlib.sha256(repr((where, revision, sorted(counts.items()),
                                  store.edits())).encode())
    digest.update(history.to_csv(index=False).encode())
    digest.update(code_digest(("dashboard.records", "geo.store", "geo.kinds",
                               "layers.reporting")))
    return digest.hexdigest()[:24]


def keep_records(settings: Settings) -> Records:
    """The records of the store's latest revision, read once and kept in the cache folder.

    What an import does once it has committed (``borderwatch import``, the import page):
    the next server start, and every worker, then loads the records from that file in
    about a second instead of reading them out of the store (some 20 s for a million). A
    revision kept already is not read again.
    """
    cache = RecordCache(settings)
    try:
        return cache.current()
    finally:
        cache.close()
