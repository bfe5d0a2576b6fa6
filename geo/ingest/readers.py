"""Read interchange files in chunks: CSV (UTF-8, with or without BOM), XLSX, points (GeoJSON,
GeoPackage, Shapefile).

Each reader yields :class:`Chunk` objects: the raw cells of a few tens of
thousands of rows, as written (text, or Excel's own dates and numbers), with
the row number a person sees in the file (the header is row 1), so that a
million-row file never sits in memory whole and every rejected row can be
pointed at. Nothing is interpreted here; :mod:`geo.ingest.parse` does that.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CHUNK_ROWS", "Chunk", "FileRefused", "checksum", "read_chunks", "SUFFIXES"]

#: Rows per chunk: large enough for vectorised work, small enough for a flat memory profile.
CHUNK_ROWS = 50_000
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".geojson", ".json", ".gpkg", ".shp")


class FileRefused(ValueError):
    """The whole file is refused; ``code`` and ``params`` say why (see messages)."""

    def __init__(self, code: str, **params) -> None:
        from geo.ingest.messages import describe

        super().__init__(describe(code, "en", **params))
        self.code = code
        self.params = params

    def describe(self, lang: str) -> str:
        from geo.ingest.messages import describe

        return describe(self.code, lang, **self.params)


@dataclass(frozen=True)
class Chunk:
    """Raw rows of a file: ``cells`` (object columns named as in the file) and ``rows``."""

    cells: pd.DataFrame
    rows: np.ndarray  # row number in the file, header = 1


def checksum(path: Path) -> str:
    """SHA-256 of the file's bytes, recorded with every import."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_chunks(path: Path, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """Chunks of the file's rows, by its type. Raises :class:`FileRefused`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise FileRefused("file.format", suffix=suffix or path.name)
    if not path.is_file():
        raise FileRefused("file.unreadable", file=path.name, error="no such file")
    if suffix in (".csv", ".txt"):
        return _csv_chunks(path, chunk_rows)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_chunks(path, chunk_rows)
    return _geo_chunks(path, chunk_rows)


# -- CSV ----------------------------------------------------------------------------


def _delimiter(path: Path) -> str:
    """Comma, semicolon (Excel in a comma-decimal locale) or tab, from the header line."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    try:
        sep = _delimiter(path)
        reader = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
            chunksize=chunk_rows, skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL,
        )
    except UnicodeDecodeError:
        raise FileRefused("file.unreadable", file=path.name,
                          error="not UTF-8 text; save it as 'CSV UTF-8'") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as err:
        raise FileRefused("file.unreadable", file=path.name, error=str(err).strip()) from None
    return _csv_iter(path, reader)


def _csv_iter(path: Path, reader) -> Iterator[Chunk]:
    start = 2
    try:
        for frame in reader:
            frame.columns = [str(c).strip() for c in frame.columns]
            rows = np.arange(start, start + len(frame))
            start += len(frame)
            blank = (frame == "").all(axis=1).to_numpy()
            yield Chunk(frame.loc[~blank].reset_index(drop=True), rows[~blank])
    except UnicodeDecodeError:
        raise FileRefused("file.unreadable", file=path.name,
                          error="not UTF-8 text; save it as 'CSV UTF-8'") from None
    except pd.errors.ParserError as err:
        raise FileRefused("file.unreadable", file=path.name, error=str(err).strip()) from None


# -- XLSX ---------------------------------------------------------------------------


def _cell(value):
    """Excel cells as text, except dates (kept as dates for the date parser)."""
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value).strip()


def _xlsx_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as err:
        raise FileRefused("file.unreadable", file=path.name,
                          error=f"not a valid XLSX workbook ({err})") from None
    return _xlsx_iter(book, path, chunk_rows)


def _data_sheet(book):
    """The first visible sheet that is not the template's instructions or lists."""
    from geo.names import fold

    for sheet in book.worksheets:
        if getattr(sheet, "sheet_state", "visible") != "visible":
            continue
        if fold(sheet.title) in ("huong dan", "instructions", "danh muc", "lists"):
            continue
        return sheet
    return book.worksheets[0]


def _xlsx_iter(book, path: Path, chunk_rows: int) -> Iterator[Chunk]:
    try:
        rows_iter = _data_sheet(book).iter_rows(values_only=True)
        header = None
        header_row = 0
        for number, values in enumerate(rows_iter, start=1):
            if any(v not in (None, "") for v in values):
                header, header_row = [_cell(v) for v in values], number
                break
        if header is None:
            return
        width = max((i + 1 for i, h in enumerate(header) if h != ""), default=0)
        header = [str(h) for h in header[:width]]
        batch: list[list] = []
        numbers: list[int] = []
        for number, values in enumerate(rows_iter, start=header_row + 1):
            cells = [_cell(v) for v in values[:width]]
            cells += [""] * (width - len(cells))
            if all(c == "" for c in cells):
                continue
            batch.append(cells)
            numbers.append(number)
            if len(batch) >= chunk_rows:
                yield Chunk(pd.DataFrame(batch, columns=header, dtype=object), np.array(numbers))
                batch, numbers = [], []
        if batch or not numbers:
            yield Chunk(pd.DataFrame(batch, columns=header, dtype=object),
                        np.array(numbers, dtype=int))
    finally:
        book.close()


# -- GeoJSON ------------------------------------------------------------------------


def _geo_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as err:  # noqa: BLE001 - GDAL raises many kinds; all mean unreadable
        raise FileRefused("file.unreadable", file=path.name, error=str(err).strip()) from None
    return _geo_iter(frame, chunk_rows)


def _geo_iter(frame, chunk_rows: int) -> Iterator[Chunk]:
    """Points of a GeoJSON / GeoPackage / Shapefile as lat/lon cells, in WGS84.

    A VN-2000 CRS (the province's own files) gets the official 7-parameter
    shift (EPSG:6960, about 225 m here) before reprojection, as boundaries do.
    """
    import shapely

    from geo.projections import bind_vn2000, is_vn2000

    if frame.crs is not None and is_vn2000(frame.crs):
        frame = frame.set_crs(bind_vn2000(frame.crs), allow_override=True)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry.values
    kinds = shapely.get_type_id(geoms)
    is_point = kinds == 0
    cells = pd.DataFrame(frame.drop(columns="geometry")).astype(object)
    cells = cells.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                      else _cell(v))
    xs = np.full(len(frame), np.nan)
    ys = np.full(len(frame), np.nan)
    if is_point.any():
        xs[is_point] = shapely.get_x(geoms[is_point])
        ys[is_point] = shapely.get_y(geoms[is_point])
    cells["lat"] = [repr(float(v)) if np.isfinite(v) else "" for v in ys]
    cells["lon"] = [repr(float(v)) if np.isfinite(v) else "" for v in xs]
    names = np.array(shapely.get_type_id(geoms).astype(object))
    type_names = {-1: "empty", 0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon",
                  4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon",
                  7: "GeometryCollection"}
    cells["__geometry"] = [
        "" if ok or g is None else type_names.get(int(k), "geometry")
        for ok, g, k in zip(is_point, geoms, names, strict=True)
    ]
    rows = np.arange(1, len(frame) + 1)
    for i in range(0, max(len(frame), 1), chunk_rows):
        yield Chunk(cells.iloc[i : i + chunk_rows].reset_index(drop=True), rows[i : i + chunk_rows])
