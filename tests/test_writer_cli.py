"""The result writer and the command line: text stays text, OUT is always written, bad
output paths are refused before any work, nothing of the planner's is lost."""

import hashlib
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from solver_core import api, cli, workbook
from solver_core.outputs import ChartSpec, OutSheet, summary_sheet
from solver_core.workbook import CELL_TEXT_LIMIT, read_workbook, write_result

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "solver_core" / "examples"
NASTY = ['=HYPERLINK("http://x","y")', "=SUM(1,2)", "=cmd|' /C calc'!A0"]
# The key column whose first values are renamed, per example.
KEYS = {
    "production_distribution_small.xlsx": ("Products", "product"),
    "master_production_small.xlsx": ("SKUs", "sku"),
    "delivery_allocation_small.xlsx": ("Inventory", "sku"),
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def result_names(wb) -> list[str]:
    known = api.result_sheet_names()
    return [n for n in wb.sheetnames if n in known]


def rename_to_formulas(src: Path, dst: Path, sheet: str, column: str) -> dict:
    """Copy ``src`` with the first keys of ``sheet.column`` renamed to formula-like text,
    everywhere they occur, stored as text cells (as Excel stores a typed '=…)."""
    raw = read_workbook(src)
    keys = list(dict.fromkeys(raw[sheet][column].dropna()))[:len(NASTY)]
    mapping = dict(zip(keys, NASTY))
    wb = load_workbook(src)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value in mapping:
                    c.value = mapping[c.value]
                    c.data_type = "s"
    wb.save(dst)
    return mapping


@pytest.mark.parametrize("example", sorted(KEYS))
def test_formula_like_names_are_written_as_text(example, tmp_path):
    src = tmp_path / "in.xlsx"
    mapping = rename_to_formulas(EXAMPLES / example, src, *KEYS[example])
    before = digest(src)
    out = tmp_path / "out.xlsx"
    assert cli.main(["solve", str(src), "-o", str(out)]) == 0
    assert digest(src) == before
    wb = load_workbook(out)
    seen = set()
    for name in result_names(wb):
        for row in wb[name].iter_rows():
            for c in row:
                assert c.data_type != "f", f"{name}!{c.coordinate} is a formula: {c.value}"
                if c.value in NASTY:
                    seen.add(c.value)
    assert seen == set(mapping.values())  # the text round-trips into the results
    # Input sheets keep the names as text, exactly as read from the input.
    original = read_workbook(src)
    written = read_workbook(out)
    for name, frame in original.items():
        pd.testing.assert_frame_equal(written[name], frame)
        for row in wb[name].iter_rows():
            assert all(c.data_type != "f" for c in row)


def test_bulk_rows_and_chart_data_keep_text_as_text(tmp_path):
    n = 3000  # 12,000 cells: written by the bulk XML path
    big = pd.DataFrame({"name": [NASTY[i % 3] for i in range(n)], "err": ["#N/A"] * n,
                        "x": np.arange(n, dtype=float), "y": np.arange(n)})
    chart = ChartSpec("c", pd.DataFrame({"day": [1, 2], NASTY[1]: [1.0, 2.0]}))
    small = OutSheet("Out Flows", pd.DataFrame({NASTY[0]: [NASTY[2]], "n": [1]}),
                     charts=[chart])
    src = tmp_path / "in.xlsx"
    Workbook().save(src)
    out = write_result(src, tmp_path / "out.xlsx", [OutSheet("Out Orders", big), small])
    wb = load_workbook(out)
    for name in ("Out Orders", "Out Flows"):
        cells = [c for row in wb[name].iter_rows() for c in row if c.value is not None]
        assert not [c.coordinate for c in cells if c.data_type in ("f", "e")]
    assert wb["Out Orders"]["A2"].value == NASTY[0] and wb["Out Orders"]["B2"].value == "#N/A"
    assert wb["Out Flows"]["A1"].value == NASTY[0] and wb["Out Flows"]["A2"].value == NASTY[2]


def unreadable_inputs(tmp_path: Path) -> dict[str, Path]:
    made = {}
    made["zero bytes"] = tmp_path / "empty.xlsx"
    made["zero bytes"].write_bytes(b"")
    made["random bytes"] = tmp_path / "random.xlsx"
    made["random bytes"].write_bytes(np.random.default_rng(1).bytes(4096))
    made["csv renamed"] = tmp_path / "table.xlsx"
    made["csv renamed"].write_text("a,b\n1,2\n")
    made["folder"] = tmp_path / "folder.xlsx"
    made["folder"].mkdir()
    made["missing"] = tmp_path / "missing.xlsx"
    return made


@pytest.mark.parametrize("kind", ["zero bytes", "random bytes", "csv renamed", "folder",
                                  "missing"])
@pytest.mark.parametrize("command", ["solve", "validate"])
def test_unreadable_input_still_gets_an_out_workbook_saying_why(kind, command, tmp_path,
                                                                 capsys):
    src = unreadable_inputs(tmp_path)[kind]
    out = tmp_path / "out.xlsx"
    assert cli.main([command, str(src), "-o", str(out)]) == api.EXIT_INVALID
    assert "Traceback" not in capsys.readouterr().err
    wb = load_workbook(out)
    assert wb.sheetnames == ["Out Summary", "Out Validation"]
    summary = {r[0]: r[1] for r in wb["Out Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["status"] == "error" and "Cannot read the input" in summary["message"]
    rows = list(wb["Out Validation"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1 and rows[0][0] == "error" and rows[0][1] == src.name


def test_a_planners_sheet_starting_with_out_is_kept_and_marked_results_are_replaced(
        tmp_path):
    src = tmp_path / "in.xlsx"
    wb = Workbook()
    wb.active.title = "Settings"
    wb.create_sheet("Out of stock notes")["A1"] = "call Horace"
    wb.save(src)
    first = write_result(src, tmp_path / "first.xlsx",
                         [summary_sheet({"a": 1}), OutSheet("Out Special", pd.DataFrame())])
    # "Out Special" is no name scplan declares: the marker says this run wrote it.
    second = write_result(first, tmp_path / "second.xlsx", [summary_sheet({"a": 2})])
    wb = load_workbook(second)
    assert wb.sheetnames == ["Settings", "Out of stock notes", "Out Summary"]
    assert wb["Out of stock notes"]["A1"].value == "call Horace"
    assert wb["Out Summary"]["B2"].value == 2


def test_a_text_longer_than_a_cell_is_cut_with_a_warning_naming_the_cell(tmp_path):
    src = tmp_path / "in.xlsx"
    Workbook().save(src)
    long = "x" * (CELL_TEXT_LIMIT + 10)
    sheets = [summary_sheet({"a": 1}), OutSheet("Out Flows", pd.DataFrame({"p": ["a", long]}))]
    wb = load_workbook(write_result(src, tmp_path / "out.xlsx", sheets))
    assert wb["Out Flows"]["A3"].value == long[:CELL_TEXT_LIMIT]
    rows = list(wb["Out Validation"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[2]) for r in rows] == [("warning", "Out Flows", "A3")]
    assert f"{CELL_TEXT_LIMIT + 10:,}" in rows[0][3]


@pytest.fixture
def small_pd(tmp_path):
    path = tmp_path / "pd.xlsx"
    shutil.copy(EXAMPLES / "production_distribution_small.xlsx", path)
    return path


@pytest.fixture
def no_solving(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("solved although the output path is refused")

    monkeypatch.setattr(api, "solve", fail)
    monkeypatch.setattr(api, "validate", fail)


@pytest.mark.parametrize("command", ["solve", "validate"])
@pytest.mark.parametrize("how", ["same", "relative", "symlink", "folder"])
def test_a_bad_output_path_is_refused_before_any_work(command, how, small_pd, tmp_path,
                                                       monkeypatch, capsys, no_solving):
    before = digest(small_pd)
    if how == "same":
        out = str(small_pd)
    elif how == "relative":
        monkeypatch.chdir(tmp_path)
        out = os.path.join(".", "sub", "..", small_pd.name)
    elif how == "symlink":
        out = str(tmp_path / "link.xlsx")
        os.symlink(small_pd, out)
    else:
        out = str(tmp_path)
    assert cli.main([command, str(small_pd), "-o", out]) == api.EXIT_INVALID
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert digest(small_pd) == before


@pytest.mark.parametrize("command", ["solve", "validate"])
def test_an_unwritable_output_folder_is_a_clear_message(command, small_pd, tmp_path,
                                                         monkeypatch, capsys):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(workbook.tempfile, "mkstemp", denied)
    assert cli.main([command, str(small_pd), "-o", str(tmp_path / "o.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "Cannot write" in err and "Permission denied" in err and "Traceback" not in err


def test_template_never_overwrites_without_force(tmp_path, capsys):
    path = tmp_path / "my_plan.xlsx"
    path.write_bytes(b"the planner's data")
    assert cli.main(["template", "production_distribution", "-o", str(path)]) == 2
    assert path.read_bytes() == b"the planner's data"
    assert "--force" in capsys.readouterr().err
    assert cli.main(["template", "production_distribution", "-o", str(path), "--force"]) == 0
    assert "Settings" in load_workbook(path).sheetnames


def test_the_anker_option_of_the_mps_generator_writes_only_its_file(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "xlsx_templates"))
    try:
        import generate_master_production as generator
    finally:
        sys.path.remove(str(ROOT / "xlsx_templates"))
    written = []
    monkeypatch.setattr(generator, "write_template",
                        lambda schema, path, **kw: written.append(Path(path)) or Path(path))
    monkeypatch.setattr(generator.examples, "anker_example",
                        lambda seed: generator.examples.small_example())
    monkeypatch.setattr(sys, "argv", ["gen", "--anker", str(tmp_path / "anker.xlsx")])
    generator.main()
    assert written == [tmp_path / "anker.xlsx"]


def test_help_is_plain_text_with_version_and_help_on_every_argument(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "``" not in text and "scenarios" in text and "production_distribution" in text
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("scplan ")
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("validate", "demo", "template", "solve", "scenarios"):
        for action in sub.choices[name]._actions:
            assert action.help, f"{name} {action.dest} has no help text"


def test_summary_numbers_are_formatted_by_their_meaning():
    sheet = summary_sheet({"objective": 28159.8123, "mip_gap": 0.00268808635875852,
                           "solve_seconds": 6.58750000000002, "on_time_rate": 0.9,
                           "trucks": 12, "status": "optimal"})
    assert sheet.cell_formats == {(0, "value"): "#,##0.00", (1, "value"): "0.00%",
                                  (2, "value"): "0.0", (3, "value"): "0.0%",
                                  (4, "value"): "#,##0"}


@pytest.mark.parametrize("status, summary, line", [
    ("optimal", {"objective": 1234.5, "mip_gap": 0.004, "bound": 1229.56, "on_time_rate": 0.95},
     "delivery_allocation: optimal, cost 1,234.50, within 0.40% of the proven bound 1,229.56, "
     "service 95.0%"),
    ("optimal", {"objective": 10.0, "mip_gap": 0.0, "bound": 10.0},
     "delivery_allocation: optimal, cost 10.00, at the proven bound 10.00"),
    ("optimal", {"objective": 1908548.0, "mip_gap": 1.1e-5, "bound": 1908527.0},
     "delivery_allocation: optimal, cost 1,908,548.00, within 0.0011% of the proven bound "
     "1,908,527.00"),
    ("time_limit", {"objective": 10.0, "mip_gap": 0.2, "bound": 8.0},
     "delivery_allocation: time_limit, cost 10.00, within 20.00% of the proven bound 8.00"),
    ("time_limit", {"objective": 10.0, "mip_gap": None, "bound": None},
     "delivery_allocation: time_limit, cost 10.00, no bound proven"),
    ("optimal", {"message": "3 of 4 scenarios solved"}, "3 of 4 scenarios solved"),
])
def test_the_one_line_result_gives_cost_gap_bound_and_service(status, summary, line):
    assert api.result_line("delivery_allocation", api.ModelRun(status, summary, [])) == line


def test_the_excel_writer_sets_filter_buttons_on_windows_and_says_so_elsewhere(monkeypatch):
    from addin import excel_io

    calls = []

    class Range:
        class api:  # noqa: N801 - stands in for the COM Range
            @staticmethod
            def AutoFilter():  # noqa: N802 - Excel's name
                calls.append("AutoFilter")

    class Sheet:
        name = "Out Flows"

    class Book:
        class app:  # noqa: N801 - stands in for xw.App
            class engine:  # noqa: N801
                name = "excel"

    monkeypatch.setattr(excel_io.sys, "platform", "win32")
    writer = excel_io.Writer(Book())
    writer.autofilter(Sheet(), Range())
    assert calls == ["AutoFilter"] and writer.skipped == []
    monkeypatch.setattr(excel_io.sys, "platform", "darwin")
    writer.autofilter(Sheet(), Range())
    writer.autofilter(Sheet(), Range())
    assert writer.skipped == [excel_io.AUTOFILTER_SKIPPED]
