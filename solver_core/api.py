"""What both front ends call: validate, solve and run scenarios on raw sheets.

A front end reads the workbook into raw sheets (``tables.raw_frame`` shape), calls one
of these functions, and writes the returned result sheets back. Nothing here knows
about files or Excel.

Each model is a package ``solver_core.<model>`` exposing:

- ``SCHEMA``: its :class:`~solver_core.tables.WorkbookSchema`;
- ``load(raw, settings, problems) -> instance``: typed, validated data (data.py);
- ``run(instance, progress) -> ModelRun``: build, solve and report (model.py, report.py);
- optionally ``scenarios(instance, progress) -> ModelRun``.

The number of parallel workers is the ``workers`` setting (the CLI's ``--workers``
overrides it like ``--time-limit``); models read ``settings.workers``. See
docs/architecture.md, "Front ends" and "Parallel executors".

Both may take ``stop`` (a ``control.StopToken``, docs/stop_and_progress.md): a model
whose ``run``/``scenarios`` has that parameter gets the token and ends early with
status ``stopped`` and its best plan when the token is set.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import inspect
import traceback
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import control, highs
from .outputs import (
    BOUND_NOTE,
    COMMON_RESULT_SHEETS,
    EARLIER_RESULT_SHEETS,
    NO_GAP,
    OutSheet,
    fingerprint,
    gap_percent,
    summary_sheet,
    summary_sheets,
    validation_sheet,
)
from .progress import NULL, Progress
from .tables import Problems, model_cell, model_name, parse_settings
from .workbook import UNSAVED_FORMULAS

MODELS = {
    "production_distribution": "solver_core.production_distribution",
    "master_production": "solver_core.master_production",
    "delivery_allocation": "solver_core.delivery_allocation",
}

EXIT_OK, EXIT_BUG, EXIT_INVALID, EXIT_NO_PLAN = 0, 1, 2, 3


@dataclass
class ModelRun:
    """What a model's ``run`` returns: status, summary items and result sheets."""

    status: str  # optimal | time_limit | stopped | infeasible | error
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
    """The package of ``model`` (one of :data:`MODELS`)."""
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
    _warn_unsaved_formulas(raw, problems)
    mod = plugin(model)
    settings = parse_settings(raw.get("Settings"), mod.SCHEMA.settings, problems)
    settings = settings.replace(**{k: v for k, v in (overrides or {}).items() if v is not None})
    instance = mod.load(raw, settings, problems)
    return model, mod, instance, problems


def _warn_unsaved_formulas(raw: dict[str, pd.DataFrame], problems: Problems) -> None:
    """A warning at every input cell whose formula has no saved value (read as blank)."""
    for name, frame in raw.items():
        for cell in frame.attrs.get(UNSAVED_FORMULAS, ()):
            problems.warning(name, cell, "This cell holds a formula with no saved value (the "
                             "workbook was saved by a program that does not calculate), so "
                             "it is read as blank. Open and save the workbook in Excel, or "
                             "type the value.")


def validate(raw: dict[str, pd.DataFrame], progress: Progress = NULL) -> Outcome:
    """Check a raw workbook without solving: ``Out Summary`` and ``Out Validation``."""
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


def _stop_arg(fn, stop: control.StopToken | None) -> dict:
    """``{"stop": stop}`` for a model entry point that takes the token (see module doc)."""
    if stop is None or "stop" not in inspect.signature(fn).parameters:
        return {}
    return {"stop": stop}


def solve(raw: dict[str, pd.DataFrame], overrides: dict[str, Any] | None = None,
          progress: Progress = NULL, scenarios: bool = False,
          stop: control.StopToken | None = None) -> Outcome:
    """Validate, then solve (or run the scenarios); never raises for bad input.

    ``stop``: a :class:`~solver_core.control.StopToken`; once set, the solve ends with
    status ``stopped`` and the best plan found (or no plan, if none was found yet).
    """
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
            if control.requested(stop):
                return _stopped_before_plan(model, summary, problems)
            run = mod.scenarios(instance, progress=progress, **_workers_argument(mod, instance),
                                **_stop_arg(mod.scenarios, stop))
        else:
            if control.requested(stop):
                return _stopped_before_plan(model, summary, problems)
            run = mod.run(instance, progress=progress, **_stop_arg(mod.run, stop))
    except Exception:
        return _bug(raw, started, "solve", model)
    problems.items.extend(run.problems.items)
    summary["status"] = run.status
    summary.update(run.summary)
    code = EXIT_OK if run.has_plan else EXIT_NO_PLAN
    # Scenario runs say how many scenarios solved; a plan says cost, service and gap.
    message = (scenarios and run.summary.get("message")) or result_line(model, run)
    summary.setdefault("message", message)
    sheets = [*summary_sheets(summary), *run.sheets]
    if problems.items:
        sheets.append(validation_sheet(problems.frame()))
    return Outcome(model, run.status, code, sheets, problems, message)


