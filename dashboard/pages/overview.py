"""Overview page: communes coloured by incident count, with the border and the gates.

Filters (incident type, period, unit set) change only the values on the map
(a ``dash.Patch``); the polygons are fetched once from a cached URL. A change
of unit set swaps the polygons, which is the one case that redraws them.

Below the map, the same four downloads as the other pages (slide PNG, A4 PDF,
offline HTML, XLSX table); beside it, the Steering Committee's quarterly
report (:mod:`dashboard.exports.report`) for a chosen quarter, as one PDF.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from dash import Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx

from dashboard import ids
from dashboard.auth.roles import suppressed_for
from dashboard.released import (ALL_TYPES, NotReady, analyses_for, shown_types, type_choices,
                                unavailable_text, waiting, withheld)
from dashboard.auth.web import current_role
from dashboard.inputs import choice, choices
from dashboard.analysis import Analyses
from dashboard.context import AppContext
from dashboard.exports.downloads import map_download
from dashboard.tiles import map_extras
from dashboard.exports.report import quarter_label, quarterly_report
from dashboard.exports.static import ChromiumNotFound
from dashboard.figures.commune_map import commune_map, hidden_note, needs_redraw, values_patch
from dashboard.client_text import dropdown_labels
from dashboard.figures.graph_config import graph_config
from dashboard.i18n import format_date, format_number, known_language, translate
from dashboard.period_filter import chosen_period, data_period, period_picker, register_period
from dashboard.url_state import Field, read_query, register_url_sync
from geo.units import NEW, OLD
from layers.counts import INCIDENT_TYPES
from layers.layer import Layer
from layers.periods import data_quarters, latest_complete_quarter, parse_quarter, quarter_code

__all__ = ["PATH", "URL_FIELDS", "geojson_url", "layout", "presentation", "register_callbacks"]

PATH = "/"

#: The view in the URL: ``/?types=…&from=2025-01-01&to=2025-12-31&units=2025``.
URL_FIELDS = (
    Field("types", ids.TYPES, kind="list", choices=INCIDENT_TYPES),
    Field("from", ids.PERIOD, "start_date", kind="date"),
    Field("to", ids.PERIOD, "end_date", kind="date"),
    Field("units", ids.UNITS, choices=(NEW, OLD)),
)


def _defaults(ctx: AppContext, role: str | None = "commander", an: Analyses | None = None
              ) -> dict:
    """The view of a bare ``/``: every incident type over the data's whole period (below
    commander: the one type, or the published total, that the type control offers first)."""
    start, end = data_period(ctx)
    types = list(INCIDENT_TYPES)
    if suppressed_for(role):
        types = shown_types(types, an.release_plan() if an is not None else None)
    return {"types": types, "from": start.isoformat(), "to": end.isoformat(),
            "units": ctx.settings.unit_set}


def _view(ctx: AppContext, search: str | None, role: str | None = "commander",
          an: Analyses | None = None):
    """The view's unit set, types and period, read from the URL's query (checked)."""
    view = {**_defaults(ctx, role, an), **read_query(search, URL_FIELDS)}
    start, end = chosen_period(ctx, view["from"], view["to"])
    return view["units"], [t for t in INCIDENT_TYPES if t in view["types"]], start, end


def geojson_url(unit_set: str) -> str:
    """Where the browser fetches the commune polygons of a unit set (served once, cached)."""
    return f"/geo/communes_{unit_set}.geojson"


def hatch_url(unit_set: str) -> str:
    """Where the browser fetches the hatching of a unit set's communes (the stripes drawn
    over a hidden commune: :func:`dashboard.figures.commune_map.hatch_geojson`), served
    once and cached as the polygons are."""
    return f"/geo/hatch_{unit_set}.geojson"


def _shown(ctx: AppContext, an: Analyses, role: str | None, unit_set: str, types,
           start: dt.date, end: dt.date, lang: str):
    """The layer this role may see, the period it covers, the notes to show, and the
    province total as text.

    Asked through the one door (:func:`dashboard.released.analyses_for`): a commander
    sees the counts as they are; every other role through the release plan of
    :mod:`layers.suppression` (small counts "< 5", complementary cells "x", periods
    rounded to the quarter grid, one type or all); while the plan is being built nothing
    is shown (fail closed).
    """
    try:
        view = analyses_for(an, role, wait=2.0)
    except NotReady:
        layer = an.layer("counts", unit_set=unit_set, types=tuple(types), start=start,
                         end=end)
        return withheld(layer), start, end, [unavailable_text(an, lang)], "…"
    notes: list[str] = []
    period = view.snap(start, end)
    if not period.exact:
        notes.append(translate("suppress.rounded", lang,
                               period=_period_text(period.start, period.end, lang)))
    shown = view.shown_types(types)  # a subset is no published figure: the type control
    if list(shown) != [t for t in INCIDENT_TYPES if t in types]:  # shows what is shown
        notes.append(translate("suppress.types", lang, shown=_types_text(shown, lang)))
    layer = view.layer("counts", unit_set=unit_set, types=tuple(shown), start=period.start,
                       end=period.end)
    if "suppression" in layer.params:  # released: what "< 5" and "x" mean
        notes.append(hidden_note(layer, lang))
    total = view.province_total(layer)
    return (layer, period.start, period.end, notes,
            total if isinstance(total, str) else format_number(total, lang))


#: How often a page waiting for the small-count release asks again (milliseconds).
_RETRY_MS = 5000


def _waiting(an: Analyses | None, role: str | None) -> bool:
    """Whether ``role`` is shown nothing yet because the release plan is still being built."""
    return an is not None and waiting(an, role)


def _period_text(start: dt.date, end: dt.date, lang: str) -> str:
    return translate("period.range", lang, start=format_date(start, lang),
                     end=format_date(end, lang))


def _title(start: dt.date, end: dt.date, lang: str, types=None) -> str:
    """The map's title with its period, and the incident types it counts when given."""
    period = translate(
        "period.range", lang, start=format_date(start, lang), end=format_date(end, lang)
    )
    title = translate("layer.incident_counts.title", lang, period=period)
    return f"{title} ({_types_text(types, lang)})" if types else title


