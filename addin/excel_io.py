"""Excel front end: read an xlwings Book into raw sheets and write result sheets back.

The same interface as the headless ``solver_core/workbook.py``: ``read_book`` returns
the raw sheets (``tables.raw_frame`` shape) that ``read_workbook`` returns for the saved
file, and ``write_results`` lays out the ``Out …`` sheets as ``write_sheet`` does
(header style, number formats, column widths, frozen header row, chart data blocks and
native charts placed by ``workbook.chart_layout``).

Two kinds of Book reach this module:

- desktop Excel through ``RunPython`` (Windows: COM, macOS: AppleScript): every call
  acts on the open workbook at once;
- xlwings' JSON-backed Book (``xw.Book(json=payload)``, the object a remote
  interpreter builds from the payload Excel sends): reads come from the payload,
  writes are queued as actions (``book.json()``) that the client applies. The tests
  use it to run this module without Excel.

What an engine cannot do degrades instead of failing: the JSON Book has no status bar
(progress is dropped), desktop xlwings has no freeze-panes API (set through the
window object instead, skipped if that fails). ``Writer.skipped`` lists what was
left out.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import pandas as pd

from solver_core.api import result_sheet_names
from solver_core.outputs import ChartSpec, OutSheet
from solver_core.progress import Progress
from solver_core.tables import raw_frame
from solver_core.workbook import (
    CHART_HEIGHT_CM,
    CHART_WIDTH_CM,
    HEADER_FILL,
    HEADER_FONT,
    cell_value,
    chart_layout,
    clip_long_texts,
    column_format,
    column_width,
    date_format,
    fit_width,
    frozen_cell,
    wraps,
)

CHUNK_ROWS = 5000  # rows per write call: keeps single COM / JSON messages bounded
POINTS_PER_CM = 72 / 2.54


def _rgb(argb: str) -> tuple[int, int, int]:
    return tuple(int(argb[-6:][i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


HEADER_COLOR = _rgb(HEADER_FILL.fgColor.rgb)
HEADER_FONT_COLOR = _rgb(HEADER_FONT.color.rgb)
AUTOFILTER_SKIPPED = "filter buttons on the result tables (Data > Filter adds them)"
WRAP_SKIPPED = "wrapped long texts (Home > Wrap Text shows Out Why's details whole)"
CHART_TYPES = {"line": "line", "bar": "column_clustered", "scatter": "xy_scatter_lines"}


def is_json_book(book) -> bool:
    """True for xlwings' JSON-backed Book (remote interpreter), False for desktop Excel."""
    return book.app.engine.name == "remote"


# ---------------------------------------------------------------------------
# Reading


def read_book(book) -> dict[str, pd.DataFrame]:
    """Raw sheets of every input sheet of ``book``, by name.

    Result sheets (``api.result_sheet_names``) are skipped: they are never inputs, and
    reading a large previous result through COM costs time.
    """
    raw = {}
    results = result_sheet_names()
    for sheet in book.sheets:
        if sheet.name in results:
            continue
        raw[sheet.name] = raw_frame(sheet_values(sheet))
    return raw


def sheet_values(sheet) -> list[list[Any]]:
    """Cell values from A1 to the last used cell, as openpyxl reads the saved file.

    Excel hands every number over as a float; openpyxl reads a whole number saved by
    Excel as an int, so whole floats become ints (identifiers like 1001 and messages
    like "found -5" then read the same in both front ends). Error cells stay text
    (``#N/A``) as openpyxl reads them; dates are ``datetime``.
    """
    last = sheet.used_range.last_cell
    rows: list[list[Any]] = []
    # In chunks: a used range stretched by formatted empty cells stays cheap to read.
    for start in range(1, last.row + 1, CHUNK_ROWS):
        end = min(start + CHUNK_ROWS - 1, last.row)
        rng = sheet.range((start, 1), (end, last.column))
        values = rng.options(ndim=2, err_to_str=True).value or []
        rows += [[_plain_cell(v) for v in row] for row in values]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows


