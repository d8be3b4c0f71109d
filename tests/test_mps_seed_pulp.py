"""The seed's literal MPS formulation (seed §2.2.1) in PuLP against the tight model.

The literal model has every x[f,p,τ] for every week (also orders that arrive after
the horizon), the MOQ rows with a big M, u ≤ M(1 - e) and I ≤ M e, and the stop
week as x = 0. M = 1e5 is large but safe here (no quantity of these instances comes
near it). The tight model must reach the same optimum, and its LP relaxation must be
at least as strong.
"""

from __future__ import annotations

import numpy as np
import pulp
import pytest
from test_mps_support import random_case, raw_sheets, read_inputs, solve_and_check

from solver_core import highs
from solver_core.master_production import SCHEMA
from solver_core.master_production import data as mps_data
from solver_core.master_production.model import build_model, make_components
from solver_core.tables import Problems, parse_settings

BIG_M = 1e5


def seed_literal(x, relax: bool = False) -> pulp.LpProblem:
    """Seed §2.2.1 word for word (0-based weeks; unmet demand and shortfall cost from
    the lead time on, as in our model)."""
    T = x.T
    prob = pulp.LpProblem("mps_seed", pulp.LpMinimize)
    integer = pulp.LpContinuous if relax else pulp.LpInteger
    binary = pulp.LpContinuous if relax else pulp.LpBinary
    makers = {k: sorted({(sc, f) for (sc, f, part) in x.rate if sc == k[0] and part == x.pn[k]})
              for k in x.keys}
    X, Z = {}, {}
    for i, k in enumerate(x.keys):
        s = x.skus[k]
        moq = float(np.ceil(s["moq"] - 1e-9)) if x.use_moq and s["moq"] else 0.0
        stop = x.codes.index(s["stop_week"]) - x.start if isinstance(s.get("stop_week"), str) \
            else T - 1
        for j, fac in enumerate(makers[k]):
            for tau in range(T):
                X[fac, k, tau] = pulp.LpVariable(f"x_{i}_{j}_{tau}", 0, None, integer)
                if tau > stop:  # discontinuation
                    prob += X[fac, k, tau] == 0
                if moq > 0:
                    Z[fac, k, tau] = pulp.LpVariable(f"z_{i}_{j}_{tau}", 0, 1, binary)
                    prob += X[fac, k, tau] >= moq * Z[fac, k, tau]
                    prob += X[fac, k, tau] <= BIG_M * Z[fac, k, tau]
    I = {(k, t): pulp.LpVariable(f"I_{i}_{t}", 0) for i, k in enumerate(x.keys) for t in range(T)}
    U = {(k, t): pulp.LpVariable(f"u_{i}_{t}", 0) for i, k in enumerate(x.keys) for t in range(T)}
    S = {(k, t): pulp.LpVariable(f"s_{i}_{t}", 0) for i, k in enumerate(x.keys) for t in range(T)}
    E = {(k, t): pulp.LpVariable(f"e_{i}_{t}", 0, 1, binary)
         for i, k in enumerate(x.keys) for t in range(T)}
    # Factory capacity: orders use it in the week before transport.
    for (sc, f) in x.fastest:
        for t in range(T):
            terms = [X[(sc, f), k, tau] * x.use(sc, f, k[1])
                     for k in x.keys if (sc, f) in makers[k] for tau in range(T)
                     if tau + x.skus[k]["lead_time_weeks"] - x.skus[k]["transport_weeks"] - 1 == t]
            if terms:
                room = max(x.cap(sc, f, t) - x.used_po.get((sc, f, t), 0.0), 0.0)
                prob += pulp.lpSum(terms) <= room
    cost = []
    for i, k in enumerate(x.keys):
        s = x.skus[k]
        lead = int(s["lead_time_weeks"])
        for t in range(T):
            prev = I[k, t - 1] if t > 0 else x.inv[i]
            arrive = pulp.lpSum(X[fac, k, t - lead] for fac in makers[k]) if t >= lead else 0
            prob += prev + x.po[i, t] + arrive + S[k, t] >= x.R[i, t]  # target
            prob += I[k, t] == prev + x.po[i, t] + arrive - x.D[i, t] + U[k, t]  # balance
            prob += U[k, t] <= BIG_M * (1 - E[k, t])
            prob += I[k, t] <= BIG_M * E[k, t]
            cost.append(s["holding_cost"] * I[k, t])
            if t >= lead:
                cost.append(s["lost_sales_cost"] * U[k, t] + x.w[k] * S[k, t])
    prob += pulp.lpSum(cost)
    return prob


