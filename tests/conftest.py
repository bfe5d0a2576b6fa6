"""Shared fixtures: the registry, a throw-away data folder, the real reference files, the stores.

Store tests take ``store`` (or ``store_settings``) and run twice: on the embedded
SQLite store and on PostGIS (a throw-away server from ``tests/pg.py``; skipped,
or failed under ``BORDERWATCH_REQUIRE_POSTGIS=1``, when PostGIS is missing).
"""

from __future__ import annotations

from pathlib import Path

import os

import pytest

from geo.config import Settings
from geo.store import Store, open_store
from geo.units import load_registry
from tests import browser, pg
from tests.cache import PLAN_CACHE  # noqa: F401 — sets BORDERWATCH_CACHE_DIR for the run

#: Reports with a lone surrogate (a fuzz test's failing example) still reach xdist's controller.
pytest_plugins = ["tests.portable_reports"]

ROOT = Path(__file__).resolve().parents[1]
#: Real public boundary data for tests only (never copied into the project): read in place,
#: from $BORDERWATCH_REFERENCE_DIR, else ../shared/reference beside the repository, else the
#: team's shared folder.
_CANDIDATES = [
    Path(p) for p in (os.environ.get("BORDERWATCH_REFERENCE_DIR"),) if p
] + [ROOT.parent / "shared" / "reference", Path("/work/shared/reference")]
REFERENCE_DIR = next(
    (p for p in _CANDIDATES if (p / "tay_ninh_communes_2025.geojson").exists()), _CANDIDATES[0]
)


def _browser_module(module) -> bool:
    """Whether the whole module is marked ``browser`` (``pytestmark``): its tests drive
    Chromium through Playwright and run no event loop of their own."""
    marks = getattr(module, "pytestmark", [])
    return any(mark.name == "browser" for mark in (marks if isinstance(marks, list) else [marks]))


@pytest.fixture(scope="module", autouse=True)
def _shared_browser(request):
    """The process's browser (:func:`tests.browser.shared_browser`) is kept from one browser
    module to the next (a launch costs about 1 CPU-s and 2–13 s); any other module starts
    and ends without it, since Playwright's event loop, while it runs, stops
    ``asyncio.run`` and a second Playwright (kaleido, the PDF printer) in this thread."""
    keep = _browser_module(request.module)
    if not keep:
        browser.close_shared_browser()
    yield
    if not keep:
        browser.close_shared_browser()


@pytest.fixture(scope="session", autouse=True)
def _close_browser_at_the_end():
    yield
    browser.close_shared_browser()


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE_DIR / "tay_ninh_communes_2025.geojson").exists():
        pytest.fail(
            f"reference data not found in {[str(p) for p in _CANDIDATES]}; "
            "set BORDERWATCH_REFERENCE_DIR"
        )
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL + PostGIS server for this test process (started on first use)."""
    try:
        server = pg.start_server()
    except pg.PostgresUnavailable as err:
        server, reason = None, str(err)
    if server is None:
        pg.skip_or_fail(reason)  # outside the except: the report shows the reason alone
    yield server
    server.close()


@pytest.fixture()
def postgis_url(postgres_server) -> str:
    """The URL of a new empty PostGIS database, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_settings(request, tmp_path: Path) -> Settings:
    """Settings of an empty store: the embedded SQLite file, then a PostGIS database."""
    url = request.getfixturevalue("postgis_url") if request.param == "postgis" else None
    return Settings(data_dir=tmp_path / "var", database_url=url)


@pytest.fixture()
def store(store_settings: Settings) -> Store:
    """The opened (migrated) store of ``store_settings``, closed after the test."""
    with open_store(store_settings) as opened:
        yield opened


#: The slowest test files, run first: xdist hands whole files to its workers in collection
#: order (``--dist loadfile``), so a long file collected last would keep one worker busy
#: after the other has finished. The first eleven by CPU-s, Chromium's, the servers' and
#: LibreOffice's included (``python -m tests.cpu_tree``, each file alone, 02/12/2026, load
#: 4–17): report_docx 67, fuzz_import 66, browser_exports 64, browser_language 60,
#: browser_offline 60, browser_commander 49, browser_planner 32, load 32,
#: browser_confidential 29, fuzz_callbacks 25, browser_overview 24; the others as measured
#: by ``--junitxml`` on 01/12/2026, but hostile_uploads (8 CPU-s, 19 s: last).
SLOW_FIRST = (
    "test_report_docx.py", "test_fuzz_import.py", "test_browser_exports.py",
    "test_browser_language.py", "test_browser_offline.py", "test_browser_commander.py",
    "test_browser_planner.py", "test_load.py", "test_browser_confidential.py",
    "test_fuzz_callbacks.py", "test_browser_overview.py",
    "test_browser_reporting.py", "test_browser_forecast.py", "test_browser_context.py",
    "test_browser_trend.py", "test_browser_gi_meaning.py",
    "test_boundary_import.py", "test_export_static.py", "test_report.py", "test_probe.py",
    "test_packaging.py", "test_analysis.py", "test_suppression.py", "test_import_rights.py",
    "test_auth.py", "test_hostile_uploads.py",
)


def pytest_configure(config):
    """Keep the collection order below for ``--dist loadfile``: pytest-xdist (3.x) otherwise
    re-sorts the files by their number of tests (``--loadscope-reorder``, its default), so
    the few-test browser files, the longest, were handed out last whatever the order."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(session, config, items):
    """The slowest files first (longest first), the others after in their usual order."""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order kept
