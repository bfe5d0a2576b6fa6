"""The reporting periods users pick, and which records fall in a period.

Reports to the steering committee are quarterly, at six months and yearly;
the peak campaign runs 01/7–30/9. Each preset is computed from the day the
data ends (the latest record), so a fresh import shows its own latest period.
A period is always read with both its days included (:func:`within`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = ["PRESETS", "four_quarters", "preset_period", "within"]

#: Preset names, in the order the UI lists them.
PRESETS = ("quarter", "half", "year", "campaign", "all")


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


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
    >>> d = pd.Series(pd.to_datetime(["2024-03-31", "2024-06-30 23:00", "2024-07-01", None]))
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
