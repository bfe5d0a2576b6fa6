"""The layer catalogue: every map layer by its one name, its ``kind``.

A page asks for a layer by kind (``"rates"``, ``"gi"``, ``"gaps"`` …), the memoising
cache (:class:`dashboard.analysis.Analyses`) builds it through the kind's
:class:`Entry`, the layer carries its kind (:attr:`layers.layer.Layer.kind`), and the
release below commander (:func:`layers.suppression.release_layer`) applies the rule the
entry declares for it. One entry says, for one kind:

- ``build``: the function that makes the layer from the :class:`Sources` and the
  :class:`Query` (the pure functions of ``layers/`` do the work; a build only
  picks their inputs);
- ``inputs``: which of the records and geometry it reads (:data:`INPUTS`), and
  ``reads``: which other kinds it is built from;
- ``filters``: which fields of the query change it (the cache keys on those only);
- ``release``: its rule below commander (:class:`Release`; ``None``: refused);
- ``title_keys``, ``legend_keys``, ``menu_key``: the message keys its layers carry
  and the label of the page's choice;
- ``page``: the page that asks for it (``"commander"``, ``"planner"`` or none),
  ``in_menu``: whether that page offers it as a choice, and ``grid``: drawn on grid
  cells rather than communes.

Adding a layer is one new module with its pure function and its ``build``, and one
:func:`register` call at the end of this file (see ``docs/code-map.md``).

Examples
--------
>>> entry("gi").reads, entry("gi").release.rule, entry("density").release.rule
(('counts',), 'keep', 'points')
>>> [k for k in kinds(page="planner")]
['gaps', 'coverage', 'reach']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import pandas as pd

from layers.compare import compare_periods
from layers.counts import incident_counts
from layers.coverage import model_coverage
from layers.density import hexagon_counts, hexagon_layer, kernel_density
from layers.emerging import emerging_layer
from layers.gaps import gap_layer
from layers.hotspots import hotspot_layer, rate_hotspot_layer
from layers.key_areas import key_area_layer
from layers.layer import Layer
from layers.periods import within
from layers.rates import commune_rates
from layers.reach import outreach_reach

__all__ = ["CATALOGUE", "DENSITY_CELL_KM", "HEX_RESOLUTION", "INPUTS", "Entry", "Query",
           "Release", "Sources", "entry", "kinds", "register", "release_rule", "selected"]

#: What a build may read: the store's tables, the unit sets and the start-up geometry.
INPUTS = ("incidents", "population", "models", "outreach", "units", "polygons", "outline",
          "distances")
#: Cell of the screen heatmap: 2 km keeps the grid light for the browser (~2,200 cells).
DENSITY_CELL_KM = 2.0
#: H3 resolution of the hexagon map (about 5.9 km² a hexagon).
HEX_RESOLUTION = 7


@dataclass(frozen=True)
class Query:
    """The filters a layer is asked for; the fields a kind ignores are ``None``
    (:meth:`only`), so that the cache keys on what changes the layer."""

    unit_set: str | None = None
    types: tuple[str, ...] | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    bandwidth_km: float | None = None
    fdr: bool | None = None
    agencies: tuple[str, ...] | None = None
    model_types: tuple[str, ...] | None = None

    def only(self, names: tuple[str, ...]) -> Query:
        """This query with every field but ``names`` set to ``None``."""
        return replace(self, **{f.name: None for f in fields(self) if f.name not in names})


@dataclass(frozen=True)
class Sources:
    """What a build reads: the current records, the unit sets, the start-up geometry,
    the statistics' settings, and the cache's other answers (memoised there).

    Attributes
    ----------
    records
        The store's current records (``incidents``, ``population``, ``models``,
        ``outreach``).
    units : callable
        ``units(unit_set)``: the communes' codes and names (no geometry).
    polygons : mapping
        Commune polygons per unit set.
    outline : GeoDataFrame
        The province outline.
    distances : mapping
        Per unit set, each commune's ``border_km``, ``gate_km`` and ``gate_name``.
    caveats : tuple of Caveat
    permutations, gi_permutations, seed : int
    layer : callable
        ``layer(kind, query)``: another layer, memoised.
    evidence, gap_evidence : callable
        ``evidence(query)`` (:func:`layers.key_areas.commune_evidence`) and
        ``gap_evidence(query)`` (:func:`layers.gaps.gap_evidence`), memoised.
    forecast : callable
        ``forecast(query)``: the forecast layer (built and kept by the cache).
    cube : callable, optional
        ``cube()``: the counts per unit × day × type of the current records
        (:class:`layers.cube.Cube`, built once per store revision), from which counts, rates
        and changes read any period and types without a pass over the records; ``None``
        reads the records.
    """

    records: Any
    units: Callable[[str], pd.DataFrame]
    polygons: Mapping[str, Any]
    outline: Any
    distances: Mapping[str, pd.DataFrame]
    caveats: tuple
    permutations: int
    gi_permutations: int
    seed: int
    layer: Callable[[str, Query], Layer]
    evidence: Callable[[Query], pd.DataFrame]
    gap_evidence: Callable[[Query], pd.DataFrame]
    forecast: Callable[[Query], Layer]
    cube: Callable[[], Any] | None = None


@dataclass(frozen=True)
class Release:
    """How a role below commander sees a layer of one kind (applied by
    :func:`layers.suppression.release_layer`).

    Attributes
    ----------
    rule : {"counts", "rates", "compare", "keep", "scores", "unchanged", "points"}
        ``counts``, ``rates``, ``compare``: the plan's cells behind the layer's counts,
        masked where suppressed; ``keep``: only ``columns``; ``scores``: only
        ``columns``, reasons without the numbers drawn from counts; ``unchanged``: no
        incident in it; ``points``: drawn from incident points, refused.
    columns : tuple of str
        The whitelist of ``keep`` and ``scores``.
    corrected_only : bool
        Only the FDR-corrected layer has the rule (``params["alpha_fdr"]``): the Gi*
        classes without the correction are refused.
    """

    rule: str
    columns: tuple[str, ...] = ()
    corrected_only: bool = False


@dataclass(frozen=True)
class Entry:
    """One layer kind (see the module docstring)."""

    kind: str
    build: Callable[[Sources, Query], Layer]
    title_keys: tuple[str, ...]
    legend_keys: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    filters: tuple[str, ...] = ("unit_set", "types", "start", "end")
    release: Release | None = None
    page: str | None = None
    grid: bool = False
    menu_key: str = ""
    #: Offered among the page's choices (the counts are the overview's map, not a choice).
    in_menu: bool = True
    #: The kind built instead on a unit set without population (the former communes).
    without_population: str | None = None

    def __post_init__(self):
        unknown = set(self.inputs) - set(INPUTS)
        if unknown:
            raise ValueError(f"layer {self.kind!r}: unknown inputs {sorted(unknown)}")
        unknown = set(self.filters) - {f.name for f in fields(Query)}
        if unknown:
            raise ValueError(f"layer {self.kind!r}: unknown filters {sorted(unknown)}")
        if self.page not in (None, "commander", "planner"):
            raise ValueError(f"layer {self.kind!r}: unknown page {self.page!r}")
        if not self.menu_key:
            object.__setattr__(self, "menu_key", f"cmd.layer.{self.kind}"
                               if self.page == "commander" else f"plan.layer.{self.kind}")


#: Every kind, in the order the pages offer them.
CATALOGUE: dict[str, Entry] = {}


def register(new: Entry) -> Entry:
    """Add ``new`` to :data:`CATALOGUE` (a kind is registered once)."""
    if new.kind in CATALOGUE:
        raise ValueError(f"layer kind {new.kind!r} is already registered")
    CATALOGUE[new.kind] = new
    return new


def entry(kind: str) -> Entry:
    """The entry of ``kind``; :class:`KeyError` for an unknown one."""
    try:
        return CATALOGUE[kind]
    except KeyError:
        raise KeyError(f"unknown layer kind {kind!r}") from None


def kinds(*, page: str | None = None, grid: bool | None = None, filter: str | None = None
          ) -> tuple[str, ...]:
    """The kinds of ``page`` (every kind when ``None``), drawn on grid cells or not, or
    changed by the query field ``filter``, in catalogue order."""
    return tuple(k for k, e in CATALOGUE.items()
                 if (page is None or e.page == page) and (grid is None or e.grid == grid)
                 and (filter is None or filter in e.filters))


def release_rule(kind: str) -> Release | None:
    """The release rule of ``kind`` below commander; ``None`` for none (or no such kind)."""
    found = CATALOGUE.get(kind)
    return None if found is None else found.release


def selected(incidents: pd.DataFrame, q: Query) -> pd.DataFrame:
    """The incidents of the query's types in its period (inclusive)."""
    return incidents.loc[incidents["type"].isin(q.types) & within(incidents["date"], q.start,
                                                                   q.end)]


