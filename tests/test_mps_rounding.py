"""Whole units from continuous quantities: each SKU's cumulative arrivals rounded up,
capacity and MOQ kept (master_production.start.round_plan)."""

import dataclasses

import numpy as np
import pytest
from mps_support import random_case, raw_sheets

from solver_core import api, highs
from solver_core.master_production import solve
from solver_core.master_production.model import Component, build_model, make_components
from solver_core.master_production.simulate import component_cost
from solver_core.master_production.start import check_plan, repair_rounding, round_plan, within_gap


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


def shared_week(lost_sales=(5.0, 50.0), holding=(1.0, 0.1)) -> Component:
    """SKUs A (0) and B (1) each need 3 units in week 2; factory 0 makes 5.5 in week 2.
    A's other order arrives in week 3, after its demand; B's in week 1, a week early.
    Orders: A f0 week 2, A f1 week 3, B f0 week 2, B f1 week 1."""
    weeks = 4
    demand = np.zeros((2, weeks))
    demand[:, 2] = 3.0
    capacity = np.full((2, weeks), 100.0)
    capacity[0, 2] = 5.5
    return Component(
        label="test", supply_center="S", skus=np.arange(2), factories=np.arange(2),
        demand=demand, po_arrivals=np.zeros((2, weeks)), inventory=np.zeros(2),
        target=np.zeros((2, weeks)), lead_time_weeks=np.zeros(2, dtype=np.int64),
        moq=np.zeros(2), holding_cost=np.array(holding), lost_sales_cost=np.array(lost_sales),
        target_shortfall_cost=np.zeros(2), capacity=capacity,
        order_sku=np.array([0, 0, 1, 1]), order_factory=np.array([0, 1, 0, 1]),
        order_week=np.array([2, 3, 2, 1]), arrival_week=np.array([2, 3, 2, 1]),
        capacity_week=np.array([2, 3, 2, 1]), order_use=np.ones(4),
        order_upper=np.full(4, 100.0))


def whole_unit_optimum(comp: Component) -> float:
    """The whole-unit model solved to a proven optimum, evaluated by simulation."""
    lp, layout = build_model(comp, integer=True)
    res = highs.solve(lp, highs.SolveOptions(time_limit=30, mip_gap=0.0, isolate=False))
    assert res.status == highs.OPTIMAL
    return component_cost(comp, np.round(res.x[layout.x]))


def test_repair_drops_a_unit_the_rounding_gave_to_an_order_after_the_demand():
    # The relaxed optimum: A 2.5 and B 3 in the full week, A losing half a unit (B has
    # no early order here: its lost sales are dearer than A's). Rounded up, the week
    # holds 6 > 5.5: A, whose shortfall is cheaper, gives its unit to its week-3 order,
    # which arrives after the demand and is held to the end.
    comp = dataclasses.replace(shared_week(), order_upper=np.array([100.0, 100.0, 100.0, 0.0]))
    x = np.array([2.5, 0.0, 3.0, 0.0])
    rounded = round_plan(comp, x)
    assert list(rounded) == [2.0, 1.0, 3.0, 0.0]
    repaired = repair_rounding(comp, x, rounded, seconds=10.0)
    assert not check_plan(comp, repaired)
    assert list(repaired) == [2.0, 0.0, 3.0, 0.0]  # A loses the unit, and holds nothing
    assert component_cost(comp, repaired) == whole_unit_optimum(comp) == 5.0


def test_repair_trades_units_between_the_skus_of_a_full_factory_week():
    # A continuous plan with B's half unit early: rounded up (B 3 in the week, 1 early;
    # A 3), the week holds 6 > 5.5, and A gives its unit to week 3 (a lost sale). Neither
    # SKU alone can do better with the other's units in the week; together B makes 2 in
    # the week and 1 early, and A keeps its 3.
    comp = shared_week()
    x = np.array([2.5, 0.0, 3.0, 0.5])
    rounded = round_plan(comp, x)
    assert list(rounded) == [2.0, 1.0, 3.0, 1.0]
    repaired = repair_rounding(comp, x, rounded, seconds=10.0)
    assert not check_plan(comp, repaired)
    assert list(repaired) == [3.0, 0.0, 2.0, 1.0]
    assert component_cost(comp, repaired) == pytest.approx(whole_unit_optimum(comp))
    assert component_cost(comp, repaired) < component_cost(comp, rounded)


