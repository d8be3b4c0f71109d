"""The solve strategy of an MPS instance: components, phases, time sharing, stop.

docs/master_production.md, "How it is solved". Every supply center is split into
connected components (model.py); components are grouped into pieces, the batches the
worker processes take (in phase 1 small ones share a piece so process start-up does not
dominate; in phase 2 one component is one piece, and the lanes share one queue), and run
in parallel processes, in two phases:

1. every component gets a whole, capacity- and MOQ-feasible start plan and a lower
   bound (start.best_start: the LP, and when the budget allows each SKU's exact
   optimum by DP with capacity prices from column generation, sku_dp), so a plan
   exists early; the time is shared in proportion to size;
2. HiGHS starts from that plan: first near the DP plans (MOQ orders no DP plan places
   stay closed; extra primal-heuristic effort; with a second thread, SKU groups are
   improved alongside, ``_GroupSearch``, and a second stream of them replaces the near
   search; with none alongside, a start 5–50% above its bound first gets rounds of its
   own, ``SOLO_ROUNDS_GAP``), then, for all the time the component has left, on the
   whole model — the same model plain HiGHS gets. A lone component's exactly priced
   bound goes on beside phase 2 and is taken in at its end (``collected_bound``). A
   component's budget is computed when a lane takes it, from the time actually left on
   all lanes less what the components running on the others still hold (``share_time``,
   ``_Lanes``): time a finished component did not use goes back to the one queue,
   every component keeps a floor proportional to its size, and claims too small to
   use are dropped (``phase2_shares``).

A solver plan replaces the start plan only when its rounded re-evaluation is cheaper.
After a stop (docs/stop_and_progress.md) every component keeps its best plan: a
component not reached keeps its start plan, one whose phase 1 did not run the greedy
plan. The plan is assembled, re-evaluated and reported by report.py.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .. import control, highs, parallel
from ..progress import NULL, Progress, ProgressEvent, from_highs
from .data import Instance
from .model import Component, build_model, make_components, moq_orders
from .simulate import component_cost
from .sku_dp import ExactBound, best_priced, quick_bound, warm_up
from .start import (
    GROUP_SECONDS,
    GROUP_SKUS,
    SharedPlan,
    best_start,
    check_plan,
    greedy_plan,
    improve_by_groups,
    polish_whole_units,
    polish_with_fixed_orders,
    repair_rounding,
    round_plan,
    start_vector,
    within_gap,
)

BATCH_COLUMNS = 4000  # components smaller than this share a piece
POOL_COLUMNS = 20000  # below this in all, solve in this process (no pool start-up)
# Kept from time_limit_s for solver overrun and building the results: a share of it, at
# most RESERVE_MAX_SECONDS (neither grows with the limit: a 600 s run kept 48 s unused).
# Measured at 120 s: the search ends at most 1.2 s past its usable time (the Anker
# shape) and the results take 0.1-0.4 s more; 8% (9.6 s) left 8-9 s of the limit unused.
RESERVE = 0.05
RESERVE_MAX_SECONDS = 4.0
# Phase 1 may take up to this share of the time; a component of START_COLUMNS columns
# (an Anker-scale cluster) gets up to START_SECONDS, larger ones more in proportion.
START_SHARE = 0.4
# Phase 1 starts no component with less time than this before its deadline (a component's
# LP-based start plans take about a second at Anker scale).
PHASE1_MIN_SECONDS = 1.0
# A component's phase 1 may run past its share, where its later start plans pay more than
# phase 2's first seconds would (52 weeks and 600 SKUs with MOQs at 30 s: 26% and 3.7%
# from the bound, 33% and 10.9% when phase 1 kept to its share), but it ends by this share
# of the time: the rest of phase 2 and the results keep the time limit.
PHASE1_HARD_SHARE = 0.75
QUICK_LP_SECONDS = 2.0  # at most, for the LP bound of a component phase 1 skipped
START_SECONDS = 10.0
START_COLUMNS = 8000
# Phase 2: this share of the time is handed out in proportion to size (every component's
# floor); the rest by the square root of the room between start plan and bound.
FLOOR_SHARE = 0.3
# The relaxed model's solve goes on to this share of mip_gap: its plan is rounded to whole
# units afterwards, which costs a little (0.02% on a 600-SKU workbook), and the plan written
# must be within mip_gap of the bound.
ROUNDING_ROOM = 0.5
# In integer mode the relaxed model's solve takes this share of the component's time left.
RELAXED_SHARE = 0.6
# A component's phase 2 shorter than this has no room for the SKU-group search to pay
# (its rounds take GROUP_SECONDS; it would only slow the near search down).
GROUPS_MIN_SECONDS = 10 * GROUP_SECONDS


@dataclass
class ComponentResult:
    """What solving one component gave: the kept plan, its cost, the solver's numbers."""

    label: str
    supply_center: str
    status: str
    quantity: np.ndarray  # whole-unit plan per candidate order
    objective: float | None  # model objective (solver)
    bound: float | None
    gap: float | None
    evaluated: float  # cost of ``quantity`` by simulation
    used: str  # which plan was kept: solver | start plan (…)
    size: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)
    build_seconds: float = 0.0
    start_seconds: float = 0.0  # finding the start plan (phase 1)
    time_budget: float = 0.0  # seconds phase 2 allowed
    solve_seconds: float = 0.0


@dataclass
class Start:
    """A component's start plan and lower bound (phase 1)."""

    quantity: np.ndarray
    cost: float
    name: str
    lp_bound: float | None
    seconds: float
    hint: np.ndarray | None = None  # orders the DP plans or the start place (per order)
    # The exactly priced Lagrangian bound, still running into phase 2 (a lone component
    # with two threads): phase 2 collects it (``collected_bound``).
    exact: ExactBound | None = None
    # A Lagrangian bound's (value, capacity prices), for the SKU-group rounds' regret.
    priced: tuple[float, np.ndarray] | None = None
    lp_seconds: float = 0.0  # one LP of this component took (phase 1; 0.0: none solved)

    @property
    def gap(self) -> float:
        """Absolute room for improvement: start cost minus the bound."""
        return max(self.cost - (self.lp_bound if self.lp_bound is not None else 0.0), 0.0)


@dataclass
class Share:
    """A component's claim on phase-2 time, fixed when the pieces are made."""

    weight: float  # FLOOR_SHARE by size + the rest by room (the weights sum to 1)
    floor: float  # seconds it is owed whatever the others did
    own: float = 1.0  # part of the weight that is not lifted (FAR_START_SECONDS)
    after: float = 0.0  # summed weight of the components queued after it
    floor_after: float = 0.0  # their summed floors
    count_after: int = 0  # how many they are