def _types_text(types, lang: str) -> str:
    """The incident types counted, as a reader names them ("Vụ mua bán người")."""
    types = [t for t in INCIDENT_TYPES if t in (types or ())]
    if set(types) == set(INCIDENT_TYPES):
        return translate("kpi.types_all", lang)
    return ", ".join(translate(f"type.{t}", lang) for t in types)


def _kpi_what(layer: Layer, start: dt.date, end: dt.date, lang: str) -> str:
    """What the key figures count: the incident types and the period ("Vụ mua bán người ·
    Quý III/2025")."""
    code = quarter_code(start, end)
    period = quarter_label(code, lang) if code else _period_text(start, end, lang)
    return translate("kpi.what", lang, types=_types_text(layer.params.get("types"), lang),
                     period=period)


def _kpis(layer: Layer, lang: str, total: str) -> tuple[str, str, str]:
    """Total (the province's, suppressed like any count), communes with incidents (a
    suppressed count is at least 1), and the commune with the most published incidents."""
    counts = pd.to_numeric(layer.frame[layer.value], errors="coerce")
    labels = layer.frame.get(f"{layer.value}_label")
    hidden = labels.notna() if labels is not None else pd.Series(False, index=counts.index)
    top = counts.idxmax() if counts.notna().any() and counts.max() > 0 else None
    top_text = (
        f"{layer.frame.at[top, 'name']} ({format_number(counts[top], lang)})" if top else "–"
    )
    with_incidents = int(((counts > 0) | hidden).sum())
    return total, format_number(with_incidents, lang), top_text


