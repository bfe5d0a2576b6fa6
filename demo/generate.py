"""The synthetic records of the demo: drawn from a risk surface round the gates and the border.

See :mod:`demo` for what the dataset holds and why. Every record names a unit drawn
from the registry; how it writes that unit (a point, the code, a name) is
:mod:`demo.written`'s. Nothing here resolves records: the import does, once
(:func:`demo.load.import_demo`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from demo.agencies import (BORDER_GUARD, COMMUNE_PC, COMMUNE_POLICE, HOME_AFFAIRS, JUSTICE,
                           LABOUR, LABOUR_MERGER, POLICE, WOMEN, YOUTH)
from demo.written import commune_fields
from geo.units import MERGER_DATE, NEW, OLD, Registry

__all__ = ["DEFAULT_SEED", "DemoDataset", "commune_risk", "generate_demo"]

#: Seed of the bundled demo (the day the 2025 units took effect).
DEFAULT_SEED = 20250701

_METRIC = "EPSG:32648"  # UTM 48N: distances and buffers in metres
_WGS84 = "EPSG:4326"
_NOTE = {
    "vi": "DỮ LIỆU MÔ PHỎNG dùng để trình diễn, không phải số liệu thật; "
    "không chứa thông tin cá nhân.",
    "en": "SYNTHETIC demo data for demonstration only, not real records; "
    "contains no personal data.",
}

# -- how the world is shaped (all province-wide, none fitted to real records) --

_CAMPAIGN_MONTHS = (7, 8, 9)  # 01/7–30/9: peak campaign around the 30/7 national day
_CAMPAIGN_FACTOR = 1.8
_YEARLY_GROWTH = 0.08
_GATE_SCALE_KM = 8.0
_BORDER_SCALE_KM = 12.0
_GRID_M = 1000.0  # spacing of the grid a commune's mean risk is taken over
#: Weight of a gate in the risk surface: the two planted clusters, then by class.
_GATE_WEIGHT = {"moc_bai": 2.0, "xa_mat": 2.0}
_CLASS_WEIGHT = {"international": 1.0, "main": 0.6, "secondary": 0.4}
#: Points are drawn at least this far inside their commune (simplified screen shapes stay right).
_EDGE_M = 150.0
#: Illegal-crossing points lean towards the border line within their commune (scale, metres).
_CROSSING_PULL_M = 3000.0
#: On 01/3/2025 the provincial labour department (Sở LĐTBXH) merged into Sở Nội vụ.


@dataclass(frozen=True)
class _Kind:
    """One incident type: its base rate and how it is spread and reported."""

    monthly: float  # province-wide incidents a month in the first year, outside campaigns
    risk_power: float  # how sharply it follows the gate/border risk surface
    point_share: float  # share of records that carry a coordinate
    agencies: tuple[tuple[str, float], ...]


_KINDS = {
    "illegal_crossing": _Kind(38.0, 1.4, 0.45, ((BORDER_GUARD, 0.7), (POLICE, 0.3))),
    "tip": _Kind(
        16.0, 1.0, 0.35,
        ((POLICE, 0.35), (COMMUNE_POLICE, 0.25), (BORDER_GUARD, 0.25), (WOMEN, 0.15)),
    ),
    "trafficking_case": _Kind(2.6, 0.8, 0.0, ((POLICE, 0.75), (BORDER_GUARD, 0.25))),
    "victim": _Kind(2.2, 0.6, 0.0, ((LABOUR, 0.4), (BORDER_GUARD, 0.3), (WOMEN, 0.3))),
}
#: How a handled illegal crossing was handled (seed 004: of 41 cases, 27 sanctioned, 6
#: prosecuted, the rest warned, deported or still being verified).
_CROSSING_OUTCOMES = {"administrative_sanction": 0.66, "warning_education": 0.13,
                      "deportation": 0.06, "prosecuted": 0.15}
#: Mean days from a victim's verification to support, and from support to the return home.
_VICTIM_SUPPORT_DAYS, _VICTIM_RETURN_DAYS = 30.0, 60.0

#: format: (share outside / in campaigns, mean participants, mean materials, agencies)
_FORMATS = {
    "meeting": (0.32, 0.22, 60, 80, (COMMUNE_PC, WOMEN, POLICE, BORDER_GUARD)),
    "school_session": (0.16, 0.10, 180, 200, (YOUTH, POLICE)),
    "broadcast": (0.12, 0.10, 0, 0, (COMMUNE_PC,)),
    "leaflets": (0.12, 0.12, 0, 500, (BORDER_GUARD, WOMEN, COMMUNE_PC)),
    "social_media": (0.13, 0.12, 0, 0, (POLICE, YOUTH)),
    "training": (0.10, 0.06, 35, 40, (POLICE, LABOUR)),
    "campaign": (0.05, 0.28, 250, 300, (WOMEN, YOUTH, BORDER_GUARD)),
}
#: Formats added to the first seven (law books, job counselling, contests), drawn by the
#: second generator: format: (events a month province-wide, mean participants, mean
#: materials, agencies).
_MORE_FORMATS = {
    "law_books": (1.0, 0, 300, (JUSTICE, COMMUNE_PC)),
    "job_counselling": (4.0, 350, 0, (LABOUR,)),
    "contest": (0.6, 150, 0, (YOUTH, WOMEN)),
}
_OUTREACH_MONTHLY = 32.0  # province-wide events a month outside campaigns
_OUTREACH_CAMPAIGN_FACTOR = 2.2
_SEAT_FACTOR = 1.8  # wards and townships hold the agencies: more events there

#: model type: (base weight, agency)
_MODEL_TYPES = {
    "zalo_group": (3.0, POLICE),
    "hotline_keyring": (2.0, POLICE),
    "cultural_boarding_house": (1.0, POLICE),
    "security_camera": (2.0, COMMUNE_POLICE),
    "border_civil_defence": (2.5, BORDER_GUARD),
    "victim_support": (1.2, WOMEN),
    "other": (0.3, COMMUNE_PC),
}
_KEY_SHARE = 0.30  # the riskiest 30 % of communes are the key areas (địa bàn trọng điểm)
_INTENSIVE_SHARE = 0.30  # of key communes with an intensive model
_BORDER_MODEL_KM = 10.0  # border civil-defence squads only this close to the border
_MODEL_END_SHARE = 0.15

_PROVINCE_POPULATION = 2_900_000  # first year, all 96 communes
_DENSITY = {"phuong": 2200.0, "xa": 280.0}  # residents per km², before noise


@dataclass(frozen=True)
class DemoDataset:
    """The four interchange tables of the demo and its manifest.

    Attributes
    ----------
    incidents, outreach, models, population : pandas.DataFrame
        The tables exactly as written (dates as dd/mm/yyyy text, codes as text).
    manifest : dict
        ``synthetic`` (always True), ``note`` (``vi``/``en``), ``seed``,
        ``generated_by``, ``period``, ``unit_sets``, ``rows`` and
        ``incidents_by_type``.
    drawn : pandas.DataFrame or None
        The unit each incident was drawn for (``record_id``, ``unit_set``, ``unit``);
        not written to the files: what the import's placement is checked against.
    """

    incidents: pd.DataFrame
    outreach: pd.DataFrame
    models: pd.DataFrame
    population: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    drawn: pd.DataFrame | None = None


def generate_demo(
    registry: Registry,
    communes_new: gpd.GeoDataFrame,
    communes_old: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame,
    border: gpd.GeoDataFrame,
    *,
    seed: int = DEFAULT_SEED,
    start: dt.date = dt.date(2022, 1, 1),
    end: dt.date = dt.date(2025, 12, 31),
) -> DemoDataset:
    """Generate the synthetic demo dataset (dữ liệu mô phỏng).

    Parameters
    ----------
    registry : Registry
        The unit registry (:func:`geo.units.load_registry`).
    communes_new, communes_old : GeoDataFrame
        Commune polygons of the 2025 and the former units, WGS84, indexed by code.
    gates : GeoDataFrame
        Gate points (:func:`geo.gates.load_gates`), with ``gate_id`` and ``gate_class``.
    border : GeoDataFrame
        The border line (:func:`geo.boundaries.load_border`).
    seed : int
        Seed of the random generator: the same seed gives the same tables.
    start, end : date
        First and last day covered.

    Returns
    -------
    DemoDataset
        Incidents, outreach, models, population and the manifest.

    Raises
    ------
    RuntimeError
        If an outreach event or model names a unit outside its date's set (the
        demo is clean by construction; this would be a bug).

    Examples
    --------
    >>> from geo.config import Settings
    >>> from geo.boundaries import load_border, load_communes
    >>> from geo.gates import load_gates
    >>> from geo.units import load_registry
    >>> s = Settings()
    >>> demo = generate_demo(load_registry(), load_communes(s, "2025"),
    ...                      load_communes(s, "legacy"), load_gates(s), load_border(s))
    >>> demo.manifest["synthetic"], demo.incidents["record_id"].iloc[0]
    (True, 'DEMO-INC-000001')
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 1])  # outcomes, outreach figures, added formats
    risk = {
        NEW: commune_risk(communes_new, gates, border),
        OLD: commune_risk(communes_old, gates, border),
    }
    polygons = {NEW: communes_new, OLD: communes_old}
    incidents = _incidents(rng, extra, registry, polygons, risk, border, start, end)
    drawn = incidents[["record_id", "_set", "_unit"]].rename(
        columns={"_set": "unit_set", "_unit": "unit"})
    incidents = incidents.drop(columns=["_set", "_unit"])
    outreach = _outreach(rng, extra, registry, risk, start, end)
    models = _models(rng, registry, risk[NEW], start, end)
    for frame in (outreach, models):
        _check_codes(frame, registry)
    population = _population(rng, registry, start.year, end.year)
    manifest = _manifest(seed, start, end, incidents, outreach, models, population)
    return DemoDataset(incidents, outreach, models, population, manifest, drawn)


