"""Small-count suppression: hand-computed tables, differencing attacks, roles, released layers."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.units import NEW, OLD
from layers import suppression
from layers.compare import compare_periods
from layers.counts import incident_counts
from layers.hotspots import hotspot_layer
from layers.layer import Caveat, Layer
from layers.rates import smoothed_rates, commune_rates
from layers.suppression import (
    COMPLEMENTARY_LABEL,
    Hierarchy,
    PointDataRefused,
    ReleaseRefused,
    Role,
    disclosure_bounds,
    for_role,
    hierarchy_table,
    margins_table,
    period_hierarchy,
    release_plan,
    snap_period,
    suppress,
    unit_hierarchy,
)
from layers.suppression.audit import Program


def statuses(result) -> dict:
    """Suppressed cells and their status, as a plain dict."""
    return result.status[result.suppressed].sort_index().to_dict()


def one_way(counts: dict, total: str = "total") -> suppression.CountTable:
    """A list of cells and their total (a single relation)."""
    dim = Hierarchy.flat("cell", list(counts), total)
    return hierarchy_table(pd.Series(counts), [dim])


def bounds_of(result) -> dict:
    b = disclosure_bounds(result)
    return {key: (int(lo), int(hi)) for key, lo, hi in zip(b.index, b["low"], b["high"])}


# -- primary suppression, zeros, the threshold --------------------------------------------------


def test_primary_cells_are_the_counts_from_one_to_threshold_minus_one():
    table = one_way({"a": 0, "b": 1, "c": 4, "d": 5, "e": 30})
    result = suppress(table)
    assert result.status["b"] == "primary" and result.status["c"] == "primary"
    assert result.status["d"] == "published" and result.status["e"] == "published"
    assert result.status["a"] == "published"  # a zero is shown when nothing needs it
    assert result.labels["b"] == "< 5" and result.labels["d"] is None
    assert result.published_counts["e"] == 30 and pd.isna(result.published_counts["b"])


def test_threshold_is_configurable():
    table = one_way({"a": 2, "b": 3, "c": 7, "d": 12})
    assert statuses(suppress(table, threshold=3)) == {"a": "primary", "b": "complementary"}
    assert suppress(table, threshold=3).labels["a"] == "< 3"
    assert suppress(table, threshold=3).labels["b"] == COMPLEMENTARY_LABEL  # 3 is not "< 3"
    ten = suppress(table, threshold=10)
    assert {k for k, v in statuses(ten).items() if v == "primary"} == {"a", "b", "c"}
    assert ten.labels["a"] == "< 10"


def test_a_threshold_whose_label_names_the_count_is_refused():
    with pytest.raises(ValueError, match="too small"):
        suppress(one_way({"a": 1, "b": 9}), threshold=1)
    with pytest.raises(ValueError, match="too small"):
        suppress(one_way({"a": 1, "b": 9}), threshold=2, protection=2)


# -- complementary suppression ---------------------------------------------------------------


def test_a_single_small_cell_forces_the_smallest_other_cell():
    # total 19 = a + b + c: hiding a alone, 19 - 7 - 9 gives it back; b (7) is the smallest
    result = suppress(one_way({"a": 3, "b": 7, "c": 9}))
    assert statuses(result) == {"a": "primary", "b": "complementary"}
    assert result.labels["b"] == COMPLEMENTARY_LABEL
    # a reader knows a + b = 10, a "< 5" in [0, 4], b "x" at least 5
    assert bounds_of(result) == {"a": (0, 4), "b": (6, 10)}


def test_ties_are_broken_by_code():
    result = suppress(one_way({"z": 2, "m": 8, "b": 8, "q": 11}))
    assert statuses(result) == {"b": "complementary", "z": "primary"}


def test_a_zero_beside_a_small_cell_and_a_published_total_hides_another_cell():
    # total 12 - 9 - 0 would give a = 3: a second cell must go. Not the zero (a hidden zero
    # would need protecting in turn), the smallest non-zero cell: c
    result = suppress(one_way({"a": 3, "b": 0, "c": 9}))
    assert statuses(result) == {"a": "primary", "c": "complementary"}
    assert result.published_counts["b"] == 0
    assert bounds_of(result) == {"a": (0, 4), "c": (8, 12)}


def test_a_zero_is_hidden_when_nothing_else_is_left():
    # row a: 3 tips, 0 victims, total 3 (itself small); the tip column holds a 2 as well.
    # Column "victim" then has only zeros and its total 0 to give: a zero reads "< 5"
    frame = pd.DataFrame({"tip": [3, 2, 9], "victim": [0, 0, 0]}, index=["a", "b", "c"])
    result = suppress(margins_table(frame))
    assert result.status[("a", "tip")] == "primary" and result.status[("b", "tip")] == "primary"
    hidden_zeros = result.suppressed & (result.table.cells["count"] == 0)
    assert (result.labels[hidden_zeros] == "< 5").all()
    bounds = bounds_of(result)
    assert all(hi - lo >= 1 for key, (lo, hi) in bounds.items()
               if result.status[key] == "primary")


def test_two_small_cells_that_add_up_to_their_upper_bounds_get_a_third():
    # 4 + 4 = 38 - 30: both "< 5" cells, yet a + b = 8 forces both to 4
    result = suppress(one_way({"a": 4, "b": 4, "c": 30}))
    assert statuses(result) == {"a": "primary", "b": "primary", "c": "complementary"}
    assert all(hi - lo >= 1 for (lo, hi) in bounds_of(result).values())


def test_two_way_table_with_margins_by_hand():
    frame = pd.DataFrame({"tip": [3, 8, 9], "victim": [0, 7, 6], "crossing": [10, 11, 12]},
                         index=["a", "b", "c"])
    result = suppress(margins_table(frame))
    # the tip column (3, 8, 9) takes b's 8; row a (3, 0, 10) takes its 10, not its 0; the
    # crossing column (10, 11, 12) then takes b's 11, which also gives row b its second
    assert statuses(result) == {
        ("a", "tip"): "primary", ("a", "crossing"): "complementary",
        ("b", "tip"): "complementary", ("b", "crossing"): "complementary",
    }
    assert result.labels[("a", "tip")] == "< 5" and result.labels[("b", "tip")] == "x"
    # a + a' = 13, b + b' = 19, a + b = 11, a' + b' = 21: a stays anywhere in [0, 4]
    assert bounds_of(result)[("a", "tip")] == (0, 4)
    assert bounds_of(result)[("b", "crossing")] == (8, 12)


def test_every_relation_has_zero_or_at_least_two_unknown_cells():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.poisson(4, size=(8, 5)), index=list("abcdefgh"),
                         columns=list("vwxyz"))
    result = suppress(margins_table(frame))
    unknown = result.suppressed.to_numpy().astype(int)
    per_relation = abs(result.table.relations) @ unknown
    assert not (per_relation == 1).any()


# -- differencing between unit sets ---------------------------------------------------------


def _units() -> Hierarchy:
    """New X = old A + part of old D; new Y = the other part of D + old C; the province."""
    return Hierarchy(
        "unit",
        leaves=("old:A", "part:D>X", "part:D>Y", "old:C"),
        groups=(("new:X", ("old:A", "part:D>X")), ("new:Y", ("part:D>Y", "old:C")),
                ("old:D", ("part:D>X", "part:D>Y")),
                ("province", ("new:X", "new:Y")), ("province", ("old:A", "old:D", "old:C"))),
        hidden=frozenset({"part:D>X", "part:D>Y"}),
    )


def test_old_minus_new_cannot_recover_a_suppressed_old_commune():
    counts = pd.Series({"old:A": 3, "part:D>X": 10, "part:D>Y": 9, "old:C": 8})
    result = suppress(hierarchy_table(counts, [_units()]))
    # new X (13) - old A: A is "< 5", so part D>X (10) must not be derivable … and is not:
    # X = A + D>X has two unknowns. The old province relation A + D + C = 30 has one: D (19)
    # or C (8) must go; C is the smaller.
    assert statuses(result) == {"old:A": "primary", "old:C": "complementary"}
    assert bounds_of(result)["old:A"][1] - bounds_of(result)["old:A"][0] >= 1


def test_a_small_part_of_a_split_commune_is_protected_although_never_published():
    # new X (12) - old A (10) = 2 would reveal the part of D that went to X
    counts = pd.Series({"old:A": 10, "part:D>X": 2, "part:D>Y": 9, "old:C": 7})
    result = suppress(hierarchy_table(counts, [_units()]))
    assert result.status["part:D>X"] == "hidden"
    assert result.status["old:A"] == "complementary"  # the smallest of X's relation (10 < 12)
    low, high = bounds_of(result)["part:D>X"]
    assert high - low >= 1 and low <= 2 <= high


def test_the_registry_hierarchy_sums_either_set_to_the_province(registry):
    units = unit_hierarchy(registry)
    leaves = units.leaf_sets
    assert leaves["province:80"] == frozenset(units.leaves)
    split = registry.composition[registry.composition["split"]]
    old, new = split.iloc[0]["old_code"], split.iloc[0]["new_code"]
    part = f"part:{old}>{new}"
    assert part in units.hidden and part in leaves[f"2025:{new}"] and part in leaves[f"legacy:{old}"]
    assert sum(m.startswith("part:") for m in units.members) == len(split)


# -- differencing between periods -------------------------------------------------------------


def test_snap_period_rounds_to_the_grid_and_says_so():
    span = {"first_year": 2022, "last_year": 2025}
    jan_jun = snap_period(dt.date(2024, 1, 1), dt.date(2024, 6, 30), **span)
    jan_jul = snap_period(dt.date(2024, 1, 1), dt.date(2024, 7, 31), **span)
    assert (jan_jun.label, jan_jun.exact) == ("2024H1", True)
    assert (jan_jul.label, jan_jul.grain, jan_jul.exact) == ("2024", "year", False)
    assert (jan_jul.start, jan_jul.end) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    partial = snap_period(dt.date(2025, 7, 1), dt.date(2025, 8, 14), **span)
    assert (partial.label, partial.end, partial.exact) == ("2025Q3", dt.date(2025, 9, 30), False)
    across = snap_period(dt.date(2023, 12, 1), dt.date(2024, 1, 31), **span)
    assert (across.label, across.start, across.end) == ("all", dt.date(2022, 1, 1),
                                                        dt.date(2025, 12, 31))
    assert snap_period(None, None, **span).exact
    with pytest.raises(ValueError, match="outside"):
        snap_period(dt.date(2019, 1, 1), dt.date(2019, 3, 31), **span)


def test_quarters_and_their_year_are_one_table():
    # commune a: Q3 = 3; a reader sees its year (12) and Q1, Q2 (0): Q4 must go too
    periods = period_hierarchy(2024, 2024)
    units = Hierarchy.flat("unit", ["a", "b"])
    atoms = pd.Series({("a", "2024Q3"): 3, ("a", "2024Q4"): 9, ("b", "2024Q1"): 5,
                       ("b", "2024Q2"): 6, ("b", "2024Q3"): 7, ("b", "2024Q4"): 8})
    result = suppress(hierarchy_table(atoms, [units, periods]))
    assert statuses(result) == {
        ("a", "2024Q3"): "primary", ("a", "2024Q4"): "complementary",
        ("b", "2024Q3"): "complementary", ("b", "2024Q4"): "complementary",
    }
    # year - Q1 - Q2 - Q4 and H2 - Q4 both need Q4: a stays in [0, 4] for every reader
    low, high = bounds_of(result)[("a", "2024Q3")]
    assert (low, high) == (0, 4)


# -- the attack, on random tables --------------------------------------------------------------


def _rank_determined(result) -> list:
    """Suppressed cells whose value follows from the published equations alone (numpy rank)."""
    A = result.table.relations.toarray()
    unknown = result.suppressed.to_numpy() | (result.status == "hidden").to_numpy()
    sub = A[:, unknown]
    base = np.linalg.matrix_rank(sub) if sub.size else 0
    keys = result.table.cells.index[unknown]
    out = []
    for k in range(sub.shape[1]):
        e = np.zeros((1, sub.shape[1]))
        e[0, k] = 1
        if np.linalg.matrix_rank(np.vstack([sub, e])) == base:
            out.append(keys[k])
    return out


counts = st.integers(min_value=0, max_value=12)


@st.composite
def small_tables(draw):
    n_rows = draw(st.integers(2, 6))
    n_cols = draw(st.integers(2, 4))
    values = draw(st.lists(counts, min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    frame = pd.DataFrame(np.array(values).reshape(n_rows, n_cols),
                         index=[f"r{i}" for i in range(n_rows)],
                         columns=[f"c{j}" for j in range(n_cols)])
    return frame, draw(st.integers(3, 6))


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(small_tables())
def test_no_attack_pins_a_small_count_in_a_random_table(case):
    frame, threshold = case
    result = suppress(margins_table(frame), threshold=threshold)
    unknown = result.suppressed.to_numpy().astype(int)
    assert not ((abs(result.table.relations) @ unknown) == 1).any()
    truth = result.table.cells["count"]
    small = (truth >= 1) & (truth < threshold)
    assert (result.status[small] == "primary").all()
    for integer in (False, True):
        b = disclosure_bounds(result, integer=integer)
        assert ((b["low"] <= b["count"]) & (b["count"] <= b["high"])).all()
        targets = b[b["status"] == "primary"]
        assert ((targets["high"] - targets["low"]) >= 1).all(), targets
    primary = set(result.status.index[result.status == "primary"])
    assert not primary & set(_rank_determined(result))


@st.composite
def cubes(draw):
    shape = (draw(st.integers(2, 3)), draw(st.integers(2, 3)), 2)
    values = draw(st.lists(counts, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    dims = [Hierarchy.flat(name, [f"{name}{i}" for i in range(n)])
            for name, n in zip(("u", "p", "t"), shape, strict=True)]
    index = pd.MultiIndex.from_product([d.leaves for d in dims])
    return hierarchy_table(pd.Series(values, index=index), dims)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cubes())
def test_no_attack_pins_a_small_count_in_a_random_three_way_table(table):
    result = suppress(table)
    for integer in (False, True):
        b = disclosure_bounds(result, integer=integer)
        targets = b[b["status"] == "primary"]
        assert ((targets["high"] - targets["low"]) >= 1).all(), targets


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cubes())
def test_a_check_with_no_whole_program_solve_to_spare_still_protects_every_small_count(table):
    """The national release's bounded check (``full_solves``): no attack, linear or integer,
    pins a small count, and it reports pinned at least every cell the exact check pins."""
    from layers.suppression.engine import _State

    result = suppress(table, full_solves=0)
    for integer in (False, True):
        b = disclosure_bounds(result, integer=integer)
        targets = b[b["status"] == "primary"]
        assert ((targets["high"] - targets["low"]) >= 1).all(), targets
    exact, bounded = _State(table, 5, 1), _State(table, 5, 1, full_solves=0)
    for state in (exact, bounded):
        state.close()
    assert set(exact.audit()) <= set(bounded.audit())


class _Blind(Program):
    """A program whose neighbourhoods never decide: only the whole program can."""

    def _local_extremes(self, k, truth, radius, *, relax, **_):
        return (-1e9, 1e9) if relax else (truth[k], truth[k])


def test_a_cell_left_undecided_by_the_budget_is_reported_pinned_and_a_witnessed_one_is_not():
    from scipy import sparse

    # x0 + x1 = 8 with both "< 5" (both are 4: pinned); x2 + x3 = 5 (x2 can move: safe)
    A = sparse.csr_matrix(np.array([[1.0, 1, 0, 0], [0, 0, 1, 1]]))
    truth = np.array([4.0, 4.0, 2.0, 3.0])
    args = (A, np.array([8.0, 5.0]), np.zeros(4), np.full(4, 4.0))
    targets = np.array([0, 1, 2])
    assert sorted(_Blind(*args).pinned(targets, truth, 1)) == [0, 1]  # exact: whole solves
    for budget in (0, 2):
        program = _Blind(*args, rows=np.arange(2), full_solves=budget)
        assert sorted(program.pinned(targets, truth, 1)) == [0, 1]
        assert set(program.binding) == {0, 1}
    wide = (A, np.array([6.0, 5.0]), np.zeros(4), np.full(4, 4.0))   # x0 + x1 = 6: both free
    assert _Blind(*wide, full_solves=2).pinned(targets, np.array([3.0, 3.0, 2.0, 3.0]), 1) == []


@pytest.mark.parametrize("rhs, verdict, solves", [(8.0, [0], 2), (6.0, [], 1)])
def test_a_neighbourhood_solves_its_second_extreme_only_when_the_first_leaves_a_pin_possible(
        rhs, verdict, solves, monkeypatch):
    from scipy import sparse

    calls = []
    solve = Program.solve
    monkeypatch.setattr(Program, "solve", lambda self, c: calls.append(c) or solve(self, c))
    # x0 + x1 = rhs, both "< 5": 8 pins x0 at 4 (both extremes needed to say so); with 6,
    # x0 = 3 can reach 4, which the max alone shows
    A = sparse.csr_matrix(np.array([[1.0, 1.0]]))
    program = Program(A, np.array([rhs]), np.zeros(2), np.full(2, 4.0))
    truth = np.array([4.0, 4.0]) if rhs == 8.0 else np.array([3.0, 3.0])
    low, high = program._local_extremes(0, truth, 1, relax=True, known=(truth[0], truth[0]),
                                        protection=1, up=truth[0] < 4)
    assert len(calls) == solves
    assert (high - low < 1) == (verdict == [0])
    assert program.pinned(np.array([0]), truth, 1) == verdict


# -- roles and released layers ---------------------------------------------------------------


@pytest.fixture(scope="module")
def records(registry):
    """Synthetic records in a few 2025 communes: 2024Q3 victims of 1, 2, 9 and 12 per commune."""
    codes = list(registry.communes.index[:6])
    rows = []
    for code, n in zip(codes, [1, 2, 9, 12, 0, 7], strict=True):
        rows += [{"date": "2024-08-01", "type": "victim", "new_code": code}] * n
        rows += [{"date": "2024-05-01", "type": "victim", "new_code": code}] * 6
        rows += [{"date": "2024-08-01", "type": "tip", "new_code": code}] * 20
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["old_code"] = [registry.old_codes_of(c)[0] for c in frame["new_code"]]
    return frame, codes


@pytest.fixture(scope="module")
def plan(records, registry):
    return release_plan(records[0], registry, unit_sets=(NEW,), type_total=False)


@pytest.fixture(scope="module")
def communes(registry):
    return registry.communes[["name"]]


def _counts(records, communes, **kw) -> Layer:
    return incident_counts(records[0], communes, unit_set=NEW, types=["victim"],
                           caveats=(Caveat.SYNTHETIC,), **kw)


def test_commander_gets_the_layer_unchanged(records, communes):
    layer = _counts(records, communes, start=dt.date(2024, 7, 1), end=dt.date(2024, 8, 14))
    assert for_role(layer, "commander") is layer
    assert for_role(records[0], Role.COMMANDER) is records[0]


def test_roles_are_checked():
    assert Role("committee") is Role.VIEWER and Role("Planner") is Role.PLANNER
    with pytest.raises(ValueError):
        for_role(pd.DataFrame(), "guest")
    with pytest.raises(ReleaseRefused, match="ReleasePlan"):
        for_role(pd.DataFrame(), "viewer")


def test_released_counts_hide_small_communes(records, communes, plan):
    _, codes = records
    period = plan.snap(dt.date(2024, 7, 1), dt.date(2024, 8, 14))
    assert (period.label, period.exact) == ("2024Q3", False)
    layer = _counts(records, communes, start=period.start, end=period.end)
    shown = for_role(layer, "viewer", plan=plan)
    frame = shown.frame
    assert pd.isna(frame.loc[codes[0], "count"]) and frame.loc[codes[0], "count_label"] == "< 5"
    # 1 and 2 victims: both "< 5", so the province total (31) minus the others gives only
    # their sum, 3; the zeros (90 communes) stay zeros
    hidden = frame["count"].isna()
    assert list(frame.index[hidden]) == codes[:2]
    assert frame.loc[codes[1], "count_label"] == "< 5"
    assert frame.loc[codes[3], "count"] == 12 and frame.loc[codes[4], "count"] == 0
    assert set(frame.columns) == {"name", "count", "count_label"}
    assert shown.caveats == (Caveat.SYNTHETIC, Caveat.SMALL_COUNTS_SUPPRESSED)
    info = shown.params["suppression"]
    assert info["threshold"] == 5 and info["period"] == "2024Q3"
    assert info["province_count"] == 31 and info["n_primary"] == 2
    assert layer.frame.loc[codes[0], "count"] == 1  # the commander's layer is untouched


def test_periods_off_the_grid_and_subsets_of_types_are_refused(records, communes, plan, registry):
    layer = _counts(records, communes, start=dt.date(2024, 7, 1), end=dt.date(2024, 8, 14))
    with pytest.raises(ReleaseRefused, match="grid"):
        for_role(layer, "planner", plan=plan)
    two = incident_counts(records[0], communes, unit_set=NEW, types=["victim", "tip"],
                          start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    with pytest.raises(ReleaseRefused, match="types"):
        for_role(two, "planner", plan=plan)
    other = records[0].copy()
    other.loc[other.index[0], "type"] = "tip"
    stale = incident_counts(other, communes, unit_set=NEW, types=["victim"],
                            start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    with pytest.raises(ReleaseRefused, match="other data"):
        for_role(stale, "planner", plan=plan)


def test_points_never_leave_for_lower_roles(records, communes, plan):
    points = records[0].assign(lat=11.1, lon=106.2, record_id="R1")
    with pytest.raises(PointDataRefused):
        for_role(points, "planner", plan=plan)
    hexagons = gpd.GeoDataFrame({"count": [1]}, geometry=[shapely.Point(106.2, 11.1)])
    with pytest.raises(PointDataRefused):
        for_role(hexagons, "viewer", plan=plan)
    density = Layer(frame=pd.DataFrame({"name": ["a"], "density": [0.1]}), value="density",
                    unit_set=NEW, kind="density", title_key="layer.density.title", legend_key="", units_key="")
    with pytest.raises(PointDataRefused):
        for_role(density, "viewer", plan=plan)
    unknown = Layer(frame=pd.DataFrame({"name": ["a"], "v": [1]}), value="v", unit_set=NEW,
                    title_key="layer.new_thing.title", legend_key="", units_key="")
    with pytest.raises(ReleaseRefused, match="no release rule"):
        for_role(unknown, "admin", plan=plan)
    leaky = Layer(frame=pd.DataFrame({"name": ["a"], "total": [1], "lat": [11.0]}),
                  value="total", unit_set=NEW, kind="coverage",
                  title_key="layer.coverage.title",
                  legend_key="", units_key="")
    with pytest.raises(PointDataRefused):
        for_role(leaky, "planner", plan=plan)


def test_released_rates_mask_small_communes_and_smooth_over_the_published(records, communes,
                                                                           plan, registry):
    _, codes = records
    population = pd.DataFrame({"new_code": registry.communes.index, "year": 2024,
                               "population": 20_000})
    layer = commune_rates(records[0], communes, population, types=["victim"],
                          start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    shown = for_role(layer, "planner", plan=plan).frame
    hidden = shown["count"].isna()
    assert shown.loc[hidden, ["rate", "rate_eb"]].isna().all().all()
    assert shown.loc[codes[3], "rate"] == pytest.approx(12 / 20_000 * 10_000)
    published = layer.frame.loc[~hidden]
    _, expected, _ = smoothed_rates(published["count"], published["population"])
    assert np.allclose(shown.loc[~hidden, "rate_eb"], expected * 10_000)
    assert set(shown.columns) == {"name", "count", "population", "rate", "rate_eb", "count_label"}


def test_released_comparisons_mask_what_a_hidden_count_would_give_back(records, communes, plan):
    layer = compare_periods(records[0], communes, unit_set=NEW, types=["victim"],
                            start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    shown = for_role(layer, "viewer", plan=plan)
    frame = shown.frame
    hide = frame["count"].isna() | frame["other"].isna()
    assert frame.loc[hide, ["change", "ratio", "p_value", "fdr_threshold", "trend"]
                     ].isna().all().all()
    shown_other = frame["other"].notna()
    assert shown_other.any()
    assert (frame.loc[shown_other, "other"] == layer.frame.loc[shown_other, "other"]).all()
    assert frame.loc[~frame["count"].isna(), "count"].eq(
        layer.frame.loc[~frame["count"].isna(), "count"]).all()


def test_released_comparisons_keep_the_threshold_beside_each_published_p(registry, communes):
    """Each published p-value keeps the FDR threshold that explains its class (issue 16)."""
    codes = list(registry.communes.index[:6])
    rows = [{"date": day, "type": "victim", "new_code": code}
            for code, now in zip(codes, [1, 2, 9, 30, 0, 7], strict=True)
            for day, n in (("2024-08-01", now), ("2024-05-01", 6)) for _ in range(n)]
    rows += [{"date": "2024-04-01", "type": "tip", "new_code": codes[0]}]  # records from Q2
    records = pd.DataFrame(rows)
    records["date"] = pd.to_datetime(records["date"])
    records["old_code"] = [registry.old_codes_of(c)[0] for c in records["new_code"]]
    plan = release_plan(records, registry, unit_sets=(NEW,), type_total=False)
    previous = compare_periods(records, communes, unit_set=NEW, types=["victim"],
                               against="previous", start=dt.date(2024, 7, 1),
                               end=dt.date(2024, 9, 30))
    frame = for_role(previous, "viewer", plan=plan).frame
    tested = frame["p_value"].notna()
    assert tested.any() and previous.params["fdr_threshold"] > 0
    assert (frame.loc[tested, "fdr_threshold"] == previous.params["fdr_threshold"]).all()
    assert frame.loc[frame["count"].isna() | frame["other"].isna(), "fdr_threshold"].isna().all()


def test_released_hot_spots_keep_classes_only(records, registry, plan):
    grid = gpd.GeoDataFrame(
        {"name": [f"Xã {i}" for i in range(len(registry.communes))]},
        geometry=[shapely.box(i % 10, i // 10, i % 10 + 1, i // 10 + 1)
                  for i in range(len(registry.communes))],
        index=registry.communes.index, crs="EPSG:32648")
    source = incident_counts(records[0], grid, unit_set=NEW, types=["victim"],
                             start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    shown = for_role(hotspot_layer(source, grid, permutations=99, seed=1), "viewer", plan=plan)
    assert list(shown.frame.columns) == ["name", "gi_bin", "gi_class", "fdr_significant"]


def test_rate_hot_spots_follow_the_counts_rule_and_uncorrected_classes_are_refused(
        records, registry, plan):
    """Gi* of the smoothed rate is released as Gi* of the counts is (classes only); the
    classes without FDR have no release rule below commander (issue 16)."""
    from layers.hotspots import rate_hotspot_layer
    from layers.suppression import ReleaseRefused

    grid = gpd.GeoDataFrame(
        {"name": [f"Xã {i}" for i in range(len(registry.communes))]},
        geometry=[shapely.box(i % 10, i // 10, i % 10 + 1, i // 10 + 1)
                  for i in range(len(registry.communes))],
        index=registry.communes.index, crs="EPSG:32648")
    period = dict(types=["victim"], start=dt.date(2024, 7, 1), end=dt.date(2024, 9, 30))
    population = pd.DataFrame({"new_code": grid.index, "year": 2024, "population": 20_000})
    by_rate = rate_hotspot_layer(commune_rates(records[0], grid, population, **period), grid,
                                 seed=1, permutations=99)
    shown = for_role(by_rate, "viewer", plan=plan)
    assert list(shown.frame.columns) == ["name", "gi_bin", "gi_class", "fdr_significant"]
    assert shown.frame["gi_class"].tolist() == by_rate.frame["gi_class"].tolist()
    assert for_role(by_rate, "commander") is by_rate
    source = incident_counts(records[0], grid, unit_set=NEW, **period)
    for uncorrected in (hotspot_layer(source, grid, alpha_fdr=False),
                        rate_hotspot_layer(commune_rates(records[0], grid, population, **period),
                                           grid, seed=1, permutations=99, alpha_fdr=False)):
        with pytest.raises(ReleaseRefused, match="no release rule"):
            for_role(uncorrected, "planner", plan=plan)


def test_demo_victims_are_protected_on_both_maps(registry):
    """The real registry, both unit sets, four years: every small count survives the attack."""
    rng = np.random.default_rng(11)
    comp = registry.composition
    picks = comp.iloc[rng.integers(0, len(comp), 40)]
    frame = pd.DataFrame({
        "date": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, 40), "D"),
        "type": "victim", "new_code": picks["new_code"].to_numpy(),
        "old_code": picks["old_code"].to_numpy()})
    plan = release_plan(frame, registry, types=("victim",), type_total=False)
    s = plan.suppression
    assert (s.status == "primary").sum() > 0
    unknown = (s.suppressed | (s.status == "hidden")).to_numpy().astype(int)
    per_relation = abs(s.table.relations) @ unknown
    members = abs(s.table.relations)
    lone = np.flatnonzero(per_relation == 1)
    # a relation with a single unknown cell may only hold a part that is 0 or large
    counts_ = s.table.cells["count"].to_numpy()
    for r in lone:
        cell = members[r].indices[unknown[members[r].indices] == 1][0]
        assert s.status.iloc[cell] == "hidden" and not 1 <= counts_[cell] < 5
    bounds = disclosure_bounds(s, small_only=True)
    small = bounds[(bounds["count"] >= 1) & (bounds["count"] < 5)]
    assert len(small) == ((s.table.cells["count"] >= 1) & (s.table.cells["count"] < 5)).sum()
    assert ((small["high"] - small["low"]) >= 1).all()
    old_layer = incident_counts(frame, registry.legacy[["name"]], unit_set=OLD, types=["victim"],
                                start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    released = for_role(old_layer, "viewer", plan=plan)
    assert released.frame["count"].isna().sum() == (
        (released.frame["count_label"].notna()).sum())




def test_records_whose_communes_do_not_meet_still_get_a_plan(registry):
    """Issue 14: a store holding a record whose former commune (25699 Lợi Thuận, part of Bến
    Cầu) is not part of its 2025 commune (25489 Tân Lập), and one whose former commune is
    no unit, still gets a release plan: each is counted in both its communes through a
    hidden part, which the attack cannot pin, and both maps are released."""
    rng = np.random.default_rng(11)
    comp = registry.composition
    picks = comp.iloc[rng.integers(0, len(comp), 40)]
    frame = pd.DataFrame({
        "date": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, 40), "D"),
        "type": "victim", "new_code": picks["new_code"].to_numpy(),
        "old_code": picks["old_code"].to_numpy()})
    strays = pd.DataFrame({"date": pd.to_datetime(["2024-05-02", "2024-08-09"]),
                           "type": "victim", "new_code": ["25489", "25681"],
                           "old_code": ["25699", None]})
    frame = pd.concat([frame, strays], ignore_index=True)
    assert suppression.stray_pieces(frame, registry) == (("25699", "25489"), ("?", "25681"))
    plan = release_plan(frame, registry, types=("victim",), type_total=False)
    s = plan.suppression
    cells = s.table.cells
    for part, count in (("part:25699>25489", 1), ("part:?>25681", 1)):
        assert cells.loc[(part, "2024", "victim"), "count"] == count
        assert s.status[(part, "2024", "victim")] == "hidden"
    # both communes of the stray record count it; the province counts each record once
    year = cells.xs(("2024", "victim"), level=("period", "type"))["count"]
    assert year["province:80"] == 42
    assert year["2025:25489"] == (frame["new_code"] == "25489").sum()
    assert year["legacy:25699"] == (frame["old_code"] == "25699").sum()
    bounds = disclosure_bounds(s, small_only=True)
    small = (cells["count"] >= 1) & (cells["count"] < 5)
    assert len(bounds) == small.sum() and ((bounds["high"] - bounds["low"]) >= 1).all()
    for unit_set, units in ((NEW, registry.communes), (OLD, registry.legacy)):
        for start, end in ((dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
                           (dt.date(2024, 4, 1), dt.date(2024, 6, 30))):
            layer = incident_counts(frame, units[["name"]], unit_set=unit_set,
                                    types=["victim"], start=start, end=end)
            shown = for_role(layer, "viewer", plan=plan).frame
            published = shown["count"].notna()
            assert (shown.loc[published, "count"] == layer.frame.loc[published, "count"]).all()
            assert shown["count_label"].notna().sum() == (~published).sum()
    assert layer.frame.loc["25699", "count"] == 1 and shown.loc["25699", "count_label"] == "< 5"
    # one unit set alone: a code that is no unit is a hidden part of the province
    odd = frame.assign(new_code=frame["new_code"].where(frame.index != 0, "99999"))
    plan = release_plan(odd, registry, unit_sets=(NEW,), types=("victim",))
    assert plan.suppression.table.cells.loc[("part:?", "2024", "victim"), "count"] == 1
    assert plan.province("2024", "victim")["count"] == 42


# -- the demo plan, unchanged by the national release (issue 18) ------------------------------


def test_the_demo_plan_is_the_one_it_was_before_the_national_release(tmp_path_factory):
    """The product's province keeps its plan to the last cell: the counts, statuses and labels
    of every cell, fingerprinted on the demo data before the national release was written
    (49,416 cells), as the dashboard builds it (its setting's threshold, both unit sets)."""
    import hashlib

    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from geo.config import Settings
    from tests.cache import PLAN_CACHE, demo_data

    settings = Settings(data_dir=tmp_path_factory.mktemp("fingerprint") / "var",
                        cache_dir=PLAN_CACHE)
    demo_data(settings)
    plan = Analyses(build_context(settings)).release_plan(wait=900)
    assert plan is not None and plan.national is None and plan.province_code == "80"
    s = plan.suppression
    frame = pd.DataFrame({"count": s.table.cells["count"], "status": s.status, "label": s.labels})
    assert len(frame) == 49_416
    assert hashlib.sha256(frame.to_csv().encode()).hexdigest() == (
        "b5e7dfdf7f636e0f1899151652badb589766c21ef2274bc228aa9152a74cb211")


def test_cells_known_to_the_attacker_are_never_hidden_nor_leaned_on():
    """``suppress(known=)``: cells another release owns, given to the attacker at their value.
    Here b's and c's tips are known: a's 3 tips cannot hide behind them, so the column's
    total is hidden instead; a known small count is no target of this table."""
    t = margins_table(pd.DataFrame({"tip": [3, 8, 9], "victim": [0, 7, 6],
                                    "crossing": [10, 11, 12]}, index=["a", "b", "c"]))
    s = suppress(t, known=[("b", "tip"), ("c", "tip")])
    hidden = set(s.status.index[s.suppressed])
    assert ("a", "tip") in hidden and ("total", "tip") in hidden
    assert not {("b", "tip"), ("c", "tip")} & hidden
    bounds = disclosure_bounds(s, small_only=True, integer=True)
    assert bounds.loc[("a", "tip"), "high"] - bounds.loc[("a", "tip"), "low"] >= 1
    assert not suppress(t, known=[("a", "tip")]).suppressed.any()
    with pytest.raises(ValueError, match="no cell"):
        suppress(t, known=[("d", "tip")])


# -- the national release: province by province (issue 18) ------------------------------------


def _three_provinces():
    """Three small provinces: 01 (a split former commune 93, a 2025 commune 10004 no former
    commune formed), 02, and 03 with few records (its totals are small)."""
    from geo.units import Registry

    communes = pd.DataFrame(
        {"name": ["A1", "A2", "A3", "A4", "B1", "B2", "C1", "C2"],
         "province_code": ["01", "01", "01", "01", "02", "02", "03", "03"]},
        index=pd.Index(["10001", "10002", "10003", "10004", "20001", "20002", "30001", "30002"],
                       name="code"))
    comp = pd.DataFrame(
        [("91", "10001", True, False), ("92", "10001", True, False), ("93", "10002", True, True),
         ("93", "10003", False, True), ("94", "10003", True, False), ("95", "20001", True, False),
         ("96", "20002", True, False), ("97", "20002", True, False), ("98", "30001", True, False),
         ("99", "30002", True, False)], columns=["old_code", "new_code", "primary", "split"])
    legacy = pd.DataFrame(
        {"name": [f"X{c}" for c in range(91, 100)],
         "new_code": ["10001", "10001", "10002", "10003", "20001", "20002", "20002", "30001",
                      "30002"]},
        index=pd.Index([str(c) for c in range(91, 100)], name="code"))
    registry = Registry(communes=communes, legacy=legacy, composition=comp)
    rng = np.random.default_rng(3)
    picks = comp.iloc[rng.integers(0, len(comp), 300)]
    frame = pd.DataFrame({
        "date": pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, 300), "D"),
        "type": "victim", "new_code": picks["new_code"].to_numpy(),
        "old_code": picks["old_code"].to_numpy()})
    frame = frame[~frame["new_code"].str.startswith("3") | (rng.random(300) < 0.1)]
    extra = pd.DataFrame({  # two records of the commune with no former commune, one of no unit
        "date": pd.to_datetime(["2023-02-01", "2023-05-05", "2023-03-03"]), "type": "victim",
        "new_code": ["10004", "10004", None], "old_code": [None, None, None]})
    return registry, pd.concat([frame, extra], ignore_index=True)


