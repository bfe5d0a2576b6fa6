"""Gi* and Local Moran on the 2025 communes: esda's numbers, planted clusters, noise, FDR, layer."""

import math

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from libpysal import graph
from statsmodels.stats.multitest import multipletests

from geo.boundaries import load_communes
from geo.config import Settings
from dashboard.i18n import translate
from layers.counts import incident_counts
from layers.hotspots import (
    DIVERGING_SCALE,
    GI_CLASSES,
    LISA_CLASSES,
    gi_star,
    hotspot_layer,
    local_moran,
    rate_hotspot_layer,
)
from layers.rates import commune_rates
from layers.layer import Caveat, Layer

pytestmark = pytest.mark.filterwarnings(
    "ignore:The alternative hypothesis for conditional randomization:DeprecationWarning",
    "ignore:`row_stack` alias is deprecated",
)

CENTRE = "25459"  # Phường Tân Ninh; the planted cluster grows from it


@pytest.fixture(scope="module")
def communes(tmp_path_factory) -> gpd.GeoDataFrame:
    return load_communes(Settings(data_dir=tmp_path_factory.mktemp("var")), "2025")


@pytest.fixture(scope="module")
def queen(communes) -> graph.Graph:
    return graph.Graph.build_contiguity(communes.geometry, rook=False, strict=True)


def _poisson(communes, lam: float, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.poisson(lam, len(communes)), index=communes.index, dtype=float)


def _planted(communes, queen, seed: int = 0) -> tuple[pd.Series, list[str], list[str]]:
    """Poisson(5) everywhere, Poisson(30) on CENTRE, its neighbours and theirs.

    Returns the values, the core (CENTRE and its neighbours, whose whole
    neighbourhood is planted) and every planted commune.
    """
    core = [CENTRE, *queen[CENTRE].index]
    planted = sorted(set(core) | {n for c in core for n in queen[c].index})
    values = _poisson(communes, 5, seed)
    values[planted] = np.random.default_rng(seed + 1).poisson(30, len(planted))
    return values, core, planted


def _grid(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"Ô {i}" for i in range(n * n)]},
        geometry=[  # 1 km squares
            shapely.box(x * 1000, y * 1000, (x + 1) * 1000, (y + 1) * 1000)
            for y in range(n) for x in range(n)
        ],
        index=[f"{i:05d}" for i in range(n * n)],
        crs="EPSG:32648",
    )


# --- esda's numbers, passed through -------------------------------------------------------


def test_queen_weights_of_the_2025_communes(queen, communes):
    assert list(queen.unique_ids) == list(communes.index)
    assert queen.cardinalities.sum() == 464 and queen.cardinalities.min() == 2
    assert len(queen.isolates) == 0


def test_gi_star_equals_esda_on_the_same_input(communes, queen):
    values = _poisson(communes, 4, seed=11)
    shuffled = values.sample(frac=1, random_state=3)  # order must not matter
    spots = gi_star(shuffled, communes, permutations=999, seed=42, inference="permutation")
    ref = esda.G_Local(values.to_numpy(), queen, transform="B", star=True,
                       permutations=999, seed=42, n_jobs=1)
    frame = spots.frame
    assert list(frame.index) == list(communes.index)
    assert spots.inference == "permutation" and spots.params["p_floor"] == 0.001
    np.testing.assert_allclose(frame["Gs"], ref.Gs, rtol=1e-12)
    np.testing.assert_allclose(frame["Zs"], ref.Zs, rtol=1e-12)
    np.testing.assert_array_equal(frame["p_sim"], ref.p_sim)
    np.testing.assert_allclose(frame["p_norm"], ref.p_norm, rtol=1e-12)
    # counts: exact by default, the same statistics, no permutation drawn (no p_sim)
    exact = gi_star(shuffled, communes)
    assert exact.inference == "exact" and exact.params["inference"] == "exact"
    assert exact.params["p_floor"] is None
    np.testing.assert_allclose(exact.frame["Zs"], ref.Zs, rtol=1e-12)
    assert exact.frame["p_sim"].isna().all()
    # Gi* with binary weights and self-weight 1: (own + neighbours) / total
    centre = values[[CENTRE, *queen[CENTRE].index]].sum() / values.sum()
    assert frame.loc[CENTRE, "Gs"] == pytest.approx(centre)


