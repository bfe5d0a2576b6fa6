"""Period comparison: this period against the same period a year before (or the previous one),
and the campaign window.

A commander asks "is it growing here?". Incidents are seasonal (the peak
campaign of July–September, đợt cao điểm, doubles a quarter's count), so a
period is compared by default with the same period a year before (so với
cùng kỳ năm trước): the season is then the same on both sides, and a rise
is a rise. The period just before stays available (``against="previous"``);
its change includes the season, and the layer says so.

Counts are compared with a test fit for counts: given the two counts ``a``
(this period) and ``b`` (the other), under "same daily rate" ``a`` follows
Binomial(a + b, t_a / (t_a + t_b)), where ``t`` are the periods' lengths in
days (the conditional test for two Poisson rates, exact, from
:func:`scipy.stats.binomtest`; statsmodels' ``test_poisson_2indep(method=
"exact-cond")``). Small counts therefore need large changes to be called
significant, which is the point. One test per commune means many tests: the
classes are corrected across communes with the Benjamini–Hochberg False
Discovery Rate (:func:`layers.inference.fdr_threshold`, the one home of that
rule), so a map of 96 communes does not show a handful of "rises" by chance.

A period whose comparison period is not covered by the records (it starts
before the first month with a record: the first year of records compared
with a year before) has nothing to be compared with: every commune is in the
class "no comparison" (:data:`NO_COMPARISON`), never "no significant change".

scipy is imported where the test runs: a server starts without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geo.units import code_column
from layers.counts import INCIDENT_TYPES
from layers.inference import fdr_threshold
from layers.layer import Caveat, Layer
from layers.periods import within

if TYPE_CHECKING:
    from layers.cube import Cube

__all__ = ["poisson_rate_tests", "AGAINST", "CAMPAIGN", "CHANGE_CLASS_SCALE", "CHANGE_SCALE", "NO_COMPARISON",
           "NO_COMPARISON_COLOUR", "campaign_comparison", "compare_periods", "data_start",
           "poisson_rate_test", "previous_period", "year_before"]

#: What a period can be compared with: the same dates a year before (the default), or the
#: period of the same length just before (its change includes the season).
AGAINST = ("year_before", "previous")
#: The class of a commune whose comparison period the records do not cover.
NO_COMPARISON = 2

#: The yearly peak-campaign window (đợt cao điểm) around the 30/7 national day: 01/7–30/9.
CAMPAIGN = ((7, 1), (9, 30))
#: Stepped scale for −1 (significant fall), 0, +1 (significant rise): mid blue / near
#: white / dark red. Red and blue stay apart for the common colour-vision deficiencies,
#: and the three classes have three lightnesses (L* 77, 97, 38), so a grey print still
#: tells a rise (dark) from a fall (mid grey) — a dark blue would print like the red.
CHANGE_SCALE = ((0.0, "#92c5de"), (0.3333, "#92c5de"), (0.3334, "#f7f7f7"), (0.6666, "#f7f7f7"),
                (0.6667, "#b2182b"), (1.0, "#b2182b"))
#: "No comparison" (no records in the comparison period): a mid grey, L* 58, between the
#: fall (77) and the rise (38) in a grey print, and apart from the three for colour-blind eyes.
NO_COMPARISON_COLOUR = "#8c8c8c"
#: The layer's scale over codes −1, 0, +1 and :data:`NO_COMPARISON` (range −1.5 … 2.5): the
#: three colours of :data:`CHANGE_SCALE`, then the grey. Always the four classes, so that a
#: filter change (values only) never needs another scale.
CHANGE_CLASS_SCALE = ((0.0, "#92c5de"), (0.25, "#92c5de"), (0.2501, "#f7f7f7"), (0.5, "#f7f7f7"),
                      (0.5001, "#b2182b"), (0.75, "#b2182b"), (0.7501, NO_COMPARISON_COLOUR),
                      (1.0, NO_COMPARISON_COLOUR))


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
    from scipy.stats import binomtest

    n = int(a) + int(b)
    if n == 0:
        return 1.0
    return float(binomtest(int(a), n, days_a / (days_a + days_b)).pvalue)


def poisson_rate_tests(a, b, days_a: float, days_b: float) -> np.ndarray:
    """:func:`poisson_rate_test` of many communes at once: the same p-values, to the bit.

    scipy's two-sided :func:`scipy.stats.binomtest` (its rule: the other tail's terms no
    more likely than the observed one, found by its binary search, with its relative
    tolerance of 1e-7), run on arrays: every commune's search takes the same steps as
    scipy's, evaluated together. The change map tests all 3,321 communes of the country
    on each new filter state; one by one that took seconds.

    >>> poisson_rate_tests([20, 0, 3], [5, 0, 9], 90, 90).round(4).tolist()
    [0.0041, 1.0, 0.146]
    """
    a = np.asarray(a, dtype=np.int64).ravel()
    b = np.asarray(b, dtype=np.int64).ravel()
    n = a + b
    out = np.ones(len(a))
    tested = n > 0
    if tested.any():
        out[tested] = _binomial_two_sided(a[tested], n[tested], days_a / (days_a + days_b))
    return out


def _binomial_two_sided(k: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """scipy's two-sided binomial p-value (``binomtest(k, n, p).pvalue``) for arrays."""
    from scipy.stats import binom

    d = binom.pmf(k, n, p)
    rerr = 1 + 1e-7
    pval = np.ones(len(k))
    low, high = k < p * n, k > p * n  # k == p n: 1
    if low.any():
        kl, nl, dl = k[low], n[low], d[low]
        ix = _binary_search(lambda x, i: -binom.pmf(x, nl[i], p), -dl * rerr,
                            np.ceil(p * nl), nl.astype(float))
        y = nl - ix + (dl * rerr == binom.pmf(ix, nl, p)).astype(np.int64)
        pval[low] = binom.cdf(kl, nl, p) + binom.sf(nl - y, nl, p)
    if high.any():
        kh, nh, dh = k[high], n[high], d[high]
        ix = _binary_search(lambda x, i: binom.pmf(x, nh[i], p), dh * rerr,
                            np.zeros(len(kh)), np.floor(p * nh))
        pval[high] = binom.cdf(ix, nh, p) + binom.sf(kh - 1, nh, p)
    return np.minimum(1.0, pval)


