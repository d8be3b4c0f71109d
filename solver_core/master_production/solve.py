"""The solve strategy of an MPS instance: components, phases, time sharing.

docs/master_production.md, "How it is solved". Every supply center is split into
connected components (model.py); components are grouped into pieces, the batches the
worker processes take (small ones share a piece so process start-up does not
dominate), and run in parallel processes, in two phases:

1. every component gets a whole, capacity- and MOQ-feasible start plan and a lower
   bound (start.best_start: the LP, and when the budget allows each SKU's exact
   optimum by DP with capacity prices from column generation, sku_dp), so a plan
   exists early;
2. HiGHS starts from that plan: first near the DP plans (MOQ orders no DP plan places
   stay closed; extra primal-heuristic effort), then on the whole model. Half the time
   goes in equal shares to the components not yet proven, half by the square root of
   the room between start plan and bound (``_phase2_budgets``).

A solver plan replaces the start plan only when its rounded re-evaluation is cheaper.
The plan is assembled, re-evaluated and reported by report.py.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from .. import highs, parallel
from ..progress import NULL, Progress
from .data import Instance
from .model import Component, build_model, make_components
from .simulate import component_cost
from .start import (
    best_start,
    check_plan,
    polish_with_fixed_orders,
    round_plan,
    start_vector,
    within_gap,
)

BATCH_COLUMNS = 4000  # components smaller than this share a piece
POOL_COLUMNS = 20000  # below this in all, solve in this process (no pool start-up)
RESERVE = 0.08  # share of time_limit_s kept for solver overrun and writing results


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
    """A component's start plan and LP bound (phase 1)."""

    quantity: np.ndarray
    cost: float
    name: str
    lp_bound: float | None
    seconds: float
    hint: np.ndarray | None = None  # orders the DP plans or the start place (per order)

    @property
    def gap(self) -> float:
        """Absolute room for improvement: start cost minus the LP bound."""
        return max(self.cost - (self.lp_bound if self.lp_bound is not None else 0.0), 0.0)


@dataclass
class Piece:
    """Components a worker solves one after another, with their time budgets."""

    components: list[Component]
    integer: bool
    budgets: list[float] = field(default_factory=list)  # seconds per component (phase 2)
    deadline: float = 0.0  # time.time() by which the components should be done
    mip_gap: float = 0.0  # phase 2: Settings!mip_gap
    threads: int = 1
    queued_after: list[float] = field(default_factory=list)  # budgets submitted later, s
    lanes: int = 1  # components solved at the same time
    starts: list[Start] = field(default_factory=list)
    start_seconds: float = 10.0  # phase 1 budget per component


def _size(c: Component) -> int:
    return c.n_orders + c.demand.size


def find_start(comp: Component, integer: bool, seconds: float = 10.0) -> Start:
    """Phase 1: the best start plan of a component and its lower bound."""
    t0 = time.perf_counter()
    lp, layout = build_model(comp, integer)
    plan, cost, name, lp_bound, hint = best_start(comp, lp, layout, seconds)
    return Start(plan, cost, name, lp_bound, time.perf_counter() - t0, hint)


def start_piece(piece: Piece) -> list[Start]:
    """Pool worker entry point of phase 1."""
    return [find_start(c, piece.integer, piece.start_seconds) for c in piece.components]


