"""End to end: nothing leaves the machine, on every page, for every role that may open it.

Border posts often have no internet, and what the dashboard shows must never reach a
third party: every request the browser makes goes to the server itself (no glyphs from
fonts.openmaptiles.org, no tiles, no CDN), and the map's toolbar has no button that sends
the figure to Chart Studio.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from dashboard.auth.roles import PAGES
from tests.browser import ARTIFACTS, shared_browser, shared_demo_server, sign_in

pytestmark = pytest.mark.browser

#: Pages with a map; presentation mode (``?present=1``) is offered on these.
_MAP_PAGES = ("/", "/commander", "/planner")
_PRESENT = ("/commander", "/planner")
_VISITS = [(role, path, query)
           for path, roles in PAGES.items() for role in sorted(roles)
           for query in ("", "?present=1") if not query or path in _PRESENT]
_VISITS.append(("anonymous", "/login", ""))  # the sign-in form, before any session

#: The modebar buttons that send a figure to a cloud service (plotly.js names and titles).
_CLOUD = ("Share chart", "Chart Studio", "Edit in", "cloud", "plotly.com")


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


@pytest.fixture(scope="module")
def browser():
    return shared_browser()  # the process's, kept for the next browser module


@pytest.fixture(scope="module")
def cookies(server):
    """Each demo account's session, signed in once through the real form."""
    return {role: sign_in(server, f"demo-{role}") for role in sorted(PAGES["/"])}


def _modebar_buttons(page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.modebar-btn')).map(b =>"
        " [b.getAttribute('data-title') || '', b.getAttribute('data-val') || '',"
        "  b.getAttribute('data-attr') || '', b.getAttribute('href') || ''].join(' '))")


@pytest.mark.parametrize(("role", "path", "query"), _VISITS,
                         ids=[f"{r}{p}{q}" for r, p, q in _VISITS])
def test_no_request_leaves_the_server(server, browser, cookies, role, path, query):
    own = urlsplit(server).netloc
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    if role in cookies:
        context.add_cookies([{"name": k, "value": v, "url": server}
                             for k, v in cookies[role].items()])
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    try:
        page = context.new_page()
        page.goto(server + path + query)
        if path in _MAP_PAGES:
            page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
            # painted: the map has drawn its layers, then any glyph request is on its way
            page.wait_for_function(
                "() => { const gd = document.querySelector('.js-plotly-plot');"
                " const m = gd && gd._fullLayout && gd._fullLayout.map"
                "   && gd._fullLayout.map._subplot && gd._fullLayout.map._subplot.map;"
                " return m && m.loaded() && gd._fullData.length > 1; }", timeout=90_000)
            page.wait_for_timeout(1000)
            graph = page.query_selector(".js-plotly-plot")
            graph.hover()  # the modebar shows on hover
            page.wait_for_timeout(200)
            buttons = _modebar_buttons(page)
            if buttons:
                page.click(".modebar-btn >> nth=0")
            assert not [b for b in buttons if any(c.lower() in b.lower() for c in _CLOUD)], \
                buttons
            assert page.evaluate("() => document.querySelector('.js-plotly-plot')"
                                 "._context.showSendToCloud") is False
            # the gates are still named on the map, in HTML over it
            page.wait_for_function("() => Array.from(document.querySelectorAll("
                                   "'.bw-map-label')).some(s => s.textContent === 'Mộc Bài'"
                                   " && s.style.visibility !== 'hidden')", timeout=10_000)
            if query:  # the committee map: its scale bar says how long it is
                page.wait_for_selector(".bw-map-label >> text=20 km", timeout=10_000)
        else:
            page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        if role == "commander" and path in _MAP_PAGES:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"offline{path.replace('/', '-')}"
                                                   f"{'-present' if query else ''}.png"))
    finally:
        context.close()
    assert requests, "the page made no request at all: the test sees nothing"
    foreign = [u for u in requests
               if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own]
    assert not [u for u in foreign if "openmaptiles" in u], foreign
    assert not foreign, foreign
