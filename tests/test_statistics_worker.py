"""The costly statistics kept on disk for every worker, and their grid computed ahead in a
background process (dashboard/statistics_worker.py, dashboard/niced_process.py): a kept or
precomputed result is identical to one computed on demand, one worker only computes the
grid, an import starts the new records' grid, the setting off computes nothing, no process
is left behind."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import multiprocessing
import time
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest

from dashboard import statistics_worker
from dashboard.analysis import PLANNER_LAYERS, Analyses
from dashboard.context import build_context
from dashboard.statistics_worker import (DONE, MEMOS_ON_DISK, ON_DISK, GridJob, calendar_periods,
                                         compute, grid_jobs)
from geo.config import Settings
from layers.counts import INCIDENT_TYPES
from layers.layer import Layer
from tests.cache import demo_data


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Settings:
    """The demo's store; each test gives it its own cache folder."""
    folder = tmp_path_factory.mktemp("statistics-worker")
    settings = Settings(data_dir=folder / "var", cache_dir=folder / "unused")
    demo_data(settings)
    return settings


@pytest.fixture(scope="module")
def on_demand(demo, tmp_path_factory) -> tuple[GridJob, dict]:
    """The commander's default view (the grid's first job) and its results computed on
    demand, in a cache folder of their own (the permutations' seed as always)."""
    alone = Analyses(build_context(_with_cache(demo, tmp_path_factory.mktemp("alone"))))
    job = grid_jobs(alone)[0]
    return job, _results(alone, job)


def _with_cache(demo: Settings, folder: Path, **options) -> Settings:
    return Settings(data_dir=demo.data_dir, cache_dir=folder, **options)


def _until(condition, seconds: float = 600.0):
    """Poll ``condition`` until it is true (a deadline on a shared machine, not a timing)."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.3)
    return found


def _layers(an: Analyses, filters: dict) -> dict:
    """Every kept layer of a state: the commander's as the commander asks them, the
    planner's (gap map, reach: every agency) as the planner does."""
    period = {k: filters[k] for k in ("unit_set", "start", "end")}
    return {kind: an.planner_layer(kind, **period) if kind in PLANNER_LAYERS
            else an.layer(kind, **filters) for kind in ON_DISK}


def _results(an: Analyses, job: GridJob) -> dict:
    """Every kept result of ``job``'s state, asked as the pages ask them."""
    filters = {"unit_set": job.unit_set, "types": job.types, "start": job.start,
               "end": job.end}
    out = _layers(an, filters)
    out.update(evidence=an.evidence(**filters), summary=an.summary(**filters),
               lisa=an.lisa(**filters),
               gap_evidence=an.gap_evidence(unit_set=job.unit_set, start=job.start,
                                            end=job.end))
    return out


def _assert_identical(kept, computed, where: str = "") -> None:
    """``kept`` is ``computed``, to the last bit: frames, series, layers (their frame and
    every field), dicts, sequences, numbers (NaN as NaN)."""
    if isinstance(computed, pd.DataFrame):
        pd.testing.assert_frame_equal(kept, computed, check_exact=True, obj=where)
    elif isinstance(computed, pd.Series):
        pd.testing.assert_series_equal(kept, computed, check_exact=True, obj=where)
    elif isinstance(computed, Layer):
        assert isinstance(kept, Layer), where
        for name in (f.name for f in fields(Layer)):
            _assert_identical(getattr(kept, name), getattr(computed, name), f"{where}.{name}")
    elif isinstance(computed, dict):
        assert isinstance(kept, dict) and kept.keys() == computed.keys(), where
        for key, value in computed.items():
            _assert_identical(kept[key], value, f"{where}[{key!r}]")
    elif isinstance(computed, (list, tuple)):
        assert type(kept) is type(computed) and len(kept) == len(computed), where
        for n, (a, b) in enumerate(zip(kept, computed)):
            _assert_identical(a, b, f"{where}[{n}]")
    elif isinstance(computed, float) and math.isnan(computed):
        assert isinstance(kept, float) and math.isnan(kept), where
    else:
        assert type(kept) is type(computed) and kept == computed, where


def _no_build(*args, **kwargs):
    raise AssertionError("computed again instead of read from the disk cache")


# -- the grid ------------------------------------------------------------------------------

