"""The production–distribution MILP (DESIGN.md §3.1; thesis chapter 3, eqs. 1–12).

Built with arrays: every family of variables and constraints is added in one call from
index arrays, so the thesis-scale model (≈400k columns) builds in well under a second.
Only variables that can be non-zero exist: a product moves on a lane only when both
ends can hold it, a supplier lane carries a product only on the days it is supplied.

Notation (thesis → code):
  X, X', X'', X'''  flow[product, lane, day]        pallets moved (one family: lanes)
  S', S''           stock[product, location, day]   end-of-day stock
  L                 shortage[product, plant, day]   demand not met
  Y, Y', Y'', Y'''  trucks[lane, day]               whole trucks
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import highs
from ..highs import INF, LinearProgram, ModelBuilder, SolveOptions, SolveResult
from ..progress import NULL, Progress
from .data import Instance

# Below this many columns the full MIP goes to HiGHS directly; above, the staged
# solve (continuous flows → repair → full MIP from the repaired start) is used, because
# HiGHS finds no integer-pallet plan by itself at scale (see DESIGN.md §4).
STAGED_MIN_COLUMNS = 4000


@dataclass
class Built:
    """The LP plus the index arrays that say what each column and row means."""

    lp: LinearProgram
    locations: list[str]
    loc_type: np.ndarray  # per location: supplier | warehouse | plant
    products: list[str]
    product_cat: np.ndarray  # category index per product
    categories: list[str]
    truck_capacity: np.ndarray  # Cap_u per category
    lane_from: np.ndarray
    lane_to: np.ndarray
    lane_truck_cost: np.ndarray
    lane_pallet_cost: np.ndarray
    n_days: int
    # columns
    flow_cols: np.ndarray
    flow_product: np.ndarray
    flow_lane: np.ndarray
    flow_day: np.ndarray  # 0-based
    flow_truck: np.ndarray  # position in truck_cols of the (lane, day) of each flow
    pair_product: np.ndarray  # holdable (product, location) pairs
    pair_loc: np.ndarray
    stock_cols: np.ndarray  # pair-major: pair * n_days + day
    short_cols: np.ndarray
    short_product: np.ndarray
    short_plant: np.ndarray
    short_day: np.ndarray
    short_demand: np.ndarray
    truck_cols: np.ndarray
    truck_lane: np.ndarray
    truck_day: np.ndarray
    # data after scenario factors (for reports and checks)
    start_stock: np.ndarray  # per pair
    demand: np.ndarray  # per pair × day
    capacity: np.ndarray  # locations × categories, after plant_capacity_factor
    storage_cost: np.ndarray  # locations × categories
    storage_rows: dict = field(default_factory=dict)  # (loc, cat, day) per row, for diagnosis
    reception_rows: list = field(default_factory=list)  # (plant, day, limit)
    row_families: dict = field(default_factory=dict)  # name -> (first row, end row)
    # for the constructive heuristic
    pair_of: np.ndarray | None = None  # products × locations -> pair index or -1
    supply: tuple = ()  # (product, supplier, day, pallets) arrays after supply_factor
    lane_max: np.ndarray | None = None  # max trucks per lane (nan = none)
    reception: dict = field(default_factory=dict)  # plant -> max inbound trucks per day
    integer_pallets: bool = True
    build_seconds: float = 0.0
    # The same model with surplus products merged (``aggregate_surplus``): a smaller
    # relaxation whose LP gives the bound and the truck loads; None when nothing merges.
    bound_model: Built | None = None


def build(inst: Instance, with_bound_model: bool = True) -> Built:
    """Build the MILP of DESIGN.md §3.1 from an instance and its settings.

    min Σ C·X + Σ WC·S + Σ TC·Y + G·Σ L                                  (1)
    s.t. Σ_b X[p,i→b,t] = S[p,i,t]                    suppliers            (2)
         S[p,l,t-1] + Σ in − Σ out − D[p,l,t] + L = S[p,l,t]   balance     (3), (4)
         Σ out X[p,l→·,t] ≤ S[p,l,t-1]                 ship from stock     (5), (6)
         Σ_{p∈u} S[p,l,t] ≤ H[l,u] (× plant_capacity_factor at plants)     (7), (8)
         Σ_{lanes into k} Y[·,t] ≤ N_k                 reception            (9)
         Σ_u Σ_{p∈u} X[p,lane,t] / Cap_u ≤ Y[lane,t]   trucks             (10)–(12)
         Σ_{supplier lanes in S} Y[·,t] ≥ ⌈fixed load only S can take⌉   cuts (ours)
    """
    t0 = time.perf_counter()
    s = inst.settings
    T = inst.n_days
    integer_pallets = bool(s.get("integer_pallets", True))

    categories = list(inst.categories["category"])
    cat_idx = {c: i for i, c in enumerate(categories)}
    truck_capacity = inst.categories["truck_capacity"].to_numpy(float)
    products = list(inst.products["product"])
    prod_idx = {p: i for i, p in enumerate(products)}
    product_cat = np.array([cat_idx[c] for c in inst.products["category"]], dtype=np.int64)
    locations = list(inst.locations["location"])
    loc_idx = {l: i for i, l in enumerate(locations)}
    loc_type = inst.locations["type"].to_numpy(object)
    is_store = np.isin(loc_type, ["warehouse", "plant"])
    is_plant = loc_type == "plant"
    n_p, n_l = len(products), len(locations)

    capacity = np.zeros((n_l, len(categories)))
    storage_cost = np.zeros((n_l, len(categories)))
    for l, c, cap, cost in inst.storage[["location", "category", "capacity",
                                         "cost_per_pallet_day"]].itertuples(index=False):
        capacity[loc_idx[l], cat_idx[c]] = cap
        storage_cost[loc_idx[l], cat_idx[c]] = cost or 0.0
    capacity[is_plant] *= float(s.get("plant_capacity_factor", 1.0))

    # Supply (after supply_factor; whole pallets when integer_pallets).
    sup_p = inst.supply["product"].map(prod_idx).to_numpy(np.int64)
    sup_i = inst.supply["supplier"].map(loc_idx).to_numpy(np.int64)
    sup_t = inst.supply["day"].to_numpy(np.int64) - 1
    sup_q = inst.supply["pallets"].to_numpy(float) * float(s.get("supply_factor", 1.0))
    if integer_pallets:
        sup_q = np.round(sup_q)
    keep = sup_q > 0
    sup_p, sup_i, sup_t, sup_q = sup_p[keep], sup_i[keep], sup_t[keep], sup_q[keep]

    dem_p = inst.demand["product"].map(prod_idx).to_numpy(np.int64)
    dem_k = inst.demand["plant"].map(loc_idx).to_numpy(np.int64)
    dem_t = inst.demand["day"].to_numpy(np.int64) - 1
    dem_q = inst.demand["pallets"].to_numpy(float) * float(s.get("demand_factor", 1.0))
    keep = dem_q > 0
    dem_p, dem_k, dem_t, dem_q = dem_p[keep], dem_k[keep], dem_t[keep], dem_q[keep]

    st_p = inst.start["product"].map(prod_idx).to_numpy(np.int64)
    st_l = inst.start["location"].map(loc_idx).to_numpy(np.int64)
    st_q = inst.start["pallets"].to_numpy(float)

    # Products that ever exist somewhere; only they can move or be stored.
    active = np.zeros(n_p, bool)
    active[sup_p] = True
    active[st_p[st_q > 0]] = True
    # Holdable (product, location) pairs: the location stores the product's category and
    # the product exists, or the product starts there, or the plant consumes it.
    holdable = np.zeros((n_p, n_l), bool)
    holdable |= (capacity[:, product_cat].T > 0) & active[:, None] & is_store[None, :]
    holdable[st_p[st_q > 0], st_l[st_q > 0]] = True
    holdable[dem_p, dem_k] = True
    pair_product, pair_loc = np.nonzero(holdable)
    n_pairs = len(pair_product)
    pair_of = np.full((n_p, n_l), -1, dtype=np.int64)
    pair_of[pair_product, pair_loc] = np.arange(n_pairs)

    start_stock = np.zeros(n_pairs)
    np.add.at(start_stock, pair_of[st_p, st_l], st_q)
    demand = np.zeros((n_pairs, T))
    np.add.at(demand, (pair_of[dem_p, dem_k], dem_t), dem_q)

    lane_from = inst.lanes["from"].map(loc_idx).to_numpy(np.int64)
    lane_to = inst.lanes["to"].map(loc_idx).to_numpy(np.int64)
    lane_truck_cost = inst.lanes["truck_cost"].to_numpy(float)
    lane_pallet_cost = inst.lanes["pallet_cost"].fillna(0.0).to_numpy(float)
    lane_max = inst.lanes["max_trucks"].to_numpy(float, na_value=np.nan)

    first_day = _first_days(T, n_p, n_l, pair_of, st_p, st_l, st_q, sup_p, sup_i, sup_t,
                            lane_from, lane_to, loc_type)

    # --- flow candidates -------------------------------------------------------
    # Supplier lanes carry a product only on its delivery days; a lane from a store
    # carries it only from the day after it can first be there (eqs. 5, 6).
    fp, fl, ft, fub = [], [], [], []
    for lane, (a, b) in enumerate(zip(lane_from, lane_to)):
        if loc_type[a] == "supplier":
            m = (sup_i == a) & (pair_of[sup_p, b] >= 0)
            fp.append(sup_p[m]); ft.append(sup_t[m]); fub.append(sup_q[m])
            fl.append(np.full(m.sum(), lane))
        else:
            prods = np.nonzero((pair_of[:, a] >= 0) & (pair_of[:, b] >= 0) & active)[0]
            days = np.tile(np.arange(T), len(prods))
            prods = np.repeat(prods, T)
            ok = days >= first_day[prods, a] + 1
            fp.append(prods[ok]); ft.append(days[ok])
            fub.append(np.full(ok.sum(), INF)); fl.append(np.full(ok.sum(), lane))
    flow_product = np.concatenate(fp) if fp else np.zeros(0, np.int64)
    flow_lane = np.concatenate(fl).astype(np.int64) if fl else np.zeros(0, np.int64)
    flow_day = np.concatenate(ft).astype(np.int64) if ft else np.zeros(0, np.int64)
    flow_ub = np.concatenate(fub) if fub else np.zeros(0)

    # Trucks exist for each (lane, day) that carries a flow candidate.
    lane_day = np.unique(flow_lane * T + flow_day)
    truck_lane, truck_day = lane_day // T, lane_day % T
    truck_pos = np.full(len(lane_from) * T, -1, dtype=np.int64)
    truck_pos[lane_day] = np.arange(len(lane_day))
    load = flow_ub / truck_capacity[product_cat[flow_product]]  # truckloads per flow, upper
    # Tight truck bound: what the lane could carry that day (supplier lanes: the day's
    # supply; store lanes: what fits in the origin), and max_trucks when given.
    src_cap = np.zeros(n_l)
    for l in range(n_l):
        inside = pair_loc == l
        per_cat = np.bincount(product_cat[pair_product[inside]], weights=start_stock[inside],
                              minlength=len(categories))
        src_cap[l] = np.sum(np.maximum(capacity[l], per_cat) / truck_capacity)
    truck_ub = np.full(len(lane_day), INF)
    sup_lane = loc_type[lane_from[truck_lane]] == "supplier"
    finite = np.isfinite(load)
    loads = np.bincount(truck_pos[flow_lane[finite] * T + flow_day[finite]],
                        weights=load[finite], minlength=len(lane_day))
    truck_ub[sup_lane] = np.ceil(loads[sup_lane] - 1e-9)
    truck_ub[~sup_lane] = np.ceil(src_cap[lane_from[truck_lane[~sup_lane]]] - 1e-9)
    mx = lane_max[truck_lane]
    truck_ub = np.where(np.isnan(mx), truck_ub, np.minimum(truck_ub, np.floor(mx)))

    # Shortage: only where there is demand; at most the demand.
    short_pair, short_day = np.nonzero(demand > 0)
    short_demand = demand[short_pair, short_day]

    # --- variables ---------------------------------------------------------------
    mb = ModelBuilder()
    flow_cols = mb.add_vars("flow", len(flow_product), cost=lane_pallet_cost[flow_lane],
                            upper=flow_ub, integer=integer_pallets)  # X
    stock_cost = storage_cost[pair_loc, product_cat[pair_product]]
    # No stock before a product can first be at a location.
    stock_ub = np.where(np.arange(T)[None, :] >= first_day[pair_product, pair_loc][:, None],
                        INF, 0.0).ravel()
    stock_cols = mb.add_vars("stock", n_pairs * T, cost=np.repeat(stock_cost, T),
                             upper=stock_ub)  # S', S''
    penalty = float(s.get("shortage_penalty", 500.0))
    short_cols = mb.add_vars("shortage", len(short_pair), cost=penalty,
                             upper=short_demand)  # L
    truck_cols = mb.add_vars("trucks", len(lane_day), cost=lane_truck_cost[truck_lane],
                             upper=truck_ub, integer=True)  # Y

    # --- (2) suppliers ship everything the day it arrives ---------------------------
    sup_lanes = loc_type[lane_from[flow_lane]] == "supplier"
    rec_key = sup_i * (n_p * T) + sup_p * T + sup_t
    order = np.argsort(rec_key)
    fkey = lane_from[flow_lane[sup_lanes]] * (n_p * T) + flow_product[sup_lanes] * T + flow_day[
        sup_lanes]
    row_of_flow = order[np.searchsorted(rec_key[order], fkey)]
    mb.add_rows("supplier_ship_all", len(sup_q), row_of_flow, flow_cols[sup_lanes], 1.0,
                lower=sup_q, upper=sup_q)

    # --- (3), (4) balance per holdable pair and day --------------------------------
    # S[t] − S[t−1] − in + out − L = −D   (S[−1] = start stock, moved to the right side)
    rows, cols, vals = [], [], []
    bal = np.arange(n_pairs * T)
    rows += [bal]; cols += [stock_cols]; vals += [np.ones(n_pairs * T)]
    later = bal[(bal % T) > 0]
    rows += [later]; cols += [stock_cols[later - 1]]; vals += [-np.ones(len(later))]
    dst_pair = pair_of[flow_product, lane_to[flow_lane]]
    rows += [dst_pair * T + flow_day]; cols += [flow_cols]; vals += [-np.ones(len(flow_cols))]
    src_pair = pair_of[flow_product, lane_from[flow_lane]]
    out = src_pair >= 0
    rows += [src_pair[out] * T + flow_day[out]]; cols += [flow_cols[out]]
    vals += [np.ones(out.sum())]
    rows += [short_pair * T + short_day]; cols += [short_cols]; vals += [-np.ones(len(short_cols))]
    rhs = -demand.copy()
    rhs[:, 0] += start_stock
    rhs = rhs.ravel()
    mb.add_rows("stock_balance", n_pairs * T, np.concatenate(rows), np.concatenate(cols),
                np.concatenate(vals), lower=rhs, upper=rhs)

    # --- (5), (6) what leaves a location on day t was in stock at the end of t−1 ------
    key = src_pair[out] * T + flow_day[out]
    uniq, local = np.unique(key, return_inverse=True)
    u_pair, u_day = uniq // T, uniq % T
    r = [local]; c = [flow_cols[out]]; v = [np.ones(out.sum())]
    prev = u_day > 0
    r.append(np.nonzero(prev)[0]); c.append(stock_cols[u_pair[prev] * T + u_day[prev] - 1])
    v.append(-np.ones(prev.sum()))
    ub = np.where(prev, 0.0, start_stock[u_pair])
    mb.add_rows("ship_from_stock", len(uniq), np.concatenate(r), np.concatenate(c),
                np.concatenate(v), upper=ub)

    # --- (7), (8) storage capacity per location, category and day ---------------------
    pair_cat = product_cat[pair_product]
    group = pair_loc * len(categories) + pair_cat
    ugroup, ginv = np.unique(group, return_inverse=True)
    n_g = len(ugroup)
    g_rows = (ginv[:, None] * T + np.arange(T)[None, :]).ravel()
    g_cap = np.repeat(capacity[ugroup // len(categories), ugroup % len(categories)], T)
    mb.add_rows("storage_capacity", n_g * T, g_rows, stock_cols, 1.0, upper=g_cap)
    storage_rows = {"loc": np.repeat(ugroup // len(categories), T),
                    "cat": np.repeat(ugroup % len(categories), T),
                    "day": np.tile(np.arange(T), n_g)}

    # --- (10)–(12) enough trucks on each lane and day -------------------------------
    tr_row = truck_pos[flow_lane * T + flow_day]
    mb.add_rows("truck_load", len(lane_day),
                np.concatenate([tr_row, np.arange(len(lane_day))]),
                np.concatenate([flow_cols, truck_cols]),
                np.concatenate([1.0 / truck_capacity[product_cat[flow_product]],
                                -np.ones(len(lane_day))]), upper=0.0)

    # --- whole trucks out of each supplier and day (valid cuts) ------------------------
    # Everything a supplier receives leaves the same day (2), so its day's load is fixed:
    # the lanes that can take a set of its products need at least that load rounded up
    # in whole trucks. The LP relaxation alone only asks for the fractional load.
    cover = _supplier_truck_cover(T, sup_p, sup_i, sup_t, sup_q, truck_capacity[product_cat],
                                  pair_of, lane_from, lane_to, truck_pos)
    if cover[2]:
        mb.add_rows("supplier_trucks", len(cover[2]), cover[0], truck_cols[cover[1]], 1.0,
                    lower=np.array(cover[2]))

    # --- (9) truck reception at plants -------------------------------------------------
    reception_rows = []
    if s.get("use_reception_limit", True):
        limits = dict(zip(inst.locations["location"], inst.locations["max_inbound_trucks"]))
        rr, rc, rub = [], [], []
        for k in np.nonzero(is_plant)[0]:
            n_k = limits.get(locations[k])
            if n_k is None or (isinstance(n_k, float) and math.isnan(n_k)):
                continue
            into = lane_to[truck_lane] == k
            for t in range(T):
                m = into & (truck_day == t)
                if m.any():
                    rr.append(np.full(m.sum(), len(rub))); rc.append(truck_cols[m])
                    rub.append(float(n_k)); reception_rows.append((k, t, float(n_k)))
        if rub:
            mb.add_rows("plant_reception", len(rub), np.concatenate(rr), np.concatenate(rc),
                        1.0, upper=np.array(rub))

    lp = mb.build()
    built = Built(
        lp=lp, locations=locations, loc_type=loc_type, products=products,
        product_cat=product_cat, categories=categories, truck_capacity=truck_capacity,
        lane_from=lane_from, lane_to=lane_to, lane_truck_cost=lane_truck_cost,
        lane_pallet_cost=lane_pallet_cost, n_days=T,
        flow_cols=flow_cols, flow_product=flow_product, flow_lane=flow_lane, flow_day=flow_day,
        flow_truck=truck_pos[flow_lane * T + flow_day],
        pair_product=pair_product, pair_loc=pair_loc, stock_cols=stock_cols,
        short_cols=short_cols, short_product=pair_product[short_pair],
        short_plant=pair_loc[short_pair], short_day=short_day, short_demand=short_demand,
        truck_cols=truck_cols, truck_lane=truck_lane, truck_day=truck_day,
        start_stock=start_stock, demand=demand, capacity=capacity, storage_cost=storage_cost,
        storage_rows=storage_rows, reception_rows=reception_rows,
        row_families=dict(mb.row_families), pair_of=pair_of,
        supply=(sup_p, sup_i, sup_t, sup_q), lane_max=lane_max,
        reception={k: n for k, t, n in reception_rows}, integer_pallets=integer_pallets,
        build_seconds=time.perf_counter() - t0,
    )
    if with_bound_model and lp.n_cols >= STAGED_MIN_COLUMNS:
        merged = aggregate_surplus(inst)
        if merged is not None:
            built.bound_model = build(merged, with_bound_model=False)
    built.build_seconds = time.perf_counter() - t0
    return built


# Products merged by ``aggregate_surplus`` are named like this (not a valid product name
# from a sheet, so it cannot collide).
SURPLUS = "\x00surplus "


def aggregate_surplus(inst: Instance) -> Instance | None:
    """The instance with every *covered* product of a category merged into one product.

    A product is covered when its start stock at each plant is at least its demand there
    over the whole horizon (after ``demand_factor``): its own plant stock meets its
    demand, and all its other pallets are surplus that only costs storage and room —
    any covered pallet of a category is as good as another. Merging products of one
    category is a relaxation (every plan of the full model is a plan of the merged one at
    the same cost: costs and capacities depend on the category only), so the merged
    model's LP is a valid bound; for covered products it loses nothing in practice (the
    thesis-scale example: same LP bound, a third of the columns, LP 3× faster).
    None when fewer than two products merge.
    """
    plants = set(inst.locations.loc[inst.locations["type"] == "plant", "location"])
    factor = float(inst.settings.get("demand_factor", 1.0))
    need = (inst.demand.groupby(["product", "plant"])["pallets"].sum() * factor)
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


def _supplier_truck_cover(T, sup_p, sup_i, sup_t, sup_q, product_truck_cap, pair_of, lane_from,
                          lane_to, truck_pos, max_sets: int = 8):
    """Rows Σ_{lanes in S} Y[lane, t] ≥ ⌈load that only lanes in S can take⌉.

    For each supplier and day: group its supply by the set of its lanes that can take the
    product (the destination holds it); every union S of up to ``max_sets`` of the
    heaviest such sets gets a row when its whole-truck need rounds up. Returns (local
    row per coefficient, truck position per coefficient, lower bound per row).
    """
    rows, tpos, lower = [], [], []
    for i in np.unique(sup_i):
        lanes = np.nonzero(lane_from == i)[0]
        if len(lanes) == 0:
            continue
        # allowed[r, j]: supply record r can go on lane j of this supplier
        recs = np.nonzero(sup_i == i)[0]
        allowed = pair_of[sup_p[recs][:, None], lane_to[lanes][None, :]] >= 0
        for t in np.unique(sup_t[recs]):
            on_day = sup_t[recs] == t
            day_recs = recs[on_day]
            keys = allowed[on_day].astype(np.int64) @ (1 << np.arange(len(lanes)))
            sets, group = np.unique(keys, return_inverse=True)
            loads = np.bincount(group, weights=sup_q[day_recs] / product_truck_cap[
                sup_p[day_recs]])
            heavy = sets[np.argsort(-loads)][:max_sets]
            unions = {0}
            for s in heavy:
                unions |= {u | int(s) for u in unions}
            for u in sorted(unions - {0}):
                need = loads[(sets & ~u) == 0].sum()
                whole = math.ceil(need - 1e-6)
                if whole - need < 1e-6 or whole == 0:
                    continue  # the LP already asks for as much
                members = [j for j in range(len(lanes)) if u >> j & 1]
                pos = truck_pos[lanes[members] * T + t]
                pos = pos[pos >= 0]
                rows.append(np.full(len(pos), len(lower))); tpos.append(pos)
                lower.append(float(whole))
    if not lower:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), []
    return np.concatenate(rows), np.concatenate(tpos), lower


def _first_days(T, n_p, n_l, pair_of, st_p, st_l, st_q, sup_p, sup_i, sup_t, lane_from,
                lane_to, loc_type) -> np.ndarray:
    """First day (0-based) at whose end each product can be in stock at each location.

    −1 where it starts there, its delivery day where a supplier lane brings it, and one
    day after it can be at the origin of a lane from a warehouse or plant (what leaves a
    location was there the night before). ``T`` = never.
    """
    first = np.full((n_p, n_l), T, dtype=np.int64)
    has = st_q > 0
    first[st_p[has], st_l[has]] = -1
    for a, b in zip(lane_from, lane_to):
        if loc_type[a] == "supplier":
            m = sup_i == a
            np.minimum.at(first[:, b], sup_p[m], sup_t[m])
    first[pair_of < 0] = T
    store_lanes = [(a, b) for a, b in zip(lane_from, lane_to) if loc_type[a] != "supplier"]
    for _ in range(n_l):
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
# Solving


@dataclass
class Solution:
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


def _with(lp: LinearProgram, **changes) -> LinearProgram:
    return LinearProgram(**{**lp.__dict__, **changes})


def solve(built: Built, settings: dict, progress: Progress = NULL) -> Solution:
    """Solve the model within ``time_limit_s`` (wall clock, building included).

    Small models go to HiGHS as they are, started from a constructive plan
    (``heuristic.greedy_plan``). At scale, HiGHS alone finds no plan with whole pallets
    (DESIGN.md §4) and improves poorly on a given one, so the solve is staged:

    0. the constructive plan: a whole-pallet plan in well under a second, kept if
       nothing better is found in time;
    1. LP relaxation of the merged model (``aggregate_surplus``) with the whole-truck
       rows out of suppliers (``_supplier_truck_cover``): the bound, and the trucks a
       fractional plan needs per lane and day;
    2. whole pallets and trucks with trucks capped at those loads rounded up: lanes and
       days the LP leaves empty close, so presolve leaves a small MIP;
    3. with time left, a better truck choice within the same caps with continuous
       pallets, started from the best plan, then whole pallets for exactly those trucks
       (integer pallets cost almost nothing once the trucks are right).
    The reported bound is the best valid bound; the plan the cheapest whole plan found.
    """
    t_start = time.perf_counter()
    limit = float(settings.get("time_limit_s", 300.0))
    gap = float(settings.get("mip_gap", 1e-3))
    lp = built.lp
    stages: list[dict] = []

    def left() -> float:
        return limit - built.build_seconds - (time.perf_counter() - t_start)

    def remaining() -> float:
        return max(0.5, left())

    def run(name: str, model: LinearProgram, budget: float, start=None) -> SolveResult:
        if left() < 1.0:  # the time limit is a promise: start nothing more
            stages.append({"stage": name, "status": "skipped (time limit)", "objective": None,
                           "bound": None, "seconds": 0.0})
            return SolveResult(highs.TIME_LIMIT)
        progress.status(f"Solving: {name}…")
        budget = min(max(0.5, budget), left())

        def show(msg: dict) -> None:  # seconds used of this stage's budget
            progress.step(min(int(msg.get("seconds", 0)), int(budget)), int(budget) or 1, name)

        res = highs.solve(model, SolveOptions(time_limit=budget, mip_gap=gap, start=start),
                          progress=show)
        stages.append({"stage": name, "status": res.status, "objective": res.objective,
                       "bound": res.bound, "seconds": round(res.solve_seconds, 2)})
        return res

    from .heuristic import greedy_plan  # imports Built from here

    greedy = greedy_plan(built)
    if greedy is not None:
        obj = float(lp.cost @ greedy)
        stages.append({"stage": "constructive plan", "status": "feasible", "objective": obj,
                       "bound": None, "seconds": round(time.perf_counter() - t_start, 2)})
        greedy_result = SolveResult(highs.TIME_LIMIT, x=greedy, objective=obj)
    staged = (bool(settings.get("integer_pallets", True)) and lp.n_cols >= STAGED_MIN_COLUMNS
              and len(built.flow_cols) > 0)
    if not staged:
        res = run("full model", lp, remaining(), start=greedy)
        if res.x is None and greedy is not None and res.status != highs.INFEASIBLE:
            return _solution(greedy_result, res.bound, built, t_start, stages, gap)
        return _solution(res, res.bound, built, t_start, stages, gap)

    # 1. LP relaxation (of the merged model when there is one: same bound, faster): the
    #    first valid bound and the truck loads of a fractional plan.
    best = greedy_result if greedy is not None else None
    relax_of = built.bound_model or built
    r0 = run("LP relaxation", _with(relax_of.lp, integrality=np.zeros(relax_of.lp.n_cols,
                                                                       np.int32)),
             0.5 * remaining())
    if r0.status == highs.INFEASIBLE:
        return _solution(r0, None, built, t_start, stages, gap)
    if r0.x is None:
        return _solution(best or r0, None, built, t_start, stages, gap)
    bound = r0.objective
    # Trucks at most the LP's loads rounded up: lanes and days the LP leaves empty close,
    # which presolve turns into a model a fraction of the size.
    capped = lp.upper.copy()
    capped[built.truck_cols] = np.minimum(np.ceil(_lp_trucks(built, relax_of, r0.x) - 1e-6),
                                          lp.upper[built.truck_cols])
    # 2. Whole pallets and trucks within those trucks.
    # Measured at thesis scale: this MIP finds its plan early and then mostly proves;
    # step 3 improves on it faster, so it gets the larger share.
    r1 = run("whole pallets within the LP's trucks", _with(lp, upper=capped),
             0.7 * remaining())
    if r1.x is not None and (best is None or r1.objective < best.objective):
        best = r1
    if best is None or _gap(best.objective, bound) <= gap or left() < 5.0:
        return _solution(best or r1, bound, built, t_start, stages, gap)
    # 3. A better truck choice: the same trucks' limits with continuous pallets, from the
    #    best plan (HiGHS improves truck choices far better without integer pallets) ...
    r2 = run("truck choice, continuous pallets", _with(lp, upper=capped,
                                                       integrality=_flows_continuous(lp, built)),
             0.85 * remaining(), start=best.x)
    if r2.x is not None and r2.objective < best.objective - 1e-6:
        # ... then whole pallets for exactly those trucks.
        fixed = lp.upper.copy()
        fixed[built.truck_cols] = np.round(r2.x[built.truck_cols])
        r3 = run("whole pallets for those trucks", _with(lp, upper=fixed), remaining())
        if r3.x is not None and r3.objective < best.objective:
            best = r3
    return _solution(best, bound, built, t_start, stages, gap)


def _lp_trucks(built: Built, relax_of: Built, x: np.ndarray) -> np.ndarray:
    """Trucks per (lane, day) column of ``built`` from a solution ``x`` of ``relax_of``."""
    T = built.n_days
    where = np.full(len(built.lane_from) * T, -1, dtype=np.int64)
    where[relax_of.truck_lane * T + relax_of.truck_day] = relax_of.truck_cols
    cols = where[built.truck_lane * T + built.truck_day]
    return np.where(cols >= 0, x[np.maximum(cols, 0)], 0.0)


def _flows_continuous(lp: LinearProgram, built: Built) -> np.ndarray:
    integrality = lp.integrality.copy()
    integrality[built.flow_cols] = 0
    return integrality


def _gap(obj: float | None, bound: float | None) -> float:
    if obj is None or bound is None:
        return math.inf
    return abs(obj - bound) / max(abs(obj), 1e-9)


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
    g = _gap(obj, bound) if x is not None and bound is not None else None
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


# ---------------------------------------------------------------------------
# Infeasibility diagnosis


def diagnose(built: Built) -> list[dict]:
    """Where no plan can fit: overflow per (day, location, category) and extra trucks.

    Solves an elastic LP: every storage, reception and lane-truck limit gets a slack
    column; minimising the total slack shows which limits would have to grow.
    """
    lp = built.lp
    mb_rows = lp.n_rows
    # Rebuild rows with slacks appended as new columns.
    cap_lo, cap_hi = _family(built, "storage_capacity")
    rec_lo, rec_hi = _family(built, "plant_reception")
    slack_rows = np.concatenate([np.arange(cap_lo, cap_hi), np.arange(rec_lo, rec_hi)])
    n_s = len(slack_rows)
    # Truck upper bounds from max_trucks become rows with slacks too.
    ty = built.truck_cols
    n_t = len(ty)
    n_cols = lp.n_cols + n_s + n_t
    cost = np.zeros(n_cols)
    cost[lp.n_cols:] = 1.0
    lower = np.concatenate([lp.lower, np.zeros(n_s + n_t)])
    upper = np.concatenate([lp.upper, np.full(n_s + n_t, INF)])
    ty_ub = lp.upper[ty].copy()
    upper[ty] = INF
    starts = np.append(lp.a_start, lp.nnz)
    rows = np.repeat(np.arange(mb_rows), np.diff(starts))
    extra_r = [slack_rows, mb_rows + np.arange(n_t), mb_rows + np.arange(n_t)]
    extra_c = [lp.n_cols + np.arange(n_s), ty, lp.n_cols + n_s + np.arange(n_t)]
    extra_v = [-np.ones(n_s), np.ones(n_t), -np.ones(n_t)]
    all_r = np.concatenate([rows, *extra_r])
    all_c = np.concatenate([lp.a_index, *extra_c])
    all_v = np.concatenate([lp.a_value, *extra_v])
    start, index, value = highs.csr(all_r, all_c, all_v, mb_rows + n_t)
    elastic = LinearProgram(
        cost=cost, lower=lower, upper=upper, integrality=np.zeros(n_cols, np.int32),
        row_lower=np.concatenate([lp.row_lower, np.full(n_t, -INF)]),
        row_upper=np.concatenate([lp.row_upper, ty_ub]),
        a_start=start, a_index=index, a_value=value)
    res = highs.solve(elastic, SolveOptions(time_limit=60, isolate=False))
    if res.x is None:
        return []
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
            k, t, n_k = built.reception_rows[row - rec_lo]
            found.append({"kind": "reception", "day": t + 1, "location": built.locations[k],
                          "category": "", "excess": float(slack[j])})
    for j in np.nonzero(slack[n_s:] > 1e-6)[0]:
        lane = built.truck_lane[j]
        found.append({"kind": "lane_trucks", "day": int(built.truck_day[j]) + 1,
                      "location": f"{built.locations[built.lane_from[lane]]} -> "
                                  f"{built.locations[built.lane_to[lane]]}",
                      "category": "", "excess": float(slack[n_s + j])})
    return found


def _family(built: Built, name: str) -> tuple[int, int]:
    return built.row_families.get(name, (0, 0))
