"""What a callback receives, checked: a browser (or someone posting to the server by hand)
can send any JSON for any input, so every page reads its inputs through these.

Each function returns a value of the expected type — the allowed items of a list,
one allowed choice, a bounded number, a commune code from a click — and falls back
to a default otherwise; none of them raises.

>>> choices(True, ("tip", "victim"))
()
>>> choices(["victim", 3, "tip", "victim", "x"], ("tip", "victim"))
('tip', 'victim')
>>> choice({}, ("rates", "gi"), "rates"), number(" ", 1, 30, 5.0), number("1e309", 1, 30, 5)
('rates', 5.0, 30.0)
>>> clicked_location(True), clicked_location({"points": [{"curveNumber": 0, "location": 25681}]})
(None, (0, '25681'))
"""

from __future__ import annotations

import math
from typing import Sequence

__all__ = ["choice", "choices", "clicked_location", "mapping", "number", "text", "texts"]


def choices(value, allowed: Sequence[str]) -> tuple[str, ...]:
    """The allowed items of a list value, in ``allowed``'s order; ``()`` for anything else."""
    if not isinstance(value, (list, tuple)):
        return ()
    given = {v for v in value if isinstance(v, str)}
    return tuple(a for a in allowed if a in given)


def texts(value, *, limit: int = 200, length: int = 200) -> tuple[str, ...]:
    """The strings of a list value (free text such as agency names), sorted, deduplicated."""
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(sorted({v for v in value if isinstance(v, str) and 0 < len(v) <= length}))[
        :limit]


def choice(value, allowed: Sequence[str], default: str) -> str:
    """``value`` if it is one of ``allowed``, else ``default``."""
    return value if isinstance(value, str) and value in allowed else default


def text(value, default: str = "", *, length: int = 2000) -> str:
    """A string value (cut to ``length``), else ``default``."""
    return value[:length] if isinstance(value, str) else default


def number(value, low: float, high: float, default: float) -> float:
    """A finite number within [low, high] (clamped), else ``default``."""
    try:
        number_ = float(value)
    except (TypeError, ValueError, OverflowError):
        return default
    if math.isnan(number_):
        return default
    return float(min(max(number_, low), high))


def mapping(value) -> dict:
    """A dict value (a ``dcc.Store``'s data), else ``{}``."""
    return value if isinstance(value, dict) else {}


def clicked_location(click) -> tuple[int, str] | None:
    """(trace number, location) of a map click's first point, or ``None``."""
    points = mapping(click).get("points")
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return None
    point = points[0]
    curve, location = point.get("curveNumber"), point.get("location")
    if not isinstance(curve, int) or location is None or isinstance(location, (dict, list)):
        return None
    return curve, str(location)
