"""Approximate commune polygons built from the registry alone (no boundary survey).

The registry knows, for every pre-2025 commune, a centroid and a bounding box
(from ``vietnamadminunits``), and for every 2025 commune its official area and
which old communes formed it. That is enough for an honest approximation:

1. **Province domain.** Each old commune of the province (and of every
   neighbouring province) gets its Voronoi cell among all old communes of
   the region; the province is the union of its own cells, cut to the union
   of its own communes' bounding boxes (the Cambodian side, where there are
   no Vietnamese units, is bounded by the boxes).
2. **Old communes.** A raster over the domain (``resolution_m``) gives each
   pixel to the old commune whose box-normalised distance is least, among
   those whose bounding box holds the pixel: an anisotropic Voronoi diagram
   that respects every box.
3. **New communes and areas.** A new commune is the union of its old
   communes; a scale per new commune is fitted so that its area approaches
   the registry's official area. Some registry areas are inconsistent with
   the geometry (their sum is 7,388 km² for a province of about 8,500 km²),
   so each target is held within a factor ``area_clamp`` of the unfitted cell.
   Old communes split between several new ones are divided by nearest new
   centroid.
4. **Polygons.** Pixels are grouped into (old, new) pieces, fragments are
   merged into their neighbours, and the pieces are turned into a coverage
   simplified once, so that old polygons nest exactly inside new ones and
   neighbours share their edges.
5. **Border.** The part of the outline that does not face a neighbouring
   Vietnamese province's cells is the Vietnam–Cambodia border line.

The result is approximate and labelled so (see ``docs/boundary_accuracy.md``
for its measured error against a real boundary map). It is built once by
``scripts/build_boundaries.py`` and bundled in ``data/boundaries``. scipy is imported
where the cells are labelled: the app, which reads only :data:`METRIC_CRS` here, starts
without it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.units import Registry, parse_bounds

__all__ = ["ApproxBoundaries", "METRIC_CRS", "border_of_outline", "build_approximate_boundaries"]

#: Metric CRS for the construction: UTM zone 48N (the province lies at 105.5–106.6° E).
METRIC_CRS = "EPSG:32648"
WGS84 = "EPSG:4326"
_REGION = (104.8, 10.0, 107.2, 12.4)  # lon/lat window: the province and its neighbours
_BOX_PAD_M = 200.0  # tolerance on the registry's bounding boxes


@dataclass(frozen=True)
class ApproxBoundaries:
    """The four bundled layers (WGS84) and the fit's diagnostics.

    Attributes
    ----------
    communes_new, communes_legacy : GeoDataFrame
        One polygon per registry code: ``code``, ``name`` (legacy also
        ``district``), ``area_km2`` (of the polygon), geometry.
    province : GeoDataFrame
        One polygon, the union of the communes.
    border : GeoDataFrame
        The Vietnam–Cambodia border along the province, one (multi)line.
    fit : DataFrame
        Per new commune: ``registry_area_km2``, ``unfitted_area_km2``,
        ``target_km2`` (after the clamp), ``area_km2``.
    """

    communes_new: gpd.GeoDataFrame
    communes_legacy: gpd.GeoDataFrame
    province: gpd.GeoDataFrame
    border: gpd.GeoDataFrame
    fit: pd.DataFrame


@dataclass(frozen=True)
class _Grid:
    x0: float
    y0: float
    res: float
    shape: tuple[int, int]

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = np.indices(self.shape)
        return self.x0 + (cols + 0.5) * self.res, self.y0 + (rows + 0.5) * self.res


def build_approximate_boundaries(
    registry: Registry,
    *,
    resolution_m: float = 200.0,
    area_clamp: float = 1.5,
    iterations: int = 40,
    simplify_m: float | None = None,
) -> ApproxBoundaries:
    """Build approximate 2025 and pre-2025 commune polygons, outline and border.

    Parameters
    ----------
    registry : Registry
        :func:`geo.units.load_registry`.
    resolution_m : float
        Raster cell size of the construction, in metres.
    area_clamp : float
        How far (as a factor) a commune's area target may move from its
        unfitted cell toward the registry's area.
    iterations : int
        Rounds of the area fit.
    simplify_m : float, optional
        Tolerance of the coverage simplification; default ``resolution_m``.

    Returns
    -------
    ApproxBoundaries
    """
    legacy = registry.legacy
    boxes = _legacy_boxes(legacy)
    region_points = _region_points()
    domain, neighbours = _domain(region_points, set(legacy.index), boxes)
    grid, inside = _rasterise(domain, resolution_m)
    old_codes = list(legacy.index)
    new_codes = list(registry.communes.index)
    cost = _box_cost(grid, inside, boxes)
    primary = np.array([new_codes.index(c) for c in legacy["new_code"]])
    unfitted = _areas(primary[(cost[0] + cost[1]).argmin(1)], len(new_codes), resolution_m)
    target = np.clip(
        registry.communes["area_km2"].to_numpy(), unfitted / area_clamp, unfitted * area_clamp
    )
    old_label = _fit(cost, primary, target, len(new_codes), resolution_m, iterations)
    old_label = _seed_empty(old_label, grid, inside, legacy)
    old_grid = np.full(grid.shape, -1)
    old_grid[inside] = old_label
    old_grid = _merge_fragments(old_grid)
    new_grid = _split_new(old_grid, grid, registry, old_codes, new_codes)
    new_grid = _merge_fragments(new_grid, within=old_grid)
    pieces = _pieces(old_grid, new_grid, grid, simplify_m or resolution_m)
    return _layers(pieces, registry, old_codes, new_codes, neighbours, unfitted, target)


def border_of_outline(outline: gpd.GeoDataFrame, registry: Registry) -> gpd.GeoDataFrame:
    """The Vietnam–Cambodia border run of a province outline (any CRS; returned in WGS84).

    Used for an imported official outline: the part of its edge that faces no
    neighbouring Vietnamese province's communes is the international border.
    """
    boxes = _legacy_boxes(registry.legacy)
    _, neighbours = _domain(_region_points(), set(registry.legacy.index), boxes)
    shape = shapely.union_all(outline.to_crs(METRIC_CRS).geometry.to_numpy())
    return _border(shape, neighbours).to_crs(WGS84)


# -- inputs -------------------------------------------------------------------


def _legacy_boxes(legacy: pd.DataFrame) -> pd.DataFrame:
    """The old communes' bounding boxes in metres (minx, miny, maxx, maxy)."""
    boxes = gpd.GeoSeries(
        shapely.box(legacy["min_lon"], legacy["min_lat"], legacy["max_lon"], legacy["max_lat"]),
        index=legacy.index,
        crs=WGS84,
    ).to_crs(METRIC_CRS)
    return boxes.bounds


