"""Compact min-cost-flow model of delivery allocation (DESIGN.md §3.3; seed 000 §3.2–3.3).

The seed's LP gives every (PO j, order o, day t) its own variable y[j,o,t] and runs out
of memory at Anker's size. The cost of a unit depends only on the line it serves and
the day it arrives there, so the same optimum comes from a much smaller network per
supply center and SKU (a *pool*; the seed's "for all r" on the inventory and PO rows
is a typo, its own code has one pool per SKU):

- supply enters a stock chain of the pool on its first usable day (inventory on day 0,
  each PO on its arrival day);
- stock left at the end of an event day is carried to the next event day for free;
- ``deliver[o, t]`` units leave the pool to line o on day t ≥ first_day_o at cost
  c_o(t); what is never delivered costs c_o(H + 1);
- deliveries of one SKU into one region on one day stay within the region capacity.

Only days on which an optimal plan may deliver are kept (the *event days*): for a line
o without a capacity limit, its first day and the later supply days of its pool; for a
line in a capacitated (sku, region), the days of the region's delivery runs. Shifting a
delivery one day earlier never costs more, and it is possible unless the day is a
supply day, the line's first day, or the day before is full; so every delivery of the
region lies within floor(D_r / C_r) days after such a start day (D_r: units ordered for
the region, C_r: daily capacity). Keeping those days loses nothing; EPDs need no event
days of their own. The model is built with numpy arrays for a group of SKUs at once
(block diagonal) and groups are solved in parallel processes when the instance is big.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import highs
from ..parallel import default_workers, run_pieces
from ..progress import NULL, Progress
from .data import Instance

#: Estimated delivery arcs above which SKU groups are solved in parallel processes
#: (below it, starting the processes costs more than it saves).
PARALLEL_MIN_ARCS = 150_000
#: SKU groups when solving in this process (keeps each HiGHS call small and the
#: progress bar moving).
SEQUENTIAL_GROUPS = 8
#: Quantities closer than this to a whole number are rounded (HiGHS returns 119.9999999).
ROUND_TOL = 1e-6


def delay_cost(day, rpd_day, epd_day, rpd_rate, epd_rate, mode: str) -> np.ndarray:
    """Penalty c_o(t) of one unit of line o delivered on day t (DESIGN.md §3.3).

    ``linear``::

        c_o(t) = u_o·(t − RPD_o)⁺ + v_o·(t − EPD_o)⁺

    ``cumulative``::

        c_o(t) = u_o·d(d+1)/2 + v_o·e(e+1)/2,   d = (t − RPD_o)⁺,  e = (t − EPD_o)⁺

    u_o and v_o are the seed's per-order delay coefficients (seed 000 §3.2.1, Table 2).
    ``cumulative`` is the seed's objective Σ_t (t − RPD_o)·z_{o,t} on a daily grid as
    DESIGN.md reads it: a unit counts as missing on every day from its RPD to the day
    before it arrives, and the k-th such day costs k. (Read with z at the *end* of each
    day, the seed's weights would give d(d−1)/2; DESIGN.md charges the RPD day too.)

    Parameters
    ----------
    day : int or array
        Delivery day t (days after the plan date; H + 1 = never delivered).
    rpd_day, epd_day : int or array
        RPD_o and EPD_o as day numbers (negative for overdue lines).
    rpd_rate, epd_rate : float or array
        u_o = rpd_penalty × rpd_weight and v_o = epd_penalty × epd_weight.
    mode : {"linear", "cumulative"}

    Returns
    -------
    numpy.ndarray
        c_o(t), broadcast over the arguments.
    """
    late_rpd = np.maximum(np.asarray(day) - rpd_day, 0).astype(float)
    late_epd = np.maximum(np.asarray(day) - epd_day, 0).astype(float)
    if mode == "cumulative":
        late_rpd = late_rpd * (late_rpd + 1.0) / 2.0
        late_epd = late_epd * (late_epd + 1.0) / 2.0
    return rpd_rate * late_rpd + epd_rate * late_epd


# ---------------------------------------------------------------------------
# Pieces: groups of SKUs, as plain arrays that pickle cheaply


@dataclass
class Piece:
    """A group of SKUs solved as one (block-diagonal) LP.

    Lines, pools (supply center × SKU) and capacity keys (SKU × region) are numbered
    locally; ``line_id`` maps local lines back to ``Instance.lines``.
    """

    line_id: np.ndarray  # index into Instance.lines
    pool: np.ndarray  # pool of each line
    key: np.ndarray  # capacity key of each line, -1 = no limit
    first_day: np.ndarray  # max(RPD_o, 0): first day line o may receive units
    rpd_day: np.ndarray
    epd_day: np.ndarray
    quantity: np.ndarray  # d_o
    rpd_rate: np.ndarray  # u_o
    epd_rate: np.ndarray  # v_o
    supply_pool: np.ndarray  # supply points, sorted by (pool, day), one per (pool, day)
    supply_day: np.ndarray
    supply_qty: np.ndarray
    key_capacity: np.ndarray  # C_{r,p} per capacity key, units per day
    horizon: int  # H
    mode: str
    time_limit: float
    skus: list[str] = field(default_factory=list)

    @property
    def n_lines(self) -> int:
        """Number of order lines in the piece."""
        return len(self.quantity)

    @property
    def day_base(self) -> int:
        """Day-code base: codes ``id * day_base + day`` sort by id, then day."""
        return self.horizon + 2


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


def usable_sources(instance: Instance) -> pd.DataFrame:
    """Sources that can be used within the horizon (first day ≤ H, quantity > 0)."""
    s = instance.sources
    return s[(s["day"] <= instance.horizon_days) & (s["quantity"] > 0)]


def make_pieces(instance: Instance, groups: int) -> list[Piece]:
    """Split the instance into at most ``groups`` SKU groups of similar size."""
    lines, H = instance.lines, instance.horizon_days
    if lines.empty:
        return []
    sources = usable_sources(instance)
    pool_of = {p: i for i, p in enumerate(
        sorted(set(zip(lines["supply_center"], lines["sku"]))))}
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
            horizon=H, mode=instance.penalty, time_limit=instance.time_limit,
            skus=sorted({s for s, gg in group_of.items() if gg == g}),
        ))
    return pieces


# ---------------------------------------------------------------------------
# Event days


def _ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, index): for each group g, the indices starts[g] … starts[g]+counts[g]-1."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    if total == 0:
        return owner, np.zeros(0, dtype=np.int64)
    first = np.cumsum(counts) - counts
    return owner, np.repeat(np.asarray(starts, np.int64) - first, counts) + np.arange(total)


def capacity_runs(piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """Days on which a capacitated (sku, region) r may receive units.

    Start days S_r are the first days of the region's lines and the supply days of the
    pools they draw on. A run of deliveries starting at s ∈ S_r has full days s, s+1, …
    (each C_r units) and ends at the latest on s + floor(D_r / C_r), D_r being the
    units ordered for the region. The days kept are::

        G_r = ⋃_{s ∈ S_r} [s, min(s + floor(D_r / C_r), H)]

    A capacity of 0 keeps no day (its lines cannot be served).

    Returns
    -------
    key, day : numpy.ndarray
        The (capacity key, day) pairs of every G_r, sorted by key, then day.
    """
    H, base = piece.horizon, piece.day_base
    has_cap = piece.key >= 0
    open_key = piece.key_capacity > 0
    lines = np.flatnonzero(has_cap & (piece.first_day <= H))
    lines = lines[open_key[piece.key[lines]]]
    if len(lines) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = piece.key[lines]
    # Supply days of every (key, pool) pair the capacitated lines use.
    pairs = np.unique(key * (piece.pool.max() + 1) + piece.pool[lines])
    pair_key, pair_pool = np.divmod(pairs, piece.pool.max() + 1)
    pool_start = np.searchsorted(piece.supply_pool, pair_pool, side="left")
    pool_end = np.searchsorted(piece.supply_pool, pair_pool, side="right")
    owner, idx = _ranges(pool_start, pool_end - pool_start)
    start_key = np.concatenate([key, pair_key[owner]])
    start_day = np.concatenate([piece.first_day[lines], piece.supply_day[idx]])
    code = np.unique(start_key * base + start_day)
    k, s = np.divmod(code, base)
    ordered = np.bincount(key, weights=piece.quantity[lines], minlength=len(piece.key_capacity))
    full_days = np.floor(ordered / np.where(open_key, piece.key_capacity, 1.0) + ROUND_TOL)
    end = np.minimum(s + np.minimum(full_days[k], H + 1).astype(np.int64), H)
    # Runs of the same key that overlap are merged: stop just before the next start.
    same_next = np.r_[k[1:] == k[:-1], False]
    end = np.where(same_next, np.minimum(end, np.r_[s[1:], 0] - 1), end)
    owner, days = _ranges(s, end - s + 1)
    return k[owner], days


def delivery_arcs(piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """Event days on which each line may receive units.

    Without a capacity limit: the line's first day and every later supply day of its
    pool up to H. With a limit: the days of its region's runs (:func:`capacity_runs`)
    from the line's first day on.

    Returns
    -------
    line, day : numpy.ndarray
        One (local line, day) pair per ``deliver`` variable.
    """
    H, base = piece.horizon, piece.day_base
    free = np.flatnonzero((piece.key < 0) & (piece.first_day <= H))
    supply_code = piece.supply_pool * base + piece.supply_day
    lo = np.searchsorted(supply_code, piece.pool[free] * base + piece.first_day[free], "right")
    hi = np.searchsorted(supply_code, piece.pool[free] * base + base - 1, "right")
    owner, idx = _ranges(lo, hi - lo)
    parts_line = [free, free[owner]]
    parts_day = [piece.first_day[free], piece.supply_day[idx]]

    run_key, run_day = capacity_runs(piece)
    if len(run_key):
        capped = np.flatnonzero((piece.key >= 0) & (piece.first_day <= H))
        run_code = run_key * base + run_day
        lo = np.searchsorted(run_code, piece.key[capped] * base + piece.first_day[capped], "left")
        hi = np.searchsorted(run_code, piece.key[capped] * base + H, "right")
        owner, idx = _ranges(lo, hi - lo)
        parts_line.append(capped[owner])
        parts_day.append(run_day[idx])
    return np.concatenate(parts_line), np.concatenate(parts_day)


# ---------------------------------------------------------------------------
# The LP


@dataclass
class Layout:
    """Where each family of the LP lives, to read the solution back."""

    arc_line: np.ndarray
    arc_day: np.ndarray
    deliver: np.ndarray  # column of each arc
    unmet: np.ndarray  # column of each line
    true_cost: np.ndarray  # c_o(t) per column (for the tie-break pass)


def build_model(piece: Piece) -> tuple[highs.LinearProgram, Layout]:
    """Min-cost-flow LP of a piece (DESIGN.md §3.3; replaces seed 000 §3.2.1).

    Variables::

        deliver[o, t] ≥ 0   units to line o on event day t    # x_{o,t} + Σ_j y_{j,o,t}
        unmet[o] ≥ 0        units of o never delivered         # z_{o,H}
        stock[n] ≥ 0        units of a pool left after its event day n

    Constraints::

        pool_balance[p, n]        stock[n−1] + supply[p, n] = Σ_o deliver[o, n] + stock[n]
        line_demand[o]            Σ_t deliver[o, t] + unmet[o] = d_o
        region_capacity[r, p, t]  Σ_{o ∈ O_r, sku p} deliver[o, t] ≤ C_{r,p}

    Objective::

        min Σ c_o(t)·deliver[o, t] + Σ c_o(H + 1)·unmet[o]

    The pool balance stands for the seed's inventory and PO capacity rows and its PO
    arrival rule: stock exists only once it has arrived. Which PO a unit came from is
    decided afterwards (:func:`attribute_sources`).

    Returns
    -------
    lp : highs.LinearProgram
    layout : Layout
        Columns of each family, to read the solution back.
    """
    H, base = piece.horizon, piece.day_base
    arc_line, arc_day = delivery_arcs(piece)
    n_lines, n_supply = piece.n_lines, len(piece.supply_qty)
    arc_pool = piece.pool[arc_line]
    node_code, node_of = np.unique(
        np.concatenate([piece.supply_pool * base + piece.supply_day, arc_pool * base + arc_day]),
        return_inverse=True)
    supply_node, arc_node = node_of[:n_supply], node_of[n_supply:]
    n_nodes = len(node_code)
    supply = np.bincount(supply_node, weights=piece.supply_qty, minlength=n_nodes)

    mb = highs.ModelBuilder()
    arc_cost = delay_cost(arc_day, piece.rpd_day[arc_line], piece.epd_day[arc_line],
                          piece.rpd_rate[arc_line], piece.epd_rate[arc_line], piece.mode)
    never_cost = delay_cost(H + 1, piece.rpd_day, piece.epd_day, piece.rpd_rate,
                            piece.epd_rate, piece.mode)
    deliver = mb.add_vars("deliver", len(arc_line), cost=arc_cost)  # x_{o,t} + Σ_j y_{j,o,t}
    unmet = mb.add_vars("unmet", n_lines, cost=never_cost)  # z_{o,H}
    stock = mb.add_vars("stock", n_nodes)

    # pool_balance: deliver + stock[n] − stock[n−1] = supply[n] (n−1 in the same pool).
    node_pool = node_code // base
    has_prev = np.flatnonzero(np.r_[False, node_pool[1:] == node_pool[:-1]])
    mb.add_rows("pool_balance", n_nodes,
                rows=np.concatenate([arc_node, np.arange(n_nodes), has_prev]),
                cols=np.concatenate([deliver, stock, stock[has_prev - 1]]),
                vals=np.concatenate([np.ones(len(deliver) + n_nodes), -np.ones(len(has_prev))]),
                lower=supply, upper=supply)
    # line_demand: every unit is delivered on some event day or counted as never delivered.
    mb.add_rows("line_demand", n_lines,
                rows=np.concatenate([arc_line, np.arange(n_lines)]),
                cols=np.concatenate([deliver, unmet]), vals=1.0,
                lower=piece.quantity, upper=piece.quantity)
    # region_capacity: one row per (sku, region, day) that has capacitated arcs.
    capped = np.flatnonzero(piece.key[arc_line] >= 0)
    if len(capped):
        cap_key = piece.key[arc_line[capped]]
        row_code, row_of = np.unique(cap_key * base + arc_day[capped], return_inverse=True)
        mb.add_rows("region_capacity", len(row_code), rows=row_of, cols=deliver[capped],
                    vals=1.0, upper=piece.key_capacity[row_code // base])
    lp = mb.build()
    true_cost = lp.cost.copy()
    return lp, Layout(arc_line, arc_day, deliver, unmet, true_cost)


def _tie_break(lp: highs.LinearProgram, layout: Layout, piece: Piece,
               best: float) -> highs.LinearProgram:
    """Second pass when some lines cost nothing to delay: among the cheapest plans,
    deliver as much and as early as possible.

    Adds the row Σ c·x ≤ best (+ a rounding allowance) and minimises
    Σ (t + 1)·deliver[o, t] + (H + 2)·unmet[o].
    """
    cost = np.zeros(lp.n_cols)
    cost[layout.deliver] = layout.arc_day + 1.0
    cost[layout.unmet] = piece.horizon + 2.0
    keep = np.flatnonzero(layout.true_cost)
    n = lp.nnz
    return highs.LinearProgram(
        cost=cost, lower=lp.lower, upper=lp.upper, integrality=lp.integrality,
        row_lower=np.r_[lp.row_lower, -highs.INF],
        row_upper=np.r_[lp.row_upper, best + 1e-9 * max(1.0, abs(best)) + 1e-7],
        a_start=np.r_[lp.a_start, n].astype(np.int32),
        a_index=np.r_[lp.a_index, keep].astype(np.int32),
        a_value=np.r_[lp.a_value, layout.true_cost[keep]])


def solve_piece(piece: Piece) -> PieceResult:
    """Build, solve (two passes when needed) and read back one piece.

    Module level, because it runs in worker processes.
    """
    t0 = time.perf_counter()
    lp, layout = build_model(piece)
    build = time.perf_counter() - t0
    options = highs.SolveOptions(time_limit=piece.time_limit, threads=1, isolate=False)
    res = highs.solve(lp, options)
    solve_seconds = res.solve_seconds
    x = res.x
    if res.status == highs.OPTIMAL and np.any(piece.rpd_rate == 0):
        t1 = time.perf_counter()
        second_lp = _tie_break(lp, layout, piece, float(res.objective))
        build += time.perf_counter() - t1
        second = highs.solve(second_lp, options)
        solve_seconds += second.solve_seconds
        if second.status == highs.OPTIMAL:
            x = second.x
    if x is None:
        empty = np.zeros(0)
        return PieceResult(res.status, empty.astype(np.int64), empty.astype(np.int64), empty,
                           float("nan"), build, solve_seconds, lp.size(), res.message)
    qty = clean(x[layout.deliver])
    used = qty > 0
    line, day, qty = layout.arc_line[used], layout.arc_day[used], qty[used]
    delivered = np.bincount(line, weights=qty, minlength=piece.n_lines)
    penalty = float(
        np.dot(qty, delay_cost(day, piece.rpd_day[line], piece.epd_day[line],
                               piece.rpd_rate[line], piece.epd_rate[line], piece.mode))
        + np.dot(np.maximum(piece.quantity - delivered, 0),
                 delay_cost(piece.horizon + 1, piece.rpd_day, piece.epd_day, piece.rpd_rate,
                            piece.epd_rate, piece.mode)))
    return PieceResult(res.status, piece.line_id[line], day, qty, penalty, build,
                       solve_seconds, lp.size(), res.message)


def clean(q: np.ndarray) -> np.ndarray:
    """Solver values as quantities: near-whole numbers rounded, dust removed."""
    q = np.asarray(q, float)
    whole = np.round(q)
    q = np.where(np.abs(q - whole) < ROUND_TOL, whole, q)
    return np.where(q > ROUND_TOL, q, 0.0)


# ---------------------------------------------------------------------------
# Whole instance


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


def estimated_arcs(instance: Instance) -> int:
    """Rough size of the LP: lines × (1 + supply points per pool)."""
    n_lines = len(instance.lines)
    pools = max(1, len(set(zip(instance.lines["supply_center"], instance.lines["sku"]))))
    return int(n_lines * (1 + len(usable_sources(instance)) / pools))


def solve(instance: Instance, progress: Progress = NULL) -> Plan:
    """Solve every SKU group; in parallel processes when the instance is big."""
    t0 = time.perf_counter()
    workers = instance.workers
    if workers is None:
        workers = default_workers() if estimated_arcs(instance) > PARALLEL_MIN_ARCS else 1
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
    src = usable_sources(instance)
    pool_names = sorted(set(zip(lines["supply_center"], lines["sku"])))
    pool_of = {p: i for i, p in enumerate(pool_names)}
    src_pool = np.array([pool_of.get(p, -1) for p in zip(src["supply_center"], src["sku"])],
                        dtype=np.int64)
    is_po = (src["source_type"] == "po").to_numpy()
    order = np.lexsort((src["source"].to_numpy(str), is_po, src["day"].to_numpy(), src_pool))
    order = order[src_pool[order] >= 0]
    s_index = src.index.to_numpy()[order]
    s_pool = src_pool[order]
    s_end = np.cumsum(src["quantity"].to_numpy(float)[order])
    s_start = s_end - src["quantity"].to_numpy(float)[order]
    pool_base = np.zeros(len(pool_names) + 1)
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
    owner, idx = _ranges(lo, np.maximum(hi - lo, 0))
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
