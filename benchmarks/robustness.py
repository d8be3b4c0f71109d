"""``python -m benchmarks robustness``: scplan against plain HiGHS on many shapes.

For every workbook of the suite (``shapes.py``): scplan solves it through
``solver_core.api.solve`` with the time limit and a 0.1% gap (as ``scplan solve
--time-limit L --gap 0.001`` does), timed by the wall clock; plain HiGHS solves the same
full model with the same limit (``plain.py``). One table is printed and written to
``benchmarks/results/robustness-<date>-<commit>[-seed<N>][-<model>].csv`` (never over an
earlier run's file).

``--seed N`` draws every workbook of the suite afresh from seed N: the same shapes, other
data. The solver was measured and tuned on the suite's own workbooks; a held-out draw
shows whether what it does holds up on workbooks nobody looked at.

For MPS scplan's plan cost is the evaluated cost of its rounded plan (``Out Summary``)
and plain HiGHS's is the objective of the relaxed-quantity MIP.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from solver_core import api

from . import shapes
from .plain import solve_plain

HERE = Path(__file__).resolve().parent
GAP = 0.001
COLUMNS = ["workbook", "model", "size", "time_limit", "scplan_cost", "plain_cost", "ratio",
           "scplan_gap", "scplan_bound", "plain_gap", "plain_bound", "scplan_s", "plain_s",
           "scplan_status", "plain_status"]
# Out Summary items, first found wins (MPS: the evaluated cost of the rounded plan first).
COST_ITEMS = ("evaluated_cost", "plan_cost", "objective")
BOUND_ITEMS = ("bound", "best_bound")
GAP_ITEMS = ("plan_gap", "mip_gap", "gap")


def summary_items(outcome: api.Outcome) -> dict[str, Any]:
    """Items of every two-column summary sheet (``Out Summary``, and ``Out Solver`` if any)."""
    items: dict[str, Any] = {}
    for sheet in outcome.sheets:
        frame = sheet.frame
        if sheet.name in ("Out Summary", "Out Solver") and list(frame.columns)[:2] == [
                "item", "value"]:
            for k, v in zip(frame["item"], frame["value"]):
                items.setdefault(str(k), v)
    return items


def number(v: Any) -> float | None:
    """A summary value as a float (accepts 0.5, "0.5", "0.5%"); None when it is none."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) if v == v else None
    text = str(v).strip().replace(",", "")
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None


def first(items: dict[str, Any], names: tuple[str, ...]) -> float | None:
    for name in names:
        value = number(items.get(name))
        if value is not None:
            return value
    return None


def run_shape(shape: shapes.Shape, time_limit: float, seed: int | None = None
              ) -> dict[str, Any]:
    """Solve one shape (drawn from ``seed``, None: the suite's own) both ways; one row."""
    model = shapes.MODEL_KEYS[shape.model]
    data, settings = shape.make(seed)
    raw = shapes.raw_sheets(data, settings)
    name = shape.name if seed is None else f"{shape.name}@seed{seed}"
    row: dict[str, Any] = {"workbook": name, "model": shape.model,
                           "description": shape.description, "time_limit": time_limit}
    t0 = time.perf_counter()
    outcome = api.solve(raw, {"time_limit_s": time_limit, "mip_gap": GAP})
    row["scplan_s"] = time.perf_counter() - t0
    row["scplan_status"] = outcome.status
    if outcome.exit_code == api.EXIT_BUG:
        row["error"] = outcome.message.strip().splitlines()[0]
    items = summary_items(outcome)
    has_plan = outcome.exit_code == api.EXIT_OK
    row["scplan_cost"] = first(items, COST_ITEMS) if has_plan else None
    row["scplan_bound"] = first(items, BOUND_ITEMS)
    row["scplan_gap"] = first(items, GAP_ITEMS) if has_plan else None

    _, _, inst, problems = api.load(raw, {"time_limit_s": time_limit, "mip_gap": GAP})
    if inst is None:
        row["plain_status"] = "invalid: " + problems.summary()
        return row
    plain = solve_plain(model, inst, time_limit, GAP)
    size = plain.size
    row["size"] = (f"{size['rows']:,} rows × {size['columns']:,} cols, "
                   f"{size['integers']:,} int")
    row.update(plain_cost=plain.cost, plain_bound=plain.bound, plain_gap=plain.gap,
               plain_s=plain.seconds, plain_status=plain.status)
    if plain.status == "optimal" and plain.cost is None:
        # HiGHS reports an empty model as optimal: the model was not handed over.
        row["error"] = "plain HiGHS: 'optimal' without a plan (model not accepted)"
    if row["scplan_cost"] is None:
        row["ratio"] = "no plan"
    elif plain.cost is None:
        row["ratio"] = "no plain plan"
    else:
        row["ratio"] = row["scplan_cost"] / plain.cost if plain.cost else None
    return row


