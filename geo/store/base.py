"""The store interface both back-ends implement: migrations, one-transaction imports, reads.

A :class:`Store` hands out a :class:`Transaction` for an import: everything an
import writes (its ``imports`` row, its records, its quarantined rows) goes
through that one transaction, committed whole or rolled back whole. Reads
return plain DataFrames with dates parsed, so layers never see SQL.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import pandas as pd

from geo.store.schema import (EDITS_TABLE, IMPORTS_TABLE, MIGRATIONS, QUARANTINE_TABLE,
                              RECORD_TABLES, Column, render)

__all__ = ["IMPORT_COLUMNS", "QUARANTINE_COLUMNS", "Store", "StoreConflict", "StoreError",
           "Transaction", "check_kind", "conflict_message"]

#: Columns of the ``imports`` table a caller fills (``id`` is given by the store).
IMPORT_COLUMNS = tuple(c.name for c in IMPORTS_TABLE)
#: Columns of the ``quarantine`` table.
QUARANTINE_COLUMNS = tuple(c.name for c in QUARANTINE_TABLE)


_ID = Column("id", "int", False)


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message says what to check."""


class StoreConflict(StoreError):
    """Records with a key already stored were written (a concurrent import of the same file)."""


def conflict_message(table: str, detail: str) -> str:
    """The message of a :class:`StoreConflict`, the same on both back-ends."""
    return (f"unique key conflict in {table} ({detail}): another import wrote some of the "
            "same records at the same time, and nothing of this import was kept. Import the "
            "file again: records already stored will be skipped as duplicates.")


