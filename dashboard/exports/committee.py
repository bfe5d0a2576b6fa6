"""The committee image of a page's current layer: slide PNG or A4 PDF, ready for the room.

Both pages call this with the layer they show, so the image carries exactly
what the screen shows (one computation, another rendering), plus what a
projected map needs: title and period, unit set, scale bar, north arrow,
caveats, source and date of extraction.
"""

from __future__ import annotations

from layers.layer import Layer

from dashboard.context import AppContext
from dashboard.exports.static import export_figure, presentation_figure
from dashboard.figures.commune_map import commune_map
from dashboard.figures.rings import gate_rings
from dashboard.tiles import map_extras
from dashboard.i18n import translate

__all__ = ["committee_image", "source_text", "track_panel"]


def source_text(ctx: AppContext, lang: str) -> str:
    """Where the records come from: the synthetic demo, or the sources of the stored records."""
    return translate("caveat.synthetic", lang) if ctx.source == "demo" else ctx.source


def committee_image(ctx: AppContext, layer: Layer, geojson, *, title: str, unit_set: str,
                    lang: str, fmt: str, rings: bool = False) -> bytes:
    """``fmt`` "png" (a 1600×900 slide) or "pdf" (A4 landscape) of ``layer`` over ``geojson``,
    with the neighbours for context, and the gates' distance rings when the screen shows
    them (``rings``)."""
    if fmt not in ("png", "pdf"):
        raise ValueError(f"committee images are png or pdf, not {fmt!r}")
    size = "a4" if fmt == "pdf" else "slide"
    base = commune_map(layer, geojson, ctx.gates, ctx.border, lang=lang, bounds=ctx.bounds,
                       **map_extras(ctx, live=False))
    if rings:
        base.add_trace(gate_rings(ctx.gates, lang).update(visible=True))
    figure = presentation_figure(
        base, title=title, subtitle=translate(f"units.{unit_set}", lang), caveats=ctx.caveats,
        source=source_text(ctx, lang), extracted=ctx.extracted, lang=lang, size=size,
        bounds=ctx.bounds, panel=track_panel(layer, lang))
    return export_figure(figure, fmt=fmt, size=size)


def track_panel(layer: Layer, lang: str):
    """A forecast's track record for the panel beside its map (the page's sentence and the
    backtest table), or None for the other layers: a forecast never travels without it."""
    if layer.value != "forecast":
        return None
    from dashboard.forecast_text import track_header, track_record, track_rows

    rows = [] if layer.params.get("problem") else track_rows(layer.params, lang)
    return track_record(layer.params, lang), track_header(lang, short=True), rows
