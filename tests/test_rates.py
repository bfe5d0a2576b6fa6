"""Rates per 10,000 residents: Marshall's empirical Bayes via esda, population years, gaps."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from esda.smoothing import Empirical_Bayes

from layers.layer import Caveat
from layers.rates import commune_rates

CODES = ["25459", "25480", "25486", "25489"]


def _incidents(counts: dict[str, int], date: str = "2024-06-01", kind: str = "tip") -> pd.DataFrame:
    codes = [code for code, n in counts.items() for _ in range(n)]
    return pd.DataFrame(
        {
            "date": pd.to_datetime([date] * len(codes)),
            "type": [kind] * len(codes),
            "new_code": codes,
            "old_code": codes,
        }
    )


def _communes(codes) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"Xã {c}" for c in codes]}, index=pd.Index(codes, name="code"))


def _population(people: dict[str, int], year: int = 2024) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "new_code": list(people),
            "year": pd.array([year] * len(people), dtype="Int64"),
            "population": pd.array(list(people.values()), dtype="Int64"),
        }
    )


def test_smoothed_rate_is_marshalls_global_empirical_bayes():
    """Hand computation of Marshall (1991) on four communes, one tiny with an extreme rate."""
    e = np.array([3, 20, 30, 100.0])
    n = np.array([500, 20_000, 40_000, 80_000.0])
    layer = commune_rates(
        _incidents(dict(zip(CODES, e.astype(int)))), _communes(CODES),
        _population(dict(zip(CODES, n.astype(int)))),
    )
    m = e.sum() / n.sum()  # province rate
    r = e / n
    s2 = (n * (r - m) ** 2).sum() / n.sum()
    a = s2 - m / n.mean()  # between-commune variance, here positive
    c = a / (a + m / n)  # credibility of each commune's own rate
    by_hand = (m + c * (r - m)) * 10_000
    frame = layer.frame
    assert a > 0
    np.testing.assert_allclose(frame["rate_eb"], by_hand, rtol=1e-12)
    np.testing.assert_allclose(
        frame["rate_eb"], [13.116205, 10.306827, 8.206298, 12.312720], atol=1e-6
    )
    np.testing.assert_allclose(frame["rate"], [60.0, 10.0, 7.5, 12.5])
    assert frame["count"].tolist() == [3, 20, 30, 100]
    assert frame["population"].tolist() == [500, 20_000, 40_000, 80_000]
    assert layer.params["province_rate"] == pytest.approx(153 / 140_500 * 10_000)
    assert layer.value == "rate_eb" and layer.units_key == "unit.per_10k"
    assert layer.title_key == "layer.rates.title"


def test_tiny_commune_shrinks_to_the_province_rate_large_ones_barely_move():
    rng = np.random.default_rng(4)
    codes = [f"{25_000 + i}" for i in range(30)]
    people = dict(zip(codes, rng.integers(50_000, 120_000, size=30).tolist()))
    counts = {c: int(rng.poisson(people[c] * rng.uniform(5, 20) / 10_000)) for c in codes}
    people["24999"], counts["24999"] = 300, 3  # 100 per 10,000 from 3 records
    layer = commune_rates(_incidents(counts), _communes([*codes, "24999"]), _population(people))
    frame, province = layer.frame, layer.params["province_rate"]
    assert frame.loc["24999", "rate"] == pytest.approx(100.0)
    # the weight each commune's own rate keeps: (smoothed - province) / (raw - province)
    kept = (frame["rate_eb"] - province) / (frame["rate"] - province)
    assert kept["24999"] == pytest.approx(0.045, abs=0.001)  # 95 % of the way to the province
    assert frame.loc["24999", "rate_eb"] == pytest.approx(16.9, abs=0.1)
    # 50,000–120,000 residents: they keep about 90 % of their own deviation
    assert kept.drop("24999").between(0.89, 0.95).all()
    assert province == pytest.approx(
        sum(counts.values()) / sum(people.values()) * 10_000
    )


def test_rates_no_more_spread_than_poisson_noise_all_get_the_province_rate():
    """Marshall's A < 0 is set to 0; esda leaves it negative and overshoots the mean."""
    counts = dict(zip(CODES[:3], [10, 21, 39]))
    people = dict(zip(CODES[:3], [10_000, 20_000, 40_000]))
    layer = commune_rates(_incidents(counts), _communes(CODES[:3]), _population(people))
    np.testing.assert_allclose(layer.frame["rate"], [10.0, 10.5, 9.75])
    np.testing.assert_allclose(layer.frame["rate_eb"], [10.0, 10.0, 10.0])
    esda_raw = Empirical_Bayes([10, 21, 39], [10_000, 20_000, 40_000]).r.ravel() * 10_000
    np.testing.assert_allclose(esda_raw, [10.0, 7.456522, 9.377660], atol=1e-6)


