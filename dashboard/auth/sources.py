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

The table sits beside the users (:mod:`dashboard.auth.account_db`: the accounts file, or
the shared PostgreSQL database of several servers).
The command line (``borderwatch import``, run by the operator) is outside this
rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from dashboard.auth.accounts import Accounts
from geo.ingest import DEMO_SOURCE

__all__ = ["SourceOwners", "SourceRefused", "reserved"]

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
        self.db = accounts.db

    def owner(self, source: str) -> str | None:
        """The account that owns ``source``, or ``None``."""
        row = self.db.execute("SELECT username FROM source_owners WHERE source = ?",
                              (source,)).fetchone()
        return row[0] if row else None

    def owned_by(self, username: str) -> list[str]:
        """The sources ``username`` owns, latest claimed first."""
        rows = self.db.execute("SELECT source FROM source_owners WHERE username = ? "
                               "ORDER BY claimed DESC, source", (username,)).fetchall()
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
        self.db.execute("INSERT INTO source_owners VALUES (?, ?, ?) "
                        "ON CONFLICT (source) DO NOTHING",
                        (source, username, dt.datetime.now(dt.timezone.utc).isoformat()))
        row = self.db.execute("SELECT username FROM source_owners WHERE source = ?",
                              (source,)).fetchone()
        if row is None or row[0] != username:  # another account claimed it meanwhile
            raise SourceRefused("taken", source)