def commune_risk(
    communes: gpd.GeoDataFrame, gates: gpd.GeoDataFrame, border: gpd.GeoDataFrame
) -> pd.DataFrame:
    """How close each commune is to the gates and the border, and its mean risk.

    The risk surface is a floor plus terms decaying exponentially with the
    distance to the gates (8 km scale; Mộc Bài and Xa Mát weigh double, main
    gates less than international ones) and to the border line (12 km
    scale). A commune's ``risk`` is the mean of the surface over a 1 km grid
    inside it (its representative point when it is too small for the grid),
    so that expected counts are ``risk × area``, as for a point process.
    Distances are measured in UTM 48N.

    Parameters
    ----------
    communes : GeoDataFrame
        Commune polygons (either unit set), indexed by code.
    gates : GeoDataFrame
        Gate points with ``gate_id`` and ``gate_class``.
    border : GeoDataFrame
        The border line.

    Returns
    -------
    DataFrame
        Indexed like ``communes``: ``gate_km`` and ``border_km`` (from the
        representative point), ``area_km2`` and ``risk``.
    """
    shapes = communes.to_crs(_METRIC).geometry.to_numpy()
    sources = _RiskSources.of(gates, border)
    inside = shapely.point_on_surface(shapes)
    grid = _grid(shapely.total_bounds(shapes), _GRID_M)
    grid_idx, shape_idx = shapely.STRtree(shapes).query(grid, predicate="within")
    per_shape = np.bincount(shape_idx, minlength=len(shapes))
    total = np.bincount(shape_idx, weights=sources.intensity(grid[grid_idx]), minlength=len(shapes))
    risk = np.where(
        per_shape > 0, total / np.maximum(per_shape, 1), sources.intensity(inside)
    )
    return pd.DataFrame(
        {
            "gate_km": sources.gate_km(inside).min(axis=1),
            "border_km": shapely.distance(inside, sources.line) / 1e3,
            "area_km2": shapely.area(shapes) / 1e6,
            "risk": risk,
        },
        index=communes.index,
    )


