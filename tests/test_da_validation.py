"""Delivery allocation: one test per validation rule, asserting severity, cell and message.

The base workbook is valid; each test breaks one thing. Sheet layouts (see
da_support.workbook): Orders A fulfillment_order, B order, C supply_center, D sku,
E quantity, F rpd, G epd, H region, I line; POs A po … D quantity, E arrival_date;
RegionCapacity A sku, B region, C capacity; Settings rows 2 model, 3 plan_date,
4 horizon_end, 5 rpd_penalty, 6 epd_penalty, 7 penalty.
"""

from __future__ import annotations

import pandas as pd
import pytest

from solver_core import api
from solver_core.delivery_allocation import examples
from solver_core.outputs import summary_items

try:
    from .da_support import day, line, solve_and_check, workbook
except ImportError:  # tests/ is not a package
    from da_support import day, line, solve_and_check, workbook


def base():
    return workbook(
        [line("A", "S", 10, rpd=1, epd=3), line("B", "S", 5, rpd=2, epd=4, region="R2")],
        inventory=[("Y", "S", 8)], pos=[("P1", "Y", "S", 10, 4)], capacity=[("S", "R1", 6)])


def problems_of(data, settings):
    """(outcome of solve, problems) — invalid input must not be solved."""
    outcome = api.solve(examples.raw_sheets(data, settings))
    return outcome, outcome.problems.items


def find(problems, severity, sheet, cell, *phrases):
    hits = [p for p in problems if (p.severity, p.sheet, p.cell) == (severity, sheet, cell)]
    assert hits, f"no {severity} at {sheet}!{cell}; got " + "; ".join(
        f"{p.severity} {p.sheet}!{p.cell}: {p.message}" for p in problems)
    for phrase in phrases:
        assert any(phrase in p.message for p in hits), (phrase, [p.message for p in hits])
    return hits[0]


def assert_invalid(outcome):
    assert outcome.exit_code == api.EXIT_INVALID
    names = [s.name for s in outcome.sheets]
    assert "Out Validation" in names and "Out Allocations" not in names


def test_the_base_workbook_is_valid_and_solves():
    data, settings = base()
    solved = solve_and_check(data, settings)
    assert solved.outcome.exit_code == 0
    assert solved.outcome.problems.items == []


def test_a_date_that_is_not_a_date_is_an_error():
    data, settings = base()
    data["Orders"].loc[0, "rpd"] = "next Tuesday"
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Orders", "F2", "expected a date", "next Tuesday")
    assert_invalid(outcome)


def test_a_plan_date_that_is_not_a_date_is_an_error():
    data, settings = base()
    settings["plan_date"] = "today"
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Settings", "B3", "plan_date", "expected a date")
    assert_invalid(outcome)


def test_a_missing_plan_date_is_an_error():
    data, settings = base()
    del settings["plan_date"]
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Settings", "A7", "plan_date", "missing")
    assert_invalid(outcome)


def test_horizon_end_before_plan_date_is_an_error():
    data, settings = base()
    settings["horizon_end"] = day(-1)
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Settings", "B4", "horizon_end", "before plan_date")
    assert_invalid(outcome)


def test_an_unknown_penalty_mode_is_an_error():
    data, settings = base()
    settings["penalty"] = "quadratic"
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Settings", "B7", "linear, cumulative", "quadratic")
    assert_invalid(outcome)


def test_epd_before_rpd_is_a_warning_that_names_the_rule():
    data, settings = base()
    data["Orders"].loc[1, "epd"] = day(0)  # RPD is day 2
    solved = solve_and_check(data, settings)
    find(solved.outcome.problems.items, "warning", "Orders", "G3", "before RPD",
         "taken to be the RPD")
    assert solved.outcome.exit_code == 0
    assert solved.status("B")["epd"] == day(2)


def test_po_arriving_before_the_plan_date_is_a_warning_and_on_hand():
    data, settings = base()
    data["POs"].loc[0, "arrival_date"] = day(-5)
    solved = solve_and_check(data, settings)
    find(solved.outcome.problems.items, "warning", "POs", "E2", "before plan_date",
         "treated as on hand")
    a = solved.allocations()
    assert set(a.loc[a["source"] == "P1", "date"]) <= {day(1), day(2)}


