"""Run independent pieces (scenarios, MPS components, DA SKU groups) in parallel processes.

``run_pieces(fn, pieces)`` returns ``[fn(p) for p in pieces]`` in order, using a
process pool and reporting progress as pieces finish. ``fn`` must be a module-level
function and pieces must pickle. One place decides how pieces are executed, so the
same call can later be sent to a cluster engine.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence

from .progress import NULL, Progress


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "pandas", "highspy", "solver_core.highs"])
        return ctx
    return mp.get_context("spawn")


def run_pieces(fn: Callable[[Any], Any], pieces: Sequence[Any], workers: int | None = None,
               progress: Progress = NULL, label: str = "Solving") -> list[Any]:
    n = len(pieces)
    workers = default_workers() if workers is None else max(1, workers)
    results: list[Any] = [None] * n
    if n == 0:
        return results
    if workers == 1 or n == 1:
        for i, piece in enumerate(pieces):
            results[i] = fn(piece)
            progress.step(i + 1, n, label)
        return results
    with ProcessPoolExecutor(max_workers=min(workers, n), mp_context=_context()) as pool:
        futures = {pool.submit(fn, piece): i for i, piece in enumerate(pieces)}
        done = 0
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            done += 1
            progress.step(done, n, label)
    return results
