"""Plan indicators below commander: small rates withheld, differencing, agreement with the maps."""

from __future__ import annotations

import datetime as dt
import doctest

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from geo.units import NEW, PROVINCE_CODE
from layers.suppression import indicators as module
from layers.suppression.indicators import (
    INCIDENT_MEASURES,
    WITHHELD,
    indicator_release,
    indicator_table,
)
from layers.suppression import (
    COMPLEMENTARY,
    PRIMARY,
    Hierarchy,
    ReleaseRefused,
    disclosure_bounds,
    hierarchy_table,
    release_plan,
    suppress,
    unit_key,
)
from layers.suppression.audit import Program as _Program
from layers.suppression.engine import _State
from layers.targets import (
    CENSORED,
    PLANS_DIR,
    Indicator,
    compute_indicator,
    load_plan,
    status_stage,
    track,
    wilson_interval,
)

D = dt.date
Q1, Q2, Q3, Q4 = ((D(2024, 1, 1), D(2024, 3, 31)), (D(2024, 4, 1), D(2024, 6, 30)),
                  (D(2024, 7, 1), D(2024, 9, 30)), (D(2024, 10, 1), D(2024, 12, 31)))
H1 = (D(2024, 1, 1), D(2024, 6, 30))
Q5, Q6 = (D(2025, 1, 1), D(2025, 3, 31)), (D(2025, 4, 1), D(2025, 6, 30))
JAN_JUL = (D(2024, 1, 1), D(2024, 7, 31))  # off the grid


@pytest.fixture(scope="module")
def records(registry):
    """Trafficking cases and tips in six 2025 communes, 2024–2025.

    Cases: 2024Q1 3 (2 verified, 1 received); 2024Q2 30 (10 verified, 12 tried,
    8 received); 2024Q3 40 (20 prosecuted, 18 tried, 2 open: one " Received ",
    one without status); every later quarter 22 (9 prosecuted, 7 tried, 6
    without status). Tips: 2024Q1 20 verified, 2024Q2 20 received, later 25
    verified and 11 received a quarter.
    """
    codes = list(registry.communes.index[:6])
    rows = []

    def add(date, kind, status, n, code):
        rows.extend([{"date": date, "type": kind, "status": status, "new_code": code}] * n)

    add("2024-02-01", "trafficking_case", "verified", 2, codes[0])
    add("2024-02-01", "trafficking_case", "received", 1, codes[1])
    add("2024-05-01", "trafficking_case", "verified", 10, codes[2])
    add("2024-05-01", "trafficking_case", "tried", 12, codes[3])
    add("2024-05-01", "trafficking_case", "received", 8, codes[4])
    add("2024-08-01", "trafficking_case", "prosecuted", 20, codes[0])
    add("2024-08-01", "trafficking_case", "Tried", 18, codes[1])
    add("2024-08-01", "trafficking_case", " Received ", 1, codes[2])
    add("2024-08-01", "trafficking_case", None, 1, codes[3])
    for day in ("2024-11-01", "2025-02-01", "2025-05-01", "2025-08-01", "2025-11-01"):
        add(day, "trafficking_case", "prosecuted", 9, codes[0])
        add(day, "trafficking_case", "tried", 7, codes[1])
        add(day, "trafficking_case", None, 6, codes[2])
    for day in ("2024-08-01", "2024-11-01", "2025-02-01", "2025-05-01", "2025-08-01",
                "2025-11-01"):
        add(day, "tip", "verified", 25, codes[3])
        add(day, "tip", "received", 11, codes[4])
    add("2024-02-01", "tip", "verified", 20, codes[5])
    add("2024-05-01", "tip", "received", 20, codes[5])
    add("2024-03-01", "victim", None, 2, codes[5])
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["old_code"] = [registry.old_codes_of(c)[0] for c in frame["new_code"]]
    return frame


@pytest.fixture(scope="module")
def plan(records, registry):
    return release_plan(records, registry, unit_sets=(NEW,))


@pytest.fixture(scope="module")
def release(records, plan):
    return indicator_release(records, plan)


