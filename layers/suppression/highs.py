"""One linear program solved by HiGHS as scipy's ``linprog(method="highs")`` solves it, less
its per-call overhead.

The protection check solves thousands of small programs (a national release at 1M
incidents: 4,000–12,000 per province). For a program of a few hundred cells,
``linprog`` spends about as long around HiGHS as in it: it validates and copies its
inputs, builds a new options manager for every option it sets, and loops in Python over
every column to split the bound multipliers, which the check never reads. Here the same
HiGHS that scipy bundles gets the same model (the equality rows as ``lhs == rhs``, the
columns in CSC order) and the same options (presolve on, dual simplex, silent), so it
walks the same path to the same vertex: the same solution and the same duals, bit for bit
(``tests/test_suppression_highs.py`` compares them with ``linprog``'s on fixed programs),
hence the same release plans. Where that binding is missing (it is scipy's own module,
not a public API), ``linprog`` itself is used.

scipy is imported at the first solve: a server starts without it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["Solution", "solve_lp"]


class Solution(NamedTuple):
    """An optimal vertex ``x`` and the multipliers of the equality rows (``linprog``'s
    ``eqlin.marginals``)."""

    x: np.ndarray
    row_duals: np.ndarray


def solve_lp(objective: np.ndarray, A: sparse.spmatrix, rhs: np.ndarray, lower: np.ndarray,
             upper: np.ndarray) -> Solution:
    """Minimise ``objective @ x`` subject to ``A @ x == rhs`` and ``lower <= x <= upper``.

    The bounds must be finite (the attacker's programs bound every cell). Raises
    ``RuntimeError`` when HiGHS finds no optimum (an infeasible or failed program).
    """
    core = _core()
    if core is None:
        return _by_linprog(objective, A, rhs, lower, upper)
    h, options = core
    A = A.tocsc()
    n_rows, n_cols = A.shape
    lp = h.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_cols, n_rows
    lp.a_matrix_.format_ = h.MatrixFormat.kColwise
    lp.col_cost_ = np.asarray(objective, dtype=float)
    lp.col_lower_ = np.asarray(lower, dtype=float)
    lp.col_upper_ = np.asarray(upper, dtype=float)
    rhs = np.asarray(rhs, dtype=float)
    lp.row_lower_, lp.row_upper_ = rhs, rhs
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    highs = h._Highs()
    highs.passOptions(options)
    if highs.passModel(lp) == h.HighsStatus.kError or highs.run() == h.HighsStatus.kError \
            or highs.getModelStatus() != h.HighsModelStatus.kOptimal:
        raise RuntimeError("the attacker's program failed: "
                           f"{highs.modelStatusToString(highs.getModelStatus())}")
    solution = highs.getSolution()
    return Solution(np.array(solution.col_value), np.array(solution.row_dual))


def _by_linprog(objective, A, rhs, lower, upper) -> Solution:
    from scipy.optimize import linprog

    has_rows = A.shape[0] > 0
    result = linprog(objective, A_eq=A if has_rows else None, b_eq=rhs if has_rows else None,
                     bounds=np.column_stack([lower, upper]), method="highs")
    if result.x is None:
        raise RuntimeError(f"the attacker's program failed: {result.message}")
    duals = np.asarray(result.eqlin.marginals) if has_rows else np.zeros(0)
    return Solution(np.asarray(result.x), duals)


@cache
def _core():
    """scipy's HiGHS binding and the options ``linprog(method="highs")`` passes (those it
    does not leave at HiGHS's defaults), made once (HiGHS copies them at each
    ``passOptions``); None without the binding."""
    try:
        import scipy.optimize._highspy._core as h
        from scipy.optimize._highspy._core import simplex_constants
    except ImportError:  # another scipy: its public linprog then
        return None
    options = h.HighsOptions()
    options.presolve = "on"
    options.highs_debug_level = h.HighsDebugLevel.kHighsDebugLevelNone
    options.log_to_console = False
    options.output_flag = False
    options.simplex_strategy = simplex_constants.SimplexStrategy.kSimplexStrategyDual
    return h, options
