"""Improvement by SKU groups (master_production.start.improve_by_groups) and the part of a
component it solves (master_production.model.sub_component)."""

import dataclasses
import threading
import time

import numpy as np
import pytest
from mps_support import make_case, random_case, raw_sheets

from solver_core import api, highs
from solver_core.master_production import solve
from solver_core.master_production import start as start_module
from solver_core.master_production.model import build_model, make_components, sub_component
from solver_core.master_production.simulate import component_cost, sku_costs
from solver_core.master_production.start import (
    SharedPlan,
    check_plan,
    greedy_plan,
    improve_by_groups,
    round_plan,
    start_vector,
)


def biggest_component(seed: int, moq_share: float, integer: bool, n_skus: int = 16):
    raw = raw_sheets(*random_case(np.random.default_rng(seed), n_skus=n_skus, n_factories=3,
                                  weeks=10, moq_share=moq_share))
    _, _, inst, _ = api.load(raw, {"relax_order_quantities": not integer})
    return max(make_components(inst, integer)[0], key=lambda c: c.n_skus)


def optimum(lp, layout, comp, q=None) -> float:
    res = highs.solve(lp, highs.SolveOptions(
        time_limit=60, mip_gap=0.0, start=None if q is None else start_vector(comp, layout, q)))
    assert res.status == highs.OPTIMAL
    return res.objective


