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
   other lines unchanged, and being late past its EPD costs nothing (rate v_o = 0);
6. *plan not optimal* — the same, but lateness costs something: only a plan kept
   from a solve stopped before the optimum can be so.
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
from .schema import WHY, WHY_CAUSES

CAUSES = WHY_CAUSES
NO_SUPPLY, OTHER_LINES, REGION, OVERDUE, NO_COST, NOT_OPTIMAL = CAUSES

#: Sources and competing lines named in one ``detail`` (the rest are counted).
SHOWN = 5


@dataclass
class _Pool:
    """Supply of one pool as cumulative arrays over days 0..H."""

    supply: np.ndarray  # S(t): units on hand or arrived by day t
    delivered: np.ndarray  # D(t): units delivered to all lines of the pool by day t
    # Every source of the pool (also after the horizon), by day: source_type, source,
    # quantity, day, arrival_date.
    sources: list[tuple]


@dataclass
class _Plan:
    """The instance and the plan as the checks read them."""

    instance: Instance
    columns: dict[str, np.ndarray]  # instance.lines, column by column
    pool_of: np.ndarray  # pool number of each line
    line_of: np.ndarray  # deliveries: line, day, quantity
    day_of: np.ndarray
    qty_of: np.ndarray
    pools: dict[int, _Pool]
    region_use: dict[tuple[str, str], np.ndarray]  # units per day 0..H+1
    limits: dict[tuple[str, str], float]  # C_r

    def line(self, o: int) -> dict:
        """Line o as a record."""
        return {c: v[o] for c, v in self.columns.items()}

    def own(self, o: int) -> np.ndarray:
        """Units delivered to line o per day 0..H+1."""
        mine = self.line_of == o
        out = np.zeros(self.instance.horizon_days + 2)
        np.add.at(out, self.day_of[mine], self.qty_of[mine])
        return out


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
    late = np.flatnonzero(~status["on_time"].to_numpy(bool))
    if len(late) == 0:
        return WHY.sheet(pd.DataFrame(columns=WHY.column_names)), None
    plan = _read_plan(instance, deliveries, late)
    states = status.iloc[late].to_dict("records")
    rows, keys = [], []
    for o, st in zip(late, states):
        row, key = _explain_line(plan, int(o), st)
        rows.append(row)
        keys.append(key)
    return WHY.sheet(pd.DataFrame(rows, columns=WHY.column_names)), _sentence(keys)


def _read_plan(instance: Instance, deliveries: pd.DataFrame, late: np.ndarray) -> _Plan:
    """S(t) and D(t) of the pools of the ``late`` lines, and the region use per day."""
    lines, H = instance.lines, instance.horizon_days
    pool_of = lines.groupby(["supply_center", "sku"], sort=False).ngroup().to_numpy()
    line_of = deliveries["line"].to_numpy(np.int64)
    day_of = deliveries["day"].to_numpy(np.int64)
    qty_of = deliveries["quantity"].to_numpy(float)
    src = instance.sources[instance.sources["quantity"] > 0]
    is_po = (src["source_type"] == "po").to_numpy()
    src = src.iloc[np.lexsort((src["source"].to_numpy(str), is_po, src["day"].to_numpy()))]
    src_cols = [src[c].to_numpy() for c in ("source_type", "source", "quantity", "day",
                                            "arrival_date")]
    src_center, src_sku = src["supply_center"].to_numpy(), src["sku"].to_numpy()
    center_of, sku_of = lines["supply_center"].to_numpy(), lines["sku"].to_numpy()
    delivered_pool = pool_of[line_of]
    pools = {}
    for p in np.unique(pool_of[late]):
        k = int(np.argmax(pool_of == p))
        mine = np.flatnonzero((src_center == center_of[k]) & (src_sku == sku_of[k]))
        records = list(zip(*(c[mine] for c in src_cols)))
        day, quantity = src_cols[3][mine].astype(np.int64), src_cols[2][mine].astype(float)
        supply = np.zeros(H + 1)
        np.add.at(supply, day[day <= H], quantity[day <= H])
        take = delivered_pool == p
        delivered = np.zeros(H + 1)
        np.add.at(delivered, day_of[take], qty_of[take])
        pools[int(p)] = _Pool(np.cumsum(supply), np.cumsum(delivered), records)
    sku = lines["sku"].to_numpy()[line_of]
    region = lines["region"].to_numpy()[line_of]
    cap = instance.capacity
    limits = {(s, r): float(c) for s, r, c in zip(cap["sku"], cap["region"], cap["capacity"])}
    region_use = {}
    for s, r in limits:
        use = np.zeros(H + 2)
        take = (sku == s) & (region == r)
        np.add.at(use, day_of[take], qty_of[take])
        region_use[(s, r)] = use
    columns = {c: lines[c].to_numpy() for c in lines.columns}
    return _Plan(instance, columns, pool_of, line_of, day_of, qty_of, pools,
                 region_use, limits)


# ---------------------------------------------------------------------------
# Per line


