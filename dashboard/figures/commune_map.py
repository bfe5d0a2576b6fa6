"""The commune map: a choropleth of one layer with the border line and the gates, no tiles.

Built on MapLibre (``go.Choroplethmap``) with the blank "white-bg" style, so
it draws with no internet: the border posts this serves often have none.
MapLibre draws no text: a text layer would make it ask fonts.openmaptiles.org
for glyphs. The gates' names travel in the trace's ``text`` with
``meta["labels"]`` saying how to write them; the browser writes them as HTML
over the map (``assets/map_labels.js``), the static export as annotations
(:func:`dashboard.exports.static.export_figures`). Every user string (commune
and gate names, titles) goes through :func:`dashboard.figures.text.plain_text`.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from dashboard.figures.context import (PLACE_STYLE, basemap_layers, context_attribution,
                                       context_layers, context_places)
from dashboard.figures.text import plain_text
from dashboard.tiles import TILE_URL
from geo.basemap import Basemap
from dashboard.i18n import format_number, format_numbers, translate
from layers.layer import Layer
from layers.suppression import COMPLEMENTARY_LABEL, DEFAULT_THRESHOLD, suppressed_label

__all__ = ["values_patch", "GATE_STYLE", "GATE_LABELS", "HIDDEN_STYLE", "TRACE_BORDER",
           "TRACE_COMMUNES", "TRACE_GATES", "TRACE_HIDDEN", "commune_map", "fit_zoom",
           "gate_hover", "grouped_classes", "hatch_geojson", "hidden_cells", "hidden_legend", "hidden_note",
           "hover_values",
           "layer_classes", "value_texts", "z_range", "needs_redraw", "ZERO_BAND",
           "drawn_scale", "nice_ticks"]

TRACE_COMMUNES, TRACE_BORDER, TRACE_GATES = 0, 1, 2
GATE_STYLE = {
    "international": {"size": 16, "color": "#d7301f"},
    "main": {"size": 12, "color": "#fc8d59"},
    "secondary": {"size": 9, "color": "#fdbb84"},
}
#: How the gates' names are written beside their markers (``meta["labels"]`` of a trace whose
#: ``text`` holds the names): never by MapLibre, whose text needs a glyph server.
GATE_LABELS = {"position": "top right", "size": 12, "color": "#111111"}
#: How a hidden count is drawn below commander: a neutral grey of its own (no colour of the
#: scale, and darker than its near-white zero), darker for "x" than for "< 5", so that a
#: hidden commune is never a hole in the map nor read as a zero, also in grey print.
HIDDEN_STYLE = {
    "small": {"color": "#c4c4c4", "line": "#4d4d4d"},
    "complementary": {"color": "#7a7a7a", "line": "#262626"},
}
#: Diagonal stripes over every hidden commune (in degrees; about 2 km apart): what tells a
#: hidden commune from a count in grey print, where a grey and a colour can look alike.
HATCH = {"spacing": 0.02, "width": 0.006, "color": "#262626", "opacity": 0.5}
#: The first of the three traces of hidden communes ("< 5", then "x", then their hatching),
#: after the gates; only on a map drawn with ``hidden=True`` (a released layer: never the
#: commander's, whose rings take the place after the gates).
TRACE_HIDDEN = 3


def fit_zoom(bounds: tuple[float, float, float, float], height_px: int = 540) -> float:
    """The MapLibre zoom at which ``bounds`` (lon/lat) fit a square of ``height_px``.

    MapLibre's world is 512 px wide at zoom 0; latitude spans are stretched by
    1/cos(latitude) in Web Mercator.
    """
    minx, miny, maxx, maxy = bounds
    span = max(maxx - minx, (maxy - miny) / math.cos(math.radians((miny + maxy) / 2)), 1e-6)
    return round(math.log2(360 * height_px / (512 * span)), 2)


def layer_classes(layer: Layer) -> list[tuple[float, str]]:
    """(code, message key) of a class layer (hot-spot bins, emerging categories, trends), else []."""
    params = layer.params
    if "classes" in params:
        return [(float(c["code"]), c["message_key"]) for c in params["classes"]]
    if "categories" in params:
        return [(float(code), f"emerging.{name}") for name, code in params["categories"].items()]
    return []


def _value_text(value, lang: str, labels: dict[float, str]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if labels:
        return labels.get(float(value), str(value))
    digits = 1 if isinstance(value, float) and not float(value).is_integer() else 0
    return format_number(value, lang, digits=digits)


def hover_values(layer: Layer, lang: str) -> np.ndarray:
    """Per-commune hover text columns: name and the value (or its class) written for ``lang``."""
    values = layer.frame[layer.value]
    names = layer.frame["name"].fillna("").to_numpy() if "name" in layer.frame else \
        np.array([""] * len(values), dtype=object)
    return np.column_stack([names, value_texts(layer, lang)])


def value_texts(layer: Layer, lang: str) -> list[str]:
    """Each commune's value (or class) as the hover shows it.

    Plain numbers (a column of floats or integers, no classes) are written all at once
    (:func:`dashboard.i18n.format_numbers`: the same text as one by one, a few
    milliseconds for the country's 3,321 rates); classes and other columns value by
    value, each distinct value once.
    """
    labels = {code: translate(key, lang) for code, key in layer_classes(layer)}
    column = layer.frame[layer.value]
    hidden = layer.frame.get(f"{layer.value}_label")  # "< 5" / "x" of suppressed counts
    hidden = hidden.tolist() if hidden is not None else [None] * len(column)
    if not labels and isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiu":
        numbers = column.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            # a whole number without decimals, any other with one (as _value_text)
            digits = (np.zeros(len(numbers), dtype=np.int64) if column.dtype.kind in "iu"
                      else np.where(np.isfinite(numbers) & (numbers == np.floor(numbers)),
                                    0, 1))
        texts = format_numbers(numbers, lang, digits)
        return [label if isinstance(label, str) else "–" if missing else text
                for text, missing, label in zip(texts, np.isnan(numbers).tolist(), hidden,
                                                strict=True)]
    values = column.tolist()
    shown: dict = {}
    out = []
    for v, label in zip(values, hidden, strict=True):
        if isinstance(label, str):
            out.append(label)
            continue
        key = ("nan",) if v is None or (isinstance(v, float) and math.isnan(v)) else v
        if key not in shown:
            shown[key] = _value_text(v, lang, labels)
        out.append(shown[key])
    return out


def hidden_cells(layer: Layer) -> pd.Series:
    """Each commune's label where a release below commander hides its value ("< 5", "x"),
    else missing (a commander's layer has no label: nothing is hidden)."""
    for column in (f"{layer.value}_label", "count_label"):
        if column in layer.frame:
            labels = layer.frame[column]
            return labels.where(labels.map(lambda v: isinstance(v, str) and v != ""), None)
    return pd.Series(None, index=layer.frame.index, dtype=object)


def _threshold(layer: Layer) -> int:
    info = layer.params.get("suppression") or {}
    return int(info.get("threshold", DEFAULT_THRESHOLD))


def hidden_legend(layer: Layer, lang: str) -> list[dict]:
    """The two kinds of hidden communes of ``layer``, "< 5" then "x": ``kind``, ``label``,
    the legend's ``text``, the fill ``color`` and outline ``line``, and the ``codes``."""
    labels = hidden_cells(layer)
    threshold = _threshold(layer)
    small = suppressed_label(threshold)
    complementary = (labels == COMPLEMENTARY_LABEL).to_numpy()
    hidden = labels.notna().to_numpy()
    return [
        {"kind": "small", "label": small, "codes": labels.index[hidden & ~complementary].tolist(),
         "text": translate("map.hidden.small", lang, label=small, threshold=threshold),
         **HIDDEN_STYLE["small"]},
        {"kind": "complementary", "label": COMPLEMENTARY_LABEL,
         "codes": labels.index[complementary].tolist(),
         "text": translate("map.hidden.complementary", lang), **HIDDEN_STYLE["complementary"]},
    ]


def hidden_note(layer: Layer, lang: str) -> str:
    """The one line under a map with hidden communes: what "< 5" and "x" mean."""
    threshold = _threshold(layer)
    return translate("map.hidden.note", lang, label=suppressed_label(threshold),
                     threshold=threshold)


def _hidden_values(layer: Layer, entry: dict, lang: str) -> dict:
    """What changes with the filters in a trace of hidden communes (a ``Patch`` sends it)."""
    codes = entry["codes"]
    names = layer.frame["name"].reindex(codes).fillna("") if "name" in layer.frame \
        else pd.Series("", index=codes)
    return {"locations": codes, "z": [1] * len(codes),
            "text": [plain_text(n) for n in names],
            "customdata": [plain_text(entry["label"])] * len(codes),
            "showlegend": bool(codes)}


def _hidden_traces(layer: Layer, geojson, lang: str) -> list[go.Choroplethmap]:
    """One trace per kind of hidden commune, in its own grey and in the legend under its
    label (only when it has communes), the legend's group titled with what hiding is for."""
    legend = translate(layer.legend_key, lang)
    note = hidden_note(layer, lang)
    traces = []
    for entry in hidden_legend(layer, lang):
        colour = entry["color"]
        traces.append(go.Choroplethmap(
            geojson=geojson, featureidkey="id", zmin=0, zmax=1,
            colorscale=[[0, colour], [1, colour]], showscale=False,
            marker={"line": {"width": 1.2, "color": entry["line"]}, "opacity": 0.9},
            hovertemplate="<b>%{text}</b><br>" + plain_text(legend)
            + ": %{customdata}<extra></extra>",
            name=plain_text(entry["text"]), legendgroup="hidden",
            legendgrouptitle={"text": plain_text(translate("map.hidden.title", lang))},
            meta={"role": "hidden", "kind": entry["kind"], "label": entry["label"],
                  "note": note},
            **_hidden_values(layer, entry, lang),
        ))
    return traces


def hatch_geojson(geojson: str | dict, *, cache_dir=None) -> dict:
    """The hatching of each commune of ``geojson`` (feature ``id`` = code): its polygon cut
    into diagonal stripes (:data:`HATCH`), as a FeatureCollection with the same ids, rounded
    to 1e-4 degree. Cut once per set of polygons (about 1–2 s for 96 communes) and kept in
    memory, and with ``cache_dir`` (the server's cache folder) on disk for every worker and
    the next start (:func:`dashboard.plan_cache.cached`, keyed by the polygons and this
    module's source)."""
    return _hatch(geojson if isinstance(geojson, str) else json.dumps(geojson),
                  None if cache_dir is None else str(cache_dir))


@lru_cache(maxsize=4)
def _hatch(text: str, cache_dir: str | None) -> dict:
    if cache_dir is None:
        return _cut_hatch(text)
    import hashlib

    from dashboard.plan_cache import cached, code_digest

    digest = hashlib.sha256(code_digest((__name__,)))
    digest.update(text.encode())
    return cached(cache_dir, digest.hexdigest()[:24], lambda: _cut_hatch(text), kind="hatch",
                  keep=4)


def _cut_hatch(text: str) -> dict:
    features = json.loads(text).get("features", [])
    if not features:
        return {"type": "FeatureCollection", "features": []}
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    height, spacing, width = maxy - miny, HATCH["spacing"], HATCH["width"]
    starts = np.arange(minx - height, maxx + spacing, spacing)
    bands = shapely.union_all([shapely.Polygon([(x, miny), (x + width, miny),
                                                (x + width + height, maxy), (x + height, maxy)])
                               for x in starts])
    stripes = shapely.set_precision(shapely.intersection(geoms, bands), 1e-4)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": str(f["id"]), "properties": {},
         "geometry": json.loads(shapely.to_geojson(g))}
        for f, g in zip(features, stripes) if not shapely.is_empty(g)]}


