"""Distance to the border and to the border gates, for communes and incidents.

Khoảng cách đến đường biên giới và đến cửa khẩu. Every distance is measured
in UTM zone 48N (EPSG:32648), whose scale error over Tây Ninh (105.5°–106.8° E)
stays within 0.05 %: well under what the approximate border and gate positions
allow. Results are in kilometres.

Where a distance is measured from matters for a polygon:

- ``measure_from="polygon"``: from the nearest point of the commune polygon,
  so a commune that touches the border (xã biên giới) or holds a gate is at
  0 km. This is the right measure to say which communes are border communes.
- ``measure_from="representative_point"``: from a point inside the polygon
  (shapely ``point_on_surface``). This is the better stand-in for a record
  known only by its commune, whose true place may be anywhere in it.

For points the two are the same.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.units import code_column
from layers.layer import Caveat, Layer

__all__ = [
    "DEFAULT_BANDS",
    "DISTANCE_SCALE",
    "METRIC_CRS",
    "BandShares",
    "band_labels",
    "band_shares",
    "border_distance",
    "distance_bands",
    "gate_distances",
    "incident_points",
    "proximity_layer",
]

#: The metric CRS of every distance here: WGS 84 / UTM zone 48N.
METRIC_CRS = "EPSG:32648"
#: Band edges in km: 0–5, 5–15, 15–30, beyond 30.
DEFAULT_BANDS = (0.0, 5.0, 15.0, 30.0, math.inf)
#: Viridis from dark (near) to light (far): near the border reads darkest,
#: colour-blind safe and monotone in lightness for grey print.
DISTANCE_SCALE = (
    (0.0, "#440154"),
    (0.25, "#3b528b"),
    (0.5, "#21918c"),
    (0.75, "#5ec962"),
    (1.0, "#fde725"),
)

_WGS84 = "EPSG:4326"
_MEASURES = ("polygon", "representative_point")
_TARGETS = ("border", "gate")


@dataclass(frozen=True)
class BandShares:
    """How incidents spread over distance bands and gate catchments.

    Attributes
    ----------
    records : DataFrame
        One row per incident (the input's index): ``basis`` ("point" when
        measured from the record's own coordinate, "commune" when from its
        commune, missing when it could not be placed), ``distance_km`` (to
        the border or the nearest gate, per ``to``), ``band``,
        ``border_km``, ``gate_km``, ``gate_id`` (nearest gate).
    bands : DataFrame
        Indexed by band label (every band, in order): ``count``, ``share``
        (of the placed records; sums to 1), ``by_point``, ``by_commune``.
    catchments : DataFrame
        Indexed by ``gate_id`` (every gate given): ``name``, ``count``,
        ``share``, ``by_point``, ``by_commune``; a record belongs to the
        catchment of its nearest gate.
    to : {"border", "gate"}
        What the bands measure the distance to.
    commune_measure : {"representative_point", "polygon"}
        Where the commune-only records were measured from.
    n_by_point, n_by_commune, n_unplaced : int
        Records measured from their own point, from their commune, and left
        out (no point and no commune code).
    """

    records: pd.DataFrame
    bands: pd.DataFrame
    catchments: pd.DataFrame
    to: str
    commune_measure: str
    n_by_point: int
    n_by_commune: int
    n_unplaced: int


def incident_points(incidents: pd.DataFrame) -> gpd.GeoSeries:
    """Points (WGS84) of the records that carry a coordinate, indexed like ``incidents``.

    Records with ``lat`` or ``lon`` missing are left out: they are known only
    by their commune, and no point is invented for them.

    Examples
    --------
    >>> inc = pd.DataFrame({"lat": [11.08, None], "lon": [106.17, None]}, index=["a", "b"])
    >>> incident_points(inc).index.tolist()
    ['a']
    """
    lon, lat, index = _located(incidents)
    return gpd.GeoSeries(shapely.points(lon, lat), index=index, crs=_WGS84)


def _located(incidents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Longitudes, latitudes and index of the records that carry both."""
    lat = pd.to_numeric(incidents["lat"], errors="coerce")
    lon = pd.to_numeric(incidents["lon"], errors="coerce")
    located = (lat.notna() & lon.notna()).to_numpy()
    return lon.to_numpy()[located], lat.to_numpy()[located], incidents.index[located]


