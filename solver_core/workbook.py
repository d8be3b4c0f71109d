"""Headless front end: read input sheets (python-calamine) and write result workbooks
(openpyxl).

The input file is never modified: results go to a new file written under a temporary
name in the target folder and then renamed over the target, so a crash never leaves a
half-written workbook.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import posixpath
import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any, Callable
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import unescape as xml_unescape

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.datetime import to_excel
from python_calamine import CalamineWorkbook, SheetTypeEnum

from .outputs import DATE_FORMAT, DATETIME_FORMAT, ChartSpec, OutSheet, validation_sheet
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
            unsaved = _formulas_without_values(z, list(cells))
        raw = {n: raw_frame([[_cell(v) for v in row] for row in rows])
               for n, rows in cells.items()}
        for name, refs in unsaved.items():
            if name in raw:
                raw[name].attrs[UNSAVED_FORMULAS] = refs
        return raw
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


def _sheets_containing(z: zipfile.ZipFile, names: list[str], marker: bytes):
    """(name, XML text) of each named sheet whose XML part contains ``marker``."""
    parts = _sheet_parts(z)
    listed = set(z.namelist())
    for name in names:
        part = parts.get(name)
        if part is None or part not in listed:
            continue
        xml = z.read(part)
        if marker in xml:
            yield name, xml.decode("utf-8", "replace")


def _put_error_values(z: zipfile.ZipFile, cells: dict[str, list[list[Any]]]) -> None:
    """Put each error cell's value (``#N/A``…) into ``cells``; the fast reader blanks them,
    and a blank would hide a failed formula."""
    for name, xml in _sheets_containing(z, list(cells), b't="e"'):
        rows = cells[name]
        for tag in _ERROR_CELL.findall(xml):
            where, value = _CELL_REF.search(tag), _CELL_VALUE.search(tag)
            if where is None or value is None:
                continue
            col, row = column_index_from_string(where.group(1)) - 1, int(where.group(2)) - 1
            while len(rows) <= row:
                rows.append([])
            line = rows[row]
            line.extend([""] * (col + 1 - len(line)))
            line[col] = value.group(1)


# Raw-sheet attribute: A1 cells holding a formula with no saved value. A workbook written
# by a tool that does not calculate (a script, some exporters) has none; the cell then
# reads as blank, and validation warns at each such cell (api.load).
UNSAVED_FORMULAS = "formulas_without_values"
_FORMULA_CELL = re.compile(r'<c\b([^>]*)>(?:(?!</c>).)*?<f\b(?:(?!</c>).)*?</c>', re.S)


def _formulas_without_values(z: zipfile.ZipFile, names: list[str]) -> dict[str, list[str]]:
    """Sheet name → the A1 cells whose formula has no saved value (``<f>`` without ``<v>``)."""
    found: dict[str, list[str]] = {}
    for name, xml in _sheets_containing(z, names, b"<f"):
        for m in _FORMULA_CELL.finditer(xml):
            tag = m.group(0)
            value = _CELL_VALUE.search(tag)
            if value is None or value.group(1) == "":
                where = _CELL_REF.search(m.group(1))
                if where is not None:
                    found.setdefault(name, []).append(where.group(1) + where.group(2))
    return found


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


RESULT_MARKER = "scplan result sheets"  # custom document property: the sheets scplan wrote
_MARKER_CHARS = 255  # Excel's limit for a text property: longer lists go on in "… 2", "… 3"
CELL_TEXT_LIMIT = 32_767  # characters Excel keeps in one cell


def check_paths(in_path: str | Path | None, out_path: str | Path) -> None:
    """Refuse an output path that is the input (also through a link) or a folder.

    Called before any work, so that a long solve is never lost to a bad ``-o``.
    """
    out_path = Path(out_path)
    if in_path is not None and _same_file(Path(in_path), out_path):
        raise WorkbookError(
            f"The output file must differ from the input file ({in_path}): the input is "
            "never modified. Choose another -o name."
        )
    if out_path.is_dir():
        raise WorkbookError(f"The output {out_path} is a folder; give a file name ending "
                            "in .xlsx.")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def write_result(in_path: str | Path | None, out_path: str | Path,
                 sheets: list[OutSheet]) -> Path:
    """Write OUT = the input workbook with its result sheets replaced by ``sheets``.

    With ``in_path`` None (an input that cannot be read) OUT is a new workbook holding
    only ``sheets``. Texts longer than a cell holds are cut, with a warning in
    ``Out Validation`` naming the cell; text is always written as text, never a formula.
    """
    check_paths(in_path, out_path)
    out_path = Path(out_path)
    sheets = clip_long_texts(sheets)
    if in_path is not None:
        try:
            return merge_result(in_path, out_path, sheets)
        except _Unmergeable:  # a package the merge does not know: load and save it whole
            pass
    if in_path is None:
        wb = Workbook()
        wb.remove(wb.active)
    else:
        wb = open_workbook(in_path)
    bulk = replace_out_sheets(wb, sheets)
    save_atomically(wb, out_path, bulk)
    return out_path


def save_atomically(wb: Workbook, out_path: str | Path,
                    bulk: list[OutSheet] | None = None) -> None:
    """Save under a temporary name, fill the ``bulk`` sheets' rows, then rename."""
    def write(tmp: Path) -> None:
        wb.save(tmp)
        if bulk:
            fill_bulk_rows(tmp, bulk)

    _write_atomically(out_path, write)


