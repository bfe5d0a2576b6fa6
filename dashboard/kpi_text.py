"""The words shown with a plan indicator's figure, on the planner's page and in the report.

A row of :func:`layers.targets.track` (or of its release below commander)
is read as the plan means it only with its definition, the cases it counts
(a cohort that has had time), the key areas it divides by (official or
suggested) and its numerator, denominator and 95 % interval. One home for
that text, so the page and the report say the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.i18n import format_date, format_number, translate

__all__ = ["KpiText", "kpi_details", "kpi_value"]


@dataclass(frozen=True)
class KpiText:
    """What is said with one figure (each None when it does not apply).

    Attributes
    ----------
    definition : str
        What the plan divides by what (the indicator's ``definition_vi`` / ``_en``).
    cohort : str
        The cases counted when they are not the period's own.
    key_areas : str
        Whether the key areas are the official list or the score's suggestion.
    counts : str
        "32/43" (never for a withheld row).
    interval : str
        "KTC 95 %: 59,8–85,1 %" (never for a withheld row).
    """

    definition: str | None
    cohort: str | None
    key_areas: str | None
    counts: str | None
    interval: str | None

    @property
    def lines(self) -> list[str]:
        """The definition, cohort and key-area lines that apply, in that order."""
        return [x for x in (self.definition, self.cohort, self.key_areas) if x]


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


def kpi_details(row, lang: str) -> KpiText:
    """What is said with one row of :func:`layers.targets.track` (or of its release).

    The definition (what is divided by what), the cohort counted when it is
    not the period's own cases, for the key-area indicators whether the list
    is the official one or the score's suggestion, and "32/43", "KTC 95 %:
    59,8–85,1 %" when the counts are shown (never for a withheld row: its
    counts and interval are missing).
    """
    definition = _field(row, f"definition_{'vi' if lang == 'vi' else 'en'}")
    definition = definition if isinstance(definition, str) and definition else None
    cohort = key_areas = None
    start, end = _field(row, "cohort_start"), _field(row, "cohort_end")
    if _given(start) and _given(end):
        cohort = translate("plan.kpi.cohort", lang, start=format_date(start, lang),
                           end=format_date(end, lang))
    basis = _field(row, "key_areas")
    if basis == "official":
        source = _field(row, "key_areas_source")
        key_areas = (translate("plan.key_areas.official", lang, source=source)
                     if isinstance(source, str) and source
                     else translate("plan.key_areas.official_plan", lang))
    elif basis == "suggested":
        key_areas = translate("plan.key_areas.suggested", lang)
    numerator, denominator = _field(row, "numerator"), _field(row, "denominator")
    counts = interval = None
    if _given(numerator) and _given(denominator) and int(denominator) > 0:
        counts = translate("plan.kpi.counts", lang,
                           numerator=format_number(int(numerator), lang),
                           denominator=format_number(int(denominator), lang))
        low, high = _field(row, "ci_low"), _field(row, "ci_high")
        if _given(low) and _given(high):
            interval = translate("plan.kpi.ci", lang, low=format_number(low, lang, 1),
                                 high=format_number(high, lang, 1))
    return KpiText(definition, cohort, key_areas, counts, interval)
