"""Sheet and column schemas, header normalisation, typed parsing and validation.

One declaration per sheet and column drives the template (headers, comments, data
validation lists), parsing, validation messages and the README's column reference.
Parsing never stops at the first problem: every problem is collected with its sheet
and A1 cell, and the caller decides what to do with the list.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

# Column kinds understood by the parser.
TEXT = "text"
NUMBER = "number"  # finite float, >= min_value when given
INTEGER = "integer"  # whole number
BOOL = "bool"
DATE = "date"  # Excel date or ISO text -> datetime.date
DAY = "day"  # day number 1..T or a date (resolved by the model's data step)
WEEK = "week"  # week code like 2025W01

WEEK_CODE = re.compile(r"^(\d{4})W(\d{2})$")

# Upper bounds on what a cell may hold (the templates' About sheets state them). Larger
# values are typing errors, and they overflow the models' arrays and solver tolerances.
MAX_MAGNITUDE = 1e12  # quantities, costs, factors, penalties
MAX_DAY = 3660  # day numbers and horizons in days (ten years)
MAX_WEEKS = 520  # durations and horizons in weeks (ten years)
UNIT_LIMITS = {"days": MAX_DAY, "weeks": MAX_WEEKS}

# What Excel stores in a cell whose formula failed; never a value.
EXCEL_ERRORS = frozenset(
    ("#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
     "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
)


def normalise_header(text: Any) -> str:
    """Header key: case-insensitive, trimmed, and spaces, ``_`` and ``-`` alike."""
    if text is None:
        return ""
    s = str(text).strip().lower()
    return re.sub(r"[\s_\-]+", "_", s)


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    ``default`` is used when the column is absent or a cell is blank; a column with
    ``required=True`` must be present and filled.
    """

    name: str
    kind: str = TEXT
    description: str = ""
    unit: str = ""
    required: bool = True
    default: Any = None
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    min_value: float | None = 0.0
    max_value: float | None = None  # None: the limit of the unit or kind (upper_limit)
    # Where the valid values are defined, e.g. "Products" (for messages and templates).
    refers_to: str = ""

    def keys(self) -> set[str]:
        return {normalise_header(self.name), *(normalise_header(a) for a in self.aliases)}


@dataclass(frozen=True)
class Sheet:
    """One input table: a header row in row 1 and one record per row.

    ``wide`` sheets (week-column sheets of the MPS workbook) have the declared id
    columns followed by any number of extra columns whose headers are week codes;
    they are returned in long form with columns ``week`` and ``wide_value``.
    """

    name: str
    columns: tuple[Column, ...]
    description: str = ""
    required: bool = True
    key: tuple[str, ...] = ()
    wide: Column | None = None  # value column of a wide sheet (kind, unit, description)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@dataclass(frozen=True)
class Setting:
    """One row of a model's Settings sheet: name, kind, default and meaning."""

    name: str
    kind: str
    default: Any
    description: str = ""
    unit: str = ""
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    required: bool = False


@dataclass(frozen=True)
class WorkbookSchema:
    """All input sheets of one model; ``Settings`` is separate (two-column sheet)."""

    model: str
    title: str
    settings: tuple[Setting, ...]
    sheets: tuple[Sheet, ...]
    about: str = ""
    outputs: tuple[Any, ...] = ()  # outputs.OutTable: the result sheets and their columns

    def sheet(self, name: str) -> Sheet:
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(name)


SETTINGS_SHEET = Sheet(
    "Settings",
    (
        Column("setting", TEXT, "Name of the setting (see the About sheet)."),
        Column("value", TEXT, "Value of the setting.", required=False),
    ),
    description="Model choice and run options, one per row.",
)


# ---------------------------------------------------------------------------
# Problems


@dataclass
class Problem:
    """One validation finding: severity, sheet, A1 cell and a message saying how to fix it."""

    severity: str  # "error" | "warning"
    sheet: str
    cell: str
    message: str


