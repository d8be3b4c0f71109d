"""Sheets, columns and settings of the master production schedule workbook, and its
result sheets.

One declaration per sheet and column drives the template, the parser, the validation
messages and the column reference on the About sheet; the ``OUTPUTS`` declare the Out
sheets report.py writes (docs/master_production.md, "Out sheets"). Aliases are the
headers of the Anker exports, so a raw export pastes in.
"""

from __future__ import annotations

from ..outputs import (
    INTEGER_FORMAT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    QUANTITY_FORMAT,
    OutColumn,
    OutTable,
    why_table,
)
from ..tables import (
    BOOL,
    DATE,
    INTEGER,
    NUMBER,
    TEXT,
    WEEK,
    Column,
    Setting,
    Sheet,
    WorkbookSchema,
    run_settings,
)

MODEL = "master_production"

SETTINGS = (
    Setting("model", TEXT, MODEL, "Which model this workbook is for.", required=True),
    Setting("start_week", WEEK, None,
            "First week of the plan (a week code of the Calendar sheet). Orders of this "
            "week are the ones to place now. Blank = the first Calendar week. Move it one "
            "week on for the next weekly round (rolling horizon)."),
    Setting("horizon_weeks", INTEGER, 26, "Number of weeks planned from start_week.",
            unit="weeks", min_value=1, max_value=520),
    Setting("relax_order_quantities", BOOL, True,
            "TRUE: order quantities are continuous in the model and rounded to whole units "
            "afterwards, keeping capacity and MOQ (fast). FALSE: whole units in the model."),
    Setting("use_moq", BOOL, True, "FALSE ignores the moq column (no minimum order quantity)."),
    Setting("target_shortfall_cost", NUMBER, 5.0,
            "Cost per unit and week below the target stock (safety stock + pre-build), for "
            "SKUs whose target_shortfall_cost cell is blank.", unit="per unit-week",
            min_value=0.0),
    Setting("chart_skus", TEXT, "",
            "SKUs to chart in Out Charts (comma separated; SUPPLYCENTER/SKU picks one "
            "supply center), on top of those with the largest lost sales and shortfall."),
    *run_settings(300),
)

CALENDAR = Sheet(
    "Calendar",
    (
        Column("week", WEEK, "Week code (year, W, two-digit week), e.g. 2025W01.",
               aliases=("安克周",)),
        Column("start_date", DATE, "First day of the week; weeks in increasing order."),
    ),
    description="The planning weeks and their first day; dates in other sheets are mapped "
                "to the week they fall in.",
    key=("week",),
)

SKUS = Sheet(
    "SKUs",
    (
        Column("sku", TEXT, "SKU code.", aliases=("sku",)),
        Column("supply_center", TEXT, "Supply center that stocks this SKU; each supply "
               "center is planned on its own.", aliases=("supply_center", "供应中心")),
        Column("lead_time_weeks", INTEGER, "Weeks from placing an order to its arrival "
               "(production + transport). Must be at least transport_weeks + 1.",
               unit="weeks", aliases=("leadtime", "lead_time")),
        Column("safety_stock_weeks", NUMBER, "Weeks of future demand to hold on top of the "
               "current week's demand (target stock). 0 = only this week's demand.",
               unit="weeks", aliases=("ss_wks",)),
        Column("holding_cost", NUMBER, "Cost of one unit in stock at the end of a week.",
               unit="per unit-week", aliases=("stock_cost",)),
        Column("lost_sales_cost", NUMBER, "Cost of one unit of demand not met.",
               unit="per unit", aliases=("loss_sales_cost",)),
        Column("pn", TEXT, "Production part number used in the Capacity sheet; blank = the "
               "SKU code.", required=False, aliases=("pn_code",)),
        Column("transport_weeks", INTEGER, "Weeks from the factory to the supply center. "
               "Production uses factory capacity in the week before transport starts.",
               unit="weeks", required=False, default=1, aliases=("运输SLA", "transport_sla")),
        Column("moq", NUMBER, "Minimum order quantity per order (factory and week); 0 = "
               "none. Fractions are rounded up.", unit="units", required=False, default=0.0,
               aliases=("MOQ",)),
        Column("target_shortfall_cost", NUMBER, "Cost per unit and week below the target "
               "stock; blank = the Settings value.", unit="per unit-week", required=False),
        Column("stop_week", WEEK, "Discontinuation: no orders are placed after this week.",
               required=False),
    ),
    description="One row per SKU and supply center: lead times, costs, MOQ, discontinuation.",
    key=("supply_center", "sku"),
)

