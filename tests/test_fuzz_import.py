"""Hostile files into the record importer: never a crash, always a clear message, nothing stored.

Property-based tests (hypothesis) over :func:`geo.ingest.import_file` for the
four kinds and every reader: CSV built from random headers (the real headers
and aliases of each kind, junk, personal-data headers), random cells (impossible
dates, huge numbers, NaN and inf, formulas, NUL, control and right-to-left
characters, 100,000-character cells), random delimiters and encodings, and
random bytes; XLSX workbooks with every cell type openpyxl writes (dates,
booleans, formulas, merged cells, several sheets, an empty one); GeoJSON with
invalid, 3-D, NaN, huge or missing geometries; truncated or damaged XLSX,
GeoPackage and Shapefile bytes.

The properties, on the embedded store and on PostGIS:

- an import returns a report where every row read is accounted for
  (accepted + duplicates + rejected = rows read), the accepted rows are the
  ones stored under its import id, and every reason reads as a sentence in
  Vietnamese and in English;
- or it raises :class:`geo.ingest.FileRefused`, whose message in either language
  is non-empty, different in the two languages, and carries no Python
  traceback, exception class name or server path;
- after a refusal the store holds exactly what it held before (a digest of
  every table) and no rejects file was written.

In CI (``CI`` or ``BORDERWATCH_REQUIRE_POSTGIS=1`` set) hypothesis runs
derandomised and without its example database, so a run is reproducible.
``BORDERWATCH_FUZZ_SCALE=50`` multiplies the number of examples for a long hunt.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from geo.config import Settings
from geo.ingest import KINDS, FileRefused, Places, import_file
from geo.ingest.messages import MESSAGES
from geo.store.schema import RECORD_TABLES

TODAY = dt.date(2026, 11, 23)
_CI = bool(os.environ.get("CI")) or os.environ.get("BORDERWATCH_REQUIRE_POSTGIS") == "1"
#: What a traceback, an exception's class name or an object's repr looks like in a message.
_TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]*\", line \d+|"
    r"\b[A-Z][A-Za-z]*(Error|Exception|Warning)\b|<class '|object at 0x[0-9a-f]+"
)


def _fuzz(examples: int, store_settings: Settings | None = None, **kw) -> settings:
    """Hypothesis settings: ``examples`` on SQLite, a third of them on PostGIS (slower),
    times ``BORDERWATCH_FUZZ_SCALE`` (default 1; e.g. 50 for a long hunt)."""
    examples = max(1, round(examples * float(os.environ.get("BORDERWATCH_FUZZ_SCALE", "1"))))
    if store_settings is not None and store_settings.database_url:
        examples = max(3, examples // 3)
    return settings(
        max_examples=examples, deadline=None, derandomize=_CI,
        **({"database": None} if _CI else {}),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.large_base_example],
        **kw,
    )


def _run_given(strategy, check, hyp: settings, examples=()):
    """Run ``check`` on values of ``strategy`` (after the explicit ``examples``)."""

    @hyp
    @given(strategy)
    def run(value):
        check(value)

    for value in examples:
        run = example(value)(run)
    run()


# -- the store, before and after ---------------------------------------------------------

_TABLES = (*RECORD_TABLES, "imports", "quarantine", "schema_version")


def _digest(store) -> str:
    """SHA-256 over every row of every table: equal digests, equal stores."""
    digest = hashlib.sha256()
    for table in _TABLES:
        names, rows = store._query(f"SELECT * FROM {table}")
        digest.update(repr((table, names)).encode())
        for row in sorted(repr(r) for r in rows):
            digest.update(row.encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> Places:
    return Places.load(Settings(data_dir=tmp_path_factory.mktemp("places")))


def _clear(message: str, folder: Path) -> None:
    """A message a person reads: some words, no traceback, no class name, no server path."""
    assert message and message.strip(), "empty message"
    assert not _TRACE.search(message), message
    assert str(folder) not in message, message


class _Importer:
    """Imports files into one store and checks every outcome against the properties."""

    def __init__(self, store, places: Places, folder: Path) -> None:
        self.store, self.places, self.folder = store, places, folder
        self.rejects = folder / "rejects"
        self.n = 0

    def file(self, suffix: str, data: bytes, name: str = "tep") -> Path:
        self.n += 1
        path = self.folder / f"{name}-{self.n}{suffix}"
        path.write_bytes(data)
        return path

    def check(self, path: Path, kind: str, **kw):
        """Import ``path``; the report or the refusal must satisfy the properties."""
        before = _digest(self.store)
        rejects_before = sorted(self.rejects.glob("*")) if self.rejects.exists() else []
        try:
            report = import_file(path, kind, self.store, self.places, today=TODAY,
                                 rejects_dir=self.rejects, **kw)
        except FileRefused as err:
            vi, en = err.describe("vi"), err.describe("en")
            _clear(vi, self.folder)
            _clear(en, self.folder)
            assert err.code in MESSAGES and vi != en, (err.code, vi)
            assert str(err) == en
            assert _digest(self.store) == before, "a refused file changed the store"
            after = sorted(self.rejects.glob("*")) if self.rejects.exists() else []
            assert after == rejects_before, "a refused file wrote a rejects file"
            return err
        self._check_report(report, kind, before, kw)
        return report

    def _check_report(self, report, kind: str, before: str, kw: dict) -> None:
        assert report.rows_read > 0
        assert report.accepted + report.duplicates + report.rejected == report.rows_read
        assert report.status in ("committed", "refused", "preview")
        for lang in ("vi", "en"):
            table = report.reject_table(lang)
            assert table["reason"].isin(list(MESSAGES)).all()
            for text in table["reason_text"]:
                _clear(text, self.folder)
            for line in report.summary_lines(lang):
                assert not _TRACE.search(line), line
            json.dumps(report.to_dict(lang), ensure_ascii=False)  # what --json prints
        if report.rejected:
            rows = set(report.rejects["row_number"])
            assert len(rows) == report.rejected
        if report.status == "preview":
            assert _digest(self.store) == before, "a preview changed the store"
            return
        stored = self.store.read(kind, ["import_id"])
        mine = int((stored["import_id"] == report.import_id).sum())
        assert mine == (report.accepted if report.status == "committed" else 0)
        imports = self.store.imports().set_index("id")
        assert imports.at[report.import_id, "status"] == report.status
        assert int(imports.at[report.import_id, "rows_read"]) == report.rows_read


@pytest.fixture()
def importer(store, places, tmp_path) -> _Importer:
    return _Importer(store, places, tmp_path)


# -- what hostile files are made of --------------------------------------------------------


def _header_words(kind: str) -> list[str]:
    """Every header that names a field of ``kind``, in the ways real files write them."""
    words = []
    for f in KINDS[kind].fields:
        words += [f.name, f.header_vi, f.header_vi.upper(), f"{f.header_vi} ({f.name})",
                  *f.aliases]
    return words


_JUNK_HEADERS = ["", " ", "Unnamed: 0", "ghi chú", "Ghi chú nội bộ", "Họ tên", "Số điện thoại",
                 "CCCD", "=SUM(A1:A9)", "__geometry", "__x", "{column}", "Mã hồ sơ (record_id)",
                 "x" * 300, "\u202eMã xã", "Ngày\u200b"]
_HOSTILE = [
    "", " ", "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(1)",
    "\x00", "a\x00b", "\u202e25681", "\u200f", "\ufeff", "\x1b[31m", "\r", "\n", "\r\n", "'",
    '"', ";", ",", "\t", "💣", "<script>alert(1)</script>", "../../etc/passwd",
    "' OR 1=1 --", "%s%n", "{value}", "{0}", "{}", "NaN", "nan", "inf", "-inf", "Infinity",
    "1e309", "-1e309", "1e-400", "99999999999999999999", "9223372036854775808", "-1", "-0",
    "0x1F", "1_000", "١٢٣", "１２", "²", "None", "null", "True", "x" * 100_000,
]
_VALUES = [
    # dates, good and bad
    "05/08/2024", "5/8/2024", "2024-08-05", "2025-09-14T10:00:00", "45505", "01.10.2025",
    "31/02/2024", "29/02/2023", "00/00/0000", "01/01/0000", "01/01/9999", "9999-12-31",
    "2024-13-45", "32/01/2024", "٠٥/٠٨/٢٠٢٤", "０５/０８/２０２４", "99999", "00000",
    "01/01/2027", "31/12/1999",
    # numbers
    "1", "3", "1.835", "28.000", "12.0", "1,5",
    # commune codes and names, lat/lon in and out of the province
    "25681", "25699", "25702", "25456", "99999", "025681", "25681.0", "Xã Long Thuận",
    "X. LOI THUAN", "Huyện Bến Cầu", "Xã Tân Bình", "11.31", "106.10", "10,98", "11.5564",
    "104.9282", "90.0001", "-181",
    # coded values
    *[c.code for k in KINDS.values() for f in k.fields for c in f.choices],
    *[c.label_vi for k in KINDS.values() for f in k.fields for c in f.choices],
    "tin bao to giak", "ĐỘI BÓNG",
]
#: Random text, NUL left to the hostile values above (hypothesis draws it very often).
_TEXT = st.text(st.characters(exclude_characters="\x00"), max_size=12)
_CELLS = st.one_of(st.sampled_from(_VALUES), st.sampled_from(_HOSTILE), _TEXT,
                   st.from_regex(r"HS-[0-9]{1,3}", fullmatch=True))


def _plausible() -> dict[str, object]:
    """What a correct cell of each field looks like (codes, names and points from the registry)."""
    from geo.units import load_registry

    registry = load_registry()
    communes, legacy = registry.communes, registry.legacy
    count = st.one_of(st.integers(0, 500).map(str), st.just("1.835"), st.just("28.000"))

    def choice(field: str, kind: str) -> st.SearchStrategy[str]:
        f = KINDS[kind].field(field)
        return st.sampled_from([c.code for c in f.choices] + [c.label_vi for c in f.choices])

    return {
        "new": (list(communes.index), list(communes["name"])),
        "old": (list(legacy.index), list(legacy["name"]), list(legacy["district"])),
        "centres": list(zip(communes["lat"], communes["lon"], strict=True)),
        "record_id": st.integers(1, 40).map(lambda i: f"HS-{i:03d}"),
        "type": choice("type", "incidents"), "status": choice("status", "incidents"),
        "format": choice("format", "outreach"), "model_type": choice("model_type", "models"),
        "class": choice("class", "models"),
        "persons": count, "victims": count, "participants": count, "materials": count,
        "sessions": count, "sites": count, "groups": count, "members": count,
        "agency": st.sampled_from(["Công an tỉnh", "BĐBP", "Hội LHPN", "Đoàn TN"]),
        "year": st.integers(2019, 2026).map(str),
        "population": st.integers(1000, 90_000).map(str),
        "population_14_60": st.integers(500, 60_000).map(str),
    }


_PLAUSIBLE = _plausible()
_MERGER = dt.date(2025, 7, 1)


def _date_text(draw, day: dt.date) -> str:
    how = draw(st.integers(0, 3))
    return (day.strftime("%d/%m/%Y"), f"{day.day}/{day.month}/{day.year}", day.isoformat(),
            str((day - dt.date(1899, 12, 30)).days))[how]


@st.composite
def _plausible_row(draw, fields: list[str | None]) -> list[str]:
    """One row that would mostly be accepted: its commune in the unit set of its date."""
    day = draw(st.dates(dt.date(2022, 1, 1), TODAY))
    codes, names, *district = _PLAUSIBLE["old" if day < _MERGER else "new"]
    unit = draw(st.integers(0, len(codes) - 1))
    lat, lon = _PLAUSIBLE["centres"][draw(st.integers(0, len(_PLAUSIBLE["centres"]) - 1))]
    correct = {"date": _date_text(draw, day), "start_date": _date_text(draw, day),
               "end_date": "" if draw(st.booleans()) else _date_text(draw, day + dt.timedelta(400)),
               "commune_code": codes[unit], "commune": names[unit],
               "district": district[0][unit] if district else "",
               "lat": f"{lat:.5f}", "lon": f"{lon:.5f}"}
    row = []
    for field in fields:
        if field is not None and draw(st.integers(0, 9)):  # nine cells in ten are correct
            row.append(correct[field] if field in correct else draw(_PLAUSIBLE[field]))
        else:
            row.append(draw(_CELLS))
    return row


@st.composite
def _table(draw, kind: str) -> tuple[list[str], list[list[str]]]:
    """Headers and a few rows: mostly a plausible file with some hostile cells, else chaos."""
    spec = KINDS[kind]
    fields: list[str | None] = []
    headers: list[str] = []
    if draw(st.integers(0, 4)):  # a plausible file: the required columns and some others
        point = draw(st.booleans())  # lat and lon come together
        for f in spec.fields:
            if f.required or f.name == "commune_code" or \
                    (point if f.name in ("lat", "lon") else draw(st.booleans())):
                fields.append(f.name)
                headers.append(draw(st.sampled_from(
                    [f.name, f.header_vi, f"{f.header_vi} ({f.name})", *f.aliases])))
        order = draw(st.permutations(range(len(fields))))
        fields, headers = [fields[i] for i in order], [headers[i] for i in order]
    extra = draw(st.lists(st.one_of(st.sampled_from(_JUNK_HEADERS), _TEXT,
                                    st.sampled_from(_header_words(kind))),
                          max_size=2 if fields else 6))
    fields += [None] * len(extra)
    headers += extra
    n = draw(st.integers(1 if fields else 0, 6))
    return headers, [draw(_plausible_row(fields)) for _ in range(n)]


@st.composite
def _csv_bytes(draw, kind: str) -> bytes:
    """A CSV as an agency's spreadsheet program might write it, or break it."""
    headers, rows = draw(_table(kind))
    sep = draw(st.sampled_from([",", ";"] * 4 + ["\t"] * 2 + ["|"]))
    if draw(st.integers(0, 3)):
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=sep, lineterminator=draw(
            st.sampled_from(["\n", "\r\n", "\r"])))
        writer.writerow(headers)
        ragged = draw(st.sampled_from([0] * 14 + [-1, 1]))  # one row a cell short or over
        for i, row in enumerate(rows):
            if i == len(rows) - 1 and ragged:
                row = row[:ragged] if ragged < 0 else [*row, draw(_CELLS)]
            writer.writerow(row)
        text = buffer.getvalue()
    else:  # written by hand: no quoting at all
        text = "\n".join(sep.join(r) for r in [headers, *rows]) + draw(st.sampled_from(["", "\n"]))
    encoding = draw(st.sampled_from(["utf-8"] * 5 + ["utf-8-sig"] * 8 + ["utf-16", "cp1258",
                                                                         "latin-1"]))
    data = text.encode(encoding, errors="replace") if encoding != "utf-8-sig" else \
        b"\xef\xbb\xbf" + text.encode("utf-8", errors="surrogatepass")
    cut = draw(st.integers(0, max(len(data) - 1, 0))) if not draw(st.integers(0, 9)) else None
    return data if cut is None else data[:cut]


