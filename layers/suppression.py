"""Small-count suppression: what roles below commander may see of incident counts.

Bảo mật thông tin nạn nhân. The mission's rule is that no map, export or
screen may let anyone identify a victim. Commanders (Bộ Chỉ huy BĐBP, công
an tỉnh) see everything; every other role (planner, viewer / committee
presenter, admin) sees incident counts only through a *release plan* built
here, so that a renderer cannot show what the released layer does not hold.
The full policy, with the measured effect on the demo data, is in
``docs/confidentiality.md``; in short:

Who is suppressed
    Every role except ``commander``. ``admin`` manages accounts and imports,
    not cases, so it gets what a planner gets (least privilege; one constant,
    :data:`UNRESTRICTED_ROLES`, changes that). Every incident type is
    suppressed, not only victims (nạn nhân) and trafficking cases (vụ mua bán
    người): a commune with two illegal crossings or one tip in a quarter can
    point at a family just as well.

Primary suppression
    A published count with ``1 <= count < threshold`` (default 5,
    configurable) is not shown: its value is missing and its label is
    ``"< 5"``. Zero is shown: "nothing happened" is not a disclosure in this
    policy.

One table for everything a viewer can see
    Counts are cells of one table: units × periods × types. Units are the
    2025 communes, the former communes and the province (a new commune is
    the sum of the former communes, or parts of them, that formed it; the
    province is the sum of either set); periods are the quarters, half-years
    and years of the data's years and the whole span; types are the incident
    types, each on its own (their total is not released below commander by
    default: see ``type_total``). Every published figure is one cell, and
    every additive relation between cells (a parent equals the sum of its
    children) is known to the reader. Suppressing on this one table is what
    makes the pattern consistent across the periods and unit sets a viewer
    can switch between: [Jan–Jun] and [Jan–Jul] cannot both be asked for
    (:func:`snap_period` rounds a period to the grid, and says so), and the
    former-commune map cannot be subtracted from the 2025 map to expose a
    suppressed commune. The parts of a former commune split between two new
    communes are cells too, never published ("hidden"): a small count in
    such a part is protected like a published one, or new-minus-old would
    reveal it. A record whose former and 2025 communes do not meet in the
    registry (the importer refuses these, but a store may hold some from
    before, or written into PostGIS by hand) does not stop the plan: it is
    counted in both its communes, through one more hidden part shared by
    the two (:func:`stray_pieces`), protected like the others; a code that
    is no unit counts in the province only, on that side.

Complementary suppression
    Every relation that holds a suppressed cell (or a small hidden part)
    must hold at least two unknown cells; a relation with only one gets a
    second: the published member with the smallest non-zero count, ties
    broken by the cell's codes, repeated to a fixpoint. A zero beside a small
    count and a published total is exactly such a relation: the total minus
    the published cells would give the small count back, so another cell of
    the relation is hidden. Zeros are hidden only when a relation has nothing
    else left (a hidden zero must itself be protected, and in a sparse table
    its relations are full of zeros: preferring them would spread "< 5" over
    every empty commune). A hidden zero reads ``"< 5"`` like a small count,
    which is true, and a reader cannot tell the two apart; a hidden cell at
    or above the threshold reads ``"x"``.

The protection check (audit)
    The two-per-relation rule is necessary, not sufficient: with ``x1 + x2
    = 8`` published, two ``"< 5"`` cells must both be 4. So every round ends
    with an attack: linear programs (HiGHS, :func:`scipy.optimize.linprog`)
    find, for every small cell, the smallest and largest value consistent
    with all published figures and with what the reader knows of the policy
    (a ``"< 5"`` cell is in [0, 4], an ``"x"`` cell is at least 5, a hidden
    part at least 0), rounded inward to integers. A small cell whose interval
    is narrower than ``protection`` (default 1: it cannot be pinned to one
    value) gets one more complementary cell, taken from the relations the
    attack leaned on (non-zero dual values), and the rounds go on until none
    is pinned. Limits (``docs/confidentiality.md``): the attacker is the
    linear one of the standard audits (the tests also run integer programs
    on random tables); a reader who knows that complements are chosen
    smallest-first also knows that an ``"x"`` cell is at most the published
    cells of its relation, which the audit does not model; protection is
    "not pinned", so a small count may be narrowed to two values; the
    pattern is a greedy one, not the smallest possible.

What derived values do (see :func:`release_layer`)
    Rates (count / population) and their differences, ratios, test p-values
    and trend classes of a single commune are masked where the commune's
    count is suppressed: each one is an invertible function of the count.
    The empirical-Bayes smoothed rate is recomputed from the published
    communes only: its prior uses every commune's count, and its floating
    parameters would give an attacker one more equation. Gi* z-scores,
    p-values and the analysed values are dropped: a z-score of a neighbourhood
    sum, given the global mean and variance, *is* that sum, and ninety-six
    neighbourhood sums solve for every count. The Gi* and emerging-hot-spot
    *classes* are kept: a class is one of a few levels of a permutation test
    over a neighbourhood of several communes, it bounds a weighted sum from
    one side and never fixes a count; it is not a disclosure in this policy
    (the limits are in ``docs/confidentiality.md``).

No points below commander
    Record-level frames (record ids, coordinates, point geometries), kernel
    density surfaces and hexagon counts are refused with
    :class:`PointDataRefused`; a layer kind with no release rule here is
    refused with :class:`ReleaseRefused`. The release fails closed.

Usage, once per data version (after each import) and per request::

    plan = release_plan(incidents, registry)              # threshold=5
    period = plan.snap(start, end)                        # maybe rounded: say so
    layer = incident_counts(incidents, communes, unit_set="2025",
                            types=["victim"], start=period.start, end=period.end)
    shown = for_role(layer, role, plan=plan)
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from geo.units import NEW, OLD, PROVINCE_CODE, Registry
from layers.counts import INCIDENT_TYPES
from layers.layer import Caveat, Layer
from layers.rates import smoothed_rates

__all__ = [
    "COMPLEMENTARY_LABEL",
    "DEFAULT_THRESHOLD",
    "UNRESTRICTED_ROLES",
    "CountTable",
    "Hierarchy",
    "PointDataRefused",
    "ReleasePlan",
    "ReleaseRefused",
    "Role",
    "SnappedPeriod",
    "Suppression",
    "disclosure_bounds",
    "for_role",
    "hierarchy_table",
    "incident_table",
    "margins_table",
    "period_hierarchy",
    "release_layer",
    "release_plan",
    "snap_period",
    "stray_pieces",
    "suppress",
    "suppressed_label",
    "type_hierarchy",
    "unit_hierarchy",
    "unit_key",
]

#: Counts from 1 to ``DEFAULT_THRESHOLD - 1`` are suppressed ("< 5").
DEFAULT_THRESHOLD = 5
#: Label of a complementary cell: suppressed so that a small count elsewhere
#: cannot be worked out (Statistics Canada's and Eurostat's "x", confidential).
COMPLEMENTARY_LABEL = "x"

#: Cell statuses of a :class:`Suppression`.
PUBLISHED, PRIMARY, COMPLEMENTARY, HIDDEN = "published", "primary", "complementary", "hidden"


class Role(str, Enum):
    """Who is asking (the dashboard's roles; authentication is not done here)."""

    COMMANDER = "commander"  #: incident points and every layer, unsuppressed
    PLANNER = "planner"  #: commune aggregates, coverage, imports
    VIEWER = "viewer"  #: committee presenter: aggregates only
    ADMIN = "admin"  #: accounts and configuration

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str) and value.strip().lower() == "committee":
            return cls.VIEWER
        if isinstance(value, str) and value.strip().lower() != value:
            return cls(value.strip().lower())
        return None


#: Roles that see counts as they are. Every other role gets suppressed aggregates only.
UNRESTRICTED_ROLES = frozenset({Role.COMMANDER})


class ReleaseRefused(PermissionError):
    """This object has no release rule for a role below commander (the release fails closed)."""


