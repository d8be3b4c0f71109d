"""The thesis formulation written literally in PuLP: the executable specification.

It follows the thesis's notation (chapter 3.6, eqs. 1–12) with one variable family per
kind of arc (X supplier→warehouse, X' supplier→plant, X'' warehouse→plant, X'''
plant→warehouse) over the listed lanes, plus the corrections of
docs/production_distribution.md, "Where it differs from the thesis": the plant
capacity sums each category once, a shortage is at most the demand, and the reception
limit counts the trucks arriving at the plant. It builds one PuLP object per
coefficient, so it serves small instances only; the tests hold the array-built model
(model.py) to the same optimum.
"""

from __future__ import annotations

import itertools

import pulp

from .data import Instance

# The thesis's four kinds of arc: (from type, to type) -> the symbol's family name.
ARCS = {("supplier", "warehouse"): "X", ("supplier", "plant"): "X1",
        ("warehouse", "plant"): "X2", ("plant", "warehouse"): "X3"}


def thesis_pulp(inst: Instance, time_limit: float = 60.0) -> float | None:
    """Optimum of the thesis model on ``inst`` (with its settings), or None.

    Parameters
    ----------
    inst : Instance
        Validated data; lanes must be of the thesis's four kinds (``ARCS``).
    time_limit : float
        Seconds for HiGHS through PuLP.

    Returns
    -------
    float or None
        The optimal objective (1), or None when HiGHS proves no optimum.
    """
    s = inst.settings
    T = range(1, inst.n_days + 1)
    G = float(s.shortage_penalty)
    loc_type = dict(zip(inst.locations["location"], inst.locations["type"]))
    I = [loc for loc, kind in loc_type.items() if kind == "supplier"]  # noqa: E741
    J = [loc for loc, kind in loc_type.items() if kind == "warehouse"]
    K = [loc for loc, kind in loc_type.items() if kind == "plant"]
    P = list(inst.products["product"])
    U = list(inst.categories["category"])
    u_of = dict(zip(inst.products["product"], inst.products["category"]))
    Cap = dict(zip(inst.categories["category"], inst.categories["truck_capacity"]))
    N = {}  # max inbound trucks per plant
    if s.use_reception_limit:
        N = {r.location: r.max_inbound_trucks for r in inst.locations.itertuples()
             if r.type == "plant" and r.max_inbound_trucks == r.max_inbound_trucks}
    H = {}  # storage capacity per (location, category)
    WC = {}  # storage cost per (location, category)
    for r in inst.storage.itertuples():
        factor = s.plant_capacity_factor if loc_type[r.location] == "plant" else 1.0
        H[(r.location, r.category)] = r.capacity * factor
        WC[(r.location, r.category)] = r.cost_per_pallet_day
    arcs: dict[str, list[tuple[str, str]]] = {name: [] for name in ARCS.values()}
    TC, C = {}, {}  # truck cost and pallet cost per lane
    for r in inst.lanes.itertuples(index=False):
        a, b = r[0], r[1]
        kind = ARCS.get((loc_type[a], loc_type[b]))
        if kind is None:
            raise ValueError(f"lane {a} -> {b} is not one of the thesis's arcs")
        arcs[kind].append((a, b))
        TC[(a, b)] = r.truck_cost
        C[(a, b)] = 0.0 if r.pallet_cost != r.pallet_cost else r.pallet_cost
    S = {}  # supply per (supplier, product, day)
    for r in inst.supply.itertuples():
        q = r.pallets * s.supply_factor
        S[(r.supplier, r.product, int(r.day))] = round(q) if s.integer_pallets else q
    D = {(r.plant, r.product, int(r.day)): r.pallets * s.demand_factor
         for r in inst.demand.itertuples()}
    S0 = {(r.location, r.product): r.pallets for r in inst.start.itertuples()}

    m = pulp.LpProblem("thesis", pulp.LpMinimize)
    pallets = "Integer" if s.integer_pallets else "Continuous"
    X = {name: pulp.LpVariable.dicts(name, list(itertools.product(P, arcs[name], T)),
                                     lowBound=0, cat=pallets)
         for name in arcs}  # X, X', X'', X''' per (product, arc, day)
    Y = {name: pulp.LpVariable.dicts("Y" + name[1:], list(itertools.product(arcs[name], T)),
                                     lowBound=0, cat="Integer")
         for name in arcs}  # Y, Y', Y'', Y''' per (arc, day)
    Sw = pulp.LpVariable.dicts("Sw", list(itertools.product(P, J, T)), lowBound=0)  # S'
    Sk = pulp.LpVariable.dicts("Sk", list(itertools.product(P, K, T)), lowBound=0)  # S''
    L = pulp.LpVariable.dicts("L", list(itertools.product(P, K, T)), lowBound=0)

    def flows(name, p, t, a=None, b=None):
        return pulp.lpSum(X[name][(p, arc, t)] for arc in arcs[name]
                          if (a is None or arc[0] == a) and (b is None or arc[1] == b))

    def prev_w(p, j, t):
        return S0.get((j, p), 0) if t == 1 else Sw[(p, j, t - 1)]

    def prev_k(p, k, t):
        return S0.get((k, p), 0) if t == 1 else Sk[(p, k, t - 1)]

    # (1) objective
    m += (pulp.lpSum(C[arc] * X[name][(p, arc, t)] for name in arcs for arc in arcs[name]
                     for p in P for t in T)
          + pulp.lpSum(WC.get((j, u_of[p]), 0) * Sw[(p, j, t)] for p in P for j in J for t in T)
          + pulp.lpSum(WC.get((k, u_of[p]), 0) * Sk[(p, k, t)] for p in P for k in K for t in T)
          + pulp.lpSum(TC[arc] * Y[name][(arc, t)] for name in arcs for arc in arcs[name]
                       for t in T)
          + G * pulp.lpSum(L.values()))
    for p in P:
        for t in T:
            for i in I:  # (2) suppliers keep nothing
                m += S.get((i, p, t), 0) - flows("X", p, t, a=i) - flows("X1", p, t, a=i) == 0
            for j in J:  # (3) warehouse balance, (5) ship from stock
                m += (prev_w(p, j, t) + flows("X", p, t, b=j) + flows("X3", p, t, b=j)
                      - flows("X2", p, t, a=j) - Sw[(p, j, t)] == 0)
                m += flows("X2", p, t, a=j) <= prev_w(p, j, t)
            for k in K:  # (4) plant balance, (6) ship from stock; L ≤ D
                m += (prev_k(p, k, t) + flows("X1", p, t, b=k) + flows("X2", p, t, b=k)
                      - flows("X3", p, t, a=k) - D.get((k, p, t), 0)
                      + L[(p, k, t)] - Sk[(p, k, t)] == 0)
                m += flows("X3", p, t, a=k) <= prev_k(p, k, t)
                m += L[(p, k, t)] <= D.get((k, p, t), 0)
    for t in T:
        for u in U:  # (7), (8) storage, each category once
            for j in J:
                m += pulp.lpSum(Sw[(p, j, t)] for p in P if u_of[p] == u) <= H.get((j, u), 0)
            for k in K:
                m += pulp.lpSum(Sk[(p, k, t)] for p in P if u_of[p] == u) <= H.get((k, u), 0)
        for k, n_k in N.items():  # (9) reception: trucks arriving at the plant
            m += (pulp.lpSum(Y[name][(arc, t)] for name in ("X1", "X2") for arc in arcs[name]
                             if arc[1] == k) <= n_k)
        for name in arcs:  # (10)–(12) enough trucks on each arc and day
            for arc in arcs[name]:
                m += (pulp.lpSum(X[name][(p, arc, t)] * (1.0 / Cap[u_of[p]]) for p in P)
                      <= Y[name][(arc, t)])
    status = m.solve(pulp.HiGHS(msg=False, gapRel=0.0, timeLimit=time_limit))
    if pulp.LpStatus[status] != "Optimal":
        return None
    return pulp.value(m.objective)
