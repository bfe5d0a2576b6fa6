"""Issue 18: 50 users for 60 s on the demo, SQLite, 2 gunicorn workers × 8 threads.

The load of ``scripts/load_test.py`` (its :func:`~scripts.load_test.running_server`,
:func:`~scripts.load_test.run_load` and :func:`~scripts.load_test.summarise`): users
signed in as the commander, the planner and the viewer in turn, each changing one filter
of their page at random (the commander: layer, types, period preset, unit set), every
callback the change triggers sent as the browser sends it, then 0.5–2 s of thought.
Run twice in the same run, on the same copy of the demo:

- **baseline, a cold cache**: no statistic computed ahead
  (``BORDERWATCH_STATISTICS_PRECOMPUTE=0``); each new filter state is computed when first
  asked, by the worker asked (kept on disk for the other one);
- **a warmed cache**: the statistics of the states the load asks — the period presets ×
  every choice of types × both unit sets, the first tiers of
  :func:`dashboard.statistics_worker.grid_jobs` — computed ahead into the cache folder
  (here by two processes running :func:`dashboard.statistics_worker.compute`, what the
  server's background process runs, to save the run's time), and the server started with
  its precompute on, as in production.

Both start with the release plan of the demo already on disk (it is not what is compared)
and with the forecasts' precompute off (a forecast asked by the commander is still built
in its process, in both runs). Figures: the p95 of every request, the p95 of a whole filter
change (every role), the errors, and the server's CPU time per filter change (every
worker's CPU over the run / the changes: the figure a shared machine does not blur); each
beside the cold run's.

    .venv/bin/python -m bench.measure.load                 # both runs, table + JSON
    .venv/bin/python -m bench.measure.load --sessions 10 --duration 10   # a smoke run

The JSON goes to ``bench/results/load.json``; the load averages are in it (on a shared
machine the server gets what the other jobs leave: compare the two runs, not the
absolute times).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from bench.results import Spec, format_table, write_results

__all__ = ["CHANGE", "CPU", "ERRORS", "REQUEST", "SPECS", "figures", "main", "measure_load",
           "warm"]

_TITLE = "50 users × 60 s, demo, SQLite, 2 × 8 workers"
REQUEST = Spec("load_request_p95", 2, f"{_TITLE}: p95 per request", "ms", target=1000.0,
               baseline_title="cold cache, nothing computed ahead")
CHANGE = Spec("load_change_p95", 2, f"{_TITLE}: a whole filter change, p95", "ms",
              target=2000.0, baseline_title="cold cache, nothing computed ahead")
#: The target is none: 0 errors (a target of 0 has no ratio or shortfall in the table).
ERRORS = Spec("load_errors", 2, f"{_TITLE}: errors (target 0)", "errors",
              baseline_title="cold cache, nothing computed ahead")
#: The server's CPU time (every worker's) over the run divided by the filter changes made:
#: what a change costs whatever the machine's other load (the wall times above are not).
#: Sign-ins and page loads are in it too. No target: on 2 cores, 50 users who think
#: 0.5–2 s and wait ≤ 2 s per change ask some 15 changes a second, ≈ 130 ms CPU each.
CPU = Spec("load_cpu_per_change", 2, f"{_TITLE}: server CPU per filter change", "ms",
           baseline_title="cold cache, nothing computed ahead")
SPECS = [REQUEST, CHANGE, ERRORS, CPU]
RESULTS = Path(__file__).resolve().parents[1] / "results" / "load.json"


@contextmanager
def _environ(**values: str):
    """``os.environ`` with ``values`` set (the server started inside inherits them)."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _prepared(folder: Path):
    """The demo in ``folder`` with its release plan on disk, and a ``demo(settings)`` that
    copies it (store and cache) into a server's data folder."""
    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from dashboard.serving import ensure_demo
    from geo.config import Settings

    settings = Settings(data_dir=folder, precompute_forecasts=False,
                        precompute_statistics=False)
    ensure_demo(settings)
    an = Analyses(build_context(settings))
    if an.release_plan(wait=900) is None:
        raise RuntimeError("the demo's release plan was not built in 15 min")

    def demo(target) -> None:
        shutil.copytree(folder, target.data_dir, dirs_exist_ok=True)
    return settings, demo


