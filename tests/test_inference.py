"""Inference shared by Gi*, Local Moran and the emerging hot spots (layers/inference.py):
contiguity, islands, the two-sided permutation p-value, the exact p-value of Gi* on counts
and the Benjamini–Hochberg threshold, against esda, statsmodels and brute force on fixed
data."""

from __future__ import annotations

import itertools
import math

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from esda.significance import calculate_significance
from libpysal.graph import Graph
from statsmodels.stats.multitest import multipletests

from layers.inference import (
    exact_gi_star_cost,
    exact_gi_star_p,
    fdr_threshold,
    gi_star_statistic,
    gi_star_test,
    island_mask,
    permutation_p,
    queen_contiguity,
)


def _t_junction() -> gpd.GeoDataFrame:
    """a and c side by side; b on top of both, its bottom edge over their shared corner.

    b shares no vertex with a or c: only the corner (2, 2) of a and c lies on b's edge.
    """
    return gpd.GeoDataFrame(
        geometry=[shapely.box(0, 0, 2, 2), shapely.box(1, 2, 3, 4), shapely.box(2, 0, 4, 2),
                  shapely.box(10, 10, 11, 11)],
        index=["a", "b", "c", "far"], crs="EPSG:32648",
    )


# -- contiguity and islands -------------------------------------------------------------------

def test_queen_contiguity_sees_a_corner_on_an_edge():
    communes = _t_junction()
    w = queen_contiguity(communes)
    assert list(w.unique_ids) == ["a", "b", "c", "far"]
    assert set(w["b"].index) == {"a", "c"} and set(w["a"].index) == {"b", "c"}
    assert list(w.isolates) == ["far"]
    # the vertex-based builder (libpysal's default, strict=False) takes b for an island
    assert "b" in set(Graph.build_contiguity(communes, rook=False).isolates)
    np.testing.assert_array_equal(island_mask(w, communes.index), [False, False, False, True])
    # any order of the communes: the graph follows it
    assert list(queen_contiguity(communes.iloc[::-1]).unique_ids) == ["far", "c", "b", "a"]


# -- the two-sided permutation p-value --------------------------------------------------------

def test_permutation_p_is_esdas_one_tailed_p_values_folded():
    rng = np.random.default_rng(0)
    observed = rng.normal(size=50)
    simulated = rng.normal(size=(50, 999))  # continuous: no ties
    greater = calculate_significance(observed, simulated, alternative="greater")
    lesser = calculate_significance(observed, simulated, alternative="lesser")
    p, direction = permutation_p(observed, simulated)
    np.testing.assert_array_equal(p, np.minimum(1.0, 2 * np.minimum(greater, lesser)))
    np.testing.assert_array_equal(direction, np.where(greater < lesser, 1, -1))
    directed, _ = permutation_p(observed, simulated, alternative="directed")
    np.testing.assert_array_equal(directed, np.minimum(greater, lesser))
    assert p.min() >= 2 / 1000 and directed.min() >= 1 / 1000


def test_ties_up_to_rounding_count_in_both_tails():
    # the observed statistic among simulations that equal it: no evidence either way
    observed = np.array([0.0, 0.1 + 0.2, 0.5])
    simulated = np.array([
        [0.0] * 90 + [1e-13] * 9,  # rounding noise around an all-zero neighbourhood
        [0.3] * 99,  # 0.1 + 0.2 != 0.3 in floating point
        [0.5] * 50 + [0.1] * 49,
    ])
    p, direction = permutation_p(observed, simulated)
    assert p.tolist() == [1.0, 1.0, 1.0]
    assert direction.tolist() == [0, 0, 1]  # 0: neither tail
    # the upper tail of the third holds the 50 ties and the observed value: (50 + 1) / 100
    assert permutation_p(observed, simulated, alternative="directed")[0][2] == 0.51


def test_islands_have_no_p_value():
    observed = np.array([0.9, 0.2, 0.0])
    simulated = np.array([[0.1] * 99, [0.2] * 99, [0.0] * 99])  # esda: an island's sims are 0
    p, _ = permutation_p(observed, simulated, islands=np.array([False, False, True]))
    assert p[0] == 0.02 and p[1] == 1.0 and np.isnan(p[2])


