"""The standalone HTML map: offline, coloured as the live map, carrying its caveats."""

from __future__ import annotations

import dataclasses
import html
import datetime as dt
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import plotly.colors
import pytest
import shapely

from dashboard.serving import ensure_demo
from dashboard.context import build_context
from dashboard.exports.html_map import standalone_map_html
from dashboard.i18n import translate
from geo.config import Settings
from layers.counts import incident_counts
from layers.hotspots import hotspot_layer
from tests.browser import ARTIFACTS, blank_fraction, chromium_page

VENDOR = Path(__file__).resolve().parents[1] / "dashboard" / "exports" / "vendor"
TITLE = "Số vụ việc theo xã, 01/01/2024 – 31/12/2025"
EXTRACTED = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("html-map") / "var")
    ensure_demo(settings)
    return build_context(settings)


@pytest.fixture(scope="module")
def counts(ctx):
    return incident_counts(ctx.incidents, ctx.unit_table("2025"), unit_set="2025",
                           caveats=ctx.caveats)


@pytest.fixture(scope="module")
def page(ctx, counts):
    return standalone_map_html(counts, ctx.communes["2025"], ctx.gates, ctx.border,
                               title=TITLE, extracted=EXTRACTED)


@pytest.fixture(scope="module")
def hot_page(ctx, counts):
    hot = hotspot_layer(counts, ctx.communes["2025"], permutations=99)
    return hot, standalone_map_html(hot, ctx.communes["2025"], ctx.gates, ctx.border,
                                    title="Điểm nóng", extracted=EXTRACTED)


