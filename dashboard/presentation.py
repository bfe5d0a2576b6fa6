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
from dash import Input, Output, dcc, html

from dashboard import ids
from dashboard.context import AppContext
from dashboard.exports.committee import source_text
from dashboard.exports.static import presentation_figure
from dashboard.figures.graph_config import graph_config
from dashboard.i18n import translate

__all__ = ["presentation_view", "register_presentation"]


def _exit_href(path: str, search: str | None) -> str:
    query = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    query.pop("present", None)
    return f"{path}?{urlencode(query, doseq=True)}" if query else path


def presentation_view(ctx: AppContext, live: go.Figure, *, title: str, unit_set: str,
                      lang: str, path: str, search: str | None, below=()) -> html.Div:
    """The full-screen layout around ``live`` (the page's map as the page would draw it).

    Parameters
    ----------
    live : Figure
        The page's map for the view in the URL; not changed.
    title : str
        The layer's title with its period.
    below : sequence of components
        What follows the map (the page's key table), shown in large type.
    """
    figure = presentation_figure(
        live, title=title, subtitle=translate(f"units.{unit_set}", lang), caveats=ctx.caveats,
        source=source_text(ctx, lang), extracted=ctx.extracted, lang=lang, size="slide",
        bounds=ctx.bounds)
    figure.update_layout(width=None, height=None, autosize=True)
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
                   config=graph_config(displayModeBar=False, scrollZoom=True,
                                       responsive=True)),
         html.Div(list(below), className="present-below")],
        className="presentation", lang=lang,
    )


def register_presentation(app) -> None:
    """The "full screen" button asks the browser for full screen (Esc leaves it)."""
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

