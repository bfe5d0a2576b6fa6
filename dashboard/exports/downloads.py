"""One current map, four downloads: standalone HTML, slide PNG, A4 PDF, the XLSX table behind it.

The pages hand over the layer they show; this module picks the renderer and
the file name, so every page exports the same way. Each renderer is imported when its
format is asked for: a server starts without folium, openpyxl and the image renderer.
"""

from __future__ import annotations

from dash import dcc

from dashboard.context import AppContext
from dashboard.i18n import translate
from layers.layer import Layer

__all__ = ["FORMATS", "map_download"]

FORMATS = ("html", "png", "pdf", "xlsx")


def map_download(fmt: str, ctx: AppContext, layer: Layer, geojson, *, title: str,
                 unit_set: str, lang: str, stem: str, rings: bool = False) -> dict:
    """The ``dcc.Download`` data of ``layer`` as ``fmt`` (see :data:`FORMATS`).

    ``geojson`` is what the layer's values are drawn on (the communes of
    ``unit_set``, or a grid); the HTML map always draws the communes. ``rings``: the
    screen shows the gates' distance rings, and so do the PNG and the PDF.
    """
    if fmt == "html":
        from dashboard.exports.html_map import standalone_map_html

        page = standalone_map_html(layer, ctx.communes[unit_set], ctx.gates, ctx.border,
                                   title=title, lang=lang, extracted=ctx.extracted,
                                   neighbours=ctx.neighbours)
        return dcc.send_string(page, f"ban_do_{stem}.html")
    if fmt in ("png", "pdf"):
        from dashboard.exports.committee import committee_image

        raw = committee_image(ctx, layer, geojson, title=title, unit_set=unit_set, lang=lang,
                              fmt=fmt, rings=rings)
        return dcc.send_bytes(raw, f"ban_do_{stem}.{fmt}")
    if fmt == "xlsx":
        from dashboard.exports.xlsx import layer_xlsx

        raw = layer_xlsx(layer, title=title, lang=lang,
                         notes=[translate(f"caveat.{c.value}", lang) for c in ctx.caveats],
                         extracted=ctx.extracted)
        return dcc.send_bytes(raw, f"bang_{stem}.xlsx")
    raise ValueError(f"unknown download format {fmt!r}; expected one of {FORMATS}")