def _hatch_values(layer: Layer) -> dict:
    codes = hidden_cells(layer).dropna().index.tolist()
    return {"locations": codes, "z": [1] * len(codes)}


def _hatch_trace(layer: Layer, shapes, cache_dir=None, url: str | None = None
                 ) -> go.Choroplethmap:
    """Stripes over every hidden commune, above their greys; no hover, no legend. ``url``:
    the stripes are served there (the figure names them, the browser fetches them once)."""
    polygons = shapes if isinstance(shapes, dict) or (
        isinstance(shapes, str) and shapes.lstrip().startswith("{")) else None
    colour = HATCH["color"]
    if url is not None:
        stripes = url
    elif polygons is not None:
        stripes = hatch_geojson(polygons, cache_dir=cache_dir)
    else:
        stripes = {"type": "FeatureCollection", "features": []}
    return go.Choroplethmap(
        geojson=stripes,
        featureidkey="id", zmin=0, zmax=1, colorscale=[[0, colour], [1, colour]],
        showscale=False, marker={"line": {"width": 0}, "opacity": HATCH["opacity"]},
        hoverinfo="skip", showlegend=False, meta={"role": "hatch"}, **_hatch_values(layer))


def grouped_classes(layer: Layer, lang: str) -> dict | None:
    """How an emerging hot spot layer is drawn: only the groups of categories present
    (:func:`layers.emerging.legend_entries`), one step of the colour bar each, labelled with
    the categories present in it (one per line). ``None`` for any other layer.

    Returns ``z`` (each commune's step, NaN where it has no category; the most pressing
    group highest, at the top of the bar), ``zmin``, ``zmax``, the stepped ``colorscale``,
    ``tickvals``, ``ticktext`` (bottom to top) and the ``entries`` (most pressing first).
    """
    categories = layer.params.get("categories")
    if not isinstance(categories, dict) or layer.kind != "emerging":
        return None
    from layers.emerging import legend_entries

    names = {float(code): name for name, code in categories.items()}
    codes = pd.to_numeric(layer.frame[layer.value], errors="coerce")
    present = [names.get(float(c)) for c in codes.dropna()]
    entries = legend_entries(present) or legend_entries(["no_pattern"])
    n = len(entries)
    # the colour bar reads upwards: the most pressing group gets the top step
    upward = entries[::-1]
    step = {c: i for i, e in enumerate(upward) for c in e["categories"]}
    z = [float(step[names[float(c)]]) if pd.notna(c) and names.get(float(c)) in step
         else float("nan") for c in codes]
    scale = [stop for i, e in enumerate(upward)
             for stop in ([round(i / n, 6), e["colour"]], [round((i + 1) / n, 6), e["colour"]])]
    return {"z": z, "zmin": -0.5, "zmax": n - 0.5, "colorscale": scale,
            "tickvals": list(range(n)),
            "ticktext": ["<br>".join(translate(f"emerging.{c}", lang) for c in e["categories"])
                         for e in upward],
            "entries": entries}


