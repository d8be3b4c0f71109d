"""What gives the production–distribution bound: the merged ("surplus") model and the
whole-truck rows out of suppliers.

``solve.aggregate_surplus`` merges, per category, the products whose plant stock covers
their demand. That must be a relaxation (its optimum never above the full model's, for
the LP and for the MIP), and on instances of the thesis's shape it loses nothing.
The ``supplier_trucks`` rows are cuts: they never change the MIP optimum and can only
raise the LP's.
"""

import numpy as np
import pandas as pd
import pytest
from pd_support import network, raw_sheets
from test_pd_spec import random_instance

from solver_core import api, highs
from solver_core.highs import SolveOptions
from solver_core.production_distribution import model, solve


def _optimum(lp, relax: bool) -> float:
    if relax:
        lp = lp.replace(integrality=np.zeros(lp.n_cols, np.int32))
    res = highs.solve(lp, SolveOptions(time_limit=60, mip_gap=0.0, isolate=False))
    assert res.status == highs.OPTIMAL
    return res.objective


def _loaded(data, settings):
    """The instance of a random workbook, or skip the test when it is not valid."""
    _, _, inst, _ = api.load(raw_sheets(data, settings))
    if inst is None:
        pytest.skip("invalid random instance")
    return inst


def _covered_instance(seed: int):
    """Random instance where some products' plant stock covers their demand."""
    data, settings = random_instance(seed)
    rng = np.random.default_rng(seed)
    demand = data["Demand"].groupby("product")["pallets"].sum()
    extra = [("K", p, float(np.ceil(q)) + int(rng.integers(0, 3)))
             for p, q in demand.items() if rng.random() < 0.6]
    extra += [("W1", p, int(rng.integers(1, 6))) for p in data["Products"]["product"]
              if rng.random() < 0.7]
    start = pd.concat([data["StartInventory"], pd.DataFrame(extra, columns=["location",
                       "product", "pallets"])]).groupby(["location", "product"],
                                                         as_index=False)["pallets"].sum()
    return {**data, "StartInventory": start}, settings


@pytest.mark.parametrize("seed", range(12))
def test_merged_model_is_a_relaxation(seed):
    inst = _loaded(*_covered_instance(seed))
    merged = solve.aggregate_surplus(inst)
    if merged is None:
        pytest.skip("nothing to merge")
    full, small = model.build(inst), model.build(merged)
    assert small.lp.n_cols <= full.lp.n_cols
    # Same totals: merging moves pallets between product names, never creates any.
    for name in ("start", "supply", "demand"):
        assert getattr(merged, name)["pallets"].sum() == pytest.approx(
            getattr(inst, name)["pallets"].sum())
    try:
        full_lp = _optimum(full.lp, relax=True)
    except AssertionError:
        pytest.skip("infeasible random instance")
    assert _optimum(small.lp, relax=True) <= full_lp + 1e-6
    assert _optimum(small.lp, relax=False) <= _optimum(full.lp, relax=False) + 1e-6


def test_merging_covered_products_keeps_the_bound():
    """Two covered products (plant stock ≥ demand) with surplus in a costly warehouse and
    one product that needs a transfer: the merged LP and MIP optima equal the full ones."""
    data = network(
        products=[("A", "A"), ("B", "A"), ("C", "A")],
        start=[("K", "A", 2), ("K", "B", 1), ("W", "A", 3), ("W", "B", 4), ("W", "C", 5)],
        demand=[("K", "A", 2, 2), ("K", "B", 1, 1), ("K", "C", 2, 3)],
    )
    settings = {"time_limit_s": 60, "mip_gap": 0.0}
    _, _, inst, problems = api.load(raw_sheets(data, settings))
    assert inst is not None, problems
    merged = solve.aggregate_surplus(inst)
    assert merged is not None
    assert set(merged.products["product"]) == {"C", solve.SURPLUS + "A"}
    full, small = model.build(inst), model.build(merged)
    assert _optimum(small.lp, True) == pytest.approx(_optimum(full.lp, True))
    assert _optimum(small.lp, False) == pytest.approx(_optimum(full.lp, False))


def test_nothing_to_merge_without_covered_products():
    data = network(products=[("A", "A"), ("B", "A")],
                   start=[("W", "A", 3), ("W", "B", 4)],
                   demand=[("K", "A", 2, 2), ("K", "B", 1, 1)])
    _, _, inst, _ = api.load(raw_sheets(data, {"time_limit_s": 60}))
    assert solve.aggregate_surplus(inst) is None


def _without_cover(built, family: str = "supplier_trucks"):
    """The same model with one family of cut rows switched off."""
    first, end = built.row_families.get(family, (0, 0))
    row_lower = built.lp.row_lower.copy()
    row_lower[first:end] = -highs.INF
    return built.lp.replace(row_lower=row_lower)