def _plain_cell(v: Any) -> Any:
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v == "":
        return None
    return v


# ---------------------------------------------------------------------------
# Writing


def excel_cell(v: Any) -> Any:
    """A value to write so that Excel stores what openpyxl stores.

    Text is written with Excel's text prefix (an apostrophe, which is not part of the
    value): otherwise Excel converts text on entry, as if typed, into a number
    ("007"), a date ("2025-04-07", or "1.2" in a German locale), a boolean or a
    formula. Dates and numbers are written as such.
    """
    v = cell_value(v)
    if isinstance(v, str) and v:
        return "'" + v
    return v


def excel_column_width(chars: float, json_book: bool) -> float:
    """Column width to set: desktop Excel takes characters, the JSON Book's client points.

    Points for a width in characters of the default font (Calibri 11: 7 pixels per
    character plus 5 pixels of padding, 0.75 points per pixel).
    """
    if not json_book:
        return chars
    return round((chars * 7 + 5) * 0.75, 2)


class Writer:
    """Writes result sheets into one Book; collects what the engine could not do."""

    def __init__(self, book):
        self.book = book
        self.json_book = is_json_book(book)
        self.skipped: list[str] = []
        self._chart_widths: dict[tuple[str, int], float] = {}

    # -- sheets

    def out_sheets(self) -> list:
        """The book's result sheets (by name, as ``api.result_sheet_names`` lists them)."""
        results = result_sheet_names()
        return [s for s in self.book.sheets if s.name in results]

    def clear(self) -> int:
        """Delete every result sheet; the planner's sheets are never touched."""
        old = self.out_sheets()
        for sheet in reversed(old):
            sheet.delete()
        return len(old)

    def write(self, sheets: list[OutSheet], progress: Progress | None = None) -> None:
        """Replace the previous result sheets by ``sheets`` (after the last sheet)."""
        self.clear()
        sheets = clip_long_texts(sheets)
        for i, out in enumerate(sheets, start=1):
            if progress is not None:
                progress.step(i - 1, len(sheets), f"Writing {out.name}")
            ws = self.book.sheets.add(out.name, after=self.book.sheets[-1])
            self.write_sheet(ws, out)
        if progress is not None and sheets:
            progress.step(len(sheets), len(sheets), "Writing results")

    def write_sheet(self, ws, out: OutSheet) -> None:
        frame = out.frame
        ncols, nrows = len(frame.columns), len(frame)
        header = [excel_cell(str(c)) for c in frame.columns]
        body = [[excel_cell(v) for v in row] for row in frame.itertuples(index=False)]
        if ncols:
            self._write_block(ws, 1, 1, [header] + body)
            head = ws.range((1, 1), (1, ncols))
            head.font.bold = True
            head.font.color = HEADER_FONT_COLOR
            head.color = HEADER_COLOR
        for j, col in enumerate(frame.columns, start=1):
            fmt = column_format(out, col)
            if fmt and nrows:
                ws.range((2, j), (nrows + 1, j)).number_format = fmt
            width = column_width(frame, col, fmt)
            ws.range((1, j)).column_width = excel_column_width(width, self.json_book)
            if nrows and wraps(frame, col, width):
                self.wrap(ws, ws.range((2, j), (nrows + 1, j)))
        positions = {c: j for j, c in enumerate(frame.columns, start=1)}
        for (i, col), fmt in out.cell_formats.items():
            ws.range((i + 2, positions[col])).number_format = fmt
        if ncols:
            self.autofilter(ws, ws.range((1, 1), (nrows + 1, ncols)))
        self.freeze_header(ws, frozen_cell(frame))
        for chart, col0, row0 in chart_layout(out):
            self.write_chart(ws, chart, col0, row0)

    def _write_block(self, ws, row: int, col: int, rows: list[list[Any]]) -> None:
        for start in range(0, len(rows), CHUNK_ROWS):
            part = rows[start:start + CHUNK_ROWS]
            ws.range((row + start, col)).options(ndim=2).value = part

    def autofilter(self, ws, rng) -> None:
        """Filter buttons on the table's header (the headless ``ws.auto_filter``).

        Desktop Excel on Windows through COM (``Range.AutoFilter``). xlwings has no
        engine-neutral call that only shows the buttons (its ``Range.autofilter`` applies
        criteria, and in the JSON Book only with Office.js), so elsewhere it is skipped.
        """
        if not self.json_book and sys.platform.startswith("win"):
            try:
                rng.api.AutoFilter()
                return
            except Exception:  # cosmetic only: never lose a result over filter buttons
                pass
        if AUTOFILTER_SKIPPED not in self.skipped:  # once per run, not once per sheet
            self.skipped.append(AUTOFILTER_SKIPPED)

    def wrap(self, ws, rng) -> None:
        """Wrap long texts in their column, as the headless writer does (rows grow)."""
        try:
            rng.wrap_text = True
            rng.rows.autofit()
        except Exception:  # cosmetic only (not every engine has it): the text is all there
            if WRAP_SKIPPED not in self.skipped:
                self.skipped.append(WRAP_SKIPPED)

    def freeze_header(self, ws, first_free: str = "A2") -> None:
        """Freeze what lies above and left of ``first_free`` (the headless writer's
        ``freeze_panes``): row 1, and column A of a wide table."""
        column = first_free == "B2"
        try:
            ws.freeze_panes.freeze_at("A1" if column else "1:1")
            return
        except NotImplementedError:
            pass  # desktop engines: no xlwings API, use the window object
        try:
            ws.activate()
            if sys.platform.startswith("win"):
                window = self.book.app.api.ActiveWindow
                window.FreezePanes = False
                window.SplitColumn, window.SplitRow = int(column), 1
                window.FreezePanes = True
            else:
                window = self.book.app.api.active_window
                window.freeze_panes.set(False)
                window.split_column.set(int(column))
                window.split_row.set(1)
                window.freeze_panes.set(True)
        except Exception:  # cosmetic only: never lose a result over a frozen pane
            self.skipped.append(f"frozen header row on {ws.name}")

    def write_chart(self, ws, spec: ChartSpec, col0: int, row0: int) -> None:
        """Chart data block at (row0, col0) and a native chart right of it, as the
        headless ``write_chart`` does."""
        data = spec.data
        n, m = len(data), len(data.columns)
        ws.range((row0, col0)).value = excel_cell(f"Chart data: {spec.title}")
        ws.range((row0, col0)).font.italic = True
        top = row0 + 1
        block = [[excel_cell(str(c)) for c in data.columns]]
        block += [[excel_cell(v) for v in row] for row in data.itertuples(index=False)]
        self._write_block(ws, top, col0, block)
        ws.range((top, col0), (top, col0 + m - 1)).font.bold = True
        if spec.y_format != "General" and n and m > 1:
            ws.range((top + 1, col0 + 1), (top + n, col0 + m - 1)).number_format = spec.y_format
        for j, col in enumerate(data.columns):
            fmt = spec.y_format if j > 0 and spec.y_format != "General" else date_format(data[col])
            if fmt and n and j == 0:
                ws.range((top + 1, col0), (top + n, col0)).number_format = fmt
            width = fit_width(str(col), data[col].head(200).tolist(), fmt)
            cell = ws.range((top, col0 + j))
            # Blocks of several charts share columns: the widest one sets the width.
            current = self._chart_widths.get((ws.name, col0 + j), 0)
            if width > current:
                self._chart_widths[(ws.name, col0 + j)] = width
                cell.column_width = excel_column_width(width, self.json_book)
        if m < 2:
            return
        try:
            chart = ws.charts.add(
                chart_type=CHART_TYPES.get(spec.kind, "line"),
                anchor=ws.range((row0, col0 + m + 1)),
                width=round(CHART_WIDTH_CM * POINTS_PER_CM, 2),
                height=round(CHART_HEIGHT_CM * POINTS_PER_CM, 2),
            )
            # Series from the value columns (header row = names), categories from the
            # first column: a numeric x column must not become a series itself.
            chart.set_source_data(ws.range((top, col0 + 1), (top + n, col0 + m - 1)),
                                  plot_by="columns")
            if n:
                chart.set_x_axis_values(ws.range((top + 1, col0), (top + n, col0)))
            chart.title = spec.title
            if spec.x_title:
                chart.category_axis.title = spec.x_title
            if spec.y_title:
                chart.value_axis.title = spec.y_title
            if spec.y_format != "General":
                chart.value_axis.number_format = spec.y_format
            if spec.y_min is not None:
                chart.value_axis.minimum_scale = spec.y_min
            if spec.y_max is not None:
                chart.value_axis.maximum_scale = spec.y_max
            self.dash_series(chart, spec)
        except (NotImplementedError, AttributeError) as exc:
            # The data block is written; the planner can insert the chart from it.
            self.skipped.append(f"chart '{spec.title}' on {ws.name} ({exc})")


    def dash_series(self, chart, spec: ChartSpec) -> None:
        """Draw ``spec.dashed`` series dashed (Windows Excel's object model; elsewhere
        the series keep Excel's default style)."""
        for j, name in enumerate(spec.data.columns[1:], start=1):
            if name not in spec.dashed:
                continue
            try:
                chart.api[1].FullSeriesCollection(j).Format.Line.DashStyle = MSO_LINE_DASH
            except Exception:  # cosmetic only
                self.skipped.append(f"dashed series '{name}' in chart '{spec.title}'")