def test_permutation_p_refuses_an_unknown_alternative():
    with pytest.raises(ValueError, match="alternative"):
        permutation_p(np.zeros(2), np.zeros((2, 9)), alternative="greater")


# -- Benjamini–Hochberg -----------------------------------------------------------------------

def test_fdr_keeps_what_benjamini_hochberg_keeps_at_the_critical_value():
    """14 p-values of 0.005 among 280 at alpha 0.10: 14 × 0.10 / 280 = 0.005 exactly."""
    p = np.r_[np.full(14, 0.005), np.linspace(0.2, 1.0, 266)]
    reject = multipletests(p, alpha=0.10, method="fdr_bh")[0]
    assert reject.sum() == 14
    threshold = fdr_threshold(p, 0.10)
    np.testing.assert_array_equal(p <= threshold, reject)
    assert threshold == pytest.approx(0.005, rel=1e-12)
    assert (p <= esda.fdr(p, 0.10)).sum() == 0  # esda's strict "<": none kept


def _fixed_p_values(seed: int) -> np.ndarray:
    """p-values as the layers make them: mostly noise, some small, on a permutation grid."""
    rng = np.random.default_rng(seed)
    n = [96, 280, 96, 280, 50][seed % 5]
    p = np.where(rng.random(n) < 0.15, rng.beta(0.3, 8, n), rng.random(n))
    if seed % 2:  # two-sided permutation p-values of 999 permutations: many ties
        p = np.minimum(1.0, 2 * np.ceil(p / 2 * 1000) / 1000)
    return p


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.10])
def test_fdr_threshold_agrees_with_statsmodels_fdr_bh(seed, alpha):
    p = _fixed_p_values(seed)
    reject = multipletests(p, alpha=alpha, method="fdr_bh")[0]
    np.testing.assert_array_equal(p <= fdr_threshold(p, alpha), reject)


def test_fdr_threshold_on_what_can_pass_and_what_cannot():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    # BH at 0.05: the largest k with p_(k) <= 0.005 k is k = 2 (0.008 <= 0.010)
    assert fdr_threshold(p, 0.05) == pytest.approx(0.010)
    # nothing passes: the first threshold, alpha / n, which no p-value reaches
    assert fdr_threshold(np.array([0.5, 0.9]), 0.05) == pytest.approx(0.025)
    # missing p-values (islands) take no part: n is the number of p-values given
    with_nan = np.r_[p, np.nan, np.nan]
    assert fdr_threshold(with_nan, 0.05) == fdr_threshold(p, 0.05)
    assert fdr_threshold(np.array([np.nan]), 0.05) == 0.0
    with pytest.raises(ValueError, match="alpha"):
        fdr_threshold(p, 1.5)


# -- Gi* of counts: the exact conditional permutation distribution (issue 16) -----------------