@pytest.mark.parametrize("seed", range(12))
def test_supplier_truck_rows_are_valid_cuts(seed):
    inst = _loaded(*random_instance(seed))
    built = model.build(inst)
    assert "supplier_trucks" in built.row_families  # every random instance rounds up
    _assert_valid_cuts(built, "supplier_trucks")


def _assert_valid_cuts(built, family: str) -> None:
    """The rows of ``family`` keep the whole-number optimum and never lower the LP's."""
    without = _without_cover(built, family)
    try:
        mip = _optimum(without, relax=False)
    except AssertionError:
        pytest.skip("infeasible random instance")
    assert _optimum(built.lp, relax=False) == pytest.approx(mip)
    assert _optimum(built.lp, relax=True) >= _optimum(without, relax=True) - 1e-6


@pytest.mark.parametrize("factor", [0.85, 1.1])
@pytest.mark.parametrize("seed", range(8))
def test_whole_pallet_delivery_rows_are_valid_cuts(seed, factor):
    """With a demand factor the plant's cumulative demand is fractional: the rows keep
    the whole-pallet optimum exactly and never lower the LP bound."""
    data, settings = random_instance(seed)
    inst = _loaded(data, {**settings, "demand_factor": factor})
    built = model.build(inst)
    if "whole_pallet_deliveries" not in built.row_families:
        pytest.skip("no fractional cumulative demand")
    _assert_valid_cuts(built, "whole_pallet_deliveries")


def _one_product_case():
    """S1 supplies 3 pallets of P1 on day 1; the plant K wants 2.5 that day; W1 stores
    for free, K for 1 a pallet-day; trucks and moves cost nothing; one day."""
    data = {
        "Categories": pd.DataFrame({"category": ["RM"], "truck_capacity": [10]}),
        "Products": pd.DataFrame({"product": ["P1"], "category": ["RM"]}),
        "Locations": pd.DataFrame({"location": ["S1", "W1", "K"],
                                   "type": ["supplier", "warehouse", "plant"],
                                   "max_inbound_trucks": [None, None, None]}),
        "Storage": pd.DataFrame({"location": ["W1", "K"], "category": ["RM", "RM"],
                                 "capacity": [10, 10], "cost_per_pallet_day": [0.0, 1.0]}),
        "Lanes": pd.DataFrame({"from": ["S1", "S1", "W1"], "to": ["W1", "K", "K"],
                               "truck_cost": [0.0, 0.0, 0.0], "pallet_cost": [0.0, 0.0, 0.0],
                               "max_trucks": [None, None, None]}),
        "StartInventory": pd.DataFrame(columns=["location", "product", "pallets"]),
        "Supply": pd.DataFrame({"supplier": ["S1"], "product": ["P1"], "day": [1],
                                "pallets": [3]}),
        "Demand": pd.DataFrame({"plant": ["K"], "product": ["P1"], "day": [1],
                                "pallets": [2.5]}),
    }
    return data, {"shortage_penalty": 100.0, "horizon_days": 1}


def test_whole_pallet_delivery_rows_by_hand():
    """One product, 2.5 pallets wanted at the plant on day 1, 3 supplied there that day
    (truck cost 0, shortage 100 a pallet, storage 1 a pallet-day): the LP alone delivers
    2.5 at cost 0; whole pallets deliver 3 and hold 0.5 (cost 0.5) or deliver 2 and lack
    0.5 (cost 50). The row X + L / 0.5 ≥ 3 makes the LP pay the 0.5 too."""
    built = model.build(_loaded(*_one_product_case()))
    first, end = built.row_families["whole_pallet_deliveries"]
    assert end - first == 1
    assert _optimum(_without_cover(built, "whole_pallet_deliveries"), relax=True) == \
        pytest.approx(0.0)
    assert _optimum(built.lp, relax=True) == pytest.approx(0.5, abs=1e-5)  # LP tolerance
    assert _optimum(built.lp, relax=False) == pytest.approx(0.5, abs=1e-5)


