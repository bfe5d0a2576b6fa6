"""The store on both back-ends: migrations, one-transaction imports, reads, errors.

Every test taking ``store`` or ``store_settings`` runs twice, ``[sqlite]`` and
``[postgis]`` (see ``tests/conftest.py`` and ``tests/pg.py``).
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
from urllib.parse import urlsplit

import pandas as pd
import pytest

from geo.config import Settings
from geo.kinds import KINDS
from geo.store import RECORD_TABLES, StoreError, open_store
from geo.store.base import IMPORT_COLUMNS, QUARANTINE_COLUMNS
from geo.store.postgis import redact_url
from geo.store.schema import LATEST, MIGRATIONS, STORED_NAMES
from tests.by_hand import by_hand as _by_hand

_NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.timezone.utc)

INCIDENT_COLUMNS = [c.name for c in RECORD_TABLES["incidents"]]
STARTED = dt.datetime(2025, 8, 1, 2, 30, 0, tzinfo=dt.timezone.utc)
FINISHED = dt.datetime(2025, 8, 1, 2, 31, 15, tzinfo=dt.timezone.utc)


def _import_values(**changes) -> dict:
    values = {
        "kind": "incidents", "source": "bien-phong", "file_name": "vu-viec-2025.xlsx",
        "checksum": "9f" * 32, "started_at": STARTED, "finished_at": STARTED,
        "rows_read": 0, "accepted": 0, "duplicates": 0, "rejected": 0,
        "status": "running", "strict": False,
    }
    return {**values, **changes}


def _incident(record_id: str, import_id: int, **changes) -> tuple:
    """One incidents row, as the importer writes it (Python values, in column order)."""
    values = {
        "source": "bien-phong", "record_id": record_id, "date": dt.date(2025, 3, 14),
        "type": "illegal_crossing", "persons": 3, "victims": None, "agency": "Đồn Biên phòng Mộc Bài",
        "status": "closed", "lat": 11.0825, "lon": 106.1763, "commune_code": None,
        "commune": "Xã Bến Cầu", "district": None, "new_code": "25681", "old_code": "25699",
        "resolved_by": "point", "content_hash": f"hash-{record_id}", "import_id": import_id,
    }
    values.update(changes)
    return tuple(values[c] for c in INCIDENT_COLUMNS)


def _quarantined(import_id: int, row_number: int, reason: str = "date.invalid") -> tuple:
    values = {
        "import_id": import_id, "kind": "incidents", "row_number": row_number,
        "record_id": f"BP-{row_number}", "column_name": "date", "value": "31/02/2025",
        "reason": reason, "detail": '{"value": "31/02/2025"}', "suggestion": "ngày không có thật",
        "raw": '{"Ngày": "31/02/2025"}',
    }
    return tuple(values[c] for c in QUARANTINE_COLUMNS)


def _committed_import(store, rows: list[tuple] | None = None) -> int:
    """One committed import of incidents ``rows`` (default: two) with one quarantined row."""
    with store.transaction() as tx:
        import_id = tx.new_import(_import_values())
        rows = rows or [_incident("BP-0001", import_id),
                        _incident("BP-0002", import_id, date=dt.date(2024, 12, 31), persons=None,
                                  lat=None, lon=None, resolved_by="commune_code")]
        tx.insert("incidents", INCIDENT_COLUMNS, rows)
        tx.insert("quarantine", list(QUARANTINE_COLUMNS), [_quarantined(import_id, 7)])
        tx.finish_import(import_id, {"finished_at": FINISHED, "rows_read": len(rows) + 1,
                                     "accepted": len(rows), "rejected": 1,
                                     "status": "committed", "unknown_key": "ignored"})
    return import_id


def _integrity_errors() -> tuple[type[Exception], ...]:
    """Both back-ends report a duplicate key the same way."""
    from geo.store import StoreConflict

    return (StoreConflict,)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the tables ------------------------------------------------------------------------------


def test_each_record_table_is_its_kinds_fields_around_the_spine():
    # the kinds (geo.kinds) are the one home of a record's fields: every field is a column,
    # of the store type of its own, NOT NULL when the file must carry it
    types = {"text": "text", "code": "text", "choice": "text", "date": "date", "int": "int",
             "float": "float", "year": "int"}
    spine = ["source", "record_id", "commune_code", "commune", "district", "new_code",
             "old_code", "resolved_by", "content_hash", "import_id"]
    assert set(RECORD_TABLES) == set(KINDS)
    for name, kind in KINDS.items():
        columns = {c.name: c for c in RECORD_TABLES[name]}
        own = [f for f in kind.fields if f.name not in spine]
        assert [c for c in columns if c not in spine] == [STORED_NAMES.get(f.name, f.name)
                                                           for f in own], name
        for f in own:
            column = columns[STORED_NAMES.get(f.name, f.name)]
            assert (column.type, column.nullable) == (types[f.type], not f.required), f.name
        assert not columns["source"].nullable and not columns["new_code"].nullable
    assert STORED_NAMES == {"class": "model_class"}   # a word SQL reserves
    assert QUARANTINE_COLUMNS == ("import_id", "kind", "row_number", "record_id", "column_name",
                                  "value", "reason", "detail", "suggestion", "raw")


def test_a_kind_the_store_does_not_hold_is_refused_before_any_sql(store):
    for bad in ("victims", "incidents; DROP TABLE imports", ""):
        with pytest.raises(ValueError, match="unknown record kind"):
            store.read(bad)
        with pytest.raises(ValueError, match="unknown record kind"):
            store.count(bad)
    assert store.count("incidents") == 0


# -- migrations ------------------------------------------------------------------------------


def test_new_store_is_migrated_to_the_latest_version_and_empty(store, store_settings):
    assert store.dialect == ("postgis" if store_settings.database_url else "sqlite")
    assert store.schema_version() == LATEST == 4
    assert {kind: store.count(kind) for kind in RECORD_TABLES} == dict.fromkeys(RECORD_TABLES, 0)
    assert store.revision() == 0
    assert list(store.imports().columns) == ["id", *IMPORT_COLUMNS]
    assert list(store.quarantine().columns) == ["id", *QUARANTINE_COLUMNS]
    assert list(store.read("outreach").columns) == [c.name for c in RECORD_TABLES["outreach"]]


def test_an_edit_by_hand_is_counted_by_the_store_itself(store, store_settings):
    """The writes to the record tables that no import records (UPDATE, DELETE, INSERT typed
    in sqlite3 or psql) move the store's own count (migration 4); reading does not. SQLite
    leaves an import's own inserts out (its insert trigger is dropped and made again in the
    import's transaction), and counts a hand insert again after an import."""
    assert store.edits() == 0
    import_id = _committed_import(store)
    after_import = store.edits()
    assert after_import == (1 if store_settings.database_url else 0)  # PostgreSQL: the COPY
    store.read("incidents")
    assert store.edits() == after_import
    seen = [after_import]
    for sql in ("UPDATE incidents SET type = 'victim' WHERE record_id = 'BP-0001'",
                "DELETE FROM incidents WHERE record_id = 'BP-0002'",
                "INSERT INTO incidents (source, record_id, date, type, new_code, resolved_by, "
                f"content_hash, import_id) VALUES ('tay', 'BP-9', '2024-08-01', 'tip', '25681', "
                f"'commune_code', 'h', {import_id})"):
        _by_hand(store_settings, sql)
        seen.append(store.edits())
    assert seen == sorted(seen) and len(set(seen)) == 4, seen
    assert store.revision() == import_id  # no import: the revision alone would not tell
    _committed_import(store, [_incident("BP-0003", import_id + 1)])
    _by_hand(store_settings, "UPDATE models SET agency = 'x' WHERE 1 = 0")  # no row
    counted = store.edits()
    if not store_settings.database_url:
        assert counted == seen[-1]  # neither the import nor an update of no row
        _, rows = store._query("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                               "AND name = 'incidents_inserted'")
        assert rows == [("incidents_inserted",)]
    _by_hand(store_settings, "INSERT INTO incidents (source, record_id, date, type, new_code, "
             "resolved_by, content_hash, import_id) VALUES ('tay', 'BP-10', '2024-08-01', "
             f"'tip', '25681', 'commune_code', 'h', {import_id})")
    assert store.edits() > counted


def test_migrate_is_idempotent(store, store_settings):
    import_id = _committed_import(store)
    assert store.migrate() == LATEST
    assert store.migrate() == LATEST
    with open_store(store_settings) as again:  # a second process opening the same store
        assert again.schema_version() == LATEST
        assert again.count("incidents") == 2
        assert again.revision() == import_id
    _, rows = store._query("SELECT version FROM schema_version")
    assert rows == [(v,) for v, _ in MIGRATIONS]


def test_stores_opened_at_once_migrate_once(store_settings):
    # Several dashboard workers starting on a new database at the same moment.
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_and_close():
        barrier.wait()
        try:
            open_store(store_settings).close()
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=open_and_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_store(store_settings) as store:
        _, rows = store._query("SELECT version FROM schema_version")
        assert rows == [(v,) for v, _ in MIGRATIONS]


def _version_1_store(settings: Settings, version: int = 1):
    """A store as the first schema left it: migration 1 only, no outreach figures (or, with
    ``version``, as the migrations up to it left it)."""
    from geo.store import store_path
    from geo.store.base import _now
    from geo.store.schema import render

    if settings.database_url:
        from geo.store.postgis import PostGISStore

        store = PostGISStore(settings.database_url)
    else:
        from geo.store.sqlite import SQLiteStore

        store = SQLiteStore(store_path(settings))
    store._ensure_version_table()
    for number, statements in MIGRATIONS[:version]:
        with store.transaction() as tx:
            for sql in render(statements, store.dialect):
                tx.execute(sql)
            tx.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                       [number, _now()])
    return store


