"""The scplan command on production–distribution workbooks, as a planner uses it."""

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from pd_support import check_outcome, check_plan, network

from solver_core import api, cli
from solver_core.outputs import summary_items
from solver_core.production_distribution import SCHEMA, examples
from solver_core.template import write_template
from solver_core.workbook import read_table, read_workbook

EXAMPLES = Path(__file__).resolve().parents[1] / "xlsx_templates" / "examples"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def out_tables(path: Path) -> dict[str, pd.DataFrame]:
    wb = load_workbook(path, read_only=True)
    names = [n for n in wb.sheetnames if n.startswith("Out ")]
    wb.close()
    return {n: read_table(path, n) for n in names}


@pytest.fixture
def small_example(tmp_path):
    path = tmp_path / "small.xlsx"
    shutil.copy(EXAMPLES / "production_distribution_small.xlsx", path)
    return path


def test_solve_small_example_writes_every_result_sheet(small_example, tmp_path):
    before = digest(small_example)
    out = tmp_path / "result.xlsx"
    assert cli.main(["solve", str(small_example), "-o", str(out)]) == 0
    assert digest(small_example) == before  # the input is never modified
    tables = out_tables(out)
    assert set(tables) >= {"Out Summary", "Out Flows", "Out Trucks", "Out Inventory",
                           "Out Shortages", "Out Costs", "Out Saturation"}
    assert list(tables["Out Flows"].columns) == ["day", "from", "to", "product", "category",
                                                 "pallets"]
    assert list(tables["Out Trucks"].columns) == ["day", "from", "to", "trucks", "pallets",
                                                  "fill_rate"]
    assert list(tables["Out Saturation"].columns) == ["day", "location", "category", "pallets",
                                                      "capacity", "saturation"]
    assert list(tables["Out Costs"]["component"]) == ["trucking", "pallet_movement", "storage",
                                                      "shortage", "total"]
    summary = dict(zip(tables["Out Summary"]["item"], tables["Out Summary"]["value"]))
    for item in ("model", "status", "objective", "mip_gap", "solve_seconds", "build_seconds",
                 "rows", "columns", "nonzeros", "integers", "solver", "started_at",
                 "input_fingerprint"):
        assert item in summary
    assert summary["status"] == "optimal"
    data, settings = examples.small_example()
    check_plan(data, settings, tables)
    # Input sheets unchanged, saturation chart present.
    wb = load_workbook(out)
    assert wb.sheetnames[: len(SCHEMA.sheets) + 2] == load_workbook(small_example).sheetnames
    assert len(wb["Out Saturation"]._charts) == 1


def test_result_sheets_follow_their_declarations(small_example):
    """Every Out sheet has its declared columns, sorted by its time column first, and
    the raw-sheet checker finds the plan feasible and costed right."""
    raw = read_workbook(small_example)
    outcome = api.solve(raw)
    assert outcome.exit_code == 0, outcome.message
    costs = check_outcome(raw, outcome)
    assert costs is not None and costs["total"] > 0
    by_name = {s.name: s.frame for s in outcome.sheets}
    for table in SCHEMA.outputs:
        if table.name not in by_name:
            continue  # Out Scenarios: only from `scplan scenarios`
        frame = by_name[table.name]
        assert list(frame.columns) == table.column_names, table.name
        if table.sort_by:
            # "-cost": that column largest first (numbers only)
            sign = [-1 if k.startswith("-") else 1 for k in table.sort_by]
            frame = frame[[k.lstrip("-") for k in table.sort_by]]
            keys = [tuple(v * s if s < 0 else v for v, s in zip(row, sign))
                    for row in frame.itertuples(index=False)]
            assert keys == sorted(keys), f"{table.name} not sorted by {table.sort_by}"


def test_check_outcome_catches_a_changed_plan(small_example):
    """The checker can fail: one pallet fewer on a flow breaks a balance."""
    raw = read_workbook(small_example)
    outcome = api.solve(raw)
    flows = next(s for s in outcome.sheets if s.name == "Out Flows")
    flows.frame.loc[0, "pallets"] -= 1
    with pytest.raises(AssertionError):
        check_outcome(raw, outcome)


