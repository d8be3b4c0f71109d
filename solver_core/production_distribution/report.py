"""Solution → the result sheets declared in schema.py, the saturation chart (thesis
Figure 4) and the summary (docs/production_distribution.md, "Result sheets").

Costs are recomputed from the plan's columns by component, so ``Out Costs`` says what
the plan in ``Out Flows``/``Out Trucks``/``Out Inventory`` costs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..outputs import (
    BOUND_NOTE,
    INTEGER_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    QUANTITY_FORMAT,
    SCREEN,
    WHAT_TO_DO,
    ChartSpec,
    OutSheet,
    gap_percent,
)
from .data import Instance
from .model import Built
from .schema import (
    OUT_COSTS,
    OUT_FLOWS,
    OUT_INVENTORY,
    OUT_SATURATION,
    OUT_SHORTAGES,
    OUT_TRUCKS,
    ROUTE_TYPES,
)
from .solve import Solution


def tables(inst: Instance, built: Built, sol: Solution) -> dict[str, pd.DataFrame]:
    """The plan as tables: flows, trucks, inventory, shortages, saturation, costs."""
    x = sol.x
    day = inst.day_label
    loc = np.array(built.locations, dtype=object)
    prod = np.array(built.products, dtype=object)
    cat = np.array(built.categories, dtype=object)
    T = built.n_days

    fv = x[built.flow_cols]
    nz = fv > 1e-9
    flows = pd.DataFrame({
        "day": [day(t + 1) for t in built.flow_day[nz]],
        "from": loc[built.lane_from[built.flow_lane[nz]]],
        "to": loc[built.lane_to[built.flow_lane[nz]]],
        "product": prod[built.flow_product[nz]],
        "category": cat[built.product_cat[built.flow_product[nz]]],
        "pallets": fv[nz],
    })

    yv = x[built.truck_cols]
    loads = np.zeros(len(built.truck_cols))
    pallets = np.zeros(len(built.truck_cols))
    ti = built.flow_truck
    if len(ti):
        np.add.at(loads, ti, fv / built.truck_capacity[built.product_cat[built.flow_product]])
        np.add.at(pallets, ti, fv)
    used = yv > 0.5
    trucks = pd.DataFrame({
        "day": [day(t + 1) for t in built.truck_day[used]],
        "from": loc[built.lane_from[built.truck_lane[used]]],
        "to": loc[built.lane_to[built.truck_lane[used]]],
        "trucks": yv[used].round().astype(int),
        "pallets": pallets[used],
        "fill_rate": loads[used] / yv[used],
    })

    sv = x[built.stock_cols].reshape(len(built.pair_product), T)
    pi, ti2 = np.nonzero(sv > 1e-9)
    inventory = pd.DataFrame({
        "day": [day(t + 1) for t in ti2],
        "location": loc[built.pair_loc[pi]],
        "product": prod[built.pair_product[pi]],
        "pallets": sv[pi, ti2],
    })

    lv = x[built.short_cols]
    nzl = lv > 1e-9
    shortages = pd.DataFrame({
        "day": [day(t + 1) for t in built.short_day[nzl]],
        "plant": loc[built.short_plant[nzl]],
        "product": prod[built.short_product[nzl]],
        "pallets": lv[nzl],
    })

    # Saturation: end-of-day pallets per location and category against capacity.
    n_c = len(built.categories)
    per = np.zeros((len(built.locations), n_c, T))
    np.add.at(per, (built.pair_loc, built.product_cat[built.pair_product]), sv)
    rows = []
    for loc_i in range(len(built.locations)):
        if built.loc_type[loc_i] == "supplier":
            continue
        for c in range(n_c):
            if built.capacity[loc_i, c] <= 0 and per[loc_i, c].max() <= 0:
                continue
            for t in range(T):
                capv = built.capacity[loc_i, c]
                rows.append((day(t + 1), loc[loc_i], cat[c], per[loc_i, c, t], capv,
                             per[loc_i, c, t] / capv if capv > 0 else None))
    saturation = pd.DataFrame(rows, columns=["day", "location", "category", "pallets",
                                             "capacity", "saturation"])
    costs = cost_breakdown(built, x)
    return {"flows": flows, "trucks": trucks, "inventory": inventory, "shortages": shortages,
            "saturation": saturation, "costs": costs}


def cost_breakdown(built: Built, x: np.ndarray) -> dict[str, float]:
    """The thesis's Table 15 split: trucking, pallet movement, storage, shortage."""
    lp = built.lp

    def part(cols: np.ndarray) -> float:
        return float(lp.cost[cols] @ x[cols])

    c = {"trucking": part(built.truck_cols), "pallet_movement": part(built.flow_cols),
         "storage": part(built.stock_cols), "shortage": part(built.short_cols)}
    c["total"] = sum(c.values())
    return c