def _figure(ctx: AppContext, layer: Layer, lang: str, title: str):
    return commune_map(
        layer,
        geojson_url(layer.unit_set),
        ctx.gates,
        ctx.border,
        lang=lang,
        title=title,
        bounds=ctx.bounds,
        hidden=suppressed_for(current_role()),  # values a later filter hides get their style
        # the hidden communes' hatching, cut from the polygons once for every worker and
        # served beside them (:func:`hatch_url`): a redrawn map sends none of it (issue 18)
        hatch_url=hatch_url(layer.unit_set),
        **map_extras(ctx),  # the neighbours, and the province's basemap when it has one
    )


#: The line under each key figure saying what it counts (types and period).
KPI_WHAT = ("kpi-what-total", "kpi-what-communes", "kpi-what-top")
#: Below commander: the one-choice type control and the line saying why it is one choice.
TYPE_ONE, TYPE_WHY = "filter-type-one", "filter-type-why"


def _kpi_card(label: str, value: str, id_: str, what: str = "",
              what_id: str | None = None) -> html.Div:
    parts = [html.Div(label, className="kpi-label"), html.Div(value, id=id_,
                                                              className="kpi-value")]
    if what_id:
        parts.append(html.Div(what, id=what_id, className="kpi-what",
                              style={"fontSize": "0.85em", "color": "#444444"}))
    return html.Div(parts, className="kpi")


def _type_control(types: list[str], role: str | None, an: Analyses | None,
                  lang: str) -> list:
    """The incident-type control: a checklist for the commander; below commander one choice
    (each type, or the total where it is published) with a line saying why, over a hidden
    checklist that keeps the URL's ``types`` (both stay in step in the browser)."""
    options = [{"label": translate(f"type.{t}", lang), "value": t} for t in INCIDENT_TYPES]
    if not suppressed_for(role):
        return [html.Label(translate("filter.types", lang), htmlFor=ids.TYPES),
                dcc.Checklist(id=ids.TYPES, options=options, value=types,
                              className="checklist"),
                dcc.RadioItems(id=TYPE_ONE, options=[], value=None,
                               style={"display": "none"})]
    plan = an.release_plan() if an is not None else None
    choices = type_choices(plan)
    shown = shown_types(types, plan)
    one = ALL_TYPES if len(shown) > 1 else shown[0]
    labels = {**{t: translate(f"type.{t}", lang) for t in INCIDENT_TYPES},
              ALL_TYPES: translate("filter.types.all", lang)}
    why = "filter.types.one_or_all" if ALL_TYPES in choices else "filter.types.one"
    return [html.Label(translate("filter.types", lang), htmlFor=TYPE_ONE),
            dcc.RadioItems(id=TYPE_ONE, value=one, className="radio",
                           options=[{"label": labels[c], "value": c} for c in choices]),
            html.Div(translate(why, lang), id=TYPE_WHY, className="note-line"),
            dcc.Checklist(id=ids.TYPES, options=options, value=shown,
                          style={"display": "none"})]


#: The line saying the report is being built (shown while it is, with the button disabled).
REPORT_PROGRESS = "ov-report-progress"


#: The Word report's button, its download and the note it writes (issue 20).
REPORT_DOCX = "ov-report-docx"
REPORT_DOCX_DOWNLOAD = "ov-report-docx-download"
#: The same Word report as PDF (converted by LibreOffice: :mod:`dashboard.exports.docx_pdf`).
REPORT_DOCX_PDF = "ov-report-docx-pdf"
REPORT_DOCX_PDF_DOWNLOAD = "ov-report-docx-pdf-download"


