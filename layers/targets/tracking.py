"""Tracking: each indicator of a plan measured over periods, with its status and trend.

:func:`compute_indicator` measures one indicator over one period from the
joined records (:class:`~layers.targets.measures.TrackingData`); :func:`track`
does every indicator of a plan over several periods, with the change.

Status of a value (``STATUSES``), in this order:

- ``no_data``: the value cannot be computed (denominator 0, a table or a
  column missing, no status recorded), or the target cannot (a yearly
  increase whose baseline year has no value), or the value is only a lower
  bound that falls short of the target (``lower_bound``: cases cleared,
  whose "solved" step the records do not carry); ``reason`` says which,
  never a 0 in disguise;
- ``met``: the value meets the period's target (≥, or > when ``strict``;
  ≤ / < for ``at_most``);
- ``on_track``: not met, but the value meets the *expected* level for the
  period's end date, which is lower than the target only while the plan
  runs: the time-prorated target when the indicator is prorated (linear
  from the baseline, or 0, at the plan start, through the mid-term target
  on its date, to the target at the plan end), else the mid-term target
  up to the mid-term date;
- ``behind``: otherwise.

Rates of the period (clearance, prosecution, reports handled, key areas
covered each year) are not prorated: the plans ask for them every year
("hàng năm"), so a period is met or behind. Build-up measures (communes with
a model at the period end) and ``cumulative`` event measures are prorated;
``at_most`` targets never are. ``prorate:`` in the file overrides the default.

Three rules read the targets as the plans mean them:

- **Definitions.** Each measure divides what the plan divides (the
  docstrings of :mod:`layers.targets.measures` quote it): cases cleared by investigation out of
  the cases with proceedings opened (*án khởi tố*: status prosecuted or
  tried), not every case; each indicator's ``definition_vi`` /
  ``definition_en`` says it next to the figure.
- **Cases still in process** (right-censoring). A case detected late in the
  period has not had time to be prosecuted or tried, so the three measures
  of case progress (cleared, tried, prosecuted) count the *cohort* of the
  cases dated in the same span ``cohort_lag_months`` earlier (12 by
  default: for 2025, the cases of 2024, with their status today); the row
  says which cohort (``cohort_start``, ``cohort_end``).
- **A yearly increase counts from the plan's baseline year** ("hàng năm,
  tăng ít nhất 02 %"): the target for the cases of year Y (the cohort's
  year for a lagged measure, else the period's) is the baseline value +
  increase × (Y − baseline year), the baseline value written in the plan
  or else measured on the cases of the baseline year; never chained on the
  previous period's value (one noisy quarter would move every later target).

Every value comes with its numerator, denominator and 95 % Wilson interval
(``ci_low``, ``ci_high``; statsmodels' ``proportion_confint``).

statsmodels is imported where the interval is computed: a server starts without it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic_core import PydanticCustomError

from geo.plans import Indicator, Plan, PlanPeriod, parse_date
from layers.targets.measures import MEASURE_FUNCTIONS, NoData, Ratio, TrackingData

__all__ = [
    "STATUSES",
    "IndicatorValue",
    "compute_indicator",
    "plan_indicators",
    "track",
    "wilson_interval",
]

#: The status of a value, from best to unknown (rule in the module docstring).
STATUSES = ("met", "on_track", "behind", "no_data")
#: Measures over the key-area communes.
_KEYED = frozenset({"key_areas_covered", "key_communes_intensive"})


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator measured over one period.

    Attributes
    ----------
    indicator, measure : str
    period : tuple of date
        First and last day asked for (both included).
    value : float or None
        Percent, 0–100 (``None`` when no_data because the value cannot be computed).
    numerator, denominator : int or None
        What was divided (counts of cases, tips, communes; participants and
        residents for ``residents_reached``).
    target : float or None
        The target that applies to the period: the plan's target, or the
        yearly-increase target of the period's year.
    expected : float or None
        The level the status compares with (the target, or lower while the
        plan runs: prorated or mid-term; see the module docstring).
    status : {"met", "on_track", "behind", "no_data"}
    reason : str or None
        When no_data, a key: ``missing_table``, ``missing_column``, ``empty``
        (denominator 0), ``no_status``, ``no_key_areas``, ``no_model_class``,
        ``no_materials``, ``no_participants``, ``no_population_14_60``,
        ``no_baseline_year``, ``lower_bound``.
    detail : str or None
        The reason in a sentence, with its numbers.
    notes : tuple of str
        Caveats on the value (records without a status, population year used …).
    ci_low, ci_high : float or None
        The 95 % Wilson interval of the value, percent (None without a
        value, or when the numerator is not a count of the denominator's
        members, e.g. attendances above the population).
    cohort : tuple of date or None
        The cases measured when they are not the period's own (a case
        measure with a lag: the same span ``lag_months`` earlier).
    baseline_period : tuple of date or None
        The cases measured for a baseline value that the plan does not write
        (a yearly increase); the target is drawn from them.
    lower_bound : bool
        The value counts only part of what the plan counts (cases cleared).
    """

    indicator: str
    measure: str
    period: tuple[dt.date, dt.date]
    value: float | None
    numerator: int | None
    denominator: int | None
    target: float | None
    expected: float | None
    status: str
    reason: str | None = None
    detail: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    ci_low: float | None = None
    ci_high: float | None = None
    cohort: tuple[dt.date, dt.date] | None = None
    baseline_period: tuple[dt.date, dt.date] | None = None
    lower_bound: bool = False


