"""The period every page filters by: the data's own span, the dates a picker sends, the text.

Shared by the pages so that they read a date picker the same way (ISO text,
or nothing) and write a period the same way (dd/mm/yyyy – dd/mm/yyyy).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import weakref

from dashboard.context import AppContext
from dashboard.i18n import format_date, translate

__all__ = ["PERIOD_JS", "chosen_period", "data_period", "matching_preset", "parse_date",
           "period_answer", "period_picker", "period_text", "preset_store", "preset_table",
           "presets_id", "register_period"]


#: The span of the last incidents read (a weak reference to their frame, the span): every
#: callback reads the period, and the minimum and maximum of a million dates cost
#: milliseconds each time.
_SPAN: list = [None, None]
_SPAN_LOCK = threading.Lock()


def data_period(ctx: AppContext) -> tuple[dt.date, dt.date]:
    """First and last day of the stored incidents (this year so far when there are none)."""
    incidents = ctx.incidents
    dates = incidents["date"]
    if dates.empty:
        return dt.date(ctx.extracted.year, 1, 1), ctx.extracted
    with _SPAN_LOCK:
        kept, span = _SPAN
    if kept is None or kept() is not incidents:  # the records of another revision, or app
        span = dates.min().date(), dates.max().date()
        with _SPAN_LOCK:
            _SPAN[:] = [weakref.ref(incidents), span]
    return span


def parse_date(value: str | None) -> dt.date | None:
    """A date picker's value ("2024-08-05" or "2024-08-05T00:00:00"), or None if unreadable."""
    try:
        return dt.date.fromisoformat(value[:10]) if isinstance(value, str) and value else None
    except (TypeError, ValueError):
        return None


#: The earliest date a period may start (the importer refuses records before 2000).
EARLIEST = dt.date(2000, 1, 1)


def chosen_period(ctx: AppContext, start_date, end_date) -> tuple[dt.date, dt.date]:
    """The picker's period, the data's span where a side is missing, in order, and within
    01/01/2000 … the later of the data's last day and the extraction date (a hand-made
    request for year 1 or 9999 gets the nearest possible period, not a crash)."""
    first, last = data_period(ctx)
    latest = max(last, ctx.extracted)
    start = min(max(parse_date(start_date) or first, EARLIEST), latest)
    end = min(max(parse_date(end_date) or last, EARLIEST), latest)
    return (end, start) if end < start else (start, end)


def period_picker(ctx: AppContext, picker_id: str, start, end, lang: str):
    """The period's date picker of every page: dd/mm/yyyy, weeks from Monday, 01/01/2000 up
    to the later of the data's last day and the extraction date, and its empty boxes
    saying "Từ ngày"/"Đến ngày" (the calendar's month and day names follow the page's
    language in the browser: ``dashboard/assets/language.js``)."""
    from dash import dcc

    return dcc.DatePickerRange(
        id=picker_id, start_date=start, end_date=end,
        min_date_allowed=EARLIEST, max_date_allowed=max(data_period(ctx)[1], ctx.extracted),
        display_format="DD/MM/YYYY", first_day_of_week=1,
        start_date_placeholder_text=translate("period.start_placeholder", lang),
        end_date_placeholder_text=translate("period.end_placeholder", lang),
    )


def period_text(start: dt.date, end: dt.date, lang: str) -> str:
    """"01/07/2024 – 30/09/2024"."""
    return translate("period.range", lang, start=format_date(start, lang),
                     end=format_date(end, lang))


def preset_table(ctx: AppContext) -> list[list[str]]:
    """``[[name, first day, last day], …]`` of every preset on the stored data, in the order
    of :data:`layers.periods.PRESETS` (ISO dates): what a page sends to the browser, so
    that choosing a preset sets the dates there, without a round trip."""
    from layers.periods import PRESETS, preset_period

    first, last = data_period(ctx)
    return [[name, *(d.isoformat() for d in preset_period(name, last, first))]
            for name in PRESETS]


def presets_id(period_id: str) -> str:
    """The id of the ``dcc.Store`` that holds a page's :func:`preset_table`."""
    return f"{period_id}-presets"


def preset_store(ctx: AppContext, period_id: str):
    """The ``dcc.Store`` of a page with presets: its :func:`preset_table`, as laid out."""
    from dash import dcc

    return dcc.Store(id=presets_id(period_id), data=preset_table(ctx))


