"""The HiGHS runner: statuses, bounds, the child process and its wall-clock deadline."""

import dataclasses
import threading
import time

import highs_fakes
import numpy as np
import pytest

from solver_core import highs
from solver_core.highs import ModelBuilder, SolveOptions


def knapsack(n=3, seed=0, capacity=17.5):
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    if n == 3:
        value, weight = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])
    else:
        value, weight = rng.integers(50, 100, n).astype(float), rng.integers(40, 90, n).astype(
            float)
        capacity = weight.sum() / 2 + 0.5
    x = b.add_vars("x", n, cost=-value, upper=10 if n == 3 else 1, integer=True)
    b.add_rows("capacity", 1, np.zeros(n, int), x, weight, upper=capacity)
    return b.build()


def test_small_mip_optimal_with_bound_and_gap():
    res = highs.solve(knapsack(), SolveOptions(time_limit=10, mip_gap=0))
    assert res.status == highs.OPTIMAL
    assert res.objective == pytest.approx(-12.0)  # 4 × item 3 (weight 16 ≤ 17.5)
    assert res.bound == pytest.approx(-12.0) and res.mip_gap == pytest.approx(0.0)
    assert "HiGHS" in res.log
    assert res.size == {"rows": 1, "columns": 3, "nonzeros": 3, "integers": 3}


def test_heuristic_effort_reaches_highs():
    """The option is set on the solver (the MPS search near the DP plans relies on it) and
    the solve still proves the optimum."""
    options = SolveOptions(time_limit=10, mip_gap=0, heuristic_effort=0.3)
    h = highs._highs_for(knapsack(), options, None)
    assert h.getOptionValue("mip_heuristic_effort")[1] == pytest.approx(0.3)
    assert highs._highs_for(knapsack(), SolveOptions(), None).getOptionValue(
        "mip_heuristic_effort")[1] == pytest.approx(0.05)
    assert highs.solve(knapsack(), options).objective == pytest.approx(-12.0)


def test_lp_in_process_and_infeasible():
    b = ModelBuilder()
    x = b.add_vars("x", 2, cost=[1.0, 2.0])
    b.add_rows("cover", 1, [0, 0], x, [1.0, 1.0], lower=3.0)
    res = highs.solve(b.build())
    assert res.status == highs.OPTIMAL and res.objective == pytest.approx(3.0)
    b.add_rows("impossible", 1, [0], x[:1], [1.0], upper=-1.0)
    assert highs.solve(b.build()).status == highs.INFEASIBLE


def test_csr_sums_duplicates_and_drops_zeros():
    start, index, value = highs.csr([0, 0, 1, 1], [2, 2, 0, 1], [1.0, 2.0, 0.0, 5.0], 3)
    assert list(start) == [0, 1, 2]
    assert list(index) == [2, 1] and list(value) == [3.0, 5.0]


def test_time_limit_returns_best_plan():
    lp = knapsack(n=400, seed=3)
    t0 = time.perf_counter()
    res = highs.solve(lp, SolveOptions(time_limit=1.0, mip_gap=0.0))
    assert time.perf_counter() - t0 < highs.hard_deadline(1.0) + 2.0
    assert res.status in (highs.TIME_LIMIT, highs.OPTIMAL)
    assert res.x is not None and res.objective < 0


def test_deadline_kills_a_solver_that_does_not_stop(monkeypatch):
    monkeypatch.setattr(highs, "_child_main", highs_fakes.child_that_never_stops)
    t0 = time.perf_counter()
    res = highs.solve(knapsack(), SolveOptions(time_limit=1.0))
    elapsed = time.perf_counter() - t0
    assert elapsed < highs.hard_deadline(1.0) + 2.0
    assert res.status == highs.TIME_LIMIT
    assert res.x is not None and res.objective == highs.plan_cost(knapsack(), res.x)
    assert res.bound == res.objective - 2.0
    assert "stopped after" in res.message


def test_a_solve_that_must_end_by_a_time_is_ended_then(monkeypatch):
    """``end_by`` ends a child whose HiGHS does not stop (a presolve that does not look at
    the clock) at that time, sooner than the usual hard deadline, its best plan kept."""
    monkeypatch.setattr(highs, "_child_main", highs_fakes.child_that_never_stops)
    t0 = time.perf_counter()
    res = highs.solve(knapsack(), SolveOptions(time_limit=1.0, end_by=1.2))
    elapsed = time.perf_counter() - t0
    assert 1.2 <= elapsed < highs.hard_deadline(1.0)
    assert res.status == highs.TIME_LIMIT and res.x is not None


def test_crashed_child_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(highs, "_child_main", highs_fakes.child_that_crashes)
    res = highs.solve(knapsack(), SolveOptions(time_limit=5.0))
    assert res.status == highs.ERROR and res.x is None


def test_start_solution_is_accepted():
    lp = knapsack()
    res = highs.solve(lp, SolveOptions(time_limit=5, start=np.array([0.0, 0.0, 4.0])))
    assert res.status == highs.OPTIMAL and res.objective == pytest.approx(-12.0)