@dataclass(frozen=True)
class _RiskSources:
    """Gates (metric points and weights) and the border line of the risk surface."""

    gates: np.ndarray
    weights: np.ndarray
    line: shapely.Geometry

    @classmethod
    def of(cls, gates: gpd.GeoDataFrame, border: gpd.GeoDataFrame) -> _RiskSources:
        weights = [
            _GATE_WEIGHT.get(gid, _CLASS_WEIGHT.get(cls_, 0.4))
            for gid, cls_ in zip(gates["gate_id"], gates["gate_class"], strict=True)
        ]
        return cls(
            gates=gates.to_crs(_METRIC).geometry.to_numpy(),
            weights=np.asarray(weights, dtype=float),
            line=shapely.union_all(border.to_crs(_METRIC).geometry.to_numpy()),
        )

    def gate_km(self, points: np.ndarray) -> np.ndarray:
        return shapely.distance(points[:, None], self.gates[None, :]) / 1e3

    def intensity(self, points: np.ndarray) -> np.ndarray:
        near_gate = (self.weights * np.exp(-self.gate_km(points) / _GATE_SCALE_KM)).max(axis=1)
        border_km = shapely.distance(points, self.line) / 1e3
        return 0.25 + 3.0 * near_gate + 1.2 * np.exp(-border_km / _BORDER_SCALE_KM)


def _grid(bounds: np.ndarray, step: float) -> np.ndarray:
    """Points of a square grid over ``bounds`` (metres), cell centres."""
    minx, miny, maxx, maxy = bounds
    xs = np.arange(minx + step / 2, maxx, step)
    ys = np.arange(miny + step / 2, maxy, step)
    gx, gy = np.meshgrid(xs, ys)
    return shapely.points(gx.ravel(), gy.ravel())


# -- time --------------------------------------------------------------------------


def _month_starts(start: dt.date, end: dt.date) -> np.ndarray:
    """First days of the months from ``start`` to ``end`` (datetime64[D])."""
    first = np.datetime64(start, "M")
    last = np.datetime64(end, "M")
    return np.arange(first, last + 1).astype("datetime64[D]")


def _month_lengths(months: np.ndarray) -> np.ndarray:
    return ((months.astype("datetime64[M]") + 1).astype("datetime64[D]") - months).astype(int)


def _month_factor(months: np.ndarray, start: dt.date, campaign: float) -> np.ndarray:
    """Seasonal peak in the campaign months times yearly growth."""
    month_no = months.astype("datetime64[M]").astype(int) % 12 + 1
    years = months.astype("datetime64[Y]").astype(int) + 1970 - start.year
    season = np.where(np.isin(month_no, _CAMPAIGN_MONTHS), campaign, 1.0)
    return season * (1.0 + _YEARLY_GROWTH) ** years


def _days_in(rng: np.random.Generator, months: np.ndarray, index: np.ndarray) -> np.ndarray:
    """A uniform day in each of the given months."""
    lengths = _month_lengths(months)[index]
    return months[index] + np.floor(rng.random(len(index)) * lengths).astype("timedelta64[D]")


