"""The input side: unreadable files, the number parser's rules and limits, header
problems at their header cell, complete cell references."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from solver_core import api
from solver_core.tables import (
    DAY,
    INTEGER,
    NUMBER,
    TEXT,
    WEEK,
    Column,
    Problems,
    Sheet,
    complete_cell,
    convert_value,
    odd_ones,
    parse_table,
    raw_frame,
)
from solver_core.workbook import WorkbookError, read_workbook

ROOT = Path(__file__).resolve().parents[1] / "xlsx_templates"



SUPPLY = Sheet("Supply", (Column("supplier"), Column("product"), Column("day", DAY),
                          Column("pallets", NUMBER),
                          Column("cost_per_pallet_day", NUMBER, required=False, default=0.0)),
               key=("supplier", "product", "day"))
FORECAST = Sheet("Forecast", (Column("sku"),), key=("sku",),
                 wide=Column("demand", NUMBER, required=False, default=0.0))


def parse(rows, sheet=SUPPLY):
    problems = Problems()
    table = parse_table(raw_frame(rows), sheet, problems)
    return table, [(p.severity, p.cell, p.message) for p in problems.items]


# ---------------------------------------------------------------------------
# Files that are not workbooks


def _xlsx_with_sheet_xml(path, text: str):
    """A valid workbook whose first sheet's A2 holds ``text`` written raw into the XML."""
    wb = Workbook()
    wb.active.title = "Settings"
    wb.active.append(["setting", "value"])
    wb.active.append(["model", "PLACEHOLDER"])
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    name = "xl/worksheets/sheet1.xml"
    xml = parts[name].decode()
    for part, data in parts.items():  # shared strings hold the text when not inline
        if b"PLACEHOLDER" in data:
            name, xml = part, data.decode()
    parts[name] = xml.replace("PLACEHOLDER", text).encode("utf-8")
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)


