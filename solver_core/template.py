"""Workbook templates generated from the schemas.

``write_template(schema, path, data=None)`` writes the empty template of a model (or a
filled example when ``data`` gives the rows of each sheet): a ``Settings`` sheet, one
sheet per input table with a comment on every header (meaning, unit, required or
default), drop-down lists for columns with fixed choices or references to another
sheet, and an ``About`` sheet with instructions, the column reference and the result
sheets. The texts come from the schema; the README's reference
(``python -m solver_core.reference``) uses the same ``*_doc`` functions.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .outputs import OutColumn, OutTable
from .tables import MAX_DAY, MAX_MAGNITUDE, MAX_WEEKS, Column, Setting, Sheet, WorkbookSchema
from .workbook import cell_value, save_atomically

INPUT_FILL = PatternFill("solid", fgColor="DDEBF7")
OPTIONAL_FILL = PatternFill("solid", fgColor="F2F2F2")
VALIDATION_ROWS = 5000


def planner_value(value: Any) -> str:
    """A default as a planner reads it in Excel: TRUE/FALSE, 300, 0.001, blank = ``""``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return f"{int(value)}"
        return np.format_float_positional(value, trim="-")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def column_meaning(col: Column) -> str:
    """What an input column holds: description, unit, allowed values, header aliases."""
    parts = [_sentence(col.description or col.name)]
    if col.unit:
        parts.append(f"Unit: {col.unit}.")
    if col.choices:
        parts.append("One of: " + ", ".join(col.choices) + ".")
    if col.refers_to:
        parts.append(f"Must be listed in sheet '{col.refers_to}'.")
    if col.aliases:
        parts.append("Also accepted as header: " + ", ".join(col.aliases) + ".")
    return " ".join(parts)


def column_need(col: Column) -> str:
    """Required, or optional with what a blank cell means."""
    if col.required:
        return "Required."
    default = planner_value(col.default)
    return f"Optional (blank = {default})." if default else "Optional."


def column_doc(col: Column) -> str:
    """The header comment of an input column: meaning, then required or default."""
    return f"{column_meaning(col)} {column_need(col)}"


def setting_meaning(s: Setting) -> str:
    """What a setting means: description, unit, allowed values."""
    parts = [_sentence(s.description or s.name)]
    if s.unit:
        parts.append(f"Unit: {s.unit}.")
    if s.choices:
        parts.append("One of: " + ", ".join(s.choices) + ".")
    return " ".join(parts)


def setting_doc(s: Setting) -> str:
    """The comment of a setting: meaning, then required or its default."""
    if s.required:
        return f"{setting_meaning(s)} Required."
    default = planner_value(s.default)
    return f"{setting_meaning(s)} Default: {default}." if default else setting_meaning(s)


def out_column_doc(col: OutColumn) -> str:
    """The meaning of a result column: description and unit."""
    parts = [_sentence(col.description or col.name)]
    if col.unit:
        parts.append(f"Unit: {col.unit}.")
    return " ".join(parts)


def write_template(schema: WorkbookSchema, path: str | Path,
                   data: dict[str, pd.DataFrame] | None = None,
                   settings: dict[str, Any] | None = None) -> Path:
    """Write the template of ``schema`` (filled with ``data`` and ``settings`` if given)."""
    wb = build_template(schema, data, settings)
    save_atomically(wb, path)
    return Path(path)


def build_template(schema: WorkbookSchema, data: dict[str, pd.DataFrame] | None = None,
                   settings: dict[str, Any] | None = None) -> Workbook:
    """The template workbook: About, Settings and one sheet per input table."""
    data = data or {}
    settings = dict(settings or {})
    wb = Workbook()
    ws = wb.active
    ws.title = "About"
    _write_about(ws, schema)
    _write_settings(wb.create_sheet("Settings"), schema, settings)
    for sheet in schema.sheets:
        _write_input_sheet(wb.create_sheet(sheet.name), sheet, schema, data.get(sheet.name))
    wb.active = 1
    return wb


