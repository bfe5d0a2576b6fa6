"""The province trend (layers/trend.py): counts that add up to the records, the campaign
windows' dates, and the release below commander read from the plan's province cells."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from geo.units import NEW
from layers.counts import INCIDENT_TYPES
from layers.suppression import PUBLISHED, ReleaseRefused, release_plan
from layers.trend import campaign_windows, province_trend, released_trend


def _random_records(n: int = 500, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.to_datetime("2023-02-11") + pd.to_timedelta(rng.integers(0, 800, n), unit="D")
    return pd.DataFrame({"date": days, "type": rng.choice(INCIDENT_TYPES, n)})


def test_the_trend_sums_to_the_records_per_type_and_period():
    records = _random_records()
    for freq in ("Q", "M"):
        trend = province_trend(records, freq=freq)
        assert trend.groupby("type")["count"].sum().to_dict() == \
            records["type"].value_counts().to_dict()
        assert int(trend["count"].sum()) == len(records)
        # every period of the span and every type, zeros included, periods contiguous
        periods = trend["period"].unique()
        assert len(trend) == len(periods) * 4
        starts = pd.to_datetime(trend["start"].unique())
        step = pd.offsets.QuarterBegin(startingMonth=1) if freq == "Q" else pd.offsets.MonthBegin()
        assert all(b == a + step for a, b in zip(starts, starts[1:]))
    quarters = province_trend(records, freq="Q")
    assert (quarters["period"].iloc[0], quarters["period"].iloc[-1]) == ("2023Q1", "2025Q2")
    assert (quarters["start"].iloc[0], quarters["end"].iloc[-1]) == (
        dt.date(2023, 1, 1), dt.date(2025, 6, 30))
    # one quarter by hand
    q3 = (records["date"] >= "2024-07-01") & (records["date"] < "2024-10-01")
    row = quarters[(quarters["period"] == "2024Q3") & (quarters["type"] == "victim")]
    assert int(row["count"].iloc[0]) == int((q3 & (records["type"] == "victim")).sum())
    # months add up to their quarter
    months = province_trend(records, freq="M")
    months["quarter"] = pd.PeriodIndex(months["period"], freq="M").asfreq("Q").astype(str)
    by_quarter = months.groupby(["quarter", "type"])["count"].sum()
    assert by_quarter.to_dict() == quarters.set_index(["period", "type"])["count"].to_dict()


def test_types_and_span_are_those_asked_for():
    records = _random_records()
    trend = province_trend(records, types=["victim", "tip"], first=dt.date(2024, 1, 1),
                           last=dt.date(2024, 12, 31))
    assert list(trend["type"].unique()) == ["tip", "victim"]  # the catalogue's order
    assert list(trend["period"].unique()) == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    in_2024 = records[(records["date"].dt.year == 2024) & records["type"].isin(["tip", "victim"])]
    assert int(trend["count"].sum()) == len(in_2024)
    # a span beyond the records: zeros there
    wide = province_trend(records, first=dt.date(2022, 1, 1))
    assert wide[wide["period"].str.startswith("2022")]["count"].sum() == 0
    assert int(wide["count"].sum()) == len(records)


def test_bad_inputs_are_refused_and_no_records_give_an_empty_frame():
    records = _random_records(20)
    with pytest.raises(ValueError, match="step"):
        province_trend(records, freq="W")
    with pytest.raises(ValueError, match="unknown incident types"):
        province_trend(records, types=["theft"])
    with pytest.raises(ValueError, match="before"):
        province_trend(records, first=dt.date(2025, 1, 1), last=dt.date(2024, 1, 1))
    empty = province_trend(records.iloc[:0])
    assert empty.empty and list(empty.columns) == ["period", "start", "end", "type", "count"]
    assert province_trend(records, types=[]).empty


def test_campaign_windows_are_01_07_to_30_09_of_each_year_they_meet():
    windows = campaign_windows(dt.date(2022, 1, 1), dt.date(2025, 12, 31))
    assert windows["year"].tolist() == [2022, 2023, 2024, 2025]
    assert windows["start"].tolist() == [dt.date(y, 7, 1) for y in range(2022, 2026)]
    assert windows["end"].tolist() == [dt.date(y, 9, 30) for y in range(2022, 2026)]
    # a span starting after a window, or ending before one, leaves it out
    assert campaign_windows(dt.date(2024, 10, 1), dt.date(2025, 6, 30)).empty
    assert campaign_windows(dt.date(2024, 9, 30), dt.date(2025, 7, 1))["year"].tolist() == [
        2024, 2025]
    # a span inside a window: the whole window
    inside = campaign_windows(dt.date(2024, 8, 1), dt.date(2024, 8, 31))
    assert (inside["start"].iloc[0], inside["end"].iloc[0]) == (dt.date(2024, 7, 1),
                                                                 dt.date(2024, 9, 30))


# -- below commander: the plan's province cells ------------------------------------------------

#: Province victims per quarter of 2024 (2024Q1 is small) and tips (never small).
VICTIMS = {"2024-02-10": 3, "2024-05-10": 8, "2024-08-10": 12, "2024-11-10": 9}
TIPS = {"2024-02-10": 20, "2024-05-10": 21, "2024-08-10": 30, "2024-11-10": 22}


@pytest.fixture(scope="module")
def fixed(registry):
    codes = list(registry.communes.index[:4])
    rows = []
    for kind, table in (("victim", VICTIMS), ("tip", TIPS)):
        for day, n in table.items():
            rows += [{"date": day, "type": kind, "new_code": codes[i % len(codes)]}
                     for i in range(n)]
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["old_code"] = [registry.old_codes_of(c)[0] for c in frame["new_code"]]
    plan = release_plan(frame, registry, unit_sets=(NEW,))
    return frame, plan


def _series(trend: pd.DataFrame, kind: str) -> pd.DataFrame:
    return trend[trend["type"] == kind].set_index("period")


def test_released_trend_hides_what_the_plan_hides_and_nothing_else(fixed):
    records, plan = fixed
    trend = province_trend(records, types=["tip", "victim"])
    shown = released_trend(trend, plan)
    victims, raw = _series(shown, "victim"), _series(trend, "victim")
    assert raw["count"].tolist() == [3, 8, 12, 9]
    # the small quarter is "< 5" with no number
    assert pd.isna(victims.at["2024Q1", "count"]) and victims.at["2024Q1", "label"] == "< 5"
    for period, row in victims.iterrows():
        cell = plan.province(period, "victim")
        if cell["status"] == PUBLISHED:
            assert row["count"] == raw.at[period, "count"] and pd.isna(row["label"])
        else:
            assert pd.isna(row["count"]) and row["label"] == cell["label"]
    # no differencing: the hidden quarter is not the published year (or half-year) minus
    # the quarters shown beside it
    hidden = victims.index[victims["count"].isna()].tolist()
    assert len(hidden) >= 2 or plan.province("2024", "victim")["status"] != PUBLISHED
    if plan.province("2024H1", "victim")["status"] == PUBLISHED:
        assert "2024Q2" in hidden
    # here: H1 (11) is published, so its other quarter (8) is the complement "x"
    assert victims.at["2024Q2", "label"] == "x" and victims.at["2024Q3", "count"] == 12
    # tips: every quarter at least 5, all shown as counted
    tips = _series(shown, "tip")
    assert tips["count"].tolist() == [20, 21, 30, 22] and tips["label"].isna().all()
    assert str(shown["count"].dtype) == "Int64"
    assert trend.loc[trend["type"] == "victim", "count"].iloc[0] == 3  # input untouched


def test_quarters_outside_the_plans_years_are_zeros_and_published(fixed):
    records, plan = fixed
    trend = province_trend(records, types=["victim"], first=dt.date(2023, 1, 1))
    shown = released_trend(trend, plan)
    early = shown[shown["period"].str.startswith("2023")]
    assert len(early) == 4 and early["count"].tolist() == [0, 0, 0, 0]


def test_months_other_data_and_the_type_total_are_refused(fixed, registry):
    records, plan = fixed
    with pytest.raises(ReleaseRefused, match="quarter"):
        released_trend(province_trend(records, freq="M"), plan)
    other = records.copy()
    other.loc[other["type"] == "victim", "date"] = pd.Timestamp("2024-08-10")
    with pytest.raises(ReleaseRefused, match="other records"):
        released_trend(province_trend(other, types=["victim"]), plan)
    lumped = province_trend(records, types=["victim"]).assign(type="all")
    with pytest.raises(ReleaseRefused):
        released_trend(lumped, plan)
    empty = released_trend(province_trend(records.iloc[:0]), plan)
    assert empty.empty and {"count", "label"} <= set(empty.columns)
