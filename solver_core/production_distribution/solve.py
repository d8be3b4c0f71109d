"""How the production–distribution model is solved (docs/production_distribution.md,
"How it is solved").

An anytime search that ends only when the requested gap is proven, the time limit is
reached or a stop is requested. Small models go to HiGHS as they are, started from the
constructive plan (:func:`start.greedy_plan`). At scale HiGHS alone finds no plan with
whole pallets quickly, so a staged chain comes first: the LP relaxation of the merged
model for the bound and the truck loads, a MIP with trucks capped at those loads (on
the merged model when there is one, then every product's pallets for its trucks), then
a better truck choice with continuous pallets and whole pallets near it (where demand is
in fractions of pallets, that truck choice comes straight after the LP); alongside, the
merged model's MIP raises the bound, split first on a sum of trucks where that pays
(without a merged model, the whole model's MIP runs there, as plain HiGHS would).
Whatever time the chain leaves goes to the whole model, started from the best plan: its
search improves the plan and the bound, and it is the portfolio's other arm (the plan
written is never one the plain model would beat from scratch in the same time).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import control, highs
from ..control import StopToken
from ..highs import LinearProgram, SolveOptions, SolveResult, relative_gap
from ..progress import NULL, Progress
from . import model
from .data import Instance
from .model import Built
from .start import greedy_plan

# Below this many columns the full MIP goes to HiGHS directly; above, the staged solve.
STAGED_MIN_COLUMNS = 4000

# Shares of the time left that the staged MIPs may take. The capped MIP either proves
# its own gap within seconds (then nearly all the time goes to the whole model) or, at
# the thesis's scale, is where the plans come from; what they leave is the whole model's.
CAPPED_MIP_SHARE = 0.6
TRUCK_CHOICE_SHARE = 0.5
FIXED_TRUCKS_SHARE = 0.5
# Fractional demand: the LP re-priced by its trucks' fill (``_repriced_caps``) runs only
# where the LP took at most this share of the time left after it (a second LP as slow as
# the first would leave the truck choice too little: a 30-day network's LP takes 17–24 s
# of a 60 s limit, and the truck choice then found nothing), and stops after this many
# times the LP's seconds.
REPRICE_MAX_LP_SHARE = 0.25
REPRICE_LP_TIMES = 2.0
# The LP relaxation may take this share of the time: every later stage needs its answer
# (the bound, the trucks), and the whole model, whose root is a larger LP, does no better
# without it. An LP that ends within half the time is not affected; on a slower machine
# the thesis example with demand × 1.1 had no LP answer at half of 60 s, and the whole
# model then found nothing in the 21 s left (bound 10,370, gap 97%); given 0.8, the LP
# answered by simplex in 41 s (bound 362,144, gap 4.3%).
LP_SHARE = 0.8
# Said in Out Summary and the result line when the bound is still supply_bound's.
WEAK_BOUND_NOTE = ("a weak bound: no LP relaxation had finished, so it counts only the "
                   "supplied pallets' first trip; more time gives a real bound")

# A stage is not started with less than this many seconds left (the limit is a promise).
MIN_STAGE_SECONDS = 1.0
# HiGHS is asked to stop this long before the search's end, and stopped for good at the
# end: the presolve of a 100k-column network ran 1.4 s past a 6.9 s limit.
END_MARGIN = 0.5

# Products merged by ``aggregate_surplus`` are named like this (not a valid product name
# from a sheet, so it cannot collide).
SURPLUS = "\x00surplus "

WHOLE_MODEL = "whole model from the best plan"

# The merged model's MIP runs alongside the chain for its dual bound only, in a child
# process this much nicer than the chain's: it takes the core the chain leaves idle
# (HiGHS's MIP search is mostly one thread) and yields when the machine is busy.
BOUND_SEARCH_NICE = 10
BOUND_SEARCH_ALONGSIDE = True  # tests switch it off to see the chain alone
BOUND_SEARCH = "bound: merged model's MIP alongside"
# Without a merged model the search alongside is the whole model's MIP, as plain HiGHS
# gets it: its bound bounds the model and its plan is a plan of the model.
PLAIN_ALONGSIDE = "whole model's MIP alongside (plain HiGHS)"
# The merged model's search alongside splits on a sum of trucks first (``split_for``):
# the LP of the "at most the sum rounded down" side is solved for its bound, and the MIP
# searches the other side. The thesis LP needs 21.04 trucks on the 250-a-truck lanes:
# ≤ 21 costs 328,951 and ≥ 22 328,704 (LP 328,464; its MIP's root reaches 328,542).
# That side's LP starts from the LP relaxation's basis (0.5 s there, 6 s from scratch) and
# may take this many times the LP relaxation's seconds (at least SPLIT_MIN_SECONDS); the
# split is kept only where it raised that side's bound by at least this share of what the
# other side can gain at most (else the MIP runs unsplit).
SPLIT_LP_TIMES = 2.0
SPLIT_MIN_SECONDS = 2.0
SPLIT_MIN_GAIN = 0.5


@dataclass
class Solution:
    """The best plan found, its bound and gap, and what each stage did."""

    status: str
    x: np.ndarray | None
    objective: float | None
    bound: float | None
    mip_gap: float | None
    build_seconds: float
    solve_seconds: float
    stages: list[dict]
    message: str = ""
    log: str = ""
    mip_gap_target: float = 0.0
    bound_note: str = ""  # why the bound is weak, in words ("" when it is not)

    @property
    def has_plan(self) -> bool:
        return self.x is not None


class _Search:
    """The state of one solve: clock, best plan, best bound, stages run, stop token."""

    def __init__(self, inst: Instance, built: Built, progress: Progress,
                 stop: StopToken | None, threads: int, reserve: float = 0.0):
        self.built, self.progress, self.stop = built, progress, stop
        self.threads = threads  # HiGHS threads per stage
        self.t_start = time.perf_counter()
        self.limit = float(inst.settings.time_limit_s)
        self.end = self.limit - reserve  # the search's own end, in seconds of the run
        self.gap = float(inst.settings.mip_gap)
        self.stages: list[dict] = []
        self.best: SolveResult | None = None  # cheapest whole plan so far (of built.lp)
        self.plans: list[np.ndarray] = []  # every whole plan kept or offered, for starts
        self.bound: float | None = None  # best valid lower bound on built.lp
        self.supply_bound: float | None = None  # the bound before any LP (supply_bound)
        self.last: SolveResult | None = None  # the last stage's result
        self.highs_proved = False  # the whole model ended optimal (HiGHS's own gap test)
        self.bound_search: _BoundSearch | None = None
        self.lock = threading.Lock()  # the bound search's thread raises self.bound too

    def elapsed(self) -> float:
        return self.built.build_seconds + (time.perf_counter() - self.t_start)

    def left(self) -> float:
        """Seconds to the search's end (the limit less the reserve)."""
        return self.end - self.elapsed()

    def planned(self, share: float) -> float:
        """A stage's budget: ``share`` of what is left of the whole limit, as the shares
        were set (the reserve moves only the end: the same stages get the same time,
        the last ones less), never past the end."""
        return min(share * (self.limit - self.elapsed()), self.left())

    def stage_options(self, budget: float, **options) -> SolveOptions:
        """HiGHS's options for a stage of ``budget`` seconds: at least half a second,
        stopping END_MARGIN before the search's end, and ended there for good
        (``end_by``) even where HiGHS does not stop in time."""
        left = self.left()
        return SolveOptions(time_limit=min(max(0.5, budget), max(left - END_MARGIN, 0.5)),
                            end_by=max(left, 0.5), **options)

    def stopped(self) -> bool:
        return control.requested(self.stop)

    def proven(self) -> bool:
        """The best plan is within the gap of the bound, or HiGHS proved it on the model."""
        return self.best is not None and (
            self.highs_proved or _within(self.best.objective, self.bound, self.gap))

    def can_start(self) -> bool:
        return not self.stopped() and self.left() >= MIN_STAGE_SECONDS

    def stage_stop(self) -> StopToken | None:
        """What ends a running stage: the user's stop, or (with a bound search) a proof."""
        return self.bound_search.halt if self.bound_search is not None else self.stop

    def raise_bound(self, bound: float | None) -> None:
        """Keep ``bound`` when it is a valid lower bound above the best so far."""
        if bound is not None:
            with self.lock:
                self.bound = bound if self.bound is None else max(self.bound, bound)

    def offer(self, res: SolveResult, bound_is_valid: bool = False, quiet: bool = False
              ) -> bool:
        """Keep ``res``'s plan when it is the cheapest (True), its bound when it is valid.
        ``quiet``: no progress report (the search alongside offers from its thread)."""
        with self.lock:
            cheaper = res.x is not None and res.objective is not None and (
                self.best is None or res.objective < self.best.objective - 1e-9)
            if cheaper:
                self.best = res
            if res.x is not None and res.objective is not None:
                self.plans.append(res.x)
        if bound_is_valid:
            self.raise_bound(res.bound)
        if not quiet:
            self.report(self.stages[-1]["stage"] if self.stages else "Solving")
        return cheaper

    def start_within(self, stage_lp: LinearProgram) -> np.ndarray | None:
        """The cheapest plan found so far that fits ``stage_lp`` (a restriction of the
        model), or None: a start outside a stage's bounds gives HiGHS nothing (the
        constructive plan's trucks, say, above the caps of a capped stage)."""
        cost = self.built.lp.cost
        with self.lock:
            plans = sorted(self.plans, key=lambda x: float(cost @ x))
        return next((x for x in plans if fits(stage_lp, x)), None)

    def report(self, phase: str, cost: float | None = None, bound: float | None = None) -> None:
        best = self.best.objective if self.best is not None else None
        cost = best if cost is None else (cost if best is None else min(cost, best))
        bound = self.bound if bound is None else (
            bound if self.bound is None else max(bound, self.bound))
        if cost is not None and bound is not None:
            bound = min(bound, cost)
        self.progress.update(phase=phase, elapsed=self.elapsed(), limit=self.limit,
                             cost=cost, bound=bound, gap=relative_gap(cost, bound))

    def run(self, name: str, stage_lp: LinearProgram, budget: float, start=None,
            bound_is_valid: bool = False, plan_is_whole: bool = True,
            relaxation: bool = False, lp_solver: str | None = None) -> SolveResult:
        """One HiGHS stage within ``budget`` seconds (never past the limit).

        ``bound_is_valid``: its dual bound bounds the model as the stage runs;
        ``relaxation``: its final bound does (an LP relaxation), though not as it runs;
        otherwise the stage is a restriction, and its bound only its own;
        ``plan_is_whole``: its plan is a plan of the model (not a relaxation's);
        ``lp_solver``: :class:`~solver_core.highs.SolveOptions`'s, for an LP.
        """
        if not self.can_start():
            why = "stop requested" if self.stopped() else "time limit"
            self.stages.append({"stage": name, "status": f"skipped ({why})", "objective": None,
                                "bound": None, "seconds": 0.0})
            return SolveResult(highs.STOPPED if self.stopped() else highs.TIME_LIMIT)
        self.progress.status(f"Solving: {name}…")
        options = self.stage_options(budget, mip_gap=self.gap, threads=self.threads,
                                     start=start, isolate=True, lp_solver=lp_solver,
                                     keep_basis=relaxation)  # for the split (split_for)
        budget = options.time_limit
        offset = self.elapsed()
        known = self.bound  # what the stage's own bound must pass to prove anything

        def show(msg: dict) -> None:  # numbers of this stage merged with the best so far
            seconds = msg.get("seconds", 0)
            self.progress.step(min(int(seconds), int(budget)), int(budget) or 1, name)
            primal = msg.get("objective", msg.get("primal")) if plan_is_whole else None
            dual = msg.get("dual") if bound_is_valid else None
            self.report(name, cost=_finite(primal), bound=_finite(dual))

        # In a child process, LPs too: a child that does not see the stop in time is
        # killed after highs.STOP_GRACE, and the hard deadline holds; in process, only
        # HiGHS's own interrupt checks could end the thesis's 10 s LP.
        res = highs.solve(stage_lp, options, progress=show, stop=self.stage_stop())
        status = f"{res.status} by {res.method}" if res.method else res.status
        self.stages.append({"stage": name, "status": status, "objective": res.objective,
                            **stage_bounds(res.bound, bound_is_valid or relaxation, known),
                            "seconds": round(res.solve_seconds, 2),
                            "started_at": round(offset, 2)})
        self.last = res
        if res.status != highs.INFEASIBLE and plan_is_whole:
            self.offer(res, bound_is_valid)
        return res

    def whole_model(self) -> None:
        """The rest of the time: the whole model from the best plan, until proven."""
        lp = self.built.lp
        while not self.proven() and self.can_start():
            start = self.best.x if self.best is not None else None
            res = self.run(WHOLE_MODEL if start is not None else "full model", lp, self.left(),
                           start=start, bound_is_valid=True)
            if res.status == highs.OPTIMAL and res.x is not None:
                self.highs_proved = True  # only ever set: the search alongside sets it too
            if res.status in (highs.OPTIMAL, highs.INFEASIBLE, highs.STOPPED):
                break  # proven (HiGHS's own gap) or nothing more to do
            if res.status == highs.ERROR or res.solve_seconds < 0.5 * MIN_STAGE_SECONDS:
                break  # HiGHS failed: do not spin; the status says the gap is not proven

    def end_bound_search(self) -> None:
        if self.bound_search is not None:
            self.bound_search.close()
            self.bound_search = None

    def finish(self) -> Solution:
        self.end_bound_search()
        return _solution(self)


