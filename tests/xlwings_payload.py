"""Run the Excel add-in without Excel: workbook → payload → xlwings Book → actions → workbook.

``payload_from_xlsx`` builds the JSON a remote-interpreter client sends for a workbook
(the shape xlwings' ``_xlremote`` engine reads: ``client``, ``version``, ``book``,
``names``, ``sheets`` with ``values`` from A1 to the last used cell, empty cells as
``""``, dates as ISO strings); ``json_book`` turns it into a real ``xw.Book(json=...)``.
``apply_actions`` does what the client does with ``book.json()["actions"]``: it applies
them to a copy of the workbook with openpyxl, so the result can be compared with the
headless ``scplan solve`` output. Only the action types the add-in uses are known; any
other one fails the test.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlwings as xw
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, range_boundaries

CM_PER_POINT = 2.54 / 72
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z?)?$")


# ---------------------------------------------------------------------------
# Payload


def _json_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%dT00:00:00.000Z")
    if isinstance(v, dt.time):
        return v.isoformat()
    return v


def payload_from_xlsx(path: str | Path, client: str = "Office.js") -> dict:
    """The payload Excel's xlwings client sends for the workbook at ``path``.

    ``client="Office.js"`` is the client that can apply every action the add-in
    emits (charts, fonts, widths, frozen panes); the sheet entries carry the keys that
    client sends.
    """
    wb = load_workbook(path, data_only=True)
    sheets = []
    for ws in wb.worksheets:
        if ws.max_row == 1 and ws.max_column == 1 and ws.cell(1, 1).value is None:
            values: list[list[Any]] = [[]]
        else:
            values = [[_json_cell(v) for v in row]
                      for row in ws.iter_rows(min_row=1, min_col=1, max_row=ws.max_row,
                                              max_col=ws.max_column, values_only=True)]
        sheets.append({"name": ws.title, "values": values, "pictures": [], "shapes": [],
                       "charts": [], "notes": [], "tables": [], "print_area": None,
                       "visibility": "Visible", "show_gridlines": True, "pivot_tables": []})
    payload = {
        "client": client,
        "version": xw.__version__,
        "book": {"name": Path(path).name, "active_sheet_index": wb.index(wb.active),
                 "selection": "A1"},
        "names": [],
        "sheets": sheets,
    }
    wb.close()
    return json.loads(json.dumps(payload))  # what arrives over the wire


def json_book(path: str | Path) -> xw.Book:
    return xw.Book(json=payload_from_xlsx(path))


# ---------------------------------------------------------------------------
# Applying actions


@dataclass
class Applied:
    """What applying the actions did, besides changing the workbook."""

    alerts: list[list[Any]] = field(default_factory=list)
    active: str | None = None  # last activated sheet
    touched: set[str] = field(default_factory=set)  # sheets any action wrote to or removed
    funcs: list[str] = field(default_factory=list)


def _client_value(v: Any) -> Any:
    """A value as the client enters it: a leading apostrophe marks text, ISO text is a date."""
    if v == "" or v is None:
        return None
    if isinstance(v, str):
        if v.startswith("'"):
            return v[1:]
        m = ISO_DATE.match(v)
        if m:
            y, mo, d, h, mi, s = (int(x) if x else None for x in m.groups())
            if h is None:
                return dt.date(y, mo, d)
            return dt.datetime(y, mo, d, h, mi, s)
    return v


def _cells(ws, a):
    for r in range(a["start_row"], a["start_row"] + a["row_count"]):
        for c in range(a["start_column"], a["start_column"] + a["column_count"]):
            yield ws.cell(row=r + 1, column=c + 1)


def _chart_of_kind(js_type: str):
    if js_type == "Line":
        return LineChart()
    if js_type == "ColumnClustered":
        chart = BarChart()
        chart.type = "col"
        return chart
    if js_type.startswith("XYScatter"):
        return ScatterChart()
    raise AssertionError(f"chart type {js_type} not handled by the test client")


def _ref(wb, sheet_name: str, address: str) -> Reference:
    min_col, min_row, max_col, max_row = range_boundaries(address.replace("$", ""))
    return Reference(wb[sheet_name], min_col=min_col, min_row=min_row, max_col=max_col,
                     max_row=max_row)


def _freeze_cell(frozen: str) -> str:
    """Office.js ``freezeAt(range)`` freezes that range: the first free cell is past it."""
    frozen = frozen.replace("$", "")
    if re.fullmatch(r"\d+:\d+", frozen):
        return f"A{int(frozen.split(':')[1]) + 1}"
    if re.fullmatch(r"[A-Z]+:[A-Z]+", frozen):
        _, _, max_col, _ = range_boundaries(f"{frozen.split(':')[1]}1")
        return f"{get_column_letter(max_col + 1)}1"
    _, _, max_col, max_row = range_boundaries(frozen)
    return f"{get_column_letter(max_col + 1)}{max_row + 1}"


def apply_actions(src: str | Path, actions: list[dict], dst: str | Path) -> Applied:
    """Apply xlwings actions to a copy of ``src`` saved as ``dst`` (``src`` unchanged)."""
    wb = load_workbook(src)
    done = Applied()
    charts: dict[str, list] = {}  # sheet title -> charts in creation order
    for a in actions:
        func, args = a["func"], a["args"]
        done.funcs.append(func)
        ws = wb.worksheets[a["sheet_position"]] if a.get("sheet_position") is not None else None
        if ws is not None and func not in ("activateSheet", "rangeSelect"):
            done.touched.add(ws.title)
        if func == "sheetDelete":
            wb.remove(ws)
        elif func == "addSheet":
            wb.create_sheet(args[1], index=args[0])
            done.touched.add(args[1])
        elif func == "setValues":
            for i, row in enumerate(a["values"]):
                for j, v in enumerate(row):
                    cell = ws.cell(row=a["start_row"] + i + 1, column=a["start_column"] + j + 1)
                    cell.value = _client_value(v)
        elif func == "setNumberFormat":
            for cell in _cells(ws, a):
                cell.number_format = args[0]
        elif func == "setFontProperty":
            attr, value = args
            for cell in _cells(ws, a):
                f = cell.font if cell.has_style else Font()  # a new cell: no font settings
                kw = {"bold": f.bold, "italic": f.italic, "color": f.color}
                kw[attr] = value.lstrip("#").upper().rjust(8, "0") if attr == "color" else value
                cell.font = Font(**kw)
        elif func == "setRangeColor":
            rgb = args[0].lstrip("#").upper()
            for cell in _cells(ws, a):
                cell.fill = PatternFill("solid", fgColor=rgb)
        elif func == "setColumnWidth":
            chars = (args[0] / 0.75 - 5) / 7  # the add-in sends points (default font)
            for c in range(a["start_column"], a["start_column"] + a["column_count"]):
                ws.column_dimensions[get_column_letter(c + 1)].width = round(chars, 4)
        elif func == "freezePaneAtRange":
            ws.freeze_panes = _freeze_cell(args[0])
        elif func == "setWrapText":
            for cell in _cells(ws, a):
                cell.alignment = Alignment(wrap_text=bool(args[0]))
        elif func == "setAutofit":
            pass  # Excel measures the rows; the file keeps no height for them
        elif func == "addChart":
            _name, js_type, sheet_name, source, _left, _top, width, height, plot_by, anchor, \
                _style = args
            assert plot_by == "Columns", plot_by
            chart = _chart_of_kind(js_type)
            chart.width, chart.height = width * CM_PER_POINT, height * CM_PER_POINT
            ref = _ref(wb, sheet_name, source)
            if isinstance(chart, ScatterChart):
                chart._pending_y = ref  # series are made once the x values are known
            else:
                chart.add_data(ref, titles_from_data=True)
            chart.x_axis.delete = False
            chart.y_axis.delete = False
            ws.add_chart(chart, anchor.replace("$", ""))
            charts.setdefault(ws.title, []).append(chart)
        elif func == "setChartXAxisValues":
            chart = charts[ws.title][args[0]]
            xref = _ref(wb, args[1], args[2])
            if isinstance(chart, ScatterChart):
                y = chart._pending_y
                for col in range(y.min_col, y.max_col + 1):
                    yref = Reference(y.worksheet, min_col=col, max_col=col, min_row=y.min_row,
                                     max_row=y.max_row)
                    series = Series(yref, xref, title_from_data=True)
                    series.marker.symbol = "circle"
                    chart.series.append(series)
            else:
                chart.set_categories(xref)
        elif func == "setChartTitle":
            charts[ws.title][args[0]].title = args[1]
        elif func == "setChartAxis":
            chart = charts[ws.title][args[0]]
            axis = chart.x_axis if args[1] == "category" else chart.y_axis
            for key, value in args[2].items():
                if key == "title":
                    axis.title = value
                elif key == "number_format":
                    axis.number_format = value
                elif key in ("minimum_scale", "maximum_scale"):
                    setattr(axis.scaling, key[:3], value)
                else:
                    raise AssertionError(f"axis attribute {key} not handled by the test client")
        elif func == "activateSheet":
            wb.active = args[0]
            done.active = wb.worksheets[args[0]].title
        elif func == "rangeSelect":
            pass
        elif func == "alert":
            done.alerts.append(args)
        elif func == "setScreenUpdating":
            pass
        else:
            raise AssertionError(f"action {func} is not handled by the test client")
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws.title == done.active
    wb.save(dst)
    return done


# ---------------------------------------------------------------------------
# Comparing result workbooks

# time_budget: MPS phase-2 seconds, what phase 1 left of the time limit
RUN_DEPENDENT = re.compile(r"(^started_at$|seconds$|time_budget$)")
SECONDS = re.compile(r"\d+(\.\d+)? s\b")


def _norm(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 9)
    if isinstance(v, str):
        return SECONDS.sub("<t> s", v)
    return v


def sheet_cells(ws, run_dependent: bool = False) -> dict[str, Any]:
    """Non-empty cell values by coordinate; with ``run_dependent``, timings are dropped:
    Out Summary and Out Solver rows whose item is started_at, …seconds or …time_budget,
    columns headed …seconds, times in text ("4.8 s"), and Out Solver's values."""
    out = {}
    skip_rows, skip_cols = set(), set()
    if run_dependent:
        for c in next(ws.iter_rows(max_row=1), ()):
            if isinstance(c.value, str) and RUN_DEPENDENT.search(c.value):
                skip_cols.add(c.column)
        if ws.title in ("Out Summary", "Out Solver"):
            for row in ws.iter_rows(min_row=2, max_col=1):
                if isinstance(row[0].value, str) and RUN_DEPENDENT.search(row[0].value):
                    skip_rows.add(row[0].row)
    # Out Solver is how the solve went (stages, which heuristic won, counts): a second
    # solve of the same workbook may take another path to the same plan.
    solver_values = run_dependent and ws.title == "Out Solver"
    for row in ws.iter_rows():
        for c in row:
            if c.value is None or c.row in skip_rows or (c.column in skip_cols and c.row > 1):
                continue
            if solver_values and c.column > 1 and c.row > 1:
                continue
            out[c.coordinate] = _norm(c.value) if run_dependent else c.value
    return out


