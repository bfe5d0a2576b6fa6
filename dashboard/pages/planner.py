"""Planner's page (Bao phủ): where risk is high and prevention thin, and where to go next.

Map switch (prevention models active at the period's end, outreach reach
per 1,000 residents, the risk × coverage gap map), period and agency
filters, the ranked priority list with its reasons and the agency that last
worked there (exportable to XLSX), the plan's targets with their status, and
a commune side panel (its models with their dates, its recent outreach, its
risk and coverage classes). Numbers come from :mod:`dashboard.analysis`, through
:func:`dashboard.released.analyses_for` for the signed-in role: a planner sees the
gap map, the priority reasons and the case-based targets over the period rounded
to the quarter grid, with small counts hidden; while that release is being
prepared, only coverage and reach (which hold no victim) are shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, ctx as dash_ctx, dcc, html, no_update

from dashboard import ids
from dashboard.auth.web import current_role
from dashboard.inputs import choices, texts
from dashboard.kpi_text import kpi_details, kpi_value
from dashboard.analysis import PLANNER_LAYERS, Analyses
from dashboard.context import AppContext
from dashboard.exports.downloads import map_download
from dashboard.row_select import register_row_select
from dashboard.tiles import map_extras
from dashboard.exports.xlsx import Column, table_xlsx
from dashboard.figures.commune_map import (clicked_commune, commune_map, needs_redraw,
                                           values_patch)
from dashboard.client_text import dropdown_labels
from dashboard.figures.graph_config import graph_config
from dashboard.i18n import (
    choice_label, format_date, format_number, known_language, reason_text, translate,
)
from dashboard.pages.overview import geojson_url
from dashboard.period_filter import (chosen_period, data_period, matching_preset, period_picker,
                                     period_text, preset_store, register_period)
from dashboard.presentation import presentation_view
from dashboard.released import (NotReady, analyses_for, period_note, unavailable_text,
                                waiting)
from dashboard.url_state import Field, read_query, register_url_sync
from geo.units import NEW, OLD, code_column
from layers.coverage import MODEL_TYPES, active_models
from layers.gaps import gap_classes, priority_list
from layers.periods import PRESETS, preset_period
from layers.targets import PlanError

__all__ = ["PATH", "URL_FIELDS", "layout", "presentation", "register_callbacks"]

PATH = "/planner"
_TOP = 20

#: The view in the URL: ``?layer=gaps&from=…&to=…&units=2025&agency=…&models=…``.
URL_FIELDS = (
    Field("layer", ids.PLAN_LAYER, choices=PLANNER_LAYERS),
    Field("from", ids.PLAN_PERIOD, "start_date", kind="date"),
    Field("to", ids.PLAN_PERIOD, "end_date", kind="date"),
    Field("units", ids.PLAN_UNITS, choices=(NEW, OLD)),
    Field("agency", ids.PLAN_AGENCIES, kind="list"),
    Field("models", ids.PLAN_TYPES, kind="list", choices=MODEL_TYPES),
)


def _defaults(ctx: AppContext) -> dict:
    """The view of a bare ``/planner``: the gap map of the latest six months."""
    first, last = data_period(ctx)
    start, end = preset_period("half", last, first)
    return {"layer": "gaps", "from": start.isoformat(), "to": end.isoformat(),
            "units": ctx.settings.unit_set, "agency": [], "models": list(MODEL_TYPES)}


def _view(ctx: AppContext, search: str | None) -> dict:
    return {**_defaults(ctx), **read_query(search, URL_FIELDS)}


def _label(field: str, code, lang: str) -> str:
    return choice_label("outreach" if field == "format" else "models", field, code, lang)


def _agencies(ctx: AppContext) -> list[str]:
    rec = ctx.records.current()
    names = pd.concat([rec.outreach["agency"], rec.models["agency"]]).dropna()
    return sorted(set(names.astype(str)))


def _priority(an, unit_set, start, end, agencies) -> pd.DataFrame:
    return priority_list(an.gap_evidence(unit_set=unit_set, start=start, end=end,
                                         agencies=agencies), top=_TOP)


def _priority_table(plist: pd.DataFrame, lang: str) -> html.Table:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    head = html.Tr([html.Th(t(k)) for k in ("cmd.rank", "map.commune", "plan.col.gap",
                                           "plan.col.last_agency", "cmd.reasons")])
    rows = [
        html.Tr([html.Td(int(r["rank"])), html.Td(r["name"]),
                 html.Td(t(f"gap.{r['risk']}.{r['coverage']}")),
                 html.Td(r["last_agency"] or "–"),
                 html.Td("; ".join(reason_text(k, p, lang) for k, p in r["reasons"]))],
                id={"type": ids.PLAN_ROW, "code": code}, n_clicks=0, className="ranked-row")
        for code, r in plist.iterrows()
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ranked")


def _percent(value, lang: str, label=None) -> str:
    """A percentage, or the label of a withheld one ("< 5", "x")."""
    if isinstance(label, str) and label:
        return label
    return "–" if value is None or value != value else f"{format_number(value, lang, 1)} %"


def _labels(frame: pd.DataFrame) -> pd.Series:
    """The ``value_label`` of released indicator rows (None everywhere for a commander)."""
    if "value_label" in frame:
        return frame["value_label"]
    return pd.Series(None, index=frame.index, dtype=object)


def _kpi_table(now: pd.DataFrame, trend: pd.DataFrame, lang: str) -> html.Table:
    """One row per plan indicator: value (with its counts and 95 % interval), target, status
    (with why there is no data), trend; under the name, what the plan divides by what, the
    cases counted and the key areas used (:func:`dashboard.kpi_text.kpi_details`)."""
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    head = html.Tr([html.Th(t(k)) for k in ("plan.kpi.indicator", "plan.kpi.value",
                                           "plan.kpi.target", "plan.kpi.status",
                                           "plan.kpi.trend")])
    rows = []
    now = now.assign(value_label=_labels(now))
    trend = trend.assign(value_label=_labels(trend))
    for r in now.itertuples():
        series = trend[(trend["plan"] == r.plan) & (trend["indicator"] == r.indicator)]
        spark = " → ".join(_percent(v, lang, label)
                           for v, label in zip(series["value"], series["value_label"]))
        sign = "≥" if r.direction == "at_least" else "≤"
        status = t(f"status.{r.status}")
        if r.status == "no_data" and isinstance(r.reason, str) and r.reason:
            status = f"{status}: {t(f'nodata.{r.reason}')}"
        label = r.label_vi if lang == "vi" else r.label_en
        said = kpi_details(r, lang)
        rows.append(html.Tr(
            [html.Td([label, *[html.Div(line, className="kpi-source kpi-definition")
                               for line in said.lines],
                      html.Div(r.source, className="kpi-source")]),
             html.Td([kpi_value(r, lang),
                      *[html.Div(x, className="kpi-source", title=t("plan.kpi.ci_note"))
                        for x in (said.counts, said.interval) if x]]),
             html.Td(f"{sign} {format_number(r.target, lang, 1)} %" if r.target == r.target
                     else "–"),
             html.Td(status, className=f"status-{r.status}"), html.Td(spark)],
            id={"type": "kpi-row", "indicator": f"{r.plan}:{r.indicator}"}))
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ranked kpis-table")


def _kpis(an, start, end, lang: str):
    """The KPI table of the period for the role ``an`` serves (the analyses, or a role's
    released view), made once per (records, role, period, language) and kept in the
    analyses' memory: every planner filter change shows it, and its rows cost tens of
    milliseconds to lay out (issue 18); a plan file in error is said, never kept."""
    try:
        return an.memo(("kpi_table", start, end, lang), lambda: _kpi_view(an, start, end, lang))
    except PlanError as err:
        return html.Div(str(err), className="error", role="alert")


def _kpi_view(an, start, end, lang: str):
    now, trend = an.kpis(start=start, end=end)
    table = _kpi_table(now, trend, lang)
    if any(_labels(f).notna().any() for f in (now, trend)):
        return html.Div([table, html.P(translate("suppress.kpi_note", lang,
                                                 threshold=an.threshold),
                                       className="note-line")])
    return table


def _title(layer, start, end, lang: str) -> str:
    return translate(layer.title_key, lang, period=period_text(start, end, lang))


def _figure(ctx: AppContext, layer, unit_set: str, lang: str, title: str) -> go.Figure:
    return commune_map(layer, geojson_url(unit_set), ctx.gates, ctx.border, lang=lang,
                       title=title, bounds=ctx.bounds, **map_extras(ctx))


def layout(ctx: AppContext, lang: str, search: str | None = None) -> list:
    """The planner's page showing the view in ``search`` (the URL's query), by default the gap
    map of the latest six months."""
    view = _view(ctx, search)
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    side = html.Aside(
        [
            html.Label(t("cmd.layer"), htmlFor=ids.PLAN_LAYER),
            dcc.RadioItems(id=ids.PLAN_LAYER, value=view["layer"], className="radio",
                           options=[{"label": t(f"plan.layer.{k}"), "value": k}
                                    for k in PLANNER_LAYERS]),
            html.Label(t("cmd.preset"), htmlFor=ids.PLAN_PRESET),
            dcc.RadioItems(id=ids.PLAN_PRESET,
                           value=matching_preset(ctx, view["from"], view["to"]), className="radio",
                           options=[{"label": t(f"preset.{k}"), "value": k} for k in PRESETS]),
            period_picker(ctx, ids.PLAN_PERIOD, view["from"], view["to"], lang),
            preset_store(ctx, ids.PLAN_PERIOD),
            html.Label(t("plan.agencies"), htmlFor=ids.PLAN_AGENCIES),
            dcc.Dropdown(id=ids.PLAN_AGENCIES, multi=True, value=view["agency"],
                         placeholder=t("plan.agencies.all"), labels=dropdown_labels(lang),
                         options=[{"label": a, "value": a} for a in _agencies(ctx)]),
            html.Label(t("plan.model_types"), htmlFor=ids.PLAN_TYPES),
            dcc.Checklist(id=ids.PLAN_TYPES, value=view["models"], className="checklist",
                          options=[{"label": _label("model_type", k, lang), "value": k}
                                   for k in MODEL_TYPES]),
            html.Label(t("filter.units"), htmlFor=ids.PLAN_UNITS),
            dcc.RadioItems(id=ids.PLAN_UNITS, value=view["units"], className="radio",
                           options=[{"label": t(f"units.{s}"), "value": s} for s in (NEW, OLD)]),
        ],
        className="filters",
    )
    main = html.Section(
        [
            dcc.Loading(dcc.Graph(id=ids.PLAN_MAP, className="map", figure=go.Figure(),
                                  config=graph_config(lang, scrollZoom=True)),
                        delay_show=400),
            html.Div(id=ids.PLAN_NOTE, className="note-line"),
            html.Div([html.Button(t("present.button"), id=ids.PLAN_PRESENT, className="primary"),
                      html.Button(t("export.png"), id=ids.PLAN_EXPORT_PNG, className="secondary"),
                      html.Button(t("export.pdf"), id=ids.PLAN_EXPORT_PDF, className="secondary"),
                      html.Button(t("export.html"), id=ids.PLAN_EXPORT_HTML,
                                  className="secondary"),
                      html.Button(t("export.xlsx"), id=ids.PLAN_EXPORT_XLSX,
                                  className="secondary")], className="section-head end actions"),
            dcc.Download(id=ids.PLAN_DOWNLOAD_HTML),
            html.Div([html.H3(t("plan.priority")),
                      html.Button(t("plan.export"), id=ids.PLAN_EXPORT, className="primary")],
                     className="section-head"),
            dcc.Download(id=ids.PLAN_DOWNLOAD),
            dcc.Loading(html.Div(id=ids.PLAN_TABLE), delay_show=400),
            html.H3(t("plan.kpis")),
            html.Div(id=ids.PLAN_KPIS),
        ],
        className="main-panel",
    )
    panel = html.Aside([html.P(t("cmd.panel.hint"))], id=ids.PLAN_PANEL, className="side-panel")
    return [side, main, panel, dcc.Store(id=ids.PLAN_SELECTED),
            dcc.Interval(id=ids.PLAN_RETRY, interval=5000, disabled=True),
            dcc.Location(id=ids.PLAN_URL, refresh="callback-nav"),
            dcc.Store(id=ids.PAGE_LANG, data=lang)]


def _filters(ctx: AppContext, start_date, end_date, unit_set, agencies, types):
    unit_set = unit_set if unit_set in (NEW, OLD) else NEW
    start, end = chosen_period(ctx, start_date, end_date)
    agencies = texts(agencies)
    types = choices(types, MODEL_TYPES)
    return unit_set, start, end, agencies, types


def _layer(an, name, unit_set, start, end, agencies, types):
    """Agencies filter the outreach (reach, gaps); model types filter the coverage map."""
    return an.planner_layer(name, unit_set=unit_set, start=start, end=end,
                            agencies=agencies if name != "coverage" else (),
                            model_types=types if name == "coverage" else ())


@dataclass(frozen=True)
class _Shown:
    """What the signed-in role sees of one planner view: map layer and title, the note on
    the rounded period and hidden counts, the priority list (None while the release is
    prepared) and the KPI table."""

    layer: object
    title: str
    note: str
    priority: pd.DataFrame | None
    kpis: object
    lang: str
    retry: bool = False  # ask again in a few seconds (the release is being built)

    table: object = None  # the whole priority table, laid out once (:func:`_shown`)

    def table_of(self, top: int | None = None):
        if self.priority is None:
            return html.P(self.note, className="note-line")
        if top is None and self.table is not None:
            return self.table
        return _priority_table(self.priority if top is None else self.priority.head(top),
                               self.lang)


def _shown(ctx: AppContext, an: Analyses, name, unit_set, start, end, agencies, types,
           lang: str) -> _Shown:
    """The view for the signed-in role (see :mod:`dashboard.released`)."""
    name = name if name in PLANNER_LAYERS else "gaps"
    try:
        view = analyses_for(an, current_role())
    except NotReady as why:  # fail closed: coverage and reach hold no victim, the rest waits
        layer = _layer(an, name, unit_set, start, end, agencies, types)
        if name == "gaps":
            layer = replace(layer, frame=layer.frame[["name"]].assign(gap=float("nan")))
        text = unavailable_text(an, lang)
        return _Shown(layer, _title(layer, start, end, lang), text, None,
                      html.P(text, className="note-line"), lang, retry=why.failed is None)
    layer = _layer(view, name, unit_set, start, end, agencies, types)
    notes, risk_period = [], (start, end)
    snapped = period_note(view, start, end)
    if snapped is not None:
        risk_period = (snapped.start, snapped.end)
        notes.append(translate("suppress.rounded_plan", lang,
                               period=period_text(snapped.start, snapped.end, lang)))
    if view is not an:
        notes.append(translate("caveat.suppressed_note", lang, below=view.threshold - 1,
                               threshold=view.threshold))
    title = _title(layer, *(risk_period if name == "gaps" else (start, end)), lang)
    agencies = tuple(agencies or ())
    priority = _priority(view, unit_set, start, end, agencies)
    # laid out once per (records, role, question, language): most changes ask it again
    table = view.memo(("priority_table", unit_set, start, end, agencies, lang),
                      lambda: _priority_table(priority, lang))
    return _Shown(layer, title, " ".join(notes), priority, _kpis(view, start, end, lang), lang,
                  table=table)


def presentation(ctx: AppContext, an: Analyses, lang: str, search: str | None):
    """The view in ``search`` full screen: its map, then the priority communes and the plan's
    targets in large type."""
    view = _view(ctx, search)
    unit_set, start, end, agencies, types = _filters(ctx, view["from"], view["to"],
                                                     view["units"], view["agency"],
                                                     view["models"])
    shown = _shown(ctx, an, view["layer"], unit_set, start, end, agencies, types, lang)
    live = _figure(ctx, shown.layer, unit_set, lang, shown.title)
    below = [html.P(shown.note, className="note-line"),
             html.H2(translate("plan.priority", lang)), shown.table_of(10),
             html.H2(translate("plan.kpis", lang)), shown.kpis]
    title = shown.title
    return presentation_view(ctx, live, title=title, unit_set=unit_set, lang=lang, path=PATH,
                             search=search, below=below,
                             waiting=an is not None and waiting(an, current_role()))


def _panel(ctx: AppContext, an, code: str, unit_set: str, start, end, agencies,
           lang: str) -> list:
    """A commune's models, recent outreach, and its risk and coverage classes (``an`` is the
    role's view of the analyses; None while the release is prepared: no risk shown)."""
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    units = ctx.unit_table(unit_set)
    if code not in units.index:
        return [html.P(t("cmd.panel.hint"))]
    rec = ctx.records.current()
    column = code_column(unit_set)
    models = rec.models[rec.models[column] == code].sort_values("start_date")
    active = active_models(models, end) if len(models) else pd.Series(dtype=bool)
    model_items = [
        html.Li(f"{_label('model_type', m.model_type, lang)} ({_label('class', m.model_class, lang)})"
                f": {format_date(m.start_date.date(), lang)} – "
                + (format_date(m.end_date.date(), lang) if pd.notna(m.end_date)
                   else t("plan.panel.active"))
                + (f" · {m.agency}" if isinstance(m.agency, str) else ""),
                className="active" if bool(active.get(i, False)) else "ended")
        for i, m in zip(models.index, models.itertuples())
    ]
    events = rec.outreach[(rec.outreach[column] == code)
                          & (rec.outreach["date"] <= pd.Timestamp(end))]
    events = events.sort_values("date", ascending=False).head(8)
    outreach_items = [
        html.Li(f"{format_date(e.date.date(), lang)}: {_label('format', e.format, lang)}, "
                f"{format_number(e.participants if pd.notna(e.participants) else 0, lang)} · "
                f"{e.agency or '–'}")
        for e in events.itertuples()
    ]
    if an is None:
        risk = coverage = "…"
    else:
        ev = an.gap_evidence(unit_set=unit_set, start=start, end=end, agencies=agencies)
        row = gap_classes(ev).loc[code]
        risk, coverage = t(f"risk.{row['risk']}"), t(f"coverage.{row['coverage']}")
    return [
        html.H3(units.at[code, "name"], id="plan-panel-name"),
        html.Dl([html.Dt(t("plan.panel.risk")), html.Dd(risk),
                 html.Dt(t("plan.panel.coverage")), html.Dd(coverage)]),
        html.H4(t("plan.panel.models")),
        html.Ul(model_items) if model_items else html.P(t("cmd.panel.no_models")),
        html.H4(t("plan.panel.outreach")),
        html.Ul(outreach_items) if outreach_items else html.P(t("coverage.never")),
    ]


