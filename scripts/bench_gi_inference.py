"""Gi* inference on the demo: exact enumeration against esda's permutations, side by side.

Not a test: a script that prints numbers (docs/emerging_hotspots.md and the
README quote them). On the synthetic demo (the store's real joined records,
96 communes of 2025 and 280 former communes), for the periods the
commander's page shows:

- ``speed``: seconds of :func:`layers.hotspots.gi_star` with the exact
  inference (the default for counts) beside 9,999 conditional permutations
  (what the page ran before), the whole function (weights, Gi*, p-values,
  classes, FDR), median of repeats after a warm-up; and of the emerging hot
  spots over every quarter, exact beside 999 permutations;
- ``seeds``: how many communes' FDR classes differ across 10 seeds, with
  9,999 permutations and with the exact inference;
- ``chance``: emerging patterns under no clustering, by re-simulation:
  independent Poisson counts, and the demo's own quarterly histories
  shuffled across the 96 communes, with and without FDR;
- ``planted``: the categories of a planted growing cluster (the one of
  ``tests/test_emerging.py``), with and without FDR.

    .venv/bin/python -m scripts.bench_gi_inference                  # everything
    .venv/bin/python -m scripts.bench_gi_inference speed seeds
    .venv/bin/python -m scripts.bench_gi_inference chance --runs 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.timing import median, repeat, timed
from geo.units import NEW, OLD
from layers.counts import incident_counts
from layers.emerging import (
    emerging_category,
    emerging_hotspots,
    emerging_layer,
    gi_star_series,
    mann_kendall,
    period_counts,
    significance_bins,
)
from layers.hotspots import gi_star
from layers.inference import exact_gi_star_cost, queen_contiguity

SECTIONS = ("speed", "seeds", "chance", "planted")
PERMUTATIONS = 9_999  # what dashboard.analysis ran the Gi* map with
EMERGING_PERMUTATIONS = 999  # and the emerging hot spots
SEED = 20250701  # dashboard.analysis's


def load_demo(work: Path):
    """The demo written through the real importer into a fresh store, and its context."""
    from dashboard.serving import ensure_demo
    from dashboard.context import build_context
    from geo.config import Settings

    settings = Settings(data_dir=work / "var")
    ensure_demo(settings)
    return build_context(settings)


def _periods(incidents: pd.DataFrame) -> list[tuple[str, dt.date, dt.date]]:
    last = incidents["date"].max()
    quarter = last.to_period("Q")
    first = incidents["date"].min()
    return [
        (f"{quarter} (the page's default)", quarter.start_time.date(), quarter.end_time.date()),
        (f"year {last.year}", dt.date(last.year, 1, 1), dt.date(last.year, 12, 31)),
        (f"{first.year}–{last.year}", dt.date(first.year, 1, 1), dt.date(last.year, 12, 31)),
    ]


def _counts(ctx, unit_set: str, start: dt.date, end: dt.date) -> pd.Series:
    units = ctx.unit_table(unit_set)
    return incident_counts(ctx.incidents, units, unit_set=unit_set, start=start,
                           end=end).frame["count"].astype(float)


# -- speed ---------------------------------------------------------------------------------

def speed(ctx, reps: int) -> None:
    print(f"\nGi* over the demo's communes: exact vs {PERMUTATIONS:,} permutations "
          f"(median of {reps}; whole gi_star: weights, Gi*, p-values, classes, FDR)")
    print(f"{'units':>7} {'communes':>8}  {'period':<26} {'exact s':>8} {'perm s':>8} "
          f"{'ratio':>6} {'DP cells':>10}")
    for unit_set in (NEW, OLD):
        polys = ctx.communes[unit_set]
        w = queen_contiguity(polys)
        gi_star(_counts(ctx, unit_set, *_periods(ctx.incidents)[0][1:]), polys)  # warm-up
        gi_star(_counts(ctx, unit_set, *_periods(ctx.incidents)[0][1:]), polys,
                inference="permutation", permutations=99)
        for label, start, end in _periods(ctx.incidents):
            counts = _counts(ctx, unit_set, start, end)
            exact = median(repeat(lambda c=counts: gi_star(c, polys), reps))
            perm = median(repeat(lambda c=counts: gi_star(
                c, polys, inference="permutation", permutations=PERMUTATIONS, seed=SEED),
                max(1, reps // 2)))
            cells = exact_gi_star_cost(counts.reindex(polys.index).to_numpy(), w)
            print(f"{unit_set:>7} {len(polys):>8}  {label:<26} {exact:>8.3f} {perm:>8.3f} "
                  f"{perm / exact:>5.0f}x {cells:>10,}")
    print(f"\nEmerging hot spots, every quarter: exact vs {EMERGING_PERMUTATIONS} "
          "permutations per quarter (single run)")
    for unit_set in (NEW, OLD):
        polys = ctx.communes[unit_set]
        quarters = period_counts(ctx.incidents, polys, unit_set=unit_set)
        kwargs = dict(unit_set=unit_set, freq="Q")
        exact, layer = timed(lambda: emerging_layer(ctx.incidents, polys, **kwargs))
        perm, _ = timed(lambda: emerging_layer(ctx.incidents, polys, inference="permutation",
                                               permutations=EMERGING_PERMUTATIONS, seed=SEED,
                                               **kwargs))
        print(f"{unit_set:>7} {len(polys):>8}  {quarters.shape[1]} quarters"
              f"{'':<15} {exact:>8.3f} {perm:>8.3f} {perm / exact:>5.0f}x  "
              f"inference={layer.params['inference']}")


# -- seeds ---------------------------------------------------------------------------------

def _unstable(classes: pd.DataFrame) -> int:
    """Communes whose class is not the same in every column (seed)."""
    return int((classes.nunique(axis=1) > 1).sum())


def seeds(ctx, n_seeds: int, unit_sets: tuple[str, ...]) -> None:
    print(f"\nFDR classes (gi_class) across {n_seeds} seeds: communes whose class changes")
    print(f"{'units':>7} {'period':<26} {f'{PERMUTATIONS:,} perm.':>12} {'exact':>6}  "
          "(FDR-significant communes, perm. min–max / exact)")
    rows = []
    for unit_set in unit_sets:
        polys = ctx.communes[unit_set]
        quarters = period_counts(ctx.incidents, polys, unit_set=unit_set)
        periods = [(label, counts) for label, *span in _periods(ctx.incidents)
                   for counts in [_counts(ctx, unit_set, *span)]]
        periods += [(str(q), quarters[q].astype(float)) for q in quarters.columns
                    if not periods[0][0].startswith(str(q))]  # the default quarter is listed
        for label, counts in periods:
            if counts.nunique() <= 1:
                continue
            perm = pd.DataFrame({s: gi_star(counts, polys, inference="permutation",
                                             permutations=PERMUTATIONS, seed=s).frame["gi_class"]
                                 for s in range(n_seeds)})
            exact = pd.DataFrame({s: gi_star(counts, polys, seed=s).frame["gi_class"]
                                  for s in range(n_seeds)})
            significant = (perm != "not_significant").sum()
            rows.append((unit_set, label, _unstable(perm), _unstable(exact)))
            print(f"{unit_set:>7} {label:<26} {rows[-1][2]:>12} {rows[-1][3]:>6}  "
                  f"({significant.min()}–{significant.max()} / "
                  f"{int((exact[0] != 'not_significant').sum())})")
    for unit_set in unit_sets:
        mine = [r for r in rows if r[0] == unit_set]
        print(f"{unit_set:>7} over {len(mine)} periods: permutations change "
              f"{min(r[2] for r in mine)}–{max(r[2] for r in mine)} communes "
              f"(mean {np.mean([r[2] for r in mine]):.1f}), exact "
              f"{max(r[3] for r in mine)}")


# -- chance patterns -----------------------------------------------------------------------

def _patterns(counts: pd.DataFrame, polys) -> tuple[int, int]:
    """Communes with an emerging pattern, without and with FDR (one Gi* series for both)."""
    z, p = gi_star_series(counts, polys)
    trends = [mann_kendall(row) for row in z.to_numpy()]
    found = []
    for fdr in (False, True):
        bins = significance_bins(z, p, fdr=fdr).to_numpy()
        found.append(sum(emerging_category(b, t.z, t.p) != "no_pattern"
                         for b, t in zip(bins, trends, strict=True)))
    return found[0], found[1]


def _summary(values: list[int]) -> str:
    v = np.asarray(values)
    return (f"mean {v.mean():.1f}, median {np.median(v):.0f}, 90th pct "
            f"{np.percentile(v, 90):.0f}, max {v.max()}")


def chance(ctx, runs: int) -> None:
    polys = ctx.communes[NEW]
    demo = period_counts(ctx.incidents, polys, unit_set=NEW)
    n_quarters = demo.shape[1]
    print(f"\nEmerging patterns of 96 communes with no clustering, exact inference, "
          f"{runs} runs each (alpha 0.10, no FDR | FDR)")
    rng = np.random.default_rng(16)
    settings = [("Poisson 0.3 / commune-quarter, 12 quarters", 0.3, 12),
                ("Poisson 1.0 / commune-quarter, 12 quarters", 1.0, 12),
                (f"Poisson {demo.to_numpy().mean():.2f} (demo mean), {n_quarters} quarters",
                 float(demo.to_numpy().mean()), n_quarters)]
    for label, lam, n in settings:
        columns = pd.period_range("2022Q1", periods=n, freq="Q")
        plain, corrected = [], []
        for _ in range(runs):
            counts = pd.DataFrame(rng.poisson(lam, (len(polys), n)), index=polys.index,
                                  columns=columns)
            without, with_fdr = _patterns(counts, polys)
            plain.append(without)
            corrected.append(with_fdr)
        print(f"  {label:<48} {_summary(plain)} | {_summary(corrected)}")
    plain, corrected = [], []
    for _ in range(runs):
        shuffled = pd.DataFrame(demo.to_numpy()[rng.permutation(len(polys))],
                                index=polys.index, columns=demo.columns)
        without, with_fdr = _patterns(shuffled, polys)
        plain.append(without)
        corrected.append(with_fdr)
    print(f"  {'demo histories shuffled across communes':<48} {_summary(plain)} | "
          f"{_summary(corrected)}")
    observed = _patterns(demo, polys)
    print(f"  (the demo itself, unshuffled: {observed[0]} communes with a pattern, "
          f"{observed[1]} with FDR)")


def _planted(polys, *, runs: int, rng) -> None:
    """tests/test_emerging.py's growing cluster: 3 neighbouring communes at 3, 4, … 14
    incidents a quarter over 12 quarters, Poisson 0.3 elsewhere."""
    planted = ["28132", "28075", "28087"]
    w = queen_contiguity(polys)
    near = set(planted).union(*(set(w[c].index) for c in planted))
    columns = pd.period_range("2022Q1", periods=12, freq="Q")
    print(f"\nPlanted growing cluster (3 communes, 3 → 14 a quarter over Poisson 0.3), "
          f"{runs} runs, exact inference")
    for fdr in (False, True):
        found, away = pd.Series(dtype=int), []
        for _ in range(runs):
            counts = pd.DataFrame(rng.poisson(0.3, (len(polys), 12)), index=polys.index,
                                  columns=columns)
            counts.loc[planted] = np.arange(3, 15)
            result = emerging_hotspots(counts, polys, fdr=fdr)
            found = found.add(result.loc[planted, "category"].value_counts(), fill_value=0)
            away.append(int((result.drop(index=list(near))["category"] != "no_pattern").sum()))
        found = ", ".join(f"{int(n)} {name}" for name, n in found.sort_values().items())
        print(f"  {'FDR' if fdr else 'no FDR':<7} planted ({3 * runs}): {found}; "
              f"away from the cluster {_summary(away)}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_gi_inference",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help=f"any of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--reps", type=int, default=5, help="timing repeats (exact)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=50, help="re-simulations per setting")
    parser.add_argument("--legacy-seeds", action="store_true",
                        help="also measure the seeds on the 280 former communes (slow)")
    args = parser.parse_args()
    sections = args.sections or list(SECTIONS)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}: use {', '.join(SECTIONS)}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    work = Path(tempfile.mkdtemp(prefix="bw-gi-"))
    try:
        ctx = load_demo(work)
        if "speed" in sections:
            speed(ctx, args.reps)
        if "seeds" in sections:
            seeds(ctx, args.seeds, (NEW, OLD) if args.legacy_seeds else (NEW,))
        if "chance" in sections:
            chance(ctx, args.runs)
        if "planted" in sections:
            _planted(ctx.communes[NEW], runs=10, rng=np.random.default_rng(11))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