def _features(page: str) -> list[dict]:
    """The commune FeatureCollection folium embedded in the page's script."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"_add\((?=\{)", page):
        data, _ = decoder.raw_decode(page, match.end())
        if data.get("type") == "FeatureCollection":
            return data["features"]
    raise AssertionError("no FeatureCollection in the page")


class _Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [(tag, k, v or "") for k, v in attrs if k in ("src", "href", "srcset")]


def _legend_text(page: str) -> str:
    section = re.search(r'<section class="bw-legend">(.*?)</section>', page, re.DOTALL).group(1)
    return re.sub(r"<[^>]+>", "\n", section)


def _close(hex_a: str, rgb_b: tuple, tolerance: int) -> bool:
    a = tuple(int(hex_a[k:k + 2], 16) for k in (1, 3, 5))
    return all(abs(x - y) <= tolerance for x, y in zip(a, rgb_b))


def test_offline_page_references_nothing_outside_itself(page):
    parsed = _Attributes()
    parsed.feed(page)
    assert parsed.links == [], "no src/href at all: every script and style is inline"
    assert "link" not in parsed.tags
    # Leaflet is inlined verbatim (less its source-map comment), its images as data URIs.
    leaflet_js = (VENDOR / "leaflet.js").read_text(encoding="utf-8")
    leaflet_js = leaflet_js.split("\n//# sourceMappingURL")[0]
    assert leaflet_js in page and "sourceMappingURL" not in page
    css = re.search(r"<style>(/\* required styles \*/.*?)</style>", page, re.DOTALL).group(1)
    assert "url(images/" not in css
    assert set(re.findall(r"url\(\"?([a-z#]+)[:\"]", css)) <= {"data", "#default#VML"}
    rest = page.replace(leaflet_js, "").replace(css, "")
    assert not re.findall(r"https?:|//cdn|@import", rest, re.IGNORECASE), "no URL"
    assert "tile.openstreetmap.org" not in page


def test_tiles_option_adds_openstreetmap(ctx, counts):
    online = standalone_map_html(counts, ctx.communes["2025"], ctx.gates, ctx.border,
                                 title=TITLE, tiles=True)
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in online
    assert "OpenStreetMap" in online  # its attribution travels with the tiles


def test_page_carries_title_caveats_date_and_every_commune(ctx, page):
    assert f"<title>{TITLE}</title>" in page and f'<h1 class="bw-title">{TITLE}</h1>' in page
    assert len(ctx.caveats) == 2
    for caveat in ctx.caveats:
        assert f"<li>{translate(f'caveat.{caveat.value}', 'vi')}</li>" in page
    assert "Ngày trích xuất: <time datetime=\"2026-11-23\">23/11/2026</time>" in page
    names = [f["properties"]["name"] for f in _features(page)]
    assert len(names) == 96
    assert sorted(names) == sorted(ctx.communes["2025"]["name"])


def test_polygons_are_simplified_and_rounded(ctx, page):
    features = _features(page)
    coords = [c for f in features for c in shapely.get_coordinates(
        shapely.from_geojson(json.dumps(f["geometry"]))).ravel().tolist()]
    assert all(round(c, 5) == c for c in coords)
    before = shapely.get_num_coordinates(ctx.communes["2025"].geometry.values).sum()
    assert len(coords) / 2 <= before
    # the shapes stay where they were: each simplified commune covers its original's centroid area
    first = ctx.communes["2025"].iloc[0]
    drawn = shapely.from_geojson(json.dumps(features[0]["geometry"]))
    assert features[0]["id"] == first.name
    assert drawn.symmetric_difference(first.geometry).area < 0.02 * first.geometry.area


def test_commune_colours_match_the_plotly_scale(counts, page):
    styles = {f["id"]: f["properties"]["style"] for f in _features(page)}
    values = counts.frame["count"]
    top, zero = values.idxmax(), values.idxmin()
    assert values[zero] == 0
    assert styles[top]["fillColor"] == counts.colorscale[-1][1] == "#440154"
    assert styles[zero]["fillColor"] == counts.colorscale[0][1] == "#f7f7f7"
    scale = [list(stop) for stop in counts.colorscale]
    zmax = float(values.max())
    middle = values[(values > 0.2 * zmax) & (values < 0.8 * zmax)]
    assert len(middle) >= 5
    expected = plotly.colors.sample_colorscale(scale, (middle / zmax).tolist(), colortype="tuple")
    for code, rgb in zip(middle.index, expected):
        # Plotly.js rounds halves up, plotly.py to even: at most one unit apart on a channel.
        assert _close(styles[code]["fillColor"], tuple(255 * np.array(rgb)), 1), code
    assert {s["fillOpacity"] for s in styles.values()} == {0.85}


def test_tooltip_values_use_the_language_number_format(ctx, counts):
    frame = counts.frame.copy()
    code = frame.index[0]
    frame.loc[code, "count"] = 1835
    layer = dataclasses.replace(counts, frame=frame)
    for lang, text in (("vi", "1.835"), ("en", "1,835")):
        html = standalone_map_html(layer, ctx.communes["2025"], ctx.gates, ctx.border,
                                   title=TITLE, lang=lang, extracted=EXTRACTED)
        props = {f["id"]: f["properties"] for f in _features(html)}
        assert props[code]["label"] == text
        assert props[code]["name"] == frame.loc[code, "name"]
    assert "Extracted on: <time" in html and "23/11/2026" in html
    assert translate("caveat.synthetic", "en") in html


def test_hotspot_legend_lists_every_class_in_its_colour(hot_page):
    layer, html = hot_page
    classes = layer.params["classes"]
    legend = _legend_text(html)
    labels = [translate(c["message_key"], "vi") for c in classes]
    assert translate(layer.legend_key, "vi") in legend
    positions = [legend.index(label) for label in labels]
    assert positions == sorted(positions), "hot 99% first … cold 99% last"
    swatches = re.findall(r'class="bw-swatch" style="background:(#[0-9a-f]{6})"', html)
    assert swatches == [c["color"] for c in classes]
    colour_of = {float(c["code"]): c["color"] for c in classes}
    for feature in _features(html):
        value = layer.frame.loc[feature["id"], layer.value]
        assert feature["properties"]["style"]["fillColor"] == colour_of[value]
        assert feature["properties"]["label"] == translate(
            f"gi.{layer.frame.loc[feature['id'], 'gi_class']}", "vi")


def test_emerging_legend_lists_the_groups_present_in_their_colours(ctx):
    """Issue 17: the groups of categories present, not seventeen pale swatches; each commune
    filled with its group's colour."""
    from layers.emerging import CATEGORIES, CATEGORY_CODES, CATEGORY_COLOURS, CATEGORY_SCALE
    from layers.layer import Layer

    frame = ctx.unit_table("2025")[["name"]].copy()
    cycle = ["no_pattern", "new_hot", "intensifying_hot", "diminishing_cold"]
    frame["category"] = [cycle[i % 4] for i in range(len(frame))]
    frame["category_code"] = frame["category"].map(CATEGORY_CODES)
    layer = Layer(frame=frame, value="category_code", unit_set="2025", kind="emerging",
                  title_key="layer.emerging.title", legend_key="layer.emerging.legend",
                  units_key="unit.category", colorscale=CATEGORY_SCALE,
                  params={"categories": dict(CATEGORY_CODES), "zmin": -0.5,
                          "zmax": len(CATEGORIES) - 0.5})
    html = standalone_map_html(layer, ctx.communes["2025"], ctx.gates, ctx.border,
                               title="Xu hướng", extracted=EXTRACTED)
    items = re.findall(r'<li><span class="bw-swatch" style="background:(#[0-9a-f]{6})">'
                       r"</span>(.*?)</li>", html)
    assert items == [(CATEGORY_COLOURS["new_hot"], "Điểm nóng mới<br>Điểm nóng gia tăng"),
                     (CATEGORY_COLOURS["diminishing_cold"], "Điểm lạnh suy giảm"),
                     (CATEGORY_COLOURS["no_pattern"], "Không có xu hướng")]
    for feature in _features(html):
        category = frame.loc[feature["id"], "category"]
        assert feature["properties"]["style"]["fillColor"] == CATEGORY_COLOURS[category]


