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

import numpy as np
import pandas as pd

from .. import control
from ..api import ModelRun
from ..progress import NULL, Progress
from ..tables import Problems
from . import report, solve, start, why
from .data import Instance, load
from .schema import BASELINE, ORDER_STATUS, SCHEMA

__all__ = ["SCHEMA", "Instance", "load", "run"]


def run(instance: Instance, progress: Progress = NULL,
        stop: control.StopToken | None = None) -> ModelRun:
    """Solve, trace every unit to its source, compare with FCFS, and report.

    Parameters
    ----------
    instance : Instance
        The validated workbook (:func:`load`).
    progress : Progress
        Where status lines and the piece counter go.
    stop : control.StopToken, optional
        Once set, SKUs not solved yet are served first come, first served (a feasible
        plan) and the status is ``stopped``.

    Returns
    -------
    ModelRun
        Status, ``Out Summary`` items and the result sheets.
    """
    problems = Problems()
    n_lines, n_skus = len(instance.lines), instance.lines["sku"].nunique()
    progress.status(f"Delivery allocation: {n_lines} order lines, {n_skus} SKUs…")
    # The baseline first: it is also the plan of SKUs a stop leaves unsolved, so that
    # little work remains after a stop.
    progress.status("First come, first served baseline…")
    fcfs = start.first_come_first_served(instance)
    plan = solve.solve(instance, progress, stop=stop)
    allocations = solve.attribute_sources(instance, with_fallback(plan, fcfs))
    for message in plan.failed_pieces:
        problems.warning("", "", f"A worker failed twice; these SKUs are served first come, "
                         f"first served: {message}")
    if len(plan.fallback_lines) and not plan.failed_pieces:
        problems.warning("", "", f"{len(plan.fallback_lines)} order lines of SKUs the solver "
                         f"did not finish ({plan.status}) are served first come, first served.")

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
    return ModelRun(status=plan.status, summary=summary, sheets=sheets, has_plan=True,
                    problems=problems)


def with_fallback(plan: solve.Plan, fcfs: pd.DataFrame) -> pd.DataFrame:
    """The solver's deliveries plus FCFS's for the lines it did not solve.

    FCFS serves every pool alone, so its deliveries of whole SKUs fit with the
    solver's deliveries of the other SKUs (docs/stop_and_progress.md).
    """
    if not len(plan.fallback_lines):
        return plan.deliveries
    mine = fcfs[np.isin(fcfs["line"].to_numpy(), plan.fallback_lines)]
    extra = mine.groupby(["line", "day"], as_index=False)["quantity"].sum()
    return pd.concat([plan.deliveries, extra], ignore_index=True).sort_values(
        ["line", "day"], kind="stable").reset_index(drop=True)
