"""Sensitivity experiments of the thesis (chapter 4), each an independent solve.

Standard set: baseline; plant capacity factor 0.8…1.2; demand factor 0.85…1.2; supply
factor 0.8…1.2; truck reception limit off (or on, when the workbook has it off). A
``Scenarios`` sheet with rows replaces the standard set (the baseline always runs, for
comparison). Scenarios run in parallel processes.
"""

from __future__ import annotations

import pandas as pd

from ..api import ModelRun
from ..outputs import ChartSpec
from ..parallel import run_pieces
from ..progress import NULL, Progress
from . import model, report, solve
from .data import Instance
from .schema import OUT_SCENARIOS

PLANT_CAPACITY = (0.8, 0.85, 0.9, 0.95, 1.05, 1.1, 1.15, 1.2)
DEMAND = (0.85, 0.9, 0.95, 1.03, 1.1, 1.2)
SUPPLY = (0.8, 0.9, 1.05, 1.2)
FACTORS = ("plant_capacity_factor", "demand_factor", "supply_factor", "use_reception_limit")


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


def _solve_one(piece: tuple[str, dict, Instance]) -> dict:
    name, factors, inst = piece
    scen = inst.with_settings(**factors)
    built = model.build(scen)
    sol = solve.solve(scen, built)
    row = {"scenario": name, **{k: factors[k] for k in FACTORS}, "status": sol.status,
           "mip_gap": sol.mip_gap, "seconds": round(sol.build_seconds + sol.solve_seconds, 2)}
    if not sol.has_plan:
        return row
    tabs = report.tables(scen, built, sol)
    c = tabs["costs"]
    row.update({"total_cost": c["total"], "cost_without_shortage": c["total"] - c["shortage"],
                "trucking": c["trucking"], "pallet_movement": c["pallet_movement"],
                "storage": c["storage"], "shortage": c["shortage"],
                **report.route_summary(built, tabs),
                "shortage_pallets": float(tabs["shortages"]["pallets"].sum()),
                **report.saturation_averages(built, tabs)})
    return row


def scenarios(inst: Instance, progress: Progress = NULL, workers: int | None = None) -> ModelRun:
    """Run every scenario as an independent solve, in parallel processes.

    Parameters
    ----------
    inst : Instance
        The baseline data and settings.
    progress : Progress
        Where finished scenarios are counted.
    workers : int, optional
        Processes to use; None = ``Settings!workers`` (0 = one per core).

    Returns
    -------
    ModelRun
        ``Out Scenarios`` with one row per scenario.
    """
    if workers is None:
        workers = inst.settings.workers or None
    pieces = [(name, f, inst) for name, f in scenario_list(inst)]
    progress.status(f"Running {len(pieces)} scenarios…")
    rows = run_pieces(_solve_one, pieces, workers=workers, progress=progress,
                      label="Scenarios")
    frame = pd.DataFrame(rows)
    for col in ("total_cost", "cost_without_shortage"):
        if col not in frame:
            frame[col] = None
    base = frame.iloc[0]
    if base.get("total_cost") is not None and base["total_cost"] == base["total_cost"]:
        frame["cost_vs_baseline"] = frame["total_cost"] / base["total_cost"]
    solved = frame["total_cost"].notna()
    status = "optimal" if (frame["status"] == "optimal").all() else (
        "time_limit" if solved.all() else "error")
    charts = [chart for chart in (_chart(frame, f, label) for f, label in (
        ("plant_capacity_factor", "plant capacity factor"), ("demand_factor", "demand factor"),
        ("supply_factor", "supply factor"))) if chart is not None]
    summary = {
        "objective": base.get("total_cost"),
        "mip_gap": base.get("mip_gap"),
        "solve_seconds": float(frame["seconds"].sum()),
        "build_seconds": None,
        "scenarios": len(frame),
        "scenarios_solved": int(solved.sum()),
        "message": f"{int(solved.sum())} of {len(frame)} scenarios solved; see Out Scenarios.",
    }
    frame = frame.reindex(columns=OUT_SCENARIOS.column_names)  # unsolved: blank columns
    return ModelRun(status, summary, [OUT_SCENARIOS.sheet(frame, charts)],
                    has_plan=bool(solved.any()))


def _chart(frame: pd.DataFrame, factor: str, label: str) -> ChartSpec | None:
    """Total cost (and cost without shortage) against one factor, the others at baseline."""
    base = frame.iloc[0]
    others = [f for f in FACTORS if f != factor]
    same = (frame[others] == base[others]).all(axis=1) & frame["total_cost"].notna()
    part = frame[same].sort_values(factor)
    if part[factor].nunique() < 2:
        return None
    data = part[[factor, "total_cost", "cost_without_shortage"]].drop_duplicates(factor)
    return ChartSpec(f"Total cost against the {label}", data.reset_index(drop=True),
                     kind="line", x_title=label, y_title="cost", y_format="#,##0")
