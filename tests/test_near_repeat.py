"""The Knox test of near repeats (layers/near_repeat.py), checked against pointpats' Knox."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pyproj
import pytest

from geo.approx_boundaries import METRIC_CRS
from layers.near_repeat import (
    MIN_RECORDS, BandError, Bands, NearRepeatError, _located, _metric_xy, knox_test,
    originators, parse_edges,
)

_ORIGIN = pd.Timestamp("2025-01-01")
_TO_WGS84 = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
# a square of 20 × 20 km in the province (UTM 48N metres)
_X0, _Y0, _SIDE = 590_000.0, 1_230_000.0, 20_000.0


def _records(x, y, day, kind="illegal_crossing") -> pd.DataFrame:
    lon, lat = _TO_WGS84.transform(np.asarray(x, float), np.asarray(y, float))
    return pd.DataFrame({
        "record_id": [f"R{k:04d}" for k in range(len(x))],
        "date": _ORIGIN + pd.to_timedelta(np.asarray(day, int), unit="D"),
        "type": kind, "lat": lat, "lon": lon,
    })


def _background(rng, n: int, days: int = 365) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (_X0 + rng.random(n) * _SIDE, _Y0 + rng.random(n) * _SIDE,
            rng.integers(0, days, n))


def _near_repeats(seed: int, n_parents: int = 120, share: float = 0.5,
                  spread_m: float = 400.0, lag_days: int = 6) -> pd.DataFrame:
    """Random records, a ``share`` of which are followed by one more within ``spread_m``
    metres and ``lag_days`` days: a true near-repeat pattern of 0–1 km × 0–7 days."""
    rng = np.random.default_rng(seed)
    x, y, day = _background(rng, n_parents)
    parents = np.flatnonzero(rng.random(n_parents) < share)
    angle = rng.random(len(parents)) * 2 * np.pi
    radius = rng.random(len(parents)) * spread_m
    cx = x[parents] + radius * np.cos(angle)
    cy = y[parents] + radius * np.sin(angle)
    cday = day[parents] + rng.integers(1, lag_days + 1, len(parents))
    return _records(np.r_[x, cx], np.r_[y, cy], np.r_[day, cday])


@pytest.fixture
def numpy_global_seed():
    """pointpats permutes with NumPy's global generator: seed it, and restore it after."""
    state = np.random.get_state()
    np.random.seed(12345)
    yield
    np.random.set_state(state)


def _pointpats(records: pd.DataFrame, delta_km: float, tau_days: int, permutations: int):
    from pointpats.spacetime import Knox

    located = _located(records, None)
    days = (located["date"] - located["date"].min()).dt.days.to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Knox(_metric_xy(located), days.reshape(-1, 1), delta=delta_km * 1000.0,
                    tau=tau_days, permutations=permutations)


# -- the counts and expectations, band by band, as pointpats counts them ----------------------

def test_counts_and_expected_agree_with_pointpats_on_every_threshold(numpy_global_seed):
    records = _near_repeats(seed=7)
    result = knox_test(records, permutations=99, seed=1)
    table = result.table
    cumulative = {}
    for d in result.bands.distance_km:
        for t in result.bands.days:
            theirs = _pointpats(records, d, int(t), permutations=0)
            inside = table[(table["d_hi"] <= d) & (table["t_hi"] <= t)]
            # the bands up to (d, t) add up to pointpats' single test at (d, t)
            assert int(inside["observed"].sum()) == theirs.nst
            assert inside["expected"].sum() == pytest.approx(theirs.expected[0, 0], rel=1e-9)
            cumulative[(d, t)] = (theirs.nst, theirs.expected[0, 0])
    # each single band is a difference of pointpats' cumulative tests (inclusion–exclusion)
    d_edges, t_edges = (0.0, *result.bands.distance_km), (None, *result.bands.days)
    for row in table.itertuples():
        def c(d, t, k):
            return 0.0 if d == 0.0 or t is None else cumulative[(d, t)][k]
        d_prev = d_edges[d_edges.index(row.d_hi) - 1]
        t_prev = t_edges[t_edges.index(row.t_hi) - 1]
        for k, mine in ((0, row.observed), (1, row.expected)):
            single = (c(row.d_hi, row.t_hi, k) - c(d_prev, row.t_hi, k)
                      - c(row.d_hi, t_prev, k) + c(d_prev, t_prev, k))
            assert mine == pytest.approx(single, rel=1e-9, abs=1e-9)
    first = table.iloc[0]
    assert (first["d_band"], first["t_band"]) == ("0–1", "0–7")
    assert first["observed"] == cumulative[(1.0, 7)][0] and first["observed"] > 30


