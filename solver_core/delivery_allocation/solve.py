"""How the delivery allocation is solved: pieces, parallel solves, tie-break, plan.

The instance is split into *pieces*, each a group of SKUs solved as one LP
(:class:`.model.Piece`); groups are balanced by size and solved in parallel
processes when the instance is big. A second pass breaks ties when some lines cost
nothing to delay. The pooled deliveries are then traced back to named sources
(inventory, PO) first arrived, first used (docs/delivery_allocation.md, "How it is
solved").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import highs
from ..parallel import default_workers, run_pieces
from ..progress import NULL, Progress
from .data import Instance
from .model import ROUND_TOL, Layout, Piece, build, ranges

#: Estimated delivery arcs above which SKU groups are solved in parallel processes
#: (below it, starting the processes costs more than it saves).
PARALLEL_MIN_ARCS = 150_000
#: SKU groups when solving in this process (keeps each HiGHS call small and the
#: progress bar moving).
SEQUENTIAL_GROUPS = 8


@dataclass
class PieceResult:
    """Deliveries and solve statistics of one piece."""

    status: str
    line_id: np.ndarray  # deliveries: instance line, day, quantity
    day: np.ndarray
    quantity: np.ndarray
    penalty: float
    build_seconds: float
    solve_seconds: float
    size: dict[str, int]
    message: str = ""


@dataclass
class Plan:
    """Deliveries of the optimised plan and how the solve went."""

    status: str
    deliveries: pd.DataFrame  # line (index into Instance.lines), day, quantity
    penalty: float
    build_seconds: float
    solve_seconds: float
    wall_seconds: float
    size: dict[str, int]
    pieces: int
    workers: int
    messages: list[str]


# ---------------------------------------------------------------------------
# Pieces


def pool_index(instance: Instance) -> dict[tuple[str, str], int]:
    """Number of each pool (supply center, SKU) that has order lines, in sorted order."""
    lines = instance.lines
    return {p: i for i, p in enumerate(sorted(set(zip(lines["supply_center"], lines["sku"]))))}


def make_pieces(instance: Instance, groups: int) -> list[Piece]:
    """Split the instance into at most ``groups`` SKU groups of similar size."""
    lines, H = instance.lines, instance.horizon_days
    if lines.empty:
        return []
    sources = instance.usable_sources
    pool_of = pool_index(instance)
    line_pool = np.array([pool_of[p] for p in zip(lines["supply_center"], lines["sku"])])
    src_pool = np.array([pool_of.get(p, -1) for p in zip(sources["supply_center"],
                                                          sources["sku"])], dtype=np.int64)
    cap = instance.capacity
    cap_of = {(s, r): c for s, r, c in zip(cap["sku"], cap["region"], cap["capacity"])}
    key_of: dict[tuple[str, str], int] = {}
    line_key = np.array([key_of.setdefault(k, len(key_of)) if k in cap_of else -1
                         for k in zip(lines["sku"], lines["region"])], dtype=np.int64)
    key_capacity = np.array([cap_of[k] for k in key_of], dtype=float)

    # Longest-processing-time assignment of SKUs to groups, sized by lines and sources.
    sku_size = lines.groupby("sku").size().add(
        sources.groupby("sku").size(), fill_value=0).loc[sorted(set(lines["sku"]))]
    order = sku_size.sort_values(ascending=False, kind="stable")
    n_groups = max(1, min(groups, len(order)))
    load = np.zeros(n_groups)
    group_of: dict[str, int] = {}
    for sku, size in order.items():
        g = int(np.argmin(load))
        group_of[sku] = g
        load[g] += size
    src_day = sources["day"].to_numpy(np.int64)
    src_qty = sources["quantity"].to_numpy(float)
    line_group = lines["sku"].map(group_of).to_numpy()
    src_group = sources["sku"].map(group_of).fillna(-1).to_numpy()

    settings = instance.settings
    pieces = []
    for g in range(n_groups):
        li = np.flatnonzero(line_group == g)
        si = np.flatnonzero((src_group == g) & (src_pool >= 0))
        pools, local_pool = np.unique(line_pool[li], return_inverse=True)
        keys, local_key = np.unique(line_key[li], return_inverse=True)
        if len(keys) and keys[0] == -1:  # -1 (no limit) stays -1
            local_key = local_key - 1
            keys = keys[1:]
        # One supply point per (pool, day), sorted: the stock chain's inflows.
        sp = np.searchsorted(pools, src_pool[si]).astype(np.int64)
        base = H + 2
        code, inverse = np.unique(sp * base + src_day[si], return_inverse=True)
        qty = np.bincount(inverse, weights=src_qty[si], minlength=len(code)).astype(float)
        sub = lines.iloc[li]
        pieces.append(Piece(
            line_id=li, pool=local_pool.astype(np.int64), key=local_key.astype(np.int64),
            first_day=sub["first_day"].to_numpy(np.int64),
            rpd_day=sub["rpd_day"].to_numpy(np.int64),
            epd_day=sub["epd_day"].to_numpy(np.int64),
            quantity=sub["quantity"].to_numpy(float),
            rpd_rate=sub["rpd_rate"].to_numpy(float), epd_rate=sub["epd_rate"].to_numpy(float),
            supply_pool=code // base, supply_day=code % base, supply_qty=qty,
            key_capacity=key_capacity[keys] if len(keys) else np.zeros(0),
            horizon=H, penalty=settings.penalty, time_limit_s=float(settings.time_limit_s),
            skus=sorted({s for s, gg in group_of.items() if gg == g}),
        ))
    return pieces


# ---------------------------------------------------------------------------
# One piece


def tie_break(lp: highs.LinearProgram, layout: Layout, piece: Piece,
              best: float) -> highs.LinearProgram:
    """Second pass when some lines cost nothing to delay.

    Among the cheapest plans, deliver as much and as early as possible: adds the row
    Σ c·x ≤ best (+ a rounding allowance) and minimises
    Σ (t + 1)·deliver[o, t] + (H + 2)·unmet[o].
    """
    cost = np.zeros(lp.n_cols)
    cost[layout.deliver] = layout.arc_day + 1.0
    cost[layout.unmet] = piece.horizon + 2.0
    keep = np.flatnonzero(layout.true_cost)
    return lp.replace(
        cost=cost,
        row_lower=np.r_[lp.row_lower, -highs.INF],
        row_upper=np.r_[lp.row_upper, best + 1e-9 * max(1.0, abs(best)) + 1e-7],
        a_start=np.r_[lp.a_start, lp.nnz].astype(np.int32),
        a_index=np.r_[lp.a_index, keep].astype(np.int32),
        a_value=np.r_[lp.a_value, layout.true_cost[keep]])


def solve_piece(piece: Piece) -> PieceResult:
    """Build, solve (two passes when needed) and read back one piece.

    Module level, because it runs in worker processes.
    """
    t0 = time.perf_counter()
    lp, layout = build(piece)
    build_seconds = time.perf_counter() - t0
    options = highs.SolveOptions(time_limit=piece.time_limit_s, threads=1, isolate=False)
    res = highs.solve(lp, options)
    solve_seconds = res.solve_seconds
    x = res.x
    if res.status == highs.OPTIMAL and np.any(piece.rpd_rate == 0):
        t1 = time.perf_counter()
        second_lp = tie_break(lp, layout, piece, float(res.objective))
        build_seconds += time.perf_counter() - t1
        second = highs.solve(second_lp, options)
        solve_seconds += second.solve_seconds
        if second.status == highs.OPTIMAL:
            x = second.x
    if x is None:
        empty = np.zeros(0)
        return PieceResult(res.status, empty.astype(np.int64), empty.astype(np.int64), empty,
                           float("nan"), build_seconds, solve_seconds, lp.size(), res.message)
    qty = clean(x[layout.deliver])
    used = qty > 0
    line, day, qty = layout.arc_line[used], layout.arc_day[used], qty[used]
    delivered = np.bincount(line, weights=qty, minlength=piece.n_lines)
    penalty = float(
        np.dot(qty, piece.cost(line, day))
        + np.dot(np.maximum(piece.quantity - delivered, 0),
                 piece.cost(np.arange(piece.n_lines), piece.horizon + 1)))
    return PieceResult(res.status, piece.line_id[line], day, qty, penalty, build_seconds,
                       solve_seconds, lp.size(), res.message)


def clean(q: np.ndarray) -> np.ndarray:
    """Solver values as quantities: near-whole numbers rounded, dust removed."""
    q = np.asarray(q, float)
    whole = np.round(q)
    q = np.where(np.abs(q - whole) < ROUND_TOL, whole, q)
    return np.where(q > ROUND_TOL, q, 0.0)


# ---------------------------------------------------------------------------
# Whole instance


def estimated_arcs(instance: Instance) -> int:
    """Rough size of the LP: lines × (1 + supply points per pool)."""
    n_lines = len(instance.lines)
    pools = max(1, len(pool_index(instance)))
    return int(n_lines * (1 + len(instance.usable_sources) / pools))


def workers_for(instance: Instance) -> int:
    """Processes to use: ``settings.workers``, or when 0 decided from the LP's size."""
    if instance.settings.workers:
        return int(instance.settings.workers)
    return default_workers() if estimated_arcs(instance) > PARALLEL_MIN_ARCS else 1


