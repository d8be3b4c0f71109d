"""The production–distribution solve is an anytime search that stops only for a reason
(docs/production_distribution.md, "How it is solved"): the staged chain reaches the
plain model's optimum on small cases, statuses say only what was proven, and a stop
keeps the best plan."""

import time

import numpy as np
import pytest
from pd_support import check_outcome, raw_sheets
from test_pd_spec import random_instance

from solver_core import api, highs
from solver_core.highs import SolveOptions, SolveResult
from solver_core.outputs import summary_items
from solver_core.production_distribution import model, report
from solver_core.production_distribution import solve as solve_stage
from solver_core.production_distribution.spec import thesis_pulp


def load(data, **settings):
    _, _, inst, problems = api.load(raw_sheets(data, {"time_limit_s": 60, "mip_gap": 0.0,
                                                      **settings}))
    assert inst is not None, problems
    return inst


@pytest.mark.parametrize("seed", range(8))
def test_staged_solve_reaches_the_plain_optimum(seed, monkeypatch):
    """Staged from the first column on, the solve ends at the optimum plain HiGHS proves
    on the whole model (and the thesis formulation in PuLP), with status optimal."""
    data, settings = random_instance(seed)
    inst = load(data, **settings)
    built = model.build(inst)
    plain = highs.solve(built.lp, SolveOptions(time_limit=60, mip_gap=0.0))
    assert plain.status in (highs.OPTIMAL, highs.INFEASIBLE)
    monkeypatch.setattr(solve_stage, "STAGED_MIN_COLUMNS", 0)
    sol = solve_stage.solve(inst, built)
    if plain.status == highs.INFEASIBLE:
        assert not sol.has_plan and sol.status == highs.INFEASIBLE
        return
    assert sol.status == highs.OPTIMAL
    assert sol.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
    assert solve_stage.fits(built.lp, sol.x)
    assert sol.bound is not None and sol.mip_gap <= 1e-6
    expected = thesis_pulp(inst)
    if expected is not None:
        assert sol.objective == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_stages_that_end_early_hand_the_rest_to_the_whole_model(monkeypatch):
    """When the chain ends without a proof, the whole model runs from the best plan."""
    data, settings = random_instance(3)  # the chain alone ends 0.4% above its bound
    inst = load(data, **settings)
    monkeypatch.setattr(solve_stage, "STAGED_MIN_COLUMNS", 0)
    monkeypatch.setattr(solve_stage, "BOUND_SEARCH_ALONGSIDE", False)  # it would prove it
    sol = solve_stage.solve(inst, model.build(inst))
    names = [st["stage"] for st in sol.stages]
    assert "merged model, whole pallets within the LP's trucks" in names
    assert names[-1] == solve_stage.WHOLE_MODEL
    # With two threads the LP is raced by simplex and interior point; Out Solver says which.
    lp_stage = sol.stages[names.index("LP relaxation")]
    assert lp_stage["status"] in {f"optimal by {m}" for m in highs.RACE_SOLVERS.values()}
    assert sol.status == highs.OPTIMAL and sol.mip_gap <= 1e-6


def fake_solve(status, seconds=0.0, bound_below=0.1):
    """A highs.solve that returns ``status`` with the start plan after ``seconds``."""
    def solve(lp, options=None, progress=None, stop=None):
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < min(seconds, options.time_limit):
            time.sleep(0.05)
        x = options.start
        obj = None if x is None else float(lp.cost @ x + lp.offset)
        return SolveResult(status, x=x, objective=obj,
                           bound=None if obj is None else obj * (1 - bound_below),
                           solve_seconds=time.perf_counter() - t0)
    return solve


def test_an_early_end_without_proof_is_neither_optimal_nor_time_limit(monkeypatch):
    data, settings = random_instance(3)
    inst = load(data, time_limit_s=30, **settings)
    monkeypatch.setattr(solve_stage.highs, "solve", fake_solve(highs.ERROR))
    t0 = time.perf_counter()
    sol = solve_stage.solve(inst, model.build(inst))
    assert time.perf_counter() - t0 < 10
    assert sol.has_plan  # the constructive plan is kept
    assert sol.status not in (highs.OPTIMAL, highs.TIME_LIMIT)


