"""The one place that runs HiGHS.

Models are handed over as arrays (:class:`LinearProgram`, CSR rows) in one
``passModel`` call. MIPs are solved in a child process with a wall-clock deadline:
HiGHS 1.15 does not check its time limit inside some root heuristics (a 300 s limit
was seen running past 440 s), and a time limit is a promise to the planner. The
child streams every improving solution to the parent, so when the deadline passes
the parent kills the child and keeps the best plan found so far.

A stop request (``control.StopToken``, ``solve(..., stop=token)``) ends a solve the
same way: HiGHS's interrupt callbacks see the token and stop the search; a child that
does not stop within ``STOP_GRACE`` seconds is killed. Either way the result has
status ``stopped`` with the best plan, bound and gap reached.

A child that dies by itself (killed, out of memory, a crash) also leaves the best plan
it streamed (status ``time_limit``, "the solver process ended unexpectedly"; ``error``
without a plan), and a child ends when its parent dies.

A MIP's answer is checked against its plan: where HiGHS's objective is not the returned
plan's cost (HiGHS 1.16 after some MIP starts, ``_figures_match``), the model is solved
again without the start, and no proof of the misled solve is kept.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import highspy
import numpy as np

from .control import StopToken

OPTIMAL, TIME_LIMIT, INFEASIBLE, ERROR = "optimal", "time_limit", "infeasible", "error"
STOPPED = "stopped"  # the user asked to stop; the best plan found so far is kept
INF = highspy.kHighsInf
POLL = 0.2  # seconds between two looks of the parent at the child and the stop token
STOP_GRACE = 1.0  # seconds a child gets to stop by itself after a stop request
CHILD_NAME = "scplan-highs"  # the solver child's process name (multiprocessing)


def _swallow_banner() -> None:
    """Create the process's first Highs with the C stdout muted.

    HiGHS prints its banner ("Running HiGHS … Copyright") once per process, from the
    constructor, before any option can turn output off; every later Highs (ours and
    PuLP's) is silent. Runs on import, so also in every worker process.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no C stdout (e.g. a GUI process)
        highspy.Highs()
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_swallow_banner()


@dataclass
class LinearProgram:
    """min cost·x + offset  s.t.  row_lower ≤ A x ≤ row_upper,  lower ≤ x ≤ upper.

    ``A`` is stored row-wise (CSR: ``a_start``, ``a_index``, ``a_value``);
    ``integrality`` is 1 for integer columns, 0 for continuous.
    """

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integrality: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray
    a_index: np.ndarray
    a_value: np.ndarray
    offset: float = 0.0

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    @property
    def nnz(self) -> int:
        return len(self.a_value)

    @property
    def n_integers(self) -> int:
        return int(np.count_nonzero(self.integrality))

    def size(self) -> dict[str, int]:
        return {"rows": self.n_rows, "columns": self.n_cols, "nonzeros": self.nnz,
                "integers": self.n_integers}

    def replace(self, **changes) -> LinearProgram:
        """A copy sharing the unchanged arrays, e.g. ``lp.replace(upper=new_upper)``."""
        return dataclasses.replace(self, **changes)

    def with_row(self, cols: np.ndarray, vals: np.ndarray, lower: float, upper: float
                 ) -> LinearProgram:
        """A copy with one more row: ``lower ≤ Σ vals·x[cols] ≤ upper``."""
        return self.replace(
            row_lower=np.append(self.row_lower, float(lower)),
            row_upper=np.append(self.row_upper, float(upper)),
            a_start=np.append(self.a_start[:self.n_rows], self.nnz).astype(self.a_start.dtype),
            a_index=np.concatenate([self.a_index, cols]).astype(self.a_index.dtype),
            a_value=np.concatenate([self.a_value, vals]).astype(float))


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(objective − bound) / |objective|, the gap HiGHS reports; None without both."""
    if objective is None or bound is None or not (np.isfinite(objective) and np.isfinite(bound)):
        return None
    return max(objective - bound, 0.0) / max(abs(objective), 1e-9)


def csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int):
    """CSR arrays (start, index, value) from coordinate triplets; duplicates are summed."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    vals = np.asarray(vals, dtype=np.float64)
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    if len(rows):
        new = np.ones(len(rows), dtype=bool)
        new[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        if not new.all():
            group = np.cumsum(new) - 1
            vals = np.bincount(group, weights=vals)
            rows, cols = rows[new], cols[new]
    keep = vals != 0
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    start = np.zeros(n_rows + 1, dtype=np.int64)
    np.add.at(start, rows + 1, 1)
    return np.cumsum(start)[:-1].astype(np.int32), cols.astype(np.int32), vals


class ModelBuilder:
    """Collects variable blocks and constraint blocks as arrays, then makes a LinearProgram.

    Each ``add_vars`` call returns the column indices of the new block; each
    ``add_rows`` call takes whole coordinate arrays for a family of rows.
    """

    def __init__(self) -> None:
        self._cost: list[np.ndarray] = []
        self._lower: list[np.ndarray] = []
        self._upper: list[np.ndarray] = []
        self._int: list[np.ndarray] = []
        self._rl: list[np.ndarray] = []
        self._ru: list[np.ndarray] = []
        self._r: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._v: list[np.ndarray] = []
        self.n_cols = 0
        self.n_rows = 0
        self.row_families: dict[str, tuple[int, int]] = {}

    def add_vars(self, name: str, n: int, cost=0.0, lower=0.0, upper=INF,
                 integer: bool | np.ndarray = False) -> np.ndarray:
        idx = np.arange(self.n_cols, self.n_cols + n)
        self._cost.append(np.broadcast_to(np.asarray(cost, float), (n,)).copy())
        self._lower.append(np.broadcast_to(np.asarray(lower, float), (n,)).copy())
        self._upper.append(np.broadcast_to(np.asarray(upper, float), (n,)).copy())
        self._int.append(np.broadcast_to(np.asarray(integer, np.int32), (n,)).copy())
        self.n_cols += n
        return idx

    def add_rows(self, name: str, n: int, rows, cols, vals, lower=-INF, upper=INF) -> np.ndarray:
        """Add ``n`` rows; ``rows`` are local (0..n-1) row numbers of each coefficient."""
        idx = np.arange(self.n_rows, self.n_rows + n)
        self._rl.append(np.broadcast_to(np.asarray(lower, float), (n,)).copy())
        self._ru.append(np.broadcast_to(np.asarray(upper, float), (n,)).copy())
        self._r.append(np.asarray(rows, np.int64) + self.n_rows)
        self._c.append(np.asarray(cols, np.int64))
        self._v.append(np.broadcast_to(np.asarray(vals, float), (len(self._c[-1]),)).copy())
        self.row_families[name] = (self.n_rows, self.n_rows + n)
        self.n_rows += n
        return idx

    def build(self, offset: float = 0.0) -> LinearProgram:
        cat = lambda parts, dtype: (np.concatenate(parts).astype(dtype) if parts  # noqa: E731
                                    else np.zeros(0, dtype))
        start, index, value = csr(cat(self._r, np.int64), cat(self._c, np.int64),
                                  cat(self._v, float), self.n_rows)
        return LinearProgram(
            cost=cat(self._cost, float), lower=cat(self._lower, float),
            upper=cat(self._upper, float), integrality=cat(self._int, np.int32),
            row_lower=cat(self._rl, float), row_upper=cat(self._ru, float),
            a_start=start, a_index=index, a_value=value, offset=offset,
        )


@dataclass
class SolveOptions:
    """How :func:`solve` runs HiGHS: limits, threads, start plan, child process."""

    time_limit: float = 300.0
    mip_gap: float = 1e-3
    threads: int = 2
    start: np.ndarray | None = None  # a feasible (or nearly) plan to start the MIP from
    isolate: bool | None = None  # child process; None = only for MIPs
    presolve: bool = True
    heuristic_effort: float | None = None  # HiGHS's mip_heuristic_effort (default 0.05)
    nice: int = 0  # raise the child process's niceness (a search that only takes idle cores)
    lp_solver: str | None = None  # HiGHS's "solver" for an LP: None = its choice, "ipm",
    # or RACE: simplex and interior point at once (see race)
    # Seconds from the call by which a solve in a child process ends for good, even where
    # HiGHS has not stopped (None: hard_deadline(time_limit), which it never passes).
    end_by: float | None = None
    keep_basis: bool = False  # return an optimal LP's basis (SolveResult.basis)
    basis: tuple[np.ndarray, np.ndarray] | None = None  # an LP's start (SolveResult.basis;
    # rows the LP has beyond it start basic)


@dataclass
class SolveResult:
    """A solve normalised over HiGHS versions: status, plan ``x``, objective and bound."""

    status: str  # optimal | time_limit | stopped | infeasible | error
    x: np.ndarray | None = None
    objective: float | None = None
    bound: float | None = None
    mip_gap: float | None = None
    solve_seconds: float = 0.0
    build_seconds: float = 0.0
    highs_status: str = ""
    message: str = ""
    log: str = ""
    size: dict[str, int] = field(default_factory=dict)
    row_dual: np.ndarray | None = None  # an optimal LP's row duals (min: ≤ 0 on ≤ rows)
    method: str = ""  # the method that answered a race (RACE_SOLVERS' name), else ""
    basis: tuple[np.ndarray, np.ndarray] | None = None  # with keep_basis: an optimal LP's
    # column and row status (HiGHS's HighsBasisStatus codes), to start a changed LP from


def solver_name() -> str:
    """``HiGHS <version>`` for the summary sheet."""
    return f"HiGHS {highspy.Highs().version()}"


ProgressFn = Callable[[dict], None]

RACE = "race"  # SolveOptions.lp_solver: the LP by simplex and by interior point at once
RACE_SOLVERS = {"simplex": "simplex", "ipm": "interior point"}  # HiGHS's name: ours


def solve(lp: LinearProgram, options: SolveOptions | None = None,
          progress: ProgressFn | None = None, stop: StopToken | None = None) -> SolveResult:
    """Solve ``lp`` with HiGHS and return a normalised result (never raises on solver trouble).

    Parameters
    ----------
    lp : LinearProgram
    options : SolveOptions, optional
    progress : callable, optional
        Receives dicts: ``{"event": "incumbent", "objective", "seconds"}`` for every
        improving plan and ``{"event": "progress", "seconds", "primal", "dual", "gap"}``
        from HiGHS's log (at most every 0.5 s); ``progress.from_highs`` turns them into
        :class:`~solver_core.progress.ProgressEvent` updates.
    stop : control.StopToken, optional
        When its stop is requested the solve ends within about a second with status
        ``stopped`` and the best plan found (``x`` is None if there was none yet). A
        token already stopped returns at once without solving.
    """
    options = options or SolveOptions()
    if stop is not None and stop.requested:
        return SolveResult(STOPPED, highs_status="not started",
                           message="Stopped before solving; no plan.", size=lp.size())
    if options.lp_solver == RACE:
        return race(lp, options, stop)
    isolate = options.isolate if options.isolate is not None else lp.n_integers > 0
    if isolate and mp.current_process().daemon:
        # Daemonic processes (Dask and Ray workers) may not start children: solve here
        # with HiGHS's own time limit.
        isolate = False
    t0 = time.perf_counter()
    if isolate:
        result = _solve_in_child(lp, options, progress, stop)
    else:
        result = _solve_here(lp, options, progress, send=None, stop=stop)
    if lp.n_integers and result.x is not None and not _figures_match(lp, result):
        result = _without_start(lp, options, result, isolate, progress, stop,
                                options.time_limit - (time.perf_counter() - t0))
    result.solve_seconds = time.perf_counter() - t0
    result.size = lp.size()
    return result


def plan_cost(lp: LinearProgram, x: np.ndarray) -> float:
    """The objective of the plan ``x``, computed from the plan."""
    return float(lp.cost @ x + lp.offset)


def _figures_match(lp: LinearProgram, result: SolveResult) -> bool:
    """Whether HiGHS's objective is the cost of the plan it returned.

    HiGHS 1.16 can carry a MIP start into its presolved model wrongly: it then returns
    the start as "optimal" with another figure as its objective and bound (on a 12-column
    case: the start, 275.32, returned as optimal at 254.77, the true optimum's cost; on a
    48-column one at 715.48, below the optimum, 766.31). Its proof was made against that
    figure, so it proves nothing about the plan returned."""
    cost = plan_cost(lp, result.x)
    return result.objective is not None and abs(cost - result.objective) <= \
        1e-6 * max(1.0, abs(cost))


def _without_start(lp: LinearProgram, options: SolveOptions, first: SolveResult,
                   isolate: bool, progress, stop, left: float) -> SolveResult:
    """A MIP whose result's figures do not match its plan (``_figures_match``), solved
    again without the start in the time ``left``; the cheaper of the two plans, with the
    bound and status of the second solve, which no start misled. Without time for it (or
    after a stop) the first plan is kept at its own cost, with no bound and no proof."""
    cost = plan_cost(lp, first.x)
    said = "none" if first.objective is None else f"{first.objective:,.2f}"
    note = (f"HiGHS returned a plan costing {cost:,.2f} as its answer with objective "
            f"{said} (a HiGHS fault with MIP starts)")
    kept = SolveResult(STOPPED if stop is not None and stop.requested else
                       ERROR if options.start is None else TIME_LIMIT,
                       x=first.x, objective=cost, highs_status=first.highs_status,
                       message=f"{note}; its proof is not used.", log=first.log)
    if options.start is None or left < 0.5 or kept.status == STOPPED:
        return kept
    again = dataclasses.replace(options, start=None, time_limit=left)
    second = (_solve_in_child(lp, again, progress, stop) if isolate else
              _solve_here(lp, again, progress, send=None, stop=stop))
    if second.status == INFEASIBLE or (second.x is not None and not _figures_match(lp, second)):
        return kept  # neither expected after a feasible start: no proof either way
    if second.x is not None and plan_cost(lp, second.x) < cost:
        second.message = f"{note}; solved again without the start."
        return second
    second.x, second.objective = first.x, cost
    second.mip_gap = relative_gap(cost, second.bound)
    second.message = f"{note}; solved again without the start, no cheaper plan found."
    return second


def race(lp: LinearProgram, options: SolveOptions, stop: StopToken | None = None
         ) -> SolveResult:
    """An LP solved by simplex and by interior point at once, each in a child process
    with half the threads: the first to prove its answer (optimal or infeasible) wins and
    the other is stopped.

    Neither method is the faster on every model: the thesis's merged LP takes 3 s by
    simplex and 15 s by interior point, a 30-day network's 61 s and 17 s
    (benchmarks/README.md). A MIP, or a process that may not start children, is solved
    as ``options`` says with HiGHS's own choice of method.
    """
    plain = dataclasses.replace(options, lp_solver=None)
    if lp.n_integers > 0 or mp.current_process().daemon:
        return solve(lp, plain, stop=stop)
    threads = max(1, options.threads // len(RACE_SOLVERS))
    answered = (OPTIMAL, INFEASIBLE)  # a leg that proved its answer ends the race
    results: dict[str, SolveResult] = {}
    ended = threading.Event()
    t0 = time.perf_counter()
    with StopToken() as loser:
        def leg(method: str) -> None:
            try:
                results[method] = solve(lp, dataclasses.replace(
                    plain, lp_solver=method, threads=threads, isolate=True), stop=loser)
            except Exception as exc:  # pragma: no cover - the other leg still answers
                results[method] = SolveResult(ERROR, message=f"HiGHS failed: {exc!r}")
            ended.set()

        legs = [threading.Thread(target=leg, args=(m,), daemon=True, name=f"scplan-lp-{m}")
                for m in RACE_SOLVERS]
        for t in legs:
            t.start()
        while len(results) < len(legs) and not any(
                r.status in answered for r in list(results.values())):
            ended.wait(0.1)
            ended.clear()
            if stop is not None and stop.requested:
                loser.request_stop()
        loser.request_stop()
        for t in legs:
            t.join()
    rank = {TIME_LIMIT: 1, STOPPED: 2}  # an answer first, then a plan cut short, an error last
    method, result = min(results.items(), key=lambda kv: (
        0 if kv[1].status in answered else rank.get(kv[1].status, 3), kv[1].solve_seconds))
    if result.status in answered:  # who answered; a stopped race has no winner
        result.method = RACE_SOLVERS[method]
    elif stop is not None and stop.requested:
        _mark_stopped(result)
    result.solve_seconds = time.perf_counter() - t0
    return result


def _highs_for(lp: LinearProgram, options: SolveOptions, log_file: str | None) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", log_file is not None)
    h.setOptionValue("log_to_console", False)
    if log_file:
        h.setOptionValue("log_file", log_file)
    h.setOptionValue("time_limit", float(max(options.time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if log_file is not None:
        # Only in a fresh child: HiGHS refuses a thread count that differs from the one
        # its process-wide scheduler already started with (e.g. after PuLP used HiGHS).
        h.setOptionValue("threads", int(options.threads))
        if options.threads > 1:
            h.setOptionValue("parallel", "on")
    if not options.presolve:
        h.setOptionValue("presolve", "off")
    if options.heuristic_effort is not None:
        h.setOptionValue("mip_heuristic_effort", float(options.heuristic_effort))
    if options.lp_solver is not None:
        h.setOptionValue("solver", options.lp_solver)
    integrality = lp.integrality.astype(np.int32)
    if _length_problem(lp):  # HiGHS takes the arrays' pointers: it would read past one
        raise ModelRejected(f"The model's arrays do not fit (a bug in scplan's model "
                            f"building): {_length_problem(lp)}.")
    status = h.passModel(
        # a_format 2 = row-wise, sense 1 = minimise
        lp.n_cols, lp.n_rows, lp.nnz, 2, 1, float(lp.offset),
        lp.cost, lp.lower, lp.upper, lp.row_lower, lp.row_upper,
        lp.a_start.astype(np.int32), lp.a_index.astype(np.int32), lp.a_value,
        integrality,
    )
    if status == highspy.HighsStatus.kError:  # HiGHS keeps an empty model: "optimal"
        raise ModelRejected("HiGHS rejected the model (a bug in scplan's model building): "
                            + (_model_problem(lp) or "see the solver log") + ".")
    if options.start is not None and lp.n_integers:
        start = np.asarray(options.start, float)
        h.setSolution(lp.n_cols, np.arange(lp.n_cols, dtype=np.int32), start)
    if options.basis is not None and not lp.n_integers:
        h.setBasis(_basis(options.basis, lp))
    return h


def _basis(status: tuple[np.ndarray, np.ndarray], lp: LinearProgram) -> highspy.HighsBasis:
    """A HighsBasis from status codes; rows past them (added since) basic."""
    cols, rows = status
    rows = np.append(rows, np.full(lp.n_rows - len(rows), int(highspy.HighsBasisStatus.kBasic)))
    basis = highspy.HighsBasis()
    basis.col_status = [highspy.HighsBasisStatus(int(v)) for v in cols]
    basis.row_status = [highspy.HighsBasisStatus(int(v)) for v in rows]
    basis.valid = True
    return basis


class ModelRejected(ValueError):
    """HiGHS refused the arrays of a LinearProgram (``passModel`` returned an error)."""


def _length_problem(lp: LinearProgram) -> str:
    """An array of ``lp`` whose length does not match the others, in words ("" if none)."""
    n, m = lp.n_cols, lp.n_rows
    for name in ("lower", "upper", "integrality"):
        if len(getattr(lp, name)) != n:
            return f"{name} has {len(getattr(lp, name))} entries for {n} columns"
    if len(lp.row_upper) != m:
        return f"row_upper has {len(lp.row_upper)} entries for {m} rows"
    if len(lp.a_index) != lp.nnz:
        return f"a_index has {len(lp.a_index)} entries for {lp.nnz} values"
    if len(lp.a_start) not in (m, m + 1):
        return f"a_start has {len(lp.a_start)} entries for {m} rows"
    return ""


def _model_problem(lp: LinearProgram) -> str:
    """The first inconsistency in ``lp``'s arrays, in words ("" when none is found)."""
    n, m = lp.n_cols, lp.n_rows
    start, index = np.asarray(lp.a_start), np.asarray(lp.a_index)
    if m and (start[0] != 0 or np.any(np.diff(start) < 0) or start[-1] > lp.nnz):
        return (f"a_start must rise from 0 to at most {lp.nnz} (the number of values), "
                f"not {start.tolist()[:8]}")
    if len(index) and (index.min() < 0 or index.max() >= n):
        return f"a_index holds a column outside 0..{n - 1}"
    if np.any(lp.lower > lp.upper) or np.any(lp.row_lower > lp.row_upper):
        return "a lower bound is above its upper bound"
    if any(np.isnan(a).any() for a in (lp.cost, lp.lower, lp.upper, lp.row_lower,
                                        lp.row_upper, lp.a_value)):
        return "an array holds NaN"
    return ""


def _solve_here(lp, options, progress, send, stop=None) -> SolveResult:
    """Solve in this process. ``send`` forwards incumbents to a parent (child mode)."""
    log_file = None
    if send is not None:
        log_file = send.log_file
    try:
        h = _highs_for(lp, options, log_file)
    except ModelRejected as exc:
        return SolveResult(ERROR, highs_status="model rejected", message=str(exc))
    last = [0.0]
    mip = lp.n_integers > 0
    interrupted: list[BaseException] = []  # a Ctrl-C that arrived inside a callback

    if stop is not None:
        def on_interrupt(e):
            # HiGHS asks this at every simplex/IPM iteration and MIP node: keep it cheap.
            try:
                if stop.requested:
                    e.interrupt()
            except KeyboardInterrupt as exc:  # must not unwind through HiGHS's C++ frames
                interrupted.append(exc)
                e.interrupt()

        h.cbSimplexInterrupt.subscribe(on_interrupt)
        h.cbIpmInterrupt.subscribe(on_interrupt)
        if mip:
            h.cbMipInterrupt.subscribe(on_interrupt)

    if mip and (send is not None or progress is not None):
        def on_improving(e):
            x = np.array(e.data_out.mip_solution, dtype=float)
            obj = float(e.data_out.objective_function_value)
            if send is not None:
                send.conn.send(("incumbent", obj, float(e.data_out.mip_dual_bound), x))
            if progress is not None:
                progress({"event": "incumbent", "objective": obj,
                          "seconds": float(e.data_out.running_time)})

        def on_log(e):
            now = time.monotonic()
            if now - last[0] < 0.5:
                return
            last[0] = now
            msg = {"event": "progress", "seconds": float(e.data_out.running_time),
                   "primal": float(e.data_out.mip_primal_bound),
                   "dual": float(e.data_out.mip_dual_bound), "gap": float(e.data_out.mip_gap)}
            if send is not None:
                send.conn.send(("progress", msg))
            if progress is not None:
                progress(msg)

        h.cbMipImprovingSolution.subscribe(on_improving)
        h.cbMipLogging.subscribe(on_log)
    try:
        h.run()
    except Exception as exc:  # pragma: no cover - HiGHS internal failure
        return SolveResult(ERROR, message=f"HiGHS failed: {exc}")
    if interrupted:
        raise interrupted[0]
    result = _read_result(h, lp)
    if options.keep_basis and result.status == OPTIMAL and not mip:
        basis = h.getBasis()
        if basis.valid:
            result.basis = (np.array([int(v) for v in basis.col_status], np.int8),
                            np.array([int(v) for v in basis.row_status], np.int8))
    if stop is not None and stop.requested:
        _mark_stopped(result)
    return result


def _mark_stopped(result: SolveResult) -> None:
    """A solve that ended because of a stop request: status ``stopped``, plan kept."""
    if result.status in (TIME_LIMIT, ERROR):  # optimal / infeasible stand: they are proven
        result.status = STOPPED
        result.message = ("Stopped on request; kept the best plan found." if result.x is not None
                          else "Stopped on request before a plan was found.")


def _read_result(h: highspy.Highs, lp: LinearProgram) -> SolveResult:
    ms = h.getModelStatus()
    status_text = h.modelStatusToString(ms)
    info = h.getInfo()
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.array(h.getSolution().col_value, dtype=float) if has_x else None
    mip = lp.n_integers > 0
    obj = float(info.objective_function_value) if has_x else None
    if mip:
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap) if has_x else None
    else:
        bound, gap = obj, (0.0 if has_x else None)
    MS = highspy.HighsModelStatus
    if ms in (MS.kOptimal, MS.kModelEmpty):
        status = OPTIMAL
    elif ms in (MS.kInfeasible, MS.kUnboundedOrInfeasible):
        status = INFEASIBLE
    elif ms in (MS.kTimeLimit, MS.kInterrupt, MS.kIterationLimit, MS.kSolutionLimit):
        status = TIME_LIMIT
    elif ms == MS.kObjectiveBound or ms == MS.kObjectiveTarget:
        status = TIME_LIMIT
    else:
        status = ERROR
    if bound is not None and not np.isfinite(bound):
        bound = None
    if gap is not None and not np.isfinite(gap):
        gap = None
    row_dual = None
    if not mip and status == OPTIMAL and info.dual_solution_status == 2:
        row_dual = np.array(h.getSolution().row_dual, dtype=float)
    return SolveResult(status, x=x, objective=obj, bound=bound, mip_gap=gap,
                       highs_status=status_text, row_dual=row_dual,
                       message=f"HiGHS model status: {status_text}")


# ---------------------------------------------------------------------------
# Child-process solve with a wall-clock deadline


@dataclass
class _Sender:
    conn: object
    log_file: str


def _child(main, *args) -> None:
    """The solver child's entry: ``main`` (:func:`_child_main`) with the child's guards."""
    from .control import ignore_sigint

    ignore_sigint()  # a terminal's Ctrl-C reaches the whole group; the parent decides
    _end_with_parent()
    main(*args)


def _child_main(lp, options, conn, log_file, stop=None):
    try:
        if options.nice:
            os.nice(options.nice)
        result = _solve_here(lp, options, None, _Sender(conn, log_file), stop=stop)
        conn.send(("done", result))
    except BaseException as exc:  # pragma: no cover - reported to the parent
        conn.send(("done", SolveResult(ERROR, message=f"HiGHS child failed: {exc!r}")))
    finally:
        conn.close()


def _end_with_parent() -> None:
    """End this child when its parent dies (e.g. a pool worker killed mid-solve).

    A forkserver child is not a child of its parent in the OS sense, so the parent's
    death sends it nothing; a thread waits on the parent's sentinel instead.
    """
    parent = mp.parent_process()
    if parent is None:
        return

    def watch():
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="scplan-parent-watch").start()


def _context():
    methods = mp.get_all_start_methods()
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "highspy", "solver_core.highs"])
        return ctx
    return mp.get_context("spawn")


def hard_deadline(time_limit: float) -> float:
    """Seconds after which a running solve is stopped for good (HiGHS gets ``time_limit``)."""
    return time_limit + min(10.0, 1.0 + 0.05 * time_limit)


def _solve_in_child(lp, options, progress, stop=None) -> SolveResult:
    ctx = _context()
    fd, log_file = tempfile.mkstemp(prefix="scplan-highs-", suffix=".log")
    os.close(fd)
    t0 = time.monotonic()
    for attempt in (1, 2):
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child,
                           args=(_child_main, lp, options, child_conn, log_file, stop),
                           daemon=True, name=CHILD_NAME)
        try:
            proc.start()
            break
        except (ConnectionError, EOFError) as exc:
            # A child forked just as a Ctrl-C reaches the process group dies before it has
            # read its task (it ignores SIGINT only once it runs): the parent's hand-over
            # breaks. The stop that Ctrl-C requested is what counts; else try once more.
            parent_conn.close()
            child_conn.close()
            if attempt == 2 or (stop is not None and stop.requested):
                Path(log_file).unlink(missing_ok=True)
                failed = SolveResult(ERROR, message=f"the HiGHS process did not start: {exc!r}")
                if stop is not None and stop.requested:
                    _mark_stopped(failed)
                return failed
            time.sleep(0.1)
    child_conn.close()
    deadline = t0 + hard_deadline(options.time_limit)
    if options.end_by is not None:
        deadline = min(deadline, t0 + options.end_by)
    ended_by_us = False  # the deadline (or a stop's grace) passed: the kill below is ours
    stop_seen = False
    best: tuple[float, float, np.ndarray] | None = None
    dual = -np.inf  # best dual bound the child reported (log lines and incumbents)
    result: SolveResult | None = None
    try:
        while True:
            if not stop_seen and stop is not None and stop.requested:
                # The child sees the token too and interrupts HiGHS; if HiGHS does not
                # listen (some root heuristics), the child is killed after the grace.
                stop_seen = True
                deadline = min(deadline, time.monotonic() + STOP_GRACE)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                ended_by_us = True
                break
            try:
                ready = parent_conn.poll(min(remaining, POLL))
            except (EOFError, OSError):
                break
            if not ready:
                if not proc.is_alive() and not parent_conn.poll(0):
                    break
                continue
            try:
                msg = parent_conn.recv()
            except Exception:  # the child died (mid-message: an unpickling error)
                break
            kind = msg[0]
            if kind == "incumbent":
                _, obj, bound, x = msg
                if best is None or obj < best[0]:
                    best = (obj, bound, x)
                if np.isfinite(bound):
                    dual = max(dual, bound)
                if progress is not None:
                    progress({"event": "incumbent", "objective": obj,
                              "seconds": time.monotonic() - t0})
            elif kind == "progress":
                if np.isfinite(msg[1].get("dual", -np.inf)):
                    dual = max(dual, msg[1]["dual"])
                if progress is not None:
                    progress(msg[1])
            elif kind == "done":
                result = msg[1]
                break
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent_conn.close()
        log = Path(log_file).read_text(errors="replace") if Path(log_file).exists() else ""
        Path(log_file).unlink(missing_ok=True)
    if result is None:
        result = _without_answer(best, dual, ended_by_us, proc.exitcode,
                                 time.monotonic() - t0, options.time_limit)
    elif result.x is None and best is not None and result.status != INFEASIBLE:
        obj, bound, x = best
        result.x, result.objective = x, obj
    if stop_seen or (stop is not None and stop.requested):
        _mark_stopped(result)
    result.log = log
    return result


def _without_answer(best, dual: float, ended_by_us: bool, exitcode: int | None,
                    seconds: float, time_limit: float) -> SolveResult:
    """The result of a child that sent no answer: the parent ended it (deadline, stop) or
    it died (killed, out of memory, a crash). The best plan it streamed is kept."""
    if ended_by_us:
        highs_status = "stopped at deadline"
        message = (f"HiGHS did not stop by itself; stopped after {seconds:.0f} s and kept "
                   "the best plan found." if best is not None else
                   f"No plan found within the time limit ({time_limit:g} s).")
    else:
        from .parallel import exit_text

        how = exit_text(exitcode)
        highs_status = f"solver process ended unexpectedly ({how})"
        how += f" after {seconds:.0f} s" + ("; out of memory?" if exitcode == -9 else "")
        message = (f"HiGHS: the solver process ended unexpectedly; best plan found so far "
                   f"kept ({how})." if best is not None else
                   f"HiGHS: the solver process ended unexpectedly ({how}) before it found "
                   "a plan.")
    if best is None:
        return SolveResult(TIME_LIMIT if ended_by_us else ERROR, highs_status=highs_status,
                           message=message)
    obj, _, x = best
    bound = min(dual, obj)  # the child can end before it reports the incumbent's own bound
    return SolveResult(TIME_LIMIT, x=x, objective=obj,
                       bound=bound if np.isfinite(bound) else None,
                       mip_gap=relative_gap(obj, bound), highs_status=highs_status,
                       message=message)


def version_info() -> str:
    """The solver and Python versions, for bug reports."""
    return f"{solver_name()} (highspy, Python {sys.version_info.major}.{sys.version_info.minor})"
