"""What the app reads once at start: boundaries for the screen, gates, joined records.

The one place the dashboard touches data. Everything is prepared here, at
start-up, so that callbacks only filter and group (no file, projection or
spatial join per click). The context is immutable; callbacks never change it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

from geo.boundaries import load_border, load_communes
from geo.config import Settings
from geo.gates import load_gates
from geo.ingest import DEMO_SOURCE
from geo.store import open_store
from geo.units import NEW, OLD, Registry, load_registry
from layers.layer import Caveat

__all__ = ["AppContext", "build_context", "screen_geojson"]

#: Simplification for the screen, in degrees (about 50 m): invisible at province zoom,
#: and it cuts the GeoJSON sent to the browser several-fold.
_SCREEN_TOLERANCE = 0.0005


@dataclass(frozen=True)
class AppContext:
    """Read-only data of one running app."""

    settings: Settings
    registry: Registry
    communes: dict[str, gpd.GeoDataFrame]
    geojson: dict[str, str]
    gates: gpd.GeoDataFrame
    border: gpd.GeoDataFrame
    incidents: pd.DataFrame
    caveats: tuple[Caveat, ...]
    source: str
    extracted: dt.date
    bounds: tuple[float, float, float, float] = field(default=(0, 0, 0, 0))
    revision: int = 0

    def unit_table(self, unit_set: str) -> pd.DataFrame:
        """Codes and names of a unit set (what layers need; no geometry)."""
        return pd.DataFrame(self.communes[unit_set].drop(columns="geometry"))


def screen_geojson(communes: gpd.GeoDataFrame) -> str:
    """Simplified GeoJSON text of commune polygons, feature id = commune code."""
    simple = shapely.simplify(communes.geometry.values, _SCREEN_TOLERANCE, preserve_topology=True)
    features = [
        {"type": "Feature", "id": code, "properties": {"name": name},
         "geometry": shapely.geometry.mapping(geom)}
        for code, name, geom in zip(communes.index, communes["name"], simple, strict=True)
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return _round_coordinates(text)


def _round_coordinates(text: str, digits: int = 5) -> str:
    data = json.loads(text, parse_float=lambda s: round(float(s), digits))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


_INCIDENT_COLUMNS = ["source", "record_id", "date", "type", "persons", "victims", "agency",
                     "status", "lat", "lon", "new_code", "old_code"]


def _stored_incidents(settings: Settings) -> tuple[pd.DataFrame, bool, int]:
    """Incidents from the store, whether they are the synthetic demo, and the store revision."""
    with open_store(settings) as store:
        incidents = store.read("incidents", _INCIDENT_COLUMNS)
        synthetic = DEMO_SOURCE in store.sources()
        revision = store.revision()
    return incidents, synthetic, revision


def build_context(settings: Settings) -> AppContext:
    """Load boundaries, gates and records once for the app's lifetime."""
    registry = load_registry()
    communes = {s: load_communes(settings, s) for s in (NEW, OLD)}
    incidents, synthetic, revision = _stored_incidents(settings)
    caveats: list[Caveat] = []
    if synthetic:
        caveats.append(Caveat.SYNTHETIC)
    if communes[NEW].attrs.get("approximate"):
        caveats.append(Caveat.APPROXIMATE_BOUNDARIES)
    minx, miny, maxx, maxy = communes[NEW].total_bounds
    return AppContext(
        settings=settings,
        registry=registry,
        communes=communes,
        geojson={s: screen_geojson(communes[s]) for s in (NEW, OLD)},
        gates=load_gates(settings),
        border=load_border(settings),
        incidents=incidents,
        caveats=tuple(caveats),
        source="demo" if synthetic else "store",
        revision=revision,
        extracted=dt.date.today(),
        bounds=(float(minx), float(miny), float(maxx), float(maxy)),
    )
