"""Sheets, settings and result sheets of the ``delivery_allocation`` workbook.

One declaration per sheet and column: the template, the parser, the validation
messages, the result sheets and the column reference in the About sheet all come
from here (docs/delivery_allocation.md, "Out sheets"). Aliases are
the headers of Anker's exports, so a raw order snapshot (履行订单快照导出), inventory
or PO export can be pasted into its sheet as it is.
"""

from __future__ import annotations

from ..outputs import (
    DATE_FORMAT,
    INTEGER_FORMAT,
    MONEY_FORMAT,
    QUANTITY_FORMAT,
    OutColumn,
    OutTable,
    why_table,
)
from ..tables import DATE, NUMBER, TEXT, Column, Setting, Sheet, WorkbookSchema, run_settings

MODEL = "delivery_allocation"
PENALTY_MODES = ("linear", "cumulative")
OBJECTIVES = ("penalty", "on_time")

SETTINGS = (
    Setting("model", TEXT, MODEL, "Which model this workbook is for.", required=True),
    Setting("plan_date", DATE, None,
            "The day the plan starts (today). Inventory is on hand on this day; nothing is "
            "delivered before it.", required=True),
    Setting("rpd_penalty", NUMBER, 1.0,
            "Penalty per unit and day delivered after the requested packing date (RPD), "
            "multiplied by the line's rpd_weight.", unit="per unit-day", min_value=0),
    Setting("epd_penalty", NUMBER, 10.0,
            "Penalty per unit and day delivered after the estimated packing date (EPD), "
            "multiplied by the line's epd_weight.", unit="per unit-day", min_value=0),
    Setting("penalty", TEXT, "linear",
            "linear: a unit d days late costs d x penalty. cumulative: every day a unit is "
            "still missing costs one more than the day before, so d days late cost "
            "d(d+1)/2 x penalty (long delays weigh much more).", choices=PENALTY_MODES),
    Setting("objective", TEXT, "penalty",
            "penalty: the least lateness penalty (rpd_penalty, epd_penalty, weights). "
            "on_time: the most order lines complete by their EPD, then the least penalty "
            "among the plans with that many lines on time.", choices=OBJECTIVES),
    Setting("horizon_end", DATE, None,
            "Last day of the plan. Units not delivered by then are charged as if delivered "
            "the day after. Blank = 28 days after the latest RPD, EPD or PO arrival."),
    *run_settings(60),
)

SUPPLY_CENTER = ("供应中心",)

INVENTORY = Sheet(
    "Inventory",
    (
        Column("supply_center", TEXT, "Supply center holding the stock.", aliases=SUPPLY_CENTER),
        Column("sku", TEXT, "SKU code.", aliases=("SKU编码",)),
        Column("available", NUMBER, "Units on hand and free to allocate on the plan date.",
               unit="units", aliases=("可用量",)),
    ),
    description="On-hand stock per supply center and SKU, usable from the plan date. "
                "Several rows for the same SKU are added up.",
)

ORDERS = Sheet(
    "Orders",
    (
        Column("fulfillment_order", TEXT, "Fulfillment order number.", aliases=("履行订单号",)),
        Column("order", TEXT, "Order number; with line it names the order line in the results.",
               aliases=("订单号",)),
        Column("supply_center", TEXT, "Supply center that serves the line.",
               aliases=SUPPLY_CENTER),
        Column("sku", TEXT, "SKU ordered on this line (one SKU per line).",
               aliases=("SKU编码",)),
        Column("quantity", NUMBER, "Units ordered.", unit="units", aliases=("数量",)),
        Column("rpd", DATE, "Requested packing date: nothing is delivered before it; every "
               "day after it is penalised with rpd_penalty."),
        Column("epd", DATE, "Estimated packing date: the line is on time when it is complete "
               "by this day; every day after it is penalised with epd_penalty.",
               aliases=("行EPD",)),
        Column("region", TEXT, "Region the line ships to (see RegionCapacity).",
               aliases=("区域",)),
        Column("line", TEXT, "Fulfillment row: tells apart the SKUs of one multi-SKU order. "
               "Without this column, the rows of each order are numbered 1, 2, … from the top "
               "(as for a raw export).", required=False, default="1"),
        Column("rpd_weight", NUMBER, "Priority of this line for RPD lateness.",
               required=False, default=1.0),
        Column("epd_weight", NUMBER, "Priority of this line for EPD lateness.",
               required=False, default=1.0),
    ),
    description="One row per order line (order, line) and SKU: the demand to serve.",
    # (order, line) is unique; checked in data.py once missing line numbers are filled in.
)

