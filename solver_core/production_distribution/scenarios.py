"""Sensitivity experiments of the thesis (chapter 4), each a solve of its own.

Standard set: baseline; plant capacity factor 0.8…1.2; demand factor 0.85…1.2; supply
factor 0.8…1.2; truck reception limit off (or on, when the workbook has it off). A
``Scenarios`` sheet with rows replaces the standard set (the baseline always runs, for
comparison). The baseline is solved first; every other scenario starts from its plan
(repaired where it no longer fits) and runs in parallel processes with the same time
limit and gap target as a single solve; at the end each scenario takes the bounds and
plans of the scenarios it relaxes or is relaxed by (docs/production_distribution.md,
"Scenarios").
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import pandas as pd

from .. import control, highs
from ..api import ModelRun
from ..control import StopToken
from ..highs import relative_gap
from ..outputs import (
    MONEY_FORMAT,
    QUALITY,
    SCREEN,
    WHAT_TO_DO,
    ChartSpec,
    axis_range,
    gap_percent,
)
from ..parallel import NOT_RUN, default_workers, run_pieces
from ..progress import NULL, Progress, ProgressEvent
from . import model, report, solve
from .data import Instance
from .schema import OUT_SCENARIOS

PLANT_CAPACITY = (0.8, 0.85, 0.9, 0.95, 1.05, 1.1, 1.15, 1.2)
DEMAND = (0.85, 0.9, 0.95, 1.03, 1.1, 1.2)
SUPPLY = (0.8, 0.9, 1.05, 1.2)
FACTORS = ("plant_capacity_factor", "demand_factor", "supply_factor", "use_reception_limit")
BEST = "their best possible cost"
LISTED = 5  # scenarios off their gap target named in the message (the worst first)


def scenario_list(inst: Instance) -> list[tuple[str, dict]]:
    """(name, factors) of every scenario, the baseline first."""
    base = {k: inst.settings[k] for k in FACTORS}
    out = [("baseline", dict(base))]
    custom = inst.scenarios
    if custom is not None and len(custom):
        for i in range(len(custom)):
            changes = {k: custom[k].iat[i] for k in FACTORS if custom[k].iat[i] is not None}
            out.append((str(custom["scenario"].iat[i]), {**base, **changes}))
        return out
    for f in PLANT_CAPACITY:
        out.append((f"plant capacity {f:.0%}", {**base, "plant_capacity_factor": f}))
    for f in DEMAND:
        out.append((f"demand {f:.0%}", {**base, "demand_factor": f}))
    for f in SUPPLY:
        out.append((f"supply {f:.0%}", {**base, "supply_factor": f}))
    flip = not base["use_reception_limit"]
    out.append((f"reception limit {'on' if flip else 'off'}",
                {**base, "use_reception_limit": flip}))
    return out


def _solve_one(piece: tuple, stop: StopToken | None = None) -> tuple[dict, object]:
    """One scenario: build, solve from the baseline's plan; its row and plan (or None)."""
    progress = stop.progress(piece[0]) if stop is not None else NULL
    row, kept = _solve_scenario(piece, progress, stop)
    if stop is not None:
        stop.report(progress_event(row), force=True)
    return row, None if kept is None else kept[1]


def _solve_scenario(piece: tuple, progress: Progress, stop: StopToken | None):
    """(row, (model without its LP, plan) or None) of one scenario."""
    name, factors, inst, base, budget, threads = piece
    scen = inst.with_settings(**factors, time_limit_s=budget)
    built = model.build(scen)
    starts = () if base is None else (solve.transfer(base[1], base[0], built),)
    sol = solve.solve(scen, built, progress, stop=stop, starts=starts, threads=threads)
    row = {"scenario": name, **{k: factors[k] for k in FACTORS}, "status": sol.status,
           "mip_gap": sol.mip_gap, "bound": sol.bound,
           "seconds": round(sol.build_seconds + sol.solve_seconds, 2)}
    if sol.bound_note:
        row["note"] = sol.bound_note
    if not sol.has_plan:
        return row, None
    row.update(_plan_columns(scen, built, sol))
    # The plan for the others to start from: the model's index arrays without its LP.
    return row, (dataclasses.replace(built, lp=None), sol.x)


