"""The forecasts built in a background process and kept on disk (dashboard/forecast_worker.py):
read back by a fresh worker without building, built again after an import, nothing built
when the setting is off, and no process left behind."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dashboard import forecast_worker
from dashboard.analysis import Analyses
from dashboard.context import build_context
from dashboard.forecast_build import state_of
from geo.config import Settings
from tests.cache import demo_data

#: A state whose forecast is quick to build: 7 quarters of victims, too few (its layer says
#: so), so the tests time the machinery, not the model.
QUICK = dict(unit_set="2025", types=("victim",), end=dt.date(2023, 9, 30))
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    folder = tmp_path_factory.mktemp("forecast-worker")
    settings = Settings(data_dir=folder / "var", cache_dir=folder / "cache",
                        precompute_forecasts=True)
    demo_data(settings)
    return settings


def _files(settings: Settings) -> list[Path]:
    return sorted(Path(settings.cache_dir).glob("forecast-*.pickle"))


def _until(condition, seconds: float = 600.0):
    """Poll ``condition`` until it is true (a deadline on a shared machine, not a timing)."""
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.3)
    return found


def _no_build(*args, **kwargs):
    raise AssertionError("the forecast was built again in this process")


def test_a_forecast_built_once_is_read_from_disk_by_a_fresh_analyses(settings, monkeypatch):
    first = Analyses(build_context(settings))
    layer = first.forecast(**QUICK)  # built here, kept on disk
    assert layer.params["problem"] == "forecast.too_few_periods"
    assert len(_files(settings)) == 1
    monkeypatch.setattr(forecast_worker, "build", _no_build)
    fresh = Analyses(build_context(settings))  # another worker, or the next start
    again = fresh.forecast(**QUICK)
    assert again.frame.equals(layer.frame) and again.params == layer.params
    assert fresh.forecast_track(**QUICK) is None
    # the page's path: "being prepared" once, then the layer from the disk, no process
    page = Analyses(build_context(settings))
    assert page.forecast_ready(**QUICK) is None
    ready = _until(lambda: page.forecast_ready(**QUICK))
    assert ready.frame.equals(layer.frame)
    assert page.forecasts.built == 0 and not multiprocessing.active_children()
    # the report's bounded wait: the same layer, at once
    assert page.forecast_ready(**QUICK, wait=5.0) is ready


def test_the_process_builds_after_the_start_and_again_after_an_import(monkeypatch, tmp_path):
    from geo.ingest import Places, import_file
    from geo.store import open_store

    # its own store: the import below replaces the demo's records
    settings = Settings(data_dir=tmp_path / "var", cache_dir=tmp_path / "cache",
                        precompute_forecasts=True)
    demo_data(settings)
    an = Analyses(build_context(settings))
    an.forecasts.nice = 0  # a shared test machine: the process must not starve
    state = state_of(an, **QUICK)
    monkeypatch.setattr(forecast_worker, "default_states", lambda _an: [state])
    monkeypatch.setattr(forecast_worker, "build", _no_build)  # only the process may build
    for old in _files(settings):
        old.unlink()
    an.ctx.records.on_change(an.forecasts.precompute)  # as create_app does
    assert an.forecasts.precompute()
    before = forecast_worker.forecast_key(forecast_worker.base_key(an), state)
    path = Path(settings.cache_dir) / f"forecast-{before}.pickle"
    _until(path.exists)
    _until(lambda: an.forecasts.built == 1)
    assert an.forecast_ready(**QUICK).params["problem"] == "forecast.too_few_periods"

    # an import: a new revision of the records, so a new key and a new build
    csv = tmp_path / "tin_bao.csv"  # a real import: it replaces the synthetic demo
    csv.write_text("record_id,date,type,commune_code\nW1,05/08/2024,tip,25699\n",
                   encoding="utf-8")
    with open_store(settings) as store:
        report = import_file(csv, "incidents", store, Places.load(settings),
                             today=dt.date(2026, 1, 5))
    assert report.accepted == 1 and report.import_id is not None
    an.ctx.records.current()  # the first request after the import notices it
    after = forecast_worker.forecast_key(forecast_worker.base_key(an), state)
    assert after != before
    _until((Path(settings.cache_dir) / f"forecast-{after}.pickle").exists)
    _until(lambda: an.forecasts.built == 2)
    assert path.exists()  # the older version is kept (the next start may still read it)
    an.forecasts.close()
    assert not multiprocessing.active_children()  # closed: no process, no zombie


def test_the_setting_off_builds_nothing(tmp_path):
    from dashboard.app import create_app

    assert not Settings.from_env({"BORDERWATCH_FORECAST_PRECOMPUTE": "0"}).precompute_forecasts
    assert not Settings.from_env({"BORDERWATCH_FORECAST_PRECOMPUTE": "off"}).precompute_forecasts
    assert Settings.from_env({}).precompute_forecasts
    settings = Settings(data_dir=tmp_path / "var", cache_dir=tmp_path / "cache",
                        precompute_forecasts=False)
    demo_data(settings)
    ctx = build_context(settings)
    create_app(settings, ctx)  # precompute=True: the release plan starts, the forecasts not
    an = Analyses(ctx)
    assert an.forecasts.precompute() is False
    assert an.forecasts.pending() == []
    assert not _files(settings)
    assert not [p for p in multiprocessing.active_children() if p.name == "borderwatch-forecast"]


def test_the_process_leaves_when_its_server_is_killed(settings, tmp_path):
    """A server killed by a signal runs no exit handler: its forecast process notices that
    its parent is gone and leaves, instead of building on for nobody."""
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing, sys, time
        from dashboard.analysis import Analyses
        from dashboard.context import build_context
        from geo.config import Settings
        from layers.counts import INCIDENT_TYPES
        import datetime as dt

        if __name__ == "__main__":
            settings = Settings(data_dir={str(settings.data_dir)!r},
                                cache_dir={str(tmp_path / "cache")!r})
            an = Analyses(build_context(settings))
            an.forecasts.nice = 0
            # a long build: every type, the last quarter
            an.forecast_ready(unit_set="2025", types=INCIDENT_TYPES, end=dt.date(2025, 12, 31))
            while not multiprocessing.active_children():
                time.sleep(0.1)
            print(multiprocessing.active_children()[0].pid, flush=True)
            time.sleep(600)
    """))
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        child = int(server.stdout.readline())
        assert _alive(child)
        server.send_signal(signal.SIGKILL)
        server.wait(30)
        _until(lambda: not _alive(child))
    finally:
        server.kill()
        server.wait()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not: it is only waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_state_names_its_types_in_the_pages_order(settings):
    from dataclasses import replace

    from layers.counts import INCIDENT_TYPES

    an = Analyses(build_context(settings))
    a = state_of(an, unit_set="2025", types=("tip", "victim"), end=dt.date(2025, 9, 30))
    b = state_of(an, unit_set="2025", types=["victim", "tip", "victim"],
                 end=dt.date(2025, 11, 30))
    assert a == b  # the same types, the same last complete quarter
    assert a.types == tuple(t for t in INCIDENT_TYPES if t in {"tip", "victim"})
    assert str(a.origin) == "2025Q3"
    others = (a, replace(a, unit_set="legacy"), replace(a, types=("tip",)),
              replace(a, origin=a.origin - 1))
    assert len({forecast_worker.forecast_key("k", s) for s in others}) == 4
    assert forecast_worker.forecast_key("k", a) != forecast_worker.forecast_key("l", a)


