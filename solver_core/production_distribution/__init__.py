"""Production–distribution planning (thesis seed 003): daily pallet flows, trucks, stock.

schema → data (load) → model (build, solve) → report; scenarios runs the thesis's
sensitivity experiments as independent solves.
"""

from __future__ import annotations

from ..api import ModelRun
from ..progress import NULL, Progress
from ..tables import Problems
from . import model, report
from .data import Instance, load
from .scenarios import scenarios
from .schema import SCHEMA

__all__ = ["SCHEMA", "load", "run", "scenarios", "solve_instance"]


def solve_instance(inst: Instance, progress: Progress = NULL):
    """Build and solve; returns (built, solution, tables or None)."""
    progress.status("Building the model…")
    built = model.build(inst)
    sol = model.solve(built, inst.settings, progress)
    tabs = report.tables(inst, built, sol) if sol.has_plan else None
    return built, sol, tabs


def run(inst: Instance, progress: Progress = NULL) -> ModelRun:
    built, sol, tabs = solve_instance(inst, progress)
    problems = Problems()
    if not sol.has_plan:
        summary = {"objective": None, "mip_gap": None,
                   "solve_seconds": round(sol.solve_seconds, 3),
                   "build_seconds": round(sol.build_seconds, 3), **built.lp.size()}
        if sol.status == "infeasible":
            progress.status("No plan fits: finding where…")
            found = model.diagnose(built)
            for f in found:
                problems.error(_sheet_for(f), "", _overflow_message(f))
            summary["message"] = ("Infeasible: no plan fits the limits. "
                                  + (_overflow_message(found[0]) if found else
                                     "See Out Validation."))
        else:
            summary["message"] = (f"No plan found within the time limit "
                                  f"({inst.settings.get('time_limit_s')} s); raise time_limit_s.")
        for st in sol.stages:
            summary[f"stage: {st['stage']}"] = f"{st['status']}, {st['seconds']} s"
        return ModelRun(sol.status, summary, [], has_plan=False, problems=problems)
    summary = report.summary(inst, built, sol, tabs)
    summary["message"] = (f"{sol.status}: total cost {tabs['costs']['total']:,.2f} "
                          f"(gap {100 * (sol.mip_gap or 0):.2f}%)")
    return ModelRun(sol.status, summary, report.sheets(inst, built, sol, tabs),
                    problems=problems)


def _sheet_for(f: dict) -> str:
    return {"storage": "Storage", "reception": "Locations", "lane_trucks": "Lanes"}[f["kind"]]


def _overflow_message(f: dict) -> str:
    if f["kind"] == "storage":
        return (f"Day {f['day']}: {f['location']} would need room for {f['excess']:.1f} more "
                f"pallets of category {f['category']} than its capacity. Raise the capacity, "
                "add a lane to another location, or reduce supply that day.")
    if f["kind"] == "reception":
        return (f"Day {f['day']}: {f['location']} would need to receive {f['excess']:.1f} more "
                "trucks than max_inbound_trucks allows.")
    return (f"Day {f['day']}: lane {f['location']} would need {f['excess']:.1f} more trucks "
            "than its max_trucks.")
