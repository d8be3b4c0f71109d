"""Validation time of 100,000-row sheets: ``python -m benchmarks.large_inputs [ROWS]``.

Writes two workbooks from the small examples: production–distribution with a
``Supply`` sheet of ROWS valid rows (ROWS/10 products × 10 days) and delivery allocation
with an ``Orders`` sheet of ROWS valid lines; then times reading (``read_workbook``)
and validating (``api.validate``) each, in CPU and wall seconds.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from openpyxl import load_workbook

from solver_core import api
from solver_core.workbook import read_workbook

EXAMPLES = Path(__file__).resolve().parents[1] / "xlsx_templates" / "examples"


def _refill(ws, rows) -> None:
    ws.delete_rows(2, ws.max_row)
    for row in rows:
        ws.append(row)


def write_inputs(folder: Path, n: int) -> dict[str, Path]:
    """The two ROWS-row workbooks (valid input) in ``folder``."""
    out = {}
    wb = load_workbook(EXAMPLES / "production_distribution_small.xlsx")
    supplier = wb["Supply"]["A2"].value
    category = wb["Products"]["B2"].value
    _refill(wb["Products"], [[f"X{i}", category, 100, "x"] for i in range(n // 10)])
    _refill(wb["Supply"], [[supplier, f"X{i // 10}", 1 + i % 10, 3] for i in range(n)])
    for name in ("StartInventory", "Demand", "ProductionPlan", "BOM"):
        _refill(wb[name], [])
    out["production_distribution Supply"] = folder / "pd_large.xlsx"
    wb.save(out["production_distribution Supply"])
    wb = load_workbook(EXAMPLES / "delivery_allocation_small.xlsx")
    ws = wb["Orders"]
    base = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    order_col = [c.value for c in ws[1]].index("order")
    rows = []
    for i in range(n):
        row = list(base[i % len(base)])
        row[order_col] = f"O{i}"
        rows.append(row)
    _refill(ws, rows)
    out["delivery_allocation Orders"] = folder / "da_large.xlsx"
    wb.save(out["delivery_allocation Orders"])
    return out


def main(n: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for what, path in write_inputs(Path(tmp), n).items():
            c, t = time.process_time(), time.perf_counter()
            raw = read_workbook(path)
            read = (time.process_time() - c, time.perf_counter() - t)
            c, t = time.process_time(), time.perf_counter()
            outcome = api.validate(raw)
            check = (time.process_time() - c, time.perf_counter() - t)
            print(f"{what} ({n:,} rows): read {read[0]:.2f} s CPU / {read[1]:.2f} s wall, "
                  f"validate {check[0]:.2f} s CPU / {check[1]:.2f} s wall, "
                  f"exit {outcome.exit_code}: {outcome.message}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