MSO_LINE_DASH = 4  # Office's msoLineDash


def write_results(book, sheets: list[OutSheet], progress: Progress | None = None) -> Writer:
    """Write the result sheets into an open workbook, replacing the previous ones."""
    writer = Writer(book)
    if writer.json_book:
        writer.write(sheets, progress)
        return writer
    app = book.app
    app.screen_updating = False
    try:
        writer.write(sheets, progress)
    finally:
        app.screen_updating = True
    return writer


def select_sheet(book, name: str) -> bool:
    """Activate sheet ``name`` (cell A1); False when it does not exist."""
    for sheet in book.sheets:
        if sheet.name == name:
            sheet.activate()
            sheet.range("A1").select()
            return True
    return False


# ---------------------------------------------------------------------------
# Feedback


class StatusBarProgress(Progress):
    """Progress in Excel's status bar ("Solving …: 3/12…").

    Updates are throttled (one per ``interval`` seconds, and always the last step of a
    loop) because each one is a call into Excel. An engine without a status bar (the
    JSON Book) turns this into a no-op.
    """

    def __init__(self, app, interval: float = 0.25):
        self.app = app
        self.interval = interval
        self.enabled = True
        self._last = 0.0
        self.shown: list[str] = []  # what was displayed, for tests and the final message

    def _show(self, text: str) -> None:
        if not self.enabled:
            return
        try:
            self.app.status_bar = text
            self.shown.append(text)
        except NotImplementedError:
            self.enabled = False
        except Exception:  # Excel busy (e.g. a cell in edit mode): skip this update
            pass

    def status(self, text: str) -> None:
        self._last = time.monotonic()
        self._show(text)

    def step(self, done: int, total: int, text: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        label = text or "Working"
        self._show(f"{label}: {done}/{total}…" if done < total else f"{label}: {done}/{total}")

    def close(self) -> None:
        if self.enabled:
            try:
                self.app.status_bar = False  # hand the status bar back to Excel
            except Exception:
                pass