def solve_pulp(prob: pulp.LpProblem) -> float:
    prob.solve(pulp.HiGHS(msg=False, gapRel=0.0, timeLimit=60))
    # PuLP says Optimal also after a time limit: the small cases must really finish.
    assert pulp.LpStatus[prob.status] == "Optimal"
    return float(pulp.value(prob.objective))


def tight_lp_bound(data, settings) -> float:
    """LP relaxation of our model (all components) plus the fixed cost of SKUs without
    any possible order."""
    raw = raw_sheets(data, settings)
    problems = Problems()
    st = parse_settings(raw["Settings"], SCHEMA.settings, problems)
    inst = mps_data.load(raw, st, problems)
    assert not problems.has_errors()
    comps, _ = make_components(inst, integer=True)
    total, covered = 0.0, set()
    for c in comps:
        lp, _ = build_model(c, integer=True)
        lp.integrality = np.zeros_like(lp.integrality)
        res = highs.solve(lp, highs.SolveOptions(isolate=False))
        assert res.status == highs.OPTIMAL
        total += res.objective
        covered.update(int(p) for p in c.skus)
    x = read_inputs(data, settings)
    for p, r in enumerate(inst.skus.itertuples()):
        if p in covered:
            continue
        i = x.pidx[(r.supply_center, r.sku)]
        stock, lead = x.inv[i], int(r.lead)
        for t in range(x.T):
            avail = stock + x.po[i, t]
            stock = max(avail - x.D[i, t], 0.0)
            total += r.holding * stock
            if t >= lead:
                total += r.lost_sales * max(x.D[i, t] - avail, 0) + x.w[(r.supply_center, r.sku)] \
                    * max(x.R[i, t] - avail, 0)
    return total


@pytest.mark.parametrize("seed", range(5))
def test_tight_model_matches_seed_formulation(seed):
    rng = np.random.default_rng(100 + seed)
    data, settings = random_case(rng, n_skus=3, n_factories=2, weeks=6)
    x = read_inputs(data, settings)
    literal_opt = solve_pulp(seed_literal(x))
    literal_lp = solve_pulp(seed_literal(x, relax=True))
    _, summary, check = solve_and_check(data, settings)
    assert summary["status"] == "optimal"
    assert float(summary["model_objective"]) == pytest.approx(literal_opt, rel=1e-6, abs=1e-4)
    assert check["cost"] == pytest.approx(literal_opt, rel=1e-6, abs=1e-4)
    tight_lp = tight_lp_bound(data, settings)
    assert tight_lp >= literal_lp - 1e-6 * max(1.0, abs(literal_lp))
    assert tight_lp <= literal_opt + 1e-6 * max(1.0, abs(literal_opt))


def test_tight_bound_is_strictly_stronger_somewhere():
    """Across these instances the big-M relaxation is weaker at least once."""
    gains = []
    for seed in range(3):
        data, settings = random_case(np.random.default_rng(200 + seed), n_skus=3,
                                     n_factories=2, weeks=6, moq_share=0.8)
        x = read_inputs(data, settings)
        gains.append(tight_lp_bound(data, settings) - solve_pulp(seed_literal(x, relax=True)))
    assert min(gains) >= -1e-6 and max(gains) > 1.0
