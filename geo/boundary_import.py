"""Import official commune boundaries (Shapefile, GeoPackage, GeoJSON) into the data folder.

Ranh giới hành chính cấp xã. A province office sends its commune polygons in
whatever it has: a Shapefile in VN-2000 / TM-3 105°30' (often without a
``.prj``), a GeoPackage, a GeoJSON in WGS 84. :func:`import_boundaries` reads
it, settles the CRS (the file's, or the one the user names), refuses what is
not commune polygons, moves it to WGS 84, checks that it lands on Tây Ninh,
joins every feature to a registry code (by code, else by name), dissolves
pieces of one commune (pieces that lie apart: overlapping or adjacent pieces
under one code refuse the file, as does a damaged polygon), and writes one
layer that :func:`geo.boundaries.load_communes` then prefers to the bundled
approximation. Every feature it cannot place, and every registry unit the file
lacks, is listed in the :class:`BoundaryImportReport`; nothing is written
unless the file covers the whole unit set (or ``allow_missing``).
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
import vietnam_provinces as vp

from geo.approx_boundaries import border_of_outline
from geo.boundaries import WGS84, imported_path
from geo.config import Settings
from geo.names import fold, match_units
from geo.projections import bind_vn2000, is_vn2000, resolve_crs
from geo.units import NEW, OLD, PROVINCE_CODE, Registry, load_registry

__all__ = [
    "BoundaryImportError",
    "BoundaryImportReport",
    "UnmatchedFeature",
    "import_boundaries",
]

#: Column names tried, in order, when the caller names no field (compared folded:
#: lower case, no accents, no separators, so "MA_XA", "Ma xã" and "maxa" are one).
CODE_FIELDS = ("code", "maxa", "ma", "madvhc", "maphuongxa", "communecode", "wardcode", "xacode")
NAME_FIELDS = (
    "fullname", "tendaydu", "name", "ten", "tenxa", "tendvhc", "tenphuongxa",
    "communename", "wardname", "commune", "ward", "xa",
)
DISTRICT_FIELDS = ("district", "huyen", "tenhuyen", "districtname", "quanhuyen", "tenquanhuyen")

# The province's extent from the registry, widened by this much for the location check.
_MARGIN_KM = 10.0
# Median distance (matched features → registry centre) above which the CRS must be wrong;
# with the right CRS it is 0.04 km on the reference file (max 6.4 km).
_MAX_MEDIAN_OFFSET_KM = 5.0
# A single matched feature farther than this from its registry centre is not that unit.
_MAX_OFFSET_KM = 25.0
# CRSs tried, when the location check fails, to suggest the right one.
_CANDIDATE_CRS = ("VN2000-TM3-105.5", "VN2000-TM3-105.75", "VN2000-UTM48", "EPSG:4326")
_POLYGONAL = ("Polygon", "MultiPolygon")
# Holes in the province outline smaller than this share of it are slivers, not enclaves.
_SLIVER = 1e-6
_KM_PER_DEGREE = 111.32
# Two pieces with one code share a border when this much of one's edge (degrees, ~110 m)
# runs within this distance (~1 m) of the other: neighbours, not parts of one commune.
_SHARED_EDGE_TOLERANCE = 1e-5
_SHARED_EDGE_MIN = 1e-3
_GEOD = pyproj.Geod(ellps="WGS84")


class BoundaryImportError(Exception):
    """A boundary file that cannot be imported; nothing was written.

    ``report`` holds the :class:`BoundaryImportReport` when the file was read
    and matched (missing units), else ``None``.
    """

    def __init__(self, message: str, report: BoundaryImportReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class UnmatchedFeature:
    """One feature of the file that is not in the import, and why.

    Attributes
    ----------
    row : int
        Position of the feature in the file (0-based).
    values : dict
        The code / name / district fields as the file has them.
    reason : str
    """

    row: int
    values: dict[str, object]
    reason: str

    def describe(self) -> str:
        """One line: "feature 12 (code='99999', name='Xã X'): why"."""
        fields = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"feature {self.row} ({fields}): {self.reason}"


@dataclass(frozen=True)
class BoundaryImportReport:
    """What an import read, matched, left out and wrote.

    Attributes
    ----------
    source : Path
    layer : str
        The layer read (a GeoPackage may hold several).
    unit_set : {"2025", "legacy"}
    source_crs : str
        The CRS the coordinates were read in, e.g. "VN-2000 / TM-3 105-30 (EPSG:9209)".
    crs_origin : {"file", "argument"}
        Whether it came from the file or from the caller (``crs=``, ``--crs``).
    datum_shift : str or None
        The datum transformation to WGS 84 that was applied, if any.
    matched_by : {"code", "name"}
    fields : dict
        The columns used, by role ("code", "name", "district").
    n_features : int
        Features in the file.
    matched : dict
        Registry code → number of features that formed it.
    unmatched : tuple of UnmatchedFeature
    missing : tuple of (code, name)
        Registry units of the set with no feature in the file.
    median_offset_km : float
        Median distance from a matched feature's centroid to the registry's
        centre of its unit: near 0 when the CRS is right.
    written : tuple of Path
        Files written (empty when nothing was).
    """

    source: Path
    layer: str
    unit_set: str
    source_crs: str
    crs_origin: str
    datum_shift: str | None
    matched_by: str
    fields: dict[str, str]
    n_features: int
    matched: dict[str, int]
    unmatched: tuple[UnmatchedFeature, ...]
    missing: tuple[tuple[str, str], ...]
    unit_count: int
    median_offset_km: float
    written: tuple[Path, ...] = field(default=())

    @property
    def matched_count(self) -> int:
        """Registry units that received a boundary."""
        return len(self.matched)

    @property
    def duplicates(self) -> dict[str, int]:
        """Codes formed from several features (dissolved into one), with their feature counts."""
        return {code: n for code, n in self.matched.items() if n > 1}

    def summary_lines(self) -> list[str]:
        """The report as lines a person reads (the CLI prints them)."""
        lines = [
            f"File: {self.source.name} (layer {self.layer!r}), {self.n_features} features",
            f"CRS: {self.source_crs}, "
            + ("from the file" if self.crs_origin == "file" else "as given (--crs)"),
        ]
        if self.datum_shift:
            lines.append(f"Datum shift to WGS 84: {self.datum_shift}")
        used = f"{self.matched_by} field {self.fields[self.matched_by]!r}"
        if self.matched_by == "name" and "district" in self.fields:
            used += f" and district field {self.fields['district']!r}"
        lines.append(
            f"Matched by {used}: {self.matched_count} of {self.unit_count} units of set "
            f"{self.unit_set}"
        )
        lines.append(
            f"Median distance to the registry's commune centres: {self.median_offset_km:.2f} km"
        )
        lines += _listing("Duplicates dissolved", [
            f"{code} ({n} features)" for code, n in sorted(self.duplicates.items())
        ])
        lines += _listing("Unmatched features", [u.describe() for u in self.unmatched])
        lines += _listing("Missing units", [f"{code} {name}" for code, name in self.missing])
        if self.written:
            lines.append("Written: " + ", ".join(str(p) for p in self.written))
        else:
            lines.append("Nothing written.")
        return lines


def import_boundaries(
    path: str | os.PathLike,
    settings: Settings,
    unit_set: str = NEW,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    district_field: str | None = None,
    crs: str | pyproj.CRS | None = None,
    layer: str | None = None,
    allow_missing: bool = False,
) -> BoundaryImportReport:
    """Import a commune boundary file into ``settings.boundaries_dir``.

    Parameters
    ----------
    path : path-like
        A Shapefile (``.shp`` with its ``.dbf``/``.shx``/``.prj``), GeoPackage or GeoJSON.
    settings : Settings
        Where to write (``settings.boundaries_dir``).
    unit_set : {"2025", "legacy"}
        Which units the file holds.
    code_field, name_field, district_field : str, optional
        Columns holding the 5-digit commune code, the commune name, and (legacy
        units) the district name. Without them, common names are tried
        (code / ma / ma_xa / commune_code; fullName / name / ten / ten_xa; huyen
        / district). A code field wins over a name field.
    crs : str or pyproj.CRS, optional
        The CRS of the coordinates, overriding the file's: "VN2000-TM3-105.5",
        "VN2000-TM3-105.75", "VN2000-UTM48", "EPSG:9209", WKT or a PROJ string
        (see :func:`geo.projections.resolve_crs`). Required when the file has none.
    layer : str, optional
        The layer of a GeoPackage; needed when it has several polygon layers.
    allow_missing : bool, default False
        Write even when some registry units have no feature.

    Returns
    -------
    BoundaryImportReport
        ``written`` lists ``communes_<unit_set>.gpkg`` (and ``province.gpkg``
        for the 2025 set), in WGS 84 with columns ``code``, ``name``.

    Raises
    ------
    BoundaryImportError
        Unreadable or empty file, no CRS, non-polygon geometry, unknown
        fields, features that do not land on the province (wrong CRS), or
        missing units without ``allow_missing`` (``err.report`` lists them).
        A damaged file is refused whole, even with ``allow_missing``: a
        polygon whose coordinates are not numbers or not on the Earth, or
        that has no area once repaired; one code given to pieces that
        overlap (the commune twice) or share a border (a neighbour with a
        wrong code). Nothing is written then.

    Examples
    --------
    >>> report = import_boundaries("xa.shp", settings, crs="VN2000-TM3-105.5")  # doctest: +SKIP
    >>> print("\\n".join(report.summary_lines()))  # doctest: +SKIP
    """
    path = Path(path)
    registry = load_registry()
    units = registry.units(unit_set)
    raw, layer_name = _read(path, layer)
    source, origin = _source_crs(raw.crs, crs, path)
    _check_polygons(raw, path)
    fields = _choose_fields(raw.columns, code_field, name_field, district_field, unit_set)
    geoms = _valid_polygons(raw.set_crs(source, allow_override=True).to_crs(WGS84).geometry)

    codes, reasons, matched_by = _match(raw, fields, registry, unit_set,
                                        code_given=code_field is not None)
    lost, off_earth = _broken(raw.geometry.array, geoms)
    _refuse_broken(lost, raw, fields, path)
    codes, reasons = _drop_empty(geoms, codes, reasons)
    codes, reasons, median_km = _check_location(
        geoms, raw.geometry.array, codes, reasons, units, source, path
    )
    _refuse_broken(off_earth, raw, fields, path)  # after: all off the Earth is a wrong CRS
    _refuse_overlapping_duplicates(geoms, codes, raw, fields, path)
    report = _report(
        path, layer_name, unit_set, source, origin, matched_by, fields, raw, codes, reasons,
        units, median_km,
    )
    if not report.matched:
        raise BoundaryImportError(
            f"{path.name}: no feature matches a {unit_set} unit of the province by its "
            f"{matched_by} field {fields[matched_by]!r}; nothing was written", report=report
        )
    if report.missing and not allow_missing:
        raise BoundaryImportError(_missing_message(report), report=report)
    outputs = {imported_path(settings, f"communes_{unit_set}"): _communes(geoms, codes, units)}
    if unit_set == NEW:
        outline = _province(outputs[imported_path(settings, f"communes_{unit_set}")])
        outputs[imported_path(settings, "province")] = outline
        if not report.missing:
            # The border is the outline's edge facing Cambodia; a partial file has no such edge.
            outputs[imported_path(settings, "border")] = border_of_outline(outline, registry)
    return replace(report, written=_write_layers(outputs))


# -- reading -------------------------------------------------------------------


def _read(path: Path, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    """The layer's features, once the file is known to be what its suffix says and GDAL is
    narrowed to the drivers the product needs (:mod:`geo.gdal_policy`)."""
    from geo.gdal_policy import DRIVER_OF_SUFFIX, UnsafePath, check_path, restrict
    from geo.ingest.file_checks import check_file
    from geo.ingest.readers import FileRefused

    if not path.exists():
        raise BoundaryImportError(f"{path}: no such file")
    if path.suffix.lower() not in DRIVER_OF_SUFFIX:
        raise BoundaryImportError(f"{path.name}: not a Shapefile (.shp), GeoPackage (.gpkg) or "
                                  "GeoJSON (.geojson, .json); nothing was written")
    try:
        check_path(path)
        check_file(path)
    except UnsafePath as err:
        raise BoundaryImportError(f"{err}; nothing was written") from None
    except FileRefused as err:
        raise BoundaryImportError(f"{err}; nothing was written") from None
    restrict()
    try:
        layers = pyogrio.list_layers(path)
    except Exception as err:  # GDAL says why in many ways; all mean "not readable"
        raise BoundaryImportError(
            f"{path.name}: cannot be read as a Shapefile, GeoPackage or GeoJSON "
            f"({_detail(err, path)}); nothing was written"
        ) from err
    name = _choose_layer(path, layers, layer)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes, said again below
            gdf = gpd.read_file(path, layer=name, engine="pyogrio")
    except Exception as err:
        raise BoundaryImportError(
            f"{path.name}: layer {name!r} cannot be read ({_detail(err, path)}); a feature's "
            "geometry may be damaged (a ring that does not close, too few points); nothing "
            "was written"
        ) from err
    if len(gdf) == 0:
        raise BoundaryImportError(f"{path.name}: layer {name!r} has no features")
    return gdf, name


def _detail(err: Exception, path: Path) -> str:
    """GDAL's or GEOS's complaint for a person: without the file's folder, without the class
    name GEOS puts in front ("IllegalArgumentException: ..."), without GDAL's SQL."""
    text = str(err).strip().replace(str(path.parent) + os.sep, "").replace(str(path), path.name)
    text = re.sub(r"^(?:[A-Za-z_.]*(?:Error|Exception)\s*:\s*)+", "", text)
    text = re.sub(r"sqlite3_\w+\(.*?\) failed: ", "", text)
    return (text[:300] + " …" if len(text) > 300 else text) or "damaged file"


