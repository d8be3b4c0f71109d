"""Tiny MPS cases whose optimum was computed by hand.

The rules are those of docs/master_production.md, "Formulation as built".

All cases: one SKU, lead time 1 week with transport 0 (an order placed in week τ
uses capacity in week τ and arrives in τ+1) unless said otherwise, holding cost 1
per unit-week, lost sales 100 per unit, no safety stock.
"""

from __future__ import annotations

import pytest
from mps_support import make_case, orders_of, solve_and_check, week_code

W = week_code


def one_sku(demand, moq=0, stop_week=None, uph=1000.0, lead=1, transport=0, ss=0, w=0.0,
            **settings):
    sku = {"sku": "A", "lead_time_weeks": lead, "transport_weeks": transport, "moq": moq,
           "stop_week": stop_week, "safety_stock_weeks": ss, "target_shortfall_cost": w}
    return make_case([sku], [{"factory": "F", "sku": "A", "units_per_hour": uph}],
                     {"A": demand}, len(demand), **settings)


@pytest.mark.parametrize("relaxed", [False, True])
def test_moq_forces_an_early_order(relaxed):
    # Demand 10 a week from week 1, MOQ 30. Best: 30 arriving in week 1 (covers 1–3,
    # holding 20 + 10) and 30 arriving in week 4 (holding 20 + 10): cost 60. Any larger
    # first order holds more; a later one loses 100 per unit.
    data, settings = one_sku([0, 10, 10, 10, 10, 10], moq=30,
                             relax_order_quantities=relaxed)
    out, _, check = solve_and_check(data, settings)
    assert check["cost"] == pytest.approx(60)
    assert sorted(orders_of(out)) == [(W(0), W(1), 30), (W(3), W(4), 30)]


def test_moq_off_orders_lot_for_lot():
    data, settings = one_sku([0, 10, 10, 10, 10, 10], moq=30, use_moq=False)
    out, _, check = solve_and_check(data, settings)
    assert check["cost"] == pytest.approx(0)
    assert sorted(orders_of(out)) == [(W(k), W(k + 1), 10) for k in range(5)]


def test_capacity_forces_a_prebuild():
    # 10 units a week of capacity (UPH 10 × 1 h × 1 shift × 1 line × 1 day); 30 units
    # are needed by week 3 (5 in week 2, 25 in week 3). Orders of 10 in weeks 0, 1, 2:
    # stock 10 after week 1 and 15 after week 2, so cost 25. Without the limit: 0.
    data, settings = one_sku([0, 0, 5, 25, 0, 0], uph=10.0)
    out, _, check = solve_and_check(data, settings)
    assert check["cost"] == pytest.approx(25)
    assert sorted(orders_of(out)) == [(W(0), W(1), 10), (W(1), W(2), 10), (W(2), W(3), 10)]
    data, settings = one_sku([0, 0, 5, 25, 0, 0], uph=1000.0)
    _, _, check = solve_and_check(data, settings)
    assert check["cost"] == pytest.approx(0)


def test_discontinued_sku_orders_before_its_stop_week():
    # No orders after week 1: week 0 orders 10 (arrives week 1), week 1 orders the other
    # 40 (arrives week 2): stock 30, 20, 10 after weeks 2–4, cost 60.
    data, settings = one_sku([0, 10, 10, 10, 10, 10], stop_week=W(1))
    out, _, check = solve_and_check(data, settings)
    assert check["cost"] == pytest.approx(60)
    assert sorted(orders_of(out)) == [(W(0), W(1), 10), (W(1), W(2), 40)]


def test_launch_builds_stock_only_for_the_launch():
    # Launch in week 4 (demand 20 a week), lead 2 with transport 1, safety stock 1 week,
    # shortfall 2 per unit-week. Target: 20 in week 3, 40 in week 4, 20 in week 5.
    # Best: 20 arriving in week 3 (held 2 weeks: 40) and 20 in week 4: cost 40.
    # Arriving in week 4 only would cost 20 × 2 shortfall + 20 holding = 60.
    data, settings = one_sku([0, 0, 0, 0, 20, 20], lead=2, transport=1, ss=1, w=2.0)
    out, _, check = solve_and_check(data, settings)
    assert check["cost"] == pytest.approx(40)
    assert sorted(orders_of(out)) == [(W(1), W(3), 20), (W(2), W(4), 20)]


def test_prebuild_target_is_met_just_in_time():
    # No demand; a promotion wants 30 units in stock from week 3 (PreBuild), shortfall
    # costs 10 per unit-week against holding 1. Best: 30 arriving in week 3, held in
    # weeks 3-5: cost 90 (arriving earlier holds longer; never costs 3 x 300).
    data, settings = one_sku([0, 0, 0, 0, 0, 0], w=10.0,
                             prebuild={"A": [0, 0, 0, 30, 30, 30]})
    out, _, check = solve_and_check(data, settings)
    assert check["cost"] == pytest.approx(90)
    assert orders_of(out) == [(W(2), W(3), 30)]


def test_open_po_uses_capacity_before_transport():
    # Lead 2, transport 1: an order placed in week τ is made in week τ and arrives in τ+2.
    # An open PO of 10 arriving in week 3 was made in week 1 and fills that week's
    # capacity (10). Demand 20 in week 2 can get only the 10 ordered in week 0, so 10
    # are lost (1000); the PO serves week 3.
    import datetime as dt

    from mps_support import MONDAY
    sku = {"sku": "A", "lead_time_weeks": 2, "transport_weeks": 1}
    data, settings = make_case(
        [sku], [{"factory": "F", "sku": "A", "units_per_hour": 10.0}],
        {"A": [0, 0, 20, 10, 0, 0]}, 6,
        open_pos=[{"factory": "F", "sku": "A", "supply_center": "SC", "quantity": 10,
                   "arrival_date": MONDAY + dt.timedelta(weeks=3, days=2)}])
    out, _, check = solve_and_check(data, settings)
    assert check["cost"] == pytest.approx(1000)
    assert orders_of(out) == [(W(0), W(2), 10)]
    assert check["unmet"] == pytest.approx(10)
    cap = next(s.frame for s in out.sheets if s.name == "Out Capacity")
    week1 = cap[cap["week"] == W(1)].iloc[0]
    assert week1["used_by_open_pos"] == pytest.approx(10) and week1["used_by_plan"] == 0