@dataclass
class Piece:
    """Components a worker solves one after another, with their time shares."""

    components: list[Component]
    integer: bool
    shares: list[Share] = field(default_factory=list)  # phase 2
    deadline: float = 0.0  # time.time() by which this phase (1 or 2) ends
    mip_gap: float = 0.0  # Settings!mip_gap
    threads: int = 1
    budgets: list[float] = field(default_factory=list)  # phase 2, set as it starts (_Lanes)
    starts: list[Start] = field(default_factory=list)  # phase 1: the greedy plans
    start_seconds: list[float] = field(default_factory=list)  # phase 1, per component
    end: float = 0.0  # time.time() by which the whole solve ends (phase 1's quick bounds)
    hard: float = 0.0  # phase 1: time.time() by which a component's start search ends
    carry: bool = False  # phase 1: the exact bound goes on into phase 2 (one component)


def reserve_seconds(time_limit: float) -> float:
    """Seconds of ``time_limit_s`` the solve leaves for overrun and the results."""
    return min(RESERVE * time_limit, RESERVE_MAX_SECONDS)


def _size(c: Component) -> int:
    return c.n_orders + c.demand.size


def find_start(comp: Component, integer: bool, seconds: float = 10.0, stop=None,
               greedy: Start | None = None, threads: int = 1, carry: float = 0.0,
               hard: float = np.inf) -> Start:
    """Phase 1: the best start plan of a component and its lower bound (``carry``,
    ``hard``: start.best_start's; ``seconds`` and ``hard`` count the model's build)."""
    t0 = time.perf_counter()
    lp, layout = build_model(comp, integer)
    built = time.perf_counter() - t0
    plan, cost, name, lp_bound, hint, exact, priced, lp_seconds = best_start(
        comp, lp, layout, seconds - built, stop, None if greedy is None else greedy.quantity,
        threads, carry, hard - built)
    return Start(plan, cost, name, lp_bound, time.perf_counter() - t0, hint, exact, priced,
                 lp_seconds)


def collected_bound(start: Start) -> float | None:
    """The start's bound with its exact bound, if one went on into phase 2, ended and
    taken in (the larger of the two)."""
    exact = start.exact.result() if start.exact is not None else None
    if exact is None:
        return start.lp_bound
    return exact if start.lp_bound is None else max(start.lp_bound, exact)


def regret_prices(start: Start) -> np.ndarray | None:
    """The capacity prices of the best Lagrangian bound known now (phase 1's, or the exact
    bound's still running beside phase 2), or None."""
    found = best_priced(start.priced, start.exact.priced if start.exact else None)
    return None if found is None else found[1]


def greedy_start(comp: Component, stop=None) -> Start:
    """The greedy plan: every component's plan from the first second (a stop, a failed
    worker); ordering nothing when the stop came first."""
    t0 = time.perf_counter()
    plan, name = ((np.zeros(comp.n_orders), "no orders: stopped before any start plan")
                  if control.requested(stop) else (greedy_plan(comp), "greedy"))
    # With no cost below zero, 0 bounds every plan: weak, but a bound until phase 1 has
    # a real one.
    nonnegative = all((c >= 0).all() for c in (comp.holding_cost, comp.lost_sales_cost,
                                                comp.target_shortfall_cost))
    return Start(plan, component_cost(comp, plan), name, 0.0 if nonnegative else None,
                 time.perf_counter() - t0)


def start_piece(piece: Piece, stop=None) -> list[Start | None]:
    """Pool worker entry point of phase 1 (None for components a stop left out: they keep
    their greedy plans; those phase 1's deadline left out keep them with a quick bound)."""
    found: list[Start | None] = []
    for c, s, g in zip(piece.components, piece.start_seconds, piece.starts):
        left = piece.deadline - time.time() if piece.deadline else s
        if control.requested(stop):
            found.append(None)
        elif left < PHASE1_MIN_SECONDS or whole_model_alone(c, piece.integer):
            found.append(bounded_greedy(c, g, piece.integer, piece.end))
        else:
            carry = max(piece.end - time.time(), 0.0) if piece.carry else 0.0
            found.append(find_start(c, piece.integer, min(s, left), stop, g, piece.threads,
                                    carry, piece.hard - time.time() if piece.hard else np.inf))
    return found


def whole_model_alone(comp: Component, integer: bool) -> bool:
    """Whether phase 2 of ``comp`` is the whole model alone: relaxed quantities and no MOQ
    order (nothing for the near search to close, no SKU groups, no relaxed model
    first). Then that model is plain HiGHS from a start plan and needs every second:
    phase 1 gives it the greedy plan and a quick bound only (600 SKUs, no MOQ: its 24 s
    of start plans and Lagrangian rounds found nothing HiGHS did not, and left it short
    of the proof plain HiGHS reaches in the whole limit)."""
    return not integer and not moq_orders(comp).any()


def bounded_greedy(comp: Component, greedy: Start, integer: bool, end: float = 0.0
                   ) -> Start | None:
    """The greedy start of a component phase 1 had no time for, with a quick bound
    instead of 0: one DP pass at zero prices (``sku_dp.quick_bound``, a fraction of a
    second) or, where the DP does not apply, the LP relaxation. None (the greedy start as
    it is) when neither is found or ``end`` (a time.time()) has passed."""
    if end and time.time() >= end:
        return None
    t0 = time.perf_counter()
    bound = quick_bound(comp)
    if bound is None and comp.n_orders:
        lp, _ = build_model(comp, integer)
        left = min(QUICK_LP_SECONDS, end - time.time()) if end else QUICK_LP_SECONDS
        res = highs.solve(lp.replace(integrality=np.zeros_like(lp.integrality)),
                          highs.SolveOptions(time_limit=max(left, 0.1), isolate=False,
                                             threads=1))
        bound = res.objective if res.status == highs.OPTIMAL else None
    if bound is None:
        return None
    if greedy.lp_bound is not None:
        bound = max(bound, greedy.lp_bound)
    return dataclasses.replace(greedy, lp_bound=bound,
                               seconds=greedy.seconds + time.perf_counter() - t0)


