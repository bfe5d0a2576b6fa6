"""The period's picker and presets: the preset table a page sends to the browser, the rule
that keeps picker and presets in step (:func:`period_answer`), and the same rule in the
browser (:data:`PERIOD_JS`, run in Chromium on the same cases)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from dashboard.period_filter import (PERIOD_JS, matching_preset, period_answer, preset_table,
                                     presets_id)
from layers.periods import PRESETS


def _ctx(first: str, last: str):
    """An app context with incidents from ``first`` to ``last`` (what the periods read)."""
    dates = pd.to_datetime([first, "2024-06-15", last])
    return SimpleNamespace(incidents=pd.DataFrame({"date": dates}),
                           extracted=dt.date(2026, 1, 5))


CTX = _ctx("2022-01-01", "2025-12-31")
TABLE = preset_table(CTX)


def test_the_table_holds_every_preset_of_the_data_in_order():
    assert [row[0] for row in TABLE] == list(PRESETS)
    periods = {name: (start, end) for name, start, end in TABLE}
    assert periods["quarter"] == ("2025-10-01", "2025-12-31")  # the latest quarter
    assert periods["campaign"] == ("2025-07-01", "2025-09-30")
    assert periods["year"][1] == "2025-12-31"
    assert periods["all"] == ("2022-01-01", "2025-12-31")
    assert all(start <= end for start, end in periods.values())
    assert presets_id("cmd-period") == "cmd-period-presets"


def test_matching_preset_reads_the_table():
    assert matching_preset(CTX, "2025-10-01", "2025-12-31") == "quarter"
    assert matching_preset(CTX, dt.date(2022, 1, 1), dt.date(2025, 12, 31)) == "all"
    assert matching_preset(CTX, "2025-10-01T00:00:00", "2025-12-31") == "quarter"
    for start, end in (("2025-10-02", "2025-12-31"), (None, "2025-12-31"), ("x", "y"),
                       ("20251001", "2025-12-31")):
        assert matching_preset(CTX, start, end) is None


def test_a_preset_sets_the_dates_only():
    assert period_answer("2025-05-15", "2025-08-20", "year", TABLE, ["value"]) == \
        {"start_date": TABLE[2][1], "end_date": TABLE[2][2]}
    # an unknown preset (or none) changes nothing; a table that is not one is no table
    assert period_answer("2025-05-15", "2025-08-20", "decade", TABLE, ["value"]) == {}
    assert period_answer("2025-05-15", "2025-08-20", None, TABLE, ["value"]) == {}
    assert period_answer("2025-05-15", "2025-08-20", "year", "table", ["value"]) == {}


def test_new_dates_are_put_in_order_and_tick_their_preset():
    assert period_answer("2025-12-31", "2025-10-01", None, TABLE, ["end_date"]) == \
        {"start_date": "2025-10-01", "end_date": "2025-12-31", "preset": "quarter"}
    assert period_answer("2025-10-01", "2025-12-31", "quarter", TABLE, ["end_date"]) == {}
    # a custom range unticks the preset; already unticked, nothing changes
    assert period_answer("2025-05-15", "2025-08-20", "quarter", TABLE, ["start_date"]) == \
        {"preset": None}
    assert period_answer("2025-05-15", "2025-08-20", None, TABLE, ["start_date"]) == {}
    # a half-typed date: nothing to order, no preset matches
    assert period_answer("2025-05-15", None, "year", TABLE, ["end_date"]) == {"preset": None}
    assert period_answer("2025-13-45", "2025-08-20", None, TABLE, ["start_date"]) == {}


def test_a_page_without_presets_only_orders():
    assert period_answer("2025-08-20", "2025-05-15T00:00:00", changed=["end_date"]) == \
        {"start_date": "2025-05-15", "end_date": "2025-08-20"}
    assert period_answer("2025-05-15", "2025-08-20", changed=["end_date"]) == {}


#: (start, end, preset, table, changed) as the browser sends them, tricky ones included.
_CASES = [
    ("2025-05-15", "2025-08-20", "year", TABLE, ["value"]),
    ("2025-05-15", "2025-08-20", "decade", TABLE, ["value"]),
    ("2025-05-15", "2025-08-20", None, TABLE, ["value"]),
    ("2025-12-31", "2025-10-01", None, TABLE, ["end_date"]),
    ("2025-10-01", "2025-12-31", "quarter", TABLE, ["start_date"]),
    ("2025-05-15", "2025-08-20", "quarter", TABLE, ["start_date", "end_date"]),
    ("2025-10-01T00:00:00", "2025-12-31T00:00:00", None, TABLE, ["start_date"]),
    ("2025-02-30", "2025-12-31", "all", TABLE, ["start_date"]),
    ("2024-02-29", "2024-03-01", None, TABLE, ["start_date"]),
    ("20251001", "2025-12-31", "quarter", TABLE, ["start_date"]),
    (None, None, None, TABLE, ["end_date"]),
    (12, "2025-12-31", "quarter", TABLE, ["start_date"]),
    ("2025-05-15", "2025-08-20", "year", None, ["value"]),
    ("2025-05-15", "2025-08-20", "year", [["year"], "x", ["year", "2025-05-15",
                                                         "2025-08-20"]], ["end_date"]),
]


def _browser_answer(page, args: list, changed: list[str], with_presets: bool) -> dict:
    """:data:`PERIOD_JS` run in the page with Dash's clientside context; as a dict."""
    got = page.evaluate(
        """([js, args, changed]) => {
            window.dash_clientside = {no_update: {none: true}, callback_context: {
                triggered: changed.map(function (p) { return {prop_id: "p." + p}; })}};
            const out = eval("(" + js + ")").apply(null, args);
            return out.map(function (v) { return v && v.none === true ? "NO" : v; });
        }""", [PERIOD_JS, args, changed])
    keys = ("start_date", "end_date", "preset") if with_presets else ("start_date", "end_date")
    return {k: v for k, v in zip(keys, got, strict=True) if v != "NO"}


@pytest.mark.browser
def test_the_rule_in_the_browser_is_the_servers():
    from tests.browser import shared_browser

    page = shared_browser().new_page()
    try:
        for start, end, preset, table, changed in _CASES:
            got = _browser_answer(page, [start, end, preset, table], changed, True)
            assert got == period_answer(start, end, preset, table, changed), \
                (start, end, preset, changed)
            alone = _browser_answer(page, [start, end], changed, False)
            assert alone == period_answer(start, end, changed=changed), (start, end, changed)
    finally:
        page.close()
