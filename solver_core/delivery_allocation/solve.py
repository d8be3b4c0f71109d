"""How the delivery allocation is solved: pieces, parallel solves, tie-break, plan.

The instance is split into *pieces*, each a group of SKUs solved as one LP
(:class:`.model.Piece`); groups are balanced by size and solved in parallel
processes when the instance is big. A second pass breaks ties when some lines cost
nothing to delay. The pooled deliveries are then traced back to named sources
(inventory, PO) first arrived, first used (docs/delivery_allocation.md, "How it is
solved").
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import control, highs
from ..control import StopToken
from ..parallel import NOT_RUN, PieceFailed, default_workers, run_pieces
from ..progress import NULL, Progress
from .data import Instance
from .model import ROUND_TOL, Layout, Piece, build, on_time_count_lp, ranges, with_on_time_count

#: Estimated delivery arcs above which SKU groups are solved in parallel processes
#: (below it, starting the processes costs more than it saves).
PARALLEL_MIN_ARCS = 150_000
#: SKU groups when solving in this process (keeps each HiGHS call small and the
#: progress bar moving).
SEQUENTIAL_GROUPS = 8
#: Columns above which an on-time MIP of one SKU runs in a child process (hard
#: deadline); smaller ones run here with HiGHS's own time limit.
MIP_ISOLATE_COLS = 20_000
#: Lines of consecutive SKUs solved as one LP (objective penalty).
LP_BLOCK_LINES = 1_000


@dataclass
class PieceResult:
    """Deliveries and solve statistics of one piece (or one SKU of it)."""

    status: str
    line_id: np.ndarray  # deliveries: instance line, day, quantity
    day: np.ndarray
    quantity: np.ndarray
    penalty: float
    build_seconds: float
    solve_seconds: float
    size: dict[str, int]
    message: str = ""
    unsolved: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bound: float = 0.0  # proven lower bound on the penalty (of the solved SKUs)
    on_time: int = 0  # lines on time by the solver's plan (objective on_time)
    on_time_bound: int = 0  # proven upper bound on that count

    @staticmethod
    def combine(parts: list[PieceResult]) -> PieceResult:
        """One result for several (SKUs or pieces): deliveries joined, figures added."""
        size = {"rows": 0, "columns": 0, "nonzeros": 0, "integers": 0}
        for r in parts:
            for k in size:
                size[k] += r.size.get(k, 0)
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
        return PieceResult(
            status=worst(r.status for r in parts),
            line_id=np.concatenate([r.line_id for r in parts] or [empty_i]),
            day=np.concatenate([r.day for r in parts] or [empty_i]),
            quantity=np.concatenate([r.quantity for r in parts] or [empty_f]),
            penalty=sum(r.penalty for r in parts),
            build_seconds=sum(r.build_seconds for r in parts),
            solve_seconds=sum(r.solve_seconds for r in parts), size=size,
            message="; ".join(r.message for r in parts if r.message),
            unsolved=np.concatenate([r.unsolved for r in parts] or [empty_i]),
            bound=sum(r.bound for r in parts), on_time=sum(r.on_time for r in parts),
            on_time_bound=sum(r.on_time_bound for r in parts))


#: Statuses from best to worst: the whole plan has the worst status of its pieces.
STATUS_RANK = {highs.OPTIMAL: 0, highs.TIME_LIMIT: 1, highs.STOPPED: 2, highs.ERROR: 3,
               highs.INFEASIBLE: 4}


def worst(statuses) -> str:
    """The worst of ``statuses`` (optimal when there is none)."""
    return max(statuses, key=STATUS_RANK.get, default=highs.OPTIMAL)


@dataclass
class Plan:
    """Deliveries of the optimised plan and how the solve went.

    ``fallback_lines`` are the lines whose SKU the solver did not finish (a stop, the
    time limit, a failed worker): they are served first come, first served.
    """

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
    bound: float = 0.0
    on_time: int = 0
    on_time_bound: int = 0
    fallback_lines: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    failed_pieces: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Pieces


def pool_index(instance: Instance) -> dict[tuple[str, str], int]:
    """Number of each pool (supply center, SKU) that has order lines.

    Numbered in (SKU, supply center) order, so that the pools of one SKU are
    consecutive (:meth:`.model.Piece.sku_block`).
    """
    lines = instance.lines
    pairs = sorted(set(zip(lines["sku"], lines["supply_center"])))
    return {(c, s): i for i, (s, c) in enumerate(pairs)}


def make_pieces(instance: Instance, groups: int, deadline: float = float("inf")
                ) -> list[Piece]:
    """Split the instance into at most ``groups`` SKU groups of similar size.

    Within a piece, lines are sorted by pool and pools by SKU, so each SKU's block is
    a slice (:meth:`.model.Piece.sku_block`).
    """
    lines, H = instance.lines, instance.horizon_days
    if lines.empty:
        return []
    sources = instance.usable_sources
    pool_of = pool_index(instance)
    line_pool = _lookup(pool_of, lines["supply_center"], lines["sku"])
    src_pool = _lookup(pool_of, sources["supply_center"], sources["sku"])
    sku_names = np.array(sorted(set(lines["sku"])), dtype=object)
    pool_sku_global = np.zeros(len(pool_of), np.int64)
    pool_sku_global[list(pool_of.values())] = np.searchsorted(
        sku_names, [s for _, s in pool_of])
    cap = instance.capacity
    cap_pairs = sorted(zip(cap["sku"], cap["region"]))  # keys in SKU order
    cap_of = dict(zip(zip(cap["sku"], cap["region"]), cap["capacity"].astype(float)))
    key_of = {k: i for i, k in enumerate(cap_pairs)}
    line_key = _lookup(key_of, lines["sku"], lines["region"])
    key_capacity = np.array([cap_of[k] for k in cap_pairs], dtype=float)
    key_sku_global = np.searchsorted(sku_names, [s for s, _ in cap_pairs]).astype(np.int64)

    # Longest-processing-time assignment of SKUs to groups, sized by lines and sources.
    line_sku = pool_sku_global[line_pool]
    sku_size = np.bincount(line_sku, minlength=len(sku_names)) + np.bincount(
        pool_sku_global[src_pool[src_pool >= 0]], minlength=len(sku_names))
    n_groups = max(1, min(groups, len(sku_names)))
    load = np.zeros(n_groups)
    group_of_sku = np.zeros(len(sku_names), np.int64)
    for k in np.argsort(-sku_size, kind="stable"):
        g = int(np.argmin(load))
        group_of_sku[k] = g
        load[g] += sku_size[k]
    src_day = sources["day"].to_numpy(np.int64)
    src_qty = sources["quantity"].to_numpy(float)
    line_group = group_of_sku[line_sku]
    src_group = np.where(src_pool >= 0, group_of_sku[pool_sku_global[src_pool]], -1)
    columns = {c: lines[c].to_numpy() for c in ("first_day", "rpd_day", "epd_day",
                                                 "quantity", "rpd_rate", "epd_rate")}

    settings = instance.settings
    pieces = []
    for g in range(n_groups):
        li = np.flatnonzero(line_group == g)
        li = li[np.argsort(line_pool[li], kind="stable")]
        si = np.flatnonzero(src_group == g)
        pools, local_pool = np.unique(line_pool[li], return_inverse=True)
        skus, pool_sku = np.unique(pool_sku_global[pools], return_inverse=True)
        keys, local_key = np.unique(line_key[li], return_inverse=True)
        if len(keys) and keys[0] == -1:  # -1 (no limit) stays -1
            local_key = local_key - 1
            keys = keys[1:]
        # One supply point per (pool, day), sorted: the stock chain's inflows.
        sp = np.searchsorted(pools, src_pool[si]).astype(np.int64)
        base = H + 2
        code, inverse = np.unique(sp * base + src_day[si], return_inverse=True)
        qty = np.bincount(inverse, weights=src_qty[si], minlength=len(code)).astype(float)
        pieces.append(Piece(
            line_id=li, pool=local_pool.astype(np.int64), key=local_key.astype(np.int64),
            first_day=columns["first_day"][li].astype(np.int64),
            rpd_day=columns["rpd_day"][li].astype(np.int64),
            epd_day=columns["epd_day"][li].astype(np.int64),
            quantity=columns["quantity"][li].astype(float),
            rpd_rate=columns["rpd_rate"][li].astype(float),
            epd_rate=columns["epd_rate"][li].astype(float),
            supply_pool=code // base, supply_day=code % base, supply_qty=qty,
            key_capacity=key_capacity[keys] if len(keys) else np.zeros(0),
            horizon=H, penalty=settings.penalty, time_limit_s=float(settings.time_limit_s),
            skus=list(sku_names[skus]), pool_sku=pool_sku.astype(np.int64),
            key_sku=np.searchsorted(skus, key_sku_global[keys]).astype(np.int64),
            objective=settings.objective, mip_gap=float(settings.mip_gap), deadline=deadline,
        ))
    return pieces


def _lookup(index: dict, first: pd.Series, second: pd.Series) -> np.ndarray:
    """index[(a, b)] for each pair of the two columns, −1 when absent (no loop per row)."""
    pairs = pd.MultiIndex.from_arrays([first.to_numpy(), second.to_numpy()])
    known = pd.MultiIndex.from_tuples(list(index), names=None) if index else None
    if known is None:
        return np.full(len(pairs), -1, np.int64)
    pos = known.get_indexer(pairs)
    values = np.fromiter(index.values(), np.int64, len(index))
    return np.where(pos >= 0, values[pos], -1).astype(np.int64)


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


def solve_piece(piece: Piece, stop: StopToken | None = None) -> PieceResult:
    """Solve a piece SKU by SKU (its LP is block diagonal by SKU) and read it back.

    Module level, because it runs in worker processes. SKUs not solved when the
    deadline passes or a stop comes are listed in ``unsolved`` (the caller serves
    them first come, first served).
    """
    parts = []
    n_left = piece.n_lines
    for s, end in blocks(piece):
        block = piece.sku_block(s, end)
        remaining = piece.deadline - time.time()
        if control.requested(stop) or remaining <= 0:
            parts.append(_not_solved(block, highs.STOPPED if control.requested(stop)
                                     else highs.TIME_LIMIT))
            continue
        # A block gets its share of the time left (by lines), at least a second.
        share = max(1.0, 4.0 * remaining * block.n_lines / max(n_left, 1))
        limit = min(remaining, piece.time_limit_s, share)
        n_left -= block.n_lines
        solve_block = solve_on_time if piece.objective == "on_time" else solve_penalty
        parts.append(solve_block(block, limit, stop))
    result = PieceResult.combine(parts)
    if stop is not None:
        stop.progress("Solving SKU groups").update(cost=result.penalty, bound=result.bound)
    return result


def blocks(piece: Piece) -> list[tuple[int, int]]:
    """SKU ranges solved as one LP or MIP: one SKU per MIP; for the LP, consecutive
    SKUs up to :data:`LP_BLOCK_LINES` lines (fewer HiGHS calls, same optimum)."""
    if piece.objective == "on_time":
        return [(s, s + 1) for s in range(piece.n_skus)]
    lines = np.bincount(piece.pool_sku[piece.pool], minlength=piece.n_skus)
    ranges_, start, size = [], 0, 0
    for s, n in enumerate(lines):
        if size and size + n > LP_BLOCK_LINES:
            ranges_.append((start, s))
            start, size = s, 0
        size += n
    ranges_.append((start, piece.n_skus))
    return ranges_


def _options(piece: Piece, limit: float, isolate: bool = False, **kw) -> highs.SolveOptions:
    """One thread, in this process unless ``isolate``; at least 50 ms."""
    return highs.SolveOptions(time_limit=max(limit, 0.05), threads=1, isolate=isolate, **kw)


def _lp_options(piece: Piece, limit: float) -> highs.SolveOptions:
    # HiGHS's presolve finds nothing to remove in these flow LPs and triples their time
    # (measured on 200 SKUs: 9.9 s with it, 2.8 s without).
    return _options(piece, limit, presolve=False)


def solve_penalty(piece: Piece, limit: float, stop: StopToken | None = None) -> PieceResult:
    """The ``penalty`` objective: the min-cost-flow LP (two passes when needed)."""
    t0 = time.perf_counter()
    lp, layout = build(piece)
    build_seconds = time.perf_counter() - t0
    res = highs.solve(lp, _lp_options(piece, limit), stop=stop)
    solve_seconds = res.solve_seconds
    x = res.x if res.status == highs.OPTIMAL else None  # an unfinished LP is no plan
    if x is not None and np.any(piece.rpd_rate == 0):
        t1 = time.perf_counter()
        second_lp = tie_break(lp, layout, piece, float(res.objective))
        build_seconds += time.perf_counter() - t1
        second = highs.solve(second_lp, _lp_options(piece, piece.deadline - time.time()),
                             stop=stop)
        solve_seconds += second.solve_seconds
        if second.status == highs.OPTIMAL:
            x = second.x
    if x is None:
        return _not_solved(piece, res.status, res.message, lp.size(), build_seconds,
                           solve_seconds)
    out = _read_back(piece, layout, x, res.status, build_seconds, solve_seconds, lp.size())
    out.bound = out.penalty
    return out


def solve_on_time(piece: Piece, limit: float, stop: StopToken | None = None) -> PieceResult:
    """The ``on_time`` objective: the most lines on time, then the least penalty.

    Pass 1 maximises Σ on_time[o]; pass 2 fixes that count (Σ on_time[o] ≥ best) and
    minimises the penalty. (Pass 1's plan is not given as a start: with it, HiGHS
    1.16 returned on one SKU a plan costing 227,760 reported as 3,940.) Each pass is
    a small MIP; a big one runs in a child process (hard deadline). When pass 1 does
    not prove its count, the status says ``time_limit`` and the count's bound is kept.

    First the penalty LP: when its plan has every line that can be on time on time,
    no plan has more, and none with as many has a lower penalty — it is the answer
    and the MIPs are skipped (most SKUs).
    """
    easy = solve_penalty(dataclasses.replace(piece, objective="penalty"), limit, stop)
    if easy.status == highs.OPTIMAL:
        easy.on_time = _count_on_time(piece, easy)
        easy.on_time_bound = easy.on_time
        if easy.on_time == int(np.count_nonzero(piece.can_be_on_time())):
            return easy
    t0 = time.perf_counter()
    lp, layout = build(piece)
    build_seconds = time.perf_counter() - t0
    started = time.time()
    isolate = lp.n_cols > MIP_ISOLATE_COLS
    first = highs.solve(on_time_count_lp(lp, layout),
                        _options(piece, limit / 2, isolate, mip_gap=0.0), stop=stop)
    solve_seconds = first.solve_seconds + easy.solve_seconds
    build_seconds += easy.build_seconds
    if first.x is None:
        return _not_solved(piece, first.status, first.message, lp.size(), build_seconds,
                           solve_seconds)
    count = int(round(-first.objective))
    count_bound = count if first.status == highs.OPTIMAL else int(np.floor(
        -(first.bound if first.bound is not None else -piece.n_lines) + 1e-6))
    second = highs.solve(with_on_time_count(lp, layout, count),
                         _options(piece, limit - (time.time() - started), isolate,
                                  mip_gap=piece.mip_gap), stop=stop)
    solve_seconds += second.solve_seconds
    x = second.x if second.x is not None else first.x
    status = worst([first.status, second.status])
    if x is not None and second.status == highs.OPTIMAL and np.any(piece.rpd_rate == 0):
        # Lines that cost nothing to delay: with the on-time lines fixed, a tie-break LP.
        fixed = lp.lower.copy()
        fixed[layout.on_time] = np.round(x[layout.on_time])
        best = float(np.dot(layout.true_cost, x))
        relaxed = lp.replace(lower=fixed, integrality=np.zeros(lp.n_cols, np.int32))
        third = highs.solve(tie_break(relaxed, layout, piece, best),
                            _lp_options(piece, piece.deadline - time.time()), stop=stop)
        solve_seconds += third.solve_seconds
        if third.status == highs.OPTIMAL:
            x = third.x
    out = _read_back(piece, layout, x, status, build_seconds, solve_seconds, lp.size())
    bound = second.bound if second.x is not None else None
    out.bound = out.penalty if status == highs.OPTIMAL else min(
        out.penalty, bound if bound is not None and np.isfinite(bound) else 0.0)
    out.on_time = _count_on_time(piece, out)
    out.on_time_bound = max(count_bound, out.on_time)
    if status != highs.OPTIMAL:
        out.message = (f"SKU {piece.skus[0]}: {status}, {out.on_time} lines on time "
                       f"(at most {out.on_time_bound})")
    return out


def _count_on_time(piece: Piece, result: PieceResult) -> int:
    """Lines of ``piece`` whose units in ``result`` are all delivered by their EPD."""
    local = _local(piece, result.line_id)
    by_epd = np.bincount(local, weights=result.quantity * (result.day <= piece.epd_day[local]),
                         minlength=piece.n_lines)
    return int(np.count_nonzero(
        by_epd >= piece.quantity - ROUND_TOL * np.maximum(1.0, piece.quantity)))


def _local(piece: Piece, line_id: np.ndarray) -> np.ndarray:
    """Local line numbers of instance lines ``line_id`` (lines of one SKU block)."""
    order = np.argsort(piece.line_id, kind="stable")
    return order[np.searchsorted(piece.line_id[order], line_id)]


def _read_back(piece: Piece, layout: Layout, x: np.ndarray, status: str, build_seconds: float,
               solve_seconds: float, size: dict[str, int]) -> PieceResult:
    qty = clean(x[layout.deliver])
    used = qty > 0
    line, day, qty = layout.arc_line[used], layout.arc_day[used], qty[used]
    delivered = np.bincount(line, weights=qty, minlength=piece.n_lines)
    penalty = float(
        np.dot(qty, piece.cost(line, day))
        + np.dot(np.maximum(piece.quantity - delivered, 0),
                 piece.cost(np.arange(piece.n_lines), piece.horizon + 1)))
    return PieceResult(status, piece.line_id[line], day, qty, penalty, build_seconds,
                       solve_seconds, size)


def _not_solved(piece: Piece, status: str, message: str = "", size=None,
                build_seconds: float = 0.0, solve_seconds: float = 0.0) -> PieceResult:
    """A block without a plan from the solver: its lines go first come, first served."""
    empty = np.zeros(0)
    return PieceResult(status, empty.astype(np.int64), empty.astype(np.int64), empty, 0.0,
                       build_seconds, solve_seconds, size or {}, message,
                       unsolved=piece.line_id.copy())


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


def solve(instance: Instance, progress: Progress = NULL,
          stop: StopToken | None = None) -> Plan:
    """Solve every piece; in parallel processes when there are several workers.

    Every piece must return by ``time_limit_s`` after the start; SKUs it did not
    finish (time, stop) and pieces whose worker failed twice are listed in
    ``Plan.fallback_lines`` for the first-come-first-served plan.
    """
    t0 = time.perf_counter()
    deadline = time.time() + float(instance.settings.time_limit_s)
    workers = workers_for(instance)
    groups = SEQUENTIAL_GROUPS if workers == 1 else 4 * workers
    pieces = make_pieces(instance, groups, deadline)
    results = run_pieces(solve_piece, pieces, workers=workers, progress=progress,
                         label="Solving SKU groups", stop=stop)
    failed = []
    for i, r in enumerate(results):
        if r is NOT_RUN:
            results[i] = _not_solved(pieces[i], highs.STOPPED if control.requested(stop)
                                     else highs.TIME_LIMIT)
        elif isinstance(r, PieceFailed):
            # A worker died (killed, out of memory): once more here, then give up on it.
            try:
                results[i] = solve_piece(pieces[i], stop=stop)
            except Exception as exc:  # noqa: BLE001 - any failure: FCFS for its SKUs
                failed.append(f"SKUs {', '.join(pieces[i].skus[:5])}"
                              f"{' …' if len(pieces[i].skus) > 5 else ''}: {r.message}; "
                              f"again in the main process: {exc}")
                results[i] = _not_solved(pieces[i], highs.ERROR)
    total = PieceResult.combine(results)
    status = total.status
    if control.requested(stop) and status != highs.OPTIMAL:
        status = highs.STOPPED
    deliveries = pd.DataFrame({
        "line": total.line_id, "day": total.day, "quantity": total.quantity,
    }).sort_values(["line", "day"], kind="stable").reset_index(drop=True)
    return Plan(status=status, deliveries=deliveries, penalty=total.penalty,
                build_seconds=total.build_seconds, solve_seconds=total.solve_seconds,
                wall_seconds=time.perf_counter() - t0, size=total.size, pieces=len(pieces),
                workers=workers, messages=[r.message for r in results if r.message],
                bound=total.bound, on_time=total.on_time, on_time_bound=total.on_time_bound,
                fallback_lines=np.sort(total.unsolved), failed_pieces=failed)


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
    pool_of = pool_index(instance)
    s_index, s_pool, s_qty = sources_in_use_order(instance, pool_of)
    d = deliveries
    d_pool = _lookup(pool_of, lines["supply_center"].iloc[d["line"].to_numpy()],
                     lines["sku"].iloc[d["line"].to_numpy()])
    d_order = np.lexsort((d["line"].to_numpy(), d["day"].to_numpy(), d_pool))
    owner, idx, amount = fifo_match(d_pool[d_order], d["quantity"].to_numpy(float)[d_order],
                                    s_pool, s_qty, len(pool_of))
    out = pd.DataFrame({
        "line": d["line"].to_numpy()[d_order][owner],
        "day": d["day"].to_numpy()[d_order][owner],
        "source": s_index[idx],
        "quantity": amount,
    })
    return out.reset_index(drop=True)


def sources_in_use_order(instance: Instance, pool_of: dict[tuple[str, str], int]
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usable sources of the planned pools in the order they are used: by pool, then
    first usable day, inventory before POs, then name.

    Returns the sources' index in ``instance.sources``, their pool and quantity.
    """
    src = instance.usable_sources
    src_pool = _lookup(pool_of, src["supply_center"], src["sku"])
    is_po = (src["source_type"] == "po").to_numpy()
    order = np.lexsort((src["source"].to_numpy(str), is_po, src["day"].to_numpy(), src_pool))
    order = order[src_pool[order] >= 0]
    return (src.index.to_numpy()[order], src_pool[order],
            src["quantity"].to_numpy(float)[order])


