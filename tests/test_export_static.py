"""Static export: the committee version of a map, and PNG/PDF/SVG rendered by kaleido in Chromium."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import math
import re

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image
from plotly.colors import hex_to_rgb
from pyproj import Geod

from dashboard.context import build_context
from dashboard.exports.static import (
    SIZES,
    ChromiumNotFound,
    _TOP_ROOM,
    _pinned_labels,
    export_figure,
    export_figures,
    presentation_figure,
    scale_bar_length,
)
from dashboard.figures.commune_map import TRACE_COMMUNES, TRACE_GATES, commune_map, z_range
from dashboard.i18n import translate
from layers.counts import incident_counts
from layers.layer import Caveat
from tests.browser import CHROMIUM, blank_fraction
from tests.cache import demo_data

EXTRACTED = dt.date(2026, 11, 23)
SOURCE = "Công an tỉnh Tây Ninh"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("static") / "var")
    demo_data(settings)
    return build_context(settings)


@pytest.fixture(scope="module")
def layer(ctx):
    return incident_counts(ctx.incidents, ctx.unit_table("2025"), unit_set="2025",
                           caveats=ctx.caveats)


def live_map(ctx, layer, lang="vi"):
    return commune_map(layer, ctx.geojson["2025"], ctx.gates, ctx.border, lang=lang,
                       title="live", bounds=ctx.bounds)


def committee(ctx, layer, lang="vi", size="slide"):
    title = translate(layer.title_key, lang, period=translate("period.all", lang))
    return presentation_figure(
        live_map(ctx, layer, lang), title=title, subtitle=translate("units.2025", lang),
        caveats=ctx.caveats, source=SOURCE, extracted=EXTRACTED, lang=lang, size=size,
    )


def annotation(fig: go.Figure, name: str):
    found = [a for a in fig.layout.annotations if a.name == name]
    assert len(found) == 1, f"{name}: {len(found)} annotations"
    return found[0]


def scale_bar(fig: go.Figure):
    (bar,) = [t for t in fig.data if t.meta and t.meta.get("role") == "scale_bar"]
    return bar


# --------------------------------------------------------------------------- the figure


def test_committee_figure_holds_title_caveats_north_arrow_and_source(ctx, layer):
    fig = committee(ctx, layer)
    assert "Số vụ việc theo xã, toàn bộ thời gian" in fig.layout.title.text
    assert fig.layout.title.subtitle.text == "Xã, phường sau 01/7/2025 (96)"
    assert fig.layout.title.font.size >= 30  # legible on a projector
    assert set(ctx.caveats) == {Caveat.SYNTHETIC, Caveat.APPROXIMATE_BOUNDARIES}
    for caveat in ctx.caveats:
        note = annotation(fig, f"caveat.{caveat.value}")
        assert translate(f"caveat.{caveat.value}", "vi") in note.text
        assert note.bgcolor and note.font.size >= 16
    assert "Dữ liệu minh họa tổng hợp" in annotation(fig, "caveat.synthetic").text
    north = annotation(fig, "north_arrow")
    assert north.text == "<b>B</b><br><b>↑</b>" and north.xref == "paper"
    assert annotation(fig, "source").text == (
        "Nguồn dữ liệu: Công an tỉnh Tây Ninh · Trích xuất: 23/11/2026")
    # the legend is kept: the colour bar of the communes and the border/gates entries
    assert fig.data[TRACE_COMMUNES].colorbar.title.text == "Số vụ việc"
    assert fig.layout.legend.orientation == "h"
    assert (fig.layout.width, fig.layout.height) == (1600, 900)


def test_committee_figure_speaks_english(ctx, layer):
    fig = committee(ctx, layer, lang="en")
    assert annotation(fig, "north_arrow").text == "<b>N</b><br><b>↑</b>"
    assert annotation(fig, "caveat.synthetic").text.endswith(
        translate("caveat.synthetic", "en") + "</b>")
    assert annotation(fig, "source").text == (
        "Data source: Công an tỉnh Tây Ninh · Extracted: 23/11/2026")


def test_scale_bar_is_as_long_as_its_label_says(ctx, layer):
    fig = committee(ctx, layer)
    bar = scale_bar(fig)
    assert bar.type == "scattermap" and bar.text[-1] == "20 km" and bar.meta["km"] == 20
    (lon0, lon1), (lat0, lat1) = bar.lon, bar.lat
    assert lat0 == lat1  # along a parallel
    km = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)[2] / 1000
    assert km == pytest.approx(float(bar.text[-1].split()[0]), rel=1e-4)
    minx, miny, maxx, maxy = ctx.bounds
    assert minx < lon0 < lon1 < minx + 0.5 * (maxx - minx)  # lower left of the map
    assert miny < lat0 < miny + 0.1 * (maxy - miny)


def test_scale_bar_length_is_a_round_quarter_of_the_width():
    assert scale_bar_length((105.5, 10.4, 106.7, 11.8)) == 20  # ~131 km wide
    assert scale_bar_length((106.0, 11.0, 106.1, 11.1)) == 2  # ~11 km wide
    assert scale_bar_length((100.0, 10.0, 110.0, 11.0)) == 200


def test_committee_figure_leaves_the_live_figure_alone(ctx, layer):
    live = live_map(ctx, layer)
    before = live.to_json()
    fig = presentation_figure(live, title="T", caveats=ctx.caveats, source=SOURCE,
                              extracted=EXTRACTED)
    assert live.to_json() == before
    assert len(fig.data) == len(live.data) + 1
    assert len(live.layout.annotations) == 0 and len(fig.layout.annotations) == 4
    # the map is framed for the slide: a larger map area than the live page's 540 px
    assert fig.layout.map.zoom > live.layout.map.zoom


def test_bounds_default_to_the_commune_polygons(ctx, layer):
    fig = presentation_figure(live_map(ctx, layer), title="T", source=SOURCE,
                              extracted=EXTRACTED)
    minx, miny, maxx, maxy = ctx.bounds
    center = fig.layout.map.center
    assert center.lon == pytest.approx((minx + maxx) / 2, abs=1e-3)
    # a little north of the middle: the province sits lower, the northern gates' names fit
    assert 0 < center.lat - (miny + maxy) / 2 < 0.1
    world = 512 * 2 ** fig.layout.map.zoom
    shift = (math.log(math.tan(math.pi / 4 + math.radians(center.lat) / 2))
             - math.log(math.tan(math.pi / 4 + math.radians((miny + maxy) / 2) / 2)))
    assert shift * world / (2 * math.pi) == pytest.approx(_TOP_ROOM, abs=0.5)  # pixels


def test_export_refuses_a_geojson_url_and_a_missing_browser(ctx, layer, tmp_path):
    by_url = commune_map(layer, "/assets/geo/2025.geojson", ctx.gates, ctx.border,
                         bounds=ctx.bounds)
    with pytest.raises(ValueError, match="needs the GeoJSON itself"):
        export_figure(by_url)
    with pytest.raises(ChromiumNotFound, match="apt-get install chromium"):
        export_figure(go.Figure(), browser=tmp_path / "chromium")
    with pytest.raises(ValueError, match="unsupported format"):
        export_figure(go.Figure(), fmt="bmp")
    with pytest.raises(ValueError, match="unknown size"):
        export_figure(go.Figure(), size="a3")


def test_no_map_text_reaches_maplibre(ctx, layer):
    """MapLibre's text asks fonts.openmaptiles.org for glyphs: the gates and the scale bar
    carry their labels in ``text`` and ``meta["labels"]``, drawn by the browser or the
    export, and no map trace has a "text" mode."""
    fig = committee(ctx, layer)
    modes = {t.mode for t in fig.data if t.type == "scattermap"}
    assert not [m for m in modes if m and "text" in m], modes
    assert fig.layout.map.style == "white-bg"  # no text layer: its glyph URL is never used
    gates = fig.data[TRACE_GATES]
    assert "Mộc Bài" in gates.text and gates.meta["labels"]["size"] >= 16  # projector size
    assert scale_bar(fig).meta["labels"]["position"] == "top center"


def test_export_writes_map_labels_as_annotations_beside_their_points():
    style = {"position": "top right", "size": 12, "color": "#111111"}
    fig = go.Figure([
        go.Scattermap(lon=[106.0, 106.1, 106.0], lat=[11.0, 11.0, 11.0], text=["A", "B", "C"],
                      mode="markers+text", marker={"size": [10, 10, 6]},
                      meta={"labels": style}),
        go.Scattermap(lon=[106.05], lat=[11.0], text=["hidden"], visible="legendonly",
                      meta={"labels": style}),
    ], layout={"map": {"center": {"lon": 106.0, "lat": 11.0}, "zoom": 10}})
    pinned = _pinned_labels(go.Figure(fig))
    assert fig.data[0].mode == "markers+text"  # the caller's figure is not changed
    assert pinned.data[0].mode == "markers"
    notes = {a.text: a for a in pinned.layout.annotations}
    # A sits at the map's centre; C, on the same point with a smaller marker, is not drawn
    # over it (as MapLibre would hide it); the hidden trace's label is not drawn either
    assert set(notes) == {"A", "B"}
    a, b = notes["A"], notes["B"]
    assert (a.x, a.y, a.xref, a.yref) == (0.5, 0.5, "paper", "paper")
    assert (a.xshift, a.yshift) == (pytest.approx(7), pytest.approx(7))  # 10 / 2 + 2
    # 0.1° of longitude at zoom 10: 512 · 2¹⁰ · 0.1 / 360 px to the right
    assert b.xshift == pytest.approx(512 * 2 ** 10 * 0.1 / 360 + 7)
    assert b.yshift == pytest.approx(7)


def test_kaleido_chromium_reaches_no_host(monkeypatch):
    """Chromium's own traffic (account checks, updates) goes to a closed loopback proxy;
    choreographer takes no other flag. Measured with strace: no DNS query, no connection
    but to 127.0.0.1:9 (before: fonts.openmaptiles.org, accounts.google.com …)."""
    import kaleido

    seen = {}

    class Recorder:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return False

        async def calc_fig(self, spec, opts):
            seen["spec"] = spec
            return b"png"

    monkeypatch.setattr(kaleido, "Kaleido", Recorder)
    assert export_figure(go.Figure(), browser=CHROMIUM) == b"png"
    assert seen["proxy_server"].startswith("http://127.0.0.1:") and seen["mathjax"] is False


# --------------------------------------------------------------------------- rendering


def _pixels_near(png: bytes, rgb: tuple[int, int, int], tolerance: int = 6) -> int:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(image - np.array(rgb)).max(axis=2) <= tolerance).sum())


def _drawn_colour_of_the_maximum(fig: go.Figure, layer) -> tuple[int, int, int]:
    """The top of the colour scale, blended with white at the polygons' opacity."""
    communes = fig.data[TRACE_COMMUNES]
    top = float(np.nanmax(communes.z))
    assert top == z_range(layer)[1]  # the busiest commune takes the top colour
    colour = np.array(hex_to_rgb(communes.colorscale[-1][1]), dtype=float)
    alpha = communes.marker.opacity
    return tuple(round(float(v)) for v in alpha * colour + (1 - alpha) * 255)