def _lagged(plan, months: int):
    """The plan with every case measure counting the cases ``months`` before the period."""
    return plan.model_copy(update={"indicators": tuple(
        i.model_copy(update={"cohort_lag_months": months}) if i.measure in CENSORED else i
        for i in plan.indicators)})


#: Cases prosecuted (prosecuted or tried / all cases): the measure whose cells are a
#: share of every case, so its small open remainder is what the release must protect.
PROSECUTED = Indicator.model_validate({
    "id": "cases_prosecuted", "label_vi": "Khởi tố", "label_en": "Prosecuted",
    "measure": "prosecution_rate", "target": 90, "direction": "at_least", "cohort_lag_months": 0,
    "source_ref": {"document": "test", "section": "test", "quote": "test"}})


@pytest.fixture(scope="module")
def tay_ninh():
    """470/KH-UBND with the case measures on the period's own cases (lag 0), and the cases
    prosecuted out of all cases (:data:`PROSECUTED`)."""
    plan = _lagged(load_plan(PLANS_DIR / "tay_ninh_2024.yaml"), 0)
    return plan.model_copy(update={"indicators": plan.indicators + (PROSECUTED,)})


@pytest.fixture(scope="module")
def national():
    return _lagged(load_plan(PLANS_DIR / "national_programme.yaml"), 0)


def _row(table: pd.DataFrame, indicator: str, period) -> pd.Series:
    rows = table[(table["indicator"] == indicator) & (table["period_start"] == period[0])
                 & (table["period_end"] == period[1])]
    assert len(rows) == 1
    return rows.iloc[0]


# -- the table --------------------------------------------------------------------------------


def test_the_stages_are_the_measures_own_counts():
    """Every numerator and denominator of the four measures is a cell, whatever the statuses."""
    rng = np.random.default_rng(3)
    statuses = np.array(["received", "verified", "prosecuted", "tried", " Tried", "VERIFIED",
                         "", "closed", None], dtype=object)
    n = 400
    records = pd.DataFrame({
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, n), "D"),
        "type": rng.choice(["trafficking_case", "tip", "victim"], n),
        "status": statuses[rng.integers(0, len(statuses), n)],
        "new_code": "27787"})
    cells = indicator_table(records, first_year=2024, last_year=2024).cells["count"]
    ind = load_plan(PLANS_DIR / "tay_ninh_2024.yaml").indicators[0]
    for measure, (numerator, denominator) in INCIDENT_MEASURES.items():
        indicator = ind.model_copy(update={"measure": measure, "cohort_lag_months": 0})
        for label, period in (("2024Q1", Q1), ("2024H2", (Q3[0], Q4[1])), ("2024", (Q1[0], Q4[1]))):
            v = compute_indicator(indicator, {"incidents": records}, period)
            assert (v.numerator, v.denominator) == (cells[label, numerator],
                                                    cells[label, denominator]), measure
    assert status_stage(pd.Series([" Tried", "PROSECUTED", "verified", "received", "", None,
                                   "closed"])).tolist() == [
        "tried", "prosecuted", "verified", "open", "open", "open", "open"]


def test_indicator_table_by_hand(records):
    cells = indicator_table(records, first_year=2024, last_year=2025).cells["count"]
    assert cells["2024Q1", "case:all"] == 3 and cells["2024Q1", "case:cleared"] == 2
    assert cells["2024Q3", "case:open"] == 2 and cells["2024Q3", "case:prosecuted+"] == 38
    assert cells["2024Q3", "case:tried"] == 18 and cells["2024H1", "case:all"] == 33
    assert cells["2024", "tip:cleared"] == 70 and cells["all", "tip:all"] == 256
    assert cells["all", "case:all"] == 73 + 5 * 22


# -- what a role below commander sees ----------------------------------------------------------


def test_a_quarter_of_three_cases_is_withheld_as_a_small_count(records, release, tay_ninh):
    table = track(tay_ninh, {"incidents": records}, [Q1, Q2, Q3, Q4])
    assert _row(table, "cases_prosecuted", Q1)["value"] == 0.0  # 0 of 3
    row = _row(release.release(table), "cases_prosecuted", Q1)
    assert pd.isna(row["value"]) and pd.isna(row["numerator"]) and pd.isna(row["denominator"])
    assert row["value_label"] == "< 5" and row["status"] == WITHHELD
    assert row["reason"] == "suppressed" and pd.isna(row["expected"])
    assert row["target"] == 90  # the plan's target is public