def solve_component(comp: Component, integer: bool, time_limit: float, mip_gap: float,
                    threads: int, start: Start) -> ComponentResult:
    """Phase 2 of a component: build, solve from its start plan, round and re-evaluate.

    The start plan (phase 1) is kept when the solver finds nothing cheaper in time.
    """
    t0 = time.perf_counter()
    budget = time_limit
    first_solve_s = 0.0
    lp, layout = build_model(comp, integer)
    build_s = time.perf_counter() - t0
    start_plan, start_cost, lp_bound = start.quantity, start.cost, start.lp_bound
    start_name = start.name
    res = None
    # The start is already within the gap of the LP bound: nothing to solve.
    proven = within_gap(start_cost, lp_bound, mip_gap)
    # The relaxed model (continuous quantities), built once for the steps below.
    relaxed = None if integer else (lp, layout)
    if start.hint is not None and lp.n_cols and not proven and time_limit > 2.0:
        # Only the MOQ orders some DP plan or the start places: a small MIP where HiGHS
        # finds good plans in seconds, far sooner than on the whole model.
        t1 = time.perf_counter()
        relaxed = relaxed or build_model(comp, integer=False)
        _, near = _relaxed_plan(comp, relaxed, start_plan, NEAR_SHARE * time_limit, mip_gap,
                                threads, hint=start.hint)
        if near is not None and near[1] < start_cost - 1e-9:
            start_plan, start_cost, start_name = near[0], near[1], "near the DP plans"
        first_solve_s += time.perf_counter() - t1
        time_limit -= time.perf_counter() - t1
    if integer and lp.n_cols and not proven and time_limit > 2.0:
        # Whole quantities make HiGHS far slower. Solve the relaxed model first: its
        # rounded plan is a whole plan, a better start, and its bound also bounds the
        # integer model.
        t1 = time.perf_counter()
        relaxed = relaxed or build_model(comp, integer=False)
        first, found = _relaxed_plan(comp, relaxed, start_plan, 0.6 * time_limit, mip_gap,
                                     threads)
        if found is not None and found[1] < start_cost - 1e-9:
            start_plan, start_cost, start_name = found[0], found[1], "relaxed model, rounded"
        if first.bound is not None and (lp_bound is None or first.bound > lp_bound):
            lp_bound = first.bound
        first_solve_s += first.solve_seconds
        time_limit -= time.perf_counter() - t1
        proven = within_gap(start_cost, lp_bound, mip_gap)
    if time_limit > 0.05 and lp.n_cols and not proven:
        res = highs.solve(lp, highs.SolveOptions(time_limit=time_limit, mip_gap=mip_gap,
                                                 threads=threads,
                                                 start=start_vector(comp, layout, start_plan)))
    qty, used, cost = start_plan, f"start plan ({start_name})", start_cost
    status = res.status if res is not None else (
        highs.OPTIMAL if proven or not lp.n_cols else highs.TIME_LIMIT)
    if res is not None and res.x is not None:
        rounded = round_plan(comp, res.x[layout.x])
        # Re-optimising the quantities with the solver's MOQ orders fixed costs one LP.
        for q in (rounded, polish_with_fixed_orders(comp, lp, layout, rounded)):
            c = component_cost(comp, q)
            if c < cost - 1e-9 and not check_plan(comp, q):
                qty, used, cost = q, "solver", c
    objective = res.objective if res is not None and res.objective is not None else start_cost
    bound = res.bound if res is not None else (start_cost if not lp.n_cols else None)
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


def _relaxed_plan(comp: Component, relaxed, start_plan: np.ndarray, seconds: float,
                  mip_gap: float, threads: int, hint: np.ndarray | None = None):
    """Solve the relaxed model ``relaxed`` = (lp, layout) from the start plan, with the MOQ
    orders outside ``hint`` closed when given. Returns HiGHS's result and its cheapest
    whole plan — rounded, or rounded and re-optimised; capacity and MOQ kept — with its
    cost (None when there is none)."""
    lp, layout = relaxed
    searched = lp
    if hint is not None:
        closed = (layout.z >= 0) & ~hint
        upper = lp.upper.copy()
        upper[layout.x[closed]] = 0.0
        upper[layout.z[closed]] = 0.0
        searched = lp.replace(upper=upper)
    res = highs.solve(searched, highs.SolveOptions(
        time_limit=seconds, mip_gap=mip_gap, threads=threads,
        start=start_vector(comp, layout, start_plan),
        heuristic_effort=NEAR_HEURISTIC_EFFORT if hint is not None else None))
    if res.x is None:
        return res, None
    rounded = round_plan(comp, res.x[layout.x])
    found = [(q, component_cost(comp, q)) for q in
             (rounded, polish_with_fixed_orders(comp, lp, layout, rounded))
             if not check_plan(comp, q)]
    return res, (min(found, key=lambda f: f[1]) if found else None)


def solve_piece(piece: Piece) -> list[ComponentResult]:
    """Pool worker entry point of phase 2: the components of a piece one after another."""
    out = []
    for comp, budget, later, start in zip(piece.components, piece.budgets, piece.queued_after,
                                          piece.starts):
        left = piece.deadline - time.time()
        # Components overrun their budget a little (HiGHS stopping late): never take more
        # than this budget's share of what is left for it and the ones still queued.
        fair = left * piece.lanes * budget / max(budget + later, 1e-9)
        out.append(solve_component(comp, piece.integer, min(budget, fair), piece.mip_gap,
                                   piece.threads, start))
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
# rest on the whole model.
NEAR_SHARE = 0.7


