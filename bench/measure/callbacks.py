"""Areas 2 and 3: a filter change → the new map values, timed on the server, and its bytes;
the commander's ranked key-area table for a new filter state.

The overview's ``update_map`` and the commander's ``update`` are called over
HTTP as the page calls them (:class:`bench.servers.DashClient`), with a new
filter state each time (types and periods drawn at random, never a state
already asked, so no memoised answer is reused), and changed inputs that take
the ``Patch`` path (values only). The baseline does the same counting the
way a plain GIS script would: a geopandas ``sjoin`` of the selected points
with the polygons on every click, instead of the commune codes joined once
at import.

The ranked table (``cmd-table.children``, with the distance and catchment shares beside it)
is a callback of its own: for a filter state never asked it needs every statistic of the
key-area score over the country's communes (Gi* of the counts and of the rate, emerging hot
spots, the change on a year before). Its baseline is the same state asked again, answered
from memory: what a statistic computed before it is asked costs.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import geopandas as gpd
import numpy as np
import pandas as pd

from bench.context import Run
from bench.results import Spec
from bench.servers import DashClient, peak_rss_mb
from bench.timing import percentile, timed
from layers.counts import INCIDENT_TYPES

__all__ = ["COMMANDER", "OVERVIEW", "SPECS", "TABLE", "filter_states", "main", "measure_callbacks",
           "server_cpu_seconds", "sjoin_counts"]

OVERVIEW = Spec("overview_filter_p95", 2, "overview filter change → values (p95)", "ms",
                target=50.0, baseline_title="geopandas sjoin per click, p95")
COMMANDER = Spec("commander_filter_p95", 2, "commander filter change → map values (p95)",
                 "ms", target=50.0, baseline_title="overview callback p95")
TABLE = Spec("commander_table_new_state", 2,
             "commander ranked key-area table, new filter state, national", "s", target=2.0,
             baseline_title="same state asked again (from memory)")
SPECS = [OVERVIEW, COMMANDER, TABLE]
#: New filter states the ranked table is timed on (each costs every statistic).
TABLE_STATES = 2


def server_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds (user + system) the server process has used so far, every thread (None
    without a pid or ``/proc``)."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def filter_states(n: int, first: dt.date, last: dt.date, *, seed: int = 8) -> list[dict]:
    """``n`` distinct filter states: a non-empty set of types and a period.

    Periods are the presets' shapes (a quarter, six months, a year, the
    July–September campaign) at random places in the data's span, and now and
    then any two days; the changed input alternates between types and period.
    """
    rng = np.random.default_rng(seed)
    states, seen = [], set()
    span = (last - first).days
    while len(states) < n:
        types = tuple(t for t in INCIDENT_TYPES if rng.random() < 0.6) or (INCIDENT_TYPES[0],)
        shape = rng.choice(["quarter", "half", "year", "campaign", "any"])
        year = int(rng.integers(first.year, last.year + 1))
        if shape == "quarter":
            q = int(rng.integers(0, 4))
            start = dt.date(year, 3 * q + 1, 1)
            end = (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date()
        elif shape == "half":
            start = dt.date(year, int(rng.integers(1, 8)), 1)
            end = (pd.Timestamp(start) + pd.DateOffset(months=6) - pd.Timedelta(days=1)).date()
        elif shape == "year":
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        elif shape == "campaign":
            start, end = dt.date(year, 7, 1), dt.date(year, 9, 30)
        else:
            a, b = sorted(int(v) for v in rng.integers(0, span + 1, 2))
            start, end = first + dt.timedelta(days=a), first + dt.timedelta(days=b)
        start, end = max(start, first), min(end, last)
        key = (types, start, end)
        if key in seen or end < start:
            continue
        seen.add(key)
        changed = "types" if len(states) % 2 == 0 else "period"
        states.append({"types": list(types), "start": start.isoformat(),
                       "end": end.isoformat(), "changed": changed})
    return states


def sjoin_counts(incidents: pd.DataFrame, communes: gpd.GeoDataFrame, state: dict) -> pd.Series:
    """Counts per commune of the selected located incidents, by a spatial join (the baseline)."""
    mask = incidents["type"].isin(state["types"])
    mask &= incidents["date"] >= pd.Timestamp(state["start"])
    mask &= incidents["date"] < pd.Timestamp(state["end"]) + pd.Timedelta(days=1)
    mask &= incidents["lat"].notna()
    chosen = incidents.loc[mask]
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(chosen["lon"], chosen["lat"]),
                              crs="EPSG:4326")
    joined = gpd.sjoin(points, communes[["geometry"]], predicate="within")
    right = communes.index.name or "index_right"  # geopandas names the column after the index
    return joined.groupby(right).size().reindex(communes.index, fill_value=0)


def _overview_call(client: DashClient, dep: dict, state: dict) -> tuple[float, int, dict]:
    inputs = {"filter-types.value": state["types"], "filter-period.start_date": state["start"],
              "filter-period.end_date": state["end"], "filter-units.value": "2025"}
    changed = ["filter-types.value" if state["changed"] == "types"
               else "filter-period.start_date"]
    return client.call(dep, inputs, {"page-lang.data": "vi"}, changed)


def _commander_call(client: DashClient, dep: dict, state: dict,
                    changed: list[str] | None = None) -> tuple[float, int, dict]:
    inputs = {"cmd-layer.value": "rates", "cmd-types.value": state["types"],
              "cmd-period.start_date": state["start"], "cmd-period.end_date": state["end"],
              "cmd-units.value": "2025", "cmd-bandwidth.value": 5}
    if changed is None:
        changed = ["cmd-types.value" if state["changed"] == "types"
                   else "cmd-period.start_date"]
    return client.call(dep, inputs, {"cmd-rings.value": [], "page-lang.data": "vi"}, changed)


def _patched(answer: dict, output: str) -> bool:
    """Whether the answer's figure is a Patch (values only), not a whole figure."""
    component, _, prop = output.rpartition(".")
    value = answer.get("response", {}).get(component, {}).get(prop)
    return isinstance(value, dict) and value.get("__dash_patch_update") is not None