@dataclass
class Problems:
    """Collects every validation problem; one list per run."""

    items: list[Problem] = field(default_factory=list)

    def error(self, sheet: str, cell: str, message: str) -> None:
        self.items.append(Problem("error", sheet, complete_cell(cell), message))

    def warning(self, sheet: str, cell: str, message: str) -> None:
        self.items.append(Problem("warning", sheet, complete_cell(cell), message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.items)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(p.severity, p.sheet, p.cell, p.message) for p in self.items],
            columns=["severity", "sheet", "cell", "message"],
        )

    def summary(self) -> str:
        e, w = len(self.errors), len(self.warnings)
        first = self.errors[0] if e else (self.warnings[0] if w else None)
        head = f"{e} error(s), {w} warning(s)"
        if first is not None:
            head += f"; first: {first.sheet}!{first.cell}: {first.message}"
        return head


_A1 = re.compile(r"^([A-Z]{1,3})?(\d+)?$")


def complete_cell(cell: Any) -> str:
    """A whole A1 reference: a bare row ``4`` → ``A4``, a bare column ``B`` → ``B1``
    (its header), nothing → ``A1``; anything else unchanged."""
    text = "" if cell is None else str(cell).strip().upper()
    m = _A1.match(text)
    if not m:
        return str(cell)
    letters, digits = m.group(1) or "A", m.group(2) or "1"
    return f"{letters}{digits}"


# ---------------------------------------------------------------------------
# Raw sheets and typed tables
#
# A raw sheet is a DataFrame of the cell values as read (object dtype), columns =
# the header cells as text, index = the Excel row number of each record. Both front
# ends (openpyxl and xlwings) produce this shape, so parsing is shared.


def raw_frame(values: list[list[Any]]) -> pd.DataFrame:
    """Raw sheet from a 2-D list of cell values (row 1 = headers). Blank rows are dropped."""
    if not values:
        return pd.DataFrame()
    header = ["" if v is None else str(v).strip() for v in values[0]]
    # Trim trailing blank header cells.
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    rows, index = [], []
    for i, row in enumerate(values[1:], start=2):
        cells = list(row[:width]) + [None] * max(0, width - len(row))
        if all(_blank(c) for c in cells):
            continue
        rows.append(cells)
        index.append(i)
    frame = pd.DataFrame(rows, columns=range(width), index=index, dtype=object)
    frame.columns = pd.Index(header, dtype=object)
    return frame


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "") or (
        isinstance(v, float) and math.isnan(v)
    )


def cell_ref(col_pos: int, row: int | None = None) -> str:
    """A1 reference of a 0-based column position (and an Excel row, when given)."""
    letter = get_column_letter(col_pos + 1)
    return letter if row is None else f"{letter}{row}"


def upper_limit(kind: str, unit: str = "", max_value: float | None = None) -> float | None:
    """Largest magnitude a number of this kind and unit may have (None: not a number).

    A declared ``max_value`` wins; otherwise days and weeks have their calendar limits
    and every other number :data:`MAX_MAGNITUDE`.
    """
    if max_value is not None:
        return max_value
    if kind == DAY:
        return MAX_DAY
    if kind in (NUMBER, INTEGER):
        return UNIT_LIMITS.get(unit, MAX_MAGNITUDE)
    return None


def excel_error(value: Any) -> str | None:
    """The message for a cell holding an Excel error value (``#N/A``…), else None."""
    if isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS:
        return (f"the cell holds the Excel error {value.strip()}; fix the formula or type "
                "the value")
    return None


def _number(value: Any) -> tuple[float | None, str | None]:
    """A finite float from a number cell or number text (point as decimal separator)."""
    if isinstance(value, bool):
        return None, f"expected a number, found {value!r}"
    if isinstance(value, (int, float, np.integer, np.floating)):
        x = float(value)
    else:
        text = str(value).strip()
        if "," in text:
            return None, (f"expected a number, found text {text!r}; use a point as decimal "
                          "separator and no thousands separator")
        try:
            x = float(text)
        except ValueError:
            return None, f"expected a number, found text {str(value)!r}"
    if not math.isfinite(x):
        return None, f"expected a finite number, found {value!r}"
    return x, None