def _as_date(value: Any) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return parse_date(value)
    except PydanticCustomError as err:
        raise ValueError(err.message()) from None


def _as_period(period: Any) -> tuple[dt.date, dt.date]:
    if isinstance(period, PlanPeriod):
        return period.start, period.end
    start, end = period
    start, end = _as_date(start), _as_date(end)
    if end < start:
        raise ValueError(f"period {start} - {end} ends before it starts")
    return start, end


def _meets(value: float, level: float, direction: str, strict: bool) -> bool:
    if direction == "at_most":
        return value < level if strict else value <= level
    return value > level if strict else value >= level


def _interpolate(points: list[tuple[dt.date, float]], day: dt.date) -> float:
    if day <= points[0][0]:
        return points[0][1]
    for (d0, v0), (d1, v1) in itertools.pairwise(points):
        if day <= d1:
            return v0 + (v1 - v0) * (day - d0).days / max((d1 - d0).days, 1)
    return points[-1][1]


def _expected(ind: Indicator, target: float, end: dt.date,
              plan_period: tuple[dt.date, dt.date] | None) -> float:
    """The level due on ``end``: the target, or the prorated / mid-term level before it."""
    if ind.annual_increase is not None:
        return target
    if plan_period is not None and not plan_period[0] <= end < plan_period[1]:
        return target  # before the plan or once it is over, the target itself
    if ind.prorated and plan_period is not None and ind.direction == "at_least":
        start, stop = plan_period
        points = [(start, ind.baseline.value if ind.baseline else 0.0)]
        if ind.midterm and start < ind.midterm.date < stop:
            points.append((ind.midterm.date, ind.midterm.target))
        points.append((stop, target))
        return min(_interpolate(points, end), target)
    if ind.midterm and end <= ind.midterm.date:
        return ind.midterm.target
    return target


