"""The merged writer (workbook.merge_result): OUT is the input package with the result
sheets added at the zip level; it must hold what loading the input with openpyxl and
saving it again (the whole-load writer) gives, with the input's sheets untouched."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.packaging.custom import StringProperty

from solver_core import api, workbook
from solver_core.outputs import ChartSpec, OutSheet
from solver_core.workbook import read_workbook, write_result

EXAMPLES = Path(__file__).resolve().parents[1] / "solver_core" / "examples"
MODELS = ["production_distribution", "master_production", "delivery_allocation"]


def whole_load_write(src: Path, out: Path, sheets: list[OutSheet]) -> None:
    """The writer the merge replaces: load the input whole, replace, save."""
    wb = workbook.open_workbook(src)
    bulk = workbook.replace_out_sheets(wb, workbook.clip_long_texts(sheets))
    workbook.save_atomically(wb, out, bulk)


def merged_write(src: Path, out: Path, sheets: list[OutSheet]) -> None:
    """The merged writer itself (write_result falls back silently; this must not)."""
    workbook.merge_result(src, out, workbook.clip_long_texts(sheets))


def cell_facts(ws) -> list[tuple]:
    """Every cell's value and look: number format, bold, fill, text prefix."""
    return [(c.coordinate, c.value, c.number_format, bool(c.font.b), c.fill.fgColor.rgb,
             bool(c.quotePrefix)) for row in ws.iter_rows() for c in row]


def sheet_facts(ws) -> dict:
    return {"cells": cell_facts(ws), "filter": ws.auto_filter.ref,
            "freeze": ws.freeze_panes, "charts": len(ws._charts),
            "widths": {k: d.width for k, d in ws.column_dimensions.items()}}


def marker(wb) -> dict[str, str]:
    return {p.name: p.value for p in wb.custom_doc_props.props}


@pytest.fixture(scope="module", params=MODELS)
def solved(request, tmp_path_factory):
    """(input with a planner's 'Out of stock notes' sheet, result sheets) of an example."""
    tmp = tmp_path_factory.mktemp(request.param)
    src = tmp / "in.xlsx"
    wb = load_workbook(EXAMPLES / f"{request.param}_small.xlsx")
    wb.create_sheet("Out of stock notes")["A1"] = "keep me"
    wb.custom_doc_props.append(StringProperty(name="planner", value="Ada"))
    wb.save(src)
    outcome = api.solve(read_workbook(src), {"time_limit_s": 10})
    assert outcome.sheets
    return src, outcome.sheets


def test_merged_result_equals_the_whole_load_result(solved, tmp_path):
    src, sheets = solved
    merged, reference = tmp_path / "merged.xlsx", tmp_path / "reference.xlsx"
    merged_write(src, merged, sheets)
    whole_load_write(src, reference, sheets)
    a, b, given = load_workbook(merged), load_workbook(reference), load_workbook(src)
    assert a.sheetnames == b.sheetnames
    assert a.sheetnames[:len(given.sheetnames)] == given.sheetnames
    for name in a.sheetnames:
        assert sheet_facts(a[name]) == sheet_facts(b[name]), name
    for name in given.sheetnames:  # the input's sheets as they were
        assert [c[:2] for c in cell_facts(a[name])] == [c[:2] for c in cell_facts(given[name])]
    assert marker(a) == marker(b)
    assert marker(a)["planner"] == "Ada"
    assert a.active.title == sheets[0].name
    assert [ws.title for ws in a.worksheets if ws.sheet_view.tabSelected] == [sheets[0].name]
    assert any(sheet_facts(a[s.name])["charts"] for s in sheets) == \
        any(s.charts for s in sheets)


def test_input_sheet_parts_are_copied_byte_for_byte(solved, tmp_path):
    src, sheets = solved
    out = tmp_path / "out.xlsx"
    merged_write(src, out, sheets)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out) as zout:
        given, written = workbook._sheet_parts(zin), workbook._sheet_parts(zout)
        for name, part in given.items():
            assert workbook._unselected(zin.read(part)) == zout.read(written[name]), name


def test_rerun_replaces_the_result_sheets_and_keeps_the_planners(solved, tmp_path):
    src, sheets = solved
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    write_result(src, first, sheets)
    write_result(first, second, sheets)
    a, b = load_workbook(first), load_workbook(second)
    assert b.sheetnames == a.sheetnames
    assert len(set(b.sheetnames)) == len(b.sheetnames)
    assert b["Out of stock notes"]["A1"].value == "keep me"
    for name in b.sheetnames:
        assert sheet_facts(b[name]) == sheet_facts(a[name]), name
    with zipfile.ZipFile(first) as z1, zipfile.ZipFile(second) as z2:
        # The old result sheets' parts (drawings, charts) are gone, not piled up.
        assert sorted(z1.namelist()) == sorted(z2.namelist())


