"""Accounts, sessions, sign-in throttling and the audit log of one installation.

They live in ``accounts.sqlite`` in the data folder, shared by every worker of the
server on the machine (WAL), or, when ``BORDERWATCH_DATABASE_URL`` names the store's
PostgreSQL database, in that database (schema ``borderwatch_auth``), shared by every
app server behind a load balancer (:mod:`dashboard.auth.account_db`). Passwords are kept
as argon2id hashes (argon2-cffi, its default parameters); session tokens and
CSRF tokens are random (``secrets``) and only the SHA-256 of a session token is
stored, so a copy of the tables opens no session. A new sign-in always makes a
new session (no fixation); sessions end after 8 hours idle or 24 hours.

Sign-in throttling (chặn đoán mật khẩu)
---------------------------------------
Every password check is first *reserved*: a row (user name, address, time) is
written into ``sign_in_checks`` inside one locked transaction (SQLite's
``BEGIN IMMEDIATE``; PostgreSQL's ``LOCK TABLE``) that also counts the rows already
there and the failures of ``sign_in_attempts``. One such transaction runs at a time,
whatever the thread, worker process or server, so the count and the reservation are one
step: 40 parallel guesses cannot all see "0 failures so far". A check that fails moves
its row into ``sign_in_attempts`` (a failure); one that succeeds deletes it together with
the earlier failures of the same (user name, address).

A check still running counts as a failure of its own (user name, address) pair only:
parallel guesses at one account from one address are held to the pair's limit, but 20
colleagues behind one NAT address signing in at the same moment are not refused for one
another's checks. Running checks from one address are bounded all the same
(:data:`MAX_ADDRESS_CHECKS`, with its failures), and a check still running after
:data:`CHECK_SECONDS` (its worker died in the middle) counts as a failure everywhere:
never a free guess.

Within 15 minutes (:data:`WINDOW`) an attempt is refused, before any password
check, when

- the same user name from the same address already has
  :data:`MAX_PAIR_FAILURES` (5) failures, its checks still running included — the
  guesses of one attacker at one account;
- the same address has :data:`MAX_ADDRESS_FAILURES` (20) failures, whatever the
  names — one attacker trying many accounts — or :data:`MAX_ADDRESS_CHECKS` (60)
  failures and running checks together;
- the user name has :data:`MAX_USER_FAILURES` (10) failures from all addresses
  together *and* this address has failed for this user name at least once —
  many addresses guessing one account: each further address gets one guess.

No rule refuses the right password from an address that has not failed for
that user name and is not itself over its limit, so nobody can lock another
user out by failing on purpose: a user under attack still signs in from their
own machine. The price: an attacker with many addresses gets one guess per
address after the tenth failure (argon2id makes each slow), and users behind
one shared address (a NAT) share its 20 failures.

Audit log (nhật ký)
-------------------
:meth:`Accounts.audit` writes one row per event; its ``detail`` is plain text
or JSON (a mapping or list is written as compact JSON, long values shortened).
An audit row is never lost to a database hiccup: when the insert fails
(locked, disk I/O error, read-only file) the row is appended as a JSON line to
``<name>-audit-pending.jsonl`` beside the accounts file (``fsync``, under a file
lock), and the next audit write that succeeds, in any worker, first moves the
pending rows into the table with their original times (at least once: a crash
between the commit and the emptying of the journal repeats them). When the
journal cannot be written either, the row goes to the server's error output
and the error is raised, so that the request is refused rather than served
unaudited.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dashboard.auth.account_db import PostgresAccountsDb, SqliteAccountsDb
from dashboard.auth.roles import ROLES

__all__ = ["AccountError", "Accounts", "Session", "DEMO_PASSWORD", "MIN_PASSWORD", "accounts_of"]

MIN_PASSWORD = 10
#: Password of the local demo accounts, announced on the sign-in page of the demo.
DEMO_PASSWORD = "minhhoa-demo"
IDLE = dt.timedelta(hours=8)
LIFETIME = dt.timedelta(hours=24)
WINDOW = dt.timedelta(minutes=15)
#: Failures of one user name from one address, per :data:`WINDOW`.
MAX_PAIR_FAILURES = 5
#: Failures from one address, whatever the user names, per :data:`WINDOW`.
MAX_ADDRESS_FAILURES = 20
#: Failures of one user name from all addresses, after which only addresses that have not
#: failed for it are still checked.
MAX_USER_FAILURES = 10
#: Checks running at once from one address plus its failures, per :data:`WINDOW`: what
#: bounds a burst of parallel guesses at many names before their failures are counted.
MAX_ADDRESS_CHECKS = 60
#: A check still running after this many seconds counts as a failure (its worker died).
CHECK_SECONDS = 120
#: Longest audit ``detail`` kept (characters); longer JSON is shortened value by value.
AUDIT_DETAIL_LIMIT = 4000



class AccountError(Exception):
    """A refused account operation; ``code`` says which ("invalid", "throttled", "exists",
    "unknown_user", "bad_role", "weak_password", "bad_name", "demo_closed")."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Session:
    """A signed-in user: who, which role, and the CSRF token of the session."""

    username: str
    role: str
    csrf: str
    demo: bool


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


