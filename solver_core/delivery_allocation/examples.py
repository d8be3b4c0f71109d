"""Example instances as sheet tables (for the templates, the demo and the tests).

``small_example()`` is a hand-sized case where first come, first served is visibly
worse; ``anker_example()`` draws an instance of the size of Anker's published case (about
2,000 order lines, 500 POs, 120 SKUs, 10 regions, 44 weeks) from a fixed random seed,
so the same workbook is produced on every machine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd


def small_example() -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Three SKUs, three regions, ten order lines, five POs and two region limits."""
    def d(day: int) -> dt.date:  # April 2025, for readability
        return dt.date(2025, 4, day)

    inventory = pd.DataFrame({
        "supply_center": ["Y", "Y", "Y"],
        "sku": ["A100", "B200", "C300"],
        "available": [100, 50, 0],
    })
    orders = pd.DataFrame([
        # fulfillment_order, order, line, sku, quantity, rpd, epd, region, epd_weight
        ("FO-0401", "PPDE250401", "1", "A100", 80, d(7), d(21), "DE", 1),
        ("FO-0401", "PPDE250401", "2", "B200", 30, d(7), d(14), "DE", 1),
        ("FO-0402", "PPUK250402", "1", "A100", 60, d(8), d(9), "UK", 2),
        ("FO-0403", "PPFR250403", "1", "A100", 90, d(10), d(15), "FR", 1),
        ("FO-0403", "PPFR250403", "2", "C300", 120, d(10), d(12), "FR", 1),
        ("FO-0404", "PPDE250404", "1", "A100", 100, d(15), d(30), "DE", 1),
        ("FO-0405", "PPUK250405", "1", "B200", 70, d(9), d(18), "UK", 1),
        ("FO-0405", "PPUK250405", "2", "C300", 100, d(14), d(20), "UK", 1),
        ("FO-0406", "PPDE250406", "1", "C300", 60, d(22), d(25), "DE", 1),
        ("FO-0407", "PPFR250407", "1", "B200", 40, d(20), d(24), "FR", 1),
    ], columns=["fulfillment_order", "order", "line", "sku", "quantity", "rpd", "epd",
                "region", "epd_weight"])
    orders.insert(2, "supply_center", "Y")
    orders["rpd_weight"] = 1
    pos = pd.DataFrame([
        ("PO2504001", "Y", "A100", 150, d(14), ""),
        ("PO2504002", "Y", "A100", 100, d(28), ""),
        ("PO2504003", "Y", "B200", 90, d(10), ""),
        ("PO2504004", "Y", "C300", 200, d(9), "1"),
        ("PO2504004", "Y", "C300", 100, d(21), "2"),
    ], columns=["po", "supply_center", "sku", "quantity", "arrival_date", "batch"])
    capacity = pd.DataFrame({"sku": ["C300", "A100"], "region": ["FR", "UK"],
                             "capacity": [50, 40]})
    settings = {"plan_date": d(7), "rpd_penalty": 1, "epd_penalty": 10, "penalty": "linear",
                "horizon_end": dt.date(2025, 5, 31)}
    return ({"Inventory": inventory, "Orders": orders, "POs": pos,
             "RegionCapacity": capacity}, settings)


REGIONS = ("DE", "UK", "FR", "IT", "ES", "NL", "PL", "SE", "JP", "AU")