def test_sizes_of_the_96_and_280_commune_exports(ctx):
    sizes = {}
    for unit_set, n in (("2025", 96), ("legacy", 280)):
        layer = incident_counts(ctx.incidents, ctx.unit_table(unit_set), unit_set=unit_set,
                                caveats=ctx.caveats)
        html = standalone_map_html(layer, ctx.communes[unit_set], ctx.gates, ctx.border,
                                   title=TITLE, extracted=EXTRACTED)
        assert len(_features(html)) == n
        sizes[n] = len(html.encode("utf-8"))
    print(f"\nstandalone HTML size: 96 communes {sizes[96]:,} B, 280 communes {sizes[280]:,} B")
    assert 150_000 < sizes[96] < sizes[280] < 1_500_000


def test_projected_communes_are_refused(ctx, counts):
    with pytest.raises(ValueError, match="WGS84"):
        standalone_map_html(counts, ctx.communes["2025"].to_crs(32648), ctx.gates, ctx.border,
                            title=TITLE)


@pytest.mark.browser
def test_offline_chromium_draws_the_map(ctx, counts, page, tmp_path):
    path = tmp_path / "export.html"
    path.write_text(page, encoding="utf-8")
    features = _features(page)
    top = list(counts.frame.index).index(counts.frame["count"].idxmax())
    blocked, errors = [], []
    with chromium_page() as browser_page:
        browser_page.on("pageerror", lambda err: errors.append(str(err)))
        browser_page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        browser_page.route("**/*", lambda route: route.continue_()
                           if route.request.url.startswith("file:")
                           else (blocked.append(route.request.url), route.abort()))
        browser_page.goto(path.as_uri())
        browser_page.wait_for_selector("path.bw-commune")
        browser_page.wait_for_timeout(500)

        assert browser_page.locator("path.leaflet-interactive").count() >= len(features) == 96
        fills = browser_page.eval_on_selector_all(
            "path.bw-commune", "els => els.map(e => e.getAttribute('fill'))")
        assert fills == [f["properties"]["style"]["fillColor"] for f in features]
        assert fills[top] == "#440154"

        legend = browser_page.locator(".bw-legend")
        assert legend.is_visible()
        box = legend.bounding_box()
        assert box["y"] + box["height"] <= 900 and box["width"] > 100
        assert "Số vụ việc" in legend.inner_text()
        notes = browser_page.locator(".bw-notes")
        assert notes.is_visible() and "Dữ liệu minh họa tổng hợp" in notes.inner_text()
        assert "23/11/2026" in notes.inner_text()
        control = browser_page.inner_text(".leaflet-control-layers")
        for key in ("map.commune", "map.border", "map.gates"):
            assert translate(key, "vi") in control
        labels = browser_page.eval_on_selector_all(
            ".bw-gate-label", "els => els.map(e => e.innerText.trim())")
        assert sorted(labels) == sorted(ctx.gates["name"])

        commune = browser_page.locator("path.bw-commune").nth(top)
        hit = commune.bounding_box()
        commune.dispatch_event("mouseover", {"clientX": hit["x"] + hit["width"] / 2,
                                             "clientY": hit["y"] + hit["height"] / 2})
        tip = browser_page.wait_for_selector(".leaflet-tooltip.foliumtooltip").inner_text()
        assert features[top]["properties"]["name"] in tip
        assert features[top]["properties"]["label"] in tip and "Số vụ việc" in tip

        ARTIFACTS.mkdir(exist_ok=True)
        png = browser_page.screenshot(path=str(ARTIFACTS / "export-html.png"))
    assert blocked == [] and errors == []
    assert blank_fraction(png) < 0.9
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)
    darkest = 0.85 * np.array([0x44, 0x01, 0x54]) + 0.15 * 255  # #440154 at 0.85 on white
    assert (np.abs(pixels - darkest).max(axis=1) <= 3).sum() > 500, "the top commune is painted"


