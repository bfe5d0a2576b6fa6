"""End to end: with the gate rings on, a click on a commune opens that commune, also where a
gate's marker sits over it (issue 17: the rings and Mộc Bài's marker took the clicks)."""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

_GD = "document.querySelector('#cmd-map .js-plotly-plot')"


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url, data_dir


def _targets(data_dir) -> list[tuple[str, tuple[float, float]]]:
    """Bến Cầu's centre (Mộc Bài's marker is beside it), then the two communes nearest
    Mộc Bài after it, each at a point inside it away from every gate (all inside the rings)."""
    import geopandas as gpd
    import shapely

    from geo.boundaries import load_communes
    from geo.config import Settings
    from geo.gates import load_gates

    settings = Settings(data_dir=data_dir)
    communes = load_communes(settings).to_crs(3405)  # VN-2000 / UTM 48N: metres
    gates = load_gates(settings).to_crs(3405)
    moc_bai = gates.loc[gates["gate_id"] == "moc_bai", "geometry"].iloc[0]
    ben_cau = communes.loc[gates.loc[gates["gate_id"] == "moc_bai", "new_code"].iloc[0]]
    assert ben_cau["name"] == "Xã Bến Cầu"
    centre = ben_cau.geometry.centroid
    assert ben_cau.geometry.contains(centre) and centre.distance(moc_bai) < 5_000
    near = communes.drop(ben_cau.name).assign(d=communes.distance(moc_bai)).sort_values("d")
    picks = [("Xã Bến Cầu", centre)]
    for _, row in near.head(2).iterrows():
        point = row.geometry.representative_point()
        assert point.distance(moc_bai) < 15_000, "inside the rings"
        picks.append((row["name"], point))
    wgs = shapely.get_coordinates(
        gpd.GeoSeries([p for _, p in picks], crs=3405).to_crs(4326).values)
    return [(name, (float(x), float(y))) for (name, _), (x, y) in zip(picks, wgs)]


def _click_at(page, lon: float, lat: float) -> None:
    box = page.locator("#cmd-map").bounding_box()
    x, y = page.evaluate(
        f"([lon, lat]) => {{ const gd = {_GD}; const map = gd._fullLayout.map._subplot.map;"
        " const p = map.project([lon, lat]); const r = map.getCanvas().getBoundingClientRect();"
        " const b = document.querySelector('#cmd-map').getBoundingClientRect();"
        " return [p.x + r.left - b.left, p.y + r.top - b.top]; }", [lon, lat])
    page.mouse.move(box["x"] + x - 3, box["y"] + y - 3)
    page.wait_for_timeout(300)
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_timeout(500)
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_with_rings_on_a_click_opens_the_commune_under_it(server):
    url, data_dir = server
    targets = _targets(data_dir)
    with chromium_page(1440, 900) as page:
        page.goto(url + "/commander?rings=rings")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        page.wait_for_function(
            f"() => {{ const gd = {_GD}; return gd && gd._fullData && gd._fullData[3] &&"
            " gd._fullData[3].visible === true && gd._fullLayout.map._subplot.map.loaded(); }",
            timeout=90_000)
        page.wait_for_timeout(1500)
        page.locator("#cmd-map").scroll_into_view_if_needed()
        opened = []
        for name, (lon, lat) in targets:
            _click_at(page, lon, lat)
            try:
                page.wait_for_function(
                    "(n) => { const h = document.querySelector('#cmd-panel-name');"
                    " return h && h.innerText === n; }", arg=name, timeout=30_000)
                opened.append(name)
            except Exception:
                shown = page.query_selector("#cmd-panel-name")
                opened.append(shown.inner_text() if shown else None)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "commander_rings_click.png"))
        assert opened == [name for name, _ in targets]
        assert "Số vụ việc theo quý" in page.inner_text("#cmd-panel")