def test_distance_band_defaults_to_the_smallest_band_giving_everyone_a_neighbour(communes):
    values = _poisson(communes, 4, seed=11)
    spots = gi_star(values, communes, weights="distance", permutations=999, seed=42)
    assert spots.distance_km == pytest.approx(15.8136, abs=1e-4)
    centroids = communes.geometry.to_crs("EPSG:32648").centroid
    band = graph.Graph.build_distance_band(centroids, 15_813.61)
    assert band.cardinalities.min() == 1 and len(band.isolates) == 0
    ref = esda.G_Local(values.to_numpy(), band, transform="B", star=True,
                       permutations=999, seed=42, n_jobs=1)
    np.testing.assert_allclose(spots.frame["Zs"], ref.Zs, rtol=1e-12)
    sampled = gi_star(values, communes, weights="distance", permutations=999, seed=42,
                      inference="permutation")
    np.testing.assert_array_equal(sampled.frame["p_sim"], ref.p_sim)
    wider = gi_star(values, communes, weights="distance", distance_km=25, seed=42)
    assert wider.distance_km == 25


def test_same_seed_same_result_and_numpys_global_generator_untouched(communes):
    values = _poisson(communes, 4, seed=5)
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    first = gi_star(values, communes, seed=9, inference="permutation")
    assert np.random.rand() == expected  # esda reseeds it; we restore it
    pd.testing.assert_frame_equal(
        first.frame, gi_star(values, communes, seed=9, inference="permutation").frame)
    other = gi_star(values, communes, seed=10, inference="permutation")
    assert not first.frame["p_sim"].equals(other.frame["p_sim"])
    # exact inference: no seed at all
    pd.testing.assert_frame_equal(gi_star(values, communes, seed=9).frame,
                                  gi_star(values, communes, seed=10).frame)


def test_threads_running_local_moran_at_once_get_the_serial_result(communes):
    """The server answers in threads (gunicorn gthread): esda seeds NumPy's one global
    generator, so two permutation runs at once must not draw from each other's stream."""
    from concurrent.futures import ThreadPoolExecutor

    values = [_poisson(communes, 4, seed=s) for s in range(6)]
    serial = [local_moran(v, communes, seed=3, alpha_fdr=False).frame for v in values]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda v: local_moran(v, communes, seed=3,
                                                       alpha_fdr=False).frame, values * 2))
    for alone, at_once in zip(serial * 2, together):
        pd.testing.assert_frame_equal(alone, at_once)


# --- planted cluster and random patterns ---------------------------------------------------


def test_planted_cluster_is_a_99_percent_hot_spot_after_fdr(communes, queen):
    """Exact p-values reach far below 1 / (permutations + 1): 99 % after FDR."""
    values, core, planted = _planted(communes, queen)
    spots = gi_star(values, communes)
    frame = spots.frame
    assert spots.inference == "exact"
    assert len(core) == 6 and len(planted) == 15
    assert (frame.loc[core, "gi_class"] == "hot_99").all()
    assert frame.loc[core, "fdr_significant"].all()
    assert (frame.loc[core, "p_value"] <= spots.fdr_thresholds[0.01]).all()
    assert frame.loc[core, "p_value"].max() < 2e-4  # below 2 / 10,000: no permutation floor
    # every hot commune is in or beside the cluster
    beside = set(planted) | {n for c in planted for n in queen[c].index}
    hot = frame.index[frame["fdr_significant"] & (frame["gi_bin"] > 0)]
    assert set(hot) <= beside
    # one cold spot away from it: neighbours 3, 6, 2, 4, 3, 3, lower than six draws from a
    # province that holds the cluster's counts of about 30 (exact p = 0.0113 <= 0.0146)
    cold = frame.index[frame["fdr_significant"] & (frame["gi_bin"] < 0)]
    assert list(cold) == ["27877"] and "27877" not in beside
    assert values[list(queen["27877"].index)].tolist() == [3, 6, 2, 4, 3, 3]
    assert frame["gi_class"].value_counts().to_dict() == {
        "not_significant": 82, "hot_99": 7, "hot_95": 3, "hot_90": 3, "cold_90": 1
    }


def test_fdr_rule_is_benjamini_hochberg_per_confidence_level(communes, queen):
    values, _, _ = _planted(communes, queen)
    corrected = gi_star(values, communes).frame
    raw = gi_star(values, communes, alpha_fdr=False).frame
    p = corrected["p_value"].to_numpy()
    kept = {a: multipletests(p, alpha=a, method="fdr_bh")[0] for a in (0.10, 0.05, 0.01)}
    expected = np.select([kept[0.01], kept[0.05], kept[0.10]], [3, 2, 1], 0)
    np.testing.assert_array_equal(corrected["gi_bin"].abs(), expected)
    np.testing.assert_array_equal(corrected["fdr_significant"], kept[0.10])
    # uncorrected: the plain 0.01 / 0.05 / 0.10 levels, so never fewer significant communes
    np.testing.assert_array_equal(
        raw["gi_bin"].abs(), np.select([p <= 0.01, p <= 0.05, p <= 0.10], [3, 2, 1], 0)
    )
    assert (raw["gi_bin"] != 0).sum() == 21 > (corrected["gi_bin"] != 0).sum() == 14
    pd.testing.assert_series_equal(raw["fdr_significant"], corrected["fdr_significant"])


