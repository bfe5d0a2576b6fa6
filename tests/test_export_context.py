"""What the exports draw beyond the values: the gates' rings as on screen, zero as the legend
says, the neighbours, and an HTML scale bar in kilometres only."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dashboard.cli import ensure_demo
from dashboard.context import build_context
from dashboard.exports import committee
from dashboard.exports.downloads import map_download
from dashboard.exports.html_map import _plotly_colours, standalone_map_html
from dashboard.figures.commune_map import (TRACE_COMMUNES, ZERO_BAND, commune_map,
                                           drawn_scale, values_patch)
from layers.counts import SEQUENTIAL_SCALE, incident_counts
from layers.layer import Layer
from tests.browser import chromium


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("export-context") / "var")
    ensure_demo(settings)
    return build_context(settings)


@pytest.fixture(scope="module")
def layer(ctx):
    return incident_counts(ctx.incidents, ctx.unit_table("2025"), unit_set="2025",
                           caveats=ctx.caveats)


def _counts(values) -> Layer:
    frame = pd.DataFrame({"name": [f"Xã {i}" for i in range(len(values))], "count": values},
                         index=[f"{i:05d}" for i in range(len(values))])
    return Layer(frame, "count", "2025", "layer.incident_counts.title",
                 "layer.incident_counts.legend", "unit.records", colorscale=SEQUENTIAL_SCALE)


@pytest.mark.parametrize("top", [1, 7, 324, 5000])
def test_zero_has_the_colour_at_the_foot_of_the_legend(top):
    zmin, zmax, stops, ticks = drawn_scale(_counts([0, 1, top]))
    zero, one, most = _plotly_colours(np.array([0, 1, top]), stops, zmin, zmax)
    assert zero == SEQUENTIAL_SCALE[0][1]  # near white
    # the colour bar paints that colour over its lowest ZERO_BAND, wide enough to see
    assert stops[0] == [0.0, zero] and stops[1] == [ZERO_BAND, zero]
    assert (0 - zmin) / (zmax - zmin) == pytest.approx(ZERO_BAND)
    # one is no near-white: it takes the scale's colours, far from zero's
    rgb = [tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for c in (zero, one)]
    assert max(abs(a - b) for a, b in zip(*rgb)) > 100, (zero, one)
    assert most == SEQUENTIAL_SCALE[-1][1]
    assert ticks[0] == 0 and min(ticks) >= 0  # no tick below zero


def test_the_live_map_and_its_patch_draw_the_same_scale():
    layer = _counts([0, 3, 40])
    import geopandas as gpd

    nothing = gpd.GeoDataFrame({"name": [], "gate_class": [], "gate_id": []},
                               geometry=[], crs="EPSG:4326")
    fig = commune_map(layer, "/x.geojson", nothing, nothing)
    trace = fig.data[TRACE_COMMUNES]
    zmin, zmax, stops, ticks = drawn_scale(layer)
    assert (trace.zmin, trace.zmax) == (zmin, zmax)
    assert [list(s) for s in trace.colorscale] == stops
    assert list(trace.colorbar.tickvals) == ticks and trace.colorbar.ticktext[0] == "0"
    patch = values_patch(_counts([0, 3, 4000]), "vi", "t").to_plotly_json()
    changes = {tuple(op["location"]): op["params"]["value"] for op in patch["operations"]}
    assert changes[("data", TRACE_COMMUNES, "zmax")] == 4000
    assert changes[("data", TRACE_COMMUNES, "colorbar", "ticktext")][-1] == "4.000"


def test_the_html_legend_starts_with_the_zero_block(ctx, layer):
    page = standalone_map_html(layer, ctx.communes["2025"], ctx.gates, ctx.border, title="t")
    assert f"#f7f7f7 0.000%, #f7f7f7 {100 * ZERO_BAND:.3f}%" in page


def test_the_png_has_the_rings_the_screen_shows(ctx, layer, monkeypatch):
    drawn = []
    monkeypatch.setattr(committee, "export_figure",
                        lambda figure, **kw: drawn.append(figure) or b"png")
    for rings in (False, True):
        map_download("png", ctx, layer, ctx.geojson["2025"], title="t", unit_set="2025",
                     lang="vi", stem="x", rings=rings)
    roles = [[t.meta.get("role") for t in f.data if isinstance(t.meta, dict) and t.visible]
             for f in drawn]
    assert "rings" not in roles[0] and "rings" in roles[1]
    assert all(f.layout.map.layers for f in drawn)  # the neighbours in both


@pytest.mark.browser
def test_the_rings_are_drawn_in_the_png(ctx, layer):
    """Rendered for real: the PNG with rings has dark ring pixels the one without lacks."""
    images = [np.asarray(Image.open(io.BytesIO(committee.committee_image(
        ctx, layer, ctx.geojson["2025"], title="t", unit_set="2025", lang="vi", fmt="png",
        rings=rings))).convert("L")).astype(int) for rings in (False, True)]
    darker = (images[0] - images[1]) > 40
    assert darker.sum() > 2000, darker.sum()  # 3 rings × 2 gates, about 1,000 km of line


@pytest.mark.browser
def test_the_html_scale_bar_says_kilometres_only(ctx, layer, tmp_path):
    page = map_download("html", ctx, layer, ctx.geojson["2025"], title="t", unit_set="2025",
                        lang="vi", stem="x")["content"]
    assert "imperial: false" in page and "L.control.scale()" not in page
    path = tmp_path / "map.html"
    path.write_text(page, encoding="utf-8")
    with chromium() as browser:
        view = browser.new_page(viewport={"width": 1440, "height": 900})
        view.goto(path.as_uri())
        view.wait_for_selector(".leaflet-control-scale-line")
        view.wait_for_timeout(500)
        lines = view.eval_on_selector_all(".leaflet-control-scale-line",
                                          "els => els.map(e => e.textContent)")
        places = view.eval_on_selector_all(".bw-place-label", "els => els.map(e => e.textContent.trim())")
        credit = view.text_content(".leaflet-control-attribution")
    assert len(lines) == 1 and lines[0].endswith(" km"), lines
    assert {"Svay Rieng", "Prey Veng", "TP. Hồ Chí Minh", "Đồng Tháp"} <= set(places)
    assert "Natural Earth" in credit
