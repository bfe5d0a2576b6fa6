"""End to end: the README's serve command, opened in headless Chromium, as a person sees it."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.browser import ARTIFACTS, blank_fraction, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

# What MapLibre actually drew: distinct commune polygons and gate markers on the canvas.
_RENDERED = """() => {
  const gd = document.querySelector('#commune-map .js-plotly-plot');
  const map = gd._fullLayout.map._subplot.map;
  const uid = (i) => gd._fullData[i].uid;
  const feats = map.queryRenderedFeatures();
  const fills = new Set(feats.filter(f => f.layer.id === `plotly-trace-layer-${uid(0)}-fill`)
                              .map(f => JSON.stringify(f.properties)));
  const gates = feats.filter(f => f.layer.id === `plotly-trace-layer-${uid(2)}-circle`).length;
  return {fills: fills.size, gates: gates, locations: gd.data[0].locations.length,
          gateNames: Array.from(gd._fullData[2].text), z: Array.from(gd._fullData[0].z)};
}"""


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url, data_dir


#: The map has painted what it holds: every commune of its data on the canvas.
_PAINTED = f"(n) => {{ const seen = ({_RENDERED})(); return seen.locations === n && seen.fills === n; }}"


def _open(page, url, communes: int = 96):
    """Open ``url`` and wait until the cards are filled and the map has painted its
    ``communes`` (not a fixed pause: the page is read as soon as it is drawn)."""
    page.goto(url)
    page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
    page.wait_for_function(
        "() => { const gd = document.querySelector('#commune-map .js-plotly-plot');"
        " return gd && gd._fullLayout && gd._fullLayout.map &&"
        " gd._fullLayout.map._subplot.map.loaded(); }",
        timeout=60_000,
    )
    page.wait_for_function("() => document.querySelector('#kpi-total').innerText !== '…'",
                           timeout=60_000)
    page.wait_for_function(_PAINTED, arg=communes, timeout=60_000, polling=250)


def test_map_draws_every_commune_both_main_gates_and_the_caveats_and_english_is_one_click_away(
        server):
    """One page (a page costs seconds of CPU): the map, the gates, the caveats, then
    English one click away."""
    url, data_dir = server
    incidents = pd.read_csv(data_dir / "demo" / "incidents.csv", dtype=str)
    with chromium_page() as page:
        _open(page, url + "/")
        seen = page.evaluate(_RENDERED)
        assert seen["locations"] == 96
        assert seen["fills"] == 96, "every 2025 commune is drawn on the canvas"
        assert {"Mộc Bài", "Xa Mát"} <= set(seen["gateNames"])
        assert seen["gates"] == len(seen["gateNames"]) >= 2
        assert sum(seen["z"]) == len(incidents)

        banner = page.inner_text("#synthetic-banner")
        assert "Dữ liệu minh họa tổng hợp" in banner
        assert "Ranh giới xã gần đúng" in banner
        assert page.inner_text("h1").startswith("Bản đồ giám sát phòng, chống mua bán người")
        total = page.inner_text("#kpi-total")
        assert total == f"{len(incidents):,}".replace(",", ".")

        ARTIFACTS.mkdir(exist_ok=True)
        png = page.screenshot(path=str(ARTIFACTS / "overview.png"))
        assert blank_fraction(png) < 0.85, "the page is not blank"
        map_png = page.locator("#commune-map").screenshot()
        assert blank_fraction(map_png) < 0.9, "the map shows coloured communes"  # an empty map is > 0.98

        # English is one click away
        page.get_by_text("English").click()
        page.wait_for_function(
            "() => document.querySelector('h1').innerText.startsWith('Anti-trafficking')",
            timeout=30_000,
        )
        assert "Synthetic demo data" in page.inner_text("#synthetic-banner")
        assert page.get_by_label("Victim received").is_checked()


def test_filter_changes_values_not_shapes_and_the_old_unit_set_draws_280_units(server):
    """One page: the types filter changes the values, not the shapes; then the units
    before 01/7/2025 are drawn, all 280."""
    url, data_dir = server
    incidents = pd.read_csv(data_dir / "demo" / "incidents.csv", dtype=str)
    victims = int((incidents["type"] == "victim").sum())
    with chromium_page() as page:
        _open(page, url + "/")
        for label in ("Vụ mua bán người", "Xuất, nhập cảnh trái phép", "Tin báo, tố giác"):
            page.get_by_label(label).uncheck()
        page.wait_for_function(
            f"() => document.querySelector('#kpi-total').innerText === "
            f"'{victims:,}'.replace(/,/g, '.')",
            timeout=30_000,
        )
        # the KPI answers with the figure, but the map repaints after it: while it does,
        # old and new colours of a commune can both be on the canvas — read the settled map
        for _ in range(30):
            seen = page.evaluate(_RENDERED)
            if seen["fills"] == 96:
                break
            page.wait_for_timeout(500)
        assert sum(seen["z"]) == victims
        assert seen["fills"] == 96

        # the old unit set draws its 280 units
        page.get_by_label("Xã, phường, thị trấn trước 01/7/2025 (280)").check()
        page.wait_for_function(
            "() => document.querySelector('#commune-map .js-plotly-plot').data[0]"
            ".locations.length === 280", timeout=30_000,
        )
        page.wait_for_function(_PAINTED, arg=280, timeout=30_000, polling=250)
        assert page.evaluate(_RENDERED)["fills"] == 280


# The overview's slide PNG and the committee's quarterly report PDF are downloaded, and
# their pictures and words checked, in tests/test_browser_exports.py (one page load each).


def test_link_reopens_the_view_and_back_restores_it(server):
    url, data_dir = server
    incidents = pd.read_csv(data_dir / "demo" / "incidents.csv", dtype=str)
    victims = int((incidents["type"] == "victim").sum())
    with chromium_page() as page:
        _open(page, url + "/?types=victim&units=2025")
        assert page.inner_text("#kpi-total") == f"{victims:,}".replace(",", ".")
        assert not page.get_by_label("Vụ mua bán người").is_checked()
        page.get_by_label("Vụ mua bán người").check()
        page.wait_for_function("() => location.search.includes('types=trafficking_case')")
        page.wait_for_function(
            f"() => document.querySelector('#kpi-total').innerText !== "
            f"'{victims:,}'.replace(/,/g, '.')", timeout=30_000)
        page.go_back()
        page.wait_for_function(
            f"() => document.querySelector('#kpi-total').innerText === "
            f"'{victims:,}'.replace(/,/g, '.')", timeout=30_000)
        assert not page.get_by_label("Vụ mua bán người").is_checked()
        assert sum(page.evaluate(_RENDERED)["z"]) == victims

        page.click("#ov-present")
        page.wait_for_selector("#present-map canvas.maplibregl-canvas", timeout=90_000)
        assert "present=1" in page.url and "types=victim" in page.url
        assert page.inner_text("#present-kpi-total") == f"{victims:,}".replace(",", ".")
        notes = page.evaluate("() => document.querySelector('#present-map .js-plotly-plot')"
                              "._fullLayout.annotations.map(a => a.text).join(' ')")
        assert "Dữ liệu minh họa tổng hợp" in notes and "Trích xuất" in notes
