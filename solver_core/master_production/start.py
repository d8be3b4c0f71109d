"""Start plans and rounding that keep capacity and MOQ exactly.

docs/master_production.md, "Start plans" and "Rounding and re-evaluation":

- :func:`greedy_plan`: week by week, cover demand (pre-building where factories are
  full), then targets, in whole units, respecting MOQ and capacity.
- :func:`moq_orders_from_lp`: which MOQ orders to place, read off the LP relaxation.
- :func:`polish_with_fixed_orders`: re-optimise a plan's quantities by an LP with its
  MOQ orders fixed, then round.
- :func:`resplit`: re-optimise a plan's quantities over the whole horizon by an LP with
  its MOQ orders and its weeks of lost sales fixed (a restriction of the model, so its
  plans are as good as its LP says), rounded, repeated while that gets cheaper.
- :func:`best_start`: the cheapest of these, as HiGHS's MIP start (without one HiGHS
  may find no plan at all in the time there is).
- :func:`round_plan`: turns continuous order quantities into whole units. Each SKU's
  cumulative arrivals are rounded up (rounding order by order drifts a unit short);
  capacity rows are kept by giving units back to later orders, and MOQ orders snap
  to 0 or ≥ MOQ.
- :func:`repair_rounding`: a rounded plan made cheaper where the rounding cost most, by
  each SKU's exact DP and small whole-unit MIPs of the SKUs sharing factory-weeks.
- :func:`improve_by_groups`: a plan improved by the MIPs of small groups of SKUs, the
  other SKUs' orders held (phase 2, alongside HiGHS's searches); several such searches
  can improve one :class:`SharedPlan` at once.
- :func:`start_vector`: a plan as the full column vector HiGHS takes as its start.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .. import control, highs
from .model import Component, Layout, build_model, sub_component
from .simulate import capacity_used, component_cost, project, sku_costs
from .sku_dp import (
    ExactBound,
    best_priced,
    capacity_free,
    lagrangian,
    several_orders_a_week,
)

EPS = 1e-9
# Improvement by SKU groups: a group's MIP with the other SKUs held is small enough for
# HiGHS to improve in a second or two, where the whole component's MIP can spend minutes
# in its root. Groups of GROUP_SKUS, rounds of GROUP_SECONDS (longer where needed).
GROUP_SKUS = 30
GROUP_SECONDS = 2.0
# A round that runs out of time with nothing better doubles the next rounds' time, up to
# this: on a 52-week horizon 2 s rounds found nothing in 60 s, 6 s ones 11% cheaper plans.
GROUP_MAX_SECONDS = 4 * GROUP_SECONDS
# A stream given a longest time goes on past its own while the plan was improved (by any
# stream) within the last STALL_ROUNDS of its rounds.
STALL_ROUNDS = 2
# A round's MIP of up to GROUP_COLUMNS columns gets GROUP_SECONDS at first (30 SKUs of a
# 26-week component: about 3,750); a larger one more in proportion, so that the first
# rounds are not too short to find anything (60 SKUs × a 13-week window of a 52-week
# component, 7,000–9,000 columns: HiGHS's first plan came after 4–6 s).
GROUP_COLUMNS = 4000
# Over a long horizon a round decides a window of WINDOW_WEEKS weeks of arrivals, the
# rest held, for WINDOW_SKUS SKUs: a group's MIP over 52 weeks improves far slower than
# over 26 (on 200 SKUs × 10 factories × 52 weeks, from a 2.84M plan, 60 s of one thread:
# whole horizons 2.42–2.55M, 13-week windows of 60 SKUs 2.38–2.45M, in four draws each;
# on 26 weeks windows gained nothing).
WINDOW_WEEKS = 13
WINDOW_SKUS = 2 * GROUP_SKUS
# The first stream of rounds re-splits the plan (resplit) whenever it was improved since
# its last re-split, at most once every RESPLIT_SECONDS.
RESPLIT_SECONDS = 5.0
# repair_rounding's MIP of a SKU made dearer by the rounding and the SKUs also fractional
# in its factory-weeks (2–5 SKUs: most proven within 0.8 s, the rest improved in 0.5 s);
# where none is, the REPAIR_PARTNERS with units there cheapest to hold. Adding those to
# every group made the MIPs too large to improve in time (600 SKUs × 30 factories, 4 s:
# 2,327,090 with one more, 2,327,123 with two, against 2,327,045).
REPAIR_ROUND_SECONDS = 0.5
REPAIR_PARTNERS = 3
DP_MIN_SECONDS = 0.25  # start-plan budget per component below which the per-SKU DP is skipped
LAGRANGIAN_SHARE = 0.75  # of the start-plan budget, at most, for the Lagrangian dual
REPAIR_RESERVE_LPS = 3  # LP solves kept from the Lagrangian: a plan's repair, the re-split


def _fits(used: float, cap: float) -> bool:
    return used <= cap * (1 + 1e-12) + 1e-9


def greedy_plan(comp: Component, start: np.ndarray | None = None) -> np.ndarray:
    """Whole-unit order quantities per candidate order (a feasible plan).

    With ``start`` (a feasible whole plan), its orders are kept and only what they
    leave uncovered is added (a repair step).

    Week by week: first cover each SKU's demand (highest lost-sales cost first), from
    orders arriving that week or, when their factories are full, from earlier weeks
    with room (pre-build) while holding it is cheaper than losing it; then lift stock
    to the target where the shortfall costs something. MOQ: a new order holds at least
    the MOQ, or is not placed.
    """
    P, T = comp.demand.shape
    qty = np.zeros(comp.n_orders) if start is None else np.array(start, float)
    if not comp.n_orders:
        return qty
    left = comp.capacity.copy()
    np.subtract.at(left, (comp.order_factory, comp.capacity_week), comp.order_use * qty)
    planned = np.zeros((P, T))
    np.add.at(planned, (comp.order_sku, comp.arrival_week), qty)
    upper = np.floor(comp.order_upper + 1e-9)
    slots: dict[tuple[int, int], list[int]] = {}
    for k in np.argsort(comp.arrival_week, kind="stable"):
        slots.setdefault((int(comp.order_sku[k]), int(comp.arrival_week[k])), []).append(int(k))

    def place(k: int, need: float) -> float:
        f, c, use = comp.order_factory[k], comp.capacity_week[k], comp.order_use[k]
        room = min(np.floor(left[f, c] / use + 1e-9), upper[k] - qty[k])
        q = min(np.ceil(need - 1e-9), room)
        moq = comp.moq[comp.order_sku[k]]
        if qty[k] == 0 and moq > 1.0:
            if room < moq:
                return 0.0
            q = max(q, moq)
        if q < 1:
            return 0.0
        qty[k] += q
        left[f, c] -= q * use
        return q

    def cover(p: int, t: int, need: float, earliest: int) -> float:
        got = 0.0
        for a in range(t, earliest - 1, -1):
            # Pre-building pays only while holding it is cheaper than losing the sale.
            if a < t and comp.holding_cost[p] * (t - a) >= comp.lost_sales_cost[p]:
                break
            ks = slots.get((p, a), ())
            # Orders already placed first (no MOQ to reach), then the most room.
            for k in sorted(ks, key=lambda k: (qty[k] <= 0, -left[comp.order_factory[k],
                                                                  comp.capacity_week[k]]
                                               / comp.order_use[k])):
                if got >= need - EPS:
                    return got
                got += place(k, need - got)
            if got >= need - EPS:
                break
        return got

    stock = comp.inventory.astype(float).copy()
    first = np.full(P, T)
    np.minimum.at(first, comp.order_sku, comp.arrival_week)
    by_lost = np.argsort(-comp.lost_sales_cost, kind="stable")
    by_short = np.argsort(-comp.target_shortfall_cost, kind="stable")
    for t in range(T):
        avail = stock + comp.po_arrivals[:, t] + planned[:, t]
        for p in by_lost:
            short = comp.demand[p, t] - avail[p]
            if short > EPS and t >= first[p]:
                avail[p] += cover(p, t, short, first[p])  # earlier arrivals: carried to t
        for p in by_short:
            short = comp.target[p, t] - avail[p]
            worth_it = comp.target_shortfall_cost[p] > comp.holding_cost[p]
            if short > EPS and worth_it and t >= first[p]:
                avail[p] += cover(p, t, short, t)
        stock = np.maximum(avail - comp.demand[:, t], 0.0)
    return qty


def round_plan(comp: Component, x: np.ndarray) -> np.ndarray:
    """Whole units from (near-)continuous quantities, keeping capacity and MOQ exactly.

    Each SKU is rounded along its arrival weeks so that its cumulative arrivals are the
    continuous ones rounded up: never a unit short, never a unit over. Rounding each
    order on its own drifts, and a SKU left a unit short for the rest of the horizon
    pays target shortfall or lost sales every week (0.14% of the whole cost on a
    2 × 300-SKU workbook; 0.004% this way). MOQ orders below their MOQ close. A
    factory-week left over capacity gives back the units rounded up there, those of the
    SKUs whose shortfall costs least first, each to the SKU's next order with room (as
    does an order above its upper limit, which may be fractional); one still over
    (solver tolerance) gives back units from its largest orders.
    """
    x = np.clip(np.nan_to_num(np.asarray(x, float)), 0.0, None)
    upper = np.floor(comp.order_upper + 1e-9)
    moq = comp.moq[comp.order_sku]
    has_moq = moq > 1.0
    closed = has_moq & (x < moq - 1e-6)
    x = np.where(closed, 0.0, np.minimum(x, comp.order_upper))
    # Cumulative arrivals per SKU (orders by SKU, then arrival week), rounded up.
    order = np.lexsort((comp.order_factory, comp.arrival_week, comp.order_sku))
    sku = comp.order_sku[order]
    first = np.r_[True, sku[1:] != sku[:-1]]
    total = np.cumsum(x[order])
    before_sku = (total - x[order])[first][np.cumsum(first) - 1]
    up_to = np.ceil(total - before_sku - 1e-6)
    q = np.empty_like(x)
    q[order] = up_to - np.where(first, 0.0, np.r_[0.0, up_to[:-1]])
    q = np.where(closed, 0.0, np.maximum(q, 0.0))
    T = comp.n_weeks
    key = comp.order_factory * T + comp.capacity_week
    cap = comp.capacity.ravel()
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    shortfall_cost = (comp.lost_sales_cost + comp.target_shortfall_cost)[comp.order_sku]

    def pass_on(k: int) -> None:
        """One unit order ``k`` could not take to its SKU's next order with room."""
        for j in order[position[k] + 1:]:
            if comp.order_sku[j] != comp.order_sku[k]:
                return
            h = key[j]
            if (q[j] > 0 or not has_moq[j]) and q[j] + 1 <= upper[j] and \
                    _fits(used[h] + comp.order_use[j], cap[h]):
                q[j] += 1
                used[h] += comp.order_use[j]
                return

    # An order above its (fractional) upper limit: the unit goes to a later order.
    over_upper = np.flatnonzero(q > upper)
    q[over_upper] = upper[over_upper]
    used = np.zeros(comp.capacity.size)
    np.add.at(used, key, comp.order_use * q)
    for k in over_upper[np.argsort(position[over_upper])]:
        pass_on(k)
    for g in np.flatnonzero(used > cap * (1 + 1e-12) + 1e-9):
        ks = np.flatnonzero(key == g)
        rounded_up = ks[(q[ks] > x[ks] + 1e-9) & (~has_moq[ks] | (q[ks] - 1 >= moq[ks]))]
        for k in rounded_up[np.argsort(shortfall_cost[rounded_up], kind="stable")]:
            if _fits(used[g], cap[g]):
                break
            q[k] -= 1
            used[g] -= comp.order_use[k]
            pass_on(k)
        # Still over (the solver's tolerance): units back from the largest orders.
        for k in ks[np.argsort(-q[ks])]:
            while q[k] > 0 and not _fits(used[g], cap[g]):
                step = 1.0 if not has_moq[k] or q[k] - 1 >= moq[k] else q[k]
                q[k] -= step
                used[g] -= step * comp.order_use[k]
            if _fits(used[g], cap[g]):
                break
    return q


