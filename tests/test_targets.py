"""Plan targets: the file format and its errors, each measure by hand, the status rule,
the plans' own definitions, cohorts of cases that have had time, the baseline year, the
Wilson intervals and the official key-area list."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from statsmodels.stats.proportion import proportion_confint

from layers import targets
from layers.targets import (
    CENSORED,
    MEASURES,
    PLANS_DIR,
    Indicator,
    PlanError,
    TrackingData,
    attach_key_areas,
    compute_indicator,
    load_plan,
    load_plans,
    track,
)

D = dt.date
#: The real plans (never copied into the project): beside the repository, else the team's folder.
SEEDS = next((p for p in (Path(__file__).resolve().parents[2] / "shared" / "seeds",
                          Path("/work/shared/seeds")) if p.is_dir()),
             Path(__file__).resolve().parents[2] / "shared" / "seeds")
COMMUNES = ["10001", "10002", "10003", "10004", "10005"]
KEYS = ["10001", "10002", "10004"]
H1 = ("01/01/2024", "30/06/2024")  # the first half of 2024 (both days included)
Q2 = ("2024-04-01", "2024-06-30")
PLAN_2024 = (D(2024, 1, 1), D(2024, 12, 31))


def _incidents() -> pd.DataFrame:
    rows = [  # date, type, status, commune
        ("2024-01-10", "trafficking_case", "received", "10001"),
        ("2024-02-01", "trafficking_case", "verified", "10001"),
        ("2024-03-01", "trafficking_case", "prosecuted", "10002"),
        ("2024-04-01", "trafficking_case", "tried", "10002"),
        ("2024-05-01", "trafficking_case", "tried", "10003"),
        ("2024-06-15", "trafficking_case", "prosecuted", "10003"),
        ("2024-06-30", "trafficking_case", None, "10004"),  # last day: inside; no status
        ("2023-12-31", "trafficking_case", "prosecuted", "10001"),  # before the period
        ("2024-07-01", "trafficking_case", "tried", "10001"),  # after it
        ("2024-02-02", "illegal_crossing", "verified", "10001"),  # not a case
        ("2024-03-03", "victim", "verified", None),
        ("2024-01-05", "tip", "received", "10001"),
        ("2024-02-05", "tip", "verified", "10002"),
        ("2024-03-05", "tip", "prosecuted", "10002"),
        ("2024-04-05", "tip", None, "10005"),
    ]
    frame = pd.DataFrame(rows, columns=["date", "type", "status", "new_code"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _outreach() -> pd.DataFrame:
    frame = pd.DataFrame({
        "date": pd.to_datetime(["2024-01-15", "2024-02-15", "2024-03-15", "2024-05-15",
                                "2024-08-01"]),
        "format": ["meeting", "school_session", "leaflets", "meeting", "campaign"],
        "participants": pd.array([100, 50, 30, 20, 1000], dtype="Int64"),
        "materials": pd.array([0, 20, None, 5, 10], dtype="Int64"),
        "new_code": ["10004", "10003", "10003", "10005", "10002"],
    })
    return frame


def _models() -> pd.DataFrame:
    rows = [  # type, class, start, end, commune
        ("zalo_group", "intensive", "2023-01-01", None, "10001"),
        ("hotline_keyring", "intensive", "2023-01-01", "2024-03-01", "10002"),  # ended in H1
        ("security_camera", "integrated", "2024-06-30", None, "10003"),  # began on H1's last day
        ("zalo_group", "integrated", "2024-07-01", None, "10004"),  # begins after H1
        ("other", None, "2022-01-01", None, "10005"),  # no class
        ("cultural_boarding_house", "integrated", "2020-01-01", "2024-06-30", "10001"),
    ]
    frame = pd.DataFrame(rows, columns=["model_type", "model_class", "start_date", "end_date",
                                        "new_code"])
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    frame["end_date"] = pd.to_datetime(frame["end_date"])
    return frame


def _population() -> pd.DataFrame:
    rows = [  # commune, year, population, population_14_60
        ("10001", 2023, 990, 590), ("10001", 2024, 1000, 600),
        ("10002", 2024, 700, 400),
        ("10003", 2024, 500, None),  # no 14-60 figure
        ("10004", 2024, 450, 300),
        ("10005", 2024, 150, 100),
    ]
    frame = pd.DataFrame(rows, columns=["new_code", "year", "population", "population_14_60"])
    frame["population_14_60"] = frame["population_14_60"].astype("Int64")
    return frame


@pytest.fixture()
def data() -> TrackingData:
    return TrackingData(incidents=_incidents(), outreach=_outreach(), models=_models(),
                        population=_population(), communes=pd.Index(COMMUNES))


def _indicator(measure: str, **extra) -> Indicator:
    """An indicator; a case measure counts the period's own cases unless ``extra`` says."""
    spec = {"id": "x", "label_vi": "x", "label_en": "x", "measure": measure, "target": 50,
            "direction": "at_least",
            "source_ref": {"document": "test", "section": "test", "quote": "test"}}
    if measure in CENSORED:
        spec["cohort_lag_months"] = 0
    return Indicator.model_validate({**spec, **extra})


def _unlagged(plan):
    """The plan with every case measure counting the period's own cases."""
    return plan.model_copy(update={"indicators": tuple(
        i.model_copy(update={"cohort_lag_months": 0}) if i.measure in CENSORED else i
        for i in plan.indicators)})


# -- every measure, by hand ------------------------------------------------------------

