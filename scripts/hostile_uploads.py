"""A corpus of hostile uploads: files that are not what their suffix says, or that ask a
parser to read, fetch or unpack what it should not.

Used by ``scripts/probe.py`` (against a running server, through the import
page) and by ``tests/test_hostile_uploads.py`` (through the importer and the
command line). Each :class:`Case` is a file and what must happen to it: refused
as a whole, with nothing of what it points at in any answer.

``python -m scripts.hostile_uploads FOLDER`` writes the corpus to FOLDER.
"""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import sys
import threading
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["Case", "Listener", "SUFFIXES", "build", "vrt_document"]

#: Every suffix an upload may have.
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".geojson", ".json", ".gpkg", ".shp")


@dataclass(frozen=True)
class Case:
    """One hostile file: ``name`` (its suffix is what it claims), ``data`` and what it is."""

    name: str
    data: bytes
    what: str


class Listener:
    """An HTTP server on 127.0.0.1 that records every request (none may arrive)."""

    def __init__(self) -> None:
        heard = self.heard = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                heard.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'GEOGCS["x"]')

            do_HEAD = do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def vrt_document(source: str, sql: str | None = None) -> bytes:
    """An OGR VRT document whose layer reads ``source`` (a file, ``/vsicurl/`` URL …)."""
    query = f"<SrcSQL>{sql}</SrcSQL>" if sql else ""
    return (f'<OGRVRTDataSource><OGRVRTLayer name="records">'
            f"<SrcDataSource>{source}</SrcDataSource>{query}"
            f"<GeometryType>wkbNone</GeometryType></OGRVRTLayer></OGRVRTDataSource>").encode()


def _xlsx(sheet_xml: bytes, *, shared: bytes | None = None) -> bytes:
    """A minimal workbook around ``sheet_xml`` (deflated)."""
    content_types = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                     b'openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
                     b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                     b'<Default Extension="xml" ContentType="application/xml"/><Override '
                     b'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                     b'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
                     b'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                     b'officedocument.spreadsheetml.worksheet+xml"/>'
                     + (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                        if shared else b"") + b"</Types>")
    rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            b'http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    workbook = (b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
                b'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
                b'name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    book_rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                 b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
                 b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                 b'worksheet" Target="worksheets/sheet1.xml"/>'
                 + (b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/sharedStrings" '
                    b'Target="sharedStrings.xml"/>' if shared else b"")
                 + b"</Relationships>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", content_types)
        book.writestr("_rels/.rels", rels)
        book.writestr("xl/workbook.xml", workbook)
        book.writestr("xl/_rels/workbook.xml.rels", book_rels)
        book.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared:
            book.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
               b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = b"</sheetData></worksheet>"


def xlsx_zip_bomb(rows: int = 2_000_000) -> bytes:
    """A workbook of a megabyte or so whose sheet unpacks to ``rows`` rows (about 100 MB)."""
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    return _xlsx(_SHEET_HEAD + row * rows + _SHEET_TAIL)


def xlsx_entity_bomb() -> bytes:
    """A workbook whose shared strings expand an entity a billion times (billion laughs)."""
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    shared = (f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY l0 "lol">{entities}]>'
              '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
              'count="1" uniqueCount="1"><si><t>&l9;</t></si></sst>').encode()
    sheet = _SHEET_HEAD + b'<row><c t="s"><v>0</v></c></row>' + _SHEET_TAIL
    return _xlsx(sheet, shared=shared)


def _gpkg(tmp: Path, extra_sql: str) -> bytes:
    """A GeoPackage (application id, contents table) with ``extra_sql`` run in it."""
    path = tmp / "corpus.gpkg"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(f"""
        PRAGMA application_id = 1196444487;
        PRAGMA user_version = 10300;
        CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
            organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
            definition TEXT NOT NULL, description TEXT);
        INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic', 0, 'NONE', 0,
            'undefined', NULL);
        CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT NOT NULL,
            identifier TEXT, description TEXT DEFAULT '', last_change DATETIME,
            min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
        CREATE TABLE records (id INTEGER PRIMARY KEY, record_id TEXT, date TEXT, type TEXT,
            commune_code TEXT);
        INSERT INTO records VALUES (1, 'A1', '01/02/2024', 'tip', '25459');
        INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES
            ('records', 'attributes', 'records');
        {extra_sql}
    """)
    db.commit()
    db.close()
    return path.read_bytes()


def _shp_header(length_words: int = 50) -> bytes:
    return (struct.pack(">i", 9994) + b"\0" * 20 + struct.pack(">i", length_words)
            + struct.pack("<ii", 1000, 1) + b"\0" * 64)


