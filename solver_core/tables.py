"""Sheet and column schemas, header normalisation, typed parsing and validation.

One declaration per sheet and column drives the template (headers, comments, data
validation lists), parsing, validation messages and the README's column reference.
Parsing never stops at the first problem: every problem is collected with its sheet
and A1 cell, and the caller decides what to do with the list.
"""

from __future__ import annotations

import datetime as dt
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

WEEK_CODE = re.compile(r"^\d{4}W\d{2}$")


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
        self.items.append(Problem("error", sheet, cell, message))

    def warning(self, sheet: str, cell: str, message: str) -> None:
        self.items.append(Problem("warning", sheet, cell, message))

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


def _convert(value: Any, kind: str) -> tuple[Any, str | None]:
    """Convert one non-blank cell; returns (value, error message or None)."""
    if kind == TEXT:
        if isinstance(value, float) and value.is_integer():
            return str(int(value)), None
        if isinstance(value, (dt.datetime, dt.date)):
            return value.strftime("%Y-%m-%d"), None
        return str(value).strip(), None
    if kind in (NUMBER, INTEGER):
        if isinstance(value, bool):
            return None, f"expected a number, found {value!r}"
        if isinstance(value, (int, float, np.integer, np.floating)):
            x = float(value)
        else:
            text = str(value).strip().replace(",", "")
            try:
                x = float(text)
            except ValueError:
                return None, f"expected a number, found text {str(value)!r}"
        if not math.isfinite(x):
            return None, f"expected a finite number, found {value!r}"
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
        return x, None
    if kind == WEEK:
        text = str(value).strip().upper()
        if not WEEK_CODE.match(text):
            return None, f"expected a week code like 2025W01, found {value!r}"
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


def _match_columns(raw: pd.DataFrame, sheet: Sheet) -> tuple[dict[str, int], list[int]]:
    """Map schema column names to positions in the raw sheet; also return unknown positions."""
    found: dict[str, int] = {}
    unknown: list[int] = []
    for pos, header in enumerate(raw.columns):
        key = normalise_header(header)
        if not key:
            continue
        for col in sheet.columns:
            if key in col.keys() and col.name not in found:
                found[col.name] = pos
                break
        else:
            unknown.append(pos)
    return found, unknown


def parse_table(raw: pd.DataFrame | None, sheet: Sheet, problems: Problems) -> pd.DataFrame:
    """Typed table of ``sheet`` from a raw sheet; every problem goes to ``problems``.

    The result has one column per schema column (defaults filled in), plus
    ``_row`` (Excel row of the record) and, per column, the position used for cell
    references in ``frame.attrs['positions']``. Rows with a bad cell are kept with the
    value missing, so later checks can still run; the caller must not solve when
    ``problems`` has errors.
    """
    names = [c.name for c in sheet.columns]
    if raw is None:
        if sheet.required:
            problems.error(
                sheet.name,
                "A1",
                f"Sheet '{sheet.name}' is missing. Add it with the columns: "
                + ", ".join(names) + ".",
            )
        out = pd.DataFrame({n: pd.Series(dtype=object) for n in names + ["_row"]})
        out.attrs["positions"] = {}
        out.attrs["present"] = False
        return out

    found, unknown = _match_columns(raw, sheet)
    for col in sheet.columns:
        if col.required and col.name not in found:
            problems.error(
                sheet.name,
                "1",
                f"Column '{col.name}' is missing from sheet '{sheet.name}' (expected columns: "
                + ", ".join(names) + ").",
            )
    data: dict[str, list[Any]] = {n: [] for n in names}
    rows = list(raw.index)
    for col in sheet.columns:
        pos = found.get(col.name)
        values = data[col.name]
        if pos is None:
            values.extend([col.default] * len(rows))
            continue
        series = raw.iloc[:, pos]
        for row, v in zip(rows, series.tolist()):
            if _blank(v):
                if col.required:
                    problems.error(
                        sheet.name, cell_ref(pos, row), f"'{col.name}' is empty; fill it in."
                    )
                values.append(col.default)
                continue
            x, err = _convert(v, col.kind)
            if err is None and col.kind in (NUMBER, INTEGER) and col.min_value is not None:
                if x < col.min_value:
                    err = f"'{col.name}' must be >= {col.min_value:g}, found {v!r}"
            if err is None and col.choices and str(x).lower() not in col.choices:
                err = f"'{col.name}' must be one of {', '.join(col.choices)}; found {v!r}"
            if err is not None:
                problems.error(sheet.name, cell_ref(pos, row), err + ".")
                values.append(None)
                continue
            values.append(str(x).lower() if col.choices else x)
    # object columns keep a blank cell as None (a float column would turn it into NaN)
    out = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()},
                       index=range(len(rows)))
    out["_row"] = rows
    out.attrs["positions"] = found
    out.attrs["present"] = True
    out.attrs["unknown_columns"] = [str(raw.columns[p]) for p in unknown]
    # Duplicates are checked per record, before a wide sheet becomes one row per week.
    if sheet.key and not out.empty:
        check_duplicates(out, sheet, list(sheet.key), problems)
    if sheet.wide is not None:
        out = _melt_wide(raw, sheet, out, unknown, problems)
    return out


