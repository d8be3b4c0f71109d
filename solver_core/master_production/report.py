"""Out tables and inventory-curve charts of an MPS plan (CONTRACT.md §2).

Column order follows CONTRACT.md; ``supply_center`` is added at the end of the
projection, capacity and warning tables because a SKU code or factory may exist in
more than one supply center.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..outputs import ChartSpec, OutSheet

MAX_CHARTS = 6
QTY = "#,##0"
QTY2 = "#,##0.##"


def sheets(inst, plan: pd.DataFrame, ev, results) -> list[OutSheet]:
    return [orders_sheet(inst, plan), projection_sheet(inst, ev), capacity_sheet(inst, ev),
            warnings_sheet(inst, plan, ev), charts_sheet(inst, ev)]


def orders_sheet(inst, plan: pd.DataFrame) -> OutSheet:
    skus, facs, weeks = inst.skus, inst.factories, np.array(inst.weeks, dtype=object)
    frame = pd.DataFrame({
        "supply_center": facs["supply_center"].to_numpy()[plan["f"].to_numpy()],
        "factory": facs["factory"].to_numpy()[plan["f"].to_numpy()],
        "sku": skus["sku"].to_numpy()[plan["p"].to_numpy()],
        "order_week": weeks[plan["t_order"].to_numpy()],
        "arrival_week": weeks[plan["t_arrival"].to_numpy()],
        "quantity": plan["quantity"].round().astype(int).to_numpy(),
        "_t": plan["t_order"].to_numpy(),
    })
    frame = frame.sort_values(["supply_center", "_t", "factory", "sku"]).drop(columns="_t")
    return OutSheet("Out Orders", frame.reset_index(drop=True), formats={"quantity": QTY})


def projection_sheet(inst, ev) -> OutSheet:
    P, T = inst.demand.shape
    proj = ev.projection
    flat = lambda a: np.round(np.asarray(a, float).ravel(), 6)
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
    # No number formats: at Anker scale (88k rows) they cost 5 of the 16 s spent writing.
    return OutSheet("Out Projection", frame)


def capacity_sheet(inst, ev) -> OutSheet:
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
    return OutSheet("Out Capacity", frame, formats={"capacity": QTY2, "used_by_open_pos": QTY2,
                                                    "used_by_plan": QTY2, "utilization": "0.0%"})


def _span(weeks, idx) -> str:
    return weeks[idx[0]] if len(idx) == 1 else f"{weeks[idx[0]]}–{weeks[idx[-1]]}"


def warnings_sheet(inst, plan, ev) -> OutSheet:
    """One row per SKU and kind: stock-outs, shortfalls, and SKUs dropped or limited."""
    skus, weeks, T = inst.skus, inst.weeks, inst.n_weeks
    proj = ev.projection
    rows = []
    for p, t, kind, msg in inst.notes:
        rows.append((p, weeks[t] if t is not None and 0 <= t < T else "", kind, msg))
    lead = skus["lead"].to_numpy()
    # Factory-weeks that are full (for the "why" of a stock-out).
    full = np.zeros_like(inst.capacity, bool)
    nz = inst.capacity > 0
    full[nz] = (inst.used_by_open_pos[nz] + ev.capacity_used[nz]) >= inst.capacity[nz] * (1 - 1e-6)
    facs_of = inst.links.groupby("p")["f"].apply(list).to_dict() if len(inst.links) else {}
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
            fs = facs_of.get(p, [])
            if not fs:
                why = "no factory can make it"
            elif full[fs].any():
                why = "its factories are at capacity in some weeks"
            else:
                why = "ordering costs more than the lost sales (MOQ, holding or stop week)"
            rows.append((p, weeks[after[0]], "stockout",
                         (f"Unmet demand of {u[after].sum():,.0f} units in {len(after)} "
                          f"week(s) ({_span(weeks, after)}), lost-sales cost "
                          f"{costs['lost_sales'][p]:,.2f}: {why}.")))
    for p in np.flatnonzero(costs["target_shortfall"] > 1e-6):
        s = proj.shortfall[p]
        wk = np.flatnonzero((s > 1e-6) & (np.arange(T) >= lead[p]))
        rows.append((p, weeks[wk[0]], "target_shortfall",
                     (f"Below target stock by {s[wk].sum():,.0f} unit-weeks in {len(wk)} "
                      f"week(s) ({_span(weeks, wk)}), cost "
                      f"{costs['target_shortfall'][p]:,.2f}.")))
    frame = pd.DataFrame({
        "sku": [skus["sku"].iat[r[0]] for r in rows],
        "week": [r[1] for r in rows],
        "kind": [r[2] for r in rows],
        "message": [r[3] for r in rows],
        "supply_center": [skus["supply_center"].iat[r[0]] for r in rows],
    }, columns=["sku", "week", "kind", "message", "supply_center"])
    return OutSheet("Out Warnings", frame)


def chart_choice(inst, ev) -> list[tuple[int, str]]:
    """SKUs a planner should look at first: named ones, then largest lost sales/shortfall."""
    chosen = [(p, "named in chart_skus") for p in inst.chart_skus][:MAX_CHARTS]
    pain = ev.costs["lost_sales"] + ev.costs["target_shortfall"]
    for p in np.argsort(-pain, kind="stable"):
        if len(chosen) >= MAX_CHARTS or pain[p] <= 1e-9:
            break
        if p not in {c for c, _ in chosen}:
            why = ("largest lost sales" if ev.costs["lost_sales"][p] >= ev.costs["target_shortfall"][p]
                   else "largest target shortfall")
            chosen.append((int(p), why))
    if not chosen and len(inst.skus):
        chosen.append((int(np.argmax(inst.demand.sum(axis=1))), "largest demand"))
    return chosen


def charts_sheet(inst, ev) -> OutSheet:
    """Inventory curves (seed §2.3 figures): available, target, demand, planned arrivals,
    and a spike at the first week an order placed now can arrive."""
    skus, proj = inst.skus, ev.projection
    rows, charts = [], []
    for p, why in chart_choice(inst, ev):
        r = skus.iloc[p]
        lead = int(r["lead"])
        top = float(max(proj.available[p].max(), inst.target[p].max(), inst.demand[p].max(), 1))
        spike = [top if t == lead else 0.0 for t in range(inst.n_weeks)]
        data = pd.DataFrame({
            "week": inst.weeks,
            "available": np.round(proj.available[p], 2),
            "target": np.round(inst.target[p], 2),
            "demand": np.round(inst.demand[p], 2),
            "planned_arrivals": np.round(ev.arrivals[p], 2),
            "lead_time_week": spike,
        })
        lead_week = inst.weeks[lead] if lead < inst.n_weeks else "after the horizon"
        charts.append(ChartSpec(f"{r['sku']} ({r['supply_center']}): orders placed now arrive "
                                f"{lead_week}", data, "line", "week", "units"))
        rows.append((r["sku"], r["supply_center"], why, float(ev.costs["lost_sales"][p]),
                     float(ev.costs["target_shortfall"][p]), float(proj.unmet[p].sum()),
                     lead_week))
    frame = pd.DataFrame(rows, columns=["sku", "supply_center", "why", "lost_sales_cost",
                                        "target_shortfall_cost", "unmet_demand",
                                        "first_arrival_week"])
    return OutSheet("Out Charts", frame, formats={"lost_sales_cost": "#,##0.00",
                                                  "target_shortfall_cost": "#,##0.00",
                                                  "unmet_demand": QTY}, charts=charts)
