"""Join every record to its commune, in both unit sets, once, at ingest.

Order of evidence (the ingest rules): the commune code, read in the unit set
the record's date selects; else the name (+ district) with the registry's
tolerant matching; else the point in polygon. A record of the old set also
gets the new unit that holds it, and a record of the new set the old unit
that holds its point or, lacking a point, the old unit named for its centroid
— so every record can be shown on either map. What cannot be resolved is
returned with its reason, never dropped.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.names import match_units
from geo.units import MERGER_DATE, NEW, OLD, Registry

__all__ = ["resolve_communes"]


def _by_code(records: pd.DataFrame, sets: pd.Series, registry: Registry) -> pd.Series:
    code = records.get("commune_code", pd.Series("", index=records.index)).fillna("")
    code = _canonical_codes(code.astype(str))
    found = pd.Series(pd.NA, index=records.index, dtype="string")
    for unit_set in (NEW, OLD):
        known = code.isin(registry.units(unit_set).index) & (sets == unit_set)
        found[known] = code[known]
    return found


def _canonical_codes(code: pd.Series) -> pd.Series:
    """Codes stripped, without a trailing ".0", zero-padded to 5 digits ("" stays "").

    Each distinct code is worked out once: a file names a few thousand communes
    over many rows.
    """
    codes, uniques = pd.factorize(code)
    distinct = pd.Series(uniques, dtype=object).astype(str).str.strip() \
        .str.replace(r"\.0$", "", regex=True)
    distinct = distinct.where(distinct == "", distinct.str.zfill(5))
    return pd.Series(distinct.to_numpy(dtype=object)[codes], index=code.index, dtype=object)


def _by_name(
    records: pd.DataFrame, sets: pd.Series, registry: Registry, todo: pd.Series
) -> tuple[pd.Series, pd.Series]:
    found = pd.Series(pd.NA, index=records.index, dtype="string")
    reason = pd.Series(pd.NA, index=records.index, dtype="string")
    names = records.get("commune", pd.Series("", index=records.index)).fillna("").astype(str)
    districts = records.get("district", pd.Series("", index=records.index)).fillna("").astype(str)
    ask = todo & names.str.strip().ne("")
    asked = pd.DataFrame(
        {"name": names[ask], "district": districts[ask], "unit_set": sets[ask].astype(str)}
    )
    # Imports repeat a few names over many rows: match each distinct triple once.
    answers = asked.merge(
        _match_distinct(asked.drop_duplicates(ignore_index=True), registry),
        on=["name", "district", "unit_set"], how="left", validate="many_to_one",
    )
    found[ask] = answers["code"].to_numpy()
    reason[ask] = answers["reason"].to_numpy()
    return found, reason


def _match_distinct(triples: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """Match each (name, district, unit_set) once: its code if unique, else the reason."""
    codes: list[str | None] = []
    reasons: list[str | None] = []
    for name, district, unit_set in triples.itertuples(index=False, name=None):
        match = match_units(registry, name, unit_set=unit_set, district=district or None)
        codes.append(match.code)
        if match.unique:
            reasons.append(None)
        elif match.codes:
            reasons.append("ambiguous commune name; candidates: " + "; ".join(match.labels))
        else:
            reasons.append(f"commune {name!r} not found among the {unit_set} units")
    return triples.assign(
        code=pd.array(codes, dtype="string"), reason=pd.array(reasons, dtype="string")
    )


def _point_in(points: gpd.GeoSeries, polygons: gpd.GeoDataFrame) -> pd.Series:
    shapes = np.asarray(polygons.geometry.values)
    tree = shapely.STRtree(shapes)
    # Boxes first, then the exact test on the prepared polygons: the same pairs, in the
    # same order, as ``query(predicate="within")``, several times faster for many points.
    pairs = tree.query(points.values)
    shapely.prepare(shapes)
    xy = shapely.get_coordinates(points.values)
    inside = shapely.contains_xy(shapes[pairs[1]], xy[pairs[0], 0], xy[pairs[0], 1])
    pairs = pairs[:, inside]
    codes = pd.Series(pd.NA, index=points.index, dtype="string")
    # A point on a shared edge falls in two polygons: keep the first, deterministically.
    first = pd.DataFrame(pairs.T, columns=["p", "g"]).drop_duplicates("p")
    codes.iloc[first["p"].to_numpy()] = polygons.index.to_numpy()[first["g"].to_numpy()]
    return codes


def resolve_communes(
    records: pd.DataFrame,
    registry: Registry,
    communes_new: gpd.GeoDataFrame,
    communes_old: gpd.GeoDataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give each record ``new_code`` and ``old_code``; return (resolved, unresolved).

    Parameters
    ----------
    records : DataFrame
        Rows with a ``date`` (datetime64) or ``None`` and any of
        ``commune_code``, ``commune`` + ``district``, ``lat`` + ``lon``.
    registry : Registry
    communes_new, communes_old : GeoDataFrame
        Polygons of both unit sets, indexed by code (for point in polygon).

    Returns
    -------
    resolved : DataFrame
        The input rows that resolved, with ``new_code``, ``old_code`` and
        ``resolved_by`` ("code", "name" or "point") added.
    unresolved : DataFrame
        The other rows with a ``reason``.
    """
    if "date" in records:
        # geo.units.unit_set_on, row by row: before the merger OLD, else (or no date) NEW
        before = (pd.to_datetime(records["date"]) < pd.Timestamp(MERGER_DATE)).to_numpy()
        sets = pd.Series(np.where(before, OLD, NEW).tolist(), index=records.index)
    else:
        sets = pd.Series(NEW, index=records.index)
    code = _by_code(records, sets, registry)
    how = pd.Series(np.where(code.notna(), "code", ""), index=records.index)

    by_name, reason = _by_name(records, sets, registry, code.isna())
    code = code.fillna(by_name)
    how[by_name.notna()] = "name"

    lat = pd.to_numeric(records.get("lat"), errors="coerce") if "lat" in records else None
    lon = pd.to_numeric(records.get("lon"), errors="coerce") if "lon" in records else None
    point_code = pd.Series(pd.NA, index=records.index, dtype="string")
    old_point = pd.Series(pd.NA, index=records.index, dtype="string")
    if lat is not None and lon is not None:
        has_point = lat.notna() & lon.notna()
        if has_point.any():
            pts = gpd.GeoSeries(
                gpd.points_from_xy(lon[has_point], lat[has_point]), index=lat.index[has_point]
            )
            point_code[has_point] = _point_in(pts, communes_new)
            old_point[has_point] = _point_in(pts, communes_old)
            need_point = code.isna() & point_code.notna()
            # Points decide the unit only when code and name did not.
            new_from_point = need_point & (sets == NEW)
            old_from_point = need_point & (sets == OLD)
            code[new_from_point] = point_code[new_from_point]
            code[old_from_point] = old_point[old_from_point]
            how[need_point] = "point"
            outside = code.isna() & has_point & point_code.isna()
            reason[outside] = "point lies outside the province"

    ok = code.notna()
    reason[~ok] = reason[~ok].fillna("no commune code, name or point to place the record")
    resolved = records[ok].copy()
    resolved["resolved_by"] = how[ok]
    is_old = sets[ok] == OLD
    res_code = code[ok]
    legacy_new = registry.legacy["new_code"]
    resolved["new_code"] = np.where(
        is_old, res_code.map(legacy_new).astype("string"), res_code
    )
    # New-set records: the old unit holding their point, else the new unit's own code
    # (new units reuse the code of one of their old units).
    fallback_old = res_code.where(res_code.isin(registry.legacy.index))
    resolved["old_code"] = np.where(is_old, res_code, old_point[ok].fillna(fallback_old))
    unresolved = records[~ok].copy()
    unresolved["reason"] = reason[~ok]
    return resolved, unresolved
