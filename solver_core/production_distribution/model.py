"""The production–distribution MILP, built with arrays (docs/production_distribution.md).

:func:`build` reads like the constraint list of the thesis: each family of variables
and constraints has its own ``define_*`` function that adds the whole family in one
call from index arrays, so the thesis-scale model (≈200k columns) builds in well under
a second. Only variables that can be non-zero exist: a product moves on a lane only
when both ends can hold it, and a supplier lane carries a product only on the days it
is supplied ("Variables that can be non-zero").

Notation (thesis → code):

================  ================================  ==============================
X, X', X'', X'''  ``flow``   [product, lane, day]    pallets moved
S', S''           ``stock``  [product, location, day] end-of-day stock
L                 ``shortage`` [product, plant, day] demand not met
Y, Y', Y'', Y'''  ``trucks`` [lane, day]             whole trucks
================  ================================  ==============================
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..highs import INF, LinearProgram, ModelBuilder
from .data import Instance


@dataclass
class Network:
    """Sets and parameters of one scenario as arrays (positions, not names).

    The scenario factors of the settings are applied here, so every later stage sees
    the numbers the model uses.
    """

    n_days: int  # T
    categories: list[str]  # u
    truck_capacity: np.ndarray  # Cap_u per category
    products: list[str]  # p
    product_cat: np.ndarray  # category position of each product
    locations: list[str]  # i (suppliers), j (warehouses), k (plants)
    loc_type: np.ndarray  # supplier | warehouse | plant, per location
    capacity: np.ndarray  # H[loc, u], × plant_capacity_factor at plants
    storage_cost: np.ndarray  # WC[loc, u]
    lane_from: np.ndarray
    lane_to: np.ndarray
    lane_truck_cost: np.ndarray  # TC[lane]
    lane_pallet_cost: np.ndarray  # C[lane]
    lane_max: np.ndarray  # Lanes.max_trucks (nan = no limit)
    supply_product: np.ndarray  # one entry per Supply record
    supply_supplier: np.ndarray
    supply_day: np.ndarray  # 0-based
    supply_pallets: np.ndarray  # S[p, i, t] × supply_factor (whole when integer_pallets)
    reception: dict  # plant position -> N_k, only when use_reception_limit
    pair_product: np.ndarray  # holdable (product, location) pairs
    pair_loc: np.ndarray
    pair_of: np.ndarray  # products × locations -> pair position, or -1
    start_stock: np.ndarray  # per pair: StartInventory
    demand: np.ndarray  # pair × day: D[p, k, t] × demand_factor
    active: np.ndarray  # per product: supplied or in stock somewhere (only these move)
    first_day: np.ndarray  # products × locations: first day it can be in stock (T = never)
    integer_pallets: bool
    shortage_penalty: float  # G


@dataclass
class Built(Network):
    """The LP plus the index arrays that say what each column and row means."""

    lp: LinearProgram
    flow_cols: np.ndarray
    flow_product: np.ndarray
    flow_lane: np.ndarray
    flow_day: np.ndarray  # 0-based
    flow_truck: np.ndarray  # position in truck_cols of the (lane, day) of each flow
    stock_cols: np.ndarray  # pair-major: pair * n_days + day
    short_cols: np.ndarray
    short_product: np.ndarray
    short_plant: np.ndarray
    short_day: np.ndarray
    short_demand: np.ndarray
    truck_cols: np.ndarray
    truck_lane: np.ndarray
    truck_day: np.ndarray
    storage_rows: dict  # loc, cat, day arrays, one entry per storage_capacity row
    reception_rows: list  # (plant, day, limit) per plant_reception row
    row_families: dict  # name -> (first row, end row)
    build_seconds: float = 0.0


@dataclass
class Flows:
    """Columns of ``flow[product, lane, day]  # x[p, lane, t]`` and what each one is."""

    cols: np.ndarray
    product: np.ndarray
    lane: np.ndarray
    day: np.ndarray
    upper: np.ndarray


