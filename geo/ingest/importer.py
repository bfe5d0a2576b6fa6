"""Import one file of records: read → check → parse → place in communes → store, all or nothing.

The rules (issue "Records in, safely"):

- every row is accepted, skipped as a duplicate (same key, same content) or
  rejected with its row number, column, value, reason and a suggestion;
- the accepted rows of a file are committed in one transaction, or none of
  them: a failure, a refused file or a killed process leaves the store as it
  was; ``strict`` refuses the whole file when any row is rejected;
- rejected rows are kept in the store's quarantine and in a rejects file;
  the file's SHA-256 is recorded with the import;
- a file with personal data (names, ID or phone numbers, birth dates,
  addresses) is refused whole; victims' coordinates are used to find their
  commune and then dropped, never stored;
- the file is read in chunks, so a million rows import in flat memory.

Speed (issue 8): a file repeats a few values over many rows (dates, types,
codes), so each distinct cell value of a column is parsed once per chunk and
the result spread over its rows (:func:`_per_distinct`); records are written
as whole columns of plain Python values (dates as ISO text), which SQLite binds
with no adapter and no None (:meth:`~geo.store.base.Transaction.insert_columns`).
Issue 18: a large file is read, checked and placed in a second process, a
chunk ahead of this one, which hashes, de-duplicates against the store and
writes (:mod:`geo.ingest.ahead`); the outcome is the same either way. No step
calls Python per cell where C can read the cell: coordinates go through
``to_numeric`` as written (:func:`~geo.ingest.parse.read_numbers`, only the few that do
not parse are stripped and have their comma replaced), and a point is looked up only in
the unit set where it can change the outcome (:func:`geo.resolve.resolve_communes`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import catalogue
from geo.ingest.ahead import can_fork, in_second_process, packed_text, unpacked_text
from geo.ingest.columns import ColumnMap, map_columns, personal_columns
from geo.kinds import KINDS, Kind
from geo.ingest.messages import describe
from geo.ingest.parse import (CellErrors, check_outcomes, parse_choice, parse_codes, parse_dates,
                              parse_floats, parse_ints, read_numbers)
from geo.ingest.readers import CHUNK_ROWS, Chunk, FileRefused, checksum, read_chunks
from geo.resolve import resolve_communes
from geo.store.base import QUARANTINE_COLUMNS, Store, Transaction
from geo.store.schema import RECORD_TABLES, STORED_NAMES
from geo.units import NEW, OLD, Registry, unit_set_on

__all__ = ["DEFAULT_SOURCE", "DEMO_SOURCE", "PARALLEL_BYTES", "ImportReport", "Places",
           "import_file"]

#: The source (issuing agency or system) of records when the user names none.
DEFAULT_SOURCE = "default"
#: The source of the synthetic demo records. Real and synthetic records are never mixed:
#: the first import of real records removes the demo, in the same transaction.
DEMO_SOURCE = "demo"
#: From this size on, a file is parsed in a second process while this one writes (about
#: 180,000 rows of CSV, four chunks). Measured 02/12/2026 on the national incidents (CPU
#: seconds of this process / of the second one, serial in brackets): 4 MB 1.09 / 1.36 (1.93),
#: 8 MB 2.18 / 2.76 (3.64); 1M rows, after issue 18's second round (three runs at load
#: 8-14, the serial one at load 5): 8.6-9.0 / 6.3-6.6 (13.4). The hand-over adds an eighth
#: to a large file's CPU time (a quarter before its cells went as joined text) and the
#: first chunk's parsing and the last one's writing never overlap, so on two free cores
#: the second process loses below three chunks (4 MB: about 2.2 s against 1.9), breaks
#: even at 8 MB and wins from there (1M rows: the writing process's 9 CPU-s against 13.4).
PARALLEL_BYTES = 12_000_000
_REJECT_COLUMNS = ("row_number", "record_id", "column_name", "value", "reason", "detail",
                   "suggestion", "raw")


@dataclass(frozen=True)
class Places:
    """What commune resolution needs: the registry and polygons of both unit sets."""

    registry: Registry
    communes_new: gpd.GeoDataFrame
    communes_old: gpd.GeoDataFrame
    outline: object  # shapely geometry of the province

    @classmethod
    def load(cls, settings) -> Places:
        """Read the boundaries of ``settings`` and the registry of their provinces
        (:func:`geo.units.registry_covering`, as the app's context does): a CLI import, once."""
        from geo.boundaries import load_communes, load_outline
        from geo.units import registry_covering

        communes_new = load_communes(settings, NEW)
        return cls.of(registry_covering(communes_new.index), communes_new,
                      load_communes(settings, OLD), load_outline(settings))

    @classmethod
    def of(cls, registry: Registry, communes_new: gpd.GeoDataFrame,
           communes_old: gpd.GeoDataFrame, outline: gpd.GeoDataFrame) -> Places:
        """Places from boundaries already read (the app reads them once, at start)."""
        shape = shapely.union_all(outline.geometry.values)
        shapely.prepare(shape)
        return cls(registry, communes_new, communes_old, shape)


@dataclass
class ImportReport:
    """What an import did, row by row where rows were refused.

    ``status`` is "committed", "refused" (strict mode and rows were rejected;
    nothing imported) or "preview" (nothing written).
    """

    kind: str
    file_name: str
    source: str
    checksum: str
    status: str = "preview"
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    import_id: int | None = None
    unknown_columns: tuple[str, ...] = ()
    notes: list[dict] = field(default_factory=list)
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_REJECT_COLUMNS))
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)
    rejects_file: Path | None = None

    def reject_table(self, lang: str = "vi") -> pd.DataFrame:
        """Rejected rows with the reason written out in ``lang``."""
        table = self.rejects.copy()
        for col in ("suggestion", "column_name", "record_id"):
            table[col] = table[col].astype(object).where(table[col].notna(), None)
        table["reason_text"] = [
            describe(code, lang, **json.loads(detail or "{}"))
            for code, detail in zip(table["reason"], table["detail"], strict=True)
        ]
        return table

    def summary_lines(self, lang: str = "vi") -> list[str]:
        """The summary a person reads after an import, then one line per rejected row."""
        lang = lang if lang in catalogue.LANGUAGES else "vi"

        def t(key: str, **params) -> str:
            return catalogue.text(f"ingest.summary.{key}", lang, **params)

        head = [
            t("head", file=self.file_name, kind=self.kind, source=self.source,
              status=t(f"status.{self.status}")),
            t("counts", read=self.rows_read, accepted=self.accepted,
              duplicates=self.duplicates, rejected=self.rejected),
        ]
        if self.unknown_columns:
            head.append(t("unknown_columns", columns=", ".join(self.unknown_columns)))
        for note in self.notes:
            head.append("  " + note[lang if lang in note else "en"])
        for row in self.reject_table(lang).itertuples():
            head.append(t("row", row=row.row_number,
                          column=f" [{row.column_name}]" if row.column_name else "",
                          reason=row.reason_text,
                          suggestion=t("suggestion", suggestion=row.suggestion)
                          if row.suggestion else ""))
        if self.rejects_file:
            head.append(t("rejects_file", path=self.rejects_file))
        return head

    def to_dict(self, lang: str = "vi") -> dict:
        """Machine-readable form (``--json``)."""
        rejects = self.reject_table(lang)
        return {
            "kind": self.kind, "file": self.file_name, "source": self.source,
            "checksum": self.checksum, "status": self.status, "import_id": self.import_id,
            "rows_read": self.rows_read, "accepted": self.accepted,
            "duplicates": self.duplicates, "rejected": self.rejected,
            "unknown_columns": list(self.unknown_columns),
            "notes": [n.get(lang, n["en"]) for n in self.notes],
            "rejects": [
                {"row": int(r.row_number), "record_id": r.record_id, "column": r.column_name,
                 "value": r.value, "reason": r.reason, "message": r.reason_text,
                 "suggestion": r.suggestion or None}
                for r in rejects.itertuples()
            ],
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
        }