# A component phase 1 had no time for (when its deadline comes first, the smallest ones:
# phase 1 runs the largest first) keeps its greedy plan, and on a few Anker-shape
# components that is four to five times its bound (Y16: 2,926,981 against 594,763; HiGHS
# from it reached 2,812,234 in its 29 s of phase 2, where 3 s of phase 1 found 841,254).
# Such a component's phase 2 starts with phase 1, in this share of its time.
LATE_START_SHARE = 0.25
# ... and it ends for good within this share (phase 1's deadline, ``hard``): past its
# budget phase 1 tries only what pays most (without it, 26.5 s of an 11 s budget).
LATE_START_HARD_SHARE = 0.5


def late_start(comp: Component, integer: bool, start: Start, budget: float, stop=None,
               threads: int = 1) -> Start:
    """``start``, or where it is the greedy plan of a component phase 1 had no time for
    and its phase-2 ``budget`` has room, the better of it and what phase 1 finds in
    LATE_START_SHARE of that budget, with the higher of their bounds."""
    seconds = LATE_START_SHARE * budget
    if (start.name != "greedy" or start.hint is not None or seconds < PHASE1_MIN_SECONDS
            or within_gap(start.cost, start.lp_bound, 0.0) or control.requested(stop)
            or whole_model_alone(comp, integer)):
        return start
    found = find_start(comp, integer, seconds, stop, start, threads,
                       hard=LATE_START_HARD_SHARE * budget)
    bounds = [b for b in (start.lp_bound, found.lp_bound) if b is not None]
    better = found if found.cost < start.cost else start
    return dataclasses.replace(better, lp_bound=max(bounds) if bounds else None,
                               seconds=start.seconds + found.seconds)


def kept_start(comp: Component, start: Start, status: str) -> ComponentResult:
    """The result of a component that keeps its start plan without solving."""
    bound = collected_bound(start)
    return ComponentResult(
        label=comp.label, supply_center=comp.supply_center, status=status,
        quantity=start.quantity, objective=start.cost, bound=bound,
        gap=highs.relative_gap(start.cost, bound), evaluated=start.cost,
        used=f"start plan ({start.name})", start_seconds=start.seconds)


