"""Next-period forecast per commune, and its measured track record (rolling-origin backtest).

Dự báo quý tới. The commander's third question is where to patrol next; this
module answers it with a count model a statistician would accept, and says
how well the same model would have answered in each of the last periods,
beside the simple baselines it must beat.

**The model.** A Poisson GLM with a log link and a ridge (L2) penalty,
statsmodels' ``GLM.fit_regularized(L1_wt=0)`` on standardised features (the
intercept is not penalised). One row per commune and period; the count of the
period is explained by what was known at its start:

- ``lag1``: log(1 + count of the period before);
- ``lag4``: log(1 + count of the same period a year before);
- ``year``: log(1 + mean count of the four periods before);
- ``nb_lag1``, ``nb_year``: the same for the mean of the queen-contiguity
  neighbours (:func:`layers.inference.queen_contiguity`, the Gi* map's);
- ``campaign``: the share of the period's days in the peak-campaign window
  01/7–30/9 (:data:`layers.compare.CAMPAIGN`);
- ``border``, ``gate_<id>``: closeness ``exp(-km / 10)`` to the border and to
  each gate, from :mod:`layers.proximity` (from the commune's polygon);
- ``population``: log of the latest population, where the unit set has one.

**Baselines** it is compared with: last period's counts; last year's kernel
density aggregated to the communes (:func:`kde_expected`); the Gi* z-scores of
last year's counts; the key-area score (these two are given by the caller,
who holds the layers' memo).

**Track record** (:func:`backtest`). For each of the last 8 periods (the
origins), everything is fitted on the periods before it only, and each
method's ranking of the communes is scored on what happened in it: hit rate,
PAI and PEI at 5, 10 and 20 % of the province's area. The definitions are
the NIJ Real-Time Crime Forecasting Challenge's (2017), after Chainey,
Tompson and Uhlig (2008) and Hunt (2016):

- hit rate ``n / N``: the share of the period's incidents that fell in the
  flagged area;
- PAI ``(n / N) / (a / A)``: the hit rate over the share of area flagged;
- PEI ``n / n*``: the incidents caught over the most that any flag of the
  same area could have caught (``n*``: the communes ranked by their actual
  count per km²). 1 is perfect.

Communes are not of equal area, so "flag 10 % of the area" is read as the
curve of hits against area, interpolated: the communes are taken in order of
their score (count per km² for the methods that forecast counts); the one
that crosses the cut-off counts for the part of its area that fits, and
communes tied on a score are taken as one block (the expected catch of a
random order among them). Each method then flags exactly the same area.

**Bias.** Records are detections: they grow where patrols and informants
already are. A forecast built on them points back at the same places; the
backtest reports how much of the model's ranking last period's counts alone
carry (:attr:`Backtest.lag1_share`).

Too little history (fewer than :data:`MIN_PERIODS` periods, or fewer than
:data:`MIN_INCIDENTS` incidents in the training window) gives no forecast and
the reason (:func:`history_problem`), never a map of noise.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.compare import CAMPAIGN
from layers.counts import INCIDENT_TYPES, SEQUENTIAL_SCALE
from layers.layer import Caveat, Layer
from layers.proximity import METRIC_CRS, border_distance, gate_distances

__all__ = [
    "AREA_SHARES",
    "CLOSENESS_KM",
    "LAG1_FEATURES",
    "MIN_CELL_RATE",
    "MIN_INCIDENTS",
    "MIN_PERIODS",
    "MIN_PERIODS_BY_FREQ",
    "ORIGINS",
    "RIDGE_ALPHA",
    "SEASON",
    "Backtest",
    "ForecastFit",
    "area_metrics",
    "backtest",
    "campaign_share",
    "design_matrix",
    "fit_forecast",
    "flag_area",
    "forecast_layer",
    "grid_areas",
    "grid_contiguity",
    "grid_counts",
    "grid_history",
    "grid_kde_scores",
    "history_problem",
    "kde_expected",
    "last_complete_period",
    "min_periods_for",
    "static_features",
    "unit_areas",
]

#: Shares of the province's area flagged in the track record (5, 10, 20 %).
AREA_SHARES = (0.05, 0.10, 0.20)
#: Periods the rolling-origin backtest looks back over.
ORIGINS = 8
#: A forecast needs at least this many periods before it (quarters; two seasons) …
MIN_PERIODS = 8
#: … two seasons of periods whatever the frequency: 8 quarters, 24 months (a row of the model
#: reads the same period a year before, so two seasons give it a year of rows to learn from).
MIN_PERIODS_BY_FREQ = {"Q": 8, "M": 24}
#: … and at least this many incidents in them.
MIN_INCIDENTS = 30
#: … and, on the 2 km grid, at least this many incidents per cell and period on average in
#: the training window: below it the counts per cell are noise (measured on a synthetic grid
#: whose true intensity is known, docs/forecast.md "The 2 km grid").
MIN_CELL_RATE = 0.1
#: Ridge penalty on the standardised coefficients (statsmodels' ``alpha``: the
#: log-likelihood is averaged per row, the penalty is ``alpha / 2 · Σ β²``). Chosen among
#: 0.001, 0.01, 0.05 and 0.2 on the demo's backtest (docs/forecast.md): the same for every
#: type within a point at 0.01–0.2, and the sparse types (victims: 9 % → 16 % at 10 % of
#: the area) need more than 0.001; the demo's track record is so a little optimistic.
RIDGE_ALPHA = 0.05
#: Scale of the closeness ``exp(-km / CLOSENESS_KM)`` to the border and the gates.
CLOSENESS_KM = 10.0
#: The periods of a year (a row's ``lag4`` reads the same period a year before, ``year`` the
#: mean of the season before; "last year" for the baselines).
SEASON = {"Q": 4, "M": 12}
_SEASON = SEASON
#: The features of the counts, in order; the static ones follow.
_DYNAMIC = ("lag1", "lag4", "year", "nb_lag1", "nb_year", "campaign")
#: Baselines that rank by a score, not by a number of incidents (their map says "score").
_SCORES = ("gi", "key_areas")
#: The features that hold last period's counts (left out to measure what they carry).
LAG1_FEATURES = ("lag1", "nb_lag1")


# -- features ----------------------------------------------------------------------------------

def last_complete_period(end: dt.date, freq: str = "Q") -> pd.Period:
    """The last period ending on or before ``end`` (a period cut short by ``end`` is not one).

    Examples
    --------
    >>> [str(last_complete_period(dt.date(2025, 12, d))) for d in (31, 30)]
    ['2025Q4', '2025Q3']
    """
    period = pd.Period(end, freq)
    return period if period.end_time.date() <= end else period - 1


def campaign_share(periods: pd.PeriodIndex) -> np.ndarray:
    """Share of each period's days inside the campaign window 01/7–30/9.

    Examples
    --------
    >>> campaign_share(pd.period_range("2024Q2", "2024Q3", freq="Q")).tolist()
    [0.0, 1.0]
    >>> round(float(campaign_share(pd.PeriodIndex(["2024-06"], freq="M"))[0]), 2)
    0.0
    """
    (m1, d1), (m2, d2) = CAMPAIGN
    out = np.zeros(len(periods))
    for i, p in enumerate(periods):
        first, last = p.start_time.date(), p.end_time.date()
        lo = max(first, dt.date(first.year, m1, d1))
        hi = min(last, dt.date(first.year, m2, d2))
        days = (last - first).days + 1
        out[i] = max((hi - lo).days + 1, 0) / days
    return out


def unit_areas(communes: gpd.GeoDataFrame) -> pd.Series:
    """Area of each commune polygon in km² (UTM 48N), indexed like ``communes``."""
    return pd.Series(communes.geometry.to_crs(METRIC_CRS).area.to_numpy() / 1e6,
                     index=communes.index, name="area_km2")


def static_features(communes: gpd.GeoDataFrame, gates: gpd.GeoDataFrame,
                    border: gpd.GeoDataFrame | gpd.GeoSeries,
                    population: pd.Series | None = None) -> pd.DataFrame:
    """The features of each commune that do not change with the period.

    Parameters
    ----------
    communes : GeoDataFrame
        Commune polygons indexed by code.
    gates : GeoDataFrame
        Gate points with ``gate_id`` and ``name`` (each gate is a feature).
    border : GeoDataFrame or GeoSeries
        The border line.
    population : Series, optional
        Residents per commune code; a missing or zero population takes the
        median (log scale). Left out when ``None`` (the former communes).

    Returns
    -------
    DataFrame
        Indexed like ``communes``: ``border``, ``gate_<gate_id>`` (closeness
        ``exp(-km / 10)``, 1 for a commune touching the line or holding the
        gate) and ``population`` (log residents) when given.
    """
    out = pd.DataFrame(index=communes.index)
    km = border_distance(communes, border, measure_from="polygon")
    out["border"] = np.exp(-km.to_numpy() / CLOSENESS_KM)
    for _, gate in gates.iterrows():
        one = gates.loc[gates["gate_id"] == gate["gate_id"]]
        d = gate_distances(communes, one, measure_from="polygon")["gate_km"]
        out[f"gate_{gate['gate_id']}"] = np.exp(-d.to_numpy() / CLOSENESS_KM)
    if population is not None:
        pop = pd.to_numeric(population.reindex(communes.index), errors="coerce")
        pop = pop.where(pop > 0)
        logged = np.log(pop)
        out["population"] = logged.fillna(logged.median() if logged.notna().any() else 0.0)
    return out


def _row_standardised(graph, index: pd.Index):
    """The neighbours' mean as a sparse matrix (an island's row is zero)."""
    from scipy import sparse

    w = graph.sparse.tocsr().astype(float)
    degree = np.asarray(w.sum(axis=1)).ravel()
    scale = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
    return sparse.diags(scale) @ w


def design_matrix(counts: pd.DataFrame, static: pd.DataFrame, graph, position: int,
                  *, freq: str = "Q") -> pd.DataFrame:
    """The features of every commune for the period at ``position`` of ``counts``' columns.

    ``position`` may be ``len(counts.columns)``: the next period, not yet observed. Only the
    columns before ``position`` are read.

    Parameters
    ----------
    counts : DataFrame
        Counts per commune (rows) and period (a ``PeriodIndex`` of columns, oldest first,
        as :func:`layers.emerging.period_counts` gives).
    static : DataFrame
        :func:`static_features`, indexed like ``counts``.
    graph : libpysal.graph.Graph
        Contiguity of the communes, ``unique_ids`` in the order of ``counts``.
    position : int
        Index of the period to describe; at least the season (4 quarters, 12 months).
    freq : {"Q", "M"}

    Returns
    -------
    DataFrame
        Indexed like ``counts``: the features of the module docstring.
    """
    season = _SEASON[freq]
    if position < season:
        raise ValueError(f"a row needs {season} periods before it; position {position} has "
                         f"{position}")
    values = counts.to_numpy(dtype=float)
    w = _row_standardised(graph, counts.index)
    last = values[:, position - 1]
    year = values[:, position - season:position].mean(axis=1)
    period = (counts.columns[position - 1] + 1 if position == len(counts.columns)
              else counts.columns[position])
    frame = pd.DataFrame({
        "lag1": np.log1p(last),
        "lag4": np.log1p(values[:, position - season]),
        "year": np.log1p(year),
        "nb_lag1": np.log1p(w @ last),
        "nb_year": np.log1p(w @ year),
        "campaign": campaign_share(pd.PeriodIndex([period]))[0],
    }, index=counts.index)
    return frame.join(static)


# -- the model ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForecastFit:
    """A fitted forecast for the period after the counts given.

    Attributes
    ----------
    period : pandas.Period
        The period forecast.
    expected : Series
        Expected incidents per commune in ``period``.
    coefficients : Series
        The fitted log-rate coefficients per unit of each raw feature, ``const`` first.
    features : tuple of str
    n_rows : int
        Commune-periods the model was fitted on.
    dispersion : float
        Pearson χ² / degrees of freedom of the fit: near 1 for Poisson counts,
        above for overdispersed ones (the ranking stays usable; the intervals would not).
    """

    period: pd.Period
    expected: pd.Series
    coefficients: pd.Series
    features: tuple[str, ...]
    n_rows: int
    dispersion: float


def min_periods_for(freq: str) -> int:
    """The periods a forecast needs before it: two seasons (8 quarters, 24 months).

    Examples
    --------
    >>> min_periods_for("Q"), min_periods_for("M")
    (8, 24)
    """
    if freq not in MIN_PERIODS_BY_FREQ:
        raise ValueError(f"freq must be one of {sorted(MIN_PERIODS_BY_FREQ)}, not {freq!r}")
    return MIN_PERIODS_BY_FREQ[freq]


def history_problem(counts: pd.DataFrame, *, freq: str = "Q", min_periods: int | None = None,
                    min_incidents: int = MIN_INCIDENTS,
                    min_rate: float = 0.0) -> str | None:
    """Why these counts are too few to forecast from (a message key), or None.

    Parameters
    ----------
    counts : DataFrame
        Counts per unit (commune or grid cell) and period.
    freq : {"Q", "M"}
        Sets the default ``min_periods`` (:func:`min_periods_for`).
    min_periods : int, optional
        Periods needed; by default two seasons of ``freq``.
    min_incidents : int
        Incidents needed in all the periods.
    min_rate : float
        Mean incidents per unit and period needed (``forecast.too_sparse`` below it): 0 for
        communes, :data:`MIN_CELL_RATE` for the grid's cells.

    Examples
    --------
    >>> c = pd.DataFrame(1, index=["a"], columns=pd.period_range("2023Q1", periods=8, freq="Q"))
    >>> history_problem(c), history_problem(c.iloc[:, :7])
    ('forecast.too_few_incidents', 'forecast.too_few_periods')
    >>> m = pd.DataFrame(2, index=list("ab"), columns=pd.period_range("2023-01", periods=23,
    ...                                                                  freq="M"))
    >>> history_problem(m, freq="M"), history_problem(m, freq="M", min_periods=8)
    ('forecast.too_few_periods', None)
    >>> history_problem(m * 0 + 1, freq="M", min_periods=8, min_rate=1.5)
    'forecast.too_sparse'
    """
    needed = min_periods_for(freq) if min_periods is None else min_periods
    if counts.shape[1] < needed:
        return "forecast.too_few_periods"
    total = float(counts.to_numpy().sum())
    if total < min_incidents:
        return "forecast.too_few_incidents"
    if min_rate and total / max(counts.size, 1) < min_rate:
        return "forecast.too_sparse"
    return None


def fit_forecast(counts: pd.DataFrame, static: pd.DataFrame, graph, *, freq: str = "Q",
                 alpha: float = RIDGE_ALPHA, without: Iterable[str] = (),
                 min_periods: int | None = None, min_incidents: int = MIN_INCIDENTS,
                 min_rate: float = 0.0) -> ForecastFit:
    """Fit the model on every period of ``counts`` and forecast the next one.

    Parameters
    ----------
    counts : DataFrame
        Counts per commune and period (all of them complete), oldest first.
    static : DataFrame
        :func:`static_features`.
    graph : libpysal.graph.Graph
        Contiguity of the communes.
    freq : {"Q", "M"}
    alpha : float
        Ridge penalty (see :data:`RIDGE_ALPHA`).
    without : iterable of str
        Features to leave out (e.g. :data:`LAG1_FEATURES`).
    min_periods, min_incidents, min_rate :
        The history a forecast needs (:func:`history_problem`; ``min_periods`` by default
        two seasons of ``freq``).

    Returns
    -------
    ForecastFit

    Raises
    ------
    ValueError
        When the history is too short or too thin (the message key in the text), or the
        communes of ``counts`` and ``static`` differ.
    """
    problem = history_problem(counts, freq=freq, min_periods=min_periods,
                              min_incidents=min_incidents, min_rate=min_rate)
    if problem:
        raise ValueError(problem)
    if not counts.index.equals(static.index):
        raise ValueError("counts and static features name different communes")
    season = _SEASON[freq]
    dropped = set(without)
    rows = [design_matrix(counts, static, graph, p, freq=freq)
            for p in range(season, counts.shape[1])]
    x = pd.concat(rows, ignore_index=True)
    y = np.concatenate([counts.iloc[:, p].to_numpy(dtype=float)
                        for p in range(season, counts.shape[1])])
    nxt = design_matrix(counts, static, graph, counts.shape[1], freq=freq)
    columns = [c for c in x.columns if c not in dropped and x[c].std() > 0]
    mean, scale = x[columns].mean(), x[columns].std()
    z = ((x[columns] - mean) / scale).to_numpy(dtype=float)
    params = _ridge_poisson(z, y, alpha)
    coef = params[1:] / scale.to_numpy()
    const = params[0] - float(np.sum(coef * mean.to_numpy()))
    coefficients = pd.Series([const, *coef], index=["const", *columns], name="coefficient")
    eta = const + nxt[columns].to_numpy(dtype=float) @ coef
    mu_fit = np.exp(params[0] + z @ params[1:])
    dof = max(len(y) - len(params), 1)
    return ForecastFit(
        period=counts.columns[-1] + 1,
        expected=pd.Series(np.exp(eta), index=counts.index, name="expected"),
        coefficients=coefficients,
        features=tuple(columns),
        n_rows=len(y),
        dispersion=float(np.sum((y - mu_fit) ** 2 / mu_fit) / dof),
    )


def _ridge_poisson(z: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Poisson GLM with a ridge penalty on every coefficient but the intercept."""
    import statsmodels.api as sm

    exog = np.column_stack([np.ones(len(y)), z])
    penalty = np.full(exog.shape[1], float(alpha))
    penalty[0] = 0.0
    start = np.zeros(exog.shape[1])
    start[0] = math.log(max(float(y.mean()), 1e-6))
    model = sm.GLM(y, exog, family=sm.families.Poisson())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a flat ridge optimum is reported, not fatal
        result = model.fit_regularized(alpha=penalty, L1_wt=0.0, start_params=start)
    return np.asarray(result.params, dtype=float)


