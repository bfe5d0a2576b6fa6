"""The synthetic demo dataset (dữ liệu mô phỏng): deterministic, realistic, never real.

What a new user sees before importing anything: four years (2022–2025) of
incidents, outreach events, prevention models and commune populations, in
the interchange formats real files use (:mod:`geo.records`). The structure
follows the province's plans, not any real record:

- incidents (vụ mua bán người, xuất nhập cảnh trái phép, tin báo, nạn nhân)
  are denser in communes near the gates, Mộc Bài and Xa Mát above all, and
  along the border; they peak in the July–September campaign windows (đợt
  cao điểm) and grow a little each year; illegal crossings are the most
  numerous, then tips, then trafficking cases and victims;
- records dated before 01/7/2025 name the former communes (by code, or by
  name + district, written as spreadsheets write them: without diacritics,
  "X. …", upper case), later ones the 2025 communes; some crossings and tips
  carry only a point, at least 150 m inside their commune;
- victims never carry a location, and no table holds a person's name;
- every crossing, case and victim has exactly one outcome (its ``status``,
  :data:`geo.ingest.kinds.OUTCOMES`), as far as it has gone by the end of the
  period: a crossing is still being verified (``verified``) until it is
  handled, then sanctioned (about two thirds), warned and educated,
  deported or prosecuted, about seed 004's mix (27, 6 and 8 of 41 cases);
  a victim is received, verified, supported, then returned home; cases and
  tips climb the targets' ladder (received, verified, prosecuted, tried);
- outreach (truyền thông) follows risk and the agencies' seats, and doubles
  in the campaign windows; each row carries the figures its format counts
  (:data:`geo.ingest.kinds.OUTREACH_FIGURES`: news items, conference sites,
  groups and core members …), and law books, job counselling and contests
  are added as seed 004's agencies report them; prevention models (mô hình)
  cover the key communes first, intensive models in about 30 % of them;
- population per 2025 commune is drawn from the registry's official area and
  the unit's kind (wards denser), about 2.9 million in all.
- the reports of 2024 (:mod:`layers.reporting`): the incidents and outreach of
  the six provincial agencies that hold records come as the reports each
  agency sent the Standing Office, span by span, each on the day it was
  received (:data:`_REPORTS_2024`); three arrive late (the campaign's, the six
  months', the year's), and the other agencies of the plan (tay_ninh_2024)
  send nothing.

Outcomes, outreach figures and the added formats are drawn from a second
generator seeded from the same seed (``[seed, 1]``), so the records the
first one draws are those of the earlier demo. The same seed gives
byte-identical files; the manifest says the data is
synthetic, and the generator checks that every record resolves to the
commune it was drawn for before returning.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.records import join_records, read_records
from geo.resolve import resolve_communes
from geo.units import MERGER_DATE, NEW, OLD, Registry

__all__ = ["DEFAULT_SEED", "DemoDataset", "commune_risk", "generate_demo", "import_demo",
           "write_demo"]

#: Seed of the bundled demo (the day the 2025 units took effect).
DEFAULT_SEED = 20250701

_METRIC = "EPSG:32648"  # UTM 48N: distances and buffers in metres
_WGS84 = "EPSG:4326"
_TABLES = ("incidents", "outreach", "models", "population")
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
_LABOUR_MERGER = dt.date(2025, 3, 1)
_LABOUR = "Sở Lao động - Thương binh và Xã hội"
_HOME_AFFAIRS = "Sở Nội vụ"
_POLICE = "Công an tỉnh"
_COMMUNE_POLICE = "Công an xã"
_BORDER_GUARD = "Bộ đội Biên phòng tỉnh"
_WOMEN = "Hội Liên hiệp Phụ nữ tỉnh"
_YOUTH = "Đoàn Thanh niên tỉnh"
_COMMUNE_PC = "UBND xã"
_JUSTICE = "Sở Tư pháp"


@dataclass(frozen=True)
class _Kind:
    """One incident type: its base rate and how it is spread and reported."""

    monthly: float  # province-wide incidents a month in the first year, outside campaigns
    risk_power: float  # how sharply it follows the gate/border risk surface
    point_share: float  # share of records that carry a coordinate
    agencies: tuple[tuple[str, float], ...]


_KINDS = {
    "illegal_crossing": _Kind(38.0, 1.4, 0.45, ((_BORDER_GUARD, 0.7), (_POLICE, 0.3))),
    "tip": _Kind(
        16.0, 1.0, 0.35,
        ((_POLICE, 0.35), (_COMMUNE_POLICE, 0.25), (_BORDER_GUARD, 0.25), (_WOMEN, 0.15)),
    ),
    "trafficking_case": _Kind(2.6, 0.8, 0.0, ((_POLICE, 0.75), (_BORDER_GUARD, 0.25))),
    "victim": _Kind(2.2, 0.6, 0.0, ((_LABOUR, 0.4), (_BORDER_GUARD, 0.3), (_WOMEN, 0.3))),
}
#: How a handled illegal crossing was handled (seed 004: of 41 cases, 27 sanctioned, 6
#: prosecuted, the rest warned, deported or still being verified).
_CROSSING_OUTCOMES = {"administrative_sanction": 0.66, "warning_education": 0.13,
                      "deportation": 0.06, "prosecuted": 0.15}
#: Mean days from a victim's verification to support, and from support to the return home.
_VICTIM_SUPPORT_DAYS, _VICTIM_RETURN_DAYS = 30.0, 60.0
#: How a record names its commune: a point alone, else the code, else the name.
_POINT_ONLY_SHARE = 0.25
_CODE_SHARE = 0.67

#: format: (share outside / in campaigns, mean participants, mean materials, agencies)
_FORMATS = {
    "meeting": (0.32, 0.22, 60, 80, (_COMMUNE_PC, _WOMEN, _POLICE, _BORDER_GUARD)),
    "school_session": (0.16, 0.10, 180, 200, (_YOUTH, _POLICE)),
    "broadcast": (0.12, 0.10, 0, 0, (_COMMUNE_PC,)),
    "leaflets": (0.12, 0.12, 0, 500, (_BORDER_GUARD, _WOMEN, _COMMUNE_PC)),
    "social_media": (0.13, 0.12, 0, 0, (_POLICE, _YOUTH)),
    "training": (0.10, 0.06, 35, 40, (_POLICE, _LABOUR)),
    "campaign": (0.05, 0.28, 250, 300, (_WOMEN, _YOUTH, _BORDER_GUARD)),
}
#: Formats added to the first seven (law books, job counselling, contests), drawn by the
#: second generator: format: (events a month province-wide, mean participants, mean
#: materials, agencies).
_MORE_FORMATS = {
    "law_books": (1.0, 0, 300, (_JUSTICE, _COMMUNE_PC)),
    "job_counselling": (4.0, 350, 0, (_LABOUR,)),
    "contest": (0.6, 150, 0, (_YOUTH, _WOMEN)),
}
_OUTREACH_MONTHLY = 32.0  # province-wide events a month outside campaigns
_OUTREACH_CAMPAIGN_FACTOR = 2.2
_SEAT_FACTOR = 1.8  # wards and townships hold the agencies: more events there

#: model type: (base weight, agency)
_MODEL_TYPES = {
    "zalo_group": (3.0, _POLICE),
    "hotline_keyring": (2.0, _POLICE),
    "cultural_boarding_house": (1.0, _POLICE),
    "security_camera": (2.0, _COMMUNE_POLICE),
    "border_civil_defence": (2.5, _BORDER_GUARD),
    "victim_support": (1.2, _WOMEN),
    "other": (0.3, _COMMUNE_PC),
}
_KEY_SHARE = 0.30  # the riskiest 30 % of communes are the key areas (địa bàn trọng điểm)
_INTENSIVE_SHARE = 0.30  # of key communes with an intensive model
_BORDER_MODEL_KM = 10.0  # border civil-defence squads only this close to the border
_MODEL_END_SHARE = 0.15

#: The agencies that report to the Standing Office, as the plan tay_ninh_2024 names them.
_REPORTERS = {
    _POLICE: "Công an tỉnh",
    _BORDER_GUARD: "Bộ Chỉ huy Bộ đội Biên phòng tỉnh",
    _LABOUR: "Sở Lao động - Thương binh và Xã hội",
    _JUSTICE: "Sở Tư pháp",
    _WOMEN: "Hội Liên hiệp Phụ nữ tỉnh",
    _YOUTH: "Tỉnh Đoàn",
}
#: The spans of figures each reporting agency sent in 2024 and the day each was received
#: (on time for the six months, before 01/6; the campaign, before 05/8; the year, before
#: 01/12), and the parts some agencies sent late: agency → {span index: day received}.
_REPORTS_2024 = (
    (dt.date(2024, 1, 1), dt.date(2024, 3, 31), dt.date(2024, 4, 3)),
    (dt.date(2024, 4, 1), dt.date(2024, 5, 31), dt.date(2024, 5, 31)),
    (dt.date(2024, 6, 1), dt.date(2024, 8, 4), dt.date(2024, 8, 4)),
    (dt.date(2024, 8, 5), dt.date(2024, 11, 30), dt.date(2024, 11, 30)),
    (dt.date(2024, 12, 1), dt.date(2024, 12, 31), dt.date(2025, 1, 6)),
)
_LATE_2024 = {
    _LABOUR: {2: dt.date(2024, 8, 12)},  # the campaign's report, 8 days late
    _JUSTICE: {1: dt.date(2024, 6, 7)},  # the six months', 7 days late
    _YOUTH: {3: dt.date(2024, 12, 9)},  # the year's, 9 days late
}
#: The record tables whose rows an agency reports (models and population are loaded whole).
_REPORTED = ("incidents", "outreach")

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
    """

    incidents: pd.DataFrame
    outreach: pd.DataFrame
    models: pd.DataFrame
    population: pd.DataFrame
    manifest: dict = field(default_factory=dict)


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
        If a generated record does not resolve to the commune it was drawn
        for (the demo is clean by construction; this would be a bug).

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
    incidents = _checked_incidents(incidents, registry, communes_new, communes_old)
    outreach = _outreach(rng, extra, registry, risk, start, end)
    models = _models(rng, registry, risk[NEW], start, end)
    for frame in (outreach, models):
        _check_codes(frame, registry, communes_new, communes_old)
    population = _population(rng, registry, start.year, end.year)
    manifest = _manifest(seed, start, end, incidents, outreach, models, population)
    return DemoDataset(incidents, outreach, models, population, manifest)