def repair_rounding(comp: Component, x: np.ndarray, qty: np.ndarray, seconds: float,
                    stop=None) -> np.ndarray:
    """The rounded plan ``qty`` of continuous quantities ``x`` made cheaper where the
    rounding cost most; ``qty`` itself when nothing cheaper is found.

    Where the relaxed model fills a factory-week with fractional orders, rounding gives
    units back to a SKU's later orders, and that SKU runs short until then (600 SKUs ×
    30 factories without MOQ: 16 SKUs dearer, 556 above the relaxed plan in all, one
    unit pushed 18 weeks on). First each SKU made dearer is re-planned alone by its
    exact DP within the capacity the others leave (earlier orders with room, say);
    then, dearest first, it and some SKUs with units in its fractional factory-weeks get
    a whole-unit MIP (:func:`model.sub_component`) of at most REPAIR_ROUND_SECONDS, to
    trade units among them. On that plan: 556 → 415 by the DP in 0.5 s, → 276 with the
    MIPs.
    """
    t0 = time.perf_counter()
    x = np.clip(np.asarray(x, float), 0.0, None)
    loss = sku_costs(comp, qty) - sku_costs(comp, x)
    dearer = [int(p) for p in np.argsort(-loss) if loss[p] > EPS * max(1.0, abs(loss[p]))]
    if not dearer:
        return qty
    best, cost = qty, component_cost(comp, qty)

    def keep_if_cheaper(part_plan: np.ndarray, kept: np.ndarray) -> None:
        nonlocal best, cost
        q = best.copy()
        q[kept] = part_plan
        c = component_cost(comp, q)
        if c < cost - EPS * max(cost, 1.0) and not check_plan(comp, q):
            best, cost = q, c

    def alone(skus) -> None:
        for p in skus:
            if control.requested(stop) or time.perf_counter() - t0 >= seconds:
                return
            keep = np.zeros(comp.n_skus, bool)
            keep[p] = True
            part, kept = sub_component(comp, keep, best)
            found = capacity_free(part, exact=True)
            if found is not None:
                keep_if_cheaper(found.quantity, kept)

    alone(dearer)
    fractional = np.abs(x - np.round(x)) > 1e-6
    cell = comp.order_factory * comp.n_weeks + comp.capacity_week
    for p in dearer:
        left = seconds - (time.perf_counter() - t0)
        if left < 0.1 or control.requested(stop):
            break
        # Its partners: the SKUs also fractional in its factory-weeks, or where none is,
        # those with units there cheapest to hold (a unit made earlier frees the week).
        here = np.isin(cell, cell[fractional & (comp.order_sku == p)]) & (best > 0)
        others = np.unique(comp.order_sku[here])
        others = others[others != p]
        split = np.isin(others, comp.order_sku[here & fractional])
        partners = others[split] if split.any() else \
            others[np.argsort(comp.holding_cost[others], kind="stable")[:REPAIR_PARTNERS]]
        keep = np.zeros(comp.n_skus, bool)
        keep[partners] = True
        keep[p] = True
        part, kept = sub_component(comp, keep, best)
        lp, layout = build_model(part, integer=True)
        res = highs.solve(lp, highs.SolveOptions(
            time_limit=min(REPAIR_ROUND_SECONDS, left), mip_gap=1e-6, threads=1,
            isolate=False, start=start_vector(part, layout, best[kept])), stop=stop)
        if res.x is not None:
            keep_if_cheaper(round_plan(part, res.x[layout.x]), kept)
    alone(dearer)  # the trades may leave room a SKU alone can now use
    return best


