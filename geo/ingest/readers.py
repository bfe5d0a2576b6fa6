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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CHUNK_ROWS", "Chunk", "FileRefused", "checksum", "error_detail", "geo_cells",
           "read_chunks", "SUFFIXES"]

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

    def named(self, file_name: str) -> FileRefused:
        """The same refusal naming the file ``file_name`` (an upload's own name, not the
        random one it was saved under)."""
        if "file" not in self.params:
            return self
        return FileRefused(self.code, **{**self.params, "file": file_name})


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


def read_chunks(path: Path, *, chunk_rows: int = CHUNK_ROWS, limits=None) -> Iterator[Chunk]:
    """Chunks of the file's rows, by its type. Raises :class:`FileRefused`.

    The file is first checked to be what its suffix says, within ``limits``
    (:func:`geo.ingest.file_checks.check_file`; default: the command line's
    :data:`~geo.ingest.file_checks.COMMAND_LIMITS`); more rows than
    ``limits.max_rows`` refuse it while it is read.
    """
    from geo.gdal_policy import UnsafePath, check_path
    from geo.ingest.file_checks import COMMAND_LIMITS, check_file

    limits = limits or COMMAND_LIMITS
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise FileRefused("file.format", suffix=suffix or path.name)
    try:
        check_path(path)
    except UnsafePath:
        raise FileRefused("file.unreadable", file=path.name, error="no such file") from None
    check_file(path, limits)
    if suffix in (".csv", ".txt"):
        chunks = _csv_chunks(path, chunk_rows)
    elif suffix in (".xlsx", ".xlsm"):
        chunks = _xlsx_chunks(path, chunk_rows, limits.max_rows)
    else:
        chunks = _geo_chunks(path, chunk_rows, limits)
    return _at_most(chunks, limits.max_rows, path)


def _at_most(chunks: Iterator[Chunk], max_rows: int, path: Path) -> Iterator[Chunk]:
    """The chunks, refusing the file once more than ``max_rows`` data rows were read."""
    read = 0
    for chunk in chunks:
        read += len(chunk.rows)
        if read > max_rows:
            raise FileRefused("file.too_many_rows", file=path.name, limit=max_rows)
        yield chunk


# -- CSV ----------------------------------------------------------------------------


def _delimiter(path: Path) -> str:
    """Comma, semicolon (Excel in a comma-decimal locale) or tab, from the header line."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _unique_headers(headers: list) -> list[str]:
    """Headers as text, stripped; blank ones named "Unnamed: i" (as pandas does) and repeated
    ones numbered "X (2)", so that a repeated field still reads as that field (and is refused
    as a duplicate column) and a repeated unknown header stays one column each."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, header in enumerate(headers):
        text = "" if header is None else str(header).strip()
        text = text or f"Unnamed: {i}"
        seen[text] = seen.get(text, 0) + 1
        out.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return out


_CSV_UNREADABLE = "not UTF-8 text; save it as 'CSV UTF-8'"


