"""A real forecast layer, built fast, for the tests of the exports that carry its track record.

The demo's own forecast takes a minute or more (its baselines read the Gi* and key-area layers
of nine windows); the exports only need a forecast layer whose ``params`` hold a genuine
backtest. This one fits the model (:mod:`layers.forecast`) on counts drawn at random for the
communes given, with two origins and a baseline that ranks by the commune's code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers import forecast as fc
from layers.inference import queen_contiguity

__all__ = ["synthetic_forecast"]


def synthetic_forecast(communes, *, freq: str = "Q", seed: int = 19, caveats=()):
    """The forecast layer of ``communes`` (polygons indexed by code, with ``name``) after
    counts drawn from a stable intensity over three years and a season, and its backtest."""
    rng = np.random.default_rng(seed)
    season = 4 if freq == "Q" else 12
    periods = pd.period_range("2022-01-01", periods=3 * season + season, freq=freq)
    level = rng.gamma(2.0, 1.0, len(communes))
    counts = pd.DataFrame(rng.poisson(level[:, None] * np.ones(len(periods))),
                          index=communes.index, columns=periods)
    static = pd.DataFrame({"border": rng.uniform(0, 1, len(communes))}, index=communes.index)
    graph, area = queen_contiguity(communes), fc.unit_areas(communes)
    origins = counts.columns[-2:]
    code = pd.Series(np.arange(len(area), dtype=float), index=area.index)
    track = fc.backtest(counts, static, graph, area, origins=2, freq=freq,
                        baselines={"kde": pd.DataFrame({p: code for p in origins})})
    fit = fc.fit_forecast(counts, static, graph, freq=freq)
    return fc.forecast_layer(communes.drop(columns="geometry"), unit_set="2025", fit=fit,
                             track=track, area=area, best_scores=code, freq=freq,
                             caveats=caveats)
