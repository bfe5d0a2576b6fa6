"""The forecast and its track record: metrics by hand, a model that recovers a known intensity,
too little history, the best method shown, and the demo's forecast kept from roles below
commander."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers import forecast as fc
from layers.inference import queen_contiguity

# -- the metrics, by hand ----------------------------------------------------------------------


def test_hit_rate_pai_and_pei_as_published_on_equal_cells():
    """Ten equal cells, 20 incidents: flag the top 10 % (one cell) and the top 20 % (two).

    Ranking c, a, … : at 10 % the flag holds c's 8 of 20 incidents → hit rate 0.4,
    PAI 0.4 / 0.1 = 4; the best single cell (c) also holds 8 → PEI 1. At 20 %: c + a hold
    8 + 1 = 9 → 0.45, PAI 2.25; the best two cells hold 8 + 5 = 13 → PEI 9/13.
    """
    codes = list("abcdefghij")
    actual = pd.Series([1, 5, 8, 0, 2, 0, 0, 3, 1, 0], index=codes)
    score = pd.Series([9, 1, 10, 0, 0, 0, 0, 0, 0, 0], index=codes, dtype=float)
    area = pd.Series(1.0, index=codes)
    m = fc.area_metrics(score, actual, area, shares=(0.1, 0.2))
    assert m.loc[0.1, "hit_rate"] == pytest.approx(8 / 20)
    assert m.loc[0.1, "pai"] == pytest.approx(4.0)
    assert m.loc[0.1, "pei"] == pytest.approx(1.0)
    assert m.loc[0.2, "hits"] == pytest.approx(9)
    assert m.loc[0.2, "pai"] == pytest.approx(9 / 20 / 0.2)
    assert m.loc[0.2, "best_hits"] == pytest.approx(13)
    assert m.loc[0.2, "pei"] == pytest.approx(9 / 13)


def test_unequal_areas_are_flagged_by_area_with_the_crossing_commune_in_part():
    """Area 1, 1, 2, 6 (total 10); 20 % of the area = 2 km²: the densest commune a (1 km²)
    whole, then half of c (2 km², density 1 > b's 0): 4 + 0.5 × 2 = 5 of 10 incidents."""
    area = pd.Series([1.0, 1.0, 2.0, 6.0], index=list("abcd"))
    actual = pd.Series([4, 0, 2, 4], index=list("abcd"))
    flagged = fc.flag_area(actual / area, area, 0.2)
    assert flagged.to_dict() == {"a": 1.0, "b": 0.0, "c": 0.5, "d": 0.0}
    assert float((flagged * area).sum()) == pytest.approx(2.0)
    m = fc.area_metrics(actual / area, actual, area, shares=(0.2,))
    assert m.loc[0.2, "hit_rate"] == pytest.approx(0.5)
    assert m.loc[0.2, "pai"] == pytest.approx(2.5)


def test_ties_share_the_cut_in_proportion_and_bad_areas_are_refused():
    score = pd.Series([1.0, 1.0, 1.0, 0.0], index=list("abcd"))
    area = pd.Series(1.0, index=score.index)
    # three tied communes share 1 of their 3 km²: each a third, in expectation of any order
    assert fc.flag_area(score, area, 0.25).tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0.0])
    with pytest.raises(ValueError, match="positive area"):
        fc.flag_area(score, area.replace(1.0, 0.0), 0.1)
    with pytest.raises(ValueError, match="share"):
        fc.flag_area(score, area, 0.0)
    # a period with no incident has no hit rate (not 0: nothing could be caught)
    empty = fc.area_metrics(score, pd.Series(0, index=score.index), area, shares=(0.5,))
    assert np.isnan(empty.loc[0.5, "hit_rate"]) and np.isnan(empty.loc[0.5, "pai"])


# -- a synthetic province whose true intensity is known ----------------------------------------

#: The generating coefficients (log rate per unit of each raw feature).
TRUE = {"const": -0.6, "year": 0.6, "campaign": 0.5, "border": 1.2}
SIDE, PERIODS = 18, 28