def test_a_forecast_gone_after_its_build_is_built_again_then_said_failed(settings, tmp_path):
    """A cache folder shared with other stores: a forecast gone from the disk when its
    process said it was built is built again (and read); gone after every build, it is said
    failed after REBUILDS + 1 builds, never asked for without end."""
    import dataclasses

    from dashboard.plan_cache import REBUILDS, vanished

    own = dataclasses.replace(settings, cache_dir=tmp_path / "cache",
                              precompute_forecasts=False)
    an = Analyses(build_context(own))
    worker = an.forecasts
    worker.nice = 0
    real, removed, limit = worker._in_process, [], [1]

    def build_then_remove(job, key):
        reply = real(job, key)
        if reply[0] == "done" and len(removed) < limit[0]:
            (worker.folder / f"{forecast_worker.KIND}-{key}.pickle").unlink()
            removed.append(key)
        return reply

    worker._in_process = build_then_remove
    try:
        layer = _until(lambda: an.forecast_ready(**QUICK))
        assert layer.params["problem"] == "forecast.too_few_periods"
        assert len(removed) == 1 and worker.built == 1 and len(worker.history) == 2
        limit[0] = 100  # from now on every build is gone before it is read
        other = state_of(an, **dict(QUICK, end=dt.date(2023, 6, 30)))
        found = _until(lambda: worker.ready(other))
        assert found["parts"]["problem"] == "forecast.failed"
        assert found["parts"]["error"] == vanished("forecast", REBUILDS + 1)
        assert len(worker.history) == 2 + REBUILDS + 1 and worker.built == 1
    finally:
        worker.close()
