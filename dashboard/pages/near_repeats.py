"""The commander's near-repeat section (Lặp lại gần): the Knox table, the originators on a map.

A section of the commander's page (:mod:`dashboard.pages.commander` includes it),
under the same filters (incident types, period): the bands typed by the
commander (distances in km, days apart), checked with a message in words; the
observed / expected table with the chance of each excess being luck, in words;
the records whose near-repeat window is still open at the end of the period,
marked on a map of their own with the window's radius. Every number comes from
:meth:`dashboard.analysis.Analyses.near_repeat` (:mod:`layers.near_repeat`).

Points: commander only. Its components carry the ``cmd-`` prefix, so the server
refuses its callback to every other role (:func:`dashboard.auth.roles.may_update`);
the callback checks the session's role again before it reads a record.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html

from dashboard import ids
from dashboard.analysis import Analyses
from dashboard.auth.roles import SEES_POINTS
from dashboard.auth.web import current_session
from dashboard.context import AppContext
from dashboard.figures.commune_map import commune_map
from dashboard.figures.graph_config import graph_config
from dashboard.figures.rings import ring_coordinates
from dashboard.figures.text import plain_text
from dashboard.i18n import format_date, format_number, known_language, translate
from dashboard.inputs import choice, choices
from dashboard.period_filter import chosen_period, period_text
from dashboard.tiles import map_extras
from geo.units import NEW, OLD
from layers.counts import INCIDENT_TYPES
from layers.near_repeat import (DAY_EDGES, DISTANCE_EDGES_KM, MAX_DAYS, MAX_DISTANCE_KM,
                                NEAR_REPEAT_TYPES, BandError, Bands, NearRepeat,
                                NearRepeatError, parse_edges)

__all__ = ["NR_DAYS", "NR_DISTANCE", "NR_ERROR", "NR_MAP", "NR_ORIGINATORS", "NR_RUN",
           "NR_SUMMARY", "NR_TABLE", "band_error_text", "chance_text", "register_callbacks",
           "section"]

NR_DISTANCE = "cmd-nr-distance"
NR_DAYS = "cmd-nr-days"
NR_RUN = "cmd-nr-run"
NR_ERROR = "cmd-nr-error"
NR_SUMMARY = "cmd-nr-summary"
NR_TABLE = "cmd-nr-table"
NR_MAP = "cmd-nr-map"
NR_ORIGINATORS = "cmd-nr-originators"
#: Rows of the originators' list shown under the map (all are on the map).
_LIST_ROWS = 30
#: Magenta: apart from the gates' reds and the counts' viridis.
_MARKER_COLOUR = "#e7298a"


def _edges_text(values, lang: str) -> str:
    return "; ".join(format_number(v, lang, 0 if float(v) == int(v) else 1) for v in values)


def section(lang: str) -> html.Div:
    """The section's heading, its band inputs (the defaults filled in) and empty outputs."""
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    controls = html.Div([
        html.Label(t("nr.distance"), htmlFor=NR_DISTANCE),
        dcc.Input(id=NR_DISTANCE, type="text", value=_edges_text(DISTANCE_EDGES_KM, lang),
                  debounce=True, className="nr-edges"),
        html.Label(t("nr.days"), htmlFor=NR_DAYS),
        dcc.Input(id=NR_DAYS, type="text", value=_edges_text(DAY_EDGES, lang), debounce=True,
                  className="nr-edges"),
        html.Button(t("nr.run"), id=NR_RUN, className="secondary"),
    ], className="nr-controls")
    return html.Div([
        html.H3(t("nr.heading")),
        html.P(t("nr.intro"), className="hint"),
        controls,
        html.P(t("nr.edges_hint", km=format_number(MAX_DISTANCE_KM, lang),
                 days=format_number(MAX_DAYS, lang)), className="hint"),
        html.Div(id=NR_ERROR, role="alert", className="note-line"),
        dcc.Loading([html.P(id=NR_SUMMARY), html.Div(id=NR_TABLE)], delay_show=400),
        dcc.Graph(id=NR_MAP, config=graph_config(lang, scrollZoom=True), className="map",
                  figure=go.Figure(), style={"display": "none"}),
        html.Div(id=NR_ORIGINATORS),
        html.P(t("nr.bias"), className="hint"),
    ], className="near-repeat", id="cmd-nr")


# -- words for the numbers -----------------------------------------------------------------

def chance_text(p: float, permutations: int, lang: str) -> str:
    """The p-value of an excess as a commander reads it: the chance that luck alone gives as
    many pairs ("không quá 1 phần nghìn", "5 phần nghìn", "22 %").

    The smallest p-value ``permutations`` can give (1 / (permutations + 1)) is said as an
    upper bound: no permutation gave as many pairs.

    >>> chance_text(0.001, 999, "vi"), chance_text(0.005, 999, "vi"), chance_text(0.4425, 999, "vi")
    ('không quá 1 phần nghìn', '5 phần nghìn', '44 %')
    >>> chance_text(0.001, 999, "en"), chance_text(0.0125, 999, "en")
    ('at most 1 in 1,000', '1 %')
    """
    floor = 1.0 / (permutations + 1)
    if p <= floor * (1 + 1e-9):
        return translate("nr.chance.at_most", lang, value=_chance_value(floor, lang))
    return _chance_value(p, lang)


