"""Emerging hot spots: how each commune's clustering of incidents changes over time.

Emerging Hot Spot Analysis, with the category definitions of ArcGIS Pro's
tool of that name (Space Time Pattern Mining): incidents are counted per
commune and period, Getis-Ord Gi* (``esda.G_Local``, ``star=True``) marks
each commune-period as a significant hot spot, cold spot or neither, the
Mann–Kendall test measures the trend of each commune's Gi* z-scores, and the
two together give one of 17 categories (điểm nóng mới, … điểm lạnh …, không
phát hiện mẫu hình). The definitions, their order of evaluation and the
choices made where ArcGIS is silent are in ``docs/emerging_hotspots.md``.

Differences from ArcGIS, on purpose: the neighbourhood is spatial only (queen
contiguity of the communes, no time window); Gi* p-values come from the
conditional permutation distribution, enumerated exactly for counts (no
seed; esda's random permutations only where the enumeration would cost too
much), rather than the normal approximation, which in a sparse quarter makes
a whole neighbourhood "hot" from one incident; and no FDR correction by
default (``permutations=0, fdr=True`` gives ArcGIS's inference). Contiguity,
islands, the p-values and the Benjamini–Hochberg threshold are
:mod:`layers.inference`'s, the same as the Gi* map's (:mod:`layers.hotspots`).

esda and scipy are imported where they compute: a server starts without them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from geo.units import code_column
from layers.counts import INCIDENT_TYPES
from layers.inference import (
    INFERENCES,
    TIE_RTOL,
    fdr_threshold,
    gi_star_statistic,
    gi_star_test,
    island_mask,
    queen_contiguity,
)
from layers.layer import Caveat, Layer
from layers.periods import within

if TYPE_CHECKING:
    from libpysal.graph import Graph

__all__ = [
    "ALPHA",
    "CATEGORIES",
    "CATEGORY_CODES",
    "CATEGORY_COLOURS",
    "CATEGORY_SCALE",
    "GROUPS",
    "GROUP_COLOURS",
    "GROUP_OF",
    "NO_PATTERN_COLOUR",
    "MannKendall",
    "emerging_category",
    "emerging_hotspots",
    "emerging_layer",
    "gi_star_series",
    "legend_entries",
    "mann_kendall",
    "mann_kendall_rows",
    "period_counts",
    "significance_bins",
]

#: Significance level of the hot/cold bins and of the trend. ArcGIS counts a bin as a
#: significant hot (cold) spot when it falls in one of its 90 / 95 / 99 % confidence
#: classes (two-sided p < 0.10, after its FDR correction); we use the same level.
ALPHA = 0.10

_PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing",
             "sporadic", "oscillating", "historical")
#: Every category, in legend order: no pattern, the eight hot, the eight cold ones.
CATEGORIES = ("no_pattern",) + tuple(f"{p}_hot" for p in _PATTERNS) + tuple(
    f"{p}_cold" for p in _PATTERNS)
#: Numeric code of each category (what the map colours by): 0 no pattern, 1–8 hot, 9–16 cold.
CATEGORY_CODES = {name: code for code, name in enumerate(CATEGORIES)}

#: What a reader tells apart on the map, most pressing first: the eight patterns in five
#: groups (new, consecutive and intensifying are all "emerging now"; sporadic and oscillating
#: both come and go). Each group has one colour per direction; the legend names the
#: categories present in each group (:func:`legend_entries`), the hover the commune's own.
GROUPS = ("emerging", "persistent", "diminishing", "sporadic", "historical")
GROUP_OF = {"new": "emerging", "consecutive": "emerging", "intensifying": "emerging",
            "persistent": "persistent", "diminishing": "diminishing", "sporadic": "sporadic",
            "oscillating": "sporadic", "historical": "historical"}
# Reds to pale orange (hot) and blues (cold), darker = more pressing now. In grey print the
# five groups of a direction are about 14–23 L* apart (L* 20, 42, 56–58, 72, 86) and no
# pattern is near white (99); the direction reads by hue and by the legend's words, as on
# the Gi* map. Every two colours stay at least ΔE 13 apart for the common colour-vision
# deficiencies (tests/test_colour_scales.py).
GROUP_COLOURS = {
    "hot": {"emerging": "#67000d", "persistent": "#c0262d", "diminishing": "#e0601a",
            "sporadic": "#f99a48", "historical": "#fdd0a2"},
    "cold": {"emerging": "#08306b", "persistent": "#2166ac", "diminishing": "#4a90c6",
             "sporadic": "#7fb6dc", "historical": "#c6dbef"},
}
NO_PATTERN_COLOUR = "#fcfcfc"
#: Fill colour of each category: its group's, in its direction.
CATEGORY_COLOURS = {"no_pattern": NO_PATTERN_COLOUR} | {
    f"{p}_{kind}": GROUP_COLOURS[kind][GROUP_OF[p]] for kind in ("hot", "cold") for p in _PATTERNS
}
_ZMIN, _ZMAX = -0.5, len(CATEGORIES) - 0.5
#: Stepped Plotly scale for the codes, exact when drawn with zmin=-0.5, zmax=16.5
#: (one flat step per code; given in the layer's params as ``zmin`` / ``zmax``).
CATEGORY_SCALE = tuple(
    stop
    for code, name in enumerate(CATEGORIES)
    for stop in ((round(code / len(CATEGORIES), 6), CATEGORY_COLOURS[name]),
                 (round((code + 1) / len(CATEGORIES), 6), CATEGORY_COLOURS[name]))
)

_FREQS = ("Q", "M")


def legend_entries(categories: Iterable[str]) -> list[dict]:
    """The legend of a map of ``categories``: one entry per group present, hot groups first
    (most pressing first), then cold ones, then no pattern.

    Parameters
    ----------
    categories : iterable of str
        The communes' categories (repeats and missing values are ignored; an unknown
        name is refused).

    Returns
    -------
    list of dict
        ``key`` (``"emerging_hot"`` …, ``"no_pattern"``), ``colour`` and ``categories``
        (those present in the group, in the order of :data:`CATEGORIES`).

    Examples
    --------
    >>> [(e["key"], e["categories"]) for e in legend_entries(
    ...     ["no_pattern", "intensifying_hot", "new_hot", "historical_cold", "new_hot"])]
    [('emerging_hot', ['new_hot', 'intensifying_hot']), ('historical_cold', \
['historical_cold']), ('no_pattern', ['no_pattern'])]
    """
    present = {c for c in categories if isinstance(c, str)}
    unknown = present - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown emerging categories {sorted(unknown)}")
    entries = []
    for kind in ("hot", "cold"):
        for group in GROUPS:
            chosen = [c for c in CATEGORIES[1:]
                      if c in present and c.endswith(f"_{kind}")
                      and GROUP_OF[c.rsplit("_", 1)[0]] == group]
            if chosen:
                entries.append({"key": f"{group}_{kind}", "colour": GROUP_COLOURS[kind][group],
                                "categories": chosen})
    if "no_pattern" in present:
        entries.append({"key": "no_pattern", "colour": NO_PATTERN_COLOUR,
                        "categories": ["no_pattern"]})
    return entries


# -- counting -------------------------------------------------------------------------------

def period_counts(
    incidents: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    unit_set: str = "2025",
    freq: str = "Q",
    types: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Count incidents per commune and period (quarter or month), zero-filled.

    Parameters
    ----------
    incidents : DataFrame
        Joined records: ``date`` (datetime64), ``type``, ``new_code``, ``old_code``.
    communes : DataFrame
        The units of ``unit_set`` indexed by code; every one is a row of the result.
    unit_set : {"2025", "legacy"}
        Which code column to group by.
    freq : {"Q", "M"}
        Calendar quarters or months.
    types : iterable of str, optional
        Incident types to keep; all when ``None``.
    start, end : date, optional
        Inclusive dates; by default the first and last record kept. Every
        period from the one holding ``start`` to the one holding ``end`` is a
        column, empty or not. A ``start``/``end`` inside a period makes that
        period partial (counted only from/until that day): prefer period bounds.

    Returns
    -------
    DataFrame
        Integer counts, indexed like ``communes``, columns a ``PeriodIndex``
        named ``period``, oldest first. Records of codes outside ``communes``
        are not counted.

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-01-05", "2024-07-01", "2024-07-02"]),
    ...                     "type": ["tip", "tip", "victim"], "new_code": ["25681"] * 3,
    ...                     "old_code": ["25699"] * 3})
    >>> com = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Tân Lập"]}, index=["25681", "25489"])
    >>> period_counts(inc, com)
    period  2024Q1  2024Q2  2024Q3
    25681        1       0       2
    25489        0       0       0
    """
    if freq not in _FREQS:
        raise ValueError(f"freq must be one of {_FREQS}, not {freq!r}")
    column = code_column(unit_set)
    chosen = tuple(INCIDENT_TYPES if types is None else types)
    unknown = set(chosen) - set(INCIDENT_TYPES)
    if unknown:
        raise ValueError(f"unknown incident types {sorted(unknown)}")
    kept = _select(incidents, chosen, start, end)
    # no record of the chosen types: the periods still span the records' own dates
    periods = _period_range(kept["date"] if len(kept) else incidents["date"], freq, start, end)
    if not len(kept):
        return pd.DataFrame(0, index=communes.index, columns=periods, dtype=int)
    table = (
        kept.groupby([kept[column], kept["date"].dt.to_period(freq).rename("period")]).size()
        .unstack(fill_value=0)
    )
    return table.reindex(index=communes.index, columns=periods, fill_value=0).astype(int)


