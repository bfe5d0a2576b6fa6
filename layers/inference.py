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
- :func:`excess_p`: the one-tailed p-value of an excess (a count above what
  the permutations give), ties counted, for tests with a direction (Knox);
- :func:`exact_gi_star_p`: the same p-value for Gi* on counts, from the
  exact conditional permutation distribution (every draw of the
  neighbours enumerated by subset sums) instead of a random sample of it;
- :func:`gi_star_test`: Gi* (esda's) with that p-value, exact where it is
  affordable, from permutations elsewhere, saying which; the permutations
  are esda's draws and arithmetic, counted a block of communes at a time
  rather than kept (:func:`_gi_star_permutations`);
- :func:`fdr_threshold`: the Benjamini–Hochberg critical p-value;
- :func:`quiet_esda`: runs esda without its noise and without touching
  NumPy's global random state.

esda, libpysal and scipy are imported inside the functions that use them: a server
starts without them (seconds of imports that no first page needs), and
:func:`prepare_gi_star` imports them, with the contiguity and the draws that every Gi*
of a set of communes reads, once the server is up.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from contextlib import contextmanager

from typing import TYPE_CHECKING, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

if TYPE_CHECKING:
    from libpysal.graph import Graph

__all__ = [
    "ALTERNATIVES",
    "EXACT_MAX_CELLS",
    "INFERENCES",
    "TIE_RTOL",
    "GiStarTest",
    "exact_gi_star_cost",
    "exact_gi_star_p",
    "excess_p",
    "fdr_threshold",
    "gi_star_statistic",
    "gi_star_test",
    "island_mask",
    "permutation_p",
    "prepare_gi_star",
    "queen_contiguity",
    "quiet_esda",
]

#: How ``permutation_p`` reads a p-value from the simulations (see there).
ALTERNATIVES = ("two-sided", "directed")
#: Relative tolerance under which two statistics (or a p-value and a critical
#: value) are the same number: they differ only by floating-point rounding.
TIE_RTOL = 1e-9
_TIE_ATOL = 1e-12
#: How :func:`gi_star_test` reads its p-values: ``"exact"`` enumeration, a sample of
#: ``"permutation"``s, or ``"auto"``: exact where the values are counts and the
#: enumeration costs at most :data:`EXACT_MAX_CELLS`, permutations elsewhere.
INFERENCES = ("auto", "exact", "permutation")
#: Work bound of the exact enumeration (cells of its subset-sum tables, see
#: :func:`exact_gi_star_cost`): about a second on one core. The demo's 96 and 280
#: communes need a few hundred thousand even over four years of counts.
EXACT_MAX_CELLS = 50_000_000
_CHUNK_CELLS = 2_000_000  # cells of the tables held at once (16 MB each)
#: Simulated Gi* held at once by :func:`_gi_star_permutations` (2 MB; 25 communes × 9,999).
_BLOCK_CELLS = 250_000


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
    from libpysal.graph import Graph

    geometry = communes.geometry if isinstance(communes, gpd.GeoDataFrame) else communes

    def build() -> Graph:
        w = Graph.build_contiguity(geometry, rook=False, strict=True)
        if list(w.unique_ids) != list(geometry.index):
            w = w.subgraph(geometry.index)  # pragma: no cover - libpysal keeps the order
        return w

    return _GRAPHS.get(_shapes_key(geometry), build)


class _Kept:
    """The values of the last ``size`` keys asked, each built once by its ``build()``
    (outside the lock: two threads may build the same value; both are the same).
    Thread-safe; what the module keeps must be immutable."""

    def __init__(self, size: int = 8):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, build):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


#: The contiguity of the last few sets of polygons (a Graph is immutable): the Gi* maps and
#: the emerging hot spots of every filter state ask it of the same communes, and the
#: country's 3,321 polygons take a third of a second to test.
_GRAPHS = _Kept(8)


