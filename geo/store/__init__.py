"""Where imported records live: embedded SQLite by default, PostGIS when a URL is set.

>>> from geo.config import Settings
>>> from geo.store import open_store
>>> with open_store(Settings(data_dir="/tmp/bw-doctest")) as store:
...     store.dialect
'sqlite'
"""

from __future__ import annotations

from geo.config import Settings
from geo.store.base import Store, StoreConflict, StoreError, Transaction
from geo.store.schema import RECORD_TABLES

__all__ = ["RECORD_TABLES", "Store", "StoreConflict", "StoreError", "Transaction", "open_store", "store_path"]


def store_path(settings: Settings):
    """The embedded store's file in the data folder."""
    return settings.data_dir / "borderwatch.sqlite"


def open_store(settings: Settings) -> Store:
    """Open (and migrate) the store ``settings`` points to.

    ``settings.database_url`` (``BORDERWATCH_DATABASE_URL``) selects PostgreSQL
    + PostGIS; without it the embedded SQLite file in the data folder is used.
    Raises :class:`StoreError` with a clear message when it cannot be opened.
    """
    if settings.database_url:
        from geo.store.postgis import PostGISStore

        store: Store = PostGISStore(settings.database_url)
    else:
        from geo.store.sqlite import SQLiteStore

        store = SQLiteStore(store_path(settings))
    try:
        store.migrate()
    except Exception:
        store.close()
        raise
    return store
