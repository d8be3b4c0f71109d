"""Delivery allocation (Anker DA, seed 000 §3; DESIGN.md §3.3; CONTRACT.md §3).

Stages: ``schema`` (sheets) → ``data`` (validated instance) → ``model`` (compact
min-cost flow per supply center and SKU, solved with HiGHS; named sources) →
``baseline`` (first come, first served) → ``report`` (Out sheets). ``seed_lp`` is the
seed's literal LP in PuLP, the executable specification the tests compare against;
``examples`` generates the bundled example workbooks.
"""

from __future__ import annotations

from ..api import ModelRun
from ..progress import NULL, Progress
from ..tables import Problems
from . import baseline, model, report
from .data import Instance, load
from .schema import SCHEMA

__all__ = ["SCHEMA", "Instance", "load", "run"]


def run(instance: Instance, progress: Progress = NULL) -> ModelRun:
    """Solve, trace every unit to its source, compare with FCFS, and report."""
    problems = Problems()
    n_lines, n_skus = len(instance.lines), instance.lines["sku"].nunique()
    progress.status(f"Delivery allocation: {n_lines} order lines, {n_skus} SKUs…")
    plan = model.solve(instance, progress)
    # An LP stopped early has no usable plan: say so rather than write a partial one.
    has_plan = plan.status == "optimal"
    if not has_plan:
        for message in plan.messages:
            problems.warning("", "", f"Solver: {message}")
    allocations = model.attribute_sources(instance, plan.deliveries)
    progress.status("First come, first served baseline…")
    fcfs = baseline.first_come_first_served(instance)

    progress.status("Writing the report…")
    opt_status = report.line_status(instance, allocations)
    base_status = report.line_status(instance, fcfs)
    opt, base = report.totals(opt_status), report.totals(base_status)
    summary = {
        "objective": opt["penalty"],
        "mip_gap": 0.0,
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
        "penalty_mode": instance.penalty,
        "plan_date": instance.plan_date.isoformat(),
        "horizon_end": instance.horizon_end.isoformat(),
        "skus": n_skus,
        "sku_groups": plan.pieces,
        "workers": plan.workers,
        "wall_seconds": round(plan.wall_seconds, 4),
    }
    sheets = [
        report.allocations_sheet(instance, allocations),
        report.status_sheet("Out OrderStatus", opt_status),
        report.status_sheet("Out Baseline", base_status),
        report.charts_sheet(instance, allocations, fcfs, opt_status, base_status),
    ]
    return ModelRun(status=plan.status, summary=summary, sheets=sheets if has_plan else [],
                    has_plan=has_plan, problems=problems)