def _explain_line(plan: _Plan, o: int, st: dict) -> tuple[dict, str]:
    """The ``Out Why`` row of late line o and the key its cause is counted under."""
    row, key = _explain(plan, o, st)
    epd = int(plan.columns["epd_day"][o])
    if epd < 0 and row["cause"] in (NO_SUPPLY, OTHER_LINES, REGION):
        row["what_would_fix_it"] += (f" It is then complete on the plan date, still "
                                     f"{_days(-epd)} after its EPD.")
    return row, key


def _explain(plan: _Plan, o: int, st: dict) -> tuple[dict, str]:
    instance, H = plan.instance, plan.instance.horizon_days
    ln = plan.line(o)
    own = plan.own(o)
    d_o = float(ln["quantity"])
    epd, first = int(ln["epd_day"]), int(ln["first_day"])
    target = min(max(epd, 0), H)  # T: the last day on which a delivery is on time
    pool = plan.pools[int(plan.pool_of[o])]
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
    if epd > H:
        prefix = (f"The EPD {ln['epd']} is after horizon_end {instance.horizon_end}, where "
                  "the plan ends. ")
    if epd < 0:
        prefix = (f"The EPD {ln['epd']} was {-epd} days before the plan date "
                  f"{instance.plan_date}; nothing is delivered before the plan date. ")
        if by_target >= d_o - ROUND_TOL * max(1.0, d_o):
            return {**base, "cause": OVERDUE,
                    "detail": prefix + "The line is complete on the plan date, the first "
                    "day it could be.",
                    "what_would_fix_it": "Nothing within the plan: agree a new EPD on or "
                    f"after {instance.plan_date}."}, "their EPD was before the plan date"

    # What o could hold on each day t with the other lines as planned, S(t) − D'(t),
    # and A(t), the least of it from day t on.
    left = pool.supply - (pool.delivered - np.cumsum(own[: H + 1]))
    suffix_min = _suffix_min(left)
    tol = ROUND_TOL * max(1.0, d_o)

    # 1. No supply in time.
    s_t = float(pool.supply[target])
    if s_t < d_o - tol:
        return _no_supply(plan, o, base, prefix, s_t, left, target, own)

    # 2. Supply went to other lines.
    a_t = float(suffix_min[target])
    if a_t < d_o - tol:
        binding = target + int(np.argmin(left[target:]))
        return _other_lines(plan, o, base, prefix, s_t, a_t, target, binding, left, own)

    # 3. Region capacity.
    limit = plan.limits.get((ln["sku"], ln["region"]))
    if limit is not None:
        used = plan.region_use[(ln["sku"], ln["region"])]
        other_use = used[: H + 1] - own[: H + 1]
        reach = _reach(first, target, suffix_min, limit - other_use)
        if reach < d_o - ROUND_TOL * max(1.0, d_o):
            return _region(instance, ln, base, prefix, used, limit, other_use, suffix_min,
                           first, target, reach, d_o)

    # 5./6. Nothing in the data kept it from being on time.
    detail = prefix + f"With the other lines as planned it could be complete by {when}"
    if float(ln["epd_rate"]) > 0:
        return {**base, "cause": NOT_OPTIMAL,
                "detail": detail + ", at a lower penalty: the solve stopped before the "
                "optimum.",
                "what_would_fix_it": "Solve again with a longer time_limit_s."}, \
            "the plan is not optimal"
    if float(instance.settings.epd_penalty) == 0:
        fix = "Set epd_penalty in Settings above 0."
        detail += ", but being late costs nothing (epd_penalty 0)."
    else:
        fix = "Raise epd_weight of this line above 0."
        detail += ", but being late costs nothing (epd_weight 0)."
    return {**base, "cause": NO_COST, "detail": detail, "what_would_fix_it": fix}, \
        "being late costs them nothing"


def _no_supply(plan: _Plan, o: int, base: dict, prefix: str, s_t: float, left: np.ndarray,
               target: int, own: np.ndarray):
    instance, ln = plan.instance, plan.line(o)
    sources = plan.pools[int(plan.pool_of[o])].sources
    d_o = float(ln["quantity"])
    tol = ROUND_TOL * max(1.0, d_o)
    when = _date(instance, target)
    short = d_o - s_t  # even if no other line took any
    need = d_o - float(_suffix_min(left)[target])  # with the other lines as planned
    early = [src for src in sources if src[3] <= target]
    later = [src for src in sources if src[3] > target and src[0] == "po"]
    detail = (prefix + f"By {when} pool {ln['supply_center']}/{ln['sku']} has "
              f"{_n(s_t)} units ({_sources_text(early)}), {_n(short)} fewer than the "
              f"line's {_n(d_o)}, even if no other line took any.")
    cumulative = s_t + np.cumsum([q for _, _, q, _, _ in later])
    serving = np.flatnonzero(cumulative >= d_o - tol)
    if len(serving):
        _, name, quantity, _, arrival = later[serving[0]]
        detail += (f" The earliest PO that would have served it: {name} "
                   f"({_n(quantity)} units, arriving {arrival}).")
    else:
        detail += " No PO of the pool would complete it."
    if need > short + tol:
        detail += f" With the other lines as planned it needs {_n(need)} more."
    # The fix: the earliest later PO whose move to T leaves the line its units with the
    # other lines as planned, else the missing units on day T.
    days = np.arange(len(left))
    for _, name, quantity, day, arrival in later:
        moved = left + quantity * ((days >= target) & (days < day))
        if _suffix_min(moved)[target] >= d_o - tol:
            fix = f"PO {name} arriving by {when} instead of {arrival}"
            key = f"PO {name} arrives {arrival} after their EPD"
            break
    else:
        moved = left + need * (days >= target)
        fix = f"{_n(need)} more units of {ln['sku']} at {ln['supply_center']} by {when}"
        key = f"{ln['sku']} at {ln['supply_center']} has too little supply by their EPD"
    fix += _capacity_clause(plan, o, own, moved, target) + "."
    return {**base, "cause": NO_SUPPLY, "detail": detail, "what_would_fix_it": fix}, key