def test_random_patterns_give_almost_no_fdr_significant_spot(communes):
    """iid Poisson(5), five seeds: at most 2 FDR-significant communes per map.

    With no pattern, Benjamini–Hochberg at 10 % makes any discovery in at most
    about 10 % of the maps, and Gi* neighbourhoods overlap, so a false
    discovery comes with a neighbour or two. Over 200 such maps (seeds
    1000–1199, 999 permutations) 198 had none and 2 had two.
    """
    for seed in range(5):
        frame = gi_star(_poisson(communes, 5, 100 + seed), communes, seed=seed).frame
        assert frame["fdr_significant"].sum() <= 2
        assert (frame["gi_class"] != "not_significant").sum() <= 2
        assert 5 <= (frame["p_value"] <= 0.10).sum() <= 16  # uncorrected: ~10 % of 96


def test_a_zero_among_zeros_is_no_cold_spot(communes):
    """esda's p_sim counts ties against the low tail: zeros next to zeros look 99.9 % cold."""
    values = _poisson(communes, 0.5, seed=7)
    spots = gi_star(values, communes, seed=7, alpha_fdr=False, inference="permutation")
    frame = spots.frame
    zero_among_zeros = frame.index[frame["Gs"] == 0]
    assert len(zero_among_zeros) == 5
    np.testing.assert_allclose(frame.loc[zero_among_zeros, "p_sim"], 0.001)  # esda's directed p
    assert (frame.loc[zero_among_zeros, "p_value"] > 0.25).all()  # ties counted: no evidence
    assert ((frame["p_sim"] <= 0.05) & (frame["Zs"] < 0)).sum() == 8
    assert frame["gi_class"].str.startswith("cold").sum() == 0
    exact = gi_star(values, communes, alpha_fdr=False).frame  # the same tie rule, exact
    assert (exact.loc[zero_among_zeros, "p_value"] > 0.2).all()
    assert exact["gi_class"].str.startswith("cold").sum() == 0


def test_local_moran_labels_the_planted_cluster_high_high(communes, queen):
    values, core, planted = _planted(communes, queen)
    lisa = local_moran(values, communes, permutations=9_999, seed=0)
    frame = lisa.frame
    assert (frame.loc[core, "lisa_class"] == "high-high").all()
    assert (frame.loc[core, "q"] == 1).all()
    assert set(frame["lisa_class"]) <= set(LISA_CLASSES.values())
    high_high = frame.index[frame["lisa_class"] == "high-high"]
    assert set(high_high) <= set(planted) and len(high_high) == 10
    assert (frame.loc[high_high, "p_value"] <= lisa.fdr_thresholds[0.05]).all()
    ref = esda.Moran_Local(values.to_numpy(), queen, transformation="r",
                           permutations=9_999, seed=0, n_jobs=1)
    np.testing.assert_allclose(frame["Is"], ref.Is, rtol=1e-12)
    np.testing.assert_array_equal(frame["p_sim"], ref.p_sim)


def test_local_moran_without_fdr_uses_the_plain_level(communes, queen):
    values, core, _ = _planted(communes, queen)
    frame = local_moran(values, communes, seed=0, alpha=0.05, alpha_fdr=False).frame
    significant = frame["lisa_class"] != "not_significant"
    np.testing.assert_array_equal(significant, frame["p_value"] <= 0.05)
    assert (frame.loc[core, "lisa_class"] == "high-high").all()