def _note(code: str, **params) -> dict[str, str]:
    """A note of the import in every language (``ingest.note.<code>``), with its code."""
    return {"code": code, **{lang: catalogue.text(f"ingest.note.{code}", lang, **params)
                             for lang in catalogue.LANGUAGES}}


def _both(*keys: str) -> str:
    """A suggestion stored once for readers of both languages: "thêm cột Huyện / add the
    district" (the catalogue's ``ingest.suggest.<key>``, Vietnamese then English)."""
    return " / ".join(" ".join(catalogue.text(f"ingest.suggest.{k}", lang) for k in keys)
                      for lang in catalogue.LANGUAGES)


class _Rollback(Exception):
    """Raised inside the transaction to undo a preview."""


def import_file(
    path: Path,
    kind: str | Kind,
    store: Store,
    places: Places,
    *,
    source: str = DEFAULT_SOURCE,
    strict: bool = False,
    preview: bool = False,
    today: dt.date | None = None,
    rejects_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    display_name: str | None = None,
    before_commit: Callable[[ImportReport], None] | None = None,
    limits=None,
    agency: str | None = None,
    received_on: dt.date | None = None,
    parallel: bool | None = None,
) -> ImportReport:
    """Import the records of ``path`` into ``store``, all or nothing.

    Parameters
    ----------
    path : Path
        CSV (UTF-8, with or without BOM), XLSX, or GeoJSON of points.
    kind : {"incidents", "outreach", "models", "population"}
    store : Store
    places : Places
        Registry and polygons for commune resolution.
    source : str
        Who issued the record ids (an agency or system): a record id is
        unique within its source.
    strict : bool
        Refuse the whole file if any row is rejected.
    preview : bool
        Do everything but write (the dashboard's preview before "confirm").
    today : date, optional
        Dates after it are refused (default: today).
    rejects_dir : Path, optional
        Where the rejects file is written (none in preview, or when None).
    progress : callable, optional
        Called with the number of rows read after each chunk.
    display_name : str, optional
        The file's name as the user knows it (an upload's original name).
    limits : geo.ingest.file_checks.Limits, optional
        Size, row and unpacking limits of the file (default: the command line's;
        the web page passes :data:`~geo.ingest.file_checks.UPLOAD_LIMITS`).
    agency : str, optional
        The agency whose report the file carries (đơn vị báo cáo), for the
        reporting calendar (:mod:`layers.reporting`); default: the source, when
        it names one (not the default source, not the demo's).
    received_on : date, optional
        The day the report was received (default: ``today``); an import of a
        report that came earlier by the document system names that day.
    before_commit : callable, optional
        Called with the report inside the transaction, just before it commits
        (never in preview): the dashboard claims the source and closes the demo
        accounts there. If it raises, nothing is written and the error goes on.
    parallel : bool, optional
        Read, check and place the chunks in a second process, a chunk ahead of the
        writing (:mod:`geo.ingest.ahead`; the same outcome). Default: for a file of
        :data:`PARALLEL_BYTES` or more, when a second process can be forked safely
        (:func:`~geo.ingest.ahead.can_fork`: never from a server's threads).

    Returns
    -------
    ImportReport

    Raises
    ------
    FileRefused
        The file as a whole cannot be imported (unreadable, wrong columns,
        personal data); nothing was written.
    """
    spec = kind if isinstance(kind, Kind) else KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(KINDS)}")
    path = Path(path)
    source = _storable(source or DEFAULT_SOURCE).strip()[:200] or DEFAULT_SOURCE
    today = today or dt.date.today()
    agency = _agency_of(agency, source)
    if received_on is not None and received_on > today:
        raise ValueError(f"received_on {received_on:%d/%m/%Y} is after today "
                         f"({today:%d/%m/%Y})")
    display_name = _storable(display_name)[:255] if display_name else None
    report = ImportReport(kind=spec.name, file_name=display_name or path.name, source=source,
                          checksum=checksum(path) if path.is_file() else "")
    try:
        chunks = read_chunks(path, chunk_rows=chunk_rows, limits=limits)
        ahead = parallel if parallel is not None else (
            path.stat().st_size >= PARALLEL_BYTES and can_fork())
        started = dt.datetime.now(dt.timezone.utc)
        demo_rows = store.sources().get(DEMO_SOURCE, 0) if source != DEMO_SOURCE else 0
        try:
            with store.transaction() as tx:
                report.import_id = tx.new_import({
                    "kind": spec.name, "source": source, "file_name": report.file_name,
                    "checksum": report.checksum, "started_at": started, "finished_at": started,
                    "rows_read": 0, "accepted": 0, "duplicates": 0, "rejected": 0,
                    "status": "running", "strict": bool(strict),
                    "agency": agency, "received_on": received_on or today,
                })
                _run(chunks, spec, tx, places, report, source, today, progress, ahead)
                if report.rows_read == 0:
                    raise FileRefused("file.empty", file=report.file_name)
                report.status = "committed"
                if strict and report.rejected:
                    tx.discard_records(spec.name, report.import_id)
                    report.status = "refused"
                elif demo_rows and report.accepted:  # real records come: the demo goes
                    _replace_demo(tx, report, demo_rows)
                tx.finish_import(report.import_id, {
                    "finished_at": dt.datetime.now(dt.timezone.utc),
                    "rows_read": report.rows_read,
                    "accepted": report.accepted if report.status == "committed" else 0,
                    "duplicates": report.duplicates, "rejected": report.rejected,
                    "status": report.status,
                })
                if preview:
                    raise _Rollback
                if before_commit is not None:
                    before_commit(report)
        except _Rollback:
            report.status = "preview"
            report.import_id = None
    except FileRefused as err:  # named as the user knows the file, not as it was saved
        raise err.named(report.file_name) from None
    if report.status == "refused":
        report.notes.append({"vi": describe("file.strict", "vi", rejected=report.rejected),
                             "en": describe("file.strict", "en", rejected=report.rejected)})
    if rejects_dir is not None and report.status != "preview" and report.rejected:
        report.rejects_file = _write_rejects(report, Path(rejects_dir))
    return report


