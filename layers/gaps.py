"""Where risk is high and prevention thin: the bivariate gap map and the priority list.

A planner asks which communes to target next quarter. Each commune gets a
risk class from its key-area score (:mod:`layers.key_areas`) and a coverage
class from its prevention models and outreach reach, both with fixed,
written thresholds (defensible in committee, unlike terciles that move with
the data):

=========  =====================================================
risk       low: score ≤ 1 · medium: 2–4 · high: ≥ 5
coverage   high: an active intensive model, or ≥ 2 active models
           and reach at or above the province median;
           low: no active model and low reach;
           medium: everything else
reach      low: no outreach in the period (reach 0), or below the
           province median; at or above the median: any other
           known reach; unknown (no population): neither
=========  =====================================================

The median is taken over the communes whose reach is known. When most
communes had no outreach in the period the median is 0; a commune with
none is still low reach (it is not "at the median"). Unknown reach is not
taken for 0: it counts neither for nor against, so such a commune's coverage
comes from its models alone (high with an intensive model, medium otherwise,
never low); the layer lists these communes in ``params["reach_unknown"]``
and the priority list says "reach unknown".

The nine combinations are coded ``3 * risk + (2 - coverage) + 1`` (1 … 9):
9 is high risk with low coverage, the cell that must stand out on the map.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from layers.layer import Caveat, Layer

__all__ = ["BIVARIATE_COLOURS", "BIVARIATE_SCALE", "GAP_CLASSES", "gap_classes", "gap_evidence",
           "gap_layer", "priority_list"]

_RISK = ("low", "medium", "high")
_COVERAGE = ("low", "medium", "high")
#: Bivariate palette (risk: light → red; coverage: low → high washes the colour out):
#: the darkest cell is high risk + low coverage, the lightest low risk + high coverage,
#: so the order survives grey print; red–grey is readable with colour-vision deficiencies.
BIVARIATE_COLOURS = {
    1: "#f3f3f3", 2: "#e6e6e6", 3: "#d2d2d2",   # low risk: high / medium / low coverage
    4: "#f7d7c9", 5: "#eeb29b", 6: "#e08a6c",   # medium risk
    7: "#e9a98f", 8: "#cf5f43", 9: "#8c1c13",   # high risk
}
BIVARIATE_SCALE = tuple(
    stop for code in range(1, 10)
    for stop in ((round((code - 1) / 9, 6), BIVARIATE_COLOURS[code]),
                 (1.0 if code == 9 else round(code / 9 - 1e-6, 6), BIVARIATE_COLOURS[code]))
)
#: Code → (risk, coverage) of the nine classes.
GAP_CLASSES = {3 * r + (2 - c) + 1: (_RISK[r], _COVERAGE[c]) for r in range(3) for c in range(3)}


def _risk(score: pd.Series) -> pd.Series:
    return pd.Series(np.select([score >= 5, score >= 2], [2, 1], 0), index=score.index)


def _reach_levels(reach: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(low, at or above the median) per commune; both False where reach is unknown."""
    known = reach.notna()
    median = reach.median()  # over the known reaches; NaN when none is known
    low = known & ((reach <= 0) | (reach < median))
    return low, known & ~low


def _coverage(models: pd.Series, intensive: pd.Series, reach: pd.Series) -> pd.Series:
    reach_low, reach_ok = _reach_levels(reach)
    high = (intensive > 0) | ((models >= 2) & reach_ok)
    low = (models == 0) & reach_low
    return pd.Series(np.select([high, low], [2, 0], 1), index=models.index)


def gap_evidence(units: pd.DataFrame, *, scores: pd.DataFrame, coverage: Layer,
                 reach: Layer) -> pd.DataFrame:
    """Risk and coverage of every commune: what :func:`gap_classes` classes.

    Parameters
    ----------
    units : DataFrame
        The unit set's communes (index: code; ``name``).
    scores : DataFrame
        :func:`layers.key_areas.key_area_scores` of every incident type (``score``,
        ``reasons``).
    coverage : Layer
        :func:`layers.coverage.model_coverage` (``total``, ``intensive``).
    reach : Layer
        :func:`layers.reach.outreach_reach` (``reach``, ``days_since_last``,
        ``last_agency``).

    Returns
    -------
    DataFrame
        ``name``, ``score`` (0 where none), ``risk_reasons``, ``models``, ``intensive``,
        ``reach``, ``days_since``, ``last_agency``.
    """
    ev = units[["name"]].copy()
    ev["score"] = scores["score"].reindex(ev.index).fillna(0).astype(int)
    ev["risk_reasons"] = scores["reasons"].reindex(ev.index)
    ev["models"] = coverage.frame["total"]
    ev["intensive"] = coverage.frame["intensive"]
    ev["reach"] = reach.frame["reach"]
    ev["days_since"] = reach.frame["days_since_last"]
    ev["last_agency"] = reach.frame["last_agency"]
    return ev