@pytest.mark.parametrize("seed, share", [(11, 0.12), (7, 0.5)])
def test_p_values_agree_with_pointpats_within_monte_carlo_error(numpy_global_seed, seed, share):
    """One band from 0 (pointpats' single test): the same p-value up to the error of two
    independent samples of 999 permutations (four standard errors)."""
    records = _near_repeats(seed=seed, share=share)
    n = 999
    for d, t in ((1.0, 7), (2.0, 14)):
        mine = knox_test(records, Bands((d,), (t,)), permutations=n, seed=seed).table.iloc[0]
        theirs = _pointpats(records, d, t, permutations=n)
        assert mine["observed"] == theirs.nst
        p = max(mine["p_value"], theirs.p_sim, 1.0 / (n + 1))
        tolerance = 4 * np.sqrt(2 * p * (1 - p) / n) + 2.0 / (n + 1)
        assert abs(mine["p_value"] - theirs.p_sim) <= tolerance, (d, t, mine["p_value"],
                                                                  theirs.p_sim)


# -- what the test finds ----------------------------------------------------------------------

def test_a_planted_near_repeat_is_found_and_nothing_else():
    result = knox_test(_near_repeats(seed=3), permutations=999, seed=2)
    table = result.table.set_index(["d_band", "t_band"])
    near = table.loc[("0–1", "0–7")]
    assert near["ratio"] > 3 and near["p_value"] <= 0.002 and near["significant"]
    others = table.drop(index=[("0–1", "0–7")])
    assert not others["significant"].any()
    assert (result.window_km, result.window_days) == (1.0, 7)
    assert result.n_records == len(_located(_near_repeats(seed=3), None))


def test_no_pattern_gives_no_window():
    rng = np.random.default_rng(21)
    result = knox_test(_records(*_background(rng, 200)), permutations=999, seed=4)
    assert not result.table["significant"].any()
    assert result.window_km is None and result.window_days is None
    total = result.table["observed"].sum() / result.table["expected"].sum()
    assert 0.8 < total < 1.2
    assert originators(_records(*_background(rng, 200)), result, on=dt.date(2025, 12, 31)).empty


def test_the_same_seed_gives_the_same_p_values():
    records = _near_repeats(seed=5, share=0.15)
    a = knox_test(records, permutations=199, seed=9).table["p_value"]
    b = knox_test(records, permutations=199, seed=9).table["p_value"]
    c = knox_test(records, permutations=199, seed=10).table["p_value"]
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()


def test_types_and_unlocated_records_are_left_out():
    records = _near_repeats(seed=3)
    base = knox_test(records, permutations=19, seed=0)
    extra = records.iloc[:30].assign(type="victim")
    unlocated = records.iloc[:30].assign(lat=np.nan, record_id="U")
    mixed = pd.concat([records, extra, unlocated], ignore_index=True)
    again = knox_test(mixed, permutations=19, seed=0)
    assert again.n_records == base.n_records
    assert again.table["observed"].tolist() == base.table["observed"].tolist()


