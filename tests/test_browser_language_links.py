"""The language links' addresses, now worked out in the browser (issue 18), are those the
server wrote: Python's ``parse_qs`` / ``urlencode`` rules, run in Chromium on tricky
addresses (repeated and empty parameters, ``+``, escapes good and bad, UTF-8, a lone
surrogate, a ``lang`` first, last, missing or unknown)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode

import pytest

from dashboard.shell import language_links_js
from tests.browser import chromium_page

pytestmark = pytest.mark.browser

_LINKS = [{"type": "lang-link", "lang": "en"}, {"type": "lang-link", "lang": "vi"},
          {"type": "lang-link", "lang": "xx"}, "not a link"]


def _python(search, pathname, link_ids, default="vi", languages=("vi", "en")) -> list[str]:
    """What the server's callback answered before (``dashboard/app.py`` up to issue 18)."""
    search = search if isinstance(search, str) else ""
    pathname = pathname if isinstance(pathname, str) else "/"
    search, pathname = (text.encode("utf-8", "ignore").decode("utf-8")
                        for text in (search, pathname))
    query = parse_qs(search.lstrip("?"), keep_blank_values=True)
    hrefs = []
    for link in link_ids if isinstance(link_ids, list) else []:
        lang = link.get("lang") if isinstance(link, dict) else None
        query["lang"] = [lang if lang in languages else default]
        hrefs.append(f"{pathname or '/'}?{urlencode(query, doseq=True)}")
    return hrefs


_CASES = [
    ("?lang=vi&layer=gi&types=tip&types=crossing&from=2025-07-01&to=2025-09-30", "/commander"),
    ("?layer=rates&lang=en&types=", "/commander"),
    ("?types=a&lang=vi&types=b&units=2025", "/planner"),
    ("", "/"), (None, None), ("?", ""), ("??lang=en", "/"),
    ("?agency=H%E1%BB%99i+Ph%E1%BB%A5+n%E1%BB%AF&agency=C%C3%B4ng%20an", "/planner"),
    ("?x=%zz&y=%E1%BB&z=%41%42+%2B&&=v&w&lang=fr", "/"),
    ("?q=a*b~c!d'(e)/f:g@h&present=1", "/commander"),
    ("?bad=\ud800x&ok=%F0%9F%98%80", "/\udfff"),
]


def test_links_in_the_browser_are_the_servers():
    js = language_links_js(("vi", "en"), "vi")
    with chromium_page(role=None) as page:  # the process's browser (one Playwright per process)
        page.set_content("<html><body></body></html>")
        for search, pathname in _CASES:
            for links in (_LINKS, [_LINKS[0]], [], None):
                args = json.dumps([search, pathname, links])
                got = page.evaluate(f"(args) => ({js}).apply(null, args)", json.loads(args))
                assert got == _python(search, pathname, links), (search, pathname, links)
    # the addresses a user reads: the view kept, the language switched
    assert _python("?lang=vi&layer=gi&types=", "/commander", [_LINKS[0]]) == \
        ["/commander?lang=en&layer=gi&types="]


def test_default_language_for_a_link_naming_none_offered():
    js = language_links_js(("vi", "en"), "en")
    with chromium_page(role=None) as page:
        got = page.evaluate(f"(args) => ({js}).apply(null, args)",
                            ["?layer=gi", "/", [{"lang": "de"}, {"lang": "vi"}]])
    assert got == ["/?layer=gi&lang=en", "/?layer=gi&lang=vi"]
