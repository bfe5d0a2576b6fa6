"""What each role gets from the analyses (dashboard/released.py): the commander the figures
as computed; the planner and the committee the released ones, on the pages and in the
quarterly report, with nothing small left to read or to subtract."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.analysis import Analyses
from dashboard.context import build_context
from dashboard.i18n import translate
from dashboard.released import NotReady, Released, analyses_for, period_note
from geo.config import Settings
from geo.units import NEW
from layers.counts import INCIDENT_TYPES
from tests.cache import PLAN_CACHE, demo_data

Q3 = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
_INCIDENT_MEASURES = {"cases_cleared_rate", "prosecuted_tried_rate", "prosecution_rate",
                      "reports_handled_rate"}


_COMMUNES_DO_NOT_MEET = ("records whose former and 2025 communes do not meet: "
                         "[('25699', '25489')]")


def _cannot_protect(*args):
    """A release build that fails (module-level: the release's process runs it by name)."""
    raise RuntimeError("cannot protect 3 small counts: nothing left to hide")


def _communes_do_not_meet(*args):
    raise ValueError(_COMMUNES_DO_NOT_MEET)


@pytest.fixture(scope="module")
def an(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("released") / "var",
                        cache_dir=PLAN_CACHE)
    demo_data(settings)
    analyses = Analyses(build_context(settings))
    assert analyses.release_plan(wait=600) is not None
    yield analyses
    # the reports asked with forecast_wait=0 still queued a forecast: its process must not
    # outlive this module (the next module of this test process counts its children)
    analyses.forecasts.close()
    analyses.releases.close()


@pytest.fixture(scope="module")
def planner(an) -> Released:
    return analyses_for(an, "planner")


def test_commander_gets_the_analyses_themselves_others_a_released_view(an):
    assert analyses_for(an, "commander") is an
    for role in ("planner", "viewer", "admin", None):
        view = analyses_for(an, role)
        assert isinstance(view, Released) and view.threshold == 5


def test_not_ready_while_the_plan_is_built(an, monkeypatch):
    monkeypatch.setattr(an, "release_plan", lambda wait=0.0: None)
    with pytest.raises(NotReady):
        analyses_for(an, "planner")
    assert analyses_for(an, "commander") is an  # the commander never waits for it


def test_periods_are_rounded_to_the_grid(planner):
    assert period_note(planner, *Q3) is None
    snapped = period_note(planner, dt.date(2025, 7, 1), dt.date(2025, 8, 15))
    assert (snapped.start, snapped.end) == Q3
    nudged = planner.gap_evidence(unit_set=NEW, start=dt.date(2025, 7, 2), end=Q3[1])
    exact = planner.gap_evidence(unit_set=NEW, start=Q3[0], end=Q3[1])
    pd.testing.assert_frame_equal(nudged.drop(columns="risk_reasons"),
                                  exact.drop(columns="risk_reasons"))


def test_gap_evidence_keeps_classes_and_drops_the_numbers_drawn_from_counts(an, planner):
    full = an.gap_evidence(unit_set=NEW, start=Q3[0], end=Q3[1])
    shown = planner.gap_evidence(unit_set=NEW, start=Q3[0], end=Q3[1])
    numeric = lambda reasons: [k for r in reasons.dropna() for k, p in r  # noqa: E731
                               if k.startswith(("rate.", "trend.")) and p]
    assert numeric(full["risk_reasons"]), "the commander's reasons carry rates and counts"
    assert not numeric(shown["risk_reasons"])
    assert not {"count", "rate_eb", "count_now", "count_before"} & set(shown.columns)
    classes = ["score", "risk", "coverage", "gap"]
    from layers.gaps import gap_classes

    pd.testing.assert_frame_equal(gap_classes(full)[classes], shown[classes])


def test_case_based_targets_never_show_a_small_count(an, planner):
    now, trend = planner.kpis(start=Q3[0], end=Q3[1])
    full_now, full_trend = an.kpis(start=Q3[0], end=Q3[1])
    both = pd.concat([now, trend], ignore_index=True)
    cases = both[both["measure"].isin(_INCIDENT_MEASURES)]
    assert len(cases) and cases["value_label"].notna().any(), "some are withheld on the demo"
    for row in cases.itertuples():
        if pd.isna(row.value_label):
            if row.status == "no_data":
                continue
            assert row.denominator >= 5 and not 1 <= row.numerator < 5, row
        else:
            assert pd.isna(row.value) and row.status == "withheld"
            assert row.value_label in ("< 5", "x")
        assert not (isinstance(row.detail, str) and row.detail)
    others = now[~now["measure"].isin(_INCIDENT_MEASURES)].reset_index(drop=True)
    same = full_now[~full_now["measure"].isin(_INCIDENT_MEASURES)].reset_index(drop=True)
    pd.testing.assert_series_equal(others["value"], same["value"])  # models, outreach: as is


def test_commander_layers_and_point_data(planner):
    from layers.suppression import PointDataRefused

    gi = planner.layer("gi", unit_set=NEW, types=INCIDENT_TYPES, start=Q3[0], end=Q3[1])
    assert "Zs" not in gi.frame and "gi_class" in gi.frame
    with pytest.raises(PointDataRefused):
        planner.layer("density", unit_set=NEW, types=("victim",), start=Q3[0], end=Q3[1])


def _report_text(an_or_view, ctx) -> str:
    from dashboard.exports.report import report_html

    # forecast_wait=0: no forecast is checked here, and the test run builds none ahead
    # (the commander's report would wait its full minute for one)
    page = report_html(ctx, an_or_view, start=Q3[0], end=Q3[1], unit_set=NEW, lang="vi",
                       document_date=dt.date(2026, 1, 5), forecast_wait=0)
    page = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&lt;", "<")


def test_committee_report_shows_released_figures_only(an):
    viewer = analyses_for(an, "viewer")
    text = _report_text(viewer, an.ctx)
    assert "Số từ 1 đến 4 được ẩn" in text
    assert "Tổng cộng" not in text and "Kỳ này" in text
    # each type's province total: the commander's number where the plan publishes it,
    # its label where it does not
    period = viewer.plan.period_label(*Q3)
    for incident_type in INCIDENT_TYPES:
        cell = viewer.plan.province(period, incident_type)
        expected = (f"{int(cell['count']):,}".replace(",", ".") if cell["status"] == "published"
                    else cell["label"])
        label = translate(f"type.{incident_type}", "vi")
        assert re.search(re.escape(label) + r" " + re.escape(expected) + r" ", text), \
            (incident_type, expected)
    # reasons come without rates or counts; the case-based targets are withheld or large
    assert "/10.000 dân" not in text
    commander = _report_text(an, an.ctx)
    assert "Tổng cộng" in commander and "/10.000 dân" in commander


def test_planner_page_through_the_server(tmp_path_factory, an):
    """The planner's map callback, signed in as a planner: no rate or count in the reasons,
    case-based targets withheld where small; the same callback for the commander has them."""
    from dashboard.app import create_app
    from dashboard.auth.accounts import Accounts
    from tests.test_auth import _call, _key, _signed_in

    settings = an.ctx.settings
    accounts = Accounts(tmp_path_factory.mktemp("released-accounts") / "accounts.sqlite")
    accounts.ensure_demo_users()
    app = create_app(settings, an.ctx, accounts)
    key = _key(app, "plan-map.figure", "plan-table.children")
    values = {"plan-layer.value": "gaps", "plan-period.start_date": "2025-07-01",
              "plan-period.end_date": "2025-08-20", "plan-units.value": NEW,
              "plan-model-types.value": ["intensive"], "page-lang.data": "vi"}

    def answer(role: str) -> str:
        for _ in range(60):
            reply = _call(app, _signed_in(app, role), key, values)
            assert reply.status_code == 200
            text = json.dumps(reply.get_json(), ensure_ascii=False)
            if "Đang chuẩn bị" not in text:
                return text
            time.sleep(3)
        raise AssertionError("the release was never ready")

    planner_text, commander_text = answer("planner"), answer("commander")
    assert "/10.000 dân" in commander_text and "/10.000 dân" not in planner_text
    assert "làm tròn theo quý" in planner_text  # 01/07–20/08 became the third quarter
    assert "01/07/2025 – 30/09/2025" in planner_text
    assert "Không công bố (số nhỏ)" in planner_text and "Không công bố" not in commander_text


def test_a_release_that_cannot_be_built_is_said_not_awaited(an, tmp_path):
    """If the plan cannot be built (here: the solver fails), roles below commander see no
    count and a message naming the cause, and the pages stop asking again; the commander
    is not affected."""
    import dataclasses

    from dashboard.released import unavailable_text, waiting

    settings = dataclasses.replace(an.ctx.settings, cache_dir=tmp_path / "cache")
    other = Analyses(dataclasses.replace(an.ctx, settings=settings))
    other.releases.build = _cannot_protect  # what the release's process runs
    assert other.release_plan(wait=600) is None
    with pytest.raises(NotReady) as raised:
        analyses_for(other, "viewer")
    assert "nothing left to hide" in raised.value.failed
    assert "Không lập được số liệu đã bảo mật" in unavailable_text(other, "vi")
    assert not waiting(other, "viewer") and not waiting(other, "commander")
    assert analyses_for(other, "commander") is other
    assert not list((tmp_path / "cache").glob("release-plan-*.pickle"))  # nothing half-built


def test_a_failed_release_shows_readers_a_fixed_sentence_and_logs_the_error(an, tmp_path,
                                                                           caplog):
    """Issue 14: the reader's text says the release failed, in their language, and nothing
    of the error (it names communes and counts); the error goes to the server log."""
    import dataclasses
    import logging

    from dashboard.released import unavailable_text

    error = _COMMUNES_DO_NOT_MEET
    settings = dataclasses.replace(an.ctx.settings, cache_dir=tmp_path / "cache")
    other = Analyses(dataclasses.replace(an.ctx, settings=settings))
    other.releases.build = _communes_do_not_meet  # what the release's process runs
    with caplog.at_level(logging.ERROR, logger="borderwatch"):
        assert other.release_plan(wait=600) is None
    assert other.release_failed()
    for lang in ("vi", "en"):
        text = unavailable_text(other, lang)
        assert text == translate("suppress.failed", lang)
        for leak in ("25699", "25489", "ValueError", "do not meet", "{", "Detail", "Chi tiết"):
            assert leak not in text
    assert unavailable_text(other, "vi").startswith("Không lập được số liệu đã bảo mật")
    assert "server log" in unavailable_text(other, "en")
    assert any(error in (r.exc_text or "") or error in r.getMessage() or
               (r.exc_info and error in str(r.exc_info[1])) for r in caplog.records)


def test_a_store_holding_records_whose_communes_do_not_meet_still_gets_a_plan(tmp_path):
    """Issue 14: a record stored before the importer's check (or written by hand) whose
    former commune (Lợi Thuận, part of Bến Cầu) is not part of its 2025 commune (Tân Lập)
    no longer switches off every figure below commander: the plan is built, and both maps
    are released to a viewer."""
    from geo.ingest import Places, import_file
    from geo.store import open_store
    from geo.units import OLD

    settings = Settings(data_dir=tmp_path / "var", cache_dir=tmp_path / "cache")
    rows = ["record_id,date,type,commune_code"]
    rows += [f"V{i},{d}/0{m}/2025,victim,{c}" for i, (d, m, c) in enumerate(
        [(10, 3, "25699")] * 6 + [(12, 8, "25681")] * 7 + [(15, 8, "25489")] * 2
        + [(20, 8, "25489")])]
    path = tmp_path / "nan_nhan.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = open_store(settings)
    places = Places.load(settings)
    report = import_file(path, "incidents", store, places, source="Công an tỉnh",
                         today=dt.date(2026, 11, 23))
    assert report.accepted == 16
    with store.transaction() as tx:  # as an import before the check would have stored it
        tx.execute("UPDATE incidents SET old_code = ? WHERE record_id = ?", ["25699", "V15"])
    stored = store.read("incidents").set_index("record_id")
    assert stored.loc["V15", ["old_code", "new_code"]].tolist() == ["25699", "25489"]
    store.close()

    other = Analyses(build_context(settings))
    assert other.release_plan(wait=300) is not None, other.release_failed()
    view = analyses_for(other, "viewer")
    for unit_set in (NEW, OLD):
        layer = view.layer("counts", unit_set=unit_set, types=("victim",), start=Q3[0],
                           end=Q3[1])
        full = other.layer("counts", unit_set=unit_set, types=("victim",), start=Q3[0],
                           end=Q3[1]).frame["count"]
        shown = layer.frame["count"]
        assert (shown.dropna() == full[shown.notna()]).all()
        assert (layer.frame.loc[shown.isna(), "count_label"].notna()).all()
    # the stray record is counted in both its communes, and both are small: "< 5"
    assert pd.isna(layer.frame.loc["25699", "count"])  # OLD: 1 (the stray) in Q3


def test_the_trend_is_the_plans_province_cells_below_commander(an, planner):
    """Issue 17: the commander's trend counts every record; the planner's is the plan's
    province cell of each quarter and type, hidden where the plan hides it; no month."""
    from layers.suppression import PUBLISHED, ReleaseRefused

    mine = an.trend(freq="Q")
    assert int(mine["count"].sum()) == len(an.ctx.incidents)
    theirs = planner.trend(freq="Q")
    assert len(theirs) == len(mine) and theirs["label"].notna().any()
    plan = planner.plan
    for row in theirs.itertuples():
        cell = plan.province(row.period, row.type)
        if cell["status"] == PUBLISHED:
            assert row.count == cell["count"] and not isinstance(row.label, str)
        else:
            assert pd.isna(row.count) and row.label == cell["label"]
    with pytest.raises(ReleaseRefused, match="quarter"):
        planner.trend(freq="M")
    theirs.loc[:, "count"] = 0  # a copy: the memoised answer is not changed by its reader
    assert planner.trend(freq="Q")["count"].notna().any()


def test_the_overview_trend_shows_no_count_while_the_release_is_built(an, monkeypatch):
    from dashboard.pages.overview import _trend

    monkeypatch.setattr(an, "release_plan", lambda wait=0.0: None)
    monkeypatch.setattr(an, "release_failed", lambda: None)
    figure, note = _trend(an, "viewer", ["victim"], *Q3, "M", "vi")
    assert not figure.data and note == translate("suppress.preparing", "vi")
    figure, note = _trend(an, "commander", ["victim"], *Q3, "M", "vi")  # never waits
    figure = go.Figure(figure)  # a kept chart comes as its dict (dashboard.figures.trend_chart)
    assert note == "" and sum(figure.data[0].y) == int(
        (an.ctx.incidents["type"] == "victim").sum())


def test_a_released_answer_is_made_once_per_role_and_state(an, monkeypatch):
    """A filter change asks the same released layer from the map, the key figures and the
    table; the users of a role ask the same states: it is released once (kept in the
    analyses' memory per revision, role and state), and each role gets its own."""
    import dashboard.released as released

    calls = []

    def counted(layer, role, **kwargs):
        calls.append(role)
        return real(layer, role, **kwargs)

    real = released.for_role
    monkeypatch.setattr(released, "for_role", counted)
    state = dict(unit_set=NEW, types=("victim",), start=dt.date(2025, 7, 1),
                 end=dt.date(2025, 9, 30))
    viewer, planner = analyses_for(an, "viewer"), analyses_for(an, "planner")
    first = viewer.layer("counts", **state)
    assert analyses_for(an, "viewer").layer("counts", **state) is first  # another request
    assert calls == ["viewer"]
    assert planner.layer("counts", **state) is not first and calls == ["viewer", "planner"]
    # the same answer as released afresh (nothing kept changes what is shown)
    fresh = real(an.layer("counts", **state), "viewer", plan=viewer.plan)
    pd.testing.assert_frame_equal(first.frame, fresh.frame)
    # the indicators and the province's total: once too
    assert viewer.kpis(start=state["start"], end=state["end"]) is \
        viewer.kpis(start=state["start"], end=state["end"])
    assert viewer.province_total(first) == viewer.province_total(first)