def _metric_points(incidents: pd.DataFrame) -> gpd.GeoSeries:
    """:func:`incident_points` in :data:`METRIC_CRS`, made once from transformed arrays.

    What ``to_crs`` does to the points (geopandas: the same pyproj transformer,
    ``always_xy``, on the same coordinates, then points of the results), without making
    the WGS84 points first: the same coordinates, to the bit (a test), for half the
    points' memory and time (a national selection has some 200,000).
    """
    from pyproj import Transformer

    lon, lat, index = _located(incidents)
    x, y = Transformer.from_crs(_WGS84, METRIC_CRS, always_xy=True).transform(lon, lat)
    return gpd.GeoSeries(shapely.points(x, y), index=index, crs=METRIC_CRS)


def gate_distances(
    features: gpd.GeoDataFrame | gpd.GeoSeries,
    gates: gpd.GeoDataFrame,
    *,
    measure_from: str = "polygon",
) -> pd.DataFrame:
    """Distance in km from each feature to its nearest gate, and which gate.

    Parameters
    ----------
    features : GeoDataFrame or GeoSeries
        Commune polygons or incident points, with a CRS (WGS84 from geo/).
    gates : GeoDataFrame
        Gate points with ``gate_id`` and ``name`` (``load_gates``); pass a
        subset (e.g. the international gates) to measure to those only.
    measure_from : {"polygon", "representative_point"}
        From the nearest point of each geometry (0 km for a commune holding a
        gate) or from a point inside it; see the module notes.

    Returns
    -------
    DataFrame
        Indexed like ``features``: ``gate_id``, ``gate_name``, ``gate_km``.
        On a tie the gate listed first wins (international gates come first).

    Examples
    --------
    >>> gates = gpd.GeoDataFrame({"gate_id": ["moc_bai"], "name": ["Mộc Bài"]},
    ...                          geometry=gpd.points_from_xy([106.17528], [11.07722]), crs=4326)
    >>> here = gpd.GeoSeries(gpd.points_from_xy([106.17528], [11.16722]), crs=4326)
    >>> gate_distances(here, gates).round(2).to_dict("records")
    [{'gate_id': 'moc_bai', 'gate_name': 'Mộc Bài', 'gate_km': 9.95}]
    """
    if len(gates) == 0:
        raise ValueError("no gates to measure to")
    missing = {"gate_id", "name"} - set(gates.columns)
    if missing:
        raise ValueError(f"gates lack columns {sorted(missing)}")
    geoms = _metric_geoms(features, measure_from)
    targets = _metric(gates.geometry).to_numpy()
    if len(geoms) == 0:
        nearest = np.zeros(0, dtype=int)
        km = np.zeros(0)
    else:
        matrix = shapely.distance(geoms[:, None], targets[None, :])
        nearest = np.argmin(matrix, axis=1)
        km = matrix[np.arange(len(geoms)), nearest] / 1000.0
    return pd.DataFrame(
        {
            "gate_id": gates["gate_id"].to_numpy()[nearest],
            "gate_name": gates["name"].to_numpy()[nearest],
            "gate_km": km,
        },
        index=features.index,
    )


def border_distance(
    features: gpd.GeoDataFrame | gpd.GeoSeries,
    border: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    measure_from: str = "polygon",
) -> pd.Series:
    """Distance in km from each feature to the border line.

    Parameters
    ----------
    features : GeoDataFrame or GeoSeries
        Commune polygons or incident points, with a CRS.
    border : GeoDataFrame or GeoSeries
        The border line(s) (``load_border``); all rows are merged.
    measure_from : {"polygon", "representative_point"}
        See :func:`gate_distances`.

    Returns
    -------
    Series
        ``border_km``, indexed like ``features``; 0 for a commune whose
        polygon touches the line.

    Examples
    --------
    >>> line = gpd.GeoSeries([shapely.LineString([(106.0, 11.0), (106.0, 11.5)])], crs=4326)
    >>> here = gpd.GeoSeries(gpd.points_from_xy([106.0, 106.1], [11.2, 11.2]), crs=4326)
    >>> border_distance(here, line).round(2).tolist()
    [0.0, 10.92]
    """
    geoms = _metric_geoms(features, measure_from)
    line = shapely.union_all(_metric(_geoseries(border)).to_numpy())
    if line.is_empty:
        raise ValueError("the border holds no line")
    return pd.Series(shapely.distance(geoms, line) / 1000.0, index=features.index, name="border_km")