@pytest.fixture(scope="module")
def country():
    registry, frame = _three_provinces()
    plan = release_plan(frame, registry, types=("victim",))
    return registry, frame, plan


def test_a_registry_of_several_provinces_is_released_province_by_province(country):
    registry, frame, plan = country
    national = plan.national
    assert plan.suppression is None and national.provinces == ("01", "02", "03")
    assert {"01", "02", "03", "nation"} <= set(national.work.index)
    cells = national.cells
    assert cells.index.is_unique
    by = cells["count"].unstack("unit")
    # the national margins: the nation is the provinces' sum and the unplaced record
    assert (by["nation"] == by[["province:01", "province:02", "province:03", "part:?"]]
            .sum(axis=1)).all()
    assert by.loc[("2023", "victim"), "part:?"] == 1
    for code, units in registry.communes.groupby("province_code"):
        new = ["2025:" + c for c in units.index]
        olds = registry.legacy.index[registry.legacy["new_code"].isin(units.index)]
        orphans = [u for u in new if u == "2025:10004"]
        assert (by[f"province:{code}"] == by[new].sum(axis=1)).all()
        assert (by[f"province:{code}"] == by[["legacy:" + c for c in olds] + orphans]
                .sum(axis=1)).all()
    # the counts are the records'
    victims_2023 = frame[frame["date"].dt.year == 2023]
    assert plan.nation("2023", "victim")["count"] == len(victims_2023)
    assert plan.province("2023", "victim", "02")["count"] == (
        victims_2023["new_code"].isin(["20001", "20002"])).sum()
    with pytest.raises(suppression.ReleaseRefused, match="name the province"):
        plan.province("2023", "victim")