def gi_star_statistic(y: np.ndarray, graph: Graph, n_jobs: int = 1):
    """esda's Gi* of ``y`` on binary ``graph`` (``G_Local(star=True, transform="B")``), with
    no permutation: the statistic, its z-score and ``p_norm``.

    The graph with its self-weights (``assign_self_weight(1)``, what esda adds for
    ``star=True``) is kept per graph: esda would build it again at every call, three
    quarters of the call's cost for the country's 3,321 communes (44 → 10 ms), and the
    emerging hot spots ask it once per period. esda keeps a diagonal it is given, so the
    numbers are the same to the bit (a test).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> row = gpd.GeoSeries([shapely.box(i, 0, i + 1, 1) for i in range(4)],
    ...                     index=list("abcd"))
    >>> g = gi_star_statistic(np.array([5.0, 4, 0, 0]), queen_contiguity(row))
    >>> g.Zs.round(3).tolist()
    [1.711, 0.988, -1.207, -1.711]
    """
    import esda

    with quiet_esda():
        return esda.G_Local(y, _self_weighted(graph), transform="B", star=True,
                            permutations=0, n_jobs=n_jobs)


def _self_weighted(graph: Graph) -> Graph:
    """``graph`` with weight 1 on its diagonal, kept for the last few graphs (a Graph is
    immutable; the entry holds the graph, so its ``id`` is not reused while kept)."""
    return _SELF_WEIGHTED.get(id(graph), lambda: (graph, graph.assign_self_weight(1)))[1]


_SELF_WEIGHTED = _Kept(8)


def _shapes_key(geometry: gpd.GeoSeries) -> tuple:
    """What the contiguity depends on: the codes in order and every polygon (its WKB, hashed;
    a few milliseconds for the country)."""
    digest = hashlib.blake2b(digest_size=20)
    for wkb in shapely.to_wkb(np.asarray(geometry.values, dtype=object)):
        wkb = wkb or b""  # no geometry
        digest.update(len(wkb).to_bytes(8, "little"))
        digest.update(wkb)
    return tuple(geometry.index), digest.hexdigest()


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
    simulated = np.atleast_2d(np.asarray(simulated, dtype=float))
    at_least, at_most, _ = _tail_counts(observed, simulated)
    return _folded(_one_tailed(at_least, simulated.shape[1]),
                   _one_tailed(at_most, simulated.shape[1]), alternative, islands)


