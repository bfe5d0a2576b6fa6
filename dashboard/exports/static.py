"""Static exports of a map (PNG, PDF, SVG) through kaleido and Debian's Chromium, and its committee version.

Two steps, each a function of data:

- :func:`presentation_figure` turns the live map of a layer into the version
  shown to a committee on a projector or printed: large title with the period
  and the unit set, the legend, a scale bar, a north arrow, every caveat of the
  layer as a visible note, the data source and the date of extraction.
- :func:`export_figure` / :func:`export_figures` render figures to bytes with
  kaleido 1.5, which drives a headless Chromium over the DevTools protocol.
  kaleido is given the browser's path explicitly (``Kaleido(path=...)``, passed
  through to ``choreographer.Browser``; the path from
  :func:`dashboard.exports.chromium.chromium_path`), so it never looks for, nor downloads,
  a browser of its own. The map is MapLibre on the blank "white-bg" style, so
  it renders offline (software WebGL). MapLibre draws no text (its labels ask
  a font server on the internet for glyphs): the names a map trace carries in
  ``text`` with ``meta["labels"]`` (the gates, the scale bar's ends) are
  written by Plotly as annotations pinned beside their points, so the export
  makes no request at all.

Starting Chromium costs 2–3.5 s per call, on top of 3.5–4.5 s per commune map
(measured on two busy cores): export several figures with one
:func:`export_figures` call, which starts the browser once.

Sizes (CSS pixels of the layout, ``png`` pixels with the default scale):

========  ===========  ==========  ===============================================
size      layout px    PNG px      PDF page
========  ===========  ==========  ===============================================
slide     1600 × 900   1600 × 900  1200 × 675 pt (16:9, the size of a slide)
a4        1123 × 794   1754 × 1240 297 × 210 mm (A4 landscape); PNG ≈ 150 dpi
========  ===========  ==========  ===============================================

In a PDF the title, legend, colour bar and notes stay vector text; the map
itself (MapLibre's WebGL canvas) is a raster at the layout's pixels, about
96 dpi on A4: for a sharper printed map use the A4 PNG (150 dpi).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from pyproj import Geod

from dashboard.exports.chromium import CHROMIUM, ChromiumNotFound, chromium_path, run_blocking
from dashboard.figures.text import plain_text
from dashboard.i18n import format_date, translate
from layers.layer import Caveat

__all__ = [
    # CHROMIUM and ChromiumNotFound live in dashboard.exports.chromium; named here too, as
    # the browser export_figure drives by default and the error it raises without one
    "CHROMIUM",
    "FORMATS",
    "SIZES",
    "ChromiumNotFound",
    "ExportSize",
    "export_figure",
    "export_figures",
    "fit_to_screen",
    "presentation_figure",
    "scale_bar_length",
]

#: Formats a committee needs: a slide image, a printable page, an editable drawing.
FORMATS = ("png", "pdf", "svg")


@dataclass(frozen=True)
class ExportSize:
    """A page: its layout size in CSS pixels and the scale a PNG is drawn at.

    Attributes
    ----------
    width, height : int
        Layout size in CSS pixels (96 per inch): what the figure is laid out
        for, and the page size of a PDF at scale 1.
    png_scale : float
        Default scale of a PNG (1600 px wide for a slide, about 150 dpi on A4).
    """

    width: int
    height: int
    png_scale: float = 1.0

    def pixels(self, scale: float) -> tuple[int, int]:
        """The image size in pixels at ``scale`` (what a PNG decodes to)."""
        return int(self.width * scale), int(self.height * scale)  # plotly.js truncates


#: slide: 16:9 at 1600 × 900; a4: A4 landscape, 297 × 210 mm at 96 CSS px per inch
#: (1123 × 794), drawn as PNG at scale 1.5625 (1754 × 1240 px, about 150 dpi).
SIZES = {
    "slide": ExportSize(1600, 900, 1.0),
    "a4": ExportSize(1123, 794, 1.5625),
}

_GEOD = Geod(ellps="WGS84")
_ROUND_KM = (1, 2, 5, 10, 20, 50, 100, 200)
_NOTE_STYLE = {"bgcolor": "#fff3cd", "bordercolor": "#9c5700", "font_color": "#6b3d00"}
_FONT = 18  # base font size in layout px: legible from the back of a meeting room
_TITLE_FONT, _SUBTITLE_FONT, _NOTE_FONT, _SOURCE_FONT = 34, 22, 18, 16
_LINE = 34  # px per line of the bottom band (caveats, source)
#: With a panel beside the map (a forecast's track record): the share of the width left of
#: it, on a slide and on A4, and the share the colour bar and its title take before it.
_PANEL_SPLIT = {"slide": 0.6, "a4": 0.6}
_PANEL_BAR = {"slide": 0.13, "a4": 0.19}
_PLAIN = re.compile(r"&(?:#\d+|#x[\da-fA-F]+|[a-z]+);")  # an entity Plotly shows as one glyph

#: The proxy kaleido's Chromium is given: a closed loopback port, so that whatever Chromium
#: tries to fetch on its own (account checks, updates, hints) never leaves the machine.
_NO_NETWORK = "http://127.0.0.1:9"


# --------------------------------------------------------------------------- export


def export_figure(
    fig: go.Figure | dict,
    *,
    fmt: str = "png",
    size: str = "slide",
    scale: float | None = None,
    browser: str | os.PathLike | None = None,
    timeout: float = 90.0,
) -> bytes:
    """The figure as PNG, PDF or SVG bytes, rendered by kaleido in headless Chromium.

    Starts Chromium for this one figure (about 2 s before the render itself):
    for several figures use :func:`export_figures`.

    Parameters
    ----------
    fig : Figure or dict
        A Plotly figure. Its commune polygons must be the GeoJSON itself (a
        dict or GeoJSON text such as ``ctx.geojson["2025"]``), not the URL the
        live page serves them at. The figure is not changed.
    fmt : {"png", "pdf", "svg"}
    size : {"slide", "a4"}
        The page, see :data:`SIZES`.
    scale : float, optional
        Multiplies the pixels. Default: the size's ``png_scale`` for PNG, 1 for
        PDF and SVG (a PDF page grows with the scale).
    browser : path, optional
        The Chromium executable; default :data:`dashboard.exports.chromium.CHROMIUM`.
    timeout : float
        Seconds allowed to render one figure.

    Returns
    -------
    bytes

    Raises
    ------
    ChromiumNotFound
        When ``browser`` is not an executable file.
    ValueError
        For an unknown format or size, or a figure whose GeoJSON is a URL.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> png = export_figure(go.Figure(go.Scatter(x=[0, 1], y=[1, 0])))  # doctest: +SKIP
    >>> png[:4]  # doctest: +SKIP
    b'\\x89PNG'
    """
    return export_figures([fig], fmt=fmt, size=size, scale=scale, browser=browser,
                          timeout=timeout)[0]


def export_figures(
    figs: Iterable[go.Figure | dict],
    *,
    fmt: str = "png",
    size: str = "slide",
    scale: float | None = None,
    browser: str | os.PathLike | None = None,
    timeout: float = 90.0,
) -> list[bytes]:
    """Several figures rendered in one Chromium session, in order.

    Same parameters as :func:`export_figure`; the browser starts once (about
    2 s), then each commune map takes a few seconds on two cores (software
    WebGL). Figures render one after another: a second tab does not help on
    two cores.

    Returns
    -------
    list of bytes
        One document per figure, in the order given.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unsupported format {fmt!r}; choose one of {FORMATS}")
    page = _size(size)
    scale = (page.png_scale if fmt == "png" else 1.0) if scale is None else float(scale)
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    # go.Figure(f) is a deep copy: the caller's figure is never touched
    specs = [_inline_geojson(_pinned_labels(go.Figure(f)).to_dict()) for f in figs]
    path = chromium_path(browser)
    if not specs:
        return []
    opts = {"format": fmt, "width": page.width, "height": page.height, "scale": scale}
    return run_blocking(lambda: _render(specs, opts, path, timeout))


