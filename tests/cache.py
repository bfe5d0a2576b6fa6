"""One release-plan cache for a whole test run.

The demo records are the same in every test module, so their small-count release
plan (tens of seconds to build) is built once per run: the xdist workers share
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
