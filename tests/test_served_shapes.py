"""The shapes a live map names by address (issue 18): the neighbours and the hatching of
hidden communes are served once, behind the sign-in, with the features the figure held."""

from __future__ import annotations

import json

import pytest

from dashboard.app import create_app
from dashboard.auth.accounts import DEMO_PASSWORD, Accounts
from dashboard.context import build_context
from dashboard.figures.commune_map import hatch_geojson
from dashboard.figures.context import neighbour_geojson
from dashboard.pages import overview
from geo.config import Settings
from tests.cache import PLAN_CACHE, demo_data


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("shapes") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    ctx = build_context(settings)
    accounts = Accounts(settings.data_dir / "accounts.sqlite")
    accounts.ensure_demo_users()
    return create_app(settings, ctx, accounts, precompute=False), ctx


def _signed_in(app):
    client = app.server.test_client()
    page = client.get("/login?lang=vi").get_data(as_text=True)
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"csrf": token, "username": "demo-viewer",
                                         "password": DEMO_PASSWORD, "next": "/"})
    assert answer.status_code == 302
    return client


@pytest.mark.parametrize("country", ["KH", "VN"])
def test_the_neighbours_are_served_as_the_figure_held_them(world, country):
    app, ctx = world
    assert app.server.test_client().get(f"/geo/context_{country}.geojson").status_code == 401
    answer = _signed_in(app).get(f"/geo/context_{country}.geojson")
    assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
    assert answer.headers["Cache-Control"] == "public, max-age=86400"
    body = json.loads(answer.get_data())
    assert body == neighbour_geojson(ctx.neighbours, country) and len(body["features"]) >= 2


@pytest.mark.parametrize("unit_set", ["2025", "legacy"])
def test_the_hatching_is_served_as_the_figure_held_it(world, unit_set):
    app, ctx = world
    assert app.server.test_client().get(overview.hatch_url(unit_set)).status_code == 401
    answer = _signed_in(app).get(overview.hatch_url(unit_set))
    assert answer.status_code == 200
    body = json.loads(answer.get_data())
    assert body == hatch_geojson(ctx.geojson[unit_set])
    ids = {f["id"] for f in body["features"]}
    polygons = {f["id"] for f in json.loads(ctx.geojson[unit_set])["features"]}
    assert ids and ids <= polygons  # one stripe set per commune, by its code


def test_a_live_overview_map_holds_no_shape(world):
    """The viewer's map, redrawn for a unit set, names the polygons, the hatching and the
    neighbours by address: its answer holds no coordinate."""
    app, _ = world
    client = _signed_in(app)
    key = next(k for k in app.callback_map if "commune-map.figure" in k)
    spec = app.callback_map[key]
    values = {"filter-units.value": "legacy", "page-lang.data": "vi"}

    def items(deps):
        return [{"id": d["id"], "property": d["property"],
                 "value": values.get(f"{d['id']}.{d['property']}")} for d in deps]

    outputs = [{"id": o.split(".")[0].strip("."), "property": o.split(".")[1].split("@")[0]}
               for o in key.strip(".").split("...")]
    answer = client.post("/_dash-update-component", headers={
        "X-CSRFToken": client.get_cookie("_csrf_token").value}, json={
        "output": key, "outputs": outputs, "inputs": items(spec["inputs"]),
        "state": items(spec["state"]), "changedPropIds": ["filter-units.value"]})
    assert answer.status_code == 200
    figure = json.loads(answer.get_data())["response"]["commune-map"]["figure"]
    geojsons = [t.get("geojson") for t in figure["data"] if t["type"] == "choroplethmap"]
    assert geojsons[0] == overview.geojson_url("legacy")
    assert overview.hatch_url("legacy") in geojsons
    assert all(isinstance(g, str) for g in geojsons)  # hidden greys and stripes by address
    assert [layer["source"] for layer in figure["layout"]["map"]["layers"]] == [
        f"http://localhost/geo/context_{c}.geojson" for c in ("KH", "KH", "VN", "VN")]
    assert b"coordinates" not in answer.get_data()
