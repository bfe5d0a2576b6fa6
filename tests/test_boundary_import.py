"""Importing commune boundaries: the real reference file in every shape a province sends it."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from dashboard.cli import main
from geo.boundaries import imported_path, load_border, load_communes, load_outline
from geo.boundary_import import BoundaryImportError, import_boundaries
from geo.projections import vn2000_tm3

EQUAL_AREA = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global: areas in m²
METRIC = "EPSG:32648"  # WGS 84 / UTM 48N: distances in metres


@pytest.fixture(scope="module")
def reference(reference_dir: Path) -> gpd.GeoDataFrame:
    """The 96 reference communes, indexed by code (read from shared/, never copied)."""
    gdf = gpd.read_file(reference_dir / "tay_ninh_communes_2025.geojson")
    return gdf.set_index("code", drop=False).sort_index()


@pytest.fixture(scope="module")
def tm3_files(reference, tmp_path_factory) -> dict[str, Path]:
    """The reference in VN-2000 / TM-3 105°30': Shapefile with and without .prj, GeoPackage."""
    folder = tmp_path_factory.mktemp("tm3")
    tm3 = reference[["code", "fullName", "geometry"]].reset_index(drop=True)
    tm3 = tm3.rename(columns={"code": "MA_XA", "fullName": "TEN_XA"}).to_crs(vn2000_tm3(105.5))
    tm3.to_file(folder / "xa.shp")
    tm3.to_file(folder / "xa.gpkg", layer="ranh_gioi_xa")
    tm3.to_file(folder / "bare.shp")
    (folder / "bare.prj").unlink()
    return {"shp": folder / "xa.shp", "gpkg": folder / "xa.gpkg", "bare": folder / "bare.shp"}