@pytest.mark.browser
def test_png_slide_draws_the_map(ctx, layer):
    fig = committee(ctx, layer)
    png = export_figure(fig, fmt="png", size="slide", browser=CHROMIUM)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1600, 900)
    assert 0.3 < blank_fraction(png) < 0.92
    # the busiest commune's polygon is drawn: its blended colour (the colour bar shows the
    # unblended one) covers a commune-sized patch
    assert _pixels_near(png, _drawn_colour_of_the_maximum(fig, layer)) > 1000
    # the caveat bands' amber fill is there too
    assert _pixels_near(png, (255, 243, 205), tolerance=2) > 5000


@pytest.mark.browser
def test_pdf_a4_is_one_landscape_page(ctx, layer):
    pdf = export_figure(committee(ctx, layer, size="a4"), fmt="pdf", size="a4",
                        browser=CHROMIUM)
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    assert re.search(rb"/Count\s+1\b", pdf)
    (box,) = re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf)
    _, _, width_pt, height_pt = (float(v) for v in box.split())
    mm = 25.4 / 72
    assert (width_pt * mm, height_pt * mm) == (pytest.approx(297, abs=1),
                                               pytest.approx(210, abs=1))
    assert len(re.findall(rb"/Subtype\s*/Image", pdf)) == 1  # the map; text stays vector


