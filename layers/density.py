"""Heat density of incident points: a kernel density surface and H3 hexagon counts.

Mật độ vụ việc (bản đồ nhiệt). Both surfaces are built from the records that
carry a coordinate. Records known only by their commune (xã/phường) are never
turned into invented points (a commune centroid would draw a false hot spot):
they are counted per commune code in ``unlocated`` beside the surface, so the
map can say "N records located, M known only by commune".

Distances and areas are computed in UTM zone 48N (EPSG:32648, metres); the
results come back in WGS84 for the map. Filter the records (types, period)
before calling: these functions smooth or count whatever they are given.

scipy's k-d tree is imported where the kernel sums run: a server starts without scipy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.units import code_column
from layers.counts import SEQUENTIAL_SCALE
from layers.layer import Caveat, Layer

__all__ = ["GRID", "KERNELS", "METRIC_CRS", "DensitySurface", "hexagon_counts", "hexagon_layer",
           "kernel_density"]

#: The metric CRS of every distance and area here: WGS 84 / UTM zone 48N.
METRIC_CRS = "EPSG:32648"
#: The unit set of a layer drawn on the grid's cells (its frame indexed by ``cell_id``).
GRID = "grid"
#: Kernel shapes :func:`kernel_density` knows.
KERNELS = ("quartic", "gaussian")

_WGS84 = "EPSG:4326"
# The gaussian is cut at this many bandwidths (mass beyond: e^-8 ≈ 0.03 %), then renormalised.
_GAUSSIAN_CUTOFF = 4.0
# Keep at most about this many (point, cell) pairs in memory at once.
_PAIRS_PER_CHUNK = 2_000_000


@dataclass(frozen=True)
class DensitySurface:
    """A kernel density surface on a regular grid, with what it leaves out.

    Attributes
    ----------
    cells : GeoDataFrame
        One row per grid cell whose centre lies in the province, indexed by
        ``cell_id`` (0, 1, … west to east, then south to north), in WGS84:
        ``row``, ``col`` (position in the UTM grid), ``density`` (incidents
        per km²), ``code`` and ``name`` of the commune holding the cell centre
        (only when communes were given; missing where no polygon holds it),
        and the square cell polygon (exact in UTM 48N, the cells tile the
        province without gaps or overlaps).
    bandwidth_km : float
        Search radius of the quartic kernel, standard deviation of the gaussian.
    cell_km : float
        Side of a grid cell; the cells are the squares of the UTM 48N grid
        with this spacing.
    kernel : {"quartic", "gaussian"}
    edge_correction : bool
        Whether each point's kernel was renormalised to the province.
    n_points : int
        Located records inside the province: the ones in the surface.
    n_outside : int
        Located records whose point lies outside the province outline: not in
        the surface (listed in ``outside``).
    n_unlocated : int
        Records without a point but with a commune code: not in the surface,
        counted per commune in ``unlocated``.
    n_unplaced : int
        Records with neither a point nor a commune code (none after ingest).
    unlocated : Series
        Commune-only records per commune code (every commune, zero-filled,
        when communes were given).
    outside : Index
        Index labels of the records outside the province.
    unit_set : {"2025", "legacy"}
        Which code column ``unlocated`` and ``code`` use.
    """

    cells: gpd.GeoDataFrame
    bandwidth_km: float
    cell_km: float
    kernel: str
    edge_correction: bool
    n_points: int
    n_outside: int
    n_unlocated: int
    n_unplaced: int
    unlocated: pd.Series
    outside: pd.Index
    unit_set: str

    @property
    def cell_area_km2(self) -> float:
        """Area of one grid cell in km² (in the UTM 48N plane)."""
        return self.cell_km**2

    @property
    def integral(self) -> float:
        """Sum of density × cell area: the number of points the surface holds.

        Equals ``n_points`` to rounding when ``edge_correction`` is on.
        """
        return float(self.cells["density"].sum() * self.cell_area_km2)

    def layer(self, *, caveats: Iterable[Caveat] = ()) -> Layer:
        """The surface as a map layer whose shapes travel with it.

        The frame is indexed by ``cell_id``, not by commune code, and keeps
        the cell polygons (a GeoDataFrame): ``unit_set`` is ``"grid"`` so a
        renderer takes the shapes from the frame instead of the commune set.
        The counts left out of the surface are in ``params`` for the caption.

        Parameters
        ----------
        caveats : iterable of Caveat

        Returns
        -------
        Layer
            ``value="density"``, title ``layer.density.title``, legend
            ``layer.density.legend``, units ``unit.per_km2``, the sequential
            colour-blind-safe scale of the count maps (zero near white).
        """
        frame = self.cells.copy()
        if "name" not in frame:
            frame.insert(0, "name", frame.index.astype(str))
        else:
            frame["name"] = frame["name"].fillna(pd.Series(frame.index.astype(str), frame.index))
        return Layer(
            frame=frame,
            value="density",
            unit_set=GRID,
            kind="density",
            title_key="layer.density.title",
            legend_key="layer.density.legend",
            units_key="unit.per_km2",
            params={
                "kernel": self.kernel,
                "bandwidth_km": self.bandwidth_km,
                "cell_km": self.cell_km,
                "n_points": self.n_points,
                "n_unlocated": self.n_unlocated,
                "n_outside": self.n_outside,
                "n_unplaced": self.n_unplaced,
            },
            colorscale=SEQUENTIAL_SCALE,
            caveats=tuple(caveats),
        )


def kernel_density(
    incidents: pd.DataFrame,
    outline: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    bandwidth_km: float = 5.0,
    cell_km: float = 1.0,
    kernel: str = "quartic",
    communes: gpd.GeoDataFrame | None = None,
    unit_set: str = "2025",
    edge_correction: bool = True,
) -> DensitySurface:
    """Kernel density of the located incidents on a grid clipped to the province.

    The grid is the UTM 48N grid of ``cell_km`` squares; a cell belongs to the
    surface when its centre lies in the outline. Each point spreads one
    incident over the cells with a kernel of radius ``bandwidth_km``:

    - quartic (biweight, as in QGIS Heatmap and ArcGIS Kernel Density):
      ``3 / (π h²) · (1 − d²/h²)²`` for ``d < h``, zero beyond;
    - gaussian: ``1 / (2π h²) · exp(−d² / 2h²)``, cut at 4 h.

    With ``edge_correction`` (the default) each point's kernel is divided by
    its own sum over the province's cells (× cell area), so the part of the
    kernel that would fall across the border or outside the province is
    given back to the cells inside (Diggle's correction, point by point).
    Each point then contributes exactly one incident and
    ``sum(density) × cell area == n_points`` to rounding (1e-9 relative).
    This also absorbs the discretisation error of evaluating the kernel at
    cell centres. Without it the integral is short by the kernel mass outside
    the province: measured on the demo (points crowd the border gates), 8 %
    with the quartic and 17 % with the gaussian kernel at h = 5 km.

    A point whose kernel reaches no cell centre (bandwidth under a cell, or a
    point in a sliver of the outline that holds no centre) is put whole into
    its nearest cell, so it is not lost.

    Parameters
    ----------
    incidents : DataFrame
        Records with ``lat``, ``lon`` (WGS84; NaN when the record is known
        only by commune) and the code column of ``unit_set``
        (``new_code`` for "2025", ``old_code`` for "legacy").
    outline : GeoDataFrame or GeoSeries
        The province polygon(s), with a CRS (any; WGS84 from ``load_outline``).
    bandwidth_km : float
        Kernel radius (quartic) or standard deviation (gaussian), km, > 0.
    cell_km : float
        Grid spacing, km, > 0.
    kernel : {"quartic", "gaussian"}
    communes : GeoDataFrame, optional
        Communes of ``unit_set`` indexed by code with ``name``: ``unlocated``
        is then zero-filled over them and each cell gets the ``code`` and
        ``name`` of the commune holding its centre.
    unit_set : {"2025", "legacy"}
    edge_correction : bool
        Renormalise each point's kernel to the province (see above).

    Returns
    -------
    DensitySurface

    Raises
    ------
    ValueError
        For a bandwidth or cell size ≤ 0, an unknown kernel or unit set, a
        missing column, an outline without CRS, or commune-only records whose
        code is not among ``communes``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> square = gpd.GeoSeries([shapely.box(600_000, 1_220_000, 640_000, 1_260_000)],
    ...                        crs=METRIC_CRS).to_crs("EPSG:4326")
    >>> inc = pd.DataFrame({"lat": [11.20, 11.21, None], "lon": [106.10, 106.12, None],
    ...                     "new_code": ["25681", "25681", "25699"]})
    >>> surface = kernel_density(inc, square, bandwidth_km=5.0, cell_km=1.0)
    >>> len(surface.cells), surface.n_points, surface.n_unlocated
    (1600, 2, 1)
    >>> round(surface.integral, 9), surface.unlocated.to_dict()
    (2.0, {'25699': 1})
    """
    _check_positive(bandwidth_km=bandwidth_km, cell_km=cell_km)
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, not {kernel!r}")
    area = _metric_outline(outline)
    split = _split_records(incidents, area, unit_set, communes)
    centres, rows, cols = _grid_centres(area, cell_km * 1000.0)
    density = _kde(
        split.xy / 1000.0, centres / 1000.0, bandwidth_km, cell_km, kernel, edge_correction
    )
    cells = _cell_frame(centres, rows, cols, cell_km * 1000.0, communes)
    cells["density"] = density
    cells = cells[[c for c in cells.columns if c != "geometry"] + ["geometry"]]
    return DensitySurface(
        cells=cells,
        bandwidth_km=float(bandwidth_km),
        cell_km=float(cell_km),
        kernel=kernel,
        edge_correction=bool(edge_correction),
        n_points=len(split.xy),
        n_outside=len(split.outside),
        n_unlocated=int(split.unlocated.sum()),
        n_unplaced=split.n_unplaced,
        unlocated=split.unlocated,
        outside=split.outside,
        unit_set=unit_set,
    )


def hexagon_counts(
    incidents: pd.DataFrame,
    outline: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    resolution: int = 7,
    communes: gpd.GeoDataFrame | None = None,
    unit_set: str = "2025",
    clip: bool = False,
) -> gpd.GeoDataFrame:
    """Located incidents counted in the H3 hexagons that cover the province.

    Every hexagon that intersects the outline is listed, with 0 where nothing
    was recorded (resolution 7: about 5.9 km² a hexagon here, some 1,700
    for Tây Ninh). Located records outside the outline are left out and counted,
    exactly as in :func:`kernel_density`, so ``count.sum() == n_points``.

    Parameters
    ----------
    incidents : DataFrame
        ``lat``, ``lon`` (NaN when known only by commune) and the code column
        of ``unit_set``.
    outline : GeoDataFrame or GeoSeries
        The province polygon(s), with a CRS.
    resolution : int
        H3 resolution, 0–15.
    communes : GeoDataFrame, optional
        Zero-fills the commune-only counts over these codes.
    unit_set : {"2025", "legacy"}
    clip : bool
        Cut the border hexagons to the outline (for display); ``area_km2`` is
        then the area of the cut piece. Counts do not change.

    Returns
    -------
    GeoDataFrame
        Indexed by ``hex`` (H3 cell id), sorted, in WGS84: ``count``,
        ``area_km2`` (UTM 48N) and the hexagon polygon. ``attrs`` holds
        ``n_points``, ``n_outside``, ``n_unlocated``, ``n_unplaced`` (ints),
        ``unlocated`` (commune-only records per code, a dict) and
        ``resolution``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> square = gpd.GeoSeries([shapely.box(600_000, 1_220_000, 640_000, 1_260_000)],
    ...                        crs=METRIC_CRS).to_crs("EPSG:4326")
    >>> inc = pd.DataFrame({"lat": [11.20, 11.20, None], "lon": [106.10, 106.10, None],
    ...                     "new_code": ["25681", "25681", "25699"]})
    >>> hexes = hexagon_counts(inc, square, resolution=7)
    >>> int(hexes["count"].sum()), int(hexes["count"].max()), hexes.attrs["unlocated"]
    (2, 2, {'25699': 1})
    """
    if not isinstance(resolution, (int, np.integer)) or not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution must be an integer 0–15, not {resolution!r}")
    area = _metric_outline(outline)
    split = _split_records(incidents, area, unit_set, communes)
    to_metric = pyproj.Transformer.from_crs(_WGS84, METRIC_CRS, always_xy=True)
    candidates = _covering_hexes(area, int(resolution))
    hexes = np.array(sorted(candidates), dtype=object)
    shapes = _hex_polygons(hexes)
    shapes_m = shapely.transform(shapes, lambda xy: np.column_stack(to_metric.transform(*xy.T)))
    keep = shapely.intersects(shapes_m, area)
    hexes, shapes, shapes_m = hexes[keep], shapes[keep], shapes_m[keep]

    point_hexes = pd.Series(
        [h3.latlng_to_cell(lat, lon, int(resolution)) for lon, lat in split.lonlat],
        dtype=object,
    )
    counts = point_hexes.value_counts().reindex(hexes, fill_value=0).astype(int)
    # A point inside the outline lies in a hexagon that meets it: none can be missed.
    if int(counts.sum()) != len(split.xy):
        raise AssertionError("located points fell outside the covering hexagons")
    if clip:
        shapes_m = shapely.intersection(shapes_m, area)
        back = pyproj.Transformer.from_crs(METRIC_CRS, _WGS84, always_xy=True)
        shapes = shapely.transform(shapes_m, lambda xy: np.column_stack(back.transform(*xy.T)))
    out = gpd.GeoDataFrame(
        {"count": counts.to_numpy(), "area_km2": shapely.area(shapes_m) / 1e6},
        geometry=shapes,
        index=pd.Index(hexes, name="hex", dtype=object),
        crs=_WGS84,
    )
    out.attrs.update(
        n_points=len(split.xy),
        n_outside=len(split.outside),
        n_unlocated=int(split.unlocated.sum()),
        n_unplaced=split.n_unplaced,
        unlocated={str(k): int(v) for k, v in split.unlocated.items()},
        resolution=int(resolution),
    )
    return out


def hexagon_layer(hexes: gpd.GeoDataFrame, *, caveats: Iterable[Caveat] = ()) -> Layer:
    """The counts of :func:`hexagon_counts` as a map layer (kind ``hexagons``).

    The frame holds the count per hexagon (index: the H3 id as text) and no geometry: the
    browser fetches the hexagons once and the layer only colours them.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> hexes = gpd.GeoDataFrame({"count": [2, 0]}, index=["87a", "87b"],
    ...                          geometry=[shapely.Point(0, 0)] * 2)
    >>> hexes.attrs.update(n_points=2, n_unlocated=1, resolution=7)
    >>> layer = hexagon_layer(hexes)
    >>> layer.kind, layer.total, layer.params["resolution"], "geometry" in layer.frame
    ('hexagons', 2.0, 7, False)
    """
    frame = pd.DataFrame({"name": "", "count": hexes["count"]}, index=hexes.index.astype(str))
    return Layer(frame=frame, value="count", unit_set="hexagons", kind="hexagons",
                 title_key="layer.hexagons.title", legend_key="layer.hexagons.legend",
                 units_key="unit.records",
                 params={"n_points": hexes.attrs.get("n_points"),
                         "n_unlocated": hexes.attrs.get("n_unlocated"),
                         "resolution": hexes.attrs.get("resolution")},
                 colorscale=SEQUENTIAL_SCALE, caveats=tuple(caveats))


# -- private helpers ---------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    """Incident records sorted by how they can be placed."""

    xy: np.ndarray  # (n, 2) UTM metres of the located points inside the outline
    lonlat: np.ndarray  # (n, 2) the same points in WGS84
    outside: pd.Index
    unlocated: pd.Series
    n_unplaced: int


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float, np.number)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, not {value!r}")


def _metric_outline(outline: gpd.GeoDataFrame | gpd.GeoSeries) -> shapely.Geometry:
    if outline.crs is None:
        raise ValueError("the outline has no CRS: is it in WGS84 (EPSG:4326)?")
    geoms = outline.geometry if isinstance(outline, gpd.GeoDataFrame) else outline
    area = shapely.union_all(geoms.to_crs(METRIC_CRS).values)
    if area.is_empty or area.area == 0:
        raise ValueError("the outline holds no polygon")
    shapely.prepare(area)
    return area


def _split_records(
    incidents: pd.DataFrame,
    area: shapely.Geometry,
    unit_set: str,
    communes: pd.DataFrame | None,
) -> _Split:
    """Located points inside the outline, points outside, and commune-only counts."""
    column = code_column(unit_set)
    missing = {"lat", "lon", column} - set(incidents.columns)
    if missing:
        raise ValueError(f"incidents lack columns {sorted(missing)}")
    lat = pd.to_numeric(incidents["lat"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(incidents["lon"], errors="coerce").to_numpy(dtype=float)
    located = np.isfinite(lat) & np.isfinite(lon)
    to_metric = pyproj.Transformer.from_crs(_WGS84, METRIC_CRS, always_xy=True)
    x, y = to_metric.transform(lon[located], lat[located])
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    inside = shapely.intersects_xy(area, x, y)  # a point on the outline counts as inside
    outside = incidents.index[located][~inside]

    codes = incidents.loc[~located, column]
    has_code = codes.notna() & codes.astype(str).str.strip().ne("")
    unlocated = codes[has_code].astype(str).value_counts().sort_index()
    if communes is not None:
        unknown = unlocated.index.difference(communes.index)
        if len(unknown):
            raise ValueError(
                f"commune-only records name codes not among the {unit_set} communes: "
                f"{list(unknown[:10])}"
            )
        unlocated = unlocated.reindex(communes.index, fill_value=0)
    unlocated = unlocated.astype(int).rename("count").rename_axis("code")
    return _Split(
        xy=np.column_stack([x[inside], y[inside]]),
        lonlat=np.column_stack([lon[located][inside], lat[located][inside]]),
        outside=outside,
        unlocated=unlocated,
        n_unplaced=int((~has_code).sum()),
    )


def _grid_centres(
    area: shapely.Geometry, cell_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (m) of the UTM grid cells inside the outline, row-major from the south-west."""
    minx, miny, maxx, maxy = area.bounds
    x0 = math.floor(minx / cell_m) * cell_m
    y0 = math.floor(miny / cell_m) * cell_m
    ncols = math.ceil((maxx - x0) / cell_m)
    nrows = math.ceil((maxy - y0) / cell_m)
    rows, cols = np.divmod(np.arange(nrows * ncols), ncols)
    cx = x0 + (cols + 0.5) * cell_m
    cy = y0 + (rows + 0.5) * cell_m
    inside = shapely.contains_xy(area, cx, cy)
    # Row and column numbers are those of the UTM grid itself: stable across outlines.
    grid_rows = (y0 / cell_m + rows[inside]).round().astype(int)
    grid_cols = (x0 / cell_m + cols[inside]).round().astype(int)
    return np.column_stack([cx[inside], cy[inside]]), grid_rows, grid_cols


def _kernel_values(d: np.ndarray, h: float, kernel: str) -> np.ndarray:
    """Kernel value per km² at distance ``d`` km for bandwidth ``h`` km (integrates to 1)."""
    u2 = (d / h) ** 2
    if kernel == "quartic":
        return np.where(u2 < 1.0, 3.0 / (math.pi * h * h) * (1.0 - u2) ** 2, 0.0)
    return np.exp(-0.5 * u2) / (2.0 * math.pi * h * h)


def _kde(
    points: np.ndarray,
    centres: np.ndarray,
    h: float,
    cell_km: float,
    kernel: str,
    edge_correction: bool,
) -> np.ndarray:
    """Density (per km²) at the cell centres; every coordinate in km."""
    from scipy.spatial import cKDTree

    density = np.zeros(len(centres))
    if len(points) == 0 or len(centres) == 0:
        return density
    radius = h if kernel == "quartic" else _GAUSSIAN_CUTOFF * h
    cell_area = cell_km * cell_km
    cells_tree = cKDTree(centres)
    per_point = max(1.0, math.pi * radius * radius / cell_area)
    step = max(1, int(_PAIRS_PER_CHUNK / per_point))
    for start in range(0, len(points), step):
        chunk = points[start : start + step]
        pairs = cKDTree(chunk).sparse_distance_matrix(cells_tree, radius, output_type="ndarray")
        i, j = pairs["i"], pairs["j"]
        w = _kernel_values(pairs["v"], h, kernel)
        if edge_correction:
            mass = np.bincount(i, weights=w, minlength=len(chunk)) * cell_area
            lost = mass <= 0
            if lost.any():  # no cell centre under the kernel: the nearest cell takes it whole
                _, nearest = cells_tree.query(chunk[lost])
                np.add.at(density, nearest, 1.0 / cell_area)
            w = w / np.where(lost, 1.0, mass)[i]
        density += np.bincount(j, weights=w, minlength=len(centres))
    return density


def _cell_frame(
    centres: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    cell_m: float,
    communes: gpd.GeoDataFrame | None,
) -> gpd.GeoDataFrame:
    half = cell_m / 2.0
    squares = shapely.box(
        centres[:, 0] - half, centres[:, 1] - half, centres[:, 0] + half, centres[:, 1] + half
    )
    frame = gpd.GeoDataFrame(
        {"row": rows, "col": cols},
        geometry=squares,
        index=pd.RangeIndex(len(centres), name="cell_id"),
        crs=METRIC_CRS,
    )
    if communes is not None:
        if communes.crs is None:
            raise ValueError("communes have no CRS: are they in WGS84 (EPSG:4326)?")
        polys = communes.geometry.to_crs(METRIC_CRS).to_numpy()
        tree = shapely.STRtree(polys)
        cell_idx, poly_idx = tree.query(shapely.points(centres), predicate="within")
        first = pd.Series(poly_idx, index=cell_idx).groupby(level=0).first()
        code = pd.Series(pd.NA, index=frame.index, dtype="string")
        code.iloc[first.index.to_numpy()] = communes.index.to_numpy()[first.to_numpy()]
        frame["code"] = code
        names = communes["name"] if "name" in communes else pd.Series(dtype="string")
        frame["name"] = code.map(names).astype("string")
    return frame.to_crs(_WGS84)


def _covering_hexes(area: shapely.Geometry, resolution: int) -> set[str]:
    """H3 cells that may meet the outline: centres within one hexagon radius of it."""
    # A hexagon meeting the outline has its centre within its circumradius (= its edge,
    # which varies a little around the average) of it: twice the average is ample.
    reach = 2.0 * h3.average_hexagon_edge_length(resolution, unit="m")
    back = pyproj.Transformer.from_crs(METRIC_CRS, _WGS84, always_xy=True)
    grown = shapely.transform(
        shapely.buffer(area, reach), lambda xy: np.column_stack(back.transform(*xy.T))
    )
    cells: set[str] = set()
    for poly in getattr(grown, "geoms", [grown]):
        cells.update(h3.geo_to_cells(poly, resolution))
    return cells


def _hex_polygons(hexes: np.ndarray) -> np.ndarray:
    """Hexagon polygons (lon, lat) from ``h3.cell_to_boundary`` (pentagons too).

    Built as arrays, by vertex count (six for a hexagon, five for the twelve
    pentagons of a resolution): the country's 170,000 hexagons take a second,
    where one ``shapely.Polygon`` per cell took half a minute.
    """
    rings = [h3.cell_to_boundary(c) for c in hexes]
    out = np.empty(len(rings), dtype=object)
    sizes = np.fromiter((len(r) for r in rings), dtype=np.int64, count=len(rings))
    for size in np.unique(sizes):
        at = np.flatnonzero(sizes == size)
        latlon = np.array([rings[i] for i in at], dtype=float).reshape(len(at), size, 2)
        closed = np.concatenate([latlon, latlon[:, :1]], axis=1)[:, :, ::-1]  # (lon, lat)
        out[at] = shapely.polygons(closed)
    return out