def anker_example(seed: int = 2025, n_lines: int = 2000, n_pos: int = 500, n_skus: int = 120,
                  n_regions: int = 10, weeks: int = 44,
                  supply_lag: tuple[int, int] = (-14, 10),
                  supply_ratio: tuple[float, float] = (1.0, 1.06),
                  slack_days: tuple[int, ...] = (0, 1, 3, 7, 14, 28),
                  ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """An Anker-sized instance: orders spread over the horizon, supply that roughly keeps
    pace with demand (sometimes late), a few tight regional limits.

    Per SKU, POs are placed so that cumulative supply follows cumulative demand by RPD
    shifted by a random lag (``supply_lag`` days) and adds up to ``supply_ratio`` times
    the demand; EPDs leave one of ``slack_days`` days after the RPD; a few lines carry
    higher EPD weights (key accounts).
    """
    rng = np.random.default_rng(seed)
    plan = dt.date(2025, 1, 6)
    horizon = weeks * 7 - 1

    def day(k: int) -> dt.date:
        return plan + dt.timedelta(days=int(k))

    skus = [f"SKU{i:03d}" for i in range(1, n_skus + 1)]
    center = {s: ("Y" if i % 5 < 3 else "Z") for i, s in enumerate(skus)}
    regions = REGIONS[:n_regions]
    popularity = rng.lognormal(0.0, 0.8, n_skus)
    popularity /= popularity.sum()

    # Orders of one to three lines, each line a different SKU.
    rows = []
    serial = 0
    while len(rows) < n_lines:
        serial += 1
        region = regions[rng.integers(len(regions))]
        rpd = int(rng.integers(-10, horizon - 35))
        width = min(int(rng.choice([1, 1, 1, 2, 2, 3])), n_lines - len(rows))
        order = f"PP{region}{day(max(rpd - 20, -30)):%Y%m%d}{serial:04d}"
        for line, k in enumerate(rng.choice(n_skus, size=width, replace=False, p=popularity),
                                 start=1):
            sku = skus[k]
            slack = int(rng.choice(slack_days))
            rows.append({
                "fulfillment_order": f"FO{serial:05d}", "order": order, "line": str(line),
                "supply_center": center[sku], "sku": sku,
                "quantity": int(rng.choice([10, 20, 50, 100, 200, 500, 1000],
                                           p=[0.1, 0.15, 0.25, 0.2, 0.15, 0.1, 0.05])),
                "rpd": day(rpd), "epd": day(rpd + slack), "region": region,
                "rpd_weight": 1.0,
                "epd_weight": float(rng.choice([1, 2, 5], p=[0.8, 0.15, 0.05])),
            })
    orders = pd.DataFrame(rows)

    # Inventory covers the first weeks; POs follow demand with a random lag.
    inv_rows, po_rows = [], []
    lines_per_sku = orders["sku"].value_counts()
    po_count = {s: 1 for s in skus}
    extra = rng.choice(n_skus, size=n_pos - n_skus,
                       p=lines_per_sku.reindex(skus, fill_value=0).to_numpy() / len(orders))
    for k in extra:
        po_count[skus[k]] += 1
    po_serial = 0
    for sku in skus:
        mine = orders[orders["sku"] == sku].sort_values("rpd")
        total = float(mine["quantity"].sum())
        rpd_days = np.array([(d - plan).days for d in mine["rpd"]])
        cum = np.cumsum(mine["quantity"].to_numpy(float))
        on_hand = 10 * round(total * rng.uniform(0.15, 0.35) / 10)
        inv_rows.append({"supply_center": center[sku], "sku": sku, "available": on_hand})
        rest = max(total * rng.uniform(*supply_ratio) - on_hand, 10.0)
        n = po_count[sku]
        shares = np.sort(rng.uniform(0, 1, n - 1))
        cuts = np.diff(np.r_[0.0, shares, 1.0]) * rest
        covered = on_hand
        for q in cuts:
            q = max(10, 10 * round(q / 10))
            # Arrive around when cumulative demand passes what is already covered.
            when = rpd_days[min(np.searchsorted(cum, covered), len(cum) - 1)] if len(cum) else 0
            arrival = int(np.clip(when + rng.integers(*supply_lag), 1, horizon))
            po_serial += 1
            po_rows.append({"po": f"PO25{po_serial:06d}", "supply_center": center[sku],
                            "sku": sku, "quantity": q, "arrival_date": day(arrival),
                            "batch": ""})
            covered += q
    inventory = pd.DataFrame(inv_rows)
    pos = pd.DataFrame(po_rows)

    # A fifth of the (SKU, region) pairs have a daily limit below their largest line.
    pairs = orders.groupby(["sku", "region"])["quantity"].max().reset_index()
    limited = pairs[rng.uniform(0, 1, len(pairs)) < 0.2]
    capacity = pd.DataFrame({
        "sku": limited["sku"], "region": limited["region"],
        "capacity": np.maximum(10, 10 * np.round(
            limited["quantity"].to_numpy() * rng.uniform(0.3, 0.8, len(limited)) / 10)),
    }).reset_index(drop=True)
    settings = {"plan_date": plan, "rpd_penalty": 1, "epd_penalty": 10, "penalty": "linear",
                "horizon_end": day(horizon)}
    return ({"Inventory": inventory, "Orders": orders, "POs": pos,
             "RegionCapacity": capacity}, settings)


def raw_sheets(data: dict[str, pd.DataFrame], settings: dict[str, Any]
               ) -> dict[str, pd.DataFrame]:
    """The raw sheets a front end would read from a workbook holding ``data``.

    Lets tests and benchmarks go through the same parsing as a real workbook without
    writing a file.
    """
    from ..tables import raw_frame
    from .schema import MODEL

    values = {"model": MODEL, **settings}
    raw = {"Settings": raw_frame([["setting", "value"], *([k, v] for k, v in values.items())])}
    for name, frame in data.items():
        body = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
        raw[name] = raw_frame([list(frame.columns), *body])
    return raw
