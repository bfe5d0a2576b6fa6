"""Reporting page (Tình hình báo cáo): which agency has sent its report for a period, and when.

What the Standing Office of Steering Committee 138 opens before its meeting:
choose a reporting period of a plan (:class:`layers.targets.Reporting`) and
the day to look from, and read the reporting-rate summary (DHIS2's:
expected, received, on time, and the rates), the table of agencies (on time,
late, missing, with the days each report came) and a reminder, in the
register of the province's letters, to copy into a message to the agencies
that have not reported. The rules are :mod:`layers.reporting`'s.

Open to the commander, the planner (the Standing Office is a planner) and the
administrator (the data officer who imports the reports): the page names
agencies and days, never a record or a count of records, so nothing on it
goes through the small-count release. The viewer (the committee's screen)
is refused: the committee reads the report compiled from these.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html

from dashboard.analysis import Analyses
from dashboard.client_text import dropdown_labels
from dashboard.context import AppContext
from dashboard.i18n import format_date, format_number, known_language, translate
from layers.reporting import ReportingRate, period_status, reporting_rate
from layers.targets import Plan, PlanError, ReportingPeriod

__all__ = ["PATH", "layout", "register_callbacks", "reminder_text"]

PATH = "/reporting"

PERIOD = "rep-period"
AS_OF = "rep-as-of"
SUMMARY = "rep-summary"
TABLE = "rep-table"
REMINDER = "rep-reminder"
COPY = "rep-copy"
LANG = "rep-lang"


def layout(ctx: AppContext, lang: str) -> list:
    """The page body: period and day on the left; summary, table and reminder on the right.

    The periods are filled by a callback (they come from the plans, which the
    analyses load).
    """
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    side = html.Aside(
        [
            html.Label(t("rep.period"), htmlFor=PERIOD),
            dcc.Dropdown(id=PERIOD, clearable=False, searchable=False,
                         labels=dropdown_labels(lang)),
            html.Label(t("rep.as_of"), htmlFor=AS_OF),
            dcc.DatePickerSingle(id=AS_OF, date=dt.date.today().isoformat(),
                                 display_format="DD/MM/YYYY", first_day_of_week=1,
                                 placeholder=t("rep.as_of_placeholder")),
            html.P(t("rep.rule"), className="hint"),
        ],
        className="filters",
    )
    main = html.Section(
        [
            html.H2(t("rep.title")),
            html.Div(id=SUMMARY, className="kpis", role="status"),
            html.Div(id=TABLE),
            html.H3(t("rep.reminder")),
            html.P(t("rep.reminder_hint"), className="hint"),
            html.Div([dcc.Textarea(id=REMINDER, readOnly=True, className="reminder", rows=14),
                      dcc.Clipboard(id=COPY, target_id=REMINDER, title=t("rep.copy"),
                                    className="copy")],
                     className="reminder-box"),
        ],
        className="main-panel reporting-panel",
    )
    return [side, main, dcc.Store(id=LANG, data=lang)]


# -- what the page shows -------------------------------------------------------------------


def _calendars(an: Analyses) -> list[Plan]:
    """The plans that carry a reporting calendar."""
    return [plan for plan in an.plans() if plan.reporting is not None]


def _value(plan: Plan, period: ReportingPeriod) -> str:
    return f"{plan.id}:{period.id}"


def _default(plans: list[Plan], today: dt.date) -> str | None:
    """The period whose due day passed last (else the first period): the meeting's."""
    options = [(p.due_before, _value(plan, p)) for plan in plans for p in plan.reporting.periods]
    due = [o for o in options if o[0] is not None and o[0] <= today]
    if due:
        return max(due)[1]
    return options[0][1] if options else None


def _percent(value: float | None, lang: str) -> str:
    return "–" if value is None else f"{format_number(value, lang, 1)} %"


def _summary(rate: ReportingRate, lang: str) -> list:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731

    def card(key: str, value) -> html.Div:
        return html.Div([html.Div(t(f"rep.sum.{key}"), className="kpi-label"),
                         html.Div(value, className="kpi-value", id=f"rep-sum-{key}")],
                        className="kpi")

    count = lambda n: "–" if n is None else format_number(n, lang)  # noqa: E731
    return [card("expected", count(rate.expected)), card("received", count(rate.received)),
            card("on_time", count(rate.on_time)), card("late", count(rate.late)),
            card("missing", count(rate.missing)), card("rate", _percent(rate.rate, lang)),
            card("on_time_rate", _percent(rate.on_time_rate, lang))]


def _day(value, lang: str) -> str:
    return "–" if value is None or value != value else format_date(value, lang)


