"""Run independent pieces (scenarios, MPS components, DA SKU groups) in parallel.

``run_pieces(fn, pieces)`` returns ``[fn(p) for p in pieces]`` in order, reporting
progress as pieces finish. ``fn`` must be a module-level function and pieces must
pickle. This is the one place that decides where pieces run:

- ``process`` (default): a process pool on this machine;
- ``dask``: a Dask cluster (``address`` of its scheduler, or a local cluster);
- ``ray``: a Ray cluster (``address``, or a local Ray).

The CLI's ``--workers``, ``--executor`` and ``--address`` call :func:`configure`; the
models never need to know.

Stop: ``run_pieces(fn, pieces, stop=token)`` calls ``fn(piece, stop=token_i)`` where
``token_i = token.for_piece(i)``: the piece checks ``token_i.requested`` and returns its
best result early, and reports numbers with ``token_i.progress(phase).update(...)``
(or ``token_i.report(event)``); the parent merges the latest events of all pieces
(``merge="sum"`` or ``"scenarios"``) into ``progress.event``. After a stop no new piece
is started; pieces still running get ``STOP_GRACE`` seconds to return, and every piece
that did not finish is :data:`NOT_RUN` in the result list.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .progress import MERGES, NULL, Progress

if TYPE_CHECKING:
    from .control import StopToken

EXECUTORS = ("process", "dask", "ray")


@dataclass
class ExecutorConfig:
    """Where pieces run: the executor kind and a cluster address."""

    kind: str = "process"
    workers: int | None = None  # None = one per core (at most 8)
    address: str | None = None  # scheduler of an existing cluster (dask/ray)


CONFIG = ExecutorConfig()
POLL = 0.25  # seconds between two looks at finished pieces, the stop token and progress
STOP_GRACE = 1.5  # seconds running pieces get to return their best after a stop


class _NotRun:
    """Marks a piece that was not run or did not finish because of a stop request."""

    def __repr__(self) -> str:
        return "NOT_RUN"

    def __reduce__(self):
        return "NOT_RUN"


NOT_RUN = _NotRun()


class ExecutorUnavailable(RuntimeError):
    """The chosen cluster engine is not installed (message says how to install it)."""


def configure(kind: str = "process", workers: int | None = None,
              address: str | None = None) -> None:
    """Set where pieces run for this process (every field; None = the default)."""
    if kind not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {kind!r}")
    CONFIG.kind = kind
    CONFIG.workers = None if workers is None else max(1, workers)
    CONFIG.address = address


def default_workers() -> int:
    """Parallel workers when none are given: one per core, at most 8."""
    return CONFIG.workers or max(1, min(os.cpu_count() or 1, 8))


def _context():
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "pandas", "highspy", "solver_core.highs",
                                    "solver_core.master_production.sku_dp"])
        return ctx
    return mp.get_context("spawn")


def run_pieces(fn: Callable[..., Any], pieces: Sequence[Any], workers: int | None = None,
               progress: Progress = NULL, label: str = "Solving",
               stop: StopToken | None = None, merge: str = "sum") -> list[Any]:
    """``[fn(p) for p in pieces]`` in order, run in parallel.

    Parameters
    ----------
    fn : callable
        Module-level function; called ``fn(piece)``, or ``fn(piece, stop=token_i)`` when
        ``stop`` is given (``token_i = stop.for_piece(i)``).
    pieces : sequence
        Picklable pieces.
    workers : int, optional
        Parallel workers (None: one per core, at most 8).
    progress : Progress
        Gets ``step(done, total, label)`` and the pieces' merged numbers as ``event``.
    label : str
        Phase name shown with the progress.
    stop : control.StopToken, optional
        After a stop no new piece starts; running pieces get ``STOP_GRACE`` s to return.
    merge : {"sum", "scenarios"}
        How the pieces' numbers combine (``progress.merge_sum`` / ``merge_scenarios``).

    Returns
    -------
    list
        One result per piece; :data:`NOT_RUN` for pieces a stop left unfinished.
    """
    n = len(pieces)
    workers = default_workers() if workers is None else max(1, workers)
    if n == 0:
        return []
    calls = [_Call(fn, piece, None if stop is None else stop.for_piece(i))
             for i, piece in enumerate(pieces)]
    watch = _Watch(progress, label, stop, merge, n)
    if CONFIG.kind == "process" and (workers == 1 or n == 1):
        results: list[Any] = [NOT_RUN] * n
        for i, call in enumerate(calls):
            if stop is not None and stop.requested:
                break
            results[i] = call()
            watch.finished(i + 1)
        return results
    if CONFIG.kind == "dask":
        return _run_dask(calls, workers, watch)
    if CONFIG.kind == "ray":
        return _run_ray(calls, workers, watch)
    return _run_pool(calls, workers, watch)


@dataclass
class _Call:
    """One piece's call, picklable when ``fn`` is a module-level function."""

    fn: Callable[..., Any]
    piece: Any
    stop: StopToken | None

    def __call__(self) -> Any:
        if self.stop is None:
            return self.fn(self.piece)
        return self.fn(self.piece, stop=self.stop)


