"""The cube (layers/cube.py): the same counts as a pass over the records, for any filter.

Every answer is checked against the records grouped the plain way
(:func:`layers.periods.within` and a ``groupby``), on the demo store and on
random records (hypothesis) with the awkward cases in them: records without a
date, at 23:00 on a period's last day, without a code, with a code of no unit,
of a type outside the interchange format; and the bad requests: a period
outside the data, no type, no record at all.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.units import NEW, OLD, code_column
from layers.counts import INCIDENT_TYPES
from layers.cube import build_cube
from layers.periods import within


def _plain(incidents: pd.DataFrame, units: pd.Index, unit_set: str, types, start, end):
    """The pass over the records the cube replaces."""
    chosen = INCIDENT_TYPES if types is None else tuple(types)
    mask = incidents["type"].isin(chosen) & within(incidents["date"], start, end)
    counts = incidents.loc[mask].groupby(code_column(unit_set)).size()
    return counts.reindex(units, fill_value=0).astype("int64").rename("count")


# -- the demo store -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's incidents and both unit tables, as the app reads them."""
    from geo.boundaries import load_communes
    from geo.config import Settings
    from geo.store import open_store
    from tests.cache import demo_data

    data = Settings(data_dir=tmp_path_factory.mktemp("demo") / "var")
    demo_data(data)
    with open_store(data) as store:
        incidents, population = store.read("incidents"), store.read("population")
    units = {s: pd.DataFrame(load_communes(data, s).drop(columns="geometry")) for s in (NEW, OLD)}
    return incidents, population, units


