"""Smoke tests of the benchmark suite at tiny sizes: the generator and the table/JSON writer.

The suite itself (``python -m bench``) is not a test: these check that what it
measures is what it says (records in their communes, the counts asked) and
that every figure reaches the JSON with its target, baseline, ratio and verdict.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely

from bench.measure.callbacks import filter_states
from bench.national import (FIRST_DAY, LAST_DAY, incident_truth, national_population,
                            national_records, national_units, places, write_records)
from bench.results import AREAS, Figure, Spec, format_table, read_results, write_results
from geo.units import MERGER_DATE, national_registry


@pytest.fixture(scope="module")
def units():
    """Tây Ninh's units (96 + 280) drawn the way the suite draws the country's."""
    return national_units(national_registry(("80",)), seed=3)


@pytest.fixture(scope="module")
def records(units):
    return national_records(units, incidents=2_000, outreach=300, seed=5)


def test_every_unit_has_a_polygon_and_the_pieces_tile_the_communes(units):
    new, old = units.communes_new, units.communes_old
    assert len(new) == 96 and len(old) == 280
    assert not new.geometry.is_empty.any() and new.geometry.is_valid.all()
    assert not old.geometry.is_empty.any() and old.geometry.is_valid.all()
    # the former communes cut the 2025 ones: the same total area, no overlap between communes
    new_area = shapely.area(new.geometry.values).sum()
    assert shapely.area(old.geometry.values).sum() == pytest.approx(new_area, rel=1e-9)
    assert shapely.union_all(new.geometry.values).area == pytest.approx(new_area, rel=1e-9)


def test_counts_are_as_asked(records):
    incidents, outreach = records
    assert len(incidents) == 2_000 and len(outreach) == 300
    assert incidents["record_id"].is_unique and outreach["record_id"].is_unique
    dates = pd.to_datetime(incidents["date"], format="%d/%m/%Y")
    assert dates.min() >= pd.Timestamp(FIRST_DAY) and dates.max() <= pd.Timestamp(LAST_DAY)


def test_incidents_fall_in_the_commune_their_code_names(units, records):
    incidents, _ = records
    dates = pd.to_datetime(incidents["date"], format="%d/%m/%Y")
    old_set = (dates < pd.Timestamp(MERGER_DATE)).to_numpy()
    codes = incidents["commune_code"].to_numpy()
    assert set(codes[old_set]) <= set(units.communes_old.index)
    assert set(codes[~old_set]) <= set(units.communes_new.index)
    located = incidents["lat"].notna().to_numpy()
    assert 0.4 < located.mean() < 0.7
    shapes = np.where(old_set, units.communes_old.geometry.reindex(codes).to_numpy(),
                      units.communes_new.geometry.reindex(codes).to_numpy())
    inside = shapely.contains_xy(shapes[located], incidents["lon"].to_numpy()[located],
                                 incidents["lat"].to_numpy()[located])
    assert inside.all()
    assert not incidents.loc[incidents["type"] == "victim", "lat"].notna().any()


def test_generated_files_import_through_the_real_importer_into_their_communes(
        units, records, tmp_path):
    from geo.config import Settings
    from geo.ingest import import_file
    from geo.store import open_store

    incidents, outreach = records
    paths = write_records(tmp_path / "files", incidents=incidents, outreach=outreach,
                          population=national_population(units))
    with open_store(Settings(data_dir=tmp_path / "var")) as store:
        for kind in ("incidents", "outreach", "population"):
            report = import_file(paths[kind], kind, store, places(units))
            assert report.rejected == 0 and report.accepted == report.rows_read
        stored = store.read("incidents", ["record_id", "new_code"]).set_index("record_id")
    truth = incident_truth(units, incidents).set_index(incidents["record_id"])
    assert (stored["new_code"].reindex(truth.index) == truth["new_code"]).all()


def test_filter_states_are_distinct_and_inside_the_span():
    states = filter_states(40, dt.date(2021, 1, 1), dt.date(2025, 12, 31))
    keys = {(tuple(s["types"]), s["start"], s["end"]) for s in states}
    assert len(states) == len(keys) == 40
    assert all(s["types"] and "2021-01-01" <= s["start"] <= s["end"] <= "2025-12-31"
               for s in states)


def _figures() -> list[Figure]:
    return [
        Spec("fast", 2, "a time under its target", "ms", target=50.0,
             baseline_title="plain").make(20.0, baseline=80.0, samples=[18.0, 20.0, 25.0],
                                          repetitions=3),
        Spec("slow_rows", 1, "a rate under its target", "rows/s", better="higher",
             target=100_000).make(60_000.0, baseline=120_000.0),
        Spec("info", 5, "a figure without target", "s").make(2.5, baseline=2.0),
        Spec("broken", 6, "a figure that could not run", "MB", target=1536).make(
            None, note="not measured: no server"),
    ]


def test_figure_ratio_and_verdict():
    fast, slow, info, broken = _figures()
    assert fast.ratio == pytest.approx(4.0) and fast.met is True
    assert slow.ratio == pytest.approx(0.5) and slow.met is False
    assert slow.shortfall == pytest.approx(0.4)
    assert info.met is None and info.ratio == pytest.approx(0.8)
    assert broken.met is None and broken.ratio is None


def test_json_has_every_figure_with_value_target_baseline_ratio_and_verdict(tmp_path):
    path = write_results(tmp_path / "latest.json", _figures(), date="2026-11-23T00:00:00+00:00",
                         machine={"cpu": "test", "cores": 2}, mode="quick")
    data = read_results(path)
    assert data["machine"]["cores"] == 2 and data["mode"] == "quick"
    assert set(data["areas"]) == {str(k) for k in AREAS}
    assert [f["key"] for f in data["figures"]] == ["fast", "slow_rows", "info", "broken"]
    for fig in data["figures"]:
        assert {"value", "target", "baseline", "ratio", "met", "status", "unit",
                "samples"} <= set(fig)
    status = {f["key"]: f["status"] for f in data["figures"]}
    assert status == {"fast": "met", "slow_rows": "missed", "info": "no target",
                      "broken": "no target"}
    assert data["figures"][1]["ratio"] == pytest.approx(0.5)
    assert data["figures"][3]["value"] is None


def test_table_shows_values_targets_baselines_and_misses():
    text = format_table(_figures())
    assert "20.0 ms" in text and "≤ 50.0 ms" in text and "×4.00" in text
    assert "60,000 rows/s" in text and "MISSED (−40 %)" in text
    assert "not run" in text
    markdown = format_table(_figures(), markdown=True)
    assert markdown.splitlines()[0].startswith("| figure | value | target")
    assert len(markdown.splitlines()) == 2 + 4


def test_cube_figures_time_both_ways_the_same_answers(units, records):
    """bench.measure.cube on Tây Ninh's 2,000 records: the build, its memory beside the dense
    array, and both callbacks' values with the cube beside the pass over the records, whose
    answers (the Patch as JSON) are the same."""
    from bench.context import Run, Sizes
    from bench.measure.cube import SPECS, measure_cube

    incidents, _ = records
    truth = incident_truth(units, incidents)
    joined = pd.DataFrame({
        "date": pd.to_datetime(incidents["date"], format="%d/%m/%Y"),
        "type": incidents["type"], "new_code": truth["new_code"],
        "old_code": incidents["commune_code"].where(truth["unit_set"] == "legacy")})
    population = national_population(units).rename(columns={"commune_code": "new_code"})
    tiny = Sizes("test", 2_000, 300, repetitions=1, filter_changes=6, commander_changes=1,
                 baseline_changes=1, browser_loads=1, kde_country_repetitions=1)
    run = Run(sizes=tiny, work=None, units=units, incidents=joined)
    measure_cube(run, population=population)
    figures = {f.key: f for f in run.figures}
    assert list(figures) == [s.key for s in SPECS]
    build, memory = figures["cube_build"], figures["cube_memory"]
    assert build.value > 0 and build.detail["days"] == (joined["date"].max()
                                                        - joined["date"].min()).days + 1
    assert 0 < memory.detail["kept_mb"] < memory.baseline
    undated = 8 * len(build.detail["types"]) * sum(build.detail["units"].values())
    assert memory.detail["kept_mb"] * 1e6 <= 2 * 8 * len(joined) + undated + 16
    for key in ("overview_values_cube_p95", "commander_values_cube_p95"):
        fig = figures[key]
        assert fig.target == 50.0 and fig.repetitions == 6 and fig.baseline > 0
        assert len(fig.detail["baseline_samples"]) == 6
        assert fig.detail["same_answer_first_5"] is True


def test_generated_records_are_joined_to_pieces_of_the_registry(units, records):
    from bench.measure.release import joined_incidents

    incidents, _ = records
    joined = joined_incidents(incidents, units)
    assert len(joined) == len(incidents) and set(joined["type"]) <= {
        "trafficking_case", "illegal_crossing", "tip", "victim"}
    comp = units.registry.composition
    pieces = set(zip(comp["old_code"], comp["new_code"], strict=True))
    assert set(zip(joined["old_code"], joined["new_code"], strict=True)) <= pieces
    dates = pd.to_datetime(incidents["date"], format="%d/%m/%Y")
    before = (dates < pd.Timestamp(MERGER_DATE)).to_numpy()
    assert (joined["old_code"].to_numpy()[before] == incidents["commune_code"].to_numpy()[before]).all()
    assert (joined["new_code"].to_numpy()[~before]
            == incidents["commune_code"].to_numpy()[~before]).all()


def test_release_figures_are_the_slowest_province_the_whole_plan_and_the_peak_memory():
    from bench.measure.release import PROVINCE_MAX, RSS, TOTAL, figures

    work = [{"province": p, "seconds": s, "cpu_seconds": s / 2, "cells": 100, "rounds": 1}
            for p, s in (("01", 3.0), ("31", 7.5), ("80", 1.0), ("nation", 0.5))]
    report = {"records": 1000, "seconds": 12.5, "cpu_seconds": 6.0, "peak_rss_mb": 410.0,
              "rss_before_mb": 200.0, "linked": [], "suppressed": {"primary": 10},
              "work": work, "load": [12.0, 20.5]}
    found = {f.key: f for f in figures(report)}
    assert set(found) == {PROVINCE_MAX.key, TOTAL.key, RSS.key}
    # CPU seconds of the child (a shared machine inflates the wall time), the wall beside it
    assert found[PROVINCE_MAX.key].value == 3.75 and found[PROVINCE_MAX.key].detail["slowest"] == "31"
    assert found[PROVINCE_MAX.key].met and found[TOTAL.key].value == 6.0
    assert found[RSS.key].value == 410.0 and found[TOTAL.key].detail["provinces"] == 3
    assert "province 31" in found[PROVINCE_MAX.key].note and "7.5 s" in found[PROVINCE_MAX.key].note
    assert "wall clock 12.5 s" in found[TOTAL.key].note and "12.0 and 20.5" in found[TOTAL.key].note
    assert found[TOTAL.key].detail["load"] == [12.0, 20.5]


def test_table_figure_is_in_the_callbacks_specs_and_server_cpu_is_read_from_proc():
    """The ranked key-area table is a figure of area 2 with its 2 s target; the server's CPU
    seconds are read from /proc (this process's own here: they grow as it works)."""
    import os

    from bench.measure.callbacks import SPECS, TABLE, server_cpu_seconds

    assert TABLE in SPECS and TABLE.target == 2.0 and TABLE.unit == "s"
    before = server_cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    after = server_cpu_seconds(os.getpid())
    assert before is not None and after > before >= 0
    assert server_cpu_seconds(None) is None and server_cpu_seconds(2 ** 31) is None


def test_load_figures_set_the_warmed_run_beside_the_cold_one():
    """The load's three figures (bench/measure/load.py) from two runs as scripts/load_test.py
    summarises them: the warmed run's value, the cold run's as the baseline, the verdicts."""
    from bench.measure.load import CHANGE, CPU, ERRORS, REQUEST, figures
    from scripts.load_test import LoadResult, Sample, Stats, summarise

    def run(seconds: list[float], changes: list[float], failed: int, cpu: float) -> dict:
        stats = Stats()
        for n, s in enumerate(seconds):
            stats.add(Sample("cb cmd-map.figure", "commander", s, n >= failed, 200, 10), "x")
        for s in changes:
            stats.action("commander", s, True, "cmd-preset", requests=5, waves=1)
        summary = summarise(LoadResult(stats, 60.0, {"load_avg_1min": {"mean": 3.0},
                                                     "server_cpu_s": cpu}, 1.0),
                            config={"sessions": 2})
        ms = sorted(1000 * s for s in changes)
        summary["changes"] = {"n": len(ms), "p50_ms": ms[len(ms) // 2], "p95_ms": ms[-1]}
        return summary

    cold = run([0.5] * 19 + [4.0], [1.0, 9.0], failed=1, cpu=3.0)
    warmed = run([0.1] * 20, [0.3, 0.5], failed=0, cpu=0.8)
    found = {f.key: f for f in figures(cold, warmed, {"states": 150, "seconds": 60.0})}
    assert set(found) == {REQUEST.key, CHANGE.key, ERRORS.key, CPU.key}
    request, change, errors = found[REQUEST.key], found[CHANGE.key], found[ERRORS.key]
    assert request.value == pytest.approx(100.0) and request.baseline > 500.0
    assert request.met and request.ratio > 5
    assert change.value == 500.0 and change.baseline == 9000.0 and change.met
    assert errors.value == 0 and errors.baseline == 1 and errors.target is None
    assert found[REQUEST.key].detail["warming"]["states"] == 150
    assert "load averages" in request.note
    # the server's CPU per change (2 changes each): 3.0 s → 1500 ms, 0.8 s → 400 ms
    cpu = found[CPU.key]
    assert cpu.value == 400.0 and cpu.baseline == 1500.0 and cpu.ratio == pytest.approx(3.75)
    assert cpu.detail["warmed"]["server_cpu_s"] == 0.8 and cpu.detail["cold"]["changes"] == 2
    # the JSON keeps each callback's figures and the requests and waves of each filter's change
    warm = request.detail["warmed"]
    assert warm["kinds"]["cb cmd-map.figure"]["requests"] == 20
    assert warm["kinds"]["cb cmd-map.figure"]["p95_ms"] == pytest.approx(100.0)
    assert request.detail["cold"]["kinds"]["cb cmd-map.figure"]["errors"] == 1
    assert warm["filters"]["commander cmd-preset"] == {
        "actions": 2, "requests_per_change": 5.0, "waves_per_change": 1.0, "most_requests": 5,
        "most_waves": 1, "action_p50_ms": 400.0, "action_p95_ms": 490.0}
    assert warm["roles"]["commander"]["waves_per_change"] == 1.0