def _region_points() -> gpd.GeoDataFrame:
    """Centroids and boxes of every old commune of the region, any province (metres)."""
    data = resources.files("vietnamadminunits") / "data" / "dataset.db"
    with sqlite3.connect(f"file:{data}?mode=ro", uri=True) as con:
        rows = pd.read_sql_query(
            "SELECT provinceCode, wardCode, wardLat, wardLon, wardBounds "
            "FROM admin_units_legacy WHERE wardLon BETWEEN ? AND ? AND wardLat BETWEEN ? AND ?",
            con,
            params=(_REGION[0], _REGION[2], _REGION[1], _REGION[3]),
        )
    bounds = np.array([parse_bounds(t) for t in rows["wardBounds"]])
    points = gpd.GeoDataFrame(
        {"code": rows["wardCode"].str.zfill(5), "province_code": rows["provinceCode"]},
        geometry=gpd.points_from_xy(rows["wardLon"], rows["wardLat"]),
        crs=WGS84,
    )
    points["box"] = gpd.GeoSeries(shapely.box(*bounds.T), crs=WGS84).to_crs(METRIC_CRS).values
    return points.to_crs(METRIC_CRS)


def _domain(
    points: gpd.GeoDataFrame, ours: set[str], boxes: pd.DataFrame
) -> tuple[shapely.Geometry, shapely.Geometry]:
    """The province domain and the region held by neighbouring provinces' communes."""
    cells = shapely.voronoi_polygons(shapely.multipoints(points.geometry.values))
    cell_of = _cell_index(points.geometry.values, np.asarray(cells.geoms))
    cell_geoms = np.asarray(cells.geoms)[cell_of]
    mine = points["code"].isin(ours).to_numpy()
    own_boxes = shapely.union_all(shapely.box(*boxes.to_numpy().T))
    domain = shapely.intersection(shapely.union_all(cell_geoms[mine]), own_boxes)
    others = shapely.intersection(cell_geoms[~mine], points["box"].values[~mine])
    neighbours = shapely.union_all(others)
    return _without_holes(shapely.make_valid(domain)), neighbours