def solve_component(comp: Component, integer: bool, time_limit: float, mip_gap: float,
                    threads: int, start: Start, stop=None,
                    watch: _Numbers | None = None, own: float = 1.0) -> ComponentResult:
    """Phase 2 of a component: build, solve from its start plan, round and re-evaluate.

    The near search (``NEAR_SHARE`` of ``time_limit``) gives way to the whole model as
    soon as it ends; the whole model then gets every second left. The start plan is kept
    when the solver finds nothing cheaper in time; after a stop the best plan so far.
    ``own`` is the part of ``time_limit`` that is the component's own claim: the rest was
    lent to its near search (``FAR_START_SECONDS``), and once that search has found a
    plan, the whole model gets no more than the own part, the rest going to the
    components queued after it.
    """
    t0 = time.perf_counter()
    budget = until = time_limit  # until: when this component's time ends (from t0)
    first_solve_s = 0.0
    lp, layout = build_model(comp, integer)
    build_s = time.perf_counter() - t0
    time_limit -= build_s
    start_plan, start_cost, lp_bound = start.quantity, start.cost, start.lp_bound
    # Where the plan to beat came from: phase 1 ("start plan (…)") or a search of phase 2.
    start_name = f"start plan ({start.name})"
    res = None
    # The start is already within the gap of the bound: nothing to solve.
    proven = within_gap(start_cost, lp_bound, mip_gap)
    # The relaxed model (continuous quantities), built once for the steps below.
    relaxed = None if integer else (lp, layout)
    # The near search only pays where it closes some MOQ order; closing none, it is the
    # whole model with its bound thrown away (a component without MOQs).
    closes = start.hint is not None and bool(((layout.z >= 0) & ~start.hint).any())
    # Every solve below (near the DP plans; integer mode's relaxed model; the whole
    # model) leaves one thread to the SKU-group search alongside, to the component's end:
    # HiGHS's tree search keeps one core busy whatever its thread count (measured: 100%
    # of one core on the whole 52-week model with two threads), while the rounds go on
    # finding cheaper plans where the whole model finds none.
    groups, searching = None, threads
    if (threads > 1 and comp.n_skus >= 2 * GROUP_SKUS and (closes or integer) and lp.n_cols
            and time_limit >= GROUPS_MIN_SECONDS and not proven and not control.requested(stop)):
        # No round is started that would run past the component's end.
        groups = _GroupSearch(comp, start_plan, time_limit, lp_bound,
                              mip_gap * (1 if integer else ROUNDING_ROOM), watch,
                              lambda: regret_prices(start))
        searching = threads - 1
    if (groups is None and (closes or integer) and lp.n_cols and comp.n_skus > GROUP_SKUS
            and lp_bound is not None and not within_gap(start_cost, lp_bound, SOLO_ROUNDS_GAP)
            and start_cost <= (1 + ROOM_CAP) * abs(lp_bound)
            and time_limit >= SOLO_ROUND_SECONDS + 2.0 and not control.requested(stop)):
        # A start more than SOLO_ROUNDS_GAP above its bound is mostly a few SKUs' poor
        # plans: a round over the SKUs with most regret closes much of that in seconds,
        # where such a component's near search (no lift: see ``_claims``) found nothing in
        # its 6–10 s. Where no group search runs alongside, rounds come first, for half
        # the time. Far starts keep their lifted near search: the rounds took the time it
        # needed (one Anker run: Z9 821k instead of 628k).
        t1 = time.perf_counter()
        q, c, _ = improve_by_groups(
            comp, start_plan, min(time_limit - 2.0, max(0.5 * time_limit, SOLO_ROUND_SECONDS)),
            lp_bound, mip_gap * (1 if integer else ROUNDING_ROOM), stop,
            None if watch is None else watch.improved, first_round=SOLO_ROUND_SECONDS,
            prices=lambda: regret_prices(start))
        first_solve_s += time.perf_counter() - t1
        time_limit -= time.perf_counter() - t1
        if c < start_cost - 1e-9:
            start_plan, start_cost, start_name = q, c, GROUPS_PLAN
            # The loan is repaid, as when the near search finds a plan.
            until = min(until, own * budget)
            time_limit = min(time_limit, until - (time.perf_counter() - t0))
            proven = within_gap(start_cost, lp_bound, mip_gap)
    if closes and lp.n_cols and not proven and time_limit > 2.0:
        # Only the MOQ orders some DP plan or the start places: a small MIP where HiGHS
        # finds good plans in seconds, far sooner than on the whole model. Where the
        # SKU-group rounds run alongside, a second stream of them instead: on one
        # component of 200 SKUs × 52 weeks the near search found nothing in 61 s (the
        # rounds: 2.79M → 2.42M meanwhile); of 600 SKUs with MOQs, 4.366M in 64 s where
        # the rounds had 4.307M.
        t1 = time.perf_counter()
        if groups is not None:
            # Past NEAR_SHARE the rounds go on while they find cheaper plans, up to all
            # but WHOLE_SHARE of the component's own time: on the 52-week shape they were
            # still finding them at the end, where the whole model found none in 31 s.
            groups.search_here(NEAR_SHARE * time_limit, (1 - WHOLE_SHARE) * own * time_limit,
                               stop)
            near, how = groups.best, GROUPS_PLAN
        else:
            relaxed = relaxed or build_model(comp, integer=False)
            _, near = _relaxed_plan(comp, relaxed, start_plan, NEAR_SHARE * time_limit,
                                    mip_gap, searching, hint=start.hint, stop=stop,
                                    watch=watch, polish_s=start.lp_seconds)
            how = "near the DP plans"
        first_solve_s += time.perf_counter() - t1
        time_limit -= time.perf_counter() - t1
        if near is not None and near[1] < start_cost - 1e-9:
            start_plan, start_cost, start_name = near[0], near[1], how
            # The loan is repaid: what the near search used counts against the own part.
            until = min(until, own * budget)
            time_limit = min(time_limit, until - (time.perf_counter() - t0))
    if integer and lp.n_cols and not proven and time_limit > 2.0 and not control.requested(stop):
        # Whole quantities make HiGHS far slower. Solve the relaxed model first: its
        # rounded plan is a whole plan, a better start, and its bound also bounds the
        # integer model.
        t1 = time.perf_counter()
        relaxed = relaxed or build_model(comp, integer=False)
        first, found = _relaxed_plan(comp, relaxed, start_plan, RELAXED_SHARE * time_limit,
                                     mip_gap, searching, stop=stop, watch=watch,
                                     polish_s=start.lp_seconds)
        if found is not None and found[1] < start_cost - 1e-9:
            start_plan, start_cost, start_name = found[0], found[1], "relaxed model, rounded"
        if first.status != highs.STOPPED and first.bound is not None and (
                lp_bound is None or first.bound > lp_bound):
            lp_bound = first.bound
        first_solve_s += first.solve_seconds
        time_limit -= time.perf_counter() - t1
        proven = within_gap(start_cost, lp_bound, mip_gap)
    if groups is not None:
        # The whole model starts from the cheaper plan; the rounds go on alongside it.
        time_limit = until - (time.perf_counter() - t0)
        found_plan, found_cost = groups.best
        if found_cost < start_cost - 1e-9:
            start_plan, start_cost, start_name = found_plan, found_cost, GROUPS_PLAN
            proven = within_gap(start_cost, lp_bound, mip_gap)
    # Where the whole model is all there is (relaxed quantities, no MOQ order), its
    # rounded plan is the plan, and its rounding gets a few seconds of repair after it.
    repair_s = min(REPAIR_SHARE * budget, REPAIR_MAX_SECONDS) \
        if whole_model_alone(comp, integer) else 0.0
    if (time_limit > min(WHOLE_MIN_SECONDS, max(0.5 * budget, 0.05)) and lp.n_cols and not proven
            and not control.requested(stop)):
        # Elsewhere the solver's plan gets its quantities re-optimised after it: one LP,
        # whose time (phase 1's) is kept from the solver's. HiGHS is ended for good at
        # its own limit's end: with a start on the 52-week shape it ran 1.2 s past 4 s.
        whole_s = max(time_limit - (0.0 if repair_s else start.lp_seconds), 0.5 * time_limit)
        res = highs.solve(lp, highs.SolveOptions(**ended_by(whole_s),
                                                 mip_gap=mip_gap * (1 if integer else
                                                                    ROUNDING_ROOM),
                                                 threads=searching,
                                                 start=start_vector(comp, layout, start_plan)),
                          progress=watch.highs(whole_s, True) if watch else None,
                          stop=stop)
    if groups is not None:
        groups.close()  # within a round: the second that takes is counted here
        found_plan, found_cost = groups.best
        if found_cost < start_cost - 1e-9:
            start_plan, start_cost, start_name = found_plan, found_cost, GROUPS_PLAN
    if start.exact is not None:
        start.exact.end_rounds()  # its closing passes run beside the re-optimisation
    qty, used, cost = start_plan, start_name, start_cost
    if control.requested(stop):
        status = highs.STOPPED if not proven else highs.OPTIMAL
    elif res is not None:
        status = res.status
    else:
        status = highs.OPTIMAL if proven or not lp.n_cols else highs.TIME_LIMIT
    if res is not None and res.x is not None:
        rounded = round_plan(comp, res.x[layout.x])
        polished = [(rounded, "solver")]
        if repair_s and not control.requested(stop):
            polished.append((repair_rounding(comp, res.x[layout.x], rounded, repair_s,
                                             stop), "solver, rounding repaired"))
        elif not control.requested(stop):
            # Re-optimising the quantities with the solver's MOQ orders fixed costs one LP
            # (without MOQ orders it is the LP relaxation, whose rounded plan is far dearer:
            # 2,401,030 against 2,327,335 on 600 SKUs × 30 factories, in 2.2 s).
            polished.append((polish_with_fixed_orders(
                comp, lp, layout, rounded, max(until - (time.perf_counter() - t0),
                                               POLISH_MIN_SECONDS), stop), "solver"))
        for q, how in polished:
            c = component_cost(comp, q)
            if c < cost - 1e-9 and not check_plan(comp, q):
                qty, used, cost = q, how, c
    objective = res.objective if res is not None and res.objective is not None else start_cost
    objective = min(objective, start_cost)  # the rounds may end below HiGHS's incumbent
    bound = res.bound if res is not None else (start_cost if not lp.n_cols else None)
    # The exact bound that went on beside phase 2 (if one did) ends here.
    if (collected := collected_bound(start)) is not None and (
            lp_bound is None or collected > lp_bound):
        lp_bound = collected
    if lp_bound is not None and (bound is None or lp_bound > bound):
        bound = lp_bound  # HiGHS was stopped before its root LP: the relaxation still bounds
    if status == highs.INFEASIBLE:  # cannot happen (x = 0 is a plan); keep the start plan
        status = highs.ERROR
    gap = highs.relative_gap(objective, bound)
    return ComponentResult(
        label=comp.label, supply_center=comp.supply_center, status=status, quantity=qty,
        objective=objective, bound=bound, gap=gap, evaluated=cost, used=used,
        size=lp.size(), bounds=layout.bounds, build_seconds=build_s,
        start_seconds=start.seconds, time_budget=max(budget, 0.0),
        solve_seconds=first_solve_s + (res.solve_seconds if res is not None else 0.0))