# -- the builds: which inputs each pure function is given -------------------------------

def _cube(src: Sources):
    return None if src.cube is None else src.cube()


def _counts(src: Sources, q: Query) -> Layer:
    return incident_counts(src.records.incidents, src.units(q.unit_set), unit_set=q.unit_set,
                           types=q.types, start=q.start, end=q.end, caveats=src.caveats,
                           cube=_cube(src))


def _rates(src: Sources, q: Query) -> Layer:
    rec = src.records
    return commune_rates(rec.incidents, src.units(q.unit_set), rec.population,
                         unit_set=q.unit_set, types=q.types, start=q.start, end=q.end,
                         caveats=src.caveats, cube=_cube(src))


def _gi(src: Sources, q: Query) -> Layer:
    # Gi* on the counts, as ArcGIS's Hot Spot Analysis on incidents aggregated to
    # polygons; counts get exact p-values (layers/inference.py), and the 9,999
    # permutations serve only where exact enumeration is too costly.
    return hotspot_layer(src.layer("counts", q), src.polygons[q.unit_set],
                         permutations=src.gi_permutations, seed=src.seed,
                         alpha_fdr=q.fdr is not False)


def _gi_rate(src: Sources, q: Query) -> Layer:
    # Gi* on the smoothed rate per resident: where the risk clusters, not the size
    return rate_hotspot_layer(src.layer("rates", q), src.polygons[q.unit_set],
                              permutations=src.gi_permutations, seed=src.seed,
                              alpha_fdr=q.fdr is not False)