def _convert(value: Any, kind: str) -> tuple[Any, str | None]:
    """Convert one non-blank cell; returns (value, error message or None).

    Numbers are checked against the limit of their kind (:func:`upper_limit`); callers
    with a unit or a declared maximum check the tighter limit themselves.
    """
    err = excel_error(value)
    if err:
        return None, err
    if kind == TEXT:
        if isinstance(value, float) and value.is_integer():
            return str(int(value)), None
        if isinstance(value, (dt.datetime, dt.date)):
            return value.strftime("%Y-%m-%d"), None
        # Text that starts with "=" is a name like any other; it stays text.
        return str(value).strip(), None
    if kind in (NUMBER, INTEGER):
        x, err = _number(value)
        if err:
            return None, err
        if abs(x) > MAX_MAGNITUDE:
            return None, f"{value!r} is beyond the limit of ±{MAX_MAGNITUDE:g}"
        if kind == INTEGER and not float(x).is_integer():
            return None, f"expected a whole number, found {value!r}"
        return (int(x) if kind == INTEGER else x), None
    if kind == BOOL:
        if isinstance(value, bool):
            return value, None
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value), None
        text = str(value).strip().lower()
        if text in ("true", "yes", "y", "1", "on", "wahr", "vrai"):
            return True, None
        if text in ("false", "no", "n", "0", "off", "falsch", "faux"):
            return False, None
        return None, f"expected TRUE or FALSE, found {value!r}"
    if kind == DATE:
        d = _as_date(value)
        if d is None:
            return None, f"expected a date (Excel date or YYYY-MM-DD), found {value!r}"
        return d, None
    if kind == DAY:
        d = _as_date(value) if not isinstance(value, (int, float)) else None
        if d is not None:
            return d, None
        x, err = _convert(value, INTEGER)
        if err:
            return None, f"expected a day number (1, 2, ...) or a date, found {value!r}"
        if abs(x) > MAX_DAY:
            return None, f"day {x} is beyond the limit of {MAX_DAY} days"
        return x, None
    if kind == WEEK:
        text = str(value).strip().upper()
        m = WEEK_CODE.match(text)
        if not m:
            return None, f"expected a week code like 2025W01, found {value!r}"
        if not 1 <= int(m.group(2)) <= 53:
            return None, f"week {m.group(2)} of {value!r} does not exist; weeks are 01 to 53"
        return text, None
    raise ValueError(f"unknown column kind {kind}")


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                pass
    return None


def convert_value(value: Any, kind: str) -> tuple[Any, str | None]:
    """The one cell converter, for a single value: (value, None) or (None, message)."""
    if _blank(value):
        return None, None
    return _convert(value, kind)


class _Shared(dict):
    """A table's metadata dict, shared (not copied) by the frames derived from it.

    pandas deep-copies ``DataFrame.attrs`` on every column access; with this type the
    copy is one call, not one per entry (it made row loops over 100k records 4× slower).
    """

    def __deepcopy__(self, memo: dict) -> _Shared:
        return self