def test_time_limit_only_when_the_limit_is_reached(monkeypatch):
    data, settings = random_instance(3)
    inst = load(data, time_limit_s=3, **settings)
    monkeypatch.setattr(solve_stage.highs, "solve", fake_solve(highs.TIME_LIMIT, seconds=60))
    t0 = time.perf_counter()
    sol = solve_stage.solve(inst, model.build(inst))
    assert sol.status == highs.TIME_LIMIT and sol.mip_gap > 0
    assert time.perf_counter() - t0 >= 3 - solve_stage.MIN_STAGE_SECONDS


@pytest.mark.parametrize("reserve", [0.0, 1.5])
def test_the_search_leaves_the_reserve_for_out_why(monkeypatch, reserve):
    """No stage is given time past the limit less the reserve (Out Why's re-solves run
    after the search), and the search ends by then with status time_limit."""
    data, settings = random_instance(3)
    inst = load(data, time_limit_s=4, **settings)
    given = []
    slow = fake_solve(highs.TIME_LIMIT, seconds=60)

    def recording(lp, options=None, progress=None, stop=None):
        given.append((time.perf_counter(), options.time_limit))
        return slow(lp, options, progress, stop)

    monkeypatch.setattr(solve_stage.highs, "solve", recording)
    built = model.build(inst)
    t0 = time.perf_counter() - built.build_seconds  # the run's clock counts the build
    sol = solve_stage.solve(inst, built, reserve=reserve)
    assert given and sol.status == highs.TIME_LIMIT
    assert max(t - t0 + limit for t, limit in given) <= 4 - reserve + 0.05
    assert time.perf_counter() - t0 >= 4 - reserve - solve_stage.MIN_STAGE_SECONDS


def test_a_single_solve_reserves_out_whys_time(monkeypatch):
    from solver_core.production_distribution import run, why

    seen = {}
    real = solve_stage.solve

    def spy(inst, built, progress=None, stop=None, reserve=0.0, **kw):
        seen["reserve"] = reserve
        return real(inst, built, progress, stop=stop, reserve=reserve, **kw)

    monkeypatch.setattr(solve_stage, "solve", spy)
    data, settings = random_instance(3)
    inst = load(data, time_limit_s=20, **settings)
    run(inst)
    assert seen["reserve"] == why.seconds_for(inst) == pytest.approx(2.0)


def test_a_baseline_plan_that_fits_is_kept_and_one_that_does_not_is_repaired():
    data, settings = random_instance(3)
    inst = load(data, **settings)
    built = model.build(inst)
    sol = solve_stage.solve(inst, built)
    # The same model: the plan moves over as it is.
    again = solve_stage.transfer(sol.x, built, model.build(inst))
    assert np.array_equal(again, sol.x)
    # More demand: the moves still fit; stock and shortages are chosen again.
    more = inst.with_settings(demand_factor=1.5)
    built_more = model.build(more)
    moved = solve_stage.transfer(sol.x, built, built_more)
    assert not solve_stage.fits(built_more.lp, moved)
    fixed = solve_stage.repair(built_more, moved)
    assert fixed is not None and solve_stage.fits(built_more.lp, fixed)
    assert np.allclose(fixed[built_more.flow_cols], moved[built_more.flow_cols])
    started = solve_stage.solve(more, built_more, starts=(moved,))
    assert started.stages[1]["stage"] == "start plan 1"
    assert started.stages[1]["status"] == "repaired"
    assert started.status == highs.OPTIMAL


def test_staged_solve_within_a_gap_is_within_it_of_the_plain_optimum(monkeypatch):
    """Requested gap 1%: an optimal status means within 1% of plain HiGHS's optimum."""
    for seed in range(8, 14):
        data, settings = random_instance(seed)
        inst = load(data, mip_gap=0.01, **settings)
        built = model.build(inst)
        plain = highs.solve(built.lp, SolveOptions(time_limit=60, mip_gap=0.0))
        if plain.status != highs.OPTIMAL:
            continue
        monkeypatch.setattr(solve_stage, "STAGED_MIN_COLUMNS", 0)
        sol = solve_stage.solve(inst, built)
        assert sol.status == highs.OPTIMAL
        assert sol.objective <= plain.objective * 1.01 + 1e-6
        assert sol.bound <= plain.objective + 1e-6