_SPECIAL_CSV = [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n", b"\n\n\n", b"record_id\n",
                b"\xff\xfe" + "record_id,date\n".encode("utf-16-le"),
                b'record_id,date,type,commune_code\n"HS-1,05/08/2024,tip,25681\n',
                b"record_id,date,type,commune_code\nHS-1,05/08/2024,tip,25681,extra\n",
                b"record_id,date,type,commune_code\nHS-1\x00,05/08/2024,tip,25681\n"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_any_csv_is_imported_or_refused_cleanly(kind, importer, store_settings):
    def check(data: bytes) -> None:
        importer.check(importer.file(".csv", data), kind)

    strategy = st.one_of(*[_csv_bytes(kind)] * 6, st.binary(max_size=300),
                         st.sampled_from(_SPECIAL_CSV))
    _run_given(strategy, check, _fuzz(40, store_settings),
               examples=_SPECIAL_CSV if kind == "incidents" else ())


# -- XLSX ----------------------------------------------------------------------------------------


_XLSX_VALUES = st.one_of(
    _CELLS, st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(min_value=dt.date(1900, 1, 1)), st.times(),
    st.sampled_from(["=1/0", "=A1", "=NOW()", "=SUM(A1:B2)", "#DIV/0!", "#N/A",
                     dt.timedelta(days=3), dt.datetime(2024, 8, 5), dt.date(2025, 9, 1)]),
)


def _safe(value):
    """openpyxl refuses control characters in strings; keep the rest of the value."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


@st.composite
def _xlsx_bytes(draw, kind: str) -> bytes:
    from openpyxl import Workbook

    headers, rows = draw(_table(kind))
    book = Workbook()
    first = book.active
    layout = draw(st.sampled_from(["plain", "instructions_first", "empty_first", "hidden_first",
                                   "offset"]))
    if layout == "plain":
        sheet = first
    else:
        first.title = {"instructions_first": "Hướng dẫn", "empty_first": "Trống",
                       "hidden_first": "Ẩn", "offset": "Dữ liệu"}[layout]
        if layout == "hidden_first":
            first.append(["không phải dữ liệu"])
            first.sheet_state = "hidden"
        sheet = first if layout == "offset" else book.create_sheet("Dữ liệu")
    if layout == "offset":  # the table starts lower and further right
        sheet.append([])
        sheet.append([])
        headers = [None, *headers]
        rows = [[None, *r] for r in rows]
    sheet.append([_safe(h) for h in headers])
    for row in rows:
        sheet.append([_safe(draw(_XLSX_VALUES)) if draw(st.booleans()) else _safe(c) for c in row])
    if draw(st.booleans()) and sheet.max_row >= 2 and sheet.max_column >= 2:
        sheet.merge_cells(start_row=1, start_column=1, end_row=2, end_column=2)
    if draw(st.booleans()):
        book.create_sheet("Danh mục").append(["tip", "victim"])
    buffer = io.BytesIO()
    try:
        book.save(buffer)
    except (ValueError, TypeError):  # a value openpyxl cannot write (not the importer's concern)
        book = Workbook()
        book.active.append(["record_id"])
        buffer = io.BytesIO()
        book.save(buffer)
    return buffer.getvalue()


def _damaged(draw, data: bytes) -> bytes:
    """The bytes as they are (half of the time), truncated, or with a few bytes overwritten."""
    how = draw(st.sampled_from(["as_is", "as_is", "truncated", "overwritten"]))
    if how == "truncated" and data:
        return data[:draw(st.integers(0, len(data) - 1))]
    if how == "overwritten" and data:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    return data


@st.composite
def _xlsx_maybe_damaged(draw, kind: str) -> bytes:
    return _damaged(draw, draw(_xlsx_bytes(kind)))


@st.composite
def _zip_with_bad_sheet(draw) -> bytes:
    """A workbook whose sheet XML is damaged after the header: openpyxl fails mid-read."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["record_id", "date", "type", "commune_code"])
    for i in range(3):
        book.active.append([f"Z{i}", "05/08/2024", "tip", "25681"])
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                keep = draw(st.integers(body.find(b"</row>") + 6, len(body) - 1))
                body = body[:keep] + draw(st.sampled_from(
                    [b"", b"<row r=\"9\"><c r=\"A9\" t=\"s\"><v>999</v></c></row>", b"<<>>",
                     b"<row r=\"x\"><c r=\"A1\" t=\"n\"><v>abc</v></c></row>", b"&#0;"]))
            dst.writestr(item, body)
    return out.getvalue()


@pytest.mark.parametrize("kind", list(KINDS))
def test_any_workbook_is_imported_or_refused_cleanly(kind, importer, store_settings):
    def check(data: bytes) -> None:
        importer.check(importer.file(".xlsx", data), kind)

    strategy = st.one_of(_xlsx_maybe_damaged(kind), _zip_with_bad_sheet(),
                         st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06" + b"\0" * 18,
                                          b"not a workbook"]))
    _run_given(strategy, check, _fuzz(25, store_settings))