def _match_columns(
    raw: pd.DataFrame, sheet: Sheet, problems: Problems
) -> tuple[dict[str, int], list[int]]:
    """Map schema column names to positions in the raw sheet; also return unknown positions.

    Header problems are reported at their header cell: a header that repeats a column
    already found (a warning: the first one is used), and, for sheets without week
    columns, headers no column is declared for (a warning, with the closest declared
    name when one is close) and values under a blank header.
    """
    found: dict[str, int] = {}
    unknown: list[int] = []
    for pos, header in enumerate(raw.columns):
        key = normalise_header(header)
        if not key:
            if sheet.wide is None and raw.iloc[:, pos].map(lambda v: not _blank(v)).any():
                problems.warning(sheet.name, cell_ref(pos, 1),
                                 "This column has values but no header; it is ignored. Give it "
                                 "one of the headers: " + ", ".join(_names(sheet)) + ".")
            unknown.append(pos)
            continue
        col = next((c for c in sheet.columns if key in c.keys()), None)
        if col is None:
            unknown.append(pos)
            close = _closest_missing(key, sheet, found)
            if sheet.wide is None and not (close and close.required):
                # (a header close to a missing required column: that error names it)
                problems.warning(sheet.name, cell_ref(pos, 1),
                                 f"Column {str(header)!r} is not used by sheet '{sheet.name}'"
                                 + (f" (did you mean '{close.name}'?)" if close else "")
                                 + "; it is ignored.")
        elif col.name in found:
            problems.warning(sheet.name, cell_ref(pos, 1),
                             f"Column '{col.name}' appears twice (also in "
                             f"{cell_ref(found[col.name], 1)}); this one is ignored.")
        else:
            found[col.name] = pos
    return found, unknown


def _names(sheet: Sheet) -> list[str]:
    return [c.name for c in sheet.columns]


def _closest_missing(key: str, sheet: Sheet, found: Mapping[str, int]) -> Column | None:
    """The declared column not yet found whose name is closest to ``key``, if close."""
    missing = {k: c for c in sheet.columns if c.name not in found for k in c.keys()}
    close = difflib.get_close_matches(key, list(missing), n=1, cutoff=0.75)
    return missing[close[0]] if close else None


def _missing_column(raw: pd.DataFrame, sheet: Sheet, col: Column, unknown: list[int],
                    problems: Problems) -> None:
    """Error for a required column not found: at the header that looks like it, if one
    does, else at the first empty header cell (where the column can be added)."""
    names = _names(sheet)
    headers = {normalise_header(raw.columns[p]): p for p in unknown if raw.columns[p]}
    close = difflib.get_close_matches(normalise_header(col.name), list(headers), n=1,
                                      cutoff=0.75)
    if close:
        pos = headers[close[0]]
        problems.error(sheet.name, cell_ref(pos, 1),
                       f"Column '{col.name}' is missing from sheet '{sheet.name}': found "
                       f"{str(raw.columns[pos])!r} in {cell_ref(pos, 1)} — did you mean "
                       f"'{col.name}'? Rename the header.")
        return
    blank = [p for p, h in enumerate(raw.columns) if not normalise_header(h)]
    pos = blank[0] if blank else len(raw.columns)
    problems.error(sheet.name, cell_ref(pos, 1),
                   f"Column '{col.name}' is missing from sheet '{sheet.name}' (expected "
                   "columns: " + ", ".join(names) + ").")


_PLAIN_NUMBER = frozenset((int, float))


