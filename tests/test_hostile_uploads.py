"""Hostile uploads (issue 14): no file teaches its sender what it points at.

The corpus (``scripts/hostile_uploads.py``): OGR VRT documents in every
accepted suffix reading the record store, the accounts file, ``/etc/passwd``
and a URL; GeoJSON whose CRS is a link; GeoPackages with views, triggers and
virtual tables; an XLSX zip bomb and an XML entity bomb; files whose content is
not what their suffix says. Each goes through the importer (preview, as the
web page runs it) and a sample through the command line: each is refused or
harmless, no answer holds a byte of what it pointed at, and the listener it
tried to reach hears nothing. The web page's path is replayed against a
running server by ``scripts/probe.py`` (tests/test_probe.py).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from geo.config import Settings
from geo.ingest import FileRefused, Places, import_file
from geo.ingest.file_checks import UPLOAD_LIMITS, Limits, check_file
from geo.store import open_store
from scripts.hostile_uploads import SUFFIXES, Listener, build, vrt_document, xlsx_zip_bomb

VICTIM_MARK = "NAN-NHAN-BI-MAT-7f3a"
HASH_MARK = "$argon2id$v=19$SECRET-HASH-91c2"
PASSWD_MARK = "root:x:0:0"


@pytest.fixture(scope="module")
def listener():
    heard = Listener()
    yield heard
    heard.close()


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory) -> dict[str, str]:
    """A victim store and an accounts file with marks that must never come back."""
    folder = tmp_path_factory.mktemp("secrets")
    store = folder / "borderwatch.sqlite"
    db = sqlite3.connect(store)
    db.execute("CREATE TABLE incidents (record_id TEXT, date TEXT, type TEXT, commune_code TEXT)")
    db.executemany("INSERT INTO incidents VALUES (?, ?, 'victim', '25459')",
                   [(f"{VICTIM_MARK}-{i}", "01/02/2024") for i in range(5)])
    db.commit()
    db.close()
    accounts = folder / "accounts.sqlite"
    db = sqlite3.connect(accounts)
    db.execute("CREATE TABLE users (username TEXT, password_hash TEXT, record_id TEXT)")
    db.execute("INSERT INTO users VALUES ('demo-commander', ?, 'x')", (HASH_MARK,))
    db.commit()
    db.close()
    return {"store": str(store), "accounts": str(accounts), "passwd": "/etc/passwd",
            "environ": "/proc/self/environ"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, secrets_dir, listener):
    return build(tmp_path_factory.mktemp("corpus"), targets=secrets_dir, url=listener.url)


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> Places:
    return Places.load(Settings(data_dir=tmp_path_factory.mktemp("places")))


def _clean(text: str) -> None:
    for mark in (VICTIM_MARK, HASH_MARK, "SECRET-HASH", PASSWD_MARK, "/bin/bash",
                 "BORDERWATCH_", "PATH="):
        assert mark not in text, f"{mark!r} leaked: {text[:500]}"


def _answer(case, folder: Path, places: Places, store) -> tuple[str | None, str]:
    """Import ``case`` in preview with the web page's limits: (refusal code or None, every
    word the importer would show)."""
    path = folder / case.name
    path.write_bytes(case.data)
    try:
        report = import_file(path, "incidents", store, places, preview=True,
                             limits=UPLOAD_LIMITS)
    except FileRefused as err:
        return err.code, err.describe("vi") + "\n" + err.describe("en")
    words = json.dumps(report.to_dict("vi"), ensure_ascii=False, default=str)
    words += json.dumps(report.to_dict("en"), ensure_ascii=False, default=str)
    words += report.sample.to_json(force_ascii=False, default_handler=str)
    return None, words


_MUST_REFUSE = {".geojson", ".json", ".gpkg", ".shp", ".xlsx", ".xlsm"}


def test_no_hostile_upload_reads_or_fetches_anything(corpus, places, tmp_path, listener):
    with open_store(Settings(data_dir=tmp_path / "var")) as store:
        answers = {case.name: _answer(case, tmp_path, places, store) for case in corpus}
    for name, (code, words) in answers.items():
        _clean(words)
        suffix = Path(name).suffix
        if name.startswith("vrt-") and suffix in _MUST_REFUSE:
            # every VRT is refused as not being its suffix's format, before any parser
            assert code == "file.mismatch", (name, code, words)
        elif not name.startswith("vrt-"):
            assert code is not None, (name, words)
    assert listener.heard == [], listener.heard
    expected = {
        "linked-crs.geojson": "file.unsafe", "vsi-crs.geojson": "file.unsafe",
        "view.gpkg": "file.unsafe", "trigger.gpkg": "file.unsafe",
        "virtual.gpkg": "file.unsafe", "attach.gpkg": "file.unsafe",
        "zip-bomb.xlsx": "file.bomb", "entity-bomb.xlsx": "file.unreadable",
        "workbook.csv": "file.mismatch", "text.xlsx": "file.mismatch",
        "image.geojson": "file.mismatch", "plain.gpkg": "file.mismatch",
        "geojson.gpkg": "file.mismatch", "random.shp": "file.mismatch",
        "cut-header.shp": "file.mismatch", "array.json": "file.mismatch",
        "utf16.csv": "file.unreadable",
    }
    assert {name: answers[name][0] for name in expected} == expected
    # the refusal says what the file is not, in the reader's language
    assert "không phải tệp GeoJSON" in answers["vrt-passwd.geojson"][1]


def test_every_vrt_read_as_csv_text_is_only_text(corpus, places, tmp_path):
    """A VRT named .csv / .txt is read as the text it is (pandas; GDAL never sees it): it
    lacks the columns of a record file and is refused as such."""
    with open_store(Settings(data_dir=tmp_path / "var")) as store:
        for case in corpus:
            if case.name.startswith("vrt-") and Path(case.name).suffix in (".csv", ".txt"):
                code, words = _answer(case, tmp_path, places, store)
                assert code == "file.missing_columns", (case.name, code)
                _clean(words)


def test_a_zip_bomb_is_refused_before_a_row_is_parsed(tmp_path):
    bomb = tmp_path / "bom.xlsx"
    bomb.write_bytes(xlsx_zip_bomb(2_000_000))
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(FileRefused) as err:
        check_file(bomb, UPLOAD_LIMITS)
    assert err.value.code == "file.bomb"
    assert "MB" in err.value.describe("vi")


def test_too_many_rows_refuse_the_file_while_it_is_read(places, tmp_path):
    rows = "\n".join(f"R{i},01/02/2024,tip,25459" for i in range(1200))
    path = tmp_path / "nhieu.csv"
    path.write_text("record_id,date,type,commune_code\n" + rows + "\n", encoding="utf-8")
    small = Limits(max_bytes=10**7, max_rows=1000, max_unpacked_bytes=10**7)
    with open_store(Settings(data_dir=tmp_path / "var")) as store, \
            pytest.raises(FileRefused) as err:
        import_file(path, "incidents", store, places, preview=True, limits=small,
                    chunk_rows=300)
    assert err.value.code == "file.too_many_rows"
    assert "1000" in err.value.describe("en")


def test_a_geopackage_schema_that_is_not_utf8_is_still_read_and_judged(tmp_path):
    """Found by the fuzzer: a name in ``sqlite_master`` that is not UTF-8 raised
    UnicodeDecodeError out of the schema check. It is read with replacement characters,
    so a view with a mangled name is still refused as a view."""
    path = tmp_path / "diem.gpkg"
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    db.execute("CREATE TABLE diem (id INTEGER PRIMARY KEY)")
    db.execute("CREATE VIEW vé AS SELECT * FROM diem")
    db.commit()
    db.close()
    raw = path.read_bytes()
    assert raw.count("vé".encode()) >= 1
    path.write_bytes(raw.replace("vé".encode(), b"v\x80\xa9"))  # same length, not UTF-8
    with pytest.raises(FileRefused) as err:
        check_file(path, UPLOAD_LIMITS)
    assert err.value.code == "file.unsafe" and "SQL view" in str(err.value)


def test_an_oversize_file_is_refused_unread(tmp_path):
    path = tmp_path / "lon.csv"
    path.write_bytes(b"record_id\n" + b"x\n" * 600_000)
    small = Limits(max_bytes=1_000_000, max_rows=10**6, max_unpacked_bytes=10**7)
    with pytest.raises(FileRefused) as err:
        check_file(path, small)
    assert err.value.code == "file.too_large"


def test_the_gdal_of_the_process_keeps_three_drivers_and_no_network():
    """In a fresh process, after the first boundary read, GDAL has GeoJSON, GPKG and
    Shapefile only (no VRT, no HTTP-based driver) and its network options are shut."""
    code = ("import pyogrio\nfrom geo.config import Settings\nfrom geo.boundaries import "
            "load_communes\nimport tempfile, json\nload_communes(Settings(data_dir="
            "__import__('pathlib').Path(tempfile.mkdtemp())), '2025')\n"
            "from geo.gdal_policy import registered_drivers\n"
            "print(json.dumps([sorted(pyogrio.list_drivers()), sorted(registered_drivers()), "
            "pyogrio.get_gdal_config_option('GDAL_HTTP_PROXY')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    drivers, registered, proxy = json.loads(out.strip().splitlines()[-1])
    assert drivers == ["ESRI Shapefile", "GPKG", "GeoJSON"]
    assert registered == drivers
    assert proxy == "127.0.0.1:9"


#: One file of each kind of attack, through the command line (a sample of the corpus, which
#: runs whole through the importer above and through the page in tests/test_probe.py). The
#: first runs ``borderwatch import`` as a person does, in a process of its own; the others
#: call the same entry point (:func:`dashboard.cli.main`) in this process, which saves a
#: Python start each (the process's own GDAL is tested above, in a fresh process).
_THROUGH_THE_CLI = {"vrt-store.geojson": "GeoJSON", "vrt-accounts.gpkg": "GeoPackage",
                    "vrt-passwd.shp": "Shapefile", "vrt-vsicurl.xlsx": "XLSX",
                    "view.gpkg": "view", "zip-bomb.xlsx": "MB", "linked-crs.geojson": "CRS"}
_IN_A_PROCESS = "linked-crs.geojson"


@pytest.mark.parametrize("name", sorted(_THROUGH_THE_CLI))
def test_hostile_files_are_refused_through_the_command_line(corpus, tmp_path, listener, name,
                                                           capsys):
    """``borderwatch import`` refuses each (exit 2), says why, leaks nothing, fetches nothing."""
    from dashboard.cli import main

    case = next(c for c in corpus if c.name == name)
    path = tmp_path / case.name
    path.write_bytes(case.data)
    argv = ["--data-dir", str(tmp_path / "var"), "import", "incidents", str(path)]
    if name == _IN_A_PROCESS:
        done = subprocess.run([sys.executable, "-m", "dashboard.cli", *argv],
                              capture_output=True, text=True, timeout=300)
        code, out, err = done.returncode, done.stdout, done.stderr
    else:
        code = main(argv)
        out, err = capsys.readouterr()
    assert code == 2, (out, err)
    _clean(out + err)
    assert _THROUGH_THE_CLI[name] in out + err
    assert listener.heard == []


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_real_file_of_each_suffix_still_imports(places, tmp_path, suffix):
    """The checks refuse only what is hostile: a plain file of each accepted suffix reads."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    rows = pd.DataFrame({"record_id": ["A1", "A2"], "date": ["01/02/2024", "03/02/2024"],
                         "type": ["tip", "illegal_crossing"]})
    path = tmp_path / f"tep{suffix}"
    if suffix in (".csv", ".txt"):
        rows.assign(commune_code="25459").to_csv(path, index=False)
    elif suffix in (".xlsx", ".xlsm"):
        rows.assign(commune_code="25459").to_excel(path, index=False, engine="openpyxl")
    else:
        point = places.communes_new.geometry.iloc[0].representative_point()
        frame = gpd.GeoDataFrame(rows, geometry=[Point(point.x, point.y)] * 2, crs="EPSG:4326")
        driver = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG",
                  ".shp": "ESRI Shapefile"}[suffix]
        frame.to_file(path, driver=driver)
    with open_store(Settings(data_dir=tmp_path / "var")) as store:
        report = import_file(path, "incidents", store, places, preview=True,
                             limits=UPLOAD_LIMITS, today=pd.Timestamp("2026-01-01").date())
    assert report.rows_read == 2 and report.accepted == 2, report.to_dict("en")


