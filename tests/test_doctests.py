"""Every example in a docstring runs: each module of the product that carries one.

The modules are found by reading the source (a docstring line starting ``>>>``), so a
module that gains an example is tested without being listed here. An example marked
``# doctest: +SKIP`` (it needs a store or a running server) is only shown, not run.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geo", "layers", "dashboard", "data", "demo")


def _modules_with_examples() -> list[str]:
    """The modules with at least one example that is meant to run (not ``+SKIP``)."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if any(line.lstrip().startswith(">>> ") and "+SKIP" not in line
                   for line in path.read_text().splitlines()):
                parts = path.relative_to(ROOT).with_suffix("").parts
                # a package's examples are its __init__'s: imported by the package's name
                found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    # The scan itself can fail: the modules known to carry examples are among those found.
    assert {"layers.inference", "layers.suppression.engine", "layers.targets.tracking",
            "dashboard.exports.report_text", "geo.key_area_list", "geo.ingest", "geo.store",
            "demo.generate"} <= set(MODULES)
    assert len(MODULES) >= 40


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has '>>> ' lines that doctest does not collect"