def _melt_wide(
    raw: pd.DataFrame, sheet: Sheet, ids: pd.DataFrame, extra: list[int], problems: Problems
) -> pd.DataFrame:
    """Long form of a week-column sheet: one row per (record, week column)."""
    spec = sheet.wide
    assert spec is not None
    records = []
    # Column lists once: a DataFrame column lookup per cell copies ``attrs`` each time
    # (pandas), which made a 3,400 x 30 Forecast take over a minute.
    id_cols = {c: ids[c].tolist() for c in ids.columns}
    id_rows = id_cols["_row"]
    for pos in extra:
        header = raw.columns[pos]
        code, err = _convert(header, WEEK)
        if err:
            if _as_date(header) is not None:
                code = _as_date(header)  # a date header: the model maps it to a week
            else:
                problems.error(
                    sheet.name,
                    cell_ref(pos, 1),
                    f"Column header {header!r} is neither a known column nor a week code "
                    "like 2025W01.",
                )
                continue
        series = raw.iloc[:, pos].tolist()
        for i, v in enumerate(series):
            row = id_rows[i]
            if _blank(v):
                x = spec.default
            else:
                x, e = _convert(v, spec.kind)
                if e is None and spec.min_value is not None and x < spec.min_value:
                    e = f"must be >= {spec.min_value:g}, found {v!r}"
                if e:
                    problems.error(sheet.name, cell_ref(pos, row), e + ".")
                    x = None
            rec = {c: vals[i] for c, vals in id_cols.items()}
            rec["week"] = code
            rec["wide_value"] = x
            rec["_col"] = pos
            records.append(rec)
    cols = list(ids.columns) + ["week", "wide_value", "_col"]
    long = pd.DataFrame(records, columns=cols)
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
    first_row = {}
    for _, r in valid.iterrows():
        k = tuple(r[c] for c in key)
        first_row.setdefault(k, r["_row"])
    for _, r in valid[dup].iterrows():
        k = tuple(r[c] for c in key)
        problems.error(
            sheet.name,
            cell_ref(pos, r["_row"]),
            f"Duplicate {'/'.join(key)} {', '.join(map(str, k))}: already on row "
            f"{first_row[k]}. Merge or delete one of the rows.",
        )


def ref(table: pd.DataFrame, column: str, i: int, sheet: str = "") -> str:
    """A1 reference of the cell of ``column`` in record ``i`` of a parsed table."""
    pos = table.attrs.get("positions", {}).get(column)
    row = table["_row"].iat[i] if "_row" in table else None
    if pos is None:
        return f"{row}" if row is not None else "A1"
    return cell_ref(pos, row)


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
                "Wall-clock limit for the whole solve; the best plan found by then is "
                "written.", unit="seconds", min_value=0.1),
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
        if err is None and spec.max_value is not None and x > spec.max_value:
            err = f"must be <= {spec.max_value:g}, found {raw_value!r}"
        if err:
            problems.error("Settings", value_cell, f"Setting '{spec.name}' {err}.")
            continue
        values[spec.name] = str(x).lower() if spec.choices else x
    for spec in settings:
        if spec.required and spec.name not in seen:
            problems.error(
                "Settings", "A", f"Setting '{spec.name}' is missing; add a row for it."
            )
    return Settings(values)


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
