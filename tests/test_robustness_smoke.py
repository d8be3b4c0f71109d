"""The robustness suite's CI subset runs end to end and its table has every row.

Nothing about plan quality is asserted here (that is what the suite measures); only
that every shape is generated, solved both ways, and reported.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import shapes

ROOT = Path(__file__).resolve().parents[1]


def test_ci_subset_runs_and_reports_every_row(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "robustness", "--ci",
                           "--results-dir", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert elapsed <= 120, f"the CI subset took {elapsed:.0f} s"
    written = list(tmp_path.glob("robustness-*.csv"))
    assert len(written) == 1, written
    with written[0].open() as f:
        rows = list(csv.DictReader(f))
    assert [r["workbook"] for r in rows] == [s.name for s in shapes.CI]
    for r in rows:
        assert r["scplan_status"] and r["plain_status"], r
        assert r["ratio"], r  # a number, "no plan" or "no plain plan": never blank
        printed = next(line for line in proc.stdout.splitlines()
                       if line.startswith(r["workbook"] + " "))
        assert r["model"] in printed


def test_a_saved_run_is_never_overwritten(tmp_path):
    """Two runs of one commit (say ``--only PD`` then ``--only DA``) keep both files."""
    from benchmarks.robustness import save

    row = {"workbook": "w", "model": "PD"}
    first = save([row], "abc1234", "m", tmp_path, only="PD")
    second = save([row], "abc1234", "m", tmp_path, only="PD")
    other = save([row], "abc1234", "m", tmp_path, only="DA")
    assert len({first, second, other}) == 3 and all(p.exists() for p in (first, second, other))
    assert first.name.endswith("-pd.csv") and other.name.endswith("-da.csv")


@pytest.mark.parametrize("shape", [shapes.PD_60, shapes.MPS_ONE_COMPONENT, shapes.DA_TIGHT],
                         ids=lambda s: s.name)
def test_a_seed_draws_other_data_of_the_same_shape(shape):
    own, _ = shape.make()
    again, _ = shape.make()
    drawn, settings = shape.make(7)
    assert settings["model"] == shapes.MODEL_KEYS[shape.model]
    assert set(drawn) == set(own)
    for name in own:  # the suite's own workbook is the same on every call
        pd.testing.assert_frame_equal(own[name], again[name])
    # the same sheets and columns, and sizes of the same order
    assert all(list(drawn[n].columns) == list(own[n].columns) for n in own)
    assert all(0.5 * len(own[n]) <= len(drawn[n]) <= 2 * len(own[n]) + 5 for n in own)
    differs = [n for n in own if len(own[n]) != len(drawn[n]) or not own[n].equals(drawn[n])]
    assert differs, "seed 7 drew the suite's own workbook"


def test_the_other_network_is_a_valid_workbook_of_its_stated_shape():
    """pd-net-*: not the thesis's network (two suppliers and plants, three categories,
    a warehouse-to-warehouse lane, demand only from a BOM, so in fractional pallets)."""
    from solver_core import api

    data, settings = shapes.pd_network_workbook(60, n_days=12)
    _, _, inst, problems = api.load(shapes.raw_sheets(data, settings), {})
    assert inst is not None and not problems.has_errors(), problems.summary()
    kinds = data["Locations"]["type"].value_counts()
    assert (kinds["supplier"], kinds["warehouse"], kinds["plant"]) == (2, 3, 2)
    assert len(data["Categories"]) == 3 and data["Demand"].empty
    lanes = data["Lanes"].merge(data["Locations"], left_on="from", right_on="location")
    lanes = lanes.merge(data["Locations"], left_on="to", right_on="location")
    assert ((lanes["type_x"] == "warehouse") & (lanes["type_y"] == "warehouse")).any()
    from solver_core.production_distribution import model

    net = model.network(inst)
    assert net.n_days == 12 and (net.demand % 1 > 1e-6).any()  # fractional pallets


@pytest.fixture(scope="module")
def small_result(tmp_path_factory) -> Path:
    """A small production–distribution result workbook (solved once for these tests)."""
    tmp_path = tmp_path_factory.mktemp("result")
    from solver_core import api
    from solver_core.production_distribution import examples
    from solver_core.workbook import write_result

    data, settings = examples.small_example()
    raw = shapes.raw_sheets(data, {**settings, "model": "production_distribution"})
    outcome = api.solve(raw, {"time_limit_s": 5})
    assert outcome.exit_code == api.EXIT_OK
    src = tmp_path / "in.xlsx"
    from solver_core.production_distribution import SCHEMA
    from solver_core.template import write_template

    write_template(SCHEMA, src, data=data, settings=settings)
    out = tmp_path / "result.xlsx"
    write_result(src, out, outcome.sheets)
    return out


def test_printable_copy_sets_print_options_and_leaves_the_result_alone(small_result, tmp_path):
    from openpyxl import load_workbook

    from benchmarks.render import printable_copy

    result = small_result
    before = result.read_bytes()
    copy = tmp_path / "copy.xlsx"
    printable_copy(result, copy, max_rows=3, out_only=True)
    assert result.read_bytes() == before
    wb = load_workbook(copy)
    original = load_workbook(result)
    assert wb.sheetnames == original.sheetnames
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert (ws.sheet_state == "visible") == ws.title.startswith("Out ")
        if ws.sheet_state == "visible":
            assert ws.print_title_rows == "$1:$1"
        # Cell values are the result's.
        assert [[c.value for c in r] for r in ws.iter_rows(max_row=5)] == \
            [[c.value for c in r] for r in original[ws.title].iter_rows(max_row=5)]
    flows = wb["Out Flows"]  # a table: one page wide, cut to max_rows
    assert flows.page_setup.fitToWidth == 1 and flows.sheet_properties.pageSetUpPr.fitToPage
    assert flows.max_row > 3 and flows.print_area is not None and "$3" in flows.print_area
    # A sheet with a chart: a page break before the chart's column, at a scale that fits it.
    saturation = wb["Out Saturation"]
    assert [b.id for b in saturation.col_breaks.brk] and not saturation.print_area
    assert 10 <= int(saturation.page_setup.scale) <= 100


@pytest.mark.skipif(not all(shutil.which(t) for t in ("soffice", "pdftoppm", "pdftotext")),
                    reason="LibreOffice and poppler are needed to render")
def test_render_writes_one_png_per_page_named_by_sheet(small_result, tmp_path):
    from benchmarks.render import main

    result = small_result
    out = tmp_path / "png"
    assert main([str(result), "-o", str(out), "--out-only"]) == 0
    pages = sorted(p.name for p in out.glob("*.png"))
    assert pages and pages[0] == "result-001-Out-Summary.png"
    assert any("Out-Flows" in p for p in pages)
    assert all(p.stat().st_size > 1000 for p in out.glob("*.png"))


def test_pd_shape_has_the_fill_level_and_reception_asked_for():
    data, _ = shapes.pd_workbook(120, 0.9, "tight")
    products = data["Products"].set_index("product")["category"]
    start = data["StartInventory"].assign(category=lambda f: f["product"].map(products))
    held = start.groupby(["location", "category"])["pallets"].sum()
    storage = data["Storage"].set_index(["location", "category"])["capacity"]
    kind = data["Locations"].set_index("location")["type"]
    for (loc, cat), cap in storage.items():
        if kind[loc] == "warehouse":
            assert held.get((loc, cat), 0) == round(0.9 * cap), (loc, cat)
    plant = data["Locations"][data["Locations"]["type"] == "plant"]
    assert (plant["max_inbound_trucks"] < shapes.THESIS_RECEPTION).all()
    loose, _ = shapes.pd_workbook(120, 0.9, "loose")
    assert (loose["Locations"].query("type == 'plant'")["max_inbound_trucks"]
            == shapes.THESIS_RECEPTION).all()


def test_stacked_models_solve_to_the_sum_of_their_optima():
    import numpy as np

    from benchmarks.plain import stack
    from solver_core import highs

    def knapsack(values, weights, capacity, offset):
        # max Σ v x  s.t. Σ w x ≤ capacity, x₀ ≤ 1 as a row, x binary — as min −Σ v x.
        b = highs.ModelBuilder()
        x = b.add_vars("x", len(values), cost=-np.asarray(values, float), upper=1.0,
                       integer=True)
        b.add_rows("capacity", 1, rows=np.zeros(len(x)), cols=x, vals=weights,
                   upper=capacity)
        b.add_rows("first", 1, rows=[0], cols=x[:1], vals=1.0, upper=1.0)
        return b.build(offset=offset)

    a = knapsack([5, 4, 3], [4, 3, 2], 5, 1.0)  # best: items 2 and 3, value 7
    b = knapsack([6, 5], [5, 4], 4, 2.0)  # best: item 2, value 5
    options = highs.SolveOptions(time_limit=10, mip_gap=0)
    parts = [highs.solve(lp, options).objective for lp in (a, b)]
    assert parts == [-6.0, -3.0]
    both = highs.solve(stack([a, b]), options)
    assert both.objective == sum(parts)
    assert list(np.round(both.x)) == [0, 1, 1, 0, 1]
