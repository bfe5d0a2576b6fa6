"""The quarterly report (báo cáo quý) for the provincial Steering Committee 138, as one PDF.

One command (``borderwatch report``) and one button (overview page) make it for
a period, usually a calendar quarter: a cover with the period, the unit set,
the document's date, the data source and its extraction date and every caveat;
then five sections (six in the commander's report), each on its own A4 page:

1. the Gi* hot-spot map, with how many communes are hot or cold at which
   confidence;
2. the risk × coverage map, with the prevention models and the outreach of
   the period;
3. the targets of the plans: value, target, status, the last four quarters;
4. the priority communes with their reasons;
5. the changes on the same period a year before (so với cùng kỳ năm trước,
   so that the July–September campaign is not read as a rise): counts by
   type now and a year before, the communes' rises and falls after the
   Benjamini–Hochberg correction, the communes with the largest rises; or,
   when the records do not reach a year back, that there is nothing to
   compare with;
6. in the commander's report only, the next quarter's forecast and its track
   record over the last 8 quarters (:mod:`layers.forecast`).

Every number comes from the layers (:class:`dashboard.analysis.Analyses`),
every sentence from the message catalogues. The page footer carries the page
number, the document's date and the caveats (synthetic demo data, approximate
boundaries) on every page.

The figures of each section come from :mod:`dashboard.exports.report_sections`
(shared with the Word document, :mod:`dashboard.exports.report_docx`); this
module lays them out in HTML, styled by ``report.css`` (a file of this package).

Rendering: the two maps are drawn in one kaleido session
(:func:`dashboard.exports.static.export_figures`, PNG at about 150 dpi on A4
landscape), embedded as data URIs in one HTML document, which Playwright
prints to PDF with Debian's Chromium (:func:`dashboard.exports.chromium.html_to_pdf`;
never a downloaded browser). Measured on the demo (2 cores, quarter 2025Q3):
12 s when the cores are idle, 25 s at a load average of 6 (of which the two
maps 18 s, the printing 4 s, the layers and the HTML 2 s); 6 pages, about 600 KB.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis import Analyses
from dashboard.context import AppContext
from dashboard.exports.chromium import chromium_path, html_to_pdf
from dashboard.exports.committee import source_text
from dashboard.exports.report_sections import (
    PRIORITY_TOP,
    RISES_TOP,
    change_layer,
    coverage_gaps,
    gi_layer,
    hotspot_counts,
    is_released,
    report_forecast,
    priority_rows,
    priority_table,
    province_total,
    risk_coverage_layer,
    signed,
    total_trend,
    type_row,
)
from dashboard.exports.report_text import QUARTER_NUMERALS
from dashboard.exports.static import export_figures, presentation_figure
from dashboard.figures.commune_map import commune_map
from dashboard.i18n import LANGUAGES, format_date, format_number, translate
from dashboard.kpi_text import kpi_details, kpi_value
from dashboard.tiles import map_extras
from geo.units import NEW, OLD
from layers.counts import INCIDENT_TYPES
from layers.layer import Layer
from layers.periods import parse_quarter, quarter_code, quarter_number
from layers.targets import PlanError

__all__ = [
    # PRIORITY_TOP and RISES_TOP live in report_sections; named here as the report's lengths
    "FORECAST_WAIT",
    "PRIORITY_TOP",
    "RISES_TOP",
    "quarter_label",
    "quarterly_report",
    "report_css",
    "report_html",
    "report_maps",
    "report_title",
]

#: Section titles other than ``report.s<n>``: the changes are on the same period a year before.
_SECTION_KEYS = {5: "report.s5_yoy"}
#: How long the commander's report waits for a forecast still being built in the
#: background (seconds) before its section says the forecast is being prepared.
FORECAST_WAIT = 60.0
_UNIT_ALIASES = {"new": NEW, "old": OLD, NEW: NEW, OLD: OLD}


# --------------------------------------------------------------------------- quarters


def quarter_label(code: str, lang: str = "vi", *, capital: bool = True) -> str:
    """A quarter as people write it: "Quý III/2025" (vi), "Q3 2025" (en).

    Examples
    --------
    >>> quarter_label("2025Q3"), quarter_label("2025Q3", "en")
    ('Quý III/2025', 'Q3 2025')
    """
    start, _ = parse_quarter(code)
    n = quarter_number(start)
    key = "report.quarter.option" if capital else "report.quarter.name"
    return translate(key, lang, n=n, roman=QUARTER_NUMERALS[n - 1], year=start.year)


# --------------------------------------------------------------------------- the report


def report_title(start: dt.date, end: dt.date, lang: str = "vi") -> str:
    """"Báo cáo quý III/2025" for a calendar quarter, else "Báo cáo kỳ 01/07/2025 – 14/08/2025".

    Examples
    --------
    >>> report_title(dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    'Báo cáo quý III/2025'
    >>> report_title(dt.date(2025, 7, 1), dt.date(2025, 8, 14), "en")
    'Report for 01/07/2025 – 14/08/2025'
    """
    code = quarter_code(start, end)
    if code:
        return translate("report.title.quarter", lang,
                         quarter=quarter_label(code, lang, capital=False))
    return translate("report.title.period", lang, period=_period(start, end, lang))


def quarterly_report(
    ctx: AppContext,
    an: Analyses,
    *,
    start: dt.date,
    end: dt.date,
    unit_set: str = NEW,
    lang: str = "vi",
    document_date: dt.date | None = None,
    browser: str | Path | None = None,
    forecast_wait: float | None = FORECAST_WAIT,
) -> bytes:
    """The committee's report for ``start``–``end`` as PDF bytes (A4 portrait).

    Parameters
    ----------
    ctx : AppContext
        Boundaries, gates, caveats, source and extraction date.
    an : Analyses
        The memoised layers over ``ctx`` (the same the pages use).
    start, end : date
        The period, both days included; usually a calendar quarter
        (:func:`parse_quarter`), any span is accepted. The changes compare it
        with the same period a year before (:func:`layers.compare.year_before`).
    unit_set : {"2025", "legacy"}
        The communes of the maps and lists ("new"/"old" are accepted too).
        The plan targets are always measured on the 2025 communes.
    lang : {"vi", "en"}
    document_date : date, optional
        The date printed on the cover and in every footer; default today.
    browser : path, optional
        The Chromium executable; default :data:`dashboard.exports.chromium.CHROMIUM`.
    forecast_wait : float, optional
        The commander's report: how long its forecast section waits for the forecast
        being built in the background (seconds), then says it is being prepared; default
        :data:`FORECAST_WAIT`. ``None`` builds it here if need be (the command line).

    Returns
    -------
    bytes
        A PDF: cover, then sections 1–5, each starting a page; every page's
        footer says "Trang k/N", the document's date and the caveats.

    Raises
    ------
    ValueError
        For an unknown language or unit set, or ``end`` before ``start``.
    ChromiumNotFound
        When the browser is not installed.

    Examples
    --------
    >>> pdf = quarterly_report(ctx, an, start=dt.date(2025, 7, 1),
    ...                        end=dt.date(2025, 9, 30))  # doctest: +SKIP
    >>> pdf[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    unit_set, lang = _checked(start, end, unit_set, lang)
    document_date = document_date or dt.date.today()
    path = chromium_path(browser)
    figures = report_maps(ctx, an, start=start, end=end, unit_set=unit_set, lang=lang)
    images = export_figures(figures, fmt="png", size="a4", browser=path)
    page = report_html(ctx, an, start=start, end=end, unit_set=unit_set, lang=lang,
                       document_date=document_date, maps=images, forecast_wait=forecast_wait)
    footer = _footer(ctx, report_title(start, end, lang), document_date, lang)
    return html_to_pdf(page, footer=footer, browser=path)


def report_maps(ctx: AppContext, an: Analyses, *, start: dt.date, end: dt.date,
                unit_set: str = NEW, lang: str = "vi") -> list[go.Figure]:
    """The report's two maps, committee style (A4 landscape): Gi* hot spots, risk × coverage."""
    unit_set, lang = _checked(start, end, unit_set, lang)
    layers = (gi_layer(an, unit_set, start, end), risk_coverage_layer(an, unit_set, start, end))
    return [_presentation(ctx, layer, unit_set, start, end, lang) for layer in layers]


def report_html(
    ctx: AppContext,
    an: Analyses,
    *,
    start: dt.date,
    end: dt.date,
    unit_set: str = NEW,
    lang: str = "vi",
    document_date: dt.date,
    maps: Sequence[bytes] = (),
    forecast_wait: float | None = FORECAST_WAIT,
) -> str:
    """The report as one self-contained HTML document (what :func:`quarterly_report` prints).

    ``maps`` are the PNGs of :func:`report_maps`, in order (hot spots, then
    risk × coverage); a missing map leaves its place empty. ``forecast_wait``: how long
    the forecast's section waits for a forecast being built in the background (seconds;
    ``None``: as long as it takes to build it here).
    """
    unit_set, lang = _checked(start, end, unit_set, lang)
    images = list(maps) + [b""] * (2 - len(maps))
    title = report_title(start, end, lang)
    body = "\n".join([
        _cover(ctx, an, title, start, end, unit_set, lang, document_date),
        _section_hotspots(an, unit_set, start, end, lang, images[0]),
        _section_coverage(an, unit_set, start, end, lang, images[1]),
        _section_kpis(an, start, end, lang),
        _section_priority(an, unit_set, start, end, lang),
        _section_changes(ctx, an, unit_set, start, end, lang),
        _section_forecast(an, unit_set, end, lang, forecast_wait),
    ])
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{report_css()}</style></head>"
            f"<body>{body}</body></html>")


# --------------------------------------------------------------------------- checks, layers


def _checked(start: dt.date, end: dt.date, unit_set: str, lang: str) -> tuple[str, str]:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; choose one of {LANGUAGES}")
    if unit_set not in _UNIT_ALIASES:
        raise ValueError(f"unknown unit set {unit_set!r}; choose {NEW!r} or {OLD!r}")
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    return _UNIT_ALIASES[unit_set], lang


def _presentation(ctx: AppContext, layer: Layer, unit_set: str, start, end,
                  lang: str) -> go.Figure:
    base = commune_map(layer, ctx.geojson[unit_set], ctx.gates, ctx.border, lang=lang,
                       bounds=ctx.bounds, **map_extras(ctx, live=False))
    return presentation_figure(
        base, title=translate(layer.title_key, lang, period=_period(start, end, lang)),
        subtitle=translate(f"units.{unit_set}", lang), caveats=ctx.caveats,
        source=source_text(ctx, lang), extracted=ctx.extracted, lang=lang, size="a4",
        bounds=ctx.bounds)


# --------------------------------------------------------------------------- text helpers


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _t(key: str, lang: str, **params) -> str:
    """A message, HTML-escaped (its parameters are escaped too)."""
    return _e(translate(key, lang, **params))


def _n(value, lang: str, digits: int = 0) -> str:
    return format_number(value, lang, digits)


def _period(start: dt.date, end: dt.date, lang: str) -> str:
    return translate("period.range", lang, start=format_date(start, lang),
                     end=format_date(end, lang))


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if len(names) else "–"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = (),
           css: str = "", widths: Sequence[int] = ()) -> str:
    """An HTML table; cells are already HTML; ``numeric`` columns are right-aligned;
    ``widths`` in percent of the page."""
    cols = "".join(f'<col style="width:{w}%">' for w in widths)
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return (f'<table class="{css}"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _image(png: bytes, alt: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="map" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


# --------------------------------------------------------------------------- the cover


def _cover(ctx: AppContext, an: Analyses, title: str, start, end, unit_set: str, lang: str,
           document_date: dt.date) -> str:
    period = _period(start, end, lang)
    caveats = "".join(f'<p class="caveat">⚠ {_t(f"caveat.{c.value}", lang)}</p>'
                      for c in ctx.caveats)
    if is_released(an):
        note = _t("caveat.suppressed_note", lang, below=an.threshold - 1,
                  threshold=an.threshold)
        caveats += f'<p class="caveat">⚠ {note}</p>'
    source = _t("footer.source", lang, source=source_text(ctx, lang),
                extracted=format_date(ctx.extracted, lang))
    facts = "".join(f"<li>{item}</li>"
                    for item in _summary(ctx, an, unit_set, start, end, lang))
    last = _record_span(ctx)[1]
    if last is not None and end > last:
        note = _t("report.after_data", lang, last=format_date(last, lang))
        caveats += f'<p class="note">{note}</p>'
    sections = range(1, 6) if is_released(an) else range(1, 7)  # 6: the forecast, commander's
    return f"""
<section class="cover">
  <p class="addressee">{_t("report.addressee", lang)}</p>
  <h1>{_e(title)}</h1>
  <p class="subject">{_t("report.subject", lang)}</p>
  <p class="period">{_t("report.period", lang, period=period)}</p>
  <table class="facts">
    <tr><th>{_t("report.units", lang)}</th><td>{_t(f"units.{unit_set}", lang)}</td></tr>
    <tr><th>{_t("report.date", lang)}</th><td>{_e(format_date(document_date, lang))}</td></tr>
  </table>
  <p class="source">{source}</p>
  {caveats}
  <h2 class="summary">{_t("report.summary", lang)}</h2>
  <ul class="summary">{facts}</ul>
  <h3>{_t("report.contents", lang)}</h3>
  <ul class="contents">{"".join(f"<li>{_t(_section_key(i), lang)}</li>" for i in sections)}</ul>
</section>"""


def _record_span(ctx: AppContext) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of the stored incidents (None, None when there are none)."""
    dates = ctx.incidents["date"]
    if dates.empty or dates.isna().all():
        return None, None
    return dates.min().date(), dates.max().date()


def _section_key(number: int) -> str:
    """The message key of section ``number``'s title."""
    return _SECTION_KEYS.get(number, f"report.s{number}")


def _summary(ctx: AppContext, an: Analyses, unit_set: str, start, end,
             lang: str) -> list[str]:
    """The cover's five facts, one per section."""
    incidents = _incidents_fact(ctx, an, unit_set, start, end, lang)
    gi = gi_layer(an, unit_set, start, end).frame["gi_class"].fillna("")
    gaps = risk_coverage_layer(an, unit_set, start, end).frame
    coverage = an.planner_layer("coverage", unit_set=unit_set, start=start, end=end).params
    items = [
        incidents,
        _t("report.summary.hotspots", lang, hot=_n(int(gi.str.startswith("hot").sum()), lang),
           cold=_n(int(gi.str.startswith("cold").sum()), lang)),
        _t("report.summary.coverage", lang, without=_n(coverage["n_without_model"], lang),
           total=_n(coverage["n_communes"], lang),
           gap=_n(int(((gaps["risk"] == "high") & (gaps["coverage"] == "low")).sum()), lang)),
    ]
    try:
        status = an.kpis(start=start, end=end)[0]["status"].value_counts()
        items.append(_t("report.summary.kpis", lang, **{
            k: _n(int(status.get(k, 0)), lang) for k in ("met", "on_track", "behind", "no_data")}))
    except PlanError:
        pass
    top = priority_table(an, unit_set, start, end).head(3)
    items.append(_t("report.summary.priority", lang, names=_names(list(top["name"]))))
    return items


def _incidents_fact(ctx: AppContext, an, unit_set: str, start, end, lang: str) -> str:
    """The cover's first fact: incidents now and before (each type on its own, small counts
    hidden, for a role below commander: the all-types total is not published to it)."""
    if is_released(an):
        items = "; ".join(
            f"{translate(f'type.{t}', lang).lower()} "
            f"{province_total(change_layer(an, unit_set, start, end, (t,)).params, lang)}"
            for t in INCIDENT_TYPES)
        return _t("report.summary.incidents_released", lang, items=items)
    change = change_layer(an, unit_set, start, end).params
    now, before = change["total"], change["total_other"]
    if not change["comparable"]:  # the records do not reach the same period a year before
        return _t("report.summary.incidents_no_base_yoy", lang, now=_n(now, lang))
    return _t("report.summary.incidents_yoy", lang, now=_n(now, lang), before=_n(before, lang),
              diff=signed(now - before, lang), trend=total_trend(change, lang).lower())


# --------------------------------------------------------------------------- 1 hot spots


def _section_hotspots(an: Analyses, unit_set: str, start, end, lang: str, png: bytes) -> str:
    layer = gi_layer(an, unit_set, start, end)
    frame, params = layer.frame, layer.params
    classes = frame["gi_class"].fillna("")
    method = ("report.hot.method_exact" if params.get("inference") == "exact"
              else "report.hot.method")
    paragraphs = [_t(method, lang, permutations=_n(params.get("permutations", 0), lang))]
    if params.get("constant_values"):
        paragraphs.append(_t("report.hot.constant", lang))
    else:
        paragraphs.append(_e(hotspot_counts(classes, lang)))
        # the strongest hot spot first (a role below commander has the classes, not z)
        order = frame.sort_values("Zs" if "Zs" in frame else "gi_bin", ascending=False,
                                  kind="stable")
        paragraphs.append(_t("report.hot.list", lang, names=_names(
            list(order.loc[order["gi_class"].fillna("").str.startswith("hot"), "name"]))))
        paragraphs.append(_t("report.cold.list", lang, names=_names(
            list(order.loc[order["gi_class"].fillna("").str.startswith("cold"), "name"][::-1]))))
    if params.get("few_features"):
        paragraphs.append(_t("cmd.few_features", lang))
    title = translate(layer.title_key, lang, period=_period(start, end, lang))
    return _section(1, lang, _image(png, title), paragraphs)


def _section(number: int, lang: str, figure: str, paragraphs: Sequence[str],
             extra: str = "") -> str:
    text = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<section id="s{number}"><h2>{_t(_section_key(number), lang)}</h2>'
            f"{figure}{text}{extra}</section>")