def _cohort(start: dt.date, end: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The same span ``months`` earlier (whole months: a quarter stays a quarter).

    >>> _cohort(dt.date(2025, 1, 1), dt.date(2025, 12, 31), 12)
    (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31))
    """
    if months == 0:
        return start, end
    shift = pd.DateOffset(months=months)
    first = (pd.Timestamp(start) - shift).date()
    last = (pd.Timestamp(end) + pd.Timedelta(days=1) - shift - pd.Timedelta(days=1)).date()
    return first, last


def wilson_interval(numerator: int, denominator: int, *, alpha: float = 0.05
                    ) -> tuple[float | None, float | None]:
    """The Wilson interval of a proportion, in percent (None, None when it has no meaning).

    Parameters
    ----------
    numerator, denominator : int
        Counts, ``0 <= numerator <= denominator``; otherwise (attendances above
        a population, denominator 0) no interval.
    alpha : float
        1 − the confidence level (0.05: 95 %).

    Examples
    --------
    >>> [round(x, 1) for x in wilson_interval(13, 35)]
    [23.2, 53.7]
    """
    from statsmodels.stats.proportion import proportion_confint

    if denominator <= 0 or not 0 <= numerator <= denominator:
        return None, None
    low, high = proportion_confint(numerator, denominator, alpha=alpha, method="wilson")
    return 100.0 * float(low), 100.0 * float(high)


def _measure(indicator: Indicator, data: TrackingData, start: dt.date, end: dt.date,
             key_areas, plan_span, *, lagged: bool = True
             ) -> tuple[Ratio | NoData, tuple[dt.date, dt.date] | None, list[str]]:
    """The measure over its window: the cumulative or lagged window of ``start``–``end``."""
    notes: list[str] = []
    window_start, window_end = start, end
    cohort = None
    if indicator.cumulative and plan_span is not None and plan_span[0] < start:
        window_start = plan_span[0]
        notes.append(f"counted from the plan start {window_start:%d/%m/%Y}")
    if indicator.lag_months and lagged:
        cohort = window_start, window_end = _cohort(start, end, indicator.lag_months)
        notes.append(f"cohort: cases dated {window_start:%d/%m/%Y}-{window_end:%d/%m/%Y} "
                     f"({indicator.lag_months} months earlier; later cases are still in process)")
    result = MEASURE_FUNCTIONS[indicator.measure](data, window_start, window_end, key_areas)
    return result, cohort, notes


def _period_target(ind: Indicator, year: int, data: TrackingData, key_areas, plan_span
                   ) -> tuple[float | None, NoData | None, tuple[dt.date, dt.date] | None]:
    """The target of ``year``; for a yearly increase, from the baseline year.

    The baseline value is the plan's, or else the measure over the cases of
    the baseline year itself (long past: no lag). ``year`` is the year of the
    cases measured (the cohort's last day, else the period's). Returns the
    target, why it cannot be given, and the cases measured for the baseline.
    """
    if ind.annual_increase is None:
        return ind.target, None, None
    base, measured = ind.baseline, None
    value = base.value
    if value is None:
        measured = (dt.date(base.year, 1, 1), dt.date(base.year, 12, 31))
        result, _, _ = _measure(ind, data, *measured, key_areas, plan_span, lagged=False)
        if isinstance(result, NoData) or result.denominator == 0:
            why = result.detail if isinstance(result, NoData) else "nothing to divide by"
            return None, NoData("no_baseline_year", f"the baseline year {base.year} has no value "
                                                f"({why}) and the plan writes none"), measured
        value = 100.0 * result.numerator / result.denominator
    level = value + ind.annual_increase * (year - base.year)
    return min(max(level, 0.0), 100.0), None, measured


def compute_indicator(
    indicator: Indicator,
    data: TrackingData | Mapping[str, Any],
    period: tuple[Any, Any],
    *,
    key_areas: Iterable[str] | None = None,
    plan_period: tuple[Any, Any] | PlanPeriod | None = None,
) -> IndicatorValue:
    """Measure one indicator over one period and say whether it meets its target.

    Parameters
    ----------
    indicator : Indicator
    data : TrackingData or mapping
        The joined tables (see :class:`TrackingData`); a missing table makes
        the measures that need it no_data.
    period : (start, end)
        First and last day (both included): dates, ``dd/mm/yyyy`` or ISO strings.
        A case measure counts the cohort ``indicator.lag_months`` earlier.
    key_areas : iterable of str, optional
        The key-area communes (2025 codes) for the key-area measures.
    plan_period : (start, end) or PlanPeriod, optional
        The plan's period: needed for ``on_track`` while the plan runs and
        for ``cumulative`` windows (which start at the plan start).

    Returns
    -------
    IndicatorValue

    Examples
    --------
    >>> ind = Indicator.model_validate({
    ...     "id": "tried", "label_vi": "Xét xử", "label_en": "Tried",
    ...     "measure": "prosecuted_tried_rate", "target": 95, "direction": "at_least",
    ...     "source_ref": {"document": "470/KH-UBND", "section": "I", "quote": "95%"}})
    >>> cases = pd.DataFrame({"date": pd.to_datetime(["2023-03-01"] * 4),
    ...                       "type": "trafficking_case", "new_code": "27787",
    ...                       "status": ["tried", "tried", "prosecuted", "received"]})
    >>> v = compute_indicator(ind, {"incidents": cases}, ("01/01/2024", "31/12/2024"))
    >>> v.cohort, round(v.value, 1), v.numerator, v.denominator, v.status
    ((datetime.date(2023, 1, 1), datetime.date(2023, 12, 31)), 66.7, 2, 3, 'behind')
    >>> round(v.ci_low, 1), round(v.ci_high, 1)
    (20.8, 93.9)
    >>> compute_indicator(ind, {}, ("01/01/2024", "31/12/2024")).reason
    'missing_table'
    """
    data = TrackingData.of(data)
    start, end = _as_period(period)
    plan_span = _as_period(plan_period) if plan_period is not None else None
    result, cohort, notes = _measure(indicator, data, start, end, key_areas, plan_span)
    if plan_span is not None and (end < plan_span[0] or start > plan_span[1]):
        notes.append(f"the period lies outside the plan period "
                     f"{plan_span[0]:%d/%m/%Y}-{plan_span[1]:%d/%m/%Y}")
    year = (cohort or (start, end))[1].year
    target, target_gap, measured = _period_target(indicator, year, data, key_areas, plan_span)
    base = {"indicator": indicator.id, "measure": indicator.measure, "period": (start, end),
            "target": target, "cohort": cohort, "baseline_period": measured}
    if isinstance(result, NoData):
        return IndicatorValue(**base, value=None, numerator=None, denominator=None,
                              expected=None, status="no_data", reason=result.reason,
                              detail=result.detail, notes=tuple(notes))
    if result.denominator == 0:
        return IndicatorValue(**base, value=None, numerator=result.numerator, denominator=0,
                              expected=None, status="no_data", reason="empty",
                              detail="nothing to divide by in the period",
                              notes=tuple(notes) + result.notes)
    value = 100.0 * result.numerator / result.denominator
    if result.cap and value > 100.0:
        value = 100.0
        notes.append("capped at 100 %")
    notes += result.notes
    counts = {"value": value, "numerator": result.numerator, "denominator": result.denominator,
              "lower_bound": result.lower_bound}
    counts["ci_low"], counts["ci_high"] = wilson_interval(result.numerator, result.denominator)
    if target_gap:
        return IndicatorValue(**base, **counts, expected=None, status="no_data",
                              reason=target_gap.reason, detail=target_gap.detail,
                              notes=tuple(notes))
    expected = _expected(indicator, target, end, plan_span)
    reason = detail = None
    if _meets(value, target, indicator.direction, indicator.strict):
        status = "met"
    elif result.lower_bound:
        status, reason = "no_data", "lower_bound"
        detail = (f"at least {value:.1f} %: only the cases tried are known to be solved, and "
                  f"the target is {'more than ' if indicator.strict else ''}{target:g} %")
    elif expected != target and _meets(value, expected, indicator.direction, indicator.strict):
        status = "on_track"
    else:
        status = "behind"
    return IndicatorValue(**base, **counts, expected=expected, status=status, reason=reason,
                          detail=detail, notes=tuple(notes))


_COLUMNS = ["plan", "indicator", "label_vi", "label_en", "measure", "period_start", "period_end",
            "value", "numerator", "denominator", "target", "expected", "direction", "status",
            "reason", "detail", "notes", "change", "trend", "source", "ci_low", "ci_high",
            "lower_bound", "cohort_start", "cohort_end", "baseline_start", "baseline_end",
            "definition_vi", "definition_en", "key_areas", "key_areas_source"]


def track(
    plan: Plan,
    data: TrackingData | Mapping[str, Any],
    periods: Iterable[tuple[Any, Any]],
    *,
    key_areas: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Every indicator of a plan over every period, with the change from the previous period.

    Parameters
    ----------
    plan : Plan
    data : TrackingData or mapping
    periods : iterable of (start, end)
        Sorted by start date before computing; each is measured on its own
        (``cumulative`` indicators count from the plan start, case measures
        count their lagged cohort).
    key_areas : iterable of str, optional
        A *suggested* list (the key-area score), used only when the plan has
        no official list (``plan.key_areas``, from its file or imported with
        :func:`attach_key_areas`); the rows say which was used.

    Returns
    -------
    DataFrame
        One row per indicator × period, in plan order then period order:
        ``plan``, ``indicator``, ``label_vi``, ``label_en``, ``measure``,
        ``period_start``, ``period_end``, ``value`` (percent), ``numerator``,
        ``denominator``, ``target``, ``expected``, ``direction``, ``status``,
        ``reason``, ``detail``, ``notes`` (text, "; "-joined), ``change``
        (points since the previous period, when both have a value),
        ``trend`` ("better" / "worse" / "same" for the target's direction),
        ``source`` (document, section), ``ci_low``, ``ci_high`` (95 % Wilson
        interval, percent), ``lower_bound``, ``cohort_start``, ``cohort_end``
        (the cases measured, when not the period's own), ``baseline_start``,
        ``baseline_end`` (the cases a yearly-increase target is drawn from),
        ``definition_vi``, ``definition_en`` (what is divided by what, as
        the plan means it), ``key_areas`` ("official" or "suggested" on the
        key-area rows, else None) and ``key_areas_source``.

    Examples
    --------
    >>> from geo.plans import PLANS_DIR, load_plan
    >>> plan = load_plan(PLANS_DIR / "tay_ninh_2024.yaml")
    >>> cases = pd.DataFrame({"date": pd.to_datetime(["2023-02-01", "2023-05-01", "2023-06-01"]),
    ...                       "type": "trafficking_case", "new_code": "27787",
    ...                       "status": ["tried", "received", "prosecuted"]})
    >>> table = track(plan, {"incidents": cases},
    ...               [("01/01/2024", "31/03/2024"), ("01/04/2024", "30/06/2024")])
    >>> tried = table[table.indicator == "cases_tried"]
    >>> tried[["value", "status"]].values.tolist(), tried["trend"].tolist()[1]
    ([[100.0, 'met'], [0.0, 'behind']], 'worse')
    >>> tried["cohort_start"].tolist()
    [datetime.date(2023, 1, 1), datetime.date(2023, 4, 1)]
    """
    data = TrackingData.of(data)
    spans = sorted(_as_period(p) for p in periods)
    official = plan.key_areas is not None
    keys = plan.key_areas if official else key_areas
    keys = tuple(keys) if keys is not None else None
    plan_span = (plan.period.start, plan.period.end)
    rows = []
    for ind in plan.indicators:
        previous: IndicatorValue | None = None
        keyed = ind.measure in _KEYED and keys is not None
        for span in spans:
            v = compute_indicator(ind, data, span, key_areas=keys, plan_period=plan_span)
            change = trend = None
            if previous is not None and previous.value is not None and v.value is not None:
                change = v.value - previous.value
                sign = 0 if math.isclose(change, 0.0, abs_tol=1e-9) else (1 if change > 0 else -1)
                if ind.direction == "at_most":
                    sign = -sign
                trend = {1: "better", -1: "worse", 0: "same"}[sign]
            cohort = v.cohort or (None, None)
            baseline = v.baseline_period or (None, None)
            rows.append({
                "plan": plan.id, "indicator": ind.id, "label_vi": ind.label_vi,
                "label_en": ind.label_en, "measure": ind.measure,
                "period_start": v.period[0], "period_end": v.period[1], "value": v.value,
                "numerator": v.numerator, "denominator": v.denominator, "target": v.target,
                "expected": v.expected, "direction": ind.direction, "status": v.status,
                "reason": v.reason, "detail": v.detail, "notes": "; ".join(v.notes),
                "change": change, "trend": trend,
                "source": f"{ind.source_ref.document}, {ind.source_ref.section}",
                "ci_low": v.ci_low, "ci_high": v.ci_high, "lower_bound": v.lower_bound,
                "cohort_start": cohort[0], "cohort_end": cohort[1],
                "baseline_start": baseline[0], "baseline_end": baseline[1],
                "definition_vi": ind.definition_vi, "definition_en": ind.definition_en,
                "key_areas": ("official" if official else "suggested") if keyed else None,
                "key_areas_source": plan.key_areas_source if keyed and official else None,
            })
            previous = v
    table = pd.DataFrame(rows, columns=_COLUMNS)
    for column in ("value", "target", "expected", "change", "ci_low", "ci_high"):
        table[column] = table[column].astype("float64")
    for column in ("numerator", "denominator"):
        table[column] = table[column].astype("Int64")
    table["lower_bound"] = table["lower_bound"].astype(bool)
    return table




def plan_indicators(plans: Iterable[Plan], data: TrackingData, start: dt.date, end: dt.date,
                    *, key_areas: Iterable[str] | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every plan's indicators over ``start``–``end``, and over the four quarters up to the
    quarter of ``end`` (the trend beside each value).

    Parameters
    ----------
    plans : iterable of Plan
    data : TrackingData
    start, end : date
    key_areas : iterable of str, optional
        The suggested key areas (:func:`layers.key_areas.suggested_key_areas`), for a plan
        without an official list.

    Returns
    -------
    (DataFrame, DataFrame)
        The rows of :func:`track` for the period, then for the four quarters.
    """
    keys = None if key_areas is None else tuple(key_areas)
    quarter = pd.Period(end, "Q")
    quarters = [(q.start_time.date(), q.end_time.date())
                for q in pd.period_range(quarter - 3, quarter, freq="Q")]
    now, trend = [], []
    for plan in plans:
        now.append(track(plan, data, [(start, end)], key_areas=keys))
        trend.append(track(plan, data, quarters, key_areas=keys))
    return pd.concat(now, ignore_index=True), pd.concat(trend, ignore_index=True)
