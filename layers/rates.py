"""Incidents per 10,000 residents of each commune: raw and empirical-Bayes smoothed rates.

The smoothing is esda's empirical Bayes written on numpy arrays (checked against esda in the
tests), so a server neither imports esda nor waits for it.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from layers.counts import SEQUENTIAL_SCALE, incident_counts
from layers.layer import Caveat, Layer

if TYPE_CHECKING:
    from layers.cube import Cube

__all__ = ["commune_rates", "empirical_bayes", "smoothed_rates"]

#: The only unit set population is known for: the population table names the
#: communes of 01/07/2025 (dân số theo xã mới).
_POPULATION_UNIT_SET = "2025"


def commune_rates(
    incidents: pd.DataFrame,
    communes: pd.DataFrame,
    population: pd.DataFrame,
    *,
    unit_set: str = "2025",
    types: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    per: int = 10_000,
    caveats: Iterable[Caveat] = (),
    cube: Cube | None = None,
) -> Layer:
    """Incidents per ``per`` residents of each commune, raw and empirical-Bayes smoothed.

    The raw rate of a commune with a few hundred residents jumps with every
    single record; the smoothed rate (global empirical Bayes, Marshall 1991)
    pulls each commune's rate toward the province rate, the more so the
    smaller its population, so that tiny communes do not dominate the map.
    The smoothing is esda's :class:`esda.smoothing.Empirical_Bayes`, computed here on
    numpy arrays (:func:`empirical_bayes`, the same numbers, checked against esda in the
    tests) without its per-call overhead.

    Parameters
    ----------
    incidents : DataFrame
        Joined records: ``date`` (datetime64), ``type``, ``new_code``, ``old_code``.
    communes : DataFrame
        The 2025 communes indexed by code with ``name`` (every one appears in
        the result).
    population : DataFrame
        ``new_code``, ``year``, ``population``: one row per commune and year.
    unit_set : {"2025"}
        Population is only known for the communes of 2025 (a new commune's
        population cannot be split among the old units it merged), so
        ``"legacy"`` raises ``ValueError``: map legacy units by counts.
    types : iterable of str, optional
        Incident types to count; all when ``None``.
    start, end : date, optional
        Inclusive period. Rates are for the whole period, not per year.
    per : int
        Residents the rate is expressed per: 10,000 ("per 10,000 residents",
        units key ``unit.per_10k``); another value gets the units key
        ``unit.per_<per>``, which the message catalogues must then hold.
    caveats : iterable of Caveat
        Carried to every rendering.
    cube : Cube, optional
        The cube of these same ``incidents`` (:func:`layers.cube.build_cube`): counts
        and the latest record are read from it, not from the records; the layer is
        the same.

    Returns
    -------
    Layer
        ``frame`` has ``name``, ``count``, ``population`` (nullable integer),
        ``rate`` (raw) and ``rate_eb`` (smoothed, the mapped value), per
        ``per`` residents. ``params`` adds to the period and types:

        - ``population_year``: the year asked for, the end year of the period
          (``end``; else the year of the latest counted record; else the latest
          population year);
        - ``population_years_used``: the years actually used; each commune takes
          its row of ``population_year``, else of the nearest year it has (the
          later one on a tie);
        - ``missing_population``: codes of communes with no population (or a
          population of 0): their rates are NaN, never 0, and they take no part
          in the province rate or the smoothing;
        - ``province_rate``: total count / total population of the communes
          with a population, per ``per``;
        - ``per``.

    Raises
    ------
    ValueError
        For ``unit_set="legacy"``, unknown incident types, a negative ``per``,
        or two population rows for one commune and year.

    Notes
    -----
    Global empirical Bayes (Marshall 1991): with :math:`m = \\sum e_i / \\sum
    n_i`, :math:`s^2 = \\sum n_i (r_i - m)^2 / \\sum n_i` and :math:`A = s^2 -
    m / \\bar n`, the smoothed rate is :math:`m + C_i (r_i - m)` with
    :math:`C_i = A / (A + m / n_i)`. esda leaves a negative :math:`A` (rates
    no more spread out than Poisson noise alone would make them) as it is,
    which gives weights outside [0, 1]; Marshall sets :math:`A = 0`, and so do
    we: every commune then gets the province rate. With no record at all the
    smoothed rate is 0 (esda would give 0/0).

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"date": pd.to_datetime(["2024-01-05"] * 3),
    ...                     "type": ["tip"] * 3, "new_code": ["25681", "25681", "25489"],
    ...                     "old_code": ["25699", "25699", "25489"]})
    >>> com = pd.DataFrame({"name": ["Xã Bến Cầu", "Xã Tân Lập", "Xã Tân Đông"]},
    ...                    index=["25681", "25489", "25522"])
    >>> pop = pd.DataFrame({"new_code": ["25681", "25489"], "year": [2024, 2024],
    ...                     "population": [20_000, 10_000]})
    >>> layer = commune_rates(inc, com, pop)
    >>> layer.frame["rate"].round(2).tolist()
    [1.0, 1.0, nan]
    >>> layer.params["missing_population"]
    ('25522',)
    """
    if unit_set != _POPULATION_UNIT_SET:
        raise ValueError(
            f"rates need unit_set='{_POPULATION_UNIT_SET}': population is known only for the "
            f"communes of 2025, not for the {unit_set!r} units (map those by counts)"
        )
    if per <= 0:
        raise ValueError(f"per must be positive, got {per}")
    counted = incident_counts(
        incidents, communes, unit_set=unit_set, types=types, start=start, end=end,
        caveats=caveats, cube=cube,
    )
    year = _population_year(incidents, counted.params, population, end, cube)
    people, years_used = _population_of(population, communes.index, year)
    frame = counted.frame.copy()
    frame["population"] = people
    rate, rate_eb, province = smoothed_rates(frame["count"], people)
    frame["rate"] = rate * per
    frame["rate_eb"] = rate_eb * per
    missing = tuple(frame.index[frame["rate"].isna()])
    return Layer(
        frame=frame,
        value="rate_eb",
        unit_set=unit_set,
        kind="rates",
        title_key="layer.rates.title",
        legend_key="layer.rates.legend",
        units_key="unit.per_10k" if per == 10_000 else f"unit.per_{per}",
        params={
            **counted.params,
            "per": per,
            "population_year": year,
            "population_years_used": years_used,
            "missing_population": missing,
            "province_rate": province * per,
        },
        colorscale=SEQUENTIAL_SCALE,
        caveats=counted.caveats,
    )


def _population_year(
    incidents: pd.DataFrame, params: dict, population: pd.DataFrame, end: dt.date | None,
    cube: Cube | None = None,
) -> int | None:
    """The year the period's population is read from: its end year, as best known."""
    if end is not None:
        return pd.Timestamp(end).year
    if cube is not None:
        latest = cube.last_date(params["types"], params["start"])
        if not pd.isna(latest):
            return int(latest.year)
        years = population["year"].dropna()
        return int(years.max()) if len(years) else None
    mask = incidents["type"].isin(params["types"])
    if params["start"] is not None:
        mask &= incidents["date"] >= pd.Timestamp(params["start"])
    if mask.any():
        return int(incidents.loc[mask, "date"].max().year)
    years = population["year"].dropna()
    return int(years.max()) if len(years) else None