BAD_FILES = {
    "empty.xlsx": b"",
    "random.xlsx": bytes(range(256)) * 8,
    "table.xlsx": b"setting,value\nmodel,production_distribution\n",
    "page.xlsx": b"<!DOCTYPE html><html><body><table></table></body></html>",
    "old.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_file_that_is_not_a_workbook_is_a_workbook_error(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(WorkbookError, match="not an .xlsx workbook"):
        read_workbook(path)


def test_truncated_folder_and_missing_files_are_workbook_errors(tmp_path):
    good = (ROOT / "examples" / "delivery_allocation_small.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(good[: len(good) // 2])
    with pytest.raises(WorkbookError):
        read_workbook(tmp_path / "cut.xlsx")
    with pytest.raises(WorkbookError, match="folder"):
        read_workbook(tmp_path)
    with pytest.raises(WorkbookError, match="not found"):
        read_workbook(tmp_path / "nothing.xlsx")
    # An xlsx without the extension, or named .xls, is still read.
    (tmp_path / "plan").write_bytes(good)
    (tmp_path / "plan.xls").write_bytes(good)
    assert "Orders" in read_workbook(tmp_path / "plan")
    assert "Orders" in read_workbook(tmp_path / "plan.xls")


@pytest.mark.parametrize("text", ["Horace\x01", "a\x00b", "&#xD800;", "<broken"])
def test_sheet_xml_that_does_not_parse_is_a_workbook_error(tmp_path, text):
    path = tmp_path / "bad.xlsx"
    _xlsx_with_sheet_xml(path, text)
    before = path.read_bytes()
    try:
        raw = read_workbook(path)
    except WorkbookError as exc:
        assert "damaged" in str(exc)
    else:  # a reader that accepts the text must hand it on as text
        assert isinstance(raw["Settings"].iloc[0, 1], str)
    assert path.read_bytes() == before


# ---------------------------------------------------------------------------
# Numbers, days, weeks, text


@pytest.mark.parametrize("value, words", [
    ("1,5", "use a point as decimal separator"),
    ("1,000", "use a point as decimal separator"),
    (1e308, "limit"),
    ("1e13", "limit"),
    (float("inf"), "finite"),
    ("#N/A", "Excel error #N/A"),
    ("#DIV/0!", "Excel error #DIV/0!"),
])
def test_number_cells_reject_what_is_not_a_number(value, words):
    x, err = convert_value(value, NUMBER)
    assert x is None and words in err


def test_numbers_that_are_fine():
    assert convert_value("1.5", NUMBER) == (1.5, None)
    assert convert_value(1e12, NUMBER) == (1e12, None)
    assert convert_value(" 7 ", INTEGER) == (7, None)


def test_days_and_weeks_have_calendar_limits():
    assert convert_value(3660, DAY) == (3660, None)
    assert "3660" in convert_value(3661, DAY)[1]
    assert "3660" in convert_value(100_000, DAY)[1]
    assert convert_value("2025W53", WEEK) == ("2025W53", None)
    for bad in ("2025W99", "2025W00"):
        assert "01 to 53" in convert_value(bad, WEEK)[1]


def test_text_starting_with_equals_stays_text_and_excel_errors_are_errors():
    assert convert_value("=SUM(1,2)", TEXT) == ("=SUM(1,2)", None)
    table, found = parse([["supplier", "product", "day", "pallets"],
                          ["=cmd|' /C calc'!A0", "#REF!", 1, 2]])
    assert table["supplier"].iat[0] == "=cmd|' /C calc'!A0"
    assert found == [("error", "B2", "the cell holds the Excel error #REF!; fix the formula "
                      "or type the value.")]


def test_every_bad_cell_is_reported_at_its_cell_and_good_cells_are_kept():
    rows = [["supplier", "product", "day", "pallets"]]
    rows += [["S", f"P{i}", 1, i] for i in range(1000)]
    rows[10][3] = "1,5"
    rows[20][3] = -2
    rows[30][2] = 2.5
    rows[40][3] = 1e300
    table, found = parse(rows)
    at = {c: m for _, c, m in found}
    assert sorted(at) == ["C31", "D11", "D21", "D41"]  # rows[k] is Excel row k + 1
    assert "use a point as decimal separator" in at["D11"]
    assert at["D21"] == "'pallets' must be >= 0, found -2."
    assert "day number" in at["C31"] and at["D41"] == "'pallets' must be <= 1e+12, found 1e+300."
    assert table["pallets"].iat[0] == 0 and table["pallets"].iat[9] is None
    assert table["pallets"].iat[500] == 500.0 and table["day"].iat[500] == 1
    assert isinstance(table["day"].iat[500], int)


def test_mixed_day_cells_keep_their_kind():
    table, found = parse([["supplier", "product", "day", "pallets"],
                          ["S", "A", dt.datetime(2025, 1, 6), 1], ["S", "B", 2, 1]])
    assert found == []
    assert table["day"].tolist() == [dt.date(2025, 1, 6), 2]


# ---------------------------------------------------------------------------
# Headers


def test_a_misspelled_required_header_is_an_error_at_that_header_with_a_suggestion():
    _, found = parse([["supplier", "product", "day", "palets"], ["S", "A", 1, 2]])
    assert found == [("error", "D1", "Column 'pallets' is missing from sheet 'Supply': found "
                      "'palets' in D1 — did you mean 'pallets'? Rename the header.")]


def test_a_missing_required_header_points_at_the_first_empty_header_cell():
    _, found = parse([["supplier", "product", "day"], ["S", "A", 1]])
    assert [(s, c) for s, c, _ in found] == [("error", "D1")]
    assert "expected columns" in found[0][2]


def test_unknown_misspelled_optional_and_duplicate_headers_are_warnings_at_their_cell():
    _, found = parse([["supplier", "product", "day", "pallets", "ocst_per_pallet_day",
                       "notes", "Pallets", None, "x"],
                      ["S", "A", 1, 2, 3, "n", 4, 5, 6]])
    assert [(s, c) for s, c, _ in found] == [
        ("warning", "E1"), ("warning", "F1"), ("warning", "G1"), ("warning", "H1"),
        ("warning", "I1")]
    assert "did you mean 'cost_per_pallet_day'" in found[0][2]
    assert "appears twice (also in D1)" in found[2][2]
    assert "no header" in found[3][2]


def test_week_headers_duplicate_blank_and_impossible_are_errors_at_the_header():
    _, found = parse([["sku", "2025W01", "2025W02", "2025W01", None, "2025W99", "2025W03"],
                      ["A", 1, 2, 3, 4, 5, 6]], FORECAST)
    assert [(s, c) for s, c, _ in found] == [("error", "D1"), ("error", "E1"), ("error", "F1")]
    assert "appears twice (also in B1)" in found[0][2]
    assert "01 to 53" in found[2][2]
    table, found = parse([["sku", "2025W01", None], ["A", 1, None]], FORECAST)
    assert found == [] and table["week"].tolist() == ["2025W01"]


# ---------------------------------------------------------------------------

def test_a_week_sheet_becomes_one_row_per_record_and_week_in_order():
    table, found = parse([["sku", "2025W01", "2025W02", "2025W03"],
                          ["A", 1, "x", None],
                          ["B", 4, 5, 6]], FORECAST)
    assert found == [("error", "C2", "expected a number, found text 'x'.")]
    assert list(table.columns[-3:]) == ["week", "wide_value", "_col"]
    assert list(zip(table["sku"], table["week"], table["wide_value"], table["_row"],
                    table["_col"])) == [
        ("A", "2025W01", 1.0, 2, 1), ("B", "2025W01", 4.0, 3, 1),
        ("A", "2025W02", None, 2, 2), ("B", "2025W02", 5.0, 3, 2),  # the bad cell: missing
        ("A", "2025W03", 0.0, 2, 3), ("B", "2025W03", 6.0, 3, 3)]  # blank: the default
    empty, found = parse([["sku"], ["A"]], FORECAST)
    assert found == [] and empty.empty and "wide_value" in empty.columns

# Cell references


@pytest.mark.parametrize("given, complete", [
    ("1", "A1"), ("12", "A12"), ("B", "B1"), ("", "A1"), ("C7", "C7"), ("AB3", "AB3")])
def test_cell_references_are_always_complete(given, complete):
    assert complete_cell(given) == complete
    problems = Problems()
    problems.error("Lanes", given, "x")
    assert problems.items[0].cell == complete


def test_an_unknown_model_is_reported_at_its_value_cell():
    raw = {"Settings": raw_frame([["setting", "value"], ["time_limit_s", 5],
                                  ["model", "flux"]])}
    outcome = api.validate(raw)
    assert outcome.exit_code == api.EXIT_INVALID
    assert [(p.sheet, p.cell) for p in outcome.problems.items] == [("Settings", "B3")]


def test_the_odd_kind_is_flagged_not_the_majority():
    def kind(v):
        return "date" if isinstance(v, dt.date) else "number"

    days = [1, 2, dt.date(2025, 1, 6), None, 4, 5]
    assert odd_ones(days, kind) == [False, False, True, False, False, False]
    assert odd_ones([dt.date(2025, 1, 6), dt.date(2025, 1, 7), 3], kind) == [False, False, True]
    assert odd_ones([1, 2, None], kind) == [False, False, False]


def test_error_cells_in_a_saved_workbook_are_read_as_their_error_text(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Supply"
    ws.append(["supplier", "product", "day", "pallets"])
    ws.append(["S", "#N/A", 1, "#DIV/0!"])  # openpyxl stores these as error cells (t="e")
    ws.append(["S", "B", 2, 3])
    ws["D5"] = "#REF!"  # an error below the rest of the data
    path = tmp_path / "errors.xlsx"
    wb.save(path)
    raw = read_workbook(path)["Supply"]
    assert raw.loc[2].tolist()[:4] == ["S", "#N/A", 1, "#DIV/0!"]
    assert raw.loc[3].tolist()[:4] == ["S", "B", 2, 3]
    assert raw.loc[5].tolist() == [None, None, None, "#REF!"]
    _, found = parse([list(raw.columns), *raw.values.tolist()])
    assert {c for _, c, _ in found} >= {"B2", "D2"}


def test_horizons_and_week_counts_have_their_unit_limit():
    raw = read_workbook(ROOT / "examples" / "production_distribution_small.xlsx")
    settings = raw["Settings"]
    row = settings.index[settings["setting"] == "horizon_days"][0]
    settings.loc[row, "value"] = 100_000
    found = [(p.cell, p.message) for p in api.validate(raw).problems.items]
    assert found == [(f"B{row}", "Setting 'horizon_days' must be <= 3660, found 100000.")]
    raw = read_workbook(ROOT / "examples" / "master_production_small.xlsx")
    raw["SKUs"].iloc[0, list(raw["SKUs"].columns).index("lead_time_weeks")] = 1e308
    found = [(p.cell, p.message) for p in api.validate(raw).problems.items]
    assert ("C2", "'lead_time_weeks' must be <= 520, found 1e+308.") in found


def test_a_formula_without_a_saved_value_is_a_warning_at_its_cell(tmp_path):
    import openpyxl

    from solver_core import api
    from solver_core.workbook import read_workbook

    source = Path(__file__).resolve().parents[1] / "solver_core" / "examples"
    wb = openpyxl.load_workbook(source / "delivery_allocation_small.xlsx")
    wb["Orders"]["E3"] = "=2*3"  # openpyxl saves a formula without its value
    path = tmp_path / "formula.xlsx"
    wb.save(path)
    outcome = api.validate(read_workbook(path))
    rows = outcome.problems.frame()
    warned = rows[(rows["severity"] == "warning") & (rows["sheet"] == "Orders")
                  & (rows["cell"] == "E3")]
    assert len(warned) == 1 and "formula with no saved value" in warned["message"].iat[0]
