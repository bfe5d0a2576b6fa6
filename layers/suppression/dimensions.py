"""The dimensions of incident counts: units, the period grid, types; the incident table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.units import NEW, OLD, PROVINCE_CODE, Registry, code_column
from layers.counts import INCIDENT_TYPES
from layers.suppression.tables import CountTable, Hierarchy, hierarchy_table

__all__ = [
    "ALL_TYPES",
    "SnappedPeriod",
    "as_date",
    "grid_label",
    "incident_table",
    "period_hierarchy",
    "snap_period",
    "stray_pieces",
    "type_hierarchy",
    "unit_hierarchy",
    "orphan_communes",
    "quarters_of",
    "unit_key",
    "unit_leaves",
    "unplaced_key",
]


#: The hidden part of the province that holds records of no unit (one unit set alone).
_UNPLACED = "part:?"
_ALL_PERIODS = "all"
ALL_TYPES = "all"


def unit_key(unit_set: str, code: str) -> str:
    """The member name of a commune in the unit dimension (codes are reused across sets).

    >>> unit_key("2025", "25681"), unit_key("legacy", "25681"), unit_key("province", "80")
    ('2025:25681', 'legacy:25681', 'province:80')
    """
    if unit_set not in (NEW, OLD, "province"):
        raise ValueError(f"unknown unit set {unit_set!r}")
    return f"{unit_set}:{code}"


def unplaced_key(province: str = PROVINCE_CODE) -> str:
    """The hidden part of a province holding records of no unit of the one unit set released.

    The product's province keeps the name it always had; in a national
    release every province has its own.

    >>> unplaced_key(), unplaced_key("31")
    ('part:?', 'part:?@31')
    """
    return _UNPLACED if province == PROVINCE_CODE else f"{_UNPLACED}@{province}"


def orphan_communes(registry: Registry) -> pd.Index:
    """The 2025 communes the registry names no former commune for (five in the country).

    Each is a leaf of its own in :func:`unit_hierarchy`: on the former map its
    records count in the province only, as records of no former commune do.
    """
    return registry.communes.index[~registry.communes.index.isin(registry.composition["new_code"])]


def _piece_key(old: str, new: str) -> str:
    return f"part:{old}>{new}"


def unit_hierarchy(registry: Registry, unit_sets: Sequence[str] = (NEW, OLD),
                   stray: Iterable[tuple[str, str]] = (), *,
                   province: str = PROVINCE_CODE) -> Hierarchy:
    """Communes of the published unit sets and the province, as one hierarchy.

    With both sets, the leaves are the former communes and the parts of the
    split ones (hidden); a 2025 commune is the sum of the former communes and
    parts that formed it, a split former commune the sum of its parts, and
    the province the sum of either set.

    ``stray`` are the (former, 2025) pairs of records whose communes do not
    meet in the registry (:func:`stray_pieces`; ``"?"`` for a code that is no
    unit). Each becomes one more hidden part, counted in both communes: a
    former commune with a stray part becomes the sum of its parts, like a split
    one, and a part whose code on one side is no unit is counted in the
    province on that side. In one unit set alone, records of no unit of that
    set are one hidden part of the province.

    A 2025 commune no former commune formed (:func:`orphan_communes`; none in
    Tây Ninh, five in the country) is a leaf of its own: the province's sum
    over the former communes counts it beside them. ``province`` is the code
    of the province the registry holds (its member ``province:<code>``).

    >>> from geo.units import load_registry
    >>> h = unit_hierarchy(load_registry())
    >>> sum(m.startswith("2025:") for m in h.members), sum(m.startswith("legacy:") for m in h.members)
    (96, 280)
    >>> h = unit_hierarchy(load_registry(), stray=[("25699", "25489")])
    >>> sorted(m for m in h.leaf_sets["2025:25489"] if m.startswith("part:"))
    ['part:25699>25489']
    >>> sorted(h.leaf_sets["legacy:25699"])
    ['part:25699>25489', 'part:25699>25681']
    """
    unit_sets = tuple(dict.fromkeys(unit_sets))
    stray = tuple(sorted(set(stray)))
    if not unit_sets or set(unit_sets) - {NEW, OLD}:
        raise ValueError(f"unit_sets must name {NEW!r} and/or {OLD!r}, not {unit_sets}")
    top = unit_key("province", province)
    if len(unit_sets) == 1:
        leaves = tuple(unit_key(unit_sets[0], c) for c in registry.units(unit_sets[0]).index)
        unplaced = (unplaced_key(province),) if stray else ()
        return Hierarchy("unit", leaves + unplaced, ((top, leaves + unplaced),),
                         frozenset(unplaced))
    leaf_of = _unit_leaves(registry, stray)
    by_new: dict[str, list[str]] = {}
    by_old: dict[str, list[str]] = {}
    for (old, new), leaf in leaf_of.items():
        by_new.setdefault(new, []).append(leaf)
        by_old.setdefault(old, []).append(leaf)
    leaves = tuple(dict.fromkeys(leaf_of.values()))
    groups = [(unit_key(NEW, new), tuple(by_new[new])) for new in sorted(by_new)
              if new != "?" and by_new[new] != [unit_key(NEW, new)]]
    groups += [(unit_key(OLD, old), tuple(children)) for old, children in sorted(by_old.items())
               if old != "?" and children != [unit_key(OLD, old)]]
    groups.append((top, tuple(unit_key(NEW, c) for c in registry.communes.index)
                   + tuple(by_new.get("?", ()))))
    groups.append((top, tuple(unit_key(OLD, c) for c in registry.legacy.index)
                   + tuple(by_old.get("?", ()))))
    hidden = frozenset(v for v in leaves if v.startswith("part:"))
    return Hierarchy("unit", leaves, tuple(groups), hidden)


def _unit_leaves(registry: Registry, stray: tuple[tuple[str, str], ...]) -> dict:
    """The unit leaf of every (former, 2025) pair of the registry and of ``stray``: the
    former commune itself, or a hidden part when the former commune has several.

    A 2025 commune no former commune formed is the leaf of its records with no
    former commune (``("?", code)``), unless stray records give it parts: then
    those records are one more hidden part of it.
    """
    comp = registry.composition
    pairs = list(zip(comp["old_code"], comp["new_code"], strict=True)) + list(stray)
    several = set(comp.loc[comp["split"], "old_code"]) | {o for o, _ in stray}
    out = {(o, n): (_piece_key(o, n) if o in several else unit_key(OLD, o)) for o, n in pairs}
    with_parts = {n for _, n in stray}
    for new in orphan_communes(registry):
        out[("?", new)] = _piece_key("?", new) if new in with_parts else unit_key(NEW, new)
    return out


def stray_pieces(incidents: pd.DataFrame, registry: Registry) -> tuple[tuple[str, str], ...]:
    """The (former, 2025) pairs of records whose communes do not meet in the registry.

    The importer refuses such records (:mod:`geo.resolve`), but a store may
    hold some (imported before that check, or written by hand into PostGIS).
    A code that is no unit of its set reads ``"?"``.

    >>> from geo.units import load_registry
    >>> records = pd.DataFrame({"old_code": ["25699", "25699", None],
    ...                         "new_code": ["25681", "25489", "25681"]})
    >>> stray_pieces(records, load_registry())
    (('25699', '25489'), ('?', '25681'))
    """
    old, new = _known_codes(incidents, registry)
    comp = registry.composition
    pieces = set(zip(comp["old_code"], comp["new_code"], strict=True))
    pieces |= {("?", new) for new in orphan_communes(registry)}  # no former commune to meet
    return tuple(sorted({p for p in zip(old, new, strict=True) if p not in pieces},
                        key=lambda p: (p[1], p[0])))


def _known_codes(records: pd.DataFrame, registry: Registry) -> tuple[np.ndarray, np.ndarray]:
    """The records' former and 2025 codes, ``"?"`` where a code is no unit of its set."""
    old = records["old_code"].astype(object).where(records["old_code"].notna(), "").astype(str)
    new = records["new_code"].astype(object).where(records["new_code"].notna(), "").astype(str)
    old = np.where(old.isin(registry.legacy.index), old, "?")
    new = np.where(new.isin(registry.communes.index), new, "?")
    return old, new


