"""Each SKU's exact optimum without the shared capacity: a bound and a start plan.

Without the factory capacity rows, a component's MIP falls apart into one small
problem per SKU. Those small problems are still hard for a MIP solver (the MOQ makes an
order 0 or at least Q; HiGHS took ~0.3 s per SKU on the Anker-scale example), but for
whole-unit data they are a shortest path over stock levels, solved exactly here by
dynamic programming in a few milliseconds:

    state   I = stock carried into week t (whole units, 0..N)
    choice  the week's arrivals q ∈ {0} ∪ [L_k, H_k] (k orders at once: L_k = k·Q,
            H_k = the k largest order bounds X̄ summed)
    week    A = I + I~[t] + q;  cost h·max(A−D,0) + y·max(D−A,0) + w·max(R−A,0)
            (y, w only from the lead-time week on, as ``simulate.project`` costs them)

    V_t(I) = min over the choices of cost_t(A) + V_{t+1}(max(A − D, 0))

The minimum over an interval of A for every I at once is a sliding-window minimum
(van Herk / Gil–Werman), so a week costs a few array passes.

Why it matters (Y component 1 of the Anker-scale example): the LP bound is 402.7k and
HiGHS's best plan after 40 s 508.9k; the capacity-free optimum is 505.4k, so the proven
gap drops from 21% to 0.7% before HiGHS even starts. Dropping constraints only lowers
the optimum, so the sum over SKUs bounds the component's (relaxed or integer) model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .model import Component
from .simulate import capacity_used

MAX_STATES = 200_000  # larger stock ranges fall back to the LP bound


@dataclass
class CapacityFree:
    """The capacity-free optimum of a component: its cost and its plan."""

    cost: float  # Σ over SKUs of each one's optimum: a lower bound of the component
    quantity: np.ndarray  # per candidate order (may overload shared factory weeks)


def capacity_free(comp: Component, prices: np.ndarray | None = None) -> CapacityFree | None:
    """Every SKU's exact capacity-free optimum, or None when some SKU's data are not
    whole units (the stock grid would not be exact) or its stock range is too large.

    With ``prices`` (≥ 0 per factory and week, shape of ``comp.capacity``) each unit of
    an order costs its factory-week's price × its capacity use, and the capacity's worth
    Σ price × capacity is subtracted: a Lagrangian relaxation of the capacity rows,
    still a lower bound for every choice of prices, and a stronger one for good prices.
    """
    qty = np.zeros(comp.n_orders)
    total = 0.0
    unit = None
    if prices is not None:
        unit = prices[comp.order_factory, comp.capacity_week] * comp.order_use
        total -= float((prices * comp.capacity).sum())
    for p, orders in _orders_by_sku(comp).items():
        found = sku_optimum(comp, p, orders, unit_cost=None if unit is None else unit[orders])
        if found is None:
            return None
        total += found[0]
        qty[orders] = found[1]
    missing = np.setdiff1d(np.arange(comp.n_skus), comp.order_sku)
    for p in missing:  # SKUs without any order: their fixed cost
        found = sku_optimum(comp, int(p), np.zeros(0, np.int64))
        if found is None:
            return None
        total += found[0]
    return CapacityFree(total, qty)


def lagrangian(comp: Component, upper_bound: float, seconds: float,
               lp_prices: np.ndarray | None = None) -> tuple[float, list[np.ndarray]] | None:
    """Best Lagrangian bound found on the capacity prices, and the plans met on the way
    (they may overload capacity: starting points for repair).

    Zero prices first (``capacity_free``), then the LP relaxation's capacity duals
    ``lp_prices`` when given (with them the bound is never below the LP's), then
    subgradient (Polyak) steps towards ``upper_bound``, the best plan's cost, from the
    better of the two, halving the step when the bound stops rising.
    """
    t0 = time.perf_counter()
    prices = np.zeros_like(comp.capacity)
    found = capacity_free(comp)
    if found is None:
        return None
    best, plans, theta = found.cost, [found.quantity], 1.0
    if lp_prices is not None and (lp_prices > 0).any() and time.perf_counter() - t0 < seconds:
        priced = capacity_free(comp, lp_prices)
        plans.append(priced.quantity)
        if priced.cost > best:
            best, found, prices = priced.cost, priced, lp_prices.copy()
    while time.perf_counter() - t0 < seconds:
        step = capacity_used(*comp.capacity.shape, comp.order_factory, comp.capacity_week,
                             comp.order_use, found.quantity) - comp.capacity
        step[(prices <= 0) & (step < 0)] = 0.0  # projected: no price below zero
        norm = float((step ** 2).sum())
        if norm <= 1e-12 or upper_bound - best <= 1e-9 * abs(upper_bound):
            break  # the plan fits the capacity at these prices, or the bound is proven
        prices = np.maximum(prices + theta * (upper_bound - found.cost) / norm * step, 0.0)
        found = capacity_free(comp, prices)
        plans.append(found.quantity)
        if found.cost > best + 1e-9:
            best = found.cost
        else:
            theta /= 2
    return best, plans


def _orders_by_sku(comp: Component) -> dict[int, np.ndarray]:
    order = np.argsort(comp.order_sku, kind="stable")
    skus, starts = np.unique(comp.order_sku[order], return_index=True)
    return dict(zip(skus.tolist(), np.split(order, starts[1:])))


def _whole(*arrays) -> bool:
    return all(np.allclose(a, np.round(a), rtol=0, atol=1e-9) for a in arrays)


def sku_optimum(comp: Component, p: int, orders: np.ndarray, upper: np.ndarray | None = None,
                unit_cost: np.ndarray | None = None) -> tuple[float, np.ndarray] | None:
    """(cost, quantity per order in ``orders``) of SKU ``p`` alone, or None (see above).

    ``upper`` replaces the orders' bounds X̄ (used to keep to the capacity left).
    ``unit_cost`` prices each order's units (capacity prices, see ``priced``); a week's
    arrivals are priced at its cheapest order's price, so the cost returned never
    exceeds the true optimum (a valid Lagrangian term) and equals it without prices."""
    T = comp.n_weeks
    D, po, R = comp.demand[p], comp.po_arrivals[p], comp.target[p]
    I0 = float(comp.inventory[p])
    Q = float(comp.moq[p]) if comp.moq[p] > 1.0 else 0.0
    upper = np.floor((comp.order_upper[orders] if upper is None else upper) + 1e-9)
    # An order that cannot reach the MOQ can only stay at 0.
    usable = upper >= Q - 1e-9 if Q > 0 else np.ones(len(orders), bool)
    upper = upper[usable]
    price = np.zeros(len(upper)) if unit_cost is None else np.asarray(unit_cost, float)[usable]
    if not _whole(D, po, R, [I0, Q]):
        return None
    h, y, w = float(comp.holding[p]), float(comp.lost_sales[p]), float(comp.shortfall_cost[p])
    lead = int(comp.lead[p])
    week = comp.arrival_week[orders[usable]]
    # Choices per week: intervals [k·Q, sum of the k largest bounds], k = 1..n, each
    # unit at the week's cheapest price.
    choices: list[list[tuple[int, int, float]]] = [[] for _ in range(T)]
    for t in np.unique(week):
        tops = np.cumsum(np.sort(upper[week == t])[::-1])
        cheapest = float(price[week == t].min())
        for k, top in enumerate(tops, start=1):
            lo = int(round(k * Q)) if Q > 0 else 1
            if top < lo:
                continue
            # One price per week, so overlapping or touching intervals merge (the DP's
            # cost is a pass over the stock grid per interval).
            if choices[int(t)] and lo <= choices[int(t)][-1][1] + 1:
                prev = choices[int(t)][-1]
                choices[int(t)][-1] = (prev[0], max(prev[1], int(top)), cheapest)
            else:
                choices[int(t)].append((lo, int(top), cheapest))
    # U[s]: the most stock carried into week s that weeks s.. can use. From U[s] up, the
    # best is to order nothing and V_s grows by h per unit and week left: exact linear
    # extensions, so the state grids stop at U (and at the week's demand and target).
    U = _useful_stock(D, po, R)
    if int(U.max()) + int(max(D.max(initial=0), R.max(initial=0))) + 1 > MAX_STATES:
        return None
    V = np.zeros(1)  # V_T: nothing is needed after the horizon (U[T] = 0)
    G_all = []
    for t in range(T - 1, -1, -1):
        d, r = float(D[t]), float(R[t])
        top = int(max(U[t + 1] + d, r, d))  # from here on, G rises by h·(T − t) per unit
        grid = np.arange(top + 1, dtype=float)  # available A
        ending = np.maximum(grid - d, 0.0)
        G = h * ending + _extend(V, ending, h * (T - t - 1))
        if t >= lead:
            G += y * np.maximum(d - grid, 0.0) + w * np.maximum(r - grid, 0.0)
        G_all.append(G)
        slope = h * (T - t)
        a = np.arange(int(U[t]) + 1) + int(round(po[t]))  # A before orders, per state
        best = _extend(G, a, slope)
        for lo, hi, c in choices[t]:  # q units cost c·q: shift G by c·A, window, shift back
            H = G + c * grid
            m = _window_min(H, a, lo, hi)
            past = a + lo > top  # the whole window lies where H rises: its low end
            m[past] = H[top] + (slope + c) * (a[past] + lo - top)
            best = np.minimum(best, m - c * a)
        V = best
    G_all.reverse()
    # Forward pass: follow the optimal choices from the starting stock.
    stock, q_week = int(round(I0)), np.zeros(T)
    for t in range(T):
        a = stock + int(round(po[t]))
        G = G_all[t]
        top = len(G) - 1
        best_v, best_q = (G[a] if a <= top else np.inf), 0
        slope = h * (T - t)
        for lo, hi, c in choices[t] if a < top else []:  # past top: ordering only costs
            if a + lo > top:  # the window's low end, on G's rising continuation
                qs = np.array([lo])
                seg = G[top] + slope * (a + lo - top) + c * qs
            else:
                qs = np.arange(lo, min(hi, top - a) + 1)
                seg = G[a + qs] + c * qs
            j = int(np.argmin(seg))
            if seg[j] < best_v - 1e-9:
                best_v, best_q = seg[j], int(qs[j])
        q_week[t] = best_q
        stock = int(max(a + best_q - float(D[t]), 0))
    value = float(_extend(V, np.array([float(round(I0))]), h * T)[0])
    quantity = np.zeros(len(orders))
    quantity[usable] = _split(q_week, week, upper, Q, price)
    return value, quantity


def _extend(V: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    """V at (whole) points x, continued linearly with ``slope`` past its last point."""
    last = len(V) - 1
    xi = np.asarray(x).astype(np.int64)
    return V[np.minimum(xi, last)] + slope * np.maximum(xi - last, 0)


def _useful_stock(D: np.ndarray, po: np.ndarray, R: np.ndarray) -> np.ndarray:
    """U[s], s = 0..T: the most stock carried into week s that weeks s.. can use.

    The largest over t ≥ s of the demand of weeks s..t−1 plus the target at t, and of
    the demand of weeks s..t, net of the open POs arriving in s..t (never below 0).
    Carrying U[s] meets every later demand and target without ordering.
    """
    T = len(D)
    cum_d = np.concatenate([[0.0], np.cumsum(D)])
    cum_po = np.concatenate([[0.0], np.cumsum(po)])
    need_at = np.maximum(cum_d[:-1] + R, cum_d[1:]) - cum_po[1:]
    suffix = np.maximum.accumulate(need_at[::-1])[::-1]
    U = np.zeros(T + 1)
    U[:T] = np.maximum(np.ceil(suffix - cum_d[:-1] + cum_po[:-1] - 1e-9), 0.0)
    return U


def _window_min(G: np.ndarray, a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """min G[a+lo .. a+hi] for every entry of ``a`` (indices past the end are ignored)."""
    n = len(G)
    hi = min(hi, n - 1)  # a ≥ 0: the part of a window past the end is ignored anyway
    if lo > hi:
        return np.full(len(a), np.inf)
    w = hi - lo + 1
    # van Herk / Gil–Werman: prefix and suffix minima within blocks of length w.
    m = -(-n // w) * w
    padded = np.full(m + w, np.inf)
    padded[:n] = G
    blocks = padded[:m].reshape(-1, w)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    prefix = np.concatenate([prefix, np.full(w, np.inf)])
    start = a + lo
    out = np.full(len(a), np.inf)
    ok = start < n
    s = start[ok]
    end = np.minimum(s + w - 1, m + w - 1)
    out[ok] = np.minimum(suffix[np.minimum(s, m - 1)], prefix[end])
    return out


def _split(q_week: np.ndarray, week: np.ndarray, upper: np.ndarray, Q: float,
           price: np.ndarray) -> np.ndarray:
    """Spread each week's arrivals over its orders, each ≥ Q: cheapest first when that
    many orders can hold them, else largest bounds first (always can: see choices)."""
    q = np.zeros(len(week))
    for t in np.flatnonzero(q_week > 0):
        need = q_week[t]
        idx = np.flatnonzero(week == t)
        for key in (np.lexsort((-upper[idx], price[idx])), np.argsort(-upper[idx], kind="stable")):
            order = idx[key]
            k = next((k for k in range(1, len(order) + 1)
                      if upper[order[:k]].sum() >= need - 1e-9), None)
            if k is not None and k * Q <= need + 1e-9:
                break
        idx = order
        # k orders: each gets Q, the rest fills them in order up to their bounds.
        base = np.full(k, Q)
        rest = need - base.sum()
        for j in range(k):
            add = min(rest, upper[idx[j]] - base[j])
            base[j] += add
            rest -= add
        q[idx[:k]] = base
    return q
