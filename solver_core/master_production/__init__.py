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

from ..api import ModelRun
from ..progress import NULL, Progress
from ..tables import Problems, Settings
from . import report, why
from .data import Instance
from .data import load as _load
from .schema import SCHEMA
from .simulate import evaluate
from .solve import solve_all

__all__ = ["SCHEMA", "Instance", "load", "run"]


def load(raw: dict[str, pd.DataFrame], settings: Settings, problems: Problems
         ) -> Instance | None:
    """Typed, validated instance; every problem goes to ``problems`` (None on errors)."""
    return _load(raw, settings, problems)


def run(instance: Instance, progress: Progress = NULL, decompose: bool = True) -> ModelRun:
    """Solve, assemble the plan, re-evaluate it and write the result sheets.

    Parameters
    ----------
    instance
        The validated instance (:func:`load`); its settings say how long and on how many
        workers.
    progress
        Where status lines and step counts go.
    decompose
        Split each supply center into connected components (exact; False solves one
        model per supply center, for tests).
    """
    t0 = time.perf_counter()
    comps, results, split_s = solve_all(instance, progress, decompose)
    wall = time.perf_counter() - t0
    progress.status("Evaluating the plan…")
    plan = report.assemble_plan(instance, comps, results)
    ev = evaluate(instance, plan)
    summary = report.summarise(instance, comps, results, ev, split_s)
    reasons = why.explain(instance, plan, ev)
    if (line := why.largest_shortfall(instance, reasons)) is not None:
        summary["largest_shortfall"] = line
    # solve_seconds adds up the components (they run in parallel); this is the wall time.
    summary["wall_seconds"] = round(wall, 3)
    status = summary.pop("status_detail")
    return ModelRun(status=status, summary=summary,
                    sheets=report.sheets(instance, plan, ev, reasons), has_plan=True)
