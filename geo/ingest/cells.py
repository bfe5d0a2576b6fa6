"""Cells as the importer reads them: text as written, Excel's dates kept as dates, headers
made unique, and points of a geodata file as lat/lon cells in WGS84.

Shared by the readers (:mod:`geo.ingest.readers`, CSV and XLSX) and by the child process
that reads GeoJSON / GeoPackage / Shapefile (:mod:`geo.ingest.sandbox`).
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd

__all__ = ["cell", "geo_cells", "text_cell", "unique_headers"]


def unique_headers(headers: list) -> list[str]:
    """Headers as text, stripped; blank ones named "Unnamed: i" (as pandas does) and repeated
    ones numbered "X (2)", so that a repeated field still reads as that field (and is refused
    as a duplicate column) and a repeated unknown header stays one column each."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, header in enumerate(headers):
        text = "" if header is None else str(header).strip()
        text = text or f"Unnamed: {i}"
        seen[text] = seen.get(text, 0) + 1
        out.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return out


_SURROGATES = re.compile("[\ud800-\udfff]")


def text_cell(text: str) -> str:
    """Cell text without what no store can hold: NUL characters (PostgreSQL refuses them)
    and lone surrogates (not encodable as UTF-8), which an XLSX can smuggle in as _x0000_."""
    if "\0" in text:
        text = text.replace("\0", "")
    if not text.isascii() and _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text.strip()


def cell(value):
    """Excel cells as text, except dates (kept as dates for the date parser)."""
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return "" if pd.isna(value) else value  # NaT is a datetime too
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    return text_cell(str(value))


def geo_cells(frame) -> pd.DataFrame:
    """Points of a GeoJSON / GeoPackage / Shapefile as lat/lon cells, in WGS84.

    A VN-2000 CRS (the province's own files) gets the official 7-parameter
    shift (EPSG:6960, about 225 m here) before reprojection, as boundaries do.
    A layer without geometry (a GeoPackage attribute table) is read as a table.
    """
    import geopandas as gpd
    import shapely

    from geo.projections import bind_vn2000, is_vn2000

    def text(frame) -> pd.DataFrame:
        cells = pd.DataFrame(frame).astype(object)
        cells.columns = unique_headers(list(cells.columns))
        return cells.map(lambda v: "" if v is None or v is pd.NA
                         or (isinstance(v, float) and math.isnan(v)) else cell(v))

    column = getattr(frame, "_geometry_column_name", None) \
        if isinstance(frame, gpd.GeoDataFrame) else None
    if column is None or column not in frame:
        return text(frame)
    if frame.crs is not None and is_vn2000(frame.crs):
        frame = frame.set_crs(bind_vn2000(frame.crs), allow_override=True)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry.values
    kinds = shapely.get_type_id(geoms)
    is_point = kinds == 0
    cells = text(frame.drop(columns=column))
    xs = np.full(len(frame), np.nan)
    ys = np.full(len(frame), np.nan)
    if is_point.any():
        xs[is_point] = shapely.get_x(geoms[is_point])
        ys[is_point] = shapely.get_y(geoms[is_point])
    cells["lat"] = [repr(float(v)) if np.isfinite(v) else "" for v in ys]
    cells["lon"] = [repr(float(v)) if np.isfinite(v) else "" for v in xs]
    type_names = {-1: "empty", 0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon",
                  4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon",
                  7: "GeometryCollection"}
    cells["__geometry"] = [
        "" if ok or g is None else type_names.get(int(k), "geometry")
        for ok, g, k in zip(is_point, geoms, kinds, strict=True)
    ]
    return cells