def write_demo(dataset: DemoDataset, out_dir: Path) -> Path:
    """Write the four CSV files and ``manifest.json`` to ``out_dir``, all or nothing.

    The files are written to a staging folder beside ``out_dir`` and swapped
    in whole, so a reader sees the old folder or the new one, never a mix,
    and nothing left over from an earlier run survives.

    Parameters
    ----------
    dataset : DemoDataset
    out_dir : Path
        The demo folder (``Settings.demo_dir``); created or replaced.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-new-", dir=out_dir.parent))
    try:
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a data folder is not
        for name in _TABLES:
            _write_csv(getattr(dataset, name), staging / f"{name}.csv")
        text = json.dumps(dataset.manifest, ensure_ascii=False, indent=2) + "\n"
        (staging / "manifest.json").write_text(text, encoding="utf-8", newline="\n")
        _swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def import_demo(folder: Path, store, settings) -> dict[str, int]:
    """Import the demo files of ``folder`` into ``store`` through the real importer.

    The demo goes in as users' files do (same reader, checks, commune
    placement, transaction), under the source :data:`geo.ingest.DEMO_SOURCE`
    that marks it synthetic everywhere it is shown. Earlier demo records are
    replaced; a store holding real records is refused, since real and
    synthetic records are never mixed.

    Returns
    -------
    dict
        Accepted rows per kind.

    Raises
    ------
    RuntimeError
        If the store holds real records, or a demo row is rejected (a bug:
        the demo is clean by construction).
    """
    from geo.ingest import DEMO_SOURCE, Places, import_file
    from geo.store.schema import RECORD_TABLES

    real = {src: n for src, n in store.sources().items() if src != DEMO_SOURCE}
    if real:
        raise RuntimeError(
            f"the store holds real records ({real}); the synthetic demo is never mixed with "
            "real records"
        )
    with store.transaction() as tx:
        for table in RECORD_TABLES:
            tx.execute(f"DELETE FROM {table} WHERE source = ?", [DEMO_SOURCE])
    places = Places.load(settings)
    accepted = {}
    for name in _TABLES:
        report = import_file(Path(folder) / f"{name}.csv", name, store, places,
                             source=DEMO_SOURCE, strict=True)
        if report.status != "committed":
            raise RuntimeError(f"demo {name} rejected rows: {report.summary_lines('en')[:6]}")
        accepted[name] = report.accepted
    _file_reports(store, DEMO_SOURCE)
    return accepted


def _file_reports(store, source: str) -> None:
    """Write the agencies' reports of 2024 (:data:`_REPORTS_2024`) over the imported demo.

    Importing each report through the importer would cost half a second each (about
    fifty of them): the records, imported once, are handed instead to one import row
    per report (its agency, the day it was received, the records it brought), as if
    each report had been its own file. Reports are written in the order received.
    """
    reports = []
    for agency, reporter in _REPORTERS.items():
        late = _LATE_2024.get(agency, {})
        for i, (first, last, received) in enumerate(_REPORTS_2024):
            reports.append((late.get(i, received), reporter, agency, first, last))
    now = dt.datetime.now(dt.timezone.utc)
    with store.transaction() as tx:
        for received, reporter, agency, first, last in sorted(reports):
            for kind in _REPORTED:
                import_id = tx.new_import({
                    "kind": kind, "source": source,
                    "file_name": f"bao-cao-{kind}-{first:%Y%m%d}-{last:%Y%m%d}.csv",
                    "checksum": "", "started_at": now, "finished_at": now, "rows_read": 0,
                    "accepted": 0, "duplicates": 0, "rejected": 0, "status": "committed",
                    "strict": True, "agency": reporter, "received_on": received,
                })
                where = (f"FROM {kind} WHERE source = ? AND agency = ? AND date >= ? "
                         "AND date <= ?")
                params = [source, agency, first, last]
                tx.execute(f"UPDATE imports SET rows_read = (SELECT COUNT(*) {where}), "
                           f"accepted = (SELECT COUNT(*) {where}) WHERE id = ?",
                           [*params, *params, import_id])
                tx.execute(f"UPDATE {kind} SET import_id = ? WHERE source = ? AND agency = ? "
                           "AND date >= ? AND date <= ?", [import_id, *params])


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
    fields = _commune_fields(rng, registry, frame, has_point=~np.isnan(lon))
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


def _commune_fields(rng, registry, frame, has_point) -> dict[str, np.ndarray]:
    """``commune_code``, ``commune``, ``district`` as a record of its date writes them.

    A point alone (a quarter of the records with a point), else the code
    (two thirds), else the name (+ the district before the merger), spelled
    in one of the ways spreadsheets spell it.
    """
    n = len(frame)
    point_only = has_point & (rng.random(n) < _POINT_ONLY_SHARE)
    by_code = ~point_only & (rng.random(n) < _CODE_SHARE)
    by_name = ~point_only & ~by_code
    name_style = rng.integers(len(_NAME_STYLES), size=n)
    district_style = rng.integers(len(_DISTRICT_STYLES), size=n)
    units = frame["unit"].to_numpy()
    old = (frame["unit_set"] == OLD).to_numpy()
    code = np.where(by_code, units, "").astype(object)
    name = np.full(n, "", dtype=object)
    district = np.full(n, "", dtype=object)
    for i in np.flatnonzero(by_name):
        table = registry.legacy if old[i] else registry.communes
        name[i] = _NAME_STYLES[name_style[i]](table.at[units[i], "name"])
        if old[i]:
            district[i] = _DISTRICT_STYLES[district_style[i]](table.at[units[i], "district"])
    return {"commune_code": code, "commune": name, "district": district}


def _plain(text: str) -> str:
    """Text without Vietnamese diacritics, case kept ("Lợi Thuận" → "Loi Thuan")."""
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Mn")


def _split_prefix(name: str, prefixes: tuple[str, ...]) -> tuple[str, str]:
    for prefix in prefixes:
        if name.startswith(prefix + " "):
            return prefix, name[len(prefix) + 1 :]
    return "", name


_COMMUNE_WORDS = ("Thị trấn", "Phường", "Xã")
_COMMUNE_ABBR = {"Thị trấn": "TT.", "Phường": "P.", "Xã": "X."}
_DISTRICT_WORDS = ("Thành phố", "Thị xã", "Huyện")
_DISTRICT_ABBR = {"Thành phố": "TP.", "Thị xã": "TX.", "Huyện": "H."}


def _abbreviated(name: str, words: tuple[str, ...], abbr: dict[str, str]) -> str:
    prefix, rest = _split_prefix(name, words)
    return f"{abbr[prefix]} {rest}" if prefix else name


#: "Xã Lợi Thuận" as spreadsheets write it.
_NAME_STYLES = (
    lambda s: s,  # Xã Lợi Thuận
    lambda s: _split_prefix(s, _COMMUNE_WORDS)[1],  # Lợi Thuận
    lambda s: _abbreviated(s, _COMMUNE_WORDS, _COMMUNE_ABBR),  # X. Lợi Thuận
    lambda s: s.upper(),  # XÃ LỢI THUẬN
    _plain,  # Xa Loi Thuan
    lambda s: _plain(_split_prefix(s, _COMMUNE_WORDS)[1]).lower(),  # loi thuan
)
#: "Huyện Bến Cầu" as spreadsheets write it.
_DISTRICT_STYLES = (
    lambda s: s,  # Huyện Bến Cầu
    lambda s: _abbreviated(s, _DISTRICT_WORDS, _DISTRICT_ABBR),  # H. Bến Cầu
    lambda s: _plain(s).lower(),  # huyen ben cau
    lambda s: _split_prefix(s, _DISTRICT_WORDS)[1],  # Bến Cầu
)


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
    later = (agencies == _LABOUR) & (days >= np.datetime64(_LABOUR_MERGER))
    return np.where(later, _HOME_AFFAIRS, agencies)


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


def _checked_incidents(incidents, registry, communes_new, communes_old) -> pd.DataFrame:
    """Resolve the incidents as a user's file would be, and insist each lands on its unit.

    The table goes through CSV and :func:`geo.records.read_records`; a record
    whose name is ambiguous or reads as another unit (rare) is rewritten with
    its code, and the rewritten rows must then pass :func:`join_records`.
    The private columns are dropped.
    """
    public = incidents.drop(columns=["_set", "_unit"])
    resolved, unresolved = resolve_communes(
        _round_trip(public), registry, communes_new, communes_old
    )
    wrong = _misplaced(resolved, incidents)
    bad = incidents["record_id"].isin(set(unresolved["record_id"]) | set(wrong))
    if bad.any():
        public.loc[bad, "commune_code"] = incidents.loc[bad, "_unit"]
        public.loc[bad, ["commune", "district"]] = ""
        try:
            again = join_records(_round_trip(public[bad]), registry, communes_new, communes_old)
        except ValueError as err:
            raise RuntimeError(f"demo incidents do not resolve: {err}") from err
        still = _misplaced(again, incidents)
        if still:
            raise RuntimeError(f"{len(still)} demo incidents land on another unit: {still[:3]}")
    return public


def _misplaced(resolved: pd.DataFrame, drawn: pd.DataFrame) -> list[str]:
    """Record ids whose resolved unit (old for old records, new for new) is not the one drawn."""
    truth = drawn.set_index("record_id").loc[resolved["record_id"]]
    got = np.where(truth["_set"] == OLD, resolved["old_code"], resolved["new_code"])
    return resolved["record_id"][got != truth["_unit"].to_numpy()].tolist()


def _round_trip(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as :func:`geo.records.read_records` reads it back from the written CSV."""
    with tempfile.TemporaryDirectory(prefix="demo-check-") as tmp:
        path = Path(tmp) / "records.csv"
        _write_csv(frame, path)
        return read_records(path)