#: The last population table read, and its communes' populations per (year, codes): a
#: filter change reads the same table (one per store revision) for one of a few years.
_POPULATION_MEMO: dict = {}
_POPULATION_LOCK = threading.Lock()


def _population_of(
    population: pd.DataFrame, codes: pd.Index, year: int | None
) -> tuple[pd.Series, tuple[int, ...]]:
    """Each commune's population in ``year``, else in its nearest year (the later on a tie).

    Kept for the last table asked (by identity, and its size and totals, so that a table
    changed in place is read again) per year and set of codes: a copy each time.
    """
    fingerprint = _fingerprint(population)
    key = (year, len(codes))  # and the same codes (checked below: mostly the same Index)
    with _POPULATION_LOCK:
        kept = _POPULATION_MEMO.get("table")
        if kept is None or kept() is not population \
                or _POPULATION_MEMO.get("fingerprint") != fingerprint:
            _POPULATION_MEMO.clear()
            _POPULATION_MEMO.update(table=weakref.ref(population), fingerprint=fingerprint,
                                    found={})
        found = _POPULATION_MEMO["found"].get(key)
    if found is None or not found[0].index.equals(codes):
        found = _read_population_of(population, codes, year)
        with _POPULATION_LOCK:
            if _POPULATION_MEMO.get("fingerprint") == fingerprint:
                _POPULATION_MEMO["found"][key] = found
    people, years = found
    return people.copy(), years


def _fingerprint(population: pd.DataFrame) -> tuple:
    """The table's shape and totals: what tells a table changed in place (cheap)."""
    try:
        people = pd.to_numeric(population["population"], errors="coerce")
        years = pd.to_numeric(population["year"], errors="coerce")
        return (len(population), tuple(population.columns), float(people.sum()),
                float(years.sum()), int(people.isna().sum()))
    except (KeyError, TypeError):
        return (len(population), tuple(population.columns), id(population))