def test_solving_again_replaces_previous_results(small_example, tmp_path):
    first, second = tmp_path / "r1.xlsx", tmp_path / "r2.xlsx"
    assert cli.main(["solve", str(small_example), "-o", str(first)]) == 0
    assert cli.main(["solve", str(first), "-o", str(second), "--time-limit", "30"]) == 0
    names = load_workbook(second).sheetnames
    assert len(names) == len(set(names))
    assert names.count("Out Flows") == 1
    data, settings = examples.small_example()
    check_plan(data, settings, out_tables(second))


def test_invalid_input_exit_2_and_out_validation(tmp_path):
    data = network(supply=[("S", "nope", 1, 3)])
    path = tmp_path / "bad.xlsx"
    write_template(SCHEMA, path, data=data)
    before = digest(path)
    out = tmp_path / "bad-out.xlsx"
    assert cli.main(["solve", str(path), "-o", str(out)]) == 2
    assert digest(path) == before
    val = read_table(out, "Out Validation")
    assert (val["sheet"] == "Supply").any() and (val["cell"] == "B2").any()
    summary = read_table(out, "Out Summary")
    assert dict(zip(summary["item"], summary["value"]))["status"] == "error"
    assert cli.main(["validate", str(path)]) == 2


def test_output_must_not_overwrite_input(small_example):
    before = digest(small_example)
    assert cli.main(["solve", str(small_example), "-o", str(small_example)]) == 2
    assert digest(small_example) == before