def _parse_column(values: list[Any], col: Column | Sheet, name: str, sheet: str, pos: int,
                  rows: list[int], problems: Problems, required: bool) -> list[Any]:
    """Typed values of one column; bad cells are reported and come back as None.

    Plain numbers in number columns and plain text in text columns are checked as whole
    arrays; every other cell goes through :func:`_convert`, so messages are the same
    whichever way a cell is checked.
    """
    kind, default = col.kind, col.default
    named = f"'{name}' " if name else ""
    n = len(values)
    arr = np.empty(n, dtype=object)
    arr[:] = values
    types = list(map(type, values))
    out = np.full(n, default, dtype=object) if default is not None else np.full(n, None)
    limit = upper_limit(kind, getattr(col, "unit", ""), getattr(col, "max_value", None))
    fast = np.zeros(n, dtype=bool)
    if kind in (NUMBER, INTEGER, DAY):
        fast = np.fromiter((t in _PLAIN_NUMBER for t in types), dtype=bool, count=n)
        x = arr[fast].astype(float)
        fast_idx = np.flatnonzero(fast)
        nan = np.isnan(x)  # a NaN cell is blank
        bad = ~nan & (~np.isfinite(x) | (np.abs(x) > limit))
        if kind in (INTEGER, DAY):
            bad |= ~nan & np.isfinite(x) & (x != np.round(x))
        if col.min_value is not None and kind != DAY:
            bad |= ~nan & (x < col.min_value)
        slow_again = fast_idx[bad | nan]
        fast[slow_again] = False
        good = fast_idx[~(bad | nan)]
        xs = x[~(bad | nan)]
        out[good] = xs.astype(np.int64) if kind in (INTEGER, DAY) else xs
    elif kind == TEXT and not col.choices:
        fast = np.fromiter((t is str for t in types), dtype=bool, count=n)
        text = pd.Series(arr[fast], dtype=object).str.strip()
        ok = (text != "") & ~text.str.upper().isin(EXCEL_ERRORS)
        idx = np.flatnonzero(fast)
        fast[idx[~ok.to_numpy()]] = False
        out[idx[ok.to_numpy()]] = text[ok].to_numpy()
    for i in np.flatnonzero(~fast).tolist():
        v = values[i]
        if _blank(v):
            if required:
                problems.error(sheet, cell_ref(pos, rows[i]), f"'{name}' is empty; fill it in.")
            continue
        x, err = _convert(v, kind)
        if kind in (NUMBER, INTEGER) and err and excel_error(v) is None:
            num, bad = _number(v)  # beyond the limit: say the column's own limit
            if bad is None and abs(num) > (limit or MAX_MAGNITUDE):
                err = (f"{named}must be >= {col.min_value:g}, found {v!r}"
                       if col.min_value is not None and num < col.min_value
                       else f"{named}must be <= {limit or MAX_MAGNITUDE:g}, found {v!r}")
        if err is None and kind in (NUMBER, INTEGER) and col.min_value is not None:
            if x < col.min_value:
                err = f"{named}must be >= {col.min_value:g}, found {v!r}"
        if err is None and limit is not None and not isinstance(x, dt.date) and abs(x) > limit:
            err = f"{named}must be <= {limit:g}, found {v!r}"
        if err is None and col.choices and str(x).lower() not in col.choices:
            err = f"'{name}' must be one of {', '.join(col.choices)}; found {v!r}"
        if err is not None:
            problems.error(sheet, cell_ref(pos, rows[i]), err + ".")
            out[i] = None
            continue
        out[i] = str(x).lower() if col.choices else x
    return out.tolist()


def parse_table(raw: pd.DataFrame | None, sheet: Sheet, problems: Problems) -> pd.DataFrame:
    """Typed table of ``sheet`` from a raw sheet; every problem goes to ``problems``.

    The result has one column per schema column (defaults filled in), plus
    ``_row`` (Excel row of the record) and, per column, the position used for cell
    references in ``frame.attrs['positions']``. Rows with a bad cell are kept with the
    value missing, so later checks can still run; the caller must not solve when
    ``problems`` has errors.
    """
    names = _names(sheet)
    if raw is None:
        if sheet.required:
            problems.error(
                sheet.name,
                "A1",
                f"Sheet '{sheet.name}' is missing. Add it with the columns: "
                + ", ".join(names) + ".",
            )
        out = pd.DataFrame({n: pd.Series(dtype=object) for n in names + ["_row"]})
        out.attrs.update(positions=_Shared(), present=False)
        return out

    found, unknown = _match_columns(raw, sheet, problems)
    for col in sheet.columns:
        if col.required and col.name not in found:
            _missing_column(raw, sheet, col, unknown, problems)
    rows = list(raw.index)
    data: dict[str, list[Any]] = {}
    for col in sheet.columns:
        pos = found.get(col.name)
        if pos is None:
            data[col.name] = [col.default] * len(rows)
        else:
            data[col.name] = _parse_column(raw.iloc[:, pos].tolist(), col, col.name,
                                           sheet.name, pos, rows, problems, col.required)
    # object columns keep a blank cell as None (a float column would turn it into NaN)
    out = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()},
                       index=range(len(rows)))
    out["_row"] = rows
    out.attrs.update(positions=_Shared(found), present=True,
                     unknown_columns=tuple(str(raw.columns[p]) for p in unknown))
    # Duplicates are checked per record, before a wide sheet becomes one row per week.
    if sheet.key and not out.empty:
        check_duplicates(out, sheet, list(sheet.key), problems)
    if sheet.wide is not None:
        out = _melt_wide(raw, sheet, out, unknown, problems)
    return out