def test_fdr_keeps_the_communes_at_the_critical_p_value(monkeypatch):
    """14 p-values of 0.005 among 280 at 10 %: 14 × 0.10 / 280 = 0.005, so BH keeps all 14
    (esda.fdr compares with "<" and kept none)."""
    import layers.hotspots

    grid = gpd.GeoDataFrame(
        {"name": [f"Ô {i}" for i in range(280)]},
        geometry=[shapely.box(x * 1000, y * 1000, (x + 1) * 1000, (y + 1) * 1000)
                  for y in range(14) for x in range(20)],
        index=[f"{i:05d}" for i in range(280)], crs="EPSG:32648",
    )
    p = np.r_[np.full(14, 0.005), np.linspace(0.2, 1.0, 266)]
    real_test = layers.hotspots.gi_star_test

    def planted(values, graph, **kwargs):
        return real_test(values, graph, **kwargs)._replace(
            p_value=p.copy(), direction=np.ones(len(p), dtype=int))

    monkeypatch.setattr(layers.hotspots, "gi_star_test", planted)
    values = pd.Series(np.arange(280) % 3, index=grid.index, dtype=float)
    values.iloc[:14] = 10.0  # the 14 given p = 0.005: high, among high neighbours (Zs > 0)
    spots = gi_star(values, grid)
    assert (spots.frame["Zs"].iloc[:14] > 0).all()
    assert spots.frame["fdr_significant"].sum() == 14
    assert spots.fdr_thresholds[0.10] == pytest.approx(0.005, rel=1e-12)
    assert (spots.frame["gi_class"] == "hot_90").sum() == 14  # 0.005 > 0.05 × 14 / 280
    np.testing.assert_array_equal(spots.frame["fdr_significant"],
                                  multipletests(p, alpha=0.10, method="fdr_bh")[0])


# --- odd places: islands, outliers ---------------------------------------------------------


def test_an_island_is_never_significant():
    """esda gives a commune without neighbours the smallest p_sim, whatever its value."""
    grid = _grid(6)
    island = gpd.GeoDataFrame(
        {"name": ["Cù lao"]}, geometry=[shapely.box(20_000, 20_000, 21_000, 21_000)],
        index=["09999"],
        crs="EPSG:32648",
    )
    communes = pd.concat([grid, island])
    values = pd.Series(np.arange(37, dtype=float) % 5, index=communes.index)
    values["09999"] = 50.0
    spots = gi_star(values, communes, seed=1, alpha_fdr=False, inference="permutation")
    assert spots.islands == ("09999",)
    row = spots.frame.loc["09999"]
    assert row["p_sim"] == pytest.approx(0.001) and np.isnan(row["p_value"])
    assert row["gi_class"] == "not_significant" and not row["fdr_significant"]
    exact = gi_star(values, communes, alpha_fdr=False)
    assert exact.inference == "exact" and exact.islands == ("09999",)
    row = exact.frame.loc["09999"]
    assert np.isnan(row["p_value"]) and row["gi_class"] == "not_significant"
    with pytest.raises(ValueError, match="smallest band giving every commune one is 21.213 km"):
        gi_star(values, communes, weights="distance", distance_km=1.5)


def test_a_high_outlier_among_low_neighbours_is_not_a_hot_spot(communes, queen):
    values = _poisson(communes, 8, seed=3)
    values[CENTRE] = 150.0
    values[list(queen[CENTRE].index)] = 0.0
    spots = gi_star(values, communes, seed=3, alpha_fdr=False)
    row = spots.frame.loc[CENTRE]
    assert row["Zs"] > 2.5  # ArcGIS's z-score would call it a 99 % hot spot …
    # … but its neighbours are lower than chance: 5 zeros drawn from 95 counts of which
    # only 5 (its neighbours, here) are zeros: one draw in C(95, 5)
    assert (values.drop(CENTRE) == 0).sum() == 5 == len(queen[CENTRE])
    assert row["p_value"] == pytest.approx(2 / math.comb(95, 5), rel=1e-9)
    assert spots.direction_conflicts == (CENTRE,)
    assert row["gi_class"] == "not_significant"


# --- bad inputs ----------------------------------------------------------------------------