def _colorbar(layer: Layer, lang: str) -> dict:
    bar = {"title": {"text": translate(layer.legend_key, lang)}, "thickness": 14}
    grouped = grouped_classes(layer, lang)
    classes = layer_classes(layer)
    if grouped:  # only the groups present, apart in colour and in grey
        bar.update(tickvals=grouped["tickvals"], ticktext=grouped["ticktext"],
                   len=min(0.9, 0.12 * len(grouped["tickvals"]) + 0.1))
    elif classes:
        bar.update(tickvals=[c for c, _ in classes],
                   ticktext=[translate(k, lang) for _, k in classes], len=0.9)
    elif _zero_coloured(layer):
        bar.update(_zero_ticks(layer, lang))
    return bar


def _zero_ticks(layer: Layer, lang: str) -> dict:
    """The colour bar's ticks of a count scale: round values from 0, in the reader's
    number format (no tick below 0, where the zero block starts)."""
    ticks = drawn_scale(layer)[3]
    return {"tickmode": "array", "tickvals": ticks,
            "ticktext": [format_number(t, lang, digits=0 if float(t).is_integer() else 1)
                         for t in ticks]}


def z_range(layer: Layer) -> tuple[float, float]:
    """The colour range: the layer's own (class layers) or 0 … max."""
    values = layer.frame[layer.value].astype(float)
    top = float(np.nanmax(values)) if len(values) and values.notna().any() else 1.0
    return (float(layer.params.get("zmin", 0.0)),
            float(layer.params.get("zmax", max(top, 1.0))))