class _BoundSearch:
    """The merged model's MIP in a nicer child process, alongside the chain, for its bound.

    The merged model is a relaxation (:func:`aggregate_surplus`), so every dual bound
    its search proves bounds the model; its plans are not the model's and are not used.
    HiGHS's cuts at its root raise the bound above the LP's while the chain looks for
    plans. A watcher forwards the user's stop and ends the chain's running stage (the
    ``halt`` token) once the gap is proven.

    With a merged model it may first split on a sum of trucks (``split``, from
    :func:`split_for`): the LP of the "at most floor" side bounds that side, the MIP
    searches the other, and what it reports as a bound is the lower of both sides'.

    Without a merged model (``plans_are_whole``) the search is the whole model's, plain
    HiGHS's: its plan, when it ends, is offered like a stage's, and its proof counts.
    """

    def __init__(self, search: _Search, lp: LinearProgram, plans_are_whole: bool = False,
                 split: Split | None = None, relaxed: SolveResult | None = None):
        self.search = search
        self.plans_are_whole = plans_are_whole
        self.name = PLAIN_ALONGSIDE if plans_are_whole else BOUND_SEARCH
        # Only the bound-only search splits: the plain model's MIP is the portfolio's arm.
        self.split = None if plans_are_whole or relaxed is None else split
        self.relaxed = relaxed  # the LP relaxation's answer: the split's LP starts there
        self.below: float | None = None  # the bound of the split's "≤ floor" side
        self.dual: float | None = None  # the last dual bound its MIP reported
        self.token = StopToken()  # ends this search
        self.halt = StopToken()  # ends the chain's running stage
        self.closing = threading.Event()
        self.result: SolveResult | None = None
        self.started_at = search.elapsed()
        self.thread = threading.Thread(target=self._run, args=(lp,), daemon=True,
                                       name="scplan-pd-bound")
        self.watcher = threading.Thread(target=self._watch, daemon=True,
                                        name="scplan-pd-bound-watch")
        self.thread.start()
        self.watcher.start()

    def _run(self, lp: LinearProgram) -> None:
        try:
            if self.split is not None:
                lp = self._split(lp)
            self.result = highs.solve(
                lp, self.search.stage_options(self.search.left(), mip_gap=self.search.gap,
                                              threads=1, isolate=True,
                                              nice=BOUND_SEARCH_NICE),
                progress=self._seen, stop=self.token)
            if self.result.status == highs.INFEASIBLE:
                self.search.raise_bound(self.below)  # the other side's bound, if split
            else:
                self.search.raise_bound(self._bounds_model(self.result.bound))
            if self.plans_are_whole and self.result.x is not None:
                kept = self.search.offer(self.result, quiet=True)
                if kept and self.result.status == highs.OPTIMAL:
                    self.search.highs_proved = True  # HiGHS's own gap test, as whole_model
        except Exception as exc:  # pragma: no cover - the chain goes on without it
            self.result = SolveResult(highs.ERROR, message=f"bound search failed: {exc!r}")

    def _split(self, lp: LinearProgram) -> LinearProgram:
        """The "≤ floor" side's LP bound, then ``lp`` restricted to the "≥ ceil" side; or
        ``lp`` itself when that LP does not answer in its time or gains too little."""
        sp, search, relaxed = self.split, self.search, self.relaxed
        budget = max(SPLIT_MIN_SECONDS, SPLIT_LP_TIMES * relaxed.solve_seconds)
        below = highs.solve(
            lp.replace(integrality=np.zeros(lp.n_cols, np.int32)).with_row(
                sp.cols, np.ones(len(sp.cols)), -highs.INF, sp.floor),
            search.stage_options(budget, threads=1, isolate=True, nice=BOUND_SEARCH_NICE,
                                 basis=relaxed.basis),
            stop=self.token)
        if below.status == highs.INFEASIBLE:
            self.below = np.inf
        elif below.status == highs.OPTIMAL and below.objective is not None:
            self.below = below.objective
        if self.below is None or self.below - sp.lp_bound < SPLIT_MIN_GAIN * sp.gain:
            self.split, self.below = None, None
            return lp
        self.name = f"{BOUND_SEARCH}, {sp.words(self.below)}"
        return lp.with_row(sp.cols, np.ones(len(sp.cols)), sp.floor + 1, highs.INF)

    def _bounds_model(self, bound: float | None) -> float | None:
        """A bound of the search's side as a bound of the model: the lower of both sides."""
        if bound is None or self.below is None:
            return bound
        return min(bound, self.below)

    def _seen(self, msg: dict) -> None:
        dual = _finite(msg.get("dual"))  # an incumbent's message carries none
        if dual is not None:
            self.dual = dual
            self.search.raise_bound(self._bounds_model(dual))

    def _watch(self) -> None:
        # Until close(), also after the search ended: the chain's stages listen to halt.
        while not self.closing.wait(0.1):
            if self.search.stopped() or self.search.proven():
                self.token.request_stop()
                self.halt.request_stop()

    def close(self) -> None:
        """End the search, keep its last bound, record it as a stage, remove the tokens."""
        self.token.request_stop()
        self.thread.join()
        self.closing.set()
        self.watcher.join()
        res = self.result
        # A root that had not passed the LP's bound proves nothing: no bound shown.
        if res is not None and res.status == highs.INFEASIBLE:
            side = self.below
        else:  # a search stopped on a proof returns no bound: the last it reported
            side = self._bounds_model(res.bound if res is not None and res.bound is not None
                                      else self.dual)
        bound = stage_bounds(side, True, self.search.bound)["bound"]
        self.search.stages.append({
            "stage": self.name, "status": res.status if res is not None else "error",
            "objective": res.objective if res is not None and self.plans_are_whole else None,
            "bound": bound,
            "seconds": round(res.solve_seconds, 2) if res is not None else 0.0,
            "started_at": round(self.started_at, 2)})
        self.token.close()
        self.halt.close()


