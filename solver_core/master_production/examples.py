"""Example MPS workbooks: a small hand-made one and a generator at Anker scale.

Both return ``(data, settings)`` for :func:`solver_core.template.write_template`:
``data`` maps sheet names to DataFrames (week-code columns of the wide sheets are
extra columns). The Anker-scale generator follows the sizes of Anker's problem: two
supply centers, about 3,400 SKUs and 160 factory objects, 26 plan weeks, 1–3
factories per SKU, about 40% of SKUs with an MOQ. Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def calendar(first_monday: dt.date, n: int) -> pd.DataFrame:
    """``n`` weeks from ``first_monday``; codes are ISO year and week (2025W01)."""
    rows = []
    for k in range(n):
        d = first_monday + dt.timedelta(weeks=k)
        y, w, _ = d.isocalendar()
        rows.append((f"{y}W{w:02d}", d))
    return pd.DataFrame(rows, columns=["week", "start_date"])


def small_example() -> tuple[dict[str, pd.DataFrame], dict]:
    """Two supply centers, eight SKUs, three factories, a 12-week plan.

    Shows a MOQ, a launch, a discontinuation, a promotion pre-build, a factory
    holiday, open POs (one overdue) and a SKU whose lead time exceeds the horizon.
    """
    cal = calendar(dt.date(2024, 12, 30), 30)
    wk = cal["week"].tolist()
    settings = {"model": "master_production", "start_week": wk[2], "horizon_weeks": 12,
                "relax_order_quantities": True, "use_moq": True, "target_shortfall_cost": 5,
                "time_limit_s": 20, "mip_gap": 0.001, "chart_skus": "Y/A300", "workers": 0}
    skus = pd.DataFrame([
        # sku, sc, lead, ss, holding, lost, pn, transport, moq, shortfall, stop
        ("A100", "Y", 3, 1, 0.20, 20.0, "PN-A1", 1, 500, None, None),
        ("A200", "Y", 3, 1, 0.10, 15.0, "PN-A2", 1, 0, None, None),
        ("A300", "Y", 4, 2, 0.30, 30.0, "PN-A3", 2, 200, 8.0, None),  # launch in week 8
        ("A400", "Y", 3, 1, 0.20, 25.0, "PN-A4", 1, 0, None, wk[6]),  # discontinued
        ("A500", "Y", 4, 1, 0.15, 18.0, "PN-A5", 1, 300, None, None),  # promotion
        ("B100", "Z", 3, 1, 0.20, 20.0, "PN-B1", 1, 0, None, None),
        ("B200", "Z", 14, 1, 0.20, 20.0, "PN-B2", 2, 0, None, None),  # lead too long
        ("B300", "Z", 5, 2, 0.25, 22.0, "PN-B3", 2, 400, None, None),
    ], columns=["sku", "supply_center", "lead_time_weeks", "safety_stock_weeks", "holding_cost",
                "lost_sales_cost", "pn", "transport_weeks", "moq", "target_shortfall_cost",
                "stop_week"])
    capacity = pd.DataFrame([
        ("Y", "F1", "SMT", "PN-A1", None, 40, 8, 1, 2),
        ("Y", "F1", "SMT", "PN-A2", None, 60, 8, 1, 2),
        ("Y", "F1", "ASM", "PN-A4", None, 30, 8, 1, 2),
        ("Y", "F2", "ASM", "PN-A3", None, 25, 8, 2, 1),
        ("Y", "F2", "ASM", "PN-A5", None, 20, 8, 2, 1),
        ("Y", "F2", "SMT", "PN-A1", None, 30, 8, 2, 1),
        ("Z", "F3", "SMT", None, "B100", 50, 8, 2, 1),
        ("Z", "F3", "SMT", None, "B200", 50, 8, 2, 1),
        ("Z", "F3", "ASM", None, "B300", 35, 8, 2, 1),
        ("Z", "F1", "SMT", "PN-B1", None, 40, 8, 1, 1),
    ], columns=["supply_center", "factory", "line", "pn", "sku", "units_per_hour",
                "hours_per_shift", "shifts_per_day", "lines_available"])
    days = {"factory": ["F1", "F2", "F3"]}
    for k, w in enumerate(wk):
        days[w] = [5, 0 if k == 6 else 5, 6 if k in (9, 10) else 5]  # F2 holiday week
    rng = np.random.default_rng(3)
    base = {"A100": 900, "A200": 1200, "A300": 500, "A400": 400, "A500": 600, "B100": 1500,
            "B200": 300, "B300": 700}
    forecast = {"sku": [], "supply_center": []}
    for w in wk:
        forecast[w] = []
    for r in skus.itertuples():
        forecast["sku"].append(r.sku)
        forecast["supply_center"].append(r.supply_center)
        for k, w in enumerate(wk):
            d = base[r.sku] * (1 + 0.2 * np.sin(k / 3)) * rng.uniform(0.85, 1.15)
            if r.sku == "A300" and k < 8:
                d = 0.0  # not launched yet
            if r.sku == "A400" and k > 12:
                d *= 0.3
            forecast[w].append(round(d))
    inventory = pd.DataFrame([("Y", "A100", 1500), ("Y", "A200", 2600), ("Y", "A400", 1200),
                              ("Y", "A500", 900), ("Z", "B100", 3000), ("Z", "B200", 900),
                              ("Z", "B300", 1000)], columns=["supply_center", "sku", "quantity"])
    start = cal["start_date"].iloc[2]
    open_pos = pd.DataFrame([
        ("F1", "A100", "Y", 1000, start + dt.timedelta(days=9)),
        ("F2", "A500", "Y", 600, start + dt.timedelta(days=15)),
        ("F1", "A200", "Y", 800, start - dt.timedelta(days=4)),  # overdue
        ("F3", "B300", "Z", 1400, start + dt.timedelta(days=22)),
    ], columns=["factory", "sku", "supply_center", "quantity", "arrival_date"])
    prebuild = pd.DataFrame({"sku": ["A500"], "supply_center": ["Y"]})
    for k, w in enumerate(wk):
        prebuild[w] = [1800 if k in (9, 10) else None]
    data = {"Calendar": cal, "SKUs": skus, "Capacity": capacity,
            "ProductionDays": pd.DataFrame(days), "Inventory": inventory, "OpenPOs": open_pos,
            "Forecast": pd.DataFrame(forecast), "PreBuild": prebuild}
    return data, settings


def anker_example(seed: int = 2024, supply_centers: tuple[str, ...] = ("Y", "Z"),
                  skus_per_center: int = 1704, factories_per_center: int = 80,
                  clusters_per_center: int = 16, horizon: int = 26, moq_share: float = 0.4,
                  extra_weeks: int = 8) -> tuple[dict[str, pd.DataFrame], dict]:
    """A synthetic instance of the size of Anker's, deterministic in ``seed``.

    Factories of a supply center come in clusters; a SKU is made by 1–3 factories of
    one cluster, so each cluster is one connected component. Factory capacity is
    sized to 70–125% of the average load it would carry, so some factories bind.
    """
    rng = np.random.default_rng(seed)
    n_weeks = horizon + extra_weeks
    cal = calendar(dt.date(2024, 12, 30), n_weeks)
    wk = cal["week"].tolist()
    sku_rows, cap_rows, fc_rows, inv_rows, po_rows, pb_rows = [], [], [], [], [], []
    fac_days = {}
    start_date = cal["start_date"].iloc[0]
    for sc in supply_centers:
        facs = [f"{sc}-F{j + 1:03d}" for j in range(factories_per_center)]
        cluster_of = np.arange(factories_per_center) % clusters_per_center
        speed = rng.uniform(80, 400, factories_per_center)  # fastest UPH of each factory
        load = np.zeros(factories_per_center)  # weekly demand in fastest-PN units
        fac_pns: list[list[tuple[str, float]]] = [[] for _ in facs]
        prev_pn = None
        for i in range(skus_per_center):
            sku = f"{sc}{i + 1:05d}"
            c = rng.integers(clusters_per_center)
            members = np.flatnonzero(cluster_of == c)
            k = min(len(members), int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15])))
            chosen = rng.choice(members, size=k, replace=False)
            shared = prev_pn is not None and prev_pn[1] == c and rng.random() < 0.1
            pn = prev_pn[0] if shared else f"PN{sc}{i + 1:05d}"
            prev_pn = (pn, c)
            level = float(np.exp(rng.normal(5.0, 1.0)))  # mean weekly demand
            transport = int(rng.integers(1, 3))
            lead = int(rng.integers(transport + 2, 9))
            moq = float(np.round(level * rng.uniform(1.5, 5.0), -1)) if rng.random() < moq_share \
                else 0.0
            launch = int(rng.integers(4, 14)) if rng.random() < 0.05 else 0
            stop = wk[int(rng.integers(min(4, horizon // 2), max(horizon - 4, horizon // 2 + 1)))] \
                if rng.random() < 0.05 else None
            season = 1 + 0.25 * np.sin(np.arange(n_weeks) / 4 + rng.uniform(0, 6))
            demand = np.round(level * season * rng.lognormal(0, 0.3, n_weeks))
            demand[:launch] = 0
            if stop is not None:
                demand[wk.index(stop) + 6:] = np.round(demand[wk.index(stop) + 6:] * 0.2)
            w_cost = round(float(rng.uniform(1, 10)), 2) if rng.random() < 0.2 else None
            sku_rows.append((sku, sc, lead, float(rng.choice([1, 2, 3])),
                             round(float(rng.uniform(0.05, 0.5)), 3),
                             round(float(rng.uniform(5, 40)), 2), pn, transport, moq, w_cost,
                             stop))
            fc_rows.append([sku, sc, *demand.tolist()])
            if rng.random() < 0.9:
                inv_rows.append((sc, sku, float(np.round(level * rng.uniform(0, 6)))))
            if rng.random() < 0.5:
                f = facs[int(rng.choice(chosen))]
                for _ in range(int(rng.integers(1, 3))):
                    po_rows.append((f, sku, sc, float(np.round(level * rng.uniform(1, 3))),
                                    start_date + dt.timedelta(days=int(rng.integers(0, 7 * lead)))))
            if rng.random() < 0.1:
                wk_p = int(rng.integers(min(8, horizon // 2), max(horizon - 2, horizon // 2 + 1)))
                pb_rows.append((sku, sc, wk_p, float(np.round(level * rng.uniform(1, 3)))))
            if shared:
                continue  # the pn already has its capacity rows
            for f in chosen:
                rel = rng.uniform(0.5, 1.0)  # this pn runs slower than the fastest
                fac_pns[f].append((pn, rel))
                load[f] += level / k / rel
        for j, f in enumerate(facs):
            hours, shifts = float(rng.choice([8, 10])), float(rng.choice([1, 2]))
            weekly_per_line = speed[j] * hours * shifts * 5
            lines = max(1, int(np.ceil(load[j] / rng.uniform(0.7, 1.25) / weekly_per_line)))
            line_types = ["SMT", "ASM"][: int(rng.integers(1, 3))]
            for pn, rel in fac_pns[j]:
                cap_rows.append((sc, f, line_types[int(rng.integers(len(line_types)))], pn,
                                 round(float(speed[j] * rel), 2), hours, shifts,
                                 float(np.ceil(lines / len(line_types)))))
            days = np.full(n_weeks, 5.0)
            days[rng.random(n_weeks) < 0.06] = 0.0  # holidays and maintenance
            days[rng.random(n_weeks) < 0.1] = 6.0
            fac_days[f] = days
    skus = pd.DataFrame(sku_rows, columns=[
        "sku", "supply_center", "lead_time_weeks", "safety_stock_weeks", "holding_cost",
        "lost_sales_cost", "pn", "transport_weeks", "moq", "target_shortfall_cost", "stop_week"])
    capacity = pd.DataFrame(cap_rows, columns=[
        "supply_center", "factory", "line", "pn", "units_per_hour", "hours_per_shift",
        "shifts_per_day", "lines_available"])
    # Rows for the same factory, line type and pn would repeat a key: merge them.
    capacity = capacity.groupby(["supply_center", "factory", "line", "pn"], as_index=False,
                                sort=False).agg({"units_per_hour": "first",
                                                 "hours_per_shift": "first",
                                                 "shifts_per_day": "first",
                                                 "lines_available": "first"})
    days = pd.DataFrame({"factory": list(fac_days)})
    for k, w in enumerate(wk):
        days[w] = [fac_days[f][k] for f in fac_days]
    forecast = pd.DataFrame(fc_rows, columns=["sku", "supply_center", *wk])
    prebuild = pd.DataFrame({"sku": [r[0] for r in pb_rows],
                             "supply_center": [r[1] for r in pb_rows]})
    for k, w in enumerate(wk):
        prebuild[w] = [r[3] if r[2] == k else None for r in pb_rows]
    data = {"Calendar": cal, "SKUs": skus, "Capacity": capacity, "ProductionDays": days,
            "Inventory": pd.DataFrame(inv_rows, columns=["supply_center", "sku", "quantity"]),
            "OpenPOs": pd.DataFrame(po_rows, columns=["factory", "sku", "supply_center",
                                                      "quantity", "arrival_date"]),
            "Forecast": forecast, "PreBuild": prebuild}
    settings = {"model": "master_production", "start_week": wk[0], "horizon_weeks": horizon,
                "relax_order_quantities": True, "use_moq": True, "target_shortfall_cost": 5,
                "time_limit_s": 300, "mip_gap": 0.001, "chart_skus": "", "workers": 0}
    return data, settings


def raw_sheets(data: dict[str, pd.DataFrame], settings: dict) -> dict[str, pd.DataFrame]:
    """Raw sheets as the workbook reader returns them, without writing a file (for tests)."""
    from ..tables import raw_frame
    from ..workbook import cell_value

    out = {"Settings": raw_frame([["setting", "value"]] +
                                 [[k, cell_value(v)] for k, v in settings.items()])}
    for name, frame in data.items():
        values = [[str(c) for c in frame.columns]]
        values += [[cell_value(v) for v in row] for row in frame.itertuples(index=False)]
        out[name] = raw_frame(values)
    return out