def _emerging(src: Sources, q: Query) -> Layer:
    return emerging_layer(src.records.incidents, src.polygons[q.unit_set], unit_set=q.unit_set,
                          freq="Q", types=q.types, end=q.end, permutations=src.permutations,
                          seed=src.seed, caveats=src.caveats)


def _change(src: Sources, q: Query) -> Layer:
    return compare_periods(src.records.incidents, src.units(q.unit_set), unit_set=q.unit_set,
                           start=q.start, end=q.end, types=q.types, caveats=src.caveats,
                           cube=_cube(src))


def _key_areas(src: Sources, q: Query) -> Layer:
    return key_area_layer(src.evidence(q), unit_set=q.unit_set, caveats=src.caveats)


def _forecast(src: Sources, q: Query) -> Layer:
    return src.forecast(q)


def _cells_only(layer: Layer) -> Layer:
    """The layer of a grid without its geometry (the browser has the cells), ids as text."""
    frame = layer.frame.drop(columns="geometry", errors="ignore").copy()
    frame.index = frame.index.astype(str)
    if "name" not in frame:
        frame["name"] = ""
    return replace(layer, frame=frame)


def _density(src: Sources, q: Query) -> Layer:
    surface = kernel_density(selected(src.records.incidents, q), src.outline,
                             bandwidth_km=q.bandwidth_km, cell_km=DENSITY_CELL_KM,
                             communes=src.polygons[q.unit_set], unit_set=q.unit_set)
    return _cells_only(surface.layer(caveats=src.caveats))


def _hexagons(src: Sources, q: Query) -> Layer:
    hexes = hexagon_counts(selected(src.records.incidents, q), src.outline,
                           resolution=HEX_RESOLUTION, communes=src.polygons[q.unit_set],
                           unit_set=q.unit_set)
    return hexagon_layer(hexes, caveats=src.caveats)


def _coverage(src: Sources, q: Query) -> Layer:
    return model_coverage(src.records.models, src.units(q.unit_set), unit_set=q.unit_set,
                          on=q.end, model_types=q.model_types or None, caveats=src.caveats)


def _reach(src: Sources, q: Query) -> Layer:
    rec = src.records
    return outreach_reach(rec.outreach, src.units(q.unit_set), rec.population,
                          unit_set=q.unit_set, start=q.start, end=q.end,
                          agencies=q.agencies or None, caveats=src.caveats)


def _gaps(src: Sources, q: Query) -> Layer:
    return gap_layer(src.gap_evidence(q), unit_set=q.unit_set, caveats=src.caveats)


def _not_cached(src: Sources, q: Query) -> Layer:
    raise ValueError("this layer is built by its own function, not by the cache")


# -- the catalogue ---------------------------------------------------------------------