def test_po_arriving_after_the_horizon_is_a_warning_and_unused():
    data, settings = base()
    data["POs"].loc[0, "arrival_date"] = day(40)
    solved = solve_and_check(data, settings)
    find(solved.outcome.problems.items, "warning", "POs", "E2", "after horizon_end",
         "not used")
    assert "P1" not in set(solved.allocations()["source"])


def test_a_sku_with_no_inventory_and_no_po_is_a_warning():
    data, settings = base()
    data["Orders"].loc[1, "sku"] = "T"
    solved = solve_and_check(data, settings)
    find(solved.outcome.problems.items, "warning", "Orders", "D3", "SKU T",
         "no inventory and no PO", "rows 3")
    assert solved.status("B")["status"] == "not delivered"


def test_a_duplicate_order_line_is_an_error():
    data, settings = base()
    data["Orders"].loc[1, "order"] = "A"  # both rows are now (A, 1)
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Orders", "B3", "Duplicate order/line", "row 2")
    assert_invalid(outcome)


def test_a_negative_quantity_is_an_error():
    data, settings = base()
    data["Orders"].loc[0, "quantity"] = -4
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Orders", "E2", "'quantity' must be >= 0")
    assert_invalid(outcome)


def test_a_text_quantity_is_an_error():
    data, settings = base()
    data["POs"]["quantity"] = data["POs"]["quantity"].astype(object)
    data["POs"].loc[0, "quantity"] = "ten"
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "POs", "D2", "expected a number", "ten")
    assert_invalid(outcome)


def test_a_negative_weight_is_an_error():
    data, settings = base()
    data["Orders"].loc[0, "epd_weight"] = -1
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Orders", "K2", "'epd_weight' must be >= 0")
    assert_invalid(outcome)


def test_region_capacity_for_an_unknown_region_is_an_error():
    data, settings = base()
    data["RegionCapacity"].loc[0, "region"] = "R9"
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "RegionCapacity", "B2", "Unknown region 'R9'", "R1, R2")
    assert_invalid(outcome)


def test_region_capacity_for_a_sku_nobody_orders_is_a_warning():
    data, settings = base()
    data["RegionCapacity"].loc[0, "sku"] = "Z"
    solved = solve_and_check(data, settings)
    find(solved.outcome.problems.items, "warning", "RegionCapacity", "A2", "'Z'", "ignored")


def test_a_zero_region_capacity_is_a_warning():
    data, settings = base()
    data["RegionCapacity"].loc[0, "capacity"] = 0
    solved = solve_and_check(data, settings)
    find(solved.outcome.problems.items, "warning", "RegionCapacity", "C2", "Capacity 0")
    assert solved.status("A")["delivered"] == 0


def test_a_line_with_rpd_after_the_horizon_is_a_warning_and_left_out():
    data, settings = base()
    data["Orders"].loc[1, ["rpd", "epd"]] = [day(31), day(32)]
    solved = solve_and_check(data, settings)
    find(solved.outcome.problems.items, "warning", "Orders", "F3", "after horizon_end",
         "left out")
    assert solved.summary["order_lines"] == 1


def test_a_zero_quantity_line_is_a_warning_and_left_out():
    data, settings = base()
    data["Orders"].loc[1, "quantity"] = 0
    solved = solve_and_check(data, settings)
    find(solved.outcome.problems.items, "warning", "Orders", "E3", "Quantity is 0")
    assert solved.summary["order_lines"] == 1


def test_an_empty_required_cell_is_an_error():
    data, settings = base()
    data["Orders"].loc[0, "region"] = None
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "Orders", "H2", "'region' is empty")
    assert_invalid(outcome)


