"""Inference shared by the local statistics: neighbours, islands, permutation p-values, FDR.

Gi* and Local Moran (:mod:`layers.hotspots`) and the emerging hot spots
(:mod:`layers.emerging`) read their significance through these functions,
so that a commune in a given period gets the same neighbours, the same
p-value and the same False Discovery Rate decision on every map:

- :func:`queen_contiguity`: the communes sharing a boundary point (láng
  giềng), tested on the geometry, not on shared vertices;
- :func:`island_mask`: communes with no neighbour (xã "đảo"), never
  significant;
- :func:`permutation_p`: the two-sided conditional-permutation p-value, ties
  counted in both tails;
- :func:`fdr_threshold`: the Benjamini–Hochberg critical p-value;
- :func:`quiet_esda`: runs esda without its noise and without touching
  NumPy's global random state.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd
from esda.significance import calculate_significance
from libpysal.graph import Graph

__all__ = [
    "ALTERNATIVES",
    "TIE_RTOL",
    "fdr_threshold",
    "island_mask",
    "permutation_p",
    "queen_contiguity",
    "quiet_esda",
]

#: How ``permutation_p`` reads a p-value from the simulations (see there).
ALTERNATIVES = ("two-sided", "directed")
#: Relative tolerance under which two statistics (or a p-value and a critical
#: value) are the same number: they differ only by floating-point rounding.
TIE_RTOL = 1e-9
_TIE_ATOL = 1e-12


def queen_contiguity(communes: gpd.GeoDataFrame | gpd.GeoSeries) -> Graph:
    """Binary queen contiguity of the commune polygons: neighbours share a boundary point.

    libpysal's ``Graph.build_contiguity(rook=False, strict=True)``: the
    polygons are tested with their geometry, so a commune whose corner lies
    on another's edge (no vertex in common) is its neighbour; the default
    vertex-based builder (``strict=False``) would miss it.

    Parameters
    ----------
    communes : GeoDataFrame or GeoSeries
        Commune polygons indexed by code.

    Returns
    -------
    libpysal.graph.Graph
        Binary weights, ``unique_ids`` in the order of ``communes``; communes
        without a neighbour are in ``isolates``.

    Examples
    --------
    >>> import shapely
    >>> cells = gpd.GeoSeries([shapely.box(0, 0, 2, 2), shapely.box(1, 2, 3, 4),
    ...                        shapely.box(9, 9, 10, 10)], index=["a", "b", "c"])
    >>> w = queen_contiguity(cells)
    >>> list(w["b"].index), list(w.isolates)
    (['a'], ['c'])
    """
    geometry = communes.geometry if isinstance(communes, gpd.GeoDataFrame) else communes
    w = Graph.build_contiguity(geometry, rook=False, strict=True)
    if list(w.unique_ids) != list(geometry.index):
        w = w.subgraph(geometry.index)  # pragma: no cover - libpysal keeps the order
    return w


def island_mask(graph: Graph, index: pd.Index) -> np.ndarray:
    """True for the communes of ``index`` that have no neighbour in ``graph``.

    esda gives such a commune simulated statistics of 0 (its neighbourhood
    is empty), so any positive value looks extreme: the p-value of an
    island is not a test of anything, and every layer masks it.
    """
    return np.asarray(pd.Index(index).isin(list(graph.isolates)))


def permutation_p(
    observed: np.ndarray,
    simulated: np.ndarray,
    *,
    alternative: str = "two-sided",
    islands: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The p-value of each observed local statistic among its conditional permutations.

    esda's one-tailed p-values ``(M + 1) / (permutations + 1)``
    (:func:`esda.significance.calculate_significance`, ``"greater"`` and
    ``"lesser"``), ``M`` counting the simulations at least as extreme,
    *ties included in both tails*: a simulation equal to the observed value
    up to rounding (relative :data:`TIE_RTOL`, absolute 1e-12) is a tie. A
    commune among simulations that all equal its own value (zeros among
    zeros) thus gets p = 1, not esda's ``p_sim`` of 1 / (permutations + 1).

    Parameters
    ----------
    observed : ndarray
        One statistic per commune (esda's ``Gs``, ``Is``).
    simulated : ndarray
        Communes × permutations (esda's ``rGs``, ``rlisas``).
    alternative : {"two-sided", "directed"}
        ``"two-sided"``: twice the smaller one-tailed p-value, capped at 1 (the
        confidence ArcGIS's classes state); ``"directed"``: the smaller
        one-tailed p-value itself (as GeoDa reads ``p_sim``).
    islands : ndarray of bool, optional
        Communes without a neighbour (:func:`island_mask`): their p-value is NaN.

    Returns
    -------
    p : ndarray
        The p-values, NaN for islands.
    direction : ndarray of int
        +1 where the upper tail is the smaller (a high value), −1 where the
        lower one is, 0 where they are equal.

    Examples
    --------
    >>> p, tail = permutation_p(np.array([0.9, 0.0]), np.array([[0.1] * 99, [0.0] * 99]))
    >>> p.tolist(), tail.tolist()
    ([0.02, 1.0], [1, 0])
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}: use one of {ALTERNATIVES}")
    observed = np.asarray(observed, dtype=float)[:, None]
    simulated = np.asarray(simulated, dtype=float)
    tied = np.isclose(simulated, observed, rtol=TIE_RTOL, atol=_TIE_ATOL)
    simulated = np.where(tied, observed, simulated)
    greater = np.atleast_1d(calculate_significance(observed, simulated, alternative="greater"))
    lesser = np.atleast_1d(calculate_significance(observed, simulated, alternative="lesser"))
    p = np.minimum(greater, lesser).astype(float)
    if alternative == "two-sided":
        p = np.minimum(1.0, 2 * p)
    if islands is not None:
        p[np.asarray(islands, dtype=bool)] = np.nan
    return p, np.sign(lesser - greater).astype(int)


def fdr_threshold(p_values: np.ndarray, alpha: float) -> float:
    """The Benjamini–Hochberg critical p-value: a test passes when ``p <= threshold``.

    With the ``n`` p-values sorted, ``p_(1) <= … <= p_(n)``, the threshold is
    ``k α / n`` for the largest ``k`` with ``p_(k) <= k α / n`` (the
    Benjamini–Hochberg step-up rule, as
    ``statsmodels.stats.multitest.multipletests(method="fdr_bh")``), and the
    smallest possible, ``α / n``, when there is none (then nothing passes).
    A p-value equal to ``k α / n`` passes: equal up to rounding
    (:data:`TIE_RTOL`) counts as equal, and the threshold returned is then
    at least that p-value. ``esda.fdr`` compares with ``<`` and so keeps
    fewer tests than Benjamini–Hochberg where ``p_(k) = k α / n``.

    Parameters
    ----------
    p_values : array-like
        NaN (islands, no test) are left out: ``n`` counts the others.
    alpha : float
        The false discovery rate, between 0 and 1.

    Returns
    -------
    float
        The threshold; 0.0 when no p-value is given.

    Examples
    --------
    >>> p = np.r_[np.full(14, 0.005), np.linspace(0.2, 1.0, 266)]  # 280 tests
    >>> t = fdr_threshold(p, 0.10)
    >>> round(t, 6), int((p <= t).sum())
    (0.005, 14)
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha}")
    p = np.sort(np.asarray(p_values, dtype=float).ravel())
    p = p[~np.isnan(p)]
    n = len(p)
    if n == 0:
        return 0.0
    critical = np.arange(1, n + 1) / n * alpha
    passing = np.flatnonzero(p <= critical * (1 + TIE_RTOL))
    if len(passing) == 0:
        return alpha / n
    k = passing[-1]
    return float(max(critical[k], p[k]))


@contextmanager
def quiet_esda():
    """Run esda without its known noise and without touching NumPy's global random state.

    esda's permutation engine calls ``np.random.seed(seed)`` (without numba
    this is NumPy's global generator); G_Local and Moran_Local warn that their
    default alternative will change (neither p-value here uses it); islands
    divide by a zero variance (they are masked by :func:`island_mask`).
    """
    state = np.random.get_state()
    try:
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.filterwarnings(
                "ignore", message="The alternative hypothesis for conditional randomization"
            )
            warnings.filterwarnings("ignore", message="`row_stack` alias is deprecated")
            yield
    finally:
        np.random.set_state(state)