def _phase2_budgets(starts: list[Start], mip_gap: float, lane_time: float,
                    longest: float) -> np.ndarray:
    """Seconds per component for phase 2 out of ``lane_time`` (summed over the lanes)."""
    if not starts:
        return np.zeros(0)
    bound = np.array([abs(s.lp_bound) if s.lp_bound is not None else np.inf for s in starts])
    room = np.minimum([s.gap for s in starts], ROOM_CAP * bound)
    open_ = np.array([not within_gap(s.cost, s.lp_bound, mip_gap) for s in starts], bool)
    n_open = max(int(open_.sum()), 1)
    weight = np.sqrt(room) * open_
    if weight.sum() <= 0:
        weight = open_.astype(float)
    weight = weight / max(weight.sum(), 1e-12)
    equal = 0.5 * lane_time / n_open
    budgets = np.where(open_, equal + 0.5 * lane_time * weight, 0.5)
    # Starts far above their bound get up to FAR_START_SECONDS, taken from the others in
    # proportion (at most half of their time): the total stays ``lane_time``.
    far = open_ & (np.array([s.cost for s in starts]) > (1 + ROOM_CAP) * bound)
    rest = open_ & ~far
    lift = np.where(far, np.maximum(FAR_START_SECONDS - budgets, 0.0), 0.0)
    if lift.sum() > 0 and rest.any():
        lift *= min(1.0, 0.5 * budgets[rest].sum() / lift.sum())
        budgets[rest] *= 1 - lift.sum() / budgets[rest].sum()
        budgets += lift
    return np.minimum(budgets, longest)


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


def _run(fn, pieces, use_pool, workers, progress, label) -> list:
    if use_pool and len(pieces) > 1:
        return parallel.run_pieces(fn, pieces, workers=workers, progress=progress, label=label)
    done = []
    for i, piece in enumerate(pieces):
        done.append(fn(piece))
        progress.step(i + 1, len(pieces), label)
    return done


def solve_all(inst: Instance, progress: Progress = NULL, decompose: bool = True
              ) -> tuple[list[Component], list[ComponentResult], float]:
    """Solve every component of every supply center; returns components, results, build s.

    Phase 1 finds every component's start plan and lower bound (a few seconds each).
    Phase 2 shares the time left between the components not yet proven
    (``_phase2_budgets``): every one gets an equal share, and the ones further from
    their bound more.
    """
    settings = inst.settings
    integer = not settings.relax_order_quantities
    time_limit = float(settings.time_limit_s)
    mip_gap = float(settings.mip_gap)
    workers = settings.workers or None  # None: one per core
    n_workers = workers or parallel.default_workers()
    t_start = time.time()
    t0 = time.perf_counter()
    comps, _ = make_components(inst, integer, decompose)
    split_s = time.perf_counter() - t0
    total = sum(_size(c) for c in comps) or 1
    use_pool = n_workers > 1 and len(comps) > 1 and total >= POOL_COLUMNS
    lanes = min(n_workers, len(comps)) if use_pool else 1
    threads = 1 if use_pool else min(2, os.cpu_count() or 1)

    # Phase 1: start plans and LP bounds.
    groups = _batches(comps, [_size(c) for c in comps])
    progress.status(f"Start plans for {len(comps)} component(s)…")
    # Phase 1 may take up to 40% of the time; it stops earlier when the Lagrangian dual
    # converges (2–4 s a component at Anker scale: ~13% of 300 s on two cores).
    start_seconds = min(10.0, 0.4 * time_limit * (1 - RESERVE) * lanes / max(len(comps), 1))
    found = _run(start_piece, [Piece([comps[i] for i in g], integer, start_seconds=start_seconds)
                               for g in groups],
                 use_pool, workers, progress, "Start plans")
    starts = [s for batch in found for s in batch]

    # Phase 2, per supply center in turn: half the time in equal shares to the components
    # not yet proven, half by the square root of their room for improvement (capped).
    usable = time_limit * (1 - RESERVE) - (time.time() - t_start)
    lane_time = max(usable, 0.0) * lanes
    budgets = _phase2_budgets(starts, mip_gap, lane_time, max(usable, 0.0))
    results: dict[str, ComponentResult] = {}
    clock = time.time()
    used_share = 0.0
    for sc in dict.fromkeys(c.supply_center for c in comps):
        idx = [i for i, c in enumerate(comps) if c.supply_center == sc]
        used_share += budgets[idx].sum() / max(budgets.sum(), 1e-9)
        deadline = clock + max(usable, 0.0) * used_share
        idx.sort(key=lambda i: -budgets[i])  # long solves first: the pool stays busy
        pieces = []
        for g in _batches(idx, [_size(comps[i]) for i in idx]):
            members = [idx[j] for j in g]
            pieces.append(Piece([comps[i] for i in members], integer,
                                [float(budgets[i]) for i in members], deadline, mip_gap,
                                threads, [float(budgets[idx[j + 1:]].sum()) for j in g],
                                lanes,
                                [starts[i] for i in members]))
        label = f"Solving supply center {sc}"
        progress.status(f"{label}: {len(idx)} component(s)…")
        for batch in _run(solve_piece, pieces, use_pool, workers, progress, label):
            for r in batch:
                results[r.label] = r
    return comps, [results[c.label] for c in comps], split_s