def _week_columns(raw: pd.DataFrame, sheet: Sheet, extra: list[int],
                  problems: Problems) -> list[tuple[int, Any]]:
    """(position, week code or date) of each week column of a wide sheet.

    A header that is neither a week code nor a date, a blank header over values, and a
    week that repeats an earlier column are errors at their header cell.
    """
    weeks: list[tuple[int, Any]] = []
    seen: dict[Any, int] = {}
    for pos in extra:
        header = raw.columns[pos]
        if not normalise_header(header):
            if raw.iloc[:, pos].map(lambda v: not _blank(v)).any():
                problems.error(sheet.name, cell_ref(pos, 1),
                               "This column has values but no header; give it its week code "
                               "(like 2025W01) or delete it.")
            continue
        code, err = _convert(header, WEEK)
        if err:
            if _as_date(header) is not None:
                code = _as_date(header)  # a date header: the model maps it to a week
            elif WEEK_CODE.match(str(header).strip().upper()):
                problems.error(sheet.name, cell_ref(pos, 1), f"Column header: {err}.")
                continue
            else:
                problems.error(
                    sheet.name,
                    cell_ref(pos, 1),
                    f"Column header {header!r} is neither a known column nor a week code "
                    "like 2025W01.",
                )
                continue
        if code in seen:
            problems.error(sheet.name, cell_ref(pos, 1),
                           f"Week {code} appears twice (also in {cell_ref(seen[code], 1)}); "
                           "merge the two columns or fix the header.")
            continue
        seen[code] = pos
        weeks.append((pos, code))
    return weeks


def _melt_wide(
    raw: pd.DataFrame, sheet: Sheet, ids: pd.DataFrame, extra: list[int], problems: Problems
) -> pd.DataFrame:
    """Long form of a week-column sheet: one row per (record, week column)."""
    spec = sheet.wide
    assert spec is not None
    rows = ids["_row"].tolist()
    weeks = _week_columns(raw, sheet, extra, problems)
    n = len(ids)
    values: list[Any] = []
    for pos, _ in weeks:
        values += _parse_column(raw.iloc[:, pos].tolist(), spec, "", sheet.name, pos, rows,
                                problems, required=False)
    # One frame for all weeks (week after week, records in order): a frame per week
    # column took most of the time of reading a workbook's week sheets.
    if not weeks:
        long = pd.DataFrame(columns=list(ids.columns) + ["week", "wide_value", "_col"])
        long.attrs.update(ids.attrs)
        return long
    codes = np.empty(len(weeks), dtype=object)
    codes[:] = [code for _, code in weeks]
    long = ids.reset_index(drop=True).iloc[np.tile(np.arange(n), len(weeks))]
    long = long.reset_index(drop=True).assign(
        week=np.repeat(codes, n).tolist(),  # inferred as before: text, or dates
        wide_value=pd.Series(values, dtype=object),
        _col=np.repeat(np.array([p for p, _ in weeks], dtype=np.int64), n))
    long.attrs.update(ids.attrs)
    return long


