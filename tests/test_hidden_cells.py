"""Hidden communes below commander read on every rendering: their own greys (never a hole,
never the colour of a count or of zero), "< 5" and "x" in the legend, one line on what they
mean; the type control offers what the release publishes (issue 17)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from dashboard.analysis import Analyses
from dashboard.context import build_context
from dashboard.exports.html_map import standalone_map_html
from dashboard.exports.report import report_maps
from dashboard.exports.static import export_figure, presentation_figure
from dashboard.figures.commune_map import (
    HATCH,
    HIDDEN_STYLE,
    TRACE_COMMUNES,
    TRACE_HIDDEN,
    commune_map,
    hatch_geojson,
    hidden_cells,
    values_patch,
)
from dashboard.released import ALL_TYPES, analyses_for, shown_types, type_choices
from geo.config import Settings
from layers.counts import INCIDENT_TYPES, SEQUENTIAL_SCALE, incident_counts
from layers.suppression import for_role
from tests.browser import ARTIFACTS
from tests.cache import PLAN_CACHE, demo_data

Q3 = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
EXTRACTED = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def an(tmp_path_factory) -> Analyses:
    settings = Settings(data_dir=tmp_path_factory.mktemp("hidden") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    analyses = Analyses(build_context(settings))
    assert analyses.release_plan(wait=900) is not None
    return analyses


@pytest.fixture(scope="module")
def ctx(an):
    return an.ctx


def _counts(ctx, types, start=Q3[0], end=Q3[1], unit_set="2025"):
    return incident_counts(ctx.incidents, ctx.unit_table(unit_set), unit_set=unit_set,
                           types=types, start=start, end=end, caveats=ctx.caveats)


@pytest.fixture(scope="module")
def crossings(ctx, an):
    """Illegal crossings of 2025 Q3 as the committee's viewer sees them: 48 "< 5", 7 "x"."""
    return for_role(_counts(ctx, ["illegal_crossing"]), "viewer", plan=an.release_plan())


def _map(ctx, layer, lang="vi", **kwargs):
    return commune_map(layer, ctx.geojson[layer.unit_set], ctx.gates, ctx.border, lang=lang,
                       bounds=ctx.bounds, **kwargs)