def _size(size: str) -> ExportSize:
    try:
        return SIZES[size]
    except KeyError:
        raise ValueError(f"unknown size {size!r}; choose one of {tuple(SIZES)}") from None


def _inline_geojson(spec: dict) -> dict:
    """GeoJSON text becomes a dict: kaleido's plotly.js takes a string for a URL to fetch."""
    for trace in spec.get("data", []):
        geojson = trace.get("geojson")
        if not isinstance(geojson, str):
            continue
        if geojson.lstrip().startswith("{"):
            trace["geojson"] = json.loads(geojson)
        else:
            raise ValueError(
                f"a static export needs the GeoJSON itself, not the URL {geojson[:80]!r} the "
                "live page serves: build the map with the GeoJSON text (ctx.geojson[unit_set])"
            )
    return spec


def _pinned_labels(fig: go.Figure) -> go.Figure:
    """The map labels (``text`` of traces with ``meta["labels"]``) as annotations beside
    their points, and no trace left that asks MapLibre for text; ``fig`` is a copy.

    An annotation sits at the centre of the map's domain, shifted by the pixels that
    separate its point from the map's centre in Web Mercator at the map's zoom (MapLibre's
    world is 512 px wide at zoom 0): exact whatever the margins the colour bar and legend
    take, as long as nobody pans the map (a static export).
    """
    view = fig.layout.map
    if view.zoom is None or view.center.lon is None or view.center.lat is None:
        return fig
    world = 512 * 2 ** float(view.zoom)
    x0, x1 = view.domain.x or (0, 1)
    y0, y1 = view.domain.y or (0, 1)
    cx, cy = _mercator(float(view.center.lon), float(view.center.lat), world)
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    found = []
    for trace in fig.data:
        if trace.type != "scattermap":
            continue
        if trace.mode and "text" in trace.mode:  # nothing may reach MapLibre as text
            trace.mode = "+".join(m for m in trace.mode.split("+") if m != "text") or "markers"
        labels = trace.meta.get("labels") if isinstance(trace.meta, dict) else None
        if not labels or trace.visible not in (None, True) or trace.text is None:
            continue
        texts = [trace.text] * len(trace.lon) if isinstance(trace.text, str) else trace.text
        sizes = trace.marker.size if trace.marker.size is not None else 6
        for i, (lon, lat, text) in enumerate(zip(trace.lon, trace.lat, texts)):
            if lon is None or lat is None or not text:
                continue
            size = float(sizes if np.isscalar(sizes) else sizes[i])
            x, y = _mercator(float(lon), float(lat), world)
            found.append((size, *_map_label(str(text), x - cx, y - cy, size, labels, centre)))
    found.extend(_places(fig, world, (cx, cy), centre, _map_pixels(fig)))
    # as MapLibre would: the labels of the larger markers first, none over another (nor over
    # the north arrow, pinned the same way)
    placed: list[tuple[float, float, float, float]] = [
        (a.xshift - 24, -a.yshift - 90, a.xshift + 24, -a.yshift)
        for a in fig.layout.annotations if a.name == "north_arrow" and a.xshift is not None]
    for _, note, box in sorted(found, key=lambda item: -item[0]):
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
               for b in placed):
            continue
        placed.append(box)
        fig.add_annotation(note)
    return fig