def _row_of(n: int) -> gpd.GeoDataFrame:
    """``n`` unit squares in two rows (queen: up to 5 neighbours each)."""
    half = (n + 1) // 2
    return gpd.GeoDataFrame(
        geometry=[shapely.box(i % half, i // half, i % half + 1, i // half + 1)
                  for i in range(n)],
        index=[f"u{i}" for i in range(n)], crs="EPSG:32648",
    )


def _brute_force(y: np.ndarray, w: Graph) -> tuple[np.ndarray, np.ndarray]:
    """One-tailed p-values over *all* (n − 1)! orders of the other values: esda's conditional
    randomisation gives unit i's k neighbours the first k values of a random order of the
    others; the observed neighbourhood is one of the orders."""
    n = len(y)
    a = w.sparse.toarray() != 0
    greater, lesser = np.empty(n), np.empty(n)
    for i in range(n):
        k, observed = a[i].sum(), y[a[i]].sum()
        sums = np.array([sum(order[:k]) for order in itertools.permutations(np.delete(y, i))])
        greater[i], lesser[i] = (sums >= observed).mean(), (sums <= observed).mean()
    return greater, lesser


@pytest.mark.parametrize("seed", range(6))
def test_exact_p_values_are_all_permutations_counted(seed):
    """8 units, (8 − 1)! = 5,040 orders of the others for each: the exact p-values equal the
    shares counted by brute force, two-sided and directed, with the same tail."""
    communes = _row_of(8)
    w = queen_contiguity(communes)
    rng = np.random.default_rng(seed)
    y = rng.poisson([0.4, 1.5, 4.0, 12.0, 1.0, 0.7][seed], 8)
    if seed == 0:
        y[:] = [0, 0, 0, 1, 0, 0, 0, 0]  # ties everywhere
    greater, lesser = _brute_force(y, w)
    p, direction = exact_gi_star_p(y, w)
    np.testing.assert_allclose(p, np.minimum(1, 2 * np.minimum(greater, lesser)), rtol=1e-12)
    np.testing.assert_array_equal(direction, np.sign(lesser - greater))
    directed, _ = exact_gi_star_p(y, w, alternative="directed")
    np.testing.assert_allclose(directed, np.minimum(greater, lesser), rtol=1e-12)
    # the same numbers through gi_star_test, which also gives esda's Gs and Zs
    test = gi_star_test(y.astype(float), w)
    assert test.inference == "exact" and np.isnan(test.p_sim).all()
    np.testing.assert_allclose(test.p_value, p, rtol=1e-15)


def _exact_by_integers(y: np.ndarray, w: Graph) -> np.ndarray:
    """Two-sided exact p-values in Python integers (no rounding), one subset-sum DP per unit."""
    a = w.sparse.toarray() != 0
    out = []
    for i in range(len(y)):
        k, observed = int(a[i].sum()), int(y[a[i]].sum())
        ways = [dict() for _ in range(k + 1)]
        ways[0][0] = 1
        for v in np.delete(y, i).tolist():
            for c in range(k, 0, -1):
                for s, m in ways[c - 1].items():
                    ways[c][s + v] = ways[c].get(s + v, 0) + m
        total = math.comb(len(y) - 1, k)
        greater = sum(m for s, m in ways[k].items() if s >= observed)
        lesser = sum(m for s, m in ways[k].items() if s <= observed)
        out.append(min(1.0, 2 * min(greater, lesser) / total))
    return np.array(out)


def test_exact_p_values_keep_their_digits_down_to_tiny_tails():
    """280 units (the former communes' number), a planted cluster: p-values down to ~1e-10
    agree with exact integer arithmetic to 1e-9 relative (the floating-point tables
    subtract one shifted entry at a time, see _without_one)."""
    communes = _row_of(280)
    w = queen_contiguity(communes)
    rng = np.random.default_rng(5)
    y = rng.poisson(2.0, 280)
    y[[0, 1, 2, 140, 141, 142]] = [25, 30, 22, 28, 31, 26]
    p, _ = exact_gi_star_p(y, w)
    expected = _exact_by_integers(y, w)
    assert expected.min() < 1e-9
    np.testing.assert_allclose(p, expected, rtol=1e-9)


def test_exact_p_values_are_what_many_permutations_estimate():
    """Demo-like counts on a 96-unit grid (Poisson 2.5 and a cluster), esda with 99,999
    permutations: every permutation p-value lies within Monte-Carlo error of the exact one
    (4 standard errors of the two-sided estimate, plus esda's + 1)."""
    communes = _row_of(96)
    w = queen_contiguity(communes)
    rng = np.random.default_rng(16)
    y = rng.poisson(2.5, 96).astype(float)
    y[[10, 11, 58, 59]] = [14, 15, 13, 12]
    permutations = 99_999
    exact = gi_star_test(y, w, inference="exact")
    sampled = gi_star_test(y, w, inference="permutation", permutations=permutations, seed=7)
    assert (exact.inference, sampled.inference) == ("exact", "permutation")
    np.testing.assert_allclose(sampled.Zs, exact.Zs, rtol=1e-12)
    one_tailed = np.minimum(exact.p_value / 2, 0.5)
    error = 4 * 2 * np.sqrt(one_tailed * (1 - one_tailed) / permutations) + 2 / (permutations + 1)
    assert (np.abs(sampled.p_value - exact.p_value) <= error).all()
    assert exact.p_value.min() < 2e-4  # below 9,999 permutations' floor
    decided = exact.p_value <= 0.05
    np.testing.assert_array_equal(sampled.direction[decided], exact.direction[decided])


def test_gi_star_test_says_which_inference_and_falls_back_to_permutations():
    communes = _row_of(20)
    w = queen_contiguity(communes)
    counts = np.arange(20) % 4
    assert exact_gi_star_cost(counts, w) > 0
    assert gi_star_test(counts.astype(float), w).inference == "exact"
    # rates are not counts: permutations, from esda, with the seed
    rates = counts / 7
    assert exact_gi_star_cost(rates, w) is None
    test = gi_star_test(rates, w, permutations=99, seed=1)
    assert test.inference == "permutation" and test.p_sim.min() >= 0.01
    np.testing.assert_array_equal(test.p_value,
                                  gi_star_test(rates, w, permutations=99, seed=1).p_value)
    # over the work bound: permutations too
    assert gi_star_test(counts, w, max_cells=10).inference == "permutation"
    assert gi_star_test(counts, w, max_cells=10, inference="exact").inference == "exact"
    with pytest.raises(ValueError, match="need counts"):
        gi_star_test(rates, w, inference="exact")
    with pytest.raises(ValueError, match="need counts"):
        exact_gi_star_p(rates, w)
    with pytest.raises(ValueError, match="unknown inference"):
        gi_star_test(counts, w, inference="normal")
    with pytest.raises(ValueError, match="permutations must be a positive integer"):
        gi_star_test(rates, w, permutations=0)


def test_exact_p_values_of_islands_and_of_a_neighbourhood_of_everyone():
    communes = pd.concat([_row_of(6), gpd.GeoDataFrame(
        geometry=[shapely.box(50, 50, 51, 51)], index=["far"], crs="EPSG:32648")])
    w = queen_contiguity(communes)
    y = np.array([3, 0, 1, 0, 2, 0, 9])
    p, direction = exact_gi_star_p(y, w, islands=island_mask(w, communes.index))
    assert np.isnan(p[-1]) and direction[-1] == 0
    assert np.isfinite(p[:-1]).all()
    # a unit whose neighbours are all the others: one possible draw, p = 1
    star = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 3, 1), shapely.box(0, 1, 1, 2),
                                      shapely.box(1, 1, 2, 2), shapely.box(2, 1, 3, 2)],
                            index=list("abcd"), crs="EPSG:32648")
    p, _ = exact_gi_star_p(np.array([7, 0, 1, 5]), queen_contiguity(star))
    assert p[0] == 1.0