def band_labels(bands: Sequence[float] = DEFAULT_BANDS) -> list[str]:
    """The labels of the bands: ``"0–5 km"`` …, ``"> 30 km"`` for an open last band.

    Examples
    --------
    >>> band_labels()
    ['0–5 km', '5–15 km', '15–30 km', '> 30 km']
    """
    edges = _check_bands(bands)
    labels = [f"{lo:g}–{hi:g} km" for lo, hi in itertools.pairwise(edges[:-1])]
    lo, hi = edges[-2], edges[-1]
    labels.append(f"> {lo:g} km" if math.isinf(hi) else f"{lo:g}–{hi:g} km")
    return labels


def distance_bands(km, bands: Sequence[float] = DEFAULT_BANDS) -> pd.Series:
    """The band of each distance, as an ordered categorical.

    Bands are closed on the right: a distance on an edge goes to the nearer
    band, so exactly 5 km is "0–5 km" (within 5 km) and exactly 30 km is
    "15–30 km" ("> 30 km" means strictly more). 0 km is in the first band.
    Distances beyond a finite last edge, and missing ones, get no band (NaN).

    Parameters
    ----------
    km : array-like or Series
        Distances in km, ≥ 0.
    bands : sequence of float
        Strictly increasing edges; the last may be ``inf``.

    Returns
    -------
    Series
        Ordered categorical with :func:`band_labels` as categories, indexed
        like ``km`` when it is a Series.

    Raises
    ------
    ValueError
        For a negative distance or edges that do not increase.

    Examples
    --------
    >>> distance_bands([0, 5, 5.001, 30, 30.001]).tolist()
    ['0–5 km', '0–5 km', '5–15 km', '15–30 km', '> 30 km']
    """
    edges = np.asarray(_check_bands(bands))
    index = km.index if isinstance(km, pd.Series) else None
    series = km if isinstance(km, pd.Series) else pd.Series(list(np.atleast_1d(km)), dtype=object)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if (values < 0).any():
        raise ValueError("distances cannot be negative")
    codes = np.searchsorted(edges, values, side="left") - 1
    codes[values == edges[0]] = 0
    codes[(codes < 0) | (codes >= len(edges) - 1) | np.isnan(values)] = -1
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=band_labels(bands), ordered=True),
        index=index,
        name="band",
    )


