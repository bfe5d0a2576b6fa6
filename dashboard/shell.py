"""The frame around every page: title bar, language switch, data caveats, footer.

The caveats (synthetic demo data, approximate boundaries) are part of the
frame, not of a page, so that no screen can forget them.
"""

from __future__ import annotations

from dash import dcc, html

from dashboard import ids
from dashboard.auth.roles import may_open
from dashboard.context import AppContext
from dashboard.i18n import LANGUAGES, format_date, translate
from layers.layer import Caveat

__all__ = ["caveat_banner", "page_frame"]

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
