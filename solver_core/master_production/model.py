"""The MPS MIP with tight bounds, built with arrays per component (build only).

docs/master_production.md, "Formulation as built", lists the variable and constraint
families with the function that builds each. A supply center's SKUs and factories form
a bipartite graph (a SKU is linked to the factories that can make it). SKUs in
different connected components share no capacity, so each component is an independent
MIP; solving them separately is exact.

Differences from the report's formulation (all keep its optimum; docs/master_production.md,
"Differences from the report"):

- no M = 1e8: ``u ≤ D (1 - e)``, ``I ≤ Ī e`` and ``x ≤ X̄ z`` with Ī the most stock
  that can be on hand and X̄ the most an order can usefully hold (capacity of its
  factory-week, and never more than the remaining need or the MOQ);
- variables only where they can be non-zero: an order exists only if it arrives
  within the horizon, before the SKU's stop week plus lead time, in a week its
  factory produces; stock, unmet demand and shortfall exist from the first week an
  order can arrive (earlier weeks are fixed by stock and open POs and go into the
  objective as a constant); ``e`` only where its value is not already known.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..highs import LinearProgram, ModelBuilder
from .data import Instance
from .simulate import project

TOL = 1e-9


@dataclass
class Component:
    """One independent piece: some SKUs of one supply center and the factories they use."""

    label: str
    supply_center: str
    skus: np.ndarray  # global SKU index of each local SKU
    factories: np.ndarray  # global factory index of each local factory
    demand: np.ndarray  # D[p,t]
    po_arrivals: np.ndarray  # I~[p,t]
    inventory: np.ndarray  # I[p,-1]
    target: np.ndarray  # R[p,t]
    lead_time_weeks: np.ndarray  # SLA^S_p
    moq: np.ndarray  # Q_p (0 = none)
    holding_cost: np.ndarray  # h_p
    lost_sales_cost: np.ndarray  # y_p
    target_shortfall_cost: np.ndarray  # w_p
    capacity: np.ndarray  # remaining normalised capacity C[f,t] - open POs, (F, T)
    # candidate orders x[f,p,τ], one entry each
    order_sku: np.ndarray  # local p
    order_factory: np.ndarray  # local f
    order_week: np.ndarray  # τ
    arrival_week: np.ndarray  # τ + SLA^S_p
    capacity_week: np.ndarray  # τ + SLA^S_p - SLA^T_p - 1
    order_use: np.ndarray  # o[f,p]: normalised capacity per unit
    order_upper: np.ndarray  # X̄[f,p,τ]

    @property
    def n_skus(self) -> int:
        return len(self.skus)

    @property
    def n_weeks(self) -> int:
        return self.demand.shape[1]

    @property
    def n_orders(self) -> int:
        return len(self.order_sku)


def remaining_need(demand: np.ndarray, target: np.ndarray, inventory: np.ndarray | None = None,
                   po_arrivals: np.ndarray | None = None) -> np.ndarray:
    """Most an order arriving in week a can usefully hold:

    N[p,a] = max_{t ≥ a} (Σ_{a ≤ t' < t} D[p,t'] + R[p,t] - I⁰[p,a-1] - Σ_{a ≤ t' ≤ t} I~[p,t'])

    with I⁰ the stock without any new order (a lower bound of the stock of every plan).
    An order that alone lifts every later week to its target meets all later demand;
    anything beyond it is only held, so cutting it to N (or the MOQ) never costs more.
    """
    P, T = demand.shape
    zeros = np.zeros((P, T))
    inventory = np.zeros(P) if inventory is None else inventory
    po_arrivals = zeros if po_arrivals is None else po_arrivals
    cum_d = np.concatenate([np.zeros((P, 1)), np.cumsum(demand, axis=1)], axis=1)
    cum_po = np.concatenate([np.zeros((P, 1)), np.cumsum(po_arrivals, axis=1)], axis=1)
    # max over t ≥ a of R[t] + Σ_{<t} D - Σ_{≤t} I~, as a suffix maximum.
    m = target + cum_d[:, :T] - cum_po[:, 1:]
    suffix_max = np.maximum.accumulate(m[:, ::-1], axis=1)[:, ::-1]
    base = project(inventory, po_arrivals, zeros, demand, target).ending
    stock_before = np.concatenate([inventory[:, None], base[:, :-1]], axis=1)  # I⁰[p,a-1]
    return suffix_max - cum_d[:, :T] + cum_po[:, :T] - stock_before


def candidate_orders(inst: Instance, integer: bool) -> dict[str, np.ndarray]:
    """Every order x[f,p,τ] that can be non-zero, with its tight upper bound X̄.

    X̄ = min(units of p the factory-week has left, max(N[p,τ+SLA], Q_p)); orders that
    arrive after the horizon, are placed after the stop week, fall in a week without
    production or cannot reach the MOQ are not created.
    """
    T = inst.n_weeks
    links = inst.links
    if not len(links):
        return {k: np.zeros(0, int) for k in ("link", "sku", "factory", "week", "arrival",
                                                  "cap_week", "use", "upper")}
    skus = inst.skus
    f, p = links["f"].to_numpy(), links["p"].to_numpy()
    lead = skus["lead_time_weeks"].to_numpy()[p]  # SLA^S_p
    transport = skus["transport_weeks"].to_numpy()[p]  # SLA^T_p
    stop = skus["stop_t"].to_numpy()[p]
    moq = skus["moq"].to_numpy()[p] if inst.settings.use_moq else np.zeros(len(p))
    tau = np.arange(T)[None, :]
    arrival = tau + lead[:, None]
    cap_week = arrival - transport[:, None] - 1
    ok = (arrival <= T - 1) & (tau <= stop[:, None]) & (cap_week >= 0)
    e_i, t_i = np.nonzero(ok)
    a_i, c_i = arrival[e_i, t_i], cap_week[e_i, t_i]
    fac = f[e_i]
    frac_left = np.where(inst.capacity[fac, c_i] > 0,
                         inst.remaining_capacity[fac, c_i] / np.maximum(inst.capacity[fac, c_i],
                                                                        TOL), 0.0)
    units = inst.link_capacity[e_i, c_i] * frac_left  # units of p left in that factory-week
    if integer:
        units = np.floor(units + 1e-7)
    need = remaining_need(inst.demand, inst.target, inst.inventory,
                          inst.po_arrivals)[p[e_i], a_i]
    q = moq[e_i]
    upper = np.minimum(units, np.maximum(np.ceil(need - 1e-9), q))
    keep = (units >= np.maximum(q, 1.0) - 1e-9) & (need > TOL) & (upper >= 1.0 - 1e-9)
    use = links["use"].to_numpy()
    return {"link": e_i[keep], "sku": p[e_i][keep], "factory": fac[keep], "week": t_i[keep],
            "arrival": a_i[keep], "cap_week": c_i[keep], "use": use[e_i][keep],
            "upper": upper[keep]}


def _components_of(n_skus_sc: int, sku_local: np.ndarray, fac_local: np.ndarray, n_fac: int
                   ) -> np.ndarray:
    """Connected component label of each SKU in the SKU–factory graph (union-find)."""
    parent = np.arange(n_skus_sc + n_fac)

    def find(a: int) -> int:
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    for s, f in set(zip(sku_local.tolist(), fac_local.tolist())):
        ra, rb = find(s), find(n_skus_sc + f)
        if ra != rb:
            parent[ra] = rb
    return np.array([find(s) for s in range(n_skus_sc)])


def make_components(inst: Instance, integer: bool, decompose: bool = True
                    ) -> tuple[list[Component], dict[str, np.ndarray]]:
    """Split every supply center into independent components (its connected components
    in the SKU–factory graph). Returns the components and all candidate orders."""
    orders = candidate_orders(inst, integer)
    skus = inst.skus
    moq_all = skus["moq"].to_numpy() if inst.settings.use_moq else np.zeros(len(skus))
    rem = inst.remaining_capacity
    comps: list[Component] = []
    for sc in sorted(skus["supply_center"].unique(), key=str):
        in_sc = np.flatnonzero(skus["supply_center"].to_numpy() == sc)
        sel = np.isin(orders["sku"], in_sc)
        if not sel.any():
            continue
        o_p, o_f = orders["sku"][sel], orders["factory"][sel]
        sc_skus = np.unique(o_p)
        sc_facs = np.unique(o_f)
        lp_, lf_ = np.searchsorted(sc_skus, o_p), np.searchsorted(sc_facs, o_f)
        if decompose:
            label = _components_of(len(sc_skus), lp_, lf_, len(sc_facs))
        else:
            label = np.zeros(len(sc_skus), int)
        groups = sorted(np.unique(label), key=lambda g: -int((label == g).sum()))
        for k, g in enumerate(groups, start=1):
            members = sc_skus[label == g]
            osel = np.flatnonzero(sel)[np.isin(o_p, members)]
            facs = np.unique(orders["factory"][osel])
            p_loc = np.searchsorted(members, orders["sku"][osel])
            f_loc = np.searchsorted(facs, orders["factory"][osel])
            name = f"{sc} component {k}" if decompose else f"{sc}"
            comps.append(Component(
                label=name, supply_center=str(sc), skus=members, factories=facs,
                demand=inst.demand[members], po_arrivals=inst.po_arrivals[members],
                inventory=inst.inventory[members], target=inst.target[members],
                lead_time_weeks=skus["lead_time_weeks"].to_numpy()[members],
                moq=moq_all[members],
                holding_cost=skus["holding_cost"].to_numpy()[members],
                lost_sales_cost=skus["lost_sales_cost"].to_numpy()[members],
                target_shortfall_cost=skus["target_shortfall_cost"].to_numpy()[members],
                capacity=rem[facs],
                order_sku=p_loc, order_factory=f_loc, order_week=orders["week"][osel],
                arrival_week=orders["arrival"][osel], capacity_week=orders["cap_week"][osel],
                order_use=orders["use"][osel], order_upper=orders["upper"][osel]))
    return comps, orders


# ---------------------------------------------------------------------------
# Building the MIP of one component


def sub_component(comp: Component, keep: np.ndarray, qty: np.ndarray,
                  weeks: tuple[int, int] | None = None) -> tuple[Component, np.ndarray]:
    """The SKUs ``keep`` (bool per SKU) of ``comp`` alone, the other orders held at ``qty``.

    With ``weeks`` = (first, end), only the kept SKUs' orders arriving in those weeks are
    decided; their other orders are held too, as fixed arrivals (I~) of their SKU, exact
    since orders cost nothing of their own. The capacity is what the held orders leave,
    and each kept order's X̄ at most the whole units that leaves; every plan of the part,
    with ``qty`` for the rest, is a plan of ``comp``. Returns the part and which of
    ``comp``'s orders it holds.
    """
    P = comp.n_skus
    kept = keep[comp.order_sku]
    if weeks is not None:
        kept &= (comp.arrival_week >= weeks[0]) & (comp.arrival_week < weeks[1])
    held = ~kept
    used = np.zeros(comp.capacity.shape)
    np.add.at(used, (comp.order_factory[held], comp.capacity_week[held]),
              comp.order_use[held] * qty[held])
    left = comp.capacity - used
    arrivals = comp.po_arrivals.copy()
    fixed = held & keep[comp.order_sku]  # the kept SKUs' orders outside the weeks
    np.add.at(arrivals, (comp.order_sku[fixed], comp.arrival_week[fixed]), qty[fixed])
    fields = {}
    for f in dataclasses.fields(comp):
        value = getattr(comp, f.name)
        if f.name.startswith("order_") or f.name in ("arrival_week", "capacity_week"):
            value = value[kept]
        elif f.name == "po_arrivals":
            value = arrivals[keep]
        elif f.name not in ("factories", "capacity") and isinstance(value, np.ndarray) \
                and value.shape[:1] == (P,):
            value = value[keep]
        fields[f.name] = value
    fields["capacity"] = left
    fields["order_sku"] = (np.cumsum(keep) - 1)[comp.order_sku[kept]]
    room = np.maximum(left[fields["order_factory"], fields["capacity_week"]], 0.0)
    fields["order_upper"] = np.minimum(fields["order_upper"],
                                       np.floor(room / fields["order_use"] + 1e-9))
    return Component(**fields), kept


@dataclass
class Layout:
    """Where each variable family sits in the column vector, for start plans and extraction."""

    x: np.ndarray  # per order
    z: np.ndarray  # per order, -1 when the SKU has no MOQ
    cells: tuple[np.ndarray, np.ndarray]  # (p, t) of each modelled week
    stock: np.ndarray  # I per cell
    unmet: np.ndarray  # u per cell, -1 where fixed at 0
    shortfall: np.ndarray  # s per cell, -1 where not needed
    e: np.ndarray  # e per cell, -1 where known
    offset: float
    capacity_rows: np.ndarray  # row of each capacity constraint
    capacity_cells: np.ndarray  # its factory-week, as factory * T + week
    bounds: dict[str, float] = field(default_factory=dict)  # the big-M values used
    n_cols: int = 0


def moq_orders(comp: Component) -> np.ndarray:
    """Per candidate order, whether its SKU has an MOQ (the order gets a binary z)."""
    return comp.moq[comp.order_sku] > 1.0


def build_model(comp: Component, integer: bool) -> tuple[LinearProgram, Layout]:
    """The MIP of one component, in tight form (docs/master_production.md, "Formulation as
    built").

    Minimise  Σ_{p,t} h_p I[p,t] + Σ_{p, t ≥ SLA^S_p} (y_p u[p,t] + w_p s[p,t])
    subject to
      balance   I[p,t] = I[p,t-1] + I~[p,t] + Σ_f x[f,p,t-SLA^S_p] - D[p,t] + u[p,t]
      target    I[p,t-1] + I~[p,t] + Σ_f x[f,p,t-SLA^S_p] + s[p,t] ≥ R[p,t]
      capacity  Σ_{p,τ: τ+SLA^S-SLA^T-1 = t} o[f,p] x[f,p,τ] ≤ C[f,t] - open-PO use
      MOQ       Q_p z[f,p,τ] ≤ x[f,p,τ] ≤ X̄[f,p,τ] z[f,p,τ]
      use stock u[p,t] ≤ D[p,t] (1 - e[p,t]),   I[p,t] ≤ Ī[p,t] e[p,t]
    with x ≥ 0 (integer unless relaxed), z, e binary, I, u, s ≥ 0.
    """
    P, T = comp.demand.shape
    b = ModelBuilder()
    # t0[p]: first week an order can arrive; earlier weeks are fixed (no decision reaches them).
    first = np.full(P, T)
    np.minimum.at(first, comp.order_sku, comp.arrival_week)
    base = project(comp.inventory, comp.po_arrivals, np.zeros((P, T)), comp.demand, comp.target)
    tt = np.arange(T)[None, :]
    fixed = tt < first[:, None]
    costed = tt >= comp.lead_time_weeks[:, None]
    offset = float((comp.holding_cost[:, None] * base.ending * fixed).sum()
                   + (comp.lost_sales_cost[:, None] * base.unmet * fixed * costed).sum()
                   + (comp.target_shortfall_cost[:, None] * base.shortfall * fixed * costed).sum())
    stock_before = np.where(first > 0, base.ending[np.arange(P), np.maximum(first - 1, 0)],
                            comp.inventory)  # I[p, t0-1]

    # Ī: the most stock there can be, with every order at its bound.
    arr_max = np.zeros((P, T))
    np.add.at(arr_max, (comp.order_sku, comp.arrival_week), comp.order_upper)
    stock_max = np.zeros((P, T))
    avail_max = np.zeros((P, T))
    prev = stock_before.copy()
    for t in range(T):
        live = t >= first
        avail_max[:, t] = np.where(live, prev + comp.po_arrivals[:, t] + arr_max[:, t], 0.0)
        stock_max[:, t] = np.where(live, np.maximum(avail_max[:, t] - comp.demand[:, t], 0.0),
                                   base.ending[:, t])
        prev = np.where(live, stock_max[:, t], prev)

    cell_p, cell_t = np.nonzero(~fixed)
    n_cells = len(cell_p)
    cell_id = np.full((P, T), -1)
    cell_id[cell_p, cell_t] = np.arange(n_cells)
    D = comp.demand[cell_p, cell_t]
    R = comp.target[cell_p, cell_t]
    po = comp.po_arrivals[cell_p, cell_t]
    at_first = cell_t == first[cell_p]
    carried = np.where(at_first, stock_before[cell_p], 0.0)  # constant I[p,t0-1]
    # e is known where demand is 0, where stock and open POs alone cover demand (e = 1),
    # or where even every order at its bound cannot (e = 0, so I = 0).
    avail_min = base.available[cell_p, cell_t]
    sure_met = (D <= TOL) | (avail_min >= D - TOL)
    never_met = ~sure_met & (avail_max[cell_p, cell_t] <= D + TOL)
    free_e = ~sure_met & ~never_met
    i_upper = np.where(never_met, 0.0, stock_max[cell_p, cell_t])

    # --- variables
    K = comp.n_orders
    x = b.add_vars("order_qty", K, lower=0.0, upper=comp.order_upper,  # x[f,p,τ]
                   integer=integer)
    has_moq = moq_orders(comp)
    z = np.full(K, -1)
    z[has_moq] = b.add_vars("order_placed", int(has_moq.sum()), upper=1.0,  # z[f,p,τ]
                            integer=True)
    stock = b.add_vars("ending_stock", n_cells, upper=i_upper,  # I[p,t]
                       cost=comp.holding_cost[cell_p])
    unmet = np.full(n_cells, -1)
    need_u = ~sure_met
    unmet[need_u] = b.add_vars("unmet_demand", int(need_u.sum()), upper=D[need_u],  # u[p,t]
                               cost=comp.lost_sales_cost[cell_p[need_u]])
    # s[p,t] only where the target can be missed: R - I~ - carried stock > 0.
    target_rhs = R - po - carried
    need_s = target_rhs > TOL
    shortfall = np.full(n_cells, -1)
    shortfall[need_s] = b.add_vars("target_shortfall", int(need_s.sum()),  # s[p,t]
                                   upper=target_rhs[need_s],
                                   cost=comp.target_shortfall_cost[cell_p[need_s]])
    e = np.full(n_cells, -1)
    e[free_e] = b.add_vars("demand_met", int(free_e.sum()), upper=1.0, integer=True)  # e[p,t]

    # --- constraints
    arr_cell = cell_id[comp.order_sku, comp.arrival_week]  # cell each order arrives in
    _balance(b, n_cells, cell_p, cell_t, cell_id, stock, unmet, x, arr_cell, po - D + carried)
    _target(b, need_s, cell_p, cell_t, cell_id, stock, shortfall, x, arr_cell, target_rhs)
    _moq(b, x, z, has_moq, comp.moq[comp.order_sku], comp.order_upper)
    _use_stock_first(b, free_e, stock, unmet, e, D, i_upper)
    cap_rows, cap_cells = _capacity(b, comp, x)

    lp = b.build(offset=offset)
    layout = Layout(x=x, z=z, cells=(cell_p, cell_t), stock=stock, unmet=unmet,
                    shortfall=shortfall, e=e, offset=offset, n_cols=b.n_cols,
                    capacity_rows=cap_rows, capacity_cells=cap_cells,
                    bounds={"max_order_bound": float(comp.order_upper.max(initial=0.0)),
                            "max_stock_bound": float(i_upper.max(initial=0.0)),
                            "max_unmet_bound": float(D[need_u].max(initial=0.0)),
                            "binaries_e_fixed": int((~free_e).sum()),
                            "binaries_e": int(free_e.sum())})
    return lp, layout


def _balance(b, n, cell_p, cell_t, cell_id, stock, unmet, x, arr_cell, rhs) -> None:
    """I[p,t] - I[p,t-1] - Σ x(arriving t) - u[p,t] = I~[p,t] - D[p,t] (+ I[p,t0-1])."""
    rows = [np.arange(n)]
    cols = [stock]
    vals = [np.ones(n)]
    prev = np.where(cell_t > 0, cell_id[cell_p, np.maximum(cell_t - 1, 0)], -1)
    has_prev = prev >= 0
    rows.append(np.flatnonzero(has_prev))
    cols.append(stock[prev[has_prev]])
    vals.append(-np.ones(int(has_prev.sum())))
    rows.append(arr_cell)
    cols.append(x)
    vals.append(-np.ones(len(x)))
    has_u = unmet >= 0
    rows.append(np.flatnonzero(has_u))
    cols.append(unmet[has_u])
    vals.append(-np.ones(int(has_u.sum())))
    b.add_rows("sku_balance", n, np.concatenate(rows), np.concatenate(cols),
               np.concatenate(vals), lower=rhs, upper=rhs)


def _target(b, need_s, cell_p, cell_t, cell_id, stock, shortfall, x, arr_cell, rhs) -> None:
    """I[p,t-1] + Σ x(arriving t) + s[p,t] ≥ R[p,t] - I~[p,t] (- I[p,t0-1])."""
    cells = np.flatnonzero(need_s)
    if not len(cells):
        return
    row_of = np.full(len(need_s), -1)
    row_of[cells] = np.arange(len(cells))
    prev = np.where(cell_t > 0, cell_id[cell_p, np.maximum(cell_t - 1, 0)], -1)
    rows, cols, vals = [], [], []
    has_prev = need_s & (prev >= 0)
    rows.append(row_of[has_prev])
    cols.append(stock[prev[has_prev]])
    xs = need_s[arr_cell]
    rows.append(row_of[arr_cell[xs]])
    cols.append(x[xs])
    rows.append(row_of[cells])
    cols.append(shortfall[cells])
    for r in rows:
        vals.append(np.ones(len(r)))
    b.add_rows("sku_target", len(cells), np.concatenate(rows), np.concatenate(cols),
               np.concatenate(vals), lower=rhs[cells])


def _moq(b, x, z, has_moq, moq, upper) -> None:
    """Q_p z ≤ x ≤ X̄ z for SKUs with a MOQ (the report's MOQ rows, with X̄ for M)."""
    k = np.flatnonzero(has_moq)
    if not len(k):
        return
    n = len(k)
    r = np.arange(n)
    b.add_rows("order_moq", n, np.concatenate([r, r]), np.concatenate([x[k], z[k]]),
               np.concatenate([np.ones(n), -moq[k]]), lower=0.0)
    b.add_rows("order_switch", n, np.concatenate([r, r]), np.concatenate([x[k], z[k]]),
               np.concatenate([np.ones(n), -upper[k]]), upper=0.0)


def _use_stock_first(b, free_e, stock, unmet, e, D, i_upper) -> None:
    """u ≤ D (1 - e) and I ≤ Ī e: stock on hand serves this week's demand first."""
    c = np.flatnonzero(free_e)
    if not len(c):
        return
    n = len(c)
    r = np.arange(n)
    b.add_rows("unmet_if_not_met", n, np.concatenate([r, r]), np.concatenate([unmet[c], e[c]]),
               np.concatenate([np.ones(n), D[c]]), upper=D[c])
    b.add_rows("stock_if_met", n, np.concatenate([r, r]), np.concatenate([stock[c], e[c]]),
               np.concatenate([np.ones(n), -i_upper[c]]), upper=0.0)


def _capacity(b, comp: Component, x) -> tuple[np.ndarray, np.ndarray]:
    """Σ o[f,p] x[f,p,τ] ≤ remaining C[f,t] for every factory-week where it can bind.

    Returns the rows and their factory-weeks (factory * T + week)."""
    if not comp.n_orders:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    T = comp.n_weeks
    key = comp.order_factory * T + comp.capacity_week
    uniq, inv = np.unique(key, return_inverse=True)
    most = np.bincount(inv, weights=comp.order_use * comp.order_upper)
    cap = comp.capacity[uniq // T, uniq % T]
    # Orders whose bounds fit the capacity together need no row (candidate_orders caps
    # each X̄ at its factory-week's units, so a lone order's never binds there; a
    # component made otherwise keeps its capacity all the same).
    binds = most > cap * (1 + 1e-9) + 1e-9
    row_of = np.full(len(uniq), -1)
    row_of[binds] = np.arange(int(binds.sum()))
    k = np.flatnonzero(binds[inv])
    rows = b.add_rows("factory_capacity", int(binds.sum()), row_of[inv[k]], x[k],
                      comp.order_use[k], upper=cap[binds])
    return rows, uniq[binds]