def test_title_is_text_not_markup(ctx, counts):
    title = "Số vụ {{ n }} <b>{% if x %}"
    html = standalone_map_html(counts, ctx.communes["2025"], ctx.gates, ctx.border,
                               title=title, extracted=EXTRACTED)
    assert "<title>Số vụ {{ n }} &lt;b&gt;{% if x %}</title>" in html
    assert '<h1 class="bw-title">Số vụ {{ n }} &lt;b&gt;{% if x %}</h1>' in html


def test_a_forecast_page_carries_its_track_record(ctx):
    """The forecast's HTML map has, in its footer, the page's sentence and the backtest
    table (the model and each baseline, hit rate and PAI at 5/10/20 %, PEI); in English
    too; a forecast without one (too little history) says why, with no table."""
    from dashboard.forecast_text import track_header, track_record, track_rows
    from layers.forecast import forecast_layer, unit_areas
    from tests.forecast_layers import synthetic_forecast

    layer = synthetic_forecast(ctx.communes["2025"], caveats=ctx.caveats)
    for lang in ("vi", "en"):
        page = standalone_map_html(layer, ctx.communes["2025"], ctx.gates, ctx.border,
                                   title="Dự báo", lang=lang, extracted=EXTRACTED)
        section = re.search(r'<section class="bw-track">(.*?)</section>', page, re.DOTALL)
        assert section, lang
        text = html_text(section.group(1))
        assert translate("export.forecast.track", lang) in text
        assert track_record(layer.params, lang) in text
        markup = html.unescape(section.group(1))  # "last quarter's" is written &#39;
        for header in track_header(lang):
            assert f"<th>{header}</th>" in markup
        for row in track_rows(layer.params, lang):
            cells = f"<td>{row[0]}</td>" + "".join(f'<td class="num">{c}</td>' for c in row[1:])
            assert cells in markup, row
    empty = forecast_layer(ctx.unit_table("2025"), unit_set="2025", fit=None, track=None,
                           area=unit_areas(ctx.communes["2025"]),
                           problem="forecast.too_few_periods", freq="M")
    page = standalone_map_html(empty, ctx.communes["2025"], ctx.gates, ctx.border,
                               title="Dự báo", extracted=EXTRACTED)
    section = re.search(r'<section class="bw-track">(.*?)</section>', page, re.DOTALL).group(1)
    assert "Chưa đủ dữ liệu để dự báo theo tháng: cần ít nhất 24 tháng" in html_text(section)
    assert "<table>" not in section
    counts_page = standalone_map_html(incident_counts(ctx.incidents, ctx.unit_table("2025"),
                                                      unit_set="2025"),
                                      ctx.communes["2025"], ctx.gates, ctx.border, title="T",
                                      extracted=EXTRACTED)
    assert "bw-track" not in counts_page.split("</style>")[-1]