def test_bad_inputs_are_refused_clearly(communes):
    values = _poisson(communes, 4, seed=1)
    with pytest.raises(ValueError, match="unknown weights 'rook'"):
        gi_star(values, communes, weights="rook")
    with pytest.raises(ValueError, match="unknown alternative"):
        gi_star(values, communes, alternative="greater")
    with pytest.raises(ValueError, match="permutations must be a positive integer"):
        gi_star(values, communes, permutations=0)
    with pytest.raises(ValueError, match="alpha must lie between 0 and 1"):
        local_moran(values, communes, alpha=5)
    with pytest.raises(ValueError, match="distance_km applies to weights='distance' only"):
        gi_star(values, communes, distance_km=10)
    with pytest.raises(ValueError, match="smallest band giving every commune one is 15.814 km"):
        gi_star(values, communes, weights="distance", distance_km=10)
    with pytest.raises(ValueError, match=r"1 communes without a value \['25459'\]"):
        gi_star(values.drop(CENTRE), communes)
    with pytest.raises(ValueError, match=r"1 values of unknown codes \['99999'\]"):
        gi_star(pd.concat([values, pd.Series({"99999": 1.0})]), communes)
    with pytest.raises(ValueError, match="must be indexed by the commune codes"):
        gi_star(values.reset_index(drop=True), communes)
    with pytest.raises(ValueError, match=r"missing or infinite for \['25459'\]"):
        gi_star(values.where(values.index != CENTRE), communes)
    with pytest.raises(ValueError, match="non-negative"):
        gi_star(values - 10, communes)
    with pytest.raises(ValueError, match=r"all values are equal \(0\)"):
        gi_star(values * 0, communes)
    with pytest.raises(ValueError, match="all values are equal"):
        local_moran(values * 0 + 3, communes)


def test_inputs_are_not_changed(communes):
    values = _poisson(communes, 4, seed=1).sample(frac=1, random_state=0)
    kept_values, kept_communes = values.copy(), communes.copy()
    gi_star(values, communes, weights="distance", seed=1)
    local_moran(values, communes, seed=1)
    pd.testing.assert_series_equal(values, kept_values)
    pd.testing.assert_frame_equal(communes, kept_communes)
    assert communes.crs == "EPSG:4326"


# --- the layer -----------------------------------------------------------------------------


def _counts_layer(communes, values: pd.Series) -> Layer:
    codes = np.repeat(values.index.to_numpy(), values.astype(int).to_numpy())
    incidents = pd.DataFrame(
        {"date": pd.Timestamp("2024-05-01"), "type": "tip", "new_code": codes, "old_code": codes}
    )
    return incident_counts(incidents, communes, unit_set="2025", caveats=[Caveat.SYNTHETIC])


def test_hotspot_layer_of_counts(communes, queen):
    values, core, _ = _planted(communes, queen)
    source = _counts_layer(communes, values)
    layer = hotspot_layer(source, communes, permutations=9_999, seed=0)
    frame = layer.frame
    assert layer.value == "gi_bin" and frame["gi_bin"].dtype == float
    assert (frame.loc[core, "gi_bin"] == 3.0).all()
    assert set(frame["gi_bin"]) <= {-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0}
    assert list(frame.columns[:2]) == ["name", "count"]
    assert frame["count"].sum() == values.sum()
    assert (layer.title_key, layer.legend_key) == ("layer.hotspots.title", "layer.hotspots.legend")
    assert layer.caveats == (Caveat.SYNTHETIC,)
    params = layer.params
    assert params["types"] == source.params["types"] and params["source"] == "count"
    assert params["weights"] == "queen" and params["permutations"] == 9_999 and params["seed"] == 0
    assert (params["zmin"], params["zmax"]) == (-3, 3)
    assert [(c["code"], c["class"], c["message_key"]) for c in params["classes"]][:2] == [
        (3, "hot_99", "gi.hot_99"), (2, "hot_95", "gi.hot_95")
    ]
    assert params["classes"][0]["color"] == "#b2182b" and params["classes"][3]["color"] == "#f0f0f0"
    assert params["few_features"] is False and params["n_features"] == 96
    assert params["constant_values"] is False and params["excluded"] == ()
    # counts: exact inference, said in the params, no permutation caveat
    assert params["inference"] == "exact" and params["p_floor"] is None
    assert params["about_key"] == "layer.hotspots.about_counts"
    sampled = hotspot_layer(source, communes, permutations=999, seed=0, inference="permutation")
    assert sampled.params["inference"] == "permutation" and sampled.params["p_floor"] == 0.001
    assert sampled.caveats == (Caveat.SYNTHETIC, Caveat.PERMUTATION_INFERENCE)
    assert translate("caveat.permutation_inference", "vi").startswith("Độ tin cậy được ước lượng")
    assert "random permutations" in translate("caveat.permutation_inference", "en")


def test_fdr_classes_do_not_depend_on_the_seed(communes, queen):
    """The same counts, 10 seeds: the exact classes are identical; 999 permutations move
    some communes across a cut-off."""
    values, _, _ = _planted(communes, queen)
    exact = pd.DataFrame({seed: gi_star(values, communes, seed=seed).frame["gi_class"]
                          for seed in range(10)})
    assert (exact.nunique(axis=1) == 1).all()
    sampled = pd.DataFrame({
        seed: gi_star(values, communes, seed=seed, inference="permutation").frame["gi_class"]
        for seed in range(10)
    })
    assert (sampled.nunique(axis=1) > 1).sum() >= 2