def test_a_rate_near_100_percent_hides_its_few_open_cases(records, release, tay_ninh):
    # 2024Q3: 38 of 40 prosecuted; 40 is published on the map, so 38 would give the 2 open back
    table = release.release(track(tay_ninh, {"incidents": records}, [Q3]))
    row = _row(table, "cases_prosecuted", Q3)
    assert pd.isna(row["value"]) and row["value_label"] == "x"
    assert release.cell("2024Q3", "case:all")["status"] == "published"
    assert release.cell("2024Q3", "case:open")["status"] == "primary"


def test_the_half_year_minus_its_large_quarter_does_not_give_the_small_one(records, release,
                                                                           tay_ninh):
    table = track(tay_ninh, {"incidents": records}, [Q1, Q2, H1])
    shown = release.release(table)
    half = _row(shown, "cases_prosecuted", H1)
    assert (half["numerator"], half["denominator"]) == (12, 33)  # shown: 33 cases is no small count
    # the large quarter is withheld too, as the map withholds its province count
    assert pd.isna(_row(shown, "cases_prosecuted", Q2)["denominator"])
    assert _row(shown, "cases_prosecuted", Q2)["value_label"] == "x"
    # the attack, linear and integer: the small quarter keeps at least two possible values
    for integer in (False, True):
        bounds = disclosure_bounds(release.suppression, integer=integer)
        q1 = bounds.loc[("2024Q1", "case:all")]
        assert (q1["low"], q1["high"]) == (0, 4)
        small = bounds[(bounds["count"] >= 1) & (bounds["count"] < 5)]
        assert len(small) and ((small["high"] - small["low"]) >= 1).all()
    # every relation of the table has no unknown cell or at least two
    s = release.suppression
    unknown = s.suppressed.to_numpy().astype(int)
    per_relation = abs(s.table.relations) @ unknown
    assert not (per_relation == 1).any()


def test_all_cases_and_all_tips_agree_with_the_maps(release, plan):
    status = release.suppression.status
    for type_key, member in (("trafficking_case", "case:all"), ("tip", "tip:all")):
        for period in release.suppression.table.dims[0].members:
            assert status[period, member] == plan.province(period, type_key)["status"], period
    # the map hides some province totals (2024Q1 small, 2024Q2 its complement): so does this
    assert status["2024Q2", "case:all"] == "complementary"
    assert plan.province("2024Q2", "trafficking_case")["status"] == "complementary"


def test_a_total_the_map_hides_is_not_pinned_here(release):
    """A province total withheld by the plan stays unknown: its stages do not add up to it."""
    bounds = disclosure_bounds(release.suppression)
    withheld = release.suppression.status.index[release.suppression.suppressed]
    for key in [k for k in withheld if k[1] in ("case:all", "tip:all")]:
        assert bounds.loc[key, "high"] > bounds.loc[key, "low"], key


def _attack_state(suppression) -> _State:
    state = _State(suppression.table, suppression.threshold, suppression.protection)
    state.suppressed = suppression.status.isin((PRIMARY, COMPLEMENTARY)).to_numpy()
    return state