def _choose_layer(path: Path, layers: np.ndarray, layer: str | None) -> str:
    names = [str(n) for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise BoundaryImportError(
                f"{path.name} has no layer {layer!r}; its layers are {', '.join(names)}"
            )
        return layer
    if len(names) == 1:
        return names[0]
    polygonal = [str(n) for n, kind in layers if kind and "Polygon" in str(kind)]
    if len(polygonal) == 1:
        return polygonal[0]
    listing = ", ".join(f"{n} ({kind})" for n, kind in layers)
    raise BoundaryImportError(
        f"{path.name} holds several layers: {listing}; choose one with --layer (layer=)"
    )


def _source_crs(
    file_crs: pyproj.CRS | None, given: str | pyproj.CRS | None, path: Path
) -> tuple[pyproj.CRS, str]:
    if given is not None:
        try:
            return resolve_crs(given), "argument"
        except ValueError as err:
            raise BoundaryImportError(str(err)) from err
    if file_crs is None:
        raise BoundaryImportError(
            f"{path.name} does not say which coordinate system it is in (no .prj?). Pass it: "
            "--crs VN2000-TM3-105.5 for Tây Ninh's VN-2000 TM-3 zone, VN2000-TM3-105.75 for "
            "Long An's, VN2000-UTM48, or an EPSG code such as EPSG:4326 (crs= in Python)"
        )
    return bind_vn2000(file_crs), "file"


def _check_polygons(gdf: gpd.GeoDataFrame, path: Path) -> None:
    geoms = np.asarray(gdf.geometry.array)
    if (shapely.is_missing(geoms) | shapely.is_empty(geoms)).all():
        raise BoundaryImportError(
            f"{path.name}: none of its {len(gdf)} features has a geometry (a damaged or "
            "truncated file?); nothing was written"
        )
    kinds = gdf.geometry.geom_type.dropna()
    wrong = kinds[~kinds.isin(_POLYGONAL)]
    if len(wrong):
        counts = ", ".join(f"{n} {k} features" for k, n in wrong.value_counts().items())
        raise BoundaryImportError(
            f"{path.name}: commune boundaries must be polygons, but the file holds {counts}"
        )


# -- matching ------------------------------------------------------------------


def _folded(column: str) -> str:
    return fold(column).replace(" ", "")


def _find_column(columns: pd.Index, wanted: str | None, candidates: tuple[str, ...],
                 role: str) -> str | None:
    names = [c for c in columns if c != "geometry"]
    if wanted is not None:
        if wanted in names:
            return wanted
        by_fold = [c for c in names if _folded(c) == _folded(wanted)]
        if by_fold:
            return by_fold[0]
        raise BoundaryImportError(
            f"no {role} field {wanted!r} in the file; its fields are {', '.join(names)}"
        )
    folded = {_folded(c): c for c in reversed(names)}
    return next((folded[c] for c in candidates if c in folded), None)


def _choose_fields(columns: pd.Index, code_field: str | None, name_field: str | None,
                   district_field: str | None, unit_set: str) -> dict[str, str]:
    fields = {
        "code": _find_column(columns, code_field, CODE_FIELDS, "code")
        if code_field or not name_field else None,
        "name": _find_column(columns, name_field, NAME_FIELDS, "name"),
        "district": _find_column(columns, district_field, DISTRICT_FIELDS, "district")
        if unit_set == OLD or district_field else None,
    }
    fields = {role: col for role, col in fields.items() if col is not None}
    if not [c for c in columns if c != "geometry"]:
        raise BoundaryImportError(
            "the file has no attribute fields at all, so no feature can be matched to a "
            "commune (a Shapefile without its .dbf?); nothing was written"
        )
    if "code" not in fields and "name" not in fields:
        names = ", ".join(c for c in columns if c != "geometry")
        raise BoundaryImportError(
            f"found no commune code or name field among: {names}; "
            "name one with --code-field or --name-field"
        )
    return fields


def _normal_code(value: object) -> str | None:
    """A 5-digit code from 25459, 25459.0, "25459", "025459"; None when it is not one."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            return None
        value = int(value)
    text = str(value).strip()
    if not text.isdigit() or len(text.lstrip("0")) > 5:
        return None
    return str(int(text)).zfill(5)


def _match(raw: gpd.GeoDataFrame, fields: dict[str, str], registry: Registry, unit_set: str,
           *, code_given: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """Registry code (or None) and why not (or None) for every feature, and how it matched."""
    if "code" in fields:
        codes, reasons = _match_codes(raw[fields["code"]], registry, unit_set)
        # A guessed code column that holds no code of this set: match by name instead.
        guessed_wrong = not code_given and "name" in fields and all(c is None for c in codes)
        if not guessed_wrong:
            return codes, reasons, "code"
    district = raw[fields["district"]] if "district" in fields else None
    codes, reasons = _match_names(raw[fields["name"]], district, registry, unit_set)
    return codes, reasons, "name"


def _match_codes(values: pd.Series, registry: Registry,
                 unit_set: str) -> tuple[np.ndarray, np.ndarray]:
    units = registry.units(unit_set)
    other_set = OLD if unit_set == NEW else NEW
    other = registry.units(other_set)
    codes = np.full(len(values), None, dtype=object)
    reasons = np.full(len(values), None, dtype=object)
    for i, value in enumerate(values):
        code = _normal_code(value)
        if code is None:
            reasons[i] = "no commune code" if _blank(value) else f"{value!r} is not a commune code"
        elif code in units.index:
            codes[i] = code
        elif code in other.index:
            reasons[i] = f"code {code} is not a {unit_set} unit (it is a {other_set} one)"
        else:
            reasons[i] = f"code {code} is not a {unit_set} unit of the province"
    return codes, reasons


def _match_names(names: pd.Series, districts: pd.Series | None, registry: Registry,
                 unit_set: str) -> tuple[np.ndarray, np.ndarray]:
    codes = np.full(len(names), None, dtype=object)
    reasons = np.full(len(names), None, dtype=object)
    district_values = [None] * len(names) if districts is None else list(districts)
    for i, (name, district) in enumerate(zip(names, district_values, strict=True)):
        if _blank(name):
            reasons[i] = "no commune name"
            continue
        found = match_units(
            registry, str(name), unit_set=unit_set,
            district=None if _blank(district) else str(district),
        )
        if found.unique:
            codes[i] = found.code
        elif found.codes:
            hint = "" if unit_set == NEW or districts is not None else "; give --district-field"
            reasons[i] = f"name is ambiguous: {', '.join(found.labels)}{hint}"
        else:
            reasons[i] = f"name matches no {unit_set} unit"
    return codes, reasons


def _blank(value: object) -> bool:
    """None, NaN, NA or only spaces."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return True
    return not str(value).strip()


def _drop_empty(geoms: np.ndarray, codes: np.ndarray,
                reasons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features with no polygon left (none in the file, or degenerate) match nothing."""
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    codes = np.where(empty, None, codes)
    reasons = np.where(empty, "no polygon (empty or degenerate geometry)", reasons)
    return codes, reasons


def _broken(geoms_raw, geoms_wgs84: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features that have a geometry in the file but no usable polygon: (lost) coordinates
    that are not numbers or a polygon with no area once repaired (all its points on a line),
    and (off the Earth) coordinates beyond ±180° / ±90° in WGS 84. Unlike a feature with no
    geometry at all, these mean a damaged file."""
    raw = np.asarray(geoms_raw)
    in_file = ~(shapely.is_missing(raw) | shapely.is_empty(raw))
    lost = shapely.is_missing(geoms_wgs84) | shapely.is_empty(geoms_wgs84)
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(geoms_wgs84)
        off_earth = ~lost & ~((bounds[:, 0] >= -180) & (bounds[:, 2] <= 180)
                              & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90))
    return in_file & lost, in_file & off_earth


def _feature_label(raw: gpd.GeoDataFrame, fields: dict[str, str], i: int) -> str:
    values = ", ".join(f"{col}={_plain(raw.iloc[i][col])!r}" for col in fields.values())
    return f"feature {i} ({values})"


def _refuse_broken(broken: np.ndarray, raw: gpd.GeoDataFrame, fields: dict[str, str],
                   path: Path) -> None:
    """A damaged polygon refuses the whole file, even with ``allow_missing``: leaving that
    commune out would hide the damage."""
    if not broken.any():
        return
    rows = np.flatnonzero(broken)
    shown = "; ".join(_feature_label(raw, fields, i) for i in rows[:10])
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    raise BoundaryImportError(
        f"{path.name}: {len(rows)} feature(s) have a damaged polygon (coordinates that are "
        f"not numbers or not on the Earth, or no area once repaired): {shown}{more}. "
        "Nothing was written; correct the file and import it again"
    )


def _refuse_overlapping_duplicates(geoms: np.ndarray, codes: np.ndarray,
                                   raw: gpd.GeoDataFrame, fields: dict[str, str],
                                   path: Path) -> None:
    """Several features with one code are pieces of one commune (dissolved into one) only
    when they are apart; pieces that overlap are the commune twice, pieces that share a
    border are a neighbour with the wrong code. Either refuses the file."""
    matched = [i for i, c in enumerate(codes) if c is not None]
    by_code: dict[str, list[int]] = {}
    for i in matched:
        by_code.setdefault(codes[i], []).append(i)
    clashes = []
    for code, rows in sorted(by_code.items()):
        for a, i in enumerate(rows):
            for j in rows[a + 1:]:
                gi, gj = geoms[i], geoms[j]
                if not shapely.intersects(gi, gj):
                    continue
                smaller = min(shapely.area(gi), shapely.area(gj))
                overlap = shapely.area(shapely.intersection(gi, gj)) > 0.01 * smaller
                shared = shapely.length(shapely.intersection(
                    shapely.boundary(gi), shapely.buffer(gj, _SHARED_EDGE_TOLERANCE)))
                if overlap or shared > _SHARED_EDGE_MIN:
                    how = "overlap" if overlap else "share a border"
                    clashes.append(f"{_feature_label(raw, fields, i)} and "
                                   f"{_feature_label(raw, fields, j)} both have code {code} "
                                   f"and {how}")
    if clashes:
        more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        raise BoundaryImportError(
            f"{path.name}: one code for two different areas: {'; '.join(clashes[:5])}{more}. "
            "Pieces of one commune are merged only when they lie apart; overlapping pieces "
            "are the same commune twice, and pieces that share a border are neighbours, one "
            "with a wrong code. Nothing was written"
        )


# -- location check ------------------------------------------------------------


def _centroid_xy(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of each geometry's centroid; NaN for a missing or empty one (GEOS refuses
    the coordinates of an empty point)."""
    centroids = shapely.centroid(geoms)
    x, y = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
    some = ~(shapely.is_missing(centroids) | shapely.is_empty(centroids))
    x[some], y[some] = shapely.get_x(centroids[some]), shapely.get_y(centroids[some])
    return x, y


def _province_box() -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of the province from the registry, widened.

    Both unit sets cover the same land: the pre-2025 units' bounding boxes and
    the 2025 units' centres.
    """
    registry = load_registry()
    legacy = registry.legacy
    lon = np.concatenate([legacy["min_lon"], legacy["max_lon"], registry.communes["lon"]])
    lat = np.concatenate([legacy["min_lat"], legacy["max_lat"], registry.communes["lat"]])
    dlat = _MARGIN_KM / _KM_PER_DEGREE
    dlon = dlat / np.cos(np.radians(np.mean(lat)))
    return lon.min() - dlon, lat.min() - dlat, lon.max() + dlon, lat.max() + dlat


def _inside(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])