# -- GeoJSON, GeoPackage, Shapefile ----------------------------------------------------------

_COORD = st.one_of(st.floats(min_value=-200, max_value=200), st.sampled_from(
    [106.10, 11.31, 1e308, -1e308, float("nan"), float("inf"), 0.0]))
_GEOMETRY = st.one_of(
    st.none(),
    st.builds(lambda x, y: {"type": "Point", "coordinates": [x, y]}, _COORD, _COORD),
    st.builds(lambda x, y, z: {"type": "Point", "coordinates": [x, y, z]}, _COORD, _COORD,
              _COORD),
    st.just({"type": "Point", "coordinates": [106.10, 11.31]}),
    st.just({"type": "Point", "coordinates": []}),
    st.just({"type": "Point", "coordinates": "106,11"}),
    st.just({"type": "Polygon", "coordinates": [[[106.1, 11.3], [106.2, 11.3], [106.1, 11.4],
                                                 [106.2, 11.4], [106.1, 11.3]]]}),
    st.just({"type": "Polygon", "coordinates": [[[106.1, 11.3]]]}),
    st.just({"type": "LineString", "coordinates": [[106.1, 11.3], [106.2, 11.4]]}),
    st.just({"type": "MultiPoint", "coordinates": [[106.1, 11.3]]}),
    st.just({"type": "GeometryCollection", "geometries": []}),
    st.just({"type": "Nonsense", "coordinates": [1, 2]}),
    st.just("POINT (106.1 11.3)"),
)
_PROPERTY = st.one_of(_CELLS, st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                      st.floats(), st.lists(st.integers(), max_size=3),
                      st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@st.composite
def _geojson_bytes(draw, kind: str) -> bytes:
    headers, rows = draw(_table(kind))
    features = []
    for row in rows or [[]]:
        props = {h: (draw(_PROPERTY) if draw(st.booleans()) else c)
                 for h, c in zip(headers, row, strict=False)}
        feature = {"type": draw(st.sampled_from(["Feature", "Feature", "feature", "Point"])),
                   "geometry": draw(_GEOMETRY)}
        if draw(st.booleans()) or props:
            feature["properties"] = props if draw(st.integers(0, 5)) else None
        features.append(feature)
    doc = {"type": "FeatureCollection", "features": features}
    if draw(st.booleans()):
        doc["crs"] = {"type": "name", "properties": {"name": draw(st.sampled_from(
            ["urn:ogc:def:crs:EPSG::9209", "EPSG:32648", "urn:ogc:def:crs:EPSG::999999",
             "nonsense"]))}}
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    # a lone surrogate drawn into a key cannot be UTF-8: written as "?", as an editor would
    return _damaged(draw, text.encode("utf-8", "replace"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_any_geojson_is_imported_or_refused_cleanly(kind, importer, store_settings):
    def check(data: bytes) -> None:
        importer.check(importer.file(draw_suffix(data), data), kind)

    def draw_suffix(data: bytes) -> str:
        return ".json" if len(data) % 2 else ".geojson"

    strategy = st.one_of(_geojson_bytes(kind), st.sampled_from(
        [b"", b"{}", b"[]", b"null", b'{"type": "FeatureCollection"}',
         b'{"type": "FeatureCollection", "features": [null]}',
         b'{"type": "FeatureCollection", "features": {}}']))
    _run_given(strategy, check, _fuzz(25, store_settings))


@pytest.fixture(scope="module")
def point_files(tmp_path_factory) -> dict[str, bytes]:
    """A good GeoPackage and Shapefile of incident points (each file's bytes)."""
    import geopandas as gpd
    import shapely

    folder = tmp_path_factory.mktemp("points")
    frame = gpd.GeoDataFrame(
        {"record_id": ["P1", "P2"], "date": ["05/08/2024", "01/10/2025"],
         "type": ["tip", "illegal_crossing"]},
        geometry=[shapely.Point(106.10, 11.31), shapely.Point(106.2, 11.2)], crs="EPSG:4326")
    frame.to_file(folder / "diem.gpkg", driver="GPKG")
    frame.to_file(folder / "diem.shp")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_damaged_geopackages_and_shapefiles_are_refused_cleanly(point_files, importer,
                                                                 store_settings):
    names = sorted(point_files)

    @st.composite
    def files(draw) -> dict[str, bytes]:
        suffix = draw(st.sampled_from([".gpkg", ".shp"]))
        chosen = {n: point_files[n] for n in names if n.endswith(suffix) or
                  (suffix == ".shp" and not n.endswith(".gpkg"))}
        missing = draw(st.sets(st.sampled_from([".dbf", ".shx", ".prj"]))) \
            if suffix == ".shp" else set()
        out = {}
        for name, data in chosen.items():
            if Path(name).suffix in missing:
                continue
            out[name] = _damaged(draw, data) if draw(st.booleans()) else data
        return out

    def check(chosen: dict[str, bytes]) -> None:
        importer.n += 1
        folder = importer.folder / f"set-{importer.n}"
        folder.mkdir()
        for name, data in chosen.items():
            (folder / name).write_bytes(data)
        main = next(folder / n for n in chosen if n.endswith((".gpkg", ".shp")))
        importer.check(main, "incidents")

    _run_given(files(), check, _fuzz(30, store_settings))


# -- the bugs the fuzzing found, pinned --------------------------------------------------------


def _csv(importer: _Importer, text: str) -> Path:
    return importer.file(".csv", ("\ufeff" + text).encode("utf-8"))


def test_a_row_with_more_cells_than_the_header_is_refused_not_shifted(importer):
    """pandas took the first column as the index: every field moved one to the left."""
    path = _csv(importer, "record_id,date,type,commune_code\n"
                          "HS-1,05/08/2024,tip,25681,extra\n")
    err = importer.check(path, "incidents")
    assert isinstance(err, FileRefused) and err.code == "file.ragged"
    assert err.describe("vi").startswith("Dòng 2 của tệp") and "5 ô" in err.describe("vi")
    assert "line 2" in err.describe("en") and "4 columns" in err.describe("en")


def test_a_population_file_without_a_year_column_is_refused(importer):
    """The year was left out of the required columns (it is part of the key): every row got
    year <NA>, the key "25681-<NA>", and the duplicate check crashed (IndexError)."""
    path = _csv(importer, "Mã xã,Dân số\n25681,41250\n25702,20000\n")
    err = importer.check(path, "population")
    assert err.code == "file.missing_columns" and "Năm (year)" in err.describe("vi")


def test_an_unclosed_quote_is_refused_with_its_row(importer):
    path = _csv(importer, 'record_id,date,type,commune_code\n"HS-1,05/08/2024,tip,25681\n')
    err = importer.check(path, "incidents")
    assert err.code == "file.unclosed_quote" and "dòng 2" in err.describe("vi")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n"])
def test_an_empty_csv_or_a_lone_bom_is_an_empty_file(importer, data):
    err = importer.check(importer.file(".csv", data), "incidents")
    assert err.code == "file.empty"


def test_utf16_text_is_refused_not_stored_with_nul_characters(importer, store_settings):
    """UTF-16 without BOM is valid UTF-8 full of NULs; PostgreSQL cannot store a NUL."""
    text = "record_id,date,type,commune_code\nHS-1,05/08/2024,tip,25681\n"
    err = importer.check(importer.file(".csv", text.encode("utf-16-le")), "incidents")
    assert err.code == "file.unreadable" and "NUL" in err.describe("en")


def test_huge_numbers_are_rejected_rows(importer):
    path = _csv(importer, "record_id,date,type,commune_code,persons\n"
                          "HS-1,05/08/2024,tip,25681,99999999999999999999\n"
                          "HS-2,05/08/2024,tip,25681,9223372036854775808\n"
                          "HS-3,05/08/2024,tip,25681,12\n")
    report = importer.check(path, "incidents")
    assert (report.accepted, report.rejected) == (1, 2)
    assert set(report.rejects["reason"]) == {"number.too_large"}
    assert "quá lớn" in report.reject_table("vi")["reason_text"].iloc[0]


def test_dates_in_other_digits_or_out_of_range_years_are_rejected_rows(importer):
    path = _csv(importer, "record_id,date,type,commune_code\n"
                          "D1,٠٥/٠٨/٢٠٢٤,tip,25681\n"      # Arabic-Indic digits
                          "D2,０５/０８/２０２４,tip,25681\n"  # full-width digits
                          "D3,01/01/9999,tip,25681\n"
                          "D4,00/00/0000,tip,25681\n"
                          "D5,01/01/0001,tip,25681\n"
                          "D6,05/08/2024,tip,25681\n")
    report = importer.check(path, "incidents")
    reasons = report.rejects.set_index("record_id")["reason"].to_dict()
    assert reasons == {"D1": "date.unreadable", "D2": "date.unreadable", "D3": "date.future",
                       "D4": "date.impossible", "D5": "date.too_old"}
    assert report.accepted == 1


def test_a_planned_end_date_in_year_9999_is_implausible(importer):
    path = _csv(importer, "record_id,commune_code,model_type,start_date,end_date\n"
                          "M1,25681,camera,01/09/2025,31/12/9999\n")
    report = importer.check(path, "models")
    assert list(report.rejects["reason"]) == ["date.implausible"]


def test_repeated_headers_in_a_workbook(importer):
    """Two unknown columns of one name crashed the personal-data check (a DataFrame, not a
    column); two columns of one field are refused as duplicates, as in a CSV."""
    from openpyxl import Workbook

    def workbook(headers):
        book = Workbook()
        book.active.append(headers)
        book.active.append([f"W{importer.n}", "05/08/2024", "tip", "25681", "a", "b"])
        raw = io.BytesIO()
        book.save(raw)
        return importer.file(".xlsx", raw.getvalue())

    report = importer.check(workbook(["record_id", "date", "type", "commune_code", "ghi chú",
                                      "ghi chú"]), "incidents")
    assert report.accepted == 1 and report.unknown_columns == ("ghi chú", "ghi chú (2)")
    err = importer.check(workbook(["record_id", "date", "type", "commune_code", "date", None]),
                         "incidents")
    assert err.code == "file.duplicate_columns"
    err = importer.check(workbook(["record_id", "date", "type", "commune_code", "", ""]),
                         "incidents")
    assert not isinstance(err, FileRefused) and err.accepted == 1


def test_a_workbook_damaged_inside_its_sheet_is_refused_whole(importer):
    """openpyxl reads sheets lazily: the damage surfaced mid-import as a raw parser error."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["record_id", "date", "type", "commune_code"])
    book.active.append(["Z1", "05/08/2024", "tip", "25681"])
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body[:body.find(b"</row>") + 6] + b"<row><c><v>1"
            dst.writestr(item, body)
    err = importer.check(importer.file(".xlsx", out.getvalue()), "incidents")
    assert err.code == "file.unreadable" and "XLSX" in err.describe("vi")


def test_geojson_dates_missing_in_some_features(importer):
    """GDAL types a property of ISO dates as Date: a feature without it gave NaT, which
    passed as a date and reached the store's NOT NULL column."""
    features = [
        {"type": "Feature", "properties": {"record_id": "G1", "date": "2024-08-05",
                                           "type": "tip"},
         "geometry": {"type": "Point", "coordinates": [106.10, 11.31]}},
        {"type": "Feature", "properties": {"record_id": "G2", "type": "tip"},
         "geometry": {"type": "Point", "coordinates": [106.10, 11.31]}},
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    report = importer.check(importer.file(".geojson", data), "incidents")
    assert report.rejects.set_index("record_id")["reason"].to_dict() == \
        {"G2": "required.missing"}


def test_an_unreadable_file_names_no_server_folder(importer, tmp_path):
    err = importer.check(importer.file(".geojson", b"\x00\x01 not json"), "incidents")
    assert err.code == "file.mismatch" and str(tmp_path) not in err.describe("en")


@pytest.mark.parametrize("given", [
    {"display_name": "vu\x00viec.csv"}, {"source": "BĐBP\x00"}, {"source": "BĐBP\ud800"},
    {"display_name": "vu\ud800viec.csv"},
], ids=["nul-in-file-name", "nul-in-source", "surrogate-in-source", "surrogate-in-file-name"])
def test_the_source_and_the_file_name_are_text_any_store_can_hold(importer, store_settings,
                                                                   request, given):
    """The import page passes the upload's file name and the typed source as they come from
    the browser (a modified one sends anything): a NUL or a lone surrogate must be refused
    or cleaned, not crash the store's driver."""
    path = _csv(importer, "record_id,date,type,commune_code\nN1,05/08/2024,tip,25699\n")
    importer.check(path, "incidents", **given)


# -- formulas that could flow back out into a spreadsheet -----------------------------------


_FORMULA = "=cmd|' /C calc'!A0"


def test_formula_text_is_stored_as_text(importer):
    """The importer keeps the agency as written (it is data, not code) ..."""
    path = _csv(importer, "Mã hồ sơ;Ngày;Mã xã;Hình thức;Số người tham dự;Đơn vị\n"
                          f"O1;30/07/2025;25681;hội nghị;10;{_FORMULA}\n")
    report = importer.check(path, "outreach")
    assert report.accepted == 1
    assert importer.store.read("outreach").at[0, "agency"] == _FORMULA


def test_formula_text_is_written_as_text_in_the_xlsx_export():
    """... so every spreadsheet export must write it as text, never as a formula."""
    from openpyxl import load_workbook

    from dashboard.exports.xlsx import layer_xlsx
    from layers.reach import outreach_reach

    outreach = pd.DataFrame({
        "date": pd.to_datetime(["2025-07-30"]), "agency": [_FORMULA], "format": ["meeting"],
        "participants": pd.array([10], dtype="Int64"), "materials": pd.array([0], dtype="Int64"),
        "new_code": ["25681"], "old_code": ["25699"]})
    communes = pd.DataFrame({"name": ["Xã Bến Cầu"]}, index=["25681"])
    population = pd.DataFrame({"new_code": ["25681"], "year": [2025], "population": [30_000],
                               "population_14_60": [21_000]})
    layer = outreach_reach(outreach, communes, population, start=dt.date(2025, 1, 1),
                           end=dt.date(2025, 12, 31))
    assert layer.frame.at["25681", "last_agency"] == _FORMULA
    raw = layer_xlsx(layer, title="T", lang="vi")
    sheet = load_workbook(io.BytesIO(raw)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None
             and str(c.value).lstrip("'").startswith("=cmd")]
    assert cells, "the agency is in the sheet"
    assert all(c.data_type == "s" for c in cells), [(c.coordinate, c.data_type) for c in cells]


def test_the_rejects_file_does_not_carry_live_formulas(importer):
    path = _csv(importer, "Mã hồ sơ;Ngày;Mã xã;Hình thức;Đơn vị\n"
                          f"O1;{_FORMULA};25681;hội nghị;Hội LHPN\n")
    report = importer.check(path, "outreach")
    assert report.rejected == 1 and report.rejects_file is not None
    table = pd.read_csv(report.rejects_file, encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
    starts = [v for col in table.columns for v in table[col] if v[:1] in ("=", "+", "-", "@")]
    assert not starts, starts
