"""Plain HiGHS: each model's full model handed to HiGHS as one solve, nothing else.

No start plan, no stages, no decomposition: the yardstick scplan's plan is held to.
This is the one module of the benchmarks that uses the models' internal names (their
model-building functions); keep them here so a restructure has one place to follow.

- PD: the whole MILP (``production_distribution.model.build``), without the merged
  bound model.
- MPS: every supply center's seed MIP as one model (no split into components), with
  relaxed order quantities (continuous x; the MOQ and stock binaries kept); the centers'
  models are stacked block-diagonally into one LP. The cost of SKUs without decisions
  (the same in every plan) is added to objective and bound, as scplan's summary does.
- DA: the compact min-cost-flow LP of all SKUs as one model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solver_core import highs
from solver_core.highs import LinearProgram, SolveOptions


@dataclass
class PlainResult:
    """What plain HiGHS reached on a model: plan cost (None = no plan), bound, gap."""

    status: str
    cost: float | None
    bound: float | None
    gap: float | None
    seconds: float
    size: dict[str, int]


def stack(lps: list[LinearProgram]) -> LinearProgram:
    """Independent models as one block-diagonal LP (objectives and offsets added)."""
    if len(lps) == 1:
        return lps[0]
    col_shift = np.cumsum([0] + [lp.n_cols for lp in lps[:-1]])
    nnz_shift = np.cumsum([0] + [lp.nnz for lp in lps[:-1]])
    cat = np.concatenate
    return LinearProgram(
        cost=cat([lp.cost for lp in lps]), lower=cat([lp.lower for lp in lps]),
        upper=cat([lp.upper for lp in lps]),
        integrality=cat([lp.integrality for lp in lps]),
        row_lower=cat([lp.row_lower for lp in lps]), row_upper=cat([lp.row_upper for lp in lps]),
        # a_start holds each row's first entry (ModelBuilder writes no end sentinel).
        a_start=cat([lp.a_start[:lp.n_rows] + s for lp, s in zip(lps, nnz_shift)]),
        a_index=cat([lp.a_index + s for lp, s in zip(lps, col_shift)]),
        a_value=cat([lp.a_value for lp in lps]), offset=float(sum(lp.offset for lp in lps)))


def _production_distribution(inst) -> tuple[LinearProgram, float]:
    from solver_core.production_distribution import model

    return model.build(inst).lp, 0.0


def _master_production(inst) -> tuple[LinearProgram, float]:
    from solver_core.master_production import model, report, simulate

    comps, _ = model.make_components(inst, integer=False, decompose=False)
    lps = [model.build_model(c, integer=False)[0] for c in comps]
    # SKUs outside every component: their cost is fixed (no order reaches them).
    in_comp = np.zeros(len(inst.skus), bool)
    for c in comps:
        in_comp[c.skus] = True
    ev = simulate.evaluate(inst, report.assemble_plan(inst, [], []))
    fixed = float(sum(v[~in_comp].sum() for v in ev.costs.values()))
    return stack(lps), fixed


def _delivery_allocation(inst) -> tuple[LinearProgram, float]:
    from solver_core.delivery_allocation import model, solve

    pieces = solve.make_pieces(inst, 1)
    lps = [model.build(p)[0] for p in pieces]
    return stack(lps), 0.0


BUILDERS = {"production_distribution": _production_distribution,
            "master_production": _master_production,
            "delivery_allocation": _delivery_allocation}


def solve_plain(model: str, inst, time_limit: float, mip_gap: float) -> PlainResult:
    """Build ``model``'s full model of ``inst`` and solve it with HiGHS alone.

    HiGHS gets the whole ``time_limit``; ``seconds`` counts building and solving.
    """
    t0 = time.perf_counter()
    lp, fixed = BUILDERS[model](inst)
    res = highs.solve(lp, SolveOptions(time_limit=time_limit, mip_gap=mip_gap))
    cost = res.objective + fixed if res.objective is not None else None
    bound = res.bound + fixed if res.bound is not None else None
    return PlainResult(res.status, cost, bound, highs.relative_gap(cost, bound),
                       time.perf_counter() - t0, lp.size())