def _header_cell(ws, col_idx: int, text: str, doc: str, required: bool) -> None:
    cell = ws.cell(row=1, column=col_idx, value=text)
    cell.font = Font(bold=True)
    cell.fill = INPUT_FILL if required else OPTIONAL_FILL
    comment = Comment(doc, "scplan")
    comment.width, comment.height = 320, 140
    cell.comment = comment


def _write_settings(ws, schema: WorkbookSchema, values: dict[str, Any]) -> None:
    _header_cell(ws, 1, "setting", "Name of the setting. Unknown names are an error.", True)
    _header_cell(ws, 2, "value", "Value of the setting; blank = default.", True)
    for i, s in enumerate(schema.settings, start=2):
        name = ws.cell(row=i, column=1, value=s.name)
        comment = Comment(setting_doc(s), "scplan")
        comment.width, comment.height = 320, 120
        name.comment = comment
        value = values.get(s.name, schema.model if s.name == "model" else s.default)
        ws.cell(row=i, column=2, value=cell_value(value))
        if s.choices:
            dv = DataValidation(type="list", formula1='"' + ",".join(s.choices) + '"',
                                allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"B{i}")
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 22
    ws.freeze_panes = "A2"


def _write_input_sheet(ws, sheet: Sheet, schema: WorkbookSchema,
                       frame: pd.DataFrame | None) -> None:
    cols = list(sheet.columns)
    for j, col in enumerate(cols, start=1):
        _header_cell(ws, j, col.name, column_doc(col), col.required)
        ws.column_dimensions[get_column_letter(j)].width = max(12, len(col.name) + 4)
        letter = get_column_letter(j)
        formula = None
        if col.choices:
            formula = '"' + ",".join(col.choices) + '"'
        elif col.refers_to:
            target = schema.sheet(col.refers_to) if col.refers_to != sheet.name else None
            if target is not None:
                formula = f"'{target.name}'!$A$2:$A${VALIDATION_ROWS}"
        if formula:
            dv = DataValidation(type="list", formula1=formula, allow_blank=True,
                                showErrorMessage=bool(col.choices))
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{VALIDATION_ROWS}")
    if frame is not None and not frame.empty:
        extra = [c for c in frame.columns if c not in {col.name for col in cols}]
        for j, name in enumerate(extra, start=len(cols) + 1):  # e.g. week columns
            ws.cell(row=1, column=j, value=cell_value(name)).font = Font(bold=True)
        order = [c.name for c in cols if c.name in frame.columns] + extra
        positions = {c.name: j for j, c in enumerate(cols, start=1)}
        positions.update({n: j for j, n in enumerate(extra, start=len(cols) + 1)})
        values = frame[order].to_numpy(dtype=object)
        for i, row in enumerate(values, start=2):
            for name, v in zip(order, row):
                v = cell_value(v)
                if v is not None:
                    ws.cell(row=i, column=positions[name], value=v)
    ws.freeze_panes = "A2"


ABOUT_WIDTHS = {"A": 26, "B": 16, "C": 96}
LINE_HEIGHT = 15  # points per line of 11-point text


def _about_row(ws, row: int, name: str = "", kind: str = "", text: str = "",
               font: Font | None = None) -> int:
    """Write one About row, wrapped, tall enough for its text (no overlap when opened)."""
    wrap = Alignment(wrap_text=True, vertical="top", horizontal="left")
    lines = 1
    for col, value in zip("ABC", (name, kind, text)):
        if value is None or value == "":
            continue
        cell = ws[f"{col}{row}"]
        cell.value = value
        cell.alignment = wrap
        if font is not None and col == "A":
            cell.font = font
        chars = int(ABOUT_WIDTHS[col] * 0.95)  # characters per line of this column width
        lines = max(lines, sum(math.ceil(max(len(part), 1) / chars)
                               for part in str(value).split("\n")))
    if lines > 1:
        ws.row_dimensions[row].height = LINE_HEIGHT * lines
    return row + 1