def _quarter(year: int, q: int) -> str:
    return f"{year}Q{q}"


def period_hierarchy(first_year: int, last_year: int) -> Hierarchy:
    """Quarters, half-years, years and the whole span of ``first_year``–``last_year``.

    >>> h = period_hierarchy(2024, 2025)
    >>> len(h.leaves), [p for p, _ in h.groups][:3], h.leaf_sets["2024H2"] == {"2024Q3", "2024Q4"}
    (8, ['2024H1', '2024H2', '2024'], True)
    """
    if last_year < first_year:
        raise ValueError(f"last year {last_year} is before first year {first_year}")
    years = range(first_year, last_year + 1)
    leaves = tuple(_quarter(y, q) for y in years for q in range(1, 5))
    groups = []
    for y in years:
        groups.append((f"{y}H1", (_quarter(y, 1), _quarter(y, 2))))
        groups.append((f"{y}H2", (_quarter(y, 3), _quarter(y, 4))))
        groups.append((str(y), (f"{y}H1", f"{y}H2")))
    groups.append((_ALL_PERIODS, tuple(str(y) for y in years)))
    return Hierarchy("period", leaves, tuple(groups))


def type_hierarchy(types: Sequence[str] = INCIDENT_TYPES, *, total: bool = True) -> Hierarchy:
    """Incident types, and their total ("all") unless ``total`` is False."""
    types = tuple(dict.fromkeys(types))
    unknown = set(types) - set(INCIDENT_TYPES)
    if unknown:
        raise ValueError(f"unknown incident types {sorted(unknown)}")
    return Hierarchy("type", types, ((ALL_TYPES, types),) if total else ())


