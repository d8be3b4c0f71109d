"""Headless front end: read input sheets and write result workbooks with openpyxl.

The input file is never modified: results go to a new file written under a temporary
name in the target folder and then renamed over the target, so a crash never leaves a
half-written workbook.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from .outputs import OUT_PREFIX, ChartSpec, OutSheet
from .tables import raw_frame


class WorkbookError(Exception):
    """A workbook that cannot be opened or written (message for the planner)."""


def read_workbook(path: str | Path) -> dict[str, pd.DataFrame]:
    """Raw sheets (see ``tables.raw_frame``) of every sheet in the workbook, by name."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"File not found: {path}")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise WorkbookError(f"Cannot open {path} as an .xlsx workbook: {exc}") from exc
    try:
        return {ws.title: raw_frame([list(r) for r in ws.iter_rows(values_only=True)])
                for ws in wb.worksheets}
    finally:
        wb.close()


def write_result(in_path: str | Path, out_path: str | Path, sheets: list[OutSheet]) -> Path:
    """Write OUT = the input workbook with its result sheets replaced by ``sheets``."""
    in_path, out_path = Path(in_path), Path(out_path)
    if out_path.exists() and in_path.resolve() == out_path.resolve():
        raise WorkbookError(
            f"The output file must differ from the input file ({in_path}): the input is "
            "never modified. Choose another -o name."
        )
    try:
        wb = load_workbook(in_path)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise WorkbookError(f"Cannot open {in_path} as an .xlsx workbook: {exc}") from exc
    replace_out_sheets(wb, sheets)
    save_atomically(wb, out_path)
    return out_path


def save_atomically(wb: Workbook, out_path: str | Path) -> None:
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".scplan-", suffix=".xlsx", dir=out_path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, out_path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WorkbookError(f"Cannot write {out_path}: {exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_out_sheets(wb: Workbook, sheets: list[OutSheet]) -> None:
    """Drop every previous ``Out …`` sheet, then add ``sheets`` in order."""
    for ws in list(wb.worksheets):
        if ws.title.startswith(OUT_PREFIX):
            wb.remove(ws)
    for sheet in sheets:
        write_sheet(wb.create_sheet(sheet.name), sheet)
    if sheets:
        wb.active = wb.sheetnames.index(sheets[0].name)
        for ws in wb.worksheets:
            ws.sheet_view.tabSelected = ws.title == sheets[0].name


HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")


def write_sheet(ws, sheet: OutSheet) -> None:
    frame = sheet.frame
    ws.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        ws.append([cell_value(v) for v in row])
    for j, col in enumerate(frame.columns, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        fmt = sheet.formats.get(str(col))
        if fmt:
            for (c,) in ws.iter_rows(min_row=2, max_row=len(frame) + 1, min_col=j, max_col=j):
                c.number_format = fmt
        ws.column_dimensions[get_column_letter(j)].width = column_width(frame, col)
    ws.freeze_panes = "A2"
    for chart, col0, row0 in chart_layout(sheet):
        write_chart(ws, chart, col0, row0)


CHART_ROWS = 18  # a chart's data block takes at least this many rows (the chart's height)
CHART_HEIGHT_CM, CHART_WIDTH_CM = 9, 18


def chart_layout(sheet: OutSheet) -> list[tuple[ChartSpec, int, int]]:
    """(chart, first column, first row) of each chart's data block, 1-based.

    The blocks stack to the right of the table, one blank column after it; the chart
    itself sits right of its block. Both writers (openpyxl here, xlwings in
    ``addin/excel_io.py``) place charts with this function.
    """
    col0 = len(sheet.frame.columns) + 2  # one blank column between the table and chart data
    row0, out = 1, []
    for chart in sheet.charts:
        out.append((chart, col0, row0))
        row0 += 1 + max(len(chart.data), CHART_ROWS) + 2  # title row, block, two blank rows
    return out


def column_width(frame: pd.DataFrame, col: Any) -> float:
    sample = frame[col].head(200).map(lambda v: len(str(v)) if v is not None else 0)
    longest = max([len(str(col)), *(sample.tolist() or [0])])
    return float(min(max(10, longest + 2), 60))


def cell_value(v: Any) -> Any:
    """Value openpyxl can store: numpy scalars to Python, NaN to blank."""
    if v is None:
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, (dt.date, dt.datetime, str, int, float, bool)):
        return v
    return str(v)


def write_chart(ws, spec: ChartSpec, col0: int, row0: int) -> int:
    """Write the chart's data block at (row0, col0) and the chart beside it; return last row."""
    data = spec.data
    ws.cell(row=row0, column=col0, value=f"Chart data: {spec.title}").font = Font(italic=True)
    top = row0 + 1
    for j, col in enumerate(data.columns):
        ws.cell(row=top, column=col0 + j, value=str(col)).font = Font(bold=True)
    for i, row in enumerate(data.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            c = ws.cell(row=top + i, column=col0 + j, value=cell_value(v))
            if j > 0 and spec.y_format != "General":
                c.number_format = spec.y_format
    n, m = len(data), len(data.columns)
    chart: Any
    if spec.kind == "bar":
        chart = BarChart()
    elif spec.kind == "scatter":
        chart = ScatterChart()
    else:
        chart = LineChart()
    chart.title = spec.title
    chart.x_axis.title = spec.x_title
    chart.y_axis.title = spec.y_title
    chart.y_axis.number_format = spec.y_format
    chart.height, chart.width = CHART_HEIGHT_CM, CHART_WIDTH_CM
    # openpyxl >= 3.1 hides axes unless told otherwise; planners expect to see them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    xref = Reference(ws, min_col=col0, min_row=top + 1, max_row=top + n)
    if spec.kind == "scatter":
        for j in range(1, m):
            yref = Reference(ws, min_col=col0 + j, min_row=top, max_row=top + n)
            series = Series(yref, xref, title_from_data=True)
            series.marker.symbol = "circle"
            chart.series.append(series)
    else:
        yref = Reference(ws, min_col=col0 + 1, max_col=col0 + m - 1, min_row=top, max_row=top + n)
        chart.add_data(yref, titles_from_data=True)
        chart.set_categories(xref)
        for series in chart.series:  # straight segments between days, not splines
            series.smooth = False
    ws.add_chart(chart, f"{get_column_letter(col0 + m + 1)}{row0}")
    return top + max(n, CHART_ROWS)


def read_table(path: str | Path, sheet: str) -> pd.DataFrame:
    """A result sheet's table (stops at the first blank header: chart data lies beyond it).

    For tests and tools that read results back.
    """
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = [list(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()
    if not rows:
        return pd.DataFrame()
    header = rows[0]
    width = next((i for i, h in enumerate(header) if h is None), len(header))
    body = [r[:width] for r in rows[1:] if any(v is not None for v in r[:width])]
    return pd.DataFrame(body, columns=header[:width])
