"""Near-repeat patterns (lặp lại gần): a Knox test over distance × time bands, and originators.

An event followed within a short distance and a short time by another, more
often than the places and the dates of all events would give by chance, is
a *near repeat*: a crossing route used again the next week, tips about one
place clustering over a fortnight. The Knox test (Knox 1964; Ratcliffe's
Near Repeat Calculator) counts the pairs of located records in each band of
distance (e.g. 0–1, 1–2, 2–5 km) and of time between them (0–7, 8–14, 15–30
days) and compares the count with what permuting the dates over the places
gives:

- **observed**: pairs of records whose distance (metres in UTM 48N,
  :data:`geo.approx_boundaries.METRIC_CRS`) lies in the distance band
  (``lo < d <= hi``, the first band from 0 inclusive) and whose days apart lie
  in the day band (whole days, ``lo..hi`` inclusive: 0–7, 8–14, 15–30);
- **expected**: the exact mean of that count when the dates are permuted over
  the places (each unordered pair of places gets a uniformly drawn pair of
  dates): ``pairs in the distance band × pairs in the day band / all pairs``,
  as pointpats' ``Knox.expected`` (``NS × NT / pairs``), not a Monte-Carlo
  estimate;
- **p-value**: of an excess, from ``permutations`` random permutations of the
  dates (seeded), :func:`layers.inference.excess_p` (pointpats' ``p_sim``);
  a band is *significant* when its p-value passes the Benjamini–Hochberg
  threshold over all the bands at ``alpha`` (:func:`layers.inference.fdr_threshold`)
  and its count is above the expected one.

The permutation keeps where the records are and when they are (the gates'
clusters, the campaign's peak): only their pairing is tested. It says nothing
of why records repeat; the records are detections, so a patrol returning to a
place where it found a crossing makes near repeats by itself (docs/near_repeat.md).

The significant bands make a **window**: up to the farthest distance and the
longest time of the significant bands (e.g. "within 2 km in the next 14
days"). Each record whose window is still open on the reference day (its date
+ the window's days ≥ that day) is a likely **originator** (:func:`originators`).

scipy's k-d tree is imported where the pairs are counted: a server starts without scipy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj

from geo.approx_boundaries import METRIC_CRS
from layers.inference import excess_p, fdr_threshold

__all__ = [
    "DAY_EDGES",
    "DISTANCE_EDGES_KM",
    "MAX_BANDS",
    "MAX_DAYS",
    "MAX_DISTANCE_KM",
    "MIN_RECORDS",
    "NEAR_REPEAT_TYPES",
    "BandError",
    "Bands",
    "NearRepeat",
    "NearRepeatError",
    "knox_test",
    "originators",
    "parse_edges",
]

#: The record kinds that happen at a place on a day: crossings and tips (victims carry no point).
NEAR_REPEAT_TYPES = ("illegal_crossing", "tip")
#: Default upper edges of the distance bands (km): 0–1, 1–2, 2–5 km.
DISTANCE_EDGES_KM = (1.0, 2.0, 5.0)
#: Default upper edges of the day bands: 0–7, 8–14, 15–30 days apart.
DAY_EDGES = (7, 14, 30)
#: The largest distance (km) and time (days) a band may reach, and the most bands per axis:
#: beyond a district's width or a year, a "near" repeat is no longer near.
MAX_DISTANCE_KM = 50.0
MAX_DAYS = 365
MAX_BANDS = 6
#: Fewer located records than this: no test (a handful of pairs decides nothing).
MIN_RECORDS = 20
_WGS84 = "EPSG:4326"
_CHUNK_CELLS = 4_000_000  # pair × permutation gaps held at once (32 MB)


class BandError(ValueError):
    """Bands that cannot be tested; ``key`` and ``params`` name the reason for the user."""

    def __init__(self, key: str, **params):
        super().__init__(f"{key}: {params}")
        self.key = key
        self.params = params


class NearRepeatError(ValueError):
    """Records on which no Knox test can be run; ``key`` and ``params`` say why."""

    def __init__(self, key: str, **params):
        super().__init__(f"{key}: {params}")
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Bands:
    """Upper edges of the distance bands (km) and of the day bands (whole days).

    Bands are ``[0, e1], (e1, e2], …`` for distances and ``0..e1, e1+1..e2, …`` for days.

    >>> Bands((1.0, 2.0, 5.0), (7, 14, 30)).day_labels()
    ['0–7', '8–14', '15–30']
    """

    distance_km: tuple[float, ...] = DISTANCE_EDGES_KM
    days: tuple[int, ...] = DAY_EDGES

    def __post_init__(self):
        _check_edges(self.distance_km, MAX_DISTANCE_KM, "distance")
        _check_edges(self.days, MAX_DAYS, "days")
        if any(float(d) != int(d) for d in self.days):
            raise BandError("nr.band.whole_days")

    def distance_bounds(self) -> list[tuple[float, float]]:
        """(lower, upper) km of each distance band."""
        edges = (0.0, *map(float, self.distance_km))
        return list(zip(edges[:-1], edges[1:]))

    def day_bounds(self) -> list[tuple[int, int]]:
        """(first, last) day apart of each day band, both included."""
        ends = [int(d) for d in self.days]
        return [(0 if k == 0 else ends[k - 1] + 1, e) for k, e in enumerate(ends)]

    def day_labels(self) -> list[str]:
        return [f"{a}–{b}" for a, b in self.day_bounds()]


def _check_edges(edges, maximum: float, axis: str) -> None:
    values = list(edges)
    if not values:
        raise BandError("nr.band.empty", axis=axis)
    if len(values) > MAX_BANDS:
        raise BandError("nr.band.too_many", axis=axis, most=MAX_BANDS)
    if any(not np.isfinite(v) for v in values):
        raise BandError("nr.band.not_number", axis=axis)
    if any(v <= 0 for v in values):
        raise BandError("nr.band.not_positive", axis=axis)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise BandError("nr.band.not_increasing", axis=axis)
    if values[-1] > maximum:
        raise BandError("nr.band.too_large", axis=axis, most=maximum)


def parse_edges(text: str | None, *, axis: str) -> tuple[float, ...]:
    """Band edges as a user types them, checked: "1; 2; 5", "1, 2, 5", "0,5; 1,5", "1 2 5".

    A semicolon, a comma followed by a space, or spaces separate the edges; a
    comma inside a number is the Vietnamese decimal comma (``0,5`` km), except
    for days, which are whole numbers, and in a text of several commas and no
    other separator ("7,14,30").

    >>> parse_edges("1; 2; 5", axis="distance"), parse_edges("0,5; 1,5", axis="distance")
    ((1.0, 2.0, 5.0), (0.5, 1.5))
    >>> parse_edges("7,14,30", axis="days"), parse_edges("1, 2.5", axis="distance")
    ((7.0, 14.0, 30.0), (1.0, 2.5))
    """
    raw = str(text or "").strip()
    if not raw:
        raise BandError("nr.band.empty", axis=axis)
    if ";" in raw:
        parts = [p.strip().replace(",", ".") for p in raw.split(";")]
    elif ", " in raw or axis == "days" or raw.count(",") > 1:
        parts = raw.replace(",", " ").split()
    else:
        parts = [p.replace(",", ".") for p in raw.split()]
    try:
        values = tuple(float(p) for p in parts if p)
    except ValueError:
        raise BandError("nr.band.not_number", axis=axis) from None
    _check_edges(values, MAX_DAYS if axis == "days" else MAX_DISTANCE_KM, axis)
    if axis == "days" and any(v != int(v) for v in values):
        raise BandError("nr.band.whole_days")
    return values


@dataclass(frozen=True)
class NearRepeat:
    """The Knox test of one set of records over one set of bands.

    Attributes
    ----------
    table : DataFrame
        One row per (distance band, day band): ``d_lo``, ``d_hi`` (km), ``t_lo``,
        ``t_hi`` (days), ``observed``, ``expected``, ``ratio`` (observed /
        expected, NaN where nothing is expected), ``p_value``, ``significant``.
    bands : Bands
    n_records : int
        Located records tested.
    n_pairs : int
        All unordered pairs of them.
    permutations, seed : int
    alpha : float
    fdr_threshold : float
        The Benjamini–Hochberg critical p-value over the bands.
    window_km, window_days : float or None
        The near-repeat window (the farthest and the longest significant band), or
        None when no band shows a significant excess.
    first, last : datetime.date
        The dates of the earliest and the latest record tested.
    """

    table: pd.DataFrame
    bands: Bands
    n_records: int
    n_pairs: int
    permutations: int
    seed: int
    alpha: float
    fdr_threshold: float
    window_km: float | None
    window_days: int | None
    first: dt.date
    last: dt.date


def _located(records: pd.DataFrame, types) -> pd.DataFrame:
    missing = {"date", "lat", "lon"} - set(records.columns)
    if missing:
        raise ValueError(f"records lack columns {sorted(missing)}")
    frame = records
    if types is not None and "type" in frame:
        frame = frame[frame["type"].isin(tuple(types))]
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    date = pd.to_datetime(frame["date"], errors="coerce")
    keep = lat.notna() & lon.notna() & date.notna()
    out = frame.loc[keep].copy()
    out["lat"], out["lon"], out["date"] = lat[keep], lon[keep], date[keep].dt.normalize()
    return out


def _metric_xy(located: pd.DataFrame) -> np.ndarray:
    to_metric = pyproj.Transformer.from_crs(_WGS84, METRIC_CRS, always_xy=True)
    x, y = to_metric.transform(located["lon"].to_numpy(float), located["lat"].to_numpy(float))
    return np.column_stack([x, y])


def _check_records(located: pd.DataFrame, xy: np.ndarray, min_records: int) -> None:
    n = len(located)
    if n == 0:
        raise NearRepeatError("nr.error.no_located")
    if n < min_records:
        raise NearRepeatError("nr.error.too_few", n=n, least=min_records)
    if len(np.unique(np.round(xy, 1), axis=0)) == 1:
        raise NearRepeatError("nr.error.one_place", n=n)
    if located["date"].nunique() == 1:
        raise NearRepeatError("nr.error.one_day", n=n)


def _day_pair_counts(days: np.ndarray) -> np.ndarray:
    """Unordered pairs of records ``g`` days apart, for every ``g`` (index = gap)."""
    counts = np.bincount(days)
    by_gap = np.correlate(counts, counts, mode="full")[len(counts) - 1:].astype(float)
    by_gap[0] = float((counts * (counts - 1) // 2).sum())
    return by_gap


def _permuted_counts(days: np.ndarray, i: np.ndarray, j: np.ndarray, d_band: np.ndarray,
                     day_edges: np.ndarray, cells: int, permutations: int,
                     rng: np.random.Generator) -> np.ndarray:
    """Counts per band cell under ``permutations`` random permutations of the dates:
    cells × permutations (the last day band "beyond" dropped by the caller).

    Vectorised over the pairs and a chunk of permutations at once; a gap's day band is
    read from a table of every possible gap (cheaper than a search per pair).
    """
    n_t = len(day_edges) + 1
    out = np.zeros((permutations, cells), dtype=np.int64)
    if len(i) == 0:
        return out.T
    days = days.astype(np.int32)
    band_of_gap = np.searchsorted(day_edges, np.arange(int(days.max()) + 1),
                                  side="left").astype(np.int32)
    base = (d_band * n_t).astype(np.int32)
    chunk = max(1, _CHUNK_CELLS // len(i))
    for start in range(0, permutations, chunk):
        k = min(chunk, permutations - start)
        shuffled = rng.permuted(np.broadcast_to(days, (k, len(days))), axis=1)
        cell = band_of_gap[np.abs(shuffled[:, i] - shuffled[:, j])]
        cell += base
        cell += (np.arange(k, dtype=np.int32) * cells)[:, None]
        out[start:start + k] = np.bincount(cell.ravel(), minlength=k * cells).reshape(k, cells)
    return out.T


def knox_test(
    records: pd.DataFrame,
    bands: Bands | None = None,
    *,
    types=NEAR_REPEAT_TYPES,
    permutations: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
    min_records: int = MIN_RECORDS,
) -> NearRepeat:
    """The Knox test of the located records over distance × day bands.

    Parameters
    ----------
    records : DataFrame
        ``date``, ``lat``, ``lon`` (WGS 84; NaN when the record is known only by
        its commune: left out) and ``type``; other columns are kept for
        :func:`originators`.
    bands : Bands, optional
        Default 0–1 / 1–2 / 2–5 km × 0–7 / 8–14 / 15–30 days.
    types : tuple of str or None
        The record types tested (default crossings and tips); None: all.
    permutations : int
        Random permutations of the dates over the places (at least 19).
    seed : int
        Seed of the permutations: the same seed gives the same p-values.
    alpha : float
        False discovery rate over the bands.
    min_records : int
        Fewest located records tested.

    Returns
    -------
    NearRepeat

    Raises
    ------
    NearRepeatError
        No located record, fewer than ``min_records``, all at one place, all on one day.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> recs = pd.DataFrame({"date": pd.Timestamp("2025-01-01")
    ...                      + pd.to_timedelta(rng.integers(0, 200, 60), unit="D"),
    ...                      "lat": 11.1 + rng.random(60) * 0.2, "lon": 106.0 + rng.random(60) * 0.2,
    ...                      "type": "tip"})
    >>> result = knox_test(recs, permutations=99, seed=3)
    >>> result.n_records, result.n_pairs, len(result.table)
    (60, 1770, 9)
    >>> bool((result.table["expected"] > 0).all())
    True
    """
    from scipy.spatial import cKDTree

    bands = bands or Bands()
    if int(permutations) < 19:
        raise ValueError("permutations must be at least 19 (a p-value of 0.05 needs 19)")
    permutations = int(permutations)
    located = _located(records, types)
    xy = _metric_xy(located) if len(located) else np.empty((0, 2))
    _check_records(located, xy, min_records)

    day0 = located["date"].min()
    days = ((located["date"] - day0).dt.days).to_numpy(np.int64)
    n = len(days)
    n_pairs = n * (n - 1) // 2
    d_edges = np.asarray(bands.distance_km, float) * 1000.0
    t_edges = np.asarray(bands.days, np.int64)
    n_s, n_t = len(d_edges), len(t_edges)

    pairs = cKDTree(xy).query_pairs(r=float(d_edges[-1]), output_type="ndarray")
    i, j = (pairs[:, 0], pairs[:, 1]) if len(pairs) else (np.empty(0, int), np.empty(0, int))
    dist = np.hypot(*(xy[i] - xy[j]).T) if len(i) else np.empty(0)
    inside = dist <= d_edges[-1]
    i, j, dist = i[inside], j[inside], dist[inside]
    d_band = np.searchsorted(d_edges, dist, side="left")

    cells = n_s * (n_t + 1)  # the last day column: pairs farther apart in time than the bands
    gaps = np.abs(days[i] - days[j])
    observed = np.bincount(d_band * (n_t + 1) + np.searchsorted(t_edges, gaps, side="left"),
                           minlength=cells).reshape(n_s, n_t + 1)[:, :n_t]

    # the exact expectation under the permutation null (pointpats' NS × NT / pairs)
    spatial = np.bincount(d_band, minlength=n_s).astype(float)
    by_gap = _day_pair_counts(days)
    gap_band = np.searchsorted(t_edges, np.arange(len(by_gap)), side="left")
    temporal = np.bincount(gap_band, weights=by_gap, minlength=n_t + 1)[:n_t]
    expected = np.outer(spatial, temporal) / n_pairs

    rng = np.random.default_rng(seed)
    simulated = _permuted_counts(days, i, j, d_band, t_edges, cells, permutations, rng)
    simulated = simulated.reshape(n_s, n_t + 1, permutations)[:, :n_t, :]
    p_value = excess_p(observed, simulated)
    threshold = fdr_threshold(p_value.ravel(), alpha)
    significant = (p_value <= threshold) & (observed > expected)

    d_bounds, t_bounds = bands.distance_bounds(), bands.day_bounds()
    rows = []
    for s, (d_lo, d_hi) in enumerate(d_bounds):
        for t, (t_lo, t_hi) in enumerate(t_bounds):
            e = float(expected[s, t])
            rows.append({
                "d_band": f"{_km(d_lo)}–{_km(d_hi)}", "t_band": f"{t_lo}–{t_hi}",
                "d_lo": d_lo, "d_hi": d_hi, "t_lo": t_lo, "t_hi": t_hi,
                "observed": int(observed[s, t]), "expected": e,
                "ratio": float(observed[s, t]) / e if e > 0 else np.nan,
                "p_value": float(p_value[s, t]), "significant": bool(significant[s, t]),
            })
    table = pd.DataFrame(rows)
    hits = table[table["significant"]]
    return NearRepeat(
        table=table, bands=bands, n_records=n, n_pairs=n_pairs, permutations=permutations,
        seed=int(seed), alpha=float(alpha), fdr_threshold=float(threshold),
        window_km=float(hits["d_hi"].max()) if len(hits) else None,
        window_days=int(hits["t_hi"].max()) if len(hits) else None,
        first=day0.date(), last=located["date"].max().date(),
    )


def _km(value: float) -> str:
    return f"{value:g}"


def originators(records: pd.DataFrame, result: NearRepeat, *, on: dt.date,
                types=NEAR_REPEAT_TYPES) -> pd.DataFrame:
    """The records whose near-repeat window is still open on ``on``.

    A record dated ``d`` (``d <= on``) opens the window "within ``window_km`` in
    the next ``window_days`` days"; it is a likely originator on ``on`` when
    ``d + window_days >= on``. No window (no significant band): none.

    Parameters
    ----------
    records : DataFrame
        The records the test was run on (``date``, ``lat``, ``lon``, ``type``, and
        ``record_id`` when present).
    result : NearRepeat
    on : datetime.date
        The reference day (the end of the period looked at).

    Returns
    -------
    DataFrame
        ``record_id``, ``type``, ``date``, ``lat``, ``lon``, ``until`` (last day of the
        window), ``radius_km``, ``days_left`` (from ``on``), ``followers`` (later
        records already inside its window, up to ``on``), newest first.
    """
    from scipy.spatial import cKDTree

    columns = ["record_id", "type", "date", "lat", "lon", "until", "radius_km", "days_left",
               "followers"]
    if result.window_days is None:
        return pd.DataFrame(columns=columns)
    located = _located(records, types)
    on_ts = pd.Timestamp(on)
    located = located[located["date"] <= on_ts]
    window = pd.Timedelta(days=result.window_days)
    recent = located[located["date"] + window >= on_ts]
    if recent.empty:
        return pd.DataFrame(columns=columns)
    xy_all = _metric_xy(located)
    xy_recent = _metric_xy(recent)
    tree = cKDTree(xy_all)
    near = tree.query_ball_point(xy_recent, r=result.window_km * 1000.0)
    dates = located["date"].to_numpy()
    followers = []
    for k, (date, hits) in enumerate(zip(recent["date"].to_numpy(), near)):
        hits = np.asarray(hits, dtype=int)
        later = (dates[hits] > date) & (dates[hits] <= date + window.to_timedelta64())
        followers.append(int(later.sum()))
    out = pd.DataFrame({
        "record_id": recent["record_id"].astype(str).to_numpy() if "record_id" in recent
        else recent.index.astype(str).to_numpy(),
        "type": recent["type"].to_numpy() if "type" in recent else "",
        "date": recent["date"].to_numpy(),
        "lat": recent["lat"].to_numpy(), "lon": recent["lon"].to_numpy(),
    })
    out["until"] = out["date"] + window
    out["radius_km"] = result.window_km
    out["days_left"] = (out["until"] - on_ts).dt.days
    out["followers"] = followers
    return out.sort_values(["date", "record_id"], ascending=[False, True], ignore_index=True)
