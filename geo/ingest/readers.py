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
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo.ingest.cells import cell, text_cell, unique_headers
from geo.ingest.refusal import FileRefused, error_detail

__all__ = ["CHUNK_ROWS", "Chunk", "FileRefused", "checksum", "error_detail", "read_chunks",
           "SUFFIXES"]

#: Rows per chunk: large enough for vectorised work, small enough for a flat memory profile.
CHUNK_ROWS = 50_000
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".geojson", ".json", ".gpkg", ".shp")


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
                header = unique_headers(frame.iloc[0].tolist())
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
            header, header_row = [cell(v) for v in values], number
            break
    if header is None:
        return
    width = max((i + 1 for i, h in enumerate(header) if h != ""), default=0)
    header = unique_headers([str(h) for h in header[:width]])
    batch: list[list] = []
    numbers: list[int] = []
    for number, values in enumerate(rows_iter, start=header_row + 1):
        cells = [cell(v) for v in values[:width]]
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


def _geo_chunks(path: Path, chunk_rows: int, limits) -> Iterator[Chunk]:
    """Points of a checked GeoJSON / GeoPackage / Shapefile, read by a child process that has
    the one GDAL driver the suffix names (:mod:`geo.ingest.sandbox`)."""
    from geo.ingest.sandbox import read_geo_cells

    return _geo_iter(read_geo_cells(path, limits), chunk_rows)


def _geo_iter(cells: pd.DataFrame, chunk_rows: int) -> Iterator[Chunk]:
    rows = np.arange(1, len(cells) + 1)
    for i in range(0, max(len(cells), 1), chunk_rows):
        yield Chunk(cells.iloc[i : i + chunk_rows].reset_index(drop=True), rows[i : i + chunk_rows])