@pytest.mark.browser
def test_svg_carries_title_caveats_and_source_also_from_inside_an_event_loop(ctx, layer):
    fig = committee(ctx, layer)

    async def from_a_coroutine() -> bytes:  # e.g. an async server: rendered in a worker thread
        return export_figure(fig, fmt="svg", browser=CHROMIUM)

    svg = asyncio.run(from_a_coroutine()).decode("utf-8")
    assert svg.lstrip().startswith("<svg")
    assert "Số vụ việc theo xã, toàn bộ thời gian" in svg
    for caveat in ctx.caveats:
        assert translate(f"caveat.{caveat.value}", "vi") in svg
    assert "Trích xuất: 23/11/2026" in svg
    # the gates' names and the scale bar's length are vector text, not MapLibre's glyphs
    assert "Mộc Bài" in svg and "Tân Nam" in svg and "20 km" in svg


@pytest.mark.browser
def test_batch_renders_each_figure_in_order_in_one_browser(ctx, layer):
    red = go.Figure(layout={"paper_bgcolor": "#ff0000", "plot_bgcolor": "#ff0000"})
    a4 = SIZES["a4"]
    pngs = export_figures([committee(ctx, layer, size="a4"), red], fmt="png", size="a4",
                          browser=CHROMIUM)
    assert len(pngs) == 2
    assert [Image.open(io.BytesIO(p)).size for p in pngs] == [a4.pixels(a4.png_scale)] * 2
    assert a4.pixels(a4.png_scale) == (1754, 1240)
    assert 0.3 < blank_fraction(pngs[0]) < 0.92
    assert _pixels_near(pngs[1], (255, 0, 0), tolerance=2) > 0.9 * 1754 * 1240


