"""Delivery allocation test support: instance builders and the independent checker.

:func:`check_outcome` reads only the input sheets and the ``Out …`` sheets and
recomputes, independently of the solver code: sources never over-used, no delivery
before the source arrives, before the line's RPD or outside the plan, region capacity
per day, delivered quantities, the penalty (from ``Out Allocations``), on-time status
and rates, and that the optimised penalty is not worse than the FCFS baseline's. Every
solve in the delivery-allocation tests goes through :func:`solve_and_check`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from solver_core import api
from solver_core.delivery_allocation import examples
from solver_core.delivery_allocation.schema import SCHEMA
from solver_core.outputs import summary_items
from solver_core.tables import Problems, Settings, parse_settings, parse_table

PLAN = dt.date(2025, 3, 3)
ORDER_COLUMNS = ["fulfillment_order", "order", "supply_center", "sku", "quantity", "rpd", "epd",
                 "region", "line", "rpd_weight", "epd_weight"]
TOL = 1e-6


def day(k: int) -> dt.date:
    """The date k days after the plan date of the hand-made cases."""
    return PLAN + dt.timedelta(days=int(k))


def line(order: str, sku: str, quantity: float, rpd: int, epd: int, region: str = "R1",
         center: str = "Y", number: str = "1", rpd_weight: float = 1.0,
         epd_weight: float = 1.0) -> dict[str, Any]:
    """One Orders row; dates given as days after PLAN."""
    return {"fulfillment_order": f"F-{order}", "order": order, "supply_center": center,
            "sku": sku, "quantity": quantity, "rpd": day(rpd), "epd": day(epd),
            "region": region, "line": number, "rpd_weight": rpd_weight,
            "epd_weight": epd_weight}


def workbook(lines: list[dict], inventory: list[tuple] = (), pos: list[tuple] = (),
             capacity: list[tuple] = (), **settings: Any
             ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Tables and settings of a hand-made case.

    inventory: (center, sku, available); pos: (po, center, sku, quantity, arrival day
    [, batch]); capacity: (sku, region, units per day).
    """
    data = {
        "Inventory": pd.DataFrame(list(inventory), columns=["supply_center", "sku", "available"]),
        "Orders": pd.DataFrame(lines, columns=ORDER_COLUMNS),
        "POs": pd.DataFrame(
            [(p[0], p[1], p[2], p[3], day(p[4]), p[5] if len(p) > 5 else "") for p in pos],
            columns=["po", "supply_center", "sku", "quantity", "arrival_date", "batch"]),
    }
    if capacity:
        data["RegionCapacity"] = pd.DataFrame(list(capacity), columns=["sku", "region", "capacity"])
    values = {"plan_date": PLAN, "horizon_end": day(30), "rpd_penalty": 1, "epd_penalty": 10,
              "penalty": "linear"}
    values.update(settings)
    return data, values


@dataclass
class Solved:
    outcome: api.Outcome
    out: dict[str, pd.DataFrame]
    summary: dict[str, Any]

    def allocations(self) -> pd.DataFrame:
        return self.out["Out Allocations"]

    def status(self, order: str, number: str = "1", sheet: str = "Out OrderStatus") -> dict:
        frame = self.out[sheet]
        hit = frame[(frame["order"].astype(str) == order) & (frame["line"].astype(str) == number)]
        assert len(hit) == 1, (order, number, frame)
        return hit.iloc[0].to_dict()


def solve_and_check(data: dict[str, pd.DataFrame], settings: dict[str, Any],
                    workers: int | None = None) -> Solved:
    """Solve through the public API, then run the independent checker on the result.

    ``workers`` sets ``Settings!workers`` (1 forces the sequential path).
    """
    if workers is not None:
        settings = {**settings, "workers": workers}
    raw = examples.raw_sheets(data, settings)
    outcome = api.solve(raw)
    out = {s.name: s.frame for s in outcome.sheets}
    summary = summary_items(out)
    check_outcome(raw, outcome)
    return Solved(outcome, out, summary)


# ---------------------------------------------------------------------------
# The independent checker


def check_outcome(raw: dict[str, pd.DataFrame], outcome: api.Outcome) -> None:
    """Check a delivery-allocation outcome against its raw input sheets.

    Does nothing when the outcome has no plan (exit code ≠ 0). The input sheets are
    read with the workbook parser only (headers, aliases, types); every rule of the
    model is recomputed here.
    """
    if outcome.exit_code != 0:
        return
    data, settings = read_inputs(raw)
    check_plan(data, settings, {s.name: s.frame for s in outcome.sheets})