def _unit_set_of(days: np.ndarray) -> np.ndarray:
    return np.where(days < np.datetime64(MERGER_DATE), OLD, NEW)


def _text_dates(days: np.ndarray) -> np.ndarray:
    return pd.DatetimeIndex(days).strftime("%d/%m/%Y").to_numpy(dtype=object)


# -- incidents ---------------------------------------------------------------------


def _incidents(rng, extra, registry, polygons, risk, border, start, end) -> pd.DataFrame:
    """The incident table with two private columns, ``_set`` and ``_unit`` (the unit drawn)."""
    frame = _incident_draws(rng, risk, start, end)
    lon, lat = _points(rng, frame, polygons, border)
    fields = commune_fields(rng, registry, frame, has_point=~np.isnan(lon))
    kinds = frame["type"].to_numpy()
    persons, victims = _counts(rng, kinds)
    return pd.DataFrame(
        {
            "record_id": [f"DEMO-INC-{i:06d}" for i in range(1, len(frame) + 1)],
            "date": _text_dates(frame["day"].to_numpy()),
            "type": kinds,
            **fields,
            "lat": np.round(lat, 5),
            "lon": np.round(lon, 5),
            "persons": persons,
            "victims": victims,
            "agency": _incident_agencies(rng, kinds, frame["day"].to_numpy()),
            "status": _status(rng, extra, kinds, frame["day"].to_numpy(), end),
            "_set": frame["unit_set"].to_numpy(),
            "_unit": frame["unit"].to_numpy(),
        }
    )


def _incident_draws(rng, risk, start, end) -> pd.DataFrame:
    """When, what and where: Poisson counts per month and type, communes drawn by risk."""
    months = _month_starts(start, end)
    kinds = list(_KINDS)
    lam = _month_factor(months, start, _CAMPAIGN_FACTOR)[:, None] * np.array(
        [_KINDS[k].monthly for k in kinds]
    )[None, :]
    counts = rng.poisson(lam)
    month_idx, kind_idx = np.nonzero(counts)
    reps = counts[month_idx, kind_idx]
    month_idx, kind_idx = np.repeat(month_idx, reps), np.repeat(kind_idx, reps)
    days = _days_in(rng, months, month_idx)
    keep = (days >= np.datetime64(start)) & (days <= np.datetime64(end))
    days, kind_idx = days[keep], kind_idx[keep]
    sets = _unit_set_of(days)
    units = np.empty(len(days), dtype=object)
    for unit_set in (OLD, NEW):
        table = risk[unit_set]
        for k, kind in enumerate(kinds):
            mask = (sets == unit_set) & (kind_idx == k)
            weight = table["risk"] ** _KINDS[kind].risk_power * table["area_km2"]
            units[mask] = rng.choice(table.index.to_numpy(), mask.sum(), p=weight / weight.sum())
    frame = pd.DataFrame(
        {"day": days, "type": np.array(kinds)[kind_idx], "unit_set": sets, "unit": units}
    )
    return frame.sort_values(["day", "type", "unit"], kind="stable", ignore_index=True)