# --------------------------------------------------------------------------- 2 coverage


def _section_coverage(an: Analyses, unit_set: str, start, end, lang: str, png: bytes) -> str:
    gaps = risk_coverage_layer(an, unit_set, start, end)
    coverage = an.planner_layer("coverage", unit_set=unit_set, start=start, end=end).params
    reach = an.planner_layer("reach", unit_set=unit_set, start=start, end=end).params["province"]
    paragraphs = [
        _t("report.cov.method", lang),
        _t("report.cov.models", lang, date=format_date(end, lang),
           models=_n(coverage["total"], lang), with_model=_n(coverage["n_with_model"], lang),
           communes=_n(coverage["n_communes"], lang),
           intensive=_n(coverage["n_with_intensive"], lang),
           without=_n(coverage["n_without_model"], lang)),
        _t("report.cov.outreach", lang, events=_n(reach["events"], lang),
           participants=_n(reach["participants"], lang), materials=_n(reach["materials"], lang),
           reached=_n(reach["communes_reached"], lang)),
        _e(coverage_gaps(gaps.frame, lang)),
    ]
    title = translate(gaps.title_key, lang, period=_period(start, end, lang))
    return _section(2, lang, _image(png, title), paragraphs)


# --------------------------------------------------------------------------- 3 targets


