"""Shared fixtures: the registry, a throw-away data folder, and the real reference files."""

from __future__ import annotations

from pathlib import Path

import os

import pytest

from geo.config import Settings
from geo.units import load_registry

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
