"""A file is what its suffix says: checks of a file's bytes before any parser trusts it.

Every upload is hostile until checked (issue 14). Before pandas, openpyxl or
GDAL sees a file, :func:`check_file` makes sure that

- it is no larger than the :class:`Limits` allow (the web page's are tighter
  than the command line's: :data:`UPLOAD_LIMITS`, :data:`COMMAND_LIMITS`);
- a ``.csv`` / ``.txt`` is text (no NUL byte);
- an ``.xlsx`` / ``.xlsm`` is a ZIP holding a workbook, not encrypted, that
  unpacks to a bounded size at a bounded ratio (a zip bomb is refused before
  one row is parsed; openpyxl parses its XML through defusedxml, so entity
  bombs fail too);
- a ``.geojson`` / ``.json`` is JSON whose top level is a GeoJSON
  FeatureCollection or Feature, with no CRS given by a link (GDAL would fetch
  it) — an OGR VRT document or any other XML is refused here;
- a ``.gpkg`` is an SQLite file with a GeoPackage application id, and holds
  no view, no trigger but the GeoPackage / GDAL standard ones and no virtual
  table but R-trees;
- a ``.shp`` has a Shapefile header (and its ``.shx`` / ``.dbf``, where
  present, theirs).

A file that fails is refused with :class:`~geo.ingest.refusal.FileRefused`
(``file.mismatch``, ``file.unsafe``, ``file.too_large``, ``file.bomb``);
the caller audits the refusal and deletes the upload.
"""

from __future__ import annotations

import json
import re
import sqlite3
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from geo.ingest.refusal import FileRefused

__all__ = ["COMMAND_LIMITS", "Limits", "UPLOAD_LIMITS", "check_file", "check_gpkg_schema"]

_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much a file may hold and cost to read.

    Attributes
    ----------
    max_bytes : int
        The file's size.
    max_rows : int
        Data rows (features) read before the file is refused.
    max_unpacked_bytes : int
        An XLSX's members, unpacked, in all.
    max_ratio : int
        Unpacked ÷ packed size of any XLSX member over 1 MB (spreadsheets stay
        well under 50; a zip bomb is in the hundreds or thousands).
    cpu_seconds, memory_bytes : int
        What the child process that reads a GeoJSON / GeoPackage / Shapefile may
        use (:mod:`geo.ingest.sandbox`).
    """

    max_bytes: int
    max_rows: int
    max_unpacked_bytes: int
    max_ratio: int = 100
    cpu_seconds: int = 120
    memory_bytes: int = 4 * 1024 * _MB


#: A file sent through the web page (the browser holds it in memory as base64).
UPLOAD_LIMITS = Limits(max_bytes=50 * _MB, max_rows=200_000, max_unpacked_bytes=600 * _MB,
                       cpu_seconds=120, memory_bytes=4 * 1024 * _MB)
#: A file imported by the server's operator with ``borderwatch import``.
COMMAND_LIMITS = Limits(max_bytes=4 * 1024 * _MB, max_rows=20_000_000,
                        max_unpacked_bytes=8 * 1024 * _MB, cpu_seconds=3600,
                        memory_bytes=16 * 1024 * _MB)

_EXPECTED = {".csv": "CSV", ".txt": "CSV", ".xlsx": "XLSX", ".xlsm": "XLSX",
             ".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage",
             ".shp": "Shapefile"}
_GPKG_IDS = {b"GPKG", b"GP10", b"GP11"}
#: Shape types of the Shapefile specification (null, point, polyline, polygon, multipoint,
#: and their Z and M forms, multipatch).
_SHAPE_TYPES = {0, 1, 3, 5, 8, 11, 13, 15, 18, 21, 23, 25, 28, 31}
#: Triggers GeoPackage (spatial index, tile matrix checks) and GDAL (feature counts) write.
_STANDARD_TRIGGER = re.compile(
    r"^(rtree_.+_(insert|update\d*|delete)|gpkg_.+|trigger_(insert|delete)_feature_count_.+"
    r"|.+_(insert|update|delete)_(feature_count|metadata).*)$", re.IGNORECASE)


def _refuse(code: str, path: Path, **params):
    return FileRefused(code, file=path.name, **params)


def _mismatch(path: Path, detail: str):
    suffix = path.suffix.lower()
    return _refuse("file.mismatch", path, suffix=suffix, expected=_EXPECTED.get(suffix, suffix),
                   detail=detail)


def check_file(path: Path, limits: Limits = COMMAND_LIMITS) -> None:
    """Refuse ``path`` unless its bytes are the format its suffix names, within ``limits``.

    Raises
    ------
    FileRefused
        ``file.too_large``, ``file.mismatch``, ``file.unsafe`` or ``file.bomb``.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise _refuse("file.too_large", path, size=_mb(size), limit=_mb(limits.max_bytes))
    suffix = path.suffix.lower()
    check = {".csv": _check_text, ".txt": _check_text, ".xlsx": _check_xlsx,
             ".xlsm": _check_xlsx, ".geojson": _check_geojson, ".json": _check_geojson,
             ".gpkg": _check_gpkg, ".shp": _check_shp}.get(suffix)
    if check is not None:
        check(path, limits)


