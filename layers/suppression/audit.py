"""The attacker's linear (or integer) programs of the protection check.

scipy is imported where a program is built and solved: a server starts without it.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from layers.suppression.highs import solve_lp

if TYPE_CHECKING:
    from scipy import sparse


__all__ = [
    "Program",
]


class Program:
    """The attacker's program over some unknown cells: their bounds and the relations.

    Linear programming (HiGHS) by default, the attack of the standard audits
    (τ-ARGUS); ``integer=True`` solves the integer program instead, which can
    only be as strong or stronger (used by the tests on small tables).
    """

    _EPS = 1e-6
    #: Bounded checks (``full_solves``) of no more targets than this skip step 1 (step 2 is
    #: cheaper for a few).
    _FEW = 64

    def __init__(self, A: sparse.csr_matrix, rhs: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, *, integer: bool = False, rows: np.ndarray | None = None,
                 full_solves: int | None = None, quick: bool = False):
        self.A, self.rhs, self.lower, self.upper = A, rhs, lower, upper
        self.n, self.integer = len(lower), integer
        self.full_solves = full_solves  # per call of pinned(), for single targets: None = any
        self.quick = quick and full_solves is not None  # step 2 within 1 relation only
        self.rows = rows  # the relation of each row, to name the binding ones
        self.leaned: set[int] = set()  # relations with a non-zero dual since the last reset
        self.binding: dict[int, set[int]] = {}  # pinned target -> relations that pin it

    def solve(self, objective: np.ndarray) -> np.ndarray:
        """A feasible point minimising ``objective``."""
        if self.integer:
            from scipy.optimize import Bounds, LinearConstraint, milp

            constraints = (LinearConstraint(self.A, self.rhs, self.rhs),) if self.A.shape[0] \
                else ()
            result = milp(objective, constraints=constraints, integrality=np.ones(self.n),
                          bounds=Bounds(self.lower, self.upper))
            if result.x is None:
                raise RuntimeError(f"the attacker's program failed: {result.message}")
            return np.asarray(result.x)
        solution = solve_lp(objective, self.A, self.rhs, self.lower, self.upper)
        if self.rows is not None and self.A.shape[0]:
            self.leaned.update(self.rows[np.abs(solution.row_duals) > 1e-9].tolist())
        return solution.x

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
           relations of it): once with the relations beyond dropped (a
           relaxation: a pin found there holds), once with every cell beyond
           held at its true value (a restriction: a spread found there
           exists) — the relaxation first, as most targets left after step 1
           are pinned (4 solves instead of 2 for them otherwise);
        3. else its own max and min over everything; each solution is a
           witness for the targets not yet checked.

        With ``full_solves`` set (the program's), step 1 is skipped for a
        few targets (a re-check), and step 3 first pushes all the targets
        step 2 left undecided in one program (as step 1), then solves the
        whole program at most ``full_solves`` times for single targets; a
        target still undecided after that is reported pinned without its
        own whole solve (conservative: it gets one more complementary cell
        and is checked again; only a witness ever declares a target safe).
        Its binding relations are then those its relaxed neighbourhood
        leaned on. The verdicts differ from the exact check's only in
        reporting pinned a target that may be safe.

        ``quick`` (a bounded check's first pass over a whole table) makes
        step 2 the relaxation within 1 relation only: at 1M national incidents
        the restrictions found a spread for 14 of 1,193 targets and the second
        neighbourhood cost 40–55 % of a province's first check, while a target
        undecided by both counts as pinned anyway (its complementary cell then
        comes from the relations of the first neighbourhood's attack); the
        re-checks of the following rounds take every step again.
        """
        lo, hi = truth.astype(float), truth.astype(float)
        undecided = np.asarray(targets, dtype=np.int64)
        rng = np.random.default_rng(seed)
        room_up = truth < self.upper - 0.5
        bounded = self.full_solves is not None

        def witness(x: np.ndarray) -> None:
            nonlocal lo, hi
            lo, hi = np.minimum(lo, x), np.maximum(hi, x)

        def safe(k: int) -> bool:
            return self._width(lo[k:k + 1], hi[k:k + 1])[0] >= protection

        def push(undecided: np.ndarray) -> np.ndarray:
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
            return undecided

        def extremes(k: int) -> bool:
            """Whether target ``k`` is pinned, by its own max and min over everything."""
            for sign in ((1.0, -1.0) if room_up[k] else (-1.0, 1.0)):
                if safe(k):
                    break
                objective = np.zeros(self.n)
                objective[k] = -sign
                witness(self.solve(objective))
            return not safe(k)

        if not bounded or len(undecided) > self._FEW:
            undecided = push(undecided)
        out = []
        hard: list[tuple[int, set[int]]] = []  # bounded: left to the end, with their nearby duals
        for k in undecided:
            k = int(k)
            if safe(k):
                continue
            verdict = None
            self.leaned = set()
            nearby: set[int] = set()
            for radius in (1,) if self.quick else (1, 2):
                # the relaxation first: most targets a push left undecided are pinned, and
                # a pin and a local spread exclude each other, so the order changes no verdict
                low, high = self._local_extremes(k, truth, radius, relax=True,
                                                 known=(truth[k], truth[k]),
                                                 protection=protection, up=room_up[k])
                if math.floor(high + self._EPS) - math.ceil(low - self._EPS) < protection:
                    verdict = "pinned"
                    break
                nearby = self.leaned
                self.leaned = set()
                if self.quick:
                    break  # no local spread: the push of the hard targets looks for one
                low, high = self._local_extremes(k, truth, radius, relax=False,
                                                 known=(lo[k], hi[k]), protection=protection,
                                                 up=room_up[k])
                lo[k], hi[k] = min(lo[k], low), max(hi[k], high)
                if safe(k):
                    verdict = "safe"
                    break
            if verdict is None and bounded:
                hard.append((k, set(nearby)))
                continue
            if verdict is None:
                verdict = "pinned" if extremes(k) else "safe"
            if verdict == "pinned":
                out.append(k)
                self.binding[k] = set(self.leaned)
        if hard:
            # one program pushes them all first; then their own, within the budget
            left = set(push(np.array([k for k, _ in hard], dtype=np.int64)).tolist())
            spent = 0
            for k, nearby in hard:
                if k not in left or safe(k):
                    continue
                if spent < self.full_solves:
                    spent += 2
                    self.leaned = set()
                    if extremes(k):
                        out.append(k)
                        self.binding[k] = set(self.leaned)
                else:
                    out.append(k)  # undecided within the budget: pinned, to be safe
                    self.binding[k] = nearby
        return out

    @cached_property
    def _csc(self) -> sparse.csc_matrix:
        return self.A.tocsc()

    def _local_extremes(self, k: int, truth: np.ndarray, radius: int, *, relax: bool,
                        known: tuple[float, float], protection: int,
                        up: bool) -> tuple[float, float]:
        """Min and max of cell ``k`` over the relations near it.

        ``relax=False`` holds every cell beyond ``radius`` relations at its true
        value (a restriction of the attacker's program); ``relax=True`` keeps
        those cells free within their bounds and drops the relations beyond (a
        relaxation).

        The max first when ``up`` (the cell has room above its true value), else
        the min; the other is not solved when the first, with ``known`` (values of
        the cell already possible: its true value, or what witnesses showed),
        already spans ``protection``: the answer is then the first extreme and the
        known bound on the other side. A relaxation's verdict (pinned or not) and
        a restriction's witnessed interval are the same either way; only a target
        found pinned needs both, and then both are solved.
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
        local = Program(A[:, near], rhs, self.lower[near], self.upper[near],
                         integer=self.integer,
                         rows=None if self.rows is None else self.rows[rows])
        at = int(np.searchsorted(near, k))
        low, high = known
        for sign in ((1.0, -1.0) if up else (-1.0, 1.0)):
            if sign > 0:
                high = max(high, local.extreme(at, 1.0))
            else:
                low = min(low, local.extreme(at, -1.0))
            if self._width(np.array([low]), np.array([high]))[0] >= protection:
                break
        if relax:
            self.leaned |= local.leaned
        return low, high