# --------------------------------------------------------------------------- a forecast


@pytest.fixture(scope="module")
def forecast(ctx):
    from tests.forecast_layers import synthetic_forecast

    return synthetic_forecast(ctx.communes["2025"], caveats=ctx.caveats)


def test_a_forecast_travels_with_its_track_record_beside_the_map(ctx, forecast, layer):
    """The slide and the A4 page of a forecast carry the page's sentence and the backtest
    table (hit rate and PAI at 5/10/20 % of the area, PEI, the model and each baseline) on
    the right; the map and its colour bar keep to the left; other layers have no panel."""
    from textwrap import wrap

    from dashboard.exports.committee import track_panel
    from dashboard.forecast_text import track_header, track_record, track_rows

    panel = track_panel(forecast, "vi")
    assert panel[0] == track_record(forecast.params, "vi")
    assert track_panel(layer, "vi") is None
    for size in ("slide", "a4"):
        fig = presentation_figure(live_map(ctx, forecast), title="Dự báo", caveats=ctx.caveats,
                                  source=SOURCE, extracted=EXTRACTED, size=size, panel=panel)
        sentence = annotation(fig, "panel")
        assert sentence.text.replace("<br>", " ") == " ".join(wrap(panel[0], 10_000))
        assert sentence.x > fig.layout.map.domain.x[1]
        (table,) = [t for t in fig.data if t.type == "table"]
        assert table.domain.x[0] == sentence.x
        cells = [list(col) for col in table.cells.values]
        rows = track_rows(forecast.params, "vi")
        assert [list(r) for r in zip(*cells)] == rows
        assert [r[0] for r in rows][:3] == ["Mô hình dự báo",
                                             "Mô hình, không dùng số vụ việc quý trước",
                                             "Số vụ việc của quý trước"]
        headers = [h.replace("<b>", "").replace("</b>", "").replace("<br>", " ")
                   for h in table.header.values]
        assert headers == track_header("vi", short=True)
        (choropleth,) = [t for t in fig.data if t.type == "choroplethmap"]
        assert fig.layout.map.domain.x[1] < choropleth.colorbar.x < sentence.x
        # the north arrow stays over the map, not in the panel
        assert annotation(fig, "north_arrow").x < fig.layout.map.domain.x[1]
    english = track_panel(forecast, "en")
    assert english[0].startswith("In the last 2 quarters, the 10 % of the area the model")
    assert english[1][1] == "Hit 5 %"


@pytest.mark.browser
def test_the_forecast_slide_draws_its_table(ctx, forecast):
    from dashboard.exports.committee import committee_image

    png = committee_image(ctx, forecast, ctx.geojson["2025"], title="Dự báo", unit_set="2025",
                          lang="vi", fmt="png")
    image = Image.open(io.BytesIO(png))
    assert image.size == (1600, 900)
    # the table's header fill, right of the map: a band the width of the panel
    assert _pixels_near(png, hex_to_rgb("#dce6f1"), tolerance=2) > 20_000
    pdf = committee_image(ctx, forecast, ctx.geojson["2025"], title="Dự báo", unit_set="2025",
                          lang="vi", fmt="pdf")
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