def _offsets_km(x: np.ndarray, y: np.ndarray, codes: np.ndarray,
                units: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance (km), east and north components (km) from each feature to its registry centre."""
    lon = units.loc[codes, "lon"].to_numpy(float)
    lat = units.loc[codes, "lat"].to_numpy(float)
    azimuth, _, metres = _GEOD.inv(lon, lat, x, y)
    km = np.asarray(metres) / 1000
    rad = np.radians(azimuth)
    return km, km * np.sin(rad), km * np.cos(rad)


def _check_location(geoms_wgs84: np.ndarray, geoms_raw, codes: np.ndarray, reasons: np.ndarray,
                    units: pd.DataFrame, source: pyproj.CRS,
                    path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """Refuse a file that does not land on the province; set aside far-off matches."""
    x, y = _centroid_xy(geoms_wgs84)
    box = _province_box()
    inside = _inside(x, y, box)
    matched = np.array([c is not None for c in codes])
    where = matched & inside
    if not inside.any() or (matched.any() and not where.any()):
        raise BoundaryImportError(_off_province_message(x, y, box, source, geoms_raw, codes,
                                                        units, path))
    median_km = float("nan")
    if where.any():
        km, east, north = _offsets_km(x[where], y[where], codes[where], units)
        median_km = float(np.median(km))
        if median_km > _MAX_MEDIAN_OFFSET_KM:
            raise BoundaryImportError(_offset_message(
                median_km, float(np.median(east)), float(np.median(north)), source, geoms_raw,
                codes, units, path,
            ))
    distance = np.full(len(codes), np.nan)
    if where.any():
        distance[where] = km
    codes, reasons = codes.copy(), reasons.copy()
    for i in np.flatnonzero(matched & ~inside):
        reasons[i] = f"lies outside the province (it matched {units.at[codes[i], 'name']})"
        codes[i] = None
    for i in np.flatnonzero(where & (distance > _MAX_OFFSET_KM)):
        reasons[i] = (f"lies {distance[i]:.0f} km from {units.at[codes[i], 'name']} "
                      f"({codes[i]}); a unit of the same name elsewhere?")
        codes[i] = None
    return codes, reasons, median_km


def _suggest_crs(geoms_raw, codes: np.ndarray, units: pd.DataFrame,
                 source: pyproj.CRS) -> tuple[str, bool] | None:
    """The first usual CRS (and whether with swapped axes) that puts the features in place."""
    raw_x, raw_y = _centroid_xy(np.asarray(geoms_raw))
    for swapped in (False, True):
        xy = (raw_y, raw_x) if swapped else (raw_x, raw_y)
        for candidate in _CANDIDATE_CRS:
            crs = resolve_crs(candidate)
            if not swapped and crs.equals(source):
                continue
            if _fits(crs, *xy, codes, units):
                return candidate, swapped
    return None


def _fits(crs: pyproj.CRS, raw_x: np.ndarray, raw_y: np.ndarray, codes: np.ndarray,
          units: pd.DataFrame) -> bool:
    """Whether coordinates read in ``crs`` land in the province (near their units if matched)."""
    transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    with np.errstate(all="ignore"):
        x, y = transformer.transform(raw_x, raw_y, errcheck=False)
    x, y = np.asarray(x, float), np.asarray(y, float)
    inside = _inside(x, y, _province_box())
    matched = np.array([c is not None for c in codes])
    if not matched.any():
        return bool(inside.mean() > 0.5)
    where = matched & inside
    if where.sum() < max(1, matched.sum() // 2):
        return False
    km = _offsets_km(x[where], y[where], codes[where], units)[0]
    return bool(np.median(km) <= _MAX_MEDIAN_OFFSET_KM)


def _crs_label(crs: pyproj.CRS) -> str:
    """"VN-2000 / TM-3 105-30 (EPSG:9209)"; the PROJ string when the CRS has no name."""
    base = crs.source_crs if crs.is_bound else crs
    code = base.to_epsg()
    if code:
        return f"{base.name} (EPSG:{code})"
    if base.name and base.name != "unknown":
        return base.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return crs.to_proj4() or base.name


def _crs_hint(source: pyproj.CRS, geoms_raw, codes, units) -> str:
    suggestion = _suggest_crs(geoms_raw, codes, units, source)
    hint = (
        "The CRS is probably wrong: a TM-3 zone with another central meridian (Tây Ninh "
        "VN2000-TM3-105.5, Long An VN2000-TM3-105.75), UTM instead of TM-3, metres declared "
        "as degrees, or swapped axes (northing first)."
    )
    if suggestion and suggestion[1]:
        hint += (f" The coordinates fit {suggestion[0]} with easting and northing swapped: "
                 "exchange the two axes in the source file.")
    elif suggestion:
        hint += f" The coordinates fit {suggestion[0]}: try --crs {suggestion[0]}."
    else:
        hint += " Pass the right one with --crs."
    return hint


def _off_province_message(x, y, box, source, geoms_raw, codes, units, path) -> str:
    finite = np.isfinite(x) & np.isfinite(y)
    if finite.any():
        where = (f"they span lon {x[finite].min():.3f}..{x[finite].max():.3f}, "
                 f"lat {y[finite].min():.3f}..{y[finite].max():.3f}")
    else:
        where = "their coordinates do not convert to WGS 84 at all"
    return (
        f"{path.name}: read as {_crs_label(source)}, no feature lies in Tây Ninh province "
        f"(lon {box[0]:.2f}..{box[2]:.2f}, lat {box[1]:.2f}..{box[3]:.2f}): {where}. "
        + _crs_hint(source, geoms_raw, codes, units)
    )


def _offset_message(median_km, east, north, source, geoms_raw, codes, units, path) -> str:
    direction = (f"{abs(east):.1f} km {'east' if east >= 0 else 'west'} and "
                 f"{abs(north):.1f} km {'north' if north >= 0 else 'south'}")
    return (
        f"{path.name}: read as {_crs_label(source)}, the communes lie a median "
        f"{median_km:.1f} km from where the registry places them ({direction}). "
        + _crs_hint(source, geoms_raw, codes, units)
    )


# -- building the layers -------------------------------------------------------


def _valid_polygons(geoms: gpd.GeoSeries) -> np.ndarray:
    """2-D valid (multi)polygons; None where coordinates did not convert or nothing is left."""
    arr = shapely.force_2d(np.asarray(geoms.array))
    finite = np.isfinite(shapely.bounds(arr)).all(axis=1)
    valid = shapely.make_valid(np.where(finite, arr, None), method="structure",
                               keep_collapsed=False)
    kinds = shapely.get_type_id(valid)
    for i in np.flatnonzero(~np.isin(kinds, (-1, 3, 6))):  # not None, Polygon, MultiPolygon
        parts = shapely.get_parts(valid[i])
        valid[i] = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    return valid


def _communes(geoms: np.ndarray, codes: np.ndarray, units: pd.DataFrame) -> gpd.GeoDataFrame:
    """One valid (multi)polygon per matched code, with the registry name, in WGS 84."""
    matched = np.array([c is not None for c in codes])
    pieces = gpd.GeoDataFrame({"code": codes[matched]}, geometry=geoms[matched], crs=WGS84)
    communes = pieces.dissolve(by="code", as_index=False)
    communes["geometry"] = shapely.make_valid(communes.geometry.array, method="structure",
                                              keep_collapsed=False)
    communes.insert(1, "name", units.loc[communes["code"], "name"].to_numpy())
    return communes.sort_values("code", ignore_index=True)


def _province(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The province outline: the union of its communes, slivers between them closed."""
    outline = _close_slivers(shapely.make_valid(shapely.union_all(communes.geometry.array),
                                                method="structure", keep_collapsed=False))
    name = vp.Province.from_code(vp.ProvinceCode(int(PROVINCE_CODE))).name
    return gpd.GeoDataFrame({"code": [PROVINCE_CODE], "name": [name]}, geometry=[outline],
                            crs=WGS84)


def _close_slivers(outline: shapely.Geometry) -> shapely.Geometry:
    """Drop holes smaller than ``_SLIVER`` of the outline: gaps where communes do not quite meet.

    On the reference file the union of the 96 communes has 12 such holes, the
    largest 21 m².
    """
    limit = _SLIVER * outline.area
    polygons = [
        shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= limit])
        for p in shapely.get_parts(outline)
    ]
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _write_layers(outputs: Mapping[Path, gpd.GeoDataFrame]) -> tuple[Path, ...]:
    """Write every layer to a temporary file beside its target, then move them all in place."""
    temps: dict[Path, Path] = {}
    try:
        for target, gdf in outputs.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.stem}.{uuid.uuid4().hex[:12]}.tmp.gpkg")
            temps[target] = temp
            gdf.to_file(temp, driver="GPKG", layer=target.stem, engine="pyogrio",
                        promote_to_multi=True)
        for target, temp in temps.items():
            os.replace(temp, target)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
    return tuple(outputs)