@pytest.mark.parametrize("integer", [False, True])
def test_no_attack_on_the_maps_and_the_indicators_together_pins_a_small_count(plan, release,
                                                                               integer):
    """One program over both tables' unknown cells, the shared province totals set equal."""
    a, b = _attack_state(plan.suppression), _attack_state(release.suppression)
    cells_a, A, rhs_a, low_a, high_a = a.problem()
    cells_b, B, rhs_b, low_b, high_b = b.problem()
    at_a = {c: i for i, c in enumerate(cells_a)}
    at_b = {c: len(cells_a) + i for i, c in enumerate(cells_b)}
    links = []
    for type_key, member in (("trafficking_case", "case:all"), ("tip", "tip:all")):
        for period in release.suppression.table.dims[0].members:
            i = plan.suppression.table.cells.index.get_loc(
                (unit_key("province", PROVINCE_CODE), period, type_key))
            j = release.suppression.table.cells.index.get_loc((period, member))
            assert (i in at_a) == (j in at_b)  # unknown in both or in neither
            if i in at_a:
                links.append((at_a[i], at_b[j]))
    assert len(links) == 2  # 2024Q1 and 2024Q2 of the trafficking cases
    n = len(cells_a) + len(cells_b)
    link = sparse.csr_matrix(([1.0, -1.0] * len(links),
                              (np.repeat(np.arange(len(links)), 2), np.ravel(links))),
                             shape=(len(links), n))
    program = _Program(
        sparse.vstack([sparse.block_diag([A, B]), link]).tocsr(),
        np.r_[rhs_a, rhs_b, np.zeros(len(links))], np.r_[low_a, low_b], np.r_[high_a, high_b],
        integer=integer)
    truth = np.r_[a.count[cells_a], b.count[cells_b]].astype(float)
    targets = np.r_[np.flatnonzero(a.sensitive[cells_a]),
                    len(cells_a) + np.flatnonzero(b.sensitive[cells_b])]
    assert len(targets) > 10
    assert program.pinned(targets, truth, 1) == []


def test_a_period_off_the_grid_is_withheld(records, release, tay_ninh):
    shown = release.release(track(tay_ninh, {"incidents": records}, [JAN_JUL, H1]))
    row = _row(shown, "cases_tried", JAN_JUL)
    assert row["status"] == WITHHELD and row["reason"] == "off_grid"
    assert pd.isna(row["value"]) and row["value_label"] == "x"
    assert _row(shown, "cases_tried", H1)["value"] == 100.0  # 12 of 12, on the grid
    table = track(tay_ninh, {"incidents": records}, [H1])
    with pytest.raises(ValueError, match="ignore_index"):
        release.release(pd.concat([table, table]))


def test_a_zero_denominator_is_shown(records, release, tay_ninh):
    # 2024Q1: no case prosecuted or tried, so "prosecuted cases tried" has nothing to divide
    row = _row(release.release(track(tay_ninh, {"incidents": records}, [Q1])), "cases_tried", Q1)
    assert row["status"] == "no_data" and row["reason"] == "empty"
    assert pd.isna(row["value_label"])


def test_other_indicators_are_released_unchanged(records, release, tay_ninh, registry):
    keys = list(registry.communes.index[:4])
    outreach = pd.DataFrame({"date": pd.to_datetime(["2024-08-01", "2024-02-01"]),
                             "new_code": keys[:2], "participants": [30, 40], "materials": 1})
    table = track(tay_ninh, {"incidents": records, "outreach": outreach}, [Q1, Q2, Q3],
                  key_areas=keys)
    shown = release.release(table)
    other = ~table["measure"].isin(tuple(INCIDENT_MEASURES))
    assert other.sum() == 3
    pd.testing.assert_frame_equal(shown.loc[other, table.columns], table[other])
    assert shown.loc[other, "value"].tolist() == [25.0, 0.0, 25.0]
    assert shown.loc[other, "notes"].str.contains("outreach alone counted").all()
    assert shown.loc[other, "value_label"].isna().all()


def test_detail_and_notes_of_incident_rows_are_dropped(records, release, tay_ninh):
    table = track(tay_ninh, {"incidents": records}, [Q5, Q6])
    assert _row(table, "cases_prosecuted", Q5)["notes"].endswith(
        "6 of 22 cases have no status (counted as not prosecuted)")
    shown = release.release(table)
    incident = shown["measure"].isin(tuple(INCIDENT_MEASURES))
    assert (shown.loc[incident, "notes"] == "").all()
    assert shown.loc[incident, "detail"].isna().all()
    row = _row(shown, "cases_prosecuted", Q5)
    assert (row["numerator"], row["denominator"]) == (16, 22)  # published, with its value
    assert row["value"] == pytest.approx(100 * 16 / 22) and row["status"] == "behind"


