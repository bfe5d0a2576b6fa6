"""Emerging hot spots: the ArcGIS categories, Mann–Kendall, counts per period, Gi*, the layer."""

from __future__ import annotations

import datetime as dt
import doctest
import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from libpysal.graph import Graph
from scipy.stats import kendalltau
from shapely.geometry import box

from geo.boundaries import load_communes
from geo.config import Settings
from layers import emerging
from layers.emerging import (
    CATEGORIES,
    CATEGORY_CODES,
    CATEGORY_COLOURS,
    CATEGORY_SCALE,
    GROUP_COLOURS,
    NO_PATTERN_COLOUR,
    emerging_category,
    emerging_hotspots,
    emerging_layer,
    gi_star_series,
    legend_entries,
    mann_kendall,
    period_counts,
    significance_bins,
)
from layers.layer import Caveat

UP, DOWN, FLAT = (3.0, 0.003), (-3.0, 0.003), (0.4, 0.69)  # Mann–Kendall (z, p)
H, C, N = 1, -1, 0  # hot, cold, not significant

# (pattern, bins of the hot version, trend of the hot version); the cold version mirrors both.
CASES = [
    ("new", [N] * 9 + [H], UP),  # a trend does not matter: only the final period counts
    ("consecutive", [N] * 7 + [H, H, H], UP),  # < 90 % hot, so not intensifying
    ("consecutive", [N] + [H] * 8, FLAT),  # 8 of 9 = 89 %: still below 90 %
    ("intensifying", [H] * 10, UP),
    ("intensifying", [N] + [H] * 9, UP),  # 9 of 10 = exactly 90 %
    ("persistent", [H] * 10, FLAT),
    ("persistent", [H, H, H, H, N, H, H, H, H, H], FLAT),
    ("persistent", [H] * 10, (2.0, 0.10)),  # p equal to alpha is not significant
    ("persistent", [C] + [H] * 9, FLAT),  # 90 % hot wins over one cold period
    ("diminishing", [H] * 10, DOWN),
    ("sporadic", [N, H, N, N, H, N, N, N, H, H], FLAT),
    ("sporadic", [H, N, H] * 3 + [H], UP),  # 7 of 10 hot, on and off
    ("oscillating", [C, C] + [N] * 7 + [H], FLAT),  # once cold, now hot: not "new"
    ("oscillating", [N, C, N, H, H, N, N, N, H, H], FLAT),
    ("oscillating", [C] * 4 + [H] * 6, UP),  # a clean final run, but it was cold before
    ("historical", [H] * 9 + [N], DOWN),
    ("historical", [H] * 10 + [N], FLAT),  # 10 of 11 hot
    ("historical", [H] * 9 + [C], DOWN),  # final cold: still historical hot (rule 3 first)
]


def _mirror(bins, trend):
    return [-b for b in bins], (-trend[0], trend[1])