class _GroupSearch:
    """start.improve_by_groups in a thread, alongside the component's searches for plans
    (the GIL is released while HiGHS solves), and on request a second stream of rounds
    in the caller's thread (``search_here``): both improve one plan (start.SharedPlan),
    whose cost and plan are ``best``. ``close`` stops the thread's running round (HiGHS
    hears the stop within a second). ``prices``: both streams' ``improve_by_groups``
    ``prices`` (the capacity prices their SKUs' regret is taken at)."""

    def __init__(self, comp: Component, plan: np.ndarray, seconds: float,
                 bound: float | None, gap: float, watch: _Numbers | None,
                 prices=None) -> None:
        self.comp, self.bound, self.gap, self.prices = comp, bound, gap, prices
        self._improved = None if watch is None else watch.improved
        self.shared = SharedPlan(comp, plan)
        self.halt = control.StopToken()
        self.thread = threading.Thread(target=self._run, args=(seconds,), daemon=True,
                                       name="scplan-mps-groups")
        self.thread.start()

    @property
    def best(self) -> tuple[np.ndarray, float]:
        return self.shared.best

    def _run(self, seconds: float) -> None:
        try:
            improve_by_groups(self.comp, None, seconds, self.bound, self.gap, self.halt,
                              self._improved, self.shared, prices=self.prices)
        except Exception:  # pragma: no cover - the component keeps HiGHS's plan
            pass

    def search_here(self, seconds: float, longest: float, stop=None) -> None:
        """A second stream of rounds (groups of its own) in this thread, for ``seconds``
        and on up to ``longest`` while the rounds keep finding cheaper plans."""
        improve_by_groups(self.comp, None, seconds, self.bound, self.gap, stop,
                          self._improved, self.shared, stream=1, longest=longest,
                          prices=self.prices)

    def close(self) -> None:
        self.halt.request_stop()
        self.thread.join()
        self.halt.close()


GROUPS_PLAN = "improved by SKU groups"


def _relaxed_plan(comp: Component, relaxed, start_plan: np.ndarray, seconds: float,
                  mip_gap: float, threads: int, hint: np.ndarray | None = None, stop=None,
                  watch: _Numbers | None = None, polish_s: float = 0.0):
    """Solve the relaxed model ``relaxed`` = (lp, layout) from the start plan, with the MOQ
    orders outside ``hint`` closed when given. Returns HiGHS's result and its cheapest
    whole plan — rounded, or rounded and re-optimised; capacity and MOQ kept — with its
    cost (None when there is none). The re-optimisation (one LP, ``polish_s`` seconds
    as timed in phase 1) is part of ``seconds``; HiGHS is ended for good before it."""
    t0 = time.perf_counter()
    lp, layout = relaxed
    searched = lp
    if hint is not None:
        closed = (layout.z >= 0) & ~hint
        upper = lp.upper.copy()
        upper[layout.x[closed]] = 0.0
        upper[layout.z[closed]] = 0.0
        searched = lp.replace(upper=upper)
    solver_s = max(seconds - polish_s, 0.5 * seconds)
    res = highs.solve(searched, highs.SolveOptions(
        **ended_by(solver_s), mip_gap=mip_gap, threads=threads,
        start=start_vector(comp, layout, start_plan),
        heuristic_effort=NEAR_HEURISTIC_EFFORT if hint is not None else None),
        # A restricted model's bound does not bound the component.
        progress=watch.highs(solver_s, hint is None) if watch else None, stop=stop)
    if res.x is None:
        return res, None
    rounded = round_plan(comp, res.x[layout.x])
    left = max(seconds - (time.perf_counter() - t0), POLISH_MIN_SECONDS)
    tried = [rounded] if control.requested(stop) else [
        rounded, polish_with_fixed_orders(comp, lp, layout, rounded, left, stop)]
    found = [(q, component_cost(comp, q)) for q in tried if not check_plan(comp, q)]
    return res, (min(found, key=lambda f: f[1]) if found else None)


class _Numbers(Progress):
    """A piece's plan cost and bound, its components summed, for the parent's progress.

    Components not yet solved count with their start plan and bound; the one being
    solved with HiGHS's incumbent and (on the whole model) its bound.
    """

    def __init__(self, stop, starts: list[Start], phase: str, limit: float) -> None:
        self.stop, self.phase, self.limit = stop, phase, limit
        self.cost = [s.cost for s in starts]
        self.bound = [s.lp_bound for s in starts]
        self.current, self.bound_valid = 0, False
        self.t0 = time.monotonic()

    def highs(self, seconds: float, bound_valid: bool):
        """A highs.solve progress callback for the component being solved."""
        self.bound_valid = bound_valid
        return from_highs(self, self.phase, seconds)

    def improved(self, plan: np.ndarray, cost: float) -> None:
        """A search found a cheaper plan of ``cost`` (``improve_by_groups``' callback)."""
        self.event(ProgressEvent(cost=cost))

    def event(self, event: ProgressEvent) -> None:
        j = self.current
        if event.cost is not None:
            self.cost[j] = min(self.cost[j], event.cost)
        if self.bound_valid and event.bound is not None:
            self.bound[j] = max(self.bound[j] if self.bound[j] is not None else -math.inf,
                                event.bound)
        self.send()

    def done(self, j: int, r: ComponentResult) -> None:
        self.cost[j], self.bound[j] = r.evaluated, r.bound
        self.send(force=True)

    def send(self, force: bool = False) -> None:
        if self.stop is None:
            return
        self.stop.report(summed(self.cost, self.bound, self.phase, self.limit,
                                time.monotonic() - self.t0), force)


def summed(costs, bounds, phase: str, limit: float | None, elapsed: float | None
           ) -> ProgressEvent:
    """One progress event for components: costs and bounds added up."""
    cost = float(sum(costs))
    bound = None if any(b is None for b in bounds) else float(sum(bounds))
    return ProgressEvent(phase=phase, elapsed=elapsed, limit=limit, cost=cost, bound=bound,
                         gap=highs.relative_gap(cost, bound))