def test_outcome_of_a_stopped_run_is_checked(monkeypatch):
    """A stop before the whole model's stage: the best plan is written, status stopped."""
    from solver_core import control

    data, settings = random_instance(3)
    raw = raw_sheets(data, {"time_limit_s": 60, "mip_gap": 0.0, **settings})
    with control.StopToken() as stop:
        real = solve_stage._Search.whole_model

        def stop_then_go(self):
            stop.request_stop()
            return real(self)

        monkeypatch.setattr(solve_stage._Search, "whole_model", stop_then_go)
        monkeypatch.setattr(solve_stage, "STAGED_MIN_COLUMNS", 0)
        # The merged MIP alongside can prove the optimum first (then `optimal` is true).
        monkeypatch.setattr(solve_stage, "BOUND_SEARCH_ALONGSIDE", False)
        outcome = api.solve(raw, stop=stop)
    summary = summary_items({s.name: s.frame for s in outcome.sheets})
    assert summary["status"] == highs.STOPPED
    assert summary["bound"] is not None and summary["mip_gap"] is not None
    assert check_outcome(raw, outcome) is not None


def test_the_chain_still_hears_a_stop_after_the_bound_search_ended():
    """The chain's stages listen to the bound search's ``halt`` token: a stop requested
    after the merged MIP alongside has ended (it proved its own optimum) still reaches
    them, and so does a proof of the gap."""
    from solver_core.highs import ModelBuilder

    class Search:  # what _BoundSearch reads of the search
        gap, bound, asked, done = 0.0, None, False, False

        def __init__(self):
            self.stages = []

        def left(self):
            return 5.0

        def stage_options(self, budget, **options):
            return SolveOptions(time_limit=budget, **options)

        def elapsed(self):
            return 0.0

        def stopped(self):
            return self.asked

        def proven(self):
            return self.done

        def raise_bound(self, bound):
            self.bound = bound

    mb = ModelBuilder()
    mb.add_vars("x", 1, upper=3.0, integer=True)
    one = mb.build()
    one = one.replace(cost=np.ones(1))
    for reason in ("asked", "done"):
        search = Search()
        bound_search = solve_stage._BoundSearch(search, one)
        bound_search.thread.join(10)
        assert not bound_search.thread.is_alive() and search.bound == 0.0
        assert not bound_search.halt.requested
        setattr(search, reason, True)
        t0 = time.perf_counter()
        while not bound_search.halt.requested and time.perf_counter() - t0 < 2:
            time.sleep(0.02)
        assert bound_search.halt.requested
        bound_search.close()


def test_a_stage_shows_a_bound_only_where_it_bounds_the_model_and_proves_something():
    """Out Solver's stage lines: a restricted stage's bound is called its own, never the
    plan's; a whole-model stage whose root never got past the LP shows no bound (HiGHS
    reports −1.96M there on the thesis)."""
    assert solve_stage.stage_bounds(328_650.9, False, 328_464.2) == {
        "bound": None, "restricted_bound": 328_650.9}
    assert solve_stage.stage_bounds(-1_960_864.0, True, 328_464.2) == {
        "bound": None, "restricted_bound": None}
    assert solve_stage.stage_bounds(328_542.2, True, 328_464.2) == {
        "bound": 328_542.2, "restricted_bound": None}
    assert solve_stage.stage_bounds(float("-inf"), True, None)["bound"] is None
    line = report._stage_bound({"stage": "x", **solve_stage.stage_bounds(328_650.9, False, None)})
    assert line == ("bound of this stage's restricted model 328,650.90 "
                    "(not a bound on the plan)")