def test_supplier_truck_rows_by_hand():
    """Day 1: 15 pallets of A (W and K store A) and 5 of B (only K stores B) leave S;
    10 pallets per truck, S→W 50 and S→K 100 per truck, no other cost.

    The LP alone pays for fractions: 0.5 truck to K for B and 1.5 to W for A = 125.
    Whole trucks: B needs one truck to K (it takes 5 A along), 10 A need one to W = 150.
    The rows Y[S→K] ≥ ⌈0.5⌉ = 1 (what only K can take) make the LP reach 150; the row
    for all of S's lanes (2 truckloads) already holds, so it is not added."""
    data = network(products=[("a", "A"), ("b", "B")], lanes=[("S", "W", 50, 0),
                                                            ("S", "K", 100, 0)],
                   supply=[("S", "a", 1, 15), ("S", "b", 1, 5)],
                   warehouse_cost=0.0, plant_cost=0.0)
    data["Categories"] = pd.DataFrame({"category": ["A", "B"], "truck_capacity": [10, 10]})
    data["Storage"] = pd.concat([data["Storage"], pd.DataFrame(
        [("K", "B", 100, 0.0)], columns=data["Storage"].columns)])
    _, _, inst, problems = api.load(raw_sheets(data, {"time_limit_s": 60, "mip_gap": 0.0}))
    assert inst is not None, problems
    built = model.build(inst)
    first, end = built.row_families["supplier_trucks"]
    assert end - first == 1
    assert _optimum(_without_cover(built), relax=True) == pytest.approx(125)
    assert _optimum(built.lp, relax=True) == pytest.approx(150)
    assert _optimum(built.lp, relax=False) == pytest.approx(150)


@pytest.mark.parametrize("seed", range(8))
def test_staged_solve_with_the_merged_model_reaches_the_plain_optimum(seed, monkeypatch):
    """With covered products the chain searches the merged model for trucks (where demand
    is whole; with demand in fractions of pallets the truck choice comes first), gives
    every product whole pallets within them and runs the merged MIP alongside for its
    bound: it still ends at the optimum plain HiGHS proves on the whole model, and no
    bound it reports (the merged MIP's included) is above that optimum."""
    inst = _loaded(*_covered_instance(seed))
    if solve.aggregate_surplus(inst) is None:
        pytest.skip("nothing to merge")
    built = model.build(inst)
    plain = highs.solve(built.lp, SolveOptions(time_limit=60, mip_gap=0.0))
    if plain.status != highs.OPTIMAL:
        pytest.skip("no proven optimum of the random instance")
    monkeypatch.setattr(solve, "STAGED_MIN_COLUMNS", 0)
    sol = solve.solve(inst, built)
    stages = {st["stage"]: st for st in sol.stages}
    assert ("truck choice, continuous pallets" if solve._fractional_demand(built)
            else "merged model, whole pallets within the LP's trucks") in stages
    # (named for the sum of trucks it split on, where it split)
    assert any(name.startswith(solve.BOUND_SEARCH) for name in stages)
    for st in sol.stages:  # what Out Solver shows as a stage's bound bounds the model
        assert st.get("bound") is None or st["bound"] <= plain.objective + 1e-6, st["stage"]
    assert sol.status == highs.OPTIMAL
    assert sol.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
    assert sol.bound <= plain.objective + 1e-6
    assert solve.fits(built.lp, sol.x)


def test_kept_flows_match_the_same_product_lane_and_day():
    """Unmerging fixes a kept product's moves from its own column of the merged model:
    every match is the same product, lane and day, and every kept product's column has
    one; merged products have none."""
    inst = _loaded(*_covered_instance(0))
    merged = solve.aggregate_surplus(inst)
    assert merged is not None
    full, small = model.build(inst), model.build(merged)
    kept = solve._kept_flows(full, small)
    where = {c: i for i, c in enumerate(small.flow_cols)}
    names_kept = set(small.products)
    for i in range(len(full.flow_cols)):
        name = full.products[full.flow_product[i]]
        if name not in names_kept:
            assert kept[i] == -1
            continue
        j = where[kept[i]]
        assert small.products[small.flow_product[j]] == name
        assert small.flow_lane[j] == full.flow_lane[i]
        assert small.flow_day[j] == full.flow_day[i]


def _split_sides(lp, split) -> tuple[float, float]:
    """The LP optimum of each side of ``split``: at most ``floor`` trucks, at least one more
    (inf where a side is infeasible)."""
    relaxed = lp.replace(integrality=np.zeros(lp.n_cols, np.int32))
    ones = np.ones(len(split.cols))
    sides = []
    for lower, upper in ((-highs.INF, split.floor), (split.floor + 1, highs.INF)):
        res = highs.solve(relaxed.with_row(split.cols, ones, lower, upper),
                          SolveOptions(time_limit=60, isolate=False))
        assert res.status in (highs.OPTIMAL, highs.INFEASIBLE)
        sides.append(res.objective if res.status == highs.OPTIMAL else np.inf)
    return sides[0], sides[1]