def _other_lines(plan: _Plan, o: int, base: dict, prefix: str, s_t: float, a_t: float,
                 target: int, binding: int, left: np.ndarray, own: np.ndarray):
    instance, ln = plan.instance, plan.line(o)
    d_o = float(ln["quantity"])
    when, until = _date(instance, target), _date(instance, binding)
    took = ((plan.pool_of[plan.line_of] == plan.pool_of[o]) & (plan.line_of != o)
            & (plan.day_of <= binding))
    competitors, at = np.unique(plan.line_of[took], return_inverse=True)
    units_of = np.bincount(at, weights=plan.qty_of[took], minlength=len(competitors))
    # Lines due after this one first (the optimum preferred them), then most units.
    due_later = plan.columns["epd_day"][competitors] > plan.columns["epd_day"][o]
    rank = np.lexsort((-units_of, ~due_later))
    named = []
    for k, units in zip(competitors[rank[:SHOWN]], units_of[rank[:SHOWN]]):
        c = plan.line(k)
        named.append(f"{excel_key(c['order'])}/{excel_key(c['line'])} {_n(units)} units "
                     f"(RPD {c['rpd']}, EPD {c['epd']}, rpd_weight {_n(c['rpd_weight'])}, "
                     f"epd_weight {_n(c['epd_weight'])})")
    if len(rank) > SHOWN:
        named.append(f"and {len(rank) - SHOWN} more lines {_n(units_of[rank[SHOWN:]].sum())} "
                     "units")
    taken = float(units_of.sum())
    short = d_o - a_t
    detail = (prefix + f"By {when} pool {ln['supply_center']}/{ln['sku']} has {_n(s_t)} "
              f"units, enough for the line's {_n(d_o)}, but the plan gives {_n(taken)} units "
              f"to other lines by {until}, leaving at most {_n(max(a_t, 0.0))} for it "
              f"({_n(units_of[due_later].sum())} of them to "
              f"{_count(int(due_later.sum()), 'line')} due after it): " + "; ".join(named) + ".")
    more = left + short * (np.arange(len(left)) >= target)
    fix = (f"{_n(short)} more units of {ln['sku']} at {ln['supply_center']} by {when}"
           + _capacity_clause(plan, o, own, more, target) + ".")
    return ({**base, "cause": OTHER_LINES, "detail": detail, "what_would_fix_it": fix},
            f"the supply of {ln['sku']} went to other lines")


def _capacity_clause(plan: _Plan, o: int, own: np.ndarray, left: np.ndarray,
                     target: int) -> str:
    """", and raise RegionCapacity … to N" when, with the supply ``left`` after a fix,
    the line's region would still hold it back; "" otherwise."""
    ln = plan.line(o)
    limit = plan.limits.get((ln["sku"], ln["region"]))
    if limit is None:
        return ""
    d_o, first = float(ln["quantity"]), int(ln["first_day"])
    other_use = plan.region_use[(ln["sku"], ln["region"])][: len(left)] - own[: len(left)]
    supply_left = _suffix_min(left)
    if _reach(first, target, supply_left, limit - other_use) >= d_o - ROUND_TOL * max(1, d_o):
        return ""
    needed = _capacity_needed(first, target, supply_left, other_use, limit, d_o)
    return f", and raise RegionCapacity of {ln['sku']} in {ln['region']} to {_n(needed)}"


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


def _suffix_min(values: np.ndarray) -> np.ndarray:
    """A(t) = min over t' ≥ t of values[t']."""
    return np.minimum.accumulate(values[::-1])[::-1]


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


def _sources_text(sources: list[tuple]) -> str:
    if not sources:
        return "no inventory and no PO"
    parts = [f"inventory {_n(q)}" if t == "inventory" else f"PO {name} {_n(q)} on {a}"
             for t, name, q, _, a in sources]
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
    return _count(k, "day")


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}{'s' if k != 1 else ''}"