def _section_kpis(an: Analyses, start, end, lang: str) -> str:
    try:
        now, trend = an.kpis(start=start, end=end)
        plans = {plan.id: plan for plan in an.plans()}
    except PlanError as err:
        return _section(3, lang, "", [_t("report.kpi.error", lang, error=str(err))])
    headers = [_t(k, lang) for k in ("plan.kpi.indicator", "plan.kpi.value", "plan.kpi.target",
                                     "plan.kpi.status", "plan.kpi.trend")]
    blocks = []
    said = {}  # the cohorts counted and the key areas used, said once below the tables
    for plan_id, rows in now.groupby("plan", sort=False):
        plan = plans.get(plan_id)
        name = f"{plan.source.document}: {plan.title}" if plan else plan_id
        blocks.append(f'<h3 class="plan">{_e(name)}</h3>')
        blocks.append(_table(headers, [_kpi_row(r, trend, lang) for r in rows.itertuples()],
                             numeric=(1, 2), css="kpis", widths=(50, 12, 9, 12, 17)))
        for r in rows.itertuples():
            text = kpi_details(r, lang)
            said.update(dict.fromkeys(x for x in (text.cohort, text.key_areas) if x))
    notes = [" ".join([_t("report.kpi.note", lang, period=_period(start, end, lang)),
                       _t("plan.kpi.ci_note", lang), *(f"{x}." for x in said)])]
    if is_released(an):
        notes.append(_t("suppress.kpi_note", lang, threshold=an.threshold))
    return _section(3, lang, "", notes, "".join(blocks))