def read_inputs(raw: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], Settings]:
    """The input tables and settings of raw sheets, through the workbook parser only."""
    problems = Problems()
    settings = parse_settings(raw.get("Settings"), SCHEMA.settings, problems)
    data = {}
    for sheet in SCHEMA.sheets:
        table = parse_table(raw.get(sheet.name), sheet, problems)
        if sheet.name == "Orders" and "line" not in table.attrs.get("positions", {}):
            # A raw export without line numbers: the rows of an order are lines 1, 2, …
            table["line"] = (table.groupby("order", sort=False).cumcount() + 1).astype(str)
        data[sheet.name] = table
    assert not problems.has_errors(), problems.frame()
    return data, settings


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _key(order: Any, number: Any) -> tuple[str, str]:
    def text(v):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip()
    return text(order), text("1" if number is None or pd.isna(number) else number)


def _unit_cost(delivered_on: dt.date, rpd: dt.date, epd: dt.date, rpd_rate: float,
               epd_rate: float, mode: str) -> float:
    """c_o(t) from its definition (docs/delivery_allocation.md, "Penalty"), written out
    once more for the checker."""
    late_rpd = max((delivered_on - rpd).days, 0)
    late_epd = max((delivered_on - epd).days, 0)
    if mode == "cumulative":
        return rpd_rate * late_rpd * (late_rpd + 1) / 2 + epd_rate * late_epd * (late_epd + 1) / 2
    return rpd_rate * late_rpd + epd_rate * late_epd


def check_plan(data: dict[str, pd.DataFrame], settings: Settings,
               out: dict[str, pd.DataFrame]) -> None:
    """Recompute the plan's feasibility and figures from the inputs and ``Out`` sheets."""
    summary = summary_items(out)
    plan, end = _date(summary["plan_date"]), _date(summary["horizon_end"])
    mode = settings.penalty
    a, b = float(settings.rpd_penalty), float(settings.epd_penalty)

    # Lines expected in the plan: quantity > 0 and RPD within the horizon.
    lines: dict[tuple[str, str], dict] = {}
    for row in data["Orders"].to_dict("records"):
        rpd, epd = _date(row["rpd"]), _date(row["epd"])
        if row["quantity"] <= 0 or rpd > end:
            continue
        w_rpd, w_epd = row["rpd_weight"], row["epd_weight"]
        lines[_key(row["order"], row["line"])] = {
            "center": str(row["supply_center"]), "sku": str(row["sku"]),
            "region": str(row["region"]), "quantity": float(row["quantity"]), "rpd": rpd,
            "epd": max(epd, rpd),  # an EPD before the RPD is read as the RPD
            "rpd_rate": a * (1.0 if w_rpd is None or pd.isna(w_rpd) else float(w_rpd)),
            "epd_rate": b * (1.0 if w_epd is None or pd.isna(w_epd) else float(w_epd)),
        }

    # Sources: inventory per (center, sku) from the plan date, POs from their arrival.
    available: dict[tuple, float] = defaultdict(float)
    usable_from: dict[tuple, dt.date] = {}
    for row in data["Inventory"].to_dict("records"):
        key = (str(row["supply_center"]), str(row["sku"]), "inventory", "inventory")
        available[key] += float(row["available"])
        usable_from[key] = plan
    for row in data["POs"].to_dict("records"):
        batch = row.get("batch") or ""
        name = str(row["po"]) + (f" / {batch}" if str(batch) else "")
        key = (str(row["supply_center"]), str(row["sku"]), "po", name)
        available[key] += float(row["quantity"])
        usable_from[key] = max(_date(row["arrival_date"]), plan)
    limits = {}
    if "RegionCapacity" in data:
        for row in data["RegionCapacity"].to_dict("records"):
            limits[(str(row["sku"]), str(row["region"]))] = float(row["capacity"])

    alloc = out["Out Allocations"]
    used: dict[tuple, float] = defaultdict(float)
    region_day: dict[tuple, float] = defaultdict(float)
    delivered: dict[tuple, float] = defaultdict(float)
    last: dict[tuple, dt.date] = {}
    penalty = 0.0
    for row in alloc.to_dict("records"):
        key = _key(row["order"], row["line"])
        assert key in lines, f"allocation to unknown or unplanned line {key}"
        ln = lines[key]
        when, qty = _date(row["date"]), float(row["quantity"])
        assert qty > 0, row
        assert (str(row["sku"]), str(row["region"])) == (ln["sku"], ln["region"]), row
        source = (ln["center"], ln["sku"], str(row["source_type"]), str(row["source"]))
        assert source in available, f"allocation from a source of another pool: {row}"
        assert when >= usable_from[source], f"used before it arrives: {row}"
        assert when >= ln["rpd"] and plan <= when <= end, f"delivered out of its window: {row}"
        used[source] += qty
        region_day[(ln["sku"], ln["region"], when)] += qty
        delivered[key] += qty
        last[key] = max(last.get(key, when), when)
        penalty += qty * _unit_cost(when, ln["rpd"], ln["epd"], ln["rpd_rate"], ln["epd_rate"],
                                    mode)
    for source, qty in used.items():
        assert qty <= available[source] + TOL * max(1.0, available[source]), (source, qty)
    for (sku, region, when), qty in region_day.items():
        if (sku, region) in limits:
            assert qty <= limits[(sku, region)] + TOL, (sku, region, when, qty)

    status = out["Out OrderStatus"]
    seen = {_key(o, n) for o, n in zip(status["order"], status["line"])}
    assert seen == set(lines), "Out OrderStatus must list exactly the planned lines"
    on_time = 0
    for row in status.to_dict("records"):
        key = _key(row["order"], row["line"])
        ln = lines[key]
        got = delivered.get(key, 0.0)
        assert got <= ln["quantity"] + TOL * max(1.0, ln["quantity"]), (key, got)
        assert abs(float(row["delivered"]) - got) <= TOL * max(1.0, got), (key, row)
        complete = got >= ln["quantity"] - TOL * max(1.0, ln["quantity"])
        if not complete:
            penalty += (ln["quantity"] - got) * _unit_cost(
                end + dt.timedelta(days=1), ln["rpd"], ln["epd"], ln["rpd_rate"],
                ln["epd_rate"], mode)
        timely = complete and last[key] <= ln["epd"]
        assert bool(row["on_time"]) == timely, (key, row)
        if complete:
            assert _date(row["completion_date"]) == last[key], (key, row)
        on_time += timely
    scale = max(1.0, abs(penalty))
    assert abs(float(summary["penalty"]) - penalty) <= 1e-6 * scale, (summary["penalty"], penalty)
    assert abs(float(summary["objective"]) - penalty) <= 1e-6 * scale
    n = len(lines)
    assert int(summary["order_lines"]) == n
    assert int(summary["late_lines"]) == n - on_time
    assert abs(float(summary["on_time_rate"]) - (on_time / n if n else 1.0)) <= 1e-6

    base = out["Out Baseline"]
    assert {_key(o, n) for o, n in zip(base["order"], base["line"])} == set(lines)
    assert abs(float(summary["baseline_penalty"]) - float(base["penalty"].sum())) <= 1e-6 * max(
        1.0, abs(float(summary["baseline_penalty"])))
    assert int(summary["baseline_late_lines"]) == n - int(base["on_time"].astype(bool).sum())
    # The optimum can never be worse than the hand rule: FCFS is a feasible plan (SKUs
    # the solver did not finish are served by FCFS itself). Under objective on_time the
    # measure is the number of lines on time, under penalty the penalty.
    if settings.objective == "on_time":
        assert n - on_time <= int(summary["baseline_late_lines"])
    else:
        assert float(summary["penalty"]) <= float(summary["baseline_penalty"]) + 1e-6 * scale


