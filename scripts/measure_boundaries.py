"""Measure the bundled approximate boundaries against the real 2025 boundary map.

Reads the reference files from ``../shared/reference`` (or ``--reference``),
never copies them, and writes ``docs/boundary_accuracy.md``: the per-commune
area error and overlap (IoU), the province outline's overlap, and the border
line's distance to the reference border.

    .venv/bin/python scripts/measure_boundaries.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.approx_boundaries import METRIC_CRS  # noqa: E402
from geo.boundaries import bundled_path  # noqa: E402
from geo.units import load_registry  # noqa: E402


def _read(path: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(path).to_crs(METRIC_CRS)


def commune_accuracy(bundled: gpd.GeoDataFrame, reference: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per commune: areas (km²), signed area error (%) and IoU of bundled vs reference."""
    ours = bundled.set_index(bundled["code"].astype(str).str.zfill(5)).geometry
    ref = reference.set_index(reference["code"].astype(str).str.zfill(5)).geometry.reindex(ours.index)
    inter = ours.intersection(ref).area
    union = ours.area + ref.area - inter
    return pd.DataFrame(
        {
            "name": bundled.set_index(ours.index)["name"],
            "reference_km2": (ref.area / 1e6).round(1),
            "bundled_km2": (ours.area / 1e6).round(1),
            "area_error_pct": ((ours.area - ref.area) / ref.area * 100).round(1),
            "iou": (inter / union).round(3),
        }
    )


def voronoi_baseline(registry, outline) -> pd.Series:
    """IoU of the naive alternative: Voronoi cells of the registry centroids, cut to our outline."""
    import shapely

    points = gpd.GeoSeries(
        gpd.points_from_xy(registry.communes["lon"], registry.communes["lat"]), crs="EPSG:4326"
    ).to_crs(METRIC_CRS)
    cells = shapely.voronoi_polygons(shapely.multipoints(points.values))
    cell_geoms = np.asarray(cells.geoms)
    order = shapely.STRtree(cell_geoms).query(points.values, predicate="within")
    by_point = np.empty(len(points), dtype=object)
    by_point[order[0]] = cell_geoms[order[1]]
    return gpd.GeoDataFrame(
        {"code": registry.communes.index, "name": registry.communes["name"].to_numpy()},
        geometry=shapely.intersection(by_point, outline),
        crs=METRIC_CRS,
    )


def border_accuracy(bundled: gpd.GeoDataFrame, reference: gpd.GeoDataFrame) -> dict[str, float]:
    """Length and distances (km) between the bundled and the reference border line."""
    ours, ref = bundled.geometry.union_all(), reference.geometry.union_all()
    samples = [ours.interpolate(f, normalized=True) for f in np.linspace(0, 1, 500)]
    dist = np.array([ref.distance(p) for p in samples]) / 1e3
    return {
        "length_km": ours.length / 1e3,
        "reference_length_km": ref.length / 1e3,
        "median_distance_km": float(np.median(dist)),
        "p90_distance_km": float(np.percentile(dist, 90)),
        "hausdorff_km": ours.hausdorff_distance(ref) / 1e3,
    }


def _markdown(
    table: pd.DataFrame, outline: dict, border: dict, registry_err: float, baseline: pd.DataFrame
) -> str:
    err = table["area_error_pct"].abs()
    lines = [
        "# Accuracy of the bundled approximate boundaries",
        "",
        "Measured by `scripts/measure_boundaries.py` against the 2025 commune map in",
        "`../shared/reference` (bando reference map via thanglequoc/vietnamese-provinces-database;",
        "not bundled, see its SOURCES.md). The bundled polygons are built from the registry alone",
        "(`geo/approx_boundaries.py`).",
        "",
        "## Summary",
        "",
        "| measure | value |",
        "|---|---|",
        f"| communes compared | {len(table)} |",
        f"| median overlap (IoU) | {table['iou'].median():.2f} |",
        f"| 10th percentile IoU | {table['iou'].quantile(0.1):.2f} |",
        f"| median absolute area error | {err.median():.1f} % |",
        f"| 90th percentile absolute area error | {err.quantile(0.9):.1f} % |",
        f"| communes within 10 % of the reference area | {(err <= 10).sum()} of {len(table)} |",
        f"| baseline (plain Voronoi of registry centroids): median / p10 IoU | "
        f"{baseline['iou'].median():.2f} / {baseline['iou'].quantile(0.1):.2f} |",
        f"| baseline median absolute area error | {baseline['area_error_pct'].abs().median():.1f} % |",
        f"| registry area vs reference area, median absolute difference | {registry_err:.1f} % |",
        f"| province area, bundled / reference | {outline['bundled_km2']:,.0f} / {outline['reference_km2']:,.0f} km² |",
        f"| province outline IoU | {outline['iou']:.3f} |",
        f"| border length, bundled / reference | {border['length_km']:.0f} / {border['reference_length_km']:.0f} km |",
        f"| border distance to reference, median / p90 / max | {border['median_distance_km']:.1f} / "
        f"{border['p90_distance_km']:.1f} / {border['hausdorff_km']:.1f} km |",
        "",
        "Some registry areas disagree with the map (e.g. Xã Tân Hòa 58.6 km² in the registry,",
        "about 416 km² on the map); the construction holds each commune's area within a factor",
        "1.5 of its unfitted cell, so those communes keep a plausible size instead of the registry's.",
        "",
        "## Per commune (sorted by IoU)",
        "",
        "| code | commune | reference km² | bundled km² | area error % | IoU |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for code, row in table.sort_values("iou").iterrows():
        lines.append(
            f"| {code} | {row['name']} | {row['reference_km2']:.1f} | {row['bundled_km2']:.1f} | "
            f"{row['area_error_pct']:+.1f} | {row['iou']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "boundary_accuracy.md")
    args = parser.parse_args()
    ref_communes = _read(args.reference / "tay_ninh_communes_2025.geojson")
    table = commune_accuracy(_read(bundled_path("communes_2025")), ref_communes)
    ours_outline = _read(bundled_path("province")).geometry.union_all()
    ref_outline = _read(args.reference / "tay_ninh_province_2025.geojson").geometry.union_all()
    outline = {
        "bundled_km2": ours_outline.area / 1e6,
        "reference_km2": ref_outline.area / 1e6,
        "iou": ours_outline.intersection(ref_outline).area / ours_outline.union(ref_outline).area,
    }
    border = border_accuracy(
        _read(bundled_path("border")),
        _read(args.reference / "tay_ninh_cambodia_border_2025_derived.geojson"),
    )
    baseline = commune_accuracy(voronoi_baseline(load_registry(), ours_outline), ref_communes)
    registry = load_registry().communes["area_km2"]
    ref_area = ref_communes.set_index("code").area.reindex(registry.index) / 1e6
    registry_err = float(((registry - ref_area).abs() / ref_area * 100).median())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_markdown(table, outline, border, registry_err, baseline), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8").split("## Per commune")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
