"""Sheets and settings of the production–distribution workbook (CONTRACT.md §1)."""

from __future__ import annotations

from ..tables import BOOL, DAY, NUMBER, TEXT, Column, Setting, Sheet, WorkbookSchema, run_settings

MODEL = "production_distribution"
LOCATION_TYPES = ("supplier", "warehouse", "plant")

SETTINGS = (
    Setting("model", TEXT, MODEL, "Which model this workbook is for.", required=True),
    Setting("shortage_penalty", NUMBER, 500.0,
            "Cost of one pallet of demand not available at the plant on its day (G).",
            unit="currency per pallet", min_value=0),
    Setting("integer_pallets", BOOL, True,
            "Move whole pallets only. FALSE lets flows be fractional (faster, an LP-like "
            "plan); trucks are always whole."),
    Setting("plant_capacity_factor", NUMBER, 1.0,
            "Multiplies every plant storage capacity (0.85 = keep the plant at most 85% "
            "full).", min_value=0),
    Setting("demand_factor", NUMBER, 1.0, "Multiplies all demand (Demand and BOM).",
            min_value=0),
    Setting("supply_factor", NUMBER, 1.0,
            "Multiplies all supplier deliveries (rounded to whole pallets when "
            "integer_pallets is TRUE).", min_value=0),
    Setting("use_reception_limit", BOOL, True,
            "Apply the plants' max_inbound_trucks (FALSE ignores it, as in the thesis's "
            "unlimited-reception runs)."),
    Setting("horizon_days", NUMBER, None,
            "Number of days planned. Blank = the last day that has supply, demand or "
            "production.", unit="days", min_value=1),
    *run_settings(300),
)

CATEGORIES = Sheet(
    "Categories",
    (
        Column("category", TEXT, "Material category, e.g. RM (raw material) or AC "
                                 "(component)."),
        Column("truck_capacity", NUMBER, "Pallets of this category one truck carries (Cap_u); "
               "categories can share a truck.", unit="pallets per truck", min_value=1e-9),
    ),
    "Material categories and how many pallets of each fit on a truck.",
    key=("category",),
)

PRODUCTS = Sheet(
    "Products",
    (
        Column("product", TEXT, "Product (SKU) code."),
        Column("category", TEXT, "Category of the product.", refers_to="Categories"),
        Column("units_per_pallet", NUMBER, "Units on one pallet; needed for products that "
               "get demand from the BOM.", unit="units per pallet", required=False,
               min_value=1e-9),
        Column("description", TEXT, "Free text.", required=False),
    ),
    "Every product that moves, is stored or is demanded.",
    key=("product",),
)

LOCATIONS = Sheet(
    "Locations",
    (
        Column("location", TEXT, "Location name."),
        Column("type", TEXT, "supplier (delivers pallets), warehouse (external storage) or "
               "plant (production warehouse with demand).", choices=LOCATION_TYPES),
        Column("max_inbound_trucks", NUMBER, "Trucks the plant can receive per day (N_k); "
               "blank = no limit.", unit="trucks per day", required=False),
    ),
    "Suppliers, external warehouses and plants.",
    key=("location",),
)

STORAGE = Sheet(
    "Storage",
    (
        Column("location", TEXT, "Warehouse or plant.", refers_to="Locations"),
        Column("category", TEXT, "Category stored.", refers_to="Categories"),
        Column("capacity", NUMBER, "Pallets of this category the location can hold at the end "
               "of a day (H_uj, H_uk).", unit="pallets"),
        Column("cost_per_pallet_day", NUMBER, "Cost of keeping one pallet there overnight "
               "(WC).", unit="currency per pallet-day", required=False, default=0.0),
    ),
    "Storage capacity and cost per location and category; no row = cannot store it.",
    key=("location", "category"),
)

LANES = Sheet(
    "Lanes",
    (
        Column("from", TEXT, "Origin location.", refers_to="Locations"),
        Column("to", TEXT, "Destination location.", refers_to="Locations"),
        Column("truck_cost", NUMBER, "Cost of one truck trip on this lane (TC).",
               unit="currency per truck"),
        Column("pallet_cost", NUMBER, "Handling cost per pallet moved on this lane (C).",
               unit="currency per pallet", required=False, default=0.0),
        Column("max_trucks", NUMBER, "Trucks per day on this lane; blank = no limit.",
               unit="trucks per day", required=False),
    ),
    "Lanes that may be used; a lane not listed cannot be used.",
    key=("from", "to"),
)