def plan_choice():
    """Four SKUs, one of three plans each, under three shared capacities: a case on
    which HiGHS 1.16, given the start below, returns the start as optimal with the
    optimum's objective (its presolve carries the start into the reduced model wrongly)."""
    cost = np.array([74.288, 62.487, 86.019, 81.731, 96.629, 51.976, 91.755, 74.83,
                     71.908, 74.229, 56.75, 53.679])
    use = np.array([[0, 3, 2, 3, 1, 0, 0, 0, 0, 0, 0, 2],
                    [0, 0, 1, 4, 3, 0, 1, 3, 1, 3, 1, 0],
                    [0, 0, 1, 2, 0, 2, 0, 0, 1, 0, 1, 0]], float)
    capacity = np.array([121, 187, 77]) / 30
    b = ModelBuilder()
    pick = b.add_vars("pick", 12, cost=cost, upper=1, integer=True)
    b.add_rows("one_plan_per_sku", 4, np.arange(12) // 3, pick, 1.0, lower=1, upper=1)
    rows, cols = np.nonzero(use)
    b.add_rows("capacity", 3, rows, pick[cols], use[rows, cols], upper=capacity)
    start = np.zeros(12)
    start[[0, 5, 7, 9]] = 1  # cost 275.323; the optimum takes 11 instead of 9
    return b.build(), cost, use, capacity, start


@pytest.mark.parametrize("isolate", [False, True])
def test_a_start_never_leaves_a_plan_with_another_plans_objective(isolate):
    lp, cost, use, capacity, start = plan_choice()
    picks = np.array([[a, 3 + b, 6 + c, 9 + d] for a in range(3) for b in range(3)
                      for c in range(3) for d in range(3)])
    fits = np.array([(use[:, p].sum(axis=1) <= capacity + 1e-9).all() for p in picks])
    optimum = cost[picks[fits]].sum(axis=1).min()  # all 81 plans enumerated
    res = highs.solve(lp, SolveOptions(time_limit=10, mip_gap=0, start=start, isolate=isolate))
    assert res.objective == pytest.approx(highs.plan_cost(lp, res.x))
    assert res.status == highs.OPTIMAL and res.objective == pytest.approx(optimum)
    assert res.bound <= optimum + 1e-6


def test_figures_that_do_not_match_the_plan_are_not_kept_without_time_to_solve_again(
        monkeypatch):
    lp, cost, _, _, start = plan_choice()
    real = highs._solve_here

    def misreported(lp, options, progress, send, stop=None):
        res = real(lp, options, progress, send, stop)
        res.x, res.objective, res.bound = start, 250.0, 250.0  # what HiGHS 1.16 can answer
        return res

    monkeypatch.setattr(highs, "_solve_here", misreported)
    again = highs._without_start
    monkeypatch.setattr(highs, "_without_start", lambda *a: again(*a[:-1], 0.0))  # no time
    res = highs.solve(lp, SolveOptions(time_limit=10, mip_gap=0, start=start, isolate=False))
    assert res.objective == pytest.approx(cost @ start) and res.bound is None
    assert res.status == highs.TIME_LIMIT and "fault" in res.message


def test_a_child_killed_at_its_start_by_ctrl_c_is_retried_or_counts_as_the_stop(monkeypatch):
    """A HiGHS child forked just as a Ctrl-C reaches the process group dies before it has
    read its task, and the parent's hand-over breaks (BrokenPipeError). Once: started
    again and solved. With the stop already requested: status stopped, no traceback."""
    from solver_core import control

    real_start = highs.mp.process.BaseProcess.start
    failures = {"left": 1}

    def start(self):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise BrokenPipeError(32, "Broken pipe")
        return real_start(self)

    monkeypatch.setattr(highs.mp.process.BaseProcess, "start", start)
    res = highs.solve(knapsack(), SolveOptions(time_limit=10, mip_gap=0.0, isolate=True))
    assert res.status == highs.OPTIMAL and failures["left"] == 0
    failures["left"] = 1
    with control.StopToken() as token:
        token.request_stop()
        res = highs.solve(knapsack(), SolveOptions(time_limit=10, isolate=True), stop=token)
    assert res.status == highs.STOPPED and res.x is None


def transport_lp(n=30, seed=1, supply_scale=1.0):
    """A random transportation LP (n sources × n sinks); infeasible with too little supply."""
    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    x = b.add_vars("x", n * n, cost=rng.uniform(1, 10, n * n))
    supply = rng.uniform(10, 20, n)
    demand = np.full(n, 0.9 * supply.sum() / n)
    supply *= supply_scale
    src, dst = np.divmod(np.arange(n * n), n)
    b.add_rows("supply", n, src, x, np.ones(n * n), upper=supply)
    b.add_rows("demand", n, dst, x, np.ones(n * n), lower=demand)
    return b.build()


@pytest.mark.parametrize("scale, status", [(1.0, highs.OPTIMAL), (0.5, highs.INFEASIBLE)])
def test_an_lp_race_gives_the_lps_answer_and_says_which_method(scale, status):
    lp = transport_lp(supply_scale=scale)
    alone = highs.solve(lp, SolveOptions(time_limit=30))
    raced = highs.solve(lp, SolveOptions(time_limit=30, lp_solver=highs.RACE))
    assert alone.status == raced.status == status
    assert raced.method in highs.RACE_SOLVERS.values()
    if status == highs.OPTIMAL:
        assert raced.objective == pytest.approx(alone.objective, rel=1e-9)
        assert raced.x is not None and np.all(raced.x >= -1e-9)


def test_the_race_is_won_by_the_first_answer_and_the_other_leg_is_stopped(monkeypatch):
    """Simplex would take 20 s here, interior point answers at once: the race ends in
    about a second with interior point's answer; a stop asked of the race stops both."""
    from solver_core import control

    stopped = []

    def fake(lp, options=None, progress=None, stop=None):
        t0 = time.perf_counter()
        wait = 20.0 if options.lp_solver == "simplex" else 0.2
        while time.perf_counter() - t0 < wait:
            if stop is not None and stop.requested:
                stopped.append(options.lp_solver)
                return highs.SolveResult(highs.STOPPED)
            time.sleep(0.02)
        return highs.SolveResult(highs.OPTIMAL, x=np.zeros(lp.n_cols), objective=1.0,
                                 solve_seconds=time.perf_counter() - t0)

    monkeypatch.setattr(highs, "solve", fake)
    lp = transport_lp(n=3)
    t0 = time.perf_counter()
    res = highs.race(lp, SolveOptions(time_limit=30))
    assert time.perf_counter() - t0 < 5
    assert res.status == highs.OPTIMAL and res.method == "interior point"
    assert stopped == ["simplex"]
    stopped.clear()
    with control.StopToken() as stop:
        monkeypatch.setattr(highs, "solve", lambda lp, options=None, progress=None, stop=None:
                            fake(lp, dataclasses.replace(options, lp_solver="simplex"),
                                 progress, stop))
        threading.Timer(0.3, stop.request_stop).start()
        res = highs.race(lp, SolveOptions(time_limit=30), stop=stop)
    assert res.status == highs.STOPPED and sorted(stopped) == ["simplex", "simplex"]
    assert res.method == ""  # nobody answered


def test_with_row_adds_one_row_and_keeps_the_rest():
    """min x + y, x + y ≥ 1 (0 ≤ x, y ≤ 5): 1. With x − y ≥ 3 added: x = 3, y = 0 → 3.
    The original LP is unchanged."""
    lp = highs.LinearProgram(
        cost=np.array([1.0, 1.0]), lower=np.zeros(2), upper=np.full(2, 5.0),
        integrality=np.zeros(2, np.int32), row_lower=np.array([1.0]),
        row_upper=np.array([highs.INF]), a_start=np.array([0], np.int32),
        a_index=np.array([0, 1], np.int32), a_value=np.array([1.0, 1.0]))
    more = lp.with_row(np.array([0, 1]), np.array([1.0, -1.0]), 3.0, highs.INF)
    assert (more.n_rows, more.nnz, lp.n_rows, lp.nnz) == (2, 4, 1, 2)
    opts = highs.SolveOptions(time_limit=10, isolate=False)
    assert highs.solve(lp, opts).objective == pytest.approx(1.0)
    res = highs.solve(more, opts)
    assert res.objective == pytest.approx(3.0) and res.x == pytest.approx([3.0, 0.0])


@pytest.mark.parametrize("isolate", [False, True])
def test_an_lp_restarts_from_its_basis_after_a_row_is_added(isolate):
    """keep_basis returns an optimal LP's basis (also from a child process); an LP with one
    more row started from it reaches the same optimum as from scratch."""
    rng = np.random.default_rng(3)
    n, m = 30, 20
    a = rng.integers(0, 4, size=(m, n)).astype(float)
    rows, cols = np.nonzero(a)
    start, index, value = highs.csr(rows, cols, a[rows, cols], m)
    lp = highs.LinearProgram(
        cost=rng.uniform(1, 5, n), lower=np.zeros(n), upper=np.full(n, 10.0),
        integrality=np.zeros(n, np.int32), row_lower=rng.uniform(5, 20, m),
        row_upper=np.full(m, highs.INF), a_start=start, a_index=index, a_value=value)
    first = highs.solve(lp, SolveOptions(time_limit=10, isolate=isolate, keep_basis=True))
    assert first.status == highs.OPTIMAL and first.basis is not None
    assert [len(s) for s in first.basis] == [n, m]
    cut = np.arange(n)[first.x > 1e-6][:3]
    more = lp.with_row(cut, np.ones(len(cut)), -highs.INF, float(first.x[cut].sum()) / 2)
    scratch = highs.solve(more, SolveOptions(time_limit=10, isolate=False))
    warm = highs.solve(more, SolveOptions(time_limit=10, isolate=isolate, basis=first.basis))
    assert scratch.status == warm.status == highs.OPTIMAL
    assert warm.objective == pytest.approx(scratch.objective)
    assert warm.objective >= first.objective - 1e-9
    assert highs.solve(lp, SolveOptions(time_limit=10, isolate=False)).basis is None