def test_a_version_1_store_gets_the_outreach_figures_on_open_and_keeps_its_records(
        store_settings):
    old = _version_1_store(store_settings)
    try:
        assert old.schema_version() == 1
        cols, _ = old._query("SELECT * FROM outreach WHERE 1 = 0")
        assert "sites" not in cols and "participants" in cols
        import_id = _committed_import(old)
        columns = ["source", "record_id", "date", "agency", "format", "participants",
                   "materials", "commune_code", "commune", "district", "new_code", "old_code",
                   "resolved_by", "content_hash", "import_id"]
        with old.transaction() as tx:
            tx.insert("outreach", columns, [
                ("hlhpn", "TT-1", dt.date(2024, 7, 30), "Hội LHPN", "meeting", 120, 300, None,
                 "Xã Bến Cầu", None, "25681", "25699", "name", "h1", import_id)])
    finally:
        old.close()
    with open_store(store_settings) as store:  # a newer version opens the old store
        assert store.schema_version() == LATEST == 4
        _, rows = store._query("SELECT version FROM schema_version ORDER BY version")
        assert rows == [(1,), (2,), (3,), (4,)]
        assert store.count("incidents") == 2 and store.revision() == import_id
        outreach = store.read("outreach")
        assert list(outreach.columns) == [c.name for c in RECORD_TABLES["outreach"]]
        row = outreach.iloc[0]
        assert (row["record_id"], row["participants"], row["materials"]) == ("TT-1", 120, 300)
        assert all(pd.isna(row[c]) for c in ("sessions", "sites", "groups", "members"))
        assert str(outreach["sites"].dtype) == "Int64"
        # and the new columns take the plans' figures
        names = [c.name for c in RECORD_TABLES["outreach"]]
        values = dict(zip(columns, ("hlhpn", "TT-2", dt.date(2025, 7, 30), "Sở Tư pháp",
                                    "meeting", 1835, None, None, None, None, "25681", None,
                                    "code", "h2", import_id), strict=True))
        values |= {"sessions": 1, "sites": 158, "groups": None, "members": None}
        with store.transaction() as tx:
            tx.insert("outreach", names, [tuple(values[n] for n in names)])
        again = store.read("outreach").set_index("record_id")
        assert again.loc["TT-2", ["sessions", "sites", "participants"]].tolist() == [1, 158, 1835]
    with open_store(store_settings) as store:  # opened again: nothing more to do
        assert store.migrate() == LATEST and store.count("outreach") == 2


