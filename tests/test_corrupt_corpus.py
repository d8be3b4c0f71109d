"""A seeded corpus of corrupted workbooks, run in-process: read → validate → solve.

Each case starts from a small example (or a template) and applies one to three
mutations: wrong types, blanks, unknown and duplicate keys, renamed and misspelled
headers, Excel error values, formulas as text, odd Unicode, huge numbers, damaged week
headers, dropped sheets and columns; a few cases are files that are not workbooks.
Whatever the input, no exception escapes (exit code never 1), the input file is not
modified, and every problem is reported at a sheet and a cell.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from solver_core import api
from solver_core.workbook import WorkbookError, read_workbook, write_result

ROOT = Path(__file__).resolve().parents[1] / "xlsx_templates"
MODELS = ("production_distribution", "master_production", "delivery_allocation")
SOURCES = [ROOT / "examples" / f"{m}_small.xlsx" for m in MODELS] + [
    ROOT / f"{m}.xlsx" for m in MODELS]
CASES, CHUNKS = 300, 10
CELL = re.compile(r"^[A-Z]{1,3}[1-9]\d*$")
# A second is enough to reach every stage that reads the data (model, start plan, bound,
# result sheets); the solver's own search is tested on valid workbooks elsewhere. At 2 s
# the PD cases ran to their limit and took half the corpus's time.
RUN = {"time_limit_s": 1, "workers": 1}

TEXTS = ["abc", "=HYPERLINK(\"http://x\",\"y\")", "=cmd|' /C calc'!A0", "=SUM(1,2)",
         "Ä\u200bß\u202e😀", "  ", "1,5", "ZZZ-unknown", "x" * 300, "2025W99", "-"]
ERRORS = ["#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!"]
NUMBERS = [1e308, -1e308, 1e15, -1, 0, 2.5, 100_000, 3661, float("nan")]


def _data_cell(ws, rng):
    if ws.max_row < 2 or ws.max_column < 1:
        return None
    return ws.cell(row=rng.randint(2, ws.max_row), column=rng.randint(1, ws.max_column))


def _set_text(cell, text):
    cell.value = text
    cell.data_type = "s"  # text starting with "=" stays text, as a planner's typed name


def mutate(wb, rng) -> str:
    """Apply one random mutation to ``wb``; return what it did."""
    sheets = [ws for ws in wb.worksheets if ws.title not in ("About",)]
    ws = rng.choice(sheets)
    kind = rng.choice(["text", "error", "number", "blank", "date", "bool", "header",
                       "dup_row", "drop_col", "drop_sheet", "week_header", "key_copy",
                       "rename", "rename"])
    cell = _data_cell(ws, rng)
    if kind in ("text", "error", "number", "blank", "date", "bool") and cell is not None:
        if kind == "text":
            _set_text(cell, rng.choice(TEXTS))
        elif kind == "error":
            cell.value = rng.choice(ERRORS)  # openpyxl stores these as error cells
        elif kind == "number":
            cell.value = rng.choice(NUMBERS)
        elif kind == "blank":
            cell.value = None
        elif kind == "date":
            cell.value = __import__("datetime").datetime(2025, 2, rng.randint(1, 28))
        else:
            cell.value = rng.choice([True, False])
        return f"{kind} {ws.title}!{cell.coordinate}"
    if kind == "header" and ws.max_column >= 1:
        c = ws.cell(row=1, column=rng.randint(1, ws.max_column))
        name = str(c.value or "")
        c.value = rng.choice([name[:-1], name.upper() + " ", name + "x", "", "notes",
                              ws.cell(row=1, column=1).value])
        return f"header {ws.title}!{c.coordinate}"
    if kind == "dup_row" and ws.max_row >= 2:
        r = rng.randint(2, ws.max_row)
        ws.append([c.value for c in ws[r]])
        return f"dup_row {ws.title}!{r}"
    if kind == "drop_col" and ws.max_column >= 1:
        col = rng.randint(1, ws.max_column)
        ws.delete_cols(col)
        return f"drop_col {ws.title}!{col}"
    if kind == "drop_sheet":
        wb.remove(ws)
        return f"drop_sheet {ws.title}"
    if kind == "week_header":
        wide = [w for w in sheets if w.title in ("Forecast", "ProductionDays", "PreBuild")]
        if wide:
            w = rng.choice(wide)
            col = rng.randint(2, max(2, w.max_column))
            w.cell(row=1, column=col).value = rng.choice(
                [None, "2025W99", w.cell(row=1, column=max(1, col - 1)).value, "week 3"])
            return f"week_header {w.title}!{col}"
    if kind == "rename" and cell is not None and isinstance(cell.value, str):
        # A name renamed everywhere it occurs: still valid, so it reaches the result sheets.
        old, new = cell.value, rng.choice(TEXTS[1:5])
        for w in wb.worksheets:
            for row in w.iter_rows():
                for c in row:
                    if c.value == old:
                        _set_text(c, new)
        return f"rename {old!r} to {new!r}"
    if kind == "key_copy" and ws.max_row >= 3:
        ws.cell(row=3, column=1).value = ws.cell(row=2, column=1).value
        return f"key_copy {ws.title}!A3"
    return "none"


NOT_WORKBOOKS = [b"", b"\x00" * 100, b"a,b\n1,2\n", b"<html></html>",
                 b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)]


def make_case(seed: int, tmp: Path) -> tuple[Path, str]:
    rng = random.Random(seed)
    path = tmp / f"case{seed}.xlsx"
    if seed % 25 == 0:  # a file that is not a workbook, or a truncated one
        data = rng.choice(NOT_WORKBOOKS + [SOURCES[0].read_bytes()[:3000]])
        path.write_bytes(data)
        return path, "not a workbook"
    source = SOURCES[0:3][seed % 3] if seed % 5 else rng.choice(SOURCES)
    wb = load_workbook(io.BytesIO(source.read_bytes()))
    done = [mutate(wb, rng) for _ in range(rng.choice([1, 1, 2, 3]))]
    wb.save(path)
    return path, f"{source.name}: " + "; ".join(done)


def check_outcome(outcome: api.Outcome, what: str) -> None:
    assert outcome.exit_code != api.EXIT_BUG, f"{what}: {outcome.message}"
    frame = outcome.problems.frame()
    for sheet, cell, message in zip(frame["sheet"], frame["cell"], frame["message"]):
        assert sheet and CELL.match(str(cell)), f"{what}: no place for {message!r} ({sheet}!{cell})"


def run_case(seed: int, tmp: Path) -> None:
    """Run one case: read, validate, and solve (and write) when it is valid."""
    path, what = make_case(seed, tmp)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        raw = read_workbook(path)
    except WorkbookError as exc:
        assert str(exc), what
        return
    checked = api.validate(raw)
    check_outcome(checked, f"validate {seed} ({what})")
    if checked.exit_code == api.EXIT_OK or seed % 7 == 0:
        solved = api.solve(raw, RUN)
        check_outcome(solved, f"solve {seed} ({what})")
        if seed % 3 == 0:
            write_result(path, tmp / f"out{seed}.xlsx", solved.sheets)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, f"{what}: input changed"


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_corrupted_workbooks_give_messages_not_tracebacks(chunk, tmp_path):
    for seed in range(chunk, CASES, CHUNKS):
        run_case(seed, tmp_path)


def formula_cells(path: Path) -> list[str]:
    wb = load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets if ws.title.startswith("Out ")
            for row in ws.iter_rows() for c in row if c.data_type == "f"]


@pytest.mark.parametrize("model", MODELS)
def test_names_that_look_like_formulas_come_back_as_text(model, tmp_path):
    source = ROOT / "examples" / f"{model}_small.xlsx"
    wb = load_workbook(io.BytesIO(source.read_bytes()))
    named = {"production_distribution": "Products", "master_production": "SKUs",
             "delivery_allocation": "Orders"}[model]  # a sheet whose column A is a name
    old = wb[named].cell(row=2, column=1).value
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value == old:
                    _set_text(c, "=SUM(1,2)")
    path, out = tmp_path / "in.xlsx", tmp_path / "out.xlsx"
    wb.save(path)
    solved = api.solve(read_workbook(path), RUN)
    assert solved.exit_code == api.EXIT_OK, solved.message
    write_result(path, out, solved.sheets)
    assert formula_cells(out) == []