START_INVENTORY = Sheet(
    "StartInventory",
    (
        Column("location", TEXT, "Warehouse or plant.", refers_to="Locations"),
        Column("product", TEXT, "Product.", refers_to="Products"),
        Column("pallets", NUMBER, "Stock at the start of day 1 (end of day 0).",
               unit="pallets"),
    ),
    "Stock on hand before the first day.",
    required=False,
    key=("location", "product"),
)

SUPPLY = Sheet(
    "Supply",
    (
        Column("supplier", TEXT, "Supplier delivering.", refers_to="Locations"),
        Column("product", TEXT, "Product delivered.", refers_to="Products"),
        Column("day", DAY, "Day number 1..T or a date (day 1 = earliest date)."),
        Column("pallets", NUMBER, "Pallets the supplier delivers that day; all of them must "
               "be sent on to a warehouse or plant the same day.", unit="pallets"),
    ),
    "Inbound deliveries from suppliers.",
    key=("supplier", "product", "day"),
)

DEMAND = Sheet(
    "Demand",
    (
        Column("plant", TEXT, "Plant where the material is consumed.", refers_to="Locations"),
        Column("product", TEXT, "Product consumed.", refers_to="Products"),
        Column("day", DAY, "Day number 1..T or a date."),
        Column("pallets", NUMBER, "Pallets needed at the plant that day.", unit="pallets"),
    ),
    "Direct demand in pallets (added to the BOM explosion of ProductionPlan).",
    key=("plant", "product", "day"),
)

PRODUCTION_PLAN = Sheet(
    "ProductionPlan",
    (
        Column("plant", TEXT, "Plant producing.", refers_to="Locations"),
        Column("finished_good", TEXT, "Finished or bulk good produced (defined in BOM)."),
        Column("day", DAY, "Day number 1..T or a date."),
        Column("quantity", NUMBER, "Units produced that day.", unit="units"),
    ),
    "Production plan; its BOM explosion becomes demand for the components.",
    required=False,
    key=("plant", "finished_good", "day"),
)

BOM = Sheet(
    "BOM",
    (
        Column("finished_good", TEXT, "Finished or bulk good."),
        Column("component", TEXT, "Product used (in Products), or another finished good of "
               "this sheet (a bulk made in-house, exploded further)."),
        Column("quantity_per", NUMBER, "Component units per finished unit.", unit="units"),
    ),
    "Bill of materials.",
    required=False,
    key=("finished_good", "component"),
)

SCENARIOS = Sheet(
    "Scenarios",
    (
        Column("scenario", TEXT, "Name of the scenario."),
        Column("plant_capacity_factor", NUMBER, "Blank = the Settings value.", required=False),
        Column("demand_factor", NUMBER, "Blank = the Settings value.", required=False),
        Column("supply_factor", NUMBER, "Blank = the Settings value.", required=False),
        Column("use_reception_limit", BOOL, "Blank = the Settings value.", required=False),
    ),
    "Optional custom scenarios for `scplan scenarios` (run with the baseline). Without "
    "rows, the thesis's experiments are run.",
    required=False,
    key=("scenario",),
)

ABOUT = """
Production–distribution planning: daily pallet flows from suppliers to external
warehouses or the plant, transfers between warehouses and the plant, whole trucks per
lane and day, storage capacity per category, truck reception limits at the plant, and
shortages (demand that cannot be met) at a penalty.
How to use: fill in the input sheets (blue headers are required, grey optional; hover a
header for its meaning and unit), then press Solve on the Supply Chain Planner ribbon or
run: scplan solve this.xlsx -o result.xlsx
Results appear as sheets whose names start with 'Out '. Run 'Scenarios' for the
sensitivity experiments (plant capacity, demand, supply, reception limit).
Days are numbers 1..T or dates (day 1 = earliest date). Quantities are pallets except
ProductionPlan (units) and BOM (units per unit).
"""

SCHEMA = WorkbookSchema(
    model=MODEL,
    title="scplan — production–distribution planning",
    settings=SETTINGS,
    sheets=(CATEGORIES, PRODUCTS, LOCATIONS, STORAGE, LANES, START_INVENTORY, SUPPLY, DEMAND,
            PRODUCTION_PLAN, BOM, SCENARIOS),
    about=ABOUT,
)
