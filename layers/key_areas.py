"""Key-area suggestion (địa bàn trọng điểm): communes ranked by a transparent score, with reasons.

A commander must defend the list in committee, so the score is a sum of
plain points, each with its reason written out, from layers already on the
map: the Gi* hot-spot class, the emerging-hot-spot category, the smoothed
rate, the distance to the border and to a gate, and a significant rise on
the previous period. No weights are fitted; the table below is the rule.

=============================  ======
evidence                       points
=============================  ======
Gi* hot spot 99 / 95 / 90 %    3 / 2 / 1
emerging: new, consecutive,    2
intensifying hot spot
emerging: persistent,          1
sporadic, oscillating hot
EB rate in the top quarter /   2 / 1
in the top half (see below)
≤ 5 km / ≤ 15 km from border   2 / 1
≤ 15 km from a gate            1
significant rise on the        1
previous period
=============================  ======

Rate points, precisely: among the ``n`` communes with a known smoothed rate,
a commune's rate earns 2 points when at most ``n / 4`` communes (itself
included) have a rate at least as high, 1 point when at most ``n / 2`` do,
and nothing when its rate is 0. Ties are broken against: communes tied
across a cut-off all miss it, so when the Empirical Bayes rate falls back to
the province rate and every commune ties, none earns a rate point. With 96
communes and no ties: the 24 highest rates earn 2 points, the next 24 earn 1.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from layers.layer import Caveat, Layer

__all__ = ["KEY_AREA_SCALE", "POINTS", "key_area_layer", "key_area_scores"]

#: Points per piece of evidence (the rule above, as data: the UI prints it).
POINTS = {
    "gi.hot_99": 3, "gi.hot_95": 2, "gi.hot_90": 1,
    "emerging.new_hot": 2, "emerging.consecutive_hot": 2, "emerging.intensifying_hot": 2,
    "emerging.persistent_hot": 1, "emerging.sporadic_hot": 1, "emerging.oscillating_hot": 1,
    "rate.top_quarter": 2, "rate.above_median": 1,
    "border.within_5": 2, "border.within_15": 1,
    "gate.within_15": 1,
    "trend.rise": 1,
}
#: Sequential scale for the score (0 = light grey).
KEY_AREA_SCALE = ((0.0, "#f0f0f0"), (0.001, "#fee5d9"), (0.35, "#fcae91"), (0.6, "#fb6a4a"),
                  (0.8, "#de2d26"), (1.0, "#a50f15"))


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
    gi = row.get("gi_class")
    if isinstance(gi, str) and f"gi.{gi}" in POINTS:
        out.append((f"gi.{gi}", {}))
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
    if row.get("trend") == 1:
        out.append(("trend.rise", {"count": row.get("count_now"), "other": row.get("count_before")}))
    return out


def key_area_scores(evidence: pd.DataFrame, *, top: int | None = None) -> pd.DataFrame:
    """Score and rank communes from the evidence columns present.

    Parameters
    ----------
    evidence : DataFrame
        Indexed by commune code, with ``name`` and any of: ``gi_class``
        (hot_99 … from :mod:`layers.hotspots`), ``category`` (from
        :mod:`layers.emerging`), ``rate_eb`` (from :mod:`layers.rates`;
        its points by rank, ties against: see the module docstring),
        ``border_km``, ``gate_km``, ``gate_name`` (from
        :mod:`layers.proximity`), ``trend`` (+1/0/−1), ``count_now``,
        ``count_before`` (from :mod:`layers.compare`), ``count``.
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
    reasons = [_evidence(row, points)
               for (_, row), points in zip(evidence.iterrows(), rate_points, strict=True)]
    out = evidence[["name"]].copy()
    out["score"] = [sum(POINTS[key] for key, _ in r) for r in reasons]
    out["reasons"] = reasons
    out["count"] = evidence["count"] if "count" in evidence else 0
    out = out.sort_values(["score", "count"], ascending=[False, False], kind="stable")
    out["rank"] = out["score"].rank(method="min", ascending=False).astype(int)
    if top is not None:
        out = out[out["score"] > 0].head(top)
    return out


def key_area_layer(evidence: pd.DataFrame, *, unit_set: str,
                   caveats: Iterable[Caveat] = ()) -> Layer:
    """The score of every commune as a map layer (reasons kept in the frame)."""
    scores = key_area_scores(evidence).reindex(evidence.index)
    return Layer(
        frame=scores,
        value="score",
        unit_set=unit_set,
        title_key="layer.key_areas.title",
        legend_key="layer.key_areas.legend",
        units_key="unit.points",
        params={"points": dict(POINTS), "columns": sorted(set(evidence.columns) - {"name"})},
        colorscale=KEY_AREA_SCALE,
        caveats=tuple(caveats),
    )
