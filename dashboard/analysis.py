"""The pages' layers for one filter state, computed once per store revision.

A page asks for a layer by name ("rates", "gi", "emerging", … for the
commander; "coverage", "reach", "gaps" for the planner) with the filters;
this module calls the pure functions of ``layers/`` and keeps the
last results, keyed by the store revision and the filters, so that a click
back to a layer, or the side panel after the map, costs nothing. Geometry
that does not depend on the filters (distances of communes to the border and
gates, the density grid, the hexagons) is prepared once. No file is opened,
nothing is reprojected per click beyond what a layer itself computes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

import geopandas as gpd
import pandas as pd
import shapely

from dashboard.context import AppContext, cells_geojson
from dashboard.forecast_worker import ForecastWorker
from geo.boundaries import load_outline
from geo.units import NEW
from layers.compare import campaign_comparison, compare_periods
from layers.counts import INCIDENT_TYPES, incident_counts
from layers.coverage import model_coverage
from layers.gaps import gap_layer
from layers.density import hexagon_counts, kernel_density
from layers.emerging import emerging_layer
from layers.hotspots import hotspot_layer, local_moran, rate_hotspot_layer
from layers.key_areas import change_evidence, key_area_layer, key_area_scores
from layers.layer import Layer
from layers.periods import within
from layers.proximity import band_shares, border_distance, gate_distances
from layers.rates import commune_rates
from layers.targets import PLANS_DIR, TrackingData, attach_key_areas, load_plans, track
from layers.reach import outreach_reach
from layers.trend import province_trend

__all__ = ["COMMUNE_LAYERS", "GI_LAYERS", "GRID_LAYERS", "LAYERS", "PLANNER_LAYERS", "Analyses",
           "grid_url"]

COMMUNE_LAYERS = ("rates", "counts", "gi", "gi_rate", "emerging", "change", "key_areas",
                  "forecast")
GRID_LAYERS = ("density", "hexagons")
PLANNER_LAYERS = ("gaps", "coverage", "reach")
LAYERS = ("rates", "gi", "gi_rate", "emerging", "density", "hexagons", "change", "key_areas",
          "counts", "forecast")
#: The Gi* layers: of the counts (where incidents cluster) and of the smoothed rate per
#: resident (where the risk per person clusters); both may be asked without FDR.
GI_LAYERS = ("gi", "gi_rate")
#: Cell of the screen heatmap: 2 km keeps the grid light for the browser (~2,200 cells).
DENSITY_CELL_KM = 2.0
HEX_RESOLUTION = 7
#: Enough for the forecast (issue 19), whose baselines read some 70 layers of nine windows.
_CACHE_SIZE = 192


def grid_url(name: str) -> str:
    """Where the browser fetches the density grid or the hexagons (served once, cached)."""
    return f"/geo/{name}.geojson"


class Analyses:
    """Memoised commander layers over one app context (thread-safe)."""

    #: The density grid's cell, in km (read by the forecast's KDE baseline).
    density_cell_km = DENSITY_CELL_KM

    def __init__(self, ctx: AppContext, *, permutations: int = 999,
                 gi_permutations: int = 9999, seed: int = 20250701):
        self.ctx = ctx
        self.permutations = permutations
        self.gi_permutations = gi_permutations
        self.seed = seed
        self._lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        self.outline = load_outline(ctx.settings)
        self.distances = {
            unit_set: pd.concat(
                [gate_distances(polys, ctx.gates, measure_from="polygon"),
                 border_distance(polys, ctx.border, measure_from="polygon").rename("border_km")],
                axis=1,
            )
            for unit_set, polys in ctx.communes.items()
        }
        empty = pd.DataFrame({"date": pd.to_datetime([]), "type": [], "new_code": [],
                              "old_code": [], "lat": [], "lon": []})
        grid = kernel_density(empty, self.outline, cell_km=DENSITY_CELL_KM).cells
        hexes = hexagon_counts(empty, self.outline, resolution=HEX_RESOLUTION)
        self.geojson = {"density": cells_geojson(grid), "hexagons": cells_geojson(hexes)}
        #: The forecasts: in memory, on disk, or built by a background process.
        self.forecasts = ForecastWorker(self)

    # -- memoising -----------------------------------------------------------------------

    def _memo(self, key: tuple, build):
        revision = self.ctx.records.current().revision
        full = (revision, *key)
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]
        value = build()
        with self._lock:
            self._cache[full] = value
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    # -- what roles below commander may see -------------------------------------------

    def release_plan(self, *, wait: float = 0.0):
        """The small-count suppression of the current records (:mod:`layers.suppression`),
        or ``None`` while it is being built.

        Building it solves the whole table once (seconds to a minute), so it runs in a
        background thread, started at the app's start and on the first call after each
        import; the built plan is kept on disk (:mod:`dashboard.plan_cache`) for the other
        workers and the next start. Callers show no count at all (fail closed) until it is
        ready.
        """
        return self._released(wait)["plan"]

    def indicator_release(self, *, wait: float = 0.0):
        """The plan indicators' small-count release (:mod:`layers.suppression.indicators`) of the
        current records, built with :meth:`release_plan`; ``None`` until then."""
        return self._released(wait)["indicators"]

    def release_failed(self) -> str | None:
        """Why the release of the current records could not be built (its error, one line),
        or None while it builds or once it is built. Roles below commander then see no
        count at all, and a message saying so instead of "being prepared"."""
        state = self._released(0.0)
        error = state["error"] if state["done"].is_set() else None
        return None if error is None else f"{type(error).__name__}: {error}"[:300]

    def _released(self, wait: float) -> dict:
        records = self.ctx.records.current()
        with self._lock:
            state = getattr(self, "_plan_state", None)
            if state is None or state["revision"] != records.revision:
                state = {"revision": records.revision, "plan": None, "indicators": None,
                         "done": threading.Event(), "error": None}
                self._plan_state = state
                threading.Thread(target=self._build_plan, args=(state, records), daemon=True,
                                 name="release-plan").start()
        state["done"].wait(wait)
        return state

    def _build_plan(self, state: dict, records) -> None:
        from dashboard.plan_cache import cached, plan_key
        from layers.suppression import indicator_release, release_plan

        threshold = self.ctx.settings.small_count
        incidents = records.incidents
        # no record yet (a new installation): every count is 0, over the extraction year
        years = {} if len(incidents) else {"first_year": self.ctx.extracted.year,
                                           "last_year": self.ctx.extracted.year}

        def build() -> dict:
            plan = release_plan(incidents, self.ctx.registry, threshold=threshold, **years)
            return {"plan": plan, "indicators": indicator_release(incidents, plan)}

        try:
            key = plan_key(incidents, self.ctx.registry.composition, threshold,
                           modules=("layers.suppression", "layers.targets"))
            built = cached(self.ctx.settings.cache_dir, key, build)
            state["plan"], state["indicators"] = built["plan"], built["indicators"]
        except Exception as err:  # noqa: BLE001 — kept for the log; callers stay closed
            state["error"] = err
            import logging

            logging.getLogger("borderwatch").exception("release plan failed")
        finally:
            state["done"].set()

    # -- the layers ----------------------------------------------------------------------

    def layer(self, name: str, *, unit_set: str, types: tuple[str, ...], start: dt.date,
              end: dt.date, bandwidth_km: float = 5.0, fdr: bool = True) -> Layer:
        """The layer ``name`` for these filters (see :data:`LAYERS`).

        ``fdr=False`` asks a Gi* layer (:data:`GI_LAYERS`) for its classes without the
        False Discovery Rate correction (titled as such); other layers ignore it.
        """
        if name not in LAYERS:
            raise ValueError(f"unknown layer {name!r}")
        if name in ("rates", "gi_rate") and unit_set != NEW:
            # population is known for the 2025 communes only
            name = {"rates": "counts", "gi_rate": "gi"}[name]
        fdr = bool(fdr) if name in GI_LAYERS else None
        key = (name, unit_set, types, start, end, bandwidth_km if name == "density" else None,
               fdr)
        return self._memo(key, lambda: self._build(name, unit_set, types, start, end,
                                                   bandwidth_km, fdr))

    def _records(self):
        return self.ctx.records.current()

    def _build(self, name, unit_set, types, start, end, bandwidth_km, fdr=None) -> Layer:
        ctx, rec = self.ctx, self._records()
        caveats = ctx.caveats
        units = ctx.unit_table(unit_set)
        polys = ctx.communes[unit_set]
        if name == "counts":
            return incident_counts(rec.incidents, units, unit_set=unit_set, types=types,
                                   start=start, end=end, caveats=caveats)
        if name == "rates":
            return commune_rates(rec.incidents, units, rec.population, unit_set=unit_set,
                                 types=types, start=start, end=end, caveats=caveats)
        if name == "gi":
            # Gi* on the counts, as ArcGIS's Hot Spot Analysis on incidents aggregated to
            # polygons; counts get exact p-values (layers/inference.py), and the 9,999
            # permutations serve only where exact enumeration is too costly.
            source = self.layer("counts", unit_set=unit_set, types=types, start=start, end=end)
            return hotspot_layer(source, polys, permutations=self.gi_permutations,
                                 seed=self.seed, alpha_fdr=fdr is not False)
        if name == "gi_rate":
            # Gi* on the smoothed rate per resident: where the risk clusters, not the size
            source = self.layer("rates", unit_set=unit_set, types=types, start=start, end=end)
            return rate_hotspot_layer(source, polys, permutations=self.gi_permutations,
                                      seed=self.seed, alpha_fdr=fdr is not False)
        if name == "emerging":
            return emerging_layer(rec.incidents, polys, unit_set=unit_set, freq="Q", types=types,
                                  end=end, permutations=self.permutations, seed=self.seed,
                                  caveats=caveats)
        if name == "change":
            return compare_periods(rec.incidents, units, unit_set=unit_set, start=start, end=end,
                                   types=types, caveats=caveats)
        if name == "forecast":
            return self.forecast(unit_set=unit_set, types=types, end=end)
        if name == "key_areas":
            return key_area_layer(self.evidence(unit_set=unit_set, types=types, start=start,
                                                end=end), unit_set=unit_set, caveats=caveats)
        selected = _selected(rec.incidents, types, start, end)
        if name == "density":
            surface = kernel_density(selected, self.outline, bandwidth_km=bandwidth_km,
                                     cell_km=DENSITY_CELL_KM, communes=polys,
                                     unit_set=unit_set)
            layer = surface.layer(caveats=caveats)
            return _with_name(layer, "")
        hexes = hexagon_counts(selected, self.outline, resolution=HEX_RESOLUTION,
                               communes=polys, unit_set=unit_set)
        frame = pd.DataFrame({"name": "", "count": hexes["count"]}, index=hexes.index.astype(str))
        return Layer(frame=frame, value="count", unit_set="hexagons",
                     title_key="layer.hexagons.title", legend_key="layer.hexagons.legend",
                     units_key="unit.records",
                     params={"n_points": hexes.attrs.get("n_points"),
                             "n_unlocated": hexes.attrs.get("n_unlocated"),
                             "resolution": HEX_RESOLUTION},
                     colorscale=_sequential(), caveats=caveats)

    def summary(self, *, unit_set: str, types, start, end) -> dict:
        """Shares of incidents by distance to the border and by gate catchment, and the
        campaign window of the period's last year against the rest of that year."""
        def build():
            rec = self._records()
            selected = _selected(rec.incidents, types, start, end)
            shares = band_shares(selected, self.ctx.communes[unit_set], self.ctx.gates,
                                 self.ctx.border, to="border")
            campaign = campaign_comparison(rec.incidents, end.year, types=types, today=end) \
                if end >= dt.date(end.year, 7, 1) else None
            return {"bands": shares.bands, "catchments": shares.catchments,
                    "n_by_point": shares.n_by_point, "n_by_commune": shares.n_by_commune,
                    "campaign": campaign}
        return self._memo(("summary", unit_set, types, start, end), build)

    def near_repeat(self, *, types, start, end, bands):
        """The Knox test of near repeats of the located crossings and tips of ``types`` in
        the period (:func:`layers.near_repeat.knox_test`, this app's permutations and seed)
        and the records whose window is open on ``end`` (:func:`layers.near_repeat.originators`).

        Commander only (points). Raises :class:`layers.near_repeat.NearRepeatError` when the
        records cannot be tested (not kept: the next call says it again).
        """
        from layers.near_repeat import knox_test, originators

        def build():
            selected = _selected(self._records().incidents, types, start, end)
            result = knox_test(selected, bands, permutations=self.permutations, seed=self.seed)
            return result, originators(selected, result, on=end)
        key = ("near_repeat", tuple(types), start, end, bands.distance_km, bands.days)
        return self._memo(key, build)

    def trend(self, *, freq: str = "Q", types=INCIDENT_TYPES) -> pd.DataFrame:
        """The province's incidents per quarter (``"Q"``) or month (``"M"``) and type over the
        records' span (:func:`layers.trend.province_trend`); a copy, callers may change it."""
        types = tuple(types)
        return self._memo(("trend", freq, types), lambda: province_trend(
            self._records().incidents, freq=freq, types=types)).copy()

    def lisa(self, *, unit_set: str, types, start, end) -> pd.DataFrame:
        """Local Moran's I of the counts (second opinion on Gi*): ``lisa_class`` per commune."""
        def build():
            counts = self.layer("counts", unit_set=unit_set, types=types, start=start, end=end)
            values = counts.frame["count"]
            if values.nunique() <= 1:
                return pd.DataFrame({"lisa_class": "not_significant"}, index=values.index)
            return local_moran(values, self.ctx.communes[unit_set],
                               permutations=self.gi_permutations, seed=self.seed).frame
        return self._memo(("lisa", unit_set, types, start, end), build)

    # -- the planner's layers -------------------------------------------------------------

    def planner_layer(self, name: str, *, unit_set: str, start: dt.date, end: dt.date,
                      agencies: tuple[str, ...] = (), model_types: tuple[str, ...] = ()) -> Layer:
        """``coverage`` (models active on ``end``), ``reach`` (outreach in the period) or
        ``gaps`` (risk × coverage)."""
        if name not in PLANNER_LAYERS:
            raise ValueError(f"unknown planner layer {name!r}")
        key = ("planner", name, unit_set, start, end, agencies, model_types)
        return self._memo(key, lambda: self._planner(name, unit_set, start, end, agencies,
                                                      model_types))

    def _planner(self, name, unit_set, start, end, agencies, model_types) -> Layer:
        rec, units, caveats = self._records(), self.ctx.unit_table(unit_set), self.ctx.caveats
        if name == "coverage":
            return model_coverage(rec.models, units, unit_set=unit_set, on=end,
                                  model_types=model_types or None, caveats=caveats)
        if name == "reach":
            return outreach_reach(rec.outreach, units, rec.population, unit_set=unit_set,
                                  start=start, end=end, agencies=agencies or None,
                                  caveats=caveats)
        return gap_layer(self.gap_evidence(unit_set=unit_set, start=start, end=end,
                                           agencies=agencies), unit_set=unit_set,
                         caveats=caveats)

    def gap_evidence(self, *, unit_set: str, start, end, agencies=()) -> pd.DataFrame:
        """Risk (key-area score and reasons, all incident types) and coverage of every commune."""
        def build():
            scores = key_area_scores(self.evidence(unit_set=unit_set, types=INCIDENT_TYPES,
                                                   start=start, end=end))
            coverage = self.planner_layer("coverage", unit_set=unit_set, start=start, end=end)
            reach = self.planner_layer("reach", unit_set=unit_set, start=start, end=end,
                                       agencies=agencies)
            units = self.ctx.unit_table(unit_set)
            ev = units[["name"]].copy()
            ev["score"] = scores["score"].reindex(ev.index).fillna(0).astype(int)
            ev["risk_reasons"] = scores["reasons"].reindex(ev.index)
            ev["models"] = coverage.frame["total"]
            ev["intensive"] = coverage.frame["intensive"]
            ev["reach"] = reach.frame["reach"]
            ev["days_since"] = reach.frame["days_since_last"]
            ev["last_agency"] = reach.frame["last_agency"]
            return ev
        return self._memo(("gap_evidence", unit_set, start, end, agencies), build)

    def plans(self) -> list:
        """The bundled plans, then the data folder's ``plans/*.yaml`` (same id: the user's wins),
        each with its official key areas (:func:`layers.targets.attach_key_areas`).

        Raises :class:`layers.targets.PlanError` naming the file, line and field
        when a user's plan file is invalid.
        """
        plans = {plan.id: plan for plan in load_plans(PLANS_DIR)}
        user = self.ctx.settings.data_dir / "plans"
        if user.is_dir() and any(user.glob("*.yaml")):
            plans.update({plan.id: plan for plan in load_plans(user)})
        # the official key areas: the plan's own, or the province's key_areas_<id>.csv
        return attach_key_areas(list(plans.values()), self.ctx.registry, user)

    def key_area_codes(self, *, start, end) -> tuple[str, ...]:
        """2025 communes of high risk (key-area score ≥ 5, see :mod:`layers.gaps`): a
        suggestion, used by the targets only for a plan without an official list."""
        scores = key_area_scores(self.evidence(unit_set=NEW, types=INCIDENT_TYPES, start=start,
                                               end=end))
        return tuple(sorted(scores.index[scores["score"] >= 5]))

    def kpis(self, *, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Every plan's indicators for the period, and over the four quarters up to its end."""
        def build():
            rec = self._records()
            data = TrackingData(incidents=rec.incidents, outreach=rec.outreach,
                                models=rec.models, population=rec.population,
                                communes=self.ctx.communes[NEW].index)
            keys = self.key_area_codes(start=start, end=end)
            quarter = pd.Period(end, "Q")
            quarters = [(q.start_time.date(), q.end_time.date())
                        for q in pd.period_range(quarter - 3, quarter, freq="Q")]
            now, trend = [], []
            for plan in self.plans():
                now.append(track(plan, data, [(start, end)], key_areas=keys))
                trend.append(track(plan, data, quarters, key_areas=keys))
            return pd.concat(now, ignore_index=True), pd.concat(trend, ignore_index=True)
        return self._memo(("kpis", start, end), build)

    def evidence(self, *, unit_set: str, types, start, end) -> pd.DataFrame:
        """Every commune's evidence for the key-area score (see :mod:`layers.key_areas`)."""
        def build():
            units = self.ctx.unit_table(unit_set)
            ev = units[["name"]].copy()
            counts = self.layer("counts", unit_set=unit_set, types=types, start=start, end=end)
            ev["count"] = counts.frame["count"]
            if unit_set == NEW:
                ev["rate_eb"] = self.layer("rates", unit_set=unit_set, types=types, start=start,
                                           end=end).frame["rate_eb"]
                # the Gi* points of the score: where the risk per resident is high
                ev["gi_rate_class"] = self.layer("gi_rate", unit_set=unit_set, types=types,
                                                 start=start, end=end).frame["gi_class"]
            ev["gi_class"] = self.layer("gi", unit_set=unit_set, types=types, start=start,
                                        end=end).frame["gi_class"]
            ev["category"] = self.layer("emerging", unit_set=unit_set, types=types,
                                        start=start, end=end).frame["category"]
            # trend, count_now, count_before and rise (a corrected rise on a year before,
            # the only one that earns the point; none when there is no comparison period)
            change = change_evidence(self.layer("change", unit_set=unit_set, types=types,
                                                start=start, end=end))
            ev[list(change.columns)] = change
            dist = self.distances[unit_set]
            ev["border_km"] = dist["border_km"]
            ev["gate_km"] = dist["gate_km"]
            ev["gate_name"] = dist["gate_name"]
            return ev
        return self._memo(("evidence", unit_set, types, start, end), build)


    # -- the forecast (issue 19): dashboard/forecast_build.py, dashboard/forecast_worker.py ---

    def forecast(self, *, unit_set: str, types, end: dt.date, freq: str = "Q") -> Layer:
        """The next period's forecast after the last complete quarter (``freq="M"``: month) up
        to ``end`` (and up to the latest record), with its track record over the 8 periods
        before; on the communes of ``unit_set``, or on the 2 km grid's cells when
        ``unit_set`` is :data:`layers.density.GRID`.

        From memory or the disk cache, else built in the caller's thread and kept there
        (scripts, tests); the page and the report ask :meth:`forecast_ready`, built in a
        background process.
        """
        return self.forecasts.result(self._forecast_state(unit_set, types, end, freq))["layer"]

    def forecast_ready(self, *, unit_set: str, types, end: dt.date,
                       wait: float = 0.0, freq: str = "Q") -> Layer | None:
        """:meth:`forecast` if it is built (by any worker, or before the last restart); else
        None, its build queued for the background process, after waiting up to ``wait``
        seconds for it. The page shows that it is being prepared and asks again."""
        found = self.forecasts.ready(self._forecast_state(unit_set, types, end, freq),
                                     wait=wait)
        return None if found is None else found["layer"]

    def forecast_waiting(self, unit_set: str, freq: str = "Q") -> Layer:
        """The layer shown while the forecast is being prepared (no value, a message)."""
        from dashboard.forecast_build import waiting_layer

        return waiting_layer(self, unit_set, freq)

    def forecast_track(self, *, unit_set: str, types, end: dt.date, freq: str = "Q"):
        """The :class:`layers.forecast.Backtest` behind :meth:`forecast` (None without one)."""
        state = self._forecast_state(unit_set, types, end, freq)
        return self.forecasts.result(state)["parts"]["track"]

    def _forecast_state(self, unit_set: str, types, end: dt.date, freq: str = "Q"):
        from dashboard.forecast_build import state_of

        return state_of(self, unit_set=unit_set, types=types, end=end, freq=freq)

    def _forecast_origin(self, end: dt.date):
        from dashboard.forecast_build import forecast_origin

        return forecast_origin(self, end)

    def _forecast_parts(self, unit_set: str, types: tuple, last) -> dict:
        from dashboard.forecast_build import ForecastState

        return self.forecasts.result(ForecastState(unit_set, tuple(types), last))["parts"]


def _selected(incidents: pd.DataFrame, types, start, end) -> pd.DataFrame:
    return incidents.loc[incidents["type"].isin(types) & within(incidents["date"], start, end)]


def _with_name(layer: Layer, name: str) -> Layer:
    frame = layer.frame.drop(columns="geometry", errors="ignore").copy()
    frame.index = frame.index.astype(str)
    if "name" not in frame:
        frame["name"] = name
    from dataclasses import replace

    return replace(layer, frame=frame)


def _sequential():
    from layers.counts import SEQUENTIAL_SCALE

    return SEQUENTIAL_SCALE