@dataclass
class Split:
    """A sum of trucks that is whole in every plan, split at an LP's fractional value:
    a plan has either at most ``floor`` of them or at least ``floor + 1``."""

    cols: np.ndarray  # the trucks' columns
    what: str  # which trucks, in words
    floor: int
    lp_bound: float  # the LP relaxation's value
    gain: float  # what the "≥ floor + 1" side can add at most: the rest of a truck

    def words(self, below: float) -> str:
        at_most = f"LP bound {below:,.0f}" if np.isfinite(below) else "no plan there"
        return (f"split on {self.what}: at most {self.floor} ({at_most}) "
                f"or at least {self.floor + 1} (searched here)")


def split_for(built: Built, x: np.ndarray, lp_bound: float, day_label=lambda t: t
              ) -> Split | None:
    """The sum of trucks whose "≥ ceil" side may gain the most over the LP plan ``x``.

    Every truck, the trucks of each price, of each lane and into each location (on each
    day and over all days) are candidates. Rounding a fractional sum v up adds
    (⌈v⌉ − v) of a truck at the group's cheapest price when the extra room is of no use
    (e.g. the pallets a plant needs from its warehouses, which the LP fits into 21.04
    trucks); rounding down must then move pallets another way. HiGHS branches on single
    trucks only and does not see this; its cuts did not either."""
    y = x[built.truck_cols]
    price = built.lane_truck_cost[built.truck_lane]
    dest = built.lane_to[built.truck_lane]
    candidates = [("every truck", np.ones(len(y), bool))]
    candidates += [(f"the trucks costing {c:,.0f}", price == c) for c in np.unique(price)]
    for lane in np.unique(built.truck_lane):
        candidates.append((f"the trucks {built.locations[built.lane_from[lane]]} → "
                           f"{built.locations[built.lane_to[lane]]}", built.truck_lane == lane))
    for k in np.unique(dest):
        candidates.append((f"the trucks into {built.locations[k]}", dest == k))
        for t in range(built.n_days):
            day = day_label(t + 1)
            day = f"day {day}" if isinstance(day, int) else f"{day:%Y-%m-%d}"
            candidates.append((f"the trucks into {built.locations[k]} on {day}",
                               (dest == k) & (built.truck_day == t)))
    best = None
    for what, member in candidates:
        v = float(y[member].sum())
        rest = np.ceil(v - 1e-6) - v
        if not member.any() or rest <= 1e-6 or v - np.floor(v + 1e-6) <= 1e-6:
            continue  # whole: nothing to split
        gain = rest * float(price[member].min())
        if best is None or gain > best.gain + 1e-9:
            best = Split(built.truck_cols[member], what, int(np.floor(v)), lp_bound, gain)
    return best


