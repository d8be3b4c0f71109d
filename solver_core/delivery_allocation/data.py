"""Raw sheets → a validated, typed delivery-allocation instance.

Every problem is reported with its sheet, A1 cell, the value found and how to fix it;
nothing stops at the first problem. Rows with a bad cell are left out of the instance
(the run does not start while there are errors), so every later check still runs.

Days are whole numbers counted from ``plan_date`` (day 0); ``horizon_end`` is day H
(docs/delivery_allocation.md, "Notation"). Column names are those of the input sheets;
the columns added here (``rpd_day``, ``rpd_rate``, …) are derived values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..tables import (
    Problems,
    Settings,
    cell_ref,
    check_duplicates,
    normalise_header,
    parse_table,
    ref,
)
from .schema import INVENTORY, ORDERS, POS, REGION_CAPACITY

#: Default horizon: this many days after the latest RPD, EPD or PO arrival.
HORIZON_MARGIN_DAYS = 28

LINE_COLUMNS = [
    "order", "line", "fulfillment_order", "supply_center", "sku", "region", "quantity",
    "rpd", "epd", "rpd_weight", "epd_weight", "rpd_day", "epd_day", "first_day",
    "rpd_rate", "epd_rate", "row",
]
SOURCE_COLUMNS = ["supply_center", "sku", "source_type", "source", "quantity", "arrival_date",
                  "day", "row"]


@dataclass
class Instance:
    """A delivery-allocation problem ready to solve.

    ``lines`` holds one row per order line to plan (index = line number used by the
    model), with the Orders columns and: the day numbers ``rpd_day``/``epd_day`` (may
    be negative for overdue lines), ``first_day`` = max(rpd_day, 0), the per-day
    penalty rates ``rpd_rate`` = rpd_penalty × rpd_weight (u_o) and ``epd_rate`` =
    epd_penalty × epd_weight (v_o), and ``row``, the line's Excel row. ``epd`` is the
    EPD used (raised to the RPD when given earlier).
    ``sources`` holds one row per inventory pool (its ``available`` units as
    ``quantity``, usable from the plan date) and per PO and batch; ``day`` is the
    first day it can be used. ``capacity`` holds the daily limits per (sku, region).
    ``settings`` are the workbook's settings (``settings.penalty``,
    ``settings.time_limit_s``, ``settings.workers`` …).
    """

    settings: Settings
    plan_date: dt.date
    horizon_end: dt.date
    lines: pd.DataFrame
    sources: pd.DataFrame
    capacity: pd.DataFrame

    @property
    def horizon_days(self) -> int:
        """H: the last day of the plan, counted from the plan date."""
        return (self.horizon_end - self.plan_date).days

    def date_of(self, day: int) -> dt.date:
        """The date of day number ``day``."""
        return self.plan_date + dt.timedelta(days=int(day))

    @property
    def usable_sources(self) -> pd.DataFrame:
        """Sources that can be used within the horizon (first day ≤ H, quantity > 0)."""
        s = self.sources
        return s[(s["day"] <= self.horizon_days) & (s["quantity"] > 0)]


def load(raw: dict[str, pd.DataFrame], settings: Settings, problems: Problems) -> Instance:
    """Parse and check the input sheets; never raises for bad data."""
    inventory = parse_table(raw.get("Inventory"), INVENTORY, problems)
    _warn_repeated_inventory(inventory, problems)
    orders = parse_table(raw.get("Orders"), ORDERS, problems)
    pos = parse_table(raw.get("POs"), POS, problems)
    capacity = parse_table(raw.get("RegionCapacity"), REGION_CAPACITY, problems)

    plan_date = settings.plan_date
    horizon_end = settings.horizon_end
    if plan_date is None:  # reported by parse_settings; keep checking the sheets
        plan_date = _earliest_date(orders, pos) or dt.date.today()
    if horizon_end is None:
        latest = _latest_date(orders, pos)
        horizon_end = (max(latest, plan_date) if latest else plan_date) + dt.timedelta(
            days=HORIZON_MARGIN_DAYS)
    elif horizon_end < plan_date:
        problems.error("Settings", _setting_cell(raw.get("Settings"), "horizon_end"),
                       f"horizon_end {horizon_end} is before plan_date {plan_date}; set it to "
                       "a later day (or leave it blank for the default).")

    lines = _order_lines(orders, settings, plan_date, horizon_end, problems)
    sources = _sources(inventory, pos, plan_date, horizon_end, problems)
    limits = _capacity(capacity, lines, problems)
    check_unsupplied_skus(lines, sources, orders, problems)
    return Instance(settings=settings, plan_date=plan_date, horizon_end=horizon_end,
                    lines=lines, sources=sources, capacity=limits)


# ---------------------------------------------------------------------------
# Orders


def _order_lines(orders: pd.DataFrame, settings: Settings, plan_date: dt.date,
                 horizon_end: dt.date, problems: Problems) -> pd.DataFrame:
    required = ["order", "line", "fulfillment_order", "supply_center", "sku", "quantity", "rpd",
                "epd", "region", "rpd_weight", "epd_weight"]
    if orders.empty:
        if orders.attrs.get("present"):
            problems.error("Orders", "A2", "Sheet 'Orders' has no order lines; add at least one.")
        return pd.DataFrame(columns=LINE_COLUMNS)
    number_lines(orders, problems)
    good = orders.dropna(subset=required)
    # Row-wise loops over a parsed table would copy its attrs on every access: work on
    # plain arrays and look up cells only for the rows that have a problem.
    rows = good["_row"].to_numpy()
    rpd, epd = good["rpd"].to_numpy(), good["epd"].to_numpy()
    zero = good["quantity"].to_numpy(float) == 0
    late = np.array([r > horizon_end for r in rpd], dtype=bool)
    for k in np.flatnonzero(np.array([e < r for e, r in zip(epd, rpd)], dtype=bool)):
        problems.warning(
            "Orders", _cell(orders.attrs["positions"].get("epd"), rows[k]),
            f"EPD {epd[k]} is before RPD {rpd[k]} (row {rows[k]}). Rule applied: nothing is "
            "delivered before the RPD, so the EPD is taken to be the RPD (on time = "
            "complete on the RPD). Correct the EPD if that is not what you mean.")
    for k in np.flatnonzero(zero):
        problems.warning("Orders", _cell(orders.attrs["positions"].get("quantity"), rows[k]),
                         f"Quantity is 0 on row {rows[k]}: nothing to deliver; the line is "
                         "left out.")
    for k in np.flatnonzero(late & ~zero):
        problems.warning(
            "Orders", _cell(orders.attrs["positions"].get("rpd"), rows[k]),
            f"RPD {rpd[k]} is after horizon_end {horizon_end} (row {rows[k]}): the line "
            "cannot be served within the plan and is left out. Move horizon_end later to "
            "plan it.")
    good = good[~zero & ~late]
    # A repeated (order, line) is an error (reported by number_lines); keep the first
    # row so that the remaining checks still see the line.
    good = good.drop_duplicates(subset=["order", "line"], keep="first")
    out = pd.DataFrame({
        "order": good["order"].astype(str), "line": good["line"].astype(str),
        "fulfillment_order": good["fulfillment_order"].astype(str),
        "supply_center": good["supply_center"].astype(str), "sku": good["sku"].astype(str),
        "region": good["region"].astype(str), "quantity": good["quantity"].astype(float),
        "rpd": good["rpd"], "epd": good["epd"],
        "rpd_weight": good["rpd_weight"].astype(float),
        "epd_weight": good["epd_weight"].astype(float), "row": good["_row"].astype(int),
    })
    out["epd"] = [max(e, r) for e, r in zip(out["epd"], out["rpd"])]
    out["rpd_day"] = _days(out["rpd"], plan_date)
    out["epd_day"] = _days(out["epd"], plan_date)
    out["first_day"] = np.maximum(out["rpd_day"].to_numpy(), 0)
    out["rpd_rate"] = float(settings.rpd_penalty) * out["rpd_weight"]
    out["epd_rate"] = float(settings.epd_penalty) * out["epd_weight"]
    return out[LINE_COLUMNS].reset_index(drop=True)


def number_lines(orders: pd.DataFrame, problems: Problems) -> None:
    """Fill in line numbers when the sheet has no ``line`` column, else check uniqueness.

    A raw export has one row per order and SKU but no line number: a multi-SKU order
    is then split into lines numbered 1, 2, … in sheet order
    (docs/delivery_allocation.md, "Notation"). With the column, (order, line) must be
    unique.
    """
    if "line" not in orders.attrs.get("positions", {}):
        orders["line"] = (orders.groupby("order", sort=False, dropna=False).cumcount() + 1
                          ).astype(str)
    else:
        check_duplicates(orders, ORDERS, ["order", "line"], problems)


# ---------------------------------------------------------------------------
# Inventory and POs


def _warn_repeated_inventory(inventory: pd.DataFrame, problems: Problems) -> None:
    """Rows of one supply center and SKU are added up: say so at each repeated row."""
    inv = inventory.dropna(subset=["supply_center", "sku"])
    repeated = inv.duplicated(subset=["supply_center", "sku"], keep="first")
    if not repeated.any():
        return
    totals = inv.groupby(["supply_center", "sku"])["available"].sum()
    first = inv.groupby(["supply_center", "sku"])["_row"].transform("first")
    for i in np.flatnonzero(repeated.to_numpy()):
        center, sku = inv["supply_center"].iat[i], inv["sku"].iat[i]
        problems.warning(
            "Inventory", ref(inv, "sku", i),
            f"{center}/{sku} is also on row {first.iat[i]}: the rows are added up "
            f"({totals[(center, sku)]:g} units available). Delete a row if it repeats "
            "the other.")


def _sources(inventory: pd.DataFrame, pos: pd.DataFrame, plan_date: dt.date,
             horizon_end: dt.date, problems: Problems) -> pd.DataFrame:
    inv = inventory.dropna(subset=["supply_center", "sku", "available"])
    inv = (inv.groupby(["supply_center", "sku"], sort=True)
           .agg(quantity=("available", "sum"), row=("_row", "min")).reset_index())
    inv_rows = pd.DataFrame({
        "supply_center": inv["supply_center"].astype(str), "sku": inv["sku"].astype(str),
        "source_type": "inventory", "source": "inventory",
        "quantity": inv["quantity"].astype(float), "arrival_date": plan_date, "day": 0,
        "row": inv["row"].astype(int)})
    good = pos.dropna(subset=["po", "supply_center", "sku", "quantity", "arrival_date"])
    rows, names = good["_row"].to_numpy(), good["po"].to_numpy()
    arrival_cell = pos.attrs.get("positions", {}).get("arrival_date")
    for k, arrival in enumerate(good["arrival_date"].to_numpy()):
        if arrival < plan_date:
            problems.warning(
                "POs", _cell(arrival_cell, rows[k]),
                f"PO {names[k]} arrives {arrival}, before plan_date {plan_date}: treated as on "
                "hand from the plan date. Move it to 'Inventory' if it was received, or "
                "correct the date.")
        elif arrival > horizon_end:
            problems.warning(
                "POs", _cell(arrival_cell, rows[k]),
                f"PO {names[k]} arrives {arrival}, after horizon_end {horizon_end}: it is not "
                "used in this plan. Move horizon_end later to use it.")
    batch = good["batch"].fillna("").astype(str)
    name = good["po"].astype(str).where(batch == "", good["po"].astype(str) + " / " + batch)
    po_rows = pd.DataFrame({
        "supply_center": good["supply_center"].astype(str), "sku": good["sku"].astype(str),
        "source_type": "po", "source": name, "quantity": good["quantity"].astype(float),
        "arrival_date": good["arrival_date"],
        "day": np.maximum(_days(good["arrival_date"], plan_date), 0),
        "row": good["_row"].astype(int)})
    frames = [f for f in (inv_rows, po_rows) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=SOURCE_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["day"] = out["day"].astype(int)
    return out[SOURCE_COLUMNS]


def check_unsupplied_skus(lines: pd.DataFrame, sources: pd.DataFrame, orders: pd.DataFrame,
                          problems: Problems) -> None:
    """Warn once per (supply center, SKU) ordered with neither inventory nor a PO."""
    if lines.empty:
        return
    supplied = set(zip(sources["supply_center"], sources["sku"]))
    positions = orders.attrs.get("positions", {})
    for (center, sku), group in lines.groupby(["supply_center", "sku"], sort=True):
        if (center, sku) in supplied:
            continue
        rows = group["row"].tolist()
        shown = ", ".join(map(str, rows[:5])) + (" …" if len(rows) > 5 else "")
        cell = _cell(positions.get("sku"), rows[0])
        problems.warning(
            "Orders", cell,
            f"SKU {sku} in supply center {center} has no inventory and no PO: its "
            f"{len(rows)} line(s) (rows {shown}) cannot be delivered and are charged as never "
            "delivered. Add its stock to 'Inventory' or its POs to 'POs'.")


# ---------------------------------------------------------------------------
# Region capacity


def _capacity(capacity: pd.DataFrame, lines: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    columns = ["sku", "region", "capacity"]
    if capacity.empty:
        return pd.DataFrame(columns=columns)
    regions = sorted(set(lines["region"]))
    skus = set(lines["sku"])
    pairs = set(zip(lines["sku"], lines["region"]))
    keep = []
    positions = capacity.attrs.get("positions", {})
    for i, (sku, region, cap, row) in enumerate(zip(capacity["sku"], capacity["region"],
                                                    capacity["capacity"], capacity["_row"])):
        if region is not None and region not in regions:
            shown = ", ".join(regions[:20]) + (" …" if len(regions) > 20 else "")
            problems.error(
                "RegionCapacity", _cell(positions.get("region"), row),
                f"Unknown region {region!r}: no line in 'Orders' ships there (regions in "
                f"Orders: {shown or 'none'}). Fix the spelling or delete row {row}.")
            continue
        if sku is not None and sku not in skus:
            problems.warning(
                "RegionCapacity", _cell(positions.get("sku"), row),
                f"SKU {sku!r} is not ordered in 'Orders'; the limit on row {row} is not "
                "needed and is ignored.")
            continue
        if sku is None or region is None or cap is None:
            continue
        if cap == 0 and (sku, region) in pairs:
            problems.warning(
                "RegionCapacity", _cell(positions.get("capacity"), row),
                f"Capacity 0 for SKU {sku} in region {region}: none of its lines there can be "
                "delivered. Delete the row for no limit.")
        keep.append(i)
    out = capacity.iloc[keep][columns].copy()
    out["capacity"] = out["capacity"].astype(float)
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------
# Helpers


def _days(dates: pd.Series, origin: dt.date) -> np.ndarray:
    return np.array([(d - origin).days for d in dates], dtype=np.int64)


def _earliest_date(orders: pd.DataFrame, pos: pd.DataFrame) -> dt.date | None:
    dates = [d for d in [*orders.get("rpd", []), *pos.get("arrival_date", [])] if d is not None]
    return min(dates) if dates else None


def _latest_date(orders: pd.DataFrame, pos: pd.DataFrame) -> dt.date | None:
    dates = [d for d in [*orders.get("rpd", []), *orders.get("epd", []),
                         *pos.get("arrival_date", [])] if d is not None]
    return max(dates) if dates else None


def _cell(pos: int | None, row: int) -> str:
    return str(row) if pos is None else cell_ref(pos, row)


def _setting_cell(raw: pd.DataFrame | None, name: str) -> str:
    """A1 cell of a setting's value in the raw Settings sheet (column B when not found)."""
    if raw is None or raw.empty:
        return "B"
    keys = [normalise_header(h) for h in raw.columns]
    if "setting" not in keys or "value" not in keys:
        return "B"
    s, v = keys.index("setting"), keys.index("value")
    for row, values in zip(raw.index, raw.itertuples(index=False)):
        if normalise_header(values[s]) == name:
            return _cell(v, row)
    return "B"
