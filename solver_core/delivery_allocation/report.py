"""Allocations → the ``Out …`` sheets of CONTRACT.md §3, and the per-SKU charts.

Both the optimised plan and the first-come-first-served baseline arrive here in the
same form (one row per line, day, source and quantity), so their order status,
on-time rate and penalty are computed by the same code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..outputs import ChartSpec, OutSheet
from .data import Instance
from .model import ROUND_TOL, delay_cost

DATE_FORMAT = "yyyy-mm-dd"
#: SKUs charted in ``Out Charts`` (those where the optimiser gains most over FCFS).
CHARTED_SKUS = 6

STATUS_COLUMNS = ["order", "line", "sku", "region", "quantity", "delivered", "completion_date",
                  "rpd", "epd", "days_late_rpd", "days_late_epd", "on_time",
                  # additions to the contract's columns
                  "status", "penalty"]
ALLOCATION_COLUMNS = ["order", "line", "sku", "region", "source_type", "source", "date",
                      "quantity",
                      # additions to the contract's columns
                      "supply_center", "fulfillment_order", "available_from"]


def unit_costs(instance: Instance, line: np.ndarray, day: np.ndarray) -> np.ndarray:
    """c_o(t) for each (line, day) pair."""
    lines = instance.lines
    return delay_cost(day, lines["rpd_day"].to_numpy()[line], lines["epd_day"].to_numpy()[line],
                      lines["rpd_rate"].to_numpy()[line], lines["epd_rate"].to_numpy()[line],
                      instance.penalty)


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
    penalty += missing * delay_cost(H + 1, rpd_day, epd_day, lines["rpd_rate"].to_numpy(),
                                    lines["epd_rate"].to_numpy(), instance.penalty)
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
    }, columns=STATUS_COLUMNS)


def totals(status: pd.DataFrame) -> dict[str, float]:
    """order_lines, on_time_rate, late_lines and penalty of one allocation."""
    n = len(status)
    on_time = int(status["on_time"].sum())
    return {"order_lines": n, "on_time_rate": round(on_time / n, 6) if n else 1.0,
            "late_lines": n - on_time, "penalty": float(status["penalty"].sum()),
            "units_delivered": float(status["delivered"].sum())}


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
    }, columns=ALLOCATION_COLUMNS)
    for key in ("order", "line", "fulfillment_order"):
        frame[key] = frame[key].map(excel_key)
    return OutSheet("Out Allocations", frame,
                    formats={"date": DATE_FORMAT, "available_from": DATE_FORMAT})


def status_sheet(name: str, status: pd.DataFrame) -> OutSheet:
    return OutSheet(name, status, formats={"completion_date": DATE_FORMAT, "rpd": DATE_FORMAT,
                                           "epd": DATE_FORMAT})


def charts_sheet(instance: Instance, optimised: pd.DataFrame, baseline: pd.DataFrame,
                 opt_status: pd.DataFrame, base_status: pd.DataFrame) -> OutSheet:
    """``Out Charts``: optimised vs FCFS per SKU, and a chart for the SKUs that differ most.

    Each chart shows, week by week, cumulative supply (inventory + POs arrived), units
    due by RPD and by EPD, and cumulative deliveries of both allocations (the seed's
    Figures 7 and 8 side by side).
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
    chosen = frame["sku"].head(CHARTED_SKUS).tolist()
    charts = [_sku_chart(instance, sku, optimised, baseline) for sku in chosen]
    return OutSheet("Out Charts", frame, charts=charts)


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
    return ChartSpec(title=f"{sku}: cumulative supply and deliveries", data=data, kind="line",
                     x_title="week from", y_title="units")


def excel_key(value):
    """An identifier as Excel would show it: '1' → 1, 'PPDE0001' and '007' unchanged."""
    if isinstance(value, str) and value.isdigit() and str(int(value)) == value:
        return int(value)
    return value

