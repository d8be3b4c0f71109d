"""The thesis formulation written literally with PuLP is the executable specification.

Random small instances are solved both by the array-built model (through the same entry
point as the CLI) and by the PuLP model below, which follows the thesis's notation
(chapter 3.6, eqs. 1–12) over every supplier→warehouse, supplier→plant, warehouse→plant
and plant→warehouse arc, with DESIGN.md's corrections: the plant capacity sums each
category once, a shortage is at most the demand, and reception limits count the
trucks arriving at the plant. The optima must agree; the solutions need not (DESIGN §4).
"""

import itertools

import numpy as np
import pandas as pd
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pd_helpers import check_plan, solve, summary


def random_instance(seed: int):
    rng = np.random.default_rng(seed)
    cats = ["RM", "AC"]
    cap_u = {"RM": int(rng.integers(4, 9)), "AC": int(rng.integers(8, 16))}
    sup = [f"S{i}" for i in range(1, int(rng.integers(1, 3)) + 1)]
    wh = [f"W{j}" for j in range(1, int(rng.integers(1, 3)) + 1)]
    plant = "K"
    T = int(rng.integers(2, 4))
    P = [f"P{p}" for p in range(1, int(rng.integers(3, 6)) + 1)]
    cat = {p: cats[int(rng.integers(2))] for p in P}
    H = {}  # storage capacity per (location, category)
    for j in wh:
        for u in cats:
            H[(j, u)] = int(rng.choice([0, 10, 30]))
    H[(wh[0], "RM")], H[(wh[0], "AC")] = 60, 60  # somewhere everything fits
    for u in cats:
        H[(plant, u)] = int(rng.integers(3, 15))
    WC = {(l, u): float(rng.choice([0.0, 0.5, 1.0, 2.0])) for (l, u) in H}
    lanes = []
    for i in sup:
        for d in wh + [plant]:
            lanes.append((i, d, float(rng.integers(20, 80)), float(rng.choice([0, 1, 2]))))
    for j in wh:
        lanes.append((j, plant, float(rng.integers(10, 60)), float(rng.choice([0, 1]))))
        lanes.append((plant, j, float(rng.integers(10, 60)), float(rng.choice([0, 1]))))
    supply = [(i, p, t, int(rng.integers(1, 9))) for i in sup for p in P for t in range(1, T + 1)
              if rng.random() < 0.35]
    demand = [(plant, p, t, float(rng.choice([1, 2, 3.5, 5]))) for p in P
              for t in range(1, T + 1) if rng.random() < 0.4]
    start = [(l, p, int(rng.integers(1, 5))) for l in wh + [plant] for p in P
             if rng.random() < 0.3 and H[(l, cat[p])] >= 5]
    max_inbound = float(rng.choice([2, 3])) if rng.random() < 0.5 else None
    data = {
        "Categories": pd.DataFrame({"category": cats, "truck_capacity": [cap_u[u] for u in
                                                                         cats]}),
        "Products": pd.DataFrame({"product": P, "category": [cat[p] for p in P]}),
        "Locations": pd.DataFrame([(i, "supplier", None) for i in sup]
                                  + [(j, "warehouse", None) for j in wh]
                                  + [(plant, "plant", max_inbound)],
                                  columns=["location", "type", "max_inbound_trucks"]),
        "Storage": pd.DataFrame([(l, u, c, WC[(l, u)]) for (l, u), c in H.items() if c > 0],
                                columns=["location", "category", "capacity",
                                         "cost_per_pallet_day"]),
        "Lanes": pd.DataFrame([l + (None,) for l in lanes],
                              columns=["from", "to", "truck_cost", "pallet_cost", "max_trucks"]),
        "StartInventory": pd.DataFrame(start, columns=["location", "product", "pallets"]),
        "Supply": pd.DataFrame(supply, columns=["supplier", "product", "day", "pallets"]),
        "Demand": pd.DataFrame(demand, columns=["plant", "product", "day", "pallets"]),
    }
    penalty = float(rng.choice([30, 500]))
    return data, {"shortage_penalty": penalty, "horizon_days": T}


