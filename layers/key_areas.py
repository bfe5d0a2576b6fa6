"""Key-area suggestion (địa bàn trọng điểm): communes ranked by a transparent score, with reasons.

A commander must defend the list in committee, so the score is a sum of
plain points, each with its reason written out, from layers already on the
map: the Gi* hot-spot class, the emerging-hot-spot category, the smoothed
rate, the distance to the border and to a gate, and a significant rise on
the same period a year before. No weights are fitted; the table below is the
rule.

=============================  ======
evidence                       points
=============================  ======
Gi* hot spot 99 / 95 / 90 %    3 / 2 / 1
(of the rate per resident;
of the counts without it)
emerging: new, consecutive,    2
intensifying hot spot
emerging: persistent,          1
sporadic, oscillating hot
EB rate in the top quarter /   2 / 1
in the top half (see below)
≤ 5 km / ≤ 15 km from border   2 / 1
≤ 15 km from a gate            1
significant rise on the same   1
period a year before (FDR)
=============================  ======

Gi* points, precisely: the score asks "where is the risk high?", so they
come from the Gi* map of the smoothed rate per resident (``gi_rate_class``,
:func:`layers.hotspots.rate_hotspot_layer`), FDR-corrected; the Gi* map of
the counts (``gi_class``) answers "where do incidents cluster?", which
follows the communes' size, and is used only for a commune with no rate
(no population: every pre-2025 commune). The two never add up.

Rate points, precisely: among the ``n`` communes with a known smoothed rate,
a commune's rate earns 2 points when at most ``n / 4`` communes (itself
included) have a rate at least as high, 1 point when at most ``n / 2`` do,
and nothing when its rate is 0. Ties are broken against: communes tied
across a cut-off all miss it, so when the Empirical Bayes rate falls back to
the province rate and every commune ties, none earns a rate point. With 96
communes and no ties: the 24 highest rates earn 2 points, the next 24 earn 1.

Rise point, precisely (:func:`change_evidence`): a commune whose count rose
significantly against the same period a year before, Benjamini–Hochberg
corrected across the communes (the classes of
:func:`layers.compare.compare_periods` with its default ``against``). A rise
on the period just before is mostly the season (the July–September campaign
against the spring: 6 of the demo's 96 communes in 2025Q3, 1 after the
correction) and earns nothing; nor does a period with no comparison period.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from layers.layer import Caveat, Layer

__all__ = ["KEY_AREA_SCALE", "KEY_AREA_SCORE", "POINTS", "change_evidence", "commune_evidence",
           "key_area_layer", "key_area_scores", "suggested_key_areas"]

#: Points per piece of evidence (the rule above, as data: the UI prints it).
POINTS = {
    "gi.hot_99": 3, "gi.hot_95": 2, "gi.hot_90": 1,
    "gi_rate.hot_99": 3, "gi_rate.hot_95": 2, "gi_rate.hot_90": 1,
    "emerging.new_hot": 2, "emerging.consecutive_hot": 2, "emerging.intensifying_hot": 2,
    "emerging.persistent_hot": 1, "emerging.sporadic_hot": 1, "emerging.oscillating_hot": 1,
    "rate.top_quarter": 2, "rate.above_median": 1,
    "border.within_5": 2, "border.within_15": 1,
    "gate.within_15": 1,
    "trend.rise_yoy": 1,
}
#: Sequential scale for the score (0 = light grey).
KEY_AREA_SCALE = ((0.0, "#f0f0f0"), (0.001, "#fee5d9"), (0.35, "#fcae91"), (0.6, "#fb6a4a"),
                  (0.8, "#de2d26"), (1.0, "#a50f15"))


def change_evidence(change: Layer) -> pd.DataFrame:
    """The evidence a change layer gives the score: ``trend``, ``count_now``, ``count_before``
    and ``rise`` (the rise point's condition, the rule in the module docstring).

    Parameters
    ----------
    change : Layer
        From :func:`layers.compare.compare_periods`.

    Returns
    -------
    DataFrame
        Indexed as ``change.frame``; ``rise`` is True only for a significant
        rise (``trend`` +1, Benjamini–Hochberg corrected) against the same
        period a year before.

    Examples
    --------
    >>> import datetime as dt
    >>> from layers.compare import compare_periods
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-08-01"] * 12 + ["2023-05-02"] * 2),
    ...                     "type": "tip", "new_code": "1", "old_code": "1"})
    >>> com = pd.DataFrame({"name": ["A"]}, index=["1"])
    >>> q3 = dict(unit_set="2025", start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    >>> change_evidence(compare_periods(inc, com, **q3))["rise"].tolist()
    [True]
    >>> inc["date"] = pd.to_datetime(["2024-08-01"] * 12 + ["2024-05-02"] * 2)
    >>> change_evidence(compare_periods(inc, com, against="previous", **q3))["rise"].tolist()
    [False]
    """
    frame, params = change.frame, change.params
    counted = (params.get("against") == "year_before" and params.get("correction") == "fdr_bh"
               and bool(params.get("comparable")))
    trend = frame["trend"]
    return pd.DataFrame({"trend": trend, "count_now": frame["count"],
                         "count_before": frame["other"],
                         "rise": (trend == 1).fillna(False).astype(bool) & counted},
                        index=frame.index)


def commune_evidence(units: pd.DataFrame, *, counts: Layer, gi: Layer, emerging: Layer,
                     change: Layer, distances: pd.DataFrame, rates: Layer | None = None,
                     gi_rate: Layer | None = None) -> pd.DataFrame:
    """Every commune's evidence for :func:`key_area_scores`, from the layers it scores.

    Parameters
    ----------
    units : DataFrame
        The unit set's communes (index: code; ``name``).
    counts, gi, emerging, change : Layer
        Incident counts, Gi* of the counts, emerging categories and the comparison with
        the same period a year before, all over the same filters.
    distances : DataFrame
        ``border_km``, ``gate_km`` and ``gate_name`` per commune
        (:func:`layers.proximity.gate_distances`, :func:`layers.proximity.border_distance`).
    rates, gi_rate : Layer, optional
        The smoothed rate and its Gi*: only where the population is known (the 2025
        communes); without them the score takes its Gi* points from the counts.

    Returns
    -------
    DataFrame
        ``name``, ``count``, (``rate_eb``, ``gi_rate_class``), ``gi_class``,
        ``category``, the columns of :func:`change_evidence`, ``border_km``,
        ``gate_km``, ``gate_name``.
    """
    ev = units[["name"]].copy()
    ev["count"] = counts.frame["count"]
    if rates is not None and gi_rate is not None:
        ev["rate_eb"] = rates.frame["rate_eb"]
        # the Gi* points of the score: where the risk per resident is high
        ev["gi_rate_class"] = gi_rate.frame["gi_class"]
    ev["gi_class"] = gi.frame["gi_class"]
    ev["category"] = emerging.frame["category"]
    # trend, count_now, count_before and rise (a corrected rise on a year before,
    # the only one that earns the point; none when there is no comparison period)
    rise = change_evidence(change)
    ev[list(rise.columns)] = rise
    ev["border_km"] = distances["border_km"]
    ev["gate_km"] = distances["gate_km"]
    ev["gate_name"] = distances["gate_name"]
    return ev


def _rate_points(rates: pd.Series) -> pd.Series:
    """2, 1 or 0 rate points per commune (the rule in the module docstring); NaN rate: 0."""
    known = rates.dropna().astype(float)
    at_least_as_high = known.rank(method="max", ascending=False)  # ties take the worst rank
    n = len(known)
    points = np.select([at_least_as_high <= n / 4, at_least_as_high <= n / 2], [2, 1], 0)
    points = pd.Series(points, index=known.index).where(known > 0, 0)
    return points.reindex(rates.index, fill_value=0).astype(int)


def _evidence(row: pd.Series, rate_points: int) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    # the Gi* of the rate where the commune has one (risk), else of the counts (the rule above)
    prefix, gi = "gi_rate", row.get("gi_rate_class")
    if not isinstance(gi, str):
        prefix, gi = "gi", row.get("gi_class")
    if isinstance(gi, str) and f"{prefix}.{gi}" in POINTS:
        out.append((f"{prefix}.{gi}", {}))
    cat = row.get("category")
    if isinstance(cat, str) and f"emerging.{cat}" in POINTS:
        out.append((f"emerging.{cat}", {}))
    if rate_points:
        key = "rate.top_quarter" if rate_points == 2 else "rate.above_median"
        out.append((key, {"rate": float(row["rate_eb"])}))
    border = row.get("border_km")
    if border is not None and not pd.isna(border):
        if border <= 5:
            out.append(("border.within_5", {"km": float(border)}))
        elif border <= 15:
            out.append(("border.within_15", {"km": float(border)}))
    gate = row.get("gate_km")
    if gate is not None and not pd.isna(gate) and gate <= 15:
        out.append(("gate.within_15", {"km": float(gate), "gate": row.get("gate_name", "")}))
    rise = row.get("rise")
    if isinstance(rise, (bool, np.bool_)) and rise:
        out.append(("trend.rise_yoy", {"count": row.get("count_now"),
                                       "other": row.get("count_before")}))
    return out


def key_area_scores(evidence: pd.DataFrame, *, top: int | None = None) -> pd.DataFrame:
    """Score and rank communes from the evidence columns present.

    Parameters
    ----------
    evidence : DataFrame
        Indexed by commune code, with ``name`` and any of: ``gi_rate_class``
        (hot_99 … of :func:`layers.hotspots.rate_hotspot_layer`) or else
        ``gi_class`` (of the counts, :func:`layers.hotspots.hotspot_layer`),
        ``category`` (from
        :mod:`layers.emerging`), ``rate_eb`` (from :mod:`layers.rates`;
        its points by rank, ties against: see the module docstring),
        ``border_km``, ``gate_km``, ``gate_name`` (from
        :mod:`layers.proximity`), ``trend``, ``count_now``,
        ``count_before``, ``rise`` (from :func:`change_evidence`: only
        ``rise`` earns the point), ``count``.
    top : int, optional
        Keep only the ``top`` best-ranked communes with a positive score.

    Returns
    -------
    DataFrame
        ``name``, ``score``, ``rank`` (1 = highest; ties share the rank),
        ``reasons`` (list of (reason key, params) pairs, each worth
        ``POINTS[key]``), sorted by score then count.

    Examples
    --------
    >>> ev = pd.DataFrame({"name": ["A", "B"], "gi_class": ["hot_99", "not_significant"],
    ...                    "border_km": [2.0, 40.0]}, index=["1", "2"])
    >>> key_area_scores(ev)[["score", "rank"]].values.tolist()
    [[5, 1], [0, 2]]
    """
    rate_points = (_rate_points(evidence["rate_eb"]) if "rate_eb" in evidence
                   else pd.Series(0, index=evidence.index))
    out = evidence[["name"]].copy()
    out["score"] = _scores(evidence, rate_points)
    out["count"] = evidence["count"] if "count" in evidence else 0
    out = out.sort_values(["score", "count"], ascending=[False, False], kind="stable")
    out["rank"] = out["score"].rank(method="min", ascending=False).astype(int)
    if top is not None:
        out = out[out["score"] > 0].head(top)
    # the reasons written out for the rows kept only (the ranked table keeps 15 of 3,321)
    points = rate_points.reindex(out.index).tolist()
    out.insert(2, "reasons", [_evidence(evidence.loc[code], p)
                              for code, p in zip(out.index, points, strict=True)])
    return out


def _scores(evidence: pd.DataFrame, rate_points: pd.Series) -> np.ndarray:
    """Every commune's score at once: the points of the reasons :func:`_evidence` writes
    (the same rule, on whole columns; ``tests/test_key_areas.py`` checks they agree)."""
    n = len(evidence)

    def column(name: str) -> pd.Series:
        return evidence[name] if name in evidence else pd.Series(None, index=evidence.index,
                                                                 dtype=object)

    def points_of(prefix: str, values: pd.Series) -> np.ndarray:
        keys = values.map(lambda v: f"{prefix}.{v}" if isinstance(v, str) else None)
        return keys.map(lambda k: POINTS.get(k, 0) if k is not None else 0).to_numpy(int)

    rate_class, count_class = column("gi_rate_class"), column("gi_class")
    has_rate = rate_class.map(lambda v: isinstance(v, str)).to_numpy(bool)
    score = np.where(has_rate, points_of("gi_rate", rate_class), points_of("gi", count_class))
    score = score + points_of("emerging", column("category"))
    rated = np.asarray(rate_points.to_numpy(), dtype=int)
    score = score + np.select([rated == 2, rated != 0], [POINTS["rate.top_quarter"],
                                                         POINTS["rate.above_median"]], 0)
    border = pd.to_numeric(column("border_km"), errors="coerce").to_numpy(float)
    gate = pd.to_numeric(column("gate_km"), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        score = score + np.where(border <= 5, POINTS["border.within_5"],
                                 np.where(border <= 15, POINTS["border.within_15"], 0))
        score = score + np.where(gate <= 15, POINTS["gate.within_15"], 0)
    rise = column("rise").map(lambda v: isinstance(v, (bool, np.bool_)) and bool(v))
    score = score + rise.to_numpy(bool).astype(int) * POINTS["trend.rise_yoy"]
    return score.astype(int) if n else np.zeros(0, dtype=int)


#: The score from which a commune is suggested as a key area (high risk; see :mod:`layers.gaps`).
KEY_AREA_SCORE = 5


def suggested_key_areas(scores: pd.DataFrame, *, at_least: int = KEY_AREA_SCORE
                        ) -> tuple[str, ...]:
    """The codes of the communes whose score (:func:`key_area_scores`) is ``at_least``,
    sorted: a suggestion, used by the plan indicators only for a plan without an official
    list of key areas.

    Examples
    --------
    >>> import pandas as pd
    >>> suggested_key_areas(pd.DataFrame({"score": [6, 2, 5]}, index=["c", "a", "b"]))
    ('b', 'c')
    """
    return tuple(sorted(scores.index[scores["score"] >= at_least]))


def key_area_layer(evidence: pd.DataFrame, *, unit_set: str,
                   caveats: Iterable[Caveat] = ()) -> Layer:
    """The score of every commune as a map layer (reasons kept in the frame).

    ``params["about_key"]`` names what the map shows (a suggestion scored by the rule of
    the module docstring, not the plan's official list): ``layer.key_areas.about`` when
    the Gi* points are the rate's, ``layer.key_areas.about_counts`` when they are the
    counts' (no population known).
    """
    scores = key_area_scores(evidence).reindex(evidence.index)
    return Layer(
        frame=scores,
        value="score",
        unit_set=unit_set,
        kind="key_areas",
        title_key="layer.key_areas.title",
        legend_key="layer.key_areas.legend",
        units_key="unit.points",
        params={"points": dict(POINTS), "columns": sorted(set(evidence.columns) - {"name"}),
                "about_key": "layer.key_areas.about" if "gi_rate_class" in evidence
                else "layer.key_areas.about_counts"},
        colorscale=KEY_AREA_SCALE,
        caveats=tuple(caveats),
    )
