"""The report's literal MPS formulation (master_production.spec, PuLP) against the tight
model: the tight model must reach the same optimum, and its LP relaxation must be at
least as strong.
"""

from __future__ import annotations

import numpy as np
import pulp
import pytest
from mps_support import random_case, raw_sheets, read_inputs, solve_and_check

from solver_core import highs
from solver_core.master_production import SCHEMA
from solver_core.master_production import data as mps_data
from solver_core.master_production.model import build_model, make_components
from solver_core.master_production.spec import literal_model
from solver_core.tables import Problems, parse_settings


def solve_pulp(prob: pulp.LpProblem) -> float:
    prob.solve(pulp.HiGHS(msg=False, gapRel=0.0, timeLimit=60))
    # PuLP says Optimal also after a time limit: the small cases must really finish.
    assert pulp.LpStatus[prob.status] == "Optimal"
    return float(pulp.value(prob.objective))


def instance(data, settings):
    raw = raw_sheets(data, settings)
    problems = Problems()
    st = parse_settings(raw["Settings"], SCHEMA.settings, problems)
    inst = mps_data.load(raw, st, problems)
    assert not problems.has_errors()
    return inst


def tight_lp_bound(data, settings) -> float:
    """LP relaxation of our model (all components) plus the fixed cost of SKUs without
    any possible order."""
    inst = instance(data, settings)
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
        stock, lead = x.inv[i], int(r.lead_time_weeks)
        for t in range(x.T):
            avail = stock + x.po[i, t]
            stock = max(avail - x.D[i, t], 0.0)
            total += r.holding_cost * stock
            if t >= lead:
                w = x.w[(r.supply_center, r.sku)]
                total += r.lost_sales_cost * max(x.D[i, t] - avail, 0) \
                    + w * max(x.R[i, t] - avail, 0)
    return total


@pytest.mark.parametrize("seed", range(5))
def test_tight_model_matches_seed_formulation(seed):
    rng = np.random.default_rng(100 + seed)
    data, settings = random_case(rng, n_skus=3, n_factories=2, weeks=6)
    inst = instance(data, settings)
    literal_opt = solve_pulp(literal_model(inst))
    literal_lp = solve_pulp(literal_model(inst, relax=True))
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
        literal_lp = solve_pulp(literal_model(instance(data, settings), relax=True))
        gains.append(tight_lp_bound(data, settings) - literal_lp)
    assert min(gains) >= -1e-6 and max(gains) > 1.0
