"""Commune polygons, province outline and border line: imported if present, else bundled;
and the neighbouring provinces drawn around them for context (always bundled).

The bundled geometry (``data/boundaries``) is an approximation built from the
registry alone and says so (``attrs["approximate"] = True``); once a user
imports official boundaries (``borderwatch boundaries import``), they are
kept in the data folder and used instead.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from data import BOUNDARIES_DIR
from geo.config import Settings
from geo.units import NEW, OLD

__all__ = [
    "NEIGHBOURS_ATTRIBUTION",
    "bundled_path",
    "imported_path",
    "load_border",
    "load_communes",
    "load_neighbours",
    "load_outline",
]

WGS84 = "EPSG:4326"


def bundled_path(layer: str) -> Path:
    """Path of a bundled layer: ``communes_2025``, ``communes_legacy``, ``province``, ``border``."""
    return BOUNDARIES_DIR / f"{layer}.geojson"


def imported_path(settings: Settings, layer: str) -> Path:
    """Path where an imported official layer is kept in the data folder."""
    return settings.boundaries_dir / f"{layer}.gpkg"


def _load(settings: Settings, layer: str) -> gpd.GeoDataFrame:
    from geo.gdal_policy import restrict

    restrict()  # the first GDAL read of a server or command narrows GDAL for the process
    imported = imported_path(settings, layer)
    if imported.exists():
        gdf = gpd.read_file(imported)
        gdf.attrs.update(approximate=False, source=f"imported: {imported.name}")
    else:
        gdf = gpd.read_file(bundled_path(layer))
        gdf.attrs.update(approximate=True, source="bundled approximation (registry)")
    if gdf.crs is None or not gdf.crs.equals(WGS84):
        raise ValueError(f"{layer}: stored boundaries must be in WGS84, found {gdf.crs}")
    return gdf


def load_communes(settings: Settings, unit_set: str = NEW) -> gpd.GeoDataFrame:
    """Commune polygons of one unit set, one row per registry code.

    Returns a GeoDataFrame indexed by ``code`` with ``name`` and ``geometry``
    in WGS84; ``attrs["approximate"]`` tells whether it is the bundled
    approximation, ``attrs["source"]`` where it came from.
    """
    if unit_set not in (NEW, OLD):
        raise ValueError(f"unknown unit set {unit_set!r}")
    gdf = _load(settings, f"communes_{unit_set}")
    gdf["code"] = gdf["code"].astype(str).str.zfill(5)
    return gdf.set_index("code").sort_index()


def load_outline(settings: Settings) -> gpd.GeoDataFrame:
    """The province outline (one polygon)."""
    return _load(settings, "province")


def load_border(settings: Settings) -> gpd.GeoDataFrame:
    """The Vietnam–Cambodia border line along the province (one line)."""
    return _load(settings, "border")


#: What a reader of the context map is told about its source (shown on every map with it).
NEIGHBOURS_ATTRIBUTION = "Natural Earth"


def load_neighbours() -> gpd.GeoDataFrame:
    """The neighbouring provinces of Cambodia and Vietnam around the province, for context.

    Natural Earth's admin-1 polygons (public domain), Vietnam's merged as of 01/7/2025,
    cut to a window around the province and simplified (``scripts/build_neighbours.py``;
    ``data/boundaries/SOURCES.md``). One row per province (``kind`` "province": ``code``,
    ``country`` "KH"/"VN", ``name_vi``, ``name_en``, ``label_lon``/``label_lat``) and one
    label point per country (``kind`` "country"). Not a boundary to measure on: drawn
    muted under the communes, never joined to records.
    """
    from geo.gdal_policy import restrict

    restrict()
    gdf = gpd.read_file(bundled_path("neighbours"))
    if gdf.crs is None or not gdf.crs.equals(WGS84):
        raise ValueError(f"neighbours: bundled context must be in WGS84, found {gdf.crs}")
    missing = {"kind", "country", "name_vi", "name_en", "label_lon", "label_lat"} - set(gdf)
    if missing:
        raise ValueError(f"neighbours: columns missing: {sorted(missing)}")
    gdf.attrs.update(source=NEIGHBOURS_ATTRIBUTION)
    return gdf
