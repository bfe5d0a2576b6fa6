"""The pages' memoised analyses: plans from the data folder, key areas, caching per revision."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.analysis import Analyses
from dashboard.context import build_context
from layers.targets import PLANS_DIR, PlanError
from tests.cache import PLAN_CACHE, demo_data


@pytest.fixture(scope="module")
def analyses(tmp_path_factory):
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("an") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    return Analyses(build_context(settings))


def test_user_plan_files_add_to_and_replace_the_bundled_ones(analyses):
    ids = {p.id for p in analyses.plans()}
    assert {"tay_ninh_2024", "national_programme_2016_2020"} <= ids
    user = analyses.ctx.settings.data_dir / "plans"
    user.mkdir()
    text = (PLANS_DIR / "tay_ninh_2024.yaml").read_text(encoding="utf-8")
    (user / "tay_ninh_2025.yaml").write_text(
        text.replace("id: tay_ninh_2024", "id: tay_ninh_2025"), encoding="utf-8")
    assert {p.id for p in analyses.plans()} == ids | {"tay_ninh_2025"}
    (user / "broken.yaml").write_text("id: x\nindicators: 3\n", encoding="utf-8")
    with pytest.raises(PlanError, match="broken.yaml"):
        analyses.plans()
    (user / "broken.yaml").unlink()


def test_kpis_and_key_areas_are_computed_once_per_revision(analyses):
    start, end = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
    keys = analyses.key_area_codes(start=start, end=end)
    assert keys and all(len(k) == 5 for k in keys)
    now, trend = analyses.kpis(start=start, end=end)
    assert set(now["status"]) <= {"met", "on_track", "behind", "no_data"}
    assert len(trend) == 4 * len(now)  # four quarters per indicator
    again, _ = analyses.kpis(start=start, end=end)
    assert again is now  # served from memory while the store has not changed


def test_release_plan_of_an_empty_store_publishes_zeros(tmp_path):
    """A new installation (no record yet) still gets a plan: every count 0, nothing hidden,
    so the overview of roles below commander is not stuck on "being prepared"."""
    from geo.config import Settings

    settings = Settings(data_dir=tmp_path / "var")
    an = Analyses(build_context(settings))
    plan = an.release_plan(wait=120)
    assert plan is not None
    year = an.ctx.extracted.year
    assert (plan.first_year, plan.last_year) == (year, year)
    assert int(plan.suppression.table.cells["count"].sum()) == 0
    assert not plan.suppression.suppressed.any()
    assert list(settings.cache_dir.glob("release-plan-*.pickle"))


def test_app_start_builds_the_plan_once_for_every_worker(tmp_path, monkeypatch):
    """create_app starts the plan in the background; a second process (another worker, the
    next start) reads the same plan from the cache instead of solving the table again."""
    from dashboard.app import create_app
    from geo.config import Settings
    import layers.suppression

    settings = Settings(data_dir=tmp_path / "var", cache_dir=tmp_path / "cache")
    demo_data(settings)
    ctx = build_context(settings)
    create_app(settings, ctx)  # precompute=True: the build starts now
    first = Analyses(ctx).release_plan(wait=900)  # waits for the process, then reads it
    assert first is not None
    files = list((tmp_path / "cache").glob("release-plan-*.pickle"))
    assert len(files) == 1

    def no_solving(*args, **kwargs):
        raise AssertionError("the plan was solved again")

    monkeypatch.setattr(layers.suppression, "release_plan", no_solving)
    again = Analyses(ctx).release_plan(wait=60)
    assert again is not None
    assert again.suppression.status.equals(first.suppression.status)
    assert int(first.suppression.suppressed.sum()) > 0  # the demo has small counts to hide


def test_gi_of_the_rate_beside_gi_of_the_counts_and_in_the_key_area_score(analyses):
    """Issue 16: the commander may ask Gi* of the smoothed rate as of the counts, each with or
    without FDR; the key-area score takes its Gi* points from the rate's map."""
    from layers.counts import INCIDENT_TYPES
    from layers.key_areas import key_area_scores

    period = dict(unit_set="2025", types=tuple(INCIDENT_TYPES), start=dt.date(2025, 1, 1),
                  end=dt.date(2025, 12, 31))
    counts = analyses.layer("gi", **period)
    rate = analyses.layer("gi_rate", **period)
    assert counts.title_key == "layer.hotspots.title" and counts.params["source"] == "count"
    assert rate.title_key == "layer.hotspots_rate.title" and rate.params["source"] == "rate_eb"
    assert analyses.layer("gi_rate", **period) is rate  # memoised
    uncorrected = analyses.layer("gi_rate", **period, fdr=False)
    assert uncorrected.title_key == "layer.hotspots_rate_uncorrected.title"
    assert uncorrected.frame["Zs"].equals(rate.frame["Zs"])
    assert analyses.layer("rates", **period, fdr=False) is analyses.layer("rates", **period)
    evidence = analyses.evidence(**period)
    assert evidence["gi_rate_class"].equals(rate.frame["gi_class"])
    scores = key_area_scores(evidence)
    keys = {key for reasons in scores["reasons"] for key, _ in reasons}
    # the counts' hot spots (large communes) earned points before; they do not any more:
    # every 2025 commune has a rate
    assert (counts.frame["gi_bin"] > 0).any()
    assert not any(key.startswith("gi.") for key in keys)
    rate_hot = set(rate.frame.index[rate.frame["gi_bin"] > 0])
    assert {c for c, r in scores["reasons"].items()
            if any(k.startswith("gi_rate.") for k, _ in r)} == rate_hot
    # the former communes have no population: their "rate" Gi* is the counts'
    old = analyses.layer("gi_rate", **{**period, "unit_set": "legacy"})
    assert old.params["source"] == "count" and old.unit_set == "legacy"



