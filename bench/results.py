"""Figures, their targets and baselines: the table the suite prints and the JSON it writes.

A :class:`Figure` is one measured number with the target issue 8 sets for it
(if any) and a baseline measured in the same run on the same data. ``ratio``
always reads "times better than the baseline": ``baseline / value`` when
lower is better (times, bytes, memory), ``value / baseline`` when higher is
better (rows per second); below 1 the baseline is the faster or smaller one.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["AREAS", "Figure", "Spec", "format_table", "format_value", "read_results",
           "write_results"]

#: The six areas of issue 8, in the order the table lists them.
AREAS = {
    1: "import + commune resolution",
    2: "filter change → new map values (server)",
    3: "bytes sent to the browser",
    4: "spatial statistics",
    5: "cold start to first painted map (browser)",
    6: "server memory",
    7: "small-count release (issue 18)",
}


@dataclass
class Figure:
    """One measured figure beside its target and its baseline.

    Attributes
    ----------
    key : str
        Stable identifier ("import_embedded", "overview_filter_p95" …).
    area : int
        Which of the six areas of issue 8 (:data:`AREAS`).
    title : str
        What was measured, in words.
    value : float or None
        The measured number (None when the step could not run; ``note`` says why).
    unit : {"rows/s", "s", "ms", "bytes", "MB"}
    better : {"lower", "higher"}
    target : float or None
        Issue 8's target in the same unit; None for figures given for information.
    baseline : float or None
        The same work done the plain way, in the same run, same unit.
    baseline_title : str
        What the baseline is.
    repetitions : int
        How many measurements ``value`` summarises (median, or p95 of that many).
    stat : str
        "median", "p95", "single" …
    samples : list of float
        The measurements themselves.
    detail : dict
        Other numbers worth keeping (p50, sizes, the baseline's samples …).
    note : str
        Caveats: why a target is missed, what was left out.
    """

    key: str
    area: int
    title: str
    value: float | None
    unit: str
    better: str = "lower"
    target: float | None = None
    baseline: float | None = None
    baseline_title: str = ""
    repetitions: int = 1
    stat: str = "median"
    samples: list = field(default_factory=list)
    detail: dict = field(default_factory=dict)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Times better than the baseline (> 1: ours is better)."""
        if self.value is None or self.baseline is None or self.value <= 0 or self.baseline <= 0:
            return None
        if self.better == "lower":
            return self.baseline / self.value
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None: no target, or no value)."""
        if self.target is None or self.value is None:
            return None
        return self.value <= self.target if self.better == "lower" else self.value >= self.target

    @property
    def shortfall(self) -> float | None:
        """How far from the target, as a fraction of it (0.25: 25 % over or under it)."""
        if self.met is not False:
            return None
        if self.better == "lower":
            return self.value / self.target - 1
        return 1 - self.value / self.target

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ratio"] = _clean(self.ratio)
        data["met"] = self.met
        data["status"] = {True: "met", False: "missed", None: "no target"}[self.met]
        data["shortfall"] = _clean(self.shortfall)
        return _clean(data)


@dataclass(frozen=True)
class Spec:
    """What a figure is before it is measured: its key, area, title, unit and target."""

    key: str
    area: int
    title: str
    unit: str
    better: str = "lower"
    target: float | None = None
    baseline_title: str = ""

    def make(self, value: float | None, **fields) -> Figure:
        """The measured :class:`Figure` (``fields``: baseline, samples, detail, note …)."""
        fields.setdefault("baseline_title", self.baseline_title)
        return Figure(self.key, self.area, self.title, value, self.unit, better=self.better,
                      target=self.target, **fields)


def _clean(value):
    """JSON-safe: NaN and infinities become None, NumPy numbers plain numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_value(value: float | None, unit: str) -> str:
    """A number as the table shows it ("52,310 rows/s", "41.2 ms", "2.41 MB")."""
    if value is None:
        return "–"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 1000 else f"{value / 1000:,.2f} s"
    if unit == "s":
        return f"{value:,.2f} s"
    if unit == "bytes":
        if value >= 1e6:
            return f"{value / 1e6:,.2f} MB"
        return f"{value / 1e3:,.1f} KB"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.3g} {unit}"


def _target_text(fig: Figure) -> str:
    if fig.target is None:
        return "–"
    sign = "≤" if fig.better == "lower" else "≥"
    return f"{sign} {format_value(fig.target, fig.unit)}"


def _status_text(fig: Figure) -> str:
    if fig.met is None:
        return "–" if fig.value is not None else "not run"
    if fig.met:
        return "met"
    if fig.better == "higher":
        return f"MISSED (−{100 * fig.shortfall:.0f} %)"
    if fig.value >= 2 * fig.target:
        return f"MISSED ({fig.value / fig.target:,.1f}× the target)"
    return f"MISSED (+{100 * fig.shortfall:.0f} %)"


def format_table(figures: list[Figure], *, markdown: bool = False) -> str:
    """The results as a text table (or a Markdown one for the README)."""
    head = ("figure", "value", "target", "baseline", "ratio", "met?")
    rows = []
    for fig in figures:
        ratio = fig.ratio
        rows.append((
            fig.title,
            format_value(fig.value, fig.unit) + (f" ({fig.stat})" if fig.stat not in
                                                 ("median", "single") else ""),
            _target_text(fig),
            (format_value(fig.baseline, fig.unit) + f" ({fig.baseline_title})"
             if fig.baseline is not None else "–"),
            f"×{ratio:,.2f}" if ratio is not None else "–",
            _status_text(fig),
        ))
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |"
                  for row in rows]
        return "\n".join(lines)
    widths = [min(max(len(r[i]) for r in [head, *rows]), 64) for i in range(len(head))]
    def line(row):
        return "  ".join(cell[:w].ljust(w) for cell, w in zip(row, widths, strict=True))
    return "\n".join([line(head), line(tuple("-" * w for w in widths)), *map(line, rows)])


def write_results(path: Path, figures: list[Figure], **header) -> Path:
    """Write the run as JSON: ``header`` (machine, date, mode, sizes …) and every figure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**_clean(header), "areas": {str(k): v for k, v in AREAS.items()},
            "figures": [fig.to_dict() for fig in figures]}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def read_results(path: Path) -> dict:
    """A JSON file written by :func:`write_results`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
