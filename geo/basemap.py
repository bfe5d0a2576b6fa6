"""A province's own offline basemap: tiles read from one MBTiles or PMTiles file.

A province may have a tile archive of roads, rivers and places (from its GIS
office, or an OpenStreetMap extract made offline). The app serves its tiles
itself (``/basemap/{z}/{x}/{y}``, :mod:`dashboard.tiles`) and the map
draws them under the communes: nothing is asked of any other host.

The archive is named once, in the configuration (``BORDERWATCH_BASEMAP``,
:attr:`geo.config.Settings.basemap`); a request carries only three integers, so
no request can name another file. The file is opened read-only and checked as
what its suffix says before anything is read from it: an MBTiles file is an
SQLite database with the ``tiles`` table of the MBTiles specification, a
PMTiles file starts with the magic ``PMTiles`` and version 3.

MBTiles stores rows in the TMS scheme (row 0 at the south); the web's XYZ
scheme counts from the north: ``row = 2**z - 1 - y``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Basemap", "BasemapError", "FORMATS", "MAX_ZOOM", "TILE_TYPES", "open_basemap",
           "read_tile"]

#: Suffix → archive format.
FORMATS = {".mbtiles": "mbtiles", ".pmtiles": "pmtiles"}
#: Tile type → media type of the answer. Raster tiles are drawn as an image layer; vector
#: tiles (``pbf``/``mvt``) as thin lines of each of their layers.
TILE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp",
              "pbf": "application/x-protobuf"}
#: Deepest zoom a request may ask for (tiles of 2.4 cm at the equator: no archive goes further).
MAX_ZOOM = 24
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PMTILES_MAGIC = b"PMTiles"
# PMTiles v3 tile_type codes (spec: 1 mvt, 2 png, 3 jpeg, 4 webp)
_PMTILES_TYPES = {1: "pbf", 2: "png", 3: "jpg", 4: "webp"}


class BasemapError(ValueError):
    """The configured basemap cannot be used (missing, not the format its suffix says)."""


@dataclass(frozen=True)
class Basemap:
    """An opened tile archive and what the map needs to know of it.

    Attributes
    ----------
    path : Path
        The archive (resolved).
    format : {"mbtiles", "pmtiles"}
    tile_type : {"png", "jpg", "webp", "pbf"}
    minzoom, maxzoom : int
    bounds : tuple of float or None
        lon/lat box the archive covers, when its metadata says.
    attribution : str
        The archive's own attribution (metadata ``attribution``), shown on the map.
    vector_layers : tuple of str
        Names of the layers of vector tiles (metadata ``vector_layers``).
    """

    path: Path
    format: str
    tile_type: str
    minzoom: int = 0
    maxzoom: int = 14
    bounds: tuple[float, float, float, float] | None = None
    attribution: str = ""
    vector_layers: tuple[str, ...] = field(default_factory=tuple)

    @property
    def media_type(self) -> str:
        """The ``Content-Type`` of its tiles."""
        return TILE_TYPES[self.tile_type]

    @property
    def raster(self) -> bool:
        """Whether its tiles are images (else vector tiles)."""
        return self.tile_type != "pbf"


def open_basemap(path: str | Path) -> Basemap:
    """Check the archive at ``path`` and read its metadata.

    Raises
    ------
    BasemapError
        When the file is missing, its suffix is not ``.mbtiles``/``.pmtiles``, its content
        is not what the suffix says, or its tiles are of a type a map cannot draw.
    """
    path = Path(path).expanduser().resolve()
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise BasemapError(f"{path.name}: a basemap is an .mbtiles or .pmtiles file")
    if not path.is_file():
        raise BasemapError(f"{path}: no such file")
    with open(path, "rb") as handle:
        head = handle.read(16)
    if kind == "mbtiles":
        if head != _SQLITE_MAGIC:
            raise BasemapError(f"{path.name}: not an SQLite database (MBTiles)")
        return _open_mbtiles(path)
    if not head.startswith(_PMTILES_MAGIC) or head[7:8] != b"\x03":
        raise BasemapError(f"{path.name}: not a PMTiles archive of version 3")
    return _open_pmtiles(path)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)


def _open_mbtiles(path: Path) -> Basemap:
    try:
        with _connect(path) as db:
            meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = db.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    except sqlite3.DatabaseError as err:
        raise BasemapError(f"{path.name}: not an MBTiles file ({err})") from None
    tile_type = _tile_type(str(meta.get("format", "png")).lower(), path)
    bounds = _bounds(meta.get("bounds"))
    layers = ()
    if tile_type == "pbf" and meta.get("json"):
        try:
            layers = tuple(str(v["id"]) for v in json.loads(meta["json"]).get("vector_layers", []))
        except (ValueError, TypeError, KeyError):
            layers = ()
    return Basemap(path=path, format="mbtiles", tile_type=tile_type,
                   minzoom=int(meta.get("minzoom", zooms[0] if zooms[0] is not None else 0)),
                   maxzoom=int(meta.get("maxzoom", zooms[1] if zooms[1] is not None else 14)),
                   bounds=bounds, attribution=str(meta.get("attribution", "")),
                   vector_layers=layers)


def _open_pmtiles(path: Path) -> Basemap:
    from pmtiles.reader import MmapSource, Reader

    with open(path, "rb") as handle:
        reader = Reader(MmapSource(handle))
        try:
            header = reader.header()
            meta = reader.metadata()
        except Exception as err:  # noqa: BLE001 — any fault of a hostile file is one answer
            raise BasemapError(f"{path.name}: unreadable PMTiles archive ({err})") from None
    tile_type = _PMTILES_TYPES.get(int(getattr(header["tile_type"], "value",
                                               header["tile_type"])))
    if tile_type is None:
        raise BasemapError(f"{path.name}: tiles of an unknown type")
    bounds = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7,
              header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7)
    layers = tuple(str(v.get("id")) for v in meta.get("vector_layers", []) or []
                   if isinstance(v, dict)) if tile_type == "pbf" else ()
    return Basemap(path=path, format="pmtiles", tile_type=tile_type,
                   minzoom=int(header["min_zoom"]), maxzoom=int(header["max_zoom"]),
                   bounds=bounds if bounds != (0, 0, 0, 0) else None,
                   attribution=str(meta.get("attribution", "")), vector_layers=layers)


def _tile_type(name: str, path: Path) -> str:
    name = {"jpeg": "jpg", "mvt": "pbf"}.get(name, name)
    if name not in TILE_TYPES:
        raise BasemapError(f"{path.name}: tiles of format {name!r} cannot be drawn")
    return name


def _bounds(text) -> tuple[float, float, float, float] | None:
    try:
        minx, miny, maxx, maxy = (float(v) for v in str(text).split(","))
    except (TypeError, ValueError):
        return None
    return (minx, miny, maxx, maxy)


def read_tile(basemap: Basemap, z: int, x: int, y: int) -> bytes | None:
    """The bytes of tile ``z/x/y`` (XYZ scheme), or ``None`` when the archive has none.

    Coordinates outside the tile grid (negative, ``x`` or ``y`` ≥ ``2**z``, ``z`` beyond
    :data:`MAX_ZOOM`) have no tile.

    Raises
    ------
    BasemapError
        When the archive cannot be read any more (replaced by another file, damaged).
    """
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2 ** z and 0 <= y < 2 ** z):
        return None
    if basemap.format == "mbtiles":
        try:
            with _connect(basemap.path) as db:
                row = db.execute("SELECT tile_data FROM tiles WHERE zoom_level = ? AND "
                                 "tile_column = ? AND tile_row = ?",
                                 (z, x, 2 ** z - 1 - y)).fetchone()
        except sqlite3.DatabaseError as err:
            raise BasemapError(f"{basemap.path.name}: {err}") from None
        return bytes(row[0]) if row and row[0] is not None else None
    from pmtiles.reader import MmapSource, Reader

    try:
        with open(basemap.path, "rb") as handle:
            data = Reader(MmapSource(handle)).get(z, x, y)
    except Exception as err:  # noqa: BLE001
        raise BasemapError(f"{basemap.path.name}: {err}") from None
    return bytes(data) if data else None