@pytest.fixture(scope="module")
def synthetic():
    """324 square communes, 28 quarters drawn from the model's own form: the count of a
    quarter is Poisson with log rate −0.6 + 0.6·log(1 + mean of the four quarters before)
    + 0.5·campaign + 1.2·border closeness; the first four quarters from the same rate with
    no history."""
    rng = np.random.default_rng(20261201)
    cells = [shapely.box(106 + 0.02 * i, 11 + 0.02 * j, 106.02 + 0.02 * i, 11.02 + 0.02 * j)
             for j in range(SIDE) for i in range(SIDE)]
    codes = [f"{k:05d}" for k in range(len(cells))]
    communes = gpd.GeoDataFrame({"name": codes}, geometry=cells, index=codes, crs=4326)
    static = pd.DataFrame({"border": rng.uniform(0, 1, len(codes))}, index=codes)
    periods = pd.period_range("2019Q1", periods=PERIODS, freq="Q")
    campaign = fc.campaign_share(periods)
    counts = np.zeros((len(codes), PERIODS))
    truth = np.zeros_like(counts)
    for t in range(PERIODS):
        year = counts[:, max(t - 4, 0):t].mean(axis=1) if t >= 4 else np.ones(len(codes))
        truth[:, t] = np.exp(TRUE["const"] + TRUE["year"] * np.log1p(year)
                             + TRUE["campaign"] * campaign[t]
                             + TRUE["border"] * static["border"].to_numpy())
        counts[:, t] = rng.poisson(truth[:, t])
    frame = pd.DataFrame(counts.astype(int), index=codes, columns=periods)
    return {"communes": communes, "static": static, "counts": frame,
            "truth": pd.DataFrame(truth, index=codes, columns=periods),
            "graph": queen_contiguity(communes), "area": fc.unit_areas(communes)}


def test_the_model_recovers_the_generating_coefficients(synthetic):
    fit = fc.fit_forecast(synthetic["counts"], synthetic["static"], synthetic["graph"])
    coef = fit.coefficients
    for name, value in TRUE.items():
        assert coef[name] == pytest.approx(value, abs=0.12), (name, coef.round(3).to_dict())
    # the features that play no part get (almost) nothing
    for name in ("lag1", "lag4", "nb_lag1", "nb_year"):
        assert abs(coef[name]) < 0.12, (name, coef.round(3).to_dict())
    assert fit.dispersion == pytest.approx(1.0, abs=0.1)  # Poisson counts: no overdispersion
    assert str(fit.period) == "2026Q1"


def test_the_backtest_of_the_model_comes_near_the_true_intensity(synthetic):
    """The true intensity's own ranking is the ceiling any forecast can expect; the model,
    trained only on the quarters before each origin, comes within a few points of it and far
    above a ranking by the commune code (no information)."""
    counts, area = synthetic["counts"], synthetic["area"]
    origins = counts.columns[-8:]
    oracle = pd.DataFrame({p: synthetic["truth"][p] / area for p in origins})
    blind = pd.DataFrame({p: pd.Series(np.arange(len(area), 0, -1.0), index=area.index)
                          for p in origins})
    track = fc.backtest(counts, synthetic["static"], synthetic["graph"], area,
                        baselines={"truth": oracle, "blind": blind})
    assert track.origins == tuple(origins)
    model, truth = track.value("model"), track.value("truth")
    assert model == pytest.approx(truth, abs=0.03)
    assert track.value("blind") < 0.5 * model
    # pooled hit rate = all hits over all incidents, PAI = that over the share
    rows = track.per_origin[(track.per_origin["method"] == "model")
                            & (track.per_origin["share"] == 0.1)]
    assert model == pytest.approx(rows["hits"].sum() / rows["incidents"].sum())
    assert track.value("model", metric="pai") == pytest.approx(model / 0.1)
    assert 0 < track.value("model", 0.2, "pei") <= 1
    # the count of the quarter before carries little here (the truth reads a year's mean)
    assert track.lag1_share == pytest.approx(1.0, abs=0.05)


