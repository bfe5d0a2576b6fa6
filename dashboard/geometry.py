"""Start-up geometry: what the pages draw or measure that does not depend on the filters.

Prepared once per app context: the province outline, each commune's distance to the
border and to its nearest gate (the key-area score reads them for every filter), and
the empty density grid and hexagons as GeoJSON text, which the browser fetches once
(:func:`grid_url`) while each layer only colours them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dashboard.context import AppContext
from geo.boundaries import load_outline
from layers.catalogue import DENSITY_CELL_KM, HEX_RESOLUTION
from layers.density import hexagon_counts, kernel_density
from layers.proximity import border_distance, gate_distances

__all__ = ["Geometry", "cells_geojson", "grid_url", "prepare"]


class Geometry:
    """The start-up geometry of one app context, each part built on its first use.

    A server starts without them: the country's density grid and hexagons (some 260,000
    cells) and 13,000 communes' distances are seconds each, paid by the first page that
    draws or scores with them, once (thread-safe), not by every start.

    Attributes
    ----------
    outline : GeoDataFrame
        The province outline.
    distances : dict
        Per unit set, each commune's ``gate_km``, ``gate_name`` (and the gate columns of
        :func:`layers.proximity.gate_distances`) and ``border_km``.
    geojson : dict
        ``{"density": …, "hexagons": …}``: the grid cells as GeoJSON text.
    """

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._locks = {name: threading.Lock() for name in ("outline", "distances", "geojson")}
        self._built: dict = {}

    def _once(self, name: str, build):
        with self._locks[name]:  # one build of each part, whoever asks first
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    @property
    def outline(self) -> gpd.GeoDataFrame:
        return self._once("outline", lambda: load_outline(self._ctx.settings))

    @property
    def distances(self) -> dict:
        ctx = self._ctx
        return self._once("distances", lambda: {
            unit_set: pd.concat(
                [gate_distances(polys, ctx.gates, measure_from="polygon"),
                 border_distance(polys, ctx.border, measure_from="polygon").rename("border_km")],
                axis=1,
            )
            for unit_set, polys in ctx.communes.items()
        })

    def lazy_distances(self) -> Mapping[str, pd.DataFrame]:
        """:attr:`distances` as a mapping computed on its first read, for a build that may
        not need it (the counts a page opens with never do)."""
        return _LazyDistances(self)

    @property
    def geojson(self) -> dict:
        return self._once("geojson", self._grids)

    def _grids(self) -> dict:
        outline = self.outline
        empty = pd.DataFrame({"date": pd.to_datetime([]), "type": [], "new_code": [],
                              "old_code": [], "lat": [], "lon": []})
        grid = kernel_density(empty, outline, cell_km=DENSITY_CELL_KM).cells
        hexes = hexagon_counts(empty, outline, resolution=HEX_RESOLUTION)
        return {"density": cells_geojson(grid), "hexagons": cells_geojson(hexes)}


class _LazyDistances(Mapping):
    """The communes' distances of a :class:`Geometry`, computed when first read."""

    def __init__(self, geometry: Geometry) -> None:
        self._geometry = geometry

    def __getitem__(self, unit_set: str) -> pd.DataFrame:
        return self._geometry.distances[unit_set]

    def __iter__(self):
        return iter(self._geometry.distances)

    def __len__(self) -> int:
        return len(self._geometry.distances)


def grid_url(name: str) -> str:
    """Where the browser fetches the density grid or the hexagons (served once, cached)."""
    return f"/geo/{name}.geojson"


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


def prepare(ctx: AppContext) -> Geometry:
    """The outline, the distances and the grids' GeoJSON of ``ctx``, each built when first
    read (:class:`Geometry`)."""
    return Geometry(ctx)
