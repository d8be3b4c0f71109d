"""Each SKU's capacity-free optimum by dynamic programming (master_production.sku_dp).

Checked against brute force over every order quantity on tiny SKUs, and against
HiGHS on the component MIP: the summed optimum must never exceed the MIP optimum
(it is a relaxation), and equals it when capacity does not bind.
"""

import itertools

import numpy as np
import pytest

from solver_core import highs
from solver_core.master_production import sku_dp
from solver_core.master_production.heuristics import check_plan
from solver_core.master_production.model import Component, build_model, component_cost


def component(rng, n_skus=1, T=4, max_upper=7, cap=None) -> Component:
    """Random small component: every SKU can order from two factories in some weeks."""
    orders = []
    for p in range(n_skus):
        lead = int(rng.integers(0, 2))
        for t in range(T - lead):
            for f in range(2):
                if rng.random() < 0.45:
                    orders.append((p, f, t, t + lead, float(rng.integers(1, max_upper + 1))))
    o = np.array(orders, dtype=float).reshape(-1, 5)
    P = n_skus
    D = rng.integers(0, 5, (P, T)).astype(float)
    leads = np.zeros(P)
    for p, f, t, a, u in orders:
        leads[int(p)] = a - t
    return Component(
        label="test", supply_center="X", skus=np.arange(P), factories=np.arange(2),
        demand=D, po_arrivals=np.where(rng.random((P, T)) < 0.2, rng.integers(1, 4, (P, T)), 0.0),
        inventory=rng.integers(0, 4, P).astype(float),
        target=D + rng.integers(0, 3, (P, T)),
        lead=leads, moq=rng.choice([0.0, 2.0, 3.0, 5.0], P),
        holding=rng.choice([0.0, 0.5, 1.0, 2.0], P), lost_sales=rng.choice([3.0, 10.0], P),
        shortfall_cost=rng.choice([0.0, 0.7, 2.0], P),
        capacity=np.full((2, T), 1e9) if cap is None else np.full((2, T), float(cap)),
        order_sku=o[:, 0].astype(int), order_factory=o[:, 1].astype(int),
        order_week=o[:, 2].astype(int), arrival_week=o[:, 3].astype(int),
        capacity_week=o[:, 2].astype(int), order_use=np.ones(len(o)), order_upper=o[:, 4])


def brute_force(comp: Component) -> float:
    """Cheapest plan by enumerating every quantity of every order (0 or MOQ..upper)."""
    moq = comp.moq[comp.order_sku]
    ranges = [[0] + [q for q in range(1, int(u) + 1) if m <= 1 or q >= m]
              for u, m in zip(comp.order_upper, moq)]
    return min(component_cost(comp, np.array(q, float)) for q in itertools.product(*ranges))


@pytest.mark.parametrize("seed", range(40))
def test_dp_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    comp = component(rng, T=int(rng.integers(2, 5)), max_upper=6)
    if comp.n_orders > 5:  # keep the enumeration small
        comp = component(np.random.default_rng(seed + 1000), T=3, max_upper=5)
    found = sku_dp.capacity_free(comp)
    assert found is not None
    assert found.cost == pytest.approx(brute_force(comp), abs=1e-9)
    # The plan it returns is a real plan with that cost.
    assert component_cost(comp, found.quantity) == pytest.approx(found.cost, abs=1e-9)
    assert check_plan(comp, found.quantity) == []
    assert (found.quantity <= np.floor(comp.order_upper) + 1e-9).all()


def _mip_optimum(comp: Component, integer: bool) -> float:
    lp, _ = build_model(comp, integer)
    res = highs.solve(lp, highs.SolveOptions(time_limit=60, mip_gap=0.0, isolate=False))
    assert res.status == highs.OPTIMAL
    return res.objective


@pytest.mark.parametrize("seed", range(10))
def test_sum_of_sku_optima_bounds_the_component(seed):
    rng = np.random.default_rng(seed)
    tight = component(rng, n_skus=3, T=5, max_upper=8, cap=4)
    free = sku_dp.capacity_free(tight)
    assert free is not None
    for integer in (False, True):
        assert free.cost <= _mip_optimum(tight, integer) + 1e-6
    loose = component(np.random.default_rng(seed), n_skus=3, T=5, max_upper=8)
    free = sku_dp.capacity_free(loose)
    for integer in (False, True):
        assert free.cost == pytest.approx(_mip_optimum(loose, integer), abs=1e-6)


def test_fractional_data_are_left_to_the_lp():
    comp = component(np.random.default_rng(1))
    comp.demand[0, 1] += 0.5
    assert sku_dp.capacity_free(comp) is None


@pytest.mark.parametrize("seed", range(10))
def test_lagrangian_bound_is_valid_and_beats_the_lp_with_its_duals(seed):
    comp = component(np.random.default_rng(seed), n_skus=3, T=5, max_upper=8, cap=4)
    lp, layout = build_model(comp, False)
    relaxed = highs.LinearProgram(**{**lp.__dict__,
                                     "integrality": np.zeros_like(lp.integrality)})
    res = highs.solve(relaxed, highs.SolveOptions(isolate=False))
    duals = np.zeros(comp.capacity.size)
    duals[layout.capacity_cells] = np.maximum(-res.row_dual[layout.capacity_rows], 0.0)
    optimum = _mip_optimum(comp, integer=False)
    bound, plans = sku_dp.lagrangian(comp, optimum, 2.0, duals.reshape(comp.capacity.shape))
    assert bound <= optimum + 1e-6
    assert bound >= res.objective - 1e-6
    for q in plans:  # every plan met on the way is a real plan (capacity aside)
        assert set(check_plan(comp, q)) <= {p for p in check_plan(comp, q)
                                            if "over capacity" in p}
    # Any prices give a valid bound.
    rng = np.random.default_rng(seed)
    for _ in range(5):
        prices = rng.random(comp.capacity.shape) * rng.choice([0.1, 1.0, 10.0])
        assert sku_dp.capacity_free(comp, prices).cost <= optimum + 1e-6