def _write(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    gdf.reset_index(drop=True).to_file(path)
    return path


def _within(imported: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, metres: float) -> bool:
    """Whether every imported commune is within ``metres`` (Hausdorff) of the reference one.

    Each must cover the other widened by ``metres``: a bound on the true
    Hausdorff distance, and far faster than computing it on 150 000 vertices.
    """
    a = imported.to_crs(METRIC).geometry.array
    b = reference.loc[imported.index].to_crs(METRIC).geometry.array
    return bool(np.all(shapely.covers(shapely.buffer(a, metres), b)
                       & shapely.covers(shapely.buffer(b, metres), a)))


def _nothing_written(settings) -> bool:
    return not settings.boundaries_dir.exists() or not any(settings.boundaries_dir.iterdir())


# -- the reference file as it is ------------------------------------------------


def test_import_by_code_reproduces_the_reference(reference, reference_dir, settings):
    report = import_boundaries(reference_dir / "tay_ninh_communes_2025.geojson", settings)

    assert report.matched_by == "code" and report.fields["code"] == "code"
    assert report.matched_count == 96 and report.missing == () and report.unmatched == ()
    assert report.source_crs == "WGS 84 (EPSG:4326)" and report.datum_shift is None
    assert report.median_offset_km < 0.1
    communes = load_communes(settings, "2025")
    assert communes.attrs["approximate"] is False
    assert list(communes.index) == list(reference.index)
    assert list(communes.columns) == ["name", "geometry"]
    assert communes.at["25681", "name"] == "Xã Bến Cầu"
    ratio = communes.to_crs(EQUAL_AREA).area / reference.to_crs(EQUAL_AREA).area
    assert np.abs(ratio - 1).max() < 0.001
    assert report.written == (
        imported_path(settings, "communes_2025"),
        imported_path(settings, "province"),
        imported_path(settings, "border"),
    )


def test_the_province_outline_is_the_union_of_the_communes(reference_dir, settings):
    import_boundaries(reference_dir / "tay_ninh_communes_2025.geojson", settings)
    outline = load_outline(settings)
    province = gpd.read_file(reference_dir / "tay_ninh_province_2025.geojson")
    assert outline.attrs["approximate"] is False and len(outline) == 1
    assert outline.at[0, "code"] == "80"
    # 8520.7 km² against 8523.8 km² for the separately drawn reference outline
    area = outline.to_crs(EQUAL_AREA).area[0]
    assert area == pytest.approx(province.to_crs(EQUAL_AREA).area[0], rel=0.001)
    # the 12 slivers (≤ 21 m²) where neighbouring communes do not quite meet are closed
    parts = shapely.get_parts(outline.geometry.array)
    assert sum(len(p.interiors) for p in parts) == 0
    # the border line now follows the imported outline's Cambodian edge
    border = load_border(settings)
    assert border.attrs["approximate"] is False
    line = border.to_crs("EPSG:32648").geometry[0]  # lengths in a conformal (UTM) projection
    reference_line = gpd.read_file(
        reference_dir / "tay_ninh_cambodia_border_2025_derived.geojson"
    ).to_crs("EPSG:32648").geometry[0]
    assert line.length == pytest.approx(reference_line.length, rel=0.05)
    assert line.hausdorff_distance(reference_line) < 6000


def test_import_by_name_alone(reference, tmp_path, settings):
    names = _write(reference.drop(columns=["code", "id"]), tmp_path / "names.geojson")
    report = import_boundaries(names, settings)

    assert report.matched_by == "name" and report.fields["name"] == "fullName"
    assert report.matched_count == 96 and report.missing == ()
    communes = load_communes(settings)
    # every name found the very polygon the reference gives that code
    assert _within(communes, reference, 0.001)


def test_names_without_diacritics_leave_tan_thanh_ambiguous(reference, tmp_path, settings):
    """"Tan Thanh" is both Xã Tân Thành (25534) and Xã Tân Thạnh (27826)."""
    english = _write(reference[["nameEn", "geometry"]], tmp_path / "en.geojson")
    with pytest.raises(BoundaryImportError, match="2 of 96 units") as err:
        import_boundaries(english, settings, name_field="nameEn")
    report = err.value.report
    assert report.matched_count == 94
    assert [code for code, _ in report.missing] == ["25534", "27826"]
    assert len(report.unmatched) == 2
    assert all("ambiguous" in u.reason and u.values == {"nameEn": "Tan Thanh"}
               for u in report.unmatched)
    assert _nothing_written(settings)


# -- VN-2000 files -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["shp", "gpkg"])
def test_vn2000_tm3_files_come_back_within_a_metre(kind, tm3_files, reference, settings):
    report = import_boundaries(tm3_files[kind], settings)

    assert report.crs_origin == "file"
    assert report.fields["code"] == "MA_XA" and report.matched_count == 96
    if kind == "shp":  # the ESRI .prj names the datum; the shift is bound again on reading
        assert report.source_crs == "VN-2000 / TM-3 105-30 (EPSG:9209)"
        assert report.datum_shift.startswith("VN-2000 to WGS 84 (2) (EPSG:6960)")
    else:
        assert report.layer == "ranh_gioi_xa"
    # within 1 m asked; 0.23 mm measured (TM-3 and back, two datum shifts)
    assert _within(load_communes(settings), reference, 0.01)


def test_a_shapefile_without_prj_needs_a_crs(tm3_files, settings):
    with pytest.raises(BoundaryImportError, match=r"--crs VN2000-TM3-105\.5") as err:
        import_boundaries(tm3_files["bare"], settings)
    assert err.value.report is None
    assert _nothing_written(settings)


def test_a_shapefile_without_prj_with_the_crs_given(tm3_files, reference, settings):
    report = import_boundaries(tm3_files["bare"], settings, crs="VN2000-TM3-105.5")

    assert report.crs_origin == "argument" and report.matched_count == 96
    # within 1 m asked; 0.23 mm measured (TM-3 and back, two datum shifts)
    assert _within(load_communes(settings), reference, 0.01)


def test_the_wrong_central_meridian_is_caught_and_the_right_one_suggested(tm3_files, settings):
    with pytest.raises(BoundaryImportError) as err:
        import_boundaries(tm3_files["bare"], settings, crs="VN2000-TM3-105.75")
    message = str(err.value)
    assert "median 27.3 km" in message and "27.3 km east" in message
    assert "try --crs VN2000-TM3-105.5" in message
    assert _nothing_written(settings)


def test_metres_declared_as_degrees_are_caught(tm3_files, settings):
    with pytest.raises(BoundaryImportError, match="no feature lies in Tây Ninh") as err:
        import_boundaries(tm3_files["bare"], settings, crs="EPSG:4326")
    assert "try --crs VN2000-TM3-105.5" in str(err.value)


def test_swapped_axes_are_caught(reference, tmp_path, settings):
    tm3 = reference[["code", "geometry"]].to_crs(vn2000_tm3(105.5))
    tm3["geometry"] = shapely.transform(tm3.geometry.array, lambda xy: xy[:, ::-1])
    swapped = _write(tm3, tmp_path / "swapped.gpkg")
    with pytest.raises(BoundaryImportError, match="easting and northing swapped"):
        import_boundaries(swapped, settings)
    assert _nothing_written(settings)


# -- what the report says ------------------------------------------------------------


def test_missing_units_stop_the_import(reference, tmp_path, settings):
    dropped = ["25459", "25480", "25486"]
    partial = _write(reference.drop(index=dropped), tmp_path / "partial.geojson")
    with pytest.raises(BoundaryImportError, match="3 of 96 units") as err:
        import_boundaries(partial, settings)
    assert all(code in str(err.value) for code in dropped)
    assert [code for code, _ in err.value.report.missing] == dropped
    assert _nothing_written(settings)

    report = import_boundaries(partial, settings, allow_missing=True)
    assert report.missing == (
        ("25459", "Phường Tân Ninh"), ("25480", "Phường Bình Minh"), ("25486", "Xã Tân Biên")
    )
    assert "Missing units: 3" in report.summary_lines()
    assert len(load_communes(settings)) == 93
    # a partial outline has no true Cambodian edge: the bundled border stays
    assert load_border(settings).attrs["approximate"] is True


def test_an_unknown_name_is_reported_with_its_fields(reference, tmp_path, settings):
    renamed = reference.drop(columns=["code", "id"]).reset_index(drop=True)
    renamed.loc[10, "fullName"] = "Xã Không Có"
    path = _write(renamed, tmp_path / "renamed.geojson")
    report = import_boundaries(path, settings, allow_missing=True)

    (unmatched,) = report.unmatched
    assert unmatched.row == 10 and unmatched.values == {"fullName": "Xã Không Có"}
    assert unmatched.reason == "name matches no 2025 unit"
    assert report.missing == ((reference.index[10], reference["fullName"].iloc[10]),)
    assert "  feature 10 (fullName='Xã Không Có'): name matches no 2025 unit" in (
        report.summary_lines()
    )


def test_a_code_of_another_set_is_reported(reference, tmp_path, settings):
    recoded = reference.reset_index(drop=True)
    recoded.loc[0, "code"] = "25462"  # Phường 4 of the former Tây Ninh city, now in 25459
    path = _write(recoded, tmp_path / "recoded.geojson")
    report = import_boundaries(path, settings, allow_missing=True)
    assert [u.reason for u in report.unmatched] == [
        "code 25462 is not a 2025 unit (it is a legacy one)"
    ]


def test_pieces_of_one_commune_are_dissolved(reference, tmp_path, settings):
    pieces = _write(reference.explode(index_parts=False), tmp_path / "pieces.geojson")
    report = import_boundaries(pieces, settings)
    assert report.n_features == 97 and report.duplicates == {"25588": 2}
    communes = load_communes(settings)
    assert communes.at["25588", "geometry"].geom_type == "MultiPolygon"
    assert len(communes.at["25588", "geometry"].geoms) == 2


def test_an_invalid_polygon_is_made_valid(reference, tmp_path, settings):
    bowtie = reference.reset_index(drop=True)
    x0, y0, x1, y1 = bowtie.geometry[0].bounds
    bowtie.loc[0, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    path = _write(bowtie, tmp_path / "bowtie.geojson")
    import_boundaries(path, settings)
    communes = load_communes(settings)
    assert communes.is_valid.all()
    assert communes.geometry.iloc[0].area == pytest.approx((x1 - x0) * (y1 - y0) / 2)


# -- files that are refused ----------------------------------------------------------


def test_a_corrupt_file_is_refused(tmp_path, settings):
    junk = tmp_path / "xa.geojson"
    junk.write_bytes(np.random.default_rng(7).bytes(4096))
    with pytest.raises(BoundaryImportError, match="not the GeoJSON file"):
        import_boundaries(junk, settings)
    assert _nothing_written(settings)


def test_points_are_refused(reference, tmp_path, settings):
    points = reference.copy()
    points["geometry"] = reference.representative_point()
    path = _write(points, tmp_path / "points.geojson")
    with pytest.raises(BoundaryImportError, match="must be polygons.*96 Point features"):
        import_boundaries(path, settings)


def test_an_empty_file_is_refused(reference, tmp_path, settings):
    path = _write(reference.iloc[:0], tmp_path / "empty.gpkg")
    with pytest.raises(BoundaryImportError, match="has no features"):
        import_boundaries(path, settings)


def test_an_unknown_layer_is_refused(tm3_files, settings):
    with pytest.raises(BoundaryImportError, match="its layers are ranh_gioi_xa"):
        import_boundaries(tm3_files["gpkg"], settings, layer="xa")


# -- the command line ---------------------------------------------------------------


def test_cli_imports_and_prints_the_summary(reference_dir, tmp_path, capsys):
    data = tmp_path / "data"
    code = main(["--data-dir", str(data), "boundaries", "import",
                 str(reference_dir / "tay_ninh_communes_2025.geojson")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Matched by code field 'code': 96 of 96 units of set 2025" in out
    assert f"Written: {data / 'boundaries' / 'communes_2025.gpkg'}" in out
    assert (data / "boundaries" / "province.gpkg").exists()


def test_cli_fails_with_a_clear_message(tm3_files, tmp_path, capsys):
    data = tmp_path / "data"
    code = main(["--data-dir", str(data), "boundaries", "import", str(tm3_files["bare"])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: bare.shp does not say which coordinate system")
    assert not (data / "boundaries").exists()

    code = main(["--data-dir", str(data), "boundaries", "import", str(tm3_files["bare"]),
                 "--crs", "VN2000-TM3-105.5"])
    assert code == 0 and "96 of 96 units" in capsys.readouterr().out