# -- one import, one transaction -------------------------------------------------------------


def test_import_round_trip_keeps_values_and_types(store):
    import_id = _committed_import(store)
    assert import_id == store.revision() == 1

    incidents = store.read("incidents")
    assert list(incidents.columns) == INCIDENT_COLUMNS
    assert incidents["record_id"].tolist() == ["BP-0001", "BP-0002"]
    assert incidents["date"].dtype == "datetime64[us]"
    assert incidents["date"].tolist() == [pd.Timestamp("2025-03-14"), pd.Timestamp("2024-12-31")]
    assert incidents["persons"].dtype == "Int64"
    assert incidents["persons"].iloc[0] == 3
    assert incidents["persons"].isna().tolist() == [False, True]
    assert incidents["victims"].dtype == "Int64"
    assert incidents["victims"].isna().all()
    assert incidents["import_id"].dtype == "Int64"
    assert incidents["import_id"].tolist() == [1, 1]
    assert incidents["lat"].dtype == incidents["lon"].dtype == "float64"
    assert incidents["lat"].iloc[0] == pytest.approx(11.0825)
    assert incidents["lon"].iloc[0] == pytest.approx(106.1763)
    assert incidents["lat"].isna().tolist() == [False, True]
    assert incidents["commune"].tolist() == ["Xã Bến Cầu", "Xã Bến Cầu"]
    assert incidents["agency"].iloc[0] == "Đồn Biên phòng Mộc Bài"
    assert incidents["resolved_by"].tolist() == ["point", "commune_code"]

    subset = store.read("incidents", ["record_id", "date", "persons"])
    assert list(subset.columns) == ["record_id", "date", "persons"]
    assert subset["date"].dtype == "datetime64[us]"
    assert store.count("incidents") == 2
    assert store.count("outreach") == 0