def test_provinces_suppressed_in_two_processes_give_the_same_release(country):
    """``processes=2``: the provinces in spawned processes, back as they finish; the same
    cells and statuses as one at a time, the work table in province order, each row with
    the worker's own peak memory (not its parent's, which ``ru_maxrss`` would carry)."""
    from layers.suppression.national import national_release

    registry, frame, plan = country
    twice = national_release(frame, registry, types=("victim",), processes=2)
    pd.testing.assert_frame_equal(twice.cells, plan.national.cells)
    assert twice.linked == plan.national.linked
    assert list(twice.work.index) == list(plan.national.work.index)
    assert (twice.work["peak_rss_mb"] > 0).all()


def test_no_small_count_of_a_national_release_can_be_worked_out_from_all_it_publishes(country):
    """The attacker sees every province's table and the national table at once (one table of
    the three provinces): no small count, in a province or its total, can be confined to a
    single value, and every relation has no lone unknown cell that needs protecting."""
    from layers.suppression.national import country_table

    registry, frame, plan = country
    table = country_table(frame, registry, types=("victim",))
    national = plan.national
    assert "03" in national.linked  # province 03's totals are small: hidden
    status = national.cells["status"].reindex(table.cells.index)
    assert status.notna().all()
    assert (national.cells["count"].reindex(table.cells.index) == table.cells["count"]).all()
    s = suppression.Suppression(table=table, threshold=5, protection=1,
                                status=status.astype(object), rounds=0)
    small = ((s.table.cells["count"] >= 1) & (s.table.cells["count"] < 5)).to_numpy()
    assert (s.status[small & s.table.cells["published"].to_numpy()] == "primary").all()
    bounds = disclosure_bounds(s, small_only=True, integer=True)
    assert len(bounds) == small.sum() and ((bounds["high"] - bounds["low"]) >= 1).all()
    unknown = (s.suppressed | (s.status == "hidden")).to_numpy().astype(int)
    members = abs(s.table.relations)
    counts_ = s.table.cells["count"].to_numpy()
    for r in np.flatnonzero(members @ unknown == 1):
        cell = members[r].indices[unknown[members[r].indices] == 1][0]
        assert s.status.iloc[cell] == "hidden" and not 1 <= counts_[cell] < 5
    # a small province total is hidden, and protected inside its province (above) as well
    totals = national.cells.xs("province:03", level="unit")
    small_totals = totals[(totals["count"] >= 1) & (totals["count"] < 5)]
    assert len(small_totals) and (small_totals["status"] == "primary").all()
    # each province's table held the rest of the country known: the nation hides beside it
    nation = national.cells.xs("nation", level="unit")["status"]
    assert (nation[totals.index[totals["status"] != "published"]] != "published").all()