CAPACITY = Sheet(
    "Capacity",
    (
        Column("supply_center", TEXT, "Supply center these orders are for.",
               aliases=("供应中心",)),
        Column("factory", TEXT, "Factory (assembly plant).", aliases=("组装厂",)),
        Column("line", TEXT, "Production line type of the factory.",
               aliases=("产线类别编号",)),
        Column("pn", TEXT, "Part number made on this line (as in SKUs.pn). Give pn or sku.",
               required=False, aliases=("pn_code",)),
        Column("sku", TEXT, "SKU made on this line, when the sheet lists SKUs instead of "
               "part numbers.", required=False),
        Column("units_per_hour", NUMBER, "Output of one line in units per hour (UPH).",
               unit="units/hour", aliases=("UPH", "uph")),
        Column("hours_per_shift", NUMBER, "Working hours per shift.", unit="hours"),
        Column("shifts_per_day", NUMBER, "Shifts per production day."),
        Column("lines_available", NUMBER, "Number of such lines in the factory."),
    ),
    description="What each factory line can make and how fast. Weekly capacity = "
                "units_per_hour × hours_per_shift × shifts_per_day × lines_available × "
                "production days, summed over the lines of a factory.",
)

PRODUCTION_DAYS = Sheet(
    "ProductionDays",
    (Column("factory", TEXT, "Factory, as in the Capacity sheet."),),
    description="Production days of each factory in each week: one column per week code.",
    key=("factory",),
    wide=Column("days", NUMBER, "Production days of the factory in that week (0 to 7).",
                unit="days", required=False, default=0.0),
)

INVENTORY = Sheet(
    "Inventory",
    (
        Column("supply_center", TEXT, "Supply center.", aliases=("供应中心",)),
        Column("sku", TEXT, "SKU.", aliases=("SKU编码",)),
        Column("quantity", NUMBER, "Units on hand at the start of start_week.",
               unit="units", aliases=("数量",)),
    ),
    description="Stock on hand now, per supply center and SKU (missing = 0).",
    key=("supply_center", "sku"),
)

OPEN_POS = Sheet(
    "OpenPOs",
    (
        Column("factory", TEXT, "Factory making the order.", aliases=("供应商",)),
        Column("sku", TEXT, "SKU.", aliases=("SKU编码",)),
        Column("supply_center", TEXT, "Supply center receiving it.", aliases=("供应中心",)),
        Column("quantity", NUMBER, "Units not yet received.", unit="units",
               aliases=("未入库数量",)),
        Column("arrival_date", DATE, "Expected arrival date (mapped to its Calendar week; "
               "dates before start_week count as arriving in start_week).",
               aliases=("要求到货时间",)),
    ),
    description="Purchase orders placed in earlier rounds and not yet received. They arrive "
                "as planned and use their factory's capacity in the week before transport.",
    required=False,
)

FORECAST = Sheet(
    "Forecast",
    (
        Column("sku", TEXT, "SKU.", aliases=("SKU编码",)),
        Column("supply_center", TEXT, "Supply center.", aliases=("供应中心",)),
    ),
    description="Demand forecast: one column per week code (blank = 0). A launch is a SKU "
                "whose first weeks are 0.",
    key=("supply_center", "sku"),
    wide=Column("demand", NUMBER, "Forecast demand in that week.", unit="units",
                required=False, default=0.0),
)

PREBUILD = Sheet(
    "PreBuild",
    (
        Column("sku", TEXT, "SKU.", aliases=("SKU编码",)),
        Column("supply_center", TEXT, "Supply center; blank = every supply center that "
               "stocks the SKU.", required=False, aliases=("供应中心",)),
    ),
    description="Extra stock wanted on top of the safety stock in given weeks (promotions): "
                "one column per week code.",
    required=False,
    key=("sku", "supply_center"),
    wide=Column("units", NUMBER, "Extra target stock in that week.", unit="units",
                required=False, default=0.0),
)

ABOUT = """\
Master production schedule: weekly order quantities per factory and SKU that balance
holding cost against lost sales and target-stock shortfall, under factory capacity,
minimum order quantities (MOQ), launches, discontinuation and promotion pre-builds.
Source: the Anker MPS model, with tight bounds instead of big-M (docs/master_production.md).

Weekly routine (rolling horizon):
 1. Update Inventory (stock on hand now), OpenPOs (orders not yet received, including
    last round's orders you placed), Forecast and ProductionDays.
 2. Set start_week in Settings to the current week.
 3. Solve. Out Orders rows whose order_week is start_week are the orders to place now;
    later weeks are the projection. Check Out Warnings and Out Charts.
 4. Next week: add the orders you placed to OpenPOs and move start_week on by one week.

Results: Out Summary, Out Orders, Out Projection, Out Capacity (capacity in units of the
factory's fastest part number that week), Out Warnings, Out Why (the cause of every
week of lost sales or target shortfall, with the amounts and what would fix it), Out Charts.
Costs of unmet demand and target shortfall count from the first week an order placed
now can arrive (lead time); earlier weeks are reported but not decided by this plan.
"""

SUPPLY_CENTER = OutColumn("supply_center", "Supply center (a SKU code or factory may exist "
                          "in more than one).")

ORDERS = OutTable(
    "Out Orders",
    "The plan: one row per order with a positive quantity. Rows whose order_week is "
    "start_week are the orders to place now; later weeks are the projection.",
    (
        OutColumn("supply_center", "Supply center the order is for."),
        OutColumn("factory", "Factory that makes it."),
        OutColumn("sku", "SKU ordered."),
        OutColumn("order_week", "Week the order is placed."),
        OutColumn("arrival_week", "Week it arrives: order_week + lead_time_weeks."),
        OutColumn("quantity", "Units ordered (whole; at least the moq when there is one).",
                  INTEGER_FORMAT, "units"),
    ),
    sort_by=("order_week", "supply_center", "factory", "sku"),
)

