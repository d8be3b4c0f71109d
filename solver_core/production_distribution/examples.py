"""Example instances: a small one to learn from and a thesis-scale one.

The thesis-scale network follows the thesis's Montreal case: one central supplier depot,
four external warehouses (BDL, XTL, La Chine, VSL) and the Horace plant, two categories
(RM raw materials, AC components), 1,990 products, 10 days. Capacities (Table 3 and the
plant's 3,000 pallet places split evenly), truck costs (Table 7), pallet handling costs
(Tables 8–9) and storage costs (Table 10) are the thesis's. Where the thesis gives no
figure we chose one and say so: BDL storage 2.50 (the thesis calls it the most
expensive), La Chine 1.75, the plant 0 (own space); La Chine stores AC only (the text
says so; its Table 3 row is ambiguous). Trucks carry 26 RM or 52 AC pallets; the plant
receives at most 12 trucks a day. Supply, stock and the production plan are synthetic
(seeded), sized like the thesis's baseline (≈250 supplied pallets a day, warehouses
about 70% full).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SETTINGS_SMALL = {"time_limit_s": 60, "mip_gap": 0.0}
SETTINGS_THESIS = {"time_limit_s": 60, "mip_gap": 0.002}

WAREHOUSES = {  # name: (RM capacity, AC capacity, storage cost per pallet-day)
    "BDL": (1281, 1281, 2.50),
    "XTL": (1000, 1000, 1.52),
    "La Chine": (0, 2500, 1.75),
    "VSL": (500, 500, 2.00),
}
PLANT = "Horace"
PLANT_CAPACITY = (1500, 1500, 0.0)
SUPPLIER = "Central depot"
SUPPLIER_PALLET_COST = {"XTL": 0.0, "BDL": 11.50, "VSL": 5.87, "La Chine": 0.0, PLANT: 2.0}
PLANT_PALLET_COST = {"XTL": 2.0, "BDL": 13.50, "VSL": 7.87, "La Chine": 2.0}
TRUCK_COST = {("supplier", "warehouse"): 150.0, ("supplier", "plant"): 100.0,
              ("warehouse", "plant"): 250.0, ("plant", "warehouse"): 250.0}


def _network(warehouses: dict, plant_capacity, max_inbound: float | None):
    categories = pd.DataFrame({"category": ["RM", "AC"], "truck_capacity": [26, 52]})
    locs = [(SUPPLIER, "supplier", None)] + [(w, "warehouse", None) for w in warehouses] + [
        (PLANT, "plant", max_inbound)]
    locations = pd.DataFrame(locs, columns=["location", "type", "max_inbound_trucks"])
    storage = []
    for name, (rm, ac, cost) in {**warehouses, PLANT: plant_capacity}.items():
        if rm:
            storage.append((name, "RM", rm, cost))
        if ac:
            storage.append((name, "AC", ac, cost))
    storage = pd.DataFrame(storage, columns=["location", "category", "capacity",
                                             "cost_per_pallet_day"])
    lanes = [(SUPPLIER, w, TRUCK_COST[("supplier", "warehouse")], SUPPLIER_PALLET_COST[w], None)
             for w in warehouses]
    lanes.append((SUPPLIER, PLANT, TRUCK_COST[("supplier", "plant")],
                  SUPPLIER_PALLET_COST[PLANT], None))
    for w in warehouses:
        lanes.append((w, PLANT, TRUCK_COST[("warehouse", "plant")], PLANT_PALLET_COST[w], None))
        lanes.append((PLANT, w, TRUCK_COST[("plant", "warehouse")], PLANT_PALLET_COST[w], None))
    lanes = pd.DataFrame(lanes, columns=["from", "to", "truck_cost", "pallet_cost",
                                         "max_trucks"])
    return categories, locations, storage, lanes


def small_example() -> tuple[dict[str, pd.DataFrame], dict]:
    """Twelve products, two warehouses, five days: solves in about a second."""
    warehouses = {"XTL": (60, 60, 1.52), "La Chine": (0, 120, 1.75)}
    categories, locations, storage, lanes = _network(warehouses, (40, 40, 0.0), 3)
    products = pd.DataFrame({
        "product": [f"RM{i:02d}" for i in range(1, 7)] + [f"AC{i:02d}" for i in range(1, 7)],
        "category": ["RM"] * 6 + ["AC"] * 6,
        "units_per_pallet": [400, 500, 250, 800, 600, 1000, 2000, 1500, 3000, 2500, 1200, 900],
        "description": ["Base oil", "Colorant A", "Colorant B", "Emulsifier", "Fragrance",
                        "Water treatment", "Tube 60ml", "Cap", "Carton", "Leaflet", "Jar 50ml",
                        "Pump"],
    })
    start = pd.DataFrame([
        ("XTL", "RM01", 14), ("XTL", "RM02", 9), ("XTL", "AC01", 20), ("La Chine", "AC02", 30),
        ("La Chine", "AC03", 25), ("Horace", "RM03", 6), ("Horace", "AC04", 8),
        ("Horace", "RM01", 5),
    ], columns=["location", "product", "pallets"])
    rng = np.random.default_rng(7)
    supply = []
    for day in range(1, 6):
        for p in rng.choice(products["product"], size=5, replace=False):
            supply.append((SUPPLIER, p, day, int(rng.integers(2, 12))))
    supply = pd.DataFrame(supply, columns=["supplier", "product", "day", "pallets"])
    bom = pd.DataFrame([
        ("Shampoo 250ml", "BULK-SH", 0.25), ("Shampoo 250ml", "AC01", 1), ("Shampoo 250ml",
                                                                           "AC02", 1),
        ("Shampoo 250ml", "AC03", 1 / 12),
        ("Color kit", "RM02", 0.05), ("Color kit", "RM03", 0.02), ("Color kit", "AC05", 1),
        ("Color kit", "AC06", 1), ("Color kit", "AC04", 1 / 6),
        ("BULK-SH", "RM01", 0.6), ("BULK-SH", "RM04", 0.3), ("BULK-SH", "RM05", 0.02),
        ("BULK-SH", "RM06", 0.08),
    ], columns=["finished_good", "component", "quantity_per"])
    plan = pd.DataFrame([
        (PLANT, "Shampoo 250ml", d, q) for d, q in zip(range(1, 6), [6000, 8000, 0, 9000, 7000])
        if q] + [(PLANT, "Color kit", d, q) for d, q in zip(range(1, 6),
                                                            [3000, 0, 4000, 4000, 2000]) if q],
        columns=["plant", "finished_good", "day", "quantity"])
    demand = pd.DataFrame([(PLANT, "AC03", 3, 4), (PLANT, "RM05", 5, 2)],
                          columns=["plant", "product", "day", "pallets"])
    data = {"Categories": categories, "Products": products, "Locations": locations,
            "Storage": storage, "Lanes": lanes, "StartInventory": start, "Supply": supply,
            "Demand": demand, "ProductionPlan": plan, "BOM": bom}
    return data, dict(SETTINGS_SMALL)


def thesis_example(n_products: int = 1990, n_days: int = 10,
                   seed: int = 2024) -> tuple[dict[str, pd.DataFrame], dict]:
    """The thesis's network at full size with synthetic (seeded) flows."""
    rng = np.random.default_rng(seed)
    categories, locations, storage, lanes = _network(WAREHOUSES, PLANT_CAPACITY, 12)
    is_rm = rng.random(n_products) < 0.45
    names = [f"{'RM' if r else 'AC'}{i:05d}" for i, r in enumerate(is_rm, start=1)]
    upp = np.where(is_rm, rng.integers(2, 40, n_products) * 25,
                   rng.integers(4, 120, n_products) * 50).astype(float)
    products = pd.DataFrame({"product": names, "category": np.where(is_rm, "RM", "AC"),
                             "units_per_pallet": upp})
    # Start stock: fill each location to about its target share per category.
    cap = storage.set_index(["location", "category"])["capacity"]
    fill = {"BDL": 0.55, "XTL": 0.85, "La Chine": 0.75, "VSL": 0.7, PLANT: 0.88}
    start = []
    for (loc, cat), c in cap.items():
        pool = np.nonzero((is_rm if cat == "RM" else ~is_rm))[0]
        target = int(c * fill[loc])
        chosen = rng.choice(pool, size=min(len(pool), max(1, target // 3)), replace=False)
        q = rng.multinomial(target, np.full(len(chosen), 1 / len(chosen)))
        start += [(loc, names[p], int(n)) for p, n in zip(chosen, q) if n > 0]
    start = pd.DataFrame(start, columns=["location", "product", "pallets"]).groupby(
        ["location", "product"], as_index=False)["pallets"].sum()
    # Supply: about 250 pallets a day in lots of 1–8 pallets.
    supply = []
    for day in range(1, n_days + 1):
        total = 0
        while total < 250:
            p = int(rng.integers(n_products))
            q = int(rng.integers(1, 9))
            supply.append((SUPPLIER, names[p], day, q))
            total += q
    supply = pd.DataFrame(supply, columns=["supplier", "product", "day", "pallets"]).groupby(
        ["supplier", "product", "day"], as_index=False)["pallets"].sum()
    # Production plan and BOM: each finished good uses 3–8 components; a run consumes
    # between a tenth of a pallet and a pallet and a half of each.
    # As in the thesis's data set, every product is needed in the horizon, and demand is
    # in whole pallets (the thesis converted its BOM explosion to pallets before
    # solving): each product is needed on one day, one or two pallets.
    demand = [(PLANT, names[p], int(rng.integers(1, n_days + 1)), int(rng.choice([1, 1, 1, 1, 2])))
              for p in range(n_products)]
    demand = pd.DataFrame(demand, columns=["plant", "product", "day", "pallets"]).sort_values(
        ["day", "product"])
    data = {"Categories": categories, "Products": products, "Locations": locations,
            "Storage": storage, "Lanes": lanes, "StartInventory": start, "Supply": supply,
            "Demand": demand}
    return data, dict(SETTINGS_THESIS)
