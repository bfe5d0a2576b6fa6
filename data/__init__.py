"""Bundled data: approximate boundaries, border gates, and the synthetic demo generator.

Everything under this folder ships with the product. Approximate geometry is
built from the unit registry by ``scripts/build_boundaries.py``; real
boundary files are imported by the user into the data folder and replace it.
"""

from pathlib import Path

__all__ = ["BUNDLED_DIR", "BOUNDARIES_DIR", "LOCALES_DIR"]

BUNDLED_DIR = Path(__file__).resolve().parent
BOUNDARIES_DIR = BUNDLED_DIR / "boundaries"
#: The message catalogue, one JSON file per language (read by :mod:`geo.catalogue`).
LOCALES_DIR = BUNDLED_DIR / "locales"