def _call(call: _Call) -> Any:
    return call()


class _Watch:
    """The parent's view of running pieces: steps, merged numbers, the stop request."""

    def __init__(self, progress: Progress, label: str, stop, merge: str, n: int) -> None:
        self.progress, self.label, self.stop, self.n = progress, label, stop, n
        self.merge = MERGES[merge]
        self.done = 0
        self.stop_at: float | None = None  # when the parent saw the stop request

    def finished(self, done: int) -> None:
        self.done = done
        self.progress.step(done, self.n, self.label)
        self.numbers()

    def numbers(self) -> None:
        if self.stop is None:
            return
        events = self.stop.piece_events()
        if events:
            self.progress.event(self.merge([events[i] for i in sorted(events)], self.n,
                                           self.done, self.label))

    def stopping(self) -> bool:
        """True once stopped; remembers when, for the grace period."""
        if self.stop_at is None and self.stop is not None and self.stop.requested:
            self.stop_at = time.monotonic()
        return self.stop_at is not None

    def grace_over(self) -> bool:
        return self.stop_at is not None and time.monotonic() - self.stop_at > STOP_GRACE


def _init_worker() -> None:
    from .control import ignore_sigint

    ignore_sigint()


def _run_pool(calls: list[_Call], workers: int, watch: _Watch) -> list[Any]:
    n = len(calls)
    results: list[Any] = [NOT_RUN] * n
    pool = ProcessPoolExecutor(max_workers=min(workers, n), mp_context=_context(),
                               initializer=_init_worker)
    running: dict = {}
    queue = iter(range(n))
    clean = False
    try:
        while True:
            # Keep at most `workers` pieces in flight, so that a stop starts nothing new.
            while not watch.stopping() and len(running) < min(workers, n):
                i = next(queue, None)
                if i is None:
                    break
                running[pool.submit(_call, calls[i])] = i
            if not running or watch.grace_over():
                break
            finished, _ = wait(running, timeout=POLL, return_when=FIRST_COMPLETED)
            for fut in finished:
                results[running.pop(fut)] = fut.result()
                watch.finished(watch.done + 1)
            if not finished:
                watch.numbers()
        clean = not running
    finally:
        if not clean:  # pieces that ignore the stop (or a Ctrl-C abort): end their processes
            for proc in list((pool._processes or {}).values()):  # no public API for this
                proc.kill()
        pool.shutdown(wait=clean, cancel_futures=True)
    return results


def _run_dask(calls: list[_Call], workers: int, watch: _Watch) -> list[Any]:
    try:
        from dask.distributed import Client, LocalCluster
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
        futures = client.map(_call, calls, pure=False)
        results: list[Any] = [NOT_RUN] * len(calls)
        unresolved = set(range(len(futures)))
        while unresolved and not watch.grace_over():
            if watch.stopping():
                # Cancel what has not started; running pieces see the token.
                client.cancel([futures[i] for i in unresolved if futures[i].status == "pending"])
            for i in sorted(unresolved):
                status = futures[i].status
                if status == "pending":
                    continue
                unresolved.discard(i)
                if status != "cancelled":
                    results[i] = futures[i].result()  # raises a piece's error here
                    watch.finished(watch.done + 1)
            time.sleep(POLL / 5)
            watch.numbers()
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_ray(calls: list[_Call], workers: int, watch: _Watch) -> list[Any]:
    try:
        import ray
    except ImportError as exc:
        raise ExecutorUnavailable("--executor ray needs Ray: pip install ray") from exc
    started = not ray.is_initialized()
    if started:
        ray.init(address=CONFIG.address, num_cpus=None if CONFIG.address else workers,
                 include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(_call)
        refs = [remote.remote(c) for c in calls]
        index = {r: i for i, r in enumerate(refs)}
        results: list[Any] = [NOT_RUN] * len(calls)
        pending = list(refs)
        cancelled = False
        while pending and not watch.grace_over():
            if watch.stopping() and not cancelled:
                for r in pending:  # queued pieces do not start; running ones see the token
                    ray.cancel(r, force=False)
                cancelled = True
            ready, pending = ray.wait(pending, num_returns=1, timeout=POLL)
            for r in ready:
                try:
                    results[index[r]] = ray.get(r)
                except ray.exceptions.TaskCancelledError:
                    continue
                watch.finished(watch.done + 1)
            watch.numbers()
        return results
    finally:
        if started:
            ray.shutdown()