# H1 holds 7 trafficking cases: received, verified, prosecuted, tried, tried, prosecuted and
# one without status; 4 tips: received, verified, prosecuted, none. Key areas 10001, 10002,
# 10004; 5 communes.
@pytest.mark.parametrize("measure,period,numerator,denominator", [
    # tried (4/1, 5/1) of those with proceedings opened (3/1, 4/1, 5/1, 6/15): a lower bound
    ("cases_cleared_rate", H1, 2, 4),
    # tried (4/1, 5/1) of prosecuted + tried (3/1, 4/1, 5/1, 6/15)
    ("prosecuted_tried_rate", H1, 2, 4),
    # prosecuted + tried of all 7
    ("prosecution_rate", H1, 4, 7),
    # tips verified or further (2/5, 3/5) of 4
    ("reports_handled_rate", H1, 2, 4),
    # 10001 (model), 10002 (model active until 01/3), 10004 (outreach 15/1) -> 3 of 3
    ("key_areas_covered", H1, 3, 3),
    # in Q2: 10001 only (10002's model ended 01/3, 10004's begins 01/7, no Q2 outreach there)
    ("key_areas_covered", Q2, 1, 3),
    # intensive at 30/6: 10001 (10002's ended 01/3) -> 1 of 3 key communes
    ("key_communes_intensive", H1, 1, 3),
    # integrated at 30/6: 10003 (begins 30/6) and 10001 (ends 30/6) -> 2 of 5
    ("communes_integrated", H1, 2, 5),
    # materials > 0 in H1: 10003 (20 on 15/2), 10005 (5 on 15/5) -> 2 of 5
    ("communes_with_materials", H1, 2, 5),
    # participants where the 2024 14-60 population is known (10003 has none): 100 + 20,
    # over 600 + 400 + 300 + 100
    ("residents_reached", H1, 120, 1400),
])
def test_measure_by_hand(data, measure, period, numerator, denominator):
    v = compute_indicator(_indicator(measure), data, period, key_areas=KEYS)
    assert (v.numerator, v.denominator) == (numerator, denominator)
    assert v.value == pytest.approx(100 * numerator / denominator)
    assert v.reason is None


def test_every_measure_is_tested():
    tested = {"cases_cleared_rate", "prosecuted_tried_rate", "prosecution_rate",
              "reports_handled_rate", "key_areas_covered", "key_communes_intensive",
              "communes_integrated", "communes_with_materials", "residents_reached"}
    assert set(MEASURES) == tested


def test_every_measure_a_plan_may_name_has_its_function():
    # the registry is written out (no lookup by name in globals()): a name a plan file may
    # use (geo.plans.MEASURES) with no function, or a function no plan may name, is a mistake
    from layers.targets.measures import MEASURE_FUNCTIONS

    assert set(MEASURE_FUNCTIONS) == set(MEASURES)
    assert all(f.__name__ == f"_measure_{name}" for name, f in MEASURE_FUNCTIONS.items())


def test_notes_say_what_was_counted_how(data):
    prosecuted = compute_indicator(_indicator("prosecution_rate"), data, H1)
    assert "1 of 7 cases have no status (counted as not prosecuted)" in prosecuted.notes
    reached = compute_indicator(_indicator("residents_reached"), data, H1)
    assert "2 outreach events in communes without a population aged 14-60 left out" in reached.notes
    assert "participants are attendances, not distinct persons" in reached.notes
    materials = compute_indicator(_indicator("communes_with_materials"), data, H1)
    assert materials.notes == ("1 outreach events without a materials figure counted as none",)


def test_residents_capped_and_earlier_population_year(data):
    # 2025: no population of 2025, so 2024's is used; H2 2024 holds 1000 participants in
    # 10002, whose 14-60 population is 400 (the others are counted in the denominator).
    v = compute_indicator(_indicator("residents_reached"), data, ("01/07/2024", "31/12/2024"))
    assert (v.numerator, v.denominator, v.value) == (1000, 1400, pytest.approx(100 * 1000 / 1400))
    small = data.population.assign(population_14_60=pd.array([1, 1, 1, None, 1, 1], "Int64"))
    capped = compute_indicator(_indicator("residents_reached"),
                               TrackingData(outreach=data.outreach, population=small),
                               ("01/01/2025", "31/12/2025"))
    assert capped.numerator == 0 and capped.value == 0.0  # no outreach in 2025: a true 0
    assert "population aged 14-60 of 2024 used (none recorded for 2025)" in capped.notes
    capped = compute_indicator(_indicator("residents_reached"),
                               TrackingData(outreach=data.outreach, population=small), H1)
    assert (capped.numerator, capped.denominator, capped.value) == (120, 4, 100.0)
    assert "capped at 100 %" in capped.notes


def test_cumulative_counts_from_the_plan_start(data):
    ind = _indicator("communes_with_materials", cumulative=True)
    alone = compute_indicator(ind, data, ("01/07/2024", "31/12/2024"))
    assert (alone.numerator, alone.denominator) == (1, 5)  # 10002 on 01/8
    since = compute_indicator(ind, data, ("01/07/2024", "31/12/2024"), plan_period=PLAN_2024)
    assert (since.numerator, since.denominator) == (3, 5)  # + 10003, 10005 in H1
    assert "counted from the plan start 01/01/2024" in since.notes


def test_data_as_a_mapping_with_a_commune_frame(data):
    frame = pd.DataFrame({"name": list("abcde")}, index=COMMUNES)
    v = compute_indicator(_indicator("communes_integrated"),
                          {"models": data.models, "communes": frame}, H1)
    assert (v.numerator, v.denominator) == (2, 5)
    with pytest.raises(ValueError, match="unknown tables"):
        TrackingData.of({"incident": data.incidents})


def test_unknown_key_area_is_refused(data):
    with pytest.raises(ValueError, match=r"key areas \['99999'\] are not 2025 commune codes"):
        compute_indicator(_indicator("key_areas_covered"), data, H1, key_areas=["99999"])


# -- missing inputs are no_data, never 0 ---------------------------------------------------

