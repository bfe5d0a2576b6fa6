"""A failing callback gives the user a clear message, never a trace, and the app recovers."""

from __future__ import annotations

import pytest

from dashboard.app import create_app
from dashboard.auth.accounts import Accounts
from dashboard.context import build_context
from geo.config import Settings
from geo.store import StoreError
from tests.test_auth import _call, _key, _sign_in
from tests.cache import PLAN_CACHE, demo_data


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("errors") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    ctx = build_context(settings)
    accounts = Accounts(settings.data_dir / "accounts.sqlite")
    accounts.ensure_demo_users()
    app = create_app(settings, ctx, accounts)
    client = app.server.test_client()
    _sign_in(client, "demo-commander")
    return app, ctx, client


_FILTERS = {"cmd-layer.value": "rates", "page-lang.data": "vi", "cmd-types.value": ["victim"],
            "cmd-units.value": "2025", "cmd-period.start_date": "2025-01-01",
            "cmd-period.end_date": "2025-03-31"}


def test_database_unreachable_then_back(world, monkeypatch):
    app, ctx, client = world
    key = _key(app, "cmd-map.figure", "cmd-note.children")
    real = ctx.records.current

    def unreachable():
        raise StoreError("cannot reach the database at postgresql://db.example/borderwatch")

    monkeypatch.setattr(ctx.records, "current", unreachable)
    answer = _call(app, client, key, _FILTERS)
    body = answer.get_json()
    assert answer.status_code == 200 and "Traceback" not in answer.get_data(as_text=True)
    alert = body["sideUpdate"]["app-alert"]
    assert alert["className"] == "alert error"
    assert alert["children"].startswith("Không kết nối được cơ sở dữ liệu")
    assert "response" not in body or "cmd-map" not in body.get("response", {})

    monkeypatch.setattr(ctx.records, "current", real)  # the database is back
    again = _call(app, client, key, _FILTERS).get_json()
    assert "cmd-map" in again["response"] and "sideUpdate" not in again


def test_unexpected_failure_says_so_without_details(world, monkeypatch):
    app, ctx, client = world

    def broken():
        raise RuntimeError("secret internal detail /srv/borderwatch/var")

    monkeypatch.setattr(ctx.records, "current", broken)
    answer = _call(app, client, _key(app, "cmd-map.figure", "cmd-note.children"), _FILTERS)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "secret internal detail" not in text
    assert "Đã có lỗi" in answer.get_json()["sideUpdate"]["app-alert"]["children"]
