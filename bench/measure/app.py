"""Areas 2, 3, 5 and 6 on the running app: the demo, then the country at full size.

Two servers run the README's ``borderwatch serve`` in a child process: one on
the synthetic demo (Tây Ninh, 96 communes), one on the national data folder
(synthetic boundaries of the 3,321 communes, the store the import figure
filled). On each: cold starts in Chromium, then (national) the geometry and
the callbacks' answers, and the server's peak memory at the end.

Each server is started twice: first after its import (the demo's ``borderwatch demo``; the
national store filled by the import figure, then the step ``borderwatch import`` and
``borderwatch boundaries import`` run once they have committed: the records and the
communes' shapes kept for the dashboard), then restarted on the same data. Both times the
wall seconds from launch to the first answer and the CPU seconds the server process had
used by then (the machine is shared: the CPU is the start's own work, the wall is not).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

from bench.context import Run
from bench.measure.callbacks import figure_bytes, filter_states, measure_callbacks
from bench.measure.callbacks import _overview_call as overview_call
from bench.measure.cold_start import STATIC_MAP, paint_times, serve_folder, static_page
from bench.results import Spec
from bench.servers import ROOT, DashClient, peak_rss_mb, running_app
from bench.timing import median
from dashboard.context import screen_geojson
from dashboard.figures.commune_map import commune_map
from geo.boundaries import load_border
from geo.config import Settings
from geo.gates import load_gates
from geo.units import NEW
from layers.counts import incident_counts

__all__ = ["COLD_DEMO", "COLD_NATIONAL", "FIRST_LOAD", "PER_CHANGE", "RSS", "SERVER_RESTART",
           "SERVER_START", "SPECS", "after_import", "measure_app", "start_detail"]

FIRST_LOAD = Spec("first_load_bytes", 3, "first load: national 2025 commune layer (shapes)",
                  "bytes", target=3_000_000, baseline_title="geopandas to_json, unsimplified")
PER_CHANGE = Spec("change_bytes", 3, "per filter change: overview answer (values), max",
                  "bytes", target=100_000, baseline_title="whole figure, shapes inline")
SERVER_START = Spec("server_start_national", 5,
                    "server start, national: first after an import (launch → first page)", "s",
                    target=5.0, baseline_title="same on the demo")
SERVER_RESTART = Spec("server_restart_national", 5,
                      "server start, national: restart (launch → first page)", "s", target=5.0,
                      baseline_title="same on the demo")
COLD_DEMO = Spec("cold_start_demo", 5, "cold start → painted map, demo (96 communes)", "s",
                 target=3.0, baseline_title="static plotly page")
COLD_NATIONAL = Spec("cold_start_national", 5,
                     "cold start → painted map, national (3,321 communes)", "s",
                     baseline_title="static plotly page")
RSS = Spec("server_rss", 6, "server peak RSS, national", "MB", target=1000,
           baseline_title="same server on the demo")
SPECS = [FIRST_LOAD, PER_CHANGE, SERVER_START, SERVER_RESTART, COLD_DEMO, COLD_NATIONAL, RSS]

#: What ``borderwatch import`` and ``borderwatch boundaries import`` do once they have
#: committed (:func:`dashboard.records.keep_records`,
#: :func:`dashboard.context.keep_screen_shapes`), in a child process like theirs.
_AFTER_IMPORT = """
import json, sys, time
from dashboard.context import keep_screen_shapes
from dashboard.records import keep_records
from geo.config import Settings

settings = Settings.from_env(data_dir=sys.argv[1])
began = time.perf_counter()
keep_records(settings)
records = time.perf_counter() - began
keep_screen_shapes(settings)
print(json.dumps({"records_s": records, "shapes_s": time.perf_counter() - began - records}))
"""


def after_import(data_dir: Path) -> dict:
    """The import's post-commit step on ``data_dir``: the records of the store's revision and
    the communes' screen shapes kept in its cache folder; the seconds each took."""
    done = subprocess.run([sys.executable, "-c", _AFTER_IMPORT, str(data_dir)], cwd=ROOT,
                          check=True, capture_output=True, text=True, timeout=1800)
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_detail(server, load: float, demo: dict | None = None) -> dict:
    """What a server start's figure keeps beside its wall seconds: the CPU seconds of the
    server process to its first answer, the 1-minute load average when it was launched,
    and (national) the same CPU on the demo and their ratio."""
    out = {"cpu_s": server.start_cpu_seconds, "load_average_1min": load}
    if demo and demo.get("cpu_s") and server.start_cpu_seconds:
        out.update({"demo_cpu_s": demo["cpu_s"], "demo_load_average_1min": demo["load"],
                    "cpu_ratio_to_demo": server.start_cpu_seconds / demo["cpu_s"]})
    return out


