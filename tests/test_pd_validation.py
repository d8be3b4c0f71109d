"""Every validation rule of the production–distribution workbook: message and cell."""

import math

import pandas as pd
import pytest
from pd_support import network, raw_sheets

from solver_core import api
from solver_core.tables import raw_frame


def problems_of(data, settings=None, raw=None):
    raw = raw if raw is not None else raw_sheets(data, settings or {})
    outcome = api.solve(raw)
    assert outcome.exit_code == api.EXIT_INVALID, outcome.message
    frame = {s.name: s.frame for s in outcome.sheets}["Out Validation"]
    assert list(frame.columns) == ["severity", "sheet", "cell", "message"]
    return [tuple(r) for r in frame.itertuples(index=False) if r.severity == "error"]


def find(problems, sheet, cell, *words):
    hits = [p for p in problems if p[1] == sheet and p[2] == cell
            and all(w.lower() in p[3].lower() for w in words)]
    assert hits, f"no {sheet}!{cell} problem with {words} in {problems}"
    return hits[0]


def base():
    return network(start=[("W", "p", 5)], supply=[("S", "p", 1, 3)], demand=[("K", "p", 2, 4)])


def test_missing_sheet_lists_expected_columns():
    data = base()
    del data["Lanes"]
    p = find(problems_of(data), "Lanes", "A1", "missing")
    assert "from, to, truck_cost" in p[3]


def test_missing_column_lists_expected_columns():
    data = base()
    data["Storage"] = data["Storage"].drop(columns=["capacity"])
    p = find(problems_of(data), "Storage", "D1", "capacity", "missing")
    assert "expected columns" in p[3]


def test_text_where_a_number_belongs():
    data = base()
    data["Supply"]["pallets"] = data["Supply"]["pallets"].astype(object)
    data["Supply"].loc[0, "pallets"] = "three"
    find(problems_of(data), "Supply", "D2", "expected a number", "three")


@pytest.mark.parametrize("value, words", [(-2, ">= 0"), (math.inf, "finite")])
def test_negative_or_infinite_quantity(value, words):
    data = base()
    data["Demand"]["pallets"] = data["Demand"]["pallets"].astype(object)
    data["Demand"].loc[0, "pallets"] = value
    find(problems_of(data), "Demand", "D2", words)


def test_unknown_product_location_category_and_lane_endpoint():
    data = base()
    data["Demand"].loc[1] = ["K", "zz", 1, 1]
    data["Products"].loc[2] = ["r", "NOPE"]
    data["Lanes"].loc[4] = ["S", "Mars", 10, 0, None]
    data["StartInventory"].loc[1] = ["Atlantis", "p", 1]
    probs = problems_of(data)
    find(probs, "Demand", "B3", "Unknown product 'zz'", "Products")
    find(probs, "Products", "B4", "Unknown category 'NOPE'", "Categories")
    find(probs, "Lanes", "B6", "Unknown location 'Mars'", "Locations")
    find(probs, "StartInventory", "A3", "Unknown location 'Atlantis'", "Locations")


def test_wrong_location_type():
    data = base()
    data["Demand"].loc[1] = ["W", "p", 1, 1]
    data["Lanes"].loc[4] = ["K", "S", 10, 0, None]
    probs = problems_of(data)
    find(probs, "Demand", "A3", "'W' is a warehouse", "plant")
    find(probs, "Lanes", "B6", "'S' is a supplier")


def test_duplicate_keys():
    data = base()
    data["Supply"].loc[1] = ["S", "p", 1, 2]
    find(problems_of(data), "Supply", "A3", "Duplicate", "row 2")


def test_product_that_fits_nowhere():
    data = base()
    data["Categories"].loc[1] = ["B", 10]
    data["Products"].loc[2] = ["b1", "B"]
    data["Supply"].loc[1] = ["S", "b1", 1, 4]
    find(problems_of(data), "Supply", "B3", "cannot be stored anywhere", "category B")


def test_days_outside_horizon_and_mixed_day_kinds():
    data = base()
    data["Supply"].loc[0, "day"] = 0
    find(problems_of(data), "Supply", "C2", "outside the horizon")
    data = base()
    data["Demand"].loc[0, "day"] = 9
    find(problems_of(data, {"horizon_days": 3}), "Demand", "C2", "outside the horizon",
         "horizon_days")
    import datetime as dt

    data = base()
    data["Supply"]["day"] = data["Supply"]["day"].astype(object)
    data["Supply"].loc[0, "day"] = dt.date(2025, 1, 6)
    find(problems_of(data), "Demand", "C2", "dates")


