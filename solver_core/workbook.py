"""Headless front end: read input sheets (python-calamine) and write result workbooks
(openpyxl).

The input file is never modified: results go to a new file written under a temporary
name in the target folder and then renamed over the target, so a crash never leaves a
half-written workbook.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from xml.sax.saxutils import escape as xml_escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import to_excel
from python_calamine import CalamineWorkbook, SheetTypeEnum

from .outputs import OUT_PREFIX, ChartSpec, OutSheet
from .tables import raw_frame


class WorkbookError(Exception):
    """A workbook that cannot be opened or written (message for the planner)."""


def read_workbook(path: str | Path) -> dict[str, pd.DataFrame]:
    """Raw sheets (see ``tables.raw_frame``) of every sheet in the workbook, by name.

    Raises
    ------
    WorkbookError
        For anything that is not a readable .xlsx workbook (missing file, folder,
        .xls, CSV or HTML under an .xlsx name, truncated or damaged package, sheet XML
        with characters XML forbids); the message says what to do.
    """
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"File not found: {path}")
    if path.is_dir():
        raise WorkbookError(f"{path} is a folder, not a workbook; give the .xlsx file.")
    if not zipfile.is_zipfile(path):
        raise WorkbookError(
            f"Cannot open {path}: it is not an .xlsx workbook ({_what_it_is(path)}). Open it "
            "in Excel and save it as 'Excel Workbook (*.xlsx)'.")
    try:
        with open(path, "rb") as file:  # read by content, whatever the extension
            book = CalamineWorkbook.from_filelike(file)
            names = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
            cells = {n: book.get_sheet_by_name(n).to_python(skip_empty_area=False)
                     for n in names}
        with zipfile.ZipFile(path) as z:
            _put_error_values(z, cells)
        return {n: raw_frame([[_cell(v) for v in row] for row in rows])
                for n, rows in cells.items()}
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: BLE001 - a damaged package or sheet part; the
        # reader's own panics derive from BaseException
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise WorkbookError(_unreadable(path, exc)) from exc


_TWO_53 = 2.0 ** 53


def _cell(v: Any) -> Any:
    """A cell as openpyxl gives it: blank → None, whole numbers → int, dates → datetime."""
    t = type(v)
    if t is str:
        return v if v else None
    if t is float:
        return int(v) if v.is_integer() and abs(v) < _TWO_53 else v
    if t is dt.date:
        return dt.datetime(v.year, v.month, v.day)
    return v


_ERROR_CELL = re.compile(r'<c\b[^>]*?\bt="e"[^>]*>.*?</c>', re.S)
_CELL_REF = re.compile(r'\br="([A-Z]+)(\d+)"')
_CELL_VALUE = re.compile(r"<v>([^<]*)</v>")


def _put_error_values(z: zipfile.ZipFile, cells: dict[str, list[list[Any]]]) -> None:
    """Put each error cell's value (``#N/A``…) into ``cells``; the fast reader blanks them,
    and a blank would hide a failed formula."""
    parts = _sheet_parts(z)
    for name, rows in cells.items():
        part = parts.get(name)
        if part is None or part not in z.namelist():
            continue
        xml = z.read(part)
        if b't="e"' not in xml:
            continue
        for tag in _ERROR_CELL.findall(xml.decode("utf-8", "replace")):
            where, value = _CELL_REF.search(tag), _CELL_VALUE.search(tag)
            if where is None or value is None:
                continue
            col, row = column_index_from_string(where.group(1)) - 1, int(where.group(2)) - 1
            while len(rows) <= row:
                rows.append([])
            line = rows[row]
            line.extend([""] * (col + 1 - len(line)))
            line[col] = value.group(1)


def open_workbook(path: str | Path, file: Any = None, **options: Any) -> Workbook:
    """``openpyxl.load_workbook`` that raises :class:`WorkbookError` for a bad package.

    Parameters
    ----------
    path : the file (named in messages).
    file : an open binary file of ``path`` to read instead (so that an .xlsx without its
        extension or named .xls is still read); default: opened here and read at once.
    **options : passed to ``load_workbook`` (``read_only``, ``data_only``…).
    """
    path = Path(path)
    try:
        if file is not None:
            return load_workbook(file, **options)
        with open(path, "rb") as f:
            return load_workbook(f, **{**options, "read_only": False})
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the package holds, it is the file's fault
        raise WorkbookError(_unreadable(path, exc)) from exc


def _unreadable(path: Path, exc: Exception) -> str:
    detail = str(exc).strip() or type(exc).__name__
    return (f"Cannot read {path} as an .xlsx workbook: it is damaged or not an Excel "
            f"workbook ({type(exc).__name__}: {detail}). Open it in Excel and save it again "
            "as 'Excel Workbook (*.xlsx)'.")


def _what_it_is(path: Path) -> str:
    """A short guess at what a non-zip file is, for the message."""
    with open(path, "rb") as f:
        head = f.read(512)
    if not head:
        return "the file is empty"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old .xls workbook or another Office 97-2003 file"
    if head.startswith(b"PK"):
        return "a damaged or truncated zip package"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if text.startswith(b"<?xml"):
        return "an XML file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unrecognised binary content"
    return "plain text, e.g. CSV"


def write_result(in_path: str | Path, out_path: str | Path, sheets: list[OutSheet]) -> Path:
    """Write OUT = the input workbook with its result sheets replaced by ``sheets``."""
    in_path, out_path = Path(in_path), Path(out_path)
    if out_path.exists() and in_path.resolve() == out_path.resolve():
        raise WorkbookError(
            f"The output file must differ from the input file ({in_path}): the input is "
            "never modified. Choose another -o name."
        )
    wb = open_workbook(in_path)
    bulk = replace_out_sheets(wb, sheets)
    save_atomically(wb, out_path, bulk)
    return out_path


def save_atomically(wb: Workbook, out_path: str | Path,
                    bulk: list[OutSheet] | None = None) -> None:
    """Save under a temporary name, fill the ``bulk`` sheets' rows, then rename."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".scplan-", suffix=".xlsx", dir=out_path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        if bulk:
            fill_bulk_rows(tmp, bulk)
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


