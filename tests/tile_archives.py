"""Small tile archives made by the tests: an MBTiles file and a PMTiles file of PNG tiles.

The tiles cover the province at zoom 7–10 in one flat colour (:data:`COLOUR`), a colour no
map layer uses, so that a screenshot can tell the basemap from everything else.
"""

from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

__all__ = ["COLOUR", "PROVINCE_BOX", "png_tile", "tiles_over", "write_mbtiles",
           "write_pmtiles"]

#: The basemap's colour in the tests (a pale turquoise).
COLOUR = (120, 210, 200)
#: lon/lat box of the province, for the tiles to cover.
PROVINCE_BOX = (105.8, 10.4, 106.9, 11.8)


def png_tile(colour=COLOUR, size: int = 256) -> bytes:
    """A flat PNG tile of ``colour``."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return int((lon + 180) / 360 * n), int((1 - y / math.pi) / 2 * n)


def tiles_over(box=PROVINCE_BOX, zooms=range(7, 11)) -> list[tuple[int, int, int]]:
    """The (z, x, y) tiles (XYZ scheme) that cover ``box`` at each zoom."""
    out = []
    for z in zooms:
        x0, y0 = _tile(box[0], box[3], z)
        x1, y1 = _tile(box[2], box[1], z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], *, fmt: str = "png",
                  attribution: str = "Sở Tài nguyên và Môi trường (thử)") -> Path:
    """An MBTiles 1.3 file of ``tiles`` ((z, x, y) XYZ → bytes), rows stored in TMS."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, "
                   "tile_row integer, tile_data blob)")
        zooms = [z for z, _, _ in tiles] or [0]
        db.executemany("INSERT INTO metadata VALUES (?, ?)", [
            ("name", "thử"), ("format", fmt), ("minzoom", str(min(zooms))),
            ("maxzoom", str(max(zooms))), ("attribution", attribution),
            ("bounds", ",".join(str(v) for v in PROVINCE_BOX))])
        db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                       [(z, x, 2 ** z - 1 - y, data) for (z, x, y), data in tiles.items()])
    return path


def write_pmtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], *,
                  attribution: str = "OpenStreetMap (thử)") -> Path:
    """A PMTiles v3 archive of PNG ``tiles`` ((z, x, y) XYZ → bytes)."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import write

    zooms = [z for z, _, _ in tiles]
    with write(path) as writer:
        for tile_id, data in sorted((zxy_to_tileid(*k), v) for k, v in tiles.items()):
            writer.write_tile(tile_id, data)
        writer.finalize({
            "tile_type": TileType.PNG, "tile_compression": Compression.NONE,
            "min_zoom": min(zooms), "max_zoom": max(zooms),
            "min_lon_e7": int(PROVINCE_BOX[0] * 1e7), "min_lat_e7": int(PROVINCE_BOX[1] * 1e7),
            "max_lon_e7": int(PROVINCE_BOX[2] * 1e7), "max_lat_e7": int(PROVINCE_BOX[3] * 1e7),
            "center_zoom": min(zooms), "center_lon_e7": int(106.3e7), "center_lat_e7": int(11.1e7),
        }, {"attribution": attribution})
    return path
