"""The national release: province by province, the nation above each province's table.

One table of the whole country (3,321 communes of 2025, 10,035 former
communes, 20 quarters and their margins, four types) is one problem of
millions of cells: it did not finish in 14 minutes. But the only figures
that tie two provinces together are the province totals (the nation is
their sum), so the release is built as

1. each province's table (:func:`~layers.suppression.dimensions.incident_table`'s
   cells for its communes, its province total as the margin) with the
   nation above it — the nation as the province total plus the rest of
   the country, the rest given to the attacker at its true value
   (``suppress(known=)``) — suppressed on its own, one at a time: a hidden
   province total hides the nation cell beside it, never another province's
   (but for provinces whose small totals the rest, so given, would pin by
   the nation's labels alone: those are suppressed in one table,
   :func:`_joint_provinces`);
2. the nation's cells, hidden where any province's table hid them, and the
   records of no province, a hidden part of the nation protected (when
   small) by nation cells alone.

No other problem spans two provinces. Why auditing so is sound is in
``docs/confidentiality.md`` ("The national release"): each table's attacker
holds everything outside the table at its true value, so each witness it
finds is a feasible table of the whole program a reader has.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.units import NEW, OLD, Registry
from layers.counts import INCIDENT_TYPES
from layers.suppression.dimensions import (
    period_hierarchy, quarters_of, type_hierarchy, unit_key, unit_leaves,
)
from layers.suppression.engine import (
    COMPLEMENTARY, DEFAULT_THRESHOLD, HIDDEN, PRIMARY, PUBLISHED, Suppression,
    pinned_cells, suppress,
)
from layers.suppression.tables import Hierarchy, hierarchy_table

__all__ = [
    "FULL_SOLVES",
    "NATION",
    "NationalRelease",
    "country_table",
    "national_release",
    "province_codes",
    "province_of",
    "province_registry",
]

#: The member of the unit dimension that is the sum of the provinces.
NATION = "nation"
#: Whole-program solves each protection check of a table of the national release may spend
#: on single cells (:func:`~layers.suppression.engine.suppress`'s ``full_solves``): beyond
#: them an undecided small cell counts as pinned and gets one more complementary cell.
FULL_SOLVES = 0
#: The hidden part of the nation: records of no commune of either set (no province).
_UNPLACED = "part:?"
#: In a province's table, the rest of the country: the nation less the province, a constant.
_REST = "rest:country"
_STATUSES = pd.CategoricalDtype([PUBLISHED, PRIMARY, COMPLEMENTARY, HIDDEN])


@dataclass(frozen=True)
class NationalRelease:
    """The cells of every province's table and of the national table, suppressed.

    Attributes
    ----------
    cells : DataFrame
        Indexed like :func:`incident_table`'s cells (``unit``, ``period``,
        ``type``), every province's cells and the nation's: ``count`` and
        ``status`` (``"published"``, ``"primary"``, ``"complementary"``,
        ``"hidden"``).
    threshold, protection : int
    provinces : tuple of str
        The provinces' codes (``province:<code>`` in ``cells``).
    linked : tuple of str
        The provinces with a province total hidden (the nation cell beside
        it is hidden too); empty when every total is published.
    joint : tuple of tuple of str
        Provinces suppressed in one table (:func:`_joint_provinces`: the
        rest of the country given to one of them alone would pin a small
        total); empty when each province was suppressed alone.
    work : DataFrame
        Per province (``"12+80"`` for provinces suppressed together) and
        ``"nation"``: ``seconds`` spent building and suppressing its table
        (wall clock), ``cpu_seconds`` (of this process), ``cells``, ``rounds``
        of the protection check, ``peak_rss_mb`` (the process's peak resident
        memory so far).
    """

    cells: pd.DataFrame
    threshold: int
    protection: int
    provinces: tuple[str, ...]
    linked: tuple[str, ...]
    work: pd.DataFrame
    joint: tuple[tuple[str, ...], ...] = ()


def province_codes(registry: Registry) -> tuple[str, ...]:
    """The provinces of a registry's 2025 communes (its ``province_code`` column), sorted.

    A registry without the column (:func:`geo.units.load_registry`: one
    province) gives an empty tuple.
    """
    if "province_code" not in registry.communes.columns:
        return ()
    return tuple(sorted(registry.communes["province_code"].dropna().astype(str).unique()))


def province_registry(registry: Registry, code: str) -> Registry:
    """The units of one province: its 2025 communes, their pieces, the former communes in them."""
    communes = registry.communes[registry.communes["province_code"].astype(str) == code]
    comp = registry.composition[registry.composition["new_code"].isin(communes.index)]
    legacy = registry.legacy[registry.legacy.index.isin(comp["old_code"])]
    return Registry(communes=communes, legacy=legacy, composition=comp.reset_index(drop=True))


def province_of(records: pd.DataFrame, registry: Registry) -> np.ndarray:
    """The province of each record: of its 2025 commune, else of its former commune, else None.

    A former commune lies in one province (:func:`national_release` checks it),
    so a record whose two communes do not meet and lie in two provinces is
    counted in its 2025 commune's province (where its former commune is no
    unit: a hidden part, see :func:`unit_hierarchy`).
    """
    by_new = registry.communes["province_code"].astype(str)
    out = np.full(len(records), None, dtype=object)
    if "new_code" in records:
        codes = records["new_code"].astype(object).where(records["new_code"].notna(), "")
        out = by_new.reindex(codes.astype(str)).to_numpy(dtype=object)
    if "old_code" in records:
        codes = records["old_code"].astype(object).where(records["old_code"].notna(), "")
        new_of_old = registry.legacy["new_code"].reindex(codes.astype(str))
        by_old = by_new.reindex(new_of_old.fillna("").astype(str)).to_numpy(dtype=object)
        missing = pd.isna(out)
        out[missing] = by_old[missing]
    return np.where(pd.isna(out), None, out)


def national_release(
    incidents: pd.DataFrame,
    registry: Registry,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int = 1,
    unit_sets: Sequence[str] = (NEW, OLD),
    types: Sequence[str] = INCIDENT_TYPES,
    type_total: bool = False,
    first_year: int | None = None,
    last_year: int | None = None,
    full_solves: int | None = FULL_SOLVES,
    processes: int = 1,
    initializer: Callable[[], None] | None = None,
) -> NationalRelease:
    """Suppress the incident tables of a registry of several provinces, one province at a time.

    Parameters are those of :func:`~layers.suppression.plan.release_plan`;
    ``registry.communes`` has a ``province_code`` column. ``full_solves`` is
    :func:`~layers.suppression.engine.suppress`'s, for every table
    (:data:`FULL_SOLVES` by default: a province of the country is a larger
    problem than Tây Ninh's, see ``docs/confidentiality.md``). ``processes``
    above 1 suppresses that many provinces at once, each in a spawned
    process (the same cells: each province's table is its own problem); the
    ``cpu_seconds`` of ``work`` are then those of the process that built it.
    ``initializer``: what each of those processes runs first (a callable that
    pickles; the server's build passes a watch of the building process, so
    that none outlives it).

    Returns
    -------
    NationalRelease

    Raises
    ------
    ValueError
        A former commune whose pieces lie in two provinces (it would tie
        their tables together; the official registry has none).
    RuntimeError
        A small count that cannot be protected (the release fails closed).
    """
    provinces = province_codes(registry)
    _check_one_province_each(registry)
    unit_sets = tuple(dict.fromkeys(unit_sets))
    chosen, quarter, first_year, last_year = quarters_of(incidents, types, first_year, last_year)
    where = province_of(chosen, registry)
    periods = period_hierarchy(first_year, last_year)
    kinds = type_hierarchy(tuple(types), total=type_total)
    atoms = _province_atoms(chosen, quarter, where)
    everyone = atoms.groupby(level=["period", "type"]).sum()
    parts: dict[str, pd.DataFrame] = {}
    nation_hidden: pd.Series | None = None
    work = []
    log = logging.getLogger("borderwatch")
    columns = [c for c in ("type", "new_code", "old_code") if c in chosen.columns]
    jobs = []
    joint = _joint_provinces(atoms, provinces, periods, kinds, threshold, protection)
    for codes in joint:
        rows = np.isin(where.astype(str), codes) & ~pd.isna(where)
        jobs.append((codes, chosen.loc[rows, columns], quarter[rows], where[rows],
                     tuple(province_registry(registry, code) for code in codes), unit_sets,
                     periods, kinds, everyone, threshold, protection, full_solves))
    for codes, own, nation_status, figures in _province_releases(jobs, processes, initializer):
        parts.update(own)
        hidden_here = nation_status != PUBLISHED
        nation_hidden = hidden_here if nation_hidden is None else nation_hidden | hidden_here
        name = "+".join(codes)
        work.append((name, *figures))
        log.info("release plan: province %s, %d cells, %.1f s (CPU %.1f s), %d rounds, "
                 "peak %.0f MB", name, figures[2], *figures[:2], figures[3], figures[4])
    work.sort(key=lambda row: provinces.index(row[0].split("+")[0]))
    started, cpu = time.perf_counter(), time.process_time()
    nation_cells = _nation_cells(atoms, provinces, periods, kinds, nation_hidden, threshold,
                                 protection, full_solves)
    work.append((NATION, time.perf_counter() - started, time.process_time() - cpu,
                 len(nation_cells), 0, _peak_mb()))
    linked = tuple(code for code in provinces
                   if (parts[code].xs(unit_key("province", code), level="unit")["status"]
                       != PUBLISHED).any())
    cells = pd.concat([*(parts[code] for code in provinces), nation_cells])
    cells["status"] = cells["status"].astype(_STATUSES)
    return NationalRelease(
        cells=cells, threshold=int(threshold), protection=int(protection),
        provinces=provinces, linked=linked,
        joint=tuple(codes for codes in joint if len(codes) > 1),
        work=pd.DataFrame(work, columns=["province", "seconds", "cpu_seconds", "cells", "rounds",
                                         "peak_rss_mb"]).set_index("province"))


def _province_releases(jobs: list[tuple], processes: int, initializer=None):
    """What :func:`_province_release` returns for each job, as each is done.

    With ``processes`` above 1 the provinces are suppressed in that many spawned
    processes (each runs ``initializer`` first, then holds one province's problem at a
    time), the largest first so that no process is left with a large province at the
    end; they come back in the order they finish (the caller's result does not depend
    on it).
    """
    if processes <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _province_release(job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][1]))
    with ProcessPoolExecutor(min(processes, len(jobs)),
                             mp_context=multiprocessing.get_context("spawn"),
                             initializer=initializer) as pool:
        for future in as_completed([pool.submit(_province_release, jobs[i]) for i in order]):
            yield future.result()


def _province_release(job: tuple) -> tuple[tuple[str, ...], dict, pd.Series, tuple]:
    """One province's table (or a few provinces' together) with the nation above it,
    suppressed: each province's cells and statuses, the nation's statuses, and what it cost
    (seconds, CPU seconds, cells, rounds, the process's peak MB)."""
    (codes, records, quarter, where, registries, unit_sets, periods, kinds, everyone,
     threshold, protection, full_solves) = job
    started, cpu = time.perf_counter(), time.process_time()
    table, members = _province_table(records, quarter, where, registries, unit_sets, periods,
                                     kinds, codes, everyone)
    rest = table.cells.index[table.cells.index.get_level_values("unit") == _REST]
    result = suppress(table, threshold=threshold, protection=protection,
                      full_solves=full_solves, known=rest)
    cells = _compact(table.cells["count"], result.status)
    units = cells.index.get_level_values("unit")
    own = {code: cells[units.isin(members[code])] for code in codes}
    nation_status = cells.loc[units == NATION, "status"]
    figures = (time.perf_counter() - started, time.process_time() - cpu, len(table.cells),
               result.rounds)
    del table, result
    gc.collect()
    return codes, own, nation_status, (*figures, _peak_mb())


def _peak_mb() -> float:
    """The process's peak resident memory so far, in MB (0 where unknown).

    ``VmHWM`` of ``/proc/self/status`` where there is one: ``ru_maxrss`` survives
    ``exec``, so a spawned worker would report its parent's peak at the spawn.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # not on POSIX
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def country_table(
    incidents: pd.DataFrame,
    registry: Registry,
    *,
    unit_sets: Sequence[str] = (NEW, OLD),
    types: Sequence[str] = INCIDENT_TYPES,
    type_total: bool = False,
    first_year: int | None = None,
    last_year: int | None = None,
):
    """Every province's table and the national table as one table: all a reader knows at once.

    The attacker's view of a national release (:func:`national_release`
    publishes its cells); one problem of the whole country's size, so only
    for small registries: the tests audit a national release on it.
    """
    provinces = province_codes(registry)
    _check_one_province_each(registry)
    chosen, quarter, first_year, last_year = quarters_of(incidents, types, first_year, last_year)
    where = province_of(chosen, registry)
    table, _ = _linked_table(chosen, quarter, where, registry, provinces, provinces,
                             tuple(dict.fromkeys(unit_sets)),
                             period_hierarchy(first_year, last_year),
                             type_hierarchy(tuple(types), total=type_total))
    return table


def _check_one_province_each(registry: Registry) -> None:
    """Refuse a former commune whose pieces lie in two provinces."""
    comp = registry.composition
    province = comp["new_code"].map(registry.communes["province_code"].astype(str))
    spread = province.groupby(comp["old_code"]).nunique()
    if (spread > 1).any():
        raise ValueError("former communes whose pieces lie in two provinces tie their tables "
                         f"together: {sorted(spread.index[spread > 1])[:5]}")


def _compact(count: pd.Series, status: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"count": count.to_numpy(dtype=np.int64),
                         "status": pd.Categorical(status.to_numpy(), dtype=_STATUSES)},
                        index=count.index)


def _atoms(leaf: pd.Series | np.ndarray, quarter: pd.Series, kind: pd.Series) -> pd.Series:
    return (pd.DataFrame({"unit": np.asarray(leaf, dtype=object),
                          "period": quarter.to_numpy(), "type": kind.to_numpy()})
            .groupby(["unit", "period", "type"]).size())


def _province_table(records, quarter, where, registries, unit_sets, periods, kinds, codes,
                    everyone):
    """A province's table (or a few provinces' together) with the nation above it.

    :func:`incident_table` over each province's units and records, and one
    more leaf, the rest of the country (``everyone`` less these provinces, per
    quarter and type), which with the province totals makes the nation. The
    caller gives the rest to the attacker at its true value
    (``suppress(known=)``), so a hidden province total can move only as far
    as the nation cells hidden beside it let it. Returns the table and the
    unit members of each province.
    """
    leaves, groups, hidden, own, members = [], [], set(), [], {}
    where = np.asarray(where, dtype=object)
    for code, registry in zip(codes, registries, strict=True):
        rows = where == code
        units, leaf = unit_leaves(records[rows], registry, unit_sets, province=code)
        leaves += units.leaves
        groups += units.groups
        hidden |= units.hidden
        members[code] = units.members
        own.append(_atoms(leaf, quarter[rows], records.loc[rows, "type"]))
    own = pd.concat(own)
    mine = own.groupby(level=["period", "type"]).sum()
    rest = everyone.sub(mine, fill_value=0).astype(np.int64)
    rest = pd.concat({_REST: rest[rest > 0]}, names=["unit"])
    tops = tuple(unit_key("province", code) for code in codes)
    units = Hierarchy("unit", tuple(leaves) + (_REST,),
                      tuple(groups) + ((NATION, tops + (_REST,)),), frozenset(hidden))
    return hierarchy_table(pd.concat([own, rest]), [units, periods, kinds]), members


def _joint_provinces(atoms, provinces, periods, kinds, threshold, protection):
    """The provinces to suppress together: each alone, but for those the rest pins.

    Province *k*'s table gives its attacker the rest of the country at its true
    value *r* (per period and type), and the nation cells above its totals *P*
    carry labels: "x" (at least ``threshold``) or "< t" (at most
    ``threshold - 1``). When *P* is small those bounds alone can pin it, and no
    cell its table could hide helps: with *r* = 1 and *P* = 4 the nation is 5,
    "x", so *P* ≥ 5 − 1, and *P* ≤ 4 ("< 5"); or, over two quarters, two
    nations of 5 with a rest of 3 each pin the half-year's 4. A reader does not
    know *r* (there it is a sum of other provinces' totals, hidden when small),
    but only a witness moving one of those with *P* shows it. So a province
    whose totals are pinned by the labels alone (:func:`_pinned_by_labels`) is
    suppressed in one table with the provinces whose totals make up the rest
    where it is pinned (their whole tables; the rest beyond them still known),
    until no group of provinces is pinned so.

    Returns tuples of codes, sorted, each province in exactly one.
    """
    group = {code: (code,) for code in provinces}
    if len(provinces) < 2:
        return [group[code] for code in provinces]
    by = hierarchy_table(atoms, [_nation_units(provinces, atoms), periods, kinds]) \
        .cells["count"].unstack("unit")
    done: set[tuple[str, ...]] = set()
    while True:
        todo = [codes for codes in sorted(set(group.values())) if codes not in done]
        if not todo:
            return sorted(set(group.values()))
        for codes in todo:
            mine = by[[unit_key("province", c) for c in codes]].sum(axis=1)
            where = _pinned_by_labels(mine, by[NATION], periods, kinds, threshold,
                                      protection)
            others = [c for c in provinces if c not in codes
                      and (by.loc[where, unit_key("province", c)] > 0).any()]
            if not others:  # unpinned, or the rest there is unplaced records only
                done.add(codes)
                continue
            joined = tuple(sorted(set(codes).union(*(group[c] for c in others))))
            for c in joined:
                group[c] = joined
            break


def _pinned_by_labels(mine: pd.Series, nation: pd.Series, periods: Hierarchy,
                      kinds: Hierarchy, threshold: int, protection: int) -> pd.Index:
    """The (period, type) cells where a small total of some provinces is pinned by labels.

    The attack (:func:`~layers.suppression.engine.pinned_cells`) on the
    most a table of these provinces could hide above them: their total and the
    nation hidden everywhere (bounded by their labels), the rest of the country
    (``nation - mine``) known.
    """
    total = "province:*"
    units = Hierarchy("unit", (total, _REST), ((NATION, (total, _REST)),))
    quarters = list(periods.leaves)
    rest = nation - mine
    leaves = pd.concat({total: mine, _REST: rest}, names=["unit"])
    leaves = leaves[leaves.index.get_level_values("period").isin(quarters)]
    table = hierarchy_table(leaves, [units, periods, kinds])
    count = table.cells["count"]
    on = count.index.get_level_values("unit")
    status = pd.Series(np.where(count < threshold, PRIMARY, COMPLEMENTARY), index=count.index,
                       dtype=object)
    status[on == _REST] = PUBLISHED
    if not ((on == total) & (count >= 1) & (count < threshold)).any():
        return pd.MultiIndex.from_tuples([], names=["period", "type"])
    pinned = pinned_cells(Suppression(table=table, threshold=threshold, protection=protection,
                                      status=status, rounds=0))
    return pinned[pinned.get_level_values("unit") == total].droplevel("unit")


def _nation_cells(atoms, provinces, periods, kinds, hidden, threshold, protection,
                  full_solves) -> pd.DataFrame:
    """The nation's cells and the unplaced records' hidden part, their statuses.

    A nation cell is suppressed when any province's table hid it (primary
    when small, else complementary). The unplaced part (records of no
    province) is always hidden; when it is small it is protected here, in a
    table of the nation as the sum of the provinces — given to the attacker
    at their true values — and of that part: only nation cells can hide it.
    """
    table = hierarchy_table(atoms, [_nation_units(provinces, atoms), periods, kinds])
    count = table.cells["count"]
    units = count.index.get_level_values("unit")
    count = count[units.isin([NATION, _UNPLACED])]
    hid = np.zeros(len(count), dtype=bool)
    if hidden is not None:
        hid |= hidden.reindex(count.index, fill_value=False).to_numpy(dtype=bool)
    if (units == _UNPLACED).any():
        known = table.cells.index[~units.isin([NATION, _UNPLACED])]
        result = suppress(table, threshold=threshold, protection=protection,
                          full_solves=full_solves, known=known)
        hid |= (result.status.reindex(count.index) != PUBLISHED).to_numpy()
    status = pd.Series(PUBLISHED, index=count.index, dtype=object)
    small = ((count >= 1) & (count < threshold)).to_numpy()
    status[hid & small] = PRIMARY
    status[hid & ~small] = COMPLEMENTARY
    status[count.index.get_level_values("unit") == _UNPLACED] = HIDDEN
    return _compact(count, status)


def _province_atoms(records, quarter, where) -> pd.Series:
    """Counts per province (or the unplaced part), quarter and type."""
    leaf = np.array([_UNPLACED if p is None else unit_key("province", p) for p in where],
                    dtype=object) if len(where) else np.array([], dtype=object)
    return _atoms(leaf, quarter, records["type"])


def _nation_units(provinces, atoms: pd.Series) -> Hierarchy:
    """The nation as the sum of the provinces (and of a hidden part holding unplaced records)."""
    leaves = tuple(unit_key("province", code) for code in provinces)
    unplaced = (_UNPLACED,) if len(atoms) and _UNPLACED in atoms.index.get_level_values(0) \
        else ()
    return Hierarchy("unit", leaves + unplaced, ((NATION, leaves + unplaced),),
                     frozenset(unplaced))


def _linked_table(records, quarter, where, registry, provinces, linked, unit_sets, periods,
                  kinds):
    """The national table with the whole tables of the ``linked`` provinces inside it.

    :func:`country_table` (every province linked): what a reader has at once.
    Returns the table and the other provinces' totals (leaves here).
    """
    leaves, groups, hidden, leaf = [], [], set(), np.empty(len(records), dtype=object)
    for code in provinces:
        rows = where == code
        if code in linked:
            units, of_record = unit_leaves(records[rows], province_registry(registry, code),
                                           unit_sets, province=code)
            leaves += units.leaves
            groups += units.groups
            hidden |= units.hidden
            leaf[rows] = of_record.to_numpy()
        else:
            leaves.append(unit_key("province", code))
            leaf[rows] = unit_key("province", code)
    unplaced = pd.isna(where)
    if unplaced.any():
        leaves.append(_UNPLACED)
        hidden.add(_UNPLACED)
        leaf[unplaced] = _UNPLACED
    top = tuple(unit_key("province", code) for code in provinces)
    groups.append((NATION, top + ((_UNPLACED,) if unplaced.any() else ())))
    units = Hierarchy("unit", tuple(leaves), tuple(groups), frozenset(hidden))
    table = hierarchy_table(_atoms(leaf, quarter, records["type"]), [units, periods, kinds])
    fixed = [key for key in table.cells.index
             if key[0] in set(top) - {unit_key("province", c) for c in linked}]
    return table, fixed