def _make_demo(data_dir: Path) -> None:
    """``borderwatch demo``: the synthetic demo written and imported through the importer."""
    subprocess.run([sys.executable, "-m", "dashboard.cli", "--data-dir", str(data_dir), "demo"],
                   cwd=ROOT, check=True, capture_output=True, timeout=900)


def _overview_figure(incidents: pd.DataFrame, communes: gpd.GeoDataFrame, geojson: dict,
                     settings: Settings):
    """The overview's opening map (every type, the whole span) with its shapes inline."""
    units = pd.DataFrame(communes.drop(columns="geometry"))
    layer = incident_counts(incidents, units, unit_set=NEW)
    bounds = tuple(float(v) for v in communes.total_bounds)
    return commune_map(layer, geojson, load_gates(settings), load_border(settings),
                       title="Số vụ việc", bounds=bounds)


def _static_times(figure, folder: Path, loads: int) -> list[float]:
    page = static_page(figure, folder)
    with serve_folder(page.parent) as url:
        return paint_times(f"{url}/{page.name}", loads, selector=STATIC_MAP)


def _demo(run: Run) -> dict:
    from dashboard.records import RecordCache
    from geo.boundaries import load_communes

    data_dir = run.work / "demo" / "var"
    run.log("demo: generate and import (borderwatch demo)")
    _make_demo(data_dir)
    settings = Settings(data_dir=data_dir)
    load = os.getloadavg()[0]
    with running_app(data_dir, log_dir=run.work) as server:
        run.log(f"demo server up in {server.start_seconds:.1f} s "
                f"({server.start_cpu_seconds:.1f} CPU-s, load {load:.1f}); "
                f"{run.sizes.browser_loads} cold loads")
        first_start = {"s": server.start_seconds, "cpu_s": server.start_cpu_seconds,
                       "load": load}
        timeline: list = []
        loads = paint_times(server.url + "/", run.sizes.browser_loads, cookies=server.cookies,
                            milestones=timeline)
        client = DashClient(server.url, server.cookies)
        dep = client.callback("commune-map.figure")
        records = RecordCache(settings).current().incidents
        first, last = records["date"].min().date(), records["date"].max().date()
        for state in filter_states(run.sizes.filter_changes, first, last):
            overview_call(client, dep, state)
        peak, _ = peak_rss_mb(server.pid)
        start_seconds = server.start_seconds
    load = os.getloadavg()[0]
    with running_app(data_dir, log_dir=run.work) as server:  # a restart on the same data
        again = {"s": server.start_seconds, "cpu_s": server.start_cpu_seconds, "load": load}
    run.log(f"demo restart in {again['s']:.1f} s ({again['cpu_s']:.1f} CPU-s, load {load:.1f})")
    communes = load_communes(settings, NEW)
    figure = _overview_figure(records, communes, json.loads(screen_geojson(communes)), settings)
    static = _static_times(figure, run.work / "static-demo", run.sizes.browser_loads)
    run.add(COLD_DEMO.make(
        median(loads), baseline=median(static), repetitions=len(loads), samples=loads,
        detail={"server_start_s": start_seconds, "baseline_samples": static,
                "timeline_ms": timeline},
        note="new browser each load (empty cache, a signed-in session cookie), server already "
             "started; navigation start → first frame with commune polygons drawn"))
    return {"start": start_seconds, "rss": peak, "first": first_start, "restart": again}