#: Periods of every shape a page offers, and some no page offers: a quarter, a half-year,
#: a year, a campaign, two single days, one across the merger, the whole span, open ends,
#: and periods before, after and around the data.
PERIODS = [
    (dt.date(2024, 7, 1), dt.date(2024, 9, 30)),
    (dt.date(2023, 1, 1), dt.date(2023, 6, 30)),
    (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
    (dt.date(2022, 1, 2), dt.date(2022, 1, 2)),
    (dt.date(2025, 6, 30), dt.date(2025, 7, 1)),
    (None, None),
    (None, dt.date(2023, 3, 31)),
    (dt.date(2024, 2, 29), None),
    (dt.date(2010, 1, 1), dt.date(2011, 12, 31)),
    (dt.date(2030, 1, 1), dt.date(2030, 3, 31)),
    (dt.date(2000, 1, 1), dt.date(2040, 1, 1)),
]
TYPE_SETS = [None, ("tip",), ("victim", "trafficking_case"), ("illegal_crossing", "tip",
                                                               "victim"), ()]


def test_demo_counts_are_those_of_a_pass_over_the_records(demo):
    incidents, _, units = demo
    cube = build_cube(incidents, units)
    assert cube.origin == incidents["date"].min().date()
    nonzero = 0
    for unit_set in (NEW, OLD):
        for types in TYPE_SETS:
            for start, end in PERIODS:
                got = cube.counts(unit_set, types, start, end)
                want = _plain(incidents, units[unit_set].index, unit_set, types, start, end)
                pd.testing.assert_series_equal(got, want, check_index_type=False)
                nonzero += int(want.sum() > 0)
    assert nonzero > 40  # the grid is not made of empty answers
    whole = cube.counts(NEW)
    assert whole.sum() == len(incidents) and (whole.index == units[NEW].index).all()


def test_demo_cube_is_small(demo):
    """At most 8 bytes per record and unit set (the keys and running sums kept), plus the
    counts of undated records: far below a dense units × days × types array."""
    incidents, _, units = demo
    cube = build_cube(incidents, units)
    n_units = sum(len(u) for u in units.values())
    undated = 8 * len(cube.types) * n_units
    assert cube.nbytes <= 8 * len(incidents) * 2 + 8 + undated
    assert cube.nbytes < 4 * n_units * cube.days * len(cube.types) / 10


# -- random records -------------------------------------------------------------------------

UNITS = pd.Index(["25681", "25489", "25522", "25459"])
OLD_UNITS = pd.Index(["25699", "25681", "25489"])


@st.composite
def records(draw):
    """Up to 60 records over two years: some undated, some late in the day, some with no
    code or a code of no unit, some of a type the format does not know."""
    n = draw(st.integers(0, 60))
    first = pd.Timestamp("2024-01-01")
    rows = []
    for _ in range(n):
        day = draw(st.one_of(st.none(), st.integers(0, 730)))
        hour = draw(st.sampled_from([0, 8, 23]))
        rows.append({
            "date": pd.NaT if day is None else first + pd.Timedelta(days=day, hours=hour),
            "type": draw(st.sampled_from([*INCIDENT_TYPES, "other"])),
            "new_code": draw(st.sampled_from([*UNITS, "99999", None])),
            "old_code": draw(st.sampled_from([*OLD_UNITS, "88888", None])),
        })
    frame = pd.DataFrame(rows, columns=["date", "type", "new_code", "old_code"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


days = st.one_of(st.none(), st.dates(dt.date(2023, 6, 1), dt.date(2026, 6, 1)))
type_sets = st.one_of(st.none(), st.lists(st.sampled_from([*INCIDENT_TYPES, "other", "nope"]),
                                          max_size=5, unique=True))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.sampled_from([NEW, OLD]), type_sets, days, days)
def test_random_records_any_filter(incidents, unit_set, types, start, end):
    units = {NEW: UNITS, OLD: OLD_UNITS}
    cube = build_cube(incidents, units)
    got = cube.counts(unit_set, types, start, end)
    chosen = INCIDENT_TYPES + ("other",) if types is None else types  # the cube holds "other"
    want = _plain(incidents, units[unit_set], unit_set, chosen, start, end)
    pd.testing.assert_series_equal(got, want)
    # the latest record of the types from start on, as commune_rates reads it without an end
    picked = incidents["type"].isin(cube.types if types is None else types)
    if start is not None:
        picked &= incidents["date"] >= pd.Timestamp(start)
    latest = incidents.loc[picked, "date"].max()
    assert (pd.isna(latest) and pd.isna(cube.last_date(types, start))) \
        or cube.last_date(types, start) == latest


def test_a_record_at_23h_on_the_last_day_is_in_the_period():
    incidents = pd.DataFrame({"date": pd.to_datetime(["2024-06-30 23:00", "2024-07-01 00:00"]),
                              "type": "tip", "new_code": "25681", "old_code": "25699"})
    cube = build_cube(incidents, {NEW: UNITS})
    assert cube.counts(NEW, None, dt.date(2024, 4, 1), dt.date(2024, 6, 30))["25681"] == 1
    assert cube.counts(NEW, None, dt.date(2024, 7, 1), dt.date(2024, 9, 30))["25681"] == 1


def test_bad_requests_give_zeros_or_say_what_is_wrong():
    incidents = pd.DataFrame({"date": pd.to_datetime(["2024-03-01", "2024-05-01", None]),
                              "type": ["tip", "victim", "tip"],
                              "new_code": ["25681", "25489", "25681"],
                              "old_code": ["25699", "25489", "25699"]})
    cube = build_cube(incidents, {NEW: UNITS})
    zeros = [0, 0, 0, 0]
    assert cube.counts(NEW, ()).tolist() == zeros  # no type
    assert cube.counts(NEW, ["nope"]).tolist() == zeros  # a type no record has
    assert cube.counts(NEW, None, dt.date(2030, 1, 1), dt.date(2030, 12, 31)).tolist() == zeros
    assert cube.counts(NEW, None, dt.date(2020, 1, 1), dt.date(2023, 12, 31)).tolist() == zeros
    assert cube.counts(NEW, None, dt.date(2024, 6, 1), dt.date(2024, 1, 1)).tolist() == zeros
    # the undated record counts only when no period is asked
    assert cube.counts(NEW).tolist() == [2, 1, 0, 0]
    assert cube.counts(NEW, None, dt.date(2024, 1, 1)).tolist() == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="unit_set must be one of"):
        cube.counts("2019")
    with pytest.raises(ValueError, match="without the unit set 'legacy'"):
        cube.counts(OLD)
    with pytest.raises(ValueError, match="whole days"):
        cube.counts(NEW, None, pd.Timestamp("2024-03-01 12:00"))
    with pytest.raises(ValueError, match="lack the columns"):
        build_cube(incidents.drop(columns="old_code"), {OLD: OLD_UNITS})


def test_no_record_at_all():
    empty = pd.DataFrame({"date": pd.to_datetime([]), "type": pd.Series([], dtype=object),
                          "new_code": pd.Series([], dtype=object),
                          "old_code": pd.Series([], dtype=object)})
    cube = build_cube(empty, {NEW: UNITS, OLD: OLD_UNITS})
    assert cube.origin is None and cube.days == 0 and pd.isna(cube.first)
    assert cube.counts(OLD, ["tip"], dt.date(2024, 1, 1), dt.date(2024, 3, 31)).tolist() == \
        [0, 0, 0]
    assert cube.counts(NEW).tolist() == [0, 0, 0, 0]
    assert pd.isna(cube.last_date())


def test_the_cube_is_read_only():
    incidents = pd.DataFrame({"date": pd.to_datetime(["2024-03-01"]), "type": "tip",
                              "new_code": "25681", "old_code": "25699"})
    cube = build_cube(incidents, {NEW: UNITS})
    index = cube._sets[NEW]
    for array in (index.keys, index.running, index.undated):
        with pytest.raises(ValueError):
            array[...] = 0
    answer = cube.counts(NEW)
    answer.iloc[0] = 99  # an answer is the caller's own
    assert cube.counts(NEW).iloc[0] == 1


def test_running_sums_are_sparse_in_the_days():
    """Ten thousand records on two days keep two keys per (type, unit), not one per day."""
    rng = np.random.default_rng(4)
    dates = pd.to_datetime(rng.choice(["2022-01-01", "2026-12-31"], 10_000))
    incidents = pd.DataFrame({"date": dates, "type": "tip",
                              "new_code": rng.choice(UNITS, 10_000), "old_code": "25699"})
    cube = build_cube(incidents, {NEW: UNITS})
    assert cube.days == 1826
    assert len(cube._sets[NEW].keys) == 2 * len(UNITS)
    assert cube.counts(NEW, ["tip"], dt.date(2022, 1, 1), dt.date(2026, 12, 30)).sum() == \
        (dates.year == 2022).sum()


# -- the layers read from the cube: the same layers -----------------------------------------

def _same_layer(with_cube, without):
    pd.testing.assert_frame_equal(with_cube.frame, without.frame)
    assert with_cube.params.keys() == without.params.keys()
    for key, value in without.params.items():
        other = with_cube.params[key]
        if isinstance(value, float) and np.isnan(value):
            assert isinstance(other, float) and np.isnan(other), key
        else:
            assert other == value, key
    for name in ("value", "unit_set", "title_key", "legend_key", "units_key", "colorscale",
                 "caveats"):
        assert getattr(with_cube, name) == getattr(without, name), name


def test_every_layer_is_the_same_with_and_without_the_cube_on_the_demo(demo):
    """Counts (both unit sets), rates and the period comparison (against a year before
    and the previous period) over the grid of periods × type sets: frames and params."""
    from layers.compare import compare_periods
    from layers.counts import incident_counts
    from layers.layer import Caveat
    from layers.rates import commune_rates

    incidents, population, units = demo
    cube = build_cube(incidents, units)
    caveats = (Caveat.SYNTHETIC,)
    compared = 0
    for types in TYPE_SETS[:-1]:
        for start, end in PERIODS:
            for unit_set in (NEW, OLD):
                args = dict(unit_set=unit_set, types=types, start=start, end=end,
                            caveats=caveats)
                _same_layer(incident_counts(incidents, units[unit_set], **args, cube=cube),
                            incident_counts(incidents, units[unit_set], **args))
                if (start, end) not in PERIODS[:5] + PERIODS[8:9] or types not in TYPE_SETS[:3:2]:
                    continue  # a test per commune: a smaller grid
                for against in ("year_before", "previous"):
                    layer = compare_periods(incidents, units[unit_set], against=against,
                                            **args, cube=cube)
                    _same_layer(layer, compare_periods(incidents, units[unit_set],
                                                       against=against, **args))
                    compared += layer.params["comparable"] and layer.params["n_tests"] > 0
            args = dict(types=types, start=start, end=end, caveats=caveats)
            _same_layer(commune_rates(incidents, units[NEW], population, **args, cube=cube),
                        commune_rates(incidents, units[NEW], population, **args))
    assert compared > 8  # comparisons with tests in them, not only "no comparison"