def solve(inst: Instance, built: Built, progress: Progress = NULL,
          stop: StopToken | None = None, starts: tuple[np.ndarray, ...] = (),
          threads: int = SolveOptions.threads, reserve: float = 0.0) -> Solution:
    """Solve the model within ``time_limit_s`` (wall clock, building included) less
    ``reserve`` seconds, kept for what follows the search (Out Why's re-solves).

    0. the constructive plan, and any ``starts`` that fit: the best of them is the
       plan to beat, kept if nothing better is found;
    1. LP relaxation of the merged model (:func:`aggregate_surplus`) with the
       whole-truck rows out of suppliers: the bound, and the trucks a fractional plan
       needs per lane and day;
    2. whole pallets and trucks with trucks capped at those loads rounded up: lanes and
       days the LP leaves empty close, so presolve leaves a small MIP. With a merged
       model, on the merged model, then the full model within that plan's trucks;
       from here on the merged MIP runs alongside in a nicer child for its bound
       (without a merged model the whole model's MIP, whose plan and proof also count);
    3. a better truck choice within the same caps with continuous pallets, started from
       the best plan, then whole pallets near it (each move rounded down or up, at most
       one more truck per lane and day). Where a plant's demand is in fractions of
       pallets, this step follows the LP directly, instead of step 2, its caps from the
       LP re-priced by its trucks' fill where the LP was quick;
    4. until the gap is proven, the limit reached or a stop requested: the whole model
       (the workbook's integrality, with the supplier whole-truck cuts) from the best
       plan; its dual bound joins the LP's.

    Small models (fewer than ``STAGED_MIN_COLUMNS`` columns, or fractional pallets) go
    to step 4 directly.

    Parameters
    ----------
    inst : Instance
        The data and settings the model was built from.
    built : Built
        The model of ``inst`` (:func:`model.build`).
    progress : Progress
        Where stage names and numbers (cost, bound, gap) are reported.
    stop : control.StopToken, optional
        Once requested, the running stage ends within about a second, no new stage
        starts, and the best plan is returned with status ``stopped``.
    starts : tuple of numpy.ndarray
        Other plans of this model to start from (a scenario gets its baseline's plan,
        :func:`transfer`); each is used when it fits, or repaired (:func:`repair`).
    threads : int
        HiGHS threads per stage. With one (a scenario worker that shares the cores with
        others) no bound search runs alongside.

    Returns
    -------
    Solution
        The cheapest whole plan found and the best valid bound.
    """
    search = _Search(inst, built, progress, stop, threads, reserve)
    lp = built.lp
    greedy = greedy_plan(built)
    if greedy is not None:
        obj = float(lp.cost @ greedy + lp.offset)
        search.offer(SolveResult(highs.TIME_LIMIT, x=greedy, objective=obj), quiet=True)
    search.stages.append({"stage": "constructive plan", "status": "feasible" if greedy is not None
                          else "no plan", "objective": search.best and search.best.objective,
                          "bound": None, "seconds": round(time.perf_counter() - search.t_start,
                                                          2)})
    for i, plan in enumerate(starts):
        fitted = repair(built, plan, stop)
        search.stages.append({"stage": f"start plan {i + 1}",
                              "status": "does not fit" if fitted is None else (
                                  "fits" if fitted is plan else "repaired"),
                              "objective": None if fitted is None else float(
                                  lp.cost @ fitted + lp.offset),
                              "bound": None, "seconds": 0.0})
        if fitted is not None:
            search.offer(SolveResult(highs.TIME_LIMIT, x=fitted,
                                     objective=float(lp.cost @ fitted + lp.offset)))
    search.bound = search.supply_bound = supply_bound(built)
    search.report("Start plan")
    staged = (bool(inst.settings.integer_pallets) and lp.n_cols >= STAGED_MIN_COLUMNS
              and len(built.flow_cols) > 0)
    try:
        if staged:
            _staged_chain(inst, search)
        if search.last is None or search.last.status != highs.INFEASIBLE:
            search.whole_model()
    finally:
        search.end_bound_search()
    return search.finish()


