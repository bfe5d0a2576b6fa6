"""Period comparison: the periods chosen, the counts, and the test for counts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from layers.compare import (campaign_comparison, compare_periods, poisson_rate_test,
                            previous_period, year_before)

COMMUNES = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Long Thuận", "Xã Tân Lập"]},
                        index=["25681", "25702", "25489"])


def _incidents(spec: dict[tuple[str, str], int]) -> pd.DataFrame:
    """``{(code, iso date): n}`` → n tip records of that commune on that day."""
    rows = [(pd.Timestamp(day), "tip", code, code) for (code, day), n in spec.items()
            for _ in range(n)]
    return pd.DataFrame(rows, columns=["date", "type", "new_code", "old_code"])


def test_periods():
    assert previous_period(dt.date(2025, 1, 1), dt.date(2025, 6, 30)) == \
        (dt.date(2024, 7, 1), dt.date(2024, 12, 31))
    assert previous_period(dt.date(2024, 3, 1), dt.date(2024, 3, 31)) == \
        (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert year_before(dt.date(2024, 2, 29), dt.date(2024, 3, 31)) == \
        (dt.date(2023, 2, 28), dt.date(2023, 3, 31))


def test_rate_test_matches_a_hand_computation():
    # equal lengths: a | a+b ~ Binomial(n, 1/2); P(X >= 20 | n=25) doubled
    from math import comb

    one_side = sum(comb(25, k) for k in range(20, 26)) / 2 ** 25
    assert poisson_rate_test(20, 5, 90, 90) == pytest.approx(2 * one_side)
    # the rate, not the count, is compared: 10 in 10 days vs 10 in 100 days differs
    assert poisson_rate_test(10, 10, 10, 100) < 1e-4
    assert poisson_rate_test(10, 100, 10, 100) == pytest.approx(1.0)


def test_compare_with_previous_quarter():
    inc = _incidents({("25681", "2024-08-01"): 30, ("25681", "2024-05-01"): 10,
                      ("25702", "2024-08-01"): 3, ("25702", "2024-05-01"): 2,
                      ("25489", "2024-05-01"): 12})
    layer = compare_periods(inc, COMMUNES, unit_set="2025", start=dt.date(2024, 7, 1),
                            end=dt.date(2024, 9, 30))
    f = layer.frame
    assert f.loc["25681", ["count", "other", "change", "trend"]].tolist() == [30, 10, 20, 1]
    assert f.loc["25702", ["count", "other", "trend"]].tolist() == [3, 2, 0]  # too few to tell
    assert f.loc["25489", ["count", "other", "trend"]].tolist() == [0, 12, -1]
    assert f.loc["25489", "ratio"] == 0 and np.isnan(f.loc[["25681", "25702", "25489"], "ratio"]).sum() == 0
    assert layer.params["other_start"] == dt.date(2024, 4, 1)
    assert (layer.params["total"], layer.params["total_other"]) == (33, 24)


def test_compare_with_a_year_before_and_bad_input():
    inc = _incidents({("25681", "2024-08-01"): 5, ("25681", "2023-08-01"): 5})
    layer = compare_periods(inc, COMMUNES, unit_set="2025", start=dt.date(2024, 7, 1),
                            end=dt.date(2024, 9, 30), against="year_before")
    assert layer.frame.loc["25681", ["count", "other", "trend"]].tolist() == [5, 5, 0]
    assert layer.frame.loc["25681", "p_value"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="before start"):
        compare_periods(inc, COMMUNES, unit_set="2025", start=dt.date(2024, 9, 30),
                        end=dt.date(2024, 7, 1))
    with pytest.raises(ValueError, match="against"):
        compare_periods(inc, COMMUNES, unit_set="2025", start=dt.date(2024, 7, 1),
                        end=dt.date(2024, 9, 30), against="last_week")


def test_no_change_gives_few_false_alarms():
    """Same Poisson rate in both periods: about alpha of communes (or fewer: exact test) flag."""
    rng = np.random.default_rng(11)
    codes = [f"{i:05d}" for i in range(400)]
    com = pd.DataFrame({"name": codes}, index=codes)
    spec = {}
    for code in codes:
        spec[(code, "2024-08-01")] = int(rng.poisson(6))
        spec[(code, "2024-05-01")] = int(rng.poisson(6))
    layer = compare_periods(_incidents(spec), com, unit_set="2025",
                            start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    flagged = (layer.frame["trend"] != 0).mean()
    assert flagged <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 400)


def test_campaign_window_against_the_rest_of_the_year():
    inc = _incidents({("25681", "2024-07-15"): 46, ("25681", "2024-01-10"): 60})
    out = campaign_comparison(inc, 2024)
    assert (out["campaign"], out["rest"]) == (46, 60)
    assert (out["campaign_days"], out["rest_days"]) == (92, 274)
    assert out["ratio"] == pytest.approx((46 / 92) / (60 / 274))
    assert out["p_value"] < 0.001
    # a year in progress counts only the days so far
    part = campaign_comparison(inc, 2024, today=dt.date(2024, 7, 31))
    assert (part["campaign_days"], part["rest_days"]) == (31, 182)
    with pytest.raises(ValueError):
        campaign_comparison(inc, 2025, today=dt.date(2024, 12, 31))
