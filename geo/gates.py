"""Border gates (cửa khẩu) and Border Liaison Offices, placed on the map honestly.

The gate table (``data/gates.csv``) records each gate's class, Cambodian
counterpart, the old commune its location text names, and a coordinate only
where one was sourced (Mộc Bài). A gate with no sourced coordinate is put
where its commune meets the border line and marked ``position =
"approximate"``: never an invented precise coordinate.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import nearest_points

from data import BUNDLED_DIR
from geo.boundaries import load_border, load_communes
from geo.config import Settings
from geo.names import match_units
from geo.units import NEW, OLD, Registry, registry_covering

__all__ = ["GATES_CSV", "gate_table_path", "load_gates", "place_gates", "read_gate_table"]

GATES_CSV = BUNDLED_DIR / "gates.csv"
_CLASS_ORDER = {"international": 0, "main": 1, "secondary": 2}


def read_gate_table(path=GATES_CSV) -> pd.DataFrame:
    """The gate table as written, with types fixed (lat/lon float or NaN, blo bool)."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("lat", "lon"):
        table[col] = pd.to_numeric(table[col].replace("", np.nan))
    table["blo"] = table["blo"].str.lower().eq("true")
    unknown = set(table["gate_class"]) - set(_CLASS_ORDER)
    if unknown:
        raise ValueError(f"{path}: unknown gate classes {sorted(unknown)}")
    return table


def _resolve_communes(table: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    old_codes = []
    for commune, district in zip(table["old_commune"], table["old_district"], strict=True):
        match = match_units(registry, commune, unit_set=OLD, district=district)
        if not match.unique:
            raise ValueError(
                f"gate commune {commune!r} ({district}) does not name exactly one old unit: "
                f"{list(match.labels) or 'none'}"
            )
        old_codes.append(match.code)
    out = table.copy()
    out["old_code"] = old_codes
    out["new_code"] = [registry.new_code_of(c) for c in old_codes]
    out["commune"] = [registry.communes.at[c, "name"] for c in out["new_code"]]
    return out


def _border_points(
    new_codes: pd.Series, communes: gpd.GeoDataFrame, border: gpd.GeoDataFrame
) -> list[shapely.Point]:
    """Where each commune meets the border; gates sharing a commune are spread along it."""
    line = shapely.union_all(border.geometry.values)
    points: list[shapely.Point] = []
    rank = new_codes.groupby(new_codes).cumcount().to_numpy()
    size = new_codes.map(new_codes.value_counts()).to_numpy()
    for code, k, n in zip(new_codes, rank, size, strict=True):
        poly = communes.geometry.loc[code]
        # A small buffer: approximate polygons and the line may miss each other by metres.
        piece = shapely.intersection(line, shapely.buffer(poly, 0.002))
        if piece.is_empty or piece.length == 0:
            # The commune does not reach the border line: nearest border point to it.
            points.append(nearest_points(line, poly)[0])
            continue
        merged = shapely.line_merge(piece)
        longest = (
            max(merged.geoms, key=lambda g: g.length) if hasattr(merged, "geoms") else merged
        )
        points.append(longest.interpolate((k + 1) / (n + 1), normalized=True))
    return points


def place_gates(
    table: pd.DataFrame,
    registry: Registry,
    communes: gpd.GeoDataFrame,
    border: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """Gate points in WGS84 with their 2025 commune, class and how their position is known.

    Parameters
    ----------
    table : DataFrame
        :func:`read_gate_table` output.
    registry : Registry
    communes : GeoDataFrame
        2025 commune polygons indexed by code (bundled or imported).
    border : GeoDataFrame
        The border line.

    Returns
    -------
    GeoDataFrame
        One row per gate, international gates first: ``gate_id``, ``name``,
        ``gate_class``, ``counterpart``, ``counterpart_province``, ``old_code``,
        ``new_code``, ``commune``, ``blo``, ``position`` ("sourced" or
        "approximate"), ``commune_basis``, ``source``, geometry.
    """
    gates = _resolve_communes(table, registry)
    sourced = gates["lat"].notna() & gates["lon"].notna()
    geometry = np.empty(len(gates), dtype=object)
    geometry[sourced.to_numpy()] = shapely.points(
        gates.loc[sourced, "lon"].to_numpy(), gates.loc[sourced, "lat"].to_numpy()
    )
    unsourced = ~sourced
    if unsourced.any():
        geometry[unsourced.to_numpy()] = _border_points(
            gates.loc[unsourced, "new_code"].reset_index(drop=True), communes, border
        )
    gates["position"] = np.where(sourced, "sourced", "approximate")
    gates = gates.drop(columns=["lat", "lon", "old_commune", "old_district"])
    gdf = gpd.GeoDataFrame(gates, geometry=list(geometry), crs="EPSG:4326")
    order = gdf["gate_class"].map(_CLASS_ORDER)
    return gdf.assign(_o=order).sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(
        drop=True
    )


def gate_table_path(settings: Settings):
    """The gate table in use: ``gates.csv`` in the data folder if the user keeps one, else the bundled one.

    A province that has surveyed its secondary gates (cửa khẩu phụ) or their
    coordinates adds them to its own copy of the table; no code changes.
    """
    own = settings.data_dir / "gates.csv"
    return own if own.exists() else GATES_CSV


def load_gates(settings: Settings) -> gpd.GeoDataFrame:
    """The province's border gates, placed against the boundaries in use (imported or bundled).

    The gates' communes are read with the registry of the boundaries' provinces
    (:func:`geo.units.registry_covering`), the one the app joins records and layers with:
    Tây Ninh's on its own boundaries (the bundled gates resolve the same on the country's),
    and a gate table that names a commune of another province drawn resolves it instead
    of refusing it as no unit of Tây Ninh.
    """
    communes = load_communes(settings, NEW)
    return place_gates(
        read_gate_table(gate_table_path(settings)),
        registry_covering(communes.index),
        communes,
        load_border(settings),
    )