@pytest.mark.parametrize("measure,change,reason,detail", [
    ("cases_cleared_rate", {"incidents": None}, "missing_table",
     "the incidents table was not given"),
    ("cases_cleared_rate", {"incidents": lambda d: d.incidents.drop(columns="status")},
     "missing_column", "the incidents table has no column status"),
    ("cases_cleared_rate", {"incidents": lambda d: d.incidents.assign(status=None)},
     "no_status", "no status is recorded for any of the 7 trafficking cases of the period"),
    ("cases_cleared_rate",
     {"incidents": lambda d: d.incidents[~d.incidents.status.isin(["prosecuted", "tried"])]},
     "empty", "no trafficking case of the period had proceedings opened (prosecuted or tried)"),
    ("prosecution_rate",
     {"incidents": lambda d: d.incidents[d.incidents.type != "trafficking_case"]}, "empty",
     "no trafficking cases dated in the period"),
    ("prosecuted_tried_rate",
     {"incidents": lambda d: d.incidents[~d.incidents.status.isin(["prosecuted", "tried"])]},
     "empty", "no trafficking case of the period was prosecuted or tried"),
    ("reports_handled_rate", {"incidents": lambda d: d.incidents.assign(status=None)},
     "no_status", "no status is recorded for any of the 4 tips of the period"),
    ("key_communes_intensive", {"models": lambda d: d.models.assign(model_class=None)},
     "no_model_class", "no model has a model_class (intensive / integrated) recorded"),
    ("communes_integrated", {"communes": None}, "missing_table",
     "the list of communes was not given"),
    ("communes_with_materials", {"outreach": lambda d: d.outreach.assign(materials=None)},
     "no_materials", "none of the 4 outreach events of the period records its materials"),
    ("residents_reached", {"population": lambda d: d.population.drop(columns="population_14_60")},
     "missing_column", "the population table has no column population_14_60"),
    ("residents_reached", {"population": lambda d: d.population.assign(population_14_60=None)},
     "no_population_14_60", "no population aged 14-60 is recorded for 2024 or before"),
    ("key_areas_covered", {"models": None, "outreach": None}, "missing_table",
     "the models table was not given; the outreach table was not given"),
])
def test_missing_input_is_no_data(data, measure, change, reason, detail):
    tables = {name: getattr(data, name) for name in
              ("incidents", "outreach", "models", "population", "communes")}
    for name, how in change.items():
        tables[name] = how(data) if callable(how) else how
    v = compute_indicator(_indicator(measure), TrackingData(**tables), H1, key_areas=KEYS)
    assert (v.status, v.reason, v.detail) == ("no_data", reason, detail)
    assert v.value is None and v.value != 0


def test_no_key_areas_is_no_data(data):
    v = compute_indicator(_indicator("key_areas_covered"), data, H1)
    assert (v.status, v.reason, v.value) == ("no_data", "no_key_areas", None)
    v = compute_indicator(_indicator("key_communes_intensive"), data, H1, key_areas=[])
    assert (v.status, v.reason) == ("no_data", "empty")


def test_one_table_alone_covers_key_areas_with_a_note(data):
    v = compute_indicator(_indicator("key_areas_covered"), TrackingData(outreach=data.outreach),
                          H1, key_areas=KEYS)
    assert (v.numerator, v.denominator) == (1, 3)  # 10004's outreach only
    assert v.notes == ("the models table was not given: outreach alone counted",)


# -- status ----------------------------------------------------------------------------------

def test_met_and_behind(data):
    # cases prosecuted 4/7 = 57.1 %
    assert compute_indicator(_indicator("prosecution_rate", target=55), data, H1).status == "met"
    behind = compute_indicator(_indicator("prosecution_rate", target=90), data, H1,
                               plan_period=PLAN_2024)
    assert (behind.status, behind.expected) == ("behind", 90)  # rates are not prorated
    assert compute_indicator(_indicator("prosecution_rate", target=80, direction="at_most"),
                             data, H1).status == "met"


def test_strict_target_more_than(data):
    # prosecuted cases tried: 2/4 = 50 %; "trên 50 %" is not met by 50 %
    assert compute_indicator(_indicator("prosecuted_tried_rate"), data, H1).status == "met"
    assert compute_indicator(_indicator("prosecuted_tried_rate", strict=True),
                             data, H1).status == "behind"


def test_on_track_by_proration(data):
    # integrated: 2/5 = 40 % at 30/6/2024; target 50 % by 31/12/2024, prorated from 0 on
    # 01/01: 50 × 181 / 365 = 24.79 % expected on 30/6
    ind = _indicator("communes_integrated")
    v = compute_indicator(ind, data, H1, plan_period=PLAN_2024)
    assert v.status == "on_track"
    assert v.expected == pytest.approx(50 * 181 / 365)
    # without the plan period, or once the plan is over, only met / behind
    assert compute_indicator(ind, data, H1).status == "behind"
    late = compute_indicator(ind, data, H1, plan_period=(D(2023, 1, 1), D(2024, 6, 30)))
    assert (late.status, late.expected) == ("behind", 50)
    early = compute_indicator(ind, data, H1, plan_period=(D(2025, 1, 1), D(2025, 12, 31)))
    assert (early.status, early.expected) == ("behind", 50)
    assert early.notes == ("the period lies outside the plan period 01/01/2025-31/12/2025",)
    # from a baseline of 30 %: 30 + 20 × 181 / 365 = 39.92 % expected: still on track
    ind = _indicator("communes_integrated", baseline={"year": 2023, "value": 30})
    based = compute_indicator(ind, data, H1, plan_period=PLAN_2024)
    assert based.expected == pytest.approx(30 + 20 * 181 / 365) and based.status == "on_track"


def test_on_track_by_the_midterm_target(data):
    # materials: 2/5 = 40 % in H1; 100 % due 31/12/2024, 40 % due at mid-term 30/6/2024
    midterm = {"date": "30/06/2024", "target": 40}
    for extra in ({"prorate": False}, {"cumulative": True}):
        ind = _indicator("communes_with_materials", target=100, midterm=midterm, **extra)
        v = compute_indicator(ind, data, H1, plan_period=PLAN_2024)
        assert (v.status, v.expected) == ("on_track", 40)
    # a 50 % mid-term target is not reached
    ind = _indicator("communes_with_materials", target=100, prorate=False,
                     midterm={"date": "30/06/2024", "target": 50})
    assert compute_indicator(ind, data, H1, plan_period=PLAN_2024).status == "behind"
    # after the mid-term date the full target applies when not prorated
    v = compute_indicator(ind, data, ("01/01/2024", "31/07/2024"), plan_period=PLAN_2024)
    assert (v.status, v.expected) == ("behind", 100)