def supply_bound(built: Built) -> float:
    """A valid bound in microseconds: what the supplied pallets cost to leave suppliers.

    Every supplier lot leaves on its day (2) on a lane out of its supplier to a place
    that can hold the product, paying that lane's pallet cost and 1 / Cap_u of a truck
    (trucks carry at most their capacity, so Σ TC·y ≥ Σ TC·x / Cap_u); every other cost
    is ≥ 0. Weak, but it gives a stop before the LP has ended a bound and a gap.
    """
    cheapest = np.full(len(built.supply_pallets), np.inf)
    cap = built.truck_capacity[built.product_cat[built.supply_product]]
    for lane in np.flatnonzero(built.loc_type[built.lane_from] == "supplier"):
        here = ((built.supply_supplier == built.lane_from[lane])
                & (built.pair_of[built.supply_product, built.lane_to[lane]] >= 0))
        cost = built.lane_pallet_cost[lane] + built.lane_truck_cost[lane] / cap
        cheapest = np.where(here, np.minimum(cheapest, cost), cheapest)
    paid = np.isfinite(cheapest)
    return float(built.supply_pallets[paid] @ cheapest[paid]) + float(built.lp.offset)


def _staged_chain(inst: Instance, search: _Search) -> None:
    """Steps 1–3 of :func:`solve`: the bound and the plans the whole model starts from."""
    built, lp = search.built, search.built.lp
    # 1. LP relaxation (of the merged model when there is one: same bound, faster): the
    #    first valid bound and the truck loads of a fractional plan.
    merged = aggregate_surplus(inst)
    relax_of = model.build(merged) if merged is not None else built
    # By simplex and interior point at once where there are cores for both: each is
    # 4-5× faster than the other on some networks.
    r0 = search.run("LP relaxation",
                    relax_of.lp.replace(integrality=np.zeros(relax_of.lp.n_cols, np.int32)),
                    search.planned(LP_SHARE), plan_is_whole=False, relaxation=True,
                    lp_solver=highs.RACE if search.threads > 1 else None)
    if r0.status == highs.INFEASIBLE or r0.x is None:
        return
    search.raise_bound(r0.objective)
    search.report("LP relaxation")
    if BOUND_SEARCH_ALONGSIDE and search.threads > 1:
        # A solve with one thread shares the cores with others: no second search there.
        search.bound_search = _BoundSearch(
            search, relax_of.lp, plans_are_whole=merged is None,
            split=split_for(relax_of, r0.x, r0.objective, inst.day_label), relaxed=r0)
    # Trucks at most the LP's loads rounded up: lanes and days the LP leaves empty close,
    # which presolve turns into a model a fraction of the size.
    capped = _truck_caps(built, relax_of, r0.x)
    if _fractional_demand(built):
        # 2'. Where demand is in fractions of pallets, the capped MIP's first whole plan
        #     comes only at the end of its root (about 30 s on a 150-product network, the
        #     constructive plan written at 60 s); the truck choice with continuous pallets
        #     finds its plan in seconds, and whole pallets near it take a small MIP. The
        #     rest of the time goes to the whole model. The truck choice's caps come from
        #     the LP re-priced by its trucks' fill where there is time for it.
        if r0.solve_seconds <= REPRICE_MAX_LP_SHARE * search.left():
            capped = _repriced_caps(search, relax_of, r0, capped)
        _truck_choice(search, capped, CAPPED_MIP_SHARE)
        search.last = None
        return
    # 2. Whole pallets and trucks within those trucks: finds its plan early and then
    #    mostly proves a bound that is not the full model's, so its share is capped.
    #    With a merged model, on the merged model (a third fewer columns: better plans
    #    sooner), then every product's whole pallets for (at most) its plan's trucks.
    if relax_of is built:
        stage_lp = lp.replace(upper=capped)
        r1 = search.run("whole pallets within the LP's trucks", stage_lp,
                        search.planned(CAPPED_MIP_SHARE), start=search.start_within(stage_lp))
    else:
        merged_capped = relax_of.lp.upper.copy()
        merged_capped[relax_of.truck_cols] = np.minimum(
            np.ceil(r0.x[relax_of.truck_cols] - 1e-6), merged_capped[relax_of.truck_cols])
        r1 = search.run("merged model, whole pallets within the LP's trucks",
                        relax_of.lp.replace(upper=merged_capped),
                        search.planned(CAPPED_MIP_SHARE), plan_is_whole=False)
        if r1.x is not None and not search.proven():
            r1 = _unmerge(search, relax_of, r1.x)
    if r1.status == highs.INFEASIBLE:
        search.last = None  # a restriction's infeasibility says nothing of the model
    if search.best is None or search.proven():
        return
    # 3. A better truck choice within the same caps, then whole pallets near it.
    _truck_choice(search, capped, TRUCK_CHOICE_SHARE)
    search.last = None