def measure_callbacks(run: Run, client: DashClient, pid: int | None = None) -> dict:
    """Overview and commander filter changes on the national server; returns what area 3
    needs (the answers' sizes) and, given the server's ``pid``, its peak memory after
    each part."""
    incidents = run.incidents
    first, last = incidents["date"].min().date(), incidents["date"].max().date()
    sizes = run.sizes
    overview = client.callback("commune-map.figure")
    states = filter_states(sizes.filter_changes + 1, first, last)
    run.log(f"overview: {sizes.filter_changes} filter changes over HTTP")
    _overview_call(client, overview, states[0])  # the page's first change (warms Flask)
    times, nbytes, patched = [], [], 0
    for state in states[1:]:
        seconds, size, answer = _overview_call(client, overview, state)
        times.append(1000 * seconds)
        nbytes.append(size)
        patched += _patched(answer, "commune-map.figure")
    run.log(f"baseline: geopandas sjoin per click × {sizes.baseline_changes}")
    communes = run.units.communes_new
    base = [1000 * timed(lambda s=s: sjoin_counts(incidents, communes, s))[0]
            for s in states[1:1 + sizes.baseline_changes]]
    p95, base95 = percentile(times, 95), percentile(base, 95)
    parts = _overview_parts(run, states[1:6])
    run.add(OVERVIEW.make(
        p95, baseline=base95, stat="p95", repetitions=len(times), samples=times,
        detail={"p50": percentile(times, 50), "max": max(times), "baseline_p50":
                percentile(base, 50), "baseline_samples": base, "patched": patched,
                "incidents": len(incidents), "in_process_median_ms": parts},
        note="round trip of /_dash-update-component on loopback (server time + < 1 ms); "
             "counts by the commune codes joined at import, answer a Patch of the values"))
    rss = {"after_overview_mb": peak_rss_mb(pid)[0]} if pid else {}
    _commander(run, client, states, first, last)
    if pid:
        rss["after_commander_mb"] = peak_rss_mb(pid)[0]
    _ranked_table(run, client, first, last, pid)
    if pid:
        rss["after_table_mb"] = peak_rss_mb(pid)[0]
    return {"overview_bytes": nbytes, "overview_patched": patched,
            "overview_states": len(times), "peak_rss": rss}