# -- baselines ---------------------------------------------------------------------------------

def kde_expected(incidents: pd.DataFrame, outline, communes: gpd.GeoDataFrame, *,
                 unit_set: str = "2025", bandwidth_km: float = 5.0,
                 cell_km: float = 2.0) -> pd.Series:
    """Last year's kernel density as incidents per commune: the "hot spot map" baseline.

    The located records are smoothed (:func:`layers.density.kernel_density`, quartic,
    edge-corrected) and each grid cell's mass goes to the commune holding its centre; the
    records known only by their commune stay in it (they cannot be smoothed).

    Parameters
    ----------
    incidents : DataFrame
        The records of the window (filter types and dates first).
    outline : GeoDataFrame or GeoSeries
        The province.
    communes : GeoDataFrame
        Commune polygons of ``unit_set`` indexed by code with ``name``.

    Returns
    -------
    Series
        Incidents per commune (every commune; sums to the records placed).
    """
    from layers.density import kernel_density

    surface = kernel_density(incidents, outline, bandwidth_km=bandwidth_km, cell_km=cell_km,
                             communes=communes, unit_set=unit_set)
    cells = surface.cells
    mass = (cells["density"] * surface.cell_area_km2).groupby(cells["code"]).sum()
    out = mass.reindex(communes.index, fill_value=0.0)
    return (out + surface.unlocated.reindex(communes.index, fill_value=0)).rename("kde")