def test_exact_p_values_do_not_depend_on_how_the_tables_are_chunked(monkeypatch):
    import layers.inference

    communes = _row_of(60)
    w = queen_contiguity(communes)
    y = np.random.default_rng(9).poisson(3.0, 60)
    whole = exact_gi_star_p(y, w)
    monkeypatch.setattr(layers.inference, "_CHUNK_CELLS", 1)  # one own value at a time
    chunked = exact_gi_star_p(y, w)
    np.testing.assert_array_equal(whole[0], chunked[0])
    np.testing.assert_array_equal(whole[1], chunked[1])


def test_queen_contiguity_is_kept_per_set_of_polygons_and_never_stale():
    """The contiguity of the same polygons is the same Graph (kept); other polygons, other
    codes or another order get their own."""
    import geopandas as gpd
    import shapely

    from layers.inference import queen_contiguity

    cells = gpd.GeoSeries([shapely.box(0, 0, 2, 2), shapely.box(1, 2, 3, 4),
                           shapely.box(9, 9, 10, 10)], index=["a", "b", "c"])
    first = queen_contiguity(cells)
    assert queen_contiguity(gpd.GeoDataFrame(geometry=cells.copy())) is first
    moved = cells.copy()
    moved.iloc[2] = shapely.box(2, 0, 3, 1)  # c now touches a
    assert list(queen_contiguity(moved)["c"].index) == ["a"]
    assert list(first.isolates) == ["c"]
    renamed = cells.set_axis(["x", "y", "z"])
    assert list(queen_contiguity(renamed).unique_ids) == ["x", "y", "z"]
    assert list(queen_contiguity(cells[::-1]).unique_ids) == ["c", "b", "a"]


