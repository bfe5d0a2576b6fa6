"""Join every record to its commune, in both unit sets, once, at ingest.

Order of evidence (the ingest rules): the commune code, read in the unit set
the record's date selects; else the name (+ district) with the registry's
tolerant matching; else the point in polygon. A record of the old set also
gets the new unit that holds it, and a record of the new set the old unit
that holds its point or, lacking a point, the old unit named for its centroid
— so every record can be shown on either map. What cannot be resolved is
returned with its reason, never dropped.

The former commune always lies in the 2025 commune (Registry.composition):
every resolved record's (``old_code``, ``new_code``) is one of the registry's
pieces, so the two maps count the same records. For a record of the new set
the code wins, then the name, and the point only chooses the former commune
inside it:

- the point lies in a former commune of that 2025 commune (or of a part of
  it, when the former commune was split): that former commune;
- the point lies within :func:`point_tolerance_m` of the 2025 commune (the
  boundaries are not exact: 2 km for the bundled approximation, 250 m for
  imported official ones): the former commune of that 2025 commune nearest
  to the point;
- the point lies farther away, in a former commune of another 2025 commune:
  the code (or name) and the point contradict each other and the record is
  refused, with both communes in its reason (and in the columns
  ``named_code``, ``point_old_code``, ``point_new_code`` of the unresolved rows);
- no point, or a point outside every former commune: the former commune of
  that 2025 commune that carries its code (else its first one).

A record of the old set takes the 2025 commune that holds its former commune
(the main one, when it was split); its point is used only when neither code
nor name place it.

A record is placed only in a unit the registry lists. The boundaries may hold
others: Tây Ninh's registry under boundaries of several provinces, or a 2025
commune under the code of ``vietnam-provinces`` where ``vietnamadminunits`` (the
registry's source) gives another (114 communes in 23 provinces). A point that
would place a record in such a unit, or that contradicts its code or name from
such a former commune, refuses the record, naming the unit (the column
``unlisted_code``, its unit set in ``unlisted_set``): stored, it would carry a
code that no table of the registry joins (a 2025 one) or no 2025 commune at all
(a former one, which the store refuses).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.names import match_units
from geo.units import MERGER_DATE, NEW, OLD, Registry

__all__ = ["POINT_TOLERANCE_M", "point_tolerance_m", "resolve_communes"]

#: How far (metres) a point may lie outside the 2025 commune its code or name gives and
#: still place the record there, by the kind of boundaries: the bundled approximation is off
#: by about a kilometre at the edges (docs/boundary_accuracy.md), official ones by the
#: precision of a GPS reading or of a point set on a map.
POINT_TOLERANCE_M = {"approximate": 2_000.0, "official": 250.0}
#: Metric CRS for distances (UTM zone 48N: the province lies at 105.5–106.6° E).
_METRIC_CRS = "EPSG:32648"


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
    distinct = np.array([_canonical_code(str(u)) for u in np.asarray(uniques, dtype=object)],
                        dtype=object)
    return pd.Series(distinct[codes], index=code.index, dtype=object)


def _canonical_code(text: str) -> str:
    """One code as :func:`_canonical_codes` writes it ("25681.0 " → "25681", "681" → "00681")."""
    text = text.strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text.zfill(5) if text else ""


def _by_name(
    records: pd.DataFrame, sets: pd.Series, registry: Registry, todo: pd.Series
) -> tuple[pd.Series, pd.Series]:
    found = pd.Series(pd.NA, index=records.index, dtype="string")
    reason = pd.Series(pd.NA, index=records.index, dtype="string")
    if not todo.any():  # every record has its code: no name to match
        return found, reason
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


def point_tolerance_m(communes_new: gpd.GeoDataFrame) -> float:
    """How far outside its coded 2025 commune a point may lie (see :data:`POINT_TOLERANCE_M`).

    >>> import geopandas as gpd
    >>> point_tolerance_m(gpd.GeoDataFrame(geometry=[]))
    250.0
    """
    kind = "approximate" if communes_new.attrs.get("approximate") else "official"
    return POINT_TOLERANCE_M[kind]


def _default_old(registry: Registry) -> pd.Series:
    """The former commune a 2025 commune stands for when nothing else says: the one whose
    code it carries, else its first former commune (by code)."""
    comp = registry.composition.sort_values(["new_code", "old_code"])
    own = comp[comp["old_code"] == comp["new_code"]].set_index("new_code")["old_code"]
    first = comp.drop_duplicates("new_code").set_index("new_code")["old_code"]
    return own.combine_first(first)


def _old_in_new(
    new_code: pd.Series,
    old_point: pd.Series,
    points: gpd.GeoSeries,
    registry: Registry,
    communes_new: gpd.GeoDataFrame,
    communes_old: gpd.GeoDataFrame,
) -> tuple[pd.Series, pd.Series]:
    """The former commune of each new-set record inside its 2025 commune, and which records
    their point puts too far from it (see the module docstring).

    Returns ``old_code`` (NA where ``far``) and the boolean Series ``far``.
    """
    comp = registry.composition
    pieces = pd.MultiIndex.from_frame(comp[["old_code", "new_code"]])
    old = old_point.astype("string")
    meets = pd.MultiIndex.from_arrays([old.fillna(""), new_code]).isin(pieces)
    old[~meets] = pd.NA
    far = pd.Series(False, index=new_code.index)
    # only records whose point lies in a former commune of another 2025 commune are measured
    todo = new_code.index[~meets & old_point.notna().to_numpy()]
    todo = todo[new_code[todo].isin(communes_new.index).to_numpy()]
    if len(todo):
        metric = points.loc[todo].to_crs(_METRIC_CRS).to_numpy()
        shapes_new = communes_new.geometry.to_crs(_METRIC_CRS)
        shapes_old = communes_old.geometry.to_crs(_METRIC_CRS)
        distance = shapely.distance(shapes_new.loc[new_code[todo]].to_numpy(), metric)
        too_far = distance > point_tolerance_m(communes_new)
        far[todo[too_far]] = True
        near = np.flatnonzero(~too_far)
        near_codes = new_code[todo].to_numpy()[near]
        for n in np.unique(near_codes):
            rows = near[near_codes == n]
            own = [o for o in comp.loc[comp["new_code"] == n, "old_code"]
                   if o in shapes_old.index]
            if not own:
                continue  # no polygon to measure against: the default below
            # the nearest former commune of n (ties: the smaller code, ``own`` is sorted)
            gaps = shapely.distance(shapes_old.loc[own].to_numpy()[:, None], metric[rows][None, :])
            old[todo[rows]] = np.asarray(own, dtype=object)[gaps.argmin(axis=0)]
    fill = old.isna() & ~far
    old[fill] = new_code[fill].map(_default_old(registry))
    return old, far


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
        The other rows with a ``reason``. A record refused because its point contradicts
        its code or name also has ``named_code`` (the 2025 commune they name),
        ``point_old_code`` and ``point_new_code`` (the former commune holding the point,
        and the 2025 commune that former commune is part of); NA elsewhere. A record
        refused because its point lies in a unit of the boundaries that the registry
        does not list has that unit's code in ``unlisted_code`` and its unit set in
        ``unlisted_set`` (NA elsewhere); when its point so contradicts its code or name,
        also ``named_code`` and ``point_old_code`` (``point_new_code`` is NA: no 2025
        commune is known to hold that unit).
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

    unlisted = pd.Series(pd.NA, index=records.index, dtype="string")
    unlisted_set = pd.Series(pd.NA, index=records.index, dtype="string")
    lat = pd.to_numeric(records.get("lat"), errors="coerce") if "lat" in records else None
    lon = pd.to_numeric(records.get("lon"), errors="coerce") if "lon" in records else None
    point_code = pd.Series(pd.NA, index=records.index, dtype="string")
    old_point = pd.Series(pd.NA, index=records.index, dtype="string")
    pts = gpd.GeoSeries([], crs="EPSG:4326")
    has_point = pd.Series(False, index=records.index)
    if lat is not None and lon is not None:
        has_point = lat.notna() & lon.notna()
        # A point is looked up only where it can matter: in the 2025 communes for a record
        # that code and name did not place, in the former ones for those and for every
        # record of the new set (its former commune); a record of the old set placed by
        # its code or name needs neither (most of a history). Conflicts look up theirs below.
        in_new = has_point & code.isna()
        in_old = has_point & (code.isna() | (sets == NEW))
        if in_old.any() or in_new.any():
            use = in_old | in_new
            pts = gpd.GeoSeries(
                gpd.points_from_xy(lon[use], lat[use]), index=lat.index[use], crs="EPSG:4326",
            )
            point_code[in_new] = _point_in(pts[in_new[use].to_numpy()], communes_new)
            old_point[in_old] = _point_in(pts[in_old[use].to_numpy()], communes_old)
            need_point = code.isna() & point_code.notna()
            # Points decide the unit only when code and name did not, and only as a unit
            # the registry lists (see the module docstring).
            new_from_point = need_point & (sets == NEW)
            old_from_point = need_point & (sets == OLD)
            for unit_set, asked, found in ((NEW, new_from_point, point_code),
                                           (OLD, old_from_point, old_point)):
                rows = asked.index[asked.to_numpy()]  # the few placed by their point alone
                units = found[rows].dropna()
                listed = units.isin(registry.units(unit_set).index).to_numpy()
                code[units.index[listed]] = units[listed]
                unlisted[units.index[~listed]], unlisted_set[units.index[~listed]] = \
                    units[~listed], unit_set
            how[code.notna() & need_point] = "point"
            outside = code.isna() & has_point & point_code.isna()
            reason[outside] = "point lies outside the province"

    # New-set records: the former commune inside their 2025 commune (the module docstring)
    new_set = code.notna() & (sets == NEW)
    old_of_new, far = _old_in_new(code[new_set].astype(str), old_point[new_set], pts,
                                  registry, communes_new, communes_old)
    conflict = pd.Series(False, index=records.index)
    conflict[far.index[far.to_numpy()]] = True
    point_new = pd.Series(pd.NA, index=records.index, dtype="string")
    ask = conflict & has_point & point_code.isna()
    if ask.any():  # the 2025 commune of a conflicting point, not looked up above
        point_code[ask] = _point_in(pts.loc[ask.index[ask.to_numpy()]], communes_new)
    far_off = conflict.index[conflict.to_numpy()]
    elsewhere = old_point[far_off].isin(registry.legacy.index).to_numpy()
    # far off, in a former unit no one lists: no 2025 commune is known to hold it
    unlisted[far_off[~elsewhere]] = old_point[far_off[~elsewhere]]
    unlisted_set[far_off[~elsewhere]] = OLD
    for i in far_off[elsewhere]:
        # the 2025 commune of the point's former commune: for a split one, the part the
        # point lies in when that is one of its parts, else its main part
        parts = registry.composition.loc[registry.composition["old_code"] == old_point[i],
                                         "new_code"]
        point_new[i] = (point_code[i] if point_code[i] in set(parts)
                        else registry.new_code_of(old_point[i]))
        reason[i] = (f"point lies in former commune {old_point[i]} (now in {point_new[i]}), "
                     f"not in or near 2025 commune {code[i]} named by the record")

    stray = unlisted.notna()
    reason[stray] = ("point lies in " + unlisted_set[stray] + " unit " + unlisted[stray]
                     + " of the boundaries, a code the registry does not list")
    far_stray = stray & conflict
    reason[far_stray] = (reason[far_stray] + ", not in or near 2025 commune "
                         + code[far_stray].astype("string") + " named by the record")
    ok = code.notna() & ~conflict & ~stray
    reason[~ok] = reason[~ok].fillna("no commune code, name or point to place the record")
    resolved = records[ok].copy()
    resolved["resolved_by"] = how[ok]
    is_old = sets[ok] == OLD
    res_code = code[ok]
    legacy_new = registry.legacy["new_code"]
    resolved["new_code"] = np.where(
        is_old, res_code.map(legacy_new).astype("string"), res_code
    )
    resolved["old_code"] = np.where(
        is_old, res_code, old_of_new.reindex(res_code.index).astype("string")
    )
    unresolved = records[~ok].copy()
    unresolved["reason"] = reason[~ok]
    unresolved["named_code"] = code[~ok].where(conflict[~ok])
    unresolved["point_old_code"] = old_point[~ok].where(conflict[~ok])
    unresolved["point_new_code"] = point_new[~ok].where(conflict[~ok])
    unresolved["unlisted_code"] = unlisted[~ok]
    unresolved["unlisted_set"] = unlisted_set[~ok]
    return resolved, unresolved