class PointDataRefused(ReleaseRefused):
    """Record-level or point-derived data asked for a role below commander."""


def suppressed_label(threshold: int = DEFAULT_THRESHOLD) -> str:
    """The text shown instead of a small count.

    >>> suppressed_label(), suppressed_label(10)
    ('< 5', '< 10')
    """
    return f"< {int(threshold)}"


# -- tables ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hierarchy:
    """One dimension of a count table: its finest members and how they add up.

    Attributes
    ----------
    name : str
        The dimension (``"unit"``, ``"period"``, ``"type"``, ``"row"`` …).
    leaves : tuple of str
        The finest members: counts are given for these.
    groups : tuple of (parent, children)
        Each parent equals the sum of its children (members: leaves or other
        parents). A parent may head several groups (the province is the sum of
        the new communes and the sum of the old ones); each must cover the
        same leaves, each leaf once.
    hidden : frozenset of str
        Members never published (the parts of a split former commune): unknown
        to a reader, but still protected when small.
    """

    name: str
    leaves: tuple[str, ...]
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    hidden: frozenset[str] = frozenset()

    def __post_init__(self):
        object.__setattr__(self, "leaves", tuple(self.leaves))
        object.__setattr__(self, "groups", tuple((p, tuple(c)) for p, c in self.groups))
        object.__setattr__(self, "hidden", frozenset(self.hidden))
        if len(set(self.leaves)) != len(self.leaves):
            raise ValueError(f"{self.name}: duplicate leaves")
        parents = {p for p, _ in self.groups}
        if parents & set(self.leaves):
            raise ValueError(f"{self.name}: leaves cannot head a group: {sorted(parents & set(self.leaves))}")
        unknown = {c for _, cs in self.groups for c in cs} - parents - set(self.leaves)
        if unknown:
            raise ValueError(f"{self.name}: children that are no member: {sorted(unknown)[:5]}")
        if self.hidden - set(self.members):
            raise ValueError(f"{self.name}: hidden members that are no member")
        _ = self.leaf_sets  # validates coverage and cycles

    @classmethod
    def flat(cls, name: str, leaves: Iterable[str], total: str = "total") -> Hierarchy:
        """Leaves and their total (the margin of a two-way table).

        >>> Hierarchy.flat("type", ["tip", "victim"], "all").members
        ('all', 'tip', 'victim')
        """
        leaves = tuple(str(x) for x in leaves)
        return cls(name, leaves, ((total, leaves),))

    @property
    def members(self) -> tuple[str, ...]:
        """Leaves and parents, sorted: the order ties are broken in."""
        return tuple(sorted(set(self.leaves) | {p for p, _ in self.groups}))

    @cached_property
    def leaf_sets(self) -> dict[str, frozenset[str]]:
        """The leaves under each member."""
        by_parent: dict[str, list[tuple[str, ...]]] = {}
        for parent, children in self.groups:
            by_parent.setdefault(parent, []).append(children)
        out: dict[str, frozenset[str]] = {leaf: frozenset({leaf}) for leaf in self.leaves}

        def resolve(member: str, path: tuple[str, ...]) -> frozenset[str]:
            if member in out:
                return out[member]
            if member in path:
                raise ValueError(f"{self.name}: cycle through {member!r}")
            covers = []
            for children in by_parent[member]:
                sets = [resolve(c, path + (member,)) for c in children]
                union = frozenset().union(*sets)
                if sum(len(s) for s in sets) != len(union):
                    raise ValueError(f"{self.name}: the children of {member!r} overlap")
                covers.append(union)
            if any(c != covers[0] for c in covers):
                raise ValueError(f"{self.name}: the groups of {member!r} cover different leaves")
            out[member] = covers[0]
            return covers[0]

        for parent in by_parent:
            resolve(parent, ())
        return out


@dataclass(frozen=True)
class CountTable:
    """Every figure that may be published, and the additive relations between them.

    Attributes
    ----------
    dims : tuple of Hierarchy
    cells : DataFrame
        One row per cell (every combination of the dimensions' members),
        indexed by a MultiIndex named after the dimensions, sorted: ``count``
        (int) and ``published`` (False when any member is hidden).
    relations : scipy.sparse.csr_matrix
        One row per relation, one column per cell: +1 for the parent, −1 for
        each child, so that ``relations @ count == 0``.
    """

    dims: tuple[Hierarchy, ...]
    cells: pd.DataFrame
    relations: sparse.csr_matrix


def hierarchy_table(atoms: pd.Series, dims: Sequence[Hierarchy]) -> CountTable:
    """The table of all cells of ``dims`` from the counts of their leaves.

    Parameters
    ----------
    atoms : Series
        Non-negative integer counts indexed by leaf keys, one index level per
        dimension in the order of ``dims``; missing combinations count 0.
    dims : sequence of Hierarchy

    Returns
    -------
    CountTable

    Examples
    --------
    >>> rows = Hierarchy.flat("commune", ["a", "b"])
    >>> cols = Hierarchy.flat("type", ["tip", "victim"], "all")
    >>> atoms = pd.Series([3, 7, 0, 2], index=pd.MultiIndex.from_tuples(
    ...     [("a", "tip"), ("a", "victim"), ("b", "tip"), ("b", "victim")]))
    >>> table = hierarchy_table(atoms, [rows, cols])
    >>> int(table.cells.loc[("total", "all"), "count"]), table.relations.shape
    (12, (6, 9))
    """
    dims = tuple(dims)
    keys = atoms.index
    if not isinstance(keys, pd.MultiIndex):
        keys = pd.MultiIndex.from_arrays([keys])
    if keys.nlevels != len(dims):
        raise ValueError(f"atoms have {keys.nlevels} index levels for {len(dims)} dimensions")
    values = np.asarray(atoms, dtype=float)
    if len(values) and (np.isnan(values).any() or (values < 0).any()
                        or (values != np.round(values)).any()):
        raise ValueError("counts must be non-negative integers")
    leaf_pos = []
    for level, dim in enumerate(dims):
        where = {leaf: i for i, leaf in enumerate(dim.leaves)}
        codes = keys.get_level_values(level).map(lambda k, w=where: w.get(str(k), -1))
        codes = np.asarray(codes, dtype=int)
        if (codes < 0).any():
            bad = sorted({str(k) for k, c in zip(keys.get_level_values(level), codes) if c < 0})
            raise ValueError(f"{dim.name}: keys that are no leaf: {bad[:5]}")
        leaf_pos.append(codes)
    tensor = np.zeros(tuple(len(d.leaves) for d in dims), dtype=np.int64)
    np.add.at(tensor, tuple(leaf_pos), values.astype(np.int64))
    for axis, dim in enumerate(dims):
        tensor = np.moveaxis(np.tensordot(_membership(dim), tensor, axes=([1], [axis])), 0, axis)
    shape = tensor.shape
    index = (pd.MultiIndex.from_product([d.members for d in dims], names=[d.name for d in dims])
             if len(dims) > 1 else pd.Index(dims[0].members, name=dims[0].name))
    hidden = np.zeros(shape, dtype=bool)
    for axis, dim in enumerate(dims):
        mask = np.array([m in dim.hidden for m in dim.members])
        hidden |= mask.reshape([-1 if a == axis else 1 for a in range(len(dims))])
    cells = pd.DataFrame({"count": tensor.ravel(), "published": ~hidden.ravel()}, index=index)
    relations = _relations(dims, shape)
    if np.abs(relations @ cells["count"].to_numpy()).max(initial=0) != 0:
        raise AssertionError("the relations do not hold on the counts (a bug)")
    return CountTable(dims=dims, cells=cells, relations=relations)


