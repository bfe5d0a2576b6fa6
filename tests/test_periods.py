"""Period presets from the day the data ends."""

import datetime as dt

import pandas as pd
import pytest

from layers.periods import (
    PRESETS, data_quarters, latest_complete_quarter, parse_quarter, preset_period, quarter_code,
    quarter_number, within,
)

D = dt.date


@pytest.mark.parametrize("name,last,expected", [
    ("quarter", D(2025, 12, 31), (D(2025, 10, 1), D(2025, 12, 31))),
    ("quarter", D(2025, 1, 1), (D(2025, 1, 1), D(2025, 1, 1))),
    ("half", D(2025, 3, 31), (D(2024, 10, 1), D(2025, 3, 31))),
    ("year", D(2024, 2, 29), (D(2024, 1, 1), D(2024, 2, 29))),
    ("campaign", D(2025, 8, 14), (D(2025, 7, 1), D(2025, 8, 14))),
    ("campaign", D(2025, 12, 31), (D(2025, 7, 1), D(2025, 9, 30))),
    ("campaign", D(2025, 6, 30), (D(2024, 7, 1), D(2024, 9, 30))),
])
def test_presets(name, last, expected):
    assert preset_period(name, last) == expected


def test_all_and_unknown():
    assert preset_period("all", D(2025, 12, 31), D(2022, 1, 1)) == (D(2022, 1, 1), D(2025, 12, 31))
    assert set(PRESETS) == {"quarter", "half", "year", "campaign", "all"}
    with pytest.raises(ValueError, match="unknown period preset"):
        preset_period("fortnight", D(2025, 1, 1))


@pytest.mark.parametrize("end, expected", [
    (dt.date(2025, 12, 31), (dt.date(2025, 1, 1), dt.date(2025, 12, 31))),
    (dt.date(2025, 6, 30), (dt.date(2024, 7, 1), dt.date(2025, 6, 30))),
    (dt.date(2025, 8, 14), (dt.date(2024, 10, 1), dt.date(2025, 8, 14))),
    (dt.date(2024, 2, 29), (dt.date(2023, 4, 1), dt.date(2024, 2, 29))),
])
def test_four_quarters_up_to_the_end(end, expected):
    """The longer period offered under an all-grey map: four calendar quarters up to the end."""
    from layers.periods import four_quarters

    assert four_quarters(end) == expected


def test_a_period_holds_both_its_days_and_only_them():
    dates = pd.Series(pd.to_datetime(["2024-06-30 23:59", "2024-04-01 00:00", "2024-03-31 23:59",
                                      "2024-07-01 00:00", None]), index=list("abcde"))
    inside = within(dates, dt.date(2024, 4, 1), dt.date(2024, 6, 30))
    assert inside.to_dict() == {"a": True, "b": True, "c": False, "d": False, "e": False}
    # one day: both bounds the same day
    assert within(dates, dt.date(2024, 6, 30), dt.date(2024, 6, 30)).tolist() == [
        True, False, False, False, False]
    # open sides: a missing date stays outside any bound, and inside none
    assert within(dates, start=dt.date(2024, 4, 1)).tolist() == [True, True, False, True, False]
    assert within(dates).tolist() == [True] * 5
    # dates given as text are read as dates
    assert within(pd.Series(["2024-06-30"]), dt.date(2024, 6, 30), dt.date(2024, 6, 30)).all()


def test_quarters_are_read_and_listed():
    start, end = dt.date(2025, 7, 1), dt.date(2025, 9, 30)
    assert parse_quarter("2025Q3") == (start, end)
    assert parse_quarter(" 2024-q1 ") == (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    for bad in ("2025Q5", "2025Q0", "Q3", "2025", "", "2025Q12", None):
        with pytest.raises(ValueError, match="not a quarter"):
            parse_quarter(bad)
    assert quarter_code(start, end) == "2025Q3"
    assert quarter_code(start, dt.date(2025, 8, 31)) is None
    assert data_quarters(dt.date(2022, 1, 2), dt.date(2025, 12, 31))[:2] == ["2025Q4", "2025Q3"]
    assert len(data_quarters(dt.date(2022, 1, 2), dt.date(2025, 12, 31))) == 16


@pytest.mark.parametrize(("last", "today", "expected"), [
    (dt.date(2025, 12, 31), dt.date(2026, 11, 23), "2025Q4"),  # the demo: its last day
    (dt.date(2025, 12, 28), dt.date(2026, 1, 5), "2025Q4"),   # quarter over, data extracted after
    (dt.date(2025, 12, 28), dt.date(2025, 12, 29), "2025Q3"),  # quarter still running
    (dt.date(2025, 1, 10), dt.date(2025, 1, 11), "2024Q4"),
])
def test_latest_complete_quarter(last, today, expected):
    assert latest_complete_quarter(last, today) == expected


def test_a_days_quarter_is_the_calendar_quarter_it_falls_in():
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D")  # a leap year and a common one
    assert [quarter_number(d.date()) for d in days] == list(days.quarter)
    for code in ("2025Q1", "2025Q2", "2025Q3", "2025Q4"):
        first, last = parse_quarter(code)
        assert quarter_number(first) == quarter_number(last) == int(code[-1])