def thesis_pulp(data, settings) -> float | None:
    """The thesis model (eqs. 1–12), literally, with DESIGN.md's corrections."""
    T = range(1, int(settings["horizon_days"]) + 1)
    G = settings["shortage_penalty"]
    loc = data["Locations"]
    I = list(loc[loc.type == "supplier"].location)  # noqa: E741
    J = list(loc[loc.type == "warehouse"].location)
    K = list(loc[loc.type == "plant"].location)
    P = list(data["Products"]["product"])
    u_of = dict(zip(data["Products"]["product"], data["Products"]["category"]))
    U = list(data["Categories"]["category"])
    Cap = dict(zip(data["Categories"]["category"], data["Categories"]["truck_capacity"]))
    N = {r.location: r.max_inbound_trucks for r in loc.itertuples() if r.type == "plant"}
    H = {(r.location, r.category): r.capacity for r in data["Storage"].itertuples()}
    WC = {(r.location, r.category): r.cost_per_pallet_day for r in data["Storage"].itertuples()}
    lane = {(r[1], r[2]): (r[3], r[4]) for r in data["Lanes"].itertuples()}
    TC = {a: v[0] for a, v in lane.items()}
    C = {a: v[1] for a, v in lane.items()}
    S = {(r.supplier, r.product, int(r.day)): r.pallets for r in data["Supply"].itertuples()}
    D = {(r.plant, r.product, int(r.day)): r.pallets for r in data["Demand"].itertuples()}
    S0 = {(r.location, r.product): r.pallets for r in data["StartInventory"].itertuples()}

    m = pulp.LpProblem("thesis", pulp.LpMinimize)
    iv = lambda name, idx: pulp.LpVariable.dicts(name, idx, lowBound=0, cat="Integer")  # noqa
    X = iv("X", list(itertools.product(P, I, J, T)))  # supplier → warehouse
    X1 = iv("X1", list(itertools.product(P, I, K, T)))  # supplier → plant  (X')
    X2 = iv("X2", list(itertools.product(P, J, K, T)))  # warehouse → plant (X'')
    X3 = iv("X3", list(itertools.product(P, K, J, T)))  # plant → warehouse (X''')
    Y = iv("Y", list(itertools.product(I, J, T)))
    Y1 = iv("Y1", list(itertools.product(I, K, T)))
    Y2 = iv("Y2", list(itertools.product(J, K, T)))
    Y3 = iv("Y3", list(itertools.product(K, J, T)))
    Sw = pulp.LpVariable.dicts("Sw", list(itertools.product(P, J, T)), lowBound=0)  # S'
    Sk = pulp.LpVariable.dicts("Sk", list(itertools.product(P, K, T)), lowBound=0)  # S''
    L = pulp.LpVariable.dicts("L", list(itertools.product(P, K, T)), lowBound=0)

    def prev_w(p, j, t):
        return S0.get((j, p), 0) if t == 1 else Sw[(p, j, t - 1)]

    def prev_k(p, k, t):
        return S0.get((k, p), 0) if t == 1 else Sk[(p, k, t - 1)]

    # (1) objective
    m += (pulp.lpSum(C[(i, j)] * X[(p, i, j, t)] for p in P for i in I for j in J for t in T)
          + pulp.lpSum(C[(i, k)] * X1[(p, i, k, t)] for p in P for i in I for k in K for t in T)
          + pulp.lpSum(C[(j, k)] * X2[(p, j, k, t)] for p in P for j in J for k in K for t in T)
          + pulp.lpSum(C[(k, j)] * X3[(p, k, j, t)] for p in P for k in K for j in J for t in T)
          + pulp.lpSum(WC.get((j, u_of[p]), 0) * Sw[(p, j, t)] for p in P for j in J for t in T)
          + pulp.lpSum(WC.get((k, u_of[p]), 0) * Sk[(p, k, t)] for p in P for k in K for t in T)
          + pulp.lpSum(TC[(i, j)] * Y[(i, j, t)] for i in I for j in J for t in T)
          + pulp.lpSum(TC[(i, k)] * Y1[(i, k, t)] for i in I for k in K for t in T)
          + pulp.lpSum(TC[(j, k)] * Y2[(j, k, t)] for j in J for k in K for t in T)
          + pulp.lpSum(TC[(k, j)] * Y3[(k, j, t)] for k in K for j in J for t in T)
          + G * pulp.lpSum(L.values()))
    for p in P:
        for t in T:
            for i in I:  # (2) suppliers keep nothing
                m += (S.get((i, p, t), 0) - pulp.lpSum(X[(p, i, j, t)] for j in J)
                      - pulp.lpSum(X1[(p, i, k, t)] for k in K) == 0)
            for j in J:  # (3) warehouse balance, (5) ship from stock
                m += (prev_w(p, j, t) + pulp.lpSum(X[(p, i, j, t)] for i in I)
                      + pulp.lpSum(X3[(p, k, j, t)] for k in K)
                      - pulp.lpSum(X2[(p, j, k, t)] for k in K) - Sw[(p, j, t)] == 0)
                m += pulp.lpSum(X2[(p, j, k, t)] for k in K) <= prev_w(p, j, t)
            for k in K:  # (4) plant balance, (6) ship from stock; L ≤ D
                m += (prev_k(p, k, t) + pulp.lpSum(X1[(p, i, k, t)] for i in I)
                      + pulp.lpSum(X2[(p, j, k, t)] for j in J)
                      - pulp.lpSum(X3[(p, k, j, t)] for j in J) - D.get((k, p, t), 0)
                      + L[(p, k, t)] - Sk[(p, k, t)] == 0)
                m += pulp.lpSum(X3[(p, k, j, t)] for j in J) <= prev_k(p, k, t)
                m += L[(p, k, t)] <= D.get((k, p, t), 0)
    for t in T:
        for u in U:  # (7), (8) storage, each category once
            for j in J:
                m += pulp.lpSum(Sw[(p, j, t)] for p in P if u_of[p] == u) <= H.get((j, u), 0)
            for k in K:
                m += pulp.lpSum(Sk[(p, k, t)] for p in P if u_of[p] == u) <= H.get((k, u), 0)
        for k in K:  # (9) reception
            if N[k] is not None and N[k] == N[k]:
                m += (pulp.lpSum(Y2[(j, k, t)] for j in J) + pulp.lpSum(Y1[(i, k, t)] for i in I)
                      <= N[k])
        for i in I:  # (10a), (10b)
            for j in J:
                m += pulp.lpSum(X[(p, i, j, t)] * (1.0 / Cap[u_of[p]]) for p in P) <= Y[(i, j, t)]
            for k in K:
                m += (pulp.lpSum(X1[(p, i, k, t)] * (1.0 / Cap[u_of[p]]) for p in P)
                      <= Y1[(i, k, t)])
        for j in J:  # (11), (12)
            for k in K:
                m += (pulp.lpSum(X2[(p, j, k, t)] * (1.0 / Cap[u_of[p]]) for p in P)
                      <= Y2[(j, k, t)])
                m += (pulp.lpSum(X3[(p, k, j, t)] * (1.0 / Cap[u_of[p]]) for p in P)
                      <= Y3[(k, j, t)])
    status = m.solve(pulp.HiGHS(msg=False, gapRel=0.0, timeLimit=60))
    if pulp.LpStatus[status] != "Optimal":
        return None
    return pulp.value(m.objective)