def _overview_parts(run: Run, states: list[dict]) -> dict:
    """Where the overview callback's time goes, measured in this process on the same
    records: counting (layers.counts), the hover text of every commune, the Patch as JSON."""
    import plotly

    from dashboard.figures.commune_map import hover_values, values_patch
    from layers.counts import incident_counts

    units = pd.DataFrame(run.units.communes_new.drop(columns="geometry"))
    parts: dict[str, list[float]] = {"counts": [], "hover_text": [], "patch_json": []}
    for state in states:
        start = dt.date.fromisoformat(state["start"])
        end = dt.date.fromisoformat(state["end"])
        seconds, layer = timed(lambda: incident_counts(run.incidents, units, unit_set="2025",
                                                       types=state["types"], start=start,
                                                       end=end))
        parts["counts"].append(1000 * seconds)
        parts["hover_text"].append(1000 * timed(lambda: hover_values(layer, "vi"))[0])
        parts["patch_json"].append(1000 * timed(lambda: json.dumps(
            values_patch(layer, "vi", "").to_plotly_json(),
            cls=plotly.utils.PlotlyJSONEncoder))[0])
    return {k: round(float(np.median(v)), 1) for k, v in parts.items()}


def _commander(run: Run, client: DashClient, states: list[dict], first, last) -> None:
    dep = client.callback("cmd-map.figure")
    n = run.sizes.commander_changes
    run.log(f"commander: page load + {n} filter changes over HTTP (the map's callback)")
    opening = {"types": list(INCIDENT_TYPES), "start": first.isoformat(),
               "end": last.isoformat(), "changed": "types"}
    load_s, load_bytes, _ = _commander_call(client, dep, opening, changed=[])
    picks = filter_states(n, first, last, seed=11)
    times, nbytes = [], []
    for state in picks:
        seconds, size, _ = _commander_call(client, dep, state)
        times.append(1000 * seconds)
        nbytes.append(size)
    again = [1000 * _commander_call(client, dep, s)[0] for s in picks]  # memoised states
    overview = next(f for f in run.figures if f.key == OVERVIEW.key)
    run.add(COMMANDER.make(
        percentile(times, 95), baseline=overview.value, stat="p95", repetitions=len(times),
        samples=times,
        detail={"p50": percentile(times, 50), "page_load_ms": 1000 * load_s,
                "page_load_bytes": load_bytes, "bytes": nbytes, "revisited_ms": again},
        note="the map's callback only (the ranked key-area table, which needs every "
             "statistic, is a callback of its own since this session); the smoothed-rates "
             "layer for the new filter state; a state already seen is answered from memory "
             "(revisited_ms)"))


def _table_call(client: DashClient, dep: dict, state: dict) -> tuple[float, int, dict]:
    inputs = {"cmd-types.value": state["types"], "cmd-period.start_date": state["start"],
              "cmd-period.end_date": state["end"], "cmd-units.value": "2025"}
    changed = ["cmd-types.value" if state["changed"] == "types" else "cmd-period.start_date"]
    return client.call(dep, inputs, {"page-lang.data": "vi"}, changed)