# -- Gi* on any values: esda's permutations, counted a block at a time (issue 18) -------------

def _country_sized_lattice() -> Graph:
    """3,025 units in a 55 × 55 queen lattice (3 to 8 neighbours, as the country's 3,321
    communes have 1 to 10) and 3 islands: the size of the national map without its polygons."""
    import scipy.sparse as sp
    from libpysal.weights import lat2W

    adjacency = sp.block_diag([lat2W(55, 55, rook=False).sparse, sp.csr_matrix((3, 3))])
    return Graph.from_sparse(adjacency.tocsr(), ids=[f"u{i}" for i in range(55 * 55 + 3)])


def _esdas(y: np.ndarray, w: Graph, permutations: int, seed: int):
    """esda keeping every simulation (rGs), as gi_star_test ran it before issue 18 (it then
    read the p-value from all of them by permutation_p), and the islands."""
    from layers.inference import quiet_esda

    with quiet_esda():
        g = esda.G_Local(y, w, transform="B", star=True, permutations=permutations,
                         keep_simulations=True, n_jobs=1, seed=seed)
    return g, island_mask(w, w.unique_ids)


_VALUES = {  # national-size values with many ties, and continuous ones
    "counts, mostly zero": lambda rng, n: rng.poisson(0.3, n).astype(float),
    "counts": lambda rng, n: rng.poisson(4.0, n).astype(float),
    # sevenths: equal sums of different values differ in the last bit by summation order
    "coarse rates": lambda rng, n: rng.poisson(0.6, n) / 7,
    "rates": lambda rng, n: rng.gamma(0.7, 3.0, n).round(4),
}


@pytest.mark.parametrize("kind", list(_VALUES))
def test_gi_star_permutations_are_esdas_to_the_tie_at_national_size(kind):
    """Same draws, same simulations to the last bit: the same p_sim as esda's, and the same
    p_value and tail as permutation_p over esda's kept simulations, for both alternatives,
    ties and islands included, though no units × permutations array is kept."""
    w = _country_sized_lattice()
    y = _VALUES[kind](np.random.default_rng(len(kind)), w.n)
    g, islands = _esdas(y, w, 999, len(kind))
    for alternative in ("two-sided", "directed"):
        p, direction = permutation_p(g.Gs, g.rGs, alternative=alternative, islands=islands)
        test = gi_star_test(y, w, inference="permutation", permutations=999, seed=len(kind),
                            alternative=alternative, islands=islands)
        assert test.inference == "permutation"
        np.testing.assert_array_equal(test.p_sim, np.asarray(g.p_sim, dtype=float))
        np.testing.assert_array_equal(test.p_value, p)  # NaN for the 3 islands on both sides
        np.testing.assert_array_equal(test.direction, direction)
        np.testing.assert_array_equal(test.Gs, g.Gs)
        np.testing.assert_array_equal(test.Zs, g.Zs)
    assert np.isnan(test.p_value[islands]).all() and islands.sum() == 3
    # ties: many simulations equal the observed Gi* (counts) or equal it up to rounding
    tied = np.isclose(g.rGs, g.Gs[:, None], rtol=1e-9, atol=1e-12)
    if kind != "rates":
        assert tied.sum() > 100_000
        assert (tied & (g.rGs != g.Gs[:, None])).any() == (kind == "coarse rates")