def cell_styles(ws) -> dict[str, tuple]:
    out = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is None:
                continue
            fill = c.fill.fgColor.rgb if c.fill.fill_type == "solid" else None
            color = c.font.color
            if color is not None:
                color = color.rgb if isinstance(color.rgb, str) else ("theme", color.theme)
            out[c.coordinate] = (c.number_format, bool(c.font.bold), bool(c.font.italic),
                                 color, fill, bool(c.alignment.wrap_text))
    return out


def _text(title) -> str | None:
    """Plain text of an openpyxl chart or axis title."""
    if title is None:
        return None
    if isinstance(title, str):
        return title
    rich = title.tx.rich if title.tx is not None else None
    if rich is None:
        return None
    return "".join(r.t for p in rich.p for r in (p.r or []))


def chart_signature(chart) -> dict:
    def ref(obj):
        if obj is None:
            return None
        for attr in ("numRef", "strRef"):
            r = getattr(obj, attr, None)
            if r is not None:
                return r.f
        return None

    anchor = chart.anchor._from
    ext = getattr(chart.anchor, "ext", None)  # EMU; compared to 0.1 mm
    return {
        "kind": chart.tagname,
        "bar_dir": getattr(chart, "barDir", None),
        "title": _text(chart.title),
        "x_title": _text(chart.x_axis.title),
        "y_title": _text(chart.y_axis.title),
        "y_format": chart.y_axis.numFmt.formatCode if chart.y_axis.numFmt else "General",
        "anchor": (anchor.col, anchor.row),
        "size": (round(ext.width, -5), round(ext.height, -5)) if ext is not None else None,
        "series": [(ref(s.tx), ref(s.val or s.yVal), ref(s.cat or s.xVal))
                   for s in chart.series],
    }