def test_columns_of_one_value_on_every_row_are_stored_as_given(store):
    """The SQLite store writes such a column into its statement, not bound: quotes, marks
    and Vietnamese come back as they went in, numbers as numbers, every row."""
    source = "Đồn 'Mộc Bài' ? :x -- ;"
    with store.transaction() as tx:
        import_id = tx.new_import(_import_values(source=source))
        rows = [_incident(f"BP-{i}", import_id, source=source, persons=4, lat=None, lon=None,
                          agency="Đồn Biên phòng Mộc Bài") for i in range(3)]
        columns = {c: [row[k] for row in rows] for k, c in enumerate(INCIDENT_COLUMNS)}
        tx.insert_columns("incidents", columns)
    incidents = store.read("incidents")
    assert incidents["source"].tolist() == [source] * 3
    assert incidents["record_id"].tolist() == ["BP-0", "BP-1", "BP-2"]
    assert incidents["import_id"].tolist() == [import_id] * 3
    assert incidents["persons"].dtype == "Int64"
    assert incidents["persons"].tolist() == [4, 4, 4]
    assert incidents["lat"].isna().all()
    assert incidents["agency"].tolist() == ["Đồn Biên phòng Mộc Bài"] * 3
    assert store.count("incidents") == 3


def test_a_table_of_one_value_in_every_column_keeps_all_its_rows(store):
    """Columns all alike across rows still make one row per row given (rows are made by
    binding: the SQLite store binds them all then)."""
    with store.transaction() as tx:
        import_id = tx.new_import(_import_values())
        tx.insert_columns("quarantine", {
            "import_id": [import_id] * 4, "kind": ["incidents"] * 4, "row_number": [7] * 4,
            "reason": ["date.invalid"] * 4})
    _, rows = store._query("SELECT import_id, kind, row_number, reason FROM quarantine")
    assert rows == [(import_id, "incidents", 7, "date.invalid")] * 4


def test_imports_table_has_the_same_types_on_both_backends(store):
    import_id = _committed_import(store)
    imports = store.imports()
    assert len(imports) == 1
    row = imports.iloc[0]
    assert row["id"] == import_id
    assert (row["kind"], row["source"], row["file_name"]) == \
        ("incidents", "bien-phong", "vu-viec-2025.xlsx")
    assert row["status"] == "committed"
    assert (row["rows_read"], row["accepted"], row["duplicates"], row["rejected"]) == (3, 2, 0, 1)
    assert imports["started_at"].dtype == "datetime64[us, UTC]"
    assert row["started_at"] == pd.Timestamp("2025-08-01 02:30:00", tz="UTC")
    assert row["finished_at"] == pd.Timestamp("2025-08-01 02:31:15", tz="UTC")
    assert imports["strict"].dtype == "boolean"
    assert imports["strict"].tolist() == [False]
    assert imports["rows_read"].dtype == "Int64"