def _workers_argument(mod, instance) -> dict[str, Any]:
    """``workers=`` for a model whose ``scenarios`` still takes it (0 = one per core)."""
    if "workers" in inspect.signature(mod.scenarios).parameters:
        return {"workers": instance.settings.workers or None}
    return {}


def _stopped_before_plan(model: str | None, summary: dict, problems: Problems) -> Outcome:
    """A stop requested before the model started: ``Out Summary`` says so, no plan."""
    summary["status"] = highs.STOPPED
    summary["message"] = "Stopped on request before a plan was found; no plan written."
    sheets = [summary_sheet(summary)]
    if problems.items:
        sheets.append(validation_sheet(problems.frame()))
    return Outcome(model, highs.STOPPED, EXIT_NO_PLAN, sheets, problems, summary["message"])
# Summary items every model's run provides, read by the one-line result: the plan's cost
# (objective), its relative MIP gap (0 for an LP) and its service KPI (a fraction).
SERVICE_KEYS = ("service_level", "on_time_rate", "fill_rate")


def result_line(model: str, run: ModelRun) -> str:
    """One line for the console and the add-in: status, cost, what is proven of it (gap
    and bound), service level, shortfall.

    Built from the summary items ``objective``, ``mip_gap``, ``bound``, the first of
    ``SERVICE_KEYS`` and ``largest_shortfall``; a run without an objective (scenarios,
    no plan) says its own ``message`` instead.
    """
    s = run.summary
    objective = s.get("objective")
    if not run.has_plan or not _is_number(objective):
        line = s.get("message") or f"{model}: {run.status}"
        return line if run.has_plan else f"{line} — no plan written"
    parts = [f"{model}: {run.status}", f"cost {objective:,.2f}"]
    gap, bound = s.get("mip_gap"), s.get("bound")
    if _is_number(gap) and _is_number(bound):
        parts.append(f"at the proven bound {bound:,.2f}" if gap <= NO_GAP else
                     f"within {gap_percent(gap)} of the proven bound {bound:,.2f}")
        if s.get(BOUND_NOTE):
            parts[-1] += f" ({s[BOUND_NOTE]})"  # before the next comma: it is the bound's
    else:
        parts.append("no bound proven")
    service = next((s[k] for k in SERVICE_KEYS if _is_number(s.get(k))), None)
    if service is not None:
        parts.append(f"service {service:.1%}")
    if s.get("largest_shortfall"):  # one sentence: what falls short and its main cause
        return ", ".join(parts) + ". " + s["largest_shortfall"]
    return ", ".join(parts)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v


@functools.cache
def result_sheet_names() -> frozenset[str]:
    """Names of the sheets scplan writes: common, earlier and every model's declared ones.

    The writers replace these (and the ones the workbook's marker lists) and keep every
    other sheet, even one whose name starts with "Out ".
    """
    names = set(COMMON_RESULT_SHEETS | EARLIER_RESULT_SHEETS)
    for model in MODELS:
        names.update(t.name for t in getattr(plugin(model).SCHEMA, "outputs", ()))
    return frozenset(names)


def unreadable(source: str, reason: str) -> Outcome:
    """The outcome for an input that cannot be read at all (not a workbook, missing…).

    ``Out Summary`` and ``Out Validation`` say why, so that OUT is written even then;
    ``source`` (the file's name) stands in the ``sheet`` column.
    """
    problems = Problems()
    problems.error(source, "", reason)
    message = f"Cannot read the input, nothing solved: {reason}"
    summary = {"model": "", "status": "error", "started_at":
               dt.datetime.now().isoformat(timespec="seconds"), "message": message,
               "errors": 1, "warnings": 0}
    sheets = [summary_sheet(summary), validation_sheet(problems.frame())]
    return Outcome(None, "error", EXIT_INVALID, sheets, problems, message)


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
