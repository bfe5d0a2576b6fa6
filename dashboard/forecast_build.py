"""The commander's forecast layer (issue 19) of one filter state, from the app's analyses.

:mod:`layers.forecast` holds the model, the baselines' metrics and the backtest as
pure functions of per-period counts; this module gathers their inputs from an
:class:`dashboard.analysis.Analyses` — the counts per quarter, the communes'
static features, and the baselines' scores, which are the app's own Gi* layers
and key-area scores of the year before each quarter checked. One build reads
some 70 layers of nine windows: about half a minute on the demo, so it runs in a
background process and is kept on disk (:mod:`dashboard.forecast_worker`); a page
never waits for one.

A build is named by a :class:`ForecastState`; :func:`default_states` are those the
commander's page opens on, precomputed after each import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from geo.units import NEW, OLD
from layers.counts import INCIDENT_TYPES
from layers.density import GRID
from layers.key_areas import key_area_scores
from layers.layer import Layer

__all__ = ["ForecastState", "baseline_scores", "build", "default_states", "failed_layer",
           "forecast_origin", "forecast_parts", "grid_cells", "grid_parts", "state_of",
           "waiting_layer"]


@dataclass(frozen=True)
class ForecastState:
    """What one forecast is of: the unit set, the incident types (in the page's order), the
    last complete period before it (the origin) and the period's length.

    ``freq`` and ``unit_set`` name what :mod:`layers.forecast` forecasts; a monthly
    forecast or one on another grid is another state, kept under its own key.
    """

    unit_set: str
    types: tuple[str, ...]
    origin: pd.Period
    freq: str = "Q"

    @property
    def name(self) -> str:
        """A stable text of the state (part of its cache key)."""
        return f"{self.unit_set}|{','.join(self.types)}|{self.origin}|{self.freq}"


def state_of(an, *, unit_set: str, types, end: dt.date, freq: str = "Q") -> ForecastState:
    """The state of a page's filters: its types in :data:`layers.counts.INCIDENT_TYPES`'
    order (other names kept after them, sorted), its origin from ``end``."""
    types = set(types)
    ordered = tuple(t for t in INCIDENT_TYPES if t in types) + tuple(
        sorted(types - set(INCIDENT_TYPES)))
    return ForecastState(unit_set, ordered, forecast_origin(an, end, freq), freq)


def default_states(an) -> list[ForecastState]:
    """The states the commander's page offers first, for the latest records: both unit sets
    (the settings' first) × every type together, then each type alone; origin the last
    complete quarter of the records (the page's default period ends with them)."""
    incidents = an.ctx.records.current().incidents
    if not len(incidents):
        return []
    end = incidents["date"].max().date()
    first = an.ctx.settings.unit_set
    unit_sets = (first, OLD if first == NEW else NEW)
    choices = [INCIDENT_TYPES] + [(t,) for t in INCIDENT_TYPES]
    return [state_of(an, unit_set=u, types=types, end=end)
            for types in choices for u in unit_sets]


def build(an, state: ForecastState) -> dict:
    """The forecast of ``state``: ``{"layer": Layer, "parts": dict}`` (the parts:
    :func:`forecast_parts`, or :func:`grid_parts` on the 2 km grid), what the disk cache
    keeps."""
    from layers.forecast import forecast_layer

    if state.unit_set == GRID:
        parts = grid_parts(an, state.types, state.origin, state.freq)
    else:
        parts = forecast_parts(an, state.unit_set, state.types, state.origin, state.freq)
    frame, area = _units(an, state.unit_set)
    layer = forecast_layer(frame, unit_set=state.unit_set, fit=parts["fit"],
                           track=parts["track"], area=parts.get("area", area),
                           best_scores=parts.get("best_scores"), problem=parts["problem"],
                           params={"types": state.types,
                                   **{k: parts[k] for k in ("n_periods", "n_incidents",
                                                            "cell_rate", "min_rate")
                                      if k in parts}},
                           freq=state.freq, caveats=an.ctx.caveats)
    return {"layer": layer, "parts": parts}


def _units(an, unit_set: str):
    """The units a forecast is made on (indexed by code or cell id, with ``name``) and their
    areas in km²: the communes of ``unit_set``, or the 2 km grid's cells."""
    from layers.forecast import grid_areas, unit_areas

    if unit_set == GRID:
        cells = grid_cells(an)
        return cells[["name"]], grid_areas(cells, an.density_cell_km)
    return an.ctx.unit_table(unit_set), unit_areas(an.ctx.communes[unit_set])


def failed_layer(an, unit_set: str, problem: str = "forecast.failed",
                 freq: str = "Q") -> Layer:
    """A forecast layer with no value and the message ``problem`` (failed, being prepared)."""
    from layers.forecast import forecast_layer

    frame, area = _units(an, unit_set)
    return forecast_layer(frame, unit_set=unit_set, fit=None, track=None, area=area,
                          problem=problem, freq=freq, caveats=an.ctx.caveats)


def waiting_layer(an, unit_set: str, freq: str = "Q") -> Layer:
    """The layer shown while the forecast is being prepared (no value, a message)."""
    return failed_layer(an, unit_set, "forecast.preparing", freq)


def forecast_origin(an, end: dt.date, freq: str = "Q") -> pd.Period:
    """The last complete period up to ``end`` and up to the latest record: a quarter
    past the records is not an empty quarter but one not imported yet."""
    from layers.forecast import last_complete_period

    dates = an.ctx.records.current().incidents["date"]
    latest = dates.max().date() if len(dates) else end
    return last_complete_period(min(end, latest), freq)


def forecast_parts(an, unit_set: str, types: tuple, last, freq: str = "Q") -> dict:
    """Everything the forecast of ``last + 1`` is made of: the fit, the backtest, the
    communes' areas and the best baseline's scores (or the problem that stopped it, and
    the history's size)."""
    from layers import forecast as fc
    from layers.emerging import period_counts
    from layers.inference import queen_contiguity

    rec, polys = an.ctx.records.current(), an.ctx.communes[unit_set]
    units = an.ctx.unit_table(unit_set)
    counts = period_counts(rec.incidents, units, unit_set=unit_set, types=types, freq=freq,
                           end=last.end_time.date()) if len(rec.incidents) else None
    if counts is None or counts.empty or counts.columns[-1] != last:
        return {"problem": "forecast.too_few_periods", "fit": None, "track": None,
                "n_periods": 0 if counts is None else counts.shape[1],
                "n_incidents": 0 if counts is None else int(counts.to_numpy().sum())}
    sizes = {"n_periods": counts.shape[1], "n_incidents": int(counts.to_numpy().sum())}
    population = None
    if unit_set == NEW and len(rec.population):
        population = rec.population.sort_values("year").groupby("new_code")[
            "population"].last()
    static = fc.static_features(polys, an.ctx.gates, an.ctx.border, population)
    graph, area = queen_contiguity(polys), fc.unit_areas(polys)
    problem = fc.history_problem(counts, freq=freq)
    if problem:
        return {"problem": problem, "fit": None, "track": None, **sizes}
    # the periods checked: the last 8 with enough history before them
    checked = [p for i, p in enumerate(counts.columns)
               if i >= counts.shape[1] - fc.ORIGINS
               and fc.history_problem(counts.iloc[:, :i], freq=freq) is None]
    if not checked:
        return {"problem": "forecast.too_few_periods", "fit": None, "track": None,
                **sizes}
    periods = checked + [last + 1]
    scores = {p: baseline_scores(an, unit_set, types, p, area, freq) for p in periods}
    baselines = {name: pd.DataFrame({p: scores[p][name] for p in periods[:-1]})
                 for name in ("kde", "gi", "key_areas")}
    try:
        track = fc.backtest(counts, static, graph, area, baselines=baselines, freq=freq)
    except ValueError as err:
        return {"problem": str(err), "fit": None, "track": None, **sizes}
    fit = fc.fit_forecast(counts, static, graph, freq=freq)
    best = track.best()
    nxt = scores[last + 1]
    # what the map shows when a baseline wins: last quarter's counts, last year's
    # density as incidents, the Gi* class (-3 … 3), the key-area score
    shown = {"last_period": counts.iloc[:, -1].astype(float), "kde": nxt["kde"] * area,
             "gi": nxt["gi_bin"], "key_areas": nxt["key_areas"]}
    return {"problem": None, "fit": fit, "track": track, "area": area,
            "best_scores": shown.get(best), **sizes}


def baseline_scores(an, unit_set: str, types: tuple, period, area, freq: str = "Q") -> dict:
    """The baselines' scores for ``period`` from the year before it (4 quarters, 12 months):
    last year's kernel density per km², the Gi* classes (then z) and the key-area score."""
    from layers.forecast import SEASON, kde_expected
    from layers.periods import within

    start = (period - SEASON[freq]).start_time.date()
    end = (period - 1).end_time.date()
    polys = an.ctx.communes[unit_set]
    incidents = an.ctx.records.current().incidents
    selected = incidents.loc[incidents["type"].isin(types)
                             & within(incidents["date"], start, end)]
    kde = kde_expected(selected, an.outline, polys, unit_set=unit_set,
                       cell_km=an.density_cell_km) / area
    gi = an.layer("gi", unit_set=unit_set, types=types, start=start, end=end).frame
    gi_score = gi["gi_bin"].fillna(0) * 1000 + gi["Zs"].fillna(-999).clip(-999, 999)
    key = key_area_scores(an.evidence(unit_set=unit_set, types=types, start=start,
                                      end=end))["score"].reindex(polys.index)
    return {"kde": kde, "gi": gi_score, "gi_bin": gi["gi_bin"].astype(float),
            "key_areas": key.astype(float)}


# -- the 2 km grid ---------------------------------------------------------------------


def grid_cells(an):
    """The density grid's cells (the commander's 2 km grid, :data:`Analyses.density_cell_km`),
    indexed by the cell id as text (as the grid the page draws), named by the 2025 commune
    holding each centre; kept on the analyses."""
    cells = getattr(an, "_forecast_grid_cells", None)
    if cells is None:
        from layers.density import kernel_density

        empty = an.ctx.records.current().incidents.iloc[:0]
        cells = kernel_density(empty, an.outline, cell_km=an.density_cell_km,
                               communes=an.ctx.communes[NEW], unit_set=NEW).cells
        cells["name"] = cells["name"].fillna("").astype(str)
        cells.index = cells.index.astype(str)
        an._forecast_grid_cells = cells
    return cells


def grid_parts(an, types: tuple, last, freq: str = "Q") -> dict:
    """:func:`forecast_parts` on the 2 km grid: located records per cell, the cells' queen
    contiguity and closeness to the border and the gates, last period's counts and last
    year's density per cell as the baselines; refused below
    :data:`layers.forecast.MIN_CELL_RATE` incidents per cell and period (noise)."""
    from layers import forecast as fc

    rec = an.ctx.records.current()
    cells = grid_cells(an)
    if not len(rec.incidents):
        return {"problem": "forecast.too_few_periods", "fit": None, "track": None,
                "n_periods": 0, "n_incidents": 0}
    counts = fc.grid_counts(rec.incidents, cells, cell_km=an.density_cell_km, freq=freq,
                            types=types, start=rec.incidents["date"].min().date(),
                            end=last.end_time.date())
    sizes = {"n_periods": counts.shape[1], "n_incidents": int(counts.to_numpy().sum()),
             "cell_rate": float(counts.to_numpy().mean()) if counts.size else 0.0,
             "min_rate": fc.MIN_CELL_RATE}
    rule = {"freq": freq, "min_rate": fc.MIN_CELL_RATE}
    problem = fc.history_problem(counts, **rule)
    if problem:
        return {"problem": problem, "fit": None, "track": None, **sizes}
    checked = [p for i, p in enumerate(counts.columns)
               if i >= counts.shape[1] - fc.ORIGINS
               and fc.history_problem(counts.iloc[:, :i], **rule) is None]
    if not checked:
        return {"problem": "forecast.too_few_periods", "fit": None, "track": None, **sizes}
    static = fc.static_features(cells, an.ctx.gates, an.ctx.border)
    graph, area = fc.grid_contiguity(cells), fc.grid_areas(cells, an.density_cell_km)
    located = rec.incidents.loc[rec.incidents["type"].isin(types)]
    kde = fc.grid_kde_scores(located, an.outline, checked + [last + 1], freq=freq,
                             cell_km=an.density_cell_km)
    kde.index = cells.index
    try:
        track = fc.backtest(counts, static, graph, area, baselines={"kde": kde[checked]},
                            **rule)
    except ValueError as err:
        return {"problem": str(err), "fit": None, "track": None, **sizes}
    fit = fc.fit_forecast(counts, static, graph, **rule)
    shown = {"last_period": counts.iloc[:, -1].astype(float), "kde": kde[last + 1] * area}
    return {"problem": None, "fit": fit, "track": track, "area": area,
            "best_scores": shown.get(track.best()), **sizes}
