"""HiGHS called directly gives linprog's answers, bit for bit (layers/suppression/highs.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from layers.suppression import highs
from layers.suppression.highs import solve_lp


def _attack(rng: np.random.Generator, rows: int, cols: int, hidden: float):
    """The attacker's program of a two-way table with margins, some cells hidden: the
    hidden cells are the unknowns, every row and column sum an equality, small cells
    bounded by "< 5", others by "≥ 5" or a large number; the true table is feasible."""
    table = rng.poisson(4, size=(rows, cols)).astype(float)
    unknown = rng.random((rows, cols)) < hidden
    cells = np.flatnonzero(unknown.ravel())
    position = {c: i for i, c in enumerate(cells)}
    entries, rhs = [], []
    for line in [[r * cols + c for c in range(cols)] for r in range(rows)] + \
            [[r * cols + c for r in range(rows)] for c in range(cols)]:
        line = np.array(line)
        free = [position[c] for c in line if c in position]
        if not free:
            continue
        rhs.append(table.ravel()[line].sum() - table.ravel()[[c for c in line
                                                               if c not in position]].sum())
        entries.extend((len(rhs) - 1, j) for j in free)
    r, c = zip(*entries)
    A = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rhs), len(cells)))
    truth = table.ravel()[cells]
    lower = np.where(truth >= 5, 5.0, 0.0)
    upper = np.where(truth < 5, 4.0, 1e6)
    return A, np.array(rhs), lower, upper, truth


@pytest.mark.parametrize("seed", range(6))
def test_the_direct_call_finds_linprogs_vertex_and_duals(seed):
    rng = np.random.default_rng(seed)
    A, rhs, lower, upper, truth = _attack(rng, 14 + seed, 9 + seed, hidden=0.35)
    objectives = [np.eye(len(truth))[k] * sign for k in range(0, len(truth), 3)
                  for sign in (1.0, -1.0)]
    objectives += [rng.choice([-1.0, 0.0, 1.0], size=len(truth)) for _ in range(8)]
    for objective in objectives:
        direct = solve_lp(objective, A, rhs, lower, upper)
        reference = highs._by_linprog(objective, A, rhs, lower, upper)
        assert np.array_equal(direct.x, reference.x)
        assert np.array_equal(direct.row_duals, reference.row_duals)
        # and the vertex is a feasible table
        assert np.allclose(A @ direct.x, rhs) and (direct.x >= lower - 1e-9).all()


def test_a_program_without_rows_is_solved_by_its_bounds():
    A = sparse.csr_matrix((0, 3))
    solution = solve_lp(np.array([1.0, -1.0, 0.0]), A, np.zeros(0), np.array([1.0, 2, 3]),
                        np.array([4.0, 5, 6]))
    assert solution.x[:2].tolist() == [1.0, 5.0] and len(solution.row_duals) == 0


def test_an_infeasible_program_raises_instead_of_answering():
    # x0 + x1 = 10 with both below 5: no table fits
    A = sparse.csr_matrix(np.array([[1.0, 1.0]]))
    with pytest.raises(RuntimeError, match="attacker's program failed"):
        solve_lp(np.array([1.0, 0.0]), A, np.array([10.0]), np.zeros(2), np.full(2, 4.0))
    with pytest.raises(RuntimeError, match="attacker's program failed"):
        highs._by_linprog(np.array([1.0, 0.0]), A, np.array([10.0]), np.zeros(2),
                          np.full(2, 4.0))