def test_quarantine_keeps_rejected_rows_per_import(store):
    first = _committed_import(store)
    with store.transaction() as tx:
        second = tx.new_import(_import_values(file_name="dot-2.csv"))
        tx.insert("quarantine", list(QUARANTINE_COLUMNS),
                  [_quarantined(second, 12, "commune.unknown"), _quarantined(second, 3)])
    assert second > first
    assert store.revision() == second

    everything = store.quarantine()
    assert everything["import_id"].tolist() == [first, second, second]
    assert everything["row_number"].tolist() == [7, 3, 12]  # by import, then row
    assert everything["row_number"].dtype == "Int64"

    only_second = store.quarantine(second)
    assert only_second["reason"].tolist() == ["date.invalid", "commune.unknown"]
    assert only_second["value"].tolist() == ["31/02/2025", "31/02/2025"]
    assert only_second["suggestion"].iloc[0] == "ngày không có thật"
    assert store.quarantine(first)["record_id"].tolist() == ["BP-7"]
    assert len(store.quarantine(second + 100)) == 0


def test_existing_returns_stored_hashes_of_one_source(store):
    import_id = _committed_import(store)
    with store.transaction() as tx:
        tx.insert("incidents", INCIDENT_COLUMNS,
                  [_incident("BP-0001", import_id, source="cong-an", content_hash="other")])
        assert tx.existing("incidents", "bien-phong", ["BP-0001", "BP-0002", "BP-9999"]) == {
            "BP-0001": "hash-BP-0001", "BP-0002": "hash-BP-0002"}
        assert tx.existing("incidents", "cong-an", ["BP-0001", "BP-0002"]) == {
            "BP-0001": "other"}
        assert tx.existing("incidents", "bien-phong", []) == {}
        assert tx.existing("outreach", "bien-phong", ["BP-0001"]) == {}
        with pytest.raises(ValueError, match="unknown record kind 'victims'"):
            tx.existing("victims", "bien-phong", ["BP-0001"])


def test_existing_looks_up_more_ids_than_one_statement_binds(store):
    with store.transaction() as tx:
        import_id = tx.new_import(_import_values())
        tx.insert("incidents", INCIDENT_COLUMNS,
                  (_incident(f"BP-{i:05d}", import_id) for i in range(0, 12_000, 2)))
        found = tx.existing("incidents", "bien-phong", [f"BP-{i:05d}" for i in range(12_000)])
    assert len(found) == 6_000
    assert found["BP-11998"] == "hash-BP-11998"
    assert "BP-11999" not in found
    assert store.count("incidents") == 6_000


def test_discard_records_removes_only_that_imports_records(store):
    first = _committed_import(store)
    with store.transaction() as tx:  # a strict import that is refused
        refused = tx.new_import(_import_values(strict=True))
        tx.insert("incidents", INCIDENT_COLUMNS,
                  [_incident("BP-0100", refused), _incident("BP-0101", refused)])
        tx.insert("quarantine", list(QUARANTINE_COLUMNS), [_quarantined(refused, 2)])
        tx.discard_records("incidents", refused)
        tx.finish_import(refused, {"rows_read": 3, "accepted": 0, "rejected": 1,
                                   "status": "refused"})
        with pytest.raises(ValueError, match="unknown record kind"):
            tx.discard_records("incidents; DROP TABLE imports", refused)

    assert store.read("incidents")["record_id"].tolist() == ["BP-0001", "BP-0002"]
    assert store.read("incidents")["import_id"].tolist() == [first, first]
    imports = store.imports()
    assert imports["status"].tolist() == ["committed", "refused"]
    assert imports["strict"].tolist() == [False, True]
    assert imports["accepted"].tolist() == [2, 0]
    assert store.quarantine(refused)["row_number"].tolist() == [2]
    assert store.revision() == refused