def test_unreadable_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "notes.xlsx"
    bad.write_text("not a workbook")
    assert cli.main(["solve", str(bad), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert "Cannot open" in capsys.readouterr().err


def test_infeasible_exit_3(tmp_path):
    data = network(warehouse_capacity=5, plant_capacity=5, supply=[("S", "p", 1, 30)])
    path = tmp_path / "inf.xlsx"
    write_template(SCHEMA, path, data=data)
    out = tmp_path / "inf-out.xlsx"
    assert cli.main(["solve", str(path), "-o", str(out)]) == 3
    assert "Day 1" in " ".join(read_table(out, "Out Validation")["message"])


def test_time_limit_and_gap_override_the_sheet(small_example, tmp_path):
    out = tmp_path / "r.xlsx"
    assert cli.main(["solve", str(small_example), "-o", str(out), "--time-limit", "20",
                     "--gap", "0.05"]) == 0
    s = summary_items({name: read_table(out, name) for name in ("Out Summary", "Out Solver")})
    assert s["time_limit_s"] == 20 and s["mip_gap_target"] == 0.05
    data, settings = examples.small_example()
    check_plan(data, settings, out_tables(out))


def test_template_command_matches_committed_template(tmp_path):
    from solver_core.template import describe

    out = tmp_path / "t.xlsx"
    assert cli.main(["template", "production_distribution", "-o", str(out)]) == 0
    committed = EXAMPLES.parent / "production_distribution.xlsx"
    assert describe(out) == describe(committed), (
        "xlsx_templates/production_distribution.xlsx is stale: run "
        "python xlsx_templates/generate_production_distribution.py")
    raw = read_workbook(out)
    assert set(raw) >= {"About", "Settings", "Categories", "Lanes"}
    ws = load_workbook(out)["Locations"]
    assert ws["B1"].comment is not None and "supplier" in ws["B1"].comment.text
    formulas = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert '"supplier,warehouse,plant"' in formulas


def test_committed_examples_match_generator():
    from solver_core.template import describe

    for name, make in (("small", examples.small_example), ("thesis", examples.thesis_example)):
        data, settings = make()
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "e.xlsx"
            write_template(SCHEMA, path, data=data, settings=settings)
            assert describe(path) == describe(
                EXAMPLES / f"production_distribution_{name}.xlsx"), name


def test_scenarios_standard_set(tmp_path):
    # A plant that fills up, a warehouse to spill into, and a shortage to react to demand.
    data = network(plant_capacity=12, warehouse_cost=2.0,
                   start=[("K", "q", 6), ("W", "p", 4)],
                   supply=[("S", "p", 1, 8), ("S", "q", 2, 6), ("S", "p", 3, 5)],
                   demand=[("K", "p", 2, 9), ("K", "q", 3, 7), ("K", "p", 3, 6)], max_inbound=2)
    path = tmp_path / "scen-in.xlsx"
    write_template(SCHEMA, path, data=data, settings={"mip_gap": 0.0})
    out = tmp_path / "scen.xlsx"
    assert cli.main(["scenarios", str(path), "-o", str(out), "--workers", "2"]) == 0
    scen = read_table(out, "Out Scenarios")
    assert scen["scenario"].iloc[0] == "baseline"
    assert len(scen) == 1 + 8 + 6 + 4 + 1
    assert (scen["status"] == "optimal").all()  # same gap target as a single solve
    assert scen["bound"].notna().all() and (scen["bound"] <= scen["total_cost"] + 1e-6).all()
    for col in ("total_cost", "cost_without_shortage", "trucking", "pallet_movement", "storage",
                "shortage", "trucks_supplier_to_warehouse", "trucks_supplier_to_plant",
                "trucks_warehouse_to_plant", "trucks_plant_to_warehouse", "shortage_pallets",
                "avg_saturation_warehouses", "avg_saturation_plant"):
        assert col in scen.columns
    # More plant space can only help: cost never rises with the plant capacity factor
    # (all scenarios are solved to optimality on this example).
    cap = scen[scen["scenario"].str.startswith("plant capacity") | (scen["scenario"] ==
                                                                     "baseline")]
    cap = cap.sort_values("plant_capacity_factor")
    assert (cap["total_cost"].diff().dropna() <= 1e-6).all()
    # More demand can only cost more.
    dem = scen[scen["scenario"].str.startswith("demand") | (scen["scenario"] == "baseline")]
    dem = dem.sort_values("demand_factor")
    assert (dem["total_cost"].diff().dropna() >= -1e-6).all()
    # Out Summary's first screen speaks for the whole run.
    first = dict(read_table(out, "Out Summary")[["item", "value"]].itertuples(index=False))
    assert first["plan quality"] == "every scenario proven optimal"  # the gap asked for is 0
    cheapest = scen.loc[scen["total_cost"].idxmin()]
    assert first["cheapest scenario"].startswith(f"{cheapest['scenario']}: "
                                                 f"{cheapest['total_cost']:,.2f}")
    assert "every difference is proven" in first["what to do now"]
    charts = load_workbook(out)["Out Scenarios"]._charts
    assert len(charts) == 3
    for chart in charts:  # cost against a numeric factor; the cost axis shows differences
        assert chart.tagname == "scatterChart"
        assert chart.y_axis.scaling.min is not None and chart.y_axis.scaling.min > 0


def test_custom_scenarios_sheet(tmp_path):
    data = network(plant_capacity=8, start=[("K", "q", 6)], supply=[("S", "p", 1, 8)],
                   demand=[("K", "p", 2, 9)])
    settings = {"mip_gap": 0.0}
    data["Scenarios"] = pd.DataFrame([("tight plant", 0.8, None, None, None),
                                      ("busy week", None, 1.1, 1.1, False)],
                                     columns=["scenario", "plant_capacity_factor",
                                              "demand_factor", "supply_factor",
                                              "use_reception_limit"])
    path = tmp_path / "custom.xlsx"
    write_template(SCHEMA, path, data=data, settings=settings)
    out = tmp_path / "custom-out.xlsx"
    assert cli.main(["scenarios", str(path), "-o", str(out), "--workers", "1"]) == 0
    scen = read_table(out, "Out Scenarios")
    assert list(scen["scenario"]) == ["baseline", "tight plant", "busy week"]
    assert scen.loc[2, "demand_factor"] == 1.1 and scen.loc[2, "use_reception_limit"] == False  # noqa: E712
