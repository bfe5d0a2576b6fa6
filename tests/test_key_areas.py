"""Key-area scores: each piece of evidence adds its points, with its reason."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from layers.key_areas import POINTS, key_area_layer, key_area_scores


def _evidence() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["Mộc Bài", "Xa Mát", "Inland", "Quiet"],
            "gi_class": ["hot_99", "hot_90", "not_significant", "cold_95"],
            "category": ["intensifying_hot", "sporadic_hot", "no_pattern", "persistent_cold"],
            "rate_eb": [30.0, 20.0, 5.0, 1.0],
            "border_km": [1.0, 12.0, 40.0, 60.0],
            "gate_km": [2.0, 9.0, 50.0, 70.0],
            "gate_name": ["Mộc Bài", "Xa Mát", "Mộc Bài", "Xa Mát"],
            "trend": [1, 0, 0, -1],
            "rise": [True, False, False, False],
            "count_now": [30, 8, 2, 0],
            "count_before": [10, 7, 3, 4],
            "count": [120, 40, 10, 1],
        },
        index=["25681", "25489", "27787", "28000"],
    )


def test_points_add_up_with_their_reasons():
    scores = key_area_scores(_evidence())
    moc_bai = scores.loc["25681"]
    keys = [k for k, _ in moc_bai["reasons"]]
    assert keys == ["gi.hot_99", "emerging.intensifying_hot", "rate.top_quarter",
                    "border.within_5", "gate.within_15", "trend.rise_yoy"]
    assert moc_bai["score"] == 3 + 2 + 2 + 2 + 1 + 1 == sum(POINTS[k] for k in keys)
    xa_mat = scores.loc["25489"]
    assert [k for k, _ in xa_mat["reasons"]] == ["gi.hot_90", "emerging.sporadic_hot",
                                                 "rate.above_median", "border.within_15",
                                                 "gate.within_15"]
    assert scores.loc["28000", "score"] == 0 and scores.loc["28000", "reasons"] == []
    assert scores.index.tolist() == ["25681", "25489", "27787", "28000"]
    assert scores["rank"].tolist() == [1, 2, 3, 3]  # Inland and Quiet both score 0
    assert dict(scores.loc["25681", "reasons"])["border.within_5"] == {"km": 1.0}


def test_missing_evidence_contributes_nothing_and_top_keeps_positive_scores():
    ev = _evidence()[["name", "border_km", "count"]]
    scores = key_area_scores(ev, top=3)
    assert scores.index.tolist() == ["25681", "25489"]  # only positive scores
    assert scores["score"].tolist() == [2, 1]
    ev.loc["25681", "border_km"] = np.nan
    assert key_area_scores(ev).loc["25681", "score"] == 0


def test_ties_share_a_rank_and_the_layer_keeps_every_commune():
    ev = _evidence()
    ev["gi_class"] = "hot_95"
    ev[["category", "rate_eb", "border_km", "gate_km", "trend"]] = [None, np.nan, 99, 99, 0]
    ev["rise"] = False
    scores = key_area_scores(ev)
    assert (scores["rank"] == 1).all() and (scores["score"] == 2).all()
    assert scores.index.tolist() == ["25681", "25489", "27787", "28000"]  # then by count
    layer = key_area_layer(_evidence(), unit_set="2025")
    assert layer.frame.index.tolist() == _evidence().index.tolist()
    assert layer.value == "score" and layer.frame.loc["25681", "score"] == 11


def test_tied_rates_earn_no_rate_points():
    """EB falling back to the province rate: every commune ties, none is above the rest."""
    scores = key_area_scores(pd.DataFrame({"name": list("ABCD"), "rate_eb": [0.5] * 4}))
    assert scores["score"].tolist() == [0, 0, 0, 0]
    assert all(reasons == [] for reasons in scores["reasons"])


def test_rate_points_go_to_at_most_a_quarter_and_a_half_of_the_communes():
    """Two points when at most a quarter of the communes have a rate at least as high,
    one when at most half do: communes tied across a cut-off all miss it."""
    ev = pd.DataFrame({"name": list("ABCDEFGH"), "rate_eb": [9, 8, 8, 8, 1, 1, 1, np.nan]},
                      index=list("abcdefgh"))
    scores = key_area_scores(ev).sort_index()
    # 7 known rates: a quarter is 1.75, a half 3.5 communes
    assert scores["score"].tolist() == [2, 0, 0, 0, 0, 0, 0, 0]
    assert scores.loc["a", "reasons"] == [("rate.top_quarter", {"rate": 9.0})]
    ev.loc["h", "rate_eb"] = 0.5  # 8 known: the three tied at 8 are 4 of 8, the top half
    scores = key_area_scores(ev).sort_index()
    assert scores["score"].tolist() == [2, 1, 1, 1, 0, 0, 0, 0]
    five = pd.DataFrame({"name": list("ABCDE"), "rate_eb": [5.0, 4.0, 3.0, 2.0, 1.0]})
    # 5 communes: 1 in the top quarter (1.25), 2 in the top half (2.5)
    assert key_area_scores(five).sort_index()["score"].tolist() == [2, 1, 0, 0, 0]


# -- issue 16: the rise point is a year-over-year rise, corrected across communes -------------

def _tips(spec: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = [(pd.Timestamp(day), "tip", code, code) for (code, day), n in spec.items()
            for _ in range(n)]
    return pd.DataFrame(rows, columns=["date", "type", "new_code", "old_code"])


def test_a_significant_trend_alone_earns_no_point():
    """A +1 trend is not enough: it may be the season (the quarter before) or uncorrected."""
    ev = pd.DataFrame({"name": ["A"], "trend": [1], "count_now": [27], "count_before": [2]},
                      index=["1"])
    assert key_area_scores(ev).loc["1", "score"] == 0


def test_rise_point_only_for_corrected_year_over_year_rises():
    from layers.compare import compare_periods
    from layers.key_areas import change_evidence

    codes = [f"{i:02d}" for i in range(20)]
    communes = pd.DataFrame({"name": codes}, index=codes)
    spec = {(c, "2024-01-05"): 1 for c in codes}  # the records begin in January 2024
    spec |= {(c, "2024-05-01"): 5 for c in codes} | {(c, "2025-05-01"): 5 for c in codes}
    spec |= {(c, "2024-08-01"): 20 for c in codes} | {(c, "2025-08-01"): 20 for c in codes}
    spec[("00", "2025-08-01")] = 60  # 60 against 20 a year before: a rise that survives BH
    spec[("01", "2025-08-01")] = 25  # 25 against 20: p = 0.55, a chance wobble
    spec[("02", "2025-08-01")] = 39  # 39 against 20: p = 0.018 alone, not after BH over 20
    q3 = dict(unit_set="2025", start=dt.date(2025, 7, 1), end=dt.date(2025, 9, 30))
    yoy = compare_periods(_tips(spec), communes, **q3)
    assert yoy.params["fdr_threshold"] < yoy.frame.loc["02", "p_value"] < 0.05
    assert yoy.frame.loc[["00", "01", "02"], "trend"].tolist() == [1, 0, 0]
    scores = key_area_scores(communes.join(change_evidence(yoy)))
    assert scores.loc["00", "reasons"] == [("trend.rise_yoy", {"count": 60, "other": 20})]
    assert (scores.drop(index="00")["score"] == 0).all()
    # the quarter before: every commune "rose" (the season, 20 against 5); none earns the point
    previous = compare_periods(_tips(spec), communes, against="previous", **q3)
    assert (previous.frame["trend"] == 1).all()
    assert (key_area_scores(communes.join(change_evidence(previous)))["score"] == 0).all()
    # the first year of records: no comparison, no point
    first = compare_periods(_tips(spec), communes, unit_set="2025", start=dt.date(2024, 7, 1),
                            end=dt.date(2024, 9, 30))
    assert (first.frame["trend"] == 2).all()
    assert not change_evidence(first)["rise"].any()


# -- issue 16: the Gi* points answer "where is the risk high" --------------------------------

def test_gi_points_come_from_the_rate_map_where_a_commune_has_a_rate():
    """The rate's Gi* class earns the points; the counts' only for a commune without a rate
    (no population); the two never add up."""
    ev = pd.DataFrame({"name": ["Large", "Small", "No population"],
                       "gi_class": ["hot_99", "not_significant", "hot_95"],
                       "gi_rate_class": ["not_significant", "hot_95", None]},
                      index=["1", "2", "3"])
    scores = key_area_scores(ev)
    assert scores.loc["1", "score"] == 0 and scores.loc["1", "reasons"] == []
    assert scores.loc["2", "reasons"] == [("gi_rate.hot_95", {})]
    assert scores.loc["3", "reasons"] == [("gi.hot_95", {})]
    assert scores.sort_index()["score"].tolist() == [0, 2, 2]
    assert POINTS["gi_rate.hot_99"] == POINTS["gi.hot_99"] == 3
    assert key_area_layer(ev, unit_set="2025").params["about_key"] == "layer.key_areas.about"
    assert key_area_layer(ev.drop(columns="gi_rate_class"), unit_set="2022"
                          ).params["about_key"] == "layer.key_areas.about_counts"


def test_tied_rates_earn_no_point_from_the_rate_map_either():
    """Every commune at the province rate (EB's fallback): no rate point, and the Gi* of the
    rate has nothing to test (all equal), so no Gi* point either."""
    import geopandas as gpd
    import shapely

    from layers.hotspots import rate_hotspot_layer
    from layers.layer import Layer

    grid = gpd.GeoDataFrame(
        {"name": [f"Xã {i}" for i in range(36)]},
        geometry=[shapely.box(x, y, x + 1, y + 1) for y in range(6) for x in range(6)],
        index=[f"{i:05d}" for i in range(36)], crs="EPSG:32648")
    rates = Layer(frame=pd.DataFrame({"name": grid["name"], "rate_eb": 0.5}, index=grid.index),
                  value="rate_eb", unit_set="2025", title_key="layer.rates.title",
                  legend_key="layer.rates.legend", units_key="unit.per_10k")
    by_rate = rate_hotspot_layer(rates, grid, seed=1, permutations=99)
    ev = rates.frame.assign(gi_rate_class=by_rate.frame["gi_class"], gi_class="hot_99")
    scores = key_area_scores(ev)
    assert (scores["score"] == 0).all() and all(r == [] for r in scores["reasons"])


def test_reasons_of_the_rate_map_read_in_words():
    from dashboard.i18n import reason_text

    assert reason_text("gi_rate.hot_99", {}, "vi") == "Điểm nóng Gi* theo tỷ lệ trên dân số 99%"
    assert reason_text("gi_rate.hot_90", {}, "en") == "Gi* hot spot of the rate per resident 90%"


def test_scores_are_the_points_of_their_reasons_on_random_evidence():
    """The score, counted on whole columns, is the sum of the points of the reasons written
    out, for every commune of random evidence (missing values, strings that earn nothing,
    ties); the top rows are the same rows, reasons and ranks as in the whole table."""
    rng = np.random.default_rng(23)
    n = 400
    pick = lambda values: [values[i] for i in rng.integers(0, len(values), n)]  # noqa: E731
    classes = ["hot_99", "hot_95", "hot_90", "not_significant", "cold_90", None, np.nan]
    evidence = pd.DataFrame({
        "name": [f"X{i}" for i in range(n)],
        "gi_rate_class": pick(classes),
        "gi_class": pick(classes),
        "category": pick(["new_hot", "persistent_hot", "no_pattern", "oscillating_hot",
                          None]),
        "rate_eb": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 6, n) * 1.5),
        "border_km": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 30, n).round(0)),
        "gate_km": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 30, n).round(0)),
        "gate_name": "Mộc Bài",
        "rise": rng.random(n) < 0.2,
        "count_now": rng.integers(0, 9, n), "count_before": rng.integers(0, 9, n),
        "count": rng.integers(0, 50, n),
    }, index=[f"{i:05d}" for i in range(n)])
    whole = key_area_scores(evidence)
    assert list(whole.columns) == ["name", "score", "reasons", "count", "rank"]
    assert whole["score"].tolist() == [sum(POINTS[k] for k, _ in r) for r in whole["reasons"]]
    assert whole["score"].max() >= 8 and (whole["score"] == 0).any()
    top = key_area_scores(evidence, top=15)
    expected = whole[whole["score"] > 0].head(15)
    pd.testing.assert_frame_equal(top, expected)
    no_rate = key_area_scores(evidence.drop(columns=["gi_rate_class", "rate_eb"]))
    assert no_rate["score"].tolist() == [sum(POINTS[k] for k, _ in r)
                                         for r in no_rate["reasons"]]