#: Share of the colour bar given to the zero of a count scale (its own near-white block).
ZERO_BAND = 0.06


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values (1, 2, 2.5, 5 × a power of ten apart) from ``lo`` to ``hi``.

    >>> nice_ticks(0, 324)
    [0, 100, 200, 300]
    """
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _zero_coloured(layer: Layer) -> bool:
    """Whether the layer's scale gives zero a colour of its own (a first stop at 0, the
    next one just above it, as :data:`layers.counts.SEQUENTIAL_SCALE`) on a 0 … max range."""
    stops = layer.colorscale
    return (len(stops) >= 3 and float(stops[0][0]) == 0.0 and 0 < float(stops[1][0]) <= 0.01
            and stops[0][1] != stops[1][1] and z_range(layer)[0] == 0.0
            and not layer_classes(layer))


def drawn_scale(layer: Layer) -> tuple[float, float, list[list], list[float]]:
    """The colour range, stops and colour-bar ticks a map draws ``layer`` with.

    A count scale whose zero has its own colour (near white) gets a visible block of
    :data:`ZERO_BAND` at the foot of the colour bar, so that the legend shows what a
    commune with no record looks like: the range starts below 0 (``zmin`` < 0) by that
    share, zero sits at the block's top, and 1 already takes the scale's first colour.
    Other layers keep their range and stops. Ticks are round values from 0 (or ``zmin``).

    Returns
    -------
    zmin, zmax : float
    stops : list of [position, colour]
    ticks : list of float
    """
    zmin, zmax = z_range(layer)
    stops = [list(stop) for stop in layer.colorscale]
    if not _zero_coloured(layer) or zmax <= 0:
        return zmin, zmax, stops, nice_ticks(zmin, zmax)
    band = ZERO_BAND
    drawn = [[0.0, stops[0][1]], [band, stops[0][1]], [band + 1e-6, stops[1][1]]]
    drawn += [[round(band + float(p) * (1 - band), 6), c] for p, c in stops[2:]]
    return -band / (1 - band) * zmax, zmax, drawn, nice_ticks(0.0, zmax)


def _border_xy(border: gpd.GeoDataFrame) -> tuple[list, list]:
    xs: list = []
    ys: list = []
    for geom in border.geometry:
        parts = geom.geoms if hasattr(geom, "geoms") else [geom]
        for part in parts:
            coords = shapely.get_coordinates(part)
            xs.extend(coords[:, 0].round(5).tolist() + [None])
            ys.extend(coords[:, 1].round(5).tolist() + [None])
    return xs, ys


def gate_hover(gates: gpd.GeoDataFrame, lang: str) -> list[str]:
    """Each gate's details as Plotly (and HTML) markup, its names escaped."""
    rows = []
    for g in gates.itertuples():
        lines = [
            f"<b>{plain_text(g.name)}</b>",
            translate(f"gate.{g.gate_class}", lang),
            f"{translate('map.commune', lang)}: {plain_text(g.commune)}",
            translate(f"gate.position.{g.position}", lang),
        ]
        if g.counterpart:
            lines.append(f"{translate('gate.counterpart', lang)}: {plain_text(g.counterpart)} "
                         f"({plain_text(g.counterpart_province)})")
        if g.blo:
            lines.append(translate("gate.blo", lang))
        rows.append("<br>".join(lines))
    return rows


