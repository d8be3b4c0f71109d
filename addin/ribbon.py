"""The Supply Chain Planner ribbon: one function per button.

Each button's VBA callback (``addin/excel/RibbonScplan.bas``) runs
``RunPython "import addin.ribbon as r; r.<function>()"``. The functions only move
tables: read the caller's workbook (``excel_io.read_book``), call the same
``solver_core.api`` function as the ``scplan`` command, write the ``Out …`` sheets
back (``excel_io.write_results``) and tell the planner what happened.

Feedback: the status bar shows each phase; Solve and Scenarios also open the progress
window (``progress_window``: cost, bound, gap, a chart, and Stop — keep best plan),
where a display and tkinter are available; a message box ends every run with a
one-line summary. Expected problems (invalid input, no plan within the time limit,
infeasible) select ``Out Validation``; only a bug in scplan raises, so that xlwings
shows its traceback popup. Every function takes an optional ``book`` (default: the
workbook that called it, ``xw.Book.caller()``) so tests can pass a Book.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import xlwings as xw

from solver_core import api, control
from solver_core.tables import model_name

from . import excel_io, progress_window

TITLE = "Supply Chain Planner"
REPO_ROOT = Path(__file__).resolve().parents[1]


class ScplanBug(RuntimeError):
    """A bug in scplan (not in the planner's data); xlwings shows it with a traceback."""


def _caller(book):
    return book if book is not None else xw.Book.caller()


MAX_ALERT = 1000  # Excel's message box shows about 1024 characters


def _alert(book, text: str, problem: bool = False) -> None:
    if len(text) > MAX_ALERT:
        text = text[:MAX_ALERT - 1] + "…"
    book.app.alert(text, title=TITLE, buttons="ok", mode="critical" if problem else "info")


def _finish(book, outcome: api.Outcome, writer: excel_io.Writer) -> api.Outcome:
    """Select the sheet to look at and show the one-line summary; raise for a bug."""
    names = [s.name for s in outcome.sheets]
    if outcome.exit_code == api.EXIT_BUG:
        excel_io.select_sheet(book, "Out Validation")
        raise ScplanBug(outcome.message)
    first_line = outcome.message.splitlines()[0] if outcome.message else outcome.status
    problem = outcome.exit_code in (api.EXIT_INVALID, api.EXIT_NO_PLAN)
    if problem and "Out Validation" in names:
        excel_io.select_sheet(book, "Out Validation")
        text = f"{first_line}\n\nSee the sheet 'Out Validation'."
    else:
        excel_io.select_sheet(book, names[0] if names else "Out Summary")
        text = first_line
        if outcome.problems.warnings and "Out Validation" in names:
            text += f"\n\n{len(outcome.problems.warnings)} warning(s): see 'Out Validation'."
    if writer.skipped:
        text += "\n\nNot shown in this Excel: " + "; ".join(writer.skipped) + "."
    _alert(book, text, problem)
    return outcome


def _run(book, action: str) -> api.Outcome:
    book = _caller(book)
    progress = excel_io.StatusBarProgress(book.app)
    try:
        progress.status("Reading the workbook…")
        raw = excel_io.read_book(book)
        if action == "validate":
            outcome = api.validate(raw, progress)
            progress.status("Writing results…")
            writer = excel_io.write_results(book, outcome.sheets, progress)
        else:
            outcome, writer = _solve_with_window(book, raw, progress, action == "scenarios")
    finally:
        progress.close()
    return _finish(book, outcome, writer)


def _solve_with_window(book, raw, progress, scenarios: bool):
    """Solve in a worker thread behind the progress window; write from this thread."""
    model = model_name(raw.get("Settings")) or "unknown model"
    with control.StopToken() as stop, progress_window.Session(
            model, book.name, stop, status_bar=progress,
            enabled=not excel_io.is_json_book(book)) as window:
        outcome = window.run(lambda p: api.solve(raw, progress=p, scenarios=scenarios,
                                                 stop=stop))
        window.status("Writing results…")
        writer = excel_io.write_results(book, outcome.sheets, progress)
    return outcome, writer


def validate(book=None) -> api.Outcome:
    """Validate button: check the workbook and write ``Out Summary`` and ``Out Validation``."""
    return _run(book, "validate")


def solve(book=None) -> api.Outcome:
    """Solve button: validate, solve the workbook's model, write its ``Out`` sheets."""
    return _run(book, "solve")


def run_scenarios(book=None) -> api.Outcome:
    """Scenarios button: the model's sensitivity experiments (``Out Scenarios``)."""
    return _run(book, "scenarios")


def clear_results(book=None) -> int:
    """Clear results button: delete every ``Out …`` sheet; input sheets stay as they are."""
    book = _caller(book)
    removed = excel_io.Writer(book).clear()
    _alert(book, f"Removed {removed} result sheet(s)." if removed else
           "There are no result sheets (named 'Out …') to remove.")
    return removed


def new_workbook(kind: str, book=None):
    """New ▸ <model> buttons: a new workbook from the model's template.

    Windows: a new unsaved workbook based on the template (Save asks for a name).
    macOS: the template is saved as a new file next to the active workbook (or in
    Documents) and opened. The template is generated from the model's schema, so it
    is the same as ``scplan template <kind>``.
    """
    book = _caller(book)
    if kind not in api.MODELS:
        _alert(book, f"Unknown model {kind!r}; choose one of: {', '.join(api.MODELS)}.",
               problem=True)
        return None
    if excel_io.is_json_book(book):
        _alert(book, "A new workbook can only be opened by desktop Excel. Create the template "
                     f"with: scplan template {kind} -o {kind}.xlsx", problem=True)
        return None
    app = book.app
    if sys.platform.startswith("win"):
        with tempfile.TemporaryDirectory(prefix="scplan-", ignore_cleanup_errors=True) as tmp:
            path = write_template_file(kind, Path(tmp) / f"{kind}.xlsx")
            app.api.Workbooks.Add(str(path))  # a copy of the template, not yet saved
        new = app.books.active
    else:
        folder = Path(book.fullname).parent if Path(book.fullname).is_absolute() else None
        folder = folder if folder and os.access(folder, os.W_OK) else Path.home() / "Documents"
        path = write_template_file(kind, unique_path(folder, kind))
        new = app.books.open(str(path))
    sheets = [s.name for s in new.sheets]
    if "Settings" in sheets:
        new.sheets["Settings"].activate()
    return new


def write_template_file(kind: str, path: Path) -> Path:
    """The model's template (``scplan template <kind>``) written to ``path``."""
    from solver_core.template import write_template

    return write_template(api.plugin(kind).SCHEMA, path)


def unique_path(folder: Path, kind: str) -> Path:
    """``folder/<kind>.xlsx``, or ``<kind> (2).xlsx`` and so on when it exists."""
    folder.mkdir(parents=True, exist_ok=True)
    path, i = folder / f"{kind}.xlsx", 2
    while path.exists():
        path, i = folder / f"{kind} ({i}).xlsx", i + 1
    return path


HELP = """\
Supply Chain Planner — one workbook per plan; Settings!model says which model.

New: a new workbook from a model's template (the About sheet explains every column).
Validate: check the input; problems go to 'Out Validation' (sheet, cell, how to fix).
Solve: validate and solve; results go to the 'Out …' sheets (inputs are never changed).
Scenarios: the model's sensitivity runs ('Out Scenarios').
Clear results: delete the 'Out …' sheets.

While Python solves, a small window shows the plan cost, the best bound and the gap;
"Stop — keep best plan" ends the solve and writes the best plan found (status
'stopped'). Settings!time_limit_s caps the solve time.
Troubleshooting: README, section "Excel add-in"{where}.
"""


def help(book=None) -> str:
    """Help button: what each button does and where the documentation is."""
    book = _caller(book)
    readme = REPO_ROOT / "README.md"
    text = HELP.format(where=f" ({readme})" if readme.exists() else "")
    _alert(book, text)
    return text
