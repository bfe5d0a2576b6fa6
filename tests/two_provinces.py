"""A data folder whose boundaries hold the bundled Tây Ninh and one commune of Hà Nội.

The smallest boundaries of several provinces: what the bench's national server draws,
in two provinces and 97 communes instead of 34 and 3,321. The Hà Nội commune is a box
over the centre of the city under Phường Ba Đình's 2025 code (00004) and its former
Phường Trúc Bạch's (00004, which went whole to it), so that the registry of the two
provinces (:func:`geo.units.registry_covering`) knows it and Tây Ninh's does not.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from geo.boundaries import bundled_path, imported_path
from geo.config import Settings

__all__ = ["HA_NOI_BOX", "HA_NOI_CODE", "write_two_provinces"]

#: (min_lon, min_lat, max_lon, max_lat) of the Hà Nội commune.
HA_NOI_BOX = (105.80, 21.00, 105.86, 21.05)
#: Its code in both unit sets.
HA_NOI_CODE = "00004"


def write_two_provinces(settings: Settings) -> None:
    """Write the communes of both unit sets and the outline of the two provinces as the
    data folder's imported boundaries (the border line stays the bundled one)."""
    settings.boundaries_dir.mkdir(parents=True, exist_ok=True)
    extra = box(*HA_NOI_BOX)
    for layer in ("communes_2025", "communes_legacy"):
        ours = gpd.read_file(bundled_path(layer))[["code", "name", "geometry"]]
        added = gpd.GeoDataFrame({"code": [HA_NOI_CODE], "name": ["Hà Nội"]},
                                 geometry=[extra], crs=ours.crs)
        both = gpd.GeoDataFrame(pd.concat([ours, added], ignore_index=True), crs=ours.crs)
        both.to_file(imported_path(settings, layer), driver="GPKG")
    outline = gpd.read_file(bundled_path("province"))
    gpd.GeoDataFrame(geometry=[outline.union_all().union(extra)], crs=outline.crs).to_file(
        imported_path(settings, "province"), driver="GPKG")