def _fractional_demand(built: Built) -> bool:
    """Whether some plant's cumulative demand is in fractions of pallets (a BOM explosion,
    a demand_factor of 1.1) where pallets are whole: the model then has the
    whole-pallet delivery rows (``model.define_whole_pallet_deliveries``)."""
    return "whole_pallet_deliveries" in built.row_families


def _repriced_caps(search: _Search, relax_of: Built, r0: SolveResult,
                   capped: np.ndarray) -> np.ndarray:
    """Truck caps from the LP ``r0`` (of ``relax_of``) solved again with each used truck
    column's cost scaled by ⌈y⌉ / y, its LP trucks y rounded up over y: what a truck
    costs per truckload when it goes as full as the LP fills it (one step of dynamic
    slope scaling for fixed-charge flows). Lanes the LP fills badly get dearer, so the
    re-priced LP gathers loads onto fewer, fuller trucks, and its trucks rounded up are
    the truck choice's caps. On a 150-product, 20-day network the truck choice within
    them found 145,318 where within the LP's it found 155,979 (60 s). ``capped`` (the
    LP's caps) is returned when the re-priced LP does not finish in its time."""
    built = search.built
    loads = r0.x[relax_of.truck_cols]
    used = loads > 1e-6
    cost = relax_of.lp.cost.copy()
    cost[relax_of.truck_cols[used]] *= np.ceil(loads[used] - 1e-6) / loads[used]
    res = search.run("LP re-priced by its trucks' fill",
                     relax_of.lp.replace(cost=cost,
                                         integrality=np.zeros(relax_of.lp.n_cols, np.int32)),
                     min(search.planned(0.5), REPRICE_LP_TIMES * r0.solve_seconds + 1.0),
                     plan_is_whole=False,
                     lp_solver=highs.RACE if search.threads > 1 else None)
    # Its objective prices trucks by their fill: neither a plan's cost nor a bound.
    search.stages[-1].update(objective=None, restricted_bound=None)
    if res.status != highs.OPTIMAL or res.x is None:
        return capped
    return _truck_caps(built, relax_of, res.x)


def _truck_choice(search: _Search, capped: np.ndarray, share: float) -> None:
    """A truck choice with continuous pallets within the column bounds ``capped`` (HiGHS
    improves truck choices far better without integer pallets), from the best plan
    within them, in ``share`` of the time left; then, when it is cheaper than the best
    plan, whole pallets near it (:func:`_whole_pallets_near`)."""
    built, lp = search.built, search.built.lp
    if search.left() < 5.0 * MIN_STAGE_SECONDS or not search.can_start():
        return
    flows_continuous = lp.integrality.copy()
    flows_continuous[built.flow_cols] = 0
    stage_lp = lp.replace(upper=capped, integrality=flows_continuous)
    # Continuous pallets relax, the caps restrict: neither its plan nor its bound is the
    # model's.
    r2 = search.run("truck choice, continuous pallets", stage_lp, search.planned(share),
                    start=search.start_within(stage_lp), plan_is_whole=False)
    if r2.x is not None and (search.best is None
                             or r2.objective < search.best.objective - 1e-6):
        _whole_pallets_near(search, r2.x)


def _whole_pallets_near(search: _Search, x: np.ndarray) -> SolveResult:
    """Whole pallets near a plan ``x`` with continuous pallets: each move between its
    floor and its ceiling, each lane's trucks at most one more than ``x``'s (a rounded
    move may need it), everything else as the model says. A small MIP that HiGHS solves
    in seconds (a 150-product, 20-day network: 278 fractional moves, 152,417 in 2 s,
    where the same trucks with every pallet free found no plan in 20 s)."""
    built, lp = search.built, search.built.lp
    flows, trucks = built.flow_cols, built.truck_cols
    lower, upper = lp.lower.copy(), lp.upper.copy()
    lower[flows] = np.maximum(np.floor(x[flows] + 1e-6), lp.lower[flows])
    upper[flows] = np.maximum(np.minimum(np.ceil(x[flows] - 1e-6), lp.upper[flows]),
                              lower[flows])
    upper[trucks] = np.minimum(np.round(x[trucks]) + 1, lp.upper[trucks])
    return search.run("whole pallets near that plan (moves rounded, trucks at most one more)",
                      lp.replace(lower=lower, upper=upper), search.planned(FIXED_TRUCKS_SHARE))