@pytest.mark.parametrize("kind", ["hot", "cold"])
@pytest.mark.parametrize(("pattern", "bins", "trend"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_category_follows_arcgis_definition(kind, pattern, bins, trend):
    if kind == "cold":
        bins, trend = _mirror(bins, trend)
    assert emerging_category(bins, *trend) == f"{pattern}_{kind}"


@pytest.mark.parametrize("bins", [[N] * 12, [N], [H, H, H] + [N] * 9, [C, H, N, N, N, N],
                                  [H] * 8 + [N] * 2])
def test_no_pattern(bins):
    # nothing significant; or the final period not significant and < 90 % hot/cold
    assert emerging_category(bins, *UP) == "no_pattern"


def test_single_period():
    assert emerging_category([H], 0.0, 1.0) == "new_hot"
    assert emerging_category([C], 0.0, 1.0) == "new_cold"
    assert emerging_category([N], 0.0, 1.0) == "no_pattern"


def test_every_category_is_reachable_and_coded():
    reached = {f"{p}_{k}" for p, *_ in CASES for k in ("hot", "cold")} | {"no_pattern"}
    assert reached == set(CATEGORIES) == set(CATEGORY_CODES) == set(CATEGORY_COLOURS)
    assert sorted(CATEGORY_CODES.values()) == list(range(17))


def test_empty_series_is_refused():
    with pytest.raises(ValueError, match="non-empty"):
        emerging_category([], 0.0, 1.0)


# -- Mann–Kendall ----------------------------------------------------------------------------

def _two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def test_mann_kendall_by_hand_with_ties():
    # x = 1 3 2 4 4. Pairs i<j, sign(x_j - x_i): from 1: + + + + (4); from 3: - + + (1);
    # from 2: + + (2); from 4: 0. S = 7. One tie group of size 2:
    # var S = [5·4·15 − 2·1·9] / 18 = 282/18; z = (7 − 1)/√var; tau-b = 7/√(10·9).
    r = mann_kendall([1, 3, 2, 4, 4])
    var = 282 / 18
    assert r.s == 7
    assert r.var_s == pytest.approx(var)
    assert r.z == pytest.approx(6 / math.sqrt(var))
    assert r.p == pytest.approx(_two_sided(6 / math.sqrt(var)))
    assert r.p == pytest.approx(0.12955, abs=1e-5)
    assert r.tau == pytest.approx(7 / math.sqrt(90))


def test_mann_kendall_decreasing_without_ties():
    # 5 4 3 2 1: all 10 pairs fall, S = −10; var = 5·4·15/18; z = (−10 + 1)/√var.
    r = mann_kendall([5, 4, 3, 2, 1])
    assert (r.s, r.tau) == (-10, -1.0)
    assert r.z == pytest.approx(-9 / math.sqrt(300 / 18))
    assert r.p == pytest.approx(0.02749, abs=1e-5)


@pytest.mark.parametrize("series", [[2.0] * 8, [1.5], []])
def test_mann_kendall_without_information(series):
    r = mann_kendall(series)
    assert (r.s, r.z, r.p) == (0, 0.0, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mann_kendall_is_kendalls_tau_against_time(seed):
    x = np.random.default_rng(seed).integers(0, 4, 15)  # many ties
    r = mann_kendall(x)
    k = kendalltau(np.arange(len(x)), x, method="asymptotic")
    assert r.tau == pytest.approx(k.statistic)
    # scipy's asymptotic p is the same test without the continuity correction
    assert k.pvalue == pytest.approx(_two_sided(r.s / math.sqrt(r.var_s)))


# -- counts per period -----------------------------------------------------------------------

@pytest.fixture()
def incidents():
    return pd.DataFrame({
        "date": pd.to_datetime(["2024-01-05", "2024-03-31", "2024-07-01", "2024-09-30",
                                "2024-09-30", "2024-12-31", "2024-02-10"]),
        "type": ["tip", "tip", "victim", "tip", "illegal_crossing", "tip", "tip"],
        "new_code": ["25681", "25489", "25681", "25681", "25681", "25489", "99999"],
        "old_code": ["25699", "25489", "25699", "25681", "25681", "25489", "99999"],
    })


@pytest.fixture()
def small_communes():
    return pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Tân Lập", "Xã Tân Đông"]},
                        index=["25681", "25489", "25522"])


def test_period_counts_zero_fill_every_commune_and_period(incidents, small_communes):
    table = period_counts(incidents, small_communes)
    assert list(table.columns.astype(str)) == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert isinstance(table.columns, pd.PeriodIndex) and table.columns.name == "period"
    assert table.to_dict("index") == {
        "25681": dict(zip(table.columns, [1, 0, 3, 0], strict=True)),
        "25489": dict(zip(table.columns, [1, 0, 0, 1], strict=True)),
        "25522": dict(zip(table.columns, [0, 0, 0, 0], strict=True)),
    }
    assert table.to_numpy().sum() == 6  # the record of an unknown code is not counted
    assert table.dtypes.eq("int64").all()


def test_period_counts_months_types_and_range(incidents, small_communes):
    table = period_counts(incidents, small_communes, freq="M", types=["tip"],
                          start=dt.date(2023, 11, 1), end=dt.date(2024, 3, 31))
    assert list(table.columns.astype(str)) == ["2023-11", "2023-12", "2024-01", "2024-02",
                                               "2024-03"]
    assert table.loc["25681"].tolist() == [0, 0, 1, 0, 0]
    assert table.loc["25489"].tolist() == [0, 0, 0, 0, 1]  # 31/3 is inside (inclusive end)


def test_period_counts_legacy_units(incidents):
    old = pd.DataFrame({"name": ["Xã Lợi Thuận", "TT Bến Cầu"]}, index=["25699", "25681"])
    table = period_counts(incidents, old, unit_set="legacy")
    assert table.sum(axis=1).to_dict() == {"25699": 2, "25681": 2}


def test_period_counts_without_records_needs_a_range(small_communes):
    none = pd.DataFrame({"date": pd.to_datetime([]), "type": [], "new_code": [],
                         "old_code": []})
    table = period_counts(none, small_communes, start=dt.date(2024, 1, 1),
                          end=dt.date(2024, 6, 30))
    assert table.shape == (3, 2) and table.to_numpy().sum() == 0
    with pytest.raises(ValueError, match="no period"):
        period_counts(none, small_communes)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"freq": "W"}, "freq"), ({"types": ["murder"]}, "unknown incident types"),
    ({"unit_set": "1999"}, "unknown unit set"),
])
def test_period_counts_refuses_bad_arguments(incidents, small_communes, kwargs, message):
    with pytest.raises(ValueError, match=message):
        period_counts(incidents, small_communes, **kwargs)