def _read_population_of(
    population: pd.DataFrame, codes: pd.Index, year: int | None
) -> tuple[pd.Series, tuple[int, ...]]:
    """:func:`_population_of`, read from the table.

    Sorted on numbers (the communes' positions, the distance in years, the year), not on the
    code strings: the country's population table has tens of thousands of rows, and every
    change of the filters reads it.
    """
    rows = population.loc[
        population["population"].notna() & population["year"].notna(),
        ["new_code", "year", "population"],
    ]
    commune, names = pd.factorize(rows["new_code"])
    years = rows["year"].to_numpy(dtype=np.int64)
    order = np.lexsort((years, commune))
    pairs = np.column_stack([commune[order], years[order]])
    if len(pairs) > 1 and (pairs[1:] == pairs[:-1]).all(axis=1).any():
        duplicated = rows.duplicated(["new_code", "year"])
        found = sorted(set(map(tuple, rows.loc[duplicated, ["new_code", "year"]].to_numpy())))
        raise ValueError(f"several population rows for one commune and year: {found[:5]}")
    if year is None or rows.empty:
        return pd.Series(pd.NA, index=codes, dtype="Int64"), ()
    # per commune: the smallest distance to the year asked, then the later year
    order = np.lexsort((-years, np.abs(years - year), commune))
    first = np.ones(len(order), dtype=bool)
    first[1:] = commune[order][1:] != commune[order][:-1]
    picked = order[first]
    chosen = pd.DataFrame({"year": years[picked], "population": rows["population"].array[picked]},
                          index=names[commune[picked]])
    chosen = chosen.loc[chosen.index.isin(codes)]
    people = chosen["population"].reindex(codes).astype("Int64")
    return people, tuple(sorted(int(y) for y in chosen["year"].unique()))


def smoothed_rates(counts: pd.Series,
                   people: pd.Series) -> tuple[pd.Series, pd.Series, float]:
    """Raw and smoothed rates per resident, and the province rate (NaN where no population).

    The one home of the empirical-Bayes smoothing: :func:`commune_rates` builds its layer
    on it, and the release below commander (:mod:`layers.suppression`) re-smooths the
    published counts with it.

    >>> raw, eb, province = smoothed_rates(pd.Series([0, 10]), pd.Series([1000, 1000]))
    >>> round(province, 3), list(raw.round(3))
    (0.005, [0.0, 0.01])
    """
    rate = np.full(len(counts), np.nan)
    rate_eb = np.full(len(counts), np.nan)
    b_all = people.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        known = ~np.isnan(b_all) & (b_all > 0)
    index = counts.index
    if not known.any():
        return pd.Series(rate, index=index), pd.Series(rate_eb, index=index), float("nan")
    e = counts.to_numpy(dtype=float, na_value=np.nan)[known]
    b = b_all[known]
    province = float(e.sum() / b.sum())
    rate[known] = e / b
    if e.sum() == 0 or _between_variance(e, b) <= 0:
        rate_eb[known] = province  # Marshall's A <= 0: every commune gets the province rate
    else:
        rate_eb[known] = empirical_bayes(e, b)
    return pd.Series(rate, index=index), pd.Series(rate_eb, index=index), province


def empirical_bayes(e: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Global empirical-Bayes rates (Marshall 1991) of events ``e`` over populations ``b``.

    esda's :class:`esda.smoothing.Empirical_Bayes`, operation for operation (so the same
    numbers, to the last bit: ``tests/test_rates.py`` compares them), on flat arrays and
    without building a smoother object: a filter change of the commander's map smooths
    3,321 communes. Negative between-commune variance is left to the caller (see
    :func:`smoothed_rates`).

    >>> empirical_bayes(np.array([0.0, 10.0, 3.0]), np.array([1000.0, 1000.0, 50.0])).round(4)
    array([0.0004, 0.0098, 0.0282])
    """
    e = np.asarray(e, dtype=float).reshape(-1, 1)
    b = np.asarray(b, dtype=float).reshape(-1, 1)
    e_sum, b_sum = e.sum() * 1.0, b.sum() * 1.0
    r_mean = e_sum / b_sum
    rate = e * 1.0 / b
    r_variat = rate - r_mean
    r_var_left = (b * r_variat * r_variat).sum() * 1.0 / b_sum
    r_var_right = r_mean * 1.0 / b.mean()
    r_var = r_var_left - r_var_right
    weight = r_var / (r_var + r_mean / b)
    return (weight * rate + (1.0 - weight) * r_mean).ravel()


def _between_variance(e: np.ndarray, b: np.ndarray) -> float:
    """Marshall's (1991) moment estimate A of the between-commune rate variance (may be < 0)."""
    m = e.sum() / b.sum()
    s2 = (b * (e / b - m) ** 2).sum() / b.sum()
    return float(s2 - m / b.mean())
