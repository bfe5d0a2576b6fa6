"""Which changes of the address bar ask the server for a page, decided in the browser.

Every filter change rewrites the address bar's query (:mod:`dashboard.url_state`), and
the frame's page-routing callback listened to it: a request per change, a wave after the
map's, whose answer was nearly always "the page is already on screen" (the load test:
the third wave of a commander's preset change). The rule stays the server's
(:func:`dashboard.app.create_app`'s route renders when the path, the language or
presentation mode change); this gate in front of it, run in the browser, lets through
every address that may change one of them and holds back those that only rewrite the
page's own filters: the path is the one rendered, the query names the rendered language
(a known one: an unknown or absent ``lang`` is the server's to read, from the session) and
the same presentation mode.
"""

from __future__ import annotations

from dashboard.url_state import PRESENT_ON, frame_of

__all__ = ["ROUTE_GATE_JS", "register_route_gate", "route_ask"]


def route_ask(pathname, search, rendered, asked, languages) -> dict | None:
    """The gate's new value (a request for the server's route) or ``None`` (hold back).

    Parameters
    ----------
    pathname, search : str or None
        The address bar (``dcc.Location``'s properties).
    rendered : list or None
        What the page on screen was rendered for: ``[path, lang, present]``.
    asked : dict or None
        The gate's current value, ``{"n": …}``: each request counts one more, so that the
        route always sees a change.
    languages : sequence of str
        The languages the app speaks.

    Examples
    --------
    >>> from dashboard.i18n import LANGUAGES
    >>> route_ask("/commander", "?lang=vi&layer=gi", ["/commander", "vi", False], {"n": 1},
    ...           LANGUAGES) is None
    True
    >>> route_ask("/commander", "?lang=en&layer=gi", ["/commander", "vi", False], {"n": 1},
    ...           LANGUAGES)
    {'n': 2}
    >>> route_ask("/planner", "?lang=vi", ["/commander", "vi", False], None, LANGUAGES)
    {'n': 1}
    """
    n = asked.get("n") if isinstance(asked, dict) else None
    ask = {"n": (n if isinstance(n, int) and not isinstance(n, bool) else 0) + 1}
    if not (isinstance(rendered, list) and len(rendered) == 3):
        return ask
    path = pathname if isinstance(pathname, str) and pathname else "/"
    frame = frame_of(search, "", languages)  # "": no language named, or an unknown one
    if path != rendered[0] or not frame["lang"] or frame["lang"] != rendered[1] \
            or frame["present"] is not rendered[2]:
        return ask
    return None


#: :func:`route_ask` in the browser: ``(pathname, search, rendered, asked) → asked`` or
#: ``no_update``. The query is read with ``URLSearchParams`` (``+`` and ``%XX`` read as
#: :func:`urllib.parse.parse_qs` reads them); only a query that names a known language
#: is ever held back, any doubt asks the server.
ROUTE_GATE_JS = """function (pathname, search, rendered, asked) {
    const languages = __LANGUAGES__, on = __PRESENT_ON__;
    const n = asked && Number.isInteger(asked.n) ? asked.n : 0;
    const ask = {n: n + 1};
    if (!Array.isArray(rendered) || rendered.length !== 3) { return ask; }
    const path = typeof pathname === "string" && pathname ? pathname : "/";
    let query;
    try {
        query = new URLSearchParams(typeof search === "string" ? search.replace(/^\\?+/, "") : "");
    } catch (err) {
        return ask;
    }
    const last = function (key) {
        const all = query.getAll(key);
        return all.length ? all[all.length - 1] : null;
    };
    const lang = last("lang");
    const present = on.indexOf(last("present") || "0") >= 0;
    if (path !== rendered[0] || languages.indexOf(lang) < 0 || lang !== rendered[1]
            || present !== rendered[2]) {
        return ask;
    }
    return window.dash_clientside.no_update;
}"""


def register_route_gate(app, *, url_id: str, rendered_id: str, gate_id: str,
                        languages) -> None:
    """The clientside callback: ``url_id``'s path and query → ``gate_id``'s data (a
    ``dcc.Store`` the route listens to), held back when :func:`route_ask` says so."""
    import json

    from dash import Input, Output, State

    app.clientside_callback(
        ROUTE_GATE_JS.replace("__LANGUAGES__", json.dumps(list(languages)))
        .replace("__PRESENT_ON__", json.dumps(list(PRESENT_ON))),
        Output(gate_id, "data"),
        Input(url_id, "pathname"), Input(url_id, "search"),
        State(rendered_id, "data"), State(gate_id, "data"))
