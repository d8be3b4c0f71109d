"""The demo's result workbooks read well (formats, widths, filters) and the console stays
free of solver banners."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from solver_core import api

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Run ``scplan demo --small`` as a planner does, in its own process."""
    out = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "solver_core.cli", "demo", str(out), "--small"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return out, run.stdout + run.stderr


def test_no_solver_banner_reaches_the_console_and_each_line_gives_cost_gap_and_bound(demo):
    _, console = demo
    assert "Running HiGHS" not in console and "Copyright" not in console, console
    lines = [ln for ln in console.splitlines() if "-result.xlsx" in ln]
    assert len(lines) == 3, console
    for line in lines:
        assert ", cost " in line and "the proven bound " in line, line


def widths(ws) -> dict[int, float]:
    return {j: ws.column_dimensions[get_column_letter(j)].width
            for j in range(1, ws.max_column + 1)}


def test_every_result_sheet_has_filter_formats_and_widths_that_fit(demo):
    out, _ = demo
    results = sorted(out.glob("*-result.xlsx"))
    assert len(results) == 3
    known = api.result_sheet_names()
    for path in results:
        wb = load_workbook(path)
        for ws in (wb[n] for n in wb.sheetnames if n in known):
            where = f"{path.name} {ws.title}"
            header = [c.value for c in ws[1]]
            n_cols = next((i for i, h in enumerate(header) if h is None), len(header))
            n_rows = next((r for r in range(2, ws.max_row + 2)
                           if all(ws.cell(r, j).value is None for j in range(1, n_cols + 1))),
                          ws.max_row + 1) - 1
            assert ws.auto_filter.ref == f"A1:{get_column_letter(n_cols)}{n_rows}", where
            w = widths(ws)
            for j, h in enumerate(header[:n_cols], start=1):
                assert w[j] >= len(str(h)) + 2, (where, h, w[j])  # + the filter button
            for row in ws.iter_rows():
                for c in row:
                    fmt = c.number_format
                    assert not fmt.endswith(".##") and not fmt.endswith("."), (where, c, fmt)
                    if isinstance(c.value, (dt.date, dt.datetime)):
                        assert "yy" in fmt and "dd" in fmt, (where, c.coordinate, fmt)
                        assert w[c.column] >= 10, (where, c.coordinate, w[c.column])
                    if isinstance(c.value, str) and c.font.b and c.row > 1:
                        # a chart data block's header: fits its column too
                        assert w[c.column] >= len(c.value), (where, c.coordinate)
        summary = wb["Out Summary"]
        for item, value in summary.iter_rows(min_row=2, values_only=False):
            if isinstance(value.value, float):
                assert value.number_format != "General", (path.name, item.value)
