"""Standalone HTML map of a layer: one offline file for border posts (Bản đồ HTML độc lập).

The page is made with folium, but instead of folium's CDN links (Leaflet,
jQuery, Bootstrap …, which leave the map blank with no internet) it carries
Leaflet itself, inlined from ``exports/vendor/`` (see its README for the
package, version and licence). Without tiles the file makes no request at
all: the communes are coloured exactly as on the live Plotly map, with the
legend, the border, the gates, the title with its period and, written in the
page itself, every caveat of the layer and the date of extraction.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import re
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from dashboard.figures.commune_map import (
    GATE_STYLE,
    HATCH,
    gate_hover,
    grouped_classes,
    hatch_geojson,
    hidden_cells,
    hidden_legend,
    hidden_note,
    hover_values,
    layer_classes,
    drawn_scale,
)
from dashboard.figures.context import CONTEXT_STYLE, context_attribution, context_places
from dashboard.figures.text import plain_text
from dashboard.i18n import format_date, format_number, translate
from geo.units import NEW, OLD
from layers.layer import Caveat, Layer

__all__ = ["SIMPLIFY_TOLERANCE", "grid_shapes", "standalone_map_html"]

#: Polygon simplification in degrees (about 50 m): invisible at province zoom,
#: as for the screen GeoJSON of the live map.
SIMPLIFY_TOLERANCE = 0.0005
_DIGITS = 5  # about 1 m

_VENDOR = Path(__file__).resolve().parent / "vendor"
_JS_SLOT = "/*borderwatch:vendor:leaflet.js*/"
_CSS_SLOT = "/*borderwatch:vendor:leaflet.css*/"

#: As the live map: polygons at 0.85 opacity with a thin grey outline; the border in red.
_COMMUNE_STYLE = {"color": "#666666", "weight": 0.6, "opacity": 0.85, "fillOpacity": 0.85}
_BORDER_STYLE = {"color": "#b2182b", "weight": 3}

_PAGE_CSS = """
body { display: flex; flex-direction: column; font-family: system-ui, "Segoe UI", Roboto,
       "Noto Sans", Arial, sans-serif; color: #111; }
.bw-title { order: 0; flex: 0 0 auto; margin: 0; padding: 8px 14px; font-size: 20px;
            font-weight: 600; border-bottom: 1px solid #ccc; }
.folium-map { order: 1; flex: 1 1 0; min-height: 0; }
.bw-plain.leaflet-container { background: #ffffff; }
.bw-footer { order: 2; flex: 0 0 auto; display: flex; flex-wrap: wrap; gap: 10px 32px;
             align-items: flex-start; padding: 8px 14px; border-top: 1px solid #ccc;
             font-size: 13px; }
.bw-legend-title { font-weight: 600; margin-bottom: 4px; }
.bw-ramp { position: relative; width: 320px; height: 14px; border: 1px solid #888; }
.bw-ticks { position: relative; width: 320px; height: 16px; }
.bw-ticks span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
.bw-classes { list-style: none; margin: 0; padding: 0; }
.bw-classes li { display: flex; align-items: center; gap: 6px; line-height: 18px; }
.bw-swatch { display: inline-block; width: 22px; height: 14px; border: 1px solid #888; }
.bw-hidden { margin-top: 6px; }
.bw-hatch { pointer-events: none; }
.bw-hidden-note { margin: 2px 0 0 0; max-width: 520px; color: #333; }
.bw-notes { color: #9c5700; max-width: 720px; }
.bw-notes ul { margin: 0 0 4px 0; padding-left: 18px; font-weight: 600; }
.bw-notes p { margin: 0; color: #333; }
.bw-track { max-width: 860px; }
.bw-track h2 { font-size: 14px; margin: 0 0 4px 0; }
.bw-track p { margin: 0 0 6px 0; font-weight: 600; }
.bw-track table { border-collapse: collapse; font-size: 12px; }
.bw-track th, .bw-track td { border: 1px solid #bbb; padding: 2px 6px; vertical-align: top; }
.bw-track th { background: #dce6f1; font-weight: 600; }
.bw-track td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bw-gate-label { background: rgba(255,255,255,0.8); border: 0; box-shadow: none;
                 padding: 0 3px; font-size: 12px; font-weight: 600; }
.bw-gate-label::before { display: none; }
.bw-place-label { background: transparent; border: 0; box-shadow: none; padding: 0;
  color: #6b6b6b; font-style: italic; font-size: 12px; }
.bw-place-label::before { display: none; }
.bw-place-country { font-style: normal; font-weight: 600; letter-spacing: 0.2em; font-size: 14px; }
"""


def standalone_map_html(
    layer: Layer,
    communes: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame,
    border: gpd.GeoDataFrame,
    *,
    title: str,
    lang: str = "vi",
    extracted: dt.date | None = None,
    tiles: bool = False,
    neighbours: gpd.GeoDataFrame | None = None,
) -> str:
    """One self-contained HTML page of ``layer`` that works with no internet.

    Parameters
    ----------
    layer : Layer
        Values per commune code (counts, rates, hot-spot classes …).
    communes : GeoDataFrame
        The polygons of ``layer.unit_set`` in WGS84, indexed by commune code
        with ``name``. Simplified by :data:`SIMPLIFY_TOLERANCE` degrees and
        rounded to 5 decimals for the file.
    gates, border : GeoDataFrame
        Map furniture in WGS84: the gates (as :func:`geo.gates.load_gates`)
        and the border line. Either may be empty.
    title : str
        The title with its period (the caller writes it, as for the live map).
    lang : {"vi", "en"}
        Language of the tooltips, legend and notes; numbers in its format.
    extracted : date, optional
        Date of extraction written under the map (dd/mm/yyyy); today when
        ``None``.
    tiles : bool
        Draw OpenStreetMap tiles under the communes (needs internet). By
        default the background is plain white and the page makes no request.
    neighbours : GeoDataFrame, optional
        The neighbouring provinces (:func:`geo.boundaries.load_neighbours`), drawn muted
        under the communes with their names, their source in the map's attribution.

    Returns
    -------
    str
        The HTML document (Leaflet inlined: about 170 kB plus the polygons).

    Raises
    ------
    ValueError
        When a frame is not in WGS84.
    RuntimeError
        When, without tiles, the page would still reference an external
        resource (a folium upgrade adding a CDN link is caught here, not at a
        border post).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> frame = pd.DataFrame({"name": ["Xã A", "Xã B"], "count": [0, 1835]},
    ...                      index=["00001", "00002"])
    >>> shapes = gpd.GeoDataFrame(frame[["name"]], crs="EPSG:4326", geometry=[
    ...     shapely.box(106.0, 11.0, 106.1, 11.1), shapely.box(106.1, 11.0, 106.2, 11.1)])
    >>> layer = Layer(frame, "count", "2025", "layer.incident_counts.title",
    ...               "layer.incident_counts.legend", "unit.records",
    ...               colorscale=((0.0, "#f7f7f7"), (1.0, "#440154")))
    >>> nothing = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    >>> page = standalone_map_html(layer, shapes, nothing, nothing, title="Số vụ việc",
    ...                            extracted=dt.date(2026, 11, 23))
    >>> "#440154" in page, "1.835" in page, "23/11/2026" in page, "<script src=" in page
    (True, True, True, False)
    """
    for label, frame in (("communes", communes), ("gates", gates), ("border", border)):
        _check_wgs84(frame, label)
    zmin, zmax, stops, ticks = drawn_scale(layer)  # as the live map: zero has its own block
    fmap = folium.Map(location=None, tiles="OpenStreetMap" if tiles else None,
                      control_scale=False, zoom_snap=0.25)
    _KmScale().add_to(fmap)  # Leaflet's own scale also shows miles and feet
    fmap.default_js, fmap.default_css = [], []  # instance lists: folium's own stay untouched
    root = fmap.get_root()
    root.title = plain_text(title)  # branca writes it into <title> unescaped
    root.header.add_child(_Raw(f"<style>{_CSS_SLOT}</style>"), name="bw_leaflet_css")
    root.header.add_child(_Raw(f"<script>{_JS_SLOT}</script>"), name="bw_leaflet_js")
    root.header.add_child(_Raw(f"<style>{_PAGE_CSS}</style>"), name="bw_page_css")
    root.html.add_child(_Raw(f'<h1 class="bw-title">{plain_text(title)}</h1>'), name="bw_title")
    root.html.add_child(_Raw(
        '<footer class="bw-footer">'
        + _legend_html(layer, lang, zmin, zmax, stops, ticks)
        + _track_html(layer, lang)
        + _notes_html(_caveats(layer, communes), extracted or dt.date.today(), lang)
        + "</footer>"), name="bw_footer")

    if neighbours is not None and len(neighbours):
        _check_wgs84(neighbours, "neighbours")
        _neighbour_group(neighbours, lang).add_to(fmap)  # first: under the communes
        _Attribution(html.escape(html.unescape(
            context_attribution(lang, neighbours=neighbours)))).add_to(fmap)
    features = _commune_features(layer, communes, lang, zmin, zmax, stops)
    folium.GeoJson(  # a grid's cells are named by the commune holding their centre
        features, name=translate("map.commune" if layer.unit_set in (NEW, OLD) else "map.cells",
                                 lang),
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "label"],
            aliases=[translate("map.commune", lang), translate(layer.legend_key, lang)]),
    ).add_to(fmap)
    _hatch_layer(layer, features).add_to(fmap)
    _border_group(border, lang).add_to(fmap)
    _gate_group(gates, lang).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    if len(communes):
        minx, miny, maxx, maxy = communes.total_bounds
        fmap.fit_bounds([[miny, minx], [maxy, maxx]], padding=(10, 10))
    if not tiles:
        root.script.add_child(_Raw(
            f"document.getElementById({json.dumps(fmap.get_name())})"
            ".classList.add('bw-plain');"), name="bw_plain")

    page = root.render()
    if not tiles:
        found = _external_references(page)
        if found:
            raise RuntimeError(f"the offline page would load {found}")
    css, js = _vendored_leaflet()
    return page.replace(_CSS_SLOT, css, 1).replace(_JS_SLOT, js, 1)


def grid_shapes(geojson: str | dict, layer: Layer) -> gpd.GeoDataFrame:
    """The cells a grid layer is drawn on (the 2 km squares, the hexagons) as the polygons
    :func:`standalone_map_html` takes: indexed as the layer's ``frame``, named by its
    ``name`` (the commune holding a cell's centre, or nothing).

    Parameters
    ----------
    geojson : str or dict
        The grid's GeoJSON in WGS84, one feature per cell, ``id`` the cell id
        (:func:`dashboard.geometry.cells_geojson`, what the live map draws).
    layer : Layer
        A layer of those cells.

    Raises
    ------
    ValueError
        When a feature has no id.

    Examples
    --------
    >>> import pandas as pd
    >>> square = {"type": "Polygon", "coordinates": [[[106, 11], [106.02, 11], [106.02, 11.02],
    ...                                               [106, 11.02], [106, 11]]]}
    >>> grid = {"type": "FeatureCollection",
    ...         "features": [{"type": "Feature", "id": "7", "geometry": square}]}
    >>> layer = Layer(pd.DataFrame({"name": ["Xã A"], "density": [0.5]}, index=[7]),
    ...               "density", "grid", "t", "l", "u")
    >>> shapes = grid_shapes(grid, layer)
    >>> shapes.index.tolist(), shapes["name"].tolist(), shapes.crs.to_epsg()
    ([7], ['Xã A'], 4326)
    """
    data = json.loads(geojson) if isinstance(geojson, str) else geojson
    features = data.get("features", [])
    if any("id" not in f for f in features):
        raise ValueError("every cell of the grid needs an id")
    labels = {str(code): code for code in layer.frame.index}
    index = [labels.get(str(f["id"]), str(f["id"])) for f in features]
    geometry = [shapely.geometry.shape(f["geometry"]) for f in features]
    names = layer.frame["name"] if "name" in layer.frame else None
    name = ["" if names is None else str(names.get(i, "") or "") for i in index]
    return gpd.GeoDataFrame({"name": name}, index=index, geometry=geometry, crs="EPSG:4326")


class _Raw(Element):
    """Markup placed as is (a branca ``Element`` would read it as a Jinja template)."""

    def __init__(self, markup: str):
        super().__init__()
        self._markup = markup

    def render(self, **kwargs) -> str:
        return self._markup


def _check_wgs84(frame: gpd.GeoDataFrame, label: str) -> None:
    if len(frame) and (frame.crs is None or frame.crs.to_epsg() != 4326):
        raise ValueError(f"{label} must be in WGS84 (EPSG:4326), not {frame.crs}; "
                         "is the data in WGS84?")


def _plotly_colours(values: np.ndarray, colorscale, zmin: float, zmax: float) -> list:
    """Hex colours of ``values`` as Plotly.js paints them (None for a missing value).

    Plotly maps ``zmin … zmax`` onto the scale's positions and interpolates each
    RGB channel linearly between the two stops around the value (a d3 linear
    scale: the right-most stop wins at a repeated position), clamped, then
    rounds half up (tinycolor): so a stepped scale stays stepped.
    """
    stops = [(float(p), _rgb(c)) for p, c in colorscale] or [(0.0, (0, 0, 0)), (1.0, (0, 0, 0))]
    positions = [zmin + p * (zmax - zmin) for p, _ in stops]
    out = []
    for value in values:
        if value is None or not math.isfinite(value):
            out.append(None)
            continue
        v = min(max(float(value), positions[0]), positions[-1])
        i = max(min(bisect_right(positions, v, 1, len(positions) - 1) - 1, len(stops) - 2), 0)
        lo, hi = positions[i], positions[i + 1]
        u = (v - lo) / (hi - lo) if hi > lo else 0.0
        rgb = [math.floor(a + (b - a) * u + 0.5) for a, b in zip(stops[i][1], stops[i + 1][1])]
        out.append("#{:02x}{:02x}{:02x}".format(*rgb))
    return out


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.strip()
    if colour.startswith("#"):
        hexa = colour[1:]
        if len(hexa) == 3:
            hexa = "".join(c * 2 for c in hexa)
        return tuple(int(hexa[k:k + 2], 16) for k in (0, 2, 4))
    numbers = re.findall(r"[\d.]+", colour)  # "rgb(12, 34, 56)"
    return tuple(round(float(n)) for n in numbers[:3])


def _commune_features(layer: Layer, communes: gpd.GeoDataFrame, lang: str,
                      zmin: float, zmax: float, stops) -> dict:
    """The FeatureCollection: id = code; name, value text and Leaflet style per commune."""
    frame = layer.frame.reindex(communes.index)
    values = frame[layer.value].astype(float).to_numpy()
    colours = _plotly_colours(values, stops, zmin, zmax)
    # a commune whose value the release hides is drawn in its own grey, as on the live map
    hidden = {code: entry for entry in hidden_legend(layer, lang) for code in entry["codes"]}
    texts = dict(zip(layer.frame.index, hover_values(layer, lang).tolist()))
    geoms = shapely.simplify(communes.geometry.values, SIMPLIFY_TOLERANCE,
                             preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, _DIGITS))
    features = []
    for code, name, geom, colour in zip(communes.index, communes["name"], geoms, colours,
                                        strict=True):
        shown_name, label = texts.get(code, (name, "–"))
        style = {**_COMMUNE_STYLE, "className": "bw-commune"}
        if code in hidden:
            entry = hidden[code]
            colour = entry["color"]
            style.update({"color": entry["line"], "weight": 1.2,
                          "className": f"bw-commune bw-hidden-{entry['kind']}"})
        style.update({"fillColor": colour} if colour else {"fillOpacity": 0.0})
        features.append({
            "type": "Feature", "id": str(code),
            # folium's tooltip writes properties as HTML: names from imports are escaped
            "properties": {"code": plain_text(code), "name": plain_text(shown_name or name),
                           "label": plain_text(label), "style": style},
            "geometry": json.loads(shapely.to_geojson(geom)),
        })
    return {"type": "FeatureCollection", "features": features}


def _hatch_layer(layer: Layer, features: dict) -> folium.FeatureGroup:
    """The stripes over the hidden communes, as on the live map (they take no click, so the
    commune's tooltip still shows under them)."""
    hidden = set(hidden_cells(layer).dropna().index.astype(str))
    group = folium.FeatureGroup(name=translate("map.hidden.title", "vi"), control=False)
    shapes = [{"type": "Feature", "id": f["id"], "geometry": f["geometry"]}
              for f in features["features"] if f["id"] in hidden]
    if not shapes:
        return group
    stripes = hatch_geojson({"type": "FeatureCollection", "features": shapes})
    style = {"stroke": False, "fillColor": HATCH["color"], "fillOpacity": HATCH["opacity"],
             "className": "bw-hatch"}
    folium.GeoJson({"type": "FeatureCollection",  # the cut stripes are shared: not changed
                    "features": [{**f, "properties": {"style": style}}
                                 for f in stripes["features"]]}, name="hatch").add_to(group)
    return group


def _hidden_legend_html(layer: Layer, lang: str) -> str:
    """The hidden communes' entries ("< 5", "x", those the map draws) in their greys, and the
    line saying what they mean; nothing when no commune is hidden."""
    if not hidden_cells(layer).notna().any():
        return ""
    rows = "".join(
        f'<li class="bw-hidden-{entry["kind"]}"><span class="bw-swatch" style="background:'
        f"repeating-linear-gradient(135deg, {HATCH['color']} 0 1.5px, transparent 1.5px 5px) "
        f'{entry["color"]}; border-color:{entry["line"]}"></span>'
        f"{plain_text(entry['text'])}</li>"
        for entry in hidden_legend(layer, lang) if entry["codes"])
    return (f'<div class="bw-hidden"><div class="bw-legend-title">'
            f'{plain_text(translate("map.hidden.title", lang))}</div>'
            f'<ul class="bw-classes">{rows}</ul>'
            f'<p class="bw-hidden-note">{plain_text(hidden_note(layer, lang))}</p></div>')


def _legend_html(layer: Layer, lang: str, zmin: float, zmax: float, stops, ticks) -> str:
    """Class layers: one swatch per class with its label; others: the colour ramp with ticks;
    then the hidden communes' entries, if any."""
    legend = plain_text(translate(layer.legend_key, lang))
    head = f'<div class="bw-legend-title">{legend}</div>'
    grouped = grouped_classes(layer, lang)
    if grouped:  # emerging hot spots: the groups present, each with its categories present
        rows = "".join(
            f'<li><span class="bw-swatch" style="background:{e["colour"]}"></span>'
            f'{"<br>".join(plain_text(translate(f"emerging.{c}", lang)) for c in e["categories"])}'
            "</li>" for e in grouped["entries"])
        return (f'<section class="bw-legend">{head}<ul class="bw-classes">{rows}</ul>'
                f"{_hidden_legend_html(layer, lang)}</section>")
    classes = layer_classes(layer)
    if classes:
        colours = _plotly_colours(np.array([c for c, _ in classes]), stops, zmin, zmax)
        rows = "".join(
            f'<li><span class="bw-swatch" style="background:{colour}"></span>'
            f"{plain_text(translate(key, lang))}</li>"
            for (_, key), colour in zip(classes, colours))
        return (f'<section class="bw-legend">{head}<ul class="bw-classes">{rows}</ul>'
                f"{_hidden_legend_html(layer, lang)}</section>")
    ramp = ", ".join(f"{c} {100 * float(p):.3f}%" for p, c in stops) or "#000, #000"
    ticks = "".join(
        f'<span style="left:{100 * (t - zmin) / (zmax - zmin):.2f}%">'
        f"{plain_text(format_number(t, lang, digits=0 if float(t).is_integer() else 1))}</span>"
        for t in ticks) if zmax > zmin else ""
    return (f'<section class="bw-legend">{head}'
            f'<div class="bw-ramp" style="background:linear-gradient(to right, {ramp})"></div>'
            f'<div class="bw-ticks">{ticks}</div>{_hidden_legend_html(layer, lang)}</section>')


def _track_html(layer: Layer, lang: str) -> str:
    """A forecast's track record beside it, as on the page: the sentence
    (:func:`dashboard.forecast_text.track_record`) and the backtest table (hit rate and PAI
    at 5/10/20 % of the area, PEI at 10 %, the model and each baseline); nothing for the
    other layers."""
    if layer.value != "forecast":
        return ""
    from dashboard.forecast_text import track_header, track_record, track_rows

    sentence = f"<p>{plain_text(track_record(layer.params, lang))}</p>"
    table = ""
    if not layer.params.get("problem"):
        head = "".join(f"<th>{plain_text(h)}</th>" for h in track_header(lang))
        body = "".join(
            "<tr>" + "".join(f'<td class="num">{plain_text(c)}</td>' if i else
                             f"<td>{plain_text(c)}</td>" for i, c in enumerate(row)) + "</tr>"
            for row in track_rows(layer.params, lang))
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    title = plain_text(translate("export.forecast.track", lang))
    return f'<section class="bw-track"><h2>{title}</h2>{sentence}{table}</section>'


def _caveats(layer: Layer, communes: gpd.GeoDataFrame) -> list[Caveat]:
    """The layer's caveats, plus approximate boundaries when the polygons drawn say so."""
    found = set(layer.caveats)
    if communes.attrs.get("approximate"):
        found.add(Caveat.APPROXIMATE_BOUNDARIES)
    return [c for c in Caveat if c in found]


def _notes_html(caveats: list[Caveat], extracted: dt.date, lang: str) -> str:
    items = "".join(f"<li>{plain_text(translate(f'caveat.{c.value}', lang))}</li>"
                    for c in caveats)
    return (f'<section class="bw-notes">{f"<ul>{items}</ul>" if items else ""}'
            f'<p>{translate("export.extracted", lang)}: <time datetime="{extracted.isoformat()}">'
            f"{format_date(extracted, lang)}</time></p></section>")


def _lat_lon(geom) -> list[list[float]]:
    coords = np.round(shapely.get_coordinates(geom), _DIGITS)
    return coords[:, ::-1].tolist()


class _KmScale(MacroElement):
    """Leaflet's scale bar in kilometres and metres only (no miles, no feet)."""

    _template = Template("""{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
{% endmacro %}""")


class _Attribution(MacroElement):
    """A line in Leaflet's attribution box (the text is escaped for HTML first)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = json.dumps(text)

    _template = Template("""{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text }});
{% endmacro %}""")


def _neighbour_group(neighbours: gpd.GeoDataFrame, lang: str) -> folium.FeatureGroup:
    """The neighbouring provinces in the live map's muted greys, no hover, each named by a
    permanent label on an invisible point (as the gates are)."""
    group = folium.FeatureGroup(name=translate("map.context.layer", lang))
    provinces = neighbours[neighbours["kind"] == "province"]
    for row in provinces.itertuples():
        style = CONTEXT_STYLE.get(row.country, CONTEXT_STYLE["VN"])
        simple = shapely.simplify(row.geometry, SIMPLIFY_TOLERANCE)
        folium.GeoJson(
            json.loads(shapely.to_geojson(shapely.set_precision(simple, 10 ** -_DIGITS))),
            style_function=lambda _, s=style: {"color": s["line"], "weight": 1,
                                               "fillColor": s["fill"], "fillOpacity": 0.9},
            interactive=False,
        ).add_to(group)
    for place in context_places(neighbours, lang):
        folium.CircleMarker(
            [round(place["lat"], _DIGITS), round(place["lon"], _DIGITS)], radius=0, opacity=0,
            fill=False, interactive=False,
            tooltip=folium.Tooltip(place["text"], sticky=False, permanent=True,
                                   direction="center",
                                   className="bw-place-label" + (" bw-place-country"
                                                                 if place["kind"] == "country"
                                                                 else "")),
        ).add_to(group)
    return group


def _border_group(border: gpd.GeoDataFrame, lang: str) -> folium.FeatureGroup:
    name = translate("map.border", lang)
    group = folium.FeatureGroup(name=name)
    lines = shapely.simplify(border.geometry.values, SIMPLIFY_TOLERANCE)
    for geom in lines:
        for part in getattr(geom, "geoms", [geom]):
            if not part.is_empty:
                folium.PolyLine(_lat_lon(part), tooltip=name, **_BORDER_STYLE).add_to(group)
    return group


def _gate_group(gates: gpd.GeoDataFrame, lang: str) -> folium.FeatureGroup:
    """Each gate: a dot in the live map's class colour and size, its details on hover,
    and its name written beside it (a permanent label on an invisible twin)."""
    group = folium.FeatureGroup(name=translate("map.gates", lang))
    if not len(gates):
        return group
    for gate, details, (lon, lat) in zip(gates.itertuples(), gate_hover(gates, lang),
                                         shapely.get_coordinates(gates.geometry.values)):
        style = GATE_STYLE[gate.gate_class]
        where = [round(float(lat), _DIGITS), round(float(lon), _DIGITS)]
        folium.CircleMarker(
            where, radius=style["size"] / 2, color="#333333", weight=1,
            fill=True, fill_color=style["color"], fill_opacity=1.0,
            tooltip=folium.Tooltip(details, sticky=False),
        ).add_to(group)
        folium.CircleMarker(
            where, radius=0, opacity=0, fill=False, interactive=False,
            tooltip=folium.Tooltip(plain_text(gate.name), sticky=False, permanent=True,
                                   direction="right", offset=[style["size"] / 2 + 2, 0],
                                   className="bw-gate-label"),
        ).add_to(group)
    return group


_EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|srcset|action|poster)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//)|@import""",
    re.IGNORECASE,
)


def _external_references(page: str) -> list[str]:
    """Attributes and CSS that would fetch from another host (folium's own markup only)."""
    return [page[m.start():m.end() + 60] for m in _EXTERNAL.finditer(page)]


@lru_cache(maxsize=1)
def _vendored_leaflet() -> tuple[str, str]:
    """Leaflet's CSS (its images as data URIs) and JS, ready to sit inside the page."""
    css = (_VENDOR / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match) -> str:
        png = (_VENDOR / match.group(1)).read_bytes()
        return f'url("data:image/png;base64,{base64.b64encode(png).decode("ascii")}")'

    css = re.sub(r"url\(\s*[\"']?images/([\w.-]+\.png)[\"']?\s*\)", data_uri, css)
    js = (_VENDOR / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", js)
    if "</script" in js.lower() or "</style" in css.lower():
        raise RuntimeError("vendored Leaflet cannot be inlined: it closes its own tag")
    return css, js