@pytest.mark.parametrize("given", ["/vsicurl/http://127.0.0.1:9/x.geojson",
                                   "/vsizip//tmp/a.zip/x.shp", "GPKG:/tmp/x.gpkg:records",
                                   "http://127.0.0.1:9/x.geojson", "/tmp/no-such-file.geojson"])
def test_gdal_is_given_only_plain_local_files(given):
    from geo.gdal_policy import UnsafePath, check_path

    with pytest.raises(UnsafePath):
        check_path(given)


def test_a_reader_out_of_memory_refuses_the_file_not_the_server(places, tmp_path):
    """The child that reads a GeoJSON has a memory limit: past it, the file is refused with
    a reason a person reads, and the server goes on."""
    import json as _json

    path = tmp_path / "diem.geojson"
    features = [{"type": "Feature", "properties": {"record_id": f"A{i}", "date": "01/02/2024",
                                                   "type": "tip"},
                 "geometry": {"type": "Point", "coordinates": [106.1, 11.3]}} for i in range(50)]
    path.write_text(_json.dumps({"type": "FeatureCollection", "features": features}))
    starved = Limits(max_bytes=10**7, max_rows=10**6, max_unpacked_bytes=10**7,
                     memory_bytes=64 * 1024 * 1024)
    with open_store(Settings(data_dir=tmp_path / "var")) as store, \
            pytest.raises(FileRefused) as err:
        import_file(path, "incidents", store, places, preview=True, limits=starved)
    assert err.value.code == "file.too_costly"
    message = err.value.describe("en")
    assert "diem.geojson" in message and "more memory or time" in message
    assert "bộ nhớ" in err.value.describe("vi")
    assert "/" not in message.replace("diem.geojson", "")  # no server path