POS = Sheet(
    "POs",
    (
        Column("po", TEXT, "Purchase order (or work order) number.", aliases=("PO/工单号",)),
        Column("supply_center", TEXT, "Supply center the PO is delivered to.",
               aliases=SUPPLY_CENTER),
        Column("sku", TEXT, "SKU on the PO.", aliases=("SKU编码",)),
        Column("quantity", NUMBER, "Units still to be received.", unit="units",
               aliases=("未入库数量",)),
        Column("arrival_date", DATE, "Day the PO arrives; it can be allocated from that day.",
               aliases=("要求到货时间",)),
        Column("batch", TEXT, "Batch of the PO, when one PO arrives in several batches.",
               required=False, default="", aliases=("批次号",)),
    ),
    description="Incoming purchase orders not yet received, one row per PO, SKU and batch.",
    key=("po", "supply_center", "sku", "batch"),
)

REGION_CAPACITY = Sheet(
    "RegionCapacity",
    (
        Column("sku", TEXT, "SKU the limit applies to.", aliases=("SKU编码",)),
        Column("region", TEXT, "Region (as written in Orders).", aliases=("区域",)),
        Column("capacity", NUMBER, "Most units of this SKU delivered to the region per day.",
               unit="units per day", aliases=("数量",)),
    ),
    description="Optional daily delivery limits per SKU and region; no row = unlimited.",
    required=False,
    key=("sku", "region"),
)

ABOUT = """
Delivery allocation: which order line gets which units, from on-hand inventory or from
which incoming PO, on which day, so that lateness against the requested (RPD) and
estimated (EPD) packing dates costs as little as possible.
1. Fill in Settings (plan_date is required), Inventory, Orders and POs; RegionCapacity
   is optional. Dates are Excel dates or YYYY-MM-DD text.
2. Run Solve (ribbon) or: scplan solve this.xlsx -o result.xlsx
3. Read Out Allocations (what to ship, from which source, when), Out OrderStatus (each
   line's completion and lateness), Out Why (why each late line is late, with the
   amounts and what would fix it), Out Baseline (the same lines served first come,
   first served, for comparison), Out Charts and Out Summary.
A line is on time when all its units are delivered by its EPD. A PO is never used before
it arrives, and no line is served before its RPD or before plan_date.
"""

# Causes in Out Why, in the order they are checked (docs/delivery_allocation.md, "Out Why").
WHY_CAUSES = ("no supply in time", "supply went to other lines", "region capacity",
              "EPD before the plan date", "no cost to delay it", "plan not optimal")
ABOUT += f"Out Why gives each late line one cause: {'; '.join(WHY_CAUSES)}.\n"

# ---------------------------------------------------------------------------
# Result sheets

ORDER = OutColumn("order", "Order number (Orders.order).")
LINE = OutColumn("line", "Line of the order (Orders.line).")
SKU = OutColumn("sku", "SKU of the line.")
REGION = OutColumn("region", "Region the line ships to.")

ALLOCATIONS = OutTable(
    "Out Allocations",
    "What to ship: one row per order line, delivery day and source (inventory or PO).",
    (
        ORDER, LINE, SKU, REGION,
        OutColumn("source_type", "inventory (on hand on the plan date) or po."),
        OutColumn("source", "inventory, or the PO number (\"PO / batch\" for a batch)."),
        OutColumn("date", "Day the units are delivered to the line.", DATE_FORMAT),
        OutColumn("quantity", "Units delivered from this source on this day.", QUANTITY_FORMAT,
                  unit="units"),
        OutColumn("supply_center", "Supply center that ships them."),
        OutColumn("fulfillment_order", "Fulfillment order of the line."),
        OutColumn("available_from", "First day the source can be used (plan date for "
                  "inventory, arrival for a PO).", DATE_FORMAT),
    ),
    sort_by=("date", "order", "line"),
)

