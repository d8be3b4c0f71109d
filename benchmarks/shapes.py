"""Workbooks of several sizes and shapes per model, for the robustness suite.

Each shape is a :class:`Shape`: a name, its model, a one-line description and
``make()`` returning ``(data, settings)`` as the models' example generators do. All
generators are seeded, so a shape is the same workbook on every run. They start from
the models' own generators (``solver_core.<model>.examples``) and change only what the
shape is about:

- PD: the thesis network (5 locations, 2 categories, 10 days) with fewer products; the
  supply is scaled with the number of products (the thesis sizes it for 1,990), the
  warehouses' start stock is set to a fill level, and the plant's reception limit is
  tight (just above the trucks the peak day's demand needs) or loose (the thesis's 12).
- MPS: the Anker generator with one or two supply centers, one cluster of factories per
  center (one component each) or many small clusters, a share of SKUs with an MOQ, and
  a horizon of 26 weeks or 52.
- DA: the Anker generator with region capacities halved (tight) or multiplied by five
  (loose), and a large instance of about 100,000 lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from solver_core.delivery_allocation import examples as da_examples
from solver_core.master_production import examples as mps_examples
from solver_core.production_distribution import examples as pd_examples
from solver_core.tables import raw_frame
from solver_core.workbook import cell_value

MODEL_KEYS = {"PD": "production_distribution", "MPS": "master_production",
              "DA": "delivery_allocation"}
THESIS_PRODUCTS = 1990  # the thesis example's size, for which its supply is sized
THESIS_RECEPTION = 12  # the thesis plant's inbound trucks a day


@dataclass(frozen=True)
class Shape:
    """One generated workbook of the suite."""

    name: str
    model: str  # PD | MPS | DA
    description: str
    build: Callable[..., tuple[dict[str, pd.DataFrame], dict[str, Any]]]  # build(seed=…)

    def make(self, seed: int | None = None) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
        """The workbook. ``seed`` draws another workbook of the same shape (held out from
        the tuning); None gives the suite's own, which the tables were measured on."""
        return self.build() if seed is None else self.build(seed=seed)


# ---------------------------------------------------------------------------
# Production–distribution