def _plan_columns(scen: Instance, built: model.Built, sol: solve.Solution) -> dict:
    """The columns of ``Out Scenarios`` that describe a plan: costs, trucks, saturation."""
    tabs = report.tables(scen, built, sol)
    c = tabs["costs"]
    return {"total_cost": c["total"], "cost_without_shortage": c["total"] - c["shortage"],
            "trucking": c["trucking"], "pallet_movement": c["pallet_movement"],
            "storage": c["storage"], "shortage": c["shortage"],
            **report.route_summary(built, tabs),
            "shortage_pallets": float(tabs["shortages"]["pallets"].sum()),
            **report.saturation_averages(built, tabs),
            "service_level": report.service_level(built, tabs)}


def relaxes(a: dict, b: dict) -> bool:
    """Whether scenario factors ``a`` relax ``b``: every plan of ``b`` is a plan of ``a``.

    More plant space, or no reception limit where ``b`` has one, with the same demand
    and supply: the costs are the same, only limits are wider. Then ``a``'s optimum is
    at most ``b``'s, so ``a``'s bound is a bound of ``b`` too, and ``b``'s plan is a plan
    of ``a`` at the same cost.
    """
    return (a != b and a["demand_factor"] == b["demand_factor"]
            and a["supply_factor"] == b["supply_factor"]
            and a["plant_capacity_factor"] >= b["plant_capacity_factor"]
            and (not a["use_reception_limit"] or bool(b["use_reception_limit"])))


def share_results(inst: Instance, listed: list[tuple[str, dict]], rows: list[dict],
                  plans: list, gap: float, stop: StopToken | None = None) -> list[dict]:
    """Rows after each scenario takes what scenarios it relaxes (or is relaxed by) proved.

    A scenario gets the bound of any scenario that relaxes it, and the cheapest plan of
    any scenario it relaxes (checked to fit its own model): a wider limit never costs
    more, whatever each scenario's own search found in its time. Its gap and status are
    recomputed; ``note`` says what came from where. After a stop only the bounds are
    shared (taking a plan rebuilds two models).
    """
    rows = [dict(r) for r in rows]
    factors = [f for _, f in listed]
    n = len(rows)

    def cost(i):
        c = rows[i].get("total_cost")
        return None if c is None or c != c else float(c)

    for j in range(n):  # bounds: from every scenario that relaxes j
        for i in range(n):
            b = rows[i].get("bound")
            if relaxes(factors[i], factors[j]) and b is not None and b == b and (
                    rows[j].get("bound") is None or b > rows[j]["bound"] + 1e-9):
                rows[j]["bound"] = b
                rows[j]["note"] = f"bound from {listed[i][0]}"
    originals = [cost(i) for i in range(n)]
    built: dict[int, model.Built] = {}  # scenario models, each built once

    def model_of(k: int) -> model.Built:
        if k not in built:
            built[k] = model.build(inst.with_settings(**factors[k]))
        return built[k]

    takers = [] if control.requested(stop) else range(n)
    for i in takers:  # plans: the cheapest of the scenarios i relaxes
        donors = [j for j in range(n) if relaxes(factors[i], factors[j])
                  and plans[j] is not None and originals[j] is not None
                  and (originals[i] is None or originals[j] < originals[i] - 1e-6)]
        if not donors:
            continue
        j = min(donors, key=lambda d: originals[d])
        scen_i, built_i = inst.with_settings(**factors[i]), model_of(i)
        x = solve.transfer(plans[j], model_of(j), built_i)
        if not solve.fits(built_i.lp, x):
            continue
        objective = float(built_i.lp.cost @ x + built_i.lp.offset)
        sol = solve.Solution(status=rows[i]["status"], x=x, objective=objective,
                             bound=rows[i].get("bound"), mip_gap=None, build_seconds=0.0,
                             solve_seconds=0.0, stages=[])
        rows[i].update(_plan_columns(scen_i, built_i, sol))
        note = f"plan of {listed[j][0]} (fits here, costs less)"
        rows[i]["note"] = "; ".join(filter(None, [rows[i].get("note"), note]))
    for r in rows:  # gaps and statuses of what each row now holds
        c, b = r.get("total_cost"), r.get("bound")
        if c is None or c != c or b is None or b != b:
            continue
        r["bound"] = min(float(b), float(c))
        r["mip_gap"] = relative_gap(float(c), r["bound"])
        if solve.gap_proven(r["mip_gap"], gap):
            r["status"] = highs.OPTIMAL
    return rows


def progress_event(row: dict) -> ProgressEvent:
    """The numbers a finished scenario reports to the merged progress."""
    return ProgressEvent(phase=row["status"], cost=row.get("total_cost"),
                         bound=row.get("bound"), gap=row.get("mip_gap"))


