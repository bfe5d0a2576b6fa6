"""Outreach reach: counts, participants per 1,000 (aged 14–60 or all), recency, breakdowns."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from geo.config import Settings
from geo.store import open_store
from layers.layer import Caveat
from layers.reach import OUTREACH_FORMATS, outreach_reach
from tests.cache import demo_data

CODES = ["25459", "25480", "25486", "25489"]
OLD = {"25459": "25456", "25480": "25480", "25486": "25486", "25489": "25489"}
Q1 = {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 3, 31)}


def _communes(codes=CODES) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"Xã {c}" for c in codes]}, index=pd.Index(codes, name="code"))


def _outreach(rows) -> pd.DataFrame:
    """rows: (new_code, date, agency, format, participants, materials)."""
    rows = list(rows)
    return pd.DataFrame(
        {
            "source": "test",
            "record_id": [f"O{i}" for i in range(len(rows))],
            "date": pd.to_datetime([r[1] for r in rows]),
            "agency": [r[2] for r in rows],
            "format": [r[3] for r in rows],
            "participants": pd.array([r[4] for r in rows], dtype="Int64"),
            "materials": pd.array([r[5] for r in rows], dtype="Int64"),
            "new_code": [r[0] for r in rows],
            "old_code": [OLD.get(r[0], r[0]) for r in rows],
        }
    )


def _population(rows) -> pd.DataFrame:
    """rows: (new_code, year, population, population_14_60 or None)."""
    return pd.DataFrame(
        {
            "new_code": [r[0] for r in rows],
            "year": pd.array([r[1] for r in rows], dtype="Int64"),
            "population": pd.array([r[2] for r in rows], dtype="Int64"),
            "population_14_60": pd.array([r[3] for r in rows], dtype="Int64"),
        }
    )


POLICE, YOUTH, WOMEN = "Công an tỉnh", "Đoàn Thanh niên tỉnh", "Hội Liên hiệp Phụ nữ tỉnh"

EVENTS = _outreach([
    ("25459", "2025-01-10", POLICE, "meeting", 150, 40),
    ("25459", "2025-02-20", YOUTH, "school_session", 450, 100),
    ("25459", "2025-03-31", WOMEN, "leaflets", None, 500),  # last day of Q1: counted
    ("25480", "2025-02-01", POLICE, "meeting", 80, None),
    ("25480", "2025-04-01", POLICE, "meeting", 999, 999),  # the day after Q1: not counted
    ("25486", "2024-11-15", YOUTH, "training", 30, 5),  # before Q1: not counted
    ("25489", "2025-03-15", POLICE, "campaign", 200, 300),
])

PEOPLE = _population([
    ("25459", 2025, 20_000, 12_000),  # both known: per 1,000 aged 14-60
    ("25480", 2025, 16_000, None),  # 14-60 unknown: per 1,000 residents
    ("25486", 2025, 8_000, 5_000),  # no event in Q1: reach 0
    # 25489: no population row at all: reach NaN
])


def test_reach_per_1000_by_hand():
    layer = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1, caveats=[Caveat.SYNTHETIC])
    frame = layer.frame
    assert frame["events"].tolist() == [3, 1, 0, 1]
    assert frame["participants"].tolist() == [600, 80, 0, 200]  # a missing count is 0
    assert frame["materials"].tolist() == [640, 0, 0, 300]
    assert frame["per_base"].tolist() == ["14_60", "all", "14_60", None]
    assert frame["base"].tolist()[:3] == [12_000, 16_000, 5_000]
    assert pd.isna(frame["base"].iloc[3])
    np.testing.assert_allclose(frame["reach"], [600 / 12_000 * 1000, 80 / 16_000 * 1000, 0.0,
                                                np.nan])
    assert frame.loc["25459", "reach"] == pytest.approx(50.0)
    assert frame.loc["25480", "reach"] == pytest.approx(5.0)
    assert layer.value == "reach" and layer.title_key == "layer.reach.title"
    assert layer.units_key == "unit.per_1000_mixed"  # two bases on one map
    assert layer.caveats == (Caveat.SYNTHETIC,)
    params = layer.params
    assert params["missing_population"] == ("25489",)
    assert params["bases"] == {"14_60": 2, "all": 1, "unknown": 1}
    assert params["per"] == 1000 and params["population_year"] == 2025
    province = params["province"]
    assert (province["events"], province["participants"], province["materials"]) == (5, 880, 940)
    assert province["communes_reached"] == 3
    assert province["population_14_60"] == 17_000 and province["population"] == 44_000
    assert province["reach_14_60"] == pytest.approx(600 / 17_000 * 1000)  # 25459 + 25486
    assert province["reach_all"] == pytest.approx(680 / 44_000 * 1000)  # 25459 + 25480 + 25486


def test_one_base_names_its_units():
    only_young = PEOPLE[PEOPLE["population_14_60"].notna()]
    assert outreach_reach(EVENTS, _communes(), only_young, **Q1).units_key \
        == "unit.per_1000_aged_14_60"
    everyone = PEOPLE.assign(population_14_60=pd.array([None] * 3, dtype="Int64"))
    layer = outreach_reach(EVENTS, _communes(), everyone, **Q1)
    assert layer.units_key == "unit.per_1000_residents"
    assert layer.frame["reach"].iloc[0] == pytest.approx(600 / 20_000 * 1000)


def test_population_of_the_end_year_else_the_nearest():
    people = _population([
        ("25459", 2023, 19_000, 11_000),
        ("25459", 2025, 20_000, 12_000),  # the end year: used
        ("25480", 2022, 15_000, 9_000),
        ("25480", 2024, 15_500, 9_500),  # nearest to 2025
        ("25486", 2024, 7_000, 4_000),
        ("25486", 2026, 9_000, 6_000),  # as near as 2024: the later one wins
        ("25489", 2025, 10_000, None),  # the end year's row lacks 14-60: per all residents
        ("25489", 2024, 9_900, 6_600),
    ])
    layer = outreach_reach(EVENTS, _communes(), people, **Q1)
    frame = layer.frame
    assert frame["population_year"].tolist() == [2025, 2024, 2026, 2025]
    assert frame["base"].tolist() == [12_000, 9_500, 6_000, 10_000]
    assert frame["per_base"].tolist() == ["14_60", "14_60", "14_60", "all"]
    assert frame.loc["25480", "reach"] == pytest.approx(80 / 9_500 * 1000)
    assert frame.loc["25489", "reach"] == pytest.approx(200 / 10_000 * 1000)
    assert layer.params["population_years_used"] == (2024, 2025, 2026)


def test_population_without_the_14_60_column_uses_all_residents():
    people = PEOPLE.drop(columns="population_14_60")
    frame = outreach_reach(EVENTS, _communes(), people, **Q1).frame
    assert frame["per_base"].tolist() == ["all", "all", "all", None]
    assert frame.loc["25459", "reach"] == pytest.approx(30.0)


def test_a_population_of_zero_is_unknown_not_zero_reach():
    people = _population([("25459", 2025, 0, 0), ("25480", 2025, 16_000, 0)])
    frame = outreach_reach(EVENTS, _communes(), people, **Q1).frame
    assert pd.isna(frame.loc["25459", "reach"]) and frame.loc["25459", "per_base"] is None
    assert frame.loc["25480", "per_base"] == "all"
    assert frame.loc["25480", "reach"] == pytest.approx(5.0)


def test_agency_and_format_filters():
    police = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1, agencies=[POLICE])
    assert police.frame["events"].tolist() == [1, 1, 0, 1]
    assert police.frame["participants"].tolist() == [150, 80, 0, 200]
    assert police.params["agencies"] == (POLICE,)
    meetings = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1,
                              formats=["meeting", "school_session"])
    assert meetings.frame["events"].tolist() == [2, 1, 0, 0]
    assert meetings.params["formats"] == ("meeting", "school_session")
    both = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1, agencies=POLICE, formats="campaign")
    assert both.frame["events"].tolist() == [0, 0, 0, 1]
    assert both.frame.loc["25459", "reach"] == 0.0
    nobody = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1, agencies=["Sở Y tế"])
    assert nobody.frame["events"].sum() == 0 and nobody.params["by_agency"] == ()


def test_breakdowns_by_agency_and_format_are_province_totals():
    layer = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1)
    # Without figure columns, a meeting, school session or campaign is one session.
    none = {"sites": 0, "groups": 0, "members": 0}
    assert layer.params["by_agency"] == (
        {"agency": POLICE, "events": 3, "participants": 430, "materials": 340, "sessions": 3,
         **none, "communes": 3},
        {"agency": WOMEN, "events": 1, "participants": 0, "materials": 500, "sessions": 0,
         **none, "communes": 1},
        {"agency": YOUTH, "events": 1, "participants": 450, "materials": 100, "sessions": 1,
         **none, "communes": 1},
    )
    by_format = {row["format"]: row for row in layer.params["by_format"]}
    assert list(by_format) == ["meeting", "campaign", "leaflets", "school_session"]
    assert by_format["meeting"] == {"format": "meeting", "events": 2, "participants": 230,
                                    "materials": 40, "sessions": 2, **none, "communes": 2}
    assert sum(r["events"] for r in layer.params["by_format"]) == layer.frame["events"].sum()


def test_days_since_last_event_and_last_agency():
    layer = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1)
    frame = layer.frame
    assert layer.params["on"] == dt.date(2025, 3, 31)  # on defaults to end
    assert frame["days_since_last"].tolist()[:3] == [0.0, 58.0, 136.0]
    assert frame["last_agency"].tolist() == [WOMEN, POLICE, YOUTH, POLICE]
    assert frame.loc["25486", "last_date"] == pd.Timestamp("2024-11-15")  # before the period
    later = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1, on=dt.date(2025, 4, 30)).frame
    assert later["days_since_last"].tolist() == [30.0, 29.0, 166.0, 46.0]
    assert later.loc["25480", "last_agency"] == POLICE
    assert later["events"].tolist() == [3, 1, 0, 1]  # the counts keep to the period
    # filters apply to the last event too; never → NaN and None
    youth = outreach_reach(EVENTS, _communes(), PEOPLE, **Q1, agencies=[YOUTH]).frame
    assert youth.loc["25459", "days_since_last"] == 39.0  # the school session of 20/02
    assert youth.loc["25459", "last_agency"] == YOUTH
    assert pd.isna(youth.loc["25480", "days_since_last"])
    assert youth.loc["25480", "last_agency"] is None
    assert pd.isna(youth.loc["25480", "last_date"])


def test_two_agencies_on_the_last_day_are_both_named():
    events = _outreach([
        ("25459", "2025-03-01", YOUTH, "meeting", 10, 0),
        ("25459", "2025-03-01", POLICE, "meeting", 10, 0),
        ("25459", "2025-02-01", WOMEN, "meeting", 10, 0),
    ])
    frame = outreach_reach(events, _communes(), PEOPLE, **Q1).frame
    assert frame.loc["25459", "last_agency"] == f"{POLICE}; {YOUTH}"
    assert frame.loc["25459", "days_since_last"] == 30.0


def test_legacy_units_count_but_have_no_population():
    communes = _communes(["25456", "25480", "25486", "25489", "25492"])
    layer = outreach_reach(EVENTS, communes, PEOPLE, unit_set="legacy", **Q1)
    frame = layer.frame
    assert frame["events"].tolist() == [3, 1, 0, 1, 0]
    assert frame["participants"].tolist() == [600, 80, 0, 200, 0]
    assert frame["reach"].isna().all()  # never 0: population is known for 2025 units only
    assert frame["per_base"].isna().all() and frame["population"].isna().all()
    assert frame.loc["25456", "last_agency"] == WOMEN
    assert layer.params["population_year"] is None
    assert layer.params["missing_population"] == tuple(communes.index)
    assert np.isnan(layer.params["province"]["reach_14_60"])
    assert layer.params["province"]["participants"] == 880


def test_events_outside_the_communes_are_counted_apart():
    events = pd.concat([EVENTS, _outreach([("99999", "2025-02-02", POLICE, "meeting", 70, 0)])])
    layer = outreach_reach(events, _communes(), PEOPLE, **Q1)
    assert layer.params["unplaced"] == 1
    assert layer.params["province"]["participants"] == 880


def test_empty_inputs_give_zeros_and_nan():
    no_events = EVENTS.iloc[0:0]
    layer = outreach_reach(no_events, _communes(), PEOPLE, **Q1)
    frame = layer.frame
    assert frame["events"].tolist() == [0, 0, 0, 0]
    assert frame["participants"].tolist() == [0, 0, 0, 0]
    np.testing.assert_array_equal(frame["reach"], [0.0, 0.0, 0.0, np.nan])
    assert frame["days_since_last"].isna().all() and frame["last_agency"].isna().all()
    assert layer.params["by_agency"] == () and layer.params["by_format"] == ()
    assert layer.params["province"]["reach_14_60"] == 0.0
    bare = pd.DataFrame(columns=["date", "agency", "format", "participants", "materials",
                                 "new_code", "old_code"])
    no_people = pd.DataFrame(columns=["new_code", "year", "population", "population_14_60"])
    empty = outreach_reach(bare, _communes(), no_people, **Q1)
    assert empty.frame["events"].tolist() == [0, 0, 0, 0]
    assert empty.frame["reach"].isna().all()
    assert empty.params["population_years_used"] == ()
    assert np.isnan(empty.params["province"]["reach_all"])
    assert empty.units_key == "unit.per_1000_residents"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": dt.date(2025, 3, 31), "end": dt.date(2025, 1, 1)}, "end 2025-01-01 is before"),
        ({**Q1, "formats": ["meeting", "poster"]}, r"unknown outreach formats \['poster'\]"),
        ({**Q1, "unit_set": "2019"}, "unit_set must be one of"),
        ({"start": None, "end": dt.date(2025, 1, 1)}, "start must be a date"),
        ({**Q1, "on": "soon"}, "on must be a date"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        outreach_reach(EVENTS, _communes(), PEOPLE, **kwargs)


def test_bad_tables_raise_clear_errors():
    with pytest.raises(ValueError, match=r"outreach lacks the columns \['format'\]"):
        outreach_reach(EVENTS.drop(columns="format"), _communes(), PEOPLE, **Q1)
    with pytest.raises(ValueError, match="population lacks"):
        outreach_reach(EVENTS, _communes(), PEOPLE.drop(columns="year"), **Q1)
    twice = pd.concat([PEOPLE, PEOPLE.iloc[:1]])
    with pytest.raises(ValueError, match="several population rows"):
        outreach_reach(EVENTS, _communes(), twice, **Q1)


def test_inputs_are_not_changed():
    events, communes, people = EVENTS.copy(), _communes(), PEOPLE.copy()
    before = (events.copy(), communes.copy(), people.copy())
    outreach_reach(events, communes, people, **Q1, on=dt.date(2025, 6, 1))
    outreach_reach(events, communes, people, unit_set="legacy", **Q1)
    for after, kept in zip((events, communes, people), before, strict=True):
        pd.testing.assert_frame_equal(after, kept)


def test_format_codes_come_from_the_interchange_format():
    assert OUTREACH_FORMATS == ("meeting", "school_session", "broadcast", "leaflets",
                                "social_media", "training", "campaign", "law_books",
                                "job_counselling", "contest")


#: Seed 004's outreach, one row per agency's figure, in one commune and one quarter.
SEED_004 = pd.DataFrame({
    "date": pd.to_datetime(["2025-02-01"] * 9),
    "agency": ["Sở Thông tin và Truyền thông", "Sở Tư pháp", "Sở Tư pháp",
               "Sở Giáo dục và Đào tạo", "Sở Lao động - Thương binh và Xã hội",
               "Sở Lao động - Thương binh và Xã hội", "Sở Lao động - Thương binh và Xã hội",
               "Hội Liên hiệp Phụ nữ tỉnh", "Đoàn Thanh niên tỉnh"],
    "format": ["broadcast", "meeting", "law_books", "school_session", "leaflets", "training",
               "job_counselling", "social_media", "contest"],
    "sessions": pd.array([602, 1, None, 195, None, 12, None, None, None], dtype="Int64"),
    "participants": pd.array([None, 1835, None, 70815, None, 350, 53080, None, 400],
                             dtype="Int64"),
    "sites": pd.array([None, 158, 20, None, None, None, None, None, None], dtype="Int64"),
    "materials": pd.array([None, None, 4000, None, 28000, None, None, None, None],
                          dtype="Int64"),
    "groups": pd.array([None, None, None, None, None, None, None, 359, None], dtype="Int64"),
    "members": pd.array([None, None, None, None, None, None, None, 7800, None], dtype="Int64"),
    "new_code": "25459", "old_code": "25456",
})


def test_the_plans_figures_are_summed_per_format_and_province_wide():
    layer = outreach_reach(SEED_004, _communes(), PEOPLE, **Q1)
    by_format = {row["format"]: row for row in layer.params["by_format"]}
    assert set(by_format) == {"broadcast", "meeting", "law_books", "school_session", "leaflets",
                              "training", "job_counselling", "social_media", "contest"}
    assert by_format["broadcast"]["sessions"] == 602  # lượt tin, bài
    assert (by_format["meeting"]["sessions"], by_format["meeting"]["sites"],
            by_format["meeting"]["participants"]) == (1, 158, 1835)  # 1 hội nghị, 158 điểm cầu
    assert (by_format["law_books"]["materials"], by_format["law_books"]["sites"]) == (4000, 20)
    assert (by_format["school_session"]["sessions"],
            by_format["school_session"]["participants"]) == (195, 70815)
    assert by_format["leaflets"]["materials"] == 28000 and by_format["leaflets"]["sessions"] == 0
    assert (by_format["training"]["sessions"], by_format["training"]["participants"]) == (12, 350)
    assert by_format["job_counselling"]["participants"] == 53080  # lượt người
    assert (by_format["social_media"]["groups"], by_format["social_media"]["members"]) == (359,
                                                                                           7800)
    assert by_format["contest"]["sessions"] == 1  # an empty count of a contest is one
    province = layer.params["province"]
    assert (province["sessions"], province["sites"], province["groups"],
            province["members"]) == (602 + 1 + 195 + 12 + 1, 158 + 20, 359, 7800)
    # Reach counts participants, job-counselling contacts among them.
    assert province["participants"] == 1835 + 70815 + 350 + 53080 + 400
    assert layer.frame.loc["25459", "participants"] == province["participants"]
    labour = {row["agency"]: row for row in layer.params["by_agency"]}[
        "Sở Lao động - Thương binh và Xã hội"]
    assert (labour["materials"], labour["sessions"], labour["participants"]) == (
        28000, 12, 350 + 53080)


def test_outreach_without_the_figure_columns_counts_them_empty():
    old = SEED_004.drop(columns=["sessions", "sites", "groups", "members"])
    province = outreach_reach(old, _communes(), PEOPLE, **Q1).params["province"]
    assert (province["sessions"], province["sites"], province["groups"],
            province["members"]) == (5, 0, 0, 0)  # one per broadcast, meeting, school …


# -- the demo -------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("reach") / "var")
    demo_data(settings)
    with open_store(settings) as store:
        return store.read("outreach"), store.read("population")


def test_demo_reach_in_2025(demo, registry):
    outreach, population = demo
    year = {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 12, 31)}
    layer = outreach_reach(outreach, registry.units("2025"), population, **year)
    frame = layer.frame
    in_2025 = outreach[outreach["date"].dt.year == 2025]
    people = population[population["year"] == 2025]
    assert len(frame) == 96 and layer.params["missing_population"] == ()
    assert layer.params["population_years_used"] == (2025,)
    assert frame["per_base"].eq("14_60").all()
    assert frame["events"].sum() == len(in_2025)
    assert frame["participants"].sum() == in_2025["participants"].fillna(0).sum()
    expected = in_2025["participants"].fillna(0).sum() / people["population_14_60"].sum() * 1000
    assert layer.params["province"]["reach_14_60"] == pytest.approx(float(expected))
    by_code = in_2025.groupby("new_code")["participants"].sum()
    young = people.set_index("new_code")["population_14_60"]
    code = by_code.idxmax()
    assert frame.loc[code, "reach"] == pytest.approx(by_code[code] / young[code] * 1000)
    assert sum(r["events"] for r in layer.params["by_agency"]) == len(in_2025)
    legacy = outreach_reach(outreach, registry.units("legacy"), population, unit_set="legacy",
                            **year)
    assert len(legacy.frame) == 280 and legacy.frame["reach"].isna().all()
    assert legacy.frame["events"].sum() == len(in_2025)
    # The demo's added formats and figures reach the layer's totals.
    province = layer.params["province"]
    by_format = {row["format"]: row for row in layer.params["by_format"]}
    assert {"law_books", "job_counselling", "contest"} <= set(by_format)
    assert province["groups"] == in_2025["groups"].fillna(0).sum() > 0
    assert province["members"] == in_2025["members"].fillna(0).sum() > 0
    assert province["sites"] == in_2025["sites"].fillna(0).sum() > 0
    assert by_format["broadcast"]["sessions"] == in_2025.loc[
        in_2025["format"] == "broadcast", "sessions"].sum()
    assert by_format["job_counselling"]["participants"] == in_2025.loc[
        in_2025["format"] == "job_counselling", "participants"].sum() > 0
