"""Support for production–distribution tests: tiny networks, solving, and an independent
feasibility and cost checker that reads only the inputs and the ``Out`` tables
(:func:`check_plan` on clean frames, :func:`check_outcome` on raw sheets and an outcome)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pandas as pd

from solver_core import api
from solver_core.outputs import summary_items
from solver_core.production_distribution import SCHEMA
from solver_core.tables import Problems, Settings, parse_settings, parse_table, raw_frame


def raw_sheets(data: dict[str, pd.DataFrame], settings: dict) -> dict[str, pd.DataFrame]:
    """Raw sheets as a front end would read them (header row + values)."""
    raw = {}
    rows = [["setting", "value"], ["model", "production_distribution"]]
    rows += [[k, v] for k, v in settings.items()]
    raw["Settings"] = raw_frame(rows)
    for name, frame in data.items():
        values = [list(frame.columns)] + [[None if (isinstance(v, float) and math.isnan(v))
                                           else v for v in r] for r in frame.itertuples(
            index=False)]
        raw[name] = raw_frame(values)
    return raw


def network(
    *,
    truck_capacity=10,
    warehouse_capacity=100,
    plant_capacity=100,
    warehouse_cost=1.0,
    plant_cost=0.0,
    lanes=(("S", "W", 50, 0), ("S", "K", 100, 0), ("W", "K", 20, 0), ("K", "W", 40, 0)),
    start=(),
    supply=(),
    demand=(),
    max_inbound=None,
    products=(("p", "A"), ("q", "A")),
):
    """A one-supplier (S), one-warehouse (W), one-plant (K) network in one category A."""
    return {
        "Categories": pd.DataFrame({"category": ["A"], "truck_capacity": [truck_capacity]}),
        "Products": pd.DataFrame(list(products), columns=["product", "category"]),
        "Locations": pd.DataFrame([("S", "supplier", None), ("W", "warehouse", None),
                                   ("K", "plant", max_inbound)],
                                  columns=["location", "type", "max_inbound_trucks"]),
        "Storage": pd.DataFrame([("W", "A", warehouse_capacity, warehouse_cost),
                                 ("K", "A", plant_capacity, plant_cost)],
                                columns=["location", "category", "capacity",
                                         "cost_per_pallet_day"]),
        "Lanes": pd.DataFrame([tuple(lane) + (None,) * (5 - len(lane)) for lane in lanes],
                              columns=["from", "to", "truck_cost", "pallet_cost", "max_trucks"]),
        "StartInventory": pd.DataFrame(list(start), columns=["location", "product", "pallets"]),
        "Supply": pd.DataFrame(list(supply), columns=["supplier", "product", "day", "pallets"]),
        "Demand": pd.DataFrame(list(demand), columns=["plant", "product", "day", "pallets"]),
    }


def solve(data, **settings):
    """Solve through the same entry point as the front ends; returns (outcome, out tables)."""
    settings = {"time_limit_s": 60, "mip_gap": 0.0, **settings}
    outcome = api.solve(raw_sheets(data, settings))
    tables = {s.name: s.frame for s in outcome.sheets}
    return outcome, tables


def summary(tables) -> dict:
    return summary_items(tables)


def explode_demand(data) -> dict[tuple, float]:
    """Demand per (plant, product, day) in pallets: Demand + BOM explosion (own code)."""
    out: dict[tuple, float] = defaultdict(float)
    for r in data.get("Demand", pd.DataFrame()).itertuples(index=False):
        out[(r.plant, r.product, int(r.day))] += float(r.pallets)
    plan = data.get("ProductionPlan")
    if plan is not None and len(plan):
        bom = data["BOM"]
        upp = dict(zip(data["Products"]["product"], data["Products"]["units_per_pallet"]))
        kids = defaultdict(list)
        for fg, c, q in bom[["finished_good", "component", "quantity_per"]].itertuples(
                index=False):
            kids[fg].append((c, q))

        def add(plant, good, day, units):
            for c, q in kids[good]:
                if c in kids:
                    add(plant, c, day, units * q)
                else:
                    out[(plant, c, day)] += units * q / upp[c]

        for r in plan.itertuples(index=False):
            add(r.plant, r.finished_good, int(r.day), float(r.quantity))
    return dict(out)


def check_plan(data, settings, tables, tol=1e-6):
    """Recompute every constraint and the cost of the plan in the Out tables.

    Uses only the input tables and the Out sheets; nothing from the model code.
    Returns the recomputed cost components.
    """
    s = {**Settings.defaults(SCHEMA.settings), **settings}
    flows, trucks = tables["Out Flows"], tables["Out Trucks"]
    inv, short = tables["Out Inventory"], tables["Out Shortages"]
    cat = dict(zip(data["Products"]["product"], data["Products"]["category"]))
    tcap = dict(zip(data["Categories"]["category"], data["Categories"]["truck_capacity"]))
    ltype = dict(zip(data["Locations"]["location"], data["Locations"]["type"]))
    lanes = {(r["from"], r["to"]): r for _, r in data["Lanes"].iterrows()}
    cap = {(r.location, r.category): (r.capacity, r.cost_per_pallet_day)
           for r in data["Storage"].itertuples(index=False)}
    days = sorted({int(d) for d in data["Supply"]["day"]} | {int(k[2]) for k in
                                                             explode_demand(data)} | {1})
    T = int(s.get("horizon_days") or max(days))

    # flows only on listed lanes, with the product's category, whole pallets if asked
    for r in flows.itertuples(index=False):
        assert (r[1], r[2]) in lanes, f"flow on unlisted lane {r[1]}->{r[2]}"
        assert r.category == cat[r.product]
        assert r.pallets > -tol
        if s["integer_pallets"]:
            assert abs(r.pallets - round(r.pallets)) < 1e-6
    flow = defaultdict(float)
    for r in flows.itertuples(index=False):
        flow[(int(r.day), r[1], r[2], r.product)] += r.pallets

    # suppliers ship exactly what they deliver, the same day
    supplied = defaultdict(float)
    for r in data["Supply"].itertuples(index=False):
        q = r.pallets * s["supply_factor"]
        supplied[(r.supplier, r.product, int(r.day))] += round(q) if s["integer_pallets"] else q
    shipped = defaultdict(float)
    for (t, a, _, p), q in flow.items():
        if ltype[a] == "supplier":
            shipped[(a, p, t)] += q
    for k in set(supplied) | set(shipped):
        assert abs(supplied.get(k, 0) - shipped.get(k, 0)) < 1e-6, f"supplier {k}"

    # balances, shipping from previous stock, storage capacity
    demand = {k: v * s["demand_factor"] for k, v in explode_demand(data).items()}
    stock0 = defaultdict(float)
    for r in data["StartInventory"].itertuples(index=False):
        stock0[(r.location, r.product)] += r.pallets
    end = defaultdict(float)
    for r in inv.itertuples(index=False):
        end[(int(r.day), r.location, r.product)] += r.pallets
    shortage = defaultdict(float)
    for r in short.itertuples(index=False):
        shortage[(int(r.day), r.plant, r.product)] += r.pallets
    stores = [loc for loc, kind in ltype.items() if kind != "supplier"]
    products = list(cat)
    for loc in stores:
        for p in products:
            prev = stock0.get((loc, p), 0.0)
            for t in range(1, T + 1):
                inflow = sum(q for (d, a, b, pp), q in flow.items() if d == t and b == loc
                             and pp == p)
                outflow = sum(q for (d, a, b, pp), q in flow.items() if d == t and a == loc
                              and pp == p)
                assert outflow <= prev + tol, f"{loc} ships {outflow} of {p} on day {t} > {prev}"
                dem = demand.get((loc, p, t), 0.0)
                sh = shortage.get((t, loc, p), 0.0)
                assert -tol <= sh <= dem + tol
                now = prev + inflow - outflow - dem + sh
                assert abs(now - end.get((t, loc, p), 0.0)) < 1e-5, (
                    f"balance {loc} {p} day {t}: {now} vs {end.get((t, loc, p), 0.0)}")
                assert now > -tol
                prev = now
    for (loc, u), (c, _) in cap.items():
        limit = c * (s["plant_capacity_factor"] if ltype[loc] == "plant" else 1.0)
        for t in range(1, T + 1):
            held = sum(q for (d, at, p), q in end.items() if d == t and at == loc and cat[p] == u)
            assert held <= limit + 1e-6, f"storage {loc} {u} day {t}: {held} > {limit}"
    for (t, at, p), q in end.items():
        if q > tol:
            assert (at, cat[p]) in cap and t <= T, f"stock of {p} at {at} without storage"

    # trucks: enough for the load, within lane and reception limits
    ntrucks = defaultdict(int)
    for r in trucks.itertuples(index=False):
        ntrucks[(int(r.day), r[1], r[2])] += int(r.trucks)
    load = defaultdict(float)
    for (t, a, b, p), q in flow.items():
        load[(t, a, b)] += q / tcap[cat[p]]
    for k, truckloads in load.items():
        assert truckloads <= ntrucks.get(k, 0) + 1e-6, (
            f"trucks {k}: load {truckloads} > {ntrucks.get(k, 0)}")
    for (_, a, b), n in ntrucks.items():
        mx = lanes[(a, b)]["max_trucks"]
        if mx is not None and not (isinstance(mx, float) and math.isnan(mx)):
            assert n <= mx
    if s["use_reception_limit"]:
        for r in data["Locations"].itertuples(index=False):
            n_k = r.max_inbound_trucks
            if r.type == "plant" and n_k is not None and not math.isnan(n_k):
                for t in range(1, T + 1):
                    got = sum(n for (d, a, b), n in ntrucks.items() if d == t and b == r.location)
                    assert got <= n_k, f"reception {r.location} day {t}: {got} > {n_k}"

    # cost, recomputed
    costs = {
        "trucking": sum(n * lanes[(a, b)]["truck_cost"] for (t, a, b), n in ntrucks.items()),
        "pallet_movement": sum(q * _num(lanes[(a, b)]["pallet_cost"])
                               for (t, a, b, p), q in flow.items()),
        "storage": sum(q * _num(cap[(at, cat[p])][1]) for (_, at, p), q in end.items()),
        "shortage": s["shortage_penalty"] * sum(shortage.values()),
    }
    costs["total"] = sum(costs.values())
    reported = dict(zip(tables["Out Costs"]["component"], tables["Out Costs"]["cost"]))
    for k, v in costs.items():
        assert abs(reported[k] - v) < 1e-4 * max(1.0, abs(v)), f"cost {k}: {reported[k]} vs {v}"
    objective = dict(zip(tables["Out Summary"]["item"], tables["Out Summary"]["value"]))[
        "objective"]
    assert abs(objective - costs["total"]) < 1e-4 * max(1.0, abs(costs["total"]))
    return costs


def check_outcome(raw: dict[str, pd.DataFrame], outcome) -> dict | None:
    """Check the plan in a production–distribution outcome against its input sheets.

    ``raw`` are the sheets as a front end reads them, ``outcome`` what ``api.solve``
    returned for them. Every constraint and cost is recomputed by :func:`check_plan`;
    an outcome without a plan (invalid input, infeasible, scenarios) has nothing to
    check and returns None, else the recomputed cost components.
    """
    tables = {s.name: s.frame for s in outcome.sheets}
    if "Out Flows" not in tables:
        return None
    problems = Problems()
    settings = parse_settings(raw.get("Settings"), SCHEMA.settings, problems)
    data = {}
    for sheet in SCHEMA.sheets:
        frame = parse_table(raw.get(sheet.name), sheet, problems)
        data[sheet.name] = frame[[c.name for c in sheet.columns]].reset_index(drop=True)
    assert not problems.has_errors(), "check_outcome needs valid input sheets"
    data, tables = _day_numbers(data, tables)
    return check_plan(data, dict(settings), tables)


def _day_numbers(data, tables):
    """Dates in the inputs and the Out tables as day numbers (day 1 = earliest date)."""
    def as_date(v):
        return v.date() if isinstance(v, dt.datetime) else v

    dated = ("Supply", "Demand", "ProductionPlan")
    dates = [as_date(v) for name in dated for v in data[name]["day"]
             if isinstance(v, dt.date)]
    if not dates:
        return data, tables
    first = min(dates)

    def number(v):
        v = as_date(v)
        return (v - first).days + 1 if isinstance(v, dt.date) else v

    data = {name: frame.assign(day=frame["day"].map(number)) if name in dated else frame
            for name, frame in data.items()}
    tables = {name: frame.assign(day=frame["day"].map(number)) if "day" in frame else frame
              for name, frame in tables.items()}
    return data, tables


def _num(v) -> float:
    return 0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


SCHEMA_SHEETS = [s.name for s in SCHEMA.sheets]