def margins_table(frame: pd.DataFrame, *, total: str = "total") -> CountTable:
    """A two-way table with its row totals, column totals and grand total.

    >>> t = margins_table(pd.DataFrame({"x": [1, 9], "y": [6, 0]}, index=["a", "b"]))
    >>> t.cells["count"].unstack().loc[["a", "b", "total"], ["x", "y", "total"]].values.tolist()
    [[1, 6, 7], [9, 0, 9], [10, 6, 16]]
    """
    rows = Hierarchy.flat(frame.index.name or "row", [str(i) for i in frame.index], total)
    cols = Hierarchy.flat(frame.columns.name or "column", [str(c) for c in frame.columns], total)
    stacked = frame.copy()
    stacked.index = [str(i) for i in frame.index]
    stacked.columns = [str(c) for c in frame.columns]
    return hierarchy_table(stacked.stack(), [rows, cols])


def _membership(dim: Hierarchy) -> np.ndarray:
    """Members × leaves, 1 where the leaf lies under the member."""
    col = {leaf: j for j, leaf in enumerate(dim.leaves)}
    out = np.zeros((len(dim.members), len(dim.leaves)), dtype=np.int64)
    for i, member in enumerate(dim.members):
        for leaf in dim.leaf_sets[member]:
            out[i, col[leaf]] = 1
    return out


def _relations(dims: tuple[Hierarchy, ...], shape: tuple[int, ...]) -> sparse.csr_matrix:
    """Parent − Σ children = 0 for every group of every dimension, at every other coordinate."""
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    rows, cols, vals = [], [], []
    start = 0
    for axis, dim in enumerate(dims):
        pos = {m: i for i, m in enumerate(dim.members)}
        for parent, children in dim.groups:
            base = np.take(flat, pos[parent], axis=axis).ravel()
            ids = start + np.arange(len(base))
            rows.append(ids)
            cols.append(base)
            vals.append(np.ones(len(base)))
            for child in children:
                rows.append(ids)
                cols.append(np.take(flat, pos[child], axis=axis).ravel())
                vals.append(-np.ones(len(base)))
            start += len(base)
    if not rows:
        return sparse.csr_matrix((0, flat.size))
    return sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(start, flat.size),
    )


# -- suppression ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Suppression:
    """Which cells of a table are published, suppressed (primary, complementary) or hidden.

    Attributes
    ----------
    table : CountTable
    threshold, protection : int
    status : Series
        Per cell (the table's index): ``"published"``, ``"primary"`` (a small
        count), ``"complementary"`` (hidden to protect a small count) or
        ``"hidden"`` (never published).
    rounds : int
        Protection-check rounds that added cells.
    """

    table: CountTable
    threshold: int
    protection: int
    status: pd.Series
    rounds: int

    @property
    def suppressed(self) -> pd.Series:
        """True for primary and complementary cells."""
        return self.status.isin((PRIMARY, COMPLEMENTARY))

    @property
    def labels(self) -> pd.Series:
        """``"< 5"`` for primary cells, ``"x"`` for complementary ones, None elsewhere."""
        small = (self.table.cells["count"] < self.threshold).to_numpy()
        hidden = self.suppressed.to_numpy()
        out = np.full(len(hidden), None, dtype=object)
        out[hidden & small] = suppressed_label(self.threshold)
        out[hidden & ~small] = COMPLEMENTARY_LABEL
        return pd.Series(out, index=self.status.index, dtype=object, name="label")

    @property
    def published_counts(self) -> pd.Series:
        """The counts a reader sees: missing where suppressed or hidden (nullable Int64)."""
        counts = self.table.cells["count"].astype("Int64")
        return counts.mask(self.status != PUBLISHED)


def suppress(
    table: CountTable,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int = 1,
    published: Iterable | None = None,
    withheld: Iterable | None = None,
) -> Suppression:
    """Primary and complementary suppression of a count table, checked by attack.

    Parameters
    ----------
    table : CountTable
        From :func:`hierarchy_table`, :func:`margins_table` or :func:`incident_table`.
    threshold : int
        Counts ``1 <= count < threshold`` are suppressed. At least
        ``protection + 2`` (a "< 3" label already leaves two values).
    protection : int
        The narrowest interval a reader may be able to confine a small count
        to, in counts: 1 means it cannot be pinned to a single value.
    published, withheld : iterable of cell keys, optional
        Cells whose status another release decides (keys of
        ``table.cells.index``), so that two releases sharing them agree.
        A ``published`` cell is never chosen as a complement: its count is
        public elsewhere. A ``withheld`` cell starts suppressed (primary when
        small, else complementary: labelled "< 5" or "x" by its count as
        usual), and is protected like a small count: no attack on this
        table may pin it, so what the other release hides stays hidden.
        Neither changes anything when not given.

    Returns
    -------
    Suppression

    Raises
    ------
    RuntimeError
        If a small count cannot be protected (no cell is left to hide, for
        instance because the cells beside it are fixed ``published``): the
        release must fail rather than leak.
    ValueError
        A key that is no cell, a cell both published and withheld, or a cell
        fixed published that cannot be (a small count, a hidden part).

    Examples
    --------
    One small count (a's 3 tips) forces a second cell in its column (b's 8
    tips) and in its row (a's 10 crossings, not the 0 victims); the
    crossing column then needs a second cell (b's 11), which also completes
    row b:

    >>> t = margins_table(pd.DataFrame({"tip": [3, 8, 9], "victim": [0, 7, 6],
    ...                                 "crossing": [10, 11, 12]}, index=["a", "b", "c"]))
    >>> s = suppress(t)
    >>> s.labels[s.suppressed].sort_index().to_dict()
    {('a', 'crossing'): 'x', ('a', 'tip'): '< 5', ('b', 'crossing'): 'x', ('b', 'tip'): 'x'}

    When another release publishes b's tips, c's 9 tips are hidden instead:

    >>> s = suppress(t, published=[("b", "tip")])
    >>> sorted(k for k in s.status.index[s.suppressed] if k[1] == "tip")
    [('a', 'tip'), ('c', 'tip')]
    """
    threshold, protection = int(threshold), int(protection)
    if protection < 1:
        raise ValueError(f"protection must be at least 1, got {protection}")
    if threshold < protection + 1:
        raise ValueError(
            f"threshold {threshold} is too small: '< {threshold}' leaves fewer than "
            f"{protection + 1} possible values, so the label itself discloses the count"
        )
    state = _State(table, threshold, protection)
    state.fix(*_fixed_cells(table, published, withheld))
    state.close()
    rounds = 0
    pinned = state.audit()
    while pinned:
        if not state.add_for(pinned):
            raise RuntimeError(f"cannot protect {len(pinned)} small counts: nothing left to hide")
        rounds += 1
        state.close()
        # hiding more only widens what a reader cannot rule out: cells that passed stay safe
        pinned = state.audit(only=list(pinned))
    status = np.full(len(state.count), PUBLISHED, dtype=object)
    status[state.hidden] = HIDDEN
    status[state.suppressed] = COMPLEMENTARY
    status[state.primary] = PRIMARY
    index = table.cells.index
    return Suppression(
        table=table, threshold=threshold, protection=protection,
        status=pd.Series(status, index=index, name="status"),
        rounds=rounds,
    )