def share_time(share: Share, left: float, lanes: int, held: list[float] | None = None
               ) -> float:
    """Seconds of phase 2 for a component that starts now, ``left`` s before the deadline,
    while the components running on the other lanes still hold ``held`` seconds each.

    Its weight's part of the lane time left (``lanes`` × ``left`` less what is held)
    among itself and the components queued after it, never less than its floor, never
    so much that those lose theirs. All that is left when each one queued after it gets
    a lane of its own, as the lanes free up, with time for its floor: then no lane
    idles at the end. Computed when the component starts, so time the earlier ones did
    not use is shared again, and time one overran is taken from all that are queued.
    """
    if left <= 0:
        return 0.0
    held = [min(h, left) for h in held or []]
    # Seconds until each other lane is free, soonest first.
    free_in = sorted(held) + [0.0] * max(lanes - 1 - len(held), 0)
    if share.count_after < lanes and \
            sum(left - f for f in free_in[:share.count_after]) >= share.floor_after:
        return left
    pool = lanes * left - sum(held)
    budget = pool * share.weight / max(share.weight + share.after, 1e-12)
    budget = min(budget, pool - share.floor_after)
    return float(min(max(budget, share.floor), left))


class _Lanes:
    """Phase 2's one queue on every lane: run_pieces' ``prepare``, which sets each
    component's budget (``share_time``) as a lane takes it, from the time left on all
    lanes less what the components running on the others still hold."""

    def __init__(self, pieces: list[Piece], lanes: int, deadline: float,
                 clock=time.time) -> None:
        self.pieces, self.lanes, self.deadline, self.clock = pieces, lanes, deadline, clock
        self.ends: dict[int, float] = {}  # piece -> clock() when its budget ends

    def __call__(self, i: int, running: list[int]) -> Piece:
        now = self.clock()
        held = [max(self.ends.get(j, now) - now, 0.0) for j in running]
        budget = share_time(self.pieces[i].shares[0], self.deadline - now, self.lanes, held)
        self.ends[i] = now + budget
        return dataclasses.replace(self.pieces[i], budgets=[budget])


def solve_piece(piece: Piece, stop=None) -> list[ComponentResult]:
    """Pool worker entry point of phase 2: the components of a piece one after another."""
    numbers = _Numbers(stop, piece.starts, "Solving", piece.deadline - time.time())
    out = []
    for j, (comp, share, start) in enumerate(zip(piece.components, piece.shares,
                                                 piece.starts)):
        if control.requested(stop):
            out.append(kept_start(comp, start, highs.STOPPED))
            continue
        numbers.current = j
        # The budget set as the piece started (_Lanes), never past the deadline.
        budget = min(piece.budgets[j], max(piece.deadline - time.time(), 0.0))
        t0 = time.time()
        start = late_start(comp, piece.integer, start, budget, stop, piece.threads)
        budget = max(budget - (time.time() - t0), 0.0)
        out.append(solve_component(comp, piece.integer, budget, piece.mip_gap, piece.threads,
                                   start, stop, numbers, own=share.own))
        numbers.done(j, out[-1])
    return out


# Why concave in the room: HiGHS closes most of a component's gap in its first seconds
# and little after, while time in proportion to the room gives a component with a poor
# start plan most of the time. A start plan far above its bound is mostly a poor start
# (the search near the DP plans fixes it in seconds), so the room counts up to ROOM_CAP
# of the bound; but that search needs some time to find anything, so such a start gets
# at least FAR_START_SECONDS (docs/master_production.md, "Phases and time sharing").
ROOM_CAP = 0.5
FAR_START_SECONDS = 40.0
# The search near the DP plans is a search for plans, not a proof: HiGHS's primal
# heuristics get six times their default effort.
NEAR_HEURISTIC_EFFORT = 0.3
# Share of a component's phase-2 time for the search near the DP plans; HiGHS gets the
# rest (and whatever the near search did not use) on the whole model.
NEAR_SHARE = 0.7
# A component no group search runs beside, with a start more than SOLO_ROUNDS_GAP above
# its bound (but not far: ROOM_CAP), first gets SKU-group rounds whose first takes
# SOLO_ROUND_SECONDS (Anker-scale components of about 100 SKUs, 30 drawn by regret from
# the start plan: rounds of 2 s found nothing in three of four; one of 5 s took Y3 from
# 677,798 to 616,424 against a bound of 603,113, Y10 531,625 → 512,431).
SOLO_ROUNDS_GAP = 0.05
SOLO_ROUND_SECONDS = 5.0
# Where a second stream of SKU-group rounds takes the near search's place, the whole
# model keeps at least this share of the component's time (its proof and the floor).
WHOLE_SHARE = 0.1
# A component of START_COLUMNS or less needs about this many seconds of phase 2 before
# HiGHS improves anything (building, presolve, root); larger ones more in proportion.
PHASE2_MIN_SECONDS = 3.0
# Where the whole model is all there is (whole_model_alone), its rounded plan is repaired
# (start.repair_rounding) after it, for REPAIR_SHARE of the component's time and at most
# REPAIR_MAX_SECONDS, in place of the re-optimisation with fixed MOQ orders (which has
# none to fix there): on 600 SKUs × 30 factories without MOQ the rounding cost 556 above
# the relaxed plan, 2 s of repair took that to 275. It runs also when the rounded plan is
# within the gap (proven early, so the time is there): 2,317,328 → 2,317,083 on that
# workbook, 1,908,677 → 1,908,548 drawn from seed 17. The time is not taken from HiGHS: with
# 4 s less, in one run of two its plan ended 0.24% dearer (a slow machine; the same plan in
# the other). Components with MOQ orders get no repair: their plans mostly come from the
# other searches.
REPAIR_SHARE = 0.02
REPAIR_MAX_SECONDS = 2.0
# HiGHS on the whole model is not started with less time than this: its child process
# and presolve alone would overrun the budget.
WHOLE_MIN_SECONDS = 1.0
# HiGHS on the whole model is asked to stop this long before it is ended for good
# (``end_by``): time to hand its plan back.
WHOLE_END_MARGIN = 0.3
# The re-optimisation of the solver's plan (one LP) gets what is left of the component's
# time, and never less than this (without it the solver's rounded plan stands).
POLISH_MIN_SECONDS = 0.5