def _warm_share(settings, jobs) -> None:
    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from dashboard.statistics_worker import compute

    an = Analyses(build_context(settings))
    for job in jobs:
        compute(an, job)


def warm(settings, *, processes: int = 2) -> dict:
    """Compute the grid's period presets (every choice of types, both unit sets: the map
    part) into ``settings``' cache folder with ``processes`` processes; what was done."""
    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from dashboard.statistics_worker import grid_jobs
    from layers.periods import PRESETS, preset_period

    an = Analyses(build_context(settings))
    first, last = (an.ctx.incidents["date"].min().date(), an.ctx.incidents["date"].max().date())
    presets = {preset_period(name, last, first) for name in PRESETS}
    jobs = [j for j in grid_jobs(an) if j.part == "map" and (j.start, j.end) in presets]
    started = time.perf_counter()
    mp = multiprocessing.get_context("spawn")
    workers = [mp.Process(target=_warm_share, args=(settings, jobs[n::processes]))
               for n in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if any(w.exitcode for w in workers):
        raise RuntimeError(f"warming failed: exit codes {[w.exitcode for w in workers]}")
    return {"states": len(jobs), "processes": processes,
            "seconds": round(time.perf_counter() - started, 1)}


def _one_run(demo, *, sessions: int, duration: float, precompute: bool, log) -> dict:
    """One load on a server started for it; the summary of ``scripts/load_test.py`` with
    the p50/p95 of a whole filter change, every role's together (``changes``)."""
    from scripts.load_test import (_change_figures, _percentile, run_load, running_server,
                                   summarise)

    flags = {"BORDERWATCH_STATISTICS_PRECOMPUTE": "1" if precompute else "0",
             "BORDERWATCH_FORECAST_PRECOMPUTE": "0"}
    with _environ(**flags), running_server(postgis=False, workers=2, demo=demo,
                                           log=log) as server:
        result = run_load(server.urls, sessions=sessions, duration=duration,
                          think=(0.5, 2.0), pid=server.pids)
        summary = summarise(result, config={"sessions": sessions, "duration_s": duration,
                                            "think": "0.5-2 s", "backend": server.backend,
                                            "workers": server.workers,
                                            "threads": server.threads, **flags})
        text = "\n".join(p.read_text(errors="replace") for p in server.logs)
        summary["setup"] = server.setup_seconds
    summary["server_log_problems"] = [
        line for line in text.splitlines()
        if any(w in line for w in ("ERROR", "CRITICAL", "Traceback", "WORKER TIMEOUT"))][:30]
    seconds = [a[1] * 1000 for a in result.stats.actions]
    summary["changes"] = {  # None: no change made (a smoke run too short for one)
        "n": len(seconds), "p50_ms": round(_percentile(seconds, 50), 1) if seconds else None,
        "p95_ms": round(_percentile(seconds, 95), 1) if seconds else None,
        "failed": sum(not a[2] for a in result.stats.actions),
        **_change_figures(result.stats.actions)}  # requests and waves per change
    return summary


def figures(cold: dict, warmed: dict, warming: dict) -> list:
    """The four figures of the warmed run beside the cold one."""
    detail = {"cold": _short(cold), "warmed": _short(warmed), "warming": warming}
    note = ("load averages (1 min) cold {c}, warmed {w} on {n} cores: a shared machine; the "
            "ratio of the two runs is what counts").format(
                c=cold["server_memory"].get("load_avg_1min"),
                w=warmed["server_memory"].get("load_avg_1min"), n=os.cpu_count())
    return [
        REQUEST.make(warmed["overall"]["p95_ms"], baseline=cold["overall"]["p95_ms"],
                     stat="p95", repetitions=warmed["overall"]["requests"], detail=detail,
                     note=note),
        CHANGE.make(warmed["changes"]["p95_ms"], baseline=cold["changes"]["p95_ms"], stat="p95",
                    repetitions=warmed["changes"]["n"],
                    detail={"cold": cold["changes"], "warmed": warmed["changes"]}, note=note),
        ERRORS.make(float(warmed["overall"]["errors"]),
                    baseline=float(cold["overall"]["errors"]), stat="single",
                    detail={"cold": cold["error_samples"][:5],
                            "warmed": warmed["error_samples"][:5]}),
        CPU.make(warmed["overall"].get("server_cpu_ms_per_filter_change"),
                 baseline=cold["overall"].get("server_cpu_ms_per_filter_change"),
                 stat="single", repetitions=warmed["changes"]["n"],
                 detail={run: {k: summary["overall"].get(k) for k in (
                     "server_cpu_ms_per_filter_change", "server_cpu_ms_per_request",
                     "cores_used")} | {"server_cpu_s": summary["server_memory"].get(
                         "server_cpu_s"), "changes": summary["changes"]["n"]}
                     for run, summary in (("cold", cold), ("warmed", warmed))},
                 note="every worker's CPU time over the run / the filter changes made "
                      "(sign-ins and page loads included): what a change costs whatever "
                      "else runs on the machine"),
    ]


def _short(summary: dict) -> dict:
    """What the JSON keeps of a run: the overall figures, per kind of request (each callback
    by its first output: the bench report shows them), per role and per filter (with the
    requests and waves of a change), memory, the load."""
    return {k: summary[k] for k in ("overall", "kinds", "roles", "filters", "server_memory",
                                    "changes", "setup", "server_log_problems", "client_cpu_s",
                                    "config")
            if k in summary}


def measure_load(run) -> None:
    """The figures in a :class:`bench.context.Run` (``python -m bench``)."""
    import sys

    for figure in _measure(run.work / "load", sessions=50, duration=60.0, log=sys.stderr,
                           say=run.log):
        run.add(figure)


def _measure(work: Path, *, sessions: int, duration: float, log, say,
             processes: int = 2, keep: Path | None = None) -> list:
    work.mkdir(parents=True, exist_ok=True)
    say("load: the demo and its release plan")
    settings, demo = _prepared(work / "demo")
    say(f"load: {sessions} users × {duration:.0f} s, cold cache (nothing computed ahead)")
    cold = _one_run(demo, sessions=sessions, duration=duration, precompute=False, log=log)
    _keep(keep, "cold", cold)
    say("load: the presets' statistics computed ahead")
    warming = warm(settings, processes=processes)
    say(f"  {warming}")
    say(f"load: {sessions} users × {duration:.0f} s, warmed cache (precompute on)")
    warmed = _one_run(demo, sessions=sessions, duration=duration, precompute=True, log=log)
    _keep(keep, "warmed", {**warmed, "warming": warming})
    return figures(cold, warmed, warming)


def _keep(path: Path | None, name: str, summary: dict) -> None:
    """Write one run's whole summary beside the results as soon as it is measured."""
    if path is not None:
        import json

        path.with_name(f"{path.stem}-{name}.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=1, default=str))


def main(argv: list[str] | None = None) -> int:
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--warm-processes", type=int, default=2,
                        help="processes computing the presets ahead (default 2)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bw-bench-load-"))
    load_start = os.getloadavg()
    started = time.perf_counter()

    def say(message: str) -> None:
        seconds = time.perf_counter() - started
        print(f"[{int(seconds // 60):02d}:{seconds % 60:04.1f}] {message}", file=sys.stderr,
              flush=True)

    try:
        found = _measure(work, sessions=args.sessions, duration=args.duration,
                         log=sys.stderr, say=say, processes=args.warm_processes, keep=args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    machine = {"cores": os.cpu_count(), "load_average_at_start": load_start,
               "load_average_at_end": os.getloadavg()}
    path = write_results(args.out, found, suite="load: 50 users × 60 s (issue 18)",
                         date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                         machine=machine, command="python -m bench.measure.load",
                         duration_s=round(time.perf_counter() - started, 1))
    print(format_table(found))
    print(f"\nload average {load_start} → {os.getloadavg()}; written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