def test_the_best_method_is_shown_when_the_model_does_not_win(synthetic):
    """A baseline that knows the future beats the model: the layer shows it and says so."""
    counts, area = synthetic["counts"], synthetic["area"]
    origins = counts.columns[-2:]
    seer = pd.DataFrame({p: counts[p] / area for p in origins})
    track = fc.backtest(counts, synthetic["static"], synthetic["graph"], area,
                        baselines={"seer": seer}, origins=2)
    assert track.best() == "seer"
    fit = fc.fit_forecast(counts, synthetic["static"], synthetic["graph"])
    nxt = pd.Series(np.arange(len(area), dtype=float), index=area.index)
    layer = fc.forecast_layer(synthetic["communes"].drop(columns="geometry"), unit_set="2025",
                              fit=fit, track=track, area=area, best_scores=nxt)
    assert layer.params["shown"] == "seer"
    assert layer.frame["forecast"].equals(nxt.rename("forecast"))
    # the 10 % of the area flagged: the highest scores, exactly 10 % of the area
    flagged = layer.frame["flagged"]
    assert float((flagged * area).sum()) == pytest.approx(0.1 * area.sum())
    assert flagged[nxt.idxmax()] == 1.0 and flagged[nxt.idxmin()] == 0.0


# -- too little history ------------------------------------------------------------------------


def test_too_little_history_gives_no_forecast_and_says_why(synthetic):
    counts, static, graph = synthetic["counts"], synthetic["static"], synthetic["graph"]
    with pytest.raises(ValueError, match="forecast.too_few_periods"):
        fc.fit_forecast(counts.iloc[:, :7], static, graph)
    few = counts.iloc[:, :10] * 0
    few.iloc[:29, 0] = 1  # 29 incidents in ten quarters
    with pytest.raises(ValueError, match="forecast.too_few_incidents"):
        fc.fit_forecast(few, static, graph)
    # a backtest skips the origins with too short a history, and fails with none left
    track = fc.backtest(counts.iloc[:, :12], static, graph, synthetic["area"])
    assert [str(p) for p in track.origins] == ["2021Q1", "2021Q2", "2021Q3", "2021Q4"]
    assert len(track.skipped) == 4
    with pytest.raises(ValueError, match="forecast.too_few_periods"):
        fc.backtest(counts.iloc[:, :8], static, graph, synthetic["area"])
    layer = fc.forecast_layer(synthetic["communes"].drop(columns="geometry"), unit_set="2025",
                              fit=None, track=None, area=synthetic["area"],
                              problem="forecast.too_few_incidents")
    assert layer.frame["forecast"].isna().all()  # no map of noise
    assert layer.params["problem"] == "forecast.too_few_incidents"


def test_campaign_share_and_the_last_complete_period():
    months = pd.period_range("2025-06", "2025-10", freq="M")
    assert fc.campaign_share(months).tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert str(fc.last_complete_period(dt.date(2025, 9, 30))) == "2025Q3"
    assert str(fc.last_complete_period(dt.date(2025, 11, 2))) == "2025Q3"


# -- the demo: the page's and the report's words, and no release below commander --------------

Q4 = (dt.date(2025, 10, 1), dt.date(2025, 12, 31))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from geo.config import Settings
    from tests.cache import PLAN_CACHE, demo_data

    settings = Settings(data_dir=tmp_path_factory.mktemp("forecast") / "var",
                        cache_dir=PLAN_CACHE)
    demo_data(settings)
    return Analyses(build_context(settings))


@pytest.fixture(scope="module")
def demo_layer(demo):
    from layers.counts import INCIDENT_TYPES

    return demo.layer("forecast", unit_set="2025", types=INCIDENT_TYPES, start=Q4[0], end=Q4[1])