def test_annual_increase_from_a_baseline_value(data):
    # prosecution rate 4/7 = 57.1 %; base 50 % in 2021, +2 a year -> 56 % due in 2024
    ind = _indicator("prosecution_rate", target=None, annual_increase=2,
                     baseline={"year": 2021, "value": 50})
    v = compute_indicator(ind, data, H1)
    assert (v.target, v.status) == (56, "met")
    ind = _indicator("prosecution_rate", target=None, annual_increase=2,
                     baseline={"year": 2021, "value": 52})
    assert compute_indicator(ind, data, H1).target == 58
    assert compute_indicator(ind, data, H1).status == "behind"


# -- tracking a plan -----------------------------------------------------------------------

def test_track_rows_trend_and_key_areas_from_the_caller(data):
    plan = _unlagged(load_plan(PLANS_DIR / "tay_ninh_2024.yaml"))
    table = track(plan, data, [Q2, ("01/01/2024", "31/03/2024")], key_areas=KEYS)
    assert len(table) == len(plan.indicators) * 2
    assert list(table.columns[:7]) == ["plan", "indicator", "label_vi", "label_en", "measure",
                                       "period_start", "period_end"]
    covered = table[table.indicator == "key_areas_covered"]
    assert covered.period_start.tolist() == [D(2024, 1, 1), D(2024, 4, 1)]  # sorted
    # Q1: 10001, 10002 (models), 10004 (outreach 15/1) -> 3/3; Q2: 10001 only -> 1/3
    assert covered.value.tolist() == pytest.approx([100.0, 100 / 3])
    assert covered.status.tolist() == ["met", "behind"]
    assert covered.trend.tolist()[1] == "worse"
    assert covered.change.tolist()[1] == pytest.approx(100 / 3 - 100)
    tried = table[table.indicator == "cases_tried"]
    # Q1: prosecuted 1/3, nothing tried -> 0 of 1; Q2: tried 4/1, 5/1, prosecuted 15/6 -> 2/3
    assert tried.numerator.tolist() == [0, 2] and tried.denominator.tolist() == [1, 3]
    assert tried.source.iloc[0] == "470/KH-UBND, I. Mục đích, yêu cầu (đoạn 2)"
    # the caller's list is a suggestion, and the rows say so
    assert covered.key_areas.tolist() == ["suggested", "suggested"]
    assert table[table.indicator == "cases_tried"].key_areas.isna().all()


def test_plan_key_areas_win_over_the_caller(data, tmp_path):
    text = (PLANS_DIR / "tay_ninh_2024.yaml").read_text(encoding="utf-8")
    text = text.replace("period:\n", 'key_areas: ["10002"]\nperiod:\n', 1)
    path = tmp_path / "keyed.yaml"
    path.write_text(text, encoding="utf-8")
    plan = load_plan(path)
    assert plan.key_areas == ("10002",)
    table = track(plan, data, [Q2], key_areas=KEYS)
    row = table[table.indicator == "key_areas_covered"].iloc[0]
    assert (row.numerator, row.denominator, row.status) == (0, 1, "behind")


# -- the shipped plans --------------------------------------------------------------------

def _seed_text() -> str:
    if not SEEDS.exists():
        pytest.fail(f"source documents not found at {SEEDS}")
    return " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in SEEDS.glob("*.txt"))


def test_shipped_plans_load_with_their_targets():
    plans = {p.id: p for p in load_plans()}
    assert set(plans) == {"tay_ninh_2024", "national_programme_2016_2020"}
    tn = plans["tay_ninh_2024"]
    assert (tn.source.document, tn.source.date) == ("470/KH-UBND", D(2024, 2, 19))
    assert (tn.period.start, tn.period.end) == (D(2024, 1, 1), D(2024, 12, 31))
    assert tn.key_areas is None
    assert [(i.measure, i.target, i.strict) for i in tn.indicators] == [
        ("cases_cleared_rate", 90, True), ("prosecuted_tried_rate", 95, False),
        ("reports_handled_rate", 100, False), ("key_areas_covered", 100, False)]
    nat = plans["national_programme_2016_2020"]
    assert (nat.period.start, nat.period.end) == (D(2016, 1, 1), D(2020, 12, 31))
    by_measure = {i.measure: i for i in nat.indicators}
    assert by_measure["key_communes_intensive"].target == 30
    assert by_measure["communes_integrated"].target == 50
    materials = by_measure["communes_with_materials"]
    assert (materials.target, materials.midterm.target, materials.midterm.date) == (
        100, 75, D(2017, 12, 31))
    assert by_measure["residents_reached"].target == 75
    assert by_measure["prosecution_rate"].annual_increase == 2
    assert (by_measure["prosecution_rate"].baseline.year,
            by_measure["prosecution_rate"].baseline.value) == (2015, None)


def test_shipped_quotes_are_in_the_source_documents():
    seeds = _seed_text()
    for plan in load_plans():
        for ind in plan.indicators:
            for part in ind.source_ref.quote.split("(...)"):
                assert " ".join(part.split()) in seeds, (plan.id, ind.id, part)


def test_load_plans_refuses_duplicate_plan_ids(tmp_path):
    shutil.copy(PLANS_DIR / "tay_ninh_2024.yaml", tmp_path / "a.yaml")
    shutil.copy(PLANS_DIR / "tay_ninh_2024.yaml", tmp_path / "b.yaml")
    with pytest.raises(PlanError, match=r"b\.yaml:1: id: plan id 'tay_ninh_2024' is already used"):
        load_plans(tmp_path)


