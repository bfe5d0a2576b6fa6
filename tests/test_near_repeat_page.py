"""The commander's near-repeat section (dashboard/pages/near_repeats.py), through the server.

The callback is posted as Dash's renderer posts it (the Flask test client, the demo
records): the commander gets the Knox table of :func:`layers.near_repeat.knox_test` in
words, a refused band or untestable records get a message saying why, and the planner
and the viewer are refused by the server.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from dashboard.app import create_app
from dashboard.auth.accounts import Accounts
from dashboard.context import build_context
from dashboard.i18n import format_number
from dashboard.pages.near_repeats import (NR_ERROR, NR_MAP, NR_ORIGINATORS, NR_SUMMARY,
                                          NR_TABLE, _map, _originator_list, _summary,
                                          chance_text)
from geo.config import Settings
from layers.near_repeat import Bands, knox_test, originators
from tests.cache import PLAN_CACHE, demo_data
from tests.test_auth import _call, _key, _signed_in
from tests.test_near_repeat import _near_repeats


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("nr") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    ctx = build_context(settings)
    accounts = Accounts(settings.data_dir / "accounts.sqlite")
    accounts.ensure_demo_users()
    app = create_app(settings, ctx, accounts, precompute=False)
    return app, ctx, accounts


def _run(app, client, *, distance="1; 2; 5", days="7; 14; 30",
         types=("illegal_crossing", "tip"), start="2025-01-01", end="2025-12-31",
         lang="vi", clicks=1):
    key = _key(app, f"{NR_ERROR}.children", f"{NR_TABLE}.children")
    return _call(app, client, key, {
        "cmd-nr-run.n_clicks": clicks, "cmd-nr-distance.value": distance, "cmd-nr-days.value": days,
        "cmd-types.value": list(types), "cmd-period.start_date": start,
        "cmd-period.end_date": end, "cmd-units.value": "2025", "page-lang.data": lang})


def _text(answer) -> dict:
    response = answer.get_json()["response"]
    return {k: json.dumps(v, ensure_ascii=False) for k, v in response.items()}


def _cells(answer) -> list[list[str]]:
    """The rows of the Knox table, as the cells' texts."""
    table = answer.get_json()["response"][NR_TABLE]["children"]
    body = table["props"]["children"][1]["props"]["children"]
    return [[td["props"]["children"] for td in tr["props"]["children"]] for tr in body]


def test_nothing_is_computed_before_the_commander_asks(world, monkeypatch):
    app, ctx, _ = world
    client = _signed_in(app, "commander")
    import layers.near_repeat

    def no_test(*args, **kwargs):
        raise AssertionError("the Knox test ran before its button was pressed")

    monkeypatch.setattr(layers.near_repeat, "knox_test", no_test)
    answer = _run(app, client, clicks=None, start="2024-01-01")  # a period not cached
    text = _text(answer)
    assert "Bấm “Kiểm định”" in text[NR_SUMMARY]
    assert json.loads(text[NR_TABLE])["children"] == []


def test_the_commander_reads_the_knox_table_in_words(world):
    app, ctx, _ = world
    client = _signed_in(app, "commander")
    answer = _run(app, client)
    assert answer.status_code == 200
    text = _text(answer)
    assert json.loads(text[NR_ERROR])["children"] == ""
    incidents = ctx.records.current().incidents
    chosen = incidents[(incidents["date"] >= "2025-01-01") & (incidents["date"] <= "2025-12-31")]
    expected = knox_test(chosen, Bands(), permutations=999, seed=20250701)  # the app's
    rows = _cells(answer)
    assert len(rows) == 9
    for cells, (_, row) in zip(rows, expected.table.iterrows()):
        assert cells[2] == format_number(row["observed"], "vi")
        assert cells[3] == format_number(row["expected"], "vi", 1)
        assert cells[4] == format_number(row["ratio"], "vi", 2) and "," in cells[4]
        assert cells[5] == chance_text(row["p_value"], 999, "vi")
        assert cells[5].endswith(("%", "phần nghìn"))
    assert rows[0][:2] == ["0–1 km", "0–7"] and rows[8][:2] == ["2–5 km", "15–30"]
    summary = json.loads(text[NR_SUMMARY])["children"]
    assert f"Kiểm định trên {format_number(expected.n_records, 'vi')} vụ việc có tọa độ" in summary
    assert "999 lần hoán đổi ngẫu nhiên" in summary
    assert expected.window_km is None  # the demo's records are drawn independently
    assert "không xác định vụ việc khởi phát" in summary
    assert answer.get_json()["response"][NR_MAP]["style"] == {"display": "none"}