def test_split_on_the_trucks_a_plant_needs_by_hand():
    """21 pallets at W, all needed at K on day 1; a truck W→K (20) carries 10. The LP sends
    2.1 trucks: 42. Whole trucks: 3 (60), or 2 and 1 pallet short (40 + 500). Split at 2
    | 3 trucks, the "≤ 2" side's LP is 540 and the "≥ 3" side's 60: the split's bound is
    the MIP's optimum, 60, where the LP said 42."""
    data = network(warehouse_cost=0.0, lanes=(("S", "K", 100, 0), ("W", "K", 20, 0)),
                   start=[("W", "p", 21)], demand=[("K", "p", 1, 21)])
    _, _, inst, problems = api.load(raw_sheets(data, {"time_limit_s": 60, "mip_gap": 0.0}))
    assert inst is not None, problems
    built = model.build(inst)
    lp = _optimum(built.lp, relax=True)
    assert lp == pytest.approx(42.0)
    x = highs.solve(built.lp.replace(integrality=np.zeros(built.lp.n_cols, np.int32)),
                    SolveOptions(time_limit=60, isolate=False)).x
    split = solve.split_for(built, x, lp)
    assert split.floor == 2 and split.gain == pytest.approx(0.9 * 20)
    assert _split_sides(built.lp, split) == pytest.approx((540.0, 60.0))
    assert "at most 2 (LP bound 540) or at least 3" in split.words(540.0)
    assert "at most 2 (no plan there)" in split.words(np.inf)
    assert _optimum(built.lp, relax=False) == pytest.approx(60.0)


def test_split_for_takes_the_sum_with_the_most_to_gain():
    """Trucks S→K cost 100, W→K 20. With 1.5 trucks S→K and 0.2 W→K, rounding up gains at
    most 0.5 × 100 on S→K, 0.8 × 20 on W→K, 0.3 × 20 on every truck (the cheapest price
    counts): S→K (the only lane at 100) is split, at 1 | 2. Whole sums are never split."""
    data = network(lanes=(("S", "K", 100, 0), ("W", "K", 20, 0)),
                   start=[("W", "p", 2)], supply=[("S", "p", 1, 15)], demand=[("K", "p", 2, 17)])
    _, _, inst, problems = api.load(raw_sheets(data, {"time_limit_s": 60}))
    assert inst is not None, problems
    built = model.build(inst)
    x = np.zeros(built.lp.n_cols)
    lane = {(built.locations[f], built.locations[t]): i
            for i, (f, t) in enumerate(zip(built.lane_from, built.lane_to))}
    first = {name: built.truck_cols[built.truck_lane == i][0] for name, i in lane.items()}
    x[first[("S", "K")]], x[first[("W", "K")]] = 1.5, 0.2
    split = solve.split_for(built, x, 0.0)
    assert split.what in ("the trucks S → K", "the trucks costing 100")  # the same trucks
    assert split.floor == 1
    assert split.gain == pytest.approx(50.0)
    assert set(split.cols) == set(built.truck_cols[built.truck_lane == lane[("S", "K")]])
    x[first[("S", "K")]], x[first[("W", "K")]] = 1.0, 2.0
    assert solve.split_for(built, x, 0.0) is None


@pytest.mark.parametrize("seed", range(8))
def test_either_side_of_the_split_holds_the_mip_optimum(seed):
    """The split's bound, the lower of its two sides' LP optima, is at least the LP's and
    never above the MIP's optimum (a plan has either at most ``floor`` of the trucks or
    more), on random networks."""
    inst = _loaded(*random_instance(seed))
    built = model.build(inst)
    relaxed = highs.solve(built.lp.replace(integrality=np.zeros(built.lp.n_cols, np.int32)),
                          SolveOptions(time_limit=60, isolate=False))
    if relaxed.status != highs.OPTIMAL:
        pytest.skip("infeasible random instance")
    split = solve.split_for(built, relaxed.x, relaxed.objective)
    if split is None:
        pytest.skip("the LP's trucks are whole")
    bound = min(_split_sides(built.lp, split))
    assert relaxed.objective - 1e-6 <= bound <= _optimum(built.lp, relax=False) + 1e-6


@pytest.mark.parametrize("min_gain, split", [(0.0, True), (np.inf, False)])
def test_the_search_alongside_splits_only_where_the_other_side_gains(monkeypatch, min_gain,
                                                                     split):
    """Where the "≤ floor" side's LP gains too little, the merged MIP runs unsplit; split
    or not, the solve ends at plain HiGHS's optimum and no bound passes it."""
    inst = _loaded(*_covered_instance(0))
    assert solve.aggregate_surplus(inst) is not None
    built = model.build(inst)
    plain = highs.solve(built.lp, SolveOptions(time_limit=60, mip_gap=0.0))
    assert plain.status == highs.OPTIMAL
    monkeypatch.setattr(solve, "STAGED_MIN_COLUMNS", 0)
    monkeypatch.setattr(solve, "SPLIT_MIN_GAIN", min_gain)
    sol = solve.solve(inst, built)
    names = [st["stage"] for st in sol.stages if st["stage"].startswith(solve.BOUND_SEARCH)]
    assert len(names) == 1
    assert names[0].startswith(solve.BOUND_SEARCH + ", split on ") == split
    assert sol.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
    assert sol.bound <= plain.objective + 1e-6