def test_hotspot_layer_skips_communes_without_a_value(communes, queen):
    values, core, _ = _planted(communes, queen)
    source = Layer(
        frame=pd.DataFrame(
            {"name": communes["name"], "rate_eb": values.where(values.index != "25486")}
        ),
        value="rate_eb", unit_set="2025", title_key="layer.rates.title",
        legend_key="layer.rates.legend", units_key="unit.per_10k",
    )
    layer = hotspot_layer(source, communes, permutations=9_999, seed=0)
    assert layer.params["excluded"] == ("25486",)
    assert np.isnan(layer.frame.loc["25486", "gi_bin"])
    assert not layer.frame.loc["25486", "fdr_significant"]
    assert (layer.frame.loc[core, "gi_class"] == "hot_99").all()
    assert layer.params["n_features"] == 95


def test_hotspot_layer_of_no_incident_is_all_not_significant(communes):
    layer = hotspot_layer(_counts_layer(communes, pd.Series(0, index=communes.index)), communes)
    assert layer.params["constant_values"] is True
    assert (layer.frame["gi_bin"] == 0).all() and layer.frame["Zs"].isna().all()
    assert (layer.frame["gi_class"] == "not_significant").all()


def test_hotspot_layer_warns_below_30_communes():
    grid = _grid(5)
    values = pd.Series(np.arange(25) % 4, index=grid.index, dtype=float)
    layer = hotspot_layer(_counts_layer(grid, values), grid, seed=0)
    assert layer.params["few_features"] is True and layer.params["n_features"] == 25


def test_hotspot_layer_refuses_polygons_of_other_communes(communes):
    source = _counts_layer(communes, pd.Series(1, index=communes.index))
    with pytest.raises(ValueError, match="name different communes"):
        hotspot_layer(source, communes.iloc[:-1])


def _lightness(colour: str) -> float:
    """CIE L* of an sRGB colour: what is left of it in grey print."""
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y = linear @ [0.2126, 0.7152, 0.0722]
    return 116 * np.cbrt(y) - 16 if y > 216 / 24389 else 24389 / 27 * y


def test_diverging_scale_is_stepped_and_reads_in_grey():
    stops = [s for s, _ in DIVERGING_SCALE]
    assert stops[0] == 0 and stops[-1] == 1 and stops == sorted(stops)
    colours = [c for _, c in DIVERGING_SCALE[::2]]  # one per class, −3 … +3
    assert len(set(colours)) == 7
    # a class code v sits at (v + 3) / 6 on zmin=-3, zmax=3: inside its own step
    for code, colour in zip(range(-3, 4), colours):
        at = (code + 3) / 6
        steps = zip(DIVERGING_SCALE[::2], DIVERGING_SCALE[1::2])
        band = [c for (lo, c), (hi, _) in steps if lo <= at <= hi]
        assert band[0] == colour
    lightness = [_lightness(c) for c in colours]
    for k in (1, 2, 3):  # lighter towards "not significant", at least 12 L* per step
        assert lightness[3 - k] < lightness[4 - k] - 12
        assert lightness[3 + k] < lightness[2 + k] - 12
    assert [c[1] for c in GI_CLASSES] == [
        "hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99"
    ]


# --- Gi* of the smoothed rate: risk, not size ------------------------------------------------


def _risk_and_size(communes, queen):
    """Small communes at a high rate around CENTRE; populous communes with many incidents at
    the ordinary rate around BIG; every other commune 20,000 residents, Poisson(10)."""
    big = "27787"
    small = [CENTRE, *queen[CENTRE].index]
    large = [big, *queen[big].index]
    assert not set(small) & set(large)
    rng = np.random.default_rng(8)
    people = pd.Series(20_000, index=communes.index)
    counts = pd.Series(rng.poisson(10, len(communes)), index=communes.index)
    people[small], counts[small] = 2_000, rng.poisson(8, len(small))  # ~40 per 10,000
    people[large], counts[large] = 200_000, rng.poisson(100, len(large))  # ~5 per 10,000
    codes = np.repeat(counts.index.to_numpy(), counts.to_numpy())
    incidents = pd.DataFrame({"date": pd.Timestamp("2024-05-01"), "type": "tip",
                              "new_code": codes, "old_code": codes})
    population = pd.DataFrame({"new_code": people.index, "year": 2024,
                               "population": people.to_numpy()})
    return incidents, population, small, large


