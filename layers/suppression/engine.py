"""The generic cell suppression: primary, complementary to a fixpoint, checked by attack.

It knows nothing of incidents: any :class:`~layers.suppression.tables.CountTable`.
scipy is imported where the components are found: a server starts without it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from layers.suppression.audit import Program
from layers.suppression.tables import CountTable

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "COMPLEMENTARY",
    "COMPLEMENTARY_LABEL",
    "DEFAULT_THRESHOLD",
    "EXACT_FEW",
    "STALLED",
    "HIDDEN",
    "PRIMARY",
    "PUBLISHED",
    "Suppression",
    "cell_labels",
    "disclosure_bounds",
    "pinned_cells",
    "suppress",
    "suppressed_label",
]


#: Counts from 1 to ``DEFAULT_THRESHOLD - 1`` are suppressed ("< 5").
DEFAULT_THRESHOLD = 5
#: A bounded check (``suppress(full_solves=)``) that leaves no more pinned cells than this
#: checks them exactly in the next rounds: a few whole solves end what could go on for
#: dozens of rounds.
EXACT_FEW = 16
#: A bounded check whose round leaves more than this share of the cells it re-checked
#: pinned has stalled (the same hard cells, each round one more complement beside them and
#: still undecided: 70, 61, 57, 52, 48 … pinned cells in Hải Phòng's table at 1M national
#: incidents, 35 rounds): the next rounds check them exactly.
STALLED = 0.75
#: Label of a complementary cell: suppressed so that a small count elsewhere
#: cannot be worked out (Statistics Canada's and Eurostat's "x", confidential).
COMPLEMENTARY_LABEL = "x"

#: Cell statuses of a :class:`Suppression`.
PUBLISHED, PRIMARY, COMPLEMENTARY, HIDDEN = "published", "primary", "complementary", "hidden"



def suppressed_label(threshold: int = DEFAULT_THRESHOLD) -> str:
    """The text shown instead of a small count.

    >>> suppressed_label(), suppressed_label(10)
    ('< 5', '< 10')
    """
    return f"< {int(threshold)}"




def cell_labels(count: np.ndarray, status: np.ndarray, threshold: int) -> np.ndarray:
    """What a reader sees instead of each suppressed count: ``"< t"`` when the count is
    below the threshold (a small count, or a zero hidden as a complement: the label does
    not say which), ``"x"`` otherwise; None for the cells not suppressed.

    >>> cell_labels(np.array([3, 0, 12, 7]),
    ...             np.array([PRIMARY, COMPLEMENTARY, COMPLEMENTARY, PUBLISHED]), 5).tolist()
    ['< 5', '< 5', 'x', None]
    """
    small = np.asarray(count) < threshold
    hidden = np.isin(np.asarray(status), (PRIMARY, COMPLEMENTARY))
    out = np.full(len(hidden), None, dtype=object)
    out[hidden & small] = suppressed_label(threshold)
    out[hidden & ~small] = COMPLEMENTARY_LABEL
    return out


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
        out = cell_labels(self.table.cells["count"].to_numpy(), self.status.to_numpy(),
                          self.threshold)
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
    full_solves: int | None = None,
    known: Iterable | None = None,
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
    full_solves : int, optional
        The most whole-program solves each protection check of a connected
        group of unknown cells spends on single cells
        (:meth:`~layers.suppression.audit.Program.pinned`); a small cell
        still undecided then counts as pinned and gets one more
        complementary cell (never less protection, sometimes more hidden).
        None (the default): as many as needed, the exact check. The
        national release bounds it: a large province's check is otherwise
        hundreds of solves of its whole program. Once a round leaves no
        more than :data:`EXACT_FEW` cells pinned, or more than
        :data:`STALLED` of the cells it re-checked, the next rounds check
        them exactly.
    known : iterable of cell keys, optional
        Cells the attacker of this table is given at their true value, small
        or not, and that this run never hides nor protects: constants of the
        attack. Giving the attacker more can only narrow what it cannot rule
        out, so a cell this run finds protected stays protected when those
        cells are in fact hidden elsewhere. Their status in the result is
        ``"published"`` and means nothing: the caller takes it from the
        release that owns them. The national release gives each province's
        table the rest of the country this way (``docs/confidentiality.md``).

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

    >>> from layers.suppression.tables import margins_table
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
    state = _State(table, threshold, protection, full_solves)
    state.fix(*_fixed_cells(table, published, withheld))
    if known is not None:
        state.know(_fixed_cells(table, known, None)[0])
    state.close()
    rounds = 0
    pinned = state.audit()
    checked = None  # how many cells the last check re-checked (None: the first, all)
    while pinned:
        if not state.add_for(pinned):
            raise RuntimeError(f"cannot protect {len(pinned)} small counts: nothing left to hide")
        rounds += 1
        state.close()
        if state.full_solves is not None and (
                len(pinned) <= EXACT_FEW
                or (checked is not None and len(pinned) > STALLED * checked)):
            # a few cells left, or the same ones again: decide them exactly from now on. A
            # bounded check counts an undecided cell pinned, and such a cell can stay
            # undecided round after round while each round hides one more cell beside it
            # (40 rounds on Hà Nội's table)
            state.full_solves = None
        # hiding more only widens what a reader cannot rule out: cells that passed stay safe
        checked = len(pinned)
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

    def __init__(self, table: CountTable, threshold: int, protection: int,
                 full_solves: int | None = None):
        self.threshold, self.protection = threshold, protection
        self.full_solves = full_solves
        self.count = table.cells["count"].to_numpy(dtype=np.int64)
        published = table.cells["published"].to_numpy(dtype=bool)
        small = (self.count >= 1) & (self.count < threshold)
        self.hidden = ~published
        self.primary = published & small
        self.sensitive = small  # published small cells and small hidden parts: the targets
        self.suppressed = self.primary.copy()
        self.complementary = np.zeros_like(self.primary)
        self.fixed = np.zeros_like(self.primary)  # published elsewhere: never a complement
        self.given: set[int] = set()  # pinned cells that got a complement (add_for)
        # began with a bounded check (the national release): its last rounds may be exact,
        # its choices of complements stay its own (the exact run's plan is the demo's)
        self.bounded_run = full_solves is not None
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

    def know(self, known: np.ndarray) -> None:
        """Cells given to the attacker at their true value: never unknown, never a target."""
        if (known & (self.suppressed & ~self.primary)).any():
            raise ValueError("cells both known and withheld")
        self.hidden &= ~known
        self.primary &= ~known
        self.suppressed &= ~known
        self.sensitive &= ~known
        self.fixed |= known

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
        from scipy import sparse

        from scipy.sparse.csgraph import connected_components

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
            local = Program(sub[rows][:, in_comp], rhs[rows], lower[in_comp], upper[in_comp],
                             rows=self.problem_rows[rows], full_solves=self.full_solves,
                             quick=only is None)
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
        round waits for the next round's check — in the exact check only: a
        bounded one (``full_solves``) counts undecided cells pinned, and
        letting them wait one at a time took 93 rounds on the country's
        largest city, so each gets its cell at once (never less hidden). In
        a run that began bounded, a cell pinned again after it got a
        complement takes the next one from those of its own relations the
        attack leaned on, first.
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
            if self.full_solves is None and touched & (set(relations.tolist()) | binding):
                continue
            chosen = None
            if self.bounded_run and cell in self.given:
                # pinned again after a complement of its own: the attack's duals lean on
                # relations all over the table (a whole solve's), whose smallest cell is
                # often far away (Hà Nội's table: one cell pinned 30 rounds running, each
                # round's complement in another commune and year); the cell's own
                # relations among them first
                own = sorted(binding & set(relations.tolist()))
                if own:
                    chosen = self._choose(np.concatenate([self._members(r) for r in own]))
            if chosen is None and binding:
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
                self.given.add(cell)
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
    >>> from layers.suppression.tables import margins_table
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
    program = Program(sub, rhs, lower, up, integer=integer)
    chosen = np.flatnonzero(state.sensitive[cells]) if small_only else np.arange(len(cells))
    low = [program.extreme(k, -1.0) for k in chosen]
    high = [program.extreme(k, 1.0) for k in chosen]
    return pd.DataFrame({"status": status[cells[chosen]], "count": state.count[cells[chosen]],
                         "low": np.array(low, dtype=np.int64),
                         "high": np.array(high, dtype=np.int64)},
                        index=suppression.table.cells.index[cells[chosen]])


def pinned_cells(suppression: Suppression) -> pd.Index:
    """The small cells the attack confines to fewer than ``protection + 1`` values.

    The protection check :func:`suppress` runs (linear, exact), on statuses
    given: cheaper than :func:`disclosure_bounds` when only the verdict
    matters (a few programs push every small cell at once before any gets
    its own).

    Examples
    --------
    >>> from layers.suppression.tables import margins_table
    >>> t = margins_table(pd.DataFrame({"x": [1, 30]}, index=["a", "b"]))
    >>> status = pd.Series(PUBLISHED, index=t.cells.index, dtype=object)
    >>> status[("a", "x")] = PRIMARY
    >>> list(pinned_cells(Suppression(t, 5, 1, status, 0)))
    [('a', 'x')]
    """
    state = _State(suppression.table, suppression.threshold, suppression.protection)
    status = suppression.status.to_numpy()
    state.suppressed = np.isin(status, (PRIMARY, COMPLEMENTARY))
    state.complementary = status == COMPLEMENTARY
    return suppression.table.cells.index[sorted(state.audit())]
