"""The province's incidents over time: counts per month or quarter and type, the campaign windows.

What answers "are they growing?" (issue 17): one tidy row per period and incident type,
every period of the span present (zero where nothing was recorded), and the peak campaign
windows (01/7–30/9, :data:`layers.compare.CAMPAIGN`) that fall in the span, to be shaded.

Below commander the counts are the release plan's province cells
(:meth:`layers.suppression.ReleasePlan.cells`): :func:`released_trend` keeps a count only
where the plan publishes that cell and gives the plan's label ("< 5", "x") elsewhere. The
plan's grid has quarters, not months, so a monthly trend is refused below commander, as is
any count that differs from the plan's (a plan built from other records).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from geo.units import PROVINCE_CODE
from layers.compare import CAMPAIGN
from layers.counts import INCIDENT_TYPES
from layers.suppression import PUBLISHED, ReleasePlan, ReleaseRefused

__all__ = ["FREQS", "campaign_windows", "province_trend", "released_trend"]

#: The trend's steps: quarters (the committee's reports, the release grid) and months.
FREQS = ("Q", "M")


def _as_day(value) -> dt.date:
    return pd.Timestamp(value).date()


def province_trend(
    incidents: pd.DataFrame,
    *,
    freq: str = "Q",
    types: Iterable[str] | None = None,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> pd.DataFrame:
    """Incident records of the province per period and type.

    Parameters
    ----------
    incidents : DataFrame
        Joined records with ``date`` (datetime64) and ``type``.
    freq : {"Q", "M"}
        Quarters or calendar months.
    types : iterable of str, optional
        Incident types, in the order of :data:`~layers.counts.INCIDENT_TYPES`; all when
        ``None``.
    first, last : date, optional
        The span: every period from the one holding ``first`` to the one holding ``last``
        (default: the earliest and latest record). Records outside the span are not
        counted.

    Returns
    -------
    DataFrame
        One row per period and type, periods in time order: ``period`` (``"2024Q3"``,
        ``"2024-07"``), ``start`` and ``end`` (the period's first and last day, dates),
        ``type`` and ``count`` (int). Empty (same columns) when there is no record and no
        span.

    Examples
    --------
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-02-01", "2024-08-01", "2024-08-02"]),
    ...                     "type": ["tip", "tip", "victim"]})
    >>> t = province_trend(inc, types=["tip", "victim"])
    >>> t.pivot(index="period", columns="type", values="count").to_dict("list")
    {'tip': [1, 0, 1], 'victim': [0, 0, 1]}
    >>> t["start"].iloc[-1], t["end"].iloc[-1]
    (datetime.date(2024, 7, 1), datetime.date(2024, 9, 30))
    """
    if freq not in FREQS:
        raise ValueError(f"unknown step {freq!r}; expected one of {FREQS}")
    chosen = [t for t in INCIDENT_TYPES if t in set(INCIDENT_TYPES if types is None else types)]
    unknown = set(() if types is None else types) - set(INCIDENT_TYPES)
    if unknown:
        raise ValueError(f"unknown incident types {sorted(unknown)}")
    dates = pd.to_datetime(incidents["date"]) if len(incidents) else pd.Series(
        [], dtype="datetime64[ns]")
    first = _as_day(first) if first is not None else (
        dates.min().date() if dates.notna().any() else None)
    last = _as_day(last) if last is not None else (
        dates.max().date() if dates.notna().any() else None)
    columns = ["period", "start", "end", "type", "count"]
    if first is None or last is None:
        return pd.DataFrame(columns=columns)
    if last < first:
        raise ValueError(f"the span ends ({last}) before it starts ({first})")
    periods = pd.period_range(pd.Period(first, freq), pd.Period(last, freq), freq=freq)
    own = incidents.loc[incidents["type"].isin(chosen) & dates.notna()]
    steps = pd.to_datetime(own["date"]).dt.to_period(freq)
    counts = (own.assign(period=steps).groupby(["period", "type"]).size()
              .reindex(pd.MultiIndex.from_product([periods, chosen]), fill_value=0))
    frame = counts.rename("count").reset_index()
    frame.columns = ["period", "type", "count"]
    frame["start"] = [p.start_time.date() for p in frame["period"]]
    frame["end"] = [p.end_time.date() for p in frame["period"]]
    frame["period"] = [_label(p) for p in frame["period"]]
    frame["count"] = frame["count"].astype(int)
    return frame[columns]


def _label(period: pd.Period) -> str:
    return f"{period.year}Q{period.quarter}" if period.freqstr.startswith("Q") else \
        f"{period.year}-{period.month:02d}"


def campaign_windows(first: dt.date, last: dt.date) -> pd.DataFrame:
    """The peak campaign windows (01/7–30/9 of each year) that meet ``first``–``last``.

    Returns
    -------
    DataFrame
        ``year``, ``start``, ``end`` (dates, whole windows, not clipped to the span).

    Examples
    --------
    >>> campaign_windows(dt.date(2023, 8, 15), dt.date(2025, 3, 31)).to_dict("list")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'year': [2023, 2024], 'start': [datetime.date(2023, 7, 1), datetime.date(2024, 7, 1)],
     'end': [datetime.date(2023, 9, 30), datetime.date(2024, 9, 30)]}
    """
    (m1, d1), (m2, d2) = CAMPAIGN
    first, last = _as_day(first), _as_day(last)
    rows = [(y, dt.date(y, m1, d1), dt.date(y, m2, d2)) for y in range(first.year, last.year + 1)]
    rows = [r for r in rows if r[1] <= last and r[2] >= first]
    return pd.DataFrame(rows, columns=["year", "start", "end"]).astype({"year": int})


def released_trend(trend: pd.DataFrame, plan: ReleasePlan) -> pd.DataFrame:
    """The quarterly trend as a role below commander may see it: the plan's province cells.

    Parameters
    ----------
    trend : DataFrame
        A quarterly :func:`province_trend` of the records the plan was built from.
    plan : ReleasePlan

    Returns
    -------
    DataFrame
        ``period``, ``start``, ``end``, ``type``, ``count`` (``Int64``, missing where the
        plan does not publish the cell) and ``label`` (the plan's ``"< 5"`` or ``"x"``
        there, else missing).

    Raises
    ------
    ReleaseRefused
        A monthly trend (months are not on the release grid), a type the plan does not
        hold, or a count that differs from the plan's.
    """
    if trend.empty:
        return trend.assign(count=pd.Series([], dtype="Int64"), label=pd.Series([], dtype=object))
    if not trend["period"].str.fullmatch(r"\d{4}Q[1-4]").all():
        raise ReleaseRefused("a trend below commander is released by quarter only: months "
                             "are not periods of the release grid")
    parts = []
    for (period, kind), rows in trend.groupby(["period", "type"], sort=False):
        year = int(period[:4])
        # a quarter outside the plan's years holds no record: a zero, published
        label = period if plan.first_year <= year <= plan.last_year else f"outside:{period}"
        cells = plan.cells("province", [PROVINCE_CODE], label, plan.type_key([kind]))
        parts.append(cells.assign(row=rows.index[0]))
    cells = pd.concat(parts).set_index("row").reindex(trend.index)
    counts = trend["count"].to_numpy()
    if not np.array_equal(counts, pd.to_numeric(cells["count"]).to_numpy()):
        raise ReleaseRefused("the trend differs from the plan's province counts: the plan was "
                             "built from other records (rebuild it after an import)")
    shown = (cells["status"] == PUBLISHED).to_numpy()
    out = trend.copy()
    out["count"] = pd.array(np.where(shown, counts, 0), dtype="Int64")
    out.loc[~shown, "count"] = pd.NA
    out["label"] = np.where(shown, None, cells["label"].to_numpy()).astype(object)
    return out