def _unmerge(search: _Search, merged: Built, x: np.ndarray) -> SolveResult:
    """A plan of the model from a plan ``x`` of the merged model (step 2).

    First the products the merging kept move exactly as in ``x`` and the trucks are at
    most ``x``'s: only the merged products' pallets are chosen, which HiGHS does in
    seconds. Then, from that plan, every product's pallets within the same trucks.
    """
    built, lp = search.built, search.built.lp
    its_trucks = lp.upper.copy()
    its_trucks[built.truck_cols] = np.minimum(np.round(_lp_trucks(built, merged, x)),
                                              lp.upper[built.truck_cols])
    kept = _kept_flows(built, merged)
    lower, upper = lp.lower.copy(), its_trucks.copy()
    ok = kept >= 0
    lower[built.flow_cols[ok]] = upper[built.flow_cols[ok]] = np.round(x[kept[ok]])
    res = search.run("the merged plan's moves and trucks for every product",
                     lp.replace(lower=lower, upper=upper), search.planned(FIXED_TRUCKS_SHARE))
    if search.best is None or search.proven():
        return res
    stage_lp = lp.replace(upper=its_trucks)
    return search.run("every product's whole pallets within those trucks", stage_lp,
                      search.planned(FIXED_TRUCKS_SHARE), start=search.start_within(stage_lp))


def _kept_flows(built: Built, merged: Built) -> np.ndarray:
    """Per flow column of ``built``: the same product's column in ``merged``, or −1."""
    n_lanes, T = len(built.lane_from), built.n_days
    position = {p: i for i, p in enumerate(merged.products)}
    product = np.array([position.get(p, -1) for p in built.products], dtype=np.int64)
    merged_keys = (merged.flow_product * n_lanes + merged.flow_lane) * T + merged.flow_day
    order = np.argsort(merged_keys)
    mp_ = product[built.flow_product]
    keys = (mp_ * n_lanes + built.flow_lane) * T + built.flow_day
    at = np.minimum(np.searchsorted(merged_keys[order], keys), len(order) - 1)
    found = (mp_ >= 0) & (merged_keys[order][at] == keys)
    return np.where(found, merged.flow_cols[order][at], -1)


