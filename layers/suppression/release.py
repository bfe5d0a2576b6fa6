"""The role gate and the per-layer release rules below commander."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from layers.catalogue import Release, release_rule
from layers.layer import Caveat, Layer
from layers.rates import smoothed_rates
from layers.suppression.engine import (
    COMPLEMENTARY, COMPLEMENTARY_LABEL, PRIMARY, PUBLISHED, suppressed_label,
)
from layers.suppression.plan import ReleasePlan
from layers.suppression.roles import UNRESTRICTED_ROLES, PointDataRefused, ReleaseRefused, Role

__all__ = [
    "for_role",
    "release_layer",
]


#: Columns that make a frame record-level (one row per incident, or a location).
_POINT_COLUMNS = frozenset({"record_id", "lat", "lon", "latitude", "longitude"})


def for_role(item, role: str | Role, *, plan: ReleasePlan | None = None):
    """What ``role`` may see of ``item``: the one gate between layers and renderers.

    Parameters
    ----------
    item : Layer or any object a page wants to show
    role : str or Role
        ``"commander"``, ``"planner"``, ``"viewer"`` (or ``"committee"``), ``"admin"``.
    plan : ReleasePlan
        Required for every role but commander.

    Returns
    -------
    The item itself for commander; a released :class:`Layer` otherwise (see
    :func:`release_layer`).

    Raises
    ------
    PointDataRefused
        Record-level frames (ids, coordinates), any frame with geometry
        (points, hexagon counts), density surfaces and distance records for a
        lower role. Boundaries need no release: do not pass them here.
    ReleaseRefused
        Anything else with no release rule, a period off the grid, a subset of
        types, or a layer computed from other data than the plan.
    ValueError
        An unknown role.
    """
    role = Role(role)
    if role in UNRESTRICTED_ROLES:
        return item
    if plan is None:
        raise ReleaseRefused(f"role {role.value!r} sees incidents only through a ReleasePlan")
    if isinstance(item, Layer):
        return release_layer(item, plan)
    if _is_point_data(item):
        raise PointDataRefused(
            f"{type(item).__name__} holds record-level or point data: not for role {role.value!r}")
    raise ReleaseRefused(f"no release rule for {type(item).__name__} below commander")


def _is_point_data(item) -> bool:
    name = type(item).__name__
    if name in ("DensitySurface", "BandShares"):
        return True
    if isinstance(item, pd.DataFrame):
        if _POINT_COLUMNS & {str(c).lower() for c in item.columns}:
            return True
        return "geometry" in item.columns  # hexagons, points: a map of where things happened
    return isinstance(item, pd.Series) and item.name in ("geometry",)


def release_layer(layer: Layer, plan: ReleasePlan) -> Layer:
    """The layer as a role below commander may see it.

    ====================  =========================================================
    layer                 what is released
    ====================  =========================================================
    incident counts       ``count`` missing where suppressed; ``count_label`` holds
                          ``"< 5"`` or ``"x"`` there
    rates                 ``count``, ``rate`` masked where suppressed; ``rate_eb``
                          re-smoothed over the published communes only;
                          ``province_rate`` only when it follows from published cells
    period comparison     ``count``/``other`` masked by their own cells; ``change``,
                          ``ratio``, ``p_value``, ``fdr_threshold``, ``trend`` masked
                          where either is
    Gi* hot spots         classes only (``gi_bin``, ``gi_class``, ``fdr_significant``),
                          of the counts and of the smoothed rate alike; the classes
                          without FDR have no rule (refused)
    emerging hot spots    categories and the numbers of hot/cold periods only
    key areas, gaps       scores and classes; counts, rates and trends dropped,
                          reasons without their numbers
    coverage, reach,      unchanged (prevention models, outreach and distances hold
    proximity             no incident)
    density               refused (:class:`PointDataRefused`)
    anything else         refused (:class:`ReleaseRefused`)
    ====================  =========================================================

    The rule of each layer is the one its kind declares in :mod:`layers.catalogue`
    (:class:`layers.catalogue.Release`); this module applies it. Every released frame is
    a whitelist of columns: a column added to a
    layer later is not released until a rule here says so. The layer gets
    :attr:`Caveat.SMALL_COUNTS_SUPPRESSED` when any of its cells is
    suppressed, and ``params["suppression"]`` (threshold, grid period,
    numbers of suppressed communes, the province count or its label).
    """
    rule = release_rule(layer.kind)
    name = layer.kind or layer.title_key
    if rule is not None and rule.rule == "points":
        raise PointDataRefused(f"{name} is drawn from incident points")
    if rule is None or (rule.corrected_only and not layer.params.get("alpha_fdr", True)):
        raise ReleaseRefused(f"no release rule for {name!r} below commander"
                             + (" without the FDR correction" if rule is not None else ""))
    if _POINT_COLUMNS & {str(c).lower() for c in layer.frame.columns}:
        raise PointDataRefused(f"{name} carries record-level columns")
    return _apply(rule, layer, plan)


def _counted(layer: Layer, plan: ReleasePlan, start, end, column: str) -> pd.DataFrame:
    """The plan's cells behind ``layer.frame[column]``, checked against it."""
    period = plan.period_label(start, end)
    cells = plan.cells(layer.unit_set, layer.frame.index, period,
                       plan.type_key(layer.params.get("types")))
    shown = pd.to_numeric(layer.frame[column]).to_numpy()
    if not np.array_equal(shown, cells["count"].to_numpy()):
        raise ReleaseRefused(
            f"the layer's {column!r} differs from the plan's counts: the plan was built from "
            "other data (rebuild it after an import) or the layer from other records")
    cells.attrs["period"] = period
    return cells