def test_missing_or_zero_population_gives_nan_never_zero_and_is_named():
    counts = {"25459": 4, "25480": 2, "25486": 5, "25489": 0}
    people = {"25459": 40_000, "25480": 0}  # 25486 and 25489 have no row at all
    layer = commune_rates(_incidents(counts), _communes(CODES), _population(people))
    frame = layer.frame
    assert frame.loc["25459", "rate"] == pytest.approx(1.0)
    for code in ("25480", "25486", "25489"):
        assert np.isnan(frame.loc[code, "rate"]) and np.isnan(frame.loc[code, "rate_eb"])
    assert frame.loc["25486", "count"] == 5  # the count stays
    assert frame["population"].isna().tolist() == [False, False, True, True]
    assert layer.params["missing_population"] == ("25480", "25486", "25489")
    # the province rate counts only communes with a population
    assert layer.params["province_rate"] == pytest.approx(1.0)


def test_no_records_gives_zero_rates_where_population_is_known():
    layer = commune_rates(
        _incidents({}), _communes(CODES[:2]), _population({"25459": 1_000, "25480": 2_000})
    )
    assert layer.frame["rate"].tolist() == [0.0, 0.0]
    assert layer.frame["rate_eb"].tolist() == [0.0, 0.0]


def test_population_year_follows_the_period_end_else_the_nearest_year():
    population = pd.concat(
        [
            _population({"25459": 10_000, "25480": 20_000}, year=2022),
            _population({"25459": 11_000, "25480": 21_000}, year=2024),
            _population({"25459": 12_000}, year=2025),
        ]
    )
    incidents = _incidents({"25459": 6, "25480": 6}, date="2024-03-01")
    communes = _communes(["25459", "25480"])

    in_2024 = commune_rates(incidents, communes, population, end=dt.date(2024, 12, 31))
    assert in_2024.frame["population"].tolist() == [11_000, 21_000]
    assert in_2024.params["population_year"] == 2024
    assert in_2024.params["population_years_used"] == (2024,)

    # 2027 is not there: each commune takes its nearest year (25480 has no 2025 row)
    later = commune_rates(incidents, communes, population, end=dt.date(2027, 1, 1))
    assert later.frame["population"].tolist() == [12_000, 21_000]
    assert later.params["population_years_used"] == (2024, 2025)

    # 2023 lies between 2022 and 2024: the later year wins the tie
    tie = commune_rates(incidents, communes, population, end=dt.date(2023, 6, 30))
    assert tie.frame["population"].tolist() == [11_000, 21_000]

    # no end: the year of the latest counted record
    open_end = commune_rates(incidents, communes, population, start=dt.date(2024, 1, 1))
    assert open_end.params["population_year"] == 2024
    assert open_end.frame["rate"].round(4).tolist() == [
        round(6 / 11_000 * 10_000, 4), round(6 / 21_000 * 10_000, 4)
    ]


def test_filters_per_and_caveats_travel_like_counts():
    incidents = pd.concat(
        [_incidents({"25459": 3}, kind="tip"), _incidents({"25459": 2}, kind="victim")]
    )
    layer = commune_rates(
        incidents, _communes(["25459", "25480"]),
        _population({"25459": 50_000, "25480": 50_000}),
        types=["victim"], per=100_000, caveats=[Caveat.SYNTHETIC],
    )
    assert layer.frame.loc["25459", "rate"] == pytest.approx(4.0)
    assert layer.params["types"] == ("victim",) and layer.params["per"] == 100_000
    assert layer.caveats == (Caveat.SYNTHETIC,)


def test_legacy_units_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="population is known only for the communes of 2025"):
        commune_rates(_incidents({}), _communes(["25699"]), _population({}), unit_set="legacy")


def test_two_population_rows_for_one_commune_year_are_refused():
    population = pd.concat([_population({"25459": 1_000}), _population({"25459": 1_200})])
    with pytest.raises(ValueError, match="several population rows"):
        commune_rates(_incidents({}), _communes(["25459"]), population)


def test_inputs_are_not_changed():
    incidents = _incidents({"25459": 3, "25480": 1})
    communes = _communes(["25459", "25480"])
    population = _population({"25459": 30_000})
    before = (incidents.copy(), communes.copy(), population.copy())
    commune_rates(incidents, communes, population)
    for after, kept in zip((incidents, communes, population), before):
        pd.testing.assert_frame_equal(after, kept)


def test_demo_data_rates(tmp_path):
    from dashboard.serving import ensure_demo
    from geo.boundaries import load_communes
    from geo.config import Settings
    from geo.store import open_store

    settings = Settings(data_dir=tmp_path / "var")
    ensure_demo(settings)
    with open_store(settings) as store:
        incidents, population = store.read("incidents"), store.read("population")
    communes = load_communes(settings, "2025")
    layer = commune_rates(
        incidents, communes, population, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)
    )
    frame = layer.frame
    assert len(frame) == 96 and layer.params["missing_population"] == ()
    assert layer.params["population_year"] == 2025
    assert frame["rate_eb"].notna().all()
    # smoothing narrows the spread of rates, and keeps the province rate in the middle
    assert frame["rate_eb"].std() < frame["rate"].std()
    assert frame["rate_eb"].min() < layer.params["province_rate"] < frame["rate_eb"].max()
    assert frame["count"].sum() == (incidents["date"].dt.year == 2025).sum()


