"""Hot spots per commune: Getis-Ord Gi* and Local Moran's I from esda, with classes and FDR.

Điểm nóng / điểm lạnh (Gi*) và cụm cao–cao, thấp–thấp (Local Moran). The
statistics are esda's (:class:`esda.G_Local`, :class:`esda.Moran_Local`);
this module builds the spatial weights from the commune polygons, keeps
esda's result names (``Gs``, ``Zs``, ``p_sim``, ``p_norm``; ``Is``, ``q``)
and adds ours: the p-value the classes are read from, the classes, and the
False Discovery Rate flag. Gi* of counts takes its p-values from the exact
conditional permutation distribution (no seed); of rates, from esda's
permutations. Queen contiguity, islands, both p-values and the
Benjamini–Hochberg threshold are :mod:`layers.inference`'s, shared with the
emerging hot spots.

Two Gi* maps answer two questions: :func:`hotspot_layer` of the counts
(where incidents cluster: large, populous communes weigh most) and
:func:`rate_hotspot_layer` of the smoothed rate per resident (where the
risk per person clusters).

esda and libpysal are imported where they compute: a server starts without them
(seconds of imports that no first page needs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.approx_boundaries import METRIC_CRS  # UTM 48N: distances in metres
from layers.inference import (
    ALTERNATIVES,
    INFERENCES,
    TIE_RTOL,
    fdr_threshold,
    gi_star_test,
    island_mask,
    permutation_p,
    queen_contiguity,
    quiet_esda,
)
from layers.layer import Caveat, Layer

if TYPE_CHECKING:
    from libpysal import graph

__all__ = [
    "DIVERGING_SCALE",
    "GI_CLASSES",
    "LISA_CLASSES",
    "MIN_FEATURES",
    "THRESHOLD_COLUMNS",
    "HotSpots",
    "gi_star",
    "hotspot_layer",
    "local_moran",
    "rate_hotspot_layer",
]

#: Below this many communes the statistics are unreliable (the rule of thumb
#: of ArcGIS's Hot Spot Analysis); layers then say so (``cmd.few_features``).
MIN_FEATURES = 30

#: Gi* classes as ArcGIS's ``Gi_Bin``: code, class (message key ``gi.<class>``),
#: confidence level and the largest p-value of the level.
GI_CLASSES = (
    (3, "hot_99", 0.99, 0.01),
    (2, "hot_95", 0.95, 0.05),
    (1, "hot_90", 0.90, 0.10),
    (0, "not_significant", None, None),
    (-1, "cold_90", 0.90, 0.10),
    (-2, "cold_95", 0.95, 0.05),
    (-3, "cold_99", 0.99, 0.01),
)

#: Local Moran quadrants by esda's ``q`` (1 HH, 2 LH, 3 LL, 4 HL), and the label
#: of a commune whose ``p_value`` does not pass.
LISA_CLASSES = {1: "high-high", 2: "low-high", 3: "low-low", 4: "high-low", 0: "not_significant"}

#: Stepped red–blue diverging scale over the class codes −3 … +3 (``zmin=-3,
#: zmax=3``): ColorBrewer RdBu (colour-blind safe), hot in red, cold in blue,
#: "not significant" a neutral light grey. Lightness falls from the grey to
#: ±1, ±2 and ±3, so the confidence level reads in grey print (the direction,
#: hot or cold, then needs the legend's words).
DIVERGING_SCALE = tuple(
    stop
    for k, colour in enumerate(
        ("#2166ac", "#4393c3", "#92c5de", "#f0f0f0", "#f4a582", "#d6604d", "#b2182b")
    )
    for stop in ((k / 7, colour), ((k + 1) / 7, colour))
)

_LEVELS = (0.10, 0.05, 0.01)  # 90, 95, 99 % confidence
#: Columns of a Gi* layer holding, per confidence level, the largest p-value that reaches it
#: on that map: FDR-adjusted (Benjamini–Hochberg) on the corrected map, the level itself
#: (0.10, 0.05, 0.01) on the uncorrected one; NaN where nothing was tested.
THRESHOLD_COLUMNS = {"p_threshold_90": 0.10, "p_threshold_95": 0.05, "p_threshold_99": 0.01}
_WEIGHTS = ("queen", "distance")
_ALTERNATIVES = ALTERNATIVES


@dataclass(frozen=True)
class HotSpots:
    """The result of a local statistic: one row per commune and how it was obtained.

    Attributes
    ----------
    frame : DataFrame
        Indexed by commune code, in the order of the communes given. For Gi*:
        ``Gs``, ``Zs``, ``p_sim``, ``p_norm`` (esda's), ``p_value``,
        ``gi_bin`` (int, +3 … −3), ``gi_class`` and ``fdr_significant``. For
        Local Moran: ``Is``, ``q``, ``p_sim``, ``z_sim`` (esda's), ``p_value``,
        ``lisa_class`` and ``fdr_significant``.
    statistic : {"gi_star", "local_moran"}
    weights : {"queen", "distance"}
    distance_km : float or None
        The distance band used (``weights="distance"``).
    permutations, seed : int
        Of esda's conditional permutations (used only when ``inference`` is
        ``"permutation"``).
    alternative : {"two-sided", "directed"}
        How ``p_value`` is read from the conditional distribution.
    alpha_fdr : bool
        Whether the classes are the FDR-corrected ones.
    fdr_thresholds : dict
        Significance level → FDR critical p-value
        (:func:`layers.inference.fdr_threshold` of ``p_value``).
    islands : tuple of str
        Communes without a neighbour: never significant.
    direction_conflicts : tuple of str
        Gi* only: communes whose permutation test is significant in the
        direction opposite to their z-score (see :func:`gi_star`); never
        significant.
    inference : {"exact", "permutation"}
        How ``p_value`` was obtained: the exact conditional permutation
        distribution (Gi* of counts; no seed) or esda's random permutations.
    significant : dict
        Gi* only: how many communes are hot and cold spots at some level,
        ``{"fdr": {"hot": h, "cold": c}, "uncorrected": {"hot": h, "cold": c}}``,
        with and without the FDR correction, whichever ``alpha_fdr`` shows
        (what a page says when the corrected map is all grey).
    """

    frame: pd.DataFrame
    statistic: str
    weights: str
    distance_km: float | None
    permutations: int
    seed: int
    alternative: str
    alpha_fdr: bool
    fdr_thresholds: dict = field(default_factory=dict)
    islands: tuple[str, ...] = ()
    direction_conflicts: tuple[str, ...] = ()
    inference: str = "permutation"
    significant: dict = field(default_factory=dict)

    @property
    def few_features(self) -> bool:
        """Fewer than :data:`MIN_FEATURES` communes: the statistics are unreliable."""
        return len(self.frame) < MIN_FEATURES

    @property
    def params(self) -> dict:
        """How the result was obtained, as plain values (for a layer's ``params``)."""
        return {
            "statistic": self.statistic,
            "weights": self.weights,
            "distance_km": self.distance_km,
            "permutations": self.permutations,
            "seed": self.seed,
            "alternative": self.alternative,
            "alpha_fdr": self.alpha_fdr,
            "inference": self.inference,
            "fdr_thresholds": dict(self.fdr_thresholds),
            # the smallest p-value permutations can give; none for the exact distribution
            "p_floor": 1 / (self.permutations + 1) if self.inference == "permutation" else None,
            "islands": self.islands,
            "direction_conflicts": self.direction_conflicts,
            "n_features": len(self.frame),
            "few_features": self.few_features,
            "significant": {k: dict(v) for k, v in self.significant.items()},
        }


def gi_star(
    values: pd.Series,
    communes: gpd.GeoDataFrame,
    *,
    weights: str = "queen",
    distance_km: float | None = None,
    permutations: int = 999,
    seed: int = 0,
    alternative: str = "two-sided",
    alpha_fdr: bool = True,
    inference: str = "auto",
) -> HotSpots:
    """Getis-Ord Gi* per commune with hot/cold-spot classes, as ArcGIS's Hot Spot Analysis.

    esda's :class:`esda.G_Local` (``star=True``, binary weights with a
    self-weight of 1) with conditional permutation inference: exact for
    counts (every draw of the neighbours enumerated, the classes do not
    depend on a seed), esda's random permutations for other values.

    Parameters
    ----------
    values : Series
        Non-negative numbers (counts, rates) indexed by exactly the codes of
        ``communes``, in any order.
    communes : GeoDataFrame
        Commune polygons indexed by code, with a CRS.
    weights : {"queen", "distance"}
        Queen contiguity of the polygons (sharing a boundary point), or a
        fixed distance band between polygon centroids, measured in
        EPSG:32648 (UTM 48N).
    distance_km : float, optional
        The band for ``weights="distance"``; by default the smallest band that
        gives every commune a neighbour (ArcGIS's default). A band that leaves
        a commune alone is refused.
    permutations : int
        Conditional permutations (esda's), when they are used (see
        ``inference``); the smallest ``p_sim`` is then ``1 / (permutations + 1)``.
    seed : int
        Seed of the permutations: the same seed gives the same map. The exact
        inference uses none.
    alternative : {"two-sided", "directed"}
        How ``p_value``, the p-value the classes are read from, is taken from
        the conditional distribution: ``"two-sided"`` (default) is twice the
        smaller one-tailed p-value (capped at 1), the two-sided confidence that
        ArcGIS's bins state; ``"directed"`` is the smaller one-tailed p-value
        itself (as GeoDa's significance maps read ``p_sim``), half of it.
    alpha_fdr : bool
        Report the FDR-corrected classes (ArcGIS's "Apply False Discovery Rate
        (FDR) Correction"); else the uncorrected ones.
    inference : {"auto", "exact", "permutation"}
        :func:`layers.inference.gi_star_test`'s: ``"auto"`` (default) is exact
        for counts (whole numbers) within
        :data:`layers.inference.EXACT_MAX_CELLS`, permutations otherwise;
        the result's ``inference`` says which.

    Returns
    -------
    HotSpots
        ``frame`` columns: esda's ``Gs``, ``Zs``, ``p_sim`` (NaN with the
        exact inference: no permutation was drawn) and ``p_norm``
        (one-sided normal p of ``Zs``), then ``p_value``, ``gi_bin`` (+3 … −3),
        ``gi_class`` (``hot_99`` … ``not_significant`` … ``cold_99``) and
        ``fdr_significant``.

    Raises
    ------
    ValueError
        For an unknown ``weights`` or ``alternative``, no permutation, ``distance_km`` with
        queen weights or below the smallest band, values not indexed by the
        commune codes, missing, infinite or negative values, all values equal
        (no incident at all: Gi* is 0/0), or fewer than 3 communes.

    Notes
    -----
    ``p_value``, exact (:func:`layers.inference.exact_gi_star_p`): over all
    ``C(n − 1, k)`` equally likely draws of a commune's ``k`` neighbours
    from the other communes' counts (its own count kept), the share whose
    neighbour sum is at least (upper tail) or at most (lower tail) the
    observed one, *ties in both tails*; two-sided is twice the smaller,
    capped at 1. The same rule on a sample of draws is the permutation
    ``p_value`` (:func:`layers.inference.permutation_p`): esda's one-tailed
    p-values ``(M + 1) / (permutations + 1)``
    (:func:`esda.significance.calculate_significance`, ``"greater"`` and
    ``"lesser"``) of ``Gs`` among esda's simulations, ``M`` counting the
    simulations at least as extreme *including ties*. It differs from
    ``p_sim``, which esda keeps as a "directed" p-value: half a two-sided one
    (esda itself advises against it), and in the low tail counting only
    simulations *strictly* below ``Gs``. With counts, where many communes and
    their neighbours share the same values (zeros), ties are common and
    ``p_sim`` then calls a commune of ordinary zeros among zeros a cold spot
    at 99.9 %. Simulations equal to ``Gs`` up to rounding count as ties.

    Classes, as ArcGIS's ``Gi_Bin``: a commune is at the 99, 95 or 90 %
    level when ``p_value <= 0.01, 0.05, 0.10``; hot when ``Gs`` lies in the
    upper tail of its simulations, cold when in the lower tail.

    FDR rule (Benjamini–Hochberg, per level, as ArcGIS's FDR option lowers
    "the critical p-values determining confidence levels"): for each level
    α in (0.10, 0.05, 0.01), ``t_α = fdr_threshold(p_value, α)``
    (:func:`layers.inference.fdr_threshold`), the largest ``k α / n`` with
    the k-th smallest p-value at or below it (``α / n`` when there is none),
    as ``statsmodels``' ``fdr_bh``; ``n`` counts the communes with a
    neighbour. (``esda.fdr`` compares with ``<``: where the k-th p-value
    equals ``k α / n`` it keeps fewer communes than Benjamini–Hochberg.) A commune keeps
    level α only if ``p_value <= t_α``, so a 99 % hot spot whose p-value
    passes ``t_0.05`` but not ``t_0.01`` is reported at 95 %.
    ``fdr_significant`` is ``p_value <= t_0.10``: significant at some level
    after the correction. It is reported whatever ``alpha_fdr``; ``alpha_fdr``
    only chooses which classes ``gi_bin``/``gi_class`` show.

    With permutations, FDR can leave no 99 % class at all: a level-α
    class needs ``k`` communes with ``p_value <= k α / n``, and
    ``p_value >= 2 / (permutations + 1)`` (two-sided). On 96 communes with
    999 permutations a 99 % class after FDR needs at least 20 communes at the
    smallest p-value; use 9,999 permutations for 99 % classes. The exact
    p-values have no such floor (down to ``2 / C(n − 1, k)``).

    esda's conditional permutation holds the commune's own value fixed and
    shuffles its neighbours, while ``Zs`` compares with the unconditional
    mean. A commune with a very high value among unusually low neighbours
    can have a positive ``Zs`` and a significant *lower* tail: a high
    outlier, neither hot nor cold spot. Such communes are
    ``not_significant`` and listed in ``direction_conflicts``. Communes with
    no neighbour (islands) get the smallest ``p_sim`` from esda whatever
    their value (their simulated statistic is 0); they are
    ``not_significant``, have a NaN ``p_value``, take no part in the FDR
    and are listed in ``islands``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> grid = gpd.GeoDataFrame(
    ...     geometry=[shapely.box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)],
    ...     index=[f"{i:05d}" for i in range(36)], crs="EPSG:32648")
    >>> values = pd.Series(1.0, index=grid.index)
    >>> values[["00000", "00001", "00006", "00007"]] = 20.0
    >>> spots = gi_star(values, grid)
    >>> spots.inference, spots.frame.loc[["00000", "00001", "00007"], "gi_class"].tolist()
    ('exact', ['hot_95', 'hot_95', 'not_significant'])
    >>> raw = gi_star(values, grid, alpha_fdr=False)
    >>> raw.frame.loc[["00000", "00001", "00007"], "gi_class"].tolist()
    ['hot_99', 'hot_99', 'hot_95']
    """
    _check_choices(weights=weights, alternative=alternative, permutations=permutations)
    if inference not in INFERENCES:
        raise ValueError(f"unknown inference {inference!r}: use one of {INFERENCES}")
    y = _aligned_values(values, communes)
    w, distance_km, islands = _weights(communes, weights, distance_km)
    g = gi_star_test(y, w, inference=inference, permutations=permutations, seed=seed,
                     alternative=alternative, islands=island_mask(w, communes.index))
    p_value, direction = g.p_value, g.direction
    conflict = (np.sign(g.Zs) != direction) & (p_value <= max(_LEVELS))
    thresholds = {a: fdr_threshold(p_value, a) for a in _LEVELS}
    raw = _levels(p_value, dict(zip(_LEVELS, _LEVELS)))
    fdr = _levels(p_value, thresholds)
    raw[conflict], fdr[conflict] = 0, 0
    shown = (fdr if alpha_fdr else raw) * direction
    significant = {name: {"hot": int(((levels > 0) & (direction > 0)).sum()),
                          "cold": int(((levels > 0) & (direction < 0)).sum())}
                   for name, levels in (("fdr", fdr), ("uncorrected", raw))}
    labels = {code: label for code, label, _, _ in GI_CLASSES}
    frame = pd.DataFrame(
        {
            "Gs": g.Gs,
            "Zs": g.Zs,
            "p_sim": g.p_sim,
            "p_norm": g.p_norm,
            "p_value": p_value,
            "gi_bin": shown.astype(int),
            "gi_class": [labels[b] for b in shown],
            "fdr_significant": fdr > 0,
        },
        index=communes.index,
    )
    return HotSpots(
        frame=frame, statistic="gi_star", weights=weights, distance_km=distance_km,
        permutations=permutations, seed=seed, alternative=alternative, alpha_fdr=alpha_fdr,
        fdr_thresholds=thresholds, islands=islands,
        direction_conflicts=tuple(communes.index[conflict]), inference=g.inference,
        significant=significant,
    )


def local_moran(
    values: pd.Series,
    communes: gpd.GeoDataFrame,
    *,
    weights: str = "queen",
    distance_km: float | None = None,
    permutations: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    alpha_fdr: bool = True,
) -> HotSpots:
    """Local Moran's I per commune with cluster and outlier labels (LISA).

    esda's :class:`esda.Moran_Local` with row-standardised weights and
    conditional permutation inference.

    Parameters
    ----------
    values : Series
        Numbers indexed by exactly the codes of ``communes``, in any order.
    communes : GeoDataFrame
        Commune polygons indexed by code, with a CRS.
    weights, distance_km, permutations, seed, alternative
        As :func:`gi_star`.
    alpha : float
        Significance level of the labels.
    alpha_fdr : bool
        Label only communes passing the FDR threshold ``fdr_threshold(p_value,
        alpha)`` (:func:`layers.inference.fdr_threshold`); else those with
        ``p_value <= alpha``.

    Returns
    -------
    HotSpots
        ``frame`` columns: esda's ``Is``, ``q`` (1 high-high, 2 low-high,
        3 low-low, 4 high-low), ``p_sim`` and ``z_sim``, then ``p_value``,
        ``lisa_class`` (:data:`LISA_CLASSES`: ``high-high``, ``low-low``,
        ``high-low``, ``low-high`` or ``not_significant``) and
        ``fdr_significant`` (``p_value <= fdr_threshold(p_value, alpha)``).

    Raises
    ------
    ValueError
        As :func:`gi_star` (negative values are allowed here).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> grid = gpd.GeoDataFrame(
    ...     geometry=[shapely.box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)],
    ...     index=[f"{i:05d}" for i in range(36)], crs="EPSG:32648")
    >>> values = pd.Series(1.0, index=grid.index)
    >>> values[["00000", "00001", "00006", "00007"]] = 20.0
    >>> lisa = local_moran(values, grid, permutations=999, seed=1, alpha_fdr=False)
    >>> lisa.frame.loc["00000", "lisa_class"]
    'high-high'
    """
    import esda

    _check_choices(weights=weights, alternative=alternative, permutations=permutations)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    y = _aligned_values(values, communes, negative=True)
    w, distance_km, islands = _weights(communes, weights, distance_km)
    with quiet_esda():
        lisa = esda.Moran_Local(
            y, w, transformation="r", permutations=permutations, keep_simulations=True,
            n_jobs=1, seed=seed,
        )
    p_value, _ = permutation_p(lisa.Is, lisa.rlisas, alternative=alternative,
                               islands=island_mask(w, communes.index))
    threshold = fdr_threshold(p_value, alpha)
    fdr_significant = p_value <= threshold
    significant = fdr_significant if alpha_fdr else p_value <= alpha
    quadrant = np.where(significant, lisa.q, 0)
    frame = pd.DataFrame(
        {
            "Is": lisa.Is,
            "q": lisa.q,
            "p_sim": lisa.p_sim,
            "z_sim": lisa.z_sim,
            "p_value": p_value,
            "lisa_class": [LISA_CLASSES[q] for q in quadrant],
            "fdr_significant": fdr_significant,
        },
        index=communes.index,
    )
    return HotSpots(
        frame=frame, statistic="local_moran", weights=weights, distance_km=distance_km,
        permutations=permutations, seed=seed, alternative=alternative, alpha_fdr=alpha_fdr,
        fdr_thresholds={alpha: threshold}, islands=islands,
    )


def hotspot_layer(
    source: Layer,
    communes: gpd.GeoDataFrame,
    *,
    weights: str = "queen",
    distance_km: float | None = None,
    permutations: int = 999,
    seed: int = 0,
    alternative: str = "two-sided",
    alpha_fdr: bool = True,
    inference: str = "auto",
) -> Layer:
    """The Gi* hot-spot map of a layer's values (counts, smoothed rates …).

    Parameters
    ----------
    source : Layer
        The layer whose ``value`` column is analysed (e.g. from
        :func:`layers.counts.incident_counts` or
        :func:`layers.rates.commune_rates`; for the rates prefer
        :func:`rate_hotspot_layer`, which says what it maps).
    communes : GeoDataFrame
        The polygons of ``source.unit_set``, indexed by code.
    weights, distance_km, permutations, seed, alternative, alpha_fdr, inference
        As :func:`gi_star`. Counts get the exact inference (no seed). The
        uncorrected classes (``alpha_fdr=False``) are titled as such
        (``layer.hotspots_uncorrected.title``) and have no release rule below
        commander.

    Returns
    -------
    Layer
        ``frame``: ``name``, the source value column, then :func:`gi_star`'s
        columns and :data:`THRESHOLD_COLUMNS` (the p-value each confidence
        level asks on this map: what explains a small ``p_value`` beside "not
        significant"); the mapped ``value`` is ``gi_bin`` (float: +3 … −3, NaN for
        a commune with no source value), coloured by :data:`DIVERGING_SCALE`
        over ``zmin=-3, zmax=3``. ``params``: the source's (period, types),
        ``source`` (the analysed column), :attr:`HotSpots.params` (with
        ``inference``: ``"exact"`` or ``"permutation"``; None when nothing
        was tested), ``classes`` (the class table: code, class, message key,
        confidence, colour), ``zmin``/``zmax``, ``excluded`` (communes with no
        source value, e.g. no population: left out of the analysis, their
        neighbours analysed without them), ``constant_values``,
        ``significant`` (:attr:`HotSpots.significant`: hot and cold spots with
        and without FDR; empty when nothing was tested) and
        ``about_key`` (the message that says what the map shows:
        ``layer.hotspots.about_counts`` for counts, else None).
        ``caveats``: the source's, and
        :attr:`~layers.layer.Caveat.PERMUTATION_INFERENCE` when the
        p-values come from random permutations (a class near its cut-off
        may change with the seed).

    Notes
    -----
    When every analysed value is equal (no incident in the period), Gi* is
    undefined: the layer then has every commune ``not_significant`` with NaN
    statistics and ``params["constant_values"] = True``, rather than an error.
    Fewer than :data:`MIN_FEATURES` communes set ``params["few_features"]``
    (message ``cmd.few_features``).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from layers.counts import incident_counts
    >>> grid = gpd.GeoDataFrame(
    ...     {"name": [f"Xã {i}" for i in range(36)]},
    ...     geometry=[shapely.box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)],
    ...     index=[f"{i:05d}" for i in range(36)], crs="EPSG:32648")
    >>> codes = ["00000"] * 20 + ["00001"] * 20 + ["00006"] * 20 + ["00007"] * 20 + list(grid.index)
    >>> inc = pd.DataFrame({"date": pd.Timestamp("2024-05-01"), "type": "tip",
    ...                     "new_code": codes, "old_code": codes})
    >>> layer = hotspot_layer(incident_counts(inc, grid, unit_set="2025"), grid)
    >>> layer.value, layer.frame.loc["00000", "gi_class"], layer.params["inference"]
    ('gi_bin', 'hot_95', 'exact')
    """
    about = "layer.hotspots.about_counts" if source.value == "count" else None
    return _gi_layer(source, communes, weights=weights, distance_km=distance_km,
                     permutations=permutations, seed=seed, alternative=alternative,
                     alpha_fdr=alpha_fdr, inference=inference,
                     title_key="layer.hotspots.title" if alpha_fdr
                     else "layer.hotspots_uncorrected.title", about_key=about, kind="gi")


def rate_hotspot_layer(
    rates: Layer,
    communes: gpd.GeoDataFrame,
    *,
    seed: int,
    permutations: int = 9999,
    weights: str = "queen",
    distance_km: float | None = None,
    alternative: str = "two-sided",
    alpha_fdr: bool = True,
) -> Layer:
    """The Gi* hot-spot map of the smoothed rate per resident: where *risk* clusters.

    Điểm nóng theo tỷ lệ trên dân số. Gi* on counts (:func:`hotspot_layer`)
    answers "where do incidents cluster?": counts grow with a commune's size
    and population (on the demo's four years, Spearman 0.82 with area), so its hot spots
    are mostly large communes and its FDR cold spots small ones. Gi* on the
    empirical-Bayes rate (``rate_eb`` of :func:`layers.rates.commune_rates`:
    incidents per 10,000 residents, pulled toward the province rate the more
    the smaller the commune's population) answers "where is the risk per
    resident high, together with its neighbours'?". The two maps differ
    where a populous commune has many incidents at an ordinary rate (hot by
    counts only) or a small one few incidents at a high rate (hot by rate only).

    Inference: esda's conditional permutations (``permutations`` random
    draws of the neighbours among the other communes' rates, with ``seed``),
    two-sided with ties in both tails (:func:`layers.inference.permutation_p`),
    then FDR, exactly as the counts map. Not the exact enumeration: it needs
    whole numbers, and the rates are continuous. Not the normal
    approximation: a commune has 2 to 9 neighbours and the rates are skewed
    (many near the province rate, a few far above), so the sum of a few
    neighbours' rates is far from normal and ArcGIS-style z-scores would
    overstate the tails; the permutation null holds the commune's own rate
    and draws its neighbours from the rates actually observed. The classes
    may change with the seed for a commune near a cut-off: the layer carries
    :attr:`~layers.layer.Caveat.PERMUTATION_INFERENCE` and the seed.

    Parameters
    ----------
    rates : Layer
        From :func:`layers.rates.commune_rates` (``rate_eb`` column; a
        commune without population has NaN and is left out, its neighbours
        analysed without it).
    communes : GeoDataFrame
        The 2025 commune polygons, indexed by code.
    seed : int
        Seed of the permutations, required: the same seed gives the same map.
    permutations : int
        esda's conditional permutations (9,999 so that FDR can reach 99 %).
    weights, distance_km, alternative, alpha_fdr
        As :func:`gi_star`.

    Returns
    -------
    Layer
        As :func:`hotspot_layer` (value ``gi_bin``, the classes, FDR), with
        ``title_key`` ``layer.hotspots_rate.title`` (the variable mapped, in
        the title; ``layer.hotspots_rate_uncorrected.title`` for
        ``alpha_fdr=False``), ``params["source"] == "rate_eb"``, ``params["per"]``,
        ``params["about_key"] == "layer.hotspots_rate.about"`` (what the map
        shows and why it differs from the counts map) and
        ``params["inference"] == "permutation"``.

    Raises
    ------
    ValueError
        When ``rates`` has no ``rate_eb`` column, or as :func:`gi_star`.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from layers.rates import commune_rates
    >>> grid = gpd.GeoDataFrame(
    ...     {"name": [f"Xã {i}" for i in range(36)]},
    ...     geometry=[shapely.box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)],
    ...     index=[f"{i:05d}" for i in range(36)], crs="EPSG:32648")
    >>> codes = ["00000"] * 20 + ["00001"] * 20 + ["00006"] * 20 + ["00007"] * 20 + list(grid.index)
    >>> inc = pd.DataFrame({"date": pd.Timestamp("2024-05-01"), "type": "tip",
    ...                     "new_code": codes, "old_code": codes})
    >>> pop = pd.DataFrame({"new_code": grid.index, "year": 2024, "population": 10_000})
    >>> layer = rate_hotspot_layer(commune_rates(inc, grid, pop), grid, seed=1)
    >>> layer.title_key, layer.params["source"], layer.params["inference"]
    ('layer.hotspots_rate.title', 'rate_eb', 'permutation')
    >>> layer.frame.loc["00000", "gi_class"], [c.value for c in layer.caveats]
    ('hot_95', ['permutation_inference'])
    """
    if "rate_eb" not in rates.frame.columns:
        raise ValueError("rate_hotspot_layer needs the smoothed rate (rate_eb) of "
                         "layers.rates.commune_rates")
    source = replace(rates, value="rate_eb")
    return _gi_layer(source, communes, weights=weights, distance_km=distance_km,
                     permutations=permutations, seed=seed, alternative=alternative,
                     alpha_fdr=alpha_fdr, inference="permutation",
                     title_key="layer.hotspots_rate.title" if alpha_fdr
                     else "layer.hotspots_rate_uncorrected.title",
                     about_key="layer.hotspots_rate.about", kind="gi_rate")


def _gi_layer(source: Layer, communes: gpd.GeoDataFrame, *, weights, distance_km,
              permutations, seed, alternative, alpha_fdr, inference, title_key,
              about_key, kind) -> Layer:
    """The Gi* layer of ``source.value``: checks, Gi*, then the description."""
    if inference not in INFERENCES:
        raise ValueError(f"unknown inference {inference!r}: use one of {INFERENCES}")
    values = source.frame[source.value]
    if set(values.index) != set(communes.index):
        raise ValueError(
            f"the {source.unit_set} layer and the polygons name different communes: "
            f"{sorted(set(values.index) ^ set(communes.index))[:5]}"
        )
    analysed = values.notna()
    excluded = tuple(values.index[~analysed])
    frame = source.frame[["name", source.value]].copy()
    kept = communes[communes.index.isin(values.index[analysed])]
    constant = bool(values[analysed].nunique() <= 1)
    if constant:
        spots = None
        frame = frame.assign(Gs=np.nan, Zs=np.nan, p_sim=np.nan, p_norm=np.nan, p_value=np.nan)
        frame["gi_bin"] = np.where(analysed, 0.0, np.nan)
        frame["gi_class"] = np.where(analysed, "not_significant", None)
        frame["fdr_significant"] = False
    else:
        spots = gi_star(
            values[analysed], kept, weights=weights, distance_km=distance_km,
            permutations=permutations, seed=seed, alternative=alternative, alpha_fdr=alpha_fdr,
            inference=inference,
        )
        result = spots.frame.reindex(frame.index)
        result["gi_bin"] = result["gi_bin"].astype(float)
        result["fdr_significant"] = result["fdr_significant"].astype("boolean").fillna(False)
        frame = frame.join(result)
        frame["fdr_significant"] = frame["fdr_significant"].astype(bool)
    # the p-value each level asks of a commune on this map: the column that explains a
    # "not significant" beside a small p-value (FDR-adjusted, or the level itself)
    applied = spots.fdr_thresholds if spots is not None and alpha_fdr else {}
    tested = (analysed & ~frame.index.isin(spots.islands) if spots is not None
              else pd.Series(False, index=frame.index))
    for column, alpha in THRESHOLD_COLUMNS.items():
        frame[column] = np.where(tested, applied.get(alpha, alpha), np.nan)
    colours = dict(zip(range(-3, 4), [c for _, c in DIVERGING_SCALE[::2]]))
    params = {
        **source.params,
        "source": source.value,
        **(spots.params if spots is not None else _plain_params(
            weights, distance_km, permutations, seed, alternative, alpha_fdr, int(analysed.sum())
        )),
        "classes": tuple(
            {"code": code, "class": label, "message_key": f"gi.{label}",
             "confidence": confidence, "color": colours[code]}
            for code, label, confidence, _ in GI_CLASSES
        ),
        "zmin": -3,
        "zmax": 3,
        "excluded": excluded,
        "constant_values": constant,
        "about_key": about_key,
    }
    caveats = tuple(source.caveats)
    if params["inference"] == "permutation" and Caveat.PERMUTATION_INFERENCE not in caveats:
        caveats += (Caveat.PERMUTATION_INFERENCE,)
    return Layer(
        frame=frame,
        value="gi_bin",
        unit_set=source.unit_set,
        kind=kind,
        title_key=title_key,
        legend_key="layer.hotspots.legend",
        units_key="layer.hotspots.legend",
        params=params,
        colorscale=DIVERGING_SCALE,
        caveats=caveats,
    )


def _plain_params(weights, distance_km, permutations, seed, alternative, alpha_fdr, n) -> dict:
    """The parameters of a Gi* run that did not happen (constant values)."""
    _check_choices(weights=weights, alternative=alternative, permutations=permutations)
    return {
        "statistic": "gi_star", "weights": weights, "distance_km": distance_km,
        "permutations": permutations, "seed": seed, "alternative": alternative,
        "alpha_fdr": alpha_fdr, "inference": None, "fdr_thresholds": {}, "p_floor": None,
        "islands": (), "direction_conflicts": (), "n_features": n,
        "few_features": n < MIN_FEATURES, "significant": {},
    }


def _check_choices(*, weights: str, alternative: str, permutations: int) -> None:
    if weights not in _WEIGHTS:
        raise ValueError(f"unknown weights {weights!r}: use one of {_WEIGHTS}")
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}: use one of {_ALTERNATIVES}")
    if int(permutations) != permutations or permutations < 1:
        raise ValueError(f"permutations must be a positive integer, got {permutations!r}")


def _aligned_values(
    values: pd.Series, communes: gpd.GeoDataFrame, *, negative: bool = False
) -> np.ndarray:
    """``values`` as floats in the order of ``communes``, after checking they fit."""
    if not communes.index.is_unique:
        raise ValueError("communes: the index (commune codes) has duplicates")
    if not values.index.is_unique:
        raise ValueError("values: the index (commune codes) has duplicates")
    missing = communes.index.difference(values.index)
    extra = values.index.difference(communes.index)
    if len(missing) or len(extra):
        raise ValueError(
            "values must be indexed by the commune codes: "
            f"{len(missing)} communes without a value {list(missing[:5])}, "
            f"{len(extra)} values of unknown codes {list(extra[:5])}"
        )
    if len(communes) < 3:
        raise ValueError(f"a local statistic needs at least 3 communes, got {len(communes)}")
    try:
        y = values.reindex(communes.index).to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"values must be numbers: {err}") from None
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"values missing or infinite for {list(communes.index[bad][:5])}")
    if not negative and (y < 0).any():
        negative_codes = list(communes.index[y < 0][:5])
        raise ValueError(f"Gi* needs non-negative values; negative for {negative_codes}")
    if np.ptp(y) == 0:
        raise ValueError(
            f"all values are equal ({y[0]:g}): the statistic is undefined (no incident at all?)"
        )
    return y