def commune_map(
    layer: Layer,
    geojson: str | dict,
    gates: gpd.GeoDataFrame,
    border: gpd.GeoDataFrame,
    *,
    lang: str = "vi",
    title: str = "",
    bounds: tuple[float, float, float, float] = (105.5, 10.3, 106.8, 11.8),
    hidden: bool | None = None,
    shapes: str | dict | None = None,
    cache_dir=None,
    neighbours: gpd.GeoDataFrame | None = None,
    basemap: Basemap | None = None,
    tile_url: str = TILE_URL,
    context_urls: dict[str, str] | None = None,
    hatch_url: str | None = None,
) -> go.Figure:
    """A figure of ``layer`` over the commune polygons, with the border and the gates.

    Parameters
    ----------
    layer : Layer
        Values per commune code.
    geojson : str or dict
        The polygons (feature ``id`` = commune code), or the URL they are
        served at: the browser then fetches them once and caches them.
    gates, border : GeoDataFrame
        Map furniture, drawn above the choropleth.
    lang : {"vi", "en"}
    title : str
        Figure title (the page shows it; exports keep it).
    bounds : tuple
        lon/lat box to frame.
    hidden : bool, optional
        Draw the communes whose value a release hides ("< 5", "x") in their own grey,
        with legend entries (traces :data:`TRACE_HIDDEN` and the next). Default: when
        the layer carries hidden-value labels (a layer released below commander). A page
        whose later values may hide communes passes ``True``.
    shapes : str or dict, optional
        The polygons themselves when ``geojson`` is their URL: the hatching of hidden
        communes is cut from them (sent with the figure, once).
    cache_dir : path, optional
        The server's cache folder: the hatching cut there once for every worker
        (:func:`hatch_geojson`).
    neighbours : GeoDataFrame, optional
        The neighbouring provinces (:func:`geo.boundaries.load_neighbours`), drawn muted
        under the communes with their names (:mod:`dashboard.figures.context`).
    basemap : Basemap, optional
        The province's own offline basemap, drawn under everything from ``tile_url``
        (the app's own tile route; absolute for vector tiles).
    context_urls : dict, optional
        Country → the address the neighbours' shapes are served at
        (:func:`dashboard.figures.context.context_url`): a live page's figure names them
        instead of holding them.
    hatch_url : str, optional
        Where the browser fetches the hatching of ``shapes`` (:func:`hatch_geojson`, served
        and cached as the polygons are): a live page's redrawn map then sends none of it.
    """
    frame = layer.frame
    values = frame[layer.value].astype(float).to_numpy()
    zmin, zmax, stops, _ = drawn_scale(layer)
    colorscale = stops or "Viridis"
    grouped = grouped_classes(layer, lang)
    if grouped:
        values, zmin, zmax = grouped["z"], grouped["zmin"], grouped["zmax"]
        colorscale = grouped["colorscale"]
    communes = go.Choroplethmap(
        geojson=geojson,
        featureidkey="id",
        locations=frame.index.tolist(),
        z=values,
        zmin=zmin,
        zmax=zmax,
        colorscale=colorscale,
        marker={"line": {"width": 0.6, "color": "#666666"}, "opacity": 0.85},
        # names go once with the shapes; a filter change resends only the values' text
        text=[plain_text(n) for n in (frame["name"].fillna("") if "name" in frame
                                       else pd.Series("", index=frame.index))],
        customdata=value_texts(layer, lang),
        hovertemplate="<b>%{text}</b><br>"
        + translate(layer.legend_key, lang)
        + ": %{customdata}<extra></extra>",
        colorbar=_colorbar(layer, lang),
        name=translate("map.commune", lang),
        showlegend=False,
    )
    bx, by = _border_xy(border)
    border_trace = go.Scattermap(  # named in the legend; no hover, so it takes no click
        lon=bx, lat=by, mode="lines", line={"width": 3, "color": "#b2182b"},
        name=translate("map.border", lang), hoverinfo="skip",
    )
    gate_xy = shapely.get_coordinates(gates.geometry.values)
    gate_trace = go.Scattermap(
        lon=gate_xy[:, 0].round(5),
        lat=gate_xy[:, 1].round(5),
        mode="markers",  # no "text": MapLibre would fetch glyphs from the internet
        marker={
            "size": [GATE_STYLE[c]["size"] for c in gates["gate_class"]],
            "color": [GATE_STYLE[c]["color"] for c in gates["gate_class"]],
        },
        text=[plain_text(n) for n in gates["name"]],
        meta={"role": "gates", "labels": dict(GATE_LABELS)},
        customdata=gates["gate_id"].tolist(),
        hovertext=gate_hover(gates, lang),
        hoverinfo="text",
        name=translate("map.gates", lang),
    )
    minx, miny, maxx, maxy = bounds
    fig = go.Figure([communes, border_trace, gate_trace])
    layers = [*basemap_layers(basemap, tile_url, lang),
              *context_layers(neighbours, lang, over_basemap=basemap is not None,
                             urls=context_urls)]
    if hidden or (hidden is None and hidden_cells(layer).notna().any()):
        fig.add_traces([*_hidden_traces(layer, geojson, lang),
                        _hatch_trace(layer, geojson if shapes is None else shapes, cache_dir,
                                     url=hatch_url)])
    fig.update_layout(
        title={"text": plain_text(title), "x": 0.01, "font": {"size": 18}},
        map={
            "style": "white-bg",
            "center": {"lon": (minx + maxx) / 2, "lat": (miny + maxy) / 2},
            "zoom": fit_zoom(bounds),
            "layers": layers,
        },
        # the neighbours' names, written over the map by the browser or as annotations
        meta={"places": context_places(neighbours, lang), "place_style": PLACE_STYLE,
              "attribution": context_attribution(lang, neighbours=neighbours,
                                                 basemap=basemap)},
        margin={"l": 0, "r": 0, "t": 40 if title else 0, "b": 0},
        legend={"x": 0.01, "y": 0.01, "bgcolor": "rgba(255,255,255,0.85)"},
        uirevision="keep-view",
    )
    return fig


