"""Faults: the database goes away and comes back; a damaged boundary file is refused whole.

(a) PostGIS unreachable. The store is reached through a small TCP relay that
the test can cut and restore on the same port, as a network outage or a
server restart would: the store layer then raises :class:`geo.store.StoreError`
with a clear message that names the database without its password, the
dashboard's :class:`dashboard.records.RecordCache` drops its connection and
opens a new one on the next read, so the app recovers by itself when the
database is back; an import cut off midway leaves nothing behind.

(b) Boundary files that are damaged are refused whole, with a message that
says why, and the boundaries in the data folder (``var/boundaries/``, which
every map reads) stay byte for byte as they were: a truncated GeoPackage, a
Shapefile without its .shx or .dbf, a GeoJSON with one broken polygon among
good ones, a file in metres read as degrees (no .prj), codes given twice.

The import of a killed process is tested in ``test_cli_import.py`` (SIGKILL).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pytest

from geo.config import Settings
from geo.ingest import Places, import_file
from geo.store import StoreError, open_store

TODAY = "2026-11-23"
_TRACE = re.compile(r"Traceback|File \"|\b[A-Z][A-Za-z]*(Error|Exception)\b:")
_CSV = "record_id,date,type,commune_code\nF1,05/08/2024,tip,25699\nF2,06/08/2024,tip,25699\n"


# -- a relay that can be cut -------------------------------------------------------------------


class Relay:
    """TCP relay 127.0.0.1:port → upstream; :meth:`cut` drops every connection and stops
    listening (connections are refused), :meth:`restore` listens on the same port again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self.restore()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        for sock in [listener, *sockets]:
            if sock is None:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._sockets |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the relay's."""
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{port}"))


def _password(url: str) -> str:
    return urlsplit(url).password or ""


@pytest.fixture()
def relayed(postgis_url, tmp_path):
    """Settings whose database is reached through a :class:`Relay`, the relay, the password."""
    parts = urlsplit(postgis_url)
    relay = Relay((parts.hostname, parts.port or 5432))
    settings = Settings(data_dir=tmp_path / "var", database_url=_through(postgis_url,
                                                                         relay.port))
    yield settings, relay, _password(postgis_url)
    relay.cut()


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> Places:
    return Places.load(Settings(data_dir=tmp_path_factory.mktemp("places")))


def _import(settings: Settings, places: Places, folder: Path, text: str = _CSV, **kw):
    path = folder / "vu_viec.csv"
    path.write_text(text, encoding="utf-8")
    with open_store(settings) as store:
        return import_file(path, "incidents", store, places,
                           today=pd.Timestamp(TODAY).date(), **kw)


def _clear_store_message(message: str, password: str) -> None:
    assert message.strip()
    assert password and password not in message, message
    assert "***" in message, message  # the URL is named, its password hidden
    assert not _TRACE.search(message), message


# -- (a) the database goes away ------------------------------------------------------------------


@pytest.mark.postgis
def test_the_store_says_clearly_that_the_database_is_gone(relayed, places, tmp_path):
    settings, relay, password = relayed
    _import(settings, places, tmp_path)
    store = open_store(settings)
    assert store.count("incidents") == 2
    relay.cut()
    with pytest.raises(StoreError) as lost:  # an open connection, dropped
        store.count("incidents")
    _clear_store_message(str(lost.value), password)
    store.close()
    with pytest.raises(StoreError) as refused:  # a new connection, refused
        open_store(settings)
    _clear_store_message(str(refused.value), password)
    assert "cannot reach the database" in str(refused.value)
    assert "PostgreSQL is running" in str(refused.value)


@pytest.mark.postgis
def test_the_record_cache_recovers_when_the_database_returns(relayed, places, tmp_path):
    from dashboard.records import RecordCache

    settings, relay, password = relayed
    first = _import(settings, places, tmp_path)
    cache = RecordCache(settings)
    assert len(cache.current().incidents) == 2
    relay.cut()
    for _ in range(2):  # the open connection fails, then reconnecting fails
        with pytest.raises(StoreError) as err:
            cache.current()
        _clear_store_message(str(err.value), password)
    assert len(cache.last_known().incidents) == 2  # what the screens keep showing meanwhile
    relay.restore()
    records = cache.current()
    assert len(records.incidents) == 2 and records.revision == first.import_id
    _import(settings, places, tmp_path, _CSV + "F3,07/08/2024,tip,25699\n")
    assert len(cache.current().incidents) == 3  # and it follows new imports again


