"""Workbook templates generated from the schemas.

``write_template(schema, path, data=None)`` writes the empty template of a model (or a
filled example when ``data`` gives the rows of each sheet): a ``Settings`` sheet, one
sheet per input table with a comment on every header (meaning, unit, required or
default), drop-down lists for columns with fixed choices or references to another
sheet, and an ``About`` sheet with instructions and the column reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .tables import Column, Setting, Sheet, WorkbookSchema
from .workbook import cell_value, save_atomically

INPUT_FILL = PatternFill("solid", fgColor="DDEBF7")
OPTIONAL_FILL = PatternFill("solid", fgColor="F2F2F2")
VALIDATION_ROWS = 5000


def column_doc(col: Column) -> str:
    parts = [col.description or col.name]
    if col.unit:
        parts.append(f"Unit: {col.unit}.")
    if col.choices:
        parts.append("One of: " + ", ".join(col.choices) + ".")
    if col.refers_to:
        parts.append(f"Must be listed in sheet '{col.refers_to}'.")
    if col.required:
        parts.append("Required.")
    else:
        parts.append(f"Optional (blank = {col.default!r}).")
    if col.aliases:
        parts.append("Also accepted as header: " + ", ".join(col.aliases) + ".")
    return " ".join(parts)


def setting_doc(s: Setting) -> str:
    parts = [s.description or s.name]
    if s.unit:
        parts.append(f"Unit: {s.unit}.")
    if s.choices:
        parts.append("One of: " + ", ".join(s.choices) + ".")
    parts.append(f"Default: {s.default!r}." if not s.required else "Required.")
    return " ".join(parts)


def write_template(schema: WorkbookSchema, path: str | Path,
                   data: dict[str, pd.DataFrame] | None = None,
                   settings: dict[str, Any] | None = None) -> Path:
    wb = build_template(schema, data, settings)
    save_atomically(wb, path)
    return Path(path)


def build_template(schema: WorkbookSchema, data: dict[str, pd.DataFrame] | None = None,
                   settings: dict[str, Any] | None = None) -> Workbook:
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


def _write_about(ws, schema: WorkbookSchema) -> None:
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions["C"].width = 100
    ws["A1"] = schema.title
    ws["A1"].font = Font(bold=True, size=14)
    row = 3
    for line in schema.about.strip().splitlines():
        ws.cell(row=row, column=1, value=line)
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="Settings").font = Font(bold=True, size=12)
    row += 1
    for s in schema.settings:
        ws.cell(row=row, column=1, value=s.name)
        ws.cell(row=row, column=2, value=cell_value(s.default))
        ws.cell(row=row, column=3, value=setting_doc(s)).alignment = Alignment(wrap_text=True)
        row += 1
    for sheet in schema.sheets:
        row += 1
        title = sheet.name + ("" if sheet.required else " (optional sheet)")
        ws.cell(row=row, column=1, value=title).font = Font(bold=True, size=12)
        ws.cell(row=row, column=3, value=sheet.description)
        row += 1
        for col in sheet.columns:
            ws.cell(row=row, column=1, value=col.name)
            ws.cell(row=row, column=2, value=col.kind)
            ws.cell(row=row, column=3, value=column_doc(col)).alignment = Alignment(
                wrap_text=True)
            row += 1
        if sheet.wide is not None:
            ws.cell(row=row, column=1, value="<week code>")
            ws.cell(row=row, column=2, value=sheet.wide.kind)
            ws.cell(row=row, column=3, value=column_doc(sheet.wide))
            row += 1


def describe(path: str | Path) -> dict:
    """Contents of a workbook that matter for a template (for the 'template is current' check)."""
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        cells = [(c.coordinate, c.value, c.comment.text if c.comment else None)
                 for row in ws.iter_rows() for c in row if c.value is not None]
        validations = sorted((dv.formula1, str(dv.sqref)) for dv in ws.data_validations.dataValidation)
        out[ws.title] = {"cells": cells, "validations": validations}
    return out