def test_one_band_of_the_demo_opens_a_window_and_marks_its_originators(world):
    """The demo's last quarter, 0–1 km × 0–7 days alone (no correction for other bands):
    3 pairs where 0,74 are expected, p = 0,02 (measured): a window of 1 km and 7 days, and
    the map marks exactly its originators (a band picked alone after seeing the table is
    the false alarm docs/near_repeat.md warns of: the demo has no near repeat)."""
    app, ctx, _ = world
    answer = _run(app, _signed_in(app, "commander"), distance="1", days="7",
                  start="2025-10-01", end="2025-12-31")
    incidents = ctx.records.current().incidents
    chosen = incidents[(incidents["date"] >= "2025-10-01") & (incidents["date"] <= "2025-12-31")]
    expected = knox_test(chosen, Bands((1.0,), (7,)), permutations=999, seed=20250701)
    found = originators(chosen, expected, on=dt.date(2025, 12, 31))
    response = answer.get_json()["response"]
    summary = response[NR_SUMMARY]["children"]
    assert (expected.window_km, expected.window_days) == (1.0, 7)
    assert "trong bán kính 1 km trong 7 ngày tới" in summary
    assert f"{len(found)} vụ việc trong 7 ngày cuối kỳ (đến 31/12/2025)" in summary
    assert response[NR_MAP]["style"] == {}
    markers = next(t for t in response[NR_MAP]["figure"]["data"]
                   if (t.get("meta") or {}).get("role") == "nr-originators")
    assert markers["customdata"] == found["record_id"].tolist() and len(found) >= 1
    listed = json.dumps(response[NR_ORIGINATORS], ensure_ascii=False)
    assert all(r in listed for r in found["record_id"])


def test_the_english_page_says_it_in_english(world):
    app, _, _ = world
    answer = _run(app, _signed_in(app, "commander"), lang="en")
    summary = json.loads(_text(answer)[NR_SUMMARY])["children"]
    assert summary.startswith("Test on ") and "random shuffles" in summary
    assert _cells(answer)[0][0] == "0–1 km"


@pytest.mark.parametrize("distance, days, message", [
    ("5; 2", "7; 14; 30", "Các mốc khoảng cách phải tăng dần"),
    ("0; 2", "7; 14; 30", "Mốc khoảng cách phải lớn hơn 0"),
    ("1; 2; 80", "7; 14; 30", "Mốc khoảng cách lớn nhất được nhập là 50 km"),
    ("1; 2; 5", "7; 400", "Mốc số ngày lớn nhất được nhập là 365 ngày"),
    ("1; 2; 5", "3,5; 7", "Số ngày phải là số nguyên"),
    ("một; hai", "7", "Mốc khoảng cách phải là số"),
    ("", "7", "Chưa nhập mốc khoảng cách"),
])
def test_a_band_refused_says_why_in_vietnamese(world, distance, days, message):
    app, _, _ = world
    answer = _run(app, _signed_in(app, "commander"), distance=distance, days=days)
    text = _text(answer)
    assert message in json.loads(text[NR_ERROR])["children"]
    assert json.loads(text[NR_TABLE])["children"] == []
    assert json.loads(text[NR_MAP])["style"] == {"display": "none"}


def test_records_that_cannot_be_tested_say_why(world):
    app, _, _ = world
    client = _signed_in(app, "commander")
    week = _run(app, client, start="2025-12-22", end="2025-12-28")
    error = json.loads(_text(week)[NR_ERROR])["children"]
    assert "cần ít nhất 20 vụ việc" in error and "22/12/2025" in error
    victims = _run(app, client, types=("victim",))
    assert "chỉ tính cho vụ xuất, nhập cảnh trái phép và tin báo" in json.loads(
        _text(victims)[NR_ERROR])["children"]


@pytest.mark.parametrize("role", ["viewer", "planner", "admin"])
def test_below_commander_the_server_refuses(world, role):
    app, _, accounts = world
    answer = _run(app, _signed_in(app, role))
    assert answer.status_code == 403
    assert "Knox" not in answer.get_data(as_text=True)
    row = accounts.audit_log(limit=1, username=f"demo-{role}")[0]
    assert (row["action"], row["detail"]) == ("refused", "role")


def test_originators_on_the_map_and_in_the_list(world):
    """A planted pattern (0–1 km × 0–7 days): the records of its last week are marked, each
    with a circle of 1 km, and listed with their window's end."""
    app, ctx, _ = world
    records = _near_repeats(seed=3)
    result = knox_test(records, permutations=199, seed=2)
    end = (records["date"].max() - pd.Timedelta(days=3)).date()
    found = originators(records, result, on=end)
    assert len(found) >= 1
    summary = _summary(result, found, ("illegal_crossing",), end, "vi")
    assert "trong bán kính 1 km trong 7 ngày tới" in summary
    assert f"{len(found)} vụ việc trong 7 ngày cuối kỳ (đến {end:%d/%m/%Y})" in summary
    with app.server.test_request_context("/"):
        from dashboard.analysis import Analyses
        figure = _map(ctx, Analyses(ctx), found, "2025", ("illegal_crossing",),
                      dt.date(2025, 1, 1), end, "vi")
    markers = next(t for t in figure.data if (t.meta or {}).get("role") == "nr-originators")
    assert list(markers.customdata) == found["record_id"].tolist()
    first = found.iloc[0]
    assert f"cảnh giác trong 7 ngày tới (đến {first['until']:%d/%m/%Y}), trong bán kính 1 km" \
        in markers.hovertext[0]
    circles = next(t for t in figure.data if (t.meta or {}).get("role") == "nr-windows")
    lon = np.array([v for v in circles.lon[:48]], float)
    assert lon.max() - lon.min() == pytest.approx(2 / 109.3, rel=0.05)  # 2 km at 11° N
    listed = json.dumps(_originator_list(found, "vi")[1].to_plotly_json(), ensure_ascii=False,
                        default=str)
    assert first["record_id"] in listed and "Cảnh giác đến" in listed