def band_shares(
    incidents: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame,
    border: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    to: str = "border",
    bands: Sequence[float] = DEFAULT_BANDS,
    unit_set: str = "2025",
    commune_measure: str = "representative_point",
) -> BandShares:
    """Share of incidents per distance band and per gate catchment.

    A record with a coordinate is measured from its point; a record known
    only by its commune from that commune (by default its representative
    point: measuring from the polygon would put every record of a border
    commune at 0 km). ``records["basis"]`` and the ``by_point`` /
    ``by_commune`` columns say which.

    Parameters
    ----------
    incidents : DataFrame
        ``lat``, ``lon`` (NaN when known only by commune) and the code column
        of ``unit_set``. Filter types and period first.
    communes : GeoDataFrame
        Commune polygons of ``unit_set`` indexed by code.
    gates : GeoDataFrame
        Gate points with ``gate_id`` and ``name``.
    border : GeoDataFrame or GeoSeries
        The border line.
    to : {"border", "gate"}
        Whether the bands measure the distance to the border or to the
        nearest gate (catchments always use the nearest gate).
    bands : sequence of float
        Band edges in km, see :func:`distance_bands`.
    unit_set : {"2025", "legacy"}
    commune_measure : {"representative_point", "polygon"}
        Where commune-only records are measured from.

    Returns
    -------
    BandShares

    Raises
    ------
    ValueError
        For commune-only records whose code is not among ``communes``.

    Examples
    --------
    >>> communes = gpd.GeoDataFrame({"name": ["A"]}, index=["00001"], crs=4326,
    ...     geometry=[shapely.box(106.0, 11.0, 106.2, 11.2)])
    >>> gates = gpd.GeoDataFrame({"gate_id": ["g"], "name": ["G"]}, crs=4326,
    ...     geometry=gpd.points_from_xy([106.0], [11.1]))
    >>> border = gpd.GeoSeries([shapely.LineString([(106.0, 11.0), (106.0, 11.2)])], crs=4326)
    >>> inc = pd.DataFrame({"lat": [11.1, 11.1, None], "lon": [106.01, 106.19, None],
    ...                     "new_code": ["00001"] * 3})
    >>> shares = band_shares(inc, communes, gates, border)
    >>> shares.bands[["count", "by_point", "by_commune"]].to_dict("index")["0–5 km"]
    {'count': 1, 'by_point': 1, 'by_commune': 0}
    >>> shares.bands["share"].round(3).tolist()
    [0.333, 0.333, 0.333, 0.0]
    """
    if to not in _TARGETS:
        raise ValueError(f"to must be one of {_TARGETS}, not {to!r}")
    _check_measure(commune_measure)
    if not incidents.index.is_unique:
        raise ValueError("incidents need a unique index: records are reported by it")
    column = code_column(unit_set)
    missing = {"lat", "lon", column} - set(incidents.columns)
    if missing:
        raise ValueError(f"incidents lack columns {sorted(missing)}")

    # in metres once for both distances (each would reproject what it is given; a
    # metric series it takes as it is): the same coordinates, a third of the work
    points = _metric_points(incidents)
    by_point = gate_distances(points, gates).join(border_distance(points, border))
    by_point["basis"] = "point"

    rest = incidents.loc[~incidents.index.isin(points.index), column]
    has_code = _written(rest)
    codes = rest[has_code].astype(str)
    unknown = pd.Index(codes.unique()).difference(communes.index)
    if len(unknown):
        raise ValueError(
            f"commune-only records name codes not among the {unit_set} communes: "
            f"{list(unknown[:10])}"
        )
    used = _metric(communes.loc[communes.index.isin(codes.unique())])
    per_commune = gate_distances(used, gates, measure_from=commune_measure).join(
        border_distance(used, border, measure_from=commune_measure)
    )
    by_commune = per_commune.reindex(codes.to_numpy()).set_axis(codes.index)
    by_commune["basis"] = "commune"

    parts = [df for df in (by_point, by_commune) if len(df)]
    placed = pd.concat(parts) if parts else by_point
    records = placed.reindex(incidents.index)
    records["distance_km"] = records["border_km" if to == "border" else "gate_km"]
    records["band"] = distance_bands(records["distance_km"], bands)
    records = records[["basis", "distance_km", "band", "border_km", "gate_km", "gate_id"]]

    labels = band_labels(bands)
    band_table = _tally(records, "band", pd.Index(labels, name="band"))
    catch_table = _tally(records, "gate_id", pd.Index(gates["gate_id"], name="gate_id"))
    catch_table.insert(0, "name", gates.set_index("gate_id")["name"].reindex(catch_table.index))
    return BandShares(
        records=records,
        bands=band_table,
        catchments=catch_table,
        to=to,
        commune_measure=commune_measure,
        n_by_point=len(by_point),
        n_by_commune=len(by_commune),
        n_unplaced=int((~has_code).sum()),
    )