def test_originators_are_the_records_whose_window_is_open():
    # two records 224 m apart on days 400 and 403, a lone one on day 420, the rest later
    rng = np.random.default_rng(8)
    x, y, day = _background(rng, 80, days=200)
    records = _records(np.r_[x, 600_000, 600_200, 615_000],
                       np.r_[y, 1_240_000, 1_240_100, 1_235_000],
                       np.r_[day + 620, 400, 403, 420])
    result = knox_test(_near_repeats(seed=3), permutations=199, seed=2)
    assert (result.window_km, result.window_days) == (1.0, 7)
    found = originators(records, result, on=(_ORIGIN + pd.Timedelta(days=405)).date())
    assert found["record_id"].tolist() == ["R0081", "R0080"]      # newest first
    found = found.set_index("record_id")
    assert found.at["R0080", "followers"] == 1 and found.at["R0081", "followers"] == 0
    assert found.at["R0080", "days_left"] == 2 and found.at["R0081", "days_left"] == 5
    assert found.at["R0080", "until"] == _ORIGIN + pd.Timedelta(days=407)
    assert (found["radius_km"] == 1.0).all()
    later = originators(records, result, on=(_ORIGIN + pd.Timedelta(days=425)).date())
    assert later["record_id"].tolist() == ["R0082"] and later.at[0, "days_left"] == 2
    assert originators(records, result, on=(_ORIGIN + pd.Timedelta(days=300)).date()).empty


# -- bad input: a message that says why --------------------------------------------------------

def test_no_located_record():
    records = _near_repeats(seed=3).assign(lat=np.nan)
    with pytest.raises(NearRepeatError) as err:
        knox_test(records)
    assert err.value.key == "nr.error.no_located"


def test_too_few_records():
    records = _near_repeats(seed=3).iloc[:MIN_RECORDS - 1]
    with pytest.raises(NearRepeatError) as err:
        knox_test(records)
    assert err.value.key == "nr.error.too_few" and err.value.params == {
        "n": MIN_RECORDS - 1, "least": MIN_RECORDS}


def test_all_at_one_place_or_on_one_day():
    records = _near_repeats(seed=3)
    with pytest.raises(NearRepeatError) as err:
        knox_test(records.assign(lat=11.2, lon=106.1))
    assert err.value.key == "nr.error.one_place"
    with pytest.raises(NearRepeatError) as err:
        knox_test(records.assign(date=_ORIGIN))
    assert err.value.key == "nr.error.one_day"


@pytest.mark.parametrize("distance, days, key", [
    ((2.0, 1.0), (7, 14), "nr.band.not_increasing"),
    ((1.0, 1.0), (7, 14), "nr.band.not_increasing"),
    ((-1.0, 2.0), (7, 14), "nr.band.not_positive"),
    ((0.0, 2.0), (7, 14), "nr.band.not_positive"),
    ((1.0, 80.0), (7, 14), "nr.band.too_large"),
    ((1.0, 2.0), (7, 400), "nr.band.too_large"),
    ((), (7,), "nr.band.empty"),
    (tuple(range(1, 9)), (7,), "nr.band.too_many"),
    ((1.0,), (7.5,), "nr.band.whole_days"),
    ((float("nan"),), (7,), "nr.band.not_number"),
])
def test_bands_are_checked(distance, days, key):
    with pytest.raises(BandError) as err:
        Bands(distance, days)
    assert err.value.key == key


@pytest.mark.parametrize("text, axis, expected", [
    ("1; 2; 5", "distance", (1.0, 2.0, 5.0)),
    ("0,5; 1,5; 3", "distance", (0.5, 1.5, 3.0)),
    ("1, 2, 5", "distance", (1.0, 2.0, 5.0)),
    ("0,5 1 2", "distance", (0.5, 1.0, 2.0)),
    ("0,5", "distance", (0.5,)),
    ("7,14,30", "days", (7.0, 14.0, 30.0)),
    ("7 14 30", "days", (7.0, 14.0, 30.0)),
])
def test_typed_edges_are_read(text, axis, expected):
    assert parse_edges(text, axis=axis) == expected


@pytest.mark.parametrize("text, axis, key", [
    ("", "distance", "nr.band.empty"),
    ("một; hai", "distance", "nr.band.not_number"),
    ("5; 2", "distance", "nr.band.not_increasing"),
    ("3,5; 7", "days", "nr.band.whole_days"),
    ("0; 7", "days", "nr.band.not_positive"),
    ("100", "distance", "nr.band.too_large"),
])
def test_typed_edges_are_refused_with_a_reason(text, axis, key):
    with pytest.raises(BandError) as err:
        parse_edges(text, axis=axis)
    assert err.value.key == key


def test_too_few_permutations_are_refused():
    with pytest.raises(ValueError, match="at least 19"):
        knox_test(_near_repeats(seed=3), permutations=9)