# -- the 2 km grid ----------------------------------------------------------------------------

def grid_counts(incidents: pd.DataFrame, cells: gpd.GeoDataFrame, *, cell_km: float,
                freq: str = "Q", types: Iterable[str] | None = None,
                start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """Located records per grid cell and period, zero-filled: the grid's counts.

    A record falls in the cell of the UTM 48N grid that holds its point (the grid of
    :func:`layers.density.kernel_density`: ``row = floor(y / cell)``, ``col = floor(x /
    cell)``). Records without a point, or whose cell is not one of ``cells`` (outside the
    province), are not counted: the grid forecasts where located records fall.

    Parameters
    ----------
    incidents : DataFrame
        Records with ``date``, ``type``, ``lat``, ``lon``.
    cells : GeoDataFrame
        The grid's cells with ``row`` and ``col`` (``kernel_density(...).cells``).
    cell_km : float
        The side of the cells (the grid's, e.g. 2 km).
    freq : {"Q", "M"}
    types : iterable of str, optional
        Types kept; all when None.
    start, end : date, optional
        Every period from the one holding ``start`` (by default the first record's) to the
        one holding ``end`` is a column.

    Returns
    -------
    DataFrame
        Integer counts indexed like ``cells``, a ``PeriodIndex`` of columns, oldest first.

    Examples
    --------
    >>> import shapely
    >>> cells = gpd.GeoDataFrame({"row": [627, 627], "col": [314, 315]},
    ...                          geometry=[shapely.box(0, 0, 1, 1)] * 2, crs=4326)
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-01-05", "2024-04-01"]),
    ...                     "type": "tip", "lat": [11.3516, None], "lon": [106.1874, 106.2]})
    >>> grid_counts(inc, cells, cell_km=2.0).to_numpy().tolist()
    [[1, 0], [0, 0]]
    """
    import pyproj

    if freq not in _SEASON:
        raise ValueError(f"freq must be one of {sorted(_SEASON)}, not {freq!r}")
    if cell_km <= 0:
        raise ValueError(f"cell_km must be positive, not {cell_km}")
    rec = incidents if types is None else incidents.loc[incidents["type"].isin(tuple(types))]
    dates = pd.to_datetime(rec["date"])
    first = pd.Timestamp(start) if start is not None else dates.min()
    last = pd.Timestamp(end) if end is not None else dates.max()
    if pd.isna(first) or pd.isna(last) or first > last:
        raise ValueError("no period to count: give start and end, or records")
    periods = pd.period_range(first.to_period(freq), last.to_period(freq), freq=freq,
                              name="period")
    lat = pd.to_numeric(rec["lat"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(rec["lon"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon) & (dates >= first).to_numpy() \
        & (dates <= last + pd.Timedelta(days=1) - pd.Timedelta(1)).to_numpy()
    x, y = pyproj.Transformer.from_crs(4326, METRIC_CRS, always_xy=True).transform(
        lon[ok], lat[ok])
    cell_m = cell_km * 1000.0
    rows = np.floor(np.asarray(y, dtype=float) / cell_m).astype(int)
    cols = np.floor(np.asarray(x, dtype=float) / cell_m).astype(int)
    where = pd.Series(np.arange(len(cells)),
                      index=pd.MultiIndex.from_arrays([cells["row"].astype(int),
                                                       cells["col"].astype(int)]))
    position = where.reindex(pd.MultiIndex.from_arrays([rows, cols])).to_numpy()
    column = periods.get_indexer(dates[ok].dt.to_period(freq))
    keep = ~np.isnan(position) & (column >= 0)
    out = np.zeros((len(cells), len(periods)), dtype=int)
    np.add.at(out, (position[keep].astype(int), column[keep]), 1)
    return pd.DataFrame(out, index=cells.index, columns=periods)


def grid_history(incidents: pd.DataFrame, cells: gpd.GeoDataFrame, cell: str, *,
                 cell_km: float, freq: str = "Q") -> pd.DataFrame:
    """One cell's located records per period and type: what its side panel charts.

    The counts of :func:`grid_counts` (the forecast's own), of each incident type, from the
    first record's period to the last's: as a commune's
    :attr:`layers.profile.CommuneProfile.by_period`, for a cell.

    Parameters
    ----------
    incidents : DataFrame
        Records with ``date``, ``type``, ``lat``, ``lon``.
    cells : GeoDataFrame
        The grid's cells with ``row`` and ``col``.
    cell : str
        The cell's id (an index label of ``cells``).
    cell_km : float
    freq : {"Q", "M"}

    Returns
    -------
    DataFrame
        Integer counts, periods (rows, a ``PeriodIndex``) × incident types; no row without
        records.

    Raises
    ------
    KeyError
        When ``cell`` is not one of ``cells``.

    Examples
    --------
    >>> import shapely
    >>> cells = gpd.GeoDataFrame({"row": [627, 627], "col": [314, 315]}, index=["a", "b"],
    ...                          geometry=[shapely.box(0, 0, 1, 1)] * 2, crs=4326)
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-01-05", "2024-08-01"]),
    ...                     "type": ["tip", "victim"], "lat": [11.3516, 11.3516],
    ...                     "lon": [106.1874, 106.1874]})
    >>> grid_history(inc, cells, "a", cell_km=2.0).to_numpy().tolist()
    [[1, 0], [0, 0], [0, 1]]
    """
    one = cells.loc[[cell]]
    types = [t for t in INCIDENT_TYPES if t in set(incidents["type"])]
    if not len(incidents):
        return pd.DataFrame(columns=types, dtype=int, index=pd.PeriodIndex([], freq=freq))
    return pd.DataFrame({t: grid_counts(incidents, one, cell_km=cell_km, freq=freq, types=(t,),
                                        start=incidents["date"].min(),
                                        end=incidents["date"].max()).iloc[0]
                         for t in types})


def grid_contiguity(cells: pd.DataFrame):
    """Queen contiguity of the grid's cells (the 8 cells around), from their row and column.

    Exact on the grid's integer positions (a test of the polygons would depend on their
    coordinates in degrees). A cell with no neighbour in the province is an isolate.

    Returns
    -------
    libpysal.graph.Graph
        Binary weights, ``unique_ids`` in the order of ``cells``.

    Examples
    --------
    >>> cells = pd.DataFrame({"row": [0, 0, 1, 5], "col": [0, 1, 1, 5]}, index=list("abcd"))
    >>> w = grid_contiguity(cells)
    >>> sorted(w["a"].index), list(w.isolates)
    (['b', 'c'], ['d'])
    """
    from libpysal.graph import Graph
    from scipy import sparse

    rows = cells["row"].to_numpy(dtype=int)
    cols = cells["col"].to_numpy(dtype=int)
    where = {(r, c): i for i, (r, c) in enumerate(zip(rows, cols))}
    focal, neighbour = [], []
    for i, (r, c) in enumerate(zip(rows, cols)):
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                j = where.get((r + dr, c + dc))
                if j is not None and j != i:
                    focal.append(i)
                    neighbour.append(j)
    n = len(cells)
    matrix = sparse.coo_array((np.ones(len(focal)), (focal, neighbour)), shape=(n, n))
    return Graph.from_sparse(matrix.tocsr(), ids=cells.index)


def grid_areas(cells: pd.DataFrame, cell_km: float) -> pd.Series:
    """The area of each cell in km²: all equal (``cell_km²``), the grid tiling the province
    by the cells whose centre lies in it (:func:`layers.density.kernel_density`)."""
    return pd.Series(float(cell_km) ** 2, index=cells.index, name="area_km2")


def grid_kde_scores(incidents: pd.DataFrame, outline, periods: Sequence, *, freq: str = "Q",
                    cell_km: float = 2.0, bandwidth_km: float = 5.0) -> pd.DataFrame:
    """Last year's kernel density per cell before each period: the grid's "hot spot map".

    For each period, the located records of the season before it (4 quarters, 12 months)
    are smoothed (:func:`layers.density.kernel_density`, quartic, edge-corrected) on the
    grid itself, so the score of a cell is the density at its centre (incidents per km²).

    Parameters
    ----------
    incidents : DataFrame
        Located records of the types kept (``date``, ``lat``, ``lon``, ``new_code``,
        ``old_code``); any date (each period reads only the season before it).
    outline : GeoDataFrame or GeoSeries
        The province (the grid is the one of its cells).
    periods : sequence of Period
        The periods to score.

    Returns
    -------
    DataFrame
        Cells (``cell_id``) by periods.
    """
    from layers.density import kernel_density

    season = _SEASON[freq]
    dates = pd.to_datetime(incidents["date"])
    out = {}
    for period in periods:
        period = pd.Period(period, freq)
        lo, hi = (period - season).start_time, (period - 1).end_time
        window = incidents.loc[(dates >= lo) & (dates <= hi)]
        surface = kernel_density(window, outline, bandwidth_km=bandwidth_km, cell_km=cell_km)
        out[period] = surface.cells["density"]
    return pd.DataFrame(out)


# -- metrics -----------------------------------------------------------------------------------

def flag_area(score: pd.Series, area: pd.Series, share: float) -> pd.Series:
    """How much of each commune is flagged when ``share`` of the area is, best scores first.

    Communes are taken in order of ``score`` (highest first; NaN last); communes tied on a
    score form one block; the block that crosses the cut-off is flagged in part, in
    proportion, so that exactly ``share`` of the total area is flagged.

    Returns
    -------
    Series
        The flagged fraction of each commune (0–1), indexed like ``score``.

    Examples
    --------
    >>> s = pd.Series([3.0, 2.0, 2.0, 1.0], index=list("abcd"))
    >>> flag_area(s, pd.Series(1.0, index=s.index), 0.5).tolist()
    [1.0, 0.5, 0.5, 0.0]
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], not {share}")
    area = area.reindex(score.index).astype(float)
    if (area <= 0).any() or area.isna().any():
        raise ValueError("every commune needs a positive area")
    target = share * float(area.sum())
    filled = score.astype(float).fillna(-np.inf)
    out = pd.Series(0.0, index=score.index)
    taken = 0.0
    for _, block in _blocks(filled, area):
        room = target - taken
        if room <= 0:
            break
        size = float(block.sum())
        part = min(1.0, room / size)
        out[block.index] = part
        taken += part * size
    return out


def _blocks(score: pd.Series, area: pd.Series):
    """(score, areas of the communes with that score), highest score first."""
    for value in np.sort(score.unique())[::-1]:
        yield value, area[score == value]


def area_metrics(score: pd.Series, actual: pd.Series, area: pd.Series,
                 shares: Sequence[float] = AREA_SHARES) -> pd.DataFrame:
    """Hit rate, PAI and PEI of a ranking of the communes against what happened.

    Parameters
    ----------
    score : Series
        Higher = flagged first (for a count forecast: expected count per km²).
    actual : Series
        Incidents of the period per commune.
    area : Series
        Area per commune (km²).
    shares : sequence of float
        Shares of the total area flagged.

    Returns
    -------
    DataFrame
        Indexed by ``share``: ``hits`` (incidents in the flagged area, a commune flagged in
        part counting in part), ``best_hits`` (the most any flag of that area catches),
        ``incidents``, ``hit_rate`` (hits / incidents), ``pai`` (hit rate / share), ``pei``
        (hits / best hits); NaN where the period holds no incident.

    Examples
    --------
    >>> area = pd.Series([1.0, 1.0, 2.0, 6.0], index=list("abcd"))
    >>> actual = pd.Series([4, 0, 2, 4], index=list("abcd"))
    >>> m = area_metrics(actual / area, actual, area, shares=[0.1, 0.2])
    >>> m[["hit_rate", "pai", "pei"]].round(2).values.tolist()
    [[0.4, 4.0, 1.0], [0.5, 2.5, 1.0]]
    """
    actual = actual.reindex(score.index, fill_value=0).astype(float)
    total = float(actual.sum())
    best_score = actual / area.reindex(score.index)
    rows = []
    for share in shares:
        hits = float((flag_area(score, area, share) * actual).sum())
        best = float((flag_area(best_score, area, share) * actual).sum())
        rate = hits / total if total else np.nan
        rows.append({"share": share, "hits": hits, "best_hits": best, "incidents": total,
                     "hit_rate": rate, "pai": rate / share if total else np.nan,
                     "pei": hits / best if best else np.nan})
    return pd.DataFrame(rows).set_index("share")


# -- the backtest ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Backtest:
    """The rolling-origin track record of the model and the baselines.

    Attributes
    ----------
    per_origin : DataFrame
        One row per origin (period forecast), method and area share: ``hits``,
        ``best_hits``, ``incidents``, ``hit_rate``, ``pai``, ``pei``.
    table : DataFrame
        Pooled over the origins, indexed by (method, share): ``hit_rate`` (all hits / all
        incidents), ``pai`` (that over the share), ``pei`` (all hits / all best hits).
    origins : tuple of Period
        The periods forecast, oldest first.
    methods : tuple of str
        ``model`` first, then ``model_without_lag1``, then the baselines.
    lag1_correlation : float
        Mean Spearman correlation between the model's forecast and last period's counts
        over the origins: how much of the ranking they carry.
    """

    per_origin: pd.DataFrame
    table: pd.DataFrame
    origins: tuple
    methods: tuple[str, ...]
    lag1_correlation: float
    skipped: tuple = field(default=())

    def value(self, method: str, share: float = 0.10, metric: str = "hit_rate") -> float:
        """One pooled figure, e.g. the model's hit rate at 10 % of the area."""
        return float(self.table.loc[(method, share), metric])

    def best(self, share: float = 0.10, metric: str = "hit_rate") -> str:
        """The method with the highest pooled ``metric`` at ``share`` (the model on a tie),
        among the model and the baselines (not the model without last period's counts)."""
        candidates = [m for m in self.methods if m != "model_without_lag1"]
        values = {m: self.value(m, share, metric) for m in candidates}
        top = max(values.values())
        return "model" if values["model"] >= top - 1e-12 else max(values, key=values.get)

    @property
    def lag1_share(self) -> float:
        """The hit rate at 10 % of the model without last period's counts over the model's:
        how much of the catch the other features keep without them (1 = all)."""
        full = self.value("model")
        return self.value("model_without_lag1") / full if full else np.nan


def backtest(counts: pd.DataFrame, static: pd.DataFrame, graph, area: pd.Series, *,
             baselines: Mapping[str, pd.DataFrame] | None = None, origins: int = ORIGINS,
             freq: str = "Q", alpha: float = RIDGE_ALPHA, shares: Sequence[float] = AREA_SHARES,
             min_periods: int | None = None, min_incidents: int = MIN_INCIDENTS,
             min_rate: float = 0.0) -> Backtest:
    """Forecast each of the last ``origins`` periods from the periods before it only, and score.

    Parameters
    ----------
    counts : DataFrame
        Counts per commune and period, oldest first (complete periods).
    static, graph :
        As for :func:`fit_forecast`.
    area : Series
        Commune areas in km².
    baselines : mapping of str to DataFrame, optional
        Scores of other methods: per commune (rows) and origin period (columns), higher =
        flagged first; each must have been computed from the data before its origin only.
        Last period's counts (``last_period``, per km²) are always added.
    origins : int
        How many of the last periods to forecast. An origin whose history is too short
        (:func:`history_problem`) is skipped and listed in ``skipped``.

    Returns
    -------
    Backtest

    Raises
    ------
    ValueError
        When no origin has enough history before it.
    """
    baselines = dict(baselines or {})
    area = area.reindex(counts.index)
    last = counts.shape[1]
    rows, correlations, skipped, done = [], [], [], []
    for position in range(max(last - origins, 0), last):
        period = counts.columns[position]
        history = counts.iloc[:, :position]
        rule = {"freq": freq, "min_periods": min_periods, "min_incidents": min_incidents,
                "min_rate": min_rate}
        if history_problem(history, **rule):
            skipped.append(period)
            continue
        actual = counts.iloc[:, position]
        fit = fit_forecast(history, static, graph, alpha=alpha, **rule)
        bare = fit_forecast(history, static, graph, alpha=alpha, without=LAG1_FEATURES, **rule)
        lag1 = history.iloc[:, -1].astype(float)
        scores = {"model": fit.expected / area, "model_without_lag1": bare.expected / area,
                  "last_period": lag1 / area}
        for name, table in baselines.items():
            if period not in table.columns:
                raise ValueError(f"baseline {name!r} has no score for {period}")
            scores[name] = table[period].reindex(counts.index).astype(float)
        for name, score in scores.items():
            metrics = area_metrics(score, actual, area, shares)
            metrics.insert(0, "method", name)
            metrics.insert(0, "origin", period)
            rows.append(metrics.reset_index())
        correlations.append(fit.expected.rank().corr(lag1.rank()))
        done.append(period)
    if not done:
        raise ValueError("forecast.too_few_periods")
    per_origin = pd.concat(rows, ignore_index=True)
    pooled = per_origin.groupby(["method", "share"], sort=False)[
        ["hits", "best_hits", "incidents"]].sum()
    table = pd.DataFrame({
        "hit_rate": pooled["hits"] / pooled["incidents"],
        "pei": pooled["hits"] / pooled["best_hits"],
    })
    table["pai"] = table["hit_rate"] / table.index.get_level_values("share")
    return Backtest(per_origin=per_origin, table=table[["hit_rate", "pai", "pei"]],
                    origins=tuple(done), methods=tuple(dict.fromkeys(per_origin["method"])),
                    lag1_correlation=float(np.nanmean(correlations)),
                    skipped=tuple(skipped))


# -- the layer ---------------------------------------------------------------------------------

def forecast_layer(communes: pd.DataFrame, *, unit_set: str, fit: ForecastFit | None,
                   track: Backtest | None, area: pd.Series, best_scores: pd.Series | None = None,
                   problem: str | None = None, params: Mapping | None = None,
                   freq: str = "Q", caveats: Iterable[Caveat] = ()) -> Layer:
    """The forecast as a map layer, its track record in ``params``.

    When the model beats every baseline at 10 % of the area (pooled hit rate), the map
    shows its expected incidents; otherwise it shows the best baseline's scores
    (``best_scores``) and ``params["shown"]`` names it. With ``problem`` (too little
    history) every value is missing: no map of noise, the page says why.

    Parameters
    ----------
    communes : DataFrame
        The units indexed by code with ``name``.
    unit_set : {"2025", "legacy"}
    fit : ForecastFit or None
    track : Backtest or None
    area : Series
        Commune areas (km²): ``flagged`` marks the communes of the first 10 % of the area.
    best_scores : Series, optional
        The best baseline's scores for the next period, when it is not the model.
    problem : str, optional
        Message key of why there is no forecast.
    params : mapping, optional
        Extra title parameters (types …).
    freq : {"Q", "M"}
        The period forecast (``params["freq"]``, and the history it needed).

    Returns
    -------
    Layer
        ``value="forecast"``; ``frame`` has ``name``, ``forecast``, ``flagged`` (share of
        the commune in the first 10 % of the area) and ``rank``.
    """
    frame = communes[["name"]].copy()
    extra = {"about_key": "layer.forecast.about", "min_periods": min_periods_for(freq),
             "freq": freq,
             "min_incidents": MIN_INCIDENTS, **dict(params or {})}
    legend = "layer.forecast.legend"
    if problem or fit is None or track is None:
        frame["forecast"] = np.nan
        frame["flagged"] = 0.0
        frame["rank"] = np.nan
        extra.update(problem=problem or "forecast.too_few_periods", shown=None)
    else:
        shown = track.best()
        values = fit.expected if shown == "model" else best_scores
        if values is None:
            shown, values = "model", fit.expected
        values = values.reindex(frame.index).astype(float)
        per_km2 = values / area.reindex(frame.index) if shown in ("model", "last_period") \
            else values
        if shown in _SCORES:
            legend = "layer.forecast.legend_score"
        frame["forecast"] = values
        frame["flagged"] = flag_area(per_km2, area.reindex(frame.index), 0.10)
        frame["rank"] = per_km2.rank(ascending=False, method="min")
        extra.update(problem=None, shown=shown, period=str(fit.period),
                     period_start=fit.period.start_time.date(),
                     period_end=fit.period.end_time.date(),
                     origins=len(track.origins), best=track.best(),
                     table=track.table.reset_index().to_dict("records"),
                     lag1_correlation=track.lag1_correlation,
                     dispersion=fit.dispersion)
    return Layer(frame=frame, value="forecast", unit_set=unit_set,
                 kind="forecast",
                 title_key="layer.forecast.title", legend_key=legend,
                 units_key="unit.records" if legend == "layer.forecast.legend" else legend,
                 params=extra, colorscale=SEQUENTIAL_SCALE, caveats=tuple(caveats))
