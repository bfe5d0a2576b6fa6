"""What a map shows beyond the province: the neighbours' shapes and names, and a basemap.

Drawn as MapLibre layers of the figure's layout (``layout.map.layers``), under
every trace: they take no hover and no click, and the traces keep their
numbers (the pages patch traces by number). Muted on purpose: a light grey
for Cambodia, a lighter one for the Vietnamese provinces, thin grey outlines;
the communes' colours stay the only colours on the map.

The names are never MapLibre text (its glyphs come from a font server on the
internet). They travel in ``layout.meta["places"]`` (lon, lat, text, kind);
the browser writes them over the map as HTML (``assets/map_labels.js``), the
static export as annotations (:mod:`dashboard.exports.static`), the HTML export
as Leaflet tooltips (:mod:`dashboard.exports.html_map`). The attribution of the
data goes with the layers (MapLibre's attribution box) and in
``layout.meta["attribution"]`` for the renderers that have no such box.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import shapely

from dashboard.figures.text import plain_text
from dashboard.i18n import translate
from geo.basemap import Basemap

__all__ = ["CONTEXT_STYLE", "PLACE_STYLE", "basemap_layers", "context_attribution",
           "context_layers", "context_places", "context_url", "neighbour_geojson"]

#: Fill and outline of the neighbours: greys that no colour scale of the communes uses.
CONTEXT_STYLE = {
    "KH": {"fill": "#e2dfd6", "line": "#8c8c8c"},
    "VN": {"fill": "#eeede8", "line": "#a6a6a6"},
}
#: How the names are written: provinces in grey italics, the country in spaced capitals.
PLACE_STYLE = {
    "province": {"position": "center", "size": 12, "color": "#6b6b6b", "italic": True},
    "country": {"position": "center", "size": 15, "color": "#555555", "italic": False,
                "upper": True},
}


def neighbour_geojson(neighbours: gpd.GeoDataFrame, country: str) -> dict:
    """The neighbouring provinces of ``country`` ("KH", "VN") as a FeatureCollection."""
    rows = neighbours[(neighbours["kind"] == "province") & (neighbours["country"] == country)]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": str(r.name_vi)},
         "geometry": json.loads(shapely.to_geojson(r.geometry))}
        for r in rows.itertuples()]}


def context_url(country: str, origin: str = "") -> str:
    """Where a live page's browser fetches :func:`neighbour_geojson` of ``country`` (served
    once and cached, as the communes are: a map redrawn for a new layer or unit set then
    sends no neighbour's shape again). ``origin``: the server as the browser reached it
    (MapLibre fetches a layer's source from its own worker)."""
    return f"{origin.rstrip('/')}/geo/context_{country}.geojson"


def context_attribution(lang: str, *, neighbours: gpd.GeoDataFrame | None = None,
                        basemap: Basemap | None = None) -> str:
    """Where what a map draws beyond the communes comes from, as the reader sees it
    (escaped for Plotly): the neighbours' source, the basemap's own attribution; "" when
    the map draws neither."""
    parts = []
    if neighbours is not None and len(neighbours):
        parts.append(translate("map.context.attribution", lang))
    if basemap is not None:
        parts.append(basemap.attribution or translate("map.basemap.attribution", lang))
    return " · ".join(plain_text(p) for p in parts)


def context_layers(neighbours: gpd.GeoDataFrame | None, lang: str, *,
                   over_basemap: bool = False, urls: dict[str, str] | None = None) -> list[dict]:
    """MapLibre layers of the neighbouring provinces (fill, then outline), under the traces;
    ``over_basemap``: their fill nearly clear, so that the basemap shows through. ``urls``
    (country → :func:`context_url`): the shapes by address, for a live page; else in the
    figure (an export draws them with no server)."""
    if neighbours is None or not len(neighbours):
        return []
    attribution = plain_text(translate("map.context.attribution", lang))
    layers = []
    for country, style in CONTEXT_STYLE.items():
        source = neighbour_geojson(neighbours, country)
        if not source["features"]:
            continue
        if urls and country in urls:
            source = urls[country]
        layers.append({"sourcetype": "geojson", "source": source, "type": "fill",
                       "color": style["fill"], "opacity": 0.25 if over_basemap else 0.9,
                       "below": "traces",
                       "name": f"context.{country}.fill", "sourceattribution": attribution})
        layers.append({"sourcetype": "geojson", "source": source, "type": "line",
                       "color": style["line"], "line": {"width": 1}, "below": "traces",
                       "name": f"context.{country}.line"})
    return layers


def context_places(neighbours: gpd.GeoDataFrame | None, lang: str) -> list[dict]:
    """The names of the neighbours where the map writes them: ``lon``, ``lat``, ``text``
    (escaped for Plotly), ``kind`` ("country" first, then "province")."""
    if neighbours is None or not len(neighbours):
        return []
    column = "name_vi" if lang == "vi" else "name_en"
    rows = neighbours.sort_values("kind", key=lambda s: s.ne("country"))
    places = []
    for r in rows.itertuples():
        if pd.isna(r.label_lon) or pd.isna(r.label_lat):
            continue  # drawn for its shape, too far from the province to be named
        text = plain_text(str(getattr(r, column)))
        places.append({"lon": float(r.label_lon), "lat": float(r.label_lat),
                       "text": text.upper() if r.kind == "country" else text,
                       "kind": str(r.kind)})
    return places


def basemap_layers(basemap: Basemap | None, url: str, lang: str) -> list[dict]:
    """MapLibre layers of the province's own basemap at the tile URL template ``url``
    (the app's own route), under the neighbours and the communes: its images for raster
    tiles, thin grey lines of each of its layers for vector tiles."""
    if basemap is None:
        return []
    attribution = plain_text(basemap.attribution or translate("map.basemap.attribution", lang))
    common = {"below": "traces", "minzoom": basemap.minzoom, "sourceattribution": attribution}
    if basemap.raster:
        return [{"sourcetype": "raster", "source": [url], "type": "raster",
                 "name": "basemap", "opacity": 1.0, **common}]
    return [{"sourcetype": "vector", "source": [url], "sourcelayer": name, "type": "line",
             "color": "#9e9e9e", "line": {"width": 0.8}, "name": f"basemap.{name}", **common}
            for name in basemap.vector_layers]