@pytest.mark.parametrize("kind", list(_VALUES))
def test_gi_star_statistic_is_esdas_to_the_bit_with_its_self_weights_kept(kind):
    """The self-weighted graph is built once per graph and esda keeps the diagonal it is
    given: Gs, Zs and p_norm equal esda's own call on the plain graph, to the bit."""
    from layers.inference import _self_weighted

    w = _country_sized_lattice()
    y = _VALUES[kind](np.random.default_rng(7), w.n)
    g, _ = _esdas(y, w, 0, 0)
    ours = gi_star_statistic(y, w)
    for name in ("Gs", "Zs", "p_norm"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(g, name))
    assert _self_weighted(w) is _self_weighted(w)
    assert (_self_weighted(w).sparse.diagonal() == 1).all() and (w.sparse.diagonal() == 0).all()


def test_gi_star_permutations_draw_what_esda_draws():
    from esda.crand import vec_permutations

    from layers.inference import _permuted_ids

    for n, size, permutations, seed in ((96, 8, 999, 0), (3321, 10, 50, 12345), (5, 4, 20, 3)):
        np.testing.assert_array_equal(_permuted_ids(n, size, permutations, seed),
                                      vec_permutations(size, n, permutations, seed))
    kept = _permuted_ids(96, 8, 999, 0)
    assert _permuted_ids(96, 8, 999, 0) is kept and not kept.flags.writeable


def test_gi_star_permutations_do_not_depend_on_the_blocks(monkeypatch):
    import layers.inference

    communes = _row_of(40)
    w = queen_contiguity(communes)
    y = np.random.default_rng(3).poisson(1.0, 40) / 3
    whole = gi_star_test(y, w, inference="permutation", permutations=499, seed=2)
    monkeypatch.setattr(layers.inference, "_BLOCK_CELLS", 1)  # one unit at a time
    blocks = gi_star_test(y, w, inference="permutation", permutations=499, seed=2)
    for a, b in zip(whole, blocks, strict=True):
        np.testing.assert_array_equal(a, b)
    # a neighbourhood of every other unit: one possible draw, every simulation a tie
    star = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 3, 1), shapely.box(0, 1, 1, 2),
                                      shapely.box(1, 1, 2, 2), shapely.box(2, 1, 3, 2)],
                            index=list("abcd"), crs="EPSG:32648")
    ws = queen_contiguity(star)
    values = np.array([0.7, 0.0, 0.1, 0.5])
    g, _ = _esdas(values, ws, 99, 4)
    test = gi_star_test(values, ws, inference="permutation", permutations=99, seed=4)
    assert test.p_value[0] == permutation_p(g.Gs, g.rGs)[0][0] == 1.0
    np.testing.assert_array_equal(test.p_sim, np.asarray(g.p_sim, dtype=float))