# -- Gi* on the real 2025 communes -----------------------------------------------------------

@pytest.fixture(scope="module")
def communes(tmp_path_factory):
    return load_communes(Settings(data_dir=tmp_path_factory.mktemp("var")), "2025")


def test_gi_star_wraps_esda_and_marks_empty_periods(communes):
    import esda

    rng = np.random.default_rng(0)
    counts = pd.DataFrame({"2024Q1": rng.poisson(1.0, len(communes)), "2024Q2": 0},
                          index=communes.index[::-1])  # any order of rows
    z, p = gi_star_series(counts, communes, permutations=99, seed=3)
    assert z.index.equals(communes.index)
    graph = Graph.build_contiguity(communes, rook=False)
    expected = esda.G_Local(counts.loc[communes.index, "2024Q1"].to_numpy(float), graph,
                            transform="B", star=True, permutations=0).Zs
    np.testing.assert_allclose(z["2024Q1"], expected)
    assert (z["2024Q2"] == 0).all() and (p["2024Q2"] == 1).all()
    again = gi_star_series(counts, communes, permutations=99, seed=3)[1]
    pd.testing.assert_frame_equal(p, again)  # same seed, same p-values
    assert ((p > 0) & (p <= 1)).all().all()


def test_normal_approximation_without_permutations(communes):
    counts = pd.DataFrame({"q": np.random.default_rng(1).poisson(2.0, len(communes))},
                          index=communes.index)
    z, p = gi_star_series(counts, communes, permutations=0)
    np.testing.assert_allclose(p["q"], [_two_sided(v) for v in z["q"]])


def test_one_incident_is_not_a_hot_or_cold_spot_pattern(communes):
    # A quarter with a single incident: esda's p_sim (ties counted as "larger") would
    # call most communes significant; counting ties in both tails, the commune itself
    # has p = 1, and a neighbour with k neighbours draws the incident in k of 95 cases:
    # p = 2 k / 95 exactly, below 0.10 only for the two with at most 4 neighbours.
    counts = pd.DataFrame({"q": 0}, index=communes.index)
    counts.loc["28132", "q"] = 1
    z, p = gi_star_series(counts, communes)
    assert p.attrs["inference"] == {"q": "exact"}
    bins = significance_bins(z, p)["q"]
    assert p.loc["28132", "q"] == 1.0
    graph = Graph.build_contiguity(communes, rook=False, strict=True)
    beside = list(graph["28132"].index)
    k = graph.cardinalities[beside]
    np.testing.assert_allclose(p.loc[beside, "q"], np.minimum(1, 2 * k / 95), rtol=1e-12)
    assert (p.drop(index=[*beside, "28132"])["q"] == 1).all()
    assert (bins < 0).sum() == 0
    assert set(bins.index[bins > 0]) == set(k.index[k <= 4]) and (k <= 4).sum() == 2
    # 999 permutations estimate the same p-values: at most one draw in ten off
    _, sampled = gi_star_series(counts, communes, permutations=999, seed=0,
                                inference="permutation")
    assert sampled.attrs["inference"] == {"q": "permutation"}
    assert (sampled["q"] - p["q"]).abs().max() < 0.05