def test_rate_hot_spots_map_risk_where_count_hot_spots_map_size(communes, queen):
    incidents, population, small, large = _risk_and_size(communes, queen)
    rates = commune_rates(incidents, communes, population, caveats=[Caveat.SYNTHETIC])
    by_rate = rate_hotspot_layer(rates, communes, seed=3)
    by_count = hotspot_layer(incident_counts(incidents, communes, unit_set="2025"), communes)
    hot_rate = set(by_rate.frame.index[by_rate.frame["gi_bin"] > 0])
    hot_count = set(by_count.frame.index[by_count.frame["gi_bin"] > 0])
    assert CENTRE in hot_rate and CENTRE not in hot_count
    assert large[0] in hot_count and not hot_rate & set(large)
    assert hot_rate <= set(small) | {n for c in small for n in queen[c].index}
    # what the layer says it maps, and how it was tested
    assert by_rate.title_key == "layer.hotspots_rate.title"
    assert by_rate.params["source"] == "rate_eb" and by_rate.params["per"] == 10_000
    assert by_rate.params["about_key"] == "layer.hotspots_rate.about"
    assert by_rate.params["inference"] == "permutation" and by_rate.params["seed"] == 3
    assert by_rate.params["permutations"] == 9_999
    assert by_rate.caveats == (Caveat.SYNTHETIC, Caveat.PERMUTATION_INFERENCE)
    assert list(by_rate.frame.columns[:2]) == ["name", "rate_eb"]
    assert by_count.params["inference"] == "exact"
    for lang in ("vi", "en"):
        assert "{period}" not in translate("layer.hotspots_rate.title", lang, period="Q3")
        assert translate("layer.hotspots_rate.about", lang) != translate(
            "layer.hotspots.about_counts", lang)
    assert "tỷ lệ vụ việc trên dân số" in translate("layer.hotspots_rate.title", "vi", period="")
    # the same seed, the same map
    pd.testing.assert_frame_equal(by_rate.frame,
                                  rate_hotspot_layer(rates, communes, seed=3).frame)


@pytest.mark.parametrize("alternative", ["two-sided", "directed"])
def test_rate_hot_spots_are_esdas_permutations_to_the_tie(communes, queen, alternative):
    """The map of rates reads esda's 9,999 permutations without keeping them (issue 18): the
    same p_sim as esda's, the same p_value as permutation_p over esda's simulations, hence
    the same classes, on rates with ties (the sevenths of few incidents; an island too)."""
    from layers.inference import permutation_p

    island = gpd.GeoDataFrame({"name": ["Cù lao"]}, crs=communes.crs,
                              geometry=[shapely.box(*(communes.total_bounds[2:] + 50_000),
                                                    *(communes.total_bounds[2:] + 51_000))],
                              index=["99999"])
    with_island = pd.concat([communes[["name", "geometry"]], island])
    w = graph.Graph.build_contiguity(with_island.geometry, rook=False, strict=True)
    rates = pd.Series(np.random.default_rng(4).poisson(0.8, len(with_island)) / 7,
                      index=with_island.index)
    spots = gi_star(rates, with_island, permutations=9_999, seed=6, alternative=alternative,
                    alpha_fdr=False)
    with np.errstate(divide="ignore", invalid="ignore"):  # the island's moments: 0 / 0
        ref = esda.G_Local(rates.to_numpy(), w, transform="B", star=True,
                           permutations=9_999, seed=6, n_jobs=1)
    islands = np.asarray(with_island.index == "99999")
    p, direction = permutation_p(ref.Gs, ref.rGs, alternative=alternative, islands=islands)
    assert spots.inference == "permutation" and spots.islands == ("99999",)
    np.testing.assert_array_equal(spots.frame["p_sim"], ref.p_sim)
    np.testing.assert_array_equal(spots.frame["p_value"], p)
    ties = np.isclose(ref.rGs, ref.Gs[:, None], rtol=1e-9, atol=1e-12)
    assert ties.sum() > 10_000 and (ties & (ref.rGs != ref.Gs[:, None])).any()
    levels = np.select([p <= 0.01, p <= 0.05, p <= 0.10], [3, 2, 1], 0) * direction
    significant = spots.frame["gi_bin"] != 0
    assert significant.any()
    np.testing.assert_array_equal(spots.frame["gi_bin"][significant], levels[significant])


def test_rate_hot_spots_need_the_smoothed_rate_and_an_explicit_seed(communes):
    counts = _counts_layer(communes, _poisson(communes, 4, seed=1))
    with pytest.raises(ValueError, match="rate_eb"):
        rate_hotspot_layer(counts, communes, seed=0)
    with pytest.raises(TypeError, match="seed"):
        rate_hotspot_layer(counts, communes)