def _fixed_cells(table: CountTable, published: Iterable | None,
                 withheld: Iterable | None) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over the cells: fixed published, fixed withheld (checked)."""
    index = table.cells.index
    masks = []
    for name, keys in (("published", published), ("withheld", withheld)):
        mask = np.zeros(len(index), dtype=bool)
        keys = list(keys) if keys is not None else []
        if keys:
            where = index.get_indexer(pd.Index(keys) if index.nlevels == 1
                                      else pd.MultiIndex.from_tuples(keys))
            if (where < 0).any():
                bad = [k for k, w in zip(keys, where, strict=True) if w < 0]
                raise ValueError(f"{name}: keys that are no cell of the table: {bad[:3]}")
            mask[where] = True
        masks.append(mask)
    shown, kept = masks
    if (shown & kept).any():
        raise ValueError(f"cells both published and withheld: {list(index[shown & kept])[:3]}")
    return shown, kept


class _State:
    """The working state of :func:`suppress`: masks over the cells and the relation matrix."""

    def __init__(self, table: CountTable, threshold: int, protection: int):
        self.threshold, self.protection = threshold, protection
        self.count = table.cells["count"].to_numpy(dtype=np.int64)
        published = table.cells["published"].to_numpy(dtype=bool)
        small = (self.count >= 1) & (self.count < threshold)
        self.hidden = ~published
        self.primary = published & small
        self.sensitive = small  # published small cells and small hidden parts: the targets
        self.suppressed = self.primary.copy()
        self.complementary = np.zeros_like(self.primary)
        self.fixed = np.zeros_like(self.primary)  # published elsewhere: never a complement
        self.A = table.relations.tocsr()
        self.A_csc = self.A.tocsc()
        self.absA = abs(self.A).tocsr()
        # a finite box for the attacker (restricting the attacker is the safe direction)
        self.big = float(4 * max(int(self.count.max(initial=0)), threshold) + 10)

    def fix(self, published: np.ndarray, withheld: np.ndarray) -> None:
        """Cells another release decides: never complements, or suppressed from the start.

        A withheld cell becomes a target of the protection check (``sensitive``),
        as a small count is: it must not be pinned by this table either.
        """
        wrong = published & (self.hidden | self.primary)
        if wrong.any():
            raise ValueError(f"{int(wrong.sum())} cells fixed published are small counts or "
                             "hidden parts: they cannot be published")
        self.fixed = published.copy()
        new = withheld & ~self.suppressed & ~self.hidden
        self.suppressed |= new
        self.complementary |= new
        self.sensitive = self.sensitive | (withheld & ~self.hidden)

    @property
    def unknown(self) -> np.ndarray:
        return self.suppressed | self.hidden

    def _members(self, r: int) -> np.ndarray:
        return self.A.indices[self.A.indptr[r]:self.A.indptr[r + 1]]

    def _relations_of(self, c: int) -> np.ndarray:
        return self.A_csc.indices[self.A_csc.indptr[c]:self.A_csc.indptr[c + 1]]

    def _choose(self, candidates: np.ndarray) -> int | None:
        """The candidate with the smallest non-zero count, then the first by codes; else a zero.

        A hidden zero must be protected in its own relations like any hidden
        cell, and those are full of zeros in a sparse table: preferring zeros
        would spread "< 5" over every empty commune and quarter.
        """
        candidates = np.unique(candidates)
        ok = candidates[~self.unknown[candidates] & ~self.fixed[candidates]]
        if not len(ok):
            return None
        best = ok[np.lexsort((ok, self.count[ok], self.count[ok] == 0))[0]]
        self.suppressed[best] = True
        self.complementary[best] = True
        return int(best)

    def close(self) -> None:
        """Add complements until no relation has a single unknown cell that needs protecting."""
        unknown = self.unknown
        n_unknown = self.absA @ unknown.astype(np.int64)
        heap = list(np.flatnonzero(n_unknown == 1))
        heapq.heapify(heap)
        while heap:
            r = heapq.heappop(heap)
            if n_unknown[r] != 1:
                continue
            members = self._members(r)
            lone = members[self.unknown[members]][0]
            if not (self.suppressed[lone] or self.sensitive[lone]):
                continue  # a hidden part with 0 or many: recovering it discloses nothing
            chosen = self._choose(members)
            if chosen is None:
                continue  # impossible when the relation holds; the audit will tell
            for r2 in self._relations_of(chosen):
                n_unknown[r2] += 1
                if n_unknown[r2] == 1:
                    heapq.heappush(heap, int(r2))

    def problem(self):
        """The attacker's program over the unknown cells: columns, relations, right side, bounds."""
        unknown = self.unknown
        cells = np.flatnonzero(unknown)
        sub = self.A[:, cells]
        rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        sub = sub.tocsr()[rows]
        known = np.flatnonzero(~unknown)
        rhs = -(self.A[rows][:, known] @ self.count[known]).astype(float)
        lower = np.zeros(len(cells))
        upper = np.full(len(cells), self.big)
        small = self.suppressed[cells] & (self.count[cells] < self.threshold)  # "< t"
        large = self.suppressed[cells] & ~small  # "x"
        upper[small] = self.threshold - 1
        lower[large] = self.threshold
        self.problem_rows = rows
        return cells, sub, rhs, lower, upper

    def components(self, sub: sparse.csr_matrix) -> np.ndarray:
        n_rows, n_cells = sub.shape
        graph = sparse.bmat([[None, sub.T], [sub, None]], format="csr") if n_rows else \
            sparse.csr_matrix((n_cells, n_cells))
        _, labels = connected_components(graph, directed=False)
        return labels[:n_cells]

    def audit(self, only: Iterable[int] | None = None) -> dict[int, set[int]]:
        """Small cells a reader can confine to fewer than ``protection + 1`` values.

        Returns each such cell with the relations that pin it (those with a
        non-zero dual value in the attack). ``only`` restricts the check to
        these cells (those pinned last round).
        """
        cells, sub, rhs, lower, upper = self.problem()
        if not len(cells):
            return {}
        labels = self.components(sub)
        truth = self.count[cells].astype(float)
        targets = self.sensitive[cells]
        if only is not None:
            targets &= np.isin(cells, np.fromiter(only, dtype=np.int64))
        pinned: dict[int, set[int]] = {}
        for label in np.unique(labels[targets]):
            in_comp = np.flatnonzero(labels == label)
            rows = np.flatnonzero(np.asarray(abs(sub[:, in_comp]).sum(axis=1)).ravel() > 0)
            local = _Program(sub[rows][:, in_comp], rhs[rows], lower[in_comp], upper[in_comp],
                             rows=self.problem_rows[rows])
            local_targets = np.flatnonzero(targets[in_comp])
            for k in local.pinned(local_targets, truth[in_comp], self.protection):
                pinned[int(cells[in_comp[k]])] = local.binding.get(k, set())
        return dict(sorted(pinned.items()))

    def add_for(self, pinned: Mapping[int, set[int]]) -> bool:
        """One more complementary cell for each pinned cell.

        The cell is taken from the relations that pin it (those the attack
        leaned on), else from a relation of it that pins it by itself (the
        bounds of its other unknown cells leave too little room), else from
        any relation of it; the smallest count first, as in :meth:`close`.
        A pinned cell whose relations already got a new unknown cell this
        round waits for the next round's check.
        """
        cells, sub, _, lower, upper = self.problem()
        low = self.count.astype(float)
        high = self.count.astype(float)
        low[cells], high[cells] = lower, upper
        added = False
        touched: set[int] = set()
        labels = None
        for cell, binding in pinned.items():
            relations = self._relations_of(cell)
            if touched & (set(relations.tolist()) | binding):
                continue
            chosen = None
            if binding:
                leaned = np.concatenate([self._members(r) for r in sorted(binding)])
                chosen = self._choose(leaned.astype(int))
            tight = [r for r in relations if self._pins(r, cell, low, high)]
            if chosen is None:
                near = np.concatenate([self._members(r) for r in (tight or relations)] or [[]])
                chosen = self._choose(near.astype(int))
            if chosen is None and tight:
                near = np.concatenate([self._members(r) for r in relations])
                chosen = self._choose(near.astype(int))
            if chosen is None:
                if labels is None:
                    labels = self.components(sub)
                group = cells[labels == labels[np.searchsorted(cells, cell)]]
                rels = np.unique(np.concatenate([self._relations_of(c) for c in group]))
                wider = np.concatenate([self._members(r) for r in rels] or [[]])
                chosen = self._choose(wider.astype(int))
            if chosen is not None:
                added = True
                touched.update(self._relations_of(chosen).tolist())
        return added

    def _pins(self, r: int, cell: int, low: np.ndarray, high: np.ndarray) -> bool:
        """Whether relation ``r`` alone confines ``cell`` to fewer than ``protection + 1`` values."""
        start, stop = self.A.indptr[r], self.A.indptr[r + 1]
        members, coef = self.A.indices[start:stop], self.A.data[start:stop]
        others = members != cell
        a = coef[others]
        s_min = np.minimum(a * low[members[others]], a * high[members[others]]).sum()
        s_max = np.maximum(a * low[members[others]], a * high[members[others]]).sum()
        own = coef[~others][0]
        lo, hi = (-s_max, -s_min) if own > 0 else (s_min, s_max)
        lo, hi = max(lo, low[cell]), min(hi, high[cell])
        return math.floor(hi + 1e-6) - math.ceil(lo - 1e-6) < self.protection