def gap_classes(evidence: pd.DataFrame) -> pd.DataFrame:
    """Risk, coverage and the bivariate code of every commune.

    Parameters
    ----------
    evidence : DataFrame
        Indexed by commune code: ``name``, ``score`` (key-area score),
        ``models`` (active prevention models), ``intensive`` (of which
        intensive), ``reach`` (outreach participants per 1,000 residents,
        0 where there was no outreach, NaN where unknown: see the module
        docstring for how each enters the coverage class).

    Returns
    -------
    DataFrame
        ``evidence`` plus ``risk`` and ``coverage`` ("low"/"medium"/"high")
        and ``gap`` (1 … 9).

    Examples
    --------
    >>> ev = pd.DataFrame({"name": ["A", "B"], "score": [6, 0], "models": [0, 3],
    ...                    "intensive": [0, 1], "reach": [1.0, 50.0]}, index=["1", "2"])
    >>> gap_classes(ev)[["risk", "coverage", "gap"]].values.tolist()
    [['high', 'low', 9], ['low', 'high', 1]]
    """
    for col in ("name", "score", "models", "intensive", "reach"):
        if col not in evidence:
            raise ValueError(f"evidence lacks the column {col!r}")
    risk = _risk(evidence["score"].fillna(0))
    cover = _coverage(evidence["models"].fillna(0), evidence["intensive"].fillna(0),
                      evidence["reach"].astype(float))
    out = evidence.copy()
    out["risk"] = risk.map(dict(enumerate(_RISK)))
    out["coverage"] = cover.map(dict(enumerate(_COVERAGE)))
    out["gap"] = (3 * risk + (2 - cover) + 1).astype(int)
    return out


def gap_layer(evidence: pd.DataFrame, *, unit_set: str, caveats: Iterable[Caveat] = ()) -> Layer:
    """The bivariate map: one of nine risk × coverage classes per commune."""
    frame = gap_classes(evidence)
    return Layer(
        frame=frame,
        value="gap",
        unit_set=unit_set,
        kind="gaps",
        title_key="layer.gaps.title",
        legend_key="layer.gaps.legend",
        units_key="unit.category",
        params={
            "classes": tuple({"code": code, "message_key": f"gap.{r}.{c}"}
                             for code, (r, c) in sorted(GAP_CLASSES.items())),
            "zmin": 0.5, "zmax": 9.5,
            "counts": frame["gap"].value_counts().sort_index().to_dict(),
            # coverage read from the models alone (see the module docstring)
            "reach_unknown": tuple(frame.index[frame["reach"].isna()]),
        },
        colorscale=BIVARIATE_SCALE,
        caveats=tuple(caveats),
    )


def priority_list(evidence: pd.DataFrame, *, top: int | None = 20) -> pd.DataFrame:
    """Communes to target, the most urgent first, each with its reasons.

    Order: gap class (9 first), then the key-area score, then the lower
    reach. Low-risk communes (score ≤ 1) are left out. ``reasons`` lists
    (message key, params) pairs: the key-area reasons given in
    ``evidence["risk_reasons"]`` (if present) followed by the coverage facts
    (no active model / no intensive model, reach, days since the last event).

    Parameters
    ----------
    evidence : DataFrame
        As :func:`gap_classes`, plus optional ``days_since`` (days since the
        last outreach event), ``last_agency`` and ``risk_reasons``.
    top : int, optional
        Keep the first ``top`` communes.

    Returns
    -------
    DataFrame
        ``name``, ``gap``, ``risk``, ``coverage``, ``score``, ``models``,
        ``intensive``, ``reach``, ``days_since``, ``last_agency``, ``rank``, ``reasons``.
    """
    frame = gap_classes(evidence)
    frame = frame[frame["risk"] != "low"]
    frame = frame.assign(_reach=frame["reach"].fillna(-1.0)).sort_values(
        ["gap", "score", "_reach"], ascending=[False, False, True], kind="stable")
    if top is not None:
        frame = frame.head(top)
    reasons = []
    for _, row in frame.iterrows():
        items = list(row.get("risk_reasons") or []) if "risk_reasons" in frame else []
        if row["models"] == 0:
            items.append(("coverage.no_model", {}))
        elif row["intensive"] == 0:
            items.append(("coverage.no_intensive", {"models": int(row["models"])}))
        if pd.isna(row["reach"]):
            items.append(("coverage.reach_unknown", {}))
        else:
            items.append(("coverage.reach", {"reach": float(row["reach"])}))
        days = row.get("days_since")
        if days is None or pd.isna(days):
            items.append(("coverage.never", {}))
        elif days > 180:
            items.append(("coverage.days_since", {"days": int(days)}))
        reasons.append(items)
    out = frame.drop(columns="_reach").copy()
    for col in ("days_since", "last_agency"):
        if col not in out:
            out[col] = None
    out["rank"] = np.arange(1, len(out) + 1)
    out["reasons"] = reasons
    cols = ["name", "gap", "risk", "coverage", "score", "models", "intensive", "reach",
            "days_since", "last_agency", "rank", "reasons"]
    return out[cols]