def _iso(value) -> str | None:
    """A picker's date as ISO text if it starts with a real ``yyyy-mm-dd`` day, else None."""
    date = parse_date(value) if isinstance(value, str) and _ISO_DAY.match(value) else None
    return date.isoformat() if date else None


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def period_answer(start_date, end_date, preset=None, table=None, changed=()) -> dict:
    """What the period's picker and presets become after a change: ``{"start_date": …,
    "end_date": …, "preset": …}``, each key only when it changes (the rule of
    :func:`register_period`; :data:`PERIOD_JS` is the same rule in the browser).

    Parameters
    ----------
    start_date, end_date : str or None
        The picker's dates (ISO text, as the picker sends them).
    preset : str or None
        The preset ticked; ``table``: the page's :func:`preset_table` (``None``: a page with
        no presets).
    changed : iterable of str
        The properties that changed (``"start_date"``, ``"end_date"``, ``"value"``).

    Examples
    --------
    >>> table = [["quarter", "2025-10-01", "2025-12-31"], ["year", "2025-01-01", "2025-12-31"]]
    >>> period_answer("2025-10-01", "2025-12-31", "quarter", table, ["value"])
    {'start_date': '2025-10-01', 'end_date': '2025-12-31'}
    >>> period_answer("2025-12-31", "2025-01-01", "quarter", table, ["start_date"])
    {'start_date': '2025-01-01', 'end_date': '2025-12-31', 'preset': 'year'}
    >>> period_answer("2025-05-15", "2025-08-20", "quarter", table, ["end_date"])
    {'preset': None}
    """
    changed = set(changed)
    rows = [r for r in table if isinstance(r, (list, tuple)) and len(r) == 3] \
        if isinstance(table, (list, tuple)) else None
    if rows is not None and changed == {"value"}:
        period = next((r[1:] for r in rows if r[0] == preset), None)
        return {} if period is None else {"start_date": period[0], "end_date": period[1]}
    start, end = _iso(start_date), _iso(end_date)
    answer = {}
    if start and end and end < start:
        start, end = end, start
        answer = {"start_date": start, "end_date": end}
    if rows is None:
        return answer
    matching = next((r[0] for r in rows if start and end and [start, end] == list(r[1:])),
                    None)
    if matching != preset:
        answer["preset"] = matching
    return answer


#: :func:`period_answer` in the browser: ``(start, end[, preset, table]) → [start, end[,
#: preset]]`` (``no_update`` where nothing changes). The dates are read as
#: :func:`parse_date` reads them (the first ten characters, a real calendar day).
PERIOD_JS = r"""function (startDate, endDate, preset, table) {
    const none = window.dash_clientside.no_update;
    const withPresets = arguments.length > 2;
    const triggered = (window.dash_clientside.callback_context.triggered || []).map(
        function (t) { return String(t.prop_id).split(".").pop(); });
    const changed = new Set(triggered);
    const rows = Array.isArray(table) ? table.filter(function (r) {
        return Array.isArray(r) && r.length === 3; }) : null;
    if (withPresets && rows !== null && changed.size === 1 && changed.has("value")) {
        const row = rows.find(function (r) { return r[0] === preset; });
        return row ? [row[1], row[2], none] : [none, none, none];
    }
    const iso = function (v) {
        if (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(v)) { return null; }
        const s = v.slice(0, 10), y = +s.slice(0, 4), m = +s.slice(5, 7), d = +s.slice(8, 10);
        const t = new Date(Date.UTC(2000, m - 1, d));
        t.setUTCFullYear(y);
        const ok = y >= 1 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1
            && t.getUTCDate() === d;
        return ok ? s : null;
    };
    let start = iso(startDate), end = iso(endDate);
    const answer = [none, none];
    if (start && end && end < start) {
        const first = end;
        end = start;
        start = first;
        answer[0] = start;
        answer[1] = end;
    }
    if (!withPresets) { return answer; }
    if (rows === null) { return [...answer, none]; }
    const row = rows.find(function (r) { return start && end && r[1] === start && r[2] === end; });
    const matching = row ? row[0] : null;
    return [...answer, matching !== (preset === undefined ? null : preset) ? matching : none];
}"""


def register_period(app, ctx: AppContext, period_id: str, preset_id: str | None = None) -> None:
    """Keep a page's date picker and its presets in step, in the browser (a clientside
    callback: no round trip before the map's own request).

    - choosing a preset (quarter, 6 months, year, campaign, all) sets the dates, those of
      the page's :func:`preset_store` (laid out with the page);
    - dates typed or clicked in the wrong order are put in order, so the picker shows the
      period the map shows and the link holds (never ``from`` after ``to``);
    - new dates tick the preset they are exactly (the latest quarter ticks "Quý"), and a
      custom range ticks none, so that any preset, the last one chosen included, can be
      chosen again.

    The rule is :func:`period_answer`; :data:`PERIOD_JS` says it again in the browser.
    """
    from dash import Input, Output, State

    outputs = [Output(period_id, "start_date"), Output(period_id, "end_date")]
    inputs = [Input(period_id, "start_date"), Input(period_id, "end_date")]
    state = []
    if preset_id:
        outputs.append(Output(preset_id, "value"))
        inputs.append(Input(preset_id, "value"))
        state.append(State(presets_id(period_id), "data"))
    app.clientside_callback(PERIOD_JS, *outputs, *inputs, *state, prevent_initial_call=True)


def matching_preset(ctx: AppContext, start, end) -> str | None:
    """The preset whose period is exactly ``start``–``end`` (ISO text or dates), if any: so a
    reopened link shows "Quý" ticked when its dates are the latest quarter."""
    start = _iso(str(start)) if start is not None else None
    end = _iso(str(end)) if end is not None else None
    return next((name for name, first, last in preset_table(ctx)
                 if start and end and (first, last) == (start, end)), None)
