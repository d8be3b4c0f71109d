"""Master production schedule: weekly orders per factory and SKU (docs/master_production.md).

Plugin contract of :mod:`solver_core.api`: ``SCHEMA``, ``load`` and ``run``.
Stages: schema.py (sheets, settings, Out sheets) → data.py (validated instance) →
model.py (tight MIP per component) → start.py (start plans, rounding; with sku_dp.py,
each SKU's optimum by dynamic programming) → solve.py (components, phases, time
sharing) → simulate.py (re-evaluation) → why.py (the cause of every shortfall) →
report.py (Out sheets, charts, summary).
spec.py is the report's formulation in PuLP, the executable specification the tests
hold the fast model to.
"""

from __future__ import annotations

import time

import pandas as pd

from .. import control, highs
from ..api import ModelRun
from ..outputs import gap_percent
from ..progress import NULL, Progress
from ..tables import Problems, Settings
from . import report, why
from .data import Instance
from .data import load as _load
from .schema import SCHEMA
from .simulate import evaluate
from .solve import WHOLE_MIN_SECONDS, reserve_seconds, solve_all
from .start import within_gap

__all__ = ["SCHEMA", "Instance", "load", "run"]


def load(raw: dict[str, pd.DataFrame], settings: Settings, problems: Problems
         ) -> Instance | None:
    """Typed, validated instance; every problem goes to ``problems`` (None on errors)."""
    return _load(raw, settings, problems)


def run(instance: Instance, progress: Progress = NULL, stop: control.StopToken | None = None,
        decompose: bool = True) -> ModelRun:
    """Solve, assemble the plan, re-evaluate it and write the result sheets.

    Parameters
    ----------
    instance
        The validated instance (:func:`load`); its settings say how long and on how many
        workers.
    progress
        Where status lines, step counts and numbers (cost, bound, gap) go.
    stop
        Once its stop is requested, every component keeps its best plan so far and the
        run ends with status ``stopped`` (docs/stop_and_progress.md).
    decompose
        Split each supply center into connected components (exact; False solves one
        model per supply center, for tests).
    """
    # Out Why's rows before each SKU's first possible arrival need no plan: computed now,
    # a stop does not wait for them.
    early = why.before_first_arrival(instance)
    t0 = time.perf_counter()
    comps, results, split_s = solve_all(instance, progress, decompose, stop)
    wall = time.perf_counter() - t0
    progress.status("Evaluating the plan…")
    plan = report.assemble_plan(instance, comps, results)
    ev = evaluate(instance, plan)
    summary = report.summarise(instance, comps, results, ev, split_s)
    summary.pop("status_detail")
    reasons = why.explain(instance, plan, ev, early)
    if (line := why.largest_shortfall(instance, reasons)) is not None:
        summary["largest_shortfall"] = line
    objective, bound = summary.pop("objective"), summary.pop("bound")
    summary["model_gap"] = summary.pop("mip_gap")  # the solvers' objective to the bound
    status, note = run_status(instance.settings, results, objective, bound, wall,
                              control.requested(stop))
    demand = float(instance.demand.sum())
    summary = {"status_note": note, "objective": objective, "bound": bound,
               # the gap of the plan written (its evaluated cost) to the best bound
               "mip_gap": highs.relative_gap(objective, bound),
               "service_level": 1.0 - float(ev.projection.unmet.sum()) / demand
               if demand > 0 else 1.0,
               **summary}
    # solve_seconds adds up the components (they run in parallel); this is the wall time.
    summary["wall_seconds"] = round(wall, 3)
    progress.update(phase="Done", elapsed=wall, limit=float(instance.settings.time_limit_s),
                    cost=summary["objective"], bound=summary["bound"], gap=summary["mip_gap"])
    return ModelRun(status=status, summary=summary,
                    sheets=report.sheets(instance, plan, ev, reasons), has_plan=True)


def run_status(settings: Settings, results: list, objective: float, bound: float | None,
               wall: float, stopped: bool) -> tuple[str, str]:
    """The run's status and the sentence that says what was proven.

    ``optimal`` only when the plan written (its evaluated cost ``objective``) is within
    ``Settings!mip_gap`` of the bound; ``stopped`` after a stop; ``time_limit`` when the
    time ran out without that proof; ``error`` when a component could not be solved.
    """
    gap = highs.relative_gap(objective, bound)
    target = float(settings.mip_gap)
    asked = gap_percent(target)
    proven = within_gap(objective, bound, target)
    within = ("no bound is known" if gap is None
              else f"within {gap_percent(gap)} of the proven bound")
    if stopped:
        return highs.STOPPED, f"stopped by the user after {wall:,.0f} s: plan {within}"
    if any(r.status == highs.ERROR for r in results):
        return highs.ERROR, (f"a component could not be solved and keeps its start plan; "
                             f"plan {within}")
    if proven:
        return highs.OPTIMAL, f"optimal: plan within {asked} of the proven bound"
    limit = float(settings.time_limit_s)
    # The solve may end this long before its usable time (limit less the reserve) having
    # used all it could: HiGHS is not started with less than WHOLE_MIN_SECONDS left.
    reserve = reserve_seconds(limit)
    slack = max(reserve, WHOLE_MIN_SECONDS)
    if wall < limit - reserve - slack:
        # Ended early without the proof (every component's relaxed model proven, its
        # whole-unit plan not, and nothing left to try): the status says so.
        return highs.ERROR, (f"ended after {wall:,.0f} s of {limit:,.0f} s without proving "
                             f"the {asked} asked for: plan {within} (rounding order "
                             f"quantities to whole units costs the rest)")
    return highs.TIME_LIMIT, (f"time limit of {limit:,.0f} s reached after {wall:,.0f} s: "
                              f"plan {within}, not the {asked} asked for")