def _map_pixels(fig: go.Figure) -> tuple[float, float] | None:
    """Width and height of the map area in layout pixels, when the figure has a size."""
    layout = fig.layout
    if layout.width is None or layout.height is None:
        return None
    m = layout.margin
    x0, x1 = layout.map.domain.x or (0, 1)
    y0, y1 = layout.map.domain.y or (0, 1)
    return ((layout.width - (m.l or 0) - (m.r or 0)) * (x1 - x0),
            (layout.height - (m.t or 0) - (m.b or 0)) * (y1 - y0))


def _places(fig: go.Figure, world: float, origin: tuple[float, float],
            centre: tuple[float, float], area: tuple[float, float] | None) -> list[tuple]:
    """The neighbours' names of ``layout.meta["places"]`` (:mod:`dashboard.figures.context`)
    as labels centred on their points, after the markers' labels (the country's first);
    none that would stand outside the map ``area`` (an annotation is not cut at its edge)."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    styles = meta.get("place_style") or {}
    out = []
    for place in meta.get("places") or []:
        style = dict(styles.get(place.get("kind"), {"position": "center"}))
        x, y = _mercator(float(place["lon"]), float(place["lat"]), world)
        note, box = _map_label(str(place["text"]), x - origin[0], y - origin[1], 0, style, centre)
        if area is not None and not (-area[0] / 2 <= box[0] and box[2] <= area[0] / 2
                                     and -area[1] / 2 <= box[1] and box[3] <= area[1] / 2):
            continue
        out.append((-1 if place.get("kind") == "country" else -2, note, box))
    return out


def _mercator(lon: float, lat: float, world: float) -> tuple[float, float]:
    """Web Mercator pixels (x right, y down) of a point in a world ``world`` px wide."""
    lat = max(min(lat, 85.0511), -85.0511)
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return world * (lon + 180) / 360, world * (1 - y / math.pi) / 2


def _map_label(text: str, dx: float, dy: float, marker: float, style: dict,
               centre: tuple[float, float]) -> tuple[dict, tuple[float, float, float, float]]:
    """An annotation for a label ``dx, dy`` px from the map's centre (y down), and the box it
    takes about (left, top, right, bottom in px from the centre; for the overlap check)."""
    centred = style.get("position") == "center"  # a place's name, on its point
    gap = 0 if centred else marker / 2 + 2
    right = style.get("position", "top right") == "top right"
    size = float(style.get("size", 12))
    if style.get("upper"):
        text = f"<b>{text}</b>"
    if style.get("italic"):
        text = f"<i>{text}</i>"
    width = 0.6 * size * len(_PLAIN.sub("x", re.sub(r"</?[bi]>", "", text)))
    left = dx + gap if right else dx - width / 2
    bottom = dy - gap + (0.625 * size if centred else 0)
    note = {
        "name": "map_place" if centred else "map_label", "text": text, "showarrow": False,
        "captureevents": False,
        "xref": "paper", "yref": "paper", "x": centre[0], "y": centre[1],
        "xanchor": "left" if right else "center", "yanchor": "middle" if centred else "bottom",
        "xshift": dx + (gap if right else 0), "yshift": gap - dy,
        "font": {"size": size, "color": style.get("color", "#111111")},
        "bgcolor": "rgba(255,255,255,0.6)" if not centred else "rgba(0,0,0,0)", "borderpad": 0,
    }
    return note, (left, bottom - 1.25 * size, left + width, bottom)


async def _render(specs: list[dict], opts: dict, path: Path, timeout: float) -> list[bytes]:
    import kaleido  # heavy import (choreographer, logistro): only when exporting

    # mathjax=False: no request to the MathJax CDN (offline); plotly.js comes from plotly.py.
    # Chromium's own background traffic (Google accounts, updates …) goes to a closed
    # loopback proxy: choreographer has no other way to pass --disable-background-networking.
    async with kaleido.Kaleido(path=str(path), n=1, timeout=timeout, mathjax=False,
                               proxy_server=_NO_NETWORK) as k:
        return [await k.calc_fig(spec, opts=dict(opts)) for spec in specs]


# --------------------------------------------------------------------------- figure


def presentation_figure(
    layer_fig: go.Figure,
    *,
    title: str,
    subtitle: str = "",
    caveats: Sequence[Caveat | str] = (),
    source: str,
    extracted: dt.date,
    lang: str = "vi",
    size: str = "slide",
    bounds: tuple[float, float, float, float] | None = None,
    panel: tuple[str, Sequence[str], Sequence[Sequence[str]]] | None = None,
) -> go.Figure:
    """The committee version of a map: title, legend, scale bar, north arrow, caveats, source.

    Parameters
    ----------
    layer_fig : Figure
        The live map of a layer (:func:`dashboard.figures.commune_map.commune_map`);
        not changed.
    title : str
        What the map shows and for which period, e.g. the layer's title.
    subtitle : str
        Usually the unit set (``translate("units.2025", lang)``).
    caveats : sequence of Caveat
        Each is written in full, in a band of its own under the map.
    source : str
        Who the data comes from, as the reader should see it.
    extracted : date
        Date of extraction, written dd/mm/yyyy.
    lang : {"vi", "en"}
    size : {"slide", "a4"}
        The page the figure is laid out for (see :data:`SIZES`); the zoom is
        fitted to its map area.
    bounds : tuple, optional
        lon/lat box to frame; default the extent of the commune polygons.
    panel : (str, header, rows), optional
        A sentence and a table beside the map, on the right (the map takes the left
        :data:`_PANEL_SPLIT` of the width): a forecast's track record
        (:mod:`dashboard.forecast_text`), which must travel with its map. The sentence is
        the annotation named ``panel``, the table the trace whose ``meta["role"]`` is
        ``"panel"``.

    Returns
    -------
    Figure
        A new figure; its scale bar is the trace whose ``meta["role"]`` is
        ``"scale_bar"``, its notes are annotations named ``caveat.<value>``,
        ``north_arrow`` and ``source``.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> live = go.Figure(go.Scattermap(lon=[106.0], lat=[11.3]))
    >>> fig = presentation_figure(live, title="Số vụ việc theo xã", source="Công an tỉnh",
    ...                           extracted=dt.date(2026, 11, 23),
    ...                           bounds=(105.5, 10.4, 106.7, 11.8))
    >>> [a.text for a in fig.layout.annotations if a.name == "source"]
    ['Nguồn dữ liệu: Công an tỉnh · Trích xuất: 23/11/2026']
    >>> next(t.name for t in fig.data if t.meta and t.meta["role"] == "scale_bar")
    '20 km'
    """
    page = _size(size)
    fig = go.Figure(layer_fig)  # a deep copy: the live figure stays as it was
    box = bounds or _geojson_bounds(fig)
    if box is None:
        raise ValueError("no commune polygons in the figure: pass bounds=(minx, miny, maxx, maxy)")
    caveats = [Caveat(c) for c in caveats]
    hidden = _hidden_meaning(fig)  # what "< 5" and "x" mean, when the map draws either
    # the legend is one row under the map: the hidden cells' entries join it, their group's
    # title gives way to the line that says what they mean
    fig.for_each_trace(lambda t: t.update(legendgroup="", legendgrouptitle_text=""),
                       selector=lambda t: isinstance(t.meta, dict)
                       and t.meta.get("role") == "hidden")
    lines = len(caveats) + bool(hidden)
    top = 130 if subtitle else 90
    bottom = 16 + _LINE * (lines + 2)  # legend, caveats, the hidden cells' meaning, source
    margin = {"l": 16, "r": 16, "t": top, "b": bottom}

    _enlarge_fonts(fig)
    bar = _scale_bar(box)
    fig.add_trace(bar)
    minx, miny, maxx, maxy = box
    # the colour bar takes about 130 px on the right of the map area
    split = _PANEL_SPLIT[size] if panel else 1.0
    zoom = _zoom_to_fit(box, (page.width - margin["l"] - margin["r"]) * split - 260,
                        page.height - top - bottom)
    fig.update_layout(
        width=page.width,
        height=page.height,
        font={"size": _FONT},
        title={
            "text": f"<b>{plain_text(title)}</b>",
            "font": {"size": _TITLE_FONT},
            "subtitle": {"text": plain_text(subtitle), "font": {"size": _SUBTITLE_FONT, "color": "#444444"}},
            "x": 0.01, "xanchor": "left", "y": 0.985, "yanchor": "top", "yref": "container",
        },
        margin=margin,
        map={
            "center": {"lon": (minx + maxx) / 2,
                       "lat": _lat_above((miny + maxy) / 2, _TOP_ROOM, zoom)},
            "zoom": zoom,
        },
        # the legend in a row under the map, where it hides no commune
        legend={"orientation": "h", "x": 0, "y": 0, "xanchor": "left", "yanchor": "top",
                "font": {"size": _FONT}, "bgcolor": "rgba(255,255,255,0)"},
    )
    if panel:
        _add_panel(fig, *panel, width=(page.width - margin["l"] - margin["r"]) * (1 - split),
                   size=size)
    notes = [_north_arrow(lang, fig.layout.map, bar), *_notes(caveats, lang)]
    if hidden:
        notes.append(_hidden_line(hidden, len(caveats)))
    attribution = (fig.layout.meta or {}).get("attribution") \
        if isinstance(fig.layout.meta, dict) else ""
    if attribution:  # where the neighbours (or the basemap) come from, in the map's corner
        notes.append({**_attribution(attribution), "x": (fig.layout.map.domain.x or (0, 1))[1]})
    for note in (*notes, _source_line(source, extracted, lang, lines)):
        fig.add_annotation(note)
    return fig


def _add_panel(fig: go.Figure, sentence: str, header: Sequence[str],
               rows: Sequence[Sequence[str]], *, width: float, size: str) -> None:
    """The sentence and the table right of the map; the map and its colour bar moved left."""
    split, bar = _PANEL_SPLIT[size], _PANEL_BAR[size]
    fig.update_layout(map={"domain": {"x": [0, split - bar], "y": [0, 1]}})
    fig.update_traces(selector={"type": "choroplethmap"},
                      colorbar={"x": split - bar + 0.005, "xanchor": "left"})
    font = 12 if size == "a4" else 15
    chars = int(width / (0.52 * font))  # the sentence wrapped to the panel's width
    lines = textwrap.wrap(plain_text(sentence), chars) or [""]
    fig.add_annotation(name="panel", text="<br>".join(lines), xref="paper", yref="paper",
                       x=split, y=1, xanchor="left", yanchor="top", align="left",
                       showarrow=False, font={"size": font, "color": "#111111"})
    if not rows:
        return
    top = max(0.1, 1 - (len(lines) + 1.5) * font * 1.25 / (fig.layout.height
                                                            - fig.layout.margin.t
                                                            - fig.layout.margin.b))
    columns = list(zip(*rows, strict=True))
    fig.add_trace(go.Table(
        meta={"role": "panel"},
        domain={"x": [split, 1], "y": [0, top]},
        columnwidth=[2.6] + [1] * (len(header) - 1),
        header={"values": ["<b>" + "<br>".join(textwrap.wrap(plain_text(h), 7 if i else 14))
                           + "</b>" for i, h in enumerate(header)],
                "fill": {"color": "#dce6f1"}, "align": ["left"] + ["right"] * (len(header) - 1),
                "font": {"size": font - 2, "color": "#111111"}, "line": {"color": "#999999"}},
        cells={"values": [[plain_text(v) for v in col] for col in columns],
               "align": ["left"] + ["right"] * (len(header) - 1),
               "font": {"size": font - 1, "color": "#111111"}, "line": {"color": "#999999"},
               "height": font * 1.8},
    ))


def fit_to_screen(fig: go.Figure, width: int, height: int,
                  bounds: tuple[float, float, float, float]) -> go.Figure:
    """The committee figure ``fig`` framed for a screen of ``width`` × ``height`` CSS px
    (presentation mode draws it at the size of the browser's window, not of a slide): zoom
    and centre fitted anew with the same room above the province, and the north arrow moved
    with the scale bar. Changes ``fig`` and returns it.
    """
    m = fig.layout.margin
    zoom = _zoom_to_fit(bounds, width - (m.l or 0) - (m.r or 0) - 260,
                        height - (m.t or 0) - (m.b or 0) - 2 * _TOP_ROOM)
    minx, miny, maxx, maxy = bounds
    fig.update_layout(map={"zoom": zoom, "center": {
        "lon": (minx + maxx) / 2, "lat": _lat_above((miny + maxy) / 2, _TOP_ROOM, zoom)}})
    bar = next((t for t in fig.data if isinstance(t.meta, dict)
                and t.meta.get("role") == "scale_bar"), None)
    for note in fig.layout.annotations:
        if note.name == "north_arrow" and bar is not None:
            moved = _north_arrow("vi", fig.layout.map, bar)
            note.update(xshift=moved["xshift"], yshift=moved["yshift"])
    return fig


def _attribution(text: str) -> dict:
    """The source of the context drawn beyond the communes, small, in the map's lower right
    (MapLibre's attribution box is HTML, which an image of the figure does not hold)."""
    return {
        "name": "attribution", "text": text, "xref": "paper", "yref": "paper",
        "x": 1, "y": 0, "xanchor": "right", "yanchor": "bottom", "showarrow": False,
        "font": {"size": 12, "color": "#555555"}, "bgcolor": "rgba(255,255,255,0.8)",
        "borderpad": 2,
    }


def _hidden_meaning(fig: go.Figure) -> str:
    """The line saying what the hidden communes' labels mean, when the map draws any
    (traces whose ``meta["role"]`` is ``"hidden"``, see :mod:`dashboard.figures.commune_map`)."""
    for trace in fig.data:
        meta = trace.meta if isinstance(trace.meta, dict) else {}
        if meta.get("role") == "hidden" and trace.locations is not None \
                and len(trace.locations) and meta.get("note"):
            return str(meta["note"])
    return ""


def _hidden_line(text: str, below: int) -> dict:
    """The hidden cells' meaning, one line under the caveats, in the grey of their fill."""
    return {
        "name": "hidden_note", "text": plain_text(text),
        "xref": "paper", "yref": "paper", "x": 0, "y": 0, "xanchor": "left",
        "yanchor": "top", "yshift": -(6 + _LINE * (below + 1)), "showarrow": False,
        "align": "left", "font": {"size": _NOTE_FONT, "color": "#262626"},
        "bgcolor": "#eeeeee", "bordercolor": "#7a7a7a", "borderwidth": 1, "borderpad": 3,
    }


def scale_bar_length(bounds: tuple[float, float, float, float], share: float = 0.25) -> int:
    """A round distance in km (1, 2, 5, 10, 20, 50 …) near ``share`` of the box's width.

    Examples
    --------
    >>> scale_bar_length((105.5, 10.4, 106.7, 11.8))
    20
    """
    minx, miny, maxx, maxy = bounds
    lat = (miny + maxy) / 2
    width_km = _GEOD.inv(minx, lat, maxx, lat)[2] / 1000
    target = share * width_km
    fitting = [km for km in _ROUND_KM if km <= target]
    return fitting[-1] if fitting else _ROUND_KM[0]


def _scale_bar(bounds: tuple[float, float, float, float]) -> go.Scattermap:
    """A line of a round length along a parallel, in the lower left of ``bounds``.

    Its length in degrees of longitude is measured with the WGS84 geodesic at
    the bar's own latitude, where the map's scale is that of the bar (Web
    Mercator's scale changes by under 1 % across the province).
    """
    minx, miny, maxx, maxy = bounds
    km = scale_bar_length(bounds)
    lat = miny + 0.03 * (maxy - miny)
    lon0 = minx + 0.03 * (maxx - minx)
    metres_per_degree = _GEOD.inv(lon0, lat, lon0 + 0.1, lat)[2] / 0.1
    lon1 = lon0 + km * 1000 / metres_per_degree
    label = f"{km} km"
    # the end markers double as the bar's end ticks; "0" and the length are written above
    # them as HTML (browser) or annotations (export), never as MapLibre text
    return go.Scattermap(
        lon=[lon0, lon1], lat=[lat, lat], mode="lines+markers",
        line={"width": 6, "color": "#111111"}, marker={"size": 12, "color": "#111111"},
        text=["0", label],
        hoverinfo="skip", showlegend=False, name=label,
        meta={"role": "scale_bar", "km": km,
              "labels": {"position": "top center", "size": _FONT, "color": "#111111"}},
    )


def _north_arrow(lang: str, view, bar: go.Scattermap) -> dict:
    """The north arrow, just above the scale bar's left end: the two read together.

    Placed as the map labels are (:func:`_pinned_labels`): at the centre of the map, shifted
    by the pixels from the map's centre to the bar's start at the map's zoom; MapLibre keeps
    centre and zoom when the figure is resized, so it stays with the bar on any screen.
    """
    letter, word = translate("map.north_letter", lang), translate("map.north", lang)
    world = 512 * 2 ** float(view.zoom)
    cx, cy = _mercator(float(view.center.lon), float(view.center.lat), world)
    x, y = _mercator(float(bar.lon[0]), float(bar.lat[0]), world)
    (x0, x1), (y0, y1) = view.domain.x or (0, 1), view.domain.y or (0, 1)
    return {
        "name": "north_arrow", "text": f"<b>{letter}</b><br><b>↑</b>",
        "hovertext": word,
        "xref": "paper", "yref": "paper", "x": (x0 + x1) / 2, "y": (y0 + y1) / 2,
        "xshift": x - cx, "yshift": cy - y + 2 * _FONT,  # above the bar and its "0"
        "xanchor": "center", "yanchor": "bottom", "showarrow": False, "align": "center",
        "font": {"size": 30, "color": "#111111"},
        "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#111111", "borderwidth": 1,
        "borderpad": 4,
    }


def _notes(caveats: Sequence[Caveat], lang: str) -> list[dict]:
    """One amber band per caveat under the map, in the order given."""
    return [
        {
            "name": f"caveat.{c.value}", "text": f"<b>⚠ {translate(f'caveat.{c.value}', lang)}</b>",
            "xref": "paper", "yref": "paper", "x": 0, "y": 0, "xanchor": "left",
            "yanchor": "top", "yshift": -(6 + _LINE * (i + 1)), "showarrow": False, "align": "left",
            "font": {"size": _NOTE_FONT, "color": _NOTE_STYLE["font_color"]},
            "bgcolor": _NOTE_STYLE["bgcolor"], "bordercolor": _NOTE_STYLE["bordercolor"],
            "borderwidth": 1, "borderpad": 3,
        }
        for i, c in enumerate(caveats)
    ]


def _source_line(source: str, extracted: dt.date, lang: str, below: int) -> dict:
    text = translate("footer.source", lang, source=plain_text(source),
                     extracted=format_date(extracted, lang))
    return {
        "name": "source", "text": text,
        "xref": "paper", "yref": "paper", "x": 0, "y": 0, "xanchor": "left",
        "yanchor": "top", "yshift": -(10 + _LINE * (below + 1)), "showarrow": False,
        "font": {"size": _SOURCE_FONT, "color": "#333333"},
    }


def _enlarge_fonts(fig: go.Figure) -> None:
    """Projector sizes for the colour bar and the map labels of the (copied) figure."""
    fig.update_traces(
        selector={"type": "choroplethmap"},
        colorbar={"thickness": 26, "len": 0.85, "title": {"font": {"size": _FONT + 2}},
                  "tickfont": {"size": _FONT - 2}},
    )
    fig.for_each_trace(
        lambda t: t.update(meta={**t.meta, "labels": {**t.meta["labels"], "size": _FONT - 2}}),
        selector=lambda t: t.type == "scattermap" and isinstance(t.meta, dict)
        and "labels" in t.meta,
    )


def _geojson_bounds(fig: go.Figure) -> tuple[float, float, float, float] | None:
    """The lon/lat extent of the choropleth polygons held in the figure, if any."""
    xs: list[float] = []
    ys: list[float] = []
    for trace in fig.data:
        geojson = getattr(trace, "geojson", None)
        if isinstance(geojson, str):
            if not geojson.lstrip().startswith("{"):
                continue  # a URL: nothing to measure here
            geojson = json.loads(geojson)
        for feature in (geojson or {}).get("features", []):
            for x, y in _coordinates(feature["geometry"]["coordinates"]):
                xs.append(x)
                ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def _coordinates(nested) -> Iterable[tuple[float, float]]:
    if nested and isinstance(nested[0], (int, float)):
        yield nested[0], nested[1]
        return
    for part in nested:
        yield from _coordinates(part)


def _zoom_to_fit(bounds: tuple[float, float, float, float], width_px: float,
                 height_px: float) -> float:
    """The MapLibre zoom at which ``bounds`` fit a ``width_px`` × ``height_px`` map area.

    MapLibre's world is 512 px wide at zoom 0; latitude spans are stretched by
    1/cos(latitude) in Web Mercator. A little less, so labels at the edge show.
    """
    minx, miny, maxx, maxy = bounds
    lon_span = max(maxx - minx, 1e-6)
    lat_span = max((maxy - miny) / math.cos(math.radians((miny + maxy) / 2)), 1e-6)
    zoom = math.log2(min(360 * width_px / (512 * lon_span), 360 * height_px / (512 * lat_span)))
    return round(zoom - 0.15, 2)


#: Pixels the province is moved down in a committee map: the names of the northernmost
#: gates are written above their markers, and must not be cut by the map's top edge.
_TOP_ROOM = 28


def _lat_above(lat: float, pixels: float, zoom: float) -> float:
    """The latitude ``pixels`` north of ``lat`` at ``zoom`` in Web Mercator (MapLibre's
    world is 512 px wide at zoom 0): a map centred there shows ``lat``'s row that much lower.

    >>> round(_lat_above(11.0, 0, 8), 6)
    11.0
    """
    world = 512 * 2 ** float(zoom)
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) + 2 * math.pi * pixels / world
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)