def test_finish_import_with_nothing_to_write_changes_nothing(store):
    import_id = _committed_import(store)
    with store.transaction() as tx:
        tx.finish_import(import_id, {"unknown_key": 1})
    assert store.imports()["status"].tolist() == ["committed"]


# -- all or nothing ----------------------------------------------------------------------------


def test_a_transaction_that_raises_leaves_no_rows(store):
    with pytest.raises(RuntimeError, match="killed mid-import"):
        with store.transaction() as tx:
            import_id = tx.new_import(_import_values())
            tx.insert("incidents", INCIDENT_COLUMNS, [_incident("BP-0001", import_id)])
            tx.insert("quarantine", list(QUARANTINE_COLUMNS), [_quarantined(import_id, 4)])
            tx.finish_import(import_id, {"status": "committed"})
            raise RuntimeError("killed mid-import")
    assert store.count("incidents") == 0
    assert len(store.imports()) == 0
    assert len(store.quarantine()) == 0
    assert store.revision() == 0

    # The store is usable afterwards.
    import_id = _committed_import(store)
    assert store.revision() == import_id
    assert store.count("incidents") == 2


def test_duplicate_key_raises_and_rolls_back_the_whole_import(store):
    first = _committed_import(store)
    with pytest.raises(_integrity_errors()) as raised:
        with store.transaction() as tx:
            second = tx.new_import(_import_values(file_name="again.xlsx"))
            tx.insert("quarantine", list(QUARANTINE_COLUMNS), [_quarantined(second, 9)])
            tx.insert("incidents", INCIDENT_COLUMNS,
                      [_incident("BP-0003", second),
                       _incident("BP-0001", second, content_hash="changed")])
    assert "unique" in str(raised.value).lower()
    assert store.read("incidents")["content_hash"].tolist() == ["hash-BP-0001", "hash-BP-0002"]
    assert store.imports()["file_name"].tolist() == ["vu-viec-2025.xlsx"]
    assert store.quarantine()["import_id"].tolist() == [first]
    assert store.revision() == first


def test_duplicate_key_within_one_insert_raises(store):
    with pytest.raises(_integrity_errors()):
        with store.transaction() as tx:
            import_id = tx.new_import(_import_values())
            tx.insert("incidents", INCIDENT_COLUMNS,
                      [_incident("BP-0001", import_id), _incident("BP-0001", import_id)])
    assert store.count("incidents") == 0
    assert store.revision() == 0


# -- reads ------------------------------------------------------------------------------------


def test_reads_are_ordered_by_source_then_record_id(store):
    with store.transaction() as tx:
        import_id = tx.new_import(_import_values())
        tx.insert("incidents", INCIDENT_COLUMNS, [
            _incident("B-2", import_id, source="z-last"),
            _incident("B-10", import_id),
            _incident("A-1", import_id, source="cong-an"),
            _incident("B-1", import_id),
        ])
    frame = store.read("incidents", ["source", "record_id"])
    assert list(zip(frame["source"], frame["record_id"])) == [
        ("bien-phong", "B-1"), ("bien-phong", "B-10"), ("cong-an", "A-1"), ("z-last", "B-2")]


def test_reads_refuse_unknown_kinds_and_columns(store):
    with pytest.raises(ValueError, match="unknown record kind 'victims'"):
        store.read("victims")
    with pytest.raises(ValueError, match=r"incidents has no columns \['name', 'phone'\]"):
        store.read("incidents", ["date", "name", "phone"])
    with pytest.raises(ValueError, match="unknown record kind"):
        store.count("imports")


def test_empty_reads_have_the_record_types(store):
    frame = store.read("models")
    assert len(frame) == 0
    assert frame["start_date"].dtype == "datetime64[us]"
    assert frame["import_id"].dtype == "Int64"
    assert store.imports()["started_at"].dtype == "datetime64[us, UTC]"


# -- PostGIS only -----------------------------------------------------------------------------