STATUS_COLUMNS = (
    ORDER, LINE, SKU, REGION,
    OutColumn("quantity", "Units ordered.", QUANTITY_FORMAT, unit="units"),
    OutColumn("delivered", "Units delivered within the plan.", QUANTITY_FORMAT, unit="units"),
    OutColumn("completion_date", "Day the last unit is delivered; blank while the line is "
              "not complete.", DATE_FORMAT),
    OutColumn("rpd", "Requested packing date.", DATE_FORMAT),
    OutColumn("epd", "Estimated packing date used (raised to the RPD when given earlier).",
              DATE_FORMAT),
    OutColumn("days_late_rpd", "Days from the RPD to completion (to the day after "
              "horizon_end when not complete).", INTEGER_FORMAT, unit="days"),
    OutColumn("days_late_epd", "Days from the EPD to completion, counted the same way.",
              INTEGER_FORMAT, unit="days"),
    OutColumn("on_time", "TRUE when the whole line is delivered by its EPD."),
    OutColumn("status", "on time, late, partial or not delivered."),
    OutColumn("penalty", "Lateness penalty of the line (missing units cost as if delivered "
              "the day after horizon_end).", MONEY_FORMAT),
)

ORDER_STATUS = OutTable(
    "Out OrderStatus",
    "Each order line in the optimised plan: delivered, completion, lateness, penalty.",
    STATUS_COLUMNS,
    sort_by=("epd", "order", "line"),
)

BASELINE = OutTable(
    "Out Baseline",
    "The same lines served first come, first served (in order of RPD), for comparison.",
    STATUS_COLUMNS,
    sort_by=ORDER_STATUS.sort_by,
)

CHARTS = OutTable(
    "Out Charts",
    "Optimised plan against first come, first served, per SKU (largest saving first), "
    "with charts of cumulative supply and deliveries for the SKUs that gain most.",
    (
        SKU,
        OutColumn("lines", "Order lines of the SKU.", INTEGER_FORMAT),
        OutColumn("units", "Units ordered.", QUANTITY_FORMAT, unit="units"),
        OutColumn("on_time_lines", "Lines on time in the optimised plan.", INTEGER_FORMAT),
        OutColumn("baseline_on_time_lines", "Lines on time first come, first served.",
                  INTEGER_FORMAT),
        OutColumn("penalty", "Penalty of the optimised plan.", MONEY_FORMAT),
        OutColumn("baseline_penalty", "Penalty first come, first served.", MONEY_FORMAT),
        OutColumn("saving", "baseline_penalty − penalty.", MONEY_FORMAT),
    ),
)

WHY = why_table(
    item_columns=(
        ORDER, LINE, SKU, REGION,
        OutColumn("supply_center", "Supply center that serves the line."),
        OutColumn("epd", "Estimated packing date used (raised to the RPD when given "
                  "earlier).", DATE_FORMAT),
        OutColumn("days_late", "Days from the EPD to completion (to the day after "
                  "horizon_end when not complete).", INTEGER_FORMAT, unit="days"),
        OutColumn("units_late", "Units not delivered by the EPD.", QUANTITY_FORMAT,
                  unit="units"),
    ),
    sort_by=("-cost", "order", "line"),
)

OUTPUTS = (ALLOCATIONS, ORDER_STATUS, WHY, BASELINE, CHARTS)

SCHEMA = WorkbookSchema(
    model=MODEL,
    title="Delivery allocation (scplan)",
    settings=SETTINGS,
    sheets=(INVENTORY, ORDERS, POS, REGION_CAPACITY),
    about=ABOUT,
    outputs=OUTPUTS,
)
