"""Area 1: import + commune resolution through the real importer, embedded store and PostGIS.

The generated national CSV goes through :func:`geo.ingest.import_file` (read,
check, parse, place every record in both unit sets, de-duplicate, write in
one transaction) into a fresh store. The baseline is the plain bulk load of
the same file with no check and no resolution: pandas ``read_csv`` →
``to_sql`` for SQLite, ``COPY … FROM STDIN (FORMAT csv)`` for PostgreSQL: how
fast the store can take the rows at all.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import pandas as pd

from bench.context import Run
from bench.national import places
from bench.results import Spec
from geo.config import Settings
from geo.ingest import import_file
from geo.store import open_store

__all__ = ["EMBEDDED", "POSTGIS", "SPECS", "cpu_seconds", "measure_imports", "raw_sqlite_load"]

EMBEDDED = Spec("import_embedded", 1, "import + resolution, embedded SQLite (incidents)",
                "rows/s", better="higher", target=100_000,
                baseline_title="read_csv → to_sql, no checks")
POSTGIS = Spec("import_postgis", 1, "import + resolution, PostGIS (incidents)", "rows/s",
               better="higher", baseline_title="COPY of the CSV, no checks")
SPECS = [EMBEDDED, POSTGIS]


def cpu_seconds() -> float:
    """CPU seconds of this process and of its ended children (the import's second process),
    user and system: on a shared machine, what a step costs whatever the load."""
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _import(path: Path, kind: str, store, run: Run, stages: Counter | None = None,
            cpu: dict | None = None) -> tuple[float, object]:
    with ExitStack() as stack:
        if stages is not None:
            _time_stages(stack, stages)
        start, start_cpu = time.perf_counter(), cpu_seconds()
        report = import_file(path, kind, store, run.places, source="bench")
        seconds = time.perf_counter() - start
        if cpu is not None:
            cpu["seconds"] = cpu_seconds() - start_cpu
    if stages is not None:
        stages["check_and_parse"] -= stages["place"]  # _place runs inside _prepare
        stages["commit"] = seconds - sum(stages.values())
        if stages["wait_for_parse"]:  # read, check, place ran in the second process
            for step in ("read", "check_and_parse", "place"):
                stages.pop(step, None)
    if report.rejected or report.status != "committed":
        raise RuntimeError(f"{kind}: {report.rejected} rows rejected: "
                           f"{report.summary_lines('en')[:5]}")
    return seconds, report


#: The importer's steps timed for the breakdown (wall seconds summed over the chunks). A
#: large file is read, checked and placed in a second process (:mod:`geo.ingest.ahead`):
#: those steps are not seen from here, only the time spent waiting for them
#: (``wait_for_parse``) beside the steps of this process (hash, deduplicate, write, commit:
#: the commit builds the indexes of a first load).
_STAGES = {"read": "read_chunks", "check_and_parse": "_prepare", "place": "_place",
           "hash": "_hashed", "deduplicate": "_dedupe", "write": "_insert_records",
           "wait_for_parse": "in_second_process"}


def _time_stages(stack: ExitStack, stages: Counter) -> None:
    """Time the importer's steps (its private functions, wrapped for this import only)."""
    from geo.ingest import importer

    def timed(name, func):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                stages[name] += time.perf_counter() - start
        return wrapper

    def timed_items(name, func):
        def wrapper(*args, **kwargs):
            items = iter(func(*args, **kwargs))
            while True:
                start = time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    stages[name] += time.perf_counter() - start
                yield item
        return wrapper

    for name, attr in _STAGES.items():
        if not hasattr(importer, attr):
            continue  # the importer changed: the breakdown lacks this step
        func = getattr(importer, attr)
        wrapped = timed_items(name, func) if name in ("read", "wait_for_parse") \
            else timed(name, func)
        stack.enter_context(mock.patch.object(importer, attr, wrapped))


def raw_sqlite_load(path: Path, database: Path, *, chunk_rows: int = 50_000,
                    cpu: dict | None = None) -> float:
    """Seconds for pandas ``read_csv`` (text) → ``to_sql`` into a new SQLite file with the
    store's pragmas, a chunk at a time (pandas commits each): the bulk load with no check.
    ``cpu``, when given, receives its CPU seconds (``cpu["seconds"]``)."""
    con = sqlite3.connect(database)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        start, start_cpu = time.perf_counter(), cpu_seconds()
        for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows):
            chunk.to_sql("raw_incidents", con, if_exists="append", index=False)
        con.commit()
        if cpu is not None:
            cpu["seconds"] = cpu_seconds() - start_cpu
        return time.perf_counter() - start
    finally:
        con.close()


