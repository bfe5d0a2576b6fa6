"""Start-up geometry: what the pages draw or measure that does not depend on the filters.

Prepared once per app context: the province outline, each commune's distance to the
border and to its nearest gate (the key-area score reads them for every filter), and
the empty density grid and hexagons as GeoJSON text, which the browser fetches once
(:func:`grid_url`) while each layer only colours them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Geometry:
    """The start-up geometry of one app context.

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

    outline: gpd.GeoDataFrame
    distances: dict
    geojson: dict


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
    """The outline, the distances and the grids' GeoJSON of ``ctx`` (seconds, once)."""
    outline = load_outline(ctx.settings)
    distances = {
        unit_set: pd.concat(
            [gate_distances(polys, ctx.gates, measure_from="polygon"),
             border_distance(polys, ctx.border, measure_from="polygon").rename("border_km")],
            axis=1,
        )
        for unit_set, polys in ctx.communes.items()
    }
    empty = pd.DataFrame({"date": pd.to_datetime([]), "type": [], "new_code": [],
                          "old_code": [], "lat": [], "lon": []})
    grid = kernel_density(empty, outline, cell_km=DENSITY_CELL_KM).cells
    hexes = hexagon_counts(empty, outline, resolution=HEX_RESOLUTION)
    return Geometry(outline=outline, distances=distances,
                    geojson={"density": cells_geojson(grid), "hexagons": cells_geojson(hexes)})