def time_plan(limit: float, n_scenarios: int, workers: int) -> str:
    """How the run uses its time: each scenario gets ``limit``, as a single solve does.

    Every scenario is a solve of its own with the workbook's ``time_limit_s`` and
    ``mip_gap`` (a scenario table whose differences are smaller than its gaps answers no
    question); the baseline runs first, then the others in ``ceil((n − 1) / workers)``
    rounds on ``workers`` processes. A scenario that proves its gap sooner frees its
    worker for the next.
    """
    rounds = math.ceil(max(n_scenarios - 1, 0) / max(workers, 1))
    most = (1 + rounds) * limit
    return (f"{limit:g} s per scenario, as for a single solve: the baseline, then "
            f"{n_scenarios - 1} scenarios on {workers} workers in {rounds} rounds "
            f"(at most about {_duration(most)} in all)")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def scenarios(inst: Instance, progress: Progress = NULL, workers: int | None = None,
              stop: StopToken | None = None) -> ModelRun:
    """Run every scenario: the baseline first, then the others from its plan in parallel.

    Parameters
    ----------
    inst : Instance
        The baseline data and settings; ``time_limit_s`` and ``mip_gap`` hold for each
        scenario (:func:`time_plan`).
    progress : Progress
        Where finished scenarios and their gaps are reported.
    workers : int, optional
        Processes to use; None = ``Settings!workers`` (0 = one per core).
    stop : control.StopToken, optional
        Once requested, no scenario starts; running ones keep their best plan and say
        ``stopped``.

    Returns
    -------
    ModelRun
        ``Out Scenarios`` with one row per scenario: status, gap, bound and costs, after
        :func:`share_results`.
    """
    t0 = time.monotonic()
    if workers is None:
        workers = inst.settings.workers or None
    n_workers = workers or default_workers()
    listed = scenario_list(inst)
    gap, limit = float(inst.settings.mip_gap), float(inst.settings.time_limit_s)
    sharing = time_plan(limit, len(listed), n_workers)
    progress.status(f"Running {len(listed)} scenarios, {sharing}; the baseline first…")
    name, factors = listed[0]
    base_row, base_plan = _solve_scenario((name, factors, inst, None, limit,
                                           highs.SolveOptions.threads), progress, stop)
    rows, plans = [base_row], [None if base_plan is None else base_plan[1]]
    if len(listed) > 1:
        # The workers share the cores: each HiGHS gets its part of them.
        threads = max(1, (os.cpu_count() or 1) // n_workers)
        pieces = [(n, f, inst, base_plan, limit, threads) for n, f in listed[1:]]
        progress.status(f"Running {len(pieces)} scenarios from the baseline's plan…")
        done = run_pieces(_solve_one, pieces, workers=workers, progress=progress,
                          label="Scenarios", stop=stop, merge="scenarios")
        for result, (n, f) in zip(done, listed[1:]):
            row, plan = result if result is not NOT_RUN else (
                {"scenario": n, **{k: f[k] for k in FACTORS}, "status": highs.STOPPED}, None)
            rows.append(row)
            plans.append(plan)
    rows = share_results(inst, listed, rows, plans, gap, stop)
    wall = time.monotonic() - t0
    frame = pd.DataFrame(rows)
    for col in ("total_cost", "cost_without_shortage", "bound", "mip_gap", "note"):
        if col not in frame:
            frame[col] = None
    base = frame.iloc[0]
    if base.get("total_cost") is not None and base["total_cost"] == base["total_cost"]:
        frame["cost_vs_baseline"] = frame["total_cost"] / base["total_cost"]
    solved = frame["total_cost"].notna()
    reached = frame["status"] == highs.OPTIMAL
    if control.requested(stop):
        status = highs.STOPPED
    elif reached.all():
        status = highs.OPTIMAL
    elif solved.all():
        status = highs.TIME_LIMIT
    else:
        status = highs.ERROR
    charts = [chart for chart in (_chart(frame, f, label) for f, label in (
        ("plant_capacity_factor", "plant capacity factor"), ("demand_factor", "demand factor"),
        ("supply_factor", "supply factor"))) if chart is not None]
    summary = {
        "objective": base.get("total_cost"),
        "bound": base.get("bound"),
        "mip_gap": base.get("mip_gap"),
        "service_level": base.get("service_level"),
        "mip_gap_target": gap,
        "wall_seconds": round(wall, 2),
        "build_seconds": None,
        "time_sharing": sharing,
        "scenarios": len(frame),
        "scenarios_solved": int(solved.sum()),
        "scenarios_within_target": int(reached.sum()),
        "message": reached_message(frame, gap),
        **first_screen(frame, gap, status),
    }
    frame = frame.reindex(columns=OUT_SCENARIOS.column_names)  # unsolved: blank columns
    return ModelRun(status, summary, [OUT_SCENARIOS.sheet(frame, charts)],
                    has_plan=bool(solved.any()))


def first_screen(frame: pd.DataFrame, gap: float, status: str) -> dict:
    """The planner's rows of Out Summary for a scenario run: how far each can be trusted,
    the baseline, the cheapest and the costliest scenario, what to do with the table."""
    solved = frame[frame["total_cost"].notna()]
    reached = int((frame["status"] == highs.OPTIMAL).sum())
    gaps = solved["mip_gap"].astype(float)
    if reached == len(frame):
        quality = f"every scenario {_proven(gap, 'its best possible cost')}"
    elif gaps.notna().any():
        worst = solved.loc[gaps.idxmax()]
        quality = (f"{reached} of {len(frame)} scenarios {_proven(gap, BEST)}; the others at most "
                   f"{gap_percent(gaps.max())} above their best possible ({worst['scenario']})")
    else:
        quality = f"{reached} of {len(frame)} scenarios {_proven(gap, BEST)}"
    if status == highs.STOPPED:
        quality = "stopped by you: " + quality
    screen = [("scenarios solved", f"{len(solved)} of {len(frame)}", None)]
    base = frame.iloc[0]
    if len(solved) and base["total_cost"] == base["total_cost"]:
        screen.append(("baseline total cost", float(base["total_cost"]), MONEY_FORMAT))
        for label, row in (("cheapest scenario", solved.loc[solved["total_cost"].idxmin()]),
                           ("costliest scenario", solved.loc[solved["total_cost"].idxmax()])):
            screen.append((label, f"{row['scenario']}: {row['total_cost']:,.2f} "
                           f"({row['total_cost'] / base['total_cost']:.1%} of the baseline)",
                           None))
    todo = ("Compare total_cost in Out Scenarios and its charts"
            + (": every difference is proven" if reached == len(frame) else
               "; a difference smaller than the rows' mip_gap is not proven (raise "
               "time_limit_s, which each scenario gets, to narrow the gaps)"))
    return {QUALITY: quality, SCREEN: screen, WHAT_TO_DO: todo}


def _proven(gap: float, of: str) -> str:
    """'proven within 0.20% of <of>', or 'proven optimal' when the gap asked for is 0."""
    return f"proven within {gap_percent(gap)} of {of}" if gap > 0 else "proven optimal"


def reached_message(frame: pd.DataFrame, gap: float) -> str:
    """"14 of 20 scenarios proven within 0.10% of their bound; the others: demand 120% (…),
    …"."""
    reached = frame["status"] == highs.OPTIMAL
    text = f"{int(reached.sum())} of {len(frame)} scenarios {_proven(gap, 'their bound')}"
    rest = frame[~reached]
    if len(rest):
        worst = rest.assign(sort_gap=rest["mip_gap"].astype(float).fillna(float("inf")))
        worst = worst.sort_values("sort_gap", ascending=False)
        named = []
        for r in worst.head(LISTED).itertuples(index=False):
            what = "no plan" if not r.total_cost == r.total_cost or r.total_cost is None else (
                "no bound" if r.sort_gap == float("inf") else f"gap {r.sort_gap:.2%}")
            named.append(f"{r.scenario} ({r.status}, {what})")
        more = f" and {len(rest) - LISTED} more" if len(rest) > LISTED else ""
        text += "; the others (worst first): " + ", ".join(named) + more
    return text + ". See Out Scenarios."


def _chart(frame: pd.DataFrame, factor: str, label: str) -> ChartSpec | None:
    """Total cost (and cost without shortage) against one factor, the others at baseline.

    A scatter chart with lines: the factor on a numeric axis (0.8 → 1.2 spaced by
    value); the cost axis spans the costs shown, not from 0, so the differences show.
    """
    base = frame.iloc[0]
    others = [f for f in FACTORS if f != factor]
    same = (frame[others] == base[others]).all(axis=1) & frame["total_cost"].notna()
    part = frame[same].sort_values(factor)
    if part[factor].nunique() < 2:
        return None
    data = part[[factor, "total_cost", "cost_without_shortage"]].drop_duplicates(factor)
    values = data[["total_cost", "cost_without_shortage"]].to_numpy(float)
    low, high = axis_range(float(values.min()), float(values.max()))
    return ChartSpec(f"Total cost against the {label}", data.reset_index(drop=True),
                     kind="scatter", x_title=label, y_title="cost", y_format="#,##0",
                     y_min=low, y_max=high)
