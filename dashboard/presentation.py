"""Presentation mode: a page's current map, full screen, for the steering committee's room.

The map is the committee version of the live map
(:func:`dashboard.exports.static.presentation_figure`: title with the period,
the unit set, legend, scale bar, north arrow, the caveats in full, source and
date of extraction) drawn by the browser at the size of the screen, with the
page's key table under it in large type. It is reached by the page's
"Trình chiếu" button or by a link with ``present=1``, and left by the
"Thoát" link or the browser's back button: the view it shows is the one in
the URL.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html, no_update

from dashboard import ids
from dashboard.context import AppContext
from dashboard.exports.committee import source_text
from dashboard.exports.static import fit_to_screen, presentation_figure
from dashboard.figures.graph_config import graph_config
from dashboard.i18n import translate

__all__ = ["presentation_view", "register_presentation"]


def _exit_href(path: str, search: str | None) -> str:
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    query.pop("present", None)
    return f"{path}?{urlencode(query, doseq=True)}" if query else path


#: The screen presentation mode frames the map for (CSS px of the map's graph: a 1440 × 900
#: window less the 48 px bar above it); larger screens leave more room around the province.
SCREEN = (1440, 852)

#: How often a waiting presentation asks whether the release is ready (milliseconds).
_ASK_AGAIN_MS = 5000


def presentation_view(ctx: AppContext, live: go.Figure, *, title: str, unit_set: str,
                      lang: str, path: str, search: str | None, below=(),
                      waiting: bool = False) -> html.Div:
    """The full-screen layout around ``live`` (the page's map as the page would draw it).

    Parameters
    ----------
    live : Figure
        The page's map for the view in the URL; not changed.
    title : str
        The layer's title with its period.
    below : sequence of components
        What follows the map (the page's key table), shown in large type.
    waiting : bool
        The role's figures wait for the small-count release: the view asks again every
        few seconds and reloads itself once they are ready (a committee's screen left
        open on a new server fills in by itself).
    """
    figure = presentation_figure(
        live, title=title, subtitle=translate(f"units.{unit_set}", lang), caveats=ctx.caveats,
        source=source_text(ctx, lang), extracted=ctx.extracted, lang=lang, size="slide",
        bounds=ctx.bounds)
    # framed for the screen it is shown on (1440 × 900 less the bar above it), not a slide:
    # the province whole, the scale bar and the north arrow inside the map
    fit_to_screen(figure, *SCREEN, ctx.bounds)
    figure.update_layout(width=None, height=None, autosize=True)
    # on screen MapLibre's own box credits the neighbours' source: no second copy of it
    figure.layout.annotations = [a for a in figure.layout.annotations if a.name != "attribution"]
    t = lambda key: translate(key, lang)  # noqa: E731
    bar = html.Div(
        [dcc.Link(t("present.exit"), href=_exit_href(path, search), id=ids.PRESENT_EXIT,
                  className="present-exit"),
         html.Button(t("present.fullscreen"), id=ids.PRESENT_FULLSCREEN, className="secondary")],
        className="present-bar",
    )
    return html.Div(
        [bar,
         dcc.Graph(id=ids.PRESENT_MAP, figure=figure, className="present-map",
                   style={"height": "calc(100vh - 48px)", "minHeight": "560px"},
                   config=graph_config(lang, displayModeBar=False, scrollZoom=True,
                                       responsive=True)),
         html.Div(list(below), className="present-below"),
         *([dcc.Interval(id=ids.PRESENT_WAIT, interval=_ASK_AGAIN_MS),
            dcc.Location(id=ids.PRESENT_RELOAD, refresh=True)] if waiting else [])],
        className="presentation", lang=lang,
    )


def register_presentation(app, an=None) -> None:
    """The "full screen" button asks the browser for full screen (Esc leaves it); a view
    waiting for the small-count release reloads itself once the release of ``an`` (the
    app's analyses) is ready for the signed-in role."""
    from dashboard.auth.web import current_role
    from dashboard.released import waiting

    @app.callback(Output(ids.PRESENT_RELOAD, "href"), Input(ids.PRESENT_WAIT, "n_intervals"),
                  State(ids.URL, "pathname"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def reload_when_ready(_, pathname, search):
        if an is None or waiting(an, current_role()):
            return no_update
        path = pathname if isinstance(pathname, str) and pathname.startswith("/") else "/"
        return path + (search if isinstance(search, str) and search.startswith("?") else "")

    app.clientside_callback(
        """function (n) {
            if (n && document.documentElement.requestFullscreen) {
                document.documentElement.requestFullscreen().catch(function () {});
            }
            return window.dash_clientside.no_update;
        }""",
        Output(ids.PRESENT_FULLSCREEN, "title"),
        Input(ids.PRESENT_FULLSCREEN, "n_clicks"),
        prevent_initial_call=True,
    )

