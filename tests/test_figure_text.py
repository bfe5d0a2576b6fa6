"""User text reaches figures and maps as text, never as markup (Plotly's HTML subset, folium).

An import's ``source`` ``<a href=…>`` once became a clickable link in presentation mode.
Every user string a renderer writes (source, commune and gate names, titles) goes through
:func:`dashboard.figures.text.plain_text`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from types import SimpleNamespace

import plotly
import plotly.graph_objects as go
import pytest

from dashboard import ids
from dashboard.context import build_context
from dashboard.exports.html_map import standalone_map_html
from dashboard.exports.static import presentation_figure
from dashboard.figures.commune_map import TRACE_COMMUNES, TRACE_GATES, commune_map, values_patch
from dashboard.figures.rings import gate_rings
from dashboard.figures.text import plain_text
from dashboard.presentation import presentation_view
from geo.config import Settings
from layers.counts import incident_counts
from tests.cache import demo_data

EVIL = '<a href="http://evil">x</a>'
SHOWN = "&lt;a href=&#34;http://evil&#34;&gt;x&lt;/a&gt;"
EXTRACTED = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("figure-text") / "var")
    demo_data(settings)
    return build_context(settings)


@pytest.fixture(scope="module")
def layer(ctx):
    counts = incident_counts(ctx.incidents, ctx.unit_table("2025"), unit_set="2025",
                             caveats=ctx.caveats)
    frame = counts.frame.copy()
    frame.iloc[0, frame.columns.get_loc("name")] = EVIL  # a commune named by an import
    return dataclasses.replace(counts, frame=frame)


@pytest.fixture(scope="module")
def gates(ctx):
    gates = ctx.gates.copy()
    for column in ("name", "commune", "counterpart", "counterpart_province"):
        gates[column] = gates[column].astype(object)
        gates.iloc[0, gates.columns.get_loc(column)] = EVIL
    gates.iloc[0, gates.columns.get_loc("gate_class")] = "international"  # with rings
    return gates


def _strings(node):
    """Every string in a nested figure dict."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _strings(value)
    elif hasattr(node, "tolist"):
        yield from _strings(node.tolist())


def _no_markup_from_users(figure) -> list[str]:
    """The strings of ``figure`` that carry the user's text; none may hold it as markup."""
    spec = figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else figure
    spec = json.loads(json.dumps(spec, cls=plotly.utils.PlotlyJSONEncoder))
    texts = list(_strings(spec))
    assert not [t for t in texts if "<a" in t or "evil\"" in t], "user text as markup"
    return [t for t in texts if SHOWN in t]


