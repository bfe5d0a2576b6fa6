"""The embedded store: one SQLite file in the data folder, no server to run.

Write-ahead logging keeps readers (the dashboard) working while an import
writes; ``BEGIN IMMEDIATE`` makes an import the only writer, and a process
killed mid-import leaves the file as it was before that import began.

A transaction that loads records into an empty table (the first import of
a province's or the country's history) builds that table's secondary
indexes once, at commit, instead of updating them row by row: the same
indexes, in the same transaction (a million bare inserts measured 97,000
rows/s so, 81,000 with the indexes kept up row by row, 54,000 with SQLite's
default page cache as well). The builds sort on two cores: SQLite's sorter
hands sorted runs to a helper thread only when they outgrow the page cache,
so the cache is made small for the builds (issue 18, 02/12/2026, the four
indexes of the national incidents, 1M rows: 4.5 CPU-s on one thread with the
64 MiB cache; 4.6 CPU-s, 2.65 of them on the connection's own thread, with a
2 MiB cache and one helper). The import's parsing process has ended by then,
so the second core is free.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from geo.store.base import (IMPORT_COLUMNS, Store, StoreConflict, StoreError, Transaction,
                             check_kind, conflict_message)
from geo.store.schema import INSERT_TRIGGER, RECORD_TABLES, insert_trigger

__all__ = ["SQLiteStore"]

#: SQLite's limit on bound parameters per statement is 32766; stay well under it.
_BATCH = 10_000
#: Page cache per connection, KiB (SQLite's default is 2 MiB): a large import updates
#: indexes at random places, and misses in a small cache dominate its time.
_CACHE_KIB = 65_536
#: Page cache while the deferred indexes are built, KiB: SQLite's sorter spills a sorted run
#: (for a helper thread to merge) each time its keys fill the cache; a small cache makes
#: runs, and so work, for the helper thread.
_SORT_CACHE_KIB = 2_048


def _use_wal(con: sqlite3.Connection, *, seconds: float = 60) -> None:
    """Switch the file to write-ahead logging (it stays so). Switching a new file needs it
    alone, and SQLite answers "database is locked" at once, without waiting the busy
    timeout, when several processes open a new store together: wait and try again."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _literal(value) -> str | None:
    """``value`` as an SQL literal SQLite reads back as the same value (an int; text, its
    quotes doubled: SQLite's string literals have no other escape), or None when it is
    neither, or text no statement can carry (a NUL, a lone surrogate)."""
    if type(value) is int:
        return str(value)
    if type(value) is str and "\x00" not in value:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return "'" + value.replace("'", "''") + "'"
    return None