def test_without_a_merged_model_plain_highs_runs_alongside_and_its_plan_counts(monkeypatch):
    """No product's plant stock covers its demand (no merged model): the search alongside
    is the whole model's MIP. When the chain finds nothing, its plan and proof are the
    result: the plain optimum, status optimal, the chain's running stage ended by it."""
    data, settings = random_instance(7)  # its constructive plan costs 5× the optimum
    inst = load(data, **settings)
    built = model.build(inst)
    plain = highs.solve(built.lp, SolveOptions(time_limit=60, mip_gap=0.0))
    assert plain.status == highs.OPTIMAL
    greedy = solve_stage.greedy_plan(built)
    assert built.lp.cost @ greedy + built.lp.offset > plain.objective + 1.0
    monkeypatch.setattr(solve_stage, "STAGED_MIN_COLUMNS", 0)
    monkeypatch.setattr(solve_stage, "aggregate_surplus", lambda inst: None)
    real_run = solve_stage._Search.run

    def chain_finds_nothing(self, name, stage_lp, budget, **kw):
        if name == "LP relaxation":
            return real_run(self, name, stage_lp, budget, **kw)
        t0 = time.perf_counter()  # a stage that searches until it is ended
        while time.perf_counter() - t0 < budget and not self.stage_stop().requested:
            time.sleep(0.05)
        self.stages.append({"stage": name, "status": highs.STOPPED, "objective": None,
                            "bound": None, "seconds": time.perf_counter() - t0})
        return SolveResult(highs.STOPPED)

    monkeypatch.setattr(solve_stage._Search, "run", chain_finds_nothing)
    t0 = time.perf_counter()
    sol = solve_stage.solve(inst, built)
    assert time.perf_counter() - t0 < 30  # ended by the proof, not by the 60 s limit
    names = [st["stage"] for st in sol.stages]
    assert solve_stage.PLAIN_ALONGSIDE in names and solve_stage.BOUND_SEARCH not in names
    assert sol.status == highs.OPTIMAL
    assert sol.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
    assert solve_stage.fits(built.lp, sol.x)


NEAR = "whole pallets near that plan (moves rounded, trucks at most one more)"


def test_fractional_demand_goes_from_the_lp_to_the_truck_choice(monkeypatch):
    """Where a plant's demand is in fractions of pallets the capped MIP finds its first
    whole plan late, so the chain goes from the LP (and the LP re-priced by its trucks'
    fill, where the LP was quick) to the truck choice with continuous pallets and whole
    pallets near it, then the whole model; the optimum is plain's either way."""
    data, settings = random_instance(6)  # demands of 3.5 pallets
    inst = load(data, **settings)
    built = model.build(inst)
    assert solve_stage._fractional_demand(built)
    plain = highs.solve(built.lp, SolveOptions(time_limit=60, mip_gap=0.0))
    monkeypatch.setattr(solve_stage, "STAGED_MIN_COLUMNS", 0)
    monkeypatch.setattr(solve_stage, "BOUND_SEARCH_ALONGSIDE", False)
    for lp_share, first in ((1.0, ["LP relaxation", REPRICED]), (0.0, ["LP relaxation"])):
        monkeypatch.setattr(solve_stage, "REPRICE_MAX_LP_SHARE", lp_share)
        sol = solve_stage.solve(inst, built)
        names = [st["stage"] for st in sol.stages]
        assert names[1:] == [*first, "truck choice, continuous pallets", NEAR,
                             solve_stage.WHOLE_MODEL]
        for st in sol.stages:
            if st["stage"] == REPRICED:  # its objective is no plan's cost, nor a bound
                assert st["objective"] is None and st["bound"] is None
                assert st.get("restricted_bound") is None
        assert sol.status == highs.OPTIMAL
        assert sol.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
    whole = model.build(load(data, **{**settings, "demand_factor": 2.0}))
    assert not solve_stage._fractional_demand(whole)  # 3.5 × 2: whole pallets


REPRICED = "LP re-priced by its trucks' fill"


