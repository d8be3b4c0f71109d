"""``Out Why``: the cause of every shortage of the plan, with its amounts and what would
remove it (docs/production_distribution.md, "Out Why").

Each shortage l[p, k, t] > 0 is explained by checks in a fixed order, each computed
from the data and the plan:

1. *no supply before the demand day*: the start stock and deliveries of p that can
   reach plant k by day t (through the listed lanes, one day per hop out of a warehouse
   or plant) are below k's demand for p up to t. That part of the shortage is
   unavoidable; it is matched to the plan's shortages on day t or earlier.
2. *plant reception limit*, 3. *storage full*, 4. *cheaper to be short*: the rest is
   put to a *local re-solve*: the plan of every other product is fixed, product p's
   flows, stock and shortages and the trucks that could carry it are free, and the
   shortage must shrink by the amount to explain. If that is feasible, serving it was
   possible within every limit and the extra cost per pallet is what the penalty must
   exceed (4). If not, the same re-solve is repeated with slack on the plant's
   reception rows (2), then on the storage rows of p's category (3): the least slack
   that makes it feasible is the limit to raise, on the days it is needed.

Every number in a row comes from these computations; nothing is inferred from text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..highs import INF, INFEASIBLE, OPTIMAL, LinearProgram, SolveOptions, csr, solve
from ..outputs import OutSheet
from .data import Instance
from .model import Built
from .schema import OUT_WHY, WHY_CAUSES

CAUSES = WHY_CAUSES
# the last one only when the plan is not optimal
NO_SUPPLY, RECEPTION, STORAGE, CHEAPER, IMPROVABLE = CAUSES

_TOL = 1e-6
_SLACK_COST = 1e7  # per truck or pallet of limit raised: any slack beats any plan cost
_LOCAL_SECONDS = 10.0
# Share of Out Why's time for the re-solves; the rest is for the shortages left after them
# (their binding limits: 0.12 s for 150 of them on pd-net-250x30, 6 s of Out Why).
_RESOLVE_SHARE = 0.9


@dataclass
class _Piece:
    """Part of one shortage explained by one cause."""

    plant: int
    product: int
    day: int  # 0-based
    pallets: float
    cause: str
    detail: str
    fix: str


def seconds_for(inst: Instance) -> float:
    """Time for the local re-solves: a tenth of ``time_limit_s``, at most 10 s. The
    search for a plan leaves it (``solve.solve``'s ``reserve``), so the run ends at its
    limit."""
    return min(10.0, 0.1 * float(inst.settings.time_limit_s))


def explain(inst: Instance, built: Built, x: np.ndarray,
            seconds: float | None = None) -> pd.DataFrame:
    """One row per shortage and cause: the ``Out Why`` frame (columns of ``OUT_WHY``).

    Parameters
    ----------
    inst : Instance
        The data (day labels).
    built : Built
        The model the plan solves.
    x : ndarray
        The plan (one value per column of ``built.lp``).
    seconds : float, optional
        Out Why's time, counted from the call (default: :func:`seconds_for`): the local
        re-solves, largest shortages first, take ``_RESOLVE_SHARE`` of it, and none starts
        with less time left than the longest so far took.
        Shortages left when it is used up get the first limit of the plan that binds,
        marked as not re-solved.

    Returns
    -------
    DataFrame
        The columns of ``OUT_WHY`` and ``pallets`` (the shortfall as a number).
    """
    t0 = time.perf_counter()
    short = x[built.short_cols]
    rows = np.nonzero(short > _TOL)[0]
    pieces: list[_Piece] = []
    if len(rows):
        unexplained = _no_supply(inst, built, short, rows, pieces)
        if seconds is None:
            seconds = seconds_for(inst)
        local = LocalModels(built, x, deadline=t0 + _RESOLVE_SHARE * seconds)
        for r, rest in sorted(unexplained.items(), key=lambda item: (-item[1], item[0])):
            try:
                pieces.extend(local.explain(inst, r, rest))
            except _OutOfTime:
                pieces.append(local.binding_limit(inst, r, rest))
    return _frame(inst, built, pieces)


def largest_shortfall(why: pd.DataFrame) -> str | None:
    """One sentence: the plant with the most pallets short and the cause of most of them."""
    if why.empty:
        return None
    by_plant = why.groupby("plant")["pallets"].sum()
    plant = by_plant.idxmax()
    mine = why[why["plant"] == plant]
    by_cause = mine.groupby("cause")["pallets"].sum().sort_values(ascending=False)
    return (f"{_num(by_plant[plant])} pallets short at {plant}, {_num(by_cause.iloc[0])} "
            f"of them because of {by_cause.index[0]}")


def add(inst: Instance, built: Built, x: np.ndarray, summary: dict,
        seconds: float | None = None) -> OutSheet:
    """``Out Why`` of the plan ``x``; puts ``largest_shortfall`` into ``summary``.

    ``seconds``: time for the re-solves (see :func:`explain`; 0 after a stop).
    """
    why = explain(inst, built, x, seconds)
    line = largest_shortfall(why)
    if line:
        summary["largest_shortfall"] = line
    return OUT_WHY.sheet(why.drop(columns="pallets"))


# ---------------------------------------------------------------------------
# 1. No supply before the demand day


def _no_supply(inst, built, short, rows, pieces) -> dict[int, float]:
    """Record the unavoidable part of each shortage; return the rest per shortage row."""
    T = built.n_days
    rest: dict[int, float] = {}
    key = built.short_plant[rows] * len(built.products) + built.short_product[rows]
    for group in np.unique(key):
        mine = rows[key == group]
        k, p = int(built.short_plant[mine[0]]), int(built.short_product[mine[0]])
        avail, first_day, own = _available_by_day(built, p, k)  # A[t]: can reach k by t
        demand = built.demand[built.pair_of[p, k]]
        # U[t]: pallets that must be short by day t whatever the plan (running max, as a
        # shortage once forced stays forced).
        must = np.maximum.accumulate(np.maximum(np.cumsum(demand) - avail, 0.0))
        increment = np.diff(must, prepend=0.0)
        left = np.zeros(T)  # the plan's shortage per day not yet explained
        row_of_day = {}
        for r in mine:
            left[built.short_day[r]] += short[r]
            row_of_day[int(built.short_day[r])] = int(r)
        explained = np.zeros(T)
        by_day = np.full(T, -1)  # the demand day whose lack explains it
        for t in np.nonzero(increment > _TOL)[0]:
            need = increment[t]
            for s in range(t, -1, -1):  # the plan's shortages on day t or before
                take = min(need, left[s])
                if take > _TOL:
                    left[s] -= take
                    explained[s] += take
                    by_day[s] = max(by_day[s], t)
                    need -= take
                if need <= _TOL:
                    break
        for s, r in row_of_day.items():
            if explained[s] > _TOL:
                d = int(by_day[s])
                pieces.append(_Piece(
                    k, p, s, explained[s], NO_SUPPLY,
                    _no_supply_detail(inst, built, p, k, d, avail[d], demand[:d + 1].sum(),
                                      first_day),
                    _no_supply_fix(inst, built, p, k, d, explained[s], own)))
            if left[s] > _TOL:
                rest[r] = left[s]
    return rest


def _hops_to(built: Built, p: int, k: int) -> np.ndarray:
    """Days from each location's stock to plant k for product p (inf = cannot reach).

    A pallet in stock at a warehouse or plant leaves the next day at the earliest and
    arrives the day it leaves: one day per lane out of a store, none at the plant.
    """
    n_l = len(built.locations)
    holds = built.pair_of[p] >= 0
    hops = np.full(n_l, np.inf)
    if holds[k]:
        hops[k] = 0.0
    stores = built.loc_type[built.lane_from] != "supplier"
    for _ in range(n_l):
        changed = False
        for a, b in zip(built.lane_from[stores], built.lane_to[stores]):
            if holds[a] and holds[b] and hops[b] + 1 < hops[a]:
                hops[a] = hops[b] + 1
                changed = True
        if not changed:
            break
    return hops


def _supplier_delay(built: Built, p: int, hops: np.ndarray) -> dict[int, float]:
    """Days from a supplier's delivery to plant k, per supplier with a lane that takes p."""
    out: dict[int, float] = {}
    for a, b in zip(built.lane_from, built.lane_to):
        if built.loc_type[a] == "supplier" and built.pair_of[p, b] >= 0:
            out[int(a)] = min(out.get(int(a), np.inf), hops[b])
    return out


def _available_by_day(built: Built, p: int, k: int):
    """Pallets of p that can be at plant k by each day, the first day a delivery can
    arrive there (or None), and the suppliers of p with their delay to k."""
    T = built.n_days
    hops = _hops_to(built, p, k)
    arrive = np.zeros(T + 1)
    pairs = np.nonzero(built.pair_product == p)[0]
    for pair in pairs:
        h = hops[built.pair_loc[pair]]
        if np.isfinite(h) and built.start_stock[pair] > 0:
            # stock at the plant counts from day 1; one hop away it leaves on day 1 too
            arrive[int(max(h - 1, 0))] += built.start_stock[pair]
    delay = _supplier_delay(built, p, hops)
    recs = np.nonzero(built.supply_product == p)[0]
    first = None
    for r in recs:
        d = delay.get(int(built.supply_supplier[r]), np.inf)
        if np.isfinite(d):
            day = int(built.supply_day[r] + d)
            arrive[min(day, T)] += built.supply_pallets[r]
            first = day if first is None else min(first, day)
    own = {int(built.supply_supplier[r]) for r in recs}
    reach = {i: d for i, d in delay.items() if np.isfinite(d)}
    return np.cumsum(arrive[:T]), first, (own, reach)


def _no_supply_detail(inst, built, p, k, d, avail, demand, first_day) -> str:
    prod, plant = built.products[p], built.locations[k]
    if first_day is None:
        first = (f"{prod} has no delivery in the horizon" if
                 not (built.supply_product == p).any() else
                 f"no delivery of {prod} can reach {plant} through the listed lanes")
    elif first_day >= built.n_days:
        first = f"no delivery of {prod} can reach {plant} within the horizon"
    else:
        first = f"the first delivery of {prod} can be there on {_day(inst, first_day)}"
    return (f"{_num(avail)} of the {_pallets(demand)} demanded by {_day(inst, d)} can be at "
            f"{plant} from start stock or deliveries; {first}.")


def _no_supply_fix(inst, built, p, k, d, pallets, own) -> str:
    suppliers, reach = own
    candidates = {i: h for i, h in reach.items() if i in suppliers} or reach
    if not candidates:
        return (f"add a lane that brings {built.products[p]} to {built.locations[k]} "
                f"and deliver {_pallets(pallets)} by {_day(inst, d)}")
    supplier = min(candidates, key=lambda i: (candidates[i], built.locations[i]))
    latest = d - int(candidates[supplier])
    if latest < 0:
        return (f"hold {_pallets(pallets)} more of {built.products[p]} as start stock "
                f"at {built.locations[k]}")
    return (f"deliver {_pallets(pallets)} of {built.products[p]} from "
            f"{built.locations[supplier]} by {_day(inst, latest)}")


# ---------------------------------------------------------------------------
# 2.–4. Local re-solves


@dataclass
class Resolve:
    """A local re-solve: what serving the shortage changes."""

    change: float  # cost of the plan (slack not counted) minus the plan's cost
    served: float  # pallets of the product's shortages served
    slack: np.ndarray  # per group: how much its limit was raised
    over: dict  # activity of each limit row without its slack
    plan: np.ndarray  # the whole plan with the product's columns re-solved


class _OutOfTime(Exception):
    """Out Why's time for re-solves ran out before a re-solve could prove its answer."""


class LocalModels:
    """Re-solves of one product's part of the model with every other column fixed, each
    within the time left to ``deadline`` (a ``time.perf_counter()``; none: no limit but
    ``_LOCAL_SECONDS`` per re-solve)."""

    def __init__(self, built: Built, x: np.ndarray, deadline: float = INF):
        lp = built.lp
        self.built, self.x, self.deadline = built, x, deadline
        self.longest = 0.0  # seconds the longest re-solve took
        lengths = np.diff(np.append(lp.a_start, lp.nnz))
        self.nz_row = np.repeat(np.arange(lp.n_rows), lengths)
        self.activity = np.bincount(self.nz_row, weights=lp.a_value * x[lp.a_index],
                                    minlength=lp.n_rows)
        first, _ = built.row_families.get("plant_reception", (0, 0))
        self.reception = {(k, t): first + i
                          for i, (k, t, _) in enumerate(built.reception_rows)}
        self.reception_limit = {(k, t): n for k, t, n in built.reception_rows}
        s_first, _ = built.row_families["storage_capacity"]
        sr = built.storage_rows
        self.storage = {(int(loc), int(c), int(t)): s_first + i
                        for i, (loc, c, t) in enumerate(zip(sr["loc"], sr["cat"], sr["day"]))}
        self.stock = built.stock_cols.reshape(len(built.pair_product), built.n_days)

    def explain(self, inst: Instance, r: int, pallets: float) -> list[_Piece]:
        b = self.built
        k, p, t = int(b.short_plant[r]), int(b.short_product[r]), int(b.short_day[r])
        G = b.shortage_penalty
        c = int(b.product_cat[p])
        # One slack per limit of the input (a plant's max_inbound_trucks, a location's
        # capacity of the category), on every day, as raising it in the input would.
        recv = [("reception", k, [row for (kk, _), row in self.reception.items() if kk == k])]
        recv = [g for g in recv if g[2]]
        store = [("storage", loc, [row for (lo, cat, _), row in self.storage.items()
                                   if lo == loc and cat == c])
                 for loc in sorted({lo for (lo, cat, _) in self.storage if cat == c})]
        found = self._least_raise(p, r, pallets, recv, store)
        if found is None:
            return [_Piece(k, p, t, pallets, CHEAPER,
                           "With the plan of every other product kept, no way to serve it "
                           "was found, even with more reception and storage.",
                           "raise Lanes.max_trucks on the lanes that bring "
                           f"{b.products[p]} to {b.locations[k]}")]
        groups, res = found
        extra_cost, served, slack, over = res.change, res.served, res.slack, res.over
        per_pallet = extra_cost / served + G  # serving cost: the penalty saved plus Δ
        prod, plant = b.products[p], b.locations[k]
        if not (slack > _TOL).any():
            if extra_cost < -_TOL * max(1.0, G * served):
                return [_Piece(k, p, t, pallets, IMPROVABLE,
                               f"A re-solve of {prod} alone, every other product kept, "
                               f"serves {_pallets(served)} more and lowers the total cost "
                               f"by {_money(-extra_cost)} (penalty included): the solve "
                               f"ended before finding it (status and mip_gap in Out "
                               f"Summary).",
                               "raise time_limit_s")]
            return [_Piece(k, p, t, pallets, CHEAPER,
                           f"Serving it costs {_money(per_pallet)} per pallet in trucks, "
                           f"handling and storage (re-solve with it served: "
                           f"{_money(extra_cost + G * served)} more for {_num(served)} "
                           f"pallets) against a shortage_penalty of {_money(G)}.",
                           f"raise shortage_penalty above {_money(per_pallet)}")]
        parts, fixes, causes = [], [], []
        for (kind, loc, rows), raise_by in zip(groups, slack):
            if raise_by <= _TOL:
                continue
            m = int(np.ceil(raise_by - _TOL))
            if kind == "reception":
                n = self.reception_limit[next(key for key, row in self.reception.items()
                                              if row == rows[0])]
                days = sorted(d for (kk, d), row in self.reception.items()
                              if kk == k and over.get(row, 0) > n + _TOL)
                got = [self._trucks_in(k, d) for d in days]
                parts.append(f"{plant} received {', '.join(_num(g) for g in got)} trucks "
                             f"on {_days(inst, days)} against its max_inbound_trucks of "
                             f"{_num(n)}; bringing {prod} in time needs {m} more a day")
                fixes.append(f"raise max_inbound_trucks of {plant} from {_num(n)} to "
                             f"{_num(n + m)} (the re-solve uses it on {_days(inst, days)})")
                causes.append(RECEPTION)
            else:
                cap = b.capacity[loc, c]
                days = sorted(d for (lo, cat, d), row in self.storage.items()
                              if lo == loc and cat == c and over.get(row, 0) > cap + _TOL)
                held = [self._held(loc, c, d) for d in days]
                parts.append(f"{b.locations[loc]} storage of {b.categories[c]} was full on "
                             + ", ".join(f"{_day(inst, d)} ({_num(h)}/{_num(cap)})"
                                         for d, h in zip(days, held))
                             + f"; with {m} more pallets of room {prod} could have been "
                             f"brought earlier")
                fixes.append(f"raise the {b.categories[c]} capacity of {b.locations[loc]} "
                             f"from {_num(cap)} to {_num(cap + m)} pallets")
                causes.append(STORAGE)
        detail = "; ".join(parts) + "."
        if per_pallet >= G - _TOL:
            detail += (f" Even then serving it costs {_money(per_pallet)} per pallet, above "
                       f"the shortage_penalty {_money(G)}.")
            fixes.append(f"raise shortage_penalty above {_money(per_pallet)}")
        return [_Piece(k, p, t, pallets, causes[0], detail, " and ".join(fixes))]

    def _least_raise(self, p: int, r: int, pallets: float, recv: list, store: list):
        """(groups, re-solve) that serves it with the least raise of the limits, in the
        order of the causes: no raise, the plant's reception, storage, both.

        Re-solves in that order; one that is infeasible ends in milliseconds.
        """
        tried: list = []
        for groups in ([], recv, store, recv + store):
            if groups in tried:
                continue
            tried.append(groups)
            res = self.resolve(p, r, pallets, groups)
            if res is not None:
                return groups, res
        return None

    def binding_limit(self, inst: Instance, r: int, pallets: float) -> _Piece:
        """Without a re-solve: the first limit of the plan that binds before the day."""
        b = self.built
        k, p, t = int(b.short_plant[r]), int(b.short_product[r]), int(b.short_day[r])
        c, plant = int(b.product_cat[p]), b.locations[k]
        note = (" Not re-solved (Out Why's time for re-solves was used up): this is the "
                "first limit of the plan that binds, not a proven cause.")
        n = b.reception.get(k)
        days = [d for d in range(t + 1) if n is not None and self._trucks_in(k, d) >= n - _TOL]
        if days:
            return _Piece(k, p, t, pallets, RECEPTION,
                          f"{plant} received its max_inbound_trucks of {_num(n)} on "
                          f"{_days(inst, days)}." + note,
                          f"raise max_inbound_trucks of {plant} above {_num(n)}")
        full = sorted((d, loc) for (loc, cat, d) in self.storage if cat == c and d < t
                      and self._held(loc, c, d) >= b.capacity[loc, c] - _TOL)
        if full:
            d, loc = full[0]
            return _Piece(k, p, t, pallets, STORAGE,
                          f"{b.locations[loc]} storage of {b.categories[c]} was full on "
                          f"{_day(inst, d)} ({_num(b.capacity[loc, c])})." + note,
                          f"raise the {b.categories[c]} capacity of {b.locations[loc]}")
        return _Piece(k, p, t, pallets, CHEAPER,
                      "No reception or storage limit binds before the day." + note,
                      "raise shortage_penalty")

    def _trucks_in(self, k: int, d: int) -> float:
        b = self.built
        m = (b.lane_to[b.truck_lane] == k) & (b.truck_day == d)
        return float(self.x[b.truck_cols[m]].sum())

    def _held(self, loc: int, c: int, d: int) -> float:
        b = self.built
        pairs = np.nonzero((b.pair_loc == loc) & (b.product_cat[b.pair_product] == c))[0]
        return float(self.x[self.stock[pairs, d]].sum())

    def resolve(self, p: int, r: int, pallets: float, groups: list) -> Resolve | None:
        """Re-solve product p with shortage row r smaller by ``pallets``.

        Every other column keeps its value in the plan. Each group (kind, location, rows)
        gets one slack column that raises the upper bound of all its rows alike.
        Returns a :class:`Resolve`, or None when it is infeasible; raises _OutOfTime
        when Out Why's time ends before the re-solve proves either.
        """
        b, x, lp = self.built, self.x, self.built.lp
        flows = b.flow_product == p
        pairs = np.nonzero(b.pair_product == p)[0]
        shorts = np.nonzero(b.short_product == p)[0]
        keep = np.unique(np.concatenate([
            b.flow_cols[flows], self.stock[pairs].ravel(), b.short_cols[shorts],
            b.truck_cols[np.unique(b.flow_truck[flows])]]))
        is_kept = np.zeros(lp.n_cols, bool)
        is_kept[keep] = True
        local_col = np.full(lp.n_cols, -1)
        local_col[keep] = np.arange(len(keep))
        nz = np.nonzero(is_kept[lp.a_index])[0]
        slack_rows = np.array([row for _, _, rows in groups for row in rows], dtype=np.int64)
        slack_of = np.repeat(np.arange(len(groups)), [len(g[2]) for g in groups])
        rows = np.unique(np.concatenate([self.nz_row[nz], slack_rows]))
        local_row = np.full(lp.n_rows, -1)
        local_row[rows] = np.arange(len(rows))
        kept_activity = np.bincount(self.nz_row[nz], weights=lp.a_value[nz] * x[lp.a_index[nz]],
                                    minlength=lp.n_rows)[rows]
        fixed = self.activity[rows] - kept_activity
        n_slack = len(groups)
        upper = lp.upper[keep].copy()
        # Truck bounds implied by the origin's capacity (model.define_trucks) would hide a
        # raised capacity: only Lanes.max_trucks bounds the trucks here.
        trucks = np.unique(b.flow_truck[flows])
        lane_max = b.lane_max[b.truck_lane[trucks]]
        upper[local_col[b.truck_cols[trucks]]] = np.where(np.isnan(lane_max), INF,
                                                          np.floor(lane_max))
        # this shortage smaller by `pallets`, the product's other shortages no larger
        upper[local_col[b.short_cols[shorts]]] = x[b.short_cols[shorts]]
        upper[local_col[b.short_cols[r]]] = max(x[b.short_cols[r]] - pallets, 0.0)
        r_idx = np.concatenate([local_row[self.nz_row[nz]], local_row[slack_rows]])
        c_idx = np.concatenate([local_col[lp.a_index[nz]], len(keep) + slack_of])
        vals = np.concatenate([lp.a_value[nz], -np.ones(len(slack_rows))])
        start, index, value = csr(r_idx, c_idx, vals, len(rows))
        local = LinearProgram(
            cost=np.concatenate([lp.cost[keep], np.full(n_slack, _SLACK_COST)]),
            lower=np.concatenate([lp.lower[keep], np.zeros(n_slack)]),
            upper=np.concatenate([upper, np.full(n_slack, INF)]),
            integrality=np.concatenate([lp.integrality[keep], np.zeros(n_slack, np.int8)]),
            row_lower=lp.row_lower[rows] - fixed, row_upper=lp.row_upper[rows] - fixed,
            a_start=start, a_index=index, a_value=value)
        left = min(_LOCAL_SECONDS, self.deadline - time.perf_counter())
        # No re-solve starts with less time left than the longest so far took: HiGHS in
        # this process runs a few tenths of a second past a short limit (pd-net-250x30's
        # Out Why ended 0.4 s past its time, and the run past its limit).
        if left <= self.longest:
            raise _OutOfTime
        t0 = time.perf_counter()
        res = solve(local, SolveOptions(time_limit=left, mip_gap=0.0, threads=1,
                                        isolate=False))
        self.longest = max(self.longest, time.perf_counter() - t0)
        if res.status == INFEASIBLE:
            return None
        if res.status != OPTIMAL or res.x is None:
            # Cut short: neither a cause nor its absence is proven (the caller says so).
            raise _OutOfTime
        y = res.x[:len(keep)]
        n_kept_nz = len(nz)
        act = np.bincount(r_idx[:n_kept_nz], weights=vals[:n_kept_nz] * y[c_idx[:n_kept_nz]],
                          minlength=len(rows)) + fixed
        over = {int(row): float(act[local_row[row]]) for row in slack_rows}
        change = float(lp.cost[keep] @ y) - float(lp.cost[keep] @ x[keep])
        served = float(x[b.short_cols[shorts]].sum() - y[local_col[b.short_cols[shorts]]].sum())
        plan = x.copy()
        plan[keep] = y
        return Resolve(change, max(served, pallets), res.x[len(keep):], over, plan)


# ---------------------------------------------------------------------------
# The frame


def _frame(inst: Instance, built: Built, pieces: list[_Piece]) -> pd.DataFrame:
    G = built.shortage_penalty
    return pd.DataFrame({
        "item": [f"{built.products[q.product]} at {built.locations[q.plant]} on "
                 f"{_day(inst, q.day)}" for q in pieces],
        "shortfall": [f"{_pallets(q.pallets)} short" for q in pieces],
        "cause": [q.cause for q in pieces],
        "detail": [q.detail for q in pieces],
        "what_would_fix_it": [q.fix for q in pieces],
        "cost": [q.pallets * G for q in pieces],
        "day": [inst.day_label(q.day + 1) for q in pieces],
        "plant": [built.locations[q.plant] for q in pieces],
        "product": [built.products[q.product] for q in pieces],
        "pallets": [q.pallets for q in pieces],
    }, columns=[*OUT_WHY.column_names, "pallets"])


def _day(inst: Instance, t: int) -> str:
    label = inst.day_label(int(t) + 1)
    return f"day {label}" if isinstance(label, int) else label.isoformat()


def _days(inst: Instance, days) -> str:
    return ", ".join(_day(inst, d) for d in days)


def _pallets(v: float) -> str:
    return f"{_num(v)} pallet{'' if abs(v - 1) < 1e-9 else 's'}"


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-6 else f"{v:,.2f}"


def _money(v: float) -> str:
    return f"{v:,.2f}"