def _without_holes(shape: shapely.Geometry) -> shapely.Geometry:
    """The shape with its holes filled: the province has no enclaves, so a hole is an
    artefact (a neighbouring commune's centroid geocoded inside the province)."""
    parts = [shapely.Polygon(p.exterior) for p in shapely.get_parts(shape) if p.area > 0]
    return shapely.union_all(parts)


def _cell_index(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(cells)
    pairs = tree.query(points, predicate="within")
    out = np.full(len(points), -1)
    out[pairs[0]] = pairs[1]
    if (out < 0).any():
        raise RuntimeError("a commune centroid fell outside every Voronoi cell")
    return out


def _rasterise(domain: shapely.Geometry, res: float) -> tuple[_Grid, np.ndarray]:
    minx, miny, maxx, maxy = domain.bounds
    x0, y0 = np.floor(minx / res) * res, np.floor(miny / res) * res
    shape = (int(np.ceil((maxy - y0) / res)), int(np.ceil((maxx - x0) / res)))
    grid = _Grid(x0, y0, res, shape)
    xs, ys = grid.centres()
    return grid, shapely.contains_xy(domain, xs, ys)


# -- assignment ---------------------------------------------------------------


def _box_cost(grid: _Grid, inside: np.ndarray, boxes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Box-normalised squared distance of each domain pixel to each old commune's box centre.

    Returns the cost and a penalty (0, or a large constant where the pixel lies
    outside the commune's padded box) kept apart, so that the area fit scales
    the cost but never the penalty: a pixel goes to a commune whose box holds
    it whenever one does.
    """
    xs, ys = grid.centres()
    x, y = xs[inside][:, None], ys[inside][:, None]
    minx, miny, maxx, maxy = (boxes[c].to_numpy()[None, :] for c in ("minx", "miny", "maxx", "maxy"))
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    hx, hy = (maxx - minx) / 2 + _BOX_PAD_M, (maxy - miny) / 2 + _BOX_PAD_M
    cost = ((x - cx) / hx) ** 2 + ((y - cy) / hy) ** 2
    outside = (x < minx - _BOX_PAD_M) | (x > maxx + _BOX_PAD_M) | (y < miny - _BOX_PAD_M) | (
        y > maxy + _BOX_PAD_M
    )
    return cost.astype(np.float32), (outside * np.float32(1e6)).astype(np.float32)


def _areas(labels: np.ndarray, n: int, res: float) -> np.ndarray:
    return np.bincount(labels, minlength=n) * res * res / 1e6


def _fit(
    cost: tuple[np.ndarray, np.ndarray],
    primary: np.ndarray,
    target: np.ndarray,
    n: int,
    res: float,
    iterations: int,
) -> np.ndarray:
    """Old-commune label per pixel, with one scale per new commune fitted to its target area.

    Scales stay within [1/2, 2] (a commune's reach changes by at most that
    factor), so that no commune swallows or loses a neighbour whole.
    """
    base, penalty = cost
    scale = np.ones(n)

    def label() -> np.ndarray:
        return (base / (scale[primary] ** 2)[None, :].astype(np.float32) + penalty).argmin(1)

    for _ in range(iterations):
        area = _areas(primary[label()], n, res)
        scale = np.clip(scale * (target / np.maximum(area, res * res / 1e6)) ** 0.25, 0.5, 2.0)
    return label()


def _seed_empty(labels: np.ndarray, grid: _Grid, inside: np.ndarray, legacy: pd.DataFrame) -> np.ndarray:
    """Give an old commune that won no pixel the free pixel nearest its registry centroid.

    Tiny wards inside a town can lose every pixel to larger neighbours at a
    coarse resolution; each still gets one, and no two share it.
    """
    counts = np.bincount(labels, minlength=len(legacy))
    empty = np.flatnonzero(counts == 0)
    if not len(empty):
        return labels
    pts = gpd.GeoSeries(
        gpd.points_from_xy(legacy["lon"].iloc[empty], legacy["lat"].iloc[empty]), crs=WGS84
    ).to_crs(METRIC_CRS)
    xs, ys = grid.centres()
    px, py = xs[inside], ys[inside]
    taken = np.zeros(len(labels), bool)
    out = labels.copy()
    for i, x, y in zip(empty, pts.x, pts.y, strict=True):
        d = (px - x) ** 2 + (py - y) ** 2
        d[taken] = np.inf
        k = int(d.argmin())
        out[k] = i
        taken[k] = True
    return out


def _merge_fragments(labels: np.ndarray, within: np.ndarray | None = None) -> np.ndarray:
    """Give every fragment of a label but its largest to the neighbour it touches most.

    ``within`` restricts merging to pixels of the same outer label (new labels
    inside one old commune), so that nesting survives.
    """
    from scipy import ndimage

    out = labels.copy()
    for _ in range(5):
        changed = False
        for value in np.unique(out[out >= 0]):
            comp, n = ndimage.label(out == value)
            if n <= 1:
                continue
            sizes = np.bincount(comp.ravel())[1:]
            keep = int(sizes.argmax()) + 1
            for k in range(1, n + 1):
                if k == keep:
                    continue
                mask = comp == k
                ring = ndimage.binary_dilation(mask) & ~mask & (out >= 0)
                if within is not None:
                    ring &= within == within[mask][0]
                if not ring.any():
                    continue
                out[mask] = np.bincount(out[ring]).argmax()
                changed = True
        if not changed:
            break
    return out


def _split_new(
    old_grid: np.ndarray,
    grid: _Grid,
    registry: Registry,
    old_codes: list[str],
    new_codes: list[str],
) -> np.ndarray:
    """New-commune label per pixel: the old commune's new unit, split ones by nearest centroid."""
    comp = registry.composition
    centres = gpd.GeoSeries(
        gpd.points_from_xy(registry.communes["lon"], registry.communes["lat"]), crs=WGS84
    ).to_crs(METRIC_CRS)
    cx, cy = centres.x.to_numpy(), centres.y.to_numpy()
    xs, ys = grid.centres()
    new_grid = np.full(old_grid.shape, -1)
    for i, code in enumerate(old_codes):
        mask = old_grid == i
        targets = [new_codes.index(c) for c in comp.loc[comp["old_code"] == code, "new_code"]]
        if len(targets) == 1:
            new_grid[mask] = targets[0]
            continue
        t = np.array(targets)
        d = (xs[mask][:, None] - cx[t]) ** 2 + (ys[mask][:, None] - cy[t]) ** 2
        new_grid[mask] = t[d.argmin(1)]
    for j in np.setdiff1d(np.arange(len(new_codes)), np.unique(new_grid[new_grid >= 0])):
        # A new commune made only of pieces of split communes may win no pixel:
        # give it the pixel of its pieces nearest its centroid.
        olds = [old_codes.index(c) for c in comp.loc[comp["new_code"] == new_codes[j], "old_code"]]
        mask = np.isin(old_grid, olds)
        d = np.where(mask, (xs - cx[j]) ** 2 + (ys - cy[j]) ** 2, np.inf)
        new_grid[np.unravel_index(d.argmin(), d.shape)] = j
    return new_grid


# -- polygons -----------------------------------------------------------------


def _pieces(old_grid: np.ndarray, new_grid: np.ndarray, grid: _Grid, tolerance: float) -> pd.DataFrame:
    """(old, new) pieces as a simplified polygon coverage."""
    valid = old_grid >= 0
    rows, cols = np.nonzero(valid)
    x0 = grid.x0 + cols * grid.res
    y0 = grid.y0 + rows * grid.res
    cells = shapely.box(x0, y0, x0 + grid.res, y0 + grid.res)
    frame = pd.DataFrame({"old": old_grid[valid], "new": new_grid[valid], "cell": cells})
    pieces = (
        frame.groupby(["old", "new"])["cell"]
        .agg(lambda g: shapely.coverage_union_all(g.to_numpy()))
        .reset_index(name="geometry")
    )
    simplified = shapely.coverage_simplify(pieces["geometry"].to_numpy(), tolerance)
    pieces["geometry"] = shapely.make_valid(simplified)
    return pieces


def _layers(
    pieces: pd.DataFrame,
    registry: Registry,
    old_codes: list[str],
    new_codes: list[str],
    neighbours: shapely.Geometry,
    unfitted: np.ndarray,
    target: np.ndarray,
) -> ApproxBoundaries:
    def dissolve(key: str, codes: list[str], table: pd.DataFrame, extra: list[str]):
        geoms = pieces.groupby(key)["geometry"].agg(lambda g: shapely.coverage_union_all(g.to_numpy()))
        missing = set(range(len(codes))) - set(geoms.index)
        if missing:
            raise RuntimeError(f"no pixels for units {[codes[i] for i in sorted(missing)]}")
        gdf = gpd.GeoDataFrame(
            {"code": codes, **{c: table.loc[codes, c].to_numpy() for c in ["name", *extra]}},
            geometry=[geoms[i] for i in range(len(codes))],
            crs=METRIC_CRS,
        )
        gdf["area_km2"] = (gdf.area / 1e6).round(2)
        return gdf

    new = dissolve("new", new_codes, registry.communes, [])
    old = dissolve("old", old_codes, registry.legacy, ["district"])
    outline = shapely.coverage_union_all(new.geometry.to_numpy())
    province = gpd.GeoDataFrame(
        {"code": ["80"], "name": ["Tỉnh Tây Ninh"], "area_km2": [round(outline.area / 1e6, 1)]},
        geometry=[outline],
        crs=METRIC_CRS,
    )
    border = _border(outline, neighbours)
    fit = pd.DataFrame(
        {
            "registry_area_km2": registry.communes["area_km2"].to_numpy(),
            "unfitted_area_km2": unfitted.round(2),
            "target_km2": target.round(2),
            "area_km2": new["area_km2"].to_numpy(),
        },
        index=pd.Index(new_codes, name="code"),
    )
    return ApproxBoundaries(
        communes_new=new.to_crs(WGS84),
        communes_legacy=old.to_crs(WGS84),
        province=province.to_crs(WGS84),
        border=border.to_crs(WGS84),
        fit=fit,
    )


def _border(outline: shapely.Geometry, neighbours: shapely.Geometry) -> gpd.GeoDataFrame:
    """The outline's run that faces no Vietnamese neighbour: the Cambodian border."""
    ring = shapely.boundary(outline)
    free = shapely.difference(ring, shapely.buffer(neighbours, 1500.0))
    merged = shapely.line_merge(free)
    parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    # The border is one continuous run from the Đồng Tháp tripoint to the Đồng Nai
    # tripoint; shorter free runs face thinly-settled neighbours, not Cambodia.
    line = max(parts, key=lambda g: g.length)
    return gpd.GeoDataFrame(
        {"name": ["Biên giới Việt Nam – Campuchia (gần đúng)"], "length_km": [round(line.length / 1e3, 1)]},
        geometry=[line],
        crs=METRIC_CRS,
    )
