"""The bundled approximate boundaries: complete, a clean coverage, nested, close to the real map."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.approx_boundaries import METRIC_CRS, build_approximate_boundaries
from geo.boundaries import bundled_path, load_border, load_communes, load_outline
from scripts.measure_boundaries import border_accuracy, commune_accuracy


@pytest.fixture(scope="module")
def bundled(registry):
    return {
        name: gpd.read_file(bundled_path(name)).to_crs(METRIC_CRS)
        for name in ("communes_2025", "communes_legacy", "province", "border")
    }


def test_every_registry_unit_has_exactly_one_valid_polygon(bundled, registry):
    new, old = bundled["communes_2025"], bundled["communes_legacy"]
    assert sorted(new["code"]) == sorted(registry.communes.index)
    assert sorted(old["code"]) == sorted(registry.legacy.index)
    for gdf in (new, old):
        assert gdf.is_valid.all()
        assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
        assert (gdf.area > 0).all()


@pytest.mark.parametrize("layer", ["communes_2025", "communes_legacy"])
def test_communes_tile_the_province_without_overlap_or_gap(bundled, layer):
    gdf = bundled[layer]
    outline = bundled["province"].geometry.union_all()
    total = gdf.area.sum()
    assert sum(len(p.interiors) for p in shapely.get_parts(outline)) == 0, "no enclave holes"
    # No overlap: the sum of the parts equals their union; no gap: the union is the outline.
    assert total == pytest.approx(gdf.geometry.union_all().area, rel=1e-4)
    assert total == pytest.approx(outline.area, rel=1e-4)


def test_old_communes_nest_inside_the_new_communes_they_formed(bundled, registry):
    new = bundled["communes_2025"].set_index("code").geometry
    old = bundled["communes_legacy"].set_index("code").geometry
    comp = registry.composition
    for old_code, geom in old.items():
        targets = comp.loc[comp["old_code"] == old_code, "new_code"]
        holder = shapely.union_all(new.loc[list(targets)].to_numpy())
        outside = shapely.difference(geom, holder).area
        assert outside <= 1e-3 * geom.area, old_code
    # and a new commune is exactly covered by its old pieces
    for new_code, geom in new.items():
        pieces = shapely.union_all(old.loc[registry.old_codes_of(new_code)].to_numpy())
        assert shapely.difference(geom, pieces).area <= 1e-3 * geom.area, new_code


def test_bundled_communes_are_close_to_the_real_2025_map(bundled, reference_dir):
    reference = gpd.read_file(reference_dir / "tay_ninh_communes_2025.geojson").to_crs(METRIC_CRS)
    table = commune_accuracy(bundled["communes_2025"], reference)
    assert len(table) == 96
    # Measured 0.71 / 0.57 / 3.7 % (docs/boundary_accuracy.md); the naive Voronoi gives 0.61 / 0.45 / 14 %.
    assert table["iou"].median() >= 0.68
    assert table["iou"].quantile(0.1) >= 0.5
    assert table["area_error_pct"].abs().median() <= 10


def test_border_line_follows_the_real_border(bundled, reference_dir):
    reference = gpd.read_file(reference_dir / "tay_ninh_cambodia_border_2025_derived.geojson")
    figures = border_accuracy(bundled["border"], reference.to_crs(METRIC_CRS))
    assert bundled["border"].geom_type.iloc[0] == "LineString"
    assert figures["length_km"] == pytest.approx(figures["reference_length_km"], rel=0.15)
    assert figures["median_distance_km"] < 2.5
    assert figures["hausdorff_km"] < 10
    # the line lies on the province outline
    outline = bundled["province"].geometry.union_all()
    assert bundled["border"].geometry.iloc[0].distance(outline.boundary) < 1.0


def test_loaders_mark_bundled_geometry_approximate(settings):
    communes = load_communes(settings, "2025")
    assert communes.attrs["approximate"] is True
    assert (communes.index.str.len() == 5).all()
    assert load_outline(settings).attrs["approximate"] is True
    assert load_border(settings).crs.to_epsg() == 4326


def test_builder_is_deterministic_and_fits_areas_at_coarse_resolution(registry):
    first = build_approximate_boundaries(registry, resolution_m=1000, iterations=15)
    second = build_approximate_boundaries(registry, resolution_m=1000, iterations=15)
    assert first.communes_new.geometry.equals(second.communes_new.geometry)
    fit = first.fit
    # Each area lands near its (clamped) target: the fit does its job.
    rel = (fit["area_km2"] - fit["target_km2"]).abs() / fit["target_km2"]
    assert np.median(rel) < 0.15
    assert len(first.communes_legacy) == 280


def test_border_of_a_real_outline_is_its_cambodian_edge(registry, reference_dir):
    from geo.approx_boundaries import border_of_outline

    outline = gpd.read_file(reference_dir / "tay_ninh_province_2025.geojson")
    border = border_of_outline(outline, registry)
    reference = gpd.read_file(reference_dir / "tay_ninh_cambodia_border_2025_derived.geojson")
    figures = border_accuracy(border.to_crs(METRIC_CRS), reference.to_crs(METRIC_CRS))
    # Measured: 336 of 344 km, on the reference line (median 0 m), ends trimmed by < 5 km.
    assert figures["length_km"] == pytest.approx(figures["reference_length_km"], rel=0.05)
    assert figures["median_distance_km"] < 0.01
    assert figures["hausdorff_km"] < 6
