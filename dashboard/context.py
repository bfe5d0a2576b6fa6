"""What the app reads once at start: boundaries for the screen, gates; and its record cache.

The one place the dashboard touches data. Geometry is prepared here, at
start-up, so that callbacks only filter and group (no file, projection or
spatial join per click). Records come from the store through
:class:`dashboard.records.RecordCache`, which reloads only after an import.
The context is immutable; callbacks never change it.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.basemap import Basemap, open_basemap
from geo.boundaries import load_border, load_communes, load_neighbours, load_outline
from geo.config import Settings
from geo.gates import load_gates
from geo.ingest.importer import Places
from dashboard.records import RecordCache
from geo.units import NEW, OLD, Registry, registry_covering
from layers.cube import Cube, build_cube
from layers.layer import Caveat

__all__ = ["AppContext", "CubeMemo", "build_context", "keep_screen_shapes", "screen_geojson"]

#: Simplification for the screen, in degrees (about 50 m): invisible at province zoom,
#: and it cuts the GeoJSON sent to the browser several-fold.
_SCREEN_TOLERANCE = 0.0005


class CubeMemo:
    """The cube of the latest store revision read (:mod:`layers.cube`), built on first use.

    One per app: the first call after an import builds the cube of the new records (about
    a second for a million), every other call of that revision returns it; the cube of
    the revision before is let go.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._cube: Cube | None = None

    def of(self, revision: int, incidents: pd.DataFrame, units: dict[str, pd.Index]) -> Cube:
        """The cube of ``incidents``, the records of store revision ``revision``."""
        with self._lock:
            if self._cube is None or self._revision != revision:
                self._cube, self._revision = build_cube(incidents, units), revision
            return self._cube


@dataclass(frozen=True)
class AppContext:
    """Read-only data of one running app."""

    settings: Settings
    registry: Registry
    communes: dict[str, gpd.GeoDataFrame]
    geojson: dict[str, str]
    gates: gpd.GeoDataFrame
    border: gpd.GeoDataFrame
    records: RecordCache
    approximate: bool
    extracted: dt.date
    bounds: tuple[float, float, float, float] = field(default=(0, 0, 0, 0))
    #: The neighbouring provinces drawn around the communes for context (bundled).
    neighbours: gpd.GeoDataFrame | None = None
    #: The province's own offline basemap, when the settings name one.
    basemap: Basemap | None = None
    #: What an upload's commune resolution needs (full polygons), read once with the rest.
    places: Places | None = None
    #: The cube of the current records, per store revision (:meth:`cube`).
    cubes: CubeMemo = field(default_factory=CubeMemo, repr=False, compare=False)
    #: The unit tables without geometry, per unit set (:meth:`unit_table`).
    unit_tables: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def incidents(self) -> pd.DataFrame:
        """Incidents joined to both unit sets (read-only), as of the latest import."""
        return self.records.current().incidents

    @property
    def caveats(self) -> tuple[Caveat, ...]:
        """Notes every screen and export must carry now (synthetic data, approximate shapes)."""
        records = self.records.last_known() or self.records.current()
        out = [Caveat.SYNTHETIC] if records.synthetic else []
        if self.approximate:
            out.append(Caveat.APPROXIMATE_BOUNDARIES)
        return tuple(out)

    @property
    def source(self) -> str:
        """"demo" for the synthetic dataset, else the sources of the stored records."""
        records = self.records.last_known() or self.records.current()
        return "demo" if records.synthetic else (", ".join(records.sources) or "–")

    def cube(self) -> Cube:
        """The counts of the current records per unit × day × type of both unit sets
        (:class:`layers.cube.Cube`), built once per store revision: what
        :func:`layers.counts.incident_counts`, :func:`layers.rates.commune_rates` and
        :func:`layers.compare.compare_periods` read when given ``cube=ctx.cube()``."""
        records = self.records.current()
        return self.cubes.of(records.revision, records.incidents,
                             {s: self.communes[s].index for s in (NEW, OLD)})

    def unit_table(self, unit_set: str) -> pd.DataFrame:
        """Codes and names of a unit set (what layers need; no geometry): a copy of the one
        made once per unit set (dropping the geometry of a GeoDataFrame cost every callback a
        millisecond of CPU; the copy, some 40 µs)."""
        frame = self.communes[unit_set]
        kept = self.unit_tables.get(unit_set)
        if kept is None or kept[0] is not frame:  # first asked, or the boundaries replaced
            kept = (frame, pd.DataFrame(frame.drop(columns="geometry")))
            self.unit_tables[unit_set] = kept
        return kept[1].copy()