def test_the_demo_forecast_says_its_measured_track_record(demo, demo_layer):
    from dashboard.forecast_text import track_record
    from dashboard.i18n import format_number
    from layers.counts import INCIDENT_TYPES

    track = demo.forecast_track(unit_set="2025", types=INCIDENT_TYPES, end=Q4[1])
    assert [str(p) for p in (track.origins[0], track.origins[-1])] == ["2024Q1", "2025Q4"]
    assert set(track.methods) == {"model", "model_without_lag1", "last_period", "kde", "gi",
                                  "key_areas"}
    p = demo_layer.params
    assert p["period"] == "2026Q1" and p["origins"] == 8
    text = track_record(p, "vi")
    pct = lambda m: format_number(100 * track.value(m), "vi") + " %"  # noqa: E731
    assert text.startswith(f"Trong 8 quý gần nhất, 10 % diện tích được mô hình đánh dấu chứa "
                           f"{pct('model')} số vụ việc")
    assert f"số vụ việc của quý trước {pct('last_period')}" in text
    best = track.best()
    if best == "model":
        assert "Mô hình không kém các cách đơn giản" in text
        assert demo_layer.frame["forecast"].sum() > 0
    else:  # the page says so and shows the best one
        assert "Mô hình không tốt hơn các cách đơn giản" in text
        assert p["shown"] == best
    # the tenth of the area flagged on the map: exactly 10 % of the province's area
    area = fc.unit_areas(demo.ctx.communes["2025"])
    assert float((demo_layer.frame["flagged"] * area).sum()) == pytest.approx(0.1 * area.sum())
    # too little history (8 quarters of cases to the end of 2023: no quarter to check)
    early = demo.layer("forecast", unit_set="2025", types=("trafficking_case",),
                       start=dt.date(2023, 10, 1), end=dt.date(2023, 12, 31))
    assert early.frame["forecast"].isna().all()
    assert track_record(early.params, "vi").startswith("Chưa đủ dữ liệu để dự báo")


def test_the_forecast_is_not_released_below_commander(demo, demo_layer):
    """A forecast is a smooth function of last quarter's exact counts (and of the same
    quarter a year before, and of the neighbours'): no release rule covers it, so the one
    gate refuses it, and the committee's report has no forecast section."""
    from dashboard.released import analyses_for
    from layers.suppression import ReleaseRefused, for_role

    plan = demo.release_plan(wait=600)
    assert plan is not None
    for role in ("viewer", "planner", "admin"):
        with pytest.raises(ReleaseRefused):
            for_role(demo_layer, role, plan=plan)
    viewer = analyses_for(demo, "viewer")
    with pytest.raises(ReleaseRefused):
        viewer.layer("forecast", unit_set="2025", types=("victim",), start=Q4[0], end=Q4[1])


def test_the_commanders_report_carries_the_backtest_table(demo, demo_layer):
    from dashboard.exports.report import report_html
    from dashboard.forecast_text import track_rows
    from dashboard.released import analyses_for

    page = report_html(demo.ctx, demo, start=Q4[0], end=Q4[1], document_date=dt.date(2026, 1, 5))
    section = page[page.index('<section id="s6">'):]
    assert "<h2>6. Dự báo quý tới</h2>" in section
    for row in track_rows(demo_layer.params, "vi"):
        assert "".join(f'<td class="num">{c}</td>' for c in row[1:]) in section, row
    viewer = report_html(demo.ctx, analyses_for(demo, "viewer"), start=Q4[0], end=Q4[1],
                         document_date=dt.date(2026, 1, 5))
    assert 'id="s6"' not in viewer and "Dự báo quý tới" not in viewer


def test_the_page_gets_the_forecast_from_the_background(demo):
    """The page does not wait for a forecast: the first ask starts its build and says it is
    being prepared; the next ones get the built layer, the one :meth:`forecast` returns."""
    import time

    from dashboard.forecast_text import track_record

    ask = dict(unit_set="2025", types=("victim",), end=dt.date(2023, 9, 30))
    assert demo.forecast_ready(**ask) is None
    waiting = demo.forecast_waiting("2025")
    assert waiting.frame["forecast"].isna().all()
    assert track_record(waiting.params, "vi").startswith("Đang tính dự báo")
    deadline = time.monotonic() + 300
    while (ready := demo.forecast_ready(**ask)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ready is demo.forecast(**ask)
    assert ready.params["problem"] == "forecast.too_few_periods"  # 7 quarters of victims
