"""A province's own basemap: MBTiles and PMTiles archives read, checked, and served by the route."""

from __future__ import annotations

import sqlite3

import pytest
from flask import Flask

from dashboard.figures.context import basemap_layers
from dashboard.tiles import install_basemap
from geo.basemap import BasemapError, open_basemap, read_tile
from geo.config import Settings
from tests.tile_archives import png_tile, tiles_over, write_mbtiles, write_pmtiles

TILES = tiles_over()


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("basemaps")
    # each tile a different colour: a wrong row (TMS vs XYZ) would give another tile's bytes
    tiles = {key: png_tile((i % 256, 100, 200)) for i, key in enumerate(TILES)}
    return tiles, {"mbtiles": write_mbtiles(folder / "tinh.mbtiles", tiles),
                   "pmtiles": write_pmtiles(folder / "tinh.pmtiles", tiles)}


@pytest.mark.parametrize("kind", ["mbtiles", "pmtiles"])
def test_every_tile_read_back_in_the_xyz_scheme(archives, kind):
    tiles, paths = archives
    basemap = open_basemap(paths[kind])
    assert (basemap.format, basemap.tile_type, basemap.raster) == (kind, "png", True)
    assert (basemap.minzoom, basemap.maxzoom) == (7, 10)
    assert basemap.bounds == pytest.approx((105.8, 10.4, 106.9, 11.8))
    assert basemap.attribution  # the archive's own, shown on the map
    for key, data in tiles.items():
        assert read_tile(basemap, *key) == data, key


@pytest.mark.parametrize("kind", ["mbtiles", "pmtiles"])
@pytest.mark.parametrize("zxy", [(3, 0, 0), (9, -1, 0), (9, 0, 512), (30, 0, 0), (8, 255, 255),
                                 (6, 50, 30)])
def test_no_tile_outside_the_grid_or_the_archive(archives, kind, zxy):
    assert read_tile(open_basemap(archives[1][kind]), *zxy) is None


def test_a_file_not_what_its_suffix_says_is_refused(tmp_path):
    fake = tmp_path / "roads.mbtiles"
    fake.write_text("<html>not a database</html>")
    with pytest.raises(BasemapError, match="not an SQLite"):
        open_basemap(fake)
    fake = tmp_path / "roads.pmtiles"
    fake.write_bytes(b"PMTiles\x02" + b"\0" * 200)  # version 2: not read
    with pytest.raises(BasemapError, match="version 3"):
        open_basemap(fake)
    other = tmp_path / "roads.sqlite"
    other.write_bytes(b"SQLite format 3\x00")
    with pytest.raises(BasemapError, match=".mbtiles or .pmtiles"):
        open_basemap(other)
    with pytest.raises(BasemapError, match="no such file"):
        open_basemap(tmp_path / "missing.mbtiles")
    plain = tmp_path / "plain.mbtiles"
    sqlite3.connect(plain).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(BasemapError, match="not an MBTiles"):
        open_basemap(plain)


def test_tiles_of_a_type_no_map_draws_are_refused(tmp_path):
    path = write_mbtiles(tmp_path / "elevation.mbtiles", {(8, 0, 0): b"\0"}, fmt="tiff")
    with pytest.raises(BasemapError, match="tiff"):
        open_basemap(path)


def test_the_archive_is_opened_read_only(archives, tmp_path):
    path = write_mbtiles(tmp_path / "ro.mbtiles", archives[0])
    before = path.read_bytes()
    basemap = open_basemap(path)
    for key in list(archives[0])[:5]:
        read_tile(basemap, *key)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("ro.mbtiles-*"))  # no journal, no WAL


def test_settings_name_the_archive_from_the_environment(tmp_path):
    settings = Settings.from_env({"BORDERWATCH_DATA_DIR": str(tmp_path),
                                  "BORDERWATCH_BASEMAP": str(tmp_path / "tinh.mbtiles")})
    assert settings.basemap == tmp_path / "tinh.mbtiles"
    assert Settings.from_env({"BORDERWATCH_DATA_DIR": str(tmp_path)}).basemap is None


@pytest.fixture(scope="module")
def client(archives):
    server = Flask("tiles")
    install_basemap(server, open_basemap(archives[1]["mbtiles"]))
    return server.test_client()


def test_the_route_serves_the_tiles_bytes(client, archives):
    tiles = archives[0]
    z, x, y = TILES[3]
    answer = client.get(f"/basemap/{z}/{x}/{y}")
    assert answer.status_code == 200
    assert answer.mimetype == "image/png"
    assert answer.data == tiles[(z, x, y)]
    assert client.get("/basemap/3/0/0").status_code == 204  # none there: nothing drawn
    assert client.post(f"/basemap/{z}/{x}/{y}").status_code == 405  # read-only


@pytest.mark.parametrize("path", [
    "/basemap/../../etc/passwd", "/basemap/9/0/0.png/../../../etc/passwd",
    "/basemap/%2e%2e/%2e%2e/etc/passwd", "/basemap/9/x/1", "/basemap/9/-1/0",
    "/basemap/9/1", "/basemap/9/1/2/3", "/basemap//etc/passwd", "/basemap/9/1/2?file=/etc/passwd",
])
def test_no_path_trick_reaches_a_file(client, path):
    answer = client.get(path)
    assert answer.status_code in (204, 404), (path, answer.status_code)
    assert b"root:" not in answer.data and not answer.data.startswith(b"\x89PNG")


def test_no_route_without_a_basemap():
    server = Flask("none")
    install_basemap(server, None)
    assert server.test_client().get("/basemap/9/406/241").status_code == 404


def test_the_map_draws_raster_tiles_from_the_app_itself(archives):
    layers = basemap_layers(open_basemap(archives[1]["mbtiles"]), "/basemap/{z}/{x}/{y}", "vi")
    assert [(l["sourcetype"], l["source"], l["below"]) for l in layers] == \
        [("raster", ["/basemap/{z}/{x}/{y}"], "traces")]
    assert layers[0]["sourceattribution"] == "Sở Tài nguyên và Môi trường (thử)"


def test_vector_tiles_drawn_as_lines_of_each_layer_from_an_absolute_url(tmp_path):
    import gzip
    import json
    from types import SimpleNamespace

    from dashboard.tiles import map_extras

    path = write_mbtiles(tmp_path / "osm.mbtiles", {(9, 406, 241): gzip.compress(b"\x1a\x02")},
                         fmt="pbf")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO metadata VALUES ('json', ?)", (json.dumps(
            {"vector_layers": [{"id": "roads"}, {"id": "waterways"}]}),))
    basemap = open_basemap(path)
    assert (basemap.raster, basemap.vector_layers) == (False, ("roads", "waterways"))
    server = Flask("vector")
    install_basemap(server, basemap)
    answer = server.test_client().get("/basemap/9/406/241")
    assert answer.mimetype == "application/x-protobuf" and answer.data == b"\x1a\x02"  # gunzipped
    ctx = SimpleNamespace(neighbours=None, basemap=basemap)
    with server.test_request_context("/commander", base_url="http://127.0.0.2:8050"):
        extras = map_extras(ctx)
    assert extras["tile_url"] == "http://127.0.0.2:8050/basemap/{z}/{x}/{y}"
    assert map_extras(ctx, live=False) == {"neighbours": None}  # no session in an export
    layers = basemap_layers(basemap, extras["tile_url"], "en")
    assert [(l["type"], l["sourcelayer"]) for l in layers] == [("line", "roads"),
                                                                ("line", "waterways")]
    assert layers[0]["sourceattribution"] == "Sở Tài nguyên và Môi trường (thử)"
