"""One release-plan cache and one demo store for a whole test run.

The demo records are the same in every test module, so their small-count release
plan (tens of seconds to build, in the release's own process) is built once per run: the xdist workers share
this folder (the cache's file lock makes the second wait), and servers started by
the browser tests inherit it through ``BORDERWATCH_CACHE_DIR``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PLAN_CACHE = Path(tempfile.gettempdir()) / (
    "borderwatch-test-plans-" + os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid())))
os.environ.setdefault("BORDERWATCH_CACHE_DIR", str(PLAN_CACHE))
#: No test app or server builds the default forecasts in the background unless its test
#: asks (``Settings(precompute_forecasts=True)``): they cost minutes of CPU per build.
os.environ.setdefault("BORDERWATCH_FORECAST_PRECOMPUTE", "0")
#: The release plan's process (dashboard.release_worker) at the tests' own priority: a test
#: waits for the plan while the other test workers keep the cores busy, and a niced build
#: would starve behind them.
os.environ.setdefault("BORDERWATCH_RELEASE_NICE", "0")
#: Nor the grid of statistics (``Settings(precompute_statistics=True)``): minutes of CPU per
#: version of the records, which the tests' own computations would wait for.
os.environ.setdefault("BORDERWATCH_STATISTICS_PRECOMPUTE", "0")


#: The synthetic demo store, built once for the run by the first test that needs it; every
#: other test (and every server the browser tests start) gets a copy of its files.
DEMO_TEMPLATE = PLAN_CACHE.with_name(PLAN_CACHE.name.replace("-plans-", "-demo-"))


def demo_data(settings) -> None:
    """Give ``settings``' data folder the synthetic demo store, as ``borderwatch serve``
    makes it (:func:`dashboard.serving.ensure_demo`) — from a copy of one build per run.

    The demo is deterministic, so a copy is the same store a fresh build writes; it
    saves the generation and import (several seconds each time) in the dozens of test
    modules and servers that start from the demo. A PostGIS store is built as usual.
    """
    import fcntl
    import shutil

    from dashboard.serving import ensure_demo
    from geo.config import Settings

    if settings.database_url:
        ensure_demo(settings)
        return
    DEMO_TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{DEMO_TEMPLATE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)    # the xdist workers: the second one waits, then copies
        if not (DEMO_TEMPLATE / "borderwatch.sqlite").exists():
            building = DEMO_TEMPLATE.with_name(DEMO_TEMPLATE.name + f".{os.getpid()}")
            shutil.rmtree(building, ignore_errors=True)
            ensure_demo(Settings(data_dir=building, cache_dir=settings.cache_dir))
            shutil.rmtree(building / "cache", ignore_errors=True)
            shutil.rmtree(DEMO_TEMPLATE, ignore_errors=True)    # a build cut short
            building.rename(DEMO_TEMPLATE)
    shutil.copytree(DEMO_TEMPLATE, settings.data_dir, dirs_exist_ok=True)


def two_provinces(work: Path, incidents: int = 2_000):
    """A data folder under ``work`` whose boundaries are synthetic communes of Tây Ninh (80)
    and Lai Châu (12, 38 communes), and the incidents of 2025 drawn in both, written as
    users' files (not imported): ``(settings, incidents file, records)``."""
    from bench.national import national_records, national_units, write_boundaries, write_records
    from geo.config import Settings
    from geo.units import national_registry

    units = national_units(national_registry(("80", "12")), seed=3)
    settings = Settings(data_dir=work / "var")
    write_boundaries(units, settings.data_dir)
    frame, _ = national_records(units, incidents=incidents, outreach=10, seed=5)
    frame = frame[frame["date"].str.endswith("/2025")]
    paths = write_records(work / "files", incidents=frame)
    return settings, paths["incidents"], frame