def screen_geojson(communes: gpd.GeoDataFrame) -> str:
    """Simplified GeoJSON text of commune polygons, feature id = commune code."""
    simple = shapely.simplify(np.asarray(communes.geometry.values, dtype=object),
                              _SCREEN_TOLERANCE, preserve_topology=True)
    names = [{"name": name} for name in communes["name"]]
    return _feature_collection(list(communes.index), simple, names)


def _feature_collection(ids: list, geometries: np.ndarray, properties: list[dict],
                        digits: int = 5) -> str:
    """Features as compact GeoJSON text, coordinates rounded to ``digits`` decimals (~1 m).

    The geometries are written by GEOS for the whole array at once
    (``shapely.to_geojson``) and the numbers rounded while the text is read back: for the
    country's 13,000 communes or 170,000 hexagons that is seconds, where one
    ``shapely.geometry.mapping`` per shape took minutes.
    """
    shapes = shapely.to_geojson(geometries)
    features = ",".join(
        f'{{"type":"Feature","id":{json.dumps(i, ensure_ascii=False)},'
        f'"properties":{json.dumps(p, ensure_ascii=False)},"geometry":{g}}}'
        for i, p, g in zip(ids, properties, shapes, strict=True)
    )
    data = json.loads(f'{{"type":"FeatureCollection","features":[{features}]}}',
                      parse_float=lambda s: round(float(s), digits))
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _kept_geojson(settings: Settings, communes: gpd.GeoDataFrame) -> str:
    """:func:`screen_geojson` of ``communes``, kept in the cache folder: the country's 13,000
    communes take seconds to simplify and write, at every start; their text, keyed by the
    codes, names and shapes and by this module's source, loads in milliseconds."""
    import hashlib

    from dashboard.plan_cache import cached, code_digest

    if settings.cache_dir is None:
        return screen_geojson(communes)
    digest = hashlib.sha256(code_digest(("dashboard.context",)))
    digest.update("\x1f".join(map(str, communes.index)).encode())
    digest.update("\x1f".join(map(str, communes["name"])).encode())
    for wkb in shapely.to_wkb(np.asarray(communes.geometry.values, dtype=object)):
        digest.update(wkb)
    return cached(settings.cache_dir, digest.hexdigest()[:24],
                  lambda: screen_geojson(communes), kind="shapes", keep=4)


def keep_screen_shapes(settings: Settings) -> dict[str, str]:
    """The screen's GeoJSON of both unit sets (:func:`screen_geojson`), made now and kept in
    the cache folder if it is not there yet: what a boundaries import does once it has
    written the new communes, so that the next server start loads their shapes instead
    of simplifying the country's 13,000 communes (seconds)."""
    return {s: _kept_geojson(settings, load_communes(settings, s)) for s in (NEW, OLD)}


def build_context(settings: Settings) -> AppContext:
    """Load boundaries, gates and records once for the app's lifetime.

    The registry is the one of the provinces the 2025 communes drawn lie in
    (:func:`geo.units.registry_covering`): Tây Ninh's on the bundled or a
    province's imported boundaries, the country's provinces' on boundaries
    of several (the bench's national server), so that the release plan and
    an upload's resolution know every commune drawn.
    """
    communes = {s: load_communes(settings, s) for s in (NEW, OLD)}
    registry = registry_covering(communes[NEW].index)
    records = RecordCache(settings)
    records.current()
    minx, miny, maxx, maxy = communes[NEW].total_bounds
    return AppContext(
        settings=settings,
        registry=registry,
        communes=communes,
        geojson={s: _kept_geojson(settings, communes[s]) for s in (NEW, OLD)},
        gates=load_gates(settings),
        border=load_border(settings),
        records=records,
        approximate=bool(communes[NEW].attrs.get("approximate")),
        extracted=dt.date.today(),
        bounds=(float(minx), float(miny), float(maxx), float(maxy)),
        neighbours=load_neighbours(),
        basemap=open_basemap(settings.basemap) if settings.basemap else None,
        places=Places.of(registry, communes[NEW], communes[OLD], load_outline(settings)),
    )