def replace_out_sheets(wb: Workbook, sheets: list[OutSheet]) -> list[OutSheet]:
    """Drop every previous ``Out …`` sheet, then add ``sheets`` in order.

    Returns the *bulk* sheets: large tables without charts, of which only the header and
    a style row are written here; ``fill_bulk_rows`` writes their rows into the saved
    file (openpyxl takes ~15 µs per cell, too slow for the MPS's million-cell tables).
    """
    for ws in list(wb.worksheets):
        if ws.title.startswith(OUT_PREFIX):
            wb.remove(ws)
    bulk = []
    for sheet in sheets:
        is_bulk = not sheet.charts and sheet.frame.size >= BULK_CELLS
        write_sheet(wb.create_sheet(sheet.name), sheet, style_row_only=is_bulk)
        if is_bulk:
            bulk.append(sheet)
    if sheets:
        wb.active = wb.sheetnames.index(sheets[0].name)
        for ws in wb.worksheets:
            ws.sheet_view.tabSelected = ws.title == sheets[0].name
    return bulk


HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")


def write_sheet(ws, sheet: OutSheet, style_row_only: bool = False) -> None:
    """Header, rows, formats, widths, frozen header and charts of one result sheet.

    With ``style_row_only`` the only row under the header holds each column's first
    non-blank value, so that its cells carry the column's style for ``fill_bulk_rows``.
    """
    frame = sheet.frame
    ws.append([str(c) for c in frame.columns])
    if style_row_only:
        ws.append([cell_value(_first_value(frame[c])) for c in frame.columns])
        n_rows = 1
    else:
        for row in frame.itertuples(index=False):
            ws.append([cell_value(v) for v in row])
        n_rows = len(frame)
    for j, col in enumerate(frame.columns, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        fmt = sheet.formats.get(str(col))
        if fmt:
            for (c,) in ws.iter_rows(min_row=2, max_row=n_rows + 1, min_col=j, max_col=j):
                c.number_format = fmt
        ws.column_dimensions[get_column_letter(j)].width = column_width(frame, col)
    ws.freeze_panes = "A2"
    for chart, col0, row0 in chart_layout(sheet):
        write_chart(ws, chart, col0, row0)


def _first_value(column: pd.Series) -> Any:
    present = column[column.notna()]
    return present.iloc[0] if len(present) else None


# ---------------------------------------------------------------------------
# Bulk rows: written straight into the sheet's XML part of the saved file.

BULK_CELLS = 10_000  # tables with at least this many cells (and no chart) go this way:
# the DA example's three 28k-cell tables took ~2.5 s of its 5 s through openpyxl
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def fill_bulk_rows(path: str | Path, sheets: list[OutSheet]) -> None:
    """Replace each bulk sheet's style row in the saved file at ``path`` by its rows.

    Every cell takes the style (number format) of its column's cell in the style row;
    text is written as inline strings. The file is rewritten through a temporary copy.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as zin:
        parts = _sheet_parts(zin)
        new = {parts[s.name]: _with_rows(zin.read(parts[s.name]).decode("utf-8"), s.frame)
               for s in sheets}
        tmp = path.with_name(path.name + ".bulk")
        # Level 1: a few % larger than openpyxl's files, compressed 4× faster.
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
            for info in zin.infolist():
                data = new[info.filename].encode("utf-8") if info.filename in new \
                    else zin.read(info.filename)
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED,
                              compresslevel=1)
    os.replace(tmp, path)


def _sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its XML part in the package (via workbook.xml and its relations)."""
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    book = ET.fromstring(z.read("xl/workbook.xml"))
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    out = {}
    for sh in book.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"):
        t = target[sh.get(rid)].lstrip("/")
        out[sh.get("name")] = t if t.startswith("xl/") else "xl/" + t
    return out


def _with_rows(xml: str, frame: pd.DataFrame) -> str:
    """The sheet XML with row 2 (the style row) replaced by every row of ``frame``."""
    start = xml.index('<row r="2"')
    end = xml.index("</row>", start) + len("</row>")
    styles = dict(re.findall(r'<c r="([A-Z]+)2"[^>]*?(?: s="(\d+)")', xml[start:end]))
    letters = [get_column_letter(j + 1) for j in range(len(frame.columns))]
    columns = [_cells(frame[c], letter, styles.get(letter))
               for c, letter in zip(frame.columns, letters)]
    body = "".join(f'<row r="{i}">{"".join(cells)}</row>'
                   for i, cells in enumerate(zip(*columns), start=2)) if len(frame) else ""
    last = f"{letters[-1]}{len(frame) + 1}" if letters else "A1"
    xml = xml[:start] + body + xml[end:]
    return re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:{last}"', xml, count=1)


def _cells(column: pd.Series, letter: str, style: str | None) -> list[str]:
    """One column's cells as XML (blank cells as empty strings)."""
    s = f' s="{style}"' if style else ""
    rows = range(2, len(column) + 2)
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy()
        present = np.isfinite(values) if values.dtype.kind == "f" else np.ones(len(values), bool)
        return [f'<c r="{letter}{i}"{s}><v>{v!r}</v></c>' if ok else ""
                for i, v, ok in zip(rows, values.tolist(), present.tolist())]
    # Text and mixed columns repeat values (SKUs, factories): convert each once.
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    tails = [_cell_tail(v, s) for v in uniques] + [None]  # code −1 (blank) → the last
    return [f'<c r="{letter}{i}"{tail}' if tail is not None else ""
            for i, tail in zip(rows, (tails[c] for c in codes.tolist()))]


def _cell_tail(v: Any, s: str) -> str | None:
    """A cell's XML after its reference: style, type and value; None for a blank cell."""
    v = cell_value(v)
    if v is None:
        return None
    if isinstance(v, bool):
        return f'{s} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)) and math.isfinite(v):
        return f"{s}><v>{v!r}</v></c>"
    if isinstance(v, (dt.date, dt.datetime)):
        return f"{s}><v>{to_excel(v)!r}</v></c>"
    text = xml_escape(_ILLEGAL_XML.sub("", str(v)))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


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
