"""End to end: the map has context (the neighbours named, the province's own basemap), offline.

One server for the module, started with a small MBTiles basemap the test makes
(``BORDERWATCH_BASEMAP``). Per role that sees the overview (commander, viewer): the
neighbours' names are written on the map, the basemap's tiles come from the server itself
and nowhere else, and its colour is on the screen. The tile route answers nobody without a
session. Presentation mode: the map is whole at the top and nothing is cut at the right.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import numpy as np
import pytest

from tests.browser import ARTIFACTS, running_server, shared_browser, sign_in
from tests.tile_archives import COLOUR, png_tile, tiles_over, write_mbtiles

pytestmark = pytest.mark.browser

_NAMES = {"vi": ("Svay Rieng", "Prey Veng", "TP. Hồ Chí Minh", "Đồng Nai"),
          "en": ("Svay Rieng", "Prey Veng", "Ho Chi Minh City", "Dong Nai")}
_PAINTED = ("() => { const gd = document.querySelector('.js-plotly-plot');"
            " const m = gd && gd._fullLayout && gd._fullLayout.map"
            "   && gd._fullLayout.map._subplot && gd._fullLayout.map._subplot.map;"
            " return m && m.loaded() && m.areTilesLoaded() && gd._fullData.length > 1; }")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-context")
    archive = write_mbtiles(folder / "ban_do_nen.mbtiles",
                            {key: png_tile() for key in tiles_over()})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BORDERWATCH_BASEMAP", str(archive))
        with running_server(folder / "var") as url:
            yield url


@pytest.fixture(scope="module")
def browser():
    return shared_browser()  # the process's, kept for the next browser module


def _visit(server, browser, role, path, lang="vi"):
    """Open ``path`` as ``role``; the requests made, the names written, a screenshot."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.add_cookies([{"name": k, "value": v, "url": server}
                         for k, v in sign_in(server, f"demo-{role}").items()])
    requests, answers = [], {}
    context.on("request", lambda r: requests.append(r.url))
    context.on("response", lambda r: answers.__setitem__(r.url, r.status))
    try:
        page = context.new_page()
        page.goto(f"{server}{path}{'&' if '?' in path else '?'}lang={lang}")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        page.wait_for_function(_PAINTED, timeout=90_000)
        page.wait_for_timeout(1500)
        names = page.evaluate(
            "() => Array.from(document.querySelectorAll('.bw-map-place'))"
            ".filter(s => s.style.visibility !== 'hidden').map(s => s.textContent)")
        attribution = page.evaluate(
            "() => (document.querySelector('.maplibregl-ctrl-attrib') || {}).textContent || ''")
        geometry = page.evaluate(
            "() => { const r = e => e && e.getBoundingClientRect();"
            " const q = s => document.querySelector(s);"
            " const cb = r(q('.js-plotly-plot .colorbar')), box = r(q('.js-plotly-plot'));"
            " const xm = Array.from(document.querySelectorAll('.bw-map-label'))"
            "   .find(s => s.textContent === 'Xa Mát');"
            " const canvas = r(q('canvas.maplibregl-canvas'));"
            " return {cb: cb && [cb.left, cb.right], plot: [box.left, box.right],"
            "   width: window.innerWidth, xamat: xm && r(xm).top, maptop: canvas.top,"
            "   xamatShown: !!xm && xm.style.visibility !== 'hidden'}; }")
        shot = page.screenshot()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"context-{role}{path.split('?')[0].replace('/', '-')}"
                     f"{'-present' if 'present' in path else ''}.png").write_bytes(shot)
    finally:
        context.close()
    return requests, answers, names, attribution, geometry, shot


def _share_of(shot: bytes, rgb, tolerance: int = 12) -> float:
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
    return float((np.abs(image - np.array(rgb)).max(axis=2) <= tolerance).mean())


@pytest.mark.parametrize(("role", "lang"), [("commander", "vi"), ("viewer", "en")])
def test_neighbours_named_and_basemap_served_by_the_app_only(server, browser, role, lang):
    requests, answers, names, attribution, _, shot = _visit(server, browser, role, "/", lang)
    own = urlsplit(server).netloc
    foreign = [u for u in requests if urlsplit(u).scheme not in ("data", "blob")
               and urlsplit(u).netloc != own]
    assert not foreign, foreign
    tiles = [u for u in requests if urlsplit(u).path.startswith("/basemap/")]
    assert tiles, "the map asked for no basemap tile"
    assert any(answers.get(u) == 200 for u in tiles), {u: answers.get(u) for u in tiles}
    for name in _NAMES[lang]:
        assert name in names, (name, names)
    assert ("CAMPUCHIA" if lang == "vi" else "CAMBODIA") in names
    assert "Natural Earth" in attribution and "(thử)" in attribution
    # the basemap's colour (under the neighbours' light veil) covers part of the screen
    from dashboard.figures.context import CONTEXT_STYLE

    veils = [tuple(round(0.75 * c + 0.25 * int(s["fill"][k:k + 2], 16))
                   for c, k in zip(COLOUR, (1, 3, 5))) for s in CONTEXT_STYLE.values()]
    assert sum(_share_of(shot, rgb) for rgb in (COLOUR, *veils)) > 0.05


def test_tiles_need_a_session(server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server + "/basemap/9/406/241", timeout=30)
    assert refused.value.code == 401
    assert b"\x89PNG" not in refused.value.read()


def test_presentation_map_whole_at_the_top_nothing_cut_at_the_right(server, browser):
    *_, names, _, geometry, _ = _visit(server, browser, "commander", "/commander?present=1")
    assert "Svay Rieng" in names
    assert geometry["xamatShown"], geometry  # the northernmost gate is named, on the map
    assert geometry["xamat"] >= geometry["maptop"], geometry
    assert geometry["cb"] and geometry["cb"][1] <= geometry["width"], geometry