def _points(rng, frame, polygons, border) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates for a share of crossings and tips, well inside the unit of the record's date.

    Returns lon and lat (NaN where the record has no point). A unit too small
    to hold a point ``_EDGE_M`` from its edge gives no points.
    """
    n = len(frame)
    share = frame["type"].map({k: v.point_share for k, v in _KINDS.items()}).to_numpy()
    wants = rng.random(n) < share
    inner = np.empty(n, dtype=object)
    for unit_set, gdf in polygons.items():
        shrunk = shapely.buffer(gdf.to_crs(_METRIC).geometry.to_numpy(), -_EDGE_M)
        lookup = pd.Series(shrunk, index=gdf.index)
        mask = (frame["unit_set"] == unit_set).to_numpy()
        inner[mask] = lookup.reindex(frame.loc[mask, "unit"]).to_numpy()
    usable = np.array([isinstance(g, shapely.Geometry) and not g.is_empty for g in inner])
    todo = np.flatnonzero(wants & usable)
    pull = (frame["type"] == "illegal_crossing").to_numpy()
    line = shapely.union_all(border.to_crs(_METRIC).geometry.to_numpy())
    x, y = _sample_inside(rng, inner, todo, pull, line)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    if len(todo):
        lon[todo], lat[todo] = pyproj.Transformer.from_crs(
            _METRIC, _WGS84, always_xy=True
        ).transform(x, y)
    return lon, lat


def _sample_inside(rng, inner, todo, pull, line, batch: int = 24, rounds: int = 40):
    """Metric x, y for the records ``todo``: uniform in their shrunk polygon, by rejection.

    Vectorised over records (``batch`` candidates each per round); candidates
    of the records flagged in ``pull`` are thinned with distance to the border
    line. A record still without a point after ``rounds`` takes its shrunk
    polygon's representative point.
    """
    geoms = inner[todo]
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    x, y = np.full(len(todo), np.nan), np.full(len(todo), np.nan)
    left = np.arange(len(todo))
    for _ in range(rounds):
        if not len(left):
            break
        lo, hi = bounds[left, :2], bounds[left, 2:]
        cx = lo[:, :1] + rng.random((len(left), batch)) * (hi[:, :1] - lo[:, :1])
        cy = lo[:, 1:] + rng.random((len(left), batch)) * (hi[:, 1:] - lo[:, 1:])
        ok = shapely.contains_xy(geoms[left][:, None], cx, cy)
        keep_prob = np.ones_like(cx)
        pulled = pull[todo[left]]
        if pulled.any():
            dist = shapely.distance(shapely.points(cx[pulled], cy[pulled]), line)
            keep_prob[pulled] = 0.2 + 0.8 * np.exp(-dist / _CROSSING_PULL_M)
        ok &= rng.random(cx.shape) < keep_prob
        found = ok.any(axis=1)
        first = ok.argmax(axis=1)
        rows = np.flatnonzero(found)
        x[left[rows]] = cx[rows, first[rows]]
        y[left[rows]] = cy[rows, first[rows]]
        left = left[~found]
    if len(left):  # slivers: the shrunk polygon's own representative point
        fallback = shapely.point_on_surface(geoms[left])
        x[left], y[left] = shapely.get_x(fallback), shapely.get_y(fallback)
    return x, y




def _counts(rng, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Persons involved (people crossing, suspects, people named in a tip) and victims."""
    persons = np.zeros(len(kinds), dtype=int)
    victims = np.zeros(len(kinds), dtype=int)
    crossing, case = kinds == "illegal_crossing", kinds == "trafficking_case"
    tip, victim = kinds == "tip", kinds == "victim"
    persons[crossing] = 1 + rng.poisson(1.8, crossing.sum())
    persons[case] = 1 + rng.poisson(1.0, case.sum())  # suspects (đối tượng)
    victims[case] = 1 + rng.poisson(1.2, case.sum())
    persons[tip] = rng.poisson(0.8, tip.sum())
    victims[victim] = 1 + rng.poisson(0.4, victim.sum())  # people received (tiếp nhận)
    persons[victim] = victims[victim]
    return persons, victims


def _incident_agencies(rng, kinds: np.ndarray, days: np.ndarray) -> np.ndarray:
    """The agency that recorded each incident; the labour department's successor after 01/3/2025."""
    out = np.empty(len(kinds), dtype=object)
    for kind, spec in _KINDS.items():
        mask = kinds == kind
        names = np.array([a for a, _ in spec.agencies], dtype=object)
        p = np.array([w for _, w in spec.agencies])
        out[mask] = names[rng.choice(len(names), mask.sum(), p=p / p.sum())]
    return _renamed_departments(out, days)


def _renamed_departments(agencies: np.ndarray, days: np.ndarray) -> np.ndarray:
    later = (agencies == LABOUR) & (days >= np.datetime64(LABOUR_MERGER))
    return np.where(later, HOME_AFFAIRS, agencies)


def _status(rng, extra, kinds: np.ndarray, days: np.ndarray, end: dt.date) -> np.ndarray:
    """How far each record has gone by ``end``: its one outcome (kết quả xử lý).

    A trafficking case is verified after about a month, prosecuted about
    three months later (one in twelve never is) and tried about eight months
    after that, so older cases have gone further. Other records are
    verified after a few weeks, except one in ten that never is: a tip then
    stays verified; a crossing is handled (:data:`_CROSSING_OUTCOMES`,
    drawn by ``extra``), one not yet handled is still being verified
    (``verified``); a victim not yet verified is received, and a verified
    one is supported about a month later and returned home about two months
    after that.
    """
    n = len(kinds)
    age = (np.datetime64(end, "D") - days).astype("timedelta64[D]").astype(int)
    verified = rng.exponential(30.0, n)
    prosecuted = verified + rng.exponential(90.0, n)
    prosecuted[rng.random(n) < 1 / 12] = np.inf
    tried = prosecuted + rng.exponential(240.0, n)
    stage = (verified <= age).astype(int) + (prosecuted <= age) + (tried <= age)
    out = np.array(["received", "verified", "prosecuted", "tried"], dtype=object)[stage]
    other = kinds != "trafficking_case"
    checked = (verified <= age / 2) & (rng.random(n) >= 0.1)
    out[other] = np.where(checked[other], "verified", "received")
    crossing = kinds == "illegal_crossing"
    names = np.array(list(_CROSSING_OUTCOMES), dtype=object)
    p = np.array(list(_CROSSING_OUTCOMES.values()))
    handled = names[extra.choice(len(names), n, p=p / p.sum())]
    out[crossing] = np.where(checked[crossing], handled[crossing], "verified")
    victim = kinds == "victim"
    supported = verified + extra.exponential(_VICTIM_SUPPORT_DAYS, n)
    returned = supported + extra.exponential(_VICTIM_RETURN_DAYS, n)
    later = np.where(returned <= age, "returned_home", np.where(supported <= age, "supported",
                                                               "verified"))
    out[victim] = np.where(checked[victim], later[victim], "received")
    return out


