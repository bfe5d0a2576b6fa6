"""Who owns each source of imported records (nguồn dữ liệu): an account imports only under
sources it owns.

A record is keyed by its source and its id, and an import compares its rows
with the records already stored under its own source (duplicates, conflicts).
So that an import teaches nothing about records its account may not read, an
account writes only into sources it owns: a source belongs to the account that
imported under it first (claimed in the same step as that import). Nobody
writes into another account's source, into a source whose records came from
the command line (the operator's), or into the reserved source of the
synthetic demo.

The table sits in the accounts file (``accounts.sqlite``), beside the users.
The command line (``borderwatch import``, run by the operator) is outside this
rule.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Collection

from dashboard.auth.accounts import Accounts
from geo.ingest import DEMO_SOURCE

__all__ = ["SourceOwners", "SourceRefused", "reserved"]

_SCHEMA = ("CREATE TABLE IF NOT EXISTS source_owners (source TEXT PRIMARY KEY, "
           "username TEXT NOT NULL, claimed TEXT NOT NULL)")


class SourceRefused(Exception):
    """An account may not import under this source; ``code`` says why: "reserved" (the
    synthetic demo's) or "taken" (another account's, or records the operator imported)."""

    def __init__(self, code: str, source: str):
        super().__init__(f"source {source!r} refused: {code}")
        self.code = code
        self.source = source


def reserved(source: str) -> bool:
    """Whether ``source`` is the synthetic demo's (in any case): nobody imports under it."""
    return source.strip().casefold() == DEMO_SOURCE


class SourceOwners:
    """The owners of the sources, in the accounts file of ``accounts``.

    Examples
    --------
    >>> owners = SourceOwners(accounts)                      # doctest: +SKIP
    >>> owners.claim("Công an tỉnh", "lan", stored={})        # doctest: +SKIP
    >>> owners.owned_by("lan")                                # doctest: +SKIP
    ['Công an tỉnh']
    """

    def __init__(self, accounts: Accounts):
        self.path = accounts.path
        db = self._connect()
        try:
            db.execute(_SCHEMA)
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def owner(self, source: str) -> str | None:
        """The account that owns ``source``, or ``None``."""
        db = self._connect()
        try:
            row = db.execute("SELECT username FROM source_owners WHERE source = ?",
                             (source,)).fetchone()
        finally:
            db.close()
        return row[0] if row else None

    def owned_by(self, username: str) -> list[str]:
        """The sources ``username`` owns, latest claimed first."""
        db = self._connect()
        try:
            rows = db.execute("SELECT source FROM source_owners WHERE username = ? "
                              "ORDER BY claimed DESC, source", (username,)).fetchall()
        finally:
            db.close()
        return [r[0] for r in rows]

    def check(self, source: str, username: str, *, stored: Collection[str]) -> None:
        """Raise :class:`SourceRefused` unless ``username`` may import under ``source``.

        ``stored`` holds the sources that have records in the store: an unowned
        source with records there came from the command line, and is not for
        the taking.
        """
        if reserved(source):
            raise SourceRefused("reserved", source)
        owner = self.owner(source)
        if (owner is None and source in stored) or owner not in (None, username):
            raise SourceRefused("taken", source)

    def claim(self, source: str, username: str, *, stored: Collection[str]) -> None:
        """Make ``username`` the owner of ``source`` (nothing changes if it is already);
        :class:`SourceRefused` if the source is not for ``username`` to take."""
        self.check(source, username, stored=stored)
        db = self._connect()
        try:
            db.execute("INSERT OR IGNORE INTO source_owners VALUES (?, ?, ?)",
                       (source, username, dt.datetime.now(dt.timezone.utc).isoformat()))
            row = db.execute("SELECT username FROM source_owners WHERE source = ?",
                             (source,)).fetchone()
        finally:
            db.close()
        if row is None or row[0] != username:  # another account claimed it meanwhile
            raise SourceRefused("taken", source)
