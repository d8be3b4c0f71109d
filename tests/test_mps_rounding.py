"""Whole units from continuous quantities: each SKU's cumulative arrivals rounded up,
capacity and MOQ kept (master_production.start.round_plan)."""

import dataclasses

import numpy as np
from mps_support import random_case, raw_sheets

from solver_core import api, highs
from solver_core.master_production.model import Component, build_model, make_components
from solver_core.master_production.simulate import component_cost
from solver_core.master_production.start import check_plan, round_plan


def component(x_sku: list[int], x_factory: list[int], x_week: list[int], capacity,
              shortfall_cost=(10.0, 10.0), moq=(0.0, 0.0)) -> Component:
    """Two SKUs, one week of lead time, orders arriving in the week they are placed."""
    n = len(x_sku)
    weeks = 4
    return Component(
        label="test", supply_center="S", skus=np.arange(2), factories=np.arange(2),
        demand=np.zeros((2, weeks)), po_arrivals=np.zeros((2, weeks)),
        inventory=np.zeros(2), target=np.zeros((2, weeks)),
        lead_time_weeks=np.zeros(2, dtype=np.int64), moq=np.array(moq, float),
        holding_cost=np.ones(2), lost_sales_cost=np.array(shortfall_cost, float),
        target_shortfall_cost=np.zeros(2), capacity=np.array(capacity, float),
        order_sku=np.array(x_sku), order_factory=np.array(x_factory),
        order_week=np.array(x_week), arrival_week=np.array(x_week),
        capacity_week=np.array(x_week), order_use=np.ones(n), order_upper=np.full(n, 1e6))


def cumulative(comp: Component, q: np.ndarray) -> np.ndarray:
    """Arrivals per SKU and week, summed over the weeks."""
    arrivals = np.zeros(comp.demand.shape)
    np.add.at(arrivals, (comp.order_sku, comp.arrival_week), q)
    return arrivals.cumsum(axis=1)


def test_a_skus_cumulative_arrivals_are_rounded_up_not_each_order():
    # 2.4 a week: order by order that is 2, 2, 2 (1.2 units short by week 3).
    comp = component([0, 0, 0], [0, 0, 0], [0, 1, 2], capacity=np.full((2, 4), 100.0))
    q = round_plan(comp, np.array([2.4, 2.4, 2.4]))
    assert list(q) == [3.0, 2.0, 3.0]  # cumulative 2.4 → 3, 4.8 → 5, 7.2 → 8


def test_a_full_factory_week_gives_the_cheaper_skus_unit_to_its_next_order():
    # Factory 0 week 0 holds 5: both SKUs rounded up (3 + 3) do not fit. SKU 1's
    # shortfall is cheaper: it gives its unit to its order in week 1 (factory 1).
    capacity = np.full((2, 4), 100.0)
    capacity[0, 0] = 5.0
    comp = component([0, 1, 1], [0, 0, 1], [0, 0, 1], capacity, shortfall_cost=(50.0, 5.0))
    q = round_plan(comp, np.array([2.5, 2.5, 1.0]))
    assert list(q) == [3.0, 2.0, 2.0]
    assert not check_plan(comp, q)


def test_moq_orders_stay_closed_or_at_least_the_moq():
    comp = component([0, 0, 1], [0, 0, 0], [0, 1, 0], capacity=np.full((2, 4), 100.0),
                     moq=(0.0, 10.0))
    q = round_plan(comp, np.array([0.5, 0.5, 9.5]))
    assert q[2] == 0.0  # below its MOQ: closed
    assert list(q[:2]) == [1.0, 0.0]


def test_rounded_relaxed_optimum_keeps_every_row_and_never_runs_short():
    """On a generated workbook: the relaxed model's optimum rounded keeps every row. With
    room in every factory-week, each SKU's cumulative arrivals are the continuous ones
    rounded up (less than a unit over), so no sale is lost and no target missed that the
    continuous plan kept: the plan costs at most a unit's holding per SKU and week more."""
    raw = raw_sheets(*random_case(np.random.default_rng(7), n_skus=30, n_factories=4,
                                  weeks=12, moq_share=0.0))
    _, _, inst, _ = api.load(raw, {"relax_order_quantities": True})
    for comp in make_components(inst, integer=False)[0]:
        lp, layout = build_model(comp, integer=False)
        res = highs.solve(lp, highs.SolveOptions(time_limit=30, mip_gap=1e-6))
        x = res.x[layout.x]
        assert not check_plan(comp, round_plan(comp, x))
        roomy = dataclasses.replace(comp, capacity=comp.capacity * 10 + 10)
        q = round_plan(roomy, x)
        assert not check_plan(roomy, q)
        drift = cumulative(roomy, q) - cumulative(roomy, x)
        assert drift.min() > -1e-6
        assert drift.max() < 1.0
        one_unit_held = roomy.holding_cost.sum() * roomy.n_weeks
        assert component_cost(roomy, q) <= component_cost(roomy, x) + one_unit_held + 1e-6
