"""National-scale synthetic data: every commune of the registry, years of records.

The product is built for one province; the benchmark asks whether it would
serve the whole country (3,321 communes of 2025, 10,035 former communes with
a code) with years of records. Nothing real is needed for that, and nothing
real is used: the shapes and the records made here are **synthetic**.

- the country's registry is :func:`geo.units.national_registry` (every unit
  of the country, in the :class:`geo.units.Registry` form of Tây Ninh's);
- :func:`national_units` draws synthetic polygons: a Voronoi diagram of the
  2025 communes' registry centroids, clipped to the country (the union of the
  former communes' buffered bounding boxes); each 2025 commune is cut again
  into the former communes that formed it (Voronoi of their centroids), so a
  former commune is the union of its pieces and lies inside the 2025
  communes it went to;
- :func:`national_records` draws incidents and outreach events over five
  years in the interchange format users import: commune codes of the former
  set before 01/7/2025 and of the 2025 set after, a point inside the commune
  for most incidents, a spatially smooth risk so that hot spots exist.

The same seed gives the same data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.ingest import Places
from geo.kinds import OUTCOMES
from geo.units import MERGER_DATE, NEW, OLD, Registry, national_registry

__all__ = ["NationalUnits", "incident_truth", "national_population", "national_records",
           "national_units", "places", "write_boundaries", "write_records"]

WGS84 = "EPSG:4326"
#: The five years of records the benchmark asks for (20 quarters).
FIRST_DAY = dt.date(2021, 1, 1)
LAST_DAY = dt.date(2025, 12, 31)
#: Share of incidents (other than victims, who never carry a point) with coordinates.
LOCATED_SHARE = 0.6
_INCIDENT_TYPES = ("trafficking_case", "illegal_crossing", "tip", "victim")
_TYPE_SHARES = (0.10, 0.45, 0.35, 0.10)
#: How some rows write their type: the Vietnamese label, as real spreadsheets do.
_TYPE_LABELS = {"trafficking_case": "Vụ mua bán người", "illegal_crossing": "Xuất, nhập cảnh trái phép",
                "tip": "Tin báo, tố giác", "victim": "Nạn nhân được tiếp nhận"}
_STATUSES = ("received", "verified", "prosecuted", "tried")
#: The status a type takes for each of the four draws (an outcome must fit its type).
_STATUS_OF = {kind: tuple(OUTCOMES[kind][i % len(OUTCOMES[kind])] for i in range(4))
              for kind in _INCIDENT_TYPES}
_FORMATS = ("meeting", "school_session", "broadcast", "leaflets", "social_media", "training",
            "campaign")
_AGENCIES = ("Công an tỉnh", "BĐBP tỉnh", "Hội LHPN", "Sở LĐTBXH", "Đoàn TN")
# Margins of the country shape around the former communes' boxes and the 2025 centroids (°).
_BOX_MARGIN = 0.01
_SEED_MARGIN = 0.02


# -- synthetic shapes ----------------------------------------------------------------------


@dataclass(frozen=True)
class NationalUnits:
    """The registry of the country and synthetic polygons of both unit sets.

    Attributes
    ----------
    registry : Registry
    communes_new, communes_old : GeoDataFrame
        Indexed by code, ``name`` and ``province_code`` (2025 set), polygons
        in WGS84. Synthetic.
    pieces : GeoDataFrame
        The former communes cut by the 2025 ones: ``old_code``, ``new_code``,
        ``area`` (square degrees, for drawing points), geometry. Each
        2025 commune is the union of its pieces, each former commune too.
    outline : GeoDataFrame
        The country (one polygon, or several: islands), WGS84.
    """

    registry: Registry
    communes_new: gpd.GeoDataFrame
    communes_old: gpd.GeoDataFrame
    pieces: gpd.GeoDataFrame
    outline: gpd.GeoDataFrame


def national_units(registry: Registry | None = None, *, seed: int = 0) -> NationalUnits:
    """Synthetic polygons for every unit of ``registry`` (default: the whole country).

    Parameters
    ----------
    registry : Registry, optional
        From :func:`geo.units.national_registry`.
    seed : int
        Seeds the few points placed at random (coincident centroids, former
        communes whose centroid lies outside the 2025 commune they went to).

    Returns
    -------
    NationalUnits
    """
    registry = registry if registry is not None else national_registry()
    rng = np.random.default_rng(seed)
    new = registry.communes
    seeds = _distinct(new["lon"].to_numpy(float), new["lat"].to_numpy(float), rng)
    country = _country(registry.legacy, seeds)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), ordered=True,
                                     extend_to=shapely.buffer(country.envelope, 1.0))
    polys = _polygonal(shapely.intersection(np.asarray(shapely.get_parts(cells)), country))
    communes_new = gpd.GeoDataFrame(
        {"name": new["name"].to_numpy(), "province_code": new["province_code"].to_numpy()},
        geometry=polys, index=new.index.rename("code"), crs=WGS84)
    pieces = _pieces(communes_new, registry, rng)
    merged = pieces.dissolve(by="old_code")
    communes_old = gpd.GeoDataFrame(
        {"name": registry.legacy["name"].reindex(merged.index).to_numpy()},
        geometry=merged.geometry.to_numpy(), index=merged.index.rename("code"), crs=WGS84)
    outline = gpd.GeoDataFrame({"name": ["Việt Nam (synthetic)"]},
                               geometry=[shapely.union_all(polys)], crs=WGS84)
    return NationalUnits(registry, communes_new, communes_old.sort_index(), pieces, outline)


def _distinct(lon: np.ndarray, lat: np.ndarray, rng) -> np.ndarray:
    """Seed points, coincident ones moved apart by about 100 m (Voronoi needs them distinct)."""
    xy = np.column_stack([lon, lat]).copy()
    seen = pd.DataFrame(xy.round(6)).duplicated().to_numpy()
    xy[seen] += rng.uniform(-0.001, 0.001, (int(seen.sum()), 2))
    return shapely.points(xy)


def _country(legacy: pd.DataFrame, seeds: np.ndarray) -> shapely.Geometry:
    """The union of the former communes' boxes and of small discs round the 2025 centroids."""
    boxes = shapely.box(legacy["min_lon"] - _BOX_MARGIN, legacy["min_lat"] - _BOX_MARGIN,
                        legacy["max_lon"] + _BOX_MARGIN, legacy["max_lat"] + _BOX_MARGIN)
    discs = shapely.buffer(seeds, _SEED_MARGIN, quad_segs=4)
    country = shapely.union_all(np.concatenate([np.asarray(boxes), discs]))
    country = shapely.make_valid(country)
    shapely.prepare(country)
    return country


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygonal part of each geometry (intersections may leave lines or points)."""
    out = np.empty(len(geoms), dtype=object)
    for i, geom in enumerate(geoms):
        if shapely.get_type_id(geom) in (3, 6):
            out[i] = geom
            continue
        parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) == 3]
        out[i] = shapely.multipolygons(parts) if len(parts) > 1 else (
            parts[0] if parts else shapely.Polygon())
    return out


def _pieces(communes_new: gpd.GeoDataFrame, registry: Registry, rng) -> gpd.GeoDataFrame:
    """Cut each 2025 commune into the former communes that formed it (Voronoi of their centres)."""
    comp = registry.composition
    legacy = registry.legacy
    rows: list[tuple[str, str, object]] = []
    for new_code, group in comp.groupby("new_code", sort=True):
        poly = communes_new.geometry.loc[new_code]
        olds = group["old_code"].to_numpy()
        if len(olds) == 1:
            rows.append((olds[0], new_code, poly))
            continue
        shapely.prepare(poly)
        xy = legacy.loc[olds, ["lon", "lat"]].to_numpy(float, copy=True)
        inside = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
        if (~inside).any():
            xy[~inside] = _points_in(poly, int((~inside).sum()), rng)
        seeds = _distinct(xy[:, 0], xy[:, 1], rng)
        cells = shapely.voronoi_polygons(shapely.multipoints(seeds), ordered=True,
                                         extend_to=shapely.buffer(poly.envelope, 0.5))
        cut = _polygonal(shapely.intersection(np.asarray(shapely.get_parts(cells)), poly))
        for old, piece in zip(olds, cut, strict=True):
            if not piece.is_empty:
                rows.append((old, new_code, piece))
    frame = gpd.GeoDataFrame(rows, columns=["old_code", "new_code", "geometry"],
                             geometry="geometry", crs=WGS84)
    frame["area"] = shapely.area(frame.geometry.values)
    return frame


def _points_in(poly, n: int, rng) -> np.ndarray:
    """``n`` random points inside one polygon (rejection in its bounding box)."""
    minx, miny, maxx, maxy = poly.bounds
    found: list[np.ndarray] = []
    while sum(len(f) for f in found) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), (max(4 * n, 16), 2))
        found.append(xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])])
    return np.concatenate(found)[:n]


def places(units: NationalUnits) -> Places:
    """What the importer needs to place records in the country's communes."""
    outline = shapely.union_all(units.outline.geometry.values)
    shapely.prepare(outline)
    return Places(units.registry, units.communes_new, units.communes_old, outline)


