"""Input rules added for silent cases: mixed day kinds flag the odd cell, an OpenPOs factory
missing from Capacity and a repeated DA Inventory row are named at their cells."""

import io
from pathlib import Path

import openpyxl

from solver_core import api
from solver_core.workbook import read_workbook

EXAMPLES = Path(__file__).resolve().parents[1] / "solver_core" / "examples"


def validate(tmp_path, name, edit):
    wb = openpyxl.load_workbook(io.BytesIO((EXAMPLES / name).read_bytes()))
    edit(wb)
    path = tmp_path / name
    wb.save(path)
    return api.validate(read_workbook(path)).problems.frame()


def test_one_date_among_day_numbers_is_the_cell_flagged(tmp_path):
    import datetime as dt

    def edit(wb):
        ws = wb["Supply"]
        day = next(c.column for c in ws[1] if c.value == "day")
        ws.cell(row=3, column=day).value = dt.datetime(2025, 3, 4)

    rows = validate(tmp_path, "production_distribution_small.xlsx", edit)
    days = rows[rows["message"].str.contains("use dates everywhere or day numbers")]
    assert list(zip(days["sheet"], days["cell"])) == [("Supply", "C3")], days


def test_an_open_po_factory_missing_from_capacity_is_named(tmp_path):
    def edit(wb):
        ws = wb["OpenPOs"]
        col = next(c.column for c in ws[1] if c.value == "factory")
        ws.cell(row=2, column=col).value = "F99"

    rows = validate(tmp_path, "master_production_small.xlsx", edit)
    hit = rows[rows["message"].str.contains("'F99'")]
    assert len(hit) == 1 and hit["severity"].iat[0] == "warning"
    assert hit["sheet"].iat[0] == "OpenPOs" and hit["cell"].iat[0].endswith("2")


def test_a_repeated_inventory_row_is_named_with_the_total(tmp_path):
    def edit(wb):
        ws = wb["Inventory"]
        ws.append([c.value for c in ws[2]])

    rows = validate(tmp_path, "delivery_allocation_small.xlsx", edit)
    hit = rows[rows["message"].str.contains("also on row 2")]
    assert len(hit) == 1 and hit["sheet"].iat[0] == "Inventory"
