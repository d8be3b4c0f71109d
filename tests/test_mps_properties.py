"""Property tests: random small MPS instances always give a checked, feasible plan."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mps_support import (
    check_outcome,
    plan_cost,
    random_case,
    raw_sheets,
    read_inputs,
    solve_and_check,
)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), skus=st.integers(1, 4), factories=st.integers(1, 3),
       weeks=st.integers(3, 7), relaxed=st.booleans(), use_moq=st.booleans())
def test_random_instances_give_checked_plans(seed, skus, factories, weeks, relaxed, use_moq):
    rng = np.random.default_rng(seed)
    data, cfg = random_case(rng, n_skus=skus, n_factories=factories, weeks=weeks,
                            relax_order_quantities=relaxed, use_moq=use_moq, mip_gap=1e-4)
    _, summary, check = solve_and_check(data, cfg)  # the checker runs inside
    assert summary["status"] in ("optimal", "time_limit")
    if not relaxed and summary["status"] == "optimal":
        # Ordering nothing is a plan too: the optimum is never worse.
        x = read_inputs(data, cfg)
        nothing = plan_cost(x, np.zeros_like(x.D))
        assert check["cost"] <= nothing * (1 + 1e-4) + 1e-6


def test_the_checker_catches_a_changed_plan():
    """check_outcome fails when one order of a checked plan changes."""
    data, cfg = random_case(np.random.default_rng(8), n_skus=3, n_factories=2, weeks=6)
    outcome, _, _ = solve_and_check(data, cfg)
    orders = next(s for s in outcome.sheets if s.name == "Out Orders")
    assert len(orders.frame), "the case must order something"
    orders.frame.loc[0, "quantity"] += 1
    with pytest.raises(AssertionError):
        check_outcome(raw_sheets(data, cfg), outcome)