def check_duplicates(
    table: pd.DataFrame, sheet: Sheet, key: list[str], problems: Problems
) -> None:
    """Report rows whose key repeats an earlier row."""
    valid = table.dropna(subset=key)
    dup = valid.duplicated(subset=key, keep="first")
    if not dup.any():
        return
    pos = table.attrs.get("positions", {}).get(key[0], 0)
    first_row = valid.groupby(key, sort=False, dropna=False)["_row"].transform("first")
    for k, row, first in zip(valid.loc[dup, key].itertuples(index=False, name=None),
                             valid.loc[dup, "_row"], first_row[dup]):
        problems.error(
            sheet.name,
            cell_ref(pos, row),
            f"Duplicate {'/'.join(key)} {', '.join(map(str, k))}: already on row "
            f"{first}. Merge or delete one of the rows.",
        )


def ref(table: pd.DataFrame, column: str, i: int, sheet: str = "") -> str:
    """A1 reference of the cell of ``column`` in record ``i`` of a parsed table.

    For a column the sheet does not have (an optional one), the record's first cell.
    """
    pos = table.attrs.get("positions", {}).get(column)
    row = table["_row"].iat[i] if "_row" in table else None
    if row is None:
        return cell_ref(pos if pos is not None else 0, 1)
    return cell_ref(pos if pos is not None else 0, row)


def odd_ones(values: Iterable[Any], kind_of: Any) -> list[bool]:
    """Which values are of a minority kind: the cells to flag when kinds are mixed.

    ``kind_of(value)`` names a value's kind (e.g. date or number); blanks (None) are
    never odd. On a tie every value of a kind other than the first one seen is odd.
    Example: four day numbers and one date in ``Supply.day`` → only the date is odd.
    """
    values = list(values)
    kinds = [None if v is None else kind_of(v) for v in values]
    counts: dict[Any, int] = {}
    for k in kinds:
        if k is not None:
            counts[k] = counts.get(k, 0) + 1
    if len(counts) < 2:
        return [False] * len(values)
    majority = max(counts, key=lambda k: counts[k])  # first seen wins a tie (dict order)
    return [k is not None and k != majority for k in kinds]


def check_references(
    table: pd.DataFrame,
    sheet: str,
    column: str,
    known: Iterable[Any],
    defined_in: str,
    problems: Problems,
    what: str | None = None,
) -> pd.Series:
    """Error for each value of ``column`` not in ``known``; returns the mask of good rows."""
    known_set = set(known)
    what = what or column
    ok = table[column].isin(known_set) | table[column].isna()
    for i in np.flatnonzero(~ok.to_numpy()):
        value = table[column].iat[i]
        problems.error(
            sheet,
            ref(table, column, i),
            f"Unknown {what} {value!r}. Add it to sheet '{defined_in}' or remove "
            f"it from '{sheet}' row {table['_row'].iat[i]}.",
        )
    return ok


# ---------------------------------------------------------------------------
# Settings


class Settings(Mapping):
    """The settings of one workbook: every declared setting, by attribute.

    Built only by :func:`parse_settings` (or :meth:`defaults`), so each value is either
    the workbook's or the default declared in the model's schema; code reads
    ``settings.time_limit_s`` and never repeats a default.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", dict(values))

    @classmethod
    def defaults(cls, declared: tuple[Setting, ...]) -> Settings:
        return cls({s.name: s.default for s in declared})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings are read-only; use replace()")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Settings({self._values!r})"

    def __reduce__(self):
        return (Settings, (self._values,))

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (only declared settings)."""
        unknown = set(changes) - set(self._values)
        if unknown:
            raise KeyError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return Settings({**self._values, **changes})


def run_settings(time_limit_s: float) -> tuple[Setting, ...]:
    """The settings every model has: time limit, gap target, parallel workers."""
    return (
        Setting("time_limit_s", NUMBER, float(time_limit_s),
                "Wall-clock limit for the whole solve (scenario runs: for each "
                "scenario); the best plan found by then is written.", unit="seconds",
                min_value=0.1),
        Setting("mip_gap", NUMBER, 0.001,
                "The solve stops as soon as its plan is proven within this relative gap "
                "of the best possible (0.001 = 0.1%).", min_value=0, max_value=1),
        Setting("workers", INTEGER, 0,
                "Parallel processes for independent pieces (0 = one per CPU core).",
                min_value=0),
    )


