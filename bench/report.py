"""The table of a finished run, from its JSON: ``python -m bench.report [FILE] [--markdown]``.

The README's table is this output for ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.results import Figure, format_table, read_results

__all__ = ["figures_of", "main", "summary_line"]

_FIELDS = ("key", "area", "title", "value", "unit", "better", "target", "baseline",
           "baseline_title", "repetitions", "stat", "samples", "detail", "note")


def figures_of(data: dict) -> list[Figure]:
    """The figures of a results file, as :class:`Figure` objects."""
    return [Figure(**{k: f[k] for k in _FIELDS if k in f}) for f in data["figures"]]


def summary_line(data: dict) -> str:
    """Date, mode, duration and machine of a run, in one line."""
    m = data.get("machine", {})
    return (f"{data.get('date', '?')[:10]}, `{data.get('command', 'python -m bench')}` "
            f"({data.get('mode')}), {data.get('duration_s', 0) / 60:.1f} min; {m.get('cpu')}, "
            f"{m.get('cores')} cores, {m.get('memory_gb')} GB, Python {m.get('python')}, "
            f"SQLite {m.get('sqlite')}; load average {m.get('load_average_at_start')} at the "
            f"start, {m.get('load_average_at_end')} at the end")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "latest.json")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    data = read_results(args.file)
    print(summary_line(data))
    print()
    print(format_table(figures_of(data), markdown=args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
