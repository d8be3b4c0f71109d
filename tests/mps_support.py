"""Master production schedule test support: instance builders and the invariant checker.

``check_plan`` reads only the input tables the test built and the ``Out …`` sheets,
and recomputes everything itself (it shares no code with the solver; only the schema's
declared defaults): orders are
whole, respect MOQ, lead time, stop week and the horizon, and come from a factory
that can make the SKU; the projection (available stock, ending stock, unmet demand,
target and shortfall) follows from ``Out Orders``; factory capacity (UPH × hours ×
shifts × lines × days, normalised to the factory's fastest part number) holds, with
open POs using capacity in the week before their transport; and the cost of the plan
equals the reported objective. Every solve in the MPS tests goes through
:func:`solve_and_check` or :func:`check_outcome`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from solver_core import api
from solver_core.master_production import SCHEMA
from solver_core.outputs import summary_items
from solver_core.tables import Problems, Settings, parse_settings, raw_frame

TOL = 1e-6
MONDAY = dt.date(2025, 1, 6)


def week_code(k: int) -> str:
    y, w, _ = (MONDAY + dt.timedelta(weeks=k)).isocalendar()
    return f"{y}W{w:02d}"


def raw_sheets(data: dict[str, pd.DataFrame], settings: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Raw sheets as the workbook reader returns them (row 1 = headers)."""
    def plain(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return v.item() if hasattr(v, "item") else v

    out = {"Settings": raw_frame([["setting", "value"]] +
                                 [[k, plain(v)] for k, v in settings.items()])}
    for name, frame in data.items():
        rows = [[str(c) for c in frame.columns]]
        rows += [[plain(v) for v in r] for r in frame.itertuples(index=False)]
        out[name] = raw_frame(rows)
    return out


def make_case(skus: list[dict], capacity: list[dict], demand: dict[str, list[float]],
              weeks: int, days: dict[str, list[float] | float] | None = None,
              inventory: dict[str, float] | None = None, open_pos: list[dict] | None = None,
              prebuild: dict[str, list[float]] | None = None, extra_weeks: int = 2,
              **settings) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """A workbook as DataFrames. SKU dicts take the SKUs columns (supply_center defaults
    to ``SC``); demand/prebuild are keyed by SKU code, one value per plan week."""
    n = weeks + extra_weeks
    codes = [week_code(k) for k in range(n)]
    cal = pd.DataFrame({"week": codes, "start_date": [MONDAY + dt.timedelta(weeks=k)
                                                      for k in range(n)]})
    sku_rows = []
    for s in skus:
        r = {"supply_center": "SC", "safety_stock_weeks": 0, "holding_cost": 1.0,
             "lost_sales_cost": 100.0, "transport_weeks": 1, "moq": 0,
             "target_shortfall_cost": 0.0, "stop_week": None}
        r.update(s)
        sku_rows.append(r)
    sku_frame = pd.DataFrame(sku_rows)
    cap_rows = []
    for c in capacity:
        r = {"supply_center": "SC", "line": "L1", "hours_per_shift": 1, "shifts_per_day": 1,
             "lines_available": 1}
        r.update(c)
        cap_rows.append(r)
    factories = sorted({c["factory"] for c in cap_rows})
    days = days or {}
    pdays = {"factory": factories}
    for k, w in enumerate(codes):
        pdays[w] = [(days.get(f, 1.0)[k] if isinstance(days.get(f, 1.0), list) else
                     days.get(f, 1.0)) if k < weeks else 1.0 for f in factories]
    sc_of = {r["sku"]: r["supply_center"] for r in sku_rows}
    fc = {"sku": list(demand), "supply_center": [sc_of[s] for s in demand]}
    for k, w in enumerate(codes):
        fc[w] = [demand[s][k] if k < len(demand[s]) else 0.0 for s in demand]
    data = {
        "Calendar": cal, "SKUs": sku_frame, "Capacity": pd.DataFrame(cap_rows),
        "ProductionDays": pd.DataFrame(pdays),
        "Inventory": pd.DataFrame([(sc_of[s], s, q) for s, q in (inventory or {}).items()],
                                  columns=["supply_center", "sku", "quantity"]),
        "OpenPOs": pd.DataFrame(open_pos or [], columns=["factory", "sku", "supply_center",
                                                         "quantity", "arrival_date"]),
        "Forecast": pd.DataFrame(fc),
    }
    if prebuild:
        pb = {"sku": list(prebuild), "supply_center": [sc_of[s] for s in prebuild]}
        for k, w in enumerate(codes):
            pb[w] = [prebuild[s][k] if k < len(prebuild[s]) else 0.0 for s in prebuild]
        data["PreBuild"] = pd.DataFrame(pb)
    base = {"model": "master_production", "start_week": codes[0], "horizon_weeks": weeks,
            "relax_order_quantities": False, "use_moq": True, "target_shortfall_cost": 0,
            "time_limit_s": 30, "mip_gap": 0.0, "workers": 1}
    base.update(settings)
    return data, base


def random_case(rng: np.random.Generator, n_skus: int = 3, n_factories: int = 2, weeks: int = 6,
                supply_centers: tuple[str, ...] = ("SC",), moq_share: float = 0.5,
                max_makers: int | None = None, **settings
                ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """A small random instance: tight capacity, MOQs, open POs, pre-builds, a stop week."""
    skus, capacity, demand, inventory, pos, prebuild = [], [], {}, {}, [], {}
    for sc in supply_centers:
        facs = [f"{sc}F{j}" for j in range(n_factories)]
        for i in range(n_skus):
            sku = f"{sc}S{i}"
            transport = int(rng.integers(0, 2))
            lead = int(rng.integers(transport + 1, transport + 3))
            level = float(rng.integers(5, 30))
            skus.append({"sku": sku, "supply_center": sc, "lead_time_weeks": lead,
                         "transport_weeks": transport,
                         "safety_stock_weeks": float(rng.choice([0, 1, 1.5, 2])),
                         "holding_cost": float(rng.choice([0.5, 1, 2])),
                         "lost_sales_cost": float(rng.choice([10, 30, 60])),
                         "target_shortfall_cost": float(rng.choice([0, 2, 5])),
                         "moq": float(rng.integers(2, 5) * level) if rng.random() < moq_share
                         else 0.0,
                         "stop_week": week_code(int(rng.integers(1, weeks)))
                         if rng.random() < 0.15 else None})
            demand[sku] = [float(v) for v in rng.integers(0, int(2 * level), weeks)]
            if rng.random() < 0.7:
                inventory[sku] = float(rng.integers(0, int(3 * level)))
            made_at = rng.choice(facs, size=int(rng.integers(1, (max_makers or n_factories) + 1)),
                                 replace=False)
            for f in made_at:
                capacity.append({"supply_center": sc, "factory": str(f), "sku": sku,
                                 "units_per_hour": float(rng.integers(5, 25))})
            if rng.random() < 0.4:
                pos.append({"factory": str(made_at[0]), "sku": sku, "supply_center": sc,
                            "quantity": float(rng.integers(5, 40)),
                            "arrival_date": MONDAY + dt.timedelta(
                                days=int(rng.integers(-3, 7 * weeks)))})
            if rng.random() < 0.3:
                prebuild[sku] = [float(rng.integers(0, 30)) if rng.random() < 0.3 else 0.0
                                 for _ in range(weeks)]
    days = {c["factory"]: [float(rng.choice([0, 1, 2, 2, 3])) for _ in range(weeks)]
            for c in capacity}
    return make_case(skus, capacity, demand, weeks, days=days, inventory=inventory,
                     open_pos=pos, prebuild=prebuild, **settings)


# ---------------------------------------------------------------------------
# the independent checker


def _summary(outcome) -> dict:
    return summary_items({s.name: s.frame for s in outcome.sheets})


def _wide(frame: pd.DataFrame | None, ids: list[str]) -> dict[tuple, dict[str, float]]:
    if frame is None or frame.empty:
        return {}
    out = {}
    for r in frame.to_dict("records"):
        key = tuple(r[i] if (i in r and not pd.isna(r[i])) else None for i in ids)
        out[key] = {c: float(v) for c, v in r.items() if c not in ids and v is not None
                    and not pd.isna(v)}
    return out


class Inputs:
    """The instance recomputed from the input tables (no solver code involved)."""


def read_inputs(data: dict[str, pd.DataFrame], settings: dict[str, Any]) -> Inputs:
    """The instance the checker works on; settings not given take the schema's defaults."""
    settings = {**Settings.defaults(SCHEMA.settings), **settings}
    cal = data["Calendar"]
    codes = cal["week"].tolist()
    start = codes.index(settings["start_week"])
    T = int(settings["horizon_weeks"])
    plan_weeks = codes[start:start + T]
    widx = {w: k for k, w in enumerate(plan_weeks)}
    skus = {(r["supply_center"], r["sku"]): r for r in data["SKUs"].to_dict("records")}
    keys = list(skus)
    P = len(keys)
    pidx = {k: i for i, k in enumerate(keys)}
    pn = {k: (r.get("pn") if isinstance(r.get("pn"), str) else k[1]) for k, r in skus.items()}

    D = np.zeros((P, T))
    for (sku, sc), row in _wide(data["Forecast"], ["sku", "supply_center"]).items():
        for w, v in row.items():
            if w in widx:
                D[pidx[(sc, sku)], widx[w]] += v
    pre = np.zeros((P, T))
    for (sku, sc), row in _wide(data.get("PreBuild"), ["sku", "supply_center"]).items():
        for w, v in row.items():
            if w in widx:
                for k in keys:
                    if k[1] == sku and (sc is None or k[0] == sc):
                        pre[pidx[k], widx[w]] += v
    inv = np.zeros(P)
    for r in data["Inventory"].to_dict("records"):
        inv[pidx[(r["supply_center"], r["sku"])]] += r["quantity"]

    # Capacity: rate per (sc, factory, part) in units/day, days per factory-week.
    rate: dict[tuple[str, str, str], float] = {}
    for r in data["Capacity"].to_dict("records"):
        part = r.get("pn") if isinstance(r.get("pn"), str) else pn[(r["supply_center"], r["sku"])]
        k = (r["supply_center"], r["factory"], part)
        rate[k] = rate.get(k, 0.0) + (r["units_per_hour"] * r["hours_per_shift"] *
                                      r["shifts_per_day"] * r["lines_available"])
    fastest: dict[tuple[str, str], float] = {}
    for (sc, f, _part), v in rate.items():
        fastest[(sc, f)] = max(fastest.get((sc, f), 0.0), v)
    days = {r["factory"]: r for r in data["ProductionDays"].to_dict("records")}

    def cap(sc, f, t):
        return fastest[(sc, f)] * float(days[f].get(plan_weeks[t], 0.0) or 0.0)

    def use(sc, f, sku):  # normalised capacity per unit
        return fastest[(sc, f)] / rate[(sc, f, pn[(sc, sku)])]

    po = np.zeros((P, T))
    used_po: dict[tuple[str, str, int], float] = {}
    dates = [pd.Timestamp(d).date() for d in cal["start_date"]]
    for r in data["OpenPOs"].to_dict("records"):
        k = (r["supply_center"], r["sku"])
        d = pd.Timestamp(r["arrival_date"]).date()
        ci = max(i for i in range(len(dates)) if dates[i] <= d) if d >= dates[0] else -1
        rel = ci - start
        if ci < 0 or rel < 0:
            po[pidx[k], 0] += r["quantity"]
            continue
        if rel < T:
            po[pidx[k], rel] += r["quantity"]
        c = rel - int(skus[k]["transport_weeks"]) - 1
        f = r["factory"]
        if 0 <= c < T and (k[0], f, pn[k]) in rate and cap(k[0], f, c) > 0:
            used_po[(k[0], f, c)] = used_po.get((k[0], f, c), 0.0) + \
                r["quantity"] * use(k[0], f, k[1])

    R = np.zeros((P, T))
    for i, k in enumerate(keys):
        S = float(skus[k]["safety_stock_weeks"] or 0)
        whole, frac = math.floor(S), S - math.floor(S)
        for t in range(T):
            R[i, t] = D[i, t:min(t + whole, T - 1) + 1].sum() + pre[i, t]
            if t + whole + 1 <= T - 1:
                R[i, t] += frac * D[i, t + whole + 1]
    default_w = float(settings["target_shortfall_cost"])
    w = {}
    for k, s_ in skus.items():
        v = s_.get("target_shortfall_cost")
        w[k] = default_w if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
    out = Inputs()
    out.__dict__.update(codes=codes, start=start, T=T, plan_weeks=plan_weeks, widx=widx,
                        skus=skus, keys=keys, pidx=pidx, pn=pn, D=D, pre=pre, inv=inv,
                        rate=rate, fastest=fastest, cap=cap, use=use, po=po, used_po=used_po,
                        R=R, w=w, use_moq=bool(settings["use_moq"]))
    return out


def check_plan(data: dict[str, pd.DataFrame], settings: dict[str, Any], sheets: dict,
               summary: dict) -> dict[str, float]:
    """Recompute the plan's projection, capacity use and cost; assert they match."""
    x = read_inputs(data, settings)
    codes, start, T, plan_weeks, widx = x.codes, x.start, x.T, x.plan_weeks, x.widx
    skus, keys, pidx, pn, D, inv, po = x.skus, x.keys, x.pidx, x.pn, x.D, x.inv, x.po
    rate, cap, use, used_po, R = x.rate, x.cap, x.use, x.used_po, x.R
    use_moq = x.use_moq
    P = len(keys)

    # Orders.
    orders = sheets["Out Orders"]
    arr = np.zeros((P, T))
    used_plan: dict[tuple[str, str, int], float] = {}
    for r in orders.to_dict("records"):
        k = (r["supply_center"], r["sku"])
        s = skus[k]
        q = r["quantity"]
        assert q > 0 and float(q).is_integer(), f"order quantity {q} is not a positive whole number"
        if use_moq and s["moq"]:
            assert q >= math.ceil(s["moq"] - 1e-9), f"order {r} below MOQ {s['moq']}"
        t_o, t_a = widx[r["order_week"]], widx[r["arrival_week"]]
        assert t_a - t_o == int(s["lead_time_weeks"]), f"arrival of {r} ignores the lead time"
        if isinstance(s.get("stop_week"), str) and s["stop_week"]:
            stop = codes.index(s["stop_week"]) - start
            assert t_o <= stop, f"order {r} after the stop week {s['stop_week']}"
        assert (k[0], r["factory"], pn[k]) in rate, f"factory {r['factory']} cannot make {k}"
        arr[pidx[k], t_a] += q
        c = t_a - int(s["transport_weeks"]) - 1
        assert 0 <= c < T
        used_plan[(k[0], r["factory"], c)] = used_plan.get((k[0], r["factory"], c), 0.0) + \
            q * use(k[0], r["factory"], k[1])
    for (sc, f, t), u in used_plan.items():
        room = max(cap(sc, f, t) - used_po.get((sc, f, t), 0.0), 0.0)
        assert u <= room * (1 + 1e-9) + 1e-7, f"{sc}/{f} week {t}: uses {u} > {room}"

    # Projection (available stock serves this week's demand first: the model's e binaries).
    A, ending = np.zeros((P, T)), np.zeros((P, T))
    prev = inv.copy()
    for t in range(T):
        A[:, t] = prev + po[:, t] + arr[:, t]
        ending[:, t] = np.maximum(A[:, t] - D[:, t], 0)
        prev = ending[:, t]
    U = np.maximum(D - A, 0)
    Sf = np.maximum(R - A, 0)
    proj = sheets["Out Projection"]
    got = {(r["supply_center"], r["sku"], r["week"]): r for r in proj.to_dict("records")}
    assert len(got) == P * T
    for i, k in enumerate(keys):
        for t in range(T):
            g = got[(k[0], k[1], plan_weeks[t])]
            for col, want in (("demand", D), ("po_arrivals", po), ("planned_arrivals", arr),
                              ("available", A), ("target", R), ("ending_inventory", ending),
                              ("unmet_demand", U), ("target_shortfall", Sf)):
                assert abs(g[col] - want[i, t]) <= 1e-5 * max(1, abs(want[i, t])), \
                    f"{k} {plan_weeks[t]} {col}: {g[col]} != {want[i, t]}"

    # Out Capacity agrees with the recomputation.
    for r in sheets["Out Capacity"].to_dict("records"):
        t = widx[r["week"]]
        key = (r["supply_center"], r["factory"], t)
        assert abs(r["capacity"] - cap(r["supply_center"], r["factory"], t)) <= 1e-3
        assert abs(r["used_by_plan"] - used_plan.get(key, 0.0)) <= 1e-3
        assert abs(r["used_by_open_pos"] - used_po.get(key, 0.0)) <= 1e-3

    # Cost: holding every week; unmet demand and shortfall from the lead time on.
    cost = 0.0
    for i, k in enumerate(keys):
        s = skus[k]
        w = x.w[k]
        lead = int(s["lead_time_weeks"])
        cost += s["holding_cost"] * ending[i].sum()
        cost += s["lost_sales_cost"] * U[i, lead:].sum() + w * Sf[i, lead:].sum()
    assert abs(cost - float(summary["objective"])) <= 1e-6 * max(1.0, abs(cost)) + 1e-3, \
        f"recomputed cost {cost} != reported objective {summary['objective']}"
    assert abs(float(summary["evaluated_cost"]) - cost) <= 1e-6 * max(1.0, abs(cost)) + 1e-3
    if summary.get("bound") is not None:
        assert float(summary["bound"]) <= cost * (1 + 1e-7) + 1e-5
    return {"cost": cost, "unmet": float(U.sum()), "arrivals": arr, "ending": ending}


def plan_cost(x: Inputs, arrivals: np.ndarray) -> float:
    """Cost of planned arrivals by the checker's own projection."""
    prev = x.inv.copy()
    cost = 0.0
    for t in range(x.T):
        avail = prev + x.po[:, t] + arrivals[:, t]
        prev = np.maximum(avail - x.D[:, t], 0)
        for i, k in enumerate(x.keys):
            s = x.skus[k]
            cost += s["holding_cost"] * prev[i]
            if t >= int(s["lead_time_weeks"]):
                cost += s["lost_sales_cost"] * max(x.D[i, t] - avail[i], 0) + \
                    x.w[k] * max(x.R[i, t] - avail[i], 0)
    return float(cost)


def solve_and_check(data, settings, **overrides) -> tuple[Any, dict, dict]:
    """Solve through the API and run the checker; returns (outcome, summary, check)."""
    raw = raw_sheets(data, {**settings, **overrides})
    outcome = api.solve(raw)
    assert outcome.exit_code == 0, outcome.message
    return outcome, _summary(outcome), check_outcome(raw, outcome)


def check_outcome(raw: dict[str, pd.DataFrame], outcome) -> dict[str, float]:
    """Run the checker on an ``api.solve`` outcome from the raw sheets it solved."""
    sheets = {s.name: s.frame for s in outcome.sheets}
    return check_plan(*inputs_of(raw), sheets, _summary(outcome))


def inputs_of(raw: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The input tables and settings the checker reads from raw sheets.

    The tables take the schema's column names (blank cells and absent optional columns
    take the declared defaults); a blank start_week is the first Calendar week.
    """
    data = {}
    for sheet in SCHEMA.sheets:
        frame = raw.get(sheet.name)
        frame = pd.DataFrame() if frame is None else frame.reset_index(drop=True)
        for col in sheet.columns:
            if col.name not in frame.columns:
                frame[col.name] = col.default
            elif col.default is not None:
                frame[col.name] = [col.default if v is None else v for v in frame[col.name]]
        data[sheet.name] = frame
    settings = dict(parse_settings(raw["Settings"], SCHEMA.settings, Problems()))
    if not settings["start_week"]:
        settings["start_week"] = data["Calendar"]["week"].iloc[0]
    return data, settings


def orders_of(outcome) -> list[tuple[str, str, int]]:
    """(order week, arrival week, quantity) of every order."""
    frame = next(s.frame for s in outcome.sheets if s.name == "Out Orders")
    return [(r["order_week"], r["arrival_week"], int(r["quantity"]))
            for r in frame.to_dict("records")]
