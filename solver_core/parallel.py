"""Run independent pieces (scenarios, MPS components, DA SKU groups) in parallel.

``run_pieces(fn, pieces)`` returns ``[fn(p) for p in pieces]`` in order, reporting
progress as pieces finish. ``fn`` must be a module-level function and pieces must
pickle. This is the one place that decides where pieces run:

- ``process`` (default): a process pool on this machine;
- ``dask``: a Dask cluster (``address`` of its scheduler, or a local cluster);
- ``ray``: a Ray cluster (``address``, or a local Ray).

The CLI's ``--executor`` and ``--address`` call :func:`configure`; the models never
need to know. How many workers run is the ``workers`` setting of the workbook (the CLI's
``--workers`` overrides it like any setting), which the models pass to ``run_pieces``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .progress import NULL, Progress

EXECUTORS = ("process", "dask", "ray")


@dataclass
class ExecutorConfig:
    """Where pieces run: the executor kind and, for a cluster, its scheduler address."""

    kind: str = "process"
    address: str | None = None  # scheduler of an existing cluster (dask/ray)


CONFIG = ExecutorConfig()


class ExecutorUnavailable(RuntimeError):
    """The chosen cluster engine is not installed (message says how to install it)."""


def configure(kind: str = "process", *, address: str | None = None) -> None:
    """Set where pieces run for this process (every field; None = the default)."""
    if kind not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {kind!r}")
    CONFIG.kind = kind
    CONFIG.address = address


def default_workers() -> int:
    """One worker per CPU core (at most 8): what ``workers=None`` (or the setting 0) means."""
    return max(1, min(os.cpu_count() or 1, 8))


def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "pandas", "highspy", "solver_core.highs",
                                    "solver_core.master_production.sku_dp"])
        return ctx
    return mp.get_context("spawn")


def run_pieces(fn: Callable[[Any], Any], pieces: Sequence[Any], workers: int | None = None,
               progress: Progress = NULL, label: str = "Solving") -> list[Any]:
    """``[fn(p) for p in pieces]`` on ``workers`` workers (None = one per core), in order."""
    n = len(pieces)
    workers = default_workers() if workers is None else max(1, workers)
    if n == 0:
        return []
    if CONFIG.kind == "process" and (workers == 1 or n == 1):
        results = []
        for i, piece in enumerate(pieces):
            results.append(fn(piece))
            progress.step(i + 1, n, label)
        return results
    if CONFIG.kind == "dask":
        return _run_dask(fn, pieces, workers, progress, label)
    if CONFIG.kind == "ray":
        return _run_ray(fn, pieces, workers, progress, label)
    results: list[Any] = [None] * n
    with ProcessPoolExecutor(max_workers=min(workers, n), mp_context=_context()) as pool:
        futures = {pool.submit(fn, piece): i for i, piece in enumerate(pieces)}
        for done, fut in enumerate(as_completed(futures), start=1):
            results[futures[fut]] = fut.result()
            progress.step(done, n, label)
    return results


def _run_dask(fn, pieces, workers, progress, label) -> list[Any]:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError as exc:
        raise ExecutorUnavailable(
            "--executor dask needs Dask: pip install 'dask[distributed]'") from exc
    cluster = None
    if CONFIG.address:
        client = Client(CONFIG.address)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(fn, list(pieces), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(pieces)
        for done, fut in enumerate(dask_completed(futures), start=1):
            results[index[fut.key]] = fut.result()
            progress.step(done, len(pieces), label)
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_ray(fn, pieces, workers, progress, label) -> list[Any]:
    try:
        import ray
    except ImportError as exc:
        raise ExecutorUnavailable("--executor ray needs Ray: pip install ray") from exc
    started = not ray.is_initialized()
    if started:
        ray.init(address=CONFIG.address, num_cpus=None if CONFIG.address else workers,
                 include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(fn)
        refs = [remote.remote(p) for p in pieces]
        index = {r: i for i, r in enumerate(refs)}
        results: list[Any] = [None] * len(pieces)
        pending, done = list(refs), 0
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for r in ready:
                results[index[r]] = ray.get(r)
                done += 1
                progress.step(done, len(pieces), label)
        return results
    finally:
        if started:
            ray.shutdown()
