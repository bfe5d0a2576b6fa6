"""An edit of the store typed by hand in ``sqlite3`` or ``psql``: what no import records."""

from __future__ import annotations

from geo.config import Settings

__all__ = ["by_hand"]


def by_hand(settings: Settings, sql: str) -> None:
    """Run ``sql`` on the store of ``settings`` on a connection of its own (not the
    store's), committed at once, as a person at the database's prompt would."""
    if settings.database_url:
        import psycopg

        with psycopg.connect(settings.database_url, autocommit=True) as con:
            con.execute(sql)
        return
    import sqlite3

    from geo.store import store_path

    con = sqlite3.connect(store_path(settings), isolation_level=None)
    try:
        con.execute(sql)
    finally:
        con.close()