def test_counts_and_communes_must_match(communes):
    counts = pd.DataFrame({"q": 1}, index=communes.index[:-1])
    with pytest.raises(ValueError, match="differ"):
        gi_star_series(counts, communes)


def test_significance_bins_and_fdr():
    z = pd.DataFrame({"q": [3.0, 2.5, -2.2, 0.3]})
    p = pd.DataFrame({"q": [0.004, 0.06, 0.03, 0.7]})
    assert significance_bins(z, p)["q"].tolist() == [1, 1, -1, 0]
    assert significance_bins(z, p, alpha=0.05)["q"].tolist() == [1, 0, -1, 0]
    # BH on 4 tests: adjusted 0.016, 0.08, 0.06, 0.7
    assert significance_bins(z, p, alpha=0.07, fdr=True)["q"].tolist() == [1, 0, -1, 0]


# -- end to end: a growing cluster on the real polygons ---------------------------------------

PLANTED = ["28132", "28075", "28087"]  # Xã Mỹ Lệ, Xã Tân Trụ, Xã Nhựt Tảo: mutual neighbours
QUARTERS = pd.period_range("2022Q1", periods=12, freq="Q")


@pytest.fixture(scope="module")
def growing_cluster(communes):
    """12 quarters: 0.3 tips per commune-quarter (Poisson), and 3, 4, … 14 in each planted one."""
    rng = np.random.default_rng(4)
    rows = []
    for k, quarter in enumerate(QUARTERS):
        counts = pd.Series(rng.poisson(0.3, len(communes)), index=communes.index)
        counts[PLANTED] = 3 + k
        for code, n in counts.items():
            rows += [(quarter.start_time + pd.Timedelta(days=int(i)), "tip", code, code)
                     for i in range(n)]
    return pd.DataFrame(rows, columns=["date", "type", "new_code", "old_code"])


@pytest.fixture(scope="module")
def classified(growing_cluster, communes):
    counts = period_counts(growing_cluster, communes, start=dt.date(2022, 1, 1),
                           end=dt.date(2024, 12, 31))
    return counts, emerging_hotspots(counts, communes, permutations=999, seed=11)


def test_planted_cluster_is_intensifying_and_elsewhere_mostly_nothing(communes, classified):
    counts, result = classified
    graph = Graph.build_contiguity(communes, rook=False)
    neighbours = {c: set(graph[c].index) for c in PLANTED}
    assert all(set(PLANTED) - {c} <= neighbours[c] for c in PLANTED)
    assert list(counts.columns) == list(QUARTERS)
    assert counts.loc[PLANTED].iloc[:, -1].tolist() == [14, 14, 14]

    planted = result.loc[PLANTED]
    assert planted["category"].tolist() == ["intensifying_hot"] * 3
    assert (planted["n_hot"] >= 11).all() and planted["last_hot"].all()
    assert (planted["trend_z"] > 1.645).all() and (planted["trend_p"] < 0.10).all()
    assert (planted["category_code"] == CATEGORY_CODES["intensifying_hot"]).all()

    near = set().union(*neighbours.values())
    away = result.drop(index=list(near | set(PLANTED)))
    assert len(away) >= 75
    assert (away["category"] == "no_pattern").mean() >= 0.9
    assert result["name"].loc["28132"] == "Xã Mỹ Lệ"