def ended_by(seconds: float) -> dict:
    """HiGHS's options for a MIP that must end within ``seconds``: its own limit
    WHOLE_END_MARGIN before (never less than half of it), ended for good at ``seconds``."""
    return {"time_limit": max(seconds - WHOLE_END_MARGIN, 0.5 * seconds), "end_by": seconds}


def phase2_shares(starts: list[Start], sizes: list[int], mip_gap: float,
                  lane_time: float) -> list[Share]:
    """Each component's claim on ``lane_time`` (phase-2 seconds summed over the lanes).

    Components already within ``mip_gap`` of their bound claim nothing. Of the others,
    FLOOR_SHARE goes by size (their floors) and the rest by the square root of the room
    between start plan and bound, capped at ROOM_CAP of the bound (a missing bound
    counts as a full cap). A claim smaller than the component needs to get anywhere
    (``useful_seconds``) is dropped, smallest first, and the time shared among the rest:
    seconds HiGHS spends building and presolving a model do not improve its plan.
    """
    open_ = np.array([not within_gap(s.cost, s.lp_bound, mip_gap) for s in starts], bool)
    useful = np.array([useful_seconds(n) for n in sizes])
    while True:
        budget, floor, own = _claims(starts, sizes, open_, lane_time)
        short = open_ & (budget < useful - 1e-9)
        if not short.any() or open_.sum() <= 1:
            break
        open_[np.flatnonzero(short)[np.argmin(budget[short])]] = False
    weight = budget / max(budget.sum(), 1e-12)
    return [Share(float(w), float(f), float(o)) for w, f, o in zip(weight, floor, own)]


def useful_seconds(size: int) -> float:
    """Phase-2 seconds below which a component of ``size`` gets nothing from HiGHS (its
    build, presolve and root alone take about that long)."""
    return PHASE2_MIN_SECONDS * max(1.0, size / START_COLUMNS)


