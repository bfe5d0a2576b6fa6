"""Who has reported (tình hình gửi báo cáo): each agency's report for a period, on time or not.

The plans ask every agency to report to the Standing Office of Steering
Committee 138 (Công an tỉnh) quarterly, at 6 months ("trước ngày 01/6"), at
the year ("trước ngày 01/12") and for campaigns ("trước ngày 05/8/2024");
a plan file names the periods, their due days and the agencies
(:class:`geo.plans.Reporting`). What an agency sent is read from its
imports: an import records the agency whose report it carries and the day
that report was received (``agency``, ``received_on``: store migration 3).

The rules, one home each:

- **The figures of a period** are the records dated from its first day to
  its last, or to the day before it is due when that comes first (the
  campaign of 01/7–30/9/2024 is reported before 05/8: its figures run to
  04/8). Incidents count by their date, outreach by its date, models by the
  day they started; population is no agency's report.
- **An agency has reported** when a committed import of that agency brought
  figures of the period; its report is **complete on the day the last of
  them was received** (``last_received``): a report is on time when every
  part of it came before the due day, and a part sent late makes it late.
  ``first_received`` says when the first part came.
- **Due day.** "Trước ngày 05/8" is before 05/8: a report received on 05/8 is
  late by 1 day. No other rule (weekends, holidays) is written in the
  plans, so none is applied.
- **States** (:data:`STATES`), for a period with a due day: ``on_time``,
  ``late``, ``missing`` (nothing received and the due day has passed),
  ``not_due`` (nothing received yet, not due yet); for a period without one
  (the plans give no day for quarterly reports): ``received`` or
  ``not_received``. Only imports received by ``as_of`` count, so the page
  can show the state on the day of a meeting.
- **Reporting rate**, as DHIS2 computes it: expected reports (the agencies
  the plan lists), reports received, received on time, and the two rates
  (received / expected, on time / expected), in percent.

An agency that had nothing to report and imported nothing reads as
missing: a report without records cannot be imported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from geo.plans import Reporting, ReportingPeriod, agency_key

__all__ = ["STATES", "ReportingRate", "figures_window", "period_status", "reported_figures",
           "reporting_rate"]

#: What an agency's report for a period is, in the order the page lists them.
STATES = ("missing", "late", "not_due", "not_received", "on_time", "received")


def figures_window(period: ReportingPeriod) -> tuple[dt.date, dt.date]:
    """The first and last day of the figures a report for ``period`` covers.

    Examples
    --------
    >>> from geo.plans import ReportingPeriod
    >>> p = ReportingPeriod(id="c", kind="campaign", label_vi="x", label_en="x",
    ...                     start="01/07/2024", end="30/09/2024", due_before="05/08/2024")
    >>> [d.strftime("%d/%m/%Y") for d in figures_window(p)]
    ['01/07/2024', '04/08/2024']
    """
    end = period.end
    if period.due_before is not None:
        end = min(end, period.due_before - dt.timedelta(days=1))
    return period.start, end


def reported_figures(imports: pd.DataFrame, record_dates: pd.DataFrame) -> pd.DataFrame:
    """The dated figures each agency reported: one row per record of a committed import that
    names its agency.

    Parameters
    ----------
    imports : DataFrame
        The store's imports (:meth:`geo.store.base.Store.imports`): ``id``,
        ``status``, ``agency``, ``received_on``.
    record_dates : DataFrame
        ``import_id`` and ``date`` of the reported records (incidents and
        outreach by their date, models by their start).

    Returns
    -------
    DataFrame
        ``key`` (:func:`geo.plans.agency_key` of the agency),
        ``import_id``, ``received_on`` and ``date`` (both datetime64).
    """
    reports = imports[(imports["status"] == "committed") & imports["agency"].notna()
                      & imports["received_on"].notna()]
    reports = pd.DataFrame({
        "import_id": reports["id"].astype("int64"),
        "key": [agency_key(a) for a in reports["agency"]],
        "received_on": pd.to_datetime(reports["received_on"]),
    })
    dates = pd.DataFrame({"import_id": pd.to_numeric(record_dates["import_id"]).astype("int64"),
                          "date": pd.to_datetime(record_dates["date"])}).dropna()
    return dates.merge(reports, on="import_id", how="inner")[
        ["key", "import_id", "received_on", "date"]]


def period_status(reporting: Reporting, period: ReportingPeriod | str, figures: pd.DataFrame,
                  *, as_of: dt.date) -> pd.DataFrame:
    """Each listed agency's report for one period, as of a day.

    Parameters
    ----------
    reporting : Reporting
        The plan's calendar (its agencies, in the plan's order).
    period : ReportingPeriod or str
        The period, or its id.
    figures : DataFrame
        :func:`reported_figures`.
    as_of : date
        The day the question is asked: imports received after it do not count.

    Returns
    -------
    DataFrame
        One row per agency of the plan, in its order: ``agency``, ``state``
        (:data:`STATES`), ``first_received``, ``last_received`` (dates, or
        ``None``), ``imports`` (how many imports brought figures of the
        period) and ``days_late`` (for a late report: days from the due day,
        that day counting 1; else 0).

    Examples
    --------
    >>> import pandas as pd
    >>> from geo.plans import load_plan, PLANS_DIR
    >>> cal = load_plan(PLANS_DIR / "tay_ninh_2024.yaml").reporting
    >>> figures = pd.DataFrame({"key": ["công an tỉnh"], "import_id": [1],
    ...     "received_on": pd.to_datetime(["2024-08-05"]), "date": pd.to_datetime(["2024-07-20"])})
    >>> row = period_status(cal, "campaign_2024", figures, as_of=dt.date(2024, 9, 1)).iloc[0]
    >>> row["agency"], row["state"], int(row["days_late"])
    ('Công an tỉnh', 'late', 1)
    """
    if isinstance(period, str):
        period = reporting.period(period)
    first, last = figures_window(period)
    inside = figures[(figures["date"] >= pd.Timestamp(first))
                     & (figures["date"] <= pd.Timestamp(last))
                     & (figures["received_on"] <= pd.Timestamp(as_of))]
    by_agency = inside.groupby("key").agg(first_received=("received_on", "min"),
                                          last_received=("received_on", "max"),
                                          imports=("import_id", "nunique"))
    rows = []
    for name in reporting.agencies:
        key = agency_key(name)
        if key in by_agency.index:
            got = by_agency.loc[key]
            first_day = got["first_received"].date()
            last_day = got["last_received"].date()
            count = int(got["imports"])
        else:
            first_day = last_day = None
            count = 0
        state, late = _state(period, last_day, as_of)
        rows.append({"agency": name, "state": state, "first_received": first_day,
                     "last_received": last_day, "imports": count, "days_late": late})
    return pd.DataFrame(rows, columns=["agency", "state", "first_received", "last_received",
                                       "imports", "days_late"])


def _state(period: ReportingPeriod, last: dt.date | None, as_of: dt.date) -> tuple[str, int]:
    """The state of one report and its days late (rules in the module docstring)."""
    due = period.due_before
    if due is None:
        return ("received" if last is not None else "not_received"), 0
    if last is None:
        return ("missing" if as_of >= due else "not_due"), 0
    if last < due:
        return "on_time", 0
    return "late", (last - due).days + 1


@dataclass(frozen=True)
class ReportingRate:
    """DHIS2's reporting-rate summary of one period.

    ``on_time`` and ``on_time_rate`` are ``None`` for a period without a due
    day; the rates are percents of ``expected`` (``None`` when nothing is
    expected).
    """

    expected: int
    received: int
    on_time: int | None
    late: int
    missing: int
    not_due: int
    rate: float | None
    on_time_rate: float | None


def reporting_rate(status: pd.DataFrame, period: ReportingPeriod) -> ReportingRate:
    """The reporting rate of a :func:`period_status` table.

    Examples
    --------
    >>> import pandas as pd
    >>> from geo.plans import ReportingPeriod
    >>> p = ReportingPeriod(id="y", kind="year", label_vi="x", label_en="x",
    ...                     start="01/01/2024", end="31/12/2024", due_before="01/12/2024")
    >>> status = pd.DataFrame({"state": ["on_time", "late", "missing", "on_time"]})
    >>> r = reporting_rate(status, p)
    >>> r.expected, r.received, r.on_time, r.rate, r.on_time_rate
    (4, 3, 2, 75.0, 50.0)
    """
    counts = status["state"].value_counts()
    n = {state: int(counts.get(state, 0)) for state in STATES}
    expected = len(status)
    received = n["on_time"] + n["late"] + n["received"]
    timed = period.due_before is not None
    on_time = n["on_time"] if timed else None

    def pct(part: int | None) -> float | None:
        return None if part is None or not expected else round(100.0 * part / expected, 1)

    return ReportingRate(expected=expected, received=received, on_time=on_time,
                         late=n["late"], missing=n["missing"] + n["not_received"],
                         not_due=n["not_due"], rate=pct(received), on_time_rate=pct(on_time))
