"""Shared fixtures: the registry, a throw-away data folder, and the real reference files."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.config import Settings
from geo.units import load_registry

ROOT = Path(__file__).resolve().parents[1]
#: Real public boundary data for tests only (never copied into the project).
REFERENCE_DIR = ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE_DIR / "tay_ninh_communes_2025.geojson").exists():
        pytest.fail(f"reference data not found at {REFERENCE_DIR} (shared/ must sit beside the repo)")
    return REFERENCE_DIR
