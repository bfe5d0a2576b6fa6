"""Issue 18: the small-count release plan of the whole country, province by province.

:func:`layers.suppression.release_plan` over the national registry (34
provinces, both unit sets, the four types, 20 quarters and their margins) and
the stored incidents, built in a child process so that its peak memory is
its own (``resource.getrusage``: the records read, the plan, one province's
problem at a time). Three figures: the slowest province (building and
suppressing its table, the nation above it), the whole plan (every province
and the nation's cells), and the child's peak resident memory; the detail
holds every province's CPU seconds, rounds and the peak memory after it.

The baseline is not run again: one table of the whole country did not
finish in 14 minutes of CPU (issue 18), so it would hold the run for longer
than the rest of the suite.

Run alone (generates the national records without the importer)::

    .venv/bin/python -m bench.measure.release --incidents 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.context import Run
from bench.results import Spec, format_table

__all__ = ["PROCESSES", "PROVINCE_MAX", "RSS", "SPECS", "TOTAL", "joined_incidents",
           "measure_release"]

#: Provinces suppressed at once (one process each): every core of the machine, as the
#: server's background build (``dashboard/release_worker.py``) does by default
#: (``Settings.release_processes``: the cores, up to 8).
PROCESSES = os.cpu_count() or 1

PROVINCE_MAX = Spec("release_province_max", 7, "small-count release, national: slowest "
                    "province, CPU (its table built and suppressed)", "s", target=600.0)
TOTAL = Spec("release_national", 7, "small-count release, national: every province and the "
             "nation, CPU", "s", target=600.0)
RSS = Spec("release_national_rss", 7, "small-count release, national: peak memory of the "
           "process building it", "MB")
SPECS = [PROVINCE_MAX, TOTAL, RSS]
_COLUMNS = ["date", "type", "new_code", "old_code"]


def measure_release(run: Run) -> None:
    """The three figures, from the stored incidents of the run (``run.incidents``)."""
    path = run.work / "release_records.pkl"
    run.incidents[_COLUMNS].to_pickle(path)
    run.log(f"small-count release plan of {len(run.incidents):,} incidents, "
            "province by province (child process)")
    for figure in figures(build_in_child(path, run.work / "release.json")):
        run.add(figure)


def build_in_child(records: Path, out: Path, processes: int = PROCESSES) -> dict:
    """Run :func:`_build` in a fresh interpreter (its own peak memory); its JSON report."""
    subprocess.run([sys.executable, "-m", "bench.measure.release", "--records", str(records),
                    "--report", str(out), "--processes", str(processes)], check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def figures(report: dict) -> list:
    """The figures of a child's report."""
    work = pd.DataFrame(report["work"]).set_index("province")
    provinces = work.drop(index=[k for k in ("nation", "linked") if k in work.index])
    slowest = provinces["cpu_seconds"].idxmax()
    detail = {"provinces": len(provinces), "linked": report["linked"],
              "records": report["records"], "cells": int(work["cells"].sum()),
              "seconds_per_province": provinces["seconds"].round(2).to_dict(),
              "cpu_seconds_per_province": provinces["cpu_seconds"].round(2).to_dict(),
              "cpu_seconds_province_max": float(provinces["cpu_seconds"].max()),
              "cells_per_province": provinces["cells"].to_dict(),
              "rounds_per_province": provinces["rounds"].to_dict(),
              "peak_rss_mb_after_province": provinces["peak_rss_mb"].round(1).to_dict()
              if "peak_rss_mb" in provinces else None,
              "cpu_seconds_provinces_sum": float(provinces["cpu_seconds"].sum()),
              "nation_cpu_seconds": float(work.loc["nation", "cpu_seconds"]),
              "nation_seconds": float(work.loc["nation", "seconds"]),
              "linked_seconds": float(work.loc["linked", "seconds"]) if "linked" in work.index
              else 0.0,
              "suppressed": report["suppressed"], "cpu_seconds": report["cpu_seconds"],
              "seconds": report["seconds"], "processes": report.get("processes", 1),
              "cpu_seconds_workers": report.get("cpu_seconds_workers"),
              "load": report.get("load")}
    return [
        PROVINCE_MAX.make(float(provinces["cpu_seconds"].max()), stat="single",
                          samples=[float(provinces["cpu_seconds"].max())],
                          detail={**detail, "slowest": slowest,
                                  "median_province_cpu_s":
                                  float(provinces["cpu_seconds"].median())},
                          note=f"province {slowest}, CPU seconds of the child (the machine is "
                               f"shared: wall clock counts the others' load, here "
                               f"{provinces.loc[slowest, 'seconds']:.1f} s); the median "
                               f"province took {provinces['cpu_seconds'].median():.1f} CPU-s"),
        TOTAL.make(report["cpu_seconds"], stat="single", samples=[report["cpu_seconds"]],
                   detail=detail,
                   note=f"release_plan end to end (records split by province, 34 tables, "
                        f"each with the nation above it, then the nation's cells), CPU "
                        f"seconds of the child and its {report.get('processes', 1)} worker "
                        f"process(es); wall clock {report['seconds']:.1f} s, load average "
                        f"{_loads(report)} at the start and end; one table of the whole "
                        "country did not finish in 14 min CPU (issue 18), not run again"),
        RSS.make(report["peak_rss_mb"], stat="single", samples=[report["peak_rss_mb"]],
                 detail={"before_plan_mb": report["rss_before_mb"],
                         "main_mb": report.get("peak_rss_main_mb"),
                         "largest_worker_mb": report.get("peak_rss_worker_mb")},
                 note="ru_maxrss of the child or of its largest worker process (each holds "
                      "one province's problem at a time): Python, the records read, the "
                      "national registry, the plan"),
    ]