def _agency_of(agency: str | None, source: str) -> str | None:
    """The reporting agency an import records: the one named, else its source when the
    source names one (the default source and the demo's name none)."""
    if agency is not None:
        agency = " ".join(_storable(agency).split())[:200]
        return agency or None
    return None if source in (DEFAULT_SOURCE, DEMO_SOURCE) else source


def _replace_demo(tx: Transaction, report: ImportReport, demo_rows: int) -> None:
    """Delete the synthetic demo in the transaction that brings the first real records (only
    then: a refused or empty import leaves the demo as it was)."""
    for table in RECORD_TABLES:
        tx.execute(f"DELETE FROM {table} WHERE source = ?", [DEMO_SOURCE])
    report.notes.append(_note("demo_replaced", n=demo_rows))


# -- the pipeline ----------------------------------------------------------------------


@dataclass
class _Parsed:
    """One chunk read, checked and placed: what an import does before the store but the
    content hash (:func:`_hashed`).

    ``raw`` holds the chunk's cells as written (the rejects of a conflict quote them).
    """

    rows: np.ndarray
    unknown_columns: tuple[str, ...]
    accepted: pd.DataFrame
    rejects: pd.DataFrame
    raw: pd.DataFrame

    # Sent from the second process by pickle. pandas 3.1 pickles a text column taken from a
    # larger one with its "" as NaN: text columns travel as plain object arrays, and get
    # their dtype back on arrival. The cells as written travel as joined text
    # (:func:`~geo.ingest.ahead.packed_text`) and are split only if a conflict quotes them.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["raw"] = packed_text(state["raw"])
        for name in ("accepted", "rejects"):
            frame = state[name]
            dtypes = {c: frame[c].dtype for c in frame
                      if isinstance(frame[c].dtype, pd.StringDtype)}
            state[name] = (frame.astype({c: object for c in dtypes}), dtypes)
        return state

    def __setstate__(self, state: dict) -> None:
        for name in ("accepted", "rejects"):
            frame, dtypes = state[name]
            state[name] = frame.astype(dtypes) if dtypes else frame
        state["_raw_packed"] = state.pop("raw")
        self.__dict__.update(state)

    def __getattr__(self, name: str):
        if name == "raw" and "_raw_packed" in self.__dict__:  # unpickled: split on first use
            self.raw = unpacked_text(self.__dict__.pop("_raw_packed"))
            return self.raw
        raise AttributeError(name)


def _parsed(chunks, spec: Kind, places: Places, today: dt.date):
    """The chunks of a file as :class:`_Parsed` (no store needed: a second process may
    run this, see :mod:`geo.ingest.ahead`)."""
    columns: ColumnMap | None = None
    for chunk in chunks:
        if columns is None:
            columns = map_columns(list(chunk.cells.columns), spec)
        flagged = personal_columns(chunk.cells, columns)
        if flagged:
            raise FileRefused("file.personal_data", columns=", ".join(flagged))
        accepted, rejects = _prepare(chunk, spec, columns, places, today)
        if len(accepted) and ("record_id" not in accepted or spec.name == "population"):
            accepted["record_id"] = accepted["new_code"].astype(str) + "-" + \
                accepted["year"].astype(str)
        yield _Parsed(chunk.rows, columns.unknown, accepted, rejects,
                      _raw_fields(chunk, columns))


def _hashed(accepted: pd.DataFrame, spec: Kind) -> np.ndarray:
    """Give the accepted rows of a chunk their ``content_hash``, then drop the points of
    victims (the point placed the victim; the hash is of the record as the file wrote it).
    Returns the mask of the victims whose point was dropped.

    The writing process does this, not the parsing one (:func:`_run`): parsing is the
    longer half of an import, and the hash is a sixth of it (issue 18; the hash also
    need not cross the pipe).
    """
    hidden = np.zeros(len(accepted), bool)
    if not len(accepted):
        return hidden
    accepted["content_hash"] = _content_hash(accepted, spec)
    if spec.name == "incidents":  # the point of a victim places it, then goes
        hidden = ((accepted["type"] == "victim") & accepted["lat"].notna()).to_numpy()
        accepted.loc[hidden, ["lat", "lon"]] = np.nan
    return hidden


