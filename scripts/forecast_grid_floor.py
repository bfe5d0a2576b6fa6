"""The grid forecast's density floor, measured where the true intensity is known.

Not a test: a script that prints the table of docs/forecast.md ("The 2 km grid").
A square grid of 40 × 40 cells of 2 km and 16 quarters whose true intensity is
stable: a closeness to a west border (a feature the model sees) and six smooth
hot spots (which it does not), scaled to a mean of ``rate`` incidents per cell
and quarter. For each rate, the rolling-origin backtest of the model
(:func:`layers.forecast.backtest`, 8 origins) beside last quarter's counts and
the ranking by the true intensity: the share of what can be caught that the
model catches is what sets :data:`layers.forecast.MIN_CELL_RATE`.

    .venv/bin/python -m scripts.forecast_grid_floor 0.02 0.05 0.1 0.25 1
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from layers import forecast as fc


def synthetic_grid(rate: float, side: int = 40, periods: int = 16, seed: int = 1):
    """(cells, static features, counts, true intensity) of the grid described above."""
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(side * side), side)
    cells = pd.DataFrame({"row": r, "col": c})
    border = np.exp(-c * 2 / fc.CLOSENESS_KM)
    field = np.zeros(len(r))
    for _ in range(6):
        cr, cc = rng.uniform(0, side, 2)
        field += 1.5 * np.exp(-((r - cr) ** 2 + (c - cc) ** 2) / (2 * 3.0 ** 2))
    quarters = pd.period_range("2022Q1", periods=periods, freq="Q")
    campaign = fc.campaign_share(quarters)
    log_rate = border + field
    log_rate -= np.log(np.exp(log_rate).mean())
    truth = np.exp(np.log(rate) + log_rate[:, None]
                   + 0.5 * (campaign[None, :] - campaign.mean()))
    counts = pd.DataFrame(rng.poisson(truth), index=cells.index, columns=quarters)
    return (cells, pd.DataFrame({"border": border}, index=cells.index), counts,
            pd.DataFrame(truth, index=cells.index, columns=quarters))


def main(argv: list[str] | None = None) -> int:
    rates = [float(a) for a in (argv if argv is not None else sys.argv[1:])] or [0.1]
    print("| incidents per cell and quarter | model | last quarter's counts | true intensity "
          "| model / true |\n|---:|---:|---:|---:|---:|")
    for rate in rates:
        cells, static, counts, truth = synthetic_grid(rate)
        graph, area = fc.grid_contiguity(cells), fc.grid_areas(cells, 2.0)
        oracle = pd.DataFrame({p: truth[p] for p in counts.columns[-8:]})
        began = time.perf_counter()
        track = fc.backtest(counts, static, graph, area, baselines={"truth": oracle})
        model, last, best = (track.value(m) for m in ("model", "last_period", "truth"))
        print(f"| {rate:g} | {100 * model:.1f} % | {100 * last:.1f} % | {100 * best:.1f} % "
              f"| {model / best:.2f} |  <!-- {time.perf_counter() - began:.0f} s -->")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