def solve(instance: Instance, progress: Progress = NULL) -> Plan:
    """Solve every piece; in parallel processes when there are several workers."""
    t0 = time.perf_counter()
    workers = workers_for(instance)
    groups = SEQUENTIAL_GROUPS if workers == 1 else 4 * workers
    pieces = make_pieces(instance, groups)
    results = run_pieces(solve_piece, pieces, workers=workers, progress=progress,
                         label="Solving SKU groups")
    rank = {highs.OPTIMAL: 0, highs.TIME_LIMIT: 1, highs.ERROR: 2, highs.INFEASIBLE: 3}
    status = max((r.status for r in results), key=rank.get, default=highs.OPTIMAL)
    size = {"rows": 0, "columns": 0, "nonzeros": 0, "integers": 0}
    for r in results:
        for k in size:
            size[k] += r.size.get(k, 0)
    deliveries = pd.DataFrame({
        "line": np.concatenate([r.line_id for r in results] or [np.zeros(0, np.int64)]),
        "day": np.concatenate([r.day for r in results] or [np.zeros(0, np.int64)]),
        "quantity": np.concatenate([r.quantity for r in results] or [np.zeros(0)]),
    }).sort_values(["line", "day"], kind="stable").reset_index(drop=True)
    return Plan(status=status, deliveries=deliveries,
                penalty=float(sum(r.penalty for r in results)),
                build_seconds=sum(r.build_seconds for r in results),
                solve_seconds=sum(r.solve_seconds for r in results),
                wall_seconds=time.perf_counter() - t0, size=size, pieces=len(pieces),
                workers=workers,
                messages=[r.message for r in results if r.status != highs.OPTIMAL])