def fmt(column: str, v: Any) -> str:
    if v is None:
        return "no plan" if column in ("scplan_cost", "plain_cost") else "-"
    if isinstance(v, str):
        return v
    if column == "ratio":
        return f"{v:.4f}"
    if column.endswith("_gap"):
        return f"{v:.2%}"
    if column.endswith("_s") or column == "time_limit":
        return f"{v:.1f}"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def table(rows: list[dict[str, Any]], markdown: bool = False) -> str:
    """The rows as an aligned text table, or as a Markdown table."""
    cells = [[fmt(c, r.get(c)) for c in COLUMNS] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def save(rows: list[dict[str, Any]], commit: str, machine: str, folder: Path,
         seed: int | None = None, only: str | None = None) -> Path:
    """The rows as ``robustness-<date>-<commit>[-seed<N>][-<model>].csv`` in ``folder``;
    never over an earlier run's file (then ``-2``, ``-3``, … before ``.csv``)."""
    stem = (f"robustness-{dt.date.today()}-{commit}" + ("" if seed is None else f"-seed{seed}")
            + ("" if only is None else f"-{only.lower()}"))
    out, n = folder / f"{stem}.csv", 2
    while out.exists():
        out, n = folder / f"{stem}-{n}.csv", n + 1
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["date", "commit", "machine", *COLUMNS, "description",
                                          "error"], extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({"date": dt.date.today().isoformat(), "commit": commit,
                        "machine": machine, **r})
    return out


def main(argv: list[str] | None = None) -> int:
    from .machine import commit, machine

    p = argparse.ArgumentParser(prog="python -m benchmarks robustness",
                                description=__doc__.splitlines()[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help=f"the smaller shapes, {shapes.QUICK_TIME_LIMIT:g} s each")
    size.add_argument("--ci", action="store_true",
                      help=f"a two-minute subset, {shapes.CI_TIME_LIMIT:g} s each; checks "
                           "only that every row is there")
    p.add_argument("--time-limit", type=float,
                   help="seconds per solve (default: PD 60, MPS 120, DA 60; --quick 20)")
    p.add_argument("--only", choices=sorted(shapes.MODEL_KEYS), help="one model only")
    p.add_argument("--shape", action="append", metavar="NAME",
                   help="only this workbook of the suite (repeatable)")
    p.add_argument("--seed", type=int, help="draw every workbook from this seed: the same "
                   "shapes, held-out data (default: the suite's own workbooks)")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--no-save", action="store_true", help="do not write the CSV")
    p.add_argument("--results-dir", type=Path, default=HERE / "results",
                   help="where the CSV goes (default: benchmarks/results)")
    args = p.parse_args(argv)
    suite = "ci" if args.ci else "quick" if args.quick else "full"
    chosen = [s for s in shapes.SUITES[suite] if args.only in (None, s.model)
              and (not args.shape or s.name in args.shape)]
    unknown = set(args.shape or ()) - {s.name for s in shapes.SUITES[suite]}
    if unknown:
        p.error(f"no shape {', '.join(sorted(unknown))} in the {suite} suite; it has: "
                + ", ".join(s.name for s in shapes.SUITES[suite]))
    mach, rev = machine(), commit()  # the code that runs, should commits land meanwhile
    rows = []
    for shape in chosen:
        limit = args.time_limit or (shapes.CI_TIME_LIMIT if args.ci else shapes.QUICK_TIME_LIMIT
                                    if args.quick else shapes.DEFAULT_TIME_LIMIT[shape.model])
        print(f"{shape.name}: {shape.description}, {limit:g} s …", file=sys.stderr, flush=True)
        row = run_shape(shape, limit, args.seed)
        print(f"  scplan {fmt('scplan_cost', row.get('scplan_cost'))} "
              f"({row.get('scplan_status')}, {row['scplan_s']:.1f} s), plain "
              f"{fmt('plain_cost', row.get('plain_cost'))} ({row.get('plain_status')}, "
              f"{fmt('plain_s', row.get('plain_s'))} s)", file=sys.stderr, flush=True)
        rows.append(row)
    drawn = "" if args.seed is None else f", workbooks drawn from seed {args.seed}"
    print(f"\nrobustness ({suite}{drawn}): {dt.date.today()}, commit {rev}, {mach}")
    print(table(rows, markdown=args.markdown))
    for r in rows:
        if "error" in r:
            print(f"{r['workbook']}: {r['error']}")
    if not args.no_save:
        print(f"saved {save(rows, rev, mach, args.results_dir, args.seed, args.only)}")
    return 1 if any("error" in r or r.get("plain_status") is None for r in rows) else 0
