"""The period every page filters by: the data's own span, the dates a picker sends, the text.

Shared by the pages so that they read a date picker the same way (ISO text,
or nothing) and write a period the same way (dd/mm/yyyy – dd/mm/yyyy).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref

from dashboard.context import AppContext
from dashboard.i18n import format_date, translate

__all__ = ["chosen_period", "data_period", "matching_preset", "parse_date", "period_picker",
           "period_text", "register_period"]


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


def register_period(app, ctx: AppContext, period_id: str, preset_id: str | None = None) -> None:
    """Keep a page's date picker and its presets in step, in one callback.

    - choosing a preset (quarter, 6 months, year, campaign, all) sets the dates;
    - dates typed or clicked in the wrong order are put in order, so the picker shows the
      period the map shows and the link holds (never ``from`` after ``to``);
    - new dates tick the preset they are exactly (the latest quarter ticks "Quý"), and a
      custom range ticks none, so that any preset, the last one chosen included, can be
      chosen again.
    """
    from dash import Input, Output, ctx as dash_ctx, no_update

    from layers.periods import PRESETS, preset_period

    outputs = [Output(period_id, "start_date"), Output(period_id, "end_date")]
    inputs = [Input(period_id, "start_date"), Input(period_id, "end_date")]
    if preset_id:
        outputs.append(Output(preset_id, "value"))
        inputs.append(Input(preset_id, "value"))

    @app.callback(*outputs, *inputs, prevent_initial_call=True)
    def period(start_date, end_date, name=None):
        changed = {key.rsplit(".", 1)[-1] for key in dash_ctx.triggered_prop_ids}
        if preset_id and changed == {"value"}:
            if name not in PRESETS:
                return no_update, no_update, no_update
            first, last = data_period(ctx)
            start, end = preset_period(name, last, first)
            return start.isoformat(), end.isoformat(), no_update
        start, end = parse_date(start_date), parse_date(end_date)
        dates = [no_update, no_update]
        if start and end and end < start:
            start, end = end, start
            dates = [start.isoformat(), end.isoformat()]
        if not preset_id:
            return tuple(dates)
        matching = matching_preset(ctx, start, end) if start and end else None
        return (*dates, matching if matching != name else no_update)


def matching_preset(ctx: AppContext, start, end) -> str | None:
    """The preset whose period is exactly ``start``–``end`` (ISO text or dates), if any: so a
    reopened link shows "Quý" ticked when its dates are the latest quarter."""
    from layers.periods import PRESETS, preset_period

    start = parse_date(str(start)) if start is not None else None
    end = parse_date(str(end)) if end is not None else None
    first, last = data_period(ctx)
    for name in PRESETS:
        if preset_period(name, last, first) == (start, end):
            return name
    return None