def write_boundaries(units: NationalUnits, data_dir: Path) -> Path:
    """Write the synthetic polygons where the product keeps imported official boundaries.

    ``data_dir/boundaries/communes_2025.gpkg``, ``communes_legacy.gpkg`` and
    ``province.gpkg`` (the country): an app started on ``data_dir`` then draws
    the country. The border line and the gates stay the province's.
    """
    folder = Path(data_dir) / "boundaries"
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("communes_2025", units.communes_new),
                        ("communes_legacy", units.communes_old)):
        out = frame[["name", "geometry"]].reset_index()
        out.to_file(folder / f"{name}.gpkg", driver="GPKG")
    units.outline.to_file(folder / "province.gpkg", driver="GPKG")
    return folder


# -- synthetic records ---------------------------------------------------------------------


def _risk(communes_new: gpd.GeoDataFrame, rng) -> np.ndarray:
    """A smooth risk per 2025 commune: a few broad bumps plus noise, so hot spots exist."""
    pts = shapely.point_on_surface(communes_new.geometry.values)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    minx, miny, maxx, maxy = communes_new.total_bounds
    field = np.zeros(len(x))
    for _ in range(12):
        cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        scale = rng.uniform(0.2, 0.8)
        field += rng.uniform(0.5, 2.0) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * scale**2))
    return np.exp(field + rng.normal(0.0, 0.4, len(x)))