def test_the_change_from_a_withheld_row_is_withheld(records, release, tay_ninh):
    # 2024Q4's 16 prosecuted cases are hidden: with 2024Q3's 38 (hidden, small open) they
    # make the published 54 of the half-year
    table = track(tay_ninh, {"incidents": records}, [Q4, Q5, Q6])
    assert _row(table, "cases_prosecuted", Q5)["change"] == 0.0
    shown = release.release(table)
    assert _row(shown, "cases_prosecuted", Q4)["value_label"] == "x"
    row = _row(shown, "cases_prosecuted", Q5)
    assert pd.isna(row["change"]) and pd.isna(row["trend"]) and pd.notna(row["value"])
    # two shown periods in a row keep their change
    again = _row(shown, "cases_prosecuted", Q6)
    assert again["change"] == 0.0 and again["trend"] == "same"
    tips = _row(shown, "reports_received", Q5)
    assert tips["change"] == 0.0 and tips["trend"] == "same"


def test_an_interval_is_withheld_with_its_value(records, release, tay_ninh):
    """A 95 % interval gives its counts back as the value does: withheld with it."""
    table = track(tay_ninh, {"incidents": records}, [Q1, Q2, Q3, Q4, Q5, Q6, H1])
    shown = release.release(table)
    incident = shown["measure"].isin(tuple(INCIDENT_MEASURES))
    hidden = incident & (shown["status"] == WITHHELD) & shown["value_label"].notna()
    assert hidden.any() and (incident & ~hidden & shown["value"].notna()).any()
    assert shown.loc[hidden, ["ci_low", "ci_high", "numerator", "denominator"]].isna().all().all()
    assert table.loc[hidden, "ci_low"].notna().any()  # the tracker had them
    for _, row in shown[incident & ~hidden & shown["value"].notna()].iterrows():
        low, high = wilson_interval(int(row["numerator"]), int(row["denominator"]))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_a_lagged_row_is_released_as_its_cohort(records, release, tay_ninh):
    """A row of 2025 counting the cases of 2024 is shown or withheld as the 2024 row is."""
    lagged = _lagged(tay_ninh, 12)
    cohorts = [Q1, Q2, Q3, Q4, H1]
    periods = [(D(a.year + 1, a.month, a.day), D(b.year + 1, b.month, b.day)) for a, b in cohorts]
    late = release.release(track(lagged, {"incidents": records}, periods))
    own = release.release(track(tay_ninh, {"incidents": records}, cohorts))
    columns = ["value", "value_label", "numerator", "denominator", "ci_low", "ci_high"]
    for indicator in ("cases_cleared", "cases_tried", "cases_prosecuted"):
        for period, cohort in zip(periods, cohorts, strict=True):
            row, same = _row(late, indicator, period), _row(own, indicator, cohort)
            assert (row["cohort_start"], row["cohort_end"]) == cohort
            for column in columns:
                assert (pd.isna(row[column]) and pd.isna(same[column])) or (
                    row[column] == same[column]), (indicator, period, column)
    assert late["value_label"].notna().any() and late["value"].notna().any()


def _with_baseline(plan, year: int):
    """The plan with its yearly increase counted from ``year``, measured on the records."""
    return plan.model_copy(update={"indicators": tuple(
        i.model_copy(update={"baseline": i.baseline.model_copy(update={"year": year})})
        if i.annual_increase is not None else i for i in plan.indicators)})


@pytest.fixture(scope="module")
def three_years(registry):
    """2022: 40 of 42 cases prosecuted (2 open: the year's prosecuted count is hidden);
    2023 and 2024: 60 of 120 a year, 15 and 15 a quarter."""
    codes = registry.communes.index[:3]
    rows = ([("2022-03-01", "prosecuted", codes[0])] * 40
            + [("2022-03-01", "received", codes[0])] * 2
            + [(f"{y}-{m:02d}-01", status, code) for y in (2023, 2024) for m in (2, 5, 8, 11)
               for status, code in (("prosecuted", codes[1]), ("received", codes[2]))
               for _ in range(15)])
    frame = pd.DataFrame(rows, columns=["date", "status", "new_code"]).assign(
        type="trafficking_case")
    frame["old_code"] = [registry.old_codes_of(c)[0] for c in frame["new_code"]]
    frame["date"] = pd.to_datetime(frame["date"])
    return frame, indicator_release(frame, release_plan(frame, registry, unit_sets=(NEW,)))