def _report_box(ctx: AppContext, lang: str) -> html.Div:
    """The quarter to report on (the data's quarters, the latest complete one chosen) and
    the button that downloads the committee's PDF."""
    first, last = data_period(ctx)
    quarters = data_quarters(first, last)
    return html.Div(
        [
            html.Label(translate("report.quarter", lang), htmlFor=ids.OV_QUARTER),
            # the quarter chosen stays chosen for the session (presentation mode and the
            # language links render the page again)
            dcc.Dropdown(id=ids.OV_QUARTER, clearable=False, searchable=False,
                         labels=dropdown_labels(lang),
                         persistence=True, persistence_type="session",
                         value=latest_complete_quarter(last, ctx.extracted),
                         options=[{"label": quarter_label(q, lang), "value": q}
                                  for q in quarters]),
            html.Div([html.Button(translate("report.button", lang), id=ids.OV_REPORT,
                                  className="primary"),
                      html.Button(translate("report.button_docx", lang), id=REPORT_DOCX,
                                  className="secondary"),
                      html.Button(translate("report.button_docx_pdf", lang), id=REPORT_DOCX_PDF,
                                  className="secondary")], className="actions"),
            html.Div(translate("report.building", lang), id=REPORT_PROGRESS,
                     className="note-line", role="status", style={"display": "none"}),
            dcc.Loading([dcc.Download(id=ids.OV_REPORT_DOWNLOAD),
                         dcc.Download(id=REPORT_DOCX_DOWNLOAD),
                         dcc.Download(id=REPORT_DOCX_PDF_DOWNLOAD),
                         html.Div(id=ids.OV_REPORT_NOTE, className="note-line")],
                        delay_show=300),
        ],
        className="report-box",
    )


def _export_buttons(lang: str) -> html.Div:
    buttons = [html.Button(translate("present.button", lang), id=ids.OV_PRESENT,
                           className="primary")]
    buttons += [html.Button(translate(f"export.{fmt}", lang), id=id_, className="secondary")
                for fmt, id_ in (("png", ids.OV_EXPORT_PNG), ("pdf", ids.OV_EXPORT_PDF),
                                 ("html", ids.OV_EXPORT_HTML), ("xlsx", ids.OV_EXPORT_XLSX))]
    return html.Div(buttons, className="section-head end actions")


def layout(ctx: AppContext, lang: str, search: str | None = None,
           an: Analyses | None = None) -> list:
    """The page body for ``lang`` showing the view in ``search`` (the URL's query), by default
    every incident type over the whole period, as the signed-in role may see it."""
    role = current_role()
    unit_set, types, start, end = _view(ctx, search, role, an)
    layer, start, end, notes, total = _shown(ctx, an, role, unit_set, types, start,
                                            end, lang)
    total, communes, top = _kpis(layer, lang, total)
    what = _kpi_what(layer, start, end, lang)
    filters = html.Aside(
        [
            *_type_control(types, role, an, lang),
            html.Label(translate("filter.period", lang), htmlFor=ids.PERIOD),
            period_picker(ctx, ids.PERIOD, start, end, lang),
            html.Label(translate("filter.units", lang), htmlFor=ids.UNITS),
            dcc.RadioItems(
                id=ids.UNITS,
                options=[{"label": translate(f"units.{s}", lang), "value": s} for s in (NEW, OLD)],
                value=unit_set,
                className="radio",
            ),
            _report_box(ctx, lang),
        ],
        className="filters",
    )
    kpis = html.Div(
        [
            _kpi_card(translate("kpi.total", lang), total, ids.KPI_TOTAL, what, KPI_WHAT[0]),
            _kpi_card(translate("kpi.communes", lang), communes, ids.KPI_COMMUNES, what,
                      KPI_WHAT[1]),
            _kpi_card(translate("kpi.top", lang), top, ids.KPI_TOP, what, KPI_WHAT[2]),
        ],
        className="kpis",
    )
    graph = dcc.Graph(
        id=ids.MAP,
        figure=_figure(ctx, layer, lang, _title(start, end, lang,
                                                layer.params.get("types"))),
        config=graph_config(lang, scrollZoom=True),
        className="map",
    )
    downloads = [_export_buttons(lang), dcc.Download(id=ids.OV_DOWNLOAD)]
    note = html.Div(" ".join(notes), id=ids.OV_NOTE, className="note-line")
    return [filters, html.Section([kpis, note, graph, *downloads, trend_section(role, lang)],
                                  className="main-panel"),
            dcc.Interval(id=ids.OV_RETRY, interval=_RETRY_MS,
                         disabled=not _waiting(an, current_role())),
            dcc.Store(id=ids.PAGE_LANG, data=lang),
            dcc.Location(id=ids.OV_URL, refresh="callback-nav")]


