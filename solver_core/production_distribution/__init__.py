"""Production–distribution planning: daily pallet flows, trucks and stock.

The stages, each a module: schema (sheets, settings, result sheets) → data (typed
instance) → model (build) → start (constructive plan) → solve (staged solve) → report
(result sheets). spec holds the thesis formulation in PuLP, diagnose explains
infeasibility, scenarios runs the thesis's sensitivity experiments
(docs/production_distribution.md).
"""

from __future__ import annotations

import time

from ..api import ModelRun
from ..control import StopToken
from ..highs import STOPPED
from ..progress import NULL, Progress
from ..tables import Problems
from . import diagnose, model, report, why
from . import solve as solve_stage
from .data import Instance, load
from .scenarios import scenarios
from .schema import SCHEMA

__all__ = ["SCHEMA", "load", "run", "scenarios", "solve_instance"]


def solve_instance(inst: Instance, progress: Progress = NULL, stop: StopToken | None = None):
    """Build and solve; returns (built, solution, tables or None)."""
    progress.status("Building the model…")
    built = model.build(inst)
    # The search leaves Out Why's re-solves their time: the run ends at its limit.
    sol = solve_stage.solve(inst, built, progress, stop=stop, reserve=why.seconds_for(inst))
    tabs = report.tables(inst, built, sol) if sol.has_plan else None
    return built, sol, tabs


def run(inst: Instance, progress: Progress = NULL, stop: StopToken | None = None) -> ModelRun:
    """Solve one workbook: the plan's result sheets and summary, or why there is none.

    Parameters
    ----------
    inst : Instance
        Validated data and settings.
    progress : Progress
        Where stages and their numbers (cost, bound, gap) are reported.
    stop : control.StopToken, optional
        Once requested, the solve ends within about a second with status ``stopped``
        and the best plan found so far (docs/stop_and_progress.md).

    Returns
    -------
    ModelRun
        Status, summary items and result sheets.
    """
    t0 = time.perf_counter()
    built, sol, tabs = solve_instance(inst, progress, stop)
    problems = Problems()
    if not sol.has_plan:
        summary = {"objective": None, "mip_gap": None,
                   "solve_seconds": round(sol.solve_seconds, 3),
                   "build_seconds": round(sol.build_seconds, 3), **built.lp.size()}
        if sol.status == STOPPED:
            summary["message"] = "Stopped before any plan was found; no plan written."
        elif sol.status == "infeasible":
            progress.status("No plan fits: finding where…")
            # Within the time limit: whatever the search for a plan left of it.
            left = max(float(inst.settings.time_limit_s) - sol.build_seconds
                       - sol.solve_seconds, diagnose.MIN_SECONDS)
            summary["message"] = diagnose.report(diagnose.diagnose(built, left, stop),
                                                 problems, left)
        else:
            summary["message"] = (f"No plan found within the time limit "
                                  f"({inst.settings.time_limit_s} s); raise time_limit_s.")
        for st in sol.stages:
            summary[f"stage: {st['stage']}"] = f"{st['status']}, {st['seconds']} s"
        return ModelRun(sol.status, summary, [], has_plan=False, problems=problems)
    summary = report.summary(inst, built, sol, tabs)
    summary["message"] = report.status_message(sol, tabs)
    progress.status("Explaining the shortages…")
    # After a stop the planner wants the plan now: no re-solves for the explanations.
    seconds = 0.0 if sol.status == STOPPED else None
    sheets = [*report.sheets(inst, built, sol, tabs),
              why.add(inst, built, sol.x, summary, seconds)]
    # The run's time ("time used"): the search's, and Out Why's re-solves after it.
    summary["wall_seconds"] = round(time.perf_counter() - t0, 3)
    return ModelRun(sol.status, summary, sheets, problems=problems)
