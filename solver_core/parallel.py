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

Faults: a piece whose worker process dies (killed, out of memory, a crash) or whose
function raises is a :class:`PieceFailed` in the result list (its ``message`` says
which); the other pieces' results are kept. A piece whose worker died is run once more
(an out-of-memory kill may not come back when fewer pieces run beside it); it fails
when its worker dies a second time. A process pool breaks for every running piece
when one worker dies: the pool is rebuilt and the pieces lost through no fault of their
own run again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
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
# After the grace, how long a worker's death may take to be reported: a forkserver child's
# exit code comes from the forkserver, which on a loaded machine reaps it late (CI: a
# worker killed at the stop still had none when the grace ended; its piece said NOT_RUN).
DEATH_REPORT_SECONDS = 1.0


class _NotRun:
    """Marks a piece that was not run or did not finish because of a stop request."""

    def __repr__(self) -> str:
        return "NOT_RUN"

    def __reduce__(self):
        return "NOT_RUN"


NOT_RUN = _NotRun()


@dataclass(frozen=True)
class PieceFailed:
    """A piece that gave no result: its worker process died or its function raised.

    ``message`` is one sentence naming the piece (1-based, "piece 2 of 5") and the
    cause; ``index`` is the piece's 0-based position in ``pieces``; ``detail`` holds the
    traceback when the function raised (empty when a worker died).
    """

    message: str
    index: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        return self.message


MAX_DEATHS = 2  # a piece fails when this many of its worker processes died under it


def exit_text(exitcode: int | None) -> str:
    """How a process ended, from its exit code: ``"signal 9"`` or ``"exit code 3"``."""
    if exitcode is None:
        return "unknown cause"
    return f"signal {-exitcode}" if exitcode < 0 else f"exit code {exitcode}"


def _died(i: int, n: int, how: str = "") -> PieceFailed:
    cause = f" ({how})" if how else ""
    return PieceFailed(f"worker process died{cause} while solving piece {i + 1} of {n}", i)


def _raised(i: int, n: int, exc: BaseException, what: str = "raised") -> PieceFailed:
    # The last line names the error (a remote error's text holds the remote traceback).
    last = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
    return PieceFailed(f"piece {i + 1} of {n} {what} {last}", i,
                       "".join(traceback.format_exception(exc)))


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
               stop: StopToken | None = None, merge: str = "sum",
               prepare: Callable[[int, list[int]], Any] | None = None) -> list[Any]:
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
    prepare : callable, optional
        ``prepare(i, running)`` is called here, in this process, right before piece
        ``i`` starts (pieces start in order, one as soon as a worker is free), with the
        indices of the pieces running then; what it returns is run instead of
        ``pieces[i]``. For what only the parent knows when the piece starts: the MPS
        solve gives each component its time budget there.

    Returns
    -------
    list
        One result per piece; :data:`NOT_RUN` for pieces a stop left unfinished,
        :class:`PieceFailed` for pieces whose worker died twice or whose function raised.
    """
    n = len(pieces)
    workers = default_workers() if workers is None else max(1, workers)
    if n == 0:
        return []
    calls = [_Call(fn, piece, None if stop is None else stop.for_piece(i), i, n)
             for i, piece in enumerate(pieces)]
    watch = _Watch(progress, label, stop, merge, n, prepare)
    if CONFIG.kind == "process" and (workers == 1 or n == 1):
        return _run_here(calls, watch)
    if CONFIG.kind == "dask":
        return _run_dask(calls, workers, watch)
    if CONFIG.kind == "ray":
        return _run_ray(calls, workers, watch)
    return _run_pool(calls, workers, watch)


def _run_here(calls: list[_Call], watch: _Watch) -> list[Any]:
    """One piece after another in this process (one worker, or a single piece)."""
    results: list[Any] = [NOT_RUN] * len(calls)
    for i, call in enumerate(calls):
        if watch.stop is not None and watch.stop.requested:
            break
        with _numbers_meanwhile(watch):
            results[i] = watch.ready(call, [])()
        watch.finished(i + 1)
    return results


@contextlib.contextmanager
def _numbers_meanwhile(watch: _Watch):
    """Show the running piece's numbers every POLL seconds while it runs here.

    A piece running in this process blocks the loop that shows numbers between pieces;
    without this a lone MPS component would show nothing new for its whole phase 2.
    The thread only reads the pieces' report files and calls the progress, which
    nothing else calls until the piece returns.
    """
    if watch.stop is None:
        yield
        return
    done = threading.Event()

    def show() -> None:
        while not done.wait(POLL):
            with contextlib.suppress(Exception):  # a display fault must not stop a solve
                watch.numbers()

    thread = threading.Thread(target=show, name="scplan-piece-numbers", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@dataclass
class _Call:
    """One piece's call, picklable when ``fn`` is a module-level function."""

    fn: Callable[..., Any]
    piece: Any
    stop: StopToken | None
    index: int
    n: int

    def __call__(self) -> Any:
        try:
            if self.stop is None:
                return self.fn(self.piece)
            return self.fn(self.piece, stop=self.stop)
        except (Exception, SystemExit) as exc:  # a bug in one piece: the others go on
            return _raised(self.index, self.n, exc)


