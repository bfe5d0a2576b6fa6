"""Accounts, sessions, sign-in throttling and the audit log, in one SQLite file.

The file (``accounts.sqlite`` in the data folder) sits beside the store and is
shared by every worker of the server on the machine (WAL). Passwords are kept
as argon2id hashes (argon2-cffi, its default parameters); session tokens and
CSRF tokens are random (``secrets``) and only the SHA-256 of a session token is
stored, so a copy of the file opens no session. A new sign-in always makes a
new session (no fixation); sessions end after 8 hours idle or 24 hours.

Sign-in throttling: after 5 failures for one user name, or 20 from one address,
in 15 minutes, further attempts are refused without checking the password
until the window has passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dashboard.auth.roles import ROLES

__all__ = ["AccountError", "Accounts", "Session", "DEMO_PASSWORD", "MIN_PASSWORD"]

MIN_PASSWORD = 10
#: Password of the local demo accounts, announced on the sign-in page of the demo.
DEMO_PASSWORD = "minhhoa-demo"
IDLE = dt.timedelta(hours=8)
LIFETIME = dt.timedelta(hours=24)
WINDOW = dt.timedelta(minutes=15)
MAX_USER_FAILURES = 5
MAX_ADDRESS_FAILURES = 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL,
    demo INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL,
    created TEXT NOT NULL, last_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (username TEXT, address TEXT, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, username TEXT, role TEXT,
    action TEXT NOT NULL, target TEXT, detail TEXT, address TEXT);
CREATE INDEX IF NOT EXISTS failures_at ON failures (at);
"""


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


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """The accounts file of one data folder (thread-safe; one connection per thread)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._hasher = PasswordHasher()
        with self._db() as db:
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    # ------------------------------------------------------------------ users

    def create_user(self, username: str, password: str, role: str, *, demo: bool = False) -> None:
        """Add a user; refuses an existing name, an unknown role or a short password."""
        username = (username or "").strip()
        if not username or len(username) > 64 or any(c.isspace() for c in username):
            raise AccountError("bad_name", "user names are 1–64 characters, no spaces")
        self._check_role(role)
        self._check_password(password)
        try:
            with self._db() as db:
                db.execute("INSERT INTO users VALUES (?, ?, ?, ?, 0, ?)",
                           (username, self._hasher.hash(password), role, int(demo),
                            _now().isoformat()))
        except sqlite3.IntegrityError:
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
        rows = self._db().execute(
            "SELECT username, role, demo, disabled, created FROM users ORDER BY username")
        return [{"username": u, "role": r, "demo": bool(d), "disabled": bool(x), "created": c}
                for u, r, d, x, c in rows]

    def has_users(self) -> bool:
        return self._db().execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

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
                self.create_user(name, DEMO_PASSWORD, role, demo=True)
                made.append(name)
        return made

    def _update(self, username: str, assignment: str, value) -> None:
        with self._db() as db:
            cur = db.execute(f"UPDATE users SET {assignment} WHERE username = ?", (value, username))
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
        ("throttled" before any check when too many recent failures, else "invalid")."""
        username = (username or "").strip()[:64]
        since = (_now() - WINDOW).isoformat()
        db = self._db()
        by_user = db.execute("SELECT COUNT(*) FROM failures WHERE username = ? AND at > ?",
                             (username, since)).fetchone()[0]
        by_address = db.execute("SELECT COUNT(*) FROM failures WHERE address = ? AND at > ?",
                                (address, since)).fetchone()[0]
        if by_user >= MAX_USER_FAILURES or by_address >= MAX_ADDRESS_FAILURES:
            raise AccountError("throttled", "too many failed sign-ins; wait 15 minutes")
        row = db.execute("SELECT password_hash, role, disabled FROM users WHERE username = ?",
                         (username,)).fetchone()
        ok = False
        if row is not None and not row[2]:
            try:
                ok = self._hasher.verify(row[0], password or "")
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
        else:  # same work for unknown names: no timing hint that a name exists
            try:
                self._hasher.verify(self._dummy_hash(), password or "")
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                pass
        if not ok:
            with db:
                db.execute("INSERT INTO failures VALUES (?, ?, ?)",
                           (username, address, _now().isoformat()))
                db.execute("DELETE FROM failures WHERE at < ?",
                           ((_now() - 4 * WINDOW).isoformat(),))
            raise AccountError("invalid", "wrong user name or password")
        return row[1]

    def _dummy_hash(self) -> str:
        if not hasattr(self, "_dummy"):
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def start_session(self, username: str) -> tuple[str, str]:
        """A new session for ``username``: (session token for the cookie, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now().isoformat()
        with self._db() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                       (_hash_token(token), username, csrf, now, now))
        return token, csrf

    def session(self, token: str | None) -> Session | None:
        """The live session of ``token`` (refreshing its idle clock), or ``None``."""
        if not token or len(token) > 200:
            return None
        db = self._db()
        row = db.execute(
            "SELECT s.username, u.role, s.csrf, s.created, s.last_seen, u.disabled, u.demo "
            "FROM sessions s JOIN users u USING (username) WHERE s.token_hash = ?",
            (_hash_token(token),)).fetchone()
        if row is None:
            return None
        username, role, csrf, created, last_seen, disabled, demo = row
        now = _now()
        if (disabled or now - dt.datetime.fromisoformat(last_seen) > IDLE
                or now - dt.datetime.fromisoformat(created) > LIFETIME):
            self.end_session(token)
            return None
        if now - dt.datetime.fromisoformat(last_seen) > dt.timedelta(minutes=1):
            with db:
                db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?",
                           (now.isoformat(), _hash_token(token)))
        return Session(username, role, csrf, bool(demo))

    def end_session(self, token: str | None) -> None:
        if token:
            with self._db() as db:
                db.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash_token(token),))

    def _end_sessions_of(self, username: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE username = ?", (username,))

    # ------------------------------------------------------------------ audit

    def audit(self, action: str, *, username: str | None = None, role: str | None = None,
              target: str = "", detail: str = "", address: str = "") -> None:
        """Record who did what (viewed a page, exported, imported, signed in …) and when."""
        with self._db() as db:
            db.execute("INSERT INTO audit (at, username, role, action, target, detail, address) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (_now().isoformat(timespec="seconds"), username, role, action,
                        target[:300], detail[:2000], address[:64]))

    def audit_log(self, *, limit: int = 100, username: str | None = None,
                  action: str | None = None) -> list[dict]:
        """The latest audit entries, newest first."""
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
        keys = ("at", "username", "role", "action", "target", "detail", "address")
        return [dict(zip(keys, row)) for row in self._db().execute(sql, (*params, int(limit)))]