def _table(status: pd.DataFrame, lang: str) -> html.Table:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    head = html.Tr([html.Th(t(f"rep.col.{k}")) for k in
                    ("agency", "state", "first", "last", "imports", "days_late")])
    rows = [
        html.Tr([html.Td(r.agency),
                 html.Td(t(f"rep.state.{r.state}"), className=f"state state-{r.state}"),
                 html.Td(_day(r.first_received, lang)), html.Td(_day(r.last_received, lang)),
                 html.Td(format_number(r.imports, lang)),
                 html.Td(format_number(r.days_late, lang) if r.days_late else "–")],
                className=f"rep-row rep-{r.state}")
        for r in status.itertuples()
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="ranked reporting")


def reminder_text(plan: Plan, period: ReportingPeriod, status: pd.DataFrame, as_of: dt.date,
                  lang: str = "vi") -> str:
    """The reminder to copy into a message: the agencies whose report has not come.

    Parameters
    ----------
    plan : Plan
        The plan whose calendar the period is in (its document is cited).
    period : ReportingPeriod
    status : DataFrame
        :func:`layers.reporting.period_status` of the period.
    as_of : date
        The day the reminder is written.
    lang : {"vi", "en"}

    Returns
    -------
    str
        Plain text, one agency a line, in the register of the province's
        letters; when every agency has reported, a line saying so.
    """
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    label = period.label_vi if lang == "vi" else period.label_en
    waiting = status[status["state"].isin(["missing", "not_due", "not_received"])]
    if waiting.empty:
        return t("rep.reminder.none", period=label)
    overdue = bool((waiting["state"] == "missing").any())
    src = plan.source
    lines = [t("rep.reminder.to", agencies="; ".join(waiting["agency"])), "",
             t("rep.reminder.cite", document=src.document, date=format_date(src.date, lang),
               issuer=src.issuer)
             + " " + (t("rep.reminder.overdue", as_of=format_date(as_of, lang),
                        to=plan.reporting.to, period=label,
                        due=format_date(period.due_before, lang)) if overdue else
                      t("rep.reminder.pending", as_of=format_date(as_of, lang),
                        to=plan.reporting.to, period=label) if period.due_before is None else
                      t("rep.reminder.before", as_of=format_date(as_of, lang),
                        to=plan.reporting.to, period=label,
                        due=format_date(period.due_before, lang)))]
    names = list(waiting["agency"])
    lines += [f"- {name}{'.' if i == len(names) - 1 else ';'}" for i, name in enumerate(names)]
    lines += ["", t("rep.reminder.ask_overdue" if overdue else "rep.reminder.ask",
                    to=plan.reporting.to,
                    due=format_date(period.due_before, lang) if period.due_before else "")]
    return "\n".join(lines)


# -- callbacks ---------------------------------------------------------------------------


def _as_of(value) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return dt.date.today()


def register_callbacks(app: Dash, ctx: AppContext, an: Analyses) -> None:
    """The period choices, then the summary, table and reminder of the chosen period."""

    @app.callback(Output(PERIOD, "options"), Output(PERIOD, "value"), Input(LANG, "data"))
    def periods(lang):
        lang = known_language(lang, ctx.settings.language)
        try:
            plans = _calendars(an)
        except PlanError:  # the other pages show the plan file's problems
            return [], None
        options = [{"label": (p.label_vi if lang == "vi" else p.label_en)
                    + (f" · {plan.source.document}" if len(plans) > 1 else ""),
                    "value": _value(plan, p)}
                   for plan in plans for p in plan.reporting.periods]
        return options, _default(plans, dt.date.today())

    @app.callback(Output(SUMMARY, "children"), Output(TABLE, "children"),
                  Output(REMINDER, "value"),
                  Input(PERIOD, "value"), Input(AS_OF, "date"), State(LANG, "data"))
    def show(value, as_of, lang):
        lang = known_language(lang, ctx.settings.language)
        try:
            plans = {plan.id: plan for plan in _calendars(an)}
        except PlanError:
            plans = {}
        plan_id, _, period_id = str(value or "").partition(":")
        plan = plans.get(plan_id)
        if plan is None or period_id not in {p.id for p in plan.reporting.periods}:
            return [], html.P(translate("rep.none", lang), className="hint"), ""
        period = plan.reporting.period(period_id)
        day = _as_of(as_of)
        status = period_status(plan.reporting, period, ctx.records.current().reports,
                               as_of=day)
        rate = reporting_rate(status, period)
        due = (translate("rep.due", lang, due=format_date(period.due_before, lang))
               if period.due_before else translate("rep.no_due", lang))
        table = [html.P([html.Strong(period.label_vi if lang == "vi" else period.label_en),
                         f" ({format_date(period.start, lang)} – "
                         f"{format_date(period.end, lang)}) · {due}"], className="period-line"),
                 _table(status, lang)]
        return _summary(rate, lang), table, reminder_text(plan, period, status, day, lang)