def _chance_value(p: float, lang: str) -> str:
    if p < 0.01:
        per_mille = p * 1000
        digits = 0 if abs(per_mille - round(per_mille)) < 1e-9 else 1
        return translate("nr.chance.per_mille", lang, n=format_number(per_mille, lang, digits))
    return f"{format_number(100 * p, lang)} %"


def band_error_text(err: BandError, lang: str) -> str:
    """A band refused, in words: which axis, why, and the limit."""
    axis = err.params.get("axis", "distance")
    params = dict(err.params)
    params["axis"] = translate(f"nr.axis.{axis}", lang)
    if "most" in params:
        unit = "nr.unit.days" if axis == "days" else "nr.unit.km"
        params["most"] = translate(unit, lang, n=format_number(params["most"], lang))
    return translate(err.key, lang, **params)


def _verdict(row, lang: str) -> str:
    if row["significant"]:
        return translate("nr.verdict.excess", lang)
    if row["observed"] > row["expected"]:
        return translate("nr.verdict.unsure", lang)
    return translate("nr.verdict.none", lang)


def _km_text(lo: float, hi: float, lang: str) -> str:
    def one(v):
        return format_number(v, lang, 0 if float(v) == int(v) else 1)
    return translate("nr.unit.km", lang, n=f"{one(lo)}–{one(hi)}")


def _table(result: NearRepeat, lang: str) -> html.Table:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    head = html.Tr([html.Th(t(f"nr.col.{k}")) for k in
                    ("distance", "days", "observed", "expected", "ratio", "chance", "verdict")])
    rows = []
    for _, row in result.table.iterrows():
        ratio = row["ratio"]
        rows.append(html.Tr([
            html.Td(_km_text(row["d_lo"], row["d_hi"], lang)),
            html.Td(f"{int(row['t_lo'])}–{int(row['t_hi'])}"),
            html.Td(format_number(row["observed"], lang)),
            html.Td(format_number(row["expected"], lang, 1)),
            html.Td(format_number(ratio, lang, 2) if np.isfinite(ratio) else "–"),
            html.Td(chance_text(row["p_value"], result.permutations, lang)),
            html.Td(_verdict(row, lang)),
        ], className="nr-excess" if row["significant"] else None))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ranked compact nr-table")


def _summary(result: NearRepeat, found: pd.DataFrame, types, end: dt.date, lang: str) -> str:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    kinds = "; ".join(t(f"type.{k}").lower() if lang == "vi" else t(f"type.{k}")
                      for k in NEAR_REPEAT_TYPES if k in types)
    parts = [t("nr.summary", n=format_number(result.n_records, lang), types=kinds,
               first=format_date(result.first, lang), last=format_date(result.last, lang),
               pairs=format_number(result.n_pairs, lang),
               permutations=format_number(result.permutations, lang))]
    if result.window_km is None:
        parts.append(t("nr.no_window", cells=format_number(len(result.table), lang)))
    else:
        km = format_number(result.window_km, lang, 0 if result.window_km == int(result.window_km)
                           else 1)
        parts.append(t("nr.window", km=km, days=format_number(result.window_days, lang)))
        parts.append(t("nr.originators", n=format_number(len(found), lang),
                       days=format_number(result.window_days, lang), end=format_date(end, lang))
                     if len(found) else
                     t("nr.no_originators", days=format_number(result.window_days, lang),
                       end=format_date(end, lang)))
    return " ".join(parts)


def _marker_text(row, lang: str) -> str:
    return translate("nr.marker", lang, type=translate(f"type.{row['type']}", lang),
                     record=plain_text(row["record_id"]), date=format_date(row["date"], lang),
                     days=format_number((row["until"] - row["date"]).days, lang),
                     until=format_date(row["until"], lang),
                     km=format_number(row["radius_km"], lang, 0 if row["radius_km"] ==
                                      int(row["radius_km"]) else 1),
                     followers=format_number(row["followers"], lang))


