"""Production–distribution workbook → validated, typed instance.

Every check reports through ``problems`` with the sheet, the A1 cell and how to fix
it; nothing stops at the first problem. The instance keeps the data as given (pallets,
days 1..T); the scenario factors of the settings are applied when the model is built,
so one instance serves every scenario.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..tables import Problems, Settings, check_references, odd_ones, parse_table, ref
from .schema import (
    BOM,
    CATEGORIES,
    DEMAND,
    LANES,
    LOCATIONS,
    PRODUCTION_PLAN,
    PRODUCTS,
    SCENARIOS,
    START_INVENTORY,
    STORAGE,
    SUPPLY,
)


@dataclass
class Instance:
    """Typed data of one production–distribution workbook.

    Frames keep the workbook's column names; ``day`` columns hold day numbers 1..n_days.
    ``demand`` is the total demand in pallets: the Demand sheet plus the BOM explosion
    of ProductionPlan (before ``demand_factor``).
    """

    settings: Settings
    categories: pd.DataFrame
    products: pd.DataFrame
    locations: pd.DataFrame
    storage: pd.DataFrame
    lanes: pd.DataFrame
    start: pd.DataFrame
    supply: pd.DataFrame
    demand: pd.DataFrame
    n_days: int
    first_date: dt.date | None = None
    scenarios: pd.DataFrame = field(default_factory=pd.DataFrame)

    def with_settings(self, **changes) -> "Instance":
        """Same data, other settings (used for scenarios)."""
        return dataclasses.replace(self, settings=self.settings.replace(**changes))

    def day_label(self, day: int):
        """What to show for a day in result sheets: the date when the input used dates."""
        if self.first_date is None:
            return int(day)
        return self.first_date + dt.timedelta(days=int(day) - 1)


def load(raw: dict[str, pd.DataFrame], settings: Settings,
         problems: Problems) -> Instance | None:
    """Typed instance, or None when ``problems`` has errors (every problem is reported).

    Parameters
    ----------
    raw : dict of str to DataFrame
        The input sheets as read (header row + values).
    settings : Settings
        The workbook's settings.
    problems : Problems
        Where every problem is reported with its sheet and cell.

    Returns
    -------
    Instance or None
    """
    t = {s.name: parse_table(raw.get(s.name), s, problems)
         for s in (CATEGORIES, PRODUCTS, LOCATIONS, STORAGE, LANES, START_INVENTORY, SUPPLY,
                   DEMAND, PRODUCTION_PLAN, BOM, SCENARIOS)}
    cats, prods, locs = t["Categories"], t["Products"], t["Locations"]
    cat_set = set(cats["category"].dropna())
    prod_set = set(prods["product"].dropna())
    loc_type = dict(zip(locs["location"], locs["type"]))
    suppliers = {k for k, v in loc_type.items() if v == "supplier"}
    stores = {k for k, v in loc_type.items() if v in ("warehouse", "plant")}
    plants = {k for k, v in loc_type.items() if v == "plant"}

    check_references(prods, "Products", "category", cat_set, "Categories", problems)
    _check_location_kinds(locs, problems)
    st = t["Storage"]
    check_references(st, "Storage", "category", cat_set, "Categories", problems)
    _check_kind(st, "Storage", "location", loc_type, stores, "a warehouse or plant", problems)
    lanes = t["Lanes"]
    _check_kind(lanes, "Lanes", "from", loc_type, set(loc_type), "a location", problems)
    _check_kind(lanes, "Lanes", "to", loc_type, stores, "a warehouse or plant (suppliers "
                "receive nothing)", problems)
    for i in range(len(lanes)):
        if lanes["from"].iat[i] is not None and lanes["from"].iat[i] == lanes["to"].iat[i]:
            problems.error("Lanes", ref(lanes, "to", i),
                           f"Lane from {lanes['from'].iat[i]!r} to itself; delete the row.")
    si = t["StartInventory"]
    _check_kind(si, "StartInventory", "location", loc_type, stores, "a warehouse or plant",
                problems)
    check_references(si, "StartInventory", "product", prod_set, "Products", problems)
    sup = t["Supply"]
    _check_kind(sup, "Supply", "supplier", loc_type, suppliers, "a supplier", problems)
    check_references(sup, "Supply", "product", prod_set, "Products", problems)
    dem = t["Demand"]
    _check_kind(dem, "Demand", "plant", loc_type, plants, "a plant", problems)
    check_references(dem, "Demand", "product", prod_set, "Products", problems)
    plan, bom = t["ProductionPlan"], t["BOM"]
    _check_kind(plan, "ProductionPlan", "plant", loc_type, plants, "a plant", problems)

    for sheet, table in (("Categories", cats), ("Products", prods), ("Locations", locs),
                         ("Lanes", lanes)):
        if table.attrs.get("present") and table.empty:
            problems.error(sheet, "A2", f"Sheet '{sheet}' has no rows; fill it in (hover the "
                           "headers for what each column means).")
    if all(t[name].empty for name in ("Supply", "Demand", "ProductionPlan", "StartInventory")):
        problems.error("Supply", "A2", "Nothing to plan: Supply, Demand, ProductionPlan and "
                       "StartInventory are all empty. Add the deliveries and the demand.")

    day_tables = [("Supply", sup), ("Demand", dem), ("ProductionPlan", plan)]
    first_date = _resolve_days(day_tables, problems)
    n_days = _horizon(day_tables, settings, problems)

    bom_demand = _explode_bom(plan, bom, prods, prod_set, problems)
    demand = pd.concat([dem[["plant", "product", "day", "pallets"]].dropna(), bom_demand],
                       ignore_index=True).astype({"pallets": float})
    if problems.has_errors():
        return None  # the instance is only built from clean tables
    demand = demand.groupby(["plant", "product", "day"], as_index=False, sort=True)[
        "pallets"].sum()

    inst = Instance(
        settings=settings,
        categories=_typed(cats, ["category", "truck_capacity"], {"truck_capacity": float}),
        products=_typed(prods, ["product", "category", "units_per_pallet"],
                        {"units_per_pallet": float}, required=["product", "category"]),
        locations=_typed(locs, ["location", "type", "max_inbound_trucks"],
                         {"max_inbound_trucks": float}, required=["location", "type"]),
        storage=_typed(st, ["location", "category", "capacity", "cost_per_pallet_day"],
                       {"capacity": float, "cost_per_pallet_day": float}),
        lanes=_typed(lanes, ["from", "to", "truck_cost", "pallet_cost", "max_trucks"],
                     {"truck_cost": float, "pallet_cost": float, "max_trucks": float},
                     required=["from", "to", "truck_cost"]),
        start=_typed(si, ["location", "product", "pallets"], {"pallets": float}),
        supply=_typed(sup, ["supplier", "product", "day", "pallets"],
                      {"day": int, "pallets": float}),
        demand=_typed(demand, ["plant", "product", "day", "pallets"],
                      {"day": int, "pallets": float}),
        n_days=n_days,
        first_date=first_date,
        scenarios=t["Scenarios"],
    )
    _check_storable(inst, sup, problems)
    _check_start_inventory(inst, si, problems)
    _check_integer_supply(inst, sup, problems)
    return inst


def _typed(table: pd.DataFrame, columns: list[str], types: dict[str, type],
           required: list[str] | None = None) -> pd.DataFrame:
    """Only the complete records, numeric columns as numbers (blank optional → NaN)."""
    out = table[columns].dropna(subset=required or columns).reset_index(drop=True)
    for col, typ in types.items():
        out[col] = pd.to_numeric(out[col]).astype(typ) if len(out) else out[col].astype(typ)
    return out


def _check_location_kinds(locs: pd.DataFrame, problems: Problems) -> None:
    for i in range(len(locs)):
        n = locs["max_inbound_trucks"].iat[i]
        if not pd.isna(n) and locs["type"].iat[i] not in (None, "plant"):
            problems.warning("Locations", ref(locs, "max_inbound_trucks", i),
                             "max_inbound_trucks applies to plants only; ignored for "
                             f"{locs['type'].iat[i]} {locs['location'].iat[i]!r}.")


def _check_kind(table, sheet, column, loc_type, allowed, what, problems) -> None:
    for i, v in enumerate(table[column].tolist()):
        if v is None or (v in loc_type and (v in allowed or loc_type[v] is None)):
            continue  # fine, or a bad type already told at Locations
        if v not in loc_type:
            problems.error(sheet, ref(table, column, i),
                           f"Unknown location {v!r}. Add it to sheet 'Locations' or fix '{sheet}' "
                           f"row {table['_row'].iat[i]}.")
        else:
            problems.error(sheet, ref(table, column, i),
                           f"{v!r} is a {loc_type[v]}; '{column}' must be {what}.")


def _resolve_days(day_tables, problems: Problems) -> dt.date | None:
    """Turn dates into day numbers (day 1 = earliest date), in place."""
    kinds = set()
    dates = []
    for _, tab in day_tables:
        for v in tab["day"].dropna():
            kinds.add("date" if isinstance(v, dt.date) else "number")
            if isinstance(v, dt.date):
                dates.append(v)
    if kinds == {"date", "number"}:
        # Flag the odd ones out (one date among day numbers, or the reverse), not the rest.
        kind_of = lambda v: "date" if isinstance(v, dt.date) else "number"  # noqa: E731
        cells = [(sheet, tab, i, v) for sheet, tab in day_tables
                 for i, v in enumerate(tab["day"])]
        odd = odd_ones([v for *_, v in cells], kind_of)
        for (sheet, tab, i, v), flag in zip(cells, odd):
            if flag:
                other = "day numbers" if kind_of(v) == "date" else "dates"
                problems.error(sheet, ref(tab, "day", i),
                               f"Day {v!r} is a {kind_of(v)} but the other days are {other}; "
                               "use dates everywhere or day numbers everywhere.")
        return None
    if kinds != {"date"}:
        return None
    first = min(dates)
    for _, tab in day_tables:
        tab["day"] = [None if v is None else (v - first).days + 1 for v in tab["day"]]
    return first


def _horizon(day_tables, settings, problems: Problems) -> int:
    days = [int(v) for _, tab in day_tables for v in tab["day"].dropna()
            if not isinstance(v, dt.date)]
    last = max(days) if days else 1
    horizon = settings.horizon_days
    n_days = int(horizon) if horizon else last
    for sheet, tab in day_tables:
        for i, v in enumerate(tab["day"]):
            if v is None or isinstance(v, dt.date):  # mixed kinds: reported already
                continue
            if int(v) < 1 or int(v) > n_days:
                problems.error(sheet, ref(tab, "day", i),
                               f"Day {v} is outside the horizon 1..{n_days}"
                               + (" (Settings horizon_days)" if horizon else "")
                               + "; fix the day or the horizon.")
    return n_days


def _explode_bom(plan: pd.DataFrame, bom: pd.DataFrame, prods: pd.DataFrame, prod_set,
                 problems: Problems) -> pd.DataFrame:
    """Demand in pallets from ProductionPlan × BOM (multi-level: bulk goods explode further)."""
    empty = pd.DataFrame(columns=["plant", "product", "day", "pallets"])
    if plan.empty:
        return empty
    children: dict[str, list[tuple[str, float]]] = {}
    for fg, comp, q in zip(bom["finished_good"], bom["component"], bom["quantity_per"]):
        if fg is not None and comp is not None and q is not None:
            children.setdefault(fg, []).append((comp, float(q)))
    for i in range(len(bom)):
        comp = bom["component"].iat[i]
        if comp is not None and comp not in prod_set and comp not in children:
            problems.error("BOM", ref(bom, "component", i),
                           f"Unknown component {comp!r}: add it to sheet 'Products' (or as a "
                           "finished_good of BOM if it is made in-house).")
    # Flatten each finished good to units of purchased components per unit produced.
    flat: dict[str, dict[str, float]] = {}
    cycle_reported = set()

    def flatten(fg: str, path: tuple[str, ...]) -> dict[str, float]:
        if fg in flat:
            return flat[fg]
        out: dict[str, float] = {}
        for comp, q in children.get(fg, []):
            if comp in path or comp == fg:
                if fg not in cycle_reported:
                    cycle_reported.add(fg)
                    rows = bom.index[(bom["finished_good"] == fg) & (bom["component"] == comp)]
                    i = int(rows[0]) if len(rows) else 0
                    problems.error("BOM", ref(bom, "component", i),
                                   "BOM cycle: " + " -> ".join(path + (fg, comp))
                                   + ". A good cannot contain itself; fix the BOM.")
                continue
            if comp in children:
                for c2, q2 in flatten(comp, path + (fg,)).items():
                    out[c2] = out.get(c2, 0.0) + q * q2
            elif comp in prod_set:
                out[comp] = out.get(comp, 0.0) + q
        flat[fg] = out
        return out

    for fg in children:
        flatten(fg, ())
    upp = dict(zip(prods["product"], prods["units_per_pallet"]))
    prod_row = {p: i for i, p in enumerate(prods["product"])}
    records = []
    missing_upp = set()
    for i in range(len(plan)):
        plant, fg, day, qty = (plan[c].iat[i] for c in ("plant", "finished_good", "day",
                                                          "quantity"))
        if fg is None:
            continue
        if fg not in children:
            problems.error("ProductionPlan", ref(plan, "finished_good", i),
                           f"Unknown finished good {fg!r}: add its components to sheet 'BOM'.")
            continue
        if plant is None or day is None or qty is None:
            continue
        for comp, units in flat[fg].items():
            per_pallet = upp.get(comp)
            if per_pallet is None or (isinstance(per_pallet, float) and np.isnan(per_pallet)):
                missing_upp.add(comp)
                continue
            records.append((plant, comp, int(day), qty * units / per_pallet))
    for comp in sorted(missing_upp):
        i = prod_row[comp]
        problems.error("Products", ref(prods, "units_per_pallet", i),
                       f"Product {comp!r} gets demand from the BOM but has no units_per_pallet; "
                       "fill it in.")
    if not records:
        return empty
    return pd.DataFrame(records, columns=["plant", "product", "day", "pallets"])


def _check_storable(inst: Instance, sup: pd.DataFrame, problems: Problems) -> None:
    """Each supplied product must have somewhere to go: a lane to a location that stores
    its category (or a plant that consumes it)."""
    cat_of = dict(zip(inst.products["product"], inst.products["category"]))
    cap = {(loc, c): v for loc, c, v in zip(inst.storage["location"], inst.storage["category"],
                                        inst.storage["capacity"])}
    demanded = set(zip(inst.demand["plant"], inst.demand["product"]))
    dests: dict[str, list[str]] = {}
    for a, b in zip(inst.lanes["from"], inst.lanes["to"]):
        dests.setdefault(a, []).append(b)
    storable: dict[tuple[str, str], bool] = {}  # (supplier, product): somewhere to go
    rows = zip(sup["supplier"].tolist(), sup["product"].tolist(), sup["pallets"].tolist())
    for i, (s, p, q) in enumerate(rows):
        if s is None or p is None or q in (None, 0):
            continue
        c = cat_of.get(p)
        if (s, p) not in storable:
            storable[s, p] = any(cap.get((b, c), 0) > 0 or (b, p) in demanded
                                 for b in dests.get(s, []))
        if not storable[s, p]:
            where = ", ".join(dests.get(s, [])) or "nowhere (no lane from this supplier)"
            problems.error("Supply", ref(sup, "product", i),
                           f"Product {p!r} (category {c}) from {s!r} cannot be stored anywhere "
                           f"it can go ({where}). Add Storage for category {c} at one of them, "
                           "or a Lane to a location that stores it.")


def _check_start_inventory(inst: Instance, si: pd.DataFrame, problems: Problems) -> None:
    cat_of = dict(zip(inst.products["product"], inst.products["category"]))
    cap = {(loc, c): v for loc, c, v in zip(inst.storage["location"], inst.storage["category"],
                                        inst.storage["capacity"])}
    for i in range(len(si)):
        loc, p, q = si["location"].iat[i], si["product"].iat[i], si["pallets"].iat[i]
        if loc is None or p is None or not q:
            continue
        if cap.get((loc, cat_of.get(p)), 0) <= 0:
            problems.warning("StartInventory", ref(si, "location", i),
                             f"{loc!r} has no Storage for category {cat_of.get(p)} but holds "
                             f"{q:g} pallets of {p!r}; they must leave on day 1.")


def _check_integer_supply(inst: Instance, sup: pd.DataFrame, problems: Problems) -> None:
    if not inst.settings.integer_pallets:
        return
    for i, q in enumerate(sup["pallets"].tolist()):
        if q is not None and q == q and abs(q - round(q)) > 1e-9:
            problems.warning("Supply", ref(sup, "pallets", i),
                             f"{q:g} pallets is not a whole number; with integer_pallets it is "
                             f"rounded to {round(q)}.")
