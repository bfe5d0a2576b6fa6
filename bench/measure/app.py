"""Areas 2, 3, 5 and 6 on the running app: the demo, then the country at full size.

Two servers run the README's ``borderwatch serve`` in a child process: one on
the synthetic demo (Tây Ninh, 96 communes), one on the national data folder
(synthetic boundaries of the 3,321 communes, the store the import figure
filled). On each: cold starts in Chromium, then (national) the geometry and
the callbacks' answers, and the server's peak memory at the end.
"""

from __future__ import annotations

import gzip
import json
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

__all__ = ["COLD_DEMO", "COLD_NATIONAL", "FIRST_LOAD", "PER_CHANGE", "RSS", "SERVER_START",
           "SPECS", "measure_app"]

FIRST_LOAD = Spec("first_load_bytes", 3, "first load: national 2025 commune layer (shapes)",
                  "bytes", target=3_000_000, baseline_title="geopandas to_json, unsimplified")
PER_CHANGE = Spec("change_bytes", 3, "per filter change: overview answer (values), max",
                  "bytes", target=100_000, baseline_title="whole figure, shapes inline")
SERVER_START = Spec("server_start_national", 5, "server start, national (launch → first page)",
                    "s", baseline_title="same on the demo")
COLD_DEMO = Spec("cold_start_demo", 5, "cold start → painted map, demo (96 communes)", "s",
                 target=3.0, baseline_title="static plotly page")
COLD_NATIONAL = Spec("cold_start_national", 5,
                     "cold start → painted map, national (3,321 communes)", "s",
                     baseline_title="static plotly page")
RSS = Spec("server_rss", 6, "server peak RSS, national", "MB", target=1000,
           baseline_title="same server on the demo")
SPECS = [FIRST_LOAD, PER_CHANGE, SERVER_START, COLD_DEMO, COLD_NATIONAL, RSS]


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
    with running_app(data_dir, log_dir=run.work) as server:
        run.log(f"demo server up in {server.start_seconds:.1f} s; {run.sizes.browser_loads} "
                "cold loads")
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
    communes = load_communes(settings, NEW)
    figure = _overview_figure(records, communes, json.loads(screen_geojson(communes)), settings)
    static = _static_times(figure, run.work / "static-demo", run.sizes.browser_loads)
    run.add(COLD_DEMO.make(
        median(loads), baseline=median(static), repetitions=len(loads), samples=loads,
        detail={"server_start_s": start_seconds, "baseline_samples": static,
                "timeline_ms": timeline},
        note="new browser each load (empty cache, a signed-in session cookie), server already "
             "started; navigation start → first frame with commune polygons drawn"))
    return {"start": start_seconds, "rss": peak}


def measure_app(run: Run) -> None:
    try:
        demo = _demo(run)
    except Exception as err:  # noqa: BLE001 - the national figures can still run
        run.failed([COLD_DEMO], err)
        demo = {"start": None, "rss": None}
    settings = Settings(data_dir=run.data_dir)
    communes = run.units.communes_new
    run.log("national server: start")
    with running_app(run.data_dir, log_dir=run.work) as server:
        run.add(SERVER_START.make(
            server.start_seconds, baseline=demo["start"], stat="single",
            samples=[server.start_seconds],
            detail={"rss_after_start_mb": peak_rss_mb(server.pid)[1]},
            note="python imports, boundaries, reading every record from the store, and the "
                 "geometry prepared once (distances of 13,000 polygons to the gates and the "
                 "border, the density grid and H3 hexagons of the whole outline)"))
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
