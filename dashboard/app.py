"""Create the Dash app for one configuration: routing, the frame, and the pages."""

from __future__ import annotations

import io
from urllib.parse import parse_qs

from dash import Dash, Input, Output, dcc, html
from flask import Response

from dashboard import ids
from dashboard.context import AppContext, build_context
from dashboard.i18n import LANGUAGES, translate
from dashboard.analysis import Analyses, grid_url
from dashboard.pages import commander, import_records, overview, planner
from dashboard.shell import page_frame
from geo.config import Settings
from geo.units import NEW, OLD

__all__ = ["create_app"]

_PAGES = {overview.PATH: overview, commander.PATH: commander, planner.PATH: planner,
          import_records.PATH: import_records}
#: Pages whose layers come from the shared, memoised :class:`Analyses`.
_ANALYSED = (commander, planner)


def _language(search: str | None, default: str) -> str:
    lang = parse_qs((search or "").lstrip("?")).get("lang", [default])[0]
    return lang if lang in LANGUAGES else default


def _serve_geojson(app: Dash, ctx: AppContext, an: Analyses) -> None:
    """Commune polygons, the density grid and the hexagons at fixed URLs, cached by the
    browser: geometry travels once."""
    bodies = {overview.geojson_url(s): ctx.geojson[s] for s in (NEW, OLD)}
    bodies.update({grid_url(name): body for name, body in an.geojson.items()})
    for number, (url, body) in enumerate(bodies.items()):

        def view(body=body):
            return Response(
                body,
                mimetype="application/geo+json",
                headers={"Cache-Control": "public, max-age=86400"},
            )

        app.server.add_url_rule(url, endpoint=f"geojson_{number}", view_func=view)


def _serve_templates(app: Dash, ctx: AppContext) -> None:
    """XLSX import templates, made on request in the asked language."""
    from flask import abort, request, send_file

    from geo.ingest import KINDS
    from geo.ingest.template import template_workbook

    def view(kind: str):
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


def create_app(settings: Settings, ctx: AppContext | None = None) -> Dash:
    """A ready-to-run Dash app over the data ``settings`` points to.

    Parameters
    ----------
    settings : Settings
    ctx : AppContext, optional
        Pre-built data (tests build it once and share it); built from
        ``settings`` when omitted.
    """
    ctx = ctx or build_context(settings)
    app = Dash(
        __name__,
        title=translate("app.title", settings.language),
        suppress_callback_exceptions=True,
        update_title=None,
        serve_locally=True,
    )
    app.layout = html.Div([dcc.Location(id=ids.URL), html.Div(id=ids.PAGE)])
    an = Analyses(ctx)
    _serve_geojson(app, ctx, an)
    _serve_templates(app, ctx)

    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"),
                  Input(ids.URL, "search"))
    def route(pathname, search):
        lang = _language(search, settings.language)
        page = _PAGES.get(pathname or "/", overview)
        return page_frame(ctx, lang, pathname or "/", page.layout(ctx, lang))

    for page in _PAGES.values():
        if page in _ANALYSED:
            page.register_callbacks(app, ctx, an)
        else:
            page.register_callbacks(app, ctx)
    return app
