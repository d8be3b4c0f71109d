"""One test per validation rule of the MPS workbook: message, sheet and cell."""

from __future__ import annotations

import pandas as pd
import pytest
from mps_support import make_case, raw_sheets, week_code
from openpyxl.utils import get_column_letter

from solver_core import api


def base():
    skus = [{"sku": "A", "lead_time_weeks": 2, "moq": 10},
            {"sku": "B", "lead_time_weeks": 2, "pn": "PB"}]
    cap = [{"factory": "F", "sku": "A", "units_per_hour": 100.0},
           {"factory": "F", "pn": "PB", "units_per_hour": 50.0}]
    return make_case(skus, cap, {"A": [5, 5, 5, 5], "B": [3, 3, 3, 3]}, 4,
                     inventory={"A": 10})


def cell(frame: pd.DataFrame, column: str, i: int) -> str:
    """A1 cell of record ``i`` (0-based) of ``column`` in a sheet written from ``frame``."""
    return f"{get_column_letter(list(frame.columns).index(column) + 1)}{i + 2}"


def problems(data, settings, severity=None):
    outcome = api.validate(raw_sheets(data, settings))
    return [p for p in outcome.problems.items if severity is None or p.severity == severity]


def find(items, sheet, cell_ref, *words):
    hits = [p for p in items if p.sheet == sheet and p.cell == cell_ref
            and all(w.lower() in p.message.lower() for w in words)]
    assert hits, f"no problem at {sheet}!{cell_ref} with {words}; got: " + "; ".join(
        f"{p.severity} {p.sheet}!{p.cell}: {p.message}" for p in items)
    return hits[0]


def test_base_case_is_valid():
    data, settings = base()
    assert not [p for p in problems(data, settings) if p.severity == "error"]


def test_week_column_not_in_calendar():
    data, settings = base()
    data["Forecast"]["2031W07"] = 4.0
    pos = list(data["Forecast"].columns).index("2031W07") + 1
    find(problems(data, settings, "error"), "Forecast", f"{get_column_letter(pos)}1",
         "2031W07", "not in the Calendar")


def test_header_that_is_neither_column_nor_week():
    data, settings = base()
    data["ProductionDays"]["remarks"] = "x"
    pos = list(data["ProductionDays"].columns).index("remarks") + 1
    find(problems(data, settings, "error"), "ProductionDays", f"{get_column_letter(pos)}1",
         "neither a known column nor a week code")


def test_start_week_not_in_calendar():
    data, settings = base()
    settings["start_week"] = "2031W01"
    row = list(settings).index("start_week") + 2
    find(problems(data, settings, "error"), "Settings", f"B{row}", "2031W01",
         "not in the Calendar")


def test_start_week_too_close_to_calendar_end():
    data, settings = base()
    settings["start_week"] = data["Calendar"]["week"].iloc[-2]
    row = list(settings).index("start_week") + 2
    find(problems(data, settings, "error"), "Settings", f"B{row}", "too close to the end",
         "horizon_weeks is 4")


def test_sku_in_forecast_but_not_in_skus():
    data, settings = base()
    fc = data["Forecast"]
    data["Forecast"] = pd.concat([fc, fc.iloc[[0]].assign(sku="GHOST")], ignore_index=True)
    find(problems(data, settings, "error"), "Forecast", cell(data["Forecast"], "sku", 2),
         "GHOST", "in Forecast but not in SKUs")


def test_sku_in_skus_but_not_in_forecast_is_a_warning():
    data, settings = base()
    data["Forecast"] = data["Forecast"].iloc[[0]]
    find(problems(data, settings, "warning"), "SKUs", cell(data["SKUs"], "sku", 1),
         "B", "not in Forecast", "demand is taken as 0")


@pytest.mark.parametrize("sheet", ["Inventory", "OpenPOs", "PreBuild"])
def test_sku_in_other_sheet_but_not_in_skus(sheet):
    data, settings = base()
    if sheet == "Inventory":
        data[sheet] = pd.DataFrame([("SC", "NOPE", 4.0)],
                                   columns=["supply_center", "sku", "quantity"])
    elif sheet == "OpenPOs":
        data[sheet] = pd.DataFrame([("F", "NOPE", "SC", 4.0, data["Calendar"]["start_date"][1])],
                                   columns=["factory", "sku", "supply_center", "quantity",
                                            "arrival_date"])
    else:
        data[sheet] = pd.DataFrame({"sku": ["NOPE"], "supply_center": ["SC"],
                                    week_code(1): [5.0]})
    find(problems(data, settings, "error"), sheet, cell(data[sheet], "sku", 0), "NOPE",
         f"in {sheet} but not in SKUs")


def test_capacity_row_for_unknown_pn():
    data, settings = base()
    cap = data["Capacity"]
    data["Capacity"] = pd.concat([cap, cap.iloc[[1]].assign(pn="PZZ")], ignore_index=True)
    find(problems(data, settings, "error"), "Capacity", cell(data["Capacity"], "pn", 2),
         "Unknown pn 'PZZ'")


def test_capacity_row_without_pn_or_sku():
    data, settings = base()
    data["Capacity"].loc[1, "pn"] = None
    data["Capacity"].loc[1, "sku"] = None
    find(problems(data, settings, "error"), "Capacity", cell(data["Capacity"], "pn", 1),
         "neither a pn nor a sku")


