"""What the app reads once at start: boundaries for the screen, gates; and its record cache.

The one place the dashboard touches data. Geometry is prepared here, at
start-up, so that callbacks only filter and group (no file, projection or
spatial join per click). Records come from the store through
:class:`dashboard.records.RecordCache`, which reloads only after an import.
The context is immutable; callbacks never change it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.basemap import Basemap, open_basemap
from geo.boundaries import load_border, load_communes, load_neighbours, load_outline
from geo.config import Settings
from geo.gates import load_gates
from geo.ingest.importer import Places
from dashboard.records import RecordCache
from geo.units import NEW, OLD, Registry, load_registry
from layers.layer import Caveat

__all__ = ["AppContext", "build_context", "cells_geojson", "screen_geojson"]

#: Simplification for the screen, in degrees (about 50 m): invisible at province zoom,
#: and it cuts the GeoJSON sent to the browser several-fold.
_SCREEN_TOLERANCE = 0.0005


@dataclass(frozen=True)
class AppContext:
    """Read-only data of one running app."""

    settings: Settings
    registry: Registry
    communes: dict[str, gpd.GeoDataFrame]
    geojson: dict[str, str]
    gates: gpd.GeoDataFrame
    border: gpd.GeoDataFrame
    records: RecordCache
    approximate: bool
    extracted: dt.date
    bounds: tuple[float, float, float, float] = field(default=(0, 0, 0, 0))
    #: The neighbouring provinces drawn around the communes for context (bundled).
    neighbours: gpd.GeoDataFrame | None = None
    #: The province's own offline basemap, when the settings name one.
    basemap: Basemap | None = None
    #: What an upload's commune resolution needs (full polygons), read once with the rest.
    places: Places | None = None

    @property
    def incidents(self) -> pd.DataFrame:
        """Incidents joined to both unit sets (read-only), as of the latest import."""
        return self.records.current().incidents

    @property
    def caveats(self) -> tuple[Caveat, ...]:
        """Notes every screen and export must carry now (synthetic data, approximate shapes)."""
        records = self.records.last_known() or self.records.current()
        out = [Caveat.SYNTHETIC] if records.synthetic else []
        if self.approximate:
            out.append(Caveat.APPROXIMATE_BOUNDARIES)
        return tuple(out)

    @property
    def source(self) -> str:
        """"demo" for the synthetic dataset, else the sources of the stored records."""
        records = self.records.last_known() or self.records.current()
        return "demo" if records.synthetic else (", ".join(records.sources) or "–")

    def unit_table(self, unit_set: str) -> pd.DataFrame:
        """Codes and names of a unit set (what layers need; no geometry)."""
        return pd.DataFrame(self.communes[unit_set].drop(columns="geometry"))


def screen_geojson(communes: gpd.GeoDataFrame) -> str:
    """Simplified GeoJSON text of commune polygons, feature id = commune code."""
    simple = shapely.simplify(np.asarray(communes.geometry.values, dtype=object),
                              _SCREEN_TOLERANCE, preserve_topology=True)
    names = [{"name": name} for name in communes["name"]]
    return _feature_collection(list(communes.index), simple, names)


def cells_geojson(cells: gpd.GeoDataFrame, digits: int = 5) -> str:
    """GeoJSON text of grid cells (the density squares, the hexagons), id = cell id, no
    properties, coordinates rounded to ``digits`` decimals (~1 m): what the browser draws
    the grid layers on, fetched once.

    Cells are simple polygons (no hole, one ring), so their rings are read for the whole
    array at once: the country's 170,000 hexagons take about a second.
    """
    shapes = np.asarray(cells.geometry.values, dtype=object)
    if len(shapes) and not (np.all(shapely.get_type_id(shapes) == 3)
                            and not np.any(shapely.get_num_interior_rings(shapes))):
        raise ValueError("grid cells must be polygons without holes")
    points = np.round(shapely.get_coordinates(shapes), digits).tolist()
    ends = np.cumsum(shapely.get_num_coordinates(shapes)).tolist()
    features = [
        {"type": "Feature", "id": str(i), "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [points[start:end]]}}
        for i, start, end in zip(cells.index, [0, *ends][:len(ends)], ends, strict=True)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features},
                      separators=(",", ":"))


def _feature_collection(ids: list, geometries: np.ndarray, properties: list[dict],
                        digits: int = 5) -> str:
    """Features as compact GeoJSON text, coordinates rounded to ``digits`` decimals (~1 m).

    The geometries are written by GEOS for the whole array at once
    (``shapely.to_geojson``) and the numbers rounded while the text is read back: for the
    country's 13,000 communes or 170,000 hexagons that is seconds, where one
    ``shapely.geometry.mapping`` per shape took minutes.
    """
    shapes = shapely.to_geojson(geometries)
    features = ",".join(
        f'{{"type":"Feature","id":{json.dumps(i, ensure_ascii=False)},'
        f'"properties":{json.dumps(p, ensure_ascii=False)},"geometry":{g}}}'
        for i, p, g in zip(ids, properties, shapes, strict=True)
    )
    data = json.loads(f'{{"type":"FeatureCollection","features":[{features}]}}',
                      parse_float=lambda s: round(float(s), digits))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def build_context(settings: Settings) -> AppContext:
    """Load boundaries, gates and records once for the app's lifetime."""
    registry = load_registry()
    communes = {s: load_communes(settings, s) for s in (NEW, OLD)}
    records = RecordCache(settings)
    records.current()
    minx, miny, maxx, maxy = communes[NEW].total_bounds
    return AppContext(
        settings=settings,
        registry=registry,
        communes=communes,
        geojson={s: screen_geojson(communes[s]) for s in (NEW, OLD)},
        gates=load_gates(settings),
        border=load_border(settings),
        records=records,
        approximate=bool(communes[NEW].attrs.get("approximate")),
        extracted=dt.date.today(),
        bounds=(float(minx), float(miny), float(maxx), float(maxy)),
        neighbours=load_neighbours(),
        basemap=open_basemap(settings.basemap) if settings.basemap else None,
        places=Places.of(registry, communes[NEW], communes[OLD], load_outline(settings)),
    )