def values_patch(layer: Layer, lang: str, title: str, *, hidden: bool = False):
    """A ``dash.Patch`` that changes only the values, colour range, hover and title.

    What a filter change sends to the browser: numbers, never the polygons. ``hidden``:
    the map was drawn with the traces of hidden communes, which get their codes anew.
    """
    from dash import Patch

    figure = Patch()
    trace = figure["data"][TRACE_COMMUNES]
    zmin, zmax, stops, _ = drawn_scale(layer)
    trace["z"] = layer.frame[layer.value].astype(float).tolist()
    trace["zmin"], trace["zmax"] = zmin, zmax
    if _zero_coloured(layer):  # the zero block's share of the bar is fixed; its ticks move
        trace["colorscale"] = stops
        for key, value in _zero_ticks(layer, lang).items():
            trace["colorbar"][key] = value
    trace["customdata"] = value_texts(layer, lang)
    grouped = grouped_classes(layer, lang)
    if grouped:  # the groups present change with the filters: their steps and labels too
        trace["z"], trace["zmin"], trace["zmax"] = (grouped["z"], grouped["zmin"],
                                                    grouped["zmax"])
        trace["colorscale"] = grouped["colorscale"]
        trace["colorbar"] = _colorbar(layer, lang)
    figure["layout"]["title"]["text"] = plain_text(title)
    if hidden:
        for i, entry in enumerate(hidden_legend(layer, lang)):
            for key, value in _hidden_values(layer, entry, lang).items():
                figure["data"][TRACE_HIDDEN + i][key] = value
        for key, value in _hatch_values(layer).items():
            figure["data"][TRACE_HIDDEN + 2][key] = value
    return figure