def _ranked_table(run: Run, client: DashClient, first, last, pid: int | None) -> None:
    """The ranked key-area table for :data:`TABLE_STATES` filter states never asked (a seed
    of their own), each then asked again (from memory: the baseline); the server's CPU
    seconds per call beside the wall time (every thread of the server: a release being
    built in the background adds to them)."""
    dep = client.callback("cmd-table.children")
    picks = filter_states(TABLE_STATES, first, last, seed=23)
    run.log(f"commander: ranked key-area table, {len(picks)} new filter states over HTTP")
    times, cpu, again, rows = [], [], [], []
    for state in picks:
        before = server_cpu_seconds(pid)
        seconds, _, answer = _table_call(client, dep, state)
        after = server_cpu_seconds(pid)
        times.append(seconds)
        cpu.append(None if before is None or after is None else round(after - before, 2))
        rows.append(json.dumps(answer).count('"ranked-row"'))
        again.append(_table_call(client, dep, state)[0])
    run.add(TABLE.make(
        max(times), baseline=max(again), stat="max", repetitions=len(times), samples=times,
        detail={"server_cpu_s": cpu, "again_s": again, "rows": rows, "states": picks,
                "load_average": [round(v, 2) for v in os.getloadavg()]},
        note="round trip of the table's callback (cmd-table.children and the shares beside "
             "it) for a filter state never asked: counts, smoothed rates, Gi* of the counts "
             "and of the rate, emerging hot spots, change on a year before, over every 2025 "
             "commune; the baseline is the same state asked again (kept in memory)"))


def figure_bytes(figure) -> int:
    """Bytes of a figure as Dash sends it (plotly's JSON encoder)."""
    import plotly.io as pio

    return len(pio.to_json(figure, validate=False).encode())


def answer_json_bytes(answer: dict) -> int:
    return len(json.dumps(answer).encode())


def main(argv: list[str] | None = None) -> int:
    """Area 2 alone on a kept run's national data (``python -m bench --work DIR`` kept it):
    the real server on ``DIR/national/var``, the overview's, the commander's and the ranked
    table's callbacks over HTTP, the figures written as JSON.

        .venv/bin/python -m bench.measure.callbacks --work DIR --out area2.json
    """
    import argparse
    import time
    from pathlib import Path
    from types import SimpleNamespace

    from bench.context import FULL, QUICK
    from bench.machine import describe_machine, load_average
    from bench.results import format_table, write_results
    from bench.servers import running_app
    from dashboard.records import INCIDENT_COLUMNS
    from geo.boundaries import load_communes
    from geo.config import Settings
    from geo.store import open_store
    from geo.units import NEW

    parser = argparse.ArgumentParser(prog="python -m bench.measure.callbacks",
                                     description=main.__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True,
                        help="a kept bench folder (its national/var)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file of the figures")
    parser.add_argument("--quick", action="store_true", help="fewer filter changes")
    args = parser.parse_args(argv)
    run = Run(sizes=QUICK if args.quick else FULL, work=args.work)
    run.data_dir = args.work / "national" / "var"
    settings = Settings(data_dir=run.data_dir)
    run.units = SimpleNamespace(communes_new=load_communes(settings, NEW))
    with open_store(settings) as store:
        run.incidents = store.read("incidents", INCIDENT_COLUMNS)
    machine = describe_machine()
    with running_app(run.data_dir, log_dir=args.work) as server:
        run.log(f"server up in {server.start_seconds:.1f} s")
        measure_callbacks(run, DashClient(server.url, server.cookies), server.pid)
    machine["load_average_at_end"] = load_average()
    write_results(args.out, run.figures, suite="borderwatch bench, area 2 on kept data",
                  date=time.strftime("%Y-%m-%dT%H:%M:%S"), mode=run.sizes.name,
                  duration_s=round(time.perf_counter() - run.started, 1), machine=machine,
                  data={"work": str(args.work)}, command="python -m bench.measure.callbacks",
                  noise="a shared machine: compare the load averages")
    print(format_table(run.figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