@pytest.mark.postgis
def test_an_import_cut_off_midway_leaves_the_store_as_it_was(relayed, places, tmp_path):
    """The connection drops after the first chunk is written (uncommitted): the server rolls
    the transaction back; the store has exactly its earlier records once it is back."""
    settings, relay, password = relayed
    _import(settings, places, tmp_path)
    with open_store(settings) as store:
        before = (store.read("incidents"), store.imports(), store.quarantine())
    rows = "".join(f"M{i},05/08/2024,tip,25699\n" for i in range(30))
    path = tmp_path / "lon.csv"
    path.write_text("record_id,date,type,commune_code\n" + rows, encoding="utf-8")
    store = open_store(settings)
    with pytest.raises(Exception) as err:
        import_file(path, "incidents", store, places, chunk_rows=10,
                    progress=lambda n: relay.cut())
    store.close()
    relay.restore()
    with open_store(settings) as store:
        after = (store.read("incidents"), store.imports(), store.quarantine())
    for b, a in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert password not in str(err.value)


@pytest.mark.postgis
def test_an_import_cut_off_midway_says_the_database_is_gone(relayed, places, tmp_path):
    settings, relay, password = relayed
    rows = "".join(f"M{i},05/08/2024,tip,25699\n" for i in range(30))
    path = tmp_path / "lon.csv"
    path.write_text("record_id,date,type,commune_code\n" + rows, encoding="utf-8")
    with open_store(settings) as store, pytest.raises(StoreError) as err:
        import_file(path, "incidents", store, places, chunk_rows=10,
                    progress=lambda n: relay.cut())
    _clear_store_message(str(err.value), password)


def _signed_in(app, settings: Settings, role: str = "commander"):
    """A test client of ``app`` signed in with ``role`` (plain when the app has no sign-in)."""
    client = app.server.test_client()
    if "/login" not in {r.rule for r in app.server.url_map.iter_rules()}:
        return client
    from dashboard.auth.accounts import accounts_of

    password = "faults-password-0123456789"
    accounts_of(settings).create_user(f"faults-{role}", password, role)
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"csrf": token, "username": f"faults-{role}",
                                         "password": password, "next": "/"})
    assert answer.status_code in (302, 303)
    return client


def _post(client, app, fragment: str, values: dict, trigger: str):
    """POST one callback (found by a part of its key) the way the renderer does."""
    from dash._utils import split_callback_id

    key = next(k for k in app.callback_map if fragment in k)
    cb = app.callback_map[key]

    def fill(deps):
        return [{"id": d["id"], "property": d["property"],
                 "value": values.get(f"{d['id']}.{d['property']}")} for d in deps]

    outputs = split_callback_id(key)
    body = {"output": key, "outputs": outputs, "inputs": fill(cb["inputs"]),
            "state": fill(cb["state"]), "changedPropIds": [trigger]}
    csrf = client.get_cookie("_csrf_token")
    return client.post("/_dash-update-component", data=json.dumps(body),
                       headers={"X-CSRFToken": csrf.value} if csrf else {},
                       content_type="application/json")


@pytest.fixture()
def relayed_app(relayed, places, tmp_path):
    """The dashboard over a relayed PostGIS store holding two records."""
    from dashboard.app import create_app
    from dashboard.context import build_context

    settings, relay, password = relayed
    _import(settings, places, tmp_path)
    app = create_app(settings, build_context(settings))
    return app, _signed_in(app, settings), relay, password


_OVERVIEW = {"filter-types.value": ["tip"], "filter-period.start_date": "2024-01-01",
             "filter-period.end_date": "2024-12-31", "filter-units.value": "2025",
             "page-lang.data": "vi"}