def _check_codes(frame: pd.DataFrame, registry: Registry) -> None:
    """Outreach and models name their commune by code: each must be a unit of its date's set."""
    date = pd.to_datetime(frame["date" if "date" in frame else "start_date"], format="%d/%m/%Y")
    old = (date < pd.Timestamp(MERGER_DATE)).to_numpy()
    known = np.where(old, frame["commune_code"].isin(registry.legacy.index),
                     frame["commune_code"].isin(registry.communes.index))
    if not known.all():
        wrong = frame["commune_code"][~known].head(3).tolist()
        raise RuntimeError(f"demo records name units outside their date's set: {wrong}")


# -- outreach ----------------------------------------------------------------------


def _outreach(rng, extra, registry, risk, start, end) -> pd.DataFrame:
    """Outreach events: more in risky communes, at the agencies' seats and in campaign months.

    The first seven formats are drawn by ``rng``; ``extra`` draws their
    figures (:func:`_figures`) and the events of the added formats
    (:data:`_MORE_FORMATS`), which follow after them with the next ids.
    """
    frame = _outreach_places(rng, registry, risk, start, end, _OUTREACH_MONTHLY)
    first = _describe_outreach(rng, registry, frame)
    rate = sum(spec[0] for spec in _MORE_FORMATS.values())
    more = _describe_more_outreach(
        extra, registry, _outreach_places(extra, registry, risk, start, end, rate))
    table = pd.concat([first, more], ignore_index=True)
    table["record_id"] = [f"DEMO-OUT-{i:06d}" for i in range(1, len(table) + 1)]
    figures = _figures(extra, table["format"].to_numpy(), table["participants"].to_numpy())
    columns = ["record_id", "date", "commune_code", "commune", "district", "agency", "format",
               "sessions", "participants", "sites", "materials", "groups", "members"]
    return table.assign(**figures)[columns]


