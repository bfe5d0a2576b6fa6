"""Create the Dash app for one configuration: routing, the frame, and the pages."""

from __future__ import annotations

import io
import json
import logging

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from flask import Response

from dashboard import ids
from dashboard.context import AppContext, build_context
from dashboard.i18n import LANGUAGES, translate
from dashboard.analysis import Analyses
from dashboard.figures.context import CONTEXT_STYLE, context_url, neighbour_geojson
from dashboard.figures.commune_map import hatch_geojson
from dashboard.geometry import grid_url
from dashboard.auth.accounts import Accounts, accounts_of
from dashboard.auth.roles import may_open
from dashboard.auth.web import current_session, install as install_auth
from dashboard.client_text import page_shell
from dashboard.pages import commander, import_records, overview, planner, reporting
from dashboard.presentation import register_presentation
from dashboard.route_gate import register_route_gate
from dashboard import session_language
from dashboard.shell import language_links_js, page_frame
from dashboard.tiles import install_basemap
from dashboard.url_state import frame_of
from geo.config import Settings
from geo.units import NEW, OLD

__all__ = ["create_app"]

_PAGES = {overview.PATH: overview, commander.PATH: commander, planner.PATH: planner,
          import_records.PATH: import_records, reporting.PATH: reporting}
#: Pages whose layers come from the shared, memoised :class:`Analyses`.
_ANALYSED = (overview, commander, planner, reporting)


def _serve_geojson(app: Dash, ctx: AppContext, an: Analyses) -> None:
    """Commune polygons, the density grid and the hexagons at fixed URLs, cached by the
    browser: geometry travels once."""
    bodies = {overview.geojson_url(s): (lambda s=s: ctx.geojson[s]) for s in (NEW, OLD)}
    # the hatching of hidden communes, cut once for every worker (kept in the cache folder)
    bodies.update({overview.hatch_url(s): (lambda s=s: json.dumps(hatch_geojson(
        ctx.geojson[s], cache_dir=ctx.settings.cache_dir))) for s in (NEW, OLD)})
    # the grids' shapes are made on their first request (seconds for the country), not at start
    bodies.update({grid_url(name): (lambda name=name: an.geojson[name])
                   for name in ("density", "hexagons")})
    # the neighbouring provinces a live map draws under the communes (issue 18: by address,
    # so that a redrawn map does not carry them again)
    bodies.update({context_url(c): (lambda c=c: _neighbours_text(ctx, c)) for c in CONTEXT_STYLE})
    for number, (url, body) in enumerate(bodies.items()):

        def view(body=body):
            return Response(
                body(),
                mimetype="application/geo+json",
                headers={"Cache-Control": "public, max-age=86400"},
            )

        app.server.add_url_rule(url, endpoint=f"geojson_{number}", view_func=view)


def _neighbours_text(ctx: AppContext, country: str) -> str:
    """The neighbouring provinces of ``country`` as GeoJSON text (none: no feature)."""
    if ctx.neighbours is None or not len(ctx.neighbours):
        return json.dumps({"type": "FeatureCollection", "features": []})
    return json.dumps(neighbour_geojson(ctx.neighbours, country))


