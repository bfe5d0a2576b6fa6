"""Period comparison: the periods chosen, the counts, the test for counts and its correction."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.rates import test_poisson_2indep as poisson_2indep

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
    inc = _incidents({("25681", "2024-08-01"): 30, ("25681", "2024-04-01"): 10,
                      ("25702", "2024-08-01"): 3, ("25702", "2024-05-01"): 2,
                      ("25489", "2024-05-01"): 12})
    layer = compare_periods(inc, COMMUNES, unit_set="2025", start=dt.date(2024, 7, 1),
                            end=dt.date(2024, 9, 30), against="previous")
    f = layer.frame
    assert f.loc["25681", ["count", "other", "change", "trend"]].tolist() == [30, 10, 20, 1]
    assert f.loc["25702", ["count", "other", "trend"]].tolist() == [3, 2, 0]  # too few to tell
    assert f.loc["25489", ["count", "other", "trend"]].tolist() == [0, 12, -1]
    assert f.loc["25489", "ratio"] == 0 and np.isnan(f.loc[["25681", "25702", "25489"], "ratio"]).sum() == 0
    assert layer.params["other_start"] == dt.date(2024, 4, 1)
    assert (layer.params["total"], layer.params["total_other"]) == (33, 24)
    # the quarter before includes the season: the layer says so in its legend and explanation
    assert layer.params["seasonal"] and layer.legend_key == "layer.compare.legend.seasonal"
    assert layer.params["explain_key"] == "layer.compare.explain.previous"


def test_compare_with_a_year_before_and_bad_input():
    inc = _incidents({("25681", "2024-08-01"): 5, ("25681", "2023-07-01"): 5})
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
        spec[(code, "2024-04-01")] = int(rng.poisson(6))
    layer = compare_periods(_incidents(spec), com, unit_set="2025",
                            start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30),
                            against="previous")
    uncorrected = (layer.frame["p_value"] < 0.05).mean()
    assert uncorrected <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 400)
    assert (layer.frame["trend"] != 0).sum() == 0  # no change, and the FDR map says so


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


# -- issue 16: change that is not the season ------------------------------------------------

def _seasonal_province(seed: int = 16) -> tuple[pd.DataFrame, pd.DataFrame]:
    """96 communes over 2023–2024 with the demo's season: the July–September campaign
    doubles each commune's daily rate, the same in both years (no change at all)."""
    rng = np.random.default_rng(seed)
    codes = [f"{i:05d}" for i in range(96)]
    base = rng.gamma(4.0, 5.0, size=96)  # incidents per quarter outside the campaign
    spec = {}
    for year in (2023, 2024):
        for quarter, factor in ((1, 1.0), (2, 1.0), (3, 2.0), (4, 1.0)):
            day = f"{year}-{3 * quarter - 1:02d}-15"
            for code, mean in zip(codes, base, strict=True):
                spec[(code, day)] = int(rng.poisson(mean * factor))
    spec[(codes[0], "2023-01-01")] = spec[(codes[0], "2023-02-15")]  # records begin 1/1/2023
    return _incidents(spec), pd.DataFrame({"name": codes}, index=codes)


