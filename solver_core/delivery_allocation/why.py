"""``Out Why``: why each order line is not on time, with the amounts and a fix.

One row per line that is not complete by its EPD (late, partial or not delivered).
The cause is decided by exact checks on the input and the plan, in this order
(docs/delivery_allocation.md, "Out Why"); T is the day the line had to be complete,
its EPD, or the plan date for a line whose EPD had already passed:

1. *no supply in time* — S(T), the units of its pool (supply center, SKU) on hand or
   arrived by T, is below the line's quantity d_o even if no other line took any;
2. *supply went to other lines* — S(T) ≥ d_o, but with the other lines' deliveries as
   planned at most A(T) = min over t ≥ T of (S(t) − D'(t)) < d_o units were left for
   it, D'(t) being the units the other lines of the pool receive by day t;
3. *region capacity* — supply was left, but the daily limit of its (SKU, region),
   less what the other lines there receive each day, lets at most G(T) < d_o units
   reach it from its first day to T;
4. *EPD before the plan date* — the EPD had passed when the plan starts and the line
   is complete on the plan date, the first day it may be served;
5. *no cost to delay it* — none of the above: the line could be on time with the
   other lines unchanged, and being late costs nothing (both weights 0).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..outputs import OutSheet
from .data import Instance
from .model import ROUND_TOL
from .report import excel_key
from .schema import WHY

NO_SUPPLY = "no supply in time"
OTHER_LINES = "supply went to other lines"
REGION = "region capacity"
OVERDUE = "EPD before the plan date"
NO_COST = "no cost to delay it"
CAUSES = (NO_SUPPLY, OTHER_LINES, REGION, OVERDUE, NO_COST)

#: Sources and competing lines named in one ``detail`` (the rest are counted).
SHOWN = 5


@dataclass
class _Pool:
    """Supply of one pool as cumulative arrays over days 0..H."""

    supply: np.ndarray  # S(t): units on hand or arrived by day t
    delivered: np.ndarray  # D(t): units delivered to all lines of the pool by day t
    sources: pd.DataFrame  # every source of the pool (also after the horizon), by day


def explain(instance: Instance, deliveries: pd.DataFrame,
            status: pd.DataFrame) -> tuple[OutSheet, str | None]:
    """``Out Why`` and the summary sentence ``largest_shortfall`` of a plan.

    Parameters
    ----------
    instance : Instance
        The validated workbook.
    deliveries : pandas.DataFrame
        The plan: ``line`` (index into ``instance.lines``), ``day``, ``quantity``.
    status : pandas.DataFrame
        :func:`report.line_status` of the same plan (one row per line, same order).

    Returns
    -------
    (OutSheet, str or None)
        The sheet (one row per line not on time) and one sentence on the most common
        cause, None when every line is on time.
    """
    H = instance.horizon_days
    late = np.flatnonzero(~status["on_time"].to_numpy(bool))
    columns = WHY.column_names
    if len(late) == 0:
        return WHY.sheet(pd.DataFrame(columns=columns)), None
    line_of = deliveries["line"].to_numpy(np.int64)
    day_of = deliveries["day"].to_numpy(np.int64)
    qty_of = deliveries["quantity"].to_numpy(float)
    pools = _pools(instance, line_of, day_of, qty_of)
    region_use = _region_use(instance, line_of, day_of, qty_of)
    limits = {(s, r): float(c) for s, r, c in zip(instance.capacity["sku"],
                                                  instance.capacity["region"],
                                                  instance.capacity["capacity"])}
    rows, keys = [], []
    for o in late:
        mine = line_of == o
        own = np.zeros(H + 2)
        np.add.at(own, np.minimum(day_of[mine], H + 1), qty_of[mine])
        row, key = _explain_line(instance, o, status.iloc[o], pools, own, line_of, day_of,
                                 qty_of, region_use, limits)
        rows.append(row)
        keys.append(key)
    frame = pd.DataFrame(rows, columns=columns)
    return WHY.sheet(frame), _sentence(keys)


# ---------------------------------------------------------------------------
# Per line


def _explain_line(instance, o, st, pools, own, line_of, day_of, qty_of, region_use, limits):
    lines, H = instance.lines, instance.horizon_days
    ln = lines.iloc[o]
    d_o = float(ln["quantity"])
    epd, first = int(ln["epd_day"]), int(ln["first_day"])
    target = min(max(epd, 0), H)  # T: the last day on which a delivery is on time
    pool = pools[(ln["supply_center"], ln["sku"])]
    by_target = float(own[: target + 1].sum())
    base = {
        "item": f"order {excel_key(ln['order'])} line {excel_key(ln['line'])}: "
                f"{_n(d_o)} × {ln['sku']} to {ln['region']}",
        "shortfall": _shortfall(instance, st, d_o),
        "cost": float(st["penalty"]),
        "order": excel_key(ln["order"]), "line": excel_key(ln["line"]), "sku": ln["sku"],
        "region": ln["region"], "supply_center": ln["supply_center"], "epd": ln["epd"],
        "days_late": int(st["days_late_epd"]),
        "units_late": d_o - float(own[: epd + 1].sum()) if epd >= 0 else d_o,
    }
    when = _date(instance, target)
    prefix = ""
    if epd < 0:
        prefix = (f"The EPD {ln['epd']} was {-epd} days before the plan date "
                  f"{instance.plan_date}; nothing is delivered before the plan date. ")
        if by_target >= d_o - ROUND_TOL * max(1.0, d_o):
            return {**base, "cause": OVERDUE,
                    "detail": prefix + "The line is complete on the plan date, the first "
                    "day it could be.",
                    "what_would_fix_it": "Nothing within the plan: agree a new EPD on or "
                    f"after {instance.plan_date}."}, "their EPD was before the plan date"

    # 1. No supply in time.
    supply, sources = pool.supply, pool.sources
    s_t = float(supply[target])
    if s_t < d_o - ROUND_TOL * max(1.0, d_o):
        return _no_supply(instance, ln, base, prefix, sources, s_t, d_o, target)

    # 2. Supply went to other lines: what is left for o with the others as planned.
    others = pool.delivered - np.cumsum(own[: H + 1])
    left = supply - others  # units o could hold on each day t
    suffix_min = np.minimum.accumulate(left[::-1])[::-1]  # A(t) = min over t' ≥ t
    a_t = float(suffix_min[target])
    if a_t < d_o - ROUND_TOL * max(1.0, d_o):
        binding = target + int(np.argmin(left[target:]))
        return _other_lines(instance, o, ln, base, prefix, s_t, a_t, d_o, target, binding,
                            line_of, day_of, qty_of, region_use, limits, suffix_min, own)

    # 3. Region capacity.
    limit = limits.get((ln["sku"], ln["region"]))
    if limit is not None:
        used = region_use[(ln["sku"], ln["region"])]
        other_use = used[: H + 1] - own[: H + 1]
        reach = _reach(first, target, suffix_min, limit - other_use)
        if reach < d_o - ROUND_TOL * max(1.0, d_o):
            return _region(instance, ln, base, prefix, used, limit, other_use, suffix_min,
                           first, target, reach, d_o)

    # 4./5. Nothing in the data kept it from being on time.
    weights = f"rpd_weight {_n(ln['rpd_weight'])}, epd_weight {_n(ln['epd_weight'])}"
    return {**base, "cause": NO_COST,
            "detail": prefix + f"With the other lines as planned it could be complete by "
            f"{when}, but being late costs nothing ({weights}).",
            "what_would_fix_it": "Raise epd_weight of this line above 0."}, \
        "being late costs them nothing"


def _no_supply(instance, ln, base, prefix, sources, s_t, d_o, target):
    when = _date(instance, target)
    short = d_o - s_t
    early = sources[sources["day"] <= target]
    later = sources[(sources["day"] > target) & (sources["source_type"] == "po")]
    cumulative = s_t + later["quantity"].cumsum()
    serving = later[cumulative >= d_o - ROUND_TOL * max(1.0, d_o)].head(1)
    detail = (prefix + f"By {when} pool {ln['supply_center']}/{ln['sku']} has "
              f"{_n(s_t)} units ({_sources_text(early)}), {_n(short)} fewer than the "
              f"line's {_n(d_o)}, even if no other line took any.")
    if len(serving):
        po = serving.iloc[0]
        detail += (f" The earliest PO that would have served it: {po['source']} "
                   f"({_n(po['quantity'])} units, arriving {po['arrival_date']}).")
    else:
        detail += " No PO of the pool would complete it."
    # The smallest move: the earliest later PO that alone covers the gap.
    enough = later[later["quantity"] >= short - ROUND_TOL * max(1.0, short)].head(1)
    if len(enough):
        po = enough.iloc[0]
        fix = f"PO {po['source']} arriving by {when} instead of {po['arrival_date']}."
        key = f"PO {po['source']} arrives {po['arrival_date']} after their EPD"
    else:
        fix = f"{_n(short)} more units of {ln['sku']} at {ln['supply_center']} by {when}."
        key = f"{ln['sku']} at {ln['supply_center']} has too little supply by their EPD"
    return {**base, "cause": NO_SUPPLY, "detail": detail, "what_would_fix_it": fix}, key


def _other_lines(instance, o, ln, base, prefix, s_t, a_t, d_o, target, binding,
                 line_of, day_of, qty_of, region_use, limits, suffix_min, own):
    lines = instance.lines
    when, until = _date(instance, target), _date(instance, binding)
    pool_lines = np.flatnonzero((lines["supply_center"] == ln["supply_center"]).to_numpy()
                                & (lines["sku"] == ln["sku"]).to_numpy())
    took = (np.isin(line_of, pool_lines) & (line_of != o) & (day_of <= binding))
    per_line = pd.Series(qty_of[took]).groupby(line_of[took]).sum().sort_values(
        ascending=False, kind="stable")
    named = []
    for k, units in per_line.head(SHOWN).items():
        c = lines.iloc[k]
        named.append(f"{excel_key(c['order'])}/{excel_key(c['line'])} {_n(units)} units "
                     f"(RPD {c['rpd']}, EPD {c['epd']}, rpd_weight {_n(c['rpd_weight'])}, "
                     f"epd_weight {_n(c['epd_weight'])})")
    if len(per_line) > SHOWN:
        rest = per_line.iloc[SHOWN:]
        named.append(f"and {len(rest)} more lines {_n(rest.sum())} units")
    taken = float(per_line.sum())
    short = d_o - a_t
    detail = (prefix + f"By {when} pool {ln['supply_center']}/{ln['sku']} has {_n(s_t)} "
              f"units, enough for the line's {_n(d_o)}, but the plan gives {_n(taken)} units "
              f"to other lines by {until}, leaving at most {_n(max(a_t, 0.0))} for it: "
              + "; ".join(named) + ".")
    fix = f"{_n(short)} more units of {ln['sku']} at {ln['supply_center']} by {when}"
    # When its region would still hold it back, say by how much too.
    limit = limits.get((ln["sku"], ln["region"]))
    if limit is not None:
        other_use = region_use[(ln["sku"], ln["region"])][: len(own) - 1] - own[:-1]
        first = int(ln["first_day"])
        if _reach(first, target, suffix_min + short, limit - other_use) < d_o - ROUND_TOL:
            needed = _capacity_needed(first, target, suffix_min + short, other_use, limit, d_o)
            fix += (f", and raise RegionCapacity of {ln['sku']} in {ln['region']} to "
                    f"{_n(needed)}")
    return ({**base, "cause": OTHER_LINES, "detail": detail, "what_would_fix_it": fix + "."},
            f"the supply of {ln['sku']} went to other lines")


def _region(instance, ln, base, prefix, used, limit, other_use, suffix_min, first, target,
            reach, d_o):
    days = np.arange(first, target + 1)
    full = days[used[days] >= limit - ROUND_TOL * max(1.0, limit)]
    needed = _capacity_needed(first, target, suffix_min, other_use, limit, d_o)
    shown = ", ".join(str(_date(instance, t)) for t in full[:SHOWN])
    if len(full) > SHOWN:
        shown += f" and {len(full) - SHOWN} more"
    detail = (prefix + f"Region {ln['region']} takes at most {_n(limit)} units of {ln['sku']} "
              f"a day. From {_date(instance, first)} to {_date(instance, target)} "
              f"({_days(len(days))}) it is at capacity on {len(full)} ({shown or 'none'}): "
              f"{_n(used[days].sum())} of {_n(limit * len(days))} units used, "
              f"{_n(other_use[days].sum())} by other lines; with the supply left, at most "
              f"{_n(reach)} of the line's {_n(d_o)} units could reach it by its EPD.")
    fix = f"Raise RegionCapacity of {ln['sku']} in {ln['region']} to {_n(needed)}."
    return ({**base, "cause": REGION, "detail": detail, "what_would_fix_it": fix},
            f"region {ln['region']} is at capacity for {ln['sku']}")


# ---------------------------------------------------------------------------
# Exact amounts


def _reach(first: int, target: int, supply_left: np.ndarray, free: np.ndarray) -> float:
    """G(T): the most units one line can hold by ``target`` given the others' plan.

    Each day t from ``first`` it may receive ``free[t]`` (its region's room) and hold
    at most ``supply_left[t]`` (A(t), what the others leave it from then on). Greedy
    day by day is optimal: A(t) never decreases.
    """
    held = 0.0
    for t in range(first, target + 1):
        held = min(held + max(float(free[t]), 0.0), float(supply_left[t]))
    return held


def _capacity_needed(first: int, target: int, supply_left: np.ndarray, other_use: np.ndarray,
                     limit: float, d_o: float) -> float:
    """The smallest whole daily limit at which G(T) reaches d_o (found by bisection)."""
    lo, hi = int(np.floor(limit)), int(np.ceil(limit + d_o))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _reach(first, target, supply_left, mid - other_use) >= d_o - ROUND_TOL * max(1, d_o):
            hi = mid
        else:
            lo = mid
    return float(hi)


def _pools(instance: Instance, line_of, day_of, qty_of) -> dict[tuple, _Pool]:
    """S(t) and D(t) of every pool with lines, and its sources (also beyond H)."""
    lines, H = instance.lines, instance.horizon_days
    src = instance.sources[instance.sources["quantity"] > 0]
    is_po = (src["source_type"] == "po").to_numpy()
    src = src.iloc[np.lexsort((src["source"].to_numpy(str), is_po, src["day"].to_numpy()))]
    center = lines["supply_center"].to_numpy()[line_of]
    sku = lines["sku"].to_numpy()[line_of]
    out = {}
    for key in set(zip(lines["supply_center"], lines["sku"])):
        mine = src[(src["supply_center"] == key[0]) & (src["sku"] == key[1])]
        supply = np.zeros(H + 1)
        inside = mine["day"].to_numpy() <= H
        np.add.at(supply, mine["day"].to_numpy()[inside], mine["quantity"].to_numpy(float)[inside])
        delivered = np.zeros(H + 1)
        take = (center == key[0]) & (sku == key[1])
        np.add.at(delivered, day_of[take], qty_of[take])
        out[key] = _Pool(np.cumsum(supply), np.cumsum(delivered), mine)
    return out


def _region_use(instance, line_of, day_of, qty_of) -> dict[tuple, np.ndarray]:
    """Units of each capacitated (SKU, region) delivered per day 0..H+1."""
    lines, H = instance.lines, instance.horizon_days
    sku = lines["sku"].to_numpy()[line_of]
    region = lines["region"].to_numpy()[line_of]
    out = {}
    for s, r in zip(instance.capacity["sku"], instance.capacity["region"]):
        use = np.zeros(H + 2)
        take = (sku == s) & (region == r)
        np.add.at(use, day_of[take], qty_of[take])
        out[(s, r)] = use
    return out


# ---------------------------------------------------------------------------
# Text


def _shortfall(instance: Instance, st, d_o: float) -> str:
    delivered = float(st["delivered"])
    if st["status"] == "not delivered":
        return f"{_n(d_o)} units never delivered (by {instance.horizon_end})"
    if st["status"] == "partial":
        return f"{_n(d_o - delivered)} of {_n(d_o)} units not delivered by {instance.horizon_end}"
    days = int(st["days_late_epd"])
    return f"{_days(days)} late (complete {st['completion_date']})"


def _sources_text(sources: pd.DataFrame) -> str:
    if sources.empty:
        return "no inventory and no PO"
    parts = [("inventory " if t == "inventory" else f"PO {s} ") + _n(q)
             + ("" if t == "inventory" else f" on {a}")
             for t, s, q, a in zip(sources["source_type"], sources["source"],
                                   sources["quantity"], sources["arrival_date"])]
    if len(parts) > SHOWN:
        parts = parts[:SHOWN] + [f"{len(parts) - SHOWN} more POs"]
    return ", ".join(parts)


def _sentence(keys: list[str]) -> str:
    """``largest_shortfall``: how many lines are late and their most common cause."""
    n = len(keys)
    key, count = Counter(keys).most_common(1)[0]
    lines = f"{n} line{'s' if n != 1 else ''} late"
    if count == n:
        return f"{lines}, {'all ' if n > 1 else ''}because {key}"
    return f"{lines}, most ({count}) because {key}"


def _date(instance: Instance, day: int):
    return instance.date_of(day)


def _n(x: float) -> str:
    """A quantity as text: 1,200 or 12.5."""
    x = float(x)
    return f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.2f}"


def _days(k: int) -> str:
    return f"{k} day{'s' if k != 1 else ''}"
