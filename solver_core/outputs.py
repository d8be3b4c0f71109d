"""Result sheet types shared by every model and both front ends.

A model's report step returns a list of :class:`OutSheet`; the openpyxl writer
(``workbook.py``) and the xlwings writer (``addin/excel_io.py``) turn the same list
into sheets, number formats and charts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

OUT_PREFIX = "Out "

# Result sheets every model may write, and the model sheets scplan 0.1 wrote before the
# models declared theirs (``OutTable``): recognised as old results in workbooks without
# the marker ``workbook.RESULT_MARKER``. A user sheet like "Out of stock notes" is kept.
COMMON_RESULT_SHEETS = frozenset({
    "Out Summary", "Out Validation", "Out Why", "Out Solver", "Out Scenarios", "Out Charts",
    "Out Warnings",
})
EARLIER_RESULT_SHEETS = frozenset({
    "Out Flows", "Out Trucks", "Out Inventory", "Out Shortages", "Out Costs",
    "Out Saturation", "Out Capacity", "Out Orders", "Out Projection", "Out Allocations",
    "Out OrderStatus", "Out Baseline",
})


@dataclass
class ChartSpec:
    """A native Excel chart drawn from a small wide table.

    ``data``: first column holds the x values (categories), every other column is
    one series. The writers put this block to the right of the sheet's table and
    the chart next to it.
    """

    title: str
    data: pd.DataFrame
    kind: str = "line"  # line | bar | scatter
    x_title: str = ""
    y_title: str = ""
    y_format: str = "General"  # e.g. "0%" for saturation
    y_min: float | None = None  # value axis range; None = the chart program's choice
    y_max: float | None = None
    # Series drawn dashed, so that two series that may coincide (a plan and its
    # baseline) stay distinguishable where they overlap.
    dashed: tuple[str, ...] = ()


def axis_range(low: float, high: float, ticks: int = 5) -> tuple[float, float]:
    """A value axis that spans ``low``…``high`` from and to round numbers.

    The step is 1, 2 or 5 times a power of ten, about a ``ticks``-th of the span, so
    that the chart program's gridlines fall on round labels (300,000, not 308,147) and
    the differences between the values fill the chart instead of sitting on a 0 axis.
    """
    span = max(high - low, 1e-9 * max(abs(high), 1.0))
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    bottom, top = math.floor(low / step) * step, math.ceil(high / step) * step
    if top - bottom < step:  # all values on one gridline
        bottom, top = bottom - step, top + step
    return bottom, top


# Number formats of result columns (Excel syntax). Whole numbers never show a trailing
# point: "#,##0.##" would show 3 as "3.".
INTEGER_FORMAT = "#,##0"
QUANTITY_FORMAT = "#,##0.00"
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
GAP_FORMAT = "0.00%"  # plan quality: "within 0.27% of the best possible"
SECONDS_FORMAT = "0.0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TEXT_FORMAT = "@"
GENERAL_FORMAT = "General"


@dataclass(frozen=True)
class OutColumn:
    """One column of a result sheet: its name, meaning and number format."""

    name: str
    description: str
    format: str = GENERAL_FORMAT
    unit: str = ""


@dataclass(frozen=True)
class OutTable:
    """Declaration of one result sheet (in the model's schema, used by its report).

    The declaration is the only place a result column is named: ``report.py`` builds a
    frame with these columns and calls :meth:`sheet`; the README's output reference and
    the templates' About sheet are generated from it.
    """

    name: str
    description: str
    columns: tuple[OutColumn, ...]
    sort_by: tuple[str, ...] = ()  # the time column first, then the keys; "-x" = descending

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def sheet(self, frame: pd.DataFrame, charts: list[ChartSpec] | None = None) -> OutSheet:
        """The result sheet: declared columns in order, sorted, with their formats."""
        missing = [c for c in self.column_names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in self.column_names]
        if missing or extra:
            raise ValueError(f"{self.name}: columns differ from the declaration "
                             f"(missing {missing}, undeclared {extra})")
        frame = frame[self.column_names]
        if self.sort_by and len(frame):
            # "-cost" sorts that column largest first.
            keys = [k.lstrip("-") for k in self.sort_by]
            ascending = [not k.startswith("-") for k in self.sort_by]
            frame = frame.sort_values(keys, ascending=ascending, kind="stable",
                                      key=_sortable)
        formats = {c.name: c.format for c in self.columns if c.format != GENERAL_FORMAT}
        return OutSheet(self.name, frame.reset_index(drop=True), formats=formats,
                        charts=list(charts or []))


def _sortable(column: pd.Series) -> pd.Series:
    """Sort key for a column that may mix numbers and text (order 7 and order 'PP01')."""
    if column.dtype != object:
        return column
    return column.map(lambda v: (1, str(v)) if isinstance(v, str) else
                      ((2, 0) if v is None or v != v else (0, v)))


@dataclass
class OutSheet:
    """A result sheet as written: a table, its number formats and its charts."""

    name: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)  # column -> Excel number format
    charts: list[ChartSpec] = field(default_factory=list)
    # (row position in ``frame``, column) -> number format, over the column's format:
    # ``Out Summary`` holds money, gaps and seconds in one column.
    cell_formats: dict[tuple[int, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.startswith(OUT_PREFIX):
            raise ValueError(f"result sheet names start with '{OUT_PREFIX}': {self.name}")
        self.formats = {c: fixed_decimals(f) for c, f in self.formats.items()}


def fixed_decimals(fmt: str) -> str:
    """``fmt`` with optional decimals (``0.##``) made fixed (``0.00``).

    Excel shows a whole number under ``0.##`` as ``3.``; the shared formats above never
    do this, and a format written by hand is corrected here rather than shown so.
    """
    return re.sub(r"\.#+(?=%?$)", lambda m: "." + "0" * (len(m.group()) - 1), fmt)


def summary_sheet(items: dict[str, Any]) -> OutSheet:
    """``Out Summary``: two columns ``item``, ``value``; each number formatted by its item.

    See :func:`summary_format` for how an item's name chooses its format.
    """
    rows = [(k, _plain(v)) for k, v in items.items()]
    formats = {(i, "value"): fmt for i, (k, v) in enumerate(rows)
               if (fmt := summary_format(k, v)) is not None}
    return OutSheet("Out Summary", pd.DataFrame(rows, columns=["item", "value"]),
                    cell_formats=formats)


# Out Summary items every run writes (the rest of a solve's items go to Out Solver).
REQUIRED_SUMMARY = ("model", "status", "objective", "mip_gap", "solve_seconds",
                    "build_seconds", "rows", "columns", "nonzeros", "integers", "solver",
                    "started_at", "input_fingerprint")
# After the details row: the required items, with the bound beside the gap it proves
# (the plan costs ``objective``; no plan costs less than ``bound``).
_AFTER_GAP = REQUIRED_SUMMARY.index("mip_gap") + 1
DETAIL_ITEMS = (*REQUIRED_SUMMARY[:_AFTER_GAP], "bound", *REQUIRED_SUMMARY[_AFTER_GAP:])
# Summary items of a model's run that make the first screen (see summary_sheets):
SCREEN = "screen"  # [(label, value, number format or None)]: cost and service in words
WHAT_TO_DO = "what_to_do"  # one sentence: what the planner does with the plan now
QUALITY = "quality"  # the plan-quality row, when a run is more than one plan (scenarios)
DETAILS = "details"  # the divider row between the first screen and the required items
BOUND_NOTE = "bound_note"  # why the bound (and so the gap) says little, when it does


# A proven gap below this is none, "the best possible plan", "at the proven bound": the
# plan costs what the bound does up to floating-point noise. Any larger gap is written
# with the digits it needs (gap_percent), however small, so the words never say more
# than was proven.
NO_GAP = 1e-9


def gap_percent(gap: float) -> str:
    """A relative gap as a percentage with the digits that show it: 0.80%, 0.0011%."""
    digits = 2
    if 0 < gap < 1e-4:  # below 0.01%: two significant digits, never "0.00%"
        digits = min(9, 1 - math.floor(math.log10(gap * 100)))
    return f"{gap * 100:.{digits}f}%"


def plan_quality(status: str, gap: float | None, note: str = "") -> str:
    """How good the plan is, in words, from its status and proven relative gap, with
    ``note`` (:data:`BOUND_NOTE`: why the bound is weak) after the gap it weakens.

    Never claims more than was proven: ``optimal`` means the requested gap was proven.
    """
    quality = _plan_quality(status, gap)
    return f"{quality} ({note})" if note else quality


def _plan_quality(status: str, gap: float | None) -> str:
    def within(g):
        return ("the best possible plan" if g <= NO_GAP else
                f"within {gap_percent(g)} of the best possible plan")

    known = isinstance(gap, (int, float)) and not isinstance(gap, bool) and gap == gap
    if status == "optimal":
        return (within(gap) if known else "the best possible plan") + " (proven)"
    bound = (f"at most {gap_percent(gap)} above the best possible" if known
             else "no bound on how far from the best possible")
    if status == "time_limit":
        return f"not proven optimal (time limit reached): {bound}"
    if status == "stopped":
        return f"stopped by you: best plan found so far, {bound}"
    return f"not proven: the solve ended with status {status} (see Out Solver)"


def summary_sheets(items: dict[str, Any]) -> list[OutSheet]:
    """``Out Summary`` and, for a solve that made a first screen, ``Out Solver``.

    A run whose items hold :data:`SCREEN` gets an ``Out Summary`` that a planner reads
    without scrolling: plan quality in words, status, the model's cost and service rows,
    ``largest_shortfall``, :data:`WHAT_TO_DO` and time used; then a ``details`` divider
    and the :data:`DETAIL_ITEMS` (the required items and the bound). Every other item
    (model size, stages, components, timings) goes to ``Out Solver``. A run of several
    plans (scenarios) says their quality in :data:`QUALITY`. Without a screen
    (validation, errors) ``Out Summary`` lists every item, as :func:`summary_sheet`.
    """
    if not items.get(SCREEN):
        return [summary_sheet({k: v for k, v in items.items() if k != SCREEN})]
    status = str(items.get("status", ""))
    rows: list[tuple[str, Any, str | None]] = [
        ("plan quality", items.get(QUALITY) or plan_quality(
            status, items.get("mip_gap"), items.get(BOUND_NOTE) or ""), None),
        ("status", status, None),
        *items[SCREEN],
    ]
    if items.get("largest_shortfall"):
        rows.append((LARGEST_SHORTFALL_LABEL, items["largest_shortfall"], None))
    if items.get(WHAT_TO_DO):
        rows.append(("what to do now", items[WHAT_TO_DO], None))
    rows.append(("time used", _time_used(items), None))
    rows.append((DETAILS, "solver details are in Out Solver", None))
    shown = {"status", "largest_shortfall", SCREEN, WHAT_TO_DO, QUALITY, BOUND_NOTE}
    for key in DETAIL_ITEMS:
        if key in items and key != "status":
            rows.append((key, _plain(items[key]), summary_format(key, items[key])))
    frame = pd.DataFrame([(k, _plain(v)) for k, v, _ in rows], columns=["item", "value"])
    formats = {(i, "value"): f for i, (_, _, f) in enumerate(rows) if f}
    solver = {k: v for k, v in items.items()
              if k not in shown and k not in DETAIL_ITEMS}
    solver_sheet = summary_sheet(solver)
    solver_sheet.name = "Out Solver"
    return [OutSheet("Out Summary", frame, cell_formats=formats), solver_sheet]


LARGEST_SHORTFALL_LABEL = "largest shortfall"


def summary_items(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Every summary item of a result, read back from ``Out Summary`` and ``Out Solver``.

    ``frames``: result sheets by name (``item`` and ``value`` columns). The first screen's
    rows in words are included under their labels.
    """
    items: dict[str, Any] = {}
    for name in ("Out Summary", "Out Solver"):
        if name in frames:
            frame = frames[name]
            items.update(zip(frame["item"], frame["value"]))
    if LARGEST_SHORTFALL_LABEL in items:  # the first screen shows it in words
        items["largest_shortfall"] = items[LARGEST_SHORTFALL_LABEL]
    return items


def _time_used(items: dict[str, Any]) -> str:
    used = items.get("wall_seconds")
    if not isinstance(used, (int, float)):
        used = sum(v for k in ("build_seconds", "solve_seconds")
                   if isinstance(v := items.get(k), (int, float)))
    limit = items.get("time_limit_s")
    return (f"{used:,.1f} s of the {limit:,.0f} s time limit"
            if isinstance(limit, (int, float)) else f"{used:,.1f} s")


# Summary items whose name contains one of these words hold fractions shown as percent.
_PERCENT_WORDS = ("gap", "service", "fill_rate", "rate", "share", "utilisation",
                  "utilization", "saturation", "percent")


def summary_format(item: str, value: Any) -> str | None:
    """Number format of one ``Out Summary`` value, chosen by the item's name.

    Gaps (``…gap…``) as ``0.00%``; service levels, rates and shares (fractions) as
    ``0.0%``; seconds (``…_s``, ``…seconds…``) as ``0.0``; other whole numbers as
    ``#,##0``; other numbers (costs, quantities) as ``#,##0.00``. None for text.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    key = str(item).lower()
    if "gap" in key:
        return GAP_FORMAT
    if any(w in key for w in _PERCENT_WORDS) and -1 <= value <= 1:
        return PERCENT_FORMAT
    if key.endswith("_s") or "second" in key:
        return SECONDS_FORMAT
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer()):
        return INTEGER_FORMAT
    return MONEY_FORMAT


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            pass
    return v


def validation_sheet(problems_frame: pd.DataFrame) -> OutSheet:
    """``Out Validation``: one row per problem (severity, sheet, cell, message)."""
    return OutSheet("Out Validation", problems_frame.reset_index(drop=True))


def fingerprint(raw_sheets: dict[str, pd.DataFrame]) -> str:
    """Short hash of the input sheets' contents (result sheets excluded).

    Computed from values, not file bytes, so the headless and the Excel path give
    the same fingerprint for the same data.
    """
    h = hashlib.sha256()
    for name in sorted(raw_sheets):
        if name.startswith(OUT_PREFIX):
            continue
        frame = raw_sheets[name]
        h.update(name.encode())
        h.update(json.dumps([str(c) for c in frame.columns]).encode())
        for row in frame.itertuples(index=False):
            h.update(json.dumps([_canon(v) for v in row], default=str).encode())
    return h.hexdigest()[:16]


def _canon(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float):
        if v != v:  # NaN
            return None
        return int(v) if v.is_integer() else repr(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    return str(v)


# ---------------------------------------------------------------------------
# Out Why: one row per shortfall, the same columns for every model

WHY_COLUMNS = (
    OutColumn("item", "What falls short: the order line, the SKU and week, or the plant, "
              "product and day, in words."),
    OutColumn("shortfall", "How much: days late, units lost or below target, pallets short "
              "(the unit is in the text)."),
    OutColumn("cause", "Why, in a few words, from a fixed list per model (see the About "
              "sheet)."),
    OutColumn("detail", "The names, dates and amounts behind the cause, computed from the "
              "input and the plan."),
    OutColumn("what_would_fix_it", "A change to the input that removes or reduces the "
              "shortfall, with the amount."),
    OutColumn("cost", "What the shortfall costs in the plan's objective.", MONEY_FORMAT),
)


def why_table(item_columns: tuple[OutColumn, ...] = (),
              sort_by: tuple[str, ...] = ("-cost",)) -> OutTable:
    """The ``Out Why`` declaration of a model: the shared columns plus the item's own."""
    return OutTable("Out Why", "Every shortfall of the plan with its cause, the amounts "
                    "behind it and what would remove it, most costly first.",
                    WHY_COLUMNS + tuple(item_columns), sort_by=sort_by)
