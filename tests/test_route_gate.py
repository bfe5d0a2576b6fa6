"""The route's gate: which addresses ask the server for a page (:func:`route_ask`), and the
same rule in the browser (:data:`ROUTE_GATE_JS`, run in Chromium on tricky addresses)."""

from __future__ import annotations

import json

import pytest

from dashboard.route_gate import ROUTE_GATE_JS, route_ask
from dashboard.url_state import PRESENT_ON

LANGS = ("vi", "en")
SHOWN = ["/commander", "vi", False]


def test_a_filter_change_is_held_back():
    for search in ("?lang=vi&layer=gi&types=tip", "?layer=gi&lang=vi", "?lang=en&lang=vi",
                   "?lang=vi&present=0", "?lang=v%69&from=2025-07-01", "?lang=vi&bw=5"):
        assert route_ask("/commander", search, SHOWN, {"n": 3}, LANGS) is None, search


def test_a_new_path_language_or_presentation_asks_with_one_more():
    for pathname, search in (("/planner", "?lang=vi"), ("/commander", "?lang=en&layer=gi"),
                             ("/commander", "?lang=vi&lang=en"),
                             ("/commander", "?lang=vi&present=1"), ("/", "?lang=vi")):
        assert route_ask(pathname, search, SHOWN, {"n": 3}, LANGS) == {"n": 4}, search
    # no language named, or one the app does not speak: the server reads the session's
    for search in ("?layer=gi", "", None, "?lang=fr", "?lang=", "?lang=VI"):
        assert route_ask("/commander", search, SHOWN, {"n": 0}, LANGS) == {"n": 1}, search
    # nothing rendered yet (the first load), or a rendered key that is not one
    for rendered in (None, [], ["/commander", "vi"], "x"):
        assert route_ask("/commander", "?lang=vi", rendered, None, LANGS) == {"n": 1}
    # a gate value that is not a count starts again at one
    for asked in (None, {}, {"n": "7"}, {"n": True}, [1]):
        assert route_ask("/planner", "?lang=vi", SHOWN, asked, LANGS) == {"n": 1}
    # presentation mode on the rendered key: leaving it asks, staying in it does not
    shown = ["/commander", "vi", True]
    assert route_ask("/commander", "?lang=vi&present=yes&layer=gi", shown, {"n": 1},
                     LANGS) is None
    assert route_ask("/commander", "?lang=vi&layer=gi", shown, {"n": 1}, LANGS) == {"n": 2}
    assert set(PRESENT_ON) == {"1", "true", "yes"}


_CASES = [
    ("/commander", "?lang=vi&layer=gi", SHOWN, {"n": 3}),
    ("/commander", "?lang=en&layer=gi", SHOWN, {"n": 3}),
    ("/commander", "?layer=gi&lang=vi&lang=en", SHOWN, {"n": 3}),
    ("/commander", "?lang=v%69&present=0", SHOWN, {"n": 0}),
    ("/commander", "?lang=vi+", SHOWN, {"n": 0}),
    ("/commander", "?x=%zz&lang=vi", SHOWN, None),
    ("/commander", "??lang=vi", SHOWN, None),
    ("/commander", "?lang=vi&present=true", SHOWN, {"n": 1}),
    ("/commander", "?lang=vi&present=true", ["/commander", "vi", True], {"n": 1}),
    ("/planner", "?lang=vi", SHOWN, {"n": 1}),
    ("", "?lang=vi", ["/", "vi", False], {"n": 2}),
    (None, None, ["/", "vi", False], {"n": 2}),
    ("/commander", "?layer=gi", SHOWN, {"n": 2}),
    ("/commander", "?lang=vi", None, None),
    ("/commander", "?lang=vi", ["/commander", "vi"], {"n": "x"}),
]


@pytest.mark.browser
def test_the_gate_in_the_browser_is_the_servers():
    from tests.browser import shared_browser

    js = (ROUTE_GATE_JS.replace("__LANGUAGES__", json.dumps(list(LANGS)))
          .replace("__PRESENT_ON__", json.dumps(list(PRESENT_ON))))
    page = shared_browser().new_page()
    try:
        for pathname, search, rendered, asked in _CASES:
            got = page.evaluate(
                """([js, args]) => {
                    window.dash_clientside = {no_update: {none: true}};
                    const out = eval("(" + js + ")").apply(null, args);
                    return out && out.none === true ? null : out;
                }""", [js, [pathname, search, rendered, asked]])
            assert got == route_ask(pathname, search, rendered, asked, LANGS), \
                (pathname, search, rendered, asked)
    finally:
        page.close()
