"""How the production–distribution model is solved (docs/production_distribution.md,
"How it is solved").

Small models go to HiGHS as they are, started from the constructive plan
(:func:`start.greedy_plan`). At scale HiGHS alone finds no plan with whole pallets and
improves poorly on a given one, so the solve is staged: the LP relaxation of the merged
model for the bound and the truck loads, a MIP with trucks capped at those loads, then
a better truck choice with continuous pallets and whole pallets for exactly those
trucks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import highs
from ..highs import LinearProgram, SolveOptions, SolveResult, relative_gap
from ..progress import NULL, Progress
from . import model
from .data import Instance
from .model import Built
from .start import greedy_plan

# Below this many columns the full MIP goes to HiGHS directly; above, the staged solve.
STAGED_MIN_COLUMNS = 4000

# Products merged by ``aggregate_surplus`` are named like this (not a valid product name
# from a sheet, so it cannot collide).
SURPLUS = "\x00surplus "


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

    @property
    def has_plan(self) -> bool:
        return self.x is not None


def solve(inst: Instance, built: Built, progress: Progress = NULL) -> Solution:
    """Solve the model within ``time_limit_s`` (wall clock, building included).

    0. the constructive plan: a whole-pallet plan in well under a second, kept if
       nothing better is found in time;
    1. LP relaxation of the merged model (:func:`aggregate_surplus`) with the
       whole-truck rows out of suppliers: the bound, and the trucks a fractional plan
       needs per lane and day;
    2. whole pallets and trucks with trucks capped at those loads rounded up: lanes and
       days the LP leaves empty close, so presolve leaves a small MIP;
    3. with time left, a better truck choice within the same caps with continuous
       pallets, started from the best plan, then whole pallets for exactly those trucks
       (integer pallets cost almost nothing once the trucks are right).

    Parameters
    ----------
    inst : Instance
        The data and settings the model was built from.
    built : Built
        The model of ``inst`` (:func:`model.build`).
    progress : Progress
        Where stage names and seconds are reported.

    Returns
    -------
    Solution
        The cheapest whole plan found and the best valid bound.
    """
    settings = inst.settings
    t_start = time.perf_counter()
    limit = float(settings.time_limit_s)
    gap = float(settings.mip_gap)
    lp = built.lp
    stages: list[dict] = []

    def left() -> float:
        return limit - built.build_seconds - (time.perf_counter() - t_start)

    def remaining() -> float:
        return max(0.5, left())

    def run(name: str, stage_lp: LinearProgram, budget: float, start=None) -> SolveResult:
        if left() < 1.0:  # the time limit is a promise: start nothing more
            stages.append({"stage": name, "status": "skipped (time limit)", "objective": None,
                           "bound": None, "seconds": 0.0})
            return SolveResult(highs.TIME_LIMIT)
        progress.status(f"Solving: {name}…")
        budget = min(max(0.5, budget), left())

        def show(msg: dict) -> None:  # seconds used of this stage's budget
            progress.step(min(int(msg.get("seconds", 0)), int(budget)), int(budget) or 1, name)

        res = highs.solve(stage_lp, SolveOptions(time_limit=budget, mip_gap=gap, start=start),
                          progress=show)
        stages.append({"stage": name, "status": res.status, "objective": res.objective,
                       "bound": res.bound, "seconds": round(res.solve_seconds, 2)})
        return res

    def finish(best: SolveResult, bound: float | None) -> Solution:
        return _solution(best, bound, built, t_start, stages, gap)

    greedy = greedy_plan(built)
    if greedy is not None:
        obj = float(lp.cost @ greedy)
        stages.append({"stage": "constructive plan", "status": "feasible", "objective": obj,
                       "bound": None, "seconds": round(time.perf_counter() - t_start, 2)})
        greedy_result = SolveResult(highs.TIME_LIMIT, x=greedy, objective=obj)
    staged = (bool(settings.integer_pallets) and lp.n_cols >= STAGED_MIN_COLUMNS
              and len(built.flow_cols) > 0)
    if not staged:
        res = run("full model", lp, remaining(), start=greedy)
        if res.x is None and greedy is not None and res.status != highs.INFEASIBLE:
            return finish(greedy_result, res.bound)
        return finish(res, res.bound)

    # 1. LP relaxation (of the merged model when there is one: same bound, faster): the
    #    first valid bound and the truck loads of a fractional plan.
    best = greedy_result if greedy is not None else None
    merged = aggregate_surplus(inst)
    relax_of = model.build(merged) if merged is not None else built
    r0 = run("LP relaxation",
             relax_of.lp.replace(integrality=np.zeros(relax_of.lp.n_cols, np.int32)),
             0.5 * remaining())
    if r0.status == highs.INFEASIBLE:
        return finish(r0, None)
    if r0.x is None:
        return finish(best or r0, None)
    bound = r0.objective
    # Trucks at most the LP's loads rounded up: lanes and days the LP leaves empty close,
    # which presolve turns into a model a fraction of the size.
    capped = lp.upper.copy()
    capped[built.truck_cols] = np.minimum(np.ceil(_lp_trucks(built, relax_of, r0.x) - 1e-6),
                                          lp.upper[built.truck_cols])
    # 2. Whole pallets and trucks within those trucks. This MIP finds its plan early and
    #    then mostly proves; step 3 improves on it faster, so it gets the larger share.
    r1 = run("whole pallets within the LP's trucks", lp.replace(upper=capped),
             0.7 * remaining())
    if r1.x is not None and (best is None or r1.objective < best.objective):
        best = r1
    if best is None or _within(best.objective, bound, gap) or left() < 5.0:
        return finish(best or r1, bound)
    # 3. A better truck choice: the same trucks' limits with continuous pallets, from the
    #    best plan (HiGHS improves truck choices far better without integer pallets) ...
    flows_continuous = lp.integrality.copy()
    flows_continuous[built.flow_cols] = 0
    r2 = run("truck choice, continuous pallets",
             lp.replace(upper=capped, integrality=flows_continuous),
             0.85 * remaining(), start=best.x)
    if r2.x is not None and r2.objective < best.objective - 1e-6:
        # ... then whole pallets for exactly those trucks.
        fixed = lp.upper.copy()
        fixed[built.truck_cols] = np.round(r2.x[built.truck_cols])
        r3 = run("whole pallets for those trucks", lp.replace(upper=fixed), remaining())
        if r3.x is not None and r3.objective < best.objective:
            best = r3
    return finish(best, bound)


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


def _lp_trucks(built: Built, relax_of: Built, x: np.ndarray) -> np.ndarray:
    """Trucks per (lane, day) column of ``built`` from a solution ``x`` of ``relax_of``."""
    T = built.n_days
    where = np.full(len(built.lane_from) * T, -1, dtype=np.int64)
    where[relax_of.truck_lane * T + relax_of.truck_day] = relax_of.truck_cols
    cols = where[built.truck_lane * T + built.truck_day]
    return np.where(cols >= 0, x[np.maximum(cols, 0)], 0.0)


def _within(objective: float | None, bound: float | None, gap: float) -> bool:
    g = relative_gap(objective, bound)
    return g is not None and g <= gap


def _solution(best: SolveResult, bound, built: Built, t_start, stages, gap: float) -> Solution:
    """Round integer columns, recompute the objective from the plan, normalise the status."""
    solve_seconds = time.perf_counter() - t_start
    x, obj = best.x, best.objective
    if x is not None:
        x = x.copy()
        ints = built.lp.integrality.astype(bool)
        x[ints] = np.round(x[ints])
        x[np.abs(x) < 1e-9] = 0.0
        obj = float(built.lp.cost @ x + built.lp.offset)
        if bound is not None:
            bound = min(bound, obj)
    g = relative_gap(obj, bound) if x is not None else None
    if x is None:
        status = best.status
    elif best.status == highs.OPTIMAL and len(stages) == 1:
        status = highs.OPTIMAL
    elif g is not None and g <= gap * 1.0001 + 1e-9:
        status = highs.OPTIMAL  # proven within the requested gap, as HiGHS reports it
    else:
        status = highs.TIME_LIMIT
    return Solution(status=status, x=x, objective=obj, bound=bound, mip_gap=g,
                    build_seconds=built.build_seconds, solve_seconds=solve_seconds,
                    stages=stages, message=best.message, log=best.log)