# -- the report ----------------------------------------------------------------


def _report(path, layer, unit_set, source, origin, matched_by, fields, raw, codes, reasons,
            units, median_km) -> BoundaryImportReport:
    counts = pd.Series([c for c in codes if c is not None], dtype=object).value_counts()
    matched = {str(code): int(n) for code, n in sorted(counts.items())}
    unmatched = tuple(
        UnmatchedFeature(
            row=int(i),
            values={col: _plain(raw.iloc[i][col]) for col in fields.values()},
            reason=str(reasons[i]),
        )
        for i in np.flatnonzero([c is None for c in codes])
    )
    missing = tuple(
        (code, _unit_label(units, code, unit_set)) for code in units.index if code not in matched
    )
    return BoundaryImportReport(
        source=path, layer=layer, unit_set=unit_set, source_crs=_crs_label(source),
        crs_origin=origin, datum_shift=_datum_shift(source), matched_by=matched_by,
        fields=dict(fields), n_features=len(raw), matched=matched, unmatched=unmatched,
        missing=missing, unit_count=len(units), median_offset_km=median_km,
    )


def _datum_shift(crs: pyproj.CRS) -> str | None:
    if crs.is_bound:
        op = crs.coordinate_operation
        ids = op.to_json_dict().get("id", {})
        code = f" (EPSG:{ids['code']})" if ids.get("authority") == "EPSG" else ""
        return f"{op.name}{code}, {op.method_name}"
    if is_vn2000(crs):  # compound VN-2000 CRS: PROJ chooses
        return "chosen by PROJ"
    return None


def _unit_label(units: pd.DataFrame, code: str, unit_set: str) -> str:
    if unit_set == OLD:
        return f"{units.at[code, 'name']}, {units.at[code, 'district']}"
    return str(units.at[code, "name"])


def _plain(value: object) -> object:
    """A field value as plain Python (numpy scalars and NaN become int/float/None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _listing(title: str, items: list[str], limit: int = 20) -> list[str]:
    if not items:
        return [f"{title}: none"]
    lines = [f"{title}: {len(items)}"] + [f"  {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"  … and {len(items) - limit} more")
    return lines


def _missing_message(report: BoundaryImportReport) -> str:
    shown = ", ".join(f"{code} {name}" for code, name in report.missing[:10])
    more = f" and {len(report.missing) - 10} more" if len(report.missing) > 10 else ""
    return (
        f"{report.source.name}: {len(report.missing)} of {report.unit_count} units of set "
        f"{report.unit_set} have no boundary in the file: {shown}{more}. Nothing was written; "
        "use --allow-missing (allow_missing=True) to import anyway"
    )