def test_a_copy_for_a_new_year_works_without_code(tmp_path, data):
    text = (PLANS_DIR / "tay_ninh_2024.yaml").read_text(encoding="utf-8")
    for old, new in (("tay_ninh_2024", "tay_ninh_2025"), ("năm 2024", "năm 2025"),
                     ("470/KH-UBND", "123/KH-UBND"), ("19/02/2024", "20/02/2025"),
                     ("01/01/2024", "01/01/2025"), ("31/12/2024", "31/12/2025"),
                     ("target: 95", "target: 96"), ("/2024", "/2025")):
        text = text.replace(old, new)
    shutil.copy(PLANS_DIR / "tay_ninh_2024.yaml", tmp_path / "tay_ninh_2024.yaml")
    (tmp_path / "tay_ninh_2025.yaml").write_text(text, encoding="utf-8")
    plans = {p.id: p for p in load_plans(tmp_path)}
    new = plans["tay_ninh_2025"]
    assert (new.period.start, new.period.end) == (D(2025, 1, 1), D(2025, 12, 31))
    assert new.indicator("cases_tried").target == 96
    assert new.reporting.period("campaign_2024").due_before == D(2025, 8, 5)  # its calendar too
    # the cases of H1 2024 are the cohort of H1 2025 (12 months earlier)
    table = track(new, {"incidents": data.incidents}, [("01/01/2025", "30/06/2025")])
    row = table[table.indicator == "cases_tried"].iloc[0]
    assert (row.numerator, row.denominator, row.target, row.status) == (2, 4, 96, "behind")
    assert (row.cohort_start, row.cohort_end) == (D(2024, 1, 1), D(2024, 6, 30))


# -- broken files -------------------------------------------------------------------------

