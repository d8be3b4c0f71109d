"""The report's MPS formulation, word for word, in PuLP: the executable specification.

Every order x[f,p,τ] for every week (also orders that arrive after the horizon), the
MOQ rows and ``u ≤ M(1 - e)``, ``I ≤ M e`` with a big M, and the stop week as x = 0.
It is slow and only for small instances: the tests solve it next to the tight model of
model.py, which must reach the same optimum with an LP relaxation at least as strong
(docs/master_production.md, "Differences from the report"). Weeks are 0-based; unmet
demand and shortfall cost from the lead time on, as in the tight model.
"""

from __future__ import annotations

import numpy as np
import pulp

from .data import Instance

BIG_M = 1e5  # safe for the small test instances: no quantity comes near it


def literal_model(inst: Instance, relax: bool = False, big_m: float = BIG_M
                  ) -> pulp.LpProblem:
    """The report's MIP for ``inst`` (its LP relaxation with ``relax``)."""
    T = inst.n_weeks
    skus = inst.skus
    lead = skus["lead_time_weeks"].to_numpy()  # SLA^S_p
    transport = skus["transport_weeks"].to_numpy()  # SLA^T_p
    stop = skus["stop_t"].to_numpy()
    moq = skus["moq"].to_numpy() if inst.settings.use_moq else np.zeros(len(skus))  # Q_p
    h = skus["holding_cost"].to_numpy()
    y = skus["lost_sales_cost"].to_numpy()
    w = skus["target_shortfall_cost"].to_numpy()
    whole = pulp.LpContinuous if relax else pulp.LpInteger
    binary = pulp.LpContinuous if relax else pulp.LpBinary
    room = inst.remaining_capacity  # C[f,t] − open-PO use
    links = list(zip(inst.links["f"].tolist(), inst.links["p"].tolist(),
                     inst.links["use"].tolist()))  # (f, p, o[f,p])

    prob = pulp.LpProblem("mps_report", pulp.LpMinimize)
    x = {}
    for f, p, _ in links:
        for tau in range(T):
            x[f, p, tau] = pulp.LpVariable(f"x_{f}_{p}_{tau}", 0, None, whole)
            if tau > stop[p]:  # discontinuation
                prob += x[f, p, tau] == 0
            if moq[p] > 0:
                z = pulp.LpVariable(f"z_{f}_{p}_{tau}", 0, 1, binary)
                prob += x[f, p, tau] >= moq[p] * z
                prob += x[f, p, tau] <= big_m * z
    # Factory capacity: an order uses it in the week before its transport starts.
    for f in range(len(inst.factories)):
        for t in range(T):
            terms = [use * x[g, p, tau] for g, p, use in links if g == f for tau in range(T)
                     if tau + lead[p] - transport[p] - 1 == t]
            if terms:
                prob += pulp.lpSum(terms) <= room[f, t]
    cost = []
    for p in range(len(skus)):
        stock = [pulp.LpVariable(f"I_{p}_{t}", 0) for t in range(T)]
        unmet = [pulp.LpVariable(f"u_{p}_{t}", 0) for t in range(T)]
        short = [pulp.LpVariable(f"s_{p}_{t}", 0) for t in range(T)]
        met = [pulp.LpVariable(f"e_{p}_{t}", 0, 1, binary) for t in range(T)]
        for t in range(T):
            prev = stock[t - 1] if t > 0 else inst.inventory[p]
            arrive = pulp.lpSum(x[f, q, t - lead[p]] for f, q, _ in links if q == p) \
                if t >= lead[p] else 0
            po, demand = inst.po_arrivals[p, t], inst.demand[p, t]
            prob += prev + po + arrive + short[t] >= inst.target[p, t]  # target
            prob += stock[t] == prev + po + arrive - demand + unmet[t]  # balance
            prob += unmet[t] <= big_m * (1 - met[t])  # stock serves this week's demand first
            prob += stock[t] <= big_m * met[t]
            cost.append(h[p] * stock[t])
            if t >= lead[p]:
                cost.append(y[p] * unmet[t] + w[p] * short[t])
    prob += pulp.lpSum(cost)
    return prob