def _write_atomically(out_path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file beside ``out_path``, then rename it over it."""
    out_path = Path(out_path)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".scplan-", suffix=".xlsx", dir=out_path.parent)
    except OSError as exc:
        raise WorkbookError(f"Cannot write {out_path}: {exc.strerror or exc}. Choose a "
                            "folder you can write to.") from exc
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, out_path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WorkbookError(f"Cannot write {out_path}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clip_long_texts(sheets: list[OutSheet]) -> list[OutSheet]:
    """``sheets`` with texts over ``CELL_TEXT_LIMIT`` cut, each cut listed as a warning.

    The warnings go to ``Out Validation`` (added if the run had none) with the result
    sheet and cell, so that nothing is shortened without a word.
    """
    out, notes = [], []
    for sheet in sheets:
        frame = sheet.frame
        for j, col in enumerate(frame.columns):
            if pd.api.types.is_numeric_dtype(frame[col]) or \
                    pd.api.types.is_datetime64_any_dtype(frame[col]):
                continue
            long = np.flatnonzero(frame[col].map(
                lambda v: isinstance(v, str) and len(v) > CELL_TEXT_LIMIT).to_numpy(bool))
            if not len(long):
                continue
            if frame is sheet.frame:
                frame = frame.copy()
            for i in long.tolist():
                text = frame.iat[i, j]
                frame.iat[i, j] = text[:CELL_TEXT_LIMIT]
                notes.append(("warning", sheet.name, f"{get_column_letter(j + 1)}{i + 2}",
                              f"A text of {len(text):,} characters was cut to "
                              f"{CELL_TEXT_LIMIT:,}, the most an Excel cell holds."))
        out.append(sheet if frame is sheet.frame else dataclasses.replace(sheet, frame=frame))
    if notes:
        rows = pd.DataFrame(notes, columns=["severity", "sheet", "cell", "message"])
        found = next((k for k, s in enumerate(out) if s.name == "Out Validation"), None)
        if found is None:
            out.append(validation_sheet(rows))
        else:
            old = out[found]
            out[found] = dataclasses.replace(
                old, frame=pd.concat([old.frame, rows], ignore_index=True))
    return out


def result_sheets_of(wb: Workbook) -> set[str]:
    """Sheets of ``wb`` that are results of an earlier run (replaced by a new one).

    Those the workbook's marker lists (written by ``replace_out_sheets``) and those
    named as scplan names its result sheets; every other sheet is the planner's.
    """
    props = {p.name: str(p.value) for p in wb.custom_doc_props.props}
    return _result_sheets([ws.title for ws in wb.worksheets], props)


def _result_sheets(titles: list[str], props: dict[str, str]) -> set[str]:
    """Of the sheets ``titles``, those the marker in ``props`` (custom property name →
    text) lists and those named as scplan names its result sheets."""
    from .api import result_sheet_names

    marked = set()
    for name, value in props.items():
        if _is_marker(name):
            marked.update(n for n in value.split("|") if n)
    known = result_sheet_names() | marked
    return {t for t in titles if t in known}


def _is_marker(name: str) -> bool:
    return name == RESULT_MARKER or name.startswith(RESULT_MARKER + " ")


def _mark_result_sheets(wb: Workbook, names: list[str]) -> None:
    """Record ``names`` in the custom document properties (``RESULT_MARKER``)."""
    props = wb.custom_doc_props
    props.props = [p for p in props.props if not _is_marker(p.name)]
    chunks, current = [], ""
    for name in names:
        if current and len(current) + 1 + len(name) > _MARKER_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current}|{name}" if current else name
    chunks.append(current)
    for k, chunk in enumerate(chunks, start=1):
        props.append(StringProperty(name=RESULT_MARKER if k == 1 else f"{RESULT_MARKER} {k}",
                                    value=chunk))


def replace_out_sheets(wb: Workbook, sheets: list[OutSheet]) -> list[OutSheet]:
    """Drop every previous result sheet, then add ``sheets`` in order.

    Returns the *bulk* sheets: large tables without charts, of which only the header and
    a style row are written here; ``fill_bulk_rows`` writes their rows into the saved
    file (openpyxl takes ~15 µs per cell, too slow for the MPS's million-cell tables).
    """
    old = result_sheets_of(wb)
    for ws in list(wb.worksheets):
        if ws.title in old:
            wb.remove(ws)
    bulk = []
    for sheet in sheets:
        is_bulk = not sheet.charts and not sheet.cell_formats and sheet.frame.size >= BULK_CELLS
        write_sheet(wb.create_sheet(sheet.name), sheet, style_row_only=is_bulk)
        if is_bulk:
            bulk.append(sheet)
    _mark_result_sheets(wb, [s.name for s in sheets])
    if sheets:
        wb.active = wb.sheetnames.index(sheets[0].name)
        for ws in wb.worksheets:
            ws.sheet_view.tabSelected = ws.title == sheets[0].name
    return bulk


MAX_COLUMN_WIDTH = 60  # characters; longer texts wrap
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
LINE_HEIGHT = 15.0  # points per line of wrapped text (Calibri 11)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")


def write_sheet(ws, sheet: OutSheet, style_row_only: bool = False) -> None:
    """Header, rows, formats, widths, autofilter, frozen header and charts of one sheet.

    With ``style_row_only`` the only row under the header holds each column's first
    non-blank value, so that its cells carry the column's style for ``fill_bulk_rows``.
    """
    frame = sheet.frame
    append_row(ws, [str(c) for c in frame.columns])
    if style_row_only:
        append_row(ws, [_first_value(frame[c]) for c in frame.columns])
        n_rows = 1
    else:
        for row in frame.itertuples(index=False):
            append_row(ws, row)
        n_rows = len(frame)
    wrapped = False
    for j, col in enumerate(frame.columns, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        fmt = column_format(sheet, col)
        if fmt:
            for (c,) in ws.iter_rows(min_row=2, max_row=n_rows + 1, min_col=j, max_col=j):
                c.number_format = fmt
        width = column_width(frame, col, fmt)
        ws.column_dimensions[get_column_letter(j)].width = width
        if wraps(frame, col, width):
            wrapped = True
            for (c,) in ws.iter_rows(min_row=2, max_row=n_rows + 1, min_col=j, max_col=j):
                c.alignment = WRAP
    if wrapped:
        # Rows several lines high: every cell reads from the top, as the wrapped ones do.
        for row in ws.iter_rows(min_row=2, max_row=n_rows + 1, max_col=len(frame.columns)):
            for c in row:
                if not c.alignment.wrap_text:
                    c.alignment = TOP
        if not style_row_only:  # bulk rows get their heights in the XML (_bulk_rows)
            for i, h in enumerate(row_heights(sheet).tolist(), start=2):
                ws.row_dimensions[i].height = h
    positions = {c: j for j, c in enumerate(frame.columns, start=1)}
    for (i, col), fmt in sheet.cell_formats.items():
        ws.cell(row=i + 2, column=positions[col]).number_format = fmt
    if len(frame.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"
    ws.freeze_panes = frozen_cell(frame)
    for chart, col0, row0 in chart_layout(sheet):
        write_chart(ws, chart, col0, row0)


WIDE_TABLE_COLUMNS = 12


def frozen_cell(frame: pd.DataFrame) -> str:
    """The first cell that scrolls: the header stays in view, and so does the first
    column (what the row is) of a table too wide for one screen, such as Out Scenarios."""
    return "B2" if len(frame.columns) > WIDE_TABLE_COLUMNS else "A2"


def row_heights(sheet: OutSheet) -> np.ndarray | None:
    """Each row's height in points for the lines its wrapped texts take (None when no
    column wraps). Set explicitly: neither LibreOffice nor every Excel fits a row to its
    wrapped text when opening a file, and without it the lines overlap."""
    frame = sheet.frame
    lines, wrapped = np.ones(len(frame)), False
    for col in frame.columns:
        width = column_width(frame, col, column_format(sheet, col))
        if wraps(frame, col, width):
            wrapped = True
            chars = frame[col].map(lambda v: len(v) if isinstance(v, str) else 0).to_numpy()
            lines = np.maximum(lines, np.ceil(chars / (0.95 * width)))
    return LINE_HEIGHT * lines if wrapped else None


def wraps(frame: pd.DataFrame, col: Any, width: float) -> bool:
    """Whether a column's texts wrap: some are longer than its widest width (Out Why's
    details), and would be cut by the next column's cell."""
    return width >= MAX_COLUMN_WIDTH and bool(frame[col].head(200).map(
        lambda v: isinstance(v, str) and len(v) > width).any())