def _weights(
    communes: gpd.GeoDataFrame, kind: str, distance_km: float | None
) -> tuple[graph.Graph, float | None, tuple[str, ...]]:
    """Binary spatial weights of the communes, the band used, and the communes left alone."""
    from libpysal import graph
    from libpysal import weights as pysal_weights

    if kind == "queen":
        if distance_km is not None:
            raise ValueError("distance_km applies to weights='distance' only")
        w = queen_contiguity(communes)
    else:
        if communes.crs is None:
            raise ValueError("communes have no CRS: distances cannot be measured")
        centroids = communes.geometry.to_crs(METRIC_CRS).centroid
        coords = np.column_stack([centroids.x, centroids.y])
        smallest_km = float(pysal_weights.min_threshold_distance(coords)) / 1000
        if distance_km is None:
            distance_km = smallest_km
        elif distance_km < smallest_km:
            raise ValueError(
                f"distance_km={distance_km:g} leaves communes without a neighbour: the smallest "
                f"band giving every commune one is {smallest_km:.3f} km"
            )
        # a hair above the band so that the farthest nearest neighbour stays in
        w = graph.Graph.build_distance_band(centroids, distance_km * 1000 * (1 + 1e-9))
    if list(w.unique_ids) != list(communes.index):
        w = w.subgraph(communes.index)  # pragma: no cover - libpysal keeps the order
    return w, distance_km, tuple(w.isolates)


def _levels(p_value: np.ndarray, thresholds: dict[float, float]) -> np.ndarray:
    """0 … 3: how many of the 90/95/99 % levels each p-value passes (NaN passes none).

    A p-value equal to the level up to rounding (:data:`layers.inference.TIE_RTOL`)
    passes: an exact p-value of 0.10 may be computed a few ulps above it.
    """
    level = np.zeros(len(p_value), dtype=int)
    for k, alpha in enumerate(_LEVELS, start=1):
        level[p_value <= thresholds[alpha] * (1 + TIE_RTOL)] = k
    return level