# ---------------------------------------------------------------------------
# Named sources


def attribute_sources(instance: Instance, deliveries: pd.DataFrame) -> pd.DataFrame:
    """Split pooled deliveries into named sources, first arrived, first used.

    Within a pool, deliveries sorted by day take sources sorted by first usable day
    (inventory first). Because the plan never delivers more by day t than has arrived
    by day t, every unit then comes from a source that arrived on or before its
    delivery day. Returns one row per (line, day, source) with the source's index in
    ``instance.sources``.
    """
    columns = ["line", "day", "source", "quantity"]
    if deliveries.empty:
        return pd.DataFrame(columns=columns)
    lines = instance.lines
    src = instance.usable_sources
    pool_of = pool_index(instance)
    src_pool = np.array([pool_of.get(p, -1) for p in zip(src["supply_center"], src["sku"])],
                        dtype=np.int64)
    is_po = (src["source_type"] == "po").to_numpy()
    order = np.lexsort((src["source"].to_numpy(str), is_po, src["day"].to_numpy(), src_pool))
    order = order[src_pool[order] >= 0]
    s_index = src.index.to_numpy()[order]
    s_pool = src_pool[order]
    s_end = np.cumsum(src["quantity"].to_numpy(float)[order])
    s_start = s_end - src["quantity"].to_numpy(float)[order]
    pool_base = np.zeros(len(pool_of) + 1)
    np.add.at(pool_base, s_pool + 1, src["quantity"].to_numpy(float)[order])
    pool_base = np.cumsum(pool_base)

    d = deliveries
    d_pool = np.array([pool_of[p] for p in zip(lines["supply_center"].to_numpy()[d["line"]],
                                               lines["sku"].to_numpy()[d["line"]])],
                      dtype=np.int64)
    d_order = np.lexsort((d["line"].to_numpy(), d["day"].to_numpy(), d_pool))
    d_pool = d_pool[d_order]
    d_qty = d["quantity"].to_numpy(float)[d_order]
    d_end = np.cumsum(d_qty)
    pool_first = np.searchsorted(d_pool, d_pool, "left")
    before_pool = np.r_[0.0, d_end][pool_first]
    d_end = d_end - before_pool + pool_base[d_pool]
    d_start = d_end - d_qty
    # Sources overlapping [d_start, d_end): from the first ending after d_start to the
    # last starting before d_end.
    lo = np.searchsorted(s_end, d_start, "right")
    hi = np.searchsorted(s_start, d_end, "left")
    owner, idx = ranges(lo, np.maximum(hi - lo, 0))
    amount = np.minimum(d_end[owner], s_end[idx]) - np.maximum(d_start[owner], s_start[idx])
    ok = (amount > ROUND_TOL) & (s_pool[idx] == d_pool[owner])
    owner, idx, amount = owner[ok], idx[ok], clean(amount[ok])
    out = pd.DataFrame({
        "line": d["line"].to_numpy()[d_order][owner],
        "day": d["day"].to_numpy()[d_order][owner],
        "source": s_index[idx],
        "quantity": amount,
    })
    return out[out["quantity"] > 0].reset_index(drop=True)
