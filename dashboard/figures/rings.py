"""Distance rings around the border gates (5, 15, 30 km), as one line trace, made once.

Geodesic circles (pyproj's ``Geod.fwd``), so a ring of 15 km is 15 km on the
ground in every direction, whatever the map projection draws.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import plotly.graph_objects as go
import pyproj

from dashboard.figures.text import plain_text
from dashboard.i18n import translate

__all__ = ["RING_KM", "gate_rings", "ring_coordinates"]

RING_KM = (5, 15, 30)
_GEOD = pyproj.Geod(ellps="WGS84")


def ring_coordinates(lon: float, lat: float, km: float, points: int = 72) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """Lon/lat of a closed geodesic circle of ``km`` around a point.

    >>> xs, ys = ring_coordinates(106.16, 11.07, 5)
    >>> len(xs), round(float(xs[0]), 5) == round(float(xs[-1]), 5)
    (73, True)
    """
    azimuths = np.linspace(0, 360, points, endpoint=False)
    xs, ys, _ = _GEOD.fwd(np.full(points, lon), np.full(points, lat), azimuths,
                          np.full(points, km * 1000.0))
    return np.append(xs, xs[0]), np.append(ys, ys[0])


def gate_rings(gates: gpd.GeoDataFrame, lang: str, *, classes=("international",),
               radii_km=RING_KM) -> go.Scattermap:
    """One dotted line trace with the rings of the gates of ``classes`` (hidden by default).

    The rings are context, not a target: they take no hover and no click (``hoverinfo``
    "skip"), so a click inside a ring still opens the commune under the pointer.

    >>> import shapely
    >>> gates = gpd.GeoDataFrame({"name": ["Mộc Bài"], "gate_class": ["international"]},
    ...                          geometry=[shapely.Point(106.16, 11.07)], crs="EPSG:4326")
    >>> trace = gate_rings(gates, "vi")
    >>> trace.hoverinfo, trace.meta["role"], trace.visible
    ('skip', 'rings', False)
    """
    lons: list = []
    lats: list = []
    text: list = []
    chosen = gates[gates["gate_class"].isin(classes)]
    for gate in chosen.itertuples():
        for km in radii_km:
            xs, ys = ring_coordinates(gate.geometry.x, gate.geometry.y, km)
            label = translate("ring.label", lang, km=km, gate=plain_text(gate.name))
            lons.extend(np.round(xs, 5).tolist() + [None])
            lats.extend(np.round(ys, 5).tolist() + [None])
            text.extend([label] * len(xs) + [None])
    return go.Scattermap(
        lon=lons, lat=lats, mode="lines", text=text, hoverinfo="skip",
        line={"width": 1.5, "color": "#444444"}, opacity=0.7,
        name=translate("cmd.rings", lang), visible=False, meta={"role": "rings"},
    )