def append_row(ws, values) -> None:
    """Append one row; text is stored as text, even when it looks like a formula.

    openpyxl takes text beginning with ``=`` for a formula and ``#N/A`` for an error
    value: a name like ``=HYPERLINK(…)`` from an input sheet would become a live formula.
    """
    row = [cell_value(v) for v in values]
    ws.append([safe_text(v) if isinstance(v, str) else v for v in row])
    r = ws.max_row
    for j, v in enumerate(row, start=1):
        if isinstance(v, str) and _formula_like(v):
            _as_text(ws.cell(row=r, column=j))


def put(ws, row: int, column: int, value: Any):
    """Write one cell as ``append_row`` does (text as text); return the cell."""
    v = cell_value(value)
    cell = ws.cell(row=row, column=column, value=safe_text(v) if isinstance(v, str) else v)
    if isinstance(v, str) and _formula_like(v):
        _as_text(cell)
    return cell


def safe_text(text: str) -> str:
    """Text an .xlsx cell can hold: control characters dropped, cut to the cell limit."""
    return _ILLEGAL_XML.sub("", text)[:CELL_TEXT_LIMIT]


def _formula_like(text: str) -> bool:
    return text.startswith("=") or text in ERROR_CODES


def _as_text(cell) -> None:
    cell.data_type = "s"
    cell.quotePrefix = True  # as Excel's text prefix: editing the cell keeps it text