def measure_app(run: Run) -> None:
    try:
        demo = _demo(run)
    except Exception as err:  # noqa: BLE001 - the national figures can still run
        run.failed([COLD_DEMO], err)
        demo = {"start": None, "rss": None, "first": None, "restart": None}
    settings = Settings(data_dir=run.data_dir)
    communes = run.units.communes_new
    run.log("national: the import's post-commit step (records and shapes kept)")
    kept = after_import(run.data_dir)
    run.log(f"  records kept in {kept['records_s']:.1f} s, shapes in {kept['shapes_s']:.1f} s")
    run.log("national server: first start after the import")
    load = os.getloadavg()[0]
    with running_app(run.data_dir, log_dir=run.work) as server:
        run.add(SERVER_START.make(
            server.start_seconds, baseline=demo["start"], stat="single",
            samples=[server.start_seconds],
            detail={"rss_after_start_mb": peak_rss_mb(server.pid)[1],
                    **start_detail(server, load, demo["first"]), "after_import_s": kept},
            note="launch → first answer of / (the sign-in redirect): python imports, the "
                 "boundaries, the records loaded from the snapshot the import's post-commit "
                 "step kept (after_import_s: that step, run once after the import, not "
                 "counted here), the communes' screen shapes kept likewise; the grids and "
                 "the distances are made on first use. cpu_s: CPU of the server process by "
                 "then (the machine is shared: the wall time moves with the load)"))
        client = DashClient(server.url, server.cookies)
        _, body, headers = client.get(f"/geo/communes_{NEW}.geojson")
        _, legacy, _ = client.get("/geo/communes_legacy.geojson")
        sent = len(body)  # the server sends it as it is (no compression)
        raw = len(communes.to_json().encode())
        run.add(FIRST_LOAD.make(
            sent, baseline=raw, stat="single", samples=[sent],
            detail={"communes": len(communes), "content_encoding": headers.get(
                "Content-Encoding"), "gzip_bytes": len(gzip.compress(body)),
                "legacy_layer_bytes": len(legacy), "legacy_units": len(run.units.communes_old)},
            note="simplified (0.0005°), 5 decimals, sent once and cached by the browser "
                 "(Cache-Control: max-age=86400); the server does not compress it "
                 "(gzip_bytes: what it would be)"))
        run.log(f"national: {run.sizes.browser_loads} cold loads")
        timeline: list = []
        loads = paint_times(server.url + "/", run.sizes.browser_loads, cookies=server.cookies,
                            milestones=timeline)
        after_loads = peak_rss_mb(server.pid)[0]
        answers = measure_callbacks(run, client, server.pid)
        peak, current = peak_rss_mb(server.pid)
        children = children_peak_mb(server.pid)
    run.log("national server: restart")
    load = os.getloadavg()[0]
    with running_app(run.data_dir, log_dir=run.work) as server:
        run.add(SERVER_RESTART.make(
            server.start_seconds, baseline=(demo["restart"] or {}).get("s"), stat="single",
            samples=[server.start_seconds],
            detail=start_detail(server, load, demo["restart"]),
            note="the same server started again on the same data (what a deployment, a "
                 "crash or a new worker pays): the records and shapes read from the cache "
                 "folder; cpu_s: CPU of the server process to its first answer"))
    figure = _overview_figure(run.incidents, communes, json.loads(screen_geojson(communes)),
                              settings)
    whole = figure_bytes(figure)
    nbytes = answers["overview_bytes"]
    run.add(PER_CHANGE.make(
        max(nbytes), baseline=whole, stat="max", repetitions=len(nbytes), samples=nbytes,
        detail={"median": float(pd.Series(nbytes).median()),
                "patched": answers["overview_patched"]},
        note="the overview's whole answer (Patch of z, hover text and title, plus the KPI "
             "cards) for each filter change above"))
    static = _static_times(figure, run.work / "static-national", run.sizes.browser_loads)
    run.add(COLD_NATIONAL.make(
        median(loads), baseline=median(static), repetitions=len(loads), samples=loads,
        detail={"baseline_samples": static, "timeline_ms": timeline},
        note="as the demo figure; synthetic national shapes"))
    run.add(RSS.make(
        peak, baseline=demo["rss"], stat="single", samples=[peak],
        detail={"rss_at_end_mb": current, "incidents": len(run.incidents),
                "peak_after_cold_loads_mb": after_loads, "children_peak_mb": children, **{
                    f"peak_{k}": v for k, v in answers["peak_rss"].items()}},
        note="VmHWM of the server process after start, cold loads, every filter change "
             "above (overview and commander); the release plan and the forecasts are built "
             "in processes of their own, whose peaks so far are children_peak_mb"))


def children_peak_mb(pid: int) -> list[float]:
    """The peak resident memory (``VmHWM``, MB) of each process ``pid`` started that still
    runs (the release plan's and the forecasts' builds), largest first."""
    peaks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == pid:
                peaks.append(round(peak_rss_mb(int(entry.name))[0], 1))
        except (OSError, IndexError, KeyError, ValueError):
            continue  # ended meanwhile
    return sorted(peaks, reverse=True)
