"""Build the bundled approximate boundaries (data/boundaries/*.geojson) from the registry.

Run once after a registry upgrade; the output is committed. Deterministic:
the same registry gives the same files.

    .venv/bin/python scripts/build_boundaries.py [--resolution 200]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import BOUNDARIES_DIR  # noqa: E402
from geo.approx_boundaries import build_approximate_boundaries  # noqa: E402
from geo.units import load_registry  # noqa: E402

_NOTE = (
    "Ranh giới gần đúng, dựng từ tâm, khung bao và diện tích trong danh mục đơn vị hành chính; "
    "không phải ranh giới pháp lý. / Approximate boundaries built from the registry's centroids, "
    "bounding boxes and areas; not legal boundaries."
)


def _write(gdf, path: Path, precision: int = 5) -> None:
    text = gdf.to_json(drop_id=True, to_wgs84=True)
    data = json.loads(text, parse_float=lambda v: round(float(v), precision))
    data["name"] = path.stem
    data["description"] = _NOTE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=200.0, help="raster cell, metres")
    args = parser.parse_args()
    built = build_approximate_boundaries(load_registry(), resolution_m=args.resolution)
    BOUNDARIES_DIR.mkdir(parents=True, exist_ok=True)
    _write(built.communes_new, BOUNDARIES_DIR / "communes_2025.geojson")
    _write(built.communes_legacy, BOUNDARIES_DIR / "communes_legacy.geojson")
    _write(built.province, BOUNDARIES_DIR / "province.geojson")
    _write(built.border, BOUNDARIES_DIR / "border.geojson")
    built.fit.to_csv(BOUNDARIES_DIR / "area_fit.csv")
    for name in ("communes_2025", "communes_legacy", "province", "border"):
        size = (BOUNDARIES_DIR / f"{name}.geojson").stat().st_size
        print(f"{name}.geojson: {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