def _binary_search(a, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """scipy's ``_binary_search_for_binom_tst`` for every element at once: the index ``i``
    between ``lo`` and ``hi`` with ``a(i) <= d < a(i + 1)``; ``a(x, which)`` evaluates the
    elements ``which`` at ``x``."""
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    found = np.full(len(lo), np.nan)
    active = lo < hi
    while active.any():
        which = np.flatnonzero(active)
        mid = lo[which] + (hi[which] - lo[which]) // 2
        value = a(mid, which)
        less, more = value < d[which], value > d[which]
        lo[which[less]] = mid[less] + 1
        hi[which[more]] = mid[more] - 1
        equal = ~less & ~more
        found[which[equal]] = mid[equal]
        active[which[equal]] = False
        active &= lo < hi
    rest = np.flatnonzero(np.isnan(found))
    if len(rest):
        at = a(lo[rest], rest) <= d[rest]
        found[rest] = np.where(at, lo[rest], lo[rest] - 1)
    return found


def data_start(incidents: pd.DataFrame) -> dt.date | None:
    """The first day the records cover: the first day of the month of the earliest record.

    Records are extracted by month, so a first record on 2 January means the
    records cover January (a quarter starting 1 January is covered); None when
    there is no record.

    >>> data_start(pd.DataFrame({"date": pd.to_datetime(["2022-01-02", "2023-05-01"])}))
    datetime.date(2022, 1, 1)
    """
    first = incidents["date"].min() if len(incidents) else pd.NaT
    return _month_start(first)


def _month_start(first: pd.Timestamp) -> dt.date | None:
    return None if pd.isna(first) else first.date().replace(day=1)


def _counts(incidents: pd.DataFrame, column: str, types, start: dt.date, end: dt.date,
            cube: Cube | None = None, unit_set: str | None = None):
    if cube is not None:
        return cube.counts(unit_set, types, start, end)
    mask = incidents["type"].isin(types) & within(incidents["date"], start, end)
    return incidents.loc[mask].groupby(column).size()


def _classes(count: pd.Series, other: pd.Series, days: int, other_days: int,
             alpha: float) -> tuple[pd.DataFrame, float, int]:
    """p-values, the Benjamini–Hochberg threshold over the tested communes, the classes.

    A commune with no record in either period is not a test (its p-value is 1
    whatever happens): it keeps p = 1 and is left out of the ``n`` of the
    correction, which is legitimate because the conditional test holds the
    total ``a + b`` fixed.
    """
    out = pd.DataFrame(index=count.index)
    out["p_value"] = poisson_rate_tests(count.to_numpy(), other.to_numpy(), days, other_days)
    tested = (count + other) > 0
    threshold = fdr_threshold(out.loc[tested, "p_value"].to_numpy(), alpha)
    significant = tested & (out["p_value"] <= threshold)
    rate_up = count / days > other / other_days
    out["trend"] = np.where(significant, np.where(rate_up, 1, -1), 0).astype(int)
    return out, threshold, int(tested.sum())


def compare_periods(
    incidents: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    unit_set: str,
    start: dt.date,
    end: dt.date,
    against: str = "year_before",
    types: Iterable[str] | None = None,
    alpha: float = 0.05,
    records_start: dt.date | None = None,
    caveats: Iterable[Caveat] = (),
    cube: Cube | None = None,
) -> Layer:
    """Counts per commune in ``start``–``end`` against another period, with a test per commune.

    Parameters
    ----------
    incidents : DataFrame
        Joined records of every type: ``date``, ``type``, ``new_code``, ``old_code``.
    communes : DataFrame
        Units of ``unit_set`` indexed by code, with ``name``.
    unit_set : {"2025", "legacy"}
    start, end : date
        This period, inclusive.
    against : {"year_before", "previous"}
        The same dates a year earlier (default: the season is the same on both
        sides), or the period of the same length just before (its change
        includes the season: the layer's legend and explanation say so).
    types : iterable of str, optional
    alpha : float
        False Discovery Rate of the per-commune tests (Benjamini–Hochberg
        over the communes with a record in either period).
    records_start : date, optional
        The first day the records cover; default :func:`data_start` of
        ``incidents`` (all types). A comparison period starting earlier has
        no data to compare with: every commune is :data:`NO_COMPARISON`.
    caveats : iterable of Caveat
    cube : Cube, optional
        The cube of these same ``incidents`` (:func:`layers.cube.build_cube`): both
        periods' counts and the first record are read from it, not from the records;
        the layer is the same.

    Returns
    -------
    Layer
        ``frame``: ``name``, ``count``, ``other`` (the records of the other
        period), ``change`` (count − other), ``ratio`` (NaN where other is
        0), ``p_value`` (uncorrected), ``fdr_threshold`` (the
        Benjamini–Hochberg critical p-value: a commune is significant when
        ``p_value <= fdr_threshold``), ``trend`` (+1 significant rise, −1
        significant fall, 0 no significant change, :data:`NO_COMPARISON`
        when the other period is not covered: then ``change``, ``ratio``,
        ``p_value`` and ``fdr_threshold`` are NaN); value = ``trend``.
        ``params`` hold both periods, ``comparable``, ``seasonal`` (the
        change includes the season: ``against="previous"``), the threshold,
        the number of tests and the province totals with their own test.

    Examples
    --------
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-08-01"] * 12 + ["2023-07-05"]),
    ...                     "type": "tip", "new_code": "25681", "old_code": "25699"})
    >>> com = pd.DataFrame({"name": ["Xã Bến Cầu"]}, index=["25681"])
    >>> layer = compare_periods(inc, com, unit_set="2025", start=dt.date(2024, 7, 1),
    ...                         end=dt.date(2024, 9, 30))
    >>> layer.frame[["count", "other", "trend"]].values.tolist()
    [[12, 1, 1]]
    >>> layer.params["other_start"], layer.params["seasonal"]
    (datetime.date(2023, 7, 1), False)
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if against not in AGAINST:
        raise ValueError(f"against must be one of {AGAINST}, not {against!r}")
    chosen = tuple(INCIDENT_TYPES if types is None else types)
    column = code_column(unit_set)
    other_start, other_end = (previous_period if against == "previous" else year_before)(start, end)
    if records_start is not None:
        covered_from = records_start
    else:
        covered_from = _month_start(cube.first) if cube is not None else data_start(incidents)
    comparable = covered_from is not None and other_start >= covered_from
    days = (end - start).days + 1
    other_days = (other_end - other_start).days + 1
    frame = communes[["name"]].copy()
    frame["count"] = _counts(incidents, column, chosen, start, end, cube, unit_set) \
        .reindex(frame.index, fill_value=0).astype(int)
    frame["other"] = _counts(incidents, column, chosen, other_start, other_end, cube, unit_set) \
        .reindex(frame.index, fill_value=0).astype(int)
    total, total_other = int(frame["count"].sum()), int(frame["other"].sum())
    if comparable:
        frame["change"] = (frame["count"] - frame["other"]).astype(float)
        frame["ratio"] = np.where(frame["other"] > 0, frame["count"] / frame["other"].where(
            frame["other"] > 0, 1), np.nan)
        tests, threshold, n_tests = _classes(frame["count"], frame["other"], days, other_days,
                                             alpha)
        frame["p_value"] = tests["p_value"]
        frame["fdr_threshold"] = threshold
        frame["trend"] = tests["trend"]
        total_p = poisson_rate_test(total, total_other, days, other_days)
    else:
        for name in ("change", "ratio", "p_value", "fdr_threshold"):
            frame[name] = np.nan
        frame["trend"] = NO_COMPARISON
        threshold, n_tests, total_p = float("nan"), 0, float("nan")
    frame["trend"] = frame["trend"].astype(int)
    seasonal = against == "previous"
    return Layer(
        frame=frame,
        value="trend",
        unit_set=unit_set,
        kind="change",
        title_key=f"layer.compare.{against}.title",
        legend_key="layer.compare.legend.seasonal" if seasonal else "layer.compare.legend",
        units_key="unit.records",
        params={
            "types": chosen, "start": start, "end": end, "against": against,
            "other_start": other_start, "other_end": other_end, "alpha": alpha,
            "comparable": comparable, "records_start": covered_from, "seasonal": seasonal,
            "correction": "fdr_bh", "fdr_threshold": threshold, "n_tests": n_tests,
            "total": total, "total_other": total_other, "total_p_value": total_p,
            "test": "exact conditional binomial test of two Poisson rates (scipy binomtest), "
                    "Benjamini-Hochberg FDR across the communes",
            "explain_key": ("layer.compare.explain.none" if not comparable
                            else f"layer.compare.explain.{against}"),
            "classes": tuple({"code": c, "message_key": f"trend.{c}"}
                             for c in (-1, 0, 1, NO_COMPARISON)),
            "zmin": -1.5, "zmax": NO_COMPARISON + 0.5,
        },
        colorscale=CHANGE_CLASS_SCALE,
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
    dates = dates[within(dates, first, last)]
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