def _map(ctx: AppContext, an: Analyses, found: pd.DataFrame, unit_set: str, types,
         start: dt.date, end: dt.date, lang: str) -> go.Figure:
    """The located types' counts by commune, the originators and their windows' circles."""
    from dashboard.pages.overview import geojson_url

    layer = an.layer("counts", unit_set=unit_set, types=types, start=start, end=end)
    title = translate("nr.map.title", lang, end=format_date(end, lang))
    fig = commune_map(layer, geojson_url(unit_set), ctx.gates, ctx.border, lang=lang,
                      title=title, bounds=ctx.bounds, **map_extras(ctx))
    lons: list = []
    lats: list = []
    for row in found.itertuples():
        xs, ys = ring_coordinates(row.lon, row.lat, float(row.radius_km), points=48)
        lons.extend(np.round(xs, 5).tolist() + [None])
        lats.extend(np.round(ys, 5).tolist() + [None])
    fig.add_trace(go.Scattermap(lon=lons, lat=lats, mode="lines", hoverinfo="skip",
                                line={"width": 1.5, "color": _MARKER_COLOUR},
                                name=translate("nr.map.windows", lang),
                                meta={"role": "nr-windows"}))
    fig.add_trace(go.Scattermap(
        lon=found["lon"].round(5).tolist(), lat=found["lat"].round(5).tolist(),
        mode="markers", marker={"size": 11, "color": _MARKER_COLOUR},
        hovertext=[_marker_text(row, lang) for _, row in found.iterrows()], hoverinfo="text",
        customdata=found["record_id"].tolist(), name=translate("nr.map.originators", lang),
        meta={"role": "nr-originators"}))
    return fig


def _originator_list(found: pd.DataFrame, lang: str) -> list:
    if found.empty:
        return []
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    head = html.Tr([html.Th(t(f"nr.list.{k}")) for k in
                    ("record", "type", "date", "until", "followers")])
    rows = [html.Tr([html.Td(plain_text(r["record_id"])), html.Td(t(f"type.{r['type']}")),
                     html.Td(format_date(r["date"], lang)), html.Td(format_date(r["until"], lang)),
                     html.Td(format_number(r["followers"], lang))])
            for _, r in found.head(_LIST_ROWS).iterrows()]
    more = ([html.P(t("nr.list.more", n=format_number(len(found) - _LIST_ROWS, lang)),
                    className="hint")] if len(found) > _LIST_ROWS else [])
    return [html.H4(t("nr.list.heading")),
            html.Table([html.Thead(head), html.Tbody(rows)], className="ranked compact"),
            *more]


def _nothing(message: str = "") -> tuple:
    return message, "", [], go.Figure(), {"display": "none"}, []


def register_callbacks(app: Dash, ctx: AppContext, an: Analyses) -> None:
    """Bands, types, period → the Knox table, the window in words, the originators.

    The test (0,2–1,4 s on the demo) runs from the first click of its button on, then again
    whenever the bands, types or period change: a commander who never opens it pays nothing
    per filter change."""

    @app.callback(
        Output(NR_ERROR, "children"),
        Output(NR_SUMMARY, "children"),
        Output(NR_TABLE, "children"),
        Output(NR_MAP, "figure"),
        Output(NR_MAP, "style"),
        Output(NR_ORIGINATORS, "children"),
        Input(NR_RUN, "n_clicks"),
        Input(NR_DISTANCE, "value"),
        Input(NR_DAYS, "value"),
        Input(ids.CMD_TYPES, "value"),
        Input(ids.CMD_PERIOD, "start_date"),
        Input(ids.CMD_PERIOD, "end_date"),
        State(ids.CMD_UNITS, "value"),
        State(ids.PAGE_LANG, "data"),
    )
    def update(_clicks, distance, days, types, start_date, end_date, unit_set, lang):
        """The test of the chosen bands over the page's types and period; a band refused or
        records that cannot be tested: a message in words and nothing else."""
        lang = known_language(lang)
        if not _clicks:  # nothing is computed before the commander asks for the test once
            return ("", translate("nr.not_run", lang), *_nothing()[2:])
        session = current_session()
        if session is None or session.role not in SEES_POINTS:  # the server refused already
            return _nothing(translate("auth.forbidden", lang))
        try:
            bands = Bands(parse_edges(distance, axis="distance"), parse_edges(days, axis="days"))
        except BandError as err:
            return _nothing(band_error_text(err, lang))
        chosen = tuple(k for k in choices(types, INCIDENT_TYPES) if k in NEAR_REPEAT_TYPES)
        if not chosen:
            return _nothing(translate("nr.no_types", lang))
        start, end = chosen_period(ctx, start_date, end_date)
        try:
            result, found = an.near_repeat(types=chosen, start=start, end=end, bands=bands)
        except NearRepeatError as err:
            return _nothing(translate(err.key, lang, period=period_text(start, end, lang),
                                      **{k: format_number(v, lang) for k, v in
                                         err.params.items()}))
        unit_set = choice(unit_set, (NEW, OLD), NEW)
        figure = _map(ctx, an, found, unit_set, chosen, start, end, lang) if len(found) \
            else go.Figure()
        shown = {} if len(found) else {"display": "none"}  # no originator: no map
        return ("", _summary(result, found, chosen, end, lang), _table(result, lang), figure,
                shown, _originator_list(found, lang))