@pytest.mark.postgis
def test_postgis_geom_is_the_point_of_lon_lat(postgis_url, tmp_path):
    import psycopg

    with open_store(Settings(data_dir=tmp_path, database_url=postgis_url)) as store:
        _committed_import(store)
    with psycopg.connect(postgis_url) as con:
        rows = con.execute(
            "SELECT record_id, ST_GeometryType(geom), ST_SRID(geom), ST_X(geom), ST_Y(geom) "
            "FROM incidents ORDER BY record_id").fetchall()
        # Changing the coordinates moves the point: the database keeps geom in step.
        con.execute("UPDATE incidents SET lon = 106.0, lat = 11.25 WHERE record_id = 'BP-0001'")
        moved = con.execute("SELECT ST_AsText(geom) FROM incidents WHERE record_id = 'BP-0001'")
        assert moved.fetchone() == ("POINT(106 11.25)",)
    assert rows[0][:3] == ("BP-0001", "ST_Point", 4326)
    assert rows[0][3] == pytest.approx(106.1763)
    assert rows[0][4] == pytest.approx(11.0825)
    assert rows[1] == ("BP-0002", None, None, None, None)  # no coordinates, no point


def test_a_version_2_store_gets_the_reporting_agency_and_day_and_keeps_its_imports(
        store_settings):
    old = _version_1_store(store_settings, version=2)
    try:
        assert old.schema_version() == 2
        cols, _ = old._query("SELECT * FROM imports WHERE 1 = 0")
        assert "agency" not in cols and "received_on" not in cols
        with old.transaction() as tx:
            before = tx.new_import({k: v for k, v in _import_values(status="committed").items()})
    finally:
        old.close()
    with open_store(store_settings) as store:
        assert store.schema_version() == LATEST == 4
        imports = store.imports()
        assert list(imports.columns) == ["id", *IMPORT_COLUMNS]
        row = imports.set_index("id").loc[before]
        assert row["source"] == "bien-phong" and pd.isna(row["agency"]) \
            and pd.isna(row["received_on"])
        with store.transaction() as tx:
            after = tx.new_import(_import_values(status="committed", agency="Sở Tư pháp",
                                                 received_on=dt.date(2024, 8, 4)))
        again = store.imports().set_index("id").loc[after]
        assert again["agency"] == "Sở Tư pháp"
        assert again["received_on"] == pd.Timestamp(2024, 8, 4)
        assert str(store.imports()["received_on"].dtype) == "datetime64[us]"


def test_an_import_records_its_reporting_agency_and_the_day_received(store, store_settings,
                                                                       tmp_path):
    from geo.ingest import Places, import_file

    places = Places.load(store_settings)
    path = tmp_path / "truyen_thong.csv"
    path.write_text("Mã hồ sơ,Ngày,Mã xã,Hình thức,Số người tham dự\n"
                    "TP-1,30/07/2024,25699,meeting,30\n", encoding="utf-8")
    named = import_file(path, "outreach", store, places, source="Công an tỉnh",
                        agency="  Sở Tư pháp ", received_on=dt.date(2024, 8, 2),
                        today=dt.date(2024, 8, 9))
    path.write_text(path.read_text(encoding="utf-8").replace("TP-1", "TP-2"), encoding="utf-8")
    by_source = import_file(path, "outreach", store, places, source="Hội LHPN tỉnh",
                            today=dt.date(2024, 8, 9))
    path.write_text(path.read_text(encoding="utf-8").replace("TP-2", "TP-3"), encoding="utf-8")
    unnamed = import_file(path, "outreach", store, places, today=dt.date(2024, 8, 9))
    imports = store.imports().set_index("id")
    assert imports.loc[named.import_id, ["agency", "received_on"]].tolist() == \
        ["Sở Tư pháp", pd.Timestamp(2024, 8, 2)]
    # without a name: the source is the agency, and the report came the day it was imported
    assert imports.loc[by_source.import_id, ["agency", "received_on"]].tolist() == \
        ["Hội LHPN tỉnh", pd.Timestamp(2024, 8, 9)]
    assert pd.isna(imports.loc[unnamed.import_id, "agency"])  # the default source names none
    with pytest.raises(ValueError, match="received_on 10/08/2024 is after today"):
        import_file(path, "outreach", store, places, received_on=dt.date(2024, 8, 10),
                    today=dt.date(2024, 8, 9))


