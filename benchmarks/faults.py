"""Time from a worker's death to the run's return, per executor, and for the HiGHS child.

``python -m benchmarks.faults [--repeat N] [process dask ray highs]``: runs four pieces
on two workers, one of which SIGKILLs its own worker on every attempt (so it dies twice:
the first death is retried), and prints the seconds from the second death to the return
of ``parallel.run_pieces``, with a check that the three other results are right and the
dead piece is a ``PieceFailed``. ``highs``: a solve of a generated knapsack MIP whose
child is SIGKILLed at its first plan; seconds from the kill to the return of
``highs.solve``, which keeps that plan.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import tempfile
import time
from pathlib import Path

import numpy as np

from solver_core import highs, parallel

ROOT = Path(__file__).resolve().parents[1]


def piece(job: tuple) -> object:
    """``("ok", x)``: 10·x after 0.6 s; ``("kill", folder)``: note the time, SIGKILL self."""
    if job[0] == "ok":
        time.sleep(0.6)
        return 10 * job[1]
    Path(job[1], "died").write_text(repr(time.time()))
    os.kill(os.getpid(), signal.SIGKILL)
    return None


def pieces_latency(kind: str) -> tuple[float, float, bool]:
    """Run seconds, seconds from the last death to the return, and whether results are right."""
    parallel.configure(kind)
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.monotonic()
        results = parallel.run_pieces(piece, [("ok", 1), ("kill", folder), ("ok", 2),
                                              ("ok", 3)], workers=2)
        returned = time.time()
        died = float(Path(folder, "died").read_text())
    right = (results[0], results[2], results[3]) == (10, 20, 30) and isinstance(
        results[1], parallel.PieceFailed)
    return time.monotonic() - t0, returned - died, right


def knapsack(items: int = 250, dims: int = 10, seed: int = 7) -> highs.LinearProgram:
    """A 0-1 knapsack with correlated weights: plans at once, the bound closes slowly."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(20, 100, size=(dims, items)).astype(float)
    b = highs.ModelBuilder()
    x = b.add_vars("x", items, cost=-(weight.mean(axis=0) + rng.uniform(0, 10, items)),
                   upper=1.0, integer=True)
    b.add_rows("capacity", dims, np.repeat(np.arange(dims), items), np.tile(x, dims),
               weight.ravel(), upper=weight.sum(axis=1) / 2)
    return b.build()


def highs_latency() -> tuple[float, highs.SolveResult]:
    """Seconds from SIGKILL of the solver child (at its first plan) to ``highs.solve``'s return."""
    killed = {}

    def kill_at_first_plan(event):
        if event["event"] == "incumbent" and not killed:
            for child in mp.active_children():
                if child.name == highs.CHILD_NAME:
                    os.kill(child.pid, signal.SIGKILL)
                    killed["t"] = time.monotonic()

    res = highs.solve(knapsack(), highs.SolveOptions(time_limit=60, mip_gap=0),
                      progress=kill_at_first_plan)
    return time.monotonic() - killed["t"], res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", default=["process", "dask", "ray", "highs"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    # Ray's local workers import this module from the checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                             os.environ.get("PYTHONPATH")]))
    for what in args.what:
        for _ in range(args.repeat):
            if what == "highs":
                seconds, res = highs_latency()
                print(f"highs: kill -> return {seconds:.2f} s, {res.status}, "
                      f"plan kept: {res.x is not None}", flush=True)
            else:
                run, latency, right = pieces_latency(what)
                print(f"{what}: run {run:.1f} s, second death -> return {latency:.2f} s, "
                      f"results right: {right}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
