"""What one run shares: its sizes, its folder, the national data, and the figures so far."""

from __future__ import annotations

import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.national import NationalUnits
from bench.results import Figure, Spec

__all__ = ["FULL", "QUICK", "Run", "Sizes"]


@dataclass(frozen=True)
class Sizes:
    """How big a run is: rows generated, repetitions, filter changes."""

    name: str
    incidents: int
    outreach: int
    repetitions: int  # of the cheap figures (medians)
    filter_changes: int  # overview callback calls (p50, p95)
    commander_changes: int  # commander callback calls (each may run Gi* and emerging)
    baseline_changes: int  # geopandas sjoin per click
    browser_loads: int  # cold starts per app
    kde_country_repetitions: int


FULL = Sizes("full", 1_000_000, 200_000, repetitions=3, filter_changes=60, commander_changes=3,
             baseline_changes=10, browser_loads=3, kde_country_repetitions=1)
QUICK = Sizes("quick", 100_000, 20_000, repetitions=2, filter_changes=20, commander_changes=2,
              baseline_changes=4, browser_loads=2, kde_country_repetitions=1)


@dataclass
class Run:
    """One benchmark run.

    Attributes
    ----------
    sizes : Sizes
    work : Path
        Scratch folder (generated files, stores, servers' logs).
    units : NationalUnits
        The country's registry and synthetic polygons.
    files : dict
        Generated interchange files by kind ("incidents", "outreach", "population").
    data_dir : Path
        The national app's data folder: synthetic boundaries and the embedded store
        the import figure fills.
    incidents : DataFrame or None
        The stored incidents, joined to their communes (read back from the store).
    figures : list of Figure
    info : dict
        Sizes and timings of the preparation, written to the JSON.
    """

    sizes: Sizes
    work: Path
    units: NationalUnits | None = None
    places: object = None  # geo.ingest.Places of the country
    files: dict = field(default_factory=dict)
    data_dir: Path | None = None
    incidents: pd.DataFrame | None = None
    figures: list[Figure] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def log(self, message: str) -> None:
        """Progress on stderr, with the minutes and seconds since the start."""
        seconds = time.perf_counter() - self.started
        print(f"[{int(seconds // 60):02d}:{seconds % 60:04.1f}] {message}", file=sys.stderr,
              flush=True)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        self.log(f"  {figure.title}: {figure.value!r} {figure.unit}"
                 + (f" (baseline {figure.baseline!r})" if figure.baseline is not None else ""))
        return figure

    def failed(self, specs: list[Spec], err: BaseException | str) -> None:
        """Record the figures of ``specs`` not measured yet: no value, the reason in the note."""
        if isinstance(err, BaseException):
            self.log(f"  failed: {err!r}")
            traceback.print_exc(file=sys.stderr)
            reason = f"not measured: {type(err).__name__}: {err}"
        else:
            reason = f"not measured: {err}"
        for spec in specs:
            if not any(f.key == spec.key for f in self.figures):
                self.figures.append(spec.make(None, note=reason))