_RUNNING_IN: Any = None  # in a pool worker: pid of the worker running each piece


def _call(call: _Call) -> Any:
    if _RUNNING_IN is not None:
        _RUNNING_IN[call.index] = os.getpid()
    return call()


class _Watch:
    """The parent's view of running pieces: steps, merged numbers, the stop request."""

    def __init__(self, progress: Progress, label: str, stop, merge: str, n: int,
                 prepare: Callable[[int, list[int]], Any] | None = None) -> None:
        self.progress, self.label, self.stop, self.n = progress, label, stop, n
        self.prepare = prepare
        self.merge = MERGES[merge]
        self.done = 0
        self.stop_at: float | None = None  # when the parent saw the stop request

    def ready(self, call: _Call, running: list[int]) -> _Call:
        """The call to start now: its piece as ``prepare`` makes it (run_pieces)."""
        if self.prepare is None:
            return call
        return dataclasses.replace(call, piece=self.prepare(call.index, running))

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


def _init_worker(running_in=None) -> None:
    from .control import ignore_sigint

    global _RUNNING_IN
    _RUNNING_IN = running_in
    ignore_sigint()


class _Lost(Exception):
    """The piece was lost with its whole process pool (one worker died): run it again."""


def _bounded(calls: list[_Call], todo: Sequence[int], results: list[Any], in_flight: int,
             watch: _Watch, submit: Callable[[_Call], Any], wait_some: Callable[[list], list],
             result: Callable[[Any, int], Any]) -> tuple[dict, list[int]]:
    """Run the pieces ``todo`` keeping at most ``in_flight`` submitted, so that a stop
    starts nothing new, and put their results in ``results``.

    ``result(handle, i)`` returns the piece's result (or a :class:`PieceFailed`), or
    raises :class:`_Lost` when the piece must run again; any other error becomes a
    :class:`PieceFailed`. Returns the handles of pieces still running after the stop's
    grace, and the lost pieces (with those not started after the loss)."""
    running: dict = {}  # handle -> piece index
    lost: list[int] = []
    queue = iter(todo)
    while True:
        while not lost and not watch.stopping() and len(running) < in_flight:
            i = next(queue, None)
            if i is None:
                break
            try:
                running[submit(watch.ready(calls[i], list(running.values())))] = i
            except _Lost:
                lost.append(i)
        if not running:
            return running, lost + (list(queue) if lost else [])
        finished = wait_some(list(running))
        for handle in finished:
            i = running.pop(handle)
            try:
                results[i] = result(handle, i)
            except _Lost:
                lost.append(i)
                continue
            except Exception as exc:  # e.g. a result that cannot be unpickled here
                results[i] = _raised(i, len(calls), exc, "failed:")
            watch.finished(watch.done + 1)
        if not finished:
            watch.numbers()
        if watch.grace_over():  # after the last look: a piece done by then counts
            return running, lost + (list(queue) if lost else [])


def _pool_result(fut, i: int) -> Any:
    try:
        return fut.result()
    except BrokenProcessPool as exc:
        raise _Lost from exc


def _run_pool(calls: list[_Call], workers: int, watch: _Watch) -> list[Any]:
    n = len(calls)
    ctx = _context()
    # Which worker runs each piece: when one dies, it tells whose piece killed it.
    running_in = ctx.Array("q", n, lock=False)
    results: list[Any] = [NOT_RUN] * n
    deaths = [0] * n
    todo: list[int] = list(range(n))
    while todo:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx,
                                   initializer=_init_worker, initargs=(running_in,))
        running: dict = {"not returned": None}  # if _bounded raises (a bug, Ctrl-C): kill all
        lost: list[int] = []
        processes: dict = {}
        try:
            running, lost = _bounded(
                calls, todo, results, min(workers, len(todo)), watch,
                submit=functools.partial(_pool_submit, pool),
                wait_some=lambda fs: list(wait(fs, timeout=POLL,
                                               return_when=FIRST_COMPLETED)[0]),
                result=_pool_result)
        finally:
            processes = dict(pool._processes or {})  # no public API for the workers
            if running and "not returned" not in running:
                _await_deaths(processes, DEATH_REPORT_SECONDS)
            # Workers dead before the kill below: a death the pool had not reported by
            # the end of the stop's grace (a slow machine) is still its piece's failure.
            dead_before = {pid: proc.exitcode for pid, proc in processes.items()
                           if proc.exitcode not in (None, 0, -signal.SIGTERM)}
            if running:  # pieces that ignore the stop (or a Ctrl-C abort): end them
                for proc in processes.values():
                    proc.kill()
            pool.shutdown(wait=not running, cancel_futures=True)
        for i in running.values():
            if i is not None and running_in[i] in dead_before:
                results[i] = _died(i, n, exit_text(dead_before[running_in[i]]))
                watch.finished(watch.done + 1)
        todo = []
        for i, exitcode in _blame(lost, processes, running_in).items():
            deaths[i] += 1
            if deaths[i] >= MAX_DEATHS or watch.stopping():
                results[i] = _died(i, n, exit_text(exitcode))
                watch.finished(watch.done + 1)
        if not watch.stopping():
            todo = [i for i in lost if not isinstance(results[i], PieceFailed)]
        for i in todo:
            running_in[i] = 0
    return results


