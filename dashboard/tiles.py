"""The route that serves the province's own basemap tiles: ``/basemap/{z}/{x}/{y}``.

Read-only, behind the sign-in like every page (:mod:`dashboard.auth.web` answers
401 to a request without a session before this route runs). The archive is the
one the configuration names (:class:`geo.basemap.Basemap`); the URL carries
three integers and nothing else, so no request can reach another file: any
other path (``/basemap/../x``, ``/basemap/1/0/0.png``, ``/basemap/a/b/c``) is not
this route and is answered 404. A tile the archive lacks is a 204 (MapLibre
draws nothing there and asks no one else).
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, abort

from geo.basemap import Basemap, BasemapError, read_tile

__all__ = ["ENDPOINT", "TILE_URL", "install_basemap", "map_extras", "tile_url"]

#: The route's Flask endpoint (not audited per tile: a pan asks for dozens).
ENDPOINT = "basemap_tile"
#: The tiles' URL template, as MapLibre wants it.
TILE_URL = "/basemap/{z}/{x}/{y}"


def tile_url(origin: str = "") -> str:
    """The URL template of the tiles, absolute when ``origin`` (``http://host:port``) is
    given: MapLibre fetches vector tiles from a worker, where a relative URL has no base."""
    return origin.rstrip("/") + TILE_URL


def install_basemap(server: Flask, basemap: Basemap | None) -> None:
    """Add the tile route to ``server`` when a basemap is configured (else nothing)."""
    if basemap is None:
        return

    def view(z: int, x: int, y: int):
        try:
            data = read_tile(basemap, z, x, y)
        except BasemapError:
            abort(503)
        if data is None:
            return Response(status=204, headers={"Cache-Control": "public, max-age=3600"})
        headers = {"Cache-Control": "public, max-age=86400"}
        if not basemap.raster and data[:2] == b"\x1f\x8b":  # vector tiles are stored gzipped
            data = gzip.decompress(data)
        return Response(data, mimetype=basemap.media_type, headers=headers)

    server.add_url_rule("/basemap/<int:z>/<int:x>/<int:y>", endpoint=ENDPOINT, view_func=view,
                        methods=["GET"])


def map_extras(ctx, *, live: bool = True) -> dict:
    """What :func:`dashboard.figures.commune_map.commune_map` draws beyond the communes, for
    a map of ``ctx`` (an :class:`dashboard.context.AppContext`): the neighbours always; the
    basemap on a live page only (``live``), its tiles at this server's own address as the
    browser reached it (a static export's browser has no session to fetch them with); on a
    live page the neighbours' shapes at their address too (``dashboard.app`` serves them)."""
    from flask import has_request_context, request

    from dashboard.figures.context import CONTEXT_STYLE, context_url

    extras = {"neighbours": ctx.neighbours}
    if not live:
        return extras
    origin = request.host_url if has_request_context() else ""
    if ctx.neighbours is not None and len(ctx.neighbours):
        # the neighbours' shapes by address: fetched once, not sent with every redraw
        extras["context_urls"] = {c: context_url(c, origin) for c in CONTEXT_STYLE}
    if ctx.basemap is not None:
        extras.update(basemap=ctx.basemap, tile_url=tile_url(origin))
    return extras
