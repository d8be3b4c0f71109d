"""Why no plan fits: the limits that would have to grow (docs/production_distribution.md,
"When no plan fits")."""

from __future__ import annotations

import numpy as np

from .. import highs
from ..highs import INF, LinearProgram, SolveOptions
from ..tables import Problems
from .model import Built

# The elastic LP gets what is left of the time limit, but at least this (it runs after
# HiGHS proved that no plan fits, which may take the whole limit).
MIN_SECONDS = 1.0
# The input sheet to fix for each kind of overflow.
SHEET_OF_KIND = {"storage": "Storage", "reception": "Locations", "lane_trucks": "Lanes"}


def diagnose(built: Built, seconds: float = 60.0, stop=None) -> list[dict] | None:
    """Where no plan can fit: overflow per (day, location, category) and extra trucks.

    Solves an elastic LP: every storage, reception and lane-truck limit gets a slack
    column; minimising the total slack shows which limits would have to grow. Interior
    point: with no costs but the slacks the LP is highly degenerate, and the simplex
    methods take several times longer (a 110k-column case: dual simplex over 60 s,
    interior point 22 s).

    Parameters
    ----------
    built : Built
        The infeasible model.
    seconds : float
        Time for the elastic LP (what is left of the workbook's time limit).
    stop : control.StopToken, optional
        Ends the search early (then None is returned).

    Returns
    -------
    list of dict, or None
        One entry per limit exceeded: ``kind`` (storage, reception, lane_trucks),
        ``day`` (1-based), ``location`` (or lane), ``category`` and ``excess``; empty
        when none is exceeded (the whole pallets or trucks are what cannot fit). None
        when the LP did not finish in ``seconds``.
    """
    lp = built.lp
    n_rows = lp.n_rows
    cap_lo, cap_hi = built.row_families.get("storage_capacity", (0, 0))
    rec_lo, rec_hi = built.row_families.get("plant_reception", (0, 0))
    slack_rows = np.concatenate([np.arange(cap_lo, cap_hi), np.arange(rec_lo, rec_hi)])
    n_s = len(slack_rows)
    # Truck upper bounds (max_trucks) become rows with slacks too.
    trucks = built.truck_cols
    n_t = len(trucks)
    n_cols = lp.n_cols + n_s + n_t
    cost = np.zeros(n_cols)
    cost[lp.n_cols:] = 1.0
    lower = np.concatenate([lp.lower, np.zeros(n_s + n_t)])
    upper = np.concatenate([lp.upper, np.full(n_s + n_t, INF)])
    truck_upper = lp.upper[trucks].copy()
    upper[trucks] = INF
    starts = np.append(lp.a_start, lp.nnz)
    rows = np.repeat(np.arange(n_rows), np.diff(starts))
    extra_r = [slack_rows, n_rows + np.arange(n_t), n_rows + np.arange(n_t)]
    extra_c = [lp.n_cols + np.arange(n_s), trucks, lp.n_cols + n_s + np.arange(n_t)]
    extra_v = [-np.ones(n_s), np.ones(n_t), -np.ones(n_t)]
    start, index, value = highs.csr(np.concatenate([rows, *extra_r]),
                                    np.concatenate([lp.a_index, *extra_c]),
                                    np.concatenate([lp.a_value, *extra_v]), n_rows + n_t)
    elastic = LinearProgram(
        cost=cost, lower=lower, upper=upper, integrality=np.zeros(n_cols, np.int32),
        row_lower=np.concatenate([lp.row_lower, np.full(n_t, -INF)]),
        row_upper=np.concatenate([lp.row_upper, truck_upper]),
        a_start=start, a_index=index, a_value=value)
    res = highs.solve(elastic, SolveOptions(time_limit=max(seconds, 0.01), isolate=False,
                                            lp_solver="ipm"), stop=stop)
    if res.status != highs.OPTIMAL or res.x is None:
        return None
    slack = res.x[lp.n_cols:]
    found = []
    for j in np.nonzero(slack[:n_s] > 1e-6)[0]:
        row = slack_rows[j]
        if row < cap_hi:
            i = row - cap_lo
            found.append({"kind": "storage", "day": int(built.storage_rows["day"][i]) + 1,
                          "location": built.locations[built.storage_rows["loc"][i]],
                          "category": built.categories[built.storage_rows["cat"][i]],
                          "excess": float(slack[j])})
        else:
            k, t, _ = built.reception_rows[row - rec_lo]
            found.append({"kind": "reception", "day": t + 1, "location": built.locations[k],
                          "category": "", "excess": float(slack[j])})
    for j in np.nonzero(slack[n_s:] > 1e-6)[0]:
        lane = built.truck_lane[j]
        found.append({"kind": "lane_trucks", "day": int(built.truck_day[j]) + 1,
                      "location": f"{built.locations[built.lane_from[lane]]} -> "
                                  f"{built.locations[built.lane_to[lane]]}",
                      "category": "", "excess": float(slack[n_s + j])})
    return found


def report(found: list[dict] | None, problems: Problems, seconds: float = 0.0) -> str:
    """Each overflow as an error on the sheet to fix; returns the summary message (also
    when the search for them did not finish in ``seconds`` or found none)."""
    if found is None:
        text = (f"Finding which limits are too small did not finish in the {seconds:.0f} s "
                "left of time_limit_s; raise time_limit_s to see them.")
        problems.error("Settings", "", text)
        return "Infeasible: no plan fits the limits. " + text
    if not found:
        text = ("No storage, reception or truck limit is exceeded by itself: it is whole "
                "pallets or whole trucks that cannot fit (try integer_pallets = FALSE to see "
                "a plan with fractions).")
        problems.error("Settings", "", text)
        return "Infeasible: no plan fits the limits. " + text
    for f in found:
        problems.error(SHEET_OF_KIND[f["kind"]], "", message(f))
    return "Infeasible: no plan fits the limits. " + message(found[0])


def message(f: dict) -> str:
    """What a planner reads for one overflow: where, when, how much, and what to change."""
    if f["kind"] == "storage":
        return (f"Day {f['day']}: {f['location']} would need room for {f['excess']:.1f} more "
                f"pallets of category {f['category']} than its capacity. Raise the capacity, "
                "add a lane to another location, or reduce supply that day.")
    if f["kind"] == "reception":
        return (f"Day {f['day']}: {f['location']} would need to receive {f['excess']:.1f} more "
                "trucks than max_inbound_trucks allows.")
    return (f"Day {f['day']}: lane {f['location']} would need {f['excess']:.1f} more trucks "
            "than its max_trucks.")
