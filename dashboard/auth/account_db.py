"""Where accounts, sessions, sign-in attempts (failed, and checks running), source owners and the audit log are kept: one SQLite file, or
PostgreSQL when the product runs as several servers on one database.

:class:`dashboard.auth.accounts.Accounts` writes its SQL once, with ``?`` placeholders, and
runs it through one of the two connections here. Each gives it the same four things:
``execute`` (one statement, committed at once), ``transaction`` (several statements as one;
with ``lock`` the transaction is the only writer of that table until it ends, which is what
the sign-in throttling's count-then-reserve needs), ``errors`` (what a refused statement
raises), ``duplicate`` (what a second row with the same key raises) and ``error_text``
(an error as a reader may see it: never a password).

- SQLite (the default): ``accounts.sqlite`` in the data folder, shared by the workers of
  one machine (WAL); a locked transaction is ``BEGIN IMMEDIATE`` (one writer at a time in
  the whole file). Every request writes an audit row: a commit waiting for the disk
  (``fsync``) cost each callback 1–28 ms of its answer. So commits are ``synchronous=NORMAL``
  (the row is in the write-ahead log, and every other connection sees it, before the request
  is served; a crash of the server loses nothing), and a thread of each process syncs the log
  to the disk within :data:`SYNC_SECONDS` of a write: a power cut may lose the rows of that
  last second, no more.
- PostgreSQL (``BORDERWATCH_DATABASE_URL`` set): the tables live in the schema
  :data:`SCHEMA` of the store's database, so that every app server behind a load balancer
  knows the same users and sessions, counts the same failed sign-ins and writes one audit
  log. A locked transaction takes ``LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE``, which lets
  one such transaction at a time, from any server.

Each thread gets its own connection (both drivers' connections are not to be shared
between threads).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path

from geo.store.postgis import pg_sql, redact_message, redact_url

__all__ = ["SCHEMA", "SYNC_SECONDS", "PostgresAccountsDb", "SqliteAccountsDb"]

#: How soon a committed write of an SQLite accounts file is on the disk (its write-ahead
#: log synced by a thread of the process), in seconds.
SYNC_SECONDS = 1.0

#: The PostgreSQL schema that holds the account tables (beside the store's tables).
SCHEMA = "borderwatch_auth"

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL,
    demo INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL,
    created TEXT NOT NULL, last_seen TEXT NOT NULL);
DROP TABLE IF EXISTS failures;
CREATE TABLE IF NOT EXISTS sign_in_attempts (
    username TEXT NOT NULL, address TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sign_in_attempts_user ON sign_in_attempts (username, at);
CREATE INDEX IF NOT EXISTS sign_in_attempts_address ON sign_in_attempts (address, at);
CREATE TABLE IF NOT EXISTS sign_in_checks (
    id TEXT PRIMARY KEY, username TEXT NOT NULL, address TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sign_in_checks_address ON sign_in_checks (address, at);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, username TEXT, role TEXT,
    action TEXT NOT NULL, target TEXT, detail TEXT, address TEXT);
CREATE TABLE IF NOT EXISTS real_records (since TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source_owners (
    source TEXT PRIMARY KEY, username TEXT NOT NULL, claimed TEXT NOT NULL);
"""

#: The same tables in PostgreSQL (times stay ISO text: the code compares them as text).
_POSTGRES_SCHEMA = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    "CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, "
    "role TEXT NOT NULL, demo INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0, "
    "created TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, "
    "csrf TEXT NOT NULL, created TEXT NOT NULL, last_seen TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sign_in_attempts (username TEXT NOT NULL, "
    "address TEXT NOT NULL, at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sign_in_attempts_user ON sign_in_attempts (username, at)",
    "CREATE INDEX IF NOT EXISTS sign_in_attempts_address ON sign_in_attempts (address, at)",
    "CREATE TABLE IF NOT EXISTS sign_in_checks (id TEXT PRIMARY KEY, username TEXT NOT NULL, "
    "address TEXT NOT NULL, at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sign_in_checks_address ON sign_in_checks (address, at)",
    "CREATE TABLE IF NOT EXISTS audit (id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, "
    "username TEXT, role TEXT, action TEXT NOT NULL, target TEXT, detail TEXT, address TEXT)",
    "CREATE TABLE IF NOT EXISTS real_records (since TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS source_owners (source TEXT PRIMARY KEY, "
    "username TEXT NOT NULL, claimed TEXT NOT NULL)",
)
#: Advisory lock that makes creating the account tables one server at a time.
_SCHEMA_LOCK = 0x62775F6175746820  # "bw_auth "