def presentation(ctx: AppContext, an, lang: str, search: str | None):
    """The view in ``search`` full screen, with its three key figures in large type."""
    from dashboard.presentation import presentation_view

    role = current_role()
    unit_set, types, start, end = _view(ctx, search, role, an)
    layer, start, end, notes, total = _shown(ctx, an, role, unit_set, types, start,
                                            end, lang)
    title = _title(start, end, lang, layer.params.get("types"))
    total, communes, top = _kpis(layer, lang, total)
    what = _kpi_what(layer, start, end, lang)
    cards = html.Div([_kpi_card(translate("kpi.total", lang), total, "present-kpi-total", what,
                                "present-kpi-what-total"),
                      _kpi_card(translate("kpi.communes", lang), communes, "present-kpi-communes",
                                what, "present-kpi-what-communes"),
                      _kpi_card(translate("kpi.top", lang), top, "present-kpi-top", what,
                                "present-kpi-what-top")],
                     className="kpis")
    return presentation_view(ctx, _figure(ctx, layer, lang, title), title=title,
                             unit_set=unit_set, lang=lang, path=PATH, search=search,
                             below=[cards, html.P(" ".join(notes), className="note-line")],
                             waiting=_waiting(an, role))


def register_callbacks(app: Dash, ctx: AppContext, an: Analyses) -> None:
    """Filters → new values on the map and in the KPI cards; the map's downloads; the report.

    ``an`` is the app's one cache of layers (:class:`dashboard.analysis.Analyses`), which
    every page and the report read.
    """

    def analyses() -> Analyses:
        return an

    register_period(app, ctx, ids.PERIOD)
    register_url_sync(app, url_id=ids.OV_URL, path=PATH, fields=URL_FIELDS,
                      defaults=lambda: _defaults(ctx, current_role(), analyses()),
                      present_button=ids.OV_PRESENT,
                      default_lang=ctx.settings.language)

    # below commander the one-choice control and the (hidden) checklist of the URL's types
    # stay in step: a choice ticks its type (or, for the published total, every type); a
    # link or the back button sets the choice the map then shows
    app.clientside_callback(
        """function (one, many, options) {
            const types = %s, all = %s;
            const ctx = window.dash_clientside.callback_context;
            const trigger = ctx.triggered_id || (ctx.triggered[0] || {}).prop_id || "";
            const none = window.dash_clientside.no_update;
            const offered = (options || []).map(function (o) { return o.value; });
            if (!offered.length) { return [none, none]; }
            if (String(trigger).indexOf(%s) === 0) {
                return [one === all ? types.slice() : [one], none];
            }
            const chosen = types.filter(function (t) { return (many || []).indexOf(t) >= 0; });
            let pick = chosen.length === 1 && offered.indexOf(chosen[0]) >= 0 ? chosen[0] : null;
            if (!pick && chosen.length === types.length && offered.indexOf(all) >= 0) { pick = all; }
            if (!pick) { pick = chosen.find(function (t) { return offered.indexOf(t) >= 0; })
                                || offered[0]; }
            return [none, pick === one ? none : pick];
        }""" % (json.dumps(list(INCIDENT_TYPES)), json.dumps(ALL_TYPES), json.dumps(TYPE_ONE)),
        Output(ids.TYPES, "value", allow_duplicate=True),
        Output(TYPE_ONE, "value", allow_duplicate=True),
        Input(TYPE_ONE, "value"),
        Input(ids.TYPES, "value"),
        State(TYPE_ONE, "options"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.MAP, "figure"),
        Output(ids.KPI_TOTAL, "children"),
        Output(ids.KPI_COMMUNES, "children"),
        Output(ids.KPI_TOP, "children"),
        *(Output(what, "children") for what in KPI_WHAT),
        Output(ids.OV_NOTE, "children"),
        Output(ids.OV_RETRY, "disabled"),
        Input(ids.TYPES, "value"),
        Input(ids.PERIOD, "start_date"),
        Input(ids.PERIOD, "end_date"),
        Input(ids.UNITS, "value"),
        Input(ids.OV_RETRY, "n_intervals"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def update_map(types, start_date, end_date, unit_set, _retry, lang):
        unit_set = unit_set if unit_set in (NEW, OLD) else NEW
        lang = known_language(lang)
        types = list(choices(types, INCIDENT_TYPES))
        start, end = chosen_period(ctx, start_date, end_date)
        # asked before the answer: a plan finished while the answer was made (shown as
        # "being prepared") must leave the page asking once more, not stop it
        waiting_before = _waiting(analyses(), current_role())
        layer, start, end, notes, total = _shown(ctx, analyses(), current_role(), unit_set,
                                                types, start, end, lang)
        title = _title(start, end, lang, layer.params.get("types"))
        if needs_redraw(ids.UNITS):
            figure = _figure(ctx, layer, lang, title)
        else:
            figure = values_patch(layer, lang, title, hidden=suppressed_for(current_role()))
        what = _kpi_what(layer, start, end, lang)
        return (figure, *_kpis(layer, lang, total), *[what] * len(KPI_WHAT), " ".join(notes),
                not waiting_before)

    buttons = {ids.OV_EXPORT_PNG: "png", ids.OV_EXPORT_PDF: "pdf", ids.OV_EXPORT_HTML: "html",
               ids.OV_EXPORT_XLSX: "xlsx"}

    @app.callback(
        Output(ids.OV_DOWNLOAD, "data"),
        *(Input(button, "n_clicks") for button in buttons),
        State(ids.TYPES, "value"),
        State(ids.PERIOD, "start_date"),
        State(ids.PERIOD, "end_date"),
        State(ids.UNITS, "value"),
        State(ids.PAGE_LANG, "data"),
        prevent_initial_call=True,
    )
    def export_map(*args):
        """The map on screen as a slide PNG, an A4 PDF, an offline HTML map or its XLSX table."""
        clicks = dict(zip(buttons, args[:len(buttons)]))
        types, start_date, end_date, unit_set, lang = args[len(buttons):]
        button = dash_ctx.triggered_id
        if button not in buttons or not clicks[button]:
            return no_update
        unit_set = unit_set if unit_set in (NEW, OLD) else NEW
        lang = known_language(lang)
        types = list(choices(types, INCIDENT_TYPES))
        start, end = chosen_period(ctx, start_date, end_date)
        layer, start, end, _, _ = _shown(ctx, analyses(), current_role(), unit_set, types,
                                         start, end, lang)
        return map_download(buttons[button], ctx, layer, ctx.geojson[unit_set],
                            title=_title(start, end, lang, layer.params.get("types")),
                            unit_set=unit_set, lang=lang,
                            stem=f"so_vu_viec_{start:%Y%m%d}_{end:%Y%m%d}")

    @app.callback(
        Output(ids.OV_REPORT_DOWNLOAD, "data"),
        Output(ids.OV_REPORT_NOTE, "children"),
        Input(ids.OV_REPORT, "n_clicks"),
        State(ids.OV_QUARTER, "value"),
        State(ids.UNITS, "value"),
        State(ids.PAGE_LANG, "data"),
        running=[(Output(ids.OV_REPORT, "disabled"), True, False),
                 (Output(REPORT_PROGRESS, "style"), {"display": "block"}, {"display": "none"})],
        prevent_initial_call=True,
    )
    def report(n_clicks, quarter, unit_set, lang):
        """The committee's quarterly report of the chosen quarter, as a PDF download."""
        if not n_clicks:
            return no_update, no_update
        lang = known_language(lang)
        try:  # a role below commander gets the report of its released figures; the PDF
            # takes seconds anyway, so wait up to a minute for a release still being built
            view = analyses_for(analyses(), current_role(), wait=60.0)
        except NotReady:
            return no_update, unavailable_text(analyses(), lang)
        unit_set = unit_set if unit_set in (NEW, OLD) else NEW
        try:
            start, end = parse_quarter(quarter)
        except ValueError:
            start, end = parse_quarter(latest_complete_quarter(data_period(ctx)[1], ctx.extracted))
        try:
            pdf = quarterly_report(ctx, view, start=start, end=end, unit_set=unit_set,
                                   lang=lang)
        except ChromiumNotFound as err:
            return no_update, str(err)
        return dcc.send_bytes(pdf, f"bao_cao_quy_{quarter_code(start, end)}.pdf"), ""

    _register_report_docx(app, ctx, analyses)
    _register_trend(app, ctx, analyses)


def _register_report_docx(app: Dash, ctx: AppContext, analyses) -> None:
    """The Word button: the Standing Office's report of the chosen quarter as DOCX
    (:mod:`dashboard.exports.report_docx`), for the signed-in role as the PDF is; and the
    button beside it, the same document as PDF (:mod:`dashboard.exports.docx_pdf`)."""

    @app.callback(
        Output(REPORT_DOCX_DOWNLOAD, "data"),
        Output(ids.OV_REPORT_NOTE, "children", allow_duplicate=True),
        Input(REPORT_DOCX, "n_clicks"),
        State(ids.OV_QUARTER, "value"),
        State(ids.UNITS, "value"),
        State(ids.PAGE_LANG, "data"),
        running=[(Output(REPORT_DOCX, "disabled"), True, False)],
        prevent_initial_call=True,
    )
    def report_docx_download(n_clicks, quarter, unit_set, lang, as_pdf=False):
        from dashboard.exports.report_docx import report_docx
        from dashboard.exports.report_text import report_period

        if not n_clicks:
            return no_update, no_update
        lang = known_language(lang)
        try:  # below commander: the released figures (waits for a release being built)
            view = analyses_for(analyses(), current_role(), wait=60.0)
        except NotReady:
            return no_update, unavailable_text(analyses(), lang)
        try:  # a quarter the page did not offer (a forged or empty value): the latest one
            period = report_period(quarter=quarter) if isinstance(quarter, str) else None
        except ValueError:
            period = None
        if period is None:
            period = report_period(quarter=latest_complete_quarter(data_period(ctx)[1],
                                                                   ctx.extracted))
        try:
            raw = report_docx(ctx, view, period=period,
                              unit_set=unit_set if unit_set in (NEW, OLD) else NEW, lang=lang)
        except ChromiumNotFound as err:
            return no_update, str(err)
        if as_pdf:  # the same document, as LibreOffice prints it
            from dashboard.exports.docx_pdf import LibreOfficeNotFound, docx_to_pdf

            try:
                return dcc.send_bytes(docx_to_pdf(raw), f"bao_cao_{period.code}.pdf"), ""
            except LibreOfficeNotFound as err:
                return no_update, str(err)
        return dcc.send_bytes(raw, f"bao_cao_{period.code}.docx"), ""

    @app.callback(
        Output(REPORT_DOCX_PDF_DOWNLOAD, "data"),
        Output(ids.OV_REPORT_NOTE, "children", allow_duplicate=True),
        Input(REPORT_DOCX_PDF, "n_clicks"),
        State(ids.OV_QUARTER, "value"),
        State(ids.UNITS, "value"),
        State(ids.PAGE_LANG, "data"),
        running=[(Output(REPORT_DOCX_PDF, "disabled"), True, False)],
        prevent_initial_call=True,
    )
    def report_docx_pdf_download(n_clicks, quarter, unit_set, lang):
        return report_docx_download(n_clicks, quarter, unit_set, lang, as_pdf=True)

# -- the trend chart (issue 17): the province's incidents per quarter or month by type -------

#: The trend's chart, its step (quarter or month) and the line under it.
TREND, TREND_STEP, TREND_NOTE = "ov-trend", "ov-trend-step", "ov-trend-note"


def trend_section(role: str | None, lang: str, *, graph_id: str = TREND,
                  step_id: str = TREND_STEP, note_id: str = TREND_NOTE) -> html.Div:
    """The trend's heading, its step (by quarter, the default, or by month) and its chart.
    Below commander the month is offered disabled, with the line saying why (months are not
    on the release grid). The commander's page takes it with its own ids."""
    below = suppressed_for(role)
    options = [{"label": translate(f"trend.step.{f}", lang), "value": f,
                "disabled": below and f != "Q"} for f in ("Q", "M")]
    return html.Div(
        [html.H3(translate("trend.heading", lang)),
         html.Div([html.Label(translate("trend.step", lang), htmlFor=step_id),
                   dcc.RadioItems(id=step_id, value="Q", options=options, className="radio",
                                  inline=True)], className="trend-step"),
         html.Div(translate("trend.step.months_withheld", lang) if below else "", id=note_id,
                  className="note-line"),
         dcc.Loading(dcc.Graph(id=graph_id, config=graph_config(lang),
                               className="trend-chart"), delay_show=400)],
        className="trend")


def _trend(an: Analyses, role: str | None, types, start: dt.date, end: dt.date, freq,
           lang: str):
    """The trend's figure for ``role`` and the line under it.

    The commander: the chosen types, by quarter or month, the chosen period outlined. Below
    commander: the types the map shows, by quarter (the release grid), each count the plan's
    province cell, the grid period the map shows outlined; nothing while the plan is built.
    """
    from dashboard.figures.trend_chart import trend_figure

    freq = freq if freq in ("Q", "M") else "Q"
    if not suppressed_for(role):
        return trend_figure(an, freq=freq, types=types, selected=(start, end), lang=lang), ""
    try:
        view = analyses_for(an, role, wait=2.0)
    except NotReady:
        return trend_figure(_NoTrend(), freq="Q", types=(), selected=None,
                            lang=lang), unavailable_text(an, lang)
    shown = shown_types(types, view.plan)
    period = view.snap(start, end)
    figure = trend_figure(view, freq="Q", types=shown, selected=(period.start, period.end),
                          lang=lang)
    return figure, translate("trend.step.months_withheld", lang)


class _NoTrend:
    """What the chart shows while the release is being built: no count."""

    def trend(self, **_):
        return pd.DataFrame(columns=["period", "start", "end", "type", "count"])


def _register_trend(app: Dash, ctx: AppContext, analyses) -> None:
    """Types, period, step → the trend's chart (apart from the map's callback, which answers
    first); asked again with the map while a release is being built."""

    @app.callback(
        Output(TREND, "figure"),
        Output(TREND_NOTE, "children"),
        Input(ids.TYPES, "value"),
        Input(ids.PERIOD, "start_date"),
        Input(ids.PERIOD, "end_date"),
        Input(TREND_STEP, "value"),
        Input(ids.OV_RETRY, "n_intervals"),
        State(ids.PAGE_LANG, "data"),
    )
    def update_trend(types, start_date, end_date, freq, _retry, lang):
        lang = known_language(lang)
        types = list(choices(types, INCIDENT_TYPES))
        start, end = chosen_period(ctx, start_date, end_date)
        return _trend(analyses(), current_role(), types, start, end, freq, lang)
