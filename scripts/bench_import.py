"""Benchmark the record importer: rows per second and peak memory on a large synthetic CSV.

Generates N incident rows (codes of the former communes before 01/7/2025, of
the 2025 communes after, Vietnamese and English type labels), imports them
through the real importer into a fresh store, and prints the figures. Not a
test: a script that prints numbers (the README lists the latest ones).

    .venv/bin/python scripts/bench_import.py --rows 1000000
    .venv/bin/python scripts/bench_import.py --rows 200000 --database-url postgresql://…
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geo.config import Settings
from geo.ingest import Places, import_file
from geo.store import open_store
from geo.units import load_registry


def make_csv(path: Path, rows: int, seed: int = 1) -> Path:
    """A clean incidents CSV of ``rows`` rows, naming units the way their dates require."""
    rng = np.random.default_rng(seed)
    reg = load_registry()
    days = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1300, rows), "D")
    legacy = rng.choice(reg.legacy.index.to_numpy(), rows)
    new = rng.choice(reg.communes.index.to_numpy(), rows)
    pd.DataFrame({
        "record_id": [f"B{i:07d}" for i in range(rows)],
        "date": days.strftime("%d/%m/%Y"),
        "type": rng.choice(["tip", "illegal_crossing", "Vụ mua bán người"], rows),
        "commune_code": np.where(days < pd.Timestamp("2025-07-01"), legacy, new),
        "persons": rng.integers(0, 5, rows),
    }).to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="PostGIS (default: embedded SQLite)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bw-bench-"))
    try:
        csv = make_csv(work / "incidents.csv", args.rows)
        settings = Settings(data_dir=work / "var", database_url=args.database_url)
        places = Places.load(settings)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with open_store(settings) as store:
            start = time.perf_counter()
            report = import_file(csv, "incidents", store, places)
            first = time.perf_counter() - start
            start = time.perf_counter()
            again = import_file(csv, "incidents", store, places)
            second = time.perf_counter() - start
            backend = store.describe().split()[0]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}; store: {backend}")
        print(f"file: {csv.stat().st_size / 1e6:.1f} MB, {report.rows_read:,} rows")
        print(f"import:    {first:7.1f} s  {report.rows_read / first:10,.0f} rows/s  "
              f"(accepted {report.accepted:,}, rejected {report.rejected:,})")
        print(f"re-import: {second:7.1f} s  {again.rows_read / second:10,.0f} rows/s  "
              f"(duplicates skipped {again.duplicates:,})")
        print(f"peak RSS:  {peak:7.0f} MB (before the import: {before:.0f} MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