def _broken(tmp_path: Path, old: str, new: str) -> PlanError:
    text = (PLANS_DIR / "tay_ninh_2024.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    return info.value


def _line_of(text: str) -> int:
    source = (PLANS_DIR / "tay_ninh_2024.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(source, 1) if text in line)


def test_unknown_measure_lists_the_valid_ones(tmp_path):
    err = _broken(tmp_path, "measure: prosecuted_tried_rate", "measure: tried_rate")
    (problem,) = err.problems
    assert problem.field == "indicators[1] (cases_tried).measure"
    assert problem.line == _line_of("measure: prosecuted_tried_rate")
    assert problem.message == ("unknown measure 'tried_rate'; valid measures: "
                               + ", ".join(MEASURES))
    assert f"broken.yaml:{problem.line}: indicators[1] (cases_tried).measure: unknown" in str(err)


def test_target_not_a_number(tmp_path):
    err = _broken(tmp_path, "target: 95", "target: chín mươi lăm")
    (problem,) = err.problems
    assert problem.field == "indicators[1] (cases_tried).target"
    assert problem.message == "expected a number (percent, 0-100), got 'chín mươi lăm'"
    assert problem.line == _line_of("target: 95")


def test_missing_id(tmp_path):
    err = _broken(tmp_path, "  - id: cases_tried\n", "  -\n")
    (problem,) = err.problems
    assert (problem.field, problem.message) == ("indicators[1].id", "required field is missing")
    assert problem.line == _line_of("- id: cases_tried") + 1  # the indicator's first line
    err = _broken(tmp_path, "id: tay_ninh_2024\n", "")
    assert [(p.field, p.message) for p in err.problems] == [("id", "required field is missing")]


def test_duplicate_indicator_id(tmp_path):
    err = _broken(tmp_path, "id: cases_tried", "id: cases_cleared")
    (problem,) = err.problems
    assert problem.field == "indicators[1] (cases_cleared).id"
    assert problem.message == "duplicate indicator id 'cases_cleared' (first used by indicators[0])"
    assert problem.line == _line_of("id: cases_tried")


def test_bad_date(tmp_path):
    err = _broken(tmp_path, "end: 31/12/2024", "end: 31/13/2024")
    (problem,) = err.problems
    assert problem.field == "period.end"
    assert problem.message == "expected a date written dd/mm/yyyy (or yyyy-mm-dd), got '31/13/2024'"
    assert problem.line == _line_of("end: 31/12/2024")
    err = _broken(tmp_path, "end: 31/12/2024", "end: 31/12/2023")
    assert [(p.field, p.message) for p in err.problems] == [
        ("period.end", "the period ends (31/12/2023) before it starts (01/01/2024)")]


def test_percent_above_100(tmp_path):
    err = _broken(tmp_path, "target: 95", "target: 950")
    (problem,) = err.problems
    assert problem.field == "indicators[1] (cases_tried).target"
    assert problem.message == "a percent must be between 0 and 100 (written 90 for 90 %), got 950"


def test_several_problems_and_other_mistakes(tmp_path):
    text = (PLANS_DIR / "tay_ninh_2024.yaml").read_text(encoding="utf-8")
    text = (text.replace("direction: at_least\n    strict", "directon: at_least\n    strict", 1)
                .replace("target: 100", "target: 100\n    annual_increase: 2", 1)
                .replace("measure: prosecuted_tried_rate",
                         "measure: prosecuted_tried_rate\n    cumulative: true"))
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    got = [(p.field, p.message) for p in info.value.problems]
    assert ("indicators[0] (cases_cleared).direction", "required field is missing") in got
    unknown = "unknown field 'directon' (check the spelling; see geo/plans.py for the format)"
    assert ("indicators[0] (cases_cleared).directon", unknown) in got
    assert ("indicators[2] (reports_received).annual_increase",
            "give either a target or an annual_increase, not both") in got
    cumulative = ("cumulative applies to event measures only (communes_with_materials, "
                  "key_areas_covered, residents_reached), not prosecuted_tried_rate")
    assert ("indicators[1] (cases_tried).cumulative", cumulative) in got
    assert len(got) == 4
    assert str(info.value).startswith(f"{path}: {len(got)} problem(s):")


def test_yaml_mistakes(tmp_path):
    err = _broken(tmp_path, "    direction: at_least\n    strict",
                  "    direction: [at_least\n    strict")
    assert err.problems[0].message.startswith("not valid YAML")
    assert err.problems[0].line is not None
    err = _broken(tmp_path, "  start: 01/01/2024\n", "  start: 01/01/2024\n  start: 02/01/2024\n")
    assert [(p.field, p.message) for p in err.problems] == [
        ("period.start", "this key is written twice")]
    err = _broken(tmp_path, "source:\n", "key_areas: [\"1234\"]\nsource:\n")
    assert [p.field for p in err.problems] == ["key_areas[0]"]
    assert "5-digit commune code" in err.problems[0].message
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(PlanError, match="the file is empty"):
        load_plan(empty)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(PlanError, match="expected a mapping of plan fields"):
        load_plan(listed)


def test_midterm_outside_the_plan(tmp_path):
    path = tmp_path / "national.yaml"
    text = (PLANS_DIR / "national_programme.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("date: 31/12/2017", "date: 31/12/2021"), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    (problem,) = info.value.problems
    assert problem.field == "indicators[2] (communes_with_materials).midterm.date"
    assert problem.message == ("the mid-term date 31/12/2021 is outside the plan period "
                               "01/01/2016-31/12/2020")
    assert problem.line == next(i for i, line in enumerate(text.splitlines(), 1)
                                if "date: 31/12/2017" in line)


# -- the plans' own definitions (issue 16) ---------------------------------------------------

def test_cases_cleared_divides_by_the_cases_with_proceedings_opened(data):
    """470/KH-UBND (seeds/000), I: "tỷ lệ điều tra khám phá các vụ án mua bán người đạt tỷ lệ
    trên 90% tổng số án khởi tố".

    The denominator is the cases with proceedings opened (khởi tố: status prosecuted or
    tried), not every case; a verified case has none opened and is not cleared. The records
    have no "solved" step: the cases tried are a lower bound, met when it is above 90 %, and
    never called behind when it is not.
    """
    assert "trên 90% tổng số án khởi tố" in _seed_text()
    ind = _indicator("cases_cleared_rate", target=90, strict=True)
    # H1: 7 cases; opened: prosecuted 3/1, 6/15, tried 4/1, 5/1 -> tried 2 of 4 (verified
    # 2/1, received 1/10 and the case without status are outside)
    v = compute_indicator(ind, data, H1)
    assert (v.numerator, v.denominator, v.value) == (2, 4, 50.0)
    assert v.lower_bound and (v.status, v.reason) == ("no_data", "lower_bound")
    assert v.detail.startswith("at least 50.0 %")
    assert ("lower bound: 2 of 4 cases with proceedings opened are not yet tried, and the "
            "records do not say whether they are solved") in v.notes
    # every case with proceedings opened tried: the bound is above 90 %, met
    tried = data.incidents.assign(status=data.incidents["status"].replace("prosecuted", "tried"))
    v = compute_indicator(ind, TrackingData(incidents=tried), H1)
    assert (v.numerator, v.denominator, v.status) == (4, 4, "met")
    assert "verified" not in MEASURES["cases_cleared_rate"]


def test_cases_tried_divides_by_the_cases_with_proceedings_opened(data):
    """470/KH-UBND (seeds/000): "95% số vụ án mua bán người được giải quyết và truy tố, xét
    xử"; 5116/KH-UBND (seeds/002): "Hàng năm, đạt 95% số vụ mua bán người được giải quyết và
    xét xử trên tổng số vụ án do Tòa án thụ lý".

    The records carry no "accepted by the court" step: the cases tried out of those with
    proceedings opened, and the figure's definition says so.
    """
    seeds = _seed_text()
    assert "95% số vụ án mua bán người được giải quyết và truy tố, xét xử" in seeds
    assert "được giải quyết và xét xử trên tổng số vụ án do Tòa án thụ lý" in seeds
    v = compute_indicator(_indicator("prosecuted_tried_rate", target=95), data, H1)
    assert (v.numerator, v.denominator, v.status) == (2, 4, "behind")
    tried = load_plan(PLANS_DIR / "tay_ninh_2024.yaml").indicator("cases_tried")
    assert "Vụ đã xét xử / tổng số án khởi tố" in tried.definition_vi
    assert "Cases tried / cases with proceedings opened" in tried.definition_en


def test_shipped_definitions_say_what_the_plan_divides():
    """Each shipped indicator carries its definition, in Vietnamese and English, shown next
    to the figure; the case targets divide by "tổng số án khởi tố" (seeds/000) and the
    prosecution rate by "tổng số các vụ việc được phát hiện" (seeds/002)."""
    plans = {p.id: p for p in load_plans()}
    for plan in plans.values():
        for ind in plan.indicators:
            assert ind.definition_vi and ind.definition_en, (plan.id, ind.id)
    tn = plans["tay_ninh_2024"]
    cleared, tried = tn.indicator("cases_cleared"), tn.indicator("cases_tried")
    assert "tổng số án khởi tố" in cleared.definition_vi and "cận dưới" in cleared.definition_vi
    assert "lower bound" in cleared.definition_en
    assert "xét xử / tổng số án khởi tố" in tried.definition_vi
    nat = plans["national_programme_2016_2020"].indicator("prosecution_rate_increase")
    assert "tổng số vụ việc mua bán người được phát hiện" in nat.definition_vi
    table = track(tn, {}, [H1])
    assert table.set_index("indicator").at["cases_cleared", "definition_vi"] == \
        cleared.definition_vi


# -- cases still in process: a cohort that has had time --------------------------------------

def test_case_measures_count_a_cohort_that_has_had_time(data):
    """A case of the period's last months has not had time to be tried (right-censored): the
    case measures count the cases of the same span 12 months earlier, and say which."""
    h1_2025 = ("01/01/2025", "30/06/2025")
    for measure, counts in (("cases_cleared_rate", (2, 4)), ("prosecuted_tried_rate", (2, 4)),
                            ("prosecution_rate", (4, 7))):
        ind = _indicator(measure, cohort_lag_months=None)  # the default lag
        assert ind.lag_months == 12
        v = compute_indicator(ind, data, h1_2025)
        assert (v.numerator, v.denominator) == counts, measure
        assert v.cohort == (D(2024, 1, 1), D(2024, 6, 30)) and v.period == (D(2025, 1, 1),
                                                                            D(2025, 6, 30))
        assert ("cohort: cases dated 01/01/2024-30/06/2024 (12 months earlier; later cases are "
                "still in process)") in v.notes
        # the period's own cases: none in 2025
        assert compute_indicator(ind.model_copy(update={"cohort_lag_months": 0}), data,
                                 h1_2025).reason == "empty"
    # a quarter stays a quarter, a leap day is kept
    v = compute_indicator(_indicator("prosecution_rate", cohort_lag_months=12), data,
                          ("01/01/2025", "28/02/2025"))
    assert v.cohort == (D(2024, 1, 1), D(2024, 2, 29))
    # models and outreach are no cohort
    assert _indicator("communes_integrated").lag_months == 0
    assert compute_indicator(_indicator("communes_integrated"), data, H1).cohort is None
    table = track(load_plan(PLANS_DIR / "tay_ninh_2024.yaml"), data, [h1_2025])
    row = table.set_index("indicator").loc["cases_tried"]
    assert (row.cohort_start, row.cohort_end, row.numerator, row.denominator) == (
        D(2024, 1, 1), D(2024, 6, 30), 2, 4)
    assert pd.isna(table.set_index("indicator").at["reports_received", "cohort_start"])


def test_a_cohort_lag_is_for_case_measures_only(tmp_path):
    err = _broken(tmp_path, "    measure: reports_handled_rate\n",
                  "    measure: reports_handled_rate\n    cohort_lag_months: 6\n")
    (problem,) = err.problems
    assert problem.field == "indicators[2] (reports_received).cohort_lag_months"
    assert problem.message.startswith("cohort_lag_months applies to the case measures only")
    assert problem.line == _line_of("measure: reports_handled_rate") + 1


# -- a yearly increase from the plan's baseline year ----------------------------------------

def _cases(*years_quarters) -> pd.DataFrame:
    """Trafficking cases: (date, prosecuted, all) groups."""
    rows = []
    for day, prosecuted, total in years_quarters:
        rows += [(day, "prosecuted")] * prosecuted + [(day, "received")] * (total - prosecuted)
    frame = pd.DataFrame(rows, columns=["date", "status"]).assign(type="trafficking_case",
                                                                  new_code="10001")
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def test_a_yearly_increase_counts_from_the_baseline_year():
    """5116/KH-UBND (seeds/002): "Hàng năm, tăng ít nhất 02% tỷ lệ khởi tố điều tra các vụ án
    mua bán người trên tổng số các vụ việc được phát hiện".

    Each year, 2 points above the year before: from the plan's baseline year, not from the
    previous period's noisy value. Chained on quarters, 0 of 4 then 1 of 4 is "met" (25 %
    against 0 + 0.5) and the next 1 of 4 "behind" (against 25.5); from a 2023 baseline of
    50 %, every quarter of 2024 is due 52 %.
    """
    assert "Hàng năm, tăng ít nhất 02% tỷ lệ khởi tố điều tra" in _seed_text()
    cases = _cases(("2023-05-01", 5, 10), ("2024-02-01", 0, 4), ("2024-05-01", 1, 4),
                   ("2024-08-01", 1, 4), ("2025-02-01", 3, 4))
    ind = _indicator("prosecution_rate", target=None, annual_increase=2,
                     baseline={"year": 2023})
    quarters = [("01/01/2024", "31/03/2024"), ("01/04/2024", "30/06/2024"),
                ("01/07/2024", "30/09/2024"), ("01/01/2025", "31/03/2025")]
    got = [compute_indicator(ind, {"incidents": cases}, q) for q in quarters]
    assert [v.target for v in got] == [52, 52, 52, 54]
    assert [v.value for v in got] == [0, 25, 25, 75]
    assert [v.status for v in got] == ["behind", "behind", "behind", "met"]
    assert got[0].baseline_period == (D(2023, 1, 1), D(2023, 12, 31))
    # the same through track: no period moves another's target
    plan = load_plan(PLANS_DIR / "national_programme.yaml")
    plan = plan.model_copy(update={"indicators": (ind.model_copy(update={"id": "p"}),)})
    assert track(plan, {"incidents": cases}, quarters[1:3])["target"].tolist() == [52, 52]
    # a written baseline value is used as written (no measure)
    written = ind.model_copy(update={"baseline": targets.Baseline(year=2023, value=40)})
    v = compute_indicator(written, {"incidents": cases}, quarters[0])
    assert (v.target, v.baseline_period) == (42, None)
    # the lagged cohort of 2025Q1 is 2024Q1 (0 of 4), due as 2024: 52 %
    lagged = ind.model_copy(update={"cohort_lag_months": 12})
    v = compute_indicator(lagged, {"incidents": cases}, quarters[3])
    assert (v.value, v.target, v.status) == (0, 52, "behind")


def test_a_baseline_year_without_records_is_no_data():
    ind = _indicator("prosecution_rate", target=None, annual_increase=2,
                     baseline={"year": 2015})
    v = compute_indicator(ind, {"incidents": _cases(("2024-02-01", 1, 4))},
                          ("01/01/2024", "31/03/2024"))
    assert (v.value, v.status, v.reason, v.target) == (25, "no_data", "no_baseline_year", None)
    assert v.detail == ("the baseline year 2015 has no value (no trafficking cases dated in the "
                        "period) and the plan writes none")


def test_a_yearly_increase_needs_the_baseline_year(tmp_path):
    path = tmp_path / "national.yaml"
    text = (PLANS_DIR / "national_programme.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("    baseline:\n      year: 2015\n", ""), encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    (problem,) = info.value.problems
    assert problem.field == "indicators[4] (prosecution_rate_increase).annual_increase"
    assert problem.message.startswith("an annual_increase counts from the plan's baseline year: "
                                      "give baseline: {year: ...}")
    assert problem.line == next(i for i, line in enumerate(text.splitlines(), 1)
                                if "annual_increase: 2" in line)


# -- every rate with its interval --------------------------------------------------------------

@pytest.mark.parametrize("measure", sorted(MEASURES))
def test_every_rate_has_its_wilson_interval(data, measure):
    """The 95 % interval is statsmodels' Wilson interval of numerator / denominator."""
    v = compute_indicator(_indicator(measure), data, H1, key_areas=KEYS)
    low, high = proportion_confint(v.numerator, v.denominator, alpha=0.05, method="wilson")
    assert (v.ci_low, v.ci_high) == pytest.approx((100 * low, 100 * high), abs=1e-9)
    assert v.ci_low <= v.value <= v.ci_high


def test_an_interval_in_the_table_and_none_without_a_proportion(data):
    # prosecution rate, H1: 4 of 7
    table = track(_unlagged(load_plan(PLANS_DIR / "national_programme.yaml")), data, [H1],
                  key_areas=KEYS)
    row = table.set_index("indicator").loc["prosecution_rate_increase"]
    low, high = proportion_confint(4, 7, method="wilson")
    assert (row.numerator, row.denominator) == (4, 7)
    assert (row.ci_low, row.ci_high) == pytest.approx((100 * low, 100 * high))
    # 1000 attendances over 400 residents is no proportion: capped, without interval
    small = data.population.assign(population_14_60=pd.array([1, 1, 1, None, 1, 1], "Int64"))
    capped = compute_indicator(_indicator("residents_reached"),
                               TrackingData(outreach=data.outreach, population=small), H1)
    assert capped.value == 100.0 and (capped.ci_low, capped.ci_high) == (None, None)
    assert compute_indicator(_indicator("cases_cleared_rate"), {}, H1).ci_low is None


# -- the official key-area list ----------------------------------------------------------------

def _key_data(registry) -> TrackingData:
    """Intensive models in the first four 2025 communes of the registry."""
    codes = list(registry.communes.index[:4])
    models = pd.DataFrame({"model_type": "zalo_group", "model_class": "intensive",
                           "start_date": pd.Timestamp("2023-01-01"), "end_date": pd.NaT,
                           "new_code": codes})
    return TrackingData(models=models, communes=registry.communes.index)


def _key_file(folder: Path, text: str, plan: str = "national_programme_2016_2020") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"key_areas_{plan}.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_official_key_area_list_is_imported(registry, tmp_path):
    """The key areas of a plan are an official list the province imports (key_areas_<plan
    id>.csv, codes or names resolved through the registry); the score is only a suggestion
    and the rows say which was used. Divided by the official list, the value no longer moves
    with the suggested list of the period filter."""
    first, second = registry.communes.index[:2]
    name = registry.communes.at[second, "name"]
    _key_file(tmp_path, f"Mã xã,Xã/Phường,Ghi chú\n{first},,cửa khẩu\n,{name},\n"
                        f"25681,Xã Bến Cầu,Mộc Bài\n")
    plans = attach_key_areas(load_plans(), registry, tmp_path)
    nat = {p.id: p for p in plans}["national_programme_2016_2020"]
    assert nat.key_areas == (first, second, "25681")
    assert nat.key_areas_source == "key_areas_national_programme_2016_2020.csv"
    assert {p.id: p for p in plans}["tay_ninh_2024"].key_areas is None
    data = _key_data(registry)
    suggested = [list(registry.communes.index[:4]), list(registry.communes.index[3:9])]
    rows = [track(nat, data, [(start, "31/12/2025")], key_areas=keys)
            .set_index("indicator").loc["key_communes_intensive"]
            for start, keys in zip(("01/10/2025", "01/01/2025"), suggested, strict=True)]
    for row in rows:  # 25681 has no model: 2 of 3, whatever the suggestion
        assert (row.numerator, row.denominator) == (2, 3)
        assert (row.key_areas, row.key_areas_source) == (
            "official", "key_areas_national_programme_2016_2020.csv")
    # without the file, the suggestion moves with the period, and says it is one
    plain = {p.id: p for p in load_plans()}["national_programme_2016_2020"]
    rows = [track(plain, data, [(start, "31/12/2025")], key_areas=keys)
            .set_index("indicator").loc["key_communes_intensive"]
            for start, keys in zip(("01/10/2025", "01/01/2025"), suggested, strict=True)]
    assert [(r.numerator, r.denominator) for r in rows] == [(4, 4), (1, 6)]
    assert {r.key_areas for r in rows} == {"suggested"} and rows[0].key_areas_source is None


def test_a_bad_key_area_file_is_refused_naming_file_line_and_field(registry, tmp_path):
    path = _key_file(tmp_path, "code,name\n"
                               "25681,Xã Bến Cầu\n"
                               "12345,\n"                      # not a code of the registry
                               ",Xã Không Có\n"                # no such commune
                               "25681,\n"                      # listed twice
                               "25681,Phường Trảng Bàng\n"     # code and name disagree
                               "2568,\n"                       # not 5 digits
                               ",\n"                           # blank line: skipped
                               "25708,Phường Trảng Bàng,x\n")  # a value too many
    with pytest.raises(PlanError) as info:
        attach_key_areas(load_plans(), registry, tmp_path)
    err = info.value
    assert err.file == str(path)
    got = [(p.line, p.field, p.message) for p in err.problems]
    assert got == [
        (3, "code", "12345 is not a 2025 commune code of the registry"),
        (4, "name", "no 2025 commune of the registry is called 'Xã Không Có'"),
        (5, "code", "commune 25681 is already listed on line 2"),
        (6, "", "the code 25681 and the name 'Phường Trảng Bàng' (25708) are different "
                "communes"),
        (7, "code", "expected a 5-digit 2025 commune code, got '2568'"),
        (9, "", "3 values on a line of 2 columns"),
    ]
    assert str(err).splitlines()[1] == (f"  {path}:3: code: 12345 is not a 2025 commune code "
                                        "of the registry")
    _key_file(tmp_path, "Mã xã,Huyện\n25681,Bến Cầu\n")
    with pytest.raises(PlanError, match=r"key_areas_national_programme_2016_2020\.csv:1: "
                                        r"Huyện: unknown column"):
        attach_key_areas(load_plans(), registry, tmp_path)
    _key_file(tmp_path, "code\n")
    with pytest.raises(PlanError, match="the list names no commune"):
        attach_key_areas(load_plans(), registry, tmp_path)


def test_a_key_area_file_for_no_plan_and_unknown_plan_codes_are_refused(registry, tmp_path):
    _key_file(tmp_path, "code\n25681\n", plan="tay_ninh_2030")
    with pytest.raises(PlanError, match="no plan has the id 'tay_ninh_2030'"):
        attach_key_areas(load_plans(), registry, tmp_path)
    plan = load_plan(PLANS_DIR / "tay_ninh_2024.yaml").model_copy(
        update={"key_areas": ("25681", "99999")})
    with pytest.raises(PlanError, match="key_areas: 99999: not 2025 commune codes"):
        attach_key_areas([plan], registry)
    assert attach_key_areas([plan.model_copy(update={"key_areas": ("25681",)})],
                            registry)[0].key_areas == ("25681",)