def _check_codes(frame, registry, communes_new, communes_old) -> None:
    """Outreach and models name their commune by code: each must resolve to that code."""
    joined = join_records(_round_trip(frame), registry, communes_new, communes_old)
    date = joined["date"] if "date" in joined else joined["start_date"]
    got = np.where(date < pd.Timestamp(MERGER_DATE), joined["old_code"], joined["new_code"])
    wrong = joined["record_id"][got != joined["commune_code"].to_numpy()]
    if len(wrong):
        raise RuntimeError(f"demo records resolve to another unit: {wrong.head(3).tolist()}")


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
    """The figures each row's format counts (:data:`geo.ingest.kinds.OUTREACH_FIGURES`).

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


# -- manifest and files ------------------------------------------------------------


def _manifest(seed, start, end, incidents, outreach, models, population) -> dict:
    return {
        "synthetic": True,
        "note": dict(_NOTE),
        "seed": int(seed),
        "generated_by": "borderwatch data.demo.generate_demo",
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


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with two renames; the old folder is then removed."""
    if not out_dir.exists():
        os.replace(staging, out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-old-", dir=out_dir.parent))
    os.replace(out_dir, retired / out_dir.name)
    os.replace(staging, out_dir)
    shutil.rmtree(retired, ignore_errors=True)
