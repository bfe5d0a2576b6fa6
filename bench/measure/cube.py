"""Area 2 (and 6): the map values of a filter change read from the cube, against a pass over
the records, in this process on the national records.

The cube (:mod:`layers.cube`) is built once from the incidents the import
stored (both unit sets); then, for the same filter states as the HTTP figures
(:func:`bench.measure.callbacks.filter_states`), each of the two callbacks'
value computations is timed with the cube and without it (the pass over the
records the layers make today), in the same run, alternately:

- the overview: :func:`layers.counts.incident_counts` of the 2025 communes, the
  province total of the KPI card, and the values ``Patch`` as JSON (hover text
  included) — what ``update_map`` computes for a commander;
- the commander's map: :func:`layers.rates.commune_rates` (the smoothed-rates
  layer the page opens on) and its ``Patch`` as JSON.

In process, not over HTTP: the app's callbacks read the cube once the lead
wires ``cube=ctx.cube()`` into ``dashboard/analysis.py`` and the overview
(see the report of issue 18); the HTTP figures above stay the baseline path.
"""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc

import pandas as pd

from bench.context import Run
from bench.measure.callbacks import filter_states
from bench.results import Spec
from bench.timing import median, percentile, timed
from geo.units import NEW, OLD

__all__ = ["BUILD", "COMMANDER", "MEMORY", "OVERVIEW", "SPECS", "measure_cube"]

OVERVIEW = Spec("overview_values_cube_p95", 2,
                "overview filter → values, with the cube, in process (p95)", "ms", target=50.0,
                baseline_title="same, a pass over the records, p95")
COMMANDER = Spec("commander_values_cube_p95", 2,
                 "commander map values (smoothed rates), with the cube, in process (p95)", "ms",
                 target=50.0, baseline_title="same, a pass over the records, p95")
BUILD = Spec("cube_build", 2, "cube build, both unit sets (once per store revision)", "s",
             baseline_title="one pass over the records (a count), median")
MEMORY = Spec("cube_memory", 6, "cube memory: peak while built (tracemalloc)", "MB",
              baseline_title="a dense int32 units × days × types array (size computed)")
SPECS = [BUILD, MEMORY, OVERVIEW, COMMANDER]


def _patch_json(layer, title: str) -> str:
    import plotly

    from dashboard.figures.commune_map import values_patch

    return json.dumps(values_patch(layer, "vi", title).to_plotly_json(),
                      cls=plotly.utils.PlotlyJSONEncoder)


def _overview(incidents, units, state, cube) -> str:
    from layers.counts import incident_counts

    layer = incident_counts(incidents, units, unit_set=NEW, types=state["types"],
                            start=state["start"], end=state["end"], cube=cube)
    total = int(layer.frame[layer.value].sum())  # the KPI card's province total
    return _patch_json(layer, f"{total}")


def _commander(incidents, units, population, state, cube) -> str:
    from layers.rates import commune_rates

    layer = commune_rates(incidents, units, population, unit_set=NEW, types=state["types"],
                          start=state["start"], end=state["end"], cube=cube)
    return _patch_json(layer, "")


def _states(run: Run) -> list[dict]:
    incidents = run.incidents
    first, last = incidents["date"].min().date(), incidents["date"].max().date()
    states = filter_states(run.sizes.filter_changes, first, last, seed=21)
    return [{**s, "start": dt.date.fromisoformat(s["start"]),
             "end": dt.date.fromisoformat(s["end"])} for s in states]


def _population(run: Run) -> pd.DataFrame:
    from geo.config import Settings
    from geo.store import open_store

    with open_store(Settings(data_dir=run.data_dir)) as store:
        return store.read("population")


def measure_cube(run: Run, population: pd.DataFrame | None = None) -> None:
    """The cube's build, memory, and both callbacks' values with and without it.

    ``population``: the table the rates read (``new_code``, ``year``, ``population``);
    by default the one the import stored in the run's data folder.
    """
    from layers.counts import incident_counts
    from layers.cube import build_cube

    incidents = run.incidents
    units = {NEW: pd.DataFrame(run.units.communes_new.drop(columns="geometry")),
             OLD: pd.DataFrame(run.units.communes_old.drop(columns="geometry"))}
    run.log(f"cube: build from {len(incidents):,} incidents, both unit sets")
    builds = [timed(lambda: build_cube(incidents, units)) for _ in range(run.sizes.repetitions)]
    build_times, cube = [s for s, _ in builds], builds[-1][1]
    del builds
    tracemalloc.start()  # a build of its own: tracing slows every allocation down
    build_cube(incidents, units)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    passes = [1000 * timed(lambda: incident_counts(incidents, units[NEW], unit_set=NEW))[0]
              for _ in range(run.sizes.repetitions)]
    run.add(BUILD.make(
        median(build_times), baseline=median(passes) / 1000, repetitions=len(build_times),
        samples=build_times,
        detail={"incidents": len(incidents), "days": cube.days, "types": list(cube.types),
                "units": {s: len(u) for s, u in units.items()}, "pass_ms": passes},
        note="once per store revision (AppContext.cube builds it on the first request after "
             "an import); the ratio below 1 says how many passes over the records it costs"))
    dense = sum(4 * len(u) * cube.days * len(cube.types) for u in units.values())
    run.add(MEMORY.make(
        peak / 1e6, baseline=dense / 1e6, stat="single", samples=[peak / 1e6],
        detail={"kept_mb": cube.nbytes / 1e6, "kept_bytes_per_record":
                cube.nbytes / max(len(incidents), 1), "dense_bytes": dense},
        note="peak of Python and NumPy allocations while building (tracemalloc); kept_mb: "
             "what the cube keeps (sorted keys and running sums of the days with records, "
             "both unit sets)"))
    states = _states(run)
    population = _population(run) if population is None else population
    run.log(f"cube: {len(states)} filter states, overview and commander, with and without")
    for name, spec, step in (
            ("overview", OVERVIEW, lambda s, c: _overview(incidents, units[NEW], s, c)),
            ("commander", COMMANDER,
             lambda s, c: _commander(incidents, units[NEW], population, s, c))):
        step(states[0], cube), step(states[0], None)  # warm: imports, first allocations
        with_cube, without = [], []
        for state in states:  # alternately, so that a busy moment hits both alike
            with_cube.append(1000 * timed(lambda s=state: step(s, cube))[0])
            without.append(1000 * timed(lambda s=state: step(s, None))[0])
        same = all(_same(step, s, cube) for s in states[:5])
        run.add(spec.make(
            percentile(with_cube, 95), baseline=percentile(without, 95), stat="p95",
            repetitions=len(with_cube), samples=with_cube,
            detail={"p50": percentile(with_cube, 50), "baseline_p50": percentile(without, 50),
                    "baseline_samples": without, "same_answer_first_5": same},
            note=f"the {name} callback's value computation in this process (layer, total, "
                 "Patch JSON), not the HTTP round trip; same filter states both ways"))


def _same(step, state, cube) -> bool:
    """Whether the answer (the Patch as JSON) is the same with and without the cube."""
    return step(state, cube) == step(state, None)