class _SQLiteTransaction(Transaction):
    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con
        self._seen: set[str] = set()  # record tables written in this transaction
        self._deferred: list[str] = []  # CREATE INDEX, TRIGGER statements to run before commit

    def execute(self, sql: str, params: Sequence = ()) -> None:
        self._con.execute(sql, list(params))

    def _defer_indexes(self, table: str) -> None:
        """Drop the secondary indexes of an empty record table; :meth:`_build_indexes`
        creates them again before the commit (the primary key stays: duplicates are
        looked up by it during the import)."""
        if self._con.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            return
        indexes = self._con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY name", [table]).fetchall()
        for name, sql in indexes:
            self._con.execute(f"DROP INDEX {name}")
            self._deferred.append(sql)

    def _defer_counting(self, table: str) -> None:
        """Drop the trigger counting the rows inserted into ``table`` (migration 4 of
        :mod:`geo.store.schema`); :meth:`_build_indexes` creates it again before the commit.
        The import is itself in ``imports``: counting its rows one by one would double a
        million-row import, while this transaction holds the only write lock, so no edit
        by hand goes uncounted meanwhile."""
        name = INSERT_TRIGGER.format(table=table)
        if self._con.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                             [name]).fetchone() is None:
            return  # a store before migration 4 (being migrated)
        self._con.execute(f"DROP TRIGGER {name}")
        self._deferred.append(insert_trigger(table))

    def _build_indexes(self) -> None:
        """Create the dropped indexes again, their sorting shared with helper threads (one
        per core beyond the first; :data:`_SORT_CACHE_KIB`); the connection's own settings
        are put back after."""
        if not self._deferred:
            return
        helpers = min(max((os.cpu_count() or 1) - 1, 0), 4)
        self._con.execute(f"PRAGMA threads={helpers}")
        self._con.execute(f"PRAGMA cache_size=-{_SORT_CACHE_KIB if helpers else _CACHE_KIB}")
        try:
            while self._deferred:
                self._con.execute(self._deferred.pop(0))
        finally:
            self._con.execute("PRAGMA threads=0")
            self._con.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple], *,
               marks: Sequence[str] | None = None) -> None:
        if table in RECORD_TABLES and table not in self._seen:
            self._seen.add(table)
            self._defer_indexes(table)
            self._defer_counting(table)
        values = ", ".join(marks or ["?"] * len(columns))
        try:
            self._con.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})", rows
            )
        except sqlite3.IntegrityError as err:
            if "UNIQUE" not in str(err):
                raise
            raise StoreConflict(conflict_message(table, str(err))) from err

    def insert_columns(self, table: str, columns: Mapping[str, Sequence]) -> None:
        """Bind no None: the sqlite3 module adapts a None through its slow generic path
        (a third of the insert's time), plain str, int and float directly. A column empty
        on every row is left to its default (NULL); a column empty on some rows (and with
        no "" of its own) binds "" there, made NULL by SQL (``NULLIF(?, '')``). A column of
        one value on every row (the source, the import) is written into the statement as a
        literal (:func:`_literal`), bound never (a ninth of a national import's binding)."""
        n = len(next(iter(columns.values()), ()))
        names, marks, values = [], [], []
        literals = []  # (name, SQL literal): bound on no row
        for name, column in columns.items():
            empty = column.count(None) if isinstance(column, list) else sum(
                v is None for v in column)
            if empty == n and n:
                continue
            literal = _literal(column[0]) if n and not empty and isinstance(column, list) \
                else None
            if literal is not None and column.count(column[0]) == n:
                literals.append((name, literal))
                continue
            names.append(name)
            if empty and "" not in column:
                marks.append("NULLIF(?, '')")
                values.append(["" if v is None else v for v in column])
            else:
                marks.append("?")
                values.append(column)
        if not names:  # nothing left to bind: rows are made by binding, so bind all
            super().insert_columns(table, columns)
            return
        names += [name for name, _ in literals]
        marks += [literal for _, literal in literals]
        self.insert(table, names, zip(*values, strict=True), marks=marks)

    def new_import(self, values: dict) -> int:
        cols = [c for c in IMPORT_COLUMNS if c in values]
        cur = self._con.execute(
            f"INSERT INTO imports ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [values[c] for c in cols],
        )
        return int(cur.lastrowid)

    def existing(self, kind: str, source: str, record_ids: Sequence[str]) -> dict[str, str]:
        check_kind(kind)
        found: dict[str, str] = {}
        ids = list(record_ids)
        for i in range(0, len(ids), _BATCH):
            part = ids[i : i + _BATCH]
            rows = self._con.execute(
                f"SELECT record_id, content_hash FROM {kind} WHERE source = ? AND record_id IN "
                f"({', '.join('?' * len(part))})",
                [source, *part],
            ).fetchall()
            found.update(rows)
        return found


class SQLiteStore(Store):
    """The embedded store in ``path`` (created with its parent folder if missing)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(self.path, isolation_level=None, timeout=60,
                                        check_same_thread=False)
            _use_wal(self._con)
            self._con.execute("PRAGMA synchronous=NORMAL")
            self._con.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot open the store {self.path}: {err}") from err

    def describe(self) -> str:
        return f"SQLite {self.path}"

    def _query(self, sql: str, params: Sequence = ()) -> tuple[list[str], list[tuple]]:
        try:
            cur = self._con.execute(sql, list(params))
        except sqlite3.DatabaseError as err:
            if "no such table" in str(err):
                raise
            raise StoreError(f"{self.describe()}: {err}") from err
        names = [d[0] for d in cur.description or ()]
        return names, cur.fetchall()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self._con.execute("BEGIN IMMEDIATE")
        tx = _SQLiteTransaction(self._con)
        try:
            yield tx
            tx._build_indexes()
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")

    def close(self) -> None:
        self._con.close()
