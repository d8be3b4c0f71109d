"""``Out Why`` of production–distribution: each cause on a case where it is the only one,
and a counterfactual for each — apply ``what_would_fix_it`` to the input, re-solve through
``api.solve``, and the shortage is gone or smaller by the stated amount."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pd_support import network, raw_sheets, solve, summary

from solver_core import api, highs
from solver_core.production_distribution import model, solve_instance, start, why
from solver_core.workbook import read_workbook

EXAMPLES = Path(__file__).resolve().parents[1] / "solver_core" / "examples"


def _why(tables) -> pd.DataFrame:
    return tables["Out Why"]


def _short(tables) -> float:
    return float(tables["Out Shortages"]["pallets"].sum())


def _pallets(text: str) -> float:
    return float(re.match(r"([\d,.]+) pallets? short", text).group(1).replace(",", ""))


def _only_row(tables) -> pd.Series:
    w = _why(tables)
    assert len(w) == 1, w
    return w.iloc[0]


def _explains_every_pallet(tables) -> None:
    """Out Why covers Out Shortages exactly, per plant, product and day."""
    w = _why(tables).assign(pallets=lambda f: f["shortfall"].map(_pallets))
    got = w.groupby(["day", "plant", "product"])["pallets"].sum()
    want = tables["Out Shortages"].groupby(["day", "plant", "product"])["pallets"].sum()
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)
    assert set(w["cause"]) <= set(why.CAUSES)


# --- no supply before the demand day ------------------------------------------------


def _late_supply(supply_day):
    return network(lanes=(("S", "K", 100, 0),),
                   supply=[("S", "p", supply_day, 10)],
                   demand=[("K", "p", 2, 10)])


def test_supply_after_the_demand_day():
    out, tables = solve(_late_supply(4))
    row = _only_row(tables)
    assert row["cause"] == why.NO_SUPPLY
    assert (row["plant"], row["product"], row["day"]) == ("K", "p", 2)
    assert _pallets(row["shortfall"]) == 10
    assert row["cost"] == pytest.approx(10 * 500)
    assert row["detail"] == ("0 of the 10 pallets demanded by day 2 can be at K from start "
                             "stock or deliveries; the first delivery of p can be there on "
                             "day 4.")
    assert row["what_would_fix_it"] == "deliver 10 pallets of p from S by day 2"
    _explains_every_pallet(tables)
    assert "10 pallets short at K" in out.message and why.NO_SUPPLY in out.message
    assert summary(tables)["largest_shortfall"] in out.message


def test_supply_moved_to_the_stated_day_removes_the_shortage():
    _, before = solve(_late_supply(4))
    fix = _only_row(before)["what_would_fix_it"]
    day = int(re.search(r"by day (\d+)", fix).group(1))
    _, after = solve(_late_supply(day))
    assert _short(before) == 10 and _short(after) == 0
    assert _why(after).empty


def test_supply_through_a_warehouse_arrives_a_day_later():
    # S only reaches K through W: a delivery on day 2 is at K on day 3 at the earliest.
    data = network(lanes=(("S", "W", 50, 0), ("W", "K", 20, 0)),
                   supply=[("S", "p", 2, 10)], demand=[("K", "p", 2, 10)])
    _, tables = solve(data, horizon_days=3)
    row = _only_row(tables)
    assert row["cause"] == why.NO_SUPPLY
    assert "first delivery of p can be there on day 3" in row["detail"]
    assert row["what_would_fix_it"] == "deliver 10 pallets of p from S by day 1"
    fixed = network(lanes=(("S", "W", 50, 0), ("W", "K", 20, 0)),
                    supply=[("S", "p", 1, 10)], demand=[("K", "p", 2, 10)])
    assert _short(solve(fixed)[1]) == 0


# --- plant reception limit ------------------------------------------------------------


def _reception(limit):
    # 20 pallets on day 1, 10 to a truck, one day: two trucks needed, `limit` allowed.
    # What K cannot receive goes to W (a supplier keeps nothing).
    return network(lanes=(("S", "K", 100, 0), ("S", "W", 50, 0)), max_inbound=limit,
                   supply=[("S", "p", 1, 20)], demand=[("K", "p", 1, 20)])


def test_reception_limit():
    _, tables = solve(_reception(1))
    row = _only_row(tables)
    assert row["cause"] == why.RECEPTION
    assert _pallets(row["shortfall"]) == 10
    assert "K received 1 trucks on day 1 against its max_inbound_trucks of 1" in row["detail"]
    assert row["what_would_fix_it"] == ("raise max_inbound_trucks of K from 1 to 2 "
                                        "(the re-solve uses it on day 1)")
    _explains_every_pallet(tables)


def test_raising_the_reception_limit_as_stated_removes_the_shortage():
    _, before = solve(_reception(1))
    fix = _only_row(before)["what_would_fix_it"]
    new = int(re.search(r"from \d+ to (\d+)", fix).group(1))
    _, after = solve(_reception(new))
    assert _short(before) == 10 and _short(after) == 0


# --- storage full -------------------------------------------------------------------


def _plant_full(capacity):
    # 20 pallets arrive on day 1 for day 2; the plant holds `capacity` overnight and W
    # has no lane to K.
    return network(lanes=(("S", "K", 100, 0), ("S", "W", 50, 0)), plant_capacity=capacity,
                   supply=[("S", "p", 1, 20)], demand=[("K", "p", 2, 20)])


def test_plant_storage_full():
    _, tables = solve(_plant_full(10))
    row = _only_row(tables)
    assert row["cause"] == why.STORAGE
    assert _pallets(row["shortfall"]) == 10
    assert "K storage of A was full on day 1 (10/10)" in row["detail"]
    assert row["what_would_fix_it"] == "raise the A capacity of K from 10 to 20 pallets"
    _explains_every_pallet(tables)


def test_raising_plant_capacity_as_stated_removes_the_shortage():
    _, before = solve(_plant_full(10))
    fix = _only_row(before)["what_would_fix_it"]
    new = int(re.search(r"to (\d+) pallets", fix).group(1))
    _, after = solve(_plant_full(new))
    assert _short(before) == 10 and _short(after) == 0


def _warehouse_full(capacity):
    # 20 pallets on day 1 for day 3; the plant holds nothing overnight, W holds
    # `capacity`, the rest goes to V, which has no lane to K.
    data = network(lanes=(("S", "W", 50, 0), ("W", "K", 20, 0), ("S", "V", 50, 0)),
                   warehouse_capacity=capacity, plant_capacity=0,
                   supply=[("S", "p", 1, 20)], demand=[("K", "p", 3, 20)])
    data["Locations"] = pd.concat([data["Locations"], pd.DataFrame(
        [("V", "warehouse", None)], columns=data["Locations"].columns)], ignore_index=True)
    data["Storage"] = pd.concat([data["Storage"], pd.DataFrame(
        [("V", "A", 100, 1.0)], columns=data["Storage"].columns)], ignore_index=True)
    return data


def test_warehouse_storage_full():
    _, tables = solve(_warehouse_full(10))
    row = _only_row(tables)
    assert row["cause"] == why.STORAGE
    assert _pallets(row["shortfall"]) == 10
    assert "W storage of A was full on day 1 (10/10)" in row["detail"]
    assert row["what_would_fix_it"] == "raise the A capacity of W from 10 to 20 pallets"


def test_raising_warehouse_capacity_as_stated_removes_the_shortage():
    _, before = solve(_warehouse_full(10))
    new = int(re.search(r"to (\d+) pallets", _only_row(before)["what_would_fix_it"]).group(1))
    _, after = solve(_warehouse_full(new))
    assert _short(before) == 10 and _short(after) == 0


# --- cheaper to be short ---------------------------------------------------------------


def _expensive_truck():
    # The 5 pallets must leave S: to K (truck 100 + 5 × 2 handling = 110) or to W (truck
    # 50 + 5 pallet-nights at 1 = 55). Serving costs 110 − 55 = 55, 11 per pallet.
    return network(lanes=(("S", "K", 100, 2), ("S", "W", 50, 0)),
                   supply=[("S", "p", 1, 5)], demand=[("K", "p", 1, 5)])


def test_cheaper_to_be_short():
    _, tables = solve(_expensive_truck(), shortage_penalty=10)
    row = _only_row(tables)
    assert row["cause"] == why.CHEAPER
    assert _pallets(row["shortfall"]) == 5
    assert row["cost"] == pytest.approx(50)
    assert "costs 11.00 per pallet" in row["detail"]
    assert "shortage_penalty of 10.00" in row["detail"]
    assert row["what_would_fix_it"] == "raise shortage_penalty above 11.00"


def test_penalty_above_the_stated_cost_removes_the_shortage():
    _, before = solve(_expensive_truck(), shortage_penalty=10)
    x = float(re.search(r"above ([\d,.]+)", _only_row(before)["what_would_fix_it"]).group(1))
    _, after = solve(_expensive_truck(), shortage_penalty=x + 0.01)
    _, below = solve(_expensive_truck(), shortage_penalty=x - 0.01)
    assert _short(before) == 5 and _short(after) == 0 and _short(below) == 5


def test_no_shortage_no_rows():
    out, tables = solve(network(lanes=(("S", "K", 100, 0),), supply=[("S", "p", 1, 5)],
                                demand=[("K", "p", 1, 5)]))
    assert _why(tables).empty
    assert "largest_shortfall" not in summary(tables)
    assert "short" not in out.message


# --- the thesis example -----------------------------------------------------------------


@pytest.fixture(scope="module")
def thesis():
    """The thesis example's model and its constructive plan (a solve takes a minute; the
    constructive plan has the same 404 pallets that no plan can avoid)."""
    raw = read_workbook(EXAMPLES / "production_distribution_thesis.xlsx")
    _, _, inst, problems = api.load(raw, {})
    assert not problems.has_errors()
    built = model.build(inst)
    return raw, inst, built, start.greedy_plan(built)


def test_thesis_every_shortage_pallet_has_a_cause(thesis):
    raw, inst, built, x = thesis
    w = why.explain(inst, built, x)
    short = x[built.short_cols]
    assert w["pallets"].sum() == pytest.approx(short.sum())
    assert set(w["cause"]) <= set(why.CAUSES)
    # Independently: a product with no start stock and no delivery anywhere is short of
    # all its demand, and that is the cause given.
    supplied = set(raw["Supply"].iloc[1:, 1]) | set(
        raw["StartInventory"].iloc[1:, 1][pd.to_numeric(raw["StartInventory"].iloc[1:, 2]) > 0])
    demand = raw["Demand"].iloc[1:]
    never = demand[~demand.iloc[:, 1].isin(supplied)]
    never_pallets = pd.to_numeric(never.iloc[:, 3]).sum()
    assert never_pallets > 300
    mine = w[w["product"].isin(set(never.iloc[:, 1]))]
    assert set(mine["cause"]) == {why.NO_SUPPLY}
    assert mine["pallets"].sum() == pytest.approx(never_pallets)
    assert (w["cause"] == why.NO_SUPPLY).sum() >= len(mine)
    line = why.largest_shortfall(w)
    assert line.startswith(f"{w['pallets'].sum():,.0f} pallets short at Horace, ")


def test_a_local_resolve_is_a_plan_of_the_whole_model(thesis):
    """The re-solve behind "cheaper to be short" and "the plan can serve it for less":
    its plan satisfies every row and bound of the full model and costs what it says."""
    _, inst, built, x = thesis
    local = why.LocalModels(built, x)
    short = x[built.short_cols]
    lp = built.lp
    # the shortages of products that have supply: the others cannot be served
    supplied = np.isin(built.short_product, built.supply_product)
    tried = 0
    for r in np.nonzero((short > 0) & supplied)[0]:
        res = local.resolve(int(built.short_product[r]), int(r), 1.0, [])
        if res is None:
            continue
        tried += 1
        y = res.plan
        assert y[built.short_cols[r]] <= short[r] - 1 + 1e-6
        lengths = np.diff(np.append(lp.a_start, lp.nnz))
        act = np.bincount(np.repeat(np.arange(lp.n_rows), lengths),
                          weights=lp.a_value * y[lp.a_index], minlength=lp.n_rows)
        assert (act >= lp.row_lower - 1e-6).all() and (act <= lp.row_upper + 1e-6).all()
        assert (y >= lp.lower - 1e-9).all() and (y <= lp.upper + 1e-9).all()
        ints = lp.integrality > 0
        assert np.abs(y[ints] - np.round(y[ints])).max(initial=0) < 1e-6
        assert lp.cost @ y - lp.cost @ x == pytest.approx(res.change, abs=1e-6)
    assert tried >= 1


def test_without_time_for_re_solves_the_binding_limit_is_named_and_marked():
    _, _, inst, _ = api.load(raw_sheets(_reception(1), {"mip_gap": 0.0}), {})
    built, sol, _ = solve_instance(inst)
    check_plan_has(built, sol.x, shortage=10)
    w = why.explain(inst, built, sol.x, seconds=0)
    assert list(w["cause"]) == [why.RECEPTION]
    assert "Not re-solved" in w["detail"].iat[0]
    assert w["what_would_fix_it"].iat[0] == "raise max_inbound_trucks of K above 1"


def test_a_re_solve_cut_short_proves_no_cause(monkeypatch):
    """A re-solve that Out Why's time ends before it proves feasible or infeasible is no
    evidence either way: the shortage gets the marked binding limit, not the cause the
    next re-solve would have found; and no re-solve gets more than the time left."""
    _, _, inst, _ = api.load(raw_sheets(_reception(1), {"mip_gap": 0.0}), {})
    built, sol, _ = solve_instance(inst)
    limits = []

    def cut_short(lp, options):
        limits.append(options.time_limit)
        return highs.SolveResult(highs.TIME_LIMIT)

    monkeypatch.setattr(why, "solve", cut_short)
    w = why.explain(inst, built, sol.x, seconds=3.0)
    assert list(w["cause"]) == [why.RECEPTION]
    assert "Not re-solved" in w["detail"].iat[0]
    assert len(limits) == 1 and 0 < limits[0] <= 3.0


def _slow_infeasible(seconds: float, calls: list | None = None):
    """A stand-in for Out Why's HiGHS: every re-solve takes ``seconds`` and is infeasible
    (so the next one is tried); ``calls`` collects the time limits it was given."""
    def solve(lp, options):
        if calls is not None:
            calls.append(options.time_limit)
        time.sleep(seconds)
        return highs.SolveResult(highs.INFEASIBLE)
    return solve


def test_no_re_solve_starts_that_would_end_past_out_whys_time(monkeypatch):
    """Out Why ends within its time: a re-solve is not started with less time left than
    the longest one took (HiGHS runs past a short limit), and the shortage then gets the
    marked binding limit. Re-solves of 0.5 s in 1.2 s: the third would end at 1.5 s."""
    _, _, inst, _ = api.load(raw_sheets(_reception(1), {"mip_gap": 0.0}), {})
    built, sol, _ = solve_instance(inst)
    calls = []
    monkeypatch.setattr(why, "solve", _slow_infeasible(0.5, calls))
    t0 = time.perf_counter()
    w = why.explain(inst, built, sol.x, seconds=1.2)
    assert time.perf_counter() - t0 < 1.2
    assert len(calls) == 2
    assert "Not re-solved" in w["detail"].iat[0]


def test_time_used_counts_out_whys_re_solves(monkeypatch):
    """Out Summary's "time used" is the run's: the search and Out Why after it."""
    raw = raw_sheets(_reception(1), {"mip_gap": 0.0})
    monkeypatch.setattr(why, "solve", _slow_infeasible(0.3))
    outcome = api.solve(raw)
    items = dict(zip(outcome.sheets[0].frame["item"], outcome.sheets[0].frame["value"]))
    searched = items["solve_seconds"] + items["build_seconds"]
    used = float(items["time used"].split(" s of")[0])
    assert used >= searched + 0.3 - 0.05


def check_plan_has(built, x, shortage):
    assert x[built.short_cols].sum() == pytest.approx(shortage)
