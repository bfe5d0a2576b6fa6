"""Area 5: cold start to the first painted map, in Debian's headless Chromium.

Each load starts a new browser (empty cache) and opens the app's first page;
the time runs from the navigation's start (``performance.timeOrigin``) to the
first animation frame where MapLibre has loaded the communes' source and
draws commune polygons (``queryRenderedFeatures`` on the fill layer finds
some). The baseline is the same figure in a static HTML page (plotly.js and
the figure, shapes inline) served by a plain file server: the floor for a
Plotly map without Dash. (Opened as a ``file://`` URL MapLibre's worker never
starts, so the page is served over HTTP like the app.)
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

from tests.browser import CHROMIUM, CHROMIUM_ARGS

__all__ = ["APP_MAP", "PAINTED", "STATIC_MAP", "paint_times", "serve_folder", "static_page"]

#: performance.now() at the first frame where the choropleth has drawn polygons, else false.
PAINTED = """(selector) => {
  const gd = document.querySelector(selector);
  if (!gd || !gd._fullLayout || !gd._fullLayout.map || !gd._fullLayout.map._subplot) return false;
  const map = gd._fullLayout.map._subplot.map;
  if (!map || !gd._fullData || !gd._fullData[0]) return false;
  const layer = `plotly-trace-layer-${gd._fullData[0].uid}-fill`;
  if (!map.getLayer(layer)) return false;
  return map.queryRenderedFeatures({layers: [layer]}).length > 0 ? performance.now() : false;
}"""


#: The plot of the app's first page (the overview map), and of a static page.
APP_MAP = "#commune-map .js-plotly-plot"
STATIC_MAP = ".js-plotly-plot"


#: Milestones of the load (ms from navigation start), to say where the time goes.
_MILESTONES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const end = (pred) => Math.max(0, ...res.filter(pred).map(r => r.responseEnd));
  return {dom_content_loaded: nav ? nav.domContentLoadedEventEnd : null,
          scripts_loaded: end(r => r.initiatorType === 'script'),
          last_callback: end(r => r.name.includes('_dash-update-component')),
          shapes_loaded: end(r => r.name.includes('.geojson')),
          transferred_bytes: res.reduce((s, r) => s + (r.transferSize || 0), 0)
                             + (nav ? nav.transferSize : 0)};
}"""


def paint_times(url: str, loads: int, *, selector: str = APP_MAP, timeout_s: float = 180.0,
                cookies: dict | None = None, milestones: list | None = None) -> list[float]:
    """Seconds from navigation to the painted map, for ``loads`` cold browsers.

    ``cookies`` (a signed-in session) are set before the navigation: a user who
    signed in earlier opens the dashboard. ``milestones`` (a list) receives
    each load's timeline: DOM ready, scripts, the last callback answer and the
    shapes, in ms after navigation start.
    """
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as pw:
        for _ in range(loads):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                if cookies:
                    context.add_cookies([{"name": k, "value": v, "url": url}
                                         for k, v in cookies.items()])
                page = context.new_page()
                page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
                handle = page.wait_for_function(PAINTED, arg=selector, polling="raf",
                                                timeout=timeout_s * 1000)
                times.append(float(handle.json_value()) / 1000.0)
                if milestones is not None:
                    milestones.append(page.evaluate(_MILESTONES))
            finally:
                browser.close()
    return times


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request on stderr
        pass


@contextmanager
def serve_folder(folder: Path):
    """Serve ``folder`` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def static_page(figure, folder: Path) -> Path:
    """The figure as a standalone HTML page ``map.html`` with plotly.js beside it."""
    import plotly

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    shutil.copy(bundle, folder / "plotly.min.js")
    page = folder / "map.html"
    figure.write_html(page, include_plotlyjs="directory", full_html=True,
                      config={"displaylogo": False}, default_height="540px")
    return page
