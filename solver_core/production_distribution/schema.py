"""Sheets, settings and result sheets of the production–distribution workbook.

The one declaration of every input column, setting and ``Out`` column; data.py,
report.py, the template and the README read it from here
(docs/production_distribution.md, "Result sheets").
"""

from __future__ import annotations

from ..outputs import (
    GAP_FORMAT,
    INTEGER_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    QUANTITY_FORMAT,
    OutColumn,
    OutTable,
    why_table,
)
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

# The causes Out Why gives a shortage, in the order they are checked (why.py).
WHY_CAUSES = ("no supply before the demand day", "plant reception limit", "storage full",
              "cheaper to be short", "the plan can serve it for less")

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
'Out Why' explains every shortage with one of these causes: """ + "; ".join(WHY_CAUSES) + """.
"""

# ---------------------------------------------------------------------------
# Result sheets

DAY_OUT = OutColumn("day", "Day number, or the date when the input used dates.")

OUT_FLOWS = OutTable(
    "Out Flows",
    "Pallets moved per day, lane and product (x[p, lane, t]).",
    (
        DAY_OUT,
        OutColumn("from", "Origin of the lane."),
        OutColumn("to", "Destination of the lane."),
        OutColumn("product", "Product moved."),
        OutColumn("category", "Category of the product."),
        OutColumn("pallets", "Pallets moved that day.", QUANTITY_FORMAT, "pallets"),
    ),
    sort_by=("day", "from", "to", "product"),
)

OUT_TRUCKS = OutTable(
    "Out Trucks",
    "Trucks per day and lane (y[lane, t]) and how full they are.",
    (
        DAY_OUT,
        OutColumn("from", "Origin of the lane."),
        OutColumn("to", "Destination of the lane."),
        OutColumn("trucks", "Whole trucks on the lane that day.", INTEGER_FORMAT, "trucks"),
        OutColumn("pallets", "Pallets they carry, all categories.", QUANTITY_FORMAT,
                  "pallets"),
        OutColumn("fill_rate", "Truckloads carried (pallets / truck_capacity of their "
                  "category) per truck.", PERCENT_FORMAT),
    ),
    sort_by=("day", "from", "to"),
)

OUT_INVENTORY = OutTable(
    "Out Inventory",
    "Stock at the end of each day per location and product (s[p, loc, t]); zero rows "
    "are left out.",
    (
        DAY_OUT,
        OutColumn("location", "Warehouse or plant."),
        OutColumn("product", "Product held."),
        OutColumn("pallets", "Pallets in stock at the end of the day.", QUANTITY_FORMAT,
                  "pallets"),
    ),
    sort_by=("day", "location", "product"),
)

OUT_SHORTAGES = OutTable(
    "Out Shortages",
    "Demand not available at the plant on its day (l[p, k, t]), charged at "
    "shortage_penalty.",
    (
        DAY_OUT,
        OutColumn("plant", "Plant where the demand was."),
        OutColumn("product", "Product short."),
        OutColumn("pallets", "Pallets of demand not met.", QUANTITY_FORMAT, "pallets"),
    ),
    sort_by=("day", "plant", "product"),
)

OUT_COSTS = OutTable(
    "Out Costs",
    "Cost of the plan by component, recomputed from the result sheets.",
    (
        OutColumn("component", "trucking, pallet_movement, storage, shortage or total."),
        OutColumn("cost", "Cost of the component.", MONEY_FORMAT, "currency"),
    ),
)

OUT_SATURATION = OutTable(
    "Out Saturation",
    "End-of-day stock against storage capacity per location and category.",
    (
        DAY_OUT,
        OutColumn("location", "Warehouse or plant."),
        OutColumn("category", "Category stored."),
        OutColumn("pallets", "Pallets of the category in stock at the end of the day.",
                  QUANTITY_FORMAT, "pallets"),
        OutColumn("capacity", "Capacity (after plant_capacity_factor at plants).",
                  QUANTITY_FORMAT, "pallets"),
        OutColumn("saturation", "pallets / capacity (blank without capacity).",
                  PERCENT_FORMAT),
    ),
    sort_by=("day", "location", "category"),
)

OUT_WHY = why_table(item_columns=(
    DAY_OUT,
    OutColumn("plant", "Plant where the demand was."),
    OutColumn("product", "Product short."),
), sort_by=("-cost", "day", "plant", "product"))

ROUTE_TYPES = {
    ("supplier", "warehouse"): "supplier_to_warehouse",
    ("supplier", "plant"): "supplier_to_plant",
    ("warehouse", "plant"): "warehouse_to_plant",
    ("plant", "warehouse"): "plant_to_warehouse",
    ("warehouse", "warehouse"): "warehouse_to_warehouse",
    ("plant", "plant"): "plant_to_plant",
}

OUT_SCENARIOS = OutTable(
    "Out Scenarios",
    "One row per scenario (baseline first): its factors, status, costs, trucks by route "
    "type and saturation.",
    (
        OutColumn("scenario", "Name of the scenario."),
        OutColumn("plant_capacity_factor", "Plant capacity factor used."),
        OutColumn("demand_factor", "Demand factor used."),
        OutColumn("supply_factor", "Supply factor used."),
        OutColumn("use_reception_limit", "Whether max_inbound_trucks applied."),
        OutColumn("status", "optimal (within mip_gap of the proven bound), time_limit, "
                  "stopped, infeasible or error."),
        OutColumn("mip_gap", "Relative gap of the scenario's plan to its bound.",
                  GAP_FORMAT),
        OutColumn("bound", "Best proven lower bound on the scenario's cost.", INTEGER_FORMAT,
                  "currency"),
        OutColumn("seconds", "Build and solve time.", unit="seconds"),
        OutColumn("total_cost", "Cost of the plan.", INTEGER_FORMAT, "currency"),
        OutColumn("cost_without_shortage", "Cost without the shortage penalty (the "
                  "thesis's reported cost).", INTEGER_FORMAT, "currency"),
        OutColumn("trucking", "Truck cost.", INTEGER_FORMAT, "currency"),
        OutColumn("pallet_movement", "Pallet handling cost.", INTEGER_FORMAT, "currency"),
        OutColumn("storage", "Storage cost.", INTEGER_FORMAT, "currency"),
        OutColumn("shortage", "Shortage penalty.", INTEGER_FORMAT, "currency"),
        *(OutColumn(f"trucks_{route}", f"Trucks {route.replace('_', ' ')}.",
                    INTEGER_FORMAT, "trucks") for route in ROUTE_TYPES.values()),
        OutColumn("shortage_pallets", "Pallets short.", QUANTITY_FORMAT, "pallets"),
        OutColumn("avg_saturation_warehouses", "Average end-of-day saturation of the "
                  "warehouses.", PERCENT_FORMAT),
        OutColumn("avg_saturation_plant", "Average end-of-day saturation of the plants.",
                  PERCENT_FORMAT),
        OutColumn("cost_vs_baseline", "total_cost / baseline total_cost.", PERCENT_FORMAT),
        OutColumn("note", "Where the plan or bound came from when another scenario's "
                  "helped: a scenario with more room is never costlier than one with less."),
    ),
)

OUTPUTS = (OUT_FLOWS, OUT_TRUCKS, OUT_INVENTORY, OUT_SHORTAGES, OUT_COSTS, OUT_SATURATION,
           OUT_WHY, OUT_SCENARIOS)

SCHEMA = WorkbookSchema(
    model=MODEL,
    title="scplan — production–distribution planning",
    settings=SETTINGS,
    sheets=(CATEGORIES, PRODUCTS, LOCATIONS, STORAGE, LANES, START_INVENTORY, SUPPLY, DEMAND,
            PRODUCTION_PLAN, BOM, SCENARIOS),
    about=ABOUT,
    outputs=OUTPUTS,
)
