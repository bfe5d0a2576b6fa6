"""The reporting periods users pick, and which records fall in a period.

Reports to the steering committee are quarterly, at six months and yearly;
the peak campaign runs 01/7–30/9. Each preset is computed from the day the
data ends (the latest record), so a fresh import shows its own latest period.
A period is always read with both its days included (:func:`within`).
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

__all__ = ["PRESETS", "data_quarters", "four_quarters", "latest_complete_quarter",
           "parse_quarter", "preset_period", "quarter_code", "quarter_number", "within"]

#: Preset names, in the order the UI lists them.
PRESETS = ("quarter", "half", "year", "campaign", "all")
#: A quarter as written on the command line and in forms: 2025Q3, 2025-q3.
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([0-9]+)\s*$")


def quarter_number(day: dt.date) -> int:
    """The quarter of its year (1–4) that ``day`` falls in.

    Examples
    --------
    >>> quarter_number(dt.date(2025, 9, 30)), quarter_number(dt.date(2025, 10, 1))
    (3, 4)
    """
    return (day.month - 1) // 3 + 1


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * quarter_number(day) - 2, 1)


def preset_period(name: str, last: dt.date, first: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The period of preset ``name`` for data ending on ``last`` (and starting on ``first``).

    - ``quarter``: the calendar quarter holding ``last``, up to ``last``;
    - ``half``: the six calendar months ending with ``last``'s month;
    - ``year``: 01/01 to ``last`` of ``last``'s year;
    - ``campaign``: 01/7–30/9 of the latest year whose campaign has begun by ``last``;
    - ``all``: ``first`` to ``last``.

    >>> preset_period("quarter", dt.date(2025, 8, 14))
    (datetime.date(2025, 7, 1), datetime.date(2025, 8, 14))
    >>> preset_period("half", dt.date(2025, 8, 14))
    (datetime.date(2025, 3, 1), datetime.date(2025, 8, 14))
    >>> preset_period("campaign", dt.date(2025, 3, 2))
    (datetime.date(2024, 7, 1), datetime.date(2024, 9, 30))
    """
    if name == "quarter":
        return _quarter_start(last), last
    if name == "half":
        index = last.year * 12 + last.month - 1 - 5
        return dt.date(index // 12, index % 12 + 1, 1), last
    if name == "year":
        return dt.date(last.year, 1, 1), last
    if name == "campaign":
        year = last.year if last >= dt.date(last.year, 7, 1) else last.year - 1
        return dt.date(year, 7, 1), min(dt.date(year, 9, 30), last)
    if name == "all":
        return (first or dt.date(last.year, 1, 1)), last
    raise ValueError(f"unknown period preset {name!r}; expected one of {PRESETS}")


def four_quarters(end: dt.date) -> tuple[dt.date, dt.date]:
    """The four calendar quarters up to ``end``: the longer period a map may need when one
    quarter holds too few incidents for any commune to be significant.

    From the first day of the quarter three quarters before ``end``'s, to ``end``.

    >>> four_quarters(dt.date(2025, 12, 31))
    (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    >>> four_quarters(dt.date(2025, 6, 30))
    (datetime.date(2024, 7, 1), datetime.date(2025, 6, 30))
    """
    first = _quarter_start(end)
    index = first.year * 12 + first.month - 1 - 9
    return dt.date(index // 12, index % 12 + 1, 1), end


def within(dates: pd.Series, start=None, end=None) -> pd.Series:
    """Which ``dates`` fall in the period from ``start`` to ``end``, both days included.

    Every layer, measure and export counts a period this way, so that a record of the
    period's last day is never left out (a record dated 30/06 at 23:00 is in the first
    half-year). A bound left ``None`` leaves that side open; a missing date (NaT) is
    outside any bound.

    Parameters
    ----------
    dates : Series
        Dates or timestamps (anything :func:`pandas.to_datetime` reads).
    start, end : date, optional
        The first and last day of the period.

    Returns
    -------
    Series of bool
        Indexed as ``dates``.

    Examples
    --------
    >>> d = pd.Series(pd.to_datetime(["2024-03-31 08:00", "2024-06-30 23:00", "2024-07-01 00:00",
    ...                               None]))
    >>> within(d, dt.date(2024, 4, 1), dt.date(2024, 6, 30)).tolist()
    [False, True, False, False]
    >>> within(d, end=dt.date(2024, 6, 30)).tolist()
    [True, True, False, False]
    """
    dates = pd.to_datetime(dates)
    inside = pd.Series(True, index=dates.index)
    if start is not None:
        inside &= dates >= pd.Timestamp(start)
    if end is not None:
        inside &= dates < pd.Timestamp(end) + pd.Timedelta(days=1)
    return inside


def parse_quarter(text: str) -> tuple[dt.date, dt.date]:
    """First and last day of a quarter written ``2025Q3`` (also ``2025-Q3``, any case).

    Raises
    ------
    ValueError
        When the text is not a year and a quarter 1–4.

    Examples
    --------
    >>> parse_quarter("2025Q3")
    (datetime.date(2025, 7, 1), datetime.date(2025, 9, 30))
    >>> parse_quarter("2024-q4")
    (datetime.date(2024, 10, 1), datetime.date(2024, 12, 31))
    """
    match = _QUARTER.match(text if isinstance(text, str) else "")
    if not match or not 1 <= int(match.group(2)) <= 4:
        raise ValueError(f"not a quarter: {text!r} (write the year and the quarter 1-4, "
                         "e.g. 2025Q3)")
    period = pd.Period(f"{int(match.group(1))}Q{int(match.group(2))}", "Q")
    return period.start_time.date(), period.end_time.date()


def quarter_code(start: dt.date, end: dt.date) -> str | None:
    """``"2025Q3"`` when ``start``–``end`` is exactly one calendar quarter, else None.

    Examples
    --------
    >>> quarter_code(dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    '2025Q3'
    >>> quarter_code(dt.date(2025, 7, 1), dt.date(2025, 9, 29)) is None
    True
    """
    period = pd.Period(start, "Q")
    if period.start_time.date() == start and period.end_time.date() == end:
        return f"{period.year}Q{period.quarter}"
    return None


def data_quarters(first: dt.date, last: dt.date) -> list[str]:
    """The quarters from the one holding ``first`` to the one holding ``last``, newest first.

    Examples
    --------
    >>> data_quarters(dt.date(2024, 11, 3), dt.date(2025, 2, 1))
    ['2025Q1', '2024Q4']
    """
    periods = pd.period_range(pd.Period(first, "Q"), pd.Period(last, "Q"), freq="Q")
    return [f"{p.year}Q{p.quarter}" for p in reversed(periods)]


def latest_complete_quarter(last: dt.date, today: dt.date) -> str:
    """The latest quarter the data covers in full.

    The quarter holding the last record counts when it has ended: the record
    is its last day, or ``today`` (the extraction date) is past its end.
    Otherwise the quarter before it.

    Examples
    --------
    >>> latest_complete_quarter(dt.date(2025, 12, 31), dt.date(2026, 11, 23))
    '2025Q4'
    >>> latest_complete_quarter(dt.date(2025, 8, 14), dt.date(2025, 8, 15))
    '2025Q2'
    >>> latest_complete_quarter(dt.date(2025, 9, 28), dt.date(2025, 10, 2))
    '2025Q3'
    """
    period = pd.Period(last, "Q")
    end = period.end_time.date()
    if not (last >= end or today > end):
        period -= 1
    return f"{period.year}Q{period.quarter}"