@pytest.mark.postgis
def test_postgis_store_creates_the_extension_in_a_bare_database(postgres_server, tmp_path):
    import psycopg

    url = postgres_server.create_database(postgis=False)
    try:
        with open_store(Settings(data_dir=tmp_path, database_url=url)) as store:
            assert store.schema_version() == LATEST == 4
            _committed_import(store)
        with psycopg.connect(url) as con:
            assert con.execute("SELECT extname FROM pg_extension WHERE extname = 'postgis'") \
                .fetchone() == ("postgis",)
            assert con.execute("SELECT ST_AsText(geom) FROM incidents WHERE record_id = 'BP-0001'") \
                .fetchone() == ("POINT(106.1763 11.0825)",)
    finally:
        postgres_server.drop_database(url)


@pytest.mark.postgis
def test_postgis_describe_never_shows_the_password(postgis_url, tmp_path):
    with open_store(Settings(data_dir=tmp_path, database_url=postgis_url)) as store:
        password = urlsplit(postgis_url).password
        assert password
        assert password not in store.describe()
        assert store.describe() == "PostGIS " + postgis_url.replace(f":{password}@", ":***@")


# -- errors -------------------------------------------------------------------------------------


def test_unreachable_postgis_url_raises_store_error_without_the_password(tmp_path):
    pytest.importorskip("psycopg")
    port = _free_port()  # nothing listens there
    url = f"postgresql://borderwatch:s3cret-pw@127.0.0.1:{port}/borderwatch"
    with pytest.raises(StoreError) as raised:
        open_store(Settings(data_dir=tmp_path, database_url=url))
    message = str(raised.value)
    assert f"postgresql://borderwatch:***@127.0.0.1:{port}/borderwatch" in message
    assert "s3cret" not in message
    assert "BORDERWATCH_DATABASE_URL" in message


def test_badly_encoded_password_is_not_echoed_in_the_error(tmp_path):
    pytest.importorskip("psycopg")
    # '%' must be written %25 in a URL; libpq quotes the bad token back in its error.
    url = f"postgresql://borderwatch:50%off-pw@127.0.0.1:{_free_port()}/borderwatch"
    with pytest.raises(StoreError) as raised:
        open_store(Settings(data_dir=tmp_path, database_url=url))
    assert "off-pw" not in str(raised.value)
    assert "postgresql://borderwatch:***@127.0.0.1:" in str(raised.value)


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://bw:s3cret@db.tayninh.local:5432/borderwatch",
     "postgresql://bw:***@db.tayninh.local:5432/borderwatch"),
    ("postgresql://:s3cret@db/borderwatch", "postgresql://:***@db/borderwatch"),
    ("postgresql://bw@db:5432/borderwatch", "postgresql://bw@db:5432/borderwatch"),
    ("postgresql://db:5432/borderwatch?user=bw&password=s3cret&sslmode=require",
     "postgresql://db:5432/borderwatch?user=bw&password=***&sslmode=require"),
    ("host=db dbname=borderwatch user=bw password=s3cret",
     "host=db dbname=borderwatch user=bw password=***"),
    ("host=db password='s3 cret' user=bw", "host=db password=*** user=bw"),
])
def test_redact_url_hides_every_form_of_password(url, shown):
    assert redact_url(url) == shown


def test_readers_do_not_wait_for_an_import_in_progress(store_settings):
    """While one import holds its transaction open, the dashboard can still open and read."""
    from geo.store import open_store

    with open_store(store_settings) as writer:
        before = writer.revision()
        with writer.transaction() as tx:
            tx.new_import({"kind": "incidents", "source": "s", "file_name": "f.csv",
                           "checksum": "0" * 64, "started_at": _NOW, "finished_at": _NOW,
                           "rows_read": 0, "accepted": 0, "duplicates": 0, "rejected": 0,
                           "status": "running", "strict": False})
            with open_store(store_settings) as reader:  # would block on a write lock
                assert reader.revision() == before
                assert reader.count("incidents") == 0
        with open_store(store_settings) as reader:
            assert reader.revision() == before + 1