def test_layer_carries_categories_codes_and_scale(growing_cluster, communes, classified):
    _, result = classified
    layer = emerging_layer(growing_cluster, communes, start=dt.date(2022, 1, 1),
                           end=dt.date(2024, 12, 31), permutations=999, seed=11,
                           caveats=[Caveat.SYNTHETIC])
    pd.testing.assert_frame_equal(layer.frame, result)
    assert (layer.value, layer.title_key, layer.legend_key) == (
        "category_code", "layer.emerging.title", "layer.emerging.legend")
    assert layer.params["categories"]["intensifying_hot"] == 3
    assert layer.params["categories"]["no_pattern"] == 0
    assert layer.params["periods"][0] == "2022Q1" and layer.params["periods"][-1] == "2024Q4"
    assert (layer.params["zmin"], layer.params["zmax"]) == (-0.5, 16.5)
    assert layer.params["seed"] == 11 and layer.params["permutations"] == 999
    # counts: every quarter enumerated exactly, so no permutation caveat
    assert layer.params["inference"] == "exact"
    assert layer.params["inference_by_period"] == {str(q): "exact" for q in QUARTERS}
    assert layer.caveats == (Caveat.SYNTHETIC,)


def test_layer_says_when_permutations_or_the_normal_approximation_were_used(growing_cluster,
                                                                             communes):
    span = dict(start=dt.date(2022, 1, 1), end=dt.date(2022, 12, 31), caveats=[Caveat.SYNTHETIC])
    sampled = emerging_layer(growing_cluster, communes, permutations=99, seed=1,
                             inference="permutation", **span)
    assert sampled.params["inference"] == "permutation"
    assert sampled.caveats == (Caveat.SYNTHETIC, Caveat.PERMUTATION_INFERENCE)
    normal = emerging_layer(growing_cluster, communes, permutations=0, fdr=True, **span)
    assert normal.params["inference"] == "normal" and normal.caveats == (Caveat.SYNTHETIC,)
    with pytest.raises(ValueError, match="unknown inference"):
        emerging_layer(growing_cluster, communes, inference="normal", **span)


def test_emerging_classes_do_not_depend_on_the_seed(growing_cluster, communes):
    counts = period_counts(growing_cluster, communes, start=dt.date(2022, 1, 1),
                           end=dt.date(2024, 12, 31))
    first = emerging_hotspots(counts, communes, fdr=True, seed=0)
    assert first.loc[PLANTED, "n_hot"].min() >= 1  # something to lose to a seed
    for seed in range(1, 10):
        pd.testing.assert_frame_equal(emerging_hotspots(counts, communes, fdr=True, seed=seed),
                                      first)


def test_stepped_scale_gives_each_code_its_colour():
    positions = [pos for pos, _ in CATEGORY_SCALE]
    assert positions[0] == 0 and positions[-1] == 1 and positions == sorted(positions)
    for code, name in enumerate(CATEGORIES):  # the middle of each step, zmin −0.5, zmax 16.5
        middle = (code + 0.5) / len(CATEGORIES)
        colour = next(c for (lo, c), (hi, _) in itertools.pairwise(CATEGORY_SCALE)
                      if lo <= middle <= hi)
        assert colour == CATEGORY_COLOURS[name]
    assert CATEGORY_COLOURS["no_pattern"] == NO_PATTERN_COLOUR
    assert all(CATEGORY_COLOURS[f"{p}_hot"] != CATEGORY_COLOURS[f"{p}_cold"]
               for p in ("new", "intensifying", "historical"))
    # a group's categories share its colour (the legend names them together)
    assert CATEGORY_COLOURS["new_hot"] == CATEGORY_COLOURS["consecutive_hot"] == \
        CATEGORY_COLOURS["intensifying_hot"] != CATEGORY_COLOURS["persistent_hot"]
    assert CATEGORY_COLOURS["sporadic_cold"] == CATEGORY_COLOURS["oscillating_cold"]