def test_the_repriced_lp_charges_a_truck_by_its_fill_and_caps_its_trucks():
    """The re-priced LP is the LP with each used truck column's cost × ⌈y⌉ / y: a lane
    the LP fills to a fifth of a truck pays a whole truck per fifth, so the re-priced
    plan moves that load to trucks that go fuller, and its rounded-up trucks are the
    caps; a re-priced LP that does not finish leaves the LP's caps."""
    data, settings = random_instance(6)
    inst = load(data, **settings)
    built = model.build(inst)
    lp = built.lp
    search = solve_stage._Search(inst, built, progress=solve_stage.NULL, stop=None, threads=1)
    r0 = highs.solve(lp.replace(integrality=np.zeros(lp.n_cols, np.int32)),
                     SolveOptions(mip_gap=0.0))
    loads = r0.x[built.truck_cols]
    assert ((loads > 1e-6) & (np.abs(loads - np.round(loads)) > 1e-6)).any(), \
        "the case needs partly filled trucks"
    lp_caps = lp.upper.copy()
    lp_caps[built.truck_cols] = np.ceil(loads - 1e-6)
    seen = {}
    run = search.run

    def spy(name, stage_lp, budget, **kw):
        seen["lp"] = stage_lp
        res = run(name, stage_lp, budget, **kw)
        seen["res"] = res
        return res

    search.run = spy
    caps = solve_stage._repriced_caps(search, built, r0, lp_caps)
    used = loads > 1e-6
    factor = seen["lp"].cost[built.truck_cols] / lp.cost[built.truck_cols]
    assert np.allclose(factor[used], np.ceil(loads[used] - 1e-6) / loads[used])
    assert np.allclose(factor[~used], 1.0)
    assert seen["lp"].n_integers == 0
    repriced = seen["res"].x[built.truck_cols]
    assert np.allclose(caps[built.truck_cols], np.ceil(repriced - 1e-6))
    # the re-priced plan is a plan of the LP relaxation, at least as costly there
    relaxed = lp.replace(integrality=np.zeros(lp.n_cols, np.int32))
    assert solve_stage.fits(relaxed, seen["res"].x)
    assert highs.plan_cost(lp, seen["res"].x) >= r0.objective - 1e-6
    # within those caps the truck choice and whole pallets near it give a whole plan
    solve_stage._truck_choice(search, caps, 1.0)
    assert search.best is not None and solve_stage.fits(lp, search.best.x)
    search.run = lambda *a, **kw: SolveResult(highs.TIME_LIMIT)
    assert solve_stage._repriced_caps(search, built, r0, lp_caps) is lp_caps


def test_whole_pallets_near_a_plan_round_its_moves_and_add_at_most_a_truck():
    """The rounding of a plan with continuous pallets is a whole plan of the model, each
    move at its floor or ceiling, each lane-day at most one truck more."""
    data, settings = random_instance(10)
    inst = load(data, **settings)
    built = model.build(inst)
    lp = built.lp
    continuous = lp.integrality.copy()
    continuous[built.flow_cols] = 0
    x = highs.solve(lp.replace(integrality=continuous), SolveOptions(mip_gap=0.0)).x
    moves, trucks = x[built.flow_cols], x[built.truck_cols]
    assert (np.abs(moves - np.round(moves)) > 1e-6).any(), "the case needs fractional moves"
    search = solve_stage._Search(inst, built, progress=solve_stage.NULL, stop=None, threads=1)
    res = solve_stage._whole_pallets_near(search, x)
    assert res.x is not None and search.best is res
    y = res.x
    assert solve_stage.fits(lp, y)
    near = y[built.flow_cols]
    assert np.allclose(near, np.round(near))
    assert (near >= np.floor(moves + 1e-6) - 1e-6).all()
    assert (near <= np.ceil(moves - 1e-6) + 1e-6).all()
    assert (y[built.truck_cols] <= np.round(trucks) + 1 + 1e-6).all()
    assert (y[built.truck_cols] > np.round(trucks) + 0.5).any(), "here a rounded move needs one"
    assert res.objective == pytest.approx(float(lp.cost @ y + lp.offset), rel=1e-9)


