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
import threading
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
    """Where pieces run: the executor kind and, for a cluster, its scheduler address."""

    kind: str = "process"
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


def _bounded(calls: list[_Call], in_flight: int, watch: _Watch,
             submit: Callable[[_Call], Any], wait_some: Callable[[list], list],
             result: Callable[[Any], Any]) -> tuple[list[Any], dict]:
    """Run ``calls`` keeping at most ``in_flight`` submitted, so that a stop starts nothing
    new. Returns the results and the handles of pieces still running after the grace."""
    results: list[Any] = [NOT_RUN] * len(calls)
    running: dict = {}  # handle -> piece index
    queue = iter(range(len(calls)))
    while True:
        while not watch.stopping() and len(running) < in_flight:
            i = next(queue, None)
            if i is None:
                break
            running[submit(calls[i])] = i
        if not running or watch.grace_over():
            return results, running
        finished = wait_some(list(running))
        for handle in finished:
            results[running.pop(handle)] = result(handle)  # raises a piece's error here
            watch.finished(watch.done + 1)
        if not finished:
            watch.numbers()


def _run_pool(calls: list[_Call], workers: int, watch: _Watch) -> list[Any]:
    pool = ProcessPoolExecutor(max_workers=min(workers, len(calls)), mp_context=_context(),
                               initializer=_init_worker)
    running: dict = {"not returned": None}  # if _bounded raises (a bug, Ctrl-C): kill all
    try:
        results, running = _bounded(
            calls, min(workers, len(calls)), watch,
            submit=lambda call: pool.submit(_call, call),
            wait_some=lambda fs: list(wait(fs, timeout=POLL, return_when=FIRST_COMPLETED)[0]),
            result=lambda fut: fut.result())
    finally:
        if running:  # pieces that ignore the stop (or a Ctrl-C abort): end their processes
            for proc in list((pool._processes or {}).values()):  # no public API for this
                proc.kill()
        pool.shutdown(wait=not running, cancel_futures=True)
    return results


def _dask_done(futures: list) -> list:
    deadline = time.monotonic() + POLL
    while True:
        done = [f for f in futures if f.done()]
        if done or time.monotonic() >= deadline:
            return done
        time.sleep(0.02)


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
    in_flight = workers if cluster is not None else max(workers, len(client.nthreads()))
    try:
        results, running = _bounded(
            calls, in_flight, watch,
            submit=lambda call: client.submit(_call, call, pure=False),
            wait_some=_dask_done, result=lambda fut: fut.result())
        if running:
            client.cancel(list(running))
        return results
    finally:
        client.close()
        if cluster is not None:
            if watch.stopping():  # a local cluster takes ~1.5 s to close: not on the stop path
                threading.Thread(target=cluster.close, daemon=True).start()
            else:
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
        in_flight = (max(workers, int(ray.cluster_resources().get("CPU", workers)))
                     if CONFIG.address else workers)
        results, running = _bounded(
            calls, in_flight, watch, submit=remote.remote,
            wait_some=lambda refs: ray.wait(refs, num_returns=1, timeout=POLL)[0],
            result=ray.get)
        for ref in running:
            ray.cancel(ref, force=True)
        return results
    finally:
        if started:
            ray.shutdown()
