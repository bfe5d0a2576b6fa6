"""The audit log: every request that reads data and every refusal leaves a row saying what
was asked, and no row is lost when the accounts database refuses writes for a while."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dashboard.app import create_app
from dashboard.auth.accounts import AUDIT_DETAIL_LIMIT, Accounts
from dashboard.context import build_context
from geo.config import Settings
from tests.cache import PLAN_CACHE
from tests.test_auth import _call, _csrf, _form_token, _key, _signed_in
from tests.cache import demo_data

OVERVIEW_FILTERS = {"filter-types.value": ["victim"], "filter-period.start_date": "2025-01-01",
                    "filter-period.end_date": "2025-03-31", "filter-units.value": "2025",
                    "page-lang.data": "vi"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("audit") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    accounts = Accounts(settings.data_dir / "accounts.sqlite")
    accounts.ensure_demo_users()
    app = create_app(settings, build_context(settings), accounts, precompute=False)
    return app, accounts


def _latest(accounts: Accounts, **where) -> dict:
    return accounts.audit_log(limit=1, **where)[0]


def _read_only(monkeypatch, accounts: Accounts) -> None:
    """Every connection the accounts open from now on refuses writes (as a read-only file
    or a full disk would): a real ``sqlite3.OperationalError`` on each insert."""
    opened = type(accounts.db)._connection

    def read_only_db(self):
        db = opened(self)
        db.execute("PRAGMA query_only = ON")
        return db

    monkeypatch.setattr(accounts.db, "_connection", read_only_db.__get__(accounts.db))


def _writable(monkeypatch, accounts: Accounts) -> None:
    monkeypatch.undo()
    accounts.db.forget_connection()  # the read-only connection of this thread goes


# --------------------------------------------------------------------- what is recorded


def test_a_filter_query_is_audited_with_its_outputs_and_input_values(world):
    app, accounts = world
    client = _signed_in(app, "commander")
    answer = _call(app, client, _key(app, "commune-map.figure", "kpi-total.children"),
                   OVERVIEW_FILTERS)
    assert answer.status_code == 200
    row = _latest(accounts, action="query", username="demo-commander")
    assert row["role"] == "commander" and row["address"] == "127.0.0.1"
    assert row["target"].startswith("commune-map,kpi-total")
    detail = json.loads(row["detail"])
    assert "commune-map.figure" in detail["outputs"] and "kpi-total.children" in detail["outputs"]
    assert detail["inputs"]["filter-types.value"] == ["victim"]
    assert detail["inputs"]["filter-period.start_date"] == "2025-01-01"
    assert detail["inputs"]["filter-period.end_date"] == "2025-03-31"
    assert detail["state"] == {"page-lang.data": "vi"}
    assert ",\"" in row["detail"] and ": " not in row["detail"]  # compact JSON


def test_hostile_values_are_audited_as_sent(world):
    """A lone surrogate (no UTF-8 for it) or markup in a forged request: the request is
    answered as before and its row says exactly what was sent."""
    app, accounts = world
    client = _signed_in(app, "commander")
    hostile = ["\ud800", "<script>alert(1)</script>", "../../etc/passwd"]
    answer = _call(app, client, _key(app, "commune-map.figure", "kpi-total.children"),
                   {**OVERVIEW_FILTERS, "filter-types.value": hostile})
    assert answer.status_code == 200
    row = _latest(accounts, action="query", username="demo-commander")
    assert json.loads(row["detail"])["inputs"]["filter-types.value"] == hostile


def test_an_uploaded_file_is_audited_by_size_and_checksum_never_by_content(world):
    """The audit log must not become a copy of the records it audits: an upload's data URL
    is kept as its length and SHA-256 only."""
    import base64
    import hashlib

    from dashboard import ids

    app, accounts = world
    client = _signed_in(app, "commander")
    secret = "Mã hồ sơ,Ngày,Loại,Mã xã\nBI-MAT-AUDIT-42,05/08/2024,victim,25699\n"
    payload = base64.b64encode(secret.encode()).decode()
    answer = _call(app, client, _key(app, f"{ids.IMPORT_PREVIEW}.children"),
                   {f"{ids.IMPORT_UPLOAD}.contents": f"data:text/csv;base64,{payload}",
                    f"{ids.IMPORT_UPLOAD}.filename": "vu_viec.csv",
                    f"{ids.IMPORT_KIND}.value": "incidents"})
    assert answer.status_code == 200
    rows = accounts.audit_log(limit=5, username="demo-commander")
    everything = json.dumps(rows, ensure_ascii=False)
    assert payload[:40] not in everything and "BI-MAT-AUDIT-42" not in everything
    request_row = next(r for r in rows if r["action"] == "import")
    kept = json.loads(request_row["detail"])["inputs"][f"{ids.IMPORT_UPLOAD}.contents"]
    assert kept == {"upload_base64_chars": len(payload),
                    "sha256_of_base64": hashlib.sha256(payload.encode()).hexdigest()}


def test_every_callback_request_leaves_one_row(world):
    app, accounts = world
    client = _signed_in(app, "commander")
    before = len(accounts.audit_log(limit=10_000, username="demo-commander"))
    keys = [_key(app, "commune-map.figure"), _key(app, "cmd-map.figure", "cmd-note.children"),
            _key(app, "cmd-table.children"), _key(app, "page.children", "rendered-view.data")]
    for key in keys:
        assert _call(app, client, key).status_code in (200, 204)
    rows = accounts.audit_log(limit=10_000, username="demo-commander")
    assert len(rows) - before == len(keys)
    assert [r["action"] for r in rows[:len(keys)]] == ["view", "query", "query", "query"]


def test_template_downloads_and_boundary_files_are_audited(world):
    app, accounts = world
    client = _signed_in(app, "planner")
    assert client.get("/template/outreach.xlsx?lang=en").status_code == 200
    row = _latest(accounts, action="read", username="demo-planner")
    assert row["target"] == "/template/outreach.xlsx?lang=en" and row["role"] == "planner"
    geojson = next(r.rule for r in app.server.url_map.iter_rules()
                   if r.endpoint.startswith("geojson_"))
    assert client.get(geojson).status_code == 200
    assert _latest(accounts, action="read", username="demo-planner")["target"] == geojson
    # the page shell and the layout hold no data: not recorded
    before = accounts.audit_log(limit=1)[0]
    assert client.get("/planner").status_code == 302  # to the session's language
    assert client.get("/planner?lang=vi").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    assert accounts.audit_log(limit=1)[0] == before


def test_every_refusal_is_audited_with_its_reason(world):
    app, accounts = world
    anonymous = app.server.test_client()
    assert anonymous.get("/_dash-layout").status_code == 401
    row = _latest(accounts, action="refused")
    assert (row["username"], row["target"], row["detail"]) == (None, "/_dash-layout",
                                                               "no_session")
    assert anonymous.get("/commander?layer=gi").status_code == 302
    assert _latest(accounts, action="refused")["target"] == "/commander?layer=gi"
    assert anonymous.post("/_dash-update-component", json={}).status_code == 401
    assert _latest(accounts, action="refused")["detail"] == "no_session"

    viewer = _signed_in(app, "viewer")
    assert _call(app, viewer, _key(app, "cmd-map.figure", "cmd-note.children")).status_code == 403
    row = _latest(accounts, action="refused")
    assert (row["username"], row["detail"]) == ("demo-viewer", "role")
    assert "cmd-map" in row["target"]
    answer = viewer.post("/_dash-update-component", data="not json",
                         headers={"X-CSRFToken": _csrf(viewer), "Content-Type": "text/plain"})
    assert answer.status_code == 400
    row = _latest(accounts, action="refused")
    assert (row["username"], row["detail"]) == ("demo-viewer", "bad_body")
    assert viewer.get("/template/incidents.xlsx").status_code == 403
    row = _latest(accounts, action="refused")
    assert (row["target"], row["detail"]) == ("/template/incidents.xlsx", "role")
    assert _call(app, viewer, _key(app, "page.children"), csrf="forged").status_code == 403
    assert _latest(accounts, action="refused")["detail"] == "csrf"

    forger = app.server.test_client()
    _form_token(forger)
    answer = forger.post("/login", data={"csrf": "forged", "username": "demo-planner",
                                         "password": "minhhoa-demo"})
    assert answer.status_code == 403
    row = _latest(accounts, action="sign_in_failed")
    assert (row["username"], row["target"]) == ("demo-planner", "csrf")


# --------------------------------------------------------------------- the detail


def test_long_details_are_shortened_and_json_stays_json(tmp_path):
    accounts = Accounts(tmp_path / "a.sqlite")
    upload = "data:application/octet-stream;base64," + "A" * 2_000_000
    accounts.audit("query", detail={"inputs": {"import-upload.contents": upload,
                                               "codes": list(range(5000))}})
    detail = accounts.audit_log(limit=1)[0]["detail"]
    assert len(detail) <= AUDIT_DETAIL_LIMIT
    parsed = json.loads(detail)["inputs"]
    assert parsed["import-upload.contents"].endswith("[2000037 chars]")
    assert parsed["codes"][:3] == [0, 1, 2] and parsed["codes"][-1] == "…[5000 items]"
    accounts.audit("import_preview", detail=json.dumps({"rows": ["x" * 100] * 500}))
    assert json.loads(accounts.audit_log(limit=1)[0]["detail"])["rows"][-1] == "…[500 items]"
    accounts.audit("note", detail="y" * 10_000)
    assert accounts.audit_log(limit=1)[0]["detail"] == "y" * (AUDIT_DETAIL_LIMIT - 1) + "…"
    accounts.audit("sign_in", detail="short text")
    assert accounts.audit_log(limit=1)[0]["detail"] == "short text"


# --------------------------------------------------------------------- never lost


def test_a_row_is_committed_before_the_answer_and_on_the_disk_soon_after(tmp_path,
                                                                        monkeypatch):
    """The request's commit does not wait for the disk (synchronous=NORMAL: a callback's
    answer no longer waits for an fsync), but the row is committed, every other connection
    reads it at once, and the write-ahead log is synced by the process's thread, within
    SYNC_SECONDS (here: waited for with a generous deadline)."""
    import os
    import time

    from dashboard.auth import account_db

    synced, fsync = [], os.fsync

    def recorded(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return fsync(fd)

    monkeypatch.setattr(account_db.os, "fsync", recorded)
    accounts = Accounts(tmp_path / "accounts.sqlite")
    assert accounts.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    accounts.audit("view", username="demo-commander", role="commander", target="cmd-map")
    other = sqlite3.connect(tmp_path / "accounts.sqlite")  # another worker of the server
    assert other.execute("SELECT action, target FROM audit").fetchall() == [("view", "cmd-map")]
    other.close()
    wal = str(tmp_path / "accounts.sqlite-wal")
    deadline = time.monotonic() + 60
    while wal not in synced:
        assert time.monotonic() < deadline, "the log was never synced"
        time.sleep(0.1)
    count = synced.count(wal)
    accounts.db.sync()  # nothing written since: nothing to sync
    assert synced.count(wal) == count
    accounts.audit("export", username="demo-commander", role="commander")
    accounts.db.sync()
    assert synced.count(wal) == count + 1


def test_rows_wait_in_the_journal_while_the_database_is_read_only(tmp_path, monkeypatch,
                                                                   capsys):
    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.audit("sign_in", username="lan", address="10.0.0.2")
    _read_only(monkeypatch, accounts)
    for n in range(3):  # no error reaches the caller
        accounts.audit("query", username="lan", target=f"q{n}", detail={"n": n})
    journal = tmp_path / "accounts-audit-pending.jsonl"
    assert accounts.audit_journal == journal
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(r["action"], r["target"], r["detail"]) for r in lines] == [
        ("query", f"q{n}", f'{{"n":{n}}}') for n in range(3)]
    assert accounts.replay_audit_journal() == 0  # still read-only: they stay
    assert journal.stat().st_size > 0
    with open(journal, "a") as handle:  # lines a crash cut short are skipped, not fatal
        handle.write('not json\n{"x": 1}\n{"at": "2026-12-01T0')
    accounts.audit("query", username="lan", target="q3")  # after the cut line, on its own

    _writable(monkeypatch, accounts)
    accounts.audit("export", username="lan", target="ov-download")
    assert "unreadable line skipped" in capsys.readouterr().err
    rows = accounts.audit_log(limit=10)[::-1]
    assert [(r["action"], r["target"]) for r in rows] == [
        ("sign_in", ""), ("query", "q0"), ("query", "q1"), ("query", "q2"), ("query", "q3"),
        ("export", "ov-download")]
    assert rows[1]["at"] == lines[0]["at"]  # the time of the event, not of the replay
    assert journal.stat().st_size == 0
    accounts.audit("view", username="lan")
    assert len(accounts.audit_log(limit=10)) == 7  # nothing replayed twice


def test_rows_wait_while_another_process_holds_the_database(tmp_path):
    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.db.execute("PRAGMA busy_timeout = 50")
    holder = sqlite3.connect(tmp_path / "accounts.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # "database is locked" for everyone else
    try:
        accounts.audit("view", username="tuan", target="/commander")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert accounts.audit_journal.stat().st_size > 0
    # the next reader (the command line's `borderwatch audit`, another worker) moves them in
    other = Accounts(tmp_path / "accounts.sqlite")
    assert [r["target"] for r in other.audit_log()] == ["/commander"]
    assert accounts.audit_journal.stat().st_size == 0


def test_rows_wait_when_the_connection_fails(tmp_path, monkeypatch):
    """Disk I/O errors: a connection that raises on every statement."""
    accounts = Accounts(tmp_path / "accounts.sqlite")

    class Broken:
        in_transaction = False

        def execute(self, *args):
            raise sqlite3.OperationalError("disk I/O error")

        executemany = execute

        def close(self):
            pass

    monkeypatch.setattr(accounts.db, "_connection", lambda: Broken())
    accounts.audit("export", username="tuan", target="cmd-download")
    monkeypatch.undo()
    assert [r["target"] for r in accounts.audit_log()] == ["cmd-download"]


def test_a_request_is_served_and_audited_while_the_database_is_read_only(world, monkeypatch):
    app, accounts = world
    client = _signed_in(app, "commander")
    _read_only(monkeypatch, accounts)
    answer = _call(app, client, _key(app, "commune-map.figure", "kpi-total.children"),
                   {**OVERVIEW_FILTERS, "filter-types.value": ["tip"]})
    assert answer.status_code == 200
    assert accounts.audit_journal.stat().st_size > 0
    _writable(monkeypatch, accounts)
    row = _latest(accounts, action="query", username="demo-commander")
    assert json.loads(row["detail"])["inputs"]["filter-types.value"] == ["tip"]
    assert accounts.audit_journal.stat().st_size == 0


def test_when_the_journal_fails_too_the_request_is_refused(tmp_path, monkeypatch, capsys):
    accounts = Accounts(tmp_path / "accounts.sqlite")
    accounts.audit_journal.mkdir()  # cannot be opened as a file
    _read_only(monkeypatch, accounts)
    with pytest.raises(OSError):
        accounts.audit("export", username="tuan", target="cmd-download")
    assert "cmd-download" in capsys.readouterr().err  # the row is in the server's log