_GI_CLASSES = ("name", "gi_bin", "gi_class", "fdr_significant")
_COMMANDER_SET = ("unit_set", "types", "start", "end")

register(Entry("rates", _rates, ("layer.rates.title",), ("layer.rates.legend",),
               inputs=("incidents", "population", "units"), release=Release("rates"),
               page="commander", without_population="counts"))
register(Entry("gi", _gi, ("layer.hotspots.title", "layer.hotspots_uncorrected.title"),
               ("layer.hotspots.legend",), inputs=("polygons",), reads=("counts",),
               filters=(*_COMMANDER_SET, "fdr"),
               release=Release("keep", _GI_CLASSES, corrected_only=True), page="commander"))
# Gi* of the smoothed rate: the same rule as of the counts (classes only)
register(Entry("gi_rate", _gi_rate,
               ("layer.hotspots_rate.title", "layer.hotspots_rate_uncorrected.title"),
               ("layer.hotspots.legend",), inputs=("polygons",), reads=("rates",),
               filters=(*_COMMANDER_SET, "fdr"),
               release=Release("keep", _GI_CLASSES, corrected_only=True), page="commander",
               without_population="gi"))
register(Entry("emerging", _emerging, ("layer.emerging.title",), ("layer.emerging.legend",),
               inputs=("incidents", "polygons"), filters=("unit_set", "types", "end"),
               release=Release("keep", ("name", "category", "category_code", "n_hot", "n_cold",
                                        "last_hot", "last_cold")),
               page="commander"))
register(Entry("density", _density, ("layer.density.title",), ("layer.density.legend",),
               inputs=("incidents", "polygons", "outline"),
               filters=(*_COMMANDER_SET, "bandwidth_km"), release=Release("points"),
               page="commander", grid=True))
# hexagons: no release rule (refused below commander, as any layer without one)
register(Entry("hexagons", _hexagons, ("layer.hexagons.title",), ("layer.hexagons.legend",),
               inputs=("incidents", "polygons", "outline"), page="commander", grid=True))
register(Entry("change", _change, ("layer.compare.previous.title",
                                   "layer.compare.year_before.title"),
               ("layer.compare.legend", "layer.compare.legend.seasonal"),
               inputs=("incidents", "units"),
               release=Release("compare"), page="commander", menu_key="cmd.layer.change_yoy"))
register(Entry("key_areas", _key_areas, ("layer.key_areas.title",), ("layer.key_areas.legend",),
               inputs=("units", "distances"),
               reads=("counts", "rates", "gi", "gi_rate", "emerging", "change"),
               release=Release("scores", ("name", "score", "rank", "reasons")),
               page="commander"))
register(Entry("forecast", _forecast, ("layer.forecast.title",),
               ("layer.forecast.legend", "layer.forecast.legend_score"),
               inputs=("incidents", "population", "polygons", "outline"),
               reads=("gi", "key_areas"), filters=("unit_set", "types", "end"),
               page="commander"))
register(Entry("counts", _counts, ("layer.incident_counts.title",),
               ("layer.incident_counts.legend",), inputs=("incidents", "units"),
               release=Release("counts"), page="commander", in_menu=False))
register(Entry("gaps", _gaps, ("layer.gaps.title",), ("layer.gaps.legend",),
               inputs=("units",), reads=("key_areas", "coverage", "reach"),
               filters=("unit_set", "start", "end", "agencies"),
               release=Release("scores", (
                   "name", "score", "models", "intensive", "reach", "risk", "coverage", "gap",
                   "gi_class", "category", "border_km", "gate_km", "gate_name", "days_since",
                   "last_agency", "risk_reasons")),
               page="planner"))
register(Entry("coverage", _coverage, ("layer.coverage.title",), ("layer.coverage.legend",),
               inputs=("models", "units"), filters=("unit_set", "end", "model_types"),
               release=Release("unchanged"), page="planner"))
register(Entry("reach", _reach, ("layer.reach.title",), ("layer.reach.legend",),
               inputs=("outreach", "population", "units"),
               filters=("unit_set", "start", "end", "agencies"),
               release=Release("unchanged"), page="planner"))
# distances hold no incident; built by layers.proximity.proximity_layer where needed
register(Entry("proximity", _not_cached, ("layer.proximity.title",), ("layer.proximity.legend",),
               inputs=("polygons",), filters=("unit_set",), release=Release("unchanged")))