@dataclass
class Trucks:
    """Columns of ``trucks[lane, day]  # y[lane, t]``, one per (lane, day) with a flow."""

    cols: np.ndarray
    lane: np.ndarray
    day: np.ndarray
    position: np.ndarray  # lane * T + day -> position in cols, or -1


@dataclass
class Shortages:
    """Columns of ``shortage[product, plant, day]  # l[p, k, t]``, only where D > 0."""

    cols: np.ndarray
    pair: np.ndarray
    day: np.ndarray
    demand: np.ndarray


def build(inst: Instance) -> Built:
    """Build the MILP of docs/production_distribution.md, "The formulation as built".

    min Σ C·x + Σ WC·s + Σ TC·y + G·Σ l                                  (1)
    s.t. Σ_b x[p,i→b,t] = S[p,i,t]                    supplier rule        (2)
         s[p,l,t-1] + Σ in − Σ out − D[p,l,t] + l = s[p,l,t]   balance     (3), (4)
         Σ out x[p,l→·,t] ≤ s[p,l,t-1]                 stock before leaving (5), (6)
         Σ_{p∈u} s[p,l,t] ≤ H[l,u]                     storage              (7), (8)
         Σ_{lanes into k} y[·,t] ≤ N_k                 reception            (9)
         Σ_u Σ_{p∈u} x[p,lane,t] / Cap_u ≤ y[lane,t]   trucks               (10)–(12)
         Σ_{supplier lanes in A} y[·,t] ≥ ⌈load only A can take⌉   whole-truck cuts
         X[p,k,≤t] + L[p,k,≤t] / f ≥ ⌈c⌉                   whole-pallet deliveries

    Parameters
    ----------
    inst : Instance
        Validated data and settings (the scenario factors are applied here).

    Returns
    -------
    Built
        The linear program and the meaning of its columns and rows.
    """
    t0 = time.perf_counter()
    net = network(inst)
    mb = ModelBuilder()
    flow = define_flow(mb, net)  # x[p, lane, t]
    stock = define_stock(mb, net)  # s[p, loc, t]
    shortage = define_shortage(mb, net)  # l[p, k, t]
    trucks = define_trucks(mb, net, flow)  # y[lane, t]
    define_supplier_ships_all(mb, net, flow)  # (2)
    define_stock_balance(mb, net, flow, stock, shortage)  # (3), (4)
    define_stock_before_leaving(mb, net, flow, stock)  # (5), (6)
    storage_rows = define_storage_capacity(mb, net, stock)  # (7), (8)
    define_truck_load(mb, net, flow, trucks)  # (10)–(12)
    define_supplier_whole_trucks(mb, net, trucks)  # valid cuts
    define_whole_pallet_deliveries(mb, net, flow, shortage)  # valid cuts
    reception_rows = define_plant_reception(mb, net, trucks)  # (9)
    lp = mb.build()
    lp = lp.replace(cost=define_objective(lp.n_cols, net, flow, stock, shortage, trucks))  # (1)
    return Built(
        **vars(net), lp=lp,
        flow_cols=flow.cols, flow_product=flow.product, flow_lane=flow.lane,
        flow_day=flow.day, flow_truck=trucks.position[flow.lane * net.n_days + flow.day],
        stock_cols=stock,
        short_cols=shortage.cols, short_product=net.pair_product[shortage.pair],
        short_plant=net.pair_loc[shortage.pair], short_day=shortage.day,
        short_demand=shortage.demand,
        truck_cols=trucks.cols, truck_lane=trucks.lane, truck_day=trucks.day,
        storage_rows=storage_rows, reception_rows=reception_rows,
        row_families=dict(mb.row_families), build_seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------
# Sets and parameters


def network(inst: Instance) -> Network:
    """Positions and parameter arrays of an instance, after the scenario factors."""
    s = inst.settings
    T = inst.n_days
    categories = list(inst.categories["category"])
    cat_idx = {c: i for i, c in enumerate(categories)}
    products = list(inst.products["product"])
    prod_idx = {p: i for i, p in enumerate(products)}
    product_cat = np.array([cat_idx[c] for c in inst.products["category"]], dtype=np.int64)
    locations = list(inst.locations["location"])
    loc_idx = {loc: i for i, loc in enumerate(locations)}
    loc_type = inst.locations["type"].to_numpy(object)
    is_store = np.isin(loc_type, ["warehouse", "plant"])
    is_plant = loc_type == "plant"
    n_p, n_l = len(products), len(locations)

    capacity = np.zeros((n_l, len(categories)))  # H
    storage_cost = np.zeros((n_l, len(categories)))  # WC
    for loc, cat, cap, cost in inst.storage[["location", "category", "capacity",
                                             "cost_per_pallet_day"]].itertuples(index=False):
        capacity[loc_idx[loc], cat_idx[cat]] = cap
        storage_cost[loc_idx[loc], cat_idx[cat]] = cost or 0.0
    capacity[is_plant] *= float(s.plant_capacity_factor)

    supply_product = inst.supply["product"].map(prod_idx).to_numpy(np.int64)
    supply_supplier = inst.supply["supplier"].map(loc_idx).to_numpy(np.int64)
    supply_day = inst.supply["day"].to_numpy(np.int64) - 1
    supply_pallets = inst.supply["pallets"].to_numpy(float) * float(s.supply_factor)
    if s.integer_pallets:
        supply_pallets = np.round(supply_pallets)
    keep = supply_pallets > 0
    supply_product, supply_supplier = supply_product[keep], supply_supplier[keep]
    supply_day, supply_pallets = supply_day[keep], supply_pallets[keep]

    demand_product = inst.demand["product"].map(prod_idx).to_numpy(np.int64)
    demand_plant = inst.demand["plant"].map(loc_idx).to_numpy(np.int64)
    demand_day = inst.demand["day"].to_numpy(np.int64) - 1
    demand_pallets = inst.demand["pallets"].to_numpy(float) * float(s.demand_factor)
    keep = demand_pallets > 0
    demand_product, demand_plant = demand_product[keep], demand_plant[keep]
    demand_day, demand_pallets = demand_day[keep], demand_pallets[keep]

    start_product = inst.start["product"].map(prod_idx).to_numpy(np.int64)
    start_loc = inst.start["location"].map(loc_idx).to_numpy(np.int64)
    start_pallets = inst.start["pallets"].to_numpy(float)

    # Products that ever exist somewhere; only they can move or be stored.
    active = np.zeros(n_p, bool)
    active[supply_product] = True
    active[start_product[start_pallets > 0]] = True
    # Holdable (product, location) pairs: the location stores the product's category and
    # the product exists, or the product starts there, or the plant consumes it.
    holdable = np.zeros((n_p, n_l), bool)
    holdable |= (capacity[:, product_cat].T > 0) & active[:, None] & is_store[None, :]
    holdable[start_product[start_pallets > 0], start_loc[start_pallets > 0]] = True
    holdable[demand_product, demand_plant] = True
    pair_product, pair_loc = np.nonzero(holdable)
    pair_of = np.full((n_p, n_l), -1, dtype=np.int64)
    pair_of[pair_product, pair_loc] = np.arange(len(pair_product))

    start_stock = np.zeros(len(pair_product))
    np.add.at(start_stock, pair_of[start_product, start_loc], start_pallets)
    demand = np.zeros((len(pair_product), T))
    np.add.at(demand, (pair_of[demand_product, demand_plant], demand_day), demand_pallets)

    lane_from = inst.lanes["from"].map(loc_idx).to_numpy(np.int64)
    lane_to = inst.lanes["to"].map(loc_idx).to_numpy(np.int64)
    reception = {}
    if s.use_reception_limit:
        limits = inst.locations["max_inbound_trucks"].to_numpy(float, na_value=np.nan)
        reception = {int(k): float(limits[k]) for k in np.nonzero(is_plant)[0]
                     if not math.isnan(limits[k])}
    net = Network(
        n_days=T, categories=categories,
        truck_capacity=inst.categories["truck_capacity"].to_numpy(float),
        products=products, product_cat=product_cat, locations=locations, loc_type=loc_type,
        capacity=capacity, storage_cost=storage_cost, lane_from=lane_from, lane_to=lane_to,
        lane_truck_cost=inst.lanes["truck_cost"].to_numpy(float),
        lane_pallet_cost=inst.lanes["pallet_cost"].fillna(0.0).to_numpy(float),
        lane_max=inst.lanes["max_trucks"].to_numpy(float, na_value=np.nan),
        supply_product=supply_product, supply_supplier=supply_supplier,
        supply_day=supply_day, supply_pallets=supply_pallets, reception=reception,
        pair_product=pair_product, pair_loc=pair_loc, pair_of=pair_of,
        start_stock=start_stock, demand=demand, active=active,
        first_day=np.zeros(0, np.int64),  # set below, from the network's lanes
        integer_pallets=bool(s.integer_pallets), shortage_penalty=float(s.shortage_penalty),
    )
    net.first_day = first_days(net, start_product, start_loc, start_pallets)
    return net


def first_days(net: Network, start_product, start_loc, start_pallets) -> np.ndarray:
    """First day (0-based) at whose end each product can be in stock at each location.

    −1 where it starts there, its delivery day where a supplier lane brings it, and one
    day after it can be at the origin of a lane from a warehouse or plant (what leaves a
    location was there the night before). ``T`` = never.
    """
    T, pair_of = net.n_days, net.pair_of
    first = np.full(pair_of.shape, T, dtype=np.int64)
    has = start_pallets > 0
    first[start_product[has], start_loc[has]] = -1
    from_supplier = net.loc_type[net.lane_from] == "supplier"
    for a, b in zip(net.lane_from[from_supplier], net.lane_to[from_supplier]):
        m = net.supply_supplier == a
        np.minimum.at(first[:, b], net.supply_product[m], net.supply_day[m])
    first[pair_of < 0] = T
    store_lanes = list(zip(net.lane_from[~from_supplier], net.lane_to[~from_supplier]))
    for _ in range(len(net.locations)):
        changed = False
        for a, b in store_lanes:
            reach = np.where(pair_of[:, b] >= 0, np.minimum(first[:, b], first[:, a] + 1), T)
            if (reach < first[:, b]).any():
                first[:, b] = reach
                changed = True
        if not changed:
            break
    return first


# ---------------------------------------------------------------------------
# Variables


def define_flow(mb: ModelBuilder, net: Network) -> Flows:
    """``flow[product, lane, day]  # x[p, lane, t]``: only where it can be non-zero.

    A supplier lane carries a product only on its delivery days (at most the day's
    supply); a lane from a store carries it only from the day after it can first be at
    the origin (5), (6), and only when the destination can hold it.
    """
    T, pair_of = net.n_days, net.pair_of
    product, lane, day, upper = [], [], [], []
    for ln, (a, b) in enumerate(zip(net.lane_from, net.lane_to)):
        if net.loc_type[a] == "supplier":
            m = (net.supply_supplier == a) & (pair_of[net.supply_product, b] >= 0)
            product.append(net.supply_product[m])
            day.append(net.supply_day[m])
            upper.append(net.supply_pallets[m])
            lane.append(np.full(m.sum(), ln))
        else:
            prods = np.nonzero((pair_of[:, a] >= 0) & (pair_of[:, b] >= 0) & net.active)[0]
            days = np.tile(np.arange(T), len(prods))
            prods = np.repeat(prods, T)
            ok = days >= net.first_day[prods, a] + 1
            product.append(prods[ok])
            day.append(days[ok])
            upper.append(np.full(ok.sum(), INF))
            lane.append(np.full(ok.sum(), ln))

    def joined(parts, dtype):
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    product, lane = joined(product, np.int64), joined(lane, np.int64)
    day, upper = joined(day, np.int64), joined(upper, float)
    cols = mb.add_vars("flow", len(product), upper=upper, integer=net.integer_pallets)
    return Flows(cols=cols, product=product, lane=lane, day=day, upper=upper)


def define_stock(mb: ModelBuilder, net: Network) -> np.ndarray:
    """``stock[pair, day]  # s'[p, j, t], s''[p, k, t]``: end-of-day stock per holdable pair.

    Zero before the product can first be at the location.
    """
    T = net.n_days
    can_hold = np.arange(T)[None, :] >= net.first_day[net.pair_product, net.pair_loc][:, None]
    upper = np.where(can_hold, INF, 0.0).ravel()
    return mb.add_vars("stock", len(net.pair_product) * T, upper=upper)


def define_shortage(mb: ModelBuilder, net: Network) -> Shortages:
    """``shortage[pair, day]  # l[p, k, t]``: only where there is demand, at most the demand."""
    pair, day = np.nonzero(net.demand > 0)
    demand = net.demand[pair, day]
    cols = mb.add_vars("shortage", len(pair), upper=demand)
    return Shortages(cols=cols, pair=pair, day=day, demand=demand)


def define_trucks(mb: ModelBuilder, net: Network, flow: Flows) -> Trucks:
    """``trucks[lane, day]  # y[lane, t]``: whole trucks, one per (lane, day) with a flow.

    Upper bound: what the lane could carry that day (supplier lanes: the day's supply;
    store lanes: what fits in the origin) rounded up, and ``max_trucks`` when given.
    """
    T = net.n_days
    lane_day = np.unique(flow.lane * T + flow.day)
    lane, day = lane_day // T, lane_day % T
    position = np.full(len(net.lane_from) * T, -1, dtype=np.int64)
    position[lane_day] = np.arange(len(lane_day))
    load = flow.upper / net.truck_capacity[net.product_cat[flow.product]]  # truckloads
    origin_room = np.zeros(len(net.locations))
    for loc in range(len(net.locations)):
        inside = net.pair_loc == loc
        per_cat = np.bincount(net.product_cat[net.pair_product[inside]],
                              weights=net.start_stock[inside], minlength=len(net.categories))
        origin_room[loc] = np.sum(np.maximum(net.capacity[loc], per_cat) / net.truck_capacity)
    upper = np.full(len(lane_day), INF)
    from_supplier = net.loc_type[net.lane_from[lane]] == "supplier"
    finite = np.isfinite(load)
    loads = np.bincount(position[flow.lane[finite] * T + flow.day[finite]],
                        weights=load[finite], minlength=len(lane_day))
    upper[from_supplier] = np.ceil(loads[from_supplier] - 1e-9)
    upper[~from_supplier] = np.ceil(origin_room[net.lane_from[lane[~from_supplier]]] - 1e-9)
    max_trucks = net.lane_max[lane]
    upper = np.where(np.isnan(max_trucks), upper, np.minimum(upper, np.floor(max_trucks)))
    cols = mb.add_vars("trucks", len(lane_day), upper=upper, integer=True)
    return Trucks(cols=cols, lane=lane, day=day, position=position)


# ---------------------------------------------------------------------------
# Constraints


def define_supplier_ships_all(mb: ModelBuilder, net: Network, flow: Flows) -> None:
    """(2) ``supplier_ship_all``: Σ_b x[p, i→b, t] = S[p, i, t], suppliers keep nothing."""
    n_p, T = len(net.products), net.n_days
    out_of_supplier = net.loc_type[net.lane_from[flow.lane]] == "supplier"
    record_key = net.supply_supplier * (n_p * T) + net.supply_product * T + net.supply_day
    order = np.argsort(record_key)
    flow_key = (net.lane_from[flow.lane[out_of_supplier]] * (n_p * T)
                + flow.product[out_of_supplier] * T + flow.day[out_of_supplier])
    row_of_flow = order[np.searchsorted(record_key[order], flow_key)]
    mb.add_rows("supplier_ship_all", len(net.supply_pallets), row_of_flow,
                flow.cols[out_of_supplier], 1.0,
                lower=net.supply_pallets, upper=net.supply_pallets)


def define_stock_balance(mb: ModelBuilder, net: Network, flow: Flows, stock: np.ndarray,
                         shortage: Shortages) -> None:
    """(3), (4) ``stock_balance`` per holdable pair and day.

    s[t] − s[t−1] − in + out − l = −D   (s[−1] = start stock, moved to the right side)
    """
    T, n_pairs = net.n_days, len(net.pair_product)
    rows, cols, vals = [], [], []
    balance = np.arange(n_pairs * T)
    rows.append(balance)
    cols.append(stock)
    vals.append(np.ones(n_pairs * T))
    later = balance[(balance % T) > 0]
    rows.append(later)
    cols.append(stock[later - 1])
    vals.append(-np.ones(len(later)))
    dst_pair = net.pair_of[flow.product, net.lane_to[flow.lane]]
    rows.append(dst_pair * T + flow.day)
    cols.append(flow.cols)
    vals.append(-np.ones(len(flow.cols)))
    src_pair = net.pair_of[flow.product, net.lane_from[flow.lane]]
    out = src_pair >= 0
    rows.append(src_pair[out] * T + flow.day[out])
    cols.append(flow.cols[out])
    vals.append(np.ones(out.sum()))
    rows.append(shortage.pair * T + shortage.day)
    cols.append(shortage.cols)
    vals.append(-np.ones(len(shortage.cols)))
    rhs = -net.demand.copy()
    rhs[:, 0] += net.start_stock
    rhs = rhs.ravel()
    mb.add_rows("stock_balance", n_pairs * T, np.concatenate(rows), np.concatenate(cols),
                np.concatenate(vals), lower=rhs, upper=rhs)


def define_stock_before_leaving(mb: ModelBuilder, net: Network, flow: Flows,
                                stock: np.ndarray) -> None:
    """(5), (6) ``ship_from_stock``: Σ out x[p, l→·, t] ≤ s[p, l, t−1].

    What leaves a warehouse or plant on day t was there at the end of day t−1.
    """
    T = net.n_days
    src_pair = net.pair_of[flow.product, net.lane_from[flow.lane]]
    out = src_pair >= 0
    key = src_pair[out] * T + flow.day[out]
    uniq, local = np.unique(key, return_inverse=True)
    u_pair, u_day = uniq // T, uniq % T
    prev = u_day > 0
    rows = [local, np.nonzero(prev)[0]]
    cols = [flow.cols[out], stock[u_pair[prev] * T + u_day[prev] - 1]]
    vals = [np.ones(out.sum()), -np.ones(prev.sum())]
    upper = np.where(prev, 0.0, net.start_stock[u_pair])
    mb.add_rows("ship_from_stock", len(uniq), np.concatenate(rows), np.concatenate(cols),
                np.concatenate(vals), upper=upper)


def define_storage_capacity(mb: ModelBuilder, net: Network, stock: np.ndarray) -> dict:
    """(7), (8) ``storage_capacity``: Σ_{p∈u} s[p, l, t] ≤ H[l, u], each category once.

    Returns the (location, category, day) of each row, for the diagnosis.
    """
    T, n_c = net.n_days, len(net.categories)
    group = net.pair_loc * n_c + net.product_cat[net.pair_product]
    groups, group_of_pair = np.unique(group, return_inverse=True)
    rows = (group_of_pair[:, None] * T + np.arange(T)[None, :]).ravel()
    upper = np.repeat(net.capacity[groups // n_c, groups % n_c], T)
    mb.add_rows("storage_capacity", len(groups) * T, rows, stock, 1.0, upper=upper)
    return {"loc": np.repeat(groups // n_c, T), "cat": np.repeat(groups % n_c, T),
            "day": np.tile(np.arange(T), len(groups))}


def define_truck_load(mb: ModelBuilder, net: Network, flow: Flows, trucks: Trucks) -> None:
    """(10)–(12) ``truck_load``: Σ_u Σ_{p∈u} x[p, lane, t] / Cap_u ≤ y[lane, t]."""
    T, n = net.n_days, len(trucks.cols)
    rows = trucks.position[flow.lane * T + flow.day]
    mb.add_rows("truck_load", n, np.concatenate([rows, np.arange(n)]),
                np.concatenate([flow.cols, trucks.cols]),
                np.concatenate([1.0 / net.truck_capacity[net.product_cat[flow.product]],
                                -np.ones(n)]), upper=0.0)


def define_supplier_whole_trucks(mb: ModelBuilder, net: Network, trucks: Trucks,
                                 max_sets: int = 8) -> None:
    """``supplier_trucks`` cuts: Σ_{lanes in A} y[lane, t] ≥ ⌈load only lanes in A can take⌉.

    Everything a supplier receives leaves the same day (2), so its day's load is fixed:
    the lanes that can take a set of its products need that load rounded up in whole
    trucks, where the LP relaxation alone asks only for the fractional load. For each
    supplier and day the supply is grouped by the set of its lanes that can take the
    product; every union A of up to ``max_sets`` of the heaviest such sets gets a row
    when its whole-truck need rounds up.
    """
    T, pair_of = net.n_days, net.pair_of
    truck_cap = net.truck_capacity[net.product_cat]  # per product
    rows, positions, lower = [], [], []
    for i in np.unique(net.supply_supplier):
        lanes = np.nonzero(net.lane_from == i)[0]
        if len(lanes) == 0:
            continue
        recs = np.nonzero(net.supply_supplier == i)[0]
        # allowed[r, j]: supply record r can go on lane j of this supplier
        allowed = pair_of[net.supply_product[recs][:, None], net.lane_to[lanes][None, :]] >= 0
        for t in np.unique(net.supply_day[recs]):
            on_day = net.supply_day[recs] == t
            day_recs = recs[on_day]
            keys = allowed[on_day].astype(np.int64) @ (1 << np.arange(len(lanes)))
            sets, group = np.unique(keys, return_inverse=True)
            loads = np.bincount(group, weights=net.supply_pallets[day_recs]
                                / truck_cap[net.supply_product[day_recs]])
            heavy = sets[np.argsort(-loads)][:max_sets]
            unions = {0}
            for lane_set in heavy:
                unions |= {u | int(lane_set) for u in unions}
            for u in sorted(unions - {0}):
                need = loads[(sets & ~u) == 0].sum()
                whole = math.ceil(need - 1e-6)
                if whole - need < 1e-6 or whole == 0:
                    continue  # the LP already asks for as much
                members = [j for j in range(len(lanes)) if u >> j & 1]
                pos = trucks.position[lanes[members] * T + t]
                pos = pos[pos >= 0]
                rows.append(np.full(len(pos), len(lower)))
                positions.append(pos)
                lower.append(float(whole))
    if lower:
        mb.add_rows("supplier_trucks", len(lower), np.concatenate(rows),
                    trucks.cols[np.concatenate(positions)], 1.0, lower=np.array(lower))


def define_whole_pallet_deliveries(mb: ModelBuilder, net: Network, flow: Flows,
                                   shortage: Shortages) -> None:
    """Valid cuts where a plant's cumulative demand is fractional and pallets are whole.

    By the end of day t the whole pallets of p that came into plant k, less those that
    left, X (an integer), and the shortages L cover c = cumulative demand − start stock,
    since the stock stays ≥ 0: X + L ≥ c. With f = c − ⌊c⌋ > 0 the mixed-integer rounding
    of that row, X + L / f ≥ ⌈c⌉, holds for every whole-pallet plan (X ≥ ⌈c⌉, or L ≥ c − X
    ≥ f (⌈c⌉ − X)). The LP relaxation delivers exactly c; these rows make it hold the
    rest of the last pallet or pay for its shortage, as whole pallets must. Demand is
    whole in most workbooks; a demand_factor of 1.1 makes it fractional.
    """
    if not net.integer_pallets:
        return
    T = net.n_days
    cum = np.cumsum(net.demand, axis=1) - net.start_stock[:, None]  # c[pair, t]
    frac = cum - np.floor(cum)
    # c > 0 only where the pair has demand (its start stock is ≥ 0)
    pair, day = np.nonzero((cum > 1e-9) & (frac > 1e-6) & (frac < 1 - 1e-6))
    if not len(pair):
        return
    row_of = np.full(cum.shape, -1, dtype=np.int64)
    row_of[pair, day] = np.arange(len(pair))
    rows, cols, vals = [], [], []

    def add(col: np.ndarray, col_pair: np.ndarray, col_day: np.ndarray, sign: float,
            over_f: bool = False) -> None:
        """Each column in every row of its pair from its day on, × sign (/ f)."""
        for t in range(T):
            r = np.where((col_pair >= 0) & (col_day <= t), row_of[np.maximum(col_pair, 0), t], -1)
            has = r >= 0
            rows.append(r[has])
            cols.append(col[has])
            vals.append(sign / frac[pair[r[has]], day[r[has]]] if over_f
                        else np.full(has.sum(), sign))

    add(flow.cols, net.pair_of[flow.product, net.lane_to[flow.lane]], flow.day, 1.0)  # in
    add(flow.cols, net.pair_of[flow.product, net.lane_from[flow.lane]], flow.day, -1.0)  # out
    add(shortage.cols, shortage.pair, shortage.day, 1.0, over_f=True)
    mb.add_rows("whole_pallet_deliveries", len(pair), np.concatenate(rows),
                np.concatenate(cols), np.concatenate(vals), lower=np.ceil(cum[pair, day]))


def define_plant_reception(mb: ModelBuilder, net: Network, trucks: Trucks) -> list:
    """(9) ``plant_reception``: Σ_{lanes into k} y[·, t] ≤ N_k (when use_reception_limit).

    Returns (plant, day, limit) per row, for the diagnosis.
    """
    reception_rows = []
    rows, cols, upper = [], [], []
    for k, n_k in net.reception.items():
        into = net.lane_to[trucks.lane] == k
        for t in range(net.n_days):
            m = into & (trucks.day == t)
            if m.any():
                rows.append(np.full(m.sum(), len(upper)))
                cols.append(trucks.cols[m])
                upper.append(n_k)
                reception_rows.append((k, t, n_k))
    if upper:
        mb.add_rows("plant_reception", len(upper), np.concatenate(rows), np.concatenate(cols),
                    1.0, upper=np.array(upper))
    return reception_rows


# ---------------------------------------------------------------------------
# Objective


def define_objective(n_cols: int, net: Network, flow: Flows, stock: np.ndarray,
                     shortage: Shortages, trucks: Trucks) -> np.ndarray:
    """(1) Cost per column: Σ C·x + Σ WC·s + Σ TC·y + G·Σ l."""
    cost = np.zeros(n_cols)
    cost[flow.cols] = net.lane_pallet_cost[flow.lane]  # C[lane] per pallet
    pair_cost = net.storage_cost[net.pair_loc, net.product_cat[net.pair_product]]
    cost[stock] = np.repeat(pair_cost, net.n_days)  # WC per pallet-day
    cost[shortage.cols] = net.shortage_penalty  # G
    cost[trucks.cols] = net.lane_truck_cost[trucks.lane]  # TC per truck
    return cost
