"""The start plan: first come, first served, what a planner does by hand.

Lines are served one after the other in order of RPD (then EPD, order, line); each
takes the earliest units available (inventory, then POs by arrival) on the earliest
days it may, under the same region capacity as the optimiser. It is the baseline the
optimised plan is compared with in ``Out Baseline`` and ``Out Charts``
(docs/delivery_allocation.md, "First come, first served").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import Instance
from .model import ROUND_TOL


def first_come_first_served(instance: Instance) -> pd.DataFrame:
    """Allocations of the FCFS rule: one row per (line, day, source) like the optimiser's."""
    lines, H = instance.lines, instance.horizon_days
    columns = ["line", "day", "source", "quantity"]
    if lines.empty:
        return pd.DataFrame(columns=columns)
    src = instance.usable_sources
    is_po = (src["source_type"] == "po").to_numpy()
    src = src.iloc[np.lexsort((src["source"].to_numpy(str), is_po, src["day"].to_numpy()))]
    # Per pool: source indices in the order they are used, their first days, what is left.
    pools: dict[tuple[str, str], list] = {}
    for (center, sku), group in src.groupby(["supply_center", "sku"], sort=False):
        pools[(center, sku)] = [group.index.to_numpy(), group["day"].to_numpy(),
                                group["quantity"].to_numpy(float).copy(), 0]
    cap = instance.capacity
    capacity_left = {(s, r): np.full(H + 1, float(c))
                     for s, r, c in zip(cap["sku"], cap["region"], cap["capacity"])}

    out_line, out_day, out_src, out_qty = [], [], [], []
    queue = lines.sort_values(["rpd", "epd", "order", "line"], kind="stable")
    for i, center, sku, region, qty, first in zip(
            queue.index, queue["supply_center"], queue["sku"], queue["region"],
            queue["quantity"].to_numpy(float), queue["first_day"].to_numpy()):
        pool = pools.get((center, sku))
        if pool is None:
            continue
        index, days, left, head = pool
        limit = capacity_left.get((sku, region))
        need, day = qty, int(first)
        while need > ROUND_TOL and head < len(index) and day <= H:
            day = max(day, int(days[head]))  # wait for the next source to arrive
            if limit is not None:
                open_days = np.flatnonzero(limit[day:] > ROUND_TOL)
                if len(open_days) == 0:
                    break
                day += int(open_days[0])
            if day > H:
                break
            room = need if limit is None else min(need, limit[day])
            # Take from the earliest sources that have arrived by this day.
            while room > ROUND_TOL and head < len(index) and days[head] <= day:
                take = min(room, left[head])
                out_line.append(i)
                out_day.append(day)
                out_src.append(index[head])
                out_qty.append(take)
                left[head] -= take
                room -= take
                need -= take
                if limit is not None:
                    limit[day] -= take
                if left[head] <= ROUND_TOL:
                    head += 1
            if limit is not None and limit[day] <= ROUND_TOL:
                day += 1  # the region is full today; go on tomorrow
        pool[3] = head
    return pd.DataFrame({"line": np.asarray(out_line, dtype=np.int64),
                         "day": np.asarray(out_day, dtype=np.int64),
                         "source": np.asarray(out_src, dtype=np.int64),
                         "quantity": np.asarray(out_qty, dtype=float)}, columns=columns)