def out_sheet_names(wb) -> list[str]:
    from solver_core.api import result_sheet_names

    results = result_sheet_names()
    return [n for n in wb.sheetnames if n in results]


def assert_same_out_sheets(expected_path, actual_path, formatting: bool,
                           run_dependent: bool = False) -> None:
    """The ``Out`` sheets of two workbooks hold the same values (and, with
    ``formatting``, the same formats, widths, frozen panes and charts)."""
    exp, act = load_workbook(expected_path), load_workbook(actual_path)
    assert out_sheet_names(act) == out_sheet_names(exp)
    for name in out_sheet_names(exp):
        e, a = exp[name], act[name]
        ce, ca = sheet_cells(e, run_dependent), sheet_cells(a, run_dependent)
        diff = {k: (ce.get(k), ca.get(k)) for k in set(ce) | set(ca) if ce.get(k) != ca.get(k)}
        assert not diff, f"{name}: cells differ (expected, actual): {sorted(diff.items())[:10]}"
        if not formatting:
            continue
        se, sa = cell_styles(e), cell_styles(a)
        diff = {k: (se[k], sa.get(k)) for k in se if se[k] != sa.get(k)}
        assert not diff, f"{name}: formats differ: {sorted(diff.items())[:10]}"
        assert a.freeze_panes == e.freeze_panes, name
        for letter, dim in e.column_dimensions.items():
            if dim.width:
                assert abs(a.column_dimensions[letter].width - dim.width) < 0.01, (name, letter)
        sig_e = [chart_signature(c) for c in e._charts]
        sig_a = [chart_signature(c) for c in a._charts]
        assert sig_a == sig_e, f"{name}: charts differ"


def assert_inputs_untouched(original_path, result_path) -> None:
    """Every input sheet of the original is in the result, in order, with the same cells."""
    orig, res = load_workbook(original_path), load_workbook(result_path)
    inputs = [n for n in orig.sheetnames if not n.startswith("Out ")]
    assert [n for n in res.sheetnames if not n.startswith("Out ")] == inputs
    for name in inputs:
        assert sheet_cells(res[name]) == sheet_cells(orig[name]), name
