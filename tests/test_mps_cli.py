"""End to end: the scplan command on MPS workbooks (files in, files out)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from mps_support import check_plan

from solver_core import cli
from solver_core.master_production import SCHEMA, examples
from solver_core.outputs import summary_items
from solver_core.template import write_template
from solver_core.workbook import read_table

ROOT = Path(__file__).resolve().parents[1]
OUT_SHEETS = ["Out Summary", "Out Solver", "Out Orders", "Out Projection", "Out Capacity",
              "Out Warnings", "Out Charts"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def results(path: Path) -> dict:
    return {name: read_table(path, name) for name in OUT_SHEETS}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    data, settings = examples.small_example()
    settings = {**settings, "time_limit_s": 20}
    path = tmp_path_factory.mktemp("mps") / "small.xlsx"
    write_template(SCHEMA, path, data=data, settings=settings)
    return path, data, settings


def test_solve_small_example_from_the_command_line(small, tmp_path):
    path, data, settings = small
    before = digest(path)
    out = tmp_path / "result.xlsx"
    run = subprocess.run([sys.executable, "-m", "solver_core.cli", "solve", str(path), "-o",
                          str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert digest(path) == before  # the input is never modified
    sheets = results(out)
    summary = summary_items(sheets)
    assert summary["model"] == "master_production"
    assert summary["status"] in ("optimal", "time_limit")
    for item in ("objective", "mip_gap", "solve_seconds", "build_seconds", "rows", "columns",
                 "nonzeros", "integers", "solver", "started_at", "input_fingerprint",
                 "model_objective", "evaluated_cost", "Y component 1: status",
                 "Y component 1: rows", "Z: gap"):
        assert item in summary, item
    orders = sheets["Out Orders"]
    assert list(orders.columns) == ["supply_center", "factory", "sku", "order_week",
                                    "arrival_week", "quantity"]
    assert list(sheets["Out Projection"].columns)[:10] == [
        "sku", "week", "demand", "po_arrivals", "planned_arrivals", "available", "target",
        "ending_inventory", "unmet_demand", "target_shortfall"]
    assert list(sheets["Out Capacity"].columns)[:6] == [
        "factory", "week", "capacity", "used_by_open_pos", "used_by_plan", "utilization"]
    assert list(sheets["Out Warnings"].columns)[:4] == ["sku", "week", "kind", "message"]
    kinds = set(sheets["Out Warnings"]["kind"])
    assert {"lead_time_too_long", "discontinued", "overdue_po"} <= kinds
    # The whole plan is checked from the written sheets.
    check_plan(data, settings, sheets, summary)
    # The inventory-curve charts are real Excel charts, and chart_skus is honoured.
    with zipfile.ZipFile(out) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    assert sheets["Out Charts"]["sku"].iloc[0] == "A300"


def test_invalid_workbook_exits_2_and_leaves_input_alone(small, tmp_path):
    _, data, settings = small
    bad = tmp_path / "bad.xlsx"
    broken = {k: v.copy() for k, v in data.items()}
    broken["SKUs"].loc[0, "lead_time_weeks"] = 0  # below transport + 1
    write_template(SCHEMA, bad, data=broken, settings=settings)
    before = digest(bad)
    out = tmp_path / "bad-result.xlsx"
    assert cli.main(["solve", str(bad), "-o", str(out)]) == 2
    assert digest(bad) == before
    validation = read_table(out, "Out Validation")
    row = validation[validation["severity"] == "error"].iloc[0]
    assert row["sheet"] == "SKUs" and row["cell"].startswith("C")
    assert "transport_weeks + 1" in row["message"]


def test_rolling_horizon_plans_the_next_round(small, tmp_path):
    _, data, settings = small
    later = tmp_path / "later.xlsx"
    next_week = data["Calendar"]["week"].tolist()[3]
    write_template(SCHEMA, later, data=data, settings={**settings, "start_week": next_week})
    out = tmp_path / "later-result.xlsx"
    assert cli.main(["solve", str(later), "-o", str(out), "--time-limit", "10"]) == 0
    sheets = results(out)
    assert sheets["Out Projection"]["week"].min() == next_week
    assert (sheets["Out Orders"]["order_week"] >= next_week).all()
    summary = summary_items(sheets)
    check_plan(data, {**settings, "start_week": next_week, "time_limit_s": 10}, sheets, summary)


def test_validate_command_reports_warnings(small, tmp_path, capsys):
    path, _, _ = small
    assert cli.main(["validate", str(path)]) == 0
    assert "Lead time 14 weeks" in capsys.readouterr().err
