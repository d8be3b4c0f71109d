"""The constructive start plan: day by day, respecting every constraint of the model.

It gives the solve a whole-pallet plan within milliseconds, so a planner gets a plan
even when the time limit is too short for HiGHS to find one, and HiGHS starts from it
(docs/production_distribution.md, "How it is solved"). Greedy rules, per day:

1. each supplier lot goes to the plant when the plant needs the product (today or
   later) and has room, else to the warehouse with room where handling plus one night
   of storage is cheapest;
2. the plant's demand is served from its stock and that day's arrivals, then from
   warehouses that held the product overnight (whole pallets), the rest is a shortage;
   the room left in the trucks that rule opened then carries, from the same warehouse,
   what the plant needs on later days (earliest first), while the plant has room;
3. if the plant's end-of-day stock exceeds its capacity, products needed latest go
   back to warehouses with room.

Trucks are the loads rounded up; a lane or the plant's reception limit that would be
exceeded makes the rule try the next option.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import partial

import numpy as np

from .model import Built


class _Day:
    """The plan being built and the state of the day being planned."""

    def __init__(self, built: Built):
        self.built = built
        self.lane_of: dict[tuple[int, int], int] = {
            (int(a), int(b)): lane for lane, (a, b) in enumerate(zip(built.lane_from,
                                                                    built.lane_to))}
        self.flows: dict[tuple[int, int, int], float] = defaultdict(float)  # (p, lane, t)
        self.loads = np.zeros((len(built.lane_from), built.n_days))  # truckloads

    def begin(self, t: int, stock: np.ndarray) -> None:
        """Start day ``t`` from the end-of-day stock of day t−1."""
        built = self.built
        self.t = t
        self.prev = stock.copy()
        self.level = stock.copy()  # running end-of-day stock
        self.shipped = np.zeros(len(built.pair_product))  # leaving each pair today (≤ prev)
        self.inbound: dict[int, int] = defaultdict(int)  # trucks into each plant today
        self.room = {(loc, u): built.capacity[loc, u] - self._usage(loc, u, self.prev)
                     for loc in range(len(built.locations))
                     for u in range(len(built.truck_capacity))
                     if built.loc_type[loc] != "supplier"}

    def _usage(self, loc: int, u: int, level: np.ndarray) -> float:
        built = self.built
        sel = (built.pair_loc == loc) & (built.product_cat[built.pair_product] == u)
        return float(level[sel].sum())

    def try_move(self, p: int, a: int, b: int, q: float) -> bool:
        """Move ``q`` pallets of ``p`` from ``a`` to ``b`` today if every limit allows."""
        built, t = self.built, self.t
        lane = self.lane_of.get((a, b))
        if lane is None or q <= 0 or built.pair_of[p, b] < 0:
            return False
        u = built.product_cat[p]
        old, new = self.loads[lane, t], self.loads[lane, t] + q / built.truck_capacity[u]
        extra = math.ceil(new - 1e-9) - math.ceil(old - 1e-9)
        if not np.isnan(built.lane_max[lane]) and math.ceil(new - 1e-9) > built.lane_max[lane]:
            return False
        if b in built.reception and self.inbound[b] + extra > built.reception[b]:
            return False
        self.loads[lane, t] = new
        self.inbound[b] += extra if built.loc_type[b] == "plant" else 0
        self.flows[(p, lane, t)] += q
        if built.loc_type[a] != "supplier":
            self.shipped[built.pair_of[p, a]] += q
            self.level[built.pair_of[p, a]] -= q
            self.room[(a, u)] += q
        self.level[built.pair_of[p, b]] += q
        self.room[(b, u)] -= q
        return True


def greedy_plan(built: Built) -> np.ndarray | None:
    """A whole-pallet plan as a column vector of the model.

    Parameters
    ----------
    built : Built
        The model to plan for.

    Returns
    -------
    numpy.ndarray or None
        The plan, or None when the rules cannot place everything (the MIP decides).
    """
    T = built.n_days
    cat_of = built.product_cat
    loc_type = built.loc_type
    pair_of = built.pair_of
    whole = built.integer_pallets
    lanes_from: dict[int, list[int]] = defaultdict(list)
    for lane, a in enumerate(built.lane_from):
        lanes_from[int(a)].append(lane)
    n_pairs = len(built.pair_product)
    stock = built.start_stock.copy()  # end of the previous day, per pair
    stock_hist = np.zeros((n_pairs, T))
    short = np.zeros((n_pairs, T))
    sup_p, sup_i = built.supply_product, built.supply_supplier
    sup_t, sup_q = built.supply_day, built.supply_pallets
    plants = [k for k in range(len(built.locations)) if loc_type[k] == "plant"]
    day = _Day(built)

    def need_from(p: int, k: int, from_day: int) -> float:
        pair = pair_of[p, k]
        return 0.0 if pair < 0 else float(built.demand[pair, from_day:].sum())

    for t in range(T):
        day.begin(t, stock)
        prev, level, shipped, room = day.prev, day.level, day.shipped, day.room

        # 1. supplier lots
        for r in np.flatnonzero(sup_t == t):
            p, i, q = int(sup_p[r]), int(sup_i[r]), float(sup_q[r])
            u = cat_of[p]
            placed = False
            for k in plants:
                if (need_from(p, k, t) > 0 and room.get((k, u), 0) >= q
                        and day.try_move(p, i, k, q)):
                    placed = True
                    break
            if placed:
                continue
            options = []
            for lane in lanes_from[i]:
                b = int(built.lane_to[lane])
                if loc_type[b] == "warehouse" and room.get((b, u), 0) >= q:
                    options.append((built.lane_pallet_cost[lane] + built.storage_cost[b, u], b))
            for _, b in sorted(options):
                if day.try_move(p, i, b, q):
                    placed = True
                    break
            if not placed:
                for k in plants:  # the plant as a last resort, if it has room
                    if room.get((k, u), 0) >= q and day.try_move(p, i, k, q):
                        placed = True
                        break
            if not placed:
                return None

        # 2. the plant's demand
        for k in plants:
            for pair in np.flatnonzero((built.pair_loc == k) & (built.demand[:, t] > 0)):
                p = int(built.pair_product[pair])
                missing = built.demand[pair, t] - level[pair]
                for lane in lanes_into(built, k):
                    if missing <= 1e-9:
                        break
                    j = int(built.lane_from[lane])
                    src = pair_of[p, j]
                    if loc_type[j] == "supplier" or src < 0:
                        continue
                    avail = prev[src] - shipped[src]
                    q = min(avail, math.ceil(missing - 1e-9) if whole else missing)
                    if whole:
                        q = math.floor(q + 1e-9)
                    if q > 0 and day.try_move(p, j, k, q):
                        missing -= q
                use = min(level[pair], built.demand[pair, t])
                level[pair] -= use
                room[(k, cat_of[p])] += use
                if built.demand[pair, t] - use > 1e-12:
                    short[pair, t] = built.demand[pair, t] - use
            fill_trucks(day, k)

        # 3. plant over capacity: send back what is needed latest
        for k in plants:
            for u in range(len(built.truck_capacity)):
                over = -room.get((k, u), 0.0)
                if over <= 1e-9:
                    continue
                cands = [pair for pair in np.flatnonzero((built.pair_loc == k)
                                                         & (cat_of[built.pair_product] == u))
                         if prev[pair] - shipped[pair] >= 1]
                cands.sort(key=partial(_needed_later_first, built.demand, t + 1))
                for pair in cands:
                    if over <= 1e-9:
                        break
                    p = int(built.pair_product[pair])
                    q = min(math.floor(prev[pair] - shipped[pair] + 1e-9),
                            math.ceil(over - 1e-9), math.floor(level[pair] + 1e-9))
                    for lane in lanes_from[k]:
                        b = int(built.lane_to[lane])
                        if q > 0 and room.get((b, u), 0) >= q and day.try_move(p, k, b, q):
                            over -= q
                            break
                if over > 1e-9:
                    return None
        if any(v < -1e-6 for v in room.values()):
            return None
        stock = level
        stock_hist[:, t] = level
    return _as_vector(built, day.flows, stock_hist, short, day.loads)


def fill_trucks(day: _Day, k: int) -> None:
    """Fill the room left in today's trucks into plant ``k`` with what the plant needs on
    later days, from the same warehouse, earliest need first, while the plant has room.

    A truck is paid whole: pallets that ride in its spare room now save a truck on a
    later day and cost only the night(s) at the plant instead of at the warehouse.
    """
    built, t = day.built, day.t
    later = built.demand[:, t + 1:]
    if not later.size:
        return
    # The plant's pairs with later demand, earliest need first (once for all its lanes).
    needing = np.flatnonzero((built.pair_loc == k) & (later.sum(axis=1) > 1e-9))
    needing = needing[np.argsort(np.argmax(later[needing] > 0, axis=1), kind="stable")]
    for lane in lanes_into(built, k):
        j = int(built.lane_from[lane])
        if built.loc_type[j] == "supplier" or day.loads[lane, t] <= 1e-9:
            continue
        src = built.pair_of[built.pair_product[needing], j]
        ok = src >= 0
        at_k, src = needing[ok], src[ok]
        avail = day.prev[src] - day.shipped[src]
        has = avail >= 1 - 1e-9
        at_k, avail = at_k[has], avail[has]
        for i in range(len(at_k)):
            pair = int(at_k[i])
            p = int(built.pair_product[pair])
            u = built.product_cat[p]
            cap = built.truck_capacity[u]
            spare = (math.ceil(day.loads[lane, t] - 1e-9) - day.loads[lane, t]) * cap
            uncovered = later[pair].sum() - day.level[pair]
            q = math.floor(min(avail[i], math.ceil(uncovered - 1e-9), spare + 1e-9,
                               day.room.get((k, u), 0.0) + 1e-9))
            if q >= 1:
                day.try_move(p, j, k, float(q))


def lanes_into(built: Built, k: int) -> list[int]:
    """Lanes into ``k``, cheapest handling first."""
    lanes = [lane for lane in range(len(built.lane_to)) if built.lane_to[lane] == k]
    return sorted(lanes, key=lambda lane: built.lane_pallet_cost[lane])


def _needed_later_first(demand: np.ndarray, from_day: int, pair: int) -> int:
    return -_next_need(demand[pair], from_day)


def _next_need(demand_row: np.ndarray, from_day: int) -> int:
    later = np.flatnonzero(demand_row[from_day:] > 0)
    return int(later[0]) if len(later) else 10**6


def _as_vector(built: Built, flows, stock_hist, short, loads) -> np.ndarray | None:
    """The plan as a column vector of the model (None if it uses a missing column)."""
    T = built.n_days
    n_lanes = len(built.lane_from)
    x = np.zeros(built.lp.n_cols)
    keys = (built.flow_product * n_lanes + built.flow_lane) * T + built.flow_day
    order = np.argsort(keys)
    for (p, lane, t), q in flows.items():
        key = (p * n_lanes + lane) * T + t
        i = np.searchsorted(keys[order], key)
        if i >= len(order) or keys[order[i]] != key:
            return None
        x[built.flow_cols[order[i]]] = q
    x[built.stock_cols] = np.maximum(stock_hist, 0).ravel()
    pair_short = np.full((len(built.pair_product), T), -1, dtype=np.int64)
    short_pair = built.pair_of[built.short_product, built.short_plant]
    pair_short[short_pair, built.short_day] = np.arange(len(built.short_cols))
    for pair, t in zip(*np.nonzero(short > 0)):
        j = pair_short[pair, t]
        if j < 0:
            return None
        x[built.short_cols[j]] = short[pair, t]
    x[built.truck_cols] = np.ceil(loads[built.truck_lane, built.truck_day] - 1e-9)
    return x
