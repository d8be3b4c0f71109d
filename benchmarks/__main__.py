"""Benchmarks: ``python -m benchmarks [pd|mps|da|all] [--scale small|seed|big]``.

Each benchmark writes its instance as a workbook and times ``scplan solve`` on it as a
planner runs it (a separate process: reading, validating, building, solving, writing
the result workbook with its charts). Model size, build and solve seconds, status,
objective, bound and gap come from the result's ``Out Summary``; wall time and peak
memory (of the process and its solver children) are measured here. Results are printed
as one table and appended as CSV to ``benchmarks/results/<date>-<commit>.csv``.

Benchmarks are not tests: numbers depend on the machine, which the table names.

Two more commands: ``python -m benchmarks robustness`` (scplan against plain HiGHS on
generated workbooks of many shapes, ``robustness.py``) and ``python -m benchmarks
render`` (result workbooks as PNG pages through LibreOffice, ``render.py``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import load_workbook

from .instances import INSTANCES
from .machine import commit, machine

HERE = Path(__file__).resolve().parent
COLUMNS = ["instance", "rows", "columns", "integers", "nonzeros", "build_s", "solve_s",
           "wall_s", "status", "objective", "bound", "gap", "peak_mib"]


def summary_of(path: Path) -> dict:
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        # The solver's details (bound, …) are in Out Solver, the KPIs in Out Summary.
        rows = [r for name in ("Out Summary", "Out Solver") if name in wb.sheetnames
                for r in list(wb[name].iter_rows(values_only=True))[1:]]
    finally:
        wb.close()
    return {r[0]: r[1] for r in rows if r and r[0] is not None}


_PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print('PEAK_KIB=%d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
    " file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _peak_kib(stderr: str) -> int:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("PEAK_KIB=")]
    return int(lines[-1].split("=")[1]) if lines else 0


def run_one(name: str, make, scale: str, extra_args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / f"{name}.xlsx", Path(d) / f"{name}-result.xlsx"
        make(src, scale)
        t0 = time.perf_counter()
        # Through a fresh wrapper process: its RUSAGE_CHILDREN peak covers this run only
        # (the solve and its solver and worker processes), not earlier benchmarks.
        proc = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, sys.executable, "-m",
                               "solver_core.cli", "solve", str(src), "-o", str(out),
                               *extra_args], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        peak = _peak_kib(proc.stderr)
        if proc.returncode not in (0, 3) or not out.exists():
            return {"instance": name, "status": f"exit {proc.returncode}",
                    "wall_s": round(wall, 2), "error": proc.stderr[-500:]}
        s = summary_of(out)
    return {
        "instance": name, "rows": s.get("rows"), "columns": s.get("columns"),
        "integers": s.get("integers"), "nonzeros": s.get("nonzeros"),
        "build_s": s.get("build_seconds"), "solve_s": s.get("solve_seconds"),
        "wall_s": round(wall, 2), "status": s.get("status"), "objective": s.get("objective"),
        "bound": s.get("bound"), "gap": s.get("mip_gap"),
        "peak_mib": round(peak / 1024, 0),  # ru_maxrss is in KiB on Linux
    }


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["robustness"]:
        from .robustness import main as robustness_main

        return robustness_main(argv[1:])
    if argv[:1] == ["render"]:
        from .render import main as render_main

        return render_main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0],
                                epilog="Also: python -m benchmarks robustness [-h] and "
                                       "python -m benchmarks render [-h].")
    p.add_argument("model", nargs="?", default="all", choices=["pd", "mps", "da", "all"])
    p.add_argument("--scale", default="small", choices=sorted(INSTANCES))
    p.add_argument("--time-limit", type=float, help="passed on to scplan solve")
    p.add_argument("--no-save", action="store_true", help="do not write the CSV")
    args = p.parse_args(argv)
    extra = ["--time-limit", str(args.time_limit)] if args.time_limit else []
    chosen = [(n, m) for n, (model, m) in INSTANCES[args.scale].items()
              if args.model in ("all", model)]
    rows = []
    for name, make in chosen:
        print(f"running {name} …", file=sys.stderr, flush=True)
        rows.append(run_one(name, make, args.scale, extra))
    mach = machine()
    print(f"\nmachine: {mach}; commit {commit()}; {dt.date.today()}")
    widths = [max(len(c), *(len(fmt(r.get(c))) for r in rows)) for c in COLUMNS]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)))
    for r in rows:
        print("  ".join(fmt(r.get(c)).ljust(w) for c, w in zip(COLUMNS, widths)))
        if "error" in r:
            print("   ", r["error"].strip().splitlines()[-1] if r["error"].strip() else "")
    if not args.no_save:
        out = HERE / "results" / f"{dt.date.today()}-{commit()}.csv"
        out.parent.mkdir(exist_ok=True)
        new = not out.exists()
        with out.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["date", "commit", "machine", "scale", *COLUMNS],
                               extrasaction="ignore")
            if new:
                w.writeheader()
            for r in rows:
                w.writerow({"date": dt.date.today().isoformat(), "commit": commit(),
                            "machine": mach, "scale": args.scale, **r})
        print(f"saved {out.relative_to(HERE.parent)}")
    failed = [r for r in rows if str(r.get("status", "")).startswith("exit")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