@dataclass(frozen=True)
class SnappedPeriod:
    """A requested period rounded to the release grid.

    Attributes
    ----------
    start, end : date
        The grid period (inclusive): a calendar quarter, half-year, year, or
        the whole span.
    grain : {"quarter", "half", "year", "all"}
    label : str
        ``"2024Q3"``, ``"2024H2"``, ``"2024"`` or ``"all"``: the period's key
        in the plan.
    requested : tuple of date
        What was asked for.
    exact : bool
        False when the period was rounded: the UI must then say so
        (message ``suppression.period_rounded``).
    """

    start: dt.date
    end: dt.date
    grain: str
    label: str
    requested: tuple[dt.date | None, dt.date | None]
    exact: bool


def as_date(value) -> dt.date | None:
    if value is None or (not isinstance(value, (dt.date, str)) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def snap_period(start, end, *, first_year: int, last_year: int) -> SnappedPeriod:
    """The smallest grid period that holds ``start``–``end`` (clipped to the span).

    A reader below commander only ever sees quarters, half-years, years and
    the whole span, so two overlapping requests ([Jan–Jun] and [Jan–Jul])
    cannot be subtracted: the second becomes the year.

    >>> p = snap_period(dt.date(2024, 1, 1), dt.date(2024, 7, 31), first_year=2022, last_year=2025)
    >>> p.label, p.start, p.end, p.exact
    ('2024', datetime.date(2024, 1, 1), datetime.date(2024, 12, 31), False)
    >>> snap_period(dt.date(2024, 7, 1), dt.date(2024, 9, 30), first_year=2022,
    ...             last_year=2025).label
    '2024Q3'
    >>> snap_period(dt.date(2023, 11, 1), dt.date(2024, 2, 1), first_year=2022,
    ...             last_year=2025).label
    'all'
    """
    requested = (as_date(start), as_date(end))
    span_start, span_end = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    a = max(requested[0] or span_start, span_start)
    b = min(requested[1] or span_end, span_end)
    if b < a:
        raise ValueError(f"{requested[0]}–{requested[1]} lies outside the data's years "
                         f"{first_year}–{last_year}")
    if a.year != b.year:
        grid = (span_start, span_end, "all", _ALL_PERIODS)
    else:
        qa, qb = (a.month - 1) // 3 + 1, (b.month - 1) // 3 + 1
        y = a.year
        if qa == qb:
            grid = (dt.date(y, 3 * qa - 2, 1), _quarter_end(y, qa), "quarter", _quarter(y, qa))
        elif (qa - 1) // 2 == (qb - 1) // 2:
            h = (qa - 1) // 2 + 1
            grid = (dt.date(y, 6 * h - 5, 1), _quarter_end(y, 2 * h), "half", f"{y}H{h}")
        else:
            grid = (dt.date(y, 1, 1), dt.date(y, 12, 31), "year", str(y))
    exact = requested == (grid[0], grid[1]) or (
        grid[2] == "all" and requested == (None, None))
    return SnappedPeriod(grid[0], grid[1], grid[2], grid[3], requested, bool(exact))


def _quarter_end(year: int, q: int) -> dt.date:
    return (pd.Timestamp(year=year, month=3 * q, day=1) + pd.offsets.MonthEnd(0)).date()


def grid_label(start, end, first_year: int, last_year: int) -> str | None:
    """The grid label of exactly ``start``–``end`` (``None``, ``None`` is the span), else None."""
    a, b = as_date(start), as_date(end)
    if a is None and b is None:
        return _ALL_PERIODS
    if a is None or b is None:
        return None
    if a.year < first_year or b.year > last_year:
        # periods on the grid but outside the data's years hold no record
        y = a.year
        snapped = snap_period(a, b, first_year=y, last_year=y) if a.year == b.year else None
        return f"outside:{snapped.label}" if snapped and snapped.exact else None
    snapped = snap_period(a, b, first_year=first_year, last_year=last_year)
    return snapped.label if snapped.exact else None


def incident_table(
    incidents: pd.DataFrame,
    registry: Registry,
    *,
    unit_sets: Sequence[str] = (NEW, OLD),
    types: Sequence[str] = INCIDENT_TYPES,
    type_total: bool = False,
    first_year: int | None = None,
    last_year: int | None = None,
    province: str = PROVINCE_CODE,
) -> CountTable:
    """Incident counts as one table: units × periods × types, with every margin.

    Parameters
    ----------
    incidents : DataFrame
        Joined records: ``date``, ``type``, ``new_code``, ``old_code``.
    registry : Registry
    unit_sets : sequence of {"2025", "legacy"}
        The unit sets a reader may see (both by default: history on either map).
    types : sequence of str
        The incident types of the table.
    type_total : bool
        Whether "all types" is released too (then it is a margin of the table,
        and small counts of one type must be protected against the others:
        on the demo data that chains suppression across the whole table, so
        it is off by default and a reader below commander picks one type).
    first_year, last_year : int, optional
        The span; by default the years of the first and last record.
    province : str
        The code of the registry's province (its member ``province:<code>``).

    Returns
    -------
    CountTable
        Dimensions ``unit`` (:func:`unit_hierarchy`), ``period``
        (:func:`period_hierarchy`) and ``type`` (:func:`type_hierarchy`).
    """
    chosen, quarter, first_year, last_year = quarters_of(incidents, types, first_year, last_year)
    units, leaf = unit_leaves(chosen, registry, unit_sets, province=province)
    atoms = (pd.DataFrame({"unit": leaf.to_numpy(), "period": quarter.to_numpy(),
                           "type": chosen["type"].to_numpy()})
             .groupby(["unit", "period", "type"]).size())
    dims = [units, period_hierarchy(first_year, last_year),
            type_hierarchy(tuple(types), total=type_total)]
    return hierarchy_table(atoms, dims)


def quarters_of(incidents: pd.DataFrame, types: Sequence[str], first_year: int | None,
                last_year: int | None) -> tuple[pd.DataFrame, pd.Series, int, int]:
    """The records of ``types`` inside the span, their quarter labels, and the span.

    The span defaults to the years of the first and last record; with no
    record it must be given.
    """
    types = tuple(types)
    chosen = incidents[incidents["type"].isin(types)]
    dates = pd.to_datetime(chosen["date"])
    if first_year is None or last_year is None:
        if dates.empty:
            raise ValueError("no record of these types: give first_year and last_year")
        first_year = int(dates.min().year) if first_year is None else first_year
        last_year = int(dates.max().year) if last_year is None else last_year
    inside = (dates.dt.year >= first_year) & (dates.dt.year <= last_year)
    chosen, dates = chosen[inside], dates[inside]
    quarter = dates.dt.year.astype(str) + "Q" + dates.dt.quarter.astype(str)
    return chosen, quarter, int(first_year), int(last_year)


def unit_leaves(records: pd.DataFrame, registry: Registry, unit_sets: Sequence[str] = (NEW, OLD),
                *, province: str = PROVINCE_CODE) -> tuple[Hierarchy, pd.Series]:
    """The unit hierarchy of one province for these records, and the leaf of each record.

    Parameters
    ----------
    records : DataFrame
        ``new_code`` and/or ``old_code`` (those of ``unit_sets``).
    registry : Registry
        The units of one province.
    unit_sets : sequence of {"2025", "legacy"}
    province : str
        The province's code (the top member ``province:<code>``).

    Returns
    -------
    units : Hierarchy
        :func:`unit_hierarchy`, with a hidden part for each stray pair.
    leaf : Series
        The unit leaf of every record (a commune, a former commune or a part).
    """
    unit_sets = tuple(dict.fromkeys(unit_sets))
    stray = _strays(records, registry, unit_sets)
    units = unit_hierarchy(registry, unit_sets, stray, province=province)
    return units, _unit_leaf_of(records, registry, unit_sets, stray, province)


def _strays(records: pd.DataFrame, registry: Registry,
            unit_sets: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """What :func:`unit_hierarchy` needs as ``stray`` for these records and unit sets."""
    if len(unit_sets) == 1:
        column = code_column(unit_sets[0])
        codes = records[column].astype(object).where(records[column].notna(), "").astype(str)
        return (("?", "?"),) if (~codes.isin(registry.units(unit_sets[0]).index)).any() else ()
    return stray_pieces(records, registry)


def _unit_leaf_of(records: pd.DataFrame, registry: Registry, unit_sets: tuple[str, ...],
                  stray: tuple[tuple[str, str], ...], province: str) -> pd.Series:
    """The unit leaf of every record (its 2025 commune, former commune, or part)."""
    if len(unit_sets) == 1:
        unit_set = unit_sets[0]
        codes = records[code_column(unit_set)]
        codes = codes.astype(object).where(codes.notna(), "").astype(str)
        known = codes.isin(registry.units(unit_set).index)
        return pd.Series(np.where(known, unit_set + ":" + codes, unplaced_key(province)),
                         index=records.index)
    leaf_of = _unit_leaves(registry, stray)
    old, new = _known_codes(records, registry)
    return pd.Series([leaf_of[p] for p in zip(old, new, strict=True)], index=records.index,
                     dtype=object)
