"""What both front ends call: validate, solve and run scenarios on raw sheets.

A front end reads the workbook into raw sheets (``tables.raw_frame`` shape), calls one
of these functions, and writes the returned result sheets back. Nothing here knows
about files or Excel.

Each model is a package ``solver_core.<model>`` exposing:

- ``SCHEMA``: its :class:`~solver_core.tables.WorkbookSchema`;
- ``load(raw, settings, problems) -> instance``: typed, validated data (data.py);
- ``run(instance, progress) -> ModelRun``: build, solve and report (model.py, report.py);
- optionally ``scenarios(instance, progress, workers) -> ModelRun``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import traceback
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import highs
from .outputs import OutSheet, fingerprint, summary_sheet, validation_sheet
from .progress import NULL, Progress
from .tables import Problems, model_cell, model_name, parse_settings

MODELS = {
    "production_distribution": "solver_core.production_distribution",
    "master_production": "solver_core.master_production",
    "delivery_allocation": "solver_core.delivery_allocation",
}

EXIT_OK, EXIT_BUG, EXIT_INVALID, EXIT_NO_PLAN = 0, 1, 2, 3


@dataclass
class ModelRun:
    """What a model's ``run`` returns: status, summary items and result sheets."""

    status: str  # optimal | time_limit | infeasible | error
    summary: dict[str, Any]
    sheets: list[OutSheet]
    has_plan: bool = True
    problems: Problems = field(default_factory=Problems)  # warnings found while solving


@dataclass
class Outcome:
    """What a front end writes back: the result sheets, the exit code, a one-line message."""

    model: str | None
    status: str
    exit_code: int
    sheets: list[OutSheet]
    problems: Problems
    message: str


def plugin(model: str):
    return importlib.import_module(MODELS[model])


def _header(model: str | None, raw: dict[str, pd.DataFrame], started: dt.datetime) -> dict:
    return {
        "model": model or "",
        "status": "",
        "started_at": started.isoformat(timespec="seconds"),
        "input_fingerprint": fingerprint(raw),
        "solver": highs.solver_name(),
    }


def load(raw: dict[str, pd.DataFrame], overrides: dict[str, Any] | None = None):
    """(model name, plugin module, instance or None, problems) for a raw workbook."""
    problems = Problems()
    model = model_name(raw.get("Settings"))
    if "Settings" not in raw:
        problems.error("Settings", "A1",
                       "Sheet 'Settings' is missing. Add it with columns setting, value and a "
                       "row 'model' naming one of: " + ", ".join(MODELS) + ".")
        return None, None, None, problems
    if model not in MODELS:
        found = "no 'model' row" if model is None else f"model {model!r}"
        problems.error("Settings", model_cell(raw.get("Settings")),
                       f"Settings has {found}; set it to one of: " + ", ".join(MODELS) + ".")
        return model, None, None, problems
    mod = plugin(model)
    settings = parse_settings(raw.get("Settings"), mod.SCHEMA.settings, problems)
    settings = settings.replace(**{k: v for k, v in (overrides or {}).items() if v is not None})
    instance = mod.load(raw, settings, problems)
    return model, mod, instance, problems


def validate(raw: dict[str, pd.DataFrame], progress: Progress = NULL) -> Outcome:
    progress.status("Validating…")
    started = dt.datetime.now()
    try:
        model, _, _, problems = load(raw)
    except Exception:  # a bug: report it, never lose the workbook
        return _bug(raw, started, "validate")
    summary = _header(model, raw, started)
    if problems.has_errors():
        summary["status"] = "invalid"
        message = "Invalid input: " + problems.summary()
        code = EXIT_INVALID
    else:
        summary["status"] = "valid"
        message = f"Input is valid ({len(problems.warnings)} warning(s))."
        code = EXIT_OK
    summary["message"] = message
    summary["errors"] = len(problems.errors)
    summary["warnings"] = len(problems.warnings)
    sheets = [summary_sheet(summary), validation_sheet(problems.frame())]
    return Outcome(model, summary["status"], code, sheets, problems, message)


def solve(raw: dict[str, pd.DataFrame], overrides: dict[str, Any] | None = None,
          progress: Progress = NULL, scenarios: bool = False,
          workers: int | None = None) -> Outcome:
    """Validate, then solve (or run the scenarios); never raises for bad input."""
    started = dt.datetime.now()
    progress.status("Validating…")
    try:
        model, mod, instance, problems = load(raw, overrides)
    except Exception:
        return _bug(raw, started, "validate")
    summary = _header(model, raw, started)
    if problems.has_errors() or instance is None:
        summary["status"] = "error"
        message = "Invalid input, nothing solved: " + problems.summary()
        summary["message"] = message
        summary["errors"] = len(problems.errors)
        summary["warnings"] = len(problems.warnings)
        sheets = [summary_sheet(summary), validation_sheet(problems.frame())]
        return Outcome(model, "error", EXIT_INVALID, sheets, problems, message)
    try:
        if scenarios:
            if not hasattr(mod, "scenarios"):
                problems.error("Settings", model_cell(raw.get("Settings")),
                               f"Model {model} has no scenario runs.")
                sheets = [summary_sheet({**summary, "status": "error"}),
                          validation_sheet(problems.frame())]
                return Outcome(model, "error", EXIT_INVALID, sheets, problems,
                               f"Model {model} has no scenario runs.")
            run = mod.scenarios(instance, progress=progress, workers=workers)
        else:
            run = mod.run(instance, progress=progress)
    except Exception:
        return _bug(raw, started, "solve", model)
    problems.items.extend(run.problems.items)
    summary["status"] = run.status
    summary.update(run.summary)
    code = EXIT_OK if run.has_plan else EXIT_NO_PLAN
    message = summary.get("message") or (
        f"{model}: {run.status}" + ("" if run.has_plan else " — no plan written"))
    summary.setdefault("message", message)
    sheets = [summary_sheet(summary), *run.sheets]
    if problems.items:
        sheets.append(validation_sheet(problems.frame()))
    return Outcome(model, run.status, code, sheets, problems, message)


def _bug(raw, started, phase: str, model: str | None = None) -> Outcome:
    tb = traceback.format_exc()
    summary = _header(model, raw, started)
    summary["status"] = "error"
    summary["message"] = (f"Internal error during {phase} (a bug in scplan, not in your data): "
                          + tb.strip().splitlines()[-1])
    problems = Problems()
    problems.error("", "", summary["message"])
    sheets = [summary_sheet(summary), validation_sheet(problems.frame())]
    return Outcome(model, "error", EXIT_BUG, sheets, problems, summary["message"] + "\n" + tb)
