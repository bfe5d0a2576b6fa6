"""The language a browser session chose, kept for the pages it opens without ``?lang``.

The language rides in the address bar (``?lang=en``), so that a link reopens
the same view in the same language. A page address typed or bookmarked
without it would fall back to the configured default and lose the choice made
a minute before; so the last language a session asked for is kept in a browser
session cookie (:data:`LANG_COOKIE`, gone when the browser closes, holding
nothing but ``vi`` or ``en``):

- a request that chooses a language (a page's ``?lang``, the sign-in and
  sign-out forms, or a page change in the app, whose callback carries the
  address bar) sets it; a file asked for in the other language does not;
- a page opened without ``?lang`` is sent to the same address with the kept
  language (one redirect), so the address bar, the page and its links agree;
- the sign-in page and the page shell speak the kept language too
  (:func:`request_language`).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from flask import redirect, request

from dashboard import ids
from dashboard.i18n import LANGUAGES

__all__ = ["LANG_COOKIE", "chosen_language", "install", "request_language"]

#: The browser-session cookie that keeps the chosen language.
LANG_COOKIE = "bw_lang"


def _valid(lang) -> str | None:
    return lang if isinstance(lang, str) and lang in LANGUAGES else None


def _callback_language() -> str | None:
    """The ``lang`` of the address bar that a page-routing callback request carries."""
    if request.path != "/_dash-update-component":
        return None
    body = request.get_json(silent=True)
    items = []  # the route reads the address bar as state (its input is the route gate)
    for part in ("inputs", "state"):
        found = body.get(part) if isinstance(body, dict) else None
        items += found if isinstance(found, list) else []
    for item in items:
        if (isinstance(item, dict) and item.get("id") == ids.URL
                and item.get("property") == "search" and isinstance(item.get("value"), str)):
            return _valid((parse_qs(item["value"].lstrip("?")).get("lang") or [None])[-1])
    return None


def chosen_language() -> str | None:
    """The language the running request names (address, form, or routed address bar), if any."""
    return (_valid(request.args.get("lang")) or _valid(request.form.get("lang"))
            or _callback_language())


def request_language(default: str) -> str:
    """The language to answer the running request in: the one it names, else the one kept
    for this browser session, else ``default`` (also outside a request)."""
    try:
        return chosen_language() or _valid(request.cookies.get(LANG_COOKIE)) or default
    except RuntimeError:  # no request: a layout built by a test or a command
        return default


def install(server, pages, *, secure_cookies: bool = False) -> None:
    """Keep the chosen language for the browser session on ``server``.

    Parameters
    ----------
    server : flask.Flask
    pages : iterable of str
        The paths of the app's pages (opened without ``?lang``, they are sent to the kept
        language). Register after the sign-in check, so a page without a session still
        goes to the sign-in page first.
    """
    pages = frozenset(pages)
    # where a language is chosen: a page, the sign-in and sign-out forms, a page change in
    # the app (not a template download in another language, for instance)
    choosing = pages | {"/login", "/logout", "/_dash-update-component"}

    @server.before_request
    def keep_language_in_address():
        if request.method != "GET" or request.path not in pages or "lang" in request.args:
            return None
        kept = _valid(request.cookies.get(LANG_COOKIE))
        if kept is None:
            return None
        query = parse_qs(request.query_string.decode("utf-8", "replace"),
                         keep_blank_values=True)
        return redirect(f"{request.path}?{urlencode({'lang': kept, **query}, doseq=True)}")

    @server.after_request
    def remember_language(response):
        # a refused request is not read again (its body may be over the limit: 413)
        if response.status_code >= 400 or request.path not in choosing:
            return response
        chosen = chosen_language()
        if chosen and chosen != request.cookies.get(LANG_COOKIE):
            response.set_cookie(LANG_COOKIE, chosen, httponly=True, samesite="Lax",
                                secure=secure_cookies, path="/")
        return response