# No number formats on the projection: at Anker scale (88k rows) they cost a third of
# the time spent writing the workbook.
PROJECTION = OutTable(
    "Out Projection",
    "Week-by-week stock of every SKU under the plan (stock on hand serves the week's "
    "demand first).",
    (
        OutColumn("sku", "SKU."),
        OutColumn("week", "Plan week."),
        OutColumn("demand", "Forecast demand D.", unit="units"),
        OutColumn("po_arrivals", "Open POs arriving this week.", unit="units"),
        OutColumn("planned_arrivals", "Orders of the plan arriving this week.", unit="units"),
        OutColumn("available", "Stock carried in + po_arrivals + planned_arrivals.",
                  unit="units"),
        OutColumn("target", "Target stock R: demand over safety_stock_weeks + pre-build.",
                  unit="units"),
        OutColumn("ending_inventory", "Stock at the end of the week: available − demand, "
                  "at least 0.", unit="units"),
        OutColumn("unmet_demand", "Demand not met: demand − available, at least 0 (lost "
                  "sales; costed from the lead time on).", unit="units"),
        OutColumn("target_shortfall", "target − available, at least 0 (costed from the "
                  "lead time on).", unit="units"),
        SUPPLY_CENTER,
    ),
    sort_by=("week", "supply_center", "sku"),
)

CAPACITY_OUT = OutTable(
    "Out Capacity",
    "Factory capacity per week, in units of the factory's fastest part number that week. "
    "A factory that makes for two supply centers has one row per supply center: each "
    "covers the Capacity rows of that supply center only.",
    (
        OutColumn("factory", "Factory."),
        OutColumn("week", "Plan week (production week: the week before transport)."),
        OutColumn("capacity", "Capacity C in units of the factory's fastest part number: "
                  "its rate × production days. A slower part number uses more than one of "
                  "these units per unit made.", QUANTITY_FORMAT, "units of the fastest pn"),
        OutColumn("used_by_open_pos", "Capacity used by open POs.", QUANTITY_FORMAT,
                  "units of the fastest pn"),
        OutColumn("used_by_plan", "Capacity used by the plan's orders.", QUANTITY_FORMAT,
                  "units of the fastest pn"),
        OutColumn("utilization", "(used_by_open_pos + used_by_plan) / capacity; blank "
                  "where the factory does not produce.", PERCENT_FORMAT),
        OutColumn("supply_center", "Supply center whose Capacity rows this row covers (a "
                  "factory listed for two supply centers has a row for each)."),
    ),
    sort_by=("week", "factory", "supply_center"),
)

WARNINGS = OutTable(
    "Out Warnings",
    "What a planner should look at: stock-outs, target shortfalls, and SKUs the plan "
    "cannot order or can order only in part.",
    (
        OutColumn("sku", "SKU."),
        OutColumn("week", "First week concerned (blank: the whole plan)."),
        OutColumn("kind", "stockout, stockout_before_lead_time, target_shortfall, "
                  "lead_time_too_long, discontinued, no_factory, moq_above_capacity, "
                  "overdue_po."),
        OutColumn("message", "What happened and what to do."),
        SUPPLY_CENTER,
    ),
    sort_by=("week", "supply_center", "sku"),
)

CHARTS = OutTable(
    "Out Charts",
    "The SKUs charted (inventory curves): those named in chart_skus, then those with the "
    "largest lost sales and target shortfall.",
    (
        OutColumn("sku", "SKU."),
        OutColumn("supply_center", "Supply center."),
        OutColumn("why", "Why it is charted."),
        OutColumn("lost_sales_cost", "Its lost-sales cost in the plan.", MONEY_FORMAT),
        OutColumn("target_shortfall_cost", "Its target-shortfall cost in the plan.",
                  MONEY_FORMAT),
        OutColumn("unmet_demand", "Its unmet demand over the plan.", INTEGER_FORMAT, "units"),
        OutColumn("first_arrival_week", "First week an order placed now can arrive."),
    ),
)

WHY = why_table(item_columns=(
    OutColumn("supply_center", "Supply center of the SKU."),
    OutColumn("sku", "SKU short of demand or target."),
    OutColumn("week", "Plan week of the shortfall."),
), sort_by=("-cost", "week", "supply_center", "sku"))

OUTPUTS = (ORDERS, PROJECTION, CAPACITY_OUT, WARNINGS, WHY, CHARTS)

SCHEMA = WorkbookSchema(
    model=MODEL,
    title="Master production schedule (scplan)",
    settings=SETTINGS,
    sheets=(CALENDAR, SKUS, CAPACITY, PRODUCTION_DAYS, INVENTORY, OPEN_POS, FORECAST,
            PREBUILD),
    about=ABOUT,
    outputs=OUTPUTS,
)
