"""The delivery-allocation LP of one piece: a compact min-cost flow (build only).

A *piece* is a group of SKUs solved as one LP; its pools (supply center × SKU) are
independent apart from the region capacity, which couples the pools of one SKU, so the
LP of a piece is block diagonal by SKU. This module turns a :class:`Piece` into a
``highs.LinearProgram``, one ``define_*`` function per family of the formulation
(docs/delivery_allocation.md, "Formulation as built"):

- :func:`define_cost`: c_o(t) of each delivery and of each unit never delivered;
- :func:`define_variables`: deliver[o, t], unmet[o], stock[n];
- :func:`define_stock_chain`: supply enters a pool's stock on its first usable day and
  is carried from one event day to the next;
- :func:`define_deliveries`: every unit of a line is delivered on some day or unmet;
- :func:`define_region_capacity`: units of one SKU into one region per day;
- :func:`define_on_time` (objective ``on_time`` only): a binary per line that can be
  on time, on only when the whole line is delivered by its EPD.

Only the *event days* on which an optimal plan may deliver get variables
(:func:`capacity_runs`, :func:`delivery_arcs`; docs/delivery_allocation.md,
"Event days"). How pieces are made and solved is in :mod:`.solve`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import highs

#: Quantities closer than this to a whole number are rounded (HiGHS returns 119.9999999).
ROUND_TOL = 1e-6


def delay_cost(day, rpd_day, epd_day, rpd_rate, epd_rate, mode: str) -> np.ndarray:
    """Penalty c_o(t) of one unit of line o delivered on day t.

    ``linear``::

        c_o(t) = u_o·(t − RPD_o)⁺ + v_o·(t − EPD_o)⁺

    ``cumulative``::

        c_o(t) = u_o·d(d+1)/2 + v_o·e(e+1)/2,   d = (t − RPD_o)⁺,  e = (t − EPD_o)⁺

    ``cumulative`` is the report's objective Σ_t (t − RPD_o)·z_{o,t} on a daily grid: a
    unit counts as missing on every day from its RPD to the day before it arrives, and
    the k-th such day costs k (docs/delivery_allocation.md, "Penalty").

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


