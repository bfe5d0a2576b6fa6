"""Count tables: hierarchies of cells and the additive relations a reader knows.

scipy is imported where the relations are built: a server starts without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "CountTable",
    "Hierarchy",
    "hierarchy_table",
    "margins_table",
]


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
        moved = np.moveaxis(tensor, axis, 0)
        summed = _membership(dim) @ moved.reshape(moved.shape[0], -1)
        tensor = np.moveaxis(np.asarray(summed).reshape((len(dim.members),) + moved.shape[1:]),
                             0, axis)
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


def _membership(dim: Hierarchy) -> sparse.csr_matrix:
    """Members × leaves, 1 where the leaf lies under the member (sparse: a country's
    communes would need gigabytes as a dense matrix)."""
    from scipy import sparse

    col = {leaf: j for j, leaf in enumerate(dim.leaves)}
    rows, cols = [], []
    for i, member in enumerate(dim.members):
        leaves = dim.leaf_sets[member]
        rows.extend([i] * len(leaves))
        cols.extend(col[leaf] for leaf in leaves)
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, cols)),
                             shape=(len(dim.members), len(dim.leaves)))


def _relations(dims: tuple[Hierarchy, ...], shape: tuple[int, ...]) -> sparse.csr_matrix:
    """Parent − Σ children = 0 for every group of every dimension, at every other coordinate."""
    from scipy import sparse

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
