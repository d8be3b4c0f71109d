"""Delivery allocation, objective ``on_time``: exact against an independent PuLP MIP; stop.

The reference model here is written on the report's daily grid (``spec.build_lp``: one
variable per order, day and PO) with one binary w_o per line,
Σ_{t ≤ EPD_o} delivered(o, t) ≥ d_o·w_o; it shares no code with the compact flow model
the solver uses (event days, pooled stock).
"""

import copy
import threading
import time

import numpy as np
import pulp
import pytest
from da_support import check_outcome, random_instance, solve_and_check
from timing import STOP_HONOURED_SECONDS

from solver_core import api, control, highs
from solver_core.delivery_allocation import examples, spec


def reference(raw, count: int | None = None) -> float:
    """max Σ w_o (count None), or the least penalty with Σ w_o ≥ count, by PuLP."""
    _, _, instance, problems = api.load(raw, None)
    assert not problems.has_errors()
    lines = instance.lines
    if lines.empty:
        return 0.0
    prob = spec.build_lp(instance)
    x, y = prob.spec_vars["x"], prob.spec_vars["y"]
    penalty = prob.objective
    w = {}
    for o, row in lines.iterrows():
        w[o] = pulp.LpVariable(f"w_{o}", cat="Binary")
        by_epd = [v for (oo, t), v in x.items() if oo == o and t <= row["epd_day"]]
        by_epd += [v for (_, oo, t), v in y.items() if oo == o and t <= row["epd_day"]]
        prob += pulp.lpSum(by_epd) >= float(row["quantity"]) * w[o], f"on_time_{o}"
    if count is None:
        prob.sense = pulp.LpMaximize
        prob.setObjective(pulp.lpSum(w.values()))
    else:
        prob += pulp.lpSum(w.values()) >= count, "count"
        prob.setObjective(penalty)
    prob.solve(pulp.HiGHS(msg=False, gapRel=0))
    assert prob.sol_status == pulp.LpSolutionOptimal
    return float(pulp.value(prob.objective) or 0.0)


@pytest.mark.parametrize("seed,max_lines", [(s, 7) for s in range(40)]
                         + [(s, 25) for s in range(100, 112)])
def test_on_time_count_and_penalty_are_the_independent_optimum(seed, max_lines):
    data, settings = random_instance(seed, max_lines=max_lines)
    settings = {**settings, "objective": "on_time", "mip_gap": 0}
    solved = solve_and_check(data, settings)
    assert solved.summary["status"] == "optimal"
    raw = examples.raw_sheets(data, settings)
    lines = int(solved.summary["order_lines"])
    on_time = lines - int(solved.summary["late_lines"])
    best = round(reference(raw))
    assert on_time == best
    assert on_time >= lines - int(solved.summary["baseline_late_lines"])
    least = reference(raw, count=best)
    assert float(solved.summary["penalty"]) == pytest.approx(least, rel=1e-7, abs=1e-6)
    assert float(solved.summary["service_level"]) == pytest.approx(on_time / max(lines, 1),
                                                                   abs=1e-6)
    assert float(solved.summary["mip_gap"]) == 0


def test_on_time_beats_penalty_on_the_rate_and_penalty_beats_it_on_cost():
    data, settings = examples.anker_example(n_lines=300, n_pos=60, n_skus=15)
    by_objective = {o: solve_and_check(data, {**settings, "objective": o, "mip_gap": 0}).summary
                    for o in ("penalty", "on_time")}
    assert by_objective["on_time"]["on_time_rate"] >= by_objective["penalty"]["on_time_rate"]
    assert by_objective["penalty"]["penalty"] <= by_objective["on_time"]["penalty"] + 1e-6
    for summary in by_objective.values():
        assert summary["on_time_rate"] >= summary["baseline_on_time_rate"] or \
            summary["objective_setting"] == "penalty"


def test_stop_serves_the_unfinished_skus_first_come_first_served():
    data, settings = examples.anker_example(n_lines=6_000, n_pos=1_200, n_skus=60, seed=7)
    raw = examples.raw_sheets(data, {**settings, "objective": "on_time", "time_limit_s": 600,
                                     "workers": 1})
    before = copy.deepcopy(raw)
    with control.StopToken() as token:
        when = {}

        def later():
            time.sleep(4.0)
            when["t"] = time.monotonic()
            token.request_stop()

        threading.Thread(target=later, daemon=True).start()
        outcome = api.solve(raw, stop=token)
        latency = time.monotonic() - when["t"]
    print(f"stop -> return: {latency:.2f} s")
    assert latency < STOP_HONOURED_SECONDS  # the 2 s: benchmarks/stop_latency.py
    assert outcome.exit_code == 0 and outcome.status == highs.STOPPED
    out = {s.name: s.frame for s in outcome.sheets}
    summary = dict(zip(out["Out Summary"]["item"], out["Out Summary"]["value"]))
    assert summary["status"] == "stopped"
    assert 0 < float(summary["mip_gap"]) <= 1
    check_outcome(raw, outcome)
    for name, frame in before.items():
        assert frame.equals(raw[name]), name
    # The lines the stop left unsolved are planned exactly as first come, first served.
    warnings = out["Out Validation"]["message"].str.contains("first come, first served")
    assert warnings.any()


def test_a_failed_piece_is_solved_again_here(monkeypatch):
    from solver_core.delivery_allocation import solve

    Failed = solve.PieceFailed
    real = solve.run_pieces

    def dying_first_piece(fn, pieces, **kw):
        results = real(fn, pieces, **kw)
        results[0] = Failed("worker killed")
        return results

    monkeypatch.setattr(solve, "run_pieces", dying_first_piece)
    data, settings = examples.small_example()
    solved = solve_and_check(data, settings)
    assert solved.summary["status"] == "optimal"

    monkeypatch.setattr(solve, "solve_piece", _raises)
    monkeypatch.setattr(solve, "run_pieces",
                        lambda fn, pieces, **kw: [Failed("worker killed") for _ in pieces])
    solved = solve_and_check(data, settings)
    assert solved.summary["status"] == "error"
    messages = solved.out["Out Validation"]["message"]
    assert messages.str.contains("worker killed").any()
    # Every line is then served first come, first served: the plan is the baseline.
    status, base = solved.out["Out OrderStatus"], solved.out["Out Baseline"]
    assert np.isclose(status["penalty"].sum(), base["penalty"].sum())


def _raises(piece, stop=None):
    raise RuntimeError("dies again")


def test_on_time_penalty_equals_the_lp_when_the_lp_has_as_many_lines_on_time():
    """Per SKU of the Anker example: the penalty LP is the least penalty over all plans,
    so when its plan has the most lines on time, the on_time plan costs the same."""
    import dataclasses

    from solver_core.delivery_allocation import solve

    data, settings = examples.anker_example()
    raw = examples.raw_sheets(data, {**settings, "objective": "on_time", "mip_gap": 0})
    _, _, instance, _ = api.load(raw, None)
    piece = solve.make_pieces(instance, 1)[0]
    compared = 0
    for s in range(piece.n_skus):
        block = piece.sku_block(s)
        exact = solve.solve_on_time(block, 30)
        lp = solve.solve_penalty(dataclasses.replace(block, objective="penalty"), 30)
        assert exact.status == lp.status == highs.OPTIMAL
        assert exact.on_time >= solve._count_on_time(block, lp)
        if exact.on_time == solve._count_on_time(block, lp):
            assert exact.penalty == pytest.approx(lp.penalty, rel=1e-9, abs=1e-6), block.skus
            compared += 1
        else:
            assert exact.penalty >= lp.penalty - 1e-6
    assert compared > piece.n_skus // 2
