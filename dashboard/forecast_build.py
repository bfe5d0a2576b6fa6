"""The commander's forecast layer (issue 19) of one filter state, from the app's analyses.

:mod:`layers.forecast` holds the model, the baselines' metrics and the backtest as
pure functions of per-period counts; this module gathers their inputs from an
:class:`dashboard.analysis.Analyses` — the counts per quarter, the communes'
static features, and the baselines' scores, which are the app's own Gi* layers
and key-area scores of the year before each quarter checked — and keeps the
results in its memo, per store revision. One build reads some 70 layers of nine
windows: about half a minute on the demo, so a page never waits for one
(:func:`forecast_ready`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pandas as pd

from geo.units import NEW
from layers.key_areas import key_area_scores
from layers.layer import Layer

__all__ = ["baseline_scores", "forecast", "forecast_origin", "forecast_parts", "forecast_ready",
           "forecast_track", "waiting_layer"]


def forecast(an, *, unit_set: str, types, end: dt.date) -> Layer:
    """The next period's forecast after the last complete quarter up to ``end`` (and up to
    the latest record), with its track record over the 8 quarters before
    (:mod:`layers.forecast`), kept in ``an``'s memo per store revision.

    Built in the caller's thread when not kept yet; the page asks :func:`forecast_ready`
    instead, which builds it in the background.
    """
    types, last = tuple(types), forecast_origin(an, end)
    return an._memo(("forecast", unit_set, types, last),
                    lambda: _forecast(an, unit_set, types, last))


def forecast_ready(an, *, unit_set: str, types, end: dt.date) -> Layer | None:
    """:func:`forecast` if it is built; else None, its build started in the background.

    One forecast builds at a time; asked for another meanwhile, the latest asked is built
    next (the others are forgotten), so a user clicking through filters, or a fuzzer,
    starts at most two builds. The page shows that it is being prepared and asks again.
    """
    types, last = tuple(types), forecast_origin(an, end)
    revision = an.ctx.records.current().revision
    with an._lock:
        found = an._cache.get((revision, "forecast", unit_set, types, last))
        if found is not None:
            return found
        an._forecast_next = {"unit_set": unit_set, "types": types, "end": end}
        if getattr(an, "_forecast_busy", False):
            return None
        an._forecast_busy = True
    threading.Thread(target=_worker, args=(an,), daemon=True, name="forecast").start()
    return None


def _worker(an) -> None:
    while True:
        with an._lock:
            job, an._forecast_next = an._forecast_next, None
            if job is None:
                an._forecast_busy = False
                return
        try:
            forecast(an, **job)
        except Exception:  # noqa: BLE001 — kept for the log; the page says it failed
            logging.getLogger("borderwatch").exception("forecast failed")
            key = ("forecast", job["unit_set"], job["types"], forecast_origin(an, job["end"]))
            an._memo(key, lambda job=job: _empty_layer(an, job["unit_set"], "forecast.failed"))


def _empty_layer(an, unit_set: str, problem: str) -> Layer:
    """A forecast layer with no value and the message ``problem`` (failed, being prepared)."""
    from layers.forecast import forecast_layer, unit_areas

    return forecast_layer(an.ctx.unit_table(unit_set), unit_set=unit_set, fit=None,
                          track=None, area=unit_areas(an.ctx.communes[unit_set]),
                          problem=problem, caveats=an.ctx.caveats)


def waiting_layer(an, unit_set: str) -> Layer:
    """The layer shown while the forecast is being prepared (no value, a message)."""
    return _empty_layer(an, unit_set, "forecast.preparing")


def forecast_track(an, *, unit_set: str, types, end: dt.date):
    """The :class:`layers.forecast.Backtest` behind :func:`forecast` (None without one)."""
    return forecast_parts(an, unit_set, tuple(types), forecast_origin(an, end))["track"]


def forecast_origin(an, end: dt.date) -> pd.Period:
    """The last complete quarter up to ``end`` and up to the latest record: a quarter
    past the records is not an empty quarter but one not imported yet."""
    from layers.forecast import last_complete_period

    dates = an.ctx.records.current().incidents["date"]
    latest = dates.max().date() if len(dates) else end
    return last_complete_period(min(end, latest))


def forecast_parts(an, unit_set: str, types: tuple, last) -> dict:
    """Everything the forecast of ``last + 1`` is made of: the fit, the backtest, the
    communes' areas and the best baseline's scores (or the problem that stopped it, and
    the history's size), kept in ``an``'s memo."""
    from layers import forecast as fc
    from layers.emerging import period_counts
    from layers.inference import queen_contiguity

    def build():
        rec, polys = an.ctx.records.current(), an.ctx.communes[unit_set]
        units = an.ctx.unit_table(unit_set)
        counts = period_counts(rec.incidents, units, unit_set=unit_set, types=types,
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
        problem = fc.history_problem(counts)
        if problem:
            return {"problem": problem, "fit": None, "track": None, **sizes}
        # the quarters checked: the last 8 with enough history before them
        checked = [p for i, p in enumerate(counts.columns)
                   if i >= counts.shape[1] - fc.ORIGINS
                   and fc.history_problem(counts.iloc[:, :i]) is None]
        if not checked:
            return {"problem": "forecast.too_few_periods", "fit": None, "track": None,
                    **sizes}
        periods = checked + [last + 1]
        scores = {p: baseline_scores(an, unit_set, types, p, area) for p in periods}
        baselines = {name: pd.DataFrame({p: scores[p][name] for p in periods[:-1]})
                     for name in ("kde", "gi", "key_areas")}
        try:
            track = fc.backtest(counts, static, graph, area, baselines=baselines)
        except ValueError as err:
            return {"problem": str(err), "fit": None, "track": None, **sizes}
        fit = fc.fit_forecast(counts, static, graph)
        best = track.best()
        nxt = scores[last + 1]
        # what the map shows when a baseline wins: last quarter's counts, last year's
        # density as incidents, the Gi* class (-3 … 3), the key-area score
        shown = {"last_period": counts.iloc[:, -1].astype(float), "kde": nxt["kde"] * area,
                 "gi": nxt["gi_bin"], "key_areas": nxt["key_areas"]}
        return {"problem": None, "fit": fit, "track": track, "area": area,
                "best_scores": shown.get(best), **sizes}
    return an._memo(("forecast-parts", unit_set, types, last), build)


def baseline_scores(an, unit_set: str, types: tuple, period, area) -> dict:
    """The baselines' scores for ``period`` from the four periods before it: last year's
    kernel density per km², the Gi* classes (then z) and the key-area score."""
    from layers.forecast import kde_expected
    from layers.periods import within

    start = (period - 4).start_time.date()
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


def _forecast(an, unit_set: str, types: tuple, last) -> Layer:
    from layers.forecast import forecast_layer, unit_areas

    parts = forecast_parts(an, unit_set, types, last)
    area = parts.get("area")
    if area is None:
        area = unit_areas(an.ctx.communes[unit_set])
    return forecast_layer(an.ctx.unit_table(unit_set), unit_set=unit_set,
                          fit=parts["fit"], track=parts["track"], area=area,
                          best_scores=parts.get("best_scores"), problem=parts["problem"],
                          params={"types": types, "n_periods": parts.get("n_periods", 0),
                                  "n_incidents": parts.get("n_incidents", 0)},
                          caveats=an.ctx.caveats)
