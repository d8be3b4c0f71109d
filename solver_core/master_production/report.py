"""Out tables, inventory-curve charts and the summary of an MPS plan.

The tables are the ``OUTPUTS`` declared in schema.py (docs/master_production.md, "Out
sheets"); ``supply_center`` comes last in the projection, capacity and warning tables
because a SKU code or factory may exist in more than one supply center.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import highs
from ..outputs import (
    INTEGER_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    SCREEN,
    WHAT_TO_DO,
    ChartSpec,
    OutSheet,
)
from .data import Instance
from .model import Component
from .schema import CAPACITY_OUT, CHARTS, ORDERS, PROJECTION, WARNINGS
from .simulate import Evaluation
from .solve import ComponentResult
from .why import Reason, causes_by_sku, why_sheet

MAX_CHARTS = 6


def sheets(inst: Instance, plan: pd.DataFrame, ev: Evaluation, reasons: list[Reason]
           ) -> list[OutSheet]:
    """The Out sheets of a plan (Out Summary is written by the front end from the summary).

    ``reasons``: the causes of its shortfalls (``why.explain``), for Out Why and Out
    Warnings.
    """
    return [orders_sheet(inst, plan), projection_sheet(inst, ev), capacity_sheet(inst, ev),
            warnings_sheet(inst, ev, reasons), why_sheet(inst, reasons),
            charts_sheet(inst, ev)]


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


def orders_sheet(inst: Instance, plan: pd.DataFrame) -> OutSheet:
    """Out Orders: one row per order of the plan."""
    skus, facs, weeks = inst.skus, inst.factories, np.array(inst.weeks, dtype=object)
    frame = pd.DataFrame({
        "supply_center": facs["supply_center"].to_numpy()[plan["f"].to_numpy()],
        "factory": facs["factory"].to_numpy()[plan["f"].to_numpy()],
        "sku": skus["sku"].to_numpy()[plan["p"].to_numpy()],
        "order_week": weeks[plan["t_order"].to_numpy()],
        "arrival_week": weeks[plan["t_arrival"].to_numpy()],
        "quantity": plan["quantity"].round().astype(int).to_numpy(),
    })
    return ORDERS.sheet(frame)


def projection_sheet(inst: Instance, ev: Evaluation) -> OutSheet:
    """Out Projection: demand, arrivals, stock, unmet demand and shortfall per SKU-week."""
    P, T = inst.demand.shape
    proj = ev.projection

    def flat(a):
        return np.round(np.asarray(a, float).ravel(), 6)

    frame = pd.DataFrame({
        "sku": np.repeat(inst.skus["sku"].to_numpy(), T),
        "week": np.tile(np.array(inst.weeks, dtype=object), P),
        "demand": flat(inst.demand),
        "po_arrivals": flat(inst.po_arrivals),
        "planned_arrivals": flat(ev.arrivals),
        "available": flat(proj.available),
        "target": flat(inst.target),
        "ending_inventory": flat(proj.ending),
        "unmet_demand": flat(proj.unmet),
        "target_shortfall": flat(proj.shortfall),
        "supply_center": np.repeat(inst.skus["supply_center"].to_numpy(), T),
    })
    return PROJECTION.sheet(frame)


def capacity_sheet(inst: Instance, ev: Evaluation) -> OutSheet:
    """Out Capacity: capacity, its use by open POs and by the plan, per factory-week."""
    F, T = inst.capacity.shape
    cap = inst.capacity.ravel()
    pos = inst.used_by_open_pos.ravel()
    used = ev.capacity_used.ravel()
    util = np.full(cap.shape, np.nan)
    nz = cap > 0
    util[nz] = (pos[nz] + used[nz]) / cap[nz]
    frame = pd.DataFrame({
        "factory": np.repeat(inst.factories["factory"].to_numpy(), T),
        "week": np.tile(np.array(inst.weeks, dtype=object), F),
        "capacity": np.round(cap, 4), "used_by_open_pos": np.round(pos, 4),
        "used_by_plan": np.round(used, 4), "utilization": np.round(util, 6),
        "supply_center": np.repeat(inst.factories["supply_center"].to_numpy(), T),
    })
    return CAPACITY_OUT.sheet(frame)


def _span(weeks, idx) -> str:
    return weeks[idx[0]] if len(idx) == 1 else f"{weeks[idx[0]]}–{weeks[idx[-1]]}"


def warnings_sheet(inst: Instance, ev: Evaluation, reasons: list[Reason]) -> OutSheet:
    """One row per SKU and kind: stock-outs, shortfalls, and SKUs dropped or limited."""
    skus, weeks, T = inst.skus, inst.weeks, inst.n_weeks
    proj = ev.projection
    rows = []
    for p, t, kind, msg in inst.notes:
        rows.append((p, weeks[t] if t is not None and 0 <= t < T else "", kind, msg))
    lead = skus["lead_time_weeks"].to_numpy()
    # The causes of the costed stock-outs, computed exactly in why.py (Out Why).
    lost_causes = causes_by_sku(inst, reasons, lost_only=True)
    below_causes = causes_by_sku(inst, reasons, lost_only=False)
    costs = ev.costs
    for p in np.flatnonzero(proj.unmet.sum(axis=1) > 1e-6):
        u = proj.unmet[p]
        before = np.flatnonzero((u > 1e-6) & (np.arange(T) < lead[p]))
        after = np.flatnonzero((u > 1e-6) & (np.arange(T) >= lead[p]))
        if len(before):
            rows.append((p, weeks[before[0]], "stockout_before_lead_time",
                         (f"Unmet demand of {u[before].sum():,.0f} units in "
                          f"{_span(weeks, before)}, before orders placed now can arrive "
                          f"({lead[p]} weeks): expedite open POs or accept it.")))
        if len(after):
            rows.append((p, weeks[after[0]], "stockout",
                         (f"Unmet demand of {u[after].sum():,.0f} units in {len(after)} "
                          f"week(s) ({_span(weeks, after)}), lost-sales cost "
                          f"{costs['lost_sales_cost'][p]:,.2f}: {lost_causes[p]} (Out Why).")))
    for p in np.flatnonzero(costs["target_shortfall_cost"] > 1e-6):
        s = proj.shortfall[p]
        wk = np.flatnonzero((s > 1e-6) & (np.arange(T) >= lead[p]))
        rows.append((p, weeks[wk[0]], "target_shortfall",
                     (f"Below target stock by {s[wk].sum():,.0f} unit-weeks in {len(wk)} "
                      f"week(s) ({_span(weeks, wk)}), cost "
                      f"{costs['target_shortfall_cost'][p]:,.2f}: {below_causes[p]} (Out Why).")))
    # Columns as arrays once: a pandas lookup per row took half a second at Anker scale.
    p = np.array([r[0] for r in rows], dtype=int)
    frame = pd.DataFrame({
        "sku": skus["sku"].to_numpy()[p],
        "week": [r[1] for r in rows],
        "kind": [r[2] for r in rows],
        "message": [r[3] for r in rows],
        "supply_center": skus["supply_center"].to_numpy()[p],
    }, columns=WARNINGS.column_names)
    return WARNINGS.sheet(frame)


def chart_choice(inst: Instance, ev: Evaluation) -> list[tuple[int, str]]:
    """SKUs a planner should look at first: named ones, then largest lost sales/shortfall."""
    chosen = [(p, "named in chart_skus") for p in inst.chart_skus][:MAX_CHARTS]
    pain = ev.costs["lost_sales_cost"] + ev.costs["target_shortfall_cost"]
    for p in np.argsort(-pain, kind="stable"):
        if len(chosen) >= MAX_CHARTS or pain[p] <= 1e-9:
            break
        if p not in {c for c, _ in chosen}:
            lost = ev.costs["lost_sales_cost"][p] >= ev.costs["target_shortfall_cost"][p]
            why = "largest lost sales" if lost else "largest target shortfall"
            chosen.append((int(p), why))
    if not chosen and len(inst.skus):
        chosen.append((int(np.argmax(inst.demand.sum(axis=1))), "largest demand"))
    return chosen


def charts_sheet(inst: Instance, ev: Evaluation) -> OutSheet:
    """Inventory curves: available, target, demand and planned arrivals; the title says
    the first week an order placed now can arrive (no series marks it, so nothing in the
    chart reads like a demand surge)."""
    skus, proj = inst.skus, ev.projection
    rows, charts = [], []
    for p, why in chart_choice(inst, ev):
        r = skus.iloc[p]
        lead = int(r["lead_time_weeks"])
        data = pd.DataFrame({
            "week": inst.weeks,
            "available": np.round(proj.available[p], 2),
            "target": np.round(inst.target[p], 2),
            "demand": np.round(inst.demand[p], 2),
            "planned_arrivals": np.round(ev.arrivals[p], 2),
        })
        lead_week = inst.weeks[lead] if lead < inst.n_weeks else "after the horizon"
        charts.append(ChartSpec(f"{r['sku']} ({r['supply_center']}): orders placed now "
                                f"arrive from {lead_week} on", data, "line", "week", "units"))
        rows.append((r["sku"], r["supply_center"], why, float(ev.costs["lost_sales_cost"][p]),
                     float(ev.costs["target_shortfall_cost"][p]), float(proj.unmet[p].sum()),
                     lead_week))
    frame = pd.DataFrame(rows, columns=CHARTS.column_names)
    return CHARTS.sheet(frame, charts)


def summarise(inst: Instance, comps: list[Component], results: list[ComponentResult],
              ev: Evaluation, split_s: float) -> dict:
    """Out Summary items: totals, then one block per supply center and per component.

    ``status_detail`` is the run's status (popped by the caller).
    """
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
    gap = highs.relative_gap(model_obj, bound)
    plan_gap = highs.relative_gap(ev.total, bound)
    size = {k: sum(r.size.get(k, 0) for r in results)
            for k in ("rows", "columns", "nonzeros", "integers")}
    relaxed = inst.settings.relax_order_quantities
    s: dict = {
        "status_detail": status,
        "objective": round(ev.total, 4),
        "mip_gap": gap,
        "solve_seconds": round(sum(r.solve_seconds for r in results), 3),
        "build_seconds": round(split_s + sum(r.build_seconds for r in results), 3),
        "start_plan_seconds": round(sum(r.start_seconds for r in results), 3),
        **size,
        "mode": "relaxed order quantities, rounded" if relaxed else "integer order quantities",
        "use_moq": inst.settings.use_moq,
        "start_week": inst.weeks[0],
        "horizon_weeks": inst.n_weeks,
        "model_objective": model_obj,
        "evaluated_cost": ev.total,
        "bound": bound,
        "plan_gap": plan_gap,
        "holding_cost": float(ev.costs["holding_cost"].sum()),
        "lost_sales_cost": float(ev.costs["lost_sales_cost"].sum()),
        "target_shortfall_cost": float(ev.costs["target_shortfall_cost"].sum()),
        "unmet_demand_units": float(ev.projection.unmet.sum()),
        "orders": 0,
        "skus": len(inst.skus),
        "skus_without_decisions": int((~in_comp).sum()),
        "factories": len(inst.factories),
        "components": len(comps),
        "components_using_start_plan": sum(r.used.startswith("start") for r in results),
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
            s[f"{sc}: gap"] = highs.relative_gap(s[f"{sc}: objective"], s[f"{sc}: bound"])
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
        s[f"{r.label}: seconds"] = round(r.build_seconds + r.start_seconds + r.solve_seconds, 3)
        s[f"{r.label}: time_budget"] = round(r.time_budget, 1)
    s["orders"] = int(sum((r.quantity > 0).sum() for r in results))
    s["service_level"] = service_level(inst, ev)
    s["time_limit_s"] = inst.settings.time_limit_s
    s.update(first_screen(inst, comps, results, ev))
    return s


def service_level(inst: Instance, ev: Evaluation) -> float:
    """Share of the forecast demand the plan meets (1 when there is no demand)."""
    demand = float(inst.demand.sum())
    return 1.0 - float(ev.projection.unmet.sum()) / demand if demand > 0 else 1.0


def _before_lead(inst: Instance, ev: Evaluation) -> float:
    """Unmet demand in the weeks before each SKU's lead time (no order can change it)."""
    lead = inst.skus["lead_time_weeks"].to_numpy()
    early = np.arange(inst.n_weeks)[None, :] < lead[:, None]
    return float(ev.projection.unmet[early].sum())


