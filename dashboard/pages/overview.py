"""Overview page: communes coloured by incident count, with the border and the gates.

Filters (incident type, period, unit set) change only the values on the map
(a ``dash.Patch``); the polygons are fetched once from a cached URL. A change
of unit set swaps the polygons, which is the one case that redraws them.
"""

from __future__ import annotations

import datetime as dt

from dash import Dash, Input, Output, State, ctx as dash_ctx, dcc, html

from dashboard import ids
from dashboard.context import AppContext
from dashboard.figures.commune_map import commune_map, values_patch
from dashboard.i18n import format_date, format_number, translate
from dashboard.period_filter import chosen_period, data_period
from geo.units import NEW, OLD
from layers.counts import INCIDENT_TYPES, incident_counts
from layers.layer import Layer

__all__ = ["PATH", "geojson_url", "layout", "register_callbacks"]

PATH = "/"


def geojson_url(unit_set: str) -> str:
    """Where the browser fetches the commune polygons of a unit set (served once, cached)."""
    return f"/geo/communes_{unit_set}.geojson"


def _layer(ctx: AppContext, unit_set: str, types, start, end) -> Layer:
    return incident_counts(
        ctx.incidents,
        ctx.unit_table(unit_set),
        unit_set=unit_set,
        types=types,
        start=start,
        end=end,
        caveats=ctx.caveats,
    )


def _title(start: dt.date, end: dt.date, lang: str) -> str:
    period = translate(
        "period.range", lang, start=format_date(start, lang), end=format_date(end, lang)
    )
    return translate("layer.incident_counts.title", lang, period=period)


def _kpis(layer: Layer, lang: str) -> tuple[str, str, str]:
    counts = layer.frame[layer.value]
    top = counts.idxmax() if counts.max() > 0 else None
    top_text = (
        f"{layer.frame.at[top, 'name']} ({format_number(counts[top], lang)})" if top else "–"
    )
    return (
        format_number(counts.sum(), lang),
        format_number(int((counts > 0).sum()), lang),
        top_text,
    )


def _figure(ctx: AppContext, layer: Layer, lang: str, title: str):
    return commune_map(
        layer,
        geojson_url(layer.unit_set),
        ctx.gates,
        ctx.border,
        lang=lang,
        title=title,
        bounds=ctx.bounds,
    )


def _kpi_card(label: str, value: str, id_: str) -> html.Div:
    return html.Div([html.Div(label, className="kpi-label"), html.Div(value, id=id_,
                     className="kpi-value")], className="kpi")


def layout(ctx: AppContext, lang: str) -> list:
    """The page body for ``lang``, opened on every incident type over the whole period."""
    start, end = data_period(ctx)
    unit_set = ctx.settings.unit_set
    layer = _layer(ctx, unit_set, INCIDENT_TYPES, start, end)
    total, communes, top = _kpis(layer, lang)
    filters = html.Aside(
        [
            html.Label(translate("filter.types", lang), htmlFor=ids.TYPES),
            dcc.Checklist(
                id=ids.TYPES,
                options=[{"label": translate(f"type.{t}", lang), "value": t} for t in INCIDENT_TYPES],
                value=list(INCIDENT_TYPES),
                className="checklist",
            ),
            html.Label(translate("filter.period", lang), htmlFor=ids.PERIOD),
            dcc.DatePickerRange(
                id=ids.PERIOD,
                start_date=start,
                end_date=end,
                min_date_allowed=dt.date(2000, 1, 1),
                max_date_allowed=max(end, ctx.extracted),
                display_format="DD/MM/YYYY",
                first_day_of_week=1,
            ),
            html.Label(translate("filter.units", lang), htmlFor=ids.UNITS),
            dcc.RadioItems(
                id=ids.UNITS,
                options=[{"label": translate(f"units.{s}", lang), "value": s} for s in (NEW, OLD)],
                value=unit_set,
                className="radio",
            ),
        ],
        className="filters",
    )
    kpis = html.Div(
        [
            _kpi_card(translate("kpi.total", lang), total, ids.KPI_TOTAL),
            _kpi_card(translate("kpi.communes", lang), communes, ids.KPI_COMMUNES),
            _kpi_card(translate("kpi.top", lang), top, ids.KPI_TOP),
        ],
        className="kpis",
    )
    graph = dcc.Graph(
        id=ids.MAP,
        figure=_figure(ctx, layer, lang, _title(start, end, lang)),
        config={"displaylogo": False, "scrollZoom": True},
        className="map",
    )
    return [filters, html.Section([kpis, graph], className="main-panel"),
            dcc.Store(id="page-lang", data=lang)]


def register_callbacks(app: Dash, ctx: AppContext) -> None:
    """Filters → new values on the map and in the KPI cards."""

    @app.callback(
        Output(ids.MAP, "figure"),
        Output(ids.KPI_TOTAL, "children"),
        Output(ids.KPI_COMMUNES, "children"),
        Output(ids.KPI_TOP, "children"),
        Input(ids.TYPES, "value"),
        Input(ids.PERIOD, "start_date"),
        Input(ids.PERIOD, "end_date"),
        Input(ids.UNITS, "value"),
        State("page-lang", "data"),
        prevent_initial_call=True,
    )
    def update_map(types, start_date, end_date, unit_set, lang):
        unit_set = unit_set if unit_set in (NEW, OLD) else NEW
        lang = lang if lang in ("vi", "en") else "vi"
        types = [t for t in (types or []) if t in INCIDENT_TYPES]
        start, end = chosen_period(ctx, start_date, end_date)
        layer = _layer(ctx, unit_set, types, start, end)
        title = _title(start, end, lang)
        if dash_ctx.triggered_id == ids.UNITS:
            figure = _figure(ctx, layer, lang, title)
        else:
            figure = values_patch(layer, lang, title)
        return (figure, *_kpis(layer, lang))


