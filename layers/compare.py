"""Period comparison: this period against the previous one, a year before, and the campaign window.

A commander asks "is it growing here?". Counts are compared with a test fit
for counts: given the two counts ``a`` (this period) and ``b`` (the other),
under "same daily rate" ``a`` follows Binomial(a + b, t_a / (t_a + t_b)),
where ``t`` are the periods' lengths in days (the conditional test for two
Poisson rates, exact, from :func:`scipy.stats.binomtest`). Small counts
therefore need large changes to be called significant, which is the point.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from layers.counts import INCIDENT_TYPES
from layers.layer import Caveat, Layer

__all__ = ["CAMPAIGN", "CHANGE_SCALE", "campaign_comparison", "compare_periods",
           "poisson_rate_test", "previous_period", "year_before"]

#: The yearly peak-campaign window (đợt cao điểm) around the 30/7 national day: 01/7–30/9.
CAMPAIGN = ((7, 1), (9, 30))
#: Stepped scale for −1 (significant fall), 0, +1 (significant rise): mid blue / near
#: white / dark red. Red and blue stay apart for the common colour-vision deficiencies,
#: and the three classes have three lightnesses (L* 77, 97, 38), so a grey print still
#: tells a rise (dark) from a fall (mid grey) — a dark blue would print like the red.
CHANGE_SCALE = ((0.0, "#92c5de"), (0.3333, "#92c5de"), (0.3334, "#f7f7f7"), (0.6666, "#f7f7f7"),
                (0.6667, "#b2182b"), (1.0, "#b2182b"))


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period just before ``start``: as many whole months, else as many days.

    A quarter is compared with the quarter before (not 92 days back), any
    other span with the same number of days ending the day before ``start``.

    >>> previous_period(dt.date(2024, 7, 1), dt.date(2024, 9, 30))
    (datetime.date(2024, 4, 1), datetime.date(2024, 6, 30))
    >>> previous_period(dt.date(2024, 7, 10), dt.date(2024, 7, 19))
    (datetime.date(2024, 6, 30), datetime.date(2024, 7, 9))
    """
    prev_end = start - dt.timedelta(days=1)
    if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        index = start.year * 12 + start.month - 1 - months
        return dt.date(index // 12, index % 12 + 1, 1), prev_end
    return prev_end - dt.timedelta(days=(end - start).days), prev_end


def year_before(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The same calendar period a year earlier (29/2 becomes 28/2)."""
    def back(d: dt.date) -> dt.date:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:
            return d.replace(year=d.year - 1, day=28)
    return back(start), back(end)


def poisson_rate_test(a: int, b: int, days_a: float, days_b: float) -> float:
    """Two-sided p-value that counts ``a`` and ``b`` over these lengths share one daily rate.

    >>> round(poisson_rate_test(20, 5, 90, 90), 4)
    0.0041
    >>> poisson_rate_test(0, 0, 90, 90)
    1.0
    """
    n = int(a) + int(b)
    if n == 0:
        return 1.0
    return float(binomtest(int(a), n, days_a / (days_a + days_b)).pvalue)


def _counts(incidents: pd.DataFrame, column: str, types, start: dt.date, end: dt.date):
    mask = incidents["type"].isin(types)
    mask &= incidents["date"] >= pd.Timestamp(start)
    mask &= incidents["date"] < pd.Timestamp(end) + pd.Timedelta(days=1)
    return incidents.loc[mask].groupby(column).size()


def compare_periods(
    incidents: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    unit_set: str,
    start: dt.date,
    end: dt.date,
    against: str = "previous",
    types: Iterable[str] | None = None,
    alpha: float = 0.05,
    caveats: Iterable[Caveat] = (),
) -> Layer:
    """Counts per commune in ``start``–``end`` against another period, with a test per commune.

    Parameters
    ----------
    incidents : DataFrame
        Joined records: ``date``, ``type``, ``new_code``, ``old_code``.
    communes : DataFrame
        Units of ``unit_set`` indexed by code, with ``name``.
    unit_set : {"2025", "legacy"}
    start, end : date
        This period, inclusive.
    against : {"previous", "year_before"}
        The period of the same length just before, or the same dates a year earlier.
    types : iterable of str, optional
    alpha : float
        Significance level of the per-commune test.
    caveats : iterable of Caveat

    Returns
    -------
    Layer
        ``frame``: ``name``, ``count``, ``other``, ``change`` (count − other),
        ``ratio`` (NaN where other is 0), ``p_value``, ``trend`` (+1 significant
        rise, −1 significant fall, 0 otherwise); value = ``trend``. ``params``
        hold both periods and the province totals with their own test.

    Examples
    --------
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-08-01"] * 12 + ["2024-05-01"]),
    ...                     "type": "tip", "new_code": "25681", "old_code": "25699"})
    >>> com = pd.DataFrame({"name": ["Xã Bến Cầu"]}, index=["25681"])
    >>> layer = compare_periods(inc, com, unit_set="2025", start=dt.date(2024, 7, 1),
    ...                         end=dt.date(2024, 9, 30))
    >>> layer.frame[["count", "other", "trend"]].values.tolist()
    [[12, 1, 1]]
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if against not in ("previous", "year_before"):
        raise ValueError(f"against must be 'previous' or 'year_before', not {against!r}")
    chosen = tuple(INCIDENT_TYPES if types is None else types)
    column = "new_code" if unit_set == "2025" else "old_code"
    other_start, other_end = (previous_period if against == "previous" else year_before)(start, end)
    days = (end - start).days + 1
    other_days = (other_end - other_start).days + 1
    frame = communes[["name"]].copy()
    frame["count"] = _counts(incidents, column, chosen, start, end) \
        .reindex(frame.index, fill_value=0).astype(int)
    frame["other"] = _counts(incidents, column, chosen, other_start, other_end) \
        .reindex(frame.index, fill_value=0).astype(int)
    frame["change"] = frame["count"] - frame["other"]
    frame["ratio"] = np.where(frame["other"] > 0, frame["count"] / frame["other"].where(
        frame["other"] > 0, 1), np.nan)
    frame["p_value"] = [poisson_rate_test(a, b, days, other_days)
                        for a, b in zip(frame["count"], frame["other"], strict=True)]
    rate_up = frame["count"] / days > frame["other"] / other_days
    significant = frame["p_value"] < alpha
    frame["trend"] = np.where(significant, np.where(rate_up, 1, -1), 0).astype(int)
    total, total_other = int(frame["count"].sum()), int(frame["other"].sum())
    return Layer(
        frame=frame,
        value="trend",
        unit_set=unit_set,
        title_key=f"layer.compare.{against}.title",
        legend_key="layer.compare.legend",
        units_key="unit.records",
        params={
            "types": chosen, "start": start, "end": end, "against": against,
            "other_start": other_start, "other_end": other_end, "alpha": alpha,
            "total": total, "total_other": total_other,
            "total_p_value": poisson_rate_test(total, total_other, days, other_days),
            "test": "exact conditional binomial test of two Poisson rates (scipy binomtest)",
            "classes": tuple({"code": c, "message_key": f"trend.{c}"} for c in (-1, 0, 1)),
            "zmin": -1.5, "zmax": 1.5,
        },
        colorscale=CHANGE_SCALE,
        caveats=tuple(caveats),
    )


