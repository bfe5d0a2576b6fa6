"""The store's tables, written once and rendered for SQLite and PostgreSQL/PostGIS.

Every record table has the same spine: ``source`` + ``record_id`` (the key:
a record id is unique within its source, the agency or system that issued
it), the record's own fields, the communes it was joined to at ingest in
both unit sets (``new_code``, ``old_code``, ``resolved_by``), the hash of
its content (a re-import of the same content is a no-op, other content under
the same key is a conflict) and the import that brought it.

Migrations are numbered; each is a list of abstract statements rendered per
dialect, so the two back-ends cannot drift apart. A store opened by a newer
version gets the later migrations on open (:meth:`geo.store.base.Store.migrate`),
its records kept: migration 1 creates the tables as they first were
(:data:`_V1_TABLES`), later ones add columns (``ALTER TABLE … ADD COLUMN``,
nullable, so existing rows read them as empty).

- 1: imports, quarantine, the four record tables.
- 2: outreach figures as the plans count them: ``sessions`` (cuộc, buổi,
  lớp, tin bài), ``sites`` (điểm cầu, tủ sách), ``groups`` (nhóm Zalo,
  Facebook), ``members`` (thành viên nòng cốt). Incident outcomes need no
  column: they are the ``status`` (codes per type in :mod:`geo.kinds`).
- 3: an import says whose report it carries and when that report came: ``agency``
  (đơn vị báo cáo: the agency whose figures the file holds, which may differ
  from the ``source`` that owns the record ids, e.g. the Standing Office
  importing a department's report) and ``received_on`` (the day the report was
  received, which may precede the import). The reporting calendar
  (:mod:`layers.reporting`) reads them; earlier imports read as reports of no
  agency.
- 4: ``record_edits``, one row counting the writes to the record tables, kept by
  the database itself (triggers): so that an edit by hand (``UPDATE``, ``DELETE``,
  ``INSERT`` in ``sqlite3`` or ``psql``), which no import records, still changes
  what the records' snapshot is keyed by (:func:`dashboard.records.snapshot_key`).
  SQLite counts each row (it has no statement trigger); an import's own inserts are
  not counted (its transaction drops the insert trigger and creates it again before
  its commit, as it does the indexes: a row trigger would double a million-row
  import) — the import is in ``imports`` already. PostgreSQL counts each statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.kinds import KINDS, Kind

__all__ = ["EDITS_TABLE", "IMPORTS_TABLE", "INSERT_TRIGGER", "LATEST", "MIGRATIONS",
           "QUARANTINE_TABLE", "RECORD_TABLES", "STORED_NAMES", "Column", "insert_trigger",
           "render"]


@dataclass(frozen=True)
class Column:
    """One column: its name, abstract type and whether it may be empty."""

    name: str
    type: str  # text | date | int | float | bool | timestamp
    nullable: bool = True


_SPINE_HEAD = (Column("source", "text", False), Column("record_id", "text", False))
_SPINE_TAIL = (
    Column("commune_code", "text"),
    Column("commune", "text"),
    Column("district", "text"),
    Column("new_code", "text", False),
    Column("old_code", "text"),
    Column("resolved_by", "text", False),
    Column("content_hash", "text", False),
    Column("import_id", "int", False),
)

#: The store's type of each type of field of a record kind (codes and choices are text).
_FIELD_TYPES = {"text": "text", "code": "text", "choice": "text", "date": "date",
                "int": "int", "float": "float", "year": "int"}
#: Fields stored under another name (``class`` is a word SQL reserves).
STORED_NAMES = {"class": "model_class"}
#: The fields of a file that the spine keeps (the key, and the commune as the file names it).
_SPINE_FIELDS = frozenset(c.name for c in (*_SPINE_HEAD, *_SPINE_TAIL)) | {"record_id"}


def _own_columns(kind: Kind) -> tuple[Column, ...]:
    """The columns of a kind's own fields, in the kind's order; a required field is NOT NULL."""
    return tuple(Column(STORED_NAMES.get(f.name, f.name), _FIELD_TYPES[f.type], not f.required)
                 for f in kind.fields if f.name not in _SPINE_FIELDS)


#: Columns of each record table, in order (the importer writes exactly these): the spine
#: around the fields of the record kind (:data:`geo.kinds.KINDS`, their one home).
RECORD_TABLES: dict[str, tuple[Column, ...]] = {
    name: (*_SPINE_HEAD, *_own_columns(kind), *_SPINE_TAIL) for name, kind in KINDS.items()
}

#: Columns each migration after the first adds to a record table, by version.
_ADDED: dict[int, dict[str, tuple[str, ...]]] = {
    2: {"outreach": ("sessions", "sites", "groups", "members")},
}
#: The record tables as migration 1 created them (the later columns taken out).
_V1_TABLES: dict[str, tuple[Column, ...]] = {
    table: tuple(c for c in columns
                 if not any(c.name in added.get(table, ()) for added in _ADDED.values()))
    for table, columns in RECORD_TABLES.items()
}

_IMPORTS = (
    Column("kind", "text", False),
    Column("source", "text", False),
    Column("file_name", "text", False),
    Column("checksum", "text", False),
    Column("started_at", "timestamp", False),
    Column("finished_at", "timestamp", False),
    Column("rows_read", "int", False),
    Column("accepted", "int", False),
    Column("duplicates", "int", False),
    Column("rejected", "int", False),
    Column("status", "text", False),  # committed | refused
    Column("strict", "bool", False),
)
#: Columns of ``imports`` added by a later migration, by version.
_IMPORTS_ADDED: dict[int, tuple[Column, ...]] = {
    3: (Column("agency", "text"), Column("received_on", "date")),
}
#: Columns of the ``imports`` table as the latest migration leaves it (``id`` aside).
IMPORTS_TABLE: tuple[Column, ...] = _IMPORTS + tuple(
    c for version in sorted(_IMPORTS_ADDED) for c in _IMPORTS_ADDED[version])

#: Columns of the ``quarantine`` table (``id`` aside): the rows an import refused, with why.
QUARANTINE_TABLE: tuple[Column, ...] = (
    Column("import_id", "int", False),
    Column("kind", "text", False),
    Column("row_number", "int", False),
    Column("record_id", "text"),
    Column("column_name", "text"),
    Column("value", "text"),
    Column("reason", "text", False),
    Column("detail", "text"),
    Column("suggestion", "text"),
    Column("raw", "text"),
)

_TYPES = {
    "sqlite": {"text": "TEXT", "date": "TEXT", "int": "INTEGER", "float": "REAL",
               "bool": "INTEGER", "timestamp": "TEXT"},
    "postgis": {"text": "TEXT", "date": "DATE", "int": "BIGINT", "float": "DOUBLE PRECISION",
                "bool": "BOOLEAN", "timestamp": "TIMESTAMPTZ"},
}
_SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgis": "BIGSERIAL PRIMARY KEY"}


def _columns_sql(columns: tuple[Column, ...], dialect: str) -> list[str]:
    types = _TYPES[dialect]
    return [f"{c.name} {types[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in columns]


def _create(table: str, columns: tuple[Column, ...], dialect: str, *, key: str | None,
            serial: bool = False) -> str:
    parts = ([f"id {_SERIAL[dialect]}"] if serial else []) + _columns_sql(columns, dialect)
    if key:
        parts.append(f"PRIMARY KEY ({key})")
    return f"CREATE TABLE {table} (\n  " + ",\n  ".join(parts) + "\n)"


def _migration_1(dialect: str) -> list[str]:
    """Imports, quarantine, and the four record tables with their indexes."""
    sql = [
        _create("imports", _IMPORTS, dialect, key=None, serial=True),
        _create("quarantine", QUARANTINE_TABLE, dialect, key=None, serial=True),
        "CREATE INDEX quarantine_import ON quarantine (import_id)",
    ]
    for table, columns in _V1_TABLES.items():
        sql.append(_create(table, columns, dialect, key="source, record_id"))
        sql.append(f"CREATE INDEX {table}_new_code ON {table} (new_code)")
        sql.append(f"CREATE INDEX {table}_old_code ON {table} (old_code)")
        sql.append(f"CREATE INDEX {table}_import ON {table} (import_id)")
    sql.append("CREATE INDEX incidents_date ON incidents (date)")
    sql.append("CREATE INDEX outreach_date ON outreach (date)")
    if dialect == "postgis":
        # The point as PostGIS geometry, kept in step with lat/lon by the database itself.
        sql.append(
            "ALTER TABLE incidents ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS "
            "(CASE WHEN lon IS NOT NULL AND lat IS NOT NULL "
            "THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) END) STORED"
        )
        sql.append("CREATE INDEX incidents_geom ON incidents USING GIST (geom)")
    return sql


def _added_columns(version: int):
    """The migration that adds the columns :data:`_ADDED` lists for ``version``."""
    def statements(dialect: str) -> list[str]:
        sql = []
        for table, names in _ADDED[version].items():
            columns = {c.name: c for c in RECORD_TABLES[table]}
            for name in names:
                (definition,) = _columns_sql((columns[name],), dialect)
                sql.append(f"ALTER TABLE {table} ADD COLUMN {definition}")
        return sql

    statements.__doc__ = f"Columns added by migration {version}: {_ADDED[version]}."
    return statements


def _import_columns(version: int):
    """The migration that adds the ``imports`` columns :data:`_IMPORTS_ADDED` lists for it."""
    def statements(dialect: str) -> list[str]:
        return [f"ALTER TABLE imports ADD COLUMN {definition}"
                for definition in _columns_sql(_IMPORTS_ADDED[version], dialect)]

    statements.__doc__ = (f"Columns of imports added by migration {version}: "
                          f"{[c.name for c in _IMPORTS_ADDED[version]]}.")
    return statements


#: The one-row table counting the writes to the record tables (migration 4).
EDITS_TABLE = "record_edits"
#: The SQLite trigger counting the rows inserted into ``table`` (an import drops it in its
#: transaction and creates it again before its commit: :mod:`geo.store.sqlite`).
INSERT_TRIGGER = "{table}_inserted"
_BUMP = f"UPDATE {EDITS_TABLE} SET n = n + 1 WHERE id = 1"


def _edit_counter(dialect: str) -> list[str]:
    """The counter of writes to the record tables and the triggers that keep it: per row
    in SQLite (insert, update, delete), per statement in PostgreSQL (truncate included)."""
    sql = [f"CREATE TABLE {EDITS_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), "
           f"n {_TYPES[dialect]['int']} NOT NULL)",
           f"INSERT INTO {EDITS_TABLE} (id, n) VALUES (1, 0)"]
    if dialect == "postgis":
        sql.append("CREATE FUNCTION record_edited() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN {_BUMP}; RETURN NULL; END $$")
        sql += [f"CREATE TRIGGER {table}_edited AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION record_edited()"
                for table in RECORD_TABLES]
        return sql
    for table in RECORD_TABLES:
        sql += [insert_trigger(table),
                f"CREATE TRIGGER {table}_updated AFTER UPDATE ON {table} BEGIN {_BUMP}; END",
                f"CREATE TRIGGER {table}_deleted AFTER DELETE ON {table} BEGIN {_BUMP}; END"]
    return sql


def insert_trigger(table: str) -> str:
    """The SQLite statement creating the trigger that counts the rows inserted into
    ``table`` (named :data:`INSERT_TRIGGER`)."""
    name = INSERT_TRIGGER.format(table=table)
    return f"CREATE TRIGGER {name} AFTER INSERT ON {table} BEGIN {_BUMP}; END"


#: Numbered migrations; a store applies those above its recorded version, in one transaction each.
MIGRATIONS: tuple[tuple[int, object], ...] = (
    (1, _migration_1),
    (2, _added_columns(2)),
    (3, _import_columns(3)),
    (4, _edit_counter),
)
#: The version a migrated store is at.
LATEST = max(version for version, _ in MIGRATIONS)


def render(version_sql, dialect: str) -> list[str]:
    """The statements of one migration for ``dialect`` ("sqlite" or "postgis")."""
    if dialect not in _TYPES:
        raise ValueError(f"unknown dialect {dialect!r}")
    return list(version_sql(dialect))
