"""Raw sheets -> validated, typed MPS instance (weeks, demand, targets, capacity).

Every problem is reported with its sheet and A1 cell and how to fix it; nothing is
solved while there are errors. Weeks are plan weeks ``t = 0..T-1`` counted from
``start_week``. Input columns keep their workbook names in ``Instance.skus``
(docs/master_production.md, "From input column to result").

Capacity (docs/master_production.md, "Notation"): a factory's weekly capacity for part number
``pn`` is ``C[f,pn,t] = Σ_lines UPH × hours × shifts × lines × days[f,t]``. The
normalised capacity is ``C[f,t] = max_pn C[f,pn,t]`` and one unit of ``pn`` uses
``o[f,pn] = C[f,t] / C[f,pn,t]`` of it; the production days cancel, so ``o`` does
not depend on the week.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..tables import Problems, Settings, cell_ref, normalise_header, parse_table, ref
from .schema import (
    CALENDAR,
    CAPACITY,
    FORECAST,
    INVENTORY,
    OPEN_POS,
    PREBUILD,
    PRODUCTION_DAYS,
    SKUS,
)


@dataclass
class Instance:
    """Everything the model needs, as arrays over SKUs ``p``, factories ``f`` and weeks ``t``.

    A SKU here is a (supply center, SKU code) pair, a factory a (supply center,
    factory) pair: each supply center is planned on its own.
    """

    settings: Settings
    weeks: list[str]  # plan week codes, t = 0..T-1
    skus: pd.DataFrame  # SKUs sheet columns (lead_time_weeks, holding_cost, ...), stop_t
    demand: np.ndarray  # D[p,t]
    target: np.ndarray  # R[p,t]
    inventory: np.ndarray  # initial stock I[p,-1]
    po_arrivals: np.ndarray  # I~[p,t]: open POs arriving in week t
    factories: pd.DataFrame  # supply_center, factory
    capacity: np.ndarray  # C[f,t], normalised units
    used_by_open_pos: np.ndarray  # capacity of f used in week t by open POs
    links: pd.DataFrame  # f, p, use (o[f,p]): which factory can make which SKU
    link_capacity: np.ndarray  # C[f,p,t] in units of p, per link
    notes: list[tuple[int, int | None, str, str]] = field(default_factory=list)  # Out Warnings
    chart_skus: list[int] = field(default_factory=list)

    @property
    def n_weeks(self) -> int:
        return len(self.weeks)

    @property
    def remaining_capacity(self) -> np.ndarray:
        """C[f,t] minus what open POs use, floored at 0 (the capacity rows' right-hand side)."""
        return np.maximum(self.capacity - self.used_by_open_pos, 0.0)


def _setting_cell(raw: pd.DataFrame | None, name: str) -> str:
    """A1 cell of a setting's value in the Settings sheet (column B of its row)."""
    if raw is None or raw.empty:
        return "B"
    keys = [normalise_header(h) for h in raw.columns]
    s = keys.index("setting") if "setting" in keys else 0
    v = keys.index("value") if "value" in keys else 1
    for row, value in zip(raw.index, raw.iloc[:, s].tolist()):
        if normalise_header(value) == name:
            return cell_ref(v, row)
    return "B"


def _lists(table: pd.DataFrame) -> dict[str, list]:
    """Columns as plain lists: per-cell DataFrame access copies ``attrs`` every time."""
    return {c: table[c].tolist() for c in table.columns}


def _week_span(weeks: list[str]) -> str:
    return weeks[0] if len(weeks) == 1 else f"{weeks[0]}–{weeks[-1]}"


class _Calendar:
    def __init__(self, table: pd.DataFrame):
        ok = table.dropna(subset=["week", "start_date"])
        self.weeks: list[str] = ok["week"].tolist()
        self.dates = pd.to_datetime(pd.Series(ok["start_date"].tolist())).to_numpy()
        self.index = {w: i for i, w in enumerate(self.weeks)}

    def week_of_date(self, d) -> int:
        """Calendar index of the week a date falls in; -1 before, len after the calendar."""
        if not len(self.weeks):
            return -1
        x = np.datetime64(pd.Timestamp(d))
        i = int(np.searchsorted(self.dates, x, side="right")) - 1
        if i == len(self.weeks) - 1 and x >= self.dates[-1] + np.timedelta64(7, "D"):
            return len(self.weeks)
        return i


def load(raw: dict[str, pd.DataFrame], settings: Settings, problems: Problems
         ) -> Instance | None:
    """Validate the raw sheets and build the :class:`Instance` (None when there are errors)."""
    t = {s.name: parse_table(raw.get(s.name), s, problems)
         for s in (CALENDAR, SKUS, CAPACITY, PRODUCTION_DAYS, INVENTORY, OPEN_POS, FORECAST,
                   PREBUILD)}
    cal = _check_calendar(t["Calendar"], problems)
    start, weeks = _plan_weeks(cal, settings, raw.get("Settings"), problems)
    skus = _check_skus(t["SKUs"], cal, start, len(weeks), settings.target_shortfall_cost,
                      problems)
    sku_index = {(r.supply_center, r.sku): i for i, r in enumerate(skus.itertuples())}
    for name in ("Forecast", "ProductionDays", "PreBuild"):
        _map_week_columns(t[name], name, cal, problems)
    demand = _wide_matrix(t["Forecast"], "Forecast", sku_index, start, len(weeks), problems)
    _check_forecast_coverage(t["Forecast"], skus, t["SKUs"], sku_index, weeks, start, problems)
    prebuild = _prebuild(t["PreBuild"], skus, sku_index, start, len(weeks), problems)
    inventory = _inventory(t["Inventory"], sku_index, problems)
    factories, links, rates = _capacity_links(t["Capacity"], skus, problems)
    days = _production_days(t["ProductionDays"], factories, t["Capacity"], start, weeks, problems)
    if problems.has_errors() or start is None:
        return None

    T, P = len(weeks), len(skus)
    # C[f,t] = max_pn rate[f,pn] × days[f,t]; rate per link in units/day.
    max_rate = np.zeros(len(factories))
    if len(links):
        np.maximum.at(max_rate, links["f"].to_numpy(), rates)
    capacity = max_rate[:, None] * days
    link_capacity = rates[:, None] * days[links["f"].to_numpy()] if len(links) else np.zeros((0, T))
    links = links.assign(use=max_rate[links["f"].to_numpy()] / rates if len(links) else [])

    po_arrivals, used_by_pos, notes = _open_pos(t["OpenPOs"], cal, start, T, skus, sku_index,
                                                factories, links, capacity, problems)
    if problems.has_errors():
        return None
    target = targets(demand, skus["safety_stock_weeks"].to_numpy(dtype=float), prebuild)
    inst = Instance(settings=settings, weeks=weeks, skus=skus, demand=demand,
                    target=target, inventory=inventory, po_arrivals=po_arrivals,
                    factories=factories, capacity=capacity, used_by_open_pos=used_by_pos,
                    links=links, link_capacity=link_capacity, notes=notes)
    _sku_notes(inst, t["SKUs"], problems)
    inst.chart_skus = _chart_skus(settings.chart_skus, skus, raw.get("Settings"), problems)
    assert P == inst.demand.shape[0]
    return inst


def targets(demand: np.ndarray, safety_weeks: np.ndarray, prebuild: np.ndarray) -> np.ndarray:
    """Target stock ``R[p,t] = Σ_{t'=t}^{min(t+S_p, T-1)} D[p,t'] + PreBuild[p,t]``.

    docs/master_production.md, "Notation" (target stock, pre-builds). A fractional
    ``S_p`` adds that fraction of the next week's demand.
    """
    P, T = demand.shape
    cum = np.concatenate([np.zeros((P, 1)), np.cumsum(demand, axis=1)], axis=1)
    whole = np.floor(safety_weeks).astype(int)
    frac = safety_weeks - whole
    tt = np.arange(T)[None, :]
    end = np.minimum(tt + whole[:, None], T - 1)  # last week fully counted
    rows = np.arange(P)[:, None]
    r = cum[rows, end + 1] - cum[rows, tt]
    nxt = tt + whole[:, None] + 1
    has_next = nxt <= T - 1
    r += np.where(has_next, frac[:, None] * demand[rows, np.minimum(nxt, T - 1)], 0.0)
    return r + prebuild


# ---------------------------------------------------------------------------
# checks


def _check_calendar(table: pd.DataFrame, problems: Problems) -> _Calendar:
    ok = table.dropna(subset=["week", "start_date"])
    prev = None
    tc = _lists(table)
    for i in range(len(table)):
        d = tc["start_date"][i]
        if d is None or (isinstance(d, float) and math.isnan(d)):
            continue
        if prev is not None and d <= prev:
            problems.error("Calendar", ref(table, "start_date", i),
                           f"start_date {d} is not after the previous week's {prev}: list the "
                           "weeks in increasing date order.")
        prev = d
    if table.attrs.get("present") and ok.empty:
        problems.error("Calendar", "A2", "Calendar has no weeks: add one row per week "
                       "(week code, start date).")
    return _Calendar(table)


def _plan_weeks(cal: _Calendar, settings, raw_settings, problems) -> tuple[int | None, list[str]]:
    horizon = int(settings.horizon_weeks)
    if not cal.weeks:
        return None, []
    code = settings.start_week or cal.weeks[0]
    cell = _setting_cell(raw_settings, "start_week")
    if code not in cal.index:
        problems.error("Settings", cell,
                       f"start_week {code} is not in the Calendar sheet "
                       f"({_week_span([cal.weeks[0], cal.weeks[-1]])}). Add it to Calendar "
                       "or pick a listed week.")
        return None, []
    start = cal.index[code]
    left = len(cal.weeks) - start
    if left < horizon:
        problems.error("Settings", cell,
                       f"start_week {code} is too close to the end of the Calendar: only "
                       f"{left} week(s) from it, but horizon_weeks is {horizon}. Add weeks "
                       "to Calendar, pick an earlier start_week or lower horizon_weeks.")
        return None, []
    return start, cal.weeks[start:start + horizon]


def _check_skus(table, cal: _Calendar, start, T, default_shortfall_cost: float, problems
                ) -> pd.DataFrame:
    """The SKUs table under the workbook's column names, blanks filled with their defaults.

    Two derived columns: ``stop_t``, the plan week of ``stop_week`` (T - 1 when blank), and
    ``table_i``, the row in the parsed sheet (for cell references).
    """
    rows = []
    tc = _lists(table)
    for i in range(len(table)):
        r = {c: tc[c][i] for c in tc}
        if r["sku"] is None or r["supply_center"] is None:
            continue
        lead, transport = r["lead_time_weeks"], r["transport_weeks"]
        if transport is None:
            transport = 1
        if lead is not None and lead < transport + 1:
            problems.error("SKUs", ref(table, "lead_time_weeks", i),
                           f"lead_time_weeks {lead} of SKU {r['sku']} is less than "
                           f"transport_weeks + 1 = {transport + 1}: production needs at least "
                           "one week before transport. Raise lead_time_weeks or lower "
                           "transport_weeks.")
        stop = None
        if r["stop_week"] is not None:
            if r["stop_week"] not in cal.index:
                problems.error("SKUs", ref(table, "stop_week", i),
                               f"stop_week {r['stop_week']} of SKU {r['sku']} is not in the "
                               "Calendar sheet. Use a listed week code or leave it blank.")
            elif start is not None:
                stop = cal.index[r["stop_week"]] - start
        rows.append({
            "supply_center": r["supply_center"], "sku": r["sku"],
            "pn": r["pn"] if r["pn"] is not None else r["sku"],
            "lead_time_weeks": int(lead or 0), "transport_weeks": int(transport),
            "moq": float(math.ceil(r["moq"] - 1e-9)) if r["moq"] else 0.0,
            "stop_t": T - 1 if stop is None else min(stop, T - 1),
            "stop_week": r["stop_week"],
            "holding_cost": float(r["holding_cost"] or 0.0),
            "lost_sales_cost": float(r["lost_sales_cost"] or 0.0),
            "target_shortfall_cost": float(r["target_shortfall_cost"])
            if r["target_shortfall_cost"] is not None else float(default_shortfall_cost),
            "safety_stock_weeks": float(r["safety_stock_weeks"] or 0.0),
            "table_i": i,
        })
    skus = pd.DataFrame(rows, columns=["supply_center", "sku", "pn", "lead_time_weeks",
                                       "transport_weeks", "moq", "stop_t", "stop_week",
                                       "holding_cost", "lost_sales_cost",
                                       "target_shortfall_cost", "safety_stock_weeks", "table_i"])
    skus = skus.drop_duplicates(subset=["supply_center", "sku"], keep="first").reset_index(
        drop=True)
    return skus


def _map_week_columns(long: pd.DataFrame, sheet: str, cal: _Calendar, problems) -> None:
    """Replace week headers by calendar indexes (column ``cal``); unknown weeks are errors."""
    if "week" not in long.columns or long.empty:
        long["cal"] = pd.Series(dtype=float)
        return
    index = np.full(len(long), -1)
    for (week, col), pos in long.groupby(["week", "_col"], sort=False).indices.items():
        if isinstance(week, str):
            k = cal.index.get(week, -1)
        else:  # a date header: the week it falls in
            k = cal.week_of_date(week)
            k = k if 0 <= k < len(cal.weeks) else -1
        if k < 0:
            problems.error(sheet, cell_ref(int(col), 1),
                           f"Week column {week} is not in the Calendar sheet. Add the week to "
                           "Calendar or delete the column.")
        index[pos] = k
    long["cal"] = index


def _wide_matrix(long, sheet, sku_index, start, T, problems) -> np.ndarray:
    """(P, T) matrix of a week-column sheet keyed by (supply_center, sku)."""
    out = np.zeros((len(sku_index), T))
    if long.empty or start is None:
        return out
    ids = long.drop_duplicates("_row")
    ic = _lists(ids)
    for i in range(len(ids)):
        key = (ic["supply_center"][i], ic["sku"][i])
        if None in key or key in sku_index:
            continue
        problems.error(sheet, ref(ids, "sku", i),
                       f"SKU {key[1]} of supply center {key[0]} is in {sheet} but not in SKUs. "
                       f"Add it to SKUs or remove {sheet} row {ic['_row'][i]}.")
    p = np.array([sku_index.get((a, b), -1) for a, b in zip(long["supply_center"], long["sku"])])
    t = long["cal"].to_numpy() - start
    v = pd.to_numeric(long["wide_value"], errors="coerce").fillna(0.0).to_numpy()
    keep = (p >= 0) & (t >= 0) & (t < T)
    np.add.at(out, (p[keep], t[keep]), v[keep])
    return out


def _check_forecast_coverage(long, skus, table, sku_index, weeks, start, problems) -> None:
    if start is None or not long.attrs.get("present", False):
        return
    have = set(long["cal"].tolist()) if "cal" in long else set()
    missing = [w for k, w in enumerate(weeks) if start + k not in have]
    if missing and not long.empty:
        problems.warning("Forecast", "1",
                         f"Forecast has no column for plan week(s) {', '.join(missing[:6])}"
                         f"{'…' if len(missing) > 6 else ''}: demand is taken as 0 there.")
    listed = set(zip(long["supply_center"], long["sku"])) if not long.empty else set()
    for r in skus.itertuples():
        if (r.supply_center, r.sku) not in listed:
            problems.warning("SKUs", ref(table, "sku", r.table_i),
                             f"SKU {r.sku} of supply center {r.supply_center} is in SKUs but "
                             "not in Forecast: its demand is taken as 0. Add a Forecast row if "
                             "it has demand.")


def _prebuild(long, skus, sku_index, start, T, problems) -> np.ndarray:
    out = np.zeros((len(skus), T))
    if long.empty or start is None:
        return out
    by_sku: dict[str, list[int]] = {}
    for (_sc, sku), p in sku_index.items():
        by_sku.setdefault(sku, []).append(p)
    ids = long.drop_duplicates("_row")
    targets_of_row: dict[int, list[int]] = {}
    ic = _lists(ids)
    for i in range(len(ids)):
        sc, sku, row = ic["supply_center"][i], ic["sku"][i], ic["_row"][i]
        if sku is None:
            continue
        if sc is None:
            ps = by_sku.get(sku, [])
        else:
            ps = [sku_index[(sc, sku)]] if (sc, sku) in sku_index else []
        if not ps:
            where = f" of supply center {sc}" if sc is not None else ""
            problems.error("PreBuild", ref(ids, "sku", i),
                           f"SKU {sku}{where} is in PreBuild but not in SKUs. Add it to SKUs or "
                           f"remove PreBuild row {row}.")
        targets_of_row[row] = ps
    v = pd.to_numeric(long["wide_value"], errors="coerce").fillna(0.0).to_numpy()
    t = long["cal"].to_numpy() - start
    for row, tt, val in zip(long["_row"].tolist(), t, v):
        if 0 <= tt < T and val:
            for p in targets_of_row.get(row, []):
                out[p, tt] += val
    return out


def _inventory(table, sku_index, problems) -> np.ndarray:
    out = np.zeros(len(sku_index))
    tc = _lists(table)
    for i in range(len(table)):
        key = (tc["supply_center"][i], tc["sku"][i])
        q = tc["quantity"][i]
        if None in key:
            continue
        p = sku_index.get(key)
        if p is None:
            problems.error("Inventory", ref(table, "sku", i),
                           f"SKU {key[1]} of supply center {key[0]} is in Inventory but not in "
                           f"SKUs. Add it to SKUs or remove Inventory row {tc['_row'][i]}.")
            continue
        if q is not None:
            out[p] += q
    return out


def _capacity_links(table, skus, problems):
    """Factories, (factory, SKU) links and each link's rate in units per production day."""
    by_pn: dict[tuple[str, str], list[int]] = {}
    by_sku: dict[tuple[str, str], int] = {}
    for p, r in enumerate(skus.itertuples()):
        by_pn.setdefault((r.supply_center, r.pn), []).append(p)
        by_sku[(r.supply_center, r.sku)] = p
    fac_index: dict[tuple[str, str], int] = {}
    rate: dict[tuple[int, int], float] = {}
    seen: dict[tuple, int] = {}
    tc = _lists(table)
    for i in range(len(table)):
        sc, fac, line = (tc[c][i] for c in ("supply_center", "factory", "line"))
        pn, sku = tc["pn"][i], tc["sku"][i]
        row = tc["_row"][i]
        if sc is None or fac is None:
            continue
        if pn is None and sku is None:
            problems.error("Capacity", ref(table, "pn", i) if "pn" in table.attrs["positions"]
                           else f"A{row}",
                           f"Capacity row {row} names neither a pn nor a sku: fill one of them.")
            continue
        if pn is not None:
            ps = by_pn.get((sc, pn))
            if not ps:
                problems.error("Capacity", ref(table, "pn", i),
                               f"Unknown pn {pn!r} for supply center {sc}: no SKU of that "
                               "supply center has this pn in SKUs. Fix the pn (SKUs.pn, blank = "
                               f"SKU code) or remove Capacity row {row}.")
                continue
        else:
            p = by_sku.get((sc, sku))
            if p is None:
                problems.error("Capacity", ref(table, "sku", i),
                               f"Unknown SKU {sku!r} for supply center {sc}. Add it to SKUs or "
                               f"remove Capacity row {row}.")
                continue
            ps = [p]
        key = (sc, fac, line, pn if pn is not None else "sku:" + sku)
        if key in seen:
            problems.error("Capacity", ref(table, "line", i),
                           f"Line {line} of factory {fac} ({sc}) for {key[3]} repeats row "
                           f"{seen[key]}. Merge the rows (lines_available adds up) or delete one.")
            continue
        seen[key] = row
        vals = [tc[c][i] for c in ("units_per_hour", "hours_per_shift", "shifts_per_day",
                                           "lines_available")]
        if any(v is None for v in vals):
            continue
        f = fac_index.setdefault((sc, fac), len(fac_index))
        per_day = float(np.prod(vals))
        for p in ps:
            rate[(f, p)] = rate.get((f, p), 0.0) + per_day
    factories = pd.DataFrame(list(fac_index), columns=["supply_center", "factory"])
    pairs = [(f, p, r) for (f, p), r in rate.items() if r > 0]
    links = pd.DataFrame([(f, p) for f, p, _ in pairs], columns=["f", "p"], dtype=int)
    return factories, links, np.array([r for _, _, r in pairs], dtype=float)


def _production_days(long, factories, cap_table, start, weeks, problems) -> np.ndarray:
    T = len(weeks)
    days = np.zeros((len(factories), T))
    if start is None:
        return days
    ids = long.drop_duplicates("_row") if not long.empty else long
    row_of: dict[str, int] = {}
    ic = _lists(ids)
    for i in range(len(ids)):
        if ic["factory"][i] is not None:
            row_of.setdefault(ic["factory"][i], ic["_row"][i])
    if not long.empty:
        bad = pd.to_numeric(long["wide_value"], errors="coerce") > 7
        for k in np.flatnonzero(bad.to_numpy()):
            cell = cell_ref(int(long["_col"].iat[k]), long["_row"].iat[k])
            problems.error("ProductionDays", cell,
                           f"{long['wide_value'].iat[k]:g} production days in one week: a week "
                           "has at most 7 days.")
        val = pd.to_numeric(long["wide_value"], errors="coerce").fillna(0.0).to_numpy()
        tt = long["cal"].to_numpy() - start
        by_fac: dict[str, np.ndarray] = {}
        for fac, t, v in zip(long["factory"].tolist(), tt, val):
            if fac is not None and 0 <= t < T:
                by_fac.setdefault(fac, np.zeros(T))[t] += v
    else:
        by_fac = {}
    reported = set()
    for f, (_sc, fac) in enumerate(factories.itertuples(index=False)):
        if fac in by_fac:
            days[f] = np.minimum(by_fac[fac], 7.0)
            if not days[f].any() and fac not in reported:
                reported.add(fac)
                problems.warning("ProductionDays", f"A{row_of[fac]}",
                                 f"Factory {fac} has 0 production days in every plan week: "
                                 "nothing can be ordered from it.")
            continue
        if fac in reported:
            continue
        reported.add(fac)
        i = int(np.flatnonzero(cap_table["factory"].to_numpy() == fac)[0])
        if fac in row_of:  # listed, but no plan-week column: closed in the plan
            problems.warning("ProductionDays", f"A{row_of[fac]}",
                             f"Factory {fac} has no production days in the plan weeks.")
        else:
            problems.error("Capacity", ref(cap_table, "factory", i),
                           f"Factory {fac} has no row in ProductionDays: add a row with its "
                           "production days per week (0 for closed weeks).")
    return days


def _open_pos(table, cal: _Calendar, start, T, skus, sku_index, factories, links, capacity,
              problems):
    """Arrivals I~[p,t] and capacity used by open POs in the week before their transport."""
    P, F = len(skus), len(factories)
    arrivals = np.zeros((P, T))
    used = np.zeros((F, T))
    notes: list[tuple[int, int | None, str, str]] = []
    fac_index = {(a, b): f for f, (a, b) in enumerate(factories.itertuples(index=False))}
    use_of = {(f, p): u for f, p, u in zip(links["f"], links["p"], links["use"])}
    overdue: dict[int, float] = {}
    tc = _lists(table)
    transport = skus["transport_weeks"].to_numpy()
    for i in range(len(table)):
        key = (tc["supply_center"][i], tc["sku"][i])
        q, d = tc["quantity"][i], tc["arrival_date"][i]
        if None in key:
            continue
        p = sku_index.get(key)
        if p is None:
            problems.error("OpenPOs", ref(table, "sku", i),
                           f"SKU {key[1]} of supply center {key[0]} is in OpenPOs but not in "
                           f"SKUs. Add it to SKUs or remove OpenPOs row {tc['_row'][i]}.")
            continue
        factory = tc["factory"][i]
        if factory is not None and (key[0], factory) not in fac_index:
            problems.warning("OpenPOs", ref(table, "factory", i),
                             f"Factory {factory!r} of supply center {key[0]} is not in Capacity: "
                             "the PO's units arrive as planned, but the capacity it takes is not "
                             "counted. Add the factory to Capacity or fix the name.")
        if q is None or d is None or not q:
            continue
        k = cal.week_of_date(d)
        rel = (k - start) if 0 <= k < len(cal.weeks) else (-1 if k < 0 else 10 ** 6)
        if rel < 0:
            overdue[p] = overdue.get(p, 0.0) + q
            arrivals[p, 0] += q  # late: expected now, capacity already spent
            continue
        if rel < T:
            arrivals[p, rel] += q
        c = rel - int(transport[p]) - 1  # production week: before transport
        f = fac_index.get((key[0], tc["factory"][i]))
        if f is not None and 0 <= c < T and (f, p) in use_of and capacity[f, c] > 0:
            used[f, c] += q * use_of[(f, p)]
    for p, q in overdue.items():
        notes.append((p, 0, "overdue_po", (f"{q:g} units of open POs have an arrival date before "
                       "start_week; they are counted as arriving in start_week.")))
    return arrivals, used, notes


def _sku_notes(inst: Instance, table: pd.DataFrame, problems: Problems) -> None:
    """Warnings about SKUs the plan cannot order, or can order only in part."""
    skus, T = inst.skus, inst.n_weeks
    has_factory = np.zeros(len(skus), bool)
    has_factory[inst.links["p"].to_numpy()] = True
    use_moq = inst.settings.use_moq
    # Most units of p any single order could hold: capacity of one factory-week.
    max_units = np.zeros(len(skus))
    if len(inst.links):
        np.maximum.at(max_units, inst.links["p"].to_numpy(),
                      (inst.link_capacity * (inst.remaining_capacity[inst.links["f"]] /
                                             np.maximum(inst.capacity[inst.links["f"]], 1e-12))
                       ).max(axis=1))
    for p, r in enumerate(skus.itertuples()):
        if r.lead_time_weeks >= T:
            msg = (f"Lead time {r.lead_time_weeks} weeks is not shorter than the {T}-week "
                   "horizon: no order placed now arrives within the plan, so the SKU is only "
                   "projected.")
            problems.warning("SKUs", ref(table, "lead_time_weeks", r.table_i), msg)
            inst.notes.append((p, None, "lead_time_too_long", msg))
        elif r.stop_t < 0:
            inst.notes.append((p, None, "discontinued",
                               (f"Discontinued: stop_week {r.stop_week} is before start_week, "
                                "so no orders are placed; stock and open POs serve the demand.")))
        elif not has_factory[p]:
            msg = (f"No factory in Capacity makes pn {r.pn} for supply center {r.supply_center}: "
                   "the SKU cannot be ordered.")
            problems.warning("SKUs", ref(table, "sku", r.table_i), msg)
            inst.notes.append((p, None, "no_factory", msg))
        elif use_moq and r.moq > 0 and r.moq > max_units[p] + 1e-9:
            msg = (f"MOQ {r.moq:g} is above any week's capacity of its factories "
                   f"(at most {max_units[p]:,.0f} units in one factory-week): the SKU cannot be "
                   "ordered. Lower the MOQ or add capacity.")
            problems.warning("SKUs", ref(table, "moq", r.table_i), msg)
            inst.notes.append((p, None, "moq_above_capacity", msg))
        elif r.stop_t < T - 1:
            inst.notes.append((p, r.stop_t, "discontinued",
                               f"Discontinued: no orders after {r.stop_week}."))


def _chart_skus(text, skus, raw_settings, problems) -> list[int]:
    if not text:
        return []
    out = []
    for token in re.split(r"[,;\n]+", str(text)):
        token = token.strip()
        if not token:
            continue
        sc, _, sku = token.rpartition("/")
        hit = [p for p, r in enumerate(skus.itertuples())
               if r.sku == sku and (not sc or r.supply_center == sc)]
        if not hit:
            problems.warning("Settings", _setting_cell(raw_settings, "chart_skus"),
                             f"chart_skus names {token!r}, which is not in SKUs; it is skipped.")
        out.extend(hit)
    return list(dict.fromkeys(out))
