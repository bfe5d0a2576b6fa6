"""Plan indicators from incident records, as roles below commander may see them.

Four indicators of the plans (:mod:`layers.targets`) are ratios of province
counts of incident records by status: cases cleared (a lower bound: tried)
and cases tried out of those with proceedings opened, cases prosecuted, tips
handled. A percentage of 3 cases, or of 40 cases of
which 2 are still open, gives the small count back; and, the KPI table being
shown for quarters, half-years and years, a half-year minus its other
quarter gives back a quarter that was hidden. So these values are released
under the rule of the maps (``docs/confidentiality.md``, "Plan indicators"):

- every numerator and denominator is a cell of one table, periods × stages
  (:func:`indicator_table`): quarters, half-years, years and the whole span
  of the release plan, by the stage a record's status has reached
  (:func:`layers.targets.status_stage`), with every sum a reader can form
  (cleared = verified + prosecuted + tried, all = open + cleared …);
- that table is suppressed once, with the threshold and protection of the
  release plan (:func:`layers.suppression.suppress`), the all-cases and
  all-tips cells of each period fixed to the status the plan gives the
  province cell of that period and type: a province total the map
  publishes is never hidden here as a complement, and one it hides stays
  hidden (it is protected in this table as a small count is);
- a row of :func:`layers.targets.track` is shown only when the period it
  counts (its cohort, for a lagged case measure) is exactly a grid period
  and its numerator and denominator cells are both published
  (:meth:`IndicatorRelease.release`); otherwise its value, counts, interval,
  change and status are withheld and ``value_label`` says "< 5" or "x" (an
  interval gives its counts back as surely as the value does);
- a target drawn from the records (a yearly increase from a baseline year
  whose value the plan does not write) is shown only when the baseline
  year's cells are published, as a value would be.

Usage, once per data version (after the release plan) and per request::

    plan = release_plan(incidents, registry)
    indicators = indicator_release(incidents, plan)
    shown = indicators.release(track(kh, data, [(period.start, period.end)]))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from layers.suppression.dimensions import period_hierarchy
from layers.suppression.engine import (
    COMPLEMENTARY_LABEL, PUBLISHED, Suppression, suppress, suppressed_label,
)
from layers.suppression.plan import ReleasePlan
from layers.suppression.roles import ReleaseRefused
from layers.suppression.tables import CountTable, Hierarchy, hierarchy_table
from layers.targets import MEASURES, status_stage

__all__ = [
    "INCIDENT_MEASURES",
    "KINDS",
    "WITHHELD",
    "IndicatorRelease",
    "indicator_release",
    "indicator_table",
    "quantity_hierarchy",
]

#: The incident types the indicators count, and the prefix of their quantities.
KINDS: dict[str, str] = {"trafficking_case": "case", "tip": "tip"}

#: Each indicator measure drawn from incident records: its (numerator, denominator) cells.
INCIDENT_MEASURES: dict[str, tuple[str, str]] = {
    "cases_cleared_rate": ("case:tried", "case:prosecuted+"),
    "prosecuted_tried_rate": ("case:tried", "case:prosecuted+"),
    "prosecution_rate": ("case:prosecuted+", "case:all"),
    "reports_handled_rate": ("tip:cleared", "tip:all"),
}
assert set(INCIDENT_MEASURES) <= set(MEASURES)

#: The status of a released row whose value a role below commander may not see.
WITHHELD = "withheld"

#: Reasons of a withheld row (the ``reason`` column).
_SUPPRESSED, _OFF_GRID, _TARGET = "suppressed", "off_grid", "target_withheld"
#: The columns that carry the value or what it is computed from.
_VALUE_COLUMNS = ("value", "numerator", "denominator", "expected", "change", "ci_low",
                  "ci_high")


def quantity_hierarchy() -> Hierarchy:
    """The stages of trafficking cases and of tips, as sums (no total across the two kinds).

    Cases: leaves ``case:open`` (received, no status or an unknown one),
    ``case:verified``, ``case:prosecuted``, ``case:tried``; sums
    ``case:prosecuted+`` (prosecuted, tried), ``case:cleared`` (verified,
    prosecuted+) and ``case:all`` (open, cleared): every numerator and
    denominator of the case measures, and what their differences give.
    Tips: ``tip:open``, ``tip:cleared`` and ``tip:all`` only. The one tip
    measure divides cleared by all; a finer tip stage would be a cell no
    indicator shows, and its small counts would hide the handled rate for
    nothing.

    >>> h = quantity_hierarchy()
    >>> sorted(h.leaf_sets["case:cleared"]), h.members[:3]
    (['case:prosecuted', 'case:tried', 'case:verified'], ('case:all', 'case:cleared', 'case:open'))
    """
    return Hierarchy("quantity", (
        "case:open", "case:verified", "case:prosecuted", "case:tried", "tip:open", "tip:cleared",
    ), (
        ("case:prosecuted+", ("case:prosecuted", "case:tried")),
        ("case:cleared", ("case:verified", "case:prosecuted+")),
        ("case:all", ("case:open", "case:cleared")),
        ("tip:all", ("tip:open", "tip:cleared")),
    ))


def _quantity_leaf(kinds: pd.Series, stages: pd.Series) -> pd.Series:
    """The leaf of each record: ``case:<stage>``, or ``tip:open`` / ``tip:cleared``."""
    prefix = kinds.map(KINDS)
    tip_stage = stages.where(stages == "open", "cleared")
    return prefix + ":" + stages.where(prefix == "case", tip_stage)


def indicator_table(incidents: pd.DataFrame, *, first_year: int, last_year: int) -> CountTable:
    """Trafficking cases and tips as one table: periods × stages, with every sum.

    Parameters
    ----------
    incidents : DataFrame
        Records with ``date``, ``type`` and ``status`` (a missing ``status``
        column counts every record as open, as the measures count a record
        with no status as not cleared).
    first_year, last_year : int
        The span of the period grid (the release plan's).

    Returns
    -------
    CountTable
        Dimensions ``period`` (:func:`layers.suppression.period_hierarchy`)
        and ``quantity`` (:func:`quantity_hierarchy`). Records without a date
        or outside the span are left out, as :func:`layers.targets.track`
        leaves them out of a period.

    Examples
    --------
    >>> records = pd.DataFrame({"date": pd.to_datetime(["2024-02-01", "2024-05-01", "2024-05-02"]),
    ...                         "type": ["trafficking_case", "trafficking_case", "tip"],
    ...                         "status": ["tried", None, "Verified"]})
    >>> cells = indicator_table(records, first_year=2024, last_year=2024).cells["count"]
    >>> int(cells["2024H1", "case:all"]), int(cells["2024Q1", "case:tried"]), \\
    ...     int(cells["2024", "tip:cleared"])
    (2, 1, 1)
    """
    rows = incidents[incidents["type"].isin(tuple(KINDS))]
    dates = pd.to_datetime(rows["date"])
    inside = (dates.dt.year >= first_year) & (dates.dt.year <= last_year)
    rows, dates = rows[inside.fillna(False).to_numpy(dtype=bool)], dates[inside.fillna(False)]
    status = rows["status"] if "status" in rows else pd.Series(pd.NA, index=rows.index)
    leaf = _quantity_leaf(rows["type"], status_stage(status))
    quarter = dates.dt.year.astype(str) + "Q" + dates.dt.quarter.astype(str)
    atoms = (pd.DataFrame({"period": quarter.to_numpy(), "quantity": leaf.to_numpy()})
             .groupby(["period", "quantity"]).size())
    return hierarchy_table(atoms, [period_hierarchy(first_year, last_year), quantity_hierarchy()])


def indicator_release(incidents: pd.DataFrame, plan: ReleasePlan) -> IndicatorRelease:
    """Suppress the indicator table once, in agreement with the release plan.

    Parameters
    ----------
    incidents : DataFrame
        The records the plan was built from (``date``, ``type``, ``status``).
    plan : ReleasePlan
        Gives the period grid, the threshold and protection, and the status
        of each province cell: the ``case:all`` / ``tip:all`` cell of a period
        is fixed published or withheld as the plan's province cell of that
        period and type (``trafficking_case`` / ``tip``; a type the plan does
        not cover is never shown on its maps, and is left to this table).

    Returns
    -------
    IndicatorRelease

    Raises
    ------
    ReleaseRefused
        When a province count of the plan differs from these records' (the
        plan was built from other data).
    RuntimeError
        When a small count cannot be protected with the plan's province
        cells as they are (fail closed).
    """
    table = indicator_table(incidents, first_year=plan.first_year, last_year=plan.last_year)
    published, withheld = _fixed_by_plan(table, plan)
    suppression = suppress(table, threshold=plan.threshold,
                           protection=plan.protection,
                           published=published, withheld=withheld)
    return IndicatorRelease(suppression=suppression, plan=plan)


def _fixed_by_plan(table: CountTable, plan: ReleasePlan) -> tuple[list, list]:
    """The all-records cells the plan's province cells decide: (published, withheld) keys."""
    counts = table.cells["count"]
    published, withheld = [], []
    for type_key, prefix in KINDS.items():
        if type_key not in plan.types:
            continue
        for period in table.dims[0].members:
            key = (period, f"{prefix}:all")
            province = plan.total(period, type_key)
            if int(province["count"]) != int(counts[key]):
                raise ReleaseRefused(
                    f"the plan counts {int(province['count'])} {type_key} records in {period}, "
                    f"these records {int(counts[key])}: the plan was built from other data")
            (published if province["status"] == PUBLISHED else withheld).append(key)
    return published, withheld