def _mb(size: int) -> str:
    return f"{size / _MB:.1f}".rstrip("0").rstrip(".")


def _head(path: Path, n: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(n)


# -- text --------------------------------------------------------------------------------


def _check_text(path: Path, limits: Limits) -> None:
    """A CSV is text: a NUL byte means UTF-16 or a binary file (a workbook renamed .csv)."""
    head = _head(path, 8)
    if head.startswith(b"PK\x03\x04"):
        raise _mismatch(path, "it is a ZIP archive, e.g. an XLSX workbook: save it as "
                              "'CSV UTF-8' or give it the .xlsx suffix")
    if head.startswith(b"SQLite format 3"):
        raise _mismatch(path, "it is an SQLite database")
    with open(path, "rb") as handle:
        if any(b"\0" in block for block in iter(lambda: handle.read(_MB), b"")):
            raise FileRefused("file.unreadable", file=path.name,
                              error="it holds NUL bytes (UTF-16 text or not a text file); "
                                    "save it as 'CSV UTF-8'")


# -- XLSX --------------------------------------------------------------------------------


def _check_xlsx(path: Path, limits: Limits) -> None:
    if not _head(path, 4).startswith(b"PK\x03\x04") or not zipfile.is_zipfile(path):
        raise _mismatch(path, "it is not a ZIP archive, which every XLSX workbook is")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise _mismatch(path, f"its ZIP directory is damaged ({err})") from None
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _mismatch(path, "the ZIP archive holds no workbook (xl/workbook.xml)")
    if len(members) > 10_000:
        raise _refuse("file.unsafe", path, detail=f"{len(members)} parts in the workbook")
    if any(m.flag_bits & 0x1 for m in members):
        raise _refuse("file.unsafe", path, detail="the workbook is encrypted")
    unpacked = sum(m.file_size for m in members)
    packed = max(path.stat().st_size, 1)
    worst = max(((m.file_size / max(m.compress_size, 1)) for m in members
                 if m.file_size > _MB), default=0.0)
    if unpacked > limits.max_unpacked_bytes or worst > limits.max_ratio:
        raise _refuse("file.bomb", path, size=_mb(unpacked), packed=_mb(packed),
                      limit=_mb(limits.max_unpacked_bytes), ratio=limits.max_ratio)


# -- GeoJSON -----------------------------------------------------------------------------


def _check_geojson(path: Path, limits: Limits) -> None:
    """JSON whose top level is a FeatureCollection or a Feature, with no linked CRS."""
    raw = path.read_bytes()
    text = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        what = "XML (an OGR VRT or GML document)" if text.startswith(b"<") else "not JSON"
        raise _mismatch(path, f"it is {what}")
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise _mismatch(path, f"it is not valid JSON ({str(err)[:120]})") from None
    if not isinstance(document, dict) or document.get("type") not in ("FeatureCollection",
                                                                        "Feature"):
        raise _mismatch(path, "its top level is not a GeoJSON FeatureCollection or Feature")
    crs = document.get("crs")
    if crs is not None:
        kind = crs.get("type") if isinstance(crs, dict) else None
        name = (crs.get("properties") or {}).get("name") if kind == "name" else None
        linked = not isinstance(name, str) or "/vsi" in name.lower() or (
            "://" in name and not name.startswith("http://www.opengis.net/def/crs/"))
        if kind != "name" or linked:
            raise _refuse("file.unsafe", path,
                          detail="its CRS is given by a link or a file, which is never "
                                 "followed; name it (e.g. EPSG:4326) or leave it out")


# -- GeoPackage --------------------------------------------------------------------------


def _check_gpkg(path: Path, limits: Limits) -> None:
    head = _head(path, 100)
    if not head.startswith(b"SQLite format 3\x00"):
        raise _mismatch(path, "it is not an SQLite database, which every GeoPackage is")
    if len(head) < 72 or head[68:72] not in _GPKG_IDS:
        raise _mismatch(path, "it is an SQLite database without the GeoPackage application id")
    check_gpkg_schema(path)


def check_gpkg_schema(path: Path) -> None:
    """Refuse a GeoPackage with views, non-standard triggers or virtual tables other than
    R-trees: SQL that runs when GDAL reads the file is never ours to trust.

    The file is opened read-only and immutable (no journal, no write), with
    ``trusted_schema`` off, as SQLite advises for files from elsewhere.
    """
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro&immutable=1"
    try:
        db = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as err:
        raise _mismatch(path, f"it cannot be opened as SQLite ({err})") from None
    # names and SQL that are not UTF-8 (a damaged or crafted file) are still read and
    # checked, never a UnicodeDecodeError: a view with a mangled name is still a view
    db.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        db.execute("PRAGMA trusted_schema = OFF")
        db.execute("PRAGMA cell_size_check = ON")
        db.execute("PRAGMA mmap_size = 0")
        rows = db.execute("SELECT type, name, COALESCE(sql, '') FROM sqlite_master").fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as err:  # a damaged schema's message may be
        raise _mismatch(path, f"its SQLite schema is damaged ({err})") from None  # bytes
    finally:
        db.close()
    for kind, name, sql in rows:
        if kind == "view":
            raise _refuse("file.unsafe", path, detail=f"it holds an SQL view ({name})")
        if kind == "trigger" and not _STANDARD_TRIGGER.match(name or ""):
            raise _refuse("file.unsafe", path, detail=f"it holds an SQL trigger ({name})")
        if kind == "table" and re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE", sql, re.IGNORECASE) \
                and not re.search(r"\bUSING\s+rtree\b", sql, re.IGNORECASE):
            raise _refuse("file.unsafe", path, detail=f"it holds a virtual table ({name})")


# -- Shapefile ---------------------------------------------------------------------------


def _sidecar(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _check_shp(path: Path, limits: Limits) -> None:
    """The main file's and its index's header (file code 9994, version 1000), the table's
    dBase version byte."""
    for part in (path, _sidecar(path, ".shx")):
        if part is None:
            continue
        head = _head(part, 100)
        if len(head) < 100 or struct.unpack(">i", head[:4])[0] != 9994 \
                or struct.unpack("<i", head[28:32])[0] != 1000 \
                or struct.unpack("<i", head[32:36])[0] not in _SHAPE_TYPES:
            raise _mismatch(path, f"{part.name} has no Shapefile header")
        if struct.unpack(">i", head[24:28])[0] * 2 != part.stat().st_size:
            raise _mismatch(path, f"{part.name} is not as long as its header says")
        if part.stat().st_size > limits.max_bytes:
            raise _refuse("file.too_large", part, size=_mb(part.stat().st_size),
                          limit=_mb(limits.max_bytes))
    table = _sidecar(path, ".dbf")
    if table is not None:
        head = _head(table, 32)
        if len(head) < 32 or head[0] not in (0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43,
                                             0x63, 0x83, 0x8B, 0x8E, 0xCB, 0xF5, 0xFB):
            raise _mismatch(path, f"{table.name} is not a dBase table")