def needs_redraw(*shape_inputs: str) -> bool:
    """Whether the running callback must send a whole new map rather than values only: on its
    first call, or when one of ``shape_inputs`` (layer, unit set) is among the inputs that
    changed — the back button can change a layer and the dates in one step."""
    from dash import ctx as dash_ctx

    changed = set(dash_ctx.triggered_prop_ids.values())
    return not changed or bool(changed & set(shape_inputs))


def clicked_commune(click, gates: gpd.GeoDataFrame, unit_set: str) -> str | None:
    """The commune code a click on the map opens, or ``None``.

    A commune's polygon (any choropleth trace: the values, or the hidden cells below
    commander) opens that commune; a gate's marker opens the commune the gate stands in
    (its marker sits over the commune's centre, so a click there means the commune); lines
    (border, rings) open nothing. The click is browser input: anything else is ``None``.

    >>> gates = pd.DataFrame({"gate_id": ["moc_bai"], "new_code": ["25681"],
    ...                       "old_code": ["25700"]})
    >>> clicked_commune({"points": [{"curveNumber": 0, "location": "25702"}]}, gates, "2025")
    '25702'
    >>> clicked_commune({"points": [{"curveNumber": 2, "customdata": "moc_bai"}]}, gates, "2025")
    '25681'
    >>> clicked_commune({"points": [{"curveNumber": 3, "lon": 106.1}]}, gates, "2025") is None
    True
    """
    from dashboard.inputs import mapping

    points = mapping(click).get("points")
    point = points[0] if isinstance(points, list) and points else None
    if not isinstance(point, dict):
        return None
    location, curve = point.get("location"), point.get("curveNumber")
    if isinstance(location, (str, int)) and not isinstance(location, bool):
        return str(location)
    gate_id = point.get("customdata")
    if curve != TRACE_GATES or not isinstance(gate_id, (str, int)) or "gate_id" not in gates:
        return None
    from geo.units import code_column

    column = code_column(unit_set)
    codes = gates.loc[gates["gate_id"].astype(str) == str(gate_id), column].dropna()
    return str(codes.iloc[0]) if len(codes) else None