@pytest.mark.parametrize("seed, weeks", [(3, None), (11, None), (3, (4, 8)), (11, (2, 6))])
def test_a_part_is_the_component_with_the_other_orders_held(seed, weeks):
    """The part's optimum plus the held SKUs' cost is the component's optimum with the
    held orders fixed (other SKUs' orders, and with ``weeks`` the kept SKUs' orders
    arriving outside them), formulated independently (the whole model, their x bounds
    fixed); and any plan of the part, with the held orders, keeps every row of the
    component."""
    comp = biggest_component(seed, moq_share=0.5, integer=True)
    q = greedy_plan(comp)
    keep = np.zeros(comp.n_skus, bool)
    keep[np.random.default_rng(seed).choice(comp.n_skus, comp.n_skus // 2, replace=False)] = True
    part, kept = sub_component(comp, keep, q, weeks)
    decided = keep[comp.order_sku]
    if weeks is not None:
        decided &= (comp.arrival_week >= weeks[0]) & (comp.arrival_week < weeks[1])
        # Held orders of kept SKUs that arrive: the window is a real restriction here.
        assert (keep[comp.order_sku] & ~decided & (q > 0)).any()
    assert np.array_equal(kept, decided)
    assert part.n_skus == keep.sum() and part.n_orders == kept.sum()
    lp, layout = build_model(comp, integer=True)
    held = layout.x[~kept]
    fixed = lp.replace(lower=lp.lower.copy(), upper=lp.upper.copy())
    fixed.lower[held] = q[~kept]
    fixed.upper[held] = q[~kept]
    whole = optimum(fixed, layout, comp, q)
    part_lp, part_layout = build_model(part, integer=True)
    res = highs.solve(part_lp, highs.SolveOptions(time_limit=60, mip_gap=0.0))
    held_cost = sku_costs(comp, q)[~keep].sum()
    assert res.objective + held_cost == pytest.approx(whole, rel=1e-7, abs=1e-6)
    plan = q.copy()
    plan[kept] = np.round(res.x[part_layout.x])
    assert not check_plan(comp, plan)
    assert component_cost(comp, plan) == pytest.approx(whole, rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("integer", [True, False])
def test_groups_of_half_the_skus_improve_a_greedy_plan(monkeypatch, integer):
    """Every plan kept is whole and keeps every row of the component; costs only fall."""
    comp = biggest_component(5, moq_share=0.5, integer=integer)
    monkeypatch.setattr(start_module, "GROUP_SKUS", comp.n_skus // 2)
    q0 = greedy_plan(comp)
    seen = []
    q, cost, rounds = improve_by_groups(comp, q0, 8.0, None, 0.0,
                                        improved=lambda q, c: seen.append(c))
    assert rounds >= 2
    assert not check_plan(comp, q)
    assert np.allclose(q, np.round(q))
    assert cost == pytest.approx(component_cost(comp, q))
    assert seen == sorted(seen, reverse=True) and seen[0] < component_cost(comp, q0)
    assert cost == seen[-1]


def test_one_group_of_every_sku_is_the_whole_relaxed_model_rounded(monkeypatch):
    """With every SKU in the group, a round is the whole model with relaxed quantities,
    rounded: from the greedy plan it gives a whole plan that keeps every row, costs less
    than the greedy plan and no less than the whole-unit model's optimum (solved on its
    own to a proven 0 gap)."""
    comp = biggest_component(5, moq_share=0.5, integer=True, n_skus=8)
    monkeypatch.setattr(start_module, "GROUP_SKUS", comp.n_skus)
    monkeypatch.setattr(start_module, "GROUP_SECONDS", 10.0)
    whole_units, layout = build_model(comp, integer=True)
    best = optimum(whole_units, layout, comp)
    q0 = greedy_plan(comp)
    q, cost, rounds = improve_by_groups(comp, q0, 12.0, None, 0.0)
    assert rounds >= 1
    assert not check_plan(comp, q)
    assert best - 1e-6 <= cost < component_cost(comp, q0)


def test_groups_stop_once_the_plan_is_within_the_gap_of_the_bound():
    comp = biggest_component(5, moq_share=0.5, integer=True)
    q0 = greedy_plan(comp)
    cost0 = component_cost(comp, q0)
    q, cost, rounds = improve_by_groups(comp, q0, 60.0, cost0 * 0.99, 0.02)
    assert rounds == 0 and cost == cost0


def test_a_component_solve_runs_the_group_search_alongside_and_keeps_the_cheaper_plan(
        monkeypatch):
    """solve_component with two threads: the group search runs (and is ended: no thread
    left behind), and the plan kept keeps every row and costs no more than the start."""
    comp = biggest_component(5, moq_share=0.5, integer=True)
    monkeypatch.setattr(start_module, "GROUP_SKUS", 4)
    monkeypatch.setattr(solve, "GROUP_SKUS", 4)
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[2])  # its seconds
        return improve_by_groups(*args, **kwargs)
    monkeypatch.setattr(solve, "improve_by_groups", counted)
    first = solve.find_start(comp, True, 2.0)
    # Shorter than GROUPS_MIN_SECONDS: no room for rounds that pay, no group search.
    solve.solve_component(comp, True, 3.0, 1e-6, 2, first)
    assert not calls
    monkeypatch.setattr(solve, "GROUPS_MIN_SECONDS", 5.0)
    result = solve.solve_component(comp, True, 8.0, 1e-6, 2, first)
    assert len(calls) == 1  # whole quantities, no MOQ order to close: no second stream
    assert not [t for t in threading.enumerate() if t.name == "scplan-mps-groups"]
    assert not check_plan(comp, result.quantity)
    assert result.evaluated <= first.cost + 1e-9
    assert result.evaluated == pytest.approx(component_cost(comp, result.quantity))
    # A plan cheaper than phase 1's is never reported as the start plan.
    assert result.evaluated >= first.cost - 1e-9 or not result.used.startswith("start plan")


def test_a_round_too_short_for_its_group_doubles_the_next_ones(monkeypatch):
    """Rounds that run out of time with nothing better get twice the time, up to
    GROUP_MAX_SECONDS; a round that improves the plan keeps its time."""
    comp = biggest_component(5, moq_share=0.5, integer=True)
    monkeypatch.setattr(start_module, "GROUP_SKUS", comp.n_skus // 2)
    given, real = [], highs.solve

    def timed_out_three_times(lp, options=None, progress=None, stop=None):
        given.append(options.time_limit)
        if len(given) <= 3:  # nothing better within the round
            return highs.SolveResult(highs.TIME_LIMIT, x=None)
        return real(lp, options, progress, stop)

    monkeypatch.setattr(start_module.highs, "solve", timed_out_three_times)
    q0 = greedy_plan(comp)
    q, cost, rounds = improve_by_groups(comp, q0, 20.0, None, 0.0)
    base, top = start_module.GROUP_SECONDS, start_module.GROUP_MAX_SECONDS
    assert given[:4] == [base, 2 * base, min(4 * base, top), min(8 * base, top)]
    assert cost < component_cost(comp, q0) and not check_plan(comp, q)


def test_a_larger_round_starts_with_more_time_and_none_runs_past_the_end(monkeypatch):
    """A round's MIP larger than GROUP_COLUMNS gets GROUP_SECONDS × its columns /
    GROUP_COLUMNS from the first round (at most GROUP_MAX_SECONDS; later rounds never
    less), and no round is started that would end after the stream's time."""
    comp = biggest_component(5, moq_share=0.5, integer=True)
    monkeypatch.setattr(start_module, "GROUP_SKUS", comp.n_skus // 2)
    # Half the SKUs: about half the component's columns, so 1.5 × GROUP_COLUMNS.
    columns = build_model(comp, integer=False)[0].n_cols / 3
    monkeypatch.setattr(start_module, "GROUP_COLUMNS", columns)
    base, top = start_module.GROUP_SECONDS, start_module.GROUP_MAX_SECONDS
    given = []

    def found_nothing(lp, options=None, progress=None, stop=None):
        given.append((lp.n_cols, options.time_limit, time.perf_counter()))
        time.sleep(0.1)  # HiGHS "proves" it cannot improve the plan
        return highs.SolveResult(highs.OPTIMAL, x=None)

    monkeypatch.setattr(start_module.highs, "solve", found_nothing)
    seconds = 2 * base
    q0 = greedy_plan(comp)
    t0 = time.perf_counter()
    _, _, rounds = improve_by_groups(comp, q0, seconds, None, 0.0)
    assert rounds == len(given) >= 2
    before = base
    for cols, limit, at in given:
        assert limit == pytest.approx(min(max(before, base * cols / columns), top))
        assert at - t0 + limit <= seconds + 0.05
        before = limit
    assert given[0][1] > 1.2 * base


def test_over_a_long_horizon_a_round_decides_a_window_of_weeks(monkeypatch):
    """Arrivals spanning more than 2 × WINDOW_WEEKS: each round decides the arrivals of
    WINDOW_WEEKS weeks of WINDOW_SKUS SKUs, windows drawn across the horizon; every plan
    kept is whole, keeps every row, and costs only fall. Over a short horizon no round
    has a window."""
    raw = raw_sheets(*random_case(np.random.default_rng(5), n_skus=12, n_factories=3,
                                  weeks=16, moq_share=0.5))
    _, _, inst, _ = api.load(raw, {"relax_order_quantities": False})
    comp = max(make_components(inst, True)[0], key=lambda c: c.n_skus)
    monkeypatch.setattr(start_module, "WINDOW_WEEKS", 4)
    monkeypatch.setattr(start_module, "WINDOW_SKUS", comp.n_skus // 2)
    span = comp.arrival_week.max() + 1 - comp.arrival_week.min()
    assert span > 2 * 4
    windows, real = [], start_module.sub_component

    def spied(c, keep, qty, weeks=None):
        windows.append((int(keep.sum()), weeks))
        return real(c, keep, qty, weeks)
    monkeypatch.setattr(start_module, "sub_component", spied)
    q0 = greedy_plan(comp)
    seen = []
    q, cost, rounds = improve_by_groups(comp, q0, 10.0, None, 0.0,
                                        improved=lambda q, c: seen.append(c))
    # The last part may be built and then not solved: its round would end past the time
    # (a timing the CI machine met once in a run of 519 rounds).
    assert len(windows) - 1 <= rounds <= len(windows) and rounds >= 3
    assert all(n == comp.n_skus // 2 and w[1] - w[0] == 4 for n, w in windows)
    assert all(comp.arrival_week.min() <= w[0] and w[1] <= comp.arrival_week.max() + 1
               for _, w in windows)
    assert len({w for _, w in windows}) > 1
    assert not check_plan(comp, q) and np.allclose(q, np.round(q))
    assert seen == sorted(seen, reverse=True) and seen and seen[0] < component_cost(comp, q0)
    assert cost == pytest.approx(component_cost(comp, q))
    # A horizon within 2 × WINDOW_WEEKS: whole horizons, GROUP_SKUS each.
    monkeypatch.setattr(start_module, "WINDOW_WEEKS", int(span))
    windows.clear()
    improve_by_groups(comp, q0, 3.0, None, 0.0)
    assert windows and all(w is None for _, w in windows)


def group_orders(comp, q: np.ndarray, keep: np.ndarray):
    """A round by hand: the group ``keep``'s MIP from the plan ``q``, rounded."""
    part, kept = sub_component(comp, keep, q)
    lp, layout = build_model(part, integer=False)
    res = highs.solve(lp, highs.SolveOptions(time_limit=20, mip_gap=0.0,
                                             start=start_vector(part, layout, q[kept])))
    return kept, round_plan(part, res.x[layout.x])


@pytest.mark.parametrize("seed", [3, 5, 11])
def test_a_shared_plan_takes_a_round_found_from_an_older_plan(seed):
    """Two streams improve one plan: the second's round started from the plan before
    the first's change. It goes into the plan as it is now when that is cheaper and
    keeps every row, else into the plan it started from when that is cheaper than now;
    otherwise the plan stays. A dearer change is never taken."""
    comp = biggest_component(seed, moq_share=0.5, integer=True)
    q0 = greedy_plan(comp)
    shared = SharedPlan(comp, q0)
    assert shared.best[1] == pytest.approx(component_cost(comp, q0))
    half = np.arange(comp.n_skus) < comp.n_skus // 2
    kept1, orders1 = group_orders(comp, q0, half)
    kept2, orders2 = group_orders(comp, q0, ~half)
    first = q0.copy()
    first[kept1] = orders1
    assert shared.offer(q0, kept1, orders1) == (component_cost(comp, first)
                                                < component_cost(comp, q0) - 1e-6)
    now, now_cost = shared.best
    both, alone = now.copy(), q0.copy()
    both[kept2] = orders2
    alone[kept2] = orders2
    fitting = [(component_cost(comp, p), p) for p in (both, alone)
               if not check_plan(comp, p) and component_cost(comp, p) < now_cost - 1e-6]
    assert shared.offer(q0, kept2, orders2) == bool(fitting)
    plan, cost = shared.best
    if fitting:
        expected_cost, expected = min(fitting, key=lambda f: f[0])
        assert cost == pytest.approx(expected_cost) and np.array_equal(plan, expected)
    else:
        assert plan is now
    assert not check_plan(comp, plan) and cost == pytest.approx(component_cost(comp, plan))
    # A change that only adds units (dearer: more stock to hold) is refused.
    dearer = plan[kept2] + 1000.0
    assert not shared.offer(plan, kept2, dearer) and shared.best[0] is plan


@pytest.mark.parametrize("seed", [2, 10])
def test_a_round_from_a_plan_that_moved_on_goes_in_with_its_quantities_resplit(
        monkeypatch, seed):
    """While a round runs, the plan moves on (here a re-split of every SKU's quantities,
    as the other stream makes). The round's MIP finds a cheaper part, but its orders, in the plan
    as it is now or in the one the round started from, break a row (capacity) or cost
    more than the plan now: on their own they would be lost. They go into the
    plan as it is now with every quantity re-split (an LP with the MOQ orders and the
    weeks of lost sales fixed), which is cheaper than the plan now and keeps every row."""
    comp = biggest_component(seed, moq_share=0.5, integer=False)
    monkeypatch.setattr(start_module, "GROUP_SKUS", comp.n_skus // 2)
    monkeypatch.setattr(start_module, "RESPLIT_SECONDS", np.inf)  # no re-split of its own
    q0 = greedy_plan(comp)
    shared = SharedPlan(comp, q0)
    every = np.ones(comp.n_orders, bool)
    real_solve = start_module.highs.solve
    rounds = []

    def plan_moves_during_the_first_round(lp, options=None, progress=None, stop=None):
        if not lp.integrality.any():  # an LP: the re-splits
            return real_solve(lp, options, progress, stop)
        if rounds:  # later rounds find nothing
            return highs.SolveResult(highs.TIME_LIMIT)
        assert shared.offer(q0, every, start_module.resplit(comp, *shared.model(), q0, 30))
        res = real_solve(lp, options, progress, stop)
        rounds.append((lp, options.start, res))
        return res
    monkeypatch.setattr(start_module.highs, "solve", plan_moves_during_the_first_round)
    moved_plan = []
    real_offer = shared.offer

    def offer(base, kept, orders):
        if moved_plan:
            moved_plan.append((base, kept, orders))  # the round's offers
        better = real_offer(base, kept, orders)
        if not moved_plan:
            moved_plan.append(shared.best)  # the plan moved on
        return better
    monkeypatch.setattr(shared, "offer", offer)
    improve_by_groups(comp, None, 3.0, None, 0.0, shared=shared)
    (lp, start, res), = rounds
    assert res.objective < highs.plan_cost(lp, start) - 1.0  # the round found a cheaper part
    (moved, moved_cost), (base, kept, orders) = moved_plan[0], moved_plan[1]
    assert base is q0
    # On their own its orders are lost: in the plan now and in the plan they were found
    # from, they break a row or cost more than the plan now.
    for plan in (moved.copy(), q0.copy()):
        plan[kept] = orders
        assert check_plan(comp, plan) or component_cost(comp, plan) >= moved_cost
    plan, cost = shared.best
    assert cost < moved_cost - 1.0
    assert not check_plan(comp, plan) and cost == pytest.approx(component_cost(comp, plan))
    # Its MOQ orders are the round's: placed where the round placed them.
    moq = comp.moq[comp.order_sku] > 1
    assert np.array_equal(plan[kept & moq] > 0, orders[moq[kept]] > 0)


def moq_case_watched(monkeypatch, on_rounds, on_near):
    """A relaxed-quantity component with MOQ orders its DP plans leave closed (so a near
    search runs), groups of 4 SKUs, and phase 2's group rounds and near search reported
    to ``on_rounds(kwargs)`` and ``on_near(kwargs)`` as they start. Returns the component
    and its phase-1 start."""
    comp = biggest_component(5, moq_share=0.5, integer=False)
    comp.target = np.ceil(comp.target)  # whole units: the DP, and with it the near search
    monkeypatch.setattr(start_module, "GROUP_SKUS", 4)
    monkeypatch.setattr(solve, "GROUP_SKUS", 4)
    real_relaxed = solve._relaxed_plan

    def counted(*args, **kwargs):
        on_rounds(kwargs)
        return improve_by_groups(*args, **kwargs)

    def relaxed_plan(*args, **kwargs):
        on_near(kwargs)
        return real_relaxed(*args, **kwargs)
    monkeypatch.setattr(solve, "improve_by_groups", counted)
    monkeypatch.setattr(solve, "_relaxed_plan", relaxed_plan)
    first = solve.find_start(comp, False, 2.0)
    _, layout = build_model(comp, integer=False)
    assert first.hint is not None and ((layout.z >= 0) & ~first.hint).any()  # to close
    return comp, first


def test_where_groups_run_a_second_stream_of_them_replaces_the_near_search(monkeypatch):
    """Relaxed quantities with MOQ orders to close and two threads: phase 2 runs two
    streams of group rounds on one shared plan (one in a thread, one in place of the
    search near the DP plans, which does not run), then the whole model; the plan kept
    is whole, keeps every row and costs no more than the start."""
    monkeypatch.setattr(solve, "GROUPS_MIN_SECONDS", 5.0)
    streams, near, longest = [], [], []

    def rounds(kwargs):
        streams.append(kwargs.get("stream", 0))
        longest.append(kwargs.get("longest"))
    comp, first = moq_case_watched(monkeypatch, rounds,
                                   lambda kwargs: near.append(kwargs.get("hint") is not None))
    result = solve.solve_component(comp, False, 10.0, 1e-6, 2, first)
    assert sorted(streams) == [0, 1]
    # The second stream may go on while it improves, never into the whole model's share.
    second = longest[streams.index(1)]
    assert solve.NEAR_SHARE * 9.0 < second <= (1 - solve.WHOLE_SHARE) * 10.0
    assert not any(near)
    assert not [t for t in threading.enumerate() if t.name == "scplan-mps-groups"]
    assert not check_plan(comp, result.quantity)
    assert result.evaluated <= first.cost + 1e-9
    assert result.evaluated == pytest.approx(component_cost(comp, result.quantity))


@pytest.mark.parametrize("improving, longest, rounds_run", [
    (10, 30.0, 15),  # ten cheaper plans, then STALL_ROUNDS rounds of 2 s without one
    (10, None, 2),  # no longest: the rounds that fit in their own 3 s
    (1000, 30.0, 29),  # improving to the end: every round that fits in the longest
])
def test_rounds_go_on_past_their_time_while_they_find_cheaper_plans(
        monkeypatch, improving, longest, rounds_run):
    """A stream given a longest time keeps starting rounds past its own ``seconds`` while
    the shared plan was improved within its last STALL_ROUNDS rounds, and never starts one
    that would end past the longest. Rounds of 1 s on a clock of its own; the plan offers
    ``improving`` cheaper plans, then none."""
    comp = biggest_component(5, moq_share=0.5, integer=True)
    monkeypatch.setattr(start_module, "RESPLIT_SECONDS", np.inf)  # rounds only, no re-split
    clock = [0.0]
    monkeypatch.setattr(start_module, "time", type("Clock", (), {
        "perf_counter": staticmethod(lambda: clock[0])}))

    def one_second_round(lp, options=None, progress=None, stop=None):
        assert clock[0] + options.time_limit <= (longest or 3.0)  # never past the end
        clock[0] += 1.0
        return highs.SolveResult(highs.OPTIMAL, x=np.zeros(lp.n_cols))
    monkeypatch.setattr(start_module.highs, "solve", one_second_round)

    class Offered(SharedPlan):
        offers = 0

        def offer(self, base, kept, orders):
            self.offers += 1
            if self.offers > improving:
                return False
            self.improved_at = clock[0]
            return True

    shared = Offered(comp, greedy_plan(comp))
    assert start_module.GROUP_SECONDS == 2.0 and start_module.STALL_ROUNDS == 2
    _, _, rounds = improve_by_groups(comp, None, 3.0, None, 0.0, shared=shared,
                                     longest=longest)
    assert rounds == rounds_run


def test_a_resplit_moves_a_factorys_capacity_to_the_sku_that_loses_most():
    """Hand case: one factory making 10 units a week for SKUs A (lost sales 100 a unit)
    and B (10), each with demand 8 a week, lead time 1 (weeks 1–5 can be reached). The
    plan gives A 3 and B 7 a week: A loses 5 units a week and B 1, 5 × (500 + 10) =
    2,550. With the same weeks of lost sales (both SKUs short where the plan has them
    short, so no stock), the best split is A 8 and B 2: B loses 6 a week, 5 × 60 = 300,
    which is also the optimum (10 units a week for 16 of demand: 6 lost each week,
    cheapest on B)."""
    sku = {"lead_time_weeks": 1, "transport_weeks": 0}
    data, settings = make_case(
        [{"sku": "A", "lost_sales_cost": 100.0, **sku},
         {"sku": "B", "lost_sales_cost": 10.0, **sku}],
        [{"factory": "F", "sku": s, "units_per_hour": 10} for s in "AB"],
        {"A": [8] * 6, "B": [8] * 6}, weeks=6)
    _, _, inst, _ = api.load(raw_sheets(data, settings))
    (comp,) = make_components(inst, True)[0]
    lp, layout = build_model(comp, integer=True)
    plan = np.where(comp.order_sku == 0, 3.0, 7.0)
    assert component_cost(comp, plan) == pytest.approx(2550.0)
    q = start_module.resplit(comp, lp, layout, plan, time_limit=10)
    assert not check_plan(comp, q)
    assert np.array_equal(q, np.where(comp.order_sku == 0, 8.0, 2.0))
    assert component_cost(comp, q) == pytest.approx(300.0)
    assert optimum(lp, layout, comp) == pytest.approx(300.0)
    # From a plan over the capacity (A 8 and B 7 a week: 15 units of 10), with A never
    # short and B short every week: the same split, though the plan it starts from
    # cost less (it is no plan).
    over = np.where(comp.order_sku == 0, 8.0, 7.0)
    assert check_plan(comp, over) and component_cost(comp, over) < 300.0
    q = start_module.resplit(comp, lp, layout, over, time_limit=10)
    assert np.array_equal(q, np.where(comp.order_sku == 0, 8.0, 2.0))


@pytest.mark.parametrize("seed, moq_share, integer", [(3, 0.5, True), (5, 0.0, True),
                                                     (11, 0.5, False)])
def test_a_resplit_plan_keeps_every_row_and_never_costs_more(seed, moq_share, integer):
    comp = biggest_component(seed, moq_share=moq_share, integer=integer, n_skus=24)
    q0 = greedy_plan(comp)
    lp, layout = build_model(comp, integer=integer)
    q = start_module.resplit(comp, lp, layout, q0, time_limit=30)
    assert not check_plan(comp, q)
    assert np.allclose(q, np.round(q))
    assert component_cost(comp, q) < component_cost(comp, q0) - 1.0


def test_a_start_above_its_bound_gets_rounds_before_the_near_search(monkeypatch):
    """One thread (no group search alongside), relaxed quantities, MOQ orders to close:
    a start more than SOLO_ROUNDS_GAP above its bound but not far (ROOM_CAP) gets group
    rounds (the first of SOLO_ROUND_SECONDS) before the search near the DP plans; a far
    start, or one within the gap, goes straight to the near search. The plan kept is
    whole, keeps every row and costs no more than the start."""
    monkeypatch.setattr(solve, "SOLO_ROUND_SECONDS", 1.0)
    calls = []
    comp, first = moq_case_watched(
        monkeypatch,
        lambda kwargs: calls.append(("rounds", kwargs.get("first_round"), kwargs.get("stream", 0))),
        lambda kwargs: calls.append(("near", kwargs.get("hint") is not None, None)))
    # The greedy plan as the start: between 5% and 50% above the bound on this case.
    plan = greedy_plan(comp)
    start = solve.Start(plan, component_cost(comp, plan), "greedy", first.lp_bound, 0.0,
                        first.hint)
    assert 1.05 * start.lp_bound < start.cost <= (1 + solve.ROOM_CAP) * start.lp_bound
    result = solve.solve_component(comp, False, 6.0, 1e-6, 1, start)
    assert calls[:2] == [("rounds", 1.0, 0), ("near", True, None)]
    assert not check_plan(comp, result.quantity)
    assert result.evaluated <= start.cost + 1e-9
    assert result.evaluated == pytest.approx(component_cost(comp, result.quantity))
    # Far above its bound (its near search is lent time), or within the gap: no rounds.
    for name, value in (("ROOM_CAP", 0.01), ("SOLO_ROUNDS_GAP", 0.9)):
        calls.clear()
        with monkeypatch.context() as m:
            m.setattr(solve, name, value)
            solve.solve_component(comp, False, 3.5, 1e-6, 1, start)
        assert calls and calls[0][0] == "near"
    # Without a bound (phase 1 cut short where no bound applies) nothing tells how far the
    # start is: no rounds, and no failure.
    calls.clear()
    unbounded = solve.Start(plan, start.cost, "greedy", None, 0.0, first.hint)
    assert not check_plan(comp, solve.solve_component(comp, False, 3.5, 1e-6, 1,
                                                      unbounded).quantity)
    assert calls and calls[0][0] == "near"


def test_rounds_draw_by_the_regret_at_the_best_prices_known_before_each_round(monkeypatch):
    """``prices()`` is asked before every round; the regret is recomputed only when the
    prices it gives change, and each round's group holds the SKU with the most regret at
    the prices of that moment."""
    comp = biggest_component(5, moq_share=0.5, integer=True)
    monkeypatch.setattr(start_module, "GROUP_SKUS", comp.n_skus // 2)
    first, second = np.zeros(comp.capacity.shape), np.ones(comp.capacity.shape)
    worst = {id(first): 0, id(second): comp.n_skus - 1}  # the SKU each price's regret blames
    asked, priced, groups = [], [], []

    def prices():
        asked.append(len(groups))
        return first if len(groups) < 3 else second

    def blamed(c, at=None):
        priced.append(at)
        return lambda qty: np.eye(c.n_skus)[worst[id(at)]] * 1e6

    def part_of(c, keep, qty, weeks=None):
        groups.append(keep.copy())
        return sub_component(c, keep, qty, weeks)

    def found_nothing(lp, options=None, progress=None, stop=None):
        time.sleep(0.05)
        return highs.SolveResult(highs.OPTIMAL, x=None)
    monkeypatch.setattr(start_module, "regret", blamed)
    monkeypatch.setattr(start_module, "sub_component", part_of)
    monkeypatch.setattr(start_module.highs, "solve", found_nothing)
    _, _, rounds = improve_by_groups(comp, greedy_plan(comp), 2 * start_module.GROUP_SECONDS,
                                     None, 0.0, prices=prices)
    # A round is sized by its group's MIP, so the last group may be built and then not
    # run because that round would not end in time.
    assert len(groups) - rounds in (0, 1) and rounds > 3
    assert len(asked) == len(groups) + 1  # once at the start, then before each group
    assert len(priced) == 2 and priced[0] is first and priced[1] is second
    assert all(g[0] for g in groups[:3]) and all(g[-1] for g in groups[3:])


def test_phase_2_prices_its_rounds_at_the_best_lagrangian_bound_known(monkeypatch):
    """The rounds of phase 2 get the start's prices, or the exact bound's once that bound
    is the better one (asked while they run)."""
    monkeypatch.setattr(solve, "GROUPS_MIN_SECONDS", 5.0)
    given = []
    comp, first = moq_case_watched(monkeypatch, lambda kwargs: given.append(kwargs["prices"]),
                                   lambda kwargs: None)
    assert first.priced is not None
    solve.solve_component(comp, False, 6.0, 1e-6, 2, first)
    assert given and all(p() is first.priced[1] for p in given)

    class Exact:  # a bound still running beside phase 2, as ExactBound.priced reports it
        priced = None
    first.exact = Exact()
    assert solve.regret_prices(first) is first.priced[1]
    better = np.full(comp.capacity.shape, 2.0)
    Exact.priced = (first.priced[0] + 1.0, better)
    assert solve.regret_prices(first) is better
    Exact.priced = (first.priced[0] - 1.0, better)
    assert solve.regret_prices(first) is first.priced[1]
    assert solve.regret_prices(dataclasses.replace(first, priced=None, exact=None)) is None
