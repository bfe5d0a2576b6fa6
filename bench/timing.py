"""Timing helpers: repeat a step, take its median or a percentile."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["median", "percentile", "repeat", "timed"]


def timed(step: Callable[[], object]) -> tuple[float, object]:
    """Seconds one call of ``step`` took (wall clock), and what it returned."""
    start = time.perf_counter()
    result = step()
    return time.perf_counter() - start, result


def repeat(step: Callable[[], object], times: int) -> list[float]:
    """Seconds of ``times`` calls of ``step``."""
    return [timed(step)[0] for _ in range(times)]


def median(values) -> float:
    return float(np.median(values))


def percentile(values, q: float) -> float:
    """The ``q``-th percentile (0–100), linear between samples (numpy's default)."""
    return float(np.percentile(values, q))