def test_docstring_examples_run():
    import doctest

    import layers.hotspots

    result = doctest.testmod(layers.hotspots, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 25 and result.failed == 0


# --- issue 16: what a map means -------------------------------------------------------------

def test_layer_counts_its_hot_and_cold_spots_with_and_without_fdr(communes, queen):
    """``params["significant"]``: what a page says when the corrected map is all grey."""
    values, _, _ = _planted(communes, queen)
    corrected = hotspot_layer(_counts_layer(communes, values), communes)
    uncorrected = hotspot_layer(_counts_layer(communes, values), communes, alpha_fdr=False)
    for layer, shown in ((corrected, "fdr"), (uncorrected, "uncorrected")):
        bins = layer.frame["gi_bin"]
        assert layer.params["significant"][shown] == {"hot": int((bins > 0).sum()),
                                                      "cold": int((bins < 0).sum())}
    assert corrected.params["significant"] == uncorrected.params["significant"]
    assert corrected.params["significant"]["fdr"]["hot"] >= 7  # the planted core at least
    raw = corrected.params["significant"]["uncorrected"]
    assert raw["hot"] + raw["cold"] > sum(corrected.params["significant"]["fdr"].values())
    # the uncorrected classes say so in their title, the corrected keep theirs
    assert corrected.title_key == "layer.hotspots.title"
    assert uncorrected.title_key == "layer.hotspots_uncorrected.title"
    assert "chưa hiệu chỉnh FDR" in translate(uncorrected.title_key, "vi", period="")
    assert "without FDR" in translate(uncorrected.title_key, "en", period="")


def test_layer_holds_the_p_threshold_of_each_level_beside_each_p_value(communes, queen):
    """The column that explains a small p beside "not significant": the p each level asks,
    FDR-adjusted on the corrected map, the level itself on the uncorrected one; none where
    nothing was tested (an island, a commune without a value, no incident at all)."""
    values = _poisson(communes, 3, seed=5)
    layer = hotspot_layer(_counts_layer(communes, values), communes)
    thresholds = layer.params["fdr_thresholds"]
    frame = layer.frame
    for column, alpha in (("p_threshold_90", 0.10), ("p_threshold_95", 0.05),
                          ("p_threshold_99", 0.01)):
        assert (frame[column] == thresholds[alpha]).all()
        assert thresholds[alpha] <= alpha
    level = ((frame["p_value"] <= frame["p_threshold_90"] * (1 + 1e-9)).astype(int)
             + (frame["p_value"] <= frame["p_threshold_95"] * (1 + 1e-9))
             + (frame["p_value"] <= frame["p_threshold_99"] * (1 + 1e-9)))
    assert (level == frame["gi_bin"].abs()).all()
    raw = hotspot_layer(_counts_layer(communes, values), communes, alpha_fdr=False).frame
    assert set(zip(raw["p_threshold_90"], raw["p_threshold_95"], raw["p_threshold_99"])) == {
        (0.10, 0.05, 0.01)}
    none = hotspot_layer(_counts_layer(communes, pd.Series(0, index=communes.index)), communes)
    assert none.frame[["p_threshold_90", "p_threshold_95", "p_threshold_99"]].isna().all().all()
    assert none.params["significant"] == {}


def test_an_island_gets_no_threshold():
    grid = _grid(6)
    island = gpd.GeoDataFrame({"name": ["Cù lao"]},
                              geometry=[shapely.box(20_000, 20_000, 21_000, 21_000)],
                              index=["09999"], crs="EPSG:32648")
    communes = pd.concat([grid, island])
    values = pd.Series(np.arange(37) % 5, index=communes.index)
    frame = hotspot_layer(_counts_layer(communes, values), communes).frame
    assert np.isnan(frame.loc["09999", "p_threshold_90"])
    assert frame.drop(index="09999")["p_threshold_90"].notna().all()


def test_rate_hot_spots_without_fdr_are_titled_as_such(communes, queen):
    incidents, population, _, _ = _risk_and_size(communes, queen)
    rates = commune_rates(incidents, communes, population)
    layer = rate_hotspot_layer(rates, communes, seed=3, permutations=999, alpha_fdr=False)
    assert layer.title_key == "layer.hotspots_rate_uncorrected.title"
    assert layer.params["about_key"] == "layer.hotspots_rate.about"
    assert (layer.frame["p_threshold_90"] == 0.10).all()
