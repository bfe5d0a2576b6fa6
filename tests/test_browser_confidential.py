"""End to end, per role: the confidential overview reads (issue 17).

Below commander a hidden commune is drawn in its own grey with "< 5" / "x" in the legend (no
hole in the map), the type control is one choice with a line saying why, and the key
figures name the type and the period they count. The commander, for contrast, ticks any
types, sees every count, and no hidden entry.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.browser import ARTIFACTS, blank_fraction, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

#: Illegal crossings of 2025 Q3: 48 communes "< 5" and 7 "x" for the committee's viewer.
Q3_CROSSINGS = "/?types=illegal_crossing&from=2025-07-01&to=2025-09-30&units=2025"

# What the map holds and what MapLibre drew: each trace's polygons on the canvas, the
# legend's entries as the reader sees them.
_SEEN = """() => {
  const gd = document.querySelector('#commune-map .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const feats = map.queryRenderedFeatures();
  const drawn = (i) => new Set(feats.filter(f => f.layer.id ===
      `plotly-trace-layer-${gd._fullData[i].uid}-fill`).map(f => JSON.stringify(f.properties))).size;
  return {
    traces: gd._fullData.map((t, i) => ({type: t.type, role: (t.meta || {}).role || null,
        n: (t.locations || []).length, drawn: t.type === 'choroplethmap' ? drawn(i) : null,
        mode: t.mode || null,
        z: t.type === 'choroplethmap' ? Array.from(t.z || []).filter(v => v !== null && v === v).length
                                      : null})),
    legend: Array.from(document.querySelectorAll('#commune-map .legendtext'))
                 .map(e => e.textContent),
  };
}"""


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url, data_dir


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("canvas.maplibregl-canvas", timeout=120_000)
    # the released figures (built in the background on a first start) are in the cards
    page.wait_for_function(
        "() => { const k = document.querySelector('#kpi-total');"
        " return k && k.innerText && k.innerText !== '…'; }", timeout=600_000, polling=1000)
    page.wait_for_function(
        "() => { const gd = document.querySelector('#commune-map .js-plotly-plot');"
        " return gd && gd._fullLayout && gd._fullLayout.map &&"
        " gd._fullLayout.map._subplot.map.loaded(); }", timeout=120_000)
    _wait_painted(page)


def _wait_painted(page) -> None:
    """Until MapLibre has drawn every commune the map holds: each published count, each
    hidden one (not a fixed pause: the page is read as soon as it is drawn)."""
    page.wait_for_function(
        f"() => ({_SEEN})().traces.every(t => t.type !== 'choroplethmap'"
        " || (t.role === null && t.drawn === t.z) || (t.role === 'hidden' && t.drawn === t.n)"
        " || (t.role !== null && t.role !== 'hidden'))", timeout=60_000, polling=250)


def _hidden(seen: dict) -> list[dict]:
    return [t for t in seen["traces"] if t["role"] == "hidden"]


def _radios(page) -> list[tuple[str, bool]]:
    return [tuple(r) for r in page.evaluate(
        "() => Array.from(document.querySelectorAll('#filter-type-one input[type=radio]'))"
        ".map(r => [r.value, r.checked])")]


def _visible_checkboxes(page) -> int:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('#filter-types input[type=checkbox]'))"
        ".filter(c => c.offsetParent !== null).length")


def test_viewer_sees_hidden_communes_drawn_and_named_in_the_legend(server):
    url, _ = server
    with chromium_page(1440, 900, role="viewer") as page:
        _open(page, url + Q3_CROSSINGS)
        seen = page.evaluate(_SEEN)
        small, comp = _hidden(seen)
        assert (small["n"], comp["n"]) == (48, 7)
        # drawn on the canvas, not blank: every hidden polygon and every published one
        assert small["drawn"] == 48 and comp["drawn"] == 7
        communes = seen["traces"][0]
        assert communes["z"] + small["n"] + comp["n"] == 96 == communes["n"]
        assert communes["drawn"] == communes["z"]
        hatch = [t for t in seen["traces"] if t["role"] == "hatch"]
        assert len(hatch) == 1 and hatch[0]["n"] == 55 and hatch[0]["drawn"] > 0
        assert not any("text" in (t["mode"] or "") for t in seen["traces"])
        assert "< 5: dưới 5" in seen["legend"]
        assert "x: ẩn thêm để không suy ra được số nhỏ" in seen["legend"]
        assert "Số liệu được ẩn để bảo vệ nạn nhân" in page.inner_text("#commune-map")
        note = page.inner_text("#ov-note")
        assert "“< 5” là dưới 5" in note and "“x” là số được ẩn thêm" in note

        # one choice, the one shown, and why
        assert _radios(page) == [("trafficking_case", False), ("illegal_crossing", True),
                                 ("tip", False), ("victim", False)]
        assert _visible_checkboxes(page) == 0
        assert page.inner_text("#filter-type-why").startswith(
            "Mỗi lần chỉ chọn một loại vụ việc: tổng các loại không được công bố")
        # the key figures say what they count
        for what in ("#kpi-what-total", "#kpi-what-communes", "#kpi-what-top"):
            assert page.inner_text(what) == "Xuất, nhập cảnh trái phép · Quý III/2025"
        assert "(Xuất, nhập cảnh trái phép)" in page.text_content("#commune-map .gtitle")

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "confidential_viewer.png"))
        assert blank_fraction(page.locator("#commune-map").screenshot()) < 0.9

        # another type: the map's hidden communes, the cards and the URL follow
        page.get_by_role("radio", name="Nạn nhân được tiếp nhận").check()
        page.wait_for_function(
            "() => document.querySelector('#kpi-what-total').innerText"
            ".startsWith('Nạn nhân được tiếp nhận')", timeout=120_000)
        page.wait_for_function("() => location.search.includes('types=victim')")
        page.wait_for_function(  # the map holds the new type, then it is drawn
            "() => document.querySelector('#commune-map .js-plotly-plot')._fullLayout.title"
            ".text.includes('Nạn nhân được tiếp nhận')", timeout=60_000)
        _wait_painted(page)
        assert "types=victim" in page.evaluate("() => location.search")
        assert [r for r, checked in _radios(page) if checked] == ["victim"]
        seen = page.evaluate(_SEEN)
        small, comp = _hidden(seen)
        assert small["n"] > 0 and small["drawn"] == small["n"] and comp["n"] == 0
        assert [t["n"] for t in seen["traces"] if t["role"] == "hatch"] == [small["n"]]
        assert "< 5: dưới 5" in seen["legend"]
        assert not any(t.startswith("x:") for t in seen["legend"]), "no 'x': no entry"
        assert seen["traces"][0]["z"] + small["n"] == 96


def test_viewer_link_with_every_type_presentation_and_english(server):
    """One viewer page walked through three addresses (a new page costs seconds of CPU):
    a link with every type shows the type it draws; presentation keeps the legend, the
    line and the named figures; the English legend and control (last: the session's
    language becomes English)."""
    url, _ = server
    with chromium_page(1440, 900, role="viewer") as page:
        _open(page, url + "/?types=trafficking_case&types=illegal_crossing&types=tip"
                          "&types=victim&from=2025-07-01&to=2025-09-30")
        page.wait_for_timeout(1500)
        assert [r for r, checked in _radios(page) if checked] == ["trafficking_case"]
        assert page.inner_text("#kpi-what-total") == "Vụ mua bán người · Quý III/2025"

        # presentation keeps the legend, the line and the named figures
        page.goto(url + Q3_CROSSINGS + "&present=1")
        page.wait_for_selector("#present-map canvas.maplibregl-canvas", timeout=120_000)
        # the release plan may still be in the making on a fresh server: the page asks again
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('#present-map .legendtext'))"
            ".some(e => e.textContent.startsWith('< 5'))", timeout=180_000)
        legend = page.evaluate(
            "() => Array.from(document.querySelectorAll('#present-map .legendtext'))"
            ".map(e => e.textContent)")
        assert "< 5: dưới 5" in legend and "x: ẩn thêm để không suy ra được số nhỏ" in legend
        text = page.inner_text("#present-map")
        assert "Xã, phường tô xám, gạch chéo: số liệu được ẩn để bảo vệ nạn nhân" in text
        assert page.inner_text("#present-kpi-what-total") == \
            "Xuất, nhập cảnh trái phép · Quý III/2025"
        page.screenshot(path=str(ARTIFACTS / "confidential_presentation_viewer.png"))

        # the English legend and control
        _open(page, url + Q3_CROSSINGS + "&lang=en")
        legend = page.evaluate(_SEEN)["legend"]
        assert "< 5: fewer than 5" in legend
        assert "x: also hidden, so that no small count can be worked out" in legend
        assert page.inner_text("#filter-type-why").startswith("One incident type at a time")
        assert page.inner_text("#kpi-what-total") == "Illegal exit/entry · Q3 2025"


def test_planner_sees_one_type_at_a_time_and_hidden_communes(server):
    url, _ = server
    with chromium_page(1440, 900, role="planner") as page:
        _open(page, url + "/")
        radios = _radios(page)
        assert [r for r, _ in radios] == ["trafficking_case", "illegal_crossing", "tip",
                                          "victim"]
        assert [r for r, checked in radios if checked] == ["trafficking_case"]
        assert _visible_checkboxes(page) == 0
        assert page.inner_text("#kpi-what-total").startswith("Vụ mua bán người · ")
        seen = page.evaluate(_SEEN)
        small, comp = _hidden(seen)
        assert small["n"] > 0 and small["drawn"] == small["n"]
        assert seen["traces"][0]["z"] + small["n"] + comp["n"] == 96
        assert "< 5: dưới 5" in seen["legend"]
        page.screenshot(path=str(ARTIFACTS / "confidential_planner.png"))


def test_commander_ticks_any_types_and_sees_every_count(server):
    url, data_dir = server
    incidents = pd.read_csv(data_dir / "demo" / "incidents.csv", dtype=str)
    with chromium_page(1440, 900, role="commander") as page:
        _open(page, url + "/")
        seen = page.evaluate(_SEEN)
        assert _hidden(seen) == [] and len(seen["traces"]) == 3
        assert not any(t.startswith(("< 5", "x:")) for t in seen["legend"])
        assert seen["traces"][0]["z"] == 96 == seen["traces"][0]["drawn"]
        assert _visible_checkboxes(page) == 4 and _radios(page) == []
        assert page.inner_text("#kpi-total") == f"{len(incidents):,}".replace(",", ".")
        assert page.inner_text("#kpi-what-total").startswith("Tất cả các loại vụ việc · ")
        page.screenshot(path=str(ARTIFACTS / "confidential_commander.png"))