def _kpi_row(r, trend: pd.DataFrame, lang: str) -> list[str]:
    series = trend[(trend["plan"] == r.plan) & (trend["indicator"] == r.indicator)]
    status = translate(f"status.{r.status}", lang)
    if r.status == "no_data" and isinstance(r.reason, str) and r.reason:
        status = f"{status}: {translate(f'nodata.{r.reason}', lang)}"
    sign = "≥" if r.direction == "at_least" else "≤"
    target = f"{sign} {_n(r.target, lang, 1)} %" if r.target == r.target else "–"
    name = r.label_vi if lang == "vi" else r.label_en
    text = kpi_details(r, lang)  # the definition here; cohort and key areas below the tables
    definition = f'{_e(text.definition)} ' if text.definition else ""
    counts = "".join(f'<div class="kpi-source">{_e(x)}</div>'
                     for x in (text.counts, text.interval) if x)
    return [
        f'{_e(name)}<div class="kpi-def">{definition}<span class="kpi-source">'
        f'{_e(r.source)}</span></div>',
        _e(kpi_value(r, lang)) + counts,
        _e(target),
        f'<span class="status-{_e(r.status)}">{_e(status)}</span>',
        f'<span class="quarters">{_e(_quarters(series, lang))}</span>',
    ]


def _quarters(series: pd.DataFrame, lang: str) -> str:
    """"21,4 → 21,4 → 28,6 → 28,6 %": the last four quarters, oldest first ("< 5" or "x"
    where a role below commander may not see the value)."""
    values = series["value"]
    labels = series["value_label"] if "value_label" in series else [None] * len(series)
    shown = [lab if isinstance(lab, str) and lab else ("–" if pd.isna(v) else _n(v, lang, 1))
             for v, lab in zip(values, labels)]
    return " → ".join(shown) + (" %" if values.notna().any() else "")