# ---------------------------------------------------------------------------
# Random instances


def random_instance(seed: int, max_lines: int = 8, mode: str | None = None,
                    ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """A small random instance exercising every feature: overdue lines, EPD before
    RPD, zero weights, POs before the plan date or after the horizon, region limits
    (also 0), several supply centers sharing a SKU's regional limit, fractional units.
    """
    rng = np.random.default_rng(seed)
    horizon = int(rng.integers(6, 21))
    centers = ["Y", "Z"][: int(rng.integers(1, 3))]
    skus = ["S1", "S2"][: int(rng.integers(1, 3))]
    regions = ["R1", "R2", "R3"][: int(rng.integers(1, 4))]
    rows = []
    for i in range(int(rng.integers(1, max_lines + 1))):
        rpd = int(rng.integers(-3, horizon + 1))
        quantity = float(rng.integers(1, 40))
        if rng.uniform() < 0.1:
            quantity += 0.5
        rows.append(line(f"O{i}", str(rng.choice(skus)), quantity, rpd,
                         rpd + int(rng.integers(-2, 9)), region=str(rng.choice(regions)),
                         center=str(rng.choice(centers)),
                         rpd_weight=float(rng.choice([0, 1, 1, 2])),
                         epd_weight=float(rng.choice([0, 1, 1, 3]))))
    inventory, pos = [], []
    for c in centers:
        for s in skus:
            if rng.uniform() < 0.7:
                inventory.append((c, s, int(rng.integers(0, 60))))
            for k in range(int(rng.integers(0, 4))):
                pos.append((f"P{c}{s}{k}", c, s, int(rng.integers(1, 50)),
                            int(rng.integers(-2, horizon + 3))))
    used_pairs = sorted({(r["sku"], r["region"]) for r in rows})
    capacity = [(s, r, int(rng.choice([0, 5, 10, 20, 40]))) for s, r in used_pairs
                if rng.uniform() < 0.4]
    settings = {"plan_date": PLAN, "horizon_end": day(horizon),
                "rpd_penalty": float(rng.choice([0, 1, 2])),
                "epd_penalty": float(rng.choice([0, 5, 10])),
                "penalty": mode or str(rng.choice(["linear", "cumulative"]))}
    data, _ = workbook(rows, inventory, pos, capacity)
    return data, settings
