"""The forecast's track record on the demo, as the tables of docs/forecast.md.

Not a test: a script that prints numbers. On the synthetic demo store (the
records the app serves), for the 2025 communes, every incident type, it builds
the commander's forecast layer after 2025Q4 (:meth:`dashboard.analysis.Analyses.forecast`)
and prints, in Markdown:

- the rolling-origin backtest over the last 8 quarters, pooled: hit rate and
  PAI at 5, 10 and 20 % of the area, PEI at each, per method;
- what last quarter's counts carry (the model without them, the Spearman
  correlation of the forecast's ranking with them);
- the fitted coefficients and the dispersion of the final fit;
- the seconds the layer took (backtest, baselines and fit).

    .venv/bin/python -m scripts.forecast_backtest
    .venv/bin/python -m scripts.forecast_backtest --units legacy --types victim
    .venv/bin/python -m scripts.forecast_backtest --freq M        # monthly, 8 monthly origins
    .venv/bin/python -m scripts.forecast_backtest --units grid    # the 2 km grid's cells
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
from pathlib import Path

from bench.timing import timed
from layers.counts import INCIDENT_TYPES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", default="2025", choices=("2025", "legacy", "grid"))
    parser.add_argument("--freq", default="Q", choices=("Q", "M"))
    parser.add_argument("--types", nargs="*", default=list(INCIDENT_TYPES),
                        choices=INCIDENT_TYPES)
    parser.add_argument("--end", default="2025-12-31", help="the last day of data used")
    args = parser.parse_args(argv)

    from dashboard.analysis import Analyses
    from dashboard.context import build_context
    from dashboard.serving import ensure_demo
    from geo.config import Settings

    work = Path(tempfile.mkdtemp(prefix="bw-forecast-"))
    try:
        settings = Settings(data_dir=work / "var")
        ensure_demo(settings)
        an = Analyses(build_context(settings))
        end = dt.date.fromisoformat(args.end)
        types = tuple(args.types)
        seconds, layer = timed(lambda: an.forecast(unit_set=args.units, types=types, end=end,
                                                    freq=args.freq))
        track = an.forecast_track(unit_set=args.units, types=types, end=end, freq=args.freq)
        parts = an.forecasts.result(an._forecast_state(args.units, types, end,
                                                       args.freq))["parts"]
        print(f"units {args.units}, types {', '.join(types)}, data to {end}: forecast of "
              f"{layer.params.get('period')}, built in {seconds:.1f} s\n")
        if track is None:
            print("no forecast:", layer.params.get("problem"),
                  {k: layer.params.get(k) for k in ("n_periods", "n_incidents", "cell_rate",
                                                    "min_rate")})
            return 0
        print(f"Periods checked: {', '.join(str(p) for p in track.origins)}\n")
        print("| method | hit rate 5 % | PAI 5 % | hit rate 10 % | PAI 10 % | hit rate 20 % "
              "| PAI 20 % | PEI 5 % | PEI 10 % | PEI 20 % |")
        print("|---|" + "---:|" * 9)
        for method in track.methods:
            cells = []
            for share in (0.05, 0.10, 0.20):
                cells += [f"{100 * track.value(method, share):.1f} %",
                          f"{track.value(method, share, 'pai'):.2f}"]
            cells += [f"{track.value(method, s, 'pei'):.2f}" for s in (0.05, 0.10, 0.20)]
            print(f"| {method} | " + " | ".join(cells) + " |")
        print(f"\nbest at 10 %: {track.best()}; shown on the map: {layer.params['shown']}")
        print(f"Spearman correlation of the forecast's ranking with last quarter's counts "
              f"(mean over the quarters checked): {track.lag1_correlation:.2f}")
        print(f"hit rate at 10 % without last quarter's counts / with: {track.lag1_share:.3f}")
        fit = parts["fit"]
        print(f"\nfinal fit: {fit.n_rows} commune-quarters, dispersion (Pearson χ²/df) "
              f"{fit.dispersion:.2f}")
        print("| feature | coefficient |\n|---|---:|")
        for name, value in fit.coefficients.items():
            print(f"| {name} | {value:.3f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
