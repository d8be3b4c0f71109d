"""The Excel add-in on a real xlwings Book, compared with the headless command.

Each test builds the payload Excel's xlwings client sends for a workbook, makes the
JSON-backed ``xw.Book`` from it (what a remote interpreter gets), calls a ribbon
function, applies the returned actions to a copy of the workbook, and compares the
result with ``scplan`` on the same file: same ``Out`` sheets, same values (timings
aside; or, when the two time-limited solves end on different plans, both proven within
the gap at costs their gaps allow), and — against the headless writer given the same
outcome — the same formats,
widths, frozen header rows and charts. Input sheets must come back untouched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from pd_support import network
from xlwings_payload import (
    apply_actions,
    assert_inputs_untouched,
    assert_same_out_sheets,
    json_book,
    out_sheet_names,
)

from addin import excel_io, ribbon
from solver_core import api, cli
from solver_core.production_distribution import SCHEMA as PD_SCHEMA
from solver_core.template import describe, write_template
from solver_core.workbook import read_workbook, write_result

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "xlsx_templates" / "examples"
# One small example per model (the master-production one counts as soon as it exists);
# the large examples take minutes and stop at time limits, so results are not repeatable.
SMALL = sorted(EXAMPLES.glob("*_small.xlsx"))


def run_ribbon(fn, src: Path, out: Path, **kw):
    """Call a ribbon function on the JSON Book of ``src``; apply its actions into ``out``."""
    book = json_book(src)
    result = fn(book=book, **kw)
    actions = book.json()["actions"]
    applied = apply_actions(src, actions, out)
    return result, applied


def one_alert(applied) -> tuple[str, str]:
    assert len(applied.alerts) == 1, applied.alerts
    prompt, title, buttons, mode, _ = applied.alerts[0]
    assert title == ribbon.TITLE and buttons == "ok"
    return prompt, mode


def check_against_headless(tmp_path, src, outcome, applied_path, command):
    """Writer equivalence (same outcome) and end-to-end equivalence (``scplan`` run)."""
    same_outcome = tmp_path / "headless-writer.xlsx"
    write_result(src, same_outcome, outcome.sheets)
    assert_same_out_sheets(same_outcome, applied_path, formatting=True)
    cli_out = tmp_path / "cli.xlsx"
    code = cli.main([command, str(src), "-o", str(cli_out)])
    assert code == outcome.exit_code
    try:
        assert_same_out_sheets(cli_out, applied_path, formatting=False, run_dependent=True)
    except AssertionError:
        # Two time-limited solves may end on different plans (the time shared between
        # stages depends on the machine's load). Then both must be proven within the gap,
        # so their costs are within it of each other.
        assert_both_proven(cli_out, applied_path)
    assert_inputs_untouched(src, applied_path)


def assert_both_proven(path_a: Path, path_b: Path) -> None:
    """Both results are ``optimal`` (proven within the gap target) and their costs differ
    by no more than their proven gaps allow: each is within its gap of the optimum."""
    wb_a, wb_b = load_workbook(path_a), load_workbook(path_b)
    assert out_sheet_names(wb_a) == out_sheet_names(wb_b)
    summaries = []
    for wb in (wb_a, wb_b):
        items = {row[0]: row[1] for row in wb["Out Summary"].iter_rows(min_row=2, values_only=True)}
        summaries.append(items)
        assert items["status"] == "optimal", items["status"]
    (cost_a, gap_a), (cost_b, gap_b) = ((float(items["objective"]), float(items["mip_gap"]))
                                        for items in summaries)
    allowed = max(gap_a * abs(cost_a), gap_b * abs(cost_b)) + 1e-6
    assert abs(cost_a - cost_b) <= allowed, (cost_a, cost_b, allowed)


@pytest.mark.parametrize("example", SMALL, ids=[p.stem for p in SMALL])
def test_solve_matches_headless(example, tmp_path):
    src = tmp_path / example.name
    shutil.copy(example, src)
    outcome, applied = run_ribbon(ribbon.solve, src, tmp_path / "excel.xlsx")
    assert outcome.exit_code == api.EXIT_OK, outcome.message
    check_against_headless(tmp_path, src, outcome, tmp_path / "excel.xlsx", "solve")
    prompt, mode = one_alert(applied)
    assert mode == "info" and prompt.startswith(outcome.message.splitlines()[0])
    assert applied.active == "Out Summary"
    assert not applied.touched & {n for n in load_workbook(src).sheetnames}
    wb = load_workbook(tmp_path / "excel.xlsx")
    charts = sum(len(wb[n]._charts) for n in wb.sheetnames if n.startswith("Out "))
    assert charts == sum(len(s.charts) for s in outcome.sheets)


def test_invalid_input_alert_and_out_validation(tmp_path):
    src = tmp_path / "broken.xlsx"
    wb = load_workbook(EXAMPLES / "production_distribution_small.xlsx")
    wb["Demand"]["D2"] = "lots"  # pallets must be a number
    wb["Lanes"]["C2"] = -5  # truck_cost must be >= 0
    wb.save(src)
    outcome, applied = run_ribbon(ribbon.solve, src, tmp_path / "excel.xlsx")
    assert outcome.exit_code == api.EXIT_INVALID
    prompt, mode = one_alert(applied)
    assert mode == "critical"
    first = prompt.splitlines()[0]
    assert first.startswith("Invalid input, nothing solved: 2 error(s)")
    assert "Out Validation" in prompt
    assert applied.active == "Out Validation"
    check_against_headless(tmp_path, src, outcome, tmp_path / "excel.xlsx", "solve")
    cells = set(pd.read_excel(tmp_path / "excel.xlsx", sheet_name="Out Validation")["cell"])
    assert {"D2", "C2"} <= cells


def test_validate_matches_headless(tmp_path):
    src = tmp_path / "da.xlsx"
    shutil.copy(EXAMPLES / "delivery_allocation_small.xlsx", src)
    outcome, applied = run_ribbon(ribbon.validate, src, tmp_path / "excel.xlsx")
    assert outcome.exit_code == api.EXIT_OK and outcome.status == "valid"
    check_against_headless(tmp_path, src, outcome, tmp_path / "excel.xlsx", "validate")
    prompt, mode = one_alert(applied)
    assert mode == "info" and prompt.startswith("Input is valid")


def test_scenarios_match_headless(tmp_path):
    data = network(plant_capacity=8, start=[("K", "q", 6)], supply=[("S", "p", 1, 8)],
                   demand=[("K", "p", 2, 9)])
    data["Scenarios"] = pd.DataFrame([("tight plant", 0.8, None, None, None),
                                      ("busy week", None, 1.1, 1.1, False)],
                                     columns=["scenario", "plant_capacity_factor",
                                              "demand_factor", "supply_factor",
                                              "use_reception_limit"])
    src = tmp_path / "scenarios.xlsx"
    write_template(PD_SCHEMA, src, data=data, settings={"mip_gap": 0.0})
    outcome, applied = run_ribbon(ribbon.run_scenarios, src, tmp_path / "excel.xlsx")
    assert outcome.exit_code == api.EXIT_OK, outcome.message
    assert "Out Scenarios" in [s.name for s in outcome.sheets]
    check_against_headless(tmp_path, src, outcome, tmp_path / "excel.xlsx", "scenarios")
    assert one_alert(applied)[1] == "info"


def test_scenarios_of_a_model_without_them_is_an_expected_problem(tmp_path):
    src = tmp_path / "da.xlsx"
    shutil.copy(EXAMPLES / "delivery_allocation_small.xlsx", src)
    outcome, applied = run_ribbon(ribbon.run_scenarios, src, tmp_path / "excel.xlsx")
    assert outcome.exit_code == api.EXIT_INVALID
    prompt, mode = one_alert(applied)
    assert mode == "critical" and "no scenario runs" in prompt
    assert applied.active == "Out Validation"
    assert_inputs_untouched(src, tmp_path / "excel.xlsx")


def test_solving_a_result_workbook_replaces_its_results_and_clear_removes_them(tmp_path):
    src = tmp_path / "da.xlsx"
    shutil.copy(EXAMPLES / "delivery_allocation_small.xlsx", src)
    first = tmp_path / "first.xlsx"
    assert cli.main(["solve", str(src), "-o", str(first)]) == 0
    reference = tmp_path / "reference.xlsx"
    shutil.copy(first, reference)
    # A stale result sheet of an earlier run (one scplan writes, here not for this model)
    # goes too; input sheets and the planner's own "Out of stock notes" stay.
    wb = load_workbook(first)
    wb.create_sheet("Out Scenarios")["A1"] = "old"
    wb.create_sheet("Out of stock notes")["A1"] = "mine"
    wb.save(first)
    outcome, _ = run_ribbon(ribbon.solve, first, tmp_path / "again.xlsx")
    assert_same_out_sheets(reference, tmp_path / "again.xlsx", formatting=False,
                           run_dependent=True)
    names = load_workbook(tmp_path / "again.xlsx").sheetnames
    assert "Out Scenarios" not in names
    assert "Out of stock notes" in names
    assert out_sheet_names(load_workbook(tmp_path / "again.xlsx")) == [
        s.name for s in outcome.sheets]
    assert_inputs_untouched(src, tmp_path / "again.xlsx")

    removed, applied = run_ribbon(ribbon.clear_results, tmp_path / "again.xlsx",
                                  tmp_path / "cleared.xlsx")
    assert removed == len(outcome.sheets)
    cleared = load_workbook(tmp_path / "cleared.xlsx")
    assert not out_sheet_names(cleared)
    assert cleared["Out of stock notes"]["A1"].value == "mine"
    assert_inputs_untouched(src, tmp_path / "cleared.xlsx")
    assert one_alert(applied)[0] == f"Removed {removed} result sheet(s)."


def test_reader_gives_the_headless_raw_sheets():
    """Same raw sheets (after Excel's float-only numbers) and the same fingerprint."""
    from solver_core.outputs import fingerprint

    for example in SMALL:
        headless = {n: f for n, f in read_workbook(example).items() if not n.startswith("Out ")}
        excel = excel_io.read_book(json_book(example))
        assert list(excel) == list(headless)
        for name, frame in headless.items():
            assert list(excel[name].columns) == list(frame.columns), name
            assert list(excel[name].index) == list(frame.index), name
            pd.testing.assert_frame_equal(excel[name].astype(str).replace("\\.0$", "", regex=True),
                                          frame.astype(str).replace("\\.0$", "", regex=True),
                                          obj=name)
        assert fingerprint(excel) == fingerprint(headless)


def test_bug_reaches_the_xlwings_error_popup(tmp_path, monkeypatch):
    from solver_core import delivery_allocation

    def broken(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(delivery_allocation, "run", broken)
    src = tmp_path / "da.xlsx"
    shutil.copy(EXAMPLES / "delivery_allocation_small.xlsx", src)
    book = json_book(src)
    with pytest.raises(ribbon.ScplanBug, match="simulated bug"):
        ribbon.solve(book)
    applied = apply_actions(src, book.json()["actions"], tmp_path / "excel.xlsx")
    assert not applied.alerts  # the popup is xlwings' traceback, not a message box
    summary = pd.read_excel(tmp_path / "excel.xlsx", sheet_name="Out Summary")
    assert "Internal error" in summary.set_index("item").loc["message", "value"]


def test_status_bar_progress_throttles_and_degrades():
    class App:
        def __init__(self):
            self.values = []

        @property
        def status_bar(self):
            return None

        @status_bar.setter
        def status_bar(self, value):
            self.values.append(value)

    app = App()
    p = excel_io.StatusBarProgress(app, interval=3600)
    p.status("Validating…")
    for i in range(1, 11):
        p.step(i, 10, "Solving supply center Y")
    p.close()
    assert app.values == ["Validating…", "Solving supply center Y: 10/10", False]

    class NoStatusBar:
        @property
        def status_bar(self):
            raise NotImplementedError

        @status_bar.setter
        def status_bar(self, value):
            raise NotImplementedError("no status bar on this engine")

    p = excel_io.StatusBarProgress(NoStatusBar())
    p.status("Validating…")
    p.step(1, 2, "x")
    p.close()
    assert not p.enabled and p.shown == []


def test_text_is_written_as_text():
    assert excel_io.excel_cell("2025-04-07") == "'2025-04-07"
    assert excel_io.excel_cell("007") == "'007"
    assert excel_io.excel_cell("=SUM(A1)") == "'=SUM(A1)"
    assert excel_io.excel_cell(7) == 7 and excel_io.excel_cell(None) is None
    assert excel_io.excel_cell(float("nan")) is None


def test_new_workbook_templates_and_messages(tmp_path):
    for kind in api.MODELS:
        committed = ROOT / "xlsx_templates" / f"{kind}.xlsx"
        if not committed.exists():
            continue
        path = ribbon.write_template_file(kind, tmp_path / f"{kind}.xlsx")
        assert describe(path) == describe(committed), kind
    assert ribbon.unique_path(tmp_path, "production_distribution").name == \
        "production_distribution (2).xlsx"

    src = tmp_path / "da.xlsx"
    shutil.copy(EXAMPLES / "delivery_allocation_small.xlsx", src)
    for kind, expect in (("nonsense", "Unknown model"), ("delivery_allocation", "desktop Excel")):
        book = json_book(src)
        assert ribbon.new_workbook(kind, book=book) is None
        applied = apply_actions(src, book.json()["actions"], tmp_path / "x.xlsx")
        prompt, mode = one_alert(applied)
        assert expect in prompt and mode == "critical"


def test_help_names_every_button(tmp_path):
    src = tmp_path / "da.xlsx"
    shutil.copy(EXAMPLES / "delivery_allocation_small.xlsx", src)
    text, applied = run_ribbon(ribbon.help, src, tmp_path / "x.xlsx")
    prompt, mode = one_alert(applied)
    assert prompt == text and mode == "info"
    for label in ("New", "Validate", "Solve", "Scenarios", "Clear results"):
        assert f"{label}:" in text


def test_a_frozen_pane_excel_cannot_set_is_reported_not_fatal():
    class Sheet:
        name = "Out Flows"

        @property
        def freeze_panes(self):
            raise NotImplementedError  # desktop engines: no xlwings API

        def activate(self):
            raise RuntimeError("window not available")

    class Book:
        class app:  # noqa: N801 - stands in for xw.App
            class engine:  # noqa: N801
                name = "excel"

    writer = excel_io.Writer(Book())
    writer.freeze_header(Sheet())
    assert writer.skipped == ["frozen header row on Out Flows"]


def test_reading_and_writing_in_chunks(tmp_path, monkeypatch):
    src = tmp_path / "da.xlsx"
    shutil.copy(EXAMPLES / "delivery_allocation_small.xlsx", src)
    whole = excel_io.read_book(json_book(src))
    monkeypatch.setattr(excel_io, "CHUNK_ROWS", 4)
    chunked = excel_io.read_book(json_book(src))
    assert list(chunked) == list(whole)
    for name in whole:
        pd.testing.assert_frame_equal(chunked[name], whole[name], obj=name)
    outcome, applied = run_ribbon(ribbon.solve, src, tmp_path / "excel.xlsx")
    assert applied.funcs.count("setValues") > len(outcome.sheets)  # several per sheet
    write_result(src, tmp_path / "headless.xlsx", outcome.sheets)
    assert_same_out_sheets(tmp_path / "headless.xlsx", tmp_path / "excel.xlsx", formatting=True)