def _run(chunks, spec: Kind, tx: Transaction, places: Places, report: ImportReport,
         source: str, today: dt.date, progress, ahead: bool = False) -> None:
    """Parse the chunks (``ahead``: in a second process, a chunk ahead) and store them."""
    victims_unlocated = 0
    parts = in_second_process(lambda: _parsed(chunks, spec, places, today)) if ahead \
        else _parsed(chunks, spec, places, today)
    for part in parts:
        report.unknown_columns = part.unknown_columns
        report.rows_read += len(part.rows)
        hidden = _hashed(part.accepted, spec)
        accepted, rejects, keep, dups = _dedupe(part.accepted, part.rejects, lambda: part.raw,
                                                part.rows, spec, tx, source)
        report.duplicates += dups
        victims_unlocated += int(hidden[keep].sum())
        if len(accepted):
            _insert_records(tx, spec, accepted, source, report.import_id)
        if len(rejects):
            _insert_rejects(tx, spec, rejects, report.import_id)
            report.rejects = pd.concat([report.rejects, rejects], ignore_index=True) \
                if len(report.rejects) else rejects
        report.accepted += len(accepted)
        report.rejected += rejects["row_number"].nunique() if len(rejects) else 0
        if len(report.sample) < 20 and len(accepted):
            report.sample = pd.concat([report.sample, accepted.head(20 - len(report.sample))])
        if progress is not None:
            progress(report.rows_read)
    if victims_unlocated:
        report.notes.append(_note("victim_points", n=victims_unlocated))


def _raw_fields(chunk: Chunk, columns: ColumnMap) -> pd.DataFrame:
    """The known fields' cells as written (strings), named by field."""
    raw = pd.DataFrame(index=chunk.cells.index)
    for name, header in columns.fields.items():
        raw[name] = chunk.cells[header]
    return raw