@dataclass(frozen=True)
class IndicatorRelease:
    """The suppressed indicator table of one data version, and the rows it lets through.

    Attributes
    ----------
    suppression : Suppression
        Over :func:`indicator_table`'s cells.
    plan : ReleasePlan
        The plan it agrees with (its period grid and province cells).
    """

    suppression: Suppression
    plan: ReleasePlan

    def cell(self, period: str, quantity: str) -> pd.Series:
        """``count``, ``status`` and ``label`` of one cell (``"2024Q3"``, ``"case:cleared"``)."""
        key = (period, quantity)
        return pd.Series({"count": int(self.suppression.table.cells.at[key, "count"]),
                          "status": self.suppression.status[key],
                          "label": self.suppression.labels[key]}, name=key)

    def release(self, table: pd.DataFrame) -> pd.DataFrame:
        """A :func:`layers.targets.track` table as a role below commander may see it.

        Rows of the four incident measures (:data:`INCIDENT_MEASURES`):

        - shown when the period counted (``cohort_start``–``cohort_end`` when
          given, else ``period_start``–``period_end``) is exactly a grid period
          (quarter, half-year, year, the span: :meth:`ReleasePlan.period_label`)
          and both the numerator and the denominator cell are published. A
          denominator of 0 (no_data "empty") is shown: a zero is no small count;
        - otherwise withheld: ``value``, ``numerator``, ``denominator``,
          ``expected``, ``change``, ``ci_low``, ``ci_high`` missing, ``trend``
          None, ``status``
          ``"withheld"``, ``reason`` ``"suppressed"`` (a cell is hidden) or
          ``"off_grid"``, and ``value_label`` ``"< 5"`` (a small numerator or
          denominator, or a zero hidden as a complement) or ``"x"``;
        - ``detail`` and ``notes`` are dropped (they carry counts: "3 of 12
          cases have no status");
        - ``change`` and ``trend`` are missing when the previous row of the
          indicator is withheld (or not in the table): they would give its
          value back;
        - a target drawn from the records (``baseline_start``–``baseline_end``
          given: a yearly increase from a baseline year whose value the plan
          does not write) is withheld, with ``expected`` (and ``status``,
          reason ``"target_withheld"``, on a row otherwise shown), unless that
          year is a grid period whose two cells are published.

        Other rows (models, outreach: no incident in them) are unchanged, and
        ``value_label`` is None on every row shown.

        Parameters
        ----------
        table : DataFrame
            The output of :func:`layers.targets.track`, whole (one call per
            plan, or several concatenated): the rules above read the
            indicator's rows in period order.

        Returns
        -------
        DataFrame
            The same rows and columns, plus ``value_label`` after ``value``.

        Raises
        ------
        ReleaseRefused
            When a row's numerator or denominator differs from the table's
            cell (the records of the tracker are not those of the release).
        ValueError
            When the table's index repeats a label (concatenate with
            ``ignore_index=True``).
        """
        if not table.index.is_unique:
            raise ValueError("the table's index repeats labels: concatenate with ignore_index=True")
        out = table.copy()
        for column in ("value", "expected", "change", "target"):
            out[column] = out[column].astype("float64")
        for column in ("numerator", "denominator"):
            out[column] = out[column].astype("Int64")
        incident = out["measure"].isin(tuple(INCIDENT_MEASURES)).to_numpy()
        labels = {i: self._verdict(out.loc[i]) for i in out.index[incident]}
        labels = {i: label for i, label in labels.items() if label is not None}
        withheld = out.index.isin(list(labels))
        out.loc[withheld, [c for c in _VALUE_COLUMNS if c in out]] = np.nan
        out.loc[withheld, "trend"] = None
        out.loc[withheld, "status"] = WITHHELD
        out.loc[withheld, "reason"] = [labels[i][1] for i in out.index[withheld]]
        out.loc[incident, "detail"] = None
        out.loc[incident, "notes"] = ""
        for i in out.index[incident]:
            if self._baseline_hidden(out.loc[i]):
                out.loc[i, ["target", "expected"]] = math.nan
                if i not in labels:
                    out.loc[i, "status"] = WITHHELD
                    out.loc[i, "reason"] = _TARGET
        withheld = pd.Series(withheld, index=out.index)
        for rows in _groups(out[incident]):
            self._chain(out, rows, withheld)
        value_label = pd.Series([labels[i][0] if i in labels else None for i in out.index],
                                index=out.index)
        out.insert(out.columns.get_loc("value") + 1, "value_label", value_label)
        return out

    def _cells(self, start, end, measure: str) -> tuple[str, list[pd.Series]]:
        """The grid period of ``start``–``end`` and the two cells of ``measure`` there.

        Raises ReleaseRefused when the span is not a grid period."""
        period = self.plan.period_label(start, end)
        if period.startswith("outside:"):  # no record there: every cell is 0 and published
            return period, [pd.Series({"count": 0, "status": PUBLISHED, "label": None})] * 2
        return period, [self.cell(period, m) for m in INCIDENT_MEASURES[measure]]

    def _baseline_hidden(self, row: pd.Series) -> bool:
        """Whether the row's target is drawn from a baseline year a reader may not see."""
        start = row.get("baseline_start")
        if start is None or pd.isna(start):
            return False
        try:
            _, cells = self._cells(start, row["baseline_end"], row["measure"])
        except ReleaseRefused:
            return True
        return not all(cell["status"] == PUBLISHED for cell in cells)

    def _verdict(self, row: pd.Series) -> tuple[str, str] | None:
        """(value label, withholding reason) of one incident row; None when it is shown."""
        start, end = row["period_start"], row["period_end"]
        if row.get("cohort_start") is not None and not pd.isna(row.get("cohort_start")):
            start, end = row["cohort_start"], row["cohort_end"]
        members = INCIDENT_MEASURES[row["measure"]]
        try:
            period, cells = self._cells(start, end, row["measure"])
        except ReleaseRefused:
            return COMPLEMENTARY_LABEL, _OFF_GRID
        for cell, column in zip(cells, ("numerator", "denominator"), strict=True):
            given = row[column]
            if not pd.isna(given) and int(given) != int(cell["count"]):
                raise ReleaseRefused(
                    f"{row['indicator']} {period}: the {column} {int(given)} differs from the "
                    f"release's {int(cell['count'])} ({members}): the tracker read other records "
                    "than the release (rebuild it after an import)")
        if all(cell["status"] == PUBLISHED for cell in cells):
            return None
        small = suppressed_label(self.plan.threshold)
        label = small if any(cell["label"] == small for cell in cells) else COMPLEMENTARY_LABEL
        return label, _SUPPRESSED

    @staticmethod
    def _chain(out: pd.DataFrame, rows: Sequence, withheld: pd.Series) -> None:
        """Change and trend of one indicator's rows, in period order: missing after a
        withheld row (or a first row compared with a row not in the table)."""
        previous_hidden = not pd.isna(out.at[rows[0], "change"])
        for i in rows:
            if previous_hidden:
                out.loc[i, ["change", "trend"]] = [math.nan, None]
            previous_hidden = bool(withheld[i])


def _groups(rows: pd.DataFrame) -> list[list]:
    """The row labels of each (plan, indicator), in period order."""
    ordered = rows.sort_values(["period_start", "period_end"], kind="stable")
    return [list(group.index) for _, group in ordered.groupby(["plan", "indicator"], sort=False)]