def _claims(starts: list[Start], sizes: list[int], open_: np.ndarray, lane_time: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phase-2 seconds and floors of the components marked ``open_`` (0 for the others),
    and the part of each claim that is not lifted."""
    n = len(starts)
    if not open_.any():
        return np.zeros(n), np.zeros(n), np.ones(n)
    size = np.asarray(sizes, float) * open_
    by_size = size / size.sum()
    cost = np.array([abs(s.cost) for s in starts])
    bound = np.array([abs(s.lp_bound) if s.lp_bound is not None else cost_i
                      for s, cost_i in zip(starts, cost)])
    room = np.minimum([s.gap if s.lp_bound is not None else np.inf for s in starts],
                      ROOM_CAP * np.maximum(bound, 1e-9)) * open_
    root = np.sqrt(room)
    by_room = root / root.sum() if root.sum() > 0 else by_size
    budget = lane_time * (FLOOR_SHARE * by_size + (1 - FLOOR_SHARE) * by_room)
    floor = FLOOR_SHARE * lane_time * by_size
    # Starts far above their bound get up to FAR_START_SECONDS (and that as their floor),
    # taken from the others in proportion, at most half of their time.
    far = open_ & (cost > (1 + ROOM_CAP) * bound)
    rest = open_ & ~far
    lift = np.where(far, np.maximum(FAR_START_SECONDS - budget, 0.0), 0.0)
    own = np.ones(n)
    if lift.sum() > 0 and rest.any():
        lift *= min(1.0, 0.5 * budget[rest].sum() / lift.sum())
        scale = 1 - lift.sum() / budget[rest].sum()
        budget[rest] *= scale
        floor[rest] *= scale
        own[far] = budget[far] / (budget[far] + lift[far])
        budget += lift
        floor[far] = np.maximum(floor[far], budget[far])
    return budget, floor, own


def queue(shares: list[Share]) -> None:
    """Fill in what is queued after each share (list order = the order they start)."""
    after = floor_after = 0.0
    count = 0
    for s in reversed(shares):
        s.after, s.floor_after, s.count_after = after, floor_after, count
        if s.weight > 0:
            after += s.weight
            floor_after += s.floor
            count += 1


def claim_order(shares: list[Share], sizes: list[int]) -> list[int]:
    """The order phase 2 starts its components in: largest claim first (a large floor
    cannot wait for a lane to free up), those without a claim (proven, or too little
    time for them) last."""
    return sorted(range(len(shares)), key=lambda i: (-shares[i].weight, -sizes[i]))


def _batches(items: list, sizes: list[int]) -> list[list[int]]:
    """Consecutive index groups of about BATCH_COLUMNS in size (large items alone)."""
    groups, group, size = [], [], 0
    for i, s in enumerate(sizes):
        group.append(i)
        size += s
        if size >= BATCH_COLUMNS or i == len(items) - 1:
            groups.append(group)
            group, size = [], 0
    return groups


def solve_all(inst: Instance, progress: Progress = NULL, decompose: bool = True,
              stop=None) -> tuple[list[Component], list[ComponentResult], float]:
    """Solve every component of every supply center; returns components, results, build s.

    Phase 1 finds every component's start plan and lower bound; phase 2 shares the time
    left between the components not yet proven (``phase2_shares``, ``share_time``). A
    piece that did not run (stop) or failed keeps its components' start plans.
    """
    settings = inst.settings
    integer = not settings.relax_order_quantities
    time_limit = float(settings.time_limit_s)
    mip_gap = float(settings.mip_gap)
    workers = settings.workers or None  # None: one per core
    n_workers = workers or parallel.default_workers()
    # The DP is compiled (or loaded from numba's cache) before the clock starts: the first
    # run after an install compiles for 4 s on a quiet machine and 18 s on a slow one,
    # which inside the limit left a 20 s solve of the small example no phase 1 at all.
    progress.status("Preparing the solver…")
    warm_up()
    t_start = time.time()
    t0 = time.perf_counter()
    comps, _ = make_components(inst, integer, decompose)
    split_s = time.perf_counter() - t0
    sizes = [_size(c) for c in comps]
    total = sum(sizes) or 1
    use_pool = n_workers > 1 and len(comps) > 1 and total >= POOL_COLUMNS
    lanes = min(n_workers, len(comps)) if use_pool else 1
    threads = 1 if use_pool else min(2, os.cpu_count() or 1)
    usable = time_limit - reserve_seconds(time_limit)

    def run(fn, pieces, label, prepare=None):
        return parallel.run_pieces(fn, pieces, workers=workers if use_pool else 1,
                                   progress=progress, label=label, stop=stop, prepare=prepare)

    # Phase 1: largest first (the pool stays busy).
    order = sorted(range(len(comps)), key=lambda i: -sizes[i])
    groups = [[order[j] for j in g] for g in _batches(order, [sizes[i] for i in order])]

    # Phase 1: start plans and bounds; up to START_SHARE of the time, by size.
    # The greedy plans first (about a second at Anker scale): whatever happens next,
    # every component has a plan.
    progress.status(f"Start plans for {len(comps)} component(s)…")
    greedy = [greedy_start(c, stop) for c in comps]
    progress.update(phase="Start plans", elapsed=time.time() - t_start, limit=time_limit,
                    **_totals([s.cost for s in greedy], [None]))
    phase1_wall = START_SHARE * max(usable - (time.time() - t_start), 0.0)
    pool = phase1_wall * lanes
    start_s = [min(START_SECONDS * max(1.0, s / START_COLUMNS), pool * s / total)
               for s in sizes]
    progress.status(f"Start plans and bounds for {len(comps)} component(s)…")
    # A lone component's exactly priced bound may need more than phase 1 to converge
    # (52 weeks × 200 SKUs: about 60 s of one core): it goes on beside phase 2, which
    # takes it in at the end.
    carry = len(comps) == 1 and threads > 1
    found = [] if control.requested(stop) else run(
        start_piece, [Piece([comps[i] for i in g], integer, starts=[greedy[i] for i in g],
                            start_seconds=[start_s[i] for i in g], threads=threads,
                            deadline=time.time() + phase1_wall, end=t_start + usable,
                            hard=t_start + PHASE1_HARD_SHARE * usable, carry=carry)
         for g in groups],
        "Start plans")
    starts = list(greedy)
    for g, batch in zip(groups, found):
        for i, s in zip(g, batch if isinstance(batch, list) else [None] * len(g)):
            if isinstance(s, Start):
                if s.lp_bound is None:  # cut short by a stop: the weak bound still holds
                    s.lp_bound = greedy[i].lp_bound
                starts[i] = s
    progress.update(phase="Start plans", elapsed=time.time() - t_start, limit=time_limit,
                    **_totals([s.cost for s in starts], [s.lp_bound for s in starts]))

    # Phase 2: shares by size and room, budgets computed as the components start.
    left = usable - (time.time() - t_start)
    shares = phase2_shares(starts, sizes, mip_gap, max(left, 0.0) * lanes)
    # One queue for all lanes, one component a piece: a lane takes the next as soon as
    # it is free, and its budget is set then (_Lanes).
    order = claim_order(shares, sizes)
    queue([shares[i] for i in order])
    deadline = t_start + usable
    pieces = [Piece([comps[i]], integer, shares=[shares[i]], deadline=deadline,
                    mip_gap=mip_gap, threads=threads, starts=[starts[i]]) for i in order]
    if stop is not None:  # every piece counts in the merged numbers from the start
        for k, i in enumerate(order):
            stop.for_piece(k).report(summed([starts[i].cost], [starts[i].lp_bound], "Solving",
                                            left, 0.0), force=True)
    results: list[ComponentResult | None] = [None] * len(comps)
    if not control.requested(stop):
        progress.status(f"Solving {len(comps)} component(s)…")
        for i, batch in zip(order, run(solve_piece, pieces, "Solving",
                                       _Lanes(pieces, lanes, deadline))):
            if isinstance(batch, list):
                results[i] = batch[0]
    if control.requested(stop):
        progress.status("Stopped: every component keeps its best plan…")
    # Components a stop or a failed worker left: their start plans.
    fallback = highs.STOPPED if control.requested(stop) else highs.ERROR
    for i, r in enumerate(results):
        if r is None:
            results[i] = kept_start(comps[i], starts[i], fallback)
    if not integer:
        _whole_units(comps, results, mip_gap, t_start + usable, progress, stop)
    return comps, results, split_s


def _whole_units(comps, results, mip_gap, deadline, progress, stop) -> None:
    """With time left, bring into the gap the plans that rounding put outside it.

    The relaxed model was proven; its rounded plan was not. First the quantities are
    re-optimised as whole units with the MOQ orders kept (a small MIP); then, while the
    plan is still outside the gap, the component's whole-unit model (integer mode) runs
    from it for the rest of its share: its plans are whole-unit plans, and its dual bound
    bounds every whole-unit plan, so it can prove the gap the relaxed bound could not.
    """
    todo = [i for i, r in enumerate(results)
            if r.bound is not None and not within_gap(r.evaluated, r.bound, mip_gap)]
    if todo and not control.requested(stop):
        progress.status(f"Whole units for {len(todo)} component(s)…")
    for k, i in enumerate(todo):
        left = deadline - time.time()
        if left < 1.0 or control.requested(stop):
            return
        share_end = time.time() + left / (len(todo) - k)
        comp, r = comps[i], results[i]
        lp, layout = build_model(comp, False)
        q = polish_whole_units(comp, lp, layout, r.quantity, share_end - time.time(), stop)
        results[i] = r = _cheaper(comp, r, q, "whole units re-optimised")
        seconds = share_end - time.time()
        if within_gap(r.evaluated, r.bound, mip_gap) or seconds < 1.0 or \
                control.requested(stop):
            continue
        whole, whole_layout = build_model(comp, True)
        res = highs.solve(whole, highs.SolveOptions(
            **ended_by(seconds), mip_gap=mip_gap, threads=1,
            start=start_vector(comp, whole_layout, r.quantity)), stop=stop)
        if res.x is not None:
            q = round_plan(comp, res.x[whole_layout.x])
            results[i] = r = _cheaper(comp, r, q, "whole-unit model")
        if res.status != highs.INFEASIBLE and res.bound is not None and \
                math.isfinite(res.bound) and res.bound > r.bound:
            results[i] = dataclasses.replace(r, bound=min(res.bound, r.evaluated))


def _cheaper(comp, r: ComponentResult, q: np.ndarray, how: str) -> ComponentResult:
    """``r`` with plan ``q`` when ``q`` is feasible and cheaper (evaluated), else ``r``."""
    cost = component_cost(comp, q)
    if not check_plan(comp, q) and cost < r.evaluated - 1e-9:
        return dataclasses.replace(r, quantity=q, evaluated=cost, used=f"{r.used}, {how}")
    return r


def _totals(costs, bounds) -> dict:
    ev = summed(costs, bounds, "", None, None)
    return {"cost": ev.cost, "bound": ev.bound, "gap": ev.gap}