def _grey(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b


# --------------------------------------------------------------------------- live map


def test_hidden_communes_are_drawn_in_their_own_greys_with_legend_entries(ctx, crossings):
    labels = hidden_cells(crossings)
    assert (labels == "< 5").sum() == 48 and (labels == "x").sum() == 7
    fig = _map(ctx, crossings)
    small, comp = fig.data[TRACE_HIDDEN], fig.data[TRACE_HIDDEN + 1]
    assert small.type == comp.type == "choroplethmap"
    assert sorted(small.locations) == sorted(labels.index[labels == "< 5"])
    assert sorted(comp.locations) == sorted(labels.index[labels == "x"])
    # the legend names them by their labels, under a title saying why they are hidden
    assert small.showlegend and comp.showlegend
    assert small.name == "&lt; 5: dưới 5"
    assert comp.name == "x: ẩn thêm để không suy ra được số nhỏ"
    assert small.legendgrouptitle.text == "Số liệu được ẩn để bảo vệ nạn nhân"
    assert "“< 5” là dưới 5" in small.meta["note"] and "“x”" in small.meta["note"]
    # every commune is drawn: the counts where published, a grey where hidden (no hole)
    z = np.asarray(fig.data[TRACE_COMMUNES].z, dtype=float)
    drawn = set(np.asarray(fig.data[TRACE_COMMUNES].locations)[~np.isnan(z)])
    assert drawn | set(small.locations) | set(comp.locations) == set(crossings.frame.index)
    assert not drawn & (set(small.locations) | set(comp.locations))
    # one grey each, differing from each other, from zero and from the scale's ends
    fills = {small.colorscale[0][1], small.colorscale[-1][1]}, \
        {comp.colorscale[0][1], comp.colorscale[-1][1]}
    assert fills == ({HIDDEN_STYLE["small"]["color"]}, {HIDDEN_STYLE["complementary"]["color"]})
    greys = [_grey(HIDDEN_STYLE[k]["color"]) for k in ("small", "complementary")]
    zero = _grey(SEQUENTIAL_SCALE[0][1])
    assert zero - greys[0] > 40 and greys[0] - greys[1] > 40  # apart in grey print too
    assert small.showscale is False and comp.showscale is False
    # hover: the commune's name and its label
    assert set(small.customdata) == {"&lt; 5"} and set(comp.customdata) == {"x"}


def test_hidden_communes_are_hatched_for_grey_print(ctx, crossings):
    fig = _map(ctx, crossings)
    hatch = fig.data[TRACE_HIDDEN + 2]
    assert hatch.meta == {"role": "hatch"} and hatch.hoverinfo == "skip"
    assert not hatch.showlegend and hatch.marker.line.width == 0
    assert hatch.marker.opacity == HATCH["opacity"]
    labels = hidden_cells(crossings)
    assert sorted(hatch.locations) == sorted(labels.dropna().index)
    stripes = {f["id"]: f for f in hatch.geojson["features"]}
    assert set(stripes) == set(crossings.frame.index)  # every commune can be hatched
    # stripes are inside their commune and cover a part of it, not all of it
    import shapely
    communes = ctx.communes["2025"]
    for code in list(labels.dropna().index)[:10]:
        cut = shapely.from_geojson(json.dumps(stripes[code]["geometry"]))
        whole = communes.geometry[code]
        assert 0.1 < cut.area / whole.area < 0.5
    # the live page sends the polygons by URL: the stripes are cut from the text given
    live = commune_map(crossings, "/geo/communes_2025.geojson", ctx.gates, ctx.border,
                       bounds=ctx.bounds, hidden=True, shapes=ctx.geojson["2025"])
    assert live.data[TRACE_HIDDEN + 2].geojson == hatch.geojson
    assert hatch_geojson(ctx.geojson["2025"]) is hatch_geojson(ctx.geojson["2025"])  # cut once


def test_english_legend_one_click_away(ctx, crossings):
    fig = _map(ctx, crossings, lang="en")
    assert fig.data[TRACE_HIDDEN].name == "&lt; 5: fewer than 5"
    assert fig.data[TRACE_HIDDEN + 1].name.startswith("x: also hidden")
    assert fig.data[TRACE_HIDDEN].legendgrouptitle.text == "Figures hidden to protect victims"


def test_commander_map_has_no_hidden_trace_and_keeps_its_indices(ctx):
    fig = _map(ctx, _counts(ctx, None))
    assert len(fig.data) == 3  # communes, border, gates: the commander's rings come next
    assert not any(isinstance(t.meta, dict) and t.meta.get("role") == "hidden"
                   for t in fig.data)


def test_no_map_trace_asks_maplibre_for_text(ctx, crossings):
    fig = _map(ctx, crossings)
    for trace in fig.data:
        assert trace.type in ("choroplethmap", "scattermap")
        assert "text" not in (getattr(trace, "mode", None) or "")


def test_a_filter_change_moves_the_hidden_communes_and_sends_no_shape(ctx, an, crossings):
    victims = for_role(_counts(ctx, ["victim"]), "viewer", plan=an.release_plan())
    ops = values_patch(victims, "vi", "t", hidden=True).to_plotly_json()["operations"]
    sent = {tuple(op["location"]): op["params"]["value"] for op in ops}
    labels = hidden_cells(victims)
    assert sorted(sent[("data", TRACE_HIDDEN, "locations")]) == \
        sorted(labels.index[labels == "< 5"])
    assert sent[("data", TRACE_HIDDEN + 1, "locations")] == []
    assert sent[("data", TRACE_HIDDEN + 1, "showlegend")] is False  # no "x": no entry
    assert sorted(sent[("data", TRACE_HIDDEN + 2, "locations")]) == \
        sorted(labels.dropna().index)
    assert not any("geojson" in op["location"] for op in ops)
    # a page that hides nothing (the commander's) patches no hidden trace
    plain = values_patch(_counts(ctx, None), "vi", "t").to_plotly_json()["operations"]
    assert all(op["location"][:2] != ["data", TRACE_HIDDEN] for op in plain)


def test_a_released_map_drawn_while_nothing_is_hidden_still_has_the_traces(ctx, crossings):
    frame = crossings.frame.copy()
    frame["count_label"] = None
    frame["count"] = 0
    fig = _map(ctx, dataclasses.replace(crossings, frame=frame), hidden=True)
    assert len(fig.data) == 6
    assert list(fig.data[TRACE_HIDDEN].locations) == [] and not fig.data[TRACE_HIDDEN].showlegend


# --------------------------------------------------------------------------- committee figure


def _committee(ctx, layer, lang="vi"):
    return presentation_figure(_map(ctx, layer, lang=lang), title="Số vụ việc",
                               subtitle="Xã, phường sau 01/7/2025 (96)", caveats=ctx.caveats,
                               source="Công an tỉnh", extracted=EXTRACTED, lang=lang,
                               bounds=ctx.bounds)


def test_committee_figure_lists_the_labels_and_says_what_they_mean(ctx, crossings):
    fig = _committee(ctx, crossings)
    note = [a for a in fig.layout.annotations if a.name == "hidden_note"]
    assert len(note) == 1
    assert note[0].text.startswith("Xã, phường tô xám, gạch chéo")
    assert "“&lt; 5” là dưới 5" in note[0].text and "“x” là số được ẩn thêm" in note[0].text
    hidden = [t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("role") == "hidden"]
    assert [t.name for t in hidden] == ["&lt; 5: dưới 5",
                                       "x: ẩn thêm để không suy ra được số nhỏ"]
    # one legend row under the map: no group title breaking it into a column
    assert all(not t.legendgroup and not t.legendgrouptitle.text for t in hidden)
    # the note has its own line between the caveats and the source
    source = next(a for a in fig.layout.annotations if a.name == "source")
    assert source.yshift < note[0].yshift < min(
        a.yshift for a in fig.layout.annotations if a.name.startswith("caveat."))
    english = _committee(ctx, crossings, "en")
    assert any(a.name == "hidden_note" and a.text.startswith("Grey hatched communes")
               for a in english.layout.annotations)


def test_committee_figure_of_the_commander_has_no_hidden_note(ctx):
    fig = _committee(ctx, _counts(ctx, None))
    assert not any(a.name == "hidden_note" for a in fig.layout.annotations)


def test_png_draws_the_hidden_communes_in_their_greys(ctx, crossings):
    png = export_figure(_committee(ctx, crossings), fmt="png", size="slide")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hidden_committee_viewer.png").write_bytes(png)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    map_area = image[130:650, 300:1000]

    def share(hex_colour, tolerance=12):
        rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
        return float((np.abs(map_area - rgb).max(axis=2) <= tolerance).mean())

    # drawn at 0.9 opacity over white: each grey a little lighter than its fill
    light = "#{:02x}{:02x}{:02x}".format(*[round(0.9 * int(HIDDEN_STYLE["small"]["color"][1:3],
                                                          16) + 0.1 * 255)] * 3)
    dark = "#{:02x}{:02x}{:02x}".format(*[round(0.9 * int(
        HIDDEN_STYLE["complementary"]["color"][1:3], 16) + 0.1 * 255)] * 3)
    assert share(light) > 0.05, "the 48 '< 5' communes are drawn"
    assert share(dark) > 0.005, "the 7 'x' communes are drawn"


# --------------------------------------------------------------------------- HTML map


def _features(page: str) -> list[dict]:
    """The commune FeatureCollection folium embedded in the page's script."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"_add\((?=\{)", page):
        data, _ = decoder.raw_decode(page, match.end())
        if data.get("type") == "FeatureCollection":
            return data["features"]
    raise AssertionError("no FeatureCollection in the page")


def test_html_map_fills_hidden_communes_and_lists_their_labels(ctx, crossings):
    page = standalone_map_html(crossings, ctx.communes["2025"], ctx.gates, ctx.border,
                               title="Số vụ việc", extracted=EXTRACTED)
    labels = hidden_cells(crossings)
    features = {f["id"]: f for f in _features(page)}
    assert len(features) == 96
    for code, label in labels.items():
        style = features[code]["properties"]["style"]
        if not isinstance(label, str):
            assert "bw-hidden" not in style["className"]
            continue
        kind = "small" if label == "< 5" else "complementary"
        assert style["fillColor"] == HIDDEN_STYLE[kind]["color"], code
        assert style["fillOpacity"] > 0 and style["color"] == HIDDEN_STYLE[kind]["line"]
        assert f"bw-hidden-{kind}" in style["className"]
        assert features[code]["properties"]["label"] == ("&lt; 5" if label == "< 5" else "x")
    legend = re.search(r'<div class="bw-hidden">.*?</div></section>', page, re.S).group(0)
    assert "Số liệu được ẩn để bảo vệ nạn nhân" in legend
    assert "&lt; 5: dưới 5" in legend and "x: ẩn thêm để không suy ra được số nhỏ" in legend
    assert "“&lt; 5” là dưới 5 (có thể là 0)" in legend
    assert "repeating-linear-gradient" in legend  # the swatches are hatched like the map
    # the stripes over the hidden communes, which take no click
    stripes = [f for f in _all_collections(page) if f and f[0]["properties"].get("style", {})
               .get("className") == "bw-hatch"]
    assert len(stripes) == 1
    assert {f["id"] for f in stripes[0]} == set(labels.dropna().index)
    assert ".bw-hatch { pointer-events: none; }" in page


def _all_collections(page: str) -> list[list[dict]]:
    decoder = json.JSONDecoder()
    found = []
    for match in re.finditer(r"_add\((?=\{)", page):
        data, _ = decoder.raw_decode(page, match.end())
        if data.get("type") == "FeatureCollection":
            found.append(data["features"])
    return found


def test_html_map_of_the_commander_has_no_hidden_legend(ctx):
    page = standalone_map_html(_counts(ctx, None), ctx.communes["2025"], ctx.gates, ctx.border,
                               title="Số vụ việc", extracted=EXTRACTED)
    assert 'class="bw-hidden"' not in page and "bw-hidden-small" not in page
    assert '"className": "bw-hatch"' not in page


# --------------------------------------------------------------------------- report maps


def test_report_maps_below_commander_leave_no_commune_blank(ctx, an):
    view = analyses_for(an, "viewer", wait=600)
    for fig in report_maps(ctx, view, start=Q3[0], end=Q3[1]):
        communes = fig.data[TRACE_COMMUNES]
        z = np.asarray(communes.z, dtype=float)
        hidden = [t for t in fig.data if isinstance(t.meta, dict)
                  and t.meta.get("role") == "hidden"]
        shown = set(np.asarray(communes.locations)[~np.isnan(z)])
        shown |= {c for t in hidden for c in t.locations}
        assert shown == set(ctx.communes["2025"].index), "classes for every commune"


# --------------------------------------------------------------------------- type choices


def test_below_commander_one_type_or_the_published_total(an):
    plan = an.release_plan()
    assert plan.type_total is False  # the demo's plan publishes no total of the types
    assert type_choices(plan) == INCIDENT_TYPES and type_choices(None) == INCIDENT_TYPES
    assert shown_types(["victim"], plan) == ["victim"]
    assert shown_types(list(INCIDENT_TYPES), plan) == ["trafficking_case"]
    assert shown_types(["tip", "victim"], plan) == ["tip"]
    assert shown_types([], plan) == ["trafficking_case"]
    with_total = dataclasses.replace(plan, type_total=True)
    assert type_choices(with_total) == (*INCIDENT_TYPES, ALL_TYPES)
    assert shown_types(list(INCIDENT_TYPES), with_total) == list(INCIDENT_TYPES)
    assert shown_types(ALL_TYPES, with_total) == list(INCIDENT_TYPES)
    assert shown_types(["tip", "victim"], with_total) == ["tip"]


def test_the_hatching_is_cut_once_for_every_worker_and_kept_on_disk(ctx, tmp_path,
                                                                   monkeypatch):
    """With the server's cache folder the stripes are cut once, kept on disk, and another
    worker (a fresh memory) reads the same stripes instead of cutting them again."""
    from dashboard.figures import commune_map as cm

    text = ctx.geojson["2025"]
    kept = hatch_geojson(text, cache_dir=tmp_path)
    assert kept == hatch_geojson(text) and len(kept["features"]) == 96
    assert len(list(tmp_path.glob("hatch-*.pickle"))) == 1
    cm._hatch.cache_clear()
    monkeypatch.setattr(cm, "_cut_hatch", lambda _: pytest.fail("cut again"))
    assert hatch_geojson(text, cache_dir=tmp_path) == kept
    cm._hatch.cache_clear()  # the other tests' cut in memory, not this stub's