@pytest.mark.parametrize("seed", range(20))
def test_constructive_plan_is_feasible(seed):
    """The greedy start plan satisfies every row and bound of the model."""
    from solver_core.production_distribution import model
    from solver_core.production_distribution.heuristic import greedy_plan
    from pd_helpers import raw_sheets
    from solver_core import api

    data, settings_ = random_instance(seed)
    _, _, inst, problems = api.load(raw_sheets(data, settings_))
    if inst is None:
        return
    built = model.build(inst)
    x = greedy_plan(built)
    if x is None:
        return
    lp = built.lp
    rows = np.repeat(np.arange(lp.n_rows), np.diff(np.append(lp.a_start, lp.nnz)))
    activity = np.bincount(rows, weights=lp.a_value * x[lp.a_index], minlength=lp.n_rows)
    assert (activity >= lp.row_lower - 1e-6).all() and (activity <= lp.row_upper + 1e-6).all()
    assert (x >= lp.lower - 1e-9).all() and (x <= lp.upper + 1e-9).all()
    ints = lp.integrality.astype(bool)
    assert np.allclose(x[ints], np.round(x[ints]))


@pytest.mark.parametrize("seed", range(6))
def test_fast_model_matches_thesis_formulation(seed):
    data, settings_ = random_instance(seed)
    expected = thesis_pulp(data, settings_)
    outcome, tables = solve(data, **settings_)
    if expected is None:
        assert outcome.exit_code in (2, 3), outcome.message
        return
    assert outcome.exit_code == 0, outcome.message
    check_plan(data, settings_, tables)
    assert summary(tables)["objective"] == pytest.approx(expected, rel=1e-6, abs=1e-6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=100, max_value=10_000))
def test_random_instances_are_feasible_and_costed_right(seed):
    """Every plan the model writes passes the independent checker."""
    data, settings_ = random_instance(seed)
    outcome, tables = solve(data, **settings_)
    assert outcome.exit_code in (0, 3), outcome.message
    if outcome.exit_code == 0:
        check_plan(data, settings_, tables)


def test_staged_solve_matches_direct_solve(monkeypatch):
    """The staged path used at scale gives the same optimum on a small instance."""
    from solver_core.production_distribution import model

    data, settings_ = random_instance(3)
    _, direct = solve(data, **settings_)
    monkeypatch.setattr(model, "STAGED_MIN_COLUMNS", 0)
    outcome, staged = solve(data, **settings_)
    check_plan(data, settings_, staged)
    s = summary(staged)
    assert any(k.startswith("stage: whole pallets within the LP's trucks") for k in s)
    assert s["objective"] == pytest.approx(summary(direct)["objective"], rel=1e-6)