def test_legend_entries_are_the_groups_present_in_order():
    entries = legend_entries(["historical_hot", "no_pattern", "oscillating_hot", "new_cold",
                              "sporadic_hot", None, "consecutive_hot", "no_pattern"])
    assert [(e["key"], e["categories"]) for e in entries] == [
        ("emerging_hot", ["consecutive_hot"]),
        ("sporadic_hot", ["sporadic_hot", "oscillating_hot"]),
        ("historical_hot", ["historical_hot"]),
        ("emerging_cold", ["new_cold"]),
        ("no_pattern", ["no_pattern"])]
    assert [e["colour"] for e in entries] == [
        GROUP_COLOURS["hot"]["emerging"], GROUP_COLOURS["hot"]["sporadic"],
        GROUP_COLOURS["hot"]["historical"], GROUP_COLOURS["cold"]["emerging"],
        NO_PATTERN_COLOUR]
    assert legend_entries([]) == []
    with pytest.raises(ValueError, match="unknown emerging categories"):
        legend_entries(["lukewarm_hot"])


def test_docstring_examples_run():
    result = doctest.testmod(emerging, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 20 and result.failed == 0


# -- islands, shared neighbours and p-values, Benjamini–Hochberg (issue 16) --------------------

def _grid_with(extra: dict[str, object], n: int = 6) -> gpd.GeoDataFrame:
    cells = {f"c{i:02d}": box(x * 1000, y * 1000, (x + 1) * 1000, (y + 1) * 1000)
             for i, (y, x) in enumerate(itertools.product(range(n), range(n)))}
    cells |= extra
    return gpd.GeoDataFrame({"name": list(cells)}, geometry=list(cells.values()),
                            index=list(cells), crs="EPSG:32648")


def test_an_island_is_never_an_emerging_hot_spot():
    """esda gives a commune without neighbours simulated statistics of 0: p = 0.002 whatever."""
    communes = _grid_with({"island": box(20_000, 20_000, 21_000, 21_000)})
    rng = np.random.default_rng(2)
    quarters = pd.period_range("2022Q1", periods=10, freq="Q")
    counts = pd.DataFrame(rng.poisson(1.0, (len(communes), len(quarters))),
                          index=communes.index, columns=quarters)
    counts.loc["island"] = 5
    z, p = gi_star_series(counts, communes, permutations=999, seed=0)
    assert p.loc["island"].isna().all()
    assert p.drop(index="island").notna().all().all()
    result = emerging_hotspots(counts, communes, permutations=999, seed=0)
    assert result.loc["island", "category"] == "no_pattern"
    assert result.loc["island", ["n_hot", "n_cold"]].tolist() == [0, 0]
    normal = emerging_hotspots(counts, communes, permutations=0, fdr=True)
    assert normal.loc["island", "category"] == "no_pattern"
    layer = emerging_layer(_incidents_of(counts), communes, start=dt.date(2022, 1, 1),
                           end=dt.date(2024, 6, 30), permutations=99)
    assert layer.params["islands"] == ("island",)


def _incidents_of(counts: pd.DataFrame) -> pd.DataFrame:
    rows = [(period.start_time, "tip", code, code)
            for code, row in counts.iterrows() for period, n in row.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["date", "type", "new_code", "old_code"])


def test_emerging_and_hotspots_share_neighbours_and_p_values():
    """A commune whose corners lie on its neighbours' edges (no shared vertex) is no island,
    and a period's Gi* is the Gi* map's: the same z-scores, the same p-values."""
    from layers.hotspots import gi_star

    communes = _grid_with({"shifted": box(500, 6000, 1500, 7000)})
    counts = pd.DataFrame({"2024Q1": np.random.default_rng(3).poisson(2.0, len(communes))},
                          index=communes.index)
    counts.loc[["shifted", "c00", "c01", "c30", "c31"], "2024Q1"] = [9, 8, 7, 6, 8]
    z, p = gi_star_series(counts, communes, permutations=999, seed=5)
    spots = gi_star(counts["2024Q1"], communes, permutations=999, seed=5, alpha_fdr=False)
    assert spots.islands == ()
    np.testing.assert_allclose(z["2024Q1"], spots.frame["Zs"], rtol=1e-12)
    np.testing.assert_array_equal(p["2024Q1"], spots.frame["p_value"])


def test_fdr_bins_keep_what_benjamini_hochberg_keeps():
    """14 p-values of 0.005 among 280 at alpha 0.10: the critical p is 14 × 0.10 / 280."""
    from statsmodels.stats.multitest import multipletests

    p = pd.DataFrame({"q": np.r_[np.full(14, 0.005), np.linspace(0.2, 1.0, 266)]})
    z = pd.DataFrame({"q": np.r_[np.full(14, 2.8), np.zeros(266)] + 0.1})
    bins = significance_bins(z, p, alpha=0.10, fdr=True)["q"]
    assert (bins == 1).sum() == 14
    np.testing.assert_array_equal(bins != 0, multipletests(p["q"], 0.10, method="fdr_bh")[0])
    p.loc[20, "q"] = np.nan  # an island takes no part (n = 279: 14 × 0.10 / 279 > 0.005)
    assert (significance_bins(z, p, alpha=0.10, fdr=True)["q"] == 1).sum() == 14


def test_a_p_value_at_alpha_is_significant_with_or_without_fdr():
    """p <= alpha, as the Gi* map's 90 % class (p <= 0.10) and as Benjamini–Hochberg, whose
    threshold for k = n is alpha itself: FDR never keeps more than no correction."""
    z = pd.DataFrame({"q": [2.0, -2.0, 1.0]})
    p = pd.DataFrame({"q": [0.10, 0.10, 0.10]})
    assert significance_bins(z, p)["q"].tolist() == [1, -1, 1]
    assert significance_bins(z, p, fdr=True)["q"].tolist() == [1, -1, 1]
    assert significance_bins(z, p + 1e-6)["q"].tolist() == [0, 0, 0]


def test_layer_names_what_it_shows_with_or_without_fdr():
    """``about_key``: the message shown with the map (issue 16), which says whether the
    quarters were corrected for the false discovery rate."""
    from dashboard.i18n import translate

    grid = gpd.GeoDataFrame({"name": [f"Xã {i}" for i in range(9)]},
                            geometry=[box(x, y, x + 1, y + 1) for y in range(3) for x in range(3)],
                            index=[f"c{i}" for i in range(9)])
    inc = pd.DataFrame({"date": pd.to_datetime(["2024-02-01"]), "type": ["tip"],
                        "new_code": ["c0"], "old_code": ["c0"]})
    period = dict(start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2024-12-31"))
    plain = emerging.emerging_layer(inc, grid, **period)
    corrected = emerging.emerging_layer(inc, grid, fdr=True, **period)
    assert plain.params["about_key"] == "layer.emerging.about"
    assert corrected.params["about_key"] == "layer.emerging.about_fdr"
    assert "chưa được hiệu chỉnh" in translate(plain.params["about_key"], "vi")
    assert "2–7 trong 96" in translate(plain.params["about_key"], "vi")
    assert "Benjamini–Hochberg" in translate(corrected.params["about_key"], "vi")


def test_mann_kendall_rows_give_mann_kendall_of_each_row_to_the_bit():
    """All communes' trend tests at once: the numbers of mann_kendall row by row, with ties,
    constant rows, short series and a row with a gap."""
    import numpy as np

    from layers.emerging import mann_kendall, mann_kendall_rows

    rng = np.random.default_rng(19)
    for n in (1, 2, 3, 8, 20):
        x = rng.normal(size=(200, n)).round(int(rng.integers(0, 3)))
        x[::7] = 0.0  # constant: S = 0, p = 1
        x[::11, : n // 2] = 1.5  # ties
        x[5, 0] = np.nan
        for got, want in zip(mann_kendall_rows(x), (mann_kendall(r) for r in x), strict=True):
            np.testing.assert_array_equal(np.array(got), np.array(want))
    assert mann_kendall_rows(np.zeros((0, 4))) == []
    with pytest.raises(ValueError, match="2-d"):
        mann_kendall_rows(np.zeros(4))