def aggregate_surplus(inst: Instance) -> Instance | None:
    """The instance with every *covered* product of a category merged into one product.

    A product is covered when its start stock at each plant is at least its demand there
    over the whole horizon (after ``demand_factor``): its own plant stock meets its
    demand, and all its other pallets are surplus that only costs storage and room —
    any covered pallet of a category is as good as another. Merging products of one
    category is a relaxation (every plan of the full model is a plan of the merged one
    at the same cost: costs and capacities depend on the category only), so the merged
    model's LP is a valid bound; for covered products it loses nothing in practice
    (docs/production_distribution.md, "How it is solved"). None when fewer than two
    products merge.
    """
    plants = set(inst.locations.loc[inst.locations["type"] == "plant", "location"])
    need = inst.demand.groupby(["product", "plant"])["pallets"].sum() * float(
        inst.settings.demand_factor)
    at_plant = inst.start[inst.start["location"].isin(plants)].groupby(
        ["product", "location"])["pallets"].sum()
    at_plant.index = at_plant.index.set_names(["product", "plant"])
    short = need.sub(at_plant.reindex(need.index, fill_value=0.0)) > 1e-9
    uncovered = set(need.index.get_level_values("product")[short.to_numpy()])
    covered = inst.products.loc[~inst.products["product"].isin(uncovered)]
    if len(covered) < 2:
        return None
    rename = dict(zip(covered["product"], SURPLUS + covered["category"].astype(str)))

    def merged(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.assign(product=frame["product"].map(lambda p: rename.get(p, p)))
        keys = [c for c in frame.columns if c != "pallets"]
        return frame.groupby(keys, as_index=False, sort=False)["pallets"].sum()

    products = inst.products.assign(
        product=inst.products["product"].map(lambda p: rename.get(p, p))
    ).drop_duplicates("product")
    return Instance(**{**inst.__dict__, "products": products, "start": merged(inst.start),
                       "supply": merged(inst.supply), "demand": merged(inst.demand)})


def _truck_caps(built: Built, relax_of: Built, x: np.ndarray) -> np.ndarray:
    """``built``'s column upper bounds with each truck column at most the trucks of the
    LP solution ``x`` (of ``relax_of``) rounded up: lanes and days it leaves empty close."""
    caps = built.lp.upper.copy()
    caps[built.truck_cols] = np.minimum(np.ceil(_lp_trucks(built, relax_of, x) - 1e-6),
                                        built.lp.upper[built.truck_cols])
    return caps


def _lp_trucks(built: Built, relax_of: Built, x: np.ndarray) -> np.ndarray:
    """Trucks per (lane, day) column of ``built`` from a solution ``x`` of ``relax_of``."""
    T = built.n_days
    where = np.full(len(built.lane_from) * T, -1, dtype=np.int64)
    where[relax_of.truck_lane * T + relax_of.truck_day] = relax_of.truck_cols
    cols = where[built.truck_lane * T + built.truck_day]
    return np.where(cols >= 0, x[np.maximum(cols, 0)], 0.0)


def stage_bounds(bound: float | None, valid: bool, known: float | None) -> dict:
    """A stage's bound as Out Solver shows it: ``bound`` when it bounds the model and
    passed ``known``, the best bound when the stage started (a root that never got past
    the LP proves nothing: HiGHS reports −1.96M there on the thesis), else none; a
    restricted stage's bound only as ``restricted_bound``, never as the plan's."""
    bound = _finite(bound)
    if not valid:
        return {"bound": None, "restricted_bound": bound}
    if bound is not None and known is not None and bound < known:
        bound = None
    return {"bound": bound, "restricted_bound": None}


def _within(objective: float | None, bound: float | None, gap: float) -> bool:
    g = relative_gap(objective, bound)
    return g is not None and g <= gap


def gap_proven(g: float | None, gap: float) -> bool:
    """Whether a plan's gap ``g`` proves the requested ``gap`` (up to HiGHS's tolerances):
    the rule behind status ``optimal``."""
    return g is not None and g <= gap * 1.0001 + 1e-9


def _finite(v) -> float | None:
    return float(v) if v is not None and np.isfinite(v) else None


def _solution(search: _Search) -> Solution:
    """Round integer columns, recompute the objective from the plan, say what was proven.

    ``optimal`` only when the requested gap is proven, ``stopped`` after a stop request,
    ``time_limit`` when the limit was reached; a search that ended early without a
    proof (HiGHS failed) is ``error`` with its plan kept.
    """
    built, best, bound, gap = search.built, search.best, search.bound, search.gap
    solve_seconds = time.perf_counter() - search.t_start
    x = obj = None
    if best is not None:
        x = best.x.copy()
        ints = built.lp.integrality.astype(bool)
        x[ints] = np.round(x[ints])
        x[np.abs(x) < 1e-9] = 0.0
        obj = float(built.lp.cost @ x + built.lp.offset)
        if bound is not None:
            bound = min(bound, obj)
    g = relative_gap(obj, bound) if x is not None else None
    # A bound no LP passed counts only the supplied pallets' first move (the thesis's
    # 328,464 LP bound against 10,370): a gap of 97% says little about the plan.
    note = (WEAK_BOUND_NOTE if search.bound is not None and search.supply_bound is not None
            and search.bound <= search.supply_bound and g is not None and g > gap else "")
    last = search.last
    message = last.message if last is not None else ""
    if x is None and last is not None and last.status == highs.INFEASIBLE:
        status = highs.INFEASIBLE
    elif g is not None and (gap_proven(g, gap) or search.highs_proved):
        status = highs.OPTIMAL  # proven within the requested gap (HiGHS's tolerances)
    elif search.stopped():
        status = highs.STOPPED
    elif search.left() < MIN_STAGE_SECONDS:
        status = highs.TIME_LIMIT
    else:
        status = highs.ERROR
        message = (f"The solve ended after {search.elapsed():.1f} s of {search.limit:g} s "
                   f"without proving the gap ({message or 'no reason given'}).")
    return Solution(status=status, x=x, objective=obj, bound=bound, mip_gap=g,
                    build_seconds=built.build_seconds, solve_seconds=solve_seconds,
                    stages=search.stages, message=message,
                    log=last.log if last is not None else "", mip_gap_target=gap,
                    bound_note=note)


def transfer(plan: np.ndarray, source: Built, target: Built) -> np.ndarray:
    """A plan of ``source`` as a column vector of ``target`` (same products and network).

    Flows, trucks, stock and shortages are matched by what they mean (product, lane,
    location, day); columns ``target`` does not have are dropped, its new ones are 0.
    The result may not fit ``target``'s limits: :func:`repair` makes it fit.
    """
    x = np.zeros(target.lp.n_cols)
    n_lanes, T = len(target.lane_from), target.n_days

    def move(src_cols, src_keys, dst_cols, dst_keys):
        where = dict(zip(src_keys.tolist(), src_cols.tolist()))
        idx = np.array([where.get(k, -1) for k in dst_keys.tolist()], dtype=np.int64)
        ok = idx >= 0
        x[dst_cols[ok]] = plan[idx[ok]]

    move(source.flow_cols, (source.flow_product * n_lanes + source.flow_lane) * T
         + source.flow_day, target.flow_cols,
         (target.flow_product * n_lanes + target.flow_lane) * T + target.flow_day)
    move(source.truck_cols, source.truck_lane * T + source.truck_day,
         target.truck_cols, target.truck_lane * T + target.truck_day)
    n_locs = len(target.locations)

    def stock_keys(b: Built) -> np.ndarray:
        pair = np.repeat(np.arange(len(b.pair_product)), T)
        day = np.tile(np.arange(T), len(b.pair_product))
        return (b.pair_product[pair] * n_locs + b.pair_loc[pair]) * T + day

    move(source.stock_cols, stock_keys(source), target.stock_cols, stock_keys(target))
    move(source.short_cols, (source.short_product * n_locs + source.short_plant) * T
         + source.short_day, target.short_cols,
         (target.short_product * n_locs + target.short_plant) * T + target.short_day)
    return x


def fits(lp: LinearProgram, x: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether ``x`` satisfies every bound, row and integrality of ``lp``."""
    ints = lp.integrality.astype(bool)
    if np.any(np.abs(x[ints] - np.round(x[ints])) > tol):
        return False
    if np.any(x < lp.lower - tol) or np.any(x > lp.upper + tol):
        return False
    ends = np.append(lp.a_start[1:], lp.nnz)[:lp.n_rows]  # a_start: each row's first entry
    rows = np.repeat(np.arange(lp.n_rows), ends - lp.a_start[:lp.n_rows])
    act = np.bincount(rows, weights=lp.a_value * x[lp.a_index], minlength=lp.n_rows)
    scale = tol * np.maximum(1.0, np.abs(act))
    return bool(np.all(act >= lp.row_lower - scale) and np.all(act <= lp.row_upper + scale))


def repair(built: Built, plan: np.ndarray, stop: StopToken | None = None) -> np.ndarray | None:
    """``plan`` made to fit ``built``: as it is, or with its moves and trucks kept.

    A plan that fits is returned as it is. Otherwise its flows and trucks (clipped to
    the new limits) are fixed and an LP chooses the stock and shortages; when that does
    not fit either (e.g. the supply changed, so the flows out of suppliers do), None:
    the constructive plan is the start.
    """
    lp = built.lp
    if fits(lp, plan):
        return plan
    fixed = np.concatenate([built.flow_cols, built.truck_cols])
    value = np.clip(plan[fixed], lp.lower[fixed], lp.upper[fixed])
    value[lp.integrality[fixed].astype(bool)] = np.round(value[lp.integrality[fixed]
                                                              .astype(bool)])
    lower, upper = lp.lower.copy(), lp.upper.copy()
    lower[fixed] = upper[fixed] = value
    res = highs.solve(lp.replace(lower=lower, upper=upper,
                                 integrality=np.zeros(lp.n_cols, np.int32)),
                      SolveOptions(time_limit=5.0, isolate=stop is not None), stop=stop)
    if res.status != highs.OPTIMAL or res.x is None:
        return None
    x = res.x.copy()
    ints = lp.integrality.astype(bool)
    x[ints] = np.round(x[ints])
    return x if fits(lp, x) else None