def _raw_copy(path: Path, url: str) -> float:
    """Seconds for ``COPY raw FROM STDIN (FORMAT csv, HEADER)`` of the file, text columns."""
    import psycopg

    header = pd.read_csv(path, nrows=0).columns
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE TABLE raw_incidents (" + ", ".join(f'"{c}" text' for c in header)
                    + ")")
        start = time.perf_counter()
        with con.transaction(), con.cursor() as cur:
            with cur.copy("COPY raw_incidents FROM STDIN (FORMAT csv, HEADER true)") as copy:
                with open(path, "rb") as handle:
                    while block := handle.read(1 << 20):
                        copy.write(block)
        return time.perf_counter() - start


def measure_imports(run: Run, *, postgis: bool = True) -> None:
    """Fill the national app's embedded store through the importer (timed), then PostGIS."""
    rows = run.sizes.incidents
    run.places = places(run.units)
    run.log(f"import {rows:,} incidents into the embedded store")
    settings = Settings(data_dir=run.data_dir)
    stages: Counter = Counter()
    cpu: dict = {}
    raw_cpu: dict = {}
    load = os.getloadavg()[0]
    with open_store(settings) as store:
        seconds, report = _import(run.files["incidents"], "incidents", store, run, stages, cpu)
        outreach_s, outreach = _import(run.files["outreach"], "outreach", store, run)
        _import(run.files["population"], "population", store, run)
    run.log("baseline: read_csv → to_sql")
    raw = raw_sqlite_load(run.files["incidents"], run.work / "raw.sqlite", cpu=raw_cpu)
    load = max(load, os.getloadavg()[0])
    (run.work / "raw.sqlite").unlink(missing_ok=True)
    run.add(EMBEDDED.make(
        report.rows_read / seconds, baseline=rows / raw, samples=[report.rows_read / seconds],
        stat="single",
        detail={"rows": report.rows_read, "seconds": seconds, "baseline_seconds": raw,
                "stages_s": {k: round(v, 2) for k, v in stages.items()},
                # CPU seconds per million rows, both processes (a loaded machine stretches
                # the wall time, much less the CPU time), and the load average seen
                "cpu_s_per_million": round(cpu["seconds"] / report.rows_read * 1e6, 2),
                "baseline_cpu_s_per_million": round(raw_cpu["seconds"] / rows * 1e6, 2),
                "cpu_ratio_to_baseline": round(cpu["seconds"] / raw_cpu["seconds"], 2),
                "load_average": round(load, 1),
                "second_process": "wait_for_parse" in stages,
                "outreach_rows": outreach.rows_read,
                "outreach_rows_per_s": outreach.rows_read / outreach_s,
                "file_mb": run.files["incidents"].stat().st_size / 1e6},
        note="one import of the whole file into an empty store (the first load of the "
             "history); codes of the former communes before 01/7/2025, of the 2025 ones "
             "after, a point for 54 % of the rows"))
    if postgis:
        _measure_postgis(run)


def _measure_postgis(run: Run) -> None:
    from tests import pg

    try:
        server = pg.start_server()
    except pg.PostgresUnavailable as err:
        run.failed([POSTGIS], f"PostgreSQL/PostGIS unavailable ({err})")
        return
    try:
        url = server.create_database()
        run.log(f"import {run.sizes.incidents:,} incidents into PostGIS "
                f"(PostgreSQL {server.version // 10000})")
        settings = Settings(data_dir=run.work / "pg-var", database_url=url)
        with open_store(settings) as store:
            seconds, report = _import(run.files["incidents"], "incidents", store, run)
        raw_url = server.create_database(postgis=False)
        raw = _raw_copy(run.files["incidents"], raw_url)
        rows = report.rows_read
        run.add(POSTGIS.make(
            rows / seconds, baseline=rows / raw, samples=[rows / seconds], stat="single",
            detail={"rows": rows, "seconds": seconds, "baseline_seconds": raw,
                    "server": f"PostgreSQL {server.version} (local throw-away server, "
                              "fsync off: tests/pg.py)"},
            note="same file and importer as the embedded figure; records written with COPY, "
                 "the PostGIS point column and its GiST index kept by the database"))
        server.drop_database(url)
        server.drop_database(raw_url)
    finally:
        server.close()