def test_the_campaign_quarter_is_not_a_rise_by_default():
    """Q3 against Q2 is the season; the default compares Q3 with Q3 of the year before."""
    inc, com = _seasonal_province()
    q3 = dict(unit_set="2025", start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    default = compare_periods(inc, com, **q3)
    assert (default.params["other_start"], default.params["other_end"]) == \
        (dt.date(2023, 7, 1), dt.date(2023, 9, 30))
    assert default.params["against"] == "year_before" and not default.params["seasonal"]
    assert default.legend_key == "layer.compare.legend"
    assert (default.frame["trend"] == 1).sum() == 0
    # the quarter before, asked for explicitly, shows the season as rises, and says so
    season = compare_periods(inc, com, against="previous", **q3)
    assert (season.frame["trend"] == 1).sum() >= 10
    assert season.params["seasonal"] and season.legend_key == "layer.compare.legend.seasonal"


#: The demo's 2025Q3 against 2025Q2: the six communes the uncorrected 5 % test called rising
#: (count now, count before), among 96 communes; the other 90 changed by chance only.
SIX_RISES = [(34, 17), (41, 17), (27, 2), (7, 0), (21, 6), (12, 2)]


def test_benjamini_hochberg_keeps_one_of_the_six_rises():
    codes = [f"{i:05d}" for i in range(96)]
    pairs = SIX_RISES + [(n, n) for n in range(1, 91)]
    spec = {}
    for code, (now, before) in zip(codes, pairs, strict=True):
        spec[(code, "2025-08-01")], spec[(code, "2025-04-01")] = now, before
    layer = compare_periods(_incidents({k: v for k, v in spec.items() if v}),
                            pd.DataFrame({"name": codes}, index=codes), unit_set="2025",
                            start=dt.date(2025, 7, 1), end=dt.date(2025, 9, 30),
                            against="previous")
    f = layer.frame
    assert (f["p_value"] < 0.05).sum() == 6  # uncorrected
    assert f["trend"].tolist() == [0, 0, 1] + [0] * 93  # 27 against 2 survives
    assert f.loc["00002", "p_value"] <= layer.params["fdr_threshold"] < f["p_value"].iloc[1]
    assert (f["fdr_threshold"] == layer.params["fdr_threshold"]).all()
    # the same decisions as statsmodels: exact conditional test, then fdr_bh over the tests
    expected = [poisson_2indep(a, 92, b, 91, method="exact-cond").pvalue for a, b in pairs]
    assert f["p_value"].to_numpy() == pytest.approx(expected, rel=1e-9)
    reject = multipletests(expected, alpha=0.05, method="fdr_bh")[0]
    assert ((f["trend"] != 0).to_numpy() == reject).all()
    assert layer.params["n_tests"] == 96


def test_bh_over_the_tested_communes_only():
    """A commune with no record in either period is no test: it does not dilute the others."""
    spec = {("25681", "2025-08-01"): 9, ("25702", "2025-08-01"): 2, ("25702", "2025-04-01"): 2,
            ("25489", "2025-01-01"): 1}  # 25489 has nothing in Q2 or Q3
    layer = compare_periods(_incidents(spec), COMMUNES, unit_set="2025",
                            start=dt.date(2025, 7, 1), end=dt.date(2025, 9, 30),
                            against="previous")
    p = layer.frame["p_value"]
    assert layer.params["n_tests"] == 2 and p["25489"] == 1.0
    reject = multipletests(p[["25681", "25702"]], alpha=0.05, method="fdr_bh")[0]
    assert layer.frame.loc[["25681", "25702"], "trend"].tolist() == [1 if r else 0 for r in reject]
    assert layer.frame["trend"].tolist() == [1, 0, 0]


def test_no_earlier_period_is_its_own_class_never_no_change():
    """The first year of records against a year before: nothing to compare with (not "0 → 324,
    no significant change", nor a rise)."""
    inc = _incidents({("25681", "2024-08-01"): 324, ("25702", "2024-08-01"): 3,
                      ("25489", "2024-01-03"): 1})  # records begin in January 2024
    q3 = dict(unit_set="2025", start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    layer = compare_periods(inc, COMMUNES, **q3)
    f = layer.frame
    assert f["trend"].tolist() == [2, 2, 2]  # "no comparison", for every commune
    assert not (f["trend"] == 0).any() and not (f["trend"] == 1).any()
    assert f.loc["25681", ["count", "other"]].tolist() == [324, 0]
    assert f[["change", "ratio", "p_value", "fdr_threshold"]].isna().all().all()
    assert not layer.params["comparable"] and layer.params["records_start"] == dt.date(2024, 1, 1)
    assert layer.params["explain_key"] == "layer.compare.explain.none"
    from layers.compare import NO_COMPARISON

    assert NO_COMPARISON == 2
    assert {c["code"]: c["message_key"] for c in layer.params["classes"]}[2] == "trend.2"
    # the quarter before is covered: then there is a comparison (and the season shows)
    assert compare_periods(inc, COMMUNES, against="previous", **q3).params["comparable"]
    # a period whose comparison starts before the records is not compared either (partial)
    late = compare_periods(inc, COMMUNES, unit_set="2025", start=dt.date(2024, 12, 1),
                           end=dt.date(2025, 2, 28))
    assert late.params["other_start"] == dt.date(2023, 12, 1) and not late.params["comparable"]
    # the records cover the month of their first day: 2/1 covers a period from 1/1
    inc2 = _incidents({("25681", "2022-01-02"): 1, ("25681", "2023-02-01"): 4})
    covered = compare_periods(inc2, COMMUNES, unit_set="2025", start=dt.date(2023, 1, 1),
                              end=dt.date(2023, 3, 31))
    assert covered.params["comparable"] and covered.frame.loc["25681", "trend"] == 0


def test_the_no_comparison_grey_stands_apart():
    """Four classes on one scale (always all four, so that a values-only update keeps it):
    the grey of "no comparison" differs in grey print and for colour-blind viewers."""
    from layers.compare import CHANGE_CLASS_SCALE, CHANGE_SCALE, NO_COMPARISON_COLOUR
    from tests.test_colour_scales import _MACHADO, _lab, _min_difference

    colours = [c for _, c in CHANGE_CLASS_SCALE[::2]]
    assert colours == [c for _, c in CHANGE_SCALE[::2]] + [NO_COMPARISON_COLOUR]
    lightness = sorted(_lab(c)[0] for c in colours)
    assert min(b - a for a, b in zip(lightness, lightness[1:])) >= 15
    for deficiency in (None, *_MACHADO):
        assert _min_difference(colours, deficiency) >= 15
    # each code sits in its own band of the −1.5 … 2.5 range
    layer = compare_periods(_incidents({("25681", "2024-08-01"): 1}), COMMUNES,
                            unit_set="2025", start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    lo, hi = layer.params["zmin"], layer.params["zmax"]
    for code, colour in zip((-1, 0, 1, 2), colours, strict=True):
        x = (code - lo) / (hi - lo)
        band = [c for (a, c), (b, _) in zip(CHANGE_CLASS_SCALE, CHANGE_CLASS_SCALE[1:])
                if a <= x <= b]
        assert band and band[0] == colour


def test_the_cube_gives_the_same_comparison_and_the_same_first_month():
    """Read from the cube (layers/cube.py): the counts of both periods and the first
    month the records cover are those read from the records."""
    from layers.cube import build_cube

    inc = _incidents({("25681", "2024-08-01"): 30, ("25681", "2024-04-01"): 10,
                      ("25702", "2024-08-01"): 3, ("25489", "2024-01-03"): 12})
    cube = build_cube(inc, {"2025": COMMUNES})
    q3 = dict(unit_set="2025", start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    layer = compare_periods(inc, COMMUNES, against="previous", **q3, cube=cube)
    assert layer.frame.loc["25681", ["count", "other", "trend"]].tolist() == [30, 10, 1]
    pd.testing.assert_frame_equal(layer.frame,
                                  compare_periods(inc, COMMUNES, against="previous", **q3).frame)
    year = compare_periods(inc, COMMUNES, **q3, cube=cube)
    assert year.params["records_start"] == dt.date(2024, 1, 1) and not year.params["comparable"]
    assert (year.frame["trend"] == 2).all()
    with pytest.raises(ValueError, match="end .* is before start"):
        compare_periods(inc, COMMUNES, unit_set="2025", start=dt.date(2024, 9, 30),
                        end=dt.date(2024, 7, 1), cube=cube)


def test_poisson_rate_tests_are_scipys_binomtest_p_values_to_the_bit():
    """The change map's tests of all communes at once give the p-value of scipy's binomtest
    commune by commune, exactly: sparse and large counts, equal and unequal periods, zeros."""
    import numpy as np

    from layers.compare import poisson_rate_test, poisson_rate_tests

    rng = np.random.default_rng(18)
    for trial in range(40):
        scale = rng.choice([0.5, 3, 30, 400, 3000])
        a = rng.poisson(rng.gamma(1.0, scale, 300))
        b = rng.poisson(rng.gamma(1.0, scale, 300))
        days_a = int(rng.integers(1, 400))
        days_b = days_a if trial % 4 == 0 else int(rng.integers(1, 400))
        want = [poisson_rate_test(x, y, days_a, days_b) for x, y in zip(a, b, strict=True)]
        np.testing.assert_array_equal(poisson_rate_tests(a, b, days_a, days_b), want)
    assert poisson_rate_tests([], [], 90, 90).tolist() == []
    assert poisson_rate_tests([0, 7], [0, 7], 90, 90).tolist() == [1.0, 1.0]