def test_negative_quantity():
    data, settings = base()
    data["Inventory"].loc[0, "quantity"] = -5.0
    find(problems(data, settings, "error"), "Inventory", cell(data["Inventory"], "quantity", 0),
         ">= 0")


def test_text_quantity():
    data, settings = base()
    data["Inventory"]["quantity"] = data["Inventory"]["quantity"].astype(object)
    data["Inventory"].loc[0, "quantity"] = "lots"
    find(problems(data, settings, "error"), "Inventory", cell(data["Inventory"], "quantity", 0),
         "expected a number", "lots")


def test_negative_forecast_cell():
    data, settings = base()
    data["Forecast"].loc[1, week_code(2)] = -3.0
    find(problems(data, settings, "error"), "Forecast", cell(data["Forecast"], week_code(2), 1),
         ">= 0")


def test_lead_time_shorter_than_transport_plus_one():
    data, settings = base()
    data["SKUs"].loc[0, "transport_weeks"] = 2
    find(problems(data, settings, "error"), "SKUs", cell(data["SKUs"], "lead_time_weeks", 0),
         "less than transport_weeks + 1")


def test_lead_time_not_shorter_than_horizon_is_a_warning():
    data, settings = base()
    data["SKUs"].loc[1, "lead_time_weeks"] = 4
    find(problems(data, settings, "warning"), "SKUs", cell(data["SKUs"], "lead_time_weeks", 1),
         "not shorter than the 4-week horizon")


def test_moq_above_every_week_capacity_is_a_warning():
    data, settings = base()
    data["SKUs"].loc[0, "moq"] = 5000  # F makes at most 100 a week
    find(problems(data, settings, "warning"), "SKUs", cell(data["SKUs"], "moq", 0),
         "MOQ 5000 is above any week's capacity")


def test_factory_without_production_days():
    data, settings = base()
    data["Capacity"].loc[1, "factory"] = "G"
    find(problems(data, settings, "error"), "Capacity", cell(data["Capacity"], "factory", 1),
         "Factory G has no row in ProductionDays")


def test_too_many_production_days():
    data, settings = base()
    data["ProductionDays"].loc[0, week_code(1)] = 9
    find(problems(data, settings, "error"), "ProductionDays",
         cell(data["ProductionDays"], week_code(1), 0), "at most 7 days")


def test_stop_week_not_in_calendar():
    data, settings = base()
    data["SKUs"]["stop_week"] = data["SKUs"]["stop_week"].astype(object)
    data["SKUs"].loc[0, "stop_week"] = "2040W01"
    find(problems(data, settings, "error"), "SKUs", cell(data["SKUs"], "stop_week", 0),
         "stop_week 2040W01", "not in the Calendar")


def test_duplicate_sku_row():
    data, settings = base()
    data["SKUs"] = pd.concat([data["SKUs"], data["SKUs"].iloc[[0]]], ignore_index=True)
    find(problems(data, settings, "error"), "SKUs", cell(data["SKUs"], "supply_center", 2),
         "Duplicate")


def test_calendar_out_of_order():
    data, settings = base()
    data["Calendar"].loc[3, "start_date"] = data["Calendar"]["start_date"][1]
    find(problems(data, settings, "error"), "Calendar", cell(data["Calendar"], "start_date", 3),
         "not after the previous week")


def test_every_problem_is_reported_and_nothing_is_solved():
    data, settings = base()
    data["SKUs"].loc[0, "transport_weeks"] = 2
    data["Inventory"].loc[0, "quantity"] = -5.0
    data["Forecast"]["2031W07"] = 1.0
    outcome = api.solve(raw_sheets(data, settings))
    assert outcome.exit_code == api.EXIT_INVALID
    assert [s.name for s in outcome.sheets] == ["Out Summary", "Out Validation"]
    assert len(outcome.problems.errors) >= 3


def test_anker_export_headers_are_accepted():
    data, settings = base()
    data["Calendar"] = data["Calendar"].rename(columns={"week": "安克周"})
    data["SKUs"] = data["SKUs"].rename(columns={"supply_center": "供应中心",
                                                "lead_time_weeks": "leadtime",
                                                "safety_stock_weeks": "ss_wks",
                                                "holding_cost": "stock_cost",
                                                "lost_sales_cost": "loss_sales_cost",
                                                "moq": "MOQ", "transport_weeks": "运输SLA"})
    data["Capacity"] = data["Capacity"].rename(columns={"factory": "组装厂", "line": "产线类别编号",
                                                        "units_per_hour": "UPH"})
    data["Inventory"] = data["Inventory"].rename(columns={"quantity": "数量"})
    data["Forecast"] = data["Forecast"].rename(columns={"sku": "SKU编码"})
    assert not [p for p in problems(data, settings) if p.severity == "error"]


def test_date_headers_map_to_their_calendar_week():
    """An export with dates instead of week codes as headers (mid-week dates too)."""
    data, settings = base()
    fc = data["Forecast"]
    monday = data["Calendar"]["start_date"][1]
    data["Forecast"] = fc.rename(columns={week_code(1): str(monday + pd.Timedelta(days=2))})
    assert not [p for p in problems(data, settings) if p.severity == "error"]
    from solver_core.master_production import SCHEMA
    from solver_core.master_production.data import load
    from solver_core.tables import Problems, parse_settings

    raw = raw_sheets(data, settings)
    found = Problems()
    inst = load(raw, parse_settings(raw["Settings"], SCHEMA.settings, found), found)
    assert inst.demand[0].tolist() == [5, 5, 5, 5]