class _Program:
    """The attacker's program over some unknown cells: their bounds and the relations.

    Linear programming (HiGHS) by default, the attack of the standard audits
    (τ-ARGUS); ``integer=True`` solves the integer program instead, which can
    only be as strong or stronger (used by the tests on small tables).
    """

    _EPS = 1e-6

    def __init__(self, A: sparse.csr_matrix, rhs: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, *, integer: bool = False, rows: np.ndarray | None = None):
        self.A, self.rhs, self.lower, self.upper = A, rhs, lower, upper
        self.n, self.integer = len(lower), integer
        self.rows = rows  # the relation of each row, to name the binding ones
        self.leaned: set[int] = set()  # relations with a non-zero dual since the last reset
        self.binding: dict[int, set[int]] = {}  # pinned target -> relations that pin it

    def solve(self, objective: np.ndarray) -> np.ndarray:
        """A feasible point minimising ``objective``."""
        if self.integer:
            constraints = (LinearConstraint(self.A, self.rhs, self.rhs),) if self.A.shape[0] \
                else ()
            result = milp(objective, constraints=constraints, integrality=np.ones(self.n),
                          bounds=Bounds(self.lower, self.upper))
        else:
            result = linprog(objective, A_eq=self.A if self.A.shape[0] else None,
                             b_eq=self.rhs if self.A.shape[0] else None,
                             bounds=np.column_stack([self.lower, self.upper]), method="highs")
        if result.x is None:
            raise RuntimeError(f"the attacker's program failed: {result.message}")
        if not self.integer and self.rows is not None and self.A.shape[0]:
            duals = np.asarray(result.eqlin.marginals)
            self.leaned.update(self.rows[np.abs(duals) > 1e-9].tolist())
        return np.asarray(result.x)

    def extreme(self, k: int, sign: float) -> float:
        """The largest (``sign`` 1) or smallest (−1) value of cell ``k``, rounded to integers."""
        objective = np.zeros(self.n)
        objective[k] = -sign
        value = float(self.solve(objective)[k])
        return math.floor(value + self._EPS) if sign > 0 else math.ceil(value - self._EPS)

    def _width(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return np.floor(hi + self._EPS) - np.ceil(lo - self._EPS)

    def pinned(self, targets: np.ndarray, truth: np.ndarray, protection: int, *,
               seed: int = 0) -> list[int]:
        """Targets whose interval is narrower than ``protection``.

        Any feasible point is a witness: two points whose values of a target
        differ by ``protection`` prove it safe. So, cheapest first:

        1. a few programs over everything push all undecided targets away
           from their true values, then in random directions;
        2. each target still undecided gets its own max and min over its
           neighbourhood (the relations of the cells within 1, then 2,
           relations of it): once with every cell beyond held at its true
           value (a restriction: a spread found there exists), once with the
           relations beyond dropped (a relaxation: a pin found there holds);
        3. else its own max and min over everything; each solution is a
           witness for the targets not yet checked.
        """
        lo, hi = truth.astype(float), truth.astype(float)
        undecided = np.asarray(targets, dtype=np.int64)
        rng = np.random.default_rng(seed)
        room_up = truth < self.upper - 0.5

        def witness(x: np.ndarray) -> None:
            nonlocal lo, hi
            lo, hi = np.minimum(lo, x), np.maximum(hi, x)

        def safe(k: int) -> bool:
            return self._width(lo[k:k + 1], hi[k:k + 1])[0] >= protection

        for round_ in range(8):
            if not len(undecided):
                break
            sign = (np.where(room_up[undecided], 1.0, -1.0) if round_ == 0
                    else rng.choice([-1.0, 1.0], size=len(undecided)))
            objective = np.zeros(self.n)
            objective[undecided] = -sign
            witness(self.solve(objective))
            still = undecided[self._width(lo[undecided], hi[undecided]) < protection]
            progress, undecided = len(undecided) - len(still), still
            if progress < max(1, len(undecided) // 20):
                break
        out = []
        for k in undecided:
            k = int(k)
            if safe(k):
                continue
            verdict = None
            self.leaned = set()
            for radius in (1, 2):
                low, high = self._local_extremes(k, truth, radius, relax=False)
                lo[k], hi[k] = min(lo[k], low), max(hi[k], high)
                if safe(k):
                    verdict = "safe"
                    break
                low, high = self._local_extremes(k, truth, radius, relax=True)
                if math.floor(high + self._EPS) - math.ceil(low - self._EPS) < protection:
                    verdict = "pinned"
                    break
                self.leaned = set()
            if verdict is None:
                for sign in ((1.0, -1.0) if room_up[k] else (-1.0, 1.0)):
                    if safe(k):
                        break
                    objective = np.zeros(self.n)
                    objective[k] = -sign
                    witness(self.solve(objective))
                verdict = "safe" if safe(k) else "pinned"
            if verdict == "pinned":
                out.append(k)
                self.binding[k] = set(self.leaned)
        return out

    @cached_property
    def _csc(self) -> sparse.csc_matrix:
        return self.A.tocsc()

    def _local_extremes(self, k: int, truth: np.ndarray, radius: int, *,
                        relax: bool) -> tuple[float, float]:
        """Min and max of cell ``k`` over the relations near it.

        ``relax=False`` holds every cell beyond ``radius`` relations at its true
        value (a restriction of the attacker's program); ``relax=True`` keeps
        those cells free within their bounds and drops the relations beyond (a
        relaxation).
        """
        near = np.array([k])
        for _ in range(radius):
            rows = np.unique(self._csc[:, near].indices)
            near = np.unique(self.A[rows].indices)
        rows = np.unique(self._csc[:, near].indices)
        A = self.A[rows]
        if relax:
            near = np.unique(A.indices)
            rhs = self.rhs[rows]
        else:
            inside = np.zeros(self.n, dtype=bool)
            inside[near] = True
            rhs = self.rhs[rows] - A[:, ~inside] @ truth[~inside]
        local = _Program(A[:, near], rhs, self.lower[near], self.upper[near],
                         integer=self.integer,
                         rows=None if self.rows is None else self.rows[rows])
        at = int(np.searchsorted(near, k))
        extremes = local.extreme(at, -1.0), local.extreme(at, 1.0)
        if relax:
            self.leaned |= local.leaned
        return extremes


def disclosure_bounds(suppression: Suppression, *, integer: bool = False,
                      small_only: bool = False) -> pd.DataFrame:
    """The attack: for every unknown cell, the values a reader cannot rule out.

    The reader knows every published cell, the relations between cells, and
    the policy: a ``"< t"`` cell is in [0, t − 1] (a small count, or a zero
    hidden as a complement: the label does not say which), an ``"x"`` cell is
    at least t, a hidden part is
    non-negative. Two programs per cell, each bound rounded inward to an
    integer.

    Parameters
    ----------
    suppression : Suppression
    integer : bool
        Solve integer programs (slower, a stronger attacker) instead of
        linear ones.
    small_only : bool
        Only the cells that must be protected (counts from 1 to t − 1,
        suppressed or hidden).

    Returns
    -------
    DataFrame
        Indexed like the table's cells, unknown cells only: ``status``,
        ``count``, ``low``, ``high``.

    Examples
    --------
    >>> t = margins_table(pd.DataFrame({"x": [1, 1, 30]}, index=["a", "b", "c"]))
    >>> s = suppress(t)
    >>> disclosure_bounds(s).loc[[("a", "x"), ("b", "x")], ["low", "high"]].values.tolist()
    [[0, 2], [0, 2]]
    """
    state = _State(suppression.table, suppression.threshold, suppression.protection)
    status = suppression.status.to_numpy()
    state.suppressed = np.isin(status, (PRIMARY, COMPLEMENTARY))
    state.complementary = status == COMPLEMENTARY
    cells, sub, rhs, lower, up = state.problem()
    program = _Program(sub, rhs, lower, up, integer=integer)
    chosen = np.flatnonzero(state.sensitive[cells]) if small_only else np.arange(len(cells))
    low = [program.extreme(k, -1.0) for k in chosen]
    high = [program.extreme(k, 1.0) for k in chosen]
    return pd.DataFrame({"status": status[cells[chosen]], "count": state.count[cells[chosen]],
                         "low": np.array(low, dtype=np.int64),
                         "high": np.array(high, dtype=np.int64)},
                        index=suppression.table.cells.index[cells[chosen]])


# -- the dimensions of incident counts -----------------------------------------------------

_PROVINCE = f"province:{PROVINCE_CODE}"
#: The hidden part of the province that holds records of no unit (one unit set alone).
_UNPLACED = "part:?"
_ALL_PERIODS = "all"
_ALL_TYPES = "all"


def unit_key(unit_set: str, code: str) -> str:
    """The member name of a commune in the unit dimension (codes are reused across sets).

    >>> unit_key("2025", "25681"), unit_key("legacy", "25681"), unit_key("province", "80")
    ('2025:25681', 'legacy:25681', 'province:80')
    """
    if unit_set not in (NEW, OLD, "province"):
        raise ValueError(f"unknown unit set {unit_set!r}")
    return f"{unit_set}:{code}"


def _piece_key(old: str, new: str) -> str:
    return f"part:{old}>{new}"


def unit_hierarchy(registry: Registry, unit_sets: Sequence[str] = (NEW, OLD),
                   stray: Iterable[tuple[str, str]] = ()) -> Hierarchy:
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
    if len(unit_sets) == 1:
        leaves = tuple(unit_key(unit_sets[0], c) for c in registry.units(unit_sets[0]).index)
        unplaced = (_UNPLACED,) if stray else ()
        return Hierarchy("unit", leaves + unplaced, ((_PROVINCE, leaves + unplaced),),
                         frozenset(unplaced))
    leaf_of = _unit_leaves(registry, stray)
    by_new: dict[str, list[str]] = {}
    by_old: dict[str, list[str]] = {}
    for (old, new), leaf in leaf_of.items():
        by_new.setdefault(new, []).append(leaf)
        by_old.setdefault(old, []).append(leaf)
    leaves = tuple(dict.fromkeys(leaf_of.values()))
    groups = [(unit_key(NEW, new), tuple(by_new[new])) for new in sorted(by_new) if new != "?"]
    groups += [(unit_key(OLD, old), tuple(children)) for old, children in sorted(by_old.items())
               if old != "?" and children != [unit_key(OLD, old)]]
    groups.append((_PROVINCE, tuple(unit_key(NEW, c) for c in registry.communes.index)
                   + tuple(by_new.get("?", ()))))
    groups.append((_PROVINCE, tuple(unit_key(OLD, c) for c in registry.legacy.index)
                   + tuple(by_old.get("?", ()))))
    hidden = frozenset(v for v in leaves if v.startswith("part:"))
    return Hierarchy("unit", leaves, tuple(groups), hidden)


def _unit_leaves(registry: Registry, stray: tuple[tuple[str, str], ...]) -> dict:
    """The unit leaf of every (former, 2025) pair of the registry and of ``stray``: the
    former commune itself, or a hidden part when the former commune has several."""
    comp = registry.composition
    pairs = list(zip(comp["old_code"], comp["new_code"], strict=True)) + list(stray)
    several = set(comp.loc[comp["split"], "old_code"]) | {o for o, _ in stray}
    return {(o, n): (_piece_key(o, n) if o in several else unit_key(OLD, o)) for o, n in pairs}


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
    return Hierarchy("type", types, ((_ALL_TYPES, types),) if total else ())


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


def _as_date(value) -> dt.date | None:
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
    requested = (_as_date(start), _as_date(end))
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


def _grid_label(start, end, first_year: int, last_year: int) -> str | None:
    """The grid label of exactly ``start``–``end`` (``None``, ``None`` is the span), else None."""
    a, b = _as_date(start), _as_date(end)
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

    Returns
    -------
    CountTable
        Dimensions ``unit`` (:func:`unit_hierarchy`), ``period``
        (:func:`period_hierarchy`) and ``type`` (:func:`type_hierarchy`).
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
    unit_sets = tuple(dict.fromkeys(unit_sets))
    stray = _strays(chosen, registry, unit_sets)
    units = unit_hierarchy(registry, unit_sets, stray)
    leaf = _unit_leaf_of(chosen, registry, unit_sets, stray)
    quarter = dates.dt.year.astype(str) + "Q" + dates.dt.quarter.astype(str)
    atoms = (pd.DataFrame({"unit": leaf.to_numpy(), "period": quarter.to_numpy(),
                           "type": chosen["type"].to_numpy()})
             .groupby(["unit", "period", "type"]).size())
    dims = [units, period_hierarchy(first_year, last_year), type_hierarchy(types, total=type_total)]
    return hierarchy_table(atoms, dims)


def _strays(records: pd.DataFrame, registry: Registry,
            unit_sets: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """What :func:`unit_hierarchy` needs as ``stray`` for these records and unit sets."""
    if len(unit_sets) == 1:
        column = "new_code" if unit_sets[0] == NEW else "old_code"
        codes = records[column].astype(object).where(records[column].notna(), "").astype(str)
        return (("?", "?"),) if (~codes.isin(registry.units(unit_sets[0]).index)).any() else ()
    return stray_pieces(records, registry)


def _unit_leaf_of(records: pd.DataFrame, registry: Registry, unit_sets: tuple[str, ...],
                  stray: tuple[tuple[str, str], ...]) -> pd.Series:
    """The unit leaf of every record (its 2025 commune, former commune, or part)."""
    if len(unit_sets) == 1:
        unit_set = unit_sets[0]
        codes = records["new_code" if unit_set == NEW else "old_code"]
        codes = codes.astype(object).where(codes.notna(), "").astype(str)
        known = codes.isin(registry.units(unit_set).index)
        return pd.Series(np.where(known, unit_set + ":" + codes, _UNPLACED), index=records.index)
    leaf_of = _unit_leaves(registry, stray)
    old, new = _known_codes(records, registry)
    return pd.Series([leaf_of[p] for p in zip(old, new, strict=True)], index=records.index,
                     dtype=object)


# -- the release plan ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReleasePlan:
    """What roles below commander may see of one version of the incident data.

    Build it once per data version (:func:`release_plan`) and pass it to
    :func:`for_role` with every layer. A plan built from other data than the
    layer is detected (the counts differ) and refused.

    Attributes
    ----------
    suppression : Suppression
        Over :func:`incident_table`'s cells.
    first_year, last_year : int
        The span of the period grid.
    unit_sets : tuple of str
    types : tuple of str
    type_total : bool
    """

    suppression: Suppression
    first_year: int
    last_year: int
    unit_sets: tuple[str, ...]
    types: tuple[str, ...]
    type_total: bool

    @property
    def threshold(self) -> int:
        return self.suppression.threshold

    def snap(self, start, end) -> SnappedPeriod:
        """The grid period to compute a layer for (see :func:`snap_period`)."""
        return snap_period(start, end, first_year=self.first_year, last_year=self.last_year)

    def type_key(self, types: Iterable[str] | None) -> str:
        """The type member of a selection: one type, or all of them ("all").

        Any other subset is refused: its sum is not a published figure, and
        it would differ from "all" by exactly the types left out.
        """
        chosen = tuple(dict.fromkeys(self.types if types is None else types))
        if len(chosen) == 1 and chosen[0] in self.types:
            return chosen[0]
        if set(chosen) == set(self.types) and self.type_total:
            return _ALL_TYPES
        raise ReleaseRefused(
            f"incident types {list(chosen)} are not releasable below commander: choose one type "
            f"or {'all of ' + str(list(self.types)) if self.type_total else 'one type'}")

    def period_label(self, start, end) -> str:
        """The grid label of exactly this period; refuses a period off the grid."""
        label = _grid_label(start, end, self.first_year, self.last_year)
        if label is None:
            raise ReleaseRefused(
                f"period {_as_date(start)}–{_as_date(end)} is not on the release grid "
                "(quarters, half-years, years, the whole span): snap it with plan.snap() first")
        return label

    def cells(self, unit_set: str, codes: Iterable[str], period: str, type_key: str) -> pd.DataFrame:
        """``count``, ``status`` and ``label`` of communes (or ``"province"``) in one period and type."""
        codes = [str(c) for c in codes]
        if unit_set not in self.unit_sets and unit_set != "province":
            raise ReleaseRefused(f"the plan does not cover the {unit_set!r} units")
        if period.startswith("outside:"):  # no record there: every count is 0 and published
            return pd.DataFrame({"count": 0, "status": PUBLISHED, "label": None}, index=codes)
        keys = pd.MultiIndex.from_arrays([[unit_key(unit_set, c) for c in codes],
                                          [period] * len(codes), [type_key] * len(codes)])
        table = self.suppression.table.cells
        missing = ~keys.isin(table.index)
        if missing.any():
            raise ReleaseRefused(f"cells not in the plan: {list(keys[missing])[:3]}")
        return pd.DataFrame({
            "count": table["count"].reindex(keys).to_numpy(),
            "status": self.suppression.status.reindex(keys).to_numpy(),
            "label": self.suppression.labels.reindex(keys).to_numpy(),
        }, index=codes)

    def province(self, period: str, type_key: str) -> pd.Series:
        """The province cell of a period and type: ``count``, ``status``, ``label``."""
        return self.cells("province", [PROVINCE_CODE], period, type_key).iloc[0]


def release_plan(
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
) -> ReleasePlan:
    """Suppress the incident table once; every release below commander reads it.

    Parameters are those of :func:`incident_table` and :func:`suppress`.
    On the demo data (3,844 records, four years, both unit sets, four types)
    it takes about 10 seconds on an idle core (a smaller threshold or
    ``type_total=True`` take far longer: see ``docs/confidentiality.md``):
    build it once per data version, after an import, outside any callback,
    and keep it with the records.
    """
    table = incident_table(incidents, registry, unit_sets=unit_sets, types=types,
                           type_total=type_total, first_year=first_year, last_year=last_year)
    if {"old_code", "new_code"} <= set(incidents.columns):
        stray = stray_pieces(incidents, registry)
        if stray:
            logging.getLogger("borderwatch").warning(
                "release plan: records whose former and 2025 communes do not meet, counted "
                "in both through hidden parts (correct them): %s", stray[:20])
    periods = table.dims[1].leaves
    return ReleasePlan(
        suppression=suppress(table, threshold=threshold, protection=protection),
        first_year=int(periods[0][:4]), last_year=int(periods[-1][:4]),
        unit_sets=tuple(dict.fromkeys(unit_sets)), types=tuple(types), type_total=type_total,
    )


# -- releasing layers ------------------------------------------------------------------------

#: Columns that make a frame record-level (one row per incident, or a location).
_POINT_COLUMNS = frozenset({"record_id", "lat", "lon", "latitude", "longitude"})


def for_role(item, role: str | Role, *, plan: ReleasePlan | None = None):
    """What ``role`` may see of ``item``: the one gate between layers and renderers.

    Parameters
    ----------
    item : Layer or any object a page wants to show
    role : str or Role
        ``"commander"``, ``"planner"``, ``"viewer"`` (or ``"committee"``), ``"admin"``.
    plan : ReleasePlan
        Required for every role but commander.

    Returns
    -------
    The item itself for commander; a released :class:`Layer` otherwise (see
    :func:`release_layer`).

    Raises
    ------
    PointDataRefused
        Record-level frames (ids, coordinates), any frame with geometry
        (points, hexagon counts), density surfaces and distance records for a
        lower role. Boundaries need no release: do not pass them here.
    ReleaseRefused
        Anything else with no release rule, a period off the grid, a subset of
        types, or a layer computed from other data than the plan.
    ValueError
        An unknown role.
    """
    role = Role(role)
    if role in UNRESTRICTED_ROLES:
        return item
    if plan is None:
        raise ReleaseRefused(f"role {role.value!r} sees incidents only through a ReleasePlan")
    if isinstance(item, Layer):
        return release_layer(item, plan)
    if _is_point_data(item):
        raise PointDataRefused(
            f"{type(item).__name__} holds record-level or point data: not for role {role.value!r}")
    raise ReleaseRefused(f"no release rule for {type(item).__name__} below commander")


def _is_point_data(item) -> bool:
    name = type(item).__name__
    if name in ("DensitySurface", "BandShares"):
        return True
    if isinstance(item, pd.DataFrame):
        if _POINT_COLUMNS & {str(c).lower() for c in item.columns}:
            return True
        return "geometry" in item.columns  # hexagons, points: a map of where things happened
    return isinstance(item, pd.Series) and item.name in ("geometry",)


def release_layer(layer: Layer, plan: ReleasePlan) -> Layer:
    """The layer as a role below commander may see it.

    ====================  =========================================================
    layer                 what is released
    ====================  =========================================================
    incident counts       ``count`` missing where suppressed; ``count_label`` holds
                          ``"< 5"`` or ``"x"`` there
    rates                 ``count``, ``rate`` masked where suppressed; ``rate_eb``
                          re-smoothed over the published communes only;
                          ``province_rate`` only when it follows from published cells
    period comparison     ``count``/``other`` masked by their own cells; ``change``,
                          ``ratio``, ``p_value``, ``fdr_threshold``, ``trend`` masked
                          where either is
    Gi* hot spots         classes only (``gi_bin``, ``gi_class``, ``fdr_significant``),
                          of the counts and of the smoothed rate alike; the classes
                          without FDR have no rule (refused)
    emerging hot spots    categories and the numbers of hot/cold periods only
    key areas, gaps       scores and classes; counts, rates and trends dropped,
                          reasons without their numbers
    coverage, reach,      unchanged (prevention models, outreach and distances hold
    proximity             no incident)
    density               refused (:class:`PointDataRefused`)
    anything else         refused (:class:`ReleaseRefused`)
    ====================  =========================================================

    Every released frame is a whitelist of columns: a column added to a
    layer later is not released until a rule here says so. The layer gets
    :attr:`Caveat.SMALL_COUNTS_SUPPRESSED` when any of its cells is
    suppressed, and ``params["suppression"]`` (threshold, grid period,
    numbers of suppressed communes, the province count or its label).
    """
    if layer.title_key in _POINT_LAYERS:
        raise PointDataRefused(f"{layer.title_key} is drawn from incident points")
    release = _RELEASES.get(layer.title_key)
    if release is None:
        raise ReleaseRefused(f"no release rule for {layer.title_key!r} below commander")
    if _POINT_COLUMNS & {str(c).lower() for c in layer.frame.columns}:
        raise PointDataRefused(f"{layer.title_key} carries record-level columns")
    return release(layer, plan)


def _counted(layer: Layer, plan: ReleasePlan, start, end, column: str) -> pd.DataFrame:
    """The plan's cells behind ``layer.frame[column]``, checked against it."""
    period = plan.period_label(start, end)
    cells = plan.cells(layer.unit_set, layer.frame.index, period,
                       plan.type_key(layer.params.get("types")))
    shown = pd.to_numeric(layer.frame[column]).to_numpy()
    if not np.array_equal(shown, cells["count"].to_numpy()):
        raise ReleaseRefused(
            f"the layer's {column!r} differs from the plan's counts: the plan was built from "
            "other data (rebuild it after an import) or the layer from other records")
    cells.attrs["period"] = period
    return cells


def _suppression_params(plan: ReleasePlan, cells: pd.DataFrame, type_key: str) -> dict:
    period = cells.attrs["period"]
    province = (pd.Series({"count": 0, "status": PUBLISHED, "label": None})
                if period.startswith("outside:") else plan.province(period, type_key))
    shown = province["status"] == PUBLISHED
    return {
        "threshold": plan.threshold, "label": suppressed_label(plan.threshold),
        "complementary_label": COMPLEMENTARY_LABEL, "period": period.removeprefix("outside:"),
        "type": type_key,
        "n_primary": int((cells["status"] == PRIMARY).sum()),
        "n_complementary": int((cells["status"] == COMPLEMENTARY).sum()),
        "province_count": int(province["count"]) if shown else None,
        "province_label": None if shown else province["label"],
    }


def _with_caveat(caveats: Sequence[Caveat], any_suppressed: bool) -> tuple[Caveat, ...]:
    out = tuple(caveats)
    if any_suppressed and Caveat.SMALL_COUNTS_SUPPRESSED not in out:
        out += (Caveat.SMALL_COUNTS_SUPPRESSED,)
    return out


def _masked(values: pd.Series, hide: np.ndarray) -> pd.Series:
    if pd.api.types.is_integer_dtype(values.dtype):
        values = values.astype("Int64")
    elif pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype("boolean")
    elif not pd.api.types.is_float_dtype(values.dtype):
        values = values.astype(object)
    return values.mask(hide)


def _release_counts(layer: Layer, plan: ReleasePlan) -> Layer:
    params = layer.params
    cells = _counted(layer, plan, params.get("start"), params.get("end"), "count")
    hide = (cells["status"] != PUBLISHED).to_numpy()
    frame = layer.frame[["name"]].copy()
    frame["count"] = _masked(layer.frame["count"], hide)
    frame["count_label"] = cells["label"].to_numpy()
    info = _suppression_params(plan, cells, plan.type_key(params.get("types")))
    return replace(layer, frame=frame, params={**params, "suppression": info},
                   caveats=_with_caveat(layer.caveats, hide.any()))


def _release_rates(layer: Layer, plan: ReleasePlan) -> Layer:
    params = layer.params
    cells = _counted(layer, plan, params.get("start"), params.get("end"), "count")
    hide = (cells["status"] != PUBLISHED).to_numpy()
    src = layer.frame
    frame = src[["name"]].copy()
    frame["count"] = _masked(src["count"], hide)
    frame["population"] = src["population"]
    frame["rate"] = src["rate"].mask(hide)
    per = params.get("per", 10_000)
    shown = ~hide
    # the same smoothing as the commander's layer, fed the published communes only
    _, smoothed, _ = smoothed_rates(src["count"][shown], src["population"][shown])
    frame["rate_eb"] = (smoothed * per).reindex(frame.index)
    frame["count_label"] = cells["label"].to_numpy()
    info = _suppression_params(plan, cells, plan.type_key(params.get("types")))
    missing = set(params.get("missing_population", ()))
    lacking = [code for code in missing if code in cells.index]
    safe = (info["province_count"] is not None
            and (cells.loc[lacking, "status"] == PUBLISHED).all())
    people = src["population"].astype("Float64").fillna(0).sum()
    province_rate = None
    if safe and people > 0:
        known = info["province_count"] - int(src.loc[lacking, "count"].sum())
        province_rate = float(known / float(people) * per)
    new_params = {**params, "province_rate": province_rate, "suppression": info,
                  "smoothing": "empirical Bayes over the published communes only"}
    return replace(layer, frame=frame, params=new_params,
                   caveats=_with_caveat(layer.caveats, hide.any()))


def _release_compare(layer: Layer, plan: ReleasePlan) -> Layer:
    params = layer.params
    now = _counted(layer, plan, params["start"], params["end"], "count")
    before = _counted(layer, plan, params["other_start"], params["other_end"], "other")
    hide_now = (now["status"] != PUBLISHED).to_numpy()
    hide_before = (before["status"] != PUBLISHED).to_numpy()
    either = hide_now | hide_before
    src = layer.frame
    frame = src[["name"]].copy()
    frame["count"] = _masked(src["count"], hide_now)
    frame["other"] = _masked(src["other"], hide_before)
    # the FDR threshold goes with each p-value it explains (never a bare p beside "no change")
    for column in ("change", "ratio", "p_value", "fdr_threshold", "trend"):
        if column in src:
            frame[column] = _masked(src[column], either)
    frame["count_label"] = now["label"].to_numpy()
    frame["other_label"] = before["label"].to_numpy()
    type_key = plan.type_key(params.get("types"))
    info = _suppression_params(plan, now, type_key)
    info_before = _suppression_params(plan, before, type_key)
    info["other"] = info_before
    new_params = dict(params)
    if info["province_count"] is None:
        new_params["total"] = None
    if info_before["province_count"] is None:
        new_params["total_other"] = None
    if info["province_count"] is None or info_before["province_count"] is None:
        new_params["total_p_value"] = None
    new_params["suppression"] = info
    return replace(layer, frame=frame, params=new_params,
                   caveats=_with_caveat(layer.caveats, either.any()))


def _keep(columns: Sequence[str]):
    def release(layer: Layer, plan: ReleasePlan) -> Layer:
        kept = [c for c in columns if c in layer.frame.columns]
        return replace(layer, frame=layer.frame[kept].copy())
    return release


def _scrubbed_reasons(reasons) -> list:
    """Reasons without the numbers drawn from counts (rates, counts of a rise)."""
    if not isinstance(reasons, (list, tuple)):
        return []
    out = []
    for key, values in reasons:
        if key.startswith(("rate.", "trend.")):
            values = {}
        out.append((key, {k: v for k, v in dict(values).items()
                          if k not in ("count", "other", "rate")}))
    return out


def _release_scores(columns: Sequence[str]):
    keep = _keep(columns)

    def release(layer: Layer, plan: ReleasePlan) -> Layer:
        released = keep(layer, plan)
        for column in ("reasons", "risk_reasons"):
            if column in released.frame:
                released.frame[column] = [_scrubbed_reasons(r) for r in released.frame[column]]
        return released
    return release


def _unchanged(layer: Layer, plan: ReleasePlan) -> Layer:
    return layer


_POINT_LAYERS = frozenset({"layer.density.title"})
_RELEASES = {
    "layer.incident_counts.title": _release_counts,
    "layer.rates.title": _release_rates,
    "layer.compare.previous.title": _release_compare,
    "layer.compare.year_before.title": _release_compare,
    "layer.hotspots.title": _keep(("name", "gi_bin", "gi_class", "fdr_significant")),
    # Gi* of the smoothed rate: the same rule as of the counts (classes only)
    "layer.hotspots_rate.title": _keep(("name", "gi_bin", "gi_class", "fdr_significant")),
    "layer.emerging.title": _keep(("name", "category", "category_code", "n_hot", "n_cold",
                                   "last_hot", "last_cold")),
    "layer.key_areas.title": _release_scores(("name", "score", "rank", "reasons")),
    "layer.gaps.title": _release_scores(
        ("name", "score", "models", "intensive", "reach", "risk", "coverage", "gap",
         "gi_class", "category", "border_km", "gate_km", "gate_name", "days_since",
         "last_agency", "risk_reasons")),
    "layer.coverage.title": _unchanged,
    "layer.reach.title": _unchanged,
    "layer.proximity.title": _unchanged,
}
