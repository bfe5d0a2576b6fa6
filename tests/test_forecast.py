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


# -- a monthly forecast whose true intensity is known -----------------------------------------

MONTHLY = {"const": -0.9, "year": 0.7, "campaign": 0.6, "border": 1.0}


@pytest.fixture(scope="module")
def monthly(synthetic):
    """The same 324 communes, 48 months drawn from the model's own monthly form: log rate
    −0.9 + 0.7·log(1 + mean of the 12 months before) + 0.6·campaign (July–September)
    + 1.0·border; the first 12 months from the same rate with no history."""
    rng = np.random.default_rng(20261202)
    codes, static = synthetic["static"].index, synthetic["static"]
    months = pd.period_range("2022-01", periods=48, freq="M")
    campaign = fc.campaign_share(months)
    counts = np.zeros((len(codes), len(months)))
    truth = np.zeros_like(counts)
    for t in range(len(months)):
        year = counts[:, t - 12:t].mean(axis=1) if t >= 12 else np.full(len(codes), 0.5)
        truth[:, t] = np.exp(MONTHLY["const"] + MONTHLY["year"] * np.log1p(year)
                             + MONTHLY["campaign"] * campaign[t]
                             + MONTHLY["border"] * static["border"].to_numpy())
        counts[:, t] = rng.poisson(truth[:, t])
    return (pd.DataFrame(counts.astype(int), index=codes, columns=months),
            pd.DataFrame(truth, index=codes, columns=months))


def test_a_monthly_forecast_recovers_its_intensity_and_needs_two_years(synthetic, monthly):
    counts, truth = monthly
    static, graph, area = synthetic["static"], synthetic["graph"], synthetic["area"]
    fit = fc.fit_forecast(counts, static, graph, freq="M")
    assert str(fit.period) == "2026-01"
    for name, value in MONTHLY.items():
        assert fit.coefficients[name] == pytest.approx(value, abs=0.15), (
            name, fit.coefficients.round(3).to_dict())
    assert fit.n_rows == 324 * 36  # a row needs the 12 months before it
    # 8 monthly origins, each fitted on the months before it only, near the true ranking
    origins = counts.columns[-8:]
    oracle = pd.DataFrame({p: truth[p] / area for p in origins})
    track = fc.backtest(counts, static, graph, area, freq="M", baselines={"truth": oracle})
    assert [str(p) for p in track.origins] == [f"2025-{m:02d}" for m in range(5, 13)]
    assert track.value("model") == pytest.approx(track.value("truth"), abs=0.04)
    assert track.value("model") > track.value("last_period")
    # two seasons of months at least: 23 months are too few (8 would do for quarters)
    assert fc.min_periods_for("M") == 24
    with pytest.raises(ValueError, match="forecast.too_few_periods"):
        fc.fit_forecast(counts.iloc[:, :23], static, graph, freq="M")
    with pytest.raises(ValueError, match="freq"):
        fc.min_periods_for("W")
    # a 30-month history checks only the origins with 24 months before them
    short = fc.backtest(counts.iloc[:, :30], static, graph, area, freq="M")
    assert [str(p) for p in short.origins] == [f"2024-{m:02d}" for m in range(1, 7)]
    assert len(short.skipped) == 2


# -- the 2 km grid -----------------------------------------------------------------------------


def _grid(rate: float, side: int = 20, periods: int = 16, seed: int = 7):
    """A square grid of ``side``² cells and quarters whose true intensity is stable: a
    closeness to a west border and six smooth hot spots the features cannot see, scaled to a
    mean of ``rate`` incidents per cell and quarter."""
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(side * side), side)
    cells = pd.DataFrame({"row": r, "col": c})
    border = np.exp(-c * 2 / fc.CLOSENESS_KM)
    field = np.zeros(len(r))
    for _ in range(6):
        cr, cc = rng.uniform(0, side, 2)
        field += 1.5 * np.exp(-((r - cr) ** 2 + (c - cc) ** 2) / (2 * 2.0 ** 2))
    log_rate = border + field
    log_rate -= np.log(np.exp(log_rate).mean())
    quarters = pd.period_range("2022Q1", periods=periods, freq="Q")
    truth = np.exp(np.log(rate) + log_rate)[:, None] * np.ones(periods)
    counts = pd.DataFrame(rng.poisson(truth), index=cells.index, columns=quarters)
    return (cells, pd.DataFrame({"border": border}, index=cells.index), counts,
            pd.DataFrame(truth, index=cells.index, columns=quarters))


