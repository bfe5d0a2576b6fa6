"""The pages' layers for one filter state, computed once per store revision.

A page asks for a layer by its kind ("rates", "gi", "emerging", … for the commander;
"coverage", "reach", "gaps" for the planner; see :mod:`layers.catalogue`) with the
filters. :class:`Analyses` is a small cache over the catalogue: it builds a layer
through its catalogue entry, from the current records and the start-up geometry
(:mod:`dashboard.geometry`), and keeps the last results keyed by the store revision
and the filters the layer depends on, so that a click back to a layer, or the side
panel after the map, costs nothing. The costly results (Gi*, the emerging hot spots, the
key-area score and its evidence, …: :data:`dashboard.statistics_worker.ON_DISK`) are
also kept on disk, in the cache folder every worker shares, and the common filter states
are computed there ahead, in a background process (:mod:`dashboard.statistics_worker`).
The evidence of the key-area score, the planner's
gap evidence and the plan indicators are pure functions of ``layers/``
(:func:`layers.key_areas.commune_evidence`, :func:`layers.gaps.gap_evidence`,
:func:`layers.targets.plan_indicators`) memoised here. The release plan of roles below
commander builds in the background (:mod:`dashboard.release_worker`); what a role may
see is :func:`dashboard.released.analyses_for`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from dataclasses import replace

import pandas as pd

from dashboard.context import AppContext
from dashboard.forecast_worker import ForecastWorker
from dashboard.geometry import prepare
from dashboard.release_worker import ReleaseWorker
from dashboard.statistics_worker import MEMOS_ON_DISK, ON_DISK, StatisticsWorker
from geo.plans import installed_plans
from geo.units import NEW
from layers.catalogue import (CATALOGUE, DENSITY_CELL_KM, Query, Sources, entry, kinds,
                              selected)
from layers.compare import campaign_comparison
from layers.counts import INCIDENT_TYPES
from layers.gaps import gap_evidence
from layers.hotspots import local_moran
from layers.inference import prepare_gi_star
from layers.key_areas import commune_evidence, key_area_scores, suggested_key_areas
from layers.layer import Layer
from layers.proximity import band_shares
from layers.suppression import SnappedPeriod
from layers.targets import TrackingData, plan_indicators
from layers.trend import province_trend

__all__ = ["COMMUNE_LAYERS", "GI_LAYERS", "GRID_LAYERS", "LAYERS", "PLANNER_LAYERS", "Analyses"]

#: The commander's kinds, those drawn on communes, on grid cells, and the planner's.
LAYERS = kinds(page="commander")
COMMUNE_LAYERS = kinds(page="commander", grid=False)
GRID_LAYERS = kinds(page="commander", grid=True)
PLANNER_LAYERS = kinds(page="planner")
#: The Gi* layers: of the counts (where incidents cluster) and of the smoothed rate per
#: resident (where the risk per person clusters); both may be asked without FDR.
GI_LAYERS = kinds(filter="fdr")
#: Enough for the forecast (issue 19), whose baselines read some 70 layers of nine windows,
#: beside the released answers and the figures of the states users come back to.
_CACHE_SIZE = 512
#: Seconds a costly statistic waits at most for :meth:`Analyses.prepare_statistics`.
_PREPARE_WAIT = 120.0


class Analyses:
    """Memoised layers over one app context (thread-safe): the commander's view.

    Its questions (:meth:`layer`, :meth:`planner_layer`, :meth:`gap_evidence`,
    :meth:`kpis`, :meth:`trend`, :meth:`plans`, :meth:`snap`, :meth:`shown_types`,
    :meth:`province_total`) are those of :class:`dashboard.released.Released`, which
    answers them for the roles below commander.
    """

    #: The density grid's cell, in km (read by the forecast's KDE baseline).
    density_cell_km = DENSITY_CELL_KM

    #: The commander's view: nothing hidden (:attr:`dashboard.released.View.released`).
    released = False

    def __init__(self, ctx: AppContext, *, permutations: int = 999,
                 gi_permutations: int = 9999, seed: int = 20250701):
        self.ctx = ctx
        self.permutations = permutations
        self.gi_permutations = gi_permutations
        self.seed = seed
        self._lock = threading.Lock()
        self._cache: OrderedDict = OrderedDict()
        #: Set unless :meth:`prepare_statistics` is running.
        self._prepared = threading.Event()
        self._prepared.set()
        self.geometry = prepare(ctx)
        self.releases = ReleaseWorker(ctx)
        #: The forecasts: in memory, on disk, or built by a background process.
        self.forecasts = ForecastWorker(self)
        #: The costly statistics on disk for every worker, and their grid computed ahead.
        self.statistics = StatisticsWorker(self)

    @property
    def outline(self):
        """The province outline (:attr:`dashboard.geometry.Geometry.outline`)."""
        return self.geometry.outline

    @property
    def distances(self) -> dict:
        """Per unit set, each commune's distances to the border and its nearest gate."""
        return self.geometry.distances

    @property
    def geojson(self) -> dict:
        """The density grid and the hexagons as GeoJSON text (served once)."""
        return self.geometry.geojson

    def prepare_statistics(self) -> threading.Thread:
        """Start building, on a background thread, what every costly statistic reads
        whatever the filters: the records' key in the disk cache
        (:meth:`~dashboard.statistics_worker.StatisticsWorker.base`; the precompute
        computes it when it is on) and what every Gi* of the communes reads
        (:func:`layers.inference.prepare_gi_star`: esda's import, the contiguity, the
        draws of this app's permutations) on the 2025 communes (the default; the former
        ones, 10,035 in the country, would hold some 80 MB more in every server for a
        choice few make).

        Issue 18: the first ranked table a commander asked paid them (about 2 CPU-s for
        the country) beside its own statistics. Started by the app once it is built
        (:func:`dashboard.app.create_app`); a costly statistic asked meanwhile waits
        until the imports are done (:meth:`_memo`); a failure is logged, and the
        statistics then build what they need as before.
        """
        def prepare():
            try:
                if not self.ctx.settings.precompute_statistics:
                    # the records' key (the disk cache's folder), which the precompute,
                    # when it is on, computes at the same moment: not twice at once
                    self.statistics.base()
                prepare_gi_star(self.ctx.communes[NEW], seed=self.seed,
                                permutations=(self.gi_permutations, self.permutations))
            except Exception:  # noqa: BLE001 — the statistics build them when asked
                logging.getLogger("borderwatch").exception("statistics not prepared ahead")
            finally:
                self._prepared.set()
        self._prepared.clear()
        thread = threading.Thread(target=prepare, daemon=True, name="statistics-prepare")
        thread.start()
        return thread

    # -- memoising -----------------------------------------------------------------------

    def memo(self, key: tuple, build):
        """The value of ``key`` for the current records, built once by ``build()`` and kept
        in this worker's memory (for the costly statistics also on disk: :meth:`_memo`).
        What a page shows that is pure per (records, filters), e.g. a figure, is kept here
        so that a user coming back to a state, or another user asking it, costs nothing."""
        return self._memo(key, build)

    def _memo(self, key: tuple, build):
        """The value of ``key`` for the current records: from memory, else (for the costly
        results: a layer kind of :data:`~dashboard.statistics_worker.ON_DISK`, a question of
        :data:`~dashboard.statistics_worker.MEMOS_ON_DISK`) from the shared disk cache, else
        built by ``build()`` (and kept in both)."""
        revision = self.ctx.records.current().revision
        full = (revision, *key)
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]
        if key[0] in MEMOS_ON_DISK or (key[0] == "layer" and key[1] in ON_DISK):
            # not while esda, libpysal and scipy are being imported by prepare_statistics:
            # two threads importing libpysal at once fail on its circular imports
            self._prepared.wait(_PREPARE_WAIT)
            value = self.statistics.kept(key, build, revision)
        else:
            value = build()
        with self._lock:
            self._cache[full] = value
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return value

    def _records(self):
        return self.ctx.records.current()

    # -- what roles below commander may see (dashboard.release_worker) --------------------

    def release_plan(self, *, wait: float = 0.0):
        """The small-count suppression of the current records (:mod:`layers.suppression`),
        or ``None`` while it is being built in the background
        (:class:`dashboard.release_worker.ReleaseWorker`). Callers show no count at all
        (fail closed) until it is ready."""
        return self.releases.plan(wait)

    def indicator_release(self, *, wait: float = 0.0):
        """The plan indicators' small-count release (:mod:`layers.suppression.indicators`) of the
        current records, built with :meth:`release_plan`; ``None`` until then."""
        return self.releases.indicators(wait)

    def release_failed(self) -> str | None:
        """Why the release of the current records could not be built (its error, one line),
        or None while it builds or once it is built. Roles below commander then see no
        count at all, and a message saying so instead of "being prepared"."""
        return self.releases.failed()

    # -- the layers (layers.catalogue) ------------------------------------------------------

    def layer(self, name: str, *, unit_set: str, types: tuple[str, ...], start: dt.date,
              end: dt.date, bandwidth_km: float = 5.0, fdr: bool = True) -> Layer:
        """The commander's layer of kind ``name`` for these filters (see :data:`LAYERS`).

        ``fdr=False`` asks a Gi* layer (:data:`GI_LAYERS`) for its classes without the
        False Discovery Rate correction (titled as such); other layers ignore it.
        """
        found = CATALOGUE.get(name)
        if found is None or found.page != "commander":
            raise ValueError(f"unknown layer {name!r}")
        return self._layer(name, Query(unit_set=unit_set, types=tuple(types), start=start,
                                       end=end, bandwidth_km=bandwidth_km, fdr=bool(fdr)))

    def planner_layer(self, name: str, *, unit_set: str, start: dt.date, end: dt.date,
                      agencies: tuple[str, ...] = (), model_types: tuple[str, ...] = ()) -> Layer:
        """``coverage`` (models active on ``end``), ``reach`` (outreach in the period) or
        ``gaps`` (risk × coverage)."""
        found = CATALOGUE.get(name)
        if found is None or found.page != "planner":
            raise ValueError(f"unknown planner layer {name!r}")
        return self._layer(name, Query(unit_set=unit_set, start=start, end=end,
                                       agencies=tuple(agencies or ()),
                                       model_types=tuple(model_types or ())))

    def _layer(self, kind: str, query: Query) -> Layer:
        """The layer of ``kind`` built by its catalogue entry, memoised on the filters it
        depends on (a Gi* layer is FDR-corrected unless asked otherwise)."""
        found = entry(kind)
        if found.without_population and query.unit_set != NEW:
            # population is known for the 2025 communes only
            found = entry(found.without_population)
        query = query.only(found.filters)
        if "fdr" in found.filters:
            query = replace(query, fdr=query.fdr is not False)
        return self._memo(("layer", found.kind, query),
                          lambda: found.build(self._sources(), query))

    def _sources(self) -> Sources:
        ctx = self.ctx
        return Sources(
            records=self._records(), units=ctx.unit_table, polygons=ctx.communes,
            outline=self.outline, distances=self.geometry.lazy_distances(), caveats=ctx.caveats,
            permutations=self.permutations, gi_permutations=self.gi_permutations,
            seed=self.seed, layer=self._layer,
            evidence=lambda q: self.evidence(unit_set=q.unit_set, types=q.types,
                                             start=q.start, end=q.end),
            gap_evidence=lambda q: self.gap_evidence(unit_set=q.unit_set, start=q.start,
                                                     end=q.end, agencies=q.agencies or ()),
            forecast=lambda q: self.forecast(unit_set=q.unit_set, types=q.types, end=q.end),
            cube=ctx.cube)

    # -- the view's questions for the overview (dashboard.released.View) --------------------

    def snap(self, start: dt.date, end: dt.date) -> SnappedPeriod:
        """The period as asked: the commander's figures are not rounded to a grid."""
        return SnappedPeriod(start=start, end=end, grain="asked",
                             label=f"{start.isoformat()}/{end.isoformat()}",
                             requested=(start, end), exact=True)

    def shown_types(self, chosen) -> list[str]:
        """The incident types shown for the selection ``chosen``: those chosen."""
        chosen = [chosen] if isinstance(chosen, str) else list(chosen or ())
        return [t for t in INCIDENT_TYPES if t in chosen]

    def province_total(self, layer: Layer):
        """The province's total of a counts layer: the sum of its communes' counts."""
        return layer.frame[layer.value].sum()

    # -- other memoised questions -----------------------------------------------------------

    def summary(self, *, unit_set: str, types, start, end) -> dict:
        """Shares of incidents by distance to the border and by gate catchment, and the
        campaign window of the period's last year against the rest of that year."""
        def build():
            rec = self._records()
            shares = band_shares(_selected(rec.incidents, types, start, end),
                                 self.ctx.communes[unit_set], self.ctx.gates,
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

    # -- evidence and indicators (pure functions of layers/, memoised) --------------------

    def evidence(self, *, unit_set: str, types, start, end) -> pd.DataFrame:
        """Every commune's evidence for the key-area score
        (:func:`layers.key_areas.commune_evidence`)."""
        query = Query(unit_set=unit_set, types=tuple(types), start=start, end=end)

        def build():
            def get(kind):
                return self._layer(kind, query)
            rated = unit_set == NEW  # the rate and its Gi*: the 2025 communes only
            return commune_evidence(self.ctx.unit_table(unit_set), counts=get("counts"),
                                    gi=get("gi"), emerging=get("emerging"),
                                    change=get("change"), distances=self.distances[unit_set],
                                    rates=get("rates") if rated else None,
                                    gi_rate=get("gi_rate") if rated else None)
        return self._memo(("evidence", unit_set, tuple(types), start, end), build)

    def area_scores(self, *, unit_set: str, start, end) -> pd.DataFrame:
        """Every commune's key-area score and reasons over every incident type
        (:func:`layers.key_areas.key_area_scores`), once per period: the gap evidence of
        each choice of agencies and the targets' key areas ask the same (issue 18)."""
        return self._memo(("area_scores", unit_set, start, end), lambda: key_area_scores(
            self.evidence(unit_set=unit_set, types=INCIDENT_TYPES, start=start, end=end)))

    def gap_evidence(self, *, unit_set: str, start, end, agencies=()) -> pd.DataFrame:
        """Risk (key-area score and reasons, all incident types) and coverage of every
        commune (:func:`layers.gaps.gap_evidence`)."""
        agencies = tuple(agencies or ())

        def build():
            scores = self.area_scores(unit_set=unit_set, start=start, end=end)
            return gap_evidence(
                self.ctx.unit_table(unit_set), scores=scores,
                coverage=self.planner_layer("coverage", unit_set=unit_set, start=start,
                                            end=end),
                reach=self.planner_layer("reach", unit_set=unit_set, start=start, end=end,
                                         agencies=agencies))
        return self._memo(("gap_evidence", unit_set, start, end, agencies), build)

    def plans(self) -> list:
        """The bundled plans and the data folder's (:func:`geo.plans.installed_plans`).

        Raises :class:`layers.targets.PlanError` naming the file, line and field
        when a user's plan file is invalid.
        """
        return installed_plans(self.ctx.registry, self.ctx.settings.data_dir)

    def key_area_codes(self, *, start, end) -> tuple[str, ...]:
        """2025 communes of high risk (:func:`layers.key_areas.suggested_key_areas`): a
        suggestion, used by the targets only for a plan without an official list."""
        return suggested_key_areas(self.area_scores(unit_set=NEW, start=start, end=end))

    def kpis(self, *, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Every plan's indicators for the period, and over the four quarters up to its end
        (:func:`layers.targets.plan_indicators`)."""
        def build():
            rec = self._records()
            data = TrackingData(incidents=rec.incidents, outreach=rec.outreach,
                                models=rec.models, population=rec.population,
                                communes=self.ctx.communes[NEW].index)
            keys = self.key_area_codes(start=start, end=end)
            return plan_indicators(self.plans(), data, start, end, key_areas=keys)
        return self._memo(("kpis", start, end), build)

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
    return selected(incidents, Query(types=tuple(types), start=start, end=end))