def _draw_pieces(units: NationalUnits, communes: np.ndarray, rng) -> np.ndarray:
    """For each drawn 2025 commune (position in ``communes_new``), one of its pieces by area."""
    pieces = units.pieces
    position = pd.Series(np.arange(len(units.communes_new)), index=units.communes_new.index)
    owner = position.reindex(pieces["new_code"]).to_numpy()
    order = np.lexsort((np.arange(len(pieces)), owner))
    owner, area = owner[order], pieces["area"].to_numpy()[order]
    total = np.bincount(owner, weights=area, minlength=len(position))
    cumulative = pd.Series(area).groupby(owner).cumsum().to_numpy() / total[owner]
    keys = owner + np.minimum(cumulative, 1.0)
    picked = np.searchsorted(keys, communes + rng.random(len(communes)) * (1 - 1e-12), "left")
    return order[np.minimum(picked, len(order) - 1)]


def _points_in_pieces(geoms: np.ndarray, which: np.ndarray, rng) -> np.ndarray:
    """One random point inside ``geoms[which[i]]`` for every i (vectorised rejection)."""
    bounds = shapely.bounds(geoms)
    xy = np.full((len(which), 2), np.nan)
    todo = np.arange(len(which))
    shapely.prepare(geoms)
    while len(todo):
        b = bounds[which[todo]]
        cand = rng.uniform(b[:, :2], b[:, 2:])
        ok = shapely.contains_xy(geoms[which[todo]], cand[:, 0], cand[:, 1])
        xy[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return xy


def _dates(n: int, rng) -> pd.DatetimeIndex:
    """Days over the five years, a little denser in the July–September campaign windows."""
    span = (LAST_DAY - FIRST_DAY).days + 1
    days = rng.integers(0, span, n)
    dates = pd.Timestamp(FIRST_DAY) + pd.to_timedelta(days, "D")
    campaign = rng.random(n) < 0.15
    years = rng.integers(FIRST_DAY.year, LAST_DAY.year + 1, int(campaign.sum()))
    offset = rng.integers(0, 92, int(campaign.sum()))
    campaign_days = pd.to_datetime(pd.DataFrame({"year": years, "month": 7, "day": 1})) \
        + pd.to_timedelta(offset, "D")
    values = dates.to_numpy().copy()
    values[campaign] = campaign_days.to_numpy()
    return pd.DatetimeIndex(np.sort(values))


def national_records(units: NationalUnits, *, incidents: int = 1_000_000,
                     outreach: int = 200_000, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Incidents and outreach events as users' files hold them (columns of the templates).

    Parameters
    ----------
    units : NationalUnits
    incidents, outreach : int
        How many rows of each.
    seed : int

    Returns
    -------
    incidents : DataFrame
        ``record_id``, ``date`` (dd/mm/yyyy), ``type`` (a code, or the
        Vietnamese label in one row of ten), ``commune_code`` (a former
        commune before 01/7/2025, a 2025 one after), ``lat``/``lon`` (NaN
        when the record has no point; victims never have one), ``persons``,
        ``status``. Sorted by date.
    outreach : DataFrame
        ``record_id``, ``date``, ``commune_code``, ``agency``, ``format``,
        ``participants``, ``materials``.
    """
    rng = np.random.default_rng(seed)
    risk = _risk(units.communes_new, rng)
    # a 2025 commune the converter names no former commune for gets no record
    risk[~units.communes_new.index.isin(units.pieces["new_code"])] = 0.0
    weights = risk / risk.sum()
    frame = _incident_rows(units, incidents, weights, rng)
    events = _outreach_rows(units, outreach, weights, rng)
    return frame, events


def _commune_codes(units: NationalUnits, pieces: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
    old = units.pieces["old_code"].to_numpy()[pieces]
    new = units.pieces["new_code"].to_numpy()[pieces]
    return np.where(dates < pd.Timestamp(MERGER_DATE), old, new)


def _incident_rows(units: NationalUnits, n: int, weights: np.ndarray, rng) -> pd.DataFrame:
    communes = rng.choice(len(weights), n, p=weights)
    pieces = _draw_pieces(units, communes, rng)
    dates = _dates(n, rng)
    types = np.asarray(_INCIDENT_TYPES, dtype=object)[
        rng.choice(len(_INCIDENT_TYPES), n, p=_TYPE_SHARES)]
    located = (rng.random(n) < LOCATED_SHARE) & (types != "victim")
    xy = np.full((n, 2), np.nan)
    xy[located] = _points_in_pieces(units.pieces.geometry.to_numpy(), pieces[located], rng)
    written = types.copy()
    labelled = rng.random(n) < 0.1
    written[labelled] = [_TYPE_LABELS[t] for t in types[labelled]]
    return pd.DataFrame({
        "record_id": [f"N{i:08d}" for i in range(n)],
        "date": dates.strftime("%d/%m/%Y"),
        "type": written,
        "commune_code": _commune_codes(units, pieces, dates),
        "lat": xy[:, 1].round(6),
        "lon": xy[:, 0].round(6),
        "persons": rng.integers(0, 5, n),
        "status": [_STATUS_OF[t][k] for t, k in
                   zip(types, rng.integers(0, len(_STATUSES), n), strict=True)],
    })


def _outreach_rows(units: NationalUnits, n: int, weights: np.ndarray, rng) -> pd.DataFrame:
    communes = rng.choice(len(weights), n, p=weights)
    pieces = _draw_pieces(units, communes, rng)
    dates = _dates(n, rng)
    return pd.DataFrame({
        "record_id": [f"O{i:08d}" for i in range(n)],
        "date": dates.strftime("%d/%m/%Y"),
        "commune_code": _commune_codes(units, pieces, dates),
        "agency": np.asarray(_AGENCIES, dtype=object)[rng.integers(0, len(_AGENCIES), n)],
        "format": np.asarray(_FORMATS, dtype=object)[rng.integers(0, len(_FORMATS), n)],
        "participants": rng.integers(10, 400, n),
        "materials": rng.integers(0, 500, n),
    })


def national_population(units: NationalUnits, *, seed: int = 2) -> pd.DataFrame:
    """Population per 2025 commune and year (for the rates layer): ``commune_code``,
    ``year``, ``population``, ``population_14_60``; denser in wards, growing 1 % a year."""
    rng = np.random.default_rng(seed)
    reg = units.registry.communes
    area = reg["area_km2"].fillna(reg["area_km2"].median()).clip(lower=1.0).to_numpy()
    density = np.where(reg["kind"].eq("phuong"), 4000.0, 350.0) * rng.lognormal(0, 0.4, len(reg))
    base = np.maximum(area * density, 1500.0)
    years = range(FIRST_DAY.year, LAST_DAY.year + 1)
    rows = [(code, year, int(p * 1.01 ** (year - FIRST_DAY.year)))
            for year in years for code, p in zip(reg.index, base, strict=True)]
    frame = pd.DataFrame(rows, columns=["commune_code", "year", "population"])
    frame["population_14_60"] = (frame["population"] * 0.62).astype(int)
    return frame


def incident_truth(units: NationalUnits, frame: pd.DataFrame) -> pd.DataFrame:
    """The 2025 and former commune each generated incident belongs to, as ingest must find.

    ``new_code``: for a former commune's code, the 2025 commune the registry
    names for it (its main part when it was split); ``old_code``: the former
    commune (for a 2025 code with a point, the former commune holding it).
    """
    reg = units.registry
    dates = pd.to_datetime(frame["date"], format="%d/%m/%Y")
    old_set = (dates < pd.Timestamp(MERGER_DATE)).to_numpy()
    code = frame["commune_code"].to_numpy()
    new_code = np.where(old_set, reg.legacy["new_code"].reindex(code).to_numpy(), code)
    return pd.DataFrame({"new_code": new_code, "unit_set": np.where(old_set, OLD, NEW)},
                        index=frame.index)


def write_records(folder: Path, **tables: pd.DataFrame) -> dict[str, Path]:
    """Each table as ``folder/<name>.csv`` (UTF-8, as users' spreadsheets are saved)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in tables.items():
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False, float_format="%.6f")
    return paths
