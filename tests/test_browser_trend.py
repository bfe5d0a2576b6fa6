"""End to end (issue 17, "are they growing?"): the province trend on the commander's page
and on the overview as the committee's viewer sees it, the commune panel's quarters, and the
emerging legend; one server for the module, screenshots at 1440×900 for the README."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from dashboard.analysis import Analyses
from dashboard.context import build_context
from dashboard.released import analyses_for
from geo.config import Settings
from tests.browser import ARTIFACTS, chromium_page, shared_demo_server
from tests.cache import PLAN_CACHE

pytestmark = pytest.mark.browser

#: Where the README's screenshots are kept (when the folder exists: the team's notes).
NOTES = Path("/work/notes")

# What the trend's chart holds: its traces (role, type, y), its shapes, its title.
_TREND = """(id) => {
  const gd = document.querySelector('#' + id + ' .js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd.data) { return null; }
  return {
    title: gd._fullLayout.title.text,
    traces: gd.data.map(t => ({role: (t.meta || {}).role || null, type: (t.meta || {}).type
        || null, name: t.name, y: Array.from(t.y || []), text: t.text ? Array.from(t.text) : null,
        n: (t.x || []).length})),
    shapes: (gd.layout.shapes || []).map(s => ({name: s.name, x0: s.x0, x1: s.x1})),
    xrange: gd._fullLayout.xaxis.range,
    outline: (() => { const plot = gd.querySelector('.bglayer .bg');
      const paths = Array.from(gd.querySelectorAll('.shapelayer path'))
          .filter(p => getComputedStyle(p).strokeDasharray !== 'none');
      if (!plot || !paths.length) { return null; }
      const box = plot.getBoundingClientRect(), r = paths[paths.length - 1].getBoundingClientRect();
      return {right: r.right, plotRight: box.right}; })(),
    legend: Array.from(gd.querySelectorAll('.legendtext')).map(e => e.textContent),
    ticks: Array.from(gd.querySelectorAll('.xaxislayer-above text')).map(e => e.textContent)
        .filter(t => t),
  };
}"""

# Whether every text of a chart (ticks, legend, title) lies inside its drawing, none cut.
_INSIDE = """(id) => {
  const gd = document.querySelector('#' + id + ' .js-plotly-plot');
  const box = gd.querySelector('.main-svg').getBoundingClientRect();
  const texts = Array.from(gd.querySelectorAll(
      '.xaxislayer-above text, .yaxislayer-above text, .legendtext, .annotation-text'))
      .filter(e => e.textContent);
  const out = texts.filter(e => { const r = e.getBoundingClientRect();
      return r.width === 0 || r.left < box.left - 1 || r.right > box.right + 1
             || r.top < box.top - 1 || r.bottom > box.bottom + 1; });
  const ticks = Array.from(gd.querySelectorAll('.xaxislayer-above text'))
      .map(e => e.getBoundingClientRect());
  const legend = gd.querySelector('.legend').getBoundingClientRect();
  const overlaps = ticks.some(r => r.bottom > legend.top && r.top < legend.bottom
                                   && r.right > legend.left && r.left < legend.right);
  return {n: texts.length, out: out.map(e => e.textContent), overlaps: overlaps,
          width: box.width};
}"""


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url, data_dir


@pytest.fixture(scope="module")
def expected(server):
    """The demo's trend as the server computes it: the commander's and the viewer's."""
    _, data_dir = server
    an = Analyses(build_context(Settings(data_dir=data_dir, cache_dir=PLAN_CACHE)))
    assert an.release_plan(wait=900) is not None
    return an, analyses_for(an, "viewer")


def _wait_trend(page, id_: str, check: str = "true") -> dict:
    page.wait_for_function(
        "([id, check]) => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');"
        " if (!gd || !gd.data || !gd.data.length) { return false; }"
        " const data = gd.data; return eval(check); }", arg=[id_, check], timeout=600_000,
        polling=500)
    page.wait_for_timeout(800)
    return page.evaluate(_TREND, id_)


def _lines(seen: dict) -> dict:
    return {t["type"]: t["y"] for t in seen["traces"] if t["role"] == "type"}


def _keep(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    if NOTES.is_dir():
        shutil.copy(ARTIFACTS / name, NOTES / name)


def test_commander_sees_the_trend_by_type_months_and_a_legible_commune_panel(server, expected):
    url, _ = server
    an, _ = expected
    errors: list[str] = []
    with chromium_page(1440, 900, role="commander") as page:
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(url + "/commander?from=2025-07-01&to=2025-09-30")
        seen = _wait_trend(page, "cmd-trend")
        assert seen["title"] == "Số vụ việc toàn tỉnh theo quý, theo loại vụ việc"
        quarters = an.trend(freq="Q")
        lines = _lines(seen)
        assert list(lines) == ["trafficking_case", "illegal_crossing", "tip", "victim"]
        for kind, ys in lines.items():
            assert ys == quarters.loc[quarters["type"] == kind, "count"].tolist()
        assert sum(map(sum, lines.values())) == len(an.ctx.incidents) == 3844
        campaigns = [(s["x0"], s["x1"]) for s in seen["shapes"] if s["name"] == "campaign"]
        assert campaigns == [(f"{y}-07-01", f"{y}-10-01") for y in range(2022, 2026)]
        assert [(s["x0"], s["x1"]) for s in seen["shapes"] if s["name"] == "selected"] == [
            ("2025-07-01", "2025-10-01")]
        # the latest quarter's outline is drawn whole: the axis goes on past its right edge
        assert seen["xrange"][1] > "2025-10-01"
        assert seen["outline"]["right"] < seen["outline"]["plotRight"] - 2, seen["outline"]
        assert "Đợt cao điểm (01/7–30/9)" in seen["legend"] and "Kỳ đang xem" in seen["legend"]
        assert seen["ticks"] == ["2022", "2023", "2024", "2025"]
        assert not page.evaluate(_INSIDE, "cmd-trend")["out"]
        page.locator("#cmd-trend").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        _keep(page, "trend-commander.png")

        # by month: 48 points a type, the same totals
        page.get_by_role("radio", name="Tháng", exact=True).check()
        months = _wait_trend(page, "cmd-trend", "data[0].y.length > 16")
        assert months["title"] == "Số vụ việc toàn tỉnh theo tháng, theo loại vụ việc"
        by_month = an.trend(freq="M")
        for kind, ys in _lines(months).items():
            assert ys == by_month.loc[by_month["type"] == kind, "count"].tolist()
            assert sum(ys) == sum(lines[kind]) and len(ys) == 3 * len(lines[kind])

        # fewer types, another period: the lines and the outline follow
        page.get_by_role("checkbox", name="Tin báo, tố giác", exact=True).uncheck()
        page.get_by_role("radio", name="Năm", exact=True).check()
        fewer = _wait_trend(page, "cmd-trend",
                            "data.filter(t => (t.meta || {}).role === 'type').length === 3 &&"
                            " gd.layout.shapes.some(s => s.name === 'selected' &&"
                            " s.x0 === '2025-01-01')")
        assert "tip" not in _lines(fewer)
        assert [(s["x0"], s["x1"]) for s in fewer["shapes"] if s["name"] == "selected"] == [
            ("2025-01-01", "2026-01-01")]

        # the commune panel: eight quarters, nothing cut at 1440×900
        page.locator("tr.ranked-row").first.click()
        page.wait_for_selector("#cmd-panel-chart .js-plotly-plot .barlayer", timeout=120_000)
        page.wait_for_timeout(1000)
        panel = page.evaluate(_TREND, "cmd-panel-chart")
        assert all(t["n"] == 8 for t in panel["traces"]) and len(panel["traces"]) == 4
        assert panel["ticks"][-1] == "IV" and panel["ticks"][0].startswith("I")
        inside = page.evaluate(_INSIDE, "cmd-panel-chart")
        assert inside["n"] >= 11 and inside["out"] == [] and not inside["overlaps"]
        page.locator("#cmd-panel").screenshot(path=str(ARTIFACTS / "trend-commune-panel.png"))
        if NOTES.is_dir():
            shutil.copy(ARTIFACTS / "trend-commune-panel.png", NOTES / "trend-commune-panel.png")

        # the emerging map's legend: the groups present, fewer than seventeen steps
        page.get_by_role("radio", name="Xu hướng điểm nóng theo quý", exact=True).check()
        page.wait_for_function(
            "() => { const gd = document.querySelector('#cmd-map .js-plotly-plot');"
            " return gd && gd._fullLayout.title.text.startsWith('Xu hướng điểm nóng'); }",
            timeout=300_000)
        page.wait_for_timeout(1500)
        ticks = page.evaluate(
            "() => Array.from(document.querySelector('#cmd-map .js-plotly-plot')._fullData[0]"
            ".colorbar.ticktext)")
        assert 1 <= len(ticks) < 11 and ticks[0] == "Không có xu hướng"
        page.locator("#cmd-map").scroll_into_view_if_needed()
        _keep(page, "trend-emerging-legend.png")
    assert not errors


def test_viewer_sees_the_released_trend_by_quarter_only(server, expected):
    url, _ = server
    _, viewer = expected
    errors: list[str] = []
    with chromium_page(1440, 900, role="viewer") as page:
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(url + "/?types=victim&from=2025-07-01&to=2025-09-30&units=2025")
        seen = _wait_trend(page, "ov-trend",
                           "data.some(t => (t.meta || {}).role === 'type')")
        released = viewer.trend(freq="Q", types=("victim",))
        assert _lines(seen) == {"victim": [None if pd.isna(c) else int(c)
                                           for c in released["count"]]}
        hidden = released[released["count"].isna()]
        assert 0 < len(hidden) < len(released)  # the demo's victims: some quarters hidden
        (marks,) = [t for t in seen["traces"] if t["role"] == "hidden"]
        assert marks["text"] == hidden["label"].tolist() and set(marks["text"]) == {"< 5", "x"}
        assert marks["y"] == [0] * len(hidden)
        assert "Số liệu được ẩn (< 5, x)" in seen["legend"]
        # the grid quarter the map shows is outlined; months are not offered
        assert [(s["x0"], s["x1"]) for s in seen["shapes"] if s["name"] == "selected"] == [
            ("2025-07-01", "2025-10-01")]
        month = page.locator("#ov-trend-step input[value='M']")
        assert month.is_disabled()
        assert "không được công bố" in page.inner_text("#ov-trend-note")
        page.locator("#ov-trend").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        _keep(page, "trend-viewer.png")

        # another type: its released quarters
        page.get_by_role("radio", name="Tin báo, tố giác", exact=True).check()
        tips = _wait_trend(page, "ov-trend",
                           "data.some(t => (t.meta || {}).type === 'tip')")
        expected_tips = viewer.trend(freq="Q", types=("tip",))
        assert _lines(tips)["tip"] == [int(c) for c in expected_tips["count"]]
        assert not [t for t in tips["traces"] if t["role"] == "hidden"]
    assert not errors