class Transaction(ABC):
    """What an import may do inside its one transaction."""

    @abstractmethod
    def existing(self, kind: str, source: str, record_ids: Sequence[str]) -> dict[str, str]:
        """Content hashes of the records of ``kind`` already stored under these ids."""

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        """Insert rows (tuples in ``columns`` order) into ``table``."""

    def insert_columns(self, table: str, columns: Mapping[str, Sequence]) -> None:
        """Insert rows given as whole columns (equal-length lists of plain values, None for
        empty), named by column: a back-end may bind them faster than row tuples."""
        names = list(columns)
        self.insert(table, names, zip(*(columns[c] for c in names), strict=True))

    @abstractmethod
    def new_import(self, values: dict) -> int:
        """Insert the ``imports`` row of this import and return its id."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence = ()) -> None:
        """Run one statement (placeholders written ``?``)."""

    def finish_import(self, import_id: int, values: dict) -> None:
        """Write the final counts and status of an import."""
        names = [k for k in values if k in IMPORT_COLUMNS]
        if not names:
            return
        sets = ", ".join(f"{k} = ?" for k in names)
        self.execute(f"UPDATE imports SET {sets} WHERE id = ?",
                     [*(values[k] for k in names), import_id])

    def discard_records(self, kind: str, import_id: int) -> None:
        """Remove the records this import wrote so far (a strict import that is refused)."""
        check_kind(kind)
        self.execute(f"DELETE FROM {kind} WHERE import_id = ?", [import_id])


def check_kind(kind: str) -> None:
    """Refuse a record kind the store has no table for (its name goes into SQL).

    Examples
    --------
    >>> check_kind("incidents")
    >>> check_kind("incidents; DROP TABLE imports")
    Traceback (most recent call last):
    ...
    ValueError: unknown record kind 'incidents; DROP TABLE imports'; expected one of ['incidents', 'models', 'outreach', 'population']
    """
    if kind not in RECORD_TABLES:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {sorted(RECORD_TABLES)}")


class Store(ABC):
    """Where imported records live. Open with :func:`geo.store.open_store`."""

    #: "sqlite" or "postgis"
    dialect: str = ""

    # -- what a back-end provides -------------------------------------------------

    @abstractmethod
    def _query(self, sql: str, params: Sequence = ()) -> tuple[list[str], list[tuple]]:
        """Column names and rows of a query (placeholders written ``?``)."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for messages (never the password)."""

    # -- shared behaviour ----------------------------------------------------------

    def schema_version(self) -> int:
        """The highest migration applied (0 for an empty database)."""
        try:
            _, rows = self._query("SELECT MAX(version) FROM schema_version")
        except StoreError:
            raise
        except Exception:  # noqa: BLE001 - no table yet: a new database
            return 0
        return int(rows[0][0] or 0)

    def migrate(self) -> int:
        """Apply the migrations above the current version; returns the version reached.

        Several processes may open a new database at once (the dashboard's
        workers): each migration re-reads the version inside its transaction,
        under the back-end's migration lock, so it is applied exactly once.
        """
        latest = max(version for version, _ in MIGRATIONS)
        if self.schema_version() >= latest:
            return latest  # up to date: a plain read, no write lock (an import may hold it)
        current = self._ensure_version_table()
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            with self.transaction() as tx:
                self._lock_migrations(tx)
                current = self.schema_version()
                if version <= current:
                    continue
                for sql in render(statements, self.dialect):
                    tx.execute(sql)
                tx.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                           [version, _now()])
            current = version
        return current

    def _lock_migrations(self, tx: Transaction) -> None:
        """Make the rest of ``tx`` the only migration running (SQLite: ``BEGIN IMMEDIATE``
        already makes the transaction the only writer)."""

    def _ensure_version_table(self) -> int:
        with self.transaction() as tx:
            self._lock_migrations(tx)
            tx.execute("CREATE TABLE IF NOT EXISTS schema_version "
                       "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        return self.schema_version()

    def read(self, kind: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All stored records of ``kind`` (dates as datetime64), ordered by source and id."""
        check_kind(kind)
        known = [c.name for c in RECORD_TABLES[kind]]
        cols = list(columns) if columns is not None else known
        unknown = set(cols) - set(known)
        if unknown:
            raise ValueError(f"{kind} has no columns {sorted(unknown)}")
        names, rows = self._query(
            f"SELECT {', '.join(cols)} FROM {kind} ORDER BY source, record_id"
        )
        return _typed(pd.DataFrame(rows, columns=names), kind)

    def count(self, kind: str) -> int:
        """Number of stored records of ``kind``."""
        check_kind(kind)
        return int(self._query(f"SELECT COUNT(*) FROM {kind}")[1][0][0])

    def imports(self) -> pd.DataFrame:
        """Every import attempt that reached the store, newest last."""
        names, rows = self._query(f"SELECT id, {', '.join(IMPORT_COLUMNS)} FROM imports ORDER BY id")
        return _typed(pd.DataFrame(rows, columns=names), (_ID, *IMPORTS_TABLE))

    def quarantine(self, import_id: int | None = None) -> pd.DataFrame:
        """Rejected rows kept with their reasons (all imports, or one)."""
        sql = f"SELECT id, {', '.join(QUARANTINE_COLUMNS)} FROM quarantine"
        params: list = []
        if import_id is not None:
            sql += " WHERE import_id = ?"
            params.append(int(import_id))
        names, rows = self._query(sql + " ORDER BY import_id, row_number, id", params)
        return _typed(pd.DataFrame(rows, columns=names), (_ID, *QUARANTINE_TABLE))

    def sources(self) -> dict[str, int]:
        """Number of stored records per source, over every kind (empty store: ``{}``)."""
        union = " UNION ALL ".join(
            f"SELECT source, COUNT(*) AS n FROM {t} GROUP BY source" for t in RECORD_TABLES
        )
        _, rows = self._query(f"SELECT source, SUM(n) FROM ({union}) AS counts GROUP BY source")
        return {str(src): int(n) for src, n in rows}

    def revision(self) -> int:
        """Id of the latest import (0 if none): readers reload when it changes."""
        return int(self._query("SELECT COALESCE(MAX(id), 0) FROM imports")[1][0][0])

    def edits(self) -> int:
        """How many writes the record tables have had, counted by the database itself
        (migration 4 of :mod:`geo.store.schema`: rows in SQLite, statements in PostgreSQL;
        an import's own inserts aside in SQLite): it changes with an edit by hand, which
        :meth:`revision` does not see. 0 in a store before migration 4."""
        try:
            _, rows = self._query(f"SELECT n FROM {EDITS_TABLE} WHERE id = 1")
        except StoreError:
            raise
        except Exception:  # noqa: BLE001 - no table: a store before migration 4
            return 0
        return int(rows[0][0]) if rows else 0

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _typed(frame: pd.DataFrame, columns: str | Iterable[Column]) -> pd.DataFrame:
    """The same dtypes from both back-ends: SQLite hands back text dates and 0/1 booleans,
    psycopg ``date``/``datetime`` objects in the server's time zone."""
    if isinstance(columns, str):
        columns = RECORD_TABLES[columns]
    for col in columns:
        if col.name not in frame:
            continue
        if col.type == "date":
            frame[col.name] = pd.to_datetime(frame[col.name], format="ISO8601") \
                .astype("datetime64[us]")
        elif col.type == "timestamp":
            frame[col.name] = pd.to_datetime(frame[col.name], format="ISO8601", utc=True) \
                .astype("datetime64[us, UTC]")
        elif col.type == "int":
            frame[col.name] = pd.array(frame[col.name], dtype="Int64")
        elif col.type == "float":
            frame[col.name] = pd.to_numeric(frame[col.name]).astype("float64")
        elif col.type == "bool":
            frame[col.name] = pd.array(frame[col.name], dtype="boolean")
    return frame


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