def test_a_shorter_rerun_drops_the_old_sheets_charts_and_names(tmp_path):
    chart = ChartSpec(title="Load", kind="line", x_title="day", y_title="pallets",
                      data=pd.DataFrame({"day": [1, 2, 3], "pallets": [4.0, 5.0, 6.0]}))
    src = tmp_path / "in.xlsx"
    wb = load_workbook(EXAMPLES / "delivery_allocation_small.xlsx")
    wb.save(src)
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    merged_write(src, first, [OutSheet("Out Charts", pd.DataFrame({"a": [1]}), charts=[chart]),
                              OutSheet("Out Summary", pd.DataFrame({"b": ["=SUM(1,2)"]}))])
    merged_write(first, second, [OutSheet("Out Summary", pd.DataFrame({"b": ["x"]}))])
    out = load_workbook(second)
    assert out.sheetnames == wb.sheetnames + ["Out Summary"]
    assert load_workbook(first)["Out Summary"]["A2"].value == "=SUM(1,2)"
    assert load_workbook(first)["Out Summary"]["A2"].data_type == "s"
    with zipfile.ZipFile(src) as z:
        given = sorted(n for n in z.namelist() if "chart" in n or "drawing" in n)
    with zipfile.ZipFile(second) as z:
        assert sorted(n for n in z.namelist() if "chart" in n or "drawing" in n) == given
        book = z.read("xl/workbook.xml").decode()
    assert "Out Charts" not in book
    assert out["Out Summary"].auto_filter.ref == "A1:A2"


def soffice(tmp_path: Path, target: str, files: list[Path], outdir: Path) -> None:
    proc = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", target, "--outdir", str(outdir), *map(str, files)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Error" not in proc.stderr + proc.stdout, proc.stderr + proc.stdout


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_opens_merged_results(tmp_path):
    # An input saved by LibreOffice (shared strings, its own styles) as well as ours.
    soffice(tmp_path, "xlsx:Calc MS Excel 2007 XML",
            [EXAMPLES / "delivery_allocation_small.xlsx"], tmp_path / "lo")
    inputs = [EXAMPLES / f"{model}_small.xlsx" for model in MODELS]
    inputs.append(tmp_path / "lo" / "delivery_allocation_small.xlsx")
    outs = []
    for k, src in enumerate(inputs):
        outcome = api.solve(read_workbook(src), {"time_limit_s": 10})
        outs.append(tmp_path / f"out{k}.xlsx")
        merged_write(src, outs[-1], outcome.sheets)
    whole_load_write(inputs[-1], tmp_path / "reference.xlsx", outcome.sheets)
    a, b = load_workbook(outs[-1]), load_workbook(tmp_path / "reference.xlsx")
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        assert sheet_facts(a[name]) == sheet_facts(b[name]), name
    soffice(tmp_path, "pdf", outs, tmp_path)
    for out in outs:
        assert out.with_suffix(".pdf").stat().st_size > 0


def test_a_macro_workbook_falls_back_to_the_whole_load_writer(tmp_path):
    src = tmp_path / "in.xlsx"
    shutil.copy(EXAMPLES / "delivery_allocation_small.xlsx", src)
    with zipfile.ZipFile(src) as z:
        types = z.read("[Content_Types].xml").decode()
    bad = types.replace("sheet.main+xml", "sheet.macroEnabled.main+xml")
    with pytest.raises(workbook._Unmergeable):
        workbook._InputPackage(_FakeZip(src, {"[Content_Types].xml": bad.encode()}))


class _FakeZip:
    """A package with some parts replaced."""

    def __init__(self, path: Path, parts: dict[str, bytes]):
        self.z, self.parts = zipfile.ZipFile(path), parts

    def read(self, name: str) -> bytes:
        return self.parts.get(name) or self.z.read(name)

    def infolist(self):
        return self.z.infolist()


def test_bulk_sheets_equal_the_whole_load_result(tmp_path):
    n = 2_500  # 12,500 cells: over workbook.BULK_CELLS
    assert n * 5 >= workbook.BULK_CELLS
    frame = pd.DataFrame({
        "sku": [f"=SKU{i % 7}" if i % 3 else f"S<{i}>&" for i in range(n)],
        "qty": [float(i) / 4 if i % 5 else float("nan") for i in range(n)],
        "day": pd.date_range("2025-01-01", periods=n, freq="D"),
        "lines": list(range(n)),
        "note": [" lead" if i % 2 else None for i in range(n)]})
    sheets = [OutSheet("Out Allocations", frame, formats={"qty": "#,##0.00"}),
              OutSheet("Out Summary", pd.DataFrame({"item": ["a"], "value": [1.5]}))]
    src = EXAMPLES / "master_production_small.xlsx"
    merged, reference = tmp_path / "merged.xlsx", tmp_path / "reference.xlsx"
    merged_write(src, merged, sheets)
    whole_load_write(src, reference, sheets)
    a, b = load_workbook(merged), load_workbook(reference)
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        assert sheet_facts(a[name]) == sheet_facts(b[name]), name
    assert a["Out Allocations"]["B3"].number_format == "#,##0.00"
    assert a["Out Allocations"].max_row == n + 1
