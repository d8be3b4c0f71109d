"""A generated MIP that HiGHS cannot finish in a minute (for stop and progress tests).

A multi-dimensional 0-1 knapsack with correlated weights: plans (feasible points) are
found at once, the bound closes slowly, so a solve has a plan, a bound and a gap that
change for many seconds.
"""

import numpy as np

from solver_core.highs import LinearProgram, ModelBuilder


def knapsack_mip(items: int = 250, dims: int = 10, seed: int = 7) -> LinearProgram:
    """max Σ v·x s.t. W x ≤ c, x binary, written as min −v·x."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(20, 100, size=(dims, items)).astype(float)
    value = weight.mean(axis=0) + rng.uniform(0, 10, items)  # correlated: hard to prove
    capacity = weight.sum(axis=1) / 2
    b = ModelBuilder()
    x = b.add_vars("x", items, cost=-value, upper=1.0, integer=True)
    rows = np.repeat(np.arange(dims), items)
    cols = np.tile(x, dims)
    b.add_rows("capacity", dims, rows, cols, weight.ravel(), upper=capacity)
    return b.build()


def is_feasible(lp: LinearProgram, x: np.ndarray, tol: float = 1e-6) -> bool:
    """Independent check: bounds, integrality and every row of ``lp`` hold for ``x``."""
    x = np.asarray(x, float)
    if np.any(x < lp.lower - tol) or np.any(x > lp.upper + tol):
        return False
    ints = lp.integrality.astype(bool)
    if np.any(np.abs(x[ints] - np.round(x[ints])) > tol):
        return False
    row_of = np.repeat(np.arange(lp.n_rows), np.diff(np.append(lp.a_start, lp.nnz)))
    activity = np.bincount(row_of, weights=lp.a_value * x[lp.a_index], minlength=lp.n_rows)
    return bool(np.all(activity >= lp.row_lower - tol) and np.all(activity <= lp.row_upper + tol))
