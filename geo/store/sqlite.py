"""The embedded store: one SQLite file in the data folder, no server to run.

Write-ahead logging keeps readers (the dashboard) working while an import
writes; ``BEGIN IMMEDIATE`` makes an import the only writer, and a process
killed mid-import leaves the file as it was before that import began.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from geo.store.base import (IMPORT_COLUMNS, Store, StoreConflict, StoreError, Transaction,
                             _check_kind, conflict_message)

__all__ = ["SQLiteStore"]

#: SQLite's limit on bound parameters per statement is 32766; stay well under it.
_BATCH = 10_000


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


class _SQLiteTransaction(Transaction):
    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence = ()) -> None:
        self._con.execute(sql, list(params))

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        marks = ", ".join("?" * len(columns))
        try:
            self._con.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )
        except sqlite3.IntegrityError as err:
            if "UNIQUE" not in str(err):
                raise
            raise StoreConflict(conflict_message(table, str(err))) from err

    def new_import(self, values: dict) -> int:
        cols = [c for c in IMPORT_COLUMNS if c in values]
        cur = self._con.execute(
            f"INSERT INTO imports ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [values[c] for c in cols],
        )
        return int(cur.lastrowid)

    def existing(self, kind: str, source: str, record_ids: Sequence[str]) -> dict[str, str]:
        _check_kind(kind)
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
        try:
            yield _SQLiteTransaction(self._con)
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")

    def close(self) -> None:
        self._con.close()