def _prepare(chunk: Chunk, spec: Kind, columns: ColumnMap, places: Places,
             today: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse and place the rows of one chunk: (accepted rows, rejected cells)."""
    raw = _raw_fields(chunk, columns)
    n = len(raw)
    values = pd.DataFrame(index=raw.index)
    problems: list[tuple[str, CellErrors]] = []
    numbers: dict[str, np.ndarray] = {}  # coordinates read once, for both checks
    if "lat" in raw and "lon" in raw:
        raw = raw.copy()
        errs, numbers["lat"], numbers["lon"] = _swapped(raw, places)
        problems.append(("lat", errs))
    for f in spec.fields:
        errs = CellErrors.empty()
        cells = raw[f.name] if f.name in raw else pd.Series([""] * n, index=raw.index,
                                                           dtype=object)
        if f.type == "date":
            values[f.name] = _per_distinct(
                lambda v, e, f=f: parse_dates(v, today, e, allow_future=f.future), cells, errs)
        elif f.type in ("int", "year"):
            values[f.name] = _per_distinct(lambda v, e, f=f: parse_ints(v, f, e), cells, errs)
        elif f.type == "float" and f.name in numbers:
            values[f.name] = parse_floats(cells, f, errs, numbers[f.name])
        elif f.type == "float":
            values[f.name] = _per_distinct(lambda v, e, f=f: parse_floats(v, f, e), cells, errs)
        elif f.type == "choice":
            values[f.name] = _per_distinct(lambda v, e, f=f: parse_choice(v, f, e), cells, errs)
        elif f.type == "code":
            values[f.name] = _per_distinct(lambda v, e: parse_codes(v), cells, errs)
        else:
            values[f.name] = _per_distinct(lambda v, e: _stripped(v), cells, errs)
        if f.type == "year":
            late = (values[f.name] > today.year).fillna(False).to_numpy(bool)
            errs.add(late, "date.future", lambda i, c=cells: {
                "value": str(c.iat[i]), "today": today.strftime("%d/%m/%Y")})
            values.loc[late, f.name] = pd.NA
        if f.required and f.name in raw:
            empty = _is_empty(cells) & ~np.isin(np.arange(n), errs.positions)
            errs.add(empty, "required.missing", {"column": f.name})
        problems.append((f.name, errs))
    _cross_checks(values, raw, problems)
    _names_in_code_column(values)
    if "__geometry" in chunk.cells:
        errs = CellErrors.empty()
        geom = chunk.cells["__geometry"].to_numpy()
        errs.add(geom != "", "geometry.not_point", lambda i: {"value": geom[i]})
        problems.append(("geometry", errs))
    rejects = _reject_rows(problems, raw, values, chunk.rows, spec)
    bad = np.zeros(n, bool)
    bad[np.isin(np.arange(n), [p for _, e in problems for p in e.positions])] = True
    placed, unplaced = _place(values[~bad], raw[~bad], spec, places)
    more = _unplaced_rejects(unplaced, raw, chunk.rows, spec, places)
    rejects = pd.concat([rejects, more], ignore_index=True) if len(more) else rejects
    rejects = rejects.sort_values("row_number", kind="stable", ignore_index=True)
    placed["__row"] = chunk.rows[placed.index.to_numpy()]
    return placed, rejects


def _swapped(raw: pd.DataFrame, places: Places) -> tuple[CellErrors, np.ndarray, np.ndarray]:
    """Rows whose lat/lon lie outside the province but inside it once swapped.

    Their coordinate cells are blanked in ``raw`` (so no other check fires
    on them); returns the ``coords.swapped`` rejections with the fix, and the
    numbers of the lat and lon cells as they are left (:func:`read_numbers`, NaN
    where blanked), which :func:`parse_floats` then takes instead of reading the
    cells again (a fifth of the parsing of a national file's coordinates, issue 18).
    """
    lat, lon = read_numbers(raw["lat"]), read_numbers(raw["lon"])
    both = np.isfinite(lat) & np.isfinite(lon)
    inside = np.zeros(len(raw), bool)
    flipped = np.zeros(len(raw), bool)
    inside[both] = shapely.contains_xy(places.outline, lon[both], lat[both])
    away = both & ~inside  # only a point outside can be a swapped one
    flipped[away] = shapely.contains_xy(places.outline, lat[away], lon[away])
    swapped = both & ~inside & flipped
    errs = CellErrors.empty()
    errs.add(swapped, "coords.swapped", lambda i: {"lat": lat[i], "lon": lon[i]})
    errs.suggestions = [f"lat = {lon[i]}, lon = {lat[i]}" for i in np.flatnonzero(swapped)]
    raw.loc[swapped, ["lat", "lon"]] = ""
    return errs, np.where(swapped, np.nan, lat), np.where(swapped, np.nan, lon)


def _names_in_code_column(values: pd.DataFrame) -> None:
    """A name written in the code column ("Xã Long Thuận" under Mã xã) is read as the name."""
    if "commune_code" not in values:
        return
    code = values["commune_code"].fillna("")
    name = values["commune"] if "commune" in values else pd.Series("", index=values.index)
    # each distinct code is looked at once (a file names a few thousand communes)
    codes, uniques = pd.factorize(code)
    has_word = pd.Series(uniques, dtype=object).str.contains(r"[^\d\s]", regex=True) \
        .to_numpy(dtype=bool)
    wordy = pd.Series(has_word[codes], index=code.index) & name.fillna("").eq("")
    if wordy.any():
        values["commune"] = name.where(~wordy, code)
        values.loc[wordy, "commune_code"] = ""


def _stripped(cells: pd.Series) -> pd.Series:
    """Cells as stripped text (what a free-text field stores)."""
    if _all_text(cells):
        return pd.Series(list(map(str.strip, _texts(cells))), index=cells.index,
                         dtype=cells.dtype, name=cells.name)
    return cells.map(lambda v: v if isinstance(v, str) else str(v)).str.strip()


def _is_empty(cells: pd.Series) -> np.ndarray:
    if _all_text(cells):  # "" or only white space
        text = _texts(cells)
        return np.fromiter(map(str.isspace, text), bool, len(text)) | \
            (cells.to_numpy(dtype=object) == "")
    return cells.map(lambda v: v is None or (isinstance(v, str) and not v.strip())).to_numpy(bool)


def _texts(cells: pd.Series) -> np.ndarray:
    """The cells as an object array (of ``str`` for a text column), without pandas' per-item
    iteration of string arrays."""
    return cells.to_numpy(dtype=object)


def _all_text(cells: pd.Series) -> bool:
    """Every cell is a ``str`` (a CSV chunk: no empty cell is None or NaN)."""
    return pd.api.types.infer_dtype(cells, skipna=False) in ("string", "empty")


def _per_distinct(parse, cells: pd.Series, errors: CellErrors):
    """``parse(cells, errors)``, computed once per distinct value and spread over the rows.

    The parsers are elementwise (a cell's value, reason and suggestion depend on
    that cell alone), so parsing the distinct values gives the same values and the
    same rejections; a rejection of a value becomes one per row that holds it.
    Only for all-text columns (CSV), and only when values repeat.
    """
    n = len(cells)
    if n < 64 or not _all_text(cells):
        return parse(cells, errors)
    codes, uniques = pd.factorize(cells, use_na_sentinel=False)
    if 2 * len(uniques) > n:
        return parse(cells, errors)
    distinct = pd.Series(uniques, index=pd.RangeIndex(len(uniques)), name=cells.name)
    found = CellErrors.empty()
    parsed = parse(distinct, found)
    if found.positions:
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for pos, code, params, sug in zip(found.positions, found.codes, found.params,
                                          found.suggestions, strict=True):
            rows = order[bounds[pos]:bounds[pos + 1]].tolist()
            errors.positions.extend(rows)
            errors.codes.extend([code] * len(rows))
            errors.params.extend(dict(params) for _ in rows)
            errors.suggestions.extend([sug] * len(rows))
    if isinstance(parsed, pd.Series):
        return pd.Series(parsed.array.take(codes), index=cells.index, name=parsed.name)
    return parsed.take(codes)


def _cross_checks(values: pd.DataFrame, raw: pd.DataFrame, problems) -> None:
    errs = CellErrors.empty()
    if "lat" in values and "lon" in values:
        lat_given = ~_is_empty(raw["lat"]) if "lat" in raw else np.zeros(len(raw), bool)
        lon_given = ~_is_empty(raw["lon"]) if "lon" in raw else np.zeros(len(raw), bool)
        errs.add(lat_given ^ lon_given, "coords.partial", {})
        problems.append(("lat", errs))
        errs = CellErrors.empty()
    if "end_date" in values:
        ends, starts = values["end_date"], values["start_date"]
        before = (ends.notna() & starts.notna() & (ends < starts)).to_numpy()
        errs.add(before, "date.end_before_start", lambda i: {
            "value": ends.iat[i].strftime("%d/%m/%Y"), "start": starts.iat[i].strftime("%d/%m/%Y")})
        problems.append(("end_date", errs))
        errs = CellErrors.empty()
    if "status" in values and "type" in values:  # an incident's outcome fits its type
        check_outcomes(values["type"], values["status"], errs,
                       raw["status"] if "status" in raw else None)
        problems.append(("status", errs))
        errs = CellErrors.empty()
    if "population_14_60" in values:
        sub, total = values["population_14_60"], values["population"]
        over = (sub.notna() & total.notna() & (sub > total)).fillna(False).to_numpy(bool)
        errs.add(over, "population.subset", lambda i: {
            "value": int(sub.iat[i]), "population": int(total.iat[i])})
        problems.append(("population_14_60", errs))


def _raw_json(raw: pd.DataFrame, i: int) -> str:
    row = {k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v)
           for k, v in raw.iloc[i].items()}
    return json.dumps(row, ensure_ascii=False, default=str)


def _reject_rows(problems, raw: pd.DataFrame, values: pd.DataFrame, rows: np.ndarray,
                 spec: Kind) -> pd.DataFrame:
    records = []
    ids = raw["record_id"] if "record_id" in raw else None
    for column, errs in problems:
        for pos, code, params, sug in zip(errs.positions, errs.codes, errs.params,
                                          errs.suggestions, strict=True):
            value = raw[column].iat[pos] if column in raw else params.get("value", "")
            if isinstance(value, (dt.date, dt.datetime)):
                value = value.strftime("%d/%m/%Y")
            records.append({
                "row_number": int(rows[pos]),
                "record_id": str(ids.iat[pos]) if ids is not None else None,
                "column_name": column, "value": "" if value is None else str(value),
                "reason": code, "detail": json.dumps(params, ensure_ascii=False, default=str),
                "suggestion": sug or None, "raw": _raw_json(raw, pos),
            })
    frame = pd.DataFrame(records, columns=list(_REJECT_COLUMNS))
    return frame.sort_values(["row_number"], kind="stable", ignore_index=True)


# -- communes ----------------------------------------------------------------------------


def _place(values: pd.DataFrame, raw: pd.DataFrame, spec: Kind,
           places: Places) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = values.copy()
    if spec.date_field:
        frame["date_for_units"] = frame[spec.date_field]
    else:
        frame["date_for_units"] = pd.NaT  # population names the 2025 communes
    probe = frame.rename(columns={"date": "_date"}).rename(columns={"date_for_units": "date"})
    probe["date"] = pd.to_datetime(probe["date"])  # NaT: no date (population)
    if len(probe) == 0:
        empty = frame.iloc[0:0].copy()
        for col in ("new_code", "old_code", "resolved_by"):
            empty[col] = pd.Series(dtype=object)
        return empty, probe.assign(reason=pd.Series(dtype=object))
    resolved, unresolved = resolve_communes(
        _for_resolve(probe), places.registry, places.communes_new, places.communes_old
    )
    placed = frame.loc[resolved.index].copy()
    placed["new_code"] = resolved["new_code"].astype(object)
    placed["old_code"] = pd.Series(resolved["old_code"], index=resolved.index).astype(object)
    placed["resolved_by"] = resolved["resolved_by"]
    placed = placed.drop(columns=["date_for_units"])
    return placed, unresolved


def _for_resolve(probe: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=probe.index)
    out["date"] = probe["date"]
    for col in ("commune_code", "commune", "district", "lat", "lon"):
        if col in probe:
            out[col] = probe[col]
    if "date" in out and out["date"].isna().all():
        out = out.drop(columns="date")
    return out


def _unplaced_rejects(unplaced: pd.DataFrame, raw: pd.DataFrame, rows: np.ndarray, spec: Kind,
                      places: Places) -> pd.DataFrame:
    records = []
    reg = places.registry
    for idx, rec in unplaced.iterrows():
        reason = str(rec.get("reason", ""))
        date = rec.get("date")
        unit_set = unit_set_on(pd.Timestamp(date).date()) if date is not None and \
            not pd.isna(date) else NEW
        code = str(rec.get("commune_code") or "")
        name = str(rec.get("commune") or "")
        column, value, sug, params = "commune", name, "", {}
        if not pd.isna(rec.get("unlisted_code", pd.NA)):  # see geo.resolve: a unit no one lists
            rcode, params, column, value = _point_unlisted(rec, code, name, reg)
        elif reason.startswith("point lies in former commune"):
            rcode, params, sug = _point_elsewhere(rec, code, name, reg)
            column, value = ("commune_code", code) if code else ("commune", name)
        elif reason.startswith("ambiguous"):
            rcode = "commune.ambiguous"
            params = {"value": name, "candidates": reason.split("candidates: ", 1)[-1]}
            sug = _both("add_district") if unit_set == OLD else ""
        elif "not found among" in reason and not code:
            rcode = "commune.unknown_name"
            params = {"value": name, "unit_set": unit_set}
            sug = _closest_name(name, reg.units(unit_set))
        elif "outside" in reason:
            lat, lon = float(rec["lat"]), float(rec["lon"])
            column, value = "lat", f"{lat}, {lon}"
            params = {"lat": lat, "lon": lon}
            if shapely.contains_xy(places.outline, lat, lon):
                rcode, sug = "coords.swapped", f"lat = {lon}, lon = {lat}"
            else:
                rcode = "point.outside"
        elif code:
            rcode, column, value = "commune.unknown_code", "commune_code", code
            params = {"value": code, "unit_set": unit_set}
            other = OLD if unit_set == NEW else NEW
            if code in reg.units(other).index:
                unit = _both("legacy_unit" if other == OLD else "new_unit")
                sug = f"{reg.units(other).at[code, 'name']} ({code}) {unit}: {_both('check_date')}"
        else:
            rcode, column, value = "commune.missing", "commune", ""
        pos = raw.index.get_loc(idx)
        records.append({
            "row_number": int(rows[pos]),
            "record_id": str(raw["record_id"].iat[pos]) if "record_id" in raw else None,
            "column_name": column, "value": value, "reason": rcode,
            "detail": json.dumps(params, ensure_ascii=False, default=str),
            "suggestion": sug or None, "raw": _raw_json(raw, pos),
        })
    return pd.DataFrame(records, columns=list(_REJECT_COLUMNS))


def _point_elsewhere(rec: pd.Series, code: str, name: str,
                     reg: Registry) -> tuple[str, dict, str]:
    """The reject of a 2025 record whose point lies in a former commune of another 2025
    commune than its code or name (see :mod:`geo.resolve`): both communes, and the fix."""
    named, old, other = (str(rec[c]) for c in ("named_code", "point_old_code", "point_new_code"))
    params = {
        "value": code or name, "commune": reg.communes.at[named, "name"], "named_code": named,
        "lat": round(float(rec["lat"]), 6), "lon": round(float(rec["lon"]), 6),
        "point_commune": reg.legacy.at[old, "name"], "point_code": old,
        "point_new": reg.communes.at[other, "name"], "point_new_code": other,
    }
    sug = f"{params['point_new']} ({other}) {_both('by_point')}; {_both('or_fix_point')}"
    return "commune.point_elsewhere", params, sug


def _point_unlisted(rec: pd.Series, code: str, name: str,
                    reg: Registry) -> tuple[str, dict, str, str]:
    """The reject of a record whose point lies in a unit of the boundaries that the registry
    does not list (see :mod:`geo.resolve`): placed by that point alone
    (``commune.not_in_registry``), or far from the commune its code or name gives
    (``commune.point_not_in_registry``, naming it). Returns the reason code, its
    parameters, the column and the value the reject quotes."""
    params = {"lat": round(float(rec["lat"]), 6), "lon": round(float(rec["lon"]), 6),
              "unit": str(rec["unlisted_code"]), "unit_set": str(rec["unlisted_set"])}
    column, value = ("commune_code", code) if code else ("commune", name) if name else \
        ("lat", f"{params['lat']}, {params['lon']}")
    named = rec.get("named_code", pd.NA)
    if pd.isna(named):
        return "commune.not_in_registry", params, column, value
    params.update(commune=reg.communes.at[str(named), "name"], named_code=str(named))
    return "commune.point_not_in_registry", params, column, value


def _closest_name(name: str, units: pd.DataFrame) -> str:
    import difflib

    from geo.names import name_key

    keys = {name_key(n): n for n in units["name"]}
    close = difflib.get_close_matches(name_key(name), list(keys), n=3, cutoff=0.75)
    return "; ".join(keys[k] for k in close)


# -- duplicates and writing ----------------------------------------------------------------


def _hash_text(col: pd.Series, is_date: bool) -> list[str]:
    """A field's values as the text the content hash is made of ("" when empty)."""
    def text(values: pd.Series) -> pd.Series:
        if is_date:
            return values.dt.strftime("%Y-%m-%d").fillna("")
        return values.astype(object).where(values.notna(), "").astype(str)

    if col.dtype == np.float64:  # coordinates: nearly all distinct, each written by str
        numbers = col.to_numpy()
        written = list(map(str, numbers.tolist()))
        for i in np.flatnonzero(np.isnan(numbers)).tolist():
            written[i] = ""
        return written
    typed = col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) == "string"
    if not typed or len(col) < 64:
        return _texts(text(col)).tolist()
    if _all_text(col) and (_texts(col) == "").all():  # a field the file lacks
        return [""] * len(col)
    codes, uniques = pd.factorize(col)  # each distinct value written once (-1: empty)
    if 2 * len(uniques) > len(col):
        return _texts(text(col)).tolist()
    written = np.array(_texts(text(pd.Series(uniques))).tolist() + [""], dtype=object)
    return written[codes].tolist()


#: The content hash's digest (stored with each record: never change it without a migration
#: that rewrites the stored hashes, or every re-import becomes a conflict).
_BLAKE2B_12 = functools.partial(hashlib.blake2b, digest_size=12)


def _content_hash(values: pd.DataFrame, spec: Kind) -> pd.Series:
    """The hash of a record's fields but its id: the BLAKE2b (12 bytes, hex) of their texts
    (:func:`_hash_text`) joined by U+001F."""
    parts = [_hash_text(values[f.name], f.type == "date") for f in spec.fields
             if f.name != "record_id" and f.name in values]
    joined = map("\x1f".join, zip(*parts)) if parts else [""] * len(values)
    digests = map(_BLAKE2B_12, map(str.encode, joined))  # iterated in C, not in bytecode
    return pd.Series(list(map(hashlib.blake2b.hexdigest, digests)), index=values.index,
                     dtype=object)


def _dedupe(accepted: pd.DataFrame, rejects: pd.DataFrame, raw: Callable[[], pd.DataFrame],
            chunk_rows: np.ndarray, spec: Kind, tx: Transaction, source: str):
    """Drop rows already stored or already met in this file; conflicts become rejections.

    Only the records of this import's own ``source`` are looked at (a record is
    keyed by source + id): what a preview says about duplicates and conflicts
    is about records under that source and nothing else. The dashboard lets an
    account import only under sources it owns (:mod:`dashboard.auth.sources`).

    Same key and same content hash: a duplicate, skipped and counted. Same
    key, other content: rejected (``duplicate.conflict`` against the store,
    ``duplicate.in_file`` against an earlier row of the same chunk). The rows
    kept from earlier chunks of the file are already written, in this import's
    transaction, so they are met here as stored records. ``accepted`` has its
    ``record_id`` and ``content_hash`` (:func:`_parsed`); ``raw()`` gives the chunk's cells
    as written, asked for only when a conflict quotes them. Returns the rows to write,
    the rejects, the mask of ``accepted`` kept and the number of duplicates.
    """
    if not len(accepted):
        return accepted, rejects, np.zeros(0, bool), 0
    # plain object arrays: pandas' own string arrays are iterated value by value in Python
    ids = pd.Series(accepted["record_id"].astype(str).to_numpy(dtype=object), dtype=object)
    hash_arr = accepted["content_hash"].to_numpy(dtype=object)
    rows = accepted["__row"].to_numpy()
    n = len(ids)
    stored = tx.existing(spec.name, source, pd.unique(ids.to_numpy()).tolist())
    if stored:
        store_hash = ids.map(pd.Series(stored, dtype=object)).to_numpy(dtype=object)
        in_store = ids.isin(list(stored)).to_numpy()
    else:  # nothing under these ids yet (a first import): no lookup per row
        store_hash = np.full(n, None, dtype=object)
        in_store = np.zeros(n, bool)
    new = ~in_store
    # the first row of each new key in this chunk stands for it; later ones compare to it
    repeat = np.zeros(n, bool)
    repeat[new] = ids[new].duplicated(keep="first").to_numpy()
    ref_hash = np.full(n, None, dtype=object)
    ref_row = np.full(n, None, dtype=object)
    if repeat.any():
        frame = pd.DataFrame({"id": ids[new], "hash": hash_arr[new], "row": rows[new]})
        first = frame.groupby("id", sort=False).transform("first")
        ref_hash[new] = first["hash"].to_numpy()
        ref_row[new] = first["row"].to_numpy()
    dup = (in_store & (store_hash == hash_arr)) | (repeat & (ref_hash == hash_arr))
    conflict_store = in_store & (store_hash != hash_arr)
    conflict_file = repeat & (ref_hash != hash_arr)
    keep = new & ~repeat
    conflicts = [(i, "duplicate.conflict", {"value": ids.iat[i]})
                 for i in np.flatnonzero(conflict_store)]
    conflicts += [(i, "duplicate.in_file", {"value": ids.iat[i], "first_row": int(ref_row[i])})
                  for i in np.flatnonzero(conflict_file)]
    if conflicts:
        pos_of = {int(r): p for p, r in enumerate(chunk_rows)}
        raw = raw()
        extra = pd.DataFrame([{
            "row_number": int(rows[i]), "record_id": str(ids.iat[i]),
            "column_name": "record_id", "value": str(ids.iat[i]), "reason": code,
            "detail": json.dumps(params, ensure_ascii=False), "suggestion": None,
            "raw": _raw_json(raw, pos_of[int(rows[i])]),
        } for i, code, params in conflicts], columns=list(_REJECT_COLUMNS))
        rejects = pd.concat([rejects, extra], ignore_index=True) if len(rejects) else extra
        rejects = rejects.sort_values("row_number", kind="stable", ignore_index=True)
    return accepted[keep], rejects, keep, int(dup.sum())


_CONVERT = {
    "text": lambda v: None if v is None or v is pd.NA or v == "" or v != v else str(v),
    "int": lambda v: None if v is None or v is pd.NA or v != v else int(v),
    "float": lambda v: None if v is None or v is pd.NA or v != v else float(v),
    "date": lambda v: None if v is None or v is pd.NaT or v != v else
    (v.date() if hasattr(v, "date") else v),
    "bool": lambda v: None if v is None or v is pd.NA else bool(v),
}


def _insert_records(tx: Transaction, spec: Kind, accepted: pd.DataFrame, source: str,
                    import_id: int) -> None:
    """Write accepted rows as whole columns of plain Python values (None for empty, dates as
    ISO text), in the table's order: the store binds them with no adapter per value."""
    table = RECORD_TABLES[spec.name]
    frame = accepted.rename(columns=STORED_NAMES)
    n = len(frame)
    columns: dict[str, list] = {}
    for c in table:
        if c.name == "source":
            columns[c.name] = [_CONVERT[c.type](source)] * n
        elif c.name == "import_id":
            columns[c.name] = [_CONVERT[c.type](import_id)] * n
        elif c.name in frame:
            columns[c.name] = _plain(frame[c.name], c.type)
        else:
            columns[c.name] = [None] * n
    tx.insert_columns(spec.name, columns)


def _plain(col: pd.Series, kind: str) -> list:
    """A column as the list :data:`_CONVERT` makes of it, value by value, but whole (a date
    as its ISO text, what SQLite's date adapter wrote and PostgreSQL reads as a date)."""
    types = pd.api.types
    if kind == "text" and types.infer_dtype(col, skipna=True) in ("string", "empty"):
        values = col.to_numpy(dtype=object)  # compared as a plain array, not by pandas
        empty = pd.isna(values)  # (pd.NA == "" has no truth value: NA cells are not compared)
        empty[~empty] = values[~empty] == ""
        if not empty.any():
            return values.tolist()
        values = values.copy()
    elif kind == "int" and types.is_integer_dtype(col.dtype):
        values = col.to_numpy(dtype="int64", na_value=0).astype(object)
        empty = col.isna().to_numpy()
    elif kind == "float" and (types.is_float_dtype(col.dtype) or types.is_integer_dtype(col.dtype)):
        values = col.to_numpy(dtype="float64", na_value=np.nan).astype(object)
        empty = col.isna().to_numpy()
    elif kind == "date" and types.is_datetime64_dtype(col.dtype):
        # each distinct day written once (a file holds a few thousand days)
        codes, days = pd.factorize(col.to_numpy(dtype="datetime64[D]").view("int64"))
        days = days.view("datetime64[D]")
        written = np.datetime_as_string(days, unit="D").astype(object)
        written[np.isnat(days)] = None
        return written[codes].tolist()
    else:
        return [v.isoformat() if isinstance(v, dt.date) else v
                for v in map(_CONVERT[kind], _texts(col).tolist())]
    if empty.all():
        return [None] * len(values)
    values[empty] = None
    return values.tolist()


def _insert_rejects(tx: Transaction, spec: Kind, rejects: pd.DataFrame, import_id: int) -> None:
    frame = rejects.copy()
    frame["import_id"] = import_id
    frame["kind"] = spec.name
    out = frame[list(QUARANTINE_COLUMNS)].astype(object)
    out = out.where(out.notna(), None)
    out["row_number"] = out["row_number"].map(int)
    tx.insert("quarantine", list(QUARANTINE_COLUMNS), out.itertuples(index=False, name=None))


def _write_rejects(report: ImportReport, folder: Path) -> Path:
    """The rejected rows as CSV (UTF-8 with BOM so Excel shows Vietnamese), beside the store."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(report.file_name).stem
    path = folder / f"{report.import_id:05d}-{report.kind}-{stem}-rejects.csv"
    table = report.reject_table("vi")
    # headers for both readers: the Vietnamese word, then the field's name ("Dòng (row)")
    names = {"row_number": "row", "record_id": "record_id", "column_name": "column",
             "value": "value", "reason_text": "reason", "suggestion": "suggestion",
             "reason": "reason_code", "raw": "raw"}
    table = table[list(names)].rename(columns={
        col: f"{catalogue.text(f'ingest.rejects.col.{name}', 'vi')} ({name})"
        for col, name in names.items()})
    table.map(_inert).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _storable(text: str) -> str:
    """Text every store can hold: no NUL (PostgreSQL refuses it), no lone surrogate (no driver
    encodes it; a modified browser can send both in a file name or a source)."""
    text = str(text).replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def _inert(value):
    """A cell a spreadsheet will show, never run: text that starts like a formula (= + - @,
    tab, CR) gets a leading apostrophe (OWASP's advice against CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
