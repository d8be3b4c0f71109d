"""Allocations → the ``Out …`` sheets declared in the schema, the charts and the summary.

Both the optimised plan and the first-come-first-served baseline arrive here in the
same form (one row per line, day, source and quantity), so their order status,
on-time rate and penalty are computed by the same code (docs/delivery_allocation.md,
"Out sheets").
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .. import highs
from ..outputs import (
    MONEY_FORMAT,
    PERCENT_FORMAT,
    SCREEN,
    WHAT_TO_DO,
    ChartSpec,
    OutSheet,
    OutTable,
)
from .data import Instance
from .model import ROUND_TOL, delay_cost
from .schema import ALLOCATIONS, CHARTS
from .solve import Plan

#: SKUs charted in ``Out Charts`` (those where the optimiser gains most over FCFS).
CHARTED_SKUS = 6


def unit_costs(instance: Instance, line: np.ndarray, day) -> np.ndarray:
    """c_o(t) for each (line, day) pair."""
    lines = instance.lines
    return delay_cost(day, lines["rpd_day"].to_numpy()[line], lines["epd_day"].to_numpy()[line],
                      lines["rpd_rate"].to_numpy()[line], lines["epd_rate"].to_numpy()[line],
                      instance.settings.penalty)


def line_status(instance: Instance, allocations: pd.DataFrame) -> pd.DataFrame:
    """One row per order line: delivered, completion, lateness, on time, penalty.

    A line is on time when all its units are delivered by its EPD. For a line that is
    not complete, days late are counted to the day after the horizon (at least that
    late) and its missing units cost c_o(H + 1).
    """
    lines, H = instance.lines, instance.horizon_days
    n = len(lines)
    line = allocations["line"].to_numpy(np.int64)
    day = allocations["day"].to_numpy(np.int64)
    qty = allocations["quantity"].to_numpy(float)
    delivered = np.bincount(line, weights=qty, minlength=n).astype(float)
    last_day = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_day, line, day)
    quantity = lines["quantity"].to_numpy(float)
    complete = delivered >= quantity - ROUND_TOL * np.maximum(1.0, quantity)
    measured = np.where(complete, last_day, H + 1)
    rpd_day, epd_day = lines["rpd_day"].to_numpy(), lines["epd_day"].to_numpy()
    on_time = complete & (measured <= epd_day)
    missing = np.maximum(quantity - delivered, 0.0)
    missing[complete] = 0.0
    penalty = np.bincount(line, weights=qty * unit_costs(instance, line, day),
                          minlength=n).astype(float)
    penalty += missing * unit_costs(instance, np.arange(n), H + 1)
    status = np.where(on_time, "on time",
                      np.where(complete, "late",
                               np.where(delivered > ROUND_TOL, "partial", "not delivered")))
    completion = [instance.date_of(d) if c else None for d, c in zip(last_day, complete)]
    return pd.DataFrame({
        "order": lines["order"].map(excel_key), "line": lines["line"].map(excel_key),
        "sku": lines["sku"], "region": lines["region"], "quantity": quantity,
        "delivered": delivered, "completion_date": completion,
        "rpd": lines["rpd"], "epd": lines["epd"],
        "days_late_rpd": np.maximum(measured - rpd_day, 0),
        "days_late_epd": np.maximum(measured - epd_day, 0),
        "on_time": on_time, "status": status, "penalty": penalty,
    })


def totals(status: pd.DataFrame) -> dict[str, float]:
    """order_lines, on_time_rate, late_lines and penalty of one allocation."""
    n = len(status)
    on_time = int(status["on_time"].sum())
    return {"order_lines": n, "on_time_rate": round(on_time / n, 6) if n else 1.0,
            "late_lines": n - on_time, "penalty": float(status["penalty"].sum()),
            "units_delivered": float(status["delivered"].sum())}


def summary(instance: Instance, plan: Plan, opt: dict[str, float],
            base: dict[str, float]) -> dict[str, Any]:
    """``Out Summary`` items of a run: the solve, the plan's totals and the baseline's."""
    return {
        "objective": opt["penalty"],
        "mip_gap": mip_gap(instance, plan, opt),
        "service_level": opt["on_time_rate"],
        "objective_setting": instance.settings.objective,
        "bound": penalty_bound(plan, opt),
        "on_time_lines_bound": plan.on_time_bound if instance.settings.objective == "on_time"
        else None,
        "solve_seconds": round(plan.solve_seconds, 4),
        "build_seconds": round(plan.build_seconds, 4),
        **plan.size,
        "order_lines": opt["order_lines"],
        "on_time_rate": opt["on_time_rate"],
        "late_lines": opt["late_lines"],
        "penalty": opt["penalty"],
        "baseline_on_time_rate": base["on_time_rate"],
        "baseline_late_lines": base["late_lines"],
        "baseline_penalty": base["penalty"],
        "penalty_saving": base["penalty"] - opt["penalty"],
        "units_ordered": float(instance.lines["quantity"].sum()),
        "units_delivered": opt["units_delivered"],
        "baseline_units_delivered": base["units_delivered"],
        "penalty_mode": instance.settings.penalty,
        "plan_date": instance.plan_date.isoformat(),
        "horizon_end": instance.horizon_end.isoformat(),
        "skus": instance.lines["sku"].nunique(),
        "sku_groups": plan.pieces,
        "workers": plan.workers,
        "wall_seconds": round(plan.wall_seconds, 4),
        "time_limit_s": instance.settings.time_limit_s,
        **first_screen(instance, opt, base),
    }


def penalty_bound(plan: Plan, opt: dict[str, float]) -> float:
    """Proven lower bound on the penalty of plans as good as this one (its own penalty
    when proven; FCFS-served lines count with their penalty)."""
    if plan.status == highs.OPTIMAL:
        return opt["penalty"]
    return min(opt["penalty"], plan.bound)


def mip_gap(instance: Instance, plan: Plan, opt: dict[str, float]) -> float:
    """0 for a proven plan; else the gap of what is unproven.

    ``penalty``: the penalty against its bound. ``on_time``: the on-time count
    against its bound while that count is unproven, else the penalty's gap.
    """
    if plan.status == highs.OPTIMAL:
        return 0.0
    lines = opt["order_lines"]
    if instance.settings.objective == "on_time" and lines:
        on_time = lines - opt["late_lines"]
        count_bound = plan.on_time_bound + len(plan.fallback_lines)
        if count_bound > on_time:
            return round((count_bound - on_time) / max(count_bound, 1), 6)
    gap = highs.relative_gap(opt["penalty"], penalty_bound(plan, opt))
    return round(gap, 6) if gap is not None else 1.0


def first_screen(instance: Instance, opt: dict[str, float], base: dict[str, float]) -> dict:
    """The planner's rows of Out Summary: lateness of the plan and of first come, first
    served, and what to ship."""
    fcfs = "first come, first served"
    screen = [
        ("penalty (weighted days late)", opt["penalty"], MONEY_FORMAT),
        ("on-time rate (lines complete by their EPD)", opt["on_time_rate"], PERCENT_FORMAT),
        ("late lines", f"{opt['late_lines']:,} of {opt['order_lines']:,}", None),
        (f"{fcfs}: penalty", base["penalty"], MONEY_FORMAT),
        (f"{fcfs}: on-time rate", base["on_time_rate"], PERCENT_FORMAT),
        (f"{fcfs}: late lines", f"{base['late_lines']:,} of {base['order_lines']:,}", None),
        ("penalty saved against first come, first served", base["penalty"] - opt["penalty"],
         MONEY_FORMAT),
    ]
    todo = (f"Ship per Out Allocations (plan date {instance.plan_date.isoformat()}); "
            "Out OrderStatus says when each line completes")
    return {SCREEN: screen, WHAT_TO_DO: todo}


def allocations_sheet(instance: Instance, allocations: pd.DataFrame) -> OutSheet:
    """``Out Allocations``: what to ship to which line, from which source, on which day."""
    lines, sources = instance.lines, instance.sources
    a = allocations.sort_values(["line", "day", "source"], kind="stable")
    li, si = a["line"].to_numpy(np.int64), a["source"].to_numpy(np.int64)
    src = sources.loc[si]
    frame = pd.DataFrame({
        "order": lines["order"].to_numpy()[li], "line": lines["line"].to_numpy()[li],
        "sku": lines["sku"].to_numpy()[li], "region": lines["region"].to_numpy()[li],
        "source_type": src["source_type"].to_numpy(), "source": src["source"].to_numpy(),
        "date": [instance.date_of(d) for d in a["day"]],
        "quantity": a["quantity"].to_numpy(float),
        "supply_center": lines["supply_center"].to_numpy()[li],
        "fulfillment_order": lines["fulfillment_order"].to_numpy()[li],
        "available_from": [instance.date_of(d) for d in src["day"]],
    })
    for key in ("order", "line", "fulfillment_order"):
        frame[key] = frame[key].map(excel_key)
    return table_sheet(ALLOCATIONS, frame)


def table_sheet(table: OutTable, frame: pd.DataFrame,
                charts: list[ChartSpec] | None = None) -> OutSheet:
    """``table.sheet(frame)``, sorted by ``table.sort_by`` with numbers before text.

    Identifiers such as order and line are written as numbers when they are whole
    numbers (:func:`excel_key`), so one column may hold both 7 and "PPDE0001", which a
    plain sort cannot compare.
    """
    if table.sort_by and len(frame):
        codes = [_rank(frame[c].to_numpy(object)) for c in reversed(table.sort_by)]
        frame = frame.iloc[np.lexsort(codes)]
    return dataclasses.replace(table, sort_by=()).sheet(frame, charts)


def _rank(values: np.ndarray) -> np.ndarray:
    """Position of each value in sorted order: numbers (and dates) first, then text."""
    def key(v):
        return (isinstance(v, str), v if isinstance(v, str) else "",
                0 if isinstance(v, str) else v)
    distinct = sorted(set(values), key=key)
    position = {v: i for i, v in enumerate(distinct)}
    return np.array([position[v] for v in values], dtype=np.int64)


def charts_sheet(instance: Instance, optimised: pd.DataFrame, baseline: pd.DataFrame,
                 opt_status: pd.DataFrame, base_status: pd.DataFrame) -> OutSheet:
    """``Out Charts``: optimised vs FCFS per SKU, and a chart for the SKUs that differ most.

    Each chart shows, week by week, cumulative supply (inventory + POs arrived), units
    due by RPD and by EPD, and cumulative deliveries of both allocations side by side
    (docs/delivery_allocation.md, "Out sheets").
    """
    lines = instance.lines
    by_sku = pd.DataFrame({
        "sku": lines["sku"], "lines": 1, "units": lines["quantity"],
        "on_time_lines": opt_status["on_time"].astype(int),
        "baseline_on_time_lines": base_status["on_time"].astype(int),
        "penalty": opt_status["penalty"], "baseline_penalty": base_status["penalty"],
    }).groupby("sku", sort=True).sum()
    by_sku["saving"] = by_sku["baseline_penalty"] - by_sku["penalty"]
    by_sku = by_sku.sort_values(["saving", "units"], ascending=False, kind="stable")
    frame = by_sku.reset_index()
    # A SKU the optimiser does not improve has both delivery curves alike: not charted.
    chosen = frame.loc[frame["saving"] > ROUND_TOL, "sku"].head(CHARTED_SKUS).tolist()
    charts = [_sku_chart(instance, sku, optimised, baseline) for sku in chosen]
    return table_sheet(CHARTS, frame, charts)


def _sku_chart(instance: Instance, sku: str, optimised: pd.DataFrame,
               baseline: pd.DataFrame) -> ChartSpec:
    lines, H = instance.lines, instance.horizon_days
    mine = np.flatnonzero((lines["sku"] == sku).to_numpy())
    src = instance.sources
    centers = set(lines["supply_center"].to_numpy()[mine])
    supply = src[(src["sku"] == sku) & src["supply_center"].isin(centers) & (src["day"] <= H)]
    opt = optimised[optimised["line"].isin(mine)]
    base = baseline[baseline["line"].isin(mine)]
    last = max([0, *supply["day"], *lines["epd_day"].to_numpy()[mine], *opt["day"],
                *base["day"]])
    weeks = np.arange(0, min(last, H) + 7, 7)

    def cumulative(days, weights) -> np.ndarray:
        days, weights = np.asarray(days, np.int64), np.asarray(weights, float)
        return np.array([weights[days <= w].sum() for w in weeks])

    rpd = np.maximum(lines["rpd_day"].to_numpy()[mine], 0)
    epd = np.maximum(lines["epd_day"].to_numpy()[mine], 0)
    qty = lines["quantity"].to_numpy()[mine]
    data = pd.DataFrame({
        # Labels as text: a date cell would show its time of day on the chart's axis.
        "week": [instance.date_of(w).isoformat() for w in weeks],
        "supply arrived": cumulative(supply["day"], supply["quantity"]),
        "due by RPD": cumulative(rpd, qty),
        "due by EPD": cumulative(epd, qty),
        "delivered (optimised)": cumulative(opt["day"], opt["quantity"]),
        "delivered (first come, first served)": cumulative(base["day"], base["quantity"]),
    })
    return ChartSpec(title=f"{sku}: optimised vs first come, first served (dashed)",
                     data=data, kind="line", x_title="week from", y_title="cumulative units",
                     dashed=("delivered (first come, first served)",))


def excel_key(value):
    """An identifier as Excel would show it: '1' → 1, 'PPDE0001' and '007' unchanged."""
    if isinstance(value, str) and value.isdigit() and str(int(value)) == value:
        return int(value)
    return value