def test_the_grid_starts_with_the_commanders_default_view_and_holds_every_choice(demo, tmp_path):
    from dashboard.pages.commander import _defaults
    from layers.periods import PRESETS, preset_period

    an = Analyses(build_context(_with_cache(demo, tmp_path / "cache")))
    jobs = grid_jobs(an)
    view = _defaults(an.ctx)
    first = jobs[0]
    assert (first.unit_set, first.types, first.start.isoformat(), first.end.isoformat(),
            first.part) == (view["units"], tuple(view["types"]), view["from"], view["to"],
                            "map")
    assert jobs[1] == GridJob(first.unit_set, first.types, first.start, first.end, "panel")
    assert len(set(jobs)) == len(jobs)
    incidents = an.ctx.records.current().incidents
    span = incidents["date"].min().date(), incidents["date"].max().date()
    every_choice = {c for n in range(1, len(INCIDENT_TYPES) + 1)
                    for c in itertools.combinations(INCIDENT_TYPES, n)}
    maps = [j for j in jobs if j.part == "map"]
    for name in PRESETS:  # every preset × every choice of types × both unit sets
        start, end = preset_period(name, span[1], span[0])
        found = {(j.types, j.unit_set) for j in maps if (j.start, j.end) == (start, end)}
        assert found == {(c, u) for c in every_choice for u in ("2025", "legacy")}, name
    # the presets come before any other period; the calendar's newest quarter before its oldest
    presets = {preset_period(name, span[1], span[0]) for name in PRESETS}
    last_preset = max(i for i, j in enumerate(jobs) if (j.start, j.end) in presets)
    assert all((j.start, j.end) in presets for j in jobs[:last_preset])
    q3_2024 = jobs.index(GridJob(first.unit_set, first.types, dt.date(2024, 7, 1),
                                 dt.date(2024, 9, 30)))
    q1_2022 = jobs.index(GridJob(first.unit_set, first.types, dt.date(2022, 1, 1),
                                 dt.date(2022, 3, 31)))
    assert last_preset < q3_2024 < q1_2022
    # every type together before each type alone, in a tier
    alone = jobs.index(GridJob(first.unit_set, ("victim",), dt.date(2024, 7, 1),
                               dt.date(2024, 9, 30)))
    assert q3_2024 < alone


