"""The shared store: PostgreSQL with PostGIS, chosen by ``BORDERWATCH_DATABASE_URL``.

A province's many users share one database. The schema is the embedded
store's (same migrations), plus a PostGIS point column kept by the database
itself. Records are written with ``COPY`` (fast for large imports), inside
the import's one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from geo.store.base import (IMPORT_COLUMNS, Store, StoreConflict, StoreError, Transaction,
                             check_kind, conflict_message)

__all__ = ["PostGISStore", "pg_sql", "redact_message", "redact_url"]


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs).

    Covers ``scheme://user:password@host``, an empty user (``://:password@``),
    and ``password=`` in a query string or a ``key=value`` connection string.

    >>> redact_url("postgresql://bw:s3cret@db:5432/borderwatch?password=x&sslmode=require")
    'postgresql://bw:***@db:5432/borderwatch?password=***&sslmode=require'
    """
    url = re.sub(r"(://[^:/@?#]*:)[^/?#]*@", r"\1***@", url)
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*)", r"\1***", url,
                  flags=re.IGNORECASE)


def redact_message(text: str, url: str) -> str:
    """A driver's message with the URL's password removed (libpq quotes a badly
    percent-encoded password back in its error)."""
    match = re.search(r"://[^:/@?#]*:([^/?#]*)@", url)
    if match and match.group(1):
        text = text.replace(match.group(1), "***")
    return redact_url(text)


#: Key of the advisory lock that makes migrations (and creating PostGIS) one process at a time.
_MIGRATION_LOCK = 0x62775F6D69677261  # "bw_migra"


def pg_sql(sql: str) -> str:
    """Our portable ``?`` placeholders as psycopg's ``%s``."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PgTransaction(Transaction):
    def __init__(self, con) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence = ()) -> None:
        self._con.execute(pg_sql(sql), list(params))

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        import psycopg

        try:
            with self._con.cursor() as cur:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        except psycopg.errors.UniqueViolation as err:
            # The importer checks keys first: only a concurrent import gets here.
            raise StoreConflict(conflict_message(table, str(err).strip())) from err

    def new_import(self, values: dict) -> int:
        cols = [c for c in IMPORT_COLUMNS if c in values]
        cur = self._con.execute(
            f"INSERT INTO imports ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
            "RETURNING id",
            [values[c] for c in cols],
        )
        return int(cur.fetchone()[0])

    def existing(self, kind: str, source: str, record_ids: Sequence[str]) -> dict[str, str]:
        check_kind(kind)
        cur = self._con.execute(
            f"SELECT record_id, content_hash FROM {kind} WHERE source = %s "
            "AND record_id = ANY(%s)",
            [source, list(record_ids)],
        )
        return dict(cur.fetchall())


class PostGISStore(Store):
    """The store in a PostgreSQL database with the PostGIS extension."""

    dialect = "postgis"

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        import psycopg

        self.url = url
        self._psycopg = psycopg
        try:
            self._con = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.Error as err:
            raise StoreError(
                f"cannot reach the database {redact_url(url)}: "
                f"{redact_message(str(err).strip(), url)}. "
                "Check BORDERWATCH_DATABASE_URL and that PostgreSQL is running."
            ) from err
        try:
            # Under the migration lock: two processes opening a new database at once
            # would otherwise both create the extension, and one would fail.
            with self._con.transaction():
                self._con.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK])
                self._con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as err:
            self._con.close()
            raise StoreError(
                f"cannot enable PostGIS in the database {redact_url(url)}: "
                f"{redact_message(str(err).strip(), url)}. Check that the PostGIS extension is "
                "installed on the server, or ask its administrator to run "
                "CREATE EXTENSION postgis in this database."
            ) from err

    def describe(self) -> str:
        return f"PostGIS {redact_url(self.url)}"

    def _query(self, sql: str, params: Sequence = ()) -> tuple[list[str], list[tuple]]:
        try:
            cur = self._con.execute(pg_sql(sql), list(params))
        except self._psycopg.errors.UndefinedTable:
            raise
        except self._psycopg.Error as err:
            raise StoreError(f"{self.describe()}: {str(err).strip()}") from err
        names = [d.name for d in cur.description or ()]
        return names, cur.fetchall()

    def _lock_migrations(self, tx: Transaction) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?)", [_MIGRATION_LOCK])

    def schema_version(self) -> int:
        _, rows = self._query("SELECT to_regclass('schema_version') IS NOT NULL")
        if not rows[0][0]:
            return 0
        return super().schema_version()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction; a connection lost inside it (or at its commit) is a StoreError
        naming the database without its password, and nothing of it is kept."""
        lost = (self._psycopg.OperationalError, self._psycopg.InterfaceError)
        try:
            with self._con.transaction():
                yield _PgTransaction(self._con)
        except lost as err:
            raise StoreError(
                f"lost the connection to the database {redact_url(self.url)} during a write: "
                f"{redact_message(str(err).strip(), self.url)}. Nothing of this write was "
                "kept; check that PostgreSQL is running and try again.") from err

    def close(self) -> None:
        self._con.close()