def test_grid_cells_are_counted_from_the_points_and_their_neighbours_are_the_queens():
    from layers.density import kernel_density

    outline = gpd.GeoSeries([shapely.box(106.0, 11.2, 106.1, 11.3)], crs=4326)
    empty = pd.DataFrame({"date": pd.to_datetime([]), "type": [], "new_code": [],
                          "old_code": [], "lat": [], "lon": []})
    cells = kernel_density(empty, outline, cell_km=2.0).cells
    centres = cells.geometry.to_crs(32648).centroid.to_crs(4326)
    pick = [0, 0, 7, len(cells) - 1]
    inc = pd.DataFrame({"date": pd.to_datetime(["2024-01-03", "2024-03-31", "2024-05-01",
                                                "2024-12-31", "2024-06-01", "2023-12-31"]),
                        "type": ["tip"] * 6, "new_code": None,
                        "lat": [*centres.y.iloc[pick], np.nan, 11.25],
                        "lon": [*centres.x.iloc[pick], np.nan, 106.05]})
    counts = fc.grid_counts(inc, cells, cell_km=2.0, start=dt.date(2024, 1, 1),
                            end=dt.date(2024, 12, 31))
    assert [str(p) for p in counts.columns] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert counts.loc[0, counts.columns[0]] == 2  # two points in cell 0 in the first quarter
    assert counts.loc[7, counts.columns[1]] == 1
    assert counts.loc[len(cells) - 1, counts.columns[3]] == 1
    assert int(counts.to_numpy().sum()) == 4  # the unlocated one and the 2023 one are not
    monthly = fc.grid_counts(inc, cells, cell_km=2.0, freq="M", start=dt.date(2024, 1, 1),
                             end=dt.date(2024, 12, 31))
    assert monthly.shape == (len(cells), 12) and int(monthly.to_numpy().sum()) == 4
    with pytest.raises(ValueError, match="freq"):
        fc.grid_counts(inc, cells, cell_km=2.0, freq="W")
    # queen contiguity: an inner cell has 8 neighbours, a corner of the box 3
    graph = fc.grid_contiguity(cells)
    degree = graph.cardinalities
    assert degree.max() == 8 and degree.min() == 3
    assert fc.grid_areas(cells, 2.0).eq(4.0).all()
    # last year's density per cell reads only the four quarters before each period
    kde = fc.grid_kde_scores(inc, outline, counts.columns[[0, 3]], cell_km=2.0)
    assert kde[counts.columns[0]].sum() * 4.0 == pytest.approx(1.0)  # the 2023 record
    # before 2024Q4: 2023Q4 … 2024Q3, four records (not the one of 31/12/2024)
    assert kde[counts.columns[3]].sum() * 4.0 == pytest.approx(4.0)


def test_the_grid_forecast_is_refused_below_the_cell_rate_and_recovers_above_it():
    """Where the true intensity is known: at 0.5 incidents per cell and quarter the model's
    backtest catches about what the true intensity catches, far more than last quarter's
    counts; at 0.02 per cell the counts are noise and the history rule refuses the grid."""
    cells, static, counts, truth = _grid(0.5)
    graph, area = fc.grid_contiguity(cells), fc.grid_areas(cells, 2.0)
    origins = counts.columns[-8:]
    track = fc.backtest(counts, static, graph, area, min_rate=fc.MIN_CELL_RATE,
                        baselines={"truth": pd.DataFrame({p: truth[p] for p in origins})})
    assert track.origins == tuple(origins)
    assert track.value("model") == pytest.approx(track.value("truth"), abs=0.03)
    assert track.value("model") > track.value("last_period") + 0.03
    sparse = _grid(0.02)[2]
    assert fc.history_problem(sparse, min_rate=fc.MIN_CELL_RATE) == "forecast.too_sparse"
    assert fc.history_problem(counts, min_rate=fc.MIN_CELL_RATE) is None
    with pytest.raises(ValueError, match="forecast.too_sparse"):
        fc.fit_forecast(sparse, static, graph, min_rate=fc.MIN_CELL_RATE)


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