def test_calendar_periods_cover_the_records_newest_first():
    periods = calendar_periods(dt.date(2024, 11, 3), dt.date(2025, 2, 1))
    assert periods == [(dt.date(2025, 1, 1), dt.date(2025, 6, 30)),
                       (dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
                       (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
                       (dt.date(2024, 7, 1), dt.date(2024, 12, 31)),
                       (dt.date(2024, 10, 1), dt.date(2024, 12, 31)),
                       (dt.date(2024, 1, 1), dt.date(2024, 12, 31))]


def test_no_records_no_grid(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", cache_dir=tmp_path / "cache")
    assert grid_jobs(Analyses(build_context(settings))) == []


# -- the disk cache ------------------------------------------------------------------------

def test_a_kept_result_is_identical_to_one_computed_on_demand(demo, on_demand, tmp_path,
                                                              monkeypatch):
    job, computed = on_demand
    shared = _with_cache(demo, tmp_path / "shared")
    one = Analyses(build_context(shared))
    assert grid_jobs(one)[0] == job
    compute(one, job)
    compute(one, GridJob(job.unit_set, job.types, job.start, job.end, "panel"))
    folder = one.statistics.version_folder(one.statistics.base())
    assert {p.name for p in folder.iterdir()} == set(ON_DISK) | set(MEMOS_ON_DISK)
    assert all(len(list((folder / name).glob("*.pickle"))) == 1
               for name in set(ON_DISK) | set(MEMOS_ON_DISK) - {"gi_rate", "lisa"})

    # another worker, or the next start: everything read, nothing computed
    other = Analyses(build_context(shared))
    monkeypatch.setattr(other, "_sources", _no_build)
    kept = _results(other, job)
    _assert_identical(kept, computed)
    assert kept["gi"].frame["gi_class"].nunique() > 1  # not a trivial map
    assert kept["evidence"].shape[0] == len(one.ctx.communes[job.unit_set])


def test_the_key_changes_with_the_options(demo, tmp_path):
    settings = _with_cache(demo, tmp_path / "cache")
    ctx = build_context(settings)
    keys = {statistics_worker.statistics_key(Analyses(ctx, **options))
            for options in ({}, {"gi_permutations": 999}, {"seed": 7})}
    assert len(keys) == 3


# -- the background process ----------------------------------------------------------------

def _grid_children() -> list:
    """This process's live grid processes (a release plan's process started by another test
    module's app in the same test worker may still be running: not this module's)."""
    return [p for p in multiprocessing.active_children() if p.name == "borderwatch-statistics"]


def test_one_worker_computes_the_grid_ahead_in_a_process(demo, on_demand, tmp_path,
                                                          monkeypatch):
    settings = _with_cache(demo, tmp_path / "cache", precompute_statistics=True)
    an = Analyses(build_context(settings))
    an.statistics.nice = 0  # a shared test machine: the process must not starve
    an.statistics.limit = 1  # the commander's default view only
    job, computed = on_demand
    assert grid_jobs(an)[0] == job
    assert an.statistics.precompute()
    _until(lambda: an.statistics._process is not None or an.statistics.history)
    second = Analyses(build_context(settings))  # another gunicorn worker
    if an.statistics.running():
        second.statistics._run()  # the lock is held: it starts no process of its own
        assert second.statistics.history == []
    assert an.statistics.wait(600)
    assert [code for _, _, code in an.statistics.history] == [0]
    base = an.statistics.base()
    assert not (an.statistics.version_folder(base) / DONE).exists()  # only part of the grid
    # the page's first ask is read, not computed, and equals a computation on demand
    page = Analyses(build_context(settings))
    monkeypatch.setattr(page, "_sources", _no_build)
    filters = {"unit_set": job.unit_set, "types": job.types, "start": job.start,
               "end": job.end}
    kept = _layers(page, filters)
    kept.update(evidence=page.evidence(**filters), summary=page.summary(**filters),
                gap_evidence=page.gap_evidence(unit_set=job.unit_set, start=job.start,
                                               end=job.end))
    _assert_identical(kept, {k: v for k, v in computed.items() if k != "lisa"})
    assert not _grid_children()


def test_a_done_grid_is_not_walked_again_and_close_ends_the_process(demo, tmp_path):
    settings = _with_cache(demo, tmp_path / "cache", precompute_statistics=True)
    an = Analyses(build_context(settings))
    base = an.statistics.base()
    an.statistics.version_folder(base).mkdir(parents=True)
    (an.statistics.version_folder(base) / DONE).touch()
    assert an.statistics.precompute()
    assert an.statistics.wait(60)
    assert an.statistics.history == []  # nothing started
    (an.statistics.version_folder(base) / DONE).unlink()
    assert an.statistics.precompute()  # the whole grid: far longer than this test
    _until(lambda: an.statistics._process is not None)
    process = an.statistics._process
    an.statistics.close()
    assert not process.is_alive() and not _grid_children()
    assert not an.statistics.precompute()  # closed


def test_an_import_starts_the_new_records_grid(tmp_path):
    from geo.ingest import Places, import_file
    from geo.store import open_store

    settings = Settings(data_dir=tmp_path / "var", cache_dir=tmp_path / "cache",
                        precompute_statistics=True)
    demo_data(settings)
    an = Analyses(build_context(settings))
    an.statistics.nice = 0
    an.statistics.limit = 1
    an.ctx.records.on_change(an.statistics.precompute)  # as create_app does
    before = an.statistics.base()
    csv = tmp_path / "tin_bao.csv"  # a real import: it replaces the synthetic demo
    csv.write_text("record_id,date,type,commune_code\nW1,05/08/2024,tip,25699\n",
                   encoding="utf-8")
    with open_store(settings) as store:
        report = import_file(csv, "incidents", store, Places.load(settings),
                             today=dt.date(2026, 1, 5))
    assert report.accepted == 1
    an.ctx.records.current()  # the first request after the import notices it
    _until(lambda: an.statistics.history)
    assert an.statistics.wait(600)
    after = an.statistics.base()
    assert after != before
    folder = an.statistics.version_folder(after)
    assert list((folder / "evidence").glob("*.pickle"))
    # the one record, in the ranked table read from the disk
    fresh = Analyses(build_context(settings))
    job = grid_jobs(fresh)[0]
    evidence = fresh.evidence(unit_set=job.unit_set, types=job.types, start=job.start,
                              end=job.end)
    assert evidence["count"].sum() == 1
    an.statistics.close()
    assert not _grid_children()


def test_the_setting_off_computes_nothing_ahead(demo, tmp_path, monkeypatch):
    settings = _with_cache(demo, tmp_path / "cache", precompute_statistics=False)
    an = Analyses(build_context(settings))
    assert not an.statistics.precompute()
    assert not an.statistics.running() and not _grid_children()
    assert not list((tmp_path / "cache").glob("statistics-*"))
    env = {"BORDERWATCH_STATISTICS_PRECOMPUTE": "0", "BORDERWATCH_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).precompute_statistics is False
    assert Settings.from_env({**env, "BORDERWATCH_STATISTICS_PRECOMPUTE": "1"}
                             ).precompute_statistics is True


def test_one_lock_holder_leads(tmp_path):
    """The election the grid's worker (as the release's and the forecasts') goes through:
    one holder of a name at a time, free again once its file is closed."""
    from dashboard.plan_cache import elect

    first = elect(tmp_path, "job")
    assert first is not None
    assert elect(tmp_path, "job") is None
    first.close()
    again = elect(tmp_path, "job")
    assert again is not None
    again.close()