def _tail_counts(observed: np.ndarray,
                 simulated: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How many simulations of each row are at least and at most its observed value, each
    counting the ties up to rounding (:data:`TIE_RTOL`), and how many are at least it
    with no tolerance (``>=``, as esda's ``p_sim`` counts them).

    The one home of the tie rule of :func:`permutation_p`, :func:`excess_p` and the
    chunked Gi* permutations (:func:`_gi_star_permutations`), which call it a block of
    communes at a time and add the counts up.
    """
    observed = np.asarray(observed, dtype=float).reshape(-1, 1)
    if not np.isfinite(observed).all():
        return _tail_counts_isclose(observed, simulated)
    # np.isclose(simulated, observed) is |d| <= tol for a finite observed value, d the
    # difference below (and x == y implies d == 0): then "at least or tied" is
    # d >= -tol (d < 0 gives |d| = -d exactly) and "at most or tied" is d <= tol, and
    # ">=" is d >= 0 (a difference of two floats is 0 only when they are equal, and
    # rounding keeps its sign). The same counts, bit for bit, as the expression of
    # _tail_counts_isclose (a test compares them), in three passes over one difference
    # instead of a dozen: a third of the cost of the Gi* permutations' counting.
    difference = simulated - observed
    tolerance = _TIE_ATOL + TIE_RTOL * np.abs(observed)
    larger = np.count_nonzero(difference >= 0, axis=1)
    at_least = np.count_nonzero(difference >= -tolerance, axis=1)
    at_most = np.count_nonzero(difference <= tolerance, axis=1)
    return at_least, at_most, larger


def _tail_counts_isclose(observed: np.ndarray,
                         simulated: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_tail_counts` as its rule reads, with ``np.isclose``: what it computes
    when an observed value is not finite (NaN, an infinity), and its reference."""
    observed = np.asarray(observed, dtype=float).reshape(-1, 1)
    tied = np.isclose(simulated, observed, rtol=TIE_RTOL, atol=_TIE_ATOL)
    at_or_above = simulated >= observed
    larger = np.count_nonzero(at_or_above, axis=1)
    at_least = np.count_nonzero(at_or_above | tied, axis=1)
    at_most = np.count_nonzero((simulated <= observed) | tied, axis=1)
    return at_least, at_most, larger


def _one_tailed(count: np.ndarray, permutations: int) -> np.ndarray:
    """esda's one-tailed p-value ``(M + 1) / (permutations + 1)`` of ``M`` simulations at
    least as extreme (:func:`esda.significance.calculate_significance`'s expression)."""
    return (np.asarray(count) + 1) / (permutations + 1)


def excess_p(observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """The one-tailed p-value of each observed statistic being *larger* than its permutations.

    ``(M + 1) / (permutations + 1)``, ``M`` counting the simulations at least as
    large as the observed value, ties (as :func:`permutation_p` reads them)
    included: esda's ``"greater"`` significance, and the p-value of pointpats'
    Knox test (``p_sim``). For a statistic whose alternative has one direction,
    such as the Knox count of pairs close in space and time (an excess of
    near repeats; a deficit has no meaning for patrols).

    Parameters
    ----------
    observed : ndarray
        One statistic per test, any shape ``s``.
    simulated : ndarray
        Shape ``s + (permutations,)``.

    Returns
    -------
    ndarray
        The p-values, shape ``s``.

    Examples
    --------
    >>> excess_p(np.array([5, 1]), np.array([[1, 2, 3, 5], [1, 1, 1, 1]])).tolist()
    [0.4, 1.0]
    """
    observed = np.asarray(observed, dtype=float)
    simulated = np.asarray(simulated, dtype=float)
    flat_sim = simulated.reshape(observed.size, -1)
    at_least, _, _ = _tail_counts(observed, flat_sim)
    return _one_tailed(at_least, flat_sim.shape[1]).reshape(observed.shape)


def _folded(greater: np.ndarray, lesser: np.ndarray, alternative: str,
            islands: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The p-value and tail from the two one-tailed p-values (each counting the ties)."""
    greater = np.asarray(greater, dtype=float)
    lesser = np.asarray(lesser, dtype=float)
    p = np.minimum(greater, lesser)
    if alternative == "two-sided":
        p = np.minimum(1.0, 2 * p)
    if islands is not None:
        p[np.asarray(islands, dtype=bool)] = np.nan
    return p, np.sign(lesser - greater).astype(int)


def prepare_gi_star(communes: gpd.GeoDataFrame | gpd.GeoSeries, *,
                    permutations: tuple[int, ...] = (9999,), seed: int = 0) -> Graph:
    """Build and keep ahead what every Gi* of ``communes`` reads, whatever the values.

    esda (and libpysal, scipy.stats) imported, the contiguity
    (:func:`queen_contiguity`), its self-weighted graph (:func:`gi_star_statistic`) and
    esda's draws of the neighbours (:func:`_permuted_ids`) for each count of
    ``permutations`` and ``seed``: each kept where :func:`gi_star_test` looks for it, so
    that the first Gi* asked of a filter state costs only its values. For the country's
    3,321 communes about 1.5 CPU-s, once per process (issue 18: they were paid by the
    first ranked table a commander asked). Nothing is computed that would not be
    otherwise, and the kept values depend only on their keys: every result is the same.

    Returns
    -------
    libpysal.graph.Graph
        The contiguity of ``communes``.
    """
    import importlib

    importlib.import_module("esda")  # the import itself is what is prepared (0.9 CPU-s)
    graph = queen_contiguity(communes)
    _self_weighted(graph)
    size = int(_neighbourhoods(graph)[1].max(initial=0))
    for count in permutations:
        _permuted_ids(len(graph.unique_ids), size, int(count), seed)
    return graph


# -- Gi* on counts: the exact conditional permutation distribution ---------------------------

def _neighbourhoods(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """Binary neighbours of each unit without itself: the adjacency and the cardinalities.

    As esda's conditional randomisation sees them: the self-weight (Gi*'s own
    value) is not shuffled, every other non-zero weight is a neighbour.
    """
    a = graph.sparse.tocsr().astype(float)
    a.setdiag(0)
    a.eliminate_zeros()
    a.data[:] = 1.0
    return a, np.diff(a.indptr)


def _integer_counts(values: np.ndarray) -> np.ndarray | None:
    """``values`` as int64 when they are non-negative whole numbers, else None."""
    y = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(y)) or (y < 0).any() or (y != np.round(y)).any() \
            or y.max(initial=0) > 2**40:
        return None
    return y.astype(np.int64)


def _table_shape(y: np.ndarray, cardinalities: np.ndarray) -> tuple[int, int]:
    """(largest neighbour count, largest possible neighbour sum) of the tables."""
    k_max = int(cardinalities.max(initial=0))
    return k_max, int(np.sort(y)[::-1][:k_max].sum())


def exact_gi_star_cost(values: np.ndarray, graph: Graph) -> int | None:
    """Cells of the subset-sum tables :func:`exact_gi_star_p` fills, or None if it cannot.

    ``(Σ_v min(m_v, K) + 3 d) × (K + 1) × (S + 1)``: ``K`` the largest number
    of neighbours, ``S`` the sum of the ``K`` largest values, ``m_v`` how
    often the value ``v`` occurs and ``d`` the number of different values
    among the communes with a neighbour. None when the values are not
    non-negative whole numbers (rates): the enumeration needs integer sums.
    Compare with :data:`EXACT_MAX_CELLS`.
    """
    y = _integer_counts(values)
    if y is None:
        return None
    _, cardinalities = _neighbourhoods(graph)
    k_max, s_max = _table_shape(y, cardinalities)
    if k_max == 0:
        return 0
    _, multiplicity = np.unique(y, return_counts=True)
    own = len(np.unique(y[cardinalities > 0]))
    steps = int(np.minimum(multiplicity, k_max).sum()) + 3 * own
    return steps * (k_max + 1) * (s_max + 1)


def _subset_sums(y: np.ndarray, k_max: int, s_max: int) -> np.ndarray:
    """``F[c, s]``: how many sets of ``c`` of the units (c <= k_max) have values summing to ``s``.

    One step per distinct value ``v`` occurring ``m`` times: taking ``j`` of
    those units adds ``j`` to the size and ``j v`` to the sum in ``C(m, j)``
    ways. Only additions of non-negative numbers: no cancellation.
    """
    from scipy.special import comb

    table = np.zeros((k_max + 1, s_max + 1))
    table[0, 0] = 1.0
    values, multiplicity = np.unique(y, return_counts=True)
    for v, m in zip(values.tolist(), multiplicity.tolist(), strict=True):
        grown = table.copy()
        for j in range(1, min(m, k_max) + 1):
            shift = j * v
            if shift > s_max:
                break
            grown[j:, shift:] += comb(m, j) * table[: k_max + 1 - j, : s_max + 1 - shift]
        table = grown
    return table


def _without_one(table: np.ndarray, own: np.ndarray) -> np.ndarray:
    """The subset-sum tables of the units other than one of value ``own[r]``, for each ``r``.

    ``F(x, t) = (1 + x t^u) G(x, t)``, so ``G[c, s] = F[c, s] - G[c - 1, s - u]``,
    row by row. Each entry is one subtraction of a shifted entry: the rounding
    error stays below ``c`` ulps of the largest entry of ``F[c]``, about
    1e-15 of the probabilities (not a growing alternating series).
    """
    k_max, width = table.shape[0] - 1, table.shape[1]
    out = np.empty((len(own), k_max + 1, width))
    out[:, 0, :] = table[0]
    source = np.arange(width)[None, :] - own[:, None]
    inside = source >= 0
    source = np.where(inside, source, 0)
    for c in range(1, k_max + 1):
        previous = np.take_along_axis(out[:, c - 1, :], source, axis=1)
        out[:, c, :] = table[c] - np.where(inside, previous, 0.0)
    return np.maximum(out, 0.0)


def exact_gi_star_p(
    counts: np.ndarray,
    graph: Graph,
    *,
    alternative: str = "two-sided",
    islands: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The p-value of Gi* on counts over *every* conditional permutation, not a sample of them.

    esda's conditional randomisation of Gi* (binary weights, the commune its
    own neighbour) keeps commune ``i``'s own count and gives its ``k``
    neighbours ``k`` of the other ``n − 1`` counts drawn without
    replacement, each of the ``C(n − 1, k)`` draws equally likely. The
    statistic only moves with the sum ``S`` of the drawn counts, so its
    exact distribution is that of ``S``: how many ``k``-subsets of the other
    counts sum to each ``s``, counted by dynamic programming over the counts
    (subset sums; :func:`_subset_sums`, one table per province and one
    division per distinct own count, :func:`_without_one`).

    The tails follow :func:`permutation_p`'s rule with the sample replaced
    by the whole distribution: ``greater = P(S >= s_obs)``, ``lesser =
    P(S <= s_obs)``, *ties in both tails* (the observed draw is one of the
    ``C(n − 1, k)``, as esda's ``+ 1`` stands for it), two-sided ``min(1, 2
    min(greater, lesser))``. A permutation p-value of ``P`` draws estimates
    it, ``(M + 1) / (P + 1)``, with ``P → ∞``; the smallest exact p-value is
    ``2 / C(n − 1, k)`` (two-sided), about 1.6e-11 for 8 neighbours among 96
    communes, against ``2 / (P + 1)`` = 2e-4 for 9,999 permutations.

    Parameters
    ----------
    counts : ndarray
        Non-negative whole numbers, one per unit of ``graph``, in its order.
    graph : libpysal.graph.Graph
        Binary neighbours (any self-weight is ignored: Gi* adds the unit itself).
    alternative : {"two-sided", "directed"}
        As :func:`permutation_p`.
    islands : ndarray of bool, optional
        As :func:`permutation_p`: their p-value is NaN. Units without a
        neighbour are islands whether given or not.

    Returns
    -------
    p : ndarray
        The p-values (floating point: the exact proportions up to about 1e-15).
    direction : ndarray of int
        As :func:`permutation_p`.

    Raises
    ------
    ValueError
        For values that are not non-negative whole numbers, or an unknown ``alternative``.

    Examples
    --------
    A row of four communes a – b – c – d with counts 5, 4, 0, 0. Commune a
    keeps its 5 and gets one of the others {4, 0, 0} as its neighbour: 4
    (observed) in one draw of three, so ``greater = 1/3``, ``p = 2/3``, upper
    tail. Commune c keeps its 0 and gets two of {5, 4, 0}: sums 9, 5 and 4
    (observed), ``lesser = 1/3``, ``p = 2/3``, lower tail.

    >>> import geopandas as gpd, shapely
    >>> row = gpd.GeoSeries([shapely.box(i, 0, i + 1, 1) for i in range(4)],
    ...                     index=list("abcd"))
    >>> p, tail = exact_gi_star_p(np.array([5, 4, 0, 0]), queen_contiguity(row))
    >>> p.round(4).tolist(), tail.tolist()
    ([0.6667, 1.0, 0.6667, 0.6667], [1, 1, -1, -1])
    """
    from scipy.special import comb

    if alternative not in ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}: use one of {ALTERNATIVES}")
    y = _integer_counts(counts)
    if y is None:
        raise ValueError("exact Gi* p-values need counts: non-negative whole numbers")
    adjacency, cardinalities = _neighbourhoods(graph)
    if len(y) != adjacency.shape[0]:
        raise ValueError(f"{len(y)} counts for a graph of {adjacency.shape[0]} units")
    observed = np.rint(adjacency @ y).astype(np.int64)  # the neighbours' sum, without i
    alone = cardinalities == 0
    if islands is not None:
        alone = alone | np.asarray(islands, dtype=bool)
    greater = np.ones(len(y))
    lesser = np.ones(len(y))
    tested = np.flatnonzero(~alone)
    if len(tested):
        k_max, s_max = _table_shape(y, cardinalities)
        table = _subset_sums(y, k_max, s_max)
        own_values, own_row = np.unique(y[tested], return_inverse=True)
        per_chunk = max(1, _CHUNK_CELLS // ((k_max + 1) * (s_max + 1)))
        for first in range(0, len(own_values), per_chunk):
            rows = slice(first, first + per_chunk)
            others = _without_one(table, own_values[rows])
            low = np.cumsum(others, axis=2)  # P(S <= s) · total
            high = np.cumsum(others[:, :, ::-1], axis=2)[:, :, ::-1]  # P(S >= s) · total
            total = low[:, :, -1]
            in_chunk = (own_row >= first) & (own_row < first + per_chunk)
            units, r = tested[in_chunk], own_row[in_chunk] - first
            k, s = cardinalities[units], observed[units]
            lesser[units] = low[r, k, s] / total[r, k]
            greater[units] = high[r, k, s] / total[r, k]
    # a draw's probability is at least 1 / C(n - 1, k): rounding never goes below it
    floor = np.where(alone, 1.0, 1.0 / comb(len(y) - 1, cardinalities))
    greater = np.clip(greater, floor, 1.0)
    lesser = np.clip(lesser, floor, 1.0)
    return _folded(greater, lesser, alternative, alone)


# -- Gi* on any values: esda's conditional permutations, a block of communes at a time ---------

def _permuted_ids(n: int, size: int, permutations: int, seed: int) -> np.ndarray:
    """esda's draws of the neighbours: ``permutations`` rows of ``size`` positions among ``n - 1``.

    The rows :func:`esda.crand.vec_permutations` draws without numba
    (``np.random.seed(seed)``, then ``np.random.choice(n - 1, size, replace=False)``
    per row), from a generator of our own (NumPy's global one is not touched):
    legacy ``RandomState.choice`` without replacement *is* the first ``size``
    of ``RandomState.permutation(n - 1)`` (a frozen stream; the tests compare
    with esda), taken directly at a third of the cost. They depend on the
    number of units, the largest neighbourhood, the permutations and the seed
    only, never on the values: every filter state of the same communes reuses
    them (:data:`_DRAWS_KEPT` sets are kept; 9,999 × 10 positions are 800 KB).
    ``seed=None`` draws afresh each time, as esda's own random seed does.
    """
    if seed is None:
        return _draws(n, size, permutations, None)
    return _DRAWS.get((n, size, permutations, seed),
                      lambda: _draws(n, size, permutations, seed))


def _draws(n: int, size: int, permutations: int, seed: int | None) -> np.ndarray:
    """The draws of :func:`_permuted_ids`, made now (read-only)."""
    generator = np.random.RandomState(seed)
    ids = np.empty((permutations, size), dtype=np.int64)
    for row in range(permutations):
        ids[row] = generator.permutation(n - 1)[:size]
    ids.flags.writeable = False
    return ids


_DRAWS_KEPT = 8
_DRAWS = _Kept(_DRAWS_KEPT)


class _PermutationCounts(NamedTuple):
    """Per unit, how many of the simulated Gi* are at least / at most the observed one
    (ties up to rounding counted, as :func:`permutation_p` counts them) and esda's
    ``p_sim``."""

    at_least: np.ndarray
    at_most: np.ndarray
    p_sim: np.ndarray


def _gi_star_permutations(g, permutations: int, seed: int) -> _PermutationCounts:
    """esda's conditional randomisation of Gi* (``G_Local(star=True)``), counted, not kept.

    The same draws (:func:`_permuted_ids`) and the same floating-point
    operations as :func:`esda.crand.crand` with
    :func:`esda.getisord._g_local_star_crand` (without numba), hence the same
    simulated statistics to the last bit, the same ``p_sim`` and the same
    ties: for unit ``i`` with ``k`` neighbours, permutation ``p`` gives
    ``(z_rand @ w_i + w_ii z_i) / Σ z``, where ``z_rand[p, j]`` is the value at
    position ``ids[p, j]`` of the values without ``z_i``, ``w_i`` the weights
    of the neighbours and ``w_ii`` the self-weight. The product is esda's own,
    a C-ordered ``(permutations, k)`` matrix times a vector (one BLAS call per
    unit: its summation order is BLAS's, so it is not rewritten).

    What is not esda's is how ``z_rand`` is made and what is kept. Position
    ``ids[p, j]`` of the values without ``z_i`` is value ``ids[p, j]`` below
    ``i`` and value ``ids[p, j] + 1`` from ``i`` on; sweeping the units in
    order, an entry switches once, so one matrix per cardinality is kept and
    only the entries whose position the sweep passes are rewritten (about
    ``permutations × k / n`` per unit) instead of gathering ``permutations × k``
    values per unit. The simulations of a block of units (:data:`_BLOCK_CELLS`
    at most) are counted by :func:`_tail_counts` and dropped: esda keeps every
    one (units × permutations × 8 bytes, 266 MB for the country at 9,999) and
    their moments.

    Parameters
    ----------
    g : esda.G_Local
        Of the values, ``star=True``, any ``permutations`` (0 is enough): its
        ``y``, ``Gs`` and weights ``w`` (self-weights on the diagonal) are read.
    permutations, seed : int
        As esda's.

    Returns
    -------
    _PermutationCounts
        ``p_sim`` is esda's ``G_Local(...).p_sim`` ("directed", float32 as esda stores it).
    """
    z = np.asarray(g.y, dtype=float)
    n = len(z)
    adjacency = g.w.sparse.tocsr().copy()
    self_weights = adjacency.diagonal()
    adjacency.setdiag(0)
    adjacency.eliminate_zeros()
    weights = adjacency.data.astype(z.dtype)
    cardinalities = np.diff(adjacency.indptr)
    observed = np.asarray(g.Gs, dtype=float)
    scaling = z.sum()
    ids = _permuted_ids(n, int(cardinalities.max(initial=0)), permutations, seed)
    # per cardinality k: the drawn values as unit `done` sees them, and the entries by position
    drawn, below, order, bounds, done = {}, {}, {}, {}, {}
    for k in np.unique(cardinalities[cardinalities > 0]).tolist():
        positions = np.ascontiguousarray(ids[:, :k]).ravel()
        drawn[k] = z[positions + 1].reshape(permutations, k)  # every position >= unit 0
        below[k] = z[positions]
        order[k] = np.argsort(positions, kind="stable")
        bounds[k] = np.searchsorted(positions[order[k]], np.arange(n + 1))
        done[k] = 0
    at_least = np.zeros(n, dtype=np.int64)
    at_most = np.zeros(n, dtype=np.int64)
    larger = np.zeros(n, dtype=np.int64)
    per_block = max(1, _BLOCK_CELLS // permutations)
    simulated = np.empty((min(per_block, n), permutations))
    for first in range(0, n, per_block):
        block = np.arange(first, min(first + per_block, n))
        for row, unit in enumerate(block.tolist()):
            k = int(cardinalities[unit])
            if k == 0:  # an island: esda's one "neighbour" of weight 0, self-weight 0
                simulated[row] = 0.0
                continue
            passed = order[k][bounds[k][done[k]]:bounds[k][unit]]  # positions now below i
            drawn[k].ravel()[passed] = below[k][passed]
            done[k] = unit
            start = adjacency.indptr[unit]
            lag = drawn[k] @ weights[start:start + k]
            simulated[row] = (lag + self_weights[unit] * z[unit]) / scaling
        rows = simulated[:len(block)]
        at_least[block], at_most[block], larger[block] = _tail_counts(observed[block], rows)
    # esda's "directed" p_sim: the smaller tail by its count of simulations >= Gs
    low = (permutations - larger) < larger
    larger[low] = permutations - larger[low]
    p_sim = ((larger + 1.0) / (permutations + 1.0)).astype(np.float32)
    return _PermutationCounts(at_least=at_least, at_most=at_most, p_sim=p_sim)


class GiStarTest(NamedTuple):
    """Gi* of every unit and its significance (esda's names, then ours)."""

    Gs: np.ndarray  #: esda's Gi* (own value and neighbours over the total)
    Zs: np.ndarray  #: esda's z-score of Gs (normal theory)
    p_norm: np.ndarray  #: esda's one-sided normal p-value of Zs
    p_sim: np.ndarray  #: esda's directed permutation p-value; NaN when exact
    p_value: np.ndarray  #: two-sided (or directed) conditional p-value, NaN for islands
    direction: np.ndarray  #: +1 upper tail, −1 lower tail, 0 neither
    inference: str  #: "exact" or "permutation"


def gi_star_test(
    values: np.ndarray,
    graph: Graph,
    *,
    inference: str = "auto",
    permutations: int = 9999,
    seed: int = 0,
    alternative: str = "two-sided",
    islands: np.ndarray | None = None,
    max_cells: int = EXACT_MAX_CELLS,
    n_jobs: int = 1,
) -> GiStarTest:
    """Getis-Ord Gi* (esda's, binary weights, the unit its own neighbour) and its p-value.

    The one place the Gi* map (:func:`layers.hotspots.gi_star`) and the
    emerging hot spots (:func:`layers.emerging.gi_star_series`) get Gi* and
    decide how its conditional-permutation p-value is obtained:

    - ``"exact"``: :func:`exact_gi_star_p`, every draw of the neighbours
      counted; the p-value, hence every class and FDR decision, does not
      depend on a seed. Needs counts (non-negative whole numbers).
    - ``"permutation"``: esda's ``permutations`` random draws with ``seed``
      (:func:`permutation_p`'s rule); the p-value is an estimate, never below
      ``1 / (permutations + 1)``, and a class near a cut-off can change
      with the seed. The simulations are esda's to the last bit
      (:func:`_gi_star_permutations`: the same ``p_sim`` and ``p_value`` as
      ``esda.G_Local(..., permutations, seed=seed)``), counted and dropped
      a block at a time: for the country's 3,321 communes at 9,999
      permutations, a fifth of the CPU time of esda's path (the draws,
      made once per process, then kept) and a traced peak of 20 MB instead
      of 600 MB (esda keeps 266 MB of simulations, then their moments).
    - ``"auto"`` (default): exact when the values are counts and
      :func:`exact_gi_star_cost` is at most ``max_cells``; permutations
      otherwise (rates; very large counts over very many communes).

    Parameters
    ----------
    values : ndarray
        One non-negative number per unit of ``graph``, in its order.
    graph : libpysal.graph.Graph
        Binary weights without self-weights (:func:`queen_contiguity`, a distance band).
    inference : {"auto", "exact", "permutation"}
    permutations, seed : int
        esda's conditional permutations, used only when they are.
    alternative : {"two-sided", "directed"}
        As :func:`permutation_p`.
    islands : ndarray of bool, optional
        As :func:`permutation_p` (:func:`island_mask`).
    max_cells : int
        The work bound of ``"auto"`` (:data:`EXACT_MAX_CELLS`).
    n_jobs : int
        esda's, for the statistic itself (the permutations run here, in one thread).

    Returns
    -------
    GiStarTest
        ``inference`` says which was used.

    Raises
    ------
    ValueError
        ``inference="exact"`` on values that are not counts, an unknown
        ``inference`` or ``alternative``, or no permutation when they are needed.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> row = gpd.GeoSeries([shapely.box(i, 0, i + 1, 1) for i in range(4)],
    ...                     index=list("abcd"))
    >>> test = gi_star_test(np.array([5.0, 4, 0, 0]), queen_contiguity(row))
    >>> test.inference, test.p_value.round(4).tolist()
    ('exact', [0.6667, 1.0, 0.6667, 0.6667])
    >>> gi_star_test(np.array([0.5, 0.4, 0, 0]), queen_contiguity(row)).inference
    'permutation'
    """
    if inference not in INFERENCES:
        raise ValueError(f"unknown inference {inference!r}: use one of {INFERENCES}")
    if alternative not in ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}: use one of {ALTERNATIVES}")
    y = np.asarray(values, dtype=float)
    exact = inference != "permutation"
    if exact:
        cost = exact_gi_star_cost(y, graph)
        if inference == "exact" and cost is None:
            raise ValueError("exact Gi* p-values need counts: non-negative whole numbers")
        exact = cost is not None and (inference == "exact" or cost <= max_cells)
    if not exact and (int(permutations) != permutations or permutations < 1):
        raise ValueError(f"permutations must be a positive integer, got {permutations!r}")
    g = gi_star_statistic(y, graph, n_jobs)
    if exact:
        p_value, direction = exact_gi_star_p(y, graph, alternative=alternative, islands=islands)
        p_sim = np.full(len(y), np.nan)
    else:
        counts = _gi_star_permutations(g, int(permutations), seed)
        p_value, direction = _folded(_one_tailed(counts.at_least, int(permutations)),
                                     _one_tailed(counts.at_most, int(permutations)),
                                     alternative, islands)
        p_sim = np.asarray(counts.p_sim, dtype=float)
    return GiStarTest(Gs=np.asarray(g.Gs, dtype=float), Zs=np.asarray(g.Zs, dtype=float),
                      p_norm=np.asarray(g.p_norm, dtype=float), p_sim=p_sim, p_value=p_value,
                      direction=direction, inference="exact" if exact else "permutation")


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

    One esda run at a time in a process (a re-entrant lock): the server answers in
    threads, and two runs at once would draw from each other's reseeded stream (their
    p-values then depend on timing) and restore the global state out of order;
    :func:`warnings.catch_warnings` is process-wide too.
    """
    with _ESDA_LOCK:
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


#: :func:`quiet_esda`'s lock: esda's permutations use NumPy's one global generator.
_ESDA_LOCK = threading.RLock()