def parse_settings(
    raw: pd.DataFrame | None, settings: tuple[Setting, ...], problems: Problems
) -> Settings:
    """Settings with defaults for missing rows; unknown names are errors."""
    values = {s.name: s.default for s in settings}
    if raw is None:
        problems.error(
            "Settings",
            "A1",
            "Sheet 'Settings' is missing. Add a two-column sheet (setting, value) with at "
            "least the row 'model'.",
        )
        return Settings(values)
    table = parse_table(raw, SETTINGS_SHEET, problems)
    by_key = {normalise_header(s.name): s for s in settings}
    seen: dict[str, int] = {}
    for i in range(len(table)):
        name = table["setting"].iat[i]
        row = table["_row"].iat[i]
        if name is None:
            continue
        spec = by_key.get(normalise_header(name))
        cell_name = ref(table, "setting", i)
        if spec is None:
            problems.error(
                "Settings",
                cell_name,
                f"Unknown setting {name!r}. Known settings: "
                + ", ".join(s.name for s in settings) + ".",
            )
            continue
        if spec.name in seen:
            problems.error(
                "Settings", cell_name, f"Setting '{spec.name}' repeats row {seen[spec.name]}."
            )
            continue
        seen[spec.name] = row
        raw_value = raw.iloc[i, table.attrs["positions"]["value"]] if "value" in table.attrs[
            "positions"] else None
        value_cell = ref(table, "value", i)
        if _blank(raw_value):
            if spec.required:
                problems.error("Settings", value_cell, f"Setting '{spec.name}' needs a value.")
            continue
        x, err = _convert(raw_value, spec.kind)
        if err is None and spec.choices and str(x).lower() not in spec.choices:
            err = f"must be one of {', '.join(spec.choices)}, found {raw_value!r}"
        if err is None and spec.min_value is not None and x < spec.min_value:
            err = f"must be >= {spec.min_value:g}, found {raw_value!r}"
        limit = upper_limit(spec.kind, spec.unit, spec.max_value)
        if err is None and limit is not None and isinstance(x, (int, float)) and x > limit:
            err = f"must be <= {limit:g}, found {raw_value!r}"
        if err:
            problems.error("Settings", value_cell, f"Setting '{spec.name}' {err}.")
            continue
        values[spec.name] = str(x).lower() if spec.choices else x
    next_row = f"A{(max(table['_row']) if len(table) else 1) + 1}"  # where a row can go
    for spec in settings:
        if spec.required and spec.name not in seen:
            problems.error(
                "Settings", next_row, f"Setting '{spec.name}' is missing; add a row for it."
            )
    return Settings(values)


def model_cell(raw: pd.DataFrame | None) -> str:
    """Where the ``model`` setting's value is (or where its row can be added)."""
    if raw is None or raw.empty:
        return "A2"
    keys = [normalise_header(h) for h in raw.columns]
    if "setting" in keys:
        s = keys.index("setting")
        v = keys.index("value") if "value" in keys else s + 1
        for row, name in zip(raw.index, raw.iloc[:, s]):
            if normalise_header(name) == "model":
                return cell_ref(v, row)
    return f"A{max(raw.index) + 1}"


def model_name(raw: pd.DataFrame | None) -> str | None:
    """The ``model`` row of a raw Settings sheet, without full parsing."""
    if raw is None or raw.empty:
        return None
    keys = [normalise_header(h) for h in raw.columns]
    if "setting" not in keys or "value" not in keys:
        return None
    s, v = keys.index("setting"), keys.index("value")
    for _, row in raw.iterrows():
        if normalise_header(row.iloc[s]) == "model":
            value = row.iloc[v]
            return None if _blank(value) else normalise_header(value)
    return None