# --------------------------------------------------------------------------- 4 priority


def _section_priority(an: Analyses, unit_set: str, start, end, lang: str) -> str:
    full = priority_table(an, unit_set, start, end)
    if full.empty:
        return _section(4, lang, "", [_t("report.priority.none", lang)])
    shown = full.head(PRIORITY_TOP)
    headers = [_t(k, lang) for k in ("cmd.rank", "map.commune", "plan.col.gap",
                                     "plan.col.last_agency", "cmd.reasons")]
    rows = [[_e(cell) for cell in row] for row in priority_rows(shown, lang)]
    intro = _t("report.priority.intro", lang, n=_n(len(full), lang), shown=_n(len(shown), lang))
    return _section(4, lang, "", [intro], _table(headers, rows, numeric=(0,), css="priority",
                                                 widths=(6, 14, 15, 13, 52)))


# --------------------------------------------------------------------------- 5 changes


def _section_changes(ctx: AppContext, an: Analyses, unit_set: str, start, end,
                     lang: str) -> str:
    released = is_released(an)
    total = change_layer(an, unit_set, start, end,
                         (INCIDENT_TYPES[0],) if released else INCIDENT_TYPES)
    params = total.params
    other = _period(params["other_start"], params["other_end"], lang)
    paragraphs = [_t("report.change.intro_yoy", lang, period=_period(start, end, lang),
                     other=other)]
    if not params["comparable"]:
        first = params["records_start"]
        paragraphs.append(_t("report.change.no_base", lang, other=other,
                             first=format_date(first, lang) if first else "–"))
    by_type = [[_e(cell) for cell in type_row(translate(f"type.{t}", lang),
                                              change_layer(an, unit_set, start, end, (t,)),
                                              lang)]
               for t in INCIDENT_TYPES]
    if not released:  # the all-types total is not published below commander
        by_type.append([f"<b>{_e(cell)}</b>" for cell in type_row(
            translate("report.change.total", lang), total, lang)])
    headers = [_t(k, lang) for k in ("filter.types", "report.change.col.now",
                                     "report.change.col.before_yoy", "report.change.col.diff",
                                     "report.change.col.assessment")]
    if released:
        extra = (_table(headers, by_type, numeric=(1, 2, 3), css="changes")
                 + f"<p>{_t('report.change.released', lang)}</p>")
        return _section(5, lang, "", paragraphs, extra)
    if not params["comparable"]:  # no commune list: there is nothing to compare with
        return _section(5, lang, "", paragraphs,
                        _table(headers, by_type, numeric=(1, 2, 3), css="changes"))
    frame = total.frame
    counts = _t("report.change.counts_fdr", lang, up=_n(int((frame["trend"] == 1).sum()), lang),
                down=_n(int((frame["trend"] == -1).sum()), lang),
                alpha=_n(100 * params["alpha"], lang), tests=_n(params["n_tests"], lang),
                threshold=_n(params["fdr_threshold"], lang, 4))
    rises = frame[frame["change"] > 0].sort_values(["change", "count"], ascending=False,
                                                   kind="stable").head(RISES_TOP)
    if rises.empty:
        rise_table = f"<p>{_t('report.change.no_rise_yoy', lang)}</p>"
    else:
        rise_table = _table(
            [_t("map.commune", lang)] + headers[1:],
            [[_e(r["name"]), _n(r["count"], lang), _n(r["other"], lang),
              signed(int(r["change"]), lang), _t(f"trend.{int(r['trend'])}", lang)]
             for _, r in rises.iterrows()],
            numeric=(1, 2, 3), css="changes")
    extra = (_table(headers, by_type, numeric=(1, 2, 3), css="changes")
             + f"<h3>{_t('report.change.communes', lang)}</h3><p>{counts}</p>{rise_table}")
    return _section(5, lang, "", paragraphs, extra)