def pd_workbook(n_products: int, fill: float, reception: str, seed: int = 2024
                ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The thesis network with ``n_products`` products and warehouses ``fill`` full.

    ``reception`` is ``"tight"`` (the plant receives just over the trucks its peak
    demand day needs) or ``"loose"`` (the thesis's 12 trucks a day).
    """
    data, settings = pd_examples.thesis_example(n_products=n_products, n_days=10, seed=seed)
    rng = np.random.default_rng(seed + 1)
    products = data["Products"].set_index("product")
    # Supply: the thesis's ~250 pallets a day serve 1,990 products; keep the same ratio.
    supply = data["Supply"]
    keep = rng.random(len(supply)) < min(1.0, n_products / THESIS_PRODUCTS)
    data["Supply"] = supply[keep].reset_index(drop=True)
    # Start stock of each warehouse and category scaled to `fill` of its capacity.
    start = data["StartInventory"].copy()
    start["category"] = products.loc[start["product"], "category"].to_numpy()
    storage = data["Storage"].set_index(["location", "category"])["capacity"]
    types = data["Locations"].set_index("location")["type"]
    parts = []
    for (loc, cat), rows in start.groupby(["location", "category"], sort=False):
        if types[loc] == "warehouse":
            rows = rows.assign(pallets=_scaled(rows["pallets"].to_numpy(float),
                                               fill * storage[(loc, cat)]))
        parts.append(rows)
    start = pd.concat(parts, ignore_index=True)
    data["StartInventory"] = start[start["pallets"] > 0].drop(columns="category")
    if reception == "tight":
        demand = data["Demand"].merge(data["Categories"].merge(
            products["category"].reset_index(), on="category"), on="product")
        trucks = (demand["pallets"] / demand["truck_capacity"]).groupby(demand["day"]).sum()
        limit = max(2, math.ceil(1.5 * float(trucks.max())))
        locations = data["Locations"].copy()
        locations.loc[locations["type"] == "plant", "max_inbound_trucks"] = limit
        data["Locations"] = locations
    return data, {**settings, "model": MODEL_KEYS["PD"]}


def pd_network_workbook(n_products: int, n_days: int = 20, seed: int = 2024
                        ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Not the thesis's network: two suppliers, three warehouses (one sends to another),
    two plants with their own reception limits and paid storage, three categories sharing
    trucks, ``n_days`` days, and demand from a production plan exploded through a BOM
    (fractional pallets), as a planner's own workbook may have."""
    rng = np.random.default_rng(seed)
    cats = pd.DataFrame({"category": ["RM", "AC", "PK"], "truck_capacity": [26, 52, 40]})
    suppliers, warehouses, plants = ["North mill", "Port depot"], ["W-East", "W-West",
                                                                   "W-South"], ["P1", "P2"]
    locations = pd.DataFrame(
        [(x, "supplier", None) for x in suppliers] + [(x, "warehouse", None) for x in warehouses]
        + [("P1", "plant", 10), ("P2", "plant", 7)],
        columns=["location", "type", "max_inbound_trucks"])
    scale = n_products / 400  # room and flows grow with the products
    storage = []
    for w, cost in zip(warehouses, (1.4, 2.1, 2.6)):
        for c in ("RM", "AC", "PK"):
            storage.append((w, c, round(scale * rng.integers(400, 800)), cost))
    for plant in plants:
        for c in ("RM", "AC", "PK"):
            storage.append((plant, c, round(scale * rng.integers(120, 220)), 0.3))
    storage = pd.DataFrame(storage, columns=["location", "category", "capacity",
                                             "cost_per_pallet_day"])
    lanes = [(a, b, float(rng.integers(90, 170)), round(float(rng.uniform(0, 6)), 2), None)
             for a in suppliers for b in warehouses + plants]
    lanes += [(w, plant, float(rng.integers(180, 280)), round(float(rng.uniform(1, 9)), 2), None)
              for w in warehouses for plant in plants]
    lanes += [(plant, w, 250.0, 2.0, None) for plant in plants for w in warehouses[:1]]
    lanes += [("W-West", "W-East", 200.0, 3.0, None)]
    lanes = pd.DataFrame(lanes, columns=["from", "to", "truck_cost", "pallet_cost",
                                         "max_trucks"])
    cat = rng.choice(["RM", "AC", "PK"], n_products, p=[0.4, 0.4, 0.2])
    names = [f"{c}{i:05d}" for i, c in enumerate(cat, start=1)]
    products = pd.DataFrame({"product": names, "category": cat,
                             "units_per_pallet": rng.integers(4, 80, n_products) * 25.0})
    upp = products.set_index("product")["units_per_pallet"]
    cap = storage.set_index(["location", "category"])["capacity"]
    start = []
    for (loc, c), room in cap.items():
        pool = [n for n, k in zip(names, cat) if k == c]
        target = int(room * (0.6 if loc in warehouses else 0.5))
        chosen = rng.choice(pool, size=min(len(pool), max(1, target // 4)), replace=False)
        q = rng.multinomial(target, np.full(len(chosen), 1 / len(chosen)))
        start += [(loc, p, int(n)) for p, n in zip(chosen, q) if n > 0]
    start = pd.DataFrame(start, columns=["location", "product", "pallets"])
    # Each product comes from one supplier, in lots of 1–6 pallets on some days.
    source = rng.choice(suppliers, n_products)
    supply = [(source[i], names[i], d, int(rng.integers(1, 7)))
              for i in range(n_products) for d in range(1, n_days + 1) if rng.random() < 0.07]
    supply = pd.DataFrame(supply, columns=["supplier", "product", "day", "pallets"])
    # 30 finished goods per plant, 3–8 components each; a run uses 0.1–1.5 pallets of each.
    bom, plan = [], []
    for plant in plants:
        for g in range(30):
            good = f"{plant}-FG{g:02d}"
            run = int(rng.integers(2, 10)) * 500
            for comp in rng.choice(names, int(rng.integers(3, 9)), replace=False):
                bom.append((good, comp, float(rng.uniform(0.1, 1.5)) * upp[comp] / run))
            for d in range(1, n_days + 1):
                if rng.random() < 0.2:
                    plan.append((plant, good, d, run))
    bom = pd.DataFrame(bom, columns=["finished_good", "component", "quantity_per"])
    plan = pd.DataFrame(plan, columns=["plant", "finished_good", "day", "quantity"])
    demand = pd.DataFrame(columns=["plant", "product", "day", "pallets"])
    data = {"Categories": cats, "Products": products, "Locations": locations,
            "Storage": storage, "Lanes": lanes, "StartInventory": start, "Supply": supply,
            "Demand": demand, "ProductionPlan": plan, "BOM": bom}
    settings = {"shortage_penalty": 400, "integer_pallets": True, "time_limit_s": 60,
                "mip_gap": 0.001, "model": MODEL_KEYS["PD"]}
    return data, settings


def _scaled(pallets: np.ndarray, total: float) -> np.ndarray:
    """Whole pallets in the same proportions, adding up to round(total)."""
    share = pallets / pallets.sum() * round(total)
    whole = np.floor(share)
    short = int(round(total) - whole.sum())
    whole[np.argsort(whole - share)[:short]] += 1  # largest remainders first
    return whole.astype(int)


# ---------------------------------------------------------------------------
# Master production


def mps_workbook(centers: int, skus: int, factories: int, clusters: int = 1,
                 moq_share: float = 0.4, horizon: int = 26, seed: int = 2024
                 ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Anker-like MPS: ``centers`` × ``skus`` SKUs × ``factories`` factories, each center's
    factories in ``clusters`` clusters (one component per cluster), ``horizon`` weeks."""
    return mps_examples.anker_example(
        seed=seed, supply_centers=("Y", "Z")[:centers], skus_per_center=skus,
        factories_per_center=factories, clusters_per_center=clusters, moq_share=moq_share,
        horizon=horizon)


# ---------------------------------------------------------------------------
# Delivery allocation


def da_workbook(n_lines: int, n_skus: int, capacity: str, seed: int = 2025
                ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Anker-like DA with ``n_lines`` order lines over ``n_skus`` SKUs; region capacities
    halved (``"tight"``) or multiplied by five (``"loose"``)."""
    data, settings = da_examples.anker_example(seed=seed, n_lines=n_lines, n_skus=n_skus,
                                               n_pos=max(500, 4 * n_skus))
    factor = {"tight": 0.5, "loose": 5.0}[capacity]
    cap = data["RegionCapacity"].copy()
    cap["capacity"] = np.maximum(10.0, np.round(cap["capacity"] * factor))
    data["RegionCapacity"] = cap
    return data, {**settings, "model": MODEL_KEYS["DA"]}


# ---------------------------------------------------------------------------
# The suite


def _pd(n: int, fill: float, reception: str) -> Shape:
    return Shape(f"pd-{n}-{round(fill * 100)}pct-{reception}", "PD",
                 f"{n} products, warehouses {fill:.0%} full, {reception} plant reception",
                 lambda **seed: pd_workbook(n, fill, reception, **seed))


def _thesis_demand(factor: float) -> Shape:
    """The thesis example with its demand × ``factor``: fractional pallets at a plant
    whose start stock does not cover its demand (the generated shapes' does)."""
    def make(**seed):
        data, settings = pd_examples.thesis_example(**seed)
        return data, {**settings, "demand_factor": factor, "model": MODEL_KEYS["PD"]}
    return Shape(f"pd-thesis-demand{round(factor * 100)}", "PD",
                 f"the thesis example, demand × {factor:g} (fractional pallets)", make)


def _pd_network(n: int, n_days: int) -> Shape:
    return Shape(f"pd-net-{n}x{n_days}", "PD",
                 f"another network: 2 suppliers, 3 warehouses, 2 plants, 3 categories, "
                 f"{n} products, {n_days} days, demand from a BOM",
                 lambda **seed: pd_network_workbook(n, n_days, **seed))


def _mps(name: str, description: str, **kwargs) -> Shape:
    return Shape(name, "MPS", description, lambda **seed: mps_workbook(**kwargs, **seed))


def _da(n_lines: int, n_skus: int, capacity: str) -> Shape:
    return Shape(f"da-{n_lines}-{capacity}", "DA",
                 f"{n_lines:,} lines, {n_skus} SKUs, {capacity} region capacity",
                 lambda **seed: da_workbook(n_lines, n_skus, capacity, **seed))


PD_60 = _pd(60, 0.7, "loose")
MPS_ONE_COMPONENT = _mps("mps-1x80x8", "1 center, 80 SKUs × 8 factories (one component)",
                         centers=1, skus=80, factories=8)
DA_TIGHT, DA_LOOSE = _da(2000, 120, "tight"), _da(2000, 120, "loose")
PD_SMALL = [PD_60, _pd(120, 0.9, "tight"), _pd(200, 0.5, "loose"), _pd(300, 0.95, "tight")]

FULL = [
    *PD_SMALL[:1], _pd(120, 0.7, "loose"), *PD_SMALL[1:3], _pd(300, 0.9, "loose"),
    _thesis_demand(1.1),
    PD_SMALL[3], _pd(1000, 0.7, "tight"), _pd(2000, 0.9, "loose"),
    _pd_network(150, 20), _pd_network(400, 20), _pd_network(250, 30),
    MPS_ONE_COMPONENT,
    _mps("mps-2x300x20", "2 centers × 300 SKUs × 20 factories (one component each)",
         centers=2, skus=300, factories=20),
    _mps("mps-1x600x30-moq60", "1 center, 600 SKUs × 30 factories, 60% of SKUs with an MOQ",
         centers=1, skus=600, factories=30, moq_share=0.6),
    _mps("mps-1x600x30-nomoq", "1 center, 600 SKUs × 30 factories, no MOQ",
         centers=1, skus=600, factories=30, moq_share=0.0),
    _mps("mps-1x300x30-30comp", "1 center, 300 SKUs × 30 factories, 30 components of one "
         "factory each", centers=1, skus=300, factories=30, clusters=30),
    _mps("mps-1x200x10-52w", "1 center, 200 SKUs × 10 factories, a 52-week horizon",
         centers=1, skus=200, factories=10, horizon=52),
    _mps("mps-anker", "Anker shape: 2 centers × 1,704 SKUs × 80 factories, 16 components "
         "each", centers=2, skus=1704, factories=80, clusters=16),
    DA_TIGHT, DA_LOOSE, _da(100_000, 1000, "tight"),
]

QUICK = [
    *PD_SMALL,
    MPS_ONE_COMPONENT,
    _mps("mps-1x150x12-moq60", "1 center, 150 SKUs × 12 factories, 60% of SKUs with an MOQ",
         centers=1, skus=150, factories=12, moq_share=0.6),
    _mps("mps-1x150x12-nomoq", "1 center, 150 SKUs × 12 factories, no MOQ",
         centers=1, skus=150, factories=12, moq_share=0.0),
    _mps("mps-small-components", "Anker shape, smaller: 1 center × 400 SKUs × 40 factories, "
         "20 components", centers=1, skus=400, factories=40, clusters=20),
    DA_TIGHT, DA_LOOSE, _da(20_000, 200, "tight"),
]

CI = [PD_60, MPS_ONE_COMPONENT, DA_TIGHT]

SUITES = {"full": FULL, "quick": QUICK, "ci": CI}
DEFAULT_TIME_LIMIT = {"PD": 60.0, "MPS": 120.0, "DA": 60.0}
QUICK_TIME_LIMIT = 20.0
CI_TIME_LIMIT = 5.0


def raw_sheets(data: dict[str, pd.DataFrame], settings: dict[str, Any]
               ) -> dict[str, pd.DataFrame]:
    """The raw sheets a workbook holding ``data`` and ``settings`` reads as."""
    raw = {"Settings": raw_frame([["setting", "value"],
                                  *([k, cell_value(v)] for k, v in settings.items())])}
    for name, frame in data.items():
        body = [[cell_value(v) for v in row] for row in
                frame.astype(object).where(frame.notna(), None).itertuples(index=False)]
        raw[name] = raw_frame([[str(c) for c in frame.columns], *body])
    return raw