def test_repair_never_costs_more_than_the_rounded_plan_and_keeps_every_row():
    """On generated workbooks with full factory-weeks: the repaired plan keeps capacity
    and MOQ, costs at most the rounded plan, and at least the whole-unit optimum."""
    cheaper = 0
    for seed, moq_share in ((3, 0.0), (7, 0.5)):
        raw = raw_sheets(*random_case(np.random.default_rng(seed), n_skus=12, n_factories=2,
                                      weeks=8, moq_share=moq_share))
        _, _, inst, _ = api.load(raw, {"relax_order_quantities": True})
        for comp in make_components(inst, integer=False)[0]:
            comp = dataclasses.replace(comp, capacity=comp.capacity * 0.6)  # full weeks
            lp, layout = build_model(comp, integer=False)
            x = highs.solve(lp, highs.SolveOptions(time_limit=30, mip_gap=1e-6)).x[layout.x]
            rounded = round_plan(comp, x)
            repaired = repair_rounding(comp, x, rounded, seconds=10.0)
            assert not check_plan(comp, repaired)
            cost = component_cost(comp, repaired)
            assert cost <= component_cost(comp, rounded) + 1e-9
            assert cost >= whole_unit_optimum(comp) - 1e-6
            cheaper += cost < component_cost(comp, rounded) - 1e-9
    assert cheaper  # the repair does something on at least one of them


def _tight_component_without_moq() -> Component:
    """A 12-SKU component without MOQ orders whose factories have 60% of their capacity."""
    raw = raw_sheets(*random_case(np.random.default_rng(3), n_skus=12, n_factories=2,
                                  weeks=8, moq_share=0.0))
    _, _, inst, _ = api.load(raw, {"relax_order_quantities": True})
    comp = max(make_components(inst, integer=False)[0], key=lambda c: c.n_skus)
    return dataclasses.replace(comp, capacity=comp.capacity * 0.6)


def _whole_unit_repair(calls: list[dict]):
    """A stand-in for repair_rounding: the whole-unit optimum, with each call's seconds,
    rounded plan cost and answer recorded in ``calls``."""
    def repair(comp_, x, rounded, left, stop=None):
        lp, layout = build_model(comp_, integer=True)
        plan = np.round(highs.solve(lp, highs.SolveOptions(
            time_limit=30, mip_gap=0.0, isolate=False)).x[layout.x])
        calls.append({"seconds": left, "rounded_cost": component_cost(comp_, rounded),
                      "plan": plan})
        return plan
    return repair


def test_a_relaxed_component_solve_repairs_its_rounded_plan_within_its_time(monkeypatch):
    """solve_component with relaxed quantities: where the rounded plan of the whole model
    is outside the gap, the repair is called with at most REPAIR_MAX_SECONDS, and a
    cheaper repaired plan is the plan kept, named as repaired."""
    comp = _tight_component_without_moq()
    calls = []
    monkeypatch.setattr(solve, "repair_rounding", _whole_unit_repair(calls))
    result = solve.solve_component(comp, False, 20.0, 1e-6, 1, solve.greedy_start(comp))
    assert len(calls) == 1 and 0 < calls[0]["seconds"] <= solve.REPAIR_MAX_SECONDS
    assert result.used == "solver, rounding repaired"
    assert list(result.quantity) == list(calls[0]["plan"])
    assert not check_plan(comp, result.quantity)


def test_the_rounding_is_repaired_also_when_the_rounded_plan_is_within_the_gap(monkeypatch):
    """A rounded plan within the gap is still dearer than the relaxed plan: the repair runs
    (at most REPAIR_MAX_SECONDS) and its cheaper plan is kept, so a proven run does not
    end on a rounding a few seconds could make cheaper."""
    comp = _tight_component_without_moq()
    loose_gap = 0.2
    calls = []
    monkeypatch.setattr(solve, "repair_rounding", _whole_unit_repair(calls))
    result = solve.solve_component(comp, False, 20.0, loose_gap, 1, solve.greedy_start(comp))
    assert len(calls) == 1 and 0 < calls[0]["seconds"] <= solve.REPAIR_MAX_SECONDS
    rounded_cost = calls[0]["rounded_cost"]
    assert within_gap(rounded_cost, result.bound, loose_gap)  # the case this test is for
    assert component_cost(comp, calls[0]["plan"]) < rounded_cost - 1e-6
    assert result.used == "solver, rounding repaired"
    assert list(result.quantity) == list(calls[0]["plan"])
    assert not check_plan(comp, result.quantity)
