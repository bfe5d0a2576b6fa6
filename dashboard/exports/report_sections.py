"""What the report's sections say, as data: the layers they read and the rows they show.

The committee's PDF (:mod:`dashboard.exports.report`) and the Standing Office's
Word document (:mod:`dashboard.exports.report_docx`) show the same figures
laid out differently: both take them from here, as plain text (the PDF escapes
it for HTML, the Word document writes it as it is). Every function takes the
analyses of the role the report is made for: the commander's
:class:`dashboard.analysis.Analyses`, or the :class:`dashboard.released.Released`
view of a role below commander (:func:`is_released`), whose small counts are
withheld.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from dashboard.i18n import format_number, reason_text, translate
from layers.compare import NO_COMPARISON
from layers.counts import INCIDENT_TYPES
from layers.gaps import priority_list
from layers.layer import Layer

__all__ = [
    "GI_LEVELS",
    "PRIORITY_TOP",
    "RISES_TOP",
    "change_layer",
    "coverage_gaps",
    "gi_layer",
    "gi_levels",
    "hotspot_counts",
    "is_released",
    "layer_trend",
    "priority_rows",
    "priority_table",
    "province_total",
    "report_forecast",
    "risk_coverage_layer",
    "signed",
    "total_trend",
    "type_row",
]

#: Communes listed in section 4 (priority) and in section 5 (largest rises).
PRIORITY_TOP = 10
RISES_TOP = 10
#: The confidence levels of the Gi* classes, strongest first ("hot_99", "cold_90" …).
GI_LEVELS = (99, 95, 90)


def is_released(an) -> bool:
    """Whether the report is made for a role below commander (small counts hidden)."""
    return bool(an.released)


def report_forecast(an, unit_set: str, end, wait: float | None):
    """The forecast a commander's report shows (all types, after the period's last complete
    quarter): from the forecasts built in the background, waiting up to ``wait`` seconds,
    then the layer that says it is being prepared; ``wait=None`` builds it here if need be
    (the command line, which has no server to come back to)."""
    if wait is None:
        return an.forecast(unit_set=unit_set, types=INCIDENT_TYPES, end=end)
    return (an.forecast_ready(unit_set=unit_set, types=INCIDENT_TYPES, end=end, wait=wait)
            or an.forecast_waiting(unit_set))


# --------------------------------------------------------------------------- the layers


def gi_layer(an, unit_set: str, start: dt.date, end: dt.date) -> Layer:
    """Section 1's layer: Gi* hot spots of all incident types over the period."""
    return an.layer("gi", unit_set=unit_set, types=INCIDENT_TYPES, start=start, end=end)


def risk_coverage_layer(an, unit_set: str, start: dt.date, end: dt.date) -> Layer:
    """Section 2's layer: each commune's risk against its prevention coverage."""
    return an.planner_layer("gaps", unit_set=unit_set, start=start, end=end)


def change_layer(an, unit_set: str, start: dt.date, end: dt.date,
                 types: Sequence[str] = INCIDENT_TYPES) -> Layer:
    """Section 5's layer for ``types``: the period against the same period a year before."""
    return an.layer("change", unit_set=unit_set, types=tuple(types), start=start, end=end)