_AUDIT_KEYS = ("at", "username", "role", "action", "target", "detail", "address")
_INSERT_AUDIT = ("INSERT INTO audit (at, username, role, action, target, detail, address) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)")


def _journal_rows(text: str) -> list[tuple]:
    """The rows of the audit journal's lines (a line cut short by a crash is skipped)."""
    rows = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not record.get("at") or not record.get("action"):
            print(f"audit journal: unreadable line skipped: {line[:200]!r}", file=sys.stderr)
            continue
        rows.append(tuple(record.get(k) for k in _AUDIT_KEYS))
    return rows


def _storable(text):
    """``text`` that UTF-8 can hold: a lone surrogate (a hostile request can send one)
    becomes its escape ``\\udXXX``, which JSON text reads back as the same character."""
    if not isinstance(text, str):
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _detail_text(detail, limit: int = AUDIT_DETAIL_LIMIT) -> str:
    """``detail`` as text of at most ``limit`` characters: JSON stays JSON (long strings and
    lists inside are shortened), other text is cut with "…"."""
    if isinstance(detail, str):
        if len(detail) <= limit:
            return detail
        try:
            detail = json.loads(detail)
        except ValueError:
            return detail[:limit - 1] + "…"
        if isinstance(detail, str):
            return json.dumps(detail[:limit // 2], ensure_ascii=False)
    for longest, most, depth in ((200, 50, 8), (60, 12, 5), (20, 4, 3)):
        text = json.dumps(_shortened(detail, longest, most, depth), ensure_ascii=False,
                          separators=(",", ":"), default=str)
        if len(text) <= limit:
            return text
    return json.dumps({"cut": text[:limit // 2]}, ensure_ascii=False)


def _shortened(value, longest: int, most: int, depth: int):
    """A copy of a JSON value with strings cut to ``longest`` characters, lists and mappings
    to ``most`` items and nesting to ``depth`` levels (each cut says how much it left out)."""
    if isinstance(value, str):
        return value if len(value) <= longest else f"{value[:longest]}…[{len(value)} chars]"
    if isinstance(value, (list, tuple)):
        if depth <= 0:
            return f"[{len(value)} items]"
        items = [_shortened(v, longest, most, depth - 1) for v in value[:most]]
        return items + ([f"…[{len(value)} items]"] if len(value) > most else [])
    if isinstance(value, Mapping):
        if depth <= 0:
            return f"{{{len(value)} keys}}"
        items = list(value.items())
        out = {str(k)[:longest]: _shortened(v, longest, most, depth - 1)
               for k, v in items[:most]}
        if len(items) > most:
            out["…"] = f"{len(items)} keys"
        return out
    return value


def _stamp(moment: dt.datetime) -> str:
    """A UTC time as sortable text (always with microseconds, so text order is time order)."""
    return moment.isoformat(timespec="microseconds")


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """The accounts of one installation (thread-safe).

    Parameters
    ----------
    path : Path
        The SQLite file (``accounts.sqlite`` in the data folder); with ``database_url`` it
        names only where the audit journal waits (beside it, on this server's disk).
    database_url : str, optional
        A PostgreSQL database (the store's): the accounts live in it, shared by every
        server (:mod:`dashboard.auth.account_db`).
    """

    def __init__(self, path: str | Path, *, database_url: str | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._hasher = PasswordHasher()
        self.db = (PostgresAccountsDb(database_url) if database_url
                   else SqliteAccountsDb(self.path))

    # ------------------------------------------------------------------ users

    def create_user(self, username: str, password: str, role: str, *, demo: bool = False) -> None:
        """Add a user; refuses an existing name, an unknown role or a short password."""
        username = (username or "").strip()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise AccountError("bad_name", "user names are 1–64 characters, no spaces")
        self._check_role(role)
        self._check_password(password)
        try:
            self.db.execute("INSERT INTO users VALUES (?, ?, ?, ?, 0, ?)",
                            (username, self._hasher.hash(password), role, int(demo),
                             _now().isoformat()))
        except self.db.duplicate:
            raise AccountError("exists", f"user {username!r} already exists") from None

    def set_role(self, username: str, role: str) -> None:
        """Change a user's role; the user's open sessions end (the new role applies at once)."""
        self._check_role(role)
        self._update(username, "role = ?", role)
        self._end_sessions_of(username)

    def set_password(self, username: str, password: str) -> None:
        """Change a user's password and end the user's sessions."""
        self._check_password(password)
        self._update(username, "password_hash = ?", self._hasher.hash(password))
        self._end_sessions_of(username)

    def disable(self, username: str, disabled: bool = True) -> None:
        """Stop (or allow again) a user's sign-in; open sessions end."""
        self._update(username, "disabled = ?", int(disabled))
        self._end_sessions_of(username)

    def users(self) -> list[dict]:
        """Every user: name, role, demo, disabled, created (never the hash)."""
        rows = self.db.execute(
            "SELECT username, role, demo, disabled, created FROM users ORDER BY username")
        return [{"username": u, "role": r, "demo": bool(d), "disabled": bool(x), "created": c}
                for u, r, d, x, c in rows]

    def ensure_demo_users(self) -> list[str]:
        """The local demo accounts ``demo-<role>`` for each role, made once (none if real
        users exist). Returns the names made."""
        made = []
        if any(not u["demo"] for u in self.users()):
            return made
        existing = {u["username"] for u in self.users()}
        for role in ROLES:
            name = f"demo-{role}"
            if name not in existing:
                try:
                    self.create_user(name, DEMO_PASSWORD, role, demo=True)
                except AccountError as err:  # another server on the same database made it
                    if err.code != "exists":
                        raise
                    continue
                made.append(name)
        return made

    def close_demo_accounts(self) -> list[str]:
        """Close the demo accounts for good: the store now holds real records.

        They are disabled, their sessions end, and from now on :meth:`session`
        and :meth:`authenticate` refuse them even if one is enabled again (the
        published demo password must open no real record). Returns the names
        closed now.
        """
        with self.db.transaction(lock="users") as db:
            if db.execute("SELECT 1 FROM real_records").fetchone() is None:
                db.execute("INSERT INTO real_records VALUES (?)", (_now().isoformat(),))
            names = [n for (n,) in db.execute(
                "SELECT username FROM users WHERE demo = 1 AND disabled = 0 ORDER BY username")]
            db.execute("UPDATE users SET disabled = 1 WHERE demo = 1")
            db.execute("DELETE FROM sessions WHERE username IN "
                       "(SELECT username FROM users WHERE demo = 1)")
        return names

    def holds_real_records(self) -> bool:
        """Whether real records were imported (:meth:`close_demo_accounts` was called)."""
        return self.db.execute("SELECT 1 FROM real_records").fetchone() is not None

    def _closed_demo(self, username: str) -> bool:
        row = self.db.execute("SELECT demo FROM users WHERE username = ?",
                              (username,)).fetchone()
        return bool(row and row[0]) and self.holds_real_records()

    def _update(self, username: str, assignment: str, value) -> None:
        cur = self.db.execute(f"UPDATE users SET {assignment} WHERE username = ?",
                              (value, username))
        if cur.rowcount == 0:
            raise AccountError("unknown_user", f"no user {username!r}")

    @staticmethod
    def _check_role(role: str) -> None:
        if role not in ROLES:
            raise AccountError("bad_role", f"role must be one of {', '.join(ROLES)}")

    @staticmethod
    def _check_password(password: str) -> None:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise AccountError("weak_password",
                               f"passwords have at least {MIN_PASSWORD} characters")

    # ------------------------------------------------------------------ sign-in

    def authenticate(self, username: str, password: str, address: str = "") -> str:
        """The role of ``username`` if ``password`` is right; :class:`AccountError` otherwise
        ("throttled" before any check, see the module's rules; else "invalid")."""
        username = (username or "").strip()[:64]
        address = (address or "")[:64]
        check = self._reserve_attempt(username, address)
        ok = False
        try:
            if self._closed_demo(username):
                raise AccountError("demo_closed",
                                   "demo accounts are closed: real records are stored")
            row = self.db.execute(
                "SELECT password_hash, role, disabled FROM users WHERE username = ?",
                (username,)).fetchone()
            if row is not None and not row[2]:
                ok = self._verify(row[0], password)
            else:  # same work for unknown names: no timing hint that a name exists
                self._verify(self._dummy_hash(), password)
        finally:
            self._end_attempt(check, username, address, ok)
        if not ok:
            raise AccountError("invalid", "wrong user name or password")
        return row[1]

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _reserve_attempt(self, username: str, address: str) -> str:
        """Count the recent failures and checks and reserve this check, in one write
        transaction: the reserved check's id; :class:`AccountError` "throttled" (nothing
        reserved) when a limit is reached (the module's rules)."""
        now = _now()
        since, dead = _stamp(now - WINDOW), _stamp(now - dt.timedelta(seconds=CHECK_SECONDS))
        check = secrets.token_hex(16)
        with self.db.transaction(lock="sign_in_attempts") as db:
            pair, by_address, by_user, running = db.execute(
                "SELECT "
                "COALESCE(SUM(CASE WHEN username = ? AND address = ? THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN address = ? AND failed = 1 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN username = ? AND failed = 1 THEN 1 ELSE 0 END), 0), "
                "COALESCE(SUM(CASE WHEN address = ? AND failed = 0 THEN 1 ELSE 0 END), 0) "
                "FROM (SELECT username, address, 1 AS failed FROM sign_in_attempts "
                "      WHERE at > ? AND (username = ? OR address = ?) "
                "      UNION ALL "
                "      SELECT username, address, CASE WHEN at <= ? THEN 1 ELSE 0 END "
                "      FROM sign_in_checks WHERE at > ? AND (username = ? OR address = ?)) "
                "AS counted",
                (username, address, address, username, address, since, username, address,
                 dead, since, username, address)).fetchone()
            if (pair >= MAX_PAIR_FAILURES or by_address >= MAX_ADDRESS_FAILURES
                    or by_address + running >= MAX_ADDRESS_CHECKS
                    or (by_user >= MAX_USER_FAILURES and pair > 0)):
                raise AccountError("throttled", "too many failed sign-ins; wait 15 minutes")
            db.execute("INSERT INTO sign_in_checks VALUES (?, ?, ?, ?)",
                       (check, username, address, _stamp(now)))
            db.execute("DELETE FROM sign_in_attempts WHERE at <= ?", (since,))  # counted no more
            db.execute("DELETE FROM sign_in_checks WHERE at <= ?", (since,))
        return check

    def _end_attempt(self, check: str, username: str, address: str, ok: bool) -> None:
        """The check ``check`` is over: a right password forgets it and the earlier failures
        of the pair; else it becomes a failure (one transaction: never counted twice or not
        at all)."""
        with self.db.transaction(lock="sign_in_attempts") as db:
            if ok:
                db.execute("DELETE FROM sign_in_attempts WHERE username = ? AND address = ?",
                           (username, address))
            else:
                db.execute("INSERT INTO sign_in_attempts SELECT username, address, at "
                           "FROM sign_in_checks WHERE id = ?", (check,))
            db.execute("DELETE FROM sign_in_checks WHERE id = ?", (check,))

    def _dummy_hash(self) -> str:
        if not hasattr(self, "_dummy"):
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def start_session(self, username: str) -> tuple[str, str]:
        """A new session for ``username``: (session token for the cookie, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now().isoformat()
        self.db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                        (_hash_token(token), username, csrf, now, now))
        return token, csrf

    def session(self, token: str | None) -> Session | None:
        """The live session of ``token`` (refreshing its idle clock), or ``None``."""
        if not token or len(token) > 200:
            return None
        row = self.db.execute(
            "SELECT s.username, u.role, s.csrf, s.created, s.last_seen, u.disabled, u.demo "
            "FROM sessions s JOIN users u USING (username) WHERE s.token_hash = ?",
            (_hash_token(token),)).fetchone()
        if row is None:
            return None
        username, role, csrf, created, last_seen, disabled, demo = row
        now = _now()
        if (disabled or (demo and self.holds_real_records())
                or now - dt.datetime.fromisoformat(last_seen) > IDLE
                or now - dt.datetime.fromisoformat(created) > LIFETIME):
            self.end_session(token)
            return None
        if now - dt.datetime.fromisoformat(last_seen) > dt.timedelta(minutes=1):
            self.db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                            (now.isoformat(), _hash_token(token)))
        return Session(username, role, csrf, bool(demo))

    def end_session(self, token: str | None) -> None:
        if token:
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash_token(token),))

    def _end_sessions_of(self, username: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE username = ?", (username,))

    # ------------------------------------------------------------------ audit

    def audit(self, action: str, *, username: str | None = None, role: str | None = None,
              target: str = "", detail: str | Mapping | list = "", address: str = "") -> None:
        """Record who did what (viewed a page, exported, imported, signed in …) and when.

        ``detail`` is text, JSON text, or a mapping / list (written as compact JSON, long
        values shortened to fit :data:`AUDIT_DETAIL_LIMIT`). When the database refuses the
        row it waits in the journal beside the file (see the module's docstring)."""
        row = tuple(_storable(v) for v in (
            _now().isoformat(timespec="seconds"), username, role, action,
            str(target or "")[:300], _detail_text(detail), str(address or "")[:64]))
        try:
            self._insert_audit(row)
        except self.db.errors as err:
            self.db.forget_connection()
            self._journal_audit(row, err)

    @property
    def audit_journal(self) -> Path:
        """The file where audit rows wait while the database refuses them."""
        return self.path.with_name(f"{self.path.stem}-audit-pending.jsonl")

    def _insert_audit(self, row: tuple | None) -> None:
        """Insert ``row`` (``None``: none), after the rows waiting in the journal if any, in
        one transaction; the journal is emptied once they are committed."""
        if not self._journal_waiting():
            if row is not None:
                self.db.execute(_INSERT_AUDIT, row)
            return
        journal = None
        try:
            # the database first: one that refuses the rows fails here, and the row waits
            with self.db.transaction(lock="audit") as db:
                journal = open(self.audit_journal, "a+", encoding="utf-8", errors="replace")
                fcntl.flock(journal, fcntl.LOCK_EX)
                journal.seek(0)
                pending = _journal_rows(journal.read())
                if pending:
                    db.executemany(_INSERT_AUDIT, pending)
                if row is not None:
                    db.execute(_INSERT_AUDIT, row)
            journal.truncate(0)  # committed: emptied while still locked
            journal.flush()
            os.fsync(journal.fileno())
        finally:
            if journal is not None:
                journal.close()

    def _journal_waiting(self) -> bool:
        try:
            return self.audit_journal.stat().st_size > 0
        except FileNotFoundError:
            return False

    def _journal_audit(self, row: tuple, err: Exception) -> None:
        line = json.dumps(dict(zip(_AUDIT_KEYS, row)), ensure_ascii=False,
                          separators=(",", ":")) + "\n"
        try:
            with open(self.audit_journal, "ab+") as journal:
                fcntl.flock(journal, fcntl.LOCK_EX)
                if journal.seek(0, os.SEEK_END) > 0:
                    journal.seek(-1, os.SEEK_END)
                    if journal.read(1) != b"\n":  # a line a crash cut short stays alone
                        line = "\n" + line
                journal.write(line.encode("utf-8"))
                journal.flush()
                os.fsync(journal.fileno())
        except OSError:
            print(f"audit row not recorded ({err}): {line}", end="", file=sys.stderr, flush=True)
            raise

    def replay_audit_journal(self) -> int:
        """Move the audit rows waiting in the journal into the table; how many there were
        (0 when the database still refuses them)."""
        if not self._journal_waiting():
            return 0
        waiting = len(_journal_rows(self.audit_journal.read_text(encoding="utf-8",
                                                                 errors="replace")))
        try:
            self._insert_audit(None)
        except self.db.errors:
            self.db.forget_connection()
            return 0
        return waiting

    def audit_log(self, *, limit: int = 100, username: str | None = None,
                  action: str | None = None) -> list[dict]:
        """The latest audit entries, newest first (the journal's waiting rows moved in first,
        when the database takes them)."""
        self.replay_audit_journal()
        sql = "SELECT at, username, role, action, target, detail, address FROM audit"
        where, params = [], []
        if username:
            where.append("username = ?")
            params.append(username)
        if action:
            where.append("action = ?")
            params.append(action)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        return [dict(zip(_AUDIT_KEYS, row))
                for row in self.db.execute(sql, (*params, int(limit)))]


def accounts_of(settings) -> Accounts:
    """The accounts of ``settings`` (users, sessions, audit log): in the store's PostgreSQL
    database when ``settings.database_url`` is set (every server shares them), else the
    ``accounts.sqlite`` file of the data folder."""
    return Accounts(settings.data_dir / "accounts.sqlite", database_url=settings.database_url)
