"""Master production schedule (Anker MPS, seed §2): weekly orders per factory and SKU.

Plugin contract of :mod:`solver_core.api`: ``SCHEMA``, ``load`` and ``run``.
Stages: schema.py (sheets) → data.py (validated instance) → model.py (tight MIP per
component) → heuristics.py (start plan, rounding) → solve.py (decomposition, parallel
solve, re-evaluation with simulate.py) → report.py (Out sheets and charts).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..api import ModelRun
from ..progress import NULL, Progress
from ..tables import Problems
from .data import Instance
from .data import load as _load
from .schema import SCHEMA
from .solve import run as _run

__all__ = ["SCHEMA", "Instance", "load", "run"]


def load(raw: dict[str, pd.DataFrame], settings: dict[str, Any], problems: Problems
         ) -> Instance | None:
    """Typed, validated instance; every problem goes to ``problems`` (None on errors)."""
    return _load(raw, settings, problems)


def run(instance: Instance, progress: Progress = NULL) -> ModelRun:
    """Decompose, solve, round, re-evaluate and report (see solve.py)."""
    return _run(instance, progress)
