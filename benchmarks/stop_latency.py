"""Time from a stop request to ``highs.solve`` returning the best plan, at thesis scale.

``python -m benchmarks.stop_latency [--after S] [--repeat N]``: builds the thesis
example's full production–distribution MIP (whole pallets and trucks, the model the
staged solve falls back to), starts ``highs.solve`` with a 120 s limit from the
constructive plan, requests a stop after ``--after`` seconds through
``StopToken.request_stop`` (what Ctrl-C and the Stop button call) and prints how long
the call took to return, its status and the gap it kept. This is the solver layer the
models call; the whole ``scplan solve`` adds re-evaluation and writing the workbook.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from solver_core.production_distribution.heuristic import greedy_plan

from solver_core import api, control, highs
from solver_core.production_distribution import model
from solver_core.workbook import read_workbook

THESIS = (Path(__file__).resolve().parents[1] / "xlsx_templates" / "examples"
          / "production_distribution_thesis.xlsx")


def measure(lp: highs.LinearProgram, start, after: float) -> tuple[float, highs.SolveResult]:
    """Seconds from the request to the return of ``highs.solve``, and its result."""
    with control.StopToken() as stop:
        asked = {}

        def later():
            time.sleep(after)
            asked["t"] = time.monotonic()
            stop.request_stop()

        threading.Thread(target=later, daemon=True).start()
        res = highs.solve(lp, highs.SolveOptions(time_limit=120, mip_gap=1e-4, start=start),
                          stop=stop)
        return time.monotonic() - asked["t"], res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--after", type=float, default=10.0)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    _, _, inst, problems = api.load(read_workbook(THESIS))
    built = model.build(inst)
    start = greedy_plan(built)
    print(f"thesis PD full model: {built.lp.size()}")
    for _ in range(args.repeat):
        latency, res = measure(built.lp, start, args.after)
        gap = "-" if res.mip_gap is None else f"{res.mip_gap:.2%}"
        print(f"stop after {args.after:g} s -> returned in {latency:.2f} s: {res.status}, "
              f"objective {res.objective}, gap {gap}")


if __name__ == "__main__":
    main()