def _select(incidents: pd.DataFrame, types: tuple[str, ...], start, end) -> pd.DataFrame:
    mask = incidents["type"].isin(types) & within(incidents["date"], start, end)
    return incidents.loc[mask]


def _period_range(dates: pd.Series, freq: str, start, end) -> pd.PeriodIndex:
    first = pd.Timestamp(start) if start is not None else dates.min()
    last = pd.Timestamp(end) if end is not None else dates.max()
    if pd.isna(first) or pd.isna(last):
        raise ValueError("no period: give start and end, or records to count")
    if start is None and last < first:
        first = last  # a period that ends before the first record: its own last quarter
    if last < first:
        raise ValueError(f"end {last.date()} is before start {first.date()}")
    return pd.period_range(first.to_period(freq), last.to_period(freq), freq=freq, name="period")


# -- Gi* per period ---------------------------------------------------------------------------

def gi_star_series(
    counts: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    permutations: int = 999,
    seed: int = 0,
    n_jobs: int = 1,
    inference: str = "auto",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Getis-Ord Gi* of every period, on the communes' queen contiguity.

    One ``esda.G_Local(star=True, transform="B")`` per period (column) on the
    same weights: binary queen contiguity of the polygons
    (:func:`layers.inference.queen_contiguity`, the Gi* map's), each commune
    its own neighbour with weight 1 (Gi*), its p-values from
    :func:`layers.inference.gi_star_test` (the Gi* map's). Row-standardising
    would not change the z-scores or p-values of Gi*.

    Parameters
    ----------
    counts : DataFrame
        Communes × periods, as from :func:`period_counts`; the same codes as
        ``communes`` (in any order).
    communes : GeoDataFrame
        Commune polygons indexed by code.
    permutations : int
        Conditional permutations per period where they are used (see
        ``inference``); 0 uses the normal approximation instead.
    seed : int
        Seed of the permutations of the first period; period ``k`` uses
        ``seed + k``. The same seed gives the same result. Exact periods use none.
    n_jobs : int
        Passed to esda (1 is fastest for a province's ~100 communes).
    inference : {"auto", "exact", "permutation"}
        As :func:`layers.inference.gi_star_test`: ``"auto"`` enumerates each
        period's conditional distribution exactly (counts), with esda's
        permutations only for a period where that would cost more than
        :data:`layers.inference.EXACT_MAX_CELLS`. Ignored when ``permutations=0``.

    Returns
    -------
    z : DataFrame
        Gi* z-scores (esda's ``Zs``), shaped like ``counts``.
    p : DataFrame
        Two-sided p-values, not corrected for multiple tests: from the
        conditional permutation distribution, twice the smaller tail with
        ties counted in both tails (:func:`layers.inference.exact_gi_star_p`,
        or :func:`layers.inference.permutation_p` on esda's ``rGs``; as the
        Gi* map's ``p_value``; esda's own ``p_sim`` makes ties significant),
        capped at 1; ``2 * p_norm`` without permutations. ``p.attrs["inference"]``
        maps each period to ``"exact"``, ``"permutation"``, ``"normal"`` or
        None (nothing recorded: no test). Periods where every
        commune has the same count (all zero: nothing recorded) carry no
        information: z = 0, p = 1 for every commune. So does a commune whose
        neighbourhood is every commune (no variance). A commune without a
        neighbour (an island) has p = NaN in every period: esda gives it
        simulated statistics of 0, so any incident there would look
        significant; it is never a hot or cold spot.

    Examples
    --------
    >>> import pandas as pd
    >>> from shapely.geometry import box
    >>> import geopandas as gpd
    >>> grid = gpd.GeoDataFrame(geometry=[box(x, y, x + 1, y + 1)
    ...                                   for y in range(4) for x in range(4)],
    ...                         index=[f"c{i:02d}" for i in range(16)])
    >>> counts = pd.DataFrame({"2024Q1": [9, 9] + [0] * 14, "2024Q2": [0] * 16},
    ...                       index=grid.index)
    >>> z, p = gi_star_series(counts, grid)
    >>> bool(z.loc["c00", "2024Q1"] > 2), p.attrs["inference"]
    (True, {'2024Q1': 'exact', '2024Q2': None})
    >>> float(z.loc["c00", "2024Q2"]), float(p.loc["c00", "2024Q2"])  # nothing recorded
    (0.0, 1.0)
    """
    counts = _aligned(counts, communes)
    if inference not in INFERENCES:
        raise ValueError(f"unknown inference {inference!r}: use one of {INFERENCES}")
    graph = queen_contiguity(communes.loc[counts.index])
    islands = island_mask(graph, counts.index)
    z = pd.DataFrame(0.0, index=counts.index, columns=counts.columns)
    p = pd.DataFrame(np.where(islands, np.nan, 1.0)[:, None].repeat(counts.shape[1], axis=1),
                     index=counts.index, columns=counts.columns)
    used = {}
    for k, period in enumerate(counts.columns):
        y = counts[period].to_numpy(dtype=float)
        if np.ptp(y) == 0:
            used[str(period)] = None
            continue
        z[period], p[period], used[str(period)] = _gi_star(
            y, graph, islands, permutations, seed + k, n_jobs, inference)
    p.attrs["inference"] = used
    return z, p


def _aligned(counts: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    missing = communes.index.difference(counts.index)
    extra = counts.index.difference(communes.index)
    if len(missing) or len(extra):
        raise ValueError(f"counts and communes differ: missing {list(missing)[:5]}, "
                         f"unknown {list(extra)[:5]}")
    if counts.shape[1] == 0:
        raise ValueError("counts has no period")
    return counts.loc[communes.index]


def _gi_star(y: np.ndarray, graph: Graph, islands: np.ndarray, permutations: int, seed: int,
             n_jobs: int, inference: str):
    """z, p and how p was obtained, for one period."""
    if permutations:
        g = gi_star_test(y, graph, inference=inference, permutations=permutations, seed=seed,
                         islands=islands, n_jobs=n_jobs)
        zs, p, used = g.Zs, g.p_value, g.inference
    else:
        g = gi_star_statistic(y, graph, n_jobs)
        zs, p, used = g.Zs, np.where(islands, np.nan, np.minimum(2.0 * g.p_norm, 1.0)), "normal"
    untestable = ~np.isfinite(zs)  # the neighbourhood is every commune: no variance
    return np.where(untestable, 0.0, zs), np.where(untestable & ~islands, 1.0, p), used


# -- trend ------------------------------------------------------------------------------------

class MannKendall(NamedTuple):
    """Result of the Mann–Kendall trend test (names as in the literature)."""

    s: float  #: S = Σ_{i<j} sign(x_j − x_i)
    var_s: float  #: variance of S under no trend, corrected for ties
    tau: float  #: Kendall's tau-b of the series against time, S / √(n₀ (n₀ − T))
    z: float  #: (S − sign S) / √var_s, with continuity correction; 0 when S = 0
    p: float  #: two-sided p-value of z


def mann_kendall(series: Sequence[float]) -> MannKendall:
    """Mann–Kendall test for a monotonic trend of a series ordered in time.

    ``S = Σ_{i<j} sign(x_j − x_i)``; under no trend S has mean 0 and variance
    ``[n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18`` (``t``: sizes of the groups of tied
    values); ``z = (S − 1)/σ`` for S > 0, ``(S + 1)/σ`` for S < 0, 0 for S = 0;
    p is two-sided from the normal distribution. ``tau`` equals
    ``scipy.stats.kendalltau(range(n), series)`` (tau-b; time has no ties).

    Parameters
    ----------
    series : sequence of float
        Oldest first (here: a commune's Gi* z-scores, period by period).

    Returns
    -------
    MannKendall
        ``s``, ``var_s``, ``tau``, ``z``, ``p``. Fewer than 2 values, or all
        equal: S = 0, z = 0, p = 1 (tau is NaN when undefined).

    Examples
    --------
    >>> r = mann_kendall([1, 3, 2, 4, 4])
    >>> r.s, round(r.var_s, 4), round(r.z, 4), round(r.p, 4)
    (7.0, 15.6667, 1.5159, 0.1296)
    """
    from scipy.stats import norm

    x = np.asarray(series, dtype=float)
    n = len(x)
    upper = np.triu_indices(n, k=1)
    s = float(np.sign(x[None, :] - x[:, None])[upper].sum())
    _, ties = np.unique(x, return_counts=True)
    var_s = float((n * (n - 1) * (2 * n + 5) - (ties * (ties - 1) * (2 * ties + 5)).sum()) / 18)
    pairs = n * (n - 1) / 2
    tied_pairs = float((ties * (ties - 1) / 2).sum())
    denom = np.sqrt(pairs * (pairs - tied_pairs))
    tau = s / denom if denom > 0 else float("nan")
    if s == 0 or var_s <= 0:
        return MannKendall(s, var_s, tau, 0.0, 1.0)
    z = (s - np.sign(s)) / np.sqrt(var_s)
    return MannKendall(s, var_s, float(tau), float(z), float(2 * norm.sf(abs(z))))


def mann_kendall_rows(values: np.ndarray) -> list[MannKendall]:
    """:func:`mann_kendall` of every row of ``values`` at once: the same numbers, to the bit.

    The emerging hot spots test each commune's series of Gi* z-scores (3,321 communes in
    the country on every new filter state): S from the signs of all pairs, the ties from
    each sorted row, in a few array operations. A row holding a NaN is passed to
    :func:`mann_kendall` itself.

    >>> [r.s for r in mann_kendall_rows(np.array([[1, 3, 2, 4, 4], [5, 4, 3, 2, 1.0]]))]
    [7.0, -10.0]
    """
    from scipy.stats import norm

    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValueError("values must be a 2-d array: one series per row")
    rows, n = x.shape
    if rows == 0:
        return []
    upper = np.triu_indices(n, k=1)
    s = np.sign(x[:, None, :] - x[:, :, None])[:, upper[0], upper[1]].sum(axis=1)
    # the sizes of the groups of tied values of each row (0 where a row has fewer groups)
    ordered = np.sort(x, axis=1)
    starts = np.ones((rows, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group = np.cumsum(starts, axis=1) - 1
    ties = np.zeros((rows, n), dtype=np.int64)
    np.add.at(ties, (np.repeat(np.arange(rows), n), group.ravel()), 1)
    var_s = (n * (n - 1) * (2 * n + 5) - (ties * (ties - 1) * (2 * ties + 5)).sum(axis=1)) / 18
    pairs = n * (n - 1) / 2
    tied_pairs = (ties * (ties - 1) / 2).sum(axis=1)
    denom = np.sqrt(pairs * (pairs - tied_pairs))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(denom > 0, s / np.where(denom > 0, denom, 1.0), np.nan)
        flat = (s == 0) | (var_s <= 0)
        z = np.where(flat, 0.0, (s - np.sign(s)) / np.sqrt(np.where(flat, 1.0, var_s)))
    p = np.where(flat, 1.0, 2 * norm.sf(np.abs(z)))
    missing = np.isnan(x).any(axis=1)
    return [mann_kendall(row) if gap else
            MannKendall(float(si), float(vi), float(ti), float(zi), float(pi))
            for row, gap, si, vi, ti, zi, pi in zip(x, missing.tolist(), s.tolist(),
                                                    var_s.tolist(), tau.tolist(), z.tolist(),
                                                    p.tolist(), strict=True)]


# -- classification ---------------------------------------------------------------------------

def significance_bins(
    z: pd.DataFrame, p: pd.DataFrame, *, alpha: float = ALPHA, fdr: bool = False
) -> pd.DataFrame:
    """Hot (+1), cold (−1) or not significant (0) per commune and period.

    Parameters
    ----------
    z, p : DataFrame
        From :func:`gi_star_series`.
    alpha : float
        Significance level (default 0.10, ArcGIS's 90 % confidence and above).
    fdr : bool
        Benjamini–Hochberg correction within each period, as ArcGIS does on
        its normal-theory p-values (use it with ``permutations=0``): a
        commune-period is significant when ``p <= fdr_threshold(p, alpha)``
        (:func:`layers.inference.fdr_threshold`, the largest ``k alpha / n``
        reached by the k-th smallest p-value, ``n`` the communes with a
        neighbour). Off by default. The exact p-values have no floor (999
        permutations had one, 0.002), but the conditional null bounds what a
        small cluster can reach: a commune of a cluster of three is as extreme
        as it gets when its ``k`` neighbours hold the two other members, about
        ``2 k (k − 1) / (95 × 94)`` (0.002–0.012 on the 2025 communes) whatever
        their counts, while BH at 10 % on 96 communes asks 0.003 of the third
        smallest p-value. Re-simulated (``docs/emerging_hotspots.md``), FDR
        leaves almost no chance pattern but finds 3 of 30 planted communes,
        against 28 of 30 without it. It applies to the significance classes
        only; ``z`` and ``p`` are not changed.

    Returns
    -------
    DataFrame
        Integers in {−1, 0, 1}, shaped like ``z``: the sign of ``z`` where
        ``p <= alpha`` (or the FDR threshold), as the Gi* map's classes
        (:mod:`layers.hotspots`: 90 % where p ≤ 0.10); 0 elsewhere and where
        p is NaN (islands).

    Examples
    --------
    >>> import pandas as pd
    >>> z = pd.DataFrame({"q1": [3.1, -2.0, 0.4]})
    >>> p = pd.DataFrame({"q1": [0.002, 0.04, 0.7]})
    >>> significance_bins(z, p)["q1"].tolist()
    [1, -1, 0]
    """
    if fdr:
        thresholds = pd.Series({period: fdr_threshold(p[period].to_numpy(dtype=float), alpha)
                                for period in p.columns}, dtype=float)
    else:
        thresholds = pd.Series(alpha, index=p.columns, dtype=float)
    # equal up to rounding is equal (an exact p-value of 0.10 may be a few ulps above it);
    # NaN (an island) is never significant
    significant = p.le(thresholds * (1 + TIE_RTOL), axis="columns")
    return (np.sign(z) * significant).astype(int)


def emerging_category(
    bins: Sequence[int], trend_z: float, trend_p: float, *, alpha: float = ALPHA
) -> str:
    """The ArcGIS emerging hot spot category of one location.

    Evaluated in this order (first match wins; "hot" is +1, "cold" −1, "most"
    is at least 90 % of the periods; the cold rules mirror the hot ones, with
    the trend sign reversed):

    1. no significant period: ``no_pattern``;
    2. only the final period significant: ``new_hot`` / ``new_cold``;
    3. hot in most periods: final hot → ``intensifying_hot`` (trend up,
       p < alpha), ``diminishing_hot`` (trend down) or ``persistent_hot`` (no
       significant trend); final not hot → ``historical_hot``; likewise cold;
    4. final period hot: ``oscillating_hot`` if any period was cold; else
       ``consecutive_hot`` if the hot periods are one uninterrupted run ending
       at the final period; else ``sporadic_hot``; likewise for a cold final;
    5. otherwise ``no_pattern``.

    Parameters
    ----------
    bins : sequence of int
        +1 / −1 / 0 per period, oldest first (from :func:`significance_bins`).
    trend_z, trend_p : float
        Mann–Kendall z and p of the location's Gi* z-scores.
    alpha : float
        Significance level of the trend.

    Returns
    -------
    str
        One of :data:`CATEGORIES`.

    Examples
    --------
    >>> emerging_category([0, 0, 0, 0, 1], 1.2, 0.23)
    'new_hot'
    >>> emerging_category([0, 0, 0, 1, 1, 1], 2.2, 0.03)
    'consecutive_hot'
    >>> emerging_category([-1] * 10, -3.0, 0.003)
    'intensifying_cold'
    """
    b = np.sign(np.asarray(bins, dtype=int))
    if b.ndim != 1 or len(b) == 0:
        raise ValueError("bins must be a non-empty 1-d sequence")
    if not b.any():
        return "no_pattern"
    n = len(b)
    final = b[-1]
    if final and np.count_nonzero(b) == 1:
        return _named("new", final)
    up = trend_p < alpha and trend_z > 0
    down = trend_p < alpha and trend_z < 0
    for sign in (1, -1):
        # "at least 90 percent of the time-step intervals", exactly, in integers
        if 10 * np.count_nonzero(b == sign) >= 9 * n:
            if final != sign:
                return _named("historical", sign)
            stronger, weaker = (up, down) if sign > 0 else (down, up)
            return _named("intensifying" if stronger else "diminishing" if weaker
                          else "persistent", sign)
    if final:
        if (b == -final).any():
            return _named("oscillating", final)
        same = np.flatnonzero(b == final)
        if same[-1] - same[0] + 1 == len(same):  # one run, ending at the final period
            return _named("consecutive", final)
        return _named("sporadic", final)
    return "no_pattern"


def _named(pattern: str, sign: int) -> str:
    return f"{pattern}_{'hot' if sign > 0 else 'cold'}"


def emerging_hotspots(
    counts: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    alpha: float = ALPHA,
    fdr: bool = False,
    permutations: int = 999,
    seed: int = 0,
    n_jobs: int = 1,
    inference: str = "auto",
) -> pd.DataFrame:
    """Classify every commune by how its hot or cold spot status evolves.

    Gi* per period (:func:`gi_star_series`), significance per period
    (:func:`significance_bins`), Mann–Kendall trend of each commune's Gi*
    z-scores (:func:`mann_kendall`), then :func:`emerging_category`.

    Parameters
    ----------
    counts : DataFrame
        Communes × periods, oldest first (:func:`period_counts`).
    communes : GeoDataFrame
        Commune polygons indexed by code (``name`` is carried if present).
    alpha : float
        Significance level of the bins and of the trend (ArcGIS: 0.10).
    fdr : bool
        False-discovery-rate correction of the bins within each period; see
        :func:`significance_bins`. ``permutations=0, fdr=True`` is ArcGIS's
        inference (normal approximation, FDR).
    permutations, seed, n_jobs, inference
        As in :func:`gi_star_series`.

    Returns
    -------
    DataFrame
        Indexed by code (the order of ``communes``): ``name`` (if given),
        ``category``, ``category_code``, ``trend_tau``, ``trend_z``,
        ``trend_p``, ``n_hot``, ``n_cold`` (significant periods),
        ``last_hot``, ``last_cold`` (the final period).

    Examples
    --------
    >>> import pandas as pd, geopandas as gpd
    >>> from shapely.geometry import box
    >>> grid = gpd.GeoDataFrame(geometry=[box(x, y, x + 1, y + 1)
    ...                                   for y in range(6) for x in range(6)],
    ...                         index=[f"c{i:02d}" for i in range(36)])
    >>> counts = pd.DataFrame(1, index=grid.index,
    ...                       columns=pd.period_range("2023Q1", periods=4, freq="Q"))
    >>> block = ["c00", "c01", "c02", "c06", "c07", "c08", "c12", "c13", "c14"]
    >>> counts.loc[block, counts.columns[-1]] = 9  # a 3 x 3 block flares up in the last quarter
    >>> result = emerging_hotspots(counts, grid)
    >>> result.loc["c07", "category"], result.loc["c35", "category"]
    ('new_hot', 'no_pattern')
    """
    return _classified(counts, communes, alpha=alpha, fdr=fdr, permutations=permutations,
                       seed=seed, n_jobs=n_jobs, inference=inference)[0]


def _classified(counts, communes, *, alpha, fdr, permutations, seed, n_jobs, inference):
    """:func:`emerging_hotspots`'s table and how each period's p-values were obtained."""
    counts = _aligned(counts, communes)
    z, p = gi_star_series(counts, communes, permutations=permutations, seed=seed,
                          n_jobs=n_jobs, inference=inference)
    bins = significance_bins(z, p, alpha=alpha, fdr=fdr)
    trends = mann_kendall_rows(z.to_numpy())
    categories = [emerging_category(b, t.z, t.p, alpha=alpha)
                  for b, t in zip(bins.to_numpy(), trends, strict=True)]
    result = pd.DataFrame(index=counts.index)
    if "name" in communes.columns:
        result["name"] = communes["name"]
    result["category"] = categories
    result["category_code"] = result["category"].map(CATEGORY_CODES).astype(int)
    result["trend_tau"] = [t.tau for t in trends]
    result["trend_z"] = [t.z for t in trends]
    result["trend_p"] = [t.p for t in trends]
    result["n_hot"] = (bins > 0).sum(axis=1).astype(int)
    result["n_cold"] = (bins < 0).sum(axis=1).astype(int)
    result["last_hot"] = bins.iloc[:, -1] > 0
    result["last_cold"] = bins.iloc[:, -1] < 0
    return result, p.attrs["inference"]


# -- the layer --------------------------------------------------------------------------------

def emerging_layer(
    incidents: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    unit_set: str = "2025",
    freq: str = "Q",
    types: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    alpha: float = ALPHA,
    fdr: bool = False,
    permutations: int = 999,
    seed: int = 0,
    caveats: Iterable[Caveat] = (),
    inference: str = "auto",
) -> Layer:
    """The emerging hot spot map: one category per commune, coloured by its code.

    Parameters
    ----------
    incidents : DataFrame
        Joined records (``date``, ``type``, ``new_code``, ``old_code``).
    communes : GeoDataFrame
        Polygons of ``unit_set`` indexed by code, with ``name``.
    unit_set, freq, types, start, end
        As in :func:`period_counts`.
    alpha, fdr, permutations, seed, inference
        As in :func:`emerging_hotspots`.
    caveats : iterable of Caveat
        Carried to every rendering; with
        :attr:`~layers.layer.Caveat.PERMUTATION_INFERENCE` added when a
        period's p-values came from random permutations.

    Returns
    -------
    Layer
        ``frame`` is the table of :func:`emerging_hotspots`; ``value`` is
        ``category_code``; ``params`` holds the category → code table
        (``categories``), the colours, ``zmin``/``zmax`` of the stepped scale,
        the periods, every analysis setting, ``inference`` (``"exact"`` when
        every tested period was enumerated exactly, ``"permutation"`` when
        any used random permutations, ``"normal"`` with ``permutations=0``,
        None when no period had a record), ``inference_by_period`` (period →
        the same, None for a period without a record) and ``islands``
        (communes without a neighbour: never significant, so always
        ``no_pattern``), ``about_key`` (what the map shows, with or without
        FDR: ``layer.emerging.about`` or ``layer.emerging.about_fdr``).

    Examples
    --------
    >>> import pandas as pd, geopandas as gpd
    >>> from shapely.geometry import box
    >>> grid = gpd.GeoDataFrame({"name": [f"Xã {i}" for i in range(9)]},
    ...                         geometry=[box(x, y, x + 1, y + 1)
    ...                                   for y in range(3) for x in range(3)],
    ...                         index=[f"c{i}" for i in range(9)])
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-02-01"]), "type": ["tip"],
    ...                     "new_code": ["c0"], "old_code": ["c0"]})
    >>> layer = emerging_layer(inc, grid, start=pd.Timestamp("2024-01-01"),
    ...                        end=pd.Timestamp("2024-12-31"))
    >>> layer.value, layer.params["periods"], layer.params["categories"]["new_hot"]
    ('category_code', ['2024Q1', '2024Q2', '2024Q3', '2024Q4'], 1)
    >>> layer.params["inference"], layer.caveats
    ('exact', ())
    """
    chosen = tuple(INCIDENT_TYPES if types is None else types)
    counts = period_counts(incidents, communes, unit_set=unit_set, freq=freq, types=chosen,
                           start=start, end=end)
    frame, used = _classified(counts, communes, alpha=alpha, fdr=fdr,
                              permutations=permutations, seed=seed, n_jobs=1,
                              inference=inference)
    tested = {u for u in used.values() if u is not None}
    overall = ("permutation" if "permutation" in tested else "normal" if "normal" in tested
               else "exact" if tested else None)
    caveats = tuple(caveats)
    if overall == "permutation" and Caveat.PERMUTATION_INFERENCE not in caveats:
        caveats += (Caveat.PERMUTATION_INFERENCE,)
    return Layer(
        frame=frame,
        value="category_code",
        unit_set=unit_set,
        kind="emerging",
        title_key="layer.emerging.title",
        legend_key="layer.emerging.legend",
        units_key="unit.category",
        params={
            "types": chosen, "start": start, "end": end, "freq": freq,
            "periods": [str(p) for p in counts.columns],
            "alpha": alpha, "fdr": fdr, "permutations": permutations, "seed": seed,
            "inference": overall, "inference_by_period": used,
            "islands": tuple(queen_contiguity(communes).isolates),
            "categories": dict(CATEGORY_CODES), "colours": dict(CATEGORY_COLOURS),
            "zmin": _ZMIN, "zmax": _ZMAX,
            "about_key": "layer.emerging.about_fdr" if fdr else "layer.emerging.about",
        },
        colorscale=CATEGORY_SCALE,
        caveats=caveats,
    )