def _csv_refusal(err: Exception, path: Path) -> FileRefused:
    """The parser's complaint as a refusal a person can act on (a row with too many cells,
    a quote never closed), never the parser's own wording alone."""
    text = str(err).strip()
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if ragged:
        expected, line, found = ragged.groups()
        return FileRefused("file.ragged", file=path.name, line=int(line), expected=int(expected),
                           found=int(found))
    quote = re.search(r"EOF inside string starting at row (\d+)", text)
    if quote:
        return FileRefused("file.unclosed_quote", file=path.name, row=int(quote.group(1)) + 1)
    text = re.sub(r"^Error tokenizing data\. C error: ", "", text)
    return FileRefused("file.unreadable", file=path.name, error=error_detail(ValueError(text), path))


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    """The header is read as a row (``header=None``): pandas then refuses a row with more
    cells than the header instead of silently taking the first column as the index (which
    shifts every field of every row by one)."""
    try:
        sep = _delimiter(path)
        reader = pd.read_csv(
            path, sep=sep, header=None, dtype=str, keep_default_na=False,
            encoding="utf-8-sig", chunksize=chunk_rows, skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except UnicodeDecodeError:
        raise FileRefused("file.unreadable", file=path.name, error=_CSV_UNREADABLE) from None
    except pd.errors.EmptyDataError:
        raise FileRefused("file.empty", file=path.name) from None
    except (pd.errors.ParserError, OSError) as err:
        raise _csv_refusal(err, path) from None
    return _csv_iter(path, reader)


def _csv_iter(path: Path, reader) -> Iterator[Chunk]:
    start = 2
    header: list[str] | None = None
    try:
        for frame in reader:
            if header is None:
                header = _unique_headers(frame.iloc[0].tolist())
                frame = frame.iloc[1:]
            frame.columns = header
            frame = frame.reset_index(drop=True)
            rows = np.arange(start, start + len(frame))
            start += len(frame)
            blank = (frame == "").all(axis=1).to_numpy()
            yield Chunk(frame.loc[~blank].reset_index(drop=True), rows[~blank])
    except UnicodeDecodeError:
        raise FileRefused("file.unreadable", file=path.name, error=_CSV_UNREADABLE) from None
    except pd.errors.ParserError as err:
        raise _csv_refusal(err, path) from None


# -- XLSX ---------------------------------------------------------------------------


_SURROGATES = re.compile("[\ud800-\udfff]")


def _text_cell(text: str) -> str:
    """Cell text without what no store can hold: NUL characters (PostgreSQL refuses them)
    and lone surrogates (not encodable as UTF-8), which an XLSX can smuggle in as _x0000_."""
    if "\0" in text:
        text = text.replace("\0", "")
    if not text.isascii() and _SURROGATES.search(text):
        text = _SURROGATES.sub("\ufffd", text)
    return text.strip()


def _cell(value):
    """Excel cells as text, except dates (kept as dates for the date parser)."""
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return "" if pd.isna(value) else value  # NaT is a datetime too
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    return _text_cell(str(value))


def _unreadable_xlsx(path: Path, err: Exception) -> FileRefused:
    return FileRefused("file.unreadable", file=path.name,
                       error=f"not a valid XLSX workbook ({error_detail(err, path)})")


def _xlsx_chunks(path: Path, chunk_rows: int, max_rows: int) -> Iterator[Chunk]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 - a damaged workbook breaks zipfile, XML or openpyxl
        raise _unreadable_xlsx(path, err) from None
    return _xlsx_iter(book, path, chunk_rows, max_rows)


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


def _xlsx_iter(book, path: Path, chunk_rows: int, max_rows: int) -> Iterator[Chunk]:
    """Rows of the data sheet; a workbook damaged past its first bytes (openpyxl reads the
    sheet lazily) is refused like one that does not open at all."""
    try:
        yield from _xlsx_rows(book, min(chunk_rows, max_rows + 1))
    except FileRefused:
        raise
    except Exception as err:  # noqa: BLE001 - see _xlsx_chunks
        raise _unreadable_xlsx(path, err) from None
    finally:
        book.close()


def _xlsx_rows(book, chunk_rows: int) -> Iterator[Chunk]:
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
    header = _unique_headers([str(h) for h in header[:width]])
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


# -- GeoJSON ------------------------------------------------------------------------


def error_detail(err: Exception, path: Path) -> str:
    """A library's complaint, for a person: without the folder of the file or of any other
    path on the server, without the class name GEOS or GDAL put in front
    ("IllegalArgumentException: ..."), and not too long."""
    text = str(err).strip().replace(str(path.parent) + "/", "").replace(str(path), path.name)
    text = re.sub(r"(?:/[^/\s'\"]+)+/", "", text)  # /srv/app/.venv/lib/x.so → x.so
    text = re.sub(r"^(?:[A-Za-z_.]*(?:Error|Exception)\s*:\s*)+", "", text)
    return (text[:300] + " …" if len(text) > 300 else text) or "damaged file"


def _geo_chunks(path: Path, chunk_rows: int, limits) -> Iterator[Chunk]:
    """Points of a checked GeoJSON / GeoPackage / Shapefile, read by a child process that has
    the one GDAL driver the suffix names (:mod:`geo.ingest.sandbox`)."""
    from geo.ingest.sandbox import read_geo_cells

    return _geo_iter(read_geo_cells(path, limits), chunk_rows)


def geo_cells(frame) -> pd.DataFrame:
    """Points of a GeoJSON / GeoPackage / Shapefile as lat/lon cells, in WGS84.

    A VN-2000 CRS (the province's own files) gets the official 7-parameter
    shift (EPSG:6960, about 225 m here) before reprojection, as boundaries do.
    A layer without geometry (a GeoPackage attribute table) is read as a table.
    """
    import geopandas as gpd
    import shapely

    from geo.projections import bind_vn2000, is_vn2000

    def text(frame) -> pd.DataFrame:
        cells = pd.DataFrame(frame).astype(object)
        cells.columns = _unique_headers(list(cells.columns))
        return cells.map(lambda v: "" if v is None or v is pd.NA
                         or (isinstance(v, float) and math.isnan(v)) else _cell(v))

    column = getattr(frame, "_geometry_column_name", None) \
        if isinstance(frame, gpd.GeoDataFrame) else None
    if column is None or column not in frame:
        return text(frame)
    if frame.crs is not None and is_vn2000(frame.crs):
        frame = frame.set_crs(bind_vn2000(frame.crs), allow_override=True)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    geoms = frame.geometry.values
    kinds = shapely.get_type_id(geoms)
    is_point = kinds == 0
    cells = text(frame.drop(columns=column))
    xs = np.full(len(frame), np.nan)
    ys = np.full(len(frame), np.nan)
    if is_point.any():
        xs[is_point] = shapely.get_x(geoms[is_point])
        ys[is_point] = shapely.get_y(geoms[is_point])
    cells["lat"] = [repr(float(v)) if np.isfinite(v) else "" for v in ys]
    cells["lon"] = [repr(float(v)) if np.isfinite(v) else "" for v in xs]
    type_names = {-1: "empty", 0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon",
                  4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon",
                  7: "GeometryCollection"}
    cells["__geometry"] = [
        "" if ok or g is None else type_names.get(int(k), "geometry")
        for ok, g, k in zip(is_point, geoms, kinds, strict=True)
    ]
    return cells


def _geo_iter(cells: pd.DataFrame, chunk_rows: int) -> Iterator[Chunk]:
    rows = np.arange(1, len(cells) + 1)
    for i in range(0, max(len(cells), 1), chunk_rows):
        yield Chunk(cells.iloc[i : i + chunk_rows].reset_index(drop=True), rows[i : i + chunk_rows])