def _write_about(ws, schema: WorkbookSchema) -> None:
    for col, width in ABOUT_WIDTHS.items():
        ws.column_dimensions[col].width = width
    ws.sheet_properties.pageSetUpPr.fitToPage = True  # printed (and PDF) one page wide
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws["A1"] = schema.title
    ws["A1"].font = Font(bold=True, size=14)
    heading = Font(bold=True, size=12)
    row = 3
    for line in schema.about.strip().splitlines():  # instructions span the three columns
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
        ws.cell(row=row, column=1, value=line).alignment = Alignment(wrap_text=True,
                                                                     vertical="top")
        width = sum(ABOUT_WIDTHS.values())
        if len(line) > width:
            ws.row_dimensions[row].height = LINE_HEIGHT * math.ceil(len(line) / width)
        row += 1
    row = _about_row(ws, row + 1, "Settings", font=heading)
    row = _about_row(ws, row, "setting", "default", "meaning", font=Font(bold=True))
    for s in schema.settings:
        default = schema.model if s.name == "model" else s.default
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            default = planner_value(default)  # numbers stay numbers, not text
        row = _about_row(ws, row, s.name, default,
                         setting_meaning(s) + (" Required." if s.required else ""))
    row = _about_row(ws, row + 1, "Input rules", "", "", font=heading)
    for rule, text in INPUT_RULES:
        row = _about_row(ws, row, rule, "", text)
    for sheet in schema.sheets:
        title = sheet.name + ("" if sheet.required else " (optional sheet)")
        row = _about_row(ws, row + 1, title, "", sheet.description, font=heading)
        for col in sheet.columns:
            row = _about_row(ws, row, col.name, _need_word(col), column_meaning(col))
        if sheet.wide is not None:
            row = _about_row(ws, row, "<week code>", "one per week", column_meaning(sheet.wide))
    if schema.outputs:
        row = _about_row(ws, row + 1, "Results", "",
                         "Written by Solve (scplan solve) next to the input sheets; every "
                         "result sheet's name starts with 'Out '.", font=heading)
    for table in schema.outputs:
        row = _write_out_table(ws, row + 1, table, heading)


# What every workbook gets, whatever the model (the limits are tables.MAX_*).
INPUT_RULES = (
    ("numbers", f"Numbers at most {MAX_MAGNITUDE:,.0f} in size; a point is the decimal "
                "separator ('1,5' is refused, not read as 15); Excel errors such as #N/A are "
                "refused at their cell."),
    ("days and weeks", f"Day numbers and horizons in days at most {MAX_DAY:,} (ten years); "
                       f"durations and horizons in weeks at most {MAX_WEEKS} (ten years); "
                       "week codes 2025W01 to 2025W53."),
    ("formulas", "A formula's saved value is read. A formula with no saved value (a "
                 "workbook written by a program that does not calculate) is read as blank, "
                 "with a warning at its cell. Text that starts with '=' is kept as text and "
                 "written back as text, never as a formula."),
    ("optional sheets", "A sheet marked optional may be missing or empty; a missing "
                        "optional column takes the value its row says (blank = …)."),
    ("results", "Solve never changes the input sheets; it replaces only the result sheets "
                "it wrote before ('Out …' sheets of its own; a sheet of yours named 'Out …' is "
                "kept)."),
)


def _need_word(col: Column) -> str:
    if col.required:
        return "required"
    default = planner_value(col.default)
    return f"blank = {default}" if default else "optional"


def _write_out_table(ws, row: int, table: OutTable, heading: Font) -> int:
    row = _about_row(ws, row, table.name, "", table.description, font=heading)
    for col in table.columns:
        row = _about_row(ws, row, col.name, "", out_column_doc(col))
    return row


def describe(path: str | Path) -> dict:
    """Contents of a workbook that matter for a template (for the 'template is current' check)."""
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        cells = [(c.coordinate, c.value, c.comment.text if c.comment else None)
                 for row in ws.iter_rows() for c in row if c.value is not None]
        validations = sorted((dv.formula1, str(dv.sqref))
                             for dv in ws.data_validations.dataValidation)
        out[ws.title] = {"cells": cells, "validations": validations}
    return out
