"""Solve an MPS instance: decompose, solve the pieces in parallel, round, re-evaluate.

Every supply center is split into connected components (model.py); components are
grouped into pieces (small ones share a piece so process start-up does not dominate)
and run in parallel processes. Each component starts HiGHS from the greedy plan, so a
capacity- and MOQ-feasible integer plan exists from the first second; the solver's
plan replaces it only when its rounded re-evaluation is cheaper.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import highs, parallel
from ..api import ModelRun
from ..progress import NULL, Progress
from . import report
from .data import Instance
from .heuristics import check_plan, greedy_plan, round_plan
from .model import Component, build_model, component_cost, make_components, start_vector
from .simulate import arrivals_of, cost_parts, project

BATCH_COLUMNS = 4000  # components smaller than this share a piece
POOL_COLUMNS = 20000  # below this in all, solve in this process (no pool start-up)


@dataclass
class ComponentResult:
    label: str
    supply_center: str
    status: str
    quantity: np.ndarray  # whole-unit plan per candidate order
    model_x: np.ndarray | None  # the solver's order quantities (continuous in relaxed mode)
    objective: float | None  # model objective (solver)
    bound: float | None
    gap: float | None
    evaluated: float  # cost of ``quantity`` by simulation
    start_cost: float  # cost of the greedy start plan
    used: str  # which plan was kept: solver | greedy
    size: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    message: str = ""


@dataclass
class Piece:
    components: list[Component]
    integer: bool
    budgets: list[float]  # seconds per component
    deadline: float  # time.time() after which no new solve starts
    mip_gap: float
    threads: int


def _size(c: Component) -> int:
    return c.n_orders + c.demand.size


def solve_component(comp: Component, integer: bool, time_limit: float, mip_gap: float,
                    threads: int) -> ComponentResult:
    """Build, start from the greedy plan, solve, round and re-evaluate one component."""
    t0 = time.perf_counter()
    lp, layout = build_model(comp, integer)
    greedy = greedy_plan(comp)
    start = start_vector(comp, layout, greedy)
    build_s = time.perf_counter() - t0
    greedy_cost = component_cost(comp, greedy)
    res = None
    if time_limit > 0.05 and lp.n_cols:
        res = highs.solve(lp, highs.SolveOptions(time_limit=time_limit, mip_gap=mip_gap,
                                                 threads=threads, start=start))
    qty, used, model_x = greedy, "greedy", None
    cost = greedy_cost
    status = res.status if res is not None else highs.TIME_LIMIT
    if res is not None and res.x is not None:
        model_x = res.x[layout.x]
        rounded = round_plan(comp, model_x)
        c = component_cost(comp, rounded)
        if c <= greedy_cost + 1e-9 and not check_plan(comp, rounded):
            qty, used, cost = rounded, "solver", c
    elif not lp.n_cols:
        status = highs.OPTIMAL
    objective = res.objective if res is not None and res.objective is not None else (
        greedy_cost if not lp.n_cols else None)
    bound = res.bound if res is not None else (greedy_cost if not lp.n_cols else None)
    if status == highs.INFEASIBLE:  # cannot happen (x = 0 is a plan); keep the greedy one
        status = highs.ERROR
    gap = None
    if objective is not None and bound is not None:
        gap = max(objective - bound, 0.0) / max(abs(objective), 1e-9)
    return ComponentResult(
        label=comp.label, supply_center=comp.supply_center, status=status, quantity=qty,
        model_x=model_x, objective=objective, bound=bound, gap=gap, evaluated=cost,
        start_cost=greedy_cost, used=used, size=lp.size(), bounds=layout.bounds,
        build_seconds=build_s, solve_seconds=res.solve_seconds if res is not None else 0.0,
        message=res.message if res is not None else "no time left: greedy plan kept")


def solve_piece(piece: Piece) -> list[ComponentResult]:
    """Solve the components of one piece one after the other (pool worker entry point)."""
    out = []
    for comp, budget in zip(piece.components, piece.budgets):
        left = piece.deadline - time.time()
        out.append(solve_component(comp, piece.integer, min(budget, left), piece.mip_gap,
                                   piece.threads))
    return out


def _pieces(comps: list[Component], integer, budgets, deadline, mip_gap, threads) -> list[Piece]:
    pieces, batch, batch_b, size = [], [], [], 0
    for c, b in zip(comps, budgets):  # comps come largest first
        if _size(c) >= BATCH_COLUMNS:
            pieces.append(Piece([c], integer, [b], deadline, mip_gap, threads))
            continue
        batch.append(c)
        batch_b.append(b)
        size += _size(c)
        if size >= BATCH_COLUMNS:
            pieces.append(Piece(batch, integer, batch_b, deadline, mip_gap, threads))
            batch, batch_b, size = [], [], 0
    if batch:
        pieces.append(Piece(batch, integer, batch_b, deadline, mip_gap, threads))
    return pieces


def solve_all(inst: Instance, progress: Progress = NULL, decompose: bool = True,
              workers: int | None = None) -> tuple[list[Component], list[ComponentResult], float]:
    """Solve every component of every supply center; returns components, results, build s."""
    settings = inst.settings
    integer = not bool(settings.get("relax_order_quantities", True))
    time_limit = float(settings.get("time_limit_s", 300.0))
    mip_gap = float(settings.get("mip_gap", 1e-3))
    if workers is None:
        workers = int(settings.get("workers") or 0) or parallel.default_workers()
    t_start = time.time()
    deadline = t_start + time_limit
    t0 = time.perf_counter()
    comps, _ = make_components(inst, integer, decompose)
    split_s = time.perf_counter() - t0
    total = sum(_size(c) for c in comps) or 1
    use_pool = workers > 1 and len(comps) > 1 and total >= POOL_COLUMNS
    lanes = min(workers, len(comps)) if use_pool else 1
    threads = 1 if use_pool else min(2, os.cpu_count() or 1)
    results: list[ComponentResult] = []
    for sc in dict.fromkeys(c.supply_center for c in comps):
        sc_comps = [c for c in comps if c.supply_center == sc]
        # Time in proportion to size: `lanes` components run at once.
        budgets = [min(time_limit, max(1.0, time_limit * lanes * _size(c) / total))
                   for c in sc_comps]
        pieces = _pieces(sc_comps, integer, budgets, deadline, mip_gap, threads)
        label = f"Solving supply center {sc}"
        progress.status(f"{label}: {len(sc_comps)} component(s)…")
        if use_pool and len(pieces) > 1:
            done = parallel.run_pieces(solve_piece, pieces, workers=workers, progress=progress,
                                       label=label)
        else:
            done = []
            for i, piece in enumerate(pieces):
                done.append(solve_piece(piece))
                progress.step(i + 1, len(pieces), label)
        order = {c.label: i for i, c in enumerate(sc_comps)}
        flat = sorted((r for rs in done for r in rs), key=lambda r: order[r.label])
        results.extend(flat)
    return comps, results, split_s


def run(inst: Instance, progress: Progress = NULL, decompose: bool = True,
        workers: int | None = None) -> ModelRun:
    """Solve, assemble the plan, re-evaluate it and write the result sheets."""
    comps, results, split_s = solve_all(inst, progress, decompose, workers)
    progress.status("Evaluating the plan…")
    plan = assemble_plan(inst, comps, results)
    ev = evaluate(inst, plan)
    summary = summarise(inst, comps, results, ev, split_s)
    status = summary.pop("status_detail")
    sheets = report.sheets(inst, plan, ev, results)
    return ModelRun(status=status, summary=summary, sheets=sheets, has_plan=True)


def assemble_plan(inst: Instance, comps: list[Component], results: list[ComponentResult]
                  ) -> pd.DataFrame:
    """Orders with a positive whole quantity, with global SKU and factory indexes."""
    parts = []
    for c, r in zip(comps, results):
        keep = r.quantity > 0
        parts.append(pd.DataFrame({
            "p": c.skus[c.order_sku[keep]], "f": c.factories[c.order_factory[keep]],
            "t_order": c.order_week[keep], "t_arrival": c.arrival_week[keep],
            "t_capacity": c.capacity_week[keep], "use": c.order_use[keep],
            "quantity": r.quantity[keep]}))
    cols = ["p", "f", "t_order", "t_arrival", "t_capacity", "use", "quantity"]
    plan = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    return plan.astype({"p": int, "f": int, "t_order": int, "t_arrival": int,
                        "t_capacity": int, "use": float, "quantity": float})


@dataclass
class Evaluation:
    arrivals: np.ndarray
    projection: object
    costs: dict[str, np.ndarray]
    capacity_used: np.ndarray
    total: float


def evaluate(inst: Instance, plan: pd.DataFrame) -> Evaluation:
    """Projection and cost of the whole plan by simulation (independent of the solver)."""
    P, T = inst.demand.shape
    arrivals = arrivals_of(P, T, plan["p"].to_numpy(), plan["t_arrival"].to_numpy(),
                           plan["quantity"].to_numpy())
    proj = project(inst.inventory, inst.po_arrivals, arrivals, inst.demand, inst.target)
    skus = inst.skus
    w = skus["shortfall_cost"].fillna(float(inst.settings.get("target_shortfall_cost", 5.0)))
    costs = cost_parts(proj, skus["lead"].to_numpy(), skus["holding"].to_numpy(),
                       skus["lost_sales"].to_numpy(), w.to_numpy())
    used = np.zeros((len(inst.factories), T))
    np.add.at(used, (plan["f"].to_numpy(), plan["t_capacity"].to_numpy()),
              plan["use"].to_numpy() * plan["quantity"].to_numpy())
    total = float(sum(v.sum() for v in costs.values()))
    return Evaluation(arrivals, proj, costs, used, total)


def summarise(inst: Instance, comps, results, ev: Evaluation, split_s: float) -> dict:
    """Out Summary items: totals, then one block per supply center and per component."""
    in_comp = np.zeros(len(inst.skus), bool)
    for c in comps:
        in_comp[c.skus] = True
    # SKUs without decisions cost the same in every plan: part of objective and bound.
    fixed_cost = float(sum(v[~in_comp].sum() for v in ev.costs.values()))
    statuses = {r.status for r in results}
    if highs.ERROR in statuses:
        status = highs.ERROR
    elif statuses <= {highs.OPTIMAL}:
        status = highs.OPTIMAL
    else:
        status = highs.TIME_LIMIT
    model_obj = fixed_cost + sum(r.objective if r.objective is not None else r.evaluated
                                 for r in results)
    have_bounds = all(r.bound is not None for r in results)
    bound = fixed_cost + sum(r.bound for r in results) if have_bounds else None
    gap = (max(model_obj - bound, 0.0) / max(abs(model_obj), 1e-9)) if bound is not None else None
    plan_gap = (max(ev.total - bound, 0.0) / max(abs(ev.total), 1e-9)) if bound is not None else None
    size = {k: sum(r.size.get(k, 0) for r in results)
            for k in ("rows", "columns", "nonzeros", "integers")}
    relaxed = bool(inst.settings.get("relax_order_quantities", True))
    s: dict = {
        "status_detail": status,
        "objective": round(ev.total, 4),
        "mip_gap": gap,
        "solve_seconds": round(sum(r.solve_seconds for r in results), 3),
        "build_seconds": round(split_s + sum(r.build_seconds for r in results), 3),
        **size,
        "mode": "relaxed order quantities, rounded" if relaxed else "integer order quantities",
        "use_moq": bool(inst.settings.get("use_moq", True)),
        "start_week": inst.weeks[0],
        "horizon_weeks": inst.n_weeks,
        "model_objective": model_obj,
        "evaluated_cost": ev.total,
        "bound": bound,
        "plan_gap": plan_gap,
        "holding_cost": float(ev.costs["holding"].sum()),
        "lost_sales_cost": float(ev.costs["lost_sales"].sum()),
        "target_shortfall_cost": float(ev.costs["target_shortfall"].sum()),
        "unmet_demand_units": float(ev.projection.unmet.sum()),
        "orders": int(0),
        "skus": len(inst.skus),
        "skus_without_decisions": int((~in_comp).sum()),
        "factories": len(inst.factories),
        "components": len(comps),
        "components_using_greedy_plan": sum(r.used == "greedy" for r in results),
        "bound max_order (X̄, replaces M in x ≤ M z)": max(
            [r.bounds.get("max_order_bound", 0.0) for r in results], default=0.0),
        "bound max_stock (Ī, replaces M in I ≤ M e)": max(
            [r.bounds.get("max_stock_bound", 0.0) for r in results], default=0.0),
        "bound max_unmet (D, replaces M in u ≤ M(1-e))": max(
            [r.bounds.get("max_unmet_bound", 0.0) for r in results], default=0.0),
        "binaries e fixed by bounds": sum(r.bounds.get("binaries_e_fixed", 0) for r in results),
    }
    for sc in dict.fromkeys(str(x) for x in inst.skus["supply_center"]):
        rs = [r for r in results if r.supply_center == sc]
        sel = (inst.skus["supply_center"].astype(str) == sc).to_numpy()
        s[f"{sc}: skus"] = int(sel.sum())
        s[f"{sc}: components"] = len(rs)
        s[f"{sc}: evaluated_cost"] = float(sum(v[sel].sum() for v in ev.costs.values()))
        b = [r.bound for r in rs]
        o = [r.objective if r.objective is not None else r.evaluated for r in rs]
        fc = float(sum(v[sel & ~in_comp].sum() for v in ev.costs.values()))
        s[f"{sc}: objective"] = fc + sum(o)
        s[f"{sc}: bound"] = fc + sum(b) if all(x is not None for x in b) else None
        if s[f"{sc}: bound"] is not None:
            s[f"{sc}: gap"] = max(s[f"{sc}: objective"] - s[f"{sc}: bound"], 0) / max(
                abs(s[f"{sc}: objective"]), 1e-9)
        s[f"{sc}: rows"] = sum(r.size.get("rows", 0) for r in rs)
        s[f"{sc}: columns"] = sum(r.size.get("columns", 0) for r in rs)
    for c, r in zip(comps, results):
        s[f"{r.label}: status"] = r.status
        s[f"{r.label}: objective"] = r.objective
        s[f"{r.label}: bound"] = r.bound
        s[f"{r.label}: gap"] = r.gap
        s[f"{r.label}: evaluated_cost"] = r.evaluated
        s[f"{r.label}: plan"] = r.used
        s[f"{r.label}: skus"] = c.n_skus
        s[f"{r.label}: factories"] = len(c.factories)
        s[f"{r.label}: rows"] = r.size.get("rows", 0)
        s[f"{r.label}: columns"] = r.size.get("columns", 0)
        s[f"{r.label}: integers"] = r.size.get("integers", 0)
        s[f"{r.label}: seconds"] = round(r.build_seconds + r.solve_seconds, 3)
    s["orders"] = int(sum((r.quantity > 0).sum() for r in results))
    return s
