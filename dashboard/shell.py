"""The frame around every page: title bar, language switch, data caveats, footer.

The caveats (synthetic demo data, approximate boundaries) are part of the
frame, not of a page, so that no screen can forget them.
"""

from __future__ import annotations

import json

from dash import dcc, html

from dashboard import ids
from dashboard.auth.roles import may_open
from dashboard.context import AppContext
from dashboard.i18n import LANGUAGES, format_date, translate
from layers.layer import Caveat

__all__ = ["caveat_banner", "language_links_js", "page_frame"]

def caveat_banner(caveats: tuple[Caveat, ...], lang: str) -> html.Div:
    """A visible strip naming every caveat that applies (empty when none does)."""
    return html.Div(
        [html.Div(translate(f"caveat.{c.value}", lang), className="caveat") for c in caveats],
        id=ids.BANNER,
        className="caveat-banner" if caveats else "caveat-banner empty",
        role="note",
    )


def _language_links(pathname: str, lang: str) -> html.Div:
    links = []
    for code in LANGUAGES:
        label = translate(f"language.{code}", lang)  # each language in its own words
        if code == lang:
            links.append(html.Span(label, className="lang current"))
        else:
            links.append(dcc.Link(label, href=f"{pathname}?lang={code}", className="lang",
                                  id={"type": ids.LANG_LINK, "lang": code}))
    return html.Div(links, id=ids.LANG_LINKS, className="lang-links")


#: The links' addresses, worked out in the browser from the address bar (Python's
#: ``parse_qs`` / ``urlencode(doseq=True)`` rules: ``+`` and ``%XX`` read, bad escapes kept,
#: bad UTF-8 replaced; the parameters in the order they first came, ``lang`` in its place or
#: last; written back with ``A-Za-z0-9_.-~`` kept, spaces as ``+``, the rest ``%XX``).
_LANGUAGE_LINKS_JS = r"""function (search, pathname, linkIds) {
    const languages = __LANGUAGES__, fallback = __DEFAULT__;
    // a forged address may hold what no browser sends (a lone surrogate): dropped
    const clean = function (v, d) {
        return (typeof v === "string" ? v : d).replace(/\p{Cs}/gu, "");
    };
    search = clean(search, "");
    pathname = clean(pathname, "/");
    const decode = function (s) {
        s = s.replace(/\+/g, " ");
        const bytes = [], encoder = new TextEncoder();
        for (let i = 0; i < s.length;) {
            const hex = s.substr(i + 1, 2);
            if (s[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
                bytes.push(parseInt(hex, 16));
                i += 3;
            } else {
                const ch = String.fromCodePoint(s.codePointAt(i));
                encoder.encode(ch).forEach(function (b) { bytes.push(b); });
                i += ch.length;
            }
        }
        return new TextDecoder().decode(new Uint8Array(bytes));
    };
    const encode = function (s) {
        let out = "";
        new TextEncoder().encode(s).forEach(function (b) {
            const c = String.fromCharCode(b);
            if (/[A-Za-z0-9_.~-]/.test(c)) { out += c; }
            else if (b === 32) { out += "+"; }
            else { out += "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase(); }
        });
        return out;
    };
    const query = new Map();
    search.replace(/^\?+/, "").split("&").forEach(function (part) {
        if (!part) { return; }
        const at = part.indexOf("=");
        const name = decode(at < 0 ? part : part.slice(0, at));
        if (!query.has(name)) { query.set(name, []); }
        query.get(name).push(at < 0 ? "" : decode(part.slice(at + 1)));
    });
    return (Array.isArray(linkIds) ? linkIds : []).map(function (link) {
        const lang = link && typeof link === "object" ? link.lang : null;
        query.set("lang", [languages.indexOf(lang) >= 0 ? lang : fallback]);
        const pairs = [];
        query.forEach(function (values, key) {
            values.forEach(function (v) { pairs.push(encode(key) + "=" + encode(v)); });
        });
        return (pathname || "/") + "?" + pairs.join("&");
    });
}"""


def language_links_js(languages=LANGUAGES, default: str = LANGUAGES[0]) -> str:
    """The clientside callback that points each language link at the page shown: same path,
    same filters, the link's language (``default`` for a link naming none offered).

    It runs in the browser, since every filter change rewrites the address bar: answered by
    the server, it was one more round trip in every change (issue 18).
    """
    return (_LANGUAGE_LINKS_JS.replace("__LANGUAGES__", json.dumps(list(languages)))
            .replace("__DEFAULT__", json.dumps(default)))


_NAV = (("/", "nav.overview"), ("/commander", "nav.commander"), ("/planner", "nav.planner"),
        ("/import", "nav.import"), ("/reporting", "nav.reporting"))


def _nav(pathname: str, lang: str, role: str | None) -> html.Nav:
    """Links to the pages the role may open (the server refuses the others anyway)."""
    return html.Nav(
        [dcc.Link(translate(key, lang), href=f"{path}?lang={lang}",
                  className="nav-link current" if path == pathname else "nav-link")
         for path, key in _NAV if may_open(role, path)],
        id=ids.NAV, className="nav",
    )


def _user(session, lang: str) -> html.Div:
    """Who is signed in, in which role, and the sign-out button (a form with the CSRF token)."""
    if session is None:
        return html.Div(id=ids.USER)
    return html.Div(
        [html.Span(translate("auth.signed_in", lang, user=session.username,
                             role=translate(f"role.{session.role}", lang))),
         html.Form([dcc.Input(type="hidden", name="csrf", value=session.csrf),
                    dcc.Input(type="hidden", name="lang", value=lang),
                    html.Button(translate("auth.logout", lang), type="submit",
                                className="logout")],
                   method="POST", action="/logout")],
        id=ids.USER, className="user",
    )


def page_frame(ctx: AppContext, lang: str, pathname: str, body, session=None) -> html.Div:
    """Title bar, caveat banner, the page body, and the footer with source and date."""
    source = translate("caveat.synthetic", lang) if ctx.source == "demo" else ctx.source
    return html.Div(
        [
            html.Header(
                [html.H1(translate("app.title", lang)),
                 _nav(pathname, lang, session.role if session else None),
                 _language_links(pathname, lang), _user(session, lang)],
                className="topbar",
            ),
            caveat_banner(ctx.caveats, lang),
            html.Main(body, className="content"),
            html.Footer(
                [
                    html.Div(
                        translate(
                            "footer.source", lang,
                            source=source, extracted=format_date(ctx.extracted, lang),
                        )
                    ),
                    html.Div(
                        " · ".join(translate(f"caveat.{c.value}", lang) for c in ctx.caveats),
                        id=ids.CAVEATS,
                    ),
                ],
                className="footer",
            ),
        ],
        lang=lang,
    )
