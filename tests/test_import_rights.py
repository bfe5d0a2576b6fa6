"""Insiders with import rights (issue 14): an import teaches nothing its account may not read.

Through the real Flask server (test client), as the browser's callbacks reach it:

- incident records are imported only by the roles that read them (the commander);
- an account imports only under sources it owns, so its preview compares its
  rows only with records it wrote itself, and the demo's source is nobody's;
- the preview says nothing about the number of stored (demo) records;
- the first real import replaces the demo only after an explicit confirmation,
  and closes the demo accounts before it commits (a failure to close rolls it
  back); a closed demo account opens nothing, even enabled again;
- every preview, import and refusal is audited with file, checksum, kind,
  source and counts; a refused upload does not stay on disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import sqlite3

import pandas as pd
import pytest

from dashboard.app import create_app
from dashboard.auth.accounts import DEMO_PASSWORD, AccountError, Accounts
from dashboard.auth.roles import may_open
from dashboard.serving import ensure_demo
from dashboard.context import build_context
from geo.config import Settings
from geo.ingest import KINDS
from geo.store import open_store
from tests.cache import PLAN_CACHE

OUTREACH = ("Mã hồ sơ,Ngày,Mã xã,Hình thức,Số người tham dự\n"
            "OUT-1,05/08/2024,25699,meeting,30\n"
            "OUT-2,05/08/2025,25681,school_session,50\n")
INCIDENTS = "Mã hồ sơ,Ngày,Loại,Mã xã\nCA-1,05/08/2024,tip,25699\n"
#: The first record of the synthetic demo's outreach, as a file would carry it.
DEMO_ROW = ("record_id,date,commune_code,format,participants,materials,agency\n"
            "DEMO-OUT-000001,03/01/2022,27877,meeting,32,30,UBND xã\n")
PASSWORD = "mat-khau-dai-du"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    """A data folder holding the synthetic demo (made once, copied by each test)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("rights") / "var", cache_dir=PLAN_CACHE)
    ensure_demo(settings)
    return settings.data_dir


@pytest.fixture()
def world(demo_folder, tmp_path):
    """A fresh app over a copy of the demo, its demo accounts and two real accounts."""
    data_dir = tmp_path / "var"
    shutil.copytree(demo_folder, data_dir)
    settings = Settings(data_dir=data_dir, cache_dir=PLAN_CACHE)
    accounts = Accounts(data_dir / "accounts.sqlite")
    accounts.ensure_demo_users()
    app = create_app(settings, build_context(settings), accounts, precompute=False)
    accounts.create_user("tuan", PASSWORD, "commander")
    accounts.create_user("lan", PASSWORD, "planner")
    return app, accounts, settings


def _sign_in(app, username: str, password: str = DEMO_PASSWORD):
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"csrf": token, "username": username,
                                         "password": password, "next": "/"})
    return client, answer


def _client(app, username: str, password: str = DEMO_PASSWORD):
    client, answer = _sign_in(app, username, password)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def _key(app, *needles: str) -> str:
    return next(k for k in app.callback_map if all(n in k for n in needles))


def _call(app, client, key: str, values: dict):
    """POST one callback as Dash's renderer does; ``values`` by "id.property"."""
    spec = app.callback_map[key]

    def items(deps):
        return [{"id": d["id"], "property": d["property"],
                 "value": values.get(f"{d['id']}.{d['property']}")} for d in deps]

    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
               for o in key.strip(".").split("...")]
    body = {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": items(spec["inputs"]), "state": items(spec["state"]),
            "changedPropIds": [f"{d['id']}.{d['property']}" for d in spec["inputs"][:1]]}
    return client.post("/_dash-update-component", json=body,
                       headers={"X-CSRFToken": client.get_cookie("_csrf_token").value})


def _upload(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode("utf-8-sig")).decode()