def html_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


@pytest.fixture(scope="module")
def grid(ctx):
    """The commander's 2 km grid as the live map draws it (GeoJSON), and a forecast on its
    cells (each cell's value its position, named by the commune holding its centre)."""
    import pandas as pd

    from dashboard.geometry import Geometry
    from layers.catalogue import DENSITY_CELL_KM
    from layers.counts import SEQUENTIAL_SCALE
    from layers.density import GRID, kernel_density
    from layers.layer import Layer

    geometry = Geometry(ctx)
    empty = ctx.incidents.iloc[:0]
    cells = kernel_density(empty, geometry.outline, cell_km=DENSITY_CELL_KM,
                           communes=ctx.communes["2025"], unit_set="2025").cells
    cells.index = cells.index.astype(str)
    frame = pd.DataFrame({"name": cells["name"].fillna("").astype(str),
                          "forecast": np.linspace(0.0, 2.0, len(cells))}, index=cells.index)
    layer = Layer(frame, "forecast", GRID, "layer.forecast.title", "layer.forecast.legend",
                  "unit.records", kind="forecast", caveats=ctx.caveats,
                  colorscale=SEQUENTIAL_SCALE,
                  params={"freq": "Q", "problem": "forecast.too_sparse", "cell_rate": 0.02,
                          "min_rate": 0.1})
    return geometry.geojson["density"], layer


def test_a_grid_layer_exports_as_an_offline_page_of_its_cells(ctx, grid):
    """The forecast on the 2 km grid (any grid layer) as the HTML map: one feature per cell
    of the live map, coloured as Plotly colours it, named by its commune, no request."""
    from dashboard.exports.downloads import map_download
    from dashboard.exports.html_map import _plotly_colours
    from dashboard.figures.commune_map import drawn_scale

    geojson, layer = grid
    data = map_download("html", ctx, layer, geojson, title="Dự báo theo ô lưới",
                        unit_set="2025", lang="vi", stem="forecast_grid")
    page = data["content"]
    assert data["filename"] == "ban_do_forecast_grid.html"
    decoder = json.JSONDecoder()  # the cells' collection: the largest (the neighbours come first)
    collections = [decoder.raw_decode(page, m.end())[0]
                   for m in re.finditer(r"_add\((?=\{)", page)]
    features = max((c["features"] for c in collections if c.get("type") == "FeatureCollection"),
                   key=len)
    ids = [f["id"] for f in json.loads(geojson)["features"]]
    assert len(ids) > 2000 and [f["id"] for f in features] == ids
    zmin, zmax, stops, _ = drawn_scale(layer)
    expected = _plotly_colours(layer.frame["forecast"].to_numpy(), stops, zmin, zmax)
    assert [f["properties"]["style"]["fillColor"] for f in features] == expected
    names = dict(zip(layer.frame.index, layer.frame["name"]))
    assert all(f["properties"]["name"] == names[f["id"]] for f in features)
    assert {"Xã Bến Cầu", "Phường Tân Ninh"} <= {f["properties"]["name"] for f in features}
    parser = _Attributes()
    parser.feed(page)
    assert not [link for link in parser.links if "//" in link[2]]
    assert "Số liệu quá thưa để dự báo theo ô lưới 2 km" in html_text(page)
    # the layer control names the cells; the tooltip, the commune holding each
    assert json.dumps("Ô lưới") in page and json.dumps(translate("map.commune")) in page
    assert len(page.encode()) < 3_000_000  # measured: 1.3 MB for the demo's 2,200 cells


def test_a_grid_too_large_for_one_page_is_refused_with_its_size(ctx, grid, monkeypatch):
    from dashboard.exports import downloads

    geojson, layer = grid
    n = len(json.loads(geojson)["features"])
    monkeypatch.setattr(downloads, "MAX_CELLS", n - 1)
    with pytest.raises(downloads.GridTooLarge) as err:
        downloads.map_download("html", ctx, layer, geojson, title="T", unit_set="2025",
                               lang="vi", stem="x")
    assert (err.value.cells, err.value.most) == (n, n - 1)
