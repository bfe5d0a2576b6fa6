"""The forecast built in a background process, against the thread of the serving worker.

On the synthetic demo (the records the app serves), the commander's default forecast
(2025 communes, every type, after the last complete quarter) is built twice:

- **before** (the baseline): in a thread of the process that serves the pages, as the
  app did until issue 18 (:func:`dashboard.forecast_build.build` on the page's
  :class:`~dashboard.analysis.Analyses`);
- **after**: by :class:`dashboard.forecast_worker.ForecastWorker`'s process (``spawn``,
  ``nice`` 10), into an empty cache folder.

Meanwhile, and once with nothing building, the commander's filter changes are timed in
the serving process: the smoothed-rates layer (the map's values) of a filter state
never asked before (types and period drawn as :func:`bench.measure.callbacks.filter_states`
draws them), one every 0.2 s while the build lasts, at most ``--changes`` of them.

    .venv/bin/python -m bench.measure.forecast_process            # table + JSON
    .venv/bin/python -m bench.measure.forecast_process --changes 20

The JSON goes to ``bench/results/forecast_process.json``. A shared machine's load moves
these figures by tens of per cent: the load averages are printed beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench.results import Spec, format_table, write_results
from bench.timing import percentile

__all__ = ["BUILD", "CHANGE", "SPECS", "main"]

BUILD = Spec("forecast_build_process", 4, "the commander's forecast, built in the background "
             "process (spawn, nice 10), demo", "s",
             baseline_title="built in a thread of the serving process")
CHANGE = Spec("commander_change_during_forecast_p95", 2, "commander filter change → map "
              "values while a forecast builds (p95), demo", "ms",
              baseline_title="while it builds in a thread of the serving process (p95)")
SPECS = [BUILD, CHANGE]
RESULTS = Path(__file__).resolve().parents[1] / "results" / "forecast_process.json"
_GAP = 0.2  # seconds between two changes: a user clicking, not a loop


def _changes(an, states: list[dict], busy) -> list[float]:
    """Milliseconds of each filter change (the map's layer) while ``busy()`` is true."""
    times = []
    for state in states:
        if not busy():
            break
        t0 = time.perf_counter()
        an.layer("rates", unit_set="2025", types=tuple(state["types"]),
                 start=dt.date.fromisoformat(state["start"]),
                 end=dt.date.fromisoformat(state["end"]))
        times.append(1000 * (time.perf_counter() - t0))
        time.sleep(_GAP)
    return times


def _summary(times: list[float]) -> dict:
    return {"n": len(times), "p50": percentile(times, 50) if times else None,
            "p95": percentile(times, 95) if times else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=40, help="filter changes per phase")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from bench.measure.callbacks import filter_states
    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from dashboard.forecast_build import build, state_of
    from dashboard.serving import ensure_demo
    from geo.config import Settings
    from layers.counts import INCIDENT_TYPES

    work = Path(tempfile.mkdtemp(prefix="bw-forecast-process-"))
    load_start = os.getloadavg()
    try:
        settings = Settings(data_dir=work / "var", cache_dir=work / "cache",
                            precompute_forecasts=False)
        ensure_demo(settings)
        an = Analyses(build_context(settings))
        dates = an.ctx.records.current().incidents["date"]
        first, last = dates.min().date(), dates.max().date()
        state = state_of(an, unit_set="2025", types=INCIDENT_TYPES, end=last)
        draws = iter(range(1, 100))

        def fresh() -> list[dict]:  # filter states never asked in this run
            return filter_states(args.changes, first, last, seed=100 + next(draws))

        idle_until = time.perf_counter() + args.changes * (_GAP + 0.05)
        idle = _changes(an, fresh(), lambda: time.perf_counter() < idle_until)

        # before: the build in a thread of this (serving) process
        done = threading.Event()
        thread_seconds = []

        def in_thread():
            t0 = time.perf_counter()
            build(an, state)
            thread_seconds.append(time.perf_counter() - t0)
            done.set()

        threading.Thread(target=in_thread, daemon=True).start()
        during_thread = _changes(an, fresh(), lambda: not done.is_set())
        done.wait()

        # after: the same build by the worker's process, into the (empty) cache
        asked = time.perf_counter()
        an.forecasts.ready(state)
        during_process = _changes(an, fresh(), lambda: an.forecasts.ready(state) is None)
        while an.forecasts.ready(state) is None:
            time.sleep(0.2)
        process_wall = time.perf_counter() - asked
        _, start_seconds, build_seconds = an.forecasts.history[-1]
        an.forecasts.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load_end = os.getloadavg()
    machine = {"cores": os.cpu_count(), "load_average_at_start": load_start,
               "load_average_at_end": load_end}
    figures = [
        BUILD.make(build_seconds, baseline=thread_seconds[0], stat="single",
                   samples=[build_seconds],
                   detail={"process_start_seconds": start_seconds,
                           "ask_to_ready_seconds": process_wall},
                   note="the build alone, in the process (its start — spawn, imports, the "
                        "app's context — in detail); at nice 10 it yields the cores to the "
                        "serving workers, so on a busy machine it takes longer"),
        CHANGE.make(_summary(during_process)["p95"], baseline=_summary(during_thread)["p95"],
                    stat="p95", repetitions=len(during_process), samples=during_process,
                    detail={"during_process": _summary(during_process),
                            "during_thread": _summary(during_thread),
                            "idle": _summary(idle), "thread_samples": during_thread,
                            "idle_samples": idle},
                    note="the smoothed-rates layer of a new filter state, in the serving "
                         "process, one change every 0.2 s while the forecast builds; idle: "
                         "the same with nothing building"),
    ]
    path = write_results(args.out, figures, suite="forecast in a background process "
                         "(issue 18)", date=dt.datetime.now(dt.timezone.utc).isoformat(
                             timespec="seconds"), machine=machine,
                         command="python -m bench.measure.forecast_process")
    print(format_table(figures))
    print(f"\nfilter change (ms) idle {_summary(idle)}, during the thread's build "
          f"{_summary(during_thread)}, during the process's build {_summary(during_process)}")
    print(f"load average {load_start} → {load_end}; written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