def _in_campaign(dates: pd.Series) -> pd.Series:
    (m1, d1), (m2, d2) = CAMPAIGN
    key = dates.dt.month * 100 + dates.dt.day
    return (key >= m1 * 100 + d1) & (key <= m2 * 100 + d2)


def campaign_comparison(
    incidents: pd.DataFrame,
    year: int,
    *,
    types: Iterable[str] | None = None,
    today: dt.date | None = None,
) -> dict:
    """Daily rate in the campaign window (01/7–30/9) of ``year`` against the rest of that year.

    Only the days of ``year`` up to ``today`` count, so a year in progress
    compares like with like.

    Returns
    -------
    dict
        ``campaign`` and ``rest`` counts, ``campaign_days``, ``rest_days``,
        the daily rates, their ``ratio`` and ``p_value``.

    Examples
    --------
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-07-15"] * 30 + ["2024-02-01"] * 10),
    ...                     "type": "tip"})
    >>> out = campaign_comparison(inc, 2024)
    >>> out["campaign"], out["rest"], out["p_value"] < 0.001
    (30, 10, True)
    """
    chosen = tuple(INCIDENT_TYPES if types is None else types)
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if today is not None:
        last = min(last, today)
    if last < first:
        raise ValueError(f"{year} has not started by {today}")
    (m1, d1), (m2, d2) = CAMPAIGN
    c_start, c_end = dt.date(year, m1, d1), min(dt.date(year, m2, d2), last)
    campaign_days = max((c_end - c_start).days + 1, 0)
    rest_days = (last - first).days + 1 - campaign_days
    dates = incidents.loc[incidents["type"].isin(chosen), "date"]
    dates = dates[(dates >= pd.Timestamp(first)) & (dates < pd.Timestamp(last) +
                                                     pd.Timedelta(days=1))]
    inside = _in_campaign(dates)
    a, b = int(inside.sum()), int((~inside).sum())
    rate_a = a / campaign_days if campaign_days else float("nan")
    rate_b = b / rest_days if rest_days else float("nan")
    return {
        "year": year, "campaign": a, "rest": b, "campaign_days": campaign_days,
        "rest_days": rest_days, "campaign_rate": rate_a, "rest_rate": rate_b,
        "ratio": rate_a / rate_b if rest_days and b else float("nan"),
        "p_value": poisson_rate_test(a, b, campaign_days, rest_days)
        if campaign_days and rest_days else float("nan"),
    }