def test_a_stage_starts_from_the_cheapest_plan_within_its_bounds():
    """A capped stage gets the cheapest plan found that fits its caps, not the cheapest
    plan found: the constructive plan's trucks may lie above them, and HiGHS can do
    nothing with a start outside the model it solves."""
    data, settings = random_instance(7)
    inst = load(data, **settings)
    built = model.build(inst)
    lp = built.lp
    greedy = solve_stage.greedy_plan(built)
    optimum = highs.solve(lp, SolveOptions(time_limit=60, mip_gap=0.0)).x
    search = solve_stage._Search(inst, built, progress=solve_stage.NULL, stop=None, threads=1)
    for x in (greedy, optimum):
        search.offer(SolveResult(highs.TIME_LIMIT, x=x, objective=float(lp.cost @ x + lp.offset)),
                     quiet=True)
    assert search.start_within(lp) is optimum  # both fit the model: the cheaper one
    caps = lp.upper.copy()
    caps[built.truck_cols] = greedy[built.truck_cols]
    over = optimum[built.truck_cols] > greedy[built.truck_cols]
    assert over.any(), "the case needs an optimum with a truck the greedy plan does not use"
    assert search.start_within(lp.replace(upper=caps)) is greedy
    caps[built.truck_cols] = 0.0
    assert search.start_within(lp.replace(upper=caps)) is None


def test_an_lp_slower_than_half_the_limit_still_answers_and_bounds_the_plan(monkeypatch):
    """Every later stage needs the LP relaxation's answer, and the whole model without it
    found nothing in what was left (a slower machine: the thesis example with demand ×
    1.1, its LP unanswered at 30 of 60 s, bound 10,370 and gap 97%). The LP may run on to
    LP_SHARE of the time; here it takes 60% of it, and its bound is the one reported."""
    data, settings = random_instance(6)  # demands of 3.5 pallets
    inst = load(data, **{**settings, "time_limit_s": 10})
    built = model.build(inst)
    monkeypatch.setattr(solve_stage, "STAGED_MIN_COLUMNS", 0)
    monkeypatch.setattr(solve_stage, "BOUND_SEARCH_ALONGSIDE", False)
    real_run = solve_stage._Search.run

    def slow_lp(self, name, stage_lp, budget, **kw):
        res = real_run(self, name, stage_lp, budget, **kw)
        if name == "LP relaxation":  # as if the LP had needed 6 of the 10 s
            if budget < 6.0:
                self.stages[-1]["status"] = highs.TIME_LIMIT
                return SolveResult(highs.TIME_LIMIT)
            time.sleep(max(6.0 - self.elapsed(), 0.0))
        return res

    monkeypatch.setattr(solve_stage._Search, "run", slow_lp)
    sol = solve_stage.solve(inst, built)
    lp = highs.solve(built.lp.replace(integrality=np.zeros(built.lp.n_cols, np.int32)),
                     SolveOptions(time_limit=10))
    lp_stage = next(st for st in sol.stages if st["stage"] == "LP relaxation")
    assert lp_stage["status"].startswith(highs.OPTIMAL)  # it had its 6 s
    assert sol.bound is not None and sol.bound >= lp.objective - 1e-6
    assert sol.objective >= sol.bound - 1e-6


def test_a_bound_no_lp_passed_is_called_weak_where_the_gap_is_shown(monkeypatch):
    """Before any LP relaxation answers, the bound is supply_bound's: on the thesis
    example 10,370 against an LP bound of 328,464, a gap of 97% that says nothing of the
    plan. Out Summary's plan quality and the result line say why, and what to do."""
    data, settings = random_instance(3)
    raw = raw_sheets(data, {**settings, "time_limit_s": 3, "mip_gap": 0.0})
    real = api.solve(raw)  # its LP answers: no note
    assert real.exit_code == api.EXIT_OK and "weak bound" not in real.message

    def no_answer(lp, options=None, progress=None, stop=None):  # every HiGHS run, LPs too
        time.sleep(options.time_limit)
        return SolveResult(highs.TIME_LIMIT, solve_seconds=options.time_limit)

    monkeypatch.setattr(solve_stage.highs, "solve", no_answer)
    outcome = api.solve(raw)
    sheets = {s.name: s.frame for s in outcome.sheets}
    summary = summary_items(sheets)
    assert summary["status"] == highs.TIME_LIMIT
    inst = load(data, **settings)
    assert summary["bound"] == pytest.approx(solve_stage.supply_bound(model.build(inst)))
    quality = summary["plan quality"]
    assert f"at most {summary['mip_gap']:.2%} above" in quality
    assert solve_stage.WEAK_BOUND_NOTE in quality
    assert f"of the proven bound {summary['bound']:,.2f} ({solve_stage.WEAK_BOUND_NOTE})" \
        in outcome.message
    assert check_outcome(raw, outcome) is not None