def register_callbacks(app: Dash, ctx: AppContext, an: Analyses) -> None:
    """Filters → map and priority list; export; click → side panel."""

    def filters(start_date, end_date, unit_set, agencies, types):
        return _filters(ctx, start_date, end_date, unit_set, agencies, types)

    def role_view():
        """The analyses as the signed-in role may see them; None while being prepared."""
        try:
            return analyses_for(an, current_role())
        except NotReady:
            return None

    register_period(app, ctx, ids.PLAN_PERIOD, ids.PLAN_PRESET)
    register_url_sync(app, url_id=ids.PLAN_URL, path=PATH, fields=URL_FIELDS,
                      defaults=lambda: _defaults(ctx), present_button=ids.PLAN_PRESENT,
                      derived=[(ids.PLAN_PRESET, "value",
                                lambda v: matching_preset(ctx, v["from"], v["to"]))],
                      default_lang=ctx.settings.language)

    @app.callback(
        Output(ids.PLAN_MAP, "figure"),
        Output(ids.PLAN_TABLE, "children"),
        Output(ids.PLAN_KPIS, "children"),
        Output(ids.PLAN_NOTE, "children"),
        Output(ids.PLAN_RETRY, "disabled"),
        Input(ids.PLAN_LAYER, "value"),
        Input(ids.PLAN_PERIOD, "start_date"),
        Input(ids.PLAN_PERIOD, "end_date"),
        Input(ids.PLAN_UNITS, "value"),
        Input(ids.PLAN_AGENCIES, "value"),
        Input(ids.PLAN_TYPES, "value"),
        Input(ids.PLAN_RETRY, "n_intervals"),
        State(ids.PAGE_LANG, "data"),
    )
    def update(name, start_date, end_date, unit_set, agencies, types, _retry, lang):
        """The map, priority list, targets and notes; while the release is prepared the
        interval asks again every 5 s, and stops once the figures are there."""
        lang = known_language(lang)
        name = name if name in PLANNER_LAYERS else "gaps"
        unit_set, start, end, agencies, types = filters(start_date, end_date, unit_set,
                                                        agencies, types)
        shown = _shown(ctx, an, name, unit_set, start, end, agencies, types, lang)
        if needs_redraw(ids.PLAN_LAYER, ids.PLAN_UNITS):
            figure = _figure(ctx, shown.layer, unit_set, lang, shown.title)
        else:
            figure = values_patch(shown.layer, lang, shown.title)
        return figure, shown.table_of(), shown.kpis, shown.note, not shown.retry

    @app.callback(
        Output(ids.PLAN_DOWNLOAD, "data"),
        Input(ids.PLAN_EXPORT, "n_clicks"),
        State(ids.PLAN_PERIOD, "start_date"),
        State(ids.PLAN_PERIOD, "end_date"),
        State(ids.PLAN_UNITS, "value"),
        State(ids.PLAN_AGENCIES, "value"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def export(n_clicks, start_date, end_date, unit_set, agencies, lang):
        if not n_clicks:
            return no_update
        lang = known_language(lang)
        unit_set, start, end, agencies, _ = filters(start_date, end_date, unit_set, agencies, [])
        view = role_view()
        if view is None:  # fail closed while the release is prepared
            return no_update
        plist = _priority(view, unit_set, start, end, agencies).copy()
        t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
        plist["gap_text"] = [t(f"gap.{r}.{c}") for r, c in zip(plist["risk"], plist["coverage"],
                                                                strict=True)]
        plist["reason_text"] = ["; ".join(reason_text(k, p, lang) for k, p in rs)
                                for rs in plist["reasons"]]
        plist["code"] = plist.index
        columns = [
            Column("rank", t("cmd.rank"), "0", 7), Column("code", t("plan.col.code"), "@", 9),
            Column("name", t("map.commune"), "@", 22), Column("gap_text", t("plan.col.gap"), "@", 26),
            Column("score", t("cmd.score"), "0", 8), Column("models", t("plan.col.models"), "0", 9),
            Column("reach", t("plan.col.reach"), "#,##0.0", 11),
            Column("days_since", t("plan.col.days_since"), "#,##0", 12),
            Column("last_agency", t("plan.col.last_agency"), "@", 24),
            Column("reason_text", t("cmd.reasons"), "@", 70),
        ]
        raw = table_xlsx(plist, columns, title=t("plan.export_title",
                                                 period=period_text(start, end, lang)),
                         notes=[t(f"caveat.{c.value}") for c in ctx.caveats],
                         extracted=ctx.extracted,
                         sheet=t("export.sheet"), extracted_label=t("export.extracted"))
        name = f"uu_tien_{start:%Y%m%d}_{end:%Y%m%d}.xlsx"
        return dcc.send_bytes(raw, name)

    buttons = {ids.PLAN_EXPORT_HTML: "html", ids.PLAN_EXPORT_PNG: "png",
               ids.PLAN_EXPORT_PDF: "pdf", ids.PLAN_EXPORT_XLSX: "xlsx"}

    @app.callback(
        Output(ids.PLAN_DOWNLOAD_HTML, "data"),
        *(Input(button, "n_clicks") for button in buttons),
        State(ids.PLAN_LAYER, "value"),
        State(ids.PLAN_PERIOD, "start_date"),
        State(ids.PLAN_PERIOD, "end_date"),
        State(ids.PLAN_UNITS, "value"),
        State(ids.PLAN_AGENCIES, "value"),
        State(ids.PLAN_TYPES, "value"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def export_map(*args):
        """The current map as an offline HTML map, a slide PNG, an A4 PDF or its XLSX table."""
        clicks = dict(zip(buttons, args[:len(buttons)]))
        name, start_date, end_date, unit_set, agencies, types, lang = args[len(buttons):]
        button = dash_ctx.triggered_id
        if button not in buttons or not clicks[button]:
            return no_update
        lang = known_language(lang)
        name = name if name in PLANNER_LAYERS else "gaps"
        unit_set, start, end, agencies, types = filters(start_date, end_date, unit_set,
                                                        agencies, types)
        shown = _shown(ctx, an, name, unit_set, start, end, agencies, types, lang)
        if shown.priority is None and name == "gaps":  # not prepared: nothing to export
            return no_update
        return map_download(buttons[button], ctx, shown.layer, ctx.geojson[unit_set],
                            title=shown.title, unit_set=unit_set,
                            lang=lang, stem=f"{name}_{start:%Y%m%d}_{end:%Y%m%d}")

    register_row_select(app, ids.PLAN_ROW, ids.PLAN_SELECTED)

    @app.callback(
        Output(ids.PLAN_SELECTED, "data"),
        Input(ids.PLAN_MAP, "clickData"),
        State(ids.PLAN_UNITS, "value"),
        prevent_initial_call=True,
    )
    def select(click, unit_set):
        """A commune (hidden cells too) or a gate's marker (its commune); a ranked row:
        :func:`~dashboard.row_select.register_row_select`, in the browser."""
        code = clicked_commune(click, ctx.gates, unit_set if unit_set in (NEW, OLD) else NEW)
        return code or no_update

    @app.callback(
        Output(ids.PLAN_PANEL, "children"),
        Input(ids.PLAN_SELECTED, "data"),
        State(ids.PLAN_PERIOD, "start_date"),
        State(ids.PLAN_PERIOD, "end_date"),
        State(ids.PLAN_UNITS, "value"),
        State(ids.PLAN_AGENCIES, "value"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def panel(code, start_date, end_date, unit_set, agencies, lang):
        lang = known_language(lang)
        unit_set, start, end, agencies, _ = filters(start_date, end_date, unit_set, agencies, [])
        return _panel(ctx, role_view(), str(code or ""), unit_set, start, end, agencies, lang)