def check_plan(comp: Component, q: np.ndarray) -> list[str]:
    """Problems of a plan (whole units, MOQ, bounds, capacity); empty when feasible."""
    bad = []
    if np.any(np.abs(q - np.round(q)) > 1e-9):
        bad.append("fractional quantities")
    moq = comp.moq[comp.order_sku]
    if np.any((moq > 1) & (q > 0) & (q < moq - 1e-9)):
        bad.append("order below MOQ")
    T = comp.n_weeks
    used = np.zeros(comp.capacity.size)
    np.add.at(used, comp.order_factory * T + comp.capacity_week, comp.order_use * q)
    over = used > comp.capacity.ravel() * (1 + 1e-12) + 1e-9
    if over.any():
        bad.append(f"{int(over.sum())} factory-weeks over capacity")
    return bad


def _orders_kept(lp, layout, qty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds that keep the MOQ orders of ``qty``: placed ones (z = 1, x ≥ MOQ)
    stay, the others stay closed (z = 0, x = 0)."""
    has = layout.z >= 0
    placed = has & (qty > 0)
    dropped = has & ~(qty > 0)
    lower, upper = lp.lower.copy(), lp.upper.copy()
    upper[layout.x[dropped]] = 0.0
    upper[layout.z[dropped]] = 0.0
    lower[layout.z[placed]] = 1.0
    return lower, upper


def polish_with_fixed_orders(comp: Component, lp, layout, qty: np.ndarray,
                             time_limit: float = 30.0, stop=None) -> np.ndarray:
    """Re-optimise the quantities of a plan with its set of MOQ orders kept (an LP).

    The MOQ switches z of ``qty`` are fixed (placed orders keep x ≥ MOQ, others stay
    0); quantities, and orders of SKUs without MOQ, are re-optimised by the LP
    relaxation of the rest, then rounded. After a stop (``stop``) ``qty`` as it is.
    """
    lower, upper = _orders_kept(lp, layout, qty)
    relaxed = lp.replace(lower=lower, upper=upper, integrality=np.zeros_like(lp.integrality))
    res = highs.solve(relaxed, highs.SolveOptions(time_limit=time_limit, isolate=False,
                                                  threads=1), stop=stop)
    if res.x is None or res.status == highs.STOPPED:
        return qty
    return round_plan(comp, res.x[layout.x])


def resplit(comp: Component, lp, layout, qty: np.ndarray, time_limit: float,
            stop=None) -> np.ndarray:
    """The plan ``qty`` with its quantities re-optimised over the whole horizon: an LP in
    which every MOQ switch z and every use-stock-first switch e is fixed as in the plan
    (placed orders keep x ≥ MOQ, weeks with lost sales keep no stock, the others meet
    their demand), the quantities free; rounded (:func:`round_plan`), and again from its
    plan while the evaluated cost drops.

    The group rounds hold every other SKU's orders, and over a long horizon all but a
    window of weeks: they cannot move one factory's capacity among many SKUs across the
    year, which this LP does in one solve (200 SKUs × 10 factories × 52 weeks, 0.4 s per
    LP: 2,356,014 → 2,345,304). Fixing e, not relaxing it as
    :func:`polish_with_fixed_orders` does, keeps the LP a restriction of the model: with e
    free the LP holds stock in weeks of lost sales, and its rounded plan cost 2,545,737.
    ``qty`` may break a row (a round's orders put into a plan that moved on: capacity);
    its first re-split plan is then taken whatever its cost, if it keeps every row. Returns
    ``qty`` when nothing cheaper is found within ``time_limit`` or after a stop.
    """
    t0 = time.perf_counter()
    best, cost = qty, (np.inf if check_plan(comp, qty) else component_cost(comp, qty))
    known = layout.e >= 0
    while (left := time_limit - (time.perf_counter() - t0)) > 0 and not control.requested(stop):
        lower, upper = _orders_kept(lp, layout, best)
        switches = start_vector(comp, layout, best)
        lower[layout.e[known]] = upper[layout.e[known]] = switches[layout.e[known]]
        fixed = lp.replace(lower=lower, upper=upper, integrality=np.zeros_like(lp.integrality))
        res = highs.solve(fixed, highs.SolveOptions(time_limit=left, isolate=False, threads=1),
                          stop=stop)
        if res.status != highs.OPTIMAL or res.x is None:
            break
        q = round_plan(comp, res.x[layout.x])
        c = component_cost(comp, q)
        if c >= cost - 1e-9 * max(cost, 1.0) or check_plan(comp, q):
            break
        best, cost = q, c
    return best


def polish_whole_units(comp: Component, lp, layout, qty: np.ndarray, time_limit: float,
                       stop=None) -> np.ndarray:
    """The quantities of a plan re-optimised as whole units, its MOQ orders kept.

    Rounding the relaxed model's quantities (:func:`round_plan`) can cost more than the
    gap asked for; with the MOQ switches z fixed as in ``qty`` this MIP in whole x is
    small. Started from ``qty`` (:func:`start_vector`); ``qty`` itself when nothing better
    is found in ``time_limit`` seconds or after a stop.
    """
    lower, upper = _orders_kept(lp, layout, qty)
    integrality = lp.integrality.copy()
    integrality[layout.x] = 1
    whole = lp.replace(lower=lower, upper=np.maximum(np.floor(upper + 1e-9), lower),
                       integrality=integrality)
    res = highs.solve(whole, highs.SolveOptions(time_limit=time_limit, threads=1,
                                                start=start_vector(comp, layout, qty)),
                      stop=stop)
    if res.x is None:
        return qty
    return round_plan(comp, res.x[layout.x])


def fit_moq_orders(comp: Component, qty: np.ndarray) -> np.ndarray:
    """A plan's MOQ orders thinned until, at the MOQ each, they fit every factory-week.

    Where placed MOQ orders alone overload a factory-week, those of the SKUs with the
    cheapest lost sales go first. The result is for :func:`polish_with_fixed_orders`,
    which needs its placed MOQ orders to fit.
    """
    qty = np.array(qty, float)
    moq = comp.moq[comp.order_sku]
    placed = (moq > 1.0) & (qty > 0)
    least = np.where(placed, moq * comp.order_use, 0.0)
    cell = comp.order_factory * comp.n_weeks + comp.capacity_week
    used = capacity_used(*comp.capacity.shape, comp.order_factory, comp.capacity_week,
                         comp.order_use, np.where(placed, moq, 0.0)).ravel()
    cap = comp.capacity.ravel()
    for c in np.flatnonzero(used > cap * (1 + 1e-12) + 1e-9):
        for k in sorted(np.flatnonzero(placed & (cell == c)),
                        key=lambda k: comp.lost_sales_cost[comp.order_sku[k]]):
            if used[c] <= cap[c] * (1 + 1e-12) + 1e-9:
                break
            qty[k], used[c] = 0.0, used[c] - least[k]
    return qty


def moq_orders_from_lp(comp: Component, x_lp: np.ndarray, share: float) -> np.ndarray:
    """Which MOQ orders to place, read off a relaxation that spreads them thinly.

    The LP relaxation meets a MOQ SKU's demand with small orders every week (its z is
    fractional). Walking the weeks, the SKU's relaxed arrivals are summed from the
    first week with any, and once they reach ``share`` × MOQ one real order is placed
    in that first week (at the factory the LP used most there). Returns a 0/1 mark per
    candidate order (orders of SKUs without MOQ are all marked).
    """
    placed = np.zeros(comp.n_orders, bool)
    moq = comp.moq[comp.order_sku]
    placed[moq <= 1.0] = True
    left = comp.capacity.copy()  # room for the MOQs placed so far, so the LP stays feasible

    def place(at: np.ndarray, q: float) -> None:
        for k in at[np.argsort(-x_lp[at])]:
            f, c = comp.order_factory[k], comp.capacity_week[k]
            if q * comp.order_use[k] <= left[f, c] + 1e-9 and comp.order_upper[k] >= q:
                placed[k] = True
                left[f, c] -= q * comp.order_use[k]
                return

    for p in np.argsort(-comp.lost_sales_cost, kind="stable"):
        if comp.moq[p] <= 1.0:
            continue
        ks = np.flatnonzero(comp.order_sku == p)
        weeks = comp.arrival_week[ks]
        total, first = 0.0, None
        for a in np.unique(weeks):
            flow = float(x_lp[ks[weeks == a]].sum())
            if flow <= 1e-9:
                continue
            if first is None:
                first = a
            total += flow
            if total >= share * comp.moq[p]:
                place(ks[weeks == first], comp.moq[p])
                total, first = 0.0, None
        if first is not None and total >= 0.25 * comp.moq[p]:
            place(ks[weeks == first], comp.moq[p])
    return placed


def drop_unneeded_orders(comp: Component, lp, layout, qty: np.ndarray,
                         share: float = 0.5, stop=None) -> np.ndarray:
    """Close the MOQ orders of a plan that an LP would rather make small.

    The plan's closed MOQ orders stay closed and its placed ones may shrink below the
    MOQ in the LP; those that shrink under ``share`` × MOQ are closed, and the rest is
    re-optimised by :func:`polish_with_fixed_orders`.
    """
    has = layout.z >= 0
    closed = has & ~(qty > 0)
    upper = lp.upper.copy()
    upper[layout.x[closed]] = 0.0
    upper[layout.z[closed]] = 0.0
    relaxed = lp.replace(upper=upper, integrality=np.zeros_like(lp.integrality))
    res = highs.solve(relaxed, highs.SolveOptions(isolate=False, threads=1), stop=stop)
    if res.x is None or res.status == highs.STOPPED:
        return qty
    x = res.x[layout.x]
    keep = ~has | ((qty > 0) & (x >= share * comp.moq[comp.order_sku]))
    return polish_with_fixed_orders(comp, lp, layout, keep.astype(float), stop=stop)


def best_start(comp: Component, lp, layout, time_limit: float, stop=None,
               greedy: np.ndarray | None = None, threads: int = 1, carry: float = 0.0,
               hard: float = np.inf
               ) -> tuple[np.ndarray, float, str, float | None, np.ndarray | None,
                          ExactBound | None, tuple[float, np.ndarray] | None, float]:
    """The cheapest of the start plans (evaluated by simulation), its name, the best
    lower bound found: the LP relaxation's value or the Lagrangian bound from each SKU's
    optimum (:mod:`sku_dp`), whichever is higher (None when neither is known), and the
    orders the first DP plans, the plans column generation's last master uses, or the
    start plan place (None without the DP): a small neighbourhood where HiGHS finds good
    plans fast (see ``solve.solve_component``).

    Candidates, each a whole, capacity- and MOQ-feasible plan: the greedy plan; its
    quantities re-optimised (:func:`polish_with_fixed_orders`); MOQ orders read off the
    LP relaxation (:func:`moq_orders_from_lp`) with quantities from the same LP, then
    what that leaves uncovered filled greedily and re-optimised; finally the best of
    these with needless MOQ orders closed (:func:`drop_unneeded_orders`). After a stop
    requested through ``stop`` (a control.StopToken) no further candidate is tried.
    ``greedy`` is the greedy plan when it is already known. With a second thread
    (``threads``) the Lagrangian bound with exact pricing is sought alongside
    (``sku_dp.ExactBound``) for as long as the rest takes or, given ``carry`` (seconds
    until the component's solve ends), on into phase 2: then it is returned still
    running (sixth item) for phase 2 to collect, and the bound returned is without it.
    The seventh item is the Lagrangian's (value, prices) at its best DP pass (None when
    it did not run), for the SKU-group rounds' regret (:func:`improve_by_groups`); the
    last, the seconds one LP of this component took (0.0: none was solved).

    ``time_limit`` is a budget the search may run past where its later candidates pay
    (the 52-week shape at 120 s: a 30 s budget, 43 s taken, a better plan and bound);
    ``hard`` (seconds until the deadline: ``solve.PHASE1_HARD_SHARE`` of the run) it
    keeps: the Lagrangian leaves time for one repair and the re-split before it, and the
    other candidates are tried only while that much is left.
    """
    plan = greedy_plan(comp) if greedy is None else greedy
    best = [plan, component_cost(comp, plan), "greedy"]
    if not lp.n_cols:
        return (*best, None, None, None, None, 0.0)
    # The LP-based plans take about a second at Anker scale and are far better than
    # greedy: always try them, even when the time is nearly up.
    budget = time_limit  # as given: decides whether the per-SKU DP fits (below)
    time_limit = max(time_limit, 4.0)
    t0 = time.perf_counter()

    def consider(q: np.ndarray, name: str) -> np.ndarray:
        if not check_plan(comp, q):
            cost = component_cost(comp, q)
            if cost < best[1] - 1e-9:
                best[:] = [q, cost, name]
        return q

    def polish(q: np.ndarray) -> np.ndarray:
        return polish_with_fixed_orders(comp, lp, layout, q, time_limit / 4, stop)

    def left() -> float:  # until the deadline
        return t0 + hard - time.perf_counter()

    def room() -> bool:
        """Whether a candidate beyond the heaviest plan's repair and the re-split fits
        before the deadline (without the DP's plans the LP-based ones are all there is)."""
        return hint is None or left() > REPAIR_RESERVE_LPS * lp_seconds

    consider(polish(plan), "greedy, re-optimised")
    lp_seconds = time.perf_counter() - t0  # one LP of this component: a repair's price
    relaxed = lp.replace(integrality=np.zeros_like(lp.integrality))
    res = highs.solve(relaxed, highs.SolveOptions(time_limit=time_limit / 4, isolate=False,
                                                  threads=1), stop=stop)
    lp_bound = res.objective if res.status == highs.OPTIMAL else None
    if control.requested(stop):
        return (*best, lp_bound, None, None, None, lp_seconds)
    # Each SKU's exact optimum without the shared capacity (sku_dp), then with capacity
    # prices (a Lagrangian relaxation): far stronger bounds than the LP's, and plans
    # that are optimal when they fit the capacity and good starts when repaired.
    duals = None
    if res.row_dual is not None and len(layout.capacity_rows):
        duals = np.zeros(comp.capacity.size)
        duals[layout.capacity_cells] = np.maximum(-res.row_dual[layout.capacity_rows], 0.0)
        duals = duals.reshape(comp.capacity.shape)
    # The Lagrangian dual by column generation: a DP pass takes ~0.1 s per hundred SKUs,
    # the dual converges in 2–4 s on the Anker-scale components (three times that on a
    # loaded machine, and cut short its plans repair badly); only when the budget allows.
    # ``budget`` and ``carry`` count from this call: the LPs above took some of them.
    exact = (ExactBound(comp, duals, max(budget, carry) - (time.perf_counter() - t0), stop)
             if threads > 1 and budget >= DP_MIN_SECONDS and several_orders_a_week(comp)
             else None)
    # Its plans are columns for the exact pricing's master, which then converges faster.
    # A repair of its plans and the re-split after it are what win where LPs are slow
    # (200 SKUs × 52 weeks, 1.2 s an LP): their time is kept before the deadline.
    found = (lagrangian(comp, best[1], min(LAGRANGIAN_SHARE * budget,
                                           left() - REPAIR_RESERVE_LPS * lp_seconds),
                        duals, stop, share=None if exact is None else exact.offer)
             if budget >= DP_MIN_SECONDS else None)
    hint, priced = None, None
    if found is not None:
        priced = (found.bound, found.prices)
        # The near search's neighbourhood: the orders of the first DP plans and of the
        # plans the last master uses.
        hint = found.support | np.logical_or.reduce([q > 0 for q in found.plans[:2]])
        lp_bound = found.bound if lp_bound is None else max(lp_bound, found.bound)
        tried = found.plans[:2] + found.plans[2:][-3:]
        if found.heaviest is not None:
            tried.append(found.heaviest)
        for q in tried:
            # Near the deadline only the last is repaired, the master's heaviest plan when
            # it ran: that repairs best (52 weeks: 3.09M where the first DP plans repair
            # to 3.5–3.8M).
            if not check_plan(comp, q):
                consider(q, "each SKU's own optimum")
            elif not control.requested(stop) and (q is tried[-1] or room()):
                consider(polish(fit_moq_orders(comp, q)), "each SKU's own optimum, repaired")
    # The older heuristics, while time is left (less of it once the DP has run).
    # Where capacity binds hard the DP plans repair badly: then the LP-based plan is
    # worth its ~0.3 s whatever the budget.
    half = (budget if hint is not None else time_limit) / 2

    def early() -> bool:
        return time.perf_counter() - t0 < half and room()

    far = not within_gap(best[1], lp_bound, 0.05) and room()
    if control.requested(stop):
        half, far = 0.0, False
    if res.x is not None and (early() or far):
        marks = moq_orders_from_lp(comp, res.x[layout.x], 1.0).astype(float)
        q = consider(polish(marks), "MOQ orders from the LP")
        if not check_plan(comp, q) and early():
            consider(polish(greedy_plan(comp, q)), "MOQ orders from the LP, filled")
    if early() and not within_gap(best[1], lp_bound, 1e-6):
        q = consider(drop_unneeded_orders(comp, lp, layout, best[0], stop=stop),
                     best[2] + ", pruned")
        if not check_plan(comp, q):
            consider(polish(greedy_plan(comp, q)), best[2] + ", filled")
    if not control.requested(stop) and not within_gap(best[1], lp_bound, 1e-6):
        seconds = time_limit / 4 if hint is None else max(min(time_limit / 4, left()),
                                                          2 * lp_seconds)
        consider(resplit(comp, lp, layout, best[0], seconds, stop), best[2] + ", re-split")
    if hint is not None:
        hint |= best[0] > 0
    if exact is not None and carry > 0 and not control.requested(stop):
        exact.step_back()
        return (*best, lp_bound, hint, exact, priced, lp_seconds)
    if exact is not None and (bound := exact.result()) is not None:
        lp_bound = bound if lp_bound is None else max(lp_bound, bound)
        priced = best_priced(priced, exact.priced)
    return (*best, lp_bound, hint, None, priced, lp_seconds)


class SharedPlan:
    """The best plan of a component, improved by several group searches at once. A
    round starts from the plan as it is then; what it finds goes into the plan as it is
    when the round ends or, where another search's change since leaves no room for it
    (capacity), into the plan the round started from, whichever is cheaper."""

    def __init__(self, comp: Component, qty: np.ndarray) -> None:
        self.comp = comp
        self.lock = threading.Lock()
        self._best = (qty, component_cost(comp, qty))
        self.improved_at = time.perf_counter()  # when a stream last made it cheaper
        self._model = None  # the component's relaxed model, for re-splits (built once)

    def model(self):
        """The component's relaxed model (lp, layout), for the re-splits: built once."""
        with self.lock:
            if self._model is None:
                self._model = build_model(self.comp, integer=False)
            return self._model

    @property
    def best(self) -> tuple[np.ndarray, float]:
        """The plan and its cost (one attribute: read together)."""
        return self._best

    def offer(self, base: np.ndarray, kept: np.ndarray, orders: np.ndarray) -> bool:
        """Put ``orders`` (the quantities of the orders ``kept``, found from the plan
        ``base``) into the plan; whether that made it cheaper."""
        with self.lock:
            now, cost = self._best
            found = None
            for plan in [now] if now is base else [now, base]:
                candidate = plan.copy()
                candidate[kept] = orders
                c = component_cost(self.comp, candidate)
                if (c < cost - 1e-9 * max(cost, 1.0) and (found is None or c < found[1])
                        and not check_plan(self.comp, candidate)):
                    found = (candidate, c)
            if found is not None:
                self._best = found
                self.improved_at = time.perf_counter()
            return found is not None


def improve_by_groups(comp: Component, qty: np.ndarray, seconds: float,
                      bound: float | None, gap: float, stop=None, improved=None,
                      shared: SharedPlan | None = None, stream: int = 0,
                      longest: float | None = None, first_round: float = GROUP_SECONDS,
                      prices=None) -> tuple[np.ndarray, float, int]:
    """A whole plan improved group by group: each round solves the MIP of GROUP_SKUS SKUs
    (:func:`model.sub_component`: the other SKUs' orders held, the capacity they leave)
    from the plan, rounds it, and keeps it when the component's evaluated cost drops.
    The group's MIP has relaxed quantities in either mode: its rounded plan is whole and
    checked against the component (``check_plan``), and HiGHS finds such plans far sooner
    than with whole quantities (on 600 SKUs with MOQs: 110k better in one 5 s round,
    against nothing).

    Where the orders' arrivals span more than 2 × ``WINDOW_WEEKS`` weeks, a round decides
    only the arrivals of a window of ``WINDOW_WEEKS`` weeks (drawn evenly) for
    ``WINDOW_SKUS`` SKUs.

    Groups are drawn (seeded, so a workbook gets the same groups) with weight on each
    SKU's regret (:func:`regret`), where the plan has most to gain: with the capacity
    prices of a Lagrangian bound (``prices()``, asked before each round: the best
    known then, or None), its cost in the plan with its capacity use priced above its
    own optimum at those prices; without, above its optimum without the shared
    capacity. Ends after
    ``seconds``, once the plan is within ``gap`` of ``bound``, or after a stop (``stop``,
    a control.StopToken). ``improved(plan, cost)`` is called with every cheaper plan.
    Returns the plan, its cost and the rounds run.

    ``shared``: the plan is improved together with other searches (``qty`` is then
    ignored); each is a ``stream`` of its own, with groups drawn from its own seed. A
    round whose MIP found a cheaper part that does not make the plan cheaper as it is
    (the plan moved on while it ran and its orders no longer fit, or the rounding lost
    the gain) has its orders put into the plan as it is now and every quantity
    re-split (:func:`resplit`).
    ``longest``: the rounds go on past ``seconds``, up to ``longest``, while they keep
    finding cheaper plans (the last one, by any stream, within STALL_ROUNDS rounds).
    ``first_round``: the first round's time (GROUP_SECONDS by default).
    """
    t0 = time.perf_counter()
    shared = SharedPlan(comp, qty) if shared is None else shared
    qty, cost = shared.best
    priced_at = prices() if prices is not None else None
    regret_of = regret(comp, priced_at)
    rng = np.random.default_rng([comp.n_orders, stream] if stream else comp.n_orders)
    rounds = 0
    round_s = first_round
    first, end = (int(comp.arrival_week.min()), int(comp.arrival_week.max()) + 1) \
        if comp.n_orders else (0, 0)
    windowed = end - first > 2 * WINDOW_WEEKS
    group = min(WINDOW_SKUS if windowed else GROUP_SKUS, comp.n_skus)
    resplit_at = t0  # when this stream last re-split the plan (its start is re-split already)
    every = np.ones(comp.n_orders, bool)

    def allowed() -> float:
        if longest is not None and (time.perf_counter() - shared.improved_at
                                    <= STALL_ROUNDS * round_s):
            return max(seconds, longest)
        return seconds

    while (not within_gap(cost, bound, gap) and not control.requested(stop)
           and time.perf_counter() - t0 + round_s <= allowed()):
        now = time.perf_counter()
        if stream == 0 and shared.improved_at > resplit_at and now - resplit_at >= RESPLIT_SECONDS:
            better = shared.offer(qty, every, resplit(comp, *shared.model(), qty,
                                                      allowed() - (now - t0), stop))
            resplit_at = time.perf_counter()  # its own improvement is no reason for another
            if better:
                if improved is not None:
                    improved(*shared.best)
                qty, cost = shared.best
                continue
        if prices is not None and (now_priced := prices()) is not priced_at:
            priced_at, regret_of = now_priced, regret(comp, now_priced)
        weight = regret_of(qty) + 1e-6 * max(cost, 1.0) / comp.n_skus
        keep = np.zeros(comp.n_skus, bool)
        keep[rng.choice(comp.n_skus, group, replace=False, p=weight / weight.sum())] = True
        weeks = None
        if windowed:
            week = int(rng.integers(first, end - WINDOW_WEEKS + 1))
            weeks = (week, week + WINDOW_WEEKS)
        part, kept = sub_component(comp, keep, qty, weeks)
        lp, layout = build_model(part, integer=False)
        sized = min(max(round_s, GROUP_SECONDS * lp.n_cols / GROUP_COLUMNS), GROUP_MAX_SECONDS)
        if time.perf_counter() - t0 + sized > allowed():
            break  # no round runs past the stream's end
        round_s = sized
        rounds += 1
        start = start_vector(part, layout, qty[kept])
        res = highs.solve(lp, highs.SolveOptions(time_limit=round_s, mip_gap=1e-4,
                                                 threads=1, isolate=False, start=start),
                          stop=stop)
        orders = None if res.x is None else round_plan(part, res.x[layout.x])
        if orders is not None and shared.offer(qty, kept, orders):
            if improved is not None:
                improved(*shared.best)
        elif (orders is not None and res.objective is not None
              and res.objective < highs.plan_cost(lp, start) - 1e-6 * max(abs(res.objective), 1.0)):
            # The round's MIP found a cheaper part, lost in its rounding or because the
            # plan moved on meanwhile (the other stream, or a re-split of every SKU's
            # quantities): its orders put into the plan as it is now, quantities re-split,
            # in at most a round's time (52 weeks: 0.3 s an LP, 8 s a round).
            merged = shared.best[0].copy()
            merged[kept] = orders
            if shared.offer(merged, every, resplit(
                    comp, *shared.model(), merged,
                    min(round_s, allowed() - (time.perf_counter() - t0)), stop)):
                if improved is not None:
                    improved(*shared.best)
        elif res.status == highs.TIME_LIMIT:  # too short a round for this component
            round_s = max(round_s, min(2 * round_s, GROUP_MAX_SECONDS))
        qty, cost = shared.best  # another stream may have improved it meanwhile
    return qty, cost, rounds


def regret(comp: Component, prices: np.ndarray | None = None):
    """Per SKU, what a plan costs above the SKU's own optimum (a function of the plan).

    With capacity ``prices`` (a Lagrangian relaxation's, per factory and week) a SKU's
    capacity use is priced on both sides: its cost in the plan plus its orders' use
    at those prices, less its optimum at those prices (:func:`sku_dp.capacity_free`).
    Summed over SKUs that is the plan's distance from the Lagrangian bound less the
    priced capacity it leaves unused, so near the dual prices it says which SKUs hold
    the gap. Without prices it is the cost above the SKU's optimum with all the
    capacity to itself; where capacity binds that is large for every SKU the capacity
    holds back, planned well or not (52 weeks, 200 SKUs × 10 factories: one stream of
    rounds for 60 s from the phase-1 plan, 2,375k–2,403k in six draws; by the priced
    regret 2,359k–2,379k in five of six, and 2,441k in one). Where the DP has no tables
    for the component, the SKU's whole cost.
    """
    free = capacity_free(comp, prices)
    if free is None:
        return lambda qty: np.maximum(sku_costs(comp, qty), 0.0)
    unit = (np.zeros(comp.n_orders) if prices is None else
            prices[comp.order_factory, comp.capacity_week] * comp.order_use)

    def of(qty: np.ndarray) -> np.ndarray:
        priced = np.bincount(comp.order_sku, unit * qty, minlength=comp.n_skus)
        return np.maximum(sku_costs(comp, qty) + priced - free.values, 0.0)
    return of


def within_gap(cost: float, bound: float | None, gap: float) -> bool:
    """Whether a plan of ``cost`` is proven within the relative ``gap`` of ``bound``
    (up to HiGHS's tolerances: a bound of 263.999999 proves a plan of 264 at gap 0)."""
    return bound is not None and cost - bound <= gap * abs(cost) + 1e-6 * max(1.0, abs(cost))


def start_vector(comp: Component, layout: Layout, qty: np.ndarray) -> np.ndarray:
    """Full column vector of a plan (order quantities ``qty``), for HiGHS's MIP start."""
    P, T = comp.demand.shape
    arrivals = np.zeros((P, T))
    np.add.at(arrivals, (comp.order_sku, comp.arrival_week), qty)
    proj = project(comp.inventory, comp.po_arrivals, arrivals, comp.demand, comp.target)
    v = np.zeros(layout.n_cols)
    v[layout.x] = qty
    has_z = layout.z >= 0
    v[layout.z[has_z]] = (qty[has_z] > 0.5).astype(float)
    cp, ct = layout.cells
    v[layout.stock] = proj.ending[cp, ct]
    hu = layout.unmet >= 0
    v[layout.unmet[hu]] = proj.unmet[cp[hu], ct[hu]]
    hs = layout.shortfall >= 0
    v[layout.shortfall[hs]] = proj.shortfall[cp[hs], ct[hs]]
    he = layout.e >= 0
    v[layout.e[he]] = (proj.unmet[cp[he], ct[he]] <= 1e-9).astype(float)
    return v
