"""``python -m bench``: the national-scale benchmark, end to end, in one run.

    .venv/bin/python -m bench            # full: 1,000,000 incidents, 200,000 outreach events
    .venv/bin/python -m bench --quick    # 100,000 / 20,000, fewer repetitions (minutes)

Generates the national synthetic data, measures every figure of issue 8
beside its baseline, prints the table and writes it as JSON
(``bench/results/latest.json``, or ``quick.json`` for ``--quick``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.context import FULL, QUICK, Run
from bench.machine import describe_machine, load_average
from bench.results import format_table, write_results

RESULTS = Path(__file__).resolve().parent / "results"


def _prepare(run: Run) -> None:
    from bench.national import (national_population, national_records, national_units,
                                write_boundaries, write_records)
    from bench.timing import timed
    from geo.units import national_registry

    run.log("national registry and synthetic shapes")
    seconds, units = timed(lambda: national_units(national_registry()))
    run.units = units
    run.info["shapes_seconds"] = seconds
    run.log(f"  {len(units.communes_new):,} communes of 2025, {len(units.communes_old):,} "
            f"former communes ({seconds:.1f} s)")
    sizes = run.sizes
    run.log(f"records: {sizes.incidents:,} incidents, {sizes.outreach:,} outreach events")
    seconds, (incidents, outreach) = timed(lambda: national_records(
        units, incidents=sizes.incidents, outreach=sizes.outreach))
    population = national_population(units)
    run.files = write_records(run.work / "files", incidents=incidents, outreach=outreach,
                              population=population)
    run.data_dir = run.work / "national" / "var"
    write_boundaries(units, run.data_dir)
    run.info.update({
        "records_seconds": seconds,
        "communes_2025": len(units.communes_new), "communes_legacy": len(units.communes_old),
        "incidents": len(incidents), "outreach": len(outreach),
        "incidents_located": int(incidents["lat"].notna().sum()),
        "population_rows": len(population),
        "incidents_csv_mb": round(run.files["incidents"].stat().st_size / 1e6, 1),
        "period": "2021-01-01 … 2025-12-31 (20 quarters)",
        "shapes": "synthetic: Voronoi of the registry centroids, clipped to the former "
                  "communes' buffered boxes",
    })


def _read_incidents(run: Run) -> None:
    from dashboard.records import INCIDENT_COLUMNS
    from geo.config import Settings
    from geo.store import open_store

    with open_store(Settings(data_dir=run.data_dir)) as store:
        run.incidents = store.read("incidents", INCIDENT_COLUMNS)
    run.log(f"read back {len(run.incidents):,} incidents from the store")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100,000 incidents and fewer repetitions (a few minutes)")
    parser.add_argument("--incidents", type=int, help="override the number of incidents")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/latest.json,"
                        " quick.json with --quick)")
    parser.add_argument("--work", type=Path, help="scratch folder, kept (default: a temporary "
                        "folder, deleted at the end)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["import", "postgis", "cube", "statistics", "app", "release",
                                 "load"],
                        help="leave an area out (repeatable)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.incidents:
        sizes = replace(sizes, incidents=args.incidents, outreach=max(args.incidents // 5, 10))
    out = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    work = args.work or Path(tempfile.mkdtemp(prefix="bw-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    run = Run(sizes=sizes, work=work)
    machine = describe_machine()
    run.log(f"borderwatch bench ({sizes.name}) on {machine['cpu']}, {machine['cores']} cores, "
            f"load {machine['load_average_at_start']}; scratch {work}")
    started = dt.datetime.now(dt.timezone.utc)
    try:
        _prepare(run)
        _steps(run, args.skip)
    finally:
        duration = time.perf_counter() - run.started
        machine["load_average_at_end"] = load_average()
        path = write_results(
            out, run.figures, suite="borderwatch national-scale benchmark (issue 8)",
            date=started.isoformat(timespec="seconds"), mode=sizes.name,
            duration_s=round(duration, 1), machine=machine, data=run.info,
            command="python -m bench" + (" --quick" if args.quick else ""),
            noise="a 2-core machine shared with other users while measured: compare the "
                  "load averages; figures vary by tens of per cent between runs")
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(format_table(run.figures))
    print(f"\n{len(run.figures)} figures in {duration / 60:.1f} min; written to {path}")
    return 0


def _steps(run: Run, skip: list[str]) -> None:
    from bench.measure import app, cube, imports, load, release, statistics

    if "import" in skip:
        run.failed(imports.SPECS, "skipped (--skip import)")
        raise SystemExit("the other figures need the imported store: do not skip import")
    try:
        if "postgis" in skip:
            run.failed([imports.POSTGIS], "skipped (--skip postgis)")
        imports.measure_imports(run, postgis="postgis" not in skip)
    except Exception as err:  # noqa: BLE001 - report it and go on where possible
        run.failed(imports.SPECS, err)
    _read_incidents(run)
    for name, module, measure in (("cube", cube, cube.measure_cube),
                                  ("statistics", statistics, statistics.measure_statistics),
                                  ("app", app, app.measure_app),
                                  ("release", release, release.measure_release),
                                  ("load", load, load.measure_load)):
        if name in skip:
            run.failed(module.SPECS, f"skipped (--skip {name})")
            continue
        try:
            measure(run)
        except Exception as err:  # noqa: BLE001
            run.failed(module.SPECS, err)


if __name__ == "__main__":
    sys.exit(main())