def priority_table(an, unit_set: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Section 4's communes, all of them, in rank order (the report shows the first
    :data:`PRIORITY_TOP`)."""
    return priority_list(an.gap_evidence(unit_set=unit_set, start=start, end=end), top=None)


# --------------------------------------------------------------------------- the words


def priority_rows(priority: pd.DataFrame, lang: str) -> list[list[str]]:
    """Section 4's rows: rank, commune, its risk × coverage class, the agency of its latest
    outreach, and the reasons it is a priority (:func:`layers.gaps.priority_list`'s)."""
    return [[format_number(int(r["rank"]), lang), str(r["name"]),
             translate(f"gap.{r['risk']}.{r['coverage']}", lang), _text_or_dash(r["last_agency"]),
             "; ".join(reason_text(k, p, lang) for k, p in r["reasons"])]
            for _, r in priority.iterrows()]


def _text_or_dash(value) -> str:
    """A text cell, or "–" where it is empty (None, NaN, "")."""
    return value if isinstance(value, str) and value else "–"


def signed(value: int, lang: str) -> str:
    """A difference with its sign: "+12", "-3", "0".

    Examples
    --------
    >>> signed(1835, "vi"), signed(-3, "en"), signed(0, "vi")
    ('+1.835', '-3', '0')
    """
    return ("+" if value > 0 else "") + format_number(value, lang)


def province_total(params: dict, lang: str, *, other: bool = False) -> str:
    """A change layer's province total (``other``: of the earlier period), or its label
    where the release hides it ("< 5", "x").

    Examples
    --------
    >>> province_total({"total": 1835}, "vi")
    '1.835'
    >>> province_total({"total_other": None,
    ...                 "suppression": {"other": {"province_label": "< 5"}}}, "vi", other=True)
    '< 5'
    """
    value = params["total_other" if other else "total"]
    if value is not None:
        return format_number(value, lang)
    info = params.get("suppression", {})
    info = info.get("other", {}) if other else info
    return str(info.get("province_label") or "x")


def gi_levels(classes: pd.Series, kind: str, lang: str) -> str:
    """" (99 %: 1; 90 %: 2)": the communes of ``kind`` ("hot"/"cold") at each confidence;
    empty when there are none."""
    parts = [translate("report.hot.level", lang, level=level,
                       n=format_number(int((classes == f"{kind}_{level}").sum()), lang))
             for level in GI_LEVELS if (classes == f"{kind}_{level}").any()]
    return f" ({'; '.join(parts)})" if parts else ""


def hotspot_counts(classes: pd.Series, lang: str) -> str:
    """Section 1's count of the communes hot and cold (at each confidence) and not
    significant, from the Gi* layer's ``gi_class``."""
    classes = classes.fillna("")
    return translate(
        "report.hot.counts", lang,
        hot=format_number(int(classes.str.startswith("hot").sum()), lang),
        hot_detail=gi_levels(classes, "hot", lang),
        cold=format_number(int(classes.str.startswith("cold").sum()), lang),
        cold_detail=gi_levels(classes, "cold", lang),
        ns=format_number(int((classes == "not_significant").sum()), lang))


def coverage_gaps(frame: pd.DataFrame, lang: str) -> str:
    """Section 2's count of the high-risk communes by their coverage (low, medium, high),
    and of the medium-risk ones, from the risk × coverage layer's frame."""
    high = frame[frame["risk"] == "high"]["coverage"].value_counts()
    return translate(
        "report.cov.gaps", lang, high=format_number(int(high.sum()), lang),
        low=format_number(int(high.get("low", 0)), lang),
        medium=format_number(int(high.get("medium", 0)), lang),
        high_cov=format_number(int(high.get("high", 0)), lang),
        medium_risk=format_number(int((frame["risk"] == "medium").sum()), lang))


def type_row(label: str, layer: Layer, lang: str) -> list[str]:
    """One row of section 5's table: the type's total now and before, the difference and
    its assessment; where the release hides a total, its label and no difference; where
    the records do not reach the earlier period, no comparison."""
    p = layer.params
    now, before = province_total(p, lang), province_total(p, lang, other=True)
    if not p["comparable"]:  # "0 → 324" is no comparison: the earlier count is not shown
        return [label, now, "–", "–", translate(f"trend.{NO_COMPARISON}", lang)]
    if p["total"] is None or p["total_other"] is None or p.get("total_p_value") is None:
        return [label, now, before, "–", "–"]
    return [label, now, before, signed(p["total"] - p["total_other"], lang),
            translate(f"trend.{layer_trend(p)}", lang)]


def total_trend(params: dict, lang: str) -> str:
    """Significant rise / fall / no significant change of a change layer's province total."""
    return translate(f"trend.{layer_trend(params)}", lang)


def layer_trend(params: dict) -> int:
    """+1 / −1 / 0: the province total of a change layer against its other period, per
    day, where its test is significant at the layer's ``alpha``
    (:data:`layers.compare.NO_COMPARISON` when the records do not cover that period)."""
    if not params["comparable"]:
        return NO_COMPARISON
    if params["total_p_value"] >= params["alpha"]:
        return 0
    days = (params["end"] - params["start"]).days + 1
    other_days = (params["other_end"] - params["other_start"]).days + 1
    return 1 if params["total"] / days > params["total_other"] / other_days else -1