def _suppression_params(plan: ReleasePlan, cells: pd.DataFrame, type_key: str) -> dict:
    period = cells.attrs["period"]
    province = (pd.Series({"count": 0, "status": PUBLISHED, "label": None})
                if period.startswith("outside:") else plan.province(period, type_key))
    shown = province["status"] == PUBLISHED
    return {
        "threshold": plan.threshold, "label": suppressed_label(plan.threshold),
        "complementary_label": COMPLEMENTARY_LABEL, "period": period.removeprefix("outside:"),
        "type": type_key,
        "n_primary": int((cells["status"] == PRIMARY).sum()),
        "n_complementary": int((cells["status"] == COMPLEMENTARY).sum()),
        "province_count": int(province["count"]) if shown else None,
        "province_label": None if shown else province["label"],
    }


def _with_caveat(caveats: Sequence[Caveat], any_suppressed: bool) -> tuple[Caveat, ...]:
    out = tuple(caveats)
    if any_suppressed and Caveat.SMALL_COUNTS_SUPPRESSED not in out:
        out += (Caveat.SMALL_COUNTS_SUPPRESSED,)
    return out


def _masked(values: pd.Series, hide: np.ndarray) -> pd.Series:
    if pd.api.types.is_integer_dtype(values.dtype):
        values = values.astype("Int64")
    elif pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype("boolean")
    elif not pd.api.types.is_float_dtype(values.dtype):
        values = values.astype(object)
    return values.mask(hide)


def _release_counts(layer: Layer, plan: ReleasePlan) -> Layer:
    params = layer.params
    cells = _counted(layer, plan, params.get("start"), params.get("end"), "count")
    hide = (cells["status"] != PUBLISHED).to_numpy()
    frame = layer.frame[["name"]].copy()
    frame["count"] = _masked(layer.frame["count"], hide)
    frame["count_label"] = cells["label"].to_numpy()
    info = _suppression_params(plan, cells, plan.type_key(params.get("types")))
    return replace(layer, frame=frame, params={**params, "suppression": info},
                   caveats=_with_caveat(layer.caveats, hide.any()))