def _loads(report: dict) -> str:
    load = report.get("load")
    return "unknown" if not load else " and ".join(f"{x:.1f}" for x in load)


def _build(records_path: Path, report_path: Path, processes: int) -> None:
    """The child: read the records, build the plan (``processes`` provinces at once), write
    what it measured: the CPU seconds of the child and of its workers, the peak memory of
    the child and of its largest worker."""
    import logging

    from geo.units import national_registry
    from layers.suppression import PUBLISHED, release_plan

    logging.basicConfig(level=logging.INFO, format="[release] %(message)s", stream=sys.stderr)
    incidents = pd.read_pickle(records_path)
    registry = national_registry()
    from bench.servers import peak_rss_mb

    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would carry the bench's own peak
    before = peak_rss_mb(os.getpid())[0]
    cpu = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    plan = release_plan(incidents, registry, processes=processes)
    seconds = time.perf_counter() - started
    own = time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    helpers = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    national = plan.national
    work = national.work.reset_index()
    report = {
        "records": len(incidents), "seconds": seconds, "cpu_seconds": own + helpers,
        "cpu_seconds_main": own, "cpu_seconds_workers": helpers, "processes": processes,
        "peak_rss_mb": max(peak_rss_mb(os.getpid())[0], float(work["peak_rss_mb"].max())),
        "peak_rss_main_mb": peak_rss_mb(os.getpid())[0],
        # each worker's own peak (VmHWM): the children's ru_maxrss starts from the parent's
        "peak_rss_worker_mb": float(work.loc[work["province"] != "nation",
                                             "peak_rss_mb"].max()),
        "rss_before_mb": before, "linked": list(national.linked),
        "joint": [list(codes) for codes in national.joint],
        "load": [load, os.getloadavg()[0]],
        "suppressed": {str(k): int(v) for k, v in
                       national.cells["status"].value_counts().items() if k != PUBLISHED},
        "work": work.to_dict(orient="records"),
    }
    Path(report_path).write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")


def joined_incidents(incidents: pd.DataFrame, units) -> pd.DataFrame:
    """Generated records as the importer joins them, without the importer.

    A record of a former commune gets the 2025 commune the registry names
    for it; a record of a 2025 commune gets the former commune the importer
    defaults to (the one whose code it carries, else the first by code; points
    are not looked at). Types written as Vietnamese labels become codes.
    """
    from bench.national import _TYPE_LABELS, MERGER_DATE

    registry = units.registry
    dates = pd.to_datetime(incidents["date"], format="%d/%m/%Y")
    before = (dates < pd.Timestamp(MERGER_DATE)).to_numpy()
    code = incidents["commune_code"].astype(str)
    comp = registry.composition.sort_values(["new_code", "old_code"])
    own = comp[comp["old_code"] == comp["new_code"]].set_index("new_code")["old_code"]
    default_old = own.combine_first(comp.drop_duplicates("new_code")
                                    .set_index("new_code")["old_code"])
    new = np.where(before, registry.legacy["new_code"].reindex(code).to_numpy(), code)
    old = np.where(before, code, default_old.reindex(code).to_numpy())
    types = incidents["type"].replace({v: k for k, v in _TYPE_LABELS.items()})
    return pd.DataFrame({"date": dates, "type": types, "new_code": new,
                         "old_code": pd.Series(old).where(pd.notna(old), None)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.measure.release",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000,
                        help="records to generate (when --records is not given)")
    parser.add_argument("--records", type=Path, help="a pickled frame of joined records: "
                        "build the plan from it in this process (the child)")
    parser.add_argument("--report", type=Path, help="where the child writes its JSON")
    parser.add_argument("--processes", type=int, default=PROCESSES,
                        help="provinces suppressed at once, one process each (default: the "
                             f"release worker's, {PROCESSES} here)")
    args = parser.parse_args(argv)
    if args.records is not None:
        _build(args.records, args.report, args.processes)
        return 0
    from bench.national import national_records, national_units
    from geo.units import national_registry

    work = Path(tempfile.mkdtemp(prefix="bw-release-"))
    units = national_units(national_registry())
    frame, _ = national_records(units, incidents=args.incidents, outreach=10)
    joined_incidents(frame, units).to_pickle(work / "records.pkl")
    del frame, units
    report = build_in_child(work / "records.pkl", work / "release.json", args.processes)
    found = figures(report)
    print(format_table(found))
    print(json.dumps([f.to_dict() for f in found], ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