# --------------------------------------------------------------------------- 6 forecast


def _section_forecast(an: Analyses, unit_set: str, end, lang: str,
                      forecast_wait: float | None = None) -> str:
    """The next quarter's forecast and its track record (model vs baselines, hit rate and
    PAI at 5/10/20 % of the area): the commander's report only, as the forecast is not
    released below commander (``docs/confidentiality.md``). Read from the forecasts built
    in the background, waiting up to ``forecast_wait`` seconds (then the section says it
    is being prepared); ``None`` builds it here if need be (the command line)."""
    from dashboard.forecast_text import track_header, track_record, track_rows

    if is_released(an):
        return ""
    layer = report_forecast(an, unit_set, end, forecast_wait)
    params = layer.params
    paragraphs = [_e(track_record(params, lang))]
    extra = ""
    if not params.get("problem"):
        headers = [_e(h) for h in track_header(lang)]
        rows = [[_e(cell) for cell in row] for row in track_rows(params, lang)]
        flagged = layer.frame[layer.frame["flagged"] > 0].sort_values("rank")
        upcoming = _period(params["period_start"], params["period_end"], lang)
        notes = [_t("report.forecast.terms", lang, n=_n(params["origins"], lang)),
                 _t("report.forecast.flagged", lang, names=_names(list(flagged["name"])),
                    next=upcoming),
                 _t(params["about_key"], lang)]
        extra = (_table(headers, rows, numeric=tuple(range(1, len(headers))), css="forecast",
                        widths=(30, 10, 8, 10, 8, 10, 8, 8))
                 + "".join(f"<p>{note}</p>" for note in notes))
    return _section(6, lang, "", paragraphs, extra)


