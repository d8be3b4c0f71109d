"""Delivery allocation: which order line gets which units, from where, on which day.

Stages (docs/delivery_allocation.md): ``schema`` (sheets, settings, Out sheets) →
``data`` (validated instance) → ``model`` (the min-cost-flow LP of one piece, a group
of SKUs) → ``solve`` (pieces, parallel solves, tie-break, named sources) → ``start``
(first come, first served: the hand plan and the baseline) → ``report`` (Out sheets,
summary) and ``why`` (Out Why: the cause of each late line). ``spec`` is the report's
literal LP in PuLP, the executable specification the tests hold the compact model to;
``examples`` generates the bundled workbooks.
"""

from __future__ import annotations

from ..api import ModelRun
from ..progress import NULL, Progress
from ..tables import Problems
from . import report, solve, start, why
from .data import Instance, load
from .schema import BASELINE, ORDER_STATUS, SCHEMA

__all__ = ["SCHEMA", "Instance", "load", "run"]


def run(instance: Instance, progress: Progress = NULL) -> ModelRun:
    """Solve, trace every unit to its source, compare with FCFS, and report.

    Parameters
    ----------
    instance : Instance
        The validated workbook (:func:`load`).
    progress : Progress
        Where status lines and the piece counter go.

    Returns
    -------
    ModelRun
        Status, ``Out Summary`` items and the result sheets (none when the solve was
        stopped before an optimal plan).
    """
    problems = Problems()
    n_lines, n_skus = len(instance.lines), instance.lines["sku"].nunique()
    progress.status(f"Delivery allocation: {n_lines} order lines, {n_skus} SKUs…")
    plan = solve.solve(instance, progress)
    # An LP stopped early has no usable plan: say so rather than write a partial one.
    has_plan = plan.status == "optimal"
    if not has_plan:
        for message in plan.messages:
            problems.warning("", "", f"Solver: {message}")
    allocations = solve.attribute_sources(instance, plan.deliveries)
    progress.status("First come, first served baseline…")
    fcfs = start.first_come_first_served(instance)

    progress.status("Writing the report…")
    opt_status = report.line_status(instance, allocations)
    base_status = report.line_status(instance, fcfs)
    summary = report.summary(instance, plan, report.totals(opt_status),
                             report.totals(base_status))
    why_sheet, shortfall = why.explain(instance, plan.deliveries, opt_status)
    if shortfall:
        summary["largest_shortfall"] = shortfall
    sheets = [
        report.allocations_sheet(instance, allocations),
        report.table_sheet(ORDER_STATUS, opt_status),
        why_sheet,
        report.table_sheet(BASELINE, base_status),
        report.charts_sheet(instance, allocations, fcfs, opt_status, base_status),
    ]
    return ModelRun(status=plan.status, summary=summary, sheets=sheets if has_plan else [],
                    has_plan=has_plan, problems=problems)