def route_summary(built: Built, tabs: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Trucks by route type (as in the thesis's Tables 16, 19 and 23)."""
    typ = dict(zip(built.locations, built.loc_type))
    out = {f"trucks_{r}": 0 for r in ROUTE_TYPES.values()}
    tr = tabs["trucks"]
    for a, b, n in zip(tr["from"], tr["to"], tr["trucks"]):
        out[f"trucks_{ROUTE_TYPES[(typ[a], typ[b])]}"] += int(n)
    return out


def saturation_averages(built: Built, tabs) -> dict[str, float]:
    """Average end-of-day saturation of the warehouses and of the plant."""
    sat = tabs["saturation"]
    typ = dict(zip(built.locations, built.loc_type))
    out = {}
    for kind in ("warehouse", "plant"):
        part = sat[sat["location"].map(typ) == kind]
        cap = part["capacity"].sum()
        out[f"avg_saturation_{kind}s" if kind == "warehouse" else "avg_saturation_plant"] = (
            float(part["pallets"].sum() / cap) if cap > 0 else None)
    return out


def saturation_chart(tabs) -> ChartSpec:
    """Average saturation per location over the days (all categories together)."""
    sat = tabs["saturation"]
    g = sat.groupby(["day", "location"], sort=False)[["pallets", "capacity"]].sum()
    g = (g["pallets"] / g["capacity"].where(g["capacity"] > 0)).unstack("location")
    g = g.reset_index()
    return ChartSpec("Storage saturation by location", g, kind="line", x_title="day",
                     y_title="saturation (end of day)", y_format="0%")


def sheets(inst: Instance, built: Built, sol: Solution, tabs) -> list[OutSheet]:
    """The result sheets, built through their declarations in schema.py."""
    costs = tabs["costs"]
    cost_frame = pd.DataFrame({"component": list(costs), "cost": list(costs.values())})
    return [
        OUT_FLOWS.sheet(tabs["flows"]),
        OUT_TRUCKS.sheet(tabs["trucks"]),
        OUT_INVENTORY.sheet(tabs["inventory"]),
        OUT_SHORTAGES.sheet(tabs["shortages"]),
        OUT_COSTS.sheet(cost_frame),
        OUT_SATURATION.sheet(tabs["saturation"], charts=[saturation_chart(tabs)]),
    ]


def summary(inst: Instance, built: Built, sol: Solution, tabs) -> dict:
    """The ``Out Summary`` items of a solve with a plan."""
    size = built.lp.size()
    costs = tabs["costs"]
    out = {
        "objective": sol.objective,
        "mip_gap": sol.mip_gap,
        "bound": sol.bound,
        "service_level": service_level(built, tabs),
        "solve_seconds": round(sol.solve_seconds, 3),
        "build_seconds": round(sol.build_seconds, 3),
        **size,
        "total_cost": costs["total"],
        "cost_without_shortage": costs["total"] - costs["shortage"],
        "shortage_pallets": float(tabs["shortages"]["pallets"].sum()),
        "trucks": int(tabs["trucks"]["trucks"].sum()),
        "pallets_moved": float(tabs["flows"]["pallets"].sum()),
        "days": built.n_days,
        "products": len(built.products),
        "integer_pallets": bool(inst.settings.integer_pallets),
        "time_limit_s": inst.settings.time_limit_s,
        "mip_gap_target": inst.settings.mip_gap,
    }
    if sol.bound_note:
        out[BOUND_NOTE] = sol.bound_note
    out.update(first_screen(inst, built, tabs))
    for st in sol.stages:
        out[f"stage: {st['stage']}"] = (f"{st['status']}, objective {_fmt(st['objective'])}, "
                                        f"{_stage_bound(st)}, {st['seconds']} s")
    return out


def _stage_bound(stage: dict) -> str:
    """'bound 328,464.23'; a restricted stage's bound said to be its own only."""
    own = stage.get("restricted_bound")
    if own is not None:
        return f"bound of this stage's restricted model {_fmt(own)} (not a bound on the plan)"
    return f"bound {_fmt(stage.get('bound'))}"


def service_level(built: Built, tabs) -> float:
    """Share of the demand pallets (Demand and the BOM's, after demand_factor) served on
    their day; 1 when there is no demand."""
    demand = float(built.demand.sum())
    short = float(tabs["shortages"]["pallets"].sum())
    return max(0.0, 1.0 - short / demand) if demand > 0 else 1.0


def first_screen(inst: Instance, built: Built, tabs) -> dict:
    """The planner's rows of Out Summary: cost and its parts, service, tomorrow's trucks."""
    costs = tabs["costs"]
    trucks = tabs["trucks"]
    first = inst.day_label(1)
    booked = int(trucks.loc[trucks["day"] == first, "trucks"].sum())
    first = f"day {first}" if isinstance(first, int) else str(first)
    screen = [
        ("total cost", costs["total"], MONEY_FORMAT),
        ("  trucking", costs["trucking"], MONEY_FORMAT),
        ("  pallet movement", costs["pallet_movement"], MONEY_FORMAT),
        ("  storage", costs["storage"], MONEY_FORMAT),
        ("  shortage", costs["shortage"], MONEY_FORMAT),
        ("service (share of demand pallets served on their day)",
         service_level(built, tabs), PERCENT_FORMAT),
        ("shortage pallets", float(tabs["shortages"]["pallets"].sum()), QUANTITY_FORMAT),
        ("trucks over the plan", int(trucks["trucks"].sum()), INTEGER_FORMAT),
    ]
    todo = (f"Book the trucks in Out Trucks for {first} ({booked} trucks); later days "
            "are the plan ahead" if booked else
            f"No truck to book for {first}; Out Trucks lists the later days")
    return {SCREEN: screen, WHAT_TO_DO: todo}


def status_message(sol: Solution, tabs) -> str:
    """What the status means for this plan: cost, bound, gap and what was proven."""
    cost = f"total cost {tabs['costs']['total']:,.2f}"
    bound = "no bound" if sol.bound is None else f"bound {sol.bound:,.2f}"
    gap = "gap unknown" if sol.mip_gap is None else f"gap {gap_percent(sol.mip_gap)}"
    target = gap_percent(sol.mip_gap_target)
    if sol.status == "optimal":
        return f"optimal: {cost}, within {target} of the proven bound ({bound}, {gap})"
    why = {"stopped": "stopped on request, best plan kept",
           "time_limit": "time limit reached"}.get(sol.status, sol.message or sol.status)
    return f"{sol.status}: {cost}, {bound}, {gap} (target {target} not proven; {why})"


def _fmt(v) -> str:
    return "-" if v is None else f"{v:,.2f}"