def test_bom_cycle_and_unknown_finished_good():
    data = base()
    data["Products"]["units_per_pallet"] = [10.0, 10.0]
    data["BOM"] = pd.DataFrame([("A", "B", 1), ("B", "A", 1), ("C", "p", 1)],
                               columns=["finished_good", "component", "quantity_per"])
    data["ProductionPlan"] = pd.DataFrame([("K", "A", 1, 10), ("K", "Z", 1, 10)],
                                          columns=["plant", "finished_good", "day", "quantity"])
    probs = problems_of(data)
    find(probs, "BOM", "B3", "BOM cycle", "A -> B -> A")
    find(probs, "ProductionPlan", "B3", "Unknown finished good 'Z'")


def test_bom_component_without_units_per_pallet():
    data = base()
    data["BOM"] = pd.DataFrame([("C", "p", 1)], columns=["finished_good", "component",
                                                        "quantity_per"])
    data["ProductionPlan"] = pd.DataFrame([("K", "C", 1, 10)],
                                          columns=["plant", "finished_good", "day", "quantity"])
    data["Products"]["units_per_pallet"] = [None, 5.0]
    find(problems_of(data), "Products", "C2", "units_per_pallet")


def test_unknown_setting_and_bad_setting_value():
    probs = problems_of(base(), {"shortage_penality": 5, "integer_pallets": "maybe"})
    p = find(probs, "Settings", "A3", "Unknown setting", "shortage_penality")
    assert "shortage_penalty" in p[3]  # the list of known settings
    find(probs, "Settings", "B4", "integer_pallets", "TRUE or FALSE")


def test_unknown_model():
    raw = raw_sheets(base(), {})
    raw["Settings"] = raw_frame([["setting", "value"], ["model", "flux_capacitor"]])
    find(problems_of(None, raw=raw), "Settings", "B2", "flux_capacitor",
         "production_distribution")


def test_every_problem_is_reported_not_only_the_first():
    data = base()
    data["Supply"].loc[1] = ["S", "zz", 1, -1]
    data["Lanes"].loc[4] = ["S", "Mars", 10, 0, None]
    probs = problems_of(data)
    assert len(probs) >= 3


def test_infeasible_data_names_day_location_and_category():
    # 30 pallets arrive but only 10 places exist anywhere: no plan can hold them.
    data = network(warehouse_capacity=5, plant_capacity=5, supply=[("S", "p", 2, 30)])
    outcome = api.solve(raw_sheets(data, {"time_limit_s": 30}))
    assert outcome.exit_code == api.EXIT_NO_PLAN
    assert outcome.status == "infeasible"
    sheets = {s.name: s.frame for s in outcome.sheets}
    errors = sheets["Out Validation"]
    text = " ".join(errors["message"])
    assert "Day 2" in text and "category A" in text and ("K" in text or "W" in text)
    summary = dict(zip(sheets["Out Summary"]["item"], sheets["Out Summary"]["value"]))
    assert summary["status"] == "infeasible" and "Day 2" in summary["message"]


def test_the_search_for_the_limits_gets_what_is_left_of_the_time_limit(monkeypatch):
    """When no plan fits, finding which limits are too small runs within the workbook's
    time limit, and a search that did not finish says so (it overran a 30 s limit by 40 s
    and then wrote nothing on a 110k-column workbook)."""
    from solver_core.production_distribution import diagnose

    given = []

    def unfinished(built, seconds, stop=None):
        given.append(seconds)
        return None

    monkeypatch.setattr(diagnose, "diagnose", unfinished)
    data = network(warehouse_capacity=5, plant_capacity=5, supply=[("S", "p", 2, 30)])
    outcome = api.solve(raw_sheets(data, {"time_limit_s": 30}))
    assert outcome.status == "infeasible" and outcome.exit_code == api.EXIT_NO_PLAN
    assert len(given) == 1 and diagnose.MIN_SECONDS <= given[0] <= 30
    sheets = {s.name: s.frame for s in outcome.sheets}
    summary = dict(zip(sheets["Out Summary"]["item"], sheets["Out Summary"]["value"]))
    assert "did not finish" in summary["message"] and "raise time_limit_s" in summary["message"]
    assert "raise time_limit_s" in " ".join(sheets["Out Validation"]["message"])


def test_infeasible_without_a_limit_exceeded_says_what_cannot_fit():
    from solver_core.production_distribution import diagnose
    from solver_core.tables import Problems

    problems = Problems()
    text = diagnose.report([], problems)
    assert "whole pallets or whole trucks" in text and len(problems.errors) == 1


def test_empty_template_says_what_to_fill_in(tmp_path):
    from solver_core import cli
    from solver_core.workbook import read_table

    path, out = tmp_path / "t.xlsx", tmp_path / "o.xlsx"
    assert cli.main(["template", "production_distribution", "-o", str(path)]) == 0
    assert cli.main(["solve", str(path), "-o", str(out)]) == 2
    messages = " ".join(read_table(out, "Out Validation")["message"])
    assert "Nothing to plan" in messages and "Sheet 'Lanes' has no rows" in messages