@pytest.mark.postgis
def test_the_dashboard_serves_again_when_the_database_returns(relayed_app):
    app, client, relay, password = relayed_app
    ok = _post(client, app, "kpi-total", _OVERVIEW, "filter-types.value")
    assert ok.status_code == 200 and '"kpi-total":{"children":"2"}' in ok.get_data(as_text=True)
    relay.cut()
    down = _post(client, app, "kpi-total", _OVERVIEW, "filter-types.value")
    assert password not in down.get_data(as_text=True)
    relay.restore()
    again = _post(client, app, "kpi-total", _OVERVIEW, "filter-types.value")
    assert again.status_code == 200
    assert '"kpi-total":{"children":"2"}' in again.get_data(as_text=True)


def _texts(node) -> list[str]:
    """Every string in a JSON answer."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


@pytest.mark.postgis
def test_the_dashboard_says_the_database_is_gone_instead_of_a_500(relayed_app):
    """While the database is away a filter change answers with the app's alert (in the
    page's language), not Flask's 500 page; the password never reaches the browser."""
    app, client, relay, password = relayed_app
    relay.cut()
    down = _post(client, app, "kpi-total", _OVERVIEW, "filter-types.value")
    assert down.status_code == 200, down.status_code
    texts = _texts(down.get_json())
    alert = [t for t in texts if "cơ sở dữ liệu" in t]
    assert alert, texts
    assert "***" in alert[0] and password not in down.get_data(as_text=True)
    assert not _TRACE.search(alert[0]), alert[0]


# -- (b) damaged boundary files ------------------------------------------------------------------


def _tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (the stored boundaries), by relative path."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(reference_dir):
    """The first 12 reference communes (neighbours among them): refusals need no more, and
    the imports below pass ``allow_missing`` so that only the damage can refuse them."""
    import geopandas as gpd

    return gpd.read_file(reference_dir / "tay_ninh_communes_2025.geojson").iloc[:12]


@pytest.fixture(scope="module")
def imported(reference_dir, tmp_path_factory) -> Settings:
    """A data folder that already holds the official 2025 boundaries."""
    from geo.boundary_import import import_boundaries

    settings = Settings(data_dir=tmp_path_factory.mktemp("bounds") / "var")
    import_boundaries(reference_dir / "tay_ninh_communes_2025.geojson", settings)
    return settings


def _refused(path: Path, settings: Settings, match: str, *, allow_missing: bool = True,
             **kw) -> str:
    """Import ``path``: it must be refused with ``match`` in a clean message, nothing changed."""
    from geo.boundaries import load_communes
    from geo.boundary_import import BoundaryImportError, import_boundaries

    before = _tree_digest(settings.boundaries_dir)
    with pytest.raises(BoundaryImportError) as err:
        import_boundaries(path, settings, allow_missing=allow_missing, **kw)
    message = str(err.value)
    assert re.search(match, message), message
    assert not _TRACE.search(message), message
    if path.exists():  # a missing file is named as the user gave it
        assert str(path.parent) not in message, message
    assert _tree_digest(settings.boundaries_dir) == before
    assert not list(settings.boundaries_dir.glob(".*.tmp.gpkg"))
    communes = load_communes(settings, "2025")
    assert communes.attrs["approximate"] is False and len(communes) == 96
    return message


def _geojson(features: list, path: Path) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               allow_nan=True), encoding="utf-8")
    return path


def _features(reference) -> list[dict]:
    return json.loads(reference[["code", "fullName", "geometry"]].to_json())["features"]


def test_a_truncated_geopackage_is_refused(reference, imported, tmp_path):
    good = tmp_path / "xa.gpkg"
    reference.to_file(good, driver="GPKG")
    data = good.read_bytes()
    for n, cut in enumerate((len(data) // 2, len(data) - 4096, 1024)):
        broken = tmp_path / f"cut{n}.gpkg"
        broken.write_bytes(data[:cut])
        _refused(broken, imported, r"cannot be read|no features|geometry|schema is damaged|not the GeoPackage")


@pytest.mark.parametrize("missing", [".shx", ".dbf", ".shp"])
def test_a_shapefile_missing_a_part_is_refused(reference, imported, tmp_path, missing):
    reference[["code", "geometry"]].to_file(tmp_path / "xa.shp")
    (tmp_path / f"xa{missing}").unlink()
    match = {".shx": r"cannot be read.*xa\.shx", ".dbf": r"no attribute fields.*\.dbf",
             ".shp": r"no such file|cannot be read"}[missing]
    _refused(tmp_path / "xa.shp", imported, match)


def test_a_truncated_shapefile_is_refused(reference, imported, tmp_path):
    reference[["code", "geometry"]].to_file(tmp_path / "xa.shp")
    shp = tmp_path / "xa.shp"
    shp.write_bytes(shp.read_bytes()[:2000])
    _refused(shp, imported, r"none of its \d+ features has a geometry|not as long as its header says")


@pytest.mark.parametrize("broken", [
    pytest.param({"type": "Polygon", "coordinates": [[[106.1, 11.3], [106.2, 11.3]]]},
                 id="two-point-ring"),
    pytest.param({"type": "Polygon", "coordinates": [[[106.1, 11.3], [106.2, 11.3],
                                                      [106.3, 11.3], [106.1, 11.3]]]},
                 id="flat"),
    pytest.param({"type": "Polygon", "coordinates": [[[1e30, 11.3], [106.2, 11.3],
                                                      [106.2, 11.4], [1e30, 11.3]]]},
                 id="off-the-earth"),
    pytest.param({"type": "Polygon", "coordinates": [[[float("nan"), 11.3], [106.2, 11.3],
                                                      [106.2, 11.4], [float("nan"), 11.3]]]},
                 id="nan"),
])
def test_one_broken_polygon_among_good_ones_refuses_the_file(reference, imported, tmp_path,
                                                             broken):
    """Even with ``allow_missing``: leaving that commune out would hide the damage."""
    features = _features(reference)
    features[5]["geometry"] = broken
    path = _geojson(features, tmp_path / "xa.geojson")
    message = _refused(path, imported, r"damaged|cannot be read")
    assert "nothing was written" in message.lower()


def test_a_file_in_metres_without_a_crs_is_refused_with_the_right_crs(reference, imported,
                                                                       tmp_path):
    from geo.projections import vn2000_tm3

    metres = reference[["code", "geometry"]].to_crs(vn2000_tm3(105.5))
    metres.to_file(tmp_path / "xa.shp")
    (tmp_path / "xa.prj").unlink()
    _refused(tmp_path / "xa.shp", imported, r"--crs VN2000-TM3-105\.5")
    _refused(tmp_path / "xa.shp", imported, r"no feature lies in Tây Ninh.*try --crs "
                                            r"VN2000-TM3-105\.5", crs="EPSG:4326")
    _refused(tmp_path / "xa.shp", imported, r"median \d+\.\d km.*try --crs VN2000-TM3-105\.5",
             crs="VN2000-TM3-105.75")


def test_one_commune_given_twice_is_refused(reference, imported, tmp_path):
    """The same polygon twice (overlap): not pieces of one commune."""
    features = _features(reference)
    path = _geojson(features + [features[3]], tmp_path / "twice.geojson")
    _refused(path, imported, r"both have code \d{5} and overlap")


def test_a_neighbour_with_a_wrong_code_is_refused(reference, imported, tmp_path):
    """Two neighbours under one code (a typo): merged, they would draw one false commune."""
    features = _features(reference)
    features[4]["properties"]["code"] = features[3]["properties"]["code"]
    path = _geojson(features, tmp_path / "typo.geojson")
    _refused(path, imported, r"share a border")


def test_a_damaged_file_through_the_command_line(imported, tmp_path, capsys):
    from dashboard.cli import main

    junk = tmp_path / "xa.gpkg"
    junk.write_bytes(b"SQLite format 3\x00" + bytes(2000))
    before = _tree_digest(imported.boundaries_dir)
    code = main(["--data-dir", str(imported.data_dir), "boundaries", "import", str(junk)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: xa.gpkg")
    assert "Traceback" not in err and str(tmp_path) not in err
    assert _tree_digest(imported.boundaries_dir) == before