def test_a_target_drawn_from_a_hidden_baseline_year_is_withheld(three_years, national):
    """5116/KH-UBND: "Hàng năm, tăng ít nhất 02% tỷ lệ khởi tố điều tra các vụ án mua bán người
    trên tổng số các vụ việc được phát hiện", counted from the baseline year. A target measured
    on a year whose cells are hidden gives that year's rate back: it is withheld."""
    records, release = three_years
    year = (D(2024, 1, 1), D(2024, 12, 31))
    table = track(_with_baseline(national, 2022), {"incidents": records}, [year])
    row = _row(table, "prosecution_rate_increase", year)
    assert row["target"] == pytest.approx(4000 / 42 + 4)  # 40 of 42 in 2022, + 2 × 2 points
    assert (row["baseline_start"], row["baseline_end"]) == (D(2022, 1, 1), D(2022, 12, 31))
    assert release.cell("2022", "case:prosecuted+")["status"] != "published"
    shown = _row(release.release(table), "prosecution_rate_increase", year)
    assert shown["value"] == 50.0  # 60 of 120: its own cells are published
    assert pd.isna(shown["target"]) and pd.isna(shown["expected"])
    assert shown["status"] == WITHHELD and shown["reason"] == "target_withheld"
    # from a published year the target is shown
    table = track(_with_baseline(national, 2024), {"incidents": records}, [year])
    shown = _row(release.release(table), "prosecution_rate_increase", year)
    assert shown["target"] == 50.0 and shown["status"] == "met"


def test_records_other_than_the_plans_are_refused(records, release, plan, tay_ninh):
    other = records.copy()
    other.loc[other.index[0], "date"] = pd.Timestamp("2024-05-01")
    with pytest.raises(ReleaseRefused, match="other data"):
        indicator_release(other, plan)
    with pytest.raises(ReleaseRefused, match="other records"):
        release.release(track(tay_ninh, {"incidents": other}, [Q1]))  # 0 of 2, not of 3


# -- suppress with cells fixed by another release ------------------------------------------------


def _one_way(counts: dict):
    return hierarchy_table(pd.Series(counts), [Hierarchy.flat("cell", list(counts))])


def test_a_cell_published_elsewhere_is_never_a_complement():
    table = _one_way({"a": 3, "b": 7, "c": 9})
    assert suppress(table).status["b"] == "complementary"  # the smallest, by default
    fixed = suppress(table, published=["b"])
    assert fixed.status.to_dict() == {"a": "primary", "b": "published", "c": "complementary",
                                      "total": "published"}


def test_a_cell_withheld_elsewhere_starts_suppressed_and_is_protected():
    fixed = suppress(_one_way({"a": 10, "b": 20, "c": 30}), withheld=["a"])
    assert fixed.status.to_dict() == {"a": "complementary", "b": "complementary",
                                      "c": "published", "total": "published"}
    assert fixed.labels["a"] == "x"
    zero = suppress(_one_way({"a": 0, "b": 20, "c": 30}), withheld=["a"])
    assert zero.labels["a"] == "< 5" and zero.status["b"] == "complementary"


def test_nothing_fixed_changes_nothing():
    table = _one_way({"a": 4, "b": 4, "c": 30, "d": 2, "e": 0})
    assert suppress(table).status.equals(suppress(table, published=[], withheld=None).status)


def test_fixed_cells_that_leave_a_small_count_bare_fail_closed():
    with pytest.raises(RuntimeError, match="cannot protect"):
        suppress(_one_way({"a": 3, "b": 7}), published=["b", "total"])
    with pytest.raises(ValueError, match="small counts"):
        suppress(_one_way({"a": 3, "b": 7}), published=["a"])
    with pytest.raises(ValueError, match="no cell"):
        suppress(_one_way({"a": 3, "b": 7}), withheld=["zz"])
    with pytest.raises(ValueError, match="both"):
        suppress(_one_way({"a": 3, "b": 7}), withheld=["b"], published=["b"])


def test_doctests():
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
