"""Scenarios share what they prove: a scenario with more room takes a cheaper plan of one
with less, and one with less room takes the bound of one with more."""

import importlib

import pandas as pd
from pd_support import network, raw_sheets

from solver_core import api, highs
from solver_core.outputs import QUALITY
from solver_core.production_distribution import model, solve
from solver_core.production_distribution.start import greedy_plan

# The module (the package exports its ``scenarios`` function under the same name).
scenarios = importlib.import_module("solver_core.production_distribution.scenarios")

BASE = {"plant_capacity_factor": 1.0, "demand_factor": 1.0, "supply_factor": 1.0,
        "use_reception_limit": True}


def test_which_scenarios_relax_which():
    more_room = {**BASE, "plant_capacity_factor": 1.2}
    no_limit = {**BASE, "use_reception_limit": False}
    assert scenarios.relaxes(more_room, BASE) and not scenarios.relaxes(BASE, more_room)
    assert scenarios.relaxes(no_limit, BASE) and not scenarios.relaxes(BASE, no_limit)
    assert scenarios.relaxes({**no_limit, "plant_capacity_factor": 1.2}, BASE)
    # More room but a limit the other has not: neither relaxes the other.
    assert not scenarios.relaxes(more_room, {**no_limit, "plant_capacity_factor": 0.9})
    # Other demand or supply: other costs, not only other limits.
    assert not scenarios.relaxes({**more_room, "demand_factor": 1.1}, BASE)
    assert not scenarios.relaxes({**more_room, "supply_factor": 0.9}, BASE)
    assert not scenarios.relaxes(BASE, dict(BASE))


def _instance():
    # A plant that fills up (so its capacity factor matters) and a warehouse to spill into.
    data = network(plant_capacity=12, warehouse_cost=2.0, start=[("K", "q", 6), ("W", "p", 4)],
                   supply=[("S", "p", 1, 8), ("S", "q", 2, 6), ("S", "p", 3, 5)],
                   demand=[("K", "p", 2, 9), ("K", "q", 3, 7), ("K", "p", 3, 6)])
    _, _, inst, problems = api.load(raw_sheets(data, {"mip_gap": 0.0, "time_limit_s": 30}))
    assert not problems.has_errors()
    return inst


def _solved(inst, factors):
    scen = inst.with_settings(**factors)
    built = model.build(scen)
    sol = solve.solve(scen, built)
    assert sol.status == highs.OPTIMAL
    return built, sol


def test_the_roomier_scenario_takes_the_tighter_ones_cheaper_plan_and_gives_its_bound():
    inst = _instance()
    tight, roomy = {**BASE, "plant_capacity_factor": 0.8}, {**BASE, "plant_capacity_factor": 1.2}
    built_t, sol_t = _solved(inst, tight)
    built_r, sol_r = _solved(inst, roomy)
    assert sol_r.objective <= sol_t.objective + 1e-6  # more room never costs more
    # The roomy scenario as if its search had ended at the constructive plan (costlier
    # than the tight optimum) with a weak bound; the tight one with a weak bound.
    greedy = greedy_plan(built_r)
    greedy_cost = float(built_r.lp.cost @ greedy + built_r.lp.offset)
    assert greedy_cost > sol_t.objective + 1e-6, "the case must leave something to take"
    rows = [{"scenario": "tight", **tight, "status": highs.TIME_LIMIT, "total_cost":
             sol_t.objective, "bound": 0.0, "mip_gap": 1.0},
            {"scenario": "roomy", **roomy, "status": highs.TIME_LIMIT, "total_cost":
             greedy_cost, "bound": sol_r.objective, "mip_gap": None}]
    listed = [("tight", tight), ("roomy", roomy)]
    shared = scenarios.share_results(inst, listed, rows, [sol_t.x, greedy], gap=0.0)
    # The roomy scenario now holds the tight plan, at its cost in the roomy model, with
    # the plan columns recomputed from it.
    x = solve.transfer(sol_t.x, built_t, built_r)
    assert solve.fits(built_r.lp, x)
    assert abs(shared[1]["total_cost"] - float(built_r.lp.cost @ x + built_r.lp.offset)) < 1e-6
    assert shared[1]["total_cost"] < greedy_cost - 1e-6
    assert "plan of tight" in shared[1]["note"]
    # The tight scenario gets the roomy one's bound (its optimum bounds every tighter one).
    assert shared[0]["bound"] == sol_r.objective
    assert "bound from roomy" in shared[0]["note"]
    # Gaps and statuses are recomputed from what each row now holds.
    for row in shared:
        assert row["bound"] <= row["total_cost"] + 1e-9
        gap = highs.relative_gap(row["total_cost"], row["bound"])
        assert abs(row["mip_gap"] - gap) < 1e-12
        assert (row["status"] == highs.OPTIMAL) == (gap <= 1e-9)


def test_a_plan_is_never_taken_from_a_scenario_with_other_demand():
    inst = _instance()
    more_demand = {**BASE, "demand_factor": 1.2}
    built_d, sol_d = _solved(inst, more_demand)
    built_b = model.build(inst.with_settings(**BASE))
    greedy = greedy_plan(built_b)
    cost = float(built_b.lp.cost @ greedy + built_b.lp.offset)
    rows = [{"scenario": "baseline", **BASE, "status": highs.TIME_LIMIT, "total_cost": cost,
             "bound": None, "mip_gap": None},
            {"scenario": "demand", **more_demand, "status": highs.OPTIMAL,
             "total_cost": sol_d.objective, "bound": sol_d.bound, "mip_gap": sol_d.mip_gap}]
    shared = scenarios.share_results(inst, [("baseline", BASE), ("demand", more_demand)],
                                     rows, [greedy, sol_d.x], gap=0.0)
    assert shared[0]["total_cost"] == cost and shared[0]["bound"] is None
    assert not shared[0].get("note") and not shared[1].get("note")


def test_scenario_messages_say_proven_optimal_when_the_gap_asked_for_is_zero():
    frame = pd.DataFrame({"scenario": ["baseline", "demand 110%"],
                          "status": ["optimal", "time_limit"], "mip_gap": [0.0, 0.031],
                          "total_cost": [100.0, 120.0]})
    assert scenarios.reached_message(frame, 0.0).startswith(
        "1 of 2 scenarios proven optimal; the others (worst first): demand 110% "
        "(time_limit, gap 3.10%)")
    assert scenarios.reached_message(frame, 0.002).startswith(
        "1 of 2 scenarios proven within 0.20% of their bound;")
    quality = scenarios.first_screen(frame, 0.0, "time_limit")[QUALITY]
    assert quality == ("1 of 2 scenarios proven optimal; the others at most 3.10% above "
                       "their best possible (demand 110%)")


def test_a_scenario_whose_bound_no_lp_passed_says_so_in_its_row(monkeypatch):
    inst = _instance()

    def no_answer(lp, options=None, progress=None, stop=None):
        return highs.SolveResult(highs.TIME_LIMIT, solve_seconds=options.time_limit)

    monkeypatch.setattr(solve.highs, "solve", no_answer)
    row, plan = scenarios._solve_one(("baseline", BASE, inst, None, 1.0, 1))
    assert plan is not None and row["mip_gap"] > 0.5  # the constructive plan, supply's bound
    assert row["note"] == solve.WEAK_BOUND_NOTE