def test_gi_star_permutations_keep_no_units_by_permutations_array():
    """2,999 permutations of 3,028 units: esda keeps 73 MB of simulations (and as much
    again for their moments; 242 MB each at 9,999); the blocks need a small part of it."""
    import tracemalloc

    w = _country_sized_lattice()
    y = np.random.default_rng(5).gamma(0.7, 3.0, w.n)
    gi_star_test(y[:10], Graph.from_sparse(w.sparse[:10, :10]), inference="permutation",
                 permutations=2999, seed=1)  # imports done outside the measure
    tracemalloc.start()
    try:
        test = gi_star_test(y, w, inference="permutation", permutations=2999, seed=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    kept = w.n * 2999 * 8
    assert peak < kept / 4, f"{peak / 1e6:.0f} MB at the peak"
    assert test.p_sim.min() == pytest.approx(1 / 3000)


def _tie_cases(rng) -> tuple[np.ndarray, np.ndarray]:
    """Observed values and simulations made to sit on every edge of the tie rule: equal,
    a rounding apart, just inside and just outside the tolerance, zeros, signed zeros,
    huge and subnormal values, infinities and NaN among the simulations."""
    observed = np.r_[rng.normal(0, 1, 30), 0.0, -0.0, 1e300, -1e300, 5e-324, 1e-12, 3.0]
    size = (len(observed), 400)
    simulated = observed[:, None] + rng.normal(0, 1, size)
    tol = 1e-12 + 1e-9 * np.abs(observed)[:, None]
    edge = rng.integers(0, 9, size)
    simulated = np.where(edge == 0, observed[:, None], simulated)
    simulated = np.where(edge == 1, np.nextafter(observed[:, None], np.inf), simulated)
    simulated = np.where(edge == 2, observed[:, None] + tol, simulated)
    simulated = np.where(edge == 3, observed[:, None] - tol, simulated)
    simulated = np.where(edge == 4, np.nextafter(observed[:, None] - tol, -np.inf), simulated)
    simulated = np.where(edge == 5, np.nextafter(observed[:, None] + tol, np.inf), simulated)
    simulated[:, :3] = [np.inf, -np.inf, np.nan]
    return observed, simulated


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tail_counts_are_the_isclose_rule_to_the_count(seed):
    """The counting of ties on one difference (issue 18: a third of the cost) gives the
    counts np.isclose gives, on values sitting on every edge of the tolerance; observed
    values that are not finite are counted by the isclose rule itself."""
    from layers.inference import _tail_counts, _tail_counts_isclose

    observed, simulated = _tie_cases(np.random.default_rng(seed))
    fast = _tail_counts(observed, simulated)
    slow = _tail_counts_isclose(observed, simulated)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    # the edges are there: ties that are not equalities, and near misses that are not ties
    tied = np.isclose(simulated, observed[:, None], rtol=1e-9, atol=1e-12)
    assert (tied & (simulated != observed[:, None])).sum() > 1000
    assert (~tied & (np.abs(simulated - observed[:, None]) < 2e-9)).any()
    odd = np.array([np.nan, np.inf, -np.inf, 1.0])
    sims = np.array([[np.nan, 1.0], [np.inf, 1.0], [-np.inf, np.inf], [1.0, 2.0]])
    at_least, at_most, larger = _tail_counts(odd, sims)
    assert (at_least.tolist(), at_most.tolist(), larger.tolist()) == ([0, 1, 2, 2], [0, 2, 1, 1],
                                                                     [0, 1, 2, 2])


def test_prepare_gi_star_keeps_what_gi_star_test_reads_and_changes_no_result(monkeypatch):
    """Issue 18: the contiguity, the self-weighted graph and esda's draws are built ahead
    (once the server is up); a Gi* then builds none of them again, and its numbers are
    those of a Gi* that built them itself."""
    import layers.inference as inference
    from layers.inference import _Kept, prepare_gi_star

    def fresh():
        for name in ("_GRAPHS", "_SELF_WEIGHTED", "_DRAWS"):
            monkeypatch.setattr(inference, name, _Kept(8))

    communes = _row_of(40)
    y = np.random.default_rng(11).gamma(0.7, 3.0, 40).round(3)
    fresh()
    alone = gi_star_test(y, queen_contiguity(communes), inference="permutation",
                         permutations=499, seed=3)
    fresh()
    graph = prepare_gi_star(communes, permutations=(499, 99), seed=3)
    size = 5  # two rows of squares: queen neighbours of a unit inside, none of an island
    assert int(graph.cardinalities.max()) == size
    assert set(inference._DRAWS._items) == {(40, size, 499, 3), (40, size, 99, 3)}
    draws = inference._DRAWS._items[(40, size, 499, 3)]
    weighted = inference._SELF_WEIGHTED._items[id(graph)][1]
    prepared = gi_star_test(y, queen_contiguity(communes), inference="permutation",
                            permutations=499, seed=3)
    assert queen_contiguity(communes) is graph
    assert inference._DRAWS._items[(40, size, 499, 3)] is draws
    assert len(inference._DRAWS._items) == 2  # no draw made again
    assert inference._SELF_WEIGHTED._items[id(graph)][1] is weighted
    for a, b in zip(alone, prepared, strict=True):
        np.testing.assert_array_equal(a, b)
    assert prepared.inference == "permutation" and len(set(prepared.p_value)) > 20