def build(tmp: Path, *, targets: dict[str, str], url: str) -> list[Case]:
    """The corpus. ``targets`` names files a hostile upload tries to read (label → path: the
    record store, the accounts file, ``/etc/passwd`` …), ``url`` one it tries to fetch
    (a listener that must hear nothing)."""
    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    # VRT in every accepted suffix, pointing at every target and at the network.
    sources = {label: path for label, path in targets.items()}
    sources["vsicurl"] = f"/vsicurl/{url}/vrt.csv"
    for label, source in sources.items():
        sql = "SELECT * FROM incidents" if label == "store" else (
            "SELECT * FROM users" if label == "accounts" else None)
        for suffix in SUFFIXES:
            cases.append(Case(f"vrt-{label}{suffix}", vrt_document(source, sql),
                              f"OGR VRT reading {label}, named {suffix}"))
    # A GeoJSON that GDAL would make fetch its CRS from the network.
    linked = {"type": "FeatureCollection",
              "crs": {"type": "link", "properties": {"href": f"{url}/crs.wkt", "type": "ogcwkt"}},
              "features": [{"type": "Feature", "properties": {"record_id": "A1"},
                            "geometry": {"type": "Point", "coordinates": [106.1, 11.3]}}]}
    cases.append(Case("linked-crs.geojson", json.dumps(linked).encode(),
                      "GeoJSON with a CRS given by a URL"))
    named_vsi = dict(linked, crs={"type": "name", "properties": {"name": f"/vsicurl/{url}/x"}})
    cases.append(Case("vsi-crs.geojson", json.dumps(named_vsi).encode(),
                      "GeoJSON with a CRS named as a /vsicurl/ path"))
    # GeoPackages with SQL that would run on reading.
    store = targets.get("store", "/nonexistent.sqlite")
    cases.append(Case("view.gpkg", _gpkg(tmp, f"""
        CREATE VIEW leak AS SELECT * FROM records;
        INSERT INTO gpkg_contents (table_name, data_type, identifier) VALUES
            ('leak', 'attributes', 'leak');"""), "GeoPackage with an SQL view"))
    cases.append(Case("trigger.gpkg", _gpkg(tmp, """
        CREATE TRIGGER steal AFTER INSERT ON records BEGIN SELECT 1; END;"""),
        "GeoPackage with a trigger"))
    cases.append(Case("virtual.gpkg", _gpkg(tmp, """
        CREATE VIRTUAL TABLE notes USING fts5(body);"""), "GeoPackage with a virtual table"))
    cases.append(Case("attach.gpkg", _gpkg(tmp, f"""
        CREATE VIEW other AS SELECT '{store}' AS file;"""), "GeoPackage with a view naming the store"))
    # Bombs.
    cases.append(Case("zip-bomb.xlsx", xlsx_zip_bomb(), "XLSX that unpacks to 2 M rows"))
    cases.append(Case("entity-bomb.xlsx", xlsx_entity_bomb(), "XLSX with an XML entity bomb"))
    # Wrong content for the suffix.
    workbook = _xlsx(_SHEET_HEAD + b'<row><c t="inlineStr"><is><t>record_id</t></is></c></row>'
                     + _SHEET_TAIL)
    plain_sqlite = tmp / "plain.sqlite"
    plain_sqlite.unlink(missing_ok=True)
    db = sqlite3.connect(plain_sqlite)
    db.execute("CREATE TABLE incidents (record_id TEXT)")
    db.commit()
    db.close()
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    cases += [
        Case("workbook.csv", workbook, "an XLSX named .csv"),
        Case("text.xlsx", b"record_id,date\nA1,01/02/2024\n", "a CSV named .xlsx"),
        Case("image.geojson", png, "a PNG named .geojson"),
        Case("plain.gpkg", plain_sqlite.read_bytes(), "an SQLite file that is not a GeoPackage"),
        Case("geojson.gpkg", json.dumps(linked).encode(), "a GeoJSON named .gpkg"),
        Case("random.shp", bytes(range(256)) * 4, "random bytes named .shp"),
        Case("cut-header.shp", _shp_header()[:60] + vrt_document(targets.get("passwd", "x")),
             "a Shapefile header cut short, followed by VRT"),
        Case("array.json", b"[1, 2, 3]", "JSON that is not GeoJSON"),
        Case("utf16.csv", "record_id,date\nA1,01/02/2024\n".encode("utf-16"),
             "UTF-16 text named .csv"),
    ]
    return cases


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "hostile-uploads")
    cases = build(folder / "work", targets={"passwd": "/etc/passwd"},
                  url="http://127.0.0.1:9")
    for case in cases:
        (folder / case.name).write_bytes(case.data)
    print(f"{len(cases)} hostile files in {folder}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