class SqliteAccountsDb:
    """The accounts in one SQLite file (WAL; one connection per thread)."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    duplicate: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().executescript(_SQLITE_SCHEMA)

    def describe(self) -> str:
        return str(self.path)

    def error_text(self, err: Exception) -> str:
        """``err`` as a reader may see it (the file's name and the error)."""
        return f"{self.path.name}: {str(err).strip()}"

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")  # the log synced by _WalSync, not here
            _WAL_SYNC.follow(self.path.with_name(self.path.name + "-wal"))
            self._local.db = db
        return db

    def sync(self) -> None:
        """Put this file's committed writes on the disk now (what the sync thread does
        within :data:`SYNC_SECONDS`; for a server that stops, and tests)."""
        _WAL_SYNC.sync_now()

    def execute(self, sql: str, params=()):
        """Run one statement (committed at once); the cursor, to fetch from or count."""
        return self._connection().execute(sql, tuple(params))

    def executemany(self, sql: str, rows) -> None:
        self._connection().executemany(sql, rows)

    @contextlib.contextmanager
    def transaction(self, *, lock: str | None = None):
        """Statements as one; ``lock`` (a table name): the only writer until the end."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE" if lock else "BEGIN")
        try:
            yield self
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def forget_connection(self) -> None:
        """Close this thread's connection after an error: the next use opens a fresh one."""
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()


class _WalSync:
    """The thread of a process that syncs the write-ahead logs of its SQLite accounts files
    to the disk, each within :data:`SYNC_SECONDS` of its last change (one thread per
    process, started at the first connection; a forked worker starts its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[Path, tuple | None] = {}
        self._pid: int | None = None

    def follow(self, wal: Path) -> None:
        with self._lock:
            self._seen.setdefault(wal, None)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, daemon=True, name="accounts-wal-sync").start()

    def _run(self) -> None:
        while True:
            time.sleep(SYNC_SECONDS)
            self.sync_now()

    def sync_now(self) -> None:
        with self._lock:
            logs = list(self._seen.items())
        for wal, seen in logs:
            try:
                stat = wal.stat()
            except FileNotFoundError:  # not written yet, or the folder is gone
                continue
            state = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if state == seen:
                continue
            try:
                fd = os.open(wal, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            except OSError:
                continue
            finally:
                os.close(fd)
            with self._lock:
                self._seen[wal] = state


_WAL_SYNC = _WalSync()


class PostgresAccountsDb:
    """The accounts in the schema :data:`SCHEMA` of a PostgreSQL database (one connection
    per thread, autocommit outside :meth:`transaction`)."""

    def __init__(self, url: str, *, connect_timeout: int = 10):
        import psycopg

        self.url = url
        self._psycopg = psycopg
        self._connect_timeout = connect_timeout
        self.errors = (psycopg.Error,)
        self.duplicate = (psycopg.errors.UniqueViolation,)
        self._local = threading.local()
        con = self._connection()
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEMA_LOCK])
            for statement in _POSTGRES_SCHEMA:
                con.execute(statement)

    def describe(self) -> str:
        return f"PostgreSQL {redact_url(self.url)}, schema {SCHEMA}"

    def _connection(self):
        con = getattr(self._local, "db", None)
        if con is None or con.closed:
            con = self._psycopg.connect(self.url, autocommit=True,
                                        connect_timeout=self._connect_timeout,
                                        options=f"-c search_path={SCHEMA}")
            self._local.db = con
        return con

    def execute(self, sql: str, params=()):
        """Run one statement (committed at once unless inside :meth:`transaction`).

        Outside a transaction, a connection the database dropped (a restart, a network
        cut) is replaced once: the first request after the database returns is served.
        """
        con = self._connection()
        try:
            return con.execute(pg_sql(sql), list(params))
        except self._psycopg.OperationalError:
            if getattr(self._local, "in_transaction", False):
                raise
            self.forget_connection()
            return self._connection().execute(pg_sql(sql), list(params))

    def error_text(self, err: Exception) -> str:
        """``err`` as a reader may see it: the database named without its password."""
        return f"{self.describe()}: {redact_message(str(err).strip(), self.url)}"

    def executemany(self, sql: str, rows) -> None:
        with self._connection().cursor() as cur:
            cur.executemany(pg_sql(sql), [list(r) for r in rows])

    @contextlib.contextmanager
    def transaction(self, *, lock: str | None = None):
        """Statements as one; ``lock`` (a table name): one such transaction at a time, from
        any server (``SHARE ROW EXCLUSIVE`` conflicts with itself, not with readers)."""
        con = self._connection()
        self._local.in_transaction = True
        try:
            with con.transaction():
                if lock:
                    con.execute(f"LOCK TABLE {lock} IN SHARE ROW EXCLUSIVE MODE")
                yield self
        finally:
            self._local.in_transaction = False

    def forget_connection(self) -> None:
        con = getattr(self._local, "db", None)
        self._local.db = None
        if con is not None:
            with contextlib.suppress(self._psycopg.Error):
                con.close()
