"""Commander's page (Điểm nóng): where are the hotspots, are they growing, how near the border.

Layer switch (smoothed rates, Gi* classes of the counts or of the rate per
resident, emerging categories, density, hexagons, change on the same period a
year before, key-area score, next quarter's forecast with its track record),
filters (incident types, period presets, unit set), gates with 5/15/30 km
rings, a ranked table of suggested key communes with their reasons, and a
side panel for the clicked commune. Under the map, what it shows
(:mod:`dashboard.map_meaning`) and, under a Gi* map with no hot spot after
FDR, its uncorrected 90 % classes or four quarters as choices. At the
bottom, near repeats (:mod:`dashboard.pages.near_repeats`).
Every number comes from :mod:`dashboard.analysis`, which asks ``layers/``;
filter changes within a layer patch the values only.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import plotly.graph_objects as go
from dash import Dash, Input, Output, Patch, State, ctx as dash_ctx, dcc, html, no_update

from dashboard import ids
from dashboard.inputs import choice, choices, mapping, number
from dashboard.analysis import COMMUNE_LAYERS, GI_LAYERS, GRID_LAYERS, LAYERS, Analyses
from dashboard.context import AppContext
from dashboard.exports.downloads import GridTooLarge, map_download
from dashboard.forecast_build import grid_cells
from dashboard.forecast_text import period_key, track_record
from dashboard.tiles import map_extras
from dashboard.figures.commune_map import (TRACE_COMMUNES, clicked_commune, commune_map,
                                           needs_redraw, values_patch)
from dashboard.figures.graph_config import graph_config
from dashboard.geometry import grid_url
from dashboard.figures.rings import gate_rings
from dashboard.figures.trend_chart import commune_chart, trend_figure
from dashboard.i18n import (
    choice_label, format_date, format_number, known_language, reason_text, translate,
)
from dashboard.map_meaning import about_text, gi_advice
from dashboard.pages import near_repeats
from dashboard.pages.grid_cell import cell_panel
from dashboard.period_filter import (chosen_period, data_period, matching_preset, period_picker,
                                     period_text, preset_store, register_period)
from dashboard.presentation import presentation_view
from dashboard.row_select import register_row_select
from dashboard.url_state import Field, read_query, register_url_sync
from geo.units import NEW, OLD
from layers import catalogue
from layers.compare import NO_COMPARISON
from layers.counts import INCIDENT_TYPES
from layers.density import GRID
from layers.key_areas import key_area_scores
from layers.layer import Layer
from layers.periods import PRESETS, four_quarters, preset_period
from layers.profile import commune_profile

__all__ = ["PATH", "URL_FIELDS", "layout", "presentation", "register_callbacks"]

PATH = "/commander"
TRACE_RINGS = 3
_TOP = 15
#: The layer switch: the commander's choices in the catalogue (:mod:`layers.catalogue`).
_MENU = tuple(k for k in LAYERS if catalogue.entry(k).in_menu)
#: The choice offered under a Gi* map with no hot spot after FDR: its uncorrected classes.
_UNCORRECTED = "uncorrected"
#: The clock that asks again while the forecast is being prepared, and how often (ms).
FORECAST_WAIT, _FORECAST_RETRY_MS = "cmd-forecast-wait", 3000
#: The forecast's periods (quarter, month) and what it is made on (communes, the 2 km grid).
_FORECAST_FREQS, _FORECAST_ON = ("Q", "M"), ("communes", "grid")

#: The view in the URL: ``?layer=gi&types=…&from=2025-07-01&to=2025-09-30&units=2025&rings=rings&bw=5``.
URL_FIELDS = (
    Field("layer", ids.CMD_LAYER, choices=_MENU),
    Field("types", ids.CMD_TYPES, kind="list", choices=INCIDENT_TYPES),
    Field("from", ids.CMD_PERIOD, "start_date", kind="date"),
    Field("to", ids.CMD_PERIOD, "end_date", kind="date"),
    Field("units", ids.CMD_UNITS, choices=(NEW, OLD)),
    Field("rings", ids.CMD_RINGS, kind="list", choices=("rings",)),
    Field("bw", ids.CMD_BANDWIDTH, kind="number", low=2, high=15),
    Field("classes", ids.CMD_GI_UNCORRECTED, kind="list", choices=(_UNCORRECTED,)),
    Field("freq", ids.CMD_FORECAST_FREQ, choices=_FORECAST_FREQS),
    Field("on", ids.CMD_FORECAST_ON, choices=_FORECAST_ON),
)


def _defaults(ctx: AppContext) -> dict:
    """The view of a bare ``/commander``: smoothed rates of the latest quarter."""
    first, last = data_period(ctx)
    start, end = preset_period("quarter", last, first)
    return {"layer": "rates", "types": list(INCIDENT_TYPES), "from": start.isoformat(),
            "to": end.isoformat(), "units": ctx.settings.unit_set, "rings": [], "bw": 5,
            "classes": [], "freq": "Q", "on": "communes"}


def _menu(lang: str, freq: str) -> list[dict]:
    """The layer switch's choices, the forecast's named for the period chosen ("Dự báo quý
    tới", "Dự báo tháng tới": :func:`dashboard.forecast_text.period_key`)."""
    return [{"label": translate(period_key(catalogue.entry(k).menu_key, freq), lang),
             "value": k} for k in _MENU]


def _view(ctx: AppContext, search: str | None) -> dict:
    return {**_defaults(ctx), **read_query(search, URL_FIELDS)}


def _title(layer: Layer, start: dt.date, end: dt.date, lang: str) -> str:
    params = {"period": period_text(start, end, lang)}
    if layer.kind == "density":
        params["bandwidth"] = format_number(layer.params.get("bandwidth_km", 0), lang, 1)
    if layer.kind == "forecast":
        p = layer.params
        params["next"] = (period_text(p["period_start"], p["period_end"], lang)
                          if p.get("period_start")
                          else translate(period_key("forecast.next_unknown", p.get("freq")), lang))
    if layer.kind == "change":
        params["other"] = period_text(layer.params["other_start"], layer.params["other_end"],
                                       lang)
    return translate(layer.title_key, lang, **params)


def _geojson_for(ctx: AppContext, name: str, unit_set: str) -> str:
    from dashboard.pages.overview import geojson_url

    if unit_set == GRID:  # the forecast on the 2 km grid: the density grid's cells
        return grid_url("density")
    return grid_url(name) if name in GRID_LAYERS else geojson_url(unit_set)


def _figure(ctx: AppContext, an: Analyses, layer: Layer, name: str, unit_set: str, lang: str,
            title: str, rings: bool) -> go.Figure:
    fig = commune_map(layer, _geojson_for(ctx, name, unit_set), ctx.gates, ctx.border,
                      lang=lang, title=title, bounds=ctx.bounds, **map_extras(ctx))
    if name not in COMMUNE_LAYERS or unit_set == GRID:
        fig.data[TRACE_COMMUNES].marker.line.width = 0
    ring_trace = gate_rings(ctx.gates, lang)
    ring_trace.visible = bool(rings)
    fig.add_trace(ring_trace)
    return fig


def _change_text(layer: Layer, lang: str) -> str:
    """What the change map shows: the comparison used (the season included or not), the
    False Discovery Rate correction and its threshold, or why there is no comparison."""
    p = layer.params
    first, compared = p.get("records_start"), p.get("comparable")
    return translate(p["explain_key"], lang,
                     other=period_text(p["other_start"], p["other_end"], lang),
                     alpha=format_number(100 * p["alpha"], lang),
                     tests=format_number(p["n_tests"], lang) if compared else "0",
                     threshold=format_number(p["fdr_threshold"], lang, 4) if compared else "–",
                     first=format_date(first, lang) if first else "–")


def _note(layer: Layer, lang: str, requested: str | None = None) -> str:
    parts = []
    if layer.kind == "change" and "explain_key" in layer.params:
        parts.append(_change_text(layer, lang))
    if layer.params.get("statistic") == "gi_star" and layer.params.get("source") == "count" \
            and requested == "gi_rate":
        parts.append(translate("cmd.gi_rate_old_units", lang))
    n = layer.params.get("n_unlocated")
    if n:
        parts.append(translate("cmd.unlocated", lang, n=format_number(n, lang)))
    if layer.params.get("few_features"):
        parts.append(translate("cmd.few_features", lang))
    return " ".join(parts)


def _ranked_table(evidence, lang: str) -> html.Table:
    scores = key_area_scores(evidence, top=_TOP)
    head = html.Tr([html.Th(translate(k, lang)) for k in
                    ("cmd.rank", "map.commune", "cmd.score", "cmd.reasons")])
    rows = [
        html.Tr(
            [html.Td(int(r["rank"])), html.Td(r["name"]), html.Td(int(r["score"])),
             html.Td("; ".join(reason_text(k, p, lang) for k, p in r["reasons"]))],
            id={"type": ids.CMD_ROW, "code": code}, n_clicks=0, className="ranked-row",
        )
        for code, r in scores.iterrows()
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ranked")


def _tables(an: Analyses, unit_set: str, types, start: dt.date, end: dt.date,
            lang: str) -> tuple[html.Table, list]:
    """The ranked key communes and the distance/catchment shares of one filter state.

    The shares (:meth:`~dashboard.analysis.Analyses.summary`: every selected record
    measured to the border and the gates, mostly in shapely and pyproj, which let other
    threads run) are computed on a thread of their own while the statistics of the
    ranking are (:meth:`~dashboard.analysis.Analyses.evidence`): neither reads the other,
    and for a new national state they are about half of the work each. Issue 18: 1.60 →
    1.30 s for a new national state on two free cores. The statistics themselves stay on
    one thread: on two threads they took a third more CPU and no less time (they hold
    the GIL in their Python loops).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shares") as pool:
        shares = pool.submit(an.summary, unit_set=unit_set, types=types, start=start, end=end)
        table = _ranked_table(an.evidence(unit_set=unit_set, types=types, start=start,
                                          end=end), lang)
        return table, _summary(shares.result(), lang)


def _share_table(frame, first_header: str, label_col: str | None, lang: str) -> html.Table:
    t = lambda key: translate(key, lang)  # noqa: E731
    rows = [html.Tr([html.Td(row[label_col] if label_col else idx),
                     html.Td(format_number(row["count"], lang)),
                     html.Td(format_number(100 * row["share"], lang, 1) + " %")])
            for idx, row in frame.iterrows()]
    head = html.Tr([html.Th(first_header), html.Th(t("cmd.summary.count")),
                    html.Th(t("cmd.summary.share"))])
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ranked compact")


def _summary(summary: dict, lang: str) -> list:
    """Shares by distance band and gate catchment, and the campaign window, in words."""
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    parts = [
        html.Div([html.H4(t("cmd.summary.bands")),
                  _share_table(summary["bands"], t("cmd.summary.band"), None, lang)]),
        html.Div([html.H4(t("cmd.summary.catchments")),
                  _share_table(summary["catchments"].sort_values("count", ascending=False),
                               t("cmd.summary.gate"), "name", lang)]),
    ]
    text = [t("cmd.summary.basis", points=format_number(summary["n_by_point"], lang),
              communes=format_number(summary["n_by_commune"], lang))]
    camp = summary["campaign"]
    if camp and camp["campaign_days"] and camp["rest_days"] and camp["rest"]:
        p_value = camp["p_value"]
        p_text = (f"< {format_number(0.001, lang, 3)}" if p_value < 0.001
                  else f"= {format_number(p_value, lang, 3)}")
        significance = t("cmd.summary.significant" if p_value < 0.05
                         else "cmd.summary.not_significant", p=p_text)  # the 5 % level
        text.append(t("cmd.summary.campaign", year=camp["year"],
                      a=format_number(camp["campaign_rate"], lang, 1),
                      b=format_number(camp["rest_rate"], lang, 1),
                      ratio=format_number(camp["ratio"], lang, 1), significance=significance))
    return [html.Div(parts, className="summary-tables"), html.P(" ".join(text))]


def _meaning(view: dict, lang: str) -> list:
    """Below the map: what it shows, and the choices offered under an all-grey Gi* map (its
    uncorrected 90 % classes, four quarters), hidden until a Gi* map needs them."""
    return [
        html.Div([html.Label(translate("cmd.forecast.freq", lang), htmlFor=ids.CMD_FORECAST_FREQ),
                  dcc.RadioItems(id=ids.CMD_FORECAST_FREQ, value=view["freq"],
                                 className="radio inline",
                                 options=[{"label": translate(f"cmd.forecast.freq.{k}", lang),
                                           "value": k} for k in _FORECAST_FREQS]),
                  html.Label(translate("cmd.forecast.on", lang), htmlFor=ids.CMD_FORECAST_ON),
                  dcc.RadioItems(id=ids.CMD_FORECAST_ON, value=view["on"],
                                 className="radio inline",
                                 options=[{"label": translate(f"cmd.forecast.on.{k}", lang),
                                           "value": k} for k in _FORECAST_ON])],
                 id=ids.CMD_FORECAST_OPTIONS, className="forecast-options",
                 style={} if view["layer"] == "forecast" else {"display": "none"}),
        html.Div(id=ids.CMD_ABOUT, className="hint"),
        html.Div([html.P(id=ids.CMD_GI_ADVICE),
                  dcc.Checklist(id=ids.CMD_GI_UNCORRECTED, value=view["classes"],
                                className="checklist",
                                options=[{"label": translate("cmd.gi.uncorrected", lang),
                                          "value": _UNCORRECTED}]),
                  html.Button(id=ids.CMD_GI_LONGER, className="secondary",
                              style={"display": "none"})],
                 id=ids.CMD_GI_OPTIONS, className="note", style={"display": "none"}),
    ]


def _meaning_outputs(layer: Layer, corrected: Layer, name: str, start: dt.date, end: dt.date,
                     uncorrected: bool, lang: str) -> tuple:
    """The about text of ``layer`` (the map shown), the options' visibility, the advice,
    and the longer-period button (its label and visibility).

    The options show under a Gi* map whose ``corrected`` (FDR) classes have no hot spot,
    and stay while the uncorrected classes are shown (so they can be switched off).
    """
    hidden, shown = {"display": "none"}, {}
    about = about_text(layer, lang)
    if layer.kind == "forecast":  # its track record, always beside it
        about = [html.P(html.Strong(track_record(layer.params, lang))),
                 html.P(about)]
    if name not in GI_LAYERS:
        return about, hidden, "", "", hidden
    advice = gi_advice(corrected, start, end, lang)
    if advice is None and not uncorrected:
        return about, hidden, "", "", hidden
    text = advice.text if advice else ""
    longer = advice.longer if advice else None
    label = translate("cmd.gi.longer", lang, start=format_date(longer[0], lang),
                      end=format_date(longer[1], lang)) if longer else ""
    return about, shown, text, label, shown if longer else hidden


def layout(ctx: AppContext, lang: str, search: str | None = None) -> list:
    """The commander's page showing the view in ``search`` (the URL's query), by default the
    smoothed rates of the latest quarter."""
    view = _view(ctx, search)
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    side = html.Aside(
        [
            html.Label(t("cmd.layer"), htmlFor=ids.CMD_LAYER),
            dcc.RadioItems(id=ids.CMD_LAYER, value=view["layer"], className="radio",
                           options=_menu(lang, view["freq"])),
            html.Label(t("filter.types"), htmlFor=ids.CMD_TYPES),
            dcc.Checklist(id=ids.CMD_TYPES, value=view["types"], className="checklist",
                          options=[{"label": t(f"type.{k}"), "value": k}
                                   for k in INCIDENT_TYPES]),
            html.Label(t("cmd.preset"), htmlFor=ids.CMD_PRESET),
            dcc.RadioItems(id=ids.CMD_PRESET,
                           value=matching_preset(ctx, view["from"], view["to"]), className="radio",
                           options=[{"label": t(f"preset.{k}"), "value": k} for k in PRESETS]),
            period_picker(ctx, ids.CMD_PERIOD, view["from"], view["to"], lang),
            preset_store(ctx, ids.CMD_PERIOD),
            html.Label(t("filter.units"), htmlFor=ids.CMD_UNITS),
            dcc.RadioItems(id=ids.CMD_UNITS, value=view["units"], className="radio",
                           options=[{"label": t(f"units.{s}"), "value": s} for s in (NEW, OLD)]),
            dcc.Checklist(id=ids.CMD_RINGS, value=view["rings"], className="checklist",
                          options=[{"label": t("cmd.rings"), "value": "rings"}]),
            html.Label(t("cmd.bandwidth"), htmlFor=ids.CMD_BANDWIDTH),
            dcc.Slider(id=ids.CMD_BANDWIDTH, min=2, max=15, step=1, value=view["bw"],
                       marks={k: str(k) for k in (2, 5, 10, 15)}),
        ],
        className="filters",
    )
    main = html.Section(
        [
            dcc.Loading(dcc.Graph(id=ids.CMD_MAP, config=graph_config(lang, scrollZoom=True),
                                  className="map", figure=go.Figure()), delay_show=400),
            html.Div([html.Div(id=ids.CMD_NOTE, className="note-line"),
                      html.Div([html.Button(t("present.button"), id=ids.CMD_PRESENT,
                                            className="primary"),
                                html.Button(t("export.png"), id=ids.CMD_EXPORT_PNG,
                                            className="secondary"),
                                html.Button(t("export.pdf"), id=ids.CMD_EXPORT_PDF,
                                            className="secondary"),
                                html.Button(t("export.html"), id=ids.CMD_EXPORT_HTML,
                                            className="secondary"),
                                html.Button(t("export.xlsx"), id=ids.CMD_EXPORT_XLSX,
                                            className="secondary")], className="actions")],
                     className="section-head"),
            *_meaning(view, lang),
            dcc.Download(id=ids.CMD_DOWNLOAD),
            _trend_section(lang),
            html.H3(t("cmd.ranked")),
            dcc.Loading(html.Div(id=ids.CMD_TABLE), delay_show=400),
            html.Div(id=ids.CMD_SUMMARY, className="summary"),
            near_repeats.section(lang),
        ],
        className="main-panel",
    )
    panel = html.Aside([html.P(t("cmd.panel.hint"))], id=ids.CMD_PANEL, className="side-panel")
    return [side, main, panel, dcc.Store(id=ids.CMD_SELECTED),
            dcc.Interval(id=FORECAST_WAIT, interval=_FORECAST_RETRY_MS, disabled=True),
            dcc.Location(id=ids.CMD_URL, refresh="callback-nav"),
            dcc.Store(id=ids.PAGE_LANG, data=lang)]


def _layer(an: Analyses, name: str, *, freq: str = "Q", on: str = "communes",
           **filters) -> Layer:
    """The layer ``name``; the forecast only once built (it builds in the background:
    meanwhile a layer with no value that says so, and the page asks again), of quarters or
    months (``freq``), on the communes or the 2 km grid (``on``)."""
    if name == "forecast":
        unit_set = GRID if on == "grid" else filters["unit_set"]
        ready = an.forecast_ready(unit_set=unit_set, types=filters["types"],
                                  end=filters["end"], freq=freq)
        return ready if ready is not None else an.forecast_waiting(unit_set, freq=freq)
    return an.layer(name, **filters)


def _forecast_choice(name: str, freq, on) -> tuple[str, str, str]:
    """The forecast's period and units as chosen (the defaults for anything else), and the
    unit set its map is drawn on."""
    freq = choice(freq, _FORECAST_FREQS, "Q")
    on = choice(on, _FORECAST_ON, "communes")
    return freq, on, on if name == "forecast" else "communes"


def _clicked_trace(click) -> int | None:
    """The trace of the map a click landed on (its first point's), or None."""
    points = mapping(click).get("points")
    point = points[0] if isinstance(points, list) and points else None
    curve = point.get("curveNumber") if isinstance(point, dict) else None
    return curve if isinstance(curve, int) and not isinstance(curve, bool) else None


def _preparing(layer: Layer) -> bool:
    return layer.params.get("problem") == "forecast.preparing"


def _filters(ctx: AppContext, types, start_date, end_date, unit_set):
    unit_set = choice(unit_set, (NEW, OLD), NEW)
    types = choices(types, INCIDENT_TYPES)
    start, end = chosen_period(ctx, start_date, end_date)
    return unit_set, types, start, end


def presentation(ctx: AppContext, an: Analyses, lang: str, search: str | None):
    """The view in ``search`` full screen: its map for the room, the ranked communes below."""
    view = _view(ctx, search)
    unit_set, types, start, end = _filters(ctx, view["types"], view["from"], view["to"],
                                           view["units"])
    name = view["layer"]
    freq, on, drawn = _forecast_choice(name, view["freq"], view["on"])
    layer = _layer(an, name, unit_set=unit_set, types=types, start=start, end=end,
                   bandwidth_km=float(view["bw"]), fdr=_UNCORRECTED not in view["classes"],
                   freq=freq, on=on)
    title = _title(layer, start, end, lang)
    live = _figure(ctx, an, layer, name, GRID if drawn == "grid" else unit_set, lang, title,
                   bool(view["rings"]))
    table = _ranked_table(an.evidence(unit_set=unit_set, types=types, start=start, end=end),
                          lang)
    below = [html.H2(translate("cmd.ranked", lang)), table]
    if layer.kind == "forecast":  # its track record, always beside it
        below.insert(0, html.P(html.Strong(track_record(layer.params, lang))))
    return presentation_view(ctx, live, title=title, unit_set=unit_set, lang=lang, path=PATH,
                             search=search, below=below)


def _panel(ctx: AppContext, an: Analyses, code: str, unit_set: str, types, start, end,
           lang: str) -> list:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    units = ctx.unit_table(unit_set)
    if code not in units.index:
        return [html.P(t("cmd.panel.hint"))]
    rec = ctx.records.current()
    prof = commune_profile(code, units.at[code, "name"], rec.incidents, rec.models, rec.outreach,
                           unit_set=unit_set, on=end)
    bars = commune_chart(prof.by_period, lang)
    ev = an.evidence(unit_set=unit_set, types=types, start=start, end=end).loc[code]
    lisa = an.lisa(unit_set=unit_set, types=types, start=start, end=end)["lisa_class"].get(
        code, "not_significant")
    models = [html.Li(f"{choice_label('models', 'model_type', m.model_type, lang)} "
                      f"({choice_label('models', 'class', m.model_class, lang)}), "
                      f"{format_date(m.start_date.date(), lang)}")
              for m in prof.models.itertuples()]
    reach = prof.outreach
    last = format_date(reach["last_date"], lang) if reach["last_date"] else "–"
    facts = [
        (t("cmd.panel.gi"), t(f"gi.{ev['gi_class']}") if isinstance(ev["gi_class"], str) else "–"),
        *([(t("cmd.panel.gi_rate"), t(f"gi.{ev['gi_rate_class']}")
            if isinstance(ev["gi_rate_class"], str) else "–")] if "gi_rate_class" in ev else []),
        (t("cmd.panel.lisa"), t(f"lisa.{lisa}")),
        (t("cmd.panel.emerging"), t(f"emerging.{ev['category']}")),
        (t("cmd.panel.change_yoy"), t(f"trend.{NO_COMPARISON}")
         if int(ev["trend"]) == NO_COMPARISON else
         f"{ev['count_before']} → {ev['count_now']} ({t('trend.' + str(int(ev['trend'])))})"),
        (t("cmd.panel.border"), f"{format_number(ev['border_km'], lang, 1)} km"),
        (t("cmd.panel.gate"), f"{format_number(ev['gate_km'], lang, 1)} km ({ev['gate_name']})"),
    ]
    return [
        html.H3(prof.name, id="cmd-panel-name"),
        html.Dl([item for k, v in facts for item in (html.Dt(k), html.Dd(v))]),
        html.H4(t("cmd.panel.by_period")),
        dcc.Graph(figure=bars, config=graph_config(lang, displayModeBar=False), id="cmd-panel-chart"),
        html.H4(t("cmd.panel.models")),
        html.Ul(models) if models else html.P(t("cmd.panel.no_models")),
        html.H4(t("cmd.panel.outreach")),
        html.P(t("cmd.panel.outreach_text", events=format_number(reach["events"], lang),
                 participants=format_number(reach["participants"], lang), last=last)),
    ]


def register_callbacks(app: Dash, ctx: AppContext, an: Analyses) -> None:
    """Filters → layer values; preset → dates; click → side panel; rings on/off."""

    def filters(types, start_date, end_date, unit_set):
        return _filters(ctx, types, start_date, end_date, unit_set)

    register_period(app, ctx, ids.CMD_PERIOD, ids.CMD_PRESET)
    register_url_sync(app, url_id=ids.CMD_URL, path=PATH, fields=URL_FIELDS,
                      defaults=lambda: _defaults(ctx), present_button=ids.CMD_PRESENT,
                      derived=[(ids.CMD_PRESET, "value",
                                lambda v: matching_preset(ctx, v["from"], v["to"]))],
                      default_lang=ctx.settings.language)

    @app.callback(
        Output(ids.CMD_MAP, "figure"),
        Output(ids.CMD_NOTE, "children"),
        Output(ids.CMD_ABOUT, "children"),
        Output(ids.CMD_GI_OPTIONS, "style"),
        Output(ids.CMD_GI_ADVICE, "children"),
        Output(ids.CMD_GI_LONGER, "children"),
        Output(ids.CMD_GI_LONGER, "style"),
        Output(FORECAST_WAIT, "disabled"),
        Output(ids.CMD_FORECAST_OPTIONS, "style"),
        Input(ids.CMD_LAYER, "value"),
        Input(ids.CMD_TYPES, "value"),
        Input(ids.CMD_PERIOD, "start_date"),
        Input(ids.CMD_PERIOD, "end_date"),
        Input(ids.CMD_UNITS, "value"),
        Input(ids.CMD_BANDWIDTH, "value"),
        Input(ids.CMD_GI_UNCORRECTED, "value"),
        Input(FORECAST_WAIT, "n_intervals"),
        Input(ids.CMD_FORECAST_FREQ, "value"),
        Input(ids.CMD_FORECAST_ON, "value"),
        State(ids.CMD_RINGS, "value"),
        State(ids.PAGE_LANG, "data"),
    )
    def update(name, types, start_date, end_date, unit_set, bandwidth, classes, _waited, freq,
               on, rings, lang):
        """Filters → the map's values (a Patch) or, for a new layer or unit set, a new map;
        what it shows, and the choices under a Gi* map with no hot spot after FDR; while the
        forecast is being prepared, the page asks again every few seconds."""
        lang = known_language(lang)
        name = name if name in LAYERS else "rates"
        unit_set, types, start, end = filters(types, start_date, end_date, unit_set)
        bandwidth = number(bandwidth, 1.0, 30.0, 5.0)
        uncorrected = _UNCORRECTED in choices(classes, (_UNCORRECTED,))
        freq, on, drawn = _forecast_choice(name, freq, on)
        layer = _layer(an, name, unit_set=unit_set, types=types, start=start, end=end,
                       bandwidth_km=bandwidth, fdr=not uncorrected, freq=freq, on=on)
        title = _title(layer, start, end, lang)
        # a new map for a new layer or unit set, and once when the forecast waited for is ready;
        # a new forecast choice too (both of them: Dash drops the answer to an earlier change
        # when a later one is asked meanwhile, so a values-only answer to a change of period
        # could land on the grid's map of a change of units dropped)
        if needs_redraw(ids.CMD_LAYER, ids.CMD_UNITS, ids.CMD_FORECAST_ON,
                        ids.CMD_FORECAST_FREQ) \
                or (needs_redraw(FORECAST_WAIT) and not _preparing(layer)):
            figure = _figure(ctx, an, layer, name, GRID if drawn == "grid" else unit_set, lang,
                             title, "rings" in choices(rings, ("rings",)))
        else:
            figure = values_patch(layer, lang, title)
        corrected = an.layer(name, unit_set=unit_set, types=types, start=start, end=end,
                             bandwidth_km=bandwidth) if uncorrected and name in GI_LAYERS \
            else layer
        return (figure, _note(layer, lang, name),
                *_meaning_outputs(layer, corrected, name, start, end, uncorrected, lang),
                not _preparing(layer), {} if name == "forecast" else {"display": "none"})

    @app.callback(
        Output(ids.CMD_LAYER, "options"),
        Input(ids.CMD_FORECAST_FREQ, "value"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def menu(freq, lang):
        """The period chosen → the forecast's name in the layer switch."""
        return _menu(known_language(lang), choice(freq, _FORECAST_FREQS, "Q"))

    @app.callback(
        Output(ids.CMD_PERIOD, "start_date", allow_duplicate=True),
        Output(ids.CMD_PERIOD, "end_date", allow_duplicate=True),
        Input(ids.CMD_GI_LONGER, "n_clicks"),
        State(ids.CMD_PERIOD, "start_date"),
        State(ids.CMD_PERIOD, "end_date"),
        prevent_initial_call=True,
    )
    def longer(clicks, start_date, end_date):
        """The longer period offered under an all-grey Gi* map: the four quarters up to the
        period's end."""
        if not clicks:
            return no_update, no_update
        _, end = chosen_period(ctx, start_date, end_date)
        start, end = four_quarters(end)
        return start.isoformat(), end.isoformat()

    _register_trend(app, ctx, an)
    near_repeats.register_callbacks(app, ctx, an)

    @app.callback(
        Output(ids.CMD_TABLE, "children"),
        Output(ids.CMD_SUMMARY, "children"),
        Input(ids.CMD_TYPES, "value"),
        Input(ids.CMD_PERIOD, "start_date"),
        Input(ids.CMD_PERIOD, "end_date"),
        Input(ids.CMD_UNITS, "value"),
        State(ids.PAGE_LANG, "data"),
    )
    def tables(types, start_date, end_date, unit_set, lang):
        """The ranked key communes and the distance/catchment shares: they do not depend on
        the layer shown, and they cost every statistic at once, so they come apart from the
        map (which answers first) and a layer switch never recomputes them."""
        lang = known_language(lang)
        unit_set, types, start, end = filters(types, start_date, end_date, unit_set)
        return _tables(an, unit_set, types, start, end, lang)

    buttons = {ids.CMD_EXPORT_HTML: "html", ids.CMD_EXPORT_PNG: "png",
               ids.CMD_EXPORT_PDF: "pdf", ids.CMD_EXPORT_XLSX: "xlsx"}

    @app.callback(
        Output(ids.CMD_DOWNLOAD, "data"),
        Output(ids.CMD_NOTE, "children", allow_duplicate=True),
        *(Input(button, "n_clicks") for button in buttons),
        State(ids.CMD_LAYER, "value"),
        State(ids.CMD_TYPES, "value"),
        State(ids.CMD_PERIOD, "start_date"),
        State(ids.CMD_PERIOD, "end_date"),
        State(ids.CMD_UNITS, "value"),
        State(ids.CMD_BANDWIDTH, "value"),
        State(ids.PAGE_LANG, "data"),
        State(ids.CMD_GI_UNCORRECTED, "value"),
        State(ids.CMD_RINGS, "value"),
        State(ids.CMD_FORECAST_FREQ, "value"),
        State(ids.CMD_FORECAST_ON, "value"),
        prevent_initial_call=True,
    )
    def export(*args):
        """The current map as an offline HTML map, a slide PNG, an A4 PDF or its XLSX table
        (a forecast's with its track record, :mod:`dashboard.forecast_text`)."""
        clicks = dict(zip(buttons, args[:len(buttons)]))
        name, types, start_date, end_date, unit_set, bandwidth, lang, classes, rings, freq, \
            on = args[len(buttons):]
        lang = known_language(lang)
        button = dash_ctx.triggered_id
        if button not in buttons or not clicks[button]:
            return no_update, no_update
        fmt = buttons[button]
        name = name if name in LAYERS else "rates"
        freq, on, drawn = _forecast_choice(name, freq, on)
        unit_set, types, start, end = filters(types, start_date, end_date, unit_set)
        layer = _layer(an, name, unit_set=unit_set, types=types, start=start, end=end,
                       bandwidth_km=number(bandwidth, 1.0, 30.0, 5.0),
                       fdr=_UNCORRECTED not in choices(classes, (_UNCORRECTED,)),
                       freq=freq, on=on)
        if _preparing(layer):
            return no_update, translate(layer.params["problem"], lang)
        geojson = (an.geojson[name] if name in ("density", "hexagons")
                   else an.geojson["density"] if drawn == "grid" else ctx.geojson[unit_set])
        try:
            data = map_download(fmt, ctx, layer, geojson,
                                title=_title(layer, start, end, lang), unit_set=unit_set,
                                lang=lang, stem=f"{name}_{start:%Y%m%d}_{end:%Y%m%d}",
                                rings="rings" in choices(rings, ("rings",)))  # as on screen
        except GridTooLarge as err:  # a country's grid: too heavy for one offline page
            return no_update, translate("export.grid_too_large", lang,
                                        cells=format_number(err.cells, lang),
                                        most=format_number(err.most, lang))
        return data, no_update

    @app.callback(Output(ids.CMD_MAP, "figure", allow_duplicate=True),
                  Input(ids.CMD_RINGS, "value"), prevent_initial_call=True)
    def toggle_rings(rings):
        figure = Patch()
        figure["data"][TRACE_RINGS]["visible"] = "rings" in choices(rings, ("rings",))
        return figure

    register_row_select(app, ids.CMD_ROW, ids.CMD_SELECTED)

    @app.callback(
        Output(ids.CMD_SELECTED, "data"),
        Input(ids.CMD_MAP, "clickData"),
        State(ids.CMD_LAYER, "value"),
        State(ids.CMD_UNITS, "value"),
        State(ids.CMD_FORECAST_ON, "value"),
        prevent_initial_call=True,
    )
    def select(click, name, unit_set, on):
        """A commune, a cell of the forecast on the grid (``{"cell": id}``), or a gate's
        marker (its commune) → the side panel; the rings take no click (a ranked row:
        :func:`~dashboard.row_select.register_row_select`, in the browser)."""
        unit_set = choice(unit_set, (NEW, OLD), NEW)
        code = clicked_commune(click, ctx.gates, unit_set)
        if code and name == "forecast" and choice(on, _FORECAST_ON, "communes") == "grid":
            # a cell's square is the first trace; a gate's marker opens its commune
            return {"cell": code} if _clicked_trace(click) == TRACE_COMMUNES else code
        if code and name in COMMUNE_LAYERS:
            return code
        return no_update

    @app.callback(
        Output(ids.CMD_PANEL, "children"),
        Input(ids.CMD_SELECTED, "data"),
        State(ids.CMD_TYPES, "value"),
        State(ids.CMD_PERIOD, "start_date"),
        State(ids.CMD_PERIOD, "end_date"),
        State(ids.CMD_UNITS, "value"),
        State(ids.CMD_FORECAST_FREQ, "value"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def panel(code, types, start_date, end_date, unit_set, freq, lang):
        lang = known_language(lang)
        unit_set, types, start, end = filters(types, start_date, end_date, unit_set)
        if isinstance(code, dict):  # a cell of the forecast on the grid
            freq, _, _ = _forecast_choice("forecast", freq, "grid")
            layer = _layer(an, "forecast", freq=freq, on="grid", unit_set=unit_set,
                           types=types, start=start, end=end)
            return cell_panel(layer, grid_cells(an), ctx.records.current().incidents,
                              str(code.get("cell", "")), cell_km=an.density_cell_km,
                              lang=lang)
        return _panel(ctx, an, str(code or ""), unit_set, types, start, end, lang)


# -- the trend chart (issue 17) --------------------------------------------------------------

#: The trend's chart and its step on this page (the overview's section, with ids of this page).
TREND, TREND_STEP, TREND_NOTE = "cmd-trend", "cmd-trend-step", "cmd-trend-note"


def _trend_section(lang: str):
    from dashboard.pages.overview import trend_section

    return trend_section("commander", lang, graph_id=TREND, step_id=TREND_STEP,
                         note_id=TREND_NOTE)


def _register_trend(app: Dash, ctx: AppContext, an: Analyses) -> None:
    """Types, period, step → the province's trend by type, the chosen period outlined."""

    @app.callback(
        Output(TREND, "figure"),
        Input(ids.CMD_TYPES, "value"),
        Input(ids.CMD_PERIOD, "start_date"),
        Input(ids.CMD_PERIOD, "end_date"),
        Input(TREND_STEP, "value"),
        State(ids.PAGE_LANG, "data"),
    )
    def update_trend(types, start_date, end_date, freq, lang):
        lang = known_language(lang)
        types = choices(types, INCIDENT_TYPES)
        start, end = chosen_period(ctx, start_date, end_date)
        return trend_figure(an, freq=choice(freq, ("Q", "M"), "Q"), types=types,
                            selected=(start, end), lang=lang)