@pytest.mark.parametrize("unit_set", ["2025", "legacy"])
def test_ranked_table_beside_the_shares_is_the_sequential_one_to_the_bit(analyses, monkeypatch,
                                                                         unit_set):
    """Issue 18: the commander's ranked key communes and the distance shares of a new filter
    state are computed at once (the shares on a thread of their own). Every statistic of the
    ranking (Gi* of the counts and of the rate with their p-values, the emerging hot spots,
    the change), the evidence, the shares and both tables are those of one computation
    after the other, to the bit."""
    import threading

    import pandas as pd

    from dashboard.pages import commander
    from layers.catalogue import Query
    from layers.key_areas import commune_evidence

    monkeypatch.setattr(analyses.statistics, "kept", lambda key, build, revision: build())
    rated = unit_set == "2025"
    kinds = ("counts", "rates", "gi", "gi_rate", "emerging", "change") if rated else (
        "counts", "gi", "emerging", "change")
    period = dict(unit_set=unit_set, types=("illegal_crossing", "tip"),
                  start=dt.date(2024, 4, 1), end=dt.date(2025, 9, 30))
    query = Query(**period)
    analyses._cache.clear()
    one_by_one = {kind: analyses._layer(kind, query) for kind in kinds}
    expected = commune_evidence(analyses.ctx.unit_table(unit_set),
                                distances=analyses.distances[unit_set], **one_by_one)
    expected_table = commander._ranked_table(expected, "vi")
    shares = analyses.summary(**period)
    expected_summary = commander._summary(shares, "vi")

    analyses._cache.clear()
    threads = set()
    summary = analyses.summary

    def seen(**filters):
        threads.add(threading.current_thread().name.split("_")[0])
        return summary(**filters)

    monkeypatch.setattr(analyses, "summary", seen)
    table, shown = commander._tables(analyses, unit_set, period["types"], period["start"],
                                     period["end"], "vi")
    assert threads == {"shares"}  # the shares were computed on their own thread
    for kind in kinds:
        again = analyses._layer(kind, query)  # from memory: what the callback computed
        assert again is not one_by_one[kind]
        pd.testing.assert_frame_equal(again.frame, one_by_one[kind].frame, check_exact=True)
        assert again.params == one_by_one[kind].params
    assert "p_value" in one_by_one["gi"].frame  # the p-values themselves were compared
    pd.testing.assert_frame_equal(analyses.evidence(**period), expected, check_exact=True)
    again = summary(**period)
    assert again is not shares
    for name in ("bands", "catchments"):
        pd.testing.assert_frame_equal(again[name], shares[name], check_exact=True)
    assert _json(table) == _json(expected_table) and "ranked-row" in _json(table)
    assert _json(shown) == _json(expected_summary)


def _json(component) -> str:
    """A Dash component (or a list of them) as the page receives it."""
    import json

    import plotly

    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder)


def test_statistics_are_prepared_ahead_and_costly_results_wait_for_them(analyses,
                                                                         monkeypatch):
    """Issue 18: once the app is built, a background thread imports esda and builds the
    contiguity and draws of the 2025 communes; a costly result asked meanwhile
    waits for it (two threads importing libpysal at once fail), a cheap one does not."""
    import threading

    import layers.inference as inference
    from layers.inference import _Kept

    for name in ("_GRAPHS", "_SELF_WEIGHTED", "_DRAWS"):
        monkeypatch.setattr(inference, name, _Kept(8))
    started, go_on, order = threading.Event(), threading.Event(), []
    prepare = inference.prepare_gi_star

    def slow(communes, **kw):
        order.append(len(communes))
        started.set()
        go_on.wait(10)
        return prepare(communes, **kw)

    monkeypatch.setattr("dashboard.analysis.prepare_gi_star", slow)
    thread = analyses.prepare_statistics()
    started.wait(10)
    period = dict(unit_set="2025", types=("tip",), start=dt.date(2025, 1, 1),
                  end=dt.date(2025, 3, 31))
    analyses.layer("counts", **period)  # not a costly statistic: answered meanwhile
    asked = threading.Thread(target=lambda: analyses.layer("gi", **period))
    asked.start()
    asked.join(0.5)
    assert asked.is_alive() and not analyses._prepared.is_set()  # the Gi* waits
    go_on.set()
    thread.join(60)
    asked.join(60)
    assert analyses._prepared.is_set() and not asked.is_alive()
    new = len(analyses.ctx.communes["2025"])
    assert order == [new]  # the 2025 communes only
    graph = inference.queen_contiguity(analyses.ctx.communes["2025"])
    size = int(graph.cardinalities.max())
    assert (new, size, analyses.gi_permutations, analyses.seed) in inference._DRAWS._items
