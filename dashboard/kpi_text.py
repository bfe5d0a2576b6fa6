"""The words shown with a plan indicator's figure, on the planner's page and in the report.

A row of :func:`layers.targets.track` (or of its release below commander)
is read as the plan means it only with its definition, the cases it counts
(a cohort that has had time), the key areas it divides by (official or
suggested) and its numerator, denominator and 95 % interval. One home for
that text, so the page and the report say the same.
"""

from __future__ import annotations

import pandas as pd

from dashboard.i18n import format_date, format_number, translate

__all__ = ["kpi_details", "kpi_value"]


def _given(value) -> bool:
    """Not None, NaN, NA or NaT."""
    return value is not None and not pd.isna(value)


def _field(row, name: str):
    return getattr(row, name, None)


def kpi_value(row, lang: str) -> str:
    """The value as shown: "74,4 %", "≥ 74,4 %" for a lower bound, the label of a withheld
    one ("< 5", "x"), or "–"."""
    label = _field(row, "value_label")
    if isinstance(label, str) and label:
        return label
    value = _field(row, "value")
    if not _given(value):
        return "–"
    bound = "≥ " if bool(_field(row, "lower_bound")) else ""
    return f"{bound}{format_number(value, lang, 1)} %"


def kpi_details(row, lang: str) -> tuple[list[str], str | None]:
    """(lines under the indicator's name, line under its value) of one row.

    Under the name: the definition (what is divided by what), the cohort
    counted when it is not the period's own cases, and for the key-area
    indicators whether the list is the official one or the score's
    suggestion. Under the value: "32/43; khoảng tin cậy 95 %: 59,8–85,1 %"
    when the counts are shown (never for a withheld row: its counts and
    interval are missing).
    """
    lines = []
    definition = _field(row, f"definition_{'vi' if lang == 'vi' else 'en'}")
    if isinstance(definition, str) and definition:
        lines.append(definition)
    start, end = _field(row, "cohort_start"), _field(row, "cohort_end")
    if _given(start) and _given(end):
        lines.append(translate("plan.kpi.cohort", lang, start=format_date(start, lang),
                               end=format_date(end, lang)))
    basis = _field(row, "key_areas")
    if basis == "official":
        source = _field(row, "key_areas_source")
        lines.append(translate("plan.key_areas.official", lang, source=source)
                     if isinstance(source, str) and source
                     else translate("plan.key_areas.official_plan", lang))
    elif basis == "suggested":
        lines.append(translate("plan.key_areas.suggested", lang))
    numerator, denominator = _field(row, "numerator"), _field(row, "denominator")
    counts = None
    if _given(numerator) and _given(denominator) and int(denominator) > 0:
        low, high = _field(row, "ci_low"), _field(row, "ci_high")
        if _given(low) and _given(high):
            counts = translate("plan.kpi.counts_ci", lang,
                               numerator=format_number(int(numerator), lang),
                               denominator=format_number(int(denominator), lang),
                               low=format_number(low, lang, 1), high=format_number(high, lang, 1))
        else:
            counts = translate("plan.kpi.counts", lang,
                               numerator=format_number(int(numerator), lang),
                               denominator=format_number(int(denominator), lang))
    return lines, counts
