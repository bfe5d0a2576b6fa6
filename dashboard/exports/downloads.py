"""One current map, four downloads: standalone HTML, slide PNG, A4 PDF, the XLSX table behind it.

The pages hand over the layer they show; this module picks the renderer and
the file name, so every page exports the same way. Each renderer is imported when its
format is asked for: a server starts without folium, openpyxl and the image renderer.
"""

from __future__ import annotations

import json

from dash import dcc

from dashboard.context import AppContext
from dashboard.i18n import translate
from layers.layer import Layer

__all__ = ["FORMATS", "GridTooLarge", "MAX_CELLS", "map_download"]

FORMATS = ("html", "png", "pdf", "xlsx")
#: The most grid cells one standalone HTML map carries: a province's 2 km grid is some
#: 2,500 cells (about 1 MB of page); a country's, some 80,000 (tens of MB), more than a
#: border post's browser opens with ease.
MAX_CELLS = 20_000


class GridTooLarge(ValueError):
    """A grid of more cells than one standalone HTML map carries (:data:`MAX_CELLS`)."""

    def __init__(self, cells: int, most: int = MAX_CELLS):
        super().__init__(f"{cells} cells: more than {most} in one offline page")
        self.cells, self.most = cells, most


def map_download(fmt: str, ctx: AppContext, layer: Layer, geojson, *, title: str,
                 unit_set: str, lang: str, stem: str, rings: bool = False) -> dict:
    """The ``dcc.Download`` data of ``layer`` as ``fmt`` (see :data:`FORMATS`).

    ``geojson`` is what the layer's values are drawn on (the communes of
    ``unit_set``, or a grid: the HTML map then draws the grid's cells,
    :func:`dashboard.exports.html_map.grid_shapes`). ``rings``: the screen shows the
    gates' distance rings, and so do the PNG and the PDF.

    Raises
    ------
    GridTooLarge
        For an HTML map of a grid of more than :data:`MAX_CELLS` cells.
    """
    if fmt == "html":
        from dashboard.exports.html_map import grid_shapes, standalone_map_html

        if layer.unit_set in ctx.communes:
            shapes = ctx.communes[unit_set]
        else:
            grid = json.loads(geojson) if isinstance(geojson, str) else geojson
            if len(grid.get("features", ())) > MAX_CELLS:
                raise GridTooLarge(len(grid["features"]), MAX_CELLS)
            shapes = grid_shapes(grid, layer)
        page = standalone_map_html(layer, shapes, ctx.gates, ctx.border,
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