# --------------------------------------------------------------------------- footer, style


def _footer(ctx: AppContext, title: str, document_date: dt.date, lang: str) -> str:
    """Chromium's footer template: caveats, then title · date · page k/N, on every page."""
    caveats = "".join(f'<div class="c">⚠ {_t(f"caveat.{c.value}", lang)}</div>'
                      for c in ctx.caveats)
    page = _t("report.footer.page", lang, page="\x00", pages="\x01").replace(
        "\x00", '<span class="pageNumber"></span>').replace(
        "\x01", '<span class="totalPages"></span>')
    date = _t("report.date", lang) + " " + _e(format_date(document_date, lang))
    return f"""
<div style="width:100%; margin:0 15mm; font-family:'Noto Sans','DejaVu Sans',sans-serif;
            font-size:7.5pt; color:#333; -webkit-print-color-adjust:exact;
            font-variant-ligatures:none;">
  <style>.c {{ color:#6b3d00; font-weight:bold; }}</style>
  {caveats}
  <div style="display:flex; justify-content:space-between; border-top:0.5pt solid #999;
              padding-top:1mm; margin-top:1mm;">
    <span>{_e(title)} · {date}</span><span>{page}</span>
  </div>
</div>"""


@cache
def report_css() -> str:
    """The report's style sheet: ``report.css``, a file of this package."""
    return files(__package__).joinpath("report.css").read_text(encoding="utf-8")
