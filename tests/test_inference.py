"""Inference shared by Gi*, Local Moran and the emerging hot spots (layers/inference.py):
contiguity, islands, the two-sided permutation p-value and the Benjamini–Hochberg threshold,
against esda and statsmodels on fixed data."""

from __future__ import annotations

import esda
import geopandas as gpd
import numpy as np
import pytest
import shapely
from esda.significance import calculate_significance
from libpysal.graph import Graph
from statsmodels.stats.multitest import multipletests

from layers.inference import fdr_threshold, island_mask, permutation_p, queen_contiguity


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