@dataclass
class Piece:
    """A group of SKUs solved as one (block-diagonal) LP, as plain arrays.

    Lines, pools (supply center × SKU) and capacity keys (SKU × region) are numbered
    locally; ``line_id`` maps local lines back to ``Instance.lines``. Plain arrays
    pickle cheaply to worker processes.
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
    penalty: str  # the penalty setting: linear | cumulative
    time_limit_s: float
    skus: list[str] = field(default_factory=list)
    pool_sku: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # SKU of a pool
    key_sku: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # SKU of a key
    objective: str = "penalty"  # the objective setting: penalty | on_time
    mip_gap: float = 0.0  # gap asked of the on_time objective's second (penalty) pass
    deadline: float = float("inf")  # time.time() by which the piece must have returned

    @property
    def n_lines(self) -> int:
        """Number of order lines in the piece."""
        return len(self.quantity)

    @property
    def day_base(self) -> int:
        """Day-code base: codes ``id * day_base + day`` sort by id, then day."""
        return self.horizon + 2

    @property
    def n_skus(self) -> int:
        """Number of SKUs in the piece."""
        return len(self.skus)

    def sku_block(self, s: int, end: int | None = None) -> Piece:
        """The piece made of SKUs ``s`` … ``end − 1`` (default: ``s`` alone).

        Its LP is a diagonal block of this piece's. Lines are sorted by pool and pools
        by SKU (:func:`.solve.make_pieces`), so a SKU's lines, pools, supply points and
        capacity keys are contiguous slices.
        """
        end = s + 1 if end is None else end
        p0, p1 = np.searchsorted(self.pool_sku, [s, end])
        l0, l1 = np.searchsorted(self.pool, [p0, p1])
        s0, s1 = np.searchsorted(self.supply_pool, [p0, p1])
        k0, k1 = np.searchsorted(self.key_sku, [s, end])
        key = self.key[l0:l1]
        return Piece(
            line_id=self.line_id[l0:l1], pool=self.pool[l0:l1] - p0,
            key=np.where(key >= 0, key - k0, -1), first_day=self.first_day[l0:l1],
            rpd_day=self.rpd_day[l0:l1], epd_day=self.epd_day[l0:l1],
            quantity=self.quantity[l0:l1], rpd_rate=self.rpd_rate[l0:l1],
            epd_rate=self.epd_rate[l0:l1], supply_pool=self.supply_pool[s0:s1] - p0,
            supply_day=self.supply_day[s0:s1], supply_qty=self.supply_qty[s0:s1],
            key_capacity=self.key_capacity[k0:k1], horizon=self.horizon,
            penalty=self.penalty, time_limit_s=self.time_limit_s, skus=self.skus[s:end],
            pool_sku=self.pool_sku[p0:p1] - s, key_sku=self.key_sku[k0:k1] - s,
            objective=self.objective, mip_gap=self.mip_gap, deadline=self.deadline)

    def can_be_on_time(self) -> np.ndarray:
        """Lines that can be complete by their EPD: first day ≤ EPD_o and ≤ H."""
        return (self.first_day <= self.epd_day) & (self.first_day <= self.horizon)

    def cost(self, line: np.ndarray, day) -> np.ndarray:
        """c_o(t) of local lines ``line`` on days ``day``."""
        return delay_cost(day, self.rpd_day[line], self.epd_day[line], self.rpd_rate[line],
                          self.epd_rate[line], self.penalty)


# ---------------------------------------------------------------------------
# Event days


def ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    owner, idx = ranges(pool_start, pool_end - pool_start)
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
    owner, days = ranges(s, end - s + 1)
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
    owner, idx = ranges(lo, hi - lo)
    parts_line = [free, free[owner]]
    parts_day = [piece.first_day[free], piece.supply_day[idx]]

    run_key, run_day = capacity_runs(piece)
    if len(run_key):
        capped = np.flatnonzero((piece.key >= 0) & (piece.first_day <= H))
        run_code = run_key * base + run_day
        lo = np.searchsorted(run_code, piece.key[capped] * base + piece.first_day[capped], "left")
        hi = np.searchsorted(run_code, piece.key[capped] * base + H, "right")
        owner, idx = ranges(lo, hi - lo)
        parts_line.append(capped[owner])
        parts_day.append(run_day[idx])
    return np.concatenate(parts_line), np.concatenate(parts_day)


@dataclass
class Network:
    """The flow network of a piece: delivery arcs and the stock nodes of each pool.

    A node n is one (pool, event day); nodes are sorted by pool, then day, so node
    n − 1 is the previous event day of the same pool when ``node_pool`` agrees.
    """

    arc_line: np.ndarray  # line o of each deliver[o, t]
    arc_day: np.ndarray  # day t of each deliver[o, t]
    arc_node: np.ndarray  # stock node the arc draws on
    node_pool: np.ndarray  # pool of each node
    supply: np.ndarray  # units entering each node (inventory, POs arriving that day)

    @property
    def n_nodes(self) -> int:
        """Number of (pool, event day) nodes."""
        return len(self.node_pool)


def define_network(piece: Piece) -> Network:
    """Event-day arcs of every line and the (pool, day) stock nodes they draw on."""
    base = piece.day_base
    arc_line, arc_day = delivery_arcs(piece)
    n_supply = len(piece.supply_qty)
    node_code, node_of = np.unique(
        np.concatenate([piece.supply_pool * base + piece.supply_day,
                        piece.pool[arc_line] * base + arc_day]),
        return_inverse=True)
    supply = np.bincount(node_of[:n_supply], weights=piece.supply_qty,
                         minlength=len(node_code))
    return Network(arc_line, arc_day, node_of[n_supply:], node_code // base, supply)


# ---------------------------------------------------------------------------
# The LP


@dataclass
class Layout:
    """Where each family of the LP lives, to read the solution back."""

    arc_line: np.ndarray
    arc_day: np.ndarray
    deliver: np.ndarray  # column of each arc
    unmet: np.ndarray  # column of each line
    stock: np.ndarray  # column of each node
    true_cost: np.ndarray  # c_o(t) per column (for the tie-break pass)
    on_time: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # column b_o
    on_time_line: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # its o


def define_cost(piece: Piece, net: Network) -> tuple[np.ndarray, np.ndarray]:
    """Objective coefficients: c_o(t) per delivery arc and c_o(H + 1) per unmet unit.

    ::

        min Σ c_o(t)·deliver[o, t] + Σ c_o(H + 1)·unmet[o]
    """
    all_lines = np.arange(piece.n_lines)
    return piece.cost(net.arc_line, net.arc_day), piece.cost(all_lines, piece.horizon + 1)


def define_variables(mb: highs.ModelBuilder, piece: Piece, net: Network,
                     cost: tuple[np.ndarray, np.ndarray]) -> Layout:
    """deliver[o, t] ≥ 0, unmet[o] ≥ 0 and stock[n] ≥ 0, with their costs."""
    arc_cost, never_cost = cost
    deliver = mb.add_vars("deliver", len(net.arc_line), cost=arc_cost)  # x_{o,t} + Σ_j y_{j,o,t}
    unmet = mb.add_vars("unmet", piece.n_lines, cost=never_cost)  # z_{o,H}
    stock = mb.add_vars("stock", net.n_nodes)  # units of a pool left after event day n
    return Layout(net.arc_line, net.arc_day, deliver, unmet, stock, np.zeros(0))


def define_stock_chain(mb: highs.ModelBuilder, net: Network, cols: Layout) -> None:
    """pool_balance[n]: stock[n−1] + supply[n] = Σ_o deliver[o, n] + stock[n].

    Stands for the report's inventory and PO rows and its PO arrival rule: stock
    exists only once it has arrived; which PO a unit came from is decided afterwards
    (:func:`.solve.attribute_sources`).
    """
    n_nodes = net.n_nodes
    has_prev = np.flatnonzero(np.r_[False, net.node_pool[1:] == net.node_pool[:-1]])
    mb.add_rows("pool_balance", n_nodes,
                rows=np.concatenate([net.arc_node, np.arange(n_nodes), has_prev]),
                cols=np.concatenate([cols.deliver, cols.stock, cols.stock[has_prev - 1]]),
                vals=np.concatenate([np.ones(len(cols.deliver) + n_nodes),
                                     -np.ones(len(has_prev))]),
                lower=net.supply, upper=net.supply)


def define_deliveries(mb: highs.ModelBuilder, piece: Piece, net: Network,
                      cols: Layout) -> None:
    """line_demand[o]: Σ_t deliver[o, t] + unmet[o] = d_o."""
    n_lines = piece.n_lines
    mb.add_rows("line_demand", n_lines,
                rows=np.concatenate([net.arc_line, np.arange(n_lines)]),
                cols=np.concatenate([cols.deliver, cols.unmet]), vals=1.0,
                lower=piece.quantity, upper=piece.quantity)


def define_region_capacity(mb: highs.ModelBuilder, piece: Piece, net: Network,
                           cols: Layout) -> None:
    """region_capacity[r, p, t]: Σ_{o ∈ O_r, sku p} deliver[o, t] ≤ C_{r,p}.

    One row per (sku, region, day) that has capacitated arcs.
    """
    capped = np.flatnonzero(piece.key[net.arc_line] >= 0)
    if len(capped) == 0:
        return
    base = piece.day_base
    cap_key = piece.key[net.arc_line[capped]]
    row_code, row_of = np.unique(cap_key * base + net.arc_day[capped], return_inverse=True)
    mb.add_rows("region_capacity", len(row_code), rows=row_of, cols=cols.deliver[capped],
                vals=1.0, upper=piece.key_capacity[row_code // base])


def define_on_time(mb: highs.ModelBuilder, piece: Piece, net: Network, cols: Layout) -> None:
    """on_time[o] ∈ {0, 1} and on_time_link[o]: Σ_{t ≤ EPD_o} deliver[o, t] ≥ d_o·on_time[o].

    Only lines that can be on time get a binary (:meth:`Piece.can_be_on_time`); the
    others are late in every plan. Its cost is set by the pass that uses it
    (:func:`on_time_count_lp`).
    """
    lines = np.flatnonzero(piece.can_be_on_time())
    b = mb.add_vars("on_time", len(lines), upper=1.0, integer=True)  # b_o
    slot = np.full(piece.n_lines, -1, np.int64)
    slot[lines] = np.arange(len(lines))
    by_epd = np.flatnonzero((slot[net.arc_line] >= 0)
                            & (net.arc_day <= piece.epd_day[net.arc_line]))
    mb.add_rows("on_time_link", len(lines),
                rows=np.concatenate([slot[net.arc_line[by_epd]], np.arange(len(lines))]),
                cols=np.concatenate([cols.deliver[by_epd], b]),
                vals=np.concatenate([np.ones(len(by_epd)), -piece.quantity[lines]]),
                lower=0.0)
    cols.on_time, cols.on_time_line = b, lines


def build(piece: Piece) -> tuple[highs.LinearProgram, Layout]:
    """The min-cost-flow LP of a piece (with the on-time binaries for ``on_time``).

    Returns
    -------
    lp : highs.LinearProgram
        Minimises the penalty; for ``on_time`` it also holds the binaries and their
        links (cost 0: :func:`on_time_count_lp` makes the first pass from it).
    layout : Layout
        Columns of each family and the cost c_o(t) of each column, to read the
        solution back.
    """
    net = define_network(piece)
    mb = highs.ModelBuilder()
    layout = define_variables(mb, piece, net, define_cost(piece, net))
    define_stock_chain(mb, net, layout)
    define_deliveries(mb, piece, net, layout)
    define_region_capacity(mb, piece, net, layout)
    if piece.objective == "on_time":
        define_on_time(mb, piece, net, layout)
    lp = mb.build()
    layout.true_cost = lp.cost.copy()
    return lp, layout


def on_time_count_lp(lp: highs.LinearProgram, layout: Layout) -> highs.LinearProgram:
    """First pass of ``on_time``: max Σ_o on_time[o] (as min −Σ_o on_time[o])."""
    cost = np.zeros(lp.n_cols)
    cost[layout.on_time] = -1.0
    return lp.replace(cost=cost)


def with_on_time_count(lp: highs.LinearProgram, layout: Layout,
                       count: float) -> highs.LinearProgram:
    """Second pass of ``on_time``: the penalty LP with the row Σ_o on_time[o] ≥ count."""
    return lp.replace(
        row_lower=np.r_[lp.row_lower, count - 0.5],  # the count is whole: no rounding risk
        row_upper=np.r_[lp.row_upper, highs.INF],
        a_start=np.r_[lp.a_start, lp.nnz].astype(np.int32),
        a_index=np.r_[lp.a_index, layout.on_time].astype(np.int32),
        a_value=np.r_[lp.a_value, np.ones(len(layout.on_time))])