def test_a_commune_no_former_commune_formed_is_a_leaf_of_its_own(country):
    registry, frame, plan = country
    from layers.suppression.national import province_registry

    one = province_registry(registry, "01")
    assert list(suppression.orphan_communes(one)) == ["10004"]
    units = suppression.unit_hierarchy(one, province="01")
    assert "2025:10004" in units.leaves and "2025:10004" not in units.hidden
    assert "2025:10004" in units.leaf_sets["province:01"]
    assert suppression.stray_pieces(frame[frame["new_code"] == "10004"], one) == ()
    shown = plan.cells("2025", ["10004", "20001"], "2023Q2", "victim")
    assert shown.loc["10004", "count"] == 1 and shown.loc["10004", "label"] == "< 5"
    # a layer over the communes of every province reads each from its province's table
    layer = incident_counts(frame, registry.communes[["name"]], unit_set=NEW, types=["victim"],
                            start=dt.date(2023, 4, 1), end=dt.date(2023, 6, 30))
    released = for_role(layer, "viewer", plan=plan).frame
    published = released["count"].notna()
    assert (released.loc[published, "count"] == layer.frame.loc[published, "count"]).all()
    assert released.loc["10004", "count_label"] == "< 5" and pd.isna(released.loc["10004", "count"])
    assert released["count_label"].notna().sum() == (~published).sum() > 0