def _preview(app, client, text: str, *, kind: str = "outreach", source: str,
             name: str = "tep.csv", lang: str = "en") -> dict:
    answer = _call(app, client, _key(app, "import-preview.children", "import-pending.data"),
                   {"import-upload.contents": _upload(text), "import-kind.value": kind,
                    "import-source.value": source, "import-strict.value": [],
                    "import-upload.filename": name, "page-lang.data": lang})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["response"]


def _confirm(app, client, pending: dict, *, replace: bool = False, lang: str = "en") -> dict:
    key = next(k for k in app.callback_map if k.startswith("..import-result.children")
               and app.callback_map[k]["inputs"][0]["id"] == "import-confirm")
    answer = _call(app, client, key, {"import-confirm.n_clicks": 1, "import-pending.data": pending,
                                      "import-replace-demo.value": ["replace"] if replace else [],
                                      "page-lang.data": lang})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["response"]


def _text(response: dict, component: str = "import-preview") -> str:
    return json.dumps(response.get(component, {}), ensure_ascii=False)


def _counts(response: dict) -> dict:
    """The preview's count cards: {"rows_read": 2, …} (none when nothing was previewed)."""
    found = {}

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if isinstance(props, dict) and "data-count" in props:
                found[props["data-count"]] = int(re.sub(r"\D", "", props["children"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(response.get("import-preview", {}))
    return found


def _sources(settings) -> dict:
    with open_store(settings) as store:
        return store.sources()


def _uploads(settings) -> list:
    folder = settings.data_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _route(app, client, path: str) -> str:
    answer = _call(app, client, _key(app, "page.children", "rendered-view.data"),
                   {"url.pathname": path, "url.search": "?lang=en"})
    return json.dumps(answer.get_json(), ensure_ascii=False)


# -- who imports which kind --------------------------------------------------------------------


def test_incidents_are_imported_only_by_the_roles_that_read_them():
    from dashboard.auth.roles import importable_kinds, may_import

    assert importable_kinds("commander", KINDS) == tuple(KINDS)
    for role in ("planner", "admin"):
        assert importable_kinds(role, KINDS) == ("outreach", "models", "population")
        assert not may_import(role, "incidents")
    assert importable_kinds("viewer", KINDS) == ()
    assert may_open("commander", "/import")


def test_the_page_offers_each_role_only_its_kinds_and_the_server_holds_to_it(world):
    app, accounts, settings = world
    commander = _client(app, "demo-commander")
    page = _route(app, commander, "/import")
    assert "forbidden" not in page and '"value": "incidents"' in page
    planner = _client(app, "demo-planner")
    page = _route(app, planner, "/import")
    assert '"value": "incidents"' not in page and '"value": "outreach"' in page
    assert '"value": "demo-planner"' in page  # the source field: one the account may own

    # a planner who sends "incidents" anyway (a forged request) is refused, and audited
    answer = _preview(app, planner, INCIDENTS, kind="incidents", source="demo-planner")
    assert "Your role may not import Incidents" in _text(answer)
    assert answer["import-pending"]["data"] is None
    refused = accounts.audit_log(action="import_refused", limit=1)[0]
    assert refused["username"] == "demo-planner"
    assert json.loads(refused["detail"])["reason"] == "kind"
    # … and so is a confirm whose pending request was rewritten in the browser
    ok = _preview(app, planner, OUTREACH, source="demo-planner")["import-pending"]["data"]
    forged = {**ok, "kind": "incidents"}
    done = _confirm(app, planner, forged, replace=True)
    assert "Your role may not import Incidents" in _text(done, "import-result")
    assert set(_sources(settings)) == {"demo"}

    # the commander imports incidents
    pending = _preview(app, commander, INCIDENTS, kind="incidents", source="BĐBP")[
        "import-pending"]["data"]
    done = _confirm(app, commander, pending, replace=True)
    assert "Imported 1 rows" in _text(done, "import-result")
    assert _sources(settings) == {"BĐBP": 1}


# -- sources: each account its own -------------------------------------------------------------


def test_source_owners_refuse_the_demo_another_account_and_the_operators(tmp_path):
    from dashboard.auth.sources import SourceOwners, SourceRefused

    owners = SourceOwners(Accounts(tmp_path / "accounts.sqlite"))
    owners.claim("Công an tỉnh", "tuan", stored={})
    owners.claim("Công an tỉnh", "tuan", stored={"Công an tỉnh": 3})  # its own, again
    assert owners.owner("Công an tỉnh") == "tuan"
    assert owners.owned_by("tuan") == ["Công an tỉnh"] and owners.owned_by("lan") == []
    with pytest.raises(SourceRefused) as err:
        owners.check("Công an tỉnh", "lan", stored={})
    assert err.value.code == "taken"
    for demo in ("demo", " Demo "):
        with pytest.raises(SourceRefused) as err:
            owners.claim(demo, "lan", stored={})
        assert err.value.code == "reserved"
    with pytest.raises(SourceRefused) as err:  # records the operator imported, no owner
        owners.claim("BĐBP", "lan", stored={"BĐBP": 10})
    assert err.value.code == "taken"
    assert owners.owner("BĐBP") is None


def test_a_preview_never_compares_with_records_of_another_source(world):
    app, accounts, settings = world
    planner = _client(app, "demo-planner")
    # the demo's ids, under the demo's source: refused, nothing said about the records
    answer = _preview(app, planner, DEMO_ROW, source="demo")
    text = _text(answer)
    assert "reserved for the synthetic demo" in text
    assert "uplicate" not in text and "conflict" not in text and not _counts(answer)
    # under its own source, the same rows are new
    answer = _preview(app, planner, DEMO_ROW, source="demo-planner")
    assert _counts(answer) == {"rows_read": 1, "accepted": 1, "duplicates": 0, "rejected": 0}

    # a real commander's source: another account's preview learns nothing from it
    tuan = _client(app, "tuan", PASSWORD)
    pending = _preview(app, tuan, OUTREACH, source="Hội LHPN")["import-pending"]["data"]
    assert "Imported 2 rows" in _text(_confirm(app, tuan, pending, replace=True), "import-result")
    lan = _client(app, "lan", PASSWORD)
    answer = _preview(app, lan, OUTREACH, source="Hội LHPN")
    text = _text(answer)
    assert "belongs to another account" in text and "“lan”" in text
    assert "uplicate" not in text and not _counts(answer)
    assert answer["import-pending"]["data"] is None
    answer = _preview(app, lan, OUTREACH + "OUT-3,06/08/2025,25681,meeting,10\n", source="lan")
    assert _counts(answer) == {"rows_read": 3, "accepted": 3, "duplicates": 0, "rejected": 0}
    assert "conflict" not in _text(answer)
    # the commander's own re-import is what a duplicate is
    answer = _preview(app, tuan, OUTREACH, source="Hội LHPN")
    assert _counts(answer)["duplicates"] == 2


def test_the_demo_note_tells_no_count(world):
    app, _, settings = world
    stored = _sources(settings)["demo"]
    answer = _preview(app, _client(app, "demo-planner"), OUTREACH, source="demo-planner")
    text = _text(answer)
    assert "Real records replace the synthetic demo records" in text
    shown = {f"{stored:,}", f"{stored:,}".replace(",", "."), str(stored)}
    assert not any(s in text for s in shown), "the number of stored records"
    vi = _text(_preview(app, _client(app, "demo-admin"), OUTREACH, source="demo-admin",
                        lang="vi"))
    assert "Dữ liệu thật thay thế hồ sơ minh họa" in vi
    assert not any(s in vi for s in shown)


# -- the first real import -----------------------------------------------------------------------


def test_the_first_real_import_asks_first_then_closes_the_demo_accounts(world):
    app, accounts, settings = world
    viewer = _client(app, "demo-viewer")
    assert "forbidden" not in _route(app, viewer, "/")
    planner = _client(app, "demo-planner")
    answer = _preview(app, planner, OUTREACH, source="demo-planner")
    assert answer["import-demo-box"]["hidden"] is False  # the box saying what will happen
    pending = answer["import-pending"]["data"]

    # confirming without ticking "I understand" writes nothing, and the preview still waits
    done = _confirm(app, planner, pending, replace=False)
    assert "tick “I understand”" in _text(done, "import-result")
    assert set(_sources(settings)) == {"demo"}
    assert done["import-confirm"]["disabled"] is False and "import-pending" not in done

    done = _confirm(app, planner, pending, replace=True)
    result = _text(done, "import-result")
    assert "Imported 2 rows" in result and "users add NAME --role admin" in result
    assert _sources(settings) == {"demo-planner": 2}
    from dashboard.auth.sources import SourceOwners

    assert SourceOwners(accounts).owner("demo-planner") == "demo-planner"
    # the demo viewer's open session opens nothing now, and it cannot sign in again
    key = _key(app, "page.children", "rendered-view.data")
    assert _call(app, viewer, key, {"url.pathname": "/"}).status_code == 401
    _, answer = _sign_in(app, "demo-viewer")
    assert answer.status_code == 401
    assert "Tài khoản minh họa đã bị khóa" in answer.get_data(as_text=True)
    # enabled again by hand, a demo account still opens nothing over real records
    accounts.disable("demo-viewer", False)
    with pytest.raises(AccountError) as err:
        accounts.authenticate("demo-viewer", DEMO_PASSWORD)
    assert err.value.code == "demo_closed"
    token, _ = accounts.start_session("demo-viewer")
    assert accounts.session(token) is None
    # real accounts are untouched
    assert _sign_in(app, "lan", PASSWORD)[1].status_code == 302


def test_a_failure_to_close_the_demo_accounts_rolls_the_import_back(world, monkeypatch):
    app, accounts, settings = world
    commander = _client(app, "tuan", PASSWORD)
    pending = _preview(app, commander, OUTREACH, source="Sở LĐTBXH")["import-pending"]["data"]

    def broken(self):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(Accounts, "close_demo_accounts", broken)
    done = _confirm(app, commander, pending, replace=True)
    assert "database is locked" in _text(done, "import-result")
    assert set(_sources(settings)) == {"demo"}  # the demo is still there, nothing written
    assert _sign_in(app, "demo-viewer")[1].status_code == 302


def test_closed_demo_accounts_stay_closed_without_the_page():
    """Accounts alone: after close_demo_accounts, session() and sign-in refuse them."""
    import tempfile
    from pathlib import Path

    accounts = Accounts(Path(tempfile.mkdtemp()) / "accounts.sqlite")
    accounts.ensure_demo_users()
    token, _ = accounts.start_session("demo-viewer")
    assert accounts.session(token) is not None and not accounts.holds_real_records()
    assert accounts.close_demo_accounts() == ["demo-admin", "demo-commander", "demo-planner",
                                              "demo-viewer"]
    assert accounts.holds_real_records() and accounts.session(token) is None
    accounts.disable("demo-commander", False)
    token, _ = accounts.start_session("demo-commander")
    assert accounts.session(token) is None
    with pytest.raises(AccountError):
        accounts.authenticate("demo-commander", DEMO_PASSWORD)


# -- audit and uploads ------------------------------------------------------------------------------


def test_previews_imports_and_refusals_are_audited_with_file_checksum_and_counts(world):
    app, accounts, settings = world
    planner = _client(app, "lan", PASSWORD)
    answer = _preview(app, planner, OUTREACH, source="lan", name="truyen_thong.csv")
    row = accounts.audit_log(action="import_preview", limit=1)[0]
    assert (row["username"], row["role"], row["target"]) == ("lan", "planner", "truyen_thong.csv")
    sha = hashlib.sha256(OUTREACH.encode("utf-8-sig")).hexdigest()
    assert json.loads(row["detail"]) == {
        "kind": "outreach", "source": "lan", "sha256": sha, "rows_read": 2, "accepted": 2,
        "duplicates": 0, "rejected": 0, "status": "preview"}
    _confirm(app, planner, answer["import-pending"]["data"], replace=True)
    row = accounts.audit_log(action="import_confirm", limit=1)[0]
    assert row["target"] == "truyen_thong.csv"
    assert json.loads(row["detail"]) == {
        "kind": "outreach", "source": "lan", "sha256": sha, "rows_read": 2, "accepted": 2,
        "duplicates": 0, "rejected": 0, "status": "committed"}
    _preview(app, _client(app, "tuan", PASSWORD), OUTREACH, source="lan", name="x.csv")
    row = accounts.audit_log(action="import_refused", limit=1)[0]
    detail = json.loads(row["detail"])
    assert (row["username"], row["target"]) == ("tuan", "x.csv")
    assert (detail["reason"], detail["sha256"], detail["status"]) == ("source_taken", sha,
                                                                       "refused")


def test_a_refused_upload_is_deleted_at_once(world):
    app, _, settings = world
    planner = _client(app, "demo-planner")
    personal = "Mã hồ sơ,Ngày,Mã xã,Hình thức,Họ tên\nO1,05/08/2024,25699,meeting,Nguyễn A\n"
    answer = _preview(app, planner, personal, source="demo-planner")
    assert "personal data" in _text(answer)
    assert _uploads(settings) == []
    # nothing to confirm (every row refused): not kept either
    answer = _preview(app, planner, "Mã hồ sơ,Ngày,Mã xã,Hình thức\nO1,31/02/2024,25699,meeting\n",
                      source="demo-planner")
    assert _counts(answer)["accepted"] == 0 and _uploads(settings) == []
    # refused for its source: never written
    _preview(app, planner, OUTREACH, source="demo")
    assert _uploads(settings) == []
    # a preview that awaits confirmation keeps its upload until confirmed
    pending = _preview(app, planner, OUTREACH, source="demo-planner")["import-pending"]["data"]
    assert _uploads(settings) == [pending["token"]]
    _confirm(app, planner, pending, replace=True)
    assert _uploads(settings) == []


def test_a_report_names_its_agency_and_the_day_it_came_and_a_future_day_is_dropped(world):
    """The Standing Office imports a department's report: the agency and the day received
    are read on the server (a day to come, or no day, is not taken), stored with the import
    and audited."""
    app, accounts, settings = world
    planner = _client(app, "lan", PASSWORD)
    key = _key(app, "import-preview.children", "import-pending.data")
    report = ("Mã hồ sơ,Ngày,Mã xã,Hình thức,Số người tham dự\n"
              "TP-BC-1,30/07/2024,25699,meeting,30\n")

    def preview(agency, received) -> dict:
        answer = _call(app, planner, key, {
            "import-upload.contents": _upload(report), "import-kind.value": "outreach",
            "import-source.value": "lan", "import-strict.value": [],
            "import-agency.value": agency, "import-received.date": received,
            "import-upload.filename": "bao_cao_tu_phap.csv", "page-lang.data": "en"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()["response"]["import-pending"]["data"]

    for agency, received in (("x", "2999-01-01"), (None, "02/08/2024"), (["x"], 20240802)):
        pending = preview(agency, received)
        assert pending["received"] is None, received
        assert pending["agency"] == ("x" if agency == "x" else None)
    pending = preview("  Sở  Tư pháp ", "2024-08-02")
    assert (pending["agency"], pending["received"]) == ("Sở Tư pháp", "2024-08-02")
    _confirm(app, planner, pending, replace=True)
    with open_store(settings) as store:
        last = store.imports().iloc[-1]
    assert (last["status"], last["agency"], last["received_on"]) == \
        ("committed", "Sở Tư pháp", pd.Timestamp(2024, 8, 2))
    detail = json.loads(accounts.audit_log(action="import_confirm", limit=1)[0]["detail"])
    assert (detail["agency"], detail["received"]) == ("Sở Tư pháp", "2024-08-02")
