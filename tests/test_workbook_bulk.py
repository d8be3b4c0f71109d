"""Large result tables are written straight into the sheet XML (``fill_bulk_rows``).

The fast path must give the same cells, values and number formats as writing every
cell with openpyxl, and leave input sheets alone.
"""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from solver_core import workbook
from solver_core.outputs import OutSheet


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    texts = ["a&b", "<tag>", " leading", "trailing ", "ünï", 'quote "x"', None, "plain"]
    return pd.DataFrame({
        "text": [texts[i % len(texts)] for i in range(n)],
        "qty": np.where(np.arange(n) % 7 == 3, np.nan, rng.random(n) * 1000),
        "count": np.arange(n, dtype=np.int64),
        "flag": [bool(i % 2) for i in range(n)],
        "mixed": [[1, "x", None, 2.5][i % 4] for i in range(n)],
        "date": [dt.date(2026, 1, 1) + dt.timedelta(days=i) if i % 5 else None
                 for i in range(n)],
        "stamp": pd.date_range("2026-03-01", periods=n, freq="D"),
    })


def _write(tmp_path, name: str, bulk_cells: int, monkeypatch) -> dict:
    src = tmp_path / "in.xlsx"
    if not src.exists():
        wb = Workbook()
        wb.active.title = "Input"
        wb.active["A1"], wb.active["B2"] = "keep me", 42
        wb.save(src)
    monkeypatch.setattr(workbook, "BULK_CELLS", bulk_cells)
    sheet = OutSheet("Out Big", _frame(), formats={"qty": "#,##0.00", "date": "yyyy-mm-dd"})
    out = tmp_path / name
    workbook.write_result(src, out, [sheet, OutSheet("Out Small", pd.DataFrame({"a": [1]}))])
    wb = load_workbook(out)
    ws = wb["Out Big"]
    cells = {c.coordinate: (c.value, c.number_format) for row in ws.iter_rows() for c in row
             if c.value is not None}
    return {"cells": cells, "dims": ws.dimensions, "freeze": ws.freeze_panes,
            "input": [[c.value for c in r] for r in wb["Input"].iter_rows()],
            "header_bold": ws["A1"].font.b, "sheets": wb.sheetnames}


def test_bulk_rows_equal_cell_by_cell_writing(tmp_path, monkeypatch):
    slow = _write(tmp_path, "slow.xlsx", 10**12, monkeypatch)
    fast = _write(tmp_path, "fast.xlsx", 1, monkeypatch)
    assert fast["cells"].keys() == slow["cells"].keys()
    for ref, (value, fmt) in slow["cells"].items():
        got, got_fmt = fast["cells"][ref]
        if isinstance(value, float):
            assert got == pytest.approx(value, rel=1e-15), ref
        else:
            assert got == value, ref
        assert got_fmt == fmt, ref
    for key in ("dims", "freeze", "input", "header_bold", "sheets"):
        assert fast[key] == slow[key]
    assert fast["input"][0][0] == "keep me"


def test_bulk_table_reads_back_as_written(tmp_path, monkeypatch):
    _write(tmp_path, "fast.xlsx", 1, monkeypatch)
    back = workbook.read_table(tmp_path / "fast.xlsx", "Out Big")
    frame = _frame()
    assert list(back.columns) == list(frame.columns)
    assert back["count"].tolist() == frame["count"].tolist()
    assert back["text"].tolist() == [t if t is not None else None for t in frame["text"]]
    np.testing.assert_allclose(back["qty"].astype(float), frame["qty"], rtol=1e-15)


@pytest.mark.parametrize("bulk_cells", [10**9, 1])
@pytest.mark.parametrize("into_workbook", [False, True])
def test_rows_with_wrapped_text_are_as_high_as_their_lines_every_way(tmp_path, monkeypatch,
                                                                     bulk_cells, into_workbook):
    """Long texts (Out Why's details) wrap; each row is set as high as its longest text's
    lines, through openpyxl and in bulk, into a new workbook or merged into the planner's
    (neither LibreOffice nor every Excel fits rows to wrapped text on opening: without
    heights the lines overlap)."""
    monkeypatch.setattr(workbook, "BULK_CELLS", bulk_cells)
    detail = ["short", "x" * 130, "y" * 300, None]
    frame = pd.DataFrame({"item": list("abcd"), "detail": detail})
    src = None
    if into_workbook:
        src = tmp_path / "in.xlsx"
        wb = Workbook()
        wb.active.title = "Input"
        wb.save(src)
    out = tmp_path / "out.xlsx"
    workbook.write_result(src, out, [OutSheet("Out Why", frame)])
    ws = load_workbook(out)["Out Why"]
    width = ws.column_dimensions["B"].width
    assert width == workbook.MAX_COLUMN_WIDTH
    assert ws["B3"].alignment.wrap_text
    assert ws["A3"].alignment.vertical == "top"  # the row's other cells read from the top
    heights = [ws.row_dimensions[r].height for r in range(2, 6)]
    lines = [1, -(-130 // (0.95 * width)), -(-300 // (0.95 * width)), 1]
    assert heights == [workbook.LINE_HEIGHT * n for n in lines]
    assert heights[2] > heights[1] > heights[0]
