"""The synthetic demo dataset (dữ liệu mô phỏng): deterministic, realistic in structure, never real.

What a new user sees before importing anything: four years (2022–2025) of
incidents, outreach events, prevention models and commune populations, in
the interchange formats real files use (``geo/records.py``, issue "records
in"). The structure follows the province's plans: incidents are denser in
communes near the gates (Mộc Bài and Xa Mát above all) and the border, peak
in the July–September campaign windows and grow a little each year; records
before 01/7/2025 name the former communes (by code, or by name + district,
sometimes spelled carelessly), later ones the new communes. Victims never
carry a location. Every file, and the manifest, says the data is synthetic.

The same seed gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.resolve import resolve_communes
from geo.units import MERGER_DATE, NEW, Registry

__all__ = ["DEFAULT_SEED", "DemoDataset", "generate_demo", "write_demo"]

DEFAULT_SEED = 20250701
_METRIC = "EPSG:32648"
_NOTE_VI = "DỮ LIỆU MÔ PHỎNG phục vụ trình diễn, không phải số liệu thật."
_NOTE_EN = "SYNTHETIC demo data for demonstration; not real records."

#: Province-wide mean incidents per month, by type, in 2022 outside the campaign window.
_MONTHLY_RATE = {"illegal_crossing": 38.0, "tip": 16.0, "trafficking_case": 2.6, "victim": 2.2}
_CAMPAIGN_FACTOR = 1.8  # July–September (đợt cao điểm)
_YEARLY_GROWTH = 0.08
_POINT_SHARE = {"illegal_crossing": 0.45, "tip": 0.35, "trafficking_case": 0.0, "victim": 0.0}
_AGENCIES = {
    "illegal_crossing": ["Bộ đội Biên phòng tỉnh", "Công an tỉnh"],
    "tip": ["Công an tỉnh", "Bộ đội Biên phòng tỉnh", "Hội Liên hiệp Phụ nữ tỉnh"],
    "trafficking_case": ["Công an tỉnh", "Bộ đội Biên phòng tỉnh"],
    "victim": ["Sở Lao động - Thương binh và Xã hội", "Hội Liên hiệp Phụ nữ tỉnh"],
}
_OUTREACH_FORMATS = {  # format: (share, participants mean, materials mean)
    "meeting": (0.30, 60, 80),
    "school_session": (0.15, 180, 200),
    "broadcast": (0.12, 0, 0),
    "leaflets": (0.13, 0, 500),
    "social_media": (0.12, 0, 0),
    "training": (0.08, 35, 40),
    "campaign": (0.10, 250, 300),
}
_OUTREACH_AGENCIES = [
    "Hội Liên hiệp Phụ nữ tỉnh", "Đoàn Thanh niên tỉnh", "Công an tỉnh",
    "Bộ đội Biên phòng tỉnh", "UBND xã", "Sở Lao động - Thương binh và Xã hội",
]
_MODEL_TYPES = [
    "zalo_group", "hotline_keyring", "cultural_boarding_house", "security_camera",
    "border_civil_defence", "victim_support",
]


@dataclass(frozen=True)
class DemoDataset:
    """The four tables of the demo and its manifest."""

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
    """Generate the synthetic dataset.

    Parameters
    ----------
    registry : Registry
    communes_new, communes_old : GeoDataFrame
        Commune polygons of both unit sets, indexed by code (WGS84).
    gates : GeoDataFrame
        Gate points (:func:`geo.gates.load_gates`).
    border : GeoDataFrame
        The border line.
    seed : int
        Seed of the random generator; the same seed gives the same data.
    start, end : date
        Period covered.

    Returns
    -------
    DemoDataset
        Raises ``RuntimeError`` if any generated incident fails to resolve to
        a commune (the demo must be clean by construction).
    """
    rng = np.random.default_rng(seed)
    risk = commune_risk(communes_new, gates, border)
    incidents = _incidents(rng, registry, communes_new, communes_old, risk, start, end)
    incidents = _check_resolves(incidents, registry, communes_new, communes_old)
    outreach = _outreach(rng, registry, risk, start, end)
    models = _models(rng, registry, risk, start, end)
    population = _population(rng, registry, communes_new, start.year, end.year)
    manifest = {
        "synthetic": True,
        "note_vi": _NOTE_VI,
        "note_en": _NOTE_EN,
        "seed": seed,
        "period": [start.strftime("%d/%m/%Y"), end.strftime("%d/%m/%Y")],
        "generated_by": "borderwatch data.demo",
        "rows": {
            "incidents": len(incidents), "outreach": len(outreach),
            "models": len(models), "population": len(population),
        },
        "incidents_by_type": {k: int(v) for k, v in incidents["type"].value_counts().sort_index().items()},
    }
    return DemoDataset(incidents, outreach, models, population, manifest)


def write_demo(dataset: DemoDataset, out_dir: Path) -> Path:
    """Write the four CSV files (UTF-8, dd/mm/yyyy) and ``manifest.json``, all or nothing."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=out_dir.parent))
    for name in ("incidents", "outreach", "models", "population"):
        getattr(dataset, name).to_csv(staging / f"{name}.csv", index=False, encoding="utf-8")
    (staging / "manifest.json").write_text(
        json.dumps(dataset.manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    if out_dir.exists():
        old = out_dir.with_name(out_dir.name + ".old")
        os.replace(out_dir, old)
        os.replace(staging, out_dir)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        os.replace(staging, out_dir)
    return out_dir


# -- risk ---------------------------------------------------------------------


def commune_risk(
    communes: gpd.GeoDataFrame, gates: gpd.GeoDataFrame, border: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Per new commune: distance (km) to the nearest gate and to the border, and a risk weight.

    Risk decays with distance to a gate (8 km scale, Mộc Bài and Xa Mát
    counting double) and to the border line (12 km scale), plus a floor.
    """
    metric = communes.to_crs(_METRIC)
    points = metric.geometry.representative_point()
    gate_pts = gates.to_crs(_METRIC)
    line = shapely.union_all(border.to_crs(_METRIC).geometry.to_numpy())
    dist = np.stack([points.distance(g) for g in gate_pts.geometry], axis=1) / 1e3
    weight = np.where(gate_pts["gate_id"].isin(["moc_bai", "xa_mat"]), 2.0, 1.0)
    gate_term = (weight[None, :] * np.exp(-dist / 8.0)).max(axis=1)
    d_border = points.distance(line).to_numpy() / 1e3
    risk = 0.25 + 3.0 * gate_term + 1.2 * np.exp(-d_border / 12.0)
    return pd.DataFrame(
        {"gate_km": dist.min(axis=1), "border_km": d_border, "risk": risk}, index=communes.index
    )


# -- incidents ----------------------------------------------------------------


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    out, day = [], dt.date(start.year, start.month, 1)
    while day <= end:
        out.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def _incidents(rng, registry, communes_new, communes_old, risk, start, end) -> pd.DataFrame:
    codes = risk.index.to_numpy()
    area = registry.communes.loc[codes, "area_km2"].clip(lower=5).to_numpy()
    p = risk["risk"].to_numpy() * np.sqrt(area / area.mean())
    p = p / p.sum()
    rows = []
    for month in _months(start, end):
        season = _CAMPAIGN_FACTOR if month.month in (7, 8, 9) else 1.0
        growth = 1 + _YEARLY_GROWTH * (month.year - start.year)
        next_month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        days = (next_month - month).days
        for kind, base in _MONTHLY_RATE.items():
            n = rng.poisson(base * season * growth)
            for code in rng.choice(codes, size=n, p=p):
                day = month + dt.timedelta(days=int(rng.integers(0, days)))
                if start <= day <= end:
                    rows.append((day, kind, code))
    frame = pd.DataFrame(rows, columns=["date", "type", "new_unit"])
    frame = frame.sort_values(["date", "type", "new_unit"], kind="stable", ignore_index=True)
    frame["record_id"] = [f"DEMO-INC-{i:06d}" for i in range(1, len(frame) + 1)]
    return _describe_incidents(rng, frame, registry, communes_new, communes_old)


def _describe_incidents(rng, frame, registry, communes_new, communes_old) -> pd.DataFrame:
    n = len(frame)
    comp = registry.composition
    old = frame["date"] < MERGER_DATE
    # The old unit a pre-merger record names: one of the pieces that formed its new commune.
    pieces = comp.groupby("new_code")["old_code"].apply(list)
    unit = np.where(
        old,
        [pieces[c][int(rng.integers(len(pieces[c])))] for c in frame["new_unit"]],
        frame["new_unit"],
    )
    kinds = frame["type"].to_numpy()
    has_point = rng.random(n) < np.array([_POINT_SHARE[k] for k in kinds])
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    for i in np.flatnonzero(has_point):
        polygons = communes_old if old[i] else communes_new
        lon[i], lat[i] = _point_inside(rng, polygons.geometry.loc[unit[i]])
    how = rng.random(n)  # how the commune is written: code / name / (point only)
    code_col, name_col, district_col = _commune_fields(rng, registry, unit, old, how, has_point)
    persons, victims = _counts(rng, kinds)
    return pd.DataFrame(
        {
            "record_id": frame["record_id"],
            "date": frame["date"].map(lambda d: d.strftime("%d/%m/%Y")),
            "type": kinds,
            "commune_code": code_col,
            "commune": name_col,
            "district": district_col,
            "lat": np.round(lat, 5),
            "lon": np.round(lon, 5),
            "persons": persons,
            "victims": victims,
            "agency": [_AGENCIES[k][int(rng.integers(len(_AGENCIES[k])))] for k in kinds],
            "status": _status(rng, kinds, frame["date"]),
            "_unit": unit,
        }
    )


def _point_inside(rng, polygon) -> tuple[float, float]:
    """A random point well inside a polygon (≥ ~150 m from its edge, when the polygon allows)."""
    inner = shapely.buffer(polygon, -0.0015)
    target = inner if not inner.is_empty and inner.area > 0.1 * polygon.area else polygon
    minx, miny, maxx, maxy = target.bounds
    for _ in range(1000):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(target, x, y):
            return x, y
    point = target.representative_point()
    return point.x, point.y


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Mn")


def _messy(rng, name: str) -> str:
    """A name as spreadsheets write it: as is, without prefix, abbreviated, or upper case."""
    short = name.split(" ", 1)[1] if name.startswith("Xã ") else name
    choice = rng.integers(4)
    if choice == 0:
        return name
    if choice == 1:
        return short
    if choice == 2:
        return name.replace("Xã ", "X. ").replace("Phường ", "P. ").replace("Thị trấn ", "TT. ")
    return name.upper()


def _commune_fields(rng, registry, unit, old, how, has_point):
    n = len(unit)
    code_col = np.full(n, "", dtype=object)
    name_col = np.full(n, "", dtype=object)
    district_col = np.full(n, "", dtype=object)
    for i in range(n):
        if has_point[i] and how[i] < 0.5:
            continue  # the point alone says where
        if how[i] < 0.6 or (has_point[i] and how[i] < 0.8):
            code_col[i] = unit[i]
            continue
        table = registry.legacy if old[i] else registry.communes
        name_col[i] = _messy(rng, table.at[unit[i], "name"])
        if old[i]:
            district_col[i] = table.at[unit[i], "district"]
    return code_col, name_col, district_col


def _counts(rng, kinds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(kinds)
    persons = np.zeros(n, dtype=int)
    victims = np.zeros(n, dtype=int)
    persons[kinds == "illegal_crossing"] = 1 + rng.poisson(2.5, (kinds == "illegal_crossing").sum())
    persons[kinds == "trafficking_case"] = 1 + rng.poisson(1.0, (kinds == "trafficking_case").sum())
    persons[kinds == "tip"] = rng.poisson(0.8, (kinds == "tip").sum())
    victims[kinds == "trafficking_case"] = 1 + rng.poisson(1.2, (kinds == "trafficking_case").sum())
    victims[kinds == "victim"] = 1 + rng.poisson(0.4, (kinds == "victim").sum())
    return persons, victims


def _status(rng, kinds: np.ndarray, dates: pd.Series) -> np.ndarray:
    """Older trafficking cases have gone further through the courts."""
    age = np.array([(dt.date(2026, 1, 1) - d).days for d in dates]) / 365.0
    stage = np.clip(np.floor(rng.random(len(kinds)) * (1 + age * 1.5)), 0, 3).astype(int)
    labels = np.array(["received", "verified", "prosecuted", "tried"])
    out = labels[stage]
    other = kinds != "trafficking_case"
    out[other] = np.where(rng.random(other.sum()) < 0.7, "verified", "received")
    return out


def _check_resolves(incidents, registry, communes_new, communes_old) -> pd.DataFrame:
    """Every incident must resolve: a name that happens to be ambiguous is written as its code.

    ``incidents`` carries the private ``_unit`` column (the unit meant); it is dropped here.
    """
    out = incidents.copy()
    for _ in range(2):
        frame = out.drop(columns="_unit").assign(
            date=pd.to_datetime(out["date"], format="%d/%m/%Y")
        )
        _, unresolved = resolve_communes(frame, registry, communes_new, communes_old)
        if not len(unresolved):
            return out.drop(columns="_unit")
        bad = out["record_id"].isin(unresolved["record_id"])
        out.loc[bad, "commune_code"] = out.loc[bad, "_unit"]
        out.loc[bad, ["commune", "district"]] = ""
    reasons = unresolved[["record_id", "reason"]].head(3).to_dict("records")
    raise RuntimeError(f"{len(unresolved)} demo incidents do not resolve: {reasons}")


# -- outreach, models, population ---------------------------------------------


def _outreach(rng, registry, risk, start, end) -> pd.DataFrame:
    codes = risk.index.to_numpy()
    weight = risk["risk"].to_numpy() / risk["risk"].mean()
    formats = list(_OUTREACH_FORMATS)
    shares = np.array([_OUTREACH_FORMATS[f][0] for f in formats])
    rows = []
    for month in _months(start, end):
        season = 2.0 if month.month in (6, 7, 8, 9) else 1.0  # campaigns peak with the risk season
        counts = rng.poisson(0.12 * season * weight)
        for code, k in zip(codes, counts, strict=True):
            for _ in range(k):
                fmt = formats[rng.choice(len(formats), p=shares)]
                _, people, material = _OUTREACH_FORMATS[fmt]
                day = month + dt.timedelta(days=int(rng.integers(0, 28)))
                if day > end:
                    continue
                rows.append((day, code, fmt, people, material))
    frame = pd.DataFrame(rows, columns=["day", "new_unit", "format", "people", "material"])
    frame = frame.sort_values(["day", "new_unit", "format"], kind="stable", ignore_index=True)
    old = frame["day"] < MERGER_DATE
    comp = registry.composition.groupby("new_code")["old_code"].apply(list)
    unit = [
        comp[c][int(rng.integers(len(comp[c])))] if o else c
        for c, o in zip(frame["new_unit"], old, strict=True)
    ]
    return pd.DataFrame(
        {
            "record_id": [f"DEMO-OUT-{i:06d}" for i in range(1, len(frame) + 1)],
            "date": frame["day"].map(lambda d: d.strftime("%d/%m/%Y")),
            "commune_code": unit,
            "commune": [
                (registry.legacy if o else registry.communes).at[u, "name"]
                for u, o in zip(unit, old, strict=True)
            ],
            "district": [registry.legacy.at[u, "district"] if o else "" for u, o in zip(unit, old, strict=True)],
            "agency": [_OUTREACH_AGENCIES[int(rng.integers(len(_OUTREACH_AGENCIES)))] for _ in unit],
            "format": frame["format"],
            "participants": [int(rng.poisson(p)) if p else 0 for p in frame["people"]],
            "materials": [int(rng.poisson(m)) if m else 0 for m in frame["material"]],
        }
    )


def _models(rng, registry, risk, start, end) -> pd.DataFrame:
    codes = risk.index.to_numpy()
    key = risk["risk"] >= risk["risk"].quantile(0.7)  # the riskiest communes: key areas
    rows = []
    for code in codes:
        n = rng.poisson(2.2 if key[code] else 0.8)
        for _ in range(n):
            kind = _MODEL_TYPES[int(rng.integers(len(_MODEL_TYPES)))]
            if kind == "border_civil_defence" and risk.at[code, "border_km"] > 15:
                kind = "zalo_group"
            intensive = rng.random() < (0.45 if key[code] else 0.1)
            begin = start + dt.timedelta(days=int(rng.integers(0, (end - start).days - 60)))
            stop = ""
            if rng.random() < 0.15:
                stop_day = begin + dt.timedelta(days=int(rng.integers(120, 720)))
                stop = stop_day.strftime("%d/%m/%Y") if stop_day <= end else ""
            rows.append((code, kind, "intensive" if intensive else "integrated", begin, stop))
    frame = pd.DataFrame(rows, columns=["code", "model_type", "class", "begin", "end_date"])
    frame = frame.sort_values(["begin", "code", "model_type"], kind="stable", ignore_index=True)
    return pd.DataFrame(
        {
            "record_id": [f"DEMO-MOD-{i:05d}" for i in range(1, len(frame) + 1)],
            "commune_code": frame["code"],
            "commune": registry.communes.loc[frame["code"], "name"].to_numpy(),
            "district": "",
            "model_type": frame["model_type"],
            "class": frame["class"],
            "start_date": frame["begin"].map(lambda d: d.strftime("%d/%m/%Y")),
            "end_date": frame["end_date"],
            "agency": np.where(
                frame["model_type"].isin(["border_civil_defence", "security_camera"]),
                "Bộ đội Biên phòng tỉnh",
                "Hội Liên hiệp Phụ nữ tỉnh",
            ),
        }
    )


def _population(rng, registry, communes_new, first_year, last_year) -> pd.DataFrame:
    """Synthetic residents per commune: wards dense, communes sparse, 2.9 million in all."""
    table = registry.communes
    area = communes_new.to_crs(_METRIC).area.reindex(table.index).to_numpy() / 1e6
    density = np.where(table["kind"] == "phuong", 1800.0, 300.0) * rng.lognormal(0, 0.35, len(table))
    base = area * density
    base = base / base.sum() * 2_900_000
    rows = []
    for year in range(first_year, last_year + 1):
        grown = base * (1.008 ** (year - first_year))
        share = np.clip(rng.normal(0.63, 0.02, len(table)), 0.55, 0.7)
        for code, pop, s in zip(table.index, grown, share, strict=True):
            rows.append((code, year, int(round(pop, -1)), int(round(pop * s, -1))))
    return pd.DataFrame(rows, columns=["commune_code", "year", "population", "population_14_60"])