def test_a_former_commune_in_two_provinces_is_refused():
    from geo.units import Registry

    registry, frame = _three_provinces()
    comp = pd.concat([registry.composition,
                      pd.DataFrame([("95", "10001", False, True)], columns=registry.composition.columns)])
    odd = Registry(communes=registry.communes, legacy=registry.legacy, composition=comp)
    with pytest.raises(ValueError, match="two provinces"):
        release_plan(frame, odd, types=("victim",))


@pytest.mark.parametrize("records, pinned", [
    # 02's 4 victims of 2023Q1 beside 03's 1: a nation of 5, "x", pins 02's 4 given the rest
    ({"20001": ["2023-02-01"] * 4, "30001": ["2023-02-10"]}, "2023Q1"),
    # 2 and 2 beside 3 and 3: two nations of 5, "x", pin 02's 4 of the half-year (≥ 10 − 6)
    ({"20001": ["2023-02-01"] * 2 + ["2023-05-01"] * 2,
      "30001": ["2023-02-10"] * 3 + ["2023-05-10"] * 3}, "2023H1"),
])
def test_a_small_total_the_rest_of_the_country_would_pin_is_released_with_that_rest(
        records, pinned):
    """The attacker of province 02's table is given the rest of the country (province 03)
    at its true value, and the nation cells' labels (an "x" is at least 5) then pin 02's
    small total whatever its table hides (the release failed: "cannot protect 2 small
    counts: nothing left to hide"). 02 and 03 are suppressed in one table, and in
    everything a reader has at once no small count is confined to a single value."""
    from layers.suppression.national import country_table

    registry, _ = _three_provinces()
    records = {**records, "10001": ["2023-08-01"] * 20, "20002": ["2023-11-05"] * 3}
    dates = [d for code in records for d in records[code]]
    codes = [code for code in records for _ in records[code]]
    old = registry.legacy.reset_index().drop_duplicates("new_code").set_index("new_code")["code"]
    frame = pd.DataFrame({"date": pd.to_datetime(dates), "type": "victim", "new_code": codes,
                          "old_code": [old[c] for c in codes]})
    plan = release_plan(frame, registry, types=("victim",))
    national = plan.national
    assert national.joint == (("02", "03"),)
    assert {"01", "02+03", "nation"} == set(national.work.index)
    cells = national.cells
    assert cells.loc[("province:02", pinned, "victim"), ["count", "status"]].tolist() == [
        4, "primary"]
    table = country_table(frame, registry, types=("victim",))
    status = cells["status"].reindex(table.cells.index)
    assert status.notna().all()
    s = suppression.Suppression(table=table, threshold=5, protection=1,
                                status=status.astype(object), rounds=0)
    small = ((table.cells["count"] >= 1) & (table.cells["count"] < 5)).to_numpy()
    bounds = disclosure_bounds(s, small_only=True, integer=True)
    assert len(bounds) == small.sum() > 0 and ((bounds["high"] - bounds["low"]) >= 1).all()
    low, high = bounds.loc[("province:02", pinned, "victim"), ["low", "high"]]
    assert low < 4 <= high