def _outreach_places(rng, registry, risk, start, end, monthly: float) -> pd.DataFrame:
    """When and where ``monthly`` events a month happen: month, unit set, unit, day."""
    months = _month_starts(start, end)
    factor = _month_factor(months, start, _OUTREACH_CAMPAIGN_FACTOR)
    sets = _unit_set_of(months)
    parts = []
    for unit_set in (OLD, NEW):
        table = risk[unit_set]
        kind = registry.units(unit_set)["kind"].reindex(table.index)
        weight = table["risk"].to_numpy() * np.where(kind == "xa", 1.0, _SEAT_FACTOR)
        weight = weight / weight.sum()
        chosen = np.flatnonzero(sets == unit_set)
        counts = rng.poisson(monthly * factor[chosen, None] * weight[None, :])
        month_idx, unit_idx = np.nonzero(counts)
        reps = counts[month_idx, unit_idx]
        parts.append(
            pd.DataFrame(
                {
                    "month": np.repeat(chosen[month_idx], reps),
                    "unit_set": unit_set,
                    "unit": np.repeat(table.index.to_numpy()[unit_idx], reps),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    days = _days_in(rng, months, frame["month"].to_numpy())
    frame["day"] = days
    frame = frame[(days >= np.datetime64(start)) & (days <= np.datetime64(end))]
    return frame.sort_values(["day", "unit"], kind="stable", ignore_index=True)


def _describe_more_outreach(extra, registry, frame) -> pd.DataFrame:
    """The added formats' events at the drawn places: law books, job counselling, contests."""
    n = len(frame)
    days = frame["day"].to_numpy()
    formats = np.array(list(_MORE_FORMATS), dtype=object)
    p = np.array([spec[0] for spec in _MORE_FORMATS.values()])
    fmt = formats[extra.choice(len(formats), n, p=p / p.sum())]
    people = np.array([_MORE_FORMATS[f][1] for f in fmt], dtype=float)
    material = np.array([_MORE_FORMATS[f][2] for f in fmt], dtype=float)
    pick = extra.random(n)
    agency = np.array([_MORE_FORMATS[f][3][int(u * len(_MORE_FORMATS[f][3]))]
                       for f, u in zip(fmt, pick, strict=True)], dtype=object)
    return _outreach_rows(extra, registry, frame, days, fmt, agency, people, material)


def _figures(extra, formats: np.ndarray, participants: np.ndarray) -> dict[str, pd.array]:
    """The figures each row's format counts (:data:`geo.kinds.OUTREACH_FIGURES`).

    ``sessions``: one meeting, class, contest or campaign day; one to three
    school sessions; about ten news items a broadcast row. ``sites``: one
    meeting in eight is an online conference at 10–60 sites (điểm cầu); law
    books go to one to three bookcases. ``groups`` and ``members``: a social
    media row is one to five Zalo/Facebook groups of about twenty core
    members each. ``participants`` and ``materials`` are drawn with the
    events; the figures a format does not count stay empty (or 0 as drawn).
    """
    n = len(formats)
    empty = np.full(n, np.nan)

    def where(fmt, values) -> np.ndarray:
        return np.where(np.isin(formats, fmt), values, np.nan)

    sessions = where(("meeting", "training", "campaign", "contest"), 1)
    sessions = np.where(formats == "school_session", 1 + extra.poisson(0.5, n), sessions)
    sessions = np.where(formats == "broadcast", 1 + extra.poisson(9.0, n), sessions)
    online = (formats == "meeting") & (extra.random(n) < 0.125)
    sites = np.where(online, extra.integers(10, 61, n), empty)
    sites = np.where(formats == "law_books", extra.integers(1, 4, n), sites)
    groups = where(("social_media",), 1 + extra.poisson(1.5, n))
    members = np.where(np.isfinite(groups), np.nan_to_num(groups) * (10 + extra.poisson(10.0, n)),
                       np.nan)
    return {name: pd.array(np.where(np.isfinite(v), v, np.nan), dtype="Float64")
            .astype("Int64") for name, v in
            (("sessions", sessions), ("sites", sites), ("groups", groups), ("members", members))}


def _describe_outreach(rng, registry, frame) -> pd.DataFrame:
    n = len(frame)
    days = frame["day"].to_numpy()
    month_no = pd.DatetimeIndex(days).month.to_numpy()
    campaign = np.isin(month_no, _CAMPAIGN_MONTHS)
    formats = np.array(list(_FORMATS), dtype=object)
    p_plain = np.array([v[0] for v in _FORMATS.values()])
    p_campaign = np.array([v[1] for v in _FORMATS.values()])
    fmt = np.where(
        campaign,
        formats[rng.choice(len(formats), n, p=p_campaign / p_campaign.sum())],
        formats[rng.choice(len(formats), n, p=p_plain / p_plain.sum())],
    )
    people = np.array([_FORMATS[f][2] for f in fmt], dtype=float)
    material = np.array([_FORMATS[f][3] for f in fmt], dtype=float)
    pick = rng.random(n)
    agency = np.array(
        [_FORMATS[f][4][int(u * len(_FORMATS[f][4]))] for f, u in zip(fmt, pick, strict=True)],
        dtype=object,
    )
    return _outreach_rows(rng, registry, frame, days, fmt, agency, people, material)


def _outreach_rows(rng, registry, frame, days, fmt, agency, people, material) -> pd.DataFrame:
    """Outreach rows as an agency's file writes them: the date, the commune (code, name,
    district in the set of its date), the agency, the format, and participants and materials
    drawn around each format's typical figures (the draws in this order, for a fixed seed)."""
    n = len(fmt)
    code, name, district = _unit_names(registry, frame["unit_set"], frame["unit"])
    return pd.DataFrame({
        "date": _text_dates(days),
        "commune_code": code,
        "commune": name,
        "district": district,
        "agency": _renamed_departments(agency, days),
        "format": fmt,
        "participants": rng.poisson(people * rng.gamma(3.0, 1 / 3.0, n)),
        "materials": rng.poisson(material * rng.gamma(3.0, 1 / 3.0, n)),
    })


def _unit_names(registry, unit_sets, units) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code, official name and (former units only) district of each unit."""
    old = np.asarray(unit_sets) == OLD
    units = np.asarray(units, dtype=object)
    name = np.where(
        old,
        registry.legacy["name"].reindex(units).to_numpy(),
        registry.communes["name"].reindex(units).to_numpy(),
    )
    district = np.where(old, registry.legacy["district"].reindex(units).to_numpy(), "")
    return units, name.astype(object), district.astype(object)


# -- models ------------------------------------------------------------------------


def _models(rng, registry, risk, start, end) -> pd.DataFrame:
    """Prevention models per 2025 commune: key communes first, intensive in 30 % of them.

    A model started before the merger names the former unit it started in
    (one whose successor is the model's commune).
    """
    codes = risk.index.to_numpy()
    key = (risk["risk"] >= risk["risk"].quantile(1 - _KEY_SHARE)).to_numpy()
    rank = risk["risk"].rank(pct=True).to_numpy()
    n_intensive = int(round(_INTENSIVE_SHARE * key.sum()))
    p_key = risk["risk"].to_numpy()[key]
    intensive_at = set(
        rng.choice(codes[key], n_intensive, replace=False, p=p_key / p_key.sum())
    )
    has_integrated = rng.random(len(codes)) < 0.15 + 0.6 * rank
    n_integrated = np.where(has_integrated, 1 + rng.poisson(0.7 + 1.0 * key), 0)
    rows = []
    for i, code in enumerate(codes):
        classes = ["intensive"] * (code in intensive_at) + ["integrated"] * n_integrated[i]
        for cls in classes:
            rows.append((code, cls, _model_type(rng, registry, risk, code, cls)))
    frame = pd.DataFrame(rows, columns=["commune", "class", "model_type"])
    span = (end - start).days
    begin = np.datetime64(start) + rng.integers(0, max(span - 60, 1), len(frame)).astype(
        "timedelta64[D]"
    )
    stop = begin + rng.integers(180, 720, len(frame)).astype("timedelta64[D]")
    ended = (rng.random(len(frame)) < _MODEL_END_SHARE) & (stop <= np.datetime64(end))
    frame["begin"], frame["stop"], frame["ended"] = begin, stop, ended
    frame = frame.sort_values(["begin", "commune", "model_type"], kind="stable", ignore_index=True)
    return _describe_models(rng, registry, frame)


def _model_type(rng, registry, risk, code: str, cls: str) -> str:
    """A model type fitting the commune: squads near the border, boarding houses in wards."""
    weight = {name: spec[0] for name, spec in _MODEL_TYPES.items()}
    if risk.at[code, "border_km"] > _BORDER_MODEL_KM:
        weight["border_civil_defence"] = 0.0
    if registry.communes.at[code, "kind"] == "phuong":
        weight["cultural_boarding_house"] *= 4.0
    if cls == "intensive":
        weight["other"] = 0.0
    names = list(weight)
    p = np.array([weight[k] for k in names])
    return names[rng.choice(len(names), p=p / p.sum())]


def _describe_models(rng, registry, frame) -> pd.DataFrame:
    begin = frame["begin"].to_numpy()
    old = begin < np.datetime64(MERGER_DATE)
    primary = registry.legacy.reset_index().groupby("new_code")["code"].apply(list)
    unit = np.array(
        [
            primary[c][int(rng.integers(len(primary[c])))] if o else c
            for c, o in zip(frame["commune"], old, strict=True)
        ],
        dtype=object,
    )
    code, name, district = _unit_names(registry, np.where(old, OLD, NEW), unit)
    end_text = np.where(frame["ended"], _text_dates(frame["stop"].to_numpy()), "")
    return pd.DataFrame(
        {
            "record_id": [f"DEMO-MOD-{i:05d}" for i in range(1, len(frame) + 1)],
            "commune_code": code,
            "commune": name,
            "district": district,
            "model_type": frame["model_type"].to_numpy(),
            "class": frame["class"].to_numpy(),
            "start_date": _text_dates(begin),
            "end_date": end_text.astype(object),
            "agency": frame["model_type"].map({k: v[1] for k, v in _MODEL_TYPES.items()}),
        }
    )


# -- population --------------------------------------------------------------------


def _population(rng, registry, first_year: int, last_year: int) -> pd.DataFrame:
    """Synthetic residents of each 2025 commune, from its official area and kind.

    Wards are denser than communes, with log-normal noise; the first year is
    scaled to about 2.9 million, wards grow faster; about two thirds are
    aged 14–60. Rounded to tens.
    """
    table = registry.communes
    density = table["kind"].map(_DENSITY).fillna(_DENSITY["xa"]).to_numpy()
    base = table["area_km2"].to_numpy() * density * rng.lognormal(0.0, 0.45, len(table))
    base = base / base.sum() * _PROVINCE_POPULATION
    growth = rng.normal(0.008, 0.004, len(table)) + np.where(table["kind"] == "phuong", 0.006, 0)
    share = np.clip(rng.normal(0.67, 0.015, len(table)), 0.6, 0.72)
    years = np.arange(first_year, last_year + 1)
    pop = base[None, :] * (1 + growth[None, :]) ** (years - first_year)[:, None]
    young = pop * (share[None, :] - 0.002 * (years - first_year)[:, None])
    return pd.DataFrame(
        {
            "commune_code": np.tile(table.index.to_numpy(), len(years)),
            "year": np.repeat(years, len(table)),
            "population": (np.round(pop, -1)).astype(int).ravel(),
            "population_14_60": (np.round(young, -1)).astype(int).ravel(),
        }
    )


# -- manifest ------------------------------------------------------------------


def _manifest(seed, start, end, incidents, outreach, models, population) -> dict:
    return {
        "synthetic": True,
        "note": dict(_NOTE),
        "seed": int(seed),
        "generated_by": "borderwatch demo.generate_demo",
        "period": [start.strftime("%d/%m/%Y"), end.strftime("%d/%m/%Y")],
        "unit_sets": {  # which units the records name, by their date
            "merger_date": MERGER_DATE.strftime("%d/%m/%Y"),
            "before": OLD,
            "from": NEW,
        },
        "rows": {
            "incidents": len(incidents),
            "outreach": len(outreach),
            "models": len(models),
            "population": len(population),
        },
        "incidents_by_type": {
            str(k): int(v) for k, v in incidents["type"].value_counts().sort_index().items()
        },
        "outcomes_by_type": {  # each incident's one outcome (its status), per type
            str(t): {str(k): int(v) for k, v in group.value_counts().sort_index().items()}
            for t, group in incidents.groupby("type", sort=True)["status"]
        },
        "outreach_by_format": {
            str(k): int(v) for k, v in outreach["format"].value_counts().sort_index().items()
        },
    }