def fifo_match(d_pool: np.ndarray, d_qty: np.ndarray, s_pool: np.ndarray, s_qty: np.ndarray,
               n_pools: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match demands to sources pool by pool, first come, first used.

    Both lists are sorted by pool and, within a pool, in the order they take or give
    units. Demand k of a pool takes the units [D_{k−1}, D_k) of the pool's supply
    sequence (D: cumulative demand), i.e. the sources whose units
    [S_{j−1}, S_j) overlap them.

    Returns
    -------
    owner, idx, amount : numpy.ndarray
        Demand index, source index and units for every overlap (amount > 0).
    """
    s_end = np.cumsum(s_qty)
    s_start = s_end - s_qty
    pool_base = np.zeros(n_pools + 1)
    np.add.at(pool_base, s_pool + 1, s_qty)
    pool_base = np.cumsum(pool_base)
    d_end = np.cumsum(d_qty)
    pool_first = np.searchsorted(d_pool, d_pool, "left")
    d_end = d_end - np.r_[0.0, d_end][pool_first] + pool_base[d_pool]
    d_start = d_end - d_qty
    # Sources overlapping [d_start, d_end): from the first ending after d_start to the
    # last starting before d_end.
    lo = np.searchsorted(s_end, d_start, "right")
    hi = np.searchsorted(s_start, d_end, "left")
    owner, idx = ranges(lo, np.maximum(hi - lo, 0))
    amount = np.minimum(d_end[owner], s_end[idx]) - np.maximum(d_start[owner], s_start[idx])
    ok = (amount > ROUND_TOL) & (s_pool[idx] == d_pool[owner])
    amount = clean(amount[ok])
    keep = amount > 0
    return owner[ok][keep], idx[ok][keep], amount[keep]