def _await_deaths(processes: dict, seconds: float) -> None:
    """Wait up to ``seconds`` while workers without an exit code end (most are alive and
    deaf to the stop; one that died has its exit code once this returns early)."""
    end = time.monotonic() + seconds
    alive = [p for p in processes.values() if p.exitcode is None]
    while alive and (left := end - time.monotonic()) > 0:
        if not mp.connection.wait([p.sentinel for p in alive], timeout=left):
            return
        alive = [p for p in alive if p.exitcode is None]


def _pool_submit(pool: ProcessPoolExecutor, call: _Call):
    try:
        future = pool.submit(_call, call)
    except BrokenProcessPool as exc:
        raise _Lost from exc
    # CPython (3.11, 3.12) wakes the pool's manager thread before it starts the worker
    # for this submit, so that worker's death is seen only at the next wake-up: a
    # piece running beside it for minutes would delay the report that long. Wake it now.
    wakeup = getattr(pool, "_executor_manager_thread_wakeup", None)
    if wakeup is not None:
        with pool._shutdown_lock, contextlib.suppress(OSError, ValueError):
            wakeup.wakeup()
    return future


def _blame(lost: list[int], processes: dict, running_in) -> dict[int, int | None]:
    """The lost pieces whose own worker died, with its exit code.

    The pool ends its other workers with SIGTERM after one died; a worker that ended
    otherwise died under its piece. When no lost piece ran in such a worker (it died
    of SIGTERM itself, or before it started a piece), every lost piece that had started
    is blamed, or every lost piece if none had: each round blames one at least, so a
    pool that keeps breaking ends after ``MAX_DEATHS`` rounds per piece.
    """
    codes = {pid: proc.exitcode for pid, proc in processes.items()}
    dead = {pid: code for pid, code in codes.items() if code not in (None, 0, -signal.SIGTERM)}
    blamed = {i: dead[running_in[i]] for i in lost if running_in[i] in dead}
    if blamed or not lost:
        return blamed
    started = [i for i in lost if running_in[i] in codes] or lost
    return {i: codes.get(running_in[i]) for i in started}


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
    from distributed import KilledWorker

    cluster = None
    if CONFIG.address:  # its scheduler's allowed-failures decides when a piece fails
        client = Client(CONFIG.address)
    else:
        # A task whose worker died is run again once; it fails (KilledWorker) when a
        # second worker dies under it: MAX_DEATHS like the process pool.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None,
                               scheduler_kwargs={"allowed_failures": MAX_DEATHS - 1})
        client = Client(cluster)
    in_flight = workers if cluster is not None else max(workers, len(client.nthreads()))
    n = len(calls)

    def result(fut, i: int) -> Any:
        try:
            return fut.result()
        except KilledWorker as exc:
            return _died(i, n, f"on {exc.allowed_failures + 1} workers")

    results: list[Any] = [NOT_RUN] * n
    try:
        running, _ = _bounded(
            calls, range(n), results, in_flight, watch,
            submit=lambda call: client.submit(_call, call, pure=False),
            wait_some=_dask_done, result=result)
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
    from ray.exceptions import OutOfMemoryError, WorkerCrashedError

    n = len(calls)

    def result(ref, i: int) -> Any:
        try:
            return ray.get(ref)
        except OutOfMemoryError:
            return _died(i, n, "out of memory")
        except WorkerCrashedError:
            return _died(i, n)

    results: list[Any] = [NOT_RUN] * n
    try:
        # A task whose worker died is run again once (Ray's max_retries), like the pool.
        remote = ray.remote(num_cpus=1, max_retries=MAX_DEATHS - 1)(_call)
        in_flight = (max(workers, int(ray.cluster_resources().get("CPU", workers)))
                     if CONFIG.address else workers)
        running, _ = _bounded(
            calls, range(n), results, in_flight, watch, submit=remote.remote,
            wait_some=lambda refs: ray.wait(refs, num_returns=1, timeout=POLL)[0],
            result=result)
        for ref in running:
            ray.cancel(ref, force=True)
        return results
    finally:
        if started:
            ray.shutdown()