def proximity_layer(
    communes: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame,
    border: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    to: str = "border",
    measure_from: str = "polygon",
    bands: Sequence[float] = DEFAULT_BANDS,
    unit_set: str = "2025",
    caveats: Iterable[Caveat] = (),
) -> Layer:
    """Each commune's distance to the border or to its nearest gate, as a map layer.

    Parameters
    ----------
    communes : GeoDataFrame
        Commune polygons of ``unit_set`` indexed by code, with ``name``.
    gates : GeoDataFrame
        Gate points with ``gate_id`` and ``name``.
    border : GeoDataFrame or GeoSeries
    to : {"border", "gate"}
        Which distance colours the map.
    measure_from : {"polygon", "representative_point"}
        Polygon (default): a border commune is at 0 km, a commune holding a
        gate at 0 km from it.
    bands : sequence of float
        Edges of the ``band`` column.
    unit_set : {"2025", "legacy"}
    caveats : iterable of Caveat

    Returns
    -------
    Layer
        ``frame`` per commune: ``name``, ``distance_km`` (the value),
        ``band``, ``border_km``, ``gate_km``, ``gate_id``, ``gate_name``.
        Title ``layer.proximity.title``, legend ``layer.proximity.legend``,
        units ``unit.km``, dark near and light far.

    Examples
    --------
    >>> communes = gpd.GeoDataFrame({"name": ["A", "B"]}, index=["00001", "00002"], crs=4326,
    ...     geometry=[shapely.box(106.0, 11.0, 106.1, 11.1), shapely.box(106.1, 11.0, 106.2, 11.1)])
    >>> gates = gpd.GeoDataFrame({"gate_id": ["g"], "name": ["G"]}, crs=4326,
    ...     geometry=gpd.points_from_xy([106.0], [11.05]))
    >>> border = gpd.GeoSeries([shapely.LineString([(106.0, 10.9), (106.0, 11.2)])], crs=4326)
    >>> layer = proximity_layer(communes, gates, border)
    >>> layer.frame["distance_km"].round(2).tolist(), layer.frame["band"].tolist()
    ([0.0, 10.92], ['0–5 km', '5–15 km'])
    """
    if to not in _TARGETS:
        raise ValueError(f"to must be one of {_TARGETS}, not {to!r}")
    code_column(unit_set)
    to_gate = gate_distances(communes, gates, measure_from=measure_from)
    to_border = border_distance(communes, border, measure_from=measure_from)
    frame = pd.DataFrame({"name": communes["name"]}, index=communes.index)
    frame["distance_km"] = to_border if to == "border" else to_gate["gate_km"]
    frame["band"] = distance_bands(frame["distance_km"], bands)
    frame["border_km"] = to_border
    frame[["gate_km", "gate_id", "gate_name"]] = to_gate[["gate_km", "gate_id", "gate_name"]]
    return Layer(
        frame=frame,
        value="distance_km",
        unit_set=unit_set,
        kind="proximity",
        title_key="layer.proximity.title",
        legend_key="layer.proximity.legend",
        units_key="unit.km",
        params={
            "to": to,
            "measure_from": measure_from,
            "bands": tuple(band_labels(bands)),
            "gates": tuple(gates["gate_id"]),
        },
        colorscale=DISTANCE_SCALE,
        caveats=tuple(caveats),
    )


# -- private helpers ---------------------------------------------------------




def _check_measure(measure_from: str) -> None:
    if measure_from not in _MEASURES:
        raise ValueError(f"measure_from must be one of {_MEASURES}, not {measure_from!r}")


def _check_bands(bands: Sequence[float]) -> list[float]:
    edges = [float(b) for b in bands]
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"band edges must be at least two, strictly increasing: {bands!r}")
    if edges[0] < 0 or math.isinf(edges[0]):
        raise ValueError(f"the first band edge must be a distance ≥ 0: {bands!r}")
    return edges


def _written(codes: pd.Series) -> pd.Series:
    """True where a commune code is written: not missing, not blank once stripped.

    Read once per distinct value (a few thousand codes) rather than once per record (a
    national selection has a hundred thousand records known only by their commune): the
    same answer, as it depends on the value alone.
    """
    ids, distinct = pd.factorize(codes, use_na_sentinel=True)  # missing values: -1
    written = pd.Series(distinct, dtype=object).astype(str).str.strip().ne("").to_numpy()
    return pd.Series(np.append(written, False)[ids], index=codes.index)


def _geoseries(data: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    return data.geometry if isinstance(data, gpd.GeoDataFrame) else data


def _metric(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    if geoms.crs is None:
        raise ValueError("geometry without CRS: is it in WGS84 (EPSG:4326)?")
    return geoms.to_crs(METRIC_CRS)


def _metric_geoms(features: gpd.GeoDataFrame | gpd.GeoSeries, measure_from: str) -> np.ndarray:
    """The features in UTM 48N as an array, reduced to a point inside when asked."""
    _check_measure(measure_from)
    geoms = _metric(_geoseries(features)).to_numpy()
    if measure_from == "representative_point":
        geoms = shapely.point_on_surface(geoms)
    return geoms


def _tally(records: pd.DataFrame, column: str, index: pd.Index) -> pd.DataFrame:
    """Counts and shares of the placed records by ``column``, split by basis."""
    placed = records[records["basis"].notna()]
    table = pd.crosstab(placed[column].astype(object), placed["basis"]) if len(placed) else None
    out = pd.DataFrame(index=index)
    for basis in ("point", "commune"):
        got = table[basis] if table is not None and basis in table else pd.Series(dtype=int)
        out[f"by_{basis}"] = got.reindex(index, fill_value=0).astype(int).to_numpy()
    out.insert(0, "count", out["by_point"] + out["by_commune"])
    total = int(out["count"].sum())
    out.insert(1, "share", out["count"] / total if total else np.nan)
    return out