def column_format(sheet: OutSheet, col: Any) -> str | None:
    """Number format of a result column: the declared one, or a date format for dates."""
    fmt = sheet.formats.get(str(col))
    if fmt:
        return fmt
    return date_format(sheet.frame[col])


def date_format(column: pd.Series) -> str | None:
    """``DATE_FORMAT`` for a column of dates (``DATETIME_FORMAT`` if any has a time)."""
    first = _first_value(column)
    if isinstance(first, (dt.datetime, pd.Timestamp)):
        has_time = any(getattr(v, "hour", 0) or getattr(v, "minute", 0)
                       for v in column.head(200) if v is not None and v == v)
        return DATETIME_FORMAT if has_time else DATE_FORMAT
    if isinstance(first, dt.date):
        return DATE_FORMAT
    return None


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
        new = {parts[s.name]: _bulk_rows(zin.read(parts[s.name]).decode("utf-8"), s)
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


def _bulk_rows(xml: str, sheet: OutSheet) -> str:
    """The sheet XML with row 2 (the style row) replaced by every row of ``sheet``, each
    as high as its wrapped texts need (``row_heights``)."""
    frame, heights = sheet.frame, row_heights(sheet)
    start = xml.index('<row r="2"')
    end = xml.index("</row>", start) + len("</row>")
    styles = dict(re.findall(r'<c r="([A-Z]+)2"[^>]*?(?: s="(\d+)")', xml[start:end]))
    letters = [get_column_letter(j + 1) for j in range(len(frame.columns))]
    columns = [_cells(frame[c], letter, styles.get(letter))
               for c, letter in zip(frame.columns, letters)]
    tags = ([f' ht="{h:g}" customHeight="1"' for h in heights.tolist()] if heights is not None
            else [""] * len(frame))
    body = "".join(f'<row r="{i}"{tag}>{"".join(cells)}</row>'
                   for i, (tag, cells) in enumerate(zip(tags, zip(*columns)), start=2)
                   ) if len(frame) else ""
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


def column_width(frame: pd.DataFrame, col: Any, fmt: str | None = None) -> float:
    """Width (characters) showing the header and the formatted values of a column.

    The header gets room for the autofilter button; values are measured as displayed
    (thousands separators, decimals, dates), so that Excel never shows ``###``.
    """
    values = frame[col].head(200).tolist()
    return fit_width(str(col), values, fmt)


def fit_width(header: str, values: list, fmt: str | None) -> float:
    """Width for a header and sample values under number format ``fmt``."""
    longest = max([display_length(v, fmt) for v in values] or [0])
    return float(max(10, len(header) + 4, min(longest + 2, MAX_COLUMN_WIDTH)))



def display_length(v: Any, fmt: str | None) -> int:
    """Characters Excel shows for ``v`` under number format ``fmt`` (an estimate)."""
    v = cell_value(v)
    if v is None:
        return 0
    if isinstance(v, bool):
        return 5
    if isinstance(v, (dt.date, dt.datetime)):
        return len(fmt) if fmt and ("y" in fmt or "d" in fmt) else 19
    if isinstance(v, (int, float)):
        if not math.isfinite(v):
            return 4
        if not fmt or fmt == "General":
            return min(len(repr(v)), 11)
        decimals = len(fmt.split(".", 1)[1].rstrip("%")) if "." in fmt else 0
        shown = v * 100 if fmt.endswith("%") else v
        text = f"{shown:,.{decimals}f}" if "," in fmt else f"{shown:.{decimals}f}"
        return len(text) + fmt.endswith("%")
    return len(str(v))


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
    put(ws, row0, col0, f"Chart data: {spec.title}").font = Font(italic=True)
    top = row0 + 1
    for j, col in enumerate(data.columns):
        put(ws, top, col0 + j, str(col)).font = Font(bold=True)
        fmt = spec.y_format if j > 0 and spec.y_format != "General" else date_format(data[col])
        for i, v in enumerate(data[col].tolist(), start=1):
            c = put(ws, top + i, col0 + j, v)
            if fmt:
                c.number_format = fmt
        # Blocks of several charts share columns: the widest one sets the width.
        letter = get_column_letter(col0 + j)
        width = fit_width(str(col), data[col].head(200).tolist(), fmt)
        if letter in ws.column_dimensions:  # set by an earlier block (not openpyxl's default)
            width = max(width, ws.column_dimensions[letter].width)
        ws.column_dimensions[letter].width = width
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
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = spec.y_min, spec.y_max
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
        for j, series in enumerate(chart.series, start=1):
            series.smooth = False  # straight segments between days, not splines
            if data.columns[j] in spec.dashed:
                series.graphicalProperties.line.dashStyle = "dash"
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


# ---------------------------------------------------------------------------
# Merged write: the input package's parts are copied as they are (its sheets are never
# loaded: openpyxl took ~3 minutes to load and save a 100,000-line input), and the result
# sheets, written into a fresh workbook, are added to it at the zip level.

class _Unmergeable(Exception):
    """A package layout the merge does not handle; the whole-load writer takes over."""


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_WORKBOOK_PART = "xl/workbook.xml"
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_QUOTES = {"&quot;": '"', "&apos;": "'"}
_REL_TAG = re.compile(r"<Relationship\b[^>]*>")
_STYLE_INDEX = re.compile(r'(<(?:c|row)\b[^>]*?\bs="|<col\b[^>]*?\bstyle=")(\d+)"')
_SHARED_CELL = re.compile(r'<c\b([^>]*?)\st="s"([^>]*)><v>(\d+)</v></c>')


def merge_result(in_path: str | Path, out_path: str | Path, sheets: list[OutSheet]) -> Path:
    """Write OUT = the input package with its result sheets replaced by ``sheets``.

    The same workbook as loading the input with openpyxl and adding ``sheets`` gives,
    without reading the input's sheets: every part of the input is copied byte for byte
    (except that sheets other than the first result sheet are no longer selected), the
    earlier result sheets and the parts only they use are left out, and the new sheets,
    their drawings and charts come from a fresh workbook, their styles appended to the
    input's ``styles.xml``.

    Raises
    ------
    _Unmergeable
        For a package this does not handle (macros, strict OOXML, prefixed XML…).
    """
    out_path = Path(out_path)
    try:
        zin = zipfile.ZipFile(in_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise _Unmergeable(str(exc)) from exc
    with zin:
        try:
            package = _InputPackage(zin)
        except (KeyError, ValueError, ET.ParseError, UnicodeDecodeError) as exc:
            raise _Unmergeable(str(exc)) from exc
        wb = Workbook()
        wb.remove(wb.active)
        bulk = replace_out_sheets(wb, sheets)

        def write(tmp: Path) -> None:
            wb.save(tmp)
            with zipfile.ZipFile(tmp) as znew:
                fresh = {n: znew.read(n) for n in znew.namelist()}
                fresh_sheets = _sheet_parts(znew)
            try:
                parts = package.merged(fresh, [fresh_sheets[s.name] for s in sheets],
                                       [s.name for s in sheets],
                                       {fresh_sheets[s.name]: s for s in bulk})
            except (KeyError, ValueError, IndexError, ET.ParseError, UnicodeDecodeError,
                    zipfile.BadZipFile) as exc:  # a part the merge cannot follow
                raise _Unmergeable(str(exc)) from exc
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
                for name, data in parts.items():
                    zout.writestr(name, data)

        _write_atomically(out_path, write)
    return out_path


class _InputPackage:
    """The parts of an input package and what the merge needs to know about them."""

    def __init__(self, z: zipfile.ZipFile):
        self.z = z
        self.names = [i.filename for i in z.infolist() if not i.is_dir()]
        self.types = z.read("[Content_Types].xml").decode("utf-8")
        if not re.search(r'<Override\b[^>]*PartName="/xl/workbook\.xml"[^>]*ContentType="'
                         + re.escape(_WORKBOOK_TYPE) + '"', self.types):
            raise _Unmergeable("not a plain .xlsx workbook part (macros, template…)")
        self.root_rels = z.read("_rels/.rels").decode("utf-8")
        if _WORKBOOK_PART not in _targets(self.root_rels, ""):
            raise _Unmergeable("the workbook part is not xl/workbook.xml")
        self.book = z.read(_WORKBOOK_PART).decode("utf-8")
        root = re.search(r"<workbook\b[^>]*>", self.book)
        if root is None or f'xmlns="{_MAIN_NS}"' not in root.group(0):
            raise _Unmergeable("workbook.xml does not use the main namespace as default")
        if re.search(r"<sheets>.*?</sheets>", self.book, re.S) is None:
            raise _Unmergeable("workbook.xml without sheets")
        if re.search(r'\bdate1904="(1|true)"', self.book):
            raise _Unmergeable("1904 date system")  # the fresh sheets count from 1900
        self.sheet_tags = re.findall(r"<sheet\b[^>]*/>",
                                     re.search(r"<sheets>(.*?)</sheets>", self.book, re.S)[1])
        self.titles = [_attrs(t)["name"] for t in self.sheet_tags]
        self.book_rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        self.custom = next((t for t, kind in _targets(self.root_rels, "").items()
                            if kind.endswith("/custom-properties")), None)
        custom_xml = z.read(self.custom).decode("utf-8") if self.custom else ""
        self.props = {_attrs(tag).get("name", ""): xml_unescape(re.sub(r"<[^>]*>", "", body))
                      for tag, body in _properties(custom_xml)}

    def merged(self, fresh: dict[str, bytes], new_sheets: list[str], new_titles: list[str],
               bulk: dict[str, OutSheet]) -> dict[str, bytes]:
        """Part name → content of OUT, ``[Content_Types].xml`` first.

        ``fresh``: the parts of the fresh workbook holding the result sheets
        ``new_sheets`` (part names) titled ``new_titles``; ``bulk``: its bulk sheets (by
        part), whose rows go in here after the style row's restyling.
        """
        z, old = self.z, _result_sheets(self.titles, self.props)
        sheet_part = _sheet_parts(z)
        removed = {sheet_part[t] for t in old}
        calc_chain = {p for p in self.names if p.endswith("calcChain.xml")}  # Excel rebuilds it
        kept = _reachable(lambda p: self._read(p), [""], removed | calc_chain)
        dropped = (_reachable(lambda p: self._read(p), sorted(removed), set()) - kept) \
            | removed | calc_chain
        dropped |= {_rels_of(p) for p in dropped}

        carried = sorted(_reachable(lambda p: fresh.get(p), new_sheets, set()))
        taken = set(self.names) - dropped
        rename = {}
        for part in carried:
            rename[part] = _free_name(part, taken)
            taken.add(rename[part])

        styles_part = next((t for t, kind in _targets(self.book_rels, _WORKBOOK_PART).items()
                            if kind.endswith("/styles")), None)
        if styles_part is None or styles_part not in self.names:
            raise _Unmergeable("no styles part")
        styles, xf_map = _merge_styles(z.read(styles_part).decode("utf-8"),
                                       fresh["xl/styles.xml"].decode("utf-8"))
        shared = [m.group(1) for m in re.finditer(
            r"<si>(.*?)</si>", fresh.get("xl/sharedStrings.xml", b"").decode("utf-8"), re.S)]

        out: dict[str, bytes] = {"[Content_Types].xml": b""}
        for name in self.names:
            if name in dropped or name == "[Content_Types].xml":
                continue
            data = z.read(name)
            if name == styles_part:
                data = styles.encode("utf-8")
            elif name in sheet_part.values() and new_titles:
                data = _unselected(data)
            out[name] = data
        for part in carried:
            data = fresh[part]
            if part in new_sheets:
                xml = _restyled(data.decode("utf-8"), xf_map, shared)
                data = (_bulk_rows(xml, bulk[part]) if part in bulk else xml).encode("utf-8")
            out[rename[part]] = data
            rels = fresh.get(_rels_of(part))
            if rels is not None:
                out[_rels_of(rename[part])] = _renamed_rels(
                    rels.decode("utf-8"), part, rename).encode("utf-8")

        self._add_sheets(out, [rename[p] for p in new_sheets], new_titles, old, fresh,
                         removed | calc_chain)
        self._add_marker(out, fresh)
        out["[Content_Types].xml"] = self._content_types(fresh, rename, dropped).encode("utf-8")
        return out

    def _read(self, part: str) -> bytes | None:
        try:
            return self.z.read(part)
        except KeyError:
            return None

    def _add_sheets(self, out: dict[str, bytes], parts: list[str], titles: list[str],
                    old: set[str], fresh: dict[str, bytes], gone: set[str]) -> None:
        """workbook.xml and its relations: old result sheets out, the new ones in."""
        rels, used = self.book_rels, set()
        for tag in _REL_TAG.findall(rels):
            a = _attrs(tag)
            used.add(a.get("Id"))
            if a.get("TargetMode") != "External" and _resolve("xl", a["Target"]) in gone:
                rels = rels.replace(tag, "")
        rids = []
        for part in parts:
            rid = next(f"rId{k}" for k in range(1, len(used) + 2) if f"rId{k}" not in used)
            used.add(rid)
            rids.append(rid)
            rels = rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{_REL_NS}/'
                                f'worksheet" Target="{posixpath.relpath(part, "xl")}"/>'
                                "</Relationships>")
        out["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")

        book, kept = self.book, [t for t in self.titles if t not in old]
        for tag, title in zip(self.sheet_tags, self.titles):
            if title in old:
                book = book.replace(tag, "", 1)
        next_id = max([int(_attrs(t).get("sheetId", 0)) for t in self.sheet_tags] + [0]) + 1
        added = "".join(f'<sheet xmlns:r="{_REL_NS}" name="{_attr_text(t)}" '
                        f'sheetId="{next_id + k}" r:id="{rid}"/>'
                        for k, (t, rid) in enumerate(zip(titles, rids)))
        book = book.replace("</sheets>", added + "</sheets>", 1)
        # Names local to a sheet carry its position: renumber them, drop the old sheets'.
        position = {i: kept.index(t) for i, t in enumerate(self.titles) if t in kept}
        names = []
        for tag, body in re.findall(r"(<definedName\b[^>]*>)(.*?)</definedName>", book, re.S):
            local = _attrs(tag).get("localSheetId")
            if local is not None and int(local) not in position:
                continue
            if local is not None:
                tag = re.sub(r'localSheetId="\d+"', f'localSheetId="{position[int(local)]}"', tag)
            names.append(f"{tag}{body}</definedName>")
        fresh_book = fresh[_WORKBOOK_PART].decode("utf-8")
        for tag, body in re.findall(r"(<definedName\b[^>]*>)(.*?)</definedName>", fresh_book,
                                    re.S):
            local = _attrs(tag).get("localSheetId")
            if local is not None:
                tag = re.sub(r'localSheetId="\d+"', f'localSheetId="{len(kept) + int(local)}"',
                             tag)
            names.append(f"{tag}{body}</definedName>")
        block = "<definedNames>" + "".join(names) + "</definedNames>" if names else ""
        found = re.search(r"<definedNames>.*?</definedNames>|<definedNames/>", book, re.S)
        if found:
            book = book[:found.start()] + block + book[found.end():]
        else:  # its place: after the sheets (and the function groups, external links)
            end = max(book.find(t) + len(t) for t in
                      ("</sheets>", "</functionGroups>", "</externalReferences>") if t in book)
            book = book[:end] + block + book[end:]
        view = re.search(r"<workbookView\b[^>]*>", book)
        if view:  # the first new sheet active, as in the whole-load writer
            tag = re.sub(r'\s(?:activeTab|firstSheet)="\d+"', "", view.group(0))
            tag = tag.replace("<workbookView", f'<workbookView activeTab="{len(kept)}"', 1) \
                if titles else tag
            book = book[:view.start()] + tag + book[view.end():]
        out[_WORKBOOK_PART] = book.encode("utf-8")

    def _add_marker(self, out: dict[str, bytes], fresh: dict[str, bytes]) -> None:
        """The input's custom properties with the marker of the new result sheets."""
        fresh_props = fresh["docProps/custom.xml"].decode("utf-8")
        if self.custom is None:
            if "docProps/custom.xml" in out:
                raise _Unmergeable("docProps/custom.xml is not the custom properties part")
            self.custom = "docProps/custom.xml"
            out["docProps/custom.xml"] = fresh["docProps/custom.xml"]
            out["_rels/.rels"] = out["_rels/.rels"].decode("utf-8").replace(
                "</Relationships>", f'<Relationship Id="rIdScplanMarker" Type="{_REL_NS}/'
                f'custom-properties" Target="docProps/custom.xml"/></Relationships>'
            ).encode("utf-8")
            return
        xml = out[self.custom].decode("utf-8")
        if "</Properties>" not in xml:
            raise _Unmergeable("custom properties without a closing tag")
        pids = [0]
        for tag, body in _properties(xml):
            if _is_marker(_attrs(tag).get("name", "")):
                xml = xml.replace(f"{tag}{body}</property>", "", 1)
            else:
                pids.append(int(_attrs(tag).get("pid", 0)))
        added = ""
        for k, (tag, body) in enumerate(_properties(fresh_props)):
            if _is_marker(_attrs(tag).get("name", "")):
                tag = re.sub(r'pid="\d+"', f'pid="{max(pids + [1]) + 1 + k}"', tag)
                added += f"{tag}{body}</property>"
        out[self.custom] = xml.replace("</Properties>", added + "</Properties>").encode("utf-8")

    def _content_types(self, fresh: dict[str, bytes], rename: dict[str, str],
                       dropped: set[str]) -> str:
        """[Content_Types].xml without the dropped parts, with the fresh ones."""
        types = self.types
        for tag in re.findall(r"<Override\b[^>]*/>", types):
            if _attrs(tag).get("PartName", "").lstrip("/") in dropped:
                types = types.replace(tag, "", 1)
        fresh_types = fresh["[Content_Types].xml"].decode("utf-8")
        have = {_attrs(t).get("Extension", "").lower()
                for t in re.findall(r"<Default\b[^>]*/>", types)}
        overrides = {_attrs(t)["PartName"].lstrip("/"): _attrs(t)["ContentType"]
                     for t in re.findall(r"<Override\b[^>]*/>", fresh_types)}
        added = [t for t in re.findall(r"<Default\b[^>]*/>", fresh_types)
                 if _attrs(t).get("Extension", "").lower() not in have]
        added += [f'<Override PartName="/{new}" ContentType="{overrides[old]}"/>'
                  for old, new in rename.items() if old in overrides]
        if self.custom == "docProps/custom.xml" and "/docProps/custom.xml" not in types:
            added.append(f'<Override PartName="/docProps/custom.xml" '
                         f'ContentType="{_CUSTOM_TYPE}"/>')
        return types.replace("</Types>", "".join(added) + "</Types>")


def _attrs(tag: str) -> dict[str, str]:
    """The attributes of one XML start tag (entities decoded)."""
    return {k: xml_unescape(a or b, _QUOTES) for k, a, b in _ATTR.findall(tag)}


def _attr_text(text: str) -> str:
    return xml_escape(text, {'"': "&quot;"})


def _properties(xml: str) -> list[tuple[str, str]]:
    """(start tag, content) of each custom document property."""
    return re.findall(r"(<property\b[^>]*>)(.*?)</property>", xml, re.S)


def _rels_of(part: str) -> str:
    """The relationships part of ``part`` ('' = the package)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(folder, target))


def _targets(rels: str, part: str) -> dict[str, str]:
    """Internal targets (part name → relationship type) of ``part``'s relationships."""
    folder = posixpath.dirname(part)
    out = {}
    for tag in _REL_TAG.findall(rels):
        a = _attrs(tag)
        if a.get("TargetMode") != "External" and "Target" in a:
            out[_resolve(folder, a["Target"])] = a.get("Type", "")
    return out


def _reachable(read: Callable[[str], bytes | None], start: list[str],
               stop: set[str]) -> set[str]:
    """Parts reached from ``start`` through relationships, not entering ``stop``."""
    seen, todo = set(), list(start)
    while todo:
        part = todo.pop()
        if part in seen or part in stop:
            continue
        seen.add(part)
        rels = read(_rels_of(part))
        if rels is not None:
            todo.extend(_targets(rels.decode("utf-8"), part))
    seen.discard("")
    return seen


def _free_name(part: str, taken: set[str]) -> str:
    """``part``'s name, numbered up (``chart1.xml`` → ``chart3.xml``) until it is free."""
    folder, name = posixpath.split(part)
    stem, ext = posixpath.splitext(name)
    stem = stem.rstrip("0123456789")
    k = 1
    while posixpath.join(folder, f"{stem}{k}{ext}") in taken:
        k += 1
    return posixpath.join(folder, f"{stem}{k}{ext}")


def _renamed_rels(rels: str, part: str, rename: dict[str, str]) -> str:
    """Relationships of the fresh ``part`` pointing at the renamed parts."""
    folder, new_folder = posixpath.dirname(part), posixpath.dirname(rename[part])

    def move(tag: str) -> str:
        a = _attrs(tag)
        if a.get("TargetMode") == "External":
            return tag
        target = rename[_resolve(folder, a["Target"])]
        return re.sub(r'Target="[^"]*"',
                      f'Target="{_attr_text(posixpath.relpath(target, new_folder))}"', tag)
    return _REL_TAG.sub(lambda m: move(m.group(0)), rels)


def _unselected(sheet_xml: bytes) -> bytes:
    """A sheet no longer selected (so that the new active sheet is not grouped with it)."""
    start = sheet_xml.find(b"<sheetView ")
    if start < 0:
        return sheet_xml
    end = sheet_xml.index(b">", start)
    tag = sheet_xml[start:end]
    return sheet_xml[:start] + re.sub(rb'\stabSelected="(1|true)"', b"", tag) + sheet_xml[end:]


def _restyled(xml: str, xf_map: list[int], shared: list[str]) -> str:
    """A fresh sheet with merged style indices and its shared strings inline."""
    xml = _SHARED_CELL.sub(lambda m: f'<c{m[1]} t="inlineStr"{m[2]}><is>{shared[int(m[3])]}'
                           "</is></c>", xml)
    return _STYLE_INDEX.sub(lambda m: f'{m[1]}{xf_map[int(m[2])]}"', xml)


def _children(xml: str, section: str, child: str) -> list[str]:
    m = re.search(rf"<{section}\b[^>]*>(.*?)</{section}>", xml, re.S)
    if m is None:
        return []
    return re.findall(rf"<{child}\b(?:[^>]*/>|[^>]*>.*?</{child}>)", m.group(1), re.S)


def _append(xml: str, section: str, child: str, items: list[str]) -> tuple[str, int]:
    """``xml`` with ``items`` appended to ``section``; the count of children before."""
    m = re.search(rf"<{section}\b[^>]*>(.*?)</{section}>", xml, re.S)
    if m is None:
        raise _Unmergeable(f"styles.xml without {section}")
    before = len(_children(xml, section, child))
    start = re.sub(r'\scount="\d+"', "", xml[m.start():m.start(1)])
    start = start[:-1] + f' count="{before + len(items)}">'
    return (xml[:m.start()] + start + m.group(1) + "".join(items) + f"</{section}>"
            + xml[m.end():]), before


def _merge_styles(old: str, new: str) -> tuple[str, list[int]]:
    """The input's styles.xml with the fresh workbook's cell formats appended, and each
    fresh cell format's index in it."""
    root = re.search(r"<styleSheet\b[^>]*>", old)
    if root is None or f'xmlns="{_MAIN_NS}"' not in root.group(0):
        raise _Unmergeable("styles.xml does not use the main namespace as default")
    old = re.sub(r"<numFmts\b[^>]*/>", "", old)
    if "<numFmts" not in old:
        old = old[:root.end()] + '<numFmts count="0"></numFmts>' + old[root.end():]
    codes = {_attrs(t)["formatCode"]: int(_attrs(t)["numFmtId"])
             for t in _children(old, "numFmts", "numFmt")}
    next_id = max([163, *codes.values()]) + 1
    fmt_ids, added = {}, []
    for tag in _children(new, "numFmts", "numFmt"):
        a = _attrs(tag)
        if a["formatCode"] not in codes:
            codes[a["formatCode"]] = next_id
            added.append(f'<numFmt numFmtId="{next_id}" '
                         f'formatCode="{_attr_text(a["formatCode"])}"/>')
            next_id += 1
        fmt_ids[a["numFmtId"]] = str(codes[a["formatCode"]])
    old, _ = _append(old, "numFmts", "numFmt", added)
    base = {}
    for section, child in (("fonts", "font"), ("fills", "fill"), ("borders", "border")):
        old, base[child] = _append(old, section, child, _children(new, section, child))

    def moved(m: re.Match) -> str:
        key, value = m[1], m[2]
        if key == "numFmtId":
            value = fmt_ids.get(value, value)
        elif key == "xfId":
            value = "0"
        else:
            value = str(base[key[:-2]] + int(value))
        return f'{key}="{value}"'

    xfs = [re.sub(r'\b(numFmtId|fontId|fillId|borderId|xfId)="(\d+)"', moved,
                  tag[:tag.index(">")]) + tag[tag.index(">"):]
           for tag in _children(new, "cellXfs", "xf")]
    old, first = _append(old, "cellXfs", "xf", xfs)
    return old, list(range(first, first + len(xfs)))
