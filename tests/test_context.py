"""What the app reads once at start (dashboard/context.py): an upload reuses it."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from dashboard.context import build_context
from geo.config import Settings
from geo.units import NEW, OLD


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return build_context(Settings(data_dir=tmp_path_factory.mktemp("var")))


def test_the_places_an_upload_resolves_against_are_the_boundaries_read_at_start(ctx):
    assert ctx.places.registry is ctx.registry
    assert ctx.places.communes_new is ctx.communes[NEW]
    assert ctx.places.communes_old is ctx.communes[OLD]
    assert ctx.places.outline.contains(ctx.communes[NEW].geometry.iloc[0].representative_point())


def test_an_upload_reads_no_boundary_file_again(ctx, tmp_path, monkeypatch):
    """The import page resolves an upload with the context's places: reading the polygons
    again (Places.load) would fail here."""
    import geo.ingest.importer
    from dashboard.pages import import_records
    from geo.store import open_store

    def no_reading(*args, **kwargs):
        raise AssertionError("the boundaries were read again for an upload")

    monkeypatch.setattr(geo.ingest.importer.Places, "load", no_reading)
    monkeypatch.setattr("geo.boundaries.load_communes", no_reading)
    path = tmp_path / "truyen_thong.csv"
    path.write_text("Mã hồ sơ,Ngày,Mã xã,Hình thức,Số người tham dự\n"
                    "TP-1,30/07/2024,25699,meeting,30\n", encoding="utf-8")
    pending = {"kind": "outreach", "source": "Công an tỉnh", "strict": True,
               "filename": path.name, "received": dt.date.today().isoformat()}
    with open_store(ctx.settings) as store:
        report = import_records._run(ctx, store, path, pending, preview=True)
    assert report.accepted == 1 and report.rejected == 0


def test_the_communes_geojson_is_each_shape_simplified_and_rounded(ctx):
    """The screen shapes, written for the whole array at once, are what writing each commune
    on its own (``shapely.geometry.mapping``) and rounding to 5 decimals gives, byte for
    byte, with the name and the code of every commune."""
    import json

    import shapely

    from dashboard.context import screen_geojson

    for unit_set in (NEW, OLD):
        communes = ctx.communes[unit_set]
        text = screen_geojson(communes)
        simple = [shapely.simplify(g, 0.0005, preserve_topology=True) for g in communes.geometry]
        one_by_one = json.loads(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": code, "properties": {"name": name},
             "geometry": shapely.geometry.mapping(g)}
            for code, name, g in zip(communes.index, communes["name"], simple, strict=True)]}),
            parse_float=lambda s: round(float(s), 5))
        assert text == json.dumps(one_by_one, ensure_ascii=False, separators=(",", ":"))
        assert [f["id"] for f in json.loads(text)["features"]] == list(communes.index)


def test_the_grid_geojson_draws_each_cell_to_a_metre(ctx):
    """Density squares and hexagons come back as the same polygons to 1e-5° (about a
    metre), one feature per cell with its id; a shape with a hole is refused."""
    import json

    import geopandas as gpd
    import pandas as pd
    import shapely

    from dashboard.geometry import cells_geojson
    from geo.boundaries import load_outline
    from layers.density import hexagon_counts, kernel_density

    outline = load_outline(ctx.settings)
    empty = pd.DataFrame({"date": pd.to_datetime([]), "type": [], "new_code": [],
                          "old_code": [], "lat": [], "lon": []})
    for cells in (kernel_density(empty, outline, cell_km=2.0).cells,
                  hexagon_counts(empty, outline, resolution=7)):
        features = json.loads(cells_geojson(cells))["features"]
        assert [f["id"] for f in features] == [str(i) for i in cells.index]
        drawn = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
        assert shapely.equals_exact(drawn, cells.geometry.values, tolerance=1e-5).all()
        assert len(features) > 1000
    holed = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 3, 3).difference(shapely.box(1, 1, 2, 2))])
    with pytest.raises(ValueError, match="holes"):
        cells_geojson(holed)
    assert json.loads(cells_geojson(holed.iloc[:0])) == {"type": "FeatureCollection",
                                                          "features": []}


def test_the_cube_is_built_once_per_store_revision(ctx, tmp_path):
    """ctx.cube(): the same cube while the store is unchanged; after an import, the cube of
    the new records (both unit sets, the codes of the boundaries read at start)."""
    from geo.ingest import import_file
    from geo.store import open_store

    before = ctx.cube()
    assert ctx.cube() is before
    assert list(before.units(NEW)) == list(ctx.communes[NEW].index)
    assert list(before.units(OLD)) == list(ctx.communes[OLD].index)
    had = int(before.counts(NEW, ["tip"]).sum())
    path = tmp_path / "vu_viec.csv"
    path.write_text("Mã hồ sơ,Ngày,Loại,Mã xã\nCUBE-1,05/08/2025,tip,25681\n"
                    "CUBE-2,06/08/2025,tip,25681\n", encoding="utf-8")
    with open_store(ctx.settings) as store:
        assert import_file(path, "incidents", store, ctx.places).accepted == 2
    after = ctx.cube()
    assert after is not before and ctx.cube() is after
    counts = after.counts(NEW, ["tip"], dt.date(2025, 8, 5), dt.date(2025, 8, 6))
    assert counts["25681"] == 2 and counts.sum() == 2
    assert int(after.counts(NEW, ["tip"]).sum()) == had + 2


def test_shapes_kept_by_a_boundaries_import_are_what_the_next_start_reads(tmp_path,
                                                                          monkeypatch):
    """keep_screen_shapes (``borderwatch boundaries import``'s last step) writes the screen
    GeoJSON of both unit sets; a start after it simplifies no commune."""
    from dashboard import context
    from dashboard.context import keep_screen_shapes
    from geo.boundaries import load_communes

    settings = Settings(data_dir=tmp_path / "var")
    kept = keep_screen_shapes(settings)
    assert kept == {s: context.screen_geojson(load_communes(settings, s)) for s in (NEW, OLD)}
    assert len(list(settings.cache_dir.glob("shapes-*.pickle"))) == 2

    def no_simplifying(communes):
        raise AssertionError("the shapes were made again at start")

    monkeypatch.setattr(context, "screen_geojson", no_simplifying)
    assert build_context(settings).geojson == kept


def test_the_import_page_has_the_new_records_read_and_kept_at_once(ctx, tmp_path):
    """After a committed upload the server reads the new revision in the background and
    keeps it in the cache folder: the next page finds it loaded, a restart reads the file."""
    import time

    from dashboard.pages import import_records
    from dashboard.records import snapshot_key
    from geo.ingest import import_file
    from geo.store import open_store

    path = tmp_path / "vu_viec.csv"
    path.write_text("Mã hồ sơ,Ngày,Loại,Mã xã\nPAGE-1,07/08/2025,tip,25681\n",
                    encoding="utf-8")
    with open_store(ctx.settings) as store:
        assert import_file(path, "incidents", store, ctx.places).accepted == 1
        revision = store.revision()
        key = snapshot_key(ctx.settings, store, revision)
    assert ctx.records.last_known().revision != revision
    import_records._keep_records(ctx)
    waited = 0.0
    while ctx.records.last_known().revision != revision and waited < 120:
        time.sleep(0.1)
        waited += 0.1
    assert ctx.records.last_known().revision == revision
    assert "PAGE-1" in set(ctx.records.last_known().incidents["record_id"])
    assert (ctx.settings.cache_dir / f"records-{key}.pickle").exists()


def test_a_unit_table_is_the_communes_without_geometry_each_reader_its_own(ctx):
    """Made once per unit set; each reader gets its own copy (one that writes into it
    changes nothing for the next), and new boundaries make a new table."""
    import geopandas as gpd
    import pandas as pd

    for unit_set in (NEW, OLD):
        communes = ctx.communes[unit_set]
        table = ctx.unit_table(unit_set)
        assert not isinstance(table, gpd.GeoDataFrame) and "geometry" not in table.columns
        pd.testing.assert_frame_equal(table, pd.DataFrame(communes.drop(columns="geometry")))
        table.loc[table.index[0], "name"] = "đã sửa"
        table["extra"] = 1
        again = ctx.unit_table(unit_set)
        assert again is not table and "extra" not in again.columns
        assert again["name"].iloc[0] == communes["name"].iloc[0] != "đã sửa"
    moved = ctx.communes[NEW].iloc[:3]
    replaced = dataclasses.replace(ctx, communes={**ctx.communes, NEW: moved})
    assert list(replaced.unit_table(NEW).index) == list(moved.index)
    assert len(ctx.unit_table(NEW)) == len(ctx.communes[NEW]) > 3


# -- the registry chosen from the boundaries (issue 18: the national server) -------------------


def test_on_the_bundled_boundaries_the_registry_is_tay_ninh_s(ctx):
    from geo.units import load_registry

    assert ctx.registry is load_registry()
    assert "province_code" not in ctx.registry.communes.columns


@pytest.fixture(scope="module")
def two_provinces(tmp_path_factory):
    """A data folder whose imported boundaries are synthetic communes of Tây Ninh (80) and
    Lai Châu (12, 38 communes), with incidents of 2025 in both written as users' files."""
    from tests.cache import two_provinces as data

    return data(tmp_path_factory.mktemp("two_provinces"))


def test_on_boundaries_of_two_provinces_the_registry_covers_both(two_provinces):
    from geo.boundaries import load_communes
    from geo.ingest.importer import Places

    settings, _, _ = two_provinces
    ctx = build_context(settings)
    communes = ctx.registry.communes
    assert communes["province_code"].value_counts().to_dict() == {"80": 96, "12": 38}
    assert set(communes.index) == set(load_communes(settings, NEW).index)
    assert set(ctx.registry.legacy.index) == set(load_communes(settings, OLD).index)
    assert ctx.places.registry is ctx.registry
    assert Places.load(settings).registry is ctx.registry   # a CLI import reads the same


def test_a_release_plan_of_records_in_both_provinces_has_no_stray(two_provinces, caplog):
    """Every record of either province is a unit of the plan's registry: none counted in
    the nation's unplaced part, each province's totals the count of its records."""
    from dashboard.release_worker import build_release
    from geo.ingest import import_file
    from geo.store import open_store
    from geo.units import load_registry
    from layers.suppression.dimensions import stray_pieces
    from layers.suppression.national import province_of

    settings, path, frame = two_provinces
    ctx = build_context(settings)
    with open_store(settings) as store:
        report = import_file(path, "incidents", store, ctx.places)
    assert report.accepted == len(frame) > 300 and report.rejected == 0
    incidents = ctx.records.current().incidents
    where = pd.Series(province_of(incidents, ctx.registry))
    assert where.notna().all() and set(where) == {"12", "80"}
    assert stray_pieces(incidents, ctx.registry) == ()
    assert ("?", "?") in stray_pieces(incidents, load_registry())   # what the server did before

    with caplog.at_level("WARNING", logger="borderwatch"):
        plan = build_release(incidents, ctx.registry, settings.small_count, 2025)["plan"]
    assert not [r for r in caplog.records if "do not meet" in r.getMessage()]
    assert plan.national.provinces == ("12", "80")
    cells = plan.national.cells
    units = cells.index.get_level_values("unit")
    assert not units.str.contains("?", regex=False).any()
    totals = cells.xs("2025", level="period")["count"]
    for code in ("12", "80"):
        mine = incidents[(where == code).to_numpy()]
        expected = mine["type"].value_counts()
        got = totals.xs(f"province:{code}", level="unit")
        assert got.to_dict() == expected.reindex(got.index, fill_value=0).to_dict()
    nation = totals.xs("nation", level="unit")
    assert nation.to_dict() == incidents["type"].value_counts().reindex(nation.index).to_dict()