def first_screen(inst: Instance, comps: list[Component], results: list[ComponentResult],
                 ev: Evaluation) -> dict:
    """The planner's rows of Out Summary: cost and its parts, service, this week's orders."""
    now = [(r.quantity > 0) & (c.order_week == 0) for c, r in zip(comps, results)]
    n_now = int(sum(k.sum() for k in now))
    units_now = float(sum(r.quantity[k].sum() for r, k in zip(results, now)))
    week = inst.weeks[0]
    costs = ev.costs
    screen = [
        ("total cost", ev.total, MONEY_FORMAT),
        ("  holding cost", float(costs["holding_cost"].sum()), MONEY_FORMAT),
        ("  lost-sales cost", float(costs["lost_sales_cost"].sum()), MONEY_FORMAT),
        ("  target-shortfall cost", float(costs["target_shortfall_cost"].sum()), MONEY_FORMAT),
        ("service level (share of demand met)", service_level(inst, ev), PERCENT_FORMAT),
        ("lost units (demand not met)", float(ev.projection.unmet.sum()), INTEGER_FORMAT),
        # Weeks before the lead time are set by stock and open POs, not by this plan.
        ("  of which before orders placed now can arrive", _before_lead(inst, ev),
         INTEGER_FORMAT),
        ("units below target stock (unit-weeks)", float(ev.projection.shortfall.sum()),
         INTEGER_FORMAT),
        ("orders to place this week", f"{n_now} orders, {units_now:,.0f} units "
         f"(order_week = {week})", None),
    ]
    todo = (f"Place the orders in Out Orders with order_week = {week}" if n_now else
            f"No order to place in {week}; check Out Warnings, then solve again next week")
    return {SCREEN: screen, WHAT_TO_DO: todo}