def test_a_missing_sheet_and_a_missing_column_are_errors():
    data, settings = base()
    del data["POs"]
    data["Orders"] = data["Orders"].drop(columns=["epd"])
    outcome, problems = problems_of(data, settings)
    find(problems, "error", "POs", "A1", "Sheet 'POs' is missing")
    find(problems, "error", "Orders", "K1", "Column 'epd' is missing")
    assert_invalid(outcome)


def test_every_problem_is_reported_not_only_the_first():
    data, settings = base()
    data["Orders"].loc[0, "quantity"] = -1
    data["Orders"].loc[1, "epd"] = "soon"
    data["RegionCapacity"].loc[0, "region"] = "R9"
    outcome, problems = problems_of(data, settings)
    errors = {(p.sheet, p.cell) for p in problems if p.severity == "error"}
    assert {("Orders", "E2"), ("Orders", "G3"), ("RegionCapacity", "B2")} <= errors
    validation = next(s.frame for s in outcome.sheets if s.name == "Out Validation")
    assert list(validation.columns) == ["severity", "sheet", "cell", "message"]
    assert len(validation) == len(problems)


def test_the_anker_export_headers_are_accepted():
    # A raw Anker export pasted as is: Chinese headers, optional columns left out.
    data, settings = base()
    data["Orders"] = data["Orders"].drop(columns=["line", "rpd_weight", "epd_weight"]).rename(
        columns={"fulfillment_order": "履行订单号", "order": "订单号", "supply_center": "供应中心",
                 "quantity": "数量", "epd": "行EPD", "region": "区域", "sku": "SKU", "rpd": "RPD"})
    data["Inventory"] = data["Inventory"].rename(
        columns={"supply_center": "供应中心", "available": "可用量"})
    data["POs"] = data["POs"].rename(columns={
        "po": "PO/工单号", "quantity": "未入库数量", "arrival_date": "要求到货时间",
        "batch": "批次号"})
    data["RegionCapacity"] = data["RegionCapacity"].rename(columns={"capacity": "数量",
                                                                    "region": "区域"})
    solved = solve_and_check(_with_standard_names(data), settings)
    raw_solved = api.solve(examples.raw_sheets(data, settings))
    assert raw_solved.exit_code == 0, raw_solved.message
    assert raw_solved.problems.items == []
    summary = summary_items({s.name: s.frame for s in raw_solved.sheets})
    assert summary["penalty"] == pytest.approx(solved.summary["penalty"])


def test_without_a_line_column_the_rows_of_each_order_are_numbered():
    # A raw export: one row per order and SKU, no line numbers.
    data, settings = base()
    data["Orders"].loc[1, "order"] = "A"  # order A now holds SKU S twice: rows 2 and 3
    data["Orders"] = data["Orders"].drop(columns=["line"])
    outcome = api.solve(examples.raw_sheets(data, settings))
    assert outcome.exit_code == 0, outcome.message
    status = next(s.frame for s in outcome.sheets if s.name == "Out OrderStatus")
    assert sorted(zip(status["order"], status["line"])) == [("A", 1), ("A", 2)]


def _with_standard_names(data):
    """The same tables with our own headers, for the checker."""
    names = {"履行订单号": "fulfillment_order", "订单号": "order", "供应中心": "supply_center",
             "数量": "quantity", "行EPD": "epd", "区域": "region", "SKU": "sku", "RPD": "rpd",
             "可用量": "available", "PO/工单号": "po", "未入库数量": "quantity",
             "要求到货时间": "arrival_date", "批次号": "batch"}
    out = {k: v.rename(columns=names) for k, v in data.items()}
    out["RegionCapacity"] = data["RegionCapacity"].rename(columns={"数量": "capacity",
                                                                   "区域": "region"})
    out["Orders"] = out["Orders"].assign(line="1", rpd_weight=1.0, epd_weight=1.0)
    return out


def test_several_inventory_rows_of_a_sku_are_added_up():
    data, settings = base()
    data["Inventory"] = pd.concat([data["Inventory"], data["Inventory"]], ignore_index=True)
    solved = solve_and_check(data, settings)
    used = solved.allocations()
    assert used.loc[used["source"] == "inventory", "quantity"].sum() == 15  # 16 on hand
