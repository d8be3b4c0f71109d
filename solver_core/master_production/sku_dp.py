"""Each SKU's exact optimum without the shared capacity: a bound and a start plan.

Without the factory capacity rows, a component's MIP falls apart into one small
problem per SKU. Those small problems are still hard for a MIP solver (the MOQ makes an
order 0 or at least Q), but for whole-unit data they are a shortest path over stock
levels, solved exactly here by dynamic programming in a few milliseconds:

    state   I = stock carried into week t (whole units, 0..N)
    choice  the week's arrivals q ∈ {0} ∪ [L_k, H_k] (k orders at once: L_k = k·Q,
            H_k = the k largest order bounds X̄ summed)
    week    A = I + I~[t] + q;  cost h·max(A−D,0) + y·max(D−A,0) + w·max(R−A,0)
            (y, w only from the lead-time week on, as ``simulate.project`` costs them)

    V_t(I) = min over the choices of cost_t(A) + V_{t+1}(max(A − D, 0))

The minimum over an interval of A for every I at once is a sliding-window minimum
(a monotone queue), so a week costs a pass over the stock grid per interval. The
passes are compiled (numba), fast enough for the 15–30 passes column generation needs
(``lagrangian``).

Dropping constraints only lowers the optimum, so the sum over SKUs bounds the
component's (relaxed or integer) model (docs/master_production.md, "Per-SKU dynamic
programme").
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from numba import njit

from .. import control
from ..highs import ModelBuilder, SolveOptions, solve
from .model import Component
from .simulate import sku_costs

MAX_STATES = 200_000  # larger stock ranges fall back to the LP bound


@dataclass
class CapacityFree:
    """The capacity-free optimum of a component: its cost and its plan."""

    cost: float  # Σ over SKUs of each one's optimum: a lower bound of the component
    quantity: np.ndarray  # per candidate order (may overload shared factory weeks)
    values: np.ndarray  # each SKU's optimum at the prices (their capacity use priced)


@dataclass
class Tables:
    """What the DP needs of a component that does not depend on the capacity prices,
    as flat arrays (cells are (SKU, arrival week) pairs, k = p·T + t)."""

    demand: np.ndarray  # int64 (P, T)
    po: np.ndarray  # int64 (P, T)
    target: np.ndarray  # int64 (P, T)
    stock0: np.ndarray  # int64 (P,)
    moq: np.ndarray  # int64 (P,), 0 = none
    holding: np.ndarray  # h (P,)
    lost_sales: np.ndarray  # y (P,)
    shortfall: np.ndarray  # w (P,)
    lead: np.ndarray  # int64 (P,)
    useful: np.ndarray  # int64 (P, T+1): U, see _useful_stock
    choice_ptr: np.ndarray  # cell k's arrival intervals are choice_lo/hi[ptr[k]:ptr[k+1]]
    choice_lo: np.ndarray
    choice_hi: np.ndarray
    order_ptr: np.ndarray  # cell k's usable orders are order_idx[ptr[k]:ptr[k+1]],
    order_idx: np.ndarray  # largest bound first
    upper: np.ndarray  # float (n_orders,): X̄ rounded to whole units (see ``tables``)


def tables(comp: Component, round_up: bool = False) -> Tables | None:
    """The DP tables, or None when some SKU's data are not whole units (the stock grid
    would not be exact) or its stock range is too large.

    Order bounds X̄ are rounded down to whole units (the DP's plans are whole plans), or
    with ``round_up`` up: in relaxed mode X̄ is the capacity left in units, often
    fractional, and the relaxed model may use all of it (2.5 where whole units stop at
    2), so only the rounded-up DP bounds the relaxed model. (Integer mode's X̄ are
    whole: both agree.)"""
    P, T = comp.demand.shape
    D, po, R = comp.demand, comp.po_arrivals, comp.target
    Q = np.where(comp.moq > 1.0, comp.moq, 0.0)
    if not _whole(D, po, R, comp.inventory, Q):
        return None
    U = np.stack([_useful_stock(D[p], po[p], R[p]) for p in range(P)]) if P else \
        np.zeros((0, T + 1))
    if P and (U.max(axis=1) + np.maximum(D.max(axis=1, initial=0), R.max(axis=1, initial=0))
              + 1 > MAX_STATES).any():
        return None
    upper = np.ceil(comp.order_upper - 1e-9) if round_up else np.floor(comp.order_upper + 1e-9)
    sku = comp.order_sku
    # An order that cannot reach the MOQ can only stay at 0.
    usable = np.flatnonzero(upper >= Q[sku] - 1e-9)
    cell = sku[usable] * T + comp.arrival_week[usable]
    # Cells in order, largest bound first within a cell (stable: then by order index).
    usable = usable[np.lexsort((-upper[usable], cell))]
    cell = sku[usable] * T + comp.arrival_week[usable]
    order_ptr = np.searchsorted(cell, np.arange(P * T + 1))
    # Intervals per cell: k orders at once arrive k·Q .. the k largest bounds summed;
    # one price per cell (its cheapest order's), so overlapping or touching intervals
    # merge.
    lo_all, hi_all, counts = [], [], np.zeros(P * T, np.int64)
    for k in np.flatnonzero(np.diff(order_ptr)):
        p = k // T
        tops = np.cumsum(upper[usable[order_ptr[k]:order_ptr[k + 1]]])
        q = Q[p]
        cell_lo, cell_hi = [], []
        for n, top in enumerate(tops, start=1):
            lo = round(n * q) if q > 0 else 1
            if top < lo:
                continue
            if cell_lo and lo <= cell_hi[-1] + 1:
                cell_hi[-1] = max(cell_hi[-1], int(top))
            else:
                cell_lo.append(lo)
                cell_hi.append(int(top))
        lo_all += cell_lo
        hi_all += cell_hi
        counts[k] = len(cell_lo)
    i64 = np.int64
    return Tables(
        demand=np.rint(D).astype(i64), po=np.rint(po).astype(i64),
        target=np.rint(R).astype(i64), stock0=np.rint(comp.inventory).astype(i64),
        moq=np.rint(Q).astype(i64), holding=comp.holding_cost.astype(float),
        lost_sales=comp.lost_sales_cost.astype(float),
        shortfall=comp.target_shortfall_cost.astype(float),
        lead=comp.lead_time_weeks.astype(i64), useful=U.astype(i64),
        choice_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(i64),
        choice_lo=np.array(lo_all, i64), choice_hi=np.array(hi_all, i64),
        order_ptr=order_ptr.astype(i64), order_idx=usable.astype(i64), upper=upper)


def capacity_free(comp: Component, prices: np.ndarray | None = None,
                  tab: Tables | None = None, exact: bool = False) -> CapacityFree | None:
    """Every SKU's exact capacity-free optimum, or None when some SKU's data are not
    whole units (the stock grid would not be exact) or its stock range is too large.

    With ``prices`` (≥ 0 per factory and week, shape of ``comp.capacity``) each unit of
    an order costs its factory-week's price × its capacity use, and the capacity's worth
    Σ price × capacity is subtracted: a Lagrangian relaxation of the capacity rows,
    still a lower bound for every choice of prices, and a stronger one for good prices.
    A week's arrivals are priced at its cheapest order's price, so the cost never
    exceeds the true optimum at these prices (a valid Lagrangian term) and equals it
    without prices. With ``exact`` each order is priced at its own factory-week instead:
    a week's orders are decided one after another, each with its bound, MOQ and price (a
    pass per order rather than per interval, 20–60% slower), and the value is the true
    optimum at these prices. ``tab``: the component's ``tables`` when already made.
    """
    tab = tab if tab is not None else tables(comp)
    if tab is None:
        return None
    unit = np.zeros(comp.n_orders)
    total = 0.0
    if prices is not None:
        unit = prices[comp.order_factory, comp.capacity_week] * comp.order_use
        total -= float((prices * comp.capacity).sum())
    common = (tab.demand, tab.po, tab.target, tab.stock0, tab.moq, tab.holding,
              tab.lost_sales, tab.shortfall, tab.lead, tab.useful)
    orders = (tab.order_ptr, tab.order_idx, tab.upper, np.asarray(unit, float))
    values, qty = (_all_skus_exact(*common, *orders) if exact else
                   _all_skus(*common, tab.choice_ptr, tab.choice_lo, tab.choice_hi, *orders))
    return CapacityFree(total + float(values.sum()), qty, values)


def warm_up() -> float:
    """Compile the DP (or load it from numba's cache) on a one-SKU, one-week case; the
    seconds it took. The first solve after an install or an update compiles for about
    4 s (more on a busy machine); done inside phase 1 that time came off the start plans'
    share, so a first solve could take another path than the next ones."""
    t0 = time.perf_counter()
    i64 = np.int64
    D, po, R = np.ones((1, 1), i64), np.zeros((1, 1), i64), np.zeros((1, 1), i64)
    U = _useful_stock(D[0], po[0], R[0])[None, :].astype(i64)
    one, zero = np.ones(1), np.zeros(1)
    common = (D, po, R, np.zeros(1, i64), np.zeros(1, i64), one, one, zero.copy(),
              np.zeros(1, i64), U)
    orders = (np.array([0, 1], i64), np.zeros(1, i64), one.copy(), zero.copy())
    _all_skus(*common, np.array([0, 1], i64), np.ones(1, i64), np.ones(1, i64), *orders)
    _all_skus_exact(*common, *orders)
    return time.perf_counter() - t0


def quick_bound(comp: Component) -> float | None:
    """A lower bound of the component in either mode from one DP pass at zero capacity
    prices: every SKU's optimum without the capacity rows, order bounds X̄ rounded up
    (``tables``), so it bounds the relaxed model and with it the whole-unit one. For a
    component phase 1 had no time for: far stronger than 0 and takes a fraction of a
    second. None where the DP does not apply (``tables``)."""
    up = tables(comp, round_up=True)
    return None if up is None else capacity_free(comp, tab=up).cost


@dataclass
class Lagrangian:
    """The Lagrangian bound of a component and the plans met on the way (they may
    overload capacity: starting points for repair)."""

    bound: float
    prices: np.ndarray  # the capacity prices of the best DP pass (``regret``)
    plans: list[np.ndarray]  # zero prices, the LP's duals, then one per master solve
    heaviest: np.ndarray | None  # per SKU the plan the last master weighs most
    support: np.ndarray  # orders some plan the last master uses places (bool)


def lagrangian(comp: Component, upper_bound: float, seconds: float,
               lp_prices: np.ndarray | None = None, stop=None, exact: bool = False,
               halt: threading.Event | None = None, share=None,
               taken: deque | None = None, priced=None) -> Lagrangian | None:
    """The best Lagrangian bound on the capacity prices within ``seconds``, by column
    generation (Dantzig–Wolfe): a master LP picks a convex combination of known plans
    per SKU under the capacity; its capacity duals, smoothed towards the best prices so
    far (Wentges), price the next DP pass, whose plans join the master. Each pass's
    value bounds the whole-unit plans; they meet the master's value at the best prices.
    Where some X̄ is fractional (relaxed mode) the bound returned is the rounded-up DP's
    (``tables``) at the best prices or the LP's, a bound of the relaxed model.

    Starts from zero prices and the LP relaxation's capacity duals ``lp_prices`` (so
    with whole X̄ the bound is never below the LP's). Stops early when the bound reaches
    the master or ``upper_bound`` (a plan's cost). docs/master_production.md, "Per-SKU
    dynamic programme". A stop requested through ``stop`` (a control.StopToken) ends
    the rounds: the bound so far is valid. ``exact``: the DP prices every order at its
    own factory-week (``capacity_free``), so the bound can reach the Lagrangian dual where
    a SKU can come from several factories in one week; None where one SKU's grid of
    stock levels per order and week would exceed ``EXACT_MAX_GRID`` values (memory).
    ``halt`` (set by the caller) ends the rounds like ``seconds`` running out: the bound
    is returned in either mode.

    Two searches on one component can help each other: every plan found is handed to
    ``share`` (a callable), and the plans another search put into ``taken`` join the
    master before each solve. Any whole plan is a valid column (its SKUs' true costs),
    so the master's value stays above the dual and the bound stays valid; with the
    plans of the faster relaxed pricing the exact pricing's master prices better sooner
    (52 weeks, 200 SKUs × 10 factories, with a 25 s relaxed run's 40 plans: 2,305,224
    after 12 s, where alone it took 36 s). ``priced(value, prices)`` (a callable) hears
    the first DP pass (zero prices) and every better one, as they are found.
    """
    t0 = time.perf_counter()
    tab = tables(comp)
    if tab is None or (exact and exact_grid(tab) > EXACT_MAX_GRID):
        return None
    master = _Master(comp)
    plans: list[np.ndarray] = []

    def found_plan(q: np.ndarray) -> None:
        plans.append(q)
        master.add(q)
        if share is not None:
            share(q)

    best, best_prices = -np.inf, np.zeros_like(comp.capacity)

    def better(value: float, prices: np.ndarray) -> None:
        nonlocal best, best_prices
        best, best_prices = value, prices
        if priced is not None:
            priced(value, prices)

    start_pass = time.perf_counter()
    zero = capacity_free(comp, tab=tab, exact=exact)
    one_pass = time.perf_counter() - start_pass
    better(zero.cost, np.zeros_like(comp.capacity))
    master.add(np.zeros(comp.n_orders))
    found_plan(zero.quantity)
    if lp_prices is not None and (lp_prices > 0).any() and not control.requested(stop):
        start_pass = time.perf_counter()
        at_lp = capacity_free(comp, lp_prices, tab, exact)
        one_pass = time.perf_counter() - start_pass  # the zero pass may have loaded the DP
        found_plan(at_lp.quantity)
        if at_lp.cost > best:
            better(at_lp.cost, lp_prices)
    # Run for a caller that waits (``halt``: the exact bound, taken in at the component's
    # end), a round starts only when it and the closing rounded-up passes below end
    # within ``seconds`` (52 weeks at 30 s: the solve waited 5 s for them).
    closing = 0 if halt is None else 1 + (0 if _whole(comp.order_upper)
                                          else 1 + (lp_prices is not None))
    smooth, last_value, stalls = SMOOTHING, np.inf, 0
    while (time.perf_counter() - t0 + closing * one_pass < seconds
           and best < upper_bound - 1e-9 * abs(best)
           and not control.requested(stop) and not (halt is not None and halt.is_set())):
        while taken:
            master.add(taken.popleft())
        value, duals = master.solve()
        if duals is None or value - best <= 1e-7 * abs(value):
            break  # the bound meets the master: the Lagrangian dual is solved
        # Smoothing can price a plan the master already has (no progress): then price at
        # the master's own duals. Those add a better plan or prove the bound, but for the
        # DP's relaxed pricing (one price per arrival week) a few rounds without progress
        # mean the bound is as good as this pricing gets.
        if value < last_value - 1e-9 * abs(value):
            smooth, stalls = SMOOTHING, 0
        else:
            smooth, stalls = 0.0, stalls + 1
            if stalls > MAX_STALLS:
                break
        last_value = value
        prices = smooth * best_prices + (1 - smooth) * duals
        start_pass = time.perf_counter()
        found = capacity_free(comp, prices, tab, exact)
        one_pass = time.perf_counter() - start_pass
        found_plan(found.quantity)
        if found.cost > best:
            better(found.cost, prices)
    heaviest, support = master.heaviest()
    # The bound holds for whole-unit plans; where some X̄ is fractional, the relaxed
    # model's bound is the rounded-up DP's (any prices give a bound): at the best prices
    # and at the LP's, which can suit the rounded-up DP better.
    if not _whole(comp.order_upper):
        if control.requested(stop):
            return None  # no time for the rounded-up DP that makes the bound valid here
        up = tables(comp, round_up=True)  # same data checks as ``tab``: never None here
        best = max(capacity_free(comp, p, up, exact).cost
                   for p in [best_prices] + ([lp_prices] if lp_prices is not None else []))
    return Lagrangian(best, best_prices, plans, heaviest, support)


def best_priced(*found: tuple[float, np.ndarray] | None) -> tuple[float, np.ndarray] | None:
    """Of Lagrangian (value, prices) pairs (None: not known), the one of highest value."""
    known = [p for p in found if p is not None]
    return max(known, key=lambda p: p[0]) if known else None


class ExactBound:
    """``lagrangian`` with ``exact`` pricing in a thread, for its bound only: the relaxed
    pricing's bound stalls where a SKU can come from several factories in one week (52
    weeks, 200 SKUs × 10 factories: 2,272,100 after 25 s; exact pricing fed its plans,
    ``offer``, 2,305,224 after 12 s), but its plans repair better and its passes are
    faster, so phase 1's plans keep coming from it. The DP kernels release the GIL, so
    the two run on two cores. ``result`` ends the rounds and returns the bound (None: none found).
    ``priced``: (value, prices) of its best DP pass so far (None before the first), for
    the SKU-group rounds' regret. Pickled (handed to another process), it is ended first
    and carries only its bound and ``priced``. Carried on beside phase 2 it ``step_back``s:
    it then runs on CPU the searches leave idle (52 weeks at 60 s: with its full share the
    plans were 1–4% dearer)."""

    def __init__(self, comp: Component, lp_prices: np.ndarray | None, seconds: float,
                 stop=None) -> None:
        self.bound: float | None = None
        self.priced: tuple[float, np.ndarray] | None = None
        self.native_id: int | None = None  # the thread's, once it runs (``step_back``)
        self.halt = threading.Event()
        self.taken: deque = deque()  # plans other searches found (``offer``), not yet used
        self.thread = threading.Thread(target=self._run, args=(comp, lp_prices, seconds, stop),
                                       daemon=True, name="scplan-mps-exact-bound")
        self.thread.start()

    def _run(self, comp, lp_prices, seconds, stop) -> None:
        self.native_id = threading.get_native_id()
        try:
            found = lagrangian(comp, np.inf, seconds, lp_prices, stop, exact=True,
                               halt=self.halt, taken=self.taken, priced=self._priced)
            self.bound = None if found is None else found.bound
        except Exception:  # pragma: no cover - the relaxed pricing's bound stands
            pass

    def _priced(self, value: float, prices: np.ndarray) -> None:
        self.priced = (value, prices)  # one assignment: readers see both or neither

    def offer(self, plan: np.ndarray) -> None:
        """A plan another search found: a column for the master (thread-safe). Once the
        rounds have ended nothing would read it, and it is dropped."""
        if self.thread is not None:
            self.taken.append(plan)

    def step_back(self) -> None:
        """From now on run only on a core nothing else wants (Linux: the thread's nice
        value 19; elsewhere nothing changes)."""
        if self.native_id is None or not hasattr(os, "setpriority"):
            return
        try:
            os.setpriority(os.PRIO_PROCESS, self.native_id, 19)
        except OSError:  # the thread has ended meanwhile
            pass

    def end_rounds(self) -> None:
        """Start the closing passes now (``result`` then waits for less)."""
        self.halt.set()

    def result(self) -> float | None:
        if self.thread is not None:
            self.halt.set()
            self.thread.join()
            self.thread = None
        return self.bound

    def __getstate__(self) -> dict:
        return {"bound": self.result(), "priced": self.priced}

    def __setstate__(self, state: dict) -> None:
        self.bound, self.priced = state["bound"], state["priced"]
        self.thread, self.taken = None, deque()


def exact_grid(tab: Tables) -> int:
    """The largest number of values the exact pricing's DP holds for one SKU: a grid of
    stock levels per order and week (``_one_sku_exact``'s levels)."""
    P, T = tab.demand.shape
    if not P:
        return 0
    top = np.maximum(np.maximum(tab.useful[:, 1:] + tab.demand, tab.target), tab.demand)
    orders = np.diff(tab.order_ptr).reshape(P, T)
    return int(((orders + 1) * (top + 1)).sum(axis=1).max())


def several_orders_a_week(comp: Component) -> bool:
    """Whether some SKU has several candidate orders arriving in one week (from several
    factories): only then does exact pricing differ from the cheapest order's."""
    cell = comp.order_sku * comp.n_weeks + comp.arrival_week
    return len(np.unique(cell)) < len(cell)


EXACT_MAX_GRID = 20_000_000  # values (160 MB) for one SKU, beyond which exact pricing is skipped
SMOOTHING = 0.5  # Wentges: next prices = this share of the best prices + the rest of the duals
MAX_STALLS = 2  # master solves in a row without progress before the bound is taken as final


class _Master:
    """The Dantzig–Wolfe master: min Σ cost λ, one convex combination of plans per SKU,
    Σ capacity use λ ≤ C per factory-week."""

    def __init__(self, comp: Component):
        self.comp = comp
        T = comp.n_weeks
        self.cell = comp.order_factory * T + comp.capacity_week
        self.skus = np.unique(comp.order_sku)
        self.fixed = 0.0  # SKUs without orders cost the same in every plan
        self.cols_sku, self.cols_cost, self.cols_plan = [], [], []
        self.use_rows, self.use_cols, self.use_vals = [], [], []
        self.x = None

    def add(self, qty: np.ndarray) -> None:
        """One column per SKU for the plan ``qty`` (duplicates do no harm)."""
        comp = self.comp
        costs = sku_costs(comp, qty)
        if not self.cols_sku:
            self.fixed = float(np.delete(costs, self.skus).sum())
        n0 = len(self.cols_sku)
        self.cols_sku.extend(self.skus.tolist())
        self.cols_cost.extend(costs[self.skus].tolist())
        self.cols_plan.extend([qty] * len(self.skus))
        on = np.flatnonzero(qty > 0)
        col = n0 + np.searchsorted(self.skus, comp.order_sku[on])
        self.use_rows.append(self.cell[on])
        self.use_cols.append(col)
        self.use_vals.append(comp.order_use[on] * qty[on])

    def solve(self) -> tuple[float, np.ndarray | None]:
        """The master's value and its capacity duals (≥ 0, shape of the capacity)."""
        comp = self.comp
        n = len(self.cols_sku)
        b = ModelBuilder()
        lam = b.add_vars("weight", n, cost=np.array(self.cols_cost))
        row_of_sku = np.searchsorted(self.skus, self.cols_sku)
        b.add_rows("one_plan_per_sku", len(self.skus), row_of_sku, lam, np.ones(n),
                   lower=1.0, upper=1.0)
        cap = comp.capacity.ravel()
        cap_rows = b.add_rows("capacity", cap.size, np.concatenate(self.use_rows),
                              lam[np.concatenate(self.use_cols)],
                              np.concatenate(self.use_vals), upper=np.maximum(cap, 0.0))
        res = solve(b.build(), SolveOptions(isolate=False, threads=1))
        if res.row_dual is None or res.objective is None:
            return np.inf, None
        self.x = res.x
        duals = np.maximum(-res.row_dual[cap_rows], 0.0).reshape(comp.capacity.shape)
        return res.objective + self.fixed, duals

    def heaviest(self) -> tuple[np.ndarray | None, np.ndarray]:
        """Per SKU the plan of its heaviest column, and the orders the columns in use place."""
        comp = self.comp
        support = np.zeros(comp.n_orders, bool)
        if self.x is None:
            return None, support
        x = self.x  # plans added after the last solve have no weight
        plan = np.zeros(comp.n_orders)
        sku_of_col = np.asarray(self.cols_sku[:len(x)])
        for p in self.skus:
            cols = np.flatnonzero(sku_of_col == p)
            mine = comp.order_sku == p
            plan[mine] = self.cols_plan[cols[np.argmax(x[cols])]][mine]
            for j in cols[x[cols] > 1e-6]:
                support |= mine & (self.cols_plan[j] > 0)
        return plan, support


def _whole(*arrays) -> bool:
    return all(np.allclose(a, np.round(a), rtol=0, atol=1e-9) for a in arrays)


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


# --- compiled kernels (nopython: plain loops over arrays) -----------------------------

@njit(cache=True, nogil=True)
def _all_skus(D, po, R, stock0, moq, h_all, y_all, w_all, lead, U, choice_ptr, choice_lo,
              choice_hi, order_ptr, order_idx, upper, unit):
    """Each SKU's optimum (value per SKU) and its plan (quantity per order)."""
    P, T = D.shape
    values = np.zeros(P)
    qty = np.zeros(len(upper))
    # A cell's arrivals cost its cheapest order's price per unit.
    price = np.zeros(P * T)
    for k in range(P * T):
        c = np.inf
        for j in range(order_ptr[k], order_ptr[k + 1]):
            c = min(c, unit[order_idx[j]])
        price[k] = 0.0 if c == np.inf else c
    for p in range(P):
        values[p] = _one_sku(p, T, D[p], po[p], R[p], stock0[p], moq[p], h_all[p], y_all[p],
                             w_all[p], lead[p], U[p], choice_ptr, choice_lo, choice_hi,
                             order_ptr, order_idx, upper, unit, price, qty)
    return values, qty


@njit(cache=True, nogil=True)
def _ext(V, n, x, slope):
    """V (its first n entries) at whole point x, continued with ``slope`` past its end."""
    if x < n:
        return V[x]
    return V[n - 1] + slope * (x - n + 1)


@njit(cache=True, nogil=True)
def _window_min(F, top, lo, hi, c, slope, first, count, out, queue):
    """out[i] = min over q in [lo, hi] of F[a + q] + c·q for a = first + i, i < count:
    the best arrival of lo..hi units on top of a units available, each at price c. F is
    known up to ``top`` and rises by ``slope`` past it. Both ends of the window move up
    with a, so a monotone queue of indices gives every minimum in one pass."""
    head, tail, nxt = 0, 0, 0
    for i in range(count):
        a = first + i
        start, end = a + lo, min(a + hi, top)
        if start > top:  # the window lies where F rises: its low end
            m = F[top] + c * top + (slope + c) * (start - top)
        else:
            nxt = max(nxt, start)
            while nxt <= end:
                v = F[nxt] + c * nxt
                while tail > head and F[queue[tail - 1]] + c * queue[tail - 1] >= v:
                    tail -= 1
                queue[tail] = nxt
                tail += 1
                nxt += 1
            while queue[head] < start:
                head += 1
            m = F[queue[head]] + c * queue[head]
        out[i] = m - c * a


@njit(cache=True, nogil=True)
def _best_arrival(F, top, a, lo, hi, c, slope):
    """The cheapest arrival of lo..hi units on top of a available, each at price c, as
    (F[a + q] + c·q, q); past ``top`` F rises by ``slope``, so there only q = lo."""
    if a + lo > top:
        return F[top] + slope * (a + lo - top) + c * lo, lo
    best_v, best_q = np.inf, 0
    for q in range(lo, min(hi, top - a) + 1):
        v = F[a + q] + c * q
        if v < best_v:
            best_v, best_q = v, q
    return best_v, best_q


@njit(cache=True, nogil=True)
def _one_sku(p, T, D, po, R, I0, Q, h, y, w, lead, U, choice_ptr, choice_lo, choice_hi,
             order_ptr, order_idx, upper, unit, price, qty):
    # Grid sizes: G_t over available A = 0..top_t; V_t over carried stock 0..U[t].
    tops = np.empty(T, np.int64)
    offs = np.zeros(T + 1, np.int64)
    for t in range(T):
        tops[t] = max(U[t + 1] + D[t], R[t], D[t])
        offs[t + 1] = offs[t] + tops[t] + 1
    G_all = np.empty(offs[T])
    width = 1
    for t in range(T + 1):
        width = max(width, U[t] + 1)
    V = np.zeros(width)
    nV = 1  # V_T = 0: nothing is needed after the horizon
    best = np.empty(width)
    window = np.empty(width)
    queue = np.empty(max(width, offs[T]), np.int64)
    for t in range(T - 1, -1, -1):
        d, r, top = D[t], R[t], tops[t]
        G = G_all[offs[t]:offs[t + 1]]
        carry_slope = h * (T - t - 1)
        for A in range(top + 1):
            e = max(A - d, 0)
            G[A] = h * e + _ext(V, nV, e, carry_slope)
            if t >= lead:
                G[A] += y * max(d - A, 0) + w * max(r - A, 0)
        slope = h * (T - t)
        n_states = U[t] + 1
        for s in range(n_states):
            best[s] = _ext(G, top + 1, s + po[t], slope)
        k = p * T + t
        c = price[k]
        for j in range(choice_ptr[k], choice_ptr[k + 1]):
            _window_min(G, top, choice_lo[j], choice_hi[j], c, slope, po[t], n_states,
                        window, queue)
            for s in range(n_states):
                best[s] = min(best[s], window[s])
        V[:n_states] = best[:n_states]
        nV = n_states
    value = _ext(V, nV, I0, h * T)
    # Forward pass: follow the optimal choices from the starting stock.
    stock = I0
    for t in range(T):
        a = stock + po[t]
        G = G_all[offs[t]:offs[t + 1]]
        top = tops[t]
        best_v = G[a] if a <= top else np.inf
        best_q = 0
        slope = h * (T - t)
        k = p * T + t
        c = price[k]
        if a < top:  # past top, ordering only costs
            for j in range(choice_ptr[k], choice_ptr[k + 1]):
                v, q = _best_arrival(G, top, a, choice_lo[j], choice_hi[j], c, slope)
                if v < best_v - 1e-9:
                    best_v, best_q = v, q
        if best_q > 0:
            _split(best_q, Q, order_ptr[k], order_ptr[k + 1], order_idx, upper, unit, qty)
        stock = max(a + best_q - D[t], 0)
    return value


@njit(cache=True, nogil=True)
def _split(need, Q, first, last, order_idx, upper, unit, qty):
    """Spread a week's arrivals ``need`` over its orders order_idx[first:last] (largest
    bound first), each ≥ Q: cheapest first when that many orders can hold them, else
    largest bounds first (always can: see the intervals in ``tables``)."""
    n = last - first
    by_price = order_idx[first:last].copy()
    for i in range(1, n):  # stable insertion sort by price: ties stay largest first
        j, o = i, by_price[i]
        while j > 0 and unit[by_price[j - 1]] > unit[o]:
            by_price[j] = by_price[j - 1]
            j -= 1
        by_price[j] = o
    count = 0
    held = 0.0
    for k in range(n):
        held += upper[by_price[k]]
        if held >= need - 1e-9:
            if (k + 1) * Q <= need + 1e-9:
                count = k + 1
            break
    if count > 0:
        chosen = by_price
    else:
        chosen = order_idx[first:last].copy()
        held = 0.0
        for k in range(n):
            held += upper[chosen[k]]
            if held >= need - 1e-9:
                count = k + 1
                break
    # count orders: each gets Q, the rest fills them in order up to their bounds.
    rest = float(need - count * Q)
    for k in range(count):
        add = min(rest, upper[chosen[k]] - Q)
        qty[chosen[k]] = Q + add
        rest -= add


@njit(cache=True, nogil=True)
def _all_skus_exact(D, po, R, stock0, moq, h_all, y_all, w_all, lead, U, order_ptr,
                    order_idx, upper, unit):
    """``_all_skus`` with every order at its own price (``capacity_free``'s ``exact``)."""
    P, T = D.shape
    values = np.zeros(P)
    qty = np.zeros(len(upper))
    for p in range(P):
        values[p] = _one_sku_exact(p, T, D[p], po[p], R[p], stock0[p], moq[p], h_all[p],
                                   y_all[p], w_all[p], lead[p], U[p], order_ptr, order_idx,
                                   upper, unit, qty)
    return values, qty


@njit(cache=True, nogil=True)
def _one_sku_exact(p, T, D, po, R, I0, Q, h, y, w, lead, U, order_ptr, order_idx, upper,
                   unit, qty):
    # Week t's orders o_0..o_{m-1} are decided one after another on the same grid of
    # available stock A = 0..top_t: level m is G_t, and level i is
    #   L_i(A) = min(L_{i+1}(A), min over q in [lo, X̄_o] of L_{i+1}(A + q) + c_o q).
    # Level 0 at A = carried stock + I~[t] is the week's value; the forward pass reads
    # each order's quantity off the levels. Past top_t every level rises by ``slope``.
    lo = Q if Q > 0 else 1
    tops = np.empty(T, np.int64)
    offs = np.zeros(T + 1, np.int64)
    for t in range(T):
        tops[t] = max(U[t + 1] + D[t], R[t], D[t])
        k = p * T + t
        offs[t + 1] = offs[t] + (order_ptr[k + 1] - order_ptr[k] + 1) * (tops[t] + 1)
    L_all = np.empty(offs[T])
    width = 1
    grid = 1
    for t in range(T + 1):
        width = max(width, U[t] + 1)
    for t in range(T):
        grid = max(grid, tops[t] + 1)
    V = np.zeros(width)
    nV = 1  # V_T = 0: nothing is needed after the horizon
    queue = np.empty(grid, np.int64)
    window = np.empty(grid)
    for t in range(T - 1, -1, -1):
        d, r, top = D[t], R[t], tops[t]
        n = top + 1
        k = p * T + t
        m = order_ptr[k + 1] - order_ptr[k]
        G = L_all[offs[t] + m * n:offs[t] + (m + 1) * n]
        carry_slope = h * (T - t - 1)
        for A in range(n):
            e = max(A - d, 0)
            G[A] = h * e + _ext(V, nV, e, carry_slope)
            if t >= lead:
                G[A] += y * max(d - A, 0) + w * max(r - A, 0)
        slope = h * (T - t)
        for i in range(m - 1, -1, -1):
            after = L_all[offs[t] + (i + 1) * n:offs[t] + (i + 2) * n]
            level = L_all[offs[t] + i * n:offs[t] + (i + 1) * n]
            o = order_idx[order_ptr[k] + i]
            c, hi = unit[o], int(upper[o])
            level[:] = after  # ordering nothing
            if hi < lo:  # the order cannot reach its MOQ (or one unit): it stays at 0
                continue
            _window_min(after, top, lo, hi, c, slope, 0, n, window, queue)
            for A in range(n):
                level[A] = min(level[A], window[A])
        L0 = L_all[offs[t]:offs[t] + n]
        n_states = U[t] + 1
        for s in range(n_states):
            V[s] = _ext(L0, n, s + po[t], slope)
        nV = n_states
    value = _ext(V, nV, I0, h * T)
    # Forward pass: follow the optimal choices from the starting stock.
    stock = I0
    for t in range(T):
        A = stock + po[t]
        top = tops[t]
        n = top + 1
        k = p * T + t
        m = order_ptr[k + 1] - order_ptr[k]
        slope = h * (T - t)
        for i in range(m):
            if A >= top:  # past top, ordering only costs
                break
            after = L_all[offs[t] + (i + 1) * n:offs[t] + (i + 2) * n]
            o = order_idx[order_ptr[k] + i]
            c, hi = unit[o], int(upper[o])
            if hi < lo:
                continue
            best_v, best_q = after[A], 0
            v, q = _best_arrival(after, top, A, lo, hi, c, slope)
            if v < best_v - 1e-9:
                best_v, best_q = v, q
            qty[o] = best_q
            A += best_q
        stock = max(A - D[t], 0)
    return value