def test_the_cube_gives_the_same_rates_and_population_year():
    """Read from the cube (layers/cube.py): the same counts, and without an end the year of
    the latest record of the types, from the start on (2024 here, not the 2025 tip)."""
    from layers.cube import build_cube

    population = pd.concat([_population({"25459": 10_000, "25480": 20_000}, year=2024),
                            _population({"25459": 12_000, "25480": 22_000}, year=2025)])
    incidents = pd.concat([_incidents({"25459": 6, "25480": 2}, date="2024-03-01",
                                      kind="victim"),
                           _incidents({"25480": 1}, date="2025-02-01", kind="tip")])
    communes = _communes(["25459", "25480", "25486"])
    cube = build_cube(incidents, {"2025": communes})
    args = dict(types=["victim"], start=dt.date(2024, 1, 1))
    layer = commune_rates(incidents, communes, population, **args, cube=cube)
    assert layer.params["population_year"] == 2024
    assert layer.frame["count"].tolist() == [6, 2, 0]
    assert layer.frame["rate"].round(1).tolist()[:2] == [6.0, 1.0]
    pd.testing.assert_frame_equal(layer.frame,
                                  commune_rates(incidents, communes, population, **args).frame)
    # no record of the types after the start: the latest population year, as without it
    late = dict(types=["victim"], start=dt.date(2024, 6, 1))
    assert commune_rates(incidents, communes, population, **late,
                         cube=cube).params["population_year"] == 2025
    assert commune_rates(incidents, communes, population, **late).params["population_year"] \
        == 2025
    with pytest.raises(ValueError, match="unit_set='2025'"):
        commune_rates(incidents, communes, population, unit_set="legacy", cube=cube)


def test_population_of_random_tables_is_the_nearest_year_the_later_on_a_tie():
    """Each commune's row, chosen on numbers, against the rule read plainly per commune."""
    from layers.rates import _population_of

    rng = np.random.default_rng(12)
    codes = pd.Index([f"2{i:04d}" for i in range(40)])
    for _ in range(30):
        pairs = {(c, int(y)) for c in rng.choice(codes, 60) for y in rng.integers(2018, 2027, 1)}
        table = pd.DataFrame([(c, y, int(rng.integers(1, 50_000))) for c, y in sorted(pairs)],
                             columns=["new_code", "year", "population"]).sample(frac=1,
                                                                                random_state=2)
        year = int(rng.integers(2016, 2029))
        people, used = _population_of(table, codes, year)
        want, years = {}, set()
        for code, rows in table.groupby("new_code"):
            best = min(rows.itertuples(), key=lambda r: (abs(r.year - year), -r.year))
            want[code], _ = best.population, years.add(best.year)
        got = {c: None if pd.isna(v) else int(v) for c, v in people.items()}
        assert got == {c: want.get(c) for c in codes}
        assert used == tuple(sorted(years))


def test_empirical_bayes_gives_esdas_numbers_to_the_last_bit():
    """layers.rates.empirical_bayes is esda's Empirical_Bayes without the object: the same
    floats exactly, on country-sized random counts and populations (and the app's smoothed
    rates through it)."""
    from layers.rates import empirical_bayes, smoothed_rates

    rng = np.random.default_rng(7)
    for n in (4, 96, 3321):
        people = rng.integers(200, 60_000, n).astype(float)
        events = rng.poisson(people * rng.gamma(2.0, 1e-4, n)).astype(float)
        np.testing.assert_array_equal(empirical_bayes(events, people),
                                      Empirical_Bayes(events, people).r.ravel())
        counts = pd.Series(events.astype(int), index=[f"c{i}" for i in range(n)])
        people_s = pd.Series(pd.array(people.astype(int), dtype="Int64"), index=counts.index)
        people_s.iloc[::17] = pd.NA  # unknown populations: NaN rates, out of the smoothing
        raw, eb, province = smoothed_rates(counts, people_s)
        known = people_s.notna().to_numpy()
        np.testing.assert_array_equal(
            eb[known].to_numpy(), Empirical_Bayes(events[known], people[known]).r.ravel())
        assert eb[~known].isna().all() and raw[~known].isna().all()
        assert province == events[known].sum() / people[known].sum()


def test_population_read_again_when_the_table_changes_in_place():
    """The populations are kept per table and year: a table changed in place, or another
    table, is read again (never a stale population)."""
    from layers.rates import _population_of

    codes = pd.Index(["25459", "25480"])
    table = _population({"25459": 10_000, "25480": 20_000}, year=2024)
    assert _population_of(table, codes, 2024)[0].tolist() == [10_000, 20_000]
    table.loc[0, "population"] = 11_000
    assert _population_of(table, codes, 2024)[0].tolist() == [11_000, 20_000]
    other = _population({"25459": 5, "25480": 6}, year=2024)
    assert _population_of(other, codes, 2024)[0].tolist() == [5, 6]
    people, _ = _population_of(other, codes[::-1], 2024)
    assert people.tolist() == [6, 5] and list(people.index) == ["25480", "25459"]
    people.iloc[0] = 0  # the caller's copy: what is kept does not change
    assert _population_of(other, codes, 2024)[0].tolist() == [5, 6]