def _serve_templates(app: Dash, ctx: AppContext) -> None:
    """XLSX import templates, made on request in the asked language (openpyxl is imported
    with the first one: a server starts without it)."""
    from flask import abort, request, send_file

    from geo.ingest import KINDS

    def view(kind: str):
        from geo.ingest.template import template_workbook

        if kind not in KINDS:
            abort(404)
        lang = request.args.get("lang", ctx.settings.language)
        lang = lang if lang in LANGUAGES else ctx.settings.language
        buffer = io.BytesIO()
        template_workbook(kind, ctx.registry, lang=lang).save(buffer)
        buffer.seek(0)
        return send_file(
            buffer, as_attachment=True, download_name=f"mau_{kind}.xlsx",
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    app.server.add_url_rule("/template/<kind>.xlsx", endpoint="template", view_func=view)


def _callback_failed(err: Exception, lang: str) -> None:
    """Any callback that fails: a clear message at the top of the page (never a trace), the
    page left as it was, the details in the server log. The database being unreachable is
    named as such; the next callback reconnects, and the message goes with the next page."""
    import logging

    from dash import set_props

    from geo.store import StoreError

    logging.getLogger("borderwatch").error("callback failed", exc_info=err)
    if isinstance(err, StoreError):
        text = translate("error.store", lang, detail=str(err))
    else:
        text = translate("error.callback", lang)
    set_props(ids.ALERT, {"children": text, "className": "alert error"})


def _start_release_plan(an: Analyses) -> None:
    """Start the release plan's build; a store that cannot be read now is told on first use."""
    try:
        an.release_plan()  # returns at once; the plan builds in the background
    except Exception:  # noqa: BLE001 — the pages report the store's error themselves
        logging.getLogger("borderwatch").warning("release plan not started: store unreadable")


def _start_ahead(an: Analyses, enabled: bool, precompute, what: str) -> None:
    """Have ``precompute`` run now and after each import (it starts its own background
    process: :mod:`dashboard.forecast_worker`, :mod:`dashboard.statistics_worker`), unless
    its setting (``enabled``) is off; a store that cannot be read now is told on first use."""
    if not enabled:
        return
    an.ctx.records.on_change(precompute)
    try:
        precompute()
    except Exception:  # noqa: BLE001 — the pages report the store's error themselves
        logging.getLogger("borderwatch").warning("%s not started: store unreadable", what)


class _Borderwatch(Dash):
    """Dash, whose page configuration does not name the server's Python version (the
    renderer never uses it outside the development tools, which are off), and whose page
    shell speaks the session's language."""

    default_lang = "vi"

    def _config(self):
        config = super()._config()
        config.pop("python_version", None)
        return config

    def interpolate_index(self, **kwargs):
        """The page shell in the session's language (:mod:`dashboard.client_text`)."""
        return page_shell(super().interpolate_index(**kwargs),
                          session_language.request_language(self.default_lang))


def max_request_bytes() -> int:
    """The largest request the server reads: an upload at its limit as a base64 data URL
    (4/3 of its size) in a callback's JSON, with room for the rest of the callback."""
    from geo.ingest.file_checks import UPLOAD_LIMITS

    return UPLOAD_LIMITS.max_bytes * 4 // 3 + 1024 * 1024


def create_app(settings: Settings, ctx: AppContext | None = None,
               accounts: Accounts | None = None, *, precompute: bool = True) -> Dash:
    """A ready-to-run Dash app over the data ``settings`` points to.

    Parameters
    ----------
    settings : Settings
    ctx : AppContext, optional
        Pre-built data (tests build it once and share it); built from
        ``settings`` when omitted.
    precompute : bool
        Start building the small-count release plan at once (in the background), so that
        roles below commander see counts from their first page; off in tests that never
        open a page as such a role. With ``settings.precompute_forecasts``, also the
        commander's default forecasts (in a background process), at once and after each
        import; with ``settings.precompute_statistics``, the statistics of the pages'
        common filter states (:mod:`dashboard.statistics_worker`).
    """
    ctx = ctx or build_context(settings)
    app = _Borderwatch(
        __name__,
        title=translate("app.title", settings.language),
        suppress_callback_exceptions=True,
        update_title=None,
        serve_locally=True,
        on_error=lambda err: _callback_failed(err, settings.language),
    )
    app.default_lang = settings.language  # the page shell's language when none is chosen
    # The server refuses (413) a request larger than an upload may be, base64 and JSON
    # included, before reading it: the browser's limit is not a limit.
    app.server.config["MAX_CONTENT_LENGTH"] = max_request_bytes()
    app.layout = html.Div([dcc.Location(id=ids.URL), dcc.Store(id=ids.RENDERED),
                           dcc.Store(id=ids.ROUTE_GATE),
                           html.Div(id=ids.ALERT, role="alert"), html.Div(id=ids.PAGE)])
    an = Analyses(ctx)
    if precompute:
        _start_release_plan(an)
        ahead = an.ctx.settings
        _start_ahead(an, ahead.precompute_forecasts, an.forecasts.precompute, "forecasts")
        _start_ahead(an, ahead.precompute_statistics, an.statistics.precompute, "statistics")
        an.prepare_statistics()  # esda, contiguity, draws: not on the first ranked table
    accounts = accounts or accounts_of(settings)
    install_auth(app, accounts, default_lang=settings.language,
                 secure_cookies=settings.secure_cookies, demo_open=lambda: ctx.source == "demo")
    session_language.install(app.server, tuple(_PAGES), secure_cookies=settings.secure_cookies)
    _serve_geojson(app, ctx, an)
    _serve_templates(app, ctx)
    install_basemap(app.server, ctx.basemap)

    # The address bar asks for a page through a gate in the browser, which holds back the
    # addresses that only rewrite a page's own filters (dashboard/route_gate.py): a filter
    # change no longer costs a round trip after the map's to be told "already on screen".
    register_route_gate(app, url_id=ids.URL, rendered_id=ids.RENDERED, gate_id=ids.ROUTE_GATE,
                        languages=LANGUAGES)

    @app.callback(Output(ids.PAGE, "children"), Output(ids.RENDERED, "data"),
                  Output(ids.ALERT, "children"), Output(ids.ALERT, "className"),
                  Input(ids.ROUTE_GATE, "data"),
                  State(ids.URL, "pathname"), State(ids.URL, "search"),
                  State(ids.RENDERED, "data"))
    def route(_asked, pathname, search, rendered):
        pathname = pathname if isinstance(pathname, str) else "/"
        search = search if isinstance(search, str) else ""
        page, key = _route(pathname, search, rendered)
        if key is no_update:
            return page, key, no_update, no_update
        return page, key, None, "alert empty"  # a page that renders: the store answered

    def _route(pathname, search, rendered):
        """Render a page when the path, the language or presentation mode change — not when
        the page's own filters rewrite the query (they are already on screen)."""
        frame = frame_of(search, session_language.request_language(settings.language),
                         LANGUAGES)
        key = [pathname or "/", frame["lang"], frame["present"]]
        if key == rendered:
            return no_update, no_update
        page = _PAGES.get(pathname or "/", overview)
        lang = frame["lang"]
        session = current_session()
        if session is None or not may_open(session.role, page.PATH):
            body = html.Div(translate("auth.forbidden", lang), className="error", role="alert",
                            id=ids.FORBIDDEN)
        elif page is overview and not frame["present"]:
            body = overview.layout(ctx, lang, search, an=an)
        elif not hasattr(page, "URL_FIELDS"):
            body = page.layout(ctx, lang)
        elif frame["present"] and hasattr(page, "presentation"):
            return page.presentation(ctx, an, lang, search), key
        else:
            body = page.layout(ctx, lang, search)
        return page_frame(ctx, lang, pathname or "/", body, session), key

    # The language switch keeps the view: same path, same filters, other language. Run in
    # the browser: every filter change rewrites the address, and a request per change to
    # rewrite one link cost the server a round trip in every change (issue 18).
    app.clientside_callback(
        language_links_js(LANGUAGES, settings.language),
        Output({"type": ids.LANG_LINK, "lang": ALL}, "href"),
        Input(ids.URL, "search"), State(ids.URL, "pathname"),
        State({"type": ids.LANG_LINK, "lang": ALL}, "id"))

    register_presentation(app, an)
    for page in _PAGES.values():
        if page in _ANALYSED:
            page.register_callbacks(app, ctx, an)
        elif page is import_records:
            page.register_callbacks(app, ctx, on_import=lambda: _start_release_plan(an))
        else:
            page.register_callbacks(app, ctx)
    return app