def _features(page: str) -> list[dict]:
    """The commune FeatureCollection folium embedded in the page's script."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"_add\((?=\{)", page):
        data, _ = decoder.raw_decode(page, match.end())
        if data.get("type") == "FeatureCollection":
            return data["features"]
    raise AssertionError("no FeatureCollection in the page")


def test_plain_text_is_shown_as_typed_by_plotly():
    assert plain_text(EVIL) == SHOWN
    assert plain_text("Tân Nam & Mộc Bài's <b>") == "Tân Nam &amp; Mộc Bài&#39;s &lt;b&gt;"
    assert plain_text(None) == "" and plain_text(12) == "12"
    # plotly.js decodes exactly these: &amp; &lt; &gt; and numeric entities (not &quot;)
    bundle = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text()
    named = re.search(r"\{mu:\"[^}]*\}", bundle).group(0)
    assert all(f"{name}:" in named for name in ("amp", "lt", "gt"))
    assert "quot:" not in named


def test_live_map_escapes_commune_and_gate_names_and_title(ctx, layer, gates):
    fig = commune_map(layer, ctx.geojson["2025"], gates, ctx.border, title=EVIL,
                      bounds=ctx.bounds)
    shown = _no_markup_from_users(fig)
    assert fig.layout.title.text == SHOWN
    assert fig.data[TRACE_COMMUNES].text[0] == SHOWN  # hover: "<b>%{text}</b>"
    assert fig.data[TRACE_GATES].text[0] == SHOWN  # the label written beside the gate
    hover = fig.data[TRACE_GATES].hovertext[0]
    assert hover.count(SHOWN) == 4 and hover.startswith(f"<b>{SHOWN}</b>")
    assert len(shown) >= 4
    patch = values_patch(layer, "vi", EVIL).to_plotly_json()
    assert SHOWN in json.dumps(patch, ensure_ascii=False) and EVIL not in json.dumps(patch)


def test_ring_labels_escape_the_gate_name(gates):
    rings = gate_rings(gates, "vi")
    assert any(SHOWN in t for t in rings.text if t)
    _no_markup_from_users(go.Figure(rings))


def test_committee_figure_escapes_source_title_and_subtitle(ctx, layer, gates):
    live = commune_map(layer, ctx.geojson["2025"], gates, ctx.border, bounds=ctx.bounds)
    fig = presentation_figure(live, title=EVIL, subtitle=EVIL, caveats=ctx.caveats,
                              source=EVIL, extracted=EXTRACTED, bounds=ctx.bounds)
    _no_markup_from_users(fig)
    assert fig.layout.title.text == f"<b>{SHOWN}</b>"
    assert fig.layout.title.subtitle.text == SHOWN
    (source,) = [a for a in fig.layout.annotations if a.name == "source"]
    assert source.text.startswith(f"Nguồn dữ liệu: {SHOWN} · ")


def _presentation_figure(ctx, layer, gates) -> dict:
    """The figure of the presentation page for records imported under the source ``EVIL``."""
    imported = SimpleNamespace(caveats=ctx.caveats, source=EVIL, extracted=EXTRACTED,
                               bounds=ctx.bounds)
    shapes = json.loads(ctx.geojson["2025"])  # the polygons themselves, not a URL to fetch
    live = commune_map(layer, shapes, gates, ctx.border, bounds=ctx.bounds)
    view = presentation_view(imported, live, title=EVIL, unit_set="2025", lang="vi",
                             path="/commander", search="?present=1")
    (graph,) = [c for c in view.children if getattr(c, "id", None) == ids.PRESENT_MAP]
    return graph.figure


def test_presentation_page_shows_an_imported_source_as_text(ctx, layer, gates):
    figure = _presentation_figure(ctx, layer, gates)
    assert any(t.startswith(f"Nguồn dữ liệu: {SHOWN}") for t in _no_markup_from_users(figure))


@pytest.mark.browser
def test_plotly_draws_no_link_from_an_imported_source(ctx, layer, gates):
    """Drawn by the same plotly.js as the dashboard: the source is text, not an <a>; the
    unescaped source (as before the fix) would be a link, so the check can see one."""
    from tests.browser import chromium_page

    figure = json.loads(json.dumps(_presentation_figure(ctx, layer, gates),
                                   cls=plotly.utils.PlotlyJSONEncoder))
    raw = json.loads(json.dumps(figure))
    for note in raw["layout"]["annotations"]:
        note["text"] = note["text"].replace(SHOWN, EVIL)
    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    with chromium_page(1600, 900, role=None) as page:
        page.set_content("<html><body><div id='fixed'></div><div id='raw'></div></body></html>")
        page.add_script_tag(path=str(bundle))
        for div, spec in (("fixed", figure), ("raw", raw)):
            page.evaluate("([id, fig]) => { Plotly.newPlot(id, fig.data, fig.layout,"
                          " {staticPlot: true}); }", [div, spec])
            page.wait_for_selector(f"#{div} .annotation", timeout=60_000)
        links = ("(id) => Array.from(document.querySelectorAll('#' + id + ' svg a'))"
                 ".map(a => a.getAttribute('href') || a.getAttribute('xlink:href'))")
        assert page.evaluate(links, "fixed") == []
        shown = page.evaluate("() => Array.from(document.querySelectorAll("
                              "'#fixed .annotation')).map(a => a.textContent).join(' ')")
        assert f"Nguồn dữ liệu: {EVIL}" in shown  # written exactly as typed
        assert "http://evil" in page.evaluate(links, "raw")  # what the check would catch


def test_html_map_escapes_names_title_and_gates(ctx, layer, gates):
    communes = ctx.communes["2025"].copy()
    communes.iloc[0, communes.columns.get_loc("name")] = EVIL
    page = standalone_map_html(layer, communes, gates, ctx.border, title=EVIL,
                               extracted=EXTRACTED)
    assert 'href="http://evil"' not in page and 'href=\\"http://evil\\"' not in page
    assert not re.search(r"<a\s+href=\\?[\"']?http://evil", page, re.IGNORECASE)
    assert not re.search(r"\\u003ca\s+href", page, re.IGNORECASE)
    assert f"<title>{SHOWN}</title>" in page
    names = {f["id"]: f["properties"]["name"] for f in _features(page)}
    assert names[layer.frame.index[0]] == SHOWN  # folium's tooltip writes it as HTML
    assert page.count(SHOWN) >= 5  # title twice, the commune, the gate's label and tooltip
