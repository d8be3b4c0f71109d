"""Tiny production–distribution cases whose optimum is computed by hand.

Network (tests/pd_support.network): supplier S, warehouse W, plant K, one category A with
10 pallets per truck. Every solve also goes through the independent checker.
"""

import pytest
from pd_support import check_plan, network, solve, summary


def solved(data, **settings):
    outcome, tables = solve(data, **settings)
    assert outcome.exit_code == 0, outcome.message
    check_plan(data, settings, tables)
    return tables, summary(tables)


def test_lane_choice_via_warehouse_is_cheaper():
    # 5 pallets arrive on day 1 and are needed at K on day 2.
    # Direct: truck 100 + 5 pallets × 1 night at K (cost 3) = 115.
    # Via W: truck S→W 50 + 5 × 1 night at W (cost 1) + truck W→K 20 = 75.
    data = network(plant_cost=3.0, supply=[("S", "p", 1, 5)], demand=[("K", "p", 2, 5)])
    tables, s = solved(data)
    assert s["objective"] == pytest.approx(75.0)
    flows = tables["Out Flows"]
    assert set(zip(flows["from"], flows["to"])) == {("S", "W"), ("W", "K")}
    assert tables["Out Shortages"].empty


def test_truck_rounding_splits_the_load():
    # 12 pallets on day 1, 10 needed at K that day; trucks carry 10.
    # Two trucks to K: 200. One full truck to K (100) + 2 pallets to W (50) + 2 nights
    # ... one night at W (2 × 1) = 152. Splitting wins.
    data = network(supply=[("S", "p", 1, 12)], demand=[("K", "p", 1, 10)])
    tables, s = solved(data)
    assert s["objective"] == pytest.approx(152.0)
    trucks = tables["Out Trucks"].set_index(["from", "to"])["trucks"]
    assert trucks[("S", "K")] == 1 and trucks[("S", "W")] == 1


def test_full_plant_sends_stock_back_to_warehouse():
    # K is full (5 places, 5 pallets of q at the start). On day 2, 5 pallets of p arrive
    # and can only go to K, where they stay. q must leave: on day 2 (truck K→W 40 +
    # 5 × 1 night at W) = 45, cheaper than on day 1 (40 + 10). Plus truck S→K 100.
    data = network(plant_capacity=5, lanes=(("S", "K", 100, 0), ("K", "W", 40, 0)),
                   start=[("K", "q", 5)], supply=[("S", "p", 2, 5)])
    tables, s = solved(data)
    assert s["objective"] == pytest.approx(145.0)
    back = tables["Out Flows"]
    back = back[(back["from"] == "K") & (back["to"] == "W")]
    assert list(zip(back["day"], back["product"], back["pallets"])) == [(2, "q", 5)]


def test_shortage_when_stock_cannot_cover_demand():
    # 8 pallets needed at K on day 1; only 5 at W (ship one truck, 20). 3 short × 500.
    data = network(start=[("W", "p", 5)], demand=[("K", "p", 1, 8)])
    tables, s = solved(data)
    assert s["objective"] == pytest.approx(20.0 + 3 * 500.0)
    assert tables["Out Shortages"]["pallets"].sum() == pytest.approx(3.0)
    costs = dict(zip(tables["Out Costs"]["component"], tables["Out Costs"]["cost"]))
    assert costs["shortage"] == pytest.approx(1500.0)
    assert s["cost_without_shortage"] == pytest.approx(20.0)


def test_cheap_shortage_is_preferred_to_a_truck():
    # With a penalty of 2 per pallet, leaving the 5 pallets at W (5 × 1 night) and
    # 8 short (16) = 21 beats shipping them (truck 20 + 3 short × 2) = 26.
    data = network(start=[("W", "p", 5)], demand=[("K", "p", 1, 8)])
    tables, s = solved(data, shortage_penalty=2)
    assert s["objective"] == pytest.approx(21.0)
    assert tables["Out Flows"].empty


def test_reception_limit_forces_a_shortage():
    # 20 pallets from W and 10 from S needed at K on day 1; K receives one truck a day.
    # One truck can come in: W→K (20) with 10 pallets beats S→K (100). The supplier's 10
    # then go to W (50), which ends the day with 20 pallets (20 × 1). 20 pallets short.
    data = network(start=[("W", "p", 20)], supply=[("S", "p", 1, 10)],
                   demand=[("K", "p", 1, 30)], max_inbound=1)
    tables, s = solved(data)
    assert s["objective"] == pytest.approx(20 + 50 + 20 + 20 * 500)
    data_free = network(start=[("W", "p", 20)], supply=[("S", "p", 1, 10)],
                        demand=[("K", "p", 1, 30)], max_inbound=1)
    _, s_off = solved(data_free, use_reception_limit=False)
    assert s_off["objective"] == pytest.approx(2 * 20 + 100)  # 2 trucks W→K, 1 S→K


def test_mixed_categories_share_a_truck():
    # A: 10 per truck, B: 20 per truck. 5 A + 10 B = 0.5 + 0.5 = one truck.
    data = network(products=(("p", "A"), ("r", "B")), supply=[("S", "p", 1, 5),
                                                                ("S", "r", 1, 10)],
                   demand=[("K", "p", 1, 5), ("K", "r", 1, 10)],
                   lanes=(("S", "K", 100, 1.5),))
    data["Categories"].loc[1] = ["B", 20]
    data["Storage"].loc[2] = ["K", "B", 100, 0.0]
    tables, s = solved(data)
    assert s["objective"] == pytest.approx(100 + 15 * 1.5)
    assert tables["Out Trucks"]["fill_rate"].iloc[0] == pytest.approx(1.0)


def test_dates_as_days_and_bom_demand():
    import datetime as dt

    import pandas as pd

    d1 = dt.date(2025, 3, 3)
    data = network(start=[("W", "p", 4)],
                   supply=[("S", "q", d1 + dt.timedelta(days=1), 2)])
    data["Products"]["units_per_pallet"] = [100.0, 50.0]
    data["ProductionPlan"] = pd.DataFrame([("K", "FG", d1, 250), ("K", "FG", d1 + dt.timedelta(
        days=1), 50)], columns=["plant", "finished_good", "day", "quantity"])
    data["BOM"] = pd.DataFrame([("FG", "p", 1.0), ("FG", "BULK", 1.0), ("BULK", "q", 0.2)],
                               columns=["finished_good", "component", "quantity_per"])
    outcome, tables = solve(data)
    assert outcome.exit_code == 0, outcome.message
    # Day 1: 2.5 pallets of p (have 4 at W), 1 pallet of q (none yet): 1 short.
    # Day 2: 0.5 p; 0.2 q (q arrives that day).
    short = tables["Out Shortages"]
    assert list(short["product"]) == ["q"] and short["pallets"].sum() == pytest.approx(1.0)
    assert short["day"].iloc[0] == d1
    assert all(isinstance(d, dt.date) for d in tables["Out Flows"]["day"])