def _release_rates(layer: Layer, plan: ReleasePlan) -> Layer:
    params = layer.params
    cells = _counted(layer, plan, params.get("start"), params.get("end"), "count")
    hide = (cells["status"] != PUBLISHED).to_numpy()
    src = layer.frame
    frame = src[["name"]].copy()
    frame["count"] = _masked(src["count"], hide)
    frame["population"] = src["population"]
    frame["rate"] = src["rate"].mask(hide)
    per = params.get("per", 10_000)
    shown = ~hide
    # the same smoothing as the commander's layer, fed the published communes only
    _, smoothed, _ = smoothed_rates(src["count"][shown], src["population"][shown])
    frame["rate_eb"] = (smoothed * per).reindex(frame.index)
    frame["count_label"] = cells["label"].to_numpy()
    info = _suppression_params(plan, cells, plan.type_key(params.get("types")))
    missing = set(params.get("missing_population", ()))
    lacking = [code for code in missing if code in cells.index]
    safe = (info["province_count"] is not None
            and (cells.loc[lacking, "status"] == PUBLISHED).all())
    people = src["population"].astype("Float64").fillna(0).sum()
    province_rate = None
    if safe and people > 0:
        known = info["province_count"] - int(src.loc[lacking, "count"].sum())
        province_rate = float(known / float(people) * per)
    new_params = {**params, "province_rate": province_rate, "suppression": info,
                  "smoothing": "empirical Bayes over the published communes only"}
    return replace(layer, frame=frame, params=new_params,
                   caveats=_with_caveat(layer.caveats, hide.any()))


def _release_compare(layer: Layer, plan: ReleasePlan) -> Layer:
    params = layer.params
    now = _counted(layer, plan, params["start"], params["end"], "count")
    before = _counted(layer, plan, params["other_start"], params["other_end"], "other")
    hide_now = (now["status"] != PUBLISHED).to_numpy()
    hide_before = (before["status"] != PUBLISHED).to_numpy()
    either = hide_now | hide_before
    src = layer.frame
    frame = src[["name"]].copy()
    frame["count"] = _masked(src["count"], hide_now)
    frame["other"] = _masked(src["other"], hide_before)
    # the FDR threshold goes with each p-value it explains (never a bare p beside "no change")
    for column in ("change", "ratio", "p_value", "fdr_threshold", "trend"):
        if column in src:
            frame[column] = _masked(src[column], either)
    frame["count_label"] = now["label"].to_numpy()
    frame["other_label"] = before["label"].to_numpy()
    type_key = plan.type_key(params.get("types"))
    info = _suppression_params(plan, now, type_key)
    info_before = _suppression_params(plan, before, type_key)
    info["other"] = info_before
    new_params = dict(params)
    if info["province_count"] is None:
        new_params["total"] = None
    if info_before["province_count"] is None:
        new_params["total_other"] = None
    if info["province_count"] is None or info_before["province_count"] is None:
        new_params["total_p_value"] = None
    new_params["suppression"] = info
    return replace(layer, frame=frame, params=new_params,
                   caveats=_with_caveat(layer.caveats, either.any()))


def _keep(columns: Sequence[str]):
    def release(layer: Layer, plan: ReleasePlan) -> Layer:
        kept = [c for c in columns if c in layer.frame.columns]
        return replace(layer, frame=layer.frame[kept].copy())
    return release


def _scrubbed_reasons(reasons) -> list:
    """Reasons without the numbers drawn from counts (rates, counts of a rise)."""
    if not isinstance(reasons, (list, tuple)):
        return []
    out = []
    for key, values in reasons:
        if key.startswith(("rate.", "trend.")):
            values = {}
        out.append((key, {k: v for k, v in dict(values).items()
                          if k not in ("count", "other", "rate")}))
    return out


def _release_scores(columns: Sequence[str]):
    keep = _keep(columns)

    def release(layer: Layer, plan: ReleasePlan) -> Layer:
        released = keep(layer, plan)
        for column in ("reasons", "risk_reasons"):
            if column in released.frame:
                released.frame[column] = [_scrubbed_reasons(r) for r in released.frame[column]]
        return released
    return release


def _unchanged(layer: Layer, plan: ReleasePlan) -> Layer:
    return layer


def _apply(rule: Release, layer: Layer, plan: ReleasePlan) -> Layer:
    """``layer`` released by ``rule`` (the kinds of rules of :class:`Release`)."""
    if rule.rule == "keep":
        return _keep(rule.columns)(layer, plan)
    if rule.rule == "scores":
        return _release_scores(rule.columns)(layer, plan)
    apply = {"counts": _release_counts, "rates": _release_rates,
             "compare": _release_compare, "unchanged": _unchanged}.get(rule.rule)
    if apply is None:
        raise ReleaseRefused(f"unknown release rule {rule.rule!r} of {layer.kind!r}")
    return apply(layer, plan)
